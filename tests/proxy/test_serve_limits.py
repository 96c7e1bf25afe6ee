"""`oio namespace serve` against careless or hostile clients: bounded, never stuck.

No authentication (as OpenIO's proxy): whoever reaches the address can send
anything. Bodies are bounded or streamed, every wait on a client has a
deadline, connections are capped, the loopback is the default and anything
else is warned about.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from proxy_helpers import NAMESPACE
from wire import chunk_headers, proxy, random_id, raw_socket, read_all, request

from oiocli.server.namespace_server import Limits, serve_namespace

SHORT = Limits(
    max_connections=8,
    header_timeout=0.5,
    idle_timeout=0.5,
    io_timeout=5.0,
    meta_body_timeout=0.5,
    chunk_body_timeout=0.5,
    max_meta_body=4096,
)


@pytest.fixture
def serve_with(tmp_path: Path):
    servers = []

    def start(limits: Limits):
        server = serve_namespace(
            NAMESPACE,
            str(tmp_path / f"ns{len(servers)}"),
            chunk_size=64 * 1024,
            volumes=3,
            limits=limits,
        )
        servers.append(server)
        return server

    try:
        yield start
    finally:
        for server in servers:
            server.stop()


@pytest.fixture
def strict(serve_with):
    return serve_with(SHORT)


def closed_by_server(sock: socket.socket) -> bytes:
    """What the server sends before closing the connection (its own deadline, not ours)."""
    sock.settimeout(60)  # far past the server's deadlines: a hang fails the test
    return read_all(sock)


def test_slow_headers_are_cut(strict):
    sock = raw_socket(strict)
    sock.sendall(b"GET /v3.0/NS/conscience/info HTTP/1.1\r\nHost: x\r\nX-Slow: ")
    assert closed_by_server(sock) == b""  # no answer: cut past header_timeout


def test_idle_keepalive_is_cut(strict):
    sock = raw_socket(strict)
    sock.sendall(b"GET /v3.0/NS/conscience/info HTTP/1.1\r\nHost: x\r\n\r\n")
    reply = closed_by_server(sock)
    assert reply.startswith(b"HTTP/1.1 200")  # answered, then closed past idle_timeout


def test_slow_metadata_body_is_cut(strict):
    sock = raw_socket(strict)
    sock.sendall(
        b"POST /v3.0/NS/container/create?acct=a&ref=b HTTP/1.1\r\nHost: x\r\n"
        b'Content-Length: 100\r\n\r\n{"prop'
    )
    assert closed_by_server(sock) == b""
    assert proxy(strict, "GET", "container/show", "acct=a&ref=b").status == 404


def test_slow_chunk_body_is_cut_and_leaves_nothing(strict):
    rawx = strict.rawx[0]
    chunk_id = random_id()
    headers = "".join(
        f"{k}: {v}\r\n" for k, v in chunk_headers("a", "b", "o", 1, "AB" * 16).items()
    )
    sock = raw_socket(strict, rawx.port)
    sock.sendall(
        f"PUT /{chunk_id} HTTP/1.1\r\nHost: x\r\nContent-Length: 50000\r\n{headers}\r\n".encode()
        + b"x" * 1000
    )
    assert closed_by_server(sock) == b""
    rawx.wait_idle()
    assert request("HEAD", f"{rawx.url}/{chunk_id}").status == 404
    assert not os.path.exists(strict.file_path(f"{rawx.url}/{chunk_id}"))


def test_bodies_are_bounded(strict):
    resp = proxy(
        strict, "POST", "container/create", "acct=a&ref=big", {"properties": {"k": "v" * 5000}}
    )
    assert resp.status == 413 and resp.json()["status"] == 413
    assert resp.headers["Connection"] == "close"
    assert proxy(strict, "GET", "container/show", "acct=a&ref=big").status == 404
    # A chunk over the rawx's bound (4 chunk sizes, at least 4 MiB) is refused unstored.
    rawx = strict.rawx[1]
    chunk_id = random_id()
    resp = request(
        "PUT",
        f"{rawx.url}/{chunk_id}",
        b"x" * (4 * 1024 * 1024 + 1),
        chunk_headers("a", "b", "o", 1, "AB" * 16),
    )
    assert resp.status == 413
    assert request("HEAD", f"{rawx.url}/{chunk_id}").status == 404
    # Chunked: refused when the bound is passed, as it streams.
    sock = raw_socket(strict)
    sock.sendall(
        b"POST /v3.0/NS/container/create?acct=a&ref=big HTTP/1.1\r\nHost: x\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n" + b"1000\r\n" + b"x" * 4096 + b"\r\n"
        b"10\r\n" + b"y" * 16 + b"\r\n0\r\n\r\n"
    )
    assert closed_by_server(sock).startswith(b"HTTP/1.1 413")


def test_malformed_framing_is_a_400(strict):
    for framing, body in [
        (b"Transfer-Encoding: chunked\r\n", b"-1\r\n{}\r\n0\r\n\r\n"),
        (b"Content-Length: -5\r\n", b""),
        (b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", b"0\r\n\r\n"),
    ]:
        sock = raw_socket(strict)
        sock.sendall(
            b"POST /v3.0/NS/container/create?acct=a&ref=f HTTP/1.1\r\nHost: x\r\n"
            + framing
            + b"\r\n"
            + body
        )
        reply = closed_by_server(sock)
        assert reply.startswith(b"HTTP/1.1 400"), (framing, reply[:100])
        assert b'"status": 400' in reply or b'"status":400' in reply
    assert proxy(strict, "GET", "container/show", "acct=a&ref=f").status == 404


def test_many_slow_connections_do_not_exhaust_the_server(serve_with):
    """100 connections that send a byte and wait: the cap holds (8 per service), idle ones
    make room for real requests, and the server answers normally throughout."""
    # Headers get 5 s here: the connections below must still be waiting when counted.
    strict = serve_with(Limits(**{**SHORT.__dict__, "header_timeout": 5.0}))
    threads_before = threading.active_count()
    slow = []
    for _ in range(100):
        sock = raw_socket(strict)
        sock.sendall(b"G")
        slow.append(sock)
    for _ in range(5):
        assert proxy(strict, "GET", "conscience/info").status == 200
    # Cut connections' threads may still be ending: a bound, not an exact count.
    assert threading.active_count() - threads_before <= 2 * SHORT.max_connections + 4
    # Connections busy in their headers are not cut to make room: past the cap, a 503.
    busy = []
    for _ in range(SHORT.max_connections):
        sock = raw_socket(strict)
        sock.sendall(b"GET /v3.0/NS/conscience/info HTTP/1.1\r\nHost: x\r\n")
        busy.append(sock)
    for _ in range(3000):  # until their threads are reading headers (never in practice > 1 s)
        if strict.proxy.connections()[1] == SHORT.max_connections:
            break
        time.sleep(0.01)
    assert strict.proxy.connections() == (SHORT.max_connections, SHORT.max_connections)
    turned_away = raw_socket(strict)
    turned_away.sendall(b"GET /v3.0/NS/conscience/info HTTP/1.1\r\nHost: x\r\n\r\n")
    reply = closed_by_server(turned_away)
    assert reply.startswith(b"HTTP/1.1 503") and b"Too many connections" in reply
    assert strict.proxy.refused >= 1
    # Past header_timeout they are cut, and requests are served again.
    for sock in busy:
        assert closed_by_server(sock) == b""
    assert proxy(strict, "GET", "conscience/info").status == 200
    for sock in slow + busy:
        sock.close()


def test_non_loopback_host_warns(tmp_path: Path):
    env = dict(os.environ, OIO_NS="WARN", OIO_DATA_DIR=str(tmp_path / "ns"), HOME=str(tmp_path))
    env.pop("OIO_PROXYD_URL", None)
    oio = str(Path(sys.executable).parent / "oio")
    server = subprocess.Popen(
        [oio, "namespace", "serve", "--host", "0.0.0.0", "--port", "0"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = server.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
    finally:
        server.send_signal(signal.SIGTERM)
        _out, err = server.communicate(timeout=60)
    assert server.returncode == 0
    assert "without authentication" in err and "0.0.0.0" in err
    help_text = subprocess.run(
        [oio, "namespace", "serve", "--help"], env=env, capture_output=True, text=True, timeout=60
    ).stdout
    assert "no authentication" in help_text.lower()
