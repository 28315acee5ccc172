"""The command line: parses, calls the core, renders. Nothing else lives here.

A command is a typer function decorated with `@with_common_options`: it receives the shared flags as one
`CommonOptions` plus its own flags, builds its `RunOptions` and calls `execute` (the one place errors
become exit codes), handing it the per-domain composition to run (`reconcile.DomainCommand`).
"""

from __future__ import annotations

import inspect
import json
import sys
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, get_type_hints

import typer

from provisioner.options import CommonOptions, RunOptions  # plain dataclasses: cheap to import

app = typer.Typer(
    name="acs-dns",
    help="Provision Azure Communication Services email domain records into Azure DNS, and verify them.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


class Output(StrEnum):
    text = "text"
    json = "json"


class Auth(StrEnum):
    default = "default"
    cli = "cli"
    managed_identity = "managed-identity"
    workload_identity = "workload-identity"
    environment = "environment"
    sandbox = "sandbox"


class Cloud(StrEnum):
    public = "public"
    china = "china"
    usgov = "usgov"


_T = "Target (one domain by flags, or many by --config)"
_A = "Azure"
_B = "Behaviour"

Subscription = Annotated[
    str | None, typer.Option(envvar="AZURE_SUBSCRIPTION_ID", help="Subscription id.", rich_help_panel=_T)
]
ResourceGroup = Annotated[
    str | None, typer.Option(help="Resource group of the email service.", rich_help_panel=_T)
]
EmailService = Annotated[
    str | None, typer.Option(help="Email Communication Service name.", rich_help_panel=_T)
]
Domain = Annotated[
    str | None, typer.Option(help="The custom email domain, e.g. mail.contoso.com.", rich_help_panel=_T)
]
ZoneOpt = Annotated[
    str | None,
    typer.Option("--zone", help="Azure DNS zone (default: longest public match).", rich_help_panel=_T),
]
ZoneRg = Annotated[str | None, typer.Option(help="Resource group of the zone.", rich_help_panel=_T)]
ConfigFile = Annotated[
    Path | None,
    typer.Option("--config", help="TOML file with [defaults] and [[domain]] entries.", rich_help_panel=_T),
]
CreateDomain = Annotated[
    bool | None,
    typer.Option(
        "--create-domain", help="Create the email domain (CustomerManaged) if absent.", rich_help_panel=_B
    ),
]
SpfHardfail = Annotated[
    bool | None,
    typer.Option(
        "--spf-hardfail", help="Allow changing an existing ~all/?all/+all SPF to -all.", rich_help_panel=_B
    ),
]
Takeover = Annotated[
    bool | None,
    typer.Option("--takeover", help="Repoint DKIM CNAMEs that acs-dns did not create.", rich_help_panel=_B),
]
AuthOpt = Annotated[Auth, typer.Option("--auth", help="Credential to use.", rich_help_panel=_A)]
CloudOpt = Annotated[Cloud, typer.Option("--cloud", help="Azure cloud.", rich_help_panel=_A)]
ArmEndpoint = Annotated[
    str | None,
    typer.Option(
        envvar="ACS_DNS_ARM_ENDPOINT", help="ARM endpoint URL (overrides --cloud).", rich_help_panel=_A
    ),
]
DnsServers = Annotated[
    list[str] | None,
    typer.Option(
        "--dns-server", help="HOST[:PORT] to send every DNS check to (repeatable).", rich_help_panel=_A
    ),
]
OutputOpt = Annotated[Output, typer.Option("--output", "-o", help="text, or one JSON document on stdout.")]
Debug = Annotated[bool, typer.Option("--debug", help="Show tracebacks and SDK logging.")]
Parallel = Annotated[int, typer.Option(min=1, max=64, help="Domains processed at once.", rich_help_panel=_B)]
PollInterval = Annotated[
    float,
    typer.Option(min=0.0, help="First verification poll delay, seconds.", rich_help_panel=_B, hidden=True),
]


DetailedExitcode = Annotated[
    bool,
    typer.Option("--detailed-exitcode", help="Exit 8 when there are changes or verification pending."),
]

DryRun = Annotated[bool, typer.Option("--dry-run", help="Plan only; write nothing.", rich_help_panel=_B)]
NoWait = Annotated[
    bool, typer.Option("--no-wait", help="Return once verification is started.", rich_help_panel=_B)
]
Timeout = Annotated[
    float, typer.Option(min=1, help="Give up after this many seconds (whole run).", rich_help_panel=_B)
]
PropagationTimeout = Annotated[
    float, typer.Option(min=0, help="Most seconds to wait for the zone's name servers.", rich_help_panel=_B)
]
DryRunDetailedExitcode = Annotated[
    bool, typer.Option("--detailed-exitcode", help="With --dry-run: exit 8 when there are changes.")
]
SavedPlanFile = Annotated[
    Path | None,
    typer.Option(
        "--plan", help="Apply exactly this plan (from `plan --out`), then verify.", rich_help_panel=_T
    ),
]
PlanOut = Annotated[
    Path | None, typer.Option("--out", help="Save the plans (JSON) for `provision --plan FILE`.")
]

_HEAD = [  # shared parameters listed before a command's own, in --help order
    ("subscription", Subscription, None),
    ("resource_group", ResourceGroup, None),
    ("email_service", EmailService, None),
    ("domain", Domain, None),
    ("zone", ZoneOpt, None),
    ("zone_resource_group", ZoneRg, None),
    ("config", ConfigFile, None),
    ("create_domain", CreateDomain, None),
    ("spf_hardfail", SpfHardfail, None),
    ("takeover", Takeover, None),
]
_TAIL = [  # ... and after them
    ("parallel", Parallel, 16),
    ("auth", AuthOpt, Auth.default),
    ("cloud", CloudOpt, Cloud.public),
    ("arm_endpoint", ArmEndpoint, None),
    ("dns_server", DnsServers, None),
    ("output", OutputOpt, Output.text),
    ("debug", Debug, False),
]


def _common(values: dict[str, Any]) -> CommonOptions:
    servers = tuple(values.pop("dns_server") or ())
    plain = {k: getattr(v, "value", v) for k, v in values.items()}
    return CommonOptions(dns_servers=servers, **plain)


def with_common_options(command: Callable[..., None]) -> Callable[..., None]:
    """Give a typer command the shared parameters: `command(common: CommonOptions, **own)` is exposed with
    its own parameters between the shared target flags and the shared Azure/output flags."""
    hints = get_type_hints(command, include_extras=True)
    own = [
        p.replace(annotation=hints[p.name])
        for p in inspect.signature(command).parameters.values()
        if p.name != "common"
    ]
    shared = {name for name, _, _ in _HEAD + _TAIL}

    def shell(**values: Any) -> None:
        common = _common({k: values.pop(k) for k in list(values) if k in shared})
        command(common, **values)

    def param(name: str, annotation: object, default: object) -> inspect.Parameter:
        return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation)

    params = [param(*p) for p in _HEAD] + [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in own]
    params += [param(*p) for p in _TAIL]
    shell.__signature__ = inspect.Signature(params, return_annotation=None)  # type: ignore[attr-defined]
    shell.__annotations__ = {p.name: p.annotation for p in params} | {"return": None}
    shell.__name__, shell.__doc__ = command.__name__, command.__doc__
    return shell


def _fail(command: str, common: CommonOptions, err: Exception) -> typer.Exit:
    """The one place an error that stops the whole run becomes an exit code (and the JSON error document)."""
    from provisioner.errors import AcsDnsError, ExitCode

    if common.debug:
        raise err
    if not isinstance(err, AcsDnsError):
        typer.echo(
            f"error: unexpected {type(err).__name__}: {err} (run with --debug for a traceback)", err=True
        )
        return typer.Exit(int(ExitCode.UNEXPECTED))
    if common.json_output:
        document = {
            "version": 1,
            "command": command,
            "exit_code": int(err.exit_code),
            "error": err.message,
            "hint": err.hint,
            "domains": [],
        }
        typer.echo(json.dumps(document, indent=2))
    else:
        typer.echo(f"error: {err.message}", err=True)
        if err.hint:
            typer.echo(f"  fix: {err.hint}", err=True)
    return typer.Exit(int(err.exit_code))


def execute(
    command: str,
    common: CommonOptions,
    options: RunOptions,
    *,
    detailed_exitcode: bool = True,
    per_domain: str = "provision_domain",
    plan_out: Path | None = None,
    saved_plan: Path | None = None,
    renderer: Callable[[str, list[Any], Any, bool], tuple[str, str]] | None = None,
) -> None:
    """Shared body of the commands: targets -> run `per_domain` (the name of a `reconcile.DomainCommand`,
    imported only now so --help stays fast) for each -> render. With `saved_plan`, the targets and their
    plans come from that file; with `plan_out`, the plans made are saved there."""
    from provisioner import render
    from provisioner.errors import ExitCode
    from provisioner.progress import make_progress

    if common.debug:
        import logging

        logging.basicConfig(level=logging.DEBUG)
    try:
        from provisioner import plan_file, reconcile
        from provisioner.runner import run

        each: reconcile.DomainCommand = getattr(reconcile, per_domain)
        if saved_plan is not None:
            _plan_alone(common, options)
            saved = plan_file.loads(_read_text(saved_plan), str(saved_plan))
            targets = [s.target for s in saved]
            each = reconcile.apply_saved_plan({s.target: s.plan for s in saved})
        else:
            targets = common.targets()
        settings = common.settings()
        servers = common.dns_server_addresses()
        with make_progress(common.json_output, len(targets)) as progress:
            reports, code = run(
                targets,
                settings,
                options,
                dns_servers=servers,
                parallel=common.parallel,
                progress=progress,
                command=each,
            )
        if plan_out is not None:
            made = [plan_file.SavedPlan(r.target, r.plan) for r in reports if r.plan is not None]
            plan_out.write_text(plan_file.dumps(made), encoding="utf-8")
    except Exception as exc:
        raise _fail(command, common, exc) from None
    if not detailed_exitcode:
        for report in reports:
            if report.exit_code is ExitCode.CHANGES_PENDING:
                report.exit_code = ExitCode.OK
        if code is ExitCode.CHANGES_PENDING:
            code = ExitCode.OK
    if common.debug:
        import traceback

        for report in reports:
            if report.error is not None:
                traceback.print_exception(report.error, file=sys.stderr)
    if renderer is not None:
        out, err = renderer(command, reports, code, common.json_output)
        typer.echo(err, nl=False, err=True)
        typer.echo(out, nl=False)
    elif common.json_output:
        typer.echo(render.document_json(command, reports, code))
    else:
        for report in reports:
            typer.echo(render.report_text(report))
        if len(reports) > 1:
            typer.echo(render.summary_text(reports, code))
    raise typer.Exit(int(code))


def _plan_alone(common: CommonOptions, options: RunOptions) -> None:
    """--plan takes its domains from the file: refuse flags that would be silently ignored."""
    from provisioner.errors import UsageError

    given = [k for k, v in common.flag_values().items() if v is not None]
    given += ["config"] if common.config is not None else []
    given += ["dry_run"] if options.dry_run else []
    if given:
        flags = ", ".join("--" + ("domain" if k == "name" else k).replace("_", "-") for k in given)
        raise UsageError(
            f"--plan applies the domains and changes saved in the file; {flags} cannot be given with it",
            "leave those out, or make a new plan with them (acs-dns plan ... --out FILE)",
        )


def _read_text(path: Path) -> str:
    from provisioner.errors import UsageError

    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}", "check the path given to --plan") from None


@app.command()
@with_common_options
def provision(
    common: CommonOptions,
    dry_run: DryRun = False,
    no_wait: NoWait = False,
    timeout: Timeout = 1800,
    propagation_timeout: PropagationTimeout = 600,
    detailed_exitcode: DryRunDetailedExitcode = False,
    plan_file: SavedPlanFile = None,
    poll_interval: PollInterval = 5.0,
) -> None:
    """Write the email domain's records into its Azure DNS zone, start verification, wait until Verified."""
    options = RunOptions.polling_every(
        poll_interval,
        dry_run=dry_run,
        wait=not no_wait,
        timeout=timeout,
        propagation_timeout=propagation_timeout,
    )
    detailed = detailed_exitcode or not dry_run
    execute("provision", common, options, detailed_exitcode=detailed, saved_plan=plan_file)


@app.command()
@with_common_options
def plan(
    common: CommonOptions,
    detailed_exitcode: DetailedExitcode = False,
    out: PlanOut = None,
) -> None:
    """Show what provision would change (record, zone-relative name, before -> after); write nothing."""
    options = RunOptions(dry_run=True)
    execute(
        "plan", common, options, detailed_exitcode=detailed_exitcode, per_domain="plan_domain", plan_out=out
    )


class RecordsFormat(StrEnum):
    text = "text"
    bind = "bind"
    json = "json"
    csv = "csv"


FormatOpt = Annotated[
    RecordsFormat, typer.Option("--format", help="text (a table), bind (zone-file lines), json, csv.")
]
Force = Annotated[
    bool,
    typer.Option("--force", help="Start verification even when check finds a needed record wrong."),
]


def _writes_nothing(command: str, common: CommonOptions) -> None:
    """check/records/verify write no DNS and create nothing: refuse the flags that would be ignored."""
    from provisioner.errors import UsageError

    given = [
        f"--{n.replace('_', '-')}"
        for n in ("create_domain", "spf_hardfail", "takeover")
        if getattr(common, n)
    ]
    if given:
        raise _fail(
            command,
            common,
            UsageError(
                f"{', '.join(given)} cannot be given to {command}: it writes no DNS record and creates no domain",
                "leave it out (acs-dns provision writes into Azure DNS)",
            ),
        )


@app.command()
@with_common_options
def check(common: CommonOptions) -> None:
    """Why is the domain not verified? Findings from public DNS (any DNS host); read-only.

    Compares what the email service expects with what the resolver and each of the zone's name servers
    serve. Exit 6 when a finding is an error."""
    from provisioner.render_diagnosis import render_check

    _writes_nothing("check", common)
    execute("check", common, RunOptions(dry_run=True), per_domain="check_domain", renderer=render_check)


@app.command()
@with_common_options
def records(common: CommonOptions, format: FormatOpt = RecordsFormat.text) -> None:
    """Print the records the domain needs, for any DNS provider.

    --zone: host names relative to that zone (default: the zone public DNS shows, else the domain's
    parent). An SPF record already published is shown merged, never as a second SPF."""
    from provisioner.render_diagnosis import render_records_for

    _writes_nothing("records", common)
    execute(
        "records",
        common,
        RunOptions(dry_run=True),
        per_domain="records_domain",
        renderer=render_records_for(format.value),
    )


@app.command()
@with_common_options
def verify(
    common: CommonOptions,
    force: Force = False,
    no_wait: NoWait = False,
    timeout: Timeout = 1800,
    poll_interval: PollInterval = 5.0,
) -> None:
    """Verify records someone else wrote (any DNS host): check, then start and wait like provision.

    Touches no DNS. Refuses (exit 6) while a record verification needs is wrong, unless --force."""
    _writes_nothing("verify", common)
    options = RunOptions.polling_every(poll_interval, wait=not no_wait, timeout=timeout, force=force)
    execute("verify", common, options, per_domain="verify_domain")


@app.command()
def demo(
    output: OutputOpt = Output.text,
) -> None:
    """Run provision end to end against the built-in local Azure sandbox (no account needed)."""
    from provisioner.demo import run_demo

    raise typer.Exit(run_demo(json_output=output is Output.json))


sandbox_app = typer.Typer(
    help="The local Azure sandbox (ARM over HTTPS + authoritative DNS).", no_args_is_help=True
)
app.add_typer(sandbox_app, name="sandbox")


@sandbox_app.command("serve")
def sandbox_serve(
    port: Annotated[int, typer.Option(help="ARM HTTPS port (0 = any free port).")] = 0,
    dns_port: Annotated[int, typer.Option(help="DNS port, UDP and TCP (0 = any free port).")] = 0,
    latency_ms: Annotated[float, typer.Option(help="Added latency per ARM request, in milliseconds.")] = 0.0,
    fault_rate: Annotated[
        float, typer.Option(help="Share of ARM requests answered with a random fault.")
    ] = 0.0,
    throttle: Annotated[
        bool, typer.Option(help="Enforce ARM's per-subscription token buckets (429).")
    ] = False,
    verify_delay: Annotated[float, typer.Option(help="Seconds a verification takes to decide.")] = 0.0,
    propagation_delay: Annotated[float, typer.Option(help="Seconds before DNS changes are served.")] = 0.0,
) -> None:
    """Start the sandbox, print one JSON line with its addresses, serve until SIGINT/SIGTERM."""
    from acs_sandbox import SandboxOptions
    from acs_sandbox.serve import serve

    serve(
        SandboxOptions(
            port=port,
            dns_port=dns_port,
            latency_ms=latency_ms,
            fault_rate=fault_rate,
            throttle=throttle,
            verify_delay=verify_delay,
            propagation_delay=propagation_delay,
        )
    )


def main() -> None:
    app()
