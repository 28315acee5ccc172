"""Azure DNS adapter (implements `ports.DnsZones`): zones and record sets as the core's `RecordSet`s.
ETag-guarded writes and deletes only."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from provisioner.azure.errors import translate
from provisioner.errors import ConflictError, NotFoundError
from provisioner.model import RecordSet, RecordType, TxtRecord, Zone


def _resource_group(resource_id: str) -> str:
    parts = resource_id.split("/")
    lowered = [p.lower() for p in parts]
    return parts[lowered.index("resourcegroups") + 1]


def _zone(sdk_zone: Any, subscription: str) -> Zone:
    zone_type = sdk_zone.zone_type or "Public"
    return Zone(
        name=sdk_zone.name.lower().rstrip("."),
        subscription=subscription,
        resource_group=_resource_group(sdk_zone.id),
        zone_type=str(getattr(zone_type, "value", zone_type)),
        name_servers=tuple(ns.rstrip(".").lower() for ns in sdk_zone.name_servers or ()),
    )


def to_record_set(sdk: Any) -> RecordSet:
    rtype = RecordType(sdk.type.rsplit("/", 1)[-1].upper())
    return RecordSet(
        name=sdk.name,
        type=rtype,
        ttl=sdk.ttl if sdk.ttl is not None else 3600,
        txt=tuple(TxtRecord(tuple(t.value or ())) for t in sdk.txt_records or ()),
        cname=sdk.cname_record.cname if sdk.cname_record else None,
        metadata=dict(sdk.metadata or {}),
        etag=sdk.etag,
    )


def to_sdk(record_set: RecordSet) -> Any:
    from azure.mgmt.dns import models

    kwargs: dict[str, Any] = {"ttl": record_set.ttl, "metadata": record_set.metadata_dict() or None}
    if record_set.type is RecordType.TXT:
        kwargs["txt_records"] = [models.TxtRecord(value=list(t.strings)) for t in record_set.txt]
    elif record_set.type is RecordType.CNAME:
        kwargs["cname_record"] = models.CnameRecord(cname=record_set.cname)
    else:  # pragma: no cover - the planner only writes TXT and CNAME
        raise ValueError(f"acs-dns never writes {record_set.type} record sets")
    return models.RecordSet(**kwargs)


class AzureDns:
    """`ports.DnsZones` over azure-mgmt-dns: find zones, list record sets, write or delete one."""

    def __init__(self, client: Any, subscription: str) -> None:
        self._client = client
        self.subscription = subscription

    def list_zones(self) -> list[Zone]:
        try:
            return [_zone(z, self.subscription) for z in self._client.zones.list()]
        except Exception as exc:
            raise translate(exc, f"the DNS zones of subscription {self.subscription}") from exc

    def get_zone(self, resource_group: str, name: str) -> Zone:
        try:
            return _zone(self._client.zones.get(resource_group, name), self.subscription)
        except Exception as exc:
            err = translate(exc, f"DNS zone {name} in resource group {resource_group}")
            if isinstance(err, NotFoundError):
                err.hint = (
                    "check --zone and --zone-resource-group (or leave them out to search the subscription)"
                )
            raise err from exc

    def list_record_sets(
        self, zone: Zone, names: Iterable[str] | None
    ) -> dict[tuple[str, RecordType], RecordSet]:
        """Every record set (any type) at the given zone-relative names (None: all), from one listing.

        (`$recordsetnamesuffix` could narrow the listing, but whether it matches the suffix label itself
        is not documented, so it is not relied on.)
        """
        wanted = None if names is None else {n.lower() for n in names}
        found: dict[tuple[str, RecordType], RecordSet] = {}
        try:
            for sdk in self._client.record_sets.list_all_by_dns_zone(zone.resource_group, zone.name):
                if wanted is None or sdk.name.lower() in wanted:
                    rs = to_record_set(sdk)
                    found[(rs.name.lower(), rs.type)] = rs
        except Exception as exc:
            raise translate(exc, f"record sets of zone {zone.name}") from exc
        return found

    def write(self, zone: Zone, record_set: RecordSet, *, expected_etag: str | None) -> RecordSet:
        """Create (when `expected_etag` is None: If-None-Match: *) or update (If-Match: etag)."""
        guard = {"if_none_match": "*"} if expected_etag is None else {"if_match": expected_etag}
        try:
            written = self._client.record_sets.create_or_update(
                zone.resource_group,
                zone.name,
                record_set.name,
                record_set.type.value,
                to_sdk(record_set),
                **guard,
            )
        except Exception as exc:
            raise translate(
                exc, f"record set {record_set.type} '{record_set.name}' in zone {zone.name}"
            ) from exc
        return to_record_set(written)

    def delete(self, zone: Zone, name: str, type_: RecordType, *, expected_etag: str) -> None:
        """DELETE with If-Match; 412 -> ConflictError. A set that is already gone counts as deleted (the
        Azure SDK guidelines' idempotent delete): Azure answers 204, or 412 to the If-Match, and then one
        GET tells the two 412s apart."""
        from azure.core.exceptions import ResourceNotFoundError

        what = f"record set {type_} '{name}' in zone {zone.name}"
        try:
            self._client.record_sets.delete(
                zone.resource_group, zone.name, name, type_.value, if_match=expected_etag
            )
            return
        except ResourceNotFoundError:
            return
        except Exception as exc:
            err = translate(exc, what)
            if not isinstance(err, ConflictError):
                raise err from exc
        try:
            self._client.record_sets.get(zone.resource_group, zone.name, name, type_.value)
        except ResourceNotFoundError:
            return
        except Exception as exc:
            raise translate(exc, what) from exc
        raise err
