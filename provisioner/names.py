"""Domain names: validation, and conversion between full names and zone-relative names.

Azure DNS wants record set names relative to the zone ("@" at the apex); the ACS API gives
Domain/SPF names as full domain names and DKIM names relative to the email domain. Getting
this wrong creates `example.com.example.com`; everything here is pure.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from provisioner.errors import UsageError

APEX = "@"
MAX_NAME_LENGTH = 253
MAX_LABEL_LENGTH = 63

_LABEL_CHARS = re.compile(r"[a-z0-9_-]+")
_ASCII_HINT = "write internationalised names in their punycode form (xn--...)"


def _canon(name: str) -> str:
    """Lower-case and drop one trailing dot, without validating."""
    name = name.strip().lower()
    return name[:-1] if name.endswith(".") else name


def _label_problem(label: str) -> str | None:
    if not label:
        return "it has an empty label (a leading dot or two dots in a row)"
    if len(label) > MAX_LABEL_LENGTH:
        return f"the label '{label}' is {len(label)} characters long; the limit is {MAX_LABEL_LENGTH}"
    if not _LABEL_CHARS.fullmatch(label):
        bad = "".join(sorted({c for c in label if not _LABEL_CHARS.fullmatch(c)}))
        return (
            f"the label '{label}' contains {bad!r}; only letters, digits, hyphens and underscores are allowed"
        )
    if label.startswith("-") or label.endswith("-"):
        return f"the label '{label}' starts or ends with a hyphen"
    return None


def normalize_domain(name: str) -> str:
    """Return `name` lower-cased without its trailing dot; raise UsageError if it is not a valid DNS name."""
    text = _canon(name)
    problem: str | None = None
    if not text:
        problem = "it is empty"
    elif len(text) > MAX_NAME_LENGTH:
        problem = f"it is {len(text)} characters long; the limit is {MAX_NAME_LENGTH}"
    else:
        problem = next((p for p in map(_label_problem, text.split(".")) if p), None)
    if problem is None:
        return text
    hint = _ASCII_HINT if not text.isascii() else "give a domain name such as 'mail.example.com'"
    raise UsageError(f"'{name}' is not a valid domain name: {problem}", hint)


def is_in_zone(fqdn: str, zone: str) -> bool:
    """True if `fqdn` is the zone apex or below it (on label boundaries; case and trailing dots ignored)."""
    name, zone = _canon(fqdn), _canon(zone)
    return name == zone or name.endswith("." + zone)


def relative_name(fqdn: str, zone: str) -> str:
    """The name of `fqdn` relative to `zone`: "@" at the apex, else the lower-case labels above the zone."""
    name, zone_name = normalize_domain(fqdn), normalize_domain(zone)
    if name == zone_name:
        return APEX
    if name.endswith("." + zone_name):
        return name[: -len(zone_name) - 1]
    raise UsageError(
        f"'{name}' is not in the DNS zone '{zone_name}'",
        "use the zone that contains the email domain (or leave the zone out and let acs-dns find it)",
    )


def record_fqdn(api_name: str, domain: str) -> str:
    """The full name of a verification record the ACS API names `api_name` for email domain `domain`.

    The API gives Domain/SPF names in full ("mail.contoso.com") and DKIM names relative to the
    email domain ("selector1-azurecomm-prod-net._domainkey"). A name equal to the domain or ending
    in "." + domain is taken as full; "@" means the domain itself; anything else is relative.
    Case and a trailing dot do not matter.
    """
    domain = normalize_domain(domain)
    name = _canon(api_name)
    if not name:
        raise UsageError(f"the record name {api_name!r} given for '{domain}' is empty")
    if name in (APEX, domain):
        return domain
    if name.endswith("." + domain):
        return normalize_domain(name)
    return normalize_domain(f"{name}.{domain}")


def best_zone(domain: str, zone_names: Iterable[str]) -> str | None:
    """The zone in `zone_names` that is the longest suffix of `domain`, as spelled there; else None."""
    best: str | None = None
    best_len = -1
    for zone in zone_names:
        if is_in_zone(domain, zone) and len(_canon(zone)) > best_len:
            best, best_len = zone, len(_canon(zone))
    return best
