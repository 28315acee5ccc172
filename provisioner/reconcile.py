"""The per-domain commands, each a short composition of the steps in `steps.py`:

    plan_domain       = read -> locate -> plan
    provision_domain  = read -> locate -> plan -> apply -> check -> verify
    apply_saved_plan  = read -> (the saved plan) -> apply -> check -> verify
    check_domain      = read -> look up public DNS -> diagnose                      (read-only)
    records_domain    = read -> look up public DNS -> the records to publish         (read-only)
    verify_domain     = read -> look up public DNS -> diagnose -> (refuse) -> verify (writes no DNS)

Each returns the domain's `DomainReport`; a step's Outcome ends the composition. Clock and sleep come
from the `Session`, so the waits can be driven fast. A new command is a function of the same shape
(`DomainCommand`), handed to `runner.run`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from provisioner import diagnosis, steps
from provisioner import verification as v
from provisioner.config import DomainTarget
from provisioner.desired import DesiredRecord, desired_records
from provisioner.errors import ExitCode, UsageError
from provisioner.options import RunOptions
from provisioner.plan import Plan
from provisioner.report import DomainReport, Outcome, Result
from provisioner.session import Session

if TYPE_CHECKING:
    from provisioner.azure.communication import EmailDomain

DomainCommand = Callable[[Session, DomainTarget, RunOptions, float], DomainReport]
"""(session, target, options, deadline) -> report: what `runner.run` runs for each domain."""


def _end(session: Session, report: DomainReport, outcome: Outcome) -> DomainReport:
    session.progress(report.target, outcome.line)
    return report.finish(outcome)


def _prepare(
    session: Session, report: DomainReport, options: RunOptions
) -> tuple[list[DesiredRecord], Plan] | Outcome:
    """read -> locate -> plan, filling the report as it goes."""
    t, say = report.target, session.sayer(report.target)
    domain = steps.read_domain(session, t, create=not options.dry_run, say=say)
    if isinstance(domain, Outcome):
        return domain
    report.states = dict(domain.states)
    zone = steps.locate_zone(session, t)
    if isinstance(zone, Outcome):
        return zone
    report.zone = zone
    desired = desired_records(t.domain, zone.name, domain.records)
    report.kinds = [d.kind for d in desired]
    say(f"zone {zone.name} (resource group {zone.resource_group})")
    plan = steps.plan_records(session, t, zone, desired, say=say)
    if isinstance(plan, Outcome):
        return plan
    report.plan = plan
    return desired, plan


def plan_domain(session: Session, target: DomainTarget, options: RunOptions, deadline: float) -> DomainReport:
    """What provision would change, and whether verification is pending; writes nothing."""
    report = DomainReport(target)
    prepared = _prepare(session, report, options)
    if isinstance(prepared, Outcome):
        return _end(session, report, prepared)
    _, plan = prepared
    verified = v.all_verified(report.kinds, report.states)
    pending = plan.has_changes or not verified
    return _end(
        session,
        report,
        Outcome.done(
            Result.CHANGES_PENDING if pending else Result.UP_TO_DATE,
            f"{len(plan.writes)} change(s) to write; verification " + ("complete" if verified else "pending"),
            ExitCode.CHANGES_PENDING if pending else ExitCode.OK,
        ),
    )


def provision_domain(
    session: Session, target: DomainTarget, options: RunOptions, deadline: float
) -> DomainReport:
    """Write the records, check DNS serves them, start and await verification."""
    if options.dry_run:
        return plan_domain(session, target, options, deadline)
    report = DomainReport(target)
    prepared = _prepare(session, report, options)
    if isinstance(prepared, Outcome):
        return _end(session, report, prepared)
    desired, plan = prepared
    assert report.zone is not None
    zone = report.zone

    def replan() -> Plan | Outcome:
        again = steps.plan_records(
            session, target, zone, desired, shared_listing=False, say=session.sayer(target)
        )
        if not isinstance(again, Outcome):
            report.plan = again
        return again

    return _apply_check_verify(session, report, desired, plan, options, deadline, replan)


def _apply_check_verify(
    session: Session,
    report: DomainReport,
    desired: list[DesiredRecord],
    plan: Plan,
    options: RunOptions,
    deadline: float,
    replan: Callable[[], Plan | Outcome] | None,
) -> DomainReport:
    say, zone = session.sayer(report.target), report.zone
    assert zone is not None
    applied = steps.apply_plan(session, zone, plan, replan=replan, say=say)
    report.plan = applied.plan
    report.written += [steps.applied_label(c) for c in applied.applied]
    if applied.outcome:
        return _end(session, report, applied.outcome)
    if v.all_verified(report.kinds, report.states) and not applied.plan.has_changes:
        return _end(session, report, Outcome.done(Result.VERIFIED, "records in place, every type Verified"))
    expected = steps.expected_records(desired, zone, applied.plan)
    served = steps.check_served(
        session,
        zone,
        expected,
        propagation_timeout=options.propagation_timeout,
        deadline=deadline,
        interval=options.dns_interval,
        say=say,
    )
    if isinstance(served, Outcome):
        report.diagnosis, served = diagnosis.explain(session, report.target, zone, served)
        return _end(session, report, served)
    return _start_and_poll(session, report, options, deadline)


def _start_and_poll(
    session: Session, report: DomainReport, options: RunOptions, deadline: float
) -> DomainReport:
    """start -> poll (or return once started with --no-wait): the end of provision and of verify."""
    t, say = report.target, session.sayer(report.target)
    started = steps.start_verification(session, t, report.kinds, report.states, say=say)
    report.started += started.started
    report.states = dict(started.states)
    if started.outcome:
        return _end(session, report, started.outcome)
    if not options.wait:
        listed = ", ".join(report.started) or "nothing"
        return _end(session, report, Outcome.done(Result.STARTED, f"verification started for {listed}"))
    polled = steps.poll_verification(
        session,
        t,
        report.kinds,
        report.states,
        deadline=deadline,
        poll_first=options.poll_first,
        poll_max=options.poll_max,
        say=say,
    )
    report.states = dict(polled.states)
    return _end(session, report, polled.outcome)


def apply_saved_plan(plans: dict[DomainTarget, Plan]) -> DomainCommand:
    """The command applying exactly the saved `plans` (If-Match with each saved ETag; a set changed since
    is refused, exit 5, not merged again), then checking DNS and verifying like `provision_domain`."""

    def command(session: Session, target: DomainTarget, options: RunOptions, deadline: float) -> DomainReport:
        report = DomainReport(target)
        plan = plans[target]
        domain = steps.read_domain(session, target, create=False, say=session.sayer(target))
        if isinstance(domain, Outcome):
            return _end(session, report, domain)
        report.states = dict(domain.states)
        zone = steps.locate_zone(session, target)
        if isinstance(zone, Outcome):
            return _end(session, report, zone)
        if zone.subscription != plan.subscription or zone.name != plan.zone:
            wrong = UsageError(
                f"the saved plan is for zone {plan.zone}, found {zone.name}", "make a new plan"
            )
            return _end(session, report, Outcome.failed(wrong))
        report.zone, report.plan = zone, plan
        desired = desired_records(target.domain, zone.name, domain.records)
        report.kinds = [d.kind for d in desired]
        return _apply_check_verify(session, report, desired, plan, options, deadline, replan=None)

    return command


def _read_only(
    session: Session, target: DomainTarget, look: Callable[..., diagnosis.Diagnosis | Outcome]
) -> tuple[DomainReport, EmailDomain | None, Outcome | None]:
    """read the email domain -> `look` at public DNS, filling the report (the Outcome if one stopped it)."""
    report = DomainReport(target)
    domain = diagnosis.read_email_domain(session, target)
    if isinstance(domain, Outcome):
        return report, None, domain
    report.states, report.kinds = dict(domain.states), diagnosis.kinds_of(domain)
    seen = look(session, target, domain)
    if isinstance(seen, Outcome):
        return report, domain, seen
    report.diagnosis = seen
    return report, domain, None


def check_domain(
    session: Session, target: DomainTarget, options: RunOptions, deadline: float
) -> DomainReport:
    """Why the domain is (not) verified: findings from public DNS and the verification states; exit 6
    when one is an error. Reads the email domain only."""
    report, _, stopped = _read_only(session, target, diagnosis.examine)
    if stopped is not None:
        return _end(session, report, stopped)
    assert report.diagnosis is not None
    return _end(session, report, diagnosis.check_outcome(report.diagnosis))


def records_domain(
    session: Session, target: DomainTarget, options: RunOptions, deadline: float
) -> DomainReport:
    """The records to publish at any DNS provider (an existing public SPF merged). Reads only."""
    report, _, stopped = _read_only(session, target, diagnosis.records_to_publish)
    if stopped is not None:
        return _end(session, report, stopped)
    assert report.diagnosis is not None
    count = len(report.diagnosis.records)
    return _end(
        session, report, Outcome.done(Result.OK, f"{count} record(s) for zone {report.diagnosis.zone}")
    )


def verify_domain(
    session: Session, target: DomainTarget, options: RunOptions, deadline: float
) -> DomainReport:
    """check, then start and await verification like provision, touching no DNS. Refuses (exit 6) while a
    record a type to be started needs is wrong, unless `options.force`."""
    report, _, stopped = _read_only(session, target, diagnosis.examine)
    if stopped is not None:
        return _end(session, report, stopped)
    assert report.diagnosis is not None
    if v.all_verified(report.kinds, report.states):
        broken = diagnosis.blocking(report.diagnosis.findings, report.kinds)
        codes = ", ".join(dict.fromkeys(f.code for f in broken))
        say = f"; but DNS changed since ({codes}): mail breaks, fix the records" if broken else ""
        return _end(session, report, Outcome.done(Result.VERIFIED, "every type already Verified" + say))
    to_start = v.kinds_to_start(report.kinds, report.states)
    wrong = diagnosis.blocking(report.diagnosis.findings, to_start)
    if wrong and not options.force:
        return _end(session, report, diagnosis.refusal(wrong))
    if wrong:
        session.progress(target, f"--force: starting verification despite {len(wrong)} error finding(s)")
    return _start_and_poll(session, report, options, deadline)
