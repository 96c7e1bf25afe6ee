"""oiocli's proxy client over `oio namespace serve`: its rules on top of the protocol.

API calls check request ids, retries, streaming and the mapping of errors to
exceptions. The protocol itself, request by request, is in the test_wire_*
modules, written from OpenIO's source rather than from this client.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import urllib3
from proxy_helpers import ACCOUNT, NAMESPACE, MiB

from oiocli.backends.proxy import protocol
from oiocli.backends.proxy.http import encode_params
from oiocli.core.exceptions import (
    AccountNotEmpty,
    ContainerFrozen,
    ContainerNotEmpty,
    ContentDrained,
    NoSuchAccount,
    NoSuchContainer,
    NoSuchObject,
    ServiceBusy,
    UnknownPolicy,
)

HTTP = urllib3.PoolManager(retries=False, timeout=urllib3.Timeout(connect=5, read=30))


def proxy(served, method: str, resource: str, body=None, **params):
    """A raw request to the served proxy, as any OpenIO client sends it."""
    url = f"{served.proxy_url}/v3.0/{NAMESPACE}/{resource}"
    if params:
        url += "?" + encode_params(params)
    data = json.dumps(body).encode() if body is not None else None
    return HTTP.request(method, url, body=data)


# ----------------------------------------------------------------- proxy


def test_proxy_json_errors_and_codes(served, api):
    resp = proxy(served, "GET", "content/locate", acct="a", ref="missing", path="x")
    assert resp.status == 404
    assert resp.json()["status"] == 431 and "missing" in resp.json()["message"]
    api.container_create(ACCOUNT, "c")
    resp = proxy(served, "GET", "content/locate", acct=ACCOUNT, ref="c", path="nope")
    assert (resp.status, resp.json()["status"]) == (404, 420)
    api.object_create(ACCOUNT, "c", data=b"x", obj_name="x")
    resp = proxy(served, "POST", "container/destroy", acct=ACCOUNT, ref="c")
    assert (resp.status, resp.json()["status"]) == (409, 438)
    resp = HTTP.request("GET", f"{served.proxy_url}/v3.0/OTHER/container/list?acct=a&ref=b")
    assert resp.status == 400
    resp = proxy(served, "POST", "container/create", {"properties": {}}, acct=ACCOUNT)
    assert resp.status == 400 and resp.json()["status"] == 400


def test_errors_map_onto_the_exception_hierarchy(served, api):
    with pytest.raises(NoSuchContainer):
        api.object_list(ACCOUNT, "missing")
    with pytest.raises(NoSuchAccount):
        api.account_show("nobody")
    api.object_create(ACCOUNT, "errs", data=b"data", obj_name="obj")
    with pytest.raises(NoSuchObject):
        api.object_get_properties(ACCOUNT, "errs", "nope")
    with pytest.raises(ContainerNotEmpty):
        api.container_delete(ACCOUNT, "errs")
    with pytest.raises(AccountNotEmpty):
        api.account_delete(ACCOUNT)
    with pytest.raises(UnknownPolicy):
        api.object_create(ACCOUNT, "errs", data=b"x", obj_name="y", policy="NOPE")
    api.object_drain(ACCOUNT, "errs", "obj")
    with pytest.raises(ContentDrained):
        api.backend.content_truncate(ACCOUNT, "errs", "obj", None, 1, None, [])
    api.container_set_properties(ACCOUNT, "errs", system={"sys.status": str(2**32 - 1)})
    with pytest.raises(ContainerFrozen) as excinfo:
        api.object_create(ACCOUNT, "errs", data=b"x", obj_name="z")
    assert excinfo.value.exit_code == 5 and excinfo.value.reqid


def test_request_id_on_every_request(served, connect):
    seen: list[tuple[str, str | None]] = []
    handle = served.app.handle

    def record(request):
        seen.append((request.path, request.reqid))
        return handle(request)

    served.app.handle = record
    for rawx in served.rawx:
        rawx.fault = lambda event, handler, n: seen.append((event, handler.headers["x-oio-req-id"]))
    api = connect(request_id="trace-me")
    api.object_create(ACCOUNT, "ids", data=os.urandom(3 * MiB), obj_name="o", policy="EC")
    b"".join(api.object_fetch(ACCOUNT, "ids", "o")[1])
    api.object_delete(ACCOUNT, "ids", "o")
    assert {reqid for _path, reqid in seen} == {"trace-me"}
    assert any(path == "put" for path, _ in seen) and any(path == "get" for path, _ in seen)
    seen.clear()
    other = connect()
    other.object_list(ACCOUNT, "ids")
    assert seen and all(reqid for _path, reqid in seen)


def test_503_retried_for_idempotent_requests_only(served, api):
    api.container_create(ACCOUNT, "busy")
    calls: dict[str, int] = {}
    handle = served.app.handle

    def busy_once(request):
        calls[request.path] = calls.get(request.path, 0) + 1
        if calls[request.path] == 1 and request.path.endswith(
            ("/container/list", "/content/create")
        ):
            raise ServiceBusy("busy, try again")
        return handle(request)

    served.app.handle = busy_once
    assert api.object_list(ACCOUNT, "busy")["objects"] == []  # GET: retried
    with pytest.raises(ServiceBusy):  # POST content/create: not retried
        api.object_create(ACCOUNT, "busy", data=b"x", obj_name="x")
    assert calls[f"/v3.0/{NAMESPACE}/container/list"] == 2
    assert calls[f"/v3.0/{NAMESPACE}/content/create"] == 1
    served.app.handle = handle
    assert api.object_list(ACCOUNT, "busy")["objects"] == []


# ------------------------------------------------------------------ rawx


def test_rawx_streams_chunked_bodies_with_trailers(served, api):
    """A PUT reaches the disk as it arrives, and its trailers reach the chunk's metadata."""
    on_disk: list[int] = []
    rawx = served.rawx[2]
    url = f"{rawx.url}/{'EF' * 32}"

    def watch(event, handler, received):
        if event == "put" and received >= 3 * MiB and not on_disk:
            on_disk.append(os.path.getsize(served.file_path(url)))

    rawx.fault = watch
    pieces = [os.urandom(MiB) for _ in range(4)]
    md5 = hashlib.md5(b"".join(pieces)).hexdigest().upper()
    meta = {
        "policy": "SINGLE",
        "chunk_method": "plain/nb_copy=1",
        "pos": "0",
        "full_path": protocol.full_path(ACCOUNT, "c", "big", 1, "AB" * 16),
        "content_path": "big",
        "content_version": 1,
        "content_id": "AB" * 16,
    }

    def produce():
        yield from pieces
        # Known only at the end: sent as trailers of the chunked body.
        meta["metachunk_size"] = 4 * MiB
        meta["metachunk_hash"] = md5

    assert api.chunks.put(url, produce(), meta) == {"size": 4 * MiB}
    rawx.fault = None
    assert on_disk and on_disk[0] >= 3 * MiB  # written while the body was still coming
    head = api.chunks.head(url)
    assert head["size"] == 4 * MiB
    assert head["meta"]["metachunk_hash"] == md5
    assert head["meta"]["metachunk_size"] == 4 * MiB
    assert head["meta"]["chunk_hash"] == md5
    assert b"".join(api.chunks.get(url, MiB, MiB + 10)) == pieces[1][:10]


# ------------------------------------------------------------------- CLI


def test_cli_namespace_serve(tmp_path: Path):
    env = dict(os.environ, OIO_NS="CLI", OIO_ACCOUNT="acct", OIO_DATA_DIR=str(tmp_path / "ns"))
    env.pop("OIO_PROXYD_URL", None)
    oio = str(Path(sys.executable).parent / "oio")
    server = subprocess.Popen(
        [oio, "namespace", "serve", "--port", "0"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = server.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        client_env = dict(env, OIO_PROXYD_URL=url, OIO_DATA_DIR=str(tmp_path / "unused"))

        def run(*args, stdin=None):
            return subprocess.run(
                [oio, *args],
                env=client_env,
                input=stdin,
                capture_output=True,
                text=True,
                timeout=60,
            )

        assert run("container", "create", "ct").returncode == 0
        res = run("object", "create", "ct", "-", "--name", "hello", "-f", "json", stdin="hello")
        assert res.returncode == 0, res.stderr
        assert json.loads(res.stdout)[0]["Hash"] == "5D41402ABC4B2A76B9719D911017C592"
        res = run("object", "list", "ct", "-f", "value", "-c", "Name")
        assert res.stdout.split() == ["hello"]
        res = run("object", "show", "ct", "nope")
        assert res.returncode == 4 and "nope" in res.stderr
        assert not (tmp_path / "unused").exists()
    finally:
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=60) == 0
