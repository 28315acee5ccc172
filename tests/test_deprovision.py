"""`plan_removal`: what deprovision takes back from a zone, word for word, and what it leaves (pure)."""

from __future__ import annotations

import pytest

from provisioner.deprovision import Removal, plan_removal
from provisioner.desired import desired_records
from provisioner.model import OWNER_METADATA_KEY, RecordSet, RecordType, TxtRecord, VerificationRecord
from provisioner.model import VerificationKind as K
from provisioner.ownership import (
    CNAME_BEFORE_KEY,
    DMARC_BEFORE_KEY,
    DMARC_KEY,
    SPF_ADDED_KEY,
    SPF_AFTER_KEY,
    SPF_BEFORE_KEY,
    TOKEN_KEY,
)
from provisioner.plan import Action

DOMAIN, ZONE = "mail.contoso.com", "contoso.com"
TOKEN = "ms-domain-verification=5b1c0d4e-8f3f-4c6f-9e2d-7a5b1c0d4e8f"
INCLUDE = "include:spf.protection.outlook.com"
SPF = f"v=spf1 {INCLUDE} -all"
DKIM1 = "selector1-azurecomm-prod-net._domainkey"
TARGET1 = f"{DKIM1}.azurecomm.net"
GOOGLE = "google-site-verification=abc"
DMARC = "v=DMARC1; p=none"
DESIRED = desired_records(
    DOMAIN,
    ZONE,
    [
        VerificationRecord(K.DOMAIN, "TXT", DOMAIN, TOKEN, 3600),
        VerificationRecord(K.SPF, "TXT", DOMAIN, SPF, 3600),
        VerificationRecord(K.DKIM, "CNAME", DKIM1, TARGET1, 3600),
    ],
)


def txt(name: str, *values: str, **metadata: str) -> RecordSet:
    return RecordSet(
        name, RecordType.TXT, 3600, txt=tuple(TxtRecord((v,)) for v in values), metadata=metadata, etag="e"
    )  # type: ignore[arg-type]


def cname(name: str, target: str | None, **metadata: str) -> RecordSet:
    return RecordSet(name, RecordType.CNAME, 3600, cname=target, metadata=metadata, etag="e")  # type: ignore[arg-type]


def removal(*sets: RecordSet, desired: list = DESIRED, dmarc_expected: bool = False) -> Removal:  # type: ignore[type-arg]
    return plan_removal(
        DOMAIN, ZONE, desired, {(s.name.lower(), s.type): s for s in sets}, dmarc_expected=dmarc_expected
    )


def summary(result: Removal) -> list[tuple[object, ...]]:
    """Each change as (action, name, what stays, metadata kept, kinds, notes)."""
    rows = []
    for c in result.plan.changes:
        after = c.after
        values = None if after is None else (after.txt and tuple(r.text for r in after.txt)) or after.cname
        metadata = None if after is None else after.metadata_dict()
        rows.append((c.action, c.record_set.name, values, metadata, c.kinds, c.notes))
    return rows


# ---- the TXT set at the domain's name: token and SPF ----------------------------------------------------
def test_an_spf_record_acs_dns_created_is_removed_with_the_token_and_foreign_values_stay() -> None:
    held = txt(
        "mail",
        TOKEN,
        SPF,
        GOOGLE,
        team="web",
        **{TOKEN_KEY: TOKEN, SPF_ADDED_KEY: INCLUDE, SPF_BEFORE_KEY: "", SPF_AFTER_KEY: SPF},
    )
    result = removal(held)
    assert summary(result) == [
        (
            Action.UPDATE,
            "mail",
            (GOOGLE,),
            {"team": "web"},
            (K.DOMAIN, K.SPF),
            ("removed the verification token", "removed the SPF record acs-dns created"),
        )
    ]
    assert result.left == ()


def test_an_spf_record_acs_dns_changed_goes_back_to_what_it_was() -> None:
    before, after = "v=spf1 mx ~all", f"v=spf1 mx {INCLUDE} -all"
    held = txt("mail", after, **{SPF_ADDED_KEY: INCLUDE, SPF_BEFORE_KEY: before, SPF_AFTER_KEY: after})
    assert summary(removal(held)) == [
        (
            Action.UPDATE,
            "mail",
            (before,),
            {},
            (K.DOMAIN, K.SPF),
            ("SPF record restored as it was before acs-dns",),
        )
    ]


def test_an_spf_record_edited_since_loses_only_what_acs_dns_added() -> None:
    marks = {
        SPF_ADDED_KEY: f"{INCLUDE} include:b.example",
        SPF_BEFORE_KEY: "v=spf1 mx ~all",
        SPF_AFTER_KEY: "x",
    }
    held = txt(
        "mail", f"v=spf1 mx include:b.example {INCLUDE} ip4:192.0.2.1 redirect=_spf.example -all", **marks
    )
    assert summary(removal(held)) == [
        (
            Action.UPDATE,
            "mail",
            ("v=spf1 mx ip4:192.0.2.1 redirect=_spf.example -all",),
            {},
            (K.DOMAIN, K.SPF),
            (f"removed include:b.example {INCLUDE} from the SPF record (edited since)",),
        )
    ]


def test_an_spf_record_acs_dns_created_and_edited_since_goes_when_only_its_all_is_left() -> None:
    marks = {SPF_ADDED_KEY: INCLUDE, SPF_BEFORE_KEY: "", SPF_AFTER_KEY: SPF}
    gone = removal(txt("mail", f"v=spf1 {INCLUDE} ~all", GOOGLE, **marks))
    assert summary(gone) == [
        (
            Action.UPDATE,
            "mail",
            (GOOGLE,),
            {},
            (K.DOMAIN, K.SPF),
            ("removed the SPF record acs-dns created (only its -all was left)",),
        )
    ]
    kept = removal(txt("mail", f"v=spf1 a {INCLUDE} -all", **marks))  # someone added `a`: it stays
    assert summary(kept) == [
        (
            Action.UPDATE,
            "mail",
            ("v=spf1 a -all",),
            {},
            (K.DOMAIN, K.SPF),
            (f"removed {INCLUDE} from the SPF record (edited since)",),
        )
    ]
    restored = removal(txt("mail", f"v=spf1 {INCLUDE} ~all", **{**marks, SPF_BEFORE_KEY: "v=spf1 ~all"}))
    assert summary(restored)[0][2] == ("v=spf1 ~all",)  # it existed before: kept, not deleted
    assert summary(restored)[0][5] == (f"removed {INCLUDE} from the SPF record (edited since)",)


def test_an_spf_record_edited_since_whose_added_marker_was_removed_by_hand_is_left_and_said() -> None:
    # acs-dns always writes acsdns_spf_added with acsdns_spf_after: without it, what acs-dns added is unproven
    before, after = "v=spf1 mx ~all", f"v=spf1 mx {INCLUDE} -all"
    held = txt(
        "mail", f"v=spf1 mx a {INCLUDE} -all", GOOGLE, **{SPF_BEFORE_KEY: before, SPF_AFTER_KEY: after}
    )
    result = removal(held)
    assert summary(result) == [
        (Action.UPDATE, "mail", (f"v=spf1 mx a {INCLUDE} -all", GOOGLE), {}, (K.DOMAIN, K.SPF), ())
    ]
    assert result.left == (
        f"TXT mail: SPF {INCLUDE} left in place: the record was edited since acs-dns changed it and its "
        f"{SPF_ADDED_KEY} marker (what acs-dns added) is missing, so nothing proves acs-dns added it; remove "
        "it by hand if nothing else sends for the domain",
    )
    created = removal(txt("mail", f"v=spf1 a {INCLUDE} -all", **{SPF_BEFORE_KEY: "", SPF_AFTER_KEY: SPF}))
    assert summary(created)[0][2] == (f"v=spf1 a {INCLUDE} -all",)  # acs-dns created it: still not proven
    assert created.left[0].startswith(f"TXT mail: SPF {INCLUDE} left in place: the record was edited since")


def test_with_only_the_after_marker_left_every_include_acs_dns_wrote_is_named() -> None:
    after = f"v=spf1 include:b.example {INCLUDE} -all"  # acs-dns created it with both includes
    result = removal(txt("mail", f"v=spf1 a include:b.example {INCLUDE} -all", **{SPF_AFTER_KEY: after}))
    assert summary(result)[0][2] == (f"v=spf1 a include:b.example {INCLUDE} -all",)
    assert result.left == (
        f"TXT mail: SPF include:b.example {INCLUDE} left in place: the record was edited since acs-dns changed "
        f"it and its {SPF_ADDED_KEY} marker (what acs-dns added) is missing, so nothing proves acs-dns added "
        "it; remove it by hand if nothing else sends for the domain",
    )


def test_an_spf_record_without_the_added_marker_and_without_acs_dns_include_says_nothing() -> None:
    marks = {SPF_BEFORE_KEY: "v=spf1 mx ~all", SPF_AFTER_KEY: f"v=spf1 mx {INCLUDE} -all"}
    result = removal(txt("mail", "v=spf1  mx a -all", team="web", **marks))  # its include removed by hand
    assert summary(result) == [
        (Action.UPDATE, "mail", ("v=spf1  mx a -all",), {"team": "web"}, (K.DOMAIN, K.SPF), ())
    ]
    assert result.left == ()


@pytest.mark.parametrize(
    ("added", "before", "held"),
    [
        ("", f"v=spf1 {INCLUDE} ~all", f"v=spf1  {INCLUDE} a -all"),  # acs-dns only changed ~all to -all
        (INCLUDE, "v=spf1 mx ~all", "v=spf1  mx a -all"),  # what acs-dns added was removed by hand since
    ],
    ids=["added-nothing", "removed-by-hand"],
)
def test_an_spf_record_edited_since_without_acs_dns_mechanisms_stays_byte_for_byte(
    added: str, before: str, held: str
) -> None:
    marks = {SPF_ADDED_KEY: added, SPF_BEFORE_KEY: before, SPF_AFTER_KEY: SPF}
    result = removal(txt("mail", held, **marks))
    assert summary(result) == [(Action.UPDATE, "mail", (held,), {}, (K.DOMAIN, K.SPF), ())]
    assert result.left == ()


def test_without_markers_the_own_token_goes_and_the_spf_include_is_left_with_the_reason() -> None:
    held = txt("mail", TOKEN, f"v=spf1 mx {INCLUDE} -all")
    result = removal(held)
    assert summary(result) == [
        (
            Action.UPDATE,
            "mail",
            (f"v=spf1 mx {INCLUDE} -all",),
            {},
            (K.DOMAIN, K.SPF),
            ("removed the verification token",),
        )
    ]
    assert result.left == (
        f"TXT mail: SPF {INCLUDE} left in place: no acs-dns marker proves acs-dns added it "
        "(Microsoft 365 uses the same include); remove it by hand if nothing else sends for the domain",
    )


def test_a_set_acs_dns_created_is_deleted_when_left_empty() -> None:
    held = txt("mail", TOKEN, **{OWNER_METADATA_KEY: DOMAIN, TOKEN_KEY: TOKEN})
    assert summary(removal(held)) == [
        (Action.DELETE, "mail", None, None, (K.DOMAIN, K.SPF), ("removed the verification token",))
    ]


def test_nothing_of_acs_dns_at_the_name_means_no_change() -> None:
    result = removal(txt("mail", GOOGLE, "v=spf1 mx -all"))
    assert (result.plan.changes, result.left) == ((), ())


# ---- DMARC ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("held", "values", "notes", "left"),
    [
        (
            txt("_dmarc.mail", DMARC, **{DMARC_KEY: DMARC}),
            None,
            ("removed the DMARC record acs-dns wrote",),
            (),
        ),
        (
            txt("_dmarc.mail", DMARC, **{DMARC_KEY: DMARC, DMARC_BEFORE_KEY: "v=DMARC1; p=reject"}),
            ("v=DMARC1; p=reject",),
            ("restored the DMARC record acs-dns replaced",),
            (),
        ),
        (
            txt("_dmarc.mail", "v=DMARC1; p=quarantine", **{DMARC_KEY: DMARC}),
            ("v=DMARC1; p=quarantine",),
            (),
            ("TXT _dmarc.mail: the DMARC record acs-dns wrote was changed since; left in place",),
        ),
    ],
    ids=["written", "replaced", "changed-since"],
)
def test_the_dmarc_record_acs_dns_wrote(
    held: RecordSet, values: tuple[str, ...] | None, notes: tuple[str, ...], left: tuple[str, ...]
) -> None:
    result = removal(held)
    assert result.left == left
    [change] = result.plan.changes
    assert (change.kinds, change.notes) == ((K.DMARC,), notes)
    if values is None:  # the set held nothing else: it goes
        assert change.action is Action.UPDATE and change.after is not None and change.after.txt == ()
    else:
        assert change.after is not None and tuple(r.text for r in change.after.txt) == values
        assert change.after.metadata_dict() == {}


def test_an_unmarked_dmarc_record_is_left_when_the_domain_has_one() -> None:
    held = txt("_dmarc.mail", DMARC)
    expected = ("TXT _dmarc.mail: DMARC record left in place: no acs-dns marker proves acs-dns wrote it",)
    assert removal(held, dmarc_expected=True).left == expected
    assert removal(held).left == ()  # the domain has no DMARC record: nothing to say
    assert removal(held).plan.changes == ()


# ---- DKIM CNAMEs ----------------------------------------------------------------------------------------
def test_cnames_marked_for_the_domain_are_removed_or_given_back() -> None:
    created = cname(f"{DKIM1}.mail", TARGET1, **{OWNER_METADATA_KEY: " Mail.Contoso.com "})
    taken = cname(
        "selector2-azurecomm-prod-net._domainkey.mail",
        "x",
        **{OWNER_METADATA_KEY: DOMAIN, CNAME_BEFORE_KEY: "old.example.net", "team": "t"},
    )
    filled = cname("other", "y", **{OWNER_METADATA_KEY: DOMAIN, CNAME_BEFORE_KEY: ""})
    foreign = cname("someone", "z", **{OWNER_METADATA_KEY: "other.contoso.com"})
    assert summary(removal(created, taken, filled, foreign)) == [
        (Action.UPDATE, "other", None, {}, (), ("restored the CNAME target acs-dns took over",)),
        (Action.DELETE, f"{DKIM1}.mail", None, None, (K.DKIM,), ("removed the CNAME acs-dns created",)),
        (
            Action.UPDATE,
            "selector2-azurecomm-prod-net._domainkey.mail",
            "old.example.net",
            {"team": "t"},
            (),
            ("restored the CNAME target acs-dns took over",),
        ),
    ]


def test_an_unmarked_cname_with_the_right_target_is_left_and_said() -> None:
    result = removal(cname(f"{DKIM1}.mail", TARGET1.upper() + "."))
    assert result.plan.changes == ()
    assert result.left == (
        f"CNAME {DKIM1}.mail: left in place: not marked as created by acs-dns for {DOMAIN}",
    )
    assert removal(cname(f"{DKIM1}.mail", "elsewhere.example.net")).left == ()  # not ours to mention


def test_changes_come_in_name_order_with_the_zone() -> None:
    result = removal(
        cname(f"{DKIM1}.mail", TARGET1, **{OWNER_METADATA_KEY: DOMAIN}),
        txt("mail", TOKEN, **{OWNER_METADATA_KEY: DOMAIN, TOKEN_KEY: TOKEN}),
        txt("_dmarc.mail", DMARC, **{DMARC_KEY: DMARC}),
    )
    assert result.plan.zone == ZONE
    assert [c.record_set.name for c in result.plan.changes] == ["_dmarc.mail", "mail", f"{DKIM1}.mail"]


def test_with_the_email_domain_gone_the_markers_alone_decide() -> None:
    # no API records: an unmarked SPF include is not even mentioned (nothing says it is this domain's)
    result = plan_removal(DOMAIN, ZONE, [], {("mail", RecordType.TXT): txt("mail", f"v=spf1 {INCLUDE} -all")})
    assert (result.plan.changes, result.left) == ((), ())
    unmarked_dmarc = {("_dmarc.mail", RecordType.TXT): txt("_dmarc.mail", DMARC)}
    assert plan_removal(DOMAIN, ZONE, [], unmarked_dmarc).left == ()  # DMARC not expected by default


def test_an_spf_marked_after_without_before_counts_as_created_by_acs_dns() -> None:
    held = txt("mail", SPF, GOOGLE, **{SPF_AFTER_KEY: SPF, SPF_ADDED_KEY: INCLUDE})  # before marker lost
    assert summary(removal(held))[0][2] == (GOOGLE,)


def test_everything_left_is_listed_together() -> None:
    result = removal(txt("mail", f"v=spf1 {INCLUDE} -all"), txt("_dmarc.mail", DMARC), dmarc_expected=True)
    assert [line.split(":")[0] for line in result.left] == ["TXT mail", "TXT _dmarc.mail"]
