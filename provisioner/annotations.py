"""Reports in the CI system's own language. Pure: each function returns the lines or text to write.

- GitHub Actions (`GITHUB_ACTIONS=true`): one `::error title=...::message` workflow command per failed
  domain (`::warning` when interrupted), and a markdown summary appended to `$GITHUB_STEP_SUMMARY`.
- Azure Pipelines (`TF_BUILD=True`): one `##vso[task.logissue type=error]message` logging command per
  failed domain.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from provisioner.errors import ExitCode
from provisioner.render import failed, failures_first, with_fix
from provisioner.render_markdown import markdown_table
from provisioner.report import DomainReport


def github_data(text: str) -> str:
    """Escape a workflow command's message (GitHub's rules: %, CR, LF)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def github_property(text: str) -> str:
    """Escape a workflow command's property value (also ':' and ',')."""
    return github_data(text).replace(":", "%3A").replace(",", "%2C")


def azure_data(text: str) -> str:
    """Escape a logging command's message (Azure Pipelines' rules: %, CR, LF)."""
    return text.replace("%", "%AZP25").replace("\r", "%0D").replace("\n", "%0A")


def _problem(report: DomainReport) -> str:
    text = f"{report.target.domain}: {report.result} (exit {int(report.exit_code)}): "
    return text + with_fix(report.message, report.hint)


def github_annotations(command: str, reports: Sequence[DomainReport]) -> list[str]:
    lines = []
    for r in failures_first(reports):
        if not failed(r):
            continue
        level = "warning" if r.exit_code is ExitCode.INTERRUPTED else "error"
        title = github_property(f"acs-dns {command}: {r.target.domain} {r.result}")
        lines.append(f"::{level} title={title}::{github_data(_problem(r))}")
    return lines


def azure_issues(reports: Sequence[DomainReport]) -> list[str]:
    lines = []
    for r in failures_first(reports):
        if not failed(r):
            continue
        level = "warning" if r.exit_code is ExitCode.INTERRUPTED else "error"
        lines.append(f"##vso[task.logissue type={level}]{azure_data(_problem(r))}")
    return lines


def run_error_lines(env: Mapping[str, str], command: str, message: str, hint: str | None) -> list[str]:
    """The annotation of a run that stopped before any domain started (usage, configuration, credential)."""
    text = with_fix(message, hint)
    lines = []
    if env.get("GITHUB_ACTIONS") == "true":
        lines.append(f"::error title={github_property(f'acs-dns {command}')}::{github_data(text)}")
    if env.get("TF_BUILD", "").lower() == "true":
        lines.append(f"##vso[task.logissue type=error]{azure_data(text)}")
    return lines


def ci_lines(env: Mapping[str, str], command: str, reports: Sequence[DomainReport]) -> list[str]:
    """The annotation lines for the CI system `env` names (none outside CI)."""
    lines = []
    if env.get("GITHUB_ACTIONS") == "true":
        lines += github_annotations(command, reports)
    if env.get("TF_BUILD", "").lower() == "true":
        lines += azure_issues(reports)
    return lines


def step_summary(command: str, reports: Sequence[DomainReport], exit_code: int) -> str:
    """What is appended to `$GITHUB_STEP_SUMMARY`: the markdown table."""
    return markdown_table(command, reports, exit_code) + "\n\n"
