"""Plans: TXT merge per name, DKIM CNAME ownership/takeover/conflicts, idempotence, gathered refusals."""

from __future__ import annotations

from dataclasses import replace

import pytest

from provisioner.desired import DesiredRecord, desired_records
from provisioner.errors import RefusedError
from provisioner.model import (
    OWNER_METADATA_KEY,
    RecordSet,
    RecordType,
    TxtRecord,
    VerificationKind,
    VerificationRecord,
)
from provisioner.plan import Action, Change, Plan, make_plan

K = VerificationKind
TOKEN = "ms-domain-verification=3f2c9d4e-8b1a-4c6f-9e2d-7a5b1c0d4e8f"
SPF = "v=spf1 include:spf.protection.outlook.com -all"
DKIM1 = "selector1-azurecomm-prod-net._domainkey"
DKIM2 = "selector2-azurecomm-prod-net._domainkey"
TARGET1 = f"{DKIM1}.azurecomm.net"
TARGET2 = f"{DKIM2}.azurecomm.net"
DMARC = "v=DMARC1; p=none;"
GOOGLE = TxtRecord(("google-site-verification=abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",))
MARK = ((OWNER_METADATA_KEY, "mail.example.com"),)


def wanted(
    domain: str = "mail.example.com", zone: str = "example.com", dmarc: bool = False
) -> list[DesiredRecord]:
    records = [
        VerificationRecord(K.DOMAIN, "TXT", domain, TOKEN, 3600),
        VerificationRecord(K.SPF, "TXT", domain, SPF, 3600),
        VerificationRecord(K.DKIM, "CNAME", DKIM1, TARGET1, 3600),
        VerificationRecord(K.DKIM2, "CNAME", DKIM2, TARGET2, 3600),
    ]
    if dmarc:
        records.append(VerificationRecord(K.DMARC, "TXT", f"_dmarc.{domain}", DMARC, 3600))
    return desired_records(domain, zone, records)


def txt(name: str, *records: TxtRecord, **kwargs: object) -> RecordSet:
    return RecordSet(name, RecordType.TXT, txt=records, **kwargs)  # type: ignore[arg-type]


def cname(name: str, target: str, **kwargs: object) -> RecordSet:
    return RecordSet(name, RecordType.CNAME, cname=target, **kwargs)  # type: ignore[arg-type]


def plan(current: list[RecordSet], **kwargs: object) -> Plan:
    return make_plan("mail.example.com", "example.com", wanted(), current, **kwargs)  # type: ignore[arg-type]


def applied(current: list[RecordSet], result: Plan) -> list[RecordSet]:
    """The zone after a plan is written: each change's `after` replaces what was at its key."""
    by_key = {(s.name.lower(), s.type): s for s in current}
    for change in result.changes:
        by_key[(change.after.name.lower(), change.after.type)] = replace(change.after, etag="new")
    return list(by_key.values())


def change_at(result: Plan, name: str, type_: RecordType) -> Change:
    return next(c for c in result.changes if c.key == (name, type_))


# --- empty zone ---------------------------------------------------------------------------------------


def test_empty_zone_creates_everything_in_a_deterministic_order() -> None:
    result = plan([])
    assert result.zone == "example.com"
    assert [(c.action, c.key, c.kinds) for c in result.changes] == [
        (Action.CREATE, ("mail", RecordType.TXT), (K.DOMAIN, K.SPF)),
        (Action.CREATE, (f"{DKIM1}.mail", RecordType.CNAME), (K.DKIM,)),
        (Action.CREATE, (f"{DKIM2}.mail", RecordType.CNAME), (K.DKIM2,)),
    ]
    assert result.has_changes and result.writes == result.changes
    assert change_at(result, "mail", RecordType.TXT).after.txt == (TxtRecord((TOKEN,)), TxtRecord((SPF,)))


def test_created_cnames_carry_the_owner_marker() -> None:
    result = plan([])
    dkim = change_at(result, f"{DKIM1}.mail", RecordType.CNAME)
    assert dkim.before is None
    assert dkim.after == RecordSet(f"{DKIM1}.mail", RecordType.CNAME, 3600, cname=TARGET1, metadata=MARK)


def test_explicit_owner_value_is_used() -> None:
    result = plan([], owner="team-mail")
    dkim = change_at(result, f"{DKIM1}.mail", RecordType.CNAME)
    assert dkim.after.metadata_dict() == {OWNER_METADATA_KEY: "team-mail"}


def test_apex_domain_plan() -> None:
    result = make_plan("example.com", "example.com", wanted("example.com"), [])
    assert [c.key for c in result.changes] == [
        ("@", RecordType.TXT),
        (DKIM1, RecordType.CNAME),
        (DKIM2, RecordType.CNAME),
    ]


def test_dmarc_gets_its_own_txt_change() -> None:
    result = make_plan("mail.example.com", "example.com", wanted(dmarc=True), [])
    dmarc = change_at(result, "_dmarc.mail", RecordType.TXT)
    assert (dmarc.action, dmarc.kinds, dmarc.after.txt) == (Action.CREATE, (K.DMARC,), (TxtRecord((DMARC,)),))


# --- idempotence ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "start",
    [
        [],
        [txt("mail", GOOGLE, TxtRecord(("v=spf1 include:_spf.google.com -all",)))],
        [txt("_dmarc.mail", TxtRecord(("v=DMARC1; p=reject",)))],
    ],
)
def test_planning_an_applied_plan_again_gives_only_noops(start: list[RecordSet]) -> None:
    desired = wanted(dmarc=True)
    first = make_plan("mail.example.com", "example.com", desired, start)
    assert first.has_changes
    second = make_plan("mail.example.com", "example.com", desired, applied(start, first))
    assert second.writes == ()
    assert not second.has_changes
    assert {c.action for c in second.changes} == {Action.NOOP}
    assert len(second.changes) == 4


def test_noop_changes_keep_before_equal_to_after() -> None:
    current = [
        txt("mail", TxtRecord((TOKEN,)), TxtRecord((SPF,)), etag="1"),
        cname(f"{DKIM1}.mail", TARGET1, metadata=MARK, etag="2"),
        cname(f"{DKIM2}.mail", TARGET2, metadata=MARK, etag="3"),
    ]
    result = plan(current)
    assert all(c.before == c.after for c in result.changes)
    assert all(c.notes == () for c in result.changes)


def test_current_may_be_a_mapping_keyed_by_name_and_type() -> None:
    current = {("mail", RecordType.TXT): txt("mail", TxtRecord((TOKEN,)), TxtRecord((SPF,)))}
    result = plan(current)  # type: ignore[arg-type]
    assert change_at(result, "mail", RecordType.TXT).action is Action.NOOP


def test_names_are_compared_case_insensitively_and_azure_spelling_is_kept() -> None:
    current = [
        txt("Mail", TxtRecord((TOKEN,)), TxtRecord((SPF,))),
        cname(f"{DKIM1}.MAIL".upper(), TARGET1.upper() + ".", metadata=MARK),
    ]
    result = plan(current)
    assert change_at(result, "Mail", RecordType.TXT).action is Action.NOOP
    assert change_at(result, f"{DKIM1}.MAIL".upper(), RecordType.CNAME).action is Action.NOOP


# --- TXT ------------------------------------------------------------------------------------------------


def test_foreign_txt_values_are_kept_and_ours_merged() -> None:
    long_foreign = TxtRecord(("a" * 255, "b" * 100))
    before = txt("mail", GOOGLE, long_foreign, TxtRecord(("v=spf1 mx -all",)), ttl=600, etag="etag-7")
    result = plan([before])
    change = change_at(result, "mail", RecordType.TXT)
    assert change.action is Action.UPDATE
    assert change.before == before
    assert change.after.txt == (
        GOOGLE,
        long_foreign,
        TxtRecord(("v=spf1 mx include:spf.protection.outlook.com -all",)),
        TxtRecord((TOKEN,)),
    )
    assert (change.after.ttl, change.after.etag) == (600, "etag-7")
    assert change.summary() == (
        f"  {GOOGLE.text}",
        f"  {long_foreign.text}",
        "- v=spf1 mx -all",
        "+ v=spf1 mx include:spf.protection.outlook.com -all",
        f"+ {TOKEN}",
    )


def test_soft_fail_is_refused_then_allowed() -> None:
    current = [txt("mail", TxtRecord(("v=spf1 mx ~all",)))]
    with pytest.raises(RefusedError) as caught:
        plan(current)
    assert caught.value.message.startswith("TXT mail in zone 'example.com':")
    assert "--spf-hardfail" in (caught.value.hint or "")
    change = change_at(plan(current, allow_hardfail_change=True), "mail", RecordType.TXT)
    assert "changed ~all to -all" in change.notes


def test_cname_at_the_txt_name_is_refused() -> None:
    with pytest.raises(RefusedError, match=r"a CNAME record set .* already exists at 'mail'"):
        plan([cname("mail", "elsewhere.example.net")])


def test_cname_at_the_txt_name_is_refused_even_with_takeover() -> None:
    with pytest.raises(RefusedError, match="CNAME"):
        plan([cname("mail", "elsewhere.example.net")], takeover=True)


def test_other_types_at_the_txt_name_do_not_matter() -> None:
    current = [RecordSet("mail", RecordType.MX), RecordSet("mail", RecordType.A)]
    assert change_at(plan(current), "mail", RecordType.TXT).action is Action.CREATE


def test_existing_dmarc_policy_is_kept() -> None:
    theirs = txt("_dmarc.mail", TxtRecord(("v=DMARC1; p=quarantine",)))
    result = make_plan("mail.example.com", "example.com", wanted(dmarc=True), [theirs])
    change = change_at(result, "_dmarc.mail", RecordType.TXT)
    assert (change.action, change.after) == (Action.NOOP, theirs)
    assert "kept the existing DMARC record" in change.notes[0]


# --- DKIM CNAMEs ------------------------------------------------------------------------------------------


def test_same_target_without_marker_is_a_noop_that_is_not_rewritten() -> None:
    before = cname(f"{DKIM1}.mail", TARGET1 + ".", metadata={"team": "mail"}, etag="e1")
    change = change_at(plan([before]), f"{DKIM1}.mail", RecordType.CNAME)
    assert (change.action, change.after) == (Action.NOOP, before)
    assert change.notes == ("not marked as managed by acs-dns",)


def test_owned_cname_with_another_target_is_updated_keeping_foreign_metadata() -> None:
    before = cname(f"{DKIM1}.mail", "old.azurecomm.net", metadata={**dict(MARK), "team": "mail"}, etag="e1")
    change = change_at(plan([before]), f"{DKIM1}.mail", RecordType.CNAME)
    assert change.action is Action.UPDATE
    assert change.after == replace(before, cname=TARGET1)
    assert change.after.metadata_dict() == {OWNER_METADATA_KEY: "mail.example.com", "team": "mail"}
    assert change.summary() == ("- old.azurecomm.net", f"+ {TARGET1}")


def test_owner_marker_is_compared_case_insensitively() -> None:
    before = cname(f"{DKIM1}.mail", "old.azurecomm.net", metadata={OWNER_METADATA_KEY: "Mail.Example.com"})
    assert change_at(plan([before]), f"{DKIM1}.mail", RecordType.CNAME).action is Action.UPDATE


def test_foreign_cname_is_refused_naming_takeover() -> None:
    before = cname(f"{DKIM1}.mail", "someone-else.example.net")
    with pytest.raises(RefusedError) as caught:
        plan([before])
    assert "not managed by acs-dns" in caught.value.message
    assert "someone-else.example.net" in caught.value.message
    assert "--takeover" in (caught.value.hint or "")


def test_cname_owned_for_another_domain_is_refused() -> None:
    before = cname(f"{DKIM1}.mail", "x.example.net", metadata={OWNER_METADATA_KEY: "other.example.com"})
    with pytest.raises(RefusedError, match=r"managed by acs-dns for 'other\.example\.com'"):
        plan([before])


def test_takeover_replaces_the_target_and_adds_the_marker() -> None:
    before = cname(f"{DKIM1}.mail", "someone-else.example.net", metadata={"team": "x"}, ttl=120, etag="e9")
    change = change_at(plan([before], takeover=True), f"{DKIM1}.mail", RecordType.CNAME)
    assert change.action is Action.UPDATE
    assert change.after == RecordSet(
        f"{DKIM1}.mail",
        RecordType.CNAME,
        120,
        cname=TARGET1,
        metadata={OWNER_METADATA_KEY: "mail.example.com", "team": "x"},  # type: ignore[arg-type]
        etag="e9",
    )
    assert change.notes == ("taken over (was -> someone-else.example.net)",)


@pytest.mark.parametrize("other", [RecordType.TXT, RecordType.A, RecordType.MX])
def test_other_type_at_the_cname_name_is_refused_even_with_takeover(other: RecordType) -> None:
    current = [RecordSet(f"{DKIM1}.mail", other)]
    for takeover in (False, True):
        with pytest.raises(RefusedError, match=f"{other} record set"):
            plan(current, takeover=takeover)


# --- gathered refusals ---------------------------------------------------------------------------------


def test_every_refusal_is_reported_at_once() -> None:
    current = [
        txt("mail", TxtRecord(("v=spf1 mx ~all",))),
        cname(f"{DKIM1}.mail", "someone-else.example.net"),
        RecordSet(f"{DKIM2}.mail", RecordType.TXT),
    ]
    with pytest.raises(RefusedError) as caught:
        plan(current)
    message = caught.value.message
    assert "for 3 reasons" in message
    # in plan order (by name), whatever order they were found in
    assert message.index("- TXT mail:") < message.index(f"- CNAME {DKIM1}.mail:")
    assert message.index(f"- CNAME {DKIM1}.mail:") < message.index(f"- CNAME {DKIM2}.mail:")
    assert "fix: re-run with --spf-hardfail" in message
    assert "--takeover" in message
    assert caught.value.exit_code == 5


# --- plan and change helpers ------------------------------------------------------------------------------


def test_plan_writes_exclude_noops() -> None:
    current = [txt("mail", TxtRecord((TOKEN,)), TxtRecord((SPF,)))]
    result = plan(current)
    assert [c.key for c in result.writes] == [
        (f"{DKIM1}.mail", RecordType.CNAME),
        (f"{DKIM2}.mail", RecordType.CNAME),
    ]
    assert result.has_changes


def test_change_values_and_summary_for_a_create() -> None:
    change = change_at(plan([]), "mail", RecordType.TXT)
    assert change.before_values == ()
    assert change.after_values == (TOKEN, SPF)
    assert change.summary() == (f"+ {TOKEN}", f"+ {SPF}")


def test_unsupported_desired_type_is_a_programming_error() -> None:
    desired = [DesiredRecord(K.DOMAIN, "mail", RecordType.MX, "x", 3600)]
    with pytest.raises(ValueError, match="does not plan MX"):
        make_plan("mail.example.com", "example.com", desired, [])


def test_an_empty_cname_set_is_filled_and_marked_keeping_its_metadata() -> None:
    empty = RecordSet(f"{DKIM1}.mail", RecordType.CNAME, metadata={"team": "x"}, etag="e1")
    plan = make_plan("mail.example.com", "example.com", wanted(), [empty])
    change = next(c for c in plan.changes if c.after.name == f"{DKIM1}.mail")
    assert change.action is Action.UPDATE
    assert change.after.cname == TARGET1
    assert change.after.metadata_dict() == {"team": "x", OWNER_METADATA_KEY: "mail.example.com"}
    assert change.before is not None and change.before.etag == "e1"


# --- what the operator reads: refusals, notes and kinds, word for word ----------------------------------


def test_a_cname_where_the_txt_records_go_is_refused_with_the_whole_reason_and_fix() -> None:
    with pytest.raises(RefusedError) as caught:
        plan([cname("mail", "elsewhere.example.net")])
    assert caught.value.message == (
        "TXT mail in zone 'example.com': a CNAME record set (-> elsewhere.example.net) already exists at "
        "'mail', and a CNAME cannot share its name with the TXT records Azure Communication Services needs "
        "[cname-at-domain]"
    )
    assert caught.value.hint == "remove the CNAME at 'mail' (or use another email domain), then re-run"


def test_other_record_types_at_a_dkim_name_are_all_named_in_the_refusal() -> None:
    current = [RecordSet(f"{DKIM1}.mail", RecordType.MX), RecordSet(f"{DKIM1}.mail", RecordType.A)]
    with pytest.raises(RefusedError) as caught:
        plan(current)
    assert caught.value.message == (
        f"CNAME {DKIM1}.mail in zone 'example.com': A and MX record set(s) already exist at "
        f"'{DKIM1}.mail', and the DKIM CNAME cannot share its name with any other record "
        "(--takeover does not change that)"
    )
    assert caught.value.hint == (
        f"remove the A and MX record set(s) at '{DKIM1}.mail' if nothing needs them, then re-run"
    )


def test_a_foreign_cname_refusal_reads_whole() -> None:
    with pytest.raises(RefusedError) as caught:
        plan([cname(f"{DKIM1}.mail", "someone-else.example.net")])
    assert caught.value.message == (
        f"CNAME {DKIM1}.mail in zone 'example.com': the CNAME at '{DKIM1}.mail' points to "
        f"someone-else.example.net, not {TARGET1}, and is not managed by acs-dns [dkim-wrong-target]"
    )
    assert caught.value.hint == (
        "check that nothing else uses it, then re-run with --takeover to let acs-dns replace it"
    )


def test_several_refusals_are_one_message_a_line_each_with_its_fix() -> None:
    current = [cname("mail", "elsewhere.example.net"), cname(f"{DKIM1}.mail", "someone-else.example.net")]
    with pytest.raises(RefusedError) as caught:
        plan(current)
    assert caught.value.message.splitlines() == [
        "acs-dns refuses to change zone 'example.com' for 2 reasons:",
        "  - TXT mail: a CNAME record set (-> elsewhere.example.net) already exists at 'mail', and a CNAME "
        "cannot share its name with the TXT records Azure Communication Services needs [cname-at-domain]",
        "    fix: remove the CNAME at 'mail' (or use another email domain), then re-run",
        f"  - CNAME {DKIM1}.mail: the CNAME at '{DKIM1}.mail' points to someone-else.example.net, not "
        f"{TARGET1}, and is not managed by acs-dns [dkim-wrong-target]",
        "    fix: check that nothing else uses it, then re-run with --takeover to let acs-dns replace it",
    ]
    assert caught.value.hint is None  # each reason carries its own fix


def test_refusals_and_changes_are_ordered_by_name_ignoring_case() -> None:
    # '_' sorts before letters in lower case and after them in upper case: the order is the lower-case one
    desired = wanted(dmarc=True)
    result = make_plan("mail.example.com", "example.com", desired, [])
    assert [c.key[0] for c in result.changes] == ["_dmarc.mail", "mail", f"{DKIM1}.mail", f"{DKIM2}.mail"]
    blocked = [cname("_dmarc.mail", "x.example.net"), cname("mail", "y.example.net")]
    with pytest.raises(RefusedError) as caught:
        make_plan("mail.example.com", "example.com", desired, blocked)
    message = caught.value.message
    assert message.index("- TXT _dmarc.mail:") < message.index("- TXT mail:")


def test_a_created_dkim_cname_keeps_the_ttl_azure_gives() -> None:
    records = [VerificationRecord(K.DKIM, "CNAME", DKIM1, TARGET1, 600)]
    desired = desired_records("mail.example.com", "example.com", records)
    [change] = make_plan("mail.example.com", "example.com", desired, []).changes
    assert (change.action, change.after.ttl, change.kinds) == (Action.CREATE, 600, (K.DKIM,))


def test_every_cname_change_names_its_verification_type_and_why() -> None:
    at = f"{DKIM1}.mail"
    cases = {
        "noop": cname(at, TARGET1, metadata=dict(MARK)),
        "owned": cname(at, "old.azurecomm.net", metadata=dict(MARK)),
        "empty": RecordSet(at, RecordType.CNAME),
        "foreign": cname(at, "someone-else.example.net"),
    }
    got = {
        case: change_at(plan([before], takeover=True), at, RecordType.CNAME) for case, before in cases.items()
    }
    assert {case: (c.action, c.kinds, c.notes) for case, c in got.items()} == {
        "noop": (Action.NOOP, (K.DKIM,), ()),
        "owned": (Action.UPDATE, (K.DKIM,), ("target changed",)),
        "empty": (Action.UPDATE, (K.DKIM,), ("filled an empty CNAME record set",)),
        "foreign": (Action.UPDATE, (K.DKIM,), ("taken over (was -> someone-else.example.net)",)),
    }


def test_an_empty_cname_set_has_no_value_to_show() -> None:
    empty = RecordSet(f"{DKIM1}.mail", RecordType.CNAME, etag="e1")
    change = change_at(plan([empty]), f"{DKIM1}.mail", RecordType.CNAME)
    assert (change.before_values, change.after_values) == ((), (TARGET1,))
    assert change.summary() == (f"+ {TARGET1}",)


@pytest.mark.parametrize(
    ("action", "before", "after", "needs"),
    [
        (Action.UPDATE, None, cname("x", "t"), "a update change needs the record set as read (before)"),
        (Action.NOOP, None, cname("x", "t"), "a noop change needs the record set as read (before)"),
        (Action.UPDATE, cname("x", "t"), None, "a update change needs the record set to store (after)"),
        (Action.CREATE, None, None, "a create change needs the record set to store (after)"),
    ],
)
def test_a_change_without_the_sets_it_needs_is_a_programming_error(
    action: Action, before: RecordSet | None, after: RecordSet | None, needs: str
) -> None:
    with pytest.raises(ValueError) as caught:
        Change(action, before, after, (K.DKIM,))
    assert str(caught.value) == needs
