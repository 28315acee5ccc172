"""Domain names: validation, zone-relative names, ACS API name forms, zone choice."""

from __future__ import annotations

import pytest

from provisioner.errors import UsageError
from provisioner.names import best_zone, is_in_zone, normalize_domain, record_fqdn, relative_name

DKIM1 = "selector1-azurecomm-prod-net._domainkey"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("example.com", "example.com"),
        ("Example.COM.", "example.com"),
        ("  mail.example.com  ", "mail.example.com"),
        ("_dmarc.example.com", "_dmarc.example.com"),
        (f"{DKIM1}.mail.example.com", f"{DKIM1}.mail.example.com"),
        ("xn--bcher-kva.example", "xn--bcher-kva.example"),
        ("a" * 63 + ".com", "a" * 63 + ".com"),
        ("localhost", "localhost"),
        ("1-2.example.com", "1-2.example.com"),
    ],
)
def test_normalize_domain_accepts(given: str, expected: str) -> None:
    assert normalize_domain(given) == expected


@pytest.mark.parametrize(
    ("given", "problem"),
    [
        ("", "empty"),
        (".", "empty"),
        ("example..com", "empty label"),
        (".example.com", "empty label"),
        ("example.com..", "empty label"),
        ("-bad.example.com", "hyphen"),
        ("bad-.example.com", "hyphen"),
        ("a" * 64 + ".com", "64 characters"),
        ("has space.example.com", "' '"),
        ("user@example.com", "'@'"),
        ("@", "'@'"),
        ("bücher.example", "'ü'"),
        (".".join(["abcdefghi"] * 26), "259 characters"),
    ],
)
def test_normalize_domain_rejects_naming_the_name_and_the_problem(given: str, problem: str) -> None:
    with pytest.raises(UsageError) as caught:
        normalize_domain(given)
    assert repr(given)[1:-1] in caught.value.message or given in caught.value.message
    assert problem in caught.value.message


def test_normalize_domain_hints_punycode_for_non_ascii() -> None:
    with pytest.raises(UsageError) as caught:
        normalize_domain("bücher.example")
    assert "xn--" in (caught.value.hint or "")


def test_total_length_limit_is_253() -> None:
    name = ".".join(["a" * 63] * 3 + ["b" * 61])  # 253 characters
    assert len(name) == 253
    assert normalize_domain(name) == name
    with pytest.raises(UsageError):
        normalize_domain(name + "b")


@pytest.mark.parametrize(
    ("fqdn", "zone", "expected"),
    [
        ("example.com", "example.com", "@"),
        ("Example.com.", "example.COM", "@"),
        ("mail.example.com", "example.com", "mail"),
        (f"{DKIM1}.mail.example.com", "example.com", f"{DKIM1}.mail"),
        (f"{DKIM1}.example.com", "example.com", DKIM1),
        ("_dmarc.mail.example.com.", "example.com.", "_dmarc.mail"),
        ("a.b.c.example.com", "c.example.com", "a.b"),
    ],
)
def test_relative_name(fqdn: str, zone: str, expected: str) -> None:
    assert relative_name(fqdn, zone) == expected


@pytest.mark.parametrize(
    ("fqdn", "zone"),
    [("example.org", "example.com"), ("notexample.com", "example.com"), ("example.com", "mail.example.com")],
)
def test_relative_name_outside_the_zone_is_a_usage_error(fqdn: str, zone: str) -> None:
    with pytest.raises(UsageError, match="not in the DNS zone"):
        relative_name(fqdn, zone)


@pytest.mark.parametrize(
    "api_name",
    [
        "mail.contoso.com",
        "mail.contoso.com.",
        "MAIL.Contoso.COM",
        "MAIL.CONTOSO.COM.",
        "@",
    ],
)
def test_record_fqdn_full_forms_of_the_domain(api_name: str) -> None:
    assert record_fqdn(api_name, "mail.contoso.com") == "mail.contoso.com"


@pytest.mark.parametrize(
    "api_name",
    [
        DKIM1,
        DKIM1 + ".",
        DKIM1.upper(),
        f"{DKIM1}.mail.contoso.com",
        f"{DKIM1}.mail.contoso.com.",
        f"{DKIM1}.MAIL.CONTOSO.COM".upper(),
    ],
)
def test_record_fqdn_dkim_relative_or_full(api_name: str) -> None:
    assert record_fqdn(api_name, "Mail.Contoso.com.") == f"{DKIM1}.mail.contoso.com"


def test_record_fqdn_does_not_double_the_domain() -> None:
    # The classic mistake: "example.com.example.com".
    assert record_fqdn("example.com", "example.com") == "example.com"
    assert record_fqdn("_dmarc", "example.com") == "_dmarc.example.com"


def test_record_fqdn_treats_a_lookalike_suffix_as_relative() -> None:
    # "notcontoso.com" does not end with ".contoso.com" on a label boundary.
    assert record_fqdn("notcontoso.com", "contoso.com") == "notcontoso.com.contoso.com"


@pytest.mark.parametrize("api_name", ["", "  ", "."])
def test_record_fqdn_rejects_an_empty_name(api_name: str) -> None:
    with pytest.raises(UsageError, match="empty"):
        record_fqdn(api_name, "contoso.com")


def test_record_fqdn_rejects_an_invalid_name() -> None:
    with pytest.raises(UsageError, match="not a valid domain name"):
        record_fqdn("bad name", "contoso.com")


@pytest.mark.parametrize(
    ("fqdn", "zone", "inside"),
    [
        ("example.com", "example.com", True),
        ("mail.example.com", "example.com", True),
        ("MAIL.example.com.", "Example.com", True),
        ("notexample.com", "example.com", False),
        ("example.com", "mail.example.com", False),
        ("example.org", "example.com", False),
    ],
)
def test_is_in_zone(fqdn: str, zone: str, inside: bool) -> None:
    assert is_in_zone(fqdn, zone) is inside


def test_best_zone_prefers_the_longest_suffix_on_label_boundaries() -> None:
    zones = ["example.com", "mail.example.com", "ail.example.com", "com", "other.org"]
    assert best_zone("x.mail.example.com", zones) == "mail.example.com"
    assert best_zone("mail.example.com", zones) == "mail.example.com"
    assert best_zone("smtp.example.com", zones) == "example.com"
    assert best_zone("example.net", zones) is None
    assert best_zone("example.net", []) is None


def test_best_zone_returns_the_name_as_spelled_in_the_list() -> None:
    assert best_zone("mail.example.com", ["Example.COM."]) == "Example.COM."


# --- the exact words a user reads (mutation testing found these unchecked) -------------------------------
@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("", "'' is not a valid domain name: it is empty"),
        (
            "a..b",
            "'a..b' is not a valid domain name: it has an empty label (a leading dot or two dots in a row)",
        ),
        (
            "a b!c.example",
            "'a b!c.example' is not a valid domain name: the label 'a b!c' contains ' !'; "
            "only letters, digits, hyphens and underscores are allowed",
        ),
    ],
)
def test_invalid_name_message_and_hint(given: str, message: str) -> None:
    with pytest.raises(UsageError) as caught:
        normalize_domain(given)
    assert caught.value.message == message
    assert caught.value.hint == "give a domain name such as 'mail.example.com'"


def test_relative_name_outside_the_zone_says_which_zone_to_use() -> None:
    with pytest.raises(UsageError) as caught:
        relative_name("mail.example.org", "example.com")
    assert caught.value.message == "'mail.example.org' is not in the DNS zone 'example.com'"
    assert caught.value.hint == (
        "use the zone that contains the email domain (or leave the zone out and let acs-dns find it)"
    )


def test_best_zone_takes_a_one_letter_zone_and_keeps_the_first_spelling_of_a_tie() -> None:
    assert best_zone("mail.x", ["x"]) == "x"
    assert best_zone("mail.example.com", ["Example.com", "example.COM.", "com"]) == "Example.com"
