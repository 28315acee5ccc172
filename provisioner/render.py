"""Domain reports -> text for people, or one JSON document for pipelines. Pure: returns strings."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from provisioner.config import DomainTarget
from provisioner.errors import AcsDnsError, ExitCode
from provisioner.finding import Finding, FixInstruction, finding_json
from provisioner.model import Zone
from provisioner.plan import Action, Change
from provisioner.report import DomainReport
from provisioner.verification import NOT_STARTED

JSON_VERSION = 1


def change_json(change: Change) -> dict[str, Any]:
    return {
        "action": str(change.action),
        "type": str(change.record_set.type),
        "name": change.record_set.name,
        "kinds": [str(k) for k in change.kinds],
        "before": list(change.before_values),
        "after": list(change.after_values),
        "notes": list(change.notes),
    }


def _zone_json(zone: Zone) -> dict[str, Any]:
    return {"name": zone.name, "resource_group": zone.resource_group, "name_servers": list(zone.name_servers)}


def verification_json(report: DomainReport) -> dict[str, dict[str, str | None]]:
    """{kind: {"status", "error_code"}} for each type the domain needs."""
    return {
        str(k): {
            "status": report.states.get(k, NOT_STARTED).label,
            "error_code": report.states.get(k, NOT_STARTED).error_code,
        }
        for k in report.kinds
    }


def target_json(target: DomainTarget) -> dict[str, str]:
    """Which domain a JSON result is about: the first keys of every command's domain object."""
    return {
        "domain": target.domain,
        "subscription": target.subscription,
        "resource_group": target.resource_group,
        "email_service": target.email_service,
    }


def report_json(report: DomainReport) -> dict[str, Any]:
    zone = report.zone
    return {
        **target_json(report.target),
        "zone": None if zone is None else _zone_json(zone),
        "changes": [change_json(c) for c in report.plan.changes] if report.plan else [],
        "written": list(report.written),
        "verification": verification_json(report),
        "started": [str(k) for k in report.started],
        "notes": list(report.notes),
        "result": str(report.result),
        "exit_code": int(report.exit_code),
        "message": report.message,
        "hint": report.hint,
        **(
            {"codes": list(report.error.codes)}
            if isinstance(report.error, AcsDnsError) and report.error.codes
            else {}
        ),
        **({"findings": findings_json(report)} if report.diagnosis is not None else {}),
    }


def document_json(command: str, reports: list[DomainReport], exit_code: int) -> str:
    """The single JSON document `--output json` prints (its JSON Schema: `provisioner.schema`)."""
    body = {
        "version": JSON_VERSION,
        "command": command,
        "exit_code": int(exit_code),
        "domains": [report_json(r) for r in reports],
    }
    return json.dumps(body, indent=2)


def error_document_json(command: str, exit_code: int, error: str, hint: str | None) -> str:
    """The JSON document of a run stopped before any domain started (usage, configuration, credential)."""
    body = {
        "version": JSON_VERSION,
        "command": command,
        "exit_code": int(exit_code),
        "error": error,
        "hint": hint,
        "domains": [],
    }
    return json.dumps(body, indent=2)


_SYMBOL = {Action.CREATE: "+", Action.UPDATE: "~", Action.DELETE: "-", Action.NOOP: "="}


def change_lines(change: Change) -> list[str]:
    rs = change.record_set
    head = f"  {_SYMBOL[change.action]} {change.action:<6} {rs.type:<5} {rs.name}"
    kinds = ", ".join(str(k) for k in change.kinds)
    lines = [f"{head}  [{kinds}]"]
    if change.action is not Action.NOOP:
        lines += [f"      {line}" for line in change.summary()]
    lines += [f"      note: {note}" for note in change.notes]
    return lines


def findings_json(report: DomainReport) -> list[dict[str, object]]:
    return [finding_json(f) for f in report.diagnosis.findings] if report.diagnosis else []


def fix_line(step: FixInstruction) -> str:
    """One step of a fix: the record (host relative to the zone, and FQDN) or, for other steps, the text."""
    if step.action is None:
        return step.text
    value = f": {step.value}" if step.value else ""
    return f"{step.action} {step.type} host {step.host} ({step.fqdn}){value}"


def finding_lines(finding: Finding, indent: str = "  ") -> list[str]:
    """One line for the finding (severity, code, kind, name: message), then one per step of its fix."""
    kind = finding.kind.value if finding.kind else "-"
    lines = [
        f"{indent}{finding.severity.value:<7} {finding.code:<32} {kind:<6} {finding.name}: {finding.message}"
    ]
    lines += [f"{indent}        fix: {fix_line(step)}" for step in finding.fix]
    return lines


def verification_text(report: DomainReport, separator: str = " · ") -> str:
    """ "Domain Verified · SPF NotStarted · ..." for each type the domain needs."""
    states = []
    for k in report.kinds:
        st = report.states.get(k, NOT_STARTED)
        states.append(f"{k} {st.label}" + (f" ({st.error_code})" if st.error_code else ""))
    return separator.join(states)


def report_text(report: DomainReport) -> str:
    t = report.target
    where = f"  (zone {report.zone.name}, resource group {report.zone.resource_group})" if report.zone else ""
    lines = [f"{t.domain}{where}"]
    if report.plan:
        lines += [line for c in report.plan.changes for line in change_lines(c)]
    if report.kinds:
        lines.append("  verification: " + verification_text(report))
    lines += [f"  {note}" for note in report.notes]
    if report.diagnosis is not None:
        lines += [line for f in report.diagnosis.findings for line in finding_lines(f)]
    lines.append(f"  result: {report.result} (exit {int(report.exit_code)})")
    if report.message:
        lines += [f"  {line}" for line in report.message.splitlines()]
    if report.hint:
        lines.append(f"  fix: {report.hint}")
    return "\n".join(lines)


def with_fix(message: str, hint: str | None) -> str:
    """'message. Fix: hint' (one string, for a table cell or an annotation)."""
    message = message.strip()
    if not hint:
        return message
    return f"{message.rstrip('.')}. Fix: {hint}" if message else f"Fix: {hint}"


SUCCESS = frozenset({ExitCode.OK, ExitCode.CHANGES_PENDING})


def failed(report: DomainReport) -> bool:
    return report.exit_code not in SUCCESS


def failures_first(reports: Sequence[DomainReport]) -> list[DomainReport]:
    """Failed domains first (in run order), then the others (in run order)."""
    return sorted(reports, key=lambda r: not failed(r))


def totals_line(reports: Sequence[DomainReport], exit_code: int) -> str:
    """'3 domain(s): 1 refused, 2 verified; failed: a.example; exit 5' (the failed domains named)."""
    counts: dict[str, int] = {}
    for r in reports:
        counts[str(r.result)] = counts.get(str(r.result), 0) + 1
    parts = ", ".join(f"{n} {result}" for result, n in sorted(counts.items()))
    bad = [r.target.domain for r in failures_first(reports) if failed(r)]
    named = f"; failed: {', '.join(bad)}" if bad else ""
    return f"{len(reports)} domain(s): {parts}{named}; exit {int(exit_code)}"


def summary_lines(reports: Sequence[DomainReport]) -> list[str]:
    """One line per domain, failures first."""
    lines = []
    for r in failures_first(reports):
        mark = "FAILED" if failed(r) else "ok"
        lines.append(f"  {mark:<6} {r.target.domain}: {r.result} (exit {int(r.exit_code)})")
    return lines


def run_text(reports: Sequence[DomainReport], exit_code: int) -> str:
    """The text result: each domain's report (failures first); with several domains, then one line per
    domain (failures first) and the totals line naming the failed domains."""
    ordered = failures_first(reports)
    blocks = [report_text(r) for r in ordered]
    if len(reports) > 1:
        blocks.append("\n".join(["summary:", *summary_lines(reports), totals_line(reports, exit_code)]))
    return "\n".join(blocks)
