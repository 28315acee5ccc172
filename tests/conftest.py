"""Shared fixtures. A loopback-only network guard is active for the whole suite (tests/network_guard.py):
any attempt to reach an address outside 127.0.0.0/8 or ::1 fails the test (no mocking: a real audit hook)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

import tests.network_guard  # noqa: F401  (importing it installs the guard for the whole suite)
from acs_sandbox import Sandbox, SandboxOptions
from provisioner.azure.credentials import SandboxCredential


@pytest.fixture(autouse=True)
def _no_ambient_azure(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never pick up the machine's CA bundle override or Azure settings."""
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "ACS_DNS_ARM_ENDPOINT", "AZURE_SUBSCRIPTION_ID"):
        monkeypatch.delenv(name, raising=False)


FAST_OPERATIONS = SandboxOptions(operation_delay=0.0)


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Sandbox]:
    """One sandbox for tests that only create uniquely named resources. Its long-running operations end at
    once (the SDK still follows them: one status read each); tests of operations in progress have their
    own sandbox with a delay."""
    with Sandbox(FAST_OPERATIONS) as sb:
        yield sb


@pytest.fixture
def fresh_sandbox() -> Iterator[Sandbox]:
    with Sandbox(FAST_OPERATIONS) as sb:
        yield sb


@pytest.fixture
def unmeasured_children(monkeypatch: pytest.MonkeyPatch) -> None:
    """The processes this test starts run without coverage. Coverage follows child processes through the
    environment (pyproject.toml: patch = ["subprocess"]); in a child it costs ~0.3 CPU-seconds (it decides
    for every module imported whether to measure it, then saves a data file), as much as the imports. For
    tests whose children run code paths other tests measure (a SIGKILLed child never saves its data at
    all), that is work for nothing: the test asserts the same, the coverage figure is the same."""
    for name in ("COVERAGE_PROCESS_CONFIG", "COVERAGE_PROCESS_START"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def credential() -> SandboxCredential:
    return SandboxCredential()


SUBSCRIPTION = "00000000-0000-0000-0000-000000000001"


def dns_client(sb: Sandbox, **kwargs: object):
    from azure.mgmt.dns import DnsManagementClient

    return DnsManagementClient(
        SandboxCredential(), SUBSCRIPTION, base_url=sb.arm_endpoint, connection_verify=sb.ca_bundle, **kwargs
    )


def communication_client(sb: Sandbox, **kwargs: object):
    from azure.mgmt.communication import CommunicationServiceManagementClient

    kwargs.setdefault("polling_interval", 0.05)
    return CommunicationServiceManagementClient(
        SandboxCredential(), SUBSCRIPTION, base_url=sb.arm_endpoint, connection_verify=sb.ca_bundle, **kwargs
    )


# The test files that take longest (tens of seconds: real processes, timeouts, many domains). They are
# collected first, so that pytest-xdist (one file per worker at a time) starts them first and no worker is
# left running one of them alone at the end.
LONG_FILES = (
    "test_interrupts.py",
    "test_cost.py",
    "test_cli_provision.py",
    "test_credentials.py",
    "test_cli_check.py",
    "test_clients.py",
    "test_realism.py",
    "test_dnslookup.py",
    "test_progress.py",
    "test_communication.py",
    "test_cli_generated.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        name = item.path.name
        return LONG_FILES.index(name) if name in LONG_FILES else len(LONG_FILES)

    items.sort(key=rank)  # stable: within a file, and for every other file, the collection order holds


def pytest_collection_finish(session: pytest.Session) -> None:
    """What collection imported and built (modules, test functions, their parameters) lives to the end of
    the run: it is frozen out of the cyclic garbage collector's way, which then runs less often (gen0 every
    20,000 allocations). Measured over the suite (four workers): ~5 CPU-seconds collecting garbage before,
    ~1.8 after."""
    gc.freeze()
    gc.set_threshold(20_000, 50, 100)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """An xdist worker hands its count of schema-validated documents to the controller."""
    from tests.e2e_helpers import VALIDATED

    if hasattr(session.config, "workeroutput"):
        session.config.workeroutput["validated"] = VALIDATED[0]


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: object, error: object) -> None:
    """The controller adds up its workers' counts (pytest-xdist's hook; a plain run never calls it)."""
    from tests.e2e_helpers import VALIDATED

    VALIDATED[0] += getattr(node, "workeroutput", {}).get("validated", 0)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    from tests.e2e_helpers import VALIDATED

    if VALIDATED[0]:
        terminalreporter.write_line(f"JSON documents validated against `acs-dns schema`: {VALIDATED[0]}")
