"""One error family for acs-dns. Each error knows its exit code and says what to do next.

The CLI turns any `AcsDnsError` into its exit code in exactly one place; nothing else in the
package prints or exits.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """The documented exit codes (see README)."""

    OK = 0
    UNEXPECTED = 1
    USAGE = 2
    AUTH = 3
    NOT_FOUND = 4
    REFUSED = 5
    VERIFICATION_FAILED = 6
    TIMED_OUT = 7
    CHANGES_PENDING = 8
    INTERRUPTED = 130  # SIGINT (Ctrl-C): 128 + 2
    TERMINATED = 143  # SIGTERM (how CI cancels a job): 128 + 15


class AcsDnsError(Exception):
    """Base of every expected failure. `message` names the problem, `hint` the fix."""

    exit_code: ExitCode = ExitCode.UNEXPECTED

    def __init__(self, message: str, hint: str | None = None, *, codes: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.codes = codes  # the finding codes (README, `finding.CODES`) naming the same problem

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n  fix: {self.hint}"


class UsageError(AcsDnsError):
    """Bad flags, bad configuration file, bad domain name."""

    exit_code = ExitCode.USAGE


class AuthError(AcsDnsError):
    """Authentication failed or the identity lacks a permission."""

    exit_code = ExitCode.AUTH


class NotFoundError(AcsDnsError):
    """Something named (email service, domain, zone, resource group) does not exist."""

    exit_code = ExitCode.NOT_FOUND


class RefusedError(AcsDnsError):
    """Refused for safety: a foreign record, an SPF policy change, a conflict that persists."""

    exit_code = ExitCode.REFUSED


class VerificationFailedError(AcsDnsError):
    exit_code = ExitCode.VERIFICATION_FAILED


class TimedOutError(AcsDnsError):
    exit_code = ExitCode.TIMED_OUT


class ConflictError(AcsDnsError):
    """An ETag precondition failed (HTTP 412): someone else wrote the record set. Re-read and retry."""

    exit_code = ExitCode.REFUSED


class InterruptedRunError(AcsDnsError):
    """Ctrl-C: the run stopped between steps; what was written is reported."""

    exit_code = ExitCode.INTERRUPTED


class TerminatedRunError(InterruptedRunError):
    """SIGTERM (a cancelled CI job): the run stopped like on Ctrl-C, with its own exit code."""

    exit_code = ExitCode.TERMINATED
