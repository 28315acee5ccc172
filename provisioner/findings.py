"""Why a domain is not verified: (expected records, DNS answers, verification states) -> findings. Pure.

One place decides what "right" means for each record ACS checks. Every finding has a stable code
(documented in the README), a severity (`error`: verification fails or mail breaks; `warning`: works now
but fragile, transient or wrong by RFC; `info`), the record kind, the name queried, what was found, what
was expected and the exact fix, written the way a DNS provider's form asks for it (host relative to the
zone) and as an FQDN.

How the views are combined: the records are judged on each authoritative name server's answers (or on
the resolver's when no name server could be asked). A problem every name server shows is reported as
is; one only some show is `propagation-partial`. A problem only the resolver shows is
`resolver-cache-stale` (it still caches an old answer, for the TTL it gives).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

from provisioner.desired import DesiredRecord, desired_records
from provisioner.dnsdata import Delegation, DnsAnswers, ServerView, norm
from provisioner.model import KIND_ORDER, VerificationKind, VerificationRecord
from provisioner.names import APEX, relative_name
from provisioner.spf import MAX_SPF_LOOKUPS, count_dns_lookups, is_spf, merge_spf, parse_spf
from provisioner.txt import is_dmarc
from provisioner.verification import NOT_STARTED, KindState

TOKEN_PREFIX = "ms-domain-verification="
DMARC_PREFIX = "_dmarc"
K = VerificationKind


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
    "nameserver-unreachable": (
        Severity.WARNING,
        "a name server of the zone did not answer (error if none did)",
    ),
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
    "dmarc-invalid": (Severity.WARNING, "the DMARC record does not parse (error when DMARC is verified)"),
    "spf-changed-after-verification": (Severity.ERROR, "SPF was Verified, the record changed since"),
    "dkim-changed-after-verification": (Severity.ERROR, "DKIM was Verified, the CNAME changed since"),
    "dkim2-changed-after-verification": (Severity.ERROR, "DKIM2 was Verified, the CNAME changed since"),
    "dmarc-changed-after-verification": (Severity.ERROR, "DMARC was Verified, the record changed since"),
    "propagation-partial": (Severity.WARNING, "some name servers serve the record, others not yet"),
    "resolver-cache-stale": (
        Severity.WARNING,
        "the name servers are right; the resolver caches the old answer",
    ),
    "verification-not-started": (Severity.WARNING, "DNS is right; verification was never started"),
    "verification-failed-but-dns-ok": (Severity.WARNING, "verification failed earlier; DNS is right now"),
    "verification-in-progress": (Severity.INFO, "DNS is right; verification is running"),
}


def _finding(code: str, kind: VerificationKind | None, name: str, message: str, **kw: object) -> Finding:
    return Finding(code, CODES[code][0], kind, name, message, **kw)  # type: ignore[arg-type]


# ---- placing the expected records ------------------------------------------------------------------
@dataclass(frozen=True)
class _Context:
    domain: str
    zone: str
    records: dict[VerificationKind, DesiredRecord]
    spf_targets: Mapping[str, tuple[str, ...]]
    states: Mapping[VerificationKind, KindState]

    def fqdn(self, host: str) -> str:
        return self.zone if host == APEX else f"{host}.{self.zone}"

    def host(self, fqdn: str) -> str:
        return relative_name(fqdn, self.zone)

    def step(self, action: str, rtype: str, fqdn: str, value: str | None, text: str) -> FixInstruction:
        return FixInstruction(text, action, rtype, self.host(fqdn), norm(fqdn), value)


def _domain_of(expected: Sequence[VerificationRecord]) -> str:
    for record in expected:
        if VerificationKind(record.kind) is K.DOMAIN:
            return norm(record.name)
    raise ValueError("the expected records have no Domain record: the email domain's name is unknown")


def _context(
    expected: Sequence[VerificationRecord],
    zone: str,
    answers: DnsAnswers,
    states: Mapping[VerificationKind, KindState],
) -> _Context:
    domain = norm(answers.domain) if answers.domain else _domain_of(expected)
    zone = norm(zone)
    records = {r.kind: r for r in desired_records(domain, zone, expected)}
    return _Context(domain, zone, records, answers.spf_targets, states)


def doubled_name(fqdn: str, zone: str) -> str:
    """Where a record lands when its FQDN is pasted into a form that appends the zone."""
    return f"{norm(fqdn)}.{norm(zone)}"


def zone_level_name(fqdn: str, domain: str, zone: str) -> str | None:
    """Where a record lands when its name is written relative to the zone instead of the domain."""
    fqdn, domain, zone = norm(fqdn), norm(domain), norm(zone)
    if domain == zone or not (fqdn == domain or fqdn.endswith("." + domain)):
        return None
    return fqdn[: len(fqdn) - len(domain)] + zone


def names_to_query(expected: Sequence[VerificationRecord], domain: str, zone: str) -> list[str]:
    """Every name `diagnose` reads, for the adapter to ask: the records' names, `_dmarc.<domain>`, and
    where the usual mistakes put them (doubled names, zone-level names)."""
    domain, zone = norm(domain), norm(zone)
    placed = desired_records(domain, zone, expected)
    fqdns = [domain if r.name == APEX else f"{r.name}.{zone}" for r in placed]
    fqdns.append(f"{DMARC_PREFIX}.{domain}")
    names = list(fqdns)
    for fqdn in fqdns:
        names.append(doubled_name(fqdn, zone))
        wrong = zone_level_name(fqdn, domain, zone)
        if wrong and not fqdn.startswith(DMARC_PREFIX + "."):  # DMARC at the zone is legitimate
            names.append(wrong)
    return list(dict.fromkeys(names))


# ---- small value helpers --------------------------------------------------------------------------
_QUOTES = "\"'“”"


def _unquote(text: str) -> str:
    stripped = text.strip()
    while len(stripped) >= 2 and stripped[0] in _QUOTES and stripped[-1] in _QUOTES:
        stripped = stripped[1:-1].strip()
    return stripped.replace('\\"', "").replace('"', "")


def _is_quoted(text: str) -> bool:
    return any(q in text for q in _QUOTES)


def _same_target(a: str | None, b: str) -> bool:
    return a is not None and norm(a) == norm(b)


# ---- Domain (token) -------------------------------------------------------------------------------
def _token_findings(view: ServerView, ctx: _Context) -> list[Finding]:
    record = ctx.records.get(K.DOMAIN)
    if record is None:
        return []
    fqdn = ctx.fqdn(record.name)
    look = view.get(fqdn)
    if look.cname is not None or record.value in look.txt:
        return []
    value = record.value
    tokens = [t for t in look.txt if t.lower().startswith(TOKEN_PREFIX)]
    quoted = [t for t in look.txt if _is_quoted(t) and _unquote(t) == value]
    create = ctx.step("create", "TXT", fqdn, value, f"add a TXT record at {fqdn} with the value {value}")
    if ctx.states.get(K.DOMAIN, NOT_STARTED).verified:
        return [
            _finding(
                "domain-txt-removed",
                K.DOMAIN,
                fqdn,
                f"the verification token is no longer at {fqdn}; Domain is Verified, so nothing needs it",
                found=tuple(tokens),
                expected=value,
            )
        ]
    if quoted:
        return [_quoted(K.DOMAIN, fqdn, quoted, value, ctx)]
    misplaced = _misplaced(
        view, ctx, K.DOMAIN, fqdn, "TXT", value, lambda look: value in map(_unquote, look.txt)
    )
    if misplaced:
        return [misplaced]
    if tokens:
        return [
            _finding(
                "domain-txt-wrong-token",
                K.DOMAIN,
                fqdn,
                f"{fqdn} holds a verification token for another domain resource (deleted and re-added?)",
                found=tuple(tokens),
                expected=value,
                fix=(ctx.step("change", "TXT", fqdn, value, f"replace {tokens[0]} with {value} at {fqdn}"),),
            )
        ]
    return [
        _finding(
            "domain-txt-missing",
            K.DOMAIN,
            fqdn,
            f"no ms-domain-verification TXT record at {fqdn}",
            found=look.txt,
            expected=value,
            fix=(create,),
        )
    ]


def _quoted(kind: VerificationKind, fqdn: str, found: list[str], value: str, ctx: _Context) -> Finding:
    return _finding(
        "value-quoted",
        kind,
        fqdn,
        f"the {kind} value at {fqdn} contains literal quote characters; receivers see them as part of it",
        found=tuple(found),
        expected=value,
        fix=(
            ctx.step(
                "change",
                "TXT",
                fqdn,
                value,
                f"set the value without quote characters: {value} (the DNS provider adds its own)",
            ),
        ),
    )


def _misplaced(
    view: ServerView,
    ctx: _Context,
    kind: VerificationKind,
    fqdn: str,
    rtype: str,
    value: str,
    matches: Callable[..., bool],
) -> Finding | None:
    """A `record-at-doubled-name` / `record-at-wrong-name` finding when the record sits at one of those."""
    candidates = [("record-at-doubled-name", doubled_name(fqdn, ctx.zone))]
    wrong = zone_level_name(fqdn, ctx.domain, ctx.zone)
    if wrong and kind is not K.SPF:  # an SPF at the zone's apex is the apex domain's own
        candidates.append(("record-at-wrong-name", wrong))
    for code, other in candidates:
        if not matches(view.get(other)):
            continue
        where = (
            "the FQDN was pasted into a form that appends the zone"
            if code == "record-at-doubled-name"
            else f"its name was written relative to the zone {ctx.zone} instead of to {ctx.domain}"
        )
        return _finding(
            code,
            kind,
            fqdn,
            f"the {kind} record is at {other}, not at {fqdn}: {where}",
            found=(other,),
            expected=fqdn,
            fix=(
                ctx.step("delete", rtype, other, value, f"delete the {rtype} record at {other}"),
                ctx.step(
                    "create",
                    rtype,
                    fqdn,
                    value,
                    f"create it with host '{ctx.host(fqdn)}' (the provider appends {ctx.zone})",
                ),
            ),
        )
    return None


# ---- SPF --------------------------------------------------------------------------------------------
_MECHANISMS = frozenset({"all", "include", "a", "mx", "ptr", "ip4", "ip6", "exists"})
_NEEDS_VALUE = frozenset({"include", "exists", "ip4", "ip6"})


def spf_syntax_problems(text: str) -> list[str]:
    """What makes an SPF record a permerror (RFC 7208 sections 4.6, 5, 6); [] when it parses."""
    problems: list[str] = []
    terms = parse_spf(text)[1]
    seen_modifiers: dict[str, int] = {}
    for term in terms:
        if term.is_modifier:
            seen_modifiers[term.name] = seen_modifiers.get(term.name, 0) + 1
            if term.name in ("redirect", "exp") and not term.value:
                problems.append(f"'{term.raw}' has no domain")
            continue
        if term.name not in _MECHANISMS:
            problems.append(f"'{term.raw}' is not an SPF mechanism")
        elif term.name == "all" and term.value is not None:
            problems.append(f"'{term.raw}': all takes no argument")
        elif term.name in _NEEDS_VALUE and not term.value:
            problems.append(f"'{term.raw}' needs an argument")
        elif term.name in ("ip4", "ip6") and term.value:
            try:
                network = ipaddress.ip_network(term.value, strict=False)
                if network.version != int(term.name[-1]):
                    raise ValueError
            except ValueError:
                problems.append(f"'{term.raw}' is not a valid {term.name} network")
    problems += [
        f"'{name}=' appears {n} times"
        for name, n in seen_modifiers.items()
        if n > 1 and name in ("redirect", "exp")
    ]
    return problems


def _spf_findings(view: ServerView, ctx: _Context) -> list[Finding]:
    record = ctx.records.get(K.SPF)
    if record is None:
        return []
    fqdn, wanted = ctx.fqdn(record.name), record.value
    look = view.get(fqdn)
    if look.cname is not None:
        return []
    spfs = [t for t in look.txt if is_spf(t)]
    if not spfs:
        quoted = [t for t in look.txt if _is_quoted(t) and is_spf(_unquote(t))]
        if quoted:
            fixed = spf_to_publish([_unquote(quoted[0])], wanted)
            return [_quoted(K.SPF, fqdn, quoted, fixed, ctx)]
        includes = _acs_includes(wanted)
        misplaced = _misplaced(
            view,
            ctx,
            K.SPF,
            fqdn,
            "TXT",
            wanted,
            lambda look: any(is_spf(t) and includes <= _includes_of(t) for t in map(_unquote, look.txt)),
        )
        if misplaced:
            return [misplaced]
        return [
            _finding(
                "spf-missing",
                K.SPF,
                fqdn,
                f"no SPF (v=spf1) record at {fqdn}",
                expected=wanted,
                fix=(ctx.step("create", "TXT", fqdn, wanted, f"add a TXT record at {fqdn}: {wanted}"),),
            )
        ]
    if len(spfs) > 1:
        merged = spf_to_publish(spfs, wanted)
        steps = [ctx.step("delete", "TXT", fqdn, t, f"delete the SPF record {t}") for t in spfs[1:]]
        return [
            _finding(
                "spf-multiple",
                K.SPF,
                fqdn,
                f"{len(spfs)} SPF records at {fqdn}; RFC 7208 makes that a permanent error, so receivers "
                "and verification ignore them all",
                found=tuple(spfs),
                expected=wanted,
                fix=(
                    ctx.step("change", "TXT", fqdn, merged, f"merge them into one record: {merged}"),
                    *steps,
                ),
            )
        ]
    return _one_spf(spfs[0], fqdn, wanted, ctx)


def spf_to_publish(existing: Sequence[str], wanted: str) -> str:
    """The one SPF record to publish: the existing one(s) merged with ACS's value, ending with -all.

    Never a second SPF: several existing records are folded into the first (their mechanisms kept)."""
    if not existing:
        return wanted
    merged = existing[0]
    for other in [*existing[1:], wanted]:
        try:
            merged = merge_spf(merged, other, allow_hardfail_change=True).text
        except ValueError:  # not parseable as SPF: nothing of it can be kept
            continue
    return merged


def _includes_of(text: str) -> set[str]:
    try:
        return {t.key[1] or "" for t in parse_spf(text)[1] if t.name == "include" and not t.is_modifier}
    except ValueError:
        return set()


def _acs_includes(wanted: str) -> set[str]:
    return _includes_of(wanted)


def _one_spf(spf: str, fqdn: str, wanted: str, ctx: _Context) -> list[Finding]:
    problems = spf_syntax_problems(spf)
    if problems:
        return [
            _finding(
                "spf-syntax-error",
                K.SPF,
                fqdn,
                f"the SPF record at {fqdn} is invalid ({'; '.join(problems)}): receivers treat it as a "
                "permanent error",
                found=(spf,),
                expected=wanted,
                fix=(ctx.step("change", "TXT", fqdn, None, f"correct it: {'; '.join(problems)}"),),
            )
        ]
    merged = spf_to_publish([spf], wanted)
    change = ctx.step("change", "TXT", fqdn, merged, f"change the SPF record at {fqdn} to: {merged}")
    out: list[Finding] = []
    missing = sorted(_acs_includes(wanted) - _includes_of(spf))
    if missing:
        out.append(
            _finding(
                "spf-include-missing",
                K.SPF,
                fqdn,
                f"the SPF record at {fqdn} lacks {' '.join('include:' + m for m in missing)}",
                found=(spf,),
                expected=merged,
                fix=(change,),
            )
        )
    terms = spf.split()
    if terms[-1].lower() != "-all":
        last = next((t for t in reversed(terms) if t.lower().lstrip("+-~?") == "all"), None)
        why = (
            f'ends with "{terms[-1]}"' if last is None or last == terms[-1] else f'has "{last}" but not last'
        )
        if last is None:
            why = 'has no "all" term (receivers treat that like "?all")'
        out.append(
            _finding(
                "spf-not-hardfail",
                K.SPF,
                fqdn,
                f"the SPF record at {fqdn} {why}; ACS requires it to end with -all (~all fails verification)",
                found=(spf,),
                expected=merged,
                fix=(change,),
            )
        )
    count = count_dns_lookups(merged, lambda name: list(ctx.spf_targets.get(norm(name), ())))
    if count > MAX_SPF_LOOKUPS:
        out.append(
            _finding(
                "spf-too-many-lookups",
                K.SPF,
                fqdn,
                f"the SPF record at {fqdn} needs {count} DNS lookups; RFC 7208 allows {MAX_SPF_LOOKUPS}",
                found=(spf, f"{count} lookups"),
                expected=f"at most {MAX_SPF_LOOKUPS} lookups",
                fix=(
                    FixInstruction(
                        "remove or flatten include:/a/mx mechanisms of the SPF record (keep "
                        f"{' '.join('include:' + i for i in sorted(_acs_includes(wanted)))})"
                    ),
                ),
            )
        )
    return out


# ---- DKIM -------------------------------------------------------------------------------------------
def _dkim_findings(view: ServerView, ctx: _Context, kind: VerificationKind) -> list[Finding]:
    record = ctx.records.get(kind)
    if record is None:
        return []
    fqdn, target = ctx.fqdn(record.name), record.value
    look = view.get(fqdn)
    prefix = kind.value.lower()
    create = ctx.step("create", "CNAME", fqdn, target, f"create a CNAME at {fqdn} pointing to {target}")
    if look.cname is not None:
        if _same_target(look.cname, target):
            return []
        return [
            _finding(
                f"{prefix}-wrong-target",
                kind,
                fqdn,
                f"the {kind} CNAME at {fqdn} points to {look.cname}, not to {target}",
                found=(look.cname,),
                expected=target,
                fix=(ctx.step("change", "CNAME", fqdn, target, f"point the CNAME at {fqdn} to {target}"),),
            )
        ]
    if look.txt:
        return [
            _finding(
                f"{prefix}-not-cname",
                kind,
                fqdn,
                f"{fqdn} holds TXT records where ACS needs a CNAME (the key or target pasted as TXT?)",
                found=look.txt,
                expected=target,
                fix=(ctx.step("delete", "TXT", fqdn, None, f"delete the TXT record at {fqdn}"), create),
            )
        ]
    misplaced = _misplaced(view, ctx, kind, fqdn, "CNAME", target, lambda look: look.cname is not None)
    if misplaced:
        return [misplaced]
    return [
        _finding(
            f"{prefix}-missing",
            kind,
            fqdn,
            f"no {kind} CNAME at {fqdn}",
            expected=target,
            fix=(create,),
        )
    ]


# ---- DMARC ------------------------------------------------------------------------------------------
_DMARC_TAG = re.compile(r"^([a-z]+)\s*=\s*(.*)$", re.IGNORECASE | re.DOTALL)
_POLICIES = frozenset({"none", "quarantine", "reject"})
_DMARC_CHECKS: dict[str, Callable[[str], bool]] = {
    "v": lambda v: v == "DMARC1",
    "p": lambda v: v.lower() in _POLICIES,
    "sp": lambda v: v.lower() in _POLICIES,
    "np": lambda v: v.lower() in _POLICIES,
    "adkim": lambda v: v.lower() in ("r", "s"),
    "aspf": lambda v: v.lower() in ("r", "s"),
    "pct": lambda v: v.isdigit() and 0 <= int(v) <= 100,
    "ri": lambda v: v.isdigit(),
    "fo": lambda v: all(p.strip() in ("0", "1", "d", "s") for p in v.split(":")),
    "rf": lambda v: all(p.strip().lower() == "afrf" for p in v.split(":")),
    "rua": lambda v: all(u.strip().lower().startswith("mailto:") for u in v.split(",")),
    "ruf": lambda v: all(u.strip().lower().startswith("mailto:") for u in v.split(",")),
    "t": lambda v: v.lower() in ("y", "n"),
    "psd": lambda v: v.lower() in ("y", "n", "u"),
}


def dmarc_problems(text: str) -> list[str]:
    """Why receivers would ignore a DMARC record (RFC 7489 section 6.3); [] when it is valid."""
    parts = [p.strip() for p in text.split(";")]
    tags: dict[str, str] = {}
    problems: list[str] = []
    for i, part in enumerate(p for p in parts if p):
        match = _DMARC_TAG.match(part)
        if match is None:
            problems.append(f"'{part}' is not tag=value")
            continue
        tag, value = match.group(1).lower(), match.group(2).strip()
        if i == 0 and tag != "v":
            problems.append("it must start with v=DMARC1")
        if tag in tags:
            problems.append(f"tag '{tag}' appears twice")
        tags[tag] = value
        check = _DMARC_CHECKS.get(tag)
        if check is not None and not check(value):
            problems.append(f"'{part}' has an invalid value")
    if "v" in tags and "p" not in tags and "rua" not in tags:
        problems.append("the p= tag (none, quarantine or reject) is missing")
    return problems


def _dmarc_findings(view: ServerView, ctx: _Context) -> list[Finding]:
    record = ctx.records.get(K.DMARC)
    fqdn = f"{DMARC_PREFIX}.{ctx.domain}"
    look = view.get(fqdn)
    records = [t for t in look.txt if is_dmarc(t)]
    kind = K.DMARC if record is not None else None
    value = record.value if record is not None else None
    if len(records) > 1:
        keep = value if value in records else records[0]
        return [
            _finding(
                "dmarc-multiple",
                kind,
                fqdn,
                f"{len(records)} DMARC records at {fqdn}; RFC 7489 makes receivers apply none of them",
                found=tuple(records),
                expected=value,
                fix=tuple(
                    ctx.step("delete", "TXT", fqdn, t, f"delete the DMARC record {t} (keep {keep})")
                    for t in records
                    if t != keep
                ),
            )
        ]
    if records:
        problems = dmarc_problems(records[0])
        if not problems:
            return []
        finding = _finding(
            "dmarc-invalid",
            kind,
            fqdn,
            f"the DMARC record at {fqdn} is invalid ({'; '.join(problems)}): receivers ignore it",
            found=tuple(records),
            expected=value,
            fix=(ctx.step("change", "TXT", fqdn, value, f"correct it: {'; '.join(problems)}"),),
        )
        return [replace(finding, severity=Severity.ERROR) if record is not None else finding]
    quoted = [t for t in look.txt if _is_quoted(t) and is_dmarc(_unquote(t))]
    if quoted:
        return [_quoted(K.DMARC, fqdn, quoted, value or _unquote(quoted[0]), ctx)]
    if record is None or value is None:
        return []
    return [
        _finding(
            "dmarc-missing",
            K.DMARC,
            fqdn,
            f"no DMARC record at {fqdn}",
            expected=value,
            fix=(ctx.step("create", "TXT", fqdn, value, f"add a TXT record at {fqdn}: {value}"),),
        )
    ]


# ---- one view ---------------------------------------------------------------------------------------
def _view_findings(view: ServerView, ctx: _Context) -> list[Finding]:
    out: list[Finding] = []
    domain_look = view.get(ctx.domain)
    if domain_look.cname is not None and (K.DOMAIN in ctx.records or K.SPF in ctx.records):
        out.append(
            _finding(
                "cname-at-domain",
                None,
                ctx.domain,
                f"{ctx.domain} is a CNAME to {domain_look.cname}: DNS allows no other record next to it, so "
                "the token and SPF records cannot be added",
                found=(domain_look.cname,),
                fix=(
                    ctx.step(
                        "delete",
                        "CNAME",
                        ctx.domain,
                        None,
                        f"delete the CNAME at {ctx.domain} (serve what it pointed to with A/AAAA records)",
                    ),
                ),
            )
        )
    out += _token_findings(view, ctx)
    out += _after_verification(_spf_findings(view, ctx), K.SPF, ctx)
    out += _after_verification(_dkim_findings(view, ctx, K.DKIM), K.DKIM, ctx)
    out += _after_verification(_dkim_findings(view, ctx, K.DKIM2), K.DKIM2, ctx)
    out += _after_verification(_dmarc_findings(view, ctx), K.DMARC, ctx)
    return out


def _after_verification(found: list[Finding], kind: VerificationKind, ctx: _Context) -> list[Finding]:
    """Once a type is Verified, an error in its record means mail breaks now: say so in the code."""
    if not ctx.states.get(kind, NOT_STARTED).verified:
        return found
    code = f"{kind.value.lower()}-changed-after-verification"
    out = []
    for f in found:
        if f.severity is Severity.ERROR and f.kind is kind:
            message = f"{kind} was Verified, but {f.message}; mail sent now fails {kind} checks"
            f = replace(f, code=code, message=message, cause=f.code)
        out.append(f)
    return out


# ---- the whole diagnosis -------------------------------------------------------------------------
def _key(f: Finding) -> tuple[str, str | None, str]:
    return f.code, f.kind, f.name


def _infrastructure(answers: DnsAnswers, ctx: _Context) -> list[Finding]:
    out: list[Finding] = []
    if not answers.resolver.reachable:
        out.append(
            _finding(
                "resolver-unreachable",
                None,
                ctx.domain,
                f"the resolver {answers.resolver.server} did not answer; what the internet sees is unknown",
                found=(answers.resolver.server,),
                fix=(
                    FixInstruction(
                        "check that --dns-server names a recursive resolver that answers on that port (UDP "
                        "and TCP), or the system resolver in /etc/resolv.conf; a firewall may drop port 53"
                    ),
                ),
            )
        )
    dead = [v for v in answers.authoritative if not v.reachable]
    for view in dead:
        finding = _finding(
            "nameserver-unreachable",
            None,
            ctx.domain,
            f"the name server {view.server} of zone {answers.zone or ctx.zone} did not answer",
            found=(f"{view.server} ({view.address})" if view.address else view.server,),
            fix=(
                FixInstruction(
                    f"remove {view.server} from the zone's NS records (at the parent or registrar) or "
                    "make it serve the zone"
                ),
            ),
        )
        if len(dead) == len(answers.authoritative):
            finding = replace(finding, severity=Severity.ERROR)
        out.append(finding)
    if answers.delegation in (Delegation.NOT_DELEGATED, Delegation.LAME):
        out.append(_not_delegated(answers, ctx))
    return out


def _not_delegated(answers: DnsAnswers, ctx: _Context) -> Finding:
    zone = norm(answers.zone or ctx.zone)
    want = answers.expected_name_servers
    listed = ", ".join(want) if want else "the zone's name servers (as your DNS host lists them)"
    if answers.delegation is Delegation.LAME:
        what = f"the parent names servers for {zone} that do not answer for it (lame delegation)"
    elif answers.name_servers:
        what = f"{zone} is delegated to {', '.join(answers.name_servers)}"
    else:
        what = f"{zone} does not exist in public DNS"
    parent = answers.parent
    if parent and zone.endswith("." + parent):
        host = zone[: -len(parent) - 1]
        text = f"in the parent zone {parent}, create an NS record set '{host}' with exactly: {listed}"
        step = FixInstruction(text, "create", "NS", host, zone, " ".join(want) or None)
    else:
        step = FixInstruction(f"set the domain's name servers at its registrar to exactly: {listed}")
    return _finding(
        "zone-not-delegated",
        None,
        zone,
        f"{what}: ACS and mail receivers cannot see the zone's records",
        found=answers.name_servers,
        expected=", ".join(want) or None,
        fix=(step,),
    )


def _consensus(views: list[ServerView], ctx: _Context) -> tuple[list[Finding], list[Finding]]:
    """(findings every view shows, propagation-partial findings)."""
    per_view = [_view_findings(v, ctx) for v in views]
    keys = [{_key(f) for f in fs} for fs in per_view]
    common = set.intersection(*keys)
    agreed = [f for f in per_view[0] if _key(f) in common]
    partial: dict[tuple[VerificationKind | None, str], list[str]] = {}
    codes: dict[tuple[VerificationKind | None, str], set[str]] = {}
    for view, fs in zip(views, per_view, strict=True):
        for f in fs:
            if _key(f) not in common:
                partial.setdefault((f.kind, f.name), [])
                if view.server not in partial[(f.kind, f.name)]:
                    partial[(f.kind, f.name)].append(view.server)
                codes.setdefault((f.kind, f.name), set()).add(f.code)
    out = []
    for (kind, name), servers in partial.items():
        good = [v.server for v, fs in zip(views, per_view, strict=True) if v.server not in servers]
        out.append(
            _finding(
                "propagation-partial",
                kind,
                name,
                f"the name servers disagree about {name}: {', '.join(servers)} still show "
                f"{', '.join(sorted(codes[(kind, name)]))}"
                + (f"; {', '.join(good)} serve it right" if good else ""),
                found=tuple(servers),
                fix=(
                    FixInstruction(
                        "wait for the zone to reach every name server (the SOA refresh interval), then "
                        "check again; if it persists, the provider's secondaries are not updating"
                    ),
                ),
            )
        )
    return agreed, out


def _stale(
    answers: DnsAnswers, ctx: _Context, agreed: list[Finding], partial: list[Finding]
) -> list[Finding]:
    if answers.delegation is not Delegation.DELEGATED or not answers.resolver.reachable:
        return []
    known = {(f.kind, f.name) for f in [*agreed, *partial]}
    out: dict[tuple[VerificationKind | None, str], Finding] = {}
    for f in _view_findings(answers.resolver, ctx):
        if (f.kind, f.name) in known or (f.kind, f.name) in out:
            continue
        ttl = answers.resolver.get(f.name).ttl
        wait = f"{ttl} more seconds" if ttl is not None else "its TTL"
        out[(f.kind, f.name)] = _finding(
            "resolver-cache-stale",
            f.kind,
            f.name,
            f"the name servers serve {f.name} right, but the resolver {answers.resolver.server} still "
            f"caches an old answer ({f.code}) for {wait}",
            found=answers.resolver.get(f.name).txt or ((answers.resolver.get(f.name).cname or ""),),
            fix=(FixInstruction(f"wait {wait}, then check again (verification asks public resolvers too)"),),
        )
    return list(out.values())


def _states(found: list[Finding], ctx: _Context) -> list[Finding]:
    bad = {f.kind for f in found if f.severity is Severity.ERROR}
    blocked = any(f.severity is Severity.ERROR and f.kind is None for f in found)
    if blocked:
        return []
    out = []
    for kind in ctx.records:
        if kind in bad:
            continue
        state = ctx.states.get(kind, NOT_STARTED)
        fqdn = ctx.fqdn(ctx.records[kind].name)
        run = FixInstruction("run acs-dns verify (or Verify in the portal)")
        if state.failed:
            out.append(
                _finding(
                    "verification-failed-but-dns-ok",
                    kind,
                    fqdn,
                    f"{kind} verification failed ({state.error_code or 'no error code'}), but its record is "
                    "right now",
                    found=(state.status,),
                    fix=(run,),
                )
            )
        elif state.in_flight:
            out.append(
                _finding(
                    "verification-in-progress",
                    kind,
                    fqdn,
                    f"{kind} verification is running ({state.status}) and its record is right",
                    found=(state.status,),
                )
            )
        elif not state.verified:
            out.append(
                _finding(
                    "verification-not-started",
                    kind,
                    fqdn,
                    f"{kind} verification has not been started; its record is right",
                    found=(state.status,),
                    fix=(run,),
                )
            )
    return out


def diagnose(
    expected: Sequence[VerificationRecord],
    zone: str,
    answers: DnsAnswers,
    states: Mapping[VerificationKind, KindState] | None = None,
) -> list[Finding]:
    """Every problem with the domain's records and verification, errors first.

    `expected`: the email domain's verification records as the API gives them; `zone`: the zone the
    relative host names are written for (the zone cut, or the one the user names); `answers`: what DNS
    served; `states`: the verification states (missing kinds count as NotStarted). Raises UsageError when
    the domain is not in `zone`.
    """
    ctx = _context(expected, zone, answers, states or {})
    found = _infrastructure(answers, ctx)
    views = [v for v in answers.authoritative if v.reachable]
    if not views and answers.resolver.reachable:
        views = [answers.resolver]
    if views:
        agreed, partial = _consensus(views, ctx)
        found += agreed + partial + _stale(answers, ctx, agreed, partial)
        found += _states(found, ctx)
    return sort_findings(found)


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


def has_errors(findings: Iterable[Finding]) -> bool:
    return any(f.severity is Severity.ERROR for f in findings)


__all__ = [
    "CODES",
    "Finding",
    "FixInstruction",
    "Severity",
    "diagnose",
    "dmarc_problems",
    "doubled_name",
    "has_errors",
    "names_to_query",
    "sort_findings",
    "spf_syntax_problems",
    "spf_to_publish",
    "zone_level_name",
]
