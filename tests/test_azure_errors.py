"""SDK errors become the project's errors, with the exit code the README documents and a fix.

Every exception here is a real one: the real SDK clients against the sandbox (made to throttle, fail or drop
the connection through its hooks) or against a closed loopback port.
"""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from azure.mgmt.dns import DnsManagementClient

from acs_sandbox import Sandbox
from acs_sandbox.http import DropConnection, Hook, Request, Response, arm_error
from acs_sandbox.realism import BucketSpec, ThrottleHook
from provisioner.azure.clients import AzureSettings, Clients
from provisioner.azure.credentials import SandboxCredential
from provisioner.azure.dns import AzureDns, Zone
from provisioner.azure.errors import translate
from provisioner.errors import (
    AcsDnsError,
    AuthError,
    ConflictError,
    ExitCode,
    NotFoundError,
    RefusedError,
    TimedOutError,
    UsageError,
)
from provisioner.model import RecordSet, RecordType, TxtRecord
from tests.e2e_helpers import World


class DropAfterWrites:
    """The write is made, then the connection closes without an answer (ARM vanishing mid-run)."""

    def before(self, request: Request) -> Response | None:
        return None

    def after(self, request: Request, response: Response) -> None:
        if request.method == "PUT":
            raise DropConnection("dropped after the write")


class AlwaysFailing:
    def before(self, request: Request) -> Response | None:
        return arm_error(500, "InternalServerError", "The server encountered an internal error.")

    def after(self, request: Request, response: Response) -> None:
        pass


@contextmanager
def azure_dns(
    sb: Sandbox, *hooks: Hook, subscription: str | None = None, **settings: object
) -> Iterator[AzureDns]:
    """The DNS adapter on the real SDK client `Clients` builds; `hooks` make the sandbox misbehave."""
    sb.app.hooks.extend(hooks)
    subscription = subscription or str(uuid.uuid4())
    clients = Clients(
        AzureSettings(arm_endpoint=sb.arm_endpoint, auth="sandbox", ca_bundle=sb.ca_bundle, **settings)  # type: ignore[arg-type]
    )
    try:
        yield AzureDns(clients.dns(subscription), subscription)
    finally:
        clients.close()


def test_an_unreachable_endpoint_is_exit_7_naming_it_not_a_usage_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    endpoint = f"https://127.0.0.1:{port}"
    clients = Clients(AzureSettings(arm_endpoint=endpoint, auth="sandbox", retry_total=0))
    try:
        with pytest.raises(TimedOutError) as caught:
            AzureDns(clients.dns("sub"), "sub").list_zones()
    finally:
        clients.close()
    assert caught.value.exit_code is ExitCode.TIMED_OUT
    assert f"cannot reach Azure Resource Manager at {endpoint}" in caught.value.message
    assert "connection refused" in caught.value.message


def test_a_write_without_an_answer_is_exit_7_and_says_it_may_have_been_made(fresh_sandbox: Sandbox) -> None:
    sub = str(uuid.uuid4())
    with World(fresh_sandbox, sub) as world:
        world.zone("dropped.example")
    zone = Zone("dropped.example", sub, "rg-dns", "Public", ())
    record_set = RecordSet("mail", RecordType.TXT, 3600, txt=(TxtRecord(("v=spf1 -all",)),))
    with azure_dns(fresh_sandbox, DropAfterWrites(), subscription=sub, retry_total=0) as dns:
        with pytest.raises(AcsDnsError) as caught:
            dns.write(zone, record_set, expected_etag=None)
        fresh_sandbox.app.hooks.clear()
        written = dns.list_record_sets(zone, ["mail"])
    assert caught.value.exit_code is ExitCode.TIMED_OUT  # not 2: something was sent
    assert "gave no answer for record set TXT 'mail' in zone dropped.example" in caught.value.message
    assert "may have been made" in caught.value.message
    assert ("mail", RecordType.TXT) in written  # and it was


def test_throttling_that_outlasts_the_retries_is_exit_7_with_the_fix(fresh_sandbox: Sandbox) -> None:
    one_read = ThrottleHook(reads=BucketSpec(1, 0.001))  # one read, then 429s
    with azure_dns(fresh_sandbox, one_read, retry_total=0) as dns:
        dns.list_zones()
        with pytest.raises(TimedOutError) as caught:
            dns.list_zones()
    assert "Azure kept throttling requests for the DNS zones" in caught.value.message
    assert "429 SubscriptionRequestsThrottled" in caught.value.message
    assert "lower --parallel" in (caught.value.hint or "")


def test_a_retry_after_beyond_the_deadline_ends_the_request_at_once(fresh_sandbox: Sandbox) -> None:
    one_read = ThrottleHook(reads=BucketSpec(1, 0.001))  # then Retry-After: 1000 s
    with azure_dns(fresh_sandbox, one_read, deadline=time.monotonic() + 3) as dns:
        dns.list_zones()
        start = time.monotonic()
        with pytest.raises(TimedOutError) as caught:
            dns.list_zones()
        elapsed = time.monotonic() - start
    assert elapsed < 3
    assert "before retrying GET Microsoft.Network/dnszones" in caught.value.message
    assert "last error: HTTP 429 SubscriptionRequestsThrottled" in caught.value.message
    assert "lower --parallel" in (caught.value.hint or "")


def test_server_errors_that_outlast_the_retries_say_so_with_a_fix(fresh_sandbox: Sandbox) -> None:
    with (
        azure_dns(fresh_sandbox, AlwaysFailing(), retry_total=0) as dns,
        pytest.raises(AcsDnsError) as caught,
    ):
        dns.list_zones()
    assert "Azure answered HTTP 500 for the DNS zones" in caught.value.message
    assert "InternalServerError" in caught.value.message
    assert "re-run later" in (caught.value.hint or "")


def test_a_missing_zone_is_not_found(sandbox: Sandbox) -> None:
    with azure_dns(sandbox) as dns, pytest.raises(NotFoundError) as caught:
        dns.get_zone("rg-dns", "absent.example")
    assert caught.value.exit_code is ExitCode.NOT_FOUND
    assert "DNS zone absent.example in resource group rg-dns does not exist" in caught.value.message


def test_an_untrusted_certificate_is_a_usage_error_naming_the_endpoint(sandbox: Sandbox) -> None:
    """A plain SDK client (no acs-dns policies): translate alone names the problem."""
    client = DnsManagementClient(SandboxCredential(), "sub", base_url=sandbox.arm_endpoint, retry_total=0)
    try:
        with pytest.raises(Exception) as caught:
            list(client.zones.list())
    finally:
        client.close()
    error = translate(caught.value, "the DNS zones")
    assert isinstance(error, UsageError)
    assert (
        f"cannot open a TLS connection to Azure Resource Manager at {sandbox.arm_endpoint}" in error.message
    )
    assert "REQUESTS_CA_BUNDLE" in (error.hint or "")


class Answering:
    """Answers every request of one subscription with an ARM error (the others pass)."""

    def __init__(self, subscription: str, status: int, code: str, message: str) -> None:
        self.subscription, self.response = subscription, arm_error(status, code, message)

    def before(self, request: Request) -> Response | None:
        return self.response if self.subscription in request.path else None

    def after(self, request: Request, response: Response) -> None:
        pass


@pytest.mark.parametrize(
    ("status", "code", "kind", "exit_code", "message", "hint"),
    [
        (
            403,
            "AuthorizationFailed",
            AuthError,
            ExitCode.AUTH,
            "permission denied on {what} (AuthorizationFailed): no access",
            "grant the identity 'DNS Zone Contributor' on the zone and 'Contributor' on the email service "
            "(see README: Permissions)",
        ),
        (
            401,
            "InvalidAuthenticationToken",
            AuthError,
            ExitCode.AUTH,
            "authentication failed while reading {what}: (InvalidAuthenticationToken) no access",
            "sign in (`az login`), or set up managed/workload identity, or choose one with --auth",
        ),
        (
            400,
            "BadRequest",
            RefusedError,
            ExitCode.REFUSED,
            "Azure refused the change to {what} (BadRequest): no access",
            None,
        ),
        (
            412,
            "PreconditionFailed",
            ConflictError,
            ExitCode.REFUSED,
            "{what} was changed by someone else (HTTP 412 PreconditionFailed)",
            "re-run acs-dns",
        ),
        (
            404,
            "ResourceGroupNotFound",
            NotFoundError,
            ExitCode.NOT_FOUND,
            "{what} does not exist (ResourceGroupNotFound)",
            "check the names, subscription and resource group",
        ),
        (
            409,
            "Conflict",
            AcsDnsError,
            ExitCode.UNEXPECTED,
            "Azure answered HTTP 409 for {what} (Conflict): no access",
            None,
        ),
    ],
)
def test_each_error_answer_becomes_the_documented_error_with_its_fix(
    sandbox: Sandbox,
    status: int,
    code: str,
    kind: type[AcsDnsError],
    exit_code: ExitCode,
    message: str,
    hint: str | None,
) -> None:
    subscription = str(uuid.uuid4())
    hook = Answering(subscription, status, code, "no access")
    try:
        with (
            azure_dns(sandbox, hook, subscription=subscription, retry_total=0) as dns,
            pytest.raises(AcsDnsError) as caught,
        ):
            dns.list_zones()
    finally:
        sandbox.app.hooks.remove(hook)
    assert type(caught.value) is kind
    assert (caught.value.exit_code, caught.value.hint) == (exit_code, hint)
    what = f"the DNS zones of subscription {subscription}"
    assert caught.value.message.splitlines()[0] == message.format(what=what)


def test_a_project_error_passes_through_and_anything_else_is_unexpected() -> None:
    ours = NotFoundError("zone x does not exist", "check the name")
    assert translate(ours, "the DNS zones") is ours
    error = translate(KeyError("properties"), "record set TXT 'mail' in zone example.com")
    assert (type(error), error.exit_code, error.hint) == (AcsDnsError, ExitCode.UNEXPECTED, None)
    assert (
        error.message
        == "unexpected error while accessing record set TXT 'mail' in zone example.com: KeyError: 'properties'"
    )
