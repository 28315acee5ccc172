"""What a run shares between its domains: the ports per subscription, the DNS checker, the clock, the
stop flag (Ctrl-C, SIGTERM), every domain's report as it is being made, the verification pollers, and
what the run has read once and reuses (one domain listing per email service, one zone listing per
subscription, one GET per named zone, one record-set listing per zone holding several domains)."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from provisioner.config import DomainTarget
from provisioner.errors import AcsDnsError, InterruptedRunError
from provisioner.model import Zone
from provisioner.ports import DnsZones, EmailService, RecordSets
from provisioner.report import DomainReport

if TYPE_CHECKING:
    from provisioner.azure.communication import EmailDomain
    from provisioner.dnscheck import DnsChecker
    from provisioner.dnsdata import DnsReader
    from provisioner.verifying import VerificationPollers

Progress = Callable[[DomainTarget, str], None]
ServiceKey = tuple[str, str, str]  # (subscription, resource group lower, email service lower)


def _quiet(target: DomainTarget, line: str) -> None:
    pass


def service_key(target: DomainTarget) -> ServiceKey:
    return (target.subscription, target.resource_group.lower(), target.email_service.lower())


def _suffixes(domain: str) -> list[str]:
    """mail.contoso.com -> mail.contoso.com, contoso.com, com: every zone name that can hold it."""
    labels = domain.split(".")
    return [".".join(labels[i:]) for i in range(len(labels))]


class Session:
    """Shared per run: ports per subscription, and what was read once, reused by every domain."""

    def __init__(
        self,
        dns: Callable[[str], DnsZones],
        communication: Callable[[str], EmailService],
        checker: DnsChecker,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        progress: Progress = _quiet,
        dns_reader: DnsReader | None = None,
    ) -> None:
        self.dns = dns
        self.communication = communication
        self.checker = checker
        self.clock = clock
        self._sleep = sleep
        self.stopped = threading.Event()
        self._stop_error: AcsDnsError = InterruptedRunError(
            "interrupted (Ctrl-C) before finishing", "re-run acs-dns to finish"
        )
        self.progress = progress
        self._lock = threading.Lock()
        self._zones: dict[str, list[Zone]] = {}
        self._named_zones: dict[tuple[str, str, str], Zone] = {}
        self._services: Counter[ServiceKey] = Counter()
        self._zone_users: Counter[tuple[str, str]] = Counter()
        self._domain_lists: dict[ServiceKey, dict[str, EmailDomain]] = {}
        self._domain_counts: dict[ServiceKey, int] = {}
        self._record_sets: dict[tuple[str, str, str], dict[str, RecordSets]] = {}  # zone -> name -> sets
        self._key_locks: dict[object, threading.Lock] = {}
        self._dns_reader = dns_reader
        self._reports: dict[DomainTarget, DomainReport] = {}
        self._pollers: VerificationPollers | None = None

    @property
    def dns_reader(self) -> DnsReader:
        """What check/records/verify read public DNS through: one `DnsLookup` for the whole run (it bounds
        the queries in flight across domains), asking the checker's --dns-server overrides."""
        with self._once("dns_reader"):
            if self._dns_reader is None:
                from provisioner.dnslookup import DnsLookup

                self._dns_reader = DnsLookup(self.checker.servers, timeout=self.checker.timeout)
            return self._dns_reader

    # ---- progress, reports -----------------------------------------------------------------------------
    def sayer(self, target: DomainTarget) -> Callable[[str], None]:
        """The progress callback of one domain."""
        return lambda line: self.progress(target, line)

    def report(self, target: DomainTarget) -> DomainReport:
        """A new report for `target`, kept by the session as it fills: however the run stops, what the
        domain wrote so far can be reported (`live`)."""
        report = DomainReport(target)
        with self._lock:
            self._reports[target] = report
        return report

    def live(self, target: DomainTarget) -> DomainReport | None:
        """The report of `target` as it stands (None: the domain has not started)."""
        with self._lock:
            return self._reports.get(target)

    # ---- time, stopping --------------------------------------------------------------------------------
    def sleep(self, seconds: float) -> None:
        """Wait, unless the run is being stopped: then stop this domain between steps."""
        self.checkpoint()
        self._sleep(seconds)
        self.checkpoint()

    def doze(self, seconds: float, wake: threading.Condition) -> None:
        """Wait on `wake` (held by the caller) for at most `seconds`. A real clock is woken early by a
        notify; an injected sleep (tests) is called as it is, so fake clocks move at once."""
        if self._sleep is time.sleep:
            wake.wait(seconds)
        else:
            self._sleep(seconds)

    def checkpoint(self) -> None:
        """Raise the stop error (InterruptedRunError, or the run's TimedOutError) when the run is stopping."""
        if self.stopped.is_set():
            raise self._stop_error

    def stop(self, error: AcsDnsError | None = None) -> None:
        """Stop the run: every domain ends at its next step or wait, reporting `error` (default: Ctrl-C)."""
        if error is not None:
            self._stop_error = error
        self.stopped.set()
        if self._pollers is not None:
            self._pollers.wake()

    @property
    def stop_error(self) -> AcsDnsError:
        return self._stop_error

    @property
    def has_pollers(self) -> bool:
        return self._pollers is not None

    @property
    def pollers(self) -> VerificationPollers:
        """The run's verification pollers (one per email service with domains waiting)."""
        from provisioner.verifying import VerificationPollers

        with self._lock:
            if self._pollers is None:
                self._pollers = VerificationPollers(self)
            return self._pollers

    # ---- what the run reads once ----------------------------------------------------------------------
    def prepare(self, targets: Sequence[DomainTarget]) -> None:
        """Note which email services and zone names serve several targets, so their listings are shared."""
        self._services.update(service_key(t) for t in targets)
        self._zone_users.update((t.subscription, s) for t in targets for s in _suffixes(t.domain))

    def _once(self, key: object) -> threading.Lock:
        with self._lock:
            return self._key_locks.setdefault(key, threading.Lock())

    def zones(self, subscription: str) -> list[Zone]:
        """Every zone of the subscription, listed once per run."""
        with self._once(("zones", subscription)):
            if subscription not in self._zones:
                self._zones[subscription] = self.dns(subscription).list_zones()
            return self._zones[subscription]

    def zone(self, subscription: str, resource_group: str, name: str) -> Zone:
        """A named zone, read once per run (from the subscription's listing when the run already holds it,
        else one GET shared by every domain naming it). Raises NotFoundError."""
        key = (subscription, resource_group.lower(), name)
        with self._once(("zone", key)):
            if key not in self._named_zones:
                listed = self._zones.get(subscription)
                found = [
                    z
                    for z in listed or ()
                    if z.name == name and z.resource_group.lower() == resource_group.lower()
                ]
                zone = found[0] if found else self.dns(subscription).get_zone(resource_group, name)
                self._named_zones[key] = zone
            return self._named_zones[key]

    def known_domain_count(self, key: ServiceKey) -> int | None:
        """How many domains the email service held when the run last listed it (None: not listed)."""
        return self._domain_counts.get(key)

    def note_domain_count(self, key: ServiceKey, count: int) -> None:
        self._domain_counts[key] = count

    def first_read(self, target: DomainTarget) -> EmailDomain:
        """The email domain as first read: from one shared listing when its service serves several targets.
        Raises `EmailDomainNotFoundError` when it does not exist."""
        comm = self.communication(target.subscription)
        key = service_key(target)
        if self._services[key] < 2:
            return comm.get_domain(target.resource_group, target.email_service, target.domain)
        with self._once(("domains", key)):
            if key not in self._domain_lists:
                self.progress(target, f"listing the domains of email service {target.email_service}")
                listed = comm.list_domains(target.resource_group, target.email_service)
                self._domain_lists[key] = {d.name: d for d in listed}
                self._domain_counts[key] = len(listed)
        found = self._domain_lists[key].get(target.domain)
        return (
            found
            if found is not None
            else comm.get_domain(target.resource_group, target.email_service, target.domain)
        )

    def first_record_sets(self, zone: Zone, names: set[str]) -> RecordSets:
        """The record sets at `names`: from one shared listing of the zone when several domains live in it."""
        if self._zone_users[(zone.subscription, zone.name)] < 2:
            return self.dns(zone.subscription).list_record_sets(zone, names)
        held = self._held_record_sets(zone)
        return {k: rs for n in {n.lower() for n in names} for k, rs in held.get(n, {}).items()}

    def zone_record_sets(self, zone: Zone) -> RecordSets:
        """Every record set of the zone: one listing shared by the run's domains in it."""
        if self._zone_users[(zone.subscription, zone.name)] < 2:
            return self.dns(zone.subscription).list_record_sets(zone, None)
        return {k: rs for by_name in self._held_record_sets(zone).values() for k, rs in by_name.items()}

    def _held_record_sets(self, zone: Zone) -> dict[str, RecordSets]:
        """The zone's record sets by lower-case name, listed once per run (the first domain to ask lists)."""
        key = (zone.subscription, zone.resource_group.lower(), zone.name)
        with self._once(("records", key)):
            if key not in self._record_sets:
                by_name: dict[str, RecordSets] = {}
                for k, rs in self.dns(zone.subscription).list_record_sets(zone, None).items():
                    by_name.setdefault(k[0], {})[k] = rs
                self._record_sets[key] = by_name
        return self._record_sets[key]
