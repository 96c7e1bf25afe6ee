"""`HttpChunkStore`: the ChunkStore interface over OpenIO's rawx protocol.

- put: `PUT <url>` with a chunked body, the chunk's metadata in
  `x-oio-chunk-meta-*` headers and, as trailers, what is known only at the end
  (metachunk size and hash, chunk size, and the chunk hash of a replica, which
  is the metachunk hash); the rawx answers 201 with the size and hash it stored,
  which are checked against what was sent.
- get: `GET <url>` with a `Range`, streamed; a short body is an error, never
  silently short data.
- head: `HEAD <url>` (metadata headers); delete: `DELETE <url>` (204, 404 fine);
  link: `COPY <url>` with a `Destination` on the same rawx (a hard link there)
  and the full path of the object the link belongs to, which the rawx requires
  (it records it for the new chunk id).

Errors are oiocli exceptions, so the shared read path (`oiocli.io.reader`)
skips a bad or unreachable replica or fragment and goes on with the others.
"""

from __future__ import annotations

import hashlib
import logging
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from urllib3.exceptions import HTTPError, ProtocolError, ReadTimeoutError

from oiocli.backends.proxy.http import ChunkedBody, HttpClient, error_from_response
from oiocli.core import wire
from oiocli.core.chunks import check_chunk_identity
from oiocli.core.exceptions import (
    BadRequest,
    ChunkCorrupt,
    ChunkNotFound,
    NotFound,
    OioException,
    OioTimeout,
    ServerException,
    ServiceBusy,
)

LOG = logging.getLogger("oiocli.proxy")
READ_SIZE = 1024 * 1024
# A chunk checked before it is served is held in memory up to this size, on disk beyond.
SPOOL_IN_MEMORY = 8 * 1024 * 1024

# Given an uploaded chunk's metadata: (account, container) of its object, when known.
NamesFn = Callable[[dict[str, Any]], tuple[str, str] | None]
# Given (url, new_url) of a link asked without a full path: keep it for later.
DeferFn = Callable[[str, str], None]

_TRAILERS = ", ".join(
    [
        *(
            wire.chunk_header(f)
            for f in ("metachunk_size", "metachunk_hash", "chunk_size", "chunk_hash")
        ),
        wire.BODY_CRC32_TRAILER,
    ]
)


class HttpChunkStore:
    """Chunks on rawx services, addressed by `http://<rawx>/<CHUNK ID>` URLs."""

    def __init__(
        self, http: HttpClient, names: NamesFn | None = None, defer_link: DeferFn | None = None
    ) -> None:
        self.http = http
        self.names = names
        self.defer_link = defer_link
        # rawx service -> whether it checks the blocks it sends (learnt from its replies).
        self._vouches: dict[str, bool] = {}

    # ------------------------------------------------------------------ put
    def _full_path(self, meta: dict[str, Any]) -> str | None:
        if meta.get("full_path"):
            return str(meta["full_path"])
        names = self.names(meta) if self.names else None
        if names is None or meta.get("content_path") is None:
            return None
        return wire.full_path(
            names[0],
            names[1],
            meta["content_path"],
            meta.get("content_version", ""),
            meta.get("content_id", ""),
        )

    def put(self, url: str, data: Iterable[Any], meta: dict[str, Any]) -> dict[str, Any]:
        _service, chunk_id = wire.split_chunk_url(url)
        sent_meta = dict(meta, chunk_id=chunk_id)
        full = self._full_path(meta)
        if full is not None:
            sent_meta["full_path"] = full
        head_fields = [f for f in wire.CHUNK_FIELDS if f not in wire.CHUNK_TRAILER_FIELDS]
        headers = wire.chunk_headers(sent_meta, head_fields)
        headers["Trailer"] = _TRAILERS
        replicated = str(meta.get("chunk_method", "")).startswith("plain/")

        crc = 0

        def checksummed() -> Iterator[Any]:
            # The CRC32 of the body lets serve's rawx check what it received without
            # an MD5 stream of its own (an OpenIO rawx ignores it and hashes).
            nonlocal crc
            for piece in data:
                crc = zlib.crc32(piece, crc)
                yield piece

        def trailers() -> dict[str, str]:
            # Called once every piece is sent: the producer has filled these in.
            end = dict(meta, chunk_size=body.sent)
            if replicated:
                end["chunk_hash"] = meta.get("metachunk_hash")
            sent = wire.chunk_headers(end, wire.CHUNK_TRAILER_FIELDS)
            sent[wire.BODY_CRC32_TRAILER] = f"{crc:08x}"
            return sent

        body = ChunkedBody(checksummed(), trailers, self.http.write_timeout)
        resp, _ = self.http.call(
            "PUT", url, headers=headers, body=body, ok=(201,), what=f"PUT chunk {url}"
        )
        stored = wire.chunk_meta_from_headers(resp.headers)
        size = body.sent
        if stored.get("chunk_size") is not None and stored["chunk_size"] != size:
            self.delete(url)
            raise ChunkCorrupt(f"Chunk {url}: rawx stored {stored['chunk_size']} of {size} bytes")
        expected = meta.get("metachunk_hash") if replicated else None
        got = stored.get("chunk_hash")
        if expected and got and str(got).upper() != str(expected).upper():
            self.delete(url)
            raise ChunkCorrupt(f"Chunk {url}: rawx stored hash {got}, sent {expected}")
        # The rawx hashes what it stores and says so: an EC fragment's own MD5, free.
        # (A replica's is the metachunk hash, which the writer has already.)
        if got and not replicated:
            return {"size": size, "hash": str(got).upper()}
        return {"size": size}

    # ------------------------------------------------------------------ get
    def get(
        self,
        url: str,
        start: int = 0,
        end: int | None = None,
        expect: Mapping[str, Any] | None = None,
    ) -> Iterator[bytes]:
        """The bytes [start, end) of a chunk, never bytes that differ from what was stored.

        A rawx that checks each block against its own checksums as it sends it
        (`namespace serve`'s, which says so in a reply header) is streamed from:
        it cuts the connection before a bad block. One that does not (OpenIO's
        rawx serves a chunk's bytes as they are on disk) is read whole into a
        bounded spool and its MD5 checked against the chunk's recorded hash
        before a byte is handed over, whatever range was asked: a corrupt
        replica or fragment is then a ChunkCorrupt, and the reader goes on with
        another one.
        """
        if start < 0 or (end is not None and end < start):
            raise BadRequest(f"Invalid chunk range {start}-{end} for {url}")
        if end is not None and end == start:
            # Nothing to read, but a missing chunk is still missing.
            check_chunk_identity(url, self.head(url)["meta"], expect)
            return
        service, _ = wire.split_chunk_url(url)
        ranged = bool(start or end is not None)
        # A rawx known not to check its blocks is asked for the whole chunk at once.
        whole = ranged and self._vouches.get(service) is False
        resp, reqid = self._open(url, 0 if whole else start, None if whole else end)
        done = False
        try:
            stored = wire.chunk_meta_from_headers(resp.headers)
            if expect:
                # Whose chunk this is travels in the reply headers, as from an OpenIO rawx.
                check_chunk_identity(url, stored, expect)
            vouched = resp.headers.get(wire.BLOCKS_VERIFIED_HEADER) is not None
            self._vouches[service] = vouched
            wanted = None if vouched else _recorded_md5(stored, expect)
            if wanted is None:
                yield from self._stream(resp, url, reqid)
            else:
                if ranged and not whole:
                    # The range cannot be checked alone: read the chunk whole instead.
                    resp.close()
                    resp.release_conn()
                    resp, reqid = self._open(url, 0, None)
                yield from self._verified(resp, url, reqid, wanted, start, end)
            done = True
        finally:
            if not done:
                # Unread bytes may remain: this connection cannot serve another request.
                resp.close()
            resp.release_conn()

    def _open(self, url: str, start: int, end: int | None) -> tuple[Any, str]:
        headers = {}
        if start or end is not None:
            headers["Range"] = f"bytes={start}-" + ("" if end is None else str(end - 1))
        reqid = self.http.reqid()
        resp = self.http.request(
            "GET",
            url,
            headers=headers,
            reqid=reqid,
            idempotent=True,
            preload_content=False,
            what=f"GET chunk {url}",
        )
        if resp.status not in (200, 206):
            try:
                raise self._error(resp, resp.read(), url, reqid, "GET")
            finally:
                resp.release_conn()
        return resp, reqid

    def _stream(self, resp: Any, url: str, reqid: str) -> Iterator[bytes]:
        """The reply body, piece by piece; a short body is an error."""
        expected = resp.headers.get("Content-Length")
        received = 0
        try:
            for piece in resp.stream(READ_SIZE):
                received += len(piece)
                yield piece
        except ReadTimeoutError:
            raise OioTimeout(
                f"Chunk {url}: no data within {self.http.read_timeout:g} s after "
                f"{received} bytes (request id {reqid})",
                reqid=reqid,
            ) from None
        except (ProtocolError, HTTPError, OSError) as exc:
            raise ServiceBusy(
                f"Chunk {url}: connection lost after {received} of {expected} bytes: "
                f"{exc} (request id {reqid})",
                reqid=reqid,
            ) from None
        if expected is not None and received != int(expected):
            raise ChunkCorrupt(
                f"Chunk {url}: got {received} of {expected} bytes (request id {reqid})",
                reqid=reqid,
            )

    def _verified(
        self, resp: Any, url: str, reqid: str, wanted: str, start: int, end: int | None
    ) -> Iterator[bytes]:
        """Spool the whole chunk, check its MD5, then yield [start, end) of it."""
        import tempfile

        md5 = hashlib.md5()
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY) as spool:
            size = 0
            for piece in self._stream(resp, url, reqid):
                md5.update(piece)
                spool.write(piece)
                size += len(piece)
            got = md5.hexdigest().upper()
            if got != wanted:
                raise ChunkCorrupt(
                    f"Chunk {url} is corrupt: its data hashes to {got}, recorded {wanted} "
                    f"(request id {reqid})",
                    reqid=reqid,
                )
            stop = size if end is None else min(end, size)
            spool.seek(start)
            left = stop - start
            while left > 0:
                piece = spool.read(min(READ_SIZE, left))
                if not piece:
                    break
                left -= len(piece)
                yield piece

    @staticmethod
    def _error(resp: Any, data: bytes, url: str, reqid: str, verb: str) -> OioException:
        if resp.status == 404:
            return ChunkNotFound(f"Chunk not found: {url}", reqid=reqid)
        error = error_from_response(resp.status, data, resp.headers, reqid, f"{verb} chunk {url}")
        if resp.status >= 500 and "corrupt" in str(error).lower():
            return ChunkCorrupt(str(error), reqid=reqid)
        if isinstance(error, NotFound):
            return ChunkNotFound(str(error), reqid=reqid)
        return error

    # ------------------------------------------------------- head, delete, link
    def head(self, url: str) -> dict[str, Any]:
        reqid = self.http.reqid()
        resp = self.http.request(
            "HEAD",
            url,
            headers={"x-oio-xattr": "true"},
            reqid=reqid,
            idempotent=True,
            what=f"HEAD chunk {url}",
        )
        if resp.status != 200:
            raise self._error(resp, b"", url, reqid, "HEAD")
        meta = wire.chunk_meta_from_headers(resp.headers)
        size = meta.get("chunk_size")
        if size is None:
            size = int(resp.headers.get("Content-Length", 0))
        result: dict[str, Any] = {"size": size, "meta": meta}
        if meta.get("block_size"):
            result["block_size"] = meta["block_size"]
        return result

    def delete(self, url: str) -> None:
        """Remove a chunk; absent is fine, and so is an unreachable rawx.

        Deletions are cleanups (a failed replica, a superseded object): when the
        rawx cannot be reached the chunk, if it exists, is left as an orphan for
        `volume check --orphans`, rather than failing an operation that succeeded.
        """
        try:
            resp, _ = self.http.call(
                "DELETE", url, ok=(200, 204, 404), idempotent=True, what=f"DELETE chunk {url}"
            )
        except ServiceBusy as exc:
            LOG.warning("Chunk %s not deleted (left as an orphan): %s", url, exc)

    def link(self, url: str, new_url: str, full_path: str | None = None) -> None:
        """A new id for the same data on the same rawx; `full_path` names its new object.

        Without a full path (the facade's object link does not know the new
        object's version and id here), the link is handed to `defer_link`: the
        metadata backend makes it when it commits the object, where both are known.
        """
        service, _ = wire.split_chunk_url(url)
        new_service, _ = wire.split_chunk_url(new_url)
        if service != new_service:
            raise BadRequest(f"Cannot link {url} to another rawx ({new_url})")
        if not full_path:
            if self.defer_link is None:
                raise BadRequest(f"Cannot link {url}: a rawx needs the new object's full path")
            self.defer_link(url, new_url)
            return
        headers = {"Destination": new_url}
        headers.update(wire.chunk_headers({"full_path": full_path}))
        reqid = self.http.reqid()
        resp = self.http.request(
            "COPY",
            url,
            headers=headers,
            reqid=reqid,
            what=f"COPY chunk {url}",
        )
        if resp.status not in (200, 201, 204):
            raise self._error(resp, resp.data, url, reqid, "COPY")

    def verify(self, url: str) -> dict[str, Any]:
        try:
            size = sum(len(piece) for piece in self.get(url))
        except ChunkNotFound as exc:
            return {"ok": False, "missing": True, "error": str(exc), "size": None}
        except (ChunkCorrupt, ServerException) as exc:
            return {"ok": False, "missing": False, "error": str(exc), "size": None}
        return {"ok": True, "missing": False, "error": None, "size": size}


def _recorded_md5(stored: Mapping[str, Any], expect: Mapping[str, Any] | None) -> str | None:
    """The MD5 a chunk's data must have: its own recorded chunk hash (a replica's is
    its metachunk's), else the metachunk hash of the record for a replica; None if unknown."""
    own = stored.get("chunk_hash")
    if own:
        return str(own).upper()
    if str(stored.get("chunk_method", "")).startswith("ec/"):
        return None  # a fragment's MD5 is not its metachunk's
    recorded = (expect or {}).get("metachunk_hash") or stored.get("metachunk_hash")
    return str(recorded).upper() if recorded else None
