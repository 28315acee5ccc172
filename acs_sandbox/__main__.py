"""`python -m acs_sandbox [--port 0] [--dns-port 0] ... [--seed FILE] [--resolver-cache]`: the sandbox
without the product installed. The same flags and ready line as `acs-dns sandbox serve`."""

from __future__ import annotations

import argparse

from acs_sandbox import SandboxOptions
from acs_sandbox.serve import serve


def parse(argv: list[str] | None = None) -> SandboxOptions:
    p = argparse.ArgumentParser(prog="python -m acs_sandbox", description=__doc__)
    p.add_argument("--port", type=int, default=0, help="ARM HTTPS port (0 = any free port)")
    p.add_argument("--dns-port", type=int, default=0, help="DNS port, UDP and TCP (0 = any free port)")
    p.add_argument("--latency-ms", type=float, default=0.0, help="added latency per ARM request")
    p.add_argument("--fault-rate", type=float, default=0.0, help="share of ARM requests given a random fault")
    p.add_argument("--throttle", action="store_true", help="enforce ARM's token buckets (429)")
    p.add_argument("--verify-delay", type=float, default=0.0, help="seconds a verification takes to decide")
    p.add_argument(
        "--propagation-delay", type=float, default=0.0, help="seconds before DNS changes are served"
    )
    p.add_argument("--seed", dest="seed_file", metavar="FILE", help="a TOML world to start with")
    p.add_argument("--resolver-cache", action="store_true", help="cache resolver answers for their TTL")
    args = p.parse_args(argv)
    return SandboxOptions(**vars(args))


if __name__ == "__main__":
    serve(parse())
