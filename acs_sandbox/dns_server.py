"""The sandbox's DNS (UDP + TCP): a resolver and every zone's authoritative name servers, on loopback.

Addresses, all on one port:
- `127.0.0.1` (the `dns_server` of the ready line): RD=1 queries are answered as a public resolver would
  (optionally from a TTL cache: `ResolverCache`), RD=0 queries as Azure's name servers would (see
  `dns_view`).
- `127.0.0.N` (N = 2, 3, ...): one address per name-server host name of the served zones (Azure's
  `ns1-0X.azure-dns.com`, an external zone's `ns1.example-registrar.test`), handed out in the order the
  hosts first appear and never reused. The resolver answers the host's A query with it, and a query sent
  there is answered as that one server would (authoritative for its zones only, RD ignored). Linux routes
  all of 127/8 to the loopback interface; the server binds each address when it first hands it out.

Each name server can be made to disagree with the others (`NameServerSettings`): `lag` serves the zones
that many seconds further in the past than `propagation_delay`; `stale` freezes what it serves at the
moment it was set (it never sees a later change); `answering=False` drops every query (a dead server;
when every server of a zone is dead the resolver answers SERVFAIL for it). The
resolver address can be silenced the same way, and `blackhole()` opens a separate port that accepts
queries and never answers (a resolver that does not answer). Those resolver knobs model the user's
resolver: the sandbox's own services (verification) ask `service_resolver()`, a separate port that
answers like the resolver without cache or silence.

Transport: one dispatcher thread serves UDP and accepts TCP; each TCP connection gets a thread (several
queries per connection, 2-byte length framing). UDP answers too big for 512 bytes (or the query's EDNS
size) go out truncated (TC=1, question only) so that clients retry over TCP. Malformed packets are dropped
(UDP) or end the connection (TCP).
"""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import logging
import selectors
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode

from acs_sandbox.dns_view import DnsView, Outcome
from acs_sandbox.resolver_cache import ResolverCache
from acs_sandbox.state import SandboxState, ZoneSnapshot

log = logging.getLogger(__name__)

UDP_MIN_PAYLOAD = 512
TCP_MAX_MESSAGE = 65535
MAX_CACHED_REPLIES = 4096  # per view (a view lasts until the next change); a full cache starts over
TCP_IDLE_TIMEOUT = 30.0
BIND_ATTEMPTS = 20
FIRST_NAME_SERVER_ADDRESS = ipaddress.IPv4Address("127.0.0.2")
RESOLVER = ""  # the settings key of the resolver address


@dataclass
class NameServerSettings:
    """How one name server (or, under RESOLVER, the resolver address) misbehaves; defaults: not at all."""

    lag: float = 0.0  # seconds behind the others, on top of propagation_delay
    stale_since: float | None = None  # serves the zones as they were then (state clock), if set
    answering: bool = True


@dataclass
class _Endpoint:
    address: str
    server: str | None  # the name-server host it plays, None for the resolver address
    silent: bool = False  # the blackhole: never answers
    internal: bool = False  # the service's own resolver (verification): no cache, never silenced
    sockets: list[socket.socket] = field(default_factory=list)


def _norm(host: str) -> str:
    return host.rstrip(".").lower()


class DnsServer:
    def __init__(
        self, state: SandboxState, host: str = "127.0.0.1", port: int = 0, propagation_delay: float = 0.0
    ):
        self.state = state
        self.host = host
        self.port = port
        self.propagation_delay = propagation_delay
        self.cache = ResolverCache()
        self._family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._endpoints: dict[socket.socket, _Endpoint] = {}
        self._pending: list[socket.socket] = []  # bound, not yet watched by the dispatcher
        self._wake: tuple[socket.socket, socket.socket] | None = None
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._views: dict[str, DnsView] = {}  # by name-server host ("" = the resolver address)
        self._addresses: dict[str, str] = {}  # name-server host -> address (only grows)
        self._unbound: set[str] = set()  # addresses that could not be bound
        self._settings: dict[str, NameServerSettings] = {}
        self._extra_ports: dict[str, int] = {}  # "blackhole", "service" -> port

    # ---- lifecycle -------------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None:
            return
        udp, tcp = self._bind(self.host, self.port)
        self.port = udp.getsockname()[1]
        self._watch(_Endpoint(self.host, None), udp, tcp)
        self._wake = socket.socketpair()
        self._thread = threading.Thread(target=self._dispatch, name=f"sandbox-dns-{self.port}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is None or self._wake is None:
            return
        self._stopping = True
        with contextlib.suppress(OSError):
            self._wake[1].send(b"\0")
        self._thread.join(timeout=2)
        self._thread = None
        with self._lock:
            connections = list(self._connections)
            sockets = list(self._endpoints)
            self._endpoints.clear()
            self._pending.clear()
        for conn in connections:  # wakes each connection thread's recv; the thread then closes it
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        for sock in (*sockets, *self._wake):
            sock.close()
        self._wake = None

    def __enter__(self) -> DnsServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _bind(self, host: str, port: int) -> tuple[socket.socket, socket.socket]:
        """UDP first (port 0 picks one), then TCP on the same port; with port 0, retry if TCP is taken."""
        for _ in range(BIND_ATTEMPTS):
            udp = socket.socket(self._family, socket.SOCK_DGRAM)
            tcp = socket.socket(self._family, socket.SOCK_STREAM)
            try:
                udp.bind((host, port))
                tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                tcp.bind((host, udp.getsockname()[1]))
                tcp.listen(64)
            except OSError as exc:
                udp.close()
                tcp.close()
                if port != 0 or exc.errno != errno.EADDRINUSE:
                    raise
                continue
            udp.setblocking(False)
            tcp.setblocking(False)
            return udp, tcp
        raise OSError(errno.EADDRINUSE, "no loopback port free for both UDP and TCP")

    def _watch(self, endpoint: _Endpoint, *sockets: socket.socket) -> None:
        """Serve these bound sockets: at once before start, else through the dispatcher."""
        with self._lock:
            endpoint.sockets.extend(sockets)
            for sock in sockets:
                self._endpoints[sock] = endpoint
            self._pending.extend(sockets)
        if self._wake is not None:
            with contextlib.suppress(OSError):
                self._wake[1].send(b"+")

    # ---- name servers ----------------------------------------------------------------------------
    @property
    def name_server_addresses(self) -> dict[str, str]:
        """Host name (lower case, no trailing dot) -> the loopback address it is served on."""
        with self._lock:
            return dict(self._addresses)

    def address_of(self, host: str) -> str | None:
        return self.name_server_addresses.get(_norm(host))

    def _assign(self, hosts: set[str]) -> None:
        """Give each new host an address and bind it (same port). Only for an IPv4 loopback server."""
        if self.host != "127.0.0.1":
            return
        with self._lock:
            new = sorted(h for h in hosts if h not in self._addresses)
            for host in new:
                self._addresses[host] = str(FIRST_NAME_SERVER_ADDRESS + len(self._addresses))
        for host in new:
            address = self._addresses[host]
            try:
                udp, tcp = self._bind(address, self.port)
            except OSError as exc:
                log.warning("sandbox DNS cannot serve %s on %s:%s: %s", host, address, self.port, exc)
                self._unbound.add(address)
                continue
            self._watch(_Endpoint(address, host), udp, tcp)

    def settings(self, host: str = RESOLVER) -> NameServerSettings:
        with self._lock:
            return self._settings.setdefault(_norm(host), NameServerSettings())

    def configure(
        self,
        host: str = RESOLVER,
        *,
        lag: float | None = None,
        stale: bool | None = None,
        answering: bool | None = None,
    ) -> NameServerSettings:
        """Change how one name server (or the resolver, host RESOLVER) behaves; returns its settings."""
        settings = self.settings(host)
        with self._lock:
            if lag is not None:
                settings.lag = max(0.0, float(lag))
            if stale is not None:
                settings.stale_since = self.state.clock() if stale else None
            if answering is not None:
                settings.answering = answering
            lags = [s.lag for s in self._settings.values()]
            frozen = [s.stale_since for s in self._settings.values() if s.stale_since is not None]
        with self.state.lock:  # keep the history the lagging or stale servers still serve
            self.state.journal_horizon = self.propagation_delay + max(lags, default=0.0)
            self.state.retain_since = min(frozen, default=None)
        return settings

    def _snapshots(self, host: str) -> list[ZoneSnapshot]:
        """What `host` (RESOLVER: the resolver address) serves: the zones `propagation_delay` + its lag
        seconds ago, or as they were when it went stale if that is earlier."""
        with self._lock:
            settings = self._settings.get(host) or NameServerSettings()
        return self.state.dns_view(self.propagation_delay + settings.lag, as_of=settings.stale_since)

    # ---- extra endpoints -------------------------------------------------------------------------
    def blackhole(self) -> int:
        """The port of a loopback endpoint (UDP+TCP) that accepts queries and never answers."""
        return self._extra("blackhole", silent=True)

    def service_resolver(self) -> int:
        """The port of the resolver the sandbox's own services use (verification): what the internet
        sees, unaffected by the resolver knobs (cache, silence) that model the user's resolver."""
        return self._extra("service", internal=True)

    def _extra(self, name: str, *, silent: bool = False, internal: bool = False) -> int:
        with self._lock:
            port = self._extra_ports.get(name)
            if port is not None:
                return port
            udp, tcp = self._bind(self.host, 0)
            port = self._extra_ports[name] = udp.getsockname()[1]
        self._watch(_Endpoint(self.host, None, silent=silent, internal=internal), udp, tcp)
        return port

    # ---- serving ---------------------------------------------------------------------------------
    def _dispatch(self) -> None:
        """Serve every watched socket until stopped. Events of one round are handled before a wake-up,
        so a connection that arrived before stop() is accepted (and then closed cleanly), not reset."""
        assert self._wake is not None
        with selectors.DefaultSelector() as selector:
            selector.register(self._wake[0], selectors.EVENT_READ)
            while True:
                with self._lock:
                    pending, self._pending = self._pending, []
                for sock in pending:
                    selector.register(sock, selectors.EVENT_READ)
                woken = False
                for key, _ in selector.select():
                    sock = key.fileobj
                    if sock is self._wake[0]:
                        woken = True
                        continue
                    assert isinstance(sock, socket.socket)
                    endpoint = self._endpoints.get(sock)
                    if endpoint is None:
                        continue
                    if sock.type == socket.SOCK_DGRAM:
                        self._serve_datagram(sock, endpoint)
                    else:
                        self._accept(sock, endpoint)
                if woken:
                    with contextlib.suppress(OSError):
                        self._wake[0].recv(512)
                    if self._stopping:
                        return

    def _serve_datagram(self, udp: socket.socket, endpoint: _Endpoint) -> None:
        try:
            data, peer = udp.recvfrom(TCP_MAX_MESSAGE)
        except OSError:  # nothing there after all (or an ICMP error from an earlier reply)
            return
        reply = self.answer(data, udp=True, endpoint=endpoint)
        if reply is not None:
            with contextlib.suppress(OSError):
                udp.sendto(reply, peer)

    def _accept(self, tcp: socket.socket, endpoint: _Endpoint) -> None:
        try:
            conn, _ = tcp.accept()
        except OSError:
            return
        conn.setblocking(True)
        conn.settimeout(TCP_IDLE_TIMEOUT)
        with self._lock:
            self._connections.add(conn)
        threading.Thread(
            target=self._serve_connection, args=(conn, endpoint), name="sandbox-dns-tcp", daemon=True
        ).start()

    def _serve_connection(self, conn: socket.socket, endpoint: _Endpoint) -> None:
        try:
            with conn:
                while (header := _recv_exactly(conn, 2)) is not None:
                    data = _recv_exactly(conn, int.from_bytes(header, "big"))
                    if data is None:
                        return
                    reply = self.answer(data, udp=False, endpoint=endpoint)
                    if reply is None:
                        if self._silenced(endpoint):
                            continue  # read on, answer nothing, until the client gives up
                        return
                    conn.sendall(len(reply).to_bytes(2, "big") + reply)
        except OSError:
            pass
        finally:
            with self._lock:
                self._connections.discard(conn)

    def _silenced(self, endpoint: _Endpoint) -> bool:
        if endpoint.silent:
            return True
        if endpoint.internal:
            return False
        with self._lock:
            settings = self._settings.get(endpoint.server or RESOLVER)
        return settings is not None and not settings.answering

    # ---- one query -------------------------------------------------------------------------------
    def answer(self, wire: bytes, *, udp: bool, endpoint: _Endpoint | None = None) -> bytes | None:
        """The reply to one query in wire format, or None when the packet is not a query to answer (or
        this endpoint does not answer).

        A name server's reply is a function of the view, the zones the server serves in it, the transport,
        the name-server addresses the view knows (they only grow) and the query's bytes after its ID (the
        question as written, flags, EDNS). Diagnosis asks each name the same way at each of a zone's name
        servers, and verification asks the resolver the same names on every poll: one view renders such a
        reply once, and every asker gets it with its own ID. The resolver's replies are kept the same way
        (with the name servers that do not answer in the key) unless its cache is on: then they also
        depend on the cache and the time, and each is rendered."""
        endpoint = endpoint or _Endpoint(self.host, None)
        if self._silenced(endpoint):
            return None
        dead = self._not_answering() if endpoint.server is None else frozenset()
        view = self.current_view(endpoint.server)
        key = self._reply_key(view, endpoint, dead, udp, wire)
        reply = view.replies.get(key) if key is not None else None
        if reply is not None:  # only a query that was answered before has a reply stored
            return wire[:2] + reply[2:]
        try:
            query = dns.message.from_wire(wire)
        except Exception:  # whatever dnspython makes of garbage, it is not a query
            return None
        if query.flags & dns.flags.QR:
            return None
        limit = max(UDP_MIN_PAYLOAD, query.payload if query.edns >= 0 else 0) if udp else TCP_MAX_MESSAGE
        try:
            resolve = self._resolver(view, endpoint, dead) if endpoint.server is None else None
            reply = _encode(view.respond(query, endpoint.server, resolve), min(limit, TCP_MAX_MESSAGE))
            if key is not None:
                if len(view.replies) >= MAX_CACHED_REPLIES:
                    view.replies.clear()
                view.replies[key] = reply
            return reply
        except Exception:  # a bug here must cost one answer, never the server thread
            log.exception("sandbox DNS failed to answer %s", query.question)
        try:
            response = dns.message.make_response(query)
            response.set_rcode(dns.rcode.SERVFAIL)
            return response.to_wire()
        except Exception:
            return None

    def _not_answering(self) -> frozenset[str]:
        """The name servers told to stop answering (the resolver gets SERVFAIL for their zones)."""
        with self._lock:
            return frozenset(h for h, s in self._settings.items() if h != RESOLVER and not s.answering)

    def _reply_key(
        self, view: DnsView, endpoint: _Endpoint, dead: frozenset[str], udp: bool, wire: bytes
    ) -> tuple[object, ...] | None:
        """What a reply in `view` depends on besides the view, or None when it depends on more: the
        resolver's cache (when on) and the time."""
        if endpoint.server is not None:
            scope: object = view.served_by(endpoint.server)
        elif self.cache.enabled and not endpoint.internal:
            return None
        else:
            scope = (RESOLVER, dead)
        return (scope, udp, len(view.host_addresses), wire[2:])

    def _resolver(
        self, view: DnsView, endpoint: _Endpoint, dead: frozenset[str]
    ) -> Callable[[dns.name.Name, int, bool, str | None], Outcome]:
        """`view.resolve` as the resolver at `endpoint` does it: zones whose name servers (`dead`) all
        stopped answering fail (SERVFAIL), and, unless it is the service's resolver, behind the cache."""
        use_cache = self.cache.enabled and not endpoint.internal

        def resolve(qname: dns.name.Name, qtype: int, recursive: bool, server: str | None) -> Outcome:
            if not recursive:
                return view.resolve(qname, qtype, recursive, server)
            cached = self.cache.lookup(qname, qtype) if use_cache else None
            if cached is not None:
                return cached
            outcome = view.resolve(qname, qtype, recursive, server, unreachable=dead)
            if use_cache:
                self.cache.store(qname, qtype, outcome)
            return outcome

        return resolve

    def current_view(self, server: str | None = None) -> DnsView:
        """The zones as `server` (default: the resolver address) serves them now, indexed once per change.
        Every name-server host of the view gets its address (and socket) before the view is used."""
        key = server or RESOLVER
        snapshots = self._snapshots(key)
        with self._lock:
            own, shared = self._views.get(key), self._views.get(RESOLVER)
            for ready in (own, shared):  # name servers without lag serve what the resolver does
                if ready is not None and ready.same_source(snapshots):
                    self._views[key] = ready
                    return ready
            previous = own or shared
        self._assign(
            {_norm(h) for snap in snapshots if snap.zone_type.lower() == "public" for h in snap.name_servers}
        )
        view = DnsView.build(snapshots, previous, self._addresses)
        with self._lock:
            self._views[key] = view
        return view

    def describe(self) -> dict[str, object]:
        """The name servers, their addresses and settings, the resolver and the cache (for /_sandbox/dns)."""
        self.current_view()
        with self._lock:
            servers = {
                host: {
                    "address": address,
                    "bound": address not in self._unbound,
                    **settings_json(self._settings.get(host)),
                }
                for host, address in sorted(self._addresses.items())
            }
            resolver = settings_json(self._settings.get(RESOLVER))
        return {
            "resolver": {"address": f"{self.host}:{self.port}", **resolver},
            "port": self.port,
            "name_servers": servers,
            "cache": {"enabled": self.cache.enabled, "entries": len(self.cache)},
            "blackhole": f"{self.host}:{self._extra_ports['blackhole']}"
            if "blackhole" in self._extra_ports
            else None,
        }


def settings_json(settings: NameServerSettings | None) -> dict[str, object]:
    settings = settings or NameServerSettings()
    return {"lag": settings.lag, "stale": settings.stale_since is not None, "answering": settings.answering}


def _encode(response: dns.message.Message, limit: int) -> bytes:
    """The response in at most `limit` bytes; if it does not fit: TC=1 with the question only."""
    try:
        return response.to_wire(max_size=limit)
    except dns.exception.TooBig:
        response.answer, response.authority, response.additional = [], [], []
        response.flags |= dns.flags.TC
        return response.to_wire(max_size=limit)


def _recv_exactly(conn: socket.socket, size: int) -> bytes | None:
    """`size` bytes from the stream, or None if it ends first."""
    chunks: list[bytes] = []
    while size > 0:
        chunk = conn.recv(size)
        if not chunk:
            return None
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


__all__ = ["RESOLVER", "DnsServer", "NameServerSettings", "settings_json"]
