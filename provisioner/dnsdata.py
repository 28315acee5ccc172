"""What DNS answered, as plain data: the adapter (`dnslookup`) fills it, the findings (`findings`) read it.

Every name is lower-case without the trailing dot. Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from provisioner.model import VerificationRecord


class Status(StrEnum):
    """How one query ended."""

    OK = "ok"  # NOERROR (with or without data)
    NXDOMAIN = "nxdomain"
    SERVFAIL = "servfail"
    REFUSED = "refused"
    TIMEOUT = "timeout"  # no answer within the timeout (or the server could not be reached at all)


class Delegation(StrEnum):
    """Whether public DNS reaches the zone's name servers."""

    DELEGATED = "delegated"
    NOT_DELEGATED = "not-delegated"  # the name does not exist publicly, or NS differ from the expected ones
    LAME = "lame"  # the parent names servers that do not answer for the zone (SERVFAIL)
    UNKNOWN = "unknown"  # the resolver did not answer


def norm(name: str) -> str:
    return name.strip().rstrip(".").lower()


@dataclass(frozen=True)
class Lookup:
    """One server's answer to a TXT query for one name.

    `cname`: the target of a CNAME owned by the name itself (TXT queries return it); `txt`: the TXT
    records (each record's strings joined) owned by the name, or by the end of its CNAME chain when the
    server followed it; `ttl`: the answer's TTL (a resolver's is what remains in its cache; for a negative
    answer the SOA's negative-caching TTL), None when unknown.
    """

    status: Status = Status.OK
    txt: tuple[str, ...] = ()
    cname: str | None = None
    ttl: int | None = None

    @property
    def answered(self) -> bool:
        return self.status is not Status.TIMEOUT


NOT_ASKED = Lookup(Status.NXDOMAIN)


@dataclass(frozen=True)
class ServerView:
    """Everything one server answered. `server` names it in reports (host name, or HOST:PORT)."""

    server: str
    lookups: Mapping[str, Lookup] = field(default_factory=dict)
    reachable: bool = True
    address: str | None = None

    def get(self, name: str) -> Lookup:
        return self.lookups.get(norm(name), NOT_ASKED)


@dataclass(frozen=True)
class DnsAnswers:
    """A domain's DNS as seen by a recursive resolver and by each of its zone's name servers.

    `zone`: the zone cut (the SOA owner public DNS gives, else the zone the caller named); `name_servers`:
    the NS set public DNS gives for it; `expected_name_servers`: the ones the caller expects (an Azure
    zone's), empty when unknown; `parent`: the zone that must delegate it (None: the registrar);
    `spf_targets`: TXT texts at every name an SPF include/redirect reaches, for counting lookups.
    """

    domain: str
    zone: str | None
    delegation: Delegation
    resolver: ServerView
    authoritative: tuple[ServerView, ...] = ()
    name_servers: tuple[str, ...] = ()
    expected_name_servers: tuple[str, ...] = ()
    parent: str | None = None
    spf_targets: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


class DnsReader(Protocol):
    """The port `check`/`records`/`verify` read DNS through (`dnslookup.DnsLookup` implements it)."""

    def lookup(
        self,
        domain: str,
        expected: Sequence[VerificationRecord],
        *,
        zone: str | None = None,
        expected_name_servers: Sequence[str] = (),
    ) -> DnsAnswers: ...


__all__ = ["NOT_ASKED", "Delegation", "DnsAnswers", "DnsReader", "Lookup", "ServerView", "Status", "norm"]
