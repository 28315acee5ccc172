"""Credentials. `DefaultAzureCredential` unless one is picked with --auth.

azure-identity is imported lazily so `acs-dns --help` stays fast.
"""

from __future__ import annotations

import ipaddress
import time
from typing import Any
from urllib.parse import urlsplit

from provisioner.errors import UsageError

AUTH_CHOICES = ("default", "cli", "managed-identity", "workload-identity", "environment", "sandbox")


class SandboxCredential:
    """A fixed dummy bearer token, for the local sandbox only (refused for any non-loopback endpoint)."""

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.core.credentials import AccessToken

        return AccessToken("sandbox-token", int(time.time()) + 24 * 3600)

    def close(self) -> None:
        pass


def is_loopback_url(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def make_credential(auth: str, arm_endpoint: str) -> Any:
    """Build the credential for `--auth`."""
    if auth == "sandbox":
        if not is_loopback_url(arm_endpoint):
            raise UsageError(
                f"--auth sandbox sends a dummy token and is refused for {arm_endpoint}",
                "use it only with --arm-endpoint https://127.0.0.1:PORT (the local sandbox)",
            )
        return SandboxCredential()
    from azure import identity

    if auth == "default":
        return identity.DefaultAzureCredential()
    if auth == "cli":
        return identity.AzureCliCredential()
    if auth == "managed-identity":
        return identity.ManagedIdentityCredential()
    if auth == "workload-identity":
        return identity.WorkloadIdentityCredential()
    if auth == "environment":
        return identity.EnvironmentCredential()
    raise UsageError(f"unknown --auth {auth!r}", f"choose one of: {', '.join(AUTH_CHOICES)}")
