"""Microsoft.Communication (api-version 2025-09-01): email services and their domains.

Wire shapes follow the spec examples and the real recordings (shared/reference/azure-api.md §2): a create
answers 201 + `Azure-AsyncOperation` with `provisioningState: "Accepted"`, a replace 200; a delete answers
202 + `Location`; initiate/cancelVerification answer exactly 202 with the body `null`, `Azure-AsyncOperation`
and `Location` (see `lro` for how long they run and the retry hints). Verification progress lives in
`verification`; communication services, sender usernames, suppression lists, SMTP usernames and the
provider-level actions live in their own modules, registered from here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from acs_sandbox import communication_services, provider, senders, suppression
from acs_sandbox.comm_common import (
    DOMAIN,
    ES,
    RG,
    SUB,
    Context,
    RouteGroup,
    SystemData,
    bad_request,
    compact_location,
    data_location_error,
    domain_id,
    find_domain,
    in_scope,
    json_body,
    location_error,
    not_found,
    page,
    params,
    parent_not_found,
    service_id,
)
from acs_sandbox.http import Handler, Request, Response, Router
from acs_sandbox.lro import DEFAULT_DELAY, PROVIDER, Operations
from acs_sandbox.state import EmailDomainState, EmailServiceState, SandboxState
from acs_sandbox.verification import VERIFICATION_TYPES, Verifier, dkim_record_name, dkim_target

DOMAIN_MANAGEMENT = ("AzureManaged", "CustomerManaged", "CustomerManagedInExchangeOnline")
AZURE_MANAGED_NAME = "AzureManagedDomain"
TRACKING = ("Disabled", "Enabled")
SPF_VALUE = "v=spf1 include:spf.protection.outlook.com -all"
# GUESS: the real DMARC verification record is not documented (the 2023-04-01 service listed none); the
# sandbox lists this one only when asked through /_sandbox/.../dmarc
DMARC_VALUE = "v=DMARC1; p=none;"
# The real recording says "Global" for domains; the spec examples agree
DOMAIN_LOCATION = "Global"

_SERVICE_NAME = re.compile(r"[a-zA-Z0-9-]{1,63}\Z")
_DOMAIN_NAME = re.compile(r"(?=.{1,253}\Z)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}\Z")


def register(
    router: Router, state: SandboxState, verifier: Verifier, operation_delay: float = DEFAULT_DELAY
) -> None:
    """All of Microsoft.Communication: email services, domains, communication services and the rest."""
    ctx = Context(state, verifier, Operations(operation_delay), SystemData())
    ctx.operations.register(router)
    for group in (
        CommunicationApi(ctx),
        communication_services.CommunicationServicesApi(ctx),
        senders.SendersApi(ctx),
        suppression.SuppressionApi(ctx),
    ):
        group.register(router)
    provider.register(router, state)


def _tracking_error() -> Response:
    return bad_request("The property 'properties.userEngagementTracking' must be Disabled or Enabled.")


def _record(record_type: str, name: str, value: str) -> dict[str, Any]:
    return {"type": record_type, "name": name, "value": value, "ttl": 3600}


def linked_from(state: SandboxState, resource_id: str) -> list[str]:
    """Names of the communication services whose linkedDomains hold `resource_id`."""
    with state.lock:
        return sorted(
            s.name
            for s in state.communication_services.values()
            if any(d.lower() == resource_id.lower() for d in s.linked_domains)
        )


def domain_in_use(state: SandboxState, domain: EmailDomainState) -> Response | None:
    # GUESS: the service refuses to delete a domain that a communication service links (the portal asks to
    # disconnect it first); its status code and error code are undocumented
    users = linked_from(state, domain_id(domain))
    if not users:
        return None
    return bad_request(
        f"The domain '{domain.name}' is linked to the communication service(s) {', '.join(users)}; "
        "remove it from their linkedDomains first.",
        "DomainLinkedToCommunicationService",
    )


class CommunicationApi(RouteGroup):
    def routes(self) -> list[tuple[str, str, str, Handler]]:
        return [
            ("GET", SUB + r"/emailServices", "es.list_sub", self.list_services),
            ("GET", RG + r"/emailServices", "es.list", self.list_services),
            ("PUT", ES, "es.put", self.put_service),
            ("GET", ES, "es.get", self.get_service),
            ("PATCH", ES, "es.patch", self.patch_service),
            ("DELETE", ES, "es.delete", self.delete_service),
            ("GET", ES + r"/domains", "domains.list", self.list_domains),
            ("PUT", DOMAIN, "domains.put", self.put_domain),
            ("GET", DOMAIN, "domains.get", self.get_domain),
            ("PATCH", DOMAIN, "domains.patch", self.patch_domain),
            ("DELETE", DOMAIN, "domains.delete", self.delete_domain),
            ("POST", DOMAIN + r"/initiateVerification", "domains.initiate", self.initiate),
            ("POST", DOMAIN + r"/cancelVerification", "domains.cancel", self.cancel),
        ]

    def _created(self, request: Request, sub: str, resource_id: str, body: dict[str, Any]) -> Response:
        op = self.operations.start(sub, resource_id, creating=True)
        body["properties"]["provisioningState"] = self.operations.provisioning_state(resource_id)
        return Response(201, body, self.operations.headers(request, op))

    def _deleted(self, request: Request, sub: str, resource_id: str) -> Response:
        op = self.operations.start(sub, resource_id)
        return Response(202, None, self.operations.headers(request, op, async_operation=False, location=True))

    # ---- email services ----------------------------------------------------------------------------
    def _service_body(self, service: EmailServiceState) -> dict[str, Any]:
        resource_id = service_id(service)
        return {
            "id": resource_id,
            "name": service.name,
            "type": f"{PROVIDER}/EmailServices",
            "location": service.location,
            "tags": dict(service.tags),
            "systemData": self.system.get(resource_id),
            "properties": {
                "provisioningState": self.operations.provisioning_state(resource_id),
                "dataLocation": service.data_location,
            },
        }

    def list_services(self, request: Request) -> Response:
        with self.state.lock:
            found = in_scope(params(request), list(self.state.email_services.values()))
        return page(request, [self._service_body(s) for s in found])

    def get_service(self, request: Request) -> Response:
        p = params(request)
        service = self.state.email_service(p["sub"], p["rg"], p["es"])
        if service is None:
            return not_found("emailServices", p["es"], p["rg"])
        return Response(200, self._service_body(service))

    def put_service(self, request: Request) -> Response:
        p = params(request)
        body = json_body(request)
        if isinstance(body, Response):
            return body
        if not _SERVICE_NAME.match(p["es"]):
            return bad_request(f"The resource name '{p['es']}' is invalid.", "InvalidResourceName")
        properties = body.get("properties") or {}
        existing = self.state.email_service(p["sub"], p["rg"], p["es"])
        data_location = properties.get("dataLocation") or (existing.data_location if existing else None)
        error = location_error(body, "emailServices") or data_location_error(data_location)
        if error is not None:
            return error
        location = body["location"]
        if existing and compact_location(data_location) != compact_location(existing.data_location):
            return bad_request("The property 'properties.dataLocation' cannot be changed.")
        service = EmailServiceState(
            subscription=existing.subscription if existing else p["sub"],
            resource_group=existing.resource_group if existing else p["rg"],
            name=existing.name if existing else p["es"],
            location=location,
            data_location=data_location,
            tags=dict(body.get("tags") or {}),
        )
        self.state.put_email_service(service)
        resource_id = service_id(service)
        self.system.touch(resource_id, created=existing is None)
        if existing:
            return Response(200, self._service_body(service))
        return self._created(request, p["sub"], resource_id, self._service_body(service))

    def patch_service(self, request: Request) -> Response:
        p = params(request)
        body = json_body(request)
        if isinstance(body, Response):
            return body
        service = self.state.email_service(p["sub"], p["rg"], p["es"])
        if service is None:
            return not_found("emailServices", p["es"], p["rg"])
        with self.state.lock:
            if "tags" in body:
                service.tags = dict(body.get("tags") or {})
        self.system.touch(service_id(service), created=False)
        return Response(200, self._service_body(service))

    def delete_service(self, request: Request) -> Response:
        p = params(request)
        service = self.state.email_service(p["sub"], p["rg"], p["es"])
        if service is None:
            return Response(204)
        domains = self._domains_of(service)
        for domain in domains:
            refused = domain_in_use(self.state, domain)  # GUESS: as for deleting the domain itself
            if refused is not None:
                return refused
        for domain in domains:
            self._remove_domain(domain)
        with self.state.lock:
            self.state.email_services.pop((p["sub"].lower(), p["rg"].lower(), p["es"].lower()), None)
        self.system.forget(service_id(service))
        return self._deleted(request, p["sub"], service_id(service))

    # ---- domains ----------------------------------------------------------------------------------
    def _domains_of(self, service: EmailServiceState) -> list[EmailDomainState]:
        key = (service.subscription.lower(), service.resource_group.lower(), service.name.lower())
        with self.state.lock:
            found = [d for k, d in self.state.email_domains.items() if k[:3] == key]
        return sorted(found, key=lambda d: d.name)

    def _remove_domain(self, domain: EmailDomainState) -> None:
        self.state.delete_email_domain(domain)
        self.verifier.forget(domain)
        self.system.forget(domain_id(domain))

    @staticmethod
    def _sender_domain(domain: EmailDomainState) -> str:
        if domain.domain_management == "AzureManaged":
            # the real service makes up a "<guid>.azurecomm.net"; the (otherwise unused) token serves as the guid
            return f"{domain.verification_token}.azurecomm.net"
        return domain.name

    @staticmethod
    def _records(domain: EmailDomainState) -> dict[str, dict[str, Any]]:
        if domain.domain_management != "CustomerManaged":
            return {}
        token = f"ms-domain-verification={domain.verification_token}"
        records = {
            "Domain": _record("TXT", domain.name, token),
            "SPF": _record("TXT", domain.name, SPF_VALUE),
            "DKIM": _record("CNAME", dkim_record_name("DKIM"), dkim_target("DKIM")),
            "DKIM2": _record("CNAME", dkim_record_name("DKIM2"), dkim_target("DKIM2")),
        }
        if domain.dmarc_record:
            records["DMARC"] = _record("TXT", f"_dmarc.{domain.name}", DMARC_VALUE)
        return records

    @staticmethod
    def _state_of(domain: EmailDomainState, kind: str) -> dict[str, str]:
        """The wire state: `errorCode` is always there, "" unless verification failed (as the examples)."""
        stored = domain.verification_states.get(kind) or {}
        return {"status": stored.get("status", "NotStarted"), "errorCode": stored.get("errorCode", "")}

    def _domain_body(self, domain: EmailDomainState) -> dict[str, Any]:
        """Call without holding state.lock: brings the verification states up to date first (DNS queries)."""
        self.verifier.refresh(domain)
        resource_id = domain_id(domain)
        with self.state.lock:
            states = {kind: self._state_of(domain, kind) for kind in VERIFICATION_TYPES}
            body: dict[str, Any] = {
                "id": resource_id,
                "name": domain.name,
                "type": f"{PROVIDER}/EmailServices/Domains",
                "location": DOMAIN_LOCATION,
                "systemData": self.system.get(resource_id),
            }
            if domain.tags:
                body["tags"] = dict(domain.tags)
            body["properties"] = {
                "provisioningState": self.operations.provisioning_state(resource_id),
                "dataLocation": domain.data_location,
                "fromSenderDomain": self._sender_domain(domain),
                "mailFromSenderDomain": self._sender_domain(domain),
                "domainManagement": domain.domain_management,
                "verificationStates": states,
                "verificationRecords": self._records(domain),
                "userEngagementTracking": domain.user_engagement_tracking,
            }
        return body

    def _find_domain(self, p: dict[str, str]) -> EmailDomainState | Response:
        return find_domain(self.state, p)

    def list_domains(self, request: Request) -> Response:
        p = params(request)
        service = self.state.email_service(p["sub"], p["rg"], p["es"])
        if service is None:
            return not_found("emailServices", p["es"], p["rg"])
        return page(request, [self._domain_body(d) for d in self._domains_of(service)])

    def get_domain(self, request: Request) -> Response:
        domain = self._find_domain(params(request))
        if isinstance(domain, Response):
            return domain
        return Response(200, self._domain_body(domain))

    def put_domain(self, request: Request) -> Response:
        p = params(request)
        body = json_body(request)
        if isinstance(body, Response):
            return body
        service = self.state.email_service(p["sub"], p["rg"], p["es"])
        if service is None:
            return parent_not_found(p["es"])
        error = location_error(body, "emailServices/domains")
        if error is not None:
            return error
        properties = body.get("properties") or {}
        requested = str(properties.get("domainManagement", "")).lower()
        management = next((m for m in DOMAIN_MANAGEMENT if m.lower() == requested), None)
        if management is None:
            return bad_request(
                "The property 'properties.domainManagement' is required and must be one of "
                f"{', '.join(DOMAIN_MANAGEMENT)}."
            )
        name = p["domain"].rstrip(".")
        if management == "AzureManaged" and name.lower() != AZURE_MANAGED_NAME.lower():
            return bad_request(f"An Azure managed domain must be named '{AZURE_MANAGED_NAME}'.")
        if management != "AzureManaged" and not _DOMAIN_NAME.match(name.lower()):
            return bad_request(f"The domain name '{name}' is not a valid domain name.")
        existing = self.state.email_domain(p["sub"], p["rg"], p["es"], name)
        if existing is not None and existing.domain_management != management:
            return bad_request("The property 'properties.domainManagement' cannot be changed.")
        tracking = properties.get("userEngagementTracking")
        if tracking is not None and tracking not in TRACKING:
            return _tracking_error()
        if existing is not None:
            with self.state.lock:
                existing.tags = dict(body.get("tags") or {})
                if tracking:
                    existing.user_engagement_tracking = tracking
            self.system.touch(domain_id(existing), created=False)
            return Response(200, self._domain_body(existing))
        initial = "Verified" if management == "AzureManaged" else "NotStarted"
        domain = EmailDomainState(
            subscription=service.subscription,
            resource_group=service.resource_group,
            email_service=service.name,
            name=AZURE_MANAGED_NAME if management == "AzureManaged" else name.lower(),
            domain_management=management,
            data_location=compact_location(service.data_location),
            tags=dict(body.get("tags") or {}),
            user_engagement_tracking=tracking or "Disabled",
            verification_states={kind: {"status": initial} for kind in VERIFICATION_TYPES},
        )
        self.state.put_email_domain(domain)
        resource_id = domain_id(domain)
        self.system.touch(resource_id, created=True)
        return self._created(request, p["sub"], resource_id, self._domain_body(domain))

    def patch_domain(self, request: Request) -> Response:
        p = params(request)
        body = json_body(request)
        if isinstance(body, Response):
            return body
        domain = self._find_domain(p)
        if isinstance(domain, Response):
            return domain
        tracking = (body.get("properties") or {}).get("userEngagementTracking")
        if tracking is not None and tracking not in TRACKING:
            return _tracking_error()
        with self.state.lock:
            if "tags" in body:
                domain.tags = dict(body.get("tags") or {})
            if tracking is not None:
                domain.user_engagement_tracking = tracking
        self.system.touch(domain_id(domain), created=False)
        return Response(200, self._domain_body(domain))

    def delete_domain(self, request: Request) -> Response:
        p = params(request)
        domain = self.state.email_domain(p["sub"], p["rg"], p["es"], p["domain"])
        if domain is None:
            return Response(204)
        refused = domain_in_use(self.state, domain)
        if refused is not None:
            return refused
        self._remove_domain(domain)
        return self._deleted(request, p["sub"], domain_id(domain))

    def initiate(self, request: Request) -> Response:
        return self._verification(request, self.verifier.initiate)

    def cancel(self, request: Request) -> Response:
        return self._verification(request, self.verifier.cancel)

    def _verification(self, request: Request, action: Callable[[EmailDomainState, str], None]) -> Response:
        p = params(request)
        body = request.json()
        domain = self._find_domain(p)
        if isinstance(domain, Response):
            return domain
        requested = str(body.get("verificationType", "")) if isinstance(body, dict) else ""
        kind = next((k for k in VERIFICATION_TYPES if k.lower() == requested.lower()), None)
        if kind is None:
            return bad_request(
                f"The property 'verificationType' must be one of {', '.join(VERIFICATION_TYPES)}.",
                "InvalidVerificationType",
            )
        if domain.domain_management != "CustomerManaged":
            # GUESS: only customer-managed domains are verified through DNS; the service's answer is unknown
            return bad_request(f"Verification is not supported for {domain.domain_management} domains.")
        action(domain, kind)
        self.system.touch(domain_id(domain), created=False)
        op = self.operations.start(p["sub"], domain_id(domain))
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            **self.operations.headers(request, op, location=True),
        }
        return Response(202, b"null", headers)
