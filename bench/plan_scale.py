"""`acs-dns plan` over many domains with their zones named: how long it takes, what it costs, and how long
stderr stays silent (a long run must show progress).

    .venv/bin/python -m bench.plan_scale --sizes 1000,10000
    .venv/bin/python -m bench.plan_scale --sizes 1000 --checkout /path/to/other/checkout   # compare

The sandbox runs in this process (no latency, no server-side throttling; the client keeps ARM's real
token buckets, so a run that sends many reads is paced as it would be against Azure) and is seeded
straight into its store with N CustomerManaged domains over 5 zones (200 foreign record sets each) and 5
email services. The config names each domain's zone and zone resource group. `acs-dns plan --config ...
--output text` runs as a child process (from `--checkout`, default this one) with stderr on a pipe, i.e.
not a terminal: the plain progress lines. Printed per N: wall seconds, ARM requests (sandbox counters),
stderr lines, the longest silence on stderr, and the exit code. No assertion: figures only.
"""

from __future__ import annotations

import argparse
import itertools
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from acs_sandbox import Sandbox, SandboxOptions
from bench.many_domains import DNS_RG, SUBSCRIPTION, seed

REPO = Path(__file__).resolve().parent.parent
SERVICES = 5


def write_config(directory: Path, entries: list[dict[str, str]]) -> Path:
    lines = [
        "[defaults]",
        f'subscription = "{SUBSCRIPTION}"',
        'resource_group = "rg-email"',
        f'zone_resource_group = "{DNS_RG}"',
        "",
    ]
    for e in entries:
        zone = e["name"].split(".", 1)[1]
        lines += ["[[domain]]", f'name = "{e["name"]}"', f'email_service = "{e["email_service"]}"']
        lines += [f'zone = "{zone}"', ""]
    path = directory / "domains.toml"
    path.write_text("\n".join(lines))
    return path


def measure(n: int, checkout: Path, timeout: float) -> dict[str, float | int | str]:
    with Sandbox(SandboxOptions()) as sb, tempfile.TemporaryDirectory() as tmp:
        config = write_config(Path(tmp), seed(sb, n, SERVICES))
        sb.app.log.reset()
        env = {
            k: v for k, v in os.environ.items() if k not in ("ACS_DNS_ARM_ENDPOINT", "AZURE_SUBSCRIPTION_ID")
        }
        env |= {"REQUESTS_CA_BUNDLE": sb.ca_bundle, "PYTHONPATH": str(checkout)}
        argv = [sys.executable, "-m", "provisioner", "plan", "--config", str(config), "--auth", "sandbox"]
        argv += ["--arm-endpoint", sb.arm_endpoint, "--dns-server", sb.dns_server, "--output", "text"]
        started = time.monotonic()
        proc = subprocess.Popen(
            argv, cwd=checkout, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        stamps: list[float] = [started]

        def read() -> None:
            assert proc.stderr is not None
            for _ in proc.stderr:
                stamps.append(time.monotonic())

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        try:
            code: int | str = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            code = f"killed after {timeout:.0f}s"
        ended = time.monotonic()
        reader.join(timeout=5)
        stamps.append(ended)
        requests = sb.app.log.snapshot()["total"]
    silence = max(b - a for a, b in itertools.pairwise(stamps))
    return {
        "n": n,
        "seconds": round(ended - started, 1),
        "requests": requests,
        "stderr_lines": len(stamps) - 2,
        "longest_silence": round(silence, 1),
        "exit": code,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000", help="comma-separated domain counts")
    parser.add_argument("--checkout", type=Path, default=REPO, help="run acs-dns from this checkout")
    parser.add_argument("--timeout", type=float, default=1200, help="seconds before a run is killed")
    args = parser.parse_args()
    print(f"acs-dns from {args.checkout}")
    print("| N | wall s | ARM requests | stderr lines | longest stderr silence s | exit |")
    print("|---|---|---|---|---|---|")
    for n in (int(s) for s in args.sizes.split(",")):
        r = measure(n, args.checkout.resolve(), args.timeout)
        row = (r["n"], r["seconds"], r["requests"], r["stderr_lines"], r["longest_silence"], r["exit"])
        print("| " + " | ".join(str(x) for x in row) + " |", flush=True)


if __name__ == "__main__":
    main()
