"""Credentials. `DefaultAzureCredential` unless one is picked with --auth.

A credential that cannot get a token becomes one `AuthError` (exit 3) that names the fix (`az login`, the
missing environment variable, the missing federated token file), and azure-identity's own log lines stay
off stderr unless --debug. `--cloud` picks the sign-in authority as well as the ARM endpoint.

azure-identity is imported lazily so `acs-dns --help` stays fast.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from provisioner.errors import AuthError, UsageError

AUTH_CHOICES = ("default", "cli", "managed-identity", "workload-identity", "environment", "sandbox")

# ARM host of a sovereign cloud -> its sign-in authority (azure.identity.AzureAuthorityHosts' values, kept
# as plain data so the mapping is testable without the SDK). Public cloud and custom endpoints keep
# azure-identity's default: AZURE_AUTHORITY_HOST when set, else login.microsoftonline.com.
AUTHORITY_HOSTS = {
    "management.chinacloudapi.cn": "login.chinacloudapi.cn",
    "management.usgovcloudapi.net": "login.microsoftonline.us",
}

WORKLOAD_IDENTITY_VARS = ("AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_FEDERATED_TOKEN_FILE")
SECRET_VARS = ("AZURE_CLIENT_SECRET", "AZURE_CLIENT_CERTIFICATE_PATH", "AZURE_USERNAME")
PIPELINE_HINT = "in a pipeline, sign in first (README: Pipelines)"


class SandboxCredential:
    """A fixed dummy bearer token, for the local sandbox only (refused for any non-loopback endpoint)."""

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.core.credentials import AccessToken

        return AccessToken("sandbox-token", int(time.time()) + 24 * 3600)

    def close(self) -> None:
        pass


def is_loopback_url(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def authority_host(arm_endpoint: str) -> str | None:
    """The sign-in authority for the cloud whose ARM endpoint this is; None: azure-identity's default."""
    return AUTHORITY_HOSTS.get((urlsplit(arm_endpoint).hostname or "").lower())


def credential_options(auth: str, arm_endpoint: str) -> dict[str, Any]:
    """Keyword arguments for the azure-identity credential of `--auth`: the cloud's sign-in authority where
    the credential signs in itself (the Azure CLI uses its own `az cloud set`; managed identity has none)."""
    host = authority_host(arm_endpoint)
    if host is None or auth not in ("default", "workload-identity", "environment"):
        return {}
    return {"authority": host}


def missing_settings(auth: str, environ: Mapping[str, str], exists: Callable[[str], bool]) -> list[str]:
    """What the environment lacks for `--auth` (workload-identity, environment); [] when nothing is known
    to be missing. Pure: the caller passes the environment and a file-exists check."""
    if auth == "workload-identity":
        missing = [f"{v} is not set" for v in WORKLOAD_IDENTITY_VARS if not environ.get(v)]
        token_file = environ.get("AZURE_FEDERATED_TOKEN_FILE")
        if token_file and not exists(token_file):
            missing.append(
                f"the federated token file {token_file} (AZURE_FEDERATED_TOKEN_FILE) does not exist"
            )
        return missing
    if auth == "environment":
        missing = [f"{v} is not set" for v in ("AZURE_TENANT_ID", "AZURE_CLIENT_ID") if not environ.get(v)]
        if not any(environ.get(v) for v in SECRET_VARS):
            missing.append("none of AZURE_CLIENT_SECRET, AZURE_CLIENT_CERTIFICATE_PATH is set")
        return missing
    return []


def _intended_auth(environ: Mapping[str, str]) -> str | None:
    """Which credential of the default chain the environment was evidently set up for."""
    if environ.get("AZURE_FEDERATED_TOKEN_FILE"):
        return "workload-identity"
    if any(environ.get(v) for v in SECRET_VARS):
        return "environment"
    if environ.get("AZURE_CLIENT_ID") and environ.get("AZURE_TENANT_ID"):
        return "workload-identity"  # a federated pipeline login that lost its token file variable
    return None


def diagnose(auth: str, detail: str, environ: Mapping[str, str], exists: Callable[[str], bool]) -> AuthError:
    """One error for a credential that could not get a token: what failed and the fix. Pure."""
    first = next((line.strip() for line in detail.splitlines() if line.strip()), "no token")
    message = f"could not sign in to Azure (--auth {auth}): {first}"
    kind = _intended_auth(environ) if auth == "default" else auth
    missing = missing_settings(kind, environ, exists) if kind else []
    if missing:
        what = "workload identity federation" if kind == "workload-identity" else "a service principal"
        return AuthError(
            f"could not sign in to Azure (--auth {auth}) with {what}: {'; '.join(missing)}",
            f"set the missing values; {PIPELINE_HINT}",
        )
    if auth == "cli" or (auth == "default" and kind is None):
        if "not found" in detail.lower() or "not installed" in detail.lower():
            fix = "install the Azure CLI and run `az login`"
        else:
            fix = "run `az login` (and `az account set --subscription ...`)"
        if auth == "default":
            fix += f", or {PIPELINE_HINT}; --debug shows each credential that was tried"
        return AuthError(message, fix)
    if auth == "managed-identity":
        return AuthError(
            message,
            "managed identity works only on an Azure host that has one assigned; elsewhere use `az login` "
            "or --auth workload-identity",
        )
    if kind == "workload-identity":
        fix = (
            "check that the app registration has a federated credential for this pipeline's subject and "
            "audience, and that the token has not expired (long waits: README: Pipelines, two steps)"
        )
    else:
        fix = "check the service principal's tenant, client id and secret or certificate"
    return AuthError(message, fix)


def quiet_sdk_logging(debug: bool) -> None:
    """No Azure SDK log line reaches stderr unless --debug.

    Without a configured handler Python prints WARNING records through its last-resort handler, and
    azure-identity logs a WARNING for every credential that fails; acs-dns reports that failure itself
    (`diagnose`). The NullHandler keeps the last-resort handler away; the levels keep records out of any
    handler an embedding program configured. With --debug everything passes again.
    """
    azure = logging.getLogger("azure")
    if not any(isinstance(h, logging.NullHandler) for h in azure.handlers):
        azure.addHandler(logging.NullHandler())
    azure.setLevel(logging.NOTSET if debug else logging.WARNING)
    logging.getLogger("azure.identity").setLevel(logging.NOTSET if debug else logging.ERROR)


class GuardedCredential:
    """Wraps an azure-identity credential: a failed sign-in raises one `AuthError` with the fix, and later
    calls (other domains, other threads) get the same error at once instead of re-running the chain."""

    def __init__(self, inner: Any, auth: str, environ: Mapping[str, str] | None = None) -> None:
        self._inner = inner
        self._auth = auth
        self._environ = os.environ if environ is None else environ
        self._failed: AuthError | None = None
        self._lock = threading.Lock()

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        from azure.core.exceptions import ClientAuthenticationError

        if self._failed is not None:
            raise self._failed
        try:
            return getattr(self._inner, method)(*args, **kwargs)
        except ClientAuthenticationError as exc:  # CredentialUnavailableError is one too
            with self._lock:
                if self._failed is None:
                    self._failed = diagnose(self._auth, str(exc), self._environ, os.path.exists)
            raise self._failed from exc

    @property
    def wrapped(self) -> Any:
        """The azure-identity credential behind this one."""
        return self._inner

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        return self._call("get_token", *scopes, **kwargs)

    def close(self) -> None:
        self._inner.close()


class GuardedTokenInfoCredential(GuardedCredential):
    """For credentials (azure-identity >= 1.19) that also offer azure-core's `get_token_info`."""

    def get_token_info(self, *scopes: str, **kwargs: Any) -> Any:
        return self._call("get_token_info", *scopes, **kwargs)


def make_credential(auth: str, arm_endpoint: str, *, debug: bool | None = None) -> Any:
    """Build the credential for `--auth`. Settings known to be missing fail here, before any request.

    `debug` None: on when the root logger takes DEBUG records (what --debug configures)."""
    quiet_sdk_logging(logging.getLogger().isEnabledFor(logging.DEBUG) if debug is None else debug)
    if auth == "sandbox":
        if not is_loopback_url(arm_endpoint):
            raise UsageError(
                f"--auth sandbox sends a dummy token and is refused for {arm_endpoint}",
                "use it only with --arm-endpoint https://127.0.0.1:PORT (the local sandbox)",
            )
        return SandboxCredential()
    if auth not in AUTH_CHOICES:
        raise UsageError(f"unknown --auth {auth!r}", f"choose one of: {', '.join(AUTH_CHOICES)}")
    missing = missing_settings(auth, os.environ, os.path.exists)
    if missing:
        raise diagnose(auth, "; ".join(missing), os.environ, os.path.exists)
    from azure import identity

    kwargs = credential_options(auth, arm_endpoint)
    if auth == "default":
        inner = identity.DefaultAzureCredential(**kwargs)
    elif auth == "cli":
        inner = identity.AzureCliCredential()  # signs in to the cloud `az cloud set` chose
    elif auth == "managed-identity":
        inner = identity.ManagedIdentityCredential()
    elif auth == "workload-identity":
        inner = identity.WorkloadIdentityCredential(**kwargs)
    else:
        inner = identity.EnvironmentCredential(**kwargs)
    wrapper = GuardedTokenInfoCredential if hasattr(inner, "get_token_info") else GuardedCredential
    return wrapper(inner, auth)
