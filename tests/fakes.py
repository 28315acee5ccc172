"""In-memory implementations of the core's ports (`provisioner.ports`), for fast unit tests of the steps
and commands. They keep the semantics the core relies on: ETags that change on every write, If-Match /
If-None-Match: * preconditions failing with ConflictError (HTTP 412), idempotent deletes, and
NotFoundError / EmailDomainNotFoundError for missing things. Wire behaviour is tested against the sandbox.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace

from provisioner.azure.communication import EmailDomain
from provisioner.config import DomainTarget
from provisioner.dnscheck import DelegationStatus, ExpectedRecord
from provisioner.errors import ConflictError, NotFoundError, RefusedError
from provisioner.model import (
    CommunicationResource,
    RecordSet,
    RecordType,
    Sender,
    VerificationKind,
    VerificationRecord,
    Zone,
    same_location,
)
from provisioner.ports import EmailDomainNotFoundError, RecordSets
from provisioner.session import Session
from provisioner.verification import KindState

_etags = itertools.count(1)


def _new_etag() -> str:
    return f"etag-{next(_etags)}"


@dataclass
class FakeDnsZones:
    """`ports.DnsZones` over dicts. `calls` counts each method call (a stand-in for ARM requests);
    `before_write` runs before each write or delete (to simulate a concurrent writer)."""

    subscription: str = "00000000-0000-0000-0000-000000000001"
    zones: dict[tuple[str, str], Zone] = field(default_factory=dict)  # (rg lower, name) -> zone
    sets: dict[tuple[str, str], RecordSets] = field(default_factory=dict)  # (rg lower, name) -> sets
    calls: list[str] = field(default_factory=list)
    before_write: Callable[[Zone, str, RecordType], None] | None = None

    # ---- seeding (not part of the port) --------------------------------------------------------------
    def add_zone(self, name: str, resource_group: str = "rg-dns", *, private: bool = False) -> Zone:
        zone = Zone(
            name,
            self.subscription,
            resource_group,
            "Private" if private else "Public",
            (f"ns1.{name}.test", f"ns2.{name}.test"),
        )
        self.zones[(resource_group.lower(), name)] = zone
        self.sets[(resource_group.lower(), name)] = {}
        return zone

    def put(self, zone: Zone, record_set: RecordSet) -> RecordSet:
        """Store a set as another writer would (new ETag, no precondition)."""
        stored = replace(record_set, etag=_new_etag())
        self._sets(zone)[(record_set.name.lower(), record_set.type)] = stored
        return stored

    def get(self, zone: Zone, name: str, type_: RecordType) -> RecordSet | None:
        return self._sets(zone).get((name.lower(), type_))

    def _sets(self, zone: Zone) -> RecordSets:
        key = (zone.resource_group.lower(), zone.name)
        if key not in self.sets:
            raise NotFoundError(
                f"DNS zone {zone.name} in resource group {zone.resource_group} does not exist"
            )
        return self.sets[key]

    # ---- the port ------------------------------------------------------------------------------------
    def list_zones(self) -> list[Zone]:
        self.calls.append("list_zones")
        return list(self.zones.values())

    def get_zone(self, resource_group: str, name: str) -> Zone:
        self.calls.append("get_zone")
        zone = self.zones.get((resource_group.lower(), name))
        if zone is None:
            raise NotFoundError(f"DNS zone {name} in resource group {resource_group} does not exist")
        return zone

    def list_record_sets(self, zone: Zone, names: Iterable[str] | None) -> RecordSets:
        self.calls.append("list_record_sets")
        wanted = None if names is None else {n.lower() for n in names}
        return {k: rs for k, rs in self._sets(zone).items() if wanted is None or k[0] in wanted}

    def write(self, zone: Zone, record_set: RecordSet, *, expected_etag: str | None) -> RecordSet:
        self.calls.append("write")
        if self.before_write:
            self.before_write(zone, record_set.name, record_set.type)
        current = self.get(zone, record_set.name, record_set.type)
        what = f"record set {record_set.type} '{record_set.name}' in zone {zone.name}"
        if expected_etag is None and current is not None:
            raise ConflictError(f"{what} was changed by someone else (HTTP 412 PreconditionFailed)")
        if expected_etag is not None and (current is None or current.etag != expected_etag):
            raise ConflictError(f"{what} was changed by someone else (HTTP 412 PreconditionFailed)")
        return self.put(zone, record_set)

    def delete(self, zone: Zone, name: str, type_: RecordType, *, expected_etag: str) -> None:
        self.calls.append("delete")
        if self.before_write:
            self.before_write(zone, name, type_)
        current = self.get(zone, name, type_)
        if current is None:
            return  # already gone: deleted
        if current.etag != expected_etag:
            raise ConflictError(
                f"record set {type_} '{name}' in zone {zone.name} was changed by someone else"
            )
        del self._sets(zone)[(name.lower(), type_)]


def email_domain(
    name: str,
    records: Sequence[VerificationRecord] = (),
    *,
    management: str = "CustomerManaged",
    states: dict[VerificationKind, KindState] | None = None,
    data_location: str = "United States",
) -> EmailDomain:
    return EmailDomain(
        name=name,
        resource_id=f"/fake/domains/{name}",
        domain_management=management,
        records=tuple(records),
        states=dict(states or {}),
        data_location=data_location,
    )


def acs_records(domain: str, token: str = "tok") -> tuple[VerificationRecord, ...]:
    """The records ACS gives a CustomerManaged domain (names as the API gives them)."""
    return (
        VerificationRecord(VerificationKind.DOMAIN, "TXT", domain, f"ms-domain-verification={token}", 3600),
        VerificationRecord(
            VerificationKind.SPF, "TXT", domain, "v=spf1 include:spf.protection.outlook.com -all", 3600
        ),
        VerificationRecord(
            VerificationKind.DKIM,
            "CNAME",
            "selector1-azurecomm-prod-net._domainkey",
            "selector1-azurecomm-prod-net._domainkey.azurecomm.net",
            3600,
        ),
        VerificationRecord(
            VerificationKind.DKIM2,
            "CNAME",
            "selector2-azurecomm-prod-net._domainkey",
            "selector2-azurecomm-prod-net._domainkey.azurecomm.net",
            3600,
        ),
    )


@dataclass
class FakeEmailService:
    """`ports.EmailService` over a dict. `decide(kind)` gives the state a started verification reaches on
    the next read (default Verified)."""

    subscription: str = "00000000-0000-0000-0000-000000000001"
    services: set[tuple[str, str]] = field(default_factory=set)  # (rg lower, service lower)
    domains: dict[tuple[str, str, str], EmailDomain] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    decide: Callable[[VerificationKind], KindState] = lambda kind: KindState("Verified")
    _pending: dict[tuple[str, str, str], set[VerificationKind]] = field(default_factory=dict)
    communication_services: dict[tuple[str, str], CommunicationResource] = field(default_factory=dict)
    senders: dict[tuple[str, str, str], dict[str, Sender]] = field(default_factory=dict)
    after_link: Callable[[], None] | None = None  # runs after each set_linked_domains (a concurrent writer)

    def add(self, resource_group: str, service: str, domain: EmailDomain) -> None:
        self.services.add((resource_group.lower(), service.lower()))
        self.domains[(resource_group.lower(), service.lower(), domain.name)] = domain

    def add_communication_service(
        self, resource_group: str, name: str, data_location: str = "United States", linked: Sequence[str] = ()
    ) -> CommunicationResource:
        found = CommunicationResource(f"/fake/communicationServices/{name}", data_location, tuple(linked))
        self.communication_services[(resource_group.lower(), name.lower())] = found
        return found

    def _key(self, resource_group: str, service: str, domain: str) -> tuple[str, str, str]:
        if (resource_group.lower(), service.lower()) not in self.services:
            raise NotFoundError(f"email service {service} (resource group {resource_group}) does not exist")
        return (resource_group.lower(), service.lower(), domain)

    def _settle(self, key: tuple[str, str, str]) -> None:
        kinds = self._pending.pop(key, set())
        if kinds:
            found = self.domains[key]
            states = dict(found.states) | {k: self.decide(k) for k in kinds}
            self.domains[key] = replace(found, states=states)

    def get_domain(self, resource_group: str, email_service: str, domain: str) -> EmailDomain:
        self.calls.append("get_domain")
        key = self._key(resource_group, email_service, domain)
        if key not in self.domains:
            raise EmailDomainNotFoundError(
                f"email domain {domain} does not exist in email service {email_service}"
            )
        self._settle(key)
        return self.domains[key]

    def list_domains(self, resource_group: str, email_service: str) -> list[EmailDomain]:
        self.calls.append("list_domains")
        self._key(resource_group, email_service, "")
        prefix = (resource_group.lower(), email_service.lower())
        keys = [k for k in self.domains if k[:2] == prefix]
        for key in keys:
            self._settle(key)
        return [self.domains[k] for k in keys]

    def create_domain(self, resource_group: str, email_service: str, domain: str) -> EmailDomain:
        self.calls.append("create_domain")
        key = self._key(resource_group, email_service, domain)
        self.domains[key] = email_domain(domain, acs_records(domain))
        return self.domains[key]

    def start_verification(
        self, resource_group: str, email_service: str, domain: str, kind: VerificationKind
    ) -> None:
        self.calls.append(f"start_verification {kind}")
        key = self._key(resource_group, email_service, domain)
        found = self.domains[key]
        self.domains[key] = replace(found, states=found.states | {kind: KindState("VerificationRequested")})
        self._pending.setdefault(key, set()).add(kind)

    # ---- the lifecycle -------------------------------------------------------------------------------
    def get_communication_service(self, resource_group: str, name: str) -> CommunicationResource:
        self.calls.append("get_communication_service")
        found = self.communication_services.get((resource_group.lower(), name.lower()))
        if found is None:
            raise NotFoundError(f"Communication Services resource {name} does not exist")
        return found

    def set_linked_domains(
        self, resource_group: str, name: str, linked_domains: list[str]
    ) -> CommunicationResource:
        self.calls.append("set_linked_domains")
        current = self.get_communication_service(resource_group, name)
        self.calls.pop()
        by_id = {d.resource_id.lower(): d for d in self.domains.values()}
        for resource_id in linked_domains:
            domain = by_id.get(resource_id.lower())
            if domain is None:
                raise RefusedError(f"Azure refused the change (InvalidLinkedDomain): {resource_id}")
            if not same_location(domain.data_location, current.data_location):
                raise RefusedError("Azure refused the change (DataLocationMismatch)")
            kinds = (
                VerificationKind.DOMAIN,
                VerificationKind.SPF,
                VerificationKind.DKIM,
                VerificationKind.DKIM2,
            )
            if any(domain.states.get(k, KindState("NotStarted")).status != "Verified" for k in kinds):
                raise RefusedError("Azure refused the change (DomainValidationError)")
        stored = replace(current, linked_domains=tuple(linked_domains))
        self.communication_services[(resource_group.lower(), name.lower())] = stored
        if self.after_link:
            self.after_link()
        return stored

    def _senders(self, resource_group: str, email_service: str, domain: str) -> dict[str, Sender]:
        key = self._key(resource_group, email_service, domain)
        if key not in self.domains:
            raise EmailDomainNotFoundError(f"email domain {domain} does not exist")
        return self.senders.setdefault(key, {})

    def list_senders(self, resource_group: str, email_service: str, domain: str) -> list[Sender]:
        self.calls.append("list_senders")
        return list(self._senders(resource_group, email_service, domain).values())

    def put_sender(
        self, resource_group: str, email_service: str, domain: str, username: str, display_name: str
    ) -> Sender:
        self.calls.append("put_sender")
        sender = Sender(username, display_name)
        self._senders(resource_group, email_service, domain)[username.lower()] = sender
        return sender

    def delete_sender(self, resource_group: str, email_service: str, domain: str, username: str) -> None:
        self.calls.append("delete_sender")
        self._senders(resource_group, email_service, domain).pop(username.lower(), None)

    def set_domain_tags(
        self, resource_group: str, email_service: str, domain: str, tags: dict[str, str]
    ) -> EmailDomain:
        self.calls.append("set_domain_tags")
        key = self._key(resource_group, email_service, domain)
        self.domains[key] = replace(self.domains[key], tags=dict(tags))
        return self.domains[key]

    def delete_domain(self, resource_group: str, email_service: str, domain: str) -> None:
        self.calls.append("delete_domain")
        key = self._key(resource_group, email_service, domain)
        found = self.domains.get(key)
        if found is None:
            return
        if any(cs.links(found.resource_id) for cs in self.communication_services.values()):
            raise RefusedError(
                f"Azure refused to delete {domain}: it is linked to a Communication Services resource"
            )
        del self.domains[key]
        self.senders.pop(key, None)


@dataclass
class FakeChecker:
    """Stands in for `DnsChecker`: the zone is delegated unless `delegated` is False, and its name servers
    serve exactly what the fake zones hold."""

    dns: FakeDnsZones
    delegated: bool = True

    def resolve_txt(self, name: str) -> list[str]:
        return []

    def delegation(self, zone: str, name_servers: Sequence[str]) -> DelegationStatus:
        found = tuple(name_servers) if self.delegated else ()
        return DelegationStatus(self.delegated, tuple(name_servers), found, "" if self.delegated else "no NS")

    def _served(self, record: ExpectedRecord) -> bool:
        for zone in self.dns.zones.values():
            suffix = "." + zone.name
            if record.fqdn == zone.name or record.fqdn.endswith(suffix):
                name = "@" if record.fqdn == zone.name else record.fqdn[: -len(suffix)]
                found = self.dns.get(zone, name, record.type)
                if found is None:
                    continue
                if record.type is RecordType.TXT and record.value in {t.text for t in found.txt}:
                    return True
                if record.type is RecordType.CNAME and (found.cname or "").rstrip(".") == record.value.rstrip(
                    "."
                ):
                    return True
        return False

    def wait_until_served(
        self,
        name_servers: Sequence[str],
        expected: Sequence[ExpectedRecord],
        timeout: float,
        *,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
        interval: float = 1.0,
    ) -> list[tuple[str, ExpectedRecord]]:
        return [(ns, r) for ns in name_servers for r in expected if not self._served(r)]


class FakeClock:
    """A clock that only moves when slept on."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class FakeWorld:
    """One subscription's fake Azure: zones, an email service, a DNS checker, and a Session over them."""

    dns: FakeDnsZones = field(default_factory=FakeDnsZones)
    comm: FakeEmailService = field(default_factory=FakeEmailService)
    clock: FakeClock = field(default_factory=FakeClock)
    lines: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.checker = FakeChecker(self.dns)

    def session(self, targets: Sequence[DomainTarget] = ()) -> Session:
        session = Session(
            dns=lambda sub: self.dns,
            communication=lambda sub: self.comm,
            checker=self.checker,  # type: ignore[arg-type]
            clock=self.clock,
            sleep=self.clock.sleep,
            progress=lambda target, line: self.lines.append(line),
        )
        session.prepare(list(targets))
        return session

    def target(self, domain: str, **kwargs: object) -> DomainTarget:
        return DomainTarget(self.dns.subscription, "rg-email", "contoso-email", domain, **kwargs)  # type: ignore[arg-type]
