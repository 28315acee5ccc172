"""`records`' core: the records a domain needs in each format; BIND output loads into dnspython's zone parser
and, served by the sandbox, passes the diagnosis; an existing SPF is merged, never doubled."""

from __future__ import annotations

import csv
import io
import json

import dns.rdatatype
import dns.zone
import pytest

from acs_sandbox import Sandbox
from provisioner.dnscheck import parse_dns_server
from provisioner.dnsdata import Delegation, DnsAnswers, Lookup, ServerView
from provisioner.dnslookup import DnsLookup
from provisioner.findings import diagnose
from provisioner.model import VerificationKind, VerificationRecord
from provisioner.records_out import FORMATS, public_spf, records_needed, render_records
from provisioner.spf import is_spf
from provisioner.verification import KindState
from tests.e2e_helpers import DKIM1, DKIM1_TARGET, DKIM2, DKIM2_TARGET, World, unique_zone
from tests.verification_records import verification_records

K = VerificationKind
TOKEN = "ms-domain-verification=" + "7" * 36
SPF = "v=spf1 include:spf.protection.outlook.com -all"
DMARC = 'v=DMARC1; p=none; rua=mailto:"d"@example.com'  # a quote, to exercise escaping


def expected(domain: str, dmarc: bool = True) -> list[VerificationRecord]:
    return verification_records(domain, TOKEN, dmarc=DMARC if dmarc else None)


@pytest.mark.parametrize(
    ("domain", "zone", "host"),
    [("contoso.com", "contoso.com", "@"), ("mail.contoso.com", "contoso.com", "mail")],
)
def test_hosts_are_relative_to_the_zone(domain: str, zone: str, host: str) -> None:
    lines = records_needed(expected(domain), domain, zone)
    assert [(ln.kind, ln.type, ln.host) for ln in lines] == [
        ("Domain", "TXT", host),
        ("SPF", "TXT", host),
        ("DKIM", "CNAME", f"{DKIM1}.{host}".removesuffix(".@")),
        ("DKIM2", "CNAME", f"{DKIM2}.{host}".removesuffix(".@")),
        ("DMARC", "TXT", f"_dmarc.{host}".removesuffix(".@")),
    ]
    assert [ln.fqdn for ln in lines][:3] == [domain, domain, f"{DKIM1}.{domain}"]


@pytest.mark.parametrize(
    ("domain", "zone"), [("contoso.com", "contoso.com"), ("mail.contoso.com", "contoso.com")]
)
def test_bind_output_loads_into_dnspythons_zone_parser(domain: str, zone: str) -> None:
    text = render_records(records_needed(expected(domain), domain, zone), "bind", domain=domain, zone=zone)
    parsed = dns.zone.from_text(text, origin=zone, check_origin=False)
    apex = "@" if domain == zone else domain.removesuffix("." + zone)
    txt = parsed.find_rdataset(apex, "TXT")
    assert sorted(b"".join(r.strings).decode() for r in txt) == sorted([TOKEN, SPF])
    cname = parsed.find_rdataset(f"{DKIM1}.{apex}".removesuffix(".@"), "CNAME")
    assert cname[0].target.to_text() == DKIM1_TARGET + "."
    dmarc = parsed.find_rdataset(f"_dmarc.{apex}".removesuffix(".@"), "TXT")
    assert b"".join(dmarc[0].strings).decode() == DMARC
    # pasted under a zone's SOA and NS, the whole file still loads with dnspython's default checks
    head = f"@ 3600 IN SOA ns1.{zone}. hostmaster.{zone}. 1 3600 300 2419200 300\n@ 3600 IN NS ns1.{zone}.\n"
    assert dns.zone.from_text(head + text, origin=zone).get_rdataset(apex, "TXT") is not None


def test_long_values_are_split_into_255_character_strings() -> None:
    long_spf = "v=spf1 " + " ".join(f"ip4:10.0.{i}.0/24" for i in range(30)) + " -all"
    lines = records_needed(expected("contoso.com", dmarc=False), "contoso.com", "contoso.com", [long_spf])
    parsed = dns.zone.from_text(render_records(lines, "bind"), origin="contoso.com", check_origin=False)
    spf = next(r for r in parsed.find_rdataset("@", "TXT") if b"".join(r.strings).startswith(b"v=spf1"))
    assert all(len(s) <= 255 for s in spf.strings)
    assert len(spf.strings) > 1
    assert b"".join(spf.strings).decode().endswith("include:spf.protection.outlook.com -all")


def test_an_existing_spf_is_merged_never_doubled() -> None:
    existing = ["v=spf1 mx include:_spf.google.com ~all"]
    lines = records_needed(expected("contoso.com"), "contoso.com", "contoso.com", existing)
    spf_lines = [ln for ln in lines if is_spf(ln.value)]
    assert len(spf_lines) == 1
    assert spf_lines[0].value == "v=spf1 mx include:_spf.google.com include:spf.protection.outlook.com -all"
    assert "replaces the existing SPF record" in spf_lines[0].note
    for fmt in FORMATS:
        text = render_records(lines, fmt, domain="contoso.com", zone="contoso.com")
        assert text.count(spf_lines[0].value) == 1, (
            fmt
        )  # one SPF to set (the old one is only named in a note)

    # two existing SPF records (a permerror) are folded into one
    lines = records_needed(
        expected("contoso.com"), "contoso.com", "contoso.com", [*existing, "v=spf1 a -all"]
    )
    assert [ln.value for ln in lines if ln.kind == "SPF"] == [
        "v=spf1 mx include:_spf.google.com a include:spf.protection.outlook.com -all"
    ]


def test_an_spf_already_right_is_said_so() -> None:
    lines = records_needed(expected("contoso.com"), "contoso.com", "contoso.com", [SPF])
    assert next(ln for ln in lines if ln.kind == "SPF").note == "already published"


def test_public_spf_reads_the_resolver_view() -> None:
    view = ServerView("r", {"contoso.com": Lookup(txt=(TOKEN, "v=spf1 mx -all"))})
    answers = DnsAnswers("contoso.com", "contoso.com", Delegation.DELEGATED, view)
    assert public_spf(answers) == ["v=spf1 mx -all"]
    dead = DnsAnswers(
        "contoso.com", "contoso.com", Delegation.UNKNOWN, ServerView("r", {}, reachable=False), (view,)
    )
    assert public_spf(dead) == ["v=spf1 mx -all"]


def test_json_and_csv_carry_every_field() -> None:
    lines = records_needed(expected("mail.contoso.com"), "mail.contoso.com", "contoso.com")
    rows = json.loads(render_records(lines, "json"))
    assert rows[2] == {
        "kind": "DKIM",
        "type": "CNAME",
        "host": f"{DKIM1}.mail",
        "fqdn": f"{DKIM1}.mail.contoso.com",
        "value": DKIM1_TARGET,
        "ttl": 3600,
        "note": "",
    }
    table = list(csv.DictReader(io.StringIO(render_records(lines, "csv"))))
    assert [r["value"] for r in table] == [r["value"] for r in rows]
    assert table[4]["value"] == DMARC


def test_text_table_lists_type_host_fqdn_value_ttl() -> None:
    lines = records_needed(expected("mail.contoso.com"), "mail.contoso.com", "contoso.com")
    text = render_records(lines, "text", domain="mail.contoso.com", zone="contoso.com")
    header = text.splitlines()[1].split()
    assert header == ["TYPE", "HOST", "FQDN", "VALUE", "TTL"]
    row = next(line for line in text.splitlines() if line.startswith("CNAME") and DKIM2 in line)
    assert row.split() == ["CNAME", f"{DKIM2}.mail", f"{DKIM2}.mail.contoso.com", DKIM2_TARGET, "3600"]
    with pytest.raises(ValueError):
        render_records(lines, "yaml")


def test_bind_output_served_passes_the_diagnosis(sandbox: Sandbox) -> None:
    """Load the BIND lines, write what they hold into a sandbox zone through the SDK, check it: all right."""
    zone = unique_zone("bind")
    domain = f"mail.{zone}"
    records = expected(domain)
    text = render_records(records_needed(records, domain, zone), "bind", domain=domain, zone=zone)
    parsed = dns.zone.from_text(text, origin=zone, check_origin=False, relativize=True)
    with World(sandbox) as world:
        world.zone(zone)
        for name, node in parsed.nodes.items():
            for rdataset in node.rdatasets:
                if rdataset.rdtype == dns.rdatatype.TXT:
                    world.txt(zone, name.to_text(), [[s.decode() for s in r.strings] for r in rdataset])
                else:
                    world.cname(zone, name.to_text(), rdataset[0].target.to_text())
        answers = DnsLookup([parse_dns_server(sandbox.dns_server)], timeout=2).lookup(domain, records)
    states = {k: KindState("Verified") for k in K}
    assert diagnose(records, answers.zone, answers, states) == []
