"""The findings, table-driven: each code from a minimal change to a correct setup; a correct setup (apex and
subdomain) yields none. Pure: the DNS answers are plain data."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from provisioner.dnsdata import Delegation, DnsAnswers, Lookup, ServerView, Status
from provisioner.findings import CODES, Severity, diagnose, finding_json
from provisioner.model import VerificationKind, VerificationRecord
from provisioner.record_checks import dmarc_problems, names_to_query, spf_syntax_problems
from provisioner.spf import parse_spf
from provisioner.verification import KindState
from tests.verification_records import verification_records

K = VerificationKind
TOKEN = "ms-domain-verification=0d6c8a1e-4f"
SPF = "v=spf1 include:spf.protection.outlook.com -all"
S1 = "selector1-azurecomm-prod-net._domainkey"
S2 = "selector2-azurecomm-prod-net._domainkey"
T1 = f"{S1}.azurecomm.net"
T2 = f"{S2}.azurecomm.net"
DMARC = "v=DMARC1; p=none"
NS = ("ns1-01.azure-dns.com", "ns2-01.azure-dns.net")
VERIFIED = {k: KindState("Verified") for k in K}


def expected(domain: str, dmarc: bool = False) -> list[VerificationRecord]:
    return verification_records(domain, TOKEN, dmarc=DMARC if dmarc else None)


def good(domain: str) -> dict[str, Lookup]:
    return {
        domain: Lookup(txt=("google-site-verification=keep", TOKEN, SPF), ttl=3600),
        f"{S1}.{domain}": Lookup(cname=T1, ttl=3600),
        f"{S2}.{domain}": Lookup(cname=T2, ttl=3600),
        f"_dmarc.{domain}": Lookup(txt=(DMARC,), ttl=3600),
    }


def answers(domain: str, zone: str, lookups: dict[str, Lookup], **kw: Any) -> DnsAnswers:
    fields: dict[str, Any] = {
        "domain": domain,
        "zone": zone,
        "delegation": Delegation.DELEGATED,
        "resolver": ServerView("127.0.0.1:53", lookups),
        "authoritative": (ServerView(NS[0], lookups), ServerView(NS[1], lookups)),
        "name_servers": NS,
        "expected_name_servers": NS,
    }
    fields.update(kw)
    return DnsAnswers(**fields)


D, Z = "mail.contoso.com", "contoso.com"


def with_(lookups: dict[str, Lookup], **changes: Lookup) -> dict[str, Lookup]:
    out = dict(lookups)
    for key, value in changes.items():
        name = {"domain": D, "dkim": f"{S1}.{D}", "dkim2": f"{S2}.{D}", "dmarc": f"_dmarc.{D}"}.get(key, key)
        out[name] = value
    return out


def txt(*values: str) -> Lookup:
    return Lookup(txt=values, ttl=300)


def run(lookups: dict[str, Lookup], states: dict[VerificationKind, KindState] | None = None, **kw: Any):
    dmarc = kw.pop("dmarc", False)
    zone = kw.pop("zone", Z)
    return diagnose(
        expected(D, dmarc), zone, answers(D, zone, lookups, **kw), VERIFIED if states is None else states
    )


def pending(kind: VerificationKind | None) -> dict[VerificationKind, KindState]:
    """Every type Verified except `kind`, which was never started."""
    return {k: KindState("NotStarted" if k is kind else "Verified") for k in K}


def codes(findings) -> list[str]:
    return [f.code for f in findings]


# ---- no false positives ----------------------------------------------------------------------------
@pytest.mark.parametrize(("domain", "zone"), [("contoso.com", "contoso.com"), (D, Z), (D, D)])
def test_a_correct_setup_yields_no_finding(domain: str, zone: str) -> None:
    for dmarc in (False, True):
        result = diagnose(expected(domain, dmarc), zone, answers(domain, zone, good(domain)), VERIFIED)
        assert result == []


def test_a_correct_setup_not_yet_verified_only_says_run_verify() -> None:
    result = run(good(D), states={})
    assert codes(result) == ["verification-not-started"] * 4
    assert [f.kind for f in result] == [K.DOMAIN, K.SPF, K.DKIM, K.DKIM2]
    assert all(f.severity is Severity.WARNING for f in result)
    assert "acs-dns verify" in result[0].fix[0].text


# ---- each code from a minimal answer set -----------------------------------------------------------
G = good(D)
SPF_11 = "v=spf1 " + " ".join(f"include:s{i}.example.net" for i in range(10)) + " -all"

CASES: list[tuple[str, Callable[[], list], str, VerificationKind | None]] = [
    (
        "domain-txt-missing",
        lambda: run(with_(G, domain=txt(SPF)), states=pending(K.DOMAIN)),
        "error",
        K.DOMAIN,
    ),
    (
        "domain-txt-wrong-token",
        lambda: run(with_(G, domain=txt(SPF, "ms-domain-verification=old")), states=pending(K.DOMAIN)),
        "error",
        K.DOMAIN,
    ),
    (
        "record-at-doubled-name",
        lambda: run(with_(G, domain=txt(SPF), **{f"{D}.{Z}": txt(TOKEN)}), states=pending(K.DOMAIN)),
        "error",
        K.DOMAIN,
    ),
    (
        "record-at-wrong-name",
        lambda: run(with_(G, dkim=Lookup(), **{f"{S1}.{Z}": Lookup(cname=T1)}), states=pending(K.DKIM)),
        "error",
        K.DKIM,
    ),
    (
        "value-quoted",
        lambda: run(with_(G, domain=txt(f'"{SPF}"', TOKEN)), states=pending(K.SPF)),
        "error",
        K.SPF,
    ),
    ("spf-missing", lambda: run(with_(G, domain=txt(TOKEN)), states=pending(K.SPF)), "error", K.SPF),
    (
        "spf-multiple",
        lambda: run(with_(G, domain=txt(TOKEN, SPF, "v=spf1 mx -all")), states=pending(K.SPF)),
        "error",
        K.SPF,
    ),
    (
        "spf-include-missing",
        lambda: run(with_(G, domain=txt(TOKEN, "v=spf1 mx -all")), states=pending(K.SPF)),
        "error",
        K.SPF,
    ),
    (
        "spf-not-hardfail",
        lambda: run(with_(G, domain=txt(TOKEN, SPF.replace("-all", "~all"))), states=pending(K.SPF)),
        "error",
        K.SPF,
    ),
    (
        "spf-syntax-error",
        lambda: run(
            with_(G, domain=txt(TOKEN, "v=spf1 include:spf.protection.outlook.com ip4:300.1.1.1 -all")),
            states=pending(K.SPF),
        ),
        "error",
        K.SPF,
    ),
    (
        "spf-too-many-lookups",
        lambda: run(
            with_(G, domain=txt(TOKEN, SPF_11.replace(" -all", " include:spf.protection.outlook.com -all"))),
            states=pending(K.SPF),
        ),
        "error",
        K.SPF,
    ),
    (
        "dkim-missing",
        lambda: run(with_(G, dkim=Lookup(Status.NXDOMAIN)), states=pending(K.DKIM)),
        "error",
        K.DKIM,
    ),
    (
        "dkim-wrong-target",
        lambda: run(with_(G, dkim=Lookup(cname="x.example.net")), states=pending(K.DKIM)),
        "error",
        K.DKIM,
    ),
    (
        "dkim-not-cname",
        lambda: run(with_(G, dkim=txt("v=DKIM1; k=rsa; p=MIIB")), states=pending(K.DKIM)),
        "error",
        K.DKIM,
    ),
    ("dkim2-missing", lambda: run(with_(G, dkim2=Lookup()), states=pending(K.DKIM2)), "error", K.DKIM2),
    (
        "dkim2-wrong-target",
        lambda: run(with_(G, dkim2=Lookup(cname=T1)), states=pending(K.DKIM2)),
        "error",
        K.DKIM2,
    ),
    ("dkim2-not-cname", lambda: run(with_(G, dkim2=txt(T2)), states=pending(K.DKIM2)), "error", K.DKIM2),
    ("cname-at-domain", lambda: run(with_(G, domain=Lookup(cname="web.example.net"))), "error", None),
    (
        "dmarc-missing",
        lambda: run(with_(G, dmarc=Lookup()), dmarc=True, states=pending(K.DMARC)),
        "error",
        K.DMARC,
    ),
    ("dmarc-multiple", lambda: run(with_(G, dmarc=txt(DMARC, "v=DMARC1; p=reject"))), "error", None),
    ("dmarc-invalid", lambda: run(with_(G, dmarc=txt("v=DMARC1; p=maybe"))), "warning", None),
    (
        "domain-txt-removed",
        lambda: run(with_(G, domain=txt(SPF))),
        "info",
        K.DOMAIN,
    ),
    (
        "spf-changed-after-verification",
        lambda: run(with_(G, domain=txt(TOKEN, SPF.replace("-all", "?all")))),
        "error",
        K.SPF,
    ),
    ("dkim-changed-after-verification", lambda: run(with_(G, dkim=Lookup())), "error", K.DKIM),
    ("dkim2-changed-after-verification", lambda: run(with_(G, dkim2=Lookup(cname=T1))), "error", K.DKIM2),
    (
        "dmarc-changed-after-verification",
        lambda: run(with_(G, dmarc=Lookup()), dmarc=True),
        "error",
        K.DMARC,
    ),
    (
        "verification-failed-but-dns-ok",
        lambda: run(G, states={**VERIFIED, K.DKIM: KindState("VerificationFailed", "CnameRecordNotFound")}),
        "warning",
        K.DKIM,
    ),
    (
        "verification-not-started",
        lambda: run(G, states={**VERIFIED, K.DKIM2: KindState("NotStarted")}),
        "warning",
        K.DKIM2,
    ),
    (
        "verification-in-progress",
        lambda: run(G, states={**VERIFIED, K.SPF: KindState("VerificationInProgress")}),
        "info",
        K.SPF,
    ),
    (
        "resolver-unreachable",
        lambda: run(G, resolver=ServerView("127.0.0.1:9", {}, reachable=False)),
        "error",
        None,
    ),
    (
        "nameserver-unreachable",
        lambda: run(G, authoritative=(ServerView(NS[0], G), ServerView(NS[1], {}, reachable=False))),
        "warning",
        None,
    ),
    (
        "zone-not-delegated",
        lambda: run(G, delegation=Delegation.NOT_DELEGATED, resolver=ServerView("r", {}), name_servers=()),
        "error",
        None,
    ),
    (
        "propagation-partial",
        lambda: run(G, authoritative=(ServerView(NS[0], G), ServerView(NS[1], with_(G, dkim=Lookup())))),
        "warning",
        K.DKIM,
    ),
    (
        "resolver-cache-stale",
        lambda: run(G, resolver=ServerView("r", with_(G, dkim=Lookup(Status.NXDOMAIN, ttl=240)))),
        "warning",
        K.DKIM,
    ),
]


@pytest.mark.parametrize(("code", "make", "severity", "kind"), CASES, ids=[c[0] for c in CASES])
def test_each_code_from_a_minimal_answer_set(
    code: str, make: Callable[[], list], severity: str, kind
) -> None:
    result = make()
    assert codes(result) == [code], [(f.code, f.message) for f in result]
    finding = result[0]
    assert finding.severity == severity
    assert finding.kind == kind
    # the message says where to look: the record's name, its verification type, or the silent server
    assert (
        finding.name in finding.message
        or (finding.kind is not None and f"{finding.kind} verification" in finding.message)
        or " did not answer" in finding.message
    ), finding.message
    if finding.severity == "error":  # an error always says what to do
        assert [step.text for step in finding.fix if step.text.strip()], finding
    assert code in CODES


def test_every_documented_code_has_a_case() -> None:
    assert {c[0] for c in CASES} == set(CODES)


# ---- details a user relies on -------------------------------------------------------------------------
def test_fixes_name_the_host_relative_to_the_zone_and_the_fqdn() -> None:
    (finding,) = run(with_(G, dkim=Lookup()), states=pending(K.DKIM))
    (step,) = finding.fix
    assert (step.action, step.type, step.host, step.fqdn, step.value) == (
        "create",
        "CNAME",
        f"{S1}.mail",
        f"{S1}.{D}",
        T1,
    )
    (finding,) = diagnose(expected(Z), Z, answers(Z, Z, with_(good(Z), **{Z: txt(SPF)})), {})[:1]
    assert finding.code == "domain-txt-missing"
    assert (finding.fix[0].host, finding.fix[0].fqdn, finding.fix[0].value) == ("@", Z, TOKEN)


def test_doubled_name_fix_deletes_there_and_creates_at_the_right_host() -> None:
    (finding,) = run(with_(G, dkim2=Lookup(), **{f"{S2}.{D}.{Z}": Lookup(cname=T2)}), states={})[:1]
    assert finding.code == "record-at-doubled-name"
    assert [(s.action, s.fqdn) for s in finding.fix] == [("delete", f"{S2}.{D}.{Z}"), ("create", f"{S2}.{D}")]
    assert finding.fix[1].host == f"{S2}.mail"


def test_spf_fixes_merge_into_the_existing_record() -> None:
    result = run(with_(G, domain=txt(TOKEN, "v=spf1 mx include:_spf.example.net ~all")), states={})
    assert codes(result)[:2] == ["spf-include-missing", "spf-not-hardfail"]
    merged = "v=spf1 mx include:_spf.example.net include:spf.protection.outlook.com -all"
    assert {f.fix[0].value for f in result[:2]} == {merged}
    assert result[0].fix[0].action == "change"


@pytest.mark.parametrize(
    "spf",
    [
        "v=spf1 include:spf.protection.outlook.com",
        SPF.replace("-all", "+all"),
        SPF + " exp=explain.example.net",
    ],
)
def test_spf_that_does_not_end_with_hardfail(spf: str) -> None:
    result = run(with_(G, domain=txt(TOKEN, spf)), states={})
    assert "spf-not-hardfail" in codes(result)
    value = next(f for f in result if f.code == "spf-not-hardfail").fix[0].value
    assert value is not None and value.endswith(" -all")


def test_spf_lookup_count_follows_the_targets() -> None:
    spf = "v=spf1 include:a.example.net include:spf.protection.outlook.com -all"
    nested = {f"n{i}.example.net": () for i in range(9)}
    targets = {
        "a.example.net": ("v=spf1 " + " ".join(f"include:n{i}.example.net" for i in range(9)) + " -all",),
        **nested,
    }
    result = run(with_(G, domain=txt(TOKEN, spf)), spf_targets=targets, states=pending(K.SPF))
    assert codes(result) == ["spf-too-many-lookups"]
    assert "11 lookups" in result[0].found
    assert "11" in result[0].message
    assert run(with_(G, domain=txt(TOKEN, spf)), spf_targets={}) == []


def test_a_resolver_that_does_not_answer_is_not_called_a_delegation_problem() -> None:
    result = run(G, resolver=ServerView("127.0.0.1:9", {}, reachable=False), delegation=Delegation.UNKNOWN)
    assert codes(result) == ["resolver-unreachable"]
    assert "--dns-server" in result[0].fix[0].text


def test_records_are_still_judged_on_the_name_servers_when_the_zone_is_not_delegated() -> None:
    result = run(
        with_(G, dkim=Lookup()),
        delegation=Delegation.NOT_DELEGATED,
        resolver=ServerView("r", {}),
        name_servers=(),
        parent="contoso.com",
        zone="mail.contoso.com",
        states={},
    )
    assert codes(result)[:2] == ["zone-not-delegated", "dkim-missing"]
    step = result[0].fix[0]
    assert (step.action, step.type, step.host, step.value) == ("create", "NS", "mail", " ".join(NS))


def test_all_name_servers_unreachable_is_an_error() -> None:
    dead = tuple(ServerView(n, {}, reachable=False) for n in NS)
    result = run(G, authoritative=dead)
    assert codes(result) == ["nameserver-unreachable"] * 2
    assert all(f.severity is Severity.ERROR for f in result)


def test_stale_resolver_reports_the_seconds_left() -> None:
    (finding,) = run(G, resolver=ServerView("r", with_(G, domain=Lookup(txt=(TOKEN,), ttl=137))))
    assert finding.code == "resolver-cache-stale"
    assert "137 more seconds" in finding.message


def test_errors_come_first() -> None:
    result = run(
        with_(G, dkim=Lookup(), dmarc=txt("v=DMARC1; p=bad")), states={K.DOMAIN: KindState("NotStarted")}
    )
    severities = [f.severity for f in result]
    assert severities == sorted(severities, key=["error", "warning", "info"].index)
    assert result[0].code == "dkim-missing"


def test_changed_after_verification_keeps_the_cause() -> None:
    (finding,) = run(with_(G, dkim=Lookup(cname="other.example.net")))
    assert (finding.code, finding.cause) == ("dkim-changed-after-verification", "dkim-wrong-target")
    assert finding.fix[0].value == T1


def test_names_to_query_cover_the_usual_mistakes() -> None:
    names = names_to_query(expected(D), D, Z)
    for name in (D, f"{S1}.{D}", f"{S2}.{D}", f"_dmarc.{D}", f"{D}.{Z}", f"{S1}.{D}.{Z}", Z, f"{S1}.{Z}"):
        assert name in names
    assert f"_dmarc.{Z}" not in names
    assert len(names) == len(set(names))


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("v=spf1 foo -all", "not an SPF mechanism"),
        ("v=spf1 include: -all", "needs an argument"),
        ("v=spf1 ip6:10.0.0.0/8 -all", "not a valid ip6"),
        ("v=spf1 redirect=a.example redirect=b.example", "appears 2 times"),
        ("v=spf1 -all:x", "takes no argument"),
    ],
)
def test_spf_syntax_problems(text: str, problem: str) -> None:
    assert any(problem in p for p in spf_syntax_problems(text))


def test_valid_spf_has_no_syntax_problems() -> None:
    assert (
        spf_syntax_problems(
            "v=spf1 ip4:10.0.0.0/8 ip6:2001:db8::/32 a mx/24 ptr exists:%{i}.x.example include:a.example ~all"
        )
        == []
    )
    assert parse_spf(SPF)


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        (DMARC, True),
        ("v=DMARC1; p=reject; rua=mailto:d@example.com; pct=100; adkim=s", True),
        ("v=DMARC1; p=quarantine; pct=150", False),
        ("p=none; v=DMARC1", False),
        ("v=DMARC1; p=none; rua=https://example.com", False),
        ("v=DMARC1", False),
    ],
)
def test_dmarc_problems(text: str, ok: bool) -> None:
    assert (dmarc_problems(text) == []) is ok


def test_quoted_token_fix_is_the_bare_value() -> None:
    (finding,) = run(with_(G, domain=txt(SPF, f'"{TOKEN}"')), states={K.DOMAIN: KindState("NotStarted")})[:1]
    assert finding.code == "value-quoted"
    assert finding.fix[0].value == TOKEN
    assert replace(finding, found=()).kind is K.DOMAIN


def test_a_zone_level_dkim_is_not_deleted_it_may_be_the_apex_domains_own() -> None:
    (finding,) = run(with_(G, dkim=Lookup(), **{f"{S1}.{Z}": Lookup(cname=T1)}), states=pending(K.DKIM))
    assert finding.code == "record-at-wrong-name"
    assert [s.action for s in finding.fix] == ["create"]
    (finding,) = run(with_(G, domain=txt(SPF), **{Z: txt(TOKEN)}), states=pending(K.DOMAIN))
    assert finding.code == "record-at-wrong-name"
    assert [(s.action, s.host) for s in finding.fix] == [("delete", "@"), ("create", "mail")]


def test_quotes_inside_an_spf_record() -> None:
    (finding,) = run(with_(G, domain=txt(TOKEN, 'v=spf1 include:spf.protection.outlook.com" "-all')))
    assert (finding.code, finding.cause) == ("spf-changed-after-verification", "value-quoted")
    assert finding.fix[0].value == SPF


def test_records_are_not_judged_on_a_resolver_that_cannot_see_the_zone() -> None:
    result = run(
        {}, delegation=Delegation.NOT_DELEGATED, resolver=ServerView("r", {}), authoritative=(), states={}
    )
    assert codes(result) == ["zone-not-delegated"]
    assert "registrar" in result[0].fix[0].text


def test_finding_json_has_the_documented_keys() -> None:
    (finding,) = run(with_(G, dkim2=Lookup(cname=T1)), states=pending(K.DKIM2))
    doc = finding_json(finding)
    assert list(doc) == ["code", "severity", "kind", "name", "found", "expected", "message", "fix"]
    assert doc["severity"] == "error" and doc["kind"] == "DKIM2"
    assert doc["fix"] == [
        {
            "text": f"point the CNAME at {S2}.{D} to {T2}",
            "action": "change",
            "type": "CNAME",
            "host": f"{S2}.mail",
            "fqdn": f"{S2}.{D}",
            "value": T2,
        }
    ]
    assert json.loads(json.dumps(doc)) == doc


def test_a_query_that_timed_out_proves_nothing() -> None:
    slow = with_(G, dkim=Lookup(Status.TIMEOUT))
    assert run(G, authoritative=(ServerView(NS[0], G), ServerView(NS[1], slow))) == []
    assert run(G, resolver=ServerView("r", slow)) == []
    # ... while a server that answered "nothing there" is believed
    gone = with_(G, dkim=Lookup(Status.NXDOMAIN))
    result = run(G, authoritative=(ServerView(NS[0], gone), ServerView(NS[1], slow)))
    assert codes(result) == ["dkim-changed-after-verification"]


def test_every_code_is_documented_in_the_readme() -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("## Diagnosis: finding codes") :]
    for code, (severity, _) in CODES.items():
        row = next((line for line in table.splitlines() if f"`{code}`" in line), None)
        assert row is not None, f"{code} is not in the README's finding table"
        assert f"| {severity.value} |" in row, f"{code}: README gives another severity"
