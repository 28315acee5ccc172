"""Decides ACS domain verification from what the sandbox's DNS server publicly serves.

`initiateVerification` only *requests* a check; the domain's `verificationStates.<type>.status` then goes
VerificationRequested -> VerificationInProgress -> Verified | VerificationFailed. Progress is evaluated lazily,
whenever the domain is read: the first read at least `verify_delay` seconds after the request decides the
outcome ONCE, from a recursive (RD=1) query to the sandbox DNS server, i.e. what the public internet would see
at that moment (delegation and propagation included), never from the zone tables. A later DNS change does
not alter a decided state; initiating again starts over.

GUESS: the failure `errorCode`s below (TxtRecordNotFound, SpfRecordNotFound, SpfRecordInvalid,
CnameRecordNotFound, CnameRecordInvalid, DmarcRecordNotFound, DmarcRecordInvalid) are sandbox-invented: the
real values are not documented. A state without a failure reports `"errorCode": ""`, as the spec examples do.
DMARC is decided like the others, from the `_dmarc.<domain>` TXT served publicly: exactly one `v=DMARC1`
record (RFC 7489 §6.6.3: with several, receivers apply none).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rdataclass
import dns.rdatatype

from acs_sandbox.state import EmailDomainState, SandboxState

VERIFICATION_TYPES = ("Domain", "SPF", "DKIM", "DKIM2", "DMARC")
SPF_INCLUDE = "include:spf.protection.outlook.com"
DKIM_SELECTORS = {"DKIM": "selector1-azurecomm-prod-net", "DKIM2": "selector2-azurecomm-prod-net"}


def dkim_record_name(kind: str) -> str:
    """The DKIM CNAME's name relative to the email domain."""
    return f"{DKIM_SELECTORS[kind]}._domainkey"


def dkim_target(kind: str) -> str:
    return f"{DKIM_SELECTORS[kind]}._domainkey.azurecomm.net"


@dataclass
class _Pending:
    requested_at: float
    cancelling: bool = False


class Verifier:
    """Tracks requested verifications and advances them on read (`refresh`).

    Call `refresh` without holding `state.lock`: it queries the DNS server, which reads the state.
    """

    def __init__(self, state: SandboxState, dns_address: tuple[str, int], verify_delay: float = 0.0) -> None:
        self.state = state
        self.dns_address = dns_address
        self.verify_delay = verify_delay
        self.timeout = 2.0
        self.clock: Callable[[], float] = time.monotonic
        self._lock = threading.Lock()
        # id(domain) -> (domain, kind -> pending); the strong reference keeps the id from being reused
        self._pending: dict[int, tuple[EmailDomainState, dict[str, _Pending]]] = {}

    # ---- requests --------------------------------------------------------------------------------
    def initiate(self, domain: EmailDomainState, kind: str) -> None:
        with self._lock:
            self._pending_for(domain)[kind] = _Pending(self.clock())
            self._set(domain, kind, "VerificationRequested")

    def cancel(self, domain: EmailDomainState, kind: str) -> None:
        """A verified type stays verified; anything else goes CancellationRequested -> NotStarted."""
        with self._lock:
            pending = self._pending_for(domain)
            if kind not in pending and domain.verification_states.get(kind, {}).get("status") == "Verified":
                return
            pending[kind] = _Pending(self.clock(), cancelling=True)
            self._set(domain, kind, "CancellationRequested")

    def forget(self, domain: EmailDomainState) -> None:
        with self._lock:
            self._pending.pop(id(domain), None)

    def refresh(self, domain: EmailDomainState) -> None:
        """Bring `domain.verification_states` up to date with the time elapsed since each request. The DNS
        checks of the types that are due run outside the lock, so one domain's checks never hold up the
        requests and reads of the others."""
        due: list[str] = []
        with self._lock:
            entry = self._pending.get(id(domain))
            if entry is None or entry[0] is not domain:
                return
            pending = entry[1]
            now = self.clock()
            for kind, item in list(pending.items()):
                elapsed = now - item.requested_at
                if elapsed >= self.verify_delay:
                    del pending[kind]
                    if item.cancelling:
                        self._set(domain, kind, "NotStarted")
                    else:
                        due.append(kind)
                elif not item.cancelling and elapsed >= self.verify_delay / 2:
                    self._set(domain, kind, "VerificationInProgress")
            if not pending:
                del self._pending[id(domain)]
        outcomes = {kind: self.check(domain, kind) for kind in due}
        with self._lock:
            again = self._pending.get(id(domain))
            for kind, error in outcomes.items():
                if again is not None and again[0] is domain and kind in again[1]:
                    continue  # started again while it was checked: the new request decides
                self._set(domain, kind, "VerificationFailed" if error else "Verified", error)

    def stop(self) -> None:
        with self._lock:
            self._pending.clear()

    def _pending_for(self, domain: EmailDomainState) -> dict[str, _Pending]:
        entry = self._pending.get(id(domain))
        if entry is None or entry[0] is not domain:
            entry = (domain, {})
            self._pending[id(domain)] = entry
        return entry[1]

    def _set(self, domain: EmailDomainState, kind: str, status: str, error: str | None = None) -> None:
        record = {"status": status}
        if error:
            record["errorCode"] = error
        with self.state.lock:
            domain.verification_states[kind] = record

    # ---- the DNS check -------------------------------------------------------------------------------
    def check(self, domain: EmailDomainState, kind: str) -> str | None:
        """None when the publicly served DNS satisfies `kind`, else a (sandbox-invented) error code."""
        name = domain.name
        if kind == "Domain":
            expected = f"ms-domain-verification={domain.verification_token}"
            return None if expected in self.txt(name) else "TxtRecordNotFound"
        if kind == "SPF":
            return spf_error(self.txt(name))
        if kind in DKIM_SELECTORS:
            targets = self.cname(f"{dkim_record_name(kind)}.{name}")
            if not targets:
                return "CnameRecordNotFound"
            return None if targets[0].lower() == dkim_target(kind) else "CnameRecordInvalid"
        if kind == "DMARC":
            return dmarc_error(self.txt(f"_dmarc.{name}"))
        raise ValueError(kind)

    def txt(self, name: str) -> list[str]:
        """The TXT strings served at `name` (following CNAMEs), each record's character-strings joined."""
        response = self._query(name, dns.rdatatype.TXT)
        if response is None:
            return []
        target = dns.name.from_text(name)
        for _ in range(8):
            alias = response.get_rrset(response.answer, target, dns.rdataclass.IN, dns.rdatatype.CNAME)
            if alias is None:
                break
            target = alias[0].target
        rrset = response.get_rrset(response.answer, target, dns.rdataclass.IN, dns.rdatatype.TXT)
        if rrset is None:
            return []
        return [b"".join(rdata.strings).decode(errors="replace") for rdata in rrset]

    def cname(self, name: str) -> list[str]:
        """The CNAME target(s) served at `name`, lower-case without the trailing dot."""
        response = self._query(name, dns.rdatatype.CNAME)
        if response is None:
            return []
        rrset = response.get_rrset(
            response.answer, dns.name.from_text(name), dns.rdataclass.IN, dns.rdatatype.CNAME
        )
        if rrset is None:
            return []
        return [rdata.target.to_text(omit_final_dot=True).lower() for rdata in rrset]

    def _query(self, name: str, rdtype: dns.rdatatype.RdataType) -> dns.message.Message | None:
        # RD=1: answered the way a public recursive resolver would see it (delegation followed)
        query = dns.message.make_query(name, rdtype, flags=dns.flags.RD)
        host, port = self.dns_address
        try:
            response, _ = dns.query.udp_with_fallback(query, host, timeout=self.timeout, port=port)
        except (dns.exception.DNSException, OSError):
            return None
        return response


_DMARC_VERSION = re.compile(r"v\s*=\s*DMARC1\s*(;|\Z)")
_DMARC_POLICY = re.compile(r"(^|;)\s*p\s*=\s*(none|quarantine|reject)\s*(;|\Z)", re.IGNORECASE)


def dmarc_error(values: list[str]) -> str | None:
    """Exactly one DMARC record (RFC 7489 §6.6.3: records not starting `v=DMARC1` are not DMARC records;
    with several, receivers apply none), with a valid `p` policy (GUESS: the service's own rule is
    undocumented)."""
    records = [v for v in values if _DMARC_VERSION.match(v)]
    if not records:
        return "DmarcRecordNotFound"
    if len(records) > 1 or not _DMARC_POLICY.search(records[0]):
        return "DmarcRecordInvalid"
    return None


def spf_error(values: list[str]) -> str | None:
    """Exactly one `v=spf1` record, including ACS's include, ending with `-all` (`~all` fails, per the docs)."""
    records = [v for v in values if v.lower() == "v=spf1" or v.lower().startswith("v=spf1 ")]
    if not records:
        return "SpfRecordNotFound"
    if len(records) > 1:
        return "SpfRecordInvalid"
    terms = records[0].lower().split()
    if SPF_INCLUDE not in terms or terms[-1] != "-all":
        return "SpfRecordInvalid"
    return None


__all__ = [
    "DKIM_SELECTORS",
    "VERIFICATION_TYPES",
    "Verifier",
    "dkim_record_name",
    "dkim_target",
    "dmarc_error",
    "spf_error",
]
