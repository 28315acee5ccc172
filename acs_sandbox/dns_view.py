"""What the sandbox's DNS server answers: a pure function of zone snapshots and a query.

One server plays two parts, chosen by the query's RD (recursion desired) bit:

- RD=0, "the zone's own Azure name servers": authoritative answers (AA=1) from the deepest hosted public
  zone containing the name, delegated or not. A delegation to servers outside that zone gets a referral.
  Names outside every hosted public zone are REFUSED.
- RD=1, "a public resolver": only what the internet could reach by following delegations. A top-level
  zone is reachable iff it is `delegated` at its registrar (a sandbox-only flag); a child zone iff its
  reachable parent holds an NS record set at the child's name naming exactly the child's name servers.
  Other NS record sets are lame (SERVFAIL); unreachable names do not exist (NXDOMAIN).

A query addressed to one name server (`server`, a host name such as `ns2-03.azure-dns.net` or
`ns1.example-registrar.test`, which the DNS server serves on its own loopback address) is answered as that
server alone would: authoritatively for the zones whose NS set names it, REFUSED for every other name, the
RD bit ignored (an authoritative server does not recurse). The host names of every served zone's name
servers resolve (A) to their addresses (`host_addresses`), in either part.

Zones hosted outside Azure DNS (external zones, `ZoneSnapshot.external`) are served the same way; where an
Azure zone and an external zone share a name, the RD=0 "Azure name servers" part answers from the Azure one
and the resolver from whichever is delegated.

Private zones are never served. Record data comes from the Azure wire-format `properties`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset
from dns.rdtypes.ANY.CAA import CAA
from dns.rdtypes.ANY.CNAME import CNAME
from dns.rdtypes.ANY.MX import MX
from dns.rdtypes.ANY.NS import NS
from dns.rdtypes.ANY.PTR import PTR
from dns.rdtypes.ANY.SOA import SOA
from dns.rdtypes.ANY.TXT import TXT
from dns.rdtypes.IN.A import A
from dns.rdtypes.IN.AAAA import AAAA
from dns.rdtypes.IN.SRV import SRV

from acs_sandbox.state import RecordSetState, ZoneSnapshot

log = logging.getLogger(__name__)

IN = dns.rdataclass.IN
T = dns.rdatatype.RdataType
DEFAULT_TTL = 3600
NS_TTL = 172800  # what Azure gives the apex NS record set
NS_HOST_TTL = 3600  # the A records of name-server host names
MAX_TTL = 2**31 - 1
MAX_CNAME_CHAIN = 8
TXT_STRING_BYTES = 255
# Azure's defaults for a new zone's SOA record set
DEFAULT_SOA_HOST = "ns1-01.azure-dns.com"
DEFAULT_SOA_EMAIL = "azuredns-hostmaster.microsoft.com"
DEFAULT_SOA_TIMERS = (1, 3600, 300, 2419200, 300)  # serial, refresh, retry, expire, minimum


# ---- wire-format properties -> rdata ---------------------------------------------------------------
def _abs(text: str) -> dns.name.Name:
    """Names inside Azure record data are always fully qualified, with or without the trailing dot."""
    return dns.name.from_text(text, origin=dns.name.root)


def txt_strings(values: Iterable[str]) -> list[bytes]:
    """Each value is one character-string; one over 255 bytes (UTF-8) is split into 255-byte pieces."""
    strings: list[bytes] = []
    for value in values:
        raw = value.encode()
        strings.extend([raw[i : i + TXT_STRING_BYTES] for i in range(0, len(raw), TXT_STRING_BYTES)] or [b""])
    return strings


_Converter = Callable[[dict[str, Any]], dns.rdata.Rdata]

# record type -> (properties key, one record's wire object -> rdata)
_CONVERTERS: dict[str, tuple[str, _Converter]] = {
    "A": ("ARecords", lambda r: A(IN, T.A, r["ipv4Address"])),
    "AAAA": ("AAAARecords", lambda r: AAAA(IN, T.AAAA, r["ipv6Address"])),
    "MX": ("MXRecords", lambda r: MX(IN, T.MX, int(r["preference"]), _abs(r["exchange"]))),
    "NS": ("NSRecords", lambda r: NS(IN, T.NS, _abs(r["nsdname"]))),
    "PTR": ("PTRRecords", lambda r: PTR(IN, T.PTR, _abs(r["ptrdname"]))),
    "SRV": (
        "SRVRecords",
        lambda r: SRV(IN, T.SRV, int(r["priority"]), int(r["weight"]), int(r["port"]), _abs(r["target"])),
    ),
    "TXT": ("TXTRecords", lambda r: TXT(IN, T.TXT, txt_strings(r["value"]))),
    "CNAME": ("CNAMERecord", lambda r: CNAME(IN, T.CNAME, _abs(r["cname"]))),
    "SOA": (
        "SOARecord",
        lambda r: SOA(
            IN,
            T.SOA,
            _abs(r["host"]),
            _abs(r["email"]),
            int(r["serialNumber"]),
            int(r["refreshTime"]),
            int(r["retryTime"]),
            int(r["expireTime"]),
            int(r["minimumTTL"]),
        ),
    ),
    "CAA": ("caaRecords", lambda r: CAA(IN, T.CAA, int(r["flags"]), r["tag"].encode(), r["value"].encode())),
}


def to_rrset(owner: dns.name.Name, record_set: RecordSetState) -> dns.rrset.RRset | None:
    """The record set as DNS serves it; records Azure would have rejected are skipped, not fatal."""
    converter = _CONVERTERS.get(record_set.type.upper())
    if converter is None:
        return None
    key, convert = converter
    props = record_set.properties
    raw = props.get(key)
    items = raw if isinstance(raw, list) else [raw] if isinstance(raw, dict) else []
    rdatas = []
    for item in items:
        try:
            rdatas.append(convert(item))
        except (dns.exception.DNSException, KeyError, TypeError, ValueError, AttributeError) as exc:
            log.debug("skipping %s record %r at %s: %s", record_set.type, item, owner, exc)
    if not rdatas:
        return None
    try:
        ttl = min(max(int(props.get("TTL", DEFAULT_TTL)), 0), MAX_TTL)
    except (TypeError, ValueError):
        ttl = DEFAULT_TTL
    return dns.rrset.from_rdata_list(owner, ttl, rdatas)


def _owner_and_rrset(
    origin: dns.name.Name, record_set: RecordSetState
) -> tuple[dns.name.Name | None, dns.rrset.RRset | None]:
    """The record set's owner name and rrset in the zone at `origin`; (None, None) when not servable."""
    try:
        rel = record_set.name.strip()
        owner = origin if rel in ("@", "") else dns.name.from_text(rel, origin=origin)
    except dns.exception.DNSException:
        return None, None
    return owner, to_rrset(owner, record_set) if owner.is_subdomain(origin) else None


def _norm_host(host: str) -> str:
    return host.rstrip(".").lower()


def _between(name: dns.name.Name, origin: dns.name.Name) -> Iterator[dns.name.Name]:
    """Names strictly below `origin` on the way down to `name` (inclusive), shallowest first."""
    for depth in range(len(origin) + 1, len(name) + 1):
        yield dns.name.Name(name.labels[-depth:])


# ---- one zone --------------------------------------------------------------------------------------
_Converted = tuple[RecordSetState, dns.name.Name | None, dns.rrset.RRset | None]
_Nodes = dict[dns.name.Name, dict[int, dns.rrset.RRset]]


@dataclass(frozen=True)
class ZoneData:
    snapshot: ZoneSnapshot
    origin: dns.name.Name
    nodes: _Nodes
    non_terminals: frozenset[dns.name.Name]
    negative_soa: dns.rrset.RRset  # the apex SOA with TTL = min(TTL, minimum), for NXDOMAIN/NODATA
    name_servers: frozenset[str]  # normalised, for matching a parent's delegation

    # What the next build of this zone starts from: id(record set) -> (the record set, its owner name, its
    # rrset), and the nodes made from record sets alone (before the apex SOA/NS defaults are added).
    converted: dict[int, _Converted] = field(default_factory=dict, compare=False, repr=False)
    record_nodes: _Nodes = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def build(cls, snapshot: ZoneSnapshot, previous: ZoneData | None = None) -> ZoneData:
        """Index `snapshot`. Record sets unchanged since `previous` (the same objects: snapshots share
        them) are not converted or indexed again, so a write costs the DNS server the record sets it
        changed, not the zone (only a removal re-derives the empty non-terminals)."""
        origin = _abs(snapshot.name)
        last = previous if previous is not None and previous.origin == origin else None
        reuse = last.converted if last is not None else {}
        converted: dict[int, _Converted] = {}
        added: list[_Converted] = []
        for record_set in snapshot.record_sets.values():
            known = reuse.get(id(record_set))  # previous holds its record sets, so an id is never reused
            if known is None or known[0] is not record_set:
                known = (record_set, *_owner_and_rrset(origin, record_set))
                added.append(known)
            converted[id(record_set)] = known
        removed = [c for key, c in reuse.items() if converted.get(key) is not c]
        if last is not None:
            nodes = _patched(last.record_nodes, removed, added)
            if removed:
                non_terminals = _non_terminals(nodes, origin)
            else:  # only additions: the new owners' ancestors join, the new owners leave
                grown = set(last.non_terminals)
                for _, owner, rrset in added:
                    if owner is not None and rrset is not None:
                        grown.discard(owner)
                        grown.update(n for n in _between(owner.parent(), origin) if n not in nodes)
                non_terminals = frozenset(grown)
        else:
            nodes = _patched({}, [], added)
            non_terminals = _non_terminals(nodes, origin)
        served = dict(nodes)
        apex = served[origin] = dict(nodes.get(origin, {}))
        hosts = list(snapshot.name_servers)
        if T.SOA not in apex:
            host = _abs(hosts[0] if hosts else DEFAULT_SOA_HOST)
            soa = SOA(IN, T.SOA, host, _abs(DEFAULT_SOA_EMAIL), *DEFAULT_SOA_TIMERS)
            apex[T.SOA] = dns.rrset.from_rdata_list(origin, DEFAULT_TTL, [soa])
        if T.NS not in apex and hosts:
            apex[T.NS] = dns.rrset.from_rdata_list(origin, NS_TTL, [NS(IN, T.NS, _abs(h)) for h in hosts])
        soa_rrset = apex[T.SOA]
        negative_soa = dns.rrset.from_rdata_list(origin, min(soa_rrset.ttl, soa_rrset[0].minimum), soa_rrset)
        servers = hosts or [rd.target.to_text() for rd in apex.get(T.NS, ())]
        return cls(
            snapshot=snapshot,
            origin=origin,
            nodes=served,
            non_terminals=non_terminals,
            negative_soa=negative_soa,
            name_servers=frozenset(_norm_host(h) for h in servers),
            converted=converted,
            record_nodes=nodes,
        )

    def delegation_on_path(self, name: dns.name.Name) -> dns.name.Name | None:
        """The first zone cut (an NS record set below the apex) between the apex and `name`."""
        return next((n for n in _between(name, self.origin) if T.NS in self.nodes.get(n, {})), None)

    def delegated_to(self, cut: dns.name.Name) -> frozenset[str]:
        return frozenset(_norm_host(rd.target.to_text()) for rd in self.nodes[cut][T.NS])

    def rrsets_at(self, name: dns.name.Name) -> dict[int, dns.rrset.RRset] | None:
        """Record sets at `name` ({} for an empty non-terminal), wildcard-synthesised; None: no such name."""
        node = self.nodes.get(name)
        if node is not None:
            return node
        if name in self.non_terminals:
            return {}
        encloser = name.parent()  # the closest encloser (RFC 4592): deepest existing ancestor
        while encloser != self.origin and encloser not in self.nodes and encloser not in self.non_terminals:
            encloser = encloser.parent()
        wildcard = self.nodes.get(dns.name.Name((b"*", *encloser.labels)))
        if wildcard is None:
            return None
        return {t: dns.rrset.from_rdata_list(name, rr.ttl, rr) for t, rr in wildcard.items()}


def _patched(nodes: _Nodes, removed: Iterable[_Converted], added: Iterable[_Converted]) -> _Nodes:
    """`nodes` (left unchanged: views built from it are in use) without the rrsets of `removed` and with
    those of `added`. Only the touched names get new inner dicts; the rest are shared."""
    patched = dict(nodes)
    copied: set[dns.name.Name] = set()

    def node(owner: dns.name.Name) -> dict[int, dns.rrset.RRset]:
        if owner not in copied:
            copied.add(owner)
            patched[owner] = dict(patched.get(owner, {}))
        return patched[owner]

    for _, owner, rrset in removed:
        if owner is not None and rrset is not None and patched.get(owner, {}).get(rrset.rdtype) is rrset:
            inner = node(owner)
            del inner[rrset.rdtype]
            if not inner:
                del patched[owner]
                copied.discard(owner)
    for _, owner, rrset in added:
        if owner is not None and rrset is not None:
            node(owner)[rrset.rdtype] = rrset
    return patched


def _non_terminals(nodes: _Nodes, origin: dns.name.Name) -> frozenset[dns.name.Name]:
    """Names between the apex and an owner that own nothing themselves (empty non-terminals)."""
    return frozenset({n for owner in nodes for n in _between(owner.parent(), origin)} - nodes.keys())


# ---- the whole view --------------------------------------------------------------------------------
@dataclass
class Outcome:
    rcode: dns.rcode.Rcode
    answer: list[dns.rrset.RRset] = field(default_factory=list)
    authority: list[dns.rrset.RRset] = field(default_factory=list)
    authoritative: bool = False


class DnsView:
    """Every served (public) zone, indexed by apex name. Immutable once built; safe to share.

    `host_addresses` maps name-server host names (lower case, no trailing dot) to the IPv4 address the
    DNS server answers for them on; it may only grow while the view is in use."""

    def __init__(
        self,
        zones: Iterable[ZoneData],
        source: Sequence[ZoneSnapshot] = (),
        host_addresses: Mapping[str, str] | None = None,
    ) -> None:
        # the snapshots this view was built from, as handed over (to reuse it when unchanged): the state
        # hands out the same list, never changed, until a zone changes
        self.source = source
        # replies in wire format, by what determines them (see DnsServer.answer)
        self.replies: dict[tuple[object, ...], bytes] = {}
        self._served: dict[str, frozenset[int]] = {}
        self.host_addresses: Mapping[str, str] = host_addresses if host_addresses is not None else {}
        self.zones: dict[dns.name.Name, list[ZoneData]] = {}
        for zone in sorted(zones, key=lambda z: z.snapshot.external):  # Azure's zones first
            self.zones.setdefault(zone.origin, []).append(zone)

    @classmethod
    def build(
        cls,
        snapshots: Sequence[ZoneSnapshot],
        previous: DnsView | None = None,
        host_addresses: Mapping[str, str] | None = None,
    ) -> DnsView:
        """A view of `snapshots`, reusing `previous`'s indexed zones whose snapshot did not change."""
        reuse = {id(z.snapshot): z for zs in previous.zones.values() for z in zs} if previous else {}
        # the same zone's last index (by name and hosting), to convert only its changed record sets
        last = (
            {(z.origin, z.snapshot.external): z for zs in previous.zones.values() for z in zs}
            if previous
            else {}
        )
        zones = []
        for snap in snapshots:
            if snap.zone_type.lower() != "public":
                continue
            old = reuse.get(id(snap))
            if old is not None and old.snapshot is snap:
                zones.append(old)
            else:
                zones.append(ZoneData.build(snap, last.get((_abs(snap.name), snap.external))))
        return cls(zones, snapshots, host_addresses)

    def served_by(self, server: str) -> frozenset[int]:
        """The zones `server` serves in this view (as ids): name servers serving the same zones give the
        same answers."""
        served = self._served.get(server)
        if served is None:
            served = frozenset(id(z) for zs in self.zones.values() for z in zs if server in z.name_servers)
            self._served[server] = served
        return served

    def same_source(self, snapshots: Sequence[ZoneSnapshot]) -> bool:
        return snapshots is self.source or (
            len(snapshots) == len(self.source)
            and all(a is b for a, b in zip(snapshots, self.source, strict=True))
        )

    # ---- messages ----------------------------------------------------------------------------------
    def respond(
        self,
        query: dns.message.Message,
        server: str | None = None,
        resolve: Callable[[dns.name.Name, int, bool, str | None], Outcome] | None = None,
    ) -> dns.message.Message:
        """The response to one query message (which must not itself be a response), as the resolver and
        Azure's name servers answer it, or, with `server`, as that one name server answers it. `resolve`
        replaces `self.resolve` (the resolver's cache wraps it)."""
        recursive = bool(query.flags & dns.flags.RD) and server is None
        response = dns.message.make_response(query, recursion_available=recursive)
        if query.opcode() != dns.opcode.QUERY:
            response.set_rcode(dns.rcode.NOTIMP)
            return response
        if len(query.question) != 1:
            response.set_rcode(dns.rcode.FORMERR)
            return response
        question = query.question[0]
        if question.rdclass != IN or question.rdtype in (T.AXFR, T.IXFR, T.OPT):
            response.set_rcode(dns.rcode.REFUSED)
            return response
        outcome = (resolve or self.resolve)(question.name, question.rdtype, recursive, server)
        response.set_rcode(outcome.rcode)
        if outcome.authoritative:
            response.flags |= dns.flags.AA
        response.answer.extend(outcome.answer)
        response.authority.extend(outcome.authority)
        return response

    # ---- resolution --------------------------------------------------------------------------------
    def resolve(
        self,
        qname: dns.name.Name,
        qtype: int,
        recursive: bool,
        server: str | None = None,
        *,
        unreachable: frozenset[str] = frozenset(),
    ) -> Outcome:
        """Answer `qname`/`qtype`, following CNAMEs as long as their targets are in served data. For the
        resolver, a zone whose name servers are all `unreachable` (not answering) gives SERVFAIL."""
        host = self._name_server_address(qname, qtype, recursive)
        if host is not None:
            return host
        chain: list[dns.rrset.RRset] = []
        seen: set[dns.name.Name] = set()
        name = qname
        while True:
            zone, failure = self._zone_for(name, recursive, server, unreachable)
            if zone is None:  # first name: the failure; a CNAME target outside served data: stop
                return failure if not chain else Outcome(dns.rcode.NOERROR, chain, [], not recursive)
            authoritative = not recursive
            cut = None if recursive else zone.delegation_on_path(name)
            if cut is not None:  # the name lives behind a delegation to servers that are not here
                if chain:
                    return Outcome(dns.rcode.NOERROR, chain, [], authoritative)
                return Outcome(dns.rcode.NOERROR, [], [zone.nodes[cut][T.NS]], authoritative=False)
            rrsets = zone.rrsets_at(name)
            if rrsets is None:
                return Outcome(dns.rcode.NXDOMAIN, chain, [zone.negative_soa], authoritative)
            if qtype == T.ANY and rrsets:
                return Outcome(dns.rcode.NOERROR, chain + list(rrsets.values()), [], authoritative)
            if qtype in rrsets:
                return Outcome(dns.rcode.NOERROR, [*chain, rrsets[qtype]], [], authoritative)
            cname = rrsets.get(T.CNAME)
            if cname is None:  # NODATA
                return Outcome(dns.rcode.NOERROR, chain, [zone.negative_soa], authoritative)
            chain.append(cname)
            seen.add(name)
            name = cname[0].target
            if name in seen or len(chain) >= MAX_CNAME_CHAIN:
                return Outcome(dns.rcode.NOERROR, chain, [], authoritative)

    def _name_server_address(self, qname: dns.name.Name, qtype: int, recursive: bool) -> Outcome | None:
        """The A answer for a served name server's host name (NODATA for other types), else None."""
        address = self.host_addresses.get(_norm_host(qname.to_text())) if self.host_addresses else None
        if address is None:
            return None
        answer = []
        if qtype in (T.A, T.ANY):
            answer = [dns.rrset.from_rdata_list(qname, NS_HOST_TTL, [A(IN, T.A, address)])]
        return Outcome(dns.rcode.NOERROR, answer, [], authoritative=not recursive)

    def _zone_for(
        self,
        name: dns.name.Name,
        recursive: bool,
        server: str | None = None,
        unreachable: frozenset[str] = frozenset(),
    ) -> tuple[ZoneData | None, Outcome]:
        """The zone that answers for `name` in this view (on `server` when given), or why none does."""
        if not recursive:
            for ancestor in _ancestors(name):
                candidates = self.zones.get(ancestor, ())
                if server is not None:
                    candidates = [z for z in candidates if server in z.name_servers]
                if candidates:
                    return candidates[0], Outcome(dns.rcode.NOERROR)
            return None, Outcome(dns.rcode.REFUSED)
        hosted = [a for a in reversed(list(_ancestors(name))) if a in self.zones]
        zone = next((z for z in self.zones[hosted[0]] if z.snapshot.delegated), None) if hosted else None
        if zone is None:  # not hosted, or its top-level zone is not delegated: it does not exist publicly
            return None, Outcome(dns.rcode.NXDOMAIN)
        while (cut := zone.delegation_on_path(name)) is not None:
            targets = zone.delegated_to(cut)
            child = next((z for z in self.zones.get(cut, ()) if z.name_servers == targets), None)
            if child is None:  # lame: delegated to servers that do not serve such a zone
                return None, Outcome(dns.rcode.SERVFAIL)
            zone = child
        if unreachable and zone.name_servers and zone.name_servers <= unreachable:
            return None, Outcome(dns.rcode.SERVFAIL)  # every server of the zone times out
        return zone, Outcome(dns.rcode.NOERROR)


def _ancestors(name: dns.name.Name) -> Iterator[dns.name.Name]:
    """`name` and each of its ancestors, deepest first, down to (not including) the root."""
    while name != dns.name.root and len(name) > 0:
        yield name
        name = name.parent()


__all__ = ["DnsView", "Outcome", "ZoneData", "to_rrset", "txt_strings"]
