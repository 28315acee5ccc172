"""Progress on stderr: the steps' lines classified into events, the tracker's heartbeat and live table, and,
end to end against the sandbox, a heartbeat while verification takes its time."""

from __future__ import annotations

import io
import itertools
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console

from acs_sandbox import Sandbox, SandboxOptions
from provisioner.config import DomainTarget
from provisioner.errors import ExitCode
from provisioner.progress import DNS, PLAN, VERIFY, WRITE, Tracker, event_of, live_table, make_progress
from provisioner.report import DomainReport, Result
from tests.e2e_helpers import World, assert_clean_exit, document, invoke, seed_standard

ROOT = Path(__file__).resolve().parents[1]


def target(domain: str) -> DomainTarget:
    return DomainTarget("00000000-0000-0000-0000-000000000001", "rg-email", "contoso-email", domain)


A, B, C = target("a.contoso.example"), target("b.contoso.example"), target("c.contoso.example")


@pytest.mark.parametrize(
    ("line", "step", "states"),
    [
        ("zone contoso.example (resource group rg-dns)", PLAN, {}),
        ("create CNAME selector1-azurecomm-prod-net._domainkey.a", PLAN, {}),
        ("wrote  TXT   a", WRITE, {}),
        ("waiting for the zone's name servers to serve the records", DNS, {}),
        ("started DKIM2 verification", VERIFY, {"DKIM2": "VerificationRequested"}),
        ("SPF: VerificationFailed (SpfRecordNotFound)", VERIFY, {"SPF": "VerificationFailed"}),
        ("something new", None, {}),
    ],
)
def test_a_steps_line_becomes_an_event(line: str, step: str | None, states: dict[str, str]) -> None:
    event = event_of(A, line)
    assert (event.step, dict(event.states), event.changed) == (step, states, True)


def test_a_scheduled_poll_is_bookkeeping_not_a_line() -> None:
    event = event_of(A, "next poll in 7.5s")
    assert (event.next_poll, event.changed) == (7.5, False)


def domain_report(t: DomainTarget, result: Result, code: ExitCode) -> DomainReport:
    return DomainReport(t, result=result, exit_code=code)


def busy_tracker() -> Tracker:
    """At t=100: a verifying (began at 0), b waiting for DNS (began at 10), c refused at 20."""
    tracker = Tracker(started=0.0)
    tracker.begin(A, 0.0)
    tracker.begin(B, 10.0)
    tracker.begin(C, 12.0)
    for line in ("started Domain verification", "started SPF verification", "Domain: Verified"):
        tracker.update(event_of(A, line), 30.0)
    tracker.update(event_of(A, "next poll in 12s"), 95.0)
    tracker.update(event_of(B, "waiting for the zone's name servers to serve the records"), 40.0)
    tracker.finish(domain_report(C, Result.REFUSED, ExitCode.REFUSED))
    return tracker


def test_the_heartbeat_says_what_each_domain_waits_for_and_how_long() -> None:
    line = busy_tracker().heartbeat(100.0)
    assert line == (
        "waiting (1m40s so far): "
        "a.contoso.example: verification of SPF (VerificationRequested) for 1m10s, next poll in 7s; "
        "b.contoso.example: the zone's name servers to serve the records for 1m00s"
    )


def test_finished_domains_collapse_into_counts_naming_the_failed() -> None:
    tracker = busy_tracker()
    tracker.finish(domain_report(A, Result.VERIFIED, ExitCode.OK))
    assert tracker.counts() == "2 done (1 refused, 1 verified); failed: c.contoso.example; 1 in flight"


def test_the_live_table_has_a_row_per_domain_in_flight() -> None:
    console = Console(record=True, width=140, color_system=None, file=io.StringIO())
    console.print(live_table(busy_tracker(), 100.0))
    text = console.export_text()
    rows = {line.split()[0]: line for line in text.splitlines() if line.startswith(("a.", "b.", "c."))}
    assert sorted(rows) == ["a.contoso.example", "b.contoso.example"]  # c finished: only counted
    assert "verify" in rows["a.contoso.example"]
    assert "Domain Verified · SPF VerificationRequested" in rows["a.contoso.example"]
    assert rows["a.contoso.example"].split()[-2:] == ["1m40s", "7s"]  # elapsed, next poll
    assert rows["b.contoso.example"].split()[1] == "dns"
    assert rows["b.contoso.example"].split()[-2:] == ["1m30s", "-"]
    assert "1 done (1 refused); failed: c.contoso.example; 2 in flight" in text
    for column in ("domain", "step", "verification", "elapsed", "next poll"):
        assert column in text.splitlines()[0]


# ---- end to end ---------------------------------------------------------------------------------------------
@pytest.fixture
def slow_verification() -> Iterator[World]:
    with Sandbox(SandboxOptions(verify_delay=3.5)) as sb, World(sb) as world:
        yield world


def test_a_long_verification_never_leaves_stderr_silent_longer_than_the_interval(
    slow_verification: World,
) -> None:
    """A real process with stderr a pipe (as in CI), verification taking 3.5 s and polled often, but changing
    state rarely: between the first line and the last there is never a gap longer than --progress-interval
    (1 s) plus a margin, and the heartbeat says what is waited for."""
    w = slow_verification
    s = seed_standard(w)
    args = [*w.args(s.domain, json_output=False), "--progress-interval", "1"]
    env = {
        "ACS_DNS_ARM_ENDPOINT": w.sb.arm_endpoint,
        "REQUESTS_CA_BUNDLE": w.sb.ca_bundle,
        "PYTHONPATH": str(ROOT),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "provisioner", *args],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[tuple[float, str]] = []

    def read() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.append((time.monotonic(), line.rstrip("\n")))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    assert proc.stdout is not None
    try:
        out = proc.stdout.read()  # not communicate(): it would read stderr too, racing the reader
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    reader.join(timeout=5)
    stderr = "\n".join(line for _, line in lines)
    assert proc.returncode == 0, f"{out}\n{stderr}"
    gaps = [later - earlier for (earlier, _), (later, _) in itertools.pairwise(lines)]
    heartbeats = [line for _, line in lines if line.startswith("waiting (")]
    print(f"\nheartbeat: {len(heartbeats)} lines, longest gap between stderr lines {max(gaps):.2f}s")
    timeline = "\n".join(f"{t - lines[0][0]:6.2f} {line}" for t, line in lines)
    assert max(gaps) <= 1.0 + 1.0, f"longest gap {max(gaps):.2f}s\n{timeline}"
    assert lines[-1][0] - lines[0][0] >= 3  # it did wait for verification
    assert len(heartbeats) >= 2, stderr
    assert all(f"{s.domain}: verification of " in h for h in heartbeats[-2:]), heartbeats
    assert "result: verified (exit 0)" in out


def test_json_output_keeps_stderr_empty_unless_progress_is_asked_for(sandbox: Sandbox) -> None:
    with World(sandbox) as w:
        s = seed_standard(w)
        quiet = invoke(sandbox, w.args(s.domain))
        assert_clean_exit(quiet, 0)
        assert quiet.stderr == ""
        other = seed_standard(w)
        loud = invoke(sandbox, [*w.args(other.domain), "--progress"])
        assert_clean_exit(loud, 0)
        assert f"{other.domain}: started Domain verification" in loud.stderr
        assert document(loud)["domains"][0]["result"] == "verified"
        silent = invoke(sandbox, [*w.args(seed_standard(w).domain, json_output=False), "--no-progress"])
        assert_clean_exit(silent, 0)
        assert silent.stderr == ""


def test_with_nothing_in_flight_the_live_table_is_just_the_counts() -> None:
    tracker = busy_tracker()
    tracker.finish(domain_report(A, Result.VERIFIED, ExitCode.OK))
    tracker.finish(domain_report(B, Result.TIMED_OUT, ExitCode.TIMED_OUT))
    console = Console(record=True, width=140, color_system=None, file=io.StringIO())
    console.print(live_table(tracker, 100.0))
    lines = [line.rstrip() for line in console.export_text().splitlines() if line.strip()]
    assert lines == [
        "3 done (1 refused, 1 timed-out, 1 verified); failed: c.contoso.example, b.contoso.example; 0 in flight"
    ]


class _Terminal(io.StringIO):
    """A stream that is a terminal, as stderr is when a person runs acs-dns."""

    def isatty(self) -> bool:
        return True


ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def test_a_terminal_gets_every_line_once_in_order_without_a_redraw_per_line() -> None:
    """On a terminal the lines go above the live table, which rich redraws after every print. 50 domains of
    four lines each must not redraw it 200 times (each redraw is the whole table, written to the terminal
    again); the lines still appear while the run goes on, not only at its end."""
    terminal = _Terminal()
    targets = [target(f"d{i:02}.contoso.example") for i in range(50)]
    lines = ["zone contoso.example (resource group rg-dns)", "wrote  TXT   {}", "started Domain verification"]
    lines.append("Domain: Verified")
    with make_progress(quiet=False, domains=len(targets), stream=terminal) as progress:
        for t in targets:
            with progress.lock:
                progress.began(t)
            for line in lines:
                progress(t, line.format(t.domain.split(".")[0]))
        shown = time.monotonic() + 2
        while "d49.contoso.example Domain: Verified" not in ANSI.sub("", terminal.getvalue()):
            assert time.monotonic() < shown, "the lines were not shown while the run went on"
            time.sleep(0.01)
    text = ANSI.sub("", terminal.getvalue())  # lines, the table's redraws, and where the cursor went between
    expected = [f"{t.domain} {line.format(t.domain.split('.')[0])}" for t in targets for line in lines]
    at = 0
    for line in expected:  # each once, in order (what separates them depends on when the table was redrawn)
        assert text.count(line) == 1, (line, text)
        assert text.find(line, at) >= at, (line, text)
        at = text.find(line, at) + len(line)
    redraws = text.count("in flight")
    assert 1 <= redraws <= 20, redraws
