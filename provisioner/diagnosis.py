"""The steps of `check`, `records` and `verify`: read the email domain without writing, ask public DNS
what it serves, and turn that into findings (`findings.diagnose`) or the records to publish
(`records_out`). Each step returns data, or an `Outcome` for an expected failure (like `steps.py`).

These commands need read access to the email domain only: no DNS zone permission, no Azure DNS zone at
all. An Azure zone's name servers are used as the expected ones only when the zone is named in full
(`--zone` with `--zone-resource-group`) and readable; otherwise public DNS says where the zone is.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from provisioner import steps
from provisioner import verification as v
from provisioner.config import DomainTarget
from provisioner.dnsdata import DnsAnswers
from provisioner.errors import AcsDnsError, ExitCode
from provisioner.finding import Finding, Severity
from provisioner.findings import diagnose
from provisioner.model import VerificationKind, Zone
from provisioner.records_out import RecordLine, public_spf, records_needed
from provisioner.report import Outcome, Result
from provisioner.session import Session

if TYPE_CHECKING:
    from provisioner.azure.communication import EmailDomain

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Diagnosis:
    """What public DNS showed for one domain: the zone its host names are relative to, the delegation,
    the findings (errors first) and, for `records`, the records to publish."""

    zone: str
    delegation: str
    name_servers: tuple[str, ...] = ()
    findings: tuple[Finding, ...] = ()
    records: tuple[RecordLine, ...] = ()

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is Severity.ERROR]


def read_email_domain(session: Session, target: DomainTarget) -> EmailDomain | Outcome:
    """The email domain, read only (never created: a missing one is exit 4)."""
    return steps.read_domain(session, replace(target, create_domain=False), create=False)


def kinds_of(domain: EmailDomain) -> list[VerificationKind]:
    """The verification types the domain has records for, Domain first."""
    return v.ordered(r.kind for r in domain.records if r.value.strip())


def _expected_name_servers(session: Session, target: DomainTarget) -> tuple[str, ...]:
    """The Azure zone's name servers when the zone is named in full and readable; else () (no DNS
    permission is required: public DNS then says which name servers serve the zone)."""
    if not (target.zone and target.zone_resource_group):
        return ()
    try:
        zone = session.dns(target.subscription).get_zone(target.zone_resource_group, target.zone)
    except AcsDnsError as err:
        log.debug("zone %s not readable (%s): name servers taken from public DNS", target.zone, err)
        return ()
    return zone.name_servers


def look_up(session: Session, target: DomainTarget, domain: EmailDomain) -> DnsAnswers:
    """What public DNS serves for the domain: the resolver's and each name server's view. Raises
    UsageError when the domain is not inside `--zone`."""
    return session.dns_reader.lookup(
        target.domain,
        domain.records,
        zone=target.zone,
        expected_name_servers=_expected_name_servers(session, target),
    )


def _judged(domain: EmailDomain, answers: DnsAnswers, zone: str) -> Diagnosis:
    findings = diagnose(domain.records, zone, answers, domain.states)
    return Diagnosis(zone, str(answers.delegation), answers.name_servers, tuple(findings))


@steps.returns_outcome
def examine(session: Session, target: DomainTarget, domain: EmailDomain) -> Diagnosis:
    """Ask DNS and diagnose: every finding about the domain's records and verification states."""
    answers = look_up(session, target, domain)
    return _judged(domain, answers, answers.zone or target.zone or target.domain)


@steps.returns_outcome
def records_to_publish(session: Session, target: DomainTarget, domain: EmailDomain) -> Diagnosis:
    """The records the domain needs, relative to `--zone`, else the zone cut public DNS shows, else the
    domain's parent; an SPF record already published is merged, never doubled."""
    answers = look_up(session, target, domain)
    zone = target.zone or answers.zone or target.domain
    lines = records_needed(domain.records, target.domain, zone, public_spf(answers))
    return Diagnosis(zone, str(answers.delegation), answers.name_servers, records=tuple(lines))


def explain(
    session: Session, target: DomainTarget, zone: Zone, stopped: Outcome
) -> tuple[Diagnosis | None, Outcome]:
    """provision's DNS check failed (not delegated, not served in time): the findings saying why, and the
    Outcome naming their error codes. The Outcome is kept as it was when DNS cannot be diagnosed."""
    try:
        domain = session.communication(target.subscription).get_domain(
            target.resource_group, target.email_service, target.domain
        )
        answers = session.dns_reader.lookup(
            target.domain, domain.records, zone=zone.name, expected_name_servers=zone.name_servers
        )
        seen = _judged(domain, answers, zone.name)
    except AcsDnsError as err:
        log.debug("no diagnosis of %s: %s", target.domain, err)
        return None, stopped
    dns = [
        f for f in seen.findings if f.severity is not Severity.INFO and not f.code.startswith("verification-")
    ]
    codes = tuple(dict.fromkeys(f.code for f in dns))
    if not codes:
        return seen, stopped
    message = f"{stopped.message} [{', '.join(codes)}]"
    return seen, replace(stopped, message=message)


def check_outcome(diagnosis: Diagnosis) -> Outcome:
    """Exit 6 (result `problems`) when a finding is an error, else 0 (`ok`)."""
    errors = diagnosis.errors
    if errors:
        codes = ", ".join(dict.fromkeys(f.code for f in errors))
        return Outcome.done(Result.PROBLEMS, f"{len(errors)} error(s): {codes}", ExitCode.VERIFICATION_FAILED)
    others = len(diagnosis.findings)
    return Outcome.done(Result.OK, f"no error ({others} other finding(s))" if others else "no problem found")


def blocking(findings: Sequence[Finding], to_start: Sequence[VerificationKind]) -> list[Finding]:
    """The errors that make starting verification of `to_start` pointless: zone-level errors (kind None)
    and errors about a type that would be started."""
    return [f for f in findings if f.severity is Severity.ERROR and (f.kind is None or f.kind in to_start)]


def refusal(found: Sequence[Finding]) -> Outcome:
    """verify's refusal: verification would only end in Failed."""
    codes = ", ".join(dict.fromkeys(f.code for f in found))
    return Outcome(
        Result.FAILED,
        ExitCode.VERIFICATION_FAILED,
        f"verification not started: {len(found)} record(s) it needs are wrong ({codes})",
        "fix the records as each finding says (acs-dns records prints them all), then run verify again; "
        "--force starts verification anyway",
    )


__all__ = [
    "Diagnosis",
    "blocking",
    "check_outcome",
    "examine",
    "kinds_of",
    "look_up",
    "read_email_domain",
    "records_to_publish",
    "refusal",
]
