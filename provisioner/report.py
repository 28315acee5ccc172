"""What a user is told about one domain: the `Result`, the `Outcome` that ends a domain's run (a failure
is data here, with its exit code, message and hint), and the `DomainReport` rendered as text or JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

from provisioner import verification as v
from provisioner.config import DomainTarget
from provisioner.errors import AcsDnsError, ExitCode
from provisioner.model import VerificationKind, Zone
from provisioner.plan import Plan

if TYPE_CHECKING:
    from provisioner.azure.communication import EmailDomain
    from provisioner.diagnosis import Diagnosis


class Result(StrEnum):
    VERIFIED = "verified"  # every needed type is Verified
    NOTHING_TO_DO = "nothing-to-do"  # AzureManaged: Azure owns the DNS
    UP_TO_DATE = "up-to-date"  # plan: no change and nothing pending
    REMOVED = "removed"  # deprovision: everything acs-dns added is gone
    CHANGES_PENDING = "changes-pending"  # plan: changes to write or verification to start
    STARTED = "started"  # --no-wait: verification started, not awaited
    FAILED = "verification-failed"
    TIMED_OUT = "timed-out"
    REFUSED = "refused"
    ERROR = "error"
    INTERRUPTED = "interrupted"
    OK = "ok"  # check/records: no finding is an error
    PROBLEMS = "problems"  # check: a finding is an error


_RESULT_OF_CODE = {
    ExitCode.REFUSED: Result.REFUSED,
    ExitCode.VERIFICATION_FAILED: Result.FAILED,
    ExitCode.TIMED_OUT: Result.TIMED_OUT,
    ExitCode.INTERRUPTED: Result.INTERRUPTED,
    ExitCode.TERMINATED: Result.INTERRUPTED,
}


@dataclass(frozen=True)
class Outcome:
    """How a domain's run ended: a step returns one to stop the composition (a failure, or a result such
    as 'nothing to do'); the composition puts it into the report."""

    result: Result
    exit_code: ExitCode
    message: str
    hint: str | None = None
    error: BaseException | None = None

    @classmethod
    def done(cls, result: Result, message: str, code: ExitCode = ExitCode.OK) -> Outcome:
        return cls(result, code, message)

    @classmethod
    def failed(cls, err: AcsDnsError) -> Outcome:
        result = _RESULT_OF_CODE.get(err.exit_code, Result.ERROR)
        return cls(result, err.exit_code, err.message, err.hint, err)

    @property
    def line(self) -> str:
        """The progress line announcing it."""
        return self.message if self.error is None else f"{self.result}: {self.message}"


@dataclass
class DomainReport:
    """Everything a user is told about one domain; rendered as text or JSON."""

    target: DomainTarget
    zone: Zone | None = None
    plan: Plan | None = None
    written: list[str] = field(default_factory=list)  # "TXT mail", ...
    states: dict[VerificationKind, v.KindState] = field(default_factory=dict)
    kinds: list[VerificationKind] = field(default_factory=list)
    started: list[VerificationKind] = field(default_factory=list)
    result: Result = Result.ERROR
    exit_code: ExitCode = ExitCode.UNEXPECTED
    message: str = ""
    hint: str | None = None
    notes: list[str] = field(default_factory=list)  # link, senders, what deprovision leaves
    error: BaseException | None = None  # the failure, for --debug
    domain: EmailDomain | None = None  # the email domain as read
    diagnosis: Diagnosis | None = None  # check/records/verify: what public DNS showed, as findings
    in_flight: str | None = None  # the write sent and not yet answered ("TXT mail"), while there is one

    def finish(self, outcome: Outcome) -> DomainReport:
        self.result, self.exit_code = outcome.result, outcome.exit_code
        self.message, self.hint, self.error = outcome.message, outcome.hint, outcome.error
        return self


SEVERITY = [
    ExitCode.OK,
    ExitCode.CHANGES_PENDING,
    ExitCode.TIMED_OUT,
    ExitCode.VERIFICATION_FAILED,
    ExitCode.REFUSED,
    ExitCode.NOT_FOUND,
    ExitCode.AUTH,
    ExitCode.USAGE,
    ExitCode.UNEXPECTED,
    ExitCode.INTERRUPTED,
    ExitCode.TERMINATED,
]


def worst(codes: list[ExitCode]) -> ExitCode:
    """The run's exit code: the most severe of the domains' (any failure outranks 'changes pending')."""
    return max(codes, key=SEVERITY.index, default=ExitCode.OK)
