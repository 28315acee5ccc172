"""Long-running operations of Microsoft.Communication, answered the way the service answers them.

A create (PUT) answers 201 with `Azure-AsyncOperation`; a delete answers 202 with `Location`; initiate/cancel
verification answer 202 with both (azure-api.md §2.3, the spec examples). The operation then runs for
`delay` seconds: its status URL reports a non-terminal status (creates report "Accepted", as in the real
recording; others "InProgress", ARM's generic value) and its `Location` answers 202, until the delay is
over; then the status is "Succeeded" and the `Location` answers 204.

The first answer carries `Retry-After` in whole seconds (at least 1, as the spec examples show it on
initiate/cancelVerification): azure-core's poller makes its first status request at once whatever it says.
Every later in-progress answer carries the precise hint: whole seconds in `Retry-After` when a second or
more remains, else `retry-after-ms` (the generated ACS code does `int()` on `Retry-After`, so a fractional
value crashes it, and `Retry-After: 0` is ignored by the poller, which then waits its full
`polling_interval`).
"""

from __future__ import annotations

import math
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from acs_sandbox.http import Request, Response, Router, arm_error

PROVIDER = "Microsoft.Communication"
API_VERSION = "2025-09-01"
OPERATION_LOCATION = "WESTUS2"  # the region in real operation-status URLs; any value works for the SDK
KEEP_OPERATIONS = 20000  # operations remembered for their status URLs (a client polls within seconds)
DEFAULT_DELAY = 0.05  # seconds an operation stays in progress (SandboxOptions.operation_delay)

_OPERATIONS = r"/subscriptions/(?P<sub>[^/]+)/providers/Microsoft\.Communication/locations/(?P<loc>[^/]+)"


def now_iso(offset: float = 0.0) -> str:
    return (datetime.now(UTC) + timedelta(seconds=offset)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def retry_hint(seconds: float) -> dict[str, str]:
    """The header that makes a client wait `seconds`: whole seconds, else milliseconds; none when due."""
    if seconds <= 0:
        return {}
    if seconds >= 1:
        return {"Retry-After": str(math.ceil(seconds))}
    return {"retry-after-ms": str(max(1, math.ceil(seconds * 1000)))}


@dataclass
class Operation:
    op_id: str
    subscription: str
    resource_id: str
    started: float  # monotonic
    done_at: float  # monotonic
    start_time: str  # ISO, as reported
    end_time: str
    running_status: str


class Operations:
    """The sandbox's asynchronous operations and their status/result routes."""

    def __init__(self, delay: float = DEFAULT_DELAY, clock: Callable[[], float] = time.monotonic) -> None:
        self.delay = max(0.0, delay)
        self.clock = clock
        self._lock = threading.Lock()
        self._operations: dict[str, Operation] = {}
        self._creating: dict[str, Operation] = {}  # resource id (lower-case) -> its running create

    def register(self, router: Router) -> None:
        router.add(
            "GET",
            _OPERATIONS + r"/operationStatuses/(?P<op>[^/]+)",
            "communication.operation.status",
            self.status,
        )
        router.add(
            "GET",
            _OPERATIONS + r"/operationResults/(?P<op>[^/]+)",
            "communication.operation.result",
            self.result,
        )

    def start(self, subscription: str, resource_id: str, *, creating: bool = False) -> Operation:
        """A new operation on `resource_id`; while a create runs, the resource reports "Accepted"."""
        now = self.clock()
        op = Operation(
            op_id=str(uuid.uuid4()),
            subscription=subscription,
            resource_id=resource_id,
            started=now,
            done_at=now + self.delay,
            start_time=now_iso(),
            end_time=now_iso(self.delay),
            running_status="Accepted" if creating else "InProgress",
        )
        with self._lock:
            if len(self._operations) >= KEEP_OPERATIONS:  # forget the oldest half, long finished by now
                for old in sorted(self._operations.values(), key=lambda o: o.started)[: KEEP_OPERATIONS // 2]:
                    del self._operations[old.op_id]
            self._operations[op.op_id] = op
            if creating:
                self._creating[resource_id.lower()] = op
        return op

    def remaining(self, op: Operation) -> float:
        return max(0.0, op.done_at - self.clock())

    def provisioning_state(self, resource_id: str) -> str:
        """ "Accepted" while the resource's create operation runs, then "Succeeded"."""
        with self._lock:
            op = self._creating.get(resource_id.lower())
            if op is not None and self.remaining(op) <= 0:
                del self._creating[resource_id.lower()]
                op = None
        return "Succeeded" if op is None else op.running_status

    # ---- headers of the first answer --------------------------------------------------------------
    def _urls(self, request: Request, op: Operation) -> tuple[str, str]:
        scope = f"/subscriptions/{op.subscription}/providers/{PROVIDER}/locations/{OPERATION_LOCATION}"
        query = f"?api-version={request.param('api-version') or API_VERSION}"
        base = request.base_url + scope
        return f"{base}/operationStatuses/{op.op_id}{query}", f"{base}/operationResults/{op.op_id}{query}"

    def headers(
        self, request: Request, op: Operation, *, async_operation: bool = True, location: bool = False
    ) -> dict[str, str]:
        status_url, result_url = self._urls(request, op)
        remaining = self.remaining(op)
        headers = {"Retry-After": str(max(1, math.ceil(remaining)))} if remaining > 0 else {}
        if async_operation:
            headers["Azure-AsyncOperation"] = status_url
        if location:
            headers["Location"] = result_url
        return headers

    # ---- routes ------------------------------------------------------------------------------------
    def _lookup(self, request: Request) -> Operation | Response:
        with self._lock:
            op = self._operations.get(request.params["op"].lower())
        if op is None:
            return arm_error(
                404, "ResourceNotFound", f"The operation '{request.params['op']}' was not found."
            )
        return op

    def status(self, request: Request) -> Response:
        op = self._lookup(request)
        if isinstance(op, Response):
            return op
        scope = f"/subscriptions/{op.subscription}/providers/{PROVIDER}/locations/{OPERATION_LOCATION}"
        body: dict[str, Any] = {
            "id": f"{scope}/operationStatuses/{op.op_id}",
            "name": op.op_id,
            "resourceId": op.resource_id,
            "status": op.running_status,
            "startTime": op.start_time,
        }
        remaining = self.remaining(op)
        if remaining > 0:
            return Response(200, body, retry_hint(remaining))
        body.update(status="Succeeded", endTime=op.end_time, properties=None)
        return Response(200, body)

    def result(self, request: Request) -> Response:
        op = self._lookup(request)
        if isinstance(op, Response):
            return op
        remaining = self.remaining(op)
        if remaining > 0:
            _, result_url = self._urls(request, op)
            return Response(202, None, {"Location": result_url, **retry_hint(remaining)})
        return Response(204)


__all__ = ["DEFAULT_DELAY", "Operation", "Operations", "now_iso", "retry_hint"]
