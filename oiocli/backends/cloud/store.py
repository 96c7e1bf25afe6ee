"""The ChunkStore of the cloud tier: one bucket object per chunk.

A chunk URL is `b2/<chunk id>` (or `s3/<chunk id>`), as OpenIO's meta2 records
it; the bucket object is `<container id, upper hex>/<chunk id>`, so a store is
bound to one container (`CloudChunkStore(client, container_id)`).

Uploads stream: the data is cut into parts of `part_size` bytes, each sent as it
fills (a chunk that fits in one part is one PUT), so at most one part of each
chunk is in memory whatever the chunk size. Every part goes with its
Content-MD5 (the server refuses a body that differs) and its ETag is checked;
the chunk's own MD5 is returned as its hash. Reads ask `If-Match` the recorded
ETag, so a replaced object is refused before any byte, count the bytes, and a
whole-chunk read holds its last piece back until the MD5 of the data is the
recorded one: a short or wrong chunk is never served whole.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Iterator, Mapping
from typing import Any
from xml.sax.saxutils import escape

import urllib3

from oiocli.backends.cloud.s3 import S3Client
from oiocli.core.chunks import check_chunk_identity
from oiocli.core.exceptions import (
    BadRequest,
    ChunkCorrupt,
    ChunkNotFound,
    Conflict,
    OioException,
    ServiceBusy,
)
from oiocli.core.storage_method import TIER_KINDS

# A chunk up to this size is one PUT (the namespace's default chunk is 10 MiB);
# a bigger one is sent in parts of this size. S3's smallest part is 5 MiB.
PART_SIZE = 16 * 1024 * 1024
MAX_PARTS = 10_000
READ_SIZE = 1024 * 1024
META_PREFIX = "x-amz-meta-oio-"
# Chunk metadata kept with each bucket object (small: B2 allows 2 KiB in all).
META_FIELDS = ("content_id", "pos", "metachunk_hash", "metachunk_size")


def chunk_id_of(url: str) -> str:
    prefix, _, chunk_id = url.partition("/")
    if f"{prefix}/" not in TIER_KINDS.values():
        raise BadRequest(f"Not a cloud tier chunk URL: {url!r}")
    chunk_id = chunk_id.upper()
    if len(chunk_id) != 64 or not all(c in "0123456789ABCDEF" for c in chunk_id):
        raise BadRequest(f"Invalid chunk id in {url!r}")
    return chunk_id


def bucket_key(container_id: str, url: str) -> str:
    """`<container id>/<chunk id>`: OpenIO's name of a tier chunk in its bucket."""
    return f"{container_id.upper()}/{chunk_id_of(url)}"


def _b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode()


def _etag(response: urllib3.BaseHTTPResponse) -> str:
    return (response.headers.get("ETag") or "").strip().strip('"').upper()


class CloudChunkStore:
    """ChunkStore over one bucket, for the chunks of one container."""

    def __init__(self, client: S3Client, container_id: str, part_size: int = PART_SIZE) -> None:
        self.client = client
        self.container_id = container_id.upper()
        self.part_size = part_size

    def key(self, url: str) -> str:
        return bucket_key(self.container_id, url)

    def list_chunks(self, prefix: str) -> list[tuple[str, str, int, float]]:
        """(url, bucket key, size, mtime) of this container's objects in the bucket.

        `prefix` is the URL prefix to name them with (`b2/` or `s3/`). Keys that
        are not `<container id>/<chunk id>` are not ours and are left out.
        """
        found = []
        for key, size, mtime in self.client.list_keys(prefix=f"{self.container_id}/"):
            try:
                url = prefix + chunk_id_of(prefix + key.partition("/")[2])
            except BadRequest:
                continue
            found.append((url, key, size, mtime))
        return found

    # ------------------------------------------------------------- upload
    def put(self, url: str, data: Iterable[Any], meta: dict[str, Any]) -> dict[str, Any]:
        """Upload a chunk; on any failure nothing of it is left in the bucket."""
        key = self.key(url)
        # The data path's writer hashes each metachunk in its own thread and puts
        # the hash in `meta` before the data ends (one chunk per position: it is
        # this chunk's MD5), so the store hashes again only for other callers.
        whole = None if meta.get("content_id") else hashlib.md5()
        buffer = bytearray()
        size = 0
        upload: _Multipart | None = None
        try:
            for piece in data:
                view = memoryview(piece)
                if whole is not None:
                    whole.update(view)
                size += len(view)
                buffer += view
                while len(buffer) >= self.part_size:
                    if upload is None:
                        upload = _Multipart(self.client, key, self._headers(meta, None))
                    upload.send(memoryview(buffer)[: self.part_size])
                    del buffer[: self.part_size]
            md5 = str(meta.get("metachunk_hash") or "").upper()
            if whole is not None:
                md5 = whole.hexdigest().upper()
            elif not md5 and upload is None:
                md5 = hashlib.md5(buffer).hexdigest().upper()
            if not md5:
                raise BadRequest(f"Chunk {url}: no MD5 known for its metadata")
            if upload is None:
                etag = self._put_single(key, buffer, self._headers(meta, md5), md5)
            else:
                if buffer:
                    upload.send(memoryview(buffer))
                etag = upload.complete()
        except BaseException:
            if upload is not None:
                upload.abort()
            self._forget(key)
            raise
        return {"size": size, "hash": md5, "etag": etag}

    def _put_single(self, key: str, body: bytearray, headers: dict[str, str], md5: str) -> str:
        # Content-MD5 is the MD5 of the data hashed as it was read: the server
        # refuses a body that differs, and its ETag must say the same.
        digest = bytes.fromhex(md5)
        headers["Content-MD5"] = _b64(digest)
        response = self.client.request("PUT", key, body=memoryview(body), headers=headers)
        etag = _etag(response)
        if etag != digest.hex().upper():
            raise ChunkCorrupt(f"S3 PUT {key}: the server stored ETag {etag}, not our MD5")
        return etag

    def _forget(self, key: str) -> None:
        try:
            self.client.request("DELETE", key, ok=(200, 204, 404))
        except OioException:
            pass

    @staticmethod
    def _headers(meta: Mapping[str, Any], md5: str | None) -> dict[str, str]:
        headers = {"Content-Type": "application/octet-stream"}
        for name in META_FIELDS:
            value = meta.get(name)
            if name == "metachunk_hash":
                value = md5  # a part upload does not know it yet
            elif name == "metachunk_size" and md5 is None:
                value = None
            if value is not None and value != "":
                headers[META_PREFIX + name.replace("_", "-")] = str(value)
        return headers

    # ------------------------------------------------------------- reads
    def get(
        self,
        url: str,
        start: int = 0,
        end: int | None = None,
        expect: Mapping[str, Any] | None = None,
    ) -> Iterator[bytes]:
        if start < 0 or (end is not None and end < start):
            raise BadRequest(f"Invalid chunk range {start}-{end} for {url}")
        key = self.key(url)
        want_etag = _upper(expect, "chunk_hash") or _upper(expect, "metachunk_hash")
        return self._read(url, key, start, end, expect, want_etag)

    def _open(
        self, key: str, start: int, end: int | None, etag: str
    ) -> tuple[urllib3.BaseHTTPResponse, int, int]:
        headers = {}
        if etag:
            headers["If-Match"] = f'"{etag.lower()}"'
        if start or end is not None:
            headers["Range"] = f"bytes={start}-{'' if end is None else end - 1}"
        try:
            response = self.client.request("GET", key, headers=headers, stream=True)
        except Conflict:
            raise ChunkCorrupt(f"Chunk {key} is not the one recorded (ETag differs)") from None
        total = _total_size(response)
        length = int(response.headers.get("Content-Length", "-1"))
        return response, total, length

    def _read(
        self,
        url: str,
        key: str,
        start: int,
        end: int | None,
        expect: Mapping[str, Any] | None,
        want_etag: str,
    ) -> Iterator[bytes]:
        if end is not None and end == start:
            return
        response, total, length = self._open(key, start, end, want_etag)
        try:
            stored = _stored_meta(response.headers)
            check_chunk_identity(url, stored, expect)
            stop = total if end is None else min(end, total)
            if length != stop - start:
                raise ChunkCorrupt(
                    f"Chunk {url}: {length} bytes sent for range {start}-{stop}, "
                    f"{stop - start} expected"
                )
            whole = start == 0 and stop == total
            md5 = _BackgroundMD5() if whole else None
            want_md5 = _upper(expect, "metachunk_hash") or (
                _etag(response) if "-" not in _etag(response) else ""
            )
            offset = start
            held: bytes | None = None
            attempts = 0
            while offset < stop:
                try:
                    piece = response.read(min(READ_SIZE, stop - offset))
                except (urllib3.exceptions.HTTPError, OSError):
                    piece = b""
                if not piece:
                    # A reset mid-body: ask the rest again (same ETag, so the same object).
                    attempts += 1
                    response.release_conn()
                    if attempts >= self.client.max_attempts:
                        raise ServiceBusy(f"Chunk {url}: the read kept breaking at {offset}")
                    response, _total, length = self._open(key, offset, stop, _etag(response))
                    if length != stop - offset:
                        raise ChunkCorrupt(f"Chunk {url} is shorter than recorded")
                    continue
                offset += len(piece)
                if md5 is not None:
                    md5.update(piece)
                if held is not None:
                    yield held
                held = piece
            if md5 is not None and want_md5 and md5.hexdigest() != want_md5:
                raise ChunkCorrupt(f"Chunk {url} is corrupt: its MD5 is not the recorded one")
            if held is not None:
                yield held
        finally:
            response.release_conn()
            if md5 is not None:
                md5.close()

    def head(self, url: str) -> dict[str, Any]:
        response = self.client.request("HEAD", self.key(url))
        size = int(response.headers.get("Content-Length", "0"))
        return {"size": size, "meta": _stored_meta(response.headers), "etag": _etag(response)}

    def verify(self, url: str) -> dict[str, Any]:
        """Read the whole chunk: its MD5 must be its ETag (single PUT) or its recorded hash."""
        try:
            head = self.head(url)
            expect = {
                "chunk_hash": head["etag"],
                "metachunk_hash": head["meta"].get("metachunk_hash"),
            }
            size = sum(len(piece) for piece in self.get(url, expect=expect))
        except ChunkNotFound as exc:
            return {"ok": False, "missing": True, "error": str(exc), "size": None}
        except ChunkCorrupt as exc:
            return {"ok": False, "missing": False, "error": str(exc), "size": None}
        return {"ok": True, "missing": False, "error": None, "size": size}

    def delete(self, url: str) -> None:
        self.client.request("DELETE", self.key(url), ok=(200, 204, 404))

    def link(
        self,
        url: str,
        new_url: str,
        container_id: str | None = None,
        meta: Mapping[str, Any] | None = None,
    ) -> str:
        """A server-side copy: the new record owns its own bucket object (deletes stay safe).

        With `meta` (a link: another content), the copy's metadata is replaced by
        it, so that the copy says whose chunk it is as an upload's would. Returns
        the copy's ETag (a copy of a multipart object may get a plain MD5 one).
        """
        dst = bucket_key(container_id or self.container_id, new_url)
        source = f"/{self.client.target.bucket}/{self.key(url)}"
        headers = {"x-amz-copy-source": source, "x-amz-metadata-directive": "COPY"}
        if meta is not None:
            md5 = str(meta.get("metachunk_hash") or "").upper()
            headers.update(self._headers(meta, md5), **{"x-amz-metadata-directive": "REPLACE"})
        response = self.client.request("PUT", dst, headers=headers)
        data = response.data or b""
        if b"<Error>" in data:  # S3 may fail a copy with a 200
            self._forget(dst)
            code = data[:300].decode("utf-8", "replace")
            raise ServiceBusy(f"S3 copy {source} -> {dst} failed: {code}")
        start, end = data.find(b"<ETag>"), data.find(b"</ETag>")
        if start < 0 or end < start:
            return _etag(self.client.request("HEAD", dst))
        text = data[start + 6 : end].decode("utf-8", "replace").replace("&quot;", '"')
        return text.strip().strip('"').upper()


class _Multipart:
    """One multipart upload, part by part; complete() checks the object's ETag."""

    def __init__(self, client: S3Client, key: str, headers: dict[str, str]) -> None:
        from xml.etree import ElementTree

        self.client = client
        self.key = key
        self.digests: list[bytes] = []
        self.etags: list[str] = []
        response = client.request(
            "POST", key, headers=headers, query={"uploads": ""}, idempotent=False
        )
        upload_id = ElementTree.fromstring(response.data).findtext(
            "{http://s3.amazonaws.com/doc/2006-03-01/}UploadId"
        ) or ElementTree.fromstring(response.data).findtext("UploadId")
        if not upload_id:
            raise ServiceBusy(f"S3 multipart upload of {key}: no UploadId in the reply")
        self.upload_id = upload_id

    def send(self, body: memoryview) -> None:
        if len(self.digests) >= MAX_PARTS:
            raise BadRequest(f"Chunk {self.key} needs more than {MAX_PARTS} parts")
        digest = hashlib.md5(body).digest()
        number = len(self.digests) + 1
        response = self.client.request(
            "PUT",
            self.key,
            body=body,
            headers={"Content-MD5": _b64(digest)},
            query={"partNumber": str(number), "uploadId": self.upload_id},
        )
        etag = _etag(response)
        if etag != digest.hex().upper():
            raise ChunkCorrupt(f"S3 part {number} of {self.key}: ETag {etag} is not our MD5")
        self.digests.append(digest)
        self.etags.append(etag)

    def complete(self) -> str:
        parts = "".join(
            f'<Part><PartNumber>{i}</PartNumber><ETag>"{escape(e.lower())}"</ETag></Part>'
            for i, e in enumerate(self.etags, 1)
        )
        body = f"<CompleteMultipartUpload>{parts}</CompleteMultipartUpload>".encode()
        response = self.client.request(
            "POST", self.key, body=body, query={"uploadId": self.upload_id}, idempotent=False
        )
        if b"<Error>" in (response.data or b""):  # a 200 can still carry an error
            raise ServiceBusy(f"S3 multipart completion of {self.key} failed")
        want = f"{hashlib.md5(b''.join(self.digests)).hexdigest()}-{len(self.digests)}".upper()
        etag = _etag(response) or _etag(self.client.request("HEAD", self.key))
        if etag != want:
            raise ChunkCorrupt(f"S3 object {self.key}: ETag {etag}, {want} expected")
        return etag

    def abort(self) -> None:
        try:
            self.client.request(
                "DELETE", self.key, query={"uploadId": self.upload_id}, ok=(200, 204, 404)
            )
        except OioException:
            pass


class _BackgroundMD5:
    """An MD5 fed in order by one helper thread, beside the reader's own hashing.

    hashlib releases the GIL on big pieces: the chunk's verification hash runs on
    another core than the object hash the caller computes over the same bytes.
    """

    def __init__(self) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self._md5 = hashlib.md5()
        self._pool = ThreadPoolExecutor(1)
        self._last: Any = None

    def update(self, piece: bytes) -> None:
        self._last = self._pool.submit(self._md5.update, piece)

    def hexdigest(self) -> str:
        if self._last is not None:
            self._last.result()
        return self._md5.hexdigest().upper()

    def close(self) -> None:
        self._pool.shutdown(wait=True)


def _upper(expect: Mapping[str, Any] | None, name: str) -> str:
    value = (expect or {}).get(name)
    return str(value).upper() if value else ""


def _total_size(response: urllib3.BaseHTTPResponse) -> int:
    content_range = response.headers.get("Content-Range")
    if content_range and "/" in content_range:
        total = content_range.rpartition("/")[2]
        if total.isdigit():
            return int(total)
    return int(response.headers.get("Content-Length", "0"))


def _stored_meta(headers: Mapping[str, str]) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    for name, value in headers.items():
        lower = name.lower()
        if lower.startswith(META_PREFIX):
            meta[lower[len(META_PREFIX) :].replace("-", "_")] = value
    return meta
