"""Builds the two management clients. The Azure SDK is imported here, lazily, and nowhere in the core.

Every client of a run shares one `RunDeadline` (`AzureSettings.deadline`) and one pacer: azure-core's
retry policy never sleeps past the deadline, and each request attempt gets connect/read timeouts bounded
by what is left of it (`policies.py`).
"""

from __future__ import annotations

import logging
import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from provisioner.azure.credentials import make_credential
from provisioner.azure.deadline import RunDeadline
from provisioner.azure.pacing import ArmPacer, PacerLimits
from provisioner.errors import UsageError

logger = logging.getLogger(__name__)

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
    retry_backoff_factor: float = 0.8  # azure-core's: waits 0.8, 1.6, 3.2 ... s between attempts (max 10)
    # the run's end as a time.monotonic() value (None: none): no request attempt starts, waits or sleeps
    # past it; when it comes the request raises TimedOutError naming the endpoint and the last error
    deadline: float | None = None
    pacer_limits: PacerLimits = field(default_factory=PacerLimits)  # ARM's token buckets by default


def resolve_endpoint(cloud: str | None, arm_endpoint: str | None) -> str:
    if arm_endpoint:
        if not arm_endpoint.startswith("https://"):
            raise UsageError(
                f"--arm-endpoint must be an https:// URL, got {arm_endpoint!r}",
                "Azure Resource Manager (and the sandbox) only speak HTTPS",
            )
        try:  # a URL that can never be reached is a usage error, not a timeout after retries
            parts = urlsplit(arm_endpoint)
            parts.port  # noqa: B018 - raises ValueError for a port that is not a number in 1-65535
            if not parts.hostname:
                raise ValueError("no host name")
        except ValueError as exc:
            raise UsageError(
                f"--arm-endpoint {arm_endpoint!r} is not a usable URL ({exc})",
                "give https://HOST or https://HOST:PORT, e.g. the sandbox's arm_endpoint",
            ) from None
        return arm_endpoint.rstrip("/")
    name = (cloud or "public").lower()
    if name not in CLOUD_ENDPOINTS:
        raise UsageError(f"unknown --cloud {cloud!r}", f"choose one of: {', '.join(CLOUD_ENDPOINTS)}")
    return CLOUD_ENDPOINTS[name]


CA_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")  # the ones requests reads, in its order


def ca_bundle(settings: AzureSettings, environ: Mapping[str, str] = os.environ) -> str | None:
    """The CA file (or directory) to trust: `settings.ca_bundle`, else what requests would take from the
    environment; None for the default CAs. A value naming nothing usable is a UsageError, raised before
    any request (requests would only fail at the first connection, with an OSError)."""
    if settings.ca_bundle:
        source, path = "the CA bundle setting (connection_verify)", settings.ca_bundle
    else:
        found = next(((name, environ[name]) for name in CA_VARIABLES if environ.get(name)), None)
        if found is None:
            return None
        source, path = found
    fix = (
        f"point {source} at the PEM file of the CA that signs the ARM endpoint's certificate (the sandbox "
        "prints it as ca_bundle), or unset it to trust the system's CAs"
    )
    if not os.path.exists(path):
        raise UsageError(f"{source} names {path!r}, which does not exist", fix)
    try:
        if os.path.isdir(path):
            ssl.create_default_context(capath=path)
        else:
            ssl.create_default_context(cafile=path)
    except (OSError, ssl.SSLError) as exc:
        raise UsageError(
            f"{source} names {path!r}, which holds no usable CA certificate ({exc})", fix
        ) from None
    return path


class Clients:
    """One DNS and one Communication client per subscription, built on first use and shared.

    Raises UsageError at once (nothing sent) for a CA bundle that names no usable file."""

    def __init__(self, settings: AzureSettings, environ: Mapping[str, str] = os.environ) -> None:
        self.settings = settings
        self._ca_bundle = ca_bundle(settings, environ)
        self._credential: Any = None
        self._dns: dict[str, Any] = {}
        self._communication: dict[str, Any] = {}
        self.deadline = RunDeadline(settings.deadline)
        self.pacer = ArmPacer(settings.pacer_limits, deadline=self.deadline)

    def _common(self) -> dict[str, Any]:
        from provisioner.azure.policies import DeadlinePolicy, DeadlineRetryPolicy, DeadlineTransport

        s = self.settings
        if self._credential is None:
            self._credential = make_credential(s.auth, s.arm_endpoint)
        retry = DeadlineRetryPolicy(
            self.deadline,
            retry_total=s.retry_total,
            # throttling is expected on large runs: keep retrying 429/5xx while the run has time
            retry_status=s.retry_total,
            retry_backoff_factor=s.retry_backoff_factor,
            retry_backoff_max=10,
            timeout=s.retry_timeout,
        )
        kwargs: dict[str, Any] = {
            "base_url": s.arm_endpoint,
            "credential_scopes": [s.arm_endpoint + "/.default"],
            "polling_interval": s.polling_interval,
            "retry_policy": retry,
            "per_retry_policies": [DeadlinePolicy(self.deadline)],
            "raw_request_hook": self.pacer.request_hook,
            "raw_response_hook": self.pacer.response_hook,
        }
        # one transport per client (each owns its HTTP session)
        verify: dict[str, Any] = {"connection_verify": self._ca_bundle} if self._ca_bundle else {}
        kwargs["transport"] = DeadlineTransport(self.deadline, **verify)
        logger.debug(
            "ARM clients for %s (CA bundle: %s, deadline: %s)", s.arm_endpoint, self._ca_bundle, s.deadline
        )
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
