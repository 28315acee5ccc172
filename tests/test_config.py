"""Configuration: domains from a TOML file or from flags, with every problem named by file, line and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from provisioner.config import SETTING_KEYS, DomainTarget, load_targets, target_from_flags
from provisioner.errors import ExitCode, UsageError

EXAMPLE = Path(__file__).resolve().parent.parent / "config" / "domains.example.toml"
SUB = "00000000-0000-0000-0000-000000000000"
SUB2 = "11111111-2222-3333-4444-555555555555"

DEFAULTS = f"""\
[defaults]
subscription = "{SUB}"
resource_group = "rg-email"
email_service = "contoso-email"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "domains.toml"
    path.write_text(text, encoding="utf-8")
    return path


def usage_error(path: Path, overrides: dict[str, object] | None = None) -> UsageError:
    with pytest.raises(UsageError) as info:
        load_targets(path, overrides)
    assert info.value.exit_code == ExitCode.USAGE
    # every refusal names a fix of its own, not the problem said again
    assert info.value.hint and info.value.hint.strip() not in info.value.message, info.value
    return info.value


# --- loading --------------------------------------------------------------------------------------------


def test_example_file_loads() -> None:
    targets = load_targets(EXAMPLE)
    assert [t.domain for t in targets] == ["mail.contoso.com", "contoso.com", "notify.fabrikam.com"]
    first, apex, other = targets
    assert first == DomainTarget(
        SUB,
        "rg-email",
        "contoso-email",
        "mail.contoso.com",
        "contoso.com",
        "rg-dns",
        create_domain=True,
        communication_service="contoso-acs",
        senders=(("donotreply", None), ("billing", "Billing")),
        dmarc="v=DMARC1; p=none; rua=mailto:dmarc@contoso.com",
    )
    assert apex.communication_service is None and apex.senders == ()  # set in the first entry only
    assert apex.zone is None and apex.zone_resource_group == "rg-dns"
    assert (other.subscription, other.email_service, other.spf_hardfail) == (SUB2, "fabrikam-email", True)


def test_key_and_normalisation(tmp_path: Path) -> None:
    path = write(tmp_path, DEFAULTS.replace(SUB, SUB.upper()) + '[[domain]]\nname = "Mail.Contoso.COM."\n')
    [target] = load_targets(path)
    assert target.domain == "mail.contoso.com"
    assert target.key == f"{SUB}/rg-email/contoso-email/mail.contoso.com"
    assert (target.zone, target.zone_resource_group) == (None, None)  # None: search the subscription
    assert (target.spf_hardfail, target.takeover, target.create_domain) == (False, False, False)


def test_setting_keys() -> None:
    expected = {"subscription", "resource_group", "email_service", "zone", "zone_resource_group"}
    lifecycle = {"communication_service", "communication_resource_group", "senders", "dmarc"}
    lifecycle |= {"dmarc_replace", "prune_token"}
    assert expected | {"spf_hardfail", "takeover", "create_domain"} | lifecycle == SETTING_KEYS


def test_precedence_defaults_then_flags_then_domain(tmp_path: Path) -> None:
    text = DEFAULTS + 'spf_hardfail = true\nzone_resource_group = "rg-dns-default"\n'
    text += '[[domain]]\nname = "a.contoso.com"\n'
    text += '[[domain]]\nname = "b.contoso.com"\nemail_service = "entry-email"\nspf_hardfail = true\n'
    flags = {"email_service": "flag-email", "spf_hardfail": False, "resource_group": None, "takeover": None}
    a, b = load_targets(write(tmp_path, text), flags)
    assert (a.email_service, a.spf_hardfail) == ("flag-email", False)  # flags beat [defaults]
    assert (b.email_service, b.spf_hardfail) == ("entry-email", True)  # the entry beats flags
    assert a.resource_group == b.resource_group == "rg-email"  # None: flag not given
    assert a.zone_resource_group == "rg-dns-default" and a.takeover is False


def test_flags_supply_required_values(tmp_path: Path) -> None:
    path = write(tmp_path, '[[domain]]\nname = "contoso.com"\n')
    flags = {"subscription": SUB, "resource_group": "rg", "email_service": "svc"}
    assert load_targets(path, flags) == [DomainTarget(SUB, "rg", "svc", "contoso.com")]


def test_subdomain_of_zone_and_zone_itself_accepted(tmp_path: Path) -> None:
    text = (
        DEFAULTS
        + 'zone = "Contoso.com."\n[[domain]]\nname = "contoso.com"\n[[domain]]\nname = "x.y.contoso.com"\n'
    )
    assert [t.zone for t in load_targets(write(tmp_path, text))] == ["contoso.com", "contoso.com"]


def test_same_domain_in_two_email_services_is_not_duplicate(tmp_path: Path) -> None:
    text = (
        DEFAULTS
        + '[[domain]]\nname = "contoso.com"\n[[domain]]\nname = "contoso.com"\nemail_service = "other"\n'
    )
    assert len(load_targets(write(tmp_path, text))) == 2


# --- file errors: each names the file, key and line ------------------------------------------------------


def test_missing_file_names_path(tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"
    error = usage_error(path)
    assert error.message == f"cannot read configuration file {path}: No such file or directory"
    assert error.hint == "check the --config path"


def test_unreadable_path_names_path(tmp_path: Path) -> None:
    error = usage_error(tmp_path)  # a directory
    assert error.message.startswith(f"cannot read configuration file {tmp_path}: ")
    assert error.hint == "check the --config path"


def test_non_utf8_file(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes(b'[[domain]]\nname = "caf\xe9.com"\n')
    error = usage_error(path)
    assert error.message.startswith(f"configuration file {path} is not UTF-8 text")
    assert error.hint == "save it as UTF-8"


def test_inline_domain_array_points_at_domain_key(tmp_path: Path) -> None:
    path = write(tmp_path, DEFAULTS.replace("[defaults]", 'domain = [{ name = "a.com", x = 1 }]\n[defaults]'))
    assert usage_error(path).message == f"{path}:1: [[domain]] x: unknown key"


def test_syntax_error_keeps_line(tmp_path: Path) -> None:
    path = write(tmp_path, DEFAULTS + "[[domain]]\nname = mail.contoso.com\n")
    error = usage_error(path)
    assert str(path) in error.message and "invalid TOML" in error.message
    assert "line 6" in error.message
    assert error.hint.startswith("fix the syntax at that line")


def test_unclosed_bracket_at_end_of_file_names_the_last_line(tmp_path: Path) -> None:
    path = write(tmp_path, DEFAULTS + '[[domain]]\nname = "contoso.com"\nzone = ["contoso.com"\n\n')
    message = usage_error(path).message
    assert message.startswith(f"{path}: invalid TOML: ")
    assert message.endswith("(at line 7, the end of the file)")


def test_problems_hint_at_the_required_keys_and_the_example() -> None:
    with pytest.raises(UsageError) as info:
        load_targets(EXAMPLE, {"name": "x.com"})
    assert "each [[domain]] needs name, subscription, resource_group and email_service" in info.value.hint
    assert str(info.value.hint).endswith("see config/domains.example.toml")


def test_unknown_key_in_defaults(tmp_path: Path) -> None:
    path = write(tmp_path, DEFAULTS + 'resource-group = "x"\n[[domain]]\nname = "contoso.com"\n')
    error = usage_error(path)
    assert error.message == f"{path}:5: [defaults] resource-group: unknown key (did you mean resource_group?)"


def test_unknown_key_in_domain(tmp_path: Path) -> None:
    path = write(tmp_path, DEFAULTS + '\n[[domain]]\nname = "contoso.com"\n  colour = "blue"  # hm\n')
    assert usage_error(path).message == f"{path}:8: [[domain]] colour: unknown key"


def test_name_not_allowed_in_defaults(tmp_path: Path) -> None:
    path = write(tmp_path, '[defaults]\nname = "contoso.com"\n')
    assert f"{path}:2: [defaults] name: unknown key" in usage_error(path).message


def test_unknown_top_level_table_and_key(tmp_path: Path) -> None:
    path = write(tmp_path, 'colour = 1\n[[domain]]\nname = "contoso.com"\n[extra]\nx = 1\n')
    message = usage_error(path, {"subscription": SUB, "resource_group": "rg", "email_service": "s"}).message
    assert f"{path}:1: colour: unknown table or key" in message
    assert f"{path}:4: extra: unknown table or key" in message


def test_domain_written_as_single_table(tmp_path: Path) -> None:
    path = write(tmp_path, DEFAULTS + '[domain]\nname = "contoso.com"\n')
    assert f"{path}:5: domain: must be an array of tables" in usage_error(path).message


def test_bad_subscription_says_guid(tmp_path: Path) -> None:
    path = write(tmp_path, DEFAULTS + '[[domain]]\nname = "contoso.com"\nsubscription = "my-sub"\n')
    message = usage_error(path).message
    assert message.startswith(f'{path}:7: [[domain]] subscription: "my-sub" is not a subscription ID')
    assert "GUID like 00000000-0000-0000-0000-000000000000" in message


@pytest.mark.parametrize(
    "value",
    ['"-bad.contoso.com"', '"bad-.contoso.com"', '"a..b.com"', '"sp ace.com"', f'"{"a" * 64}.com"', '"."'],
)
def test_bad_domain_name(tmp_path: Path, value: str) -> None:
    path = write(tmp_path, DEFAULTS + f"[[domain]]\nname = {value}\n")
    assert usage_error(path).message.startswith(f"{path}:6: [[domain]] name: ")


def test_domain_name_too_long(tmp_path: Path) -> None:
    name = ".".join(["a" * 63] * 4)  # 255 characters
    path = write(tmp_path, DEFAULTS + f'[[domain]]\nname = "{name}"\n')
    assert "255 characters long; the limit is 253" in usage_error(path).message


def test_utf8_bom_is_accepted_and_lines_still_count(tmp_path: Path) -> None:
    path = tmp_path / "domains.toml"  # Notepad and PowerShell's Out-File save UTF-8 with a BOM
    path.write_bytes(b"\xef\xbb\xbf" + (DEFAULTS + '[[domain]]\nname = "contoso.com"\nx = 1\n').encode())
    assert usage_error(path).message == f"{path}:7: [[domain]] x: unknown key"
    path.write_bytes(b"\xef\xbb\xbf" + (DEFAULTS + '[[domain]]\nname = "contoso.com"\n').encode())
    assert [t.domain for t in load_targets(path)] == ["contoso.com"]


def test_single_label_name_asks_for_the_full_name(tmp_path: Path) -> None:
    path = write(tmp_path, DEFAULTS + '[[domain]]\nname = "mail"\n')
    message = usage_error(path).message
    assert message.startswith(f'{path}:6: [[domain]] name: "mail" is not a valid domain name')
    assert "at least two labels, like contoso.com" in message


def test_azure_managed_domain_is_the_one_single_label_name(tmp_path: Path) -> None:
    path = write(tmp_path, DEFAULTS + '[[domain]]\nname = "AzureManagedDomain"\n')
    assert [t.domain for t in load_targets(path)] == ["azuremanageddomain"]


def test_non_ascii_name_suggests_its_idna_form(tmp_path: Path) -> None:
    path = write(tmp_path, DEFAULTS + '[[domain]]\nname = "café.example"\n')
    assert 'write it in its ASCII (IDNA) form: "xn--caf-dma.example"' in usage_error(path).message


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("resource_group", "rg/email", '"rg/email" is not a resource group name'),
        ("resource_group", "rg.", '"rg." is not a resource group name'),
        ("resource_group", "r" * 91, "is not a resource group name: 1-90 letters"),
        ("email_service", "contoso_email", '"contoso_email" is not an email service name'),
        ("email_service", "e" * 64, "is not an email service name: 1-63 letters"),
        ("zone_resource_group", "rg dns", '"rg dns" is not a resource group name'),
    ],
)
def test_names_azure_would_reject_are_named_before_anything_is_sent(
    tmp_path: Path, key: str, value: str, expected: str
) -> None:
    path = write(tmp_path, DEFAULTS + f'[[domain]]\nname = "contoso.com"\n{key} = "{value}"\n')
    message = usage_error(path).message
    assert message.startswith(f"{path}:7: [[domain]] {key}: ") and expected in message


@pytest.mark.parametrize("value", ["rg-Email_01", "rg.(prod)", "r" * 90, "ресурсы"])
def test_resource_group_names_azure_accepts(tmp_path: Path, value: str) -> None:
    path = write(tmp_path, DEFAULTS + f'[[domain]]\nname = "contoso.com"\nresource_group = "{value}"\n')
    assert load_targets(path)[0].resource_group == value


def test_bad_subscription_names_where_to_find_the_right_one() -> None:
    message = flags_error(subscription="{" + SUB + "}").message
    assert "is not a subscription ID: it must be a GUID like" in message
    assert "az account list --query [].id --output tsv" in message


def test_problem_deep_in_a_large_file_names_its_line(tmp_path: Path) -> None:
    entries = "".join(f'[[domain]]\nname = "d{i}.contoso.com"\n' for i in range(2000))
    path = write(tmp_path, DEFAULTS + entries + '[[domain]]\nname = "d7.contoso.com"\ntypo = 1\n')
    message = usage_error(path).message.splitlines()
    assert message[1:] == [
        f'  {path}:4006: [[domain]] name: "d7.contoso.com" is listed twice; first at line 20',
        f"  {path}:4007: [[domain]] typo: unknown key",
    ]


def test_underscore_labels_allowed(tmp_path: Path) -> None:
    path = write(tmp_path, DEFAULTS + '[[domain]]\nname = "_dmarc-test.contoso.com"\n')
    assert load_targets(path)[0].domain == "_dmarc-test.contoso.com"


def test_bad_zone_name(tmp_path: Path) -> None:
    path = write(tmp_path, DEFAULTS + '[[domain]]\nname = "contoso.com"\nzone = "contoso..com"\n')
    assert usage_error(path).message.startswith(f"{path}:7: [[domain]] zone: ")


def test_domain_outside_zone(tmp_path: Path) -> None:
    text = DEFAULTS + '[[domain]]\nname = "mail.fabrikam.com"\nzone = "contoso.com"\n'
    path = write(tmp_path, text)
    expected = f'{path}:7: [[domain]] zone: domain "mail.fabrikam.com" is not inside zone "contoso.com"'
    assert usage_error(path).message == expected


def test_domain_outside_zone_from_defaults_points_at_name(tmp_path: Path) -> None:
    path = write(tmp_path, DEFAULTS + 'zone = "contoso.com"\n[[domain]]\nname = "notcontoso.com"\n')
    assert usage_error(path).message.startswith(f'{path}:7: [[domain]] name: domain "notcontoso.com" is not')


@pytest.mark.parametrize("value", ['"false"', "0", "[true]"])
def test_bool_type_error(tmp_path: Path, value: str) -> None:
    path = write(tmp_path, DEFAULTS + f'takeover = {value}\n[[domain]]\nname = "contoso.com"\n')
    message = usage_error(path).message
    assert message.startswith(f"{path}:5: [defaults] takeover: must be true or false, not ")


def test_string_type_error(tmp_path: Path) -> None:
    path = write(tmp_path, DEFAULTS + '[[domain]]\nname = "contoso.com"\nresource_group = 42\n')
    assert (
        usage_error(path).message
        == f"{path}:7: [[domain]] resource_group: must be a string, not the number 42"
    )


def test_bad_resource_name(tmp_path: Path) -> None:
    path = write(tmp_path, DEFAULTS + '[[domain]]\nname = "contoso.com"\nemail_service = "a/b"\n')
    assert usage_error(path).message.startswith(f"{path}:7: [[domain]] email_service: ")


def test_missing_required_values_point_at_entry(tmp_path: Path) -> None:
    path = write(tmp_path, '[defaults]\nresource_group = "rg"\n\n[[domain]]\nzone = "contoso.com"\n')
    message = usage_error(path).message
    assert f"{path}:4: [[domain]] subscription: missing" in message
    assert "--subscription" in message
    assert f"{path}:4: [[domain]] email_service: missing" in message
    assert f"{path}:4: [[domain]] name: missing" in message
    assert "resource_group: missing" not in message


def test_invalid_value_is_not_also_reported_missing(tmp_path: Path) -> None:
    path = write(tmp_path, DEFAULTS.replace(SUB, "nope") + '[[domain]]\nname = "contoso.com"\n')
    assert "missing" not in usage_error(path).message


def test_duplicate_domain(tmp_path: Path) -> None:
    text = DEFAULTS + '[[domain]]\nname = "contoso.com"\n\n[[domain]]\nname = "Contoso.com."\n'
    text += f'subscription = "{SUB.upper()}"\nresource_group = "RG-Email"\n'
    path = write(tmp_path, text)
    assert (
        usage_error(path).message
        == f'{path}:9: [[domain]] name: "contoso.com" is listed twice; first at line 6'
    )


@pytest.mark.parametrize("text", ["", DEFAULTS, "domain = []\n" + DEFAULTS])
def test_no_domains_is_an_error(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, text)
    assert usage_error(path).message == f"{path}: no [[domain]] entries; add one [[domain]] table per domain"


def test_problems_are_gathered_in_line_order(tmp_path: Path) -> None:
    text = f"""\
[defaults]
subscription = "{SUB}"
resource_group = "rg-email"
typo = 1

[[domain]]
name = "contoso.com"
spf_hardfail = "yes"

[[domain]]
email_service = "svc"

[[domain]]
name = "bad_.-x"
"""
    path = write(tmp_path, text)
    message = usage_error(path, {"zone": "not a zone"}).message
    lines = message.splitlines()
    assert lines[0] == f"{path}: invalid configuration (7 problems):"
    assert lines[1].startswith("  --zone: 'not a zone' is not a valid domain name")
    assert lines[2] == f"  {path}:4: [defaults] typo: unknown key"
    assert lines[3].startswith(f"  {path}:6: [[domain]] email_service: missing")
    assert lines[4] == f'  {path}:8: [[domain]] spf_hardfail: must be true or false, not the string "yes"'
    assert lines[5] == f"  {path}:10: [[domain]] name: missing (set it in this entry)"
    assert lines[6].startswith(f"  {path}:13: [[domain]] email_service: missing")
    assert lines[7].startswith(f"  {path}:14: [[domain]] name: 'bad_.-x' is not a valid domain name")
    assert len(lines) == 8


def test_domain_flag_with_config_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, DEFAULTS + '[[domain]]\nname = "contoso.com"\n')
    assert usage_error(path, {"name": "x.com"}).message.startswith(
        "--domain: cannot be combined with --config"
    )


def test_bad_flag_value_in_config_mode_names_flag(tmp_path: Path) -> None:
    path = write(tmp_path, DEFAULTS + '[[domain]]\nname = "contoso.com"\n')
    assert usage_error(path, {"create_domain": "yes"}).message.startswith(
        "--create-domain: must be true or false"
    )


# --- flags mode ------------------------------------------------------------------------------------------

FLAGS: dict[str, object] = {
    "subscription": SUB,
    "resource_group": "rg-email",
    "email_service": "contoso-email",
    "name": "Mail.Contoso.com",
    "zone": None,
    "zone_resource_group": None,
    "spf_hardfail": None,
    "takeover": True,
    "create_domain": None,
}


def flags_error(**changes: object) -> UsageError:
    with pytest.raises(UsageError) as info:
        target_from_flags({**FLAGS, **changes})
    assert info.value.exit_code == ExitCode.USAGE and info.value.hint
    return info.value


def test_flags_mode_builds_target() -> None:
    assert target_from_flags(FLAGS) == DomainTarget(
        SUB, "rg-email", "contoso-email", "mail.contoso.com", takeover=True
    )


def test_flags_mode_accepts_domain_synonym() -> None:
    values = {key: value for key, value in FLAGS.items() if key != "name"} | {"domain": "contoso.com"}
    assert target_from_flags(values).domain == "contoso.com"


def test_flags_mode_missing_names_flags() -> None:
    message = flags_error(resource_group=None, name=None).message
    assert message.splitlines() == [
        "invalid options (2 problems):",
        "  --resource-group: required (or use --config FILE)",
        "  --domain: required (or use --config FILE)",
    ]


def test_flags_mode_bad_values_name_flags() -> None:
    assert flags_error(subscription="abc").message.startswith(
        '--subscription: "abc" is not a subscription ID'
    )
    assert flags_error(name="-x.com").message.startswith("--domain: ")
    assert flags_error(spf_hardfail="true").message.startswith("--spf-hardfail: must be true or false")
    assert flags_error(zone_resource_group="rg x").message.startswith("--zone-resource-group: ")


def test_flags_mode_domain_outside_zone() -> None:
    message = flags_error(zone="fabrikam.com").message
    assert message == '--zone: domain "mail.contoso.com" is not inside zone "fabrikam.com"'


@pytest.mark.parametrize(
    ("senders", "said"),
    [
        (
            '[{display_name = "Billing"}]',
            "a sender table needs username (a string) and optionally display_name",
        ),
        ('[{username = "billing", display_name = 7}]', "a sender table needs username (a string)"),
        ('[{username = "billing", team = "ops"}]', "unknown key 'team' in a sender"),
        ("[7]", "each sender must be a string or a table, not "),
    ],
)
def test_a_malformed_sender_is_named_at_its_line(tmp_path: Path, senders: str, said: str) -> None:
    path = write(tmp_path, DEFAULTS + f'\n[[domain]]\nname = "contoso.com"\nsenders = {senders}\n')
    message = usage_error(path).message
    assert message.startswith(f"{path}:8: [[domain]] senders: ") and said in message, message


def test_a_domain_entry_that_is_not_a_table_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, 'domain = ["contoso.com"]\n' + DEFAULTS)
    assert usage_error(path).message == f"{path}:1: domain: each entry must be a table"
