"""DMARC (RFC 7489) values acs-dns may write at `_dmarc.<domain>`: validation of the value a user gives. Pure.

A DMARC record is a TXT record starting `v=DMARC1`; its tags are `tag=value` pairs separated by `;`. acs-dns
accepts the tags of RFC 7489 section 6.3 only, requires `p`, checks the values it can check, and never writes
a second DMARC record next to an existing one (receivers then apply none: section 6.6.3).
"""

from __future__ import annotations

import re

from provisioner.errors import UsageError

KNOWN_TAGS = ("v", "p", "sp", "rua", "ruf", "pct", "adkim", "aspf", "fo", "rf", "ri")
_POLICIES = ("none", "quarantine", "reject")
_ALIGNMENT = ("r", "s")
_HINT = 'give a value like "v=DMARC1; p=none; rua=mailto:dmarc@example.com" (RFC 7489 section 6.3)'


def dmarc_problem(value: str) -> str | None:
    """What is wrong with `value` as a DMARC record, or None when it is valid."""
    parts = [p.strip() for p in value.split(";")]
    if parts and parts[-1] == "":
        parts.pop()
    if not parts or re.fullmatch(r"v\s*=\s*DMARC1", parts[0]) is None:
        return 'must start with "v=DMARC1"'
    seen: dict[str, str] = {}
    for part in parts[1:]:
        tag, sep, tag_value = part.partition("=")
        tag, tag_value = tag.strip().lower(), tag_value.strip()
        if not sep or not tag:
            return f'"{part}" is not a tag=value pair'
        if tag not in KNOWN_TAGS or tag == "v":
            return f'unknown tag "{tag}" (known: {", ".join(KNOWN_TAGS[1:])})'
        if tag in seen:
            return f'the tag "{tag}" is given twice'
        seen[tag] = tag_value
    if "p" not in seen:
        return 'the policy tag "p" is required (p=none, p=quarantine or p=reject)'
    if len(parts) > 1 and parts[1].split("=", 1)[0].strip().lower() != "p":
        return 'the "p" tag must come right after "v=DMARC1"'
    for tag in ("p", "sp"):
        if tag in seen and seen[tag].lower() not in _POLICIES:
            return f"{tag}={seen[tag]} is not a policy (none, quarantine or reject)"
    for tag in ("adkim", "aspf"):
        if tag in seen and seen[tag].lower() not in _ALIGNMENT:
            return f"{tag}={seen[tag]} must be r (relaxed) or s (strict)"
    if "pct" in seen and not (seen["pct"].isdigit() and 0 <= int(seen["pct"]) <= 100):
        return f"pct={seen['pct']} must be a whole number from 0 to 100"
    if "ri" in seen and not seen["ri"].isdigit():
        return f"ri={seen['ri']} must be a number of seconds"
    for tag in ("rua", "ruf"):
        for uri in (u.strip() for u in seen.get(tag, "").split(",") if u.strip()):
            if ":" not in uri:
                return f'{tag} holds "{uri}", which is not a URI (e.g. mailto:dmarc@example.com)'
    return None


def check_dmarc(value: str, where: str = "--dmarc") -> str:
    """`value` stripped, or UsageError naming `where` and the problem."""
    problem = dmarc_problem(value.strip())
    if problem:
        raise UsageError(f"{where}: {value!r} is not a valid DMARC record: {problem}", _HINT)
    return value.strip()
