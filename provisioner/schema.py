"""The JSON Schema (draft 2020-12) of the one document `--output json` prints; `acs-dns schema` prints it.

Built here from the enums the document's values come from (results, exit codes, finding codes, verification
types), so the schema cannot drift from the code. Every key is snake_case; the keys of `verification` are
the service's verification type names (`Domain`, `SPF`, `DKIM`, `DKIM2`, `DMARC`), which are values, not keys
of our own.

Per command, a domain entry holds:
- `plan`, `provision`, `verify`: the report (zone, changes, written, started, verification, result, ...);
- `deprovision`: the same report, plus `deleted` (the record sets removed, as `"TYPE name"`);
- `check`: `findings` (see `finding.finding_json`) and `result` `ok` or `problems` (`error` when the domain
  could not be read), and the zone as public DNS shows it (`name`, `delegation`, `name_servers`);
- `records`: `records` (type, host relative to the zone, FQDN, value, TTL) and the zone they are relative to.
`provision`/`plan`/`verify` entries also carry `notes` (link, senders, what deprovision kept), and when a
refusal or a failed DNS check maps onto finding codes, `codes` and `findings`.
A run stopped before any domain started (usage, configuration, credential) gives `error` and `hint` with
`domains: []`.
"""

from __future__ import annotations

import json
from typing import Any

from provisioner.errors import ExitCode
from provisioner.finding import CODES, Severity
from provisioner.model import VerificationKind
from provisioner.plan import Action
from provisioner.render import JSON_VERSION
from provisioner.report import Result

SCHEMA_ID = f"urn:acs-dns:document:v{JSON_VERSION}"
KEY_STYLE = "^[a-z][a-z0-9]*(_[a-z0-9]+)*$"  # snake_case: every key of the document (but `verification`'s)

_STR = {"type": "string"}
_NULLABLE_STR = {"type": ["string", "null"]}
_STRINGS = {"type": "array", "items": _STR}


def _object(required: list[str], properties: dict[str, Any], *, strict: bool = True) -> dict[str, Any]:
    return {
        "type": "object",
        "required": required,
        "properties": properties,
        "propertyNames": {"pattern": KEY_STYLE},
        "additionalProperties": not strict,
    }


def _definitions() -> dict[str, Any]:
    kinds = [str(k) for k in VerificationKind]
    target = {
        "domain": {**_STR, "description": "the email domain, lower-case"},
        "subscription": _STR,
        "resource_group": _STR,
        "email_service": _STR,
    }
    outcome = {
        "exit_code": {"$ref": "#/$defs/exit_code"},
        "message": {**_STR, "description": "what happened, in one or more lines"},
        "hint": {**_NULLABLE_STR, "description": "the fix, when the domain failed"},
    }
    zone = {
        "oneOf": [
            {"type": "null"},
            _object(
                ["name", "resource_group", "name_servers"],
                {"name": _STR, "resource_group": _STR, "name_servers": _STRINGS},
            ),
        ]
    }
    public_zone = {
        "oneOf": [
            {"type": "null"},
            _object(
                ["name", "delegation", "name_servers"],
                {
                    "name": {**_STR, "description": "the zone cut public DNS shows"},
                    "delegation": _STR,
                    "name_servers": _STRINGS,
                },
            ),
        ]
    }
    verification = {
        "type": "object",
        "description": "verification state per type, keyed by the service's type name",
        "propertyNames": {"enum": kinds},
        "additionalProperties": _object(
            ["status", "error_code"], {"status": _STR, "error_code": _NULLABLE_STR}
        ),
    }
    change = _object(
        ["action", "type", "name", "kinds", "before", "after", "notes"],
        {
            "action": {"enum": [str(a) for a in Action]},
            "type": {"enum": ["TXT", "CNAME"]},
            "name": {**_STR, "description": "zone-relative record-set name, '@' at the apex"},
            "kinds": {"type": "array", "items": {"enum": kinds}},
            "before": _STRINGS,
            "after": _STRINGS,
            "notes": _STRINGS,
        },
    )
    report = _object(
        [*target, "zone", "changes", "written", "verification", "started", "result", *outcome],
        {
            **target,
            "zone": {"$ref": "#/$defs/zone"},
            "changes": {"type": "array", "items": {"$ref": "#/$defs/change"}},
            "written": {**_STRINGS, "description": "record sets written, as 'TYPE name'"},
            "deleted": {**_STRINGS, "description": "deprovision: record sets deleted, as 'TYPE name'"},
            "notes": {
                **_STRINGS,
                "description": "the link, senders and, for deprovision, what was kept or left",
            },
            "verification": {"$ref": "#/$defs/verification"},
            "started": {"type": "array", "items": {"enum": kinds}},
            "result": {"enum": [str(r) for r in Result]},
            "codes": {"type": "array", "items": {"enum": sorted(CODES)}, "description": "finding codes"},
            "findings": {"type": "array", "items": {"$ref": "#/$defs/finding"}},
            **outcome,
        },
    )
    fix_step = _object(
        ["text"],
        {
            "text": _STR,
            "action": {"enum": ["create", "change", "delete", None]},
            "type": _STR,
            "host": {**_STR, "description": "relative to the zone, '@' at the apex"},
            "fqdn": _STR,
            "value": _NULLABLE_STR,
        },
    )
    finding = _object(
        ["code", "severity", "kind", "name", "found", "expected", "message", "fix"],
        {
            "code": {"enum": sorted(CODES)},
            "severity": {"enum": [str(s) for s in Severity]},
            "kind": {"enum": [*kinds, None]},
            "name": _STR,
            "found": _STRINGS,
            "expected": _NULLABLE_STR,
            "message": _STR,
            "fix": {"type": "array", "items": {"$ref": "#/$defs/fix_step"}},
            "cause": {"enum": sorted(CODES)},
        },
    )
    check = _object(
        ["domain", "findings", "result", "exit_code"],
        {
            **target,
            "zone": {"$ref": "#/$defs/public_zone"},
            "verification": {"$ref": "#/$defs/verification"},
            "findings": {"type": "array", "items": {"$ref": "#/$defs/finding"}},
            "result": {"enum": ["ok", "problems", str(Result.ERROR), str(Result.INTERRUPTED)]},
            **outcome,
        },
    )
    record = _object(
        ["kind", "type", "host", "fqdn", "value", "ttl"],
        {
            "kind": _STR,
            "type": {"enum": ["TXT", "CNAME"]},
            "host": {**_STR, "description": "relative to the zone, '@' at the apex"},
            "fqdn": _STR,
            "value": _STR,
            "ttl": {"type": "integer", "minimum": 0},
            "note": _STR,
        },
    )
    records = _object(
        ["domain", "zone", "records", "result", "exit_code"],
        {
            "domain": _STR,
            "zone": _NULLABLE_STR,
            "records": {"type": "array", "items": {"$ref": "#/$defs/record"}},
            "result": {"enum": [str(r) for r in Result]},
            **outcome,
        },
    )
    return {
        "exit_code": {"enum": [int(c) for c in ExitCode]},
        "zone": zone,
        "public_zone": public_zone,
        "record": record,
        "records": records,
        "verification": verification,
        "change": change,
        "report": report,
        "fix_step": fix_step,
        "finding": finding,
        "check": check,
    }


def document_schema() -> dict[str, Any]:
    """The schema of the `--output json` document, as a JSON-ready dict."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "acs-dns --output json document",
        "description": (
            "One document per run on stdout. Keys are snake_case. `domains` lists one entry per domain "
            "(shape per `command`); a run stopped before any domain started has `error`, `hint` and no domains."
        ),
        "type": "object",
        "required": ["version", "command", "exit_code", "domains"],
        "properties": {
            "version": {"const": JSON_VERSION},
            "command": {**_STR, "pattern": "^[a-z][a-z-]*$", "description": "the acs-dns command that ran"},
            "exit_code": {"$ref": "#/$defs/exit_code"},
            "error": {**_STR, "description": "why the run stopped before any domain started"},
            "hint": {**_NULLABLE_STR, "description": "the fix for `error`"},
            "domains": {"type": "array"},
        },
        "propertyNames": {"pattern": KEY_STYLE},
        "additionalProperties": False,
        "dependentRequired": {"error": ["hint"]},
        "allOf": [
            {
                "if": {"required": ["error"]},
                "then": {"properties": {"domains": {"maxItems": 0}, "exit_code": {"not": {"const": 0}}}},
            },
            {
                "if": {"properties": {"command": {"const": "check"}}},
                "then": {"properties": {"domains": {"items": {"$ref": "#/$defs/check"}}}},
                "else": {
                    "if": {"properties": {"command": {"const": "records"}}},
                    "then": {"properties": {"domains": {"items": {"$ref": "#/$defs/records"}}}},
                    "else": {"properties": {"domains": {"items": {"$ref": "#/$defs/report"}}}},
                },
            },
        ],
        "$defs": _definitions(),
    }


def schema_json() -> str:
    return json.dumps(document_schema(), indent=2)
