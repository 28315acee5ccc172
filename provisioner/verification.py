"""Which verification types to start, and what the states add up to. Pure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from provisioner.model import KIND_ORDER, VerificationKind


class VerificationStatus(StrEnum):
    """A verification type's status, spelled as the service spells it (`VerificationStatusRecord.status`,
    Microsoft.Communication 2025-09-01). The service models it as an extensible string: a value this
    version does not know becomes UNKNOWN (its spelling stays in `KindState.raw`)."""

    NOT_STARTED = "NotStarted"
    VERIFICATION_REQUESTED = "VerificationRequested"
    VERIFICATION_IN_PROGRESS = "VerificationInProgress"
    VERIFICATION_FAILED = "VerificationFailed"
    VERIFIED = "Verified"
    CANCELLATION_REQUESTED = "CancellationRequested"
    UNKNOWN = "Unknown"

    @classmethod
    def _missing_(cls, value: object) -> VerificationStatus | None:
        """Case does not matter: `VerificationStatus("verified")` is VERIFIED."""
        if isinstance(value, str):
            return next((m for m in cls if m.value.lower() == value.lower()), None)
        return None

    @classmethod
    def parse(cls, raw: str) -> VerificationStatus:
        """The member for a status as the service sent it; UNKNOWN for a value this version does not know."""
        try:
            return cls(raw)
        except ValueError:
            return cls.UNKNOWN


IN_FLIGHT = frozenset(
    {VerificationStatus.VERIFICATION_REQUESTED, VerificationStatus.VERIFICATION_IN_PROGRESS}
)


@dataclass(frozen=True)
class KindState:
    """One verification type's state. `status` accepts the service's string (any case) and holds the
    member; `raw` keeps the service's spelling, which is what a user sees for an UNKNOWN status."""

    status: VerificationStatus
    error_code: str | None = None
    raw: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        raw = self.raw or str(self.status)
        object.__setattr__(self, "status", VerificationStatus.parse(str(self.status)))
        object.__setattr__(self, "raw", raw)

    @property
    def label(self) -> str:
        """The status as reports show it: the member's value, or the service's own word when UNKNOWN."""
        return self.raw if self.status is VerificationStatus.UNKNOWN else str(self.status)

    @property
    def verified(self) -> bool:
        return self.status is VerificationStatus.VERIFIED

    @property
    def failed(self) -> bool:
        return self.status is VerificationStatus.VERIFICATION_FAILED

    @property
    def in_flight(self) -> bool:
        return self.status in IN_FLIGHT

    @property
    def terminal(self) -> bool:
        return self.verified or self.failed


NOT_STARTED = KindState(VerificationStatus.NOT_STARTED)


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


POLL_LATENESS = 0.1
"""A status poll comes at most this share of the time waited so far after the previous one."""


def next_poll_delay(waited: float, *, first: float, maximum: float) -> float:
    """The delay before the next status poll, `waited` seconds into the wait: `first`, until a tenth of
    the time waited is longer, never beyond `maximum`. So a type that turns terminal at time t is seen by
    t + min(maximum, max(first, t/10)): never more than a tenth late once the wait is longer than
    10 × `first`, while a long wait still costs at most one poll per `maximum` seconds."""
    return min(maximum, max(first, waited * POLL_LATENESS))
