"""Live DNS checks before verification: is the zone delegated, and do its name servers serve the records?

Two kinds of query, as in the real world:
- authoritative (RD=0): asked directly of the zone's own (Azure) name servers. They answer for the zone
  whether or not it is delegated, so they tell whether a record written through ARM is served yet.
- resolver (RD=1): asked of a recursive resolver, which follows delegation from the root. Only this
  shows what ACS (and every mail receiver) sees, so it decides whether the zone is delegated.

With `--dns-server` overrides every query of both kinds goes to those servers. Without them resolver
queries use the system's resolver configuration and authoritative queries go to the zone's name
servers, whose addresses are looked up through that resolver first.

No method that checks records raises on timeouts or network errors: an unanswered query counts as
"not served" / "no answer". Each query is bounded by the checker's `timeout`.

`probe()` asks every resolver once, cheaply, so a resolver that does not answer is known before anything
is written; `delegation()` reports a resolver that did not answer (`DelegationState.NO_ANSWER`) apart
from a zone that is not delegated.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import socket
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import StrEnum

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.nameserver
import dns.query
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.resolver

from provisioner.errors import UsageError
from provisioner.model import RecordType
from provisioner.options import DEFAULT_DNS_TIMEOUT

_QUERY_ERRORS: tuple[type[BaseException], ...] = (dns.exception.DNSException, OSError, EOFError, ValueError)
_HOST_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)", re.IGNORECASE)
_EDNS_PAYLOAD = 1232

logger = logging.getLogger(__name__)


# ---- addresses -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DnsServerAddress:
    """A DNS server to send every query to (`--dns-server`). `host` is an IP address or a host name."""

    host: str
    port: int = 53

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == 53 else f"{host}:{self.port}"


def _usage(text: str, why: str) -> UsageError:
    return UsageError(
        f"--dns-server {text!r}: {why}",
        "give HOST or HOST:PORT (e.g. 10.0.0.2, 10.0.0.2:5353, dns.example.net) or [IPV6]:PORT ([::1]:53)",
    )


def _valid_host(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    name = host[:-1] if host.endswith(".") else host
    return 0 < len(name) <= 253 and all(_HOST_LABEL.fullmatch(label) for label in name.split("."))


def parse_dns_server(text: str) -> DnsServerAddress:
    """Parse `HOST`, `HOST:PORT`, `[IPV6]`, `[IPV6]:PORT` or a bare IPv6 address (port 53)."""
    raw = text.strip()
    if not raw:
        raise _usage(text, "empty value")
    port_text: str | None = None
    if raw.startswith("["):
        close = raw.find("]")
        if close < 0:
            raise _usage(text, "missing ']' after the IPv6 address")
        host, rest = raw[1:close], raw[close + 1 :]
        if rest:
            if not rest.startswith(":"):
                raise _usage(text, f"unexpected {rest!r} after ']'")
            port_text = rest[1:]
        try:
            if ipaddress.ip_address(host).version != 6:
                raise ValueError
        except ValueError:
            raise _usage(text, f"{host!r} in brackets is not an IPv6 address") from None
    elif raw.count(":") > 1:  # a bare IPv6 address: no port possible without brackets
        host = raw
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise _usage(
                text, f"{host!r} is not an IPv6 address (write [IPV6]:PORT to give a port)"
            ) from None
    else:
        host, sep, port_text_ = raw.partition(":")
        port_text = port_text_ if sep else None
        if not _valid_host(host):
            raise _usage(text, f"{host!r} is not an IP address or host name")
    if port_text is None:
        return DnsServerAddress(host, 53)
    if not port_text.isascii() or not port_text.isdigit():
        raise _usage(text, f"port {port_text!r} is not a number")
    port = int(port_text)
    if not 1 <= port <= 65535:
        raise _usage(text, f"port {port} is out of range 1-65535")
    return DnsServerAddress(host, port)


# ---- values ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ExpectedRecord:
    """A record that must be served. TXT: the full text of one record (its strings joined); CNAME: target."""

    fqdn: str
    type: RecordType
    value: str

    def __post_init__(self) -> None:
        rtype = RecordType(self.type)
        if rtype not in (RecordType.TXT, RecordType.CNAME):
            raise ValueError(f"only TXT and CNAME records can be checked, not {rtype}")
        object.__setattr__(self, "type", rtype)
        try:
            dns.name.from_text(self.fqdn)
        except dns.exception.DNSException as exc:
            raise ValueError(f"{self.fqdn!r} is not a valid DNS name: {exc}") from None


class DelegationState(StrEnum):
    DELEGATED = "delegated"
    NOT_DELEGATED = "not-delegated"  # NXDOMAIN, no NS set, or other name servers: fix at the registrar/parent
    RESOLUTION_FAILED = (
        "resolution-failed"  # the resolver answered with a failure (a lame delegation looks so)
    )
    NO_ANSWER = "no-answer"  # the resolver did not answer: delegation unknown; fix the resolver, not the zone


@dataclass(frozen=True)
class DelegationStatus:
    """`expected`: the Azure zone's name servers; `found`: the NS set public DNS returned (normalised)."""

    delegated: bool
    expected: tuple[str, ...]
    found: tuple[str, ...]
    detail: str
    state: DelegationState = DelegationState.NOT_DELEGATED


class ResolverState(StrEnum):
    ANSWERED = "answered"
    UNREACHABLE = "unreachable"  # no DNS answer within the timeout (or no resolver configured)


@dataclass(frozen=True)
class ResolverStatus:
    """What `DnsChecker.probe()` found. `servers`: every resolver asked (`--dns-server` values, or the
    system's); `unanswered`: those that gave no answer; `elapsed`: seconds the probe took."""

    state: ResolverState
    servers: tuple[str, ...]
    unanswered: tuple[str, ...]
    elapsed: float
    detail: str

    @property
    def answered(self) -> bool:
        return self.state is ResolverState.ANSWERED


def resolver_error(status: ResolverStatus) -> UsageError | None:
    """The error to stop on, before anything is written, when the DNS checks could not work."""
    if status.answered:
        return None
    return UsageError(
        status.detail,
        "give --dns-server a resolver that answers from here (HOST or HOST:PORT), or leave it out to use "
        "the system resolver; DNS needs UDP and TCP port 53 (or the port given) to be reachable; a slow "
        "one needs a longer --dns-timeout",
    )


def _norm(name: str) -> str:
    return name.strip().rstrip(".").lower()


def _unique(names: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(_norm(n) for n in names if _norm(n)))


@dataclass(frozen=True)
class _Target:
    """Where authoritative queries for one name server go. `label` is what reports call it."""

    label: str
    host: str
    port: int


class _Unreachable(Exception):
    pass


# ---- the checker -----------------------------------------------------------------------------------
class DnsChecker:
    def __init__(
        self, servers: Sequence[DnsServerAddress] = (), timeout: float = DEFAULT_DNS_TIMEOUT
    ) -> None:
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        self.servers = tuple(servers)
        self.timeout = timeout
        self._resolver_obj: dns.resolver.Resolver | None = None
        self._addresses: dict[tuple[str, int], tuple[str, ...]] = {}

    # ---- resolver (RD=1) ----------------------------------------------------------------------------
    def _resolver(self) -> dns.resolver.Resolver:
        """The recursive resolver: the overrides, or the system configuration (may raise DNSException)."""
        if self._resolver_obj is None:
            self._resolver_obj = self._make_resolver(self.servers)
        return self._resolver_obj

    def _make_resolver(self, servers: Sequence[DnsServerAddress]) -> dns.resolver.Resolver:
        """A resolver asking `servers` (none: the system configuration), bounded by the checker's timeout."""
        if servers:
            resolver = dns.resolver.Resolver(configure=False)
            resolver.nameservers = [
                dns.nameserver.Do53Nameserver(address, server.port)
                for server in servers
                for address in self._server_addresses(server)
            ]
        else:
            resolver = dns.resolver.Resolver()
        resolver.timeout = self.timeout
        resolver.lifetime = self.timeout
        resolver.cache = None
        return resolver

    # ---- probe --------------------------------------------------------------------------------------
    def probe(self) -> ResolverStatus:
        """Ask each resolver one cheap question (the root's NS set, RD=1): any DNS answer, even a refusal,
        shows it is there. With `--dns-server` every server must answer (each is asked for records);
        without, the system resolver must (dnspython fails over between its name servers)."""
        start = time.monotonic()
        if self.servers:
            labels = tuple(str(s) for s in self.servers)

            def ask(server: DnsServerAddress) -> bool:
                try:
                    return _answers(self._make_resolver([server]))
                except _QUERY_ERRORS:  # a host name that does not resolve
                    return False

            with ThreadPoolExecutor(max_workers=len(self.servers)) as pool:
                answered = list(pool.map(ask, self.servers))
            unanswered = tuple(label for label, ok in zip(labels, answered, strict=True) if not ok)
            what = "--dns-server " + ", ".join(unanswered)
        else:
            labels = (self._resolver_text(),)
            try:
                ok = _answers(self._resolver())
            except _QUERY_ERRORS:  # no resolver configured
                ok = False
            unanswered = () if ok else labels
            what = labels[0]
        elapsed = time.monotonic() - start
        if unanswered:
            detail = (
                f"{what} did not answer a DNS query within {self.timeout:g}s, so acs-dns cannot check the "
                "zone's delegation or that its name servers serve the records"
            )
            state = ResolverState.UNREACHABLE
        else:
            detail = f"{', '.join(labels)} answered in {elapsed:.2f}s"
            state = ResolverState.ANSWERED
        logger.debug("resolver probe: %s", detail)
        return ResolverStatus(state, labels, unanswered, elapsed, detail)

    def _resolver_text(self) -> str:
        if self.servers:
            return ", ".join(str(s) for s in self.servers)
        try:
            listed = ", ".join(str(ns) for ns in self._resolver().nameservers)
        except _QUERY_ERRORS:
            listed = "none configured"
        return f"the system resolver ({listed})"

    def resolve_txt(self, name: str) -> list[str]:
        """The TXT texts (strings joined) at `name` as a resolver sees them; [] when none or no answer."""
        try:
            qname = dns.name.from_text(name)
            answer = self._resolver().resolve(qname, "TXT", raise_on_no_answer=False, search=False)
        except _QUERY_ERRORS:
            return []
        if answer.rrset is None:
            return []
        return [_txt_text(rdata) for rdata in answer.rrset]

    # ---- delegation ---------------------------------------------------------------------------------
    def delegation(
        self, zone: str, azure_name_servers: Sequence[str], *, parent_zone: str | None = None
    ) -> DelegationStatus:
        """Ask the resolver for the zone's NS set; delegated iff it equals the Azure zone's name servers.

        `parent_zone`: the zone that must delegate `zone` (an NS record set in it), when `zone` is a child
        zone; without it the parent is guessed from the answer (else the fix names the registrar).
        """
        zone_n = _norm(zone)
        expected = _unique(azure_name_servers)
        want = ", ".join(expected) or "(none given)"
        resolver = self._resolver_text()
        found: tuple[str, ...] = ()
        soa_owner: str | None = None
        state = DelegationState.NOT_DELEGATED
        try:
            answer = self._resolver().resolve(zone_n + ".", "NS", raise_on_no_answer=False, search=False)
        except dns.resolver.NXDOMAIN as exc:
            soa_owner = _soa_owner(_nx_response(exc, zone_n))
            what = f"{zone_n} does not exist in public DNS (NXDOMAIN from the resolver {resolver})"
        except dns.resolver.NoNameservers as exc:
            if not _any_response(exc):
                return _no_answer(zone_n, expected, resolver, self.timeout, exc)
            what = (
                f"the resolver {resolver} failed to resolve {zone_n} ({exc}); a lame delegation (NS records "
                "naming name servers that do not serve the zone) looks like this"
            )
            state = DelegationState.RESOLUTION_FAILED
        except _QUERY_ERRORS as exc:
            return _no_answer(zone_n, expected, resolver, self.timeout, exc)
        else:
            if answer.rrset is not None:
                found = tuple(sorted({_norm(r.target.to_text()) for r in answer.rrset}))
            if not found:
                soa_owner = _soa_owner(answer.response)
                what = f"{zone_n} has no NS records in public DNS (answer from {resolver})"
                if soa_owner and soa_owner != zone_n:
                    what += f"; names under it are answered by the zone {soa_owner}"
            elif set(found) == set(expected) and expected:
                return DelegationStatus(
                    True,
                    expected,
                    found,
                    f"{zone_n} is delegated to its Azure DNS name servers ({want}).",
                    DelegationState.DELEGATED,
                )
            else:
                what = f"{zone_n} is delegated to other name servers: {', '.join(found)}"
                absent = [n for n in expected if n not in found]
                extra = [n for n in found if n not in expected]
                if absent:
                    what += f"; expected but absent: {', '.join(absent)}"
                if extra:
                    what += f"; not this Azure zone's: {', '.join(extra)}"
        parent = parent_zone and _norm(parent_zone)
        if not parent and soa_owner and soa_owner != zone_n and zone_n.endswith("." + soa_owner):
            parent = soa_owner if soa_owner.count(".") >= 1 else None
        if parent:
            relative = zone_n[: -len(parent) - 1] if zone_n.endswith("." + parent) else zone_n
            fix = (
                f"In the parent zone {parent}, create an NS record set named '{relative}' with exactly "
                f"these name servers: {want}."
            )
        else:
            fix = f"Set the domain's name servers at its registrar to exactly: {want}."
            if zone_n.count(".") >= 2:
                head, _, rest = zone_n.partition(".")
                fix += (
                    f" (If {zone_n} is a child of a zone you host, {rest}, create an NS record set named "
                    f"'{head}' there with them instead.)"
                )
        verdict = "The Azure DNS zone is not delegated: ACS and mail receivers cannot see its records."
        detail = f"{what}. {verdict} {fix}" if state is DelegationState.NOT_DELEGATED else f"{what}. {fix}"
        return DelegationStatus(False, expected, found, detail, state)

    # ---- authoritative (RD=0) -----------------------------------------------------------------------
    def missing(
        self, name_servers: Sequence[str], expected: Sequence[ExpectedRecord]
    ) -> list[tuple[str, ExpectedRecord]]:
        """(name server, record) pairs a name server, asked directly, does not serve yet.

        With overrides, each override server stands in for all the zone's name servers and is reported by
        its address. A name server that does not answer one query is not asked again in this call: all its
        remaining records count as not served.
        """
        pairs = [(target, record) for target in self._targets(name_servers) for record in expected]
        return self._missing_pairs(pairs)

    def wait_until_served(
        self,
        name_servers: Sequence[str],
        expected: Sequence[ExpectedRecord],
        timeout: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        interval: float = 1.0,
    ) -> list[tuple[str, ExpectedRecord]]:
        """Poll until every name server serves every record or `timeout` passes; returns what is missing."""
        deadline = clock() + timeout
        pairs = [(target, record) for target in self._targets(name_servers) for record in expected]
        while True:
            left = self._missing_pairs(pairs)
            if not left:
                return []
            now = clock()
            if now >= deadline:
                return left
            still = set(left)
            pairs = [(t, r) for t, r in pairs if (t.label, r) in still]
            sleep(max(0.0, min(interval, deadline - now)))

    def _targets(self, name_servers: Sequence[str]) -> list[_Target]:
        if self.servers:
            return [_Target(str(s), s.host, s.port) for s in self.servers]
        names = _unique(name_servers)
        if not names:
            raise ValueError("no name servers to ask")
        return [_Target(n, n, 53) for n in names]

    def _missing_pairs(
        self, pairs: Sequence[tuple[_Target, ExpectedRecord]]
    ) -> list[tuple[str, ExpectedRecord]]:
        by_target: dict[_Target, list[ExpectedRecord]] = {}
        for target, record in pairs:
            by_target.setdefault(target, []).append(record)
        jobs = list(by_target.items())
        if len(jobs) <= 1:
            results = [self._missing_at(t, records) for t, records in jobs]
        else:
            with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
                results = list(pool.map(lambda job: self._missing_at(*job), jobs))
        return [
            (target.label, record)
            for (target, _), absent in zip(jobs, results, strict=True)
            for record in absent
        ]

    def _missing_at(self, target: _Target, records: list[ExpectedRecord]) -> list[ExpectedRecord]:
        answers: dict[tuple[str, RecordType], list[str] | None] = {}
        absent: list[ExpectedRecord] = []
        dead = False
        for record in records:
            key = (_norm(record.fqdn), record.type)
            if key not in answers:
                answers[key] = None
                if not dead:
                    try:
                        answers[key] = self._authoritative(target, record.fqdn, record.type)
                    except _Unreachable:
                        dead = True
            if not _served(record, answers[key]):
                absent.append(record)
        return absent

    def _authoritative(self, target: _Target, fqdn: str, rtype: RecordType) -> list[str]:
        """Values (TXT joined texts / CNAME targets) `target` serves for fqdn/rtype, asked with RD=0.

        Raises `_Unreachable` when no address of the server answered within the timeout."""
        qname = dns.name.from_text(fqdn)
        query = dns.message.make_query(qname, rtype.value, use_edns=0, payload=_EDNS_PAYLOAD)
        query.flags &= ~dns.flags.RD
        try:
            addresses = self._target_addresses(target)
        except _QUERY_ERRORS as exc:
            raise _Unreachable(str(exc)) from None
        deadline = time.monotonic() + self.timeout  # shared by the server's addresses: one query's budget
        for address in addresses:
            response = _query(query, address, target.port, deadline)
            if response is None:
                continue
            if response.rcode() != dns.rcode.NOERROR:
                return []
            rrset = response.get_rrset(
                response.answer, qname, dns.rdataclass.IN, dns.rdatatype.from_text(rtype.value)
            )
            if rrset is None:
                return []
            if rtype is RecordType.TXT:
                return [_txt_text(rdata) for rdata in rrset]
            return [_norm(rdata.target.to_text()) for rdata in rrset]
        raise _Unreachable(target.label)

    def _target_addresses(self, target: _Target) -> tuple[str, ...]:
        if self.servers:
            return self._server_addresses(DnsServerAddress(target.host, target.port))
        key = (target.host, target.port)
        cached = self._addresses.get(key)
        if cached:
            return cached
        if _is_ip(target.host):
            return (target.host,)
        found: list[str] = []
        resolver = self._resolver()
        for rtype in ("A", "AAAA"):  # IPv6 only when the name server has no IPv4 address
            try:
                answer = resolver.resolve(target.host + ".", rtype, raise_on_no_answer=False, search=False)
            except _QUERY_ERRORS:
                continue
            if answer.rrset is not None:
                found.extend(rdata.address for rdata in answer.rrset)
            if found:
                break
        if found:
            self._addresses[key] = tuple(found)
        return tuple(found)

    def _server_addresses(self, server: DnsServerAddress) -> tuple[str, ...]:
        """An override's addresses: itself when an IP address, else its host name resolved (IPv4 first)."""
        if _is_ip(server.host):
            return (server.host,)
        key = (server.host, server.port)
        if key not in self._addresses:
            infos = socket.getaddrinfo(server.host, server.port, type=socket.SOCK_DGRAM)
            ordered = sorted(infos, key=lambda info: info[0] != socket.AF_INET)
            self._addresses[key] = tuple(dict.fromkeys(str(info[4][0]) for info in ordered))
        return self._addresses[key]


# ---- helpers ---------------------------------------------------------------------------------------
def _answers(resolver: dns.resolver.Resolver) -> bool:
    """Whether the resolver gives any DNS answer (even NXDOMAIN or a refusal) to the root's NS query."""
    try:
        resolver.resolve(dns.name.root, "NS", raise_on_no_answer=False, search=False)
    except (dns.resolver.NXDOMAIN, dns.resolver.YXDOMAIN):
        return True
    except dns.resolver.NoNameservers as exc:
        return _any_response(exc)
    except _QUERY_ERRORS:
        return False
    return True


def _any_response(exc: dns.resolver.NoNameservers) -> bool:
    """Whether any server behind a NoNameservers failure sent a DNS response (else none answered)."""
    errors = exc.kwargs.get("errors") or []
    return any(len(entry) >= 5 and entry[4] is not None for entry in errors)


def _no_answer(
    zone: str, expected: tuple[str, ...], resolver: str, timeout: float, exc: BaseException
) -> DelegationStatus:
    detail = (
        f"the resolver {resolver} did not answer the NS query for {zone} within {timeout:g}s ({exc}), so "
        f"whether {zone} is delegated (to {', '.join(expected) or 'its Azure name servers'}) is unknown. "
        "This is a problem with the resolver, not the zone: give --dns-server a resolver that answers from "
        "here, or leave it out to use the system resolver."
    )
    return DelegationStatus(False, expected, (), detail, DelegationState.NO_ANSWER)


def _query(
    query: dns.message.Message, address: str, port: int, deadline: float
) -> dns.message.Message | None:
    """One query over UDP, then TCP if truncated, within `deadline`; None when there was no usable answer."""
    try:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        response = dns.query.udp(query, address, timeout=remaining, port=port, ignore_unexpected=True)
        if response.flags & dns.flags.TC:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            response = dns.query.tcp(query, address, timeout=remaining, port=port)
    except _QUERY_ERRORS:
        return None
    return response


def _served(record: ExpectedRecord, values: list[str] | None) -> bool:
    if not values:
        return False
    if record.type is RecordType.TXT:
        return record.value in values
    return _norm(record.value) in values


def _txt_text(rdata: object) -> str:
    strings: tuple[bytes, ...] = rdata.strings  # type: ignore[attr-defined]
    return b"".join(strings).decode("utf-8", errors="replace")


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _soa_owner(response: dns.message.Message | None) -> str | None:
    if response is None:
        return None
    for rrset in response.authority:
        if rrset.rdtype == dns.rdatatype.SOA:
            return _norm(rrset.name.to_text())
    return None


def _nx_response(exc: dns.resolver.NXDOMAIN, zone: str) -> dns.message.Message | None:
    try:
        return exc.response(dns.name.from_text(zone))
    except (KeyError, dns.exception.DNSException):
        responses = list(exc.kwargs.get("responses", {}).values())
        return responses[0] if responses else None


__all__ = [
    "DelegationState",
    "DelegationStatus",
    "DnsChecker",
    "DnsServerAddress",
    "ExpectedRecord",
    "ResolverState",
    "ResolverStatus",
    "parse_dns_server",
    "resolver_error",
]
