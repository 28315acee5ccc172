"""Credentials: a sign-in that cannot work is one error with the fix (exit 3), before any request; no
azure-identity log line on stderr unless --debug; --cloud picks the sign-in authority.

Every case fails before a token request leaves the process (missing settings, a missing token file, no
Azure CLI on PATH), so nothing here needs the network; the loopback audit hook would catch it otherwise.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from acs_sandbox import Sandbox
from provisioner.azure.credentials import (
    authority_host,
    credential_options,
    diagnose,
    make_credential,
    missing_settings,
)
from provisioner.errors import AuthError, ExitCode
from tests.e2e_helpers import (
    World,
    assert_clean_exit,
    counters,
    document,
    invoke,
    only_domain,
    reset_counters,
)

ROOT = Path(__file__).resolve().parent.parent
AZURE_VARS = (
    "AZURE_TENANT_ID",
    "AZURE_CLIENT_ID",
    "AZURE_FEDERATED_TOKEN_FILE",
    "AZURE_CLIENT_SECRET",
    "AZURE_CLIENT_CERTIFICATE_PATH",
    "AZURE_USERNAME",
    "AZURE_PASSWORD",
    "AZURE_AUTHORITY_HOST",
    "IDENTITY_ENDPOINT",
    "IDENTITY_HEADER",
    "MSI_ENDPOINT",
)
TENANT = "11111111-1111-1111-1111-111111111111"
CLIENT = "22222222-2222-2222-2222-222222222222"


def nowhere(path: str) -> bool:
    return False


def everywhere(path: str) -> bool:
    return True


@pytest.fixture(autouse=True)
def _clean_azure_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in AZURE_VARS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def w(sandbox: Sandbox) -> Iterator[World]:
    with World(sandbox) as world:
        yield world


# ---- the pure part: what is missing, and the fix -----------------------------------------------------------
def test_workload_identity_names_each_missing_variable() -> None:
    assert missing_settings("workload-identity", {}, everywhere) == [
        "AZURE_TENANT_ID is not set",
        "AZURE_CLIENT_ID is not set",
        "AZURE_FEDERATED_TOKEN_FILE is not set",
    ]
    env = {"AZURE_TENANT_ID": TENANT, "AZURE_CLIENT_ID": CLIENT, "AZURE_FEDERATED_TOKEN_FILE": "/t/token"}
    assert missing_settings("workload-identity", env, everywhere) == []
    assert missing_settings("workload-identity", env, nowhere) == [
        "the federated token file /t/token (AZURE_FEDERATED_TOKEN_FILE) does not exist"
    ]


def test_environment_credential_needs_a_secret_or_certificate() -> None:
    env = {"AZURE_TENANT_ID": TENANT, "AZURE_CLIENT_ID": CLIENT}
    assert missing_settings("environment", env, everywhere) == [
        "none of AZURE_CLIENT_SECRET, AZURE_CLIENT_CERTIFICATE_PATH is set"
    ]
    assert missing_settings("environment", {**env, "AZURE_CLIENT_SECRET": "s"}, everywhere) == []
    assert missing_settings("cli", {}, nowhere) == []  # nothing to check up front: az knows


def test_default_chain_with_nothing_configured_says_az_login() -> None:
    err = diagnose(
        "default",
        "DefaultAzureCredential failed to retrieve a token.\n\tAzureCliCredential: Azure CLI not found on path",
        {},
        everywhere,
    )
    assert err.exit_code is ExitCode.AUTH
    assert err.message.startswith(
        "could not sign in to Azure (--auth default): DefaultAzureCredential failed"
    )
    assert "install the Azure CLI and run `az login`" in (err.hint or "")
    signed_out = diagnose("default", "Please run 'az login' to set up an account", {}, everywhere)
    assert (signed_out.hint or "").startswith("run `az login`")


def test_default_chain_in_a_half_configured_pipeline_names_the_missing_piece() -> None:
    """A federated login that exported the client and tenant but not the token file: the fix is that
    variable, not `az login`."""
    env = {"AZURE_TENANT_ID": TENANT, "AZURE_CLIENT_ID": CLIENT}
    err = diagnose("default", "DefaultAzureCredential failed", env, everywhere)
    assert "AZURE_FEDERATED_TOKEN_FILE is not set" in err.message
    assert "az login" not in str(err)
    gone = diagnose("default", "failed", {**env, "AZURE_FEDERATED_TOKEN_FILE": "/run/tok"}, nowhere)
    assert "the federated token file /run/tok (AZURE_FEDERATED_TOKEN_FILE) does not exist" in gone.message


def test_cloud_picks_the_sign_in_authority() -> None:
    from azure.identity import AzureAuthorityHosts

    assert authority_host("https://management.chinacloudapi.cn") == AzureAuthorityHosts.AZURE_CHINA
    assert authority_host("https://management.usgovcloudapi.net/") == AzureAuthorityHosts.AZURE_GOVERNMENT
    assert authority_host("https://management.azure.com") is None  # azure-identity's default (public)
    assert authority_host("https://127.0.0.1:8443") is None
    china = "https://management.chinacloudapi.cn"
    for auth in ("default", "workload-identity", "environment"):
        assert credential_options(auth, china) == {"authority": AzureAuthorityHosts.AZURE_CHINA}
    assert credential_options("cli", china) == {}  # az signs in to the cloud `az cloud set` chose
    assert credential_options("default", "https://management.azure.com") == {}


def test_missing_settings_fail_in_make_credential_before_any_sdk_object(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AZURE_TENANT_ID", TENANT)
    with pytest.raises(AuthError) as info:
        make_credential("workload-identity", "https://management.chinacloudapi.cn")
    assert "AZURE_CLIENT_ID is not set; AZURE_FEDERATED_TOKEN_FILE is not set" in info.value.message


@pytest.mark.parametrize("auth", ["default", "cli", "managed-identity", "workload-identity", "environment"])
@pytest.mark.parametrize("arm", ["https://management.azure.com", "https://management.chinacloudapi.cn"])
def test_every_auth_choice_builds_its_credential_from_a_complete_environment(
    auth: str, arm: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Construction only (no token is asked for): the azure-identity floor must have every class and accept
    the authority keyword."""
    token_file = tmp_path / "token"
    token_file.write_text("header.payload.signature")
    for name, value in {
        "AZURE_TENANT_ID": TENANT,
        "AZURE_CLIENT_ID": CLIENT,
        "AZURE_FEDERATED_TOKEN_FILE": str(token_file),
        "AZURE_CLIENT_SECRET": "secret",
    }.items():
        monkeypatch.setenv(name, value)
    credential = make_credential(auth, arm)
    expected = {
        "default": "DefaultAzureCredential",
        "cli": "AzureCliCredential",
        "managed-identity": "ManagedIdentityCredential",
        "workload-identity": "WorkloadIdentityCredential",
        "environment": "EnvironmentCredential",
    }
    assert type(credential.wrapped).__name__ == expected[auth]
    credential.close()


# ---- through the CLI: exit 3, one error, nothing sent --------------------------------------------------------
def _provision(w: World, auth: str, env: dict[str, str]) -> tuple[object, dict]:
    args = [a if a != "sandbox" else auth for a in w.args("mail.contoso.example")]
    result = invoke(w.sb, args, env=env)
    return result, document(result)


def test_workload_identity_with_a_missing_token_file_is_exit_3_and_sends_nothing(
    w: World, sandbox: Sandbox, tmp_path: Path
) -> None:
    reset_counters(sandbox)
    token_file = tmp_path / "azure-identity-token"  # never written
    env = {
        "AZURE_TENANT_ID": TENANT,
        "AZURE_CLIENT_ID": CLIENT,
        "AZURE_FEDERATED_TOKEN_FILE": str(token_file),
    }
    result, doc = _provision(w, "workload-identity", env)
    assert_clean_exit(result, 3)
    message = doc.get("error") or only_domain(doc)["message"]
    assert f"the federated token file {token_file} (AZURE_FEDERATED_TOKEN_FILE) does not exist" in message
    assert counters(sandbox)["total"] == 0


def test_environment_credential_with_nothing_set_is_exit_3_and_names_the_variables(
    w: World, sandbox: Sandbox
) -> None:
    reset_counters(sandbox)
    result, doc = _provision(w, "environment", {})
    assert_clean_exit(result, 3)
    message = doc.get("error") or only_domain(doc)["message"]
    assert "AZURE_TENANT_ID is not set; AZURE_CLIENT_ID is not set" in message
    assert counters(sandbox)["total"] == 0


# ---- a real process: what reaches stderr -----------------------------------------------------------------------
def _run_process(sb: Sandbox, *extra: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`acs-dns provision --output json` in its own interpreter (Python's last-resort log handler only acts
    where nothing configured logging, so pytest's own process cannot show it). The loopback guard is
    installed there too."""
    code = (
        "import sys, tests.network_guard; from provisioner.cli import main; sys.argv[0] = 'acs-dns'; main()"
    )
    args = ["provision", "--subscription", "00000000-0000-0000-0000-0000000000aa", "--resource-group", "rg"]
    args += ["--email-service", "svc", "--domain", "mail.contoso.example", "--output", "json"]
    args += ["--dns-server", sb.dns_server, *extra]  # the sandbox's resolver answers the probe before writes
    base = {k: v for k, v in os.environ.items() if k not in AZURE_VARS}
    full_env = {**base, "ACS_DNS_ARM_ENDPOINT": sb.arm_endpoint, "REQUESTS_CA_BUNDLE": sb.ca_bundle, **env}
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def test_a_failed_sign_in_leaves_no_sdk_log_lines_on_stderr_unless_debug(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """AzureCliCredential without `az` on PATH fails inside azure-identity, which logs a WARNING for it."""
    env = {"PATH": str(tmp_path)}  # an empty directory: no az
    quiet = _run_process(sandbox, "--auth", "cli", env=env)
    assert quiet.returncode == 3, quiet.stderr
    assert quiet.stderr == ""
    doc = json.loads(quiet.stdout)
    assert doc["exit_code"] == 3
    (domain,) = doc["domains"]
    assert "Azure CLI not found" in domain["message"]
    assert "install the Azure CLI and run `az login`" in domain["hint"]

    loud = _run_process(sandbox, "--auth", "cli", "--debug", env=env)
    assert loud.returncode == 3
    assert "AzureCliCredential.get_token" in loud.stderr  # the SDK's own line: shown with --debug only


def test_the_default_chain_failing_is_one_error_naming_az_login_and_nothing_on_stderr(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """Every credential of DefaultAzureCredential fails without leaving the machine, as on a laptop that
    never ran `az login`: no environment variables, no az/azd/pwsh on PATH, an empty HOME, and the managed
    identity's probe of the instance metadata endpoint (169.254.169.254) stopped at connect by the loopback
    guard, as a machine outside Azure stops it (no route, or no answer within the probe's 1 s)."""
    env = {"PATH": str(tmp_path), "HOME": str(tmp_path)}
    proc = _run_process(sandbox, env=env)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert proc.stderr == ""
    (domain,) = json.loads(proc.stdout)["domains"]
    assert domain["message"].startswith("could not sign in to Azure (--auth default): DefaultAzureCredential")
    assert "`az login`" in domain["hint"]
