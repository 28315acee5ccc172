"""A wire-accurate local Azure: ARM over HTTPS (DNS zones, Communication email domains) plus an
authoritative DNS server that serves what the zones hold, the way the internet would see it.

    with Sandbox(SandboxOptions(verify_delay=1)) as sandbox:
        client = DnsManagementClient(cred, sub, base_url=sandbox.arm_endpoint,
                                     connection_verify=sandbox.ca_bundle)
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from acs_sandbox import admin, communication, realism, zones
from acs_sandbox.certs import write_certificates
from acs_sandbox.dns_server import DnsServer
from acs_sandbox.http import ArmApp, ArmServer, Router
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
    # seconds a Microsoft.Communication long-running operation stays in progress (short: tests stay fast)
    operation_delay: float = 0.05


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
        certs = write_certificates(self.workdir)
        self.ca_bundle = str(certs.ca_bundle)
        self._dns = DnsServer(self.state, port=opts.dns_port, propagation_delay=opts.propagation_delay)
        self._dns.start()
        self.verifier = Verifier(self.state, ("127.0.0.1", self._dns.port), verify_delay=opts.verify_delay)
        router = Router()
        zones.register(router, self.state)
        communication.register(router, self.state, self.verifier, opts.operation_delay)
        self.app = ArmApp(router, realism.hooks_for(opts))
        admin.register(self.app, self.state)
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


__all__ = ["Sandbox", "SandboxOptions"]
