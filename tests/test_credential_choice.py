"""`--auth` picks the azure-identity credential; the sandbox's dummy token never leaves loopback."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from azure import identity

from provisioner.azure.credentials import AUTH_CHOICES, SandboxCredential, is_loopback_url, make_credential
from provisioner.errors import ExitCode, UsageError


@pytest.mark.parametrize(
    ("auth", "kind"),
    [
        ("default", identity.DefaultAzureCredential),
        ("cli", identity.AzureCliCredential),
        ("managed-identity", identity.ManagedIdentityCredential),
        ("workload-identity", identity.WorkloadIdentityCredential),
        ("environment", identity.EnvironmentCredential),
    ],
)
def test_each_auth_choice_builds_its_credential(
    auth: str, kind: type, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # what a federated CI job (GitHub OIDC, AKS workload identity) puts in the environment
    token_file = tmp_path / "token"
    token_file.write_text("eyJ.fake.jwt", encoding="utf-8")
    monkeypatch.setenv("AZURE_TENANT_ID", "00000000-0000-0000-0000-000000000001")
    monkeypatch.setenv("AZURE_CLIENT_ID", "00000000-0000-0000-0000-000000000002")
    monkeypatch.setenv("AZURE_FEDERATED_TOKEN_FILE", str(token_file))
    monkeypatch.setenv("AZURE_CLIENT_SECRET", "not-a-real-secret")  # what `--auth environment` reads
    credential = make_credential(auth, "https://management.azure.com")
    inner = credential._inner  # the guard turns a failed sign-in into one AuthError with the fix
    try:
        assert type(inner) is kind
    finally:
        inner.close()


@pytest.mark.parametrize("endpoint", ["https://127.0.0.1:8443", "https://localhost:1", "https://[::1]:443"])
def test_the_sandbox_token_is_given_for_loopback_endpoints(endpoint: str) -> None:
    credential = make_credential("sandbox", endpoint)
    assert isinstance(credential, SandboxCredential)
    token = credential.get_token("https://management.azure.com/.default")
    assert token.token == "sandbox-token"
    assert token.expires_on > time.time() + 3600  # never expires during a run


@pytest.mark.parametrize(
    "endpoint", ["https://management.azure.com", "https://10.0.0.5:443", "https://127.0.0.1.nip.io", "junk"]
)
def test_the_sandbox_token_is_refused_anywhere_else(endpoint: str) -> None:
    with pytest.raises(UsageError) as caught:
        make_credential("sandbox", endpoint)
    assert caught.value.exit_code is ExitCode.USAGE
    assert caught.value.message == f"--auth sandbox sends a dummy token and is refused for {endpoint}"
    assert "127.0.0.1" in (caught.value.hint or "")
    assert not is_loopback_url(endpoint)


def test_an_unknown_auth_names_the_choices() -> None:
    with pytest.raises(UsageError) as caught:
        make_credential("password", "https://management.azure.com")
    assert caught.value.message == "unknown --auth 'password'"
    assert caught.value.hint == f"choose one of: {', '.join(AUTH_CHOICES)}"
