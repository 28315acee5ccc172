"""azure-core policies (and a transport) that hold the run's deadline on every request attempt.

Imports the SDK: load lazily.

- `DeadlineRetryPolicy` is azure-core's own `RetryPolicy` (429 with Retry-After, 5xx, dropped
  connections): it only refuses to sleep past the deadline, ending with the run's `TimedOutError`
  instead of a retry that could not finish in time. The call's own retry `timeout` (azure-core's, which
  bounds only when attempts start) is held the same way: as a deadline for the call, sleeps included.
- `DeadlinePolicy` runs once per attempt, right after the retry policy: it refuses to start an attempt
  when nothing is left, bounds the attempt's connect and read timeouts by what is left, remembers the
  attempt's failure (the "last error" the timeout names), and stops at once, without retries, on a TLS
  certificate that is not trusted (nothing can be sent; retrying cannot help).
- `DeadlineTransport` is azure-core's requests transport whose `sleep` (what long-running-operation
  pollers wait with between polls) ends at the deadline; the next poll then stops with the timeout.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from azure.core.exceptions import AzureError, ServiceRequestTimeoutError, ServiceResponseTimeoutError
from azure.core.pipeline import PipelineRequest, PipelineResponse
from azure.core.pipeline.policies import HTTPPolicy, RetryPolicy
from azure.core.pipeline.transport import RequestsTransport

from provisioner.azure.deadline import CALL_END, RunDeadline
from provisioner.azure.errors import Failure, FailureKind, connection_error, failure_of, failure_of_response

logger = logging.getLogger(__name__)

_LAST = "acs_dns_last_failure"  # pipeline-context key: this call's last failed attempt


class DeadlineRetryPolicy(RetryPolicy):
    """azure-core's RetryPolicy that never sleeps past the run's deadline, nor past the call's own retry `timeout`."""

    def __init__(self, deadline: RunDeadline, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.deadline = deadline

    def send(self, request: PipelineRequest) -> PipelineResponse:
        timeout = request.context.options.get("timeout", self.timeout)
        request.context[CALL_END] = self.deadline.now() + timeout
        return super().send(request)

    def configure_retries(self, options: dict[str, Any]) -> dict[str, Any]:
        settings = super().configure_retries(options)
        settings[CALL_END] = self.deadline.now() + settings["timeout"]
        return settings

    def sleep(self, settings: dict[str, Any], transport: Any, response: Any = None) -> None:
        left = self.deadline.left(settings.get(CALL_END))
        if left is not None:
            wait = (
                self.get_retry_after(response) if response is not None else None
            ) or self.get_backoff_time(settings)
            if wait >= left:
                method, url, last = _last_attempt(settings)
                why = f"the next attempt was due in {wait:.1f}s with {max(left, 0):.1f}s left"
                raise self.deadline.expired("before retrying", method, url, last, why=why)
        super().sleep(settings, transport, response)


def _last_attempt(settings: dict[str, Any]) -> tuple[str, str, Failure | None]:
    """The retry history's last entry as (method, url, failure)."""
    entry = settings["history"][-1]
    request = entry.http_request
    method, url = request.method, request.url
    if entry.error is not None:
        return method, url, failure_of(entry.error, method=method, url=url)
    response = entry.http_response
    return method, url, failure_of_response(method, url, response.status_code, _body(response))


class DeadlinePolicy(HTTPPolicy):
    """Per attempt: no attempt after the deadline, timeouts bounded by what is left, failures noted."""

    def __init__(self, deadline: RunDeadline) -> None:
        super().__init__()
        self.deadline = deadline

    def send(self, request: PipelineRequest) -> PipelineResponse:
        http = request.http_request
        method, url = http.method, http.url
        call_end = request.context.get(CALL_END)
        left = self.deadline.left(call_end)
        if left is not None and left <= 0:
            raise self.deadline.expired("before sending", method, url, request.context.get(_LAST))
        lowered = self.deadline.cap(request.context.options, request.context.transport, call_end)
        try:
            response = self.next.send(request)
        except AzureError as exc:
            failure = failure_of(exc, method=method, url=url)
            ran_out = lowered is not None and isinstance(
                exc, ServiceRequestTimeoutError | ServiceResponseTimeoutError
            )
            if ran_out:  # the bound the deadline set is what ran out
                failure = replace(failure, text=f"no answer within the {lowered:.1f}s that were left")
            self._note(request, failure)
            if failure.kind is FailureKind.UNTRUSTED:
                raise connection_error(failure, f"{method} {url}") from exc
            left = self.deadline.left(call_end)
            if ran_out or (left is not None and left <= 0):
                raise self.deadline.expired("while waiting for the answer to", method, url, failure) from exc
            raise
        http_response = response.http_response
        failure = failure_of_response(method, url, http_response.status_code, _body(http_response))
        if failure is not None:
            self._note(request, failure)
        return response

    def _note(self, request: PipelineRequest, failure: Failure) -> None:
        request.context[_LAST] = failure
        self.deadline.note(failure)


def _body(http_response: Any) -> bytes | str | None:
    """The body of an error answer (small JSON), whichever azure-core response type carries it."""
    if http_response.status_code < 400:
        return None
    for reader in ("body", "text"):
        read = getattr(http_response, reader, None)
        if callable(read):
            try:
                return read()
            except Exception:  # a streamed or undecodable body: the status alone will do
                logger.debug("could not read the error body", exc_info=True)
    return None


class DeadlineTransport(RequestsTransport):
    """azure-core's requests transport; its sleeps (LRO polling intervals, Retry-After) end at the deadline."""

    def __init__(self, deadline: RunDeadline, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.deadline = deadline

    def sleep(self, duration: float) -> None:
        left = self.deadline.left()
        super().sleep(duration if left is None else min(duration, max(left, 0.0)))
