"""Microsoft.Communication (api-version 2025-09-01): email services, their domains, communication services.

Wire shapes and LRO sequences follow the real recordings (shared/reference/azure-api.md §2): creates answer
201 + `Azure-AsyncOperation` (the operation is already Succeeded at the first poll), replaces 200;
initiate/cancelVerification answer exactly 202 with the body `null`, `Azure-AsyncOperation` and `Location`,
and no Retry-After, so the client's polling_interval governs. Verification progress lives in `verification`.
"""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import unquote

from acs_sandbox.http import Request, Response, Router, arm_error
from acs_sandbox.state import (
    CommunicationServiceState,
    EmailDomainState,
    EmailServiceState,
    SandboxState,
)
from acs_sandbox.verification import VERIFICATION_TYPES, Verifier, dkim_record_name, dkim_target

API_VERSION = "2025-09-01"
PROVIDER = "Microsoft.Communication"
OPERATION_LOCATION = "WESTUS2"  # the region in real operation-status URLs; any value works for the SDK
PAGE_SIZE = 100  # [U] the real page size is undocumented; 100 is the common ARM default
DOMAIN_MANAGEMENT = ("AzureManaged", "CustomerManaged", "CustomerManagedInExchangeOnline")
AZURE_MANAGED_NAME = "AzureManagedDomain"
SPF_VALUE = "v=spf1 include:spf.protection.outlook.com -all"
DMARC_VALUE = "v=DMARC1; p=none;"  # sandbox-only guess: the real DMARC verification record is unknown
LINK_STATES = ("Domain", "SPF", "DKIM", "DKIM2")
USER = "sandbox-user@example.com"

_SUB = r"/subscriptions/(?P<sub>[^/]+)/providers/Microsoft\.Communication"
_RG = r"/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)/providers/Microsoft\.Communication"
_ES = _RG + r"/emailServices/(?P<es>[^/]+)"
_DOMAIN = _ES + r"/domains/(?P<domain>[^/]+)"
_CS = _RG + r"/communicationServices/(?P<cs>[^/]+)"
_OPERATIONS = _SUB + r"/locations/(?P<loc>[^/]+)"
_DOMAIN_ID = re.compile(
    r"/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)/providers/Microsoft\.Communication"
    r"/emailServices/(?P<es>[^/]+)/domains/(?P<domain>[^/]+)/?\Z",
    re.IGNORECASE,
)
_SERVICE_NAME = re.compile(r"[a-zA-Z0-9-]{1,63}\Z")
_COMMUNICATION_NAME = re.compile(r"[-\w]{1,63}\Z")
_DOMAIN_NAME = re.compile(r"(?=.{1,253}\Z)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}\Z")


def register(router: Router, state: SandboxState, verifier: Verifier) -> None:
    CommunicationApi(state, verifier).register(router)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _compact_location(data_location: str) -> str:
    """E.g. "United States" -> "unitedstates", the form domains report."""
    return re.sub(r"\s+", "", data_location).lower()


def _bad_request(message: str, code: str = "InvalidRequest") -> Response:
    return arm_error(400, code, message)


def _not_found(resource_type: str, name: str, resource_group: str) -> Response:
    return arm_error(
        404,
        "ResourceNotFound",
        f"The Resource '{PROVIDER}/{resource_type}/{name}' under resource group '{resource_group}' was not found."
        " For more details please go to https://aka.ms/ARMResourceNotFoundFix",
    )


def _record(record_type: str, name: str, value: str) -> dict[str, Any]:
    return {"type": record_type, "name": name, "value": value, "ttl": 3600}


_Listed = TypeVar("_Listed", EmailServiceState, CommunicationServiceState)


def _in_scope(p: dict[str, str], resources: list[_Listed]) -> list[_Listed]:
    """The resources in the request's subscription (and resource group, if the path has one), sorted."""
    rg = p.get("rg")
    found = [
        r
        for r in resources
        if r.subscription.lower() == p["sub"].lower()
        and (rg is None or r.resource_group.lower() == rg.lower())
    ]
    return sorted(found, key=lambda r: (r.resource_group.lower(), r.name.lower()))


def _body(request: Request) -> dict[str, Any] | Response:
    body = request.json()
    if not isinstance(body, dict):
        return _bad_request("The request content must be a JSON object.", "InvalidRequestContent")
    return body


class CommunicationApi:
    def __init__(self, state: SandboxState, verifier: Verifier) -> None:
        self.state = state
        self.verifier = verifier
        self._lock = threading.Lock()
        self._operations: dict[str, dict[str, Any]] = {}  # operation id (lower-case) -> status body
        self._system_data: dict[str, dict[str, str]] = {}  # resource id (lower-case) -> systemData

    def register(self, router: Router) -> None:
        routes = [
            ("GET", _SUB + r"/emailServices", "es.list_sub", self.list_services),
            ("GET", _RG + r"/emailServices", "es.list", self.list_services),
            ("PUT", _ES, "es.put", self.put_service),
            ("GET", _ES, "es.get", self.get_service),
            ("PATCH", _ES, "es.patch", self.patch_service),
            ("DELETE", _ES, "es.delete", self.delete_service),
            ("GET", _ES + r"/domains", "domains.list", self.list_domains),
            ("PUT", _DOMAIN, "domains.put", self.put_domain),
            ("GET", _DOMAIN, "domains.get", self.get_domain),
            ("PATCH", _DOMAIN, "domains.patch", self.patch_domain),
            ("DELETE", _DOMAIN, "domains.delete", self.delete_domain),
            ("POST", _DOMAIN + r"/initiateVerification", "domains.initiate", self.initiate),
            ("POST", _DOMAIN + r"/cancelVerification", "domains.cancel", self.cancel),
            ("GET", _SUB + r"/communicationServices", "cs.list_sub", self.list_cs),
            ("GET", _RG + r"/communicationServices", "cs.list", self.list_cs),
            ("PUT", _CS, "cs.put", self.put_cs),
            ("GET", _CS, "cs.get", self.get_cs),
            ("PATCH", _CS, "cs.patch", self.patch_cs),
            ("DELETE", _CS, "cs.delete", self.delete_cs),
            (
                "GET",
                _OPERATIONS + r"/operationStatuses/(?P<op>[^/]+)",
                "operation.status",
                self.operation_status,
            ),
            (
                "GET",
                _OPERATIONS + r"/operationResults/(?P<op>[^/]+)",
                "operation.result",
                self.operation_result,
            ),
        ]
        for method, pattern, name, handler in routes:
            router.add(method, pattern, f"communication.{name}", handler)

    # ---- shared helpers ----------------------------------------------------------------------------
    @staticmethod
    def _params(request: Request) -> dict[str, str]:
        return {k: unquote(v) for k, v in request.params.items()}

    def _touch(self, resource_id: str, *, created: bool) -> None:
        now = _now()
        with self._lock:
            data = self._system_data.get(resource_id.lower())
            if created or data is None:
                data = {"createdBy": USER, "createdByType": "User", "createdAt": now}
                self._system_data[resource_id.lower()] = data
            data.update(lastModifiedBy=USER, lastModifiedByType="User", lastModifiedAt=now)

    def _system(self, resource_id: str) -> dict[str, str]:
        with self._lock:
            return dict(self._system_data.get(resource_id.lower(), {}))

    def _forget(self, resource_id: str) -> None:
        with self._lock:
            self._system_data.pop(resource_id.lower(), None)

    def _operation(self, request: Request, sub: str, resource_id: str) -> tuple[str, str]:
        """Record an (already succeeded) operation; return its status URL and its result URL."""
        op = str(uuid.uuid4())
        now = _now()
        scope = f"/subscriptions/{sub}/providers/{PROVIDER}/locations/{OPERATION_LOCATION}"
        with self._lock:
            self._operations[op] = {
                "id": f"{scope}/operationStatuses/{op}",
                "name": op,
                "resourceId": resource_id,
                "status": "Succeeded",
                "startTime": now,
                "endTime": now,
                "properties": None,
            }
        query = f"?api-version={request.param('api-version') or API_VERSION}"
        base = request.base_url + scope
        return f"{base}/operationStatuses/{op}{query}", f"{base}/operationResults/{op}{query}"

    def _lookup(self, request: Request) -> dict[str, Any] | Response:
        with self._lock:
            body = self._operations.get(request.params["op"].lower())
        if body is None:
            return arm_error(
                404, "ResourceNotFound", f"The operation '{request.params['op']}' was not found."
            )
        return body

    def operation_status(self, request: Request) -> Response:
        body = self._lookup(request)
        return body if isinstance(body, Response) else Response(200, body)

    def operation_result(self, request: Request) -> Response:
        body = self._lookup(request)
        return body if isinstance(body, Response) else Response(204)

    def _page(self, request: Request, items: list[dict[str, Any]]) -> Response:
        token = request.param("$skipToken") or "0"
        start = int(token) if token.isdigit() else 0
        body: dict[str, Any] = {"value": items[start : start + PAGE_SIZE]}
        if start + PAGE_SIZE < len(items):
            api = request.param("api-version") or API_VERSION
            body["nextLink"] = (
                f"{request.base_url}{request.path}?api-version={api}&$skipToken={start + PAGE_SIZE}"
            )
        return Response(200, body)

    def _created(self, request: Request, sub: str, resource_id: str, body: dict[str, Any]) -> Response:
        status_url, _ = self._operation(request, sub, resource_id)
        return Response(201, body, {"Azure-AsyncOperation": status_url})

    # ---- email services ----------------------------------------------------------------------------
    @staticmethod
    def _service_id(service: EmailServiceState) -> str:
        return (
            f"/subscriptions/{service.subscription}/resourceGroups/{service.resource_group}"
            f"/providers/{PROVIDER}/emailServices/{service.name}"
        )

    def _service_body(self, service: EmailServiceState, provisioning: str = "Succeeded") -> dict[str, Any]:
        resource_id = self._service_id(service)
        return {
            "id": resource_id,
            "name": service.name,
            "type": f"{PROVIDER}/EmailServices",
            "location": service.location,
            "tags": dict(service.tags),
            "systemData": self._system(resource_id),
            "properties": {"provisioningState": provisioning, "dataLocation": service.data_location},
        }

    def list_services(self, request: Request) -> Response:
        with self.state.lock:
            services = _in_scope(self._params(request), list(self.state.email_services.values()))
        return self._page(request, [self._service_body(s) for s in services])

    def get_service(self, request: Request) -> Response:
        p = self._params(request)
        service = self.state.email_service(p["sub"], p["rg"], p["es"])
        if service is None:
            return _not_found("emailServices", p["es"], p["rg"])
        return Response(200, self._service_body(service))

    def put_service(self, request: Request) -> Response:
        p = self._params(request)
        body = _body(request)
        if isinstance(body, Response):
            return body
        if not _SERVICE_NAME.match(p["es"]):
            return _bad_request(f"The resource name '{p['es']}' is invalid.", "InvalidResourceName")
        location = body.get("location")
        if not location:
            return _bad_request("The location property is required for this definition.", "LocationRequired")
        properties = body.get("properties") or {}
        existing = self.state.email_service(p["sub"], p["rg"], p["es"])
        data_location = properties.get("dataLocation") or (existing.data_location if existing else None)
        if not data_location:
            return _bad_request("The property 'properties.dataLocation' is required.")
        if existing and _compact_location(data_location) != _compact_location(existing.data_location):
            return _bad_request("The property 'properties.dataLocation' cannot be changed.")
        service = EmailServiceState(
            subscription=existing.subscription if existing else p["sub"],
            resource_group=existing.resource_group if existing else p["rg"],
            name=existing.name if existing else p["es"],
            location=location,
            data_location=data_location,
            tags=dict(body.get("tags") or {}),
        )
        self.state.put_email_service(service)
        resource_id = self._service_id(service)
        self._touch(resource_id, created=existing is None)
        if existing:
            return Response(200, self._service_body(service))
        return self._created(request, p["sub"], resource_id, self._service_body(service, "Accepted"))

    def patch_service(self, request: Request) -> Response:
        p = self._params(request)
        body = _body(request)
        if isinstance(body, Response):
            return body
        service = self.state.email_service(p["sub"], p["rg"], p["es"])
        if service is None:
            return _not_found("emailServices", p["es"], p["rg"])
        with self.state.lock:
            if "tags" in body:
                service.tags = dict(body.get("tags") or {})
        self._touch(self._service_id(service), created=False)
        return Response(200, self._service_body(service))

    def delete_service(self, request: Request) -> Response:
        p = self._params(request)
        service = self.state.email_service(p["sub"], p["rg"], p["es"])
        if service is None:
            return Response(204)
        for domain in self._domains_of(service):
            self._remove_domain(domain)
        with self.state.lock:
            self.state.email_services.pop((p["sub"].lower(), p["rg"].lower(), p["es"].lower()), None)
        self._forget(self._service_id(service))
        return Response(200)

    # ---- domains ----------------------------------------------------------------------------------
    @staticmethod
    def _domain_id(domain: EmailDomainState) -> str:
        return (
            f"/subscriptions/{domain.subscription}/resourceGroups/{domain.resource_group}"
            f"/providers/{PROVIDER}/emailServices/{domain.email_service}/domains/{domain.name}"
        )

    def _domains_of(self, service: EmailServiceState) -> list[EmailDomainState]:
        key = (service.subscription.lower(), service.resource_group.lower(), service.name.lower())
        with self.state.lock:
            found = [d for k, d in self.state.email_domains.items() if k[:3] == key]
        return sorted(found, key=lambda d: d.name)

    def _remove_domain(self, domain: EmailDomainState) -> None:
        self.state.delete_email_domain(domain)
        self.verifier.forget(domain)
        self._forget(self._domain_id(domain))

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

    def _domain_body(self, domain: EmailDomainState, provisioning: str = "Succeeded") -> dict[str, Any]:
        """Call without holding state.lock: brings the verification states up to date first (DNS queries)."""
        self.verifier.refresh(domain)
        resource_id = self._domain_id(domain)
        with self.state.lock:
            states = {kind: dict(self._state_of(domain, kind)) for kind in VERIFICATION_TYPES}
            body: dict[str, Any] = {
                "id": resource_id,
                "name": domain.name,
                "type": f"{PROVIDER}/EmailServices/Domains",
                "location": "global",
                "systemData": self._system(resource_id),
            }
            if domain.tags:
                body["tags"] = dict(domain.tags)
            body["properties"] = {
                "provisioningState": provisioning,
                "dataLocation": domain.data_location,
                "fromSenderDomain": self._sender_domain(domain),
                "mailFromSenderDomain": self._sender_domain(domain),
                "domainManagement": domain.domain_management,
                "verificationStates": states,
                "verificationRecords": self._records(domain),
                "userEngagementTracking": domain.user_engagement_tracking,
            }
        return body

    @staticmethod
    def _state_of(domain: EmailDomainState, kind: str) -> dict[str, str]:
        return domain.verification_states.get(kind) or {"status": "NotStarted"}

    def _find_domain(self, p: dict[str, str]) -> EmailDomainState | Response:
        domain = self.state.email_domain(p["sub"], p["rg"], p["es"], p["domain"])
        if domain is None:
            return _not_found(f"emailServices/{p['es']}/domains", p["domain"], p["rg"])
        return domain

    def list_domains(self, request: Request) -> Response:
        p = self._params(request)
        service = self.state.email_service(p["sub"], p["rg"], p["es"])
        if service is None:
            return _not_found("emailServices", p["es"], p["rg"])
        return self._page(request, [self._domain_body(d) for d in self._domains_of(service)])

    def get_domain(self, request: Request) -> Response:
        domain = self._find_domain(self._params(request))
        if isinstance(domain, Response):
            return domain
        return Response(200, self._domain_body(domain))

    def put_domain(self, request: Request) -> Response:
        p = self._params(request)
        body = _body(request)
        if isinstance(body, Response):
            return body
        service = self.state.email_service(p["sub"], p["rg"], p["es"])
        if service is None:
            return arm_error(
                404,
                "ParentResourceNotFound",
                f"Can not perform requested operation on nested resource. Parent resource '{p['es']}' not found.",
            )
        if not body.get("location"):
            return _bad_request("The location property is required for this definition.", "LocationRequired")
        properties = body.get("properties") or {}
        management = next(
            (
                m
                for m in DOMAIN_MANAGEMENT
                if m.lower() == str(properties.get("domainManagement", "")).lower()
            ),
            None,
        )
        if management is None:
            return _bad_request(
                "The property 'properties.domainManagement' is required and must be one of "
                f"{', '.join(DOMAIN_MANAGEMENT)}."
            )
        name = p["domain"].rstrip(".")
        if management == "AzureManaged" and name.lower() != AZURE_MANAGED_NAME.lower():
            return _bad_request(f"An Azure managed domain must be named '{AZURE_MANAGED_NAME}'.")
        if management != "AzureManaged" and not _DOMAIN_NAME.match(name.lower()):
            return _bad_request(f"The domain name '{name}' is not a valid domain name.")
        existing = self.state.email_domain(p["sub"], p["rg"], p["es"], name)
        if existing is not None and existing.domain_management != management:
            return _bad_request("The property 'properties.domainManagement' cannot be changed.")
        tracking = properties.get("userEngagementTracking")
        if existing is not None:
            with self.state.lock:
                existing.tags = dict(body.get("tags") or {})
                if tracking:
                    existing.user_engagement_tracking = tracking
            self._touch(self._domain_id(existing), created=False)
            return Response(200, self._domain_body(existing))
        initial = "Verified" if management == "AzureManaged" else "NotStarted"
        domain = EmailDomainState(
            subscription=service.subscription,
            resource_group=service.resource_group,
            email_service=service.name,
            name=AZURE_MANAGED_NAME if management == "AzureManaged" else name.lower(),
            domain_management=management,
            data_location=_compact_location(service.data_location),
            tags=dict(body.get("tags") or {}),
            user_engagement_tracking=tracking or "Disabled",
            verification_states={kind: {"status": initial} for kind in VERIFICATION_TYPES},
        )
        self.state.put_email_domain(domain)
        resource_id = self._domain_id(domain)
        self._touch(resource_id, created=True)
        return self._created(request, p["sub"], resource_id, self._domain_body(domain, "Accepted"))

    def patch_domain(self, request: Request) -> Response:
        p = self._params(request)
        body = _body(request)
        if isinstance(body, Response):
            return body
        domain = self._find_domain(p)
        if isinstance(domain, Response):
            return domain
        tracking = (body.get("properties") or {}).get("userEngagementTracking")
        if tracking is not None and tracking not in ("Disabled", "Enabled"):
            return _bad_request(
                "The property 'properties.userEngagementTracking' must be Disabled or Enabled."
            )
        with self.state.lock:
            if "tags" in body:
                domain.tags = dict(body.get("tags") or {})
            if tracking is not None:
                domain.user_engagement_tracking = tracking
        self._touch(self._domain_id(domain), created=False)
        return Response(200, self._domain_body(domain))

    def delete_domain(self, request: Request) -> Response:
        p = self._params(request)
        domain = self.state.email_domain(p["sub"], p["rg"], p["es"], p["domain"])
        if domain is None:
            return Response(204)
        self._remove_domain(domain)
        _, result_url = self._operation(request, p["sub"], self._domain_id(domain))
        return Response(202, None, {"Location": result_url})

    def initiate(self, request: Request) -> Response:
        return self._verification(request, self.verifier.initiate)

    def cancel(self, request: Request) -> Response:
        return self._verification(request, self.verifier.cancel)

    def _verification(self, request: Request, action: Callable[[EmailDomainState, str], None]) -> Response:
        p = self._params(request)
        body = request.json()
        domain = self._find_domain(p)
        if isinstance(domain, Response):
            return domain
        requested = str(body.get("verificationType", "")) if isinstance(body, dict) else ""
        kind = next((k for k in VERIFICATION_TYPES if k.lower() == requested.lower()), None)
        if kind is None:
            return _bad_request(
                f"The property 'verificationType' must be one of {', '.join(VERIFICATION_TYPES)}.",
                "InvalidVerificationType",
            )
        if domain.domain_management != "CustomerManaged":
            # sandbox decision: only customer-managed domains are verified through DNS
            return _bad_request(f"Verification is not supported for {domain.domain_management} domains.")
        action(domain, kind)
        self._touch(self._domain_id(domain), created=False)
        status_url, result_url = self._operation(request, p["sub"], self._domain_id(domain))
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Azure-AsyncOperation": status_url,
            "Location": result_url,
        }
        return Response(202, b"null", headers)

    # ---- communication services ----------------------------------------------------------------------
    @staticmethod
    def _cs_id(service: CommunicationServiceState) -> str:
        return (
            f"/subscriptions/{service.subscription}/resourceGroups/{service.resource_group}"
            f"/providers/{PROVIDER}/communicationServices/{service.name}"
        )

    def _cs_body(self, service: CommunicationServiceState, provisioning: str = "Succeeded") -> dict[str, Any]:
        resource_id = self._cs_id(service)
        return {
            "id": resource_id,
            "name": service.name,
            "type": f"{PROVIDER}/CommunicationServices",
            "location": service.location,
            "tags": dict(service.tags),
            "systemData": self._system(resource_id),
            "properties": {
                "provisioningState": provisioning,
                "hostName": f"{service.name}.{_compact_location(service.data_location)}.communication.azure.com",
                "dataLocation": service.data_location,
                "version": "0.2.0",
                "immutableResourceId": str(uuid.uuid5(uuid.NAMESPACE_URL, resource_id.lower())),
                "linkedDomains": list(service.linked_domains),
            },
        }

    def _link_error(self, data_location: str, linked: object) -> Response | None:
        """Every linked id must be an existing email domain in the same data location, fully verified."""
        if not isinstance(linked, list):
            return _bad_request("The property 'properties.linkedDomains' must be a list of resource ids.")
        for resource_id in linked:
            m = _DOMAIN_ID.match(str(resource_id))
            domain = self.state.email_domain(*(unquote(g) for g in m.groups())) if m else None
            if domain is None:
                return _bad_request(
                    f"The linked domain '{resource_id}' was not found.", "InvalidLinkedDomain"
                )
            if domain.data_location != _compact_location(data_location):
                message = f"The data location of the domain '{resource_id}' does not match the resource's."
                return _bad_request(message, "DataLocationMismatch")
            self.verifier.refresh(domain)
            if any(self._state_of(domain, k)["status"] != "Verified" for k in LINK_STATES):
                return _bad_request(
                    "Requested domain is not in a valid state for linking to CommunicationServices resource",
                    "DomainValidationError",
                )
        return None

    def list_cs(self, request: Request) -> Response:
        with self.state.lock:
            services = _in_scope(self._params(request), list(self.state.communication_services.values()))
        return self._page(request, [self._cs_body(s) for s in services])

    def get_cs(self, request: Request) -> Response:
        p = self._params(request)
        service = self.state.communication_service(p["sub"], p["rg"], p["cs"])
        if service is None:
            return _not_found("communicationServices", p["cs"], p["rg"])
        return Response(200, self._cs_body(service))

    def put_cs(self, request: Request) -> Response:
        p = self._params(request)
        body = _body(request)
        if isinstance(body, Response):
            return body
        if not _COMMUNICATION_NAME.match(p["cs"]):
            return _bad_request(f"The resource name '{p['cs']}' is invalid.", "InvalidResourceName")
        if not body.get("location"):
            return _bad_request("The location property is required for this definition.", "LocationRequired")
        properties = body.get("properties") or {}
        data_location = properties.get("dataLocation")
        if not data_location:
            return _bad_request("The property 'properties.dataLocation' is required.")
        linked = properties.get("linkedDomains") or []
        error = self._link_error(data_location, linked)
        if error is not None:
            return error
        existing = self.state.communication_service(p["sub"], p["rg"], p["cs"])
        service = CommunicationServiceState(
            subscription=existing.subscription if existing else p["sub"],
            resource_group=existing.resource_group if existing else p["rg"],
            name=existing.name if existing else p["cs"],
            location=body["location"],
            data_location=data_location,
            linked_domains=[str(d) for d in linked],
            tags=dict(body.get("tags") or {}),
        )
        self.state.put_communication_service(service)
        resource_id = self._cs_id(service)
        self._touch(resource_id, created=existing is None)
        if existing:
            return Response(200, self._cs_body(service))
        return self._created(request, p["sub"], resource_id, self._cs_body(service, "Accepted"))

    def patch_cs(self, request: Request) -> Response:
        """Synchronous (the SDK's `update` accepts 200 only); `linkedDomains` replaces the whole list."""
        p = self._params(request)
        body = _body(request)
        if isinstance(body, Response):
            return body
        service = self.state.communication_service(p["sub"], p["rg"], p["cs"])
        if service is None:
            return _not_found("communicationServices", p["cs"], p["rg"])
        properties = body.get("properties") or {}
        if "linkedDomains" in properties:
            linked = properties["linkedDomains"] or []
            error = self._link_error(service.data_location, linked)
            if error is not None:
                return error
            with self.state.lock:
                service.linked_domains = [str(d) for d in linked]
        if "tags" in body:
            with self.state.lock:
                service.tags = dict(body.get("tags") or {})
        self._touch(self._cs_id(service), created=False)
        return Response(200, self._cs_body(service))

    def delete_cs(self, request: Request) -> Response:
        p = self._params(request)
        service = self.state.communication_service(p["sub"], p["rg"], p["cs"])
        if service is None:
            return Response(204)
        with self.state.lock:
            self.state.communication_services.pop((p["sub"].lower(), p["rg"].lower(), p["cs"].lower()), None)
        self._forget(self._cs_id(service))
        return Response(200)
