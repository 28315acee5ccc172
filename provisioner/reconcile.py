"""The per-domain commands, each a short composition of the steps in `steps.py`:

    plan_domain       = read -> locate -> plan
    provision_domain  = read -> locate -> plan -> apply -> check -> verify
    apply_saved_plan  = read -> (the saved plan) -> apply -> check -> verify

Each returns the domain's `DomainReport`, or, when only waiting for verification is left, an `Awaiting`
that the run's verification poller of the email service finishes (so waiting holds no worker; `settle`
waits in the calling thread). A step's Outcome ends the composition. Clock and sleep come from the
`Session`, so the waits can be driven fast. A new command is a function of the same shape
(`DomainCommand`), handed to `runner.run`. Reports are made by `session.report(target)`, so what a
domain wrote can be reported however the run stops.
"""

from __future__ import annotations

from collections.abc import Callable

from provisioner import steps
from provisioner import verification as v
from provisioner.config import DomainTarget
from provisioner.desired import DesiredRecord, desired_records
from provisioner.errors import ExitCode, UsageError
from provisioner.options import RunOptions
from provisioner.plan import Change, Plan
from provisioner.report import DomainReport, Outcome, Result
from provisioner.session import Session
from provisioner.verifying import Awaiting

DomainCommand = Callable[[Session, DomainTarget, RunOptions, float], DomainReport | Awaiting]
"""(session, target, options, deadline) -> report (or Awaiting): what `runner.run` runs for each domain."""


def settle(session: Session, result: DomainReport | Awaiting) -> DomainReport:
    """The finished report: waits for verification (and does what follows it) in the calling thread."""
    while isinstance(result, Awaiting):
        result = result.resume(session.pollers.wait(result))
    return result


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
    report = session.report(target)
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
) -> DomainReport | Awaiting:
    """Write the records, check DNS serves them, start and await verification."""
    if options.dry_run:
        return plan_domain(session, target, options, deadline)
    report = session.report(target)
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
) -> DomainReport | Awaiting:
    t, say, zone = report.target, session.sayer(report.target), report.zone
    assert zone is not None

    def writing(change: Change | None) -> None:
        report.in_flight = None if change is None else steps.applied_label(change)

    applied = steps.apply_plan(
        session,
        zone,
        plan,
        replan=replan,
        say=say,
        writing=writing,
        applied=lambda change: report.written.append(steps.applied_label(change)),
    )
    report.plan = applied.plan
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
        return _end(session, report, served)
    started = steps.start_verification(
        session, t, report.kinds, report.states, say=say, on_started=report.started.append
    )
    report.states = dict(started.states)
    if started.outcome:
        return _end(session, report, started.outcome)
    if not options.wait:
        listed = ", ".join(report.started) or "nothing"
        return _end(session, report, Outcome.done(Result.STARTED, f"verification started for {listed}"))
    say("waiting for verification")
    return Awaiting(report, deadline, options.poll_first, options.poll_max)


def apply_saved_plan(plans: dict[DomainTarget, Plan]) -> DomainCommand:
    """The command applying exactly the saved `plans` (If-Match with each saved ETag; a set changed since
    is refused, exit 5, not merged again), then checking DNS and verifying like `provision_domain`."""

    def command(
        session: Session, target: DomainTarget, options: RunOptions, deadline: float
    ) -> DomainReport | Awaiting:
        report = session.report(target)
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
