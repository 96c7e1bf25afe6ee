"""The HTTP plumbing of `oio namespace serve`: listening services, connections, bodies.

Every service (the proxy, each rawx) is a threading HTTP server of its own, with
the same defences, because `namespace serve` has no authentication (neither has
OpenIO's proxy) and must survive a careless or hostile client on its address:

- at most `Limits.max_connections` connections per service: past that, idle
  keep-alive connections are closed to make room, then new ones get a 503;
- deadlines on every phase that waits for the client (the request line and
  headers, an idle keep-alive connection, a body, a reply the client does not
  read): a watchdog thread cuts a connection past its deadline, and no single
  read or write waits longer than `Limits.io_timeout`;
- request bodies are framed strictly (one valid Content-Length, or chunked
  transfer encoding with valid chunk sizes): anything else is a 400 and the
  connection is closed, as its remaining bytes cannot be trusted.

Metadata bodies are read whole but bounded (`max_meta_body`, else 413); chunk
bodies are only ever streamed, one buffer at a time (see serve_rawx).
"""

from __future__ import annotations

import json
import logging
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import quote

LOG = logging.getLogger("oiocli.serve")

MiB = 1024 * 1024
IO_SIZE = MiB  # buffer of a streamed body
_CONTENT_LENGTH = re.compile(r"[0-9]{1,19}")
_CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,15}")
MAX_TRAILERS = 64
MAX_LINE = 8192


@dataclass(frozen=True)
class Limits:
    """What one client may take of a service (defaults suit a development endpoint)."""

    # Connections served at once by one service (the proxy, or one rawx).
    max_connections: int = 64
    # From the first byte of a request to the end of its headers.
    header_timeout: float = 30.0
    # A keep-alive connection waiting for its next request.
    idle_timeout: float = 60.0
    # Any single read or write on a connection.
    io_timeout: float = 60.0
    # Reading a metadata request body (bounded by max_meta_body).
    meta_body_timeout: float = 60.0
    # Reading or sending a chunk body: OpenIO's rawx allows a request 900 s.
    chunk_body_timeout: float = 900.0
    # Largest metadata request body (a content/create of ~55,000 chunk records).
    max_meta_body: int = 8 * MiB
    # Largest chunk body, in chunk sizes of the namespace (a chunk is at most one).
    max_chunk_body_factor: int = 4


class BodyError(Exception):
    """The request body ended early or is badly framed: the connection is unusable."""


class FramingError(Exception):
    """A request whose body cannot be delimited: answered with `status`, then closed."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class _Conn:
    """One accepted connection, as the watchdog and the connection cap see it."""

    __slots__ = ("sock", "thread", "deadline", "busy", "closing")

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self.sock = sock
        self.thread: threading.Thread | None = None
        self.deadline: float | None = deadline
        self.busy = False  # handling a request, not waiting for the next one
        self.closing = False  # cut by the watchdog or to make room


def _cut(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


class _Server(ThreadingHTTPServer):
    """A threading HTTP server with a connection cap and a deadline watchdog."""

    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], handler: type, service: _Service) -> None:
        self.service = service
        self.limits: Limits = service.limits
        self._conns: dict[Any, _Conn] = {}
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._watching = threading.Event()
        self.refused = 0  # connections turned away at the cap (for tests and logs)
        super().__init__(address, handler)

    # ---------------------------------------------------------- admission
    def process_request(self, request: Any, client_address: Any) -> None:
        """Admit a connection (serve_forever's thread), or turn it away at the cap."""
        limits = self.limits
        with self._lock:
            live = [c for c in self._conns.values() if not c.closing]
            if len(live) >= limits.max_connections:
                # Room is made by closing keep-alive connections that wait for
                # nothing; a busy one is never cut to admit another.
                for conn in live:
                    if not conn.busy:
                        conn.closing = True
                        _cut(conn.sock)
                        break
                else:
                    self.refused += 1
                    conn = None
            if len(live) < limits.max_connections or conn is not None:
                conn = _Conn(request, time.monotonic() + limits.header_timeout)
                self._conns[request] = conn
            else:
                conn = None
        if conn is None:
            LOG.warning(
                "%s: %d connections open, refusing one from %s",
                self.service.label,
                limits.max_connections,
                client_address[0],
            )
            _refuse(request)
            self.shutdown_request(request)
            return
        thread = threading.Thread(
            target=self.process_request_thread,
            args=(request, client_address),
            name=f"oio-serve-{self.service.label}-conn",
            daemon=True,
        )
        conn.thread = thread
        thread.start()

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._idle:
                self._conns.pop(request, None)
                self._idle.notify_all()

    def conn_of(self, sock: Any) -> _Conn | None:
        return self._conns.get(sock)

    def set_phase(self, sock: Any, busy: bool, timeout: float | None) -> None:
        """What a connection waits for now: a deadline `timeout` s away, or none."""
        conn = self._conns.get(sock)
        if conn is None:
            return
        with self._idle:
            conn.busy = busy
            conn.deadline = None if timeout is None else time.monotonic() + timeout
            if not busy:
                self._idle.notify_all()

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client gone or a connection cut on stop: nothing a caller can act on.
        LOG.debug("Connection from %s ended with an error", client_address, exc_info=True)

    # ----------------------------------------------------------- watchdog
    def watch(self, stop: threading.Event) -> None:
        """Cut connections past their deadline until `stop` is set."""
        tick = max(0.05, min(0.5, self.limits.header_timeout / 4, self.limits.idle_timeout / 4))
        while not stop.wait(tick):
            now = time.monotonic()
            with self._lock:
                late = [
                    c
                    for c in self._conns.values()
                    if c.deadline is not None and c.deadline < now and not c.closing
                ]
                for conn in late:
                    conn.closing = True
            for conn in late:
                LOG.debug("%s: connection past its deadline, closed", self.service.label)
                _cut(conn.sock)

    # ----------------------------------------------------------- stopping
    def wait_idle(self, timeout: float = 60.0) -> None:
        me = threading.current_thread()
        with self._idle:
            self._idle.wait_for(
                lambda: not any(c.busy and c.thread is not me for c in self._conns.values()),
                timeout,
            )

    def cut_connections(self) -> list[threading.Thread]:
        with self._lock:
            conns = list(self._conns.values())
        for conn in conns:
            conn.closing = True
            _cut(conn.sock)
        return [c.thread for c in conns if c.thread is not None]


def _refuse(sock: socket.socket) -> None:
    """A 503 for a connection past the cap, written without waiting on the client."""
    body = b'{"status":503,"message":"Too many connections, try again"}'
    head = (
        "HTTP/1.1 503 Service Unavailable\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Retry-After: 1\r\nConnection: close\r\n\r\n"
    ).encode()
    try:
        sock.settimeout(1.0)
        sock.sendall(head + body)
    except OSError:
        pass


class _Service:
    """One listening socket served by its own thread; can be stopped and restarted."""

    handler_class: type[BaseHTTPRequestHandler]
    label = "service"

    def __init__(self, host: str, port: int = 0, limits: Limits | None = None) -> None:
        self.host = host
        self.port = port
        self.limits = limits or Limits()
        self._server: _Server | None = None
        self._last_server: _Server | None = None
        self._threads: list[threading.Thread] = []
        self._stop_watch = threading.Event()
        self._lock = threading.Lock()
        self.stopped = threading.Event()
        self.stopped.set()

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def addr(self) -> str:
        return f"{advertised_host(self.host)}:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.addr}"

    def connections(self) -> tuple[int, int]:
        """(connections open, of which handling a request), for tests and diagnostics."""
        server = self._server
        if server is None:
            return 0, 0
        with server._lock:
            live = [c for c in server._conns.values() if not c.closing]
            return len(live), sum(1 for c in live if c.busy)

    @property
    def refused(self) -> int:
        server = self._server or self._last_server
        return server.refused if server is not None else 0

    def start(self) -> None:
        with self._lock:
            if self._server is not None:
                return
            server = _Server((self.host, self.port), self.handler_class, self)
            self.port = server.server_address[1]
            self.stopped.clear()
            self._stop_watch = threading.Event()
            serving = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"oio-serve-{self.label}-{self.port}",
                daemon=True,
            )
            watching = threading.Thread(
                target=server.watch,
                args=(self._stop_watch,),
                name=f"oio-serve-{self.label}-{self.port}-watchdog",
                daemon=True,
            )
            serving.start()
            watching.start()
            self._server, self._threads = server, [serving, watching]

    def stop(self, wait: bool = True) -> None:
        """Stop listening and cut every connection, as if the service had died.

        May be called from one of the service's own request threads (a test's
        fault hook): that thread is not waited for.
        """
        with self._lock:
            server, self._server = self._server, None
            if server is None:
                return
            self._last_server = server
            self.stopped.set()
            self._stop_watch.set()
            server.shutdown()
            server.server_close()
            threads = server.cut_connections()
        if wait:
            me = threading.current_thread()
            for thread in threads:
                if thread is not me:
                    thread.join(30)

    def wait_idle(self) -> None:
        """Wait for the requests in progress (other than the caller's) to end.

        Works on a stopped service too: a request cut by `stop` may still be
        cleaning up (a partial chunk file is removed by its own thread).
        """
        server = self._server or self._last_server
        if server is not None:
            server.wait_idle()


def advertised_host(host: str) -> str:
    """The address clients are told to use (a wildcard bind is reached on loopback)."""
    return "127.0.0.1" if host in ("", "0.0.0.0", "::") else host


def is_loopback(host: str) -> bool:
    """Whether listening on `host` keeps the service to this machine."""
    import ipaddress

    if host in ("localhost",):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "oiocli-serve"
    sys_version = ""

    def setup(self) -> None:
        # no read or write waits longer (socketserver reads it per connection)
        self.timeout = self.limits.io_timeout  # type: ignore[misc]
        super().setup()
        # Headers and a small body go out in two writes: without NODELAY, Nagle
        # and the client's delayed ACK would add ~40 ms to every request.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._first = True

    @property
    def service(self) -> Any:
        return self.server.service  # type: ignore[attr-defined]

    @property
    def limits(self) -> Limits:
        return self.server.limits  # type: ignore[attr-defined]

    def phase(self, busy: bool, timeout: float | None) -> None:
        self.server.set_phase(self.connection, busy, timeout)  # type: ignore[attr-defined]

    def handle_one_request(self) -> None:
        # Waiting for a request line: a new connection has header_timeout to
        # send its first request, a kept-alive one idle_timeout for the next.
        if not self._first:
            self.phase(False, self.limits.idle_timeout)
        self._first = False
        try:
            super().handle_one_request()
        finally:
            self.phase(False, self.limits.idle_timeout)

    def parse_request(self) -> bool:
        # The request line is in; the headers have header_timeout to follow.
        self.phase(True, self.limits.header_timeout)
        ok = super().parse_request()
        self.phase(True, None)  # the request is ours now: no deadline while working
        return ok

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        LOG.debug("%s %s: " + format, self.service.label, self.client_address[0], *args)

    def reply(
        self,
        status: int,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
        content_type: str | None = None,
    ) -> None:
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        if self.close_connection:
            # Said explicitly, so that the client does not reuse this connection.
            self.send_header("Connection", "close")
        if content_type and body:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)

    # ------------------------------------------------------------- bodies
    def body_length(self) -> int | None:
        """The request body's length, None when chunked; FramingError when unclear.

        Framing is strict, as a request smuggled past a lenient parser would be
        read as the next request: one Transfer-Encoding, `chunked` only; or one
        Content-Length of ASCII digits; never both.
        """
        encodings = self.headers.get_all("Transfer-Encoding") or []
        lengths = self.headers.get_all("Content-Length") or []
        if encodings:
            codings = [c.strip().lower() for value in encodings for c in value.split(",")]
            if codings != ["chunked"]:
                raise FramingError(501, f"Unsupported Transfer-Encoding {', '.join(codings)!r}")
            if lengths:
                raise FramingError(400, "Both Transfer-Encoding and Content-Length given")
            return None
        if not lengths:
            return 0
        values = {v.strip() for value in lengths for v in value.split(",")}
        if len(values) != 1:
            raise FramingError(400, "Conflicting Content-Length headers")
        (value,) = values
        if not _CONTENT_LENGTH.fullmatch(value):
            raise FramingError(400, f"Invalid Content-Length {value[:40]!r}")
        return int(value)

    def body_pieces(self, buf: bytearray, limit: int | None, timeout: float) -> Iterator[Any]:
        """Yield the request body piece by piece (views of `buf`), framing checked.

        Past `limit` bytes: FramingError(413). The whole body must arrive within
        `timeout` s (the watchdog cuts it otherwise: BodyError).
        """
        length = self.body_length()
        if length is not None and limit is not None and length > limit:
            raise FramingError(413, f"Request body of {length} bytes, at most {limit} accepted")
        self._trailers = None
        self.phase(True, timeout)
        received = 0
        try:
            if length is None:
                pieces = read_chunked(self.rfile, buf, self._trailers_sink)
            else:
                pieces = read_sized(self.rfile, buf, length)
            for piece in pieces:
                received += len(piece)
                if limit is not None and received > limit:
                    raise FramingError(413, f"Request body over {limit} bytes")
                yield piece
        except OSError as exc:  # a timeout, or the watchdog's cut
            raise BodyError(f"body not received: {exc}") from None
        finally:
            self.phase(True, None)

    _trailers: dict[str, str] | None = None

    def _trailers_sink(self, trailers: dict[str, str]) -> None:
        self._trailers = trailers

    def read_body(self, limit: int | None = None) -> bytes:
        """The whole request body (metadata routes: bounded, JSON)."""
        if limit is None:
            limit = self.limits.max_meta_body
        parts = bytearray()
        buf = bytearray(min(IO_SIZE, limit + 1))
        for piece in self.body_pieces(buf, limit, self.limits.meta_body_timeout):
            parts += piece
        return bytes(parts)

    def refuse_framing(self, exc: FramingError) -> None:
        """Answer a body that cannot be read; the connection goes, its bytes untrusted."""
        self.close_connection = True
        message = str(exc)
        body = json.dumps({"status": exc.status, "message": message}).encode()
        self.reply(exc.status, body, {"X-Error": quote_error(message)}, "application/json")


def quote_error(message: str) -> str:
    """An error message as an X-Error header value (OpenIO's rawx sends one)."""
    return quote(message[:200], safe=" /:,.'()-_")


def read_chunked(
    rfile: Any, buf: bytearray, on_trailers: Callable[[dict[str, str]], None] | None
) -> Iterator[memoryview]:
    """Yield the pieces of a chunked body, reusing `buf`; hand the trailers over at the end.

    A chunk size must be 1 to 15 hex digits (optionally followed by `;extensions`);
    anything else (a sign, spaces inside, an endless line) is a FramingError(400).
    A connection closed early is a BodyError.
    """
    view = memoryview(buf)
    while True:
        line = rfile.readline(MAX_LINE)
        if not line:
            raise BodyError("connection closed inside a chunked body")
        if not line.endswith(b"\n"):
            raise FramingError(400, "chunk size line too long")
        size_text = line.split(b";", 1)[0].strip()
        if not _CHUNK_SIZE.fullmatch(size_text):
            raise FramingError(400, f"Bad chunk size line {_printable(line)!r}")
        size = int(size_text, 16)
        if size == 0:
            trailers: dict[str, str] = {}
            for _ in range(MAX_TRAILERS + 1):
                line = rfile.readline(MAX_LINE)
                if line in (b"\r\n", b"\n"):
                    break
                if not line.endswith(b"\n"):
                    raise BodyError("connection closed or line too long in the trailers")
                name, sep, value = line.decode("latin-1").partition(":")
                if not sep or not name.strip():
                    raise FramingError(400, f"Bad trailer line {_printable(line)!r}")
                trailers[name.strip()] = value.strip()
            else:
                raise FramingError(400, f"more than {MAX_TRAILERS} trailers")
            if on_trailers is not None:
                on_trailers(trailers)
            return
        left = size
        while left:
            got = rfile.readinto(view[: min(left, len(buf))])
            if not got:
                raise BodyError("connection closed inside a chunk")
            yield view[:got]
            left -= got
        if rfile.read(2) != b"\r\n":
            raise FramingError(400, "chunk not followed by CRLF")


def _printable(line: bytes) -> str:
    return line[:40].decode("latin-1").strip()


def read_sized(rfile: Any, buf: bytearray, length: int) -> Iterator[memoryview]:
    view = memoryview(buf)
    left = length
    while left:
        got = rfile.readinto(view[: min(left, len(buf))])
        if not got:
            raise BodyError(f"connection closed after {length - left} of {length} bytes")
        yield view[:got]
        left -= got


__all__ = [
    "BodyError",
    "FramingError",
    "IO_SIZE",
    "Limits",
    "advertised_host",
    "is_loopback",
    "quote_error",
    "read_chunked",
    "read_sized",
]
