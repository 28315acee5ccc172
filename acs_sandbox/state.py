"""The sandbox's in-memory Azure: zones with record sets, email services, domains, communication services.

All mutation of DNS data goes through `SandboxState` methods, which keep a journal of published zone
snapshots so the DNS server can serve the state as it was `propagation_delay` seconds ago. Record-set
objects are never mutated in place: a write replaces them, so a snapshot is a cheap shallow copy.
"""

from __future__ import annotations

import base64
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

ZoneKey = tuple[str, str, str]  # (subscription, resource group, zone name), all lower-case
EXTERNAL = ""  # the subscription and resource group of zones hosted outside Azure DNS (served, not in ARM)


def new_etag() -> str:
    return str(uuid.uuid4())


@dataclass(frozen=True)
class RecordSetState:
    """One record set. `properties` is the wire `properties` object minus read-only fields."""

    name: str  # relative name as first written ("@" for the apex); matched case-insensitively
    type: str  # upper-case record type
    properties: dict[str, Any]
    etag: str


@dataclass
class ZoneState:
    subscription: str
    resource_group: str
    name: str  # lower-case, no trailing dot
    location: str = "global"
    tags: dict[str, str] = field(default_factory=dict)
    etag: str = field(default_factory=new_etag)
    zone_type: str = "Public"
    name_servers: list[str] = field(default_factory=list)
    record_sets: dict[tuple[str, str], RecordSetState] = field(default_factory=dict)
    max_record_sets: int = 10000
    registration_virtual_networks: list[dict[str, str]] = field(default_factory=list)
    resolution_virtual_networks: list[dict[str, str]] = field(default_factory=list)
    # Sandbox-only: is a top-level zone delegated from its registrar? (child zones follow their parent's NS)
    delegated: bool = True

    @property
    def key(self) -> ZoneKey:
        return (self.subscription.lower(), self.resource_group.lower(), self.name)


@dataclass(frozen=True)
class ZoneSnapshot:
    """What the DNS server serves for one zone at one moment."""

    name: str
    zone_type: str
    name_servers: tuple[str, ...]
    delegated: bool
    record_sets: dict[tuple[str, str], RecordSetState]
    external: bool = False  # hosted outside Azure DNS (sandbox-only), not in ARM


@dataclass
class EmailServiceState:
    subscription: str
    resource_group: str
    name: str
    location: str = "global"
    data_location: str = "United States"
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class EmailDomainState:
    subscription: str
    resource_group: str
    email_service: str
    name: str  # the domain name as created (lower-case)
    domain_management: str = "CustomerManaged"
    location: str = "global"
    data_location: str = "unitedstates"
    tags: dict[str, str] = field(default_factory=dict)
    user_engagement_tracking: str = "Disabled"
    verification_token: str = field(default_factory=lambda: str(uuid.uuid4()))
    # kind ("Domain", "SPF", ...) -> {"status": ..., "errorCode"?: ...}
    verification_states: dict[str, dict[str, str]] = field(default_factory=dict)
    created_at: float = field(default_factory=time.time)
    # Sandbox-only: also list a DMARC entry in verificationRecords (set through the admin API)
    dmarc_record: bool = False
    # username (lower-case) -> sender username; suppression list name (lower-case) -> list
    # (every domain starts with the sender DoNotReply: see senders.py)
    sender_usernames: dict[str, SenderUsernameState] = field(default_factory=lambda: _default_senders())
    suppression_lists: dict[str, SuppressionListState] = field(default_factory=dict)


@dataclass
class CommunicationServiceState:
    subscription: str
    resource_group: str
    name: str
    location: str = "global"
    data_location: str = "United States"
    linked_domains: list[str] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)
    # the wire `identity` object (type, principalId, tenantId, userAssignedIdentities), None = no identity
    identity: dict[str, Any] | None = None
    disable_local_auth: bool | None = None
    public_network_access: str | None = None
    primary_key: str = field(default_factory=lambda: new_access_key())
    secondary_key: str = field(default_factory=lambda: new_access_key())
    notification_hub_id: str | None = None
    # SMTP username resource name (lower-case) -> SMTP username
    smtp_usernames: dict[str, SmtpUsernameState] = field(default_factory=dict)


@dataclass
class SenderUsernameState:
    name: str  # the resource name (path segment)
    username: str
    display_name: str = ""


@dataclass
class SuppressionAddressState:
    name: str  # the address id (path segment)
    email: str
    first_name: str | None = None
    last_name: str | None = None
    notes: str | None = None
    last_modified: str = ""


@dataclass
class SuppressionListState:
    name: str
    list_name: str | None = None
    created: str = ""
    updated: str = ""
    addresses: dict[str, SuppressionAddressState] = field(default_factory=dict)  # lower-case id -> address


def _default_senders() -> dict[str, SenderUsernameState]:
    return {
        "donotreply": SenderUsernameState(name="DoNotReply", username="DoNotReply", display_name="DoNotReply")
    }


def new_access_key() -> str:
    """An access key shaped like the real ones: 64 random bytes, base64 (88 characters)."""
    return base64.b64encode(secrets.token_bytes(64)).decode()


@dataclass
class SmtpUsernameState:
    name: str
    username: str
    entra_application_id: str
    tenant_id: str


def _k(*parts: str) -> tuple[str, ...]:
    return tuple(p.lower() for p in parts)


class SandboxState:
    """Thread-safe store. Hold `lock` while reading or changing anything."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.zones: dict[ZoneKey, ZoneState] = {}
        self.email_services: dict[tuple[str, ...], EmailServiceState] = {}
        self.email_domains: dict[tuple[str, ...], EmailDomainState] = {}
        self.communication_services: dict[tuple[str, ...], CommunicationServiceState] = {}
        # journal of (monotonic time, zone key, snapshot or None when deleted), oldest first
        self._journal: list[tuple[float, ZoneKey, ZoneSnapshot | None]] = []
        # (journal, its length, the view) of the last read that saw every entry
        self._latest_view: tuple[list, int, list[ZoneSnapshot]] | None = None
        self.clock = time.monotonic
        # The longest delay any reader passes to dns_view (the Sandbox sets it). When set, every 256th
        # publish folds older journal entries, so many writes without DNS queries stay cheap and small.
        self.journal_horizon: float | None = None
        self._publishes = 0
        # Sandbox-only: zones hosted outside Azure DNS ("at a registrar"), by name. Served by the DNS server,
        # invisible to ARM. Their ZoneState has subscription and resource group EXTERNAL.
        self.external_zones: dict[str, ZoneState] = {}
        # The oldest moment a reader may still ask about (a stale name server); history after it is kept.
        self.retain_since: float | None = None

    # ---- DNS zones and record sets -------------------------------------------------------------
    def get_zone(self, subscription: str, resource_group: str, zone: str) -> ZoneState | None:
        return self.zones.get(_k(subscription, resource_group, zone.rstrip(".")))  # type: ignore[arg-type]

    def put_zone(self, zone: ZoneState) -> None:
        with self.lock:
            self.zones[zone.key] = zone
            self._publish(zone)

    def touch_zone(self, zone: ZoneState) -> None:
        """Record a change of a zone's own settings (etag, delegation) for the DNS server."""
        with self.lock:
            self._publish(zone)

    def delete_zone(self, zone: ZoneState) -> None:
        with self.lock:
            self.zones.pop(zone.key, None)
            self._journal.append((self.clock(), zone.key, None))

    def put_record_set(self, zone: ZoneState, record_set: RecordSetState) -> RecordSetState:
        with self.lock:
            zone.record_sets[(record_set.name.lower(), record_set.type)] = record_set
            self._publish(zone)
            return record_set

    def delete_record_set(self, zone: ZoneState, name: str, rtype: str) -> bool:
        with self.lock:
            removed = zone.record_sets.pop((name.lower(), rtype.upper()), None)
            if removed is not None:
                self._publish(zone)
            return removed is not None

    def set_delegated(self, subscription: str, resource_group: str, zone: str, delegated: bool) -> None:
        with self.lock:
            found = self.get_zone(subscription, resource_group, zone)
            if found is None:
                raise KeyError(zone)
            found.delegated = delegated
            self._publish(found)

    def external_zone(self, name: str) -> ZoneState | None:
        return self.external_zones.get(name.rstrip(".").lower())

    def put_external_zone(self, zone: ZoneState) -> None:
        """Add or replace a zone hosted outside Azure DNS (subscription and resource group EXTERNAL)."""
        with self.lock:
            self.external_zones[zone.name] = zone
            self._publish(zone)

    def delete_external_zone(self, name: str) -> bool:
        with self.lock:
            zone = self.external_zones.pop(name.rstrip(".").lower(), None)
            if zone is not None:
                self._journal.append((self.clock(), zone.key, None))
            return zone is not None

    def settle(self, keys: set[ZoneKey]) -> None:
        """Make the current state of these zones what the DNS server has always served (seeding: a world
        that already existed), whatever the propagation delay."""
        with self.lock:
            latest: dict[ZoneKey, ZoneSnapshot | None] = {}
            rest = []
            for entry in self._journal:
                if entry[1] in keys:
                    latest[entry[1]] = entry[2]
                else:
                    rest.append(entry)
            self._journal = [(float("-inf"), k, snap) for k, snap in latest.items()] + rest

    def _publish(self, zone: ZoneState) -> None:
        snap = ZoneSnapshot(
            name=zone.name,
            zone_type=zone.zone_type,
            name_servers=tuple(zone.name_servers),
            delegated=zone.delegated,
            record_sets=dict(zone.record_sets),
            external=zone.subscription == EXTERNAL,
        )
        self._journal.append((self.clock(), zone.key, snap))
        self._publishes += 1
        if self.journal_horizon is not None and self._publishes % 256 == 0:
            self.dns_view(self.journal_horizon)

    def dns_view(self, delay: float = 0.0, *, as_of: float | None = None) -> list[ZoneSnapshot]:
        """Every zone as it was `delay` seconds ago, or at clock time `as_of` if that is earlier (the newest
        snapshot at or before then)."""
        with self.lock:
            now = self.clock()
            cutoff = now - delay if as_of is None else min(as_of, now - delay)
            journal = self._journal
            # every entry is visible and nothing was added since the last such read: the same answer
            # (queries after a write read this many times; the journal is folded on the next change).
            # The journal only grows in place; folding and settling replace the list.
            memo = self._latest_view
            if (
                memo is not None
                and memo[0] is journal
                and memo[1] == len(journal)
                and cutoff >= journal[-1][0]
            ):
                return memo[2]
            # history older than every reader's horizon is folded into one entry per zone
            fold = cutoff
            if self.journal_horizon is not None:
                fold = min(fold, now - self.journal_horizon)
            if self.retain_since is not None:
                fold = min(fold, self.retain_since)
            latest: dict[ZoneKey, ZoneSnapshot | None] = {}
            folded: dict[ZoneKey, ZoneSnapshot | None] = {}
            keep_from = -1
            for i, (t, key, snap) in enumerate(self._journal):
                if t > cutoff:
                    break
                latest[key] = snap
                if t <= fold:
                    folded[key] = snap
                    keep_from = i
            if keep_from > 64:
                stamp = self._journal[keep_from][0]
                self._journal = [(stamp, k, s) for k, s in folded.items()] + self._journal[keep_from + 1 :]
            view = [s for s in latest.values() if s is not None]
            journal = self._journal
            if journal and cutoff >= journal[-1][0]:
                self._latest_view = (journal, len(journal), view)
            return view

    # ---- Communication -------------------------------------------------------------------------
    def email_service(self, subscription: str, resource_group: str, name: str) -> EmailServiceState | None:
        return self.email_services.get(_k(subscription, resource_group, name))

    def put_email_service(self, service: EmailServiceState) -> None:
        with self.lock:
            self.email_services[_k(service.subscription, service.resource_group, service.name)] = service

    def email_domain(
        self, subscription: str, resource_group: str, email_service: str, name: str
    ) -> EmailDomainState | None:
        return self.email_domains.get(_k(subscription, resource_group, email_service, name.rstrip(".")))

    def put_email_domain(self, domain: EmailDomainState) -> None:
        with self.lock:
            key = _k(domain.subscription, domain.resource_group, domain.email_service, domain.name)
            self.email_domains[key] = domain

    def delete_email_domain(self, domain: EmailDomainState) -> None:
        with self.lock:
            key = _k(domain.subscription, domain.resource_group, domain.email_service, domain.name)
            self.email_domains.pop(key, None)

    def communication_service(
        self, subscription: str, resource_group: str, name: str
    ) -> CommunicationServiceState | None:
        return self.communication_services.get(_k(subscription, resource_group, name))

    def put_communication_service(self, service: CommunicationServiceState) -> None:
        with self.lock:
            key = _k(service.subscription, service.resource_group, service.name)
            self.communication_services[key] = service


__all__ = [
    "CommunicationServiceState",
    "EmailDomainState",
    "EmailServiceState",
    "RecordSetState",
    "SandboxState",
    "SenderUsernameState",
    "SmtpUsernameState",
    "SuppressionAddressState",
    "SuppressionListState",
    "ZoneKey",
    "ZoneSnapshot",
    "ZoneState",
    "new_access_key",
    "new_etag",
]
