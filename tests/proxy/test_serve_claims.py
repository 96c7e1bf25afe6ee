"""No object claims another's chunks through `oio namespace serve`.

A commit (content/create, content/update, container/raw_update) may only
reference chunks this namespace's rawx stored for that very object: its
container, its content id, its chunk method; and none that an object already
references. Otherwise deleting the claiming object would delete data another
object still needs (OpenIO's meta2 refuses a chunk id it already has, too).
"""

from __future__ import annotations

import hashlib
import os
import threading

from wire import chunk_headers, md5, proxy, put_object, random_id, request

A = "claims"


def create_headers(content_id: str, size: int, method: str = "plain/nb_copy=1") -> dict:
    # oio/container/client.py, content_create
    return {
        "x-oio-action-mode": "autocreate",
        "x-oio-content-meta-length": str(size),
        "x-oio-content-meta-id": content_id,
        "x-oio-content-meta-policy": "SINGLE",
        "x-oio-content-meta-version": "1",
        "x-oio-content-meta-chunk-method": method,
    }


def readable(served, container: str, name: str, data: bytes) -> bool:
    resp = proxy(served, "GET", "content/locate", f"acct={A}&ref={container}&path={name}")
    return resp.status == 200 and all(request("GET", c["url"]).data == data for c in resp.json())


def test_create_naming_another_objects_chunk_is_refused(served):
    """The reproduction: b's commit names a.txt's chunk; deleting b then destroyed a.txt."""
    data = os.urandom(1000)
    a = put_object(served, A, "c", "a.txt", data)
    for content_id in (random_id()[:32], a["id"]):  # a fresh content id, or a.txt's own
        resp = proxy(
            served,
            "POST",
            "content/create",
            f"acct={A}&ref=c&path=b",
            {"chunks": a["chunks"]},
            create_headers(content_id, len(data)),
        )
        assert resp.status == 400 and "already belongs" in resp.json()["message"], resp
    assert proxy(served, "POST", "content/delete", f"acct={A}&ref=c&path=b").status == 404
    assert readable(served, "c", "a.txt", data)
    # From another container, with a.txt's content id: the chunk is not that container's.
    resp = proxy(
        served,
        "POST",
        "content/create",
        f"acct={A}&ref=other&path=b",
        {"chunks": a["chunks"]},
        create_headers(a["id"], len(data)),
    )
    assert resp.status == 400 and "was not written for" in resp.json()["message"]
    assert proxy(served, "GET", "container/show", f"acct={A}&ref=other").status == 404
    assert readable(served, "c", "a.txt", data)


def test_chunks_must_be_stored_for_this_content(served):
    data = b"payload"
    prep = proxy(
        served,
        "POST",
        "content/prepare2",
        f"acct={A}&ref=c2&path=o",
        {"size": len(data)},
        {"x-oio-action-mode": "autocreate"},
    )
    url = prep.json()["chunks"][0]["url"]
    record = {"url": url, "pos": "0", "size": len(data), "hash": md5(data)}
    body = {"chunks": [record]}
    # Never uploaded.
    resp = proxy(
        served,
        "POST",
        "content/create",
        f"acct={A}&ref=c2&path=o",
        body,
        create_headers("AB" * 16, len(data)),
    )
    assert resp.status == 400 and "was not stored here" in resp.json()["message"]
    # Uploaded for another content id.
    assert request("PUT", url, data, chunk_headers(A, "c2", "o", 1, "CD" * 16)).status == 201
    resp = proxy(
        served,
        "POST",
        "content/create",
        f"acct={A}&ref=c2&path=o",
        body,
        create_headers("AB" * 16, len(data)),
    )
    assert resp.status == 400 and "was not written for" in resp.json()["message"]
    # Listed twice.
    resp = proxy(
        served,
        "POST",
        "content/create",
        f"acct={A}&ref=c2&path=o",
        {"chunks": [record, record]},
        create_headers("CD" * 16, len(data)),
    )
    assert resp.status == 400 and "twice" in resp.json()["message"]
    # Written as a replica, committed as an EC fragment.
    resp = proxy(
        served,
        "POST",
        "content/create",
        f"acct={A}&ref=c2&path=o",
        {"chunks": [dict(record, pos="0.0")]},
        create_headers("CD" * 16, len(data), "ec/algo=isa_l_rs_vand,k=6,m=3"),
    )
    assert resp.status == 400
    # As stored: accepted.
    resp = proxy(
        served,
        "POST",
        "content/create",
        f"acct={A}&ref=c2&path=o",
        body,
        create_headers("CD" * 16, len(data)),
    )
    assert resp.status == 204
    assert readable(served, "c2", "o", data)


def test_update_and_raw_update_cannot_claim_either(served):
    data_a, data_b = os.urandom(500), os.urandom(500)
    a = put_object(served, A, "c3", "a", data_a)
    b = put_object(served, A, "c3", "b", data_b)
    # content/update of b with a's chunk.
    resp = proxy(
        served,
        "POST",
        "content/update",
        f"acct={A}&ref=c3&path=b&id={b['id']}",
        a["chunks"],
        {"x-oio-content-meta-id": b["id"]},
    )
    assert resp.status == 400
    # raw_update of b's record to a's chunk.
    bean = {"type": "chunk", "pos": "0", "size": 500, "content": b["id"]}
    resp = proxy(
        served,
        "POST",
        "container/raw_update",
        f"acct={A}&ref=c3",
        {
            "old": [dict(bean, id=b["chunks"][0]["url"], hash=md5(data_b))],
            "new": [dict(bean, id=a["chunks"][0]["url"], hash=md5(data_a))],
        },
    )
    assert resp.status == 400
    assert proxy(served, "POST", "content/delete", f"acct={A}&ref=c3&path=b").status == 204
    assert readable(served, "c3", "a", data_a)


def test_two_commits_racing_for_the_same_chunks(served):
    """Two commits naming the same fresh chunks at once: exactly one gets them."""
    data = os.urandom(2000)
    content_id = "EF" * 16
    prep = proxy(
        served,
        "POST",
        "content/prepare2",
        f"acct={A}&ref=c4&path=x&content={content_id}",
        {"size": len(data)},
        {"x-oio-action-mode": "autocreate"},
    )
    url = prep.json()["chunks"][0]["url"]
    assert request("PUT", url, data, chunk_headers(A, "c4", "x", 1, content_id)).status == 201
    body = {"chunks": [{"url": url, "pos": "0", "size": len(data), "hash": md5(data)}]}
    results: list[int] = []

    def commit(name: str) -> None:
        headers = create_headers(content_id, len(data))
        headers["x-oio-content-meta-hash"] = hashlib.md5(data).hexdigest()
        resp = proxy(
            served, "POST", "content/create", f"acct={A}&ref=c4&path={name}", body, headers
        )
        results.append(resp.status)

    threads = [threading.Thread(target=commit, args=(f"n{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(results) == [204, 400, 400, 400]
    listed = proxy(served, "GET", "container/list", f"acct={A}&ref=c4").json()["objects"]
    assert len(listed) == 1
    assert readable(served, "c4", listed[0]["name"], data)
