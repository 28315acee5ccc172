"""What every Microsoft.Communication route module shares: path patterns, ARM error bodies, paging,
`systemData` bookkeeping."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar
from urllib.parse import unquote

from acs_sandbox.http import Handler, Request, Response, Router, arm_error
from acs_sandbox.lro import API_VERSION, PROVIDER, Operations, now_iso
from acs_sandbox.state import EmailDomainState, EmailServiceState, SandboxState
from acs_sandbox.verification import Verifier

PAGE_SIZE = 100  # [U] the real page size is undocumented; 100 is the common ARM default
USER = "sandbox-user@example.com"
TENANT_ID = "72f988bf-86f1-41af-91ab-2d7cd011db47"  # GUESS: the sandbox's one tenant (any GUID works)

SUB = r"/subscriptions/(?P<sub>[^/]+)/providers/Microsoft\.Communication"
RG = r"/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)/providers/Microsoft\.Communication"
ES = RG + r"/emailServices/(?P<es>[^/]+)"
DOMAIN = ES + r"/domains/(?P<domain>[^/]+)"
CS = RG + r"/communicationServices/(?P<cs>[^/]+)"
NAME_PATTERN = re.compile(r"[a-zA-Z0-9-]{1,253}\Z")  # the spec's pattern of child resource names


def service_id(service: EmailServiceState) -> str:
    return (
        f"/subscriptions/{service.subscription}/resourceGroups/{service.resource_group}"
        f"/providers/{PROVIDER}/emailServices/{service.name}"
    )


def domain_id(domain: EmailDomainState) -> str:
    return (
        f"/subscriptions/{domain.subscription}/resourceGroups/{domain.resource_group}"
        f"/providers/{PROVIDER}/emailServices/{domain.email_service}/domains/{domain.name}"
    )


class _Scoped(Protocol):
    subscription: str
    resource_group: str
    name: str


_Listed = TypeVar("_Listed", bound=_Scoped)


def in_scope(p: dict[str, str], resources: Iterable[_Listed]) -> list[_Listed]:
    """The resources in the request's subscription (and resource group, if the path has one), sorted."""
    rg = p.get("rg")
    found = [
        r
        for r in resources
        if r.subscription.lower() == p["sub"].lower()
        and (rg is None or r.resource_group.lower() == rg.lower())
    ]
    return sorted(found, key=lambda r: (r.resource_group.lower(), r.name.lower()))


def find_domain(
    state: SandboxState, p: dict[str, str], *, parent: bool = False
) -> EmailDomainState | Response:
    """The path's email domain, else 404 (ParentResourceNotFound when the domain is the parent of a write)."""
    domain = state.email_domain(p["sub"], p["rg"], p["es"], p["domain"])
    if domain is not None:
        return domain
    if parent:
        return parent_not_found(p["domain"])
    return not_found(f"emailServices/{p['es']}/domains", p["domain"], p["rg"])


def params(request: Request) -> dict[str, str]:
    return {k: unquote(v) for k, v in request.params.items()}


def json_body(request: Request) -> dict[str, Any] | Response:
    body = request.json()
    if not isinstance(body, dict):
        return bad_request("The request content must be a JSON object.", "InvalidRequestContent")
    return body


def bad_request(message: str, code: str = "InvalidRequest") -> Response:
    return arm_error(400, code, message)


def not_found(resource_type: str, name: str, resource_group: str) -> Response:
    return arm_error(
        404,
        "ResourceNotFound",
        f"The Resource '{PROVIDER}/{resource_type}/{name}' under resource group '{resource_group}' was not found."
        " For more details please go to https://aka.ms/ARMResourceNotFoundFix",
    )


def parent_not_found(name: str) -> Response:
    return arm_error(
        404,
        "ParentResourceNotFound",
        f"Can not perform requested operation on nested resource. Parent resource '{name}' not found.",
    )


# GUESS: the data locations the portal offers for ACS (the service's own list and its error code are not in
# the spec); compared without spaces and case, so "unitedstates" is "United States"
DATA_LOCATIONS = (
    "Africa",
    "Asia Pacific",
    "Australia",
    "Brazil",
    "Canada",
    "Europe",
    "France",
    "Germany",
    "India",
    "Japan",
    "Korea",
    "Norway",
    "Switzerland",
    "UAE",
    "UK",
    "United States",
)


def location_error(body: dict[str, Any], resource_type: str) -> Response | None:
    """ACS resources live in the location "global" only; ARM's errors for a missing or another location."""
    location = body.get("location")
    if not location:
        return bad_request("The location property is required for this definition.", "LocationRequired")
    if str(location).lower() != "global":
        return bad_request(
            f"The provided location '{location}' is not available for resource type "
            f"'{PROVIDER}/{resource_type}'. List of available regions for the resource type is 'global'.",
            "LocationNotAvailableForResourceType",
        )
    return None


def data_location_error(data_location: object) -> Response | None:
    if not data_location:
        return bad_request("The property 'properties.dataLocation' is required.")
    if compact_location(str(data_location)) not in {compact_location(d) for d in DATA_LOCATIONS}:
        return bad_request(
            f"The data location '{data_location}' is not supported; use one of {', '.join(DATA_LOCATIONS)}.",
            "InvalidDataLocation",
        )
    return None


def compact_location(data_location: str) -> str:
    """E.g. "United States" -> "unitedstates", the form domains report."""
    return re.sub(r"\s+", "", data_location).lower()


def page(request: Request, items: list[dict[str, Any]]) -> Response:
    token = request.param("$skipToken") or "0"
    start = int(token) if token.isdigit() else 0
    body: dict[str, Any] = {"value": items[start : start + PAGE_SIZE]}
    if start + PAGE_SIZE < len(items):
        api = request.param("api-version") or API_VERSION
        body["nextLink"] = (
            f"{request.base_url}{request.path}?api-version={api}&$skipToken={start + PAGE_SIZE}"
        )
    return Response(200, body)


class _Named(Protocol):
    name: str


_Child = TypeVar("_Child", bound=_Named)


def page_by_name(
    request: Request,
    lock: threading.RLock,
    children: Iterable[_Child],
    body: Callable[[_Child], dict[str, Any]],
) -> Response:
    """A listing of a parent's child resources (senders, SMTP usernames, suppression lists, addresses): read
    under `lock`, in case-insensitive name order, as `body` renders each, paged."""
    with lock:
        items = sorted(children, key=lambda c: c.name.lower())
    return page(request, [body(c) for c in items])


@dataclass(frozen=True)
class Context:
    """What the route groups share."""

    state: SandboxState
    verifier: Verifier
    operations: Operations
    system: SystemData


class RouteGroup:
    """A set of routes registered as "communication.<name>"."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.state = ctx.state
        self.system = ctx.system
        self.verifier = ctx.verifier
        self.operations = ctx.operations

    def routes(self) -> list[tuple[str, str, str, Handler]]:
        raise NotImplementedError

    def register(self, router: Router) -> None:
        for method, pattern, name, handler in self.routes():
            router.add(method, pattern, f"communication.{name}", handler)


class SystemData:
    """`systemData` per resource id: created on the first write, lastModified on every write."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._data: dict[str, dict[str, str]] = {}

    def touch(self, resource_id: str, *, created: bool) -> None:
        now = now_iso()
        with self._lock:
            data = self._data.get(resource_id.lower())
            if created or data is None:
                data = {"createdBy": USER, "createdByType": "User", "createdAt": now}
                self._data[resource_id.lower()] = data
            data.update(lastModifiedBy=USER, lastModifiedByType="User", lastModifiedAt=now)

    def get(self, resource_id: str) -> dict[str, str]:
        with self._lock:
            return dict(self._data.get(resource_id.lower(), {}))

    def forget(self, resource_id: str) -> None:
        """Forget `resource_id` and everything under it."""
        prefix = resource_id.lower()
        with self._lock:
            for key in [k for k in self._data if k == prefix or k.startswith(prefix + "/")]:
                del self._data[key]


__all__ = [
    "CS",
    "DOMAIN",
    "ES",
    "NAME_PATTERN",
    "PAGE_SIZE",
    "RG",
    "SUB",
    "TENANT_ID",
    "Context",
    "RouteGroup",
    "SystemData",
    "bad_request",
    "compact_location",
    "data_location_error",
    "domain_id",
    "find_domain",
    "in_scope",
    "json_body",
    "location_error",
    "not_found",
    "page",
    "page_by_name",
    "params",
    "parent_not_found",
    "service_id",
]
