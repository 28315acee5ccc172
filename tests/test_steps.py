"""The steps and per-domain commands against the in-memory ports (tests/fakes.py): fast, no sandbox.
Each failure is data: an Outcome with the documented exit code, never an exception out of the step."""

from __future__ import annotations

import threading
from dataclasses import replace

import pytest

from provisioner import steps
from provisioner.desired import desired_records
from provisioner.errors import ConflictError, ExitCode
from provisioner.model import RecordSet, RecordType, TxtRecord, VerificationKind
from provisioner.options import RunOptions
from provisioner.plan import Action, Change, Plan
from provisioner.reconcile import apply_saved_plan, plan_domain, provision_domain, settle
from provisioner.report import DomainReport, Outcome, Result
from provisioner.runner import run_in_session
from provisioner.session import Session
from provisioner.verification import KindState
from provisioner.verifying import Awaiting, followed_by
from tests.fakes import FakeWorld, acs_records, email_domain

K = VerificationKind
DOMAIN = "mail.contoso.test"
ZONE = "contoso.test"
FAST = RunOptions(timeout=60, propagation_timeout=5, poll_first=1, poll_max=2, dns_interval=1)
SPF = "v=spf1 include:spf.protection.outlook.com -all"
TOKEN_VALUE = "ms-domain-verification=tok"


def provisioned(session: Session, target, options: RunOptions = FAST, deadline: float = 60) -> DomainReport:  # type: ignore[no-untyped-def]
    """provision_domain run to its end in this thread (verification polled here)."""
    return settle(session, provision_domain(session, target, options, deadline))


@pytest.fixture
def world() -> FakeWorld:
    w = FakeWorld()
    w.dns.add_zone(ZONE)
    w.comm.add("rg-email", "contoso-email", email_domain(DOMAIN, acs_records(DOMAIN)))
    return w


def zone_of(w: FakeWorld):
    return next(iter(w.dns.zones.values()))


def txt_texts(w: FakeWorld, name: str) -> list[str]:
    found = w.dns.get(zone_of(w), name, RecordType.TXT)
    return [] if found is None else [t.text for t in found.txt]


def test_provision_writes_the_records_keeps_foreign_values_and_verifies(world: FakeWorld) -> None:
    zone = zone_of(world)
    world.dns.put(zone, RecordSet("mail", RecordType.TXT, 300, txt=(TxtRecord(("team=1",)),)))
    target = world.target(DOMAIN)

    report = provisioned(world.session([target]), target)

    assert (report.result, report.exit_code) == (Result.VERIFIED, ExitCode.OK), report.message
    assert txt_texts(world, "mail") == ["team=1", TOKEN_VALUE, SPF]
    dkim = world.dns.get(zone, "selector1-azurecomm-prod-net._domainkey.mail", RecordType.CNAME)
    assert dkim is not None and dkim.cname == "selector1-azurecomm-prod-net._domainkey.azurecomm.net"
    assert sorted(report.written) == sorted(
        [
            "TXT mail",
            "CNAME selector1-azurecomm-prod-net._domainkey.mail",
            "CNAME selector2-azurecomm-prod-net._domainkey.mail",
        ]
    )
    assert report.started == [K.DOMAIN, K.SPF, K.DKIM, K.DKIM2]
    assert {k: s.status for k, s in report.states.items()} == dict.fromkeys(report.kinds, "Verified")


def test_rerun_on_a_verified_domain_writes_nothing(world: FakeWorld) -> None:
    target = world.target(DOMAIN)
    provisioned(world.session([target]), target)
    world.dns.calls.clear()
    world.comm.calls.clear()

    report = provisioned(world.session([target]), target)

    assert report.result is Result.VERIFIED and report.written == []
    assert world.dns.calls == ["list_zones", "list_record_sets"]
    assert world.comm.calls == ["get_domain"]


def test_plan_reports_pending_changes_and_writes_nothing(world: FakeWorld) -> None:
    target = world.target(DOMAIN)

    report = plan_domain(world.session([target]), target, RunOptions(dry_run=True), deadline=60)

    assert (report.result, report.exit_code) == (Result.CHANGES_PENDING, ExitCode.CHANGES_PENDING)
    assert report.plan is not None and [c.action for c in report.plan.changes] == [Action.CREATE] * 3
    assert (report.plan.zone, report.plan.zone_resource_group) == (ZONE, "rg-dns")
    assert "write" not in world.dns.calls and world.dns.get(zone_of(world), "mail", RecordType.TXT) is None


@pytest.mark.parametrize(
    ("management", "create_domain", "create", "result", "code"),
    [
        ("AzureManaged", False, True, Result.NOTHING_TO_DO, ExitCode.OK),
        ("CustomerManagedInExchangeOnline", False, True, Result.REFUSED, ExitCode.REFUSED),
        (None, False, True, Result.ERROR, ExitCode.NOT_FOUND),
        (None, True, False, Result.CHANGES_PENDING, ExitCode.CHANGES_PENDING),
    ],
)
def test_read_domain_stops_with_an_outcome(
    management: str | None, create_domain: bool, create: bool, result: Result, code: ExitCode
) -> None:
    w = FakeWorld()
    w.comm.services.add(("rg-email", "contoso-email"))
    if management:
        w.comm.add("rg-email", "contoso-email", email_domain(DOMAIN, management=management))
    target = w.target(DOMAIN, create_domain=create_domain)

    outcome = steps.read_domain(w.session([target]), target, create=create)

    assert isinstance(outcome, Outcome)
    assert (outcome.result, outcome.exit_code) == (result, code), outcome.message
    assert "create_domain" not in w.comm.calls


def test_read_domain_creates_a_missing_domain_when_asked() -> None:
    w = FakeWorld()
    w.comm.services.add(("rg-email", "contoso-email"))
    target = w.target(DOMAIN, create_domain=True)

    found = steps.read_domain(w.session([target]), target, create=True)

    assert not isinstance(found, Outcome) and found.name == DOMAIN
    assert w.comm.calls == ["get_domain", "create_domain"]


def test_a_missing_email_service_is_not_found_not_a_missing_domain() -> None:
    w = FakeWorld()
    target = w.target(DOMAIN, create_domain=True)

    outcome = steps.read_domain(w.session([target]), target, create=True)

    assert isinstance(outcome, Outcome) and outcome.exit_code is ExitCode.NOT_FOUND
    assert "email service contoso-email" in outcome.message and "create_domain" not in w.comm.calls


def test_locate_zone_outcomes() -> None:
    w = FakeWorld()
    w.dns.add_zone(ZONE, "rg-private", private=True)
    target = w.target(DOMAIN)
    outcome = steps.locate_zone(w.session([target]), target)
    assert isinstance(outcome, Outcome) and outcome.exit_code is ExitCode.NOT_FOUND
    assert "only Private zones match: contoso.test" in outcome.message

    w.dns.add_zone(ZONE, "rg-a")
    w.dns.add_zone(ZONE, "rg-b")
    outcome = steps.locate_zone(w.session([target]), target)
    assert isinstance(outcome, Outcome) and outcome.exit_code is ExitCode.USAGE
    assert "rg-a, rg-b" in outcome.message


def test_one_domain_failing_does_not_stop_the_others(world: FakeWorld) -> None:
    good, missing = world.target(DOMAIN), world.target("other.contoso.test")

    reports = run_in_session(world.session(), [missing, good], FAST, command=provision_domain)

    assert [(r.target.domain, r.exit_code) for r in reports] == [
        ("other.contoso.test", ExitCode.NOT_FOUND),
        (DOMAIN, ExitCode.OK),
    ]
    # one listing reads both domains of the service first (the missing one is confirmed by a GET); one more
    # listing per verification poll round (here one)
    assert world.comm.calls.count("list_domains") == 2 and world.comm.calls.count("get_domain") == 1


def _planned(world: FakeWorld) -> tuple[Plan, list]:  # type: ignore[type-arg]
    target = world.target(DOMAIN)
    session = world.session([target])
    zone = zone_of(world)
    desired = desired_records(DOMAIN, ZONE, acs_records(DOMAIN))
    plan = steps.plan_records(session, target, zone, desired)
    assert isinstance(plan, Plan)
    return plan, desired


def test_apply_replans_after_a_412_and_keeps_the_other_writers_value(world: FakeWorld) -> None:
    zone = zone_of(world)
    world.dns.put(zone, RecordSet("mail", RecordType.TXT, txt=(TxtRecord(("team=1",)),)))
    plan, desired = _planned(world)
    raced: list[str] = []

    def racer(z: object, name: str, type_: RecordType) -> None:
        if name == "mail" and not raced:
            raced.append(name)
            world.dns.put(
                zone, RecordSet("mail", RecordType.TXT, txt=(TxtRecord(("team=1",)), TxtRecord(("racer=2",))))
            )

    world.dns.before_write = racer
    target = world.target(DOMAIN)
    session = world.session([target])

    applied = steps.apply_plan(
        session,
        zone,
        plan,
        replan=lambda: steps.plan_records(session, target, zone, desired, shared_listing=False),
    )

    assert applied.outcome is None and raced
    assert txt_texts(world, "mail") == ["team=1", "racer=2", TOKEN_VALUE, SPF]


def test_apply_without_replan_refuses_a_changed_set_and_writes_nothing_more(world: FakeWorld) -> None:
    zone = zone_of(world)
    world.dns.put(zone, RecordSet("mail", RecordType.TXT, txt=(TxtRecord(("team=1",)),)))
    plan, _ = _planned(world)
    changed = world.dns.put(zone, RecordSet("mail", RecordType.TXT, txt=(TxtRecord(("team=2",)),)))

    applied = steps.apply_plan(world.session(), zone, plan)

    assert applied.outcome is not None and applied.outcome.exit_code is ExitCode.REFUSED
    assert (
        "TXT 'mail'" in applied.outcome.message
        and "changed since the plan was made" in applied.outcome.message
    )
    assert world.dns.get(zone, "mail", RecordType.TXT) == changed
    # the plan is in name order ("mail" first): nothing after the refusal was written
    assert applied.applied == ()
    assert world.dns.get(zone, "selector1-azurecomm-prod-net._domainkey.mail", RecordType.CNAME) is None


def test_delete_changes_use_the_etag_and_a_gone_set_counts_as_deleted(world: FakeWorld) -> None:
    zone = zone_of(world)
    stale = world.dns.put(zone, RecordSet("old", RecordType.TXT, txt=(TxtRecord(("x",)),)))
    gone = RecordSet("gone", RecordType.TXT, txt=(TxtRecord(("y",)),), etag="etag-gone")
    plan = Plan(
        ZONE, (Change(Action.DELETE, stale, None, ()), Change(Action.DELETE, gone, None, ())), "rg-dns"
    )

    applied = steps.apply_plan(world.session(), zone, plan)

    assert applied.outcome is None and world.dns.get(zone, "old", RecordType.TXT) is None
    assert [steps.applied_label(c) for c in applied.applied] == ["TXT old (deleted)", "TXT gone (deleted)"]
    again = world.dns.put(zone, RecordSet("old", RecordType.TXT, txt=(TxtRecord(("new",)),)))
    refused = steps.apply_plan(world.session(), zone, Plan(ZONE, (Change(Action.DELETE, stale, None, ()),)))
    assert refused.outcome is not None and refused.outcome.exit_code is ExitCode.REFUSED
    assert world.dns.get(zone, "old", RecordType.TXT) == again


def test_fake_dns_keeps_the_etag_preconditions(world: FakeWorld) -> None:
    zone = zone_of(world)
    created = world.dns.write(zone, RecordSet("a", RecordType.TXT), expected_etag=None)
    with pytest.raises(ConflictError):
        world.dns.write(zone, RecordSet("a", RecordType.TXT), expected_etag=None)
    updated = world.dns.write(zone, RecordSet("a", RecordType.TXT, ttl=60), expected_etag=created.etag)
    assert updated.etag != created.etag and updated.ttl == 60
    with pytest.raises(ConflictError):
        world.dns.write(zone, RecordSet("a", RecordType.TXT), expected_etag=created.etag)
    with pytest.raises(ConflictError):
        world.dns.delete(zone, "a", RecordType.TXT, expected_etag=created.etag)


def test_check_served_reports_an_undelegated_zone_with_its_name_servers(world: FakeWorld) -> None:
    world.checker.delegated = False
    zone = zone_of(world)

    outcome = steps.check_served(world.session(), zone, [], propagation_timeout=5, deadline=60, interval=1)

    assert isinstance(outcome, Outcome) and outcome.exit_code is ExitCode.VERIFICATION_FAILED
    assert outcome.hint is not None and all(ns in outcome.hint for ns in zone.name_servers)
    assert world.clock.now <= 5  # the settle wait is bounded by --propagation-timeout


def test_check_served_times_out_naming_what_is_not_served(world: FakeWorld) -> None:
    zone = zone_of(world)
    plan, desired = _planned(world)
    expected = steps.expected_records(desired, zone, plan)

    outcome = steps.check_served(
        world.session(), zone, expected, propagation_timeout=5, deadline=60, interval=1
    )

    assert isinstance(outcome, Outcome) and outcome.exit_code is ExitCode.TIMED_OUT
    assert f"TXT mail.{ZONE}" in outcome.message


def _awaiting(session: Session, target, kinds, states, deadline: float) -> Awaiting:  # type: ignore[no-untyped-def]
    report = session.report(target)
    report.kinds, report.states = list(kinds), dict(states)
    return Awaiting(report, deadline, poll_first=1, poll_max=2)


def test_poll_verification_failed_and_timed_out(world: FakeWorld) -> None:
    target = world.target(DOMAIN)
    kinds = [K.DOMAIN, K.SPF]
    world.comm.decide = lambda kind: (
        KindState("VerificationFailed", "TxtNotFound") if kind is K.SPF else KindState("Verified")
    )
    started = steps.start_verification(world.session(), target, kinds, {})
    assert started.started == (K.DOMAIN, K.SPF) and started.outcome is None

    session = world.session()
    polled = settle(session, _awaiting(session, target, kinds, started.states, deadline=60))
    assert polled.exit_code is ExitCode.VERIFICATION_FAILED
    assert "SPF (TxtNotFound)" in polled.message

    world.comm.decide = lambda kind: KindState("VerificationInProgress")
    steps.start_verification(world.session(), target, kinds, polled.states)
    session = world.session()
    slow = settle(session, _awaiting(session, target, kinds, {}, deadline=world.clock.now + 10))
    assert (
        slow.exit_code is ExitCode.TIMED_OUT
        and "still waiting for SPF (VerificationInProgress)" in slow.message
    )
    assert world.clock.now <= 10 + 10


def test_domains_waiting_on_one_service_are_polled_together_by_listing(world: FakeWorld) -> None:
    """Verification states of the waiting domains of one email service come from one listing per round,
    not one GET per domain; each domain still ends on its own states."""
    names = [f"m{i}.{ZONE}" for i in range(6)]
    for name in names:
        world.comm.add("rg-email", "contoso-email", email_domain(name, acs_records(name)))
    world.comm.decide = lambda kind: KindState("Verified")
    targets = [world.target(n) for n in names]
    world.comm.calls.clear()
    # the real clock: the fake ports answer at once, so every domain waits before the first poll is due
    session = Session(lambda sub: world.dns, lambda sub: world.comm, world.checker)  # type: ignore[arg-type]
    session.prepare(targets)
    options = RunOptions(timeout=60, poll_first=0.3, poll_max=0.3, dns_interval=0.01)

    reports = run_in_session(session, targets, options, parallel=2, command=provision_domain)

    assert [r.result for r in reports] == [Result.VERIFIED] * len(names), [r.message for r in reports]
    assert world.comm.calls.count("get_domain") == 0
    assert world.comm.calls.count("list_domains") == 2, world.comm.calls  # the first read, one poll round


def test_a_stopped_session_ends_the_wait_as_interrupted_keeping_what_was_written(world: FakeWorld) -> None:
    world.comm.decide = lambda kind: KindState("VerificationInProgress")
    target = world.target(DOMAIN)
    session = world.session([target])
    session.progress = lambda t, line: session.stop() if line.startswith("waiting for verification") else None

    report = provisioned(session, target)

    assert (report.result, report.exit_code) == (Result.INTERRUPTED, ExitCode.INTERRUPTED)
    assert len(report.written) == 3 and report.started == [K.DOMAIN, K.SPF, K.DKIM, K.DKIM2]


def test_a_saved_plan_is_applied_as_is_then_verified(world: FakeWorld) -> None:
    target = world.target(DOMAIN)
    plan_report = plan_domain(world.session([target]), target, RunOptions(dry_run=True), deadline=60)
    assert plan_report.plan is not None
    saved = replace(target, zone=ZONE, zone_resource_group="rg-dns")
    world.dns.calls.clear()

    session = world.session([saved])
    report = settle(session, apply_saved_plan({saved: plan_report.plan})(session, saved, FAST, 60))

    assert report.result is Result.VERIFIED, report.message
    assert report.plan == plan_report.plan and len(report.written) == 3
    assert world.dns.calls == ["get_zone", "write", "write", "write"]  # applied from the plan, not re-read


def test_a_bug_in_one_domain_ends_it_with_exit_1_saying_what_it_wrote_and_the_others_finish(
    world: FakeWorld,
) -> None:
    good, buggy = world.target(DOMAIN), world.target("other.contoso.test")

    def command(session: Session, target, options: RunOptions, deadline: float):  # type: ignore[no-untyped-def]
        if target is buggy:
            session.report(target).written.append("TXT other")
            raise RuntimeError("boom")
        return provision_domain(session, target, options, deadline)

    reports = run_in_session(world.session(), [buggy, good], FAST, command=command)

    assert [(r.result, r.exit_code) for r in reports] == [
        (Result.ERROR, ExitCode.UNEXPECTED),
        (Result.VERIFIED, ExitCode.OK),
    ]
    assert reports[0].written == ["TXT other"] and "boom" in reports[0].message
    assert isinstance(reports[0].error, RuntimeError)  # --debug prints its traceback


def test_a_run_of_many_domains_says_how_far_it_is_every_hundred_domains(world: FakeWorld) -> None:
    names = [f"p{i}.{ZONE}" for i in range(250)]
    for name in names:
        world.comm.add("rg-email", "contoso-email", email_domain(name, acs_records(name)))
    targets = [world.target(n) for n in names]

    run_in_session(world.session(targets), targets, RunOptions(dry_run=True), command=plan_domain)

    run_lines = [line for line in world.lines if line.startswith("run: ")]
    assert run_lines[0].startswith("run: 250 domains, 16 at a time"), run_lines
    assert [line.split()[1] for line in run_lines[1:3]] == ["100/250", "200/250"], run_lines


def test_work_after_the_wait_runs_on_a_worker_and_wrappers_see_the_final_report(world: FakeWorld) -> None:
    """A command may continue after verification (`Awaiting.then`): that work gets a worker again (it
    works against Azure), and a wrapper registered with `when_done` sees the report once all is done."""
    target = world.target(DOMAIN)
    seen: list[tuple[str, str]] = []
    final: list[DomainReport] = []

    def command(session: Session, target, options: RunOptions, deadline: float):  # type: ignore[no-untyped-def]
        out = provision_domain(session, target, options, deadline)
        assert isinstance(out, Awaiting)

        def then(report: DomainReport) -> DomainReport:
            seen.append((threading.current_thread().name, str(report.result)))
            report.notes.append("linked")
            return report

        continued = followed_by(out, then)
        assert isinstance(continued, Awaiting)
        continued.when_done(final.append)
        return continued

    reports = run_in_session(world.session([target]), [target], FAST, command=command)

    assert seen == [("acs-dns worker 0", "verified")]
    assert final == reports and reports[0].notes == ["linked"]


def test_a_domain_still_running_past_the_deadline_is_cut_off_with_what_it_wrote(world: FakeWorld) -> None:
    """Every wait and ARM request ends by the run's deadline; should a domain still run past it, the run
    ends anyway (exit 7), saying what that domain wrote and that the others never started."""
    first, second = world.target(DOMAIN), world.target("other.contoso.test")
    release = threading.Event()

    def command(session: Session, target, options: RunOptions, deadline: float):  # type: ignore[no-untyped-def]
        session.report(target).written.append("TXT mail")
        world.clock.now = deadline + 5  # stuck past the deadline (a fake clock: no real wait)
        release.wait(10)
        return session.report(target)

    session = world.session()
    reports = run_in_session(session, [first, second], FAST, parallel=1, command=command)
    release.set()

    assert [(r.result, r.exit_code) for r in reports] == [(Result.TIMED_OUT, ExitCode.TIMED_OUT)] * 2
    assert reports[0].written == ["TXT mail"] and "written: TXT mail" in reports[0].message
    assert "before this domain started: nothing written" in reports[1].message


def test_a_broken_wait_ends_that_domain_with_exit_1_instead_of_hanging_the_run(
    world: FakeWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug past the command (here: handing the domain to its poller) must not kill the worker silently,
    which would leave the run waiting forever: the domain ends with exit 1, the others finish."""
    other = "news.contoso.test"
    world.comm.add("rg-email", "contoso-email", email_domain(other, acs_records(other)))
    session = world.session()

    class BrokenPollers:
        def add(self, *args: object) -> None:
            raise RuntimeError("poller bug")

    monkeypatch.setattr(type(session), "pollers", property(lambda self: BrokenPollers()))
    reports = run_in_session(
        session, [world.target(DOMAIN), world.target(other)], FAST, parallel=1, command=provision_domain
    )
    assert [(r.target.domain, r.exit_code) for r in reports] == [
        (DOMAIN, ExitCode.UNEXPECTED),
        (other, ExitCode.UNEXPECTED),
    ]
    assert all("poller bug" in r.message and "TXT" in r.message for r in reports)  # what it wrote is named


def test_domains_that_start_waiting_apart_share_poll_rounds_and_each_is_seen_at_most_a_tenth_late(
    world: FakeWorld,
) -> None:
    """Ten domains of one service start waiting a second apart and each turns Verified 60 s after it
    started: the service is listed about as often as for one domain (every read reschedules every
    waiting domain), and each domain is seen Verified within max(5 s, a tenth of its wait) of turning."""
    names = [f"m{i}.{ZONE}" for i in range(10)]
    in_progress = dict.fromkeys([K.DOMAIN], KindState("VerificationInProgress"))
    for name in names:
        world.comm.add("rg-email", "contoso-email", email_domain(name, acs_records(name), states=in_progress))
    session = world.session([world.target(n) for n in names])
    verified_at = {name: 1.0 * i + 60.0 for i, name in enumerate(names)}
    listed = world.comm.list_domains

    def list_domains(rg: str, service: str) -> list:  # type: ignore[type-arg]
        # what the service says at the fake clock's time
        for name, at in verified_at.items():
            if world.clock.now >= at:
                key = ("rg-email", "contoso-email", name)
                world.comm.domains[key] = replace(
                    world.comm.domains[key], states={K.DOMAIN: KindState("Verified")}
                )
        return listed(rg, service)

    world.comm.list_domains = list_domains  # type: ignore[method-assign]
    seen: dict[str, float] = {}
    poller = None
    for i, name in enumerate(names):
        world.clock.now = float(i)
        report = session.report(world.target(name))
        report.kinds, report.states = [K.DOMAIN], dict(in_progress)
        awaiting = Awaiting(report, deadline=600.0, poll_first=5.0, poll_max=30.0)
        poller = session.pollers._poller(awaiting)
        done = lambda a, r, n=name: seen.setdefault(n, world.clock.now)  # noqa: E731
        poller.add(session.pollers._waiter(awaiting, done), threaded=False)
    assert poller is not None
    world.comm.calls.clear()
    while len(seen) < len(names):
        poller.run()

    assert all(
        seen[n] - verified_at[n] <= max(5.0, (verified_at[n] - i) / 10) + 1e-9 for i, n in enumerate(names)
    )
    reads = world.comm.calls.count("list_domains") + world.comm.calls.count("get_domain")
    assert reads <= 16, world.comm.calls  # one domain alone: polls at 5, 10, ..., 55, 60.5, 66.55 = 13
