"""Microsoft.Network/dnsZones and their record sets (api-version 2018-05-01), answered as Azure DNS does.

Every error body is ARM's `{"error": {"code", "message"}}` (the swagger's `CloudError`): a missing record
set is 404 `NotFound`, a DNS rule violation (a TXT string over 255 characters, 4096 per set, CNAME
exclusivity, ...) is 400 `BadRequest`, a missing zone 404 `ResourceNotFound` (GET) or
`ParentResourceNotFound` (its record sets), a failed precondition 412 `PreconditionFailed`.
(A 2023 terraform-provider-azurerm log, azurerm#24169, shows Azure DNS answering the 4096-character error
with a flat `{"code","message"}`; the SDK reads both shapes alike, and the sandbox follows the published
swagger.)

Zone DELETE is a long-running operation as the service runs it: 202 with `Azure-AsyncOperation`
(`.../providers/Microsoft.Network/dnsoperationstatuses/{id}`) and `Location`
(`.../dnsoperationresults/{id}`), no `Retry-After` (the DeleteZone example shows none; the client's
`polling_interval` governs); the zone is gone at once and the operation is Succeeded at the first poll.
Deleting a missing zone answers 204.

Remaining guesses, measured against the examples in shared/reference/azure-rest-specs:
- `id` and `type` spell the type lower-case (`Microsoft.Network/dnszones`, `.../dnszones/TXT`), as live
  responses quoted in Microsoft's DNS docs (`az network dns zone show`) do; the swagger examples write
  `dnsZones`. Clients compare resource types case-insensitively.
- `location` is `global` (lower-case, as every DNS example shows); any other location is refused.
- Name servers and `fqdn` carry a trailing dot (live output does; the examples omit it).
- `maxNumberOfRecordSets` is 10000 (the documented limit; the examples show 5000, an older limit).
- The operation-status URLs use the real resource types `dnsoperationstatuses`/`dnsoperationresults`
  (listed among Microsoft.Network's operations); their exact path below the provider is a guess.

Each handler holds the state lock from its read to its write, so If-Match checks are atomic. Record
sets are frozen and stored with their wire `properties`, so answering needs no deep copies.
"""

from __future__ import annotations

import base64
import bisect
import json
import uuid
import zlib
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import unquote, urlencode

from acs_sandbox.dns_rules import (
    MAX_RECORDS_PER_SET,
    RECORD_KEYS,
    RuleViolation,
    check_name,
    record_set_properties,
)
from acs_sandbox.http import Request, Response, Router, arm_error
from acs_sandbox.state import RecordSetState, SandboxState, ZoneState, new_etag

API_VERSION = "2018-05-01"
DEFAULT_PAGE_SIZE = 100
MAX_OPERATIONS = 10000  # finished zone deletions remembered for their pollers
ZONE_TYPES = ("Public", "Private")

_SUB = r"/subscriptions/(?P<sub>[^/]+)"
_ZONES = _SUB + r"/resourceGroups/(?P<rg>[^/]+)/providers/Microsoft\.Network/dnsZones"
_ZONE = _ZONES + r"/(?P<zone>[^/]+)"
_TYPE = r"/(?P<type>" + "|".join(RECORD_KEYS) + ")"

T = TypeVar("T")
SortKey = tuple[str, ...]


# ---- bodies ------------------------------------------------------------------------------------------
def zone_id(zone: ZoneState) -> str:
    return (
        f"/subscriptions/{zone.subscription}/resourceGroups/{zone.resource_group}"
        f"/providers/Microsoft.Network/dnszones/{zone.name}"
    )


def zone_body(zone: ZoneState) -> dict[str, Any]:
    props: dict[str, Any] = {
        "maxNumberOfRecordSets": zone.max_record_sets,
        "maxNumberOfRecordsPerRecordSet": MAX_RECORDS_PER_SET,
        "numberOfRecordSets": len(zone.record_sets),
        "zoneType": zone.zone_type,
    }
    if zone.zone_type == "Public":
        props["nameServers"] = list(zone.name_servers)
    else:
        props["registrationVirtualNetworks"] = list(zone.registration_virtual_networks)
        props["resolutionVirtualNetworks"] = list(zone.resolution_virtual_networks)
    return {
        "id": zone_id(zone),
        "name": zone.name,
        "type": "Microsoft.Network/dnszones",
        "etag": zone.etag,
        "location": zone.location,
        "tags": dict(zone.tags),
        "properties": props,
    }


def record_set_body(zone: ZoneState, rs: RecordSetState) -> dict[str, Any]:
    fqdn = f"{zone.name}." if rs.name == "@" else f"{rs.name}.{zone.name}."
    props = {"fqdn": fqdn, "provisioningState": "Succeeded", "targetResource": {}, **rs.properties}
    return {
        "id": f"{zone_id(zone)}/{rs.type}/{rs.name}",
        "name": rs.name,
        "type": f"Microsoft.Network/dnszones/{rs.type}",
        "etag": rs.etag,
        "properties": props,
    }


def _with_etag(status: int, body: dict[str, Any]) -> Response:
    return Response(status, body, {"ETag": body["etag"]})


# ---- errors ------------------------------------------------------------------------------------------
def _bad_request(message: str) -> Response:
    return arm_error(400, "BadRequest", message)


def _invalid_content(message: str) -> Response:
    return arm_error(400, "InvalidRequestContent", message)


def _tags_of(body: dict[str, Any]) -> dict[str, str] | None:
    """The body's tags ({} when absent), or None when they are not an object of strings."""
    tags = body.get("tags") or {}
    if not isinstance(tags, dict) or not all(isinstance(v, str) for v in tags.values()):
        return None
    return dict(tags)


def _zone_not_found(zone: str, rg: str) -> Response:
    return arm_error(
        404,
        "ResourceNotFound",
        f"The Resource 'Microsoft.Network/dnszones/{zone}' under resource group '{rg}' was not found. "
        "For more details please go to https://aka.ms/ARMResourceNotFoundFix",
    )


def _parent_not_found(zone: str) -> Response:
    return arm_error(
        404,
        "ParentResourceNotFound",
        f"Can not perform requested operation on nested resource. Parent resource '{zone}' not found.",
    )


def _record_set_not_found(name: str, rg: str, sub: str) -> Response:
    message = f"The resource record '{name}' does not exist in resource group '{rg}' of subscription '{sub}'."
    return arm_error(404, "NotFound", message)


def precondition_failure(request: Request, etag: str | None, what: str) -> Response | None:
    """412 unless If-Match (an etag list or `*`) and If-None-Match `*` hold; `etag` None = missing."""
    if_match = request.header("if-match")
    if if_match is not None:
        wanted = {t.strip().removeprefix("W/").strip('"') for t in if_match.split(",")}
        if etag is None:
            return _precondition_failed(
                f"The condition '{if_match}' in the If-Match header was not met: {what} does not exist."
            )
        if "*" not in wanted and etag not in wanted:
            return _precondition_failed(
                f"The condition '{if_match}' in the If-Match header was not met: {what} has been changed "
                "since (its etag differs). Read it again and retry."
            )
    if_none_match = request.header("if-none-match")
    if if_none_match is not None and if_none_match.strip() == "*" and etag is not None:
        return _precondition_failed(
            f"The condition '*' in the If-None-Match header was not met: {what} already exists."
        )
    return None


def _precondition_failed(message: str) -> Response:
    return arm_error(412, "PreconditionFailed", message)


# ---- paging ------------------------------------------------------------------------------------------
def _encode_token(key: SortKey) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(key)).encode()).decode()


def _decode_token(token: str) -> SortKey:
    key = json.loads(base64.urlsafe_b64decode(token.encode()))
    if not isinstance(key, list) or not all(isinstance(part, str) for part in key):
        raise ValueError(token)
    return tuple(key)


def _paged(
    request: Request, keyed: list[tuple[SortKey, T]], render: Callable[[T], dict[str, Any]]
) -> Response:
    """One page of `keyed` in key order: `$top` items (100 by default) after the `$skipToken` key.

    The nextLink is absolute and repeats `$top` and the name suffix: the SDK sends only what it holds.
    """
    top_raw = request.param("$top")
    size = DEFAULT_PAGE_SIZE
    if top_raw is not None:
        size = int(top_raw) if top_raw.isdigit() else 0
        if size < 1:
            return _bad_request(f"The value '{top_raw}' of $top is not valid: it must be a positive integer.")
    keyed.sort(key=lambda item: item[0])
    start = 0
    token = request.param("$skipToken")
    if token:
        try:
            start = bisect.bisect_right(keyed, _decode_token(token), key=lambda item: item[0])
        except ValueError:
            return _bad_request(f"The $skipToken '{token}' is not valid.")
    page = keyed[start : start + size]
    body: dict[str, Any] = {"value": [render(item) for _, item in page]}
    if start + size < len(keyed):
        query = {"api-version": request.param("api-version") or API_VERSION}
        if top_raw is not None:
            query["$top"] = str(size)
        suffix = request.param("$recordsetnamesuffix")
        if suffix:
            query["$recordsetnamesuffix"] = suffix
        query["$skipToken"] = _encode_token(page[-1][0])
        body["nextLink"] = f"{request.base_url}{request.path}?{urlencode(query, safe='$@')}"
    return Response(200, body)


def _suffix_matches(name: str, suffix: str | None) -> bool:
    if not suffix:
        return True
    low, want = name.lower(), suffix.strip(".").lower()
    return low == want or low.endswith("." + want)


# ---- zone creation -----------------------------------------------------------------------------------
def name_servers_for(zone: ZoneState) -> list[str]:
    """Four name servers like Azure's, from one of nine server sets chosen by the zone's key."""
    n = zlib.crc32("/".join(zone.key).encode()) % 9 + 1
    return [
        f"ns1-0{n}.azure-dns.com.",
        f"ns2-0{n}.azure-dns.net.",
        f"ns3-0{n}.azure-dns.org.",
        f"ns4-0{n}.azure-dns.info.",
    ]


def apex_record_sets(zone: ZoneState) -> list[RecordSetState]:
    """The SOA set every zone starts with, and for a public zone the apex NS set naming its servers."""
    if zone.zone_type == "Public":
        host, email = zone.name_servers[0], "azuredns-hostmaster.microsoft.com"
    else:
        host, email = "azureprivatedns.net", "azureprivatedns-host.microsoft.com"
    soa = {
        "host": host,
        "email": email,
        "serialNumber": 1,
        "refreshTime": 3600,
        "retryTime": 300,
        "expireTime": 2419200,
        "minimumTTL": 300,
    }
    sets = [RecordSetState("@", "SOA", {"TTL": 3600, "SOARecord": soa}, new_etag())]
    if zone.zone_type == "Public":
        ns = [{"nsdname": server} for server in zone.name_servers]
        sets.append(RecordSetState("@", "NS", {"TTL": 172800, "NSRecords": ns}, new_etag()))
    return sets


class DnsZones:
    """The route handlers. Path values arrive raw; names are URL-decoded here."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self._operations: dict[str, dict[str, str]] = {}  # zone deletions, oldest first

    def register(self, router: Router) -> None:
        add = router.add
        add("GET", _SUB + r"/providers/Microsoft\.Network/dnsZones", "dns.zones.list", self.list_zones)
        add("GET", _ZONES, "dns.zones.list_by_rg", self.list_zones)
        add("PUT", _ZONE, "dns.zones.put", self.put_zone)
        add("PATCH", _ZONE, "dns.zones.patch", self.patch_zone)
        add("GET", _ZONE, "dns.zones.get", self.get_zone)
        add("DELETE", _ZONE, "dns.zones.delete", self.delete_zone)
        operations = _SUB + r"/resourceGroups/[^/]+/providers/Microsoft\.Network/dnsoperation"
        add("GET", operations + r"statuses/(?P<op>[^/]+)", "dns.operations.status", self.operation_status)
        add("GET", operations + r"results/(?P<op>[^/]+)", "dns.operations.result", self.operation_result)
        add("GET", _ZONE + r"/(?:recordsets|all)", "dns.recordsets.list", self.list_record_sets)
        add("GET", _ZONE + _TYPE, "dns.recordsets.list_by_type", self.list_record_sets)
        add("PUT", _ZONE + _TYPE + r"/(?P<name>[^/]+)", "dns.recordsets.put", self.put_record_set)
        add("PATCH", _ZONE + _TYPE + r"/(?P<name>[^/]+)", "dns.recordsets.patch", self.patch_record_set)
        add("GET", _ZONE + _TYPE + r"/(?P<name>[^/]+)", "dns.recordsets.get", self.get_record_set)
        add("DELETE", _ZONE + _TYPE + r"/(?P<name>[^/]+)", "dns.recordsets.delete", self.delete_record_set)

    # ---- zones ---------------------------------------------------------------------------------------
    def _zone(self, request: Request) -> tuple[str, str, str, ZoneState | None]:
        p = request.params
        name = unquote(p["zone"]).rstrip(".").lower()
        return p["sub"], p["rg"], name, self.state.get_zone(p["sub"], p["rg"], name)

    def get_zone(self, request: Request) -> Response:
        _, rg, name, zone = self._zone(request)
        if zone is None:
            return _zone_not_found(name, rg)
        return _with_etag(200, zone_body(zone))

    def put_zone(self, request: Request) -> Response:
        body = request.json()
        if not isinstance(body, dict):
            return _invalid_content("The request content must be a JSON object.")
        location = body.get("location")
        if not location:
            return arm_error(
                400, "LocationRequired", "The location property is required for this definition."
            )
        if str(location).lower() != "global":
            return arm_error(
                400,
                "LocationNotAvailableForResourceType",
                f"The provided location '{location}' is not available for resource type "
                "'Microsoft.Network/dnszones'. List of available regions for the resource type is 'global'.",
            )
        props, tags = body.get("properties") or {}, _tags_of(body)
        if not isinstance(props, dict) or tags is None:
            return _invalid_content("'properties' must be a JSON object and 'tags' an object of strings.")
        wanted_type = str(props.get("zoneType") or "Public")
        zone_type = next((t for t in ZONE_TYPES if t.lower() == wanted_type.lower()), None)
        if zone_type is None:
            return _bad_request(
                f"The zone type '{wanted_type}' is not valid. Valid values are 'Public' and 'Private'."
            )
        with self.state.lock:
            sub, rg, name, zone = self._zone(request)
            failed = precondition_failure(request, zone.etag if zone else None, f"the zone '{name}'")
            if failed:
                return failed
            if zone is not None:
                if zone.zone_type != zone_type:
                    return _bad_request(f"The zone type of the existing zone '{name}' cannot be changed.")
                zone.tags, zone.etag = tags, new_etag()
                self._set_networks(zone, props)
                self.state.touch_zone(zone)
                return _with_etag(200, zone_body(zone))
            zone = ZoneState(subscription=sub, resource_group=rg, name=name, tags=tags, zone_type=zone_type)
            if zone_type == "Public":
                zone.name_servers = name_servers_for(zone)
            self._set_networks(zone, props)
            for rs in apex_record_sets(zone):
                zone.record_sets[(rs.name, rs.type)] = rs
            self.state.put_zone(zone)  # publishes the zone with its apex sets in one snapshot
            return _with_etag(201, zone_body(zone))

    @staticmethod
    def _set_networks(zone: ZoneState, props: dict[str, Any]) -> None:
        if zone.zone_type == "Private":
            for key, attr in (
                ("registrationVirtualNetworks", "registration_virtual_networks"),
                ("resolutionVirtualNetworks", "resolution_virtual_networks"),
            ):
                given = props.get(key)
                setattr(
                    zone, attr, [n for n in given if isinstance(n, dict)] if isinstance(given, list) else []
                )

    def patch_zone(self, request: Request) -> Response:
        body = request.json() or {}
        tags = _tags_of(body) if isinstance(body, dict) else None
        if tags is None:
            return _invalid_content(
                "The request content must be a JSON object whose 'tags' map strings to strings."
            )
        with self.state.lock:
            _, rg, name, zone = self._zone(request)
            if zone is None:
                return _zone_not_found(name, rg)
            failed = precondition_failure(request, zone.etag, f"the zone '{name}'")
            if failed:
                return failed
            if body.get("tags") is not None:
                zone.tags = tags
            zone.etag = new_etag()
            self.state.touch_zone(zone)
            return _with_etag(200, zone_body(zone))

    def delete_zone(self, request: Request) -> Response:
        with self.state.lock:
            _, _, name, zone = self._zone(request)
            failed = precondition_failure(request, zone.etag if zone else None, f"the zone '{name}'")
            if failed:
                return failed
            if zone is None:
                return Response(204)
            self.state.delete_zone(zone)
            return Response(202, None, self._operation(request, zone))

    def _operation(self, request: Request, zone: ZoneState) -> dict[str, str]:
        """Record a (finished) zone deletion; the headers that point at its status and its result."""
        op = f"delzone{uuid.uuid4()}"
        with self.state.lock:
            self._operations[op.lower()] = {"status": "Succeeded"}
            while len(self._operations) > MAX_OPERATIONS:
                self._operations.pop(next(iter(self._operations)))
        scope = f"{request.base_url}/subscriptions/{zone.subscription}/resourceGroups/{zone.resource_group}"
        query = f"?api-version={request.param('api-version') or API_VERSION}"
        return {
            "Azure-AsyncOperation": f"{scope}/providers/Microsoft.Network/dnsoperationstatuses/{op}{query}",
            "Location": f"{scope}/providers/Microsoft.Network/dnsoperationresults/{op}{query}",
        }

    def operation_status(self, request: Request) -> Response:
        with self.state.lock:
            body = self._operations.get(request.params["op"].lower())
        if body is None:
            return arm_error(404, "NotFound", f"The operation '{request.params['op']}' was not found.")
        return Response(200, dict(body))

    def operation_result(self, request: Request) -> Response:
        with self.state.lock:
            known = request.params["op"].lower() in self._operations
        if not known:
            return arm_error(404, "NotFound", f"The operation '{request.params['op']}' was not found.")
        return Response(204)

    def list_zones(self, request: Request) -> Response:
        sub, rg = request.params["sub"].lower(), request.params.get("rg", "").lower()
        with self.state.lock:
            keyed = [
                ((zone_rg, zone_name), zone)
                for (zone_sub, zone_rg, zone_name), zone in self.state.zones.items()
                if zone_sub == sub and (not rg or zone_rg == rg)
            ]
            return _paged(request, keyed, zone_body)

    # ---- record sets ---------------------------------------------------------------------------------
    def _record_set_path(self, request: Request) -> tuple[str, str]:
        return unquote(request.params["name"]), request.params["type"].upper()

    def get_record_set(self, request: Request) -> Response:
        sub, rg, zone_name, zone = self._zone(request)
        if zone is None:
            return _parent_not_found(zone_name)
        name, rtype = self._record_set_path(request)
        rs = zone.record_sets.get((name.lower(), rtype))
        if rs is None:
            return _record_set_not_found(name, rg, sub)
        return _with_etag(200, record_set_body(zone, rs))

    def put_record_set(self, request: Request) -> Response:
        body = request.json() or {}
        return self._write_record_set(request, body, patch=False)

    def patch_record_set(self, request: Request) -> Response:
        body = request.json() or {}
        return self._write_record_set(request, body, patch=True)

    def _write_record_set(self, request: Request, body: Any, *, patch: bool) -> Response:
        if not isinstance(body, dict):
            return _bad_request("The request body must be a JSON object.")
        name, rtype = self._record_set_path(request)
        with self.state.lock:
            sub, rg, zone_name, zone = self._zone(request)
            if zone is None:
                return _parent_not_found(zone_name)
            existing = zone.record_sets.get((name.lower(), rtype))
            if patch and existing is None:
                return _record_set_not_found(name, rg, sub)
            failed = precondition_failure(
                request, existing.etag if existing else None, f"the record set '{name}'"
            )
            if failed:
                return failed
            given = body.get("properties") or {}
            if patch and isinstance(given, dict) and existing is not None:
                given = {**existing.properties, **{k: v for k, v in given.items() if v is not None}}
            try:
                props = record_set_properties(rtype, given)
                check_name(name, zone.name)
                self._check_placement(zone, name, rtype, existing)
            except RuleViolation as exc:
                return _bad_request(str(exc))
            if rtype == "SOA" and existing is not None:
                # The SOA host always names the zone's primary server; the other fields may change.
                soa = existing.properties["SOARecord"]
                props["SOARecord"] = {**soa, **props.get("SOARecord", {}), "host": soa["host"]}
            stored = RecordSetState(
                name=existing.name if existing else name, type=rtype, properties=props, etag=new_etag()
            )
            self.state.put_record_set(zone, stored)
            return _with_etag(200 if existing else 201, record_set_body(zone, stored))

    @staticmethod
    def _check_placement(zone: ZoneState, name: str, rtype: str, existing: RecordSetState | None) -> None:
        """The rules that involve the rest of the zone: SOA, CNAME exclusivity, the record-set limit."""
        low = name.lower()
        if rtype == "SOA" and existing is None:
            raise RuleViolation(
                "Record sets of type 'SOA' cannot be created; only the zone apex SOA can be updated."
            )
        if rtype == "CNAME":
            if low == "@":
                raise RuleViolation("A CNAME record set cannot be created at the zone apex '@'.")
            others = [t for t in RECORD_KEYS if t != "CNAME" and (low, t) in zone.record_sets]
            if others:
                raise RuleViolation(
                    f"The CNAME record set '{name}' conflicts with the existing record set(s) of type "
                    f"{', '.join(others)} at the same name: a CNAME record set cannot coexist with other "
                    "record sets."
                )
        elif (low, "CNAME") in zone.record_sets:
            raise RuleViolation(
                f"The {rtype} record set '{name}' conflicts with the existing CNAME record set at the same "
                "name: a CNAME record set cannot coexist with other record sets."
            )
        if existing is None and len(zone.record_sets) >= zone.max_record_sets:
            raise RuleViolation(
                f"The zone '{zone.name}' already holds its maximum of {zone.max_record_sets} record sets."
            )

    def delete_record_set(self, request: Request) -> Response:
        name, rtype = self._record_set_path(request)
        with self.state.lock:
            _, _, zone_name, zone = self._zone(request)
            if zone is None:
                return _parent_not_found(zone_name)
            existing = zone.record_sets.get((name.lower(), rtype))
            if existing is not None and name == "@" and rtype in ("SOA", "NS"):
                return _bad_request(f"The {rtype} record set at the zone apex '@' cannot be deleted.")
            failed = precondition_failure(
                request, existing.etag if existing else None, f"the record set '{name}'"
            )
            if failed:
                return failed
            if existing is None:
                return Response(204)
            self.state.delete_record_set(zone, name, rtype)
            return Response(200)

    def list_record_sets(self, request: Request) -> Response:
        rtype = request.params.get("type", "").upper()
        suffix = request.param("$recordsetnamesuffix")
        with self.state.lock:
            _, _, zone_name, zone = self._zone(request)
            if zone is None:
                return _parent_not_found(zone_name)
            keyed = [
                (key, rs)
                for key, rs in zone.record_sets.items()
                if (not rtype or key[1] == rtype) and _suffix_matches(rs.name, suffix)
            ]
            return _paged(request, keyed, lambda rs: record_set_body(zone, rs))


def register(router: Router, state: SandboxState) -> None:
    DnsZones(state).register(router)
