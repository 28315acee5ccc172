"""The Azure adapters and the in-memory fakes implement the core's ports with the same signatures, so a
unit test against the fakes exercises the calls the adapters receive."""

from __future__ import annotations

import inspect

import pytest

from provisioner.azure.communication import AzureCommunication
from provisioner.azure.dns import AzureDns
from provisioner.ports import DnsZones, EmailService
from tests.fakes import FakeDnsZones, FakeEmailService

SUB = "00000000-0000-0000-0000-000000000001"


def _methods(protocol: type) -> list[str]:
    return [n for n, v in vars(protocol).items() if inspect.isfunction(v) and not n.startswith("_")]


@pytest.mark.parametrize(
    ("protocol", "calls", "implementations"),
    [
        (
            DnsZones,
            {"list_zones", "get_zone", "list_record_sets", "write", "delete"},
            [AzureDns(None, SUB), FakeDnsZones(SUB)],
        ),
        (
            EmailService,
            {
                "get_domain",
                "list_domains",
                "create_domain",
                "start_verification",
                "get_communication_service",
                "set_linked_domains",
                "list_senders",
                "put_sender",
                "delete_sender",
                "set_domain_tags",
                "delete_domain",
            },
            [AzureCommunication(None, SUB), FakeEmailService(SUB)],
        ),
    ],
)
def test_adapters_and_fakes_implement_the_ports(
    protocol: type, calls: set[str], implementations: list[object]
) -> None:
    assert set(_methods(protocol)) == calls
    for impl in implementations:
        assert isinstance(impl, protocol), type(impl).__name__
        for name in _methods(protocol):
            wanted = inspect.signature(getattr(protocol, name))
            got = inspect.signature(getattr(type(impl), name))
            assert [(p.name, p.kind) for p in got.parameters.values()] == [
                (p.name, p.kind) for p in wanted.parameters.values()
            ], f"{type(impl).__name__}.{name}"
