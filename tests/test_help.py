"""`--help` renders as a user reads it: TOML table names shown literally, no `<bool>`/`<list[str]>` type
labels, choices intact, `-g` for `--resource-group` as in `az`."""

from __future__ import annotations

import re

import pytest

from tests.e2e_helpers import World, assert_clean_exit, invoke

WIDE = {"COLUMNS": "200", "TERM": "dumb", "NO_COLOR": "1"}
COMMANDS = [["provision"], ["plan"], ["schema"], ["demo"], ["sandbox", "serve"], []]


def help_text(*command: str) -> str:
    result = invoke(None, [*command, "--help"], env=WIDE)
    assert_clean_exit(result, 0)
    return result.stdout


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "acs-dns")
def test_help_has_no_python_type_labels(command: list[str]) -> None:
    text = help_text(*command)
    assert not re.search(r"<(bool|str|list\[[^]]*\]|int|float|path)>", text), text


def test_help_shows_the_toml_table_names_literally() -> None:
    assert "TOML file with [defaults] and [[domain]] entries." in help_text("provision")


def test_help_keeps_the_choices() -> None:
    text = help_text("plan")
    assert "<text|json|markdown>" in text
    assert "<default|cli|managed-identity|workload-identity|environment|sandbox>" in text
    assert "<public|china|usgov>" in text


def test_help_names_what_options_take() -> None:
    text = help_text("provision")
    for flag, metavar in (
        ("--subscription", "ID"),
        ("--domain", "DOMAIN"),
        ("--config", "FILE"),
        ("--dns-server", "HOST[:PORT]"),
        ("--timeout", "SECONDS"),
        ("--progress-interval", "SECONDS"),
    ):
        assert re.search(rf"{re.escape(flag)}\s.*\s{re.escape(metavar)}\s", text), (flag, text)
    assert re.search(r"--resource-group\s+-g\s+NAME\s+Resource group of the email service", text), text
    assert re.search(r"--progress\s+--no-progress\s+Progress on stderr", text), text


def test_g_is_short_for_resource_group(sandbox) -> None:
    """`-g` names the email service's resource group, as `az` does: the run looks there (and finds nothing)."""
    with World(sandbox) as w:
        args = [*w.common("plan"), "--subscription", w.sub, "-g", "rg-short", "--email-service", "es"]
        result = invoke(sandbox, [*args, "--domain", "mail.contoso.example"])
    assert_clean_exit(result, 4)
    assert "rg-short" in result.stdout
