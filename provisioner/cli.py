"""The command line: parses, calls the core, renders. Nothing else lives here."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from provisioner.azure.clients import AzureSettings
    from provisioner.config import DomainTarget

app = typer.Typer(
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


def _targets(config: Path | None, flags: dict[str, object]) -> list[DomainTarget]:
    from provisioner.config import load_targets, target_from_flags

    if config is not None:
        # an empty --domain is "not given"; load_targets refuses a given one beside --config
        return load_targets(config, {k: v for k, v in flags.items() if k != "name" or v})
    return [target_from_flags(flags)]


def _settings(auth: Auth, cloud: Cloud, arm_endpoint: str | None) -> AzureSettings:
    from provisioner.azure.clients import AzureSettings, resolve_endpoint
    from provisioner.azure.credentials import make_credential

    endpoint = resolve_endpoint(cloud.value, arm_endpoint)
    if auth is Auth.sandbox:
        make_credential(auth.value, endpoint)  # refuses non-loopback endpoints before anything is sent
    return AzureSettings(arm_endpoint=endpoint, auth=auth.value)


def _execute(
    command: str,
    *,
    flags: dict[str, object],
    config: Path | None,
    auth: Auth,
    cloud: Cloud,
    arm_endpoint: str | None,
    dns_server: list[str] | None,
    output: Output,
    debug: bool,
    options_kw: dict[str, object],
    parallel: int,
    detailed_exitcode: bool = True,
) -> None:
    """Shared body of provision and plan: the one place errors become exit codes."""
    from provisioner import render
    from provisioner.errors import AcsDnsError, ExitCode
    from provisioner.progress import make_progress

    if debug:
        import logging

        logging.basicConfig(level=logging.DEBUG)
    try:
        from provisioner.dnscheck import parse_dns_server
        from provisioner.reconcile import RunOptions
        from provisioner.runner import run

        targets = _targets(config, flags)
        settings = _settings(auth, cloud, arm_endpoint)
        servers = [parse_dns_server(s) for s in dns_server or []]
        options = RunOptions(**options_kw)  # type: ignore[arg-type]
        with make_progress(output is Output.json, len(targets)) as progress:
            reports, code = run(
                targets, settings, options, dns_servers=servers, parallel=parallel, progress=progress
            )
    except AcsDnsError as err:
        if debug:
            raise
        if output is Output.json:
            typer.echo(
                json.dumps(
                    {
                        "version": 1,
                        "command": command,
                        "exit_code": int(err.exit_code),
                        "error": err.message,
                        "hint": err.hint,
                        "domains": [],
                    },
                    indent=2,
                )
            )
        else:
            typer.echo(f"error: {err.message}", err=True)
            if err.hint:
                typer.echo(f"  fix: {err.hint}", err=True)
        raise typer.Exit(int(err.exit_code)) from None
    except Exception as exc:
        if debug:
            raise
        typer.echo(
            f"error: unexpected {type(exc).__name__}: {exc} (run with --debug for a traceback)", err=True
        )
        raise typer.Exit(int(ExitCode.UNEXPECTED)) from None
    if not detailed_exitcode:
        for report in reports:
            if report.exit_code is ExitCode.CHANGES_PENDING:
                report.exit_code = ExitCode.OK
        if code is ExitCode.CHANGES_PENDING:
            code = ExitCode.OK
    if debug:
        import traceback

        for report in reports:
            if report.error is not None:
                traceback.print_exception(report.error, file=sys.stderr)
    if output is Output.json:
        typer.echo(render.document_json(command, reports, code))
    else:
        for report in reports:
            typer.echo(render.report_text(report))
        if len(reports) > 1:
            typer.echo(render.summary_text(reports, code))
    raise typer.Exit(int(code))


@app.command()
def provision(
    subscription: Subscription = None,
    resource_group: ResourceGroup = None,
    email_service: EmailService = None,
    domain: Domain = None,
    zone: ZoneOpt = None,
    zone_resource_group: ZoneRg = None,
    config: ConfigFile = None,
    create_domain: CreateDomain = None,
    spf_hardfail: SpfHardfail = None,
    takeover: Takeover = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Plan only; write nothing.", rich_help_panel=_B)
    ] = False,
    no_wait: Annotated[
        bool, typer.Option("--no-wait", help="Return once verification is started.", rich_help_panel=_B)
    ] = False,
    timeout: Annotated[
        float, typer.Option(min=1, help="Give up after this many seconds (whole run).", rich_help_panel=_B)
    ] = 1800,
    propagation_timeout: Annotated[
        float,
        typer.Option(min=0, help="Most seconds to wait for the zone's name servers.", rich_help_panel=_B),
    ] = 600,
    detailed_exitcode: Annotated[
        bool, typer.Option("--detailed-exitcode", help="With --dry-run: exit 8 when there are changes.")
    ] = False,
    parallel: Parallel = 16,
    poll_interval: PollInterval = 5.0,
    auth: AuthOpt = Auth.default,
    cloud: CloudOpt = Cloud.public,
    arm_endpoint: ArmEndpoint = None,
    dns_server: DnsServers = None,
    output: OutputOpt = Output.text,
    debug: Debug = False,
) -> None:
    """Write the email domain's records into its Azure DNS zone, start verification, wait until Verified."""
    _execute(
        "provision",
        flags=_flag_values(
            subscription,
            resource_group,
            email_service,
            domain,
            zone,
            zone_resource_group,
            create_domain,
            spf_hardfail,
            takeover,
        ),
        config=config,
        auth=auth,
        cloud=cloud,
        arm_endpoint=arm_endpoint,
        dns_server=dns_server,
        output=output,
        debug=debug,
        parallel=parallel,
        options_kw={
            "dry_run": dry_run,
            "wait": not no_wait,
            "timeout": timeout,
            "propagation_timeout": propagation_timeout,
            "poll_first": poll_interval,
            "poll_max": max(poll_interval, 30.0) if poll_interval >= 1 else max(poll_interval * 4, 0.01),
            "dns_interval": min(2.0, max(poll_interval, 0.05)),
        },
        detailed_exitcode=detailed_exitcode or not dry_run,
    )


@app.command()
def plan(
    subscription: Subscription = None,
    resource_group: ResourceGroup = None,
    email_service: EmailService = None,
    domain: Domain = None,
    zone: ZoneOpt = None,
    zone_resource_group: ZoneRg = None,
    config: ConfigFile = None,
    create_domain: CreateDomain = None,
    spf_hardfail: SpfHardfail = None,
    takeover: Takeover = None,
    detailed_exitcode: Annotated[
        bool,
        typer.Option("--detailed-exitcode", help="Exit 8 when there are changes or verification pending."),
    ] = False,
    parallel: Parallel = 16,
    auth: AuthOpt = Auth.default,
    cloud: CloudOpt = Cloud.public,
    arm_endpoint: ArmEndpoint = None,
    dns_server: DnsServers = None,
    output: OutputOpt = Output.text,
    debug: Debug = False,
) -> None:
    """Show what provision would change (record, zone-relative name, before -> after); write nothing."""
    _execute(
        "plan",
        flags=_flag_values(
            subscription,
            resource_group,
            email_service,
            domain,
            zone,
            zone_resource_group,
            create_domain,
            spf_hardfail,
            takeover,
        ),
        config=config,
        auth=auth,
        cloud=cloud,
        arm_endpoint=arm_endpoint,
        dns_server=dns_server,
        output=output,
        debug=debug,
        parallel=parallel,
        options_kw={"dry_run": True},
        detailed_exitcode=detailed_exitcode,
    )


def _flag_values(
    subscription: str | None,
    resource_group: str | None,
    email_service: str | None,
    domain: str | None,
    zone: str | None,
    zone_resource_group: str | None,
    create_domain: bool | None,
    spf_hardfail: bool | None,
    takeover: bool | None,
) -> dict[str, object]:
    return {
        "subscription": subscription,
        "resource_group": resource_group,
        "email_service": email_service,
        "name": domain,
        "zone": zone,
        "zone_resource_group": zone_resource_group,
        "create_domain": create_domain,
        "spf_hardfail": spf_hardfail,
        "takeover": takeover,
    }


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
