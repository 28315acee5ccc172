"""What a run costs in ARM requests, counted by the sandbox (`/_sandbox/counters`), and how long waiting
for verification holds the run. Real SDK clients against the sandbox; the client-side pacer's limits are
raised so the tests do not wait for ARM's real budgets.

- A re-run over verified domains costs the same whatever the config names: one read per zone (a GET per
  named zone, one listing per subscription for discovered ones), one record-set listing per zone, one
  domain listing per email service. 300 domains, two subscriptions, four email services, six zones.
- A first run reads little besides its writes: verification states come from one listing of the email
  service per poll round, shared by every waiting domain.
- `--parallel` bounds the domains working against Azure, not those waiting for verification.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace

import pytest

from acs_sandbox import Sandbox, SandboxOptions
from provisioner.azure.clients import AzureSettings, Clients
from provisioner.azure.communication import AzureCommunication
from provisioner.config import DomainTarget
from provisioner.desired import desired_records
from provisioner.dnscheck import DnsServerAddress
from provisioner.model import RecordType
from provisioner.options import RunOptions
from provisioner.ownership import lifecycle_plan
from provisioner.report import Result
from provisioner.runner import run
from tests.e2e_helpers import DNS_RG, UNPACED, World

FAST = RunOptions(timeout=120, propagation_timeout=30, poll_first=0.2, poll_max=0.5, dns_interval=0.05)
SUBS = ("0000000a-0000-4000-8000-00000000c057", "0000000b-0000-4000-8000-00000000c057")
# (subscription index, email service, domains) and the zones per subscription
SERVICES = [(0, "es-a1", 100), (0, "es-a2", 50), (1, "es-b1", 100), (1, "es-b2", 50)]
ZONES_PER_SUB = 3


def settings(sb: Sandbox) -> AzureSettings:
    return AzureSettings(
        arm_endpoint=sb.arm_endpoint,
        auth="sandbox",
        ca_bundle=sb.ca_bundle,
        polling_interval=0.02,
        pacer_limits=UNPACED,
    )


def run_counted(sb: Sandbox, targets: list[DomainTarget], options: RunOptions = FAST, parallel: int = 16):
    """(reports, exit code, ARM requests the run sent)."""
    sb.app.log.reset()
    reports, code = run(
        targets,
        settings(sb),
        options,
        dns_servers=[DnsServerAddress("127.0.0.1", sb.dns_port)],
        parallel=parallel,
    )
    return reports, code, sb.app.log.snapshot()["total"]


def zone_name(sub: int, z: int) -> str:
    return f"cost{sub}{z}.example"


def provisioned_records(clients: Clients, sub: str, service: str, zone_of: dict[str, str]) -> dict[str, list]:
    """What provision leaves in each zone for the service's domains, as seed records: the domains' own
    verification records (read through the product's adapter, one listing) planned by the product's own
    planning (`lifecycle_plan` over empty names, markers included). The re-run below writing nothing
    checks that this is what provision writes."""
    records: dict[str, list] = {}
    for domain in AzureCommunication(clients.communication(sub), sub).list_domains("rg-email", service):
        zone = zone_of[domain.name]
        plan = lifecycle_plan(domain.name, zone, desired_records(domain.name, zone, domain.records), [])
        for change in plan.changes:
            rs = change.record_set
            values = [list(r.strings) for r in rs.txt] if rs.type is RecordType.TXT else [rs.cname]
            records.setdefault(zone, []).append(
                {
                    "name": rs.name,
                    "type": rs.type.value,
                    "ttl": rs.ttl,
                    "values": values,
                    "metadata": dict(rs.metadata),
                }
            )
    return records


@pytest.fixture(scope="module")
def verified_world() -> Iterator[tuple[Sandbox, list[DomainTarget]]]:
    """300 domains over two subscriptions, four email services, six zones, all Verified, and the zones as a
    first run leaves them (seeded: the subject here is the re-run; first runs are measured below)."""
    with Sandbox(SandboxOptions()) as sb:
        targets: list[DomainTarget] = []
        services, zone_of = [], {}
        n = 0
        for sub, service, count in SERVICES:
            domains = [f"m{i}.{zone_name(sub, i % ZONES_PER_SUB)}" for i in range(n, n + count)]
            zone_of |= {d: d.split(".", 1)[1] for d in domains}
            services.append(
                {
                    "subscription": SUBS[sub],
                    "resource_group": "rg-email",
                    "name": service,
                    "domain": [{"name": d, "verified": True} for d in domains],
                }
            )
            targets += [DomainTarget(SUBS[sub], "rg-email", service, d) for d in domains]
            n += count
        sb.seed({"email_service": services})
        records: dict[str, list] = {}
        clients = Clients(settings(sb))
        for sub, service, _ in SERVICES:
            for zone, added in provisioned_records(clients, SUBS[sub], service, zone_of).items():
                records.setdefault(zone, []).extend(added)
        clients.close()
        foreign = {"name": "@", "type": "TXT", "values": ["foreign=keep-me"]}
        sb.seed(
            {
                "zone": [
                    {
                        "subscription": SUBS[sub],
                        "resource_group": DNS_RG,
                        "name": zone_name(sub, z),
                        "record": [foreign, *records.get(zone_name(sub, z), [])],
                    }
                    for sub in range(len(SUBS))
                    for z in range(ZONES_PER_SUB)
                ]
            }
        )
        yield sb, targets


def named(target: DomainTarget) -> DomainTarget:
    return replace(target, zone=target.domain.split(".", 1)[1], zone_resource_group=DNS_RG)


@pytest.mark.parametrize("shape", ["discovered", "named", "mixed"])
def test_a_rerun_of_300_verified_domains_costs_at_most_30_requests_whatever_the_config_names(
    verified_world: tuple[Sandbox, list[DomainTarget]], shape: str
) -> None:
    sb, targets = verified_world
    if shape == "named":
        targets = [named(t) for t in targets]
    elif shape == "mixed":  # every other domain names its zone: both kinds of read in both subscriptions
        targets = [named(t) if i % 2 else t for i, t in enumerate(targets)]

    reports, code, requests = run_counted(sb, targets)

    assert int(code) == 0 and {r.result for r in reports} == {Result.VERIFIED}
    assert all(r.written == [] and r.started == [] for r in reports)
    # 4 email services x 1 listing page + 6 zones x 2 record-set pages (~150 sets each) + the zone reads
    # (2 listings, or 6 GETs, or both when mixed)
    print(f"re-run of {len(targets)} verified domains, zones {shape}: {requests} ARM requests")
    assert requests <= 30, (shape, requests, sb.app.log.snapshot()["routes"])


def test_a_first_run_of_100_domains_reads_little_besides_its_writes() -> None:
    domains = 100
    with Sandbox(SandboxOptions(verify_delay=1.0)) as sb, World(sb) as world:
        zone = "first-run.example"
        world.zone(zone)
        world.email_domains([f"m{i}.{zone}" for i in range(domains)])
        targets = [
            DomainTarget(world.sub, "rg-email", "contoso-email", f"m{i}.{zone}") for i in range(domains)
        ]

        reports, code, requests = run_counted(sb, targets)
        routes = sb.app.log.snapshot()["routes"]

    assert int(code) == 0 and {r.result for r in reports} == {Result.VERIFIED}
    writes = sum(n for route, n in routes.items() if not route.startswith("GET"))
    assert writes == 7 * domains, routes  # 3 record sets and 4 verification starts each
    assert not any("GET" in r and r.endswith("domains.get") for r in routes), routes  # no GET per domain
    print(f"first run of {domains} domains: {requests} ARM requests, {requests / domains:.2f} per domain")
    assert requests / domains <= 7.5, (requests, routes)


def test_parallel_bounds_work_against_azure_not_domains_waiting_for_verification() -> None:
    """12 domains, 3 at a time, each verification taking 2 s: the waits overlap, so the run takes about one
    verification delay, not four (12 / 3 batches)."""
    delay, domains = 2.0, 12
    with Sandbox(SandboxOptions(verify_delay=delay)) as sb, World(sb) as world:
        zone = "waiting.example"
        world.zone(zone)
        world.email_domains([f"w{i}.{zone}" for i in range(domains)])
        targets = [
            DomainTarget(world.sub, "rg-email", "contoso-email", f"w{i}.{zone}") for i in range(domains)
        ]

        started = time.monotonic()
        reports, code, _ = run_counted(sb, targets, replace(FAST, poll_first=0.1, poll_max=0.3), parallel=3)
        elapsed = time.monotonic() - started

    assert int(code) == 0 and {r.result for r in reports} == {Result.VERIFIED}
    print(f"--parallel 3, {domains} domains, verify delay {delay:g}s: {elapsed:.1f}s")
    assert elapsed < 2 * delay + 2, f"{elapsed:.1f}s: waiting domains held their workers"
