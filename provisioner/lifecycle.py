"""From "verified" to "sending": link the email domain to a Communication Services resource and create its
sender usernames, recording in the email domain's tags what acs-dns added (sender usernames and
Communication Services resources carry no metadata of their own; the domain's tags survive as long as
what they describe, and `deprovision` reads them).

Tags on the email domain (values only for people; the key is what is matched):
- `acsdns_link_<12 hex of sha256(communication resource id, lower-case)>` = "<resource group>/<name>";
- `acsdns_sender_<12 hex of sha256(username, lower-case)>` = the username.

`linkedDomains` has no ETag, so linking is guarded by reading back: read, append, PATCH, wait
`link_settle` seconds, read again, and repeat until the domain is in the list. A concurrent writer that
read before our PATCH can only overwrite it within its own read-to-write time, so a settle longer than
that always sees the loss and re-adds the domain (and the other writer, doing the same, keeps its own).
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from provisioner.config import DomainTarget
from provisioner.errors import AcsDnsError, RefusedError
from provisioner.model import CommunicationResource, Sender, VerificationKind, same_location
from provisioner.session import Session
from provisioner.verification import NOT_STARTED

if TYPE_CHECKING:
    from collections.abc import Callable

    from provisioner.azure.communication import EmailDomain

LINK_TAG_PREFIX = "acsdns_link_"
SENDER_TAG_PREFIX = "acsdns_sender_"
LINK_KINDS = (VerificationKind.DOMAIN, VerificationKind.SPF, VerificationKind.DKIM, VerificationKind.DKIM2)
MAX_LINK_ATTEMPTS = 8

_link_locks: dict[str, threading.Lock] = {}
_link_locks_guard = threading.Lock()


class LinkRefusedError(RefusedError):
    """The Communication Services resource would refuse the link: the domain is not verified, or its data
    location differs from the resource's."""


def _digest(text: str) -> str:
    return hashlib.sha256(text.lower().encode()).hexdigest()[:12]


def link_tag(communication_resource_id: str) -> str:
    return LINK_TAG_PREFIX + _digest(communication_resource_id)


def sender_tag(username: str) -> str:
    return SENDER_TAG_PREFIX + _digest(username)


def communication_resource_group(target: DomainTarget) -> str:
    return target.communication_resource_group or target.resource_group


def owned_senders(tags: dict[str, str]) -> list[str]:
    """The sender usernames acs-dns created, as recorded in the domain's tags."""
    return [v for k, v in tags.items() if k.startswith(SENDER_TAG_PREFIX) and k == sender_tag(v)]


# ---- pure rules ------------------------------------------------------------------------------------------
def link_problem(domain: EmailDomain, resource: CommunicationResource, resource_name: str) -> str | None:
    """Why the service would refuse to link `domain` to `resource`, or None."""
    waiting = [k for k in LINK_KINDS if domain.states.get(k, NOT_STARTED).status != "Verified"]
    if waiting:
        listed = ", ".join(f"{k} ({domain.states.get(k, NOT_STARTED).status})" for k in waiting)
        return f"{domain.name} cannot be linked to {resource_name} before it is verified: {listed}"
    if domain.data_location and not same_location(domain.data_location, resource.data_location):
        return (
            f"{domain.name} stores its data in {domain.data_location}, but {resource_name} in "
            f"{resource.data_location}; the service links only domains of the same data location"
        )
    return None


@dataclass(frozen=True)
class SenderChange:
    username: str
    display_name: str
    action: str  # "create", "update" or "noop"


def plan_senders(wanted: tuple[tuple[str, str | None], ...], existing: list[Sender]) -> list[SenderChange]:
    """Create each wanted sender that is missing (display name: the one given, else the username), update
    the display name of one that differs when a display name is given; every other sender is kept."""
    have = {s.username.lower(): s for s in existing}
    out = []
    for username, display in wanted:
        found = have.get(username.lower())
        if found is None:
            out.append(SenderChange(username, display if display is not None else username, "create"))
        elif display is not None and display != found.display_name:
            out.append(SenderChange(found.username, display, "update"))
        else:
            out.append(SenderChange(found.username, found.display_name, "noop"))
    return out


# ---- steps -----------------------------------------------------------------------------------------------
def _lock(key: str) -> threading.Lock:
    with _link_locks_guard:
        return _link_locks.setdefault(key.lower(), threading.Lock())


def read_link_target(session: Session, target: DomainTarget) -> CommunicationResource:
    assert target.communication_service is not None
    comm = session.communication(target.subscription)
    return comm.get_communication_service(communication_resource_group(target), target.communication_service)


def link_domain(
    session: Session, target: DomainTarget, domain: EmailDomain, *, settle: float, say: Callable[[str], None]
) -> tuple[str | None, str]:
    """Append `domain` to the resource's linked domains, keeping every other; returns (the resource's id when
    acs-dns added the link, else None; a line saying what happened). Raises LinkRefusedError for what the
    service would refuse."""
    assert target.communication_service is not None
    name = target.communication_service
    comm = session.communication(target.subscription)
    rg = communication_resource_group(target)
    wrote = False
    with _lock(f"{target.subscription}/{rg}/{name}"):  # runs of one process never race each other
        for _ in range(MAX_LINK_ATTEMPTS):
            resource = comm.get_communication_service(rg, name)
            if resource.links(domain.resource_id):
                if wrote:
                    return resource.resource_id, f"linked to {name}"
                return None, f"already linked to {name}"
            problem = link_problem(domain, resource, name)
            if problem:
                raise LinkRefusedError(
                    problem, "re-run once every type is Verified, or use a resource in the same data location"
                )
            comm.set_linked_domains(rg, name, [*resource.linked_domains, domain.resource_id])
            wrote = True
            say(f"linked to {name}; reading the links back in {settle:g}s")
            session.sleep(settle)
    raise AcsDnsError(
        f"{domain.name} kept disappearing from the linked domains of {name} (another writer replaces the list)",
        "re-run acs-dns when the other writer has finished",
    )


def unlink_domain(
    session: Session, target: DomainTarget, domain_id: str, *, settle: float, say: Callable[[str], None]
) -> None:
    """Remove `domain_id` from the resource's linked domains, keeping every other, read back like linking."""
    assert target.communication_service is not None
    name = target.communication_service
    comm = session.communication(target.subscription)
    rg = communication_resource_group(target)
    with _lock(f"{target.subscription}/{rg}/{name}"):
        for _ in range(MAX_LINK_ATTEMPTS):
            resource = comm.get_communication_service(rg, name)
            if not resource.links(domain_id):
                return
            comm.set_linked_domains(
                rg, name, [d for d in resource.linked_domains if d.lower() != domain_id.lower()]
            )
            say(f"unlinked from {name}; reading the links back in {settle:g}s")
            session.sleep(settle)
    raise AcsDnsError(
        f"the link from {name} kept coming back (another writer replaces the list)", "re-run later"
    )


def ensure_senders(
    session: Session, target: DomainTarget, say: Callable[[str], None]
) -> tuple[list[str], list[str]]:
    """Create or update the target's sender usernames; returns (usernames created, lines for the report)."""
    comm = session.communication(target.subscription)
    existing = comm.list_senders(target.resource_group, target.email_service, target.domain)
    created, lines = [], []
    for change in plan_senders(target.senders, existing):
        if change.action != "noop":
            comm.put_sender(
                target.resource_group,
                target.email_service,
                target.domain,
                change.username,
                change.display_name,
            )
            say(f"sender {change.username}: {change.action}d")
        if change.action == "create":
            created.append(change.username)
        lines.append(f"sender {change.username} ({change.display_name}): {change.action}")
    return created, lines


def update_tags(
    session: Session, target: DomainTarget, add: dict[str, str], remove: frozenset[str] = frozenset()
) -> None:
    """Merge `add` into the email domain's tags and drop `remove`, from a fresh read; other tags kept."""
    if not add and not remove:
        return
    comm = session.communication(target.subscription)
    current = comm.get_domain(target.resource_group, target.email_service, target.domain).tags
    tags = {k: v for k, v in current.items() if k not in remove} | add
    if tags != current:
        comm.set_domain_tags(target.resource_group, target.email_service, target.domain, tags)


def preview_sending(session: Session, target: DomainTarget, domain: EmailDomain) -> tuple[list[str], bool]:
    """What provision would do after verification (for `plan`): the link and senders as lines, and whether
    anything would change. Reads only."""
    lines, pending = [], False
    if target.communication_service:
        resource = read_link_target(session, target)
        if resource.links(domain.resource_id):
            lines.append(f"link: already linked to {target.communication_service}")
        else:
            problem = link_problem(domain, resource, target.communication_service)
            wait = f" (once verified: {problem})" if problem else ""
            lines.append(f"link: would link to {target.communication_service}{wait}")
            pending = True
    if target.senders:
        comm = session.communication(target.subscription)
        existing = comm.list_senders(target.resource_group, target.email_service, target.domain)
        for change in plan_senders(target.senders, existing):
            verb = {"create": "would create", "update": "would update", "noop": "up to date:"}[change.action]
            lines.append(f"sender: {verb} {change.username} ({change.display_name})")
            pending = pending or change.action != "noop"
    return lines, pending
