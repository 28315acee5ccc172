"""Sender usernames of an email domain (Microsoft.Communication .../domains/{d}/senderUsernames, 2025-09-01):
the MailFrom addresses `username@domain` with a display name. Synchronous: PUT answers 201 (created) or 200
(updated), DELETE 200 or 204 (nothing to delete), as SenderUsernames.json says.

Every domain starts with the sender "DoNotReply" (`EmailDomainState` holds it from the start). GUESS for
customer-managed domains: the docs name DoNotReply as the default MailFrom address of Azure-managed ones.
Others are kept until deleted.
"""

from __future__ import annotations

import re
from typing import Any

from acs_sandbox.comm_common import (
    DOMAIN,
    RouteGroup,
    bad_request,
    domain_id,
    find_domain,
    json_body,
    not_found,
    page_by_name,
    params,
)
from acs_sandbox.http import Handler, Request, Response
from acs_sandbox.lro import PROVIDER
from acs_sandbox.state import EmailDomainState, SandboxState, SenderUsernameState

DEFAULT_SENDER = "DoNotReply"
# GUESS: the service's exact rule is undocumented; this is the dot-atom local part of RFC 5322, 1-64 chars
_USERNAME = re.compile(r"(?=.{1,64}\Z)[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*\Z")


def data_location_of(state: SandboxState, domain: EmailDomainState) -> str:
    """The data location as the email service states it (children of a domain report it that way)."""
    service = state.email_service(domain.subscription, domain.resource_group, domain.email_service)
    return service.data_location if service is not None else domain.data_location


class SendersApi(RouteGroup):
    def routes(self) -> list[tuple[str, str, str, Handler]]:
        one = DOMAIN + r"/senderUsernames/(?P<sender>[^/]+)"
        return [
            ("GET", DOMAIN + r"/senderUsernames", "senders.list", self.list_senders),
            ("PUT", one, "senders.put", self.put_sender),
            ("GET", one, "senders.get", self.get_sender),
            ("DELETE", one, "senders.delete", self.delete_sender),
        ]

    def _body(self, domain: EmailDomainState, sender: SenderUsernameState) -> dict[str, Any]:
        resource_id = f"{domain_id(domain)}/senderUsernames/{sender.name}"
        return {
            "id": resource_id,
            "name": sender.name,
            "type": f"{PROVIDER}/EmailServices/Domains/SenderUsernames",
            "systemData": self.system.get(resource_id),
            "properties": {
                "dataLocation": data_location_of(self.state, domain),
                "username": sender.username,
                "displayName": sender.display_name,
                "provisioningState": "Succeeded",
            },
        }

    def list_senders(self, request: Request) -> Response:
        domain = find_domain(self.state, params(request))
        if isinstance(domain, Response):
            return domain
        return page_by_name(
            request, self.state.lock, domain.sender_usernames.values(), lambda s: self._body(domain, s)
        )

    def get_sender(self, request: Request) -> Response:
        p = params(request)
        domain = find_domain(self.state, p)
        if isinstance(domain, Response):
            return domain
        sender = domain.sender_usernames.get(p["sender"].lower())
        if sender is None:
            return not_found(
                f"emailServices/{p['es']}/domains/{p['domain']}/senderUsernames", p["sender"], p["rg"]
            )
        return Response(200, self._body(domain, sender))

    def put_sender(self, request: Request) -> Response:
        p = params(request)
        body = json_body(request)
        if isinstance(body, Response):
            return body
        domain = find_domain(self.state, p, parent=True)
        if isinstance(domain, Response):
            return domain
        properties = body.get("properties") or {}
        username = properties.get("username")
        if not isinstance(username, str) or not username:
            return bad_request("The property 'properties.username' is required.")
        if not _USERNAME.match(username):
            return bad_request(f"The sender username '{username}' is not a valid email local part.")
        if username.lower() != p["sender"].lower():
            # GUESS: the service's answer to a username that differs from the resource name is undocumented
            return bad_request(
                f"The property 'properties.username' ({username}) must match the resource name ({p['sender']})."
            )
        if domain.domain_management == "AzureManaged" and username.lower() != DEFAULT_SENDER.lower():
            # GUESS: Azure-managed domains only send as DoNotReply (the docs: custom MailFrom needs a custom domain)
            return bad_request("Azure managed domains only support the DoNotReply sender username.")
        display = properties.get("displayName")
        if display is not None and not isinstance(display, str):
            return bad_request("The property 'properties.displayName' must be a string.")
        with self.state.lock:
            existing = domain.sender_usernames.get(username.lower())
            sender = SenderUsernameState(
                name=existing.name if existing else p["sender"],
                username=username,
                display_name=display if display is not None else "",
            )
            domain.sender_usernames[username.lower()] = sender
        self.system.touch(f"{domain_id(domain)}/senderUsernames/{sender.name}", created=existing is None)
        return Response(200 if existing else 201, self._body(domain, sender))

    def delete_sender(self, request: Request) -> Response:
        p = params(request)
        domain = self.state.email_domain(p["sub"], p["rg"], p["es"], p["domain"])
        with self.state.lock:
            removed = domain.sender_usernames.pop(p["sender"].lower(), None) if domain else None
        if domain is None or removed is None:
            return Response(204)
        self.system.forget(f"{domain_id(domain)}/senderUsernames/{removed.name}")
        return Response(200)
