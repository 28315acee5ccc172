"""Suppression lists of an email domain and their addresses (Microsoft.Communication 2025-09-01,
SuppressionLists.json): synchronous CRUD, PUT 201/200, DELETE 200/204, lists paged."""

from __future__ import annotations

import re
from typing import Any

from acs_sandbox.comm_common import (
    DOMAIN,
    NAME_PATTERN,
    RouteGroup,
    bad_request,
    domain_id,
    find_domain,
    json_body,
    not_found,
    page_by_name,
    params,
    parent_not_found,
)
from acs_sandbox.http import Handler, Request, Response
from acs_sandbox.lro import PROVIDER, now_iso
from acs_sandbox.senders import data_location_of
from acs_sandbox.state import EmailDomainState, SuppressionAddressState, SuppressionListState

_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]+\.[^@\s]+\Z")
_LISTS = DOMAIN + r"/suppressionLists"
_LIST = _LISTS + r"/(?P<list>[^/]+)"
_ADDRESSES = _LIST + r"/suppressionListAddresses"
_ADDRESS = _ADDRESSES + r"/(?P<address>[^/]+)"


class SuppressionApi(RouteGroup):
    def routes(self) -> list[tuple[str, str, str, Handler]]:
        return [
            ("GET", _LISTS, "suppression.list", self.list_lists),
            ("PUT", _LIST, "suppression.put", self.put_list),
            ("GET", _LIST, "suppression.get", self.get_list),
            ("DELETE", _LIST, "suppression.delete", self.delete_list),
            ("GET", _ADDRESSES, "suppression.addresses.list", self.list_addresses),
            ("PUT", _ADDRESS, "suppression.addresses.put", self.put_address),
            ("GET", _ADDRESS, "suppression.addresses.get", self.get_address),
            ("DELETE", _ADDRESS, "suppression.addresses.delete", self.delete_address),
        ]

    # ---- bodies ---------------------------------------------------------------------------------------
    @staticmethod
    def _list_id(domain: EmailDomainState, name: str) -> str:
        return f"{domain_id(domain)}/suppressionLists/{name}"

    def _list_body(self, domain: EmailDomainState, lst: SuppressionListState) -> dict[str, Any]:
        resource_id = self._list_id(domain, lst.name)
        properties: dict[str, Any] = {
            "lastUpdatedTimeStamp": lst.updated,
            "createdTimeStamp": lst.created,
            "dataLocation": data_location_of(self.state, domain),
        }
        if lst.list_name is not None:
            properties["listName"] = lst.list_name
        return {
            "id": resource_id,
            "name": lst.name,
            "type": f"{PROVIDER}/EmailServices/Domains/SuppressionLists",
            "systemData": self.system.get(resource_id),
            "properties": properties,
        }

    def _address_body(
        self, domain: EmailDomainState, lst: SuppressionListState, address: SuppressionAddressState
    ) -> dict[str, Any]:
        resource_id = f"{self._list_id(domain, lst.name)}/suppressionListAddresses/{address.name}"
        # GUESS: unset names and notes are null (the example always shows the keys; null vs absent is unknown)
        properties: dict[str, Any] = {
            "email": address.email,
            "firstName": address.first_name,
            "lastName": address.last_name,
            "notes": address.notes,
            "lastModified": address.last_modified,
            "dataLocation": data_location_of(self.state, domain),
        }
        return {
            "id": resource_id,
            "name": address.name,
            "type": f"{PROVIDER}/EmailServices/Domains/SuppressionLists/SuppressionListAddresses",
            "systemData": self.system.get(resource_id),
            "properties": properties,
        }

    # ---- lookups ----------------------------------------------------------------------------------------
    def _list(
        self, p: dict[str, str], *, parent: bool = False
    ) -> tuple[EmailDomainState, SuppressionListState] | Response:
        domain = find_domain(self.state, p, parent=parent)
        if isinstance(domain, Response):
            return domain
        lst = domain.suppression_lists.get(p["list"].lower())
        if lst is None:
            if parent:
                return parent_not_found(p["list"])
            where = f"emailServices/{p['es']}/domains/{p['domain']}/suppressionLists"
            return not_found(where, p["list"], p["rg"])
        return domain, lst

    # ---- suppression lists --------------------------------------------------------------------------------
    def list_lists(self, request: Request) -> Response:
        domain = find_domain(self.state, params(request))
        if isinstance(domain, Response):
            return domain
        return page_by_name(
            request, self.state.lock, domain.suppression_lists.values(), lambda s: self._list_body(domain, s)
        )

    def get_list(self, request: Request) -> Response:
        found = self._list(params(request))
        return found if isinstance(found, Response) else Response(200, self._list_body(*found))

    def put_list(self, request: Request) -> Response:
        p = params(request)
        body = json_body(request)
        if isinstance(body, Response):
            return body
        domain = find_domain(self.state, p, parent=True)
        if isinstance(domain, Response):
            return domain
        if not NAME_PATTERN.match(p["list"]):
            return bad_request(f"The resource name '{p['list']}' is invalid.", "InvalidResourceName")
        list_name = (body.get("properties") or {}).get("listName")
        if list_name is not None and str(list_name).lower() not in domain.sender_usernames:
            # the spec: "This value must match one of the valid sender usernames of the sending domain"
            return bad_request(
                f"The property 'properties.listName' ({list_name}) must be a sender username of '{domain.name}'."
            )
        now = now_iso()
        with self.state.lock:
            existing = domain.suppression_lists.get(p["list"].lower())
            lst = SuppressionListState(
                name=existing.name if existing else p["list"],
                list_name=str(list_name) if list_name is not None else None,
                created=existing.created if existing else now,
                updated=now,
                addresses=existing.addresses if existing else {},
            )
            domain.suppression_lists[p["list"].lower()] = lst
        self.system.touch(self._list_id(domain, lst.name), created=existing is None)
        return Response(200 if existing else 201, self._list_body(domain, lst))

    def delete_list(self, request: Request) -> Response:
        p = params(request)
        domain = self.state.email_domain(p["sub"], p["rg"], p["es"], p["domain"])
        with self.state.lock:
            removed = domain.suppression_lists.pop(p["list"].lower(), None) if domain else None
        if domain is None or removed is None:
            return Response(204)
        self.system.forget(self._list_id(domain, removed.name))
        return Response(200)

    # ---- addresses ------------------------------------------------------------------------------------------
    def list_addresses(self, request: Request) -> Response:
        found = self._list(params(request))
        if isinstance(found, Response):
            return found
        domain, lst = found
        return page_by_name(
            request, self.state.lock, lst.addresses.values(), lambda a: self._address_body(domain, lst, a)
        )

    def get_address(self, request: Request) -> Response:
        p = params(request)
        found = self._list(p)
        if isinstance(found, Response):
            return found
        domain, lst = found
        address = lst.addresses.get(p["address"].lower())
        if address is None:
            where = f"emailServices/{p['es']}/domains/{p['domain']}/suppressionLists/{p['list']}/suppressionListAddresses"
            return not_found(where, p["address"], p["rg"])
        return Response(200, self._address_body(domain, lst, address))

    def put_address(self, request: Request) -> Response:
        p = params(request)
        body = json_body(request)
        if isinstance(body, Response):
            return body
        found = self._list(p, parent=True)
        if isinstance(found, Response):
            return found
        domain, lst = found
        if not NAME_PATTERN.match(p["address"]):
            return bad_request(f"The resource name '{p['address']}' is invalid.", "InvalidResourceName")
        properties = body.get("properties") or {}
        email = properties.get("email")
        if not isinstance(email, str) or not _EMAIL.match(email):
            return bad_request("The property 'properties.email' is required and must be an email address.")
        optional = {k: properties.get(k) for k in ("firstName", "lastName", "notes")}
        if any(v is not None and not isinstance(v, str) for v in optional.values()):
            return bad_request("The properties firstName, lastName and notes must be strings.")
        with self.state.lock:
            existing = lst.addresses.get(p["address"].lower())
            address = SuppressionAddressState(
                name=existing.name if existing else p["address"],
                email=email,
                first_name=optional["firstName"],
                last_name=optional["lastName"],
                notes=optional["notes"],
                last_modified=now_iso(),
            )
            lst.addresses[p["address"].lower()] = address
        resource_id = f"{self._list_id(domain, lst.name)}/suppressionListAddresses/{address.name}"
        self.system.touch(resource_id, created=existing is None)
        return Response(200 if existing else 201, self._address_body(domain, lst, address))

    def delete_address(self, request: Request) -> Response:
        p = params(request)
        domain = self.state.email_domain(p["sub"], p["rg"], p["es"], p["domain"])
        with self.state.lock:
            lst = domain.suppression_lists.get(p["list"].lower()) if domain else None
            removed = lst.addresses.pop(p["address"].lower(), None) if lst else None
        if domain is None or lst is None or removed is None:
            return Response(204)
        self.system.forget(f"{self._list_id(domain, lst.name)}/suppressionListAddresses/{removed.name}")
        return Response(200)
