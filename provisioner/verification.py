"""Which verification types to start, and what the states add up to. Pure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from provisioner.model import KIND_ORDER, VerificationKind

VERIFIED = "verified"
FAILED = "verificationfailed"
IN_FLIGHT = frozenset({"verificationrequested", "verificationinprogress"})


@dataclass(frozen=True)
class KindState:
    status: str
    error_code: str | None = None

    @property
    def verified(self) -> bool:
        return self.status.lower() == VERIFIED

    @property
    def failed(self) -> bool:
        return self.status.lower() == FAILED

    @property
    def in_flight(self) -> bool:
        return self.status.lower() in IN_FLIGHT

    @property
    def terminal(self) -> bool:
        return self.verified or self.failed


NOT_STARTED = KindState("NotStarted")


def ordered(kinds: Iterable[VerificationKind]) -> list[VerificationKind]:
    return sorted(set(kinds), key=KIND_ORDER.__getitem__)


def kinds_to_start(
    kinds: Iterable[VerificationKind], states: Mapping[VerificationKind, KindState]
) -> list[VerificationKind]:
    """Types to (re)start, Domain first: everything not Verified and not already in flight.

    A type that failed earlier is started again: the caller only gets here once its records are served.
    """
    current = {k: states.get(k, NOT_STARTED) for k in kinds}  # read once: `kinds` may be an iterator
    return [k for k in ordered(current) if not (current[k].verified or current[k].in_flight)]


def all_verified(kinds: Iterable[VerificationKind], states: Mapping[VerificationKind, KindState]) -> bool:
    return all(states.get(k, NOT_STARTED).verified for k in kinds)


def all_terminal(kinds: Iterable[VerificationKind], states: Mapping[VerificationKind, KindState]) -> bool:
    return all(states.get(k, NOT_STARTED).terminal for k in kinds)


def failed_kinds(
    kinds: Iterable[VerificationKind], states: Mapping[VerificationKind, KindState]
) -> list[VerificationKind]:
    return [k for k in ordered(kinds) if states.get(k, NOT_STARTED).failed]


def next_poll_delay(previous: float, *, first: float, maximum: float) -> float:
    """Backoff between status polls: start at `first`, grow by half each time, never beyond `maximum`."""
    if previous <= 0:
        return first
    return min(maximum, previous * 1.5)
