"""The DNS adapter against the sandbox's DNS server: zones and records written through the real azure-mgmt-dns
SDK, then `DnsLookup.lookup` + `diagnose` as `check` composes them."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from acs_sandbox import Sandbox, SandboxOptions
from provisioner.dnscheck import DnsServerAddress, parse_dns_server
from provisioner.dnsdata import Delegation, Status
from provisioner.dnslookup import DnsLookup
from provisioner.findings import diagnose, has_errors
from provisioner.model import VerificationKind, VerificationRecord
from provisioner.verification import KindState
from tests.e2e_helpers import DKIM1, DKIM1_TARGET, DKIM2, DKIM2_TARGET, World, unique_zone
from tests.test_dnscheck import silent_server  # noqa: F401  (a fixture)
from tests.verification_records import verification_records

K = VerificationKind
TOKEN = "ms-domain-verification=5b1e7c0d-9a"
SPF = "v=spf1 include:spf.protection.outlook.com -all"
VERIFIED = {k: KindState("Verified") for k in K}


def expected(domain: str) -> list[VerificationRecord]:
    return verification_records(domain, TOKEN)


def publish(world: World, zone: str, host: str = "@") -> None:
    """The records of the email domain `host` (relative to `zone`), right."""
    suffix = "" if host == "@" else f".{host}"
    world.txt(zone, host, [TOKEN, SPF, "google-site-verification=keep"])
    world.cname(zone, f"{DKIM1}{suffix}", DKIM1_TARGET)
    world.cname(zone, f"{DKIM2}{suffix}", DKIM2_TARGET)


@pytest.fixture
def world(sandbox: Sandbox) -> Iterator[World]:
    with World(sandbox) as w:
        yield w


@pytest.fixture
def dns_lookup(sandbox: Sandbox) -> DnsLookup:
    return DnsLookup([parse_dns_server(sandbox.dns_server)], timeout=2)


def codes(findings) -> list[str]:
    return [f.code for f in findings]


def test_delegated_apex_zone(world: World, dns_lookup: DnsLookup) -> None:
    zone = unique_zone("apex")
    world.zone(zone)
    publish(world, zone)
    answers = dns_lookup.lookup(zone, expected(zone))
    assert answers.zone == zone
    assert answers.delegation is Delegation.DELEGATED
    assert set(answers.name_servers) == {n.rstrip(".") for n in world.name_servers(zone)}
    assert [v.server for v in answers.authoritative] == list(answers.name_servers)
    assert all(v.reachable for v in answers.authoritative)
    assert answers.resolver.get(zone).ttl is not None
    assert TOKEN in answers.authoritative[0].get(zone).txt
    assert answers.authoritative[0].get(f"{DKIM1}.{zone}").cname == DKIM1_TARGET
    assert diagnose(expected(zone), answers.zone, answers, VERIFIED) == []


def test_subdomain_in_a_parent_zone_and_in_a_delegated_child_zone(
    world: World, dns_lookup: DnsLookup
) -> None:
    parent = unique_zone("parent")
    world.zone(parent)
    publish(world, parent, "mail")
    domain = f"mail.{parent}"
    answers = dns_lookup.lookup(domain, expected(domain))
    assert (answers.zone, answers.delegation) == (parent, Delegation.DELEGATED)
    assert diagnose(expected(domain), answers.zone, answers, VERIFIED) == []

    child = f"news.{parent}"
    world.zone(child)
    world.delegate(parent, child)
    publish(world, child)
    answers = dns_lookup.lookup(child, expected(child))
    assert (answers.zone, answers.delegation, answers.parent) == (child, Delegation.DELEGATED, parent)
    assert diagnose(expected(child), answers.zone, answers, VERIFIED) == []


def test_zone_not_delegated_at_the_registrar(world: World, dns_lookup: DnsLookup) -> None:
    zone = unique_zone("nodeleg")
    world.zone(zone)
    publish(world, zone)
    world.set_delegated(zone, False)
    name_servers = world.name_servers(zone)
    answers = dns_lookup.lookup(zone, expected(zone), zone=zone, expected_name_servers=name_servers)
    assert answers.delegation is Delegation.NOT_DELEGATED
    assert answers.resolver.get(zone).status is Status.NXDOMAIN
    assert TOKEN in answers.authoritative[0].get(zone).txt  # the name servers asked directly serve it
    findings = diagnose(expected(zone), zone, answers, VERIFIED)
    assert codes(findings) == ["zone-not-delegated"]
    assert "registrar" in findings[0].fix[0].text
    assert all(ns.rstrip(".") in findings[0].fix[0].text for ns in name_servers)


def parent_and_child(world: World, stem: str) -> tuple[str, str]:
    """A zone and a child zone `mail.<zone>` holding right records; the parent holds no NS set for it."""
    parent = unique_zone(stem)
    world.zone(parent)
    child = f"mail.{parent}"
    world.zone(child)
    publish(world, child)
    return parent, child


def test_child_zone_its_parent_does_not_delegate(world: World, dns_lookup: DnsLookup) -> None:
    parent, child = parent_and_child(world, "p")
    servers = world.name_servers(child)
    answers = dns_lookup.lookup(child, expected(child), zone=child, expected_name_servers=servers)
    assert (answers.delegation, answers.parent) == (Delegation.NOT_DELEGATED, parent)
    (finding,) = diagnose(expected(child), child, answers, VERIFIED)
    assert finding.code == "zone-not-delegated"
    step = finding.fix[0]
    assert (step.action, step.type, step.host) == ("create", "NS", "mail")


def test_lame_delegation(world: World, dns_lookup: DnsLookup) -> None:
    parent, child = parent_and_child(world, "lame")
    world.dns.record_sets.create_or_update(
        "rg-dns", parent, "mail", "NS", {"ttl": 60, "ns_records": [{"nsdname": "ns1.elsewhere.example."}]}
    )
    answers = dns_lookup.lookup(child, expected(child))
    assert (answers.zone, answers.delegation, answers.parent) == (child, Delegation.LAME, parent)
    assert "zone-not-delegated" in codes(diagnose(expected(child), answers.zone, answers, VERIFIED))


def test_record_at_a_doubled_name(world: World, dns_lookup: DnsLookup) -> None:
    zone = unique_zone("dbl")
    world.zone(zone)
    publish(world, zone, "mail")
    domain = f"mail.{zone}"
    world.delete(zone, f"{DKIM2}.mail", "CNAME")
    world.cname(zone, f"{DKIM2}.mail.{zone}", DKIM2_TARGET)  # the FQDN pasted into the host field
    answers = dns_lookup.lookup(domain, expected(domain))
    findings = diagnose(
        expected(domain), answers.zone, answers, {**VERIFIED, K.DKIM2: KindState("NotStarted")}
    )
    assert codes(findings) == ["record-at-doubled-name"]
    assert findings[0].kind is K.DKIM2
    assert [(s.action, s.host) for s in findings[0].fix] == [
        ("delete", f"{DKIM2}.mail.{zone}"),
        ("create", f"{DKIM2}.mail"),
    ]


def test_dkim_key_pasted_as_txt(world: World, dns_lookup: DnsLookup) -> None:
    zone = unique_zone("dkimtxt")
    world.zone(zone)
    publish(world, zone)
    world.delete(zone, DKIM1, "CNAME")
    world.txt(zone, DKIM1, ["v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"])
    answers = dns_lookup.lookup(zone, expected(zone))
    findings = diagnose(expected(zone), answers.zone, answers, {**VERIFIED, K.DKIM: KindState("NotStarted")})
    assert codes(findings) == ["dkim-not-cname"]
    assert [(s.action, s.type) for s in findings[0].fix] == [("delete", "TXT"), ("create", "CNAME")]


def test_spf_include_targets_are_followed_for_the_lookup_count(world: World, dns_lookup: DnsLookup) -> None:
    zone = unique_zone("spf")
    world.zone(zone)
    publish(world, zone)
    # _spf.<zone> includes nine more names: 1 + 9 + spf.protection.outlook.com = 11 lookups
    nested = "v=spf1 " + " ".join(f"include:n{i}.{zone}" for i in range(9)) + " -all"
    world.txt(zone, "_spf", [[nested[:200], nested[200:]]])
    world.txt(zone, "@", [TOKEN, f"v=spf1 include:_spf.{zone} include:spf.protection.outlook.com -all"])
    answers = dns_lookup.lookup(zone, expected(zone))
    assert f"_spf.{zone}" in answers.spf_targets
    findings = diagnose(expected(zone), answers.zone, answers, VERIFIED)
    assert codes(findings) == ["spf-changed-after-verification"]
    assert findings[0].cause == "spf-too-many-lookups"
    assert "11" in findings[0].message


def test_a_resolver_that_does_not_answer_is_data(silent_server: DnsServerAddress) -> None:  # noqa: F811
    lookup = DnsLookup([silent_server], timeout=0.3)
    start = time.monotonic()
    answers = lookup.lookup(
        "contoso.example",
        expected("contoso.example"),
        zone="contoso.example",
        expected_name_servers=["ns1-01.azure-dns.com"],
    )
    elapsed = time.monotonic() - start
    assert not answers.resolver.reachable
    assert answers.delegation is Delegation.UNKNOWN
    assert [v.reachable for v in answers.authoritative] == [False]
    assert elapsed < 5  # a handful of timeouts, not one per name and server
    findings = diagnose(expected("contoso.example"), "contoso.example", answers, {})
    assert sorted(codes(findings)) == ["nameserver-unreachable", "resolver-unreachable"]


def test_lookups_are_fresh_each_time_records_appear_after_propagation() -> None:
    """Nothing is cached between lookups: records that propagate later are seen by the next lookup."""
    with Sandbox(SandboxOptions(propagation_delay=2)) as sb, World(sb) as world:
        zone = unique_zone("prop")
        world.zone(zone)
        publish(world, zone)
        lookup = DnsLookup([parse_dns_server(sb.dns_server)], timeout=2)
        before = lookup.lookup(zone, expected(zone))
        assert has_errors(diagnose(expected(zone), zone, before, {}))
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            after = lookup.lookup(zone, expected(zone))
            if not diagnose(expected(zone), zone, after, VERIFIED):
                break
            time.sleep(0.2)
        assert diagnose(expected(zone), zone, after, VERIFIED) == []


def test_name_servers_are_resolved_through_the_override_and_asked_on_its_port(fresh_sandbox: Sandbox) -> None:
    """Each name server's host name resolves (through --dns-server) to its own address (the sandbox serves each
    on 127.0.0.N) and is asked there: one that does not answer, and only it, is reported unreachable, by name
    and address."""
    with World(fresh_sandbox) as world:
        zone = unique_zone("nsaddr")
        world.zone(zone)
        publish(world, zone)
        servers = [n.rstrip(".") for n in world.name_servers(zone)]
        addresses = [fresh_sandbox.name_server_address(s) for s in servers]
        assert len(set(addresses)) == len(servers) and "127.0.0.1" not in addresses
        lookup = DnsLookup([parse_dns_server(fresh_sandbox.dns_server)], timeout=0.5)
        assert [lookup.addresses_of(s) for s in servers] == [(a,) for a in addresses]
        fresh_sandbox.configure_name_server(servers[0], answering=False)
        answers = lookup.lookup(zone, expected(zone))
    by_name = {v.server: v for v in answers.authoritative}
    assert (by_name[servers[0]].reachable, by_name[servers[0]].address) == (False, addresses[0])
    assert all(by_name[s].reachable for s in servers[1:])
    findings = diagnose(expected(zone), zone, answers, VERIFIED)
    assert [(f.code, f.severity.value) for f in findings] == [("nameserver-unreachable", "warning")]
    assert findings[0].found == (f"{servers[0]} ({addresses[0]})",)
