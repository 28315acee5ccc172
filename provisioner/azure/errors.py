"""Translate Azure SDK exceptions into the project's error family, with the fix to try."""

from __future__ import annotations

from provisioner.errors import AcsDnsError, AuthError, ConflictError, NotFoundError, RefusedError, UsageError


def translate(exc: Exception, what: str) -> AcsDnsError:
    """`what` names the thing being read or written, e.g. "record set TXT 'mail' in zone contoso.com"."""
    from azure.core.exceptions import (
        ClientAuthenticationError,
        HttpResponseError,
        ResourceNotFoundError,
        ServiceRequestError,
    )

    if isinstance(exc, AcsDnsError):
        return exc
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
    if isinstance(exc, HttpResponseError):
        status = exc.status_code or 0
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
            return AcsDnsError(
                f"Azure kept throttling requests for {what} (429 {code})", "re-run later or lower --parallel"
            )
        return AcsDnsError(f"Azure answered HTTP {status} for {what} ({code}): {message}")
    if isinstance(exc, ServiceRequestError):
        return UsageError(
            f"cannot reach Azure Resource Manager for {what}: {exc}",
            "check --arm-endpoint / --cloud, the network, and REQUESTS_CA_BUNDLE for a private CA",
        )
    return AcsDnsError(f"unexpected error while accessing {what}: {type(exc).__name__}: {exc}")
