"""The per-domain commands, each a short composition of the steps in `steps.py`:

    plan_domain         = read -> locate -> plan (+ what linking and senders would do)
    provision_domain    = read -> locate -> plan -> apply -> check -> verify -> prune -> link -> senders
    apply_saved_plan    = read -> (the saved plan) -> apply -> check -> verify
    deprovision_domain  = read -> locate -> plan removal -> unlink -> senders -> apply -> delete domain
    check_domain      = read -> look up public DNS -> diagnose                      (read-only)
    records_domain    = read -> look up public DNS -> the records to publish         (read-only)
    verify_domain     = read -> look up public DNS -> diagnose -> (refuse) -> verify (writes no DNS)

Each returns the domain's `DomainReport`, or, when only waiting for verification is left, an `Awaiting`
that the run's verification poller of the email service finishes (so waiting holds no worker; `settle`
waits in the calling thread). A step's Outcome ends the composition. Clock and sleep come from the
`Session`, so the waits can be driven fast. A new command is a function of the same shape
(`DomainCommand`), handed to `runner.run`. Reports are made by `session.report(target)`, so what a
domain wrote can be reported however the run stops.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from provisioner import diagnosis, lifecycle, steps
from provisioner import verification as v
from provisioner.config import DomainTarget
from provisioner.deprovision import Removal, plan_removal
from provisioner.desired import DesiredRecord, desired_records
from provisioner.errors import AcsDnsError, ExitCode, UsageError
from provisioner.model import VerificationKind, Zone
from provisioner.options import RunOptions
from provisioner.plan import Change, Plan
from provisioner.ports import EmailDomainNotFoundError
from provisioner.report import DomainReport, Outcome, Result
from provisioner.session import Session
from provisioner.verifying import Awaiting, followed_by

if TYPE_CHECKING:
    from provisioner.azure.communication import EmailDomain

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


def _prunes(target: DomainTarget, states: dict[VerificationKind, v.KindState]) -> bool:
    """--prune-token applies: asked for, and Domain is Verified."""
    return target.prune_token and states.get(VerificationKind.DOMAIN, v.NOT_STARTED).status == "Verified"


def _prepare(
    session: Session, report: DomainReport, options: RunOptions
) -> tuple[list[DesiredRecord], Plan] | Outcome:
    """read -> locate -> plan, filling the report as it goes."""
    t, say = report.target, session.sayer(report.target)
    domain = steps.read_domain(session, t, create=not options.dry_run, say=say)
    if isinstance(domain, Outcome):
        return domain
    report.domain = domain
    report.states = dict(domain.states)
    zone = steps.locate_zone(session, t)
    if isinstance(zone, Outcome):
        return zone
    report.zone = zone
    desired = desired_records(t.domain, zone.name, domain.records)
    report.kinds = [d.kind for d in desired]
    say(f"zone {zone.name} (resource group {zone.resource_group})")
    plan = steps.plan_records(session, t, zone, desired, prune=_prunes(t, report.states), say=say)
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
    try:
        assert report.domain is not None
        lines, sending = lifecycle.preview_sending(session, target, report.domain)
    except AcsDnsError as err:
        return _end(session, report, Outcome.failed(err))
    report.notes += lines
    pending = plan.has_changes or not verified or sending
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

    pruned = _prunes(target, report.states)

    def replan() -> Plan | Outcome:
        again = steps.plan_records(
            session, target, zone, desired, shared_listing=False, prune=pruned, say=session.sayer(target)
        )
        if not isinstance(again, Outcome):
            report.plan = again
        return again

    def prune_plan() -> Plan | Outcome:  # the token comes out once Domain is Verified (report.plan stays)
        return steps.plan_records(
            session, target, zone, desired, shared_listing=False, prune=True, say=session.sayer(target)
        )

    def sending(report: DomainReport) -> DomainReport | Awaiting:
        if report.result is not Result.VERIFIED:
            if report.result is Result.STARTED and (
                target.communication_service or target.senders or target.prune_token
            ):
                report.notes.append(
                    "link, senders and --prune-token wait for verification: re-run without --no-wait"
                )
            return report
        return _go_sending(session, report, options, deadline, None if pruned else prune_plan)

    return followed_by(
        _apply_check_verify(session, report, desired, plan, options, deadline, replan), sending
    )


def _go_sending(
    session: Session,
    report: DomainReport,
    options: RunOptions,
    deadline: float,
    prune_plan: Callable[[], Plan | Outcome] | None,
) -> DomainReport:
    """Once every type is Verified: remove the token (--prune-token), link, create the senders; the domain's
    tags record the link and senders acs-dns added."""
    t, say, zone = report.target, session.sayer(report.target), report.zone
    assert zone is not None and report.domain is not None
    if not (t.prune_token and prune_plan) and not t.communication_service and not t.senders:
        return report
    done: list[str] = []
    if t.prune_token and prune_plan is not None:
        plan = prune_plan()
        if isinstance(plan, Outcome):
            return _end(session, report, plan)
        applied = steps.apply_plan(session, zone, plan, replan=prune_plan, say=say)
        report.written += [steps.applied_label(c) for c in applied.applied]
        if applied.outcome:
            return _end(session, report, applied.outcome)
        done.append("verification token removed")
    tags: dict[str, str] = {}
    try:
        if t.communication_service:
            domain = replace(report.domain, states=dict(report.states))
            added, line = lifecycle.link_domain(session, t, domain, settle=options.link_settle, say=say)
            done.append(line)
            if added:
                rg = lifecycle.communication_resource_group(t)
                tags[lifecycle.link_tag(added)] = f"{rg}/{t.communication_service}"
        if t.senders:
            created, lines = lifecycle.ensure_senders(session, t, say)
            report.notes += lines
            tags |= {lifecycle.sender_tag(u): u for u in created}
            done.append(f"{len(t.senders)} sender(s) in place")
    except AcsDnsError as err:
        _record_tags(session, report, tags)
        return _end(session, report, Outcome.failed(err))
    if not _record_tags(session, report, tags):
        return report
    report.notes += done
    message = "every type Verified" + "".join(f"; {line}" for line in done)
    return _end(session, report, Outcome.done(Result.VERIFIED, message))


def _record_tags(session: Session, report: DomainReport, tags: dict[str, str]) -> bool:
    try:
        lifecycle.update_tags(session, report.target, tags)
    except AcsDnsError as err:
        _end(session, report, Outcome.failed(err))
        return False
    return True


def _apply_check_verify(
    session: Session,
    report: DomainReport,
    desired: list[DesiredRecord],
    plan: Plan,
    options: RunOptions,
    deadline: float,
    replan: Callable[[], Plan | Outcome] | None,
) -> DomainReport | Awaiting:
    say, zone = session.sayer(report.target), report.zone
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
    served_records = [
        d
        for d in desired
        if not (d.kind is VerificationKind.DOMAIN and _prunes(report.target, report.states))
    ]
    expected = steps.expected_records(served_records, zone, applied.plan)
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
) -> DomainReport | Awaiting:
    """start -> await (or return once started with --no-wait): the end of provision and of verify."""
    t, say = report.target, session.sayer(report.target)
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
        report.domain = domain
        # then link and senders as saved; the plan writes exactly what it shows, so no token pruning beyond it
        return followed_by(
            _apply_check_verify(session, report, desired, plan, options, deadline, replan=None),
            lambda done: (
                done
                if done.result is not Result.VERIFIED
                else _go_sending(session, done, options, deadline, None)
            ),
        )

    return command


def deprovision_domain(
    session: Session, target: DomainTarget, options: RunOptions, deadline: float
) -> DomainReport:
    """Take back exactly what acs-dns added for the domain: the link (from the named Communication Services
    resource), the senders it created, its DNS values and record sets, and with --delete-domain the email
    domain itself. With --dry-run it only plans. Leaves, and names, what it cannot prove it added."""
    report = session.report(target)
    say = session.sayer(target)
    domain = steps.read_domain(session, target, create=False, say=say)
    if isinstance(domain, Outcome):
        if not isinstance(domain.error, EmailDomainNotFoundError):
            return _end(session, report, domain)
        domain = None  # gone already: the zone's markers alone decide
    else:
        report.domain = domain
        report.states = dict(domain.states)
    zone = steps.locate_zone(session, target)
    if isinstance(zone, Outcome):
        return _end(session, report, zone)
    report.zone = zone
    try:
        removal = _plan_removal(session, target, zone, domain)
        link, senders, kept = _sending_removal(session, target, domain)
    except AcsDnsError as err:
        return _end(session, report, Outcome.failed(err))
    report.plan = removal.plan
    report.notes += [f"left: {line}" for line in removal.left] + kept
    actions = ([f"unlink from {target.communication_service}"] if link else []) + [
        f"delete sender {u}" for u in senders
    ]
    if options.delete_domain and domain is not None:
        actions.append(f"delete email domain {target.domain}")
    report.notes += [("would " if options.dry_run else "") + a for a in actions]
    pending = removal.plan.has_changes or bool(actions)
    if options.dry_run:
        return _end(session, report, _removal_outcome(report, pending, dry_run=True))
    try:
        if link and domain is not None:
            lifecycle.unlink_domain(session, target, domain.resource_id, settle=options.link_settle, say=say)
        comm = session.communication(target.subscription)
        for username in senders:
            comm.delete_sender(target.resource_group, target.email_service, target.domain, username)
            say(f"deleted sender {username}")
    except AcsDnsError as err:
        return _end(session, report, Outcome.failed(err))
    applied = steps.apply_plan(
        session, zone, removal.plan, replan=lambda: _plan_removal(session, target, zone, domain).plan, say=say
    )
    report.plan = applied.plan
    report.written += [steps.applied_label(c) for c in applied.applied]
    if applied.outcome:
        return _end(session, report, applied.outcome)
    try:
        if domain is not None and options.delete_domain:
            comm.delete_domain(target.resource_group, target.email_service, target.domain)
            say(f"deleted email domain {target.domain}")
        elif domain is not None:
            drop = {lifecycle.sender_tag(u) for u in senders}
            if link:
                drop.add(lifecycle.link_tag(link))
            lifecycle.update_tags(session, target, {}, frozenset(drop))
    except AcsDnsError as err:
        return _end(session, report, Outcome.failed(err))
    return _end(session, report, _removal_outcome(report, pending, dry_run=False))


def _plan_removal(session: Session, target: DomainTarget, zone: Zone, domain: EmailDomain | None) -> Removal:
    desired = desired_records(target.domain, zone.name, domain.records) if domain is not None else []
    current = session.zone_record_sets(zone)  # one listing per zone for the whole run
    return plan_removal(target.domain, zone.name, desired, current, dmarc_expected=target.dmarc is not None)


def _sending_removal(
    session: Session, target: DomainTarget, domain: EmailDomain | None
) -> tuple[str | None, list[str], list[str]]:
    """(the id of the resource to unlink from, None: none; the senders to delete; notes on what is kept).
    acs-dns tags every link and sender it adds, so one without a tag is not its own: kept, not refused."""
    if domain is None:
        return None, [], []
    left: list[str] = []
    link = None
    if target.communication_service:
        resource = lifecycle.read_link_target(session, target)
        if resource.links(domain.resource_id):
            if lifecycle.link_tag(resource.resource_id) in domain.tags:
                link = resource.resource_id
            else:
                left.append(f"kept the link from {target.communication_service}: acs-dns did not add it")
    comm = session.communication(target.subscription)
    existing = {
        s.username.lower()
        for s in comm.list_senders(target.resource_group, target.email_service, target.domain)
    }
    ours = [u for u in lifecycle.owned_senders(domain.tags) if u.lower() in existing]
    for username, _ in target.senders:
        if username.lower() in existing and username.lower() not in {u.lower() for u in ours}:
            left.append(f"kept sender {username}: acs-dns did not create it")
    return link, ours, left


def _removal_outcome(report: DomainReport, pending: bool, *, dry_run: bool) -> Outcome:
    left = [n for n in report.notes if n.startswith("left: ")]
    if dry_run:
        what = "changes to make" if pending else "nothing to remove"
        extra = f"; {len(left)} item(s) it cannot prove acs-dns added would be left" if left else ""
        return Outcome.done(
            Result.CHANGES_PENDING if pending else Result.UP_TO_DATE,
            what + extra,
            ExitCode.CHANGES_PENDING if pending else ExitCode.OK,
        )
    if left:
        return Outcome(
            Result.REFUSED,
            ExitCode.REFUSED,
            "removed what acs-dns added; left what it cannot prove it added:\n"
            + "\n".join(f"- {n.removeprefix('left: ')}" for n in left),
            "check each item left and remove it by hand if nothing else needs it",
        )
    return Outcome.done(
        Result.REMOVED, "removed everything acs-dns added" if pending else "nothing to remove"
    )


def _read_only(
    session: Session, target: DomainTarget, look: Callable[..., diagnosis.Diagnosis | Outcome]
) -> tuple[DomainReport, EmailDomain | None, Outcome | None]:
    """read the email domain -> `look` at public DNS, filling the report (the Outcome if one stopped it)."""
    report = session.report(target)
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
) -> DomainReport | Awaiting:
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
