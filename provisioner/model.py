"""Plain data shared by the pure core: DNS record sets and ACS verification records.

Everything here is a frozen value object; nothing does I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

OWNER_METADATA_KEY = "acsdns_owner"
"""Metadata key acs-dns writes on record sets it owns (the DKIM CNAMEs); the value is the email domain."""


class RecordType(StrEnum):
    A = "A"
    AAAA = "AAAA"
    CAA = "CAA"
    CNAME = "CNAME"
    MX = "MX"
    NS = "NS"
    PTR = "PTR"
    SOA = "SOA"
    SRV = "SRV"
    TXT = "TXT"


@dataclass(frozen=True)
class TxtRecord:
    """One TXT record: its character-strings exactly as stored (each at most 255 characters)."""

    strings: tuple[str, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "strings", tuple(self.strings))

    @property
    def text(self) -> str:
        """The record's value as receivers see it: the strings concatenated without separators."""
        return "".join(self.strings)


def _metadata_pairs(metadata: Mapping[str, str] | Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    items = metadata.items() if isinstance(metadata, Mapping) else metadata
    return tuple(sorted((str(k), str(v)) for k, v in items))


@dataclass(frozen=True)
class RecordSet:
    """An Azure DNS record set. `name` is zone-relative ("@" for the apex), as Azure returns it.

    Only TXT and CNAME sets carry values here; for other types only name and type matter
    (they are read to detect conflicts). `metadata` may be given as a mapping; it is stored as
    sorted pairs so that equal sets compare equal.
    """

    name: str
    type: RecordType
    ttl: int = 3600
    txt: tuple[TxtRecord, ...] = ()
    cname: str | None = None
    metadata: tuple[tuple[str, str], ...] = ()
    etag: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "type", RecordType(self.type))
        object.__setattr__(self, "txt", tuple(self.txt))
        object.__setattr__(self, "metadata", _metadata_pairs(self.metadata))

    def metadata_dict(self) -> dict[str, str]:
        return dict(self.metadata)


class VerificationKind(StrEnum):
    """The ACS verification types, in the order they are verified (Domain first)."""

    DOMAIN = "Domain"
    SPF = "SPF"
    DKIM = "DKIM"
    DKIM2 = "DKIM2"
    DMARC = "DMARC"


KIND_ORDER: dict[VerificationKind, int] = {kind: i for i, kind in enumerate(VerificationKind)}


@dataclass(frozen=True)
class VerificationRecord:
    """One entry of an ACS domain's `verificationRecords`, as the API gives it (names not yet placed)."""

    kind: VerificationKind
    type: str
    name: str
    value: str
    ttl: int


@dataclass(frozen=True)
class Zone:
    """An Azure DNS zone: where it lives and the name servers Azure assigned to it."""

    name: str
    subscription: str
    resource_group: str
    zone_type: str
    name_servers: tuple[str, ...]

    @property
    def is_private(self) -> bool:
        return self.zone_type.lower() == "private"


@dataclass(frozen=True)
class CommunicationResource:
    """A Communication Services resource, as far as linking email domains goes."""

    resource_id: str
    data_location: str
    linked_domains: tuple[str, ...] = ()

    def links(self, domain_id: str) -> bool:
        """True if `domain_id` is among the linked domains (resource ids compare case-insensitively)."""
        return any(d.lower() == domain_id.lower() for d in self.linked_domains)


@dataclass(frozen=True)
class Sender:
    """A sender username of an email domain: the MailFrom address `username@domain`."""

    username: str
    display_name: str = ""


def same_location(a: str, b: str) -> bool:
    """Data locations compare without spaces and case ("United States" == "unitedstates")."""
    return "".join(a.split()).lower() == "".join(b.split()).lower()
