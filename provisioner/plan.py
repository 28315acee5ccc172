"""Desired records + the zone's current record sets -> a Plan of changes. Pure.

A change's identity is (name, type). TXT records at one name become one TXT change merged with
what is there (`txt.merge_txt_set`); each DKIM CNAME becomes its own change, owned through the
`acsdns_owner` metadata marker. Every reason to refuse is gathered and raised once, so the
operator sees all of them in one run. NOOP changes stay in the plan so callers can say
"up to date".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

from provisioner.desired import DesiredRecord
from provisioner.errors import RefusedError
from provisioner.model import KIND_ORDER, OWNER_METADATA_KEY, RecordSet, RecordType, VerificationKind
from provisioner.names import normalize_domain
from provisioner.txt import merge_txt_set


class Action(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    NOOP = "noop"


def record_values(record_set: RecordSet | None) -> tuple[str, ...]:
    """The values of a set as people read them: each TXT record's text, or the CNAME target."""
    if record_set is None:
        return ()
    if record_set.type is RecordType.TXT:
        return tuple(r.text for r in record_set.txt)
    if record_set.type is RecordType.CNAME and record_set.cname is not None:
        return (record_set.cname,)
    return ()


@dataclass(frozen=True)
class Change:
    """One record set's change. `before` is the set as read (its ETag guards the write), `after` the set
    to store; CREATE has no `before`, DELETE no `after`."""

    action: Action
    before: RecordSet | None
    after: RecordSet | None
    kinds: tuple[VerificationKind, ...]
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.before is None and self.action is not Action.CREATE:
            raise ValueError(f"a {self.action} change needs the record set as read (before)")
        if self.after is None and self.action is not Action.DELETE:
            raise ValueError(f"a {self.action} change needs the record set to store (after)")

    @property
    def record_set(self) -> RecordSet:
        """The set this change is about (after, or before for a delete)."""
        found = self.after or self.before
        assert found is not None  # __post_init__
        return found

    @property
    def key(self) -> tuple[str, RecordType]:
        return self.record_set.name, self.record_set.type

    @property
    def expected_etag(self) -> str | None:
        """The If-Match ETag of the write (None: a create, sent with If-None-Match: *)."""
        return None if self.before is None else self.before.etag

    @property
    def before_values(self) -> tuple[str, ...]:
        return record_values(self.before)

    @property
    def after_values(self) -> tuple[str, ...]:
        return record_values(self.after)

    def summary(self) -> tuple[str, ...]:
        """Diff lines by position: "  v" unchanged, "- v" removed, "+ v" added (records keep their order)."""
        before, after = self.before_values, self.after_values
        lines: list[str] = []
        for i in range(max(len(before), len(after))):
            old = before[i] if i < len(before) else None
            new = after[i] if i < len(after) else None
            if old == new:
                lines.append(f"  {old}")
                continue
            if old is not None:
                lines.append(f"- {old}")
            if new is not None:
                lines.append(f"+ {new}")
        return tuple(lines)


@dataclass(frozen=True)
class Plan:
    """The changes for one email domain in one zone. `zone_resource_group` and `subscription` locate the
    zone when the plan is saved and applied later (`plan_to_dict` / `plan_from_dict`)."""

    zone: str
    changes: tuple[Change, ...]
    zone_resource_group: str = ""
    subscription: str = ""

    @property
    def writes(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.action is not Action.NOOP)

    @property
    def has_changes(self) -> bool:
        return bool(self.writes)


def _canon_target(name: str) -> str:
    return name.strip().lower().rstrip(".")


def _index(
    current: Mapping[tuple[str, RecordType], RecordSet] | Sequence[RecordSet],
) -> dict[str, list[RecordSet]]:
    sets = current.values() if isinstance(current, Mapping) else current
    by_name: dict[str, list[RecordSet]] = {}
    for record_set in sets:
        by_name.setdefault(record_set.name.lower(), []).append(record_set)
    return by_name


def _of_type(sets: list[RecordSet], type_: RecordType) -> RecordSet | None:
    return next((s for s in sets if s.type is type_), None)


def _txt_change(
    name: str, wanted: list[DesiredRecord], sets: list[RecordSet], allow_hardfail_change: bool
) -> Change:
    cname = _of_type(sets, RecordType.CNAME)
    if cname is not None:
        raise RefusedError(
            f"a CNAME record set (-> {cname.cname}) already exists at '{cname.name}', and a CNAME "
            "cannot share its name with the TXT records Azure Communication Services needs",
            f"remove the CNAME at '{cname.name}' (or use another email domain), then re-run",
            codes=("cname-at-domain",),
        )
    by_kind = {r.kind: r.value for r in wanted}
    current = _of_type(sets, RecordType.TXT)
    merged = merge_txt_set(
        current,
        by_kind.get(VerificationKind.DOMAIN),
        by_kind.get(VerificationKind.SPF),
        allow_hardfail_change=allow_hardfail_change,
        ttl=max(r.ttl for r in wanted),
        name=name,
        dmarc_wanted=by_kind.get(VerificationKind.DMARC),
    )
    action = Action.CREATE if current is None else Action.UPDATE if merged.changed else Action.NOOP
    kinds = tuple(r.kind for r in wanted)
    return Change(action, current, merged.record_set, kinds, merged.notes)


def _owned_by(marker: str | None, owner: str) -> bool:
    return marker is not None and marker.strip().lower() == owner.lower()


def _cname_change(wanted: DesiredRecord, sets: list[RecordSet], owner: str, takeover: bool) -> Change:
    others = " and ".join(sorted({str(s.type) for s in sets if s.type is not RecordType.CNAME}))
    if others:
        raise RefusedError(
            f"{others} record set(s) already exist at '{wanted.name}', and the {wanted.kind} CNAME "
            "cannot share its name with any other record (--takeover does not change that)",
            f"remove the {others} record set(s) at '{wanted.name}' if nothing needs them, then re-run",
            codes=(f"{wanted.kind.value.lower()}-not-cname",) if "TXT" in others else (),
        )
    kinds = (wanted.kind,)
    current = _of_type(sets, RecordType.CNAME)
    if current is None:
        after = RecordSet(
            wanted.name,
            RecordType.CNAME,
            wanted.ttl,
            cname=wanted.value,
            metadata=((OWNER_METADATA_KEY, owner),),
        )
        return Change(Action.CREATE, None, after, kinds)
    if _canon_target(current.cname or "") == _canon_target(wanted.value):
        marked = _owned_by(current.metadata_dict().get(OWNER_METADATA_KEY), owner)
        return Change(
            Action.NOOP, current, current, kinds, () if marked else ("not marked as managed by acs-dns",)
        )
    metadata = current.metadata_dict()
    marker = metadata.get(OWNER_METADATA_KEY)
    if current.cname is None:
        # an empty CNAME set (Azure allows one, e.g. `az network dns record-set cname create`) holds
        # no target to clobber: fill it, keep its metadata, mark it ours
        metadata[OWNER_METADATA_KEY] = owner
        after = replace(current, cname=wanted.value, metadata=tuple(sorted(metadata.items())))
        return Change(Action.UPDATE, current, after, kinds, ("filled an empty CNAME record set",))
    if _owned_by(marker, owner):
        return Change(
            Action.UPDATE, current, replace(current, cname=wanted.value), kinds, ("target changed",)
        )
    if not takeover:
        whose = "not managed by acs-dns" if marker is None else f"managed by acs-dns for '{marker}'"
        raise RefusedError(
            f"the CNAME at '{current.name}' points to {current.cname}, not {wanted.value}, and is {whose}",
            "check that nothing else uses it, then re-run with --takeover to let acs-dns replace it",
            codes=(f"{wanted.kind.value.lower()}-wrong-target",),
        )
    metadata[OWNER_METADATA_KEY] = owner
    after = replace(current, cname=wanted.value, metadata=tuple(sorted(metadata.items())))
    return Change(Action.UPDATE, current, after, kinds, (f"taken over (was -> {current.cname})",))


def make_plan(
    domain: str,
    zone: str,
    desired: Sequence[DesiredRecord],
    current: Mapping[tuple[str, RecordType], RecordSet] | Sequence[RecordSet],
    *,
    allow_hardfail_change: bool = False,
    takeover: bool = False,
    owner: str | None = None,
) -> Plan:
    """Plan the changes that make `zone` hold `desired`, given every record set `current` at those names.

    Raises one RefusedError listing every reason when any change would be unsafe: a CNAME where
    TXT records must go, another record type where a DKIM CNAME must go, a foreign CNAME without
    `takeover`, two SPF records, a refused SPF policy change, a TXT set over Azure's limits.
    """
    owner_value = owner or normalize_domain(domain)
    by_name = _index(current)
    txt_groups: dict[str, list[DesiredRecord]] = {}
    changes: list[Change] = []
    refusals: list[tuple[str, RecordType, RefusedError]] = []
    for record in sorted(desired, key=lambda r: KIND_ORDER[r.kind]):
        if record.type is RecordType.TXT:
            txt_groups.setdefault(record.name, []).append(record)
        elif record.type is RecordType.CNAME:
            try:
                changes.append(
                    _cname_change(record, by_name.get(record.name.lower(), []), owner_value, takeover)
                )
            except RefusedError as error:
                refusals.append((record.name, RecordType.CNAME, error))
        else:
            raise ValueError(f"acs-dns does not plan {record.type} records ({record.kind} at {record.name})")
    for name, group in txt_groups.items():
        try:
            changes.append(_txt_change(name, group, by_name.get(name.lower(), []), allow_hardfail_change))
        except RefusedError as error:
            refusals.append((name, RecordType.TXT, error))
    if refusals:
        refusals.sort(key=lambda item: (item[0].lower(), item[1]))
        raise _gathered(normalize_domain(zone), refusals)
    changes.sort(key=lambda c: (c.record_set.name.lower(), c.record_set.type))
    return Plan(normalize_domain(zone), tuple(changes))


def _gathered(zone: str, refusals: list[tuple[str, RecordType, RefusedError]]) -> RefusedError:
    """One RefusedError for all reasons, in plan order; a single reason keeps its own hint."""
    if len(refusals) == 1:
        name, type_, error = refusals[0]
        where = f"{type_} {name}"
        return RefusedError(
            f"{where} in zone '{zone}': {error.message}{_named(error)}", error.hint, codes=error.codes
        )
    lines = [f"acs-dns refuses to change zone '{zone}' for {len(refusals)} reasons:"]
    for name, type_, error in refusals:
        lines.append(f"  - {type_} {name}: {error.message}{_named(error)}")
        if error.hint:
            lines.append(f"    fix: {error.hint}")
    codes = tuple(dict.fromkeys(c for _, _, e in refusals for c in e.codes))
    return RefusedError("\n".join(lines), codes=codes)


def _named(error: RefusedError) -> str:
    """The finding code(s) `acs-dns check` reports for the same problem, as a message suffix."""
    return f" [{', '.join(error.codes)}]" if error.codes else ""
