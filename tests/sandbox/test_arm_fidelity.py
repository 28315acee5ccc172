"""Wire details of the sandbox's ARM that the published examples do not pin down: the zone-deletion
long-running operation and ARM's cloud metadata document."""

from __future__ import annotations

import uuid

import pytest
import requests

from acs_sandbox import Sandbox
from tests.conftest import dns_client

RG = "rg-fidelity"


@pytest.fixture
def http(sandbox: Sandbox) -> requests.Session:
    session = requests.Session()
    session.verify = sandbox.ca_bundle
    session.headers["Authorization"] = "Bearer test"
    return session


def test_zone_delete_is_a_202_operation_with_status_and_result(
    sandbox: Sandbox, http: requests.Session
) -> None:
    sub, zone = str(uuid.uuid4()), f"z{uuid.uuid4().hex[:8]}.example"
    url = f"{sandbox.arm_endpoint}/subscriptions/{sub}/resourceGroups/{RG}/providers/Microsoft.Network/dnsZones/{zone}"
    assert http.put(url, params={"api-version": "2018-05-01"}, json={"location": "global"}).status_code == 201

    deleted = http.delete(url, params={"api-version": "2018-05-01"})
    assert deleted.status_code == 202
    status_url, result_url = deleted.headers["Azure-AsyncOperation"], deleted.headers["Location"]
    assert "/providers/Microsoft.Network/dnsoperationstatuses/" in status_url
    assert http.get(status_url).json() == {"status": "Succeeded"}
    assert http.get(result_url).status_code == 204
    assert http.get(url, params={"api-version": "2018-05-01"}).status_code == 404  # gone at once
    assert http.delete(url, params={"api-version": "2018-05-01"}).status_code == 204  # nothing to delete


def test_sdk_zone_delete_follows_the_operation(sandbox: Sandbox) -> None:
    client = dns_client(sandbox, polling_interval=0)
    zone = f"z{uuid.uuid4().hex[:8]}.example"
    client.zones.create_or_update(RG, zone, {"location": "global"})
    poller = client.zones.begin_delete(RG, zone)
    assert poller.result() is None and poller.status() == "Succeeded"
    assert [z.name for z in client.zones.list_by_resource_group(RG)].count(zone) == 0


@pytest.mark.parametrize("version", ["2022-09-01", "2023-11-01"])
def test_cloud_metadata_names_the_sandbox_as_resource_manager(sandbox: Sandbox, version: str) -> None:
    """What `az cloud register --endpoint-resource-manager` reads (azure-cli's `_arm_to_cli_mapper`),
    fetched without a token, as az does."""
    doc = requests.get(
        f"{sandbox.arm_endpoint}/metadata/endpoints",
        params={"api-version": version},
        verify=sandbox.ca_bundle,
    ).json()
    assert doc["resourceManager"] == sandbox.arm_endpoint + "/"
    assert doc["authentication"]["loginEndpoint"].startswith("https://")
    assert doc["authentication"]["audiences"][0].startswith("https://")
    # every key azure-cli's _arm_to_cli_mapper indexes directly (a missing one is a KeyError in `az`)
    assert {"name", "sqlManagement", "batch", "gallery", "graphAudience", "vmImageAliasDoc", "media"} <= set(
        doc
    )
    assert {"storage", "keyVaultDns", "sqlServerHostname", "acrLoginServer"} <= set(doc["suffixes"])


def test_cloud_metadata_older_versions_keep_their_shapes(sandbox: Sandbox) -> None:
    def get(version: str) -> object:
        return requests.get(
            f"{sandbox.arm_endpoint}/metadata/endpoints?api-version={version}", verify=sandbox.ca_bundle
        ).json()

    listed = get("2019-05-01")
    assert isinstance(listed, list) and listed[0]["resourceManager"] == sandbox.arm_endpoint + "/"
    legacy = get("2015-01-01")
    assert {"galleryEndpoint", "graphEndpoint", "portalEndpoint", "authentication"} <= set(legacy)
    missing = requests.get(f"{sandbox.arm_endpoint}/metadata/endpoints", verify=sandbox.ca_bundle)
    assert (missing.status_code, missing.json()["error"]["code"]) == (400, "MissingApiVersionParameter")


class _Broken:
    """A hook with a bug, as the benchmark's N=100 run had (a token bucket set to None)."""

    def before(self, request: object) -> None:
        raise AttributeError("'NoneType' object has no attribute 'capacity'")

    def after(self, request: object, response: object) -> None:
        pass


def test_a_sandbox_bug_is_answered_500_as_arm_does_logged_and_shown(
    sandbox: Sandbox, http: requests.Session, capfd: pytest.CaptureFixture[str]
) -> None:
    """Not a connection closed without an answer and without a trace (which the client reads as ARM
    vanishing mid-write): a 500 in ARM's envelope, in the request log, with the traceback on stderr."""
    sandbox.app.hooks.append(_Broken())
    try:
        url = f"{sandbox.arm_endpoint}/subscriptions/{uuid.uuid4()}/resourceGroups/{RG}/providers/Microsoft.Network/dnsZones/a.example"
        answer = http.put(url, params={"api-version": "2018-05-01"}, json={"location": "global"})
    finally:
        sandbox.app.hooks.pop()
    assert answer.status_code == 500
    assert answer.json()["error"]["code"] == "InternalServerError"
    assert [(e.method, e.status) for e in sandbox.app.log.entries][-1:] == [("PUT", 500)]
    assert "AttributeError: 'NoneType' object has no attribute 'capacity'" in capfd.readouterr().err
