"""`acs-dns sandbox serve` (and `python -m acs_sandbox`): run the sandbox in the foreground until
SIGINT/SIGTERM."""

from __future__ import annotations

import json
import signal
import sys
import threading
from typing import TextIO

from acs_sandbox import Sandbox, SandboxOptions
from acs_sandbox.seed import WorldError

EXIT_BAD_WORLD = 2  # the project's "usage or configuration error: nothing started"


def serve(options: SandboxOptions, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> None:
    """Start, print one JSON line once both servers accept connections, serve until a signal.

    A seed file that cannot be read or applied is reported on `err` (every problem, with where it is) and
    exits 2 before anything listens."""
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        try:
            sandbox = Sandbox(options).start()
        except WorldError as exc:
            err.write(f"error: cannot seed the sandbox from {options.seed_file}: {exc}\n")
            err.flush()
            raise SystemExit(EXIT_BAD_WORLD) from None
        with sandbox:
            out.write(json.dumps(sandbox.info()) + "\n")
            out.flush()
            while not stop.wait(0.2):
                pass
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
