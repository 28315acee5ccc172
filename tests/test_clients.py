"""`Clients`: the run's deadline (`--timeout`) holds for the real SDK clients against the sandbox, and a CA
bundle that names nothing usable is refused before any request.

The promise measured here is the README's: a run ends within --timeout + 2 s, exit 7, naming the endpoint
and the last error seen. Deadlines are a few seconds so the tests stay short.
"""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from acs_sandbox import Sandbox, SandboxOptions
from provisioner.azure.clients import AzureSettings, Clients
from provisioner.azure.deadline import RunDeadline
from provisioner.azure.dns import AzureDns
from provisioner.azure.pacing import PacerLimits
from provisioner.errors import AcsDnsError, ExitCode, TimedOutError, UsageError
from tests.e2e_helpers import counters, reset_counters

SLACK = 2.0  # seconds a run may overrun its --timeout


def sandbox_settings(sb: Sandbox, seconds: float | None, **kwargs: object) -> AzureSettings:
    deadline = None if seconds is None else time.monotonic() + seconds
    return AzureSettings(
        arm_endpoint=sb.arm_endpoint, auth="sandbox", ca_bundle=sb.ca_bundle, deadline=deadline, **kwargs
    )


def dns_of(clients: Clients) -> AzureDns:
    subscription = str(uuid.uuid4())
    return AzureDns(clients.dns(subscription), subscription)


def failing(call: Callable[[], object]) -> tuple[AcsDnsError, float]:
    """Run `call` (it must fail with the project's error); the error and the seconds it took."""
    start = time.monotonic()
    with pytest.raises(AcsDnsError) as caught:
        call()
    return caught.value, time.monotonic() - start


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize(
    ("options", "seconds", "expected"),
    [
        # the last error seen: a fault the sandbox injected (429, 500, 503 or a dropped connection)
        (
            SandboxOptions(fault_rate=1.0, seed=11),
            4,
            ("HTTP 429", "HTTP 500", "HTTP 503", "connection closed"),
        ),
        # each call gets what is left, not the whole timeout (six 1 s calls would take 6 s)
        (
            SandboxOptions(latency_ms=1000),
            2,
            ("while waiting for the answer to GET Microsoft.Network/dnszones",),
        ),
    ],
    ids=["every-request-failing", "1s-latency"],
)
def test_a_run_ends_by_its_deadline_with_exit_7_naming_the_endpoint_and_the_last_error(
    options: SandboxOptions, seconds: float, expected: tuple[str, ...]
) -> None:
    with Sandbox(options) as sb:
        endpoint = sb.arm_endpoint
        clients = Clients(sandbox_settings(sb, seconds))
        try:
            error, elapsed = failing(lambda: [dns_of(clients).list_zones() for _ in range(6)])
        finally:
            clients.close()
    assert elapsed <= seconds + SLACK
    assert isinstance(error, TimedOutError), error
    assert error.exit_code is ExitCode.TIMED_OUT
    assert endpoint in error.message
    assert any(fragment in error.message for fragment in expected), error
    assert error.hint is not None and "re-run" in error.hint  # the run can be resumed: it says how


def test_one_calls_retry_timeout_holds_too_sleeps_included() -> None:
    """Without a run deadline, azure-core's per-call `timeout` alone only stops new attempts; here it also
    bounds the backoff sleeps (seed 11 fails every attempt, and the third backoff is 3.2 s)."""
    with Sandbox(SandboxOptions(fault_rate=1.0, seed=11)) as sb:
        clients = Clients(sandbox_settings(sb, None, retry_timeout=3))
        try:
            error, elapsed = failing(lambda: dns_of(clients).list_zones())
        finally:
            clients.close()
    assert elapsed <= 3 + SLACK
    assert isinstance(error, TimedOutError), error
    assert "before retrying GET Microsoft.Network/dnszones" in error.message


def test_unreachable_endpoint_is_retried_within_the_deadline_then_exit_7_naming_it() -> None:
    port = closed_port()
    endpoint = f"https://127.0.0.1:{port}"
    clients = Clients(AzureSettings(arm_endpoint=endpoint, auth="sandbox", deadline=time.monotonic() + 3))
    try:
        error, elapsed = failing(lambda: dns_of(clients).list_zones())
    finally:
        clients.close()
    assert elapsed <= 3 + SLACK
    assert isinstance(error, TimedOutError), error  # not UsageError: exit 2 would claim nothing was tried
    assert endpoint in error.message
    assert "connection refused" in error.message
    assert "--arm-endpoint" in (error.hint or "")


def test_no_request_is_sent_once_the_deadline_has_passed(fresh_sandbox: Sandbox) -> None:
    clients = Clients(sandbox_settings(fresh_sandbox, -1))
    reset_counters(fresh_sandbox)
    try:
        error, _ = failing(lambda: dns_of(clients).list_zones())
    finally:
        clients.close()
    assert isinstance(error, TimedOutError)
    assert "before sending GET Microsoft.Network/dnszones" in error.message
    assert counters(fresh_sandbox)["total"] == 0


def test_pacer_limits_from_the_settings_and_the_deadline_bound_the_wait_for_a_token(sandbox: Sandbox) -> None:
    limits = PacerLimits(read_burst=1, reads_per_second=0.1)  # a second read would wait 10 s
    clients = Clients(sandbox_settings(sandbox, 3, pacer_limits=limits))
    try:
        dns = dns_of(clients)
        assert dns.list_zones() == []
        error, elapsed = failing(dns.list_zones)
    finally:
        clients.close()
    assert isinstance(error, TimedOutError)
    assert "read budget" in error.message
    assert elapsed < 3  # refused at once: waiting could not have ended in time


def test_waits_between_polls_of_a_long_running_operation_end_at_the_deadline() -> None:
    from provisioner.azure.policies import DeadlineTransport

    transport = DeadlineTransport(RunDeadline(time.monotonic() + 0.2))
    start = time.monotonic()
    transport.sleep(30)  # what an LRO poller does between polls (polling interval or Retry-After)
    assert time.monotonic() - start < 0.2 + SLACK


def test_an_untrusted_certificate_stops_at_once_with_exit_2(sandbox: Sandbox) -> None:
    settings = AzureSettings(arm_endpoint=sandbox.arm_endpoint, auth="sandbox", deadline=time.monotonic() + 5)
    clients = Clients(settings, environ={})  # the system's CAs do not know the sandbox's
    try:
        error, elapsed = failing(lambda: dns_of(clients).list_zones())
    finally:
        clients.close()
    assert isinstance(error, UsageError), error  # nothing could be sent
    assert sandbox.arm_endpoint in error.message
    assert "REQUESTS_CA_BUNDLE" in (error.hint or "")
    assert elapsed < 5  # not retried until the deadline


def test_the_ca_bundle_from_the_environment_is_used(sandbox: Sandbox) -> None:
    settings = AzureSettings(arm_endpoint=sandbox.arm_endpoint, auth="sandbox")
    clients = Clients(settings, environ={"REQUESTS_CA_BUNDLE": sandbox.ca_bundle})
    try:
        assert dns_of(clients).list_zones() == []
    finally:
        clients.close()


@pytest.mark.parametrize("variable", ["REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"])
def test_a_ca_bundle_variable_naming_a_missing_file_is_a_usage_error(tmp_path: Path, variable: str) -> None:
    missing = tmp_path / "ca.pem"
    with pytest.raises(UsageError) as caught:
        Clients(AzureSettings(), environ={variable: str(missing)})
    assert caught.value.exit_code is ExitCode.USAGE
    assert variable in caught.value.message
    assert str(missing) in caught.value.message
    assert f"point {variable} at the PEM file" in (caught.value.hint or "")


def test_a_ca_bundle_without_certificates_is_a_usage_error(tmp_path: Path) -> None:
    empty = tmp_path / "ca.pem"
    empty.write_text("not a certificate\n")
    with pytest.raises(UsageError) as caught:
        Clients(AzureSettings(ca_bundle=str(empty)), environ={})
    assert "holds no usable CA certificate" in caught.value.message
    assert "connection_verify" in caught.value.message
