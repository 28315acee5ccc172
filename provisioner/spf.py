"""SPF (RFC 7208): parse, merge the ACS include into an existing policy, count DNS lookups. Pure.

Merging keeps every existing mechanism and modifier in place and adds only what Azure
Communication Services needs: its include(s) and a final "-all". Anything that would weaken
or change the domain's mail policy beyond that is refused unless the operator allows it.

How the terms that decide a policy are handled (the domain's SPF "all" result):
- "-all": kept.
- "~all", "?all", "+all"/"all": refused; with allow_hardfail_change, changed to "-all" in place.
- no "all" and no "redirect=": the default result is neutral, like "?all"; refused, or with
  allow_hardfail_change "-all" is added after the last mechanism.
- "redirect=D" and no "all": the policy is D's. Adding "-all" would silently drop D's mechanisms,
  so it is refused; with allow_hardfail_change "redirect=D" becomes "include:D" followed by
  "-all" (D's passes still pass, everything else fails), which costs the same one lookup.
  A "redirect=" next to an "all" is ignored by receivers (RFC 7208 section 6.1) and kept as is.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from provisioner.errors import RefusedError

MAX_SPF_LOOKUPS = 10
REQUIRED_ALL = "-all"
LOOKUP_MECHANISMS = frozenset({"include", "a", "mx", "ptr", "exists"})
QUALIFIERS = "+-~?"

_VERSION = re.compile(r"v=spf1(?=\s|$)", re.IGNORECASE)
_MODIFIER = re.compile(r"([a-z][a-z0-9_.-]*)=(.*)", re.IGNORECASE | re.DOTALL)
_HARDFAIL_HINT = (
    "re-run with --spf-hardfail (or set spf_hardfail = true in the config) to let acs-dns make that change, "
    "or edit the SPF record yourself"
)


@dataclass(frozen=True)
class SpfTerm:
    """One term of an SPF record. Mechanisms have a qualifier ("+" when none is written)."""

    raw: str
    name: str  # lower-case mechanism or modifier name
    value: str | None  # the argument after ":" (mechanisms) or "=" (modifiers)
    qualifier: str  # "+", "-", "~", "?"; "" for modifiers
    is_modifier: bool

    @property
    def key(self) -> tuple[str, str | None]:
        """Identity for "is this mechanism already there": name and lower-case argument, not qualifier."""
        return self.name, None if self.value is None else self.value.lower().rstrip(".")

    @property
    def target(self) -> str | None:
        """The domain this term looks up, without a CIDR suffix; None when it has no explicit one."""
        if self.value is None:
            return None
        domain = self.value.split("/", 1)[0] if self.name in ("a", "mx") else self.value
        return domain.lower().rstrip(".") or None


@dataclass(frozen=True)
class SpfMerge:
    text: str
    changed: bool
    notes: tuple[str, ...] = ()


def is_spf(text: str) -> bool:
    """True if `text` is an SPF record: it starts with "v=spf1" (any case) followed by a space or the end."""
    return _VERSION.match(text) is not None


def parse_term(raw: str) -> SpfTerm:
    modifier = _MODIFIER.fullmatch(raw)
    if modifier:
        return SpfTerm(raw, modifier.group(1).lower(), modifier.group(2), "", True)
    qualifier, body = (raw[0], raw[1:]) if raw and raw[0] in QUALIFIERS else ("+", raw)
    name, sep, rest = body.partition(":")
    if not sep and "/" in name:  # "a/24", "mx/24//64"
        name, _, cidr = name.partition("/")
        return SpfTerm(raw, name.lower(), None if not cidr else f"/{cidr}", qualifier, False)
    return SpfTerm(raw, name.lower(), rest if sep else None, qualifier, False)


def parse_spf(text: str) -> tuple[str, tuple[SpfTerm, ...]]:
    """Split an SPF record into its version token and its terms. Raises ValueError if it is not SPF."""
    if not is_spf(text):
        raise ValueError(f"not an SPF record: {text!r}")
    version, *terms = text.split()
    return version, tuple(parse_term(t) for t in terms)


def _all_term(terms: tuple[SpfTerm, ...]) -> SpfTerm | None:
    return next((t for t in terms if not t.is_modifier and t.name == "all"), None)


def _redirect(terms: tuple[SpfTerm, ...]) -> SpfTerm | None:
    return next((t for t in terms if t.is_modifier and t.name == "redirect"), None)


def all_qualifier(text: str) -> str | None:
    """The qualifier of the record's "all" term ("-", "~", "?" or "+"), or None when it has none."""
    term = _all_term(parse_spf(text)[1])
    return None if term is None else term.qualifier


def _refuse(problem: str) -> RefusedError:
    return RefusedError(
        f"the existing SPF record {problem}; Azure Communication Services requires it to end with "
        f'"{REQUIRED_ALL}", and changing that changes the mail policy for the whole domain',
        _HARDFAIL_HINT,
        codes=("spf-not-hardfail",),
    )


def merge_spf(existing: str | None, wanted: str, allow_hardfail_change: bool) -> SpfMerge:
    """Merge the API's SPF value `wanted` into the domain's `existing` SPF record (None: there is none).

    Keeps every existing term in order, adds `wanted`'s missing mechanisms just before the "all"
    term (or where "redirect=" was, or after the last mechanism), and ensures the record ends its
    mechanisms with "-all" (see the module docstring). Unchanged records come back byte for byte.
    """
    if existing is None:
        return SpfMerge(wanted, True, ("added SPF record",))
    version, terms = parse_spf(existing)
    have = {t.key for t in terms if not t.is_modifier}
    missing = [t for t in parse_spf(wanted)[1] if not t.is_modifier and t.name != "all" and t.key not in have]
    all_term, redirect = _all_term(terms), _redirect(terms)
    out = list(terms)
    notes: list[str] = []

    if all_term is not None:
        at = out.index(all_term)
        if all_term.qualifier != "-":
            if not allow_hardfail_change:
                raise _refuse(f'ends with "{all_term.raw}"')
            out[at] = parse_term(REQUIRED_ALL)
            notes.append(f"changed {all_term.raw} to {REQUIRED_ALL}")
    elif redirect is not None:
        if not allow_hardfail_change:
            raise _refuse(f'has no "all" term and hands its policy to "{redirect.raw}"')
        at = out.index(redirect)
        out[at : at + 1] = [parse_term(f"include:{redirect.value}"), parse_term(REQUIRED_ALL)]
        notes.append(f"changed {redirect.raw} to include:{redirect.value} {REQUIRED_ALL}")
    else:
        if not allow_hardfail_change:
            raise _refuse('has no "all" term (receivers treat that like "?all")')
        at = max((i + 1 for i, t in enumerate(out) if not t.is_modifier), default=0)
        out.insert(at, parse_term(REQUIRED_ALL))
        notes.append(f"added {REQUIRED_ALL}")

    out[at:at] = missing
    notes[:0] = [f"added {t.raw}" for t in missing]
    # ACS checks that the record ENDS with -all: modifiers after it (e.g. exp=) move just before it
    end = max(i for i, t in enumerate(out) if t.name == "all")
    trailing = [t for t in out[end + 1 :] if t.is_modifier]
    if trailing:
        out = [t for t in out if t not in trailing]
        end = max(i for i, t in enumerate(out) if t.name == "all")
        out[end:end] = trailing
        notes.append(
            f"moved {' '.join(t.raw for t in trailing)} before {REQUIRED_ALL} (ACS requires it last)"
        )
    if not notes:
        return SpfMerge(existing, False, ())
    return SpfMerge(" ".join([version, *(t.raw for t in out)]), True, tuple(notes))


def _spf_at(name: str, resolve_txt: Callable[[str], list[str]]) -> str | None:
    records = [t for t in resolve_txt(name) if is_spf(t)]
    return records[0] if len(records) == 1 else None


def count_dns_lookups(text: str, resolve_txt: Callable[[str], list[str]], max_depth: int = 10) -> int:
    """Count the DNS lookups evaluating `text` costs (RFC 7208 section 4.6.4).

    include, a, mx, ptr, exists and redirect count one each; include and redirect targets are
    followed through `resolve_txt(name) -> [TXT texts at name]` (return [] when the name has
    none; exceptions propagate). A target without exactly one SPF record, one written with a
    macro, one already being expanded (a cycle) or one deeper than `max_depth` counts its one
    lookup and nothing more. A redirect next to an "all" term is ignored, as receivers do.
    """
    return _count(text, resolve_txt, max_depth, ())


def _count(text: str, resolve_txt: Callable[[str], list[str]], depth: int, path: tuple[str, ...]) -> int:
    terms = parse_spf(text)[1]
    has_all = _all_term(terms) is not None
    total = 0
    for term in terms:
        follows = (not term.is_modifier and term.name == "include") or (
            term.is_modifier and term.name == "redirect" and not has_all
        )
        if not follows:
            total += int(not term.is_modifier and term.name in LOOKUP_MECHANISMS)
            continue
        total += 1
        target = term.target
        if not target or "%" in target or target in path or depth <= 0:
            continue
        nested = _spf_at(target, resolve_txt)
        if nested is not None:
            total += _count(nested, resolve_txt, depth - 1, (*path, target))
    return total


def check_lookup_limit(text: str, resolve_txt: Callable[[str], list[str]]) -> int:
    """Return the lookup count of `text`; raise RefusedError when it exceeds MAX_SPF_LOOKUPS."""
    count = count_dns_lookups(text, resolve_txt)
    if count > MAX_SPF_LOOKUPS:
        raise RefusedError(
            f"the SPF record would need {count} DNS lookups; RFC 7208 allows at most {MAX_SPF_LOOKUPS}, "
            "so receivers would treat it as a permanent error and SPF verification would fail "
            "[spf-too-many-lookups]",
            "remove or flatten some include: mechanisms of the existing SPF record, then re-run",
            codes=("spf-too-many-lookups",),
        )
    return count
