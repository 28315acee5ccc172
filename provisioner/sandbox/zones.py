"""Microsoft.Network/dnsZones and their record sets (api-version 2018-05-01). (being written)"""

from __future__ import annotations

from provisioner.sandbox.http import Router
from provisioner.sandbox.state import SandboxState


def register(router: Router, state: SandboxState) -> None:
    pass
