"""How long validating a large configuration takes (`load_targets`: read, parse, validate, place lines).

    .venv/bin/python -m bench.config_validation [--sizes 1000,10000] [--repeat 3] [--allow-dirty]

For each N it writes a TOML file with N [[domain]] entries and times `load_targets` on it, twice:
"valid" (every entry loads) and "all bad" (every entry has an unknown key and a bad name, so N×2
problems are gathered, placed on their lines and reported). Prints the median of --repeat runs and
CPU microseconds per entry: linear validation keeps µs/entry flat as N grows. CPU time is reported
beside wall time because it is steadier on a busy machine.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from bench import provenance
from provisioner.config import load_targets
from provisioner.errors import UsageError

SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"


def config_text(n: int, *, bad: bool) -> str:
    lines = [
        "[defaults]",
        f'subscription = "{SUBSCRIPTION}"',
        'resource_group = "rg-email"',
        'email_service = "contoso-email"',
        "",
    ]
    for i in range(n):
        zone = f"z{i % 50}.contoso.com"
        name = f"-d{i}.{zone}" if bad else f"d{i}.{zone}"
        lines += ["[[domain]]", f'name = "{name}"', f'zone = "{zone}"']
        lines += ["colour = 1", ""] if bad else [""]
    return "\n".join(lines)


def time_load(path: Path, repeat: int) -> tuple[float, float, int]:
    """(median wall seconds, median CPU seconds, targets loaded or problems reported)."""
    walls, cpus, count = [], [], 0
    for _ in range(repeat):
        started, cpu = time.perf_counter(), time.process_time()
        try:
            count = len(load_targets(path))
        except UsageError as error:
            count = len(error.message.splitlines()) - 1
        walls.append(time.perf_counter() - started)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus), count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000", help="comma-separated entry counts")
    parser.add_argument("--repeat", type=int, default=3, help="runs per case; the median is reported")
    provenance.add_argument(parser)
    args = parser.parse_args(argv)
    state = provenance.require_clean_tree(args.allow_dirty)
    print(f"load_targets on {state.label}, median of {args.repeat} (measured)")
    print("| entries | case | wall s | CPU s | CPU µs/entry | result |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="acs-dns-bench-config-") as tmp:
        for n in sorted(int(s) for s in args.sizes.split(",") if s.strip()):
            for bad in (False, True):
                path = Path(tmp) / f"{n}-{bad}.toml"
                path.write_text(config_text(n, bad=bad), encoding="utf-8")
                wall, cpu, count = time_load(path, args.repeat)
                result = f"{count} problems reported" if bad else f"{count} targets"
                case = "all bad" if bad else "valid"
                print(
                    f"| {n} | {case} | {wall:.3f} | {cpu:.3f} | {cpu / n * 1e6:.0f} | {result} |", flush=True
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
