"""Seeding a sandbox from a TOML world: the real SDK clients see what the world describes, and the
sandbox's DNS serves its zones, including zones hosted outside Azure DNS."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.resolver
import pytest
import requests
from azure.mgmt.communication import CommunicationServiceManagementClient
from azure.mgmt.dns import DnsManagementClient

import acs_sandbox
from acs_sandbox import Sandbox, SandboxOptions
from acs_sandbox.seed import WorldError, apply_world, load_world
from acs_sandbox.serve import serve
from acs_sandbox.state import SandboxState
from provisioner.azure.credentials import SandboxCredential

EXAMPLE = Path(acs_sandbox.__file__).parent / "examples" / "world.toml"
SUB = "00000000-0000-0000-0000-000000000001"  # the example's subscription


@pytest.fixture(scope="module")
def seeded() -> Iterator[Sandbox]:
    with Sandbox(SandboxOptions(seed_file=str(EXAMPLE), propagation_delay=30)) as sb:
        yield sb


def clients(sb: Sandbox) -> tuple[DnsManagementClient, CommunicationServiceManagementClient]:
    cred = SandboxCredential()
    return (
        DnsManagementClient(cred, SUB, base_url=sb.arm_endpoint, connection_verify=sb.ca_bundle),
        CommunicationServiceManagementClient(
            cred, SUB, base_url=sb.arm_endpoint, connection_verify=sb.ca_bundle
        ),
    )


def resolver(sb: Sandbox) -> dns.resolver.Resolver:
    res = dns.resolver.Resolver(configure=False)
    res.nameservers, res.port, res.lifetime = ["127.0.0.1"], sb.dns_port, 5
    return res


def texts(answer: dns.resolver.Answer) -> list[bytes]:
    return sorted(b"".join(rd.strings) for rd in answer)


# ---- what the SDKs read ------------------------------------------------------------------------------
def test_seeded_email_services_and_domains_read_through_the_sdk(seeded: Sandbox) -> None:
    _, comm = clients(seeded)
    (service,) = list(comm.email_services.list_by_subscription())
    assert (service.name, service.data_location) == ("contoso-email", "United States")
    domains = {d.name: d for d in comm.domains.list_by_email_service_resource("rg-email", "contoso-email")}
    assert set(domains) == {"mail.contoso.com", "fabrikam.test", "AzureManagedDomain"}
    assert {k: s.status for k, s in _states(domains["fabrikam.test"]).items()} == dict.fromkeys(
        ["Domain", "SPF", "DKIM", "DKIM2"], "Verified"
    )
    assert _states(domains["mail.contoso.com"])["Domain"].status == "NotStarted"
    token = domains["mail.contoso.com"].verification_records.domain.value
    assert token == "ms-domain-verification=11111111-2222-3333-4444-555555555555"
    assert domains["AzureManagedDomain"].domain_management == "AzureManaged"


def _states(domain: object) -> dict[str, object]:
    states = domain.verification_states  # type: ignore[attr-defined]
    return {"Domain": states.domain, "SPF": states.spf, "DKIM": states.dkim, "DKIM2": states.dkim2}


def test_seeded_communication_service_links_the_domain(seeded: Sandbox) -> None:
    _, comm = clients(seeded)
    service = comm.communication_services.get("rg-email", "contoso-acs")
    assert [d.rsplit("/", 1)[-1] for d in service.linked_domains] == ["fabrikam.test"]
    assert service.linked_domains[0].lower().startswith(f"/subscriptions/{SUB}/resourcegroups/rg-email/")


def test_seeded_zones_hold_the_foreign_record_sets_byte_for_byte(seeded: Sandbox) -> None:
    dnsc, _ = clients(seeded)
    zones = {z.name: z for z in dnsc.zones.list()}
    assert {n: z.zone_type for n, z in zones.items()} == {
        "contoso.com": "Public",
        "internal.contoso.com": "Private",
    }
    txt = dnsc.record_sets.get("rg-dns", "contoso.com", "@", "TXT")
    assert [r.value for r in txt.txt_records] == [
        ["v=spf1 include:_spf.example.net ~all"],
        ["google-site-verification=abc123"],
    ]
    mx = dnsc.record_sets.get("rg-dns", "contoso.com", "@", "MX")
    assert (mx.mx_records[0].preference, mx.metadata) == (10, {"owner": "messaging-team"})
    www = dnsc.record_sets.get("rg-dns", "contoso.com", "www", "CNAME")
    assert (www.ttl, www.cname_record.cname) == (300, "contoso.azurewebsites.net")
    # the external zone is not in ARM
    assert "fabrikam.test" not in zones


# ---- what DNS serves ---------------------------------------------------------------------------------
def test_seeded_zones_are_served_at_once_despite_the_propagation_delay(seeded: Sandbox) -> None:
    answer = resolver(seeded).resolve("contoso.com", "TXT")
    assert texts(answer) == [b"google-site-verification=abc123", b"v=spf1 include:_spf.example.net ~all"]
    with pytest.raises(dns.resolver.NXDOMAIN):  # Private zones are never public
        resolver(seeded).resolve("internal.contoso.com", "SOA")


def test_external_zone_is_served_by_its_registrar_name_servers(seeded: Sandbox) -> None:
    res = resolver(seeded)
    ns = sorted(rd.target.to_text() for rd in res.resolve("fabrikam.test", "NS"))
    assert ns == ["ns1.example-registrar.test.", "ns2.example-registrar.test."]
    assert b"v=spf1 include:spf.protection.outlook.com -all" in texts(res.resolve("fabrikam.test", "TXT"))
    # data served as written: the doubled name, the quote characters
    doubled = res.resolve("selector2-azurecomm-prod-net._domainkey.fabrikam.test.fabrikam.test", "CNAME")
    assert doubled[0].target.to_text() == "selector2-azurecomm-prod-net._domainkey.azurecomm.net."
    with pytest.raises(dns.resolver.NXDOMAIN):
        res.resolve("selector2-azurecomm-prod-net._domainkey.fabrikam.test", "CNAME")
    assert texts(res.resolve("_dmarc.fabrikam.test", "TXT")) == [b'"v=DMARC1; p=none"']
    # each registrar name server answers authoritatively on its own address
    for host in ns:
        address = res.resolve(host, "A")[0].address
        assert address == seeded.name_server_address(host) and address.startswith("127.0.0.")
        reply = dns.query.udp(
            dns.message.make_query("fabrikam.test", "TXT"), address, port=seeded.dns_port, timeout=5
        )
        assert reply.flags & dns.flags.AA and reply.rcode() == dns.rcode.NOERROR


def test_a_verified_external_domain_stays_verified_from_served_dns(seeded: Sandbox) -> None:
    """The seeded verification state is what the service reports; nothing re-decides it on read."""
    _, comm = clients(seeded)
    domain = comm.domains.get("rg-email", "contoso-email", "fabrikam.test")
    assert _states(domain)["DKIM2"].status == "Verified"


# ---- seeding at run time, errors -------------------------------------------------------------------
def test_seed_at_run_time_and_over_http(fresh_sandbox: Sandbox) -> None:
    fresh_sandbox.seed({"external_zone": [{"name": "late.test", "name_servers": ["ns.other.test"]}]})
    body = {
        "zone": [
            {
                "name": "http.test",
                "resource_group": "rg",
                "record": [{"type": "A", "name": "www", "values": ["192.0.2.7"]}],
            }
        ]
    }
    response = requests.put(
        f"{fresh_sandbox.arm_endpoint}/_sandbox/world", json=body, verify=fresh_sandbox.ca_bundle, timeout=10
    )
    assert response.status_code == 204
    res = resolver(fresh_sandbox)
    assert res.resolve("www.http.test", "A")[0].address == "192.0.2.7"
    assert [rd.target.to_text() for rd in res.resolve("late.test", "NS")] == ["ns.other.test."]


def test_a_bad_world_names_every_problem_and_changes_nothing() -> None:
    state = SandboxState()
    world = {
        "zone": [
            {"name": "ok.test", "resource_group": "rg"},
            {
                "name": "bad.test",
                "resource_group": "rg",
                "record": [
                    {"name": "long", "type": "TXT", "values": [["x" * 256]]},
                    {"name": "@", "type": "CNAME", "values": ["elsewhere.test"]},
                    {"name": "mx", "type": "MX", "values": ["mail.test"]},
                ],
            },
        ],
        "email_service": [
            {"name": "es", "resource_group": "rg", "domain": [{"name": "d.test", "management": "Nope"}]}
        ],
        "communication_service": [{"name": "cs", "resource_group": "rg", "linked_domains": ["missing.test"]}],
        "colour": "blue",
    }
    with pytest.raises(WorldError) as info:
        apply_world(state, world)
    problems = "\n".join(info.value.problems)
    for where in (
        "zone[1].record[0].values",
        "zone[1].record[1].values",
        "zone[1].record[2].values",
        "email_service[0].domain[0].management",
        "communication_service[0].linked_domains",
        "world.colour",
    ):
        assert where in problems
    assert "255" in problems
    assert not state.zones and not state.email_services and not state.external_zones


def test_serve_with_an_unreadable_or_invalid_seed_exits_2_before_listening(tmp_path: Path) -> None:
    bad = tmp_path / "world.toml"
    bad.write_text('[[zone]]\nname = "x.test"\n', encoding="utf-8")  # no resource_group
    errors = {}
    for path in (bad, tmp_path / "missing.toml"):
        out, err = io.StringIO(), io.StringIO()
        with pytest.raises(SystemExit) as info:
            serve(SandboxOptions(seed_file=str(path)), out=out, err=err)
        assert info.value.code == 2 and out.getvalue() == ""
        errors[path.name] = err.getvalue()
        assert str(path) in errors[path.name] and "Traceback" not in errors[path.name]
    assert "zone[0].resource_group" in errors["world.toml"]
    assert "cannot read" in errors["missing.toml"]


def test_the_example_world_loads_and_a_bom_is_accepted(tmp_path: Path) -> None:
    copy = tmp_path / "bom.toml"
    copy.write_bytes(b"\xef\xbb\xbf" + EXAMPLE.read_bytes())
    world = load_world(copy)
    assert [z["name"] for z in world["external_zone"]] == ["fabrikam.test"]
    state = SandboxState()
    apply_world(state, world)
    assert json.dumps(sorted(state.external_zones)) == '["fabrikam.test"]'


def test_a_domain_whose_dns_is_at_a_registrar_verifies_from_what_the_registrar_serves(
    fresh_sandbox: Sandbox,
) -> None:
    """Verification reads public DNS through the service's own resolver: a record at an external zone
    counts, a missing one fails, and the user's resolver being silent changes nothing."""
    token = "33333333-4444-5555-6666-777777777777"
    fresh_sandbox.seed(
        {
            "subscription": SUB,
            "email_service": [
                {
                    "name": "es",
                    "resource_group": "rg",
                    "domain": [{"name": "mail.northwind.test", "token": token}],
                }
            ],
            "external_zone": [
                {
                    "name": "northwind.test",
                    "name_servers": ["ns1.registrar.test", "ns2.registrar.test"],
                    "record": [
                        {"name": "mail", "type": "TXT", "values": [f"ms-domain-verification={token}"]},
                        {"name": "mail", "type": "MX", "values": ["10 mx.northwind.test"]},
                    ],
                }
            ],
        }
    )
    _, comm = clients(fresh_sandbox)
    comm.domains.begin_initiate_verification(
        "rg", "es", "mail.northwind.test", {"verificationType": "Domain"}
    ).result()
    comm.domains.begin_initiate_verification(
        "rg", "es", "mail.northwind.test", {"verificationType": "SPF"}
    ).result()
    states = _states(comm.domains.get("rg", "es", "mail.northwind.test"))
    assert (states["Domain"].status, states["SPF"].status) == ("Verified", "VerificationFailed")
