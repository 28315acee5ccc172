"""Runs many domains: builds the session from settings, runs one per-domain command for each target on
`parallel` workers, hands domains that only wait for verification to the run's pollers (so waiting holds
no worker), collects the reports, and stops cleanly on Ctrl-C or SIGTERM.

Stopping: the first SIGINT (Ctrl-C) or SIGTERM stops the run; running domains end at their next step or
wait (between two writes at the latest) and report what they wrote. The run waits for them at most
`GRACE_SECONDS[signal]`; a second signal, or the grace running out, ends it at once: every domain is then
reported as it stands (what it wrote, and a write still unanswered, which may or may not have landed).
Exit code 130 after SIGINT, 143 after SIGTERM.
"""

from __future__ import annotations

import itertools
import queue
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import replace

from provisioner.azure.clients import AzureSettings, Clients
from provisioner.azure.communication import AzureCommunication
from provisioner.azure.dns import AzureDns
from provisioner.config import DomainTarget
from provisioner.dnscheck import DnsChecker, DnsServerAddress, resolver_error
from provisioner.errors import AcsDnsError, ExitCode, InterruptedRunError, TerminatedRunError, TimedOutError
from provisioner.options import DEFAULT_DNS_TIMEOUT, DEFAULT_PARALLEL, RunOptions
from provisioner.reconcile import DomainCommand, provision_domain
from provisioner.report import DomainReport, Outcome, Result, worst
from provisioner.session import Progress, Session
from provisioner.verifying import Awaiting

GRACE_SECONDS = {signal.SIGINT: 5.0, signal.SIGTERM: 2.0}
"""How long running domains get to stop at their next step after the first signal. SIGTERM's is short:
CI runners follow it with SIGKILL within seconds (GitHub Actions 2.5 s after SIGTERM, Docker 10 s)."""
PROGRESS_EVERY_DOMAINS = 100  # a run of many domains says how far it is every this many domains ...
PROGRESS_EVERY_SECONDS = 15.0  # ... and at least this often while domains are unfinished
DEADLINE_GRACE = 1.5  # past the run's deadline, domains still running are reported as they stand
TICK = 0.1  # how often the main thread looks at signals and progress while the workers run


def run(
    targets: Sequence[DomainTarget],
    settings: AzureSettings,
    options: RunOptions,
    *,
    dns_servers: Sequence[DnsServerAddress] = (),
    dns_timeout: float = DEFAULT_DNS_TIMEOUT,
    parallel: int = DEFAULT_PARALLEL,
    progress: Progress | None = None,
    command: DomainCommand = provision_domain,
) -> tuple[list[DomainReport], ExitCode]:
    """Run `command` (default: provision, or plan with `options.dry_run`) for every target; each DNS
    query may take `dns_timeout` seconds."""
    deadline = time.monotonic() + options.timeout  # the whole run, the resolver probe included
    with _Signals().installed() as signals:  # a signal before the domains start stops them all
        checker = DnsChecker(dns_servers, timeout=dns_timeout)
        if not options.dry_run and options.probe_resolver:
            # a resolver that does not answer is known before anything is written (nothing sent: exit 2)
            problem = resolver_error(checker.probe())
            if problem is not None:
                raise problem
        # every ARM request attempt, retry and pacer wait ends by the run's deadline
        clients = Clients(replace(settings, retry_timeout=options.timeout, deadline=deadline))
        session = Session(
            dns=lambda sub: AzureDns(clients.dns(sub), sub),
            communication=lambda sub: AzureCommunication(clients.communication(sub), sub),
            checker=checker,
            progress=progress or (lambda t, line: None),
        )
        try:
            reports = run_in_session(
                session,
                targets,
                options,
                parallel=parallel,
                command=command,
                deadline=deadline,
                signals=signals,
            )
        finally:
            if not session.stopped.is_set():
                clients.close()  # after a stop, workers may still be inside a request: leave them be
    return reports, worst([r.exit_code for r in reports])


class _Signals:
    """SIGINT and SIGTERM, noted (not raised) while the run goes on, so the main thread decides when to
    stop and the report is never cut short by a KeyboardInterrupt in the middle of being made."""

    def __init__(self) -> None:
        self.received: list[int] = []
        self.event = threading.Event()
        self._installed = False

    def __call__(self, signum: int, frame: object) -> None:
        self.received.append(signum)
        self.event.set()

    @contextmanager
    def installed(self) -> Iterator[_Signals]:
        if self._installed or threading.current_thread() is not threading.main_thread():
            yield self  # only the main thread receives signals; a run on another thread is not stopped
            return
        previous = {s: signal.signal(s, self) for s in (signal.SIGINT, signal.SIGTERM)}
        self._installed = True
        try:
            yield self
        finally:
            self._installed = False
            for s, handler in previous.items():
                signal.signal(s, handler)


def stop_error(signum: int) -> InterruptedRunError:
    if signum == signal.SIGTERM:
        return TerminatedRunError("terminated (SIGTERM) before finishing", "re-run acs-dns to finish")
    return InterruptedRunError("interrupted (Ctrl-C) before finishing", "re-run acs-dns to finish")


def run_in_session(
    session: Session,
    targets: Sequence[DomainTarget],
    options: RunOptions,
    *,
    parallel: int = DEFAULT_PARALLEL,
    command: DomainCommand = provision_domain,
    deadline: float | None = None,
    signals: _Signals | None = None,
) -> list[DomainReport]:
    """Every target's report, in target order. `parallel` workers run the commands; a domain that only
    waits for verification is handed to its email service's poller and frees its worker. `deadline`
    (default: `options.timeout` from now, on the session's clock) ends every domain's waits; `signals`:
    already installed by the caller (default: installed here)."""
    session.prepare(targets)
    started_at = session.clock()
    if deadline is None:
        deadline = started_at + options.timeout
    results: list[Future[DomainReport]] = [Future() for _ in targets]
    # jobs: (priority, sequence, index, work); work None = start the domain's command. Work that follows a
    # domain's wait (priority 0) goes before domains not yet started (1); workers stop at a sentinel (2).
    jobs: queue.PriorityQueue[tuple[int, int, int, Callable[[], DomainReport | Awaiting] | None]]
    jobs = queue.PriorityQueue()
    sequence = itertools.count()
    for i in range(len(targets)):
        jobs.put((1, next(sequence), i, None))

    def settle(i: int, out: DomainReport | Awaiting) -> None:
        if not isinstance(out, Awaiting):
            results[i].set_result(out)
            return

        def waited(awaiting: Awaiting, report: DomainReport) -> None:  # on the poller's thread
            if awaiting.then is None or session.stopped.is_set():
                settle(i, awaiting.complete(report))
            else:
                jobs.put((0, next(sequence), i, lambda: awaiting.resume(report)))

        session.pollers.add(out, waited)

    def work() -> None:
        while True:
            _, _, i, job = jobs.get()
            if i < 0:
                return
            if job is None and not results[i].set_running_or_notify_cancel():
                continue  # cancelled by a stop
            try:
                out = command(session, targets[i], options, deadline) if job is None else job()
                settle(i, out)
            except Exception as exc:  # a bug: this domain ends with exit 1, still saying what it wrote
                if not results[i].done():  # and the worker lives on: a dead worker would hang the run
                    results[i].set_result(_unexpected(session, targets[i], exc))

    ticker = _Ticker(session, targets, results, started_at)
    finished = _Finished(results, ticker)
    workers_count = max(1, min(parallel, len(targets)))
    if len(targets) > 1:
        session.progress(targets[0], f"run: {len(targets)} domains, {workers_count} at a time")
    with (_Signals() if signals is None else signals).installed() as signals:
        # daemon workers: after a hard stop, one still inside a request must not hold the process
        workers = [
            threading.Thread(target=work, name=f"acs-dns worker {n}", daemon=True)
            for n in range(workers_count)
        ]
        for worker in workers:
            worker.start()
        grace_until: float | None = None
        while finished.count < len(results):
            if signals.received and grace_until is None:
                first = signals.received[0]
                session.stop(stop_error(first))
                for future in results:
                    future.cancel()  # not started: never will be
                grace_until = time.monotonic() + GRACE_SECONDS.get(signal.Signals(first), 5.0)
            if grace_until is None and session.clock() > deadline + DEADLINE_GRACE:
                # every wait and ARM request ends by the deadline; whatever still runs is cut off here
                session.stop(
                    TimedOutError("--timeout ran out", "raise --timeout, or re-run acs-dns to finish")
                )
                break
            if grace_until is not None and (len(signals.received) > 1 or time.monotonic() >= grace_until):
                break  # hard stop: report every domain as it stands
            finished.event.wait(TICK)
            finished.event.clear()
            ticker.heartbeat(finished.count)
    for _ in workers:
        jobs.put((2, next(sequence), -1, None))
    return [_report(session, t, f) for t, f in zip(targets, results, strict=True)]


class _Finished:
    """Counts the domains whose report is final (set or cancelled), signals each one, and tells `ticker`."""

    def __init__(self, results: list[Future[DomainReport]], ticker: _Ticker) -> None:
        self.count = 0
        self.event = threading.Event()
        self._lock = threading.Lock()
        self._ticker = ticker
        for i, future in enumerate(results):
            future.add_done_callback(lambda f, i=i: self._one(i))

    def _one(self, index: int) -> None:
        with self._lock:
            self.count += 1
            count = self.count
        self._ticker.finished(index, count)
        self.event.set()


def _unexpected(session: Session, target: DomainTarget, exc: Exception) -> DomainReport:
    try:
        report = session.live(target) or DomainReport(target)
    except Exception:  # the session itself is broken: report the domain from scratch
        report = DomainReport(target)
    written = ", ".join(report.written) or "nothing"
    message = f"unexpected {type(exc).__name__}: {exc} (written before it: {written})"
    hint = "run with --debug for a traceback, and report it"
    return report.finish(Outcome(Result.ERROR, ExitCode.UNEXPECTED, message, hint, exc))


def _report(session: Session, target: DomainTarget, future: Future[DomainReport]) -> DomainReport:
    """The domain's report: finished, or (stopped) as it stands, saying what it wrote."""
    if future.done() and not future.cancelled():
        return future.result()
    err = session.stop_error
    live = session.live(target)
    if live is None:
        message = f"{_how(err)} before this domain started: nothing written"
        return DomainReport(target).finish(_stopped(err, message))
    report = replace(live, written=list(live.written), started=list(live.started), states=dict(live.states))
    message = f"{_how(err)} while this domain was running; written: {', '.join(report.written) or 'nothing'}"
    if report.in_flight:
        message += (
            f"; the write of {report.in_flight} was sent and not answered: it may or may not have landed"
        )
    return report.finish(_stopped(err, message))


def _how(err: AcsDnsError) -> str:
    if isinstance(err, TerminatedRunError):
        return "terminated (SIGTERM)"
    if isinstance(err, InterruptedRunError):
        return "interrupted (Ctrl-C)"
    return err.message


def _stopped(err: AcsDnsError, message: str) -> Outcome:
    """The Outcome of a domain the run stopped (its result follows the stop's exit code)."""
    return Outcome(Outcome.failed(err).result, err.exit_code, message, err.hint, err)


class _Ticker:
    """Says how far a run of several domains is, through the progress callable: when every
    PROGRESS_EVERY_DOMAINS-th domain finishes (attached to that domain), and at least every
    PROGRESS_EVERY_SECONDS while domains are unfinished (attached to the first unfinished one)."""

    def __init__(
        self,
        session: Session,
        targets: Sequence[DomainTarget],
        results: list[Future[DomainReport]],
        started_at: float,
    ) -> None:
        self.session, self.targets, self.results = session, targets, results
        self.started_at = started_at
        self.last_line = time.monotonic()

    def _say(self, target: DomainTarget, count: int) -> None:
        self.last_line = time.monotonic()
        waiting = self.session.pollers.waiting() if self.session.has_pollers else 0
        elapsed = self.session.clock() - self.started_at
        self.session.progress(
            target,
            f"run: {count}/{len(self.targets)} domains finished, {waiting} waiting for verification, "
            f"{elapsed:.0f}s",
        )

    def finished(self, index: int, count: int) -> None:
        if self.session.stopped.is_set():
            return  # the domains left are being reported as they stand, not finished
        if count % PROGRESS_EVERY_DOMAINS == 0 and count < len(self.targets):
            self._say(self.targets[index], count)

    def heartbeat(self, count: int) -> None:
        if len(self.targets) < 2 or count >= len(self.targets):
            return
        if time.monotonic() - self.last_line >= PROGRESS_EVERY_SECONDS:
            unfinished = next(
                (t for t, f in zip(self.targets, self.results, strict=True) if not f.done()), self.targets[0]
            )
            self._say(unfinished, count)


__all__ = ["GRACE_SECONDS", "run", "run_in_session"]
