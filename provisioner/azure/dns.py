"""Azure DNS adapter: zones and record sets as the core's `RecordSet`s. ETag-guarded writes only."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from provisioner.azure.errors import translate
from provisioner.errors import NotFoundError
from provisioner.model import RecordSet, RecordType, TxtRecord


@dataclass(frozen=True)
class Zone:
    name: str
    subscription: str
    resource_group: str
    zone_type: str
    name_servers: tuple[str, ...]

    @property
    def is_private(self) -> bool:
        return self.zone_type.lower() == "private"


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
    """The three kinds of call acs-dns makes to Azure DNS: find zones, read record sets, write one."""

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

    def read_record_sets(
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
