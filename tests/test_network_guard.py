import socket

import pytest

from tests.network_guard import NetworkGuardViolation


def test_guard_refuses_non_loopback_connect() -> None:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        with pytest.raises(NetworkGuardViolation):
            s.connect(("203.0.113.7", 443))
    finally:
        s.close()


def test_guard_refuses_resolving_azure() -> None:
    with pytest.raises(NetworkGuardViolation):
        socket.getaddrinfo("management.azure.com", 443)


def test_guard_allows_loopback() -> None:
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    c = socket.create_connection(srv.getsockname())
    c.close()
    srv.close()
