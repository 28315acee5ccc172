"""`acs-dns demo`: the whole job on the embedded sandbox ends Verified and leaves the other teams' records
of the zone as they were."""

from __future__ import annotations

import re

from provisioner import demo
from tests.e2e_helpers import assert_clean_exit, invoke, only_domain, valid_document


def _listing(text: str, when: str) -> list[str]:
    """The zone listing the demo prints under `zone contoso.example <when>`, one line per record."""
    block = text.split(f"zone {demo.ZONE} {when}", 1)[1].split("\n", 1)[1]
    lines = []
    for line in block.splitlines():
        if not line.startswith("  "):
            break
        lines.append(re.sub(r"\s+", " ", line.strip()))
    return lines


def test_demo_json_is_verified_schema_valid_and_keeps_the_foreign_records() -> None:
    result = invoke(None, ["demo", "--output", "json"])

    assert_clean_exit(result, 0)
    doc = valid_document(result.stdout)  # stdout is only the document: the story goes to stderr
    report = only_domain(doc)
    assert (report["domain"], report["result"], report["exit_code"]) == (demo.DOMAIN, "verified", 0)
    assert {k: v["status"] for k, v in report["verification"].items()} == dict.fromkeys(
        ["Domain", "SPF", "DKIM", "DKIM2"], "Verified"
    )
    before, after = _listing(result.stderr, "before"), _listing(result.stderr, "after")
    # the apex's TXT and MX, and the non-SPF TXT at the domain's name, are kept byte for byte
    kept = [line for line in before if "v=spf1 include:_spf.newsletter.example" not in line]
    assert [line for line in after if line in kept] == kept
    assert f"TXT @ {demo.APEX_TXT[0]}" in after and f"TXT mail {demo.MAIL_TXT[1]}" in after
    # the domain's own SPF gained Azure's include and -all (allowed for the demo); only one SPF record
    spf = [line for line in after if line.startswith("TXT mail v=spf1")]
    assert spf == ["TXT mail v=spf1 include:_spf.newsletter.example include:spf.protection.outlook.com -all"]
    assert sorted(report["written"]) == sorted(
        f"{c['type']} {c['name']}" for c in report["changes"] if c["action"] != "noop"
    )


def test_demo_text_tells_the_story_on_stdout() -> None:
    result = invoke(None, ["demo"])

    assert_clean_exit(result, 0)
    assert f"zone {demo.ZONE} before" in result.stdout and f"zone {demo.ZONE} after" in result.stdout
    assert f"acs-dns provision --domain {demo.DOMAIN} --spf-hardfail" in result.stdout
    assert "verification: Domain Verified · SPF Verified · DKIM Verified · DKIM2 Verified" in result.stdout
    assert "result: verified (exit 0)" in result.stdout
    assert "TXT mail atlassian-domain-verification=Bq6pdxnrJmcFBHmG3nxYaQ" in _listing(result.stdout, "after")
