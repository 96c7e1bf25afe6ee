"""Literal HTTP for the wire tests: requests as OpenIO's client writes them, raw answers.

Nothing here comes from oiocli's protocol module or proxy client: paths, query
strings, header names and bodies are spelled out in the tests, from OpenIO SDS
7.3.0's source (each test names the file), so that a misreading of the protocol
cannot pass on both ends at once.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
from typing import Any
from urllib.parse import quote

import urllib3

NS = "NS"
HTTP = urllib3.PoolManager(retries=False, timeout=urllib3.Timeout(connect=5, read=60))


class Resp:
    """A raw answer: status, headers (case-insensitive), body bytes."""

    def __init__(self, resp: urllib3.BaseHTTPResponse) -> None:
        self.status = resp.status
        self.headers = resp.headers
        self.data = resp.data

    def json(self) -> Any:
        return json.loads(self.data)

    def meta(self, prefix: str) -> dict[str, str]:
        """Headers under `prefix` (lowercase names, prefix stripped)."""
        return {
            k.lower()[len(prefix) :]: v
            for k, v in self.headers.items()
            if k.lower().startswith(prefix)
        }

    def __repr__(self) -> str:
        return f"<Resp {self.status} {self.data[:200]!r}>"


def request(method: str, url: str, body: bytes | None = None, headers: dict | None = None) -> Resp:
    return Resp(HTTP.request(method, url, body=body, headers=headers or {}))


def proxy(
    served: Any,
    method: str,
    action: str,
    query: str = "",
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> Resp:
    """`<method> /v3.0/NS/<action>?<query>`; a non-bytes body is sent as JSON."""
    url = f"{served.proxy_url}/v3.0/{NS}/{action}" + (f"?{query}" if query else "")
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    return request(method, url, data, headers)


def account_service(
    served: Any, method: str, action: str, query: str = "", body: Any = None
) -> Resp:
    url = f"{served.proxy_url}/v1.0/account/{action}" + (f"?{query}" if query else "")
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    return request(method, url, data)


def cid(account: str, container: str) -> str:
    return hashlib.sha256(f"{account}\0{container}".encode()).hexdigest().upper()


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest().upper()


def chunk_headers(
    account: str,
    container: str,
    path: str,
    version: int,
    content_id: str,
    pos: str = "0",
    policy: str = "SINGLE",
    method: str = "plain/nb_copy=1",
) -> dict[str, str]:
    """A chunk PUT's headers, as oio/api/io.py and oio/api/replication.py send them
    (the full path's parts quoted by oio/common/fullpath.py, encode_fullpath)."""
    parts = [quote(str(p), safe="") for p in (account, container, path, version, content_id)]
    return {
        "X-oio-Chunk-Meta-Full-Path": "/".join(parts),
        "X-oio-Chunk-Meta-Container-Id": cid(account, container),
        "X-oio-Chunk-Meta-Content-Path": quote(path, safe=""),
        "X-oio-Chunk-Meta-Content-Version": str(version),
        "X-oio-Chunk-Meta-Content-Id": content_id,
        "X-oio-Chunk-Meta-Content-Storage-Policy": policy,
        "X-oio-Chunk-Meta-Content-Chunk-Method": method,
        "X-oio-Chunk-Meta-Chunk-Pos": pos,
        "X-oio-Chunk-Meta-Oio-Version": "4.2",
    }


def put_object(
    served: Any,
    account: str,
    container: str,
    path: str,
    data: bytes,
    policy: str = "SINGLE",
    extra_query: str = "",
) -> dict[str, Any]:
    """Upload an object in one metachunk as OpenIO's client does (oio/api/object_storage.py,
    _object_create): content/prepare2, a rawx PUT per chunk, content/create.

    Returns what the commit sent: content id, version, chunk records.
    """
    prep = proxy(
        served,
        "POST",
        "content/prepare2",
        f"acct={account}&ref={container}&path={path}",
        {"size": len(data), "policy": policy},
        {"x-oio-action-mode": "autocreate"},
    )
    assert prep.status == 200, prep
    meta = prep.meta("x-oio-content-meta-")
    content_id, version = meta["id"], int(meta["version"])
    chunks = []
    for chunk in prep.json()["chunks"]:
        headers = chunk_headers(
            account,
            container,
            path,
            version,
            content_id,
            chunk["pos"],
            policy,
            meta["chunk-method"],
        )
        if meta["chunk-method"].startswith("ec/"):  # mandatory for EC (rawx/chunk_info.go)
            headers["X-oio-Chunk-Meta-Metachunk-Size"] = str(len(data))
            headers["X-oio-Chunk-Meta-Metachunk-Hash"] = md5(data)
        put = request("PUT", chunk["url"], data, headers)
        assert put.status == 201, put
        chunks.append(
            {"url": chunk["url"], "pos": chunk["pos"], "size": len(data), "hash": md5(data)}
        )
    create = proxy(
        served,
        "POST",
        "content/create",
        f"acct={account}&ref={container}&path={path}" + extra_query,
        {"chunks": chunks, "properties": {}},
        {
            "x-oio-action-mode": "autocreate",
            "x-oio-content-meta-length": str(len(data)),
            "x-oio-content-meta-hash": hashlib.md5(data).hexdigest(),
            "x-oio-content-meta-id": content_id,
            "x-oio-content-meta-policy": policy,
            "x-oio-content-meta-version": str(version),
            "x-oio-content-meta-mime-type": "application/octet-stream",
            "x-oio-content-meta-chunk-method": meta["chunk-method"],
        },
    )
    assert create.status == 204, create
    return {
        "id": content_id,
        "version": version,
        "chunks": chunks,
        "chunk_method": meta["chunk-method"],
    }


def raw_socket(served: Any, port: int | None = None, timeout: float = 30.0) -> socket.socket:
    """A plain TCP connection to the proxy (or to `port`), for hand-made framing."""
    sock = socket.create_connection(("127.0.0.1", port or served.proxy.port), timeout=timeout)
    return sock


def read_all(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    out = b""
    while True:
        try:
            piece = sock.recv(65536)
        except (ConnectionResetError, TimeoutError):
            break
        if not piece:
            break
        out += piece
    return out


def random_id() -> str:
    return os.urandom(32).hex().upper()
