"""Release hygiene and the pipeline steps: one version everywhere, a Dockerfile that is structurally sound
(Docker itself is not available here, so the image is not built), a GitHub Action and an Azure Pipelines
template that reference only what they declare, and the action's run step executed as a runner would,
against the sandbox."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.version import Version
from typer.testing import CliRunner

import provisioner
from acs_sandbox import Sandbox
from provisioner.cli import app
from tests.e2e_helpers import World, seed_standard

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
VERSION = PYPROJECT["project"]["version"]
COMMANDS = ["provision", "plan", "check", "verify"]
EXPRESSION = re.compile(r"\$\{\{\s*([^}]*?)\s*\}\}")


def load_yaml(name: str) -> dict[str, Any]:
    return yaml.safe_load((ROOT / name).read_text(encoding="utf-8"))


# ---- one version -----------------------------------------------------------------------------------------
def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    logical, pending = [], ""
    for line in text.splitlines():
        if line.lstrip().startswith("#") or not line.strip():
            continue
        pending += line.rstrip()
        if pending.endswith("\\"):
            pending = pending[:-1] + " "
            continue
        logical.append(pending.strip())
        pending = ""
    assert pending == "", "Dockerfile ends inside a continued line"
    return [(ln.split(None, 1)[0].upper(), ln.split(None, 1)[1] if " " in ln else "") for ln in logical]


def test_version_is_the_same_in_the_wheel_metadata_cli_image_and_changelog() -> None:
    assert provisioner.__version__ == VERSION  # installed metadata: re-install after bumping pyproject
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output == f"acs-dns {VERSION}\n"
    args = [a for i, a in dockerfile_instructions() if i == "ARG" and a.startswith("VERSION=")]
    assert args == [f"VERSION={VERSION}"]
    releases = re.findall(r"^## \[(\d[^\]]*)\]", (ROOT / "CHANGELOG.md").read_text(encoding="utf-8"), re.M)
    assert releases[0] == VERSION, "CHANGELOG.md's newest release section must be pyproject's version"


def test_the_action_installs_its_own_checkout_by_default() -> None:
    """The action's version is the ref in `uses:`: with no version input it installs its own path."""
    action = load_yaml("action.yml")
    assert action["inputs"]["version"]["default"] == ""
    install = next(s for s in action["runs"]["steps"] if s.get("id") == "install")
    assert install["env"]["ACS_DNS_ACTION_PATH"] == "${{ github.action_path }}"
    assert '-c "$ACS_DNS_ACTION_PATH/constraints.txt" "$ACS_DNS_ACTION_PATH"' in install["run"]


# ---- Dockerfile (structure only: no Docker daemon here) ---------------------------------------------------
def test_dockerfile_builds_the_wheel_in_one_stage_and_runs_it_as_non_root_in_another() -> None:
    instructions = dockerfile_instructions()
    froms = [a for i, a in instructions if i == "FROM"]
    assert froms == ["${PYTHON_IMAGE} AS build", "${PYTHON_IMAGE}"]
    assert ("ARG", "PYTHON_IMAGE=python:3.12-slim") in instructions
    final = instructions[max(n for n, (i, _) in enumerate(instructions) if i == "FROM") :]
    build = instructions[: len(instructions) - len(final)]
    assert any(i == "RUN" and "python -m build --wheel" in a for i, a in build)
    assert any(i == "COPY" and a.startswith("--from=build ") for i, a in final)
    install = next(a for i, a in final if i == "RUN" and "pip install" in a)
    assert "-c /tmp/constraints.txt" in install
    assert "acs_dns_provisioner-${VERSION}-py3-none-any.whl" in install  # the build fails on a version skew
    users = [a for i, a in final if i == "USER"]
    assert users and users[-1] not in ("root", "0")
    assert f"useradd --create-home --uid 10001 --user-group {users[-1]}" in install
    entrypoints = [a for i, a in final if i == "ENTRYPOINT"]
    assert [json.loads(e) for e in entrypoints] == [["acs-dns"]]  # exec form: signals reach acs-dns
    assert any(i == "LABEL" and 'org.opencontainers.image.version="${VERSION}"' in a for i, a in final)


def test_dockerfile_copies_only_files_that_exist_and_are_not_docker_ignored() -> None:
    ignored = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    for instruction, args in dockerfile_instructions():
        if instruction != "COPY" or args.startswith("--from="):
            continue
        *sources, _dest = args.split()
        for source in sources:
            assert (ROOT / source).exists(), source
            assert source not in ignored, source


# ---- dependency ranges and the constraints file ------------------------------------------------------------
def test_constraints_pin_every_dependency_within_the_declared_ranges() -> None:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"constraints.txt pins exact versions only: {line!r}"
            pins[name.lower().replace("_", "-")] = Version(version)
    for spec in PYPROJECT["project"]["dependencies"]:
        req = Requirement(spec)
        assert req.name in pins, f"{req.name} is not pinned in constraints.txt"
        assert pins[req.name] in req.specifier, f"{req.name}=={pins[req.name]} is outside {req.specifier}"
        assert any(s.operator == ">=" for s in req.specifier), f"{req.name}: needs a tested floor ({spec})"


# ---- GitHub Action -------------------------------------------------------------------------------------
def test_action_declares_the_inputs_and_outputs_and_references_only_those() -> None:
    action = load_yaml("action.yml")
    assert set(action["inputs"]) == {"command", "config", "arguments", "version", "python-version"}
    assert action["runs"]["using"] == "composite"
    ids = [s.get("id") for s in action["runs"]["steps"]]
    for name in ("exit-code", "json"):
        assert action["outputs"][name]["value"] == f"${{{{ steps.run.outputs.{name} }}}}"
    text = (ROOT / "action.yml").read_text(encoding="utf-8")
    for expression in EXPRESSION.findall(text):
        kind, _, rest = expression.partition(".")
        if kind == "inputs":
            assert rest in action["inputs"], expression
        elif kind == "steps":
            assert rest.split(".")[0] in ids, expression
        else:
            assert expression == "github.action_path", expression
    for step in action["runs"]["steps"]:
        assert "run" not in step or "${{" not in step["run"], "inputs reach scripts through env only"
        assert "run" not in step or step["shell"] == "bash"


def _action_step_env(step: dict[str, Any], inputs: dict[str, str], steps: dict[str, str]) -> dict[str, str]:
    """The step's env as a runner resolves it: `${{ inputs.X }}` (with the action's defaults) and
    `${{ steps.ID.outputs.NAME }}`."""
    env = {}
    for name, value in step.get("env", {}).items():

        def resolve(m: re.Match[str]) -> str:
            expression = m.group(1)
            if expression.startswith("inputs."):
                return inputs[expression.removeprefix("inputs.")]
            return steps[expression]

        env[name] = EXPRESSION.sub(resolve, str(value))
    return env


@pytest.fixture
def w(sandbox: Sandbox) -> Iterator[World]:
    with World(sandbox) as world:
        yield world


def run_action_step(
    sb: Sandbox, tmp_path: Path, given: dict[str, str]
) -> tuple[subprocess.CompletedProcess[str], dict[str, str], str]:
    """Runs the action's `run` step as the runner would (bash, env from the step, GITHUB_OUTPUT and
    GITHUB_STEP_SUMMARY files), with this test environment's acs-dns as the installed one."""
    action = load_yaml("action.yml")
    inputs = {name: spec.get("default", "") for name, spec in action["inputs"].items()} | given
    step = next(s for s in action["runs"]["steps"] if s.get("id") == "run")
    outputs, summary = tmp_path / "github_output", tmp_path / "step_summary"
    env = {
        **os.environ,
        **_action_step_env(step, inputs, {"steps.install.outputs.bin": str(Path(sys.executable).parent)}),
        "GITHUB_OUTPUT": str(outputs),
        "GITHUB_STEP_SUMMARY": str(summary),
        "RUNNER_TEMP": str(tmp_path),
        "GITHUB_ACTION": "__acs-dns",
        "ACS_DNS_ARM_ENDPOINT": sb.arm_endpoint,
        "REQUESTS_CA_BUNDLE": sb.ca_bundle,
    }
    proc = subprocess.run(
        ["bash", "-c", step["run"]],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    written = (
        dict(line.split("=", 1) for line in outputs.read_text().splitlines()) if outputs.exists() else {}
    )
    return proc, written, summary.read_text() if summary.exists() else ""


def sandbox_arguments(w: World, domain: str, command: str = "provision") -> str:
    common = w.common(command, json_output=False)[1:]
    return shlex.join([*common, *w.target(domain)])


@pytest.mark.usefixtures("unmeasured_children")
def test_action_run_step_provisions_writes_outputs_and_the_step_summary(w: World, tmp_path: Path) -> None:
    s = seed_standard(w)
    proc, outputs, summary = run_action_step(w.sb, tmp_path, {"arguments": sandbox_arguments(w, s.domain)})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert outputs["exit-code"] == "0"
    doc = json.loads(Path(outputs["json"]).read_text())
    assert (doc["command"], doc["exit_code"]) == ("provision", 0)
    assert [d["result"] for d in doc["domains"]] == ["verified"]
    assert f"{s.domain}: verified (exit 0)" in proc.stdout
    assert summary.count("### acs-dns provision") == 1  # written once, by acs-dns itself
    row = next(line for line in summary.splitlines() if line.startswith(f"| {s.domain} |"))
    assert "verified (exit 0)" in row
    assert "Domain Verified" in row


@pytest.mark.usefixtures("unmeasured_children")
def test_action_passes_on_the_exit_code_and_puts_failures_in_the_summary(w: World, tmp_path: Path) -> None:
    """No email service: exit 4, which the step itself exits with, and the summary names the fix."""
    domain = "mail.nothing-here.example"
    proc, outputs, summary = run_action_step(w.sb, tmp_path, {"arguments": sandbox_arguments(w, domain)})
    assert proc.returncode == 4, proc.stdout + proc.stderr
    assert outputs["exit-code"] == "4"
    assert f"{domain}: error (exit 4)" in proc.stdout
    assert "fix: check --email-service" in proc.stdout
    assert f"| {domain} | ❌ error (exit 4) |" in summary


@pytest.mark.usefixtures("unmeasured_children")
def test_action_arguments_are_split_like_a_shell_but_never_evaluated(w: World, tmp_path: Path) -> None:
    marker = tmp_path / "evaluated"
    arguments = f'{sandbox_arguments(w, "mail.x.example", "plan")} --zone "$(touch {marker})"'
    proc, outputs, _ = run_action_step(w.sb, tmp_path, {"command": "plan", "arguments": arguments})
    assert not marker.exists()
    doc = json.loads(Path(outputs["json"]).read_text())
    assert doc["command"] == "plan"
    assert proc.returncode == int(outputs["exit-code"]) != 0


@pytest.mark.usefixtures("unmeasured_children")
def test_action_refuses_an_unknown_command_before_running_anything(w: World, tmp_path: Path) -> None:
    proc, outputs, summary = run_action_step(w.sb, tmp_path, {"command": "destroy"})
    assert proc.returncode == 2
    assert outputs == {"exit-code": "2"}
    assert "::error title=acs-dns::command must be provision, plan, check or verify" in proc.stdout
    assert summary == ""


# ---- Azure Pipelines template ------------------------------------------------------------------------------
def test_pipelines_template_signs_in_through_azurecli_and_references_only_its_parameters() -> None:
    template = load_yaml("azure-pipelines/acs-dns-steps.yml")
    params = {p["name"]: p for p in template["parameters"]}
    assert {"serviceConnection", "command", "config", "arguments", "version"} <= set(params)
    assert params["command"]["values"] == COMMANDS
    assert load_yaml("action.yml")["inputs"]["command"]["default"] == params["command"]["default"]
    task = next(s for s in template["steps"] if s.get("task") == "AzureCLI@2")
    assert task["inputs"]["azureSubscription"] == "${{ parameters.serviceConnection }}"
    assert task["inputs"]["addSpnToEnvironment"] is True
    assert task["inputs"]["scriptType"] == "bash"
    script = task["inputs"]["inlineScript"]
    assert "${{" not in script, "parameters reach the script through env only"
    for var in re.findall(r"\$(ACS_DNS_[A-Z]+)", script):
        assert var in task["env"], var
    text = (ROOT / "azure-pipelines/acs-dns-steps.yml").read_text(encoding="utf-8")
    for expression in EXPRESSION.findall(text):
        kind, _, name = expression.partition(".")
        assert kind == "parameters" and name in params, expression
    # workload identity federation: the federated token is handed on as a file
    assert 'export AZURE_FEDERATED_TOKEN_FILE="$tmp/acs-dns-federated-token"' in script
    assert 'echo "##vso[task.setvariable variable=exitCode;isOutput=true]$code"' in script
