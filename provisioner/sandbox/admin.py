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

    base = ADMIN_PREFIX.rstrip("/")
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
