"""The lifecycle end to end through the CLI against the sandbox (real SDK clients): provision on to
"sending" (link, senders, DMARC) and `deprovision` back, with other teams' records, another linked domain
and another sender around; and two processes linking two domains to one resource at the same moment."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from acs_sandbox import Sandbox
from tests.e2e_helpers import (
    EMAIL_RG,
    EMAIL_SERVICE,
    World,
    assert_clean_exit,
    document,
    only_domain,
    seed_standard,
)

CS = "contoso-acs"
DMARC = "v=DMARC1; p=none; rua=mailto:dmarc@contoso.example"
FOREIGN_SPF = "v=spf1 ip4:192.0.2.1 include:_spf.google.com -all"
FOREIGN_DMARC = "v=DMARC1; p=reject"
FAST_LINK = ["--link-settle", "0.2"]


@pytest.fixture
def w(sandbox: Sandbox) -> Iterator[World]:
    with World(sandbox) as world:
        yield world


def communication_service(w: World, name: str = CS, data_location: str = "United States") -> None:
    w.comm.communication_services.begin_create_or_update(
        EMAIL_RG, name, {"location": "global", "properties": {"dataLocation": data_location}}
    ).result()


def linked(w: World, name: str = CS) -> list[str]:
    return [d.lower() for d in w.comm.communication_services.get(EMAIL_RG, name).linked_domains or []]


def domain_id(w: World, domain: str) -> str:
    return w.comm.domains.get(EMAIL_RG, EMAIL_SERVICE, domain).id.lower()


def senders(w: World, domain: str) -> dict[str, str]:
    found = w.comm.sender_usernames.list_by_domains(EMAIL_RG, EMAIL_SERVICE, domain)
    return {s.username: s.display_name for s in found}


def zone_without_etags(w: World, zone: str) -> dict[tuple[str, str], dict[str, Any]]:
    return {k: {f: v for f, v in rs.items() if f != "etag"} for k, rs in w.records(zone).items()}


def test_provision_to_sending_then_deprovision_restores_the_zone(w: World) -> None:
    seeded = seed_standard(w)
    zone, domain = seeded.zone, seeded.domain
    # other teams: a foreign SPF in the domain's TXT set, a DMARC elsewhere (the zone's own)
    records = w.records(zone)[(seeded.relative, "TXT")]
    w.txt(
        zone,
        seeded.relative,
        [*records["values"], FOREIGN_SPF],
        ttl=records["ttl"],
        metadata=records["metadata"],
    )
    w.txt(zone, "_dmarc", [FOREIGN_DMARC], metadata={"owner": "security"})
    # another domain, provisioned and linked by acs-dns earlier, and a sender someone added by hand
    other = f"other.{zone}"
    w.email_domain(other)
    communication_service(w)
    result, doc = w.provision(other, "--communication-service", CS, *FAST_LINK)
    assert_clean_exit(result, 0)
    w.comm.sender_usernames.create_or_update(
        EMAIL_RG,
        EMAIL_SERVICE,
        domain,
        "sales",
        {"properties": {"username": "sales", "displayName": "Sales"}},
    )
    before = zone_without_etags(w, zone)
    senders_before = senders(w, domain)

    result, doc = w.provision(
        domain,
        "--communication-service",
        CS,
        "--sender",
        "billing=Billing",
        "--sender",
        "support",
        "--dmarc",
        DMARC,
        *FAST_LINK,
    )

    assert_clean_exit(result, 0)
    report = only_domain(doc)
    assert report["result"] == "verified", report
    assert "linked to contoso-acs" in report["message"]
    assert sorted(linked(w)) == sorted([domain_id(w, other), domain_id(w, domain)])
    assert senders(w, domain) == senders_before | {"billing": "Billing", "support": "support"}
    assert w.txt_values(zone, f"_dmarc.{seeded.relative}") == [[DMARC]]

    result = w.cli(w.args(domain, "--communication-service", CS, *FAST_LINK, command="deprovision"))
    doc = document(result)

    assert_clean_exit(result, 0)
    assert only_domain(doc)["result"] == "removed", doc
    assert zone_without_etags(w, zone) == before
    assert linked(w) == [domain_id(w, other)]
    assert senders(w, domain) == senders_before


def test_deprovision_dry_run_shows_the_plan_and_detailed_exitcode(w: World) -> None:
    seeded = seed_standard(w)
    result, _ = w.provision(seeded.domain)
    assert_clean_exit(result, 0)
    before = zone_without_etags(w, seeded.zone)

    result = w.cli(w.args(seeded.domain, "--dry-run", "--detailed-exitcode", command="deprovision"))
    doc = document(result)

    assert_clean_exit(result, 8)
    changes = {(c["action"], c["name"]) for c in only_domain(doc)["changes"]}
    assert ("update", seeded.relative) in changes  # the token and SPF come out, other values stay
    assert ("delete", f"selector1-azurecomm-prod-net._domainkey.{seeded.relative}") in changes
    assert zone_without_etags(w, seeded.zone) == before


def test_link_to_another_data_location_is_refused_with_exit_5(w: World) -> None:
    seeded = seed_standard(w)
    communication_service(w, "eu-acs", "Europe")

    result, doc = w.provision(seeded.domain, "--communication-service", "eu-acs", *FAST_LINK)

    assert_clean_exit(result, 5)
    assert "data location" in only_domain(doc)["message"]
    assert linked(w, "eu-acs") == []


@pytest.mark.usefixtures("unmeasured_children")
def test_two_processes_linking_two_domains_to_one_resource_both_end_linked(w: World) -> None:
    seeded = seed_standard(w)
    second = f"second.{seeded.zone}"
    w.email_domain(second)
    for domain in (seeded.domain, second):
        result, _ = w.provision(domain)
        assert_clean_exit(result, 0)
    communication_service(w)
    env = os.environ | {"ACS_DNS_ARM_ENDPOINT": w.sb.arm_endpoint, "REQUESTS_CA_BUNDLE": w.sb.ca_bundle}

    def link(domain: str) -> subprocess.CompletedProcess[str]:
        args = [
            sys.executable,
            "-m",
            "provisioner",
            *w.args(domain, "--communication-service", CS, *FAST_LINK),
        ]
        return subprocess.run(args, env=env, capture_output=True, text=True, timeout=120)

    with ThreadPoolExecutor(2) as pool:
        done = list(pool.map(link, [seeded.domain, second]))

    assert [d.returncode for d in done] == [0, 0], [d.stderr for d in done]
    assert sorted(linked(w)) == sorted([domain_id(w, seeded.domain), domain_id(w, second)])
