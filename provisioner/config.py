"""Which domains to provision: one from command-line flags, or many from a TOML file.

A configuration file has an optional `[defaults]` table and one `[[domain]]` table per domain; keys are the
flag names in snake_case (see config/domains.example.toml). A domain's settings are merged with this
precedence, lowest first: `[defaults]`, then flags given on the command line, then the `[[domain]]` entry.

`zone` and `zone_resource_group` are optional. When absent they stay None, meaning "search the subscription
for the Azure DNS zone that holds the domain"; `zone_resource_group` does NOT default to `resource_group`.

Every problem found (unknown key, wrong type, bad value, missing value, duplicate domain, domain outside its
zone) is gathered and reported in one UsageError, each line naming the file, line number and key, or the
flag. tomllib reports no positions, so line numbers come from scanning the file text for table headers and
keys (`_Layout`); a key it cannot place is reported at its table's header line.
"""

from __future__ import annotations

import bisect
import contextlib
import difflib
import functools
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from provisioner.errors import UsageError
from provisioner.names import normalize_domain


@dataclass(frozen=True)
class DomainTarget:
    """One email domain to provision, fully validated."""

    subscription: str  # GUID, lower-case
    resource_group: str
    email_service: str
    domain: str  # normalised: lower-case, no trailing dot
    zone: str | None = None  # None: find the zone holding `domain` in the subscription
    zone_resource_group: str | None = None  # None: search the whole subscription
    spf_hardfail: bool = False
    takeover: bool = False
    create_domain: bool = False
    # going on to "sending" (issue 9): link, senders, DMARC, token clean-up
    communication_service: str | None = None  # link the domain to this Communication Services resource
    communication_resource_group: str | None = None  # None: the email service's resource group
    senders: tuple[tuple[str, str | None], ...] = ()  # (username, display name or None)
    dmarc: str | None = None  # the _dmarc TXT value to write when none exists
    dmarc_replace: bool = False  # replace an existing, different DMARC record
    prune_token: bool = False  # remove the verification token acs-dns added once Domain is Verified

    @property
    def key(self) -> str:
        """`subscription/resource_group/email_service/domain`, for display and de-duplication."""
        return f"{self.subscription}/{self.resource_group}/{self.email_service}/{self.domain}"


_BOOL_KEYS = frozenset({"spf_hardfail", "takeover", "create_domain", "dmarc_replace", "prune_token"})
_LIFECYCLE_KEYS = frozenset({"communication_service", "communication_resource_group", "senders", "dmarc"})
SETTING_KEYS: frozenset[str] = (
    frozenset({"subscription", "resource_group", "email_service", "zone", "zone_resource_group"})
    | _BOOL_KEYS
    | _LIFECYCLE_KEYS
)
_DOMAIN_KEYS = SETTING_KEYS | {"name"}
_REQUIRED = ("subscription", "resource_group", "email_service", "name")
_INVALID = object()  # stands in for a value already reported as bad, so it is not also reported missing

_GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)
# ARM's published name rules (common-types ResourceGroupNameParameter; EmailServices.json EmailServiceName).
# The SDKs do not check them, so a bad name would otherwise come back from Azure as "not found".
_RESOURCE_GROUP = re.compile(r"[-\w._()]{1,90}")
_EMAIL_SERVICE = re.compile(r"[a-zA-Z0-9-]{1,63}")
_COMMUNICATION_SERVICE = re.compile(r"[-\w]{1,63}")  # CommunicationServices.json CommunicationServiceName
# a sender username is the local part of the MailFrom address (RFC 5322 dot-atom, 1-64 characters)
_SENDER = re.compile(r"(?=.{1,64}\Z)[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*\Z")
_AZURE_MANAGED = "azuremanageddomain"  # ACS's name for an Azure-managed domain: the one single-label name
_SUBSCRIPTION_FIX = "find yours with: az account list --query [].id --output tsv"
_FILE_HINT = (
    "each [[domain]] needs name, subscription, resource_group and email_service (in the entry, in "
    "[defaults] or as flags); see config/domains.example.toml"
)
_FLAGS_HINT = "give --subscription, --resource-group, --email-service and --domain, or use --config FILE"


def load_targets(path: Path, overrides: Mapping[str, object] | None = None) -> list[DomainTarget]:
    """Read every domain from the TOML file at `path`.

    `overrides` are the setting flags given on the command line (keys from SETTING_KEYS, None meaning "not
    given"); they beat `[defaults]` but lose to keys in a `[[domain]]` entry.
    """
    text, data = _read_toml(path)
    layout = _Layout(text)
    problems = _Problems()
    flags = dict(overrides or {})
    for alias in ("name", "domain"):
        if flags.pop(alias, None) is not None:
            problems.add((0, "--domain"), "cannot be combined with --config; list the domains in the file")
    flag_values = _read_settings(flags, SETTING_KEYS, _flag_where, problems)

    top = layout.section("")
    defaults: Mapping[str, object] = {}
    entries: list[object] = []
    for key, value in data.items():
        where = _file_where(path, layout, top, "")(key)
        if key == "defaults":
            if isinstance(value, dict):
                defaults = value
            else:
                problems.add(where, "must be a single [defaults] table")
        elif key == "domain":
            if isinstance(value, list):
                entries = value
            else:
                problems.add(where, "must be an array of tables: write one [[domain]] per domain")
        else:
            problems.add(where, "unknown table or key (allowed: [defaults] and [[domain]])")
    default_values = _read_settings(
        defaults, SETTING_KEYS, _file_where(path, layout, layout.section("defaults"), "[defaults] "), problems
    )

    if data.get("domain", []) == []:
        problems.add((0, str(path)), "no [[domain]] entries; add one [[domain]] table per domain")
    targets: list[DomainTarget] = []
    seen: dict[str, int] = {}
    for index, entry in enumerate(entries):
        section = layout.section("domain", index, array=True)
        # an inline `domain = [{...}]` has no [[domain]] headers: point at the `domain` key instead
        where = _file_where(path, layout, section, "[[domain]] ", layout.key_line(top, "domain"))
        if not isinstance(entry, dict):
            problems.add(_file_where(path, layout, top, "")("domain"), "each entry must be a table")
            continue
        values = _read_settings(entry, _DOMAIN_KEYS, where, problems)
        merged = {**default_values, **flag_values, **values}
        for key in _REQUIRED:
            if key not in merged:
                extra = "" if key == "name" else f", in [defaults] or with {_flag(key)}"
                problems.add(where(key), f"missing (set it in this entry{extra})")
        target = _build(merged, where("zone" if "zone" in values else "name"), problems)
        if target is None:
            continue
        if target.key.lower() in seen:
            first = seen[target.key.lower()]
            problems.add(where("name"), f'"{target.domain}" is listed twice; first at line {first}')
        else:
            seen[target.key.lower()] = where("name")[0]
            targets.append(target)
    problems.raise_if_any(f"{path}: invalid configuration", _FILE_HINT)
    return targets


def target_from_flags(values: Mapping[str, object]) -> DomainTarget:
    """Build the single target of single-domain mode from flag values (None meaning "not given").

    Keys are SETTING_KEYS plus "name" (the --domain flag; "domain" is accepted as a synonym). Validation is
    the same as for a file; problems name the flag.
    """
    given = dict(values)
    if "domain" in given:
        synonym = given.pop("domain")
        given["name"] = synonym if given.get("name") is None else given["name"]
    problems = _Problems()
    merged = _read_settings(given, _DOMAIN_KEYS, _flag_where, problems)
    for key in _REQUIRED:
        if key not in merged:
            problems.add(_flag_where(key), "required (or use --config FILE)")
    target = _build(merged, _flag_where("zone"), problems)
    problems.raise_if_any("invalid options", _FLAGS_HINT)
    assert target is not None  # no problems means every value was present and valid
    return target


def _read_toml(path: Path) -> tuple[str, dict[str, object]]:
    try:
        raw = path.read_bytes()
        text = raw.decode("utf-8").removeprefix("\ufeff")  # a BOM, as Windows editors save
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise UsageError(
            f"configuration file {path} is not UTF-8 text: byte 0x{raw[exc.start]:02x} at line {line} "
            f"({exc.reason})",
            "save it as UTF-8",
        ) from exc
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise UsageError(
            f"cannot read configuration file {path}: {reason}", "check the --config path"
        ) from exc
    try:
        return text, tomllib.loads(text)
    except (
        tomllib.TOMLDecodeError
    ) as exc:  # its message says "(at line L, column C)" or "(at end of document)"
        last = len(text.rstrip("\n").split("\n"))
        message = str(exc).replace("(at end of document)", f"(at line {last}, the end of the file)")
        raise UsageError(
            f"{path}: invalid TOML: {message}",
            "fix the syntax at that line (at the end of the file: close what an earlier line opened)",
        ) from exc


# --- validation ------------------------------------------------------------------------------------------

_Where = tuple[int, str]  # (line to sort by, "file:line: [table] key" or "--flag")


class _Problems:
    def __init__(self) -> None:
        self._items: list[_Where] = []

    def add(self, where: _Where, message: str) -> None:
        self._items.append((where[0], f"{where[1]}: {message}"))

    def raise_if_any(self, title: str, hint: str) -> None:
        lines = [text for _, text in sorted(self._items, key=lambda item: item[0])]
        if len(lines) == 1:
            raise UsageError(lines[0], hint)
        if lines:
            listed = "\n".join(f"  {line}" for line in lines)
            raise UsageError(f"{title} ({len(lines)} problems):\n{listed}", hint)


def _flag(key: str) -> str:
    if key == "senders":
        return "--sender"
    return "--domain" if key == "name" else "--" + key.replace("_", "-")


def _flag_where(key: str) -> _Where:
    return 0, _flag(key)


def _file_where(
    path: Path, layout: _Layout, section: _Section, label: str, fallback_line: int = 0
) -> Callable[[str], _Where]:
    def where(key: str) -> _Where:
        line = layout.key_line(section, key) or fallback_line
        return line, f"{path}:{line}: {label}{key}" if line else f"{path}: {label}{key}"

    return where


def _read_settings(
    table: Mapping[str, object], allowed: frozenset[str], where: Callable[[str], _Where], problems: _Problems
) -> dict[str, object]:
    """Normalise each given value; report unknown keys and bad values (kept as _INVALID)."""
    out: dict[str, object] = {}
    for key, value in table.items():
        if value is None:  # a flag not given; TOML itself has no null
            continue
        if key not in allowed:
            close = _close_match(key, allowed)
            problems.add(where(key), f"unknown key (did you mean {close}?)" if close else "unknown key")
            continue
        try:
            out[key] = _normalise(key, value)
        except ValueError as exc:
            problems.add(where(key), str(exc))
            out[key] = _INVALID
    return out


@functools.lru_cache(maxsize=256)
def _close_match(key: str, allowed: frozenset[str]) -> str | None:
    """The allowed key `key` is probably a typo of (difflib is slow: a file repeats its typos)."""
    close = difflib.get_close_matches(key.replace("-", "_"), sorted(allowed), n=1)
    return close[0] if close else None


def _build(merged: Mapping[str, object], zone_where: _Where, problems: _Problems) -> DomainTarget | None:
    """The target, once every required value is present and valid and the domain lies in its zone."""
    if _INVALID in merged.values() or any(key not in merged for key in _REQUIRED):
        return None
    settings = dict(merged)
    domain = settings.pop("name")
    zone = settings.get("zone")
    if zone is not None and domain != zone and not str(domain).endswith(f".{zone}"):
        problems.add(zone_where, f'domain "{domain}" is not inside zone "{zone}"')
        return None
    return DomainTarget(domain=domain, **settings)  # type: ignore[arg-type]


def _normalise(key: str, value: object) -> object:
    """The value in canonical form; ValueError says what is wrong with it and how to fix it."""
    if key in _BOOL_KEYS:
        if not isinstance(value, bool):
            raise ValueError(f"must be true or false, not {_describe(value)}")
        return value
    if key == "senders":
        return _senders(value)
    if not isinstance(value, str):
        raise ValueError(f"must be a string, not {_describe(value)}")
    if not value.isprintable():
        raise ValueError(f"{_quote(value)} holds a line break or another control character; remove it")
    if key == "subscription":
        if not _GUID.fullmatch(value):
            raise ValueError(
                f"{_quote(value)} is not a subscription ID: it must be a GUID like "
                f"00000000-0000-0000-0000-000000000000 ({_SUBSCRIPTION_FIX})"
            )
        return value.lower()
    if key in ("name", "zone"):
        return _domain_name(value)
    if key == "dmarc":
        from provisioner.dmarc import dmarc_problem

        problem = dmarc_problem(value.strip())
        if problem:
            raise ValueError(f"{_quote(value)} is not a valid DMARC record: {problem}")
        return value.strip()
    if key == "communication_service":
        if not _COMMUNICATION_SERVICE.fullmatch(value):
            raise ValueError(
                f"{_quote(value)} is not a Communication Services name: 1-63 letters, digits, "
                '"-" and "_" (the Communication Services resource, as in the portal)'
            )
        return value
    if key == "email_service":
        if not _EMAIL_SERVICE.fullmatch(value):
            raise ValueError(
                f"{_quote(value)} is not an email service name: 1-63 letters, digits and hyphens "
                "(the Email Communication Service resource's name, as in the portal)"
            )
        return value
    if not _RESOURCE_GROUP.fullmatch(value) or value.endswith("."):
        raise ValueError(
            f'{_quote(value)} is not a resource group name: 1-90 letters, digits, "-", "_", ".", "(" or ")", '
            'not ending in "." (list yours with: az group list --query [].name --output tsv)'
        )
    return value


def _senders(value: object) -> tuple[tuple[str, str | None], ...]:
    """`senders = ["donotreply", {username = "billing", display_name = "Billing"}]` (or, from --sender,
    "billing=Billing") as (username, display name or None) pairs; a username given twice is a ValueError."""
    items = value if isinstance(value, list | tuple) else None
    if items is None:
        raise ValueError(
            f'must be an array like ["donotreply", {{username = "billing", display_name = "Billing"}}], not {_describe(value)}'
        )
    out: list[tuple[str, str | None]] = []
    for item in items:
        if isinstance(item, tuple) and len(item) == 2:
            username, display = item
        elif isinstance(item, str):
            username, sep, rest = item.partition("=")
            display = rest if sep else None
        elif isinstance(item, dict):
            unknown = sorted(set(item) - {"username", "display_name"})
            if unknown:
                raise ValueError(f"unknown key {unknown[0]!r} in a sender (allowed: username, display_name)")
            username, display = item.get("username"), item.get("display_name")
            if not isinstance(username, str) or (display is not None and not isinstance(display, str)):
                raise ValueError(
                    "a sender table needs username (a string) and optionally display_name (a string)"
                )
        else:
            raise ValueError(f"each sender must be a string or a table, not {_describe(item)}")
        username = username.strip()
        if not _SENDER.fullmatch(username):
            raise ValueError(
                f"{_quote(username)} is not a sender username: the part before @ of an address, 1-64 letters, "
                "digits, dots and !#$%&'*+/=?^_`{|}~- (no leading, trailing or double dot)"
            )
        if display is not None and not display.isprintable():
            raise ValueError(f"the display name of {username} holds a control character; remove it")
        if any(u.lower() == username.lower() for u, _ in out):
            raise ValueError(f'the sender "{username}" is listed twice')
        out.append((username, display))
    return tuple(out)


def _domain_name(value: str) -> str:
    """`value` lower-cased without its trailing dot; ValueError (with the fix) if it is not a domain name."""
    try:
        name = normalize_domain(value)
    except UsageError as exc:
        fix = exc.hint or ""
        if not value.isascii():
            with contextlib.suppress(UnicodeError):  # a name the IDNA codec refuses keeps the plain fix
                fix = f'write it in its ASCII (IDNA) form: "{value.encode("idna").decode("ascii")}"'
        raise ValueError(f"{exc.message}; {fix}" if fix else exc.message) from exc
    if "." not in name and name != _AZURE_MANAGED:
        raise ValueError(
            f"{_quote(value)} is not a valid domain name here: it needs at least two labels, like contoso.com "
            "(give the full name, not just the host part)"
        )
    return name


def _quote(value: str) -> str:
    """`value` in double quotes, with control characters escaped so a message stays on its line."""
    shown = "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in value)
    return f'"{shown}"'


def _describe(value: object) -> str:
    if isinstance(value, str):
        return f"the string {_quote(value)}"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int | float):
        return f"the number {value}"
    return {list: "an array", dict: "a table"}.get(type(value), "a date/time")


# --- finding line numbers ---------------------------------------------------------------------------------

_HEADER = re.compile(r"\s*(\[\[?)\s*([^\[\]]+?)\s*\]\]?\s*(?:#.*)?")


@dataclass(frozen=True)
class _Section:
    name: str  # "" for the top level, before any header
    array: bool  # [[name]] rather than [name]
    line: int  # 1-based line of the header; 0 for the top level
    body: range  # 0-based indexes of the lines up to the next header


class _Layout:
    """Where table headers and keys sit in the file text. Simple line scanning: good for ordinary files.

    Built once per file and indexed, so placing every key of N entries takes time linear in the file.
    """

    def __init__(self, text: str) -> None:
        self._lines = text.split("\n")  # as tomllib counts lines
        heads = [(0, "", False)]
        for index, line in enumerate(self._lines):
            if match := _HEADER.fullmatch(line):
                name = ".".join(part.strip().strip("\"'") for part in match[2].split("."))
                heads.append((index + 1, name, match[1] == "[["))
        ends = [line - 1 for line, _, _ in heads[1:]] + [len(self._lines)]
        self._by_name: dict[tuple[str, bool], list[_Section]] = {}
        self._under: dict[str, list[int]] = {}  # "a", "a.b" -> lines of the headers [a.b...], ascending
        for (line, name, array), end in zip(heads, ends, strict=True):
            self._by_name.setdefault((name, array), []).append(_Section(name, array, line, range(line, end)))
            parts = name.split(".")
            for depth in range(1, len(parts) + 1) if line else ():
                self._under.setdefault(".".join(parts[:depth]), []).append(line)

    def section(self, name: str, index: int = 0, *, array: bool = False) -> _Section:
        """The index-th table called `name` ([[name]] if `array`); one without a header has line 0."""
        found = self._by_name.get((name, array), [])
        return found[index] if index < len(found) else _Section(name, array, 0, range(0))

    def key_line(self, section: _Section, key: str) -> int:
        """The line of `key = ...` within `section`, else of a sub-table header `[section.key...]` after it,
        else the section's header line; 0 if unknown."""
        pattern = _key_pattern(key)
        for index in section.body:
            if pattern.match(self._lines[index]):
                return index + 1
        headers = self._under.get(f"{section.name}.{key}" if section.name else key, [])
        after = bisect.bisect_right(headers, section.line)
        return headers[after] if after < len(headers) else section.line


@functools.lru_cache(maxsize=256)
def _key_pattern(key: str) -> re.Pattern[str]:
    return re.compile(rf"""\s*(?:{re.escape(key)}|"{re.escape(key)}"|'{re.escape(key)}')\s*[=.]""")
