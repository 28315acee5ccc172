"""The Communication adapter reads the service's domain body into plain data: enums for the statuses and the
domain management, and values this API version does not know kept readable instead of crashing."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from acs_sandbox import Sandbox
from acs_sandbox.http import Request, Response, arm_error
from provisioner.azure.clients import AzureSettings, Clients
from provisioner.azure.communication import AzureCommunication, DomainManagement, to_email_domain
from provisioner.errors import AuthError, ExitCode, NotFoundError, RefusedError
from provisioner.model import Sender, VerificationKind
from provisioner.ports import EmailDomainNotFoundError
from provisioner.verification import VerificationStatus
from tests.e2e_helpers import EMAIL_RG, EMAIL_SERVICE, World
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


# ---- the adapter on the real SDK client against the sandbox --------------------------------------------
@contextmanager
def adapter(sb: Sandbox, *hooks: Answering) -> Iterator[tuple[World, AzureCommunication]]:
    """A World (the SDK, as the portal would) and the adapter over the client acs-dns builds, in a fresh
    subscription; `hooks` answer that subscription's requests with an error."""
    sb.app.hooks.extend(hooks)
    clients = Clients(
        AzureSettings(arm_endpoint=sb.arm_endpoint, auth="sandbox", ca_bundle=sb.ca_bundle, retry_total=0)
    )
    try:
        with World(sb) as world:
            for hook in hooks:
                hook.subscription = world.sub
            yield world, AzureCommunication(clients.communication(world.sub), world.sub)
    finally:
        clients.close()
        for hook in hooks:
            sb.app.hooks.remove(hook)


class Answering:
    """Answers every request of one subscription with an ARM error."""

    def __init__(self, status: int, code: str) -> None:
        self.subscription = "-"
        self.response = arm_error(status, code, "denied by the test")

    def before(self, request: Request) -> Response | None:
        return self.response if f"/subscriptions/{self.subscription}/" in request.path else None

    def after(self, request: Request, response: Response) -> None:
        pass


def test_senders_tags_links_and_deletion_through_the_adapter(sandbox: Sandbox) -> None:
    with adapter(sandbox) as (world, comm):
        world.email_service()
        domain = comm.create_domain(EMAIL_RG, EMAIL_SERVICE, "mail.adapter.test")
        assert (domain.name, domain.domain_management) == (
            "mail.adapter.test",
            DomainManagement.CUSTOMER_MANAGED,
        )

        assert comm.put_sender(EMAIL_RG, EMAIL_SERVICE, domain.name, "billing", "Billing") == Sender(
            "billing", "Billing"
        )
        assert Sender("billing", "Billing") in comm.list_senders(EMAIL_RG, EMAIL_SERVICE, domain.name)
        comm.delete_sender(EMAIL_RG, EMAIL_SERVICE, domain.name, "billing")
        comm.delete_sender(EMAIL_RG, EMAIL_SERVICE, domain.name, "billing")  # already gone: nothing to do
        assert "billing" not in {s.username for s in comm.list_senders(EMAIL_RG, EMAIL_SERVICE, domain.name)}

        tagged = comm.set_domain_tags(EMAIL_RG, EMAIL_SERVICE, domain.name, {"owner": "mail-team"})
        assert tagged.tags == {"owner": "mail-team"}
        assert comm.get_domain(EMAIL_RG, EMAIL_SERVICE, domain.name).tags == {"owner": "mail-team"}

        world.comm.communication_services.begin_create_or_update(
            EMAIL_RG, "cs", {"location": "global", "properties": {"dataLocation": "United States"}}
        ).result()
        assert comm.get_communication_service(EMAIL_RG, "cs").linked_domains == ()
        assert comm.set_linked_domains(EMAIL_RG, "cs", []).linked_domains == ()
        with pytest.raises(RefusedError) as refused:  # ACS links only a verified domain
            comm.set_linked_domains(EMAIL_RG, "cs", [domain.resource_id])
        assert refused.value.message.startswith(
            "Azure refused the change to the linked domains of Communication Services resource cs "
            "(resource group rg-email) (DomainValidationError)"
        )

        comm.delete_domain(EMAIL_RG, EMAIL_SERVICE, domain.name)
        comm.delete_domain(EMAIL_RG, EMAIL_SERVICE, domain.name)  # already gone: nothing to do
        with pytest.raises(EmailDomainNotFoundError) as caught:
            comm.get_domain(EMAIL_RG, EMAIL_SERVICE, domain.name)
        assert "--create-domain" in (caught.value.hint or "")


def test_a_missing_email_service_or_communication_service_names_the_flags_to_check(sandbox: Sandbox) -> None:
    with adapter(sandbox) as (_, comm):
        with pytest.raises(NotFoundError) as service:
            comm.get_domain(EMAIL_RG, "absent-service", "mail.adapter.test")
        with pytest.raises(NotFoundError) as listing:
            comm.list_domains(EMAIL_RG, "absent-service")
        with pytest.raises(NotFoundError) as cs:
            comm.get_communication_service(EMAIL_RG, "absent-cs")
    assert not isinstance(service.value, EmailDomainNotFoundError)  # the service, not the domain, is missing
    for caught in (service, listing):
        assert caught.value.hint == "check --email-service, --resource-group and --subscription"
        assert "email service absent-service (resource group rg-email)" in caught.value.message
    assert cs.value.hint == "check --communication-service and --communication-resource-group"
    assert "Communication Services resource absent-cs (resource group rg-email)" in cs.value.message


CALLS: list[tuple[str, Callable[[AzureCommunication], object], str]] = [
    (
        "get_domain",
        lambda c: c.get_domain(EMAIL_RG, EMAIL_SERVICE, "d.test"),
        "email domain d.test of email service",
    ),
    ("list_domains", lambda c: c.list_domains(EMAIL_RG, EMAIL_SERVICE), "email service contoso-email"),
    ("create_domain", lambda c: c.create_domain(EMAIL_RG, EMAIL_SERVICE, "d.test"), "email domain d.test of"),
    (
        "start_verification",
        lambda c: c.start_verification(EMAIL_RG, EMAIL_SERVICE, "d.test", VerificationKind.SPF),
        "SPF verification of email domain d.test",
    ),
    (
        "get_communication_service",
        lambda c: c.get_communication_service(EMAIL_RG, "cs"),
        "Communication Services resource cs",
    ),
    (
        "set_linked_domains",
        lambda c: c.set_linked_domains(EMAIL_RG, "cs", []),
        "the linked domains of Communication Services resource cs",
    ),
    (
        "list_senders",
        lambda c: c.list_senders(EMAIL_RG, EMAIL_SERVICE, "d.test"),
        "the sender usernames of email domain d.test",
    ),
    (
        "put_sender",
        lambda c: c.put_sender(EMAIL_RG, EMAIL_SERVICE, "d.test", "ops", "Ops"),
        "sender username ops of email domain d.test",
    ),
    (
        "delete_sender",
        lambda c: c.delete_sender(EMAIL_RG, EMAIL_SERVICE, "d.test", "ops"),
        "sender username ops of d.test",
    ),
    (
        "set_domain_tags",
        lambda c: c.set_domain_tags(EMAIL_RG, EMAIL_SERVICE, "d.test", {}),
        "the tags of email domain d.test",
    ),
    (
        "delete_domain",
        lambda c: c.delete_domain(EMAIL_RG, EMAIL_SERVICE, "d.test"),
        "email domain d.test of email service",
    ),
]


@pytest.mark.parametrize(("name", "call", "where"), CALLS, ids=[c[0] for c in CALLS])
def test_every_operation_refused_by_azure_is_an_auth_error_naming_what_it_touched(
    sandbox: Sandbox, name: str, call: Callable[[AzureCommunication], object], where: str
) -> None:
    with (
        adapter(sandbox, Answering(403, "AuthorizationFailed")) as (_, comm),
        pytest.raises(AuthError) as caught,
    ):
        call(comm)
    assert caught.value.exit_code is ExitCode.AUTH
    assert caught.value.message.startswith(f"permission denied on {where}"), caught.value.message
    assert "(AuthorizationFailed): denied by the test" in caught.value.message
