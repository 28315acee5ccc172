"""Why a domain is not verified: (expected records, DNS answers, verification states) -> findings. Pure.

Every finding has a stable code, a severity, the record kind, the name queried, what was found, what was
expected and the exact fix, written the way a DNS provider's form asks for it (host relative to the zone)
and as an FQDN (`finding.py`). The rules for each record are in `record_checks.py`; this module combines
what the servers said and adds the zone-level and verification-state findings.

How the views are combined: the records are judged on each authoritative name server's answers (or on
the resolver's when no name server could be asked). A problem every name server shows is reported as
is; one only some show is `propagation-partial`. A problem only the resolver shows is
`resolver-cache-stale` (it still caches an old answer, for the TTL it gives).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from provisioner.dnsdata import Delegation, DnsAnswers, ServerView, norm
from provisioner.finding import (
    CODES,
    Finding,
    FixInstruction,
    Severity,
    finding_json,
    has_errors,
    sort_findings,
)
from provisioner.finding import make_finding as _finding
from provisioner.model import VerificationKind, VerificationRecord
from provisioner.record_checks import Context, context, names_to_query, view_findings
from provisioner.verification import NOT_STARTED, KindState


# ---- the whole diagnosis -------------------------------------------------------------------------
def _key(f: Finding) -> tuple[str, str | None, str]:
    return f.code, f.kind, f.name


def _infrastructure(answers: DnsAnswers, ctx: Context) -> list[Finding]:
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
                        "and TCP), or the system resolver in /etc/resolv.conf; a firewall may drop port 53; "
                        "a slow resolver needs a longer --dns-timeout"
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


def _not_delegated(answers: DnsAnswers, ctx: Context) -> Finding:
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


def _answered_findings(view: ServerView, ctx: Context) -> list[Finding]:
    """The view's findings about names it answered: an unanswered query (a timeout) proves nothing."""
    return [f for f in view_findings(view, ctx) if view.get(f.name).answered]


def _consensus(views: list[ServerView], ctx: Context) -> tuple[list[Finding], list[Finding]]:
    """(findings every view that answered the name shows, propagation-partial findings)."""
    per_view = [_answered_findings(v, ctx) for v in views]
    keys = [{_key(f) for f in fs} for fs in per_view]
    first: dict[tuple[str, VerificationKind | None, str], Finding] = {}
    for fs in per_view:
        for f in fs:
            first.setdefault(_key(f), f)
    common = {
        key for key in first if all(key in keys[i] for i, v in enumerate(views) if v.get(key[2]).answered)
    }
    agreed = [f for key, f in first.items() if key in common]
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
        good = [v.server for v in views if v.server not in servers and v.get(name).answered]
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


def _stale(answers: DnsAnswers, ctx: Context, agreed: list[Finding], partial: list[Finding]) -> list[Finding]:
    if answers.delegation is not Delegation.DELEGATED or not answers.resolver.reachable:
        return []
    known = {(f.kind, f.name) for f in [*agreed, *partial]}
    out: dict[tuple[VerificationKind | None, str], Finding] = {}
    for f in _answered_findings(answers.resolver, ctx):
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


def _states(found: list[Finding], ctx: Context) -> list[Finding]:
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
    ctx = context(expected, zone, answers, states or {})
    found = _infrastructure(answers, ctx)
    views = [v for v in answers.authoritative if v.reachable]
    if not views and answers.resolver.reachable and answers.delegation is Delegation.DELEGATED:
        views = [answers.resolver]  # a resolver that cannot reach the zone says nothing about its records
    if views:
        agreed, partial = _consensus(views, ctx)
        found += agreed + partial + _stale(answers, ctx, agreed, partial)
        found += _states(found, ctx)
    return sort_findings(found)


__all__ = [
    "CODES",
    "Finding",
    "FixInstruction",
    "Severity",
    "diagnose",
    "finding_json",
    "has_errors",
    "names_to_query",
    "sort_findings",
]
