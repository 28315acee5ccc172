"""DnsChecker against the sandbox's real DNS server over loopback (no mocks)."""

from __future__ import annotations

import itertools
import json
import socket
import ssl
import time
import urllib.request
from collections.abc import Iterator

import dns.flags
import dns.message
import dns.query
import pytest
from azure.mgmt.dns import DnsManagementClient
from azure.mgmt.dns.models import CnameRecord, NsRecord, RecordSet, TxtRecord, Zone

from acs_sandbox import Sandbox, SandboxOptions
from provisioner.dnscheck import (
    DelegationState,
    DnsChecker,
    DnsServerAddress,
    ExpectedRecord,
    ResolverState,
    parse_dns_server,
    resolver_error,
)
from provisioner.errors import ExitCode, UsageError
from provisioner.model import RecordType
from tests.conftest import SUBSCRIPTION, dns_client

RG = "rg-dnscheck"
_serial = itertools.count(1)

# ---- parse_dns_server ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10.0.0.2", DnsServerAddress("10.0.0.2", 53)),
        ("10.0.0.2:5353", DnsServerAddress("10.0.0.2", 5353)),
        (" 127.0.0.1:53 ", DnsServerAddress("127.0.0.1", 53)),
        ("dns.example.net", DnsServerAddress("dns.example.net", 53)),
        ("localhost:1053", DnsServerAddress("localhost", 1053)),
        ("[::1]:5300", DnsServerAddress("::1", 5300)),
        ("[2001:db8::53]", DnsServerAddress("2001:db8::53", 53)),
        ("2001:db8::53", DnsServerAddress("2001:db8::53", 53)),
        ("::1", DnsServerAddress("::1", 53)),
    ],
)
def test_parse_dns_server_accepts(text: str, expected: DnsServerAddress) -> None:
    assert parse_dns_server(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        ":53",
        "10.0.0.2:",
        "10.0.0.2:dns",
        "10.0.0.2:0",
        "10.0.0.2:65536",
        "10.0.0.2:-1",
        "[::1",
        "[::1]x",
        "[::1]:",
        "[10.0.0.2]:53",
        "[]:53",
        "2001:db8::zz",
        "bad_host:53",
        "-bad.example:53",
        "a..b",
        "http://10.0.0.2",
    ],
)
def test_parse_dns_server_rejects_naming_the_flag(text: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_dns_server(text)
    assert "--dns-server" in str(info.value)
    assert info.value.exit_code is ExitCode.USAGE
    assert info.value.hint is not None and "HOST:PORT" in info.value.hint and "[IPV6]:PORT" in info.value.hint


@pytest.mark.parametrize("text", ["10.0.0.2", "10.0.0.2:5353", "[::1]:5300", "::1", "dns.example.net:54"])
def test_dns_server_address_str_round_trips(text: str) -> None:
    address = parse_dns_server(text)
    assert parse_dns_server(str(address)) == address


def test_expected_record_only_txt_and_cname() -> None:
    assert ExpectedRecord("a.example.com", "TXT", "x").type is RecordType.TXT  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        ExpectedRecord("a.example.com", RecordType.MX, "x")
    with pytest.raises(ValueError):
        ExpectedRecord("a..example.com", RecordType.TXT, "x")


# ---- a server that never answers ---------------------------------------------------------------------


@pytest.fixture
def silent_server() -> Iterator[DnsServerAddress]:
    """A bound UDP socket that receives queries and never replies."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    try:
        yield DnsServerAddress("127.0.0.1", sock.getsockname()[1])
    finally:
        sock.close()


def test_silent_server_counts_everything_missing_within_the_timeout(silent_server: DnsServerAddress) -> None:
    checker = DnsChecker([silent_server], timeout=0.3)
    expected = [
        ExpectedRecord("example.com", RecordType.TXT, "ms-domain-verification=abc"),
        ExpectedRecord("example.com", RecordType.TXT, "v=spf1 include:spf.protection.outlook.com -all"),
        ExpectedRecord("selector1._domainkey.example.com", RecordType.CNAME, "s1.azurecomm.net"),
        ExpectedRecord("selector2._domainkey.example.com", RecordType.CNAME, "s2.azurecomm.net"),
    ]
    start = time.monotonic()
    missing = checker.missing(["ns1-01.azure-dns.com."], expected)
    elapsed = time.monotonic() - start
    assert missing == [(str(silent_server), record) for record in expected]
    assert elapsed < 1.0

    start = time.monotonic()
    assert checker.resolve_txt("example.com") == []
    status = checker.delegation("example.com", ["ns1-01.azure-dns.com."])
    assert time.monotonic() - start < 1.5
    assert not status.delegated
    # a resolver that does not answer is its own finding, with its own fix: not "set the name servers"
    assert status.state is DelegationState.NO_ANSWER
    assert f"the resolver {silent_server} did not answer" in status.detail
    assert "not the zone" in status.detail
    assert "registrar" not in status.detail
    assert "ns1-01.azure-dns.com" in status.detail


def test_probe_finds_a_silent_dns_server_before_anything_is_written(
    sandbox: Sandbox, silent_server: DnsServerAddress
) -> None:
    answering = DnsServerAddress("127.0.0.1", sandbox.dns_port)
    checker = DnsChecker([answering, silent_server], timeout=0.5)
    status = checker.probe()
    assert status.state is ResolverState.UNREACHABLE
    assert status.servers == (str(answering), str(silent_server))
    assert status.unanswered == (str(silent_server),)
    assert status.elapsed < 0.5 + 1.0  # the servers are asked at once, each within the timeout
    error = resolver_error(status)
    assert isinstance(error, UsageError)
    assert error.exit_code is ExitCode.USAGE
    assert f"--dns-server {silent_server} did not answer" in error.message
    assert "--dns-server" in (error.hint or "")


def test_probe_accepts_a_server_that_answers_even_with_a_refusal(sandbox: Sandbox) -> None:
    server = DnsServerAddress("127.0.0.1", sandbox.dns_port)
    status = DnsChecker([server], timeout=2).probe()  # the sandbox refuses the root's NS query: an answer
    assert status.state is ResolverState.ANSWERED, status.detail
    assert (status.servers, status.unanswered) == ((str(server),), ())
    assert resolver_error(status) is None


def test_wait_until_served_gives_up_at_the_timeout(silent_server: DnsServerAddress) -> None:
    checker = DnsChecker([silent_server], timeout=0.2)
    record = ExpectedRecord("example.com", RecordType.TXT, "x")
    start = time.monotonic()
    left = checker.wait_until_served(["ns1.example.net"], [record], timeout=0.5, interval=0.1)
    assert left == [(str(silent_server), record)]
    assert time.monotonic() - start < 1.5


# ---- against the sandbox ---------------------------------------------------------------------------


def _unique_zone(stem: str = "contoso") -> str:
    return f"{stem}{next(_serial)}-dnscheck.com"


def _checker(sb: Sandbox, timeout: float = 2.0) -> DnsChecker:
    return DnsChecker([DnsServerAddress("127.0.0.1", sb.dns_port)], timeout=timeout)


def _create_zone(client: DnsManagementClient, zone: str) -> list[str]:
    created = client.zones.create_or_update(RG, zone, Zone(location="global"))
    # the four name servers Azure DNS hands out (one per TLD), which the checks below delegate to
    servers = list(created.name_servers or ())
    assert [s.split(".", 1)[1] for s in servers] == [
        "azure-dns.com.",
        "azure-dns.net.",
        "azure-dns.org.",
        "azure-dns.info.",
    ], servers
    return servers


def _put_txt(client: DnsManagementClient, zone: str, name: str, *records: list[str]) -> None:
    rs = RecordSet(ttl=60, txt_records=[TxtRecord(value=list(strings)) for strings in records])
    client.record_sets.create_or_update(RG, zone, name, "TXT", rs)


def _put_cname(client: DnsManagementClient, zone: str, name: str, target: str) -> None:
    rs = RecordSet(ttl=60, cname_record=CnameRecord(cname=target))
    client.record_sets.create_or_update(RG, zone, name, "CNAME", rs)


def _set_delegated(sb: Sandbox, zone: str, delegated: bool) -> None:
    """The sandbox admin path (no ARM equivalent): the registrar's delegation of a top-level zone."""
    url = f"{sb.arm_endpoint}/_sandbox/subscriptions/{SUBSCRIPTION}/resourceGroups/{RG}/dnsZones/{zone}/delegation"
    body = json.dumps({"delegated": delegated}).encode()
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"}, method="PUT")
    context = ssl.create_default_context(cafile=sb.ca_bundle)
    with urllib.request.urlopen(request, context=context, timeout=5) as response:
        assert response.status == 204


def _acs_records(zone: str) -> list[ExpectedRecord]:
    return [
        ExpectedRecord(zone, RecordType.TXT, "ms-domain-verification=0d6c8a1e"),
        ExpectedRecord(zone, RecordType.TXT, "v=spf1 include:spf.protection.outlook.com -all"),
        ExpectedRecord(
            f"selector1-azurecomm-prod-net._domainkey.{zone}",
            RecordType.CNAME,
            "selector1-azurecomm-prod-net._domainkey.azurecomm.net",
        ),
        ExpectedRecord(
            f"selector2-azurecomm-prod-net._domainkey.{zone}",
            RecordType.CNAME,
            "selector2-azurecomm-prod-net._domainkey.azurecomm.net",
        ),
        ExpectedRecord(f"_dmarc.{zone}", RecordType.TXT, "v=DMARC1; p=none"),
    ]


def _publish_all(client: DnsManagementClient, zone: str) -> None:
    _put_txt(
        client,
        zone,
        "@",
        ["ms-domain-verification=0d6c8a1e"],
        ["v=spf1 include:spf.protection.outlook.com -all"],
        ["google-site-verification=keep"],
    )
    _put_cname(
        client,
        zone,
        "selector1-azurecomm-prod-net._domainkey",
        "selector1-azurecomm-prod-net._domainkey.azurecomm.net",
    )
    _put_cname(
        client,
        zone,
        "selector2-azurecomm-prod-net._domainkey",
        "SELECTOR2-azurecomm-prod-net._domainkey.azurecomm.net.",
    )
    _put_txt(client, zone, "_dmarc", ["v=DMARC1; p=none"])


def test_delegation_of_a_normal_zone(sandbox: Sandbox) -> None:
    client = dns_client(sandbox)
    zone = _unique_zone()
    name_servers = _create_zone(client, zone)
    status = _checker(sandbox).delegation(zone, name_servers)
    assert status.delegated, status.detail
    assert status.state is DelegationState.DELEGATED
    expected = tuple(ns.rstrip(".").lower() for ns in name_servers)
    assert status.expected == expected
    assert set(status.found) == set(expected)
    # case and trailing dots do not matter
    assert (
        _checker(sandbox)
        .delegation(zone.upper() + ".", [ns.upper().rstrip(".") for ns in name_servers])
        .delegated
    )


def test_zone_not_delegated_at_the_registrar(sandbox: Sandbox) -> None:
    client = dns_client(sandbox)
    zone = _unique_zone()
    name_servers = _create_zone(client, zone)
    _set_delegated(sandbox, zone, False)

    status = _checker(sandbox).delegation(zone, name_servers)
    assert not status.delegated
    assert status.state is DelegationState.NOT_DELEGATED
    assert status.found == ()
    assert "NXDOMAIN" in status.detail
    assert "registrar" in status.detail
    for ns in name_servers:
        assert ns.rstrip(".") in status.detail

    sandbox.state.set_delegated(SUBSCRIPTION, RG, zone, True)
    assert _checker(sandbox).delegation(zone, name_servers).delegated


def test_delegated_to_other_name_servers(sandbox: Sandbox) -> None:
    client = dns_client(sandbox)
    zone = _unique_zone()
    served = _create_zone(client, zone)
    other = ["ns1-99.azure-dns.com.", served[1]]  # e.g. the Azure name servers of an older zone
    status = _checker(sandbox).delegation(zone, other)
    assert not status.delegated
    assert status.state is DelegationState.NOT_DELEGATED
    assert set(status.found) == {ns.rstrip(".") for ns in served}
    assert "delegated to other name servers" in status.detail
    assert "expected but absent: ns1-99.azure-dns.com" in status.detail
    assert served[0].rstrip(".") in status.detail  # what was found is named


def test_child_zone_is_delegated_only_by_a_matching_ns_set_in_the_parent(sandbox: Sandbox) -> None:
    client = dns_client(sandbox)
    parent = _unique_zone("fabrikam")
    child = f"mail.{parent}"
    _create_zone(client, parent)
    child_servers = _create_zone(client, child)
    checker = _checker(sandbox)

    status = checker.delegation(child, child_servers)
    assert not status.delegated
    assert f"parent zone {parent}" in status.detail
    assert "NS record set named 'mail'" in status.detail
    assert all(ns.rstrip(".") in status.detail for ns in child_servers)

    # an NS set naming other servers is a lame delegation: still not delegated
    lame = RecordSet(ttl=60, ns_records=[NsRecord(nsdname="ns1.elsewhere.example.")])
    client.record_sets.create_or_update(RG, parent, "mail", "NS", lame)
    status = checker.delegation(child, child_servers)
    assert not status.delegated
    assert status.state is DelegationState.RESOLUTION_FAILED  # the resolver answered: SERVFAIL
    assert "lame delegation" in status.detail

    ns_set = RecordSet(ttl=60, ns_records=[NsRecord(nsdname=ns) for ns in child_servers])
    client.record_sets.create_or_update(RG, parent, "mail", "NS", ns_set)
    status = checker.delegation(child, child_servers)
    assert status.delegated, status.detail


def test_missing_finds_absent_and_wrong_records(sandbox: Sandbox) -> None:
    client = dns_client(sandbox)
    zone = _unique_zone()
    name_servers = _create_zone(client, zone)
    checker = _checker(sandbox)
    expected = _acs_records(zone)
    server = sandbox.dns_server  # the override stands in for every name server, named by its address

    assert checker.missing(name_servers, expected) == [(server, r) for r in expected]

    _put_txt(client, zone, "@", ["ms-domain-verification=0d6c8a1e"], ["v=spf1 include:other.example -all"])
    _put_cname(
        client,
        zone,
        "selector1-azurecomm-prod-net._domainkey",
        "selector1-azurecomm-prod-net._domainkey.azurecomm.net",
    )
    _put_cname(client, zone, "selector2-azurecomm-prod-net._domainkey", "wrong.azurecomm.net")
    _put_txt(client, zone, "_dmarc", ["v=DMARC1; ", "p=none"])  # two strings: joined, it matches
    assert checker.missing(name_servers, expected) == [(server, expected[1]), (server, expected[3])]

    _publish_all(client, zone)
    assert checker.missing(name_servers, expected) == []


def test_missing_asks_the_name_servers_even_when_not_delegated(sandbox: Sandbox) -> None:
    client = dns_client(sandbox)
    zone = _unique_zone()
    name_servers = _create_zone(client, zone)
    _publish_all(client, zone)
    _set_delegated(sandbox, zone, False)
    checker = _checker(sandbox)
    assert checker.missing(name_servers, _acs_records(zone)) == []
    assert checker.resolve_txt(f"_dmarc.{zone}") == []  # ... while the public cannot see the zone
    assert not checker.delegation(zone, name_servers).delegated


def test_resolve_txt_joins_long_values(sandbox: Sandbox) -> None:
    client = dns_client(sandbox)
    zone = _unique_zone()
    _create_zone(client, zone)
    long_value = "v=spf1 " + " ".join(f"ip4:10.0.{i}.0/24" for i in range(40)) + " -all"
    assert len(long_value) > 600
    strings = [long_value[i : i + 255] for i in range(0, len(long_value), 255)]
    _put_txt(client, zone, "@", strings, ["other"])
    checker = _checker(sandbox)

    assert sorted(checker.resolve_txt(zone)) == sorted([long_value, "other"])
    assert checker.resolve_txt(f"nothing-here.{zone}") == []  # NXDOMAIN
    _put_cname(client, zone, "www", f"{zone}.")
    assert sorted(checker.resolve_txt(f"www.{zone}")) == sorted([long_value, "other"])  # through a CNAME
    _put_txt(client, zone, "sub", ["x"])
    _put_txt(client, zone, "a.b", ["x"])
    assert checker.resolve_txt(f"b.{zone}") == []  # NODATA: an empty non-terminal


def test_large_answers_fall_back_to_tcp(sandbox: Sandbox) -> None:
    """More than the EDNS size (1232 bytes): truncated over UDP, fetched again over TCP."""
    client = dns_client(sandbox)
    zone = _unique_zone()
    name_servers = _create_zone(client, zone)
    values = [f"{i}-" + "x" * 700 for i in range(3)]
    _put_txt(client, zone, "big", *[[v[:255], v[255:510], v[510:]] for v in values])
    expected = [ExpectedRecord(f"big.{zone}", RecordType.TXT, v) for v in values]
    query = dns.message.make_query(f"big.{zone}", "TXT", use_edns=0, payload=1232)
    assert dns.query.udp(query, "127.0.0.1", timeout=2, port=sandbox.dns_port).flags & dns.flags.TC
    checker = _checker(sandbox)
    assert checker.missing(name_servers, expected) == []
    assert sorted(checker.resolve_txt(f"big.{zone}")) == sorted(values)


def test_override_given_as_a_host_name(sandbox: Sandbox) -> None:
    client = dns_client(sandbox)
    zone = _unique_zone()
    name_servers = _create_zone(client, zone)
    _publish_all(client, zone)
    server = parse_dns_server(f"localhost:{sandbox.dns_port}")
    checker = DnsChecker([server], timeout=2)
    assert checker.missing(name_servers, _acs_records(zone)) == []
    absent = ExpectedRecord(f"absent.{zone}", RecordType.TXT, "x")
    assert checker.missing(name_servers, [absent]) == [(f"localhost:{sandbox.dns_port}", absent)]
    assert checker.resolve_txt(f"_dmarc.{zone}") == ["v=DMARC1; p=none"]
    assert checker.delegation(zone, name_servers).delegated


def test_wait_until_served_with_propagation_delay() -> None:
    with Sandbox(SandboxOptions(propagation_delay=0.5)) as sb:
        client = dns_client(sb)
        zone = _unique_zone()
        name_servers = _create_zone(client, zone)
        _publish_all(client, zone)
        expected = _acs_records(zone)
        checker = _checker(sb, timeout=1.0)

        assert checker.wait_until_served(name_servers, expected, timeout=0.01) == [
            (sb.dns_server, r) for r in expected
        ]
        start = time.monotonic()
        assert checker.wait_until_served(name_servers, expected, timeout=5, interval=0.1) == []
        assert time.monotonic() - start < 2


def test_wait_until_served_polls_on_the_given_clock(sandbox: Sandbox) -> None:
    client = dns_client(sandbox)
    zone = _unique_zone()
    name_servers = _create_zone(client, zone)
    record = ExpectedRecord(f"_dmarc.{zone}", RecordType.TXT, "v=DMARC1; p=none")
    now = [100.0]
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds
        if len(sleeps) == 3:  # the record lands while waiting
            _put_txt(client, zone, "_dmarc", ["v=DMARC1; p=none"])

    left = _checker(sandbox).wait_until_served(
        name_servers, [record], timeout=10, clock=lambda: now[0], sleep=sleep, interval=2
    )
    assert left == []
    assert sleeps == [2, 2, 2]

    sleeps.clear()
    other = ExpectedRecord(f"absent.{zone}", RecordType.CNAME, "target.example")
    left = _checker(sandbox).wait_until_served(
        name_servers, [other], timeout=5, clock=lambda: now[0], sleep=sleep, interval=2
    )
    assert left == [(sandbox.dns_server, other)]
    assert sleeps == [2, 2, 1]
