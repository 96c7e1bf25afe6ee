"""oiocli's CRC32 trailer on a rawx PUT: serve's rawx checks the body with it, not with MD5.

A client that sends `x-oiocli-body-crc32` (declared in `Trailer`) has its bytes
checked with that CRC32; the chunk hash it sends is recorded as given (a replica's
is its metachunk hash) and an EC fragment gets none, since every block this rawx
sends is checked against its own CRC32. A wrong CRC stores nothing. OpenIO's client
sends no such trailer, and its chunks are hashed as before (test_wire_rawx.py).
"""

from __future__ import annotations

import os
import zlib

from wire import chunk_headers, md5, random_id, raw_socket, request

A, C = "wire", "crc"
CONTENT = "0123456789ABCDEF" * 2


def put(served, rawx, chunk_id: str, data: bytes, headers: dict, trailers: dict) -> bytes:
    body = b"".join(b"%x\r\n" % len(p) + p + b"\r\n" for p in (data[:30_000], data[30_000:]))
    head = (
        f"PUT /{chunk_id} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
        f"Trailer: {', '.join(trailers)}\r\n"
    )
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    end = "0\r\n" + "".join(f"{k}: {v}\r\n" for k, v in trailers.items()) + "\r\n"
    sock = raw_socket(served, rawx.port)
    try:
        sock.sendall(head.encode() + body + end.encode())
        return sock.recv(65536)
    finally:
        sock.close()


def crc(data: bytes) -> str:
    return f"{zlib.crc32(data):08x}"


def test_replica_checked_by_crc_keeps_the_sent_hash(served):
    rawx = served.rawx[0]
    data = os.urandom(70_000)
    headers = chunk_headers(A, C, "obj", 1, CONTENT, "0", "SINGLE", "plain/nb_copy=1")
    trailers = {"X-oio-Chunk-Meta-Chunk-Hash": md5(data), "x-oiocli-body-crc32": crc(data)}
    chunk_id = random_id()
    reply = put(served, rawx, chunk_id, data, headers, trailers)
    assert reply.startswith(b"HTTP/1.1 201"), reply
    assert f"chunk-hash: {md5(data)}".lower().encode() in reply.lower()
    got = request("GET", f"{rawx.url}/{chunk_id}")
    assert got.data == data
    assert got.meta("x-oio-chunk-meta-")["chunk-hash"] == md5(data)
    assert got.meta("x-oio-chunk-meta-")["metachunk-hash"] == md5(data)
    assert got.headers["x-oiocli-blocks-verified"] == "crc32"


def test_wrong_crc_stores_nothing(served):
    rawx = served.rawx[1]
    data = os.urandom(70_000)
    headers = chunk_headers(A, C, "obj", 1, CONTENT, "0", "SINGLE", "plain/nb_copy=1")
    for sent in (crc(data[:-1] + b"x"), "not-a-crc", ""):
        trailers = {"X-oio-Chunk-Meta-Chunk-Hash": md5(data), "x-oiocli-body-crc32": sent}
        chunk_id = random_id()
        reply = put(served, rawx, chunk_id, data, headers, trailers)
        assert reply.startswith(b"HTTP/1.1 400"), (sent, reply)
        assert b"CRC32 mismatch" in reply
        assert request("HEAD", f"{rawx.url}/{chunk_id}").status == 404


def test_fragment_checked_by_crc_has_no_hash(served):
    rawx = served.rawx[2]
    data = os.urandom(70_000)
    headers = chunk_headers(A, C, "ec", 1, CONTENT, "0.4", "EC", "ec/algo=isa_l_rs_vand,k=6,m=3")
    trailers = {
        "X-oio-Chunk-Meta-Metachunk-Size": "420000",
        "X-oio-Chunk-Meta-Metachunk-Hash": "AB" * 16,
        "x-oiocli-body-crc32": crc(data),
    }
    chunk_id = random_id()
    reply = put(served, rawx, chunk_id, data, headers, trailers)
    assert reply.startswith(b"HTTP/1.1 201"), reply
    assert b"chunk-hash" not in reply.lower()
    meta = request("HEAD", f"{rawx.url}/{chunk_id}").meta("x-oio-chunk-meta-")
    assert "chunk-hash" not in meta and meta["chunk-size"] == str(len(data))
    assert request("GET", f"{rawx.url}/{chunk_id}").data == data


def test_rawx_that_does_not_check_its_reads_hashes_anyway(served):
    rawx = served.rawx[3]
    rawx.verify_reads = False
    data = os.urandom(70_000)
    headers = chunk_headers(A, C, "ec", 1, CONTENT, "0.4", "EC", "ec/algo=isa_l_rs_vand,k=6,m=3")
    trailers = {
        "X-oio-Chunk-Meta-Metachunk-Size": "420000",
        "X-oio-Chunk-Meta-Metachunk-Hash": "AB" * 16,
        "x-oiocli-body-crc32": "00000000",  # ignored, as an OpenIO rawx would
    }
    chunk_id = random_id()
    reply = put(served, rawx, chunk_id, data, headers, trailers)
    assert reply.startswith(b"HTTP/1.1 201"), reply
    assert f"chunk-hash: {md5(data)}".lower().encode() in reply.lower()
    got = request("GET", f"{rawx.url}/{chunk_id}")
    assert got.data == data and "x-oiocli-blocks-verified" not in got.headers
