"""Ownership markers (pure): what provision records it added, the user's DMARC, --prune-token, and
`remake` working a change's action out again. Word for word where a user reads it."""

from __future__ import annotations

from dataclasses import replace

import pytest

from provisioner.desired import desired_records
from provisioner.errors import RefusedError
from provisioner.model import OWNER_METADATA_KEY, RecordSet, RecordType, TxtRecord, VerificationRecord
from provisioner.model import VerificationKind as K
from provisioner.ownership import (
    DMARC_BEFORE_KEY,
    DMARC_KEY,
    SPF_ADDED_KEY,
    SPF_AFTER_KEY,
    SPF_BEFORE_KEY,
    TOKEN_KEY,
    lifecycle_plan,
    prune_token,
    remake,
    with_user_dmarc,
)
from provisioner.plan import Action, Change

DOMAIN, ZONE = "mail.contoso.com", "contoso.com"
TOKEN = "ms-domain-verification=5b1c0d4e-8f3f-4c6f-9e2d-7a5b1c0d4e8f"
INCLUDE = "include:spf.protection.outlook.com"
SPF = f"v=spf1 {INCLUDE} -all"
DMARC = "v=DMARC1; p=none"
DESIRED = desired_records(
    DOMAIN,
    ZONE,
    [
        VerificationRecord(K.DOMAIN, "TXT", DOMAIN, TOKEN, 3600),
        VerificationRecord(K.SPF, "TXT", DOMAIN, SPF, 3600),
    ],
)


def txt(name: str, *values: str, **metadata: str) -> RecordSet:
    return RecordSet(
        name, RecordType.TXT, 3600, txt=tuple(TxtRecord((v,)) for v in values), metadata=metadata, etag="e1"
    )  # type: ignore[arg-type]


def at(sets: list[RecordSet]) -> dict[tuple[str, RecordType], RecordSet]:
    return {(s.name.lower(), s.type): s for s in sets}


def change_at(plan, name: str) -> Change:  # type: ignore[no-untyped-def]
    return next(c for c in plan.changes if c.key == (name, RecordType.TXT))


# ---- remake: the action follows the sets; kinds and notes are kept and added to -------------------------
def test_remake_works_the_action_out_and_keeps_kinds_and_notes() -> None:
    held = txt("mail", "a")
    base = Change(Action.UPDATE, held, held, (K.DOMAIN, K.SPF), ("first",))
    deleted = remake(held, None, base, ("second",))
    created = remake(None, held, base, ("second",))
    same = remake(
        held, replace(txt("mail", "a"), etag="other"), base
    )  # only the ETag differs: nothing to write
    changed = remake(held, txt("mail", "b"), base, ("second",))
    assert [(c.action, c.before, c.after, c.kinds, c.notes) for c in (deleted, created, same, changed)] == [
        (Action.DELETE, held, None, (K.DOMAIN, K.SPF), ("first", "second")),
        (Action.CREATE, None, held, (K.DOMAIN, K.SPF), ("first", "second")),
        (Action.NOOP, held, replace(txt("mail", "a"), etag="other"), (K.DOMAIN, K.SPF), ("first",)),
        (Action.UPDATE, held, txt("mail", "b"), (K.DOMAIN, K.SPF), ("first", "second")),
    ]


# ---- markers of what provision adds ---------------------------------------------------------------------
def test_a_created_set_records_the_owner_token_and_the_whole_spf() -> None:
    change = change_at(lifecycle_plan(DOMAIN, ZONE, DESIRED, {}), "mail")
    assert change.action is Action.CREATE
    assert change.after is not None and change.after.metadata_dict() == {
        OWNER_METADATA_KEY: DOMAIN,
        TOKEN_KEY: TOKEN,
        SPF_BEFORE_KEY: "",
        SPF_ADDED_KEY: INCLUDE,
        SPF_AFTER_KEY: SPF,
    }


def test_an_existing_spf_records_what_was_there_and_only_the_include_added() -> None:
    held = txt(
        "mail",
        "v=spf1 mx include:b.example ~all",
        "keep=me",
        team="web",
        **{TOKEN_KEY: "ms-domain-verification=old"},
    )
    change = change_at(lifecycle_plan(DOMAIN, ZONE, DESIRED, at([held]), allow_hardfail_change=True), "mail")
    merged = f"v=spf1 mx include:b.example {INCLUDE} -all"
    assert change.after is not None and change.after.metadata_dict() == {
        "team": "web",
        TOKEN_KEY: f"ms-domain-verification=old {TOKEN}",  # earlier tokens stay listed, in order
        SPF_BEFORE_KEY: "v=spf1 mx include:b.example ~all",
        SPF_ADDED_KEY: INCLUDE,
        SPF_AFTER_KEY: merged,
    }
    assert OWNER_METADATA_KEY not in change.after.metadata_dict()  # acs-dns did not create this set


def test_the_spf_policy_change_is_refused_unless_allowed() -> None:
    held = txt("mail", "v=spf1 mx ~all")
    with pytest.raises(RefusedError, match="--spf-hardfail"):
        lifecycle_plan(DOMAIN, ZONE, DESIRED, at([held]))


def test_a_dmarc_record_added_is_recorded() -> None:
    plan = lifecycle_plan(DOMAIN, ZONE, DESIRED, {}, dmarc=DMARC)
    change = change_at(plan, "_dmarc.mail")
    assert change.after is not None and change.after.metadata_dict()[DMARC_KEY] == DMARC
    assert change.after.ttl == 3600 and change.kinds == (K.DMARC,)


# ---- the user's DMARC -----------------------------------------------------------------------------------
def test_the_users_dmarc_replaces_the_apis() -> None:
    api = desired_records(
        DOMAIN, ZONE, [VerificationRecord(K.DMARC, "TXT", f"_dmarc.{DOMAIN}", "v=DMARC1; p=reject", 3600)]
    )
    [mine] = with_user_dmarc(api, DOMAIN, ZONE, DMARC)
    assert (mine.kind, mine.name, mine.type, mine.value, mine.ttl) == (
        K.DMARC,
        "_dmarc.mail",
        RecordType.TXT,
        DMARC,
        3600,
    )
    assert with_user_dmarc(api, DOMAIN, ZONE, None) == api


def test_a_foreign_dmarc_record_is_refused_then_replaced_and_remembered() -> None:
    theirs = txt("_dmarc.mail", "v=DMARC1; p=reject", "other=1")
    with pytest.raises(RefusedError) as caught:
        lifecycle_plan(DOMAIN, ZONE, DESIRED, at([theirs]), dmarc=DMARC)
    assert caught.value.message == (
        "TXT _dmarc.mail already holds the DMARC record 'v=DMARC1; p=reject'; acs-dns will not add a second "
        "one (RFC 7489: receivers then apply none) nor replace one it did not write"
    )
    assert (
        caught.value.hint
        == "keep it (drop --dmarc / the dmarc key), or re-run with --dmarc-replace to replace it"
    )
    change = change_at(
        lifecycle_plan(DOMAIN, ZONE, DESIRED, at([theirs]), dmarc=DMARC, dmarc_replace=True), "_dmarc.mail"
    )
    assert change.action is Action.UPDATE
    assert change.after is not None and [r.text for r in change.after.txt] == [DMARC, "other=1"]
    assert {k: v for k, v in change.after.metadata_dict().items() if k.startswith("acsdns_dmarc")} == {
        DMARC_KEY: DMARC,
        DMARC_BEFORE_KEY: "v=DMARC1; p=reject",
    }
    assert change.notes[-1] == "replaced the DMARC record 'v=DMARC1; p=reject'"


def test_a_dmarc_record_acs_dns_wrote_is_replaced_without_asking_and_without_a_before() -> None:
    ours = txt("_dmarc.mail", "v=DMARC1; p=quarantine", **{DMARC_KEY: "v=DMARC1; p=quarantine"})
    change = change_at(lifecycle_plan(DOMAIN, ZONE, DESIRED, at([ours]), dmarc=DMARC), "_dmarc.mail")
    assert change.after is not None and change.after.metadata_dict() == {DMARC_KEY: DMARC}


def test_two_dmarc_records_are_refused_naming_the_fix() -> None:
    two = txt("_dmarc.mail", "v=DMARC1; p=reject", "v=DMARC1; p=none; rua=mailto:a@b.example")
    with pytest.raises(RefusedError) as caught:
        lifecycle_plan(DOMAIN, ZONE, DESIRED, at([two]), dmarc="v=DMARC1; p=quarantine", dmarc_replace=True)
    assert caught.value.message == (
        "TXT _dmarc.mail already holds 2 DMARC records; RFC 7489 makes receivers apply none of them, and "
        "acs-dns will not guess which one to replace"
    )
    assert caught.value.hint == "keep a single v=DMARC1 record there by hand, then re-run"


# ---- --prune-token --------------------------------------------------------------------------------------
def test_prune_removes_the_token_acs_dns_added_and_its_marker() -> None:
    held = txt("mail", TOKEN, SPF, **{TOKEN_KEY: f"ms-domain-verification=other {TOKEN}", SPF_AFTER_KEY: SPF})
    change = change_at(lifecycle_plan(DOMAIN, ZONE, DESIRED, at([held]), prune=True), "mail")
    assert change.action is Action.UPDATE
    assert change.after is not None and [r.text for r in change.after.txt] == [SPF]
    assert change.after.metadata_dict()[TOKEN_KEY] == "ms-domain-verification=other"
    assert change.notes[-1] == "removed the verification token (Domain is Verified)"
    assert change.kinds == (K.SPF,)


def test_prune_deletes_a_set_holding_only_the_token() -> None:
    held = txt("mail", TOKEN, **{TOKEN_KEY: TOKEN})
    only_token = Change(Action.NOOP, held, held, (K.DOMAIN,))
    pruned = prune_token(only_token, TOKEN)
    assert (pruned.action, pruned.before, pruned.after, pruned.kinds, pruned.notes) == (
        Action.DELETE,
        held,
        None,
        (K.DOMAIN,),
        ("removed the verification token",),
    )


def test_prune_keeps_a_token_acs_dns_cannot_prove_it_added() -> None:
    held = txt("mail", TOKEN, SPF, **{SPF_AFTER_KEY: SPF})  # markers, but the token is not listed
    change = prune_token(Change(Action.NOOP, held, held, (K.DOMAIN,)), TOKEN)
    assert (change.action, change.after, change.notes) == (
        Action.NOOP,
        held,
        ("kept the verification token: acs-dns did not add it",),
    )


def test_prune_reads_the_set_to_store_not_the_one_read() -> None:
    before = txt("mail", "x")
    after = txt("mail", "x", TOKEN, **{TOKEN_KEY: TOKEN})
    pruned = prune_token(Change(Action.UPDATE, before, after, (K.DOMAIN,)), TOKEN)
    assert (pruned.action, pruned.after) == (Action.NOOP, txt("mail", "x"))


@pytest.mark.parametrize(
    "record_set",
    [txt("mail", "x"), RecordSet("mail", RecordType.CNAME, cname=TOKEN)],
    ids=["no-token", "not-txt"],
)
def test_prune_leaves_sets_without_the_token_alone(record_set: RecordSet) -> None:
    change = Change(Action.NOOP, record_set, record_set, (K.DOMAIN,))
    assert prune_token(change, TOKEN) is change


def test_prune_on_a_name_the_plan_does_not_touch_still_removes_the_token() -> None:
    held = txt("mail", TOKEN, SPF, **{TOKEN_KEY: TOKEN})
    plan = lifecycle_plan(DOMAIN, ZONE, DESIRED, at([held]), prune=True)
    change = change_at(plan, "mail")
    assert change.after is not None and [r.text for r in change.after.txt] == [SPF]


def test_prune_where_the_plan_writes_nothing_else_at_the_domains_name() -> None:
    # the API's records without SPF at the domain's name: with --prune-token the plan has nothing to write
    # there but the token's removal, which it still plans (kinds: Domain)
    only_token = [d for d in DESIRED if d.kind is K.DOMAIN]
    held = txt("mail", TOKEN, "keep=me", **{TOKEN_KEY: TOKEN})
    plan = lifecycle_plan(DOMAIN, ZONE, only_token, at([held]), prune=True)
    assert [(c.action, c.key, c.kinds, c.notes) for c in plan.changes] == [
        (
            Action.UPDATE,
            ("mail", RecordType.TXT),
            (K.DOMAIN,),
            ("removed the verification token (Domain is Verified)",),
        )
    ]
    assert plan.changes[0].after is not None and [r.text for r in plan.changes[0].after.txt] == ["keep=me"]
    assert (
        lifecycle_plan(DOMAIN, ZONE, only_token, {}, prune=True).changes == ()
    )  # nothing there: nothing to do
    unpruned = lifecycle_plan(DOMAIN, ZONE, only_token, at([held]))
    assert [(c.action, c.key) for c in unpruned.changes] == [(Action.NOOP, ("mail", RecordType.TXT))]


DKIM1 = "selector1-azurecomm-prod-net._domainkey"
TARGET1 = f"{DKIM1}.azurecomm.net"
WITH_DKIM = desired_records(
    DOMAIN,
    ZONE,
    [
        VerificationRecord(K.DOMAIN, "TXT", DOMAIN, TOKEN, 3600),
        VerificationRecord(K.DKIM, "CNAME", DKIM1, TARGET1, 3600),
    ],
)


def cname_change(current: RecordSet, **flags: bool) -> Change:
    plan = lifecycle_plan(DOMAIN, ZONE, WITH_DKIM, at([current]), **flags)
    return next(c for c in plan.changes if c.key == (f"{DKIM1}.mail", RecordType.CNAME))


def test_a_takeover_records_the_old_target_and_a_filled_empty_set_records_none() -> None:
    foreign = RecordSet(f"{DKIM1}.mail", RecordType.CNAME, 3600, cname="old.example.net")
    with pytest.raises(RefusedError, match="--takeover"):  # never without asking
        lifecycle_plan(DOMAIN, ZONE, WITH_DKIM, at([foreign]))
    taken = cname_change(foreign, takeover=True)
    assert taken.after is not None and taken.after.metadata_dict() == {
        OWNER_METADATA_KEY: DOMAIN,
        "acsdns_cname_before": "old.example.net",
    }
    empty = RecordSet(f"{DKIM1}.mail", RecordType.CNAME, 3600)
    filled = cname_change(empty)
    assert filled.after is not None and filled.after.metadata_dict()["acsdns_cname_before"] == ""
    owned = RecordSet(
        f"{DKIM1}.mail",
        RecordType.CNAME,
        3600,
        cname="old.azurecomm.net",
        metadata={OWNER_METADATA_KEY: DOMAIN},
    )
    repaired = cname_change(owned)  # already ours: repointed, nothing new to remember
    assert repaired.after is not None and repaired.after.metadata_dict() == {OWNER_METADATA_KEY: DOMAIN}


def test_prune_on_a_set_written_before_the_markers_removes_the_domains_own_token() -> None:
    held = txt("mail", TOKEN, SPF)  # no acsdns_ marker at all: the domain's own token is provably its
    change = change_at(lifecycle_plan(DOMAIN, ZONE, DESIRED, at([held]), prune=True), "mail")
    assert change.after is not None and [r.text for r in change.after.txt] == [SPF]


def test_prune_keeps_the_other_listed_tokens_space_separated() -> None:
    others = "ms-domain-verification=a ms-domain-verification=b"
    held = txt("mail", TOKEN, SPF, **{TOKEN_KEY: f"{others} {TOKEN}", SPF_AFTER_KEY: SPF})
    change = change_at(lifecycle_plan(DOMAIN, ZONE, DESIRED, at([held]), prune=True), "mail")
    assert change.after is not None and change.after.metadata_dict()[TOKEN_KEY] == others


def test_api_records_without_a_domain_record_plan_and_prune_nothing_of_it() -> None:
    spf_only = [d for d in DESIRED if d.kind is K.SPF]
    plan = lifecycle_plan(DOMAIN, ZONE, spf_only, {}, prune=True)
    assert [(c.action, c.key, c.kinds) for c in plan.changes] == [
        (Action.CREATE, ("mail", RecordType.TXT), (K.SPF,))
    ]


def test_a_re_provision_after_the_spf_changed_keeps_what_acs_dns_added_before() -> None:
    # acs-dns added include:old.example earlier; ACS now asks for another include: both are listed as
    # acs-dns's (space-separated, so deprovision takes both back) and the record from before the first
    # change is still the one remembered
    earlier = "v=spf1 mx include:old.example -all"
    marks = {SPF_ADDED_KEY: "include:old.example", SPF_BEFORE_KEY: "v=spf1 mx -all", SPF_AFTER_KEY: earlier}
    change = change_at(
        lifecycle_plan(DOMAIN, ZONE, DESIRED, at([txt("mail", TOKEN, earlier, **marks)])), "mail"
    )
    assert change.action is Action.UPDATE
    assert change.after is not None and change.after.metadata_dict() == {
        SPF_ADDED_KEY: f"include:old.example {INCLUDE}",
        SPF_BEFORE_KEY: "v=spf1 mx -all",
        SPF_AFTER_KEY: f"v=spf1 mx include:old.example {INCLUDE} -all",
    }


def test_without_the_users_dmarc_an_existing_dmarc_record_is_kept_not_refused() -> None:
    api = desired_records(DOMAIN, ZONE, [VerificationRecord(K.DMARC, "TXT", f"_dmarc.{DOMAIN}", DMARC, 3600)])
    theirs = txt("_dmarc.mail", "v=DMARC1; p=reject")
    plan = lifecycle_plan(DOMAIN, ZONE, api, at([theirs]))  # no dmarc=: the API's record is only a wish
    assert [(c.action, c.key, c.after, c.notes) for c in plan.changes] == [
        (
            Action.NOOP,
            ("_dmarc.mail", RecordType.TXT),
            theirs,
            (
                "kept the existing DMARC record 'v=DMARC1; p=reject'; a second one would make receivers "
                "ignore both",
            ),
        )
    ]


def test_without_prune_a_name_the_plan_does_not_touch_gets_no_change() -> None:
    dkim_only = [d for d in WITH_DKIM if d.kind is K.DKIM]
    held = txt("mail", TOKEN, "keep=me", **{TOKEN_KEY: TOKEN})
    plan = lifecycle_plan(DOMAIN, ZONE, dkim_only, at([held]))
    assert [(c.action, c.key) for c in plan.changes] == [(Action.CREATE, (f"{DKIM1}.mail", RecordType.CNAME))]


def test_prune_plans_exactly_one_change_at_the_domains_name() -> None:
    held = txt("mail", TOKEN, SPF, **{TOKEN_KEY: TOKEN, SPF_AFTER_KEY: SPF})
    planned = lifecycle_plan(DOMAIN, ZONE, DESIRED, at([held]), prune=True)
    assert [(c.action, c.key, c.notes) for c in planned.changes] == [
        (Action.UPDATE, ("mail", RecordType.TXT), ("removed the verification token (Domain is Verified)",))
    ]
    # the plan writes only the DKIM CNAME: the token's removal at the domain's name is planned as well
    with_cname = lifecycle_plan(DOMAIN, ZONE, WITH_DKIM, at([held]), prune=True)
    assert [(c.action, c.key, c.notes) for c in with_cname.changes] == [
        (Action.CREATE, (f"{DKIM1}.mail", RecordType.CNAME), ()),
        (Action.UPDATE, ("mail", RecordType.TXT), ("removed the verification token (Domain is Verified)",)),
    ]


def test_prune_where_the_plan_writes_nothing_keeps_an_unprovable_token_as_a_noop() -> None:
    only_token = [d for d in DESIRED if d.kind is K.DOMAIN]
    held = txt("mail", TOKEN, "keep=me", **{SPF_AFTER_KEY: SPF})  # markers, but the token is not listed
    plan = lifecycle_plan(DOMAIN, ZONE, only_token, at([held]), prune=True)
    assert [(c.action, c.key, c.after, c.kinds, c.notes) for c in plan.changes] == [
        (
            Action.NOOP,
            ("mail", RecordType.TXT),
            held,
            (K.DOMAIN,),
            ("kept the verification token: acs-dns did not add it",),
        )
    ]
