"""The verification records the ACS API gives a CustomerManaged email domain, for the diagnosis tests."""

from __future__ import annotations

from provisioner.model import VerificationKind, VerificationRecord
from tests.e2e_helpers import DKIM1, DKIM1_TARGET, DKIM2, DKIM2_TARGET

ACS_SPF = "v=spf1 include:spf.protection.outlook.com -all"


def verification_records(domain: str, token: str, *, dmarc: str | None = None) -> list[VerificationRecord]:
    """Domain and SPF named in full, DKIM relative to the domain (as the API does); DMARC when given."""
    k = VerificationKind
    records = [
        VerificationRecord(k.DOMAIN, "TXT", domain, token, 3600),
        VerificationRecord(k.SPF, "TXT", domain, ACS_SPF, 3600),
        VerificationRecord(k.DKIM, "CNAME", DKIM1, DKIM1_TARGET, 3600),
        VerificationRecord(k.DKIM2, "CNAME", DKIM2, DKIM2_TARGET, 3600),
    ]
    if dmarc is not None:
        records.append(VerificationRecord(k.DMARC, "TXT", f"_dmarc.{domain}", dmarc, 3600))
    return records
