"""`acs-dns demo`: the whole job on the embedded sandbox, with a zone that already holds other teams' records."""

from __future__ import annotations

import sys
import time

from acs_sandbox import Sandbox, SandboxOptions
from provisioner import render
from provisioner.azure.clients import AzureSettings, Clients
from provisioner.config import DomainTarget
from provisioner.dnscheck import DnsServerAddress
from provisioner.errors import ExitCode
from provisioner.options import RunOptions
from provisioner.plan import record_values
from provisioner.progress import make_progress
from provisioner.runner import run

SUBSCRIPTION = "11111111-2222-3333-4444-555555555555"
EMAIL_RG, DNS_RG = "rg-email", "rg-dns"
EMAIL_SERVICE = "contoso-email"
ZONE, DOMAIN = "contoso.example", "mail.contoso.example"

# What other teams already published. acs-dns must leave every byte of it in place.
APEX_TXT = [
    "v=spf1 include:_spf.contoso-mail.example ~all",
    "google-site-verification=rXOxyZounnZasA8Z7oaD3c14JdjS9aKSWvsR1EbUSIQ",
]
MAIL_TXT = [
    "v=spf1 include:_spf.newsletter.example ~all",
    "atlassian-domain-verification=Bq6pdxnrJmcFBHmG3nxYaQ",
]


def _seed(clients: Clients) -> None:
    from azure.mgmt.dns import models as dns

    comm = clients.communication(SUBSCRIPTION)
    comm.email_services.begin_create_or_update(
        EMAIL_RG, EMAIL_SERVICE, {"location": "global", "properties": {"dataLocation": "United States"}}
    ).result()
    comm.domains.begin_create_or_update(
        EMAIL_RG,
        EMAIL_SERVICE,
        DOMAIN,
        {"location": "global", "properties": {"domainManagement": "CustomerManaged"}},
    ).result()
    d = clients.dns(SUBSCRIPTION)
    d.zones.create_or_update(DNS_RG, ZONE, dns.Zone(location="global"))
    rs = d.record_sets
    rs.create_or_update(
        DNS_RG,
        ZONE,
        "@",
        "TXT",
        dns.RecordSet(ttl=3600, txt_records=[dns.TxtRecord(value=[t]) for t in APEX_TXT]),
    )
    rs.create_or_update(
        DNS_RG,
        ZONE,
        "@",
        "MX",
        dns.RecordSet(ttl=3600, mx_records=[dns.MxRecord(preference=10, exchange="mx1.contoso.example")]),
    )
    rs.create_or_update(
        DNS_RG,
        ZONE,
        "mail",
        "TXT",
        dns.RecordSet(ttl=600, txt_records=[dns.TxtRecord(value=[t]) for t in MAIL_TXT]),
    )


def _zone_listing(clients: Clients) -> list[str]:
    from provisioner.azure.dns import to_record_set

    lines = []
    for sdk in clients.dns(SUBSCRIPTION).record_sets.list_all_by_dns_zone(DNS_RG, ZONE):
        if sdk.type.rsplit("/", 1)[-1].upper() in ("TXT", "CNAME"):
            rs = to_record_set(sdk)
            for value in record_values(rs):
                lines.append(f"  {rs.type:<5} {rs.name:<45} {value}")
        else:
            lines.append(f"  {sdk.type.rsplit('/', 1)[-1]:<5} {sdk.name}")
    return lines


def run_demo(json_output: bool = False) -> int:
    out = sys.stderr if json_output else sys.stdout
    options = SandboxOptions(verify_delay=1.0, propagation_delay=0.5)
    with Sandbox(options) as sandbox:
        settings = AzureSettings(
            arm_endpoint=sandbox.arm_endpoint,
            auth="sandbox",
            ca_bundle=sandbox.ca_bundle,
            polling_interval=0.1,
        )
        clients = Clients(settings)
        _seed(clients)
        print(f"sandbox: ARM {sandbox.arm_endpoint}, DNS {sandbox.dns_server}", file=out)
        print(f"zone {ZONE} before (other teams' records, including SPF records ending ~all):", file=out)
        print("\n".join(_zone_listing(clients)), file=out)
        print(
            f"\nacs-dns provision --domain {DOMAIN} --spf-hardfail  (the SPF policy change to -all is allowed "
            "for this demo: Azure Communication Services requires -all)\n",
            file=out,
        )
        target = DomainTarget(SUBSCRIPTION, EMAIL_RG, EMAIL_SERVICE, DOMAIN, spf_hardfail=True)
        started = time.monotonic()
        with make_progress(json_output, 1) as progress:
            reports, code = run(
                [target],
                settings,
                RunOptions(
                    timeout=120, propagation_timeout=30, poll_first=0.25, poll_max=1.0, dns_interval=0.2
                ),
                dns_servers=[DnsServerAddress("127.0.0.1", sandbox.dns_port)],
                progress=progress,
            )
        elapsed = time.monotonic() - started
        if json_output:
            print(render.document_json("provision", reports, code))
        else:
            print("\n" + "\n".join(render.report_text(r) for r in reports))
        print(f"\nzone {ZONE} after ({elapsed:.1f}s; every foreign record kept):", file=out)
        print("\n".join(_zone_listing(clients)), file=out)
        clients.close()
    return int(code) if code is not ExitCode.OK else 0
