"""Authoritative DNS (UDP + TCP on one loopback port) serving the sandbox's public zones.

What is answered is decided in `dns_view`; this module is the transport: one dispatcher thread serves
UDP and accepts TCP connections, each TCP connection gets a thread (several queries per connection,
2-byte length framing). UDP answers too big for 512 bytes (or the query's EDNS size) go out truncated
(TC=1, question only) so that clients retry over TCP. Malformed packets are dropped (UDP) or end the
connection (TCP). Every query is answered from `state.dns_view(propagation_delay)`.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import selectors
import socket
import threading

import dns.exception
import dns.flags
import dns.message
import dns.rcode

from acs_sandbox.dns_view import DnsView
from acs_sandbox.state import SandboxState

log = logging.getLogger(__name__)

UDP_MIN_PAYLOAD = 512
TCP_MAX_MESSAGE = 65535
TCP_IDLE_TIMEOUT = 30.0
BIND_ATTEMPTS = 20


class DnsServer:
    def __init__(
        self, state: SandboxState, host: str = "127.0.0.1", port: int = 0, propagation_delay: float = 0.0
    ):
        self.state = state
        self.host = host
        self.port = port
        self.propagation_delay = propagation_delay
        self._family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._udp: socket.socket | None = None
        self._tcp: socket.socket | None = None
        self._wake: tuple[socket.socket, socket.socket] | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._view: DnsView | None = None

    # ---- lifecycle -------------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None:
            return
        self._udp, self._tcp = self._bind()
        self.port = self._udp.getsockname()[1]
        self._wake = socket.socketpair()
        self._thread = threading.Thread(target=self._dispatch, name=f"sandbox-dns-{self.port}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is None or self._wake is None:
            return
        with contextlib.suppress(OSError):
            self._wake[1].send(b"\0")
        self._thread.join(timeout=2)
        self._thread = None
        with self._lock:
            connections = list(self._connections)
        for conn in connections:  # wakes each connection thread's recv; the thread then closes it
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        for sock in (self._udp, self._tcp, *self._wake):
            if sock is not None:
                sock.close()
        self._udp = self._tcp = self._wake = None

    def __enter__(self) -> DnsServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _bind(self) -> tuple[socket.socket, socket.socket]:
        """UDP first (port 0 picks one), then TCP on the same port; with port 0, retry if TCP is taken."""
        for _ in range(BIND_ATTEMPTS):
            udp = socket.socket(self._family, socket.SOCK_DGRAM)
            tcp = socket.socket(self._family, socket.SOCK_STREAM)
            try:
                udp.bind((self.host, self.port))
                tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                tcp.bind((self.host, udp.getsockname()[1]))
                tcp.listen(64)
            except OSError as exc:
                udp.close()
                tcp.close()
                if self.port != 0 or exc.errno != errno.EADDRINUSE:
                    raise
                continue
            udp.setblocking(False)
            tcp.setblocking(False)
            return udp, tcp
        raise OSError(errno.EADDRINUSE, "no loopback port free for both UDP and TCP")

    # ---- serving ---------------------------------------------------------------------------------
    def _dispatch(self) -> None:
        assert self._udp is not None and self._tcp is not None and self._wake is not None
        with selectors.DefaultSelector() as selector:
            selector.register(self._udp, selectors.EVENT_READ)
            selector.register(self._tcp, selectors.EVENT_READ)
            selector.register(self._wake[0], selectors.EVENT_READ)
            while True:
                for key, _ in selector.select():
                    if key.fileobj is self._wake[0]:
                        return
                    if key.fileobj is self._udp:
                        self._serve_datagram(self._udp)
                    else:
                        self._accept(self._tcp)

    def _serve_datagram(self, udp: socket.socket) -> None:
        try:
            data, peer = udp.recvfrom(TCP_MAX_MESSAGE)
        except OSError:  # nothing there after all (or an ICMP error from an earlier reply)
            return
        reply = self.answer(data, udp=True)
        if reply is not None:
            with contextlib.suppress(OSError):
                udp.sendto(reply, peer)

    def _accept(self, tcp: socket.socket) -> None:
        try:
            conn, _ = tcp.accept()
        except OSError:
            return
        conn.setblocking(True)
        conn.settimeout(TCP_IDLE_TIMEOUT)
        with self._lock:
            self._connections.add(conn)
        threading.Thread(
            target=self._serve_connection, args=(conn,), name="sandbox-dns-tcp", daemon=True
        ).start()

    def _serve_connection(self, conn: socket.socket) -> None:
        try:
            with conn:
                while (header := _recv_exactly(conn, 2)) is not None:
                    data = _recv_exactly(conn, int.from_bytes(header, "big"))
                    reply = self.answer(data, udp=False) if data is not None else None
                    if reply is None:
                        return
                    conn.sendall(len(reply).to_bytes(2, "big") + reply)
        except OSError:
            pass
        finally:
            with self._lock:
                self._connections.discard(conn)

    # ---- one query -------------------------------------------------------------------------------
    def answer(self, wire: bytes, *, udp: bool) -> bytes | None:
        """The reply to one query in wire format, or None when the packet is not a query to answer."""
        try:
            query = dns.message.from_wire(wire)
        except Exception:  # whatever dnspython makes of garbage, it is not a query
            return None
        if query.flags & dns.flags.QR:
            return None
        limit = max(UDP_MIN_PAYLOAD, query.payload if query.edns >= 0 else 0) if udp else TCP_MAX_MESSAGE
        try:
            return _encode(self.current_view().respond(query), min(limit, TCP_MAX_MESSAGE))
        except Exception:  # a bug here must cost one answer, never the server thread
            log.exception("sandbox DNS failed to answer %s", query.question)
        try:
            response = dns.message.make_response(query)
            response.set_rcode(dns.rcode.SERVFAIL)
            return response.to_wire()
        except Exception:
            return None

    def current_view(self) -> DnsView:
        """The zones as they were `propagation_delay` seconds ago, indexed once per change."""
        snapshots = self.state.dns_view(self.propagation_delay)
        with self._lock:
            if self._view is None or not self._view.same_source(snapshots):
                self._view = DnsView.build(snapshots, self._view)
            return self._view


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


__all__ = ["DnsServer"]
