"""Sandbox-only HTTP paths under /_sandbox/ (never served by real ARM): the request log, per-route
counters, and settings that have no ARM equivalent (a zone's delegation at its registrar)."""

from __future__ import annotations

from provisioner.sandbox.http import ADMIN_PREFIX, ArmApp, Request, Response
from provisioner.sandbox.state import SandboxState


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

    base = ADMIN_PREFIX.rstrip("/")
    app.admin.add("GET", base + "/counters", "admin.counters", counters)
    app.admin.add("GET", base + "/requests", "admin.requests", requests)
    app.admin.add("POST", base + "/reset", "admin.reset", reset)
    app.admin.add(
        "PUT",
        base + r"/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)/dnsZones/(?P<zone>[^/]+)/delegation",
        "admin.delegation",
        delegation,
    )
