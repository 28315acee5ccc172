"""Authoritative DNS (UDP + TCP on one loopback port) serving the sandbox's public zones. (being written)"""

from __future__ import annotations

from provisioner.sandbox.state import SandboxState


class DnsServer:
    def __init__(self, state: SandboxState, host: str = "127.0.0.1", port: int = 0, propagation_delay: float = 0.0):
        self.state = state
        self.host = host
        self.port = port
        self.propagation_delay = propagation_delay

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass
