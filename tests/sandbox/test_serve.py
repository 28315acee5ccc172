"""`acs-dns sandbox serve` as a real subprocess, and the in-process Sandbox lifecycle."""

from __future__ import annotations

import json
import signal
import socket
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from azure.core.exceptions import ResourceNotFoundError

from acs_sandbox import Sandbox, SandboxOptions
from tests.conftest import dns_client

STARTUP_TIMEOUT = 60  # generous: a cold interpreter imports the Azure SDK
EXIT_TIMEOUT = 10
SERVE_ARGS = ["--port", "0", "--dns-port", "0", "--throttle"]


def read_line(process: subprocess.Popen[str], timeout: float) -> str:
    """The first stdout line, or fail (with stderr) if none comes in time."""
    assert process.stdout is not None
    line: list[str] = []
    reader = threading.Thread(target=lambda: line.append(process.stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    if not line or not line[0]:
        process.kill()
        _, err = process.communicate(timeout=EXIT_TIMEOUT)
        pytest.fail(f"no JSON line from `sandbox serve` (stderr: {err!r})")
    return line[0]


def tls_handshake(arm_endpoint: str, ca_bundle: str) -> str:
    """Connect to the ARM port and complete a verified TLS handshake; the negotiated version."""
    host, port = arm_endpoint.removeprefix("https://").rsplit(":", 1)
    context = ssl.create_default_context(cafile=ca_bundle)
    with (
        socket.create_connection((host, int(port)), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=host) as tls,
    ):
        return tls.version() or ""


@pytest.fixture
def served() -> Iterator[tuple[subprocess.Popen[str], dict[str, str]]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "provisioner", "sandbox", "serve", *SERVE_ARGS],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield process, json.loads(read_line(process, STARTUP_TIMEOUT))
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=EXIT_TIMEOUT)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_serve_prints_one_line_when_ready_and_exits_cleanly_on_signal(
    served: tuple[subprocess.Popen[str], dict[str, str]], signum: int
) -> None:
    process, info = served
    assert set(info) == {"arm_endpoint", "ca_bundle", "dns_server"}
    assert info["arm_endpoint"].startswith("https://127.0.0.1:")
    assert tls_handshake(info["arm_endpoint"], info["ca_bundle"]).startswith("TLS")
    dns_host, dns_port = info["dns_server"].rsplit(":", 1)
    socket.create_connection((dns_host, int(dns_port)), timeout=10).close()  # DNS over TCP listens too

    client = dns_client(SimpleNamespace(**info), retry_total=0)  # type: ignore[arg-type]
    with pytest.raises(ResourceNotFoundError) as missing:
        client.zones.get("rg", "absent.example")
    headers = missing.value.response.headers
    assert headers["x-ms-ratelimit-remaining-subscription-reads"] == "249"  # --throttle is on
    client.close()

    process.send_signal(signum)
    out, err = process.communicate(timeout=EXIT_TIMEOUT)
    assert process.returncode == 0, err
    assert out == ""  # exactly one line in all


def test_in_process_start_and_stop_with_a_client_connected() -> None:
    sb = Sandbox(SandboxOptions()).start()
    client = dns_client(sb, retry_total=0)
    with pytest.raises(ResourceNotFoundError):
        client.zones.get("rg", "absent.example")  # leaves a keep-alive connection open
    host, port = sb.arm_endpoint.removeprefix("https://").rsplit(":", 1)
    stopper = threading.Thread(target=sb.stop)
    stopper.start()
    stopper.join(timeout=5)
    assert not stopper.is_alive(), "Sandbox.stop() hung"
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((host, int(port)), timeout=5).close()


@pytest.mark.parametrize(
    "entry_point",
    [["-m", "acs_sandbox"], ["-m", "provisioner", "sandbox", "serve"]],
    ids=["python-m", "acs-dns"],
)
@pytest.mark.usefixtures("unmeasured_children")
def test_entry_points_serve_a_seeded_world(entry_point: list[str]) -> None:
    """Both entry points (`python -m acs_sandbox`, `acs-dns sandbox serve`) with `--seed`: the ready line,
    then the world's zones in DNS."""
    import dns.resolver

    import acs_sandbox

    world = Path(acs_sandbox.__file__).parent / "examples" / "world.toml"
    process = subprocess.Popen(
        [sys.executable, *entry_point, "--seed", str(world), "--propagation-delay", "60"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        info = json.loads(read_line(process, STARTUP_TIMEOUT))
        host, port = info["dns_server"].rsplit(":", 1)
        res = dns.resolver.Resolver(configure=False)
        res.nameservers, res.port, res.lifetime = [host], int(port), 10
        assert b"v=spf1 include:spf.protection.outlook.com -all" in [
            b"".join(rd.strings) for rd in res.resolve("fabrikam.test", "TXT")
        ]
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=EXIT_TIMEOUT)
        assert process.returncode == 0, err
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=EXIT_TIMEOUT)
