"""Domain reports -> a markdown table (for `--output markdown`, pull-request comments and the GitHub step
summary). Pure: returns strings. Failures come first."""

from __future__ import annotations

from collections.abc import Sequence

from provisioner.render import failed, failures_first, totals_line, verification_text, with_fix
from provisioner.report import DomainReport


def changed(report: DomainReport) -> str:
    """What changed (provision: the record sets written) or would change (plan), in a few words."""
    if report.written:
        return "wrote " + ", ".join(report.written)
    if report.plan is not None and report.plan.has_changes:
        pending = [f"{c.action} {c.record_set.type} {c.record_set.name}" for c in report.plan.writes]
        return "to do: " + ", ".join(pending)
    return "nothing"


def verification(report: DomainReport) -> str:
    return verification_text(report, ", ") or "-"


def details(report: DomainReport) -> str:
    """The message and fix, and for `check`/`verify` the findings' codes (errors first)."""
    text = with_fix(report.message, report.hint)
    findings = report.diagnosis.findings if report.diagnosis is not None else ()
    if findings:
        text += "; findings: " + ", ".join(f"{f.code} ({f.severity})" for f in findings)
    return text


def cell(text: str) -> str:
    """A GitHub-flavoured markdown table cell: pipes escaped, line breaks as <br>."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\r", "").replace("\n", "<br>")


def markdown_table(command: str, reports: Sequence[DomainReport], exit_code: int) -> str:
    """A heading, the table (domain, result, what changed, verification, details; failures first), totals."""
    lines = [
        f"### acs-dns {command}",
        "",
        "| domain | result | changed | verification | details |",
        "|---|---|---|---|---|",
    ]
    for r in failures_first(reports):
        mark = "❌" if failed(r) else "✅"
        row = [
            r.target.domain,
            f"{mark} {r.result} (exit {int(r.exit_code)})",
            changed(r),
            verification(r),
            details(r),
        ]
        lines.append("| " + " | ".join(cell(c) for c in row) + " |")
    lines += ["", totals_line(reports, exit_code)]
    return "\n".join(lines)
