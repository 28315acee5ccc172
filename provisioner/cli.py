"""The command line: parses, calls the core, renders. Nothing else lives here.

A command is a typer function decorated with `@with_common_options`: it receives the shared flags as one
`CommonOptions` plus its own flags, builds its `RunOptions` and calls `execute` (the one place errors
become exit codes), handing it the per-domain composition to run (`reconcile.DomainCommand`).
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, get_type_hints

import typer

from provisioner.options import DEFAULT_DNS_TIMEOUT, CommonOptions, RunOptions  # plain dataclasses: cheap


class _Group(typer.core.TyperGroup):
    """The command group: help without `<bool>` type labels on flags, and a usage error (bad flag, bad
    value) given with `--output json` printed as the one JSON document on stdout (exit 2)."""

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            _no_flag_metavars(command.get_params(ctx))
        return command

    def get_params(self, ctx: Any) -> list[Any]:
        return _no_flag_metavars(super().get_params(ctx))

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        ctx.meta["acs_dns.args"] = list(args)
        return super().parse_args(ctx, args)

    def invoke(self, ctx: Any) -> Any:
        try:
            from typer._click.exceptions import UsageError  # typer vendors click from 0.2x on
        except ImportError:  # pragma: no cover - older typer
            from click.exceptions import UsageError  # type: ignore[no-redef]
        try:
            return super().invoke(ctx)
        except UsageError as err:
            args = ctx.meta.get("acs_dns.args", [])
            if not _json_requested(args) or err.ctx is None or err.ctx.parent is None:
                raise
            _usage_error_document(err.ctx.info_name or "acs-dns", err.format_message())
            raise typer.Exit(2) from None


def _no_flag_metavars(params: list[Any]) -> list[Any]:
    for param in params:
        if getattr(param, "is_flag", False) and param.metavar is None:
            param.metavar = ""  # a flag takes no value: no type label in --help
    return params


def _json_requested(args: list[str]) -> bool:
    """Whether the raw arguments ask for `--output json` (read before click has parsed them)."""
    pairs = zip(args, [*args[1:], ""], strict=True)
    return any(
        (a in ("--output", "-o") and b == "json") or a in ("--output=json", "-ojson") for a, b in pairs
    )


def _usage_error_document(command: str, message: str) -> None:
    import os

    from provisioner import annotations, render

    hint = f"see acs-dns {command} --help"
    typer.echo(render.error_document_json(command, 2, message, hint))
    for line in annotations.run_error_lines(os.environ, command, message, hint):
        typer.echo(line, err=True)


app = typer.Typer(
    cls=_Group,
    name="acs-dns",
    help="Provision Azure Communication Services email domain records into Azure DNS, and verify them.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _print_version(value: bool) -> None:
    if value:
        from provisioner import __version__

        typer.echo(f"acs-dns {__version__}")
        raise typer.Exit()


@app.callback()
def _app_options(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    pass


class Output(StrEnum):
    text = "text"
    json = "json"
    markdown = "markdown"


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
    str | None,
    typer.Option(envvar="AZURE_SUBSCRIPTION_ID", metavar="ID", help="Subscription id.", rich_help_panel=_T),
]
ResourceGroup = Annotated[
    str | None,
    typer.Option(
        "--resource-group",
        "-g",
        metavar="NAME",
        help="Resource group of the email service.",
        rich_help_panel=_T,
    ),
]
EmailService = Annotated[
    str | None,
    typer.Option(metavar="NAME", help="Email Communication Service name.", rich_help_panel=_T),
]
Domain = Annotated[
    str | None,
    typer.Option(
        metavar="DOMAIN", help="The custom email domain, e.g. mail.contoso.com.", rich_help_panel=_T
    ),
]
ZoneOpt = Annotated[
    str | None,
    typer.Option(
        "--zone", metavar="ZONE", help="Azure DNS zone (default: longest public match).", rich_help_panel=_T
    ),
]
ZoneRg = Annotated[
    str | None, typer.Option(metavar="NAME", help="Resource group of the zone.", rich_help_panel=_T)
]
ConfigFile = Annotated[
    Path | None,
    typer.Option(
        "--config",
        metavar="FILE",
        # the backslashes keep rich markup from eating the TOML table names
        help="TOML file with \\[defaults] and \\[\\[domain]] entries.",
        rich_help_panel=_T,
    ),
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
_L = "Sending (link, senders, DMARC)"
CommunicationService = Annotated[
    str | None,
    typer.Option(
        metavar="NAME", help="Link the domain to this Communication Services resource.", rich_help_panel=_L
    ),
]
CommunicationRg = Annotated[
    str | None,
    typer.Option(
        metavar="NAME", help="Its resource group (default: the email service's).", rich_help_panel=_L
    ),
]
Senders = Annotated[
    list[str] | None,
    typer.Option(
        "--sender",
        metavar="USER[=NAME]",
        help="USER[=Display Name]: a sender username (repeatable).",
        rich_help_panel=_L,
    ),
]
Dmarc = Annotated[
    str | None,
    typer.Option(
        metavar="VALUE",
        help='The _dmarc TXT to write when none exists, e.g. "v=DMARC1; p=none".',
        rich_help_panel=_L,
    ),
]
DmarcReplace = Annotated[
    bool | None,
    typer.Option("--dmarc-replace", help="Replace an existing, different DMARC record.", rich_help_panel=_L),
]
PruneToken = Annotated[
    bool | None,
    typer.Option(
        "--prune-token", help="Remove the verification token once Domain is Verified.", rich_help_panel=_L
    ),
]
AuthOpt = Annotated[Auth, typer.Option("--auth", help="Credential to use.", rich_help_panel=_A)]
CloudOpt = Annotated[Cloud, typer.Option("--cloud", help="Azure cloud.", rich_help_panel=_A)]
ArmEndpoint = Annotated[
    str | None,
    typer.Option(
        envvar="ACS_DNS_ARM_ENDPOINT",
        metavar="URL",
        help="ARM endpoint URL (overrides --cloud).",
        rich_help_panel=_A,
    ),
]
DnsServers = Annotated[
    list[str] | None,
    typer.Option(
        "--dns-server",
        metavar="HOST[:PORT]",
        help="Send every DNS check there (repeatable).",
        rich_help_panel=_A,
    ),
]
DnsTimeout = Annotated[
    float,
    typer.Option(
        min=0.1,
        metavar="SECONDS",
        help="Seconds a DNS server has to answer one query before it counts as not answering.",
        rich_help_panel=_A,
    ),
]
_O = "Output"
OutputOpt = Annotated[
    Output,
    typer.Option(
        "--output",
        "-o",
        help="text; json: one JSON document on stdout (acs-dns schema); markdown: a table.",
        rich_help_panel=_O,
    ),
]
Debug = Annotated[bool, typer.Option("--debug", help="Show tracebacks and SDK logging.", rich_help_panel=_O)]
ProgressOpt = Annotated[
    bool | None,
    typer.Option(
        "--progress/--no-progress",
        help="Progress on stderr (default: on, but off with --output json when stderr is not a terminal).",
        rich_help_panel=_O,
    ),
]
ProgressInterval = Annotated[
    float,
    typer.Option(
        min=0.1,
        metavar="SECONDS",
        help="Without a terminal: a line saying what is waited for at least this often.",
        rich_help_panel=_O,
    ),
]
Parallel = Annotated[
    int,
    typer.Option(
        min=1,
        max=64,
        metavar="N",
        help="Domains working against Azure at once (waiting for verification does not count).",
        rich_help_panel=_B,
    ),
]
PollInterval = Annotated[
    float,
    typer.Option(min=0.0, help="First verification poll delay, seconds.", rich_help_panel=_B, hidden=True),
]
LinkSettle = Annotated[
    float,
    typer.Option(min=0.0, help="Seconds between changing linkedDomains and reading them back.", hidden=True),
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
    float,
    typer.Option(
        min=1, metavar="SECONDS", help="Give up after this many seconds (whole run).", rich_help_panel=_B
    ),
]
PropagationTimeout = Annotated[
    float,
    typer.Option(
        min=0, metavar="SECONDS", help="Most seconds to wait for the zone's name servers.", rich_help_panel=_B
    ),
]
DryRunDetailedExitcode = Annotated[
    bool, typer.Option("--detailed-exitcode", help="With --dry-run: exit 8 when there are changes.")
]
SavedPlanFile = Annotated[
    Path | None,
    typer.Option(
        "--plan",
        metavar="FILE",
        help="Apply exactly this plan (from `plan --out`), then verify.",
        rich_help_panel=_T,
    ),
]
PlanOut = Annotated[
    Path | None,
    typer.Option("--out", metavar="FILE", help="Save the plans (JSON) for `provision --plan FILE`."),
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
    ("communication_service", CommunicationService, None),
    ("communication_resource_group", CommunicationRg, None),
    ("sender", Senders, None),
    ("dmarc", Dmarc, None),
    ("dmarc_replace", DmarcReplace, None),
    ("prune_token", PruneToken, None),
]
_TAIL = [  # ... and after them
    ("parallel", Parallel, 16),
    ("auth", AuthOpt, Auth.default),
    ("cloud", CloudOpt, Cloud.public),
    ("arm_endpoint", ArmEndpoint, None),
    ("dns_server", DnsServers, None),
    ("dns_timeout", DnsTimeout, DEFAULT_DNS_TIMEOUT),
    ("output", OutputOpt, Output.text),
    ("progress", ProgressOpt, None),
    ("progress_interval", ProgressInterval, 15.0),
    ("debug", Debug, False),
]


def _common(values: dict[str, Any]) -> CommonOptions:
    servers = tuple(values.pop("dns_server") or ())
    senders = tuple(values.pop("sender", None) or ())
    plain = {k: getattr(v, "value", v) for k, v in values.items()}
    return CommonOptions(dns_servers=servers, sender=senders, **plain)


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
    import os

    from provisioner import annotations, render
    from provisioner.errors import AcsDnsError, ExitCode

    if common.debug:
        raise err
    if not isinstance(err, AcsDnsError):
        message, hint = f"unexpected {type(err).__name__}: {err}", "run with --debug for a traceback"
        if common.json_output:
            typer.echo(render.error_document_json(command, int(ExitCode.UNEXPECTED), message, hint))
        typer.echo(f"error: {message} ({hint})", err=True)
        return typer.Exit(int(ExitCode.UNEXPECTED))
    _ci_lines(annotations.run_error_lines(os.environ, command, err.message, err.hint))
    if common.json_output:
        typer.echo(render.error_document_json(command, int(err.exit_code), err.message, err.hint))
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
    from provisioner import render, render_markdown
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
        with make_progress(
            common.json_output, len(targets), interval=common.progress_interval, show=common.progress
        ) as progress:
            reports, code = run(
                targets,
                settings,
                options,
                dns_servers=servers,
                dns_timeout=common.dns_timeout,
                parallel=common.parallel,
                progress=progress,
                command=progress.track(each),
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
    if renderer is not None and common.output != Output.markdown:
        out, err = renderer(command, reports, code, common.json_output)
        typer.echo(err, nl=False, err=True)
        typer.echo(out, nl=False)
    elif common.json_output:
        typer.echo(render.document_json(command, reports, code))
    elif common.output == Output.markdown:
        typer.echo(render_markdown.markdown_table(command, reports, code))
    else:
        typer.echo(render.run_text(reports, code))
    _ci_report(command, reports, code)
    raise typer.Exit(int(code))


def _ci_lines(lines: list[str]) -> None:
    for line in lines:
        typer.echo(line, err=True)


def _ci_report(command: str, reports: list[Any], code: int) -> None:
    """In CI: annotations on stderr (GitHub workflow commands, Azure Pipelines logging commands) and the
    markdown summary appended to $GITHUB_STEP_SUMMARY."""
    import os

    from provisioner import annotations

    _ci_lines(annotations.ci_lines(os.environ, command, reports))
    path = os.environ.get("GITHUB_STEP_SUMMARY")
    if path:
        try:
            with open(path, "a", encoding="utf-8") as summary:
                summary.write(annotations.step_summary(command, reports, code))
        except OSError as exc:
            typer.echo(f"warning: cannot append to GITHUB_STEP_SUMMARY {path}: {exc.strerror}", err=True)


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
    except UnicodeDecodeError as exc:
        raise UsageError(
            f"{path} is not a plan saved by `acs-dns plan --out`: not UTF-8 text ({exc.reason})",
            "save a plan again with `acs-dns plan ... --out FILE`",
        ) from None


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
    link_settle: LinkSettle = 2.0,
) -> None:
    """Write the email domain's records into its Azure DNS zone, start verification, wait until Verified."""
    options = RunOptions.polling_every(
        poll_interval,
        link_settle=link_settle,
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
def schema() -> None:
    """Print the JSON Schema (draft 2020-12) of the --output json document."""
    from provisioner.schema import schema_json

    typer.echo(schema_json())


@app.command()
@with_common_options
def deprovision(
    common: CommonOptions,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the removal plan; change nothing.")
    ] = False,
    detailed_exitcode: DryRunDetailedExitcode = False,
    delete_domain: Annotated[
        bool,
        typer.Option("--delete-domain", help="Also delete the email domain resource.", rich_help_panel=_B),
    ] = False,
    link_settle: LinkSettle = 2.0,
) -> None:
    """Remove exactly what acs-dns added for the domain (records, values, link, senders); nothing else."""
    options = RunOptions(
        dry_run=dry_run, delete_domain=delete_domain, link_settle=link_settle, probe_resolver=False
    )
    execute(
        "deprovision",
        common,
        options,
        detailed_exitcode=detailed_exitcode or not dry_run,
        per_domain="deprovision_domain",
    )


@app.command()
def demo(
    output: OutputOpt = Output.text,
) -> None:
    """Run provision end to end against the built-in local Azure sandbox (no account needed)."""
    from provisioner.demo import run_demo

    raise typer.Exit(run_demo(json_output=output is Output.json))


sandbox_app = typer.Typer(
    cls=_Group, help="The local Azure sandbox (ARM over HTTPS + authoritative DNS).", no_args_is_help=True
)
app.add_typer(sandbox_app, name="sandbox")


@sandbox_app.command("serve")
def sandbox_serve(
    port: Annotated[int, typer.Option(metavar="PORT", help="ARM HTTPS port (0 = any free port).")] = 0,
    dns_port: Annotated[
        int, typer.Option(metavar="PORT", help="DNS port, UDP and TCP (0 = any free port).")
    ] = 0,
    latency_ms: Annotated[
        float, typer.Option(metavar="MS", help="Added latency per ARM request, in milliseconds.")
    ] = 0.0,
    fault_rate: Annotated[
        float, typer.Option(metavar="SHARE", help="Share of ARM requests answered with a random fault.")
    ] = 0.0,
    throttle: Annotated[
        bool, typer.Option(help="Enforce ARM's per-subscription token buckets (429).")
    ] = False,
    verify_delay: Annotated[
        float, typer.Option(metavar="SECONDS", help="Seconds a verification takes to decide.")
    ] = 0.0,
    propagation_delay: Annotated[
        float, typer.Option(metavar="SECONDS", help="Seconds before DNS changes are served.")
    ] = 0.0,
    seed: Annotated[
        Path | None,
        typer.Option(help="TOML world to start with (see acs_sandbox/examples/world.toml).", metavar="FILE"),
    ] = None,
    resolver_cache: Annotated[
        bool, typer.Option(help="Let the recursive resolver cache answers for their TTL.")
    ] = False,
    operation_delay: Annotated[
        float,
        typer.Option(
            metavar="SECONDS", help="Seconds a Communication long-running operation stays in progress."
        ),
    ] = 0.05,
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
            seed_file=str(seed) if seed else None,
            resolver_cache=resolver_cache,
            operation_delay=operation_delay,
        )
    )


def main() -> None:
    app()
