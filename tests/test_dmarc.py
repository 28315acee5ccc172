"""DMARC values a user gives (`--dmarc`, `dmarc =`): every problem named word for word, valid values kept."""

from __future__ import annotations

import pytest

from provisioner.dmarc import KNOWN_TAGS, check_dmarc, dmarc_problem
from provisioner.errors import ExitCode, UsageError

KNOWN = "p, sp, rua, ruf, pct, adkim, aspf, fo, rf, ri"


@pytest.mark.parametrize(
    "value",
    [
        "v=DMARC1; p=none",
        "v=DMARC1; p=none;",  # a trailing ';' is allowed
        "v = DMARC1 ; p = reject",  # spaces around '=' and ';'
        "v=DMARC1; P=Quarantine; SP=reject; adkim=S; aspf=r",  # tags and policies in any case
        "v=DMARC1; p=none; pct=0",
        "v=DMARC1; p=none; pct=100; ri=86400; fo=1; rf=afrf",
        "v=DMARC1; p=none; rua=mailto:a@example.com, mailto:b@example.com; ruf=mailto:f@example.com",
        "v=DMARC1; p=none; rua=",  # an empty report list names no URI to check
    ],
)
def test_valid_values_have_no_problem(value: str) -> None:
    assert dmarc_problem(value) is None
    assert check_dmarc(f"  {value}  ") == value  # kept as given, only stripped


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("", 'must start with "v=DMARC1"'),
        (";", 'must start with "v=DMARC1"'),
        ("p=none; v=DMARC1", 'must start with "v=DMARC1"'),
        ("v=DMARC2; p=none", 'must start with "v=DMARC1"'),
        ("v=DMARC1x; p=none", 'must start with "v=DMARC1"'),
        ("v=spf1 -all", 'must start with "v=DMARC1"'),
        ("v=DMARC1; p", '"p" is not a tag=value pair'),
        ("v=DMARC1; =none", '"=none" is not a tag=value pair'),
        ("v=DMARC1; p=none; bogus=1", f'unknown tag "bogus" (known: {KNOWN})'),
        ("v=DMARC1; p=none; v=DMARC1", f'unknown tag "v" (known: {KNOWN})'),
        ("v=DMARC1; p=none; P=reject", 'the tag "p" is given twice'),
        ("v=DMARC1", 'the policy tag "p" is required (p=none, p=quarantine or p=reject)'),
        (
            "v=DMARC1; rua=mailto:a@example.com",
            'the policy tag "p" is required (p=none, p=quarantine or p=reject)',
        ),
        ("v=DMARC1; sp=none; p=none", 'the "p" tag must come right after "v=DMARC1"'),
        ("v=DMARC1; p=maybe", "p=maybe is not a policy (none, quarantine or reject)"),
        ("v=DMARC1; p=none; sp=all", "sp=all is not a policy (none, quarantine or reject)"),
        ("v=DMARC1; p=none; adkim=x", "adkim=x must be r (relaxed) or s (strict)"),
        ("v=DMARC1; p=none; aspf=relaxed", "aspf=relaxed must be r (relaxed) or s (strict)"),
        ("v=DMARC1; p=none; pct=101", "pct=101 must be a whole number from 0 to 100"),
        ("v=DMARC1; p=none; pct=-1", "pct=-1 must be a whole number from 0 to 100"),
        ("v=DMARC1; p=none; pct=50.5", "pct=50.5 must be a whole number from 0 to 100"),
        ("v=DMARC1; p=none; ri=1d", "ri=1d must be a number of seconds"),
        (
            "v=DMARC1; p=none; rua=mailto:a@example.com, dmarc.example.com",
            'rua holds "dmarc.example.com", which is not a URI (e.g. mailto:dmarc@example.com)',
        ),
        (
            "v=DMARC1; p=none; ruf=reports@example.com",
            'ruf holds "reports@example.com", which is not a URI (e.g. mailto:dmarc@example.com)',
        ),
    ],
)
def test_each_problem_is_named(value: str, problem: str) -> None:
    assert dmarc_problem(value) == problem


def test_pct_bounds_are_inclusive() -> None:
    assert [dmarc_problem(f"v=DMARC1; p=none; pct={n}") for n in (0, 1, 99, 100)] == [None] * 4


def test_a_bad_value_is_a_usage_error_naming_where_it_came_from_and_the_fix() -> None:
    with pytest.raises(UsageError) as caught:
        check_dmarc(" v=DMARC1; p=maybe ", "dmarc (at line 4)")
    assert caught.value.exit_code is ExitCode.USAGE
    assert caught.value.message == (
        "dmarc (at line 4): ' v=DMARC1; p=maybe ' is not a valid DMARC record: "
        "p=maybe is not a policy (none, quarantine or reject)"
    )
    assert caught.value.hint == (
        'give a value like "v=DMARC1; p=none; rua=mailto:dmarc@example.com" (RFC 7489 section 6.3)'
    )
    with pytest.raises(UsageError, match=r"^--dmarc: 'v=DMARC1' is not a valid DMARC record: "):
        check_dmarc("v=DMARC1")


def test_the_known_tags_are_rfc_7489s() -> None:
    assert KNOWN_TAGS == ("v", "p", "sp", "rua", "ruf", "pct", "adkim", "aspf", "fo", "rf", "ri")


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (
            "v=DMARC1; p=none; rua=mailto:a@example.com?subject=dmarc",
            None,
        ),  # '=' inside a value is the value's
        ("v=DMARC1; p=no=ne", "p=no=ne is not a policy (none, quarantine or reject)"),
        (
            "v=DMARC1; p=none; rua=mailto:a@example.com,dmarc.example.com",  # no space after the comma
            'rua holds "dmarc.example.com", which is not a URI (e.g. mailto:dmarc@example.com)',
        ),
    ],
)
def test_values_are_split_at_the_first_equals_sign_and_uris_at_commas(
    value: str, problem: str | None
) -> None:
    assert dmarc_problem(value) == problem
