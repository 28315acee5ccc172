"""Sandbox throughput: N TXT record-set PUTs through ONE real DnsManagementClient, in sequence.

    .venv/bin/python -m bench.sandbox_throughput [--count 2000] [--profile out.prof] [--allow-dirty]

Prints PUTs/second and the p50/p99 latency of one `record_sets.create_or_update` call, as seen by
the SDK (TLS, HTTP, the SDK pipeline and the sandbox handler included).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import statistics
import time

from azure.mgmt.dns import DnsManagementClient
from azure.mgmt.dns.models import RecordSet, TxtRecord, Zone

from acs_sandbox import Sandbox, SandboxOptions
from bench import provenance
from provisioner.azure.credentials import SandboxCredential

SUBSCRIPTION = "00000000-0000-0000-0000-0000000000b1"
RESOURCE_GROUP = "bench-rg"
ZONE = "bench.example.com"


def percentile(samples: list[float], pct: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def run(count: int, options: SandboxOptions) -> dict[str, float]:
    with Sandbox(options) as sandbox:
        client = DnsManagementClient(
            SandboxCredential(),
            SUBSCRIPTION,
            base_url=sandbox.arm_endpoint,
            connection_verify=sandbox.ca_bundle,
        )
        client.zones.create_or_update(RESOURCE_GROUP, ZONE, Zone(location="global"))
        latencies: list[float] = []
        started = time.perf_counter()
        for i in range(count):
            record_set = RecordSet(ttl=3600, txt_records=[TxtRecord(value=[f"bench-value-{i}"])])
            t0 = time.perf_counter()
            client.record_sets.create_or_update(RESOURCE_GROUP, ZONE, f"rs{i}", "TXT", record_set)
            latencies.append(time.perf_counter() - t0)
        elapsed = time.perf_counter() - started
        counters = sandbox.app.log.snapshot()
        client.close()
    return {
        "puts": count,
        "seconds": round(elapsed, 3),
        "puts_per_second": round(count / elapsed, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 3),
        "p99_ms": round(percentile(latencies, 99) * 1000, 3),
        "server_requests": counters["total"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000, help="record-set PUTs to send (default 2000)")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="sandbox latency per request")
    parser.add_argument("--profile", help="write a cProfile of the whole run (client and server) here")
    provenance.add_argument(parser)
    args = parser.parse_args()
    source = provenance.require_clean_tree(args.allow_dirty)
    options = SandboxOptions(latency_ms=args.latency_ms)
    if args.profile:
        with cProfile.Profile() as profile:
            result = run(args.count, options)
        profile.dump_stats(args.profile)
    else:
        result = run(args.count, options)
    print(
        f"{result['puts']} PUTs in {result['seconds']} s: {result['puts_per_second']} PUT/s, "
        f"p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms"
    )
    print(json.dumps({**result, "code": source.label}))


if __name__ == "__main__":
    main()
