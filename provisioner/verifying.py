"""Waiting for verification, shared by every domain of an email service.

A domain whose only remaining work is waiting for its verification types to become terminal is handed
over as an `Awaiting` instead of holding a worker: `--parallel` bounds the domains working against Azure,
not those waiting. One poller per email service reads the states of all its waiting domains per round:
one listing of the service's domains (one request per 100 domains) when that is cheaper than a GET per
waiting domain, else those GETs. Each domain keeps its own poll delay (5 s, until a tenth of the time it
has waited is longer, at most 30 s by default: `verification.next_poll_delay`) and deadline; a round
serves every waiting domain, and rounds of one service are at least half the shortest first delay apart. A stopped run (Ctrl-C, SIGTERM) wakes the pollers, which end every waiting domain at once.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from provisioner import steps
from provisioner import verification as v
from provisioner.errors import AcsDnsError, ExitCode, NotFoundError
from provisioner.ports import EmailDomainNotFoundError
from provisioner.report import DomainReport, Outcome, Result
from provisioner.session import ServiceKey, Session, service_key

logger = logging.getLogger(__name__)

LIST_PAGE_SIZE = 100  # domains per page of the email service's domain listing (ARM's usual page size)
ROUND_GAP = 0.5
"""Rounds of one service are at least this share of the shortest first poll delay apart: domains that
start waiting one after another share rounds, and a domain's first poll comes at most that much late."""


@dataclass(frozen=True)
class Awaiting:
    """What a command returns instead of a finished report when waiting for verification comes next: the
    report so far (its kinds and states), how to wait, and `then`, the work that follows the wait (None:
    the report as the wait ended it is final). `then(report)` gets the report finished by the wait
    (verified, failed, timed out, interrupted) and returns the final report or another Awaiting; the run
    gives it a worker again, since it works against Azure."""

    report: DomainReport
    deadline: float
    poll_first: float
    poll_max: float
    then: Callable[[DomainReport], DomainReport | Awaiting] | None = None
    _done: list[Callable[[DomainReport], None]] = field(default_factory=list, compare=False, repr=False)

    def when_done(self, callback: Callable[[DomainReport], None]) -> None:
        """Call `callback(report)` with the final report (after `then`, and any wait that follows it): for
        a wrapper of a command that must know when the domain finishes (e.g. a progress display)."""
        self._done.append(callback)

    def finish(self, session: Session, states: steps.States, outcome: Outcome) -> DomainReport:
        """End the wait: the states last read and how it ended go into the report."""
        self.report.states = dict(states)
        session.progress(self.report.target, outcome.line)
        return self.report.finish(outcome)

    def resume(self, report: DomainReport) -> DomainReport | Awaiting:
        """What follows the ended wait: `then(report)` (the report itself without `then`)."""
        return self.complete(self.then(report) if self.then is not None else report)

    def complete(self, result: DomainReport | Awaiting) -> DomainReport | Awaiting:
        """Hand the `when_done` callbacks on to a further Awaiting, or call them with the final report."""
        if isinstance(result, Awaiting):
            result._done.extend(self._done)
        else:
            for callback in self._done:
                callback(result)
        return result


def followed_by(
    result: DomainReport | Awaiting, work: Callable[[DomainReport], DomainReport | Awaiting]
) -> DomainReport | Awaiting:
    """`work(report)` once `result` is a finished report: at once for a report, after the wait (and
    whatever already follows it) for an Awaiting. How a command adds steps after verification:

        return followed_by(_apply_check_verify(...), lambda report: link_and_senders(report))
    """
    if not isinstance(result, Awaiting):
        return work(result)
    before = result.then

    def then(report: DomainReport) -> DomainReport | Awaiting:
        return followed_by(before(report) if before is not None else report, work)

    return replace(result, then=then)


@dataclass(eq=False)
class _Waiter:
    awaiting: Awaiting
    done: Callable[[Awaiting, DomainReport], None]  # called with the report the wait finished
    due: float
    states: steps.States = field(default_factory=dict)
    since: float = 0.0  # when the wait began (the session's clock)


class _ServicePoller:
    """The waiting domains of one email service, and the loop that polls them."""

    def __init__(self, session: Session, key: ServiceKey) -> None:
        self.session = session
        self.key = key
        self.wake = threading.Condition()
        self.waiters: list[_Waiter] = []
        self.thread: threading.Thread | None = None
        self.last_round: float | None = None

    def add(self, waiter: _Waiter, *, threaded: bool) -> None:
        with self.wake:
            self.waiters.append(waiter)
            self.wake.notify()
            if threaded and self.thread is None:
                name = f"acs-dns verification poller {self.key[2]}"
                self.thread = threading.Thread(target=self.run, name=name, daemon=True)
                self.thread.start()

    def run(self) -> None:
        """Poll until no domain of the service waits (then the thread ends; a new waiter starts another)."""
        while True:
            with self.wake:
                if not self.waiters:
                    self.thread = None
                    return
                if self.session.stopped.is_set():
                    batch, self.waiters = self.waiters, []
                    outcome = Outcome.failed(self.session.stop_error)
                    for w in batch:
                        w.done(w.awaiting, w.awaiting.finish(self.session, w.states, outcome))
                    continue
                now = self.session.clock()
                due = min(w.due for w in self.waiters)
                if self.last_round is not None:
                    gap = min(w.awaiting.poll_first for w in self.waiters) * ROUND_GAP
                    due = max(due, self.last_round + gap)
                if due > now:
                    self.session.doze(due - now, self.wake)
                    continue
                batch = list(self.waiters)
                self.last_round = now
            try:
                self._round(batch)
            except Exception as exc:  # a bug must not leave the domains waiting for ever
                logger.debug("verification poller failed", exc_info=True)
                outcome = Outcome(
                    Result.ERROR, ExitCode.UNEXPECTED, f"unexpected error while polling: {exc!r}", None, exc
                )
                with self.wake:
                    self.waiters = [w for w in self.waiters if w not in batch]
                for w in batch:
                    w.done(w.awaiting, w.awaiting.finish(self.session, w.states, outcome))

    def _round(self, batch: list[_Waiter]) -> None:
        """Read the states of every waiting domain once; finish those that are done, reschedule the rest."""
        session = self.session
        try:
            read = self._read([w.awaiting.report.target.domain for w in batch])
            failure: dict[str, Outcome] = {}
        except AcsDnsError as err:
            read, failure = {}, {w.awaiting.report.target.domain: Outcome.failed(err) for w in batch}
        now = session.clock()
        finished: list[tuple[_Waiter, Outcome]] = []
        for w in batch:
            a, target = w.awaiting, w.awaiting.report.target
            found = read.get(target.domain)
            if isinstance(found, AcsDnsError):
                failure[target.domain] = Outcome.failed(found)
            if target.domain in failure:
                finished.append((w, failure[target.domain]))
                continue
            assert found is not None
            kinds = a.report.kinds
            for line in steps.state_lines(kinds, w.states, found):
                session.progress(target, line)
            w.states = dict(found)
            outcome = steps.verification_outcome(target, kinds, w.states)
            if outcome is None:
                # every domain of the round was read now, due or not: its next read is due one delay
                # from now, so the domains of a service fall into shared rounds
                delay = v.next_poll_delay(now - w.since, first=a.poll_first, maximum=a.poll_max)
                if now + delay <= a.deadline:
                    w.due = now + delay
                    session.progress(target, f"next poll in {delay:g}s")  # bookkeeping for the display
                elif w.due <= now:
                    outcome = steps.verification_timed_out(target, kinds, w.states)
            if outcome is not None:
                finished.append((w, outcome))
        with self.wake:
            gone = {id(w) for w, _ in finished}
            self.waiters = [w for w in self.waiters if id(w) not in gone]
        for w, outcome in finished:
            w.done(w.awaiting, w.awaiting.finish(session, w.states, outcome))

    def _read(self, domains: list[str]) -> dict[str, steps.States | AcsDnsError]:
        """The verification states of `domains`: one listing of the service when that takes no more
        requests than a GET each, else a GET each. A domain that is gone maps to its NotFoundError."""
        sub, rg, service = self.key
        comm = self.session.communication(sub)
        known = self.session.known_domain_count(self.key)
        pages = None if known is None else max(1, math.ceil(known / LIST_PAGE_SIZE))
        out: dict[str, steps.States | AcsDnsError] = {}
        if (pages is None and len(domains) > 1) or (pages is not None and pages <= len(domains)):
            listed = {d.name: d for d in comm.list_domains(rg, service)}
            self.session.note_domain_count(self.key, len(listed))
            for name in domains:
                found = listed.get(name)
                out[name] = dict(found.states) if found is not None else _gone(name)
            return out
        for name in domains:
            try:
                out[name] = dict(comm.get_domain(rg, service, name).states)
            except EmailDomainNotFoundError:
                out[name] = _gone(name)
        return out


def _gone(domain: str) -> NotFoundError:
    return NotFoundError(f"email domain {domain} disappeared while verifying")


class VerificationPollers:
    """The run's pollers, one per email service with domains waiting."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._lock = threading.Lock()
        self._pollers: dict[ServiceKey, _ServicePoller] = {}

    def _poller(self, awaiting: Awaiting) -> _ServicePoller:
        key = service_key(awaiting.report.target)
        with self._lock:
            if key not in self._pollers:
                self._pollers[key] = _ServicePoller(self.session, key)
            return self._pollers[key]

    def _waiter(self, awaiting: Awaiting, done: Callable[[Awaiting, DomainReport], None]) -> _Waiter:
        now = self.session.clock()
        first = now + awaiting.poll_first
        # a first poll that would come after the deadline comes at once, to report the states as they are
        due = first if first <= awaiting.deadline else now
        self.session.progress(awaiting.report.target, f"next poll in {due - now:g}s")
        return _Waiter(awaiting, done, due, dict(awaiting.report.states), since=now)

    def add(self, awaiting: Awaiting, done: Callable[[Awaiting, DomainReport], None]) -> None:
        """Wait for `awaiting` on its service's poller thread; `done(awaiting, report)` is called once the
        wait has ended (the report finished by it: `awaiting.resume(report)` is what follows)."""
        self._poller(awaiting).add(self._waiter(awaiting, done), threaded=True)

    def wait(self, awaiting: Awaiting) -> DomainReport:
        """Wait for `awaiting` in the calling thread (a domain run on its own, outside the pool); the report
        as the wait finished it."""
        result: list[DomainReport] = []
        poller = self._poller(awaiting)
        poller.add(self._waiter(awaiting, lambda a, report: result.append(report)), threaded=False)
        while not result:
            poller.run()
        return result[0]

    def waiting(self) -> int:
        """How many domains wait for verification now."""
        with self._lock:
            pollers = list(self._pollers.values())
        return sum(len(p.waiters) for p in pollers)

    def wake(self) -> None:
        """Wake every poller (the run is stopping)."""
        with self._lock:
            pollers = list(self._pollers.values())
        for poller in pollers:
            with poller.wake:
                poller.wake.notify_all()
