"""Microsoft.Communication email services, domains, communication services. (being written)"""

from __future__ import annotations

from provisioner.sandbox.http import Router
from provisioner.sandbox.state import SandboxState
from provisioner.sandbox.verification import Verifier


def register(router: Router, state: SandboxState, verifier: Verifier) -> None:
    pass
