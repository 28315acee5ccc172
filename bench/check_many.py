"""`acs-dns check` over many domains against the sandbox: wall time of one run (a separate process, as a
user runs it), with every tenth domain's SPF set to ~all so findings are produced. Prints the figures.

.venv/bin/python -m bench.check_many [--domains 100] [--latency-ms 0]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from acs_sandbox import Sandbox, SandboxOptions

SUB = "00000000-0000-0000-0000-0000000000cc"
SPF = "v=spf1 include:spf.protection.outlook.com -all"
DKIM = "selector{n}-azurecomm-prod-net._domainkey"


def world(n: int) -> dict[str, object]:
    domains, zones = [], []
    for i in range(n):
        zone = f"bench{i}.test"
        token = f"tok-{i}"
        spf = SPF.replace("-all", "~all") if i % 10 == 0 else SPF
        domains.append({"name": f"mail.{zone}", "token": token, "verified": True})
        records = [{"name": "mail", "type": "TXT", "values": [f"ms-domain-verification={token}", spf]}]
        records += [
            {
                "name": f"{DKIM.format(n=k)}.mail",
                "type": "CNAME",
                "values": [f"{DKIM.format(n=k)}.azurecomm.net"],
            }
            for k in (1, 2)
        ]
        ns = [f"ns1.registrar{i % 4}.test", f"ns2.registrar{i % 4}.test"]
        zones.append({"name": zone, "name_servers": ns, "record": records})
    service = {"name": "bench-email", "resource_group": "rg", "domain": domains}
    return {"subscription": SUB, "email_service": [service], "external_zone": zones}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--domains", type=int, default=100)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--parallel", type=int, default=16)
    args = parser.parse_args()
    with Sandbox(SandboxOptions(latency_ms=args.latency_ms)) as sb, tempfile.TemporaryDirectory() as tmp:
        sb.seed(world(args.domains))
        config = Path(tmp) / "domains.toml"
        entries = "".join(f'[[domain]]\nname = "mail.bench{i}.test"\n' for i in range(args.domains))
        config.write_text(
            f'[defaults]\nsubscription = "{SUB}"\nresource_group = "rg"\nemail_service = "bench-email"\n'
            + entries
        )
        env = {**os.environ, "ACS_DNS_ARM_ENDPOINT": sb.arm_endpoint, "REQUESTS_CA_BUNDLE": sb.ca_bundle}
        command = [sys.executable, "-m", "provisioner", "check", "--config", str(config), "--auth", "sandbox"]
        command += ["--dns-server", sb.dns_server, "--output", "json", "--parallel", str(args.parallel)]
        started = time.perf_counter()
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        wall = time.perf_counter() - started
        doc = json.loads(done.stdout)
        arm = sb.app.log.snapshot()["total"] if hasattr(sb, "app") else None
    results = [d["result"] for d in doc["domains"]]
    print(
        f"check over {args.domains} domains: {wall:.1f} s wall (exit {done.returncode}); "
        f"{results.count('ok')} ok, {results.count('problems')} problems "
        f"(expected {sum(1 for i in range(args.domains) if i % 10 == 0)}); ARM requests: {arm}"
    )


if __name__ == "__main__":
    main()
