"""Which code a benchmark measured: the commit, and a refusal to measure uncommitted code.

A figure is only worth quoting if it can be reproduced, so every benchmark calls `require_clean_tree`
first. It refuses (exit 2, with the fix) when the working tree has changes outside `bench/results/`
(the benchmarks' own output), unless `--allow-dirty` was given; then the results say "uncommitted
changes" next to the commit, so a development figure is never mistaken for a release one.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OUTPUTS = "bench/results/"  # written by the benchmarks themselves: not a change to the code measured


@dataclass(frozen=True)
class SourceState:
    commit: str  # full hash, "" when git cannot tell
    changes: tuple[str, ...]  # `git status --porcelain` lines, outputs excluded

    @property
    def dirty(self) -> bool:
        return bool(self.changes) or not self.commit

    @property
    def label(self) -> str:
        """How results name the code: "commit 1a2b3c4d5e" or "commit 1a2b3c4d5e + uncommitted changes (...)"."""
        if not self.commit:
            return "unknown commit (not a git checkout)"
        if not self.changes:
            return f"commit {self.commit[:10]}"
        files = ", ".join(line[3:] for line in self.changes[:5]) + (" ..." if len(self.changes) > 5 else "")
        return f"commit {self.commit[:10]} + uncommitted changes ({files}): a development run, --allow-dirty"

    def as_dict(self) -> dict[str, object]:
        return {"commit": self.commit, "dirty": list(self.changes), "label": self.label}


def _git(repo: Path, *args: str) -> tuple[int, str]:
    try:
        done = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=False)
    except OSError:
        return 1, ""
    return done.returncode, done.stdout


def source_state(repo: Path = REPO) -> SourceState:
    code, head = _git(repo, "rev-parse", "HEAD")
    if code != 0:
        return SourceState("", ())
    _, status = _git(repo, "status", "--porcelain", "--untracked-files=normal")
    changes = tuple(line for line in status.splitlines() if line and not line[3:].startswith(OUTPUTS))
    return SourceState(head.strip(), changes)


def add_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--allow-dirty",
        action="store_true",
        help="measure uncommitted code (development only: results are marked as such)",
    )


def require_clean_tree(allow_dirty: bool, repo: Path = REPO) -> SourceState:
    """The tree's state; exit 2 with the fix when it has uncommitted changes and `allow_dirty` is off."""
    state = source_state(repo)
    if state.dirty and not allow_dirty:
        listed = "\n".join(f"  {line}" for line in state.changes[:20]) or "  (git cannot name the commit)"
        print(
            "error: the working tree has uncommitted changes, so these figures could not be tied to a commit:\n"
            f"{listed}\n  fix: commit (or stash) them and run again; for a development run pass --allow-dirty "
            "(results are then marked as measured on uncommitted code)",
            file=sys.stderr,
        )
        raise SystemExit(2)
    print(f"measuring {state.label}", file=sys.stderr)
    return state
