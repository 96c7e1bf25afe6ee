"""The proxy routes of `oio namespace serve`, request by request, as OpenIO 7.3.0 has them.

Each request is written literally from OpenIO's client (the file it comes from
is named), each answer checked literally against what OpenIO's proxy and meta2
answer (proxy/m2_actions.c, proxy/reply.c, meta2v2/meta2_utils.c). None of this
goes through oiocli's protocol module or proxy client.
"""

from __future__ import annotations

import hashlib
import os

import pytest
from wire import NS, chunk_headers, cid, md5, proxy, put_object, random_id, request

A = "wire"


def create_container(served, container: str, account: str = A, **body) -> None:
    # oio/container/client.py, container_create
    resp = proxy(
        served,
        "POST",
        "container/create",
        f"acct={account}&ref={container}",
        {"properties": body.get("properties", {}), "system": body.get("system", {})},
    )
    assert resp.status in (201, 204), resp


# -------------------------------------------------------------- discovery
def test_lb_choose(served):
    # oio/conscience/client.py, LbClient.next_instances: how the account service is found
    resp = proxy(served, "GET", "lb/choose", "type=account&size=1")
    assert resp.status == 200
    assert resp.json() == [{"addr": served.proxy.addr, "id": served.proxy.addr}]
    resp = proxy(served, "GET", "lb/choose", "type=rawx&size=3")
    addrs = [s["addr"] for s in resp.json()]
    assert resp.status == 200 and len(set(addrs)) == 3
    assert set(addrs) <= {r.addr for r in served.rawx}
    resp = proxy(served, "GET", "lb/choose", "type=nope")
    assert resp.status == 404 and resp.json()["status"] == 453  # CODE_SRVTYPE_NOTMANAGED


def test_conscience(served):
    # oio/conscience/client.py: info, all_services, flush, resolve
    info = proxy(served, "GET", "conscience/info")
    assert info.status == 200
    body = info.json()
    assert body["ns"] == NS and body["chunksize"] == 1024 * 1024
    assert body["storage_policy"]["EC"] == "NONE:EC"
    assert body["data_security"]["EC"] == "ec/algo=isa_l_rs_vand,k=6,m=3"
    assert body["data_security"]["THREECOPIES"] == "plain/nb_copy=3"
    types = proxy(served, "GET", "conscience/info", "what=types")
    assert {"rawx", "meta2", "account"} <= set(types.json())
    rawx = proxy(served, "GET", "conscience/list", "type=rawx").json()
    assert len(rawx) == len(served.rawx)
    assert all(s["score"] == 100 and s["tags"]["tag.up"] is True for s in rawx)
    assert {s["tags"]["tag.service_id"] for s in rawx} == {r.service_id for r in served.rawx}
    flush = proxy(served, "POST", "conscience/flush", "type=rawx")
    assert flush.status == 204 and flush.data == b""
    resolved = proxy(served, "GET", "conscience/resolve", "type=rawx&service_id=rawx-0")
    assert resolved.status == 200 and resolved.json() == {"addr": served.rawx[0].addr}
    served.rawx[1].stop()
    down = proxy(served, "GET", "conscience/list", "type=rawx").json()
    assert {s["addr"]: s["score"] for s in down}[served.rawx[1].addr] == 0
    choices = proxy(served, "GET", "lb/choose", f"type=rawx&size={len(served.rawx) - 1}").json()
    assert served.rawx[1].addr not in {s["addr"] for s in choices}


def test_config(served):
    # oio/api/object_storage.py, container_purge: GET /v3.0/config (no namespace in the path)
    resp = request("GET", f"{served.proxy_url}/v3.0/config")
    assert resp.status == 200 and resp.json()["meta2.max_versions"] == "1"


# -------------------------------------------------------------- containers
def test_container_create_show_properties(served):
    # oio/container/client.py: container_create, container_show, container_get_properties,
    # container_set_properties, container_del_properties; proxy/sqlx_actions.c
    resp = proxy(
        served,
        "POST",
        "container/create",
        f"acct={A}&ref=c1",
        {"properties": {"a": "1"}, "system": {}},
    )
    assert (resp.status, resp.data) == (201, b"")
    resp = proxy(
        served, "POST", "container/create", f"acct={A}&ref=c1", {"properties": {}, "system": {}}
    )
    assert (resp.status, resp.data) == (204, b"")
    show = proxy(served, "GET", "container/show", f"acct={A}&ref=c1")
    assert show.status == 200 and show.json() == {"properties": {"a": "1"}}
    sys_headers = show.meta("x-oio-container-meta-")
    assert sys_headers["sys-account"] == A and sys_headers["sys-user-name"] == "c1"
    assert sys_headers["sys-status"] == "0" and sys_headers["sys-m2-objects"] == "0"
    assert sys_headers["sys-m2-usage"] == "0" and sys_headers["sys-ns"] == NS
    assert sys_headers["sys-type"] == "meta2"
    assert sys_headers["sys-name"] == f"{cid(A, 'c1')}.1"
    assert "user-a" not in sys_headers  # user properties in the body only
    props = proxy(served, "POST", "container/get_properties", f"acct={A}&ref=c1", [])
    body = props.json()
    assert props.status == 200 and body["properties"] == {"a": "1"}
    for key in (
        "sys.account",
        "sys.user.name",
        "sys.status",
        "sys.m2.objects",
        "sys.m2.usage",
        "sys.m2.ctime",
        "sys.m2.chunks.missing",
        "sys.m2.objects.damaged",
    ):
        assert key in body["system"], key
    resp = proxy(
        served,
        "POST",
        "container/set_properties",
        f"acct={A}&ref=c1",
        {"properties": {"b": "2"}, "system": {"sys.m2.policy.version": "3"}},
    )
    assert (resp.status, resp.data) == (204, b"")
    body = proxy(served, "POST", "container/get_properties", f"acct={A}&ref=c1", []).json()
    assert body["properties"] == {"a": "1", "b": "2"}
    assert body["system"]["sys.m2.policy.version"] == "3"
    resp = proxy(
        served,
        "POST",
        "container/set_properties",
        f"acct={A}&ref=c1&flush=1",
        {"properties": {"c": "3"}},
    )
    assert resp.status == 204
    assert proxy(served, "GET", "container/show", f"acct={A}&ref=c1").json() == {
        "properties": {"c": "3"}
    }
    # del_properties prefixes every key with "user." (sqlx_actions.c): a system key stays.
    resp = proxy(
        served,
        "POST",
        "container/del_properties",
        f"acct={A}&ref=c1",
        ["c", "sys.m2.policy.version"],
    )
    assert resp.status == 204
    body = proxy(served, "POST", "container/get_properties", f"acct={A}&ref=c1", []).json()
    assert body["properties"] == {} and body["system"]["sys.m2.policy.version"] == "3"
    resp = proxy(served, "POST", "container/set_properties", f"acct={A}&ref=c1", {"properties": {}})
    assert resp.status == 400 and resp.json()["status"] == 400  # no properties
    resp = proxy(served, "GET", "container/show", f"acct={A}&ref=missing")
    assert resp.status == 404 and resp.json()["status"] == 431


def test_container_status_values(served):
    # oio/common/constants.py: OIO_DB_ENABLED 0, OIO_DB_FROZEN 2**32-1, OIO_DB_DISABLED 2**32-2;
    # oio/cli/container/container.py sets them as system properties; a frozen base answers
    # writes with 503 (CODE_CONTAINER_FROZEN 436), proxy/reply.c
    create_container(served, "st")
    put_object(served, A, "st", "before", b"data")
    resp = proxy(
        served,
        "POST",
        "container/set_properties",
        f"acct={A}&ref=st",
        {"properties": {}, "system": {"sys.status": "4294967295"}},
    )
    assert resp.status == 204
    show = proxy(served, "GET", "container/show", f"acct={A}&ref=st")
    assert show.headers["x-oio-container-meta-sys-status"] == "4294967295"
    resp = proxy(served, "POST", "content/delete", f"acct={A}&ref=st&path=before")
    assert resp.status == 503 and resp.json()["status"] == 436
    assert resp.headers["Retry-After"] == "1"
    resp = proxy(served, "POST", "content/prepare2", f"acct={A}&ref=st&path=x", {"size": 1})
    assert resp.status == 503 and resp.json()["status"] == 436
    # oio/container/client.py, container_enable / container_freeze: admin/* with type=meta2
    assert proxy(served, "POST", "admin/enable", f"acct={A}&ref=st&type=meta2").status == 204
    assert (
        proxy(served, "GET", "container/show", f"acct={A}&ref=st").headers[
            "x-oio-container-meta-sys-status"
        ]
        == "0"
    )
    assert proxy(served, "POST", "admin/freeze", f"acct={A}&ref=st&type=meta2").status == 204
    assert (
        proxy(served, "GET", "container/show", f"acct={A}&ref=st").headers[
            "x-oio-container-meta-sys-status"
        ]
        == "4294967295"
    )
    assert proxy(served, "POST", "admin/disable", f"acct={A}&ref=st&type=meta2").status == 204
    resp = proxy(served, "POST", "content/delete", f"acct={A}&ref=st&path=before")
    assert resp.status == 503 and resp.json()["status"] == 437
    resp = proxy(
        served,
        "POST",
        "container/set_properties",
        f"acct={A}&ref=st",
        {"system": {"sys.status": "frozen"}},
    )
    assert resp.status == 400
    assert proxy(served, "POST", "admin/enable", f"acct={A}&ref=st&type=meta2").status == 204
    assert proxy(served, "POST", "content/delete", f"acct={A}&ref=st&path=before").status == 204


def test_container_create_many_and_destroy(served):
    # oio/container/client.py, container_create_many; m2_actions.c, _m2_container_create_many
    resp = proxy(
        served,
        "POST",
        "container/create_many",
        f"acct={A}",
        {
            "containers": [
                {"name": "m1", "properties": {}, "system": {}},
                {"name": "m2", "properties": {"k": "v"}, "system": {}},
            ]
        },
    )
    assert resp.status == 200
    assert [(c["name"], c["status"]) for c in resp.json()["containers"]] == [
        ("m1", 201),
        ("m2", 201),
    ]
    resp = proxy(
        served, "POST", "container/create_many", f"acct={A}", {"containers": [{"name": "m1"}]}
    )
    assert resp.json()["containers"][0]["status"] == 433  # CODE_CONTAINER_EXISTS
    resp = proxy(
        served,
        "POST",
        "container/create_many",
        f"acct={A}",
        {"containers": [{"name": f"x{i}"} for i in range(101)]},
    )
    assert resp.status == 413  # proxy.bulk.max.create_many: the client splits the batch
    put_object(served, A, "m1", "o", b"x")
    resp = proxy(served, "POST", "container/destroy", f"acct={A}&ref=m1")
    assert resp.status == 409 and resp.json()["status"] == 438  # CODE_CONTAINER_NOTEMPTY
    assert proxy(served, "POST", "container/destroy", f"acct={A}&ref=m2").status == 204
    resp = proxy(served, "POST", "container/destroy", f"acct={A}&ref=m2")
    assert resp.status == 404 and resp.json()["status"] == 431


def test_container_list(served):
    # oio/container/client.py, content_list; m2_actions.c, action_container_list
    for name in ("1/a", "1/b", "2/c", "a", "b"):
        put_object(served, A, "lst", name, name.encode())
    resp = proxy(served, "GET", "container/list", f"acct={A}&ref=lst")
    assert resp.status == 200
    body = resp.json()
    assert set(body) == {"prefixes", "properties", "system", "objects"}
    assert [o["name"] for o in body["objects"]] == ["1/a", "1/b", "2/c", "a", "b"]
    obj = body["objects"][3]
    assert {
        "name",
        "version",
        "ctime",
        "mtime",
        "deleted",
        "id",
        "content",
        "policy",
        "chunk-method",
        "hash",
        "size",
        "mime-type",
    } <= set(obj)
    assert obj["hash"] == md5(b"a") and obj["size"] == 1 and obj["deleted"] is False
    assert obj["id"] == obj["content"] and obj["chunk-method"] == "plain/nb_copy=1"
    assert isinstance(obj["ctime"], int) and obj["ctime"] < 10**11  # seconds
    assert resp.headers["x-oio-list-truncated"] == "false"
    assert "x-oio-list-marker" not in resp.headers
    assert resp.headers["x-oio-container-meta-sys-m2-objects"] == "5"
    resp = proxy(served, "GET", "container/list", f"acct={A}&ref=lst&max=2")
    assert [o["name"] for o in resp.json()["objects"]] == ["1/a", "1/b"]
    assert resp.headers["x-oio-list-truncated"] == "true"
    assert resp.headers["x-oio-list-marker"] == "1%2Fb"
    resp = proxy(served, "GET", "container/list", f"acct={A}&ref=lst&marker=1%2Fb&max=2")
    assert [o["name"] for o in resp.json()["objects"]] == ["2/c", "a"]
    resp = proxy(served, "GET", "container/list", f"acct={A}&ref=lst&delimiter=%2F")
    assert resp.json()["prefixes"] == ["1/", "2/"]
    assert [o["name"] for o in resp.json()["objects"]] == ["a", "b"]
    resp = proxy(served, "GET", "container/list", f"acct={A}&ref=lst&prefix=1%2F")
    assert [o["name"] for o in resp.json()["objects"]] == ["1/a", "1/b"]
    resp = proxy(served, "GET", "container/list", f"acct={A}&ref=lst&end_marker=2")
    assert [o["name"] for o in resp.json()["objects"]] == ["1/a", "1/b"]
    proxy(
        served,
        "POST",
        "content/set_properties",
        f"acct={A}&ref=lst&path=a",
        {"properties": {"k": "v"}},
    )
    resp = proxy(served, "GET", "container/list", f"acct={A}&ref=lst&properties=true&prefix=a")
    assert resp.json()["objects"][0]["properties"] == {"k": "v"}


def test_container_touch_purge_flush(served):
    # oio/container/client.py: container_touch, container_purge, container_flush
    put_object(served, A, "tpf", "o", b"x")
    resp = proxy(served, "POST", "container/touch", f"acct={A}&ref=tpf")
    assert (resp.status, resp.data) == (204, b"")
    resp = proxy(served, "POST", "container/touch", f"acct={A}&ref=nope")
    assert resp.status == 403  # a missing container is forbidden here (m2_actions.c)
    assert proxy(served, "POST", "container/purge", f"acct={A}&ref=tpf&maxvers=1").status == 204
    resp = proxy(served, "POST", "container/flush", f"acct={A}&ref=tpf")
    assert resp.status == 204 and resp.headers["x-oio-truncated"] == "false"
    assert proxy(served, "GET", "container/list", f"acct={A}&ref=tpf").json()["objects"] == []


# -------------------------------------------------------------- contents
def test_prepare2(served):
    # oio/container/client.py, content_prepare; m2_actions.c, _action_m2_content_prepare
    create_container(served, "prep")
    resp = proxy(
        served,
        "POST",
        "content/prepare2",
        f"acct={A}&ref=prep&path=o",
        {"size": 1, "position": 0, "policy": "EC"},
    )
    assert resp.status == 200
    assert resp.headers["x-oio-ns-chunk-size"] == str(1024 * 1024)
    meta = resp.meta("x-oio-content-meta-")
    assert meta["policy"] == "EC" and meta["chunk-method"] == "ec/algo=isa_l_rs_vand,k=6,m=3"
    assert meta["name"] == "o" and meta["deleted"] == "False" and meta["hash-method"] == "md5"
    assert len(meta["id"]) == 32 and int(meta["version"]) > 10**15  # microseconds
    body = resp.json()
    assert set(body) == {"chunks", "properties"}
    assert sorted(c["pos"] for c in body["chunks"]) == [f"0.{i}" for i in range(9)]
    assert all(
        set(c) >= {"url", "real_url", "pos", "size", "hash", "score"} for c in body["chunks"]
    )
    # The content id and version given are kept (a truncate re-uploads into its content).
    resp = proxy(
        served,
        "POST",
        "content/prepare2",
        f"acct={A}&ref=prep&path=o&content={'AB' * 16}&version=42",
        {"size": 1, "position": 3},
    )
    meta = resp.meta("x-oio-content-meta-")
    assert (meta["id"], meta["version"]) == ("AB" * 16, "42")
    assert [c["pos"] for c in resp.json()["chunks"]] == ["3"]
    legacy = proxy(served, "POST", "content/prepare", f"acct={A}&ref=prep&path=o", {"size": 1})
    assert legacy.status == 200 and isinstance(legacy.json(), list)
    resp = proxy(
        served,
        "POST",
        "content/prepare2",
        f"acct={A}&ref=prep&path=o",
        {"size": 1, "policy": "NOPE"},
    )
    assert resp.status == 500 and resp.json()["status"] == 480  # CODE_POLICY_NOT_SUPPORTED
    resp = proxy(served, "POST", "content/prepare2", f"acct={A}&ref=prep&path=o", {})
    assert resp.status == 400  # "Missing size estimation"


def test_autocreation_at_commit_with_container_properties(served):
    # oio/api/object_storage.py, _object_create: prepare2 and content/create both carry
    # x-oio-action-mode: autocreate; content/create's body has container_properties
    # (m2_actions.c, action_m2_content_create creates the container with them)
    def prepare(container: str, autocreate: bool) -> tuple[dict, str]:
        headers = {"x-oio-action-mode": "autocreate"} if autocreate else {}
        resp = proxy(
            served,
            "POST",
            "content/prepare2",
            f"acct={A}&ref={container}&path=o",
            {"size": 4},
            headers,
        )
        assert resp.status == 200  # a missing container is no error here
        meta = resp.meta("x-oio-content-meta-")
        url = resp.json()["chunks"][0]["url"]
        put = chunk_headers(A, container, "o", int(meta["version"]), meta["id"])
        assert request("PUT", url, b"data", put).status == 201
        return meta, url

    def commit(container: str, meta: dict, url: str, autocreate: bool) -> int:
        body = {
            "chunks": [{"url": url, "pos": "0", "size": 4, "hash": md5(b"data")}],
            "properties": {},
            "container_properties": {
                "properties": {"made": "by-upload"},
                "system": {"sys.m2.policy.version": "2"},
            },
        }
        headers = {
            "x-oio-content-meta-length": "4",
            "x-oio-content-meta-id": meta["id"],
            "x-oio-content-meta-policy": "SINGLE",
            "x-oio-content-meta-version": meta["version"],
            "x-oio-content-meta-chunk-method": "plain/nb_copy=1",
        }
        if autocreate:
            headers["x-oio-action-mode"] = "autocreate"
        return proxy(
            served, "POST", "content/create", f"acct={A}&ref={container}&path=o", body, headers
        ).status

    meta, url = prepare("auto", autocreate=True)
    assert proxy(served, "GET", "container/show", f"acct={A}&ref=auto").status == 404
    other, other_url = prepare("auto", autocreate=False)
    assert commit("auto", other, other_url, autocreate=False) == 404
    assert proxy(served, "GET", "container/show", f"acct={A}&ref=auto").status == 404
    assert commit("auto", meta, url, autocreate=True) == 204
    props = proxy(served, "POST", "container/get_properties", f"acct={A}&ref=auto", []).json()
    assert props["properties"] == {"made": "by-upload"}
    assert props["system"]["sys.m2.policy.version"] == "2"
    # Not OpenIO's: an autocreation asked at prepare holds for that content's commit.
    meta, url = prepare("auto2", autocreate=True)
    assert commit("auto2", meta, url, autocreate=False) == 204
    assert proxy(served, "GET", "container/show", f"acct={A}&ref=auto2").json() == {
        "properties": {"made": "by-upload"}
    }


def test_create_takes_header_values_raw(served):
    # oio/container/client.py, content_create sends x-oio-content-meta-* raw; the proxy
    # stores what arrives (m2_actions.c, _load_alias_from_headers)
    info = put_object(served, A, "raw", "o", b"payload")
    raw_mime = "text/plain; charset=utf-8; x=%41"
    prep = proxy(served, "POST", "content/prepare2", f"acct={A}&ref=raw&path=m", {"size": 3})
    meta = prep.meta("x-oio-content-meta-")
    chunk = prep.json()["chunks"][0]
    headers = {
        "X-oio-Chunk-Meta-Full-Path": f"{A}/raw/m/{meta['version']}/{meta['id']}",
        "X-oio-Chunk-Meta-Content-Storage-Policy": "SINGLE",
        "X-oio-Chunk-Meta-Content-Chunk-Method": "plain/nb_copy=1",
        "X-oio-Chunk-Meta-Chunk-Pos": "0",
    }
    assert request("PUT", chunk["url"], b"abc", headers).status == 201
    create_headers = {
        "x-oio-content-meta-length": "3",
        "x-oio-content-meta-hash": hashlib.md5(b"abc").hexdigest(),  # lowercase, as sent
        "x-oio-content-meta-id": meta["id"],
        "x-oio-content-meta-policy": "SINGLE",
        "x-oio-content-meta-version": meta["version"],
        "x-oio-content-meta-mime-type": raw_mime,
        "x-oio-content-meta-chunk-method": "plain/nb_copy=1",
    }
    body = {
        "chunks": [{"url": chunk["url"], "pos": "0", "size": 3, "hash": md5(b"abc")}],
        "properties": {"p": "1"},
    }
    resp = proxy(served, "POST", "content/create", f"acct={A}&ref=raw&path=m", body, create_headers)
    assert (resp.status, resp.data) == (204, b"")
    loc = proxy(served, "GET", "content/locate", f"acct={A}&ref=raw&path=m")
    assert loc.headers["x-oio-content-meta-mime-type"] == raw_mime
    assert loc.headers["x-oio-content-meta-hash"] == md5(b"abc")  # stored uppercase
    listed = proxy(served, "GET", "container/list", f"acct={A}&ref=raw&prefix=m").json()
    assert listed["objects"][0]["mime-type"] == raw_mime
    for missing in ("x-oio-content-meta-id", "x-oio-content-meta-length"):
        headers = dict(create_headers)
        del headers[missing]
        resp = proxy(served, "POST", "content/create", f"acct={A}&ref=raw&path=n", body, headers)
        assert resp.status == 400, missing
    headers = dict(create_headers, **{"x-oio-content-meta-hash": "not-hex"})
    assert (
        proxy(served, "POST", "content/create", f"acct={A}&ref=raw&path=n", body, headers).status
        == 400
    )
    assert info["id"]


def test_locate(served):
    # oio/container/client.py, content_locate; m2_actions.c, action_content_show
    info = put_object(served, A, "loc", "dir/o", b"0123456789", policy="TWOCOPIES")
    proxy(
        served,
        "POST",
        "content/set_properties",
        f"acct={A}&ref=loc&path=dir%2Fo",
        {"properties": {"color": "blue sky"}},
    )
    resp = proxy(served, "GET", "content/locate", f"acct={A}&ref=loc&path=dir%2Fo")
    assert resp.status == 200
    meta = resp.meta("x-oio-content-meta-")
    assert meta["name"] == "dir%2Fo" and meta["id"] == info["id"]
    assert (meta["size"], meta["length"]) == ("10", "10")
    assert meta["policy"] == "TWOCOPIES" and meta["chunk-method"] == "plain/nb_copy=2"
    assert meta["hash"] == md5(b"0123456789") and meta["hash-method"] == "md5"
    assert meta["mime-type"] == "application/octet-stream" and meta["deleted"] == "False"
    assert meta["version"] == str(info["version"]) and int(meta["ctime"]) < 10**11
    assert meta["color"] == "blue%20sky"  # legacy format: properties as quoted headers
    chunks = resp.json()
    assert sorted(c["url"] for c in chunks) == sorted(c["url"] for c in info["chunks"])
    for chunk in chunks:
        assert (chunk["pos"], chunk["size"], chunk["hash"]) == ("0", 10, md5(b"0123456789"))
        assert chunk["real_url"] == chunk["url"] and chunk["score"] == 100
    resp = proxy(served, "GET", "content/show", f"acct={A}&ref=loc&path=dir%2Fo&properties=false")
    assert resp.status == 200 and "x-oio-content-meta-color" not in resp.headers
    # By content id, without path (m2db_get_alias).
    resp = proxy(served, "GET", "content/locate", f"acct={A}&ref=loc&content={info['id']}")
    assert resp.status == 200 and resp.headers["x-oio-content-meta-name"] == "dir%2Fo"
    resp = proxy(served, "GET", "content/locate", f"acct={A}&ref=loc&path=nope")
    assert resp.status == 404 and resp.json()["status"] == 420
    resp = proxy(served, "GET", "content/locate", f"acct={A}&ref=nope&path=nope")
    assert resp.status == 404 and resp.json()["status"] == 431


def test_object_properties(served):
    # oio/api/object_storage.py, object_set_properties sends {"properties": {...}};
    # meta2_utils.c, m2db_set_properties: an empty value deletes, the mtime stays
    put_object(served, A, "props", "o", b"x")
    before = proxy(served, "POST", "content/get_properties", f"acct={A}&ref=props&path=o")
    resp = proxy(
        served,
        "POST",
        "content/set_properties",
        f"acct={A}&ref=props&path=o",
        {"properties": {"a": "1", "b": "2"}},
    )
    assert (resp.status, resp.data) == (204, b"")
    got = proxy(served, "POST", "content/get_properties", f"acct={A}&ref=props&path=o")
    assert got.status == 200 and got.json() == {"properties": {"a": "1", "b": "2"}}
    assert got.headers["x-oio-content-meta-mtime"] == before.headers["x-oio-content-meta-mtime"]
    assert got.headers["x-oio-content-meta-name"] == "o"
    proxy(
        served,
        "POST",
        "content/set_properties",
        f"acct={A}&ref=props&path=o",
        {"properties": {"b": ""}},
    )
    assert proxy(served, "POST", "content/get_properties", f"acct={A}&ref=props&path=o").json() == {
        "properties": {"a": "1"}
    }
    proxy(
        served,
        "POST",
        "content/set_properties",
        f"acct={A}&ref=props&path=o&flush=1",
        {"properties": {"c": "3"}},
    )
    assert proxy(served, "POST", "content/get_properties", f"acct={A}&ref=props&path=o").json() == {
        "properties": {"c": "3"}
    }
    resp = proxy(served, "POST", "content/del_properties", f"acct={A}&ref=props&path=o", ["c"])
    assert resp.status == 204
    assert proxy(served, "POST", "content/get_properties", f"acct={A}&ref=props&path=o").json() == {
        "properties": {}
    }
    resp = proxy(served, "POST", "content/del_properties", f"acct={A}&ref=props&path=o", {"c": 1})
    assert resp.status == 400  # "Array argument expected"
    resp = proxy(
        served,
        "POST",
        "content/set_properties",
        f"acct={A}&ref=props&path=o&content={'AB' * 16}",
        {"properties": {"x": "1"}},
    )
    assert resp.status == 400  # "Content. not allowed in the URL"


def test_delete_markers(served):
    # meta2_utils.c, m2db_delete_alias: with versioning, a marker (version latest + 1);
    # deleting a name whose latest is a marker removes the marker
    create_container(served, "dm", system={"sys.m2.policy.version": "-1"})
    info = put_object(served, A, "dm", "o", b"versioned")
    resp = proxy(served, "POST", "content/delete", f"acct={A}&ref=dm&path=o")
    assert (resp.status, resp.data) == (204, b"")
    resp = proxy(served, "GET", "content/locate", f"acct={A}&ref=dm&path=o")
    assert resp.status == 404 and resp.json() == {"status": 426, "message": "Alias deleted"}
    props = proxy(served, "POST", "content/get_properties", f"acct={A}&ref=dm&path=o")
    assert props.status == 200 and props.json() == {"properties": {}}
    meta = props.meta("x-oio-content-meta-")
    assert meta["deleted"] == "True" and meta["version"] == str(info["version"] + 1)
    assert "size" not in meta and "policy" not in meta  # a marker has no content header
    listed = proxy(served, "GET", "container/list", f"acct={A}&ref=dm&all=1").json()["objects"]
    assert [(o["deleted"], o["version"]) for o in listed] == [
        (True, info["version"] + 1),
        (False, info["version"]),
    ]
    assert listed[0]["mime-type"] == "application/x-deleted" and listed[0]["size"] is None
    assert proxy(served, "GET", "container/list", f"acct={A}&ref=dm").json()["objects"] == []
    assert (
        len(proxy(served, "GET", "container/list", f"acct={A}&ref=dm&deleted=1").json()["objects"])
        == 1
    )
    assert proxy(served, "POST", "content/delete", f"acct={A}&ref=dm&path=o").status == 204
    resp = proxy(served, "GET", "content/locate", f"acct={A}&ref=dm&path=o")
    assert resp.status == 200 and resp.headers["x-oio-content-meta-version"] == str(info["version"])


def test_drained(served):
    # m2_actions.c, _reply_m2_error: CODE_CONTENT_DRAINED -> 410 Gone
    put_object(served, A, "drn", "o", b"drain me")
    assert proxy(served, "POST", "content/drain", f"acct={A}&ref=drn&path=o").status == 204
    resp = proxy(served, "GET", "content/locate", f"acct={A}&ref=drn&path=o")
    assert resp.status == 410 and resp.json()["status"] == 427
    props = proxy(served, "POST", "content/get_properties", f"acct={A}&ref=drn&path=o")
    assert props.status == 200
    assert props.headers["x-oio-content-meta-chunk-method"] == "drained"
    assert props.headers["x-oio-content-meta-size"] == "8"
    resp = proxy(served, "POST", "content/truncate", f"acct={A}&ref=drn&path=o&size=1")
    assert resp.status == 410 and resp.json()["status"] == 427
    resp = proxy(served, "POST", "content/drain", f"acct={A}&ref=drn&path=nope")
    assert resp.status == 404 and resp.json()["status"] == 420


def test_update_then_truncate(served):
    # oio/api/object_storage.py, object_truncate: the metachunk cut is re-uploaded into the
    # same content (prepare2 with content=<id>, content/update?id=<id>), then
    # content/truncate; meta2 only cuts on metachunk boundaries (m2db_truncate_content)
    info = put_object(served, A, "tr", "o", b"0123456789")
    resp = proxy(served, "POST", "content/truncate", f"acct={A}&ref=tr&path=o&size=4")
    assert resp.status == 400 and "boundary" in resp.json()["message"]
    prep = proxy(
        served,
        "POST",
        "content/prepare2",
        f"acct={A}&ref=tr&path=o&content={info['id']}",
        {"size": 1},
    )
    meta = prep.meta("x-oio-content-meta-")
    url = prep.json()["chunks"][0]["url"]
    headers = {
        "X-oio-Chunk-Meta-Full-Path": f"{A}/tr/o/{meta['version']}/{info['id']}",
        "X-oio-Chunk-Meta-Content-Storage-Policy": "SINGLE",
        "X-oio-Chunk-Meta-Content-Chunk-Method": "plain/nb_copy=1",
        "X-oio-Chunk-Meta-Chunk-Pos": "0",
    }
    assert request("PUT", url, b"0123", headers).status == 201
    resp = proxy(
        served,
        "POST",
        "content/update",
        f"acct={A}&ref=tr&path=o&id={info['id']}",
        [{"url": url, "pos": "0", "size": 4, "hash": md5(b"0123")}],
        {"x-oio-content-meta-length": "4", "x-oio-content-meta-id": info["id"]},
    )
    assert (resp.status, resp.data) == (204, b"")
    loc = proxy(served, "GET", "content/locate", f"acct={A}&ref=tr&path=o")
    assert loc.headers["x-oio-content-meta-size"] == "4"
    assert "x-oio-content-meta-hash" not in loc.headers  # cleared, as meta2 does
    assert [c["url"] for c in loc.json()] == [url]
    assert proxy(served, "POST", "content/truncate", f"acct={A}&ref=tr&path=o&size=4").status == 204
    for bad in ("size=5", "size=abc", ""):
        resp = proxy(served, "POST", "content/truncate", f"acct={A}&ref=tr&path=o&{bad}")
        assert resp.status == 400, bad
    for old in info["chunks"]:  # replaced: gone with the old metachunk
        assert not os.path.exists(served.file_path(old["url"]))


def test_delete_many_touch_purge(served):
    # oio/container/client.py, content_delete_many / content_touch / content_purge
    for name in ("a", "b"):
        put_object(served, A, "dmany", name, name.encode())
    assert proxy(served, "POST", "content/touch", f"acct={A}&ref=dmany&path=a").status == 204
    resp = proxy(served, "POST", "content/touch", f"acct={A}&ref=dmany&path=zz")
    assert resp.status == 404 and resp.json()["status"] == 420
    assert (
        proxy(served, "POST", "content/purge", f"acct={A}&ref=dmany&path=a&maxvers=1").status == 204
    )
    resp = proxy(
        served,
        "POST",
        "content/delete_many",
        f"acct={A}&ref=dmany",
        {"contents": [{"name": "a"}, {"name": "zz"}, {"name": "b"}]},
    )
    assert resp.status == 200
    assert [(c["name"], c["status"]) for c in resp.json()["contents"]] == [
        ("a", 204),
        ("zz", 420),
        ("b", 204),
    ]
    resp = proxy(served, "POST", "content/delete_many", f"acct={A}&ref=dmany", {"contents": []})
    assert resp.status == 400
    resp = proxy(
        served,
        "POST",
        "content/delete_many",
        f"acct={A}&ref=dmany",
        {"contents": [{"name": f"n{i}"} for i in range(101)]},
    )
    assert resp.status == 413  # the client splits the batch


def test_reference(served):
    # oio/directory/client.py (resolve_cid: show by cid); proxy/dir_actions.c
    create_container(served, "ref")
    resp = proxy(served, "GET", "reference/show", f"acct={A}&ref=ref")
    assert resp.status == 200
    body = resp.json()
    assert (body["account"], body["name"], body["cid"]) == (A, "ref", cid(A, "ref"))
    assert body["srv"] == [{"seq": 1, "type": "meta2", "host": served.proxy.addr, "args": ""}]
    resp = proxy(served, "GET", "reference/show", f"cid={cid(A, 'ref')}")
    assert resp.json()["name"] == "ref"
    resp = proxy(served, "POST", "reference/get_properties", f"acct={A}&ref=ref", [])
    assert resp.json() == {"cid": cid(A, "ref"), "properties": {}}
    resp = proxy(served, "GET", "reference/show", f"acct={A}&ref=nope")
    assert resp.status == 404 and resp.json()["status"] == 406  # CODE_USER_NOTFOUND


def test_events_extension(served):
    # Not OpenIO's: oiocli's view of the namespace's event journal.
    put_object(served, A, "ev", "o", b"x")
    events = proxy(served, "GET", "oiocli/events", "limit=1000").json()
    assert any(e["type"] == "content.new" and e["data"]["name"] == "o" for e in events)


def test_errors(served):
    # proxy/reply.c: {"status": <code>, "message": ...}
    resp = proxy(served, "GET", "no/such")
    assert resp.status == 404 and set(resp.json()) == {"status", "message"}
    resp = request("GET", f"{served.proxy_url}/v3.0/OTHER/container/list?acct=a&ref=b")
    assert resp.status == 400 and resp.json()["status"] == 418  # CODE_NAMESPACE_NOTMANAGED
    resp = proxy(served, "GET", "container/list", "acct=a&ref=%FF")
    assert resp.status == 400  # strict UTF-8, as OpenIO's proxy runs
    resp = proxy(served, "POST", "container/create", f"acct={A}&ref=bad", b"{not json")
    assert resp.status == 400
    resp = proxy(served, "POST", "container/create", f"acct={A}", {})
    assert resp.status == 400


# -------------------------------------------------------------- snapshot
def test_snapshot_as_openio_client_makes_it(served):
    """oio/api/object_storage.py, container_snapshot: freeze, container/snapshot, rawx COPY
    of every chunk with the copy's full path, container/raw_update?frozen=1 (old = the
    source's chunk, new = the link), container/touch, admin/enable. The source's data is
    never touched (raw_update once deleted it)."""
    data = os.urandom(5000)
    src = put_object(served, A, "snapsrc", "o", data, policy="TWOCOPIES")
    q = f"acct={A}&ref=snapsrc"
    assert proxy(served, "POST", "admin/freeze", q + "&type=meta2").status == 204
    resp = proxy(served, "POST", "container/snapshot", q, {"account": A, "container": "snapdst"})
    assert (resp.status, resp.data) == (204, b"")
    for dst in ("snapdst", "snapsrc"):
        resp = proxy(served, "POST", "container/snapshot", q, {"account": A, "container": dst})
        assert resp.status == 400  # existing destination, or the source itself
    resp = proxy(
        served,
        "POST",
        "container/snapshot",
        f"acct={A}&ref=nope",
        {"account": A, "container": "other"},
    )
    assert resp.status == 404 and resp.json()["status"] == 431
    listed = proxy(served, "GET", "container/list", f"acct={A}&ref=snapdst&all=1").json()
    obj = listed["objects"][0]
    full_path = f"{A}/snapdst/o/{obj['version']}/{obj['content']}"
    old, new = [], []
    for chunk in src["chunks"]:
        link = chunk["url"][:-60] + random_id()[:60]
        resp = request(
            "COPY",
            chunk["url"],
            headers={"Destination": link, "X-oio-Chunk-Meta-Full-Path": full_path},
        )
        assert resp.status == 201
        bean = {
            "type": "chunk",
            "hash": chunk["hash"],
            "size": chunk["size"],
            "pos": "0",
            "content": obj["content"],
        }
        old.append(dict(bean, id=chunk["url"]))
        new.append(dict(bean, id=link))
    dq = f"acct={A}&ref=snapdst"
    resp = proxy(served, "POST", "container/raw_update", dq, {"old": old, "new": new})
    assert resp.status == 503 and resp.json()["status"] == 436  # frozen, no frozen=1
    resp = proxy(
        served, "POST", "container/raw_update", dq + "&frozen=1", {"old": old, "new": new[:1]}
    )
    assert resp.status == 400  # length mismatch
    resp = proxy(
        served,
        "POST",
        "container/raw_update",
        dq + "&frozen=1",
        {"old": [dict(old[0], id=new[0]["id"][:-1] + "0")], "new": new[:1]},
    )
    assert resp.status == 404 and resp.json()["status"] == 420  # bean not found
    resp = proxy(served, "POST", "container/raw_update", dq + "&frozen=1", {"old": old, "new": new})
    assert (resp.status, resp.data) == (204, b"")
    assert proxy(served, "POST", "container/touch", dq).status == 204
    assert proxy(served, "POST", "admin/enable", q + "&type=meta2").status == 204
    # The source: same chunks, same data. The copy: the links, each once.
    loc = proxy(served, "GET", "content/locate", q + "&path=o").json()
    assert sorted(c["url"] for c in loc) == sorted(c["url"] for c in src["chunks"])
    for chunk in src["chunks"]:
        assert request("GET", chunk["url"]).data == data
    copy = proxy(served, "GET", "content/locate", dq + "&path=o").json()
    assert sorted(c["url"] for c in copy) == sorted(b["id"] for b in new)
    for bean in new:
        got = request("GET", bean["id"])
        assert got.data == data
        assert got.headers["x-oio-chunk-meta-full-path"] == full_path
    # Nothing but the source's and the copy's chunks is left on disk.
    on_disk = {
        f for v in served.ns.volumes for _d, _s, fs in os.walk(v) for f in fs if len(f) == 64
    }
    mine = {u.rsplit("/", 1)[1] for u in [c["url"] for c in src["chunks"]] + [b["id"] for b in new]}
    assert mine <= on_disk
    proxy(served, "POST", "content/delete", q + "&path=o")
    for bean in new:
        assert request("GET", bean["id"]).data == data


@pytest.mark.parametrize("policy", ["SINGLE", "EC21"])
def test_snapshot_by_oiocli_relink_in_copy(served, policy):
    """A client that locates in the copy (as oiocli's does) swaps the copy's own records;
    the links `namespace serve` made at snapshot time are then dropped."""
    src = put_object(served, A, f"ss-{policy}", "o", b"abc" * 100, policy=policy)
    q = f"acct={A}&ref=ss-{policy}"
    proxy(served, "POST", "container/snapshot", q, {"account": A, "container": f"sd-{policy}"})
    dq = f"acct={A}&ref=sd-{policy}"
    located = proxy(served, "GET", "content/locate", dq + "&path=o").json()
    meta_id = proxy(served, "GET", "content/locate", dq + "&path=o").headers[
        "x-oio-content-meta-id"
    ]
    version = proxy(served, "GET", "content/locate", dq + "&path=o").headers[
        "x-oio-content-meta-version"
    ]
    old, new = [], []
    for chunk in located:
        link = chunk["url"][:-64] + random_id()
        resp = request(
            "COPY",
            chunk["url"],
            headers={
                "Destination": link,
                "X-oio-Chunk-Meta-Full-Path": f"{A}/sd-{policy}/o/{version}/{meta_id}",
            },
        )
        assert resp.status == 201
        bean = {
            "type": "chunk",
            "hash": chunk["hash"],
            "size": chunk["size"],
            "pos": chunk["pos"],
            "content": meta_id,
        }
        old.append(dict(bean, id=chunk["url"]))
        new.append(dict(bean, id=link))
    resp = proxy(served, "POST", "container/raw_update", dq + "&frozen=1", {"old": old, "new": new})
    assert resp.status == 204
    for bean in old:  # the snapshot's own links: superseded, and removed
        assert not os.path.exists(served.file_path(bean["id"]))
    for chunk in src["chunks"]:  # the source's: untouched
        assert os.path.exists(served.file_path(chunk["url"]))
