"""The small interfaces the core depends on. The Azure SDK adapters (`azure/dns.py`,
`azure/communication.py`) implement them, and so does the in-memory fake of the unit tests
(`tests/fakes.py`). Nothing here does I/O.

Conventions shared by every implementation:
- writes are ETag-guarded: `expected_etag=None` creates only (If-None-Match: *), a string updates or
  deletes only that version (If-Match); a failed precondition (HTTP 412) raises `ConflictError`;
- something named that does not exist raises `NotFoundError` (a missing email domain raises its
  subclass `EmailDomainNotFoundError`), never returns None;
- other failures are the project's `AcsDnsError`s (`provisioner.errors`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from provisioner.errors import NotFoundError
from provisioner.model import CommunicationResource, RecordSet, RecordType, Sender, VerificationKind, Zone

if TYPE_CHECKING:
    from provisioner.azure.communication import EmailDomain

RecordSets = dict[tuple[str, RecordType], RecordSet]
"""Record sets keyed by (lower-cased zone-relative name, type)."""


class EmailDomainNotFoundError(NotFoundError):
    """The email service exists but holds no such email domain (a missing service is a plain
    `NotFoundError`), so callers can offer to create the domain."""


@runtime_checkable
class DnsZones(Protocol):
    """Azure DNS zones and record sets of one subscription."""

    subscription: str

    def list_zones(self) -> list[Zone]:
        """Every zone (public and private) in the subscription."""
        ...

    def get_zone(self, resource_group: str, name: str) -> Zone: ...

    def list_record_sets(self, zone: Zone, names: Iterable[str] | None) -> RecordSets:
        """Every record set (any type) at the given zone-relative names (None: the whole zone)."""
        ...

    def write(self, zone: Zone, record_set: RecordSet, *, expected_etag: str | None) -> RecordSet:
        """Create (`expected_etag=None`) or update (If-Match); returns the set as stored, new ETag included."""
        ...

    def delete(self, zone: Zone, name: str, type_: RecordType, *, expected_etag: str) -> None:
        """Delete one record set if it is still at `expected_etag` (412 -> ConflictError).
        A set that is already gone counts as deleted."""
        ...


@runtime_checkable
class EmailService(Protocol):
    """Email domains of the Email Communication Services in one subscription, their sender usernames,
    and the Communication Services resources they are linked to."""

    subscription: str

    def get_domain(self, resource_group: str, email_service: str, domain: str) -> EmailDomain:
        """The email domain; `EmailDomainNotFoundError` when the service exists but the domain does not,
        `NotFoundError` when the service does not exist."""
        ...

    def list_domains(self, resource_group: str, email_service: str) -> list[EmailDomain]: ...

    def create_domain(self, resource_group: str, email_service: str, domain: str) -> EmailDomain:
        """Create a CustomerManaged email domain."""
        ...

    def start_verification(
        self, resource_group: str, email_service: str, domain: str, kind: VerificationKind
    ) -> None: ...

    # ---- the lifecycle (link, senders, ownership tags, delete) -----------------------------------------
    def get_communication_service(self, resource_group: str, name: str) -> CommunicationResource:
        """A Communication Services resource (`NotFoundError` when it does not exist)."""
        ...

    def set_linked_domains(
        self, resource_group: str, name: str, linked_domains: list[str]
    ) -> CommunicationResource:
        """Replace its `linkedDomains` (the API has no ETag there: callers read, change and read back)."""
        ...

    def list_senders(self, resource_group: str, email_service: str, domain: str) -> list[Sender]: ...

    def put_sender(
        self, resource_group: str, email_service: str, domain: str, username: str, display_name: str
    ) -> Sender:
        """Create or update one sender username."""
        ...

    def delete_sender(self, resource_group: str, email_service: str, domain: str, username: str) -> None:
        """Delete one sender username; one already gone counts as deleted."""
        ...

    def set_domain_tags(
        self, resource_group: str, email_service: str, domain: str, tags: dict[str, str]
    ) -> EmailDomain:
        """Replace the email domain's tags (where acs-dns records the senders and links it added)."""
        ...

    def delete_domain(self, resource_group: str, email_service: str, domain: str) -> None:
        """Delete the email domain; one already gone counts as deleted."""
        ...
