"""Summarise `mutmut results --all true` (stdin) per module: killed/total and the surviving mutants.

.venv/bin/mutmut results --all true | .venv/bin/python scripts/mutation_summary.py names spf
"""

from __future__ import annotations

import collections
import sys

UNKILLED = ("survived", "no tests", "timeout", "suspicious", "segfault")


def main(modules: list[str]) -> None:
    by: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    unkilled = []
    for line in sys.stdin:
        name, _, status = line.strip().rpartition(": ")
        if not name.startswith("provisioner."):
            continue
        module = name.split(".")[1]
        by[module][status] += 1
        if status in UNKILLED and module in modules:
            unkilled.append(f"{name}: {status}")
    print(
        "| module | killed | survived | no tests | timeout | not checked | total | score (killed/checked) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for module in modules:
        c = by.get(module, collections.Counter())
        total = sum(c.values())
        checked = total - c["not checked"] - c["skipped"]
        score = f"{c['killed']}/{checked} = {100 * c['killed'] / checked:.1f}%" if checked else "-"
        print(
            f"| {module} | {c['killed']} | {c['survived']} | {c['no tests']} | {c['timeout']} "
            f"| {c['not checked']} | {total} | {score} |"
        )
    print()
    print("\n".join(unkilled) or "no surviving mutants")


if __name__ == "__main__":
    main(sys.argv[1:])
