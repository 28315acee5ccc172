"""Runs many domains: builds the session from settings, runs one per-domain command for each target on a
bounded pool, collects the reports, and stops cleanly on Ctrl-C."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from provisioner.azure.clients import AzureSettings, Clients
from provisioner.azure.communication import AzureCommunication
from provisioner.azure.dns import AzureDns
from provisioner.config import DomainTarget
from provisioner.dnscheck import DnsChecker, DnsServerAddress
from provisioner.errors import ExitCode
from provisioner.options import DEFAULT_PARALLEL, RunOptions
from provisioner.reconcile import DomainCommand, provision_domain
from provisioner.report import DomainReport, Result, worst
from provisioner.session import Progress, Session


def run(
    targets: Sequence[DomainTarget],
    settings: AzureSettings,
    options: RunOptions,
    *,
    dns_servers: Sequence[DnsServerAddress] = (),
    parallel: int = DEFAULT_PARALLEL,
    progress: Progress | None = None,
    command: DomainCommand = provision_domain,
) -> tuple[list[DomainReport], ExitCode]:
    """Run `command` (default: provision, or plan with `options.dry_run`) for every target."""
    # the SDK's retries (429 Retry-After, 5xx backoff) must not outlive the run's --timeout
    clients = Clients(replace(settings, retry_timeout=options.timeout))
    session = Session(
        dns=lambda sub: AzureDns(clients.dns(sub), sub),
        communication=lambda sub: AzureCommunication(clients.communication(sub), sub),
        checker=DnsChecker(dns_servers),
        progress=progress or (lambda t, line: None),
    )
    try:
        reports = run_in_session(session, targets, options, parallel=parallel, command=command)
    finally:
        clients.close()
    return reports, worst([r.exit_code for r in reports])


def run_in_session(
    session: Session,
    targets: Sequence[DomainTarget],
    options: RunOptions,
    *,
    parallel: int = DEFAULT_PARALLEL,
    command: DomainCommand = provision_domain,
) -> list[DomainReport]:
    """The pool: every target's report, in target order; on Ctrl-C the running domains stop at their next
    wait and report what they wrote, the others are reported as not started."""
    session.prepare(targets)
    deadline = session.clock() + options.timeout
    reports: list[DomainReport | None] = [None] * len(targets)
    try:
        # a pool even for one domain: Ctrl-C reaches the main thread, which stops the workers cleanly
        with ThreadPoolExecutor(max_workers=max(1, min(parallel, len(targets)))) as pool:
            futures = [pool.submit(command, session, t, options, deadline) for t in targets]
            try:
                for i, future in enumerate(futures):
                    reports[i] = future.result()
            except KeyboardInterrupt:
                session.stopped.set()  # running domains stop at their next wait and report what they wrote
                for future in futures:
                    future.cancel()
                for i, future in enumerate(futures):
                    if not future.cancelled():
                        reports[i] = future.result()
                raise
    except KeyboardInterrupt:
        for i, t in enumerate(targets):
            if reports[i] is None:
                reports[i] = DomainReport(
                    t,
                    result=Result.INTERRUPTED,
                    exit_code=ExitCode.INTERRUPTED,
                    message="interrupted (Ctrl-C) before this domain started: nothing written",
                )
    return [r for r in reports if r is not None]


__all__ = ["run", "run_in_session"]
