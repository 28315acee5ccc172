"""Reports in the pipeline's own language, end to end against the sandbox: GitHub Actions annotations and
step summary, Azure Pipelines logging commands, `--output markdown`; and the JSON document's schema, usage
errors included."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest

from acs_sandbox import Sandbox
from provisioner.annotations import azure_data, github_data, github_property
from tests.e2e_helpers import (
    World,
    assert_clean_exit,
    counters,
    document,
    invoke,
    reset_counters,
    schema_validator,
    two_domains,
    unique_zone,
)


@pytest.fixture
def w(sandbox: Sandbox) -> Iterator[World]:
    with World(sandbox) as world:
        yield world


# ---- GitHub Actions ---------------------------------------------------------------------------------------
def test_github_actions_gets_one_error_per_failed_domain_and_a_step_summary(w: World, tmp_path: Path) -> None:
    config, good, bad = two_domains(w, tmp_path)
    summary = tmp_path / "step_summary.md"
    summary.write_text("earlier step's summary\n")
    result = invoke(
        w.sb,
        [*w.common(), "--config", str(config)],
        env={"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)},
    )
    assert_clean_exit(result, 5)
    document(result)  # stdout still holds just the document
    errors = [line for line in result.stderr.splitlines() if line.startswith("::")]
    assert len(errors) == 1, result.stderr
    title = github_property(f"acs-dns provision: {bad} refused")
    assert errors[0].startswith(f"::error title={title}::{bad}: refused (exit 5): "), errors
    assert (
        "%3A" in title and ":" not in title.split("title=", 1)[-1]
    )  # the domain's ': ' escaped in the title
    assert (
        '"-all", and changing that changes the mail policy for the whole domain [spf-not-hardfail]. Fix: re-run with --spf-hardfail'
        in errors[0]
    )
    assert good not in errors[0]

    text = summary.read_text()
    assert text.startswith("earlier step's summary\n### acs-dns provision\n"), text  # appended, not replaced
    rows = [
        line for line in text.splitlines() if line.startswith(f"| {good} ") or line.startswith(f"| {bad} ")
    ]
    assert [r.split(" | ")[0] for r in rows] == [f"| {bad}", f"| {good}"]  # failures first
    bad_row, good_row = (r.split(" | ") for r in rows)
    assert bad_row[1] == "❌ refused (exit 5)" and bad_row[2] == "nothing"
    assert good_row[1] == "✅ verified (exit 0)"
    assert good_row[2].startswith("wrote TXT mail, CNAME selector1-azurecomm-prod-net._domainkey.mail")
    assert good_row[3] == "Domain Verified, SPF Verified, DKIM Verified, DKIM2 Verified"
    assert f"2 domain(s): 1 refused, 1 verified; failed: {bad}; exit 5" in text


def test_no_annotations_and_no_summary_outside_ci(w: World, tmp_path: Path) -> None:
    config, _, _ = two_domains(w, tmp_path)
    result = invoke(w.sb, [*w.common(json_output=False), "--config", str(config)])
    assert_clean_exit(result, 5)
    assert "::error" not in result.output and "##vso" not in result.output


def test_workflow_command_escaping_follows_githubs_rules() -> None:
    assert github_data("50% done\r\nnext") == "50%25 done%0D%0Anext"
    assert github_property("a: b, c%\n") == "a%3A b%2C c%25%0A"
    assert azure_data("50% done\nnext") == "50%AZP25 done%0Anext"


def test_both_ci_systems_named_get_their_own_line(w: World) -> None:
    """A domain whose zone does not exist (exit 4), with both CI variables set: one line for each."""
    w.email_service()
    missing = f"mail.{unique_zone('gone')}"
    w.email_domain(missing)
    result = invoke(w.sb, w.args(missing), env={"GITHUB_ACTIONS": "true", "TF_BUILD": "True"})
    assert_clean_exit(result, 4)
    github = [line for line in result.stderr.splitlines() if line.startswith("::error")]
    azure = [line for line in result.stderr.splitlines() if line.startswith("##vso[")]
    assert len(github) == 1 and len(azure) == 1, result.stderr
    assert github[0].startswith(f"::error title={github_property(f'acs-dns provision: {missing} error')}::")
    assert azure[0].startswith(f"##vso[task.logissue type=error]{missing}: error (exit 4): ")


# ---- Azure Pipelines ---------------------------------------------------------------------------------------
def test_azure_pipelines_gets_a_logissue_per_failed_domain(w: World, tmp_path: Path) -> None:
    config, _, bad = two_domains(w, tmp_path)
    result = invoke(w.sb, [*w.common(json_output=False), "--config", str(config)], env={"TF_BUILD": "True"})
    assert_clean_exit(result, 5)
    issues = [line for line in result.stderr.splitlines() if line.startswith("##vso[")]
    assert len(issues) == 1, result.stderr
    assert issues[0].startswith(f"##vso[task.logissue type=error]{bad}: refused (exit 5): ")
    assert "Fix: " in issues[0]
    assert "::error" not in result.stderr  # not GitHub


def test_a_configuration_error_in_ci_is_annotated_too(w: World, tmp_path: Path) -> None:
    bad_config = tmp_path / "bad.toml"
    bad_config.write_text('[defaults]\nsubscriptoin = "x"\n')
    result = invoke(w.sb, [*w.common(), "--config", str(bad_config)], env={"GITHUB_ACTIONS": "true"})
    assert_clean_exit(result, 2)
    doc = document(result)
    assert doc["domains"] == [] and "subscriptoin" in doc["error"]
    errors = [line for line in result.stderr.splitlines() if line.startswith("::error")]
    assert len(errors) == 1 and "subscriptoin" in errors[0], result.stderr


# ---- --output markdown -------------------------------------------------------------------------------------
def test_markdown_output_is_the_table_failures_first(w: World, tmp_path: Path) -> None:
    config, good, bad = two_domains(w, tmp_path)
    result = invoke(w.sb, [*w.common("plan", json_output=False), "--config", str(config), "-o", "markdown"])
    assert_clean_exit(result, 5)  # plan refuses what provision would refuse
    lines = result.stdout.splitlines()
    assert lines[0] == "### acs-dns plan"
    assert lines[2] == "| domain | result | changed | verification | details |"
    assert lines[4].startswith(f"| {bad} | ❌ refused (exit 5) |"), result.stdout
    assert lines[5].startswith(f"| {good} | ✅ changes-pending (exit 0) | to do: create TXT mail, "), (
        result.stdout
    )
    assert "NotStarted" in lines[5]
    assert lines[-1] == f"2 domain(s): 1 changes-pending, 1 refused; failed: {bad}; exit 5"


def test_text_output_lists_failures_first_and_names_them_in_the_totals(w: World, tmp_path: Path) -> None:
    config, good, bad = two_domains(w, tmp_path)
    result = invoke(w.sb, [*w.common(json_output=False), "--config", str(config)])
    assert_clean_exit(result, 5)
    out = result.stdout
    assert out.index(f"{bad}  (zone") < out.index(f"{good}  (zone")
    summary = out[out.index("summary:") :].splitlines()
    assert summary[1:] == [
        f"  FAILED {bad}: refused (exit 5)",
        f"  ok     {good}: verified (exit 0)",
        f"2 domain(s): 1 refused, 1 verified; failed: {bad}; exit 5",
    ]
    assert out.count(f"FAILED {bad}") == 1 and out.count(f"ok     {good}") == 1


# ---- the JSON document: schema, key style, usage errors --------------------------------------------------
def test_schema_command_prints_a_draft_2020_12_schema() -> None:
    result = invoke(None, ["schema"])
    assert_clean_exit(result, 0)
    schema = json.loads(result.stdout)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)


def test_the_schema_rejects_camel_case_keys_and_unknown_results() -> None:
    validator = schema_validator()
    report = {
        "domain": "mail.contoso.example",
        "subscription": "s",
        "resource_group": "rg",
        "email_service": "es",
        "zone": None,
        "changes": [],
        "written": [],
        "verification": {"Domain": {"status": "Verified", "error_code": None}},
        "started": [],
        "result": "verified",
        "exit_code": 0,
        "message": "",
        "hint": None,
    }
    doc = {"version": 1, "command": "provision", "exit_code": 0, "domains": [report]}
    validator.validate(doc)
    camel = {**report, "verification": {"Domain": {"status": "Verified", "errorCode": None}}}
    with pytest.raises(jsonschema.ValidationError):
        validator.validate({**doc, "domains": [camel]})
    with pytest.raises(jsonschema.ValidationError):
        validator.validate({**doc, "domains": [{**report, "result": "fine"}]})
    with pytest.raises(jsonschema.ValidationError):
        validator.validate({**doc, "exitCode": 0})


@pytest.mark.parametrize(
    "bad",
    [["--bogus"], ["--parallel", "0"], ["--auth", "password"], ["--timeout", "soon"]],
    ids=["unknown-flag", "out-of-range", "bad-choice", "not-a-number"],
)
@pytest.mark.parametrize("output", [["--output", "json"], ["-o", "json"], ["--output=json"]])
def test_a_bad_flag_with_json_output_is_one_json_document(
    w: World, sandbox: Sandbox, bad: list[str], output: list[str]
) -> None:
    reset_counters(sandbox)
    args = [*w.common("plan", json_output=False), *w.target("mail.contoso.example"), *output, *bad]
    result = invoke(sandbox, args)
    assert_clean_exit(result, 2)
    doc = document(result)
    assert doc["command"] == "plan" and doc["exit_code"] == 2 and doc["domains"] == []
    assert doc["hint"] == "see acs-dns plan --help"
    flag = bad[0].split("=")[0]
    assert flag in doc["error"] or flag.lstrip("-") in doc["error"], doc
    assert result.stderr == ""
    assert counters(sandbox)["total"] == 0


def test_a_bad_flag_without_json_output_is_the_usual_usage_message(w: World) -> None:
    result = invoke(w.sb, [*w.common("plan", json_output=False), "--bogus"])
    assert_clean_exit(result, 2)
    assert result.stdout == ""
    assert "No such option: --bogus" in result.stderr


def test_verification_error_codes_use_the_documents_key_style(w: World) -> None:
    """The service's `errorCode` becomes `error_code`, like every other key."""
    zone = unique_zone("keys")
    w.email_service()
    w.zone(zone)
    w.email_domain(f"mail.{zone}")
    result, doc = w.plan(f"mail.{zone}")
    assert_clean_exit(result, 0)
    keys = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            keys.update(k for k in node if k not in ("Domain", "SPF", "DKIM", "DKIM2", "DMARC"))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(doc)
    assert "error_code" in keys
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", k) for k in keys), sorted(keys)


def test_the_schema_accepts_check_documents_built_from_finding_json() -> None:
    """`check` domains carry `findings` as `finding_json` writes them (record fixes, text-only steps,
    `cause`), and `result` ok or problems; anything else in a finding is refused."""
    from provisioner.finding import FixInstruction, finding_json, make_finding
    from provisioner.model import VerificationKind

    spf = make_finding(
        "spf-changed-after-verification",
        VerificationKind.SPF,
        "mail.contoso.example",
        "SPF was Verified; the record lost the include",
        found=("v=spf1 -all",),
        expected="v=spf1 include:spf.protection.outlook.com -all",
        fix=(
            FixInstruction(
                "change the TXT record", "change", "TXT", "mail", "mail.contoso.example", "v=spf1 ..."
            ),
            FixInstruction("then run acs-dns verify"),
        ),
        cause="spf-include-missing",
    )
    resolver = make_finding(
        "resolver-unreachable", None, "mail.contoso.example", "the resolver did not answer"
    )
    domain = {
        "domain": "mail.contoso.example",
        "findings": [finding_json(spf), finding_json(resolver)],
        "result": "problems",
        "exit_code": 6,
    }
    doc = {"version": 1, "command": "check", "exit_code": 6, "domains": [domain]}
    schema_validator().validate(doc)
    schema_validator().validate(
        {**doc, "exit_code": 0, "domains": [{**domain, "findings": [], "result": "ok"}]}
    )
    with pytest.raises(jsonschema.ValidationError):
        schema_validator().validate({**doc, "domains": [{**domain, "result": "verified"}]})
    odd = {**finding_json(resolver), "code": "made-up-code"}
    with pytest.raises(jsonschema.ValidationError):
        schema_validator().validate({**doc, "domains": [{**domain, "findings": [odd]}]})
