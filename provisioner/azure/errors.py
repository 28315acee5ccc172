"""Translate Azure SDK exceptions into the project's error family, with the fix to try.

`failure_of` / `failure_of_response` describe one failed request attempt as plain data (`Failure`): the
run's deadline (`deadline.py`) names the last one when time runs out, and `translate` uses the same words.
"""

from __future__ import annotations

import json
import logging
import ssl
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from provisioner.errors import (
    AcsDnsError,
    AuthError,
    ConflictError,
    NotFoundError,
    RefusedError,
    TimedOutError,
    UsageError,
)

logger = logging.getLogger(__name__)

READ_METHODS = frozenset({"GET", "HEAD"})
SERVER_ERRORS = frozenset({500, 502, 503, 504})


class FailureKind(StrEnum):
    """Why one request attempt got no usable answer."""

    UNREACHABLE = (
        "unreachable"  # the request was not sent: refused, no route, name not found, connect timeout
    )
    UNTRUSTED = "untrusted"  # the TLS certificate was not trusted: nothing was sent
    NO_ANSWER = "no-answer"  # sent, then the connection closed or no answer came in time: it may have run
    THROTTLED = "throttled"  # HTTP 429
    SERVER_ERROR = "server-error"  # HTTP 5xx
    OTHER = "other"


@dataclass(frozen=True)
class Failure:
    kind: FailureKind
    text: str  # e.g. "connection refused", "HTTP 503 ServiceUnavailable"
    endpoint: str = ""  # scheme://host:port, when known
    method: str = ""

    def __str__(self) -> str:
        return self.text


_HINTS = {
    FailureKind.UNREACHABLE: "check --arm-endpoint / --cloud and that this machine can reach it (proxy, "
    "firewall, DNS); then re-run",
    FailureKind.UNTRUSTED: "set REQUESTS_CA_BUNDLE to the PEM file of the CA that signed the endpoint's "
    "certificate (a proxy's, or the sandbox's ca_bundle)",
    FailureKind.NO_ANSWER: "re-run acs-dns (it re-reads what is there and finishes the job), with a longer "
    "--timeout if Azure is slow",
    FailureKind.THROTTLED: "Azure throttled the requests (429): re-run later, or lower --parallel",
    FailureKind.SERVER_ERROR: "Azure kept failing (HTTP 5xx): re-run later; acs-dns picks up where it stopped",
    FailureKind.OTHER: "re-run with a longer --timeout; acs-dns picks up where it stopped",
}


def hint_for(failure: Failure | None) -> str:
    return _HINTS[failure.kind if failure else FailureKind.OTHER]


def endpoint_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.netloc else ""


def resource_of(url: str) -> str:
    """The part of an ARM URL a person recognises: from the provider on, without the query."""
    path = urlsplit(url).path
    _, sep, tail = path.partition("/providers/")
    return tail if sep else path


def _chain(exc: BaseException) -> list[BaseException]:
    """The exception and everything it wraps (azure-core's inner_exception, requests/urllib3 reasons)."""
    seen: list[BaseException] = []
    todo: list[Any] = [exc]
    while todo and len(seen) < 20:
        current = todo.pop(0)
        if not isinstance(current, BaseException) or any(current is s for s in seen):
            continue
        seen.append(current)
        todo += [getattr(current, "inner_exception", None), getattr(current, "reason", None)]
        todo += [current.__cause__, current.__context__, *current.args]
    return seen


def _request_of(exc: BaseException) -> tuple[str, str]:
    """(method, url) of the request an exception came from, when the transport kept it (requests does)."""
    chain = _chain(exc)
    for link in chain:
        request = getattr(link, "request", None)
        url = getattr(request, "url", None)
        if isinstance(url, str):
            return str(getattr(request, "method", "") or ""), url
    for (
        link
    ) in chain:  # urllib3 keeps the connection (NewConnectionError.conn) or the pool (MaxRetryError.pool)
        conn = getattr(link, "conn", None) or getattr(link, "pool", None)
        host, port = getattr(conn, "host", None), getattr(conn, "port", None)
        if isinstance(host, str) and host:
            scheme = getattr(conn, "scheme", None) or ("https" if "HTTPS" in type(conn).__name__ else "http")
            netloc = f"[{host}]" if ":" in host else host
            return "", f"{scheme}://{netloc}" + (f":{port}" if port else "")
    return "", ""


def failure_of(exc: BaseException, *, method: str = "", url: str = "") -> Failure:
    """Describe an attempt that raised instead of answering."""
    from azure.core.exceptions import (
        ServiceRequestError,
        ServiceRequestTimeoutError,
        ServiceResponseError,
        ServiceResponseTimeoutError,
    )

    if not url:
        method, url = _request_of(exc)
    chain = _chain(exc)
    endpoint = endpoint_of(url)
    if any(isinstance(e, ssl.SSLCertVerificationError) for e in chain) or any(
        "CERTIFICATE_VERIFY_FAILED" in str(e) for e in chain
    ):
        return Failure(FailureKind.UNTRUSTED, "TLS certificate not trusted", endpoint, method)
    if isinstance(exc, ServiceRequestError):
        if any(isinstance(e, ConnectionRefusedError) for e in chain):
            text = "connection refused"
        elif isinstance(exc, ServiceRequestTimeoutError):
            text = "no connection within the time allowed"
        elif any(type(e).__name__ in ("NameResolutionError", "gaierror") for e in chain):
            text = "host name not found"
        else:
            text = f"cannot connect ({_first_line(exc)})"
        return Failure(FailureKind.UNREACHABLE, text, endpoint, method)
    if isinstance(exc, ServiceResponseTimeoutError):
        return Failure(FailureKind.NO_ANSWER, "no answer within the time allowed", endpoint, method)
    if isinstance(exc, ServiceResponseError):
        return Failure(FailureKind.NO_ANSWER, "connection closed before an answer", endpoint, method)
    return Failure(FailureKind.OTHER, f"{type(exc).__name__}: {_first_line(exc)}", endpoint, method)


def failure_of_response(method: str, url: str, status: int, body: bytes | str | None) -> Failure | None:
    """Describe an attempt answered with an error status (None for a success)."""
    if status < 400:
        return None
    code = _error_code(body)
    text = f"HTTP {status} {code}".rstrip()
    if status == 429:
        kind = FailureKind.THROTTLED
    elif status in SERVER_ERRORS:
        kind = FailureKind.SERVER_ERROR
    else:
        kind = FailureKind.OTHER
    return Failure(kind, text, endpoint_of(url), method)


def _error_code(body: bytes | str | None) -> str:
    try:
        data = json.loads(body or b"")
    except (ValueError, TypeError):
        return ""
    if not isinstance(data, dict):
        return ""
    error = data.get("error") if isinstance(data.get("error"), dict) else data
    code = error.get("code") if isinstance(error, dict) else None
    return str(code) if code else ""


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__


def connection_error(failure: Failure, what: str) -> AcsDnsError:
    """The project's error for a request that got no answer at all."""
    where = f"Azure Resource Manager at {failure.endpoint}" if failure.endpoint else "Azure Resource Manager"
    hint = hint_for(failure)
    if failure.kind is FailureKind.UNTRUSTED:
        return UsageError(f"cannot open a TLS connection to {where} for {what}: {failure}", hint)
    if failure.kind is FailureKind.UNREACHABLE:
        return TimedOutError(f"cannot reach {where} for {what}: {failure}", hint)
    if failure.kind is FailureKind.NO_ANSWER:
        method = failure.method.upper()
        if not method:
            sent = "; if it was a change, it may have been made"
        else:
            sent = "" if method in READ_METHODS else "; the change was sent and may have been made"
        return TimedOutError(f"{where} gave no answer for {what}: {failure}{sent}", hint)
    return AcsDnsError(f"unexpected error while accessing {what}: {failure}", hint)


def translate(exc: Exception, what: str) -> AcsDnsError:
    """`what` names the thing being read or written, e.g. "record set TXT 'mail' in zone contoso.com"."""
    from azure.core.exceptions import (
        ClientAuthenticationError,
        HttpResponseError,
        ResourceNotFoundError,
        ServiceRequestError,
        ServiceResponseError,
    )

    if isinstance(exc, AcsDnsError):
        return exc
    logger.debug("translating %s for %s", type(exc).__name__, what, exc_info=exc)
    if isinstance(exc, ClientAuthenticationError):
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return AuthError(
            f"authentication failed while reading {what}: {first}",
            "sign in (`az login`), or set up managed/workload identity, or choose one with --auth",
        )
    if isinstance(exc, ResourceNotFoundError):
        code = getattr(getattr(exc, "error", None), "code", None) or "NotFound"
        return NotFoundError(
            f"{what} does not exist ({code})", "check the names, subscription and resource group"
        )
    if isinstance(exc, HttpResponseError) and exc.status_code:
        status = exc.status_code
        code = getattr(getattr(exc, "error", None), "code", None) or ""
        message = getattr(getattr(exc, "error", None), "message", None) or exc.reason or str(exc)
        if status == 412:
            return ConflictError(f"{what} was changed by someone else (HTTP 412 {code})", "re-run acs-dns")
        if status == 403:
            return AuthError(
                f"permission denied on {what} ({code}): {message}",
                "grant the identity 'DNS Zone Contributor' on the zone and 'Contributor' on the email "
                "service (see README: Permissions)",
            )
        if status == 401:
            return AuthError(f"not authorised for {what} ({code}): {message}", "check --auth and the tenant")
        if status == 400:
            return RefusedError(f"Azure refused the change to {what} ({code}): {message}")
        if status == 429:
            return TimedOutError(
                f"Azure kept throttling requests for {what} (HTTP 429 {code})".replace(" )", ")"),
                hint_for(Failure(FailureKind.THROTTLED, "")),
            )
        hint = hint_for(Failure(FailureKind.SERVER_ERROR, "")) if status in SERVER_ERRORS else None
        return AcsDnsError(f"Azure answered HTTP {status} for {what} ({code}): {message}", hint)
    if isinstance(exc, ServiceRequestError | ServiceResponseError):
        return connection_error(failure_of(exc), what)
    return AcsDnsError(f"unexpected error while accessing {what}: {type(exc).__name__}: {exc}")
