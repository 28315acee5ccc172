"""What acs-dns added to a zone, recorded durably in the record sets' own metadata, so that `deprovision` can
remove exactly that and nothing else. Pure.

Record-set metadata keys (foreign keys are never touched):
- `acsdns_owner` = the email domain: on the DKIM CNAMEs acs-dns created (and on TXT sets it created);
- `acsdns_token` = the `ms-domain-verification=` value(s) acs-dns added to the TXT set (space-separated);
- `acsdns_spf_added` = the SPF mechanisms acs-dns merged in (e.g. `include:spf.protection.outlook.com`),
  `acsdns_spf_before` = the SPF record before (empty: acs-dns created the whole record),
  `acsdns_spf_after` = the SPF record as acs-dns left it;
- `acsdns_dmarc` = the DMARC value acs-dns wrote at `_dmarc`, `acsdns_dmarc_before` = the one it replaced
  (only with `--dmarc-replace`);
- `acsdns_cname_before` = the target a `--takeover` replaced ("" for an empty CNAME set it filled).

Planning provision (`lifecycle_plan`) = `plan.make_plan` + the user's DMARC value + `--prune-token` + these
markers on every set it changes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from provisioner.desired import DesiredRecord
from provisioner.errors import RefusedError
from provisioner.model import OWNER_METADATA_KEY, RecordSet, RecordType, TxtRecord, VerificationKind
from provisioner.names import normalize_domain, relative_name
from provisioner.plan import Action, Change, Plan, make_plan, record_values
from provisioner.spf import is_spf, parse_spf
from provisioner.txt import is_dmarc, split_txt

TOKEN_KEY = "acsdns_token"
SPF_ADDED_KEY = "acsdns_spf_added"
SPF_BEFORE_KEY = "acsdns_spf_before"
SPF_AFTER_KEY = "acsdns_spf_after"
DMARC_KEY = "acsdns_dmarc"
DMARC_BEFORE_KEY = "acsdns_dmarc_before"
CNAME_BEFORE_KEY = "acsdns_cname_before"
MARKER_KEYS = (
    OWNER_METADATA_KEY,
    TOKEN_KEY,
    SPF_ADDED_KEY,
    SPF_BEFORE_KEY,
    SPF_AFTER_KEY,
    DMARC_KEY,
    DMARC_BEFORE_KEY,
    CNAME_BEFORE_KEY,
)
TOKEN_PREFIX = "ms-domain-verification="

Current = Mapping[tuple[str, RecordType], RecordSet]


def dmarc_name(domain: str, zone: str) -> str:
    """The zone-relative name of the domain's DMARC record: `_dmarc.mail` for mail.contoso.com."""
    return relative_name(f"_dmarc.{normalize_domain(domain)}", normalize_domain(zone))


def with_metadata(record_set: RecordSet, changes: Mapping[str, str | None]) -> RecordSet:
    """`record_set` with these metadata keys set (None: removed); every other key kept as it is."""
    metadata = record_set.metadata_dict()
    for key, value in changes.items():
        if value is None:
            metadata.pop(key, None)
        else:
            metadata[key] = value
    return replace(record_set, metadata=tuple(metadata.items()))


def _words(value: str | None) -> list[str]:
    return (value or "").split()


def provable_tokens(record_set: RecordSet, token: str | None) -> set[str]:
    """The verification tokens of `record_set` acs-dns can prove it added: those its marker lists, and, in a
    set with no acs-dns marker at all (written by a version before the markers), this domain's own token."""
    meta = record_set.metadata_dict()
    found = set(_words(meta.get(TOKEN_KEY)))
    if token and not any(k.startswith("acsdns_") for k in meta):
        found.add(token)
    return found


def _spf(values: Sequence[str]) -> str | None:
    found = [v for v in values if is_spf(v)]
    return found[0] if len(found) == 1 else None


def remake(
    before: RecordSet | None, after: RecordSet | None, change: Change, notes: Sequence[str] = ()
) -> Change:
    """The change from `before` to `after` with its action worked out again (DELETE when `after` is None)."""
    if after is None:
        return Change(Action.DELETE, before, None, change.kinds, (*change.notes, *notes))
    if before is None:
        return Change(Action.CREATE, None, after, change.kinds, (*change.notes, *notes))
    same = replace(after, etag=before.etag) == before
    return Change(
        Action.NOOP if same else Action.UPDATE, before, after, change.kinds, (*change.notes, *notes)
    )


# ---- provision: mark what is added -------------------------------------------------------------------------
def _mark_txt(change: Change, domain: str) -> RecordSet:
    """The TXT set to store, with markers for the token, SPF and DMARC values this change adds."""
    assert change.after is not None
    after, before = change.after, change.before
    old, new = record_values(before), record_values(after)
    meta = after.metadata_dict()
    marks: dict[str, str | None] = {}
    if before is None:
        marks[OWNER_METADATA_KEY] = domain
    tokens = [v for v in new if v.startswith(TOKEN_PREFIX) and v not in old]
    if tokens:
        marks[TOKEN_KEY] = " ".join(dict.fromkeys([*_words(meta.get(TOKEN_KEY)), *tokens]))
    spf_old, spf_new = _spf(old), _spf(new)
    if spf_new is not None and spf_new != spf_old:
        added = (
            [
                t.raw
                for t in parse_spf(spf_new)[1]
                if t.name == "include" and t.key not in {u.key for u in parse_spf(spf_old)[1]}
            ]
            if spf_old is not None
            else [t.raw for t in parse_spf(spf_new)[1] if t.name == "include"]
        )
        if SPF_BEFORE_KEY not in meta:  # the first change acs-dns makes: remember what was there
            marks[SPF_BEFORE_KEY] = spf_old or ""
        marks[SPF_ADDED_KEY] = " ".join(dict.fromkeys([*_words(meta.get(SPF_ADDED_KEY)), *added]))
        marks[SPF_AFTER_KEY] = spf_new
    dmarc_new = [v for v in new if is_dmarc(v) and v not in old]
    if dmarc_new:
        marks[DMARC_KEY] = dmarc_new[0]
    return with_metadata(after, marks)


def _mark_cname(change: Change) -> RecordSet:
    assert change.after is not None and change.before is not None
    if change.before.metadata_dict().get(OWNER_METADATA_KEY) == change.after.metadata_dict().get(
        OWNER_METADATA_KEY
    ):
        return change.after  # already ours: repaired, nothing new to remember
    return with_metadata(change.after, {CNAME_BEFORE_KEY: change.before.cname or ""})


def mark(change: Change, domain: str) -> Change:
    """The change with the ownership markers of what it adds (a NOOP or DELETE is left as it is)."""
    if change.action in (Action.NOOP, Action.DELETE) or change.after is None:
        return change
    if change.after.type is RecordType.TXT:
        return replace(change, after=_mark_txt(change, domain))
    if change.after.type is RecordType.CNAME and change.action is Action.UPDATE:
        return replace(change, after=_mark_cname(change))
    return change


# ---- provision: DMARC and --prune-token ----------------------------------------------------------------------
def _replace_dmarc(change: Change, wanted: str, replace_existing: bool) -> Change:
    """`wanted` as the set's only DMARC record: an existing different one is refused, or with
    `replace_existing` replaced in place (remembered in `acsdns_dmarc_before` unless acs-dns wrote it)."""
    current = change.before
    existing = [r for r in (current.txt if current else ()) if is_dmarc(r.text)]
    if not existing or any(r.text == wanted for r in existing):
        return change
    assert current is not None
    if len(existing) > 1:
        raise RefusedError(
            f"TXT {current.name} already holds {len(existing)} DMARC records; RFC 7489 makes receivers apply "
            "none of them, and acs-dns will not guess which one to replace",
            "keep a single v=DMARC1 record there by hand, then re-run",
        )
    old = existing[0].text
    ours = current.metadata_dict().get(DMARC_KEY) == old
    if not replace_existing and not ours:
        raise RefusedError(
            f"TXT {current.name} already holds the DMARC record {old!r}; acs-dns will not add a second one "
            "(RFC 7489: receivers then apply none) nor replace one it did not write",
            "keep it (drop --dmarc / the dmarc key), or re-run with --dmarc-replace to replace it",
        )
    records = [TxtRecord(split_txt(wanted)) if r.text == old else r for r in current.txt]
    marks: dict[str, str | None] = {DMARC_KEY: wanted}
    if not ours:
        marks[DMARC_BEFORE_KEY] = old
    after = with_metadata(replace(current, txt=tuple(records)), marks)
    return remake(current, after, change, (f"replaced the DMARC record {old!r}",))


def prune_token(change: Change, token: str) -> Change:
    """The TXT change without the verification token `token` (the domain's own, so provably for this domain),
    and without acs-dns's token marker for it; a set left empty is deleted."""
    base = change.after if change.after is not None else change.before
    if base is None or base.type is not RecordType.TXT or all(r.text != token for r in base.txt):
        return change
    if token not in provable_tokens(base, token):
        return replace(change, notes=(*change.notes, "kept the verification token: acs-dns did not add it"))
    records = tuple(r for r in base.txt if r.text != token)
    left = [w for w in _words(base.metadata_dict().get(TOKEN_KEY)) if w != token]
    pruned = with_metadata(replace(base, txt=records), {TOKEN_KEY: " ".join(left) or None})
    if not records:
        return remake(change.before, None, change, ("removed the verification token",))
    return remake(change.before, pruned, change, ("removed the verification token (Domain is Verified)",))


def with_user_dmarc(
    desired: list[DesiredRecord], domain: str, zone: str, dmarc: str | None
) -> list[DesiredRecord]:
    """`desired` with the user's DMARC value in place of the API's DMARC record (if any)."""
    if dmarc is None:
        return desired
    name = dmarc_name(domain, zone)
    kept = [d for d in desired if d.kind is not VerificationKind.DMARC]
    return [*kept, DesiredRecord(VerificationKind.DMARC, name, RecordType.TXT, dmarc, 3600)]


def lifecycle_plan(
    domain: str,
    zone: str,
    desired: Sequence[DesiredRecord],
    current: Current,
    *,
    allow_hardfail_change: bool = False,
    takeover: bool = False,
    dmarc: str | None = None,
    dmarc_replace: bool = False,
    prune: bool = False,
) -> Plan:
    """`make_plan` with the user's DMARC value (`dmarc`), the token removed (`prune`: Domain is Verified) and
    the ownership markers of everything added. Raises RefusedError like `make_plan`, and for an existing
    different DMARC record without `dmarc_replace`."""
    domain = normalize_domain(domain)
    wanted = with_user_dmarc(list(desired), domain, zone, dmarc)
    token = next((d.value for d in wanted if d.kind is VerificationKind.DOMAIN), None)
    if prune:
        wanted = [d for d in wanted if d.kind is not VerificationKind.DOMAIN]
    plan = make_plan(
        domain, zone, wanted, current, allow_hardfail_change=allow_hardfail_change, takeover=takeover
    )
    dmarc_at = dmarc_name(domain, zone).lower()
    domain_at = relative_name(domain, normalize_domain(zone)).lower()
    changes: list[Change] = []
    for change in plan.changes:
        name, type_ = change.key[0].lower(), change.key[1]
        if dmarc is not None and (name, type_) == (dmarc_at, RecordType.TXT):
            change = _replace_dmarc(change, dmarc, dmarc_replace)
        change = mark(change, domain)
        if prune and token is not None and (name, type_) == (domain_at, RecordType.TXT):
            change = prune_token(change, token)
        changes.append(change)
    if prune and token is not None and not any(c.key == (domain_at, RecordType.TXT) for c in changes):
        held = current.get((domain_at, RecordType.TXT))
        if held is not None:
            changes.append(prune_token(Change(Action.NOOP, held, held, (VerificationKind.DOMAIN,)), token))
    return replace(plan, changes=tuple(changes))
