"""Many domains in one run, against a sandbox that injects faults; and two runs racing on one zone.

Everything goes through the real SDK clients and the sandbox's real fault injection."""

from __future__ import annotations

import threading

from acs_sandbox import Sandbox, SandboxOptions
from provisioner.azure.clients import AzureSettings
from provisioner.config import DomainTarget
from provisioner.dnscheck import DnsServerAddress
from provisioner.options import RunOptions
from provisioner.report import Result
from provisioner.runner import run
from tests.conftest import SUBSCRIPTION, communication_client, dns_client
from tests.e2e_helpers import UNPACED

FAST = RunOptions(timeout=120, propagation_timeout=30, poll_first=0.05, poll_max=0.2, dns_interval=0.05)
FOREIGN = "google-site-verification=keep-me-byte-for-byte"


def _seed(sb: Sandbox, zone: str, domains: list[str]) -> None:
    """The email service, its domains and a zone with foreign record sets, seeded straight into the sandbox
    (no ARM request: with faults injected, creating them through ARM would only test the retries twice)."""
    sb.seed(
        {
            "subscription": SUBSCRIPTION,
            "email_service": [
                {"resource_group": "rg", "name": "es", "domain": [{"name": d} for d in domains]}
            ],
            "zone": [
                {
                    "name": zone,
                    "resource_group": "rg-dns",
                    "record": [
                        *(
                            {"name": f"www{i}", "type": "A", "ttl": 300, "values": ["192.0.2.1"]}
                            for i in range(5)
                        ),
                        {"name": "@", "type": "TXT", "ttl": 300, "values": [FOREIGN]},
                    ],
                }
            ],
        }
    )


def _run(sb: Sandbox, targets: list[DomainTarget]):
    settings = AzureSettings(
        arm_endpoint=sb.arm_endpoint,
        auth="sandbox",
        ca_bundle=sb.ca_bundle,
        polling_interval=0.05,
        pacer_limits=UNPACED,  # the sandbox does not throttle here: do not wait for ARM's real budgets
        retry_backoff_factor=0.02,  # retry the injected faults at once, not after 0.8, 1.6, 3.2 ... s
    )
    return run(targets, settings, FAST, dns_servers=[DnsServerAddress("127.0.0.1", sb.dns_port)], parallel=8)


def _txt_at(sb: Sandbox, zone: str, name: str) -> list[str]:
    rs = dns_client(sb).record_sets.get("rg-dns", zone, name, "TXT")
    return ["".join(t.value) for t in rs.txt_records]


def test_many_domains_all_verified_with_ten_percent_faults_of_every_kind() -> None:
    zone = "faults.example"
    domains = [f"m{i}.{zone}" for i in range(25)]
    with Sandbox(SandboxOptions(fault_rate=0.1, seed=7)) as sb:
        _seed(sb, zone, domains)
        targets = [DomainTarget(SUBSCRIPTION, "rg", "es", d) for d in domains]
        reports, code = _run(sb, targets)
        counters = sb.app.log.snapshot()
    bad = [(r.target.domain, r.result, r.message) for r in reports if r.result is not Result.VERIFIED]
    assert bad == [], bad
    assert int(code) == 0
    # every kind of fault happened: throttled, internal error, unavailable, dropped before or after the handler
    assert all(counters["statuses"].get(status, 0) > 0 for status in ("429", "500", "503")), counters[
        "statuses"
    ]
    assert counters["dropped"] > 0, counters


def test_two_runs_on_overlapping_domains_keep_one_token_each_one_spf_and_foreign_values() -> None:
    zone = "race.example"
    domains = [zone] + [
        f"m{i}.{zone}" for i in range(4)
    ]  # the apex domain shares its TXT set with nobody else
    with Sandbox(SandboxOptions()) as sb:
        _seed(sb, zone, domains)
        first = [DomainTarget(SUBSCRIPTION, "rg", "es", d) for d in domains[:4]]
        second = [DomainTarget(SUBSCRIPTION, "rg", "es", d) for d in domains[1:]] + [first[0]]
        results: list = [None, None]

        def go(i: int, targets: list[DomainTarget]) -> None:
            results[i] = _run(sb, targets)

        threads = [
            threading.Thread(target=go, args=(0, first)),
            threading.Thread(target=go, args=(1, second)),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for reports, code in results:
            assert [r.result for r in reports if r.result is not Result.VERIFIED] == []
            assert int(code) == 0
        comm = communication_client(sb)
        for d in domains:
            name = "@" if d == zone else d.removesuffix("." + zone)
            texts = _txt_at(sb, zone, name)
            token = comm.domains.get("rg", "es", d).verification_records.domain.value
            assert texts.count(token) == 1
            assert sum(1 for t in texts if t.startswith("v=spf1")) == 1
            assert len([t for t in texts if t.startswith("ms-domain-verification=")]) == 1
        assert FOREIGN in _txt_at(sb, zone, "@")
