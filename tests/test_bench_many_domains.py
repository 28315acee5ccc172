"""The many-domains benchmark measures every size it is asked for, whatever came before it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import many_domains


@pytest.mark.usefixtures("unmeasured_children")
def test_a_size_after_an_extrapolated_baseline_is_measured_on_a_working_sandbox(tmp_path: Path) -> None:
    """At N=100 after N=10 the benchmark once gave its sandbox a write bucket of None (a local variable
    reused for the extrapolated baseline's writes): every write was dropped and N=100 read as failed."""
    out = tmp_path / "results"
    code = many_domains.main(
        [
            "--sizes",
            "1,2",
            "--verify-delay",
            "0.3",
            "--latency-ms",
            "0",
            "--baseline-cap-seconds",
            "0",  # never run the baseline: every (b) row is extrapolated, before the next size runs
            "--skip-c",
            "--allow-dirty",
            "--acs-dns-args",
            "--poll-interval 0.1",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    runs = {(r["n"], r["variant"]): r for r in json.loads((out / "raw.json").read_text())["runs"]}
    for n in (1, 2):
        assert runs[(n, "a")]["failed"] == 0, runs[(n, "a")]
        assert runs[(n, "a")]["writes"] == 3 * n  # the TXT set and two CNAMEs per domain
        assert runs[(n, "b")]["extrapolated"] is True
    assert "| 2 | (a) acs-dns | measured |" in (out / "results.md").read_text()
