"""SPF: detection, merge of the ACS include, the -all policy rule, lookup counting."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from provisioner.errors import RefusedError
from provisioner.spf import (
    MAX_SPF_LOOKUPS,
    all_qualifier,
    check_lookup_limit,
    count_dns_lookups,
    is_spf,
    merge_spf,
    parse_spf,
    parse_term,
)

WANTED = "v=spf1 include:spf.protection.outlook.com -all"
ACS = "include:spf.protection.outlook.com"


def resolver(zone: dict[str, list[str]]) -> Callable[[str], list[str]]:
    """A dict-backed stand-in for DNS: the TXT texts at each name ([] when there are none)."""
    return lambda name: zone.get(name, [])


# --- detection and parsing ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("v=spf1 -all", True),
        ("v=spf1", True),
        ("V=SPF1 mx -all", True),
        ("v=spf1\tmx", True),
        ("v=spf10 -all", False),
        ("v=spf1-all", False),
        (" v=spf1 -all", False),
        ("ms-domain-verification=abc", False),
        ("", False),
        ("spf1", False),
    ],
)
def test_is_spf(text: str, expected: bool) -> None:
    assert is_spf(text) is expected


@pytest.mark.parametrize(
    ("text", "qualifier"),
    [
        ("v=spf1 mx -all", "-"),
        ("v=spf1 mx ~all", "~"),
        ("v=spf1 mx ?all", "?"),
        ("v=spf1 mx +all", "+"),
        ("v=spf1 mx all", "+"),
        ("v=spf1 mx -ALL", "-"),
        ("v=spf1 mx", None),
        ("v=spf1 redirect=_spf.example.com", None),
    ],
)
def test_all_qualifier(text: str, qualifier: str | None) -> None:
    assert all_qualifier(text) == qualifier


def test_parse_terms() -> None:
    version, terms = parse_spf(
        "V=spf1 ip4:192.0.2.0/24 a/24 mx:mx.example.com/28 ~include:X.example. exp=e.%{d} -all"
    )
    assert version == "V=spf1"
    assert [(t.qualifier, t.name, t.value, t.is_modifier) for t in terms] == [
        ("+", "ip4", "192.0.2.0/24", False),
        ("+", "a", "/24", False),
        ("+", "mx", "mx.example.com/28", False),
        ("~", "include", "X.example.", False),
        ("", "exp", "e.%{d}", True),
        ("-", "all", None, False),
    ]
    assert terms[1].target is None
    assert terms[2].target == "mx.example.com"
    assert terms[3].target == "x.example"
    assert terms[3].key == ("include", "x.example")


def test_parse_spf_rejects_non_spf() -> None:
    with pytest.raises(ValueError, match="not an SPF record"):
        parse_spf("ms-domain-verification=abc")


def test_parse_term_modifier_and_bare_mechanism() -> None:
    assert parse_term("redirect=_spf.example.com").is_modifier
    assert parse_term("ptr").value is None


# --- merge -----------------------------------------------------------------------------------------


def test_no_existing_record_gives_the_api_value_as_is() -> None:
    result = merge_spf(None, WANTED, allow_hardfail_change=False)
    assert (result.text, result.changed) == (WANTED, True)


@pytest.mark.parametrize(
    "existing",
    [
        WANTED,
        "v=spf1 include:SPF.Protection.Outlook.com. -all",
        "v=spf1  mx   include:spf.protection.outlook.com  -all",
        "v=spf1 +include:spf.protection.outlook.com exp=explain.example.com -all",
    ],
)
def test_already_merged_record_is_unchanged_byte_for_byte(existing: str) -> None:
    result = merge_spf(existing, WANTED, allow_hardfail_change=False)
    assert (result.text, result.changed, result.notes) == (existing, False, ())


def test_modifier_after_all_moves_before_it_so_the_record_ends_with_hardfail() -> None:
    result = merge_spf("v=spf1 mx -all exp=explain.example.com", WANTED, allow_hardfail_change=False)
    assert result.text == "v=spf1 mx include:spf.protection.outlook.com exp=explain.example.com -all"
    assert result.changed and any("moved exp=explain.example.com" in n for n in result.notes)


def test_merge_keeps_every_mechanism_and_modifier_in_order() -> None:
    existing = "v=spf1 ip4:192.0.2.1 mx a:mail.example.com include:_spf.google.com exp=why.example.com -all"
    result = merge_spf(existing, WANTED, allow_hardfail_change=False)
    assert result.text == (
        f"v=spf1 ip4:192.0.2.1 mx a:mail.example.com include:_spf.google.com exp=why.example.com {ACS} -all"
    )
    assert result.changed
    assert result.notes == (f"added {ACS}",)


def test_merge_adds_before_all_even_with_terms_after_it() -> None:
    result = merge_spf("v=spf1 mx -all exp=x.example.com", WANTED, allow_hardfail_change=False)
    assert result.text == f"v=spf1 mx {ACS} exp=x.example.com -all"


def test_merge_adds_every_missing_mechanism_of_the_api_value() -> None:
    wanted = "v=spf1 include:spf.protection.outlook.com include:second.example.net -all"
    result = merge_spf("v=spf1 include:second.example.net -all", wanted, allow_hardfail_change=False)
    assert result.text == f"v=spf1 include:second.example.net {ACS} -all"


@pytest.mark.parametrize("soft", ["~all", "?all", "+all", "all"])
def test_weak_all_is_refused_without_permission(soft: str) -> None:
    with pytest.raises(RefusedError) as caught:
        merge_spf(f"v=spf1 mx {soft}", WANTED, allow_hardfail_change=False)
    error = caught.value
    assert f'"{soft}"' in error.message
    assert '"-all"' in error.message
    assert "Azure Communication Services requires" in error.message
    assert "whole domain" in error.message
    assert "--spf-hardfail" in (error.hint or "")
    assert "spf_hardfail = true" in (error.hint or "")


@pytest.mark.parametrize("soft", ["~all", "?all", "+all", "all"])
def test_weak_all_is_changed_in_place_with_permission(soft: str) -> None:
    result = merge_spf(f"v=spf1 mx {soft} exp=x.example.com", WANTED, allow_hardfail_change=True)
    assert result.text == f"v=spf1 mx {ACS} exp=x.example.com -all"
    assert f"changed {soft} to -all" in result.notes


def test_weak_all_with_the_include_already_present_only_changes_all() -> None:
    result = merge_spf(f"v=spf1 {ACS} ~all", WANTED, allow_hardfail_change=True)
    assert (result.text, result.notes) == (f"v=spf1 {ACS} -all", ("changed ~all to -all",))


def test_missing_all_is_refused_without_permission() -> None:
    with pytest.raises(RefusedError, match='no "all" term'):
        merge_spf("v=spf1 mx", WANTED, allow_hardfail_change=False)


def test_missing_all_is_added_after_the_last_mechanism_with_permission() -> None:
    result = merge_spf("v=spf1 mx exp=x.example.com", WANTED, allow_hardfail_change=True)
    assert result.text == f"v=spf1 mx {ACS} exp=x.example.com -all"
    assert result.notes[:2] == (f"added {ACS}", "added -all")


def test_bare_version_with_permission() -> None:
    assert merge_spf("v=spf1", WANTED, allow_hardfail_change=True).text == f"v=spf1 {ACS} -all"


def test_redirect_without_all_is_refused_without_permission() -> None:
    with pytest.raises(RefusedError, match=r"redirect=_spf\.example\.com"):
        merge_spf("v=spf1 mx redirect=_spf.example.com", WANTED, allow_hardfail_change=False)


def test_redirect_becomes_include_then_hardfail_with_permission() -> None:
    result = merge_spf(
        "v=spf1 mx redirect=_spf.example.com exp=x.example.com", WANTED, allow_hardfail_change=True
    )
    assert result.text == f"v=spf1 mx {ACS} include:_spf.example.com exp=x.example.com -all"
    assert "changed redirect=_spf.example.com to include:_spf.example.com -all" in result.notes


def test_redirect_next_to_hardfail_all_is_left_alone() -> None:
    result = merge_spf("v=spf1 mx -all redirect=_spf.example.com", WANTED, allow_hardfail_change=False)
    assert result.text == f"v=spf1 mx {ACS} redirect=_spf.example.com -all"


def test_merge_result_is_stable() -> None:
    once = merge_spf("v=spf1 mx ~all", WANTED, allow_hardfail_change=True)
    twice = merge_spf(once.text, WANTED, allow_hardfail_change=False)
    assert (twice.text, twice.changed) == (once.text, False)


# --- lookup counting ---------------------------------------------------------------------------------


def test_counts_each_lookup_mechanism_once_and_free_ones_not_at_all() -> None:
    text = (
        "v=spf1 ip4:192.0.2.1 ip6:2001:db8::1 a a:x.example.com mx mx/24 ptr exists:%{i}.e.example.com -all"
    )
    assert count_dns_lookups(text, resolver({})) == 6


def test_follows_nested_includes() -> None:
    zone = {
        "spf.protection.outlook.com": ["v=spf1 include:a.outlook.test include:b.outlook.test -all"],
        "a.outlook.test": ["v=spf1 ip4:192.0.2.0/24 -all"],
        "b.outlook.test": ["unrelated text", "v=spf1 mx include:c.outlook.test -all"],
        "c.outlook.test": ["v=spf1 a -all"],
    }
    # include(1) -> include a(1) + include b(1) -> mx(1) + include c(1) -> a(1)
    assert count_dns_lookups(WANTED, resolver(zone)) == 6


def test_redirect_counts_and_is_followed_only_without_all() -> None:
    zone = {"_spf.example.com": ["v=spf1 mx a -all"]}
    assert count_dns_lookups("v=spf1 redirect=_spf.example.com", resolver(zone)) == 3
    assert count_dns_lookups("v=spf1 -all redirect=_spf.example.com", resolver(zone)) == 0


def test_include_cycles_terminate() -> None:
    zone = {
        "a.example": ["v=spf1 include:b.example -all"],
        "b.example": ["v=spf1 include:a.example mx -all"],
    }
    # a(1) -> b(1) -> [a(1), not followed again] + mx(1)
    assert count_dns_lookups("v=spf1 include:a.example -all", resolver(zone)) == 4


def test_self_include_terminates() -> None:
    zone = {"loop.example": ["v=spf1 include:loop.example -all"]}
    assert count_dns_lookups("v=spf1 include:loop.example -all", resolver(zone)) == 2


def test_unresolvable_or_broken_include_counts_one() -> None:
    zone = {
        "two.example": ["v=spf1 mx -all", "v=spf1 a -all"],  # permerror: contributes nothing more
        "none.example": ["not spf"],
    }
    text = "v=spf1 include:missing.example include:two.example include:none.example include:%{d}.x -all"
    assert count_dns_lookups(text, resolver(zone)) == 4


def test_repeated_includes_count_every_time() -> None:
    zone = {"x.example": ["v=spf1 mx -all"]}
    assert count_dns_lookups("v=spf1 include:x.example include:x.example -all", resolver(zone)) == 4


def test_max_depth_stops_following() -> None:
    zone = {f"d{i}.example": [f"v=spf1 include:d{i + 1}.example -all"] for i in range(30)}
    assert count_dns_lookups("v=spf1 include:d0.example -all", resolver(zone), max_depth=3) == 4
    assert count_dns_lookups("v=spf1 include:d0.example -all", resolver(zone)) == 11


def test_target_names_are_looked_up_normalised() -> None:
    seen: list[str] = []

    def resolve(name: str) -> list[str]:
        seen.append(name)
        return []

    count_dns_lookups("v=spf1 include:SPF.Example.COM. -all", resolve)
    assert seen == ["spf.example.com"]


def test_check_lookup_limit_allows_ten() -> None:
    text = "v=spf1 " + " ".join(f"a:h{i}.example" for i in range(MAX_SPF_LOOKUPS)) + " -all"
    assert check_lookup_limit(text, resolver({})) == 10


def test_check_lookup_limit_refuses_eleven_with_the_count() -> None:
    zone = {"big.example": ["v=spf1 " + " ".join(f"include:i{i}.example" for i in range(10)) + " -all"]}
    with pytest.raises(RefusedError, match="11 DNS lookups") as caught:
        check_lookup_limit("v=spf1 include:big.example -all", resolver(zone))
    assert "at most 10" in caught.value.message


# --- found unchecked by mutation testing ----------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "name", "value"),
    [("a/24", "a", "/24"), ("mx/24//64", "mx", "/24//64"), ("-A/32", "a", "/32"), ("a/", "a", None)],
)
def test_parse_term_keeps_a_cidr_suffix_and_the_raw_text(raw: str, name: str, value: str | None) -> None:
    term = parse_term(raw)
    assert (term.raw, term.name, term.value, term.is_modifier) == (raw, name, value, False)


def test_no_existing_record_notes_that_spf_was_added() -> None:
    assert merge_spf(None, WANTED, allow_hardfail_change=False).notes == ("added SPF record",)


def test_already_merged_record_has_no_notes() -> None:
    assert merge_spf(WANTED, WANTED, allow_hardfail_change=False).notes == ()


def test_missing_all_refusal_explains_the_neutral_default() -> None:
    with pytest.raises(RefusedError) as caught:
        merge_spf("v=spf1 mx", WANTED, allow_hardfail_change=False)
    assert caught.value.message.startswith(
        'the existing SPF record has no "all" term (receivers treat that like "?all"); '
    )


def test_several_modifiers_after_all_are_named_when_moved() -> None:
    result = merge_spf(f"{WANTED} exp=x.example foo=bar", WANTED, allow_hardfail_change=False)
    assert result.text == "v=spf1 include:spf.protection.outlook.com exp=x.example foo=bar -all"
    assert result.notes == ("moved exp=x.example foo=bar before -all (ACS requires it last)",)


def test_a_macro_target_is_never_looked_up() -> None:
    asked: list[str] = []

    def resolve(name: str) -> list[str]:
        asked.append(name)
        return ["v=spf1 a mx -all"]

    assert count_dns_lookups("v=spf1 include:%{d}.spf.example -all", resolve) == 1
    assert asked == []


def test_lookup_limit_refusal_says_why_and_what_to_do() -> None:
    zone = {"big.example": ["v=spf1 " + " ".join(f"include:i{i}.example" for i in range(10)) + " -all"]}
    with pytest.raises(RefusedError) as caught:
        check_lookup_limit("v=spf1 include:big.example -all", resolver(zone))
    assert caught.value.message == (
        "the SPF record would need 11 DNS lookups; RFC 7208 allows at most 10, "
        "so receivers would treat it as a permanent error and SPF verification would fail "
        "[spf-too-many-lookups]"
    )
    assert caught.value.hint == (
        "remove or flatten some include: mechanisms of the existing SPF record, then re-run"
    )
