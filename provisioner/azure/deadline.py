"""The run's deadline (`--timeout`), shared by every ARM request of the run, and the last failure seen.

Plain Python: the azure-core policies that enforce it per request attempt are in `policies.py`, the
client-side pacer (`pacing.py`) consults it before waiting for a token.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, MutableMapping
from typing import Any

from provisioner.azure.errors import Failure, endpoint_of, hint_for, resource_of
from provisioner.errors import TimedOutError

logger = logging.getLogger(__name__)

MIN_ATTEMPT_SECONDS = 0.05  # a connect/read timeout below this cannot succeed: treat as "nothing left"
CALL_END = "acs_dns_call_end"  # pipeline-context key: when this call's retry timeout ends (a now() value)


class RunDeadline:
    """`at`: a `time.monotonic()` value (None: no limit). Thread-safe; one per run, shared by all clients."""

    def __init__(self, at: float | None, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.at = at
        self._clock = clock
        self._lock = threading.Lock()
        self._last: Failure | None = None

    def now(self) -> float:
        return self._clock()

    def left(self, call_end: float | None = None) -> float | None:
        """Seconds left (may be negative) until the run's deadline, or the call's end when that comes
        first (`call_end`: a `now()` value); None when neither is set."""
        ends = [end for end in (self.at, call_end) if end is not None]
        return min(ends) - self._clock() if ends else None

    def note(self, failure: Failure) -> None:
        logger.debug("ARM attempt failed: %s %s at %s", failure.method, failure.text, failure.endpoint)
        with self._lock:
            self._last = failure

    @property
    def last(self) -> Failure | None:
        with self._lock:
            return self._last

    def expired(
        self, phase: str, method: str, url: str, last: Failure | None = None, *, why: str = ""
    ) -> TimedOutError:
        """The error that ends a request when the run's time is up.

        `phase`: e.g. "before retrying"; `why`: what would have overrun, e.g. "the next attempt was due in
        3.2s with 2.0s left"; `last`: this request's last failure (default: the run's)."""
        last = last or self.last
        message = f"--timeout ran out {phase} {method} {resource_of(url)} on Azure Resource Manager at {endpoint_of(url)}"
        notes = [n for n in (why, f"last error: {last}" if last else "") if n]
        if notes:
            message += ": " + "; ".join(notes)
        logger.debug("%s", message)
        return TimedOutError(message, hint_for(last))

    def cap(
        self, options: MutableMapping[str, Any], transport: Any, call_end: float | None = None
    ) -> float | None:
        """Bound one attempt's connect and read timeouts by what is left: the bound, when one was lowered.

        `options` is the pipeline request's per-call options (what the transport receives), `transport`
        supplies the defaults (`connection_config.timeout` / `.read_timeout`)."""
        left = self.left(call_end)
        if left is None:
            return None
        left = max(left, MIN_ATTEMPT_SECONDS)
        config = getattr(transport, "connection_config", None)
        lowered = None
        for key, default in (("connection_timeout", "timeout"), ("read_timeout", "read_timeout")):
            current = options.get(key, getattr(config, default, None))
            if isinstance(current, tuple):  # azure-core's deprecated (connect, read) form: leave it
                continue
            if current is None or current > left:
                options[key] = left
                lowered = left
        return lowered
