"""The loopback-only network guard: once imported, any attempt of this process to reach an address
outside 127.0.0.0/8 or ::1 raises (a real audit hook, no mocking). tests/conftest.py imports it for the
whole suite; an acs-dns process a test starts imports it alone (not the conftest, which would cost each
process pytest's and the sandbox's imports)."""

from __future__ import annotations

import ipaddress
import socket
import sys

_ALLOWED_NAMES = {"localhost", "127.0.0.1", "::1", ""}


class NetworkGuardViolation(AssertionError):
    pass


def _is_loopback(host: object) -> bool:
    if isinstance(host, bytes):
        host = host.decode()
    if not isinstance(host, str):
        return True  # AF_UNIX paths etc.
    if host in _ALLOWED_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


def _audit(event: str, args: tuple) -> None:
    if event in ("socket.connect", "socket.sendto"):
        sock, address = args[0], args[1]
        inet = getattr(sock, "family", None) in (socket.AF_INET, socket.AF_INET6)
        if inet and isinstance(address, tuple) and not _is_loopback(address[0]):
            raise NetworkGuardViolation(f"test tried to reach {address!r}: only loopback is allowed")
    elif event == "socket.getaddrinfo":
        host = args[0]
        if host is not None and not _is_loopback(host):
            raise NetworkGuardViolation(f"test tried to resolve {host!r}: only loopback is allowed")


sys.addaudithook(_audit)


__all__ = ["NetworkGuardViolation"]
