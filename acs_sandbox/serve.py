"""`acs-dns sandbox serve`: run the sandbox in the foreground until SIGINT/SIGTERM."""

from __future__ import annotations

import json
import signal
import sys
import threading
from typing import TextIO

from acs_sandbox import Sandbox, SandboxOptions


def serve(options: SandboxOptions, out: TextIO = sys.stdout) -> None:
    """Start, print one JSON line once both servers accept connections, serve until a signal."""
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        with Sandbox(options) as sandbox:
            out.write(json.dumps(sandbox.info()) + "\n")
            out.flush()
            while not stop.wait(0.2):
                pass
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
