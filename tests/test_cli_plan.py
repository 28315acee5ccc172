"""`acs-dns plan` (and `provision --dry-run`) end to end: everything up to the writes, writing nothing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from acs_sandbox import Sandbox
from tests.e2e_helpers import (
    ACS_INCLUDE,
    DKIM1,
    DKIM1_TARGET,
    DKIM2,
    DKIM2_TARGET,
    FOREIGN_TXT,
    KINDS,
    World,
    assert_clean_exit,
    changes_by_name,
    counters,
    document,
    only_domain,
    reset_counters,
    seed_standard,
    unique_zone,
)

SOFT_SPF = "v=spf1 include:_spf.team.example ~all"
MERGED_SPF = f"v=spf1 include:_spf.team.example {ACS_INCLUDE} -all"


@pytest.fixture
def w(sandbox: Sandbox) -> Iterator[World]:
    with World(sandbox) as world:
        yield world


def assert_wrote_nothing(sb: Sandbox) -> None:
    """Only reads reached ARM since the last reset: no PUT, PATCH, DELETE or POST."""
    seen = counters(sb)
    assert seen["total"] > 0
    assert set(seen["methods"]) == {"GET"}, seen["routes"]
    assert seen["writes"] == 0


def test_plan_writes_nothing_and_shows_before_and_after(w: World, sandbox: Sandbox) -> None:
    s = seed_standard(w, apex=False)
    w.txt(s.zone, "mail", [*FOREIGN_TXT, SOFT_SPF])
    token = w.token_of(s.domain)
    before = w.records(s.zone)
    reset_counters(sandbox)

    result = w.cli(w.args(s.domain, "--spf-hardfail", command="plan", json_output=False))

    assert_clean_exit(result, 0)  # without --detailed-exitcode, changes are not an error
    assert_wrote_nothing(sandbox)
    assert w.records(s.zone) == before
    assert w.states(s.domain) == dict.fromkeys(KINDS, "NotStarted")
    out = result.stdout.splitlines()
    expected = [
        "  ~ update TXT   mail  [Domain, SPF]",
        f"        {FOREIGN_TXT[0]}",  # unchanged values shown as they are
        f"      - {SOFT_SPF}",
        f"      + {MERGED_SPF}",
        f"      + {token}",
        "      note: changed ~all to -all",
        f"  + create CNAME {DKIM1}.mail  [DKIM]",
        f"      + {DKIM1_TARGET}",
        f"  + create CNAME {DKIM2}.mail  [DKIM2]",
        f"      + {DKIM2_TARGET}",
        "  verification: Domain NotStarted · SPF NotStarted · DKIM NotStarted · DKIM2 NotStarted",
    ]
    for line in expected:
        assert line in out, f"{line!r} not in:\n{result.stdout}"
    assert out.index(f"      - {SOFT_SPF}") < out.index(f"      + {MERGED_SPF}")
    assert any(line.startswith("  result: changes-pending") for line in out)


def test_printed_exit_code_matches_the_process_exit_code(w: World) -> None:
    """Without --detailed-exitcode a plan with changes exits 0; the output must not claim "exit 8"."""
    s = seed_standard(w, apex=False)
    text = w.cli(w.args(s.domain, command="plan", json_output=False))
    assert_clean_exit(text, 0)
    assert "  result: changes-pending (exit 0)" in text.stdout.splitlines(), text.stdout
    result, doc = w.plan(s.domain)
    assert_clean_exit(result, 0)
    assert doc["exit_code"] == 0
    assert only_domain(doc)["exit_code"] == 0


def test_plan_json_document_shape(w: World) -> None:
    s = seed_standard(w, apex=True)
    token = w.token_of(s.domain)
    result, doc = w.plan(s.domain)
    assert_clean_exit(result, 0)
    assert doc["version"] == 1 and doc["command"] == "plan" and doc["exit_code"] == 0
    assert isinstance(doc["domains"], list) and len(doc["domains"]) == 1
    report = doc["domains"][0]
    assert report["domain"] == s.domain and report["subscription"] == w.sub
    assert report["zone"]["name"] == s.zone
    assert report["zone"]["name_servers"] == [n.rstrip(".") for n in w.name_servers(s.zone)]
    for change in report["changes"]:
        assert {"action", "type", "name", "before", "after"} <= change.keys()
        assert isinstance(change["before"], list) and isinstance(change["after"], list)
    changes = changes_by_name(report)
    txt = changes[("@", "TXT")]
    assert txt["action"] == "update"
    assert token in txt["after"] and token not in txt["before"]
    assert changes[(DKIM1, "CNAME")] | {"notes": []} == {
        "action": "create",
        "type": "CNAME",
        "name": DKIM1,
        "kinds": ["DKIM"],
        "before": [],
        "after": [DKIM1_TARGET],
        "notes": [],
    }
    assert report["verification"] == {k: {"status": "NotStarted", "error_code": None} for k in KINDS}
    assert report["result"] == "changes-pending"
    assert report["written"] == [] and report["started"] == []


def test_detailed_exitcode_is_8_with_changes_and_0_when_nothing_to_do(w: World) -> None:
    s = seed_standard(w, apex=False)
    result, doc = w.plan(s.domain, "--detailed-exitcode")
    assert_clean_exit(result, 8)
    assert doc["exit_code"] == 8 and only_domain(doc)["result"] == "changes-pending"

    assert_clean_exit(w.provision(s.domain)[0], 0)

    result, doc = w.plan(s.domain, "--detailed-exitcode")
    assert_clean_exit(result, 0)
    report = only_domain(doc)
    assert report["result"] == "up-to-date"
    assert {c["action"] for c in report["changes"]} == {"noop"}


def test_detailed_exitcode_is_8_when_only_verification_is_pending(w: World, sandbox: Sandbox) -> None:
    """The records are already there (written by hand, exactly as ACS wants them), never verified."""
    s = seed_standard(w, apex=False)
    token = w.token_of(s.domain)
    w.txt(s.zone, "mail", [*FOREIGN_TXT, token, f"v=spf1 {ACS_INCLUDE} -all"])
    w.cname(s.zone, f"{DKIM1}.mail", DKIM1_TARGET)
    w.cname(s.zone, f"{DKIM2}.mail", DKIM2_TARGET + ".")

    result, doc = w.plan(s.domain, "--detailed-exitcode")

    assert_clean_exit(result, 8)
    report = only_domain(doc)
    assert {c["action"] for c in report["changes"]} == {"noop"}
    assert report["result"] == "changes-pending"
    assert "verification pending" in report["message"]

    # provision then writes nothing (hand-made records are kept), only starts verification
    before = w.records(s.zone)
    result, doc = w.provision(s.domain)
    assert_clean_exit(result, 0)
    report = only_domain(doc)
    assert report["written"] == [] and report["started"] == KINDS and report["result"] == "verified"
    assert w.records(s.zone) == before


def test_provision_dry_run_is_the_same_as_plan(w: World, sandbox: Sandbox) -> None:
    s = seed_standard(w, apex=False)
    before = w.records(s.zone)
    plan_result, plan_doc = w.plan(s.domain, "--detailed-exitcode")
    reset_counters(sandbox)
    dry_result, dry_doc = w.provision(s.domain, "--dry-run", "--detailed-exitcode")
    assert_wrote_nothing(sandbox)
    assert w.records(s.zone) == before
    assert_clean_exit(plan_result, 8)
    assert_clean_exit(dry_result, 8)
    assert dry_doc["command"] == "provision"
    assert dry_doc["domains"] == plan_doc["domains"]

    # and without --detailed-exitcode both exit 0
    assert_clean_exit(w.provision(s.domain, "--dry-run")[0], 0)
    assert_clean_exit(w.plan(s.domain)[0], 0)


def test_plan_refuses_like_provision(w: World) -> None:
    s = seed_standard(w, apex=False)
    w.txt(s.zone, "mail", [SOFT_SPF])
    result, doc = w.plan(s.domain, "--detailed-exitcode")
    assert_clean_exit(result, 5)
    report = only_domain(doc)
    assert report["result"] == "refused" and "--spf-hardfail" in report["hint"]


def test_plan_with_create_domain_does_not_create_it(w: World, sandbox: Sandbox) -> None:
    from azure.core.exceptions import ResourceNotFoundError

    zone = unique_zone()
    w.email_service()
    w.zone(zone)
    reset_counters(sandbox)
    result, doc = w.plan(f"mail.{zone}", "--create-domain", "--detailed-exitcode")
    assert_clean_exit(result, 8)
    assert "would be created" in only_domain(doc)["message"]
    assert_wrote_nothing(sandbox)
    with pytest.raises(ResourceNotFoundError):
        w.get_domain(f"mail.{zone}")


def test_zone_resource_group_alone_picks_among_same_named_zones(w: World) -> None:
    """`zone_resource_group` is optional "like zone" (issue #3): given alone, it must narrow the search,
    as the error for two same-named zones itself tells the user to do ("pick one with
    --zone-resource-group")."""
    zone = unique_zone("dup")
    w.email_service()
    w.email_domain(f"mail.{zone}")
    w.zone(zone, rg="rg-dns-a")
    w.zone(zone, rg="rg-dns-b")

    result, doc = w.plan(f"mail.{zone}", "--zone-resource-group", "rg-dns-b")

    assert_clean_exit(result, 0)
    assert only_domain(doc)["zone"]["resource_group"] == "rg-dns-b"


def test_zone_and_zone_resource_group_pick_among_same_named_zones(w: World) -> None:
    zone = unique_zone("dup")
    w.email_service()
    w.email_domain(f"mail.{zone}")
    w.zone(zone, rg="rg-dns-a")
    w.zone(zone, rg="rg-dns-b")
    result, doc = w.plan(f"mail.{zone}", "--zone", zone, "--zone-resource-group", "rg-dns-b")
    assert_clean_exit(result, 0)
    assert only_domain(doc)["zone"]["resource_group"] == "rg-dns-b"


def test_plan_json_is_the_only_thing_on_stdout(w: World) -> None:
    s = seed_standard(w, apex=False)
    result = w.cli(w.args(s.domain, command="plan"))
    assert result.stdout.lstrip().startswith("{") and result.stdout.rstrip().endswith("}")
    document(result)
