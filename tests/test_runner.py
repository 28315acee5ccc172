"""The run as a whole, through the CLI against the sandbox: what it checks before it writes anything."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from acs_sandbox import Sandbox
from tests.e2e_helpers import World, assert_clean_exit, counters, document, reset_counters, seed_standard


@pytest.fixture
def silent_dns_server() -> Iterator[str]:
    """HOST:PORT of a bound UDP socket that receives DNS queries and never answers."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    try:
        yield f"127.0.0.1:{sock.getsockname()[1]}"
    finally:
        sock.close()


def test_a_dns_server_that_does_not_answer_is_reported_before_anything_is_written(
    sandbox: Sandbox, silent_dns_server: str
) -> None:
    """Not "zone not delegated, set the name servers at the registrar" after writing: the resolver is the
    problem, named with its own fix, and nothing is sent to Azure (exit 2)."""
    with World(sandbox) as world:
        seeded = seed_standard(world)
        args = [*world.args(seeded.domain), "--dns-timeout", "0.5"]
        args[args.index("--dns-server") + 1] = silent_dns_server
        reset_counters(sandbox)

        result = world.cli(args)

        assert_clean_exit(result, 2)
        doc = document(result)
        assert f"--dns-server {silent_dns_server} did not answer a DNS query within 0.5s" in doc["error"], doc
        assert "--dns-server" in doc["hint"] and "registrar" not in doc["error"] + doc["hint"], doc
        assert counters(sandbox)["total"] == 0  # nothing sent, let alone written
