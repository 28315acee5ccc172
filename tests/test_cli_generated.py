"""Generated command lines, end to end (hypothesis): the REAL CLI (typer's CliRunner, in-process) against a
running sandbox, over generated flag combinations, TOML configurations (valid and broken) and environments.

Each case starts from a command line that works (a seeded email domain and its zone) and applies a few
generated changes, each known to be harmless, known to be bad (a usage or configuration error), or either.
The property, for every command the CLI has (`acs-dns --help`):

- no Python traceback on stdout or stderr, and nothing escapes but SystemExit;
- with a bad change: exit 2, the message names what is wrong (the flag, the environment variable, or the
  config file with the line and key), and NO request reached the sandbox (its request log is unchanged);
- without one: the run ends with a documented exit code other than 1 (unexpected) and 2 (usage);
- with `--output json`: stdout is exactly one JSON document, valid against `acs-dns schema`.

The example count is small so the file runs in well under a minute; it is derandomized, so CI sees the
same cases every time. Run it longer (and with fresh random cases) with:

    ACS_DNS_FUZZ_EXAMPLES=2000 ACS_DNS_FUZZ_RANDOM=1 .venv/bin/python -m pytest -q tests/test_cli_generated.py
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from typer.testing import Result

from acs_sandbox import Sandbox, SandboxOptions
from provisioner.cli import app
from tests.e2e_helpers import (
    DNS_RG,
    EMAIL_RG,
    EMAIL_SERVICE,
    World,
    click_command,
    counters,
    document,
    invoke,
    json_requested,
    unique_zone,
)

EXAMPLES = int(os.environ.get("ACS_DNS_FUZZ_EXAMPLES", "120"))
RANDOM = os.environ.get("ACS_DNS_FUZZ_RANDOM") == "1"
COMMANDS = ("provision", "plan", "check", "records", "verify", "deprovision")
# what a run that is not refused may end with (README, Exit codes): not 1 (unexpected), not 2 (usage)
RUN_CODES = {0, 3, 4, 5, 6, 7, 8}
CREDENTIAL_VARIABLES = (
    "AZURE_TENANT_ID",
    "AZURE_CLIENT_ID",
    "AZURE_CLIENT_SECRET",
    "AZURE_CLIENT_CERTIFICATE_PATH",
)
DIR = "{dir}"  # the example's own directory, filled in when the case runs
SUB_MARK = "{sub}"  # the world's subscription
ZONE_MARK = "{zone}"


GROUP = click_command(app)  # the click group, introspected for its commands and options


def command_options() -> dict[str, set[str]]:
    """Each command of COMMANDS the CLI has, with every option name it takes (introspected, so commands
    and flags added later are exercised too)."""
    out = {}
    for name in COMMANDS:
        command = GROUP.commands.get(name)  # type: ignore[attr-defined]
        if command is not None:
            out[name] = {opt for param in command.params for opt in (*param.opts, *param.secondary_opts)}
    return out


OPTIONS = command_options()


# ---- a case: a command line, its environment, its files, and what was changed in it ----------------------
@dataclass(frozen=True)
class Change:
    """One generated change. `bad`: must be refused with exit 2; None: either runs or is refused. A refusal
    must name it: every marker appears in the output (after whitespace is collapsed)."""

    what: str
    bad: bool | None
    markers: tuple[str, ...] = ()
    config: bool = False  # a problem in the config file's content (reported with all the others at once)


@dataclass(frozen=True)
class Case:
    command: str
    args: tuple[str, ...]
    env: tuple[tuple[str, str | None], ...] = ()
    files: tuple[tuple[str, bytes], ...] = ()  # name in the example's directory -> content
    changes: tuple[Change, ...] = ()
    plan_edit: PlanEdit | None = None  # writes plan.json from the plan saved at the start (provision --plan)

    def with_change(self, change: Change, *args: str, **env: str | None) -> Case:
        return replace(
            self, args=(*self.args, *args), env=(*self.env, *env.items()), changes=(*self.changes, change)
        )


def fill(text: str, where: dict[str, str]) -> str:
    for mark, value in where.items():
        text = text.replace(mark, value)
    return text


@dataclass(frozen=True)
class PlanEdit:
    """An edit of a saved plan file (`plan --out`): its JSON body (or its text) -> the bytes to write."""

    what: str
    edit: Callable[[Any], Any]  # the parsed body -> a new body, or bytes to write as they are

    def apply(self, saved: bytes) -> bytes:
        out = self.edit(json.loads(saved))
        return out if isinstance(out, bytes) else json.dumps(out).encode()


# ---- the target by flags ----------------------------------------------------------------------------------
LABELS = ["mail", "news", "absent"]  # seeded; seeded with ~all SPF; not there (exit 4)
DOMAINS = st.sampled_from(LABELS)


def base_args(command: str, label: str, by_env: bool) -> list[str]:
    args = [command, "--auth", "sandbox", "--dns-server", "{dns}"]
    if "--poll-interval" in OPTIONS[command]:
        args += ["--poll-interval", "0.02"]
    if "--link-settle" in OPTIONS[command]:
        args += ["--link-settle", "0"]
    if "--propagation-timeout" in OPTIONS[command]:
        args += ["--propagation-timeout", "3"]
    if "--timeout" in OPTIONS[command]:
        args += ["--timeout", "20"]
    args += [] if by_env else ["--subscription", SUB_MARK]
    return [*args, "-g", EMAIL_RG, "--email-service", EMAIL_SERVICE, "--domain", f"{label}.{ZONE_MARK}"]


# ---- flags ------------------------------------------------------------------------------------------------
Flag = tuple[tuple[str, ...], Change]
TARGET_FLAGS = {  # flags that are also config keys: with --config, a [[domain]] entry may override them
    "--subscription",
    "--resource-group",
    "--email-service",
    "--domain",
    "--zone",
    "--zone-resource-group",
    "--communication-service",
    "--communication-resource-group",
    "--sender",
    "--dmarc",
}


WRITING_COMMANDS = ("provision", "plan", "deprovision")
# check, records and verify write no DNS record: they refuse the flags that only change what is written
WRITE_FLAGS = ("--create-domain", "--spf-hardfail", "--takeover")


def for_reading_command(flag: str, change: Change) -> Change:
    """A change as a command that writes nothing takes it: a write flag is refused, naming it; the target
    settings that only matter when writing (--dmarc-replace, --prune-token, ...) may be refused too."""
    if flag in WRITE_FLAGS:
        return replace(change, bad=True, markers=(flag,))
    if change.bad is False and flag.startswith("--") and flag not in ("--progress", "--no-progress"):
        return replace(change, bad=None, markers=(flag,))
    return change


def neutral(*args: str) -> Flag:
    return args, Change(" ".join(args), False)


def bad(*args: str, marker: str | None = None) -> Flag:
    return args, Change(" ".join(args), True, (marker or args[0],))


def either(*args: str) -> Flag:
    return args, Change(" ".join(args), None, (args[0],))


FLAG_CHANGES = [
    neutral("--spf-hardfail"),
    neutral("--takeover"),
    neutral("--create-domain"),
    neutral("--no-wait"),
    neutral("--dry-run"),
    neutral("--delete-domain"),
    neutral("--detailed-exitcode"),
    neutral("--parallel", "1"),
    neutral("--parallel", "64"),
    neutral("--progress"),
    neutral("--no-progress"),
    neutral("--progress-interval", "0.1"),
    neutral("--dns-timeout", "5"),
    neutral("--zone", ZONE_MARK),
    neutral("--zone-resource-group", DNS_RG),
    neutral("--sender", "donotreply"),
    neutral("--sender", "billing=Billing Team"),
    neutral("--dmarc", "v=DMARC1; p=none; rua=mailto:d@example.com"),
    neutral("--dmarc-replace"),
    neutral("--prune-token"),
    neutral("--communication-service", "acs-missing"),
    neutral("--cloud", "china"),
    neutral(
        "--auth", "environment"
    ),  # no AZURE_* credential variables (run_case unsets them): exit 3  # --arm-endpoint (from the environment) wins
    neutral("--timeout", "inf"),
    neutral("--out", f"{DIR}/plan.json"),
    bad("--nope"),
    bad("--subscripton", SUB_MARK, marker="--subscripton"),
    bad("--output", "yaml"),
    bad("--auth", "password"),
    bad("--cloud", "mars"),
    bad("--parallel", "0"),
    bad("--parallel", "65"),
    bad("--parallel", "many"),
    bad("--timeout", "0"),
    bad("--timeout", "nan"),
    bad("--timeout", ""),
    bad("--propagation-timeout", "-1"),
    bad("--progress-interval", "0.01"),
    bad("--dns-timeout", "0"),
    bad("--dns-timeout", "soon"),
    bad("--subscription", "my-subscription"),
    bad("--subscription", "{" + "00000000-0000-0000-0000-000000000000" + "}", marker="--subscription"),
    bad("--subscription", ""),
    bad("--domain", "mail..contoso.com"),
    bad("--domain", ""),
    bad("--domain", "mail\ncontoso.com"),
    bad("--domain", "x" * 5000),
    bad("--domain", "café.example"),
    bad("--resource-group", "rg/x"),
    bad("--resource-group", "r" * 91),
    bad("--email-service", "contoso_email"),
    bad("--zone", "elsewhere.example"),
    bad("--zone-resource-group", "rg."),
    bad("--dmarc", "p=none"),
    bad("--dmarc", "v=DMARC1; p=none; bogus=1"),
    bad("--sender", "two words"),
    bad("--sender", "a..b"),
    bad("--communication-service", "acs x"),
    bad("--dns-server", "127.0.0.1:99999"),
    bad("--dns-server", ""),
    bad("--dns-server", "[::1"),
    bad("--arm-endpoint", "http://127.0.0.1:1"),
    bad("--arm-endpoint", "https://"),
    bad("--arm-endpoint", "https://127.0.0.1:99999"),
    bad("--arm-endpoint", "https://127.0.0.1:port"),
    bad("--arm-endpoint", "https://management.azure.com", marker="--auth sandbox"),
    bad("stray-argument"),
]
END_OF_OPTIONS = bad("--", "extra", marker="extra")
WEIRD_TEXT = st.one_of(
    st.text(max_size=20),
    st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=20),
    st.sampled_from(["\ufeffmail.contoso.com", "-", "--", "a" * 300, "mail.contoso.com\x1b[31m", "*", "@"]),
)


def value_kind(param: object) -> str | None:
    """ "choice" or "number" for an option whose value the parser checks, else None (typer's own options
    describe their type in type_descriptor; click's in .type)."""
    desc = getattr(param, "type_descriptor", None)
    if desc is not None:
        if desc.is_choice:
            return "choice"
        return "number" if desc.annotation in (int, float) else None
    name = type(getattr(param, "type", None)).__name__
    return {"Choice": "choice", "IntRange": "number", "FloatRange": "number"}.get(name)


def typed_garbage(command: str) -> list[Flag]:
    """A value click must refuse, for every option with a number or a choice (introspected)."""
    out = []
    for param in GROUP.commands[command].params:  # type: ignore[attr-defined]
        kind = None if getattr(param, "is_flag", True) else value_kind(param)
        if kind is not None:
            out.append(bad(max(param.opts, key=len), "no-such-choice" if kind == "choice" else "twelve"))
    return out


@st.composite
def flag_changes(draw: st.DrawFn, command: str, with_config: bool, clean: bool) -> list[Flag]:
    """Catalogue changes this command's options allow (only harmless ones when `clean`), weird text for
    its string flags, and a bad value for a typed option it has; one change per option (the last of a
    repeated option wins)."""
    usable = [c for c in FLAG_CHANGES if c[0][0] in OPTIONS[command] or not c[0][0].startswith("-")]
    usable = [c for c in usable if c[1].bad is False] if clean else usable
    chosen = draw(st.lists(st.sampled_from(usable), max_size=3, unique_by=lambda c: c[0][0]))
    if command not in WRITING_COMMANDS:  # see WRITE_FLAGS
        chosen = [(a, for_reading_command(a[0], c)) for a, c in chosen]
    if clean:
        return chosen
    if draw(st.integers(0, 3)) == 0:
        flag = draw(st.sampled_from(sorted(TARGET_FLAGS & OPTIONS[command] - {"--subscription"})))
        chosen.append(either(flag, draw(WEIRD_TEXT)))
    if draw(st.integers(0, 4)) == 0:
        chosen.append(draw(st.sampled_from(typed_garbage(command))))
    if draw(st.integers(0, 15)) == 0:
        chosen.append(END_OF_OPTIONS)
    if with_config:  # a [[domain]] entry may override a target flag (precedence): then it may just run
        chosen = [(a, replace(c, bad=None) if a[0] in TARGET_FLAGS and c.bad else c) for a, c in chosen]
    return sorted(chosen, key=lambda c: (c[1].bad is True, c is END_OF_OPTIONS))


# ---- environment ------------------------------------------------------------------------------------------
ENV_CHANGES: list[tuple[str, str | None, Change]] = [
    ("GITHUB_ACTIONS", "true", Change("GITHUB_ACTIONS", False)),
    ("TF_BUILD", "True", Change("TF_BUILD", False)),
    ("GITHUB_STEP_SUMMARY", DIR, Change("GITHUB_STEP_SUMMARY is a directory", False)),
    ("ACS_DNS_ARM_ENDPOINT", "{arm}/", Change("endpoint with a trailing slash", False)),
    ("ACS_DNS_ARM_ENDPOINT", None, Change("no ARM endpoint: the public cloud", True, ("--auth sandbox",))),
    ("ACS_DNS_ARM_ENDPOINT", "", Change("empty ARM endpoint", True, ("--auth sandbox",))),
    ("ACS_DNS_ARM_ENDPOINT", "http://127.0.0.1:9", Change("http endpoint", True, ("--arm-endpoint",))),
    ("ACS_DNS_ARM_ENDPOINT", "https://", Change("endpoint without host", True, ("--arm-endpoint",))),
    ("ACS_DNS_ARM_ENDPOINT", "127.0.0.1:443", Change("endpoint without scheme", True, ("--arm-endpoint",))),
    ("ACS_DNS_ARM_ENDPOINT", "https://[::1", Change("endpoint unclosed [", True, ("--arm-endpoint",))),
    ("REQUESTS_CA_BUNDLE", None, Change("no CA bundle", True, ("REQUESTS_CA_BUNDLE",))),
    (
        "REQUESTS_CA_BUNDLE",
        f"{DIR}/missing.pem",
        Change("CA bundle missing", True, ("REQUESTS_CA_BUNDLE", "missing.pem")),
    ),
    (
        "REQUESTS_CA_BUNDLE",
        f"{DIR}/garbage.pem",
        Change("CA bundle garbage", True, ("REQUESTS_CA_BUNDLE", "garbage.pem")),
    ),
    ("REQUESTS_CA_BUNDLE", f"{DIR}/empty", Change("CA bundle empty dir", True, ("REQUESTS_CA_BUNDLE",))),
    # used only when REQUESTS_CA_BUNDLE is not set (requests' order)
    ("CURL_CA_BUNDLE", f"{DIR}/missing.pem", Change("curl CA bundle missing", None, ("CURL_CA_BUNDLE",))),
]
FILES = (("garbage.pem", b"-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n"),)


# ---- configuration files ----------------------------------------------------------------------------------
@dataclass
class Config:
    """A config as tables of `key = value` lines, so a change knows the line it lands on."""

    defaults: list[tuple[str, str]] = field(default_factory=list)
    entries: list[list[tuple[str, str]]] = field(default_factory=list)

    def rows(self, table: int) -> list[tuple[str, str]]:
        return self.defaults if table == -1 else self.entries[table]

    def render(self) -> tuple[str, dict[tuple[int, str], int]]:
        """The text, and the line of each (table, key) (table -1 is [defaults], key "" a table's header)."""
        lines = ["# generated", "[defaults]"]
        where: dict[tuple[int, str], int] = {(-1, ""): 2}
        for key, value in self.defaults:
            lines.append(f"{key} = {value}")
            where[(-1, key)] = len(lines)
        for index, entry in enumerate(self.entries):
            lines += ["", "[[domain]]"]
            where[(index, "")] = len(lines)
            for key, value in entry:
                lines.append(f"{key} = {value}")
                where[(index, key)] = len(lines)
        return "\n".join(lines) + "\n", where


def quoted(text: str) -> str:
    """`text` as a TOML basic string (control characters escaped, as TOML requires)."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + "".join(c if c.isprintable() else f"\\U{ord(c):08x}" for c in escaped) + '"'


ConfigValue = tuple[str, str, bool | None]  # key, TOML value, bad


def _values(pairs: list[tuple[str, str]], is_bad: bool | None) -> st.SearchStrategy[ConfigValue]:
    return st.sampled_from(pairs).map(lambda kv: (kv[0], kv[1], is_bad))


CONFIG_CHANGES: dict[str, st.SearchStrategy[ConfigValue]] = {
    "unknown key": st.sampled_from(["zones", "resource-group", "Subscription", "emailservice", "spf"]).map(
        lambda k: (k, '"x"', True)
    ),
    "wrong type": _values(
        [
            ("name", "5"),
            ("takeover", '"yes"'),
            ("senders", '"donotreply"'),
            ("zone", "[1]"),
            ("spf_hardfail", "1"),
        ],
        True,
    ),
    "bad value": _values(
        [
            ("name", '"a..b.example"'),
            ("resource_group", '"rg/x"'),
            ("subscription", '"my-sub"'),
            ("email_service", '"e_s"'),
            ("communication_service", '"a b"'),
            ("dmarc", '"p=none"'),
            ("senders", '["a b"]'),
            ("senders", '["x", "X"]'),
        ],
        True,
    ),
    "zone elsewhere": _values([("zone", '"elsewhere.example"')], None),
    "control character": st.tuples(
        st.sampled_from(["name", "resource_group", "email_service"]),
        st.sampled_from([r"\u0007", r"\n", r"\t", r"\u001b[31m", r"\u007f", r"\r"]),
    ).map(lambda kc: (kc[0], f'"mail{kc[1]}x"', True)),
    "huge value": st.sampled_from(["name", "resource_group", "dmarc"]).map(
        lambda k: (k, quoted("a" * 100_000), True)
    ),
    "valid setting": _values(
        [
            ("takeover", "true"),
            ("spf_hardfail", "true"),
            ("create_domain", "false"),
            ("zone_resource_group", quoted(DNS_RG)),
            ("senders", '["donotreply", {username = "billing", display_name = "Billing"}]'),
            ("dmarc", quoted("v=DMARC1; p=quarantine")),
            ("prune_token", "false"),
        ],
        False,
    ),
    "weird string": st.tuples(
        st.sampled_from(["name", "zone", "resource_group", "email_service", "communication_resource_group"]),
        WEIRD_TEXT,
    ).map(lambda kv: (kv[0], quoted(kv[1]), None)),
}
CONFIG_FILE = f"{DIR}/domains.toml"


def _toml_error(what: str) -> Change:
    return Change(what, True, (f"{CONFIG_FILE}: invalid TOML", "line"))


WHOLE_FILE = {  # the file as a whole: (bytes, number of lines) -> (bytes, change)
    "BOM": lambda data, n: (b"\xef\xbb\xbf" + data, Change("UTF-8 BOM", False)),
    "CRLF": lambda data, n: (data.replace(b"\n", b"\r\n"), Change("CRLF line ends", False)),
    "bad UTF-8": lambda data, n: (
        data.replace(b"# generated", b"# gen\xff\xfeerated"),
        Change("bad UTF-8", True, (CONFIG_FILE, "UTF-8", "line 1")),
    ),
    "Latin-1": lambda data, n: (
        data + "# café\n".encode("latin-1"),
        Change("Latin-1", True, (CONFIG_FILE, "UTF-8", f"line {n}")),
    ),
    "NUL": lambda data, n: (data.replace(b"[defaults]", b"[defaults]\x00"), _toml_error("NUL")),
    "raw control character": lambda data, n: (data + b'x = "a\x07b"\n', _toml_error("raw BEL")),
    "unterminated string": lambda data, n: (data + b'zone = "abc\n', _toml_error("unterminated")),
    "duplicate table": lambda data, n: (data + b"[defaults]\n", _toml_error("two [defaults]")),
    "empty": lambda data, n: (b"", Change("empty file", True, (CONFIG_FILE, "no [[domain]]"))),
    "only a BOM": lambda data, n: (b"\xef\xbb\xbf", Change("only a BOM", True, ("no [[domain]]",))),
}


@st.composite
def config_case(draw: st.DrawFn, command: str, label: str, clean: bool) -> Case:
    """`--config FILE`: a valid base with 0-3 content changes, maybe a second entry, or a file broken as a
    whole. A bad value must be reported at its line with its key, all of them at once."""
    config = Config(
        defaults=[
            ("subscription", quoted(SUB_MARK)),
            ("resource_group", quoted(EMAIL_RG)),
            ("email_service", quoted(EMAIL_SERVICE)),
        ],
        entries=[[("name", quoted(f"{label}.{ZONE_MARK}"))]],
    )
    if draw(st.booleans()):
        config.entries[0].append(("zone", quoted(ZONE_MARK)))
    if draw(st.integers(0, 3)) == 0:
        other = draw(st.sampled_from([d for d in LABELS if d != label]) if clean else DOMAINS)
        config.entries.append([("name", quoted(f"{other}.{ZONE_MARK}"))])
    made: list[tuple[int, str, Change]] = []  # (table, key, change)
    for _ in range(draw(st.integers(0, 3))):
        kind = "valid setting" if clean else draw(st.sampled_from(sorted(CONFIG_CHANGES)))
        table = draw(st.sampled_from([-1, *range(len(config.entries))]))
        key, value, is_bad = draw(CONFIG_CHANGES[kind])
        if (key == "name" and table == -1) or any(t == table and k == key for t, k, _ in made):
            continue  # a name in [defaults] is an unknown key there; one change per key
        rows = config.rows(table)
        rows[:] = [(k, v) for k, v in rows if k != key] + [(key, value)]
        made.append((table, key, Change(f"{kind}: {key} = {value[:40]}", is_bad, config=True)))
    if not clean and draw(st.integers(0, 5)) == 0 and config.entries[0][0][0] == "name":
        del config.entries[0][0]  # a missing name: reported at the entry's header
        made.append((0, "", Change("missing name", True, ("name", "missing"), config=True)))
    names = [dict(e).get("name") for e in config.entries]
    if len(names) == 2 and names[0] is not None and names[0] == names[1]:
        # a domain listed twice, at the second name's line (unless another change spoils either entry)
        made.append(
            (1, "name", Change("listed twice", None if made else True, ("listed twice",), config=True))
        )
    text, where = config.render()
    changes = []
    for table, key, change in made:
        line = where.get((table, key)) or where[(table, "")]
        located = (f"{CONFIG_FILE}:{line}:", key) if change.bad else (f"{CONFIG_FILE}:",)
        changes.append(replace(change, markers=(*located, *change.markers)))
    data = text.encode()
    whole = draw(st.sampled_from([None, "BOM", "CRLF"] if clean else [None] * 8 + sorted(WHOLE_FILE)))
    if whole is not None:
        data, change = WHOLE_FILE[whole](data, len(text.split("\n")))
        changes.append(change)
    args = [*base_args(command, label, by_env=True)[:-6], "--config", CONFIG_FILE]
    return Case(command, tuple(args), files=(("domains.toml", data),), changes=tuple(changes))


OUTPUTS = [
    [],
    ["--output", "json"],
    ["-o", "json"],
    ["--output=json"],
    ["-o", "markdown"],
    ["--output", "text"],
]


@st.composite
def cases(draw: st.DrawFn) -> Case:
    command = draw(st.sampled_from(sorted(OPTIONS)))
    if "--plan" in OPTIONS[command] and draw(st.integers(0, 7)) == 0:
        return draw(plan_case())
    label = draw(DOMAINS)
    clean = draw(st.booleans())  # only harmless changes: the run must not be refused
    with_config = "--config" in OPTIONS[command] and draw(st.integers(0, 2)) == 0
    if with_config:
        case = draw(config_case(command, label, clean))
        if not clean and draw(st.integers(0, 4)) == 0:
            case = case.with_change(
                Change("--domain with --config", True, ("--domain",)), "--domain", "x.example"
            )
    else:
        by_env = draw(st.integers(0, 3)) == 0
        case = Case(command, tuple(base_args(command, label, by_env)))
        if by_env:
            subs = [SUB_MARK, SUB_MARK.upper()] + ([] if clean else [None, "my-sub", " " + SUB_MARK])
            sub = draw(st.sampled_from(subs))
            markers = ("--subscription",) if sub is None else ("--subscription", sub.strip())
            change = Change(
                f"AZURE_SUBSCRIPTION_ID={sub!r}", sub not in (SUB_MARK, SUB_MARK.upper()), markers
            )
            case = case.with_change(change, AZURE_SUBSCRIPTION_ID=sub)
    flags = draw(flag_changes(command, with_config, clean))
    output = draw(st.sampled_from(OUTPUTS))
    if any(args[0] in ("--output", "-o") for args, _ in flags):
        output = []  # the last --output wins: keep the one being tested
    case = replace(case, args=(*case.args, *output))
    for args, change in flags:
        case = case.with_change(change, *args)
    envs = [e for e in ENV_CHANGES if not clean or e[2].bad is False]
    for name, value, change in draw(st.lists(st.sampled_from(envs), max_size=2, unique_by=lambda e: e[0])):
        case = case.with_change(change, **{name: value})
    return replace(case, files=(*case.files, *FILES))


# ---- saved plan files (provision --plan) ------------------------------------------------------------------
PLAN_FILE = f"{DIR}/plan.json"


def _at(path: tuple[object, ...], value: object) -> Callable[[Any], Any]:
    def edit(body: Any) -> Any:
        node = body
        for step in path[:-1]:
            node = node[step]
        node[path[-1]] = value
        return body

    return edit


def _text(data: Callable[[bytes], bytes]) -> Callable[[Any], Any]:
    return lambda body: data(json.dumps(body, indent=2).encode())


PLAN_EDITS: list[tuple[PlanEdit, bool | None, tuple[str, ...]]] = [  # edit, bad, markers
    (PlanEdit("as saved", lambda body: body), False, ()),
    (PlanEdit("bad UTF-8", _text(lambda b: b"\xff" + b)), True, (PLAN_FILE, "UTF-8")),
    (PlanEdit("nested 100,000 deep", lambda body: b"[" * 100_000 + b"]" * 100_000), True, (PLAN_FILE,)),
    (PlanEdit("truncated", _text(lambda b: b[: len(b) // 2])), True, (PLAN_FILE, "JSONDecodeError")),
    (PlanEdit("empty", lambda body: b""), True, (PLAN_FILE,)),
    (PlanEdit("version 2", _at(("version",), 2)), True, (PLAN_FILE, "version 2")),
    (PlanEdit("plans a table", _at(("plans",), {"a": 1})), True, (PLAN_FILE,)),
    (PlanEdit("subscription ../x", _at(("plans", 0, "subscription"), "../x")), True, (PLAN_FILE, "../x")),
    (PlanEdit("domain a..b", _at(("plans", 0, "domain"), "a..b")), True, (PLAN_FILE, "a..b")),
    (PlanEdit("resource group rg/x", _at(("plans", 0, "resource_group"), "rg/x")), True, (PLAN_FILE, "rg/x")),
    (PlanEdit("email service 5", _at(("plans", 0, "email_service"), 5)), True, (PLAN_FILE,)),
    (PlanEdit("zone elsewhere", _at(("plans", 0, "plan", "zone"), "elsewhere.example")), True, (PLAN_FILE,)),
    (PlanEdit("sender a b", _at(("plans", 0, "senders"), [{"username": "a b"}])), True, (PLAN_FILE, "a b")),
    (PlanEdit("no plans", _at(("plans",), [])), None, (PLAN_FILE,)),
]
JSON_VALUES = st.sampled_from([None, 0, -1, 1.5, "", "x", "../..", [], {}, [{}], True])


@st.composite
def plan_case(draw: st.DrawFn) -> Case:
    """`provision --plan FILE` with the plan saved at the start, edited: a known edit, or any value put
    anywhere in it (either applied, or refused naming the file)."""
    args = ["provision", "--auth", "sandbox", "--dns-server", "{dns}", "--poll-interval", "0.02"]
    args += ["--propagation-timeout", "2", "--timeout", "10", "--plan", PLAN_FILE]
    if draw(st.integers(0, 2)) == 0:
        seed, value = draw(st.integers(0, 10_000)), draw(JSON_VALUES)
        edit = PlanEdit(f"value {value!r} at leaf {seed}", lambda body: _at_leaf(body, seed, value))
        change = Change(edit.what, None, (PLAN_FILE,))
    else:
        edit, is_bad, markers = draw(st.sampled_from(PLAN_EDITS))
        change = Change(edit.what, is_bad, markers)
    case = Case("provision", tuple(args), changes=(change,), plan_edit=edit)
    if draw(st.integers(0, 4)) == 0:
        case = case.with_change(Change("--domain with --plan", True, ("--plan",)), "--domain", "x.example")
    return case


def _at_leaf(body: Any, seed: int, value: object) -> Any:
    """`body` with its (seed mod count)-th value, in document order, replaced by `value`."""
    paths: list[tuple[object, ...]] = []

    def walk(node: Any, path: tuple[object, ...]) -> None:
        if path:
            paths.append(path)
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for key, child in items:
            walk(child, (*path, key))

    walk(body, ())
    return _at(paths[seed % len(paths)], value)(body)


# ---- the world and the property ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Fuzz:
    sb: Sandbox
    world: World
    zone: str
    saved_plan: bytes  # `plan --out` for mail., made at the start

    @property
    def where(self) -> dict[str, str]:
        return {
            SUB_MARK: self.world.sub,
            SUB_MARK.upper(): self.world.sub.upper(),
            ZONE_MARK: self.zone,
            "{dns}": self.sb.dns_server,
            "{dnsport}": str(self.sb.dns_port),
            "{arm}": self.sb.arm_endpoint,
        }


@pytest.fixture(scope="module")
def fuzz() -> Iterator[Fuzz]:
    """A sandbox of its own (its request log counts only this file's runs): one email service, a zone,
    `mail.` (a plain CustomerManaged domain) and `news.` (its SPF ends in ~all: exit 5 without
    --spf-hardfail); `absent.` does not exist (exit 4)."""
    with Sandbox(SandboxOptions()) as sb, World(sb) as world:
        zone = unique_zone("fz")
        world.email_service()
        world.zone(zone)
        world.email_domain(f"mail.{zone}")
        world.email_domain(f"news.{zone}")
        world.txt(zone, "news", ["v=spf1 include:_spf.newsletter.example ~all"])
        with tempfile.TemporaryDirectory() as directory:
            out = Path(directory) / "plan.json"
            made = invoke(
                sb, [*world.args(f"mail.{zone}", "--sender", "donotreply", command="plan"), "--out", str(out)]
            )
            assert made.exit_code == 0, made.output
            saved = out.read_bytes()
        yield Fuzz(sb, world, zone, saved)


def flat(text: str) -> str:
    """Whitespace and rich's box edges collapsed, so a marker wrapped inside a panel still matches."""
    return re.sub(r"[\s│╭╮╰╯─]+", " ", text)


def run_case(fuzz: Fuzz, case: Case) -> Result:
    """Run `case` in a directory of its own and check the property."""
    directory = Path(tempfile.mkdtemp(prefix="acs-dns-fuzz-"))
    try:
        (directory / "empty").mkdir()
        where = {**fuzz.where, DIR: str(directory)}
        for name, data in case.files:
            (directory / name).write_bytes(fill_bytes(data, where))
        if case.plan_edit is not None:
            (directory / "plan.json").write_bytes(case.plan_edit.apply(fuzz.saved_plan))
        args = [fill(a, where) for a in case.args]
        env = dict.fromkeys(CREDENTIAL_VARIABLES) | {
            k: None if v is None else fill(v, where) for k, v in case.env
        }
        before = counters(fuzz.sb)["total"]
        result = invoke(fuzz.sb, args, env)
        sent = counters(fuzz.sb)["total"] - before
        check_property(case, args, result, sent, where)
        return result
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def fill_bytes(data: bytes, where: dict[str, str]) -> bytes:
    for mark, value in where.items():
        data = data.replace(mark.encode(), value.encode())
    return data


def check_property(case: Case, args: list[str], result: Result, sent: int, where: dict[str, str]) -> None:
    """The property (module docstring) for one run: `sent` is how many requests reached the sandbox."""
    said = flat(result.stdout + "\n" + result.stderr)
    context = f"case {case}\nexit {result.exit_code}, {sent} requests sent\nstdout:\n{result.stdout[-3000:]}\nstderr:\n{result.stderr[-3000:]}"
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"{result.exception!r}\n{context}"
    )
    assert "Traceback" not in result.stdout + result.stderr, context
    if json_requested(args):
        document(result)  # exactly one JSON document, valid against `acs-dns schema`
    named = [c for c in case.changes if c.bad is not False and all(fill(m, where) in said for m in c.markers)]
    if any(c.bad for c in case.changes):
        assert result.exit_code == 2, f"a bad change was not refused\n{context}"
    if result.exit_code == 2:
        assert sent == 0, f"exit 2 after {sent} requests\n{context}"
        assert named, f"exit 2 names none of the changes made\n{context}"
        content = [c for c in case.changes if c.config and c.bad]
        if content and all(c.config or c.bad is False for c in case.changes):
            missing = [c for c in content if c not in named]
            assert not missing, f"config problems not reported at once: {missing}\n{context}"
    else:
        assert result.exit_code in RUN_CODES, (
            f"exit {result.exit_code} is not a documented outcome\n{context}"
        )


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=not RANDOM,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    ],
)
@given(case=cases())
def test_any_command_line_runs_or_is_refused_before_sending(fuzz: Fuzz, case: Case) -> None:
    result = run_case(fuzz, case)
    command = f"{case.command} --plan" if case.plan_edit else case.command
    event(f"{command}: exit {result.exit_code}")  # shown by --hypothesis-show-statistics


# ---- regressions: the bad inputs issue 11 lists, and what the generator found ------------------------------
def explicit(
    fuzz: Fuzz,
    args: list[str],
    env: dict[str, str | None] | None = None,
    refused: tuple[str, ...] = (),
    **files: bytes,
) -> Result:
    """Run one hand-written case through the same property: refused (exit 2, nothing sent, naming every
    one of `refused`) when `refused` is given, else run. `files` land in the case's directory."""
    change = Change("hand-written", bool(refused), refused)
    return run_case(
        fuzz, Case(args[0], tuple(args), tuple((env or {}).items()), tuple(files.items()), (change,))
    )


def target(label: str = "mail", sub: str = SUB_MARK) -> list[str]:
    return [
        "--subscription",
        sub,
        "-g",
        EMAIL_RG,
        "--email-service",
        EMAIL_SERVICE,
        "--domain",
        f"{label}.{ZONE_MARK}",
    ]


PLAN = ["plan", "--auth", "sandbox", "--dns-server", "{dns}"]


def test_a_config_saved_with_a_utf8_bom_is_accepted(fuzz: Fuzz) -> None:
    config = f'[defaults]\nsubscription = "{SUB_MARK}"\nresource_group = "{EMAIL_RG}"\n'
    config += f'email_service = "{EMAIL_SERVICE}"\n[[domain]]\nname = "mail.{ZONE_MARK}"\n'
    before = counters(fuzz.sb)["total"]
    result = explicit(
        fuzz,
        [*PLAN, "--config", CONFIG_FILE, "-o", "json"],
        **{"domains.toml": b"\xef\xbb\xbf" + config.encode()},
    )
    # it ran (whatever earlier cases left of the domain): the entry was read and its domain looked up
    assert [d["domain"] for d in document(result)["domains"]] == [f"mail.{fuzz.zone}"]
    assert counters(fuzz.sb)["total"] > before  # it ran: read the domain and the zone


def test_bad_utf8_in_a_config_names_the_file_and_line(fuzz: Fuzz) -> None:
    config = f'[defaults]\nsubscription = "{SUB_MARK}"\n# caf\xe9\n'.encode("latin-1")
    refused = (f"{CONFIG_FILE} is not UTF-8 text: byte 0xe9 at line 3",)
    result = explicit(fuzz, [*PLAN, "--config", CONFIG_FILE], refused=refused, **{"domains.toml": config})
    assert result.stderr.startswith("error: ")


@pytest.mark.parametrize("variable", ["REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"])
def test_a_ca_bundle_naming_a_missing_file_is_exit_2_naming_it(fuzz: Fuzz, variable: str) -> None:
    env = {"REQUESTS_CA_BUNDLE": None, variable: f"{DIR}/no-such-ca.pem"}
    result = explicit(fuzz, [*PLAN, *target()], env, refused=(variable, "no-such-ca.pem", "does not exist"))
    assert "fix:" in result.stderr


@pytest.mark.usefixtures("unmeasured_children")
def test_a_ca_bundle_naming_a_missing_file_in_a_real_process(fuzz: Fuzz, tmp_path: Path) -> None:
    """The same through the installed entry point: one message, its fix, exit 2, and no traceback."""
    env = {
        **os.environ,
        "ACS_DNS_ARM_ENDPOINT": fuzz.sb.arm_endpoint,
        "REQUESTS_CA_BUNDLE": str(tmp_path / "ca.pem"),
    }
    args = [fill(a, fuzz.where) for a in [*PLAN, *target()]]
    before = counters(fuzz.sb)["total"]
    done = subprocess.run(
        [sys.executable, "-m", "provisioner", *args], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2, done.stderr
    assert f"REQUESTS_CA_BUNDLE names '{tmp_path / 'ca.pem'}', which does not exist" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert counters(fuzz.sb)["total"] == before


@pytest.mark.parametrize(
    "guid",
    [
        "my-subscription",
        "0000000-0000-0000-0000-000000000000",
        "{00000000-0000-0000-0000-000000000000}",
        "00000000-0000-0000-0000-00000000000g",
    ],
)
def test_a_malformed_subscription_is_exit_2_naming_it(fuzz: Fuzz, guid: str) -> None:
    named = (f'--subscription: "{guid}" is not a subscription ID',)
    by_flag = explicit(fuzz, [*PLAN, *target(sub=guid)], refused=named)
    by_env = explicit(fuzz, [*PLAN, *target()[2:]], {"AZURE_SUBSCRIPTION_ID": guid}, refused=named)
    config = f'[defaults]\nsubscription = "{guid}"\nresource_group = "{EMAIL_RG}"\nemail_service = "{EMAIL_SERVICE}"\n'
    config += f'[[domain]]\nname = "mail.{ZONE_MARK}"\n'
    located = (f'{CONFIG_FILE}:2: [defaults] subscription: "{guid}" is not a subscription ID',)
    explicit(fuzz, [*PLAN, "--config", CONFIG_FILE], refused=located, **{"domains.toml": config.encode()})
    assert by_flag.stderr == by_env.stderr  # the variable's value is checked like the flag's


@pytest.mark.parametrize(
    "endpoint", ["https://127.0.0.1:99999", "https://127.0.0.1:port", "https://", "https://:443"]
)
def test_an_arm_endpoint_that_can_never_answer_is_exit_2_at_once(fuzz: Fuzz, endpoint: str) -> None:
    """Found by the generator: these were retried until --timeout and reported as exit 7."""
    explicit(
        fuzz,
        [*PLAN, *target(), "--arm-endpoint", endpoint],
        refused=(f"--arm-endpoint {endpoint!r} is not a usable URL",),
    )
