"""Latency, throttling and faults, seen through the real azure-mgmt-dns client (plus the bucket arithmetic
on its own, with a frozen clock)."""

from __future__ import annotations

import json
import ssl
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError
from azure.core.rest import HttpRequest
from azure.mgmt.dns import DnsManagementClient
from azure.mgmt.dns.models import Zone

from acs_sandbox import Sandbox, SandboxOptions
from acs_sandbox.http import Request
from acs_sandbox.realism import (
    FAULT_KINDS,
    BucketSpec,
    FaultHook,
    LatencyHook,
    ThrottleHook,
    TokenBucket,
    hooks_for,
)
from provisioner.azure.credentials import SandboxCredential
from tests.conftest import SUBSCRIPTION

OTHER_SUBSCRIPTION = "00000000-0000-0000-0000-0000000000ff"
RG = "rg"


@dataclass
class Outcome:
    status: int  # 0: the connection was dropped
    code: str | None = None
    headers: Any = None
    message: str = ""


def attempt(call: Callable[..., Any]) -> Outcome:
    """Run one SDK operation and report what came back on the wire."""
    seen: dict[str, Any] = {}

    def hook(pipeline_response: Any) -> None:
        seen["response"] = pipeline_response.http_response

    try:
        call(raw_response_hook=hook)
    except HttpResponseError as exc:
        code, message = (exc.error.code, exc.error.message) if exc.error else (None, "")
        return Outcome(exc.status_code or 0, code, exc.response.headers, message)
    except (ServiceRequestError, ServiceResponseError):
        return Outcome(0)
    response = seen["response"]
    return Outcome(response.status_code, None, response.headers)


def client(sb: Sandbox, subscription: str = SUBSCRIPTION, **kwargs: Any) -> DnsManagementClient:
    return DnsManagementClient(
        SandboxCredential(), subscription, base_url=sb.arm_endpoint, connection_verify=sb.ca_bundle, **kwargs
    )


def get_zone(c: DnsManagementClient, name: str = "absent.example") -> Outcome:
    return attempt(lambda **kw: c.zones.get(RG, name, **kw))


def put_zone(c: DnsManagementClient, name: str = "written.example") -> Outcome:
    return attempt(lambda **kw: c.zones.create_or_update(RG, name, Zone(location="global"), **kw))


def drain(op: Callable[[], Outcome], limit: int = 1200, workers: int = 8) -> tuple[list[Outcome], Outcome]:
    """Repeat `op` from several threads until it is throttled; the answers before, and the first 429.

    Several at once, so the bucket drains faster than it refills even on a slow, loaded machine."""
    from concurrent.futures import ThreadPoolExecutor

    answered: list[Outcome] = []
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for _ in range(0, limit, workers):
            batch = list(pool.map(lambda _: op(), range(workers)))
            limited = [o for o in batch if o.status == 429]
            answered += [o for o in batch if o.status != 429]
            if limited:
                return answered, limited[0]
    raise AssertionError(f"not throttled after {limit} requests")


@pytest.fixture
def throttled() -> Iterator[Sandbox]:
    with Sandbox(SandboxOptions(throttle=True)) as sb:
        yield sb


def admin_get(sb: Sandbox, path: str) -> tuple[dict[str, Any], Any]:
    context = ssl.create_default_context(cafile=sb.ca_bundle)
    with urllib.request.urlopen(sb.arm_endpoint + path, context=context, timeout=10) as response:
        return json.loads(response.read()), response.headers


# ---- the arithmetic, with a frozen clock ----------------------------------------------------------
def test_bucket_takes_refills_caps_and_says_when() -> None:
    bucket = TokenBucket(BucketSpec(capacity=3, refill_per_second=0.25), now=0.0)
    assert [bucket.take(0.0) for _ in range(4)] == [True, True, True, False]
    assert bucket.seconds_until_token(0.0) == 4  # 1 token at 0.25/s
    assert bucket.seconds_until_token(3.5) == 1  # 0.875 there: never less than 1
    assert bucket.take(4.0)
    assert not bucket.take(4.0)
    assert bucket.refill(1000.0) == 3  # capped at capacity


def test_throttle_hook_is_thread_safe() -> None:
    hook = ThrottleHook(clock=lambda: 0.0)  # frozen: no refill, exactly 200 writes pass
    request = Request("PUT", f"/subscriptions/{SUBSCRIPTION}/x", {}, {}, b"", "https://127.0.0.1")
    passed: list[bool] = []

    def worker() -> None:
        for _ in range(100):
            passed.append(hook.before(request) is None)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert passed.count(True) == 200
    assert len(passed) == 800


def test_hooks_for_builds_what_the_options_ask_in_order() -> None:
    assert hooks_for(SandboxOptions()) == []
    hooks = hooks_for(SandboxOptions(latency_ms=5, throttle=True, fault_rate=0.1, seed=1))
    assert [type(h) for h in hooks] == [LatencyHook, ThrottleHook, FaultHook]


def test_seeded_faults_repeat() -> None:
    first, second = FaultHook(0.5, seed=42), FaultHook(0.5, seed=42)
    draws = [first.draw() for _ in range(200)]
    assert draws == [second.draw() for _ in range(200)]
    assert set(draws) == {None, *FAULT_KINDS}


# ---- throttling through the SDK ---------------------------------------------------------------------
def test_reads_are_throttled_with_arm_body_and_headers(throttled: Sandbox) -> None:
    c = client(throttled, retry_total=0)
    first = get_zone(c)  # alone: concurrent answers count the tokens taken by requests still in flight
    assert first.headers["x-ms-ratelimit-remaining-subscription-reads"] == "249"  # one of the 250
    answered, limited = drain(lambda: get_zone(c))
    assert len(answered) >= 249  # the rest of the bucket, plus what refilled meanwhile
    remaining = [int(o.headers["x-ms-ratelimit-remaining-subscription-reads"]) for o in answered]
    assert all(0 <= r < 250 for r in remaining)
    assert limited.code == "SubscriptionRequestsThrottled"
    assert int(limited.headers["Retry-After"]) >= 1
    assert limited.headers["x-ms-ratelimit-remaining-subscription-reads"] == "0"
    assert "x-ms-ratelimit-remaining-subscription-writes" not in limited.headers

    # writes have their own bucket, other subscriptions theirs
    write = put_zone(c)
    assert write.status != 429
    assert write.headers["x-ms-ratelimit-remaining-subscription-writes"] == "199"
    other = get_zone(client(throttled, OTHER_SUBSCRIPTION, retry_total=0))
    assert other.status != 429
    assert other.headers["x-ms-ratelimit-remaining-subscription-reads"] == "249"

    # Retry-After is honest: after that long the bucket holds a token again
    time.sleep(int(limited.headers["Retry-After"]))
    assert get_zone(c).status == answered[0].status
    # and a client with the SDK's default retry policy gets through whenever it asks
    _, limited = drain(lambda: get_zone(c))
    assert get_zone(client(throttled)).status == answered[0].status
    snapshot, _ = admin_get(throttled, "/_sandbox/counters")
    assert snapshot["throttled"] >= 2


def test_writes_are_throttled_apart_from_reads(throttled: Sandbox) -> None:
    c = client(throttled, retry_total=0)
    answered, limited = drain(lambda: put_zone(c))
    assert len(answered) >= 200
    assert limited.code == "SubscriptionRequestsThrottled"
    assert limited.headers["Retry-After"].isdigit()
    assert limited.headers["x-ms-ratelimit-remaining-subscription-writes"] == "0"
    assert f"Number of 'write' requests for subscription '{SUBSCRIPTION}'" in limited.message
    assert f"Please try again after '{limited.headers['Retry-After']}' seconds" in limited.message
    read = get_zone(c)
    assert read.status != 429
    assert read.headers["x-ms-ratelimit-remaining-subscription-reads"] == "249"


def test_requests_outside_a_subscription_share_the_tenant_bucket(throttled: Sandbox) -> None:
    c = client(throttled, retry_total=0)
    response = c._send_request(HttpRequest("GET", "/providers/Microsoft.Network?api-version=2021-04-01"))
    assert response.headers["x-ms-ratelimit-remaining-tenant-reads"] == "249"
    response = c._send_request(HttpRequest("GET", "/providers?api-version=2021-04-01"))
    assert response.headers["x-ms-ratelimit-remaining-tenant-reads"] == "248"
    assert get_zone(c).headers["x-ms-ratelimit-remaining-subscription-reads"] == "249"


def test_admin_paths_bypass_hooks_and_report_counters(throttled: Sandbox) -> None:
    c = client(throttled, retry_total=0)
    put_zone(c)
    get_zone(c)
    for _ in range(3):
        snapshot, headers = admin_get(throttled, "/_sandbox/counters")
    assert not [h for h in headers if h.lower().startswith("x-ms-ratelimit")]
    assert snapshot["total"] == 2  # admin calls are not logged
    assert snapshot["methods"] == {"PUT": 1, "GET": 1}
    assert snapshot["writes"] == 1  # the zone's PUT; the GET (a missing zone, 404) is a read
    assert {"throttled", "writes", "dropped", "statuses", "routes"} <= snapshot.keys()


# ---- latency ----------------------------------------------------------------------------------------
def test_latency_delays_each_arm_request() -> None:
    with Sandbox(SandboxOptions(latency_ms=30)) as sb:
        c = client(sb, retry_total=0)
        get_zone(c)  # connect and handshake outside the measurement
        started = time.monotonic()
        for _ in range(5):
            get_zone(c)
        assert time.monotonic() - started >= 5 * 0.030  # a lower bound only: sleep never returns early


# ---- faults -------------------------------------------------------------------------------------
def test_every_fault_kind_occurs_at_rate_one_and_is_logged() -> None:
    with Sandbox(SandboxOptions(fault_rate=1.0, seed=3)) as sb:
        c = client(sb, retry_total=0)
        names = [f"f{i}.example" for i in range(30)]
        outcomes = [put_zone(c, name) for name in names]
        snapshot = sb.app.log.snapshot()
        created = {name for name in names if sb.state.get_zone(SUBSCRIPTION, RG, name) is not None}

    kinds = {(o.status, o.code) for o in outcomes}
    assert kinds == {
        (429, "TooManyRequests"),
        (500, "InternalServerError"),
        (503, "ServiceUnavailable"),
        (0, None),
    }
    assert all(o.headers["Retry-After"] == "1" for o in outcomes if o.status == 429)
    assert all("Retry-After" not in o.headers for o in outcomes if o.status in (500, 503))
    dropped = [name for name, o in zip(names, outcomes, strict=True) if o.status == 0]
    # dropped before the handler: nothing written; after it: written, but the answer was lost
    assert created and created < set(dropped)
    assert snapshot["total"] == 30
    assert snapshot["dropped"] == len(dropped)
    assert snapshot["throttled"] == sum(o.status == 429 for o in outcomes)
    assert snapshot["statuses"] == {
        str(s): sum(o.status == s for o in outcomes) for s in {o.status for o in outcomes}
    }


def test_default_retry_policy_absorbs_faults() -> None:
    # seed 2 draws, among retries, one of each: a 429 (Retry-After: 1), a 500, a 503 and a dropped connection
    with Sandbox(SandboxOptions(fault_rate=0.3, seed=2)) as sb:
        c = client(sb)  # azure-core's default RetryPolicy
        names = [f"r{i}.example" for i in range(6)]
        outcomes = [put_zone(c, name) for name in names] + [get_zone(c, name) for name in names]
        statuses = sb.app.log.snapshot()["statuses"]
    assert all(o.status in (200, 201) for o in outcomes[:6])  # 200: a lost answer, the PUT retried
    assert all(o.status == 200 for o in outcomes[6:])
    assert {"0", "429", "500", "503"} <= statuses.keys()
