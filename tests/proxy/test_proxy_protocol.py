"""The wire protocol of `oio namespace serve`, and the client's rules on top of it.

Raw HTTP requests (urllib3, as any OpenIO client would send them) check paths,
parameters, headers, status codes and JSON shapes of reference/openio.md,
section 4; API calls check request ids, retries and the mapping of errors.
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
from oiocli.exceptions import (
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


def chunk_put_headers(account="acct", container="c", path="obj", method="plain/nb_copy=1"):
    meta = {
        "policy": "SINGLE",
        "chunk_method": method,
        "pos": "0",
        "full_path": protocol.full_path(account, container, path, 1, "0123456789ABCDEF" * 2),
        "content_id": "0123456789ABCDEF" * 2,
        "content_version": 1,
        "content_path": path,
        "container_id": protocol.compute_cid(account, container),
    }
    return protocol.chunk_headers(meta)


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


def test_proxy_shapes(served, api):
    resp = proxy(
        served,
        "POST",
        "container/create",
        {"properties": {"a": "1"}, "system": {}},
        acct=ACCOUNT,
        ref="shapes",
    )
    assert resp.status == 201
    resp = proxy(served, "POST", "container/create", {}, acct=ACCOUNT, ref="shapes")
    assert resp.status == 204
    api.object_create(ACCOUNT, "shapes", data=b"hello", obj_name="dir/h", policy="TWOCOPIES")
    resp = proxy(served, "GET", "container/list", acct=ACCOUNT, ref="shapes", delimiter="/")
    assert resp.status == 200 and resp.headers["x-oio-list-truncated"] == "false"
    assert resp.json()["prefixes"] == ["dir/"] and resp.json()["objects"] == []
    resp = proxy(served, "GET", "container/list", acct=ACCOUNT, ref="shapes", max="1")
    (obj,) = resp.json()["objects"]
    assert {
        "name",
        "version",
        "ctime",
        "mtime",
        "deleted",
        "id",
        "policy",
        "chunk-method",
        "hash",
        "size",
        "mime-type",
    } <= set(obj)
    assert obj["hash"] == hashlib.md5(b"hello").hexdigest().upper()
    resp = proxy(served, "GET", "content/locate", acct=ACCOUNT, ref="shapes", path="dir/h")
    assert resp.headers["x-oio-content-meta-policy"] == "TWOCOPIES"
    assert resp.headers["x-oio-content-meta-name"] == "dir%2Fh"
    chunks = resp.json()
    assert len(chunks) == 2 and {c["pos"] for c in chunks} == {"0"}
    assert all(c["url"].startswith("http://127.0.0.1:") for c in chunks)
    resp = proxy(
        served,
        "POST",
        "content/prepare2",
        {"size": 10, "policy": "EC"},
        acct=ACCOUNT,
        ref="shapes",
        path="new",
    )
    assert resp.status == 200
    assert resp.headers["x-oio-ns-chunk-size"] == str(MiB)
    assert resp.headers["x-oio-content-meta-chunk-method"].startswith("ec/")
    assert sorted(c["pos"] for c in resp.json()["chunks"]) == [f"0.{i}" for i in range(9)]
    info = proxy(served, "GET", "conscience/info").json()
    assert info["ns"] == NAMESPACE and info["chunksize"] == MiB
    assert info["data_security"]["THREECOPIES"] == "plain/nb_copy=3"
    rawx = proxy(served, "GET", "conscience/list", type="rawx").json()
    assert len(rawx) == len(served.rawx) and all(r["score"] == 100 for r in rawx)
    resp = proxy(served, "POST", "content/delete", acct=ACCOUNT, ref="shapes", path="dir/h")
    assert resp.status == 204 and resp.headers["x-oio-delete-marker"] == "false"


def test_account_service(served):
    base = f"{served.proxy_url}/v1.0/account"
    assert HTTP.request("PUT", f"{base}/create?id=acc2").status == 201
    assert HTTP.request("PUT", f"{base}/create?id=acc2").status == 202
    body = json.dumps({"metadata": {"k": "v"}, "to_delete": []}).encode()
    assert HTTP.request("PUT", f"{base}/update?id=acc2", body=body).status == 204
    show = HTTP.request("GET", f"{base}/show?id=acc2").json()
    assert show["id"] == "acc2" and show["metadata"] == {"k": "v"}
    assert {"ctime", "bytes", "objects", "containers"} <= set(show)
    assert "acc2" in HTTP.request("GET", f"{base}/list").json()
    listing = HTTP.request("GET", f"{base}/containers?id=acc2").json()
    assert listing["listing"] == [] and listing["truncated"] is False
    assert HTTP.request("GET", f"{base}/show?id=nope").status == 404
    assert HTTP.request("POST", f"{base}/delete?id=acc2").status == 204
    assert HTTP.request("POST", f"{base}/delete?id=acc2").status == 404


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
    api.container_set_properties(ACCOUNT, "errs", system={"sys.status": str(0x2000000)})
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


def test_rawx_put_get_head_delete_copy(served):
    rawx = served.rawx[0].url
    chunk_id = "AB" * 32
    data = os.urandom(300_000)
    headers = chunk_put_headers()
    resp = HTTP.request("PUT", f"{rawx}/{chunk_id}", body=data, headers=headers)
    assert resp.status == 201
    assert resp.headers["x-oio-chunk-meta-chunk-hash"] == hashlib.md5(data).hexdigest().upper()
    assert resp.headers["x-oio-chunk-meta-chunk-size"] == str(len(data))
    assert HTTP.request("PUT", f"{rawx}/{chunk_id}", body=data, headers=headers).status == 409
    resp = HTTP.request("GET", f"{rawx}/{chunk_id}", headers={"Range": "bytes=10-19"})
    assert resp.status == 206 and resp.data == data[10:20]
    assert resp.headers["Content-Range"] == f"bytes 10-19/{len(data)}"
    assert resp.headers["x-oio-chunk-meta-content-path"] == "obj"
    resp = HTTP.request("GET", f"{rawx}/{chunk_id}", headers={"Range": "bytes=-5"})
    assert resp.status == 206 and resp.data == data[-5:]
    resp = HTTP.request("GET", f"{rawx}/{chunk_id}", headers={"Range": f"bytes={len(data)}-"})
    assert resp.status == 416
    resp = HTTP.request("GET", f"{rawx}/{chunk_id}", headers={"Range": "bytes=1-2,5-6"})
    assert resp.status == 200 and resp.data == data  # several ranges: ignored
    resp = HTTP.request("HEAD", f"{rawx}/{chunk_id}")
    assert resp.status == 200 and resp.headers["Content-Length"] == str(len(data))
    assert resp.headers["x-oio-chunk-meta-content-storage-policy"] == "SINGLE"
    new_id = "CD" * 32
    link_path = protocol.full_path("acct", "c", "link", 2, "FEDCBA9876543210" * 2)
    resp = HTTP.request(
        "COPY",
        f"{rawx}/{chunk_id}",
        headers={"Destination": f"{rawx}/{new_id}", "x-oio-chunk-meta-full-path": link_path},
    )
    assert resp.status == 201
    assert HTTP.request("DELETE", f"{rawx}/{chunk_id}").status == 204
    assert HTTP.request("DELETE", f"{rawx}/{chunk_id}").status == 404
    assert HTTP.request("GET", f"{rawx}/{chunk_id}").status == 404
    assert HTTP.request("GET", f"{rawx}/{new_id}").data == data
    assert HTTP.request("GET", f"{rawx}/not-an-id").status == 400


def test_rawx_rejects_bad_puts(served):
    rawx = served.rawx[1].url
    headers = chunk_put_headers()
    del headers["x-oio-chunk-meta-full-path"]
    assert HTTP.request("PUT", f"{rawx}/{'01' * 32}", body=b"x", headers=headers).status == 400
    headers = chunk_put_headers()
    headers["x-oio-chunk-meta-container-id"] = "0" * 64
    assert HTTP.request("PUT", f"{rawx}/{'02' * 32}", body=b"x", headers=headers).status == 400
    # An EC chunk needs its metachunk size and hash (headers or trailers).
    headers = chunk_put_headers(method="ec/algo=isa_l_rs_vand,k=6,m=3")
    assert HTTP.request("PUT", f"{rawx}/{'03' * 32}", body=b"x", headers=headers).status == 400
    # A chunk hash that does not match the data.
    headers = chunk_put_headers()
    headers["x-oio-chunk-meta-chunk-hash"] = "0" * 32
    assert HTTP.request("PUT", f"{rawx}/{'04' * 32}", body=b"x", headers=headers).status == 400
    assert served.ns.chunks  # nothing of the above was stored:
    for chunk_id in ("01" * 32, "02" * 32, "03" * 32, "04" * 32):
        assert HTTP.request("HEAD", f"{rawx}/{chunk_id}").status == 404


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
