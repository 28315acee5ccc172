"""provision and plan name the same finding codes as `check` (one place decides what "right" means): a
refusal carries the code of the problem it refuses, and a failed DNS check before verification comes
with the findings that explain it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from acs_sandbox import Sandbox, SandboxOptions
from tests.e2e_helpers import (
    DKIM1,
    World,
    assert_clean_exit,
    document,
    only_domain,
    seed_standard,
)


@pytest.fixture
def w(sandbox: Sandbox) -> Iterator[World]:
    with World(sandbox) as world:
        yield world


def check_codes(w: World, domain: str) -> set[str]:
    result = w.cli(w.args(domain, command="check"))
    return {f["code"] for f in only_domain(document(result))["findings"]}


def test_a_refused_soft_spf_names_the_code_check_reports(w: World) -> None:
    s = seed_standard(w)
    w.txt(s.zone, "mail", ["v=spf1 include:_spf.team.example ~all"])
    result, doc = w.plan(s.domain)
    assert_clean_exit(result, 5)
    report = only_domain(doc)
    assert report["codes"] == ["spf-not-hardfail"]
    assert "[spf-not-hardfail]" in report["message"]
    assert "spf-not-hardfail" in check_codes(w, s.domain)


def test_several_refusals_each_name_their_code(w: World) -> None:
    s = seed_standard(w)
    w.txt(s.zone, "mail", ["v=spf1 mx -all", "v=spf1 a -all"])
    w.cname(s.zone, f"{DKIM1}.mail", "selector1._domainkey.elsewhere.example")
    result, doc = w.provision(s.domain)
    assert_clean_exit(result, 5)
    report = only_domain(doc)
    assert report["codes"] == ["spf-multiple", "dkim-wrong-target"]
    assert "[spf-multiple]" in report["message"] and "[dkim-wrong-target]" in report["message"]
    assert {"spf-multiple", "dkim-wrong-target"} <= check_codes(w, s.domain)


def test_a_cname_at_the_domain_name_is_named(w: World) -> None:
    s = seed_standard(w)
    w.delete(s.zone, "mail", "TXT")
    w.cname(s.zone, "mail", "web.hosting.example")
    report = only_domain(w.plan(s.domain)[1])
    assert report["codes"] == ["cname-at-domain"]
    assert "cname-at-domain" in check_codes(w, s.domain)


def test_provision_on_an_undelegated_zone_reports_the_finding(w: World) -> None:
    s = seed_standard(w)
    w.set_delegated(s.zone, False)
    result, doc = w.provision(s.domain, propagation_timeout=0.3)
    assert_clean_exit(result, 6)
    report = only_domain(doc)
    assert [f["code"] for f in report["findings"]] == ["zone-not-delegated"]
    assert report["message"].endswith("[zone-not-delegated]")
    text = w.cli(w.args(s.domain, json_output=False, propagation_timeout=0.3))
    assert "zone-not-delegated" in text.stdout and "fix: create NS host" not in text.stdout


def test_provision_timing_out_on_propagation_names_what_is_not_served_yet() -> None:
    """Changes reach DNS 2 s after they are written; provision waits 0.5 s for them."""
    with Sandbox(SandboxOptions(propagation_delay=2)) as sb, World(sb) as w:
        s = seed_standard(w)  # seeded: public at once; what acs-dns writes takes 2 s to be served
        result, doc = w.provision(s.domain, propagation_timeout=0.5)
    assert_clean_exit(result, 7)
    report = only_domain(doc)
    missing = ["domain-txt-missing", "spf-missing", "dkim-missing", "dkim2-missing"]
    assert [f["code"] for f in report["findings"]] == missing
    assert report["message"].endswith(f"[{', '.join(missing)}]")
