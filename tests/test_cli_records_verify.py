"""`acs-dns records` and `acs-dns verify` through the CLI against the sandbox, for domains whose DNS is
hosted outside Azure DNS (the sandbox's external zones): the records to paste, served, pass `check`;
verify refuses while a needed record is wrong, starts with --force, ends Verified when DNS is right; and
check/records/verify need nothing but read access to the email domain (verify: its initiateVerification)."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import dns.zone

from acs_sandbox import Sandbox
from tests.e2e_helpers import (
    DKIM1,
    DKIM1_TARGET,
    DKIM2,
    DKIM2_TARGET,
    admin,
    assert_clean_exit,
    document,
    invoke,
)
from tests.e2e_helpers import only_domain as only
from tests.test_cli_check import KINDS, SPF, Place, codes

INITIATE = "initiateVerification"


def requests_to(sb: Sandbox, sub: str, word: str) -> list[dict[str, Any]]:
    log = admin(sb, "GET", "requests").json()["value"]
    return [e for e in log if sub in e["path"] and word.lower() in e["path"].lower()]


def records(place: Place, *extra: str) -> Any:
    return invoke(place.sb, place.args("records", *extra))


# ---- records ----------------------------------------------------------------------------------------
def test_bind_output_parses_and_served_passes_check(sandbox: Sandbox) -> None:
    """A zone at another DNS host with only a ~all SPF: records shows the merged SPF, the BIND lines load
    into dnspython's zone parser and, served by the host's name servers, leave check nothing but to verify."""
    place = Place(sandbox)
    place.seed({(place.host, "TXT"): ["v=spf1 mx ~all", "google-site-verification=keep"]}, verified=False)
    result = records(place, "--format", "bind")
    assert_clean_exit(result, 0)
    zone = dns.zone.from_text(result.stdout, origin=place.zone, check_origin=False)
    txt = {b"".join(r.strings).decode() for r in zone.find_rdataset("mail", "TXT")}
    assert txt == {
        f"ms-domain-verification={place.token}",
        "v=spf1 mx include:spf.protection.outlook.com -all",
    }
    assert str(zone.find_rdataset(f"{DKIM1}.mail", "CNAME")[0].target) == DKIM1_TARGET + "."
    assert str(zone.find_rdataset(f"{DKIM2}.mail", "CNAME")[0].target) == DKIM2_TARGET + "."

    sandbox.load_external_zone_file(place.zone, result.stdout)
    exit_code, report = place.check()
    assert exit_code == 0, report["findings"]
    assert {code for code, _ in codes(report)} == {"verification-not-started"}


def test_text_csv_and_json_name_hosts_relative_to_the_zone(sandbox: Sandbox) -> None:
    place = Place(sandbox)
    place.seed({}, verified=False)
    text = records(place).stdout
    assert f"Records for {place.domain} in zone {place.zone}" in text
    assert any(
        line.split()[:3] == ["CNAME", f"{DKIM1}.mail", f"{DKIM1}.{place.domain}"]
        for line in text.splitlines()
    )
    rows = list(csv.DictReader(io.StringIO(records(place, "--format", "csv").stdout)))
    assert [(r["kind"], r["host"]) for r in rows] == [
        ("Domain", "mail"),
        ("SPF", "mail"),
        ("DKIM", f"{DKIM1}.mail"),
        ("DKIM2", f"{DKIM2}.mail"),
    ]
    assert rows[1]["value"] == SPF
    doc = json.loads(records(place, "--format", "json").stdout)
    assert (doc["command"], doc["exit_code"], only(doc)["zone"]) == ("records", 0, place.zone)
    assert [r["fqdn"] for r in only(doc)["records"]] == [r["fqdn"] for r in rows]


def test_zone_flag_makes_names_relative_to_that_zone(sandbox: Sandbox) -> None:
    place = Place(sandbox)
    place.seed({}, verified=False)
    rows = list(csv.DictReader(io.StringIO(records(place, "--format", "csv", "--zone", place.domain).stdout)))
    assert [r["host"] for r in rows] == ["@", "@", DKIM1, DKIM2]
    outside = records(place, "--zone", "elsewhere.test")
    assert_clean_exit(outside, 2)
    assert "not inside" in outside.stderr or "not in" in outside.stderr


def test_a_domain_not_yet_in_public_dns_is_placed_in_its_parent(sandbox: Sandbox) -> None:
    place = Place(sandbox)
    place.seed({}, verified=False, delegated=False)
    rows = list(csv.DictReader(io.StringIO(records(place, "--format", "csv").stdout)))
    assert rows[0]["host"] == "mail" and rows[0]["fqdn"] == place.domain


# ---- verify -----------------------------------------------------------------------------------------
def verify(place: Place, *extra: str) -> tuple[Any, dict[str, Any]]:
    result = invoke(place.sb, place.args("verify", "--poll-interval", "0.05", "--output", "json", *extra))
    return result, only(document(result))


def test_verify_refuses_while_a_needed_record_is_wrong(sandbox: Sandbox) -> None:
    place = Place(sandbox)
    records_ = place.right()
    records_[(place.host, "TXT")] = [f"ms-domain-verification={place.token}", SPF.replace("-all", "~all")]
    place.seed(records_, verified=False)
    result, report = verify(place)
    assert_clean_exit(result, 6)
    assert report["result"] == "verification-failed"
    assert [f["code"] for f in report["findings"] if f["severity"] == "error"] == ["spf-not-hardfail"]
    assert "spf-not-hardfail" in report["message"] and "--force" in report["hint"]
    assert report["started"] == []
    assert requests_to(sandbox, place.sub, INITIATE) == []
    text = invoke(sandbox, place.args("verify"))
    assert_clean_exit(text, 6)
    assert "spf-not-hardfail" in text.stdout and "fix: change TXT host mail" in text.stdout

    forced, report = verify(place, "--force")
    assert_clean_exit(forced, 6)  # started, and SPF failed as check said it would
    assert report["started"] == KINDS[:4]
    assert len(requests_to(sandbox, place.sub, INITIATE)) == 4
    assert report["verification"]["SPF"]["status"] == "VerificationFailed"
    assert report["verification"]["Domain"]["status"] == "Verified"


def test_verify_a_right_external_domain_ends_verified_without_touching_dns(sandbox: Sandbox) -> None:
    place = Place(sandbox)
    place.seed(place.right(), verified=False)
    result, report = verify(place)
    assert_clean_exit(result, 0)
    assert (report["result"], report["exit_code"], report["started"]) == ("verified", 0, KINDS[:4])
    assert {k: v["status"] for k, v in report["verification"].items()} == dict.fromkeys(KINDS[:4], "Verified")
    assert [f["code"] for f in report["findings"]] == ["verification-not-started"] * 4
    writes = [e for e in admin(sandbox, "GET", "requests").json()["value"] if place.sub in e["path"]]
    assert {e["method"] for e in writes} <= {"GET", "POST"}
    assert not [e for e in writes if "dnszones" in e["path"].lower()]

    again, report = verify(place)
    assert_clean_exit(again, 0)
    assert (report["started"], report["message"]) == ([], "every type already Verified")


def test_verify_starts_only_types_whose_records_are_right_when_others_are_verified(sandbox: Sandbox) -> None:
    """A Verified type whose record changed since is not started again, so it does not block verify."""
    place = Place(sandbox)
    records_ = place.right()
    records_.pop((place.rel(DKIM1), "CNAME"))
    place.seed(records_, verified=["Domain", "SPF", "DKIM"])
    result, report = verify(place)
    assert_clean_exit(result, 0)
    assert report["started"] == ["DKIM2"]
    assert "dkim-changed-after-verification" in [f["code"] for f in report["findings"]]


def test_read_access_to_the_email_domain_is_enough(sandbox: Sandbox) -> None:
    """No permission on any DNS zone and no write on the email service: check and records work; verify
    needs only initiateVerification."""
    place = Place(sandbox)
    place.seed(place.right(), verified=False)
    deny = ["Microsoft.Network/*", "Microsoft.Communication/*/write", "Microsoft.Communication/*/delete"]
    admin(sandbox, "PUT", f"subscriptions/{place.sub}/authorization", {"denied": True, "actions": deny})
    try:
        assert place.check()[0] == 0
        assert_clean_exit(records(place), 0)
        result, report = verify(place)
        assert_clean_exit(result, 0)
        assert report["result"] == "verified"
        # with the zone named in full, an unreadable Azure zone is not required either
        assert place.check("--zone", place.zone, "--zone-resource-group", "rg-dns")[0] == 0
    finally:
        admin(sandbox, "PUT", f"subscriptions/{place.sub}/authorization", {"denied": False})


def test_verify_on_a_verified_domain_whose_dns_changed_says_mail_breaks(sandbox: Sandbox) -> None:
    place = Place(sandbox)
    records_ = place.right()
    records_.pop((place.rel(DKIM2), "CNAME"))
    place.seed(records_, verified=True)
    result, report = verify(place)
    assert_clean_exit(result, 0)  # nothing to verify: ACS keeps DKIM2 Verified
    assert report["started"] == []
    assert "dkim2-changed-after-verification" in report["message"] and "mail breaks" in report["message"]
    assert requests_to(sandbox, place.sub, INITIATE) == []


def test_flags_that_write_are_refused_before_anything_is_sent(sandbox: Sandbox) -> None:
    place = Place(sandbox)
    for command in ("check", "records", "verify"):
        result = invoke(sandbox, place.args(command, "--takeover", "--output", "json"))
        assert_clean_exit(result, 2)
        assert document(result)["error"].startswith(f"--takeover cannot be given to {command}")
    assert [e for e in admin(sandbox, "GET", "requests").json()["value"] if place.sub in e["path"]] == []
