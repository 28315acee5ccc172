"""Usage, configuration, permission and unexpected errors through the CLI: each one its documented exit
code and a clear message, never a Python traceback (unless --debug)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
from azure.core.exceptions import HttpResponseError

from acs_sandbox import Sandbox, SandboxOptions
from tests.e2e_helpers import (
    KINDS,
    World,
    admin,
    assert_clean_exit,
    counters,
    document,
    invoke,
    only_domain,
    reset_counters,
    seed_standard,
    unique_zone,
)


@pytest.fixture
def w(sandbox: Sandbox) -> Iterator[World]:
    with World(sandbox) as world:
        yield world


def assert_nothing_sent(sb: Sandbox) -> None:
    assert counters(sb)["total"] == 0, counters(sb)["routes"]


# ---- usage errors: exit 2, before anything is sent ---------------------------------------------------------
@pytest.mark.parametrize("domain", ["mail..contoso.example", "-mail.contoso.example", "mail contoso.example"])
def test_bad_domain_name_is_a_usage_error(w: World, sandbox: Sandbox, domain: str) -> None:
    reset_counters(sandbox)
    result = w.cli(w.args(domain, json_output=False))
    assert_clean_exit(result, 2)
    assert result.stderr.startswith("error: --domain:"), result.stderr
    assert "not a valid domain name" in result.stderr
    assert result.stdout == ""
    assert_nothing_sent(sandbox)


def test_usage_error_in_json_mode_is_one_json_document(w: World) -> None:
    result = w.cli(w.args("mail..contoso.example"))
    assert_clean_exit(result, 2)
    doc = document(result)
    assert doc["exit_code"] == 2 and doc["domains"] == []
    assert doc["error"].startswith("--domain:")


def test_missing_resource_group_is_a_usage_error(w: World, sandbox: Sandbox) -> None:
    reset_counters(sandbox)
    args = [
        *w.common(json_output=False),
        "--subscription",
        w.sub,
        "--email-service",
        "es",
        "--domain",
        "a.example",
    ]
    result = w.cli(args)
    assert_clean_exit(result, 2)
    assert "--resource-group: required" in result.stderr
    assert "fix:" in result.stderr
    assert_nothing_sent(sandbox)


@pytest.mark.parametrize(
    "endpoint",
    [
        "https://management.azure.com",
        "https://203.0.113.7:8443",
        "https://localhost.attacker.example",
        "https://127.0.0.1@attacker.example",
        None,  # no endpoint at all: the public cloud
    ],
)
def test_sandbox_auth_is_refused_for_a_non_loopback_endpoint(w: World, endpoint: str | None) -> None:
    """The network guard (conftest) fails the test if anything tries to reach or resolve a non-loopback host,
    so exit 2 here also proves nothing was sent."""
    args = w.args("mail.contoso.example", json_output=False)
    if endpoint:
        args += ["--arm-endpoint", endpoint]
    result = invoke(None, args)
    assert_clean_exit(result, 2)
    assert "--auth sandbox" in result.stderr and "refused" in result.stderr
    assert "loopback" in result.stderr or "127.0.0.1" in result.stderr


def test_plain_http_arm_endpoint_is_a_usage_error(w: World) -> None:
    result = invoke(
        None, [*w.args("mail.contoso.example", json_output=False), "--arm-endpoint", "http://127.0.0.1:1"]
    )
    assert_clean_exit(result, 2)
    assert "https://" in result.stderr


@pytest.mark.parametrize(
    ("server", "why"),
    [
        ("127.0.0.1:99999", "out of range"),
        ("127.0.0.1:dns", "not a number"),
        ("bad host!", "not an IP address"),
    ],
)
def test_bad_dns_server_is_a_usage_error(w: World, sandbox: Sandbox, server: str, why: str) -> None:
    reset_counters(sandbox)
    result = w.cli([*w.args("mail.contoso.example", json_output=False), "--dns-server", server])
    assert_clean_exit(result, 2)
    assert f"--dns-server {server!r}" in result.stderr and why in result.stderr
    assert_nothing_sent(sandbox)


def test_bad_output_choice_is_a_usage_error(w: World) -> None:
    result = w.cli([*w.args("mail.contoso.example", json_output=False), "--output", "yaml"])
    assert_clean_exit(result, 2)
    assert "--output" in result.output


# ---- configuration files ------------------------------------------------------------------------------
def write_config(tmp_path, sub: str, domain_lines: str):
    path = tmp_path / "domains.toml"
    path.write_text(
        "[defaults]\n"  # 1
        f'subscription = "{sub}"\n'  # 2
        'resource_group = "rg-email"\n'  # 3
        'email_service = "contoso-email"\n'  # 4
        "\n"  # 5
        "[[domain]]\n"  # 6
        f"{domain_lines}"  # 7...
    )
    return path


def test_config_unknown_key_names_the_key_and_the_line(w: World, sandbox: Sandbox, tmp_path) -> None:
    config = write_config(tmp_path, w.sub, 'name = "mail.contoso.example"\nzonee = "contoso.example"\n')
    reset_counters(sandbox)
    result = w.cli([*w.common(json_output=False), "--config", str(config)])
    assert_clean_exit(result, 2)
    assert f"{config}:8:" in result.stderr and "zonee" in result.stderr, result.stderr
    assert "did you mean zone?" in result.stderr
    assert_nothing_sent(sandbox)


def test_config_bad_domain_name_names_the_key_and_the_line(w: World, tmp_path) -> None:
    config = write_config(tmp_path, w.sub, 'name = "mail..contoso.example"\n')
    result = w.cli([*w.common(), "--config", str(config)])
    assert_clean_exit(result, 2)
    error = document(result)["error"]
    assert f"{config}:7:" in error and "name" in error and "not a valid domain name" in error


def test_config_missing_file_is_a_usage_error(w: World, tmp_path) -> None:
    result = w.cli([*w.common(json_output=False), "--config", str(tmp_path / "absent.toml")])
    assert_clean_exit(result, 2)
    assert "absent.toml" in result.stderr


# ---- authentication and permission: exit 3 -------------------------------------------------------------------
def deny(sb: Sandbox, sub: str, *actions: str, denied: bool = True) -> None:
    admin(sb, "PUT", f"subscriptions/{sub}/authorization", {"denied": denied, "actions": list(actions)})


def test_no_permission_at_all_is_exit_3(w: World, sandbox: Sandbox) -> None:
    s = seed_standard(w, apex=False)
    deny(sandbox, w.sub)
    try:
        result, doc = w.provision(s.domain)
    finally:
        deny(sandbox, w.sub, denied=False)
    assert_clean_exit(result, 3)
    report = only_domain(doc)
    assert "AuthorizationFailed" in report["message"]
    assert "Microsoft.Communication/emailServices/domains/read" in report["message"]
    assert "grant" in report["hint"]


def test_read_only_role_on_the_zone_is_exit_3_and_writes_nothing(w: World, sandbox: Sandbox) -> None:
    s = seed_standard(w, apex=False)
    before = w.records(s.zone)
    deny(sandbox, w.sub, "Microsoft.Network/dnsZones/*/write", "Microsoft.Network/dnsZones/*/delete")
    try:
        result, doc = w.provision(s.domain)
    finally:
        deny(sandbox, w.sub, denied=False)
    assert_clean_exit(result, 3)
    report = only_domain(doc)
    assert "Microsoft.Network/dnsZones/TXT/write" in report["message"] or "CNAME/write" in report["message"]
    assert report["written"] == []
    assert w.records(s.zone) == before
    assert w.states(s.domain) == dict.fromkeys(KINDS, "NotStarted")


def test_authorization_knob_answers_arm_403_and_can_be_lifted(w: World, sandbox: Sandbox) -> None:
    """The sandbox-only knob behind the two tests above, through the SDK."""
    zone = unique_zone()
    w.zone(zone)
    deny(sandbox, w.sub, "Microsoft.Network/dnsZones/read")
    try:
        with pytest.raises(HttpResponseError) as info:
            w.dns.zones.get("rg-dns", zone)
        assert info.value.status_code == 403
        assert info.value.error.code == "AuthorizationFailed"
        assert (
            "does not have authorization to perform action 'Microsoft.Network/dnsZones/read' over scope "
            f"'/subscriptions/{w.sub}/resourceGroups/rg-dns/providers/Microsoft.Network/dnsZones/{zone}'"
        ) in info.value.error.message
        w.dns.record_sets.get("rg-dns", zone, "@", "SOA")  # another action: allowed
    finally:
        deny(sandbox, w.sub, denied=False)
    assert w.dns.zones.get("rg-dns", zone).name == zone


# ---- unexpected failures --------------------------------------------------------------------------------------
def debug_shows_traceback(result) -> bool:
    """Under CliRunner an exception that escapes is kept in `exception` (a real process prints it)."""
    escaped = result.exception is not None and not isinstance(result.exception, SystemExit)
    return escaped or "Traceback" in result.output


def test_debug_shows_a_traceback_for_a_usage_error(w: World) -> None:
    assert_clean_exit(w.cli(w.args("mail..contoso.example", json_output=False)), 2)
    loud = w.cli([*w.args("mail..contoso.example", json_output=False), "--debug"])
    assert debug_shows_traceback(loud), loud.output


def test_debug_shows_a_traceback_for_a_failure_inside_a_domain_run(w: World) -> None:
    """Issue #3: "No Python traceback reaches a user for any expected failure; --debug shows one"."""
    zone = unique_zone()
    w.zone(zone)
    quiet = w.cli(w.args(f"mail.{zone}", json_output=False))
    assert_clean_exit(quiet, 4)  # no email service
    loud = w.cli([*w.args(f"mail.{zone}", json_output=False), "--debug"])
    assert debug_shows_traceback(loud), loud.output


@pytest.mark.usefixtures("unmeasured_children")
def test_unexpected_failure_exits_nonzero_without_traceback_within_timeout() -> None:
    """Every ARM request fails (429, 500, 503, dropped connections). A real process, so a run that ignores
    --timeout can be stopped: it must end, non-zero and without a traceback, soon after --timeout 2."""
    with Sandbox(SandboxOptions(fault_rate=1.0, seed=7)) as sb, World(sb) as world:
        env = {**os.environ, "ACS_DNS_ARM_ENDPOINT": sb.arm_endpoint, "REQUESTS_CA_BUNDLE": sb.ca_bundle}
        args = [*world.args("mail.contoso.example", json_output=False), "--timeout", "2"]
        started = time.monotonic()
        try:
            proc = subprocess.run(
                [sys.executable, "-m", "provisioner", *args],
                env=env,
                capture_output=True,
                text=True,
                timeout=15,
            )
        except subprocess.TimeoutExpired as exc:
            pytest.fail(
                f"acs-dns provision --timeout 2 was still running after {exc.timeout:.0f}s against an ARM "
                "that fails every request: SDK retries are not bounded by --timeout"
            )
        elapsed = time.monotonic() - started
    assert proc.returncode not in (0, 8), proc
    assert "Traceback" not in proc.stdout + proc.stderr
    assert proc.stderr.startswith("mail.contoso.example: ") or "error:" in proc.stderr
    assert elapsed < 15
