"""Azure Communication Services adapter (implements `ports.EmailService`): the email domain's records
and verification states."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from provisioner.azure.errors import translate
from provisioner.errors import NotFoundError
from provisioner.model import CommunicationResource, Sender, VerificationKind, VerificationRecord
from provisioner.ports import EmailDomainNotFoundError
from provisioner.verification import KindState


class DomainManagement(StrEnum):
    """Who manages the email domain's DNS (`DomainManagement`, Microsoft.Communication 2025-09-01). The
    service models it as an extensible string: a value this version does not know becomes UNKNOWN."""

    AZURE_MANAGED = "AzureManaged"
    CUSTOMER_MANAGED = "CustomerManaged"
    CUSTOMER_MANAGED_IN_EXCHANGE_ONLINE = "CustomerManagedInExchangeOnline"
    UNKNOWN = "Unknown"

    @classmethod
    def parse(cls, raw: str) -> DomainManagement:
        return next((m for m in cls if m.value.lower() == raw.lower()), cls.UNKNOWN)


@dataclass(frozen=True)
class EmailDomain:
    name: str
    resource_id: str
    domain_management: DomainManagement  # a string is parsed (any case; UNKNOWN when not known)
    records: tuple[VerificationRecord, ...] = ()
    states: dict[VerificationKind, KindState] = field(default_factory=dict)
    from_sender_domain: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    data_location: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "domain_management", DomainManagement.parse(str(self.domain_management)))


def to_email_domain(sdk: Any) -> EmailDomain:
    body = sdk.as_dict() if hasattr(sdk, "as_dict") else dict(sdk)
    props = body.get("properties") or {}
    records: list[VerificationRecord] = []
    for key, rec in (props.get("verificationRecords") or {}).items():
        if not rec or key not in VerificationKind.__members__.values():
            continue
        records.append(
            VerificationRecord(
                kind=VerificationKind(key),
                type=str(rec.get("type", "")).upper(),
                name=str(rec.get("name", "")),
                value=str(rec.get("value", "")),
                ttl=int(rec.get("ttl") or 3600),
            )
        )
    states: dict[VerificationKind, KindState] = {}
    for key, st in (props.get("verificationStates") or {}).items():
        if st and key in VerificationKind.__members__.values():
            code = st.get("errorCode") or None
            states[VerificationKind(key)] = KindState(str(st.get("status", "NotStarted")), code)
    return EmailDomain(
        name=str(body.get("name", "")).lower(),
        resource_id=str(body.get("id", "")),
        domain_management=str(props.get("domainManagement", "")),
        records=tuple(sorted(records, key=lambda r: list(VerificationKind).index(r.kind))),
        states=states,
        from_sender_domain=props.get("fromSenderDomain"),
        tags={str(k): str(v) for k, v in (body.get("tags") or {}).items()},
        data_location=str(props.get("dataLocation") or ""),
    )


def _body(sdk: Any) -> dict[str, Any]:
    return sdk.as_dict() if hasattr(sdk, "as_dict") else dict(sdk)


def to_communication_resource(sdk: Any) -> CommunicationResource:
    body = _body(sdk)
    props = body.get("properties") or {}
    return CommunicationResource(
        resource_id=str(body.get("id", "")),
        data_location=str(props.get("dataLocation") or ""),
        linked_domains=tuple(str(d) for d in props.get("linkedDomains") or ()),
    )


def to_sender(sdk: Any) -> Sender:
    props = _body(sdk).get("properties") or {}
    return Sender(str(props.get("username", "")), str(props.get("displayName") or ""))


CONNECTION_RETRIES = 3


class AzureCommunication:
    """`ports.EmailService` over azure-mgmt-communication: reads email domains, creates one on request,
    starts verification."""

    def __init__(self, client: Any, subscription: str) -> None:
        self._client = client
        self.subscription = subscription

    def _where(self, resource_group: str, email_service: str, domain: str | None = None) -> str:
        base = f"email service {email_service} (resource group {resource_group})"
        return f"email domain {domain} of {base}" if domain else base

    def get_domain(self, resource_group: str, email_service: str, domain: str) -> EmailDomain:
        """The email domain. Raises `EmailDomainNotFoundError` when the email service exists but the domain
        does not, `NotFoundError` when the service does not exist."""
        from azure.core.exceptions import ResourceNotFoundError

        try:
            return to_email_domain(self._client.domains.get(resource_group, email_service, domain))
        except ResourceNotFoundError as exc:
            self.ensure_email_service(resource_group, email_service)
            raise EmailDomainNotFoundError(
                f"email domain {domain} does not exist in email service {email_service}",
                "add it in the portal, or pass --create-domain (config: create_domain = true)",
            ) from exc
        except Exception as exc:
            raise translate(exc, self._where(resource_group, email_service, domain)) from exc

    def list_domains(self, resource_group: str, email_service: str) -> list[EmailDomain]:
        try:
            pages = self._client.domains.list_by_email_service_resource(resource_group, email_service)
            return [to_email_domain(d) for d in pages]
        except Exception as exc:
            err = translate(exc, self._where(resource_group, email_service))
            if isinstance(err, NotFoundError):
                err.hint = "check --email-service, --resource-group and --subscription"
            raise err from exc

    def ensure_email_service(self, resource_group: str, email_service: str) -> None:
        try:
            self._client.email_services.get(resource_group, email_service)
        except Exception as exc:
            err = translate(exc, self._where(resource_group, email_service))
            if isinstance(err, NotFoundError):
                err.hint = "check --email-service, --resource-group and --subscription"
            raise err from exc

    def create_domain(self, resource_group: str, email_service: str, domain: str) -> EmailDomain:
        body = {"location": "global", "properties": {"domainManagement": "CustomerManaged"}}
        try:
            poller = self._client.domains.begin_create_or_update(resource_group, email_service, domain, body)
            return to_email_domain(poller.result())
        except Exception as exc:
            raise translate(exc, self._where(resource_group, email_service, domain)) from exc

    def start_verification(
        self, resource_group: str, email_service: str, domain: str, kind: VerificationKind
    ) -> None:
        """POST initiateVerification (202 = accepted). Starting twice is harmless, so a connection
        lost mid-request (which azure-core does not retry for POST) is retried here, a few times."""
        from azure.core.exceptions import ServiceRequestError, ServiceResponseError

        for attempt in range(CONNECTION_RETRIES + 1):
            try:
                # polling=False: the 202 already says the request was accepted; the verification itself
                # shows in the domain's verificationStates, which the caller polls (saves 2 GETs a start)
                self._client.domains.begin_initiate_verification(
                    resource_group, email_service, domain, {"verificationType": kind.value}, polling=False
                ).result()
                return
            except (ServiceRequestError, ServiceResponseError) as exc:
                if attempt == CONNECTION_RETRIES:
                    raise translate(exc, f"{kind} verification of {domain}") from exc
            except Exception as exc:
                where = self._where(resource_group, email_service, domain)
                raise translate(exc, f"{kind} verification of {where}") from exc

    # ---- the lifecycle -------------------------------------------------------------------------------
    def _cs_where(self, resource_group: str, name: str) -> str:
        return f"Communication Services resource {name} (resource group {resource_group})"

    def get_communication_service(self, resource_group: str, name: str) -> CommunicationResource:
        try:
            return to_communication_resource(self._client.communication_services.get(resource_group, name))
        except Exception as exc:
            err = translate(exc, self._cs_where(resource_group, name))
            if isinstance(err, NotFoundError):
                err.hint = "check --communication-service and --communication-resource-group"
            raise err from exc

    def set_linked_domains(
        self, resource_group: str, name: str, linked_domains: list[str]
    ) -> CommunicationResource:
        body = {"properties": {"linkedDomains": list(linked_domains)}}
        try:
            return to_communication_resource(
                self._client.communication_services.update(resource_group, name, body)
            )
        except Exception as exc:
            raise translate(exc, f"the linked domains of {self._cs_where(resource_group, name)}") from exc

    def list_senders(self, resource_group: str, email_service: str, domain: str) -> list[Sender]:
        try:
            pages = self._client.sender_usernames.list_by_domains(resource_group, email_service, domain)
            return [to_sender(s) for s in pages]
        except Exception as exc:
            where = self._where(resource_group, email_service, domain)
            raise translate(exc, f"the sender usernames of {where}") from exc

    def put_sender(
        self, resource_group: str, email_service: str, domain: str, username: str, display_name: str
    ) -> Sender:
        body = {"properties": {"username": username, "displayName": display_name}}
        try:
            return to_sender(
                self._client.sender_usernames.create_or_update(
                    resource_group, email_service, domain, username, body
                )
            )
        except Exception as exc:
            where = self._where(resource_group, email_service, domain)
            raise translate(exc, f"sender username {username} of {where}") from exc

    def delete_sender(self, resource_group: str, email_service: str, domain: str, username: str) -> None:
        try:
            self._client.sender_usernames.delete(resource_group, email_service, domain, username)
        except Exception as exc:
            err = translate(exc, f"sender username {username} of {domain}")
            if not isinstance(err, NotFoundError):
                raise err from exc

    def set_domain_tags(
        self, resource_group: str, email_service: str, domain: str, tags: dict[str, str]
    ) -> EmailDomain:
        try:
            poller = self._client.domains.begin_update(resource_group, email_service, domain, {"tags": tags})
            return to_email_domain(poller.result())
        except Exception as exc:
            raise translate(exc, f"the tags of {self._where(resource_group, email_service, domain)}") from exc

    def delete_domain(self, resource_group: str, email_service: str, domain: str) -> None:
        try:
            self._client.domains.begin_delete(resource_group, email_service, domain).result()
        except Exception as exc:
            err = translate(exc, self._where(resource_group, email_service, domain))
            if not isinstance(err, NotFoundError):
                raise err from exc
