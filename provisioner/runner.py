"""Runs many domains: builds the session from settings, runs domains on a bounded pool, collects reports."""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from provisioner.azure.clients import AzureSettings, Clients
from provisioner.azure.communication import AzureCommunication
from provisioner.azure.dns import AzureDns
from provisioner.config import DomainTarget
from provisioner.dnscheck import DnsChecker, DnsServerAddress
from provisioner.errors import ExitCode
from provisioner.reconcile import DomainReport, Progress, Result, RunOptions, Session, run_domain, worst

DEFAULT_PARALLEL = 16


def run(
    targets: Sequence[DomainTarget],
    settings: AzureSettings,
    options: RunOptions,
    *,
    dns_servers: Sequence[DnsServerAddress] = (),
    parallel: int = DEFAULT_PARALLEL,
    progress: Progress | None = None,
) -> tuple[list[DomainReport], ExitCode]:
    # the SDK's retries (429 Retry-After, 5xx backoff) must not outlive the run's --timeout
    clients = Clients(replace(settings, retry_timeout=options.timeout))
    session = Session(
        dns=lambda sub: AzureDns(clients.dns(sub), sub),
        communication=lambda sub: AzureCommunication(clients.communication(sub), sub),
        checker=DnsChecker(dns_servers),
        progress=progress or (lambda t, line: None),
    )
    session.prepare(targets)
    deadline = time.monotonic() + options.timeout
    reports: list[DomainReport | None] = [None] * len(targets)
    try:
        # a pool even for one domain: Ctrl-C reaches the main thread, which stops the workers cleanly
        with ThreadPoolExecutor(max_workers=max(1, min(parallel, len(targets)))) as pool:
            futures = [pool.submit(run_domain, session, t, options, deadline) for t in targets]
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
    finally:
        clients.close()
    done = [r for r in reports if r is not None]
    return done, worst([r.exit_code for r in done])
