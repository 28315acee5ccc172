"""A small threaded HTTPS server that speaks Azure Resource Manager's conventions.

Routes are registered on a `Router` by the resource-provider modules (`zones`, `communication`).
`Hook`s run around every ARM request (latency, throttling, faults: see `realism`). Every request is
logged and counted per route; both are readable at `/_sandbox/requests` and `/_sandbox/counters`,
paths that real ARM never serves.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import ssl
import sys
import threading
import time
import traceback
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlsplit

ADMIN_PREFIX = "/_sandbox/"


@dataclass
class Request:
    method: str
    path: str  # raw path, without the query string
    query: dict[str, str]  # keys as sent; use `param()` for case-insensitive lookup
    headers: dict[str, str]  # keys lower-cased
    body: bytes
    base_url: str
    params: dict[str, str] = field(default_factory=dict)  # named groups of the matched route
    route: str = "unmatched"

    def param(self, name: str, default: str | None = None) -> str | None:
        low = name.lower()
        for key, value in self.query.items():
            if key.lower() == low:
                return value
        return default

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def json(self) -> Any:
        if not self.body:
            return None
        return json.loads(self.body)


@dataclass
class Response:
    status: int
    body: Any = None  # dict/list -> JSON; bytes -> as is; None -> empty body
    headers: dict[str, str] = field(default_factory=dict)


class DropConnection(Exception):
    """Raised by a hook to close the connection without any answer (a transient network fault)."""


def arm_error(status: int, code: str, message: str, *, headers: dict[str, str] | None = None) -> Response:
    """An ARM error body: `{"error": {"code", "message"}}`."""
    return Response(status, {"error": {"code": code, "message": message}}, dict(headers or {}))


Handler = Callable[[Request], Response]


class Hook(Protocol):
    def before(self, request: Request) -> Response | None:
        """Return a response to answer instead of the handler; raise DropConnection to drop."""

    def after(self, request: Request, response: Response) -> None:
        """Adjust the response (headers) before it is sent."""


class Router:
    def __init__(self) -> None:
        self._routes: list[tuple[str, re.Pattern[str], str, Handler]] = []

    def add(self, method: str, pattern: str, name: str, handler: Handler) -> None:
        """`pattern` is a regex over the path with named groups; matched case-insensitively, whole path."""
        self._routes.append((method.upper(), re.compile(pattern + r"/?\Z", re.IGNORECASE), name, handler))

    def match(self, request: Request) -> Handler | None:
        path_matched = False
        for method, regex, name, handler in self._routes:
            m = regex.match(request.path)
            if not m:
                continue
            path_matched = True
            if method == request.method:
                request.params = {k: v for k, v in m.groupdict().items() if v is not None}
                request.route = name
                return handler
        if path_matched:
            request.route = "method-not-allowed"
        return None


@dataclass
class LogEntry:
    time: float
    method: str
    path: str
    query: dict[str, str]
    route: str
    status: int  # 0 when the connection was dropped


class RequestLog:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.entries: list[LogEntry] = []
        self.counters: Counter[str] = Counter()
        self.statuses: Counter[int] = Counter()
        self.methods: Counter[str] = Counter()
        self.writes = 0  # PUT, PATCH and DELETE answered below 400

    def add(self, entry: LogEntry) -> None:
        with self._lock:
            self.entries.append(entry)
            self.counters[f"{entry.method} {entry.route}"] += 1
            self.statuses[entry.status] += 1
            self.methods[entry.method] += 1
            if entry.method in ("PUT", "PATCH", "DELETE") and entry.status < 400:
                self.writes += 1

    def reset(self) -> None:
        with self._lock:
            self.entries.clear()
            self.counters.clear()
            self.statuses.clear()
            self.methods.clear()
            self.writes = 0

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "total": len(self.entries),
                "routes": dict(self.counters),
                "statuses": {str(k): v for k, v in self.statuses.items()},
                "throttled": self.statuses.get(429, 0),
                "dropped": self.statuses.get(0, 0),
                "methods": dict(self.methods),
                "writes": self.writes,
            }

    def as_json(self) -> list[dict[str, Any]]:
        with self._lock:
            return [e.__dict__.copy() for e in self.entries]


def _json_bytes(body: Any) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def setup(self) -> None:
        # TLS handshake in the connection's own thread, not in accept()
        self.request = self.server.tls.wrap_socket(self.request, server_side=True)
        super().setup()

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""  # always read the body
        if len(body) < length:  # the client went away mid-request: a real server never acts on it
            self.close_connection = True
            return
        split = urlsplit(self.path)
        request = Request(
            method=self.command,
            path=split.path,
            query=dict(parse_qsl(split.query, keep_blank_values=True)),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
            base_url=self.server.base_url,
        )
        app = self.server.app
        try:
            response = app.handle(request)
        except DropConnection:
            app.log.add(LogEntry(time.time(), request.method, request.path, request.query, request.route, 0))
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        except Exception:  # a sandbox bug: answer as ARM does (500), log it, and show the traceback
            traceback.print_exc(file=sys.stderr)
            response = arm_error(
                500,
                "InternalServerError",
                "The server encountered an internal error. Please retry the request.",
            )
        if not request.path.startswith(ADMIN_PREFIX):
            app.log.add(
                LogEntry(
                    time.time(), request.method, request.path, request.query, request.route, response.status
                )
            )
        self._send(response)

    def _send(self, response: Response) -> None:
        if isinstance(response.body, bytes):
            payload = response.body
        elif response.body is None:
            payload = b""
        else:
            payload = _json_bytes(response.body)
        self.send_response(response.status)
        headers = {k.lower(): (k, v) for k, v in response.headers.items()}
        if payload and "content-type" not in headers:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        for _, (k, v) in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if payload and self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_PUT = do_PATCH = do_DELETE = do_POST = do_HEAD = _handle


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128
    tls: ssl.SSLContext
    base_url: str
    app: ArmApp

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up mid-request (killed, timed out) is normal here: no traceback. Anything
        else is a sandbox bug that would otherwise only show as a closed connection: print it."""
        error = sys.exc_info()[1]
        if isinstance(error, (ConnectionError, TimeoutError, ssl.SSLError)):
            return
        traceback.print_exc(file=sys.stderr)


class ArmApp:
    """Dispatch: admin paths, then anonymous paths (cloud metadata), then auth and api-version checks,
    hooks, the route handler."""

    def __init__(self, router: Router, hooks: list[Hook] | None = None) -> None:
        self.router = router
        self.hooks: list[Hook] = list(hooks or [])
        self.log = RequestLog()
        self.admin = Router()
        self.anonymous = Router()  # served without a token and without realism hooks, like ARM's metadata

    def handle(self, request: Request) -> Response:
        if request.path.startswith(ADMIN_PREFIX):
            handler = self.admin.match(request)
            if handler is None:
                return Response(404, {"error": {"code": "NotFound", "message": request.path}})
            return handler(request)
        handler = self.anonymous.match(request)
        if handler is not None:
            return self._finish(request, handler(request), hooks=False)
        handler = self.router.match(request)
        for hook in self.hooks:
            early = hook.before(request)
            if early is not None:
                return self._finish(request, early)
        response = self._dispatch(request, handler)
        return self._finish(request, response)

    def _dispatch(self, request: Request, handler: Handler | None) -> Response:
        auth = request.header("authorization") or ""
        if not auth.lower().startswith("bearer ") or not auth[7:].strip():
            return arm_error(
                401,
                "AuthenticationFailed",
                "Authentication failed. The 'Authorization' header is missing or not a bearer token.",
            )
        if handler is None:
            if request.route == "method-not-allowed":
                return arm_error(
                    405, "MethodNotAllowed", f"The requested method '{request.method}' is not allowed."
                )
            return arm_error(
                404,
                "InvalidResourceType",
                f"The resource type could not be found for the path '{request.path}'.",
            )
        if not request.param("api-version"):
            return arm_error(
                400,
                "MissingApiVersionParameter",
                "The api-version query parameter (?api-version=) is required for all requests.",
            )
        try:
            return handler(request)
        except json.JSONDecodeError as exc:
            return arm_error(400, "InvalidRequestContent", f"The request content was invalid: {exc}")

    def _finish(self, request: Request, response: Response, *, hooks: bool = True) -> Response:
        response.headers.setdefault("x-ms-request-id", str(uuid.uuid4()))
        cid = request.header("x-ms-client-request-id")
        if cid:
            response.headers.setdefault("x-ms-client-request-id", cid)
        for hook in self.hooks if hooks else ():
            hook.after(request, response)
        return response


class ArmServer:
    """The HTTPS listener. `start()` returns once it accepts connections."""

    def __init__(
        self, app: ArmApp, certfile: str, keyfile: str, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.app = app
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(certfile, keyfile)
        self._server = _Server((host, port), _Handler)
        self._server.tls = tls
        self._server.app = app
        self.host = host
        self.port = self._server.server_address[1]
        self.base_url = f"https://{host}:{self.port}"
        self._server.base_url = self.base_url
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True, name="sandbox-arm"
        )
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=2)
