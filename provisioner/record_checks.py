"""One server's view of a domain's records -> findings: the token, SPF, DKIM, DKIM2 and DMARC rules. Pure.

This is where "right" is defined for each record ACS checks, and where the usual mistakes are named:
an FQDN pasted into a form that appends the zone (doubled name), a name written relative to the zone
instead of the domain, quotes pasted into a value, a DKIM key pasted as TXT, a second SPF record.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from provisioner.desired import DesiredRecord, desired_records
from provisioner.dnsdata import DnsAnswers, ServerView, norm
from provisioner.finding import Finding, FixInstruction, Severity
from provisioner.finding import make_finding as _finding
from provisioner.model import VerificationKind, VerificationRecord
from provisioner.names import APEX, relative_name
from provisioner.spf import MAX_SPF_LOOKUPS, count_dns_lookups, is_spf, merge_spf, parse_spf
from provisioner.txt import is_dmarc
from provisioner.verification import NOT_STARTED, KindState

TOKEN_PREFIX = "ms-domain-verification="
DMARC_PREFIX = "_dmarc"
K = VerificationKind


# ---- placing the expected records ------------------------------------------------------------------
@dataclass(frozen=True)
class Context:
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


def context(
    expected: Sequence[VerificationRecord],
    zone: str,
    answers: DnsAnswers,
    states: Mapping[VerificationKind, KindState],
) -> Context:
    domain = norm(answers.domain) if answers.domain else _domain_of(expected)
    zone = norm(zone)
    records = {r.kind: r for r in desired_records(domain, zone, expected)}
    return Context(domain, zone, records, answers.spf_targets, states)


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
def _token_findings(view: ServerView, ctx: Context) -> list[Finding]:
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
    missing = _missing_txt("domain-txt-missing", K.DOMAIN, fqdn, value, "ms-domain-verification TXT", ctx)
    return [replace(missing, found=look.txt)]


def _quoted(kind: VerificationKind, fqdn: str, found: list[str], value: str, ctx: Context) -> Finding:
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


def _missing_txt(
    code: str, kind: VerificationKind, fqdn: str, value: str, what: str, ctx: Context
) -> Finding:
    return _finding(
        code,
        kind,
        fqdn,
        f"no {what} record at {fqdn}",
        expected=value,
        fix=(ctx.step("create", "TXT", fqdn, value, f"add a TXT record at {fqdn}: {value}"),),
    )


def _misplaced(
    view: ServerView,
    ctx: Context,
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
                *(
                    [ctx.step("delete", rtype, other, value, f"delete the {rtype} record at {other}")]
                    if code == "record-at-doubled-name" or kind is K.DOMAIN  # a token is this domain's alone
                    else []
                ),
                ctx.step(
                    "create",
                    rtype,
                    fqdn,
                    value,
                    f"create it with host '{ctx.host(fqdn)}' (the provider appends {ctx.zone})"
                    + (
                        ""
                        if code == "record-at-doubled-name" or kind is K.DOMAIN
                        else f"; keep the one at {other} if {ctx.zone} sends mail through ACS too"
                    ),
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


def _spf_findings(view: ServerView, ctx: Context) -> list[Finding]:
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
        includes = _includes_of(wanted)
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
        return [_missing_txt("spf-missing", K.SPF, fqdn, wanted, "SPF (v=spf1)", ctx)]
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


def _one_spf(spf: str, fqdn: str, wanted: str, ctx: Context) -> list[Finding]:
    if _is_quoted(spf):
        return [_quoted(K.SPF, fqdn, [spf], spf_to_publish([_unquote(spf)], wanted), ctx)]
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

    def needs_change(code: str, problem: str) -> Finding:
        return _finding(
            code,
            K.SPF,
            fqdn,
            f"the SPF record at {fqdn} {problem}",
            found=(spf,),
            expected=merged,
            fix=(change,),
        )

    out: list[Finding] = []
    missing = sorted(_includes_of(wanted) - _includes_of(spf))
    if missing:
        out.append(needs_change("spf-include-missing", f"lacks {' '.join('include:' + m for m in missing)}"))
    terms = spf.split()
    if terms[-1].lower() != "-all":
        last = next((t for t in reversed(terms) if t.lower().lstrip("+-~?") == "all"), None)
        if last is None:
            why = 'has no "all" term (receivers treat that like "?all")'
        elif last == terms[-1]:
            why = f'ends with "{last}"'
        else:
            why = f'has "{last}" but not at the end'
        out.append(
            needs_change(
                "spf-not-hardfail", f"{why}; ACS requires it to end with -all (~all fails verification)"
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
                        f"{' '.join('include:' + i for i in sorted(_includes_of(wanted)))})"
                    ),
                ),
            )
        )
    return out


# ---- DKIM -------------------------------------------------------------------------------------------
def _dkim_findings(view: ServerView, ctx: Context, kind: VerificationKind) -> list[Finding]:
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


def _dmarc_findings(view: ServerView, ctx: Context) -> list[Finding]:
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
    return [_missing_txt("dmarc-missing", K.DMARC, fqdn, value, "DMARC", ctx)]


# ---- one view ---------------------------------------------------------------------------------------
def view_findings(view: ServerView, ctx: Context) -> list[Finding]:
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


def _after_verification(found: list[Finding], kind: VerificationKind, ctx: Context) -> list[Finding]:
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


__all__ = [
    "Context",
    "dmarc_problems",
    "doubled_name",
    "names_to_query",
    "spf_syntax_problems",
    "spf_to_publish",
    "view_findings",
    "zone_level_name",
]
