"""`acs-dns plan --out FILE` then `acs-dns provision --plan FILE`, end to end against the sandbox, and the
DNS adapter's ETag-guarded delete through the real SDK."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from acs_sandbox import Sandbox
from provisioner.azure.dns import AzureDns
from provisioner.errors import ConflictError
from provisioner.model import RecordType
from tests.e2e_helpers import (
    ACS_INCLUDE,
    DNS_RG,
    FOREIGN_TXT,
    KINDS,
    World,
    assert_clean_exit,
    counters,
    document,
    only_domain,
    reset_counters,
    seed_standard,
)


@pytest.fixture
def w(sandbox: Sandbox) -> Iterator[World]:
    with World(sandbox) as world:
        yield world


def _provision_saved(w: World, plan: Path) -> tuple[int, dict]:  # type: ignore[type-arg]
    result = w.cli([*w.common("provision"), "--plan", str(plan)])
    return result.exit_code, document(result)


def test_a_saved_plan_is_applied_exactly_then_verified(w: World, sandbox: Sandbox, tmp_path: Path) -> None:
    s = seed_standard(w)
    saved = tmp_path / "plan.json"
    planned = w.cli([*w.args(s.domain, command="plan"), "--out", str(saved)])
    assert_clean_exit(planned, 0)
    body = json.loads(saved.read_text())
    (entry,) = body["plans"]
    assert (entry["domain"], entry["plan"]["zone"], entry["plan"]["zone_resource_group"]) == (
        s.domain,
        s.zone,
        DNS_RG,
    )
    txt = next(c for c in entry["plan"]["changes"] if c["after"]["type"] == "TXT")
    assert txt["action"] == "update" and txt["before"]["etag"] == w.records(s.zone)[("mail", "TXT")]["etag"]
    reset_counters(sandbox)

    code, doc = _provision_saved(w, saved)

    assert code == 0, doc
    report = only_domain(doc)
    assert report["result"] == "verified" and len(report["written"]) == 3
    assert [c["action"] for c in report["changes"]] == [c["action"] for c in entry["plan"]["changes"]]
    assert counters(sandbox)["statuses"].get("412", 0) == 0
    texts = ["".join(v) for v in w.txt_values(s.zone, "mail")]
    assert texts[:2] == ["".join(v) if isinstance(v, list) else v for v in FOREIGN_TXT]
    assert any(ACS_INCLUDE in t for t in texts) and w.states(s.domain) == dict.fromkeys(KINDS, "Verified")


def test_a_saved_plan_is_refused_when_a_record_set_changed_since(w: World, tmp_path: Path) -> None:
    s = seed_standard(w)
    saved = tmp_path / "plan.json"
    assert_clean_exit(w.cli([*w.args(s.domain, command="plan"), "--out", str(saved)]), 0)
    w.txt(s.zone, "mail", ["changed-by-someone=1"])  # a new ETag for the TXT set the plan updates
    before = w.records(s.zone)

    result = w.cli([*w.common("provision"), "--plan", str(saved)])

    assert_clean_exit(result, 5)
    report = only_domain(document(result))
    assert report["result"] == "refused" and "TXT 'mail'" in report["message"]
    assert "changed since the plan was made" in report["message"] and report["written"] == []
    assert w.records(s.zone) == before  # nothing re-merged, nothing written
    assert w.states(s.domain) == dict.fromkeys(KINDS, "NotStarted")


def test_a_missing_or_malformed_plan_file_is_a_usage_error(w: World, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    for path in (bad, tmp_path / "missing.json"):
        result = w.cli([*w.common("provision"), "--plan", str(path)])
        assert_clean_exit(result, 2)
        assert document(result)["error"] and str(path.name) in document(result)["error"]


def test_plan_refuses_flags_it_would_ignore(w: World, tmp_path: Path) -> None:
    saved = tmp_path / "plan.json"
    saved.write_text('{"version": 1, "plans": []}')
    for extra in (["--domain", "mail.example"], ["--dry-run"], ["--takeover"]):
        result = w.cli([*w.common("provision"), "--plan", str(saved), *extra])
        assert_clean_exit(result, 2)
        assert extra[0] in document(result)["error"]


def test_the_dns_adapter_deletes_only_the_version_it_read(w: World, sandbox: Sandbox) -> None:
    s = seed_standard(w)
    dns = AzureDns(w.dns, w.sub)
    zone = dns.get_zone(DNS_RG, s.zone)
    other = dns.list_record_sets(zone, ["other"])[("other", RecordType.TXT)]
    w.txt(s.zone, "other", ["changed"])
    with pytest.raises(ConflictError):
        dns.delete(zone, "other", RecordType.TXT, expected_etag=other.etag or "")
    assert ("other", "TXT") in w.records(s.zone)

    current = dns.list_record_sets(zone, ["other"])[("other", RecordType.TXT)]
    dns.delete(zone, "other", RecordType.TXT, expected_etag=current.etag or "")
    assert ("other", "TXT") not in w.records(s.zone)
    dns.delete(zone, "other", RecordType.TXT, expected_etag=current.etag or "")  # already gone: done
