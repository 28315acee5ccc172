"""What `check` and `records` print: findings per domain (text table or the JSON document) and the records
to publish (text, BIND, JSON, CSV). Pure: returns strings."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from provisioner.finding import Severity
from provisioner.records_out import render_records
from provisioner.render import (
    JSON_VERSION,
    finding_lines,
    findings_json,
    target_json,
    verification_json,
    verification_text,
)
from provisioner.report import DomainReport, Result

Renderer = Callable[[str, list[DomainReport], int, bool], tuple[str, str]]
"""(command, reports, exit code, JSON output) -> (stdout, stderr): how `cli.execute` prints a command's
result when the command brings its own rendering."""


# ---- check ---------------------------------------------------------------------------------------------
def _zone_json(report: DomainReport) -> dict[str, Any] | None:
    d = report.diagnosis
    return (
        None
        if d is None
        else {"name": d.zone, "delegation": d.delegation, "name_servers": list(d.name_servers)}
    )


def check_domain_json(report: DomainReport) -> dict[str, Any]:
    return {
        **target_json(report.target),
        "zone": _zone_json(report),
        "result": str(report.result),
        "exit_code": int(report.exit_code),
        "verification": verification_json(report),
        "findings": findings_json(report),
        "message": report.message,
        "hint": report.hint,
    }


def check_json(command: str, reports: list[DomainReport], exit_code: int) -> str:
    """`{"version", "command", "exit_code", "domains": [{"domain", "result", "verification", "findings",
    ...}]}`; `result` is `ok` or `problems` (or the error that stopped the domain)."""
    body = {
        "version": JSON_VERSION,
        "command": command,
        "exit_code": int(exit_code),
        "domains": [check_domain_json(r) for r in reports],
    }
    return json.dumps(body, indent=2) + "\n"


def _counts(report: DomainReport) -> dict[Severity, int]:
    found = report.diagnosis.findings if report.diagnosis else ()
    return {s: sum(1 for f in found if f.severity is s) for s in Severity}


def check_domain_text(report: DomainReport) -> str:
    d = report.diagnosis
    where = f"  (zone {d.zone}, {d.delegation})" if d else ""
    lines = [f"{report.target.domain}{where}"]
    if report.kinds:
        lines.append("  verification: " + verification_text(report))
    if d is not None:
        lines += [line for f in d.findings for line in finding_lines(f)]
    lines.append(f"  result: {report.result} (exit {int(report.exit_code)}): {report.message}")
    if report.hint:
        lines.append(f"  fix: {report.hint}")
    return "\n".join(lines)


def check_summary(reports: list[DomainReport], exit_code: int) -> str:
    """One row per domain (errors, warnings, codes), then the totals."""
    rows = []
    for r in reports:
        n = _counts(r)
        codes = ", ".join(dict.fromkeys(f.code for f in (r.diagnosis.findings if r.diagnosis else ())))
        rows.append((r.target.domain, str(r.result), str(n[Severity.ERROR]), str(n[Severity.WARNING]), codes))
    header = ("DOMAIN", "RESULT", "ERRORS", "WARNINGS", "CODES")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(4)]
    out = [
        "  ".join(c.ljust(w) for c, w in zip(row[:4], widths, strict=True)) + "  " + row[4]
        for row in [header, *rows]
    ]
    results: dict[str, int] = {}
    for r in reports:
        results[str(r.result)] = results.get(str(r.result), 0) + 1
    parts = ", ".join(f"{n} {result}" for result, n in sorted(results.items()))
    out.append(f"{len(reports)} domain(s): {parts}; exit {int(exit_code)}")
    return "\n".join(out)


def check_text(command: str, reports: list[DomainReport], exit_code: int) -> str:
    """Each domain with findings or a failure in full (errors first), quiet ones in the summary only."""
    shown = [r for r in reports if r.result is not Result.OK or (r.diagnosis and r.diagnosis.findings)]
    if len(reports) == 1:
        shown = reports
    parts = [check_domain_text(r) for r in shown]
    if len(reports) > 1:
        parts.append(check_summary(reports, exit_code))
    return "\n\n".join(parts) + "\n"


def render_check(
    command: str, reports: list[DomainReport], exit_code: int, json_output: bool
) -> tuple[str, str]:
    """(stdout, stderr) of `check`: `cli.execute`'s renderer."""
    return (check_json if json_output else check_text)(command, reports, exit_code), ""


# ---- records -------------------------------------------------------------------------------------------
def render_records_for(fmt: str) -> Renderer:
    """The `records` renderer for `--format fmt` (`--output json` means `--format json`)."""

    def render(
        command: str, reports: list[DomainReport], exit_code: int, json_output: bool
    ) -> tuple[str, str]:
        chosen = "json" if json_output else fmt
        ok = [r for r in reports if r.diagnosis is not None and r.result is Result.OK]
        if chosen == "json":
            body = {
                "version": JSON_VERSION,
                "command": command,
                "exit_code": int(exit_code),
                "domains": [
                    {
                        "domain": r.target.domain,
                        "zone": r.diagnosis.zone if r.diagnosis else None,
                        "result": str(r.result),
                        "exit_code": int(r.exit_code),
                        "records": [asdict(x) for x in r.diagnosis.records] if r.diagnosis else [],
                        "message": r.message,
                        "hint": r.hint,
                    }
                    for r in reports
                ],
            }
            return json.dumps(body, indent=2) + "\n", ""
        out = []
        for i, r in enumerate(ok):
            assert r.diagnosis is not None
            text = render_records(
                list(r.diagnosis.records), chosen, domain=r.target.domain, zone=r.diagnosis.zone
            )
            if chosen == "csv" and i:
                text = text.split("\n", 1)[1]  # one header for all domains
            out.append(text)
        errors = "".join(  # on stderr, so stdout stays pasteable
            f"{'note' if r.exit_code == 0 else 'error'}: {r.target.domain}: {r.message}\n"
            + (f"  fix: {r.hint}\n" if r.hint else "")
            for r in reports
            if r.result is not Result.OK
        )
        return ("\n" if chosen in ("text", "bind") else "").join(out), errors

    return render


__all__ = ["check_json", "check_text", "render_check", "render_records_for"]
