"""The records a domain needs, for pasting into any DNS provider: text table, BIND zone-file lines, JSON, CSV.

Pure. Host names are relative to the zone ("@" at the apex), as providers' forms ask for them, and also
given in full. When the domain already publishes an SPF record the merged value is shown, never a second
SPF record (RFC 7208).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from provisioner.desired import desired_records
from provisioner.dnsdata import DnsAnswers, norm
from provisioner.model import RecordType, VerificationKind, VerificationRecord
from provisioner.names import APEX
from provisioner.record_checks import spf_to_publish
from provisioner.spf import is_spf
from provisioner.txt import split_txt

FORMATS = ("text", "bind", "json", "csv")


@dataclass(frozen=True)
class RecordLine:
    kind: str
    type: str
    host: str
    fqdn: str
    value: str
    ttl: int
    note: str = ""


def public_spf(answers: DnsAnswers) -> list[str]:
    """The SPF records public DNS serves at the domain (the resolver's view, else the first name server's)."""
    views = [v for v in (answers.resolver, *answers.authoritative) if v.reachable]
    for view in views:
        texts = [t for t in view.get(answers.domain).txt if is_spf(t)]
        if texts:
            return texts
    return []


def records_needed(
    expected: Sequence[VerificationRecord], domain: str, zone: str, existing_spf: Sequence[str] = ()
) -> list[RecordLine]:
    """The records to publish for `domain` in `zone`, in verification order. `existing_spf`: the SPF
    record(s) the domain already publishes; the SPF line then shows the merged value."""
    zone = norm(zone)
    lines = []
    for record in desired_records(domain, zone, expected):
        fqdn = zone if record.name == APEX else f"{record.name}.{zone}"
        value, note = record.value, ""
        if record.kind is VerificationKind.SPF and existing_spf:
            value = spf_to_publish(existing_spf, record.value)
            if list(existing_spf) == [value]:
                note = "already published"
            else:
                note = "replaces the existing SPF record " + " and ".join(existing_spf) + " (one SPF only)"
        elif record.type is RecordType.TXT and record.kind in (VerificationKind.DOMAIN, VerificationKind.SPF):
            note = "another TXT value at this name; keep the existing ones"
        lines.append(
            RecordLine(record.kind.value, record.type.value, record.name, fqdn, value, record.ttl, note)
        )
    return lines


def render_records(lines: Sequence[RecordLine], fmt: str, *, domain: str = "", zone: str = "") -> str:
    """`lines` as `fmt` (one of FORMATS)."""
    if fmt == "json":
        return json.dumps([asdict(line) for line in lines], indent=2) + "\n"
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["kind", "type", "host", "fqdn", "value", "ttl", "note"])
        writer.writerows([ln.kind, ln.type, ln.host, ln.fqdn, ln.value, ln.ttl, ln.note] for ln in lines)
        return out.getvalue()
    if fmt == "bind":
        return _bind(lines, domain, zone)
    if fmt == "text":
        return _table(lines, domain, zone)
    raise ValueError(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")


def _bind_txt(value: str) -> str:
    return " ".join('"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"' for s in split_txt(value))


def _bind(lines: Sequence[RecordLine], domain: str, zone: str) -> str:
    out = [f"; {domain} in zone {zone}: paste into the zone file of {zone} (names are relative to it)"]
    for ln in lines:
        data = _bind_txt(ln.value) if ln.type == "TXT" else norm(ln.value) + "."
        note = f"  ; {ln.kind}" + (f": {ln.note}" if ln.note else "")
        out.append(f"{ln.host}\t{ln.ttl}\tIN\t{ln.type}\t{data}{note}")
    return "\n".join(out) + "\n"


def _table(lines: Sequence[RecordLine], domain: str, zone: str) -> str:
    header = ("TYPE", "HOST", "FQDN", "VALUE", "TTL")
    rows = [(ln.type, ln.host, ln.fqdn, ln.value, str(ln.ttl)) for ln in lines]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header) - 1)]
    out = [f"Records for {domain} in zone {zone} (HOST is relative to the zone; @ is the zone itself):"]
    for row in [header, *rows]:
        out.append(
            "  ".join(cell.ljust(w) for cell, w in zip(row[:-1], widths, strict=True)) + "  " + row[-1]
        )
    out += [f"  {ln.kind}: {ln.note}" for ln in lines if ln.note]
    return "\n".join(out) + "\n"


__all__ = ["FORMATS", "RecordLine", "public_spf", "records_needed", "render_records"]
