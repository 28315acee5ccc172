"""The Communication adapter reads the service's domain body into plain data: enums for the statuses and the
domain management, and values this API version does not know kept readable instead of crashing."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from provisioner.azure.communication import DomainManagement, to_email_domain
from provisioner.model import VerificationKind
from provisioner.verification import VerificationStatus
from tests.sandbox.spec_replay import specs_root

GET_EXAMPLE = (
    "communication/resource-manager/Microsoft.Communication/stable/2025-09-01/examples/domains/get.json"
)


def _published_body() -> dict[str, Any]:
    """The body of the published Domains_Get example (the wire JSON the SDK's as_dict() yields)."""
    root = specs_root(Path(__file__))
    if root is None:
        pytest.skip("the published examples (shared/reference/azure-rest-specs) are not on this machine")
    return json.loads((root / GET_EXAMPLE).read_text())["responses"]["200"]["body"]


def test_the_published_example_reads_into_members() -> None:
    domain = to_email_domain(_published_body())
    assert domain.domain_management is DomainManagement.CUSTOMER_MANAGED
    assert domain.domain_management == "CustomerManaged"
    state = domain.states[VerificationKind.DOMAIN]
    assert (state.status, state.error_code) == (VerificationStatus.VERIFIED, None)  # "" is no error code
    assert [(r.kind, r.type, r.name, r.value, r.ttl) for r in domain.records] == [
        (VerificationKind.DOMAIN, "TXT", "recordName", "recordValue", 3600)
    ]


@pytest.mark.parametrize(
    ("wire", "member"),
    [
        ("AzureManaged", DomainManagement.AZURE_MANAGED),
        ("CustomerManaged", DomainManagement.CUSTOMER_MANAGED),
        ("CustomerManagedInExchangeOnline", DomainManagement.CUSTOMER_MANAGED_IN_EXCHANGE_ONLINE),
        ("customermanaged", DomainManagement.CUSTOMER_MANAGED),
        ("ManagedBySomethingNew", DomainManagement.UNKNOWN),
        ("", DomainManagement.UNKNOWN),
    ],
)
def test_domain_management_is_an_enum_and_an_unknown_value_does_not_crash(
    wire: str, member: DomainManagement
) -> None:
    body = copy.deepcopy(_published_body())
    body["properties"]["domainManagement"] = wire
    assert to_email_domain(body).domain_management is member


def test_an_unknown_verification_status_is_kept_as_sent() -> None:
    body = copy.deepcopy(_published_body())
    body["properties"]["verificationStates"] = {
        "Domain": {"status": "VerificationPaused", "errorCode": "NewCode"},
        "SPF": {"status": "VerificationInProgress", "errorCode": ""},
        "FutureKind": {"status": "Verified"},  # a verification type this version does not know: skipped
    }
    states = to_email_domain(body).states
    assert set(states) == {VerificationKind.DOMAIN, VerificationKind.SPF}
    assert (states[VerificationKind.DOMAIN].status, states[VerificationKind.DOMAIN].label) == (
        VerificationStatus.UNKNOWN,
        "VerificationPaused",
    )
    assert states[VerificationKind.DOMAIN].error_code == "NewCode"
    assert states[VerificationKind.SPF].in_flight
