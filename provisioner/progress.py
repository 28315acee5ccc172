"""Progress on stderr while domains run; stdout is left to the result (text, markdown or the JSON document).

- On a terminal: the step lines, coloured, above a live table with one row per domain in flight (step,
  verification state per type, elapsed, next poll); finished domains collapse into counts.
- Not a terminal: one plain line per state change (`domain: line`), and while anything is in flight a
  heartbeat line at least every `interval` seconds saying what is waited for and for how long.

The steps report through the plain `(target, line)` callable of `session.Progress`; `event_of` turns a line
into a `ProgressEvent` (the step it belongs to, verification states, the next poll), and a `Tracker` keeps
what every domain in flight is doing. A caller may also pass a `ProgressEvent` instead of a line.
"""

from __future__ import annotations

import re
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TextIO

from provisioner.config import DomainTarget

if TYPE_CHECKING:
    from rich.table import Table

    from provisioner.reconcile import DomainCommand
    from provisioner.report import DomainReport

HEARTBEAT_SECONDS = 15.0

# steps, in the order a domain goes through them
READ, PLAN, WRITE, DNS, VERIFY = "read", "plan", "write", "dns", "verify"
_WAITING_FOR = {
    READ: "reading the email domain",
    PLAN: "reading the zone and planning",
    WRITE: "writing record sets",
    DNS: "the zone's name servers to serve the records",
    VERIFY: "verification",
}
_STATE = re.compile(r"^(Domain|SPF|DKIM|DKIM2|DMARC): (\w+)")
_STARTED = re.compile(r"^started (\w+) verification$")
_NEXT_POLL = re.compile(r"^next poll in ([0-9.]+)s$")
_PLAN_WORDS = ("create ", "update ", "delete ", "noop ", "zone ")


@dataclass(frozen=True)
class ProgressEvent:
    """One thing a domain reported: the step it is in (None: unchanged), the verification states it
    changed, when the next verification poll is (seconds from now), and whether it is a state change worth
    a line (False: bookkeeping only, such as a poll being scheduled)."""

    target: DomainTarget
    line: str
    step: str | None = None
    states: Mapping[str, str] = field(default_factory=dict)
    next_poll: float | None = None
    changed: bool = True


def event_of(target: DomainTarget, line: str) -> ProgressEvent:
    """Classify a step's progress line."""
    if m := _NEXT_POLL.match(line):
        return ProgressEvent(target, line, VERIFY, next_poll=float(m.group(1)), changed=False)
    if m := _STARTED.match(line):
        return ProgressEvent(target, line, VERIFY, {m.group(1): "VerificationRequested"})
    if m := _STATE.match(line):
        return ProgressEvent(target, line, VERIFY, {m.group(1): m.group(2)})
    if line.startswith("creating email domain"):
        return ProgressEvent(target, line, READ)
    if line.startswith(_PLAN_WORDS):
        return ProgressEvent(target, line, PLAN)
    if line.startswith(("wrote", "deleted", "a record set changed")):
        return ProgressEvent(target, line, WRITE)
    if line.startswith("waiting for the zone's name servers"):
        return ProgressEvent(target, line, DNS)
    if line.startswith("records served"):
        return ProgressEvent(target, line, VERIFY)
    return ProgressEvent(target, line)


@dataclass
class DomainProgress:
    """One domain in flight."""

    began: float
    step: str = READ
    step_since: float = 0.0
    states: dict[str, str] = field(default_factory=dict)
    next_poll_at: float | None = None


_TERMINAL = {"verified", "verificationfailed"}


class Tracker:
    """What every domain in flight is doing and how the finished ones ended. Bookkeeping only: the caller
    passes the time and holds the lock."""

    def __init__(self, started: float) -> None:
        self.started = started
        self.active: dict[DomainTarget, DomainProgress] = {}
        self.results: Counter[str] = Counter()
        self.failed: list[str] = []

    def begin(self, target: DomainTarget, now: float) -> None:
        self.active[target] = DomainProgress(began=now, step_since=now)

    def update(self, event: ProgressEvent, now: float) -> None:
        domain = self.active.get(event.target)
        if domain is None:  # a line from a domain not begun through `track`: follow it anyway
            domain = self.active[event.target] = DomainProgress(began=now, step_since=now)
        if event.step is not None and event.step != domain.step:
            domain.step, domain.step_since = event.step, now
        domain.states.update(event.states)
        if event.next_poll is not None:
            domain.next_poll_at = now + event.next_poll
        elif event.states:
            domain.next_poll_at = None

    def finish(self, report: DomainReport) -> None:
        from provisioner.render import failed

        self.active.pop(report.target, None)
        self.results[str(report.result)] += 1
        if failed(report):
            self.failed.append(report.target.domain)

    def waiting_for(self, target: DomainTarget, now: float) -> str:
        """What one domain in flight waits for, in words."""
        domain = self.active[target]
        what = _WAITING_FOR[domain.step]
        if domain.step == VERIFY:
            by_status: dict[str, list[str]] = {}
            for kind, status in domain.states.items():
                if status.lower() not in _TERMINAL:
                    by_status.setdefault(status, []).append(kind)
            pending = [f"{', '.join(kinds)} ({status})" for status, kinds in by_status.items()]
            what = f"verification of {', '.join(pending)}" if pending else "verification to start"
        text = f"{target.domain}: {what} for {_duration(now - domain.step_since)}"
        if domain.next_poll_at is not None and domain.step == VERIFY:
            text += f", next poll in {_duration(max(0.0, domain.next_poll_at - now))}"
        return text

    def heartbeat(self, now: float, most: int = 5) -> str:
        """The heartbeat line: how long the run has gone, and what the domains in flight wait for."""
        targets = sorted(self.active, key=lambda t: self.active[t].began)
        parts = [self.waiting_for(t, now) for t in targets[:most]]
        more = f"; and {len(targets) - most} more domain(s)" if len(targets) > most else ""
        return f"waiting ({_duration(now - self.started)} so far): " + "; ".join(parts) + more

    def counts(self) -> str:
        done = ", ".join(f"{n} {result}" for result, n in sorted(self.results.items()))
        text = f"{sum(self.results.values())} done" + (f" ({done})" if done else "")
        if self.failed:
            text += f"; failed: {', '.join(self.failed)}"
        return f"{text}; {len(self.active)} in flight"


def _duration(seconds: float) -> str:
    whole = round(seconds)
    if whole < 60:
        return f"{whole}s"
    minutes, rest = divmod(whole, 60)
    return f"{minutes}m{rest:02d}s"


_STATUS_STYLE = {"verified": "green", "verificationfailed": "red", "notstarted": "dim"}


def live_table(tracker: Tracker, now: float, most: int = 20) -> Table:
    """The terminal's live table: one row per domain in flight, finished domains as counts."""
    from rich.table import Table
    from rich.text import Text

    targets = sorted(tracker.active, key=lambda t: tracker.active[t].began)
    table = Table(box=None, pad_edge=False, show_edge=False, header_style="bold", caption_justify="left")
    table.show_header = bool(targets)
    for column in ("domain", "step", "verification", "elapsed", "next poll"):
        table.add_column(column, no_wrap=column != "verification")
    for target in targets[:most]:
        domain = tracker.active[target]
        states = Text()
        for kind, status in domain.states.items():
            if states:
                states.append(" · ")
            states.append(f"{kind} {status}", style=_STATUS_STYLE.get(status.lower(), "yellow"))
        poll = "-" if domain.next_poll_at is None else _duration(max(0.0, domain.next_poll_at - now))
        table.add_row(target.domain, domain.step, states, _duration(now - domain.began), poll)
    if len(targets) > most:
        table.add_row(f"... {len(targets) - most} more in flight", "", "", "", "")
    table.caption = tracker.counts()
    return table


_STYLE = {"create": "green", "update": "yellow", "wrote": "green", "delete": "red", "deleted": "red"}
_STYLE |= {"started": "cyan", "noop": "dim"}


def _line_style(line: str) -> str:
    style = _STYLE.get(line.split(" ", 1)[0], "")
    if "Verified" in line:
        style = "bold green"
    elif "Failed" in line or line.startswith(("refused", "error", "timed-out", "verification-failed")):
        style = "bold red"
    return style


class Reporter:
    """The progress callable handed to the run (`(target, line | ProgressEvent)`), and `track`, which wraps
    a per-domain command so the tracker knows when a domain begins and ends."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.lock = threading.Lock()
        self.tracker = Tracker(clock())

    def __call__(self, target: DomainTarget, line: str | ProgressEvent) -> None:
        event = line if isinstance(line, ProgressEvent) else event_of(target, line)
        with self.lock:
            self.tracker.update(event, self.clock())
        if event.changed:
            self.show(event)  # outside the lock: rich's refresh thread takes its own lock, then ours

    def show(self, event: ProgressEvent) -> None:
        """Print one state change."""

    def track(self, command: DomainCommand) -> DomainCommand:
        def tracked(session: Any, target: DomainTarget, options: Any, deadline: float) -> Any:
            from provisioner.verifying import Awaiting

            with self.lock:
                self.began(target)
            result = command(session, target, options, deadline)

            def finish(report: DomainReport) -> None:
                with self.lock:
                    self.tracker.finish(report)

            if isinstance(result, Awaiting):  # the domain ends after the wait (and what follows it)
                result.when_done(finish)
            else:
                finish(result)
            return result

        return tracked

    def began(self, target: DomainTarget) -> None:
        self.tracker.begin(target, self.clock())


class Silent(Reporter):
    def __call__(self, target: DomainTarget, line: str | ProgressEvent) -> None:
        pass


class PlainReporter(Reporter):
    """Plain lines, and a heartbeat while anything is in flight and nothing was printed for `interval`."""

    def __init__(
        self, stream: TextIO, interval: float = HEARTBEAT_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__(clock)
        self.stream = stream
        self.interval = interval
        self.last_line = clock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="acs-dns-heartbeat", daemon=True)

    def show(self, event: ProgressEvent) -> None:
        with self.lock:
            self._print(f"{event.target.domain}: {event.line}")

    def _print(self, text: str) -> None:
        print(text, file=self.stream, flush=True)
        self.last_line = self.clock()

    def began(self, target: DomainTarget) -> None:
        if not self.tracker.active:
            self.last_line = self.clock()  # the interval counts from when something is in flight
        super().began(target)

    def _beat(self) -> None:
        while True:
            with self.lock:
                due = self.last_line + self.interval
            if self._stop.wait(max(0.01, due - self.clock())):
                return
            with self.lock:
                now = self.clock()
                if not self.tracker.active:
                    self.last_line = now
                elif now >= self.last_line + self.interval - 0.005:
                    self._print(self.tracker.heartbeat(now))

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


class LiveReporter(Reporter):
    """A terminal: coloured lines above a live table (rich). Lines are printed in batches, at most every
    `FLUSH_SECONDS`: rich redraws the whole live table after each print, so a line at a time would redraw
    it once per line (for a run of many domains, most of its CPU)."""

    FLUSH_SECONDS = 0.1

    def __init__(self, console: Any, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(clock)
        self.console = console
        self.pending: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._flush_often, name="acs-dns-progress", daemon=True)

    def show(self, event: ProgressEvent) -> None:
        from rich.markup import escape

        style = _line_style(event.line)
        text = f"[bold]{escape(event.target.domain)}[/bold] {escape(event.line)}"
        with self.lock:
            self.pending.append(f"[{style}]{text}[/{style}]" if style else text)

    def flush(self) -> None:
        """Print the lines shown since the last flush, in one print (outside the lock: rich's refresh
        thread takes its own lock, then ours)."""
        with self.lock:
            lines, self.pending = self.pending, []
        if lines:
            self.console.print("\n".join(lines))

    def _flush_often(self) -> None:
        while not self._stop.wait(self.FLUSH_SECONDS):
            self.flush()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.flush()

    def renderable(self) -> Table:
        with self.lock:
            return live_table(self.tracker, self.clock())


@contextmanager
def make_progress(
    quiet: bool,
    domains: int,
    *,
    interval: float = HEARTBEAT_SECONDS,
    show: bool | None = None,
    stream: TextIO | None = None,
) -> Iterator[Reporter]:
    """The run's progress: `show` True/False forces it on or off; None shows it unless `quiet` (JSON
    output) and stderr is not a terminal. Live on a terminal, plain lines (with heartbeat) otherwise."""
    stream = stream if stream is not None else sys.stderr
    terminal = stream.isatty()
    if not (show if show is not None else not quiet or terminal):
        yield Silent()
        return
    if not terminal:
        plain = PlainReporter(stream, interval)
        plain.start()
        try:
            yield plain
        finally:
            plain.stop()
        return

    from rich.console import Console
    from rich.live import Live

    live = LiveReporter(Console(file=stream))
    with Live(
        console=live.console,
        get_renderable=live.renderable,
        refresh_per_second=4,
        transient=False,
        redirect_stdout=False,
    ):
        live.start()
        try:
            yield live
        finally:
            live.stop()  # the last lines, above the table's final state
