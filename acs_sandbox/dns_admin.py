"""Sandbox-only HTTP paths for the DNS side (never served by real ARM), each also a `Sandbox` method.

World
- `PUT /_sandbox/world` body: a world as JSON (the TOML world's structure, see `seed`) -> 204, or 400
  `{"error": {"code": "InvalidWorld", "message", "details": [{"message"}...]}}` naming every problem.
  `Sandbox.seed(world)`.

Zones hosted outside Azure DNS ("external": a registrar, another DNS provider; invisible to ARM)
- `PUT /_sandbox/dns/zones/{zone}` body `{"name_servers": ["ns1.example-registrar.test", ...],
  "delegated": true}` -> 200 with the zone; keeps its records when it exists.
  `Sandbox.add_external_zone(name, name_servers, delegated=True, records=[...])`.
- `GET /_sandbox/dns/zones/{zone}` -> the zone: name servers, delegation, record sets (Azure wire shape).
- `DELETE /_sandbox/dns/zones/{zone}` -> 204 (404 when there is none). `Sandbox.delete_external_zone(name)`.
- `PUT /_sandbox/dns/zones/{zone}/records/{type}/{name}` body `{"values": [...], "ttl": 3600}` -> 204:
  replace one record set (`name` relative, "@", or an FQDN with a trailing dot; values in the world's
  notation). `Sandbox.set_external_record(zone, name, type, values, ttl)`.
- `PUT /_sandbox/dns/zones/{zone}/zonefile` body: zone-file text (BIND master-file syntax, origin = the
  zone) -> 200 `{"record_sets": N}`: each record set in it replaces the same name and type (the apex SOA
  and NS stay). `Sandbox.load_external_zone_file(zone, text)`.
- `DELETE /_sandbox/dns/zones/{zone}/records/{type}/{name}` -> 204 (404 when absent).
  `Sandbox.delete_external_record(zone, name, type)`.

Name servers, resolver, cache
- `GET /_sandbox/dns` -> `{"resolver": {"address", "lag", "stale", "answering"}, "port", "name_servers":
  {host: {"address": "127.0.0.N", "bound", "lag", "stale", "answering"}}, "cache": {"enabled", "entries"},
  "blackhole"}`. `Sandbox.dns_info()`; `Sandbox.name_server_address(host)`.
- `PUT /_sandbox/dns/name-servers/{host}` body `{"stale": true}` (frozen: serves the zones as they are now,
  never a later change), `{"lag": 30}` (30 s behind the others), `{"answering": false}` (drops every
  query; a zone all of whose servers do so is SERVFAIL at the resolver); `{"stale": false, "lag": 0, "answering": true}` restores it. -> 200 with its settings.
  `Sandbox.configure_name_server(host, stale=..., lag=..., answering=...)`.
- `PUT /_sandbox/dns/resolver` body `{"answering": false}` (the resolver address drops every query) and/or
  `{"cache": true}` (RD=1 answers are cached for their TTL, later answers carry the remaining TTL) -> 200.
  `Sandbox.configure_resolver(answering=..., cache=...)`.
- `DELETE /_sandbox/dns/resolver/cache[?name=FQDN]` -> 200 `{"flushed": N}`. `Sandbox.flush_resolver_cache()`.
- `GET /_sandbox/dns-blackhole` -> `{"dns_server": "127.0.0.1:PORT"}`: a UDP+TCP endpoint that accepts
  queries and never answers (a resolver that does not answer). `Sandbox.blackhole_dns_server`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from acs_sandbox import external_dns
from acs_sandbox.dns_server import RESOLVER, DnsServer, settings_json
from acs_sandbox.http import ADMIN_PREFIX, ArmApp, Request, Response
from acs_sandbox.seed import WorldError, apply_world
from acs_sandbox.state import SandboxState


def _error(status: int, code: str, message: str, details: list[str] | None = None) -> Response:
    error: dict[str, Any] = {"code": code, "message": message}
    if details:
        error["details"] = [{"code": code, "message": d} for d in details]
    return Response(status, {"error": error})


def _body(request: Request) -> dict[str, Any] | Response:
    try:
        body = request.json()
    except ValueError as exc:
        return _error(400, "InvalidJson", f"the body is not JSON: {exc}")
    if body is None:
        return {}
    if not isinstance(body, dict):
        return _error(400, "InvalidJson", "the body must be a JSON object")
    return body


def _flag(body: dict[str, Any], key: str) -> bool | None:
    value = body.get(key)
    if value is not None and not isinstance(value, bool):
        raise ValueError(f"{key} must be true or false")
    return value


def register(app: ArmApp, state: SandboxState, dns: DnsServer) -> None:
    def world(request: Request) -> Response:
        body = _body(request)
        if isinstance(body, Response):
            return body
        try:
            apply_world(state, body)
        except WorldError as exc:
            return _error(400, "InvalidWorld", f"{len(exc.problems)} problem(s) in the world", exc.problems)
        return Response(204)

    def info(_: Request) -> Response:
        return Response(200, dns.describe())

    def put_zone(request: Request) -> Response:
        body = _body(request)
        if isinstance(body, Response):
            return body
        try:
            zone = external_dns.put_zone(
                state,
                unquote(request.params["zone"]),
                body.get("name_servers") or [],
                delegated=bool(body.get("delegated", True)),
            )
        except external_dns.ExternalZoneError as exc:
            return _error(400, "BadRequest", str(exc))
        return Response(200, external_dns.describe(zone))

    def get_zone(request: Request) -> Response:
        zone = state.external_zone(unquote(request.params["zone"]))
        if zone is None:
            return _error(404, "NotFound", f"no external zone {request.params['zone']}")
        return Response(200, external_dns.describe(zone))

    def delete_zone(request: Request) -> Response:
        if not external_dns.delete_zone(state, unquote(request.params["zone"])):
            return _error(404, "NotFound", f"no external zone {request.params['zone']}")
        return Response(204)

    def put_record(request: Request) -> Response:
        body = _body(request)
        if isinstance(body, Response):
            return body
        p = {k: unquote(v) for k, v in request.params.items()}
        try:
            external_dns.set_record(
                state, p["zone"], p["name"], p["type"], body.get("values") or [], body.get("ttl", 3600)
            )
        except external_dns.ExternalZoneError as exc:
            return _error(400, "BadRequest", str(exc))
        return Response(204)

    def zone_file(request: Request) -> Response:
        try:
            count = external_dns.load_zone_file(
                state, unquote(request.params["zone"]), request.body.decode("utf-8-sig")
            )
        except (external_dns.ExternalZoneError, UnicodeDecodeError) as exc:
            return _error(400, "BadRequest", str(exc))
        return Response(200, {"record_sets": count})

    def delete_record(request: Request) -> Response:
        p = {k: unquote(v) for k, v in request.params.items()}
        try:
            removed = external_dns.delete_record(state, p["zone"], p["name"], p["type"])
        except external_dns.ExternalZoneError as exc:
            return _error(404, "NotFound", str(exc))
        return Response(204) if removed else _error(404, "NotFound", f"no {p['type']} record set {p['name']}")

    def configured(request: Request, host: str) -> Response:
        body = _body(request)
        if isinstance(body, Response):
            return body
        try:
            lag = body.get("lag")
            if lag is not None and (isinstance(lag, bool) or not isinstance(lag, int | float) or lag < 0):
                raise ValueError("lag must be a number of seconds >= 0")
            stale, answering, cache = _flag(body, "stale"), _flag(body, "answering"), _flag(body, "cache")
        except ValueError as exc:
            return _error(400, "BadRequest", str(exc))
        if cache is not None:
            dns.cache.enabled = cache
        settings_of = dns.configure(host, lag=lag, stale=stale, answering=answering)
        described = dns.describe()
        if host == RESOLVER:
            return Response(200, {**described["resolver"], "cache": described["cache"]})  # type: ignore[dict-item]
        known = described["name_servers"].get(host.rstrip(".").lower())  # type: ignore[union-attr]
        return Response(200, known or {"address": None, "bound": False, **settings_json(settings_of)})

    def name_server(request: Request) -> Response:
        return configured(request, unquote(request.params["host"]))

    def resolver(request: Request) -> Response:
        return configured(request, RESOLVER)

    def flush(request: Request) -> Response:
        return Response(200, {"flushed": dns.cache.flush(request.param("name"))})

    def blackhole(_: Request) -> Response:
        return Response(200, {"dns_server": f"{dns.host}:{dns.blackhole()}"})

    base = ADMIN_PREFIX.rstrip("/")
    zone = base + r"/dns/zones/(?P<zone>[^/]+)"
    routes: list[tuple[str, str, str, Callable[[Request], Response]]] = [
        ("PUT", base + "/world", "admin.world", world),
        ("GET", base + "/dns", "admin.dns", info),
        ("PUT", zone, "admin.dns.zone.put", put_zone),
        ("GET", zone, "admin.dns.zone.get", get_zone),
        ("DELETE", zone, "admin.dns.zone.delete", delete_zone),
        ("PUT", zone + r"/records/(?P<type>[^/]+)/(?P<name>[^/]+)", "admin.dns.record.put", put_record),
        ("PUT", zone + "/zonefile", "admin.dns.zonefile", zone_file),
        (
            "DELETE",
            zone + r"/records/(?P<type>[^/]+)/(?P<name>[^/]+)",
            "admin.dns.record.delete",
            delete_record,
        ),
        ("PUT", base + r"/dns/name-servers/(?P<host>[^/]+)", "admin.dns.name_server", name_server),
        ("PUT", base + "/dns/resolver", "admin.dns.resolver", resolver),
        ("DELETE", base + "/dns/resolver/cache", "admin.dns.cache", flush),
        ("GET", base + "/dns-blackhole", "admin.dns.blackhole", blackhole),
    ]
    for method, pattern, name, handler in routes:
        app.admin.add(method, pattern, name, handler)
