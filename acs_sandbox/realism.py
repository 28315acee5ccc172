"""Latency, ARM token-bucket throttling and random faults, as hooks around every ARM request.

Order matters and follows real Azure: the latency is the network, throttling is ARM's front door
(a throttled request never reaches the resource provider), faults come from behind it.
"""

from __future__ import annotations

import math
import random
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from acs_sandbox.http import DropConnection, Hook, Request, Response, arm_error

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_SUBSCRIPTION = re.compile(r"/subscriptions/([^/]+)", re.IGNORECASE)
TENANT = "tenant"  # the bucket shared by requests outside any subscription


class LatencyHook:
    """Sleeps before each ARM request (admin paths never reach hooks)."""

    def __init__(self, latency_ms: float) -> None:
        self.seconds = latency_ms / 1000

    def before(self, request: Request) -> Response | None:
        time.sleep(self.seconds)
        return None

    def after(self, request: Request, response: Response) -> None:
        pass


@dataclass(frozen=True)
class BucketSpec:
    capacity: float
    refill_per_second: float


# ARM's token buckets (2024): reads 250 refilled 25/s, writes 200 refilled 10/s, per subscription
READS = BucketSpec(250, 25)
WRITES = BucketSpec(200, 10)


class TokenBucket:
    """Not thread-safe by itself: `ThrottleHook` holds its lock around every call."""

    def __init__(self, spec: BucketSpec, now: float) -> None:
        self.spec = spec
        self.tokens = spec.capacity
        self.stamp = now

    def refill(self, now: float) -> float:
        elapsed = max(0.0, now - self.stamp)
        self.tokens = min(self.spec.capacity, self.tokens + elapsed * self.spec.refill_per_second)
        self.stamp = now
        return self.tokens

    def take(self, now: float) -> bool:
        if self.refill(now) >= 1:
            self.tokens -= 1
            return True
        return False

    def seconds_until_token(self, now: float) -> int:
        """Whole seconds until one token is available, at least 1 (Retry-After is an integer in ARM)."""
        missing = 1 - self.refill(now)
        return max(1, math.ceil(missing / self.spec.refill_per_second))


def subscription_of(path: str) -> str:
    m = _SUBSCRIPTION.match(path)
    return m.group(1).lower() if m else TENANT


def _actor(request: Request) -> str:
    """ARM names the calling principal; the sandbox derives a stable id from the bearer token."""
    token = (request.header("authorization") or "")[7:].strip()
    return str(uuid.uuid5(uuid.NAMESPACE_OID, token))


class ThrottleHook:
    """Per-subscription read and write token buckets; 429 `SubscriptionRequestsThrottled` when empty.

    Every answer carries `x-ms-ratelimit-remaining-subscription-{reads|writes}` (`-tenant-` outside a
    subscription, as ARM does) with the whole tokens left.
    """

    def __init__(
        self,
        reads: BucketSpec = READS,
        writes: BucketSpec = WRITES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.specs = {"read": reads, "write": writes}
        self.clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[tuple[str, str], TokenBucket] = {}

    @staticmethod
    def kind_of(method: str) -> str:
        return "read" if method.upper() in READ_METHODS else "write"

    def _bucket(self, request: Request, now: float) -> tuple[str, str, TokenBucket]:
        scope, kind = subscription_of(request.path), self.kind_of(request.method)
        bucket = self._buckets.get((scope, kind))
        if bucket is None:
            bucket = self._buckets[(scope, kind)] = TokenBucket(self.specs[kind], now)
        return scope, kind, bucket

    def before(self, request: Request) -> Response | None:
        with self._lock:
            now = self.clock()
            scope, kind, bucket = self._bucket(request, now)
            if bucket.take(now):
                return None
            wait = bucket.seconds_until_token(now)
        owner = "tenant" if scope == TENANT else f"subscription '{scope}'"
        return arm_error(
            429,
            "SubscriptionRequestsThrottled",
            f"Number of '{kind}' requests for {owner} actor '{_actor(request)}' exceeded. "
            f"Please try again after '{wait}' seconds after additional tokens are available. "
            "Refer to https://aka.ms/arm-throttling for additional information.",
            headers={"Retry-After": str(wait)},
        )

    def after(self, request: Request, response: Response) -> None:
        with self._lock:
            now = self.clock()
            scope, kind, bucket = self._bucket(request, now)
            remaining = math.floor(bucket.refill(now))
        level = "tenant" if scope == TENANT else "subscription"
        response.headers[f"x-ms-ratelimit-remaining-{level}-{kind}s"] = str(remaining)


FAULT_KINDS = ("throttled", "internal-error", "unavailable", "drop-before", "drop-after")


class FaultHook:
    """With probability `rate`, one of `FAULT_KINDS`, chosen uniformly. Decided in `before()`.

    `drop-after` lets the handler run (the write happens) and then closes the connection unanswered.
    """

    def __init__(self, rate: float, seed: int | None = None) -> None:
        self.rate = rate
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._pending = threading.local()  # before() and after() of one request run on one thread

    def draw(self) -> str | None:
        with self._lock:
            if self._rng.random() >= self.rate:
                return None
            return self._rng.choice(FAULT_KINDS)

    def before(self, request: Request) -> Response | None:
        kind = self.draw()
        self._pending.drop_after = kind == "drop-after"
        if kind == "throttled":
            return arm_error(
                429,
                "TooManyRequests",
                "The request is being throttled. Please retry after some time.",
                headers={"Retry-After": "1"},
            )
        if kind == "internal-error":
            return arm_error(500, "InternalServerError", "The server encountered an internal error.")
        if kind == "unavailable":
            return arm_error(503, "ServiceUnavailable", "The service is temporarily unavailable.")
        if kind == "drop-before":
            raise DropConnection("fault: dropped before the handler")
        return None

    def after(self, request: Request, response: Response) -> None:
        if getattr(self._pending, "drop_after", False):
            self._pending.drop_after = False
            raise DropConnection("fault: dropped after the handler")


def hooks_for(options: Any) -> list[Hook]:
    """The hooks a `SandboxOptions` asks for, in the order they run."""
    hooks: list[Hook] = []
    if options.latency_ms > 0:
        hooks.append(LatencyHook(options.latency_ms))
    if options.throttle:
        hooks.append(ThrottleHook())
    if options.fault_rate > 0:
        hooks.append(FaultHook(options.fault_rate, options.seed))
    return hooks
