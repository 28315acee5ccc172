"""Plans as values: saved as JSON and read back unchanged; a malformed file is a usage error."""

from __future__ import annotations

import json

import pytest

from provisioner import plan_file
from provisioner.config import DomainTarget
from provisioner.errors import UsageError
from provisioner.model import RecordSet, RecordType, TxtRecord, VerificationKind
from provisioner.plan import Action, Change, Plan

SUB = "00000000-0000-0000-0000-000000000001"
BEFORE = RecordSet(
    "mail", RecordType.TXT, 300, txt=(TxtRecord(("a" * 255, "b")),), metadata={"o": "x"}, etag="e-1"
)
AFTER = RecordSet(
    "mail", RecordType.TXT, 300, txt=(TxtRecord(("a" * 255, "b")), TxtRecord(("tok",))), etag="e-1"
)
CNAME = RecordSet(
    "s1._domainkey.mail", RecordType.CNAME, cname="t.example", metadata={"acsdns_owner": "mail.c.test"}
)
OLD = RecordSet("old", RecordType.TXT, etag="e-9")
PLAN = Plan(
    "c.test",
    (
        Change(Action.UPDATE, BEFORE, AFTER, (VerificationKind.DOMAIN,), ("note",)),
        Change(Action.CREATE, None, CNAME, (VerificationKind.DKIM,)),
        Change(Action.DELETE, OLD, None, ()),
        Change(Action.NOOP, OLD, OLD, ()),
    ),
    "rg-dns",
    SUB,
)
TARGET = DomainTarget(SUB, "rg-email", "svc", "mail.c.test", zone="c.test", zone_resource_group="rg-dns")


def test_a_plan_survives_saving_and_loading() -> None:
    text = plan_file.dumps([plan_file.SavedPlan(TARGET, PLAN)])

    (loaded,) = plan_file.loads(text)

    assert loaded == plan_file.SavedPlan(TARGET, PLAN)
    body = json.loads(text)["plans"][0]
    assert (body["domain"], body["plan"]["zone_resource_group"], body["plan"]["subscription"]) == (
        "mail.c.test",
        "rg-dns",
        SUB,
    )
    assert [c["before"]["etag"] if c["before"] else None for c in body["plan"]["changes"]] == [
        "e-1",
        None,
        "e-9",
        "e-9",
    ]


@pytest.mark.parametrize(
    "text",
    ["", "[]", '{"version": 2, "plans": []}', '{"version": 1}', '{"version": 1, "plans": [{"domain": "x"}]}'],
)
def test_a_malformed_plan_file_is_a_usage_error_naming_it(text: str) -> None:
    with pytest.raises(UsageError, match=r"plan\.json is not a plan saved by"):
        plan_file.loads(text, "plan.json")


def test_a_change_needs_the_sets_its_action_implies() -> None:
    with pytest.raises(ValueError):
        Change(Action.DELETE, None, None, ())
    with pytest.raises(ValueError, match="needs the record set to store"):
        Change(Action.CREATE, None, None, ())
    with pytest.raises(ValueError):
        Change(Action.UPDATE, None, AFTER, ())


def test_a_delete_renders_as_a_removal_in_text_and_json() -> None:
    from provisioner.render import change_json, change_lines

    delete = Change(Action.DELETE, BEFORE, None, (VerificationKind.DOMAIN,))

    assert change_lines(delete)[0].startswith("  - delete TXT   mail")
    assert change_lines(delete)[1:] == [f"      - {'a' * 255}b"]
    assert change_json(delete) | {"kinds": []} == {
        "action": "delete",
        "type": "TXT",
        "name": "mail",
        "kinds": [],
        "before": ["a" * 255 + "b"],
        "after": [],
        "notes": [],
    }
