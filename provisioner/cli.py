"""The command line: parses, calls the core, renders. Nothing else lives here."""

from __future__ import annotations

from typing import Annotated

import typer

app = typer.Typer(
    name="acs-dns",
    help="Provision Azure Communication Services email domain records into Azure DNS, and verify them.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
sandbox_app = typer.Typer(help="The local Azure sandbox (ARM over HTTPS + authoritative DNS).", no_args_is_help=True)
app.add_typer(sandbox_app, name="sandbox")


@sandbox_app.command("serve")
def sandbox_serve(
    port: Annotated[int, typer.Option(help="ARM HTTPS port (0 = any free port).")] = 0,
    dns_port: Annotated[int, typer.Option(help="DNS port, UDP and TCP (0 = any free port).")] = 0,
    latency_ms: Annotated[float, typer.Option(help="Added latency per ARM request, in milliseconds.")] = 0.0,
    fault_rate: Annotated[float, typer.Option(help="Share of ARM requests answered with a random fault.")] = 0.0,
    throttle: Annotated[bool, typer.Option(help="Enforce ARM's per-subscription token buckets (429).")] = False,
    verify_delay: Annotated[float, typer.Option(help="Seconds a verification takes to decide.")] = 0.0,
    propagation_delay: Annotated[float, typer.Option(help="Seconds before DNS changes are served.")] = 0.0,
) -> None:
    """Start the sandbox, print one JSON line with its addresses, serve until SIGINT/SIGTERM."""
    from provisioner.sandbox import SandboxOptions
    from provisioner.sandbox.serve import serve

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
