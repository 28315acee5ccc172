"""Client-side pacing for ARM's per-subscription token buckets, so a large run keeps the buckets busy
without drowning in 429s.

ARM meters each subscription with a reads bucket (250, refilled 25/s) and a writes bucket (200,
refilled 10/s); `PacerLimits` holds those numbers, so tests and benchmarks can set others. `ArmPacer`
keeps a local model of both, takes a token before every request attempt
(blocking until one is due), and re-syncs the model from ARM's own `x-ms-ratelimit-remaining-*`
headers on every answer (a throttling 429 says 0 remain); azure-core's RetryPolicy still honours the
Retry-After. It plugs into the SDK clients through azure-core's CustomHookPolicy
(`raw_request_hook`/`raw_response_hook`), which runs once per attempt, after the retry policy.
With a run deadline it never waits past it: a wait that would end after the deadline raises the run's
`TimedOutError` at once.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from provisioner.azure.deadline import CALL_END, RunDeadline

logger = logging.getLogger(__name__)

READ_METHODS = frozenset({"GET", "HEAD"})


@dataclass
class TokenBucket:
    capacity: float
    refill_per_second: float
    tokens: float
    updated: float

    def _refill(self, now: float) -> None:
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.refill_per_second)
        self.updated = now

    def take(self, now: float) -> float:
        """Take one token; return how long the caller must wait before sending (0 when one is there)."""
        self._refill(now)
        self.tokens -= 1
        if self.tokens >= 0:
            return 0.0
        return -self.tokens / self.refill_per_second

    def sync(self, remaining: float, now: float) -> None:
        """ARM said how many tokens are left: believe it when it is fewer than the model thinks."""
        self._refill(now)
        self.tokens = min(self.tokens, remaining)


@dataclass(frozen=True)
class PacerLimits:
    """Per-subscription token buckets: burst (capacity) and refill per second. Defaults: ARM's documented
    limits (https://learn.microsoft.com/azure/azure-resource-manager/management/request-limits-and-throttling)."""

    read_burst: float = 250.0
    reads_per_second: float = 25.0
    write_burst: float = 200.0
    writes_per_second: float = 10.0

    def __post_init__(self) -> None:
        for name in ("read_burst", "reads_per_second", "write_burst", "writes_per_second"):
            value = getattr(self, name)
            if not value > 0 or value == float("inf"):
                raise ValueError(f"PacerLimits.{name} must be a positive finite number, got {value!r}")


class ArmPacer:
    def __init__(
        self,
        limits: PacerLimits | None = None,
        *,
        deadline: RunDeadline | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.limits = limits or PacerLimits()
        self._deadline = deadline
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._buckets: dict[tuple[str, bool], TokenBucket] = {}
        self.throttled = 0  # 429s seen

    def _bucket(self, subscription: str, write: bool) -> TokenBucket:
        key = (subscription, write)
        if key not in self._buckets:
            lim = self.limits
            capacity, rate = (
                (lim.write_burst, lim.writes_per_second) if write else (lim.read_burst, lim.reads_per_second)
            )
            self._buckets[key] = TokenBucket(capacity, rate, capacity, self._clock())
        return self._buckets[key]

    def before(self, method: str, url: str, call_end: float | None = None) -> None:
        """Take a token for this request, waiting for one when the bucket is empty (never past the
        deadline or `call_end`: then the token is given back and the run's TimedOutError raised)."""
        write = method.upper() not in READ_METHODS
        with self._lock:
            bucket = self._bucket(_subscription(url), write)
            wait = bucket.take(self._clock())
            deadline = self._deadline
            left = deadline.left(call_end) if deadline is not None else None
            if deadline is not None and left is not None and wait > 0 and wait >= left:
                bucket.tokens += 1
                kind = "write" if write else "read"
                raise deadline.expired(
                    "before sending",
                    method,
                    url,
                    why=f"the client-side pacer would wait {wait:.1f}s for ARM's {kind} budget",
                )
        if wait > 0:
            logger.debug("pacing: %s waits %.2fs for a token", method, wait)
            self._sleep(wait)

    def after(self, method: str, url: str, status: int, headers: Any) -> None:
        write = method.upper() not in READ_METHODS
        header = "x-ms-ratelimit-remaining-subscription-" + ("writes" if write else "reads")
        remaining = headers.get(header)
        with self._lock:
            bucket = self._bucket(_subscription(url), write)
            now = self._clock()
            if status == 429:
                self.throttled += 1
            # ARM's own throttling 429 says "0 remaining"; a 429 without the header (a transient
            # conflict, say) tells nothing about the bucket: its Retry-After only delays that request
            if remaining is not None:
                with contextlib.suppress(ValueError):
                    bucket.sync(float(remaining), now)

    # azure-core CustomHookPolicy callbacks -------------------------------------------------------
    def request_hook(self, request: Any) -> None:
        call_end = request.context.get(CALL_END)
        self.before(request.http_request.method, request.http_request.url, call_end)
        if self._deadline is not None:  # the wait (and the credential before it) used some of the time
            self._deadline.cap(request.context.options, request.context.transport, call_end)

    def response_hook(self, response: Any) -> None:
        http_request = response.http_request
        http_response = response.http_response
        self.after(http_request.method, http_request.url, http_response.status_code, http_response.headers)


def _subscription(url: str) -> str:
    parts = url.split("/")
    for i, part in enumerate(parts[:-1]):
        if part.lower() == "subscriptions":
            return parts[i + 1].split("?")[0].lower()
    return ""
