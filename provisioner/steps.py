"""The steps a command is composed of. Each takes plain values and ports (through the `Session`) and
returns data; an expected failure comes back as an `Outcome` (exit code, message, hint), never as an
exception that unwinds the run. Steps that can stop half-way (apply, start) return what they did so far
together with the `Outcome` that stopped them.

    read_domain -> locate_zone -> plan_records -> apply_plan -> check_served
                -> start_verification -> (waiting: `verifying.py` polls, judged by `verification_outcome`)
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ParamSpec, TypeVar

from provisioner import verification as v
from provisioner.config import DomainTarget
from provisioner.desired import DesiredRecord
from provisioner.dnscheck import DelegationState, DelegationStatus, ExpectedRecord
from provisioner.errors import (
    AcsDnsError,
    ConflictError,
    ExitCode,
    NotFoundError,
    RefusedError,
    TimedOutError,
    UsageError,
    VerificationFailedError,
)
from provisioner.model import RecordType, VerificationKind, Zone
from provisioner.names import best_zone, is_in_zone
from provisioner.ownership import dmarc_name, lifecycle_plan
from provisioner.plan import Action, Change, Plan
from provisioner.ports import EmailDomainNotFoundError
from provisioner.report import Outcome, Result
from provisioner.session import Session
from provisioner.spf import check_lookup_limit, is_spf

if TYPE_CHECKING:
    from provisioner.azure.communication import EmailDomain

MAX_CONFLICT_RETRIES = 5
DELEGATION_SETTLE_SECONDS = 30.0

Say = Callable[[str], None]
P = ParamSpec("P")
R = TypeVar("R")


def _silent(line: str) -> None:
    pass


class Stop(Exception):
    """Raised inside a step to end the domain's run with an Outcome that is not a failure."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome.message)
        self.outcome = outcome


def returns_outcome(step: Callable[P, R]) -> Callable[P, R | Outcome]:
    """Turn `Stop` and the project's expected errors raised inside `step` into an `Outcome`."""

    @functools.wraps(step)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R | Outcome:
        try:
            return step(*args, **kwargs)
        except Stop as stop:
            return stop.outcome
        except AcsDnsError as err:
            return Outcome.failed(err)

    return wrapper


# ---- read ----------------------------------------------------------------------------------------------
@returns_outcome
def read_domain(session: Session, target: DomainTarget, *, create: bool, say: Say = _silent) -> EmailDomain:
    """The email domain, created (CustomerManaged) when missing, `target.create_domain` is set and `create`
    allows writing. Stops with an Outcome for a domain that acs-dns does not provision (AzureManaged:
    nothing to do; Exchange Online: refused) or one that would be created (`create=False`)."""
    try:
        domain = session.first_read(target)
    except EmailDomainNotFoundError:
        if not target.create_domain:
            raise
        if not create:
            raise Stop(
                Outcome.done(
                    Result.CHANGES_PENDING,
                    f"email domain {target.domain} would be created; its records are known once it exists",
                    ExitCode.CHANGES_PENDING,
                )
            ) from None
        say(f"creating email domain {target.domain} (CustomerManaged)")
        comm = session.communication(target.subscription)
        domain = comm.create_domain(target.resource_group, target.email_service, target.domain)
    if domain.domain_management == "AzureManaged":
        raise Stop(
            Outcome.done(
                Result.NOTHING_TO_DO, f"{target.domain} is an Azure managed domain: Azure owns its DNS"
            )
        )
    if domain.domain_management == "CustomerManagedInExchangeOnline":
        raise RefusedError(
            f"{target.domain} is managed in Exchange Online: its DNS records are set up and verified there",
            "verify the domain in Exchange Online; acs-dns provisions CustomerManaged domains only",
        )
    return domain


# ---- locate the zone -----------------------------------------------------------------------------------
def find_zone(session: Session, target: DomainTarget) -> Zone:
    """The zone given, or the public zone in the subscription with the longest suffix match. Raises."""
    if target.zone and target.zone_resource_group:
        zone = session.zone(target.subscription, target.zone_resource_group, target.zone)
    else:
        zones = session.zones(target.subscription)
        if target.zone_resource_group:
            zones = [z for z in zones if z.resource_group.lower() == target.zone_resource_group.lower()]
        if target.zone:
            candidates = [z for z in zones if z.name == target.zone]
        else:
            public = [z for z in zones if not z.is_private]
            best = best_zone(target.domain, [z.name for z in public])
            candidates = [z for z in public if z.name == best] if best else []
            if not candidates:
                private = [z.name for z in zones if z.is_private and is_in_zone(target.domain, z.name)]
                extra = f" (only Private zones match: {', '.join(private)})" if private else ""
                raise NotFoundError(
                    f"no public Azure DNS zone in subscription {target.subscription} "
                    f"holds {target.domain}{extra}",
                    "create the zone, or name it with --zone/--zone-resource-group",
                )
        if not candidates:
            raise NotFoundError(
                f"DNS zone {target.zone} not found in subscription {target.subscription}",
                "check --zone and --zone-resource-group",
            )
        if len(candidates) > 1:
            groups = ", ".join(sorted(z.resource_group for z in candidates))
            raise UsageError(
                f"zone {candidates[0].name} exists in several resource groups: {groups}",
                "pick one with --zone-resource-group (config: zone_resource_group)",
            )
        zone = candidates[0]
    if zone.is_private:
        raise UsageError(
            f"zone {zone.name} (resource group {zone.resource_group}) is a Private DNS zone; "
            "ACS verifies against public DNS",
            "use the public zone that the domain is delegated to",
        )
    if not is_in_zone(target.domain, zone.name):
        raise UsageError(f"{target.domain} is not inside zone {zone.name}", "check --zone")
    return zone


locate_zone = returns_outcome(find_zone)
"""`find_zone`, with a failure as an Outcome."""


# ---- plan ----------------------------------------------------------------------------------------------
def _spf_lookups_ok(session: Session, plan: Plan) -> None:
    for change in plan.writes:
        if change.after is not None and change.after.type is RecordType.TXT:
            for text in change.after_values:
                if is_spf(text) and text not in change.before_values:
                    check_lookup_limit(text, session.checker.resolve_txt)


def change_line(change: Change) -> str:
    note = f" ({'; '.join(change.notes)})" if change.notes else ""
    return f"{change.action:<6} {change.record_set.type:<5} {change.record_set.name}{note}"


@returns_outcome
def plan_records(
    session: Session,
    target: DomainTarget,
    zone: Zone,
    desired: list[DesiredRecord],
    *,
    shared_listing: bool = True,
    prune: bool = False,
    say: Say = _silent,
) -> Plan:
    """The plan that puts `desired` into `zone`, from the record sets at those names (read from the run's
    shared listing of the zone when `shared_listing`, else afresh), with the target's DMARC value, the
    token removed when `prune`, and ownership markers (`ownership.lifecycle_plan`). Refusals come back as
    one Outcome."""
    names = {d.name for d in desired} | ({dmarc_name(target.domain, zone.name)} if target.dmarc else set())
    current = (
        session.first_record_sets(zone, names)
        if shared_listing
        else session.dns(zone.subscription).list_record_sets(zone, names)
    )
    plan = lifecycle_plan(
        target.domain,
        zone.name,
        desired,
        current,
        allow_hardfail_change=target.spf_hardfail,
        takeover=target.takeover,
        dmarc=target.dmarc,
        dmarc_replace=target.dmarc_replace,
        prune=prune,
    )
    _spf_lookups_ok(session, plan)
    for change in plan.changes:
        say(change_line(change))
    return Plan(plan.zone, plan.changes, zone.resource_group, zone.subscription)


# ---- apply ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Applied:
    """What `apply_plan` did: the plan it finished with (re-planned after a 412), the changes it made, and
    the Outcome that stopped it (None: every change applied)."""

    plan: Plan
    applied: tuple[Change, ...] = ()
    outcome: Outcome | None = None


def applied_label(change: Change) -> str:
    """How a made change is listed in the report's `written`: "TXT mail" ("... (deleted)" for a delete)."""
    label = f"{change.record_set.type} {change.record_set.name}"
    return f"{label} (deleted)" if change.action is Action.DELETE else label


def apply_plan(
    session: Session,
    zone: Zone,
    plan: Plan,
    *,
    replan: Callable[[], Plan | Outcome] | None = None,
    say: Say = _silent,
    writing: Callable[[Change | None], None] = lambda change: None,
    applied: Callable[[Change], None] = lambda change: None,
) -> Applied:
    """Make the plan's changes, each guarded by the ETag it was planned from (If-Match; If-None-Match: *
    for a create). On a 412 (someone else wrote): with `replan`, read again, re-plan and retry, a bounded
    number of times; without it (a saved plan), stop refused, naming the record set. A stopped run stops
    between two writes. `writing(change)` is told before each write is sent (None once it is answered),
    `applied(change)` after each one made, so a run that stops abruptly still knows what it wrote."""
    dns = session.dns(zone.subscription)
    done: list[Change] = []
    for attempt in range(MAX_CONFLICT_RETRIES + 1):
        try:
            for change in plan.writes:
                session.checkpoint()
                writing(change)
                if change.action is Action.DELETE:
                    assert change.expected_etag is not None, "a delete is planned from a read set"
                    dns.delete(
                        zone,
                        change.record_set.name,
                        change.record_set.type,
                        expected_etag=change.expected_etag,
                    )
                    say(f"deleted {change.record_set.type:<5} {change.record_set.name}")
                else:
                    assert change.after is not None
                    dns.write(zone, change.after, expected_etag=change.expected_etag)
                    say(f"wrote  {change.after.type:<5} {change.after.name}")
                writing(None)
                done.append(change)
                applied(change)
            return Applied(plan, tuple(done))
        except ConflictError as err:
            writing(None)
            if replan is None:
                rs = change.record_set
                refused = RefusedError(
                    f"record set {rs.type} '{rs.name}' in zone {zone.name} changed since the plan was made "
                    f"(its ETag is no longer {change.expected_etag or 'absent'}); nothing more was written",
                    "make a new plan (acs-dns plan --out FILE), review it, and apply that",
                )
                return Applied(plan, tuple(done), Outcome.failed(refused))
            if attempt == MAX_CONFLICT_RETRIES:
                return Applied(plan, tuple(done), Outcome.failed(err))
            say("a record set changed under us (HTTP 412): re-reading and merging again")
            again = replan()
            if isinstance(again, Outcome):
                return Applied(plan, tuple(done), again)
            plan = again
        except AcsDnsError as err:
            writing(None)
            return Applied(plan, tuple(done), Outcome.failed(err))
    raise AssertionError("unreachable")  # pragma: no cover


# ---- check what DNS serves -----------------------------------------------------------------------------
def expected_records(desired: list[DesiredRecord], zone: Zone, plan: Plan) -> list[ExpectedRecord]:
    """What the zone's name servers must answer: every record this domain needs, as DNS shows it."""
    out = []
    for record in desired:
        fqdn = zone.name if record.name == "@" else f"{record.name}.{zone.name}"
        value = record.value
        if record.kind is VerificationKind.SPF:
            # the merged SPF is what gets published; look for it, not the API's bare value
            change = next((c for c in plan.changes if c.key[0].lower() == record.name.lower()), None)
            spf = [t for t in (change.after_values if change else ()) if is_spf(t)]
            value = spf[0] if spf else value
        out.append(ExpectedRecord(fqdn, record.type, value))
    return out


@dataclass(frozen=True)
class Served:
    """The zone is delegated and every name server serves every expected record."""

    delegation: DelegationStatus
    expected: tuple[ExpectedRecord, ...]


@returns_outcome
def check_served(
    session: Session,
    zone: Zone,
    expected: list[ExpectedRecord],
    *,
    propagation_timeout: float,
    deadline: float,
    interval: float,
    say: Say = _silent,
) -> Served:
    """Check the delegation (a zone created moments ago gets a short, bounded while to show up), then wait
    until each of the zone's name servers serves every record, at most `propagation_timeout`."""
    checker = session.checker
    say("waiting for the zone's name servers to serve the records")
    settle_until = session.clock() + min(propagation_timeout, DELEGATION_SETTLE_SECONDS)
    delegation = checker.delegation(zone.name, zone.name_servers)
    while not delegation.delegated and session.clock() + interval <= settle_until:
        session.sleep(interval)
        delegation = checker.delegation(zone.name, zone.name_servers)
    if not delegation.delegated and delegation.state is DelegationState.NO_ANSWER:
        raise TimedOutError(
            f"the DNS checks got no answer, so whether zone {zone.name} is delegated is unknown: "
            f"{delegation.detail}",
            "give --dns-server a resolver that answers from here, or leave it out to use the system "
            "resolver; the records are written, so a re-run only checks and verifies",
        )
    if not delegation.delegated:
        raise VerificationFailedError(
            f"zone {zone.name} is not delegated to Azure DNS, so ACS cannot see the records: "
            f"{delegation.detail}",
            "set these name servers at the registrar (or as an NS record set in the parent zone): "
            + ", ".join(zone.name_servers),
        )
    wait = max(0.0, min(propagation_timeout, deadline - session.clock()))
    missing = checker.wait_until_served(
        zone.name_servers, expected, wait, clock=session.clock, sleep=session.sleep, interval=interval
    )
    if missing:
        lines = sorted({f"{rec.type} {rec.fqdn} (not served by {ns})" for ns, rec in missing})
        raise TimedOutError(
            f"after {wait:.0f}s the zone's name servers still do not serve: " + "; ".join(lines),
            "DNS changes can take minutes to propagate; re-run acs-dns later",
        )
    say("records served by every name server of the zone")
    return Served(delegation, tuple(expected))


# ---- verification --------------------------------------------------------------------------------------
States = dict[VerificationKind, v.KindState]


@dataclass(frozen=True)
class Started:
    """The kinds whose verification was started, the states as they now stand, and the Outcome that
    stopped it (None: all started)."""

    started: tuple[VerificationKind, ...]
    states: States = field(default_factory=dict)
    outcome: Outcome | None = None


def start_verification(
    session: Session,
    target: DomainTarget,
    kinds: list[VerificationKind],
    states: States,
    *,
    say: Say = _silent,
    on_started: Callable[[VerificationKind], None] = lambda kind: None,
) -> Started:
    """Start verification of each kind that is not Verified (including kinds that failed before).
    `on_started(kind)` is told as each one is accepted."""
    comm = session.communication(target.subscription)
    states = dict(states)
    started: list[VerificationKind] = []
    try:
        for kind in v.kinds_to_start(kinds, states):
            session.checkpoint()
            comm.start_verification(target.resource_group, target.email_service, target.domain, kind)
            started.append(kind)
            on_started(kind)
            states[kind] = v.KindState("VerificationRequested")
            say(f"started {kind} verification")
    except AcsDnsError as err:
        return Started(tuple(started), states, Outcome.failed(err))
    return Started(tuple(started), states)


def state_lines(kinds: list[VerificationKind], before: States, after: States) -> list[str]:
    """The progress lines for the kinds whose state changed between two reads."""
    lines = []
    for kind in kinds:
        new = after.get(kind, v.NOT_STARTED)
        if new != before.get(kind):
            lines.append(f"{kind}: {new.status}" + (f" ({new.error_code})" if new.error_code else ""))
    return lines


def verification_outcome(
    target: DomainTarget, kinds: list[VerificationKind], states: States
) -> Outcome | None:
    """How verification ended once every kind is terminal (Verified or failed); None while it is not."""
    if not v.all_terminal(kinds, states):
        return None
    failed = v.failed_kinds(kinds, states)
    if failed:
        detail = ", ".join(f"{k} ({states[k].error_code or 'no error code'})" for k in failed)
        return Outcome.failed(
            VerificationFailedError(
                f"verification failed for {target.domain}: {detail}",
                "the records are served as ACS asked; re-run acs-dns to start verification again",
            )
        )
    return Outcome.done(Result.VERIFIED, "every type Verified")


def verification_timed_out(target: DomainTarget, kinds: list[VerificationKind], states: States) -> Outcome:
    """The Outcome of a domain whose next status poll would come after the run's deadline."""
    waiting = [k for k in kinds if not states.get(k, v.NOT_STARTED).terminal]
    return Outcome.failed(
        TimedOutError(
            f"verification of {target.domain} not finished within --timeout: still waiting for "
            + ", ".join(f"{k} ({states.get(k, v.NOT_STARTED).status})" for k in waiting),
            "re-run acs-dns later (it starts nothing twice), or raise --timeout",
        )
    )
