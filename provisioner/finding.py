"""A finding: one problem with an email domain's DNS or verification, with its code, severity and fix. Pure.

Every code is listed in `CODES` (and documented in the README): its severity (`error`: verification fails
or mail breaks; `warning`: works now but fragile, transient or wrong by RFC; `info`) and one-line meaning.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from provisioner.model import KIND_ORDER, VerificationKind


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


SEVERITY_ORDER = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}


@dataclass(frozen=True)
class FixInstruction:
    """One step of a fix. Record steps name the record (`host` relative to the zone, "@" at the apex, and
    `fqdn`); a step that is not a record change (wait, run `acs-dns verify`) has only `text`."""

    text: str
    action: str | None = None  # "create" | "change" | "delete"
    type: str | None = None
    host: str | None = None
    fqdn: str | None = None
    value: str | None = None


@dataclass(frozen=True)
class Finding:
    code: str
    severity: Severity
    kind: VerificationKind | None
    name: str
    message: str
    found: tuple[str, ...] = ()
    expected: str | None = None
    fix: tuple[FixInstruction, ...] = ()
    cause: str | None = None  # the underlying code, for the *-changed-after-verification findings


# ---- the codes ---------------------------------------------------------------------------------------
CODES: dict[str, tuple[Severity, str]] = {
    "resolver-unreachable": (Severity.ERROR, "the recursive resolver (or --dns-server) did not answer"),
    "nameserver-unreachable": (Severity.WARNING, "a zone name server did not answer (error if none did)"),
    "zone-not-delegated": (Severity.ERROR, "public DNS does not reach name servers that serve the zone"),
    "cname-at-domain": (Severity.ERROR, "a CNAME at the domain name: no TXT record can exist there"),
    "domain-txt-missing": (Severity.ERROR, "no ms-domain-verification TXT at the domain name"),
    "domain-txt-wrong-token": (Severity.ERROR, "an ms-domain-verification value with another token"),
    "domain-txt-removed": (Severity.INFO, "the token is gone after Domain was Verified (it may be deleted)"),
    "record-at-doubled-name": (Severity.ERROR, "the record sits at <name>.<zone>.<zone> (an FQDN pasted)"),
    "record-at-wrong-name": (Severity.ERROR, "the record sits at the zone's name instead of the domain's"),
    "value-quoted": (Severity.ERROR, "literal quote characters inside the value"),
    "spf-missing": (Severity.ERROR, "no v=spf1 TXT at the domain name"),
    "spf-multiple": (Severity.ERROR, "more than one v=spf1 record (RFC 7208 permerror)"),
    "spf-syntax-error": (Severity.ERROR, "the SPF record does not parse (RFC 7208 permerror)"),
    "spf-include-missing": (Severity.ERROR, "the SPF record lacks the include ACS requires"),
    "spf-not-hardfail": (Severity.ERROR, "the SPF record does not end with -all"),
    "spf-too-many-lookups": (Severity.ERROR, "the SPF record needs more than 10 DNS lookups"),
    "dkim-missing": (Severity.ERROR, "no CNAME at selector1-azurecomm-prod-net._domainkey.<domain>"),
    "dkim-wrong-target": (Severity.ERROR, "the DKIM CNAME points elsewhere"),
    "dkim-not-cname": (Severity.ERROR, "a TXT (e.g. the key pasted) instead of the DKIM CNAME"),
    "dkim2-missing": (Severity.ERROR, "no CNAME at selector2-azurecomm-prod-net._domainkey.<domain>"),
    "dkim2-wrong-target": (Severity.ERROR, "the DKIM2 CNAME points elsewhere"),
    "dkim2-not-cname": (Severity.ERROR, "a TXT instead of the DKIM2 CNAME"),
    "dmarc-missing": (Severity.ERROR, "the service expects a DMARC record and there is none"),
    "dmarc-multiple": (Severity.ERROR, "more than one DMARC record: receivers apply none"),
    "dmarc-invalid": (
        Severity.WARNING,
        "the DMARC record does not parse (error when the service expects DMARC)",
    ),
    "spf-changed-after-verification": (Severity.ERROR, "SPF was Verified, the record changed since"),
    "dkim-changed-after-verification": (Severity.ERROR, "DKIM was Verified, the CNAME changed since"),
    "dkim2-changed-after-verification": (Severity.ERROR, "DKIM2 was Verified, the CNAME changed since"),
    "dmarc-changed-after-verification": (Severity.ERROR, "DMARC was Verified, the record changed since"),
    "propagation-partial": (Severity.WARNING, "some name servers serve the record, others not yet"),
    "resolver-cache-stale": (Severity.WARNING, "name servers are right; the resolver caches an old answer"),
    "verification-not-started": (Severity.WARNING, "DNS is right; verification was never started"),
    "verification-failed-but-dns-ok": (Severity.WARNING, "verification failed earlier; DNS is right now"),
    "verification-in-progress": (Severity.INFO, "DNS is right; verification is running"),
}


def make_finding(code: str, kind: VerificationKind | None, name: str, message: str, **kw: object) -> Finding:
    return Finding(code, CODES[code][0], kind, name, message, **kw)  # type: ignore[arg-type]


def sort_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Errors first, then warnings, then info; within a severity in verification order."""
    return sorted(
        findings,
        key=lambda f: (
            SEVERITY_ORDER[f.severity],
            -1 if f.kind is None else KIND_ORDER[f.kind],
            f.code,
            f.name,
        ),
    )


def finding_json(finding: Finding) -> dict[str, object]:
    """The finding as the JSON document's `findings[]` entry."""
    return {
        "code": finding.code,
        "severity": finding.severity.value,
        "kind": None if finding.kind is None else finding.kind.value,
        "name": finding.name,
        "found": list(finding.found),
        "expected": finding.expected,
        "message": finding.message,
        "fix": [
            {k: v for k, v in vars(step).items() if v is not None or k in ("action", "value")}
            for step in finding.fix
        ],
        **({"cause": finding.cause} if finding.cause else {}),
    }


def has_errors(findings: Iterable[Finding]) -> bool:
    return any(f.severity is Severity.ERROR for f in findings)


__all__ = [
    "CODES",
    "Finding",
    "FixInstruction",
    "Severity",
    "finding_json",
    "has_errors",
    "make_finding",
    "sort_findings",
]
