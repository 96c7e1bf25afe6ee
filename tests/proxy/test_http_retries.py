"""The proxy backend's HTTP client retries through urllib3's Retry: against a real
HTTP server on 127.0.0.1 that fails a given number of times, then answers."""

from __future__ import annotations

import http.server
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from oiocli.backends.proxy.http import ChunkedBody, HttpClient
from oiocli.core.exceptions import OioTimeout, ServiceBusy


class FailingServer(http.server.ThreadingHTTPServer):
    """Answers `fail_with` (503, or "drop": closes the connection unanswered) to the
    first `failures` requests, then 200; counts the requests it got."""

    daemon_threads = True

    def __init__(self, failures: int, fail_with: int | str = 503, body: bytes = b"") -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.failures = failures
        self.fail_with = fail_with
        self.fail_body = body
        self.requests = 0
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/x"


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:
        pass

    def _answer(self) -> None:
        server: FailingServer = self.server  # type: ignore[assignment]
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        with server.lock:
            server.requests += 1
            failing = server.requests <= server.failures
        if failing and server.fail_with == "drop":
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        status = int(server.fail_with) if failing else 200
        body = server.fail_body if failing else b"ok"
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_PUT = do_POST = do_DELETE = _answer


@pytest.fixture
def serve() -> Iterator:
    servers: list[FailingServer] = []

    def start(*args, **kwargs) -> FailingServer:
        server = FailingServer(*args, **kwargs)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_idempotent_503_retried_until_it_succeeds(serve):
    server = serve(failures=2)
    resp = HttpClient(retries=3).request("GET", server.url, idempotent=True)
    assert resp.status == 200 and server.requests == 3


def test_503_retries_are_bounded(serve):
    server = serve(failures=10)
    resp = HttpClient(retries=2).request("GET", server.url, idempotent=True)
    assert resp.status == 503 and server.requests == 3  # the first try and 2 retries


def test_non_idempotent_503_not_retried(serve):
    server = serve(failures=1)
    resp = HttpClient(retries=3).request("POST", server.url, body=b"x")
    assert resp.status == 503 and server.requests == 1


def test_lasting_503_not_retried(serve):
    server = serve(failures=5, body=b'{"status": 436, "message": "container frozen"}')
    resp = HttpClient(retries=3).request("GET", server.url, idempotent=True)
    assert resp.status == 503 and server.requests == 1


def test_lost_connection_retried_only_when_idempotent(serve):
    server = serve(failures=2, fail_with="drop")
    resp = HttpClient(retries=3).request("PUT", server.url, body=b"data", idempotent=True)
    assert resp.status == 200 and server.requests == 3
    server = serve(failures=1, fail_with="drop")
    with pytest.raises(ServiceBusy, match="connection to .* lost"):
        HttpClient(retries=3).request("POST", server.url, body=b"data")
    assert server.requests == 1


def test_chunked_body_not_sent_twice(serve):
    server = serve(failures=1, fail_with="drop")
    body = ChunkedBody([b"piece"])
    with pytest.raises(ServiceBusy):
        HttpClient(retries=3).request("PUT", server.url, body=body, idempotent=True)
    assert server.requests == 1


def test_connection_refused_retried_then_a_retryable_error(serve):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there
    with pytest.raises(ServiceBusy, match="cannot connect") as info:
        HttpClient(retries=2, request_id="REQ42").request("POST", f"http://127.0.0.1:{port}/")
    assert "REQ42" in str(info.value) and info.value.exit_code == 5


def test_read_timeout_not_retried(serve):
    hold = threading.Event()

    server = serve(failures=0)
    original = _Handler._answer

    def slow(self) -> None:
        self.server.requests += 1  # type: ignore[attr-defined]
        hold.wait(5)

    _Handler.do_GET = slow  # type: ignore[method-assign]
    try:
        with pytest.raises(OioTimeout, match="no answer"):
            HttpClient(retries=3, read_timeout=0.3).request("GET", server.url, idempotent=True)
    finally:
        _Handler.do_GET = original  # type: ignore[method-assign]
        hold.set()
    assert server.requests == 1


def _oio(*args: str) -> subprocess.CompletedProcess:
    script = Path(sys.executable).with_name("oio")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "oiocli.shell"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("OIO_")}
    return subprocess.run([*command, *args], capture_output=True, env=env, timeout=120)


@pytest.mark.parametrize("retries", [0, 2])
def test_cli_retries_option(serve, retries):
    server = serve(failures=100)
    url = server.url.rsplit("/", 1)[0]
    proc = _oio("--oio-proxy", url, "--retries", str(retries), "container", "list")
    assert proc.returncode == 5, proc.stderr
    assert server.requests == retries + 1


def test_cli_timeout_option(serve):
    hold = threading.Event()
    server = serve(failures=0)
    original = _Handler._answer

    def slow(self) -> None:
        self.server.requests += 1  # type: ignore[attr-defined]
        hold.wait(30)

    _Handler.do_GET = slow  # type: ignore[method-assign]
    try:
        url = server.url.rsplit("/", 1)[0]
        proc = _oio("--oio-proxy", url, "--timeout", "0.5", "container", "list")
    finally:
        _Handler.do_GET = original  # type: ignore[method-assign]
        hold.set()
    assert proc.returncode == 5
    assert b"within 0.5 s" in proc.stderr
