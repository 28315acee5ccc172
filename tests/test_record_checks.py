"""The record rules (`record_checks`, pure): each finding one server's answers yield, word for word as a
user reads it (message, what was found and expected, every fix step), and the SPF/DMARC syntax rules.

`tests/test_findings.py` covers every code through `diagnose` (consensus, states, order); this file pins
what each rule says and the steps it gives, on one server's view."""

from __future__ import annotations

import pytest

from provisioner.dnsdata import Delegation, DnsAnswers, Lookup, ServerView
from provisioner.finding import Finding, FixInstruction, Severity
from provisioner.model import VerificationKind, VerificationRecord
from provisioner.record_checks import (
    context,
    dmarc_problems,
    names_to_query,
    spf_syntax_problems,
    spf_to_publish,
    view_findings,
    zone_level_name,
)
from provisioner.verification import KindState

K = VerificationKind
E, W, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO
D, Z = "mail.contoso.com", "contoso.com"
TOKEN = "ms-domain-verification=0d6c8a1e-4f"
INCLUDE = "include:spf.protection.outlook.com"
SPF = f"v=spf1 {INCLUDE} -all"
S1 = f"selector1-azurecomm-prod-net._domainkey.{D}"
S2 = f"selector2-azurecomm-prod-net._domainkey.{D}"
T1 = "selector1-azurecomm-prod-net._domainkey.azurecomm.net"
T2 = "selector2-azurecomm-prod-net._domainkey.azurecomm.net"
H1 = "selector1-azurecomm-prod-net._domainkey.mail"  # S1's host relative to the zone
DM = f"_dmarc.{D}"
DMARC = "v=DMARC1; p=none"
GOOD = {D: Lookup(txt=(TOKEN, SPF)), S1: Lookup(cname=T1), S2: Lookup(cname=T2), DM: Lookup(txt=(DMARC,))}


def records(spf: str = SPF, dmarc: str | None = None, kinds: set[VerificationKind] | None = None):  # type: ignore[no-untyped-def]
    """The API's records for D (DKIM named relative to the domain, as the API does)."""
    found = [
        VerificationRecord(K.DOMAIN, "TXT", D, TOKEN, 3600),
        VerificationRecord(K.SPF, "TXT", D, spf, 3600),
        VerificationRecord(K.DKIM, "CNAME", "selector1-azurecomm-prod-net._domainkey", T1, 3600),
        VerificationRecord(K.DKIM2, "CNAME", "selector2-azurecomm-prod-net._domainkey", T2, 3600),
    ]
    if dmarc is not None:
        found.append(VerificationRecord(K.DMARC, "TXT", DM, dmarc, 3600))
    return [r for r in found if kinds is None or r.kind in kinds]


def txt(*values: str) -> Lookup:
    return Lookup(txt=values)


def findings(
    changes: dict[str, Lookup],
    *,
    expected: list[VerificationRecord] | None = None,
    states: dict[VerificationKind, KindState] | None = None,
    spf_targets: dict[str, tuple[str, ...]] | None = None,
) -> list[Finding]:
    answers = DnsAnswers(D, Z, Delegation.DELEGATED, ServerView("r"), spf_targets=spf_targets or {})
    ctx = context(records() if expected is None else expected, Z, answers, states or {})
    return view_findings(ServerView("ns1", {**GOOD, **changes}), ctx)


def step(action: str, rtype: str, host: str, fqdn: str, value: str | None, text: str) -> FixInstruction:
    return FixInstruction(text, action, rtype, host, fqdn, value)


def test_the_right_records_yield_no_finding() -> None:
    assert findings({}, expected=records(dmarc=DMARC)) == []


# ---- the verification token ------------------------------------------------------------------------------
def quoted(kind: VerificationKind, found: str, fixed: str) -> list[Finding]:
    """The `value-quoted` finding for the record of `kind` (at the domain, or at _dmarc for DMARC)."""
    fqdn, host = (DM, "_dmarc.mail") if kind is K.DMARC else (D, "mail")
    bare = f"set the value without quote characters: {fixed} (the DNS provider adds its own)"
    return [
        Finding(
            "value-quoted",
            E,
            kind,
            fqdn,
            f"the {kind} value at {fqdn} contains literal quote characters; receivers see them as part of it",
            (found,),
            fixed,
            (step("change", "TXT", host, fqdn, fixed, bare),),
        )
    ]


@pytest.mark.parametrize(
    "pasted",
    [f'"{TOKEN}"', f"“{TOKEN}”", f'{TOKEN}"', f'\\"{TOKEN}\\"', f"' \"{TOKEN}\" '"],
    ids=["quoted", "typographic-quotes", "one-stray-quote", "backslash-escaped", "nested"],
)
def test_a_token_pasted_with_quotes_is_named_and_the_fix_is_the_bare_value(pasted: str) -> None:
    assert findings({D: txt(SPF, pasted)}) == quoted(K.DOMAIN, pasted, TOKEN)


def test_a_quoted_value_that_is_not_the_token_does_not_count_as_it() -> None:
    (finding,) = findings({D: txt(SPF, '"keep=me"')})
    assert finding == Finding(
        "domain-txt-missing",
        E,
        K.DOMAIN,
        D,
        f"no ms-domain-verification TXT record at {D}",
        (SPF, '"keep=me"'),
        TOKEN,
        (step("create", "TXT", "mail", D, TOKEN, f"add a TXT record at {D}: {TOKEN}"),),
    )


def test_another_resources_token_is_named_with_the_one_to_replace() -> None:
    old = "ms-domain-verification=old"
    assert findings({D: txt(SPF, old, "MS-Domain-Verification=older")}) == [
        Finding(
            "domain-txt-wrong-token",
            E,
            K.DOMAIN,
            D,
            f"{D} holds a verification token for another domain resource (deleted and re-added?)",
            (old, "MS-Domain-Verification=older"),
            TOKEN,
            (step("change", "TXT", "mail", D, TOKEN, f"replace {old} with {TOKEN} at {D}"),),
        )
    ]


def test_a_token_gone_after_domain_was_verified_is_only_information() -> None:
    old = "ms-domain-verification=old"
    assert findings({D: txt(SPF, old)}, states={K.DOMAIN: KindState("Verified")}) == [
        Finding(
            "domain-txt-removed",
            INFO,
            K.DOMAIN,
            D,
            f"the verification token is no longer at {D}; Domain is Verified, so nothing needs it",
            (old,),
            TOKEN,
        )
    ]


def test_a_token_at_the_doubled_name_or_the_zone_is_moved_to_the_domain() -> None:
    create = step("create", "TXT", "mail", D, TOKEN, f"create it with host 'mail' (the provider appends {Z})")
    assert findings({D: txt(SPF), f"{D}.{Z}": txt(TOKEN)}) == [
        Finding(
            "record-at-doubled-name",
            E,
            K.DOMAIN,
            D,
            f"the Domain record is at {D}.{Z}, not at {D}: the FQDN was pasted into a form that appends the zone",
            (f"{D}.{Z}",),
            D,
            (step("delete", "TXT", D, f"{D}.{Z}", TOKEN, f"delete the TXT record at {D}.{Z}"), create),
        )
    ]
    # the token is this domain's alone: the one at the zone goes too
    assert findings({D: txt(SPF), Z: txt(TOKEN)}) == [
        Finding(
            "record-at-wrong-name",
            E,
            K.DOMAIN,
            D,
            f"the Domain record is at {Z}, not at {D}: its name was written relative to the zone {Z} instead "
            f"of to {D}",
            (Z,),
            D,
            (step("delete", "TXT", "@", Z, TOKEN, f"delete the TXT record at {Z}"), create),
        )
    ]


# ---- SPF ----------------------------------------------------------------------------------------------------
def spf_finding(code: str, problem: str, found: str, merged: str) -> Finding:
    change = step("change", "TXT", "mail", D, merged, f"change the SPF record at {D} to: {merged}")
    return Finding(code, E, K.SPF, D, f"the SPF record at {D} {problem}", (found,), merged, (change,))


HARDFAIL = "ACS requires it to end with -all (~all fails verification)"


@pytest.mark.parametrize(
    ("held", "why", "merged"),
    [
        (f"v=spf1 {INCLUDE}", 'has no "all" term (receivers treat that like "?all")', SPF),
        (f"v=spf1 {INCLUDE} ~all", 'ends with "~all"', SPF),
        (
            f"v=spf1 {INCLUDE} ?all exp=explain.example",
            'has "?all" but not at the end',
            f"v=spf1 {INCLUDE} exp=explain.example -all",
        ),
    ],
    ids=["no-all", "softfail", "all-not-last"],
)
def test_an_spf_record_not_ending_with_hardfail_says_how(held: str, why: str, merged: str) -> None:
    assert findings({D: txt(TOKEN, held)}) == [
        spf_finding("spf-not-hardfail", f"{why}; {HARDFAIL}", held, merged)
    ]


def test_every_include_acs_asks_for_and_the_record_lacks_is_named() -> None:
    wanted = "v=spf1 include:b.example include:a.example -all"
    merged = "v=spf1 mx include:b.example include:a.example -all"
    assert findings({D: txt(TOKEN, "v=spf1 mx -all")}, expected=records(spf=wanted)) == [
        spf_finding(
            "spf-include-missing", "lacks include:a.example include:b.example", "v=spf1 mx -all", merged
        )
    ]


def test_an_spf_record_that_does_not_parse_names_each_problem() -> None:
    held = "v=spf1 foo include: -all"
    problems = "'foo' is not an SPF mechanism; 'include:' needs an argument"
    assert findings({D: txt(TOKEN, held)}) == [
        Finding(
            "spf-syntax-error",
            E,
            K.SPF,
            D,
            f"the SPF record at {D} is invalid ({problems}): receivers treat it as a permanent error",
            (held,),
            SPF,
            (step("change", "TXT", "mail", D, None, f"correct it: {problems}"),),
        )
    ]


def test_several_spf_records_are_merged_into_the_first_and_the_others_deleted() -> None:
    held = ("v=spf1 mx ~all", "v=spf1 a -all", SPF)
    merged = f"v=spf1 mx a {INCLUDE} -all"
    assert findings({D: txt(TOKEN, *held)}) == [
        Finding(
            "spf-multiple",
            E,
            K.SPF,
            D,
            f"3 SPF records at {D}; RFC 7208 makes that a permanent error, so receivers and verification "
            "ignore them all",
            held,
            SPF,
            (
                step("change", "TXT", "mail", D, merged, f"merge them into one record: {merged}"),
                step("delete", "TXT", "mail", D, "v=spf1 a -all", "delete the SPF record v=spf1 a -all"),
                step("delete", "TXT", "mail", D, SPF, f"delete the SPF record {SPF}"),
            ),
        )
    ]


@pytest.mark.parametrize("held", ['"v=spf1 mx ~all"', 'v=spf1 mx" "~all'], ids=["around", "inside"])
def test_a_quoted_spf_record_is_fixed_into_the_merged_bare_value(held: str) -> None:
    assert findings({D: txt(TOKEN, held)}) == quoted(K.SPF, held, f"v=spf1 mx {INCLUDE} -all")


def test_without_an_spf_record_a_quoted_other_value_is_not_taken_for_one() -> None:
    add = step("create", "TXT", "mail", D, SPF, f"add a TXT record at {D}: {SPF}")
    missing = Finding("spf-missing", E, K.SPF, D, f"no SPF (v=spf1) record at {D}", (), SPF, (add,))
    assert findings({D: txt(TOKEN, '"keep=me"')}) == [missing]
    # an SPF record at the zone's apex is the apex domain's own, not this one's misplaced
    assert findings({D: txt(TOKEN), Z: txt(SPF)}) == [missing]
    # one at the doubled name without all of ACS's includes is someone else's
    assert findings({D: txt(TOKEN), f"{D}.{Z}": txt("v=spf1 mx -all", "keep=me")}) == [missing]


@pytest.mark.parametrize(
    "there", [SPF, f"v=spf1 mx {INCLUDE} ~all", f'"{SPF}"'], ids=["same", "with-more", "quoted"]
)
def test_an_spf_record_with_acs_include_at_the_doubled_name_is_moved(there: str) -> None:
    assert findings({D: txt(TOKEN), f"{D}.{Z}": txt("keep=me", there)}) == [
        Finding(
            "record-at-doubled-name",
            E,
            K.SPF,
            D,
            f"the SPF record is at {D}.{Z}, not at {D}: the FQDN was pasted into a form that appends the zone",
            (f"{D}.{Z}",),
            D,
            (
                step("delete", "TXT", D, f"{D}.{Z}", SPF, f"delete the TXT record at {D}.{Z}"),
                step(
                    "create", "TXT", "mail", D, SPF, f"create it with host 'mail' (the provider appends {Z})"
                ),
            ),
        )
    ]


TWO_INCLUDES = "v=spf1 include:b.example include:a.example -all"
TARGETS = {
    "a.example": ("v=spf1 " + " ".join(f"a:h{i}.example" for i in range(8)) + " -all",),
    "b.example": (),
}


def test_an_spf_record_over_ten_lookups_says_how_many_and_which_includes_to_keep() -> None:
    held = "v=spf1 include:a.example include:b.example mx -all"  # 2 includes + mx + 8 under a.example
    keep = "remove or flatten include:/a/mx mechanisms of the SPF record (keep include:a.example include:b.example)"
    assert findings({D: txt(TOKEN, held)}, expected=records(spf=TWO_INCLUDES), spf_targets=TARGETS) == [
        Finding(
            "spf-too-many-lookups",
            E,
            K.SPF,
            D,
            f"the SPF record at {D} needs 11 DNS lookups; RFC 7208 allows 10",
            (held, "11 lookups"),
            "at most 10 lookups",
            (FixInstruction(keep),),
        )
    ]
    exactly_ten = "v=spf1 include:a.example include:b.example -all"
    assert (
        findings({D: txt(TOKEN, exactly_ten)}, expected=records(spf=TWO_INCLUDES), spf_targets=TARGETS) == []
    )


# ---- DKIM ---------------------------------------------------------------------------------------------------
def test_a_dkim_cname_pointing_elsewhere_is_repointed() -> None:
    point = step("change", "CNAME", H1, S1, T1, f"point the CNAME at {S1} to {T1}")
    wrong = Finding(
        "dkim-wrong-target",
        E,
        K.DKIM,
        S1,
        f"the DKIM CNAME at {S1} points to x.example.net, not to {T1}",
        ("x.example.net",),
        T1,
        (point,),
    )
    assert findings({S1: Lookup(cname="x.example.net")}) == [wrong]
    # once DKIM was Verified, the same problem says mail breaks now, and keeps what it was
    assert findings({S1: Lookup(cname="x.example.net")}, states={K.DKIM: KindState("Verified")}) == [
        Finding(
            "dkim-changed-after-verification",
            E,
            K.DKIM,
            S1,
            f"DKIM was Verified, but the DKIM CNAME at {S1} points to x.example.net, not to {T1}; mail sent now "
            "fails DKIM checks",
            ("x.example.net",),
            T1,
            (point,),
            cause="dkim-wrong-target",
        )
    ]


def test_a_dkim_key_pasted_as_txt_is_deleted_and_the_cname_created() -> None:
    create = step("create", "CNAME", H1, S1, T1, f"create a CNAME at {S1} pointing to {T1}")
    assert findings({S1: txt("v=DKIM1; k=rsa; p=MIIB")}) == [
        Finding(
            "dkim-not-cname",
            E,
            K.DKIM,
            S1,
            f"{S1} holds TXT records where ACS needs a CNAME (the key or target pasted as TXT?)",
            ("v=DKIM1; k=rsa; p=MIIB",),
            T1,
            (step("delete", "TXT", H1, S1, None, f"delete the TXT record at {S1}"), create),
        )
    ]


def test_a_missing_dkim2_cname_is_created() -> None:
    h2 = "selector2-azurecomm-prod-net._domainkey.mail"
    assert findings({S2: Lookup()}) == [
        Finding(
            "dkim2-missing",
            E,
            K.DKIM2,
            S2,
            f"no DKIM2 CNAME at {S2}",
            (),
            T2,
            (step("create", "CNAME", h2, S2, T2, f"create a CNAME at {S2} pointing to {T2}"),),
        )
    ]


def test_a_dkim_cname_at_the_doubled_name_is_moved_and_one_at_the_zone_is_kept() -> None:
    create = step("create", "CNAME", H1, S1, T1, f"create it with host '{H1}' (the provider appends {Z})")
    assert findings({S1: Lookup(), f"{S1}.{Z}": Lookup(cname=T1)}) == [
        Finding(
            "record-at-doubled-name",
            E,
            K.DKIM,
            S1,
            f"the DKIM record is at {S1}.{Z}, not at {S1}: the FQDN was pasted into a form that appends the zone",
            (f"{S1}.{Z}",),
            S1,
            (step("delete", "CNAME", S1, f"{S1}.{Z}", T1, f"delete the CNAME record at {S1}.{Z}"), create),
        )
    ]
    at_zone = "selector1-azurecomm-prod-net._domainkey.contoso.com"
    keep = f"; keep the one at {at_zone} if {Z} sends mail through ACS too"
    assert findings({S1: Lookup(), at_zone: Lookup(cname=T1)}) == [
        Finding(
            "record-at-wrong-name",
            E,
            K.DKIM,
            S1,
            f"the DKIM record is at {at_zone}, not at {S1}: its name was written relative to the zone {Z} "
            f"instead of to {D}",
            (at_zone,),
            S1,
            (step("create", "CNAME", H1, S1, T1, create.text + keep),),
        )
    ]


# ---- a CNAME at the domain's name ---------------------------------------------------------------------------
def test_a_cname_at_the_domain_is_named_when_the_token_or_spf_belongs_there() -> None:
    delete = "delete the CNAME at mail.contoso.com (serve what it pointed to with A/AAAA records)"
    cname_at_domain = Finding(
        "cname-at-domain",
        E,
        None,
        D,
        f"{D} is a CNAME to web.example.net: DNS allows no other record next to it, so the token and SPF records "
        "cannot be added",
        ("web.example.net",),
        None,
        (step("delete", "CNAME", "mail", D, None, delete),),
    )
    web = {D: Lookup(cname="web.example.net")}
    assert findings(web) == [cname_at_domain]
    assert findings(web, expected=records(kinds={K.SPF})) == [cname_at_domain]
    assert findings(web, expected=records(kinds={K.DOMAIN})) == [cname_at_domain]
    assert findings(web, expected=records(kinds={K.DOMAIN, K.DKIM})) == [cname_at_domain]
    assert findings(web, expected=records(kinds={K.DKIM, K.DKIM2})) == []  # nothing belongs at the domain


# ---- DMARC --------------------------------------------------------------------------------------------------
THREE_DMARC = ("v=DMARC1; p=reject", DMARC, "v=DMARC1; p=quarantine")


def delete_dmarc(value: str, keep: str) -> FixInstruction:
    return step("delete", "TXT", "_dmarc.mail", DM, value, f"delete the DMARC record {value} (keep {keep})")


def test_several_dmarc_records_keep_the_expected_one_else_the_first() -> None:
    message = f"3 DMARC records at {DM}; RFC 7489 makes receivers apply none of them"
    assert findings({DM: txt(*THREE_DMARC)}, expected=records(dmarc=DMARC)) == [
        Finding(
            "dmarc-multiple",
            E,
            K.DMARC,
            DM,
            message,
            THREE_DMARC,
            DMARC,
            (delete_dmarc(THREE_DMARC[0], DMARC), delete_dmarc(THREE_DMARC[2], DMARC)),
        )
    ]
    first = THREE_DMARC[0]
    assert findings({DM: txt(*THREE_DMARC)}) == [
        Finding(
            "dmarc-multiple",
            E,
            None,
            DM,
            message,
            THREE_DMARC,
            None,
            (delete_dmarc(THREE_DMARC[1], first), delete_dmarc(THREE_DMARC[2], first)),
        )
    ]
    other = "v=DMARC1; p=reject; pct=50"  # the expected one is not among them: the first is kept
    assert findings({DM: txt(first, other)}, expected=records(dmarc=DMARC))[0].fix == (
        delete_dmarc(other, first),
    )


def test_an_invalid_dmarc_record_is_an_error_only_when_the_service_expects_one() -> None:
    held = "v=DMARC1; p=maybe; pct=150"
    problems = "'p=maybe' has an invalid value; 'pct=150' has an invalid value"
    message = f"the DMARC record at {DM} is invalid ({problems}): receivers ignore it"
    assert findings({DM: txt(held)}, expected=records(dmarc=DMARC)) == [
        Finding(
            "dmarc-invalid",
            E,
            K.DMARC,
            DM,
            message,
            (held,),
            DMARC,
            (step("change", "TXT", "_dmarc.mail", DM, DMARC, f"correct it: {problems}"),),
        )
    ]
    assert findings({DM: txt(held)}) == [
        Finding(
            "dmarc-invalid",
            W,
            None,
            DM,
            message,
            (held,),
            None,
            (step("change", "TXT", "_dmarc.mail", DM, None, f"correct it: {problems}"),),
        )
    ]


def test_a_quoted_dmarc_record_is_fixed_to_the_expected_value_else_to_itself_unquoted() -> None:
    held = '"v=DMARC1; p=reject"'
    assert findings({DM: txt(held)}, expected=records(dmarc=DMARC)) == quoted(K.DMARC, held, DMARC)
    assert findings({DM: txt(held, '"keep=me"')}) == quoted(K.DMARC, held, "v=DMARC1; p=reject")


def test_a_missing_dmarc_record_matters_only_when_the_service_expects_one() -> None:
    add = step("create", "TXT", "_dmarc.mail", DM, DMARC, f"add a TXT record at {DM}: {DMARC}")
    missing = [Finding("dmarc-missing", E, K.DMARC, DM, f"no DMARC record at {DM}", (), DMARC, (add,))]
    assert findings({DM: Lookup()}, expected=records(dmarc=DMARC)) == missing
    assert findings({DM: txt('"keep=me"')}, expected=records(dmarc=DMARC)) == missing  # not a DMARC record
    assert findings({DM: Lookup()}) == []
    assert findings({DM: txt('"keep=me"')}) == []


# ---- placing the records ------------------------------------------------------------------------------------
def test_the_domain_comes_from_the_domain_record_when_the_answers_do_not_name_it() -> None:
    expected = [*records(kinds={K.DKIM}), *records(kinds={K.DOMAIN})]  # not first in the list
    answers = DnsAnswers("", Z, Delegation.DELEGATED, ServerView("r"))
    assert context(expected, Z, answers, {}).domain == D
    with pytest.raises(ValueError) as caught:
        context(records(kinds={K.DKIM}), Z, answers, {})
    assert str(caught.value) == (
        "the expected records have no Domain record: the email domain's name is unknown"
    )


def test_names_to_query_at_the_apex_and_below() -> None:
    apex = [
        VerificationRecord(K.DOMAIN, "TXT", Z, TOKEN, 3600),
        VerificationRecord(K.DKIM, "CNAME", "selector1-azurecomm-prod-net._domainkey", T1, 3600),
    ]
    assert names_to_query(apex, Z, Z) == [
        Z,
        f"selector1-azurecomm-prod-net._domainkey.{Z}",
        f"_dmarc.{Z}",
        f"{Z}.{Z}",
        f"selector1-azurecomm-prod-net._domainkey.{Z}.{Z}",
        f"_dmarc.{Z}.{Z}",
    ]
    assert names_to_query(records(kinds={K.DOMAIN, K.DKIM}), D, Z) == [
        D,
        S1,
        DM,
        f"{D}.{Z}",
        Z,
        f"{S1}.{Z}",
        f"selector1-azurecomm-prod-net._domainkey.{Z}",
        f"{DM}.{Z}",
    ]


@pytest.mark.parametrize(
    ("fqdn", "domain", "zone", "wrong"),
    [
        (f"a.{D}", D, Z, f"a.{Z}"),
        ("MAIL.contoso.com.", D, Z, Z),
        ("a.other.example", D, Z, None),  # not under the domain
        (f"x.{Z}", Z, Z, None),  # the domain is the zone: nothing to confuse
    ],
)
def test_zone_level_name(fqdn: str, domain: str, zone: str, wrong: str | None) -> None:
    assert zone_level_name(fqdn, domain, zone) == wrong


# ---- SPF and DMARC syntax ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "problems"),
    [
        (
            "v=spf1 redirect= exp= ip4:192.0.2.1/24 ip6:2001:db8::1/64 exp=a.example -all",
            ["'redirect=' has no domain", "'exp=' has no domain", "'exp=' appears 2 times"],
        ),
        (
            "v=spf1 ip4:2001:db8::/32 ip6:192.0.2.0/24 all:x -all",
            [
                "'ip4:2001:db8::/32' is not a valid ip4 network",
                "'ip6:192.0.2.0/24' is not a valid ip6 network",
                "'all:x': all takes no argument",
            ],
        ),
        ("v=spf1 redirect=a.example redirect=b.example", ["'redirect=' appears 2 times"]),
        ("v=spf1 ip4:192.0.2.1/24 unknown=x unknown=y -all", []),  # host bits set: still a network
    ],
)
def test_spf_syntax_problems_word_for_word(text: str, problems: list[str]) -> None:
    assert spf_syntax_problems(text) == problems


@pytest.mark.parametrize(
    ("text", "problems"),
    [
        (
            "v=DMARC1; p=none; bogus; p=reject; adkim=x",
            ["'bogus' is not tag=value", "tag 'p' appears twice", "'adkim=x' has an invalid value"],
        ),
        ("p=none; v=DMARC1", ["it must start with v=DMARC1"]),
        ("v=DMARC1; sp=none", ["the p= tag (none, quarantine or reject) is missing"]),
        ("v=DMARC1; rua=mailto:d@example.com", []),  # RFC 7489 6.6.3: applied as p=none
        (
            "v=DMARC1; p=reject; rua=mailto:a@example.com,mailto:b@example.com; ruf=mailto:f@example.com; "
            "fo=0:1:d:s; rf=afrf; ri=86400; sp=quarantine; np=reject; aspf=s; adkim=r; pct=50; t=y; psd=n",
            [],
        ),
    ],
)
def test_dmarc_problems_word_for_word(text: str, problems: list[str]) -> None:
    assert dmarc_problems(text) == problems


def test_spf_to_publish_folds_every_record_into_the_first_and_skips_what_does_not_parse() -> None:
    existing = ["v=spf1 mx ~all", "google-site-verification=x", "v=spf1 a -all"]
    assert spf_to_publish(existing, SPF) == f"v=spf1 mx a {INCLUDE} -all"
    assert spf_to_publish([], SPF) == SPF
