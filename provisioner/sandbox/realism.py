"""Latency, ARM token-bucket throttling and random faults, as hooks around every ARM request. (being written)"""

from __future__ import annotations

from typing import Any

from provisioner.sandbox.http import Hook


def hooks_for(options: Any) -> list[Hook]:
    return []
