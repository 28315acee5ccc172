"""Sandbox-only HTTP paths under /_sandbox/ (never served by real ARM): the request log, per-route
counters, and settings that have no ARM equivalent (a zone's delegation at its registrar, a caller
without the role assignments it needs)."""

from __future__ import annotations

import fnmatch
import threading
import uuid

from acs_sandbox.http import ADMIN_PREFIX, ArmApp, Request, Response, arm_error
from acs_sandbox.state import SandboxState


def authorization_action(method: str, path: str) -> tuple[str, str]:
    """The Azure RBAC action a request needs and the scope it is checked at, as ARM names them in a 403:
    GET .../providers/Microsoft.Network/dnsZones/z/TXT/mail -> ("Microsoft.Network/dnsZones/TXT/read",
    "/subscriptions/.../dnsZones/z/TXT/mail"); POST .../domains/d/initiateVerification ->
    ("Microsoft.Communication/emailServices/domains/initiateVerification/action", ".../domains/d")."""
    parts = [p for p in path.split("/") if p]
    low = [p.lower() for p in parts]
    verb = {"GET": "read", "HEAD": "read", "PUT": "write", "PATCH": "write", "DELETE": "delete"}.get(
        method.upper(), "action"
    )
    if "providers" not in low:  # /subscriptions/{sub}[/resourceGroups/{rg}]
        kind = "resourceGroups" if "resourcegroups" in low else "subscriptions"
        return f"Microsoft.Resources/{kind}/{verb}", "/" + "/".join(parts)
    at = len(low) - 1 - low[::-1].index("providers")
    namespace, rest = parts[at + 1] if at + 1 < len(parts) else "", parts[at + 2 :]
    if verb == "action" and len(rest) >= 3 and len(rest) % 2 == 1:  # .../{type}/{name}/{action}
        types = [*rest[0:-1:2], rest[-1]]
        scope = parts[: len(parts) - 1]
    else:
        types = [("recordsets" if t.lower() == "all" else t) for t in rest[0::2]]
        scope = parts
    return "/".join([namespace, *types, verb]), "/" + "/".join(scope)


class AuthorizationHook:
    """Answers ARM's 403 AuthorizationFailed for subscriptions marked as denied (sandbox-only knob): every
    request, or only those whose action matches one of the given patterns (fnmatch, case-insensitive).
    Authentication comes first, as in ARM: a request without a bearer token still gets its 401."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._denied: dict[str, tuple[str, ...]] = {}  # subscription -> action patterns ("*" = all)

    def set(self, subscription: str, denied: bool, actions: tuple[str, ...]) -> None:
        with self._lock:
            if denied:
                self._denied[subscription.lower()] = actions or ("*",)
            else:
                self._denied.pop(subscription.lower(), None)

    def before(self, request: Request) -> Response | None:
        if not self._denied:  # the common case: nothing denied, nothing to check
            return None
        auth = request.header("authorization") or ""
        if not auth.lower().startswith("bearer ") or not auth[7:].strip():
            return None
        parts = [p for p in request.path.split("/") if p]
        if len(parts) < 2 or parts[0].lower() != "subscriptions":
            return None
        with self._lock:
            patterns = self._denied.get(parts[1].lower())
        if not patterns:
            return None
        action, scope = authorization_action(request.method, request.path)
        if not any(fnmatch.fnmatch(action.lower(), p.lower()) for p in patterns):
            return None
        principal = str(uuid.uuid5(uuid.NAMESPACE_OID, auth[7:].strip()))
        return arm_error(
            403,
            "AuthorizationFailed",
            f"The client '{principal}' with object id '{principal}' does not have authorization to perform "
            f"action '{action}' over scope '{scope}' or the scope is invalid. If access was recently "
            "granted, please refresh your credentials.",
            headers={"x-ms-failure-cause": "gateway"},
        )

    def after(self, request: Request, response: Response) -> None:
        pass


def register(app: ArmApp, state: SandboxState) -> None:
    def counters(_: Request) -> Response:
        return Response(200, app.log.snapshot())

    def requests(_: Request) -> Response:
        return Response(200, {"value": app.log.as_json()})

    def reset(_: Request) -> Response:
        app.log.reset()
        return Response(204)

    def delegation(request: Request) -> Response:
        body = request.json() or {}
        p = request.params
        try:
            state.set_delegated(p["sub"], p["rg"], p["zone"], bool(body.get("delegated", True)))
        except KeyError:
            return Response(404, {"error": {"code": "NotFound", "message": f"zone {p['zone']} not found"}})
        return Response(204)

    def dmarc(request: Request) -> Response:
        """Sandbox-only: make a domain also list a DMARC verification record (its real value is unknown)."""
        body = request.json() or {}
        p = request.params
        domain = state.email_domain(p["sub"], p["rg"], p["es"], p["domain"])
        if domain is None:
            return Response(
                404, {"error": {"code": "NotFound", "message": f"domain {p['domain']} not found"}}
            )
        with state.lock:
            domain.dmarc_record = bool(body.get("enabled", True))
        return Response(204)

    def limits(request: Request) -> Response:
        """Lower (or raise) a zone's maxNumberOfRecordSets, so tests reach the limit in a few writes."""
        body = request.json() or {}
        p = request.params
        limit = body.get("maxNumberOfRecordSets")
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
            return Response(
                400, {"error": {"code": "BadRequest", "message": "maxNumberOfRecordSets must be >= 1"}}
            )
        with state.lock:
            zone = state.get_zone(p["sub"], p["rg"], p["zone"])
            if zone is None:
                return Response(
                    404, {"error": {"code": "NotFound", "message": f"zone {p['zone']} not found"}}
                )
            zone.max_record_sets = limit
        return Response(204)

    authorization = AuthorizationHook()
    app.hooks.append(authorization)

    def deny(request: Request) -> Response:
        """Sandbox-only: {"denied": true} makes every ARM request in the subscription answer 403
        AuthorizationFailed; {"denied": true, "actions": ["Microsoft.Network/dnsZones/*/write"]} only the
        matching ones (a Reader-like role); {"denied": false} lifts it."""
        body = request.json() or {}
        actions = body.get("actions") or []
        if not isinstance(actions, list) or not all(isinstance(a, str) and a for a in actions):
            return Response(
                400, {"error": {"code": "BadRequest", "message": "actions must be a list of patterns"}}
            )
        authorization.set(request.params["sub"], bool(body.get("denied", True)), tuple(actions))
        return Response(204)

    base = ADMIN_PREFIX.rstrip("/")
    app.admin.add("PUT", base + r"/subscriptions/(?P<sub>[^/]+)/authorization", "admin.authorization", deny)
    app.admin.add("GET", base + "/counters", "admin.counters", counters)
    app.admin.add("GET", base + "/requests", "admin.requests", requests)
    app.admin.add("POST", base + "/reset", "admin.reset", reset)
    app.admin.add(
        "PUT",
        base
        + r"/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)/dnsZones/(?P<zone>[^/]+)/delegation",
        "admin.delegation",
        delegation,
    )
    app.admin.add(
        "PUT",
        base + r"/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)/dnsZones/(?P<zone>[^/]+)/limits",
        "admin.limits",
        limits,
    )
    app.admin.add(
        "PUT",
        base + r"/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)/emailServices/(?P<es>[^/]+)"
        r"/domains/(?P<domain>[^/]+)/dmarc",
        "admin.dmarc",
        dmarc,
    )
