"""What a run shares between its domains: the ports per subscription, the DNS checker, the clock, the
Ctrl-C flag, and listings read once and reused by every domain (one domain listing per email service,
one zone listing per subscription, one record-set listing per zone holding several domains)."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from provisioner.config import DomainTarget
from provisioner.errors import InterruptedRunError
from provisioner.model import Zone
from provisioner.names import is_in_zone
from provisioner.ports import DnsZones, EmailService, RecordSets

if TYPE_CHECKING:
    from provisioner.azure.communication import EmailDomain
    from provisioner.dnscheck import DnsChecker
    from provisioner.dnsdata import DnsReader

Progress = Callable[[DomainTarget, str], None]


def _quiet(target: DomainTarget, line: str) -> None:
    pass


class Session:
    """Shared per run: ports per subscription, and listings read once and reused by every domain."""

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
        self.progress = progress
        self._lock = threading.Lock()
        self._zones: dict[str, list[Zone]] = {}
        self._services: Counter[tuple[str, str, str]] = Counter()
        self._domain_lists: dict[tuple[str, str, str], dict[str, EmailDomain]] = {}
        self._targets: list[DomainTarget] = []
        self._record_sets: dict[tuple[str, str, str], RecordSets] = {}
        self._key_locks: dict[object, threading.Lock] = {}
        self._dns_reader = dns_reader

    @property
    def dns_reader(self) -> DnsReader:
        """What check/records/verify read public DNS through: one `DnsLookup` for the whole run (it bounds
        the queries in flight across domains), asking the checker's --dns-server overrides."""
        with self._once("dns_reader"):
            if self._dns_reader is None:
                from provisioner.dnslookup import DnsLookup

                self._dns_reader = DnsLookup(self.checker.servers)
            return self._dns_reader

    def sayer(self, target: DomainTarget) -> Callable[[str], None]:
        """The progress callback of one domain."""
        return lambda line: self.progress(target, line)

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

    def first_read(self, target: DomainTarget) -> EmailDomain:
        """The email domain as first read: from one shared listing when its service serves several targets.
        Raises `EmailDomainNotFoundError` when it does not exist."""
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

    def first_record_sets(self, zone: Zone, names: set[str]) -> RecordSets:
        """The record sets at `names`: from one shared listing of the zone when several domains live in it."""
        key = (zone.subscription, zone.resource_group.lower(), zone.name)
        dns = self.dns(zone.subscription)
        users = sum(
            1
            for t in self._targets
            if t.subscription == zone.subscription and is_in_zone(t.domain, zone.name)
        )
        if users < 2:
            return dns.list_record_sets(zone, names)
        with self._once(("records", key)):
            if key not in self._record_sets:
                self._record_sets[key] = dns.list_record_sets(zone, None)
        wanted = {n.lower() for n in names}
        return {k: rs for k, rs in self._record_sets[key].items() if k[0] in wanted}
