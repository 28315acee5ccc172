"""ACS verification records placed in the zone: apex and subdomain, every API name form."""

from __future__ import annotations

import pytest

from provisioner.desired import DesiredRecord, desired_records
from provisioner.errors import AcsDnsError, UsageError
from provisioner.model import RecordType, VerificationKind, VerificationRecord

TOKEN = "ms-domain-verification=3f2c9d4e-8b1a-4c6f-9e2d-7a5b1c0d4e8f"
SPF = "v=spf1 include:spf.protection.outlook.com -all"
DKIM1 = "selector1-azurecomm-prod-net._domainkey"
DKIM2 = "selector2-azurecomm-prod-net._domainkey"
DMARC = "v=DMARC1; p=none;"
K = VerificationKind


def api_records(domain: str, *, dkim_suffix: str = "", dmarc: bool = False) -> list[VerificationRecord]:
    """What the ACS API gives: Domain/SPF names in full, DKIM names relative to the email domain."""
    records = [
        VerificationRecord(K.DOMAIN, "TXT", domain, TOKEN, 3600),
        VerificationRecord(K.SPF, "TXT", domain, SPF, 3600),
        VerificationRecord(K.DKIM, "CNAME", DKIM1 + dkim_suffix, f"{DKIM1}.azurecomm.net", 3600),
        VerificationRecord(K.DKIM2, "CNAME", DKIM2 + dkim_suffix, f"{DKIM2}.azurecomm.net", 3600),
    ]
    if dmarc:
        records.append(VerificationRecord(K.DMARC, "TXT", f"_dmarc.{domain}", DMARC, 3600))
    return records


def test_apex_domain() -> None:
    assert desired_records("contoso.com", "contoso.com", api_records("contoso.com")) == [
        DesiredRecord(K.DOMAIN, "@", RecordType.TXT, TOKEN, 3600),
        DesiredRecord(K.SPF, "@", RecordType.TXT, SPF, 3600),
        DesiredRecord(K.DKIM, DKIM1, RecordType.CNAME, f"{DKIM1}.azurecomm.net", 3600),
        DesiredRecord(K.DKIM2, DKIM2, RecordType.CNAME, f"{DKIM2}.azurecomm.net", 3600),
    ]


def test_subdomain_in_parent_zone() -> None:
    result = desired_records("mail.example.com", "example.com", api_records("mail.example.com", dmarc=True))
    assert [(r.kind, r.name, r.type) for r in result] == [
        (K.DOMAIN, "mail", RecordType.TXT),
        (K.SPF, "mail", RecordType.TXT),
        (K.DKIM, f"{DKIM1}.mail", RecordType.CNAME),
        (K.DKIM2, f"{DKIM2}.mail", RecordType.CNAME),
        (K.DMARC, "_dmarc.mail", RecordType.TXT),
    ]


def test_subdomain_with_its_own_zone() -> None:
    result = desired_records("mail.example.com", "mail.example.com", api_records("mail.example.com"))
    assert [r.name for r in result] == ["@", "@", DKIM1, DKIM2]


@pytest.mark.parametrize(
    ("domain_name", "dkim_suffix"),
    [
        ("MAIL.EXAMPLE.COM", ""),
        ("mail.example.com.", "."),
        ("Mail.Example.Com.", ".mail.example.com"),
        ("mail.example.com", ".mail.example.com."),
        ("@", ".MAIL.EXAMPLE.COM"),
    ],
)
def test_every_api_name_form_lands_on_the_same_names(domain_name: str, dkim_suffix: str) -> None:
    records = api_records("mail.example.com", dkim_suffix=dkim_suffix)
    records[0] = VerificationRecord(K.DOMAIN, "TXT", domain_name, TOKEN, 3600)
    records[1] = VerificationRecord(K.SPF, "txt", domain_name, SPF, 3600)
    result = desired_records("Mail.Example.com.", "EXAMPLE.com", records)
    assert [r.name for r in result] == ["mail", "mail", f"{DKIM1}.mail", f"{DKIM2}.mail"]


def test_sorted_in_verification_order_whatever_the_input_order() -> None:
    records = list(reversed(api_records("contoso.com", dmarc=True)))
    result = desired_records("contoso.com", "contoso.com", records)
    assert [r.kind for r in result] == [K.DOMAIN, K.SPF, K.DKIM, K.DKIM2, K.DMARC]


def test_cname_target_loses_its_trailing_dot_but_keeps_its_case() -> None:
    records = [
        VerificationRecord(
            K.DKIM, "CNAME", DKIM1, "Selector1-AzureComm-Prod-Net._domainkey.AzureComm.net.", 0
        )
    ]
    (result,) = desired_records("contoso.com", "contoso.com", records)
    assert result.value == "Selector1-AzureComm-Prod-Net._domainkey.AzureComm.net"
    assert result.ttl == 3600  # a missing TTL falls back to the API's documented default


def test_txt_values_are_kept_exactly() -> None:
    records = [VerificationRecord(K.SPF, "TXT", "contoso.com", SPF, 300)]
    (result,) = desired_records("contoso.com", "contoso.com", records)
    assert (result.value, result.ttl) == (SPF, 300)


def test_records_with_an_empty_value_are_skipped() -> None:
    records = [
        *api_records("contoso.com"),
        VerificationRecord(K.DMARC, "TXT", "_dmarc.contoso.com", "", 3600),
    ]
    assert K.DMARC not in {r.kind for r in desired_records("contoso.com", "contoso.com", records)}


def test_domain_outside_the_zone_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="not in the DNS zone"):
        desired_records("mail.example.org", "example.com", api_records("mail.example.org"))


def test_invalid_domain_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="not a valid domain name"):
        desired_records("bad..example.com", "example.com", [])


def test_unexpected_type_for_a_kind_is_refused_as_an_api_inconsistency() -> None:
    records = [VerificationRecord(K.DKIM, "TXT", DKIM1, "v=DKIM1; p=abc", 3600)]
    with pytest.raises(AcsDnsError, match="expects CNAME"):
        desired_records("contoso.com", "contoso.com", records)


def test_a_kind_given_twice_is_an_error() -> None:
    records = [*api_records("contoso.com"), VerificationRecord(K.DOMAIN, "TXT", "contoso.com", TOKEN, 3600)]
    with pytest.raises(AcsDnsError, match="two Domain records"):
        desired_records("contoso.com", "contoso.com", records)


def test_cname_at_the_zone_apex_is_a_usage_error() -> None:
    records = [VerificationRecord(K.DKIM, "CNAME", "contoso.com", f"{DKIM1}.azurecomm.net", 3600)]
    with pytest.raises(UsageError, match="apex"):
        desired_records("contoso.com", "contoso.com", records)


def test_cname_sharing_a_name_with_another_record_is_an_error() -> None:
    records = [
        VerificationRecord(K.DKIM, "CNAME", "mail.contoso.com", f"{DKIM1}.azurecomm.net", 3600),
        VerificationRecord(K.DOMAIN, "TXT", "mail.contoso.com", TOKEN, 3600),
    ]
    with pytest.raises(AcsDnsError, match="cannot share its name"):
        desired_records("mail.contoso.com", "contoso.com", records)


def test_an_empty_record_anywhere_is_skipped_and_the_rest_still_placed() -> None:
    empty_first = [
        VerificationRecord(K.DMARC, "TXT", "_dmarc.contoso.com", "  ", 3600),
        *api_records("contoso.com"),
    ]
    assert [r.kind for r in desired_records("contoso.com", "contoso.com", empty_first)] == [
        K.DOMAIN,
        K.SPF,
        K.DKIM,
        K.DKIM2,
    ]


@pytest.mark.parametrize(("ttl", "expected"), [(1, 1), (0, 3600), (-5, 3600), (300, 300)])
def test_ttl_from_the_api_unless_it_is_not_positive(ttl: int, expected: int) -> None:
    records = [VerificationRecord(K.DOMAIN, "TXT", "contoso.com", TOKEN, ttl)]
    assert desired_records("contoso.com", "contoso.com", records)[0].ttl == expected


def test_only_the_trailing_dot_of_a_cname_target_is_dropped() -> None:
    records = [VerificationRecord(K.DKIM, "CNAME", DKIM1, "dkim.contoso.BOX.", 3600)]
    assert desired_records("contoso.com", "contoso.com", records)[0].value == "dkim.contoso.BOX"


def test_api_inconsistency_message_says_it_looks_like_an_api_change() -> None:
    records = [VerificationRecord(K.DKIM, "TXT", DKIM1, "v=DKIM1; p=abc", 3600)]
    with pytest.raises(AcsDnsError) as caught:
        desired_records("contoso.com", "contoso.com", records)
    assert caught.value.message == (
        "the ACS API gave the DKIM record of 'contoso.com' type 'TXT'; acs-dns expects CNAME"
    )
    assert (
        caught.value.hint == "this looks like an API change: report it with the domain's verificationRecords"
    )


def test_cname_at_the_apex_message_names_the_dns_rule() -> None:
    records = [VerificationRecord(K.DKIM, "CNAME", "contoso.com", f"{DKIM1}.azurecomm.net", 3600)]
    with pytest.raises(UsageError) as caught:
        desired_records("contoso.com", "contoso.com", records)
    assert caught.value.message == (
        "the DKIM CNAME of 'contoso.com' would sit at the apex of zone 'contoso.com', where DNS allows no CNAME"
    )
