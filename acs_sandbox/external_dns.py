"""Zones hosted outside Azure DNS (a registrar, another DNS provider, on-premises BIND), edited at run
time: what `/_sandbox/dns/zones/...` and `Sandbox.add_external_zone()`/`set_external_record()` do.

Their data is whatever a DNS host would accept (no Azure DNS rules): a record at a doubled name, a value
with literal quote characters, a CNAME at the domain name, a DKIM key pasted as TXT are all served as given.
Changes go through the same journal as Azure zones, so they appear after `--propagation-delay`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import dns.exception
import dns.rdataset
import dns.rdatatype
import dns.zone

from acs_sandbox.dns_rules import RECORD_KEYS
from acs_sandbox.seed import DEFAULT_TTL, external_zone_state, record_properties, relative_name
from acs_sandbox.state import RecordSetState, SandboxState, ZoneState, new_etag


class ExternalZoneError(ValueError):
    """A request about external zones that cannot be carried out; `str()` says why."""


def put_zone(state: SandboxState, name: str, name_servers: list[str], *, delegated: bool = True) -> ZoneState:
    """Create the zone, or change its name servers/delegation keeping its records."""
    if not name_servers or not all(isinstance(h, str) and h.strip(".") for h in name_servers):
        raise ExternalZoneError("name_servers must be a non-empty list of host names")
    fresh = external_zone_state(name, name_servers, delegated=delegated)
    with state.lock:
        existing = state.external_zone(name)
        if existing is not None:
            kept = {k: v for k, v in existing.record_sets.items() if k not in (("@", "SOA"), ("@", "NS"))}
            fresh.record_sets.update(kept)
        state.put_external_zone(fresh)
    return fresh


def delete_zone(state: SandboxState, name: str) -> bool:
    return state.delete_external_zone(name)


def _zone(state: SandboxState, name: str) -> ZoneState:
    zone = state.external_zone(name)
    if zone is None:
        raise ExternalZoneError(f"no external zone named {name!r}")
    return zone


def set_record(
    state: SandboxState, zone_name: str, name: str, rtype: str, values: list[Any], ttl: int = DEFAULT_TTL
) -> None:
    """Replace the record set `name`/`rtype` (world notation for values, see `seed`)."""
    rtype = rtype.upper()
    if rtype not in RECORD_KEYS:
        raise ExternalZoneError(f"unknown record type {rtype!r}")
    if not isinstance(values, list) or not values:
        raise ExternalZoneError("values must be a non-empty list")
    try:
        props = record_properties(rtype, values, int(ttl), None)
    except (ValueError, TypeError, IndexError) as exc:
        raise ExternalZoneError(str(exc)) from None
    with state.lock:
        zone = _zone(state, zone_name)
        try:
            rel = relative_name(zone.name, name)
        except ValueError as exc:
            raise ExternalZoneError(str(exc)) from None
        if rtype == "SOA":
            old = zone.record_sets[("@", "SOA")].properties["SOARecord"]
            props["SOARecord"] = {**old, **props["SOARecord"]}
        updated = replace(zone, record_sets={**zone.record_sets})
        updated.record_sets[(rel.lower(), rtype)] = RecordSetState(rel, rtype, props, new_etag())
        state.put_external_zone(updated)


def _values(rdataset: dns.rdataset.Rdataset) -> list[Any]:
    """An rdataset's records in the world's notation (TXT: the character-strings as given)."""
    if rdataset.rdtype == dns.rdatatype.TXT:
        return [[s.decode(errors="replace") for s in rd.strings] for rd in rdataset]
    if rdataset.rdtype == dns.rdatatype.CAA:
        return [f'{rd.flags} {rd.tag.decode()} "{rd.value.decode()}"' for rd in rdataset]
    return [rd.to_text() for rd in rdataset]


def load_zone_file(state: SandboxState, zone_name: str, text: str) -> int:
    """Put every record set of a zone file (master-file syntax, `$ORIGIN` = the zone) into the external
    zone, replacing same name and type; the apex SOA and NS stay the zone's own. Returns how many."""
    with state.lock:
        zone = _zone(state, zone_name)
        try:
            parsed = dns.zone.from_text(text, origin=zone.name + ".", relativize=False, check_origin=False)
        except (dns.exception.DNSException, ValueError) as exc:
            raise ExternalZoneError(f"not a zone file: {exc}") from None
        count = 0
        for owner, rdataset in parsed.iterate_rdatasets():
            rtype = dns.rdatatype.to_text(rdataset.rdtype)
            name = relative_name(zone.name, owner.to_text())
            if rtype not in RECORD_KEYS or (name == "@" and rtype in ("SOA", "NS")):
                continue
            set_record(state, zone.name, name, rtype, _values(rdataset), rdataset.ttl)
            count += 1
        return count


def delete_record(state: SandboxState, zone_name: str, name: str, rtype: str) -> bool:
    with state.lock:
        zone = _zone(state, zone_name)
        try:
            key = (relative_name(zone.name, name).lower(), rtype.upper())
        except ValueError as exc:
            raise ExternalZoneError(str(exc)) from None
        if key not in zone.record_sets or key in (("@", "SOA"), ("@", "NS")):
            return False
        updated = replace(zone, record_sets={k: v for k, v in zone.record_sets.items() if k != key})
        state.put_external_zone(updated)
        return True


def describe(zone: ZoneState) -> dict[str, Any]:
    """The zone as JSON: name servers, delegation, record sets in Azure's wire `properties`."""
    return {
        "name": zone.name,
        "name_servers": list(zone.name_servers),
        "delegated": zone.delegated,
        "records": [
            {"name": rs.name, "type": rs.type, "properties": rs.properties}
            for _, rs in sorted(zone.record_sets.items())
        ],
    }
