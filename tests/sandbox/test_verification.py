"""ACS domain verification in the sandbox: decided from what its DNS server publicly serves, with the records
published through the real azure-mgmt-dns client and verification driven through azure-mgmt-communication."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError
from azure.core.rest import HttpRequest

from acs_sandbox import Sandbox, SandboxOptions
from acs_sandbox.verification import dmarc_error
from tests.conftest import SUBSCRIPTION, communication_client, dns_client

LINK_TYPES = ("Domain", "SPF", "DKIM", "DKIM2")
SPF = "v=spf1 include:spf.protection.outlook.com -all"


@dataclass
class Setup:
    """A zone, an email service and one customer-managed email domain in a fresh resource group."""

    sb: Sandbox
    acs: Any
    dns: Any
    rg: str
    zone: str
    domain: str  # the email domain: the zone apex or a name inside it
    token: str

    @property
    def relative(self) -> str:
        """The email domain's name relative to the zone ("@" at the apex)."""
        return "@" if self.domain == self.zone else self.domain.removesuffix(f".{self.zone}")

    def under(self, label: str) -> str:
        return label if self.relative == "@" else f"{label}.{self.relative}"

    def txt(self, name: str, *values: str) -> None:
        body = {"properties": {"TTL": 3600, "TXTRecords": [{"value": [v]} for v in values]}}
        self.dns.record_sets.create_or_update(self.rg, self.zone, name, "TXT", body)

    def cname(self, name: str, target: str) -> None:
        body = {"properties": {"TTL": 3600, "CNAMERecord": {"cname": target}}}
        self.dns.record_sets.create_or_update(self.rg, self.zone, name, "CNAME", body)

    def publish_all(self) -> None:
        self.txt(self.relative, self.token, SPF)
        for n in (1, 2):
            target = f"selector{n}-azurecomm-prod-net._domainkey.azurecomm.net"
            self.cname(self.under(f"selector{n}-azurecomm-prod-net._domainkey"), target)

    def initiate(self, *kinds: str) -> None:
        for kind in kinds:
            self.acs.domains.begin_initiate_verification(
                self.rg, "es", self.domain, {"verificationType": kind}
            ).result()

    def cancel(self, kind: str) -> None:
        self.acs.domains.begin_cancel_verification(
            self.rg, "es", self.domain, {"verificationType": kind}
        ).result()

    def states(self) -> dict[str, dict[str, str]]:
        domain = self.acs.domains.get(self.rg, "es", self.domain)
        return domain.as_dict()["properties"]["verificationStates"]

    def status(self, kind: str) -> tuple[str, str | None]:
        state = self.states()[kind]
        return state["status"], state["errorCode"] or None  # "" when there is no error, as the examples


def make_setup(sb: Sandbox, subdomain: str = "") -> Setup:
    acs, dns = communication_client(sb), dns_client(sb)
    rg = f"rg-{uuid.uuid4().hex[:8]}"
    zone = f"contoso-{uuid.uuid4().hex[:8]}.com"
    domain = f"{subdomain}.{zone}" if subdomain else zone
    dns.zones.create_or_update(rg, zone, {"location": "global"})
    acs.email_services.begin_create_or_update(
        rg, "es", {"location": "global", "properties": {"dataLocation": "United States"}}
    ).result()
    created = acs.domains.begin_create_or_update(
        rg, "es", domain, {"location": "global", "properties": {"domainManagement": "CustomerManaged"}}
    ).result()
    return Setup(sb, acs, dns, rg, zone, domain, created.verification_records.domain.value)


@pytest.fixture
def setup(sandbox: Sandbox) -> Setup:
    return make_setup(sandbox)


def test_verified_when_the_records_are_served(setup: Setup) -> None:
    setup.publish_all()
    setup.txt("_dmarc", "v=DMARC1; p=none;")
    setup.initiate("Domain", "SPF", "DKIM", "DKIM2", "DMARC")
    assert setup.states() == {k: {"status": "Verified", "errorCode": ""} for k in (*LINK_TYPES, "DMARC")}


def test_subdomain_records_live_under_the_zone(sandbox: Sandbox) -> None:
    setup = make_setup(sandbox, "mail")
    setup.publish_all()  # TXT "mail", CNAME "selector1-azurecomm-prod-net._domainkey.mail", ...
    setup.initiate(*LINK_TYPES)
    assert all(setup.status(k) == ("Verified", None) for k in LINK_TYPES)


def test_verified_domain_can_be_linked(setup: Setup) -> None:
    setup.publish_all()
    domain_id = setup.acs.domains.get(setup.rg, "es", setup.domain).id
    body = {"location": "global", "properties": {"dataLocation": "United States"}}
    setup.acs.communication_services.begin_create_or_update(setup.rg, "acs", body).result()
    patch = {"properties": {"linkedDomains": [domain_id]}}
    setup.initiate("Domain", "SPF", "DKIM")  # DKIM2 still NotStarted
    with pytest.raises(HttpResponseError) as err:
        setup.acs.communication_services.update(setup.rg, "acs", patch)
    assert err.value.error.code == "DomainValidationError"
    setup.initiate("DKIM2")
    assert setup.acs.communication_services.update(setup.rg, "acs", patch).linked_domains == [domain_id]


def test_missing_token_fails(setup: Setup) -> None:
    setup.txt(setup.relative, "ms-domain-verification=00000000-0000-0000-0000-000000000000", SPF)
    setup.initiate("Domain", "SPF")
    assert setup.status("Domain") == ("VerificationFailed", "TxtRecordNotFound")
    assert setup.status("SPF") == ("Verified", None)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["v=spf1 include:spf.protection.outlook.com ~all"], ("VerificationFailed", "SpfRecordInvalid")),
        (["v=spf1 include:spf.protection.outlook.com ?all"], ("VerificationFailed", "SpfRecordInvalid")),
        (["v=spf1 include:spf.protection.outlook.com +all"], ("VerificationFailed", "SpfRecordInvalid")),
        (["v=spf1 include:spf.protection.outlook.com"], ("VerificationFailed", "SpfRecordInvalid")),
        (["v=spf1 include:_spf.example.net -all"], ("VerificationFailed", "SpfRecordInvalid")),
        ([SPF, "v=spf1 include:_spf.example.net -all"], ("VerificationFailed", "SpfRecordInvalid")),
        (["unrelated"], ("VerificationFailed", "SpfRecordNotFound")),
        (["v=spf1 ip4:192.0.2.1 include:spf.protection.outlook.com -all", "other"], ("Verified", None)),
    ],
)
def test_spf_rules(setup: Setup, values: list[str], expected: tuple[str, str | None]) -> None:
    setup.txt(setup.relative, *values)
    setup.initiate("SPF")
    assert setup.status("SPF") == expected


def test_dkim_rules(setup: Setup) -> None:
    setup.cname(setup.under("selector1-azurecomm-prod-net._domainkey"), "selector1.example.net")
    setup.cname(
        setup.under("selector2-azurecomm-prod-net._domainkey"),
        "SELECTOR2-azurecomm-prod-net._domainkey.AzureComm.net.",
    )
    setup.initiate("DKIM", "DKIM2", "DMARC")
    assert setup.status("DKIM") == ("VerificationFailed", "CnameRecordInvalid")
    assert setup.status("DKIM2") == ("Verified", None)  # case and the trailing dot do not matter
    assert setup.status("DMARC") == ("VerificationFailed", "DmarcRecordNotFound")


def test_missing_dkim_fails(setup: Setup) -> None:
    setup.initiate("DKIM")
    assert setup.status("DKIM") == ("VerificationFailed", "CnameRecordNotFound")


def test_undelegated_zone_fails_even_with_the_records(setup: Setup) -> None:
    setup.publish_all()
    admin = (
        f"/_sandbox/subscriptions/{SUBSCRIPTION}/resourceGroups/{setup.rg}/dnsZones/{setup.zone}/delegation"
    )
    response = setup.acs.send_request(HttpRequest("PUT", admin, json={"delegated": False}))
    assert response.status_code == 204
    setup.initiate(*LINK_TYPES)
    states = setup.states()
    assert all(states[k]["status"] == "VerificationFailed" for k in LINK_TYPES)
    assert states["Domain"]["errorCode"] == "TxtRecordNotFound"
    assert states["DKIM"]["errorCode"] == "CnameRecordNotFound"


def test_decided_once_and_restarted_by_initiating_again(setup: Setup) -> None:
    setup.initiate("Domain")
    assert setup.status("Domain") == ("VerificationFailed", "TxtRecordNotFound")
    setup.publish_all()  # too late for that request
    assert setup.status("Domain") == ("VerificationFailed", "TxtRecordNotFound")
    setup.initiate("Domain")
    assert setup.status("Domain") == ("Verified", None)
    setup.dns.record_sets.delete(setup.rg, setup.zone, setup.relative, "TXT")  # a decided state stays
    assert setup.status("Domain") == ("Verified", None)
    setup.initiate("Domain")
    assert setup.status("Domain") == ("VerificationFailed", "TxtRecordNotFound")


def test_cancel(setup: Setup) -> None:
    setup.publish_all()
    setup.initiate("Domain", "SPF")
    setup.cancel("Domain")  # still pending (nothing read it yet): cancelled
    assert setup.status("Domain") == ("NotStarted", None)
    assert setup.status("SPF") == ("Verified", None)
    setup.cancel("SPF")  # a verified type stays verified
    assert setup.status("SPF") == ("Verified", None)


@pytest.fixture
def slow_sandbox() -> Iterator[Sandbox]:
    with Sandbox(SandboxOptions(verify_delay=0.5)) as sb:
        yield sb


def poll_until_terminal(setup: Setup, kind: str, timeout: float = 5.0) -> list[str]:
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = setup.status(kind)[0]
        if not seen or seen[-1] != status:
            seen.append(status)
        if status in ("Verified", "VerificationFailed", "NotStarted"):
            return seen
        time.sleep(0.02)
    raise AssertionError(f"{kind} never reached a terminal state: {seen}")


def test_progression_with_a_verify_delay(slow_sandbox: Sandbox) -> None:
    setup = make_setup(slow_sandbox)
    setup.publish_all()
    started = time.monotonic()
    setup.initiate("Domain")
    assert poll_until_terminal(setup, "Domain") == [
        "VerificationRequested",
        "VerificationInProgress",
        "Verified",
    ]
    assert time.monotonic() - started >= 0.5

    setup.initiate("SPF")
    setup.cancel("SPF")
    assert poll_until_terminal(setup, "SPF") == ["CancellationRequested", "NotStarted"]


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["v=DMARC1; p=none; rua=mailto:d@example.com"], None),
        (["v=DMARC1;p=reject"], None),
        (["v = DMARC1 ; P=Quarantine"], None),
        (["unrelated", "v=DMARC1; p=none"], None),
        ([], "DmarcRecordNotFound"),
        (["v=DMARC10; p=none"], "DmarcRecordNotFound"),
        (["p=none; v=DMARC1"], "DmarcRecordNotFound"),  # v must come first
        (["v=DMARC1; p=none", "v=DMARC1; p=reject"], "DmarcRecordInvalid"),  # two: receivers apply none
        (["v=DMARC1; rua=mailto:d@example.com"], "DmarcRecordInvalid"),  # no policy
        (["v=DMARC1; p=maybe"], "DmarcRecordInvalid"),
    ],
)
def test_dmarc_rules(values: list[str], expected: str | None) -> None:
    assert dmarc_error(values) == expected


def test_dmarc_decided_from_the_served_record(setup: Setup) -> None:
    setup.txt("_dmarc", "v=DMARC1; p=none", "v=DMARC1; p=reject")  # the setup's domain is the zone apex
    setup.initiate("DMARC")
    assert setup.status("DMARC") == ("VerificationFailed", "DmarcRecordInvalid")
    setup.txt("_dmarc", "v=DMARC1; p=quarantine")
    setup.initiate("DMARC")
    assert setup.status("DMARC") == ("Verified", None)
