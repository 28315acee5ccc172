"""read -> plan -> apply (ETag-guarded) -> check DNS -> verify, for one email domain.

The steps are the pure core's (desired records, plan, verification rules); this module only calls
the adapters in order. Clock and sleep are injected so the loop can be driven fast.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from provisioner import verification as v
from provisioner.azure.communication import AzureCommunication, EmailDomain
from provisioner.azure.dns import AzureDns, Zone
from provisioner.config import DomainTarget
from provisioner.desired import DesiredRecord, desired_records
from provisioner.dnscheck import DnsChecker, ExpectedRecord
from provisioner.errors import (
    AcsDnsError,
    ConflictError,
    ExitCode,
    InterruptedRunError,
    NotFoundError,
    RefusedError,
    TimedOutError,
    UsageError,
    VerificationFailedError,
)
from provisioner.model import RecordSet, RecordType, VerificationKind
from provisioner.names import best_zone, is_in_zone
from provisioner.plan import Action, Plan, make_plan
from provisioner.spf import check_lookup_limit, is_spf

MAX_CONFLICT_RETRIES = 5
DELEGATION_SETTLE_SECONDS = 30.0


class Result(StrEnum):
    VERIFIED = "verified"  # every needed type is Verified
    NOTHING_TO_DO = "nothing-to-do"  # AzureManaged: Azure owns the DNS
    UP_TO_DATE = "up-to-date"  # plan: no change and nothing pending
    CHANGES_PENDING = "changes-pending"  # plan: changes to write or verification to start
    STARTED = "started"  # --no-wait: verification started, not awaited
    FAILED = "verification-failed"
    TIMED_OUT = "timed-out"
    REFUSED = "refused"
    ERROR = "error"
    INTERRUPTED = "interrupted"


@dataclass(frozen=True)
class RunOptions:
    dry_run: bool = False
    wait: bool = True
    timeout: float = 1800.0  # whole run, seconds
    propagation_timeout: float = 600.0  # bound on waiting for the zone's name servers to serve the records
    poll_first: float = 5.0  # first verification status poll delay; grows to poll_max
    poll_max: float = 30.0
    dns_interval: float = 2.0


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
    notes: list[str] = field(default_factory=list)
    error: BaseException | None = None  # the failure, for --debug


Progress = Callable[[DomainTarget, str], None]


def _quiet(target: DomainTarget, line: str) -> None:
    pass


class Session:
    """Shared per run: adapters per subscription, and listings read once and reused by every domain."""

    def __init__(
        self,
        dns: Callable[[str], AzureDns],
        communication: Callable[[str], AzureCommunication],
        checker: DnsChecker,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        progress: Progress = _quiet,
    ) -> None:
        self.dns = dns
        self.communication = communication
        self.checker = checker
        self.clock = clock
        self._sleep = sleep
        self.stopped = threading.Event()
        self.progress = progress
        self._lock = threading.Lock()
        self._zones: dict[str, list[Zone]] = {}
        self._services: Counter[tuple[str, str, str]] = Counter()
        self._domain_lists: dict[tuple[str, str, str], dict[str, EmailDomain]] = {}
        self._targets: list[DomainTarget] = []
        self._record_sets: dict[tuple[str, str, str], dict[tuple[str, RecordType], RecordSet]] = {}
        self._key_locks: dict[object, threading.Lock] = {}

    def sleep(self, seconds: float) -> None:
        """Wait, unless the run is being stopped (Ctrl-C): then stop this domain between steps."""
        self._raise_if_stopped()
        self._sleep(seconds)
        self._raise_if_stopped()

    def _raise_if_stopped(self) -> None:
        if self.stopped.is_set():
            raise InterruptedRunError("interrupted (Ctrl-C) before finishing", "re-run acs-dns to finish")

    def prepare(self, targets: Sequence[DomainTarget]) -> None:
        """Note which email services serve several targets, so their domains are listed once."""
        self._services.update(
            (t.subscription, t.resource_group.lower(), t.email_service.lower()) for t in targets
        )
        self._targets = list(targets)

    def _once(self, key: object) -> threading.Lock:
        with self._lock:
            return self._key_locks.setdefault(key, threading.Lock())

    def zones(self, subscription: str) -> list[Zone]:
        with self._once(("zones", subscription)):
            if subscription not in self._zones:
                self._zones[subscription] = self.dns(subscription).list_zones()
            return self._zones[subscription]

    def first_read(self, target: DomainTarget) -> EmailDomain | None:
        """The email domain as first read: from one shared listing when its service serves several targets."""
        comm = self.communication(target.subscription)
        key = (target.subscription, target.resource_group.lower(), target.email_service.lower())
        if self._services[key] < 2:
            return comm.get_domain(target.resource_group, target.email_service, target.domain)
        with self._once(("domains", key)):
            if key not in self._domain_lists:
                listed = comm.list_domains(target.resource_group, target.email_service)
                self._domain_lists[key] = {d.name: d for d in listed}
        found = self._domain_lists[key].get(target.domain)
        return (
            found
            if found is not None
            else comm.get_domain(target.resource_group, target.email_service, target.domain)
        )

    def first_record_sets(self, zone: Zone, names: set[str]) -> dict[tuple[str, RecordType], RecordSet]:
        """The record sets at `names`: from one shared listing of the zone when several domains live in it."""
        key = (zone.subscription, zone.resource_group.lower(), zone.name)
        dns = self.dns(zone.subscription)
        users = sum(
            1
            for t in self._targets
            if t.subscription == zone.subscription and is_in_zone(t.domain, zone.name)
        )
        if users < 2:
            return dns.read_record_sets(zone, names)
        with self._once(("records", key)):
            if key not in self._record_sets:
                self._record_sets[key] = dns.read_record_sets(zone, None)
        wanted = {n.lower() for n in names}
        return {k: rs for k, rs in self._record_sets[key].items() if k[0] in wanted}


def find_zone(session: Session, target: DomainTarget) -> Zone:
    """The zone given, or the public zone in the subscription with the longest suffix match."""
    dns = session.dns(target.subscription)
    if target.zone and target.zone_resource_group:
        zone = dns.get_zone(target.zone_resource_group, target.zone)
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


def _expected(desired: list[DesiredRecord], zone: Zone, plan: Plan) -> list[ExpectedRecord]:
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


def _spf_lookups_ok(session: Session, plan: Plan) -> None:
    for change in plan.writes:
        if change.after.type is RecordType.TXT:
            for text in change.after_values:
                if is_spf(text) and text not in change.before_values:
                    check_lookup_limit(text, session.checker.resolve_txt)


class DomainRun:
    """One domain's reconciliation. `run()` never raises an expected error: it fills the report."""

    def __init__(self, session: Session, target: DomainTarget, options: RunOptions, deadline: float) -> None:
        self.s = session
        self.t = target
        self.o = options
        self.deadline = deadline
        self.report = DomainReport(target)
        self.dns = session.dns(target.subscription)
        self.comm = session.communication(target.subscription)

    def say(self, line: str) -> None:
        self.s.progress(self.t, line)

    def run(self) -> DomainReport:
        try:
            self._run()
        except AcsDnsError as err:
            self._fail(err)
        return self.report

    def _fail(self, err: AcsDnsError) -> None:
        r = self.report
        r.exit_code = err.exit_code
        r.message, r.hint, r.error = err.message, err.hint, err
        r.result = {
            ExitCode.REFUSED: Result.REFUSED,
            ExitCode.VERIFICATION_FAILED: Result.FAILED,
            ExitCode.TIMED_OUT: Result.TIMED_OUT,
            ExitCode.INTERRUPTED: Result.INTERRUPTED,
        }.get(err.exit_code, Result.ERROR)
        self.say(f"{r.result}: {err.message}")

    def _done(self, result: Result, message: str, code: ExitCode = ExitCode.OK) -> None:
        self.report.result, self.report.message, self.report.exit_code = result, message, code
        self.say(message)

    # ---- steps ---------------------------------------------------------------------------------
    def _read_domain(self) -> EmailDomain | None:
        t = self.t
        domain = self.s.first_read(t)
        if domain is not None:
            return domain
        if not t.create_domain:
            raise NotFoundError(
                f"email domain {t.domain} does not exist in email service {t.email_service}",
                "add it in the portal, or pass --create-domain (config: create_domain = true)",
            )
        if self.o.dry_run:
            return None
        self.say(f"creating email domain {t.domain} (CustomerManaged)")
        return self.comm.create_domain(t.resource_group, t.email_service, t.domain)

    def _run(self) -> None:
        t, r = self.t, self.report
        domain = self._read_domain()
        if domain is None:
            self._done(
                Result.CHANGES_PENDING,
                f"email domain {t.domain} would be created; its records are known once it exists",
                ExitCode.CHANGES_PENDING,
            )
            return
        if domain.domain_management == "AzureManaged":
            self._done(Result.NOTHING_TO_DO, f"{t.domain} is an Azure managed domain: Azure owns its DNS")
            return
        if domain.domain_management == "CustomerManagedInExchangeOnline":
            raise RefusedError(
                f"{t.domain} is managed in Exchange Online: its DNS records are set up and verified there",
                "verify the domain in Exchange Online; acs-dns provisions CustomerManaged domains only",
            )
        r.states = dict(domain.states)
        r.zone = zone = find_zone(self.s, t)
        desired = desired_records(t.domain, zone.name, domain.records)
        r.kinds = [d.kind for d in desired]
        self.say(f"zone {zone.name} (resource group {zone.resource_group})")
        plan = self._plan(zone, desired, first=True)
        if self.o.dry_run:
            pending = plan.has_changes or not v.all_verified(r.kinds, r.states)
            self._done(
                Result.CHANGES_PENDING if pending else Result.UP_TO_DATE,
                f"{len(plan.writes)} change(s) to write; verification "
                + ("complete" if v.all_verified(r.kinds, r.states) else "pending"),
                ExitCode.CHANGES_PENDING if pending else ExitCode.OK,
            )
            return
        plan = self._apply(zone, desired, plan)
        if v.all_verified(r.kinds, r.states) and not plan.has_changes:
            self._done(Result.VERIFIED, "records in place, every type Verified")
            return
        self._check_dns(zone, desired, plan)
        self._verify()

    def _plan(self, zone: Zone, desired: list[DesiredRecord], first: bool = False) -> Plan:
        names = {d.name for d in desired}
        current = self.s.first_record_sets(zone, names) if first else self.dns.read_record_sets(zone, names)
        plan = make_plan(
            self.t.domain,
            zone.name,
            desired,
            current,
            allow_hardfail_change=self.t.spf_hardfail,
            takeover=self.t.takeover,
        )
        _spf_lookups_ok(self.s, plan)
        self.report.plan = plan
        for change in plan.changes:
            note = f" ({'; '.join(change.notes)})" if change.notes else ""
            self.say(f"{change.action:<6} {change.after.type:<5} {change.after.name}{note}")
        return plan

    def _apply(self, zone: Zone, desired: list[DesiredRecord], plan: Plan) -> Plan:
        """Write the plan; on a 412 (someone else wrote) re-read, re-plan and retry, a bounded number
        of times."""
        for attempt in range(MAX_CONFLICT_RETRIES + 1):
            try:
                for change in plan.writes:
                    etag = change.before.etag if change.action is Action.UPDATE and change.before else None
                    self.dns.write(zone, change.after, expected_etag=etag)
                    self.report.written.append(f"{change.after.type} {change.after.name}")
                    self.say(f"wrote  {change.after.type:<5} {change.after.name}")
                return plan
            except ConflictError:
                if attempt == MAX_CONFLICT_RETRIES:
                    raise
                self.say("a record set changed under us (HTTP 412): re-reading and merging again")
                plan = self._plan(zone, desired)
        return plan  # pragma: no cover

    def _check_dns(self, zone: Zone, desired: list[DesiredRecord], plan: Plan) -> None:
        checker = self.s.checker
        # A zone created moments ago may not be served yet: look again for a short, bounded while.
        settle_until = self.s.clock() + min(self.o.propagation_timeout, DELEGATION_SETTLE_SECONDS)
        delegation = checker.delegation(zone.name, zone.name_servers)
        while not delegation.delegated and self.s.clock() + self.o.dns_interval <= settle_until:
            self.s.sleep(self.o.dns_interval)
            delegation = checker.delegation(zone.name, zone.name_servers)
        if not delegation.delegated:
            raise VerificationFailedError(
                f"zone {zone.name} is not delegated to Azure DNS, so ACS cannot see the records: "
                f"{delegation.detail}",
                "set these name servers at the registrar (or as an NS record set in the parent zone): "
                + ", ".join(zone.name_servers),
            )
        expected = _expected(desired, zone, plan)
        wait = max(0.0, min(self.o.propagation_timeout, self.deadline - self.s.clock()))
        missing = checker.wait_until_served(
            zone.name_servers,
            expected,
            wait,
            clock=self.s.clock,
            sleep=self.s.sleep,
            interval=self.o.dns_interval,
        )
        if missing:
            lines = sorted({f"{rec.type} {rec.fqdn} (not served by {ns})" for ns, rec in missing})
            raise TimedOutError(
                f"after {wait:.0f}s the zone's name servers still do not serve: " + "; ".join(lines),
                "DNS changes can take minutes to propagate; re-run acs-dns later",
            )
        self.say("records served by every name server of the zone")

    def _verify(self) -> None:
        t, r = self.t, self.report
        for kind in v.kinds_to_start(r.kinds, r.states):
            self.comm.start_verification(t.resource_group, t.email_service, t.domain, kind)
            r.started.append(kind)
            r.states[kind] = v.KindState("VerificationRequested")
            self.say(f"started {kind} verification")
        if not self.o.wait:
            self._done(Result.STARTED, f"verification started for {', '.join(r.started) or 'nothing'}")
            return
        delay = 0.0
        while True:
            states = self.comm.get_domain(t.resource_group, t.email_service, t.domain)
            if states is None:
                raise NotFoundError(f"email domain {t.domain} disappeared while verifying")
            for kind in r.kinds:
                new = states.states.get(kind, v.NOT_STARTED)
                if new != r.states.get(kind):
                    self.say(f"{kind}: {new.status}" + (f" ({new.error_code})" if new.error_code else ""))
            r.states = dict(states.states)
            if v.all_terminal(r.kinds, r.states):
                break
            delay = v.next_poll_delay(delay, first=self.o.poll_first, maximum=self.o.poll_max)
            if self.s.clock() + delay > self.deadline:
                waiting = [k for k in r.kinds if not r.states.get(k, v.NOT_STARTED).terminal]
                raise TimedOutError(
                    f"verification of {t.domain} not finished within --timeout: still waiting for "
                    + ", ".join(f"{k} ({r.states.get(k, v.NOT_STARTED).status})" for k in waiting),
                    "re-run acs-dns later (it starts nothing twice), or raise --timeout",
                )
            self.s.sleep(delay)
        failed = v.failed_kinds(r.kinds, r.states)
        if failed:
            detail = ", ".join(f"{k} ({r.states[k].error_code or 'no error code'})" for k in failed)
            raise VerificationFailedError(
                f"verification failed for {t.domain}: {detail}",
                "the records are served as ACS asked; re-run acs-dns to start verification again",
            )
        self._done(Result.VERIFIED, "every type Verified")


def run_domain(session: Session, target: DomainTarget, options: RunOptions, deadline: float) -> DomainReport:
    return DomainRun(session, target, options, deadline).run()


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
]


def worst(codes: list[ExitCode]) -> ExitCode:
    """The run's exit code: the most severe of the domains' (any failure outranks 'changes pending')."""
    return max(codes, key=SEVERITY.index, default=ExitCode.OK)


__all__ = [
    "DomainReport",
    "Result",
    "RunOptions",
    "Session",
    "find_zone",
    "run_domain",
    "worst",
]
