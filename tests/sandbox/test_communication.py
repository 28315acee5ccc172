"""The sandbox's Microsoft.Communication routes, driven through the real azure-mgmt-communication client."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.core.rest import HttpRequest
from azure.mgmt.communication.models import VerificationStatus

from acs_sandbox import Sandbox, SandboxOptions
from acs_sandbox.comm_common import PAGE_SIZE
from tests.conftest import SUBSCRIPTION, communication_client

API = "api-version=2025-09-01"
DOMAIN_TYPES = ("Domain", "SPF", "DKIM", "DKIM2", "DMARC")
TOKEN = re.compile(r"ms-domain-verification=[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")


@pytest.fixture
def client(sandbox: Sandbox) -> Any:
    return communication_client(sandbox)


@pytest.fixture(scope="module")
def slow_ops() -> Iterator[Sandbox]:
    """Operations that stay in progress long enough to observe (and to need whole-second Retry-After)."""
    with Sandbox(SandboxOptions(operation_delay=1.5)) as sb:
        yield sb


@pytest.fixture(scope="module")
def default_ops() -> Iterator[Sandbox]:
    """The sandbox's default operation length (50 ms): a create is still "Accepted" when it answers."""
    with Sandbox(SandboxOptions()) as sb:
        yield sb


@pytest.fixture
def rg() -> str:
    return f"rg-{uuid.uuid4().hex[:8]}"


def rg_path(rg: str) -> str:
    return f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{rg}/providers/Microsoft.Communication"


def make_service(client: Any, rg: str, name: str = "es", data_location: str = "United States") -> Any:
    body = {"location": "global", "properties": {"dataLocation": data_location}}
    return client.email_services.begin_create_or_update(rg, name, body).result()


def make_domain(client: Any, rg: str, name: str, management: str = "CustomerManaged", es: str = "es") -> Any:
    body = {"location": "global", "properties": {"domainManagement": management}}
    return client.domains.begin_create_or_update(rg, es, name, body).result()


def statuses(sb: Sandbox, method: str, path_part: str) -> list[int]:
    return [e["status"] for e in sb.app.log.as_json() if e["method"] == method and path_part in e["path"]]


def raw(client: Any, method: str, url: str, body: Any = None) -> Any:
    response = client.send_request(HttpRequest(method, url, json=body))
    response.read()
    return response


def follow(client: Any, status_url: str) -> list[dict[str, Any]]:
    """GET an Azure-AsyncOperation URL until a terminal status, waiting what each answer's hint says (as
    ARMPolling does); return every body seen. Each in-progress answer must carry a usable hint."""
    seen = []
    for _ in range(100):
        response = raw(client, "GET", status_url)
        assert response.status_code == 200
        seen.append(response.json())
        if seen[-1]["status"] in ("Succeeded", "Failed", "Canceled"):
            return seen
        time.sleep(retry_seconds(response.headers))
    raise AssertionError(f"operation never finished: {seen[-1]}")


def retry_seconds(headers: Any) -> float:
    """The delay a 202 or an in-progress status asks for: whole seconds or milliseconds, never both."""
    assert ("Retry-After" in headers) != ("retry-after-ms" in headers), dict(headers)
    if "Retry-After" in headers:
        assert headers["Retry-After"].isdigit() and int(headers["Retry-After"]) >= 1
        return int(headers["Retry-After"])
    assert headers["retry-after-ms"].isdigit() and int(headers["retry-after-ms"]) >= 1
    return int(headers["retry-after-ms"]) / 1000


# ---- email services ---------------------------------------------------------------------------------
def test_email_service_create_get_replace_delete(client: Any, sandbox: Sandbox, rg: str) -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    created = make_service(client, rg)
    assert created.id == f"{rg_path(rg)}/emailServices/es"
    assert (created.name, created.type, created.location) == (
        "es",
        "Microsoft.Communication/EmailServices",
        "global",
    )
    assert created.data_location == "United States"
    assert created.provisioning_state == "Succeeded"
    assert before <= created.system_data.created_at <= datetime.now(UTC)  # when it was created, in UTC
    assert created.system_data.last_modified_at == created.system_data.created_at
    got = client.email_services.get(rg, "es")
    assert got.as_dict() == created.as_dict()

    body = {"location": "global", "tags": {"team": "mail"}, "properties": {"dataLocation": "United States"}}
    replaced = client.email_services.begin_create_or_update(rg, "es", body).result()
    assert replaced.tags == {"team": "mail"}
    assert statuses(sandbox, "PUT", f"{rg}/providers/Microsoft.Communication/emailServices/es") == [201, 200]

    client.email_services.begin_delete(rg, "es").result()
    with pytest.raises(ResourceNotFoundError) as err:
        client.email_services.get(rg, "es")
    assert err.value.error.code == "ResourceNotFound"
    client.email_services.begin_delete(rg, "es").result()  # deleting what is gone is fine (204)


def test_email_service_create_wire(slow_ops: Sandbox, rg: str) -> None:
    client, sandbox = communication_client(slow_ops), slow_ops
    url = f"{rg_path(rg)}/emailServices/wire?{API}"
    response = raw(client, "PUT", url, {"location": "global", "properties": {"dataLocation": "Europe"}})
    assert response.status_code == 201
    assert response.json()["properties"] == {"provisioningState": "Accepted", "dataLocation": "Europe"}
    status_url = response.headers["Azure-AsyncOperation"]
    assert status_url.startswith(f"{sandbox.arm_endpoint}/subscriptions/{SUBSCRIPTION}/providers/")
    seen = follow(client, status_url)
    assert [s["status"] for s in seen[:-1]] == ["Accepted"] * (len(seen) - 1) and len(seen) >= 2
    assert seen[-1]["status"] == "Succeeded"
    assert {"id", "name", "resourceId", "startTime", "endTime"} <= seen[-1].keys()
    assert seen[-1]["resourceId"] == f"{rg_path(rg)}/emailServices/wire"


def test_email_service_requires_data_location(client: Any, rg: str) -> None:
    with pytest.raises(HttpResponseError) as err:
        client.email_services.begin_create_or_update(
            rg, "es", {"location": "global", "properties": {}}
        ).result()
    assert err.value.status_code == 400
    with pytest.raises(ResourceNotFoundError):
        client.email_services.get(rg, "es")


def test_email_service_update_tags(client: Any, rg: str) -> None:
    make_service(client, rg)
    updated = client.email_services.begin_update(rg, "es", {"tags": {"a": "b"}}).result()
    assert updated.tags == {"a": "b"}
    assert client.email_services.get(rg, "es").tags == {"a": "b"}


def test_email_service_lists_are_paged(client: Any, sandbox: Sandbox, rg: str) -> None:
    names = [f"es{i:03d}" for i in range(PAGE_SIZE + 2)]
    make_service(client, rg, names[0])  # one through ARM, the rest seeded (the listing is the subject)
    sandbox.seed(
        {
            "email_service": [
                {"subscription": SUBSCRIPTION, "resource_group": rg, "name": n} for n in names[1:]
            ]
        }
    )
    assert [s.name for s in client.email_services.list_by_resource_group(rg)] == names
    assert any("$skipToken" in e["query"] for e in sandbox.app.log.as_json() if rg in e["path"])
    in_subscription = {s.id for s in client.email_services.list_by_subscription()}
    assert {f"{rg_path(rg)}/emailServices/{n}" for n in names} <= in_subscription


def test_deleting_an_email_service_deletes_its_domains(client: Any, rg: str) -> None:
    make_service(client, rg)
    make_domain(client, rg, "gone.example.com")
    client.email_services.begin_delete(rg, "es").result()
    make_service(client, rg)
    with pytest.raises(ResourceNotFoundError):
        client.domains.get(rg, "es", "gone.example.com")


# ---- domains ----------------------------------------------------------------------------------------
def test_customer_managed_domain_shape(client: Any, rg: str) -> None:
    make_service(client, rg)
    domain = make_domain(client, rg, "contoso.com")
    assert domain.id == f"{rg_path(rg)}/emailServices/es/domains/contoso.com"
    assert (domain.name, domain.type, domain.location) == (
        "contoso.com",
        "Microsoft.Communication/EmailServices/Domains",
        "Global",
    )
    assert domain.provisioning_state == "Succeeded"
    assert domain.data_location == "unitedstates"
    assert domain.from_sender_domain == domain.mail_from_sender_domain == "contoso.com"
    assert domain.domain_management == "CustomerManaged"
    assert domain.user_engagement_tracking == "Disabled"

    records = domain.verification_records
    assert TOKEN.match(records.domain.value)
    assert (records.domain.type, records.domain.name, records.domain.ttl) == ("TXT", "contoso.com", 3600)
    assert records.spf.as_dict() == {
        "type": "TXT",
        "name": "contoso.com",
        "value": "v=spf1 include:spf.protection.outlook.com -all",
        "ttl": 3600,
    }
    for record, selector in ((records.dkim, "selector1"), (records.dkim2, "selector2")):
        assert record.as_dict() == {
            "type": "CNAME",
            "name": f"{selector}-azurecomm-prod-net._domainkey",
            "value": f"{selector}-azurecomm-prod-net._domainkey.azurecomm.net",
            "ttl": 3600,
        }
    assert records.dmarc is None
    wire = domain.as_dict()["properties"]
    assert list(wire["verificationRecords"]) == ["Domain", "SPF", "DKIM", "DKIM2"]
    assert wire["verificationStates"] == {
        kind: {"status": "NotStarted", "errorCode": ""} for kind in DOMAIN_TYPES
    }
    assert domain.verification_states.dkim2.status == VerificationStatus.NOT_STARTED

    other = make_domain(client, rg, "fabrikam.com")
    assert other.verification_records.domain.value != records.domain.value


def test_domain_create_wire_and_replace(default_ops: Sandbox, rg: str) -> None:
    sandbox, client = default_ops, communication_client(default_ops)
    make_service(client, rg)
    url = f"{rg_path(rg)}/emailServices/es/domains/wire.example.com?{API}"
    response = raw(
        client, "PUT", url, {"location": "global", "properties": {"domainManagement": "CustomerManaged"}}
    )
    assert response.status_code == 201
    assert response.json()["properties"]["provisioningState"] == "Accepted"
    assert response.headers["Azure-AsyncOperation"].startswith(sandbox.arm_endpoint)
    token = client.domains.get(rg, "es", "wire.example.com").verification_records.domain.value

    body = {"location": "global", "tags": {"k": "v"}, "properties": {"domainManagement": "CustomerManaged"}}
    replaced = client.domains.begin_create_or_update(rg, "es", "wire.example.com", body).result()
    assert replaced.tags == {"k": "v"}
    assert replaced.verification_records.domain.value == token  # the token survives a replace
    assert statuses(sandbox, "PUT", f"{rg}/providers/Microsoft.Communication/emailServices/es/domains/") == [
        201,
        200,
    ]


def test_domain_update(client: Any, rg: str) -> None:
    make_service(client, rg)
    make_domain(client, rg, "contoso.com")
    body = {"tags": {"x": "y"}, "properties": {"userEngagementTracking": "Enabled"}}
    updated = client.domains.begin_update(rg, "es", "contoso.com", body).result()
    assert (updated.tags, updated.user_engagement_tracking) == ({"x": "y"}, "Enabled")
    assert client.domains.get(rg, "es", "contoso.com").user_engagement_tracking == "Enabled"


def test_domain_list_is_paged(client: Any, sandbox: Sandbox, rg: str) -> None:
    make_service(client, rg)
    names = sorted(f"d{i:03d}.example.com" for i in range(PAGE_SIZE + 1))
    make_domain(client, rg, names[0])  # one through ARM, the rest seeded (the listing is the subject)
    sandbox.seed(
        {
            "email_service": [
                {
                    "subscription": SUBSCRIPTION,
                    "resource_group": rg,
                    "name": "es",
                    "domain": [{"name": n} for n in names],
                }
            ]
        }
    )
    assert [d.name for d in client.domains.list_by_email_service_resource(rg, "es")] == names
    assert any("$skipToken" in e["query"] for e in sandbox.app.log.as_json() if rg in e["path"])


def test_domain_errors(client: Any, rg: str) -> None:
    body = {"location": "global", "properties": {"domainManagement": "CustomerManaged"}}
    with pytest.raises(ResourceNotFoundError):  # no such email service
        client.domains.begin_create_or_update(rg, "es", "contoso.com", body).result()
    make_service(client, rg)
    with pytest.raises(HttpResponseError) as err:
        client.domains.begin_create_or_update(
            rg, "es", "contoso.com", {"location": "global", "properties": {}}
        )
    assert (err.value.status_code, err.value.error.code) == (400, "InvalidRequest")
    with pytest.raises(ResourceNotFoundError) as missing:
        client.domains.get(rg, "es", "contoso.com")
    assert missing.value.error.code == "ResourceNotFound"
    with pytest.raises(ResourceNotFoundError):
        client.domains.list_by_email_service_resource(rg, "nope").next()


def test_azure_managed_domain(client: Any, rg: str) -> None:
    make_service(client, rg)
    domain = make_domain(client, rg, "AzureManagedDomain", "AzureManaged")
    assert domain.name == "AzureManagedDomain"
    assert re.fullmatch(r"[0-9a-f-]{36}\.azurecomm\.net", domain.from_sender_domain)
    assert domain.mail_from_sender_domain == domain.from_sender_domain
    assert domain.as_dict()["properties"]["verificationRecords"] == {}
    assert all(domain.verification_states[k]["status"] == "Verified" for k in DOMAIN_TYPES)
    with pytest.raises(HttpResponseError) as err:
        make_domain(client, rg, "contoso.com", "AzureManaged")
    assert err.value.status_code == 400


def test_exchange_online_domain(client: Any, rg: str) -> None:
    make_service(client, rg)
    domain = make_domain(client, rg, "contoso.com", "CustomerManagedInExchangeOnline")
    assert domain.domain_management == "CustomerManagedInExchangeOnline"
    assert domain.as_dict()["properties"]["verificationRecords"] == {}
    assert all(domain.verification_states[k]["status"] == "NotStarted" for k in DOMAIN_TYPES)


def test_domain_delete_lro(client: Any, sandbox: Sandbox, rg: str) -> None:
    make_service(client, rg)
    make_domain(client, rg, "contoso.com")
    assert client.domains.begin_delete(rg, "es", "contoso.com").result() is None
    with pytest.raises(ResourceNotFoundError):
        client.domains.get(rg, "es", "contoso.com")
    assert statuses(
        sandbox, "DELETE", f"{rg}/providers/Microsoft.Communication/emailServices/es/domains/"
    ) == [202]
    client.domains.begin_delete(rg, "es", "contoso.com").result()  # already gone: 204


def test_dmarc_record_admin_knob(client: Any, sandbox: Sandbox, rg: str) -> None:
    make_service(client, rg)
    make_domain(client, rg, "contoso.com")
    admin = f"/_sandbox/subscriptions/{SUBSCRIPTION}/resourceGroups/{rg}/emailServices/es/domains/contoso.com/dmarc"
    assert raw(client, "PUT", admin, {"enabled": True}).status_code == 204
    dmarc = client.domains.get(rg, "es", "contoso.com").verification_records.dmarc
    assert dmarc.as_dict() == {
        "type": "TXT",
        "name": "_dmarc.contoso.com",
        "value": "v=DMARC1; p=none;",
        "ttl": 3600,
    }
    assert raw(client, "PUT", admin.replace("contoso.com", "nope.com"), {}).status_code == 404


# ---- initiate / cancel verification -------------------------------------------------------------------
def test_initiate_verification_wire(slow_ops: Sandbox, rg: str) -> None:
    client, sandbox = communication_client(slow_ops), slow_ops
    # seeded: creating them through ARM would wait out two more slow operations
    service = {"subscription": SUBSCRIPTION, "resource_group": rg, "name": "es"}
    sandbox.seed({"email_service": [{**service, "domain": [{"name": "contoso.com"}]}]})
    url = f"{rg_path(rg)}/emailServices/es/domains/contoso.com/initiateVerification?{API}"
    response = raw(client, "POST", url, {"verificationType": "Domain"})
    assert response.status_code == 202
    assert response.content == b"null"
    assert response.headers["Retry-After"] == "2"  # 1.5 s to go: whole seconds, rounded up
    status_url, result_url = response.headers["Azure-AsyncOperation"], response.headers["Location"]
    assert status_url.startswith(sandbox.arm_endpoint) and result_url.startswith(sandbox.arm_endpoint)
    in_progress = raw(client, "GET", result_url)
    assert in_progress.status_code == 202 and in_progress.headers["Location"] == result_url
    seen = follow(client, status_url)
    assert {s["status"] for s in seen[:-1]} == {"InProgress"}
    assert seen[-1]["status"] == "Succeeded" and seen[-1]["properties"] is None
    assert {"id", "name", "startTime", "endTime"} <= seen[-1].keys()
    assert raw(client, "GET", result_url).status_code == 204


def test_initiate_and_cancel_complete_through_the_poller(client: Any, sandbox: Sandbox, rg: str) -> None:
    make_service(client, rg)
    make_domain(client, rg, "contoso.com")
    for kind in DOMAIN_TYPES:
        assert (
            client.domains.begin_initiate_verification(
                rg, "es", "contoso.com", {"verificationType": kind}
            ).result()
            is None
        )
    client.domains.begin_cancel_verification(rg, "es", "contoso.com", {"verificationType": "SPF"}).result()
    path = f"{rg}/providers/Microsoft.Communication/emailServices/es/domains/contoso.com/"
    assert statuses(sandbox, "POST", path) == [202] * 6


@pytest.mark.parametrize("body", [{}, {"verificationType": "Bogus"}])
def test_initiate_verification_bad_type(client: Any, rg: str, body: dict[str, str]) -> None:
    make_service(client, rg)
    make_domain(client, rg, "contoso.com")
    with pytest.raises(HttpResponseError) as err:
        client.domains.begin_initiate_verification(rg, "es", "contoso.com", body)
    assert err.value.status_code == 400


def test_verification_of_unknown_domain_is_404(client: Any, rg: str) -> None:
    make_service(client, rg)
    for begin in (client.domains.begin_initiate_verification, client.domains.begin_cancel_verification):
        with pytest.raises(ResourceNotFoundError):
            begin(rg, "es", "nope.com", {"verificationType": "Domain"})


# ---- communication services ---------------------------------------------------------------------------
def make_communication(
    client: Any, rg: str, linked: list[str] | None = None, data_location: str = "United States"
) -> Any:
    body: dict[str, Any] = {"location": "global", "properties": {"dataLocation": data_location}}
    if linked is not None:
        body["properties"]["linkedDomains"] = linked
    return client.communication_services.begin_create_or_update(rg, "acs", body).result()


def test_communication_service_links_verified_domains(client: Any, rg: str) -> None:
    # Azure-managed domains are verified from the start; DNS-verified ones are linked in test_verification
    for es in ("es-a", "es-b"):
        make_service(client, rg, es)
    a = make_domain(client, rg, "AzureManagedDomain", "AzureManaged", es="es-a")
    b = make_domain(client, rg, "AzureManagedDomain", "AzureManaged", es="es-b")
    created = make_communication(client, rg, [a.id])
    assert created.linked_domains == [a.id]
    assert created.type == "Microsoft.Communication/CommunicationServices"
    assert client.communication_services.get(rg, "acs").linked_domains == [a.id]
    # PATCH replaces the whole list
    updated = client.communication_services.update(rg, "acs", {"properties": {"linkedDomains": [b.id]}})
    assert updated.linked_domains == [b.id]
    both = client.communication_services.update(rg, "acs", {"properties": {"linkedDomains": [a.id, b.id]}})
    assert both.linked_domains == [a.id, b.id]
    assert [s.name for s in client.communication_services.list_by_resource_group(rg)] == ["acs"]


def test_linking_errors(client: Any, rg: str) -> None:
    make_service(client, rg)
    unverified = make_domain(client, rg, "contoso.com")
    make_service(client, rg, "eu", data_location="Europe")
    european = make_domain(client, rg, "AzureManagedDomain", "AzureManaged", es="eu")
    make_communication(client, rg)

    def link(ids: list[str]) -> HttpResponseError:
        with pytest.raises(HttpResponseError) as err:
            client.communication_services.update(rg, "acs", {"properties": {"linkedDomains": ids}})
        assert err.value.status_code == 400
        return err.value

    error = link([unverified.id])
    assert error.error.code == "DomainValidationError"
    assert (
        "Requested domain is not in a valid state for linking to CommunicationServices resource"
        in error.message
    )
    link([f"{rg_path(rg)}/emailServices/es/domains/missing.com"])
    link(["not-a-resource-id"])
    link([european.id])  # data location mismatch
    assert client.communication_services.get(rg, "acs").linked_domains == []


def test_user_engagement_tracking_is_validated_on_put_and_patch(client: Any, rg: str) -> None:
    make_service(client, rg)
    body = {
        "location": "global",
        "properties": {"domainManagement": "CustomerManaged", "userEngagementTracking": "On"},
    }
    with pytest.raises(HttpResponseError) as err:
        client.domains.begin_create_or_update(rg, "es", "contoso.com", body)
    assert err.value.status_code == 400
    make_domain(client, rg, "contoso.com")
    with pytest.raises(HttpResponseError) as err:
        client.domains.begin_update(rg, "es", "contoso.com", {"properties": {"userEngagementTracking": "On"}})
    assert err.value.status_code == 400
    assert client.domains.get(rg, "es", "contoso.com").user_engagement_tracking == "Disabled"
