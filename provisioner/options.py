"""The options of a run, as frozen values: `CommonOptions` (what every command shares: which domains,
how to reach Azure, how to report) and `RunOptions` (how provisioning behaves and waits)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from provisioner.azure.clients import AzureSettings
    from provisioner.config import DomainTarget
    from provisioner.dnscheck import DnsServerAddress

DEFAULT_PARALLEL = 16
DEFAULT_DNS_TIMEOUT = 2.0  # seconds one DNS query may take before its server counts as not answering


@dataclass(frozen=True)
class RunOptions:
    dry_run: bool = False
    wait: bool = True
    timeout: float = 1800.0  # whole run, seconds
    propagation_timeout: float = 600.0  # bound on waiting for the zone's name servers to serve the records
    poll_first: float = 5.0  # first verification status poll delay; grows to poll_max
    poll_max: float = 30.0
    dns_interval: float = 2.0
    link_settle: float = 2.0  # seconds between linking and reading the links back (see lifecycle.link_domain)
    delete_domain: bool = False  # deprovision: also delete the email domain resource
    force: bool = False  # verify: start verification even when check finds a record it needs wrong
    probe_resolver: bool = True  # before writing, check that the DNS resolver answers (unless dry_run)

    @classmethod
    def polling_every(cls, poll_interval: float, **kwargs: object) -> RunOptions:
        """Options whose verification polls start at `poll_interval` (the hidden --poll-interval flag),
        with the backoff ceiling and DNS re-check interval scaled to it."""
        return cls(
            poll_first=poll_interval,
            poll_max=max(poll_interval, 30.0) if poll_interval >= 1 else max(poll_interval * 4, 0.01),
            dns_interval=min(2.0, max(poll_interval, 0.05)),
            **kwargs,  # type: ignore[arg-type]
        )


@dataclass(frozen=True)
class CommonOptions:
    """What every command takes: the targets (flags, or `--config` with the flags as overrides), the
    credential and endpoint, DNS servers, output and concurrency. Built once by the CLI."""

    subscription: str | None = None
    resource_group: str | None = None
    email_service: str | None = None
    domain: str | None = None
    zone: str | None = None
    zone_resource_group: str | None = None
    create_domain: bool | None = None
    spf_hardfail: bool | None = None
    takeover: bool | None = None
    communication_service: str | None = None
    communication_resource_group: str | None = None
    sender: tuple[str, ...] = ()  # "USER" or "USER=Display Name", repeatable
    dmarc: str | None = None
    dmarc_replace: bool | None = None
    prune_token: bool | None = None
    config: Path | None = None
    auth: str = "default"
    cloud: str = "public"
    arm_endpoint: str | None = None
    dns_servers: tuple[str, ...] = ()
    dns_timeout: float = DEFAULT_DNS_TIMEOUT
    output: str = "text"  # text | json | markdown
    progress: bool | None = None  # None: on, but off for JSON output when stderr is not a terminal
    progress_interval: float = 15.0  # heartbeat, seconds, when stderr is not a terminal
    debug: bool = False
    parallel: int = DEFAULT_PARALLEL

    @property
    def json_output(self) -> bool:
        return self.output == "json"

    def flag_values(self) -> dict[str, object]:
        """The target flags under their config key names (None: not given)."""
        return {
            "subscription": self.subscription,
            "resource_group": self.resource_group,
            "email_service": self.email_service,
            "name": self.domain,
            "zone": self.zone,
            "zone_resource_group": self.zone_resource_group,
            "create_domain": self.create_domain,
            "spf_hardfail": self.spf_hardfail,
            "takeover": self.takeover,
            "communication_service": self.communication_service,
            "communication_resource_group": self.communication_resource_group,
            "senders": self.sender or None,
            "dmarc": self.dmarc,
            "dmarc_replace": self.dmarc_replace,
            "prune_token": self.prune_token,
        }

    def targets(self) -> list[DomainTarget]:
        """The validated targets (UsageError, with every problem, otherwise)."""
        from provisioner.config import load_targets, target_from_flags

        flags = self.flag_values()
        if self.config is not None:
            # an empty --domain is "not given"; load_targets refuses a given one beside --config
            return load_targets(self.config, {k: v for k, v in flags.items() if k != "name" or v})
        return [target_from_flags(flags)]

    def settings(self) -> AzureSettings:
        from provisioner.azure.clients import AzureSettings, resolve_endpoint
        from provisioner.azure.credentials import make_credential

        endpoint = resolve_endpoint(self.cloud, self.arm_endpoint)
        if self.auth == "sandbox":
            make_credential(self.auth, endpoint)  # refuses non-loopback endpoints before anything is sent
        return AzureSettings(arm_endpoint=endpoint, auth=self.auth)

    def dns_server_addresses(self) -> list[DnsServerAddress]:
        from provisioner.dnscheck import parse_dns_server

        return [parse_dns_server(s) for s in self.dns_servers]
