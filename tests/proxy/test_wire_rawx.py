"""The rawx of `oio namespace serve`, request by request, as OpenIO 7.3.0's Go rawx has it.

Requests are written from OpenIO's client (oio/api/replication.py and
oio/api/ec.py for PUT, oio/api/io.py for GET, oio/blob/client.py for HEAD,
DELETE and COPY), answers checked against rawx/handler_chunk.go and
rawx/chunk_info.go. None of this goes through oiocli's protocol module.
"""

from __future__ import annotations

import os

from wire import chunk_headers, md5, random_id, raw_socket, read_all, request

A, C = "wire", "rawx"
CONTENT = "0123456789ABCDEF" * 2


def test_put_get_head_delete(served):
    rawx = served.rawx[0].url
    chunk_id = random_id()
    data = os.urandom(300_000)
    headers = chunk_headers(A, C, "dir/obj", 7, CONTENT, "3", "TWOCOPIES", "plain/nb_copy=2")
    resp = request("PUT", f"{rawx}/{chunk_id.lower()}", data, headers)
    assert (resp.status, resp.data) == (201, b"")
    assert resp.headers["X-oio-Chunk-Meta-Chunk-Hash"] == md5(data)  # uppercase
    assert resp.headers["X-oio-Chunk-Meta-Chunk-Size"] == str(len(data))
    assert resp.headers["X-oio-Chunk-Meta-Oio-Version"] == "4.2"
    # An existing id: 409 (the upload goes to <id>.pending and is renamed with O_EXCL).
    assert request("PUT", f"{rawx}/{chunk_id}", data, headers).status == 409
    got = request("GET", f"{rawx}/{chunk_id}")
    assert got.status == 200 and got.data == data
    meta = got.meta("x-oio-chunk-meta-")
    assert meta["full-path"] == f"{A}/{C}/dir%2Fobj/7/{CONTENT}"
    assert meta["container-id"] == headers["X-oio-Chunk-Meta-Container-Id"]
    assert meta["content-path"] == "dir%2Fobj"  # url.PathEscape'd
    assert (meta["content-version"], meta["content-id"]) == ("7", CONTENT)
    assert meta["content-storage-policy"] == "TWOCOPIES"
    assert meta["content-chunk-method"] == "plain/nb_copy=2"
    assert (meta["chunk-id"], meta["chunk-pos"]) == (chunk_id, "3")
    assert (meta["chunk-hash"], meta["chunk-size"]) == (md5(data), str(len(data)))
    assert got.headers["Accept-Ranges"] == "bytes" and "Last-Modified" in got.headers
    # Ranges: one `bytes=a-b`, the end clamped; a start past the end is a 416.
    part = request("GET", f"{rawx}/{chunk_id}", headers={"Range": "bytes=10-19"})
    assert part.status == 206 and part.data == data[10:20]
    assert part.headers["Content-Range"] == f"bytes 10-19/{len(data)}"
    part = request("GET", f"{rawx}/{chunk_id}", headers={"Range": "bytes=299990-400000"})
    assert part.status == 206 and part.data == data[299990:]
    assert (
        request(
            "GET", f"{rawx}/{chunk_id}", headers={"Range": f"bytes={len(data)}-{len(data) + 5}"}
        ).status
        == 416
    )
    whole = request("GET", f"{rawx}/{chunk_id}", headers={"Range": "bytes=1-2,5-6"})
    assert whole.status == 200 and whole.data == data  # several ranges: the whole chunk
    head = request("HEAD", f"{rawx}/{chunk_id}", headers={"x-oio-xattr": "true"})
    assert head.status == 200 and head.data == b""
    assert head.headers["Content-Length"] == str(len(data))
    assert head.meta("x-oio-chunk-meta-") == meta
    resp = request("DELETE", f"{rawx}/{chunk_id}")
    assert (resp.status, resp.data) == (204, b"")
    assert request("DELETE", f"{rawx}/{chunk_id}").status == 404
    assert request("GET", f"{rawx}/{chunk_id}").status == 404
    assert request("HEAD", f"{rawx}/{chunk_id}").status == 404
    assert request("GET", f"{rawx}/not-an-id").status == 400


def test_put_refusals(served):
    # rawx/chunk_info.go, retrieveHeaders and retrieveContentFullpathHeader: 400s
    rawx = served.rawx[1].url
    good = chunk_headers(A, C, "obj", 1, CONTENT)
    cases = {}
    for header in (
        "X-oio-Chunk-Meta-Content-Storage-Policy",
        "X-oio-Chunk-Meta-Content-Chunk-Method",
        "X-oio-Chunk-Meta-Chunk-Pos",
        "X-oio-Chunk-Meta-Full-Path",
    ):
        cases[f"no {header}"] = {k: v for k, v in good.items() if k != header}
    cases["container id"] = dict(good, **{"X-oio-Chunk-Meta-Container-Id": "0" * 64})
    cases["content path"] = dict(good, **{"X-oio-Chunk-Meta-Content-Path": "other"})
    cases["content id"] = dict(good, **{"X-oio-Chunk-Meta-Content-Id": "AB" * 16})
    cases["content version"] = dict(good, **{"X-oio-Chunk-Meta-Content-Version": "2"})
    cases["version not a number"] = dict(
        good,
        **{
            "X-oio-Chunk-Meta-Full-Path": f"{A}/{C}/obj/x/{CONTENT}",
            "X-oio-Chunk-Meta-Content-Version": "x",
        },
    )
    cases["four parts"] = dict(good, **{"X-oio-Chunk-Meta-Full-Path": f"{A}/{C}/obj/1"})
    cases["chunk id"] = dict(good, **{"X-oio-Chunk-Meta-Chunk-Id": "EE" * 32})
    cases["chunk hash"] = dict(good, **{"X-oio-Chunk-Meta-Chunk-Hash": "0" * 32})
    cases["chunk size"] = dict(good, **{"X-oio-Chunk-Meta-Chunk-Size": "2"})
    # An EC fragment needs its metachunk size and hash (header or trailer).
    cases["ec without metachunk"] = dict(
        good, **{"X-oio-Chunk-Meta-Content-Chunk-Method": "ec/algo=isa_l_rs_vand,k=6,m=3"}
    )
    ids = {}
    for label, headers in cases.items():
        ids[label] = random_id()
        resp = request("PUT", f"{rawx}/{ids[label]}", b"x", headers)
        assert resp.status == 400, label
    for label, chunk_id in ids.items():  # nothing of the above was stored
        assert request("HEAD", f"{rawx}/{chunk_id}").status == 404, label


def test_put_chunked_with_trailers(served):
    # oio/api/ec.py, EcChunkWriter: chunked body, metachunk size and hash as trailers
    rawx = served.rawx[2]
    chunk_id = random_id()
    data = os.urandom(70_000)
    headers = chunk_headers(A, C, "ec", 1, CONTENT, "0.4", "EC", "ec/algo=isa_l_rs_vand,k=6,m=3")
    body = b"".join(b"%x\r\n" % len(p) + p + b"\r\n" for p in (data[:30_000], data[30_000:]))
    head = (
        f"PUT /{chunk_id} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
        "Trailer: X-oio-Chunk-Meta-Metachunk-Size, X-oio-Chunk-Meta-Metachunk-Hash\r\n"
    )
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    trailer = (
        f"0\r\nX-oio-Chunk-Meta-Metachunk-Size: 420000\r\n"
        f"X-oio-Chunk-Meta-Metachunk-Hash: {'ab' * 16}\r\n\r\n"
    )
    sock = raw_socket(served, rawx.port)
    sock.sendall(head.encode() + body + trailer.encode())
    reply = sock.recv(65536)
    sock.close()
    assert reply.startswith(b"HTTP/1.1 201"), reply
    meta = request("HEAD", f"{rawx.url}/{chunk_id}").meta("x-oio-chunk-meta-")
    assert meta["metachunk-size"] == "420000" and meta["metachunk-hash"] == "AB" * 16
    assert meta["chunk-hash"] == md5(data) and meta["chunk-size"] == str(len(data))
    assert request("GET", f"{rawx.url}/{chunk_id}").data == data


def test_copy_gives_the_link_its_own_full_path(served):
    # oio/blob/client.py, chunk_link: COPY with Destination and X-oio-Chunk-Meta-Full-Path;
    # rawx/handler_chunk.go, copyChunk
    rawx = served.rawx[3].url
    src, dst = random_id(), random_id()
    data = os.urandom(12345)
    put = chunk_headers(A, C, "orig", 5, CONTENT, "2")
    assert request("PUT", f"{rawx}/{src}", data, put).status == 201
    link_content = "FEDCBA9876543210" * 2
    link_path = f"{A}/other/link%20name/9/{link_content}"
    resp = request(
        "COPY",
        f"{rawx}/{src}",
        headers={"Destination": f"{rawx}/{dst}", "X-oio-Chunk-Meta-Full-Path": link_path},
    )
    assert (resp.status, resp.data) == (201, b"")
    src_meta = request("HEAD", f"{rawx}/{src}").meta("x-oio-chunk-meta-")
    dst_meta = request("HEAD", f"{rawx}/{dst}").meta("x-oio-chunk-meta-")
    assert dst_meta["full-path"] == link_path and dst_meta["content-id"] == link_content
    assert dst_meta["content-path"] == "link%20name" and dst_meta["content-version"] == "9"
    assert dst_meta["container-id"] != src_meta["container-id"]
    assert dst_meta["chunk-id"] == dst
    same = {
        "chunk-pos",
        "chunk-hash",
        "chunk-size",
        "content-chunk-method",
        "content-storage-policy",
    }
    assert {k: dst_meta[k] for k in same} == {k: src_meta[k] for k in same}
    assert src_meta["full-path"] == f"{A}/{C}/orig/5/{CONTENT}"  # the source keeps its own
    assert request("GET", f"{rawx}/{dst}").data == data
    copy = {"Destination": f"{rawx}/{random_id()}", "X-oio-Chunk-Meta-Full-Path": link_path}
    assert (
        request("COPY", f"{rawx}/{src}", headers={"Destination": copy["Destination"]}).status == 400
    )  # no full path
    assert (
        request(
            "COPY",
            f"{rawx}/{src}",
            headers=dict(copy, Destination=f"{served.rawx[4].url}/{random_id()}"),
        ).status
        == 403
    )  # other rawx
    assert (
        request("COPY", f"{rawx}/{src}", headers=dict(copy, Destination=f"{rawx}/{src}")).status
        == 403
    )
    assert (
        request("COPY", f"{rawx}/{src}", headers=dict(copy, Destination=f"{rawx}/{dst}")).status
        == 409
    )
    assert request("COPY", f"{rawx}/{random_id()}", headers=copy).status == 404


def test_framing_is_strict(served):
    """A body that cannot be delimited is a 400 (501 for an unknown coding), connection closed."""
    port = served.rawx[5].port
    headers = "".join(f"{k}: {v}\r\n" for k, v in chunk_headers(A, C, "o", 1, CONTENT).items())
    cases = {
        "chunk size -1": ("Transfer-Encoding: chunked\r\n", b"-1\r\nxx\r\n0\r\n\r\n", 400),
        "chunk size not hex": ("Transfer-Encoding: chunked\r\n", b"zz\r\n", 400),
        "no CRLF after chunk": ("Transfer-Encoding: chunked\r\n", b"2\r\nxxyy", 400),
        "bad content length": ("Content-Length: 1e3\r\n", b"", 400),
        "two lengths": ("Content-Length: 3\r\nContent-Length: 4\r\n", b"abcd", 400),
        "length and chunked": ("Content-Length: 3\r\nTransfer-Encoding: chunked\r\n", b"", 400),
        "gzip": ("Transfer-Encoding: gzip\r\n", b"", 501),
        "too long": (f"Content-Length: {10 * 1024**3}\r\n", b"", 413),
    }
    for label, (framing, body, status) in cases.items():
        chunk_id = random_id()
        sock = raw_socket(served, port, timeout=30)
        sock.sendall(
            f"PUT /{chunk_id} HTTP/1.1\r\nHost: x\r\n{framing}{headers}\r\n".encode() + body
        )
        reply = read_all(sock)  # the server closes the connection after its answer
        sock.close()
        assert reply.startswith(f"HTTP/1.1 {status}".encode()), (label, reply[:200])
        assert b"Connection: close" in reply, label
        assert request("HEAD", f"{served.rawx[5].url}/{chunk_id}").status == 404, label
