"""Builds the two management clients. The Azure SDK is imported here, lazily, and nowhere in the core."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from provisioner.azure.credentials import make_credential
from provisioner.azure.pacing import ArmPacer
from provisioner.errors import UsageError

CLOUD_ENDPOINTS = {
    "public": "https://management.azure.com",
    "china": "https://management.chinacloudapi.cn",
    "usgov": "https://management.usgovcloudapi.net",
}


@dataclass(frozen=True)
class AzureSettings:
    arm_endpoint: str = CLOUD_ENDPOINTS["public"]
    auth: str = "default"
    ca_bundle: str | None = None  # None: requests' own rules (REQUESTS_CA_BUNDLE, certifi)
    polling_interval: float = 1.0  # seconds between LRO status polls when the service sends no Retry-After
    retry_total: int = 30  # bounded in time by retry_timeout (the run's --timeout)
    retry_timeout: float = 1800.0  # total seconds azure-core may spend retrying one call


def resolve_endpoint(cloud: str | None, arm_endpoint: str | None) -> str:
    if arm_endpoint:
        if not arm_endpoint.startswith("https://"):
            raise UsageError(
                f"--arm-endpoint must be an https:// URL, got {arm_endpoint!r}",
                "Azure Resource Manager (and the sandbox) only speak HTTPS",
            )
        return arm_endpoint.rstrip("/")
    name = (cloud or "public").lower()
    if name not in CLOUD_ENDPOINTS:
        raise UsageError(f"unknown --cloud {cloud!r}", f"choose one of: {', '.join(CLOUD_ENDPOINTS)}")
    return CLOUD_ENDPOINTS[name]


class Clients:
    """One DNS and one Communication client per subscription, built on first use and shared."""

    def __init__(self, settings: AzureSettings) -> None:
        self.settings = settings
        self._credential: Any = None
        self._dns: dict[str, Any] = {}
        self._communication: dict[str, Any] = {}
        self.pacer = ArmPacer()

    def _common(self) -> dict[str, Any]:
        s = self.settings
        if self._credential is None:
            self._credential = make_credential(s.auth, s.arm_endpoint)
        kwargs: dict[str, Any] = {
            "base_url": s.arm_endpoint,
            "credential_scopes": [s.arm_endpoint + "/.default"],
            "polling_interval": s.polling_interval,
            "retry_total": s.retry_total,
            # throttling is expected on large runs: keep retrying 429/5xx while the run has time
            "retry_status": s.retry_total,
            "retry_backoff_max": 10,
            "timeout": s.retry_timeout,
            "raw_request_hook": self.pacer.request_hook,
            "raw_response_hook": self.pacer.response_hook,
        }
        ca = s.ca_bundle or os.environ.get("REQUESTS_CA_BUNDLE")
        if ca:
            kwargs["connection_verify"] = ca
        return kwargs

    def dns(self, subscription: str) -> Any:
        if subscription not in self._dns:
            from azure.mgmt.dns import DnsManagementClient

            kwargs = self._common()
            self._dns[subscription] = DnsManagementClient(self._credential, subscription, **kwargs)
        return self._dns[subscription]

    def communication(self, subscription: str) -> Any:
        if subscription not in self._communication:
            from azure.mgmt.communication import CommunicationServiceManagementClient

            kwargs = self._common()
            self._communication[subscription] = CommunicationServiceManagementClient(
                self._credential, subscription, **kwargs
            )
        return self._communication[subscription]

    def close(self) -> None:
        for client in [*self._dns.values(), *self._communication.values()]:
            client.close()
        self._dns.clear()
        self._communication.clear()
