"""The domain's life after verification and back (issue 9), against the in-memory ports: link, senders,
DMARC, --prune-token, ownership markers, and `deprovision` taking back exactly what provision added."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from provisioner import lifecycle
from provisioner.config import target_from_flags
from provisioner.dmarc import dmarc_problem
from provisioner.errors import ExitCode, UsageError
from provisioner.model import OWNER_METADATA_KEY, RecordSet, RecordType, Sender, TxtRecord, VerificationKind
from provisioner.options import RunOptions
from provisioner.reconcile import deprovision_domain, plan_domain, settle
from provisioner.reconcile import provision_domain as _provision_domain
from provisioner.report import Result
from provisioner.verification import KindState
from tests.fakes import FakeWorld, acs_records, email_domain

K = VerificationKind
DOMAIN = "mail.contoso.test"
ZONE = "contoso.test"
SUB = "00000000-0000-0000-0000-000000000001"
FAST = RunOptions(timeout=60, propagation_timeout=5, poll_first=1, poll_max=2, dns_interval=1, link_settle=1)
TOKEN = "ms-domain-verification=tok"
ACS_INCLUDE = "include:spf.protection.outlook.com"
DMARC = "v=DMARC1; p=none; rua=mailto:dmarc@contoso.test"
OTHER = "/fake/domains/other.contoso.test"


def provision_domain(session, target, options, deadline):  # type: ignore[no-untyped-def]
    """provision run to its end here: the wait for verification (and the link and senders after it)."""
    return settle(session, _provision_domain(session, target, options, deadline))


def world_with(*domains: str) -> FakeWorld:
    w = FakeWorld()
    w.dns.add_zone(ZONE)
    for name in domains:
        w.comm.add("rg-email", "contoso-email", email_domain(name, acs_records(name, token=f"tok-{name}")))
    return w


@pytest.fixture
def world() -> FakeWorld:
    w = FakeWorld()
    w.dns.add_zone(ZONE)
    w.comm.add("rg-email", "contoso-email", email_domain(DOMAIN, acs_records(DOMAIN)))
    verified = dict.fromkeys(lifecycle.LINK_KINDS, KindState("Verified"))
    w.comm.add("rg-email", "contoso-email", email_domain("other.contoso.test", states=verified))
    w.comm.add_communication_service("rg-email", "contoso-acs", linked=[OTHER])
    return w


def zone_of(w: FakeWorld):
    return next(iter(w.dns.zones.values()))


def snapshot(w: FakeWorld) -> dict:
    """The zone's record sets without ETags (which change on every write)."""
    return {k: replace(rs, etag=None) for k, rs in w.dns.sets[("rg-dns", ZONE)].items()}


def texts(w: FakeWorld, name: str) -> list[str]:
    found = w.dns.get(zone_of(w), name, RecordType.TXT)
    return [] if found is None else [t.text for t in found.txt]


def seed_foreign(w: FakeWorld) -> None:
    zone = zone_of(w)
    foreign = {"team": "web", "ticket": "42"}
    w.dns.put(
        zone,
        RecordSet(
            "mail",
            RecordType.TXT,
            300,
            txt=(TxtRecord(("google-site-verification=abc",)), TxtRecord(("v=spf1 ip4:192.0.2.1 ~all",))),
            metadata=foreign,
        ),
    )
    w.dns.put(zone, RecordSet("_dmarc", RecordType.TXT, 600, txt=(TxtRecord(("v=DMARC1; p=reject",)),)))
    w.dns.put(
        zone, RecordSet("www", RecordType.CNAME, 60, cname="web.contoso.test", metadata={"team": "web"})
    )


def full_target(w: FakeWorld, **extra: object):
    values = {
        "communication_service": "contoso-acs",
        "senders": (("donotreply", None), ("billing", "Billing")),
        "dmarc": DMARC,
        "spf_hardfail": True,
    } | extra
    return w.target(DOMAIN, **values)


# ---- pure rules ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("v=DMARC1; p=none", None),
        (
            "v=DMARC1; p=reject; sp=quarantine; pct=50; adkim=s; aspf=r; rua=mailto:a@b.c; fo=1; ri=86400;",
            None,
        ),
        ("p=none", "must start"),
        ("v=DMARC1; rua=mailto:a@b.c", '"p" is required'),
        ("v=DMARC1; p=maybe", "not a policy"),
        ("v=DMARC1; p=none; foo=1", 'unknown tag "foo"'),
        ("v=DMARC1; p=none; pct=150", "0 to 100"),
        ("v=DMARC1; p=none; p=reject", "given twice"),
        ("v=DMARC1; rua=mailto:a@b.c; p=none", "right after"),
        ("v=DMARC1; p=none; rua=dmarc@example.com", "not a URI"),
    ],
)
def test_dmarc_values_are_validated(value: str, problem: str | None) -> None:
    found = dmarc_problem(value)
    assert (found is None) if problem is None else (problem in (found or "")), found


def test_bad_dmarc_and_senders_are_usage_errors_before_anything_is_sent() -> None:
    flags = {"subscription": SUB, "resource_group": "rg", "email_service": "es", "name": DOMAIN}
    with pytest.raises(UsageError, match=r"--dmarc.*not a valid DMARC record"):
        target_from_flags(flags | {"dmarc": "v=DMARC1; x=1"})
    with pytest.raises(UsageError, match=r"--sender.*listed twice"):
        target_from_flags(flags | {"senders": ("billing", "Billing=Billing dept")})
    with pytest.raises(UsageError, match=r"--sender.*not a sender username"):
        target_from_flags(flags | {"senders": ("no reply",)})
    target = target_from_flags(flags | {"senders": ("billing=Billing Dept", "donotreply")})
    assert target.senders == (("billing", "Billing Dept"), ("donotreply", None))


def test_senders_are_created_or_updated_and_others_kept() -> None:
    existing = [Sender("DoNotReply", "DoNotReply"), Sender("sales", "Sales")]
    planned = lifecycle.plan_senders(
        (("donotreply", None), ("billing", None), ("sales", "Sales Team")), existing
    )
    assert [(c.username, c.display_name, c.action) for c in planned] == [
        ("DoNotReply", "DoNotReply", "noop"),
        ("billing", "billing", "create"),
        ("sales", "Sales Team", "update"),
    ]


def test_link_is_refused_before_verification_and_across_data_locations(world: FakeWorld) -> None:
    domain = world.comm.domains[("rg-email", "contoso-email", DOMAIN)]
    resource = world.comm.communication_services[("rg-email", "contoso-acs")]
    assert "before it is verified: Domain (NotStarted)" in (
        lifecycle.link_problem(domain, resource, "acs") or ""
    )
    verified = replace(domain, states=dict.fromkeys(lifecycle.LINK_KINDS, KindState("Verified")))
    assert lifecycle.link_problem(verified, resource, "acs") is None
    elsewhere = replace(resource, data_location="Europe")
    assert "data location" in (lifecycle.link_problem(verified, elsewhere, "acs") or "")


# ---- provision -> deprovision ----------------------------------------------------------------------------
def test_provision_then_deprovision_leaves_the_zone_and_the_resource_as_they_were(world: FakeWorld) -> None:
    seed_foreign(world)
    world.comm.senders[("rg-email", "contoso-email", DOMAIN)] = {"sales": Sender("sales", "Sales")}
    before = snapshot(world)
    target = full_target(world, dmarc_replace=True)

    report = provision_domain(world.session([target]), target, FAST, deadline=60)

    assert (report.result, report.exit_code) == (Result.VERIFIED, ExitCode.OK), report.message
    assert texts(world, "mail") == [
        "google-site-verification=abc",
        f"v=spf1 ip4:192.0.2.1 {ACS_INCLUDE} -all",
        TOKEN,
    ]
    assert texts(world, "_dmarc.mail") == [DMARC]
    assert texts(world, "_dmarc") == ["v=DMARC1; p=reject"]  # the zone's own DMARC, elsewhere: untouched
    resource = world.comm.communication_services[("rg-email", "contoso-acs")]
    assert resource.linked_domains == (OTHER, f"/fake/domains/{DOMAIN}")
    senders = world.comm.senders[("rg-email", "contoso-email", DOMAIN)]
    assert sorted(senders) == ["billing", "donotreply", "sales"]

    removed = deprovision_domain(world.session([target]), target, FAST, deadline=60)

    assert (removed.result, removed.exit_code) == (Result.REMOVED, ExitCode.OK), removed.message
    assert snapshot(world) == before
    assert world.comm.communication_services[("rg-email", "contoso-acs")].linked_domains == (OTHER,)
    assert world.comm.senders[("rg-email", "contoso-email", DOMAIN)] == {"sales": Sender("sales", "Sales")}
    assert world.comm.domains[("rg-email", "contoso-email", DOMAIN)].tags == {}


def test_a_different_dmarc_is_refused_without_dmarc_replace_and_restored_after_it(world: FakeWorld) -> None:
    seed_foreign(world)
    theirs = RecordSet("_dmarc.mail", RecordType.TXT, 600, txt=(TxtRecord(("v=DMARC1; p=quarantine",)),))
    world.dns.put(zone_of(world), theirs)
    before = snapshot(world)
    target = full_target(world)

    report = provision_domain(world.session([target]), target, FAST, deadline=60)

    assert report.exit_code is ExitCode.REFUSED
    assert "v=DMARC1; p=quarantine" in report.message and report.hint and "--dmarc-replace" in report.hint
    assert snapshot(world) == before

    replacing = full_target(world, dmarc_replace=True)
    report = provision_domain(world.session([replacing]), replacing, FAST, deadline=60)
    assert report.exit_code is ExitCode.OK and texts(world, "_dmarc.mail") == [DMARC]
    deprovision_domain(world.session([replacing]), replacing, FAST, deadline=60)
    assert snapshot(world) == before


def test_deprovision_dry_run_plans_and_changes_nothing(world: FakeWorld) -> None:
    target = full_target(world)
    provision_domain(world.session([target]), target, FAST, deadline=60)
    after = snapshot(world)

    report = deprovision_domain(world.session([target]), target, replace(FAST, dry_run=True), deadline=60)

    assert (report.result, report.exit_code) == (Result.CHANGES_PENDING, ExitCode.CHANGES_PENDING)
    assert report.plan is not None
    assert sorted((c.action, c.record_set.name) for c in report.plan.writes) == [
        ("delete", "_dmarc.mail"),
        ("delete", "mail"),
        ("delete", "selector1-azurecomm-prod-net._domainkey.mail"),
        ("delete", "selector2-azurecomm-prod-net._domainkey.mail"),
    ]
    assert "would unlink from contoso-acs" in report.notes
    assert "would delete sender billing" in report.notes
    assert snapshot(world) == after


def test_plan_shows_the_link_and_senders_provision_would_add(world: FakeWorld) -> None:
    target = full_target(world)
    report = plan_domain(world.session([target]), target, replace(FAST, dry_run=True), deadline=60)
    assert report.exit_code is ExitCode.CHANGES_PENDING
    assert report.notes[0].startswith("link: would link to contoso-acs (once verified:")
    assert "sender: would create billing (Billing)" in report.notes


def test_delete_domain_removes_the_email_domain_after_unlinking(world: FakeWorld) -> None:
    target = full_target(world)
    provision_domain(world.session([target]), target, FAST, deadline=60)
    report = deprovision_domain(
        world.session([target]), target, replace(FAST, delete_domain=True), deadline=60
    )
    assert report.exit_code is ExitCode.OK, report.message
    assert ("rg-email", "contoso-email", DOMAIN) not in world.comm.domains
    assert snapshot(world) == {}


def test_prune_token_removes_only_the_token_once_domain_is_verified(world: FakeWorld) -> None:
    seed_foreign(world)
    target = world.target(DOMAIN, prune_token=True, spf_hardfail=True)

    report = provision_domain(world.session([target]), target, FAST, deadline=60)

    assert report.result is Result.VERIFIED and "verification token removed" in report.message
    assert texts(world, "mail") == [
        "google-site-verification=abc",
        f"v=spf1 ip4:192.0.2.1 {ACS_INCLUDE} -all",
    ]
    world.dns.calls.clear()
    again = provision_domain(world.session([target]), target, FAST, deadline=60)
    assert again.result is Result.VERIFIED and again.written == []
    assert "write" not in world.dns.calls


def test_two_links_at_once_both_end_linked(world: FakeWorld) -> None:
    """A rival writer that read the list before our PATCH lands its own on top of ours; reading back after
    the settle sees the loss and links again, keeping the rival's domain."""
    rival = "/fake/domains/b.contoso.test"
    world.comm.add(
        "rg-email",
        "contoso-email",
        replace(
            email_domain("b.contoso.test", acs_records("b.contoso.test")),
            states=dict.fromkeys(lifecycle.LINK_KINDS, KindState("Verified")),
        ),
    )
    stale = list(world.comm.communication_services[("rg-email", "contoso-acs")].linked_domains)

    def rival_patch_from_its_stale_read() -> None:
        world.comm.after_link = None
        world.comm.set_linked_domains("rg-email", "contoso-acs", [*stale, rival])

    world.comm.after_link = rival_patch_from_its_stale_read
    target = world.target(DOMAIN, communication_service="contoso-acs")

    report = provision_domain(world.session([target]), target, FAST, deadline=60)

    assert report.result is Result.VERIFIED, report.message
    linked = world.comm.communication_services[("rg-email", "contoso-acs")].linked_domains
    assert linked == (OTHER, rival, f"/fake/domains/{DOMAIN}")
    assert world.comm.calls.count("set_linked_domains") == 3  # ours, the rival's, ours again


def test_a_domain_provisioned_before_the_markers_deprovisions_safely(world: FakeWorld) -> None:
    """Only the DKIM CNAMEs carry acsdns_owner; the token equals this domain's: both removed. The SPF
    include cannot be proven (Microsoft 365 uses the same one): left and named, exit 5."""
    zone = zone_of(world)
    spf = f"v=spf1 ip4:192.0.2.1 {ACS_INCLUDE} -all"
    world.dns.put(zone, RecordSet("mail", RecordType.TXT, 300, txt=(TxtRecord((spf,)), TxtRecord((TOKEN,)))))
    for n in (1, 2):
        world.dns.put(
            zone,
            RecordSet(
                f"selector{n}-azurecomm-prod-net._domainkey.mail",
                RecordType.CNAME,
                3600,
                cname=f"selector{n}-azurecomm-prod-net._domainkey.azurecomm.net",
                metadata={OWNER_METADATA_KEY: DOMAIN},
            ),
        )
    target = world.target(DOMAIN)

    report = deprovision_domain(world.session([target]), target, FAST, deadline=60)

    assert (report.result, report.exit_code) == (Result.REFUSED, ExitCode.REFUSED)
    assert ACS_INCLUDE in report.message and "Microsoft 365" in report.message
    assert texts(world, "mail") == [spf]
    assert world.dns.get(zone, "selector1-azurecomm-prod-net._domainkey.mail", RecordType.CNAME) is None


def test_deprovision_never_removes_another_domains_cname_or_unmarked_values(world: FakeWorld) -> None:
    zone = zone_of(world)
    foreign_cname = RecordSet(
        "selector1-azurecomm-prod-net._domainkey.other",
        RecordType.CNAME,
        3600,
        cname="x.azurecomm.net",
        metadata={OWNER_METADATA_KEY: "other.contoso.test"},
    )
    world.dns.put(zone, foreign_cname)
    target = world.target(DOMAIN)
    provision_domain(world.session([target]), target, FAST, deadline=60)
    deprovision_domain(world.session([target]), target, FAST, deadline=60)
    kept = world.dns.get(zone, foreign_cname.name, RecordType.CNAME)
    assert kept is not None and replace(kept, etag=None) == foreign_cname


# ---- property: provision then deprovision never changes a foreign value -----------------------------------
_text = st.text(
    st.characters(min_codepoint=33, max_codepoint=126, exclude_characters='"\\'), min_size=1, max_size=40
)
_spf = st.builds(
    lambda mechs, end: " ".join(["v=spf1", *mechs, end]).strip(),
    st.lists(
        st.sampled_from(
            ["ip4:192.0.2.1", "mx", "a", ACS_INCLUDE, "include:_spf.google.com", "exists:x.test"]
        ),
        max_size=4,
        unique=True,
    ),
    st.sampled_from(["-all", "~all", "?all", "", "redirect=_spf.contoso.test"]),
)
_values = st.lists(
    st.one_of(_text, _spf, st.just("ms-domain-verification=someone-else")), max_size=5, unique=True
)
_metadata = st.dictionaries(st.sampled_from(["team", "owner", "ticket"]), _text, max_size=2)


@st.composite
def zones(draw: st.DrawFn) -> dict[str, RecordSet]:
    sets: dict[str, RecordSet] = {}
    for name in ("mail", "_dmarc.mail", "selector1-azurecomm-prod-net._domainkey.mail"):
        kind = draw(
            st.sampled_from(["none", "txt", "cname"])
            if "selector" in name
            else st.sampled_from(["none", "txt"])
        )
        if kind == "txt":
            values = draw(
                _values
                if name == "mail"
                else st.lists(st.one_of(_text, st.just("v=DMARC1; p=reject")), max_size=3)
            )
            records = tuple(TxtRecord((v,)) for v in values if v)
            sets[name] = RecordSet(
                name, RecordType.TXT, draw(st.sampled_from([60, 3600])), txt=records, metadata=draw(_metadata)
            )
        elif kind == "cname":
            target = draw(
                st.sampled_from(["elsewhere.test", "selector1-azurecomm-prod-net._domainkey.azurecomm.net"])
            )
            sets[name] = RecordSet(name, RecordType.CNAME, 3600, cname=target, metadata=draw(_metadata))
    return sets


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    sets=zones(),
    hardfail=st.booleans(),
    dmarc=st.sampled_from([None, DMARC]),
    dmarc_replace=st.booleans(),
    prune=st.booleans(),
)
def test_provision_then_deprovision_never_changes_a_foreign_value(
    sets: dict[str, RecordSet], hardfail: bool, dmarc: str | None, dmarc_replace: bool, prune: bool
) -> None:
    w = world_with(DOMAIN)
    zone = zone_of(w)
    for record_set in sets.values():
        w.dns.put(zone, record_set)
    before = snapshot(w)
    target = w.target(
        DOMAIN, spf_hardfail=hardfail, dmarc=dmarc, dmarc_replace=dmarc_replace, prune_token=prune
    )

    provision_domain(w.session([target]), target, FAST, deadline=60)
    deprovision_domain(w.session([target]), target, FAST, deadline=60)

    assert snapshot(w) == before


# ---- the removal planner, case by case ----------------------------------------------------------------
def _provisioned(world: FakeWorld, **kwargs: object):
    target = world.target(DOMAIN, **kwargs)
    report = provision_domain(world.session([target]), target, FAST, deadline=60)
    assert report.exit_code is ExitCode.OK, report.message
    return target


def test_an_spf_edited_since_loses_only_the_include_acs_dns_added(world: FakeWorld) -> None:
    world.dns.put(
        zone_of(world), RecordSet("mail", RecordType.TXT, 300, txt=(TxtRecord(("v=spf1 mx -all",)),))
    )
    target = _provisioned(world)
    held = world.dns.get(zone_of(world), "mail", RecordType.TXT)
    assert held is not None
    edited = tuple(
        TxtRecord((f"v=spf1 mx {ACS_INCLUDE} ip4:198.51.100.7 -all",)) if t.text.startswith("v=spf1") else t
        for t in held.txt
    )
    world.dns.put(zone_of(world), replace(held, txt=edited))

    report = deprovision_domain(world.session([target]), target, FAST, deadline=60)

    assert report.exit_code is ExitCode.OK, report.message
    assert texts(world, "mail") == ["v=spf1 mx ip4:198.51.100.7 -all"]
    assert world.dns.get(zone_of(world), "mail", RecordType.TXT).metadata == ()  # type: ignore[union-attr]


def test_a_cname_taken_over_gets_its_old_target_back(world: FakeWorld) -> None:
    name = "selector1-azurecomm-prod-net._domainkey.mail"
    theirs = RecordSet(name, RecordType.CNAME, 3600, cname="old.example.net", metadata={"team": "mail"})
    world.dns.put(zone_of(world), theirs)
    target = _provisioned(world, takeover=True)
    assert world.dns.get(zone_of(world), name, RecordType.CNAME).cname.endswith("azurecomm.net")  # type: ignore[union-attr]

    deprovision_domain(world.session([target]), target, FAST, deadline=60)

    back = world.dns.get(zone_of(world), name, RecordType.CNAME)
    assert back is not None and replace(back, etag=None) == theirs


def test_prune_keeps_a_token_acs_dns_did_not_add(world: FakeWorld) -> None:
    spf = f"v=spf1 {ACS_INCLUDE} -all"
    world.dns.put(
        zone_of(world), RecordSet("mail", RecordType.TXT, 300, txt=(TxtRecord((TOKEN,)), TxtRecord((spf,))))
    )
    target = world.target(DOMAIN)
    provision_domain(world.session([target]), target, FAST, deadline=60)  # adds nothing, marks nothing
    world.dns.put(
        zone_of(world),
        replace(world.dns.get(zone_of(world), "mail", RecordType.TXT), metadata={"acsdns_spf_added": ""}),  # type: ignore[arg-type]
    )
    pruning = world.target(DOMAIN, prune_token=True)

    report = provision_domain(world.session([pruning]), pruning, FAST, deadline=60)

    assert report.exit_code is ExitCode.OK
    assert TOKEN in texts(world, "mail")


def test_deprovision_after_the_email_domain_is_gone_still_uses_the_markers(world: FakeWorld) -> None:
    before = snapshot(world)
    target = _provisioned(world)
    del world.comm.domains[("rg-email", "contoso-email", DOMAIN)]

    report = deprovision_domain(world.session([target]), target, FAST, deadline=60)

    assert report.exit_code is ExitCode.OK, report.message
    assert snapshot(world) == before


def test_deprovision_is_refused_write_by_write_when_a_set_changes_under_it(world: FakeWorld) -> None:
    """A 412 on a delete re-reads and re-plans: a value another team added meanwhile survives."""
    target = _provisioned(world)
    zone = zone_of(world)
    added = []

    def someone_adds_a_value(z, name: str, type_: RecordType) -> None:
        if name == "mail" and not added:
            added.append(1)
            held = world.dns.get(zone, "mail", RecordType.TXT)
            world.dns.put(zone, replace(held, txt=(*held.txt, TxtRecord(("late=1",)))))  # type: ignore[arg-type]

    world.dns.before_write = someone_adds_a_value
    report = deprovision_domain(world.session([target]), target, FAST, deadline=60)

    assert report.exit_code is ExitCode.OK, report.message
    assert texts(world, "mail") == ["late=1"]


def test_a_saved_plan_keeps_the_link_and_senders_and_applies_them_after_verification(
    world: FakeWorld,
) -> None:
    from provisioner import plan_file
    from provisioner.reconcile import apply_saved_plan

    target = world.target(DOMAIN, communication_service="contoso-acs", senders=(("billing", "Billing"),))
    planned = plan_domain(world.session([target]), target, replace(FAST, dry_run=True), deadline=60)
    assert planned.plan is not None
    [saved] = plan_file.loads(plan_file.dumps([plan_file.SavedPlan(target, planned.plan)]))
    assert (saved.target.communication_service, saved.target.senders) == (
        "contoso-acs",
        (("billing", "Billing"),),
    )

    command = apply_saved_plan({saved.target: saved.plan})
    session = world.session([saved.target])
    report = settle(session, command(session, saved.target, FAST, 60))

    assert report.result is Result.VERIFIED, report.message
    assert (
        f"/fake/domains/{DOMAIN}"
        in world.comm.communication_services[("rg-email", "contoso-acs")].linked_domains
    )
    assert "billing" in world.comm.senders[("rg-email", "contoso-email", DOMAIN)]


def test_deprovisioning_many_domains_of_one_zone_lists_the_zone_once() -> None:
    """A config of domains in one zone: provision then deprovision read the zone's record sets with one
    listing per run each (not one per domain), and deprovision still removes every domain's records."""
    names = [f"m{i}.{ZONE}" for i in range(4)]
    world = world_with(*names)
    targets = [world.target(n) for n in names]
    session = world.session(targets)
    for t in targets:
        assert provision_domain(session, t, FAST, deadline=60).result is Result.VERIFIED
    world.dns.calls.clear()

    session = world.session(targets)
    removed = [deprovision_domain(session, t, FAST, deadline=60) for t in targets]

    assert [r.result for r in removed] == [Result.REMOVED] * len(names), [r.message for r in removed]
    assert world.dns.calls.count("list_record_sets") == 1, world.dns.calls
    assert not [k for k in world.dns._sets(zone_of(world)) if k[0] != "@"], (
        "every domain's record sets removed"
    )
