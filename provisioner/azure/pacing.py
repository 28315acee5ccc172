"""Client-side pacing for ARM's per-subscription token buckets, so a large run keeps the buckets busy
without drowning in 429s.

ARM meters each subscription with a reads bucket (250, refilled 25/s) and a writes bucket (200,
refilled 10/s). `ArmPacer` keeps a local model of both, takes a token before every request attempt
(blocking until one is due), and re-syncs the model from ARM's own `x-ms-ratelimit-remaining-*`
headers on every answer (a throttling 429 says 0 remain); azure-core's RetryPolicy still honours the
Retry-After. It plugs into the SDK clients through azure-core's CustomHookPolicy
(`raw_request_hook`/`raw_response_hook`), which runs once per attempt, after the retry policy.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

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


class ArmPacer:
    READS = (250.0, 25.0)
    WRITES = (200.0, 10.0)

    def __init__(
        self, *, clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._buckets: dict[tuple[str, bool], TokenBucket] = {}
        self.throttled = 0  # 429s seen

    def _bucket(self, subscription: str, write: bool) -> TokenBucket:
        key = (subscription, write)
        if key not in self._buckets:
            capacity, rate = self.WRITES if write else self.READS
            self._buckets[key] = TokenBucket(capacity, rate, capacity, self._clock())
        return self._buckets[key]

    def before(self, method: str, url: str) -> None:
        write = method.upper() not in READ_METHODS
        with self._lock:
            wait = self._bucket(_subscription(url), write).take(self._clock())
        if wait > 0:
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
        self.before(request.http_request.method, request.http_request.url)

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
