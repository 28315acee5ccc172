"""The sandbox's Microsoft.Network/dnsZones, driven only through the real `DnsManagementClient`."""

from __future__ import annotations

import io
import re
import uuid
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.core.rest import HttpRequest
from azure.mgmt.dns import DnsManagementClient
from azure.mgmt.dns.models import (
    AaaaRecord,
    ARecord,
    CaaRecord,
    CnameRecord,
    MxRecord,
    NsRecord,
    PtrRecord,
    RecordSet,
    SoaRecord,
    SrvRecord,
    TxtRecord,
    Zone,
    ZoneUpdate,
)

from acs_sandbox import Sandbox
from tests.conftest import SUBSCRIPTION, dns_client

RG = "rg-zones"


def unique(prefix: str = "z") -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}.example"


def with_status(pipeline_response: Any, deserialized: Any, headers: Any) -> tuple[int, Any, Any]:
    """`cls=` hook: the generated operations hand it the raw response, so tests can see 200 vs 201."""
    response = pipeline_response.http_response
    return response.status_code, deserialized, response.headers


def txt(*values: str, ttl: int | None = 3600, **kwargs: Any) -> RecordSet:
    return RecordSet(ttl=ttl, txt_records=[TxtRecord(value=[v]) for v in values], **kwargs)


def error_of(call: Any, *args: Any, **kwargs: Any) -> HttpResponseError:
    with pytest.raises(HttpResponseError) as info:
        call(*args, **kwargs)
    return info.value


@pytest.fixture(scope="module")
def client(sandbox: Sandbox) -> DnsManagementClient:
    return dns_client(sandbox)


@pytest.fixture
def zone(client: DnsManagementClient) -> str:
    name = unique()
    client.zones.create_or_update(RG, name, Zone(location="global"))
    return name


# ---- zones -----------------------------------------------------------------------------------------------
def test_zone_create_returns_azure_shape_with_soa_and_apex_ns(client: DnsManagementClient) -> None:
    name = unique()
    status, created, headers = client.zones.create_or_update(
        RG, name, Zone(location="global", tags={"env": "test"}), cls=with_status
    )
    assert status == 201
    assert headers["ETag"] == created.etag
    assert (
        created.id
        == f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{RG}/providers/Microsoft.Network/dnszones/{name}"
    )
    assert (created.name, created.type, created.location) == (name, "Microsoft.Network/dnszones", "global")
    assert created.tags == {"env": "test"}
    assert created.zone_type == "Public"
    assert (created.max_number_of_record_sets, created.max_number_of_records_per_record_set) == (10000, 20)
    assert created.number_of_record_sets == 2
    servers = created.name_servers
    n = re.fullmatch(r"ns1-0([1-9])\.azure-dns\.com\.", servers[0]).group(1)
    assert servers == [f"ns1-0{n}.azure-dns.com.", f"ns2-0{n}.azure-dns.net.", f"ns3-0{n}.azure-dns.org.",
                       f"ns4-0{n}.azure-dns.info."]  # fmt: skip

    ns = client.record_sets.get(RG, name, "@", "NS")
    assert [r.nsdname for r in ns.ns_records] == servers
    assert ns.fqdn == f"{name}." and ns.ttl == 172800
    soa = client.record_sets.get(RG, name, "@", "SOA").soa_record
    assert soa.host == servers[0] and soa.email == "azuredns-hostmaster.microsoft.com"
    assert soa.serial_number == 1 and soa.minimum_ttl == 300


def test_zone_put_again_replaces_with_200_and_new_etag(client: DnsManagementClient, zone: str) -> None:
    before = client.zones.get(RG, zone)
    status, after, _ = client.zones.create_or_update(
        RG, zone, Zone(location="global", tags={"a": "b"}), cls=with_status
    )
    assert status == 200
    assert after.etag != before.etag and after.tags == {"a": "b"}
    assert after.name_servers == before.name_servers and after.number_of_record_sets == 2


def test_zone_preconditions(client: DnsManagementClient, zone: str) -> None:
    etag = client.zones.get(RG, zone).etag
    err = error_of(client.zones.create_or_update, RG, zone, Zone(location="global"), if_none_match="*")
    assert (err.status_code, err.error.code) == (412, "PreconditionFailed")
    err = error_of(client.zones.create_or_update, RG, zone, Zone(location="global"), if_match="stale")
    assert (err.status_code, err.error.code) == (412, "PreconditionFailed")
    err = error_of(client.zones.create_or_update, RG, unique(), Zone(location="global"), if_match="*")
    assert err.status_code == 412
    updated = client.zones.create_or_update(RG, zone, Zone(location="global"), if_match=etag)
    assert updated.etag != etag
    status, _, _ = client.zones.create_or_update(
        RG, unique(), Zone(location="global"), if_none_match="*", cls=with_status
    )
    assert status == 201


def test_zone_patch_updates_tags_and_honours_if_match(client: DnsManagementClient, zone: str) -> None:
    etag = client.zones.get(RG, zone).etag
    patched = client.zones.update(RG, zone, ZoneUpdate(tags={"owner": "me"}), if_match=etag)
    assert patched.tags == {"owner": "me"} and patched.etag != etag
    err = error_of(client.zones.update, RG, zone, ZoneUpdate(tags={}), if_match=etag)
    assert (err.status_code, err.error.code) == (412, "PreconditionFailed")
    err = error_of(client.zones.update, RG, unique(), ZoneUpdate(tags={}))
    assert isinstance(err, ResourceNotFoundError) and err.error.code == "ResourceNotFound"


def test_zone_get_missing_is_arm_resource_not_found(client: DnsManagementClient) -> None:
    name = unique()
    err = error_of(client.zones.get, RG, name)
    assert isinstance(err, ResourceNotFoundError)
    assert (err.status_code, err.error.code) == (404, "ResourceNotFound")
    assert name in err.error.message


def test_zone_put_needs_a_global_location(client: DnsManagementClient) -> None:
    err = error_of(client.zones.create_or_update, RG, unique(), io.BytesIO(b"{}"))
    assert (err.status_code, err.error.code) == (400, "LocationRequired")
    err = error_of(client.zones.create_or_update, RG, unique(), Zone(location="westus"))
    assert (err.status_code, err.error.code) == (400, "LocationNotAvailableForResourceType")
    err = error_of(client.zones.create_or_update, RG, unique(), Zone(location="global", zone_type="Bogus"))
    assert (err.status_code, err.error.code) == (400, "BadRequest")
    err = error_of(
        client.zones.create_or_update, RG, unique(), io.BytesIO(b'{"location": "global", "tags": [1]}')
    )
    assert (err.status_code, err.error.code) == (400, "InvalidRequestContent")


def test_private_zone_has_no_name_servers_and_only_soa(client: DnsManagementClient) -> None:
    name = unique()
    created = client.zones.create_or_update(RG, name, Zone(location="global", zone_type="Private"))
    assert created.zone_type == "Private" and not created.name_servers
    assert created.number_of_record_sets == 1
    assert [r.type for r in client.record_sets.list_by_dns_zone(RG, name)] == [
        "Microsoft.Network/dnszones/SOA"
    ]
    client.record_sets.create_or_update(
        RG, name, "app", "A", RecordSet(ttl=60, a_records=[ARecord(ipv4_address="10.0.0.1")])
    )
    err = error_of(client.zones.create_or_update, RG, name, Zone(location="global"))  # Private -> Public
    assert (err.status_code, err.error.code) == (400, "BadRequest")


def test_zone_delete_completes_the_poller_and_is_idempotent(client: DnsManagementClient, zone: str) -> None:
    client.record_sets.create_or_update(RG, zone, "www", "TXT", txt("x"))
    poller = client.zones.begin_delete(RG, zone)
    assert poller.result() is None and poller.done()
    assert error_of(client.zones.get, RG, zone).status_code == 404
    err = error_of(client.record_sets.get, RG, zone, "www", "TXT")
    assert err.error.code == "ParentResourceNotFound"
    client.zones.begin_delete(RG, zone).result()  # already gone: 204, still completes
    # recreating starts from scratch
    again = client.zones.create_or_update(RG, zone, Zone(location="global"))
    assert again.number_of_record_sets == 2


def test_zone_delete_honours_if_match(client: DnsManagementClient, zone: str) -> None:
    err = error_of(client.zones.begin_delete, RG, zone, if_match="stale")
    assert (err.status_code, err.error.code) == (412, "PreconditionFailed")
    client.zones.begin_delete(RG, zone, if_match=client.zones.get(RG, zone).etag).result()
    assert error_of(client.zones.get, RG, zone).status_code == 404


def test_zone_lists_page_with_top_and_subscription_list_uses_lower_case_path(sandbox: Sandbox) -> None:
    client = dns_client(sandbox)
    rg = f"rg-list-{uuid.uuid4().hex[:6]}"
    names = sorted(unique() for _ in range(5))
    for name in names:
        client.zones.create_or_update(rg, name, Zone(location="global"))

    pages = [[z.name for z in page] for page in client.zones.list_by_resource_group(rg, top=2).by_page()]
    assert pages == [names[0:2], names[2:4], names[4:5]]
    assert [z.name for z in client.zones.list_by_resource_group(rg)] == names

    sandbox.app.log.reset()
    listed = [z.name for z in client.zones.list(top=3)]
    assert set(names) <= set(listed) and len(listed) == len(set(listed))
    sub_requests = [e for e in sandbox.app.log.as_json() if e["route"] == "dns.zones.list"]
    assert sub_requests and all("/providers/Microsoft.Network/dnszones" in e["path"] for e in sub_requests)
    assert all(e["status"] == 200 for e in sub_requests)
    assert any("$skipToken" in e["query"] for e in sub_requests)  # page 2+ came from the absolute nextLink


# ---- record sets -------------------------------------------------------------------------------------------
EVERY_TYPE = [
    ("A", RecordSet(ttl=60, a_records=[ARecord(ipv4_address="192.0.2.1"), ARecord(ipv4_address="192.0.2.2")]),
     lambda rs: [r.ipv4_address for r in rs.a_records] == ["192.0.2.1", "192.0.2.2"]),
    ("AAAA", RecordSet(ttl=60, aaaa_records=[AaaaRecord(ipv6_address="2001:db8::1")]),
     lambda rs: rs.aaaa_records[0].ipv6_address == "2001:db8::1"),
    ("CAA", RecordSet(ttl=60, caa_records=[CaaRecord(flags=0, tag="issue", value="letsencrypt.org")]),
     lambda rs: (rs.caa_records[0].flags, rs.caa_records[0].tag) == (0, "issue")),
    ("CNAME", RecordSet(ttl=60, cname_record=CnameRecord(cname="target.example.net")),
     lambda rs: rs.cname_record.cname == "target.example.net"),
    ("MX", RecordSet(ttl=60, mx_records=[MxRecord(preference=10, exchange="mx.example.net")]),
     lambda rs: (rs.mx_records[0].preference, rs.mx_records[0].exchange) == (10, "mx.example.net")),
    ("NS", RecordSet(ttl=60, ns_records=[NsRecord(nsdname="ns.example.net.")]),
     lambda rs: rs.ns_records[0].nsdname == "ns.example.net."),
    ("PTR", RecordSet(ttl=60, ptr_records=[PtrRecord(ptrdname="host.example.net")]),
     lambda rs: rs.ptr_records[0].ptrdname == "host.example.net"),
    ("SRV", RecordSet(ttl=60, srv_records=[SrvRecord(priority=1, weight=5, port=443, target="sip.example")]),
     lambda rs: (rs.srv_records[0].port, rs.srv_records[0].target) == (443, "sip.example")),
    ("TXT", RecordSet(ttl=60, txt_records=[TxtRecord(value=["part one", "part two"])]),
     lambda rs: rs.txt_records[0].value == ["part one", "part two"]),
]  # fmt: skip


@pytest.mark.parametrize(("rtype", "body", "check"), EVERY_TYPE, ids=[t[0] for t in EVERY_TYPE])
def test_every_type_round_trips(
    client: DnsManagementClient, zone: str, rtype: str, body: RecordSet, check: Any
) -> None:
    status, created, headers = client.record_sets.create_or_update(
        RG, zone, "rec", rtype, body, cls=with_status
    )
    assert status == 201 and headers["ETag"] == created.etag
    fetched = client.record_sets.get(RG, zone, "rec", rtype)
    for rs in (created, fetched):
        assert rs.id.endswith(f"/providers/Microsoft.Network/dnszones/{zone}/{rtype}/rec")
        assert (rs.name, rs.type, rs.fqdn) == ("rec", f"Microsoft.Network/dnszones/{rtype}", f"rec.{zone}.")
        assert (rs.ttl, rs.provisioning_state, rs.etag) == (60, "Succeeded", created.etag)
        assert check(rs)


def test_put_replaces_the_whole_set_and_changes_etag(client: DnsManagementClient, zone: str) -> None:
    first = client.record_sets.create_or_update(RG, zone, "@", "TXT", txt("one", "two", metadata={"k": "v"}))
    assert first.fqdn == f"{zone}." and first.name == "@"
    status, second, _ = client.record_sets.create_or_update(
        RG, zone, "@", "TXT", txt("three"), cls=with_status
    )
    assert status == 200
    assert second.etag != first.etag
    assert [r.value for r in second.txt_records] == [["three"]]
    assert not second.metadata


def test_missing_ttl_defaults_to_3600(client: DnsManagementClient, zone: str) -> None:
    created = client.record_sets.create_or_update(RG, zone, "nottl", "TXT", txt("x", ttl=None))
    assert created.ttl == 3600


def test_get_missing_record_set_is_arm_not_found(client: DnsManagementClient, zone: str) -> None:
    err = error_of(client.record_sets.get, RG, zone, "nothing", "TXT")
    assert isinstance(err, ResourceNotFoundError)
    assert (err.status_code, err.error.code) == (404, "NotFound")
    assert err.error.message == (
        f"The resource record 'nothing' does not exist in resource group '{RG}' "
        f"of subscription '{SUBSCRIPTION}'."
    )
    assert err.response.json() == {"error": {"code": "NotFound", "message": err.error.message}}


def test_record_sets_of_a_missing_zone_report_the_parent(client: DnsManagementClient) -> None:
    name = unique()
    for call, args in [
        (client.record_sets.get, ("www", "TXT")),
        (client.record_sets.create_or_update, ("www", "TXT", txt("x"))),
        (client.record_sets.delete, ("www", "TXT")),
        (lambda *a: list(client.record_sets.list_by_dns_zone(*a)), ()),
    ]:
        err = error_of(call, RG, name, *args)
        assert (err.status_code, err.error.code) == (404, "ParentResourceNotFound")
        assert err.error.message == (
            f"Can not perform requested operation on nested resource. Parent resource '{name}' not found."
        )


def test_names_and_types_are_case_insensitive(client: DnsManagementClient, zone: str) -> None:
    client.record_sets.create_or_update(RG, zone, "Mail", "txt", txt("first"))
    got = client.record_sets.get(RG, zone, "mAIL", "Txt")
    assert (got.name, got.type, got.fqdn) == ("Mail", "Microsoft.Network/dnszones/TXT", f"Mail.{zone}.")
    status, replaced, _ = client.record_sets.create_or_update(
        RG, zone, "MAIL", "TXT", txt("second"), cls=with_status
    )
    assert status == 200 and replaced.name == "Mail"
    assert [r.name for r in client.record_sets.list_by_type(RG, zone, "TXT")] == ["Mail"]


def test_patch_updates_only_the_fields_given(client: DnsManagementClient, zone: str) -> None:
    created = client.record_sets.create_or_update(
        RG, zone, "p", "TXT", txt("keep", metadata={"owner": "acs"})
    )
    patched = client.record_sets.update(RG, zone, "p", "TXT", RecordSet(ttl=120))
    assert patched.ttl == 120 and patched.metadata == {"owner": "acs"}
    assert [r.value for r in patched.txt_records] == [["keep"]] and patched.etag != created.etag
    patched = client.record_sets.update(
        RG, zone, "p", "TXT", RecordSet(txt_records=[TxtRecord(value=["new"])])
    )
    assert patched.ttl == 120 and [r.value for r in patched.txt_records] == [["new"]]
    err = error_of(client.record_sets.update, RG, zone, "p", "TXT", RecordSet(ttl=5), if_match=created.etag)
    assert (err.status_code, err.error.code) == (412, "PreconditionFailed")
    err = error_of(client.record_sets.update, RG, zone, "missing", "TXT", RecordSet(ttl=5))
    assert (err.status_code, err.error.code) == (404, "NotFound")
    err = error_of(client.record_sets.update, RG, zone, "p", "TXT", RecordSet(ttl=0))
    assert (err.status_code, err.error.code) == (400, "BadRequest")


def test_record_set_preconditions(client: DnsManagementClient, zone: str) -> None:
    created = client.record_sets.create_or_update(RG, zone, "@", "TXT", txt("a"), if_none_match="*")
    err = error_of(client.record_sets.create_or_update, RG, zone, "@", "TXT", txt("b"), if_none_match="*")
    assert (err.status_code, err.error.code) == (412, "PreconditionFailed")
    assert "If-None-Match" in err.error.message
    updated = client.record_sets.create_or_update(RG, zone, "@", "TXT", txt("b"), if_match=created.etag)
    err = error_of(client.record_sets.create_or_update, RG, zone, "@", "TXT", txt("c"), if_match=created.etag)
    assert (err.status_code, err.error.code) == (412, "PreconditionFailed")
    assert "If-Match" in err.error.message
    err = error_of(client.record_sets.create_or_update, RG, zone, "absent", "TXT", txt("c"), if_match="*")
    assert err.status_code == 412
    star = client.record_sets.create_or_update(RG, zone, "@", "TXT", txt("d"), if_match="*")
    assert star.etag not in (created.etag, updated.etag)
    assert [r.value for r in client.record_sets.get(RG, zone, "@", "TXT").txt_records] == [["d"]]


def test_delete_semantics(client: DnsManagementClient, zone: str) -> None:
    created = client.record_sets.create_or_update(RG, zone, "gone", "TXT", txt("x"))
    err = error_of(client.record_sets.delete, RG, zone, "gone", "TXT", if_match="stale")
    assert (err.status_code, err.error.code) == (412, "PreconditionFailed")
    status, _, _ = client.record_sets.delete(RG, zone, "gone", "TXT", if_match=created.etag, cls=with_status)
    assert status == 200
    assert error_of(client.record_sets.get, RG, zone, "gone", "TXT").status_code == 404
    status, _, _ = client.record_sets.delete(RG, zone, "gone", "TXT", cls=with_status)
    assert status == 204
    for rtype in ("NS", "SOA"):
        err = error_of(client.record_sets.delete, RG, zone, "@", rtype)
        assert (err.status_code, err.error.code) == (400, "BadRequest")
    assert client.zones.get(RG, zone).number_of_record_sets == 2


def test_soa_can_be_updated_but_not_created_and_keeps_its_host(
    client: DnsManagementClient, zone: str
) -> None:
    host = client.record_sets.get(RG, zone, "@", "SOA").soa_record.host
    body = RecordSet(
        ttl=3600, soa_record=SoaRecord(host="evil.example.", email="me.example.com", minimum_ttl=60)
    )
    updated = client.record_sets.create_or_update(RG, zone, "@", "SOA", body)
    soa = updated.soa_record
    assert (soa.host, soa.email, soa.minimum_ttl, soa.refresh_time) == (host, "me.example.com", 60, 3600)
    err = error_of(client.record_sets.create_or_update, RG, zone, "sub", "SOA", body)
    assert (err.status_code, err.error.code) == (400, "BadRequest")


def test_number_of_record_sets_follows_writes(client: DnsManagementClient, zone: str) -> None:
    for i in range(3):
        client.record_sets.create_or_update(RG, zone, f"n{i}", "TXT", txt("x"))
    assert client.zones.get(RG, zone).number_of_record_sets == 5
    client.record_sets.delete(RG, zone, "n0", "TXT")
    assert client.zones.get(RG, zone).number_of_record_sets == 4


# ---- Azure DNS rules: 400 with ARM's {"error": {"code": "BadRequest", ...}} body -------------------------------
def bad_request(client: DnsManagementClient, zone: str, name: str, rtype: str, body: Any) -> str:
    err = error_of(client.record_sets.create_or_update, RG, zone, name, rtype, body)
    assert (err.status_code, err.error.code) == (400, "BadRequest")
    assert err.response.json() == {"error": {"code": "BadRequest", "message": err.error.message}}
    return err.error.message


def test_txt_string_over_255_characters(client: DnsManagementClient, zone: str) -> None:
    assert "255" in bad_request(client, zone, "long", "TXT", txt("x" * 256))
    assert client.record_sets.create_or_update(RG, zone, "long", "TXT", txt("x" * 255)).txt_records


def test_txt_set_over_4096_characters(client: DnsManagementClient, zone: str) -> None:
    body = txt(*(["y" * 255] * 16 + ["z" * 17]))  # 4097
    message = bad_request(client, zone, "big", "TXT", body)
    assert message == "The combined length of all TXT records in a record set may not exceed 4096 characters."
    assert client.record_sets.create_or_update(RG, zone, "big", "TXT", txt(*(["y" * 255] * 16 + ["z" * 16])))


def test_more_than_20_records(client: DnsManagementClient, zone: str) -> None:
    records = [ARecord(ipv4_address=f"192.0.2.{i}") for i in range(21)]
    assert "20" in bad_request(client, zone, "many", "A", RecordSet(ttl=60, a_records=records))
    assert client.record_sets.create_or_update(
        RG, zone, "many", "A", RecordSet(ttl=60, a_records=records[:20])
    )


def test_cname_at_apex(client: DnsManagementClient, zone: str) -> None:
    message = bad_request(
        client, zone, "@", "CNAME", RecordSet(ttl=60, cname_record=CnameRecord(cname="x.example"))
    )
    assert "apex" in message


def test_cname_cannot_coexist_with_other_types(client: DnsManagementClient, zone: str) -> None:
    cname = RecordSet(ttl=60, cname_record=CnameRecord(cname="target.example"))
    client.record_sets.create_or_update(RG, zone, "both", "TXT", txt("x"))
    assert "TXT" in bad_request(client, zone, "BOTH", "CNAME", cname)
    client.record_sets.create_or_update(RG, zone, "alias", "CNAME", cname)
    assert "CNAME" in bad_request(client, zone, "Alias", "TXT", txt("x"))
    assert client.record_sets.create_or_update(RG, zone, "alias", "CNAME", cname)  # replacing itself is fine


@pytest.mark.parametrize("ttl", [0, -1, 2**31])
def test_ttl_out_of_range(client: DnsManagementClient, zone: str, ttl: int) -> None:
    assert "TTL" in bad_request(client, zone, "ttl", "TXT", txt("x", ttl=ttl))


def test_ttl_bounds_are_accepted(client: DnsManagementClient, zone: str) -> None:
    assert client.record_sets.create_or_update(RG, zone, "lo", "TXT", txt("x", ttl=1)).ttl == 1
    assert (
        client.record_sets.create_or_update(RG, zone, "hi", "TXT", txt("x", ttl=2**31 - 1)).ttl == 2**31 - 1
    )


def test_records_that_do_not_match_the_url_type(client: DnsManagementClient, zone: str) -> None:
    body = RecordSet(ttl=60, a_records=[ARecord(ipv4_address="192.0.2.1")])
    assert "ARecords" in bad_request(client, zone, "mismatch", "TXT", body)


def test_invalid_record_values(client: DnsManagementClient, zone: str) -> None:
    bad_request(client, zone, "ip", "A", RecordSet(ttl=60, a_records=[ARecord(ipv4_address="2001:db8::1")]))
    bad_request(
        client, zone, "ip", "AAAA", RecordSet(ttl=60, aaaa_records=[AaaaRecord(ipv6_address="192.0.2.1")])
    )
    bad_request(
        client, zone, "mx", "MX", RecordSet(ttl=60, mx_records=[MxRecord(preference=70000, exchange="m.x")])
    )
    bad_request(client, zone, "a..b", "TXT", txt("x"))


def test_zone_record_set_limit(client: DnsManagementClient, sandbox: Sandbox, zone: str) -> None:
    path = f"/_sandbox/subscriptions/{SUBSCRIPTION}/resourceGroups/{RG}/dnsZones/{zone}/limits"
    url = sandbox.arm_endpoint + path
    assert client._send_request(HttpRequest("PUT", url, json={"maxNumberOfRecordSets": 4})).status_code == 204
    assert client.zones.get(RG, zone).max_number_of_record_sets == 4
    client.record_sets.create_or_update(RG, zone, "one", "TXT", txt("x"))
    client.record_sets.create_or_update(RG, zone, "two", "TXT", txt("x"))  # SOA + NS + 2 = 4
    assert "4" in bad_request(client, zone, "three", "TXT", txt("x"))
    assert client.record_sets.create_or_update(RG, zone, "two", "TXT", txt("y"))  # replacing is not growing
    client.record_sets.delete(RG, zone, "one", "TXT")
    assert client.record_sets.create_or_update(RG, zone, "three", "TXT", txt("x"))


# ---- listing -----------------------------------------------------------------------------------------------
def test_list_by_type_pages_with_top_and_suffix(client: DnsManagementClient, zone: str) -> None:
    names = [f"r{i}.mail" for i in range(5)] + ["mail", "other"]
    for name in names:
        client.record_sets.create_or_update(RG, zone, name, "TXT", txt("x"))
    client.record_sets.create_or_update(RG, zone, "r9.mail", "A", RecordSet(ttl=60, a_records=[]))

    pages = [
        [r.name for r in page] for page in client.record_sets.list_by_type(RG, zone, "TXT", top=2).by_page()
    ]
    assert pages == [["mail", "other"], ["r0.mail", "r1.mail"], ["r2.mail", "r3.mail"], ["r4.mail"]]
    suffixed = client.record_sets.list_by_type(RG, zone, "txt", top=2, recordsetnamesuffix="mail").by_page()
    assert [[r.name for r in page] for page in suffixed] == [
        ["mail", "r0.mail"],
        ["r1.mail", "r2.mail"],
        ["r3.mail", "r4.mail"],
    ]


def test_list_all_record_sets(client: DnsManagementClient, zone: str) -> None:
    client.record_sets.create_or_update(RG, zone, "@", "TXT", txt("x"))
    client.record_sets.create_or_update(
        RG, zone, "www", "CNAME", RecordSet(ttl=60, cname_record=CnameRecord(cname="a.b"))
    )
    expected = [("@", "NS"), ("@", "SOA"), ("@", "TXT"), ("www", "CNAME")]
    for listing in (client.record_sets.list_by_dns_zone, client.record_sets.list_all_by_dns_zone):
        pages = list(listing(RG, zone, top=3).by_page())
        assert len(pages) == 2
        assert [(r.name, r.type.rsplit("/", 1)[1]) for page in pages for r in page] == expected
    only = client.record_sets.list_all_by_dns_zone(RG, zone, record_set_name_suffix="www")
    assert [r.name for r in only] == ["www"]
    assert [r.name for r in client.record_sets.list_by_dns_zone(RG, zone, recordsetnamesuffix="@")] == [
        "@"
    ] * 3
