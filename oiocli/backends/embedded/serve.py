"""`oio namespace serve`: an embedded namespace behind OpenIO's proxy and rawx protocols.

One HTTP server plays OpenIO's `oio-proxy` (`/v3.0/<NS>/...`) and, on the same
address, its account service (`/v1.0/account/...`); one more server per volume
plays a `rawx`. Each runs in its own thread with its own listening socket, so a
test can stop one rawx (every open connection is cut, as when the process dies)
and start it again on the same port. Paths, query parameters, headers, status
codes and JSON shapes follow reference/openio.md, section 4: the point is to
prove the proxy client against the real protocol, not to invent an easier one.

It is a development endpoint on 127.0.0.1, not a cluster: production runs on
OpenIO SDS.

Chunk URLs seen by clients are `http://<host>:<port of the volume's rawx>/<ID>`;
the embedded namespace records `file://<volume>/<ID>`. The proxy translates
between the two in both directions. A rawx streams request bodies straight into
the chunk store (chunked transfer encoding or Content-Length), one piece at a
time, and replies with the MD5 and size it stored.

Where the reference leaves a choice, or the embedded namespace does more than an
OpenIO service (see the notes on each route), the behaviour is documented there.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

from oiocli.api.names import check_name, check_properties
from oiocli.backends.embedded.chunks import chunk_path, chunk_url
from oiocli.backends.embedded.meta import (
    STATUS_DISABLED,
    STATUS_ENABLED,
    STATUS_FROZEN,
    EmbeddedNamespace,
    now_us,
)
from oiocli.backends.proxy import protocol
from oiocli.exceptions import (
    AccountNotEmpty,
    BadRange,
    BadRequest,
    ChunkCorrupt,
    ChunkNotFound,
    ClientException,
    Conflict,
    ContainerFrozen,
    ContainerNotEmpty,
    ContentDrained,
    Forbidden,
    NoSuchAccount,
    NoSuchContainer,
    NoSuchObject,
    NotEnoughVolumes,
    NotFound,
    OioException,
    ServiceBusy,
    StorageFull,
    UnknownPolicy,
)
from oiocli.io.reader import position_of
from oiocli.io.storage_method import parse_method

LOG = logging.getLogger("oiocli.serve")

DEFAULT_PORT = 6006  # oio-proxy's usual port
LIST_DEFAULT = 1000
LIST_MAX = 10000
IO_SIZE = 1024 * 1024
FLUSH_BATCH = 1000
META_WORKERS = 8  # threads running metadata routes


# ------------------------------------------------------------------- errors


def error_status(exc: BaseException) -> tuple[int, int]:
    """(HTTP status, OpenIO status code) of an exception, as the proxy reports it."""
    table: list[tuple[type[BaseException], tuple[int, int]]] = [
        (NoSuchAccount, (404, 409)),
        (NoSuchContainer, (404, 431)),
        (NoSuchObject, (404, 420)),
        (NotFound, (404, 404)),
        (ContainerNotEmpty, (409, 438)),
        (AccountNotEmpty, (409, 438)),
        (Conflict, (409, 421)),
        (ContentDrained, (410, 427)),
        (UnknownPolicy, (400, 480)),
        (BadRange, (416, 400)),
        (BadRequest, (400, 400)),
        (Forbidden, (403, 403)),
        (NotEnoughVolumes, (503, 481)),
        (StorageFull, (507, 507)),
    ]
    if isinstance(exc, ContainerFrozen):
        return 503, 437 if "disabled" in str(exc).lower() else 436
    for cls, status in table:
        if isinstance(exc, cls):
            return status
    if isinstance(exc, ServiceBusy):
        return 503, 503
    if isinstance(exc, ClientException):
        return exc.http_status, exc.http_status
    return 500, 500


class Reply:
    """What a route answers: status, JSON-able (or bytes) body, extra headers."""

    __slots__ = ("status", "body", "headers")

    def __init__(self, status: int = 204, body: Any = None, headers: dict | None = None):
        self.status = status
        self.body = body
        self.headers = headers or {}


class Request:
    """A parsed proxy or account-service request."""

    def __init__(self, method: str, path: str, query: str, headers: Any, body: bytes) -> None:
        self.method = method
        self.path = path
        self.query = {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()}
        self.headers = headers
        self.body = body

    @property
    def reqid(self) -> str | None:
        return self.headers.get(protocol.REQID_HEADER)

    def json(self, default: Any = None) -> Any:
        if not self.body or not self.body.strip():
            return default
        try:
            return json.loads(self.body)
        except ValueError:
            raise BadRequest("Request body is not valid JSON") from None

    def param(self, name: str, default: str | None = None) -> str | None:
        value = self.query.get(name)
        return default if value in (None, "") else value

    def required(self, name: str) -> str:
        value = self.param(name)
        if value is None:
            raise BadRequest(f"Missing query parameter {name!r}")
        return value

    def flag(self, name: str) -> bool:
        return protocol.true_value(self.query.get(name))

    def int_param(self, name: str, default: int | None = None) -> int | None:
        value = self.param(name)
        if value is None:
            return default
        try:
            return int(value)
        except ValueError:
            raise BadRequest(f"Invalid {name} {value!r}: not an integer") from None


# ------------------------------------------------------------ HTTP servers


class _Server(ThreadingHTTPServer):
    """A threading server that knows its connections, to cut them all on stop."""

    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], handler: type, service: _Service) -> None:
        self.service = service
        self._active: dict[Any, threading.Thread] = {}
        self._active_lock = threading.Lock()
        # Threads handling a request (not idle between keep-alive requests).
        self._busy: set[threading.Thread] = set()
        self._idle = threading.Condition(self._active_lock)
        super().__init__(address, handler)

    def set_busy(self, busy: bool) -> None:
        me = threading.current_thread()
        with self._idle:
            if busy:
                self._busy.add(me)
            else:
                self._busy.discard(me)
                self._idle.notify_all()

    def wait_idle(self, timeout: float = 60.0) -> None:
        me = threading.current_thread()
        with self._idle:
            self._idle.wait_for(lambda: not (self._busy - {me}), timeout)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        with self._active_lock:
            self._active[request] = threading.current_thread()
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._active_lock:
                self._active.pop(request, None)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client gone or a connection cut on stop: nothing a caller can act on.
        LOG.debug("Connection from %s ended with an error", client_address, exc_info=True)

    def cut_connections(self) -> list[threading.Thread]:
        with self._active_lock:
            active = list(self._active.items())
        for sock, _thread in active:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        return [thread for _sock, thread in active]


class _Service:
    """One listening socket served by its own thread; can be stopped and restarted."""

    handler_class: type[BaseHTTPRequestHandler]
    label = "service"

    def __init__(self, host: str, port: int = 0) -> None:
        self.host = host
        self.port = port
        self._server: _Server | None = None
        self._last_server: _Server | None = None
        self._thread: threading.Thread | None = None
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

    def start(self) -> None:
        with self._lock:
            if self._server is not None:
                return
            server = _Server((self.host, self.port), self.handler_class, self)
            self.port = server.server_address[1]
            self.stopped.clear()
            thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"oio-serve-{self.label}-{self.port}",
                daemon=True,
            )
            thread.start()
            self._server, self._thread = server, thread

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


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "oiocli-serve"
    sys_version = ""

    def setup(self) -> None:
        super().setup()
        # Headers and a small body go out in two writes: without NODELAY, Nagle
        # and the client's delayed ACK would add ~40 ms to every request.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    @property
    def service(self) -> Any:
        return self.server.service  # type: ignore[attr-defined]

    def parse_request(self) -> bool:
        # The request line has been read: from here until the reply is out, this
        # connection is busy (before, it was idle between keep-alive requests).
        self.server.set_busy(True)  # type: ignore[attr-defined]
        return super().parse_request()

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        finally:
            self.server.set_busy(False)  # type: ignore[attr-defined]

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

    def reply_error(self, exc: BaseException, extra: dict[str, str] | None = None) -> None:
        status, code = error_status(exc)
        message = str(exc) if isinstance(exc, OioException) else f"Internal error: {exc}"
        if status >= 500 and not isinstance(exc, OioException):
            LOG.error("%s: %s %s failed", self.service.label, self.command, self.path, exc_info=exc)
        body = json.dumps({"status": code, "message": message}).encode()
        headers = dict(extra or {})
        headers["X-Error"] = quote(message[:200], safe=" /:,.'()-_")
        self.reply(status, body, headers, "application/json")

    def read_body(self) -> bytes:
        """The whole request body (small: proxy requests carry JSON)."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return b"".join(bytes(p) for p in read_chunked(self.rfile, bytearray(IO_SIZE), None))
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""


class BodyError(Exception):
    """The request body ended early or is badly framed: the connection is unusable."""


def read_chunked(
    rfile: Any, buf: bytearray, on_trailers: Callable[[dict[str, str]], None] | None
) -> Any:
    """Yield the pieces of a chunked body, reusing `buf`; hand the trailers over at the end."""
    view = memoryview(buf)
    while True:
        line = rfile.readline(1024)
        if not line:
            raise BodyError("connection closed inside a chunked body")
        try:
            size = int(line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise BodyError(f"bad chunk size line {line[:40]!r}") from None
        if size == 0:
            trailers: dict[str, str] = {}
            while True:
                line = rfile.readline(65536)
                if line in (b"\r\n", b"\n", b""):
                    break
                name, _, value = line.decode("latin-1").partition(":")
                trailers[name.strip()] = value.strip()
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
        if rfile.read(2) not in (b"\r\n",):
            raise BodyError("chunk not followed by CRLF")


def read_sized(rfile: Any, buf: bytearray, length: int) -> Any:
    view = memoryview(buf)
    left = length
    while left:
        got = rfile.readinto(view[: min(left, len(buf))])
        if not got:
            raise BodyError(f"connection closed after {length - left} of {length} bytes")
        yield view[:got]
        left -= got


# --------------------------------------------------------------------- rawx


class _Reject(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class RawxHandler(_Handler):
    """A rawx: chunks of one volume, by id (`/<64 hex>`)."""

    def _chunk(self) -> tuple[str, str]:
        chunk_id = urlsplit(self.path).path.strip("/")
        if not protocol.is_chunk_id(chunk_id):
            raise BadRequest(f"Invalid chunk id {chunk_id[:80]!r}")
        chunk_id = chunk_id.upper()
        return chunk_id, chunk_url(self.service.volume, chunk_id)

    def _plain_error(self, status: int, message: str) -> None:
        self.reply(status, message.encode(), {"X-Error": quote(message[:200], safe=" /:,.'()-_")})

    def _fail(self, exc: BaseException) -> None:
        if isinstance(exc, ChunkNotFound):
            self._plain_error(404, str(exc))
        elif isinstance(exc, ChunkCorrupt):
            self._plain_error(500, str(exc))
        else:
            status, _code = error_status(exc)
            self._plain_error(status, str(exc))

    # -------------------------------------------------------------- PUT
    def do_PUT(self) -> None:
        service = self.service
        try:
            chunk_id, url = self._chunk()
            meta = protocol.chunk_meta_from_headers(self.headers)
        except OioException as exc:
            self.close_connection = True
            self._fail(exc)
            return
        try:
            stored_meta = self._put_meta(chunk_id, meta)
        except _Reject as exc:
            self.close_connection = True
            self._plain_error(exc.status, str(exc))
            return
        md5 = hashlib.md5()
        size = 0
        ec = str(stored_meta.get("chunk_method", "")).startswith("ec/")

        def on_trailers(trailers: dict[str, str]) -> None:
            try:
                stored_meta.update(protocol.chunk_meta_from_headers(trailers))
            except BadRequest as exc:
                raise _Reject(400, str(exc)) from None

        def pieces() -> Any:
            nonlocal size
            if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
                body = read_chunked(self.rfile, bytearray(IO_SIZE), on_trailers)
            else:
                length = int(self.headers.get("Content-Length") or 0)
                body = read_sized(self.rfile, bytearray(IO_SIZE), length)
            for piece in body:
                md5.update(piece)
                size += len(piece)
                yield piece
                if service.fault is not None:
                    service.fault("put", self, size)
                if service.stopped.is_set():
                    # A stopped rawx behaves as a dead process: no upload in
                    # progress completes, whatever the socket buffers still hold.
                    raise BodyError("service stopped")
            # Everything the chunk's footer records must be known before it is written.
            digest = md5.hexdigest().upper()
            if stored_meta.get("chunk_hash") and stored_meta["chunk_hash"].upper() != digest:
                raise _Reject(
                    400,
                    f"Chunk hash mismatch: sent {stored_meta['chunk_hash']}, "
                    f"received data hashes to {digest}",
                )
            if stored_meta.get("chunk_size") is not None and stored_meta["chunk_size"] != size:
                raise _Reject(
                    400,
                    f"Chunk size mismatch: sent {stored_meta['chunk_size']}, received {size} bytes",
                )
            if ec and (
                stored_meta.get("metachunk_size") is None or not stored_meta.get("metachunk_hash")
            ):
                raise _Reject(400, "Missing metachunk size or hash (mandatory for EC chunks)")
            stored_meta["chunk_hash"] = digest
            stored_meta["chunk_size"] = size
            if service.stopped.is_set():
                raise BodyError("service stopped")

        try:
            service.store.put(url, pieces(), stored_meta)
        except _Reject as exc:
            self.close_connection = True
            self._plain_error(exc.status, str(exc))
            return
        except (BodyError, OSError) as exc:
            # The client went away (or the service is stopping): nothing to answer.
            LOG.debug("rawx %s: PUT %s aborted: %s", service.port, chunk_id, exc)
            self.close_connection = True
            return
        except OioException as exc:
            # Conflict (the id exists), no space, ...: the body was not read.
            self.close_connection = True
            self._fail(exc)
            return
        if service.stopped.is_set():
            service.store.delete(url)  # stored, but "died" before saying so
            self.close_connection = True
            return
        headers = protocol.chunk_headers(
            {"chunk_id": chunk_id, "chunk_hash": md5.hexdigest().upper(), "chunk_size": size}
        )
        self.reply(201, b"", headers)

    def _put_meta(self, chunk_id: str, meta: dict[str, Any]) -> dict[str, Any]:
        missing = [
            protocol.chunk_header(f) for f in protocol.CHUNK_REQUIRED_FIELDS if not meta.get(f)
        ]
        if missing:
            raise _Reject(400, f"Missing header(s): {', '.join(missing)}")
        if meta.get("chunk_id") and meta["chunk_id"].upper() != chunk_id:
            raise _Reject(400, "Chunk id header does not match the URL")
        try:
            account, container, path, version, content_id = protocol.split_full_path(
                meta["full_path"]
            )
        except BadRequest as exc:
            raise _Reject(400, str(exc)) from None
        cid = protocol.compute_cid(account, container)
        if meta.get("container_id") and meta["container_id"].upper() != cid:
            raise _Reject(400, "Container id does not match the full path")
        stored = dict(meta)
        stored["chunk_id"] = chunk_id
        stored["container_id"] = cid
        stored.setdefault("content_path", path)
        stored.setdefault("content_id", content_id)
        if "content_version" not in stored:
            try:
                stored["content_version"] = int(version)
            except ValueError:
                raise _Reject(400, f"Invalid version {version!r} in the full path") from None
        # A chunk hash or size given by the client is checked against the data
        # received, then replaced by what was computed (see pieces()).
        return stored

    # ---------------------------------------------------------- GET / HEAD
    def do_GET(self) -> None:
        self._read(body=True)

    def do_HEAD(self) -> None:
        self._read(body=False)

    def _read(self, body: bool) -> None:
        service = self.service
        if service.delay:
            # A slow disk: stopping the service cuts the wait short.
            if service.stopped.wait(service.delay):
                self.close_connection = True
                return
        try:
            chunk_id, url = self._chunk()
            info = service.store.head(url)
        except OioException as exc:
            self._fail(exc)
            return
        size = int(info["size"])
        meta = dict(info.get("meta") or {}, chunk_id=chunk_id, chunk_size=size)
        headers = protocol.chunk_headers(meta)
        headers["Accept-Ranges"] = "bytes"
        start, end = 0, size
        status = 200
        wanted = parse_range(self.headers.get("Range"), size)
        if wanted is not None:
            if wanted[0] >= size:
                self.reply(416, b"", {"Content-Range": f"bytes */{size}"})
                return
            start, end = wanted
            status = 206
            headers["Content-Range"] = f"bytes {start}-{max(end - 1, start)}/{size}"
        if not body:
            headers["Content-Length"] = str(end - start)
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            return
        pieces = service.store.get(url, start, end)
        try:
            # The first block is checked before the status goes out, so that a
            # corrupt chunk is an error reply rather than a cut connection.
            first = next(pieces, b"")
        except OioException as exc:
            self._fail(exc)
            return
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(end - start))
        self.end_headers()
        sent = 0
        try:
            for piece in _chain(first, pieces):
                if service.fault is not None:
                    service.fault("get", self, sent)
                if service.stopped.is_set():
                    raise BodyError("service stopped")
                self.wfile.write(piece)
                sent += len(piece)
        except (OioException, OSError, BodyError) as exc:
            # Headers are out: the only way to say "this is not the data" is to
            # close the connection before Content-Length bytes were sent.
            LOG.warning(
                "rawx %s: GET %s stopped after %d bytes: %s", service.port, chunk_id, sent, exc
            )
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    # -------------------------------------------------------- DELETE / COPY
    def do_DELETE(self) -> None:
        try:
            chunk_id, url = self._chunk()
            self.read_body()
            if not os.path.exists(chunk_path(url)):
                raise ChunkNotFound(f"Chunk not found: {chunk_id}")
            self.service.store.delete(url)
        except OioException as exc:
            self._fail(exc)
            return
        self.reply(204)

    def do_COPY(self) -> None:
        """Link (`Destination` on this rawx): the new id shares the data, as a hard link.

        The chunk's metadata lives with its data here, so a `Full-Path` header for
        the new id cannot be recorded separately: the link keeps the source's.
        """
        try:
            _chunk_id, url = self._chunk()
            self.read_body()
            destination = self.headers.get("Destination")
            if not destination:
                raise BadRequest("Missing Destination header")
            base, new_id = protocol.split_chunk_url(destination)
            if urlsplit(base).port != self.service.port:
                raise BadRequest(f"Destination {destination!r} is not on this rawx")
            self.service.store.link(url, chunk_url(self.service.volume, new_id))
        except OioException as exc:
            self._fail(exc)
            return
        self.reply(201)


def _chain(first: bytes, rest: Any) -> Any:
    if first:
        yield first
    yield from rest


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """A single `bytes=a-b` / `a-` / `-n` range as [start, end); None to send everything.

    As a rawx does, a malformed range or several ranges are ignored (whole chunk),
    the end is clamped to the size, and a start past the end is the caller's 416.
    """
    if not header or not header.startswith("bytes=") or "," in header:
        return None
    first, sep, last = header[6:].strip().partition("-")
    if not sep:
        return None
    try:
        if first == "":
            if not last:
                return None
            return max(size - int(last), 0), size
        start = int(first)
        end = size if last == "" else min(int(last) + 1, size)
    except ValueError:
        return None
    if start < 0 or (last != "" and int(last) < start):
        return None
    return start, max(end, start)


class RawxService(_Service):
    handler_class = RawxHandler

    def __init__(self, owner: NamespaceServer, index: int, volume: str, host: str, port: int = 0):
        super().__init__(host, port)
        self.owner = owner
        self.index = index
        self.volume = volume
        self.store = owner.ns.chunks
        self.label = f"rawx-{index}"
        # Test hooks: seconds before answering a GET or HEAD; a callable
        # (event, handler, bytes so far) called as PUT/GET bodies flow: "put"
        # after each piece received, "get" before each piece sent.
        self.delay = 0.0
        self.fault: Callable[[str, Any, int], None] | None = None

    @property
    def service_id(self) -> str:
        return f"rawx-{self.index}"


# -------------------------------------------------------------------- proxy


class ProxyHandler(_Handler):
    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def do_HEAD(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        app: ProxyApp = self.service.app
        parts = urlsplit(self.path)
        try:
            body = self.read_body()
        except (BodyError, ValueError) as exc:
            self.close_connection = True
            self.reply_error(BadRequest(f"Bad request body: {exc}"))
            return
        request = Request(self.command, unquote(parts.path), parts.query, self.headers, body)
        try:
            reply = app.handle(request)
        except OioException as exc:
            self.reply_error(exc)
            return
        except Exception as exc:  # a bug here must not kill the connection silently
            self.reply_error(exc)
            return
        data = b""
        content_type = None
        if isinstance(reply.body, bytes):
            data = reply.body
            content_type = "text/plain"
        elif reply.body is not None:
            data = json.dumps(reply.body, separators=(",", ":")).encode()
            content_type = "application/json"
        self.reply(reply.status, data, reply.headers, content_type)


class ProxyService(_Service):
    handler_class = ProxyHandler
    label = "proxy"

    def __init__(self, app: ProxyApp, host: str, port: int = 0) -> None:
        super().__init__(host, port)
        self.app = app


Route = Callable[["ProxyApp", Request], Reply]


class ProxyApp:
    """The proxy's and account service's routes, mapped onto EmbeddedNamespace.

    Routes run on a fixed pool of worker threads rather than on the connection's
    thread: the embedded namespace opens one SQLite connection per thread and
    keeps it, so a thread per client connection (one per CLI run) would pile up
    connections; a pool bounds them, and still lets concurrent creates share a
    group commit.
    """

    def __init__(self, server: NamespaceServer, workers: int = META_WORKERS) -> None:
        self.server = server
        self.ns = server.ns
        self.workers = workers
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()
        self.routes: dict[tuple[str, str], Route] = {}
        for (method, name), func in _ROUTES.items():
            self.routes[(method, name)] = func

    def _run(self, func: Callable[..., Reply], *args: Any) -> Reply:
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="oio-serve-meta")
            pool = self._pool
        return pool.submit(func, *args).result()

    def close(self) -> None:
        with self._pool_lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)

    def handle(self, request: Request) -> Reply:
        path = request.path
        if path == "/status":
            return self._run(lambda: Reply(200, {"account_count": len(self.ns.account_list())}))
        if path.startswith(protocol.ACCOUNT_PREFIX + "/"):
            key = ("account", path[len(protocol.ACCOUNT_PREFIX) + 1 :])
            methods = _ACCOUNT_METHODS.get(key[1])
            if methods is None:
                raise NotFound(f"No such account service action {key[1]!r}")
            if request.method not in methods:
                return Reply(405, {"status": 405, "message": "Method not allowed"})
        else:
            parts = path.strip("/").split("/", 2)
            if len(parts) != 3 or parts[0] != protocol.API_VERSION:
                raise NotFound(f"No such resource {path!r}")
            if parts[1] != self.ns.namespace:
                raise BadRequest(f"Invalid namespace {parts[1]!r} (this is {self.ns.namespace!r})")
            key = (request.method, parts[2])
            if request.method == "HEAD":
                key = ("GET", parts[2])
        route = self.routes.get(key)
        if route is None:
            raise NotFound(f"No route for {request.method} {path}")
        return self._run(route, self, request)

    # ------------------------------------------------------------ helpers
    def container_of(self, request: Request) -> tuple[str, str]:
        cid = request.param("cid")
        if cid and not request.param("ref"):
            return self.ns.resolve_cid(cid)
        return (
            check_name("account", request.required("acct")),
            check_name("container", request.required("ref")),
        )

    def object_of(self, request: Request) -> tuple[str, str, str, int | None]:
        account, container = self.container_of(request)
        name = check_name("object", request.required("path"))
        return account, container, name, request.int_param("version")

    def to_http(self, url: str) -> str:
        return self.server.to_http(url)

    def to_file(self, url: str) -> str:
        return self.server.to_file(url)

    def chunk_json(self, chunk: dict[str, Any]) -> dict[str, Any]:
        url = self.to_http(chunk["url"])
        record = {
            "url": url,
            "real_url": url,
            "pos": str(chunk["pos"]),
            "size": chunk["size"],
            "hash": chunk.get("hash") or "",
            "score": 100,
        }
        # Not OpenIO's (its "size" and "hash" are the metachunk's, as here): an EC
        # fragment's own size and MD5, which OpenIO keeps in the chunk's xattrs only.
        if chunk.get("chunk_size") is not None:
            record["chunk_size"] = chunk["chunk_size"]
        if chunk.get("chunk_hash"):
            record["chunk_hash"] = chunk["chunk_hash"]
        return record

    def chunks_from_json(self, items: Any) -> list[dict[str, Any]]:
        if not isinstance(items, list):
            raise BadRequest("Expected a list of chunks")
        chunks = []
        for item in items:
            try:
                chunk = {
                    "url": self.to_file(item["url"]),
                    "pos": str(item["pos"]),
                    "size": int(item["size"]),
                    "hash": (item.get("hash") or None),
                }
            except (KeyError, TypeError, ValueError):
                raise BadRequest(f"Invalid chunk record {item!r}") from None
            if item.get("chunk_size") is not None:
                chunk["chunk_size"] = int(item["chunk_size"])
            if item.get("chunk_hash"):
                chunk["chunk_hash"] = str(item["chunk_hash"]).upper()
            if chunk["hash"]:
                chunk["hash"] = str(chunk["hash"]).upper()
            chunks.append(chunk)
        return chunks

    def container_headers(self, props: dict[str, str]) -> dict[str, str]:
        headers = {}
        for key, value in props.items():
            if key.startswith("sys."):
                name = "".join(c if c.isalnum() or c == "-" else "-" for c in key)
                headers[protocol.CONTAINER_PREFIX + name] = quote(str(value), safe="")
        headers[protocol.CONTAINER_PREFIX + "sys-peers"] = self.server.proxy.addr
        return headers


# ------------------------------------------------------------- container routes


def _split_props(props: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    user = {k[5:]: v for k, v in props.items() if k.startswith("user.")}
    system = {k: v for k, v in props.items() if k.startswith("sys.")}
    return user, system


def _system(body: dict[str, Any]) -> dict[str, str]:
    system = {str(k): str(v) for k, v in (body.get("system") or {}).items()}
    for key in system:
        if not key.startswith("sys."):
            raise BadRequest(f"System property {key!r} must start with 'sys.'")
    return system


def container_create(app: ProxyApp, req: Request) -> Reply:
    account, container = app.container_of(req)
    body = req.json({}) or {}
    created = app.ns.container_create(
        account,
        container,
        check_properties(body.get("properties")),
        _system(body),
        req.reqid,
    )
    return Reply(201 if created else 204)


def container_create_many(app: ProxyApp, req: Request) -> Reply:
    account = check_name("account", req.required("acct"))
    body = req.json({}) or {}
    results = []
    for item in body.get("containers") or []:
        name = item.get("name")
        try:
            created = app.ns.container_create(
                account,
                check_name("container", name),
                check_properties(item.get("properties")),
                _system(item),
                req.reqid,
            )
            results.append({"name": name, "status": 201 if created else 204, "message": "ok"})
        except OioException as exc:
            results.append({"name": name, "status": error_status(exc)[1], "message": str(exc)})
    return Reply(200, {"containers": results})


def container_destroy(app: ProxyApp, req: Request) -> Reply:
    account, container = app.container_of(req)
    app.ns.container_delete(account, container, req.reqid)
    return Reply(204)


def container_show(app: ProxyApp, req: Request) -> Reply:
    account, container = app.container_of(req)
    props = app.ns.container_props(account, container)
    user, _system_props = _split_props(props)
    return Reply(200, {"properties": user}, app.container_headers(props))


def container_get_properties(app: ProxyApp, req: Request) -> Reply:
    account, container = app.container_of(req)
    user, system = _split_props(app.ns.container_props(account, container))
    keys = req.json([]) or []
    if isinstance(keys, list) and keys:
        user = {k: v for k, v in user.items() if k in keys}
    return Reply(200, {"properties": user, "system": system})


def container_set_properties(app: ProxyApp, req: Request) -> Reply:
    account, container = app.container_of(req)
    body = req.json({}) or {}
    props = {f"user.{k}": v for k, v in check_properties(body.get("properties")).items()}
    props.update(_system(body))
    app.ns.container_set_props(
        account, container, props, clear_user=req.flag("flush"), reqid=req.reqid
    )
    return Reply(200, {})


def container_del_properties(app: ProxyApp, req: Request) -> Reply:
    account, container = app.container_of(req)
    keys = req.json([]) or []
    if not isinstance(keys, list):
        raise BadRequest("Expected a list of property keys")
    if not keys:  # OpenIO: no key means every user property
        app.ns.container_set_props(account, container, {}, clear_user=True, reqid=req.reqid)
    else:
        delete = [k if str(k).startswith("sys.") else f"user.{k}" for k in keys]
        app.ns.container_set_props(account, container, {}, delete=delete, reqid=req.reqid)
    return Reply(204)


def container_list(app: ProxyApp, req: Request) -> Reply:
    account, container = app.container_of(req)
    limit = req.int_param("max", LIST_DEFAULT) or LIST_DEFAULT
    if limit < 0:
        raise BadRequest(f"Invalid max {limit}")
    limit = min(limit, LIST_MAX)
    with_props = req.flag("properties")
    result = app.ns.content_list(
        account,
        container,
        limit,
        marker=req.param("marker"),
        end_marker=req.param("end_marker"),
        prefix=req.param("prefix"),
        delimiter=req.param("delimiter"),
        versions=req.flag("all"),
        deleted=req.flag("deleted"),
        properties=with_props,
    )
    objects = [protocol.listing_entry(o, with_props) for o in result["objects"]]
    if req.flag("chunks"):
        cdb = app.ns.container(account, container)
        for entry in objects:
            content = entry.get("content")
            chunks = app.ns.get_chunks(cdb, content) if content else []
            entry["chunks"] = [app.chunk_json(c) for c in chunks]
    props = app.ns.container_props(account, container)
    user, system = _split_props(props)
    headers = app.container_headers(props)
    headers[protocol.LIST_TRUNCATED_HEADER] = "true" if result["truncated"] else "false"
    if result["truncated"] and result["next_marker"] is not None:
        headers[protocol.LIST_MARKER_HEADER] = quote(result["next_marker"], safe="")
    body = {
        "objects": objects,
        "prefixes": result["prefixes"],
        "properties": user,
        "system": system,
    }
    return Reply(200, body, headers)


def container_touch(app: ProxyApp, req: Request) -> Reply:
    account, container = app.container_of(req)
    app.ns.container_touch(account, container, req.flag("recompute"), req.reqid)
    return Reply(204)


def container_purge(app: ProxyApp, req: Request) -> Reply:
    account, container = app.container_of(req)
    app.ns.content_purge(account, container, None, req.int_param("maxvers"), req.reqid)
    return Reply(204)


def container_flush(app: ProxyApp, req: Request) -> Reply:
    """Delete a batch of object versions; `x-oio-truncated: true` while some remain."""
    account, container = app.container_of(req)
    listing = app.ns.content_list(account, container, FLUSH_BATCH, versions=True)
    for obj in listing["objects"]:
        try:
            app.ns.content_delete(account, container, obj["name"], obj["version"], req.reqid)
        except NoSuchObject:
            pass
    truncated = "true" if listing["truncated"] else "false"
    return Reply(204, None, {"x-oio-truncated": truncated})


def container_snapshot(app: ProxyApp, req: Request) -> Reply:
    """Copy a container into a new, frozen one.

    OpenIO's proxy copies the database only (the copy shares the source's chunk
    URLs) and leaves the client to link each chunk under a new id (rawx COPY) and
    swap the records (`raw_update`). The embedded namespace already makes the copy
    independent here (its chunks are hard links under new ids); the client's own
    relinking then only adds a link and drops the previous one.
    """
    account, container = app.container_of(req)
    body = req.json({}) or {}
    dst_account = check_name("account", body.get("account") or "")
    dst_container = check_name("container", body.get("container") or "")
    if (dst_account, dst_container) == (account, container):
        raise Conflict("Snapshot destination is the source container")
    app.ns.container_snapshot(account, container, dst_account, dst_container, req.reqid)
    return Reply(204)


def container_raw_update(app: ProxyApp, req: Request) -> Reply:
    """Swap chunk records (`{"old": [beans], "new": [beans]}`), object by object.

    A chunk bean names its object by content id (`content`); an old bean without
    one is found by its URL. Each object's swap is atomic, the batch is not.
    """
    account, container = app.container_of(req)
    body = req.json({}) or {}
    cdb = app.ns.container(account, container)
    groups: dict[str, tuple[list[str], list[dict[str, Any]]]] = {}

    def chunk_beans(key: str) -> list[dict[str, Any]]:
        beans = body.get(key) or []
        if not isinstance(beans, list):
            raise BadRequest(f"{key!r} must be a list of beans")
        return [b for b in beans if isinstance(b, dict) and b.get("type", "chunk") == "chunk"]

    for bean in chunk_beans("old"):
        url = app.to_file(str(bean.get("id")))
        content = bean.get("content")
        if not content:
            row = cdb.conn.execute("SELECT content FROM chunks WHERE url = ?", (url,)).fetchone()
            if row is None:
                raise NoSuchObject(f"No object holds chunk {bean.get('id')!r}")
            content = row[0]
        groups.setdefault(str(content), ([], []))[0].append(url)
    for bean in chunk_beans("new"):
        content = bean.get("content")
        if not content:
            if len(groups) != 1:
                raise BadRequest("A new chunk bean needs its content id")
            content = next(iter(groups))
        (chunk,) = app.chunks_from_json(
            [
                {
                    "url": bean.get("id"),
                    "pos": bean.get("pos"),
                    "size": bean.get("size"),
                    "hash": bean.get("hash"),
                    "chunk_size": bean.get("chunk_size"),
                    "chunk_hash": bean.get("chunk_hash"),
                }
            ]
        )
        groups.setdefault(str(content), ([], []))[1].append(chunk)
    for content, (old, new) in groups.items():
        row = cdb.conn.execute(
            "SELECT name, version FROM aliases WHERE content = ?", (content,)
        ).fetchone()
        if row is None:
            raise NoSuchObject(f"No object has content id {content!r}")
        app.ns.content_replace_chunks(account, container, row[0], row[1], old, new, req.reqid)
    return Reply(204)


def admin_freeze(app: ProxyApp, req: Request) -> Reply:
    account, container = app.container_of(req)
    app.ns.container_set_props(
        account, container, {"sys.status": str(STATUS_FROZEN)}, reqid=req.reqid
    )
    return Reply(204)


def admin_enable(app: ProxyApp, req: Request) -> Reply:
    account, container = app.container_of(req)
    app.ns.container_set_props(
        account, container, {"sys.status": str(STATUS_ENABLED)}, reqid=req.reqid
    )
    return Reply(204)


def admin_disable(app: ProxyApp, req: Request) -> Reply:
    account, container = app.container_of(req)
    app.ns.container_set_props(
        account, container, {"sys.status": str(STATUS_DISABLED)}, reqid=req.reqid
    )
    return Reply(204)


def reference_show(app: ProxyApp, req: Request) -> Reply:
    account, container = app.container_of(req)
    info = app.ns.container_locate(account, container)
    meta2 = {"type": "meta2", "host": app.server.proxy.addr, "args": "", "seq": 1}
    body = {
        "account": account,
        "name": container,
        "cid": info["cid"],
        "dir": [],
        "srv": [meta2],
    }
    return Reply(200, body)


# --------------------------------------------------------------- content routes


def _targets(app: ProxyApp, count: int) -> list[str]:
    """Chunk URLs on `count` distinct volumes whose rawx is up (what the conscience knows)."""
    volumes = app.ns.pick_volumes(count, avoid=app.server.down_volumes())
    return [app.to_http(chunk_url(v, _random_id())) for v in volumes]


def _random_id() -> str:
    return secrets.token_hex(32).upper()


def content_prepare(app: ProxyApp, req: Request, legacy: bool = False) -> Reply:
    account, container = app.container_of(req)
    path = check_name("object", req.required("path"))
    body = req.json({}) or {}
    policy = body.get("policy") or req.param("stgpol") or None
    autocreate = (req.headers.get(protocol.ACTION_MODE_HEADER) or "").lower() == "autocreate"
    prep = app.ns.content_prepare(account, container, policy, autocreate, req.reqid)
    method = parse_method(prep["chunk_method"])
    try:
        position = int(body.get("position") or 0)
    except (TypeError, ValueError):
        raise BadRequest(f"Invalid position {body.get('position')!r}") from None
    urls = _targets(app, method.chunks_per_metachunk)
    chunks = [
        {
            "url": url,
            "real_url": url,
            "pos": f"{position}.{i}" if method.is_ec else str(position),
            "size": prep["chunk_size"],
            "hash": "",
            "score": 100,
        }
        for i, url in enumerate(urls)
    ]
    meta = {
        "id": prep["content_id"],
        "name": path,
        "version": prep["version"],
        "policy": prep["policy"],
        "chunk_method": prep["chunk_method"],
        "mime_type": "application/octet-stream",
        "size": int(body.get("size") or 0),
        "ctime": int(time.time()),
        "deleted": False,
    }
    headers = protocol.content_headers(meta)
    headers[protocol.CHUNK_SIZE_HEADER] = str(prep["chunk_size"])
    if legacy:
        return Reply(200, chunks, headers)
    return Reply(200, {"chunks": chunks, "properties": {}}, headers)


def content_prepare_legacy(app: ProxyApp, req: Request) -> Reply:
    return content_prepare(app, req, legacy=True)


def _content_meta_headers(req: Request) -> dict[str, str]:
    fields = {}
    for key, value in req.headers.items():
        low = key.lower()
        if low.startswith(protocol.CONTENT_PREFIX):
            fields[low[len(protocol.CONTENT_PREFIX) :]] = value  # raw, as OpenIO's clients send
    return fields


def content_create(app: ProxyApp, req: Request) -> Reply:
    account, container, name, _version = app.object_of(req)
    fields = _content_meta_headers(req)
    body = req.json({}) or {}
    if isinstance(body, list):  # the oldest clients send the bare chunk list
        body = {"chunks": body}
    for required in ("id", "chunk-method", "policy"):
        if not fields.get(required):
            raise BadRequest(f"Missing header {protocol.CONTENT_PREFIX}{required}")
    try:
        size = int(fields.get("length") or fields.get("size") or 0)
        version = int(fields["version"]) if fields.get("version") else now_us()
    except ValueError:
        raise BadRequest("Invalid content length or version") from None
    parse_method(fields["chunk-method"])
    version = app.ns.content_create(
        account,
        container,
        name,
        content=fields["id"],
        version=version,
        size=size,
        hsh=(fields.get("hash") or None),
        policy=fields["policy"],
        chunk_method=fields["chunk-method"],
        mime_type=fields.get("mime-type") or "application/octet-stream",
        properties=check_properties(body.get("properties")),
        chunks=app.chunks_from_json(body.get("chunks") or []),
        reqid=req.reqid,
        append=req.flag("append"),
        restore_drained=req.flag("restore_drained"),
        keep_version=req.flag("change_policy"),
    )
    return Reply(204, None, {protocol.CONTENT_PREFIX + "version": str(version)})


def content_update(app: ProxyApp, req: Request) -> Reply:
    """Replace the chunks of the metachunk(s) the body's chunks belong to."""
    account, container, name, version = app.object_of(req)
    body = req.json([])
    if isinstance(body, dict):
        body = body.get("chunks") or []
    new = app.chunks_from_json(body)
    meta, chunks = app.ns.content_locate(account, container, name, version)
    content_id = req.param("id") or req.param("content")
    if content_id and content_id.upper() != str(meta["id"]).upper():
        raise Conflict(f"Object {name!r} has another content id than {content_id!r}")
    cdb = app.ns.container(account, container)
    app.ns.check_writable(cdb, cdb.props())
    indices = {position_of(c)[0] for c in new}
    old = [c["url"] for c in chunks if position_of(c)[0] in indices]
    app.ns.content_replace_chunks(account, container, name, meta["version"], old, new, req.reqid)
    return Reply(204)


def content_locate(app: ProxyApp, req: Request) -> Reply:
    account, container, name, version = app.object_of(req)
    meta, chunks = app.ns.content_locate(account, container, name, version)
    with_props = (req.param("properties") or "true").lower() not in ("false", "0", "no")
    headers = protocol.content_headers(meta, properties=with_props)
    headers[protocol.CHUNK_SIZE_HEADER] = str(app.ns.chunk_size)
    return Reply(200, [app.chunk_json(c) for c in chunks], headers)


def content_get_properties(app: ProxyApp, req: Request) -> Reply:
    account, container, name, version = app.object_of(req)
    meta = app.ns.content_get(account, container, name, version, allow_deleted=version is not None)
    props = dict(meta.get("properties") or {})
    keys = req.json([]) or []
    if isinstance(keys, list) and keys:
        props = {k: v for k, v in props.items() if k in keys}
    return Reply(200, {"properties": props}, protocol.content_headers(meta))


def content_set_properties(app: ProxyApp, req: Request) -> Reply:
    account, container, name, version = app.object_of(req)
    body = req.json({}) or {}
    props = check_properties(body.get("properties"))
    app.ns.content_update_props(
        account, container, name, version, props, clear=req.flag("flush"), reqid=req.reqid
    )
    return Reply(204)


def content_del_properties(app: ProxyApp, req: Request) -> Reply:
    account, container, name, version = app.object_of(req)
    keys = req.json([]) or []
    if not isinstance(keys, list):
        raise BadRequest("Expected a list of property keys")
    app.ns.content_update_props(
        account, container, name, version, {}, delete=[str(k) for k in keys], reqid=req.reqid
    )
    return Reply(204)


def content_delete(app: ProxyApp, req: Request) -> Reply:
    account, container, name, version = app.object_of(req)
    marker, version_id = app.ns.content_delete(account, container, name, version, req.reqid)
    headers = {
        protocol.DELETE_MARKER_HEADER: "true" if marker else "false",
        protocol.VERSION_ID_HEADER: str(version_id),
    }
    return Reply(204, None, headers)


def content_delete_many(app: ProxyApp, req: Request) -> Reply:
    account, container = app.container_of(req)
    body = req.json({}) or {}
    results = []
    for item in body.get("contents") or []:
        name = item.get("name")
        try:
            app.ns.content_delete(
                account, container, check_name("object", name), item.get("version"), req.reqid
            )
            results.append({"name": name, "status": 204, "message": "ok"})
        except OioException as exc:
            status, _code = error_status(exc)
            results.append({"name": name, "status": status, "message": str(exc)})
    return Reply(200, {"contents": results})


def content_touch(app: ProxyApp, req: Request) -> Reply:
    account, container, name, version = app.object_of(req)
    app.ns.content_touch(account, container, name, version, req.reqid)
    return Reply(204)


def content_drain(app: ProxyApp, req: Request) -> Reply:
    account, container, name, version = app.object_of(req)
    app.ns.content_drain(account, container, name, version, req.reqid)
    return Reply(204)


def content_truncate(app: ProxyApp, req: Request) -> Reply:
    """Drop the metachunks past `size` and set the size (the hash is cleared).

    The metachunk `size` falls in keeps its chunks: the client re-uploads it cut
    to size and swaps it in with `content/update`.
    """
    account, container, name, version = app.object_of(req)
    size = req.int_param("size")
    if size is None:
        raise BadRequest("Missing query parameter 'size'")
    meta, chunks = app.ns.content_locate(account, container, name, version)
    if meta["chunk_method"] == "drained":
        raise ContentDrained(f"Object {name!r} is drained")
    if size < 0 or size > (meta["size"] or 0):
        raise BadRange(f"Cannot truncate {name!r} to {size}: it has {meta['size']} bytes")
    if size != meta["size"]:
        app.ns.content_truncate(
            account, container, name, meta["version"], size, None, [], req.reqid
        )
    return Reply(204)


def content_purge(app: ProxyApp, req: Request) -> Reply:
    account, container, name, _version = app.object_of(req)
    app.ns.content_purge(account, container, name, req.int_param("maxvers"), req.reqid)
    return Reply(204)


# ------------------------------------------------------------ conscience routes


def conscience_info(app: ProxyApp, req: Request) -> Reply:
    config = app.ns.config
    policies = dict(config["policies"])
    body = {
        "ns": app.ns.namespace,
        "chunksize": int(config["chunk_size"]),
        # Every policy on the default pool, its data security named after it.
        "storage_policy": {name: f"NONE:{name}" for name in policies},
        "data_security": policies,
        "service_pools": {},
        "options": {
            "ns.chunk_size": str(config["chunk_size"]),
            "ns.storage_policy": config["storage_policy"],
            "meta2.max_versions": str(config.get("max_versions", 1)),
        },
    }
    return Reply(200, body)


def conscience_list(app: ProxyApp, req: Request) -> Reply:
    kind = req.param("type") or ""
    server = app.server
    if kind == "rawx":
        services = [
            {
                "addr": rawx.addr,
                "score": 100 if rawx.running else 0,
                "tags": {
                    "tag.up": rawx.running,
                    "tag.vol": rawx.volume,
                    "tag.service_id": rawx.service_id,
                    "tag.loc": f"{advertised_host(rawx.host)}.{rawx.service_id}",
                },
            }
            for rawx in server.rawx
        ]
    elif kind in ("account", "meta2", "meta1", "meta0"):
        services = [{"addr": server.proxy.addr, "score": 100, "tags": {"tag.up": True}}]
    else:
        services = []
    return Reply(200, services)


def oiocli_events(app: ProxyApp, req: Request) -> Reply:
    """The namespace's event journal (an oiocli extension: OpenIO queues its events)."""
    since = req.param("since")
    try:
        since_value = float(since) if since is not None else None
    except ValueError:
        raise BadRequest(f"Invalid since {since!r}") from None
    events = app.ns.event_list(
        since=since_value, limit=req.int_param("limit"), marker=req.int_param("marker")
    )
    return Reply(200, events)


# ------------------------------------------------------------- account routes


def _account_id(req: Request) -> str:
    return check_name("account", req.required("id"))


def account_create(app: ProxyApp, req: Request) -> Reply:
    account = _account_id(req)
    if app.ns.account_create(account, req.reqid):
        return Reply(201, account.encode())
    return Reply(202)


def account_delete(app: ProxyApp, req: Request) -> Reply:
    app.ns.account_delete(_account_id(req), req.reqid)
    return Reply(204)


def account_list(app: ProxyApp, req: Request) -> Reply:
    """All account ids (JSON array); `limit`, `marker`, `end_marker`, `prefix` page it."""
    names = app.ns.account_list(
        req.int_param("limit"), req.param("marker"), req.param("end_marker"), req.param("prefix")
    )
    return Reply(200, names)


def account_update(app: ProxyApp, req: Request) -> Reply:
    body = req.json({}) or {}
    app.ns.account_update_metadata(
        _account_id(req),
        check_properties(body.get("metadata")),
        [str(k) for k in body.get("to_delete") or []],
        req.reqid,
    )
    return Reply(204)


def account_show(app: ProxyApp, req: Request) -> Reply:
    return Reply(200, app.ns.account_show(_account_id(req)))


def account_containers(app: ProxyApp, req: Request) -> Reply:
    account = _account_id(req)
    info = app.ns.account_show(account)
    limit = req.int_param("limit", LIST_DEFAULT) or LIST_DEFAULT
    limit = max(1, min(limit, LIST_MAX))
    rows = app.ns.container_list(
        account,
        limit + 1,
        req.param("marker"),
        req.param("end_marker"),
        req.param("prefix"),
        req.param("delimiter"),
    )
    info["listing"] = rows[:limit]
    info["truncated"] = len(rows) > limit
    if info["truncated"]:
        info["next_marker"] = rows[limit - 1][0]
    return Reply(200, info)


def account_refresh(app: ProxyApp, req: Request) -> Reply:
    account = req.param("id")
    app.ns.account_refresh(check_name("account", account) if account else None, req.reqid)
    return Reply(204)


def account_flush(app: ProxyApp, req: Request) -> Reply:
    app.ns.account_flush(_account_id(req), req.reqid)
    return Reply(204)


def account_container_noop(app: ProxyApp, req: Request) -> Reply:
    """meta2 reports container statistics here; the embedded namespace keeps them itself."""
    _account_id(req)
    return Reply(204)


_ROUTES: dict[tuple[str, str], Route] = {
    ("POST", "container/create"): container_create,
    ("POST", "container/create_many"): container_create_many,
    ("POST", "container/destroy"): container_destroy,
    ("GET", "container/show"): container_show,
    ("POST", "container/get_properties"): container_get_properties,
    ("POST", "container/set_properties"): container_set_properties,
    ("POST", "container/del_properties"): container_del_properties,
    ("GET", "container/list"): container_list,
    ("POST", "container/touch"): container_touch,
    ("POST", "container/purge"): container_purge,
    ("POST", "container/flush"): container_flush,
    ("POST", "container/snapshot"): container_snapshot,
    ("POST", "container/raw_update"): container_raw_update,
    ("POST", "admin/freeze"): admin_freeze,
    ("POST", "admin/enable"): admin_enable,
    ("POST", "admin/disable"): admin_disable,
    ("GET", "reference/show"): reference_show,
    ("POST", "content/prepare2"): content_prepare,
    ("POST", "content/prepare"): content_prepare_legacy,
    ("POST", "content/create"): content_create,
    ("POST", "content/update"): content_update,
    ("GET", "content/locate"): content_locate,
    ("GET", "content/show"): content_locate,
    ("POST", "content/get_properties"): content_get_properties,
    ("POST", "content/set_properties"): content_set_properties,
    ("POST", "content/del_properties"): content_del_properties,
    ("POST", "content/delete"): content_delete,
    ("POST", "content/delete_many"): content_delete_many,
    ("POST", "content/touch"): content_touch,
    ("POST", "content/drain"): content_drain,
    ("POST", "content/truncate"): content_truncate,
    ("POST", "content/purge"): content_purge,
    ("GET", "conscience/info"): conscience_info,
    ("GET", "conscience/list"): conscience_list,
    ("GET", "oiocli/events"): oiocli_events,
    ("account", "create"): account_create,
    ("account", "delete"): account_delete,
    ("account", "list"): account_list,
    ("account", "update"): account_update,
    ("account", "show"): account_show,
    ("account", "containers"): account_containers,
    ("account", "refresh"): account_refresh,
    ("account", "flush"): account_flush,
    ("account", "container/update"): account_container_noop,
    ("account", "container/reset"): account_container_noop,
}

_ACCOUNT_METHODS: dict[str, tuple[str, ...]] = {
    "create": ("PUT",),
    "delete": ("POST",),
    "list": ("GET",),
    "update": ("PUT", "POST"),
    "show": ("GET", "HEAD"),
    "containers": ("GET",),
    "refresh": ("POST",),
    "flush": ("POST",),
    "container/update": ("PUT", "POST"),
    "container/reset": ("PUT", "POST"),
}


# ------------------------------------------------------------------- server


class NamespaceServer:
    """An embedded namespace served as one proxy (+ account service) and one rawx per volume."""

    def __init__(self, ns: EmbeddedNamespace, host: str = "127.0.0.1", port: int = 0) -> None:
        self.ns = ns
        self.host = host
        self.app = ProxyApp(self)
        self.proxy = ProxyService(self.app, host, port)
        self.rawx = [RawxService(self, i, vol, host) for i, vol in enumerate(ns.volumes)]
        self._by_volume = {rawx.volume: rawx for rawx in self.rawx}

    @property
    def proxy_url(self) -> str:
        return self.proxy.url

    def start(self) -> NamespaceServer:
        try:
            for rawx in self.rawx:
                rawx.start()
            self.proxy.start()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        self.proxy.stop()
        for rawx in self.rawx:
            rawx.stop()
        self.app.close()

    def __enter__(self) -> NamespaceServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def down_volumes(self) -> list[str]:
        return [rawx.volume for rawx in self.rawx if not rawx.running]

    def rawx_of(self, url: str) -> RawxService:
        """The rawx service of a chunk URL (http) or of its volume (file)."""
        if url.startswith("file://"):
            volume = url[7:].rpartition("/")[0]
            rawx = self._by_volume.get(volume)
        else:
            port = urlsplit(url).port
            rawx = next((r for r in self.rawx if r.port == port), None)
        if rawx is None:
            raise BadRequest(f"Chunk URL {url!r} is not served here")
        return rawx

    def to_http(self, url: str) -> str:
        """`file://<volume>/<ID>` -> `http://<host>:<port of the volume's rawx>/<ID>`."""
        volume, _, chunk_id = url[7:].rpartition("/")
        rawx = self._by_volume.get(volume)
        if rawx is None:
            raise BadRequest(f"Chunk {url!r} is on a volume this server does not serve")
        return f"{rawx.url}/{chunk_id}"

    def to_file(self, url: str) -> str:
        _base, chunk_id = protocol.split_chunk_url(url)
        return chunk_url(self.rawx_of(url).volume, chunk_id)

    def file_path(self, url: str) -> str:
        """Where a chunk (by its http or file URL) lives on disk: for fault tests."""
        return chunk_path(self.to_file(url) if not url.startswith("file://") else url)


def serve_namespace(
    namespace: str, data_dir: str, host: str = "127.0.0.1", port: int = 0, **config: Any
) -> NamespaceServer:
    """Open (or create) an embedded namespace and serve it; the caller stops it."""
    ns = EmbeddedNamespace(namespace, data_dir, **config)
    return NamespaceServer(ns, host, port).start()


__all__ = [
    "DEFAULT_PORT",
    "NamespaceServer",
    "ProxyApp",
    "RawxService",
    "error_status",
    "parse_range",
    "serve_namespace",
]
