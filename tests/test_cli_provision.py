"""`acs-dns provision` end to end: the CLI in-process against the sandbox, with the real SDK clients.

Each test seeds its own subscription (email service, domain, zone with other teams' records), runs the
command, and asserts on the JSON document and on the zone as the SDK reads it afterwards.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest

from acs_sandbox import Sandbox, SandboxOptions
from provisioner.azure.clients import AzureSettings
from provisioner.config import DomainTarget
from provisioner.dnscheck import DnsServerAddress
from provisioner.errors import ExitCode
from provisioner.model import OWNER_METADATA_KEY
from provisioner.options import RunOptions
from provisioner.report import Result
from provisioner.runner import run
from tests.e2e_helpers import (
    ACS_INCLUDE,
    DKIM1,
    DKIM1_TARGET,
    DKIM2,
    DKIM2_TARGET,
    DNS_RG,
    EMAIL_RG,
    EMAIL_SERVICE,
    FOREIGN_METADATA,
    FOREIGN_TTL,
    FOREIGN_TXT,
    KINDS,
    Seeded,
    World,
    assert_clean_exit,
    changes_by_name,
    counters,
    dkim_name,
    document,
    only_domain,
    owner_marked,
    reset_counters,
    seed_standard,
    two_domains,
    unique_zone,
)

ACS_SPF = f"v=spf1 {ACS_INCLUDE} -all"
FOREIGN_TEXTS = ["".join(r) if isinstance(r, list) else r for r in FOREIGN_TXT]
FOREIGN_STORED = [r if isinstance(r, list) else [r] for r in FOREIGN_TXT]


@pytest.fixture
def w(sandbox: Sandbox) -> Iterator[World]:
    with World(sandbox) as world:
        yield world


@pytest.fixture(scope="module")
def slow_sandbox() -> Iterator[Sandbox]:
    """Verification takes 30 s to decide here: states stay VerificationRequested for the whole test."""
    with Sandbox(SandboxOptions(verify_delay=30)) as sb:
        yield sb


def txt_texts(world: World, zone: str, name: str) -> list[str]:
    return ["".join(v) for v in world.txt_values(zone, name)]


def spf_of(texts: list[str]) -> list[str]:
    return [t for t in texts if t.startswith("v=spf1")]


def assert_refused_untouched(result, doc, world: World, seeded: Seeded, before: dict) -> dict:
    """Exit 5, result "refused", nothing written: every record set as it was, etag and all."""
    assert_clean_exit(result, 5)
    report = only_domain(doc)
    assert report["result"] == "refused", report
    assert report["written"] == []
    assert world.records(seeded.zone) == before
    assert world.states(seeded.domain) == dict.fromkeys(KINDS, "NotStarted")
    return report


# ---- the main job, subdomain and apex -----------------------------------------------------------------
@pytest.mark.parametrize(
    ("apex", "sub"), [(False, "mail"), (True, ""), (False, "out.bound")], ids=["subdomain", "apex", "deep"]
)
def test_provision_merges_into_the_zone_and_verifies(w: World, apex: bool, sub: str) -> None:
    s = seed_standard(w, apex=apex, sub=sub)
    token = w.token_of(s.domain)
    before = w.records(s.zone)

    result, doc = w.provision(s.domain)

    assert_clean_exit(result, 0)
    assert doc["exit_code"] == 0 and doc["command"] == "provision"
    report = only_domain(doc)
    assert report["result"] == "verified"
    assert report["zone"]["name"] == s.zone and report["zone"]["resource_group"] == DNS_RG
    d1, d2 = dkim_name(DKIM1, s.relative), dkim_name(DKIM2, s.relative)
    if apex:
        assert (d1, d2) == (DKIM1, DKIM2)
    else:
        assert d1 == f"selector1-azurecomm-prod-net._domainkey.{sub}"
    changes = changes_by_name(report)
    assert set(changes) == {(s.relative, "TXT"), (d1, "CNAME"), (d2, "CNAME")}
    txt = changes[(s.relative, "TXT")]
    assert txt["action"] == "update" and txt["kinds"] == ["Domain", "SPF"]
    assert txt["before"] == FOREIGN_TEXTS
    assert sorted(txt["after"]) == sorted([*FOREIGN_TEXTS, token, ACS_SPF])
    assert changes[(d1, "CNAME")]["action"] == "create"
    assert changes[(d1, "CNAME")]["before"] == [] and changes[(d1, "CNAME")]["after"] == [DKIM1_TARGET]
    assert changes[(d2, "CNAME")]["after"] == [DKIM2_TARGET]
    assert sorted(report["written"]) == sorted([f"TXT {s.relative}", f"CNAME {d1}", f"CNAME {d2}"])
    assert report["started"] == KINDS
    assert report["verification"] == {k: {"status": "Verified", "error_code": None} for k in KINDS}
    assert w.states(s.domain) == dict.fromkeys(KINDS, "Verified")

    after = w.records(s.zone)
    assert set(after) == set(before) | {(d1.lower(), "CNAME"), (d2.lower(), "CNAME")}
    for key, record_set in before.items():  # the MX, SOA, NS and the other team's TXT: not even rewritten
        if key != (s.relative, "TXT"):
            assert after[key] == record_set, key
    txt_set = after[(s.relative, "TXT")]
    foreign_metadata = {k: v for k, v in txt_set["metadata"].items() if not k.startswith("acsdns_")}
    assert (txt_set["ttl"], foreign_metadata) == (FOREIGN_TTL, FOREIGN_METADATA)  # the set's own, kept
    assert txt_set["metadata"]["acsdns_token"].startswith("ms-domain-verification=")  # what acs-dns added
    stored = txt_set["values"]
    for foreign in FOREIGN_STORED:  # byte for byte, the two-string record still as two strings
        assert stored.count(foreign) == 1, stored
    texts = ["".join(v) for v in stored]
    assert [t for t in texts if t.startswith("ms-domain-verification=")] == [token]
    assert spf_of(texts) == [ACS_SPF]
    assert len(stored) == len(FOREIGN_STORED) + 2
    for name, target in ((d1, DKIM1_TARGET), (d2, DKIM2_TARGET)):
        record_set = after[(name.lower(), "CNAME")]
        assert record_set["values"].rstrip(".") == target
        assert owner_marked(record_set, s.domain), record_set


def test_text_output_goes_to_stdout_and_progress_to_stderr(w: World) -> None:
    s = seed_standard(w, apex=False)
    result = w.cli(w.args(s.domain, json_output=False))
    assert_clean_exit(result, 0)
    assert f"{s.domain}  (zone {s.zone}, resource group {DNS_RG})" in result.stdout
    assert "result: verified (exit 0)" in result.stdout
    assert "verification: Domain Verified · SPF Verified · DKIM Verified · DKIM2 Verified" in result.stdout
    # plain progress lines (stderr is not a terminal here), one per record written and per type started
    for rtype, name in (("TXT", "mail"), ("CNAME", f"{DKIM1}.mail"), ("CNAME", f"{DKIM2}.mail")):
        assert re.search(
            rf"^{re.escape(s.domain)}: wrote\s+{rtype}\s+{re.escape(name)}$", result.stderr, re.M
        )
    assert "wrote" not in result.stdout
    for kind in KINDS:
        assert f"{s.domain}: started {kind} verification" in result.stderr


# ---- zone discovery -------------------------------------------------------------------------------------
def test_longest_matching_zone_is_used_and_a_child_zone_must_be_delegated(w: World) -> None:
    parent = unique_zone("p")
    child = f"mail.{parent}"
    w.email_service()
    w.email_domain(child)
    w.zone(parent)
    w.zone(child)
    w.txt(parent, "@", ["parent-team=keep"])
    parent_before = w.records(parent)

    result, doc = w.provision(child, propagation_timeout=0.3)

    assert_clean_exit(result, 6)
    report = only_domain(doc)
    assert report["zone"]["name"] == child
    assert report["result"] == "verification-failed"
    assert "not delegated" in report["message"]
    assert f"parent zone {parent}" in report["message"] and "'mail'" in report["message"]
    for server in w.name_servers(child):
        assert server.rstrip(".") in report["hint"]
    assert w.records(parent) == parent_before  # acs-dns never writes the parent zone

    w.delegate(parent, child)
    parent_before = w.records(parent)
    result, doc = w.provision(child)

    assert_clean_exit(result, 0)
    report = only_domain(doc)
    assert report["result"] == "verified" and report["zone"]["name"] == child
    assert {c["name"] for c in report["changes"]} == {"@", DKIM1, DKIM2}
    assert w.records(parent) == parent_before
    assert (DKIM1, "CNAME") in w.records(child)


def test_no_zone_holding_the_domain_is_not_found(w: World) -> None:
    w.email_service()
    domain = f"mail.{unique_zone('none')}"
    w.email_domain(domain)
    w.zone(unique_zone("unrelated"))
    result, doc = w.provision(domain)
    assert_clean_exit(result, 4)
    report = only_domain(doc)
    assert domain in report["message"] and "no public Azure DNS zone" in report["message"]
    assert report["hint"] and "--zone" in report["hint"]


def test_only_a_private_zone_matching_is_not_found_and_named(w: World) -> None:
    zone = unique_zone("priv")
    w.email_service()
    w.email_domain(f"mail.{zone}")
    w.zone(zone, zone_type="Private")
    result, doc = w.provision(f"mail.{zone}")
    assert_clean_exit(result, 4)
    message = only_domain(doc)["message"]
    assert "Private" in message and zone in message


def test_same_zone_in_two_resource_groups_is_a_usage_error(w: World) -> None:
    zone = unique_zone("dup")
    w.email_service()
    w.email_domain(f"mail.{zone}")
    w.zone(zone, rg="rg-dns-a")
    w.zone(zone, rg="rg-dns-b")
    result, doc = w.provision(f"mail.{zone}")
    assert_clean_exit(result, 2)
    report = only_domain(doc)
    assert "rg-dns-a" in report["message"] and "rg-dns-b" in report["message"]
    assert "--zone-resource-group" in report["hint"]
    assert w.records(zone, rg="rg-dns-a").keys() == {("@", "SOA"), ("@", "NS")}
    assert w.records(zone, rg="rg-dns-b").keys() == {("@", "SOA"), ("@", "NS")}


def test_zone_and_zone_resource_group_given_pick_that_zone(w: World) -> None:
    zone = unique_zone("given")
    w.email_service()
    w.email_domain(f"mail.{zone}")
    w.zone(zone, rg="rg-dns-a")  # created first: the one the sandbox DNS serves for this name
    w.zone(zone, rg="rg-dns-b")
    w.set_delegated(zone, False, rg="rg-dns-b")
    untouched = w.records(zone, rg="rg-dns-b")

    result, doc = w.provision(f"mail.{zone}", "--zone", zone, "--zone-resource-group", "rg-dns-a")

    assert_clean_exit(result, 0)
    report = only_domain(doc)
    assert report["result"] == "verified"
    assert report["zone"]["resource_group"] == "rg-dns-a"
    assert (f"{DKIM1}.mail", "CNAME") in w.records(zone, rg="rg-dns-a")
    assert w.records(zone, rg="rg-dns-b") == untouched


# ---- idempotence and cost -------------------------------------------------------------------------------
def test_first_run_writes_at_most_three_sets_and_a_second_run_writes_nothing(
    w: World, sandbox: Sandbox
) -> None:
    s = seed_standard(w, apex=False)
    reset_counters(sandbox)
    result, doc = w.provision(s.domain)
    assert_clean_exit(result, 0)
    first = counters(sandbox)
    report = only_domain(doc)
    assert len(report["written"]) <= 3
    assert first["routes"].get("PUT dns.recordsets.put", 0) == len(report["written"])
    assert not any(route.startswith(("DELETE", "PATCH")) for route in first["routes"]), first["routes"]

    reset_counters(sandbox)
    result, doc = w.provision(s.domain)
    assert_clean_exit(result, 0)
    second = counters(sandbox)
    report = only_domain(doc)
    assert report["result"] == "verified"
    assert report["written"] == [] and report["started"] == []
    assert {c["action"] for c in report["changes"]} == {"noop"}
    assert second["total"] <= 3, second["routes"]
    assert second["writes"] == 0 and set(second["methods"]) == {"GET"}, second


def test_rerun_repairs_drift_deleted_and_repointed_cnames(w: World) -> None:
    s = seed_standard(w, apex=False)
    assert_clean_exit(w.provision(s.domain)[0], 0)
    d1, d2 = f"{DKIM1}.mail", f"{DKIM2}.mail"
    w.delete(s.zone, d1, "CNAME")
    # someone repointed the CNAME acs-dns wrote and added their own metadata: repaired, metadata kept
    w.cname(s.zone, d2, "stale.example.net", metadata={OWNER_METADATA_KEY: s.domain, "team": "mail"})
    txt_before = w.records(s.zone)[("mail", "TXT")]

    result, doc = w.provision(s.domain)

    assert_clean_exit(result, 0)
    report = only_domain(doc)
    assert report["result"] == "verified"
    assert sorted(report["written"]) == [f"CNAME {d1}", f"CNAME {d2}"]
    changes = changes_by_name(report)
    assert changes[(d1, "CNAME")]["action"] == "create"
    assert changes[(d2, "CNAME")]["action"] == "update"
    assert changes[(d2, "CNAME")]["before"] == ["stale.example.net"]
    after = w.records(s.zone)
    assert after[(d1.lower(), "CNAME")]["values"].rstrip(".") == DKIM1_TARGET
    assert owner_marked(after[(d1.lower(), "CNAME")], s.domain)
    assert after[(d2.lower(), "CNAME")]["values"].rstrip(".") == DKIM2_TARGET
    assert after[(d2.lower(), "CNAME")]["metadata"] == {OWNER_METADATA_KEY: s.domain, "team": "mail"}
    assert after[("mail", "TXT")] == txt_before


def test_domain_name_is_normalised_case_and_trailing_dot(w: World) -> None:
    s = seed_standard(w)
    result, doc = w.provision(s.domain.upper() + ".")
    assert_clean_exit(result, 0)
    report = only_domain(doc)
    assert report["domain"] == s.domain and report["result"] == "verified"


def test_zone_given_that_does_not_hold_the_domain_is_a_usage_error(w: World) -> None:
    s = seed_standard(w)
    other = unique_zone("other")
    w.zone(other)
    result = w.cli(w.args(s.domain, "--zone", other, json_output=False))
    assert_clean_exit(result, 2)
    assert "not inside zone" in result.stderr and other in result.stderr


def test_zone_given_that_does_not_exist_is_not_found(w: World) -> None:
    s = seed_standard(w)
    result, doc = w.provision(s.domain, "--zone", s.domain)  # would hold it, but there is no such zone
    assert_clean_exit(result, 4)
    assert f"DNS zone {s.domain} not found" in only_domain(doc)["message"]


def test_long_merged_spf_is_split_into_strings_of_at_most_255(w: World) -> None:
    s = seed_standard(w)
    ips = " ".join(f"ip4:198.51.100.{i}" for i in range(1, 15))
    existing = f"v=spf1 {ips} -all"
    assert len(existing) < 255 < len(existing) + len(ACS_INCLUDE) + 1
    w.txt(s.zone, "mail", [existing])
    result, doc = w.provision(s.domain)
    assert_clean_exit(result, 0)
    assert only_domain(doc)["result"] == "verified"
    spf = [v for v in w.txt_values(s.zone, "mail") if v[0].startswith("v=spf1")]
    assert len(spf) == 1 and len(spf[0]) == 2, spf
    assert all(len(part) <= 255 for part in spf[0])
    assert "".join(spf[0]) == f"v=spf1 {ips} {ACS_INCLUDE} -all"


def test_spf_with_a_modifier_after_all_is_not_written_to_fail_verification(w: World) -> None:
    """An existing `v=spf1 mx -all exp=...`: merging the include must still give a record ACS accepts (it
    must end with -all, issue #3), or be refused before anything is written. Writing a record that then
    fails SPF verification (exit 6, zone already changed) is neither."""
    s = seed_standard(w)
    existing = f"v=spf1 mx -all exp=explain._spf.{s.zone}"
    w.txt(s.zone, "mail", [existing])
    before = w.records(s.zone)
    result, doc = w.provision(s.domain)
    report = only_domain(doc)
    if result.exit_code == 5:
        assert w.records(s.zone) == before
        return
    assert_clean_exit(result, 0)
    assert report["result"] == "verified", report["message"]
    spf = spf_of(txt_texts(w, s.zone, "mail"))
    assert len(spf) == 1 and spf[0].split()[-1] == "-all" and f"exp=explain._spf.{s.zone}" in spf[0]


# ---- refusals: exit 5, nothing written -------------------------------------------------------------------
def test_softfail_spf_is_refused_without_spf_hardfail_and_merged_with_it(w: World) -> None:
    s = seed_standard(w, apex=False)
    w.txt(s.zone, "mail", [*FOREIGN_TXT, "v=spf1 include:_spf.team.example ~all"])
    before = w.records(s.zone)

    result, doc = w.provision(s.domain)

    report = assert_refused_untouched(result, doc, w, s, before)
    assert "~all" in report["message"] and "-all" in report["message"]
    assert "--spf-hardfail" in report["hint"]

    result, doc = w.provision(s.domain, "--spf-hardfail")

    assert_clean_exit(result, 0)
    report = only_domain(doc)
    assert report["result"] == "verified"
    txt = changes_by_name(report)[("mail", "TXT")]
    assert any("~all" in note and "-all" in note for note in txt["notes"]), txt["notes"]
    texts = txt_texts(w, s.zone, "mail")
    assert spf_of(texts) == [f"v=spf1 include:_spf.team.example {ACS_INCLUDE} -all"]
    for foreign in FOREIGN_TEXTS:
        assert texts.count(foreign) == 1


def test_two_spf_records_are_refused(w: World) -> None:
    s = seed_standard(w, apex=False)
    w.txt(s.zone, "mail", ["v=spf1 a -all", "v=spf1 mx -all", *FOREIGN_TXT])
    before = w.records(s.zone)
    result, doc = w.provision(s.domain, "--spf-hardfail")
    report = assert_refused_untouched(result, doc, w, s, before)
    assert "2 SPF" in report["message"] and "RFC 7208" in report["message"]


def test_foreign_dkim_cname_is_refused_and_taken_over_with_takeover(w: World) -> None:
    s = seed_standard(w, apex=False)
    name = f"{DKIM1}.mail"
    w.cname(s.zone, name, "selector1.other-provider.example", metadata={"team": "web"})
    before = w.records(s.zone)

    result, doc = w.provision(s.domain)

    report = assert_refused_untouched(result, doc, w, s, before)
    assert name in report["message"] and "selector1.other-provider.example" in report["message"]
    assert "--takeover" in report["hint"]

    result, doc = w.provision(s.domain, "--takeover")

    assert_clean_exit(result, 0)
    report = only_domain(doc)
    change = changes_by_name(report)[(name, "CNAME")]
    assert change["action"] == "update" and change["before"] == ["selector1.other-provider.example"]
    record_set = w.records(s.zone)[(name.lower(), "CNAME")]
    assert record_set["values"].rstrip(".") == DKIM1_TARGET
    assert record_set["metadata"] == {
        "team": "web",
        OWNER_METADATA_KEY: s.domain,
        "acsdns_cname_before": "selector1.other-provider.example",  # deprovision puts it back
    }


@pytest.mark.parametrize("rtype", ["A", "TXT"])
def test_another_record_type_at_a_dkim_name_is_refused_even_with_takeover(w: World, rtype: str) -> None:
    s = seed_standard(w, apex=False)
    name = f"{DKIM2}.mail"
    if rtype == "A":
        w.a(s.zone, name, "192.0.2.10")
    else:
        w.txt(s.zone, name, ["v=DKIM1; k=rsa; p=MIGf"])
    before = w.records(s.zone)
    result, doc = w.provision(s.domain, "--takeover")
    report = assert_refused_untouched(result, doc, w, s, before)
    assert f"{rtype} record set" in report["message"] and name in report["message"]


def test_cname_at_the_domain_name_is_refused(w: World) -> None:
    zone = unique_zone()
    s = Seeded(zone, f"mail.{zone}", "mail")
    w.email_service()
    w.email_domain(s.domain)
    w.zone(zone)
    w.cname(zone, "mail", "mail.saas-provider.example")
    before = w.records(zone)
    result, doc = w.provision(s.domain, "--takeover", "--spf-hardfail")
    report = assert_refused_untouched(result, doc, w, s, before)
    assert "CNAME" in report["message"] and "'mail'" in report["message"]
    assert "mail.saas-provider.example" in report["message"]


def test_txt_set_that_would_exceed_azures_limit_is_refused(w: World) -> None:
    s = seed_standard(w)
    w.txt(s.zone, "mail", [f"team-{i}-verification=x" for i in range(19)])
    before = w.records(s.zone)
    result, doc = w.provision(s.domain)
    report = assert_refused_untouched(result, doc, w, s, before)
    assert "21 records" in report["message"] and "at most 20" in report["message"]


def test_every_refusal_is_reported_in_one_run(w: World) -> None:
    s = seed_standard(w, apex=False)
    w.txt(s.zone, "mail", ["v=spf1 mx ?all"])
    w.cname(s.zone, f"{DKIM1}.mail", "elsewhere.example")
    before = w.records(s.zone)
    result, doc = w.provision(s.domain)
    report = assert_refused_untouched(result, doc, w, s, before)
    assert "2 reasons" in report["message"]
    assert "?all" in report["message"] and "elsewhere.example" in report["message"]


def test_spf_over_ten_lookups_through_nested_includes_is_refused(w: World) -> None:
    s = seed_standard(w, apex=False)
    z = s.zone
    # nested include chains, resolved over the sandbox DNS like a receiver would: 14 lookups once merged
    w.txt(z, "mail", [*FOREIGN_TXT, f"v=spf1 include:_s1.{z} include:_s2.{z} -all"])
    w.txt(z, "_s1", [f"v=spf1 a mx include:_s3.{z} -all"])
    w.txt(z, "_s2", [f"v=spf1 a mx ptr exists:x.{z} -all"])
    w.txt(z, "_s3", [f"v=spf1 a mx a:x.{z} mx:y.{z} -all"])
    before = w.records(z)
    result, doc = w.provision(s.domain)
    report = assert_refused_untouched(result, doc, w, s, before)
    assert "14 DNS lookups" in report["message"] and "10" in report["message"]


# ---- the race: another writer changes the TXT set between read and write ---------------------------------
TEAM_SPF = "v=spf1 include:_spf.team.example -all"
RACER_SPF = "v=spf1 include:_spf.team.example include:_spf.racer.example -all"


@pytest.mark.parametrize("mode", ["update", "create", "delete"])
def test_concurrent_txt_writer_is_merged_not_overwritten(w: World, sandbox: Sandbox, mode: str) -> None:
    """Between acs-dns's read and its write, another writer (real SDK calls, made from the progress
    callback when acs-dns announces the TXT change) rewrites the set (update), creates it (create) or
    deletes it (delete). The ETag-guarded write gets a 412; acs-dns re-reads and merges again."""
    zone = unique_zone("race")
    domain = f"mail.{zone}"
    w.email_service()
    w.email_domain(domain)
    w.zone(zone)
    if mode != "create":
        w.txt(zone, "mail", ["team-verification=1", TEAM_SPF])
    token = w.token_of(domain)
    lines: list[str] = []
    raced: list[str] = []

    def progress(target: DomainTarget, line: str) -> None:
        lines.append(line)
        words = line.split()
        if not raced and words[:1] in (["create"], ["update"]) and words[1:3] == ["TXT", "mail"]:
            raced.append(line)
            if mode == "delete":
                w.delete(zone, "mail", "TXT")
            else:  # what the other writer publishes, based on what it read
                w.txt(zone, "mail", ["team-verification=1", "racer-verification=XyZ", RACER_SPF])

    reset_counters(sandbox)
    reports, code = run(
        [DomainTarget(w.sub, EMAIL_RG, EMAIL_SERVICE, domain)],
        AzureSettings(arm_endpoint=sandbox.arm_endpoint, auth="sandbox", ca_bundle=sandbox.ca_bundle),
        RunOptions(timeout=20, propagation_timeout=3, poll_first=0.05, poll_max=0.2, dns_interval=0.05),
        dns_servers=[DnsServerAddress("127.0.0.1", sandbox.dns_port)],
        progress=progress,
    )

    assert raced, lines
    assert code is ExitCode.OK, (reports[0].message, lines)
    assert reports[0].result is Result.VERIFIED
    assert any("412" in line for line in lines), lines
    assert counters(sandbox)["statuses"].get("412", 0) == 1
    texts = txt_texts(w, zone, "mail")
    assert texts.count(token) == 1
    if mode == "delete":  # what the other writer removed stays removed
        assert sorted(texts) == sorted([token, ACS_SPF])
    else:
        assert texts.count("team-verification=1") == 1 and texts.count("racer-verification=XyZ") == 1
        expected_spf = f"v=spf1 include:_spf.team.example include:_spf.racer.example {ACS_INCLUDE} -all"
        assert spf_of(texts) == [expected_spf]
        assert len(texts) == 4
    assert w.states(domain) == dict.fromkeys(KINDS, "Verified")


# ---- verification ------------------------------------------------------------------------------------------
def test_zone_not_delegated_fails_fast_naming_the_name_servers(w: World) -> None:
    s = seed_standard(w, apex=False)
    w.set_delegated(s.zone, False)
    started = time.monotonic()
    result, doc = w.provision(s.domain, propagation_timeout=0.3)
    assert time.monotonic() - started < 10
    assert_clean_exit(result, 6)
    report = only_domain(doc)
    assert report["result"] == "verification-failed"
    assert f"zone {s.zone} is not delegated" in report["message"]
    for server in w.name_servers(s.zone):
        assert server.rstrip(".") in report["hint"]
    assert report["started"] == []
    assert w.states(s.domain) == dict.fromkeys(KINDS, "NotStarted")

    text = w.cli(w.args(s.domain, json_output=False, propagation_timeout=0.3))
    assert_clean_exit(text, 6)
    assert "fix: set these name servers at the registrar" in text.stdout
    assert w.name_servers(s.zone)[0].rstrip(".") in text.stdout


def test_timeout_names_the_types_still_pending(slow_sandbox: Sandbox) -> None:
    with World(slow_sandbox) as world:
        s = seed_standard(world, apex=False)
        started = time.monotonic()
        # long enough to start all four verifications even on a busy machine, then time out waiting
        result = world.cli([*world.args(s.domain), "--timeout", "3"])
        elapsed = time.monotonic() - started
    assert_clean_exit(result, 7)
    assert elapsed < 10
    report = only_domain(document(result))
    assert report["result"] == "timed-out"
    assert "--timeout" in report["message"]
    for kind in KINDS:
        assert f"{kind} (Verification" in report["message"], report["message"]


def test_no_wait_starts_verification_once_and_returns(slow_sandbox: Sandbox) -> None:
    with World(slow_sandbox) as world:
        s = seed_standard(world, apex=False)
        result, doc = world.provision(s.domain, "--no-wait")
        assert_clean_exit(result, 0)
        report = only_domain(doc)
        assert report["result"] == "started"
        assert report["started"] == KINDS
        assert {k: v["status"] for k, v in report["verification"].items()} == dict.fromkeys(
            KINDS, "VerificationRequested"
        )
        assert world.states(s.domain) == dict.fromkeys(KINDS, "VerificationRequested")

        reset_counters(slow_sandbox)
        result, doc = world.provision(s.domain, "--no-wait")
        assert_clean_exit(result, 0)
        report = only_domain(doc)
        assert report["written"] == [] and report["started"] == []  # nothing written or started twice
        assert not any(
            "initiateVerification" in r or r.startswith("POST") for r in counters(slow_sandbox)["routes"]
        )


def test_a_type_that_failed_earlier_is_started_again(w: World) -> None:
    s = seed_standard(w, apex=False)
    w.verify(s.domain, "DKIM")  # started before the CNAME existed
    assert w.states(s.domain)["DKIM"] == "VerificationFailed"

    result, doc = w.provision(s.domain)

    assert_clean_exit(result, 0)
    report = only_domain(doc)
    assert report["result"] == "verified"
    assert "DKIM" in report["started"]
    assert w.states(s.domain) == dict.fromkeys(KINDS, "Verified")


def test_dmarc_record_is_written_and_verified_when_the_service_lists_one(w: World) -> None:
    s = seed_standard(w, apex=False)
    w.enable_dmarc(s.domain)
    dmarc = w.get_domain(s.domain)["verificationRecords"]["DMARC"]["value"]

    result, doc = w.provision(s.domain)

    assert_clean_exit(result, 0)
    report = only_domain(doc)
    change = changes_by_name(report)[("_dmarc.mail", "TXT")]
    assert change["action"] == "create" and change["after"] == [dmarc] and change["kinds"] == ["DMARC"]
    assert report["verification"]["DMARC"] == {"status": "Verified", "error_code": None}
    assert report["started"] == [*KINDS, "DMARC"]
    assert w.txt_values(s.zone, "_dmarc.mail") == [[dmarc]]


# ---- the email domain itself -------------------------------------------------------------------------------
def test_azure_managed_domain_has_nothing_to_do(w: World, sandbox: Sandbox) -> None:
    w.email_service()
    w.email_domain("AzureManagedDomain", "AzureManaged")
    reset_counters(sandbox)
    result, doc = w.provision("AzureManagedDomain")
    assert_clean_exit(result, 0)
    report = only_domain(doc)
    assert report["result"] == "nothing-to-do"
    assert "Azure managed" in report["message"]
    assert report["zone"] is None and report["changes"] == [] and report["written"] == []
    assert counters(sandbox)["writes"] == 0


def test_exchange_online_domain_is_refused_with_an_explanation(w: World) -> None:
    zone = unique_zone()
    w.email_service()
    w.email_domain(f"mail.{zone}", "CustomerManagedInExchangeOnline")
    w.zone(zone)
    before = w.records(zone)
    result, doc = w.provision(f"mail.{zone}")
    assert_clean_exit(result, 5)
    report = only_domain(doc)
    assert "Exchange Online" in report["message"] and "Exchange Online" in report["hint"]
    assert w.records(zone) == before


def test_missing_email_service_is_not_found(w: World) -> None:
    zone = unique_zone()
    w.zone(zone)
    result, doc = w.provision(f"mail.{zone}")
    assert_clean_exit(result, 4)
    report = only_domain(doc)
    assert EMAIL_SERVICE in report["message"]
    assert "--email-service" in report["hint"]


def test_missing_domain_is_not_found_with_a_create_domain_hint(w: World) -> None:
    zone = unique_zone()
    w.email_service()
    w.zone(zone)
    result, doc = w.provision(f"mail.{zone}")
    assert_clean_exit(result, 4)
    report = only_domain(doc)
    assert f"mail.{zone}" in report["message"]
    assert "--create-domain" in report["hint"]


def test_create_domain_creates_it_and_verifies(w: World) -> None:
    zone = unique_zone()
    w.email_service()
    w.zone(zone)
    result, doc = w.provision(f"mail.{zone}", "--create-domain")
    assert_clean_exit(result, 0)
    assert only_domain(doc)["result"] == "verified"
    created = w.get_domain(f"mail.{zone}")
    assert created["domainManagement"] == "CustomerManaged"
    assert w.states(f"mail.{zone}") == dict.fromkeys(KINDS, "Verified")


# ---- many domains from a config file ---------------------------------------------------------------------
def test_config_with_two_domains_reports_both_and_exits_with_the_worst(w: World, tmp_path) -> None:
    config, good, _ = two_domains(w, tmp_path)
    zone = good.split(".", 1)[1]
    news_before = w.records(zone)[("news", "TXT")]

    result = w.cli([*w.common(json_output=False), "--config", str(config)])

    assert_clean_exit(result, 5)
    assert f"mail.{zone}  (zone {zone}" in result.stdout
    assert f"news.{zone}  (zone {zone}" in result.stdout
    assert "result: verified (exit 0)" in result.stdout
    assert "result: refused (exit 5)" in result.stdout
    assert re.search(r"^2 domain\(s\): 1 refused, 1 verified; failed: \S+; exit 5$", result.stdout, re.M)
    assert w.records(zone)[("news", "TXT")] == news_before

    result = w.cli([*w.common(), "--config", str(config)])
    assert_clean_exit(result, 5)
    doc = document(result)
    assert doc["exit_code"] == 5
    assert [(d["domain"], d["result"], d["exit_code"]) for d in doc["domains"]] == [
        (f"mail.{zone}", "verified", 0),
        (f"news.{zone}", "refused", 5),
    ]

    # a flag given with --config overrides [defaults] for every domain
    result = w.cli([*w.common(), "--config", str(config), "--spf-hardfail"])
    assert_clean_exit(result, 0)
    assert [d["result"] for d in document(result)["domains"]] == ["verified", "verified"]


def test_waits_for_propagation_within_its_bound() -> None:
    """Changes reach the name servers 1 s after the write here: a 0.3 s bound times out naming the records
    not served yet (exit 7, verification not started); a second run waits for them and verifies."""
    with Sandbox(SandboxOptions(propagation_delay=1.0)) as sb, World(sb) as world:
        s = seed_standard(world)  # seeded: public at once; what acs-dns writes takes 1 s to be served
        result, doc = world.provision(s.domain, propagation_timeout=0.3)
        assert_clean_exit(result, 7)
        report = only_domain(doc)
        assert report["result"] == "timed-out" and report["started"] == []
        assert "still do not serve" in report["message"]
        assert f"CNAME {DKIM1}.{s.domain}" in report["message"] and f"TXT {s.domain}" in report["message"]
        assert world.states(s.domain) == dict.fromkeys(KINDS, "NotStarted")

        result, doc = world.provision(s.domain, propagation_timeout=5)
        assert_clean_exit(result, 0)
        assert only_domain(doc)["result"] == "verified"
