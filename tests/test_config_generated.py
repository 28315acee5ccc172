"""Generated configurations (hypothesis): every TOML file and flag combination either loads or is refused
with a UsageError (exit 2) whose every problem names where it is: the file and the line holding the key,
or the flag. No other exception escapes, whatever the file holds."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from provisioner.config import SETTING_KEYS, DomainTarget, load_targets, target_from_flags
from provisioner.errors import ExitCode, UsageError

SUB = "00000000-0000-0000-0000-000000000000"
KEYS = sorted(SETTING_KEYS | {"name"})
# near misses a user types: dashes, capitals, plurals, keys of other tools
TYPO_KEYS = ["resource-group", "Subscription", "zones", "domain", "emailservice", "dns_zone", "spf"]

VALID = {
    "subscription": st.sampled_from([SUB, SUB.upper(), "11111111-2222-3333-4444-555555555555"]),
    "resource_group": st.sampled_from(["rg-email", "RG.(prod)", "r_1"]),
    "zone_resource_group": st.sampled_from(["rg-dns", "dns"]),
    "email_service": st.sampled_from(["contoso-email", "E1"]),
    "name": st.sampled_from(["contoso.com", "mail.contoso.com", "Mail.Contoso.COM.", "x.fabrikam.com"]),
    "zone": st.sampled_from(["contoso.com", "fabrikam.com", "CONTOSO.com."]),
}
BAD_STRINGS = st.sampled_from(
    ["", " ", "a..b", "-x.com", "mail", "café.com", "rg/x", "rg.", "x" * 100, "{" + SUB + "}", "my-sub"]
)
SCALARS = st.one_of(
    BAD_STRINGS,
    st.text(max_size=12),
    st.booleans(),
    st.integers(-5, 5),
    st.floats(allow_nan=False, allow_infinity=False, width=16),
)
ANY_VALUE = st.one_of(SCALARS, st.lists(SCALARS, max_size=2), st.dictionaries(st.sampled_from(KEYS), SCALARS))


def _value_for(key: str) -> st.SearchStrategy[object]:
    if key in ("spf_hardfail", "takeover", "create_domain"):
        return st.one_of(st.booleans(), ANY_VALUE)
    return st.one_of(VALID[key], VALID[key], ANY_VALUE) if key in VALID else ANY_VALUE


# built once: hypothesis validates a strategy each time one is built, which cost more than the drawing
VALUE_FOR = {key: _value_for(key) for key in [*KEYS, *TYPO_KEYS]}
QUOTES = st.sampled_from(["", "", '"', "'"])
EQUALS = st.sampled_from([" = ", "=", "   =  "])
COMMENTS = st.sampled_from(["", "", "  # why"])
BETWEEN = st.sampled_from(["", "# a comment", "   "])
HEADERS = st.sampled_from(["[[domain]]", "[[ domain ]]", "[[domain]]  # next"])
INLINE_TABLE = st.dictionaries(st.sampled_from(KEYS), SCALARS, max_size=4)
STRAY_TABLES = st.sampled_from(["[domain]", "[extra]", "[[defaults]]", "[defaults.more]"])
SLIPS = st.sampled_from(["=", "[", '"', "\n", "x", "\ufeff"])
POOLS = {"top": TYPO_KEYS, "entry": KEYS + TYPO_KEYS}
KEY_LISTS = {pool: st.lists(st.sampled_from(keys), unique=True, max_size=6) for pool, keys in POOLS.items()}


def toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        return '"' + "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in escaped) + '"'
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    assert isinstance(value, dict)
    return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"


def key_values(draw: st.DrawFn, pool: str) -> list[str]:
    """`key = value` lines of keys from POOLS[pool], with the spellings TOML allows: quoted keys, spacing,
    comments, blank lines."""
    lines = []
    for key in draw(KEY_LISTS[pool]):
        quote, space, comment = draw(QUOTES), draw(EQUALS), draw(COMMENTS)
        lines.append(f"{quote}{key}{quote}{space}{toml_value(draw(VALUE_FOR[key]))}{comment}")
        if draw(st.booleans()):
            lines.append(draw(BETWEEN))
    return lines


@st.composite
def configs(draw: st.DrawFn) -> str:
    lines: list[str] = []
    if draw(st.booleans()):
        lines += key_values(draw, "top")  # top-level keys: all unknown
    if draw(st.booleans()):
        lines += ["[defaults]", *key_values(draw, "entry")]
    entries = draw(st.integers(0, 4))
    if draw(st.integers(0, 5)) == 0:  # the inline spelling: domain = [{...}, ...]
        tables = [draw(INLINE_TABLE) for _ in range(entries)]
        lines.insert(0, "domain = [" + ", ".join(toml_value(t) for t in tables) + "]")
    else:
        for _ in range(entries):
            lines += [draw(HEADERS)]
            lines += key_values(draw, "entry")
    if draw(st.integers(0, 6)) == 0:
        lines.append(draw(STRAY_TABLES))
    text = "\n".join(lines) + "\n"
    if draw(st.integers(0, 5)) == 0:  # a typing slip somewhere: usually invalid TOML
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(SLIPS) + text[at:]
    if draw(st.integers(0, 5)) == 0:
        text = "\ufeff" + text
    return text


FLAGS = st.fixed_dictionaries(
    {},
    optional={key: st.one_of(st.none(), VALUE_FOR[key]) for key in KEYS} | {"domain": VALUE_FOR["name"]},
)

_TOML_ERROR = re.compile(r"invalid TOML: .*\(at line \d+, (column \d+|the end of the file)\)")
_FILE_PROBLEM = re.compile(
    r"(?P<file>.+?):(?P<line>\d+): (?:\[defaults\] |\[\[domain\]\] )?(?P<key>[^:]+): .+"
)
_FLAG_PROBLEM = re.compile(r"--[a-z-]+: .+")


def problems(error: UsageError) -> list[str]:
    lines = error.message.splitlines()
    return [line.strip() for line in lines[1:]] if len(lines) > 1 and "problems):" in lines[0] else lines


def assert_located(problem: str, path: Path, text_lines: list[str]) -> None:
    """The problem names a flag, or the file and a line that holds its key (or its table's header)."""
    if _FLAG_PROBLEM.fullmatch(problem):
        return
    if problem in (f"{path}: no [[domain]] entries; add one [[domain]] table per domain",):
        return  # about the whole file: there is no line to name
    assert problem.startswith(str(path)), problem
    rest = problem[len(str(path)) :]
    if rest.startswith(": invalid TOML"):
        assert _TOML_ERROR.match(rest[2:]), problem
        return
    match = _FILE_PROBLEM.fullmatch(problem)
    assert match, f"names no line and key: {problem!r}"
    line = text_lines[int(match["line"]) - 1]
    key = match["key"]
    # the key's own line, or for a key that is missing, its entry: a table header or the inline `domain = [...]`
    assert key in line or line.lstrip().startswith(("[", "domain")), (
        f"line {match['line']} is {line!r}, not {key}"
    )


def check_targets(targets: list[DomainTarget]) -> None:
    for target in targets:  # what load_targets returns is usable as is
        assert target.domain == target.domain.lower() and not target.domain.endswith(".")
        assert target.subscription == target.subscription.lower()
        assert (
            target.zone is None or target.domain == target.zone or target.domain.endswith("." + target.zone)
        )
    assert len({t.key for t in targets}) == len(targets)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=configs(), flags=FLAGS)
@example(text='\ufeff[defaults]\nsubscription = "x"\n', flags={})
@example(text='[[domain]]\nname = "a.com"\n"zone".x = 1\n', flags={"subscription": SUB})
def test_any_config_loads_or_names_key_and_line(text: str, flags: dict[str, object]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "domains.toml"
        path.write_text(text, encoding="utf-8")
        try:
            targets = load_targets(path, flags)
        except UsageError as error:
            assert error.exit_code == ExitCode.USAGE and error.hint
            text_lines = text.removeprefix("\ufeff").split("\n")
            for problem in problems(error):
                assert_located(problem, path, text_lines)
        else:
            check_targets(targets)


@settings(max_examples=150, deadline=None)
@given(flags=FLAGS)
def test_any_flags_build_a_target_or_name_the_flag(flags: dict[str, object]) -> None:
    try:
        target = target_from_flags(flags)
    except UsageError as error:
        assert error.exit_code == ExitCode.USAGE and error.hint
        for problem in problems(error):
            assert _FLAG_PROBLEM.fullmatch(problem), problem
    else:
        check_targets([target])
