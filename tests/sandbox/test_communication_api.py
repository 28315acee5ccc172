"""The Microsoft.Communication operations beyond email domains, through the real azure-mgmt-communication
client: provider operations, name availability, keys, managed identity, SMTP usernames, sender usernames,
suppression lists, Exchange Online domains, linking rules and long-running operations."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from acs_sandbox import Sandbox, SandboxOptions
from acs_sandbox.lro import retry_hint
from tests.conftest import SUBSCRIPTION, communication_client


@pytest.fixture
def client(sandbox: Sandbox) -> Any:
    return communication_client(sandbox)


@pytest.fixture
def rg() -> str:
    return f"rg-{uuid.uuid4().hex[:8]}"


def make_cs(client: Any, rg: str, name: str = "acs", **properties: Any) -> Any:
    body: dict[str, Any] = {
        "location": "Global",
        "properties": {"dataLocation": "United States", **properties},
    }
    return client.communication_services.begin_create_or_update(rg, name, body).result()


def make_domain(client: Any, rg: str, name: str, management: str = "CustomerManaged", es: str = "es") -> Any:
    client.email_services.begin_create_or_update(
        rg, es, {"location": "global", "properties": {"dataLocation": "United States"}}
    ).result()
    body = {"location": "global", "properties": {"domainManagement": management}}
    return client.domains.begin_create_or_update(rg, es, name, body).result()


# ---- provider-level operations ------------------------------------------------------------------------
def test_operations_list(client: Any) -> None:
    operations = list(client.operations.list())
    names = {o.name for o in operations}
    assert {
        "Microsoft.Communication/EmailServices/Domains/write",
        "Microsoft.Communication/EmailServices/Domains/InitiateVerification/action",
        "Microsoft.Communication/EmailServices/Domains/SenderUsernames/write",
        "Microsoft.Communication/CommunicationServices/listKeys/action",
    } <= names
    assert all(o.display.provider == "Microsoft Communication" and o.display.operation for o in operations)
    assert all(o.is_data_action is False for o in operations)


def test_check_name_availability(client: Any, rg: str) -> None:
    name = f"acs-{uuid.uuid4().hex[:8]}"
    kind = "Microsoft.Communication/CommunicationServices"
    free = client.communication_services.check_name_availability({"name": name, "type": kind})
    assert (free.name_available, free.reason) == (True, "NameAvailable")
    make_cs(client, rg, name)
    taken = client.communication_services.check_name_availability({"name": name.upper(), "type": kind})
    assert (taken.name_available, taken.reason) == (False, "AlreadyExists")
    invalid = client.communication_services.check_name_availability({"name": "no spaces", "type": kind})
    assert (invalid.name_available, invalid.reason) == (False, "Invalid")
    with pytest.raises(HttpResponseError) as err:
        client.communication_services.check_name_availability({"name": name, "type": "Microsoft.Foo/bars"})
    assert err.value.status_code == 400


def test_verified_exchange_online_domains(client: Any, rg: str) -> None:
    make_domain(client, rg, "exchange.example.com", "CustomerManagedInExchangeOnline")
    make_domain(client, rg, "custom.example.com")
    domains = client.email_services.list_verified_exchange_online_domains()
    assert "exchange.example.com" in domains and "custom.example.com" not in domains


# ---- communication services ---------------------------------------------------------------------------
def test_keys_list_and_regenerate(client: Any, rg: str) -> None:
    created = make_cs(client, rg)
    keys = client.communication_services.list_keys(rg, "acs")
    assert len(keys.primary_key) == len(keys.secondary_key) == 88 and keys.primary_key != keys.secondary_key
    host = created.host_name
    assert host == "acs.unitedstates.communication.azure.com"
    assert keys.primary_connection_string == f"endpoint=https://{host}/;accesskey={keys.primary_key}"
    fresh = client.communication_services.regenerate_key(rg, "acs", {"keyType": "Primary"})
    assert fresh.primary_key not in (None, keys.primary_key) and fresh.secondary_key is None
    after = client.communication_services.list_keys(rg, "acs")
    assert (after.primary_key, after.secondary_key) == (fresh.primary_key, keys.secondary_key)
    with pytest.raises(HttpResponseError) as err:
        client.communication_services.regenerate_key(rg, "acs", {"keyType": "Tertiary"})
    assert err.value.status_code == 400
    with pytest.raises(ResourceNotFoundError):
        client.communication_services.list_keys(rg, "nope")


def test_settings_and_managed_identity(client: Any, rg: str) -> None:
    plain = make_cs(client, rg)
    assert plain.identity.type == "None"
    assert (plain.disable_local_auth, plain.public_network_access, plain.version) == (
        False,
        "Enabled",
        "0.2.0",
    )

    body = {
        "location": "Global",
        "identity": {"type": "SystemAssigned"},
        "properties": {
            "dataLocation": "United States",
            "disableLocalAuth": True,
            "publicNetworkAccess": "Disabled",
        },
    }
    created = client.communication_services.begin_create_or_update(rg, "acs2", body).result()
    assert (created.disable_local_auth, created.public_network_access) == (True, "Disabled")
    principal = created.identity.principal_id
    assert uuid.UUID(principal) and uuid.UUID(created.identity.tenant_id)

    uai = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/u"
    both = client.communication_services.update(
        rg, "acs2", {"identity": {"type": "SystemAssigned,UserAssigned", "userAssignedIdentities": {uai: {}}}}
    )
    assert both.identity.type == "SystemAssigned,UserAssigned"
    assert both.identity.principal_id == principal  # kept while the type keeps SystemAssigned
    assigned = both.identity.user_assigned_identities[uai]
    assert uuid.UUID(assigned.principal_id) and uuid.UUID(assigned.client_id)

    user_only = client.communication_services.update(rg, "acs2", {"identity": {"type": "UserAssigned"}})
    assert user_only.identity.principal_id is None and list(user_only.identity.user_assigned_identities) == [
        uai
    ]
    flipped = client.communication_services.update(
        rg,
        "acs2",
        {"tags": {"k": "v"}, "properties": {"disableLocalAuth": False, "publicNetworkAccess": "Enabled"}},
    )
    assert (flipped.disable_local_auth, flipped.public_network_access, flipped.tags) == (
        False,
        "Enabled",
        {"k": "v"},
    )
    assert flipped.identity.type == "UserAssigned"  # a PATCH without identity leaves it alone
    removed = client.communication_services.update(rg, "acs2", {"identity": {"type": "None"}})
    assert removed.identity.type == "None"
    assert client.communication_services.get(rg, "acs2").identity.type == "None"

    for bad in (
        {"identity": {"type": "Bogus"}},
        {"identity": {"type": "UserAssigned"}},
        {"properties": {"publicNetworkAccess": "Sometimes"}},
    ):
        with pytest.raises(HttpResponseError) as err:
            client.communication_services.update(rg, "acs2", bad)
        assert err.value.status_code == 400 and err.value.error.code


def test_link_notification_hub(client: Any, rg: str) -> None:
    make_cs(client, rg)
    hub = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{rg}/providers/Microsoft.NotificationHubs/namespaces/n/notificationHubs/h"
    linked = client.communication_services.link_notification_hub(
        rg,
        "acs",
        {"resourceId": hub, "connectionString": "Endpoint=sb://n.servicebus.windows.net/;SharedAccessKey=k"},
    )
    assert linked.resource_id == hub
    assert client.communication_services.get(rg, "acs").notification_hub_id == hub
    other = hub.replace(SUBSCRIPTION, str(uuid.uuid4()))
    with pytest.raises(HttpResponseError) as err:
        client.communication_services.link_notification_hub(
            rg, "acs", {"resourceId": other, "connectionString": "x"}
        )
    assert (err.value.status_code, err.value.error.code) == (400, "WrongSubscription")


def test_smtp_usernames(client: Any, rg: str) -> None:
    make_cs(client, rg)
    app, tenant = str(uuid.uuid4()), str(uuid.uuid4())
    body = {"properties": {"username": "relay@contoso.com", "entraApplicationId": app, "tenantId": tenant}}
    created = client.smtp_usernames.create_or_update(rg, "acs", "relay1", body)
    assert (created.name, created.username, created.entra_application_id, created.tenant_id) == (
        "relay1",
        "relay@contoso.com",
        app,
        tenant,
    )
    body["properties"]["username"] = "relay2@contoso.com"
    assert client.smtp_usernames.create_or_update(rg, "acs", "relay1", body).username == "relay2@contoso.com"
    assert [s.name for s in client.smtp_usernames.list(rg, "acs")] == ["relay1"]
    assert client.smtp_usernames.get(rg, "acs", "relay1").username == "relay2@contoso.com"
    with pytest.raises(HttpResponseError) as err:
        client.smtp_usernames.create_or_update(rg, "acs", "relay3", {"properties": {"username": "x"}})
    assert err.value.status_code == 400
    client.smtp_usernames.delete(rg, "acs", "relay1")
    client.smtp_usernames.delete(rg, "acs", "relay1")  # gone: 204
    with pytest.raises(ResourceNotFoundError):
        client.smtp_usernames.get(rg, "acs", "relay1")


# ---- sender usernames and suppression lists -------------------------------------------------------------
def test_sender_usernames(client: Any, sandbox: Sandbox, rg: str) -> None:
    make_domain(client, rg, "contoso.com")
    assert [
        (s.username, s.display_name) for s in client.sender_usernames.list_by_domains(rg, "es", "contoso.com")
    ] == [("DoNotReply", "DoNotReply")]
    billing = client.sender_usernames.create_or_update(
        rg, "es", "contoso.com", "billing", {"properties": {"username": "billing", "displayName": "Billing"}}
    )
    assert (billing.name, billing.username, billing.display_name) == ("billing", "billing", "Billing")
    assert billing.data_location == "United States" and billing.provisioning_state == "Succeeded"
    renamed = client.sender_usernames.create_or_update(
        rg, "es", "contoso.com", "billing", {"properties": {"username": "billing", "displayName": "Accounts"}}
    )
    assert renamed.display_name == "Accounts"
    puts = [
        e["status"]
        for e in sandbox.app.log.as_json()
        if e["method"] == "PUT" and f"/{rg}/" in e["path"] and e["path"].endswith("/senderUsernames/billing")
    ]
    assert puts == [201, 200]
    names = [s.username for s in client.sender_usernames.list_by_domains(rg, "es", "contoso.com")]
    assert names == ["billing", "DoNotReply"]
    assert client.sender_usernames.get(rg, "es", "contoso.com", "BILLING").display_name == "Accounts"

    for name, body in (
        ("other", {"properties": {"username": "billing"}}),  # differs from the resource name
        ("bad name", {"properties": {"username": "bad name"}}),
        ("x", {"properties": {}}),
    ):
        with pytest.raises(HttpResponseError) as err:
            client.sender_usernames.create_or_update(rg, "es", "contoso.com", name, body)
        assert err.value.status_code == 400

    client.sender_usernames.delete(rg, "es", "contoso.com", "billing")
    client.sender_usernames.delete(rg, "es", "contoso.com", "billing")  # gone: 204
    with pytest.raises(ResourceNotFoundError):
        client.sender_usernames.get(rg, "es", "contoso.com", "billing")
    with pytest.raises(ResourceNotFoundError):
        client.sender_usernames.create_or_update(rg, "es", "nope.com", "a", {"properties": {"username": "a"}})


def test_azure_managed_domain_sends_as_do_not_reply_only(client: Any, rg: str) -> None:
    make_domain(client, rg, "AzureManagedDomain", "AzureManaged")
    with pytest.raises(HttpResponseError) as err:
        client.sender_usernames.create_or_update(
            rg, "es", "AzureManagedDomain", "billing", {"properties": {"username": "billing"}}
        )
    assert err.value.status_code == 400


def test_suppression_lists_and_addresses(client: Any, rg: str) -> None:
    make_domain(client, rg, "contoso.com")
    list_id = str(uuid.uuid4())
    before = datetime.now(UTC).replace(microsecond=0)
    created = client.suppression_lists.create_or_update(
        rg, "es", "contoso.com", list_id, {"properties": {"listName": "DoNotReply"}}
    )
    assert (created.name, created.list_name, created.data_location) == (
        list_id,
        "DoNotReply",
        "United States",
    )
    created_at = datetime.fromisoformat(created.created_time_stamp)  # the SDK keeps this one a string
    assert before <= created_at <= datetime.now(UTC)  # when it was created, in UTC
    assert created.last_updated_time_stamp == created.created_time_stamp
    with pytest.raises(HttpResponseError) as err:  # the list name must be one of the domain's senders
        client.suppression_lists.create_or_update(
            rg, "es", "contoso.com", "l2", {"properties": {"listName": "nobody"}}
        )
    assert err.value.status_code == 400
    assert [s.name for s in client.suppression_lists.list_by_domain(rg, "es", "contoso.com")] == [list_id]

    address_id = str(uuid.uuid4())
    body = {"properties": {"email": "user@fabrikam.com", "firstName": "Ada", "notes": "bounced"}}
    before = datetime.now(UTC).replace(microsecond=0)
    address = client.suppression_list_addresses.create_or_update(
        rg, "es", "contoso.com", list_id, address_id, body
    )
    assert (address.email, address.first_name, address.last_name, address.notes) == (
        "user@fabrikam.com",
        "Ada",
        None,
        "bounced",
    )
    assert before <= address.last_modified <= datetime.now(UTC)  # when it was written, in UTC
    listed = list(client.suppression_list_addresses.list(rg, "es", "contoso.com", list_id))
    assert [a.email for a in listed] == ["user@fabrikam.com"]
    with pytest.raises(HttpResponseError) as err:
        client.suppression_list_addresses.create_or_update(
            rg, "es", "contoso.com", list_id, "a2", {"properties": {"email": "not-an-address"}}
        )
    assert err.value.status_code == 400
    with pytest.raises(ResourceNotFoundError):
        client.suppression_list_addresses.create_or_update(rg, "es", "contoso.com", "missing", "a3", body)

    client.suppression_list_addresses.delete(rg, "es", "contoso.com", list_id, address_id)
    with pytest.raises(ResourceNotFoundError):
        client.suppression_list_addresses.get(rg, "es", "contoso.com", list_id, address_id)
    client.suppression_lists.delete(rg, "es", "contoso.com", list_id)
    client.suppression_lists.delete(rg, "es", "contoso.com", list_id)  # gone: 204
    with pytest.raises(ResourceNotFoundError):
        client.suppression_lists.get(rg, "es", "contoso.com", list_id)


# ---- linking rules -------------------------------------------------------------------------------------
def test_a_linked_domain_cannot_be_deleted(client: Any, rg: str) -> None:
    domain = make_domain(client, rg, "AzureManagedDomain", "AzureManaged")  # verified from the start
    make_cs(client, rg, linkedDomains=[domain.id])
    for delete in (
        lambda: client.domains.begin_delete(rg, "es", "AzureManagedDomain").result(),
        lambda: client.email_services.begin_delete(rg, "es").result(),
    ):
        with pytest.raises(HttpResponseError) as err:
            delete()
        assert (err.value.status_code, err.value.error.code) == (400, "DomainLinkedToCommunicationService")
        assert "acs" in err.value.error.message
    assert client.domains.get(rg, "es", "AzureManagedDomain").id == domain.id
    client.communication_services.update(rg, "acs", {"properties": {"linkedDomains": []}})
    client.domains.begin_delete(rg, "es", "AzureManagedDomain").result()
    with pytest.raises(ResourceNotFoundError):
        client.domains.get(rg, "es", "AzureManagedDomain")


def test_link_needs_the_same_data_location(client: Any, rg: str) -> None:
    domain = make_domain(client, rg, "AzureManagedDomain", "AzureManaged")
    body = {"location": "Global", "properties": {"dataLocation": "Europe", "linkedDomains": [domain.id]}}
    with pytest.raises(HttpResponseError) as err:
        client.communication_services.begin_create_or_update(rg, "eu", body)
    assert (err.value.status_code, err.value.error.code) == (400, "DataLocationMismatch")
    with pytest.raises(ResourceNotFoundError):
        client.communication_services.get(rg, "eu")


# ---- long-running operations ------------------------------------------------------------------------------
def test_retry_hint_is_never_fractional() -> None:
    assert retry_hint(0) == {}
    assert retry_hint(0.0004) == {"retry-after-ms": "1"}
    assert retry_hint(0.05) == {"retry-after-ms": "50"}
    assert retry_hint(0.9991) == {"retry-after-ms": "1000"}
    assert retry_hint(1.0) == {"Retry-After": "1"}
    assert retry_hint(1.2) == {"Retry-After": "2"}


@pytest.fixture(scope="module")
def slow_ops() -> Iterator[Sandbox]:
    with Sandbox(SandboxOptions(operation_delay=1.0)) as sb:
        yield sb


def test_sdk_follows_operations_in_progress(slow_ops: Sandbox) -> None:
    """A 30 s polling_interval would make each operation last 30 s: the sandbox's retry-after-ms keeps the
    SDK's waits to the operation's own length, and the poller only ends once the operation has."""
    client = communication_client(slow_ops, polling_interval=30)
    rg = f"rg-{uuid.uuid4().hex[:8]}"
    started = time.monotonic()
    make_cs(client, rg)
    client.communication_services.begin_delete(rg, "acs").result()
    assert time.monotonic() - started < 15  # well under one 30 s polling_interval
    log = slow_ops.app.log.as_json()
    status_polls = [e["status"] for e in log if e["route"] == "communication.operation.status"]
    result_polls = [e["status"] for e in log if e["route"] == "communication.operation.result"]
    assert len(status_polls) >= 2 and set(status_polls) == {200}  # in progress, then succeeded
    assert result_polls[-1] == 204 and 202 in result_polls
    with pytest.raises(ResourceNotFoundError):
        client.communication_services.get(rg, "acs")


def test_resources_live_in_the_global_location_and_a_known_data_location(client: Any, rg: str) -> None:
    attempts = [
        lambda body: client.email_services.begin_create_or_update(rg, "es", body),
        lambda body: client.communication_services.begin_create_or_update(rg, "acs", body),
    ]
    for create in attempts:
        with pytest.raises(HttpResponseError) as err:
            create({"location": "westus", "properties": {"dataLocation": "United States"}})
        assert (err.value.status_code, err.value.error.code) == (400, "LocationNotAvailableForResourceType")
        with pytest.raises(HttpResponseError) as err:
            create({"location": "global", "properties": {"dataLocation": "Atlantis"}})
        assert (err.value.status_code, err.value.error.code) == (400, "InvalidDataLocation")
    make_domain(client, rg, "ok.example.com")
    with pytest.raises(HttpResponseError) as err:
        client.domains.begin_create_or_update(
            rg,
            "es",
            "contoso.com",
            {"location": "eastus", "properties": {"domainManagement": "CustomerManaged"}},
        )
    assert err.value.error.code == "LocationNotAvailableForResourceType"
    europe = client.email_services.begin_create_or_update(
        rg, "eu", {"location": "Global", "properties": {"dataLocation": "europe"}}
    ).result()
    assert (europe.location, europe.data_location) == ("Global", "europe")
