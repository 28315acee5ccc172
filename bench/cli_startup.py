"""How fast `acs-dns --help` answers (the Azure SDK is imported lazily). Prints the median of N runs.

.venv/bin/python -m bench.cli_startup [--runs 10] [--allow-dirty]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

from bench import provenance


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10)
    provenance.add_argument(parser)
    args = parser.parse_args()
    source = provenance.require_clean_tree(args.allow_dirty)
    times = []
    for _ in range(args.runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "provisioner", "--help"], check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    print(
        f"acs-dns --help: median {statistics.median(times):.3f} s, "
        f"max {max(times):.3f} s over {args.runs} runs (goal < 0.4 s), measured on {source.label}"
    )


if __name__ == "__main__":
    main()
