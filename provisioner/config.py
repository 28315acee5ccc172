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

import difflib
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from provisioner.errors import UsageError


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

    @property
    def key(self) -> str:
        """`subscription/resource_group/email_service/domain`, for display and de-duplication."""
        return f"{self.subscription}/{self.resource_group}/{self.email_service}/{self.domain}"


_BOOL_KEYS = frozenset({"spf_hardfail", "takeover", "create_domain"})
SETTING_KEYS: frozenset[str] = (
    frozenset({"subscription", "resource_group", "email_service", "zone", "zone_resource_group"}) | _BOOL_KEYS
)
_DOMAIN_KEYS = SETTING_KEYS | {"name"}
_REQUIRED = ("subscription", "resource_group", "email_service", "name")
_INVALID = object()  # stands in for a value already reported as bad, so it is not also reported missing

_GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)
_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")
_RESOURCE_NAME = re.compile(r"[^\s/]+")
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
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"configuration file {path} is not UTF-8 text: {exc}", "save it as UTF-8") from exc
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise UsageError(
            f"cannot read configuration file {path}: {reason}", "check the --config path"
        ) from exc
    try:
        return text, tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:  # its message already says "(at line L, column C)"
        raise UsageError(f"{path}: invalid TOML: {exc}", "fix the syntax at that line") from exc


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
    return "--domain" if key == "name" else "--" + key.replace("_", "-")


def _flag_where(key: str) -> _Where:
    return 0, _flag(key)


def _file_where(
    path: Path, layout: _Layout, section: _Section | None, label: str, fallback_line: int = 0
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
            close = difflib.get_close_matches(key.replace("-", "_"), sorted(allowed), n=1)
            problems.add(where(key), f"unknown key (did you mean {close[0]}?)" if close else "unknown key")
            continue
        try:
            out[key] = _normalise(key, value)
        except ValueError as exc:
            problems.add(where(key), str(exc))
            out[key] = _INVALID
    return out


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
    """The value in canonical form; ValueError says what is wrong with it."""
    if key in _BOOL_KEYS:
        if not isinstance(value, bool):
            raise ValueError(f"must be true or false, not {_describe(value)}")
        return value
    if not isinstance(value, str):
        raise ValueError(f"must be a string, not {_describe(value)}")
    if key == "subscription":
        if not _GUID.fullmatch(value):
            raise ValueError(
                f'"{value}" is not a subscription ID (a GUID like 00000000-0000-0000-0000-000000000000)'
            )
        return value.lower()
    if key in ("name", "zone"):
        return _domain_name(value)
    if not _RESOURCE_NAME.fullmatch(value):
        raise ValueError(f'"{value}" is not a resource name (it must be non-empty, without spaces or "/")')
    return value


def _domain_name(value: str) -> str:
    """`value` lower-cased without its trailing dot; ValueError if it is not a valid DNS name."""
    name = value.lower().removesuffix(".")
    if not name:
        raise ValueError("must be a domain name, not empty")
    if len(name) > 253:
        raise ValueError(f'"{value}" is longer than 253 characters')
    for label in name.split("."):
        if not _LABEL.fullmatch(label):
            raise ValueError(
                f'"{value}" is not a valid domain name: each dot-separated label must be 1-63 letters, '
                "digits, hyphens or underscores, not starting or ending with a hyphen"
            )
    return name


def _describe(value: object) -> str:
    if isinstance(value, str):
        return f'the string "{value}"'
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
    """Where table headers and keys sit in the file text. Simple line scanning: good for ordinary files."""

    def __init__(self, text: str) -> None:
        self._lines = text.split("\n")  # as tomllib counts lines
        heads = [(0, "", False)]
        for index, line in enumerate(self._lines):
            if match := _HEADER.fullmatch(line):
                heads.append((index + 1, match[2].strip("\"'"), match[1] == "[["))
        ends = [line - 1 for line, _, _ in heads[1:]] + [len(self._lines)]
        self._sections = [
            _Section(name, array, line, range(line, end))
            for (line, name, array), end in zip(heads, ends, strict=True)
        ]

    def section(self, name: str, index: int = 0, *, array: bool = False) -> _Section | None:
        """The index-th table called `name` ([[name]] if `array`)."""
        found = [s for s in self._sections if s.name == name and s.array == array]
        return found[index] if index < len(found) else None

    def key_line(self, section: _Section | None, key: str) -> int:
        """The line of `key = ...` within `section`, else the section's header line; 0 if unknown."""
        if section is None:
            return 0
        if section.name == "":  # top level: a key, or else the header of a table by that name
            header = next((s for s in self._sections if s.line and s.name.split(".")[0] == key), None)
            if header is not None:
                return header.line
        pattern = re.compile(rf"""\s*(?:{re.escape(key)}|"{re.escape(key)}"|'{re.escape(key)}')\s*[=.]""")
        for index in section.body:
            if pattern.match(self._lines[index]):
                return index + 1
        return section.line
