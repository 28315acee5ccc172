"""A wire-accurate local Azure: ARM over HTTPS (DNS zones, Communication email domains) plus an
authoritative DNS server that serves what the zones hold, the way the internet would see it.

    with Sandbox(SandboxOptions(verify_delay=1, seed_file="world.toml")) as sandbox:
        client = DnsManagementClient(cred, sub, base_url=sandbox.arm_endpoint,
                                     connection_verify=sandbox.ca_bundle)
        sandbox.add_external_zone("fabrikam.test", ["ns1.example-registrar.test"])   # DNS hosted elsewhere
        sandbox.set_external_record("fabrikam.test", "@", "TXT", ["v=spf1 -all"])
        sandbox.configure_name_server("ns1.example-registrar.test", stale=True)     # it stops updating

The DNS-side knobs are also sandbox-only HTTP paths, listed in `dns_admin`; the world format is in `seed`.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from acs_sandbox import admin, cloud_metadata, communication, dns_admin, external_dns, realism, zones
from acs_sandbox.certs import write_certificates
from acs_sandbox.dns_server import RESOLVER, DnsServer, NameServerSettings
from acs_sandbox.http import ArmApp, ArmServer, Router
from acs_sandbox.seed import WorldError, apply_world, load_world
from acs_sandbox.state import SandboxState
from acs_sandbox.verification import Verifier


@dataclass(frozen=True)
class SandboxOptions:
    port: int = 0
    dns_port: int = 0
    latency_ms: float = 0.0
    fault_rate: float = 0.0
    throttle: bool = False
    verify_delay: float = 0.0
    propagation_delay: float = 0.0
    seed: int | None = None
    # A TOML world (see `acs_sandbox.seed`) applied at start: `sandbox serve --seed FILE`.
    seed_file: str | None = None
    # Cache RD=1 answers for their TTL (off: every change shows after propagation_delay): `--resolver-cache`.
    resolver_cache: bool = False


class Sandbox:
    def __init__(self, options: SandboxOptions | None = None, *, workdir: Path | None = None) -> None:
        self.options = options or SandboxOptions()
        self.state = SandboxState()
        self.state.journal_horizon = self.options.propagation_delay  # the DNS server's only delay
        self._own_workdir = workdir is None
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="acs-dns-sandbox-"))
        self._arm: ArmServer | None = None
        self._dns: DnsServer | None = None

    # ---- lifecycle -------------------------------------------------------------------------------
    def start(self) -> Sandbox:
        opts = self.options
        if opts.seed_file:
            try:  # a bad world fails before anything listens
                apply_world(self.state, load_world(opts.seed_file))
            except WorldError:
                self.stop()
                raise
        certs = write_certificates(self.workdir)
        self.ca_bundle = str(certs.ca_bundle)
        self._dns = DnsServer(self.state, port=opts.dns_port, propagation_delay=opts.propagation_delay)
        self._dns.cache.enabled = opts.resolver_cache
        self._dns.start()
        self.verifier = Verifier(
            self.state, (self._dns.host, self._dns.service_resolver()), verify_delay=opts.verify_delay
        )
        router = Router()
        zones.register(router, self.state)
        communication.register(router, self.state, self.verifier)
        self.app = ArmApp(router, realism.hooks_for(opts))
        admin.register(self.app, self.state)
        dns_admin.register(self.app, self.state, self._dns)
        cloud_metadata.register(self.app.anonymous)
        self._arm = ArmServer(self.app, str(certs.cert), str(certs.key), port=opts.port)
        self._arm.start()
        return self

    def stop(self) -> None:
        if self._arm is not None:
            self._arm.stop()
            self._arm = None
        if self._dns is not None:
            self._dns.stop()
            self._dns = None
        if getattr(self, "verifier", None) is not None:
            self.verifier.stop()
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- addresses -------------------------------------------------------------------------------
    @property
    def arm_endpoint(self) -> str:
        assert self._arm is not None, "sandbox not started"
        return self._arm.base_url

    @property
    def dns_port(self) -> int:
        assert self._dns is not None, "sandbox not started"
        return self._dns.port

    @property
    def dns_server(self) -> str:
        return f"127.0.0.1:{self.dns_port}"

    def info(self) -> dict[str, Any]:
        """The JSON line `acs-dns sandbox serve` prints."""
        return {"arm_endpoint": self.arm_endpoint, "ca_bundle": self.ca_bundle, "dns_server": self.dns_server}

    @property
    def dns(self) -> DnsServer:
        assert self._dns is not None, "sandbox not started"
        return self._dns

    # ---- the world -------------------------------------------------------------------------------
    def seed(self, world: dict[str, Any] | str | Path) -> None:
        """Apply a world (a dict, or the path of a TOML file): see `acs_sandbox.seed`. Raises WorldError."""
        apply_world(self.state, world if isinstance(world, dict) else load_world(world))

    # ---- DNS hosted outside Azure ------------------------------------------------------------------
    def add_external_zone(
        self,
        name: str,
        name_servers: list[str],
        *,
        delegated: bool = True,
        records: list[tuple[str, str, list[Any]]] | None = None,
        ttl: int = 3600,
    ) -> None:
        """A zone served by other name servers than Azure's; `records` are (name, type, values)."""
        external_dns.put_zone(self.state, name, name_servers, delegated=delegated)
        for rel, rtype, values in records or []:
            external_dns.set_record(self.state, name, rel, rtype, values, ttl)

    def set_external_record(
        self, zone: str, name: str, rtype: str, values: list[Any], ttl: int = 3600
    ) -> None:
        external_dns.set_record(self.state, zone, name, rtype, values, ttl)

    def load_external_zone_file(self, zone: str, text: str) -> int:
        """Put the record sets of a zone file (e.g. `acs-dns records --format bind`) into an external zone."""
        return external_dns.load_zone_file(self.state, zone, text)

    def delete_external_record(self, zone: str, name: str, rtype: str) -> bool:
        return external_dns.delete_record(self.state, zone, name, rtype)

    def delete_external_zone(self, name: str) -> bool:
        return external_dns.delete_zone(self.state, name)

    # ---- name servers, resolver ----------------------------------------------------------------------
    def dns_info(self) -> dict[str, Any]:
        return self.dns.describe()

    def name_server_address(self, host: str) -> str:
        """The loopback address (`127.0.0.N`) the sandbox serves name server `host` on (same port)."""
        self.dns.current_view()
        address = self.dns.address_of(host)
        if address is None:
            raise KeyError(f"no served zone names {host} as a name server")
        return address

    def configure_name_server(
        self, host: str, *, stale: bool | None = None, lag: float | None = None, answering: bool | None = None
    ) -> NameServerSettings:
        return self.dns.configure(host, stale=stale, lag=lag, answering=answering)

    def configure_resolver(self, *, answering: bool | None = None, cache: bool | None = None) -> None:
        if cache is not None:
            self.dns.cache.enabled = cache
        self.dns.configure(RESOLVER, answering=answering)

    def flush_resolver_cache(self, name: str | None = None) -> int:
        return self.dns.cache.flush(name)

    @property
    def blackhole_dns_server(self) -> str:
        """HOST:PORT of a DNS endpoint that never answers."""
        return f"{self.dns.host}:{self.dns.blackhole()}"


__all__ = ["Sandbox", "SandboxOptions"]
