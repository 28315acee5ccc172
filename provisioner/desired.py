"""ACS verification records -> the records the zone must hold, with zone-relative names. Pure."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from provisioner.errors import AcsDnsError, UsageError
from provisioner.model import KIND_ORDER, RecordType, VerificationKind, VerificationRecord
from provisioner.names import APEX, normalize_domain, record_fqdn, relative_name

EXPECTED_TYPES: dict[VerificationKind, RecordType] = {
    VerificationKind.DOMAIN: RecordType.TXT,
    VerificationKind.SPF: RecordType.TXT,
    VerificationKind.DKIM: RecordType.CNAME,
    VerificationKind.DKIM2: RecordType.CNAME,
    VerificationKind.DMARC: RecordType.TXT,
}
DEFAULT_TTL = 3600


@dataclass(frozen=True)
class DesiredRecord:
    """One record ACS needs, placed in the zone: `name` is zone-relative ("@" at the apex)."""

    kind: VerificationKind
    name: str
    type: RecordType
    value: str
    ttl: int


def _desired(domain: str, zone: str, record: VerificationRecord) -> DesiredRecord:
    kind = VerificationKind(record.kind)
    expected = EXPECTED_TYPES[kind]
    if record.type.strip().upper() != expected:
        raise AcsDnsError(
            f"the ACS API gave the {kind} record of '{domain}' type {record.type!r}; "
            f"acs-dns expects {expected}",
            "this looks like an API change: report it with the domain's verificationRecords",
        )
    name = relative_name(record_fqdn(record.name, domain), zone)
    value = record.value.strip()
    if expected is RecordType.CNAME:
        value = value.rstrip(".")
        if name == APEX:
            raise UsageError(
                f"the {kind} CNAME of '{domain}' would sit at the apex of zone '{zone}', "
                "where DNS allows no CNAME",
            )
    ttl = record.ttl if record.ttl and record.ttl > 0 else DEFAULT_TTL
    return DesiredRecord(kind=kind, name=name, type=expected, value=value, ttl=ttl)


def desired_records(domain: str, zone: str, records: Iterable[VerificationRecord]) -> list[DesiredRecord]:
    """Place the API's verification records in `zone`, sorted in verification order (Domain first).

    TXT values are kept exactly as the API gives them; CNAME targets lose their trailing dot.
    Records with an empty value (the API sometimes returns DMARC without one) are skipped: there
    is nothing to publish. Raises UsageError if the domain is not in the zone, and AcsDnsError
    if the API's data is inconsistent (a kind twice, a kind with an unexpected type).
    """
    domain, zone = normalize_domain(domain), normalize_domain(zone)
    relative_name(domain, zone)  # raises UsageError when the email domain is outside the zone
    placed: dict[VerificationKind, DesiredRecord] = {}
    for record in records:
        if not record.value.strip():
            continue
        item = _desired(domain, zone, record)
        if item.kind in placed:
            raise AcsDnsError(f"the ACS API gave two {item.kind} records for '{domain}'")
        placed[item.kind] = item
    result = sorted(placed.values(), key=lambda r: KIND_ORDER[r.kind])
    for cname in (r for r in result if r.type is RecordType.CNAME):
        clash = [r for r in result if r is not cname and r.name == cname.name]
        if clash:
            raise AcsDnsError(
                f"the ACS API gave the {cname.kind} CNAME of '{domain}' the same name as its "
                f"{clash[0].kind} record ('{cname.name}'); a CNAME cannot share its name",
            )
    return result
