"""Plan taking back what acs-dns added to a zone for one email domain, and nothing else. Pure.

What is provably acs-dns's (see `ownership` for the markers):
- a verification token listed in `acsdns_token`, or equal to this email domain's own token (a domain
  provisioned before the markers existed has none: its token is still provably this domain's);
- the SPF changes recorded in `acsdns_spf_*`: the SPF record as acs-dns left it goes back to what it was
  (deleted when acs-dns created it); one edited since loses only the mechanisms acs-dns added (listed in
  `acsdns_spf_added`: without that marker they are unproven, so left and named);
- the DMARC value recorded in `acsdns_dmarc` (a replaced one comes back);
- every CNAME whose `acsdns_owner` is this domain (deleted; one taken over gets its old target back).
Everything else stays byte for byte. What looks like the domain's but cannot be proven (the SPF
`include:` without a marker: Microsoft 365 uses the same one; a DKIM CNAME or DMARC record without a
marker) is listed in `left`, not removed. A TXT set left empty is deleted; markers are dropped from sets
that stay.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from provisioner.desired import DesiredRecord
from provisioner.model import OWNER_METADATA_KEY, RecordSet, RecordType, TxtRecord, VerificationKind
from provisioner.names import normalize_domain, relative_name
from provisioner.ownership import (
    CNAME_BEFORE_KEY,
    DMARC_BEFORE_KEY,
    DMARC_KEY,
    MARKER_KEYS,
    SPF_ADDED_KEY,
    SPF_AFTER_KEY,
    SPF_BEFORE_KEY,
    Current,
    dmarc_name,
    provable_tokens,
    remake,
    with_metadata,
)
from provisioner.plan import Action, Change, Plan
from provisioner.spf import is_spf, parse_spf
from provisioner.txt import is_dmarc, split_txt


@dataclass(frozen=True)
class Removal:
    """The DNS changes that take back what acs-dns added, and what it leaves because it cannot prove it."""

    plan: Plan
    left: tuple[str, ...] = ()


def _unmarked(
    record_set: RecordSet, records: Sequence[TxtRecord] | None = None, cname: str | None = None
) -> RecordSet:
    stripped = with_metadata(record_set, dict.fromkeys(MARKER_KEYS))
    if records is not None:
        stripped = replace(stripped, txt=tuple(records))
    if cname is not None:
        stripped = replace(stripped, cname=cname or None)
    return stripped


def _without_terms(spf: str, keys: set[tuple[str, str | None]]) -> tuple[str, list[str]]:
    """(the SPF record without the mechanisms `keys` names, the mechanisms taken out)."""
    version, terms = parse_spf(spf)
    out = [t.raw for t in terms if not t.is_modifier and t.key in keys]
    return " ".join([version, *(t.raw for t in terms if t.raw not in out)]), out


def _include_keys(text: str) -> set[tuple[str, str | None]]:
    """The `include:` mechanisms of an SPF record; none when the text is not SPF (a marker edited by hand)."""
    if not is_spf(text):
        return set()
    return {t.key for t in parse_spf(text)[1] if t.name == "include"}


def _marked_spf_removal(spf: str, meta: dict[str, str], name: str) -> tuple[str | None, list[str], list[str]]:
    """`_spf_removal` for a record acs-dns marked (`acsdns_spf_after` present)."""
    before = meta.get(SPF_BEFORE_KEY, "")
    if spf == meta[SPF_AFTER_KEY]:
        return (
            (before or None),
            [
                "SPF record restored as it was before acs-dns"
                if before
                else "removed the SPF record acs-dns created"
            ],
            [],
        )
    if SPF_ADDED_KEY not in meta:  # edited since, and the list of what acs-dns added is gone: prove nothing
        found = _without_terms(spf, _include_keys(meta[SPF_AFTER_KEY]) - _include_keys(before))[1]
        if not found:
            return spf, [], []
        return (
            spf,
            [],
            [
                f"TXT {name}: SPF {' '.join(found)} left in place: the record was edited since acs-dns changed "
                f"it and its {SPF_ADDED_KEY} marker (what acs-dns added) is missing, so nothing proves acs-dns "
                "added it; remove it by hand if nothing else sends for the domain"
            ],
        )
    added = {parse_spf(f"v=spf1 {m}")[1][0].key for m in meta[SPF_ADDED_KEY].split()}
    kept, removed = _without_terms(spf, added)
    if not before and parse_spf(kept)[1] and all(t.name == "all" for t in parse_spf(kept)[1]):
        return None, ["removed the SPF record acs-dns created (only its -all was left)"], []
    if not removed:  # acs-dns added nothing, or its additions were removed by hand since
        return spf, [], []
    return kept, [f"removed {' '.join(sorted(removed))} from the SPF record (edited since)"], []


def _spf_removal(
    spf: str, meta: dict[str, str], api_spf: str | None, name: str
) -> tuple[str | None, list[str], list[str]]:
    """(the SPF record to keep, None: remove it; notes; left)."""
    if SPF_AFTER_KEY in meta:
        return _marked_spf_removal(spf, meta, name)
    left = []
    if api_spf is not None and is_spf(api_spf):
        ours = [t for t in parse_spf(api_spf)[1] if t.name == "include"]
        have = {t.key for t in parse_spf(spf)[1]}
        present = [t.raw for t in ours if t.key in have]
        if present:
            left.append(
                f"TXT {name}: SPF {' '.join(present)} left in place: no acs-dns marker proves acs-dns added it "
                "(Microsoft 365 uses the same include); remove it by hand if nothing else sends for the domain"
            )
    return spf, [], left


def _txt_at_domain(
    current: RecordSet, token: str | None, api_spf: str | None
) -> tuple[Change | None, list[str]]:
    meta = current.metadata_dict()
    tokens = provable_tokens(current, token)
    notes, left = [], []
    records = [r for r in current.txt if r.text not in tokens]
    if len(records) < len(current.txt):
        notes.append("removed the verification token")
    spfs = [i for i, r in enumerate(records) if is_spf(r.text)]
    if len(spfs) == 1:
        kept, spf_notes, spf_left = _spf_removal(records[spfs[0]].text, meta, api_spf, current.name)
        notes += spf_notes
        left += spf_left
        if kept is None:
            del records[spfs[0]]
        elif kept != records[spfs[0]].text:
            records[spfs[0]] = TxtRecord(split_txt(kept))
    return _finish(current, records, notes), left


def _finish(current: RecordSet, records: list[TxtRecord], notes: list[str]) -> Change | None:
    """The change leaving `records` in `current` without acs-dns's markers; a set acs-dns created (its
    `acsdns_owner` marker) is deleted when left empty (one that was already empty stays)."""
    base = Change(Action.NOOP, current, current, ())
    if not records and OWNER_METADATA_KEY in current.metadata_dict():
        return remake(current, None, base, notes)
    change = remake(current, _unmarked(current, records), base, notes)
    return None if change.action is Action.NOOP else change


def _txt_at_dmarc(current: RecordSet, dmarc_expected: bool) -> tuple[Change | None, list[str]]:
    meta = current.metadata_dict()
    ours = meta.get(DMARC_KEY)
    records, notes, left = list(current.txt), [], []
    if ours is not None:
        at = next((i for i, r in enumerate(records) if r.text == ours), None)
        if at is None:
            left.append(
                f"TXT {current.name}: the DMARC record acs-dns wrote was changed since; left in place"
            )
        elif meta.get(DMARC_BEFORE_KEY):
            records[at] = TxtRecord(split_txt(meta[DMARC_BEFORE_KEY]))
            notes.append("restored the DMARC record acs-dns replaced")
        else:
            del records[at]
            notes.append("removed the DMARC record acs-dns wrote")
    elif dmarc_expected and any(is_dmarc(r.text) for r in records):
        left.append(
            f"TXT {current.name}: DMARC record left in place: no acs-dns marker proves acs-dns wrote it"
        )
    return _finish(current, records, notes), left


def _cname(current: RecordSet, domain: str) -> Change | None:
    meta = current.metadata_dict()
    if (meta.get(OWNER_METADATA_KEY) or "").strip().lower() != domain:
        return None
    base = Change(Action.NOOP, current, current, ())
    if CNAME_BEFORE_KEY in meta:
        restored = _unmarked(current, cname=meta[CNAME_BEFORE_KEY])
        if not meta[CNAME_BEFORE_KEY]:
            restored = replace(restored, cname=None)
        return remake(current, restored, base, ("restored the CNAME target acs-dns took over",))
    return remake(current, None, base, ("removed the CNAME acs-dns created",))


def plan_removal(
    domain: str,
    zone: str,
    desired: Sequence[DesiredRecord],
    current: Current,
    *,
    dmarc_expected: bool = False,
) -> Removal:
    """The changes removing what acs-dns added for `domain` from `current` (the zone's record sets; every
    CNAME marked for the domain is found wherever it is). `desired` are the API's records of the domain
    (empty when the email domain no longer exists: the markers alone then decide)."""
    domain, zone = normalize_domain(domain), normalize_domain(zone)
    by_kind = {d.kind: d for d in desired}
    token = by_kind[VerificationKind.DOMAIN].value if VerificationKind.DOMAIN in by_kind else None
    api_spf = by_kind[VerificationKind.SPF].value if VerificationKind.SPF in by_kind else None
    changes: list[Change] = []
    left: list[str] = []
    at = relative_name(domain, zone).lower()
    held = current.get((at, RecordType.TXT))
    if held is not None:
        change, found = _txt_at_domain(held, token, api_spf)
        changes += [change] if change else []
        left += found
    dmarc_at = dmarc_name(domain, zone).lower()
    held = current.get((dmarc_at, RecordType.TXT))
    if held is not None:
        expected = dmarc_expected or VerificationKind.DMARC in by_kind
        change, found = _txt_at_dmarc(held, expected)
        changes += [change] if change else []
        left += found
    for (_, type_), record_set in sorted(current.items()):
        if type_ is RecordType.CNAME:
            change = _cname(record_set, domain)
            changes += [change] if change else []
    for record in desired:
        found_set = current.get((record.name.lower(), RecordType.CNAME))
        if (
            record.type is RecordType.CNAME
            and found_set is not None
            and _cname(found_set, domain) is None
            and (found_set.cname or "").rstrip(".").lower() == record.value.rstrip(".").lower()
        ):
            left.append(
                f"CNAME {found_set.name}: left in place: not marked as created by acs-dns for {domain}"
            )
    kinds = {(at, RecordType.TXT): (VerificationKind.DOMAIN, VerificationKind.SPF)}
    kinds[(dmarc_at, RecordType.TXT)] = (VerificationKind.DMARC,)
    kinds |= {(d.name.lower(), RecordType.CNAME): (d.kind,) for d in desired if d.type is RecordType.CNAME}
    changes = [replace(c, kinds=kinds.get((c.key[0].lower(), c.key[1]), ())) for c in changes]
    changes.sort(key=lambda c: (c.record_set.name.lower(), c.record_set.type))
    return Removal(Plan(zone, tuple(changes)), tuple(left))
