"""The DNS behaviours a diagnosis needs: external zones edited at run time, name servers on their own
addresses that can disagree, a resolver cache with decreasing TTLs, endpoints that never answer, and data
that people get wrong served exactly as written."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import dns.exception
import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import dns.resolver
import pytest
import requests

from acs_sandbox import Sandbox, SandboxOptions
from tests.conftest import dns_client

REGISTRAR = ["ns1.example-registrar.test", "ns2.example-registrar.test"]
QUICK = 0.3  # seconds to wait for an answer that must not come


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    with Sandbox(SandboxOptions()) as sandbox:
        yield sandbox


@pytest.fixture
def zone(sb: Sandbox) -> str:
    name = f"z{uuid.uuid4().hex[:8]}.test"
    sb.add_external_zone(name, REGISTRAR, records=[("@", "TXT", ["v=spf1 -all"])])
    return name


def admin(sb: Sandbox, method: str, path: str, body: object = None) -> requests.Response:
    return requests.request(
        method, f"{sb.arm_endpoint}/_sandbox/{path}", json=body, verify=sb.ca_bundle, timeout=10
    )


def ask(
    sb: Sandbox,
    name: str,
    rtype: str = "TXT",
    *,
    at: str = "127.0.0.1",
    rd: bool = True,
    tcp: bool = False,
    port: int | None = None,
    timeout: float = 5,
) -> dns.message.Message:
    query = dns.message.make_query(name, rtype)
    if not rd:
        query.flags &= ~dns.flags.RD
    send = dns.query.tcp if tcp else dns.query.udp
    return send(query, at, port=port or sb.dns_port, timeout=timeout)


def txt_of(reply: dns.message.Message) -> list[bytes]:
    return sorted(
        b"".join(rd.strings) for rrset in reply.answer if rrset.rdtype == dns.rdatatype.TXT for rd in rrset
    )


def ttl_of(reply: dns.message.Message) -> int:
    return reply.answer[0].ttl


# ---- external zones at run time ----------------------------------------------------------------------
def test_external_zone_edited_at_run_time_over_http(sb: Sandbox) -> None:
    name = f"h{uuid.uuid4().hex[:8]}.test"
    created = admin(sb, "PUT", f"dns/zones/{name}", {"name_servers": REGISTRAR})
    assert created.status_code == 200 and created.json()["name_servers"] == [h + "." for h in REGISTRAR]
    assert (
        admin(sb, "PUT", f"dns/zones/{name}/records/TXT/@", {"values": ["one"], "ttl": 60}).status_code == 204
    )
    assert txt_of(ask(sb, name)) == [b"one"]
    admin(sb, "PUT", f"dns/zones/{name}/records/TXT/{name}.", {"values": ["two", "three"]})  # FQDN form
    assert txt_of(ask(sb, name)) == [b"three", b"two"]
    assert admin(sb, "DELETE", f"dns/zones/{name}/records/TXT/@").status_code == 204
    assert ask(sb, name).answer == [] and ask(sb, name).rcode() == dns.rcode.NOERROR  # NODATA
    assert admin(sb, "GET", f"dns/zones/{name}").json()["records"][0]["type"] in ("NS", "SOA")
    assert admin(sb, "DELETE", f"dns/zones/{name}").status_code == 204
    assert ask(sb, name).rcode() == dns.rcode.NXDOMAIN
    bad = admin(sb, "PUT", f"dns/zones/{name}", {"name_servers": []})
    assert (bad.status_code, bad.json()["error"]["code"]) == (400, "BadRequest")


def test_undelegated_external_zone_exists_only_for_its_own_name_servers(sb: Sandbox) -> None:
    name = f"u{uuid.uuid4().hex[:8]}.test"
    sb.add_external_zone(name, REGISTRAR, delegated=False, records=[("@", "TXT", ["hidden"])])
    assert ask(sb, name).rcode() == dns.rcode.NXDOMAIN
    direct = ask(sb, name, at=sb.name_server_address(REGISTRAR[0]))
    assert txt_of(direct) == [b"hidden"] and direct.flags & dns.flags.AA


# ---- name servers that disagree ----------------------------------------------------------------------
def test_each_name_server_has_its_own_address_and_answers_only_for_its_zones(sb: Sandbox, zone: str) -> None:
    hosts = sorted(rd.target.to_text() for rd in ask(sb, zone, "NS").answer[0])
    assert hosts == [h + "." for h in REGISTRAR]
    addresses = [ask(sb, h, "A").answer[0][0].address for h in hosts]
    assert len(set(addresses)) == 2 and all(a.startswith("127.") and a != "127.0.0.1" for a in addresses)
    for address in addresses:
        for tcp in (False, True):
            reply = ask(sb, zone, at=address, tcp=tcp)  # RD set or not, an authoritative server answers
            assert txt_of(reply) == [b"v=spf1 -all"] and reply.flags & dns.flags.AA
            assert not reply.flags & dns.flags.RA
    client = dns_client(sb)
    azure_zone = f"a{uuid.uuid4().hex[:8]}.example"
    servers = client.zones.create_or_update("rg", azure_zone, {"location": "global"}).name_servers
    azure_address = ask(sb, servers[0], "A").answer[0][0].address
    assert ask(sb, azure_zone, "SOA", at=azure_address, rd=False).flags & dns.flags.AA
    assert ask(sb, zone, at=azure_address).rcode() == dns.rcode.REFUSED  # not one of its zones


def test_a_stale_name_server_keeps_serving_the_old_answer(sb: Sandbox, zone: str) -> None:
    one, two = (sb.name_server_address(h) for h in REGISTRAR)
    settings = admin(sb, "PUT", f"dns/name-servers/{REGISTRAR[1]}", {"stale": True}).json()
    assert settings["stale"] is True and settings["address"] == two
    sb.set_external_record(zone, "@", "TXT", ["v=spf1 include:spf.protection.outlook.com -all"])
    new, old = [b"v=spf1 include:spf.protection.outlook.com -all"], [b"v=spf1 -all"]
    assert txt_of(ask(sb, zone, at=one)) == new
    assert txt_of(ask(sb, zone, at=two)) == old  # propagation-partial
    assert txt_of(ask(sb, zone)) == new  # the resolver reads an up-to-date server
    sb.configure_name_server(REGISTRAR[1], stale=False)
    assert txt_of(ask(sb, zone, at=two)) == new


def test_each_asker_gets_its_own_id_and_question_and_a_change_is_answered_at_once(
    sb: Sandbox, zone: str
) -> None:
    """A zone's name servers (and the resolver, its cache off) render a reply once per view and hand it to
    every asker of the same question: each reply still carries the asker's ID and its question as written,
    the zone's other name server answers the same, a server of other zones still refuses, and a change is
    served by the next query."""
    one, two = (sb.name_server_address(h) for h in REGISTRAR)
    replies = []
    for address, qid, name in ((one, 101, zone), (two, 202, zone), (one, 303, zone.upper())):
        query = dns.message.make_query(name, "TXT")
        query.id = qid
        replies.append(dns.query.udp(query, address, port=sb.dns_port, timeout=5))
    assert [r.id for r in replies] == [101, 202, 303]
    assert [r.question[0].name.to_text() for r in replies] == [zone + ".", zone + ".", zone.upper() + "."]
    assert all(txt_of(r) == [b"v=spf1 -all"] and r.flags & dns.flags.AA for r in replies)
    for qid in (404, 505):
        query = dns.message.make_query(zone, "TXT")
        query.id = qid
        reply = dns.query.udp(query, "127.0.0.1", port=sb.dns_port, timeout=5)
        assert reply.id == qid and txt_of(reply) == [b"v=spf1 -all"] and reply.flags & dns.flags.RA
    other = f"o{uuid.uuid4().hex[:8]}.test"
    sb.add_external_zone(other, ["ns1.other-registrar.test"], records=[("@", "TXT", ["other"])])
    elsewhere = sb.name_server_address("ns1.other-registrar.test")
    assert ask(sb, zone, at=elsewhere).rcode() == dns.rcode.REFUSED
    assert txt_of(ask(sb, other, at=elsewhere)) == [b"other"]
    sb.set_external_record(zone, "@", "TXT", ["changed"])
    assert (
        txt_of(ask(sb, zone, at=one))
        == txt_of(ask(sb, zone, at=two))
        == txt_of(ask(sb, zone))
        == [b"changed"]
    )


def test_a_lagging_name_server_serves_what_was_there_lag_seconds_ago(sb: Sandbox, zone: str) -> None:
    two = sb.name_server_address(REGISTRAR[1])
    sb.configure_name_server(REGISTRAR[1], lag=3600)
    assert ask(sb, zone, at=two).rcode() == dns.rcode.REFUSED  # an hour ago it did not serve the zone yet
    sb.configure_name_server(REGISTRAR[1], lag=0)
    assert txt_of(ask(sb, zone, at=two)) == [b"v=spf1 -all"]


def test_a_name_server_that_does_not_answer(sb: Sandbox, zone: str) -> None:
    two = sb.name_server_address(REGISTRAR[1])
    admin(sb, "PUT", f"dns/name-servers/{REGISTRAR[1]}", {"answering": False})
    for tcp in (False, True):
        with pytest.raises(dns.exception.Timeout):
            ask(sb, zone, at=two, tcp=tcp, timeout=QUICK)
    assert txt_of(ask(sb, zone, at=sb.name_server_address(REGISTRAR[0]))) == [b"v=spf1 -all"]
    info = admin(sb, "GET", "dns").json()
    assert info["name_servers"][REGISTRAR[1]]["answering"] is False


# ---- the resolver: cache and silence -------------------------------------------------------------------
def test_resolver_cache_counts_the_ttl_down_and_serves_the_old_answer_until_it_expires(
    sb: Sandbox, zone: str
) -> None:
    now = [1000.0]
    sb.dns.cache.clock = lambda: now[0]
    assert admin(sb, "PUT", "dns/resolver", {"cache": True}).json()["cache"]["enabled"] is True
    sb.set_external_record(zone, "mail", "TXT", ["old"], ttl=300)
    assert (txt_of(first := ask(sb, f"mail.{zone}")), ttl_of(first)) == ([b"old"], 300)
    sb.set_external_record(zone, "mail", "TXT", ["new"], ttl=300)
    now[0] += 120.4
    cached = ask(sb, f"mail.{zone}")
    assert (txt_of(cached), ttl_of(cached)) == ([b"old"], 180)  # "cached for 180 more seconds"
    assert txt_of(ask(sb, f"mail.{zone}", at=sb.name_server_address(REGISTRAR[0]))) == [b"new"]
    now[0] += 180
    assert txt_of(ask(sb, f"mail.{zone}")) == [b"new"]


def test_resolver_caches_negative_answers_for_the_soa_minimum_and_can_be_flushed(
    sb: Sandbox, zone: str
) -> None:
    now = [0.0]
    sb.dns.cache.clock = lambda: now[0]
    sb.configure_resolver(cache=True)
    missing = ask(sb, f"_dmarc.{zone}")
    assert missing.rcode() == dns.rcode.NXDOMAIN and missing.authority[0].ttl == 300
    sb.set_external_record(zone, "_dmarc", "TXT", ["v=DMARC1; p=none"])
    now[0] += 100
    again = ask(sb, f"_dmarc.{zone}")
    assert again.rcode() == dns.rcode.NXDOMAIN and again.authority[0].ttl == 200
    assert admin(sb, "DELETE", "dns/resolver/cache").json()["flushed"] >= 1
    assert txt_of(ask(sb, f"_dmarc.{zone}")) == [b"v=DMARC1; p=none"]


def test_without_the_cache_the_resolver_sees_every_change(sb: Sandbox, zone: str) -> None:
    assert ttl_of(ask(sb, zone)) == 3600
    sb.set_external_record(zone, "@", "TXT", ["changed"])
    assert txt_of(ask(sb, zone)) == [b"changed"] and ttl_of(ask(sb, zone)) == 3600


def test_a_resolver_that_does_not_answer(sb: Sandbox, zone: str) -> None:
    host, port = sb.blackhole_dns_server.split(":")
    assert admin(sb, "GET", "dns-blackhole").json()["dns_server"] == sb.blackhole_dns_server
    for tcp in (False, True):
        with pytest.raises(dns.exception.Timeout):
            ask(sb, zone, at=host, port=int(port), tcp=tcp, timeout=QUICK)
    sb.configure_resolver(answering=False)
    with pytest.raises(dns.exception.Timeout):
        ask(sb, zone, timeout=QUICK)
    admin(sb, "PUT", "dns/resolver", {"answering": True})
    assert txt_of(ask(sb, zone)) == [b"v=spf1 -all"]


# ---- data served faithfully ---------------------------------------------------------------------------
def test_records_people_get_wrong_are_served_as_written(sb: Sandbox) -> None:
    domain = f"d{uuid.uuid4().hex[:8]}.test"
    key = "v=DKIM1; k=rsa; p=" + "A" * 380  # a DKIM key pasted as TXT: over 255 bytes
    sb.add_external_zone(
        domain,
        REGISTRAR,
        records=[
            ("mail", "CNAME", ["mail.elsewhere.test"]),  # a CNAME at the email domain: no TXT can live there
            (f"mail.{domain}", "TXT", [f"ms-domain-verification={uuid.uuid4()}"]),  # doubled name
            ("selector1-azurecomm-prod-net._domainkey.mail", "TXT", [key]),
            ("_dmarc.mail", "TXT", ['"v=DMARC1; p=reject"']),  # literal quotes
            ("two", "TXT", [["v=spf1 include:a.test", " include:b.test -all"]]),  # one record, two strings
        ],
    )
    cname = ask(sb, f"mail.{domain}", "TXT")
    assert cname.answer[0].rdtype == dns.rdatatype.CNAME and txt_of(cname) == []
    assert txt_of(ask(sb, f"mail.{domain}.{domain}"))[0].startswith(b"ms-domain-verification=")
    dkim = ask(sb, f"selector1-azurecomm-prod-net._domainkey.mail.{domain}", tcp=True)
    (record,) = dkim.answer[0]
    assert [len(s) for s in record.strings] == [255, len(key) - 255] and b"".join(
        record.strings
    ) == key.encode()
    assert txt_of(ask(sb, f"_dmarc.mail.{domain}")) == [b'"v=DMARC1; p=reject"']
    (split,) = ask(sb, f"two.{domain}").answer[0]
    assert split.strings == (b"v=spf1 include:a.test", b" include:b.test -all")


def test_azure_name_servers_can_disagree_too(sb: Sandbox) -> None:
    """A record set written through ARM while one of the zone's Azure name servers is stale."""
    client = dns_client(sb)
    name = f"p{uuid.uuid4().hex[:8]}.example"
    servers = [
        s.rstrip(".") for s in client.zones.create_or_update("rg", name, {"location": "global"}).name_servers
    ]
    sb.configure_name_server(servers[3], stale=True)
    client.record_sets.create_or_update(
        "rg", name, "mail", "TXT", {"ttl": 60, "txt_records": [{"value": ["x"]}]}
    )
    served = [txt_of(ask(sb, f"mail.{name}", at=sb.name_server_address(s), rd=False)) for s in servers]
    assert served == [[b"x"], [b"x"], [b"x"], []]
    assert (
        ask(sb, f"mail.{name}", at=sb.name_server_address(servers[3]), rd=False).rcode() == dns.rcode.NXDOMAIN
    )


def test_name_server_knobs_refuse_bad_values(sb: Sandbox, zone: str) -> None:
    for body in ({"lag": -1}, {"lag": "soon"}, {"stale": "yes"}, {"answering": 0}):
        response = admin(sb, "PUT", f"dns/name-servers/{REGISTRAR[0]}", body)
        assert (response.status_code, response.json()["error"]["code"]) == (400, "BadRequest"), body
    assert txt_of(ask(sb, zone, at=sb.name_server_address(REGISTRAR[0]))) == [b"v=spf1 -all"]


def test_the_resolver_fails_a_zone_whose_name_servers_all_stopped_answering(sb: Sandbox, zone: str) -> None:
    sb.configure_name_server(REGISTRAR[0], answering=False)
    assert txt_of(ask(sb, zone)) == [b"v=spf1 -all"]  # one server left is enough
    sb.configure_name_server(REGISTRAR[1], answering=False)
    assert ask(sb, zone).rcode() == dns.rcode.SERVFAIL  # delegated to servers that do not answer
    sb.configure_name_server(REGISTRAR[0], answering=True)
    assert txt_of(ask(sb, zone)) == [b"v=spf1 -all"]


def test_a_zone_file_is_served_as_written(sb: Sandbox, zone: str) -> None:
    """What `records --format bind` prints, pasted at a DNS host: every line served."""
    key = "v=DKIM1; p=" + "B" * 300
    text = f"""
$TTL 600
mail                                             IN TXT   "v=spf1 include:spf.protection.outlook.com -all"
mail                                             IN TXT   "ms-domain-verification=abc"
selector1-azurecomm-prod-net._domainkey.mail     IN CNAME selector1-azurecomm-prod-net._domainkey.azurecomm.net.
long.{zone}.                                      3600 IN TXT "{key[:255]}" "{key[255:]}"
@                                                IN MX    10 mx.{zone}.
"""
    response = requests.put(
        f"{sb.arm_endpoint}/_sandbox/dns/zones/{zone}/zonefile",
        data=text.encode(),
        verify=sb.ca_bundle,
        timeout=10,
    )
    assert response.json() == {"record_sets": 4}
    reply = ask(sb, f"mail.{zone}")
    assert txt_of(reply) == [b"ms-domain-verification=abc", b"v=spf1 include:spf.protection.outlook.com -all"]
    assert ttl_of(reply) == 600
    cname = ask(sb, f"selector1-azurecomm-prod-net._domainkey.mail.{zone}", "CNAME").answer[0][0]
    assert cname.target.to_text() == "selector1-azurecomm-prod-net._domainkey.azurecomm.net."
    assert txt_of(ask(sb, f"long.{zone}", tcp=True)) == [key.encode()]
    assert ask(sb, zone, "MX").answer[0][0].exchange.to_text() == f"mx.{zone}."
    assert txt_of(ask(sb, zone)) == [b"v=spf1 -all"]  # what the file did not name stays
    bad = requests.put(
        f"{sb.arm_endpoint}/_sandbox/dns/zones/{zone}/zonefile",
        data=b"mail IN TXT",
        verify=sb.ca_bundle,
        timeout=10,
    )
    assert bad.status_code == 400
