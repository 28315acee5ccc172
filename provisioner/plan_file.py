"""Plans as JSON values: saved by `plan --out FILE`, applied by `provision --plan FILE`. Pure.

Every change keeps the record set as read (with its ETag) and the set to store, so applying a saved
plan writes exactly what was shown and refuses when a set changed since (If-Match with the saved ETag).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from provisioner.config import DomainTarget, target_from_flags
from provisioner.errors import UsageError
from provisioner.model import RecordSet, RecordType, TxtRecord, VerificationKind
from provisioner.plan import Action, Change, Plan

PLAN_FILE_VERSION = 1


@dataclass(frozen=True)
class SavedPlan:
    """One domain's plan and the target it was made for."""

    target: DomainTarget
    plan: Plan


def record_set_to_dict(record_set: RecordSet) -> dict[str, Any]:
    return {
        "name": record_set.name,
        "type": str(record_set.type),
        "ttl": record_set.ttl,
        "txt": [list(r.strings) for r in record_set.txt],
        "cname": record_set.cname,
        "metadata": dict(record_set.metadata),
        "etag": record_set.etag,
    }


def record_set_from_dict(body: dict[str, Any]) -> RecordSet:
    return RecordSet(
        name=str(body["name"]),
        type=RecordType(body["type"]),
        ttl=int(body["ttl"]),
        txt=tuple(TxtRecord(tuple(str(s) for s in strings)) for strings in body.get("txt") or ()),
        cname=body.get("cname"),
        metadata=dict(body.get("metadata") or {}),
        etag=body.get("etag"),
    )


def change_to_dict(change: Change) -> dict[str, Any]:
    return {
        "action": str(change.action),
        "kinds": [str(k) for k in change.kinds],
        "notes": list(change.notes),
        "before": None if change.before is None else record_set_to_dict(change.before),
        "after": None if change.after is None else record_set_to_dict(change.after),
    }


def change_from_dict(body: dict[str, Any]) -> Change:
    return Change(
        action=Action(body["action"]),
        before=None if body.get("before") is None else record_set_from_dict(body["before"]),
        after=None if body.get("after") is None else record_set_from_dict(body["after"]),
        kinds=tuple(VerificationKind(k) for k in body.get("kinds") or ()),
        notes=tuple(str(n) for n in body.get("notes") or ()),
    )


def plan_to_dict(plan: Plan) -> dict[str, Any]:
    return {
        "zone": plan.zone,
        "zone_resource_group": plan.zone_resource_group,
        "subscription": plan.subscription,
        "changes": [change_to_dict(c) for c in plan.changes],
    }


def plan_from_dict(body: dict[str, Any]) -> Plan:
    return Plan(
        zone=str(body["zone"]),
        changes=tuple(change_from_dict(c) for c in body.get("changes") or ()),
        zone_resource_group=str(body.get("zone_resource_group") or ""),
        subscription=str(body.get("subscription") or ""),
    )


_SENDING_KEYS = ("communication_service", "communication_resource_group", "prune_token")


def _target_to_dict(target: DomainTarget) -> dict[str, Any]:
    """The target's identity, and what provision does after verification (link, senders, token) when set."""
    body: dict[str, Any] = {
        "subscription": target.subscription,
        "resource_group": target.resource_group,
        "email_service": target.email_service,
        "domain": target.domain,
    }
    body |= {k: getattr(target, k) for k in _SENDING_KEYS if getattr(target, k)}
    if target.senders:
        body["senders"] = [{"username": u, "display_name": d} for u, d in target.senders]
    return body


def dumps(saved: list[SavedPlan]) -> str:
    """The plan file: `{"version": 1, "plans": [{"domain", "subscription", "resource_group",
    "email_service", "plan": {"zone", "zone_resource_group", "subscription", "changes": [...]}}]}`."""
    body = {
        "version": PLAN_FILE_VERSION,
        "plans": [_target_to_dict(s.target) | {"plan": plan_to_dict(s.plan)} for s in saved],
    }
    return json.dumps(body, indent=2) + "\n"


def loads(text: str, source: str = "plan file") -> list[SavedPlan]:
    """Read a plan file; anything malformed is a UsageError naming the file (nothing sent). Each domain's
    names are checked as the same flags would be: an edited file cannot send what a flag could not."""
    try:
        body = json.loads(text)
        if body.get("version") != PLAN_FILE_VERSION:
            raise ValueError(f"version {body.get('version')!r}, expected {PLAN_FILE_VERSION}")
        saved = []
        for entry in body["plans"]:
            plan = plan_from_dict(entry["plan"])
            senders = tuple((s["username"], s.get("display_name")) for s in entry.get("senders") or ())
            given = {
                "subscription": entry["subscription"],
                "resource_group": entry["resource_group"],
                "email_service": entry["email_service"],
                "name": entry["domain"],
                "zone": plan.zone,
                "zone_resource_group": plan.zone_resource_group or None,
                "communication_service": entry.get("communication_service"),
                "communication_resource_group": entry.get("communication_resource_group"),
                "prune_token": entry.get("prune_token"),
                "senders": senders or None,
            }
            try:
                target = target_from_flags(given)
            except UsageError as exc:
                raise ValueError(f"the plan of {entry['domain']!r}: {exc.message}") from None
            saved.append(SavedPlan(target, plan))
        return saved
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
        raise UsageError(
            f"{source} is not a plan saved by `acs-dns plan --out`: {type(exc).__name__}: {exc}",
            "save a plan again with `acs-dns plan ... --out FILE`",
        ) from None
