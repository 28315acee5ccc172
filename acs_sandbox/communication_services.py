"""Microsoft.Communication/communicationServices (api-version 2025-09-01): the resource, its managed identity,
access keys, notification hub link, linked email domains and SMTP usernames.

PUT creates with 201 + `Azure-AsyncOperation` (provisioningState "Accepted") and replaces with 200; PATCH is
synchronous (the SDK's `update` accepts 200 only) and replaces `linkedDomains` as a whole; DELETE answers
202 + `Location`. Linking follows the service: every linked id must name an existing email domain whose
Domain, SPF, DKIM and DKIM2 are Verified and whose email service's data location is the resource's.
"""

from __future__ import annotations

import re
import uuid
from typing import Any
from urllib.parse import unquote

from acs_sandbox.comm_common import (
    CS,
    NAME_PATTERN,
    RG,
    SUB,
    TENANT_ID,
    RouteGroup,
    bad_request,
    compact_location,
    data_location_error,
    in_scope,
    json_body,
    location_error,
    not_found,
    page,
    page_by_name,
    params,
    parent_not_found,
)
from acs_sandbox.http import Handler, Request, Response
from acs_sandbox.lro import PROVIDER
from acs_sandbox.state import CommunicationServiceState, SmtpUsernameState, new_access_key

LINK_STATES = ("Domain", "SPF", "DKIM", "DKIM2")  # DMARC is not needed to link [U] (azure-api.md §6)
IDENTITY_TYPES = ("None", "SystemAssigned", "UserAssigned", "SystemAssigned,UserAssigned")
PUBLIC_NETWORK_ACCESS = ("Enabled", "Disabled", "SecuredByPerimeter")  # common-types v5 enum
KEY_TYPES = ("Primary", "Secondary")
VERSION = "0.2.0"  # what the examples and real resources report

_COMMUNICATION_NAME = re.compile(r"[-\w]{1,63}\Z")
_DOMAIN_ID = re.compile(
    r"/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)/providers/Microsoft\.Communication"
    r"/emailServices/(?P<es>[^/]+)/domains/(?P<domain>[^/]+)/?\Z",
    re.IGNORECASE,
)


def cs_id(service: CommunicationServiceState) -> str:
    return (
        f"/subscriptions/{service.subscription}/resourceGroups/{service.resource_group}"
        f"/providers/{PROVIDER}/communicationServices/{service.name}"
    )


def host_name(service: CommunicationServiceState) -> str:
    return f"{service.name.lower()}.{compact_location(service.data_location)}.communication.azure.com"


def identity_update(
    current: dict[str, Any] | None, requested: object, *, merge: bool
) -> dict[str, Any] | Response | None:
    """The resource's new `identity` (None = type None) from the request's, as ARM's managed identity does:
    a system-assigned principal is kept while the type keeps SystemAssigned; user-assigned identities are
    replaced on PUT and merged on PATCH (an id mapped to null is removed)."""
    if not isinstance(requested, dict):
        return bad_request("The property 'identity' must be an object.", "InvalidIdentity")
    wanted = re.sub(r"\s+", "", str(requested.get("type", ""))).lower()
    kind = next((t for t in IDENTITY_TYPES if t.lower() == wanted), None)
    if kind is None:
        return bad_request(
            f"The identity type '{requested.get('type')}' is invalid; use one of {', '.join(IDENTITY_TYPES)}.",
            "InvalidIdentityType",
        )
    assigned = requested.get("userAssignedIdentities")
    if assigned is not None and not isinstance(assigned, dict):
        return bad_request(
            "The property 'identity.userAssignedIdentities' must be an object.", "InvalidIdentity"
        )
    if kind == "None":
        return None
    current = current or {}
    identity: dict[str, Any] = {"type": kind}
    if "SystemAssigned" in kind:
        keep = "SystemAssigned" in current.get("type", "") and current.get("principalId")
        identity["principalId"] = current["principalId"] if keep else str(uuid.uuid4())
        identity["tenantId"] = TENANT_ID
    if "UserAssigned" in kind:
        existing = dict(current.get("userAssignedIdentities") or {}) if merge or assigned is None else {}
        for resource_id, value in (assigned or {}).items():
            if value is None:
                existing.pop(resource_id, None)
            elif resource_id not in existing:
                existing[resource_id] = {"principalId": str(uuid.uuid4()), "clientId": str(uuid.uuid4())}
        if not existing:
            return bad_request(
                f"The identity type '{kind}' needs at least one entry in 'identity.userAssignedIdentities'.",
                "InvalidIdentity",
            )
        identity["userAssignedIdentities"] = existing
    elif assigned:
        return bad_request(
            f"'identity.userAssignedIdentities' cannot be set with the identity type '{kind}'.",
            "InvalidIdentity",
        )
    return identity


class CommunicationServicesApi(RouteGroup):
    def routes(self) -> list[tuple[str, str, str, Handler]]:
        return [
            ("GET", SUB + r"/communicationServices", "cs.list_sub", self.list_cs),
            ("GET", RG + r"/communicationServices", "cs.list", self.list_cs),
            ("PUT", CS, "cs.put", self.put_cs),
            ("GET", CS, "cs.get", self.get_cs),
            ("PATCH", CS, "cs.patch", self.patch_cs),
            ("DELETE", CS, "cs.delete", self.delete_cs),
            ("POST", CS + r"/listKeys", "cs.list_keys", self.list_keys),
            ("POST", CS + r"/regenerateKey", "cs.regenerate_key", self.regenerate_key),
            ("POST", CS + r"/linkNotificationHub", "cs.link_notification_hub", self.link_notification_hub),
            ("GET", CS + r"/smtpUsernames", "smtp.list", self.list_smtp),
            ("PUT", CS + r"/smtpUsernames/(?P<smtp>[^/]+)", "smtp.put", self.put_smtp),
            ("GET", CS + r"/smtpUsernames/(?P<smtp>[^/]+)", "smtp.get", self.get_smtp),
            ("DELETE", CS + r"/smtpUsernames/(?P<smtp>[^/]+)", "smtp.delete", self.delete_smtp),
        ]

    # ---- bodies -------------------------------------------------------------------------------------
    def _cs_body(self, service: CommunicationServiceState) -> dict[str, Any]:
        resource_id = cs_id(service)
        properties: dict[str, Any] = {
            "provisioningState": self.operations.provisioning_state(resource_id),
            "hostName": host_name(service),
            "dataLocation": service.data_location,
            "version": VERSION,
            "immutableResourceId": str(uuid.uuid5(uuid.NAMESPACE_URL, resource_id.lower())),
            "linkedDomains": list(service.linked_domains),
            "disableLocalAuth": bool(service.disable_local_auth),
            "publicNetworkAccess": service.public_network_access or "Enabled",
        }
        if service.notification_hub_id:
            properties["notificationHubId"] = service.notification_hub_id
        return {
            "id": resource_id,
            "name": service.name,
            "type": f"{PROVIDER}/CommunicationServices",
            "location": service.location,
            "tags": dict(service.tags),
            "systemData": self.system.get(resource_id),
            "identity": dict(service.identity) if service.identity else {"type": "None"},
            "properties": properties,
        }

    def _target(
        self, request: Request
    ) -> tuple[dict[str, str], dict[str, Any], CommunicationServiceState] | Response:
        """The path's parameters, the JSON body and the communication service it names (else the error)."""
        p = params(request)
        body = json_body(request)
        if isinstance(body, Response):
            return body
        service = self._find(p)
        return service if isinstance(service, Response) else (p, body, service)

    def _find(self, p: dict[str, str]) -> CommunicationServiceState | Response:
        service = self.state.communication_service(p["sub"], p["rg"], p["cs"])
        if service is None:
            return not_found("communicationServices", p["cs"], p["rg"])
        return service

    # ---- linking ------------------------------------------------------------------------------------
    def _link_error(self, data_location: str, linked: object) -> Response | None:
        """Every linked id must be an existing email domain in the same data location, fully verified."""
        if not isinstance(linked, list):
            return bad_request("The property 'properties.linkedDomains' must be a list of resource ids.")
        for resource_id in linked:
            m = _DOMAIN_ID.match(str(resource_id))
            domain = self.state.email_domain(*(unquote(g) for g in m.groups())) if m else None
            if domain is None:
                # GUESS: the service's code for an unknown domain id is undocumented
                return bad_request(f"The linked domain '{resource_id}' was not found.", "InvalidLinkedDomain")
            if compact_location(domain.data_location) != compact_location(data_location):
                # GUESS: code and wording for a data location mismatch are undocumented
                message = (
                    f"The data location of the domain '{resource_id}' ({domain.data_location}) does not match "
                    f"the communication service's ({data_location})."
                )
                return bad_request(message, "DataLocationMismatch")
            self.verifier.refresh(domain)
            with self.state.lock:
                statuses = [(domain.verification_states.get(k) or {}).get("status") for k in LINK_STATES]
            if any(s != "Verified" for s in statuses):
                # [U] code and message as reported by users of the real service (azure-api.md §1.4)
                return bad_request(
                    "Requested domain is not in a valid state for linking to CommunicationServices resource",
                    "DomainValidationError",
                )
        return None

    @staticmethod
    def _settings(properties: dict[str, Any]) -> Response | None:
        local = properties.get("disableLocalAuth")
        if local is not None and not isinstance(local, bool):
            return bad_request("The property 'properties.disableLocalAuth' must be a boolean.")
        access = properties.get("publicNetworkAccess")
        if access is not None and access not in PUBLIC_NETWORK_ACCESS:
            return bad_request(
                f"The property 'properties.publicNetworkAccess' must be one of {', '.join(PUBLIC_NETWORK_ACCESS)}."
            )
        return None

    # ---- routes -------------------------------------------------------------------------------------
    def list_cs(self, request: Request) -> Response:
        with self.state.lock:
            found = in_scope(params(request), list(self.state.communication_services.values()))
        return page(request, [self._cs_body(s) for s in found])

    def get_cs(self, request: Request) -> Response:
        service = self._find(params(request))
        return service if isinstance(service, Response) else Response(200, self._cs_body(service))

    def put_cs(self, request: Request) -> Response:
        p = params(request)
        body = json_body(request)
        if isinstance(body, Response):
            return body
        if not _COMMUNICATION_NAME.match(p["cs"]):
            return bad_request(f"The resource name '{p['cs']}' is invalid.", "InvalidResourceName")
        properties = body.get("properties") or {}
        data_location = properties.get("dataLocation")
        error = location_error(body, "communicationServices") or data_location_error(data_location)
        if error is not None:
            return error
        existing = self.state.communication_service(p["sub"], p["rg"], p["cs"])
        if existing and compact_location(data_location) != compact_location(existing.data_location):
            return bad_request("The property 'properties.dataLocation' cannot be changed.")
        error = self._settings(properties)
        linked = properties.get("linkedDomains") or []
        error = error or self._link_error(data_location, linked)
        if error is not None:
            return error
        identity = identity_update(
            existing.identity if existing else None, body.get("identity") or {"type": "None"}, merge=False
        )
        if isinstance(identity, Response):
            return identity
        service = CommunicationServiceState(
            subscription=existing.subscription if existing else p["sub"],
            resource_group=existing.resource_group if existing else p["rg"],
            name=existing.name if existing else p["cs"],
            location=body["location"],
            data_location=data_location,
            linked_domains=[str(d) for d in linked],
            tags=dict(body.get("tags") or {}),
            identity=identity,
            disable_local_auth=properties.get("disableLocalAuth"),
            public_network_access=properties.get("publicNetworkAccess"),
            primary_key=existing.primary_key if existing else new_access_key(),
            secondary_key=existing.secondary_key if existing else new_access_key(),
            notification_hub_id=existing.notification_hub_id if existing else None,
            smtp_usernames=existing.smtp_usernames if existing else {},
        )
        self.state.put_communication_service(service)
        resource_id = cs_id(service)
        self.system.touch(resource_id, created=existing is None)
        if existing:
            return Response(200, self._cs_body(service))
        op = self.operations.start(p["sub"], resource_id, creating=True)
        return Response(201, self._cs_body(service), self.operations.headers(request, op))

    def patch_cs(self, request: Request) -> Response:
        target = self._target(request)
        if isinstance(target, Response):
            return target
        _, body, service = target
        properties = body.get("properties") or {}
        error = self._settings(properties)
        if error is None and "linkedDomains" in properties:
            error = self._link_error(service.data_location, properties["linkedDomains"] or [])
        if error is not None:
            return error
        identity: Any = service.identity
        if "identity" in body:
            identity = identity_update(service.identity, body["identity"], merge=True)
            if isinstance(identity, Response):
                return identity
        with self.state.lock:
            if "linkedDomains" in properties:
                service.linked_domains = [str(d) for d in properties["linkedDomains"] or []]
            if "tags" in body:
                service.tags = dict(body.get("tags") or {})
            if properties.get("disableLocalAuth") is not None:
                service.disable_local_auth = properties["disableLocalAuth"]
            if properties.get("publicNetworkAccess") is not None:
                service.public_network_access = properties["publicNetworkAccess"]
            service.identity = identity
        self.system.touch(cs_id(service), created=False)
        return Response(200, self._cs_body(service))

    def delete_cs(self, request: Request) -> Response:
        p = params(request)
        service = self.state.communication_service(p["sub"], p["rg"], p["cs"])
        if service is None:
            return Response(204)
        with self.state.lock:
            self.state.communication_services.pop((p["sub"].lower(), p["rg"].lower(), p["cs"].lower()), None)
        resource_id = cs_id(service)
        self.system.forget(resource_id)
        op = self.operations.start(p["sub"], resource_id)
        return Response(202, None, self.operations.headers(request, op, async_operation=False, location=True))

    # ---- keys and notification hub --------------------------------------------------------------------
    def _connection_string(self, service: CommunicationServiceState, key: str) -> str:
        return f"endpoint=https://{host_name(service)}/;accesskey={key}"

    def list_keys(self, request: Request) -> Response:
        service = self._find(params(request))
        if isinstance(service, Response):
            return service
        return Response(
            200,
            {
                "primaryKey": service.primary_key,
                "secondaryKey": service.secondary_key,
                "primaryConnectionString": self._connection_string(service, service.primary_key),
                "secondaryConnectionString": self._connection_string(service, service.secondary_key),
            },
        )

    def regenerate_key(self, request: Request) -> Response:
        """Answers only the regenerated key and its connection string, as the example shows."""
        target = self._target(request)
        if isinstance(target, Response):
            return target
        _, body, service = target
        wanted = str(body.get("keyType", "")).lower()
        key_type = next((k for k in KEY_TYPES if k.lower() == wanted), None)
        if key_type is None:
            return bad_request("The property 'keyType' must be 'Primary' or 'Secondary'.", "InvalidKeyType")
        key = new_access_key()
        with self.state.lock:
            if key_type == "Primary":
                service.primary_key = key
            else:
                service.secondary_key = key
        prefix = key_type.lower()
        return Response(
            200, {f"{prefix}Key": key, f"{prefix}ConnectionString": self._connection_string(service, key)}
        )

    def link_notification_hub(self, request: Request) -> Response:
        target = self._target(request)
        if isinstance(target, Response):
            return target
        _, body, service = target
        hub = str(body.get("resourceId") or "")
        if not hub or not body.get("connectionString"):
            return bad_request("The properties 'resourceId' and 'connectionString' are required.")
        if not hub.lower().startswith(f"/subscriptions/{service.subscription.lower()}/"):
            # code and message from the spec example
            return bad_request(
                "The notification hub must be in the same subscription as the communication service",
                "WrongSubscription",
            )
        with self.state.lock:
            service.notification_hub_id = hub
        return Response(200, {"resourceId": hub})

    # ---- SMTP usernames ---------------------------------------------------------------------------------
    def _smtp_body(self, service: CommunicationServiceState, smtp: SmtpUsernameState) -> dict[str, Any]:
        resource_id = f"{cs_id(service)}/smtpUsernames/{smtp.name}"
        return {
            "id": resource_id,
            "name": smtp.name,
            "type": f"{PROVIDER}/CommunicationServices/SmtpUsernames",
            "systemData": self.system.get(resource_id),
            "properties": {
                "username": smtp.username,
                "entraApplicationId": smtp.entra_application_id,
                "tenantId": smtp.tenant_id,
            },
        }

    def list_smtp(self, request: Request) -> Response:
        service = self._find(params(request))
        if isinstance(service, Response):
            return service
        return page_by_name(
            request, self.state.lock, service.smtp_usernames.values(), lambda s: self._smtp_body(service, s)
        )

    def get_smtp(self, request: Request) -> Response:
        p = params(request)
        service = self._find(p)
        if isinstance(service, Response):
            return service
        smtp = service.smtp_usernames.get(p["smtp"].lower())
        if smtp is None:
            return not_found(f"communicationServices/{p['cs']}/smtpUsernames", p["smtp"], p["rg"])
        return Response(200, self._smtp_body(service, smtp))

    def put_smtp(self, request: Request) -> Response:
        p = params(request)
        body = json_body(request)
        if isinstance(body, Response):
            return body
        service = self.state.communication_service(p["sub"], p["rg"], p["cs"])
        if service is None:
            return parent_not_found(p["cs"])
        if not NAME_PATTERN.match(p["smtp"]):
            return bad_request(f"The resource name '{p['smtp']}' is invalid.", "InvalidResourceName")
        properties = body.get("properties") or {}
        missing = [k for k in ("username", "entraApplicationId", "tenantId") if not properties.get(k)]
        if missing:
            return bad_request(f"The properties {', '.join(missing)} are required.")
        with self.state.lock:
            existing = service.smtp_usernames.get(p["smtp"].lower())
            smtp = SmtpUsernameState(
                name=existing.name if existing else p["smtp"],
                username=str(properties["username"]),
                entra_application_id=str(properties["entraApplicationId"]),
                tenant_id=str(properties["tenantId"]),
            )
            service.smtp_usernames[p["smtp"].lower()] = smtp
        self.system.touch(f"{cs_id(service)}/smtpUsernames/{smtp.name}", created=existing is None)
        return Response(200 if existing else 201, self._smtp_body(service, smtp))

    def delete_smtp(self, request: Request) -> Response:
        p = params(request)
        service = self.state.communication_service(p["sub"], p["rg"], p["cs"])
        with self.state.lock:
            removed = service.smtp_usernames.pop(p["smtp"].lower(), None) if service else None
        if service is None or removed is None:
            return Response(204)
        self.system.forget(f"{cs_id(service)}/smtpUsernames/{removed.name}")
        return Response(200)
