"""Azure DNS rules for one record set's body, checked the way the service checks them (pure, no I/O).

Rules that involve other record sets (CNAME exclusivity, the zone's record-set limit) live in `zones`.
"""

from __future__ import annotations

import ipaddress
from typing import Any

# record type -> the wire key of its records (case-sensitive: `caaRecords` really is lower-case)
RECORD_KEYS: dict[str, str] = {
    "A": "ARecords",
    "AAAA": "AAAARecords",
    "CAA": "caaRecords",
    "CNAME": "CNAMERecord",
    "MX": "MXRecords",
    "NS": "NSRecords",
    "PTR": "PTRRecords",
    "SOA": "SOARecord",
    "SRV": "SRVRecords",
    "TXT": "TXTRecords",
}
SINGLE_RECORD_TYPES = frozenset({"CNAME", "SOA"})  # an object on the wire, not an array

MAX_RECORDS_PER_SET = 20
MAX_TXT_STRING = 255
MAX_TXT_TOTAL = 4096
MAX_TTL = 2_147_483_647
DEFAULT_TTL = 3600
MAX_LABEL = 63
MAX_NAME = 253

# field -> kind. "host" is a non-empty string, "text" any string, uN an unsigned integer of N bits.
_FIELDS: dict[str, dict[str, str]] = {
    "A": {"ipv4Address": "ipv4"},
    "AAAA": {"ipv6Address": "ipv6"},
    "CAA": {"flags": "u8", "tag": "host", "value": "text"},
    "CNAME": {"cname": "host"},
    "MX": {"preference": "u16", "exchange": "host"},
    "NS": {"nsdname": "host"},
    "PTR": {"ptrdname": "host"},
    "SOA": {
        "host": "host",
        "email": "host",
        "serialNumber": "u32",
        "refreshTime": "u32",
        "retryTime": "u32",
        "expireTime": "u32",
        "minimumTTL": "u32",
    },
    "SRV": {"priority": "u16", "weight": "u16", "port": "u16", "target": "host"},
    "TXT": {"value": "txt"},
}
_BITS = {"u8": 8, "u16": 16, "u32": 32}


class RuleViolation(ValueError):
    """A body Azure DNS rejects with 400 BadRequest; `str()` is the message."""


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_field(rtype: str, name: str, kind: str, value: object) -> None:
    bad = RuleViolation(f"The value {value!r} of '{name}' in a {rtype} record is not valid.")
    if kind in _BITS:
        if not _is_int(value) or not 0 <= value < 2 ** _BITS[kind]:  # type: ignore[operator]
            raise bad
    elif kind in ("ipv4", "ipv6"):
        if not isinstance(value, str):
            raise bad
        try:
            address = ipaddress.ip_address(value)
        except ValueError:
            raise bad from None
        if address.version != (4 if kind == "ipv4" else 6):
            raise bad
    elif kind == "txt":
        if not isinstance(value, list) or not value or not all(isinstance(s, str) for s in value):
            raise RuleViolation("A TXT record's 'value' must be a non-empty list of strings.")
        for s in value:
            if len(s) > MAX_TXT_STRING:
                raise RuleViolation(
                    f"The value '{s[:40]}...' ({len(s)} characters) is too long: each string in a TXT record "
                    f"may not exceed {MAX_TXT_STRING} characters."
                )
    elif not isinstance(value, str) or (kind == "host" and not value):
        raise bad


def _record(rtype: str, raw: object, *, partial: bool) -> dict[str, Any]:
    """One record, reduced to its known fields. `partial` (SOA) allows missing fields."""
    if not isinstance(raw, dict):
        raise RuleViolation(f"A {rtype} record must be a JSON object.")
    record: dict[str, Any] = {}
    for name, kind in _FIELDS[rtype].items():
        if raw.get(name) is None:
            if partial:
                continue
            raise RuleViolation(f"The '{name}' of a {rtype} record is required.")
        _check_field(rtype, name, kind, raw[name])
        record[name] = list(raw[name]) if kind == "txt" else raw[name]
    return record


def check_name(name: str, zone: str) -> None:
    """A relative record-set name: '@' or dot-separated labels of 1..63 characters, ≤ 253 in all."""
    if name == "@":
        return
    labels = name.split(".")
    if any(not label or len(label) > MAX_LABEL for label in labels) or len(f"{name}.{zone}") > MAX_NAME:
        raise RuleViolation(f"The record set name '{name}' is not valid.")


def record_set_properties(rtype: str, properties: object) -> dict[str, Any]:
    """Validate the `properties` of a record set of type `rtype`; return what the store keeps.

    The result holds `TTL` (3600 when missing), `metadata` and `targetResource` when given, and the
    type's records under their wire key (an empty array when none; CNAME/SOA only when given).
    """
    if properties is None:
        properties = {}
    if not isinstance(properties, dict):
        raise RuleViolation("The record set 'properties' must be a JSON object.")
    stored: dict[str, Any] = {}

    metadata = properties.get("metadata")
    if metadata is not None:
        if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
            raise RuleViolation("The record set 'metadata' must map strings to strings.")
        stored["metadata"] = dict(metadata)

    ttl = properties.get("TTL")
    if ttl is None:
        ttl = DEFAULT_TTL
    if not _is_int(ttl) or not 1 <= ttl <= MAX_TTL:
        raise RuleViolation(f"The TTL value {ttl!r} is not valid. The TTL must be between 1 and {MAX_TTL}.")
    stored["TTL"] = ttl

    target = properties.get("targetResource")
    if target is not None:
        if not isinstance(target, dict):
            raise RuleViolation("The record set 'targetResource' must be a JSON object.")
        stored["targetResource"] = dict(target)

    own_key = RECORD_KEYS[rtype]
    for other, key in RECORD_KEYS.items():
        if other != rtype and properties.get(key):
            raise RuleViolation(
                f"The record set of type '{rtype}' cannot contain '{key}': "
                f"{other} records belong in a record set of type '{other}'."
            )

    raw = properties.get(own_key)
    if rtype in SINGLE_RECORD_TYPES:
        if raw is not None:
            stored[own_key] = _record(rtype, raw, partial=rtype == "SOA")
        return stored

    if raw is None:
        raw = []
    if not isinstance(raw, list):
        raise RuleViolation(f"'{own_key}' must be a JSON array.")
    if len(raw) > MAX_RECORDS_PER_SET:
        raise RuleViolation(
            f"The record set has {len(raw)} records; a record set may not contain more than "
            f"{MAX_RECORDS_PER_SET} records."
        )
    records = [_record(rtype, r, partial=False) for r in raw]
    if rtype == "TXT" and sum(len(s) for r in records for s in r["value"]) > MAX_TXT_TOTAL:
        raise RuleViolation(
            "The combined length of all TXT records in a record set may not exceed "
            f"{MAX_TXT_TOTAL} characters."
        )
    stored[own_key] = records
    return stored


__all__ = [
    "DEFAULT_TTL",
    "MAX_RECORDS_PER_SET",
    "RECORD_KEYS",
    "RuleViolation",
    "check_name",
    "record_set_properties",
]
