"""The sandbox DNS server, queried only with dnspython over real UDP/TCP sockets on loopback.

Most zones are put into the store through its public API (`SandboxState.put_zone` / `put_record_set`),
with record-set properties in Azure wire format as the ARM routes store them; the last test writes them
through ARM with the real `DnsManagementClient` instead.
"""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Iterator
from typing import Any

import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype
import dns.resolver
import pytest

from acs_sandbox import Sandbox
from acs_sandbox.dns_server import DnsServer
from acs_sandbox.dns_view import DnsView
from acs_sandbox.state import RecordSetState, SandboxState, ZoneState, new_etag
from tests.conftest import dns_client

AZURE_NS = [
    "ns1-01.azure-dns.com.",
    "ns2-01.azure-dns.net.",
    "ns3-01.azure-dns.org.",
    "ns4-01.azure-dns.info.",
]
CHILD_NS = ["ns1-05.azure-dns.com.", "ns2-05.azure-dns.net."]
LONG_TXT = "v=DKIM1; p=" + "A" * 589  # 600 characters: three character-strings on the wire
UTF8_TXT = "é" * 200  # 200 characters but 400 bytes: split by bytes, not characters
BIG_TXT = [f"{i}-" + "x" * 398 for i in range(8)]  # ~3.3 kB: over 512 and 1232 bytes, under 4096


# ---- building the store --------------------------------------------------------------------------
def add_zone(
    state: SandboxState,
    name: str,
    *,
    name_servers: list[str] | None = None,
    zone_type: str = "Public",
    delegated: bool = True,
    resource_group: str = "rg",
) -> ZoneState:
    zone = ZoneState(
        "sub",
        resource_group,
        name,
        zone_type=zone_type,
        name_servers=list(AZURE_NS if name_servers is None else name_servers),
        delegated=delegated,
    )
    state.put_zone(zone)
    return zone


def add(
    state: SandboxState, zone: ZoneState, name: str, rtype: str, key: str, value: Any, ttl: int = 3600
) -> None:
    record_set = RecordSetState(name, rtype, {"TTL": ttl, key: value}, new_etag())
    state.put_record_set(zone, record_set)


def txt(*values: str) -> list[dict[str, list[str]]]:
    return [{"value": [v]} for v in values]


def ns(*hosts: str) -> list[dict[str, str]]:
    return [{"nsdname": h} for h in hosts]


def populate(state: SandboxState) -> None:
    z = add_zone(state, "contoso.test")
    soa = {
        "host": "ns1-01.azure-dns.com",
        "email": "azuredns-hostmaster.microsoft.com",
        "serialNumber": 7,
        "refreshTime": 3600,
        "retryTime": 300,
        "expireTime": 2419200,
        "minimumTTL": 60,
    }
    add(state, z, "@", "SOA", "SOARecord", soa)
    add(state, z, "@", "NS", "NSRecords", ns(*AZURE_NS), ttl=172800)
    add(state, z, "@", "TXT", "TXTRecords", txt("ms-domain-verification=1234", "v=spf1 -all"))
    add(state, z, "@", "MX", "MXRecords", [{"preference": 10, "exchange": "mx.contoso.test"}])
    add(state, z, "@", "CAA", "caaRecords", [{"flags": 0, "tag": "issue", "value": "letsencrypt.org"}])
    add(state, z, "www", "A", "ARecords", [{"ipv4Address": "192.0.2.1"}, {"ipv4Address": "192.0.2.2"}])
    add(state, z, "www", "AAAA", "AAAARecords", [{"ipv6Address": "2001:db8::1"}])
    add(state, z, "Mixed", "A", "ARecords", [{"ipv4Address": "192.0.2.9"}])
    add(state, z, "ptr", "PTR", "PTRRecords", [{"ptrdname": "host.contoso.test"}])
    srv = [{"priority": 10, "weight": 60, "port": 5060, "target": "sip.contoso.test"}]
    add(state, z, "_sip._tcp", "SRV", "SRVRecords", srv)
    add(state, z, "long", "TXT", "TXTRecords", txt(LONG_TXT))
    add(state, z, "utf8", "TXT", "TXTRecords", txt(UTF8_TXT))
    add(state, z, "big", "TXT", "TXTRecords", txt(*BIG_TXT))
    dkim = {"cname": "selector1-azurecomm-prod-net._domainkey.azurecomm.net"}
    add(state, z, "selector1-azurecomm-prod-net._domainkey", "CNAME", "CNAMERecord", dkim)
    add(state, z, "alias", "CNAME", "CNAMERecord", {"cname": "www.contoso.test"})
    add(state, z, "a.b.c", "A", "ARecords", [{"ipv4Address": "192.0.2.3"}])
    add(state, z, "*.wild", "TXT", "TXTRecords", txt("from the wildcard"))
    add(state, z, "exists.wild", "A", "ARecords", [{"ipv4Address": "192.0.2.4"}])
    # child zones: properly delegated, lame, and hosted but not delegated by the parent
    add(state, z, "mail", "NS", "NSRecords", ns("NS2-05.azure-dns.net", "ns1-05.azure-dns.com."))
    add(state, z, "lame", "NS", "NSRecords", ns("ns1-99.azure-dns.com"))
    add(state, z, "x.nons", "TXT", "TXTRecords", txt("from the parent"))
    add(state, z, "ext", "NS", "NSRecords", ns("ns.elsewhere.example"))
    for child in ("mail", "lame", "nons"):
        zone = add_zone(state, f"{child}.contoso.test", name_servers=CHILD_NS)
        add(state, zone, "x", "TXT", "TXTRecords", txt("from the child zone"))
    # a private zone of the same name must never leak, nor a private zone of its own
    private = add_zone(state, "contoso.test", zone_type="Private", resource_group="private-rg")
    add(state, private, "secret", "TXT", "TXTRecords", txt("private"))
    add(state, add_zone(state, "private.test", zone_type="Private"), "@", "TXT", "TXTRecords", txt("private"))
    hidden = add_zone(state, "hidden.test", delegated=False)
    add(state, hidden, "@", "TXT", "TXTRecords", txt("not delegated yet"))


@pytest.fixture(scope="module")
def server() -> Iterator[DnsServer]:
    state = SandboxState()
    populate(state)
    with DnsServer(state) as srv:
        yield srv


# ---- querying ------------------------------------------------------------------------------------
def ask(
    srv: DnsServer, name: str, rdtype: str, *, rd: bool = True, tcp: bool = False, payload: int | None = None
) -> dns.message.Message:
    query = dns.message.make_query(name, rdtype, use_edns=payload is not None, payload=payload or 0)
    if not rd:
        query.flags &= ~dns.flags.RD
    if tcp:
        return dns.query.tcp(query, "127.0.0.1", port=srv.port, timeout=3)
    return dns.query.udp(query, "127.0.0.1", port=srv.port, timeout=3)


def resolver(srv: DnsServer) -> dns.resolver.Resolver:
    res = dns.resolver.Resolver(configure=False)
    res.nameservers = ["127.0.0.1"]
    res.port = srv.port
    res.lifetime = 5
    return res


def texts(response: dns.message.Message, rdtype: str) -> set[str]:
    wanted = dns.rdatatype.from_text(rdtype)
    return {rd.to_text() for rrset in response.answer if rrset.rdtype == wanted for rd in rrset}


# ---- record types --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "rdtype", "expected"),
    [
        ("www", "A", {"192.0.2.1", "192.0.2.2"}),
        ("www", "AAAA", {"2001:db8::1"}),
        ("@", "MX", {"10 mx.contoso.test."}),
        ("@", "NS", set(AZURE_NS)),
        ("@", "SOA", {"ns1-01.azure-dns.com. azuredns-hostmaster.microsoft.com. 7 3600 300 2419200 60"}),
        ("@", "TXT", {'"ms-domain-verification=1234"', '"v=spf1 -all"'}),
        ("@", "CAA", {'0 issue "letsencrypt.org"'}),
        ("ptr", "PTR", {"host.contoso.test."}),
        ("_sip._tcp", "SRV", {"10 60 5060 sip.contoso.test."}),
        (
            "selector1-azurecomm-prod-net._domainkey",
            "CNAME",
            {"selector1-azurecomm-prod-net._domainkey.azurecomm.net."},
        ),
    ],
)
@pytest.mark.parametrize("rd", [False, True])
def test_each_record_type_is_served_from_wire_properties(
    server: DnsServer, name: str, rdtype: str, expected: set[str], rd: bool
) -> None:
    qname = "contoso.test" if name == "@" else f"{name}.contoso.test"
    response = ask(server, qname, rdtype, rd=rd)
    assert response.rcode() == dns.rcode.NOERROR
    assert texts(response, rdtype) == expected
    assert bool(response.flags & dns.flags.AA) is not rd  # the zone's own servers vs a public resolver
    assert bool(response.flags & dns.flags.RA) is rd


def test_ttl_comes_from_the_record_set(server: DnsServer) -> None:
    answer = resolver(server).resolve("contoso.test", "NS")
    assert answer.rrset is not None and answer.rrset.ttl == 172800


def test_names_are_case_insensitive(server: DnsServer) -> None:
    assert texts(ask(server, "WWW.Contoso.TEST", "A"), "A") == {"192.0.2.1", "192.0.2.2"}
    assert texts(ask(server, "mixed.contoso.test", "A"), "A") == {"192.0.2.9"}


def test_apex_soa_and_ns_exist_even_when_the_zone_holds_no_such_record_sets(server: DnsServer) -> None:
    soa = ask(server, "hidden.test", "SOA", rd=False)
    assert texts(soa, "SOA") == {
        "ns1-01.azure-dns.com. azuredns-hostmaster.microsoft.com. 1 3600 300 2419200 300"
    }
    assert texts(ask(server, "hidden.test", "NS", rd=False), "NS") == set(AZURE_NS)


# ---- TXT splitting and truncation ----------------------------------------------------------------
@pytest.mark.parametrize(("name", "value"), [("long", LONG_TXT), ("utf8", UTF8_TXT)])
def test_txt_over_255_bytes_goes_out_as_several_strings_that_rejoin(
    server: DnsServer, name: str, value: str
) -> None:
    answer = resolver(server).resolve(f"{name}.contoso.test", "TXT")
    (rdata,) = list(answer)
    assert len(rdata.strings) > 1
    assert all(len(s) <= 255 for s in rdata.strings)
    assert b"".join(rdata.strings).decode() == value


def test_big_udp_answer_is_truncated_with_the_question_kept(server: DnsServer) -> None:
    response = ask(server, "big.contoso.test", "TXT")
    assert response.flags & dns.flags.TC
    assert response.answer == []
    assert [(q.name.to_text(), q.rdtype) for q in response.question] == [
        ("big.contoso.test.", dns.rdatatype.TXT)
    ]
    # the EDNS payload size the query advertises is the limit
    assert ask(server, "big.contoso.test", "TXT", payload=1232).flags & dns.flags.TC
    roomy = ask(server, "big.contoso.test", "TXT", payload=4096)
    assert not roomy.flags & dns.flags.TC
    assert len(texts(roomy, "TXT")) == len(BIG_TXT)


def test_resolver_falls_back_to_tcp_for_a_truncated_answer(server: DnsServer) -> None:
    answer = resolver(server).resolve("big.contoso.test", "TXT")
    assert sorted(b"".join(rd.strings).decode() for rd in answer) == sorted(BIG_TXT)


def test_tcp_serves_several_queries_on_one_connection(server: DnsServer) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=3) as sock:
        for name in ("www.contoso.test", "big.contoso.test"):
            query = dns.message.make_query(name, "TXT" if name.startswith("big") else "A")
            response = dns.query.tcp(query, "127.0.0.1", port=server.port, sock=sock, timeout=3)
            assert response.rcode() == dns.rcode.NOERROR and response.answer
            assert not response.flags & dns.flags.TC


# ---- negative answers, CNAMEs and wildcards ------------------------------------------------------
def _negative_soa(response: dns.message.Message) -> dns.rrset.RRset:
    (soa,) = response.authority
    assert soa.rdtype == dns.rdatatype.SOA and soa.name == dns.name.from_text("contoso.test")
    return soa


@pytest.mark.parametrize("rd", [False, True])
def test_nxdomain_and_nodata_carry_the_zone_soa(server: DnsServer, rd: bool) -> None:
    missing = ask(server, "nothing.contoso.test", "A", rd=rd)
    assert missing.rcode() == dns.rcode.NXDOMAIN and missing.answer == []
    assert _negative_soa(missing).ttl == 60  # min(SOA TTL, SOA minimum)
    nodata = ask(server, "www.contoso.test", "TXT", rd=rd)
    assert nodata.rcode() == dns.rcode.NOERROR and nodata.answer == []
    _negative_soa(nodata)


@pytest.mark.parametrize("name", ["b.c.contoso.test", "c.contoso.test"])
def test_empty_non_terminal_is_nodata_not_nxdomain(server: DnsServer, name: str) -> None:
    response = ask(server, name, "A")
    assert response.rcode() == dns.rcode.NOERROR and response.answer == []
    _negative_soa(response)
    with pytest.raises(dns.resolver.NoAnswer):
        resolver(server).resolve(name, "A")


def test_cname_answers_other_types_and_is_chased_within_served_data(server: DnsServer) -> None:
    dkim = ask(server, "selector1-azurecomm-prod-net._domainkey.contoso.test", "TXT")
    assert dkim.rcode() == dns.rcode.NOERROR
    assert texts(dkim, "CNAME") == {"selector1-azurecomm-prod-net._domainkey.azurecomm.net."}
    assert texts(dkim, "TXT") == set()
    answer = resolver(server).resolve("alias.contoso.test", "A")
    assert answer.canonical_name == dns.name.from_text("www.contoso.test")
    assert {rd.to_text() for rd in answer} == {"192.0.2.1", "192.0.2.2"}
    chased_to_nodata = ask(server, "alias.contoso.test", "TXT")
    assert texts(chased_to_nodata, "CNAME") == {"www.contoso.test."}
    _negative_soa(chased_to_nodata)


def test_wildcards_answer_names_that_do_not_exist(server: DnsServer) -> None:
    for name in ("anything.wild.contoso.test", "deep.er.wild.contoso.test"):
        response = ask(server, name, "TXT")
        assert response.answer[0].name == dns.name.from_text(name)
        assert texts(response, "TXT") == {'"from the wildcard"'}
    exists = ask(server, "exists.wild.contoso.test", "TXT")  # an existing name is never wildcard-matched
    assert exists.rcode() == dns.rcode.NOERROR and exists.answer == []
    assert ask(server, "wild.contoso.test", "TXT").answer == []


def test_any_returns_every_record_set_at_the_name(server: DnsServer) -> None:
    response = ask(server, "www.contoso.test", "ANY", tcp=True)
    assert {rrset.rdtype for rrset in response.answer} == {dns.rdatatype.A, dns.rdatatype.AAAA}


# ---- the two views -------------------------------------------------------------------------------
def test_not_delegated_zone_is_served_by_its_own_servers_only(server: DnsServer) -> None:
    direct = ask(server, "hidden.test", "TXT", rd=False)
    assert direct.rcode() == dns.rcode.NOERROR and direct.flags & dns.flags.AA
    assert texts(direct, "TXT") == {'"not delegated yet"'}
    assert ask(server, "hidden.test", "TXT", rd=True).rcode() == dns.rcode.NXDOMAIN
    with pytest.raises(dns.resolver.NXDOMAIN):
        resolver(server).resolve("hidden.test", "TXT")


def test_delegation_flag_changes_what_the_internet_sees() -> None:
    state = SandboxState()
    zone = add_zone(state, "later.test", delegated=False)
    add(state, zone, "@", "TXT", "TXTRecords", txt("hello"))
    with DnsServer(state) as srv:
        assert ask(srv, "later.test", "TXT").rcode() == dns.rcode.NXDOMAIN
        state.set_delegated("sub", "rg", "later.test", True)
        assert texts(ask(srv, "later.test", "TXT"), "TXT") == {'"hello"'}


def test_child_zone_delegated_with_matching_ns_is_visible(server: DnsServer) -> None:
    response = ask(server, "x.mail.contoso.test", "TXT")
    assert texts(response, "TXT") == {'"from the child zone"'}
    assert texts(ask(server, "mail.contoso.test", "NS"), "NS") == set(CHILD_NS)  # the child's apex NS
    assert ask(server, "nothing.mail.contoso.test", "A").rcode() == dns.rcode.NXDOMAIN


def test_child_zone_with_wrong_ns_in_parent_is_lame(server: DnsServer) -> None:
    assert ask(server, "x.lame.contoso.test", "TXT").rcode() == dns.rcode.SERVFAIL
    assert ask(server, "lame.contoso.test", "SOA").rcode() == dns.rcode.SERVFAIL
    direct = ask(server, "x.lame.contoso.test", "TXT", rd=False)  # the child's own servers still answer
    assert direct.flags & dns.flags.AA and texts(direct, "TXT") == {'"from the child zone"'}


def test_child_zone_without_ns_in_parent_is_answered_by_the_parent(server: DnsServer) -> None:
    assert texts(ask(server, "x.nons.contoso.test", "TXT"), "TXT") == {'"from the parent"'}
    assert texts(ask(server, "x.nons.contoso.test", "TXT", rd=False), "TXT") == {'"from the child zone"'}


def test_delegation_to_servers_elsewhere(server: DnsServer) -> None:
    referral = ask(server, "host.ext.contoso.test", "A", rd=False)
    assert referral.rcode() == dns.rcode.NOERROR and not referral.flags & dns.flags.AA
    assert referral.answer == [] and {rd.to_text() for rd in referral.authority[0]} == {
        "ns.elsewhere.example."
    }
    assert ask(server, "host.ext.contoso.test", "A").rcode() == dns.rcode.SERVFAIL


@pytest.mark.parametrize("name", ["secret.contoso.test", "private.test"])
def test_private_zones_are_never_served(server: DnsServer, name: str) -> None:
    assert ask(server, name, "TXT").rcode() == dns.rcode.NXDOMAIN
    direct = ask(server, name, "TXT", rd=False)
    expected = dns.rcode.NXDOMAIN if name.endswith("contoso.test") else dns.rcode.REFUSED
    assert direct.rcode() == expected and direct.answer == []


def test_names_outside_every_zone(server: DnsServer) -> None:
    assert ask(server, "example.org", "A", rd=False).rcode() == dns.rcode.REFUSED
    assert ask(server, "example.org", "A").rcode() == dns.rcode.NXDOMAIN


# ---- propagation delay ---------------------------------------------------------------------------
class ManualClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_changes_become_visible_only_after_the_propagation_delay() -> None:
    state = SandboxState()
    clock = ManualClock()
    state.clock = clock  # the store's injectable clock
    zone = add_zone(state, "slow.test")
    with DnsServer(state, propagation_delay=0.3) as srv:
        assert ask(srv, "slow.test", "SOA").rcode() == dns.rcode.NXDOMAIN  # the zone itself is new
        clock.now += 0.3
        assert ask(srv, "new.slow.test", "TXT").rcode() == dns.rcode.NXDOMAIN
        add(state, zone, "new", "TXT", "TXTRecords", txt("fresh"))
        clock.now += 0.2
        assert ask(srv, "new.slow.test", "TXT").rcode() == dns.rcode.NXDOMAIN
        clock.now += 0.1
        assert texts(ask(srv, "new.slow.test", "TXT"), "TXT") == {'"fresh"'}
        state.delete_record_set(zone, "new", "TXT")
        assert texts(ask(srv, "new.slow.test", "TXT", rd=False), "TXT") == {
            '"fresh"'
        }  # still cached out there
        clock.now += 0.3
        assert ask(srv, "new.slow.test", "TXT", rd=False).rcode() == dns.rcode.NXDOMAIN


def test_a_record_added_appears_once_the_delay_has_passed() -> None:
    state = SandboxState()
    zone = add_zone(state, "poll.test")
    with DnsServer(state, propagation_delay=0.3) as srv:
        add(state, zone, "new", "TXT", "TXTRecords", txt("fresh"))
        deadline = time.monotonic() + 5
        while (response := ask(srv, "new.poll.test", "TXT")).rcode() != dns.rcode.NOERROR:
            assert time.monotonic() < deadline, "record never became visible"
            time.sleep(0.05)
        assert texts(response, "TXT") == {'"fresh"'}


# ---- robustness and lifecycle --------------------------------------------------------------------
def test_malformed_packets_do_not_hurt_the_server(server: DnsServer) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.sendto(b"\x12", ("127.0.0.1", server.port))
        udp.sendto(b"\x00" * 40 + b"\xff" * 40, ("127.0.0.1", server.port))
    with socket.create_connection(("127.0.0.1", server.port), timeout=3) as tcp:
        tcp.sendall(b"\x00\x05hello")
        assert tcp.recv(10) == b""  # the server closed the connection
    response = dns.message.make_response(dns.message.make_query("www.contoso.test", "A"))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:  # a response is not a query: dropped
        udp.sendto(response.to_wire(), ("127.0.0.1", server.port))
    assert texts(ask(server, "www.contoso.test", "A"), "A") == {"192.0.2.1", "192.0.2.2"}
    assert texts(ask(server, "www.contoso.test", "A", tcp=True), "A") == {"192.0.2.1", "192.0.2.2"}


def test_stop_frees_the_port_even_with_a_tcp_connection_open() -> None:
    state = SandboxState()
    populate(state)
    first = DnsServer(state)
    first.start()
    port = first.port
    assert port != 0
    idle = socket.create_connection(("127.0.0.1", port), timeout=3)
    try:
        first.stop()
        assert idle.recv(10) == b""
    finally:
        idle.close()
    with DnsServer(state, port=port) as second:
        assert second.port == port
        assert texts(ask(second, "www.contoso.test", "A", tcp=True), "A") == {"192.0.2.1", "192.0.2.2"}
        assert texts(ask(second, "www.contoso.test", "A"), "A") == {"192.0.2.1", "192.0.2.2"}


# ---- end to end: written through ARM with the real SDK, read back over DNS -----------------------
def test_record_sets_written_through_arm_are_served(sandbox: Sandbox) -> None:
    from azure.mgmt.dns.models import NsRecord, RecordSet, TxtRecord, Zone

    client = dns_client(sandbox)
    parent = f"e2e{uuid.uuid4().hex[:8]}.test"
    client.zones.create_or_update("rg-dns", parent, Zone(location="global"))
    two_strings = RecordSet(ttl=300, txt_records=[TxtRecord(value=["a" * 255, "b" * 100])])
    client.record_sets.create_or_update("rg-dns", parent, "mail", "TXT", two_strings)
    for child_name, matching in (("sub", True), ("lame", False)):
        child = client.zones.create_or_update("rg-dns", f"{child_name}.{parent}", Zone(location="global"))
        servers = child.name_servers if matching else ["ns1-99.azure-dns.com"]
        delegation = RecordSet(ttl=3600, ns_records=[NsRecord(nsdname=s) for s in servers])
        client.record_sets.create_or_update("rg-dns", parent, child_name, "NS", delegation)
        child_txt = RecordSet(ttl=300, txt_records=[TxtRecord(value=[f"{child_name} zone"])])
        client.record_sets.create_or_update("rg-dns", f"{child_name}.{parent}", "@", "TXT", child_txt)

    res = dns.resolver.Resolver(configure=False)
    res.nameservers, res.port = ["127.0.0.1"], sandbox.dns_port
    (rdata,) = list(res.resolve(f"mail.{parent}", "TXT"))
    assert rdata.strings == (b"a" * 255, b"b" * 100)
    assert [rd.strings for rd in res.resolve(f"sub.{parent}", "TXT")] == [(b"sub zone",)]
    with pytest.raises(dns.resolver.NoNameservers):  # SERVFAIL: lame delegation
        res.resolve(f"lame.{parent}", "TXT")
    query = dns.message.make_query(f"lame.{parent}", "TXT", flags=0)  # RD=0: its own servers answer
    assert texts(dns.query.udp(query, "127.0.0.1", port=sandbox.dns_port, timeout=3), "TXT") == {
        '"lame zone"'
    }


def test_a_write_converts_only_the_record_set_it_changed() -> None:
    """Many writes to a big zone: each new view of the zone reuses the records it already served and
    converts only what changed; what it serves is the same as from a view built from nothing."""
    state = SandboxState()
    zone = add_zone(state, "big.test")
    for i in range(50):
        add(state, zone, f"host{i}", "TXT", "TXTRecords", txt(f"team-{i}"))
    with DnsServer(state) as srv:
        before = srv.current_view()
        add(state, zone, "host7", "TXT", "TXTRecords", txt("changed"))
        add(state, zone, "_domainkey.new", "CNAME", "CNAMERecord", {"cname": "target.example"})
        state.delete_record_set(zone, "host9", "TXT")
        after = srv.current_view()
        assert ask(srv, "host7.big.test", "TXT").answer[0].to_text().endswith('"changed"')
        assert ask(srv, "host9.big.test", "TXT").rcode() == dns.rcode.NXDOMAIN
        assert ask(srv, "_domainkey.new.big.test", "CNAME").answer[0][0].target.to_text() == "target.example."
        assert ask(srv, "new.big.test", "A").rcode() == dns.rcode.NOERROR  # an empty non-terminal now

    origin = dns.name.from_text("big.test")
    old, new = before.zones[origin][0].nodes, after.zones[origin][0].nodes
    txt_type = dns.rdatatype.TXT
    host = lambda i: dns.name.from_text(f"host{i}.big.test")  # noqa: E731
    assert all(new[host(i)][txt_type] is old[host(i)][txt_type] for i in range(50) if i not in (7, 9))
    assert new[host(7)][txt_type] is not old[host(7)][txt_type]
    rebuilt = DnsView.build(after.source).zones[origin][0]
    assert rebuilt.nodes == new and rebuilt.non_terminals == after.zones[origin][0].non_terminals
