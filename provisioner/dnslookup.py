"""Ask DNS everything `findings.diagnose` reads about one domain, as a resolver and as each name server.

1. The zone cut: SOA queries through the recursive resolver (RD=1), from the domain up, until an SOA owner
   shows where the domain's zone starts; the resolver's NS answer for that zone gives its name servers.
2. Each name `findings.names_to_query` lists is asked (TXT, which also returns a CNAME at the name) of the
   resolver (RD=1; the TTLs are what remain in its cache) and of every name server directly (RD=0).
3. SPF include/redirect targets are followed through the resolver, so lookups can be counted.

`--dns-server HOST:PORT` makes that server the resolver; name servers' host names are resolved through it
and asked at the addresses it returns, on the same port (a name it cannot resolve is asked at its own
address instead, so a single test server stands in for all). Queries run concurrently, each bounded by
`timeout`; nothing here raises on a timeout: a server that does not answer is data (`reachable=False`).
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.resolver

from provisioner.dnscheck import DnsServerAddress, _is_ip, _query, _txt_text
from provisioner.dnsdata import Delegation, DnsAnswers, Lookup, ServerView, Status, norm
from provisioner.model import VerificationKind, VerificationRecord
from provisioner.options import DEFAULT_DNS_TIMEOUT
from provisioner.record_checks import names_to_query
from provisioner.spf import count_dns_lookups, is_spf

log = logging.getLogger(__name__)

_EDNS_PAYLOAD = 1232
_RCODES = {
    dns.rcode.NOERROR: Status.OK,
    dns.rcode.NXDOMAIN: Status.NXDOMAIN,
    dns.rcode.REFUSED: Status.REFUSED,
}
IN = dns.rdataclass.IN
T = dns.rdatatype.RdataType


class _Server:
    """Where one server's queries go: a label for reports, its addresses, a port, and RD on or off."""

    def __init__(self, label: str, addresses: Sequence[str], port: int, recursive: bool) -> None:
        self.label = label
        self.addresses = tuple(addresses)
        self.port = port
        self.recursive = recursive


class DnsLookup:
    """The DNS adapter of `check`/`records`/`verify`. `servers`: the `--dns-server` overrides (empty: the
    system resolver, and port 53 for name servers)."""

    def __init__(
        self,
        servers: Sequence[DnsServerAddress] = (),
        timeout: float = DEFAULT_DNS_TIMEOUT,
        max_workers: int = 32,
    ) -> None:
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        self.servers = tuple(servers)
        self.timeout = timeout
        self.max_workers = max_workers
        # bounds the queries in flight across every lookup sharing this object (many domains at once)
        self._in_flight = threading.BoundedSemaphore(max_workers)
        self._addresses: dict[str, tuple[str, ...]] = {}
        self._resolver: _Server | None = None

    # ---- the resolver -----------------------------------------------------------------------------
    def resolver(self) -> _Server:
        """The recursive resolver: the overrides, or the system's (read once)."""
        if self._resolver is None:
            self._resolver = self._make_resolver()
        return self._resolver

    def _make_resolver(self) -> _Server:
        if self.servers:
            label = ", ".join(str(s) for s in self.servers)
            addresses = [a for s in self.servers for a in self._override_addresses(s)]
            return _Server(label, addresses, self.servers[0].port, recursive=True)
        try:
            system = dns.resolver.Resolver()
            addresses = [str(ns) for ns in system.nameservers]
        except (dns.exception.DNSException, OSError):
            addresses = []
        return _Server(
            f"the system resolver ({', '.join(addresses) or 'none configured'})", addresses, 53, True
        )

    def _override_addresses(self, server: DnsServerAddress) -> tuple[str, ...]:
        if _is_ip(server.host):
            return (server.host,)
        try:
            infos = socket.getaddrinfo(server.host, server.port, type=socket.SOCK_DGRAM)
        except OSError:
            return ()
        return tuple(dict.fromkeys(str(info[4][0]) for info in infos))

    # ---- one query ----------------------------------------------------------------------------------
    def query(self, server: _Server, name: str, rdtype: str) -> dns.message.Message | None:
        """One query (UDP, TCP when truncated) to the server's addresses in turn, within one timeout."""
        message = dns.message.make_query(name, rdtype, use_edns=0, payload=_EDNS_PAYLOAD)
        if not server.recursive:
            message.flags &= ~dns.flags.RD
        with self._in_flight:  # the timeout starts once the query may go out
            start = time.monotonic()
            # two rounds: a datagram lost on the way gets one more chance within the same timeout
            for attempt_deadline in (start + self.timeout / 2, start + self.timeout):
                for address in server.addresses:
                    response = _query(message, address, server.port, attempt_deadline)
                    if response is not None:
                        return response
        return None

    def lookup_txt(self, server: _Server, name: str) -> Lookup:
        response = self.query(server, name, "TXT")
        return Lookup(Status.TIMEOUT) if response is None else to_lookup(response, name)

    # ---- the zone cut -------------------------------------------------------------------------------
    def zone_cut(self, domain: str) -> tuple[str | None, str | None, bool]:
        """(the SOA owner public DNS gives for `domain`, the deepest name that got SERVFAIL, resolver
        answered). Walks up from the domain while names do not exist publicly."""
        resolver = self.resolver()
        name = norm(domain)
        servfail: str | None = None
        answered = False
        while name:
            response = self.query(resolver, name, "SOA")
            if response is None:
                return None, servfail, answered
            answered = True
            rcode = response.rcode()
            if rcode == dns.rcode.SERVFAIL:
                servfail = servfail or name
            elif rcode in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
                owner = _soa_owner(response, name)
                if owner is not None:
                    return owner, servfail, answered
            name = name.partition(".")[2]
        return None, servfail, answered

    def name_servers(self, zone: str) -> tuple[str, ...]:
        response = self.query(self.resolver(), zone, "NS")
        if response is None or response.rcode() != dns.rcode.NOERROR:
            return ()
        rrset = response.get_rrset(response.answer, dns.name.from_text(zone), IN, T.NS)
        return tuple(sorted({norm(r.target.to_text()) for r in rrset})) if rrset else ()

    def addresses_of(self, host: str) -> tuple[str, ...]:
        """A name server's addresses through the resolver (IPv4 first); with an override, its own address
        when it cannot resolve the name."""
        host = norm(host)
        if _is_ip(host):
            return (host,)
        if host not in self._addresses:
            found: list[str] = []
            for rdtype in ("A", "AAAA"):
                response = self.query(self.resolver(), host, rdtype)
                if response is not None and response.rcode() == dns.rcode.NOERROR:
                    rrset = response.get_rrset(response.answer, dns.name.from_text(host), IN, T[rdtype])
                    found += [r.address for r in rrset or ()]
                if found:
                    break
            if not found and self.servers:
                found = list(self.resolver().addresses)
            self._addresses[host] = tuple(found)
        return self._addresses[host]

    # ---- everything for one domain --------------------------------------------------------------
    def lookup(
        self,
        domain: str,
        expected: Sequence[VerificationRecord],
        *,
        zone: str | None = None,
        expected_name_servers: Sequence[str] = (),
    ) -> DnsAnswers:
        """Everything `diagnose` reads about `domain`. `zone`: the zone the records belong in when known
        (`--zone`, or the Azure zone); `expected_name_servers`: that zone's name servers when known."""
        domain = norm(domain)
        want = tuple(dict.fromkeys(norm(n) for n in expected_name_servers))
        cut, servfail, answered = self.zone_cut(domain)
        zone_name, parent, delegation = _place(domain, norm(zone) if zone else None, cut, servfail, answered)
        public_ns = self.name_servers(zone_name) if delegation is Delegation.DELEGATED else ()
        if delegation is Delegation.DELEGATED and want and set(public_ns) != set(want):
            delegation, parent = Delegation.NOT_DELEGATED, _parent(zone_name)
        ask = want or public_ns
        names = names_to_query(expected, domain, zone_name)
        resolver = self.resolver()
        servers = [resolver] + [
            _Server(ns, self.addresses_of(ns), self.servers[0].port if self.servers else 53, False)
            for ns in ask
        ]
        views = self._ask_all(servers, names)
        spf_targets = self._spf_targets(views, expected)
        return DnsAnswers(
            domain=domain,
            zone=zone_name,
            delegation=delegation,
            resolver=views[0],
            authoritative=tuple(views[1:]),
            name_servers=public_ns,
            expected_name_servers=want or public_ns,
            parent=parent,
            spf_targets=spf_targets,
        )

    def _ask_all(self, servers: list[_Server], names: list[str]) -> list[ServerView]:
        """Every name of every server, concurrently. Name servers at the same addresses are asked once
        (with one --dns-server standing in for all of them, they are one server)."""
        first: dict[tuple[tuple[str, ...], int, bool], _Server] = {}
        for server in servers:
            if server.addresses:
                first.setdefault((server.addresses, server.port, server.recursive), server)
        distinct = list(dict.fromkeys([s for s in servers if not s.addresses] + list(first.values())))
        views = dict(zip(distinct, self._ask_distinct(distinct, names), strict=True))
        out = []
        for server in servers:
            twin = first.get((server.addresses, server.port, server.recursive), server)
            view = views[twin]
            out.append(view if twin is server else replace(view, server=server.label))
        return out

    def _ask_distinct(self, servers: list[_Server], names: list[str]) -> list[ServerView]:
        """Every name of every server, concurrently; a server that misses its first query is not asked
        again (one timeout per dead server, not one per name)."""
        workers = max(1, min(self.max_workers, len(servers) * len(names)))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            probes = list(pool.map(lambda s: self.lookup_txt(s, names[0]) if s.addresses else None, servers))
            rest = [
                (s, n) for s, p in zip(servers, probes, strict=True) if p and p.answered for n in names[1:]
            ]
            results = list(pool.map(lambda job: self.lookup_txt(*job), rest))
        views = []
        for server, probe in zip(servers, probes, strict=True):
            reachable = probe is not None and probe.answered
            lookups = {names[0]: probe} if reachable and probe is not None else {}
            lookups.update({n: r for (s, n), r in zip(rest, results, strict=True) if s is server})
            address = server.addresses[0] if server.addresses else None
            views.append(ServerView(server.label, lookups, reachable, address))
        return views

    def _spf_targets(
        self, views: list[ServerView], expected: Sequence[VerificationRecord]
    ) -> dict[str, tuple[str, ...]]:
        """TXT texts at every name the SPF records seen (and the one ACS wants) reach, via the resolver."""
        resolver = self.resolver()
        seen: dict[str, tuple[str, ...]] = {}

        def resolve(name: str) -> list[str]:
            key = norm(name)
            if key not in seen:
                seen[key] = self.lookup_txt(resolver, key).txt
            return list(seen[key])

        texts = {
            t for v in views if v.reachable for look in v.lookups.values() for t in look.txt if is_spf(t)
        }
        texts |= {r.value for r in expected if VerificationKind(r.kind) is VerificationKind.SPF}
        if views[0].reachable:
            for text in sorted(texts):
                try:
                    count_dns_lookups(text, resolve)
                except ValueError:
                    continue
        return seen


# ---- pure helpers -----------------------------------------------------------------------------------
def to_lookup(response: dns.message.Message, name: str) -> Lookup:
    """A TXT query's response as a Lookup: the CNAME at `name`, the TXT at the end of its chain, the TTL."""
    status = _RCODES.get(response.rcode(), Status.SERVFAIL)
    qname = dns.name.from_text(name)
    target, cname, ttl = qname, None, None
    for _ in range(8):
        alias = response.get_rrset(response.answer, target, IN, T.CNAME)
        if alias is None:
            break
        if target == qname:
            cname, ttl = norm(alias[0].target.to_text()), alias.ttl
        target = alias[0].target
    rrset = response.get_rrset(response.answer, target, IN, T.TXT)
    texts = tuple(_txt_text(r) for r in rrset) if rrset is not None else ()
    if rrset is not None:
        ttl = rrset.ttl if ttl is None else min(ttl, rrset.ttl)
    elif ttl is None:
        soa = next((r for r in response.authority if r.rdtype == T.SOA), None)
        ttl = min(soa.ttl, soa[0].minimum) if soa is not None else None
    return Lookup(status, texts, cname, ttl)


def _soa_owner(response: dns.message.Message, name: str) -> str | None:
    qname = dns.name.from_text(name)
    if response.get_rrset(response.answer, qname, IN, T.CNAME) is not None:
        return None  # a CNAME is never a zone apex; what follows describes the target's zone
    if response.get_rrset(response.answer, qname, IN, T.SOA) is not None:
        return norm(name)
    for rrset in response.authority:
        if rrset.rdtype == T.SOA and qname.is_subdomain(rrset.name):
            return norm(rrset.name.to_text())
    return None


def _parent(zone: str) -> str | None:
    parent = zone.partition(".")[2]
    return parent if "." in parent else None  # a top-level domain's delegation is the registrar's


def _place(
    domain: str, given: str | None, cut: str | None, servfail: str | None, answered: bool
) -> tuple[str, str | None, Delegation]:
    """(the zone to judge the records in, the zone that must delegate it, the delegation status)."""
    if not answered:
        return given or cut or domain, _parent(given or domain), Delegation.UNKNOWN
    if servfail and (cut is None or servfail.endswith("." + cut)):
        labels = servfail.split(".")
        depth = len(cut.split(".")) + 1 if cut else len(labels)
        lame = ".".join(labels[-depth:])
        return given or lame, cut, Delegation.LAME
    if cut is None or "." not in cut:  # nothing public, or only the top-level domain: not registered
        return given or _parent(domain) or domain, None, Delegation.NOT_DELEGATED
    if given and given != cut and given.endswith("." + cut):  # a child zone its parent does not delegate
        return given, cut, Delegation.NOT_DELEGATED
    return cut, _parent(cut), Delegation.DELEGATED


__all__ = ["DnsLookup", "to_lookup"]
