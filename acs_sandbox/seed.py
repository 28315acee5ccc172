"""Seeding: put a whole world into a sandbox at once (a TOML file or a dict), without going through ARM.

    apply_world(state, tomllib.load(f))        # or Sandbox.seed(world), or SandboxOptions(seed_file=...)

The world (see `acs_sandbox/examples/world.toml`, a commented example):

    subscription = "<default subscription for every entry that names none>"
    [[email_service]]            name, resource_group, data_location = "United States", subscription?
      [[email_service.domain]]   name, management = "CustomerManaged" | "AzureManaged" |
                                 "CustomerManagedInExchangeOnline", verified = false | true | ["Domain", ...],
                                 token? (the verification token; random when absent)
    [[communication_service]]    name, resource_group, data_location, linked_domains = ["<domain name>" or an id]
    [[zone]]                     an Azure DNS zone: name, resource_group, type = "Public" | "Private",
                                 delegated = true, tags?
      [[zone.record]]            name ("@" = apex), type, ttl = 3600, values = [...], metadata?
    [[external_zone]]            a zone hosted elsewhere (registrar, other DNS provider): name, name_servers,
                                 delegated = true; served by the sandbox's DNS server, unknown to ARM
      [[external_zone.record]]   as for [[zone.record]]

Record `values` are one string per record, in zone-file order of fields: A "192.0.2.1", AAAA "2001:db8::1",
CNAME/NS/PTR "target.example.com", MX "10 mail.example.com", SRV "0 5 443 host.example.com",
CAA '0 issue "ca.example"'. A TXT value is one record: a string (split into 255-byte strings on the wire)
or a list of strings (the record's character-strings as given). A value may also be Azure's wire object
(e.g. `{preference = 10, exchange = "mail.example.com"}`). Azure zones are held to Azure DNS's rules (the
same checks as a PUT); external zones hold whatever a registrar would serve (a doubled name, a quoted value,
a CNAME at the domain name: data, served as is).

Every problem is reported at once as a `WorldError` naming the entry (`zone[2].record[0].values`), and
nothing is applied unless the whole world is valid.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from acs_sandbox.communication import AZURE_MANAGED_NAME, DOMAIN_MANAGEMENT
from acs_sandbox.dns_rules import RECORD_KEYS, RuleViolation, check_name, record_set_properties
from acs_sandbox.state import (
    EXTERNAL,
    CommunicationServiceState,
    EmailDomainState,
    EmailServiceState,
    RecordSetState,
    SandboxState,
    ZoneState,
    new_etag,
)
from acs_sandbox.verification import VERIFICATION_TYPES
from acs_sandbox.zones import apex_record_sets, name_servers_for

DEFAULT_SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
DEFAULT_TTL = 3600
EXTERNAL_NS_TTL = 86400


class WorldError(ValueError):
    """A world that cannot be applied; `problems` lists each one with where it is."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid sandbox world:\n  " + "\n  ".join(problems))
        self.problems = problems


def load_world(path: str | Path) -> dict[str, Any]:
    """Read a TOML world file (a UTF-8 BOM is accepted)."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise WorldError([f"cannot read {path}: {exc}"]) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise WorldError([f"{path}: {exc}"]) from None


# ---- records ---------------------------------------------------------------------------------------
def _fields(text: str, names: tuple[str, ...]) -> dict[str, Any]:
    """Whitespace-separated fields: integers, then one last string field (a host name or a value)."""
    parts = text.split(None, len(names) - 1)
    if len(parts) != len(names):
        raise ValueError(f"expected {len(names)} fields ({' '.join(names)}) in {text!r}")
    return {n: int(p) for n, p in zip(names[:-1], parts[:-1], strict=True)} | {names[-1]: parts[-1]}


def _caa(text: str) -> dict[str, Any]:
    parts = text.split(None, 2)
    if len(parts) != 3:
        raise ValueError(f"expected 'flags tag \"value\"' in {text!r}")
    return {"flags": int(parts[0]), "tag": parts[1], "value": parts[2].strip().strip('"')}


_PARSERS: dict[str, Callable[[str], dict[str, Any]]] = {
    "A": lambda v: {"ipv4Address": v},
    "AAAA": lambda v: {"ipv6Address": v},
    "CNAME": lambda v: {"cname": v},
    "NS": lambda v: {"nsdname": v},
    "PTR": lambda v: {"ptrdname": v},
    "MX": lambda v: _fields(v, ("preference", "exchange")),
    "SRV": lambda v: _fields(v, ("priority", "weight", "port", "target")),
    "CAA": _caa,
}


def _txt_record(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        raw = value.encode()
        chunks = [raw[i : i + 255].decode(errors="replace") for i in range(0, len(raw), 255)] or [""]
        return {"value": chunks}
    if isinstance(value, list) and all(isinstance(s, str) for s in value):
        return {"value": list(value)}
    if isinstance(value, dict) and "value" in value:
        return {"value": list(value["value"])}
    raise ValueError(f"a TXT value is a string or a list of strings, not {value!r}")


def record_properties(
    rtype: str, values: list[Any], ttl: int, metadata: dict[str, str] | None
) -> dict[str, Any]:
    """Azure wire `properties` for a record set given in the world's notation (not yet validated)."""
    key = RECORD_KEYS[rtype]
    records: list[dict[str, Any]] = []
    for value in values:
        if rtype == "TXT":
            records.append(_txt_record(value))
        elif isinstance(value, dict):
            records.append(dict(value))
        elif isinstance(value, str) and rtype in _PARSERS:
            records.append(_PARSERS[rtype](value.strip()))
        else:
            raise ValueError(f"cannot read {value!r} as a {rtype} record")
    props: dict[str, Any] = {"TTL": ttl}
    if metadata:
        props["metadata"] = dict(metadata)
    if rtype in ("CNAME", "SOA"):
        if len(records) != 1:
            raise ValueError(f"a {rtype} record set holds exactly one record, got {len(records)}")
        props[key] = records[0]
    else:
        props[key] = records
    return props


def relative_name(zone: str, name: str) -> str:
    """`name` relative to `zone`: "@", a relative name as given, or an FQDN (trailing dot) made relative.
    A relative name that repeats the zone ("mail.contoso.com" in contoso.com) is kept: a doubled name."""
    name = name.strip()
    if not name.endswith("."):
        return name or "@"
    fqdn, zone = name.rstrip(".").lower(), zone.rstrip(".").lower()
    if fqdn == zone:
        return "@"
    if not fqdn.endswith("." + zone):
        raise ValueError(f"{name} is not inside the zone {zone}")
    return name.rstrip(".")[: -len(zone) - 1]


# ---- the world, checked -----------------------------------------------------------------------------
@dataclass
class _Plan:
    """What a world puts into the state, built completely before anything is applied."""

    problems: list[str] = field(default_factory=list)
    services: list[EmailServiceState] = field(default_factory=list)
    domains: list[EmailDomainState] = field(default_factory=list)
    communication: list[tuple[CommunicationServiceState, list[str], str]] = field(default_factory=list)
    zones: list[ZoneState] = field(default_factory=list)
    external: list[ZoneState] = field(default_factory=list)


def _table_list(world: dict[str, Any], key: str, plan: _Plan, where: str = "") -> list[dict[str, Any]]:
    value = world.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        plan.problems.append(f"{where}{key}: must be an array of tables ([[{key}]])")
        return []
    return value


def _text(entry: dict[str, Any], key: str, where: str, plan: _Plan, default: str | None = None) -> str:
    value = entry.get(key, default)
    if not isinstance(value, str) or not value.strip():
        plan.problems.append(f"{where}.{key}: a non-empty string is required")
        return ""
    return value.strip()


def _unknown(entry: dict[str, Any], allowed: set[str], where: str, plan: _Plan) -> None:
    for key in sorted(set(entry) - allowed):
        plan.problems.append(f"{where}.{key}: unknown key (known: {', '.join(sorted(allowed))})")


def _records(zone: ZoneState, entries: list[dict[str, Any]], where: str, plan: _Plan, *, azure: bool) -> None:
    for i, entry in enumerate(entries):
        here = f"{where}.record[{i}]"
        _unknown(entry, {"name", "type", "ttl", "values", "metadata"}, here, plan)
        rtype = _text(entry, "type", here, plan).upper()
        try:
            name = relative_name(zone.name, _text(entry, "name", here, plan, "@"))
        except ValueError as exc:
            plan.problems.append(f"{here}.name: {exc}")
            continue
        if rtype not in RECORD_KEYS or rtype == "SOA":
            plan.problems.append(
                f"{here}.type: {rtype!r} is not one of {', '.join(k for k in RECORD_KEYS if k != 'SOA')}"
            )
            continue
        values, ttl, metadata = entry.get("values"), entry.get("ttl", DEFAULT_TTL), entry.get("metadata")
        if not isinstance(values, list) or not values:
            plan.problems.append(f"{here}.values: a non-empty array is required")
            continue
        if not isinstance(ttl, int) or isinstance(ttl, bool) or ttl < 0:
            plan.problems.append(f"{here}.ttl: a non-negative integer is required")
            continue
        try:
            props = record_properties(rtype, values, ttl, metadata)
            if azure:
                props = record_set_properties(rtype, props)
                check_name(name, zone.name)
                if rtype == "CNAME" and name == "@":
                    raise RuleViolation("a CNAME record set cannot be created at the zone apex '@'")
        except (RuleViolation, ValueError, TypeError, IndexError) as exc:
            plan.problems.append(f"{here}.values: {exc}")
            continue
        key = (name.lower(), rtype)
        if key in zone.record_sets and not (name == "@" and rtype == "NS"):
            plan.problems.append(f"{here}: a {rtype} record set named {name!r} is already in this zone")
            continue
        zone.record_sets[key] = RecordSetState(name, rtype, props, new_etag())
    if azure:
        names = {n for n, t in zone.record_sets if t == "CNAME"}
        clash = sorted(n for n, t in zone.record_sets if t != "CNAME" and n in names)
        for name in clash:
            plan.problems.append(
                f"{where}: the CNAME record set {name!r} cannot coexist with other record sets"
            )


def _zone(entry: dict[str, Any], sub: str, where: str, plan: _Plan) -> None:
    _unknown(
        entry, {"name", "resource_group", "subscription", "type", "delegated", "tags", "record"}, where, plan
    )
    name = _text(entry, "name", where, plan).rstrip(".").lower()
    rg = _text(entry, "resource_group", where, plan)
    zone_type = str(entry.get("type", "Public")).capitalize()
    if zone_type not in ("Public", "Private"):
        plan.problems.append(f"{where}.type: 'Public' or 'Private', not {zone_type!r}")
    if not name or not rg:
        return
    zone = ZoneState(
        subscription=str(entry.get("subscription", sub)),
        resource_group=rg,
        name=name,
        tags=dict(entry.get("tags") or {}),
        zone_type=zone_type,
        delegated=bool(entry.get("delegated", True)),
    )
    if zone_type == "Public":
        zone.name_servers = name_servers_for(zone)
    for rs in apex_record_sets(zone):
        zone.record_sets[(rs.name, rs.type)] = rs
    _records(zone, _table_list(entry, "record", plan, where + "."), where, plan, azure=True)
    if any(z.key == zone.key for z in plan.zones):
        plan.problems.append(f"{where}: the zone {name} is already in resource group {rg}")
    plan.zones.append(zone)


def external_zone_state(name: str, name_servers: list[str], *, delegated: bool = True) -> ZoneState:
    """An empty zone hosted outside Azure DNS: SOA and apex NS naming `name_servers`."""
    hosts = [h.rstrip(".").lower() + "." for h in name_servers]
    zone = ZoneState(
        subscription=EXTERNAL,
        resource_group=EXTERNAL,
        name=name.rstrip(".").lower(),
        name_servers=hosts,
        delegated=delegated,
    )
    soa = {
        "host": hosts[0],
        "email": f"hostmaster.{zone.name}.",
        "serialNumber": 1,
        "refreshTime": 3600,
        "retryTime": 600,
        "expireTime": 604800,
        "minimumTTL": 300,
    }
    zone.record_sets[("@", "SOA")] = RecordSetState("@", "SOA", {"TTL": 3600, "SOARecord": soa}, new_etag())
    ns = {"TTL": EXTERNAL_NS_TTL, "NSRecords": [{"nsdname": h} for h in hosts]}
    zone.record_sets[("@", "NS")] = RecordSetState("@", "NS", ns, new_etag())
    return zone


def _external(entry: dict[str, Any], where: str, plan: _Plan) -> None:
    _unknown(entry, {"name", "name_servers", "delegated", "record"}, where, plan)
    name = _text(entry, "name", where, plan).rstrip(".").lower()
    servers = entry.get("name_servers")
    if not isinstance(servers, list) or not servers or not all(isinstance(s, str) and s for s in servers):
        plan.problems.append(f"{where}.name_servers: a non-empty array of host names is required")
        return
    if not name:
        return
    zone = external_zone_state(name, servers, delegated=bool(entry.get("delegated", True)))
    _records(zone, _table_list(entry, "record", plan, where + "."), where, plan, azure=False)
    if any(z.name == name for z in plan.external):
        plan.problems.append(f"{where}: the external zone {name} is given twice")
    plan.external.append(zone)


def _verified(value: Any, where: str, plan: _Plan) -> list[str]:
    if value is True:
        return list(VERIFICATION_TYPES)
    if value in (False, None):
        return []
    if isinstance(value, list) and all(v in VERIFICATION_TYPES for v in value):
        return list(value)
    plan.problems.append(f"{where}.verified: true, false or a list of {', '.join(VERIFICATION_TYPES)}")
    return []


def _service_fields(entry: dict[str, Any], sub: str, where: str, plan: _Plan) -> dict[str, Any]:
    """What an email service and a Communication Services resource entry both give: where it lives, its
    name, its data location and tags."""
    return {
        "subscription": str(entry.get("subscription", sub)),
        "resource_group": _text(entry, "resource_group", where, plan),
        "name": _text(entry, "name", where, plan),
        "data_location": _text(entry, "data_location", where, plan, "United States"),
        "tags": dict(entry.get("tags") or {}),
    }


def _email_service(entry: dict[str, Any], sub: str, where: str, plan: _Plan) -> None:
    _unknown(
        entry, {"name", "resource_group", "subscription", "data_location", "tags", "domain"}, where, plan
    )
    service = EmailServiceState(**_service_fields(entry, sub, where, plan))
    plan.services.append(service)
    for i, d in enumerate(_table_list(entry, "domain", plan, where + ".")):
        here = f"{where}.domain[{i}]"
        _unknown(d, {"name", "management", "verified", "token", "tags"}, here, plan)
        management = next(
            (
                m
                for m in DOMAIN_MANAGEMENT
                if m.lower() == str(d.get("management", "CustomerManaged")).lower()
            ),
            None,
        )
        if management is None:
            plan.problems.append(f"{here}.management: one of {', '.join(DOMAIN_MANAGEMENT)}")
            continue
        name = AZURE_MANAGED_NAME if management == "AzureManaged" else _text(d, "name", here, plan).lower()
        verified = set(_verified(d.get("verified", management == "AzureManaged"), here, plan))
        domain = EmailDomainState(
            subscription=service.subscription,
            resource_group=service.resource_group,
            email_service=service.name,
            name=name.rstrip("."),
            domain_management=management,
            data_location=service.data_location.replace(" ", "").lower(),
            tags=dict(d.get("tags") or {}),
            verification_states={
                kind: {"status": "Verified" if kind in verified else "NotStarted"}
                for kind in VERIFICATION_TYPES
            },
        )
        if d.get("token") is not None:
            domain.verification_token = str(d["token"])
        plan.domains.append(domain)


def _communication(entry: dict[str, Any], sub: str, where: str, plan: _Plan) -> None:
    _unknown(
        entry,
        {"name", "resource_group", "subscription", "data_location", "linked_domains", "tags"},
        where,
        plan,
    )
    service = CommunicationServiceState(**_service_fields(entry, sub, where, plan))
    linked = entry.get("linked_domains", [])
    if not isinstance(linked, list) or not all(isinstance(v, str) for v in linked):
        plan.problems.append(f"{where}.linked_domains: an array of domain names or ids")
        linked = []
    plan.communication.append((service, linked, where))


def domain_id(domain: EmailDomainState) -> str:
    return (
        f"/subscriptions/{domain.subscription}/resourceGroups/{domain.resource_group}"
        f"/providers/Microsoft.Communication/emailServices/{domain.email_service}/domains/{domain.name}"
    )


def _link(plan: _Plan) -> None:
    for service, linked, where in plan.communication:
        for ref in linked:
            if ref.startswith("/subscriptions/"):
                service.linked_domains.append(ref)
                continue
            found = [d for d in plan.domains if d.name == ref.lower().rstrip(".")]
            if len(found) != 1:
                what = "no" if not found else "more than one"
                plan.problems.append(f"{where}.linked_domains: {what} domain named {ref!r} in this world")
                continue
            service.linked_domains.append(domain_id(found[0]))


def plan_world(world: dict[str, Any]) -> _Plan:
    plan = _Plan()
    if not isinstance(world, dict):
        plan.problems.append("the world must be a TOML document (a table)")
        return plan
    _unknown(
        world,
        {"subscription", "email_service", "communication_service", "zone", "external_zone"},
        "world",
        plan,
    )
    sub = str(world.get("subscription", DEFAULT_SUBSCRIPTION))
    for i, entry in enumerate(_table_list(world, "email_service", plan)):
        _email_service(entry, sub, f"email_service[{i}]", plan)
    for i, entry in enumerate(_table_list(world, "communication_service", plan)):
        _communication(entry, sub, f"communication_service[{i}]", plan)
    for i, entry in enumerate(_table_list(world, "zone", plan)):
        _zone(entry, sub, f"zone[{i}]", plan)
    for i, entry in enumerate(_table_list(world, "external_zone", plan)):
        _external(entry, f"external_zone[{i}]", plan)
    _link(plan)
    return plan


def apply_world(state: SandboxState, world: dict[str, Any]) -> None:
    """Validate `world` whole, then put everything it describes into `state` (replacing same-named
    resources). Its zones are served at once, as a world that already existed (no propagation delay).
    Raises `WorldError` listing every problem, having changed nothing."""
    plan = plan_world(world)
    if plan.problems:
        raise WorldError(plan.problems)
    with state.lock:
        for service in plan.services:
            state.put_email_service(service)
        for domain in plan.domains:
            state.put_email_domain(domain)
        for cs, _, _ in plan.communication:
            state.put_communication_service(cs)
        for zone in plan.zones:
            state.put_zone(zone)
        for zone in plan.external:
            state.put_external_zone(zone)
        state.settle({z.key for z in [*plan.zones, *plan.external]})


__all__ = [
    "DEFAULT_SUBSCRIPTION",
    "WorldError",
    "apply_world",
    "domain_id",
    "external_zone_state",
    "load_world",
    "plan_world",
    "record_properties",
    "relative_name",
]
