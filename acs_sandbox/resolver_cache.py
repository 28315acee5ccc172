"""The sandbox resolver's cache: what a recursive resolver remembers between queries (RFC 1035 §7.4,
RFC 2308 for negative answers), so "the resolver still caches the old answer for N more seconds" can be
produced and observed.

An answer is kept for the smallest TTL of its record sets; NXDOMAIN and NODATA for the TTL of the SOA in
the authority section (the zone's negative TTL). SERVFAIL and REFUSED are not kept. A later query gets the
cached record sets with their TTL decreased by the whole seconds elapsed. Off unless enabled (the sandbox's
resolver otherwise sees every change after `--propagation-delay`); `flush()` forgets everything, or one name.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import dns.name
import dns.rcode
import dns.rdatatype
import dns.rrset

from acs_sandbox.dns_view import Outcome

MAX_ENTRIES = 10000
CACHED_RCODES = (dns.rcode.NOERROR, dns.rcode.NXDOMAIN)


@dataclass(frozen=True)
class _Entry:
    outcome: Outcome
    stored_at: float
    ttl: int


def _aged(rrsets: list[dns.rrset.RRset], elapsed: int) -> list[dns.rrset.RRset]:
    return [dns.rrset.from_rdata_list(r.name, max(0, r.ttl - elapsed), r) for r in rrsets]


class ResolverCache:
    def __init__(self, clock: Callable[[], float] = time.monotonic, *, enabled: bool = False) -> None:
        self.clock = clock
        self.enabled = enabled
        self._lock = threading.Lock()
        self._entries: dict[tuple[dns.name.Name, int], _Entry] = {}

    @staticmethod
    def ttl_of(outcome: Outcome) -> int | None:
        """How long an outcome may be kept, or None when it must not be."""
        if outcome.rcode not in CACHED_RCODES:
            return None
        if outcome.answer and outcome.rcode == dns.rcode.NOERROR:
            return min(r.ttl for r in outcome.answer)
        soa = [r for r in outcome.authority if r.rdtype == dns.rdatatype.SOA]
        return min(r.ttl for r in soa) if soa else None

    def lookup(self, qname: dns.name.Name, qtype: int) -> Outcome | None:
        """The cached outcome with its TTLs aged, or None (absent, expired or the cache is off)."""
        if not self.enabled:
            return None
        key = (qname.canonicalize(), qtype)
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            elapsed = self.clock() - entry.stored_at
            if elapsed >= entry.ttl:
                del self._entries[key]
                return None
        whole = math.floor(elapsed)
        cached = entry.outcome
        return Outcome(cached.rcode, _aged(cached.answer, whole), _aged(cached.authority, whole), False)

    def store(self, qname: dns.name.Name, qtype: int, outcome: Outcome) -> None:
        if not self.enabled:
            return
        ttl = self.ttl_of(outcome)
        if not ttl:
            return
        with self._lock:
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.pop(next(iter(self._entries)))
            self._entries[(qname.canonicalize(), qtype)] = _Entry(outcome, self.clock(), ttl)

    def flush(self, name: str | None = None) -> int:
        """Forget every entry (or those for one name); how many were forgotten."""
        with self._lock:
            if name is None:
                count = len(self._entries)
                self._entries.clear()
                return count
            target = dns.name.from_text(name).canonicalize()
            keys = [k for k in self._entries if k[0] == target]
            for key in keys:
                del self._entries[key]
            return len(keys)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)


__all__ = ["ResolverCache"]
