"""A real S3 server on 127.0.0.1 (SeaweedFS `weed mini`, signatures checked) for the tier tests.

One server per test worker (session fixture), on free ports; each test gets its
own bucket, so tests running at once never see each other's keys. A small
fault-injecting HTTP proxy (`FaultProxy`) sits in front of it where a test wants
503s, 500s, resets or slow bodies.
"""

from __future__ import annotations

import contextlib
import email.utils
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from s3_fixture import ACCESS_KEY, SECRET_KEY, S3Server, key_file

__all__ = ["ACCESS_KEY", "SECRET_KEY", "S3Server", "key_file"]
ACCOUNT = "acct"


@pytest.fixture(scope="session")
def s3server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    server = S3Server(tmp_path_factory.mktemp("s3"))
    server.start()
    yield server
    server.stop()


def oio_command() -> list[str]:
    script = Path(sys.executable).with_name("oio")
    return [str(script)] if script.exists() else [sys.executable, "-m", "oiocli.shell"]


class TierNamespace:
    """An embedded namespace with a B2 policy on its own bucket, run through the real CLI."""

    def __init__(self, tmp_path: Path, server: S3Server, endpoint: str | None = None) -> None:
        self.root = tmp_path
        self.server = server
        self.bucket = server.bucket()
        self.endpoint = endpoint or server.endpoint
        self.keys = key_file(tmp_path / "b2-appkey.conf", self.bucket, self.endpoint)
        self.method = f"backblaze/account_id={ACCESS_KEY},bucket_name={self.bucket}"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("OIO_")}
        self.env.update(
            OIO_DATA_DIR=str(tmp_path / "ns"),
            OIO_NS="TIERNS",
            OIO_ACCOUNT=ACCOUNT,
            HOME=str(tmp_path),
            COLUMNS="200",
        )
        self.ok("namespace", "set", "--policy", f"B2={self.method}")

    def run(self, *args: str, input: bytes = b"", key_file: bool = True) -> Any:
        extra = ["--key-file", str(self.keys)] if key_file else []
        proc = subprocess.run(
            [*oio_command(), *extra, *args],
            input=input,
            capture_output=True,
            env=self.env,
            cwd=self.root,
            timeout=300,
        )
        proc.err = proc.stderr.decode(errors="replace")  # type: ignore[attr-defined]
        return proc

    def ok(self, *args: str, **kwargs: Any) -> Any:
        proc = self.run(*args, **kwargs)
        assert proc.returncode == 0, (args, proc.returncode, proc.err)
        return proc

    def json(self, *args: str, **kwargs: Any) -> Any:
        return json.loads(self.ok(*args, "-f", "json", **kwargs).stdout)

    def keys_in_bucket(self) -> set[str]:
        return {item[0] for item in self.server.client(self.bucket).list_keys()}

    def expected_keys(self, container: str, obj: str) -> set[str]:
        from oiocli.backends.embedded.meta import compute_cid

        cid = compute_cid(ACCOUNT, container)
        rows = self.json("object", "locate", container, obj)
        return {f"{cid}/{row['Id'].partition('/')[2]}" for row in rows}


@pytest.fixture
def tier(tmp_path: Path, s3server: S3Server) -> TierNamespace:
    return TierNamespace(tmp_path, s3server)


# ------------------------------------------------------------ fault proxy
class FaultProxy:
    """A TCP proxy to the S3 server whose next requests can be made to fail.

    `plan` is a list of faults consumed one per request (of the methods in
    `methods`): "503" (with Retry-After: 1), "500", "reset" (the reply cut
    mid-body), "slow" (the reply body trickled out), "skew" (a 403
    RequestTimeTooSkewed with the server's Date 5 minutes ahead). Requests beyond the plan
    pass through. `seen` counts the requests by method.
    """

    def __init__(self, upstream_port: int) -> None:
        self.upstream = upstream_port
        self.plan: list[str] = []
        self.methods: tuple[str, ...] = ("GET", "PUT", "POST", "DELETE", "HEAD")
        self.seen: dict[str, int] = {}
        self.faults_done: list[str] = []
        self._lock = threading.Lock()
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _next_fault(self, method: str) -> str | None:
        with self._lock:
            self.seen[method] = self.seen.get(method, 0) + 1
            if method in self.methods and self.plan:
                fault = self.plan.pop(0)
                self.faults_done.append(f"{method}:{fault}")
                return fault
        return None

    def _handle(self, conn: socket.socket) -> None:
        with contextlib.closing(conn):
            reader = conn.makefile("rb")
            while True:
                head = _read_head(reader)
                if head is None:
                    return
                method = head.split(b" ", 1)[0].decode()
                length = _content_length(head)
                body = reader.read(length) if length else b""
                fault = self._next_fault(method)
                if fault in ("503", "500"):
                    status = b"503 Slow Down" if fault == "503" else b"500 Internal Error"
                    code = "SlowDown" if fault == "503" else "InternalError"
                    payload = f"<Error><Code>{code}</Code></Error>".encode()
                    extra = b"Retry-After: 1\r\n" if fault == "503" else b""
                    conn.sendall(
                        b"HTTP/1.1 "
                        + status
                        + b"\r\nContent-Length: "
                        + str(len(payload)).encode()
                        + b"\r\n"
                        + extra
                        + b"\r\n"
                        + payload
                    )
                    continue
                if fault == "skew":
                    # As S3 answers a request signed too far from its clock: the
                    # server's time (here 5 minutes ahead) is in the Date header.
                    date = email.utils.formatdate(time.time() + 300, usegmt=True)
                    payload = b"<Error><Code>RequestTimeTooSkewed</Code></Error>"
                    conn.sendall(
                        b"HTTP/1.1 403 Forbidden\r\nDate: "
                        + date.encode()
                        + b"\r\nContent-Length: "
                        + str(len(payload)).encode()
                        + b"\r\n\r\n"
                        + payload
                    )
                    continue
                reply = self._forward(head, body)
                if fault == "reset":
                    conn.sendall(reply[: max(len(reply) // 2, 1)])
                    conn.shutdown(socket.SHUT_RDWR)
                    return
                if fault == "slow":
                    for i in range(0, len(reply), 65536):
                        conn.sendall(reply[i : i + 65536])
                        time.sleep(0.01)
                    continue
                conn.sendall(reply)

    def _forward(self, head: bytes, body: bytes) -> bytes:
        with socket.create_connection(("127.0.0.1", self.upstream)) as up:
            # One request per upstream connection: the reply ends when it closes.
            head = head.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n", 1)
            up.sendall(head + body)
            chunks = []
            while True:
                data = up.recv(1 << 20)
                if not data:
                    break
                chunks.append(data)
        reply = b"".join(chunks)
        # Our client keeps its connection alive: drop the upstream's "close".
        return reply.replace(b"Connection: close\r\n", b"", 1)

    def close(self) -> None:
        self.sock.close()


def _read_head(reader: Any) -> bytes | None:
    lines = []
    while True:
        line = reader.readline()
        if not line:
            return None
        lines.append(line)
        if line in (b"\r\n", b"\n"):
            return b"".join(lines)


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value.strip())
    return 0


@pytest.fixture
def fault_proxy(s3server: S3Server) -> Iterator[FaultProxy]:
    proxy = FaultProxy(s3server.port)
    yield proxy
    proxy.close()


@pytest.fixture
def faulty_tier(
    tmp_path: Path, s3server: S3Server, fault_proxy: FaultProxy
) -> Callable[[], TierNamespace]:
    return TierNamespace(tmp_path, s3server, endpoint=fault_proxy.endpoint)  # type: ignore[return-value]
