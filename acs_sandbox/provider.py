"""Provider-level actions of Microsoft.Communication (2025-09-01): Operations_List, CheckNameAvailability,
ListVerifiedExchangeOnlineDomains."""

from __future__ import annotations

import re
from typing import Any

from acs_sandbox.comm_common import SUB, bad_request, json_body, params
from acs_sandbox.http import Request, Response, Router
from acs_sandbox.state import SandboxState

PROVIDER_DISPLAY = "Microsoft Communication"
COMMUNICATION_TYPE = "Microsoft.Communication/CommunicationServices"
_COMMUNICATION_NAME = re.compile(r"[-\w]{1,63}\Z")

# (resource type, display name, [(verb, display operation, description)]) - the RBAC actions of the routes
# the sandbox serves, in the shape Operations_List reports them
_CATALOGUE: list[tuple[str, str, list[tuple[str, str, str]]]] = [
    ("operations", "Operations", [("read", "List operations", "Lists the operations of the provider.")]),
    (
        "checkNameAvailability",
        "Name availability",
        [("action", "Check name availability", "Checks whether a communication service name is free.")],
    ),
    (
        "CommunicationServices",
        "Communication Services",
        [
            ("read", "Read communication service", "Reads a communication service."),
            ("write", "Write communication service", "Creates or updates a communication service."),
            ("delete", "Delete communication service", "Deletes a communication service."),
            ("listKeys/action", "List keys", "Lists the access keys of a communication service."),
            (
                "regenerateKey/action",
                "Regenerate key",
                "Regenerates an access key of a communication service.",
            ),
            (
                "linkNotificationHub/action",
                "Link notification hub",
                "Links an Azure Notification Hub to a communication service.",
            ),
        ],
    ),
    (
        "CommunicationServices/SmtpUsernames",
        "SMTP usernames",
        [
            ("read", "Read SMTP username", "Reads an SMTP username."),
            ("write", "Write SMTP username", "Creates or updates an SMTP username."),
            ("delete", "Delete SMTP username", "Deletes an SMTP username."),
        ],
    ),
    (
        "EmailServices",
        "Email Services",
        [
            ("read", "Read email service", "Reads an email service."),
            ("write", "Write email service", "Creates or updates an email service."),
            ("delete", "Delete email service", "Deletes an email service."),
        ],
    ),
    (
        "EmailServices/Domains",
        "Email Service Domains",
        [
            ("read", "Read domain", "Reads an email domain."),
            ("write", "Write domain", "Creates or updates an email domain."),
            ("delete", "Delete domain", "Deletes an email domain."),
            ("InitiateVerification/action", "Initiate verification", "Starts verifying a domain record."),
            ("CancelVerification/action", "Cancel verification", "Cancels verifying a domain record."),
        ],
    ),
    (
        "EmailServices/Domains/SenderUsernames",
        "Sender usernames",
        [
            ("read", "Read sender username", "Reads a sender username."),
            ("write", "Write sender username", "Creates or updates a sender username."),
            ("delete", "Delete sender username", "Deletes a sender username."),
        ],
    ),
    (
        "EmailServices/Domains/SuppressionLists",
        "Suppression lists",
        [
            ("read", "Read suppression list", "Reads a suppression list."),
            ("write", "Write suppression list", "Creates or updates a suppression list."),
            ("delete", "Delete suppression list", "Deletes a suppression list."),
        ],
    ),
    (
        "EmailServices/Domains/SuppressionLists/SuppressionListAddresses",
        "Suppression list addresses",
        [
            ("read", "Read suppressed address", "Reads an address of a suppression list."),
            ("write", "Write suppressed address", "Adds or updates an address of a suppression list."),
            ("delete", "Delete suppressed address", "Removes an address from a suppression list."),
        ],
    ),
    (
        "listVerifiedExchangeOnlineDomains",
        "Exchange Online domains",
        [
            (
                "action",
                "List verified Exchange Online domains",
                "Lists the tenant's verified Exchange Online domains.",
            )
        ],
    ),
]


def operation_list() -> list[dict[str, Any]]:
    items = []
    for resource, display, verbs in _CATALOGUE:
        for verb, operation, description in verbs:
            items.append(
                {
                    "name": f"Microsoft.Communication/{resource}/{verb}",
                    "isDataAction": False,
                    "display": {
                        "provider": PROVIDER_DISPLAY,
                        "resource": display,
                        "operation": operation,
                        "description": description,
                    },
                    "origin": "user,system",
                }
            )
    return items


def register(router: Router, state: SandboxState) -> None:
    def operations(_: Request) -> Response:
        return Response(200, {"value": operation_list()})

    def check_name_availability(request: Request) -> Response:
        body = json_body(request)
        if isinstance(body, Response):
            return body
        name, kind = body.get("name"), body.get("type")
        if not isinstance(name, str) or not isinstance(kind, str):
            return bad_request("The properties 'name' and 'type' are required.")
        if kind.lower() != COMMUNICATION_TYPE.lower():
            # GUESS: only communication service names are global (they become host names)
            return bad_request(f"The resource type '{kind}' is not supported.", "InvalidResourceType")
        if not _COMMUNICATION_NAME.match(name):
            return Response(
                200, {"nameAvailable": False, "reason": "Invalid", "message": "Requested name is invalid"}
            )
        with state.lock:
            taken = any(s.name.lower() == name.lower() for s in state.communication_services.values())
        if taken:
            message = "Requested name is unavailable for the requested type"
            return Response(200, {"nameAvailable": False, "reason": "AlreadyExists", "message": message})
        message = "Requested name is available for the requested type"
        return Response(200, {"nameAvailable": True, "reason": "NameAvailable", "message": message})

    def verified_exchange_online_domains(request: Request) -> Response:
        # GUESS: the sandbox has no Exchange Online tenant; the domains it knows as verified there are the
        # CustomerManagedInExchangeOnline email domains of the subscription
        sub = params(request)["sub"].lower()
        with state.lock:
            names = {
                d.name
                for d in state.email_domains.values()
                if d.subscription.lower() == sub and d.domain_management == "CustomerManagedInExchangeOnline"
            }
        return Response(200, sorted(names))

    router.add(
        "GET", r"/providers/Microsoft\.Communication/operations", "communication.operations", operations
    )
    router.add("POST", SUB + r"/checkNameAvailability", "communication.check_name", check_name_availability)
    router.add(
        "POST",
        SUB + r"/listVerifiedExchangeOnlineDomains",
        "communication.exchange_online_domains",
        verified_exchange_online_domains,
    )
