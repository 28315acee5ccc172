"""Live progress on stderr: rich (colour, a spinner with the latest step) on a terminal, plain lines otherwise.

stdout is left to the result (text or the JSON document), so pipelines can capture it cleanly.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from provisioner.config import DomainTarget
from provisioner.session import Progress

_STYLE = {
    "create": "green",
    "update": "yellow",
    "wrote": "green",
    "delete": "red",
    "deleted": "red",
    "started": "cyan",
    "noop": "dim",
}


@contextmanager
def make_progress(quiet: bool, domains: int) -> Iterator[Progress]:
    lock = threading.Lock()
    if quiet and not sys.stderr.isatty():

        def silent(target: DomainTarget, line: str) -> None:
            pass

        yield silent
        return
    if not sys.stderr.isatty():

        def plain(target: DomainTarget, line: str) -> None:
            with lock:
                print(f"{target.domain}: {line}", file=sys.stderr, flush=True)

        yield plain
        return

    from rich.console import Console
    from rich.markup import escape

    console = Console(stderr=True)
    with console.status(f"acs-dns: {domains} domain(s)") as status:

        def live(target: DomainTarget, line: str) -> None:
            word = line.split(" ", 1)[0]
            style = _STYLE.get(word, "")
            if "Verified" in line:
                style = "bold green"
            elif "Failed" in line or line.startswith(
                ("refused", "error", "timed-out", "verification-failed")
            ):
                style = "bold red"
            text = f"[bold]{escape(target.domain)}[/bold] {escape(line)}"
            with lock:
                console.print(f"[{style}]{text}[/{style}]" if style else text)
                status.update(f"{target.domain}: {line}")

        yield live
