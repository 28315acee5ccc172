"""Merge the ACS TXT values into an existing TXT record set without touching anyone else's. Pure.

Every foreign TXT record is kept byte for byte (same strings, same order). The domain token
and a DMARC record are appended when missing; the SPF value is merged into the one existing
SPF record (see `spf.merge_spf`). Azure's limits are checked before anything is proposed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from provisioner.errors import RefusedError
from provisioner.model import RecordSet, RecordType, TxtRecord
from provisioner.spf import is_spf, merge_spf

MAX_TXT_STRING = 255
"""Characters per TXT string. DNS limits bytes, but Azure counts characters, so values are split by
characters; for ASCII values (all ACS values) the two agree."""
MAX_RECORDS_PER_SET = 20
MAX_TXT_CHARS_PER_SET = 4096

_DMARC = re.compile(r"v\s*=\s*DMARC1\s*(;|$)", re.IGNORECASE)


@dataclass(frozen=True)
class TxtMerge:
    record_set: RecordSet
    changed: bool
    notes: tuple[str, ...] = ()


def split_txt(value: str) -> tuple[str, ...]:
    """Split `value` into strings of at most 255 characters (one string for an empty value)."""
    if not value:
        return ("",)
    return tuple(value[i : i + MAX_TXT_STRING] for i in range(0, len(value), MAX_TXT_STRING))


def is_dmarc(text: str) -> bool:
    """True if `text` is a DMARC record (starts with "v=DMARC1")."""
    return _DMARC.match(text) is not None


def _short(text: str, limit: int = 80) -> str:
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")


def _merge_spf(records: list[TxtRecord], wanted: str, allow_hardfail_change: bool) -> list[str]:
    found = [i for i, r in enumerate(records) if is_spf(r.text)]
    if len(found) > 1:
        listed = ", ".join(_short(records[i].text) for i in found)
        raise RefusedError(
            f"the record set already holds {len(found)} SPF (v=spf1) records ({listed}); "
            "RFC 7208 makes that a permanent error, and acs-dns will not guess which one to merge into",
            "merge them into a single v=spf1 record by hand, then re-run",
            codes=("spf-multiple",),
        )
    if not found:
        records.append(TxtRecord(split_txt(wanted)))
        return ["added SPF record"]
    merged = merge_spf(records[found[0]].text, wanted, allow_hardfail_change)
    if merged.changed:
        records[found[0]] = TxtRecord(split_txt(merged.text))
    return list(merged.notes)


def _merge_dmarc(records: list[TxtRecord], wanted: str) -> list[str]:
    existing = [r.text for r in records if is_dmarc(r.text)]
    if not existing:
        records.append(TxtRecord(split_txt(wanted)))
        return ["added DMARC record"]
    if wanted in existing:
        return []
    return [
        f"kept the existing DMARC record {_short(existing[0])}; a second one would make receivers ignore both"
    ]


def _check_limits(records: list[TxtRecord]) -> None:
    if len(records) > MAX_RECORDS_PER_SET:
        raise RefusedError(
            f"the TXT record set would hold {len(records)} records; Azure DNS allows at most "
            f"{MAX_RECORDS_PER_SET} per record set",
            "remove TXT records that are no longer needed (old site verifications), then re-run",
        )
    chars = sum(len(s) for r in records for s in r.strings)
    if chars > MAX_TXT_CHARS_PER_SET:
        raise RefusedError(
            f"the TXT record set would hold {chars} characters; Azure DNS allows at most "
            f"{MAX_TXT_CHARS_PER_SET} per record set",
            "remove or shorten TXT records that are no longer needed, then re-run",
        )


def merge_txt_set(
    current: RecordSet | None,
    token: str | None,
    spf_wanted: str | None,
    *,
    allow_hardfail_change: bool,
    ttl: int,
    name: str | None = None,
    dmarc_wanted: str | None = None,
) -> TxtMerge:
    """Merge the ACS values into the TXT set `current` (None: the set does not exist yet).

    `token` (the Domain record's value) is appended unless a record's text equals it; `spf_wanted`
    is merged into the single existing SPF record or appended; `dmarc_wanted` is appended unless a
    DMARC record exists (a different one is kept: RFC 7489 section 6.6.3). None means "leave alone".
    An existing set keeps its name, ttl, metadata and etag; a new one is named `name` (required
    then), gets `ttl` and no metadata. Raises RefusedError for two SPF records, a refused SPF
    policy change, or a result over Azure's limits.
    """
    if current is not None and current.type is not RecordType.TXT:
        raise ValueError(f"not a TXT record set: {current.type} {current.name}")
    if current is None and name is None:
        raise ValueError("a name is needed to create a TXT record set")
    records = list(current.txt) if current else []
    notes: list[str] = []
    if token is not None and all(r.text != token for r in records):
        records.append(TxtRecord(split_txt(token)))
        notes.append("added domain verification token")
    if spf_wanted is not None:
        notes += _merge_spf(records, spf_wanted, allow_hardfail_change)
    if dmarc_wanted is not None:
        notes += _merge_dmarc(records, dmarc_wanted)

    changed = tuple(records) != (current.txt if current else ())
    if changed:
        _check_limits(records)
    if current is not None:
        return TxtMerge(replace(current, txt=tuple(records)), changed, tuple(notes))
    assert name is not None
    return TxtMerge(
        RecordSet(name=name, type=RecordType.TXT, ttl=ttl, txt=tuple(records)), changed, tuple(notes)
    )
