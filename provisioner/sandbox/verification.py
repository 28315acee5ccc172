"""Decides ACS domain verification from what the sandbox's DNS server publicly serves. (being written)"""

from __future__ import annotations

from provisioner.sandbox.state import SandboxState


class Verifier:
    def __init__(self, state: SandboxState, dns_address: tuple[str, int], verify_delay: float = 0.0) -> None:
        self.state = state
        self.dns_address = dns_address
        self.verify_delay = verify_delay

    def stop(self) -> None:
        pass
