"""A rawx of `oio namespace serve`: the chunks of one embedded volume, over HTTP.

The protocol is OpenIO's (`rawx/handler_chunk.go`, `rawx/chunk_info.go`): chunks
by id (`/<64 hex>`, case-insensitive, stored uppercase), metadata in
`X-oio-Chunk-Meta-*` headers and trailers, PUT 201 (409 when the id exists),
GET / HEAD 200 or 206 with the metadata echoed, DELETE 204, COPY 201.

Bodies are streamed: a PUT goes to the chunk store one buffer at a time as it
arrives (chunked or Content-Length), a GET is sent from the store one verified
block at a time. Nothing holds a whole chunk in memory.

A chunk's metadata lives in its file, with its data (see chunks.py), so a COPY
cannot give a hard link metadata of its own as a rawx's per-id xattr does: it
writes a new chunk file with the data and the new full path (streamed too).
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import zlib
from collections.abc import Callable, Iterator
from email.utils import formatdate
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from oiocli.backends.embedded.chunks import chunk_path, chunk_url
from oiocli.core import wire
from oiocli.core.exceptions import (
    BadRequest,
    ChunkNotFound,
    Conflict,
    Forbidden,
    OioException,
    StorageFull,
)
from oiocli.server.http import (
    IO_SIZE,
    BodyError,
    FramingError,
    Limits,
    _Handler,
    _Service,
    quote_error,
)

if TYPE_CHECKING:
    from oiocli.server.namespace_server import NamespaceServer

LOG = logging.getLogger("oiocli.serve")

# The version of the chunk metadata format a 7.x rawx announces.
OIO_VERSION = "4.2"


class _Reject(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def rawx_status(exc: BaseException) -> int:
    """The HTTP status a rawx answers for an error (rawx/rawx.go, replyError)."""
    if isinstance(exc, ChunkNotFound):
        return 404
    if isinstance(exc, Conflict):
        return 409
    if isinstance(exc, Forbidden):
        return 403
    if isinstance(exc, BadRequest):
        return 400
    if isinstance(exc, StorageFull):
        return 507
    return 500


def target_meta(full_path: str, chunk_id: str, container_id: str | None = None) -> dict[str, Any]:
    """The identity fields a full path gives a chunk, checked as a rawx checks them.

    `account/container/path/version/content id`, each part URL-quoted; the
    content id is hexadecimal and stored uppercase, the version an integer.
    """
    try:
        account, container, path, version, content_id = wire.split_full_path(full_path)
    except BadRequest as exc:
        raise _Reject(400, str(exc)) from None
    if not account or not container or not path:
        raise _Reject(400, f"Invalid chunk full path {full_path!r}")
    try:
        int(version)
    except ValueError:
        raise _Reject(400, f"Invalid version {version!r} in the full path") from None
    if not content_id or not all(c in "0123456789abcdefABCDEF" for c in content_id):
        raise _Reject(400, f"Invalid content id {content_id!r} in the full path")
    cid = wire.compute_cid(account, container)
    if container_id and container_id.upper() != cid:
        raise _Reject(400, "Container id does not match the full path")
    content_id = content_id.upper()
    return {
        "chunk_id": chunk_id,
        "container_id": cid,
        "content_path": path,
        "content_version": int(version),
        "content_id": content_id,
        "full_path": full_path.rsplit("/", 1)[0] + "/" + content_id,
    }


class RawxHandler(_Handler):
    """A rawx: chunks of one volume, by id (`/<64 hex>`)."""

    def _chunk(self) -> tuple[str, str]:
        chunk_id = urlsplit(self.path).path.strip("/")
        if not wire.is_chunk_id(chunk_id):
            raise BadRequest(f"Invalid chunk id {chunk_id[:80]!r}")
        chunk_id = chunk_id.upper()
        return chunk_id, chunk_url(self.service.volume, chunk_id)

    def _plain_error(self, status: int, message: str) -> None:
        self.reply(status, message.encode(), {"X-Error": quote_error(message)})

    def _fail(self, exc: BaseException) -> None:
        self._plain_error(rawx_status(exc), str(exc))

    def _no_body(self) -> bool:
        """Requests other than PUT carry no body: discard a small one, refuse framing errors."""
        try:
            for _piece in self.body_pieces(bytearray(64 * 1024), 64 * 1024, 30.0):
                pass
        except FramingError as exc:
            self.refuse_framing(exc)
            return False
        except BodyError:
            self.close_connection = True
            return False
        return True

    # -------------------------------------------------------------- PUT
    def do_PUT(self) -> None:
        service = self.service
        try:
            chunk_id, url = self._chunk()
            meta = wire.chunk_meta_from_headers(self.headers)
            stored_meta = self._put_meta(chunk_id, meta)
            length = self.body_length()  # framing errors before anything is created
            if length is not None and length > service.max_chunk_body:
                raise FramingError(
                    413, f"Chunk of {length} bytes, at most {service.max_chunk_body} accepted"
                )
        except FramingError as exc:
            self.refuse_framing(exc)
            return
        except _Reject as exc:
            self.close_connection = True
            self._plain_error(exc.status, str(exc))
            return
        except OioException as exc:
            self.close_connection = True
            self._fail(exc)
            return
        md5 = hashlib.md5()
        size = 0
        hashed = ""
        ec = str(stored_meta.get("chunk_method", "")).startswith("ec/")
        # A client that sends the CRC32 of its body (oiocli's) has its bytes checked with
        # it rather than with an MD5 stream, which would cost this process a core at
        # ~600 MB/s per chunk. The MD5 recorded is then the client's (a replica's chunk
        # hash is its metachunk hash), or none (an EC fragment, whose MD5 no reader of
        # this rawx needs, since every block read is checked against its CRC32). A rawx
        # that does not check its reads (a test's stand-in for OpenIO's) hashes always.
        crc_only = service.verify_reads and _declares_trailer(self.headers, wire.BODY_CRC32_TRAILER)
        crc = 0

        def pieces() -> Iterator[Any]:
            nonlocal size, crc, hashed
            body = self.body_pieces(
                bytearray(IO_SIZE), service.max_chunk_body, self.limits.chunk_body_timeout
            )
            for piece in body:
                if crc_only:
                    crc = zlib.crc32(piece, crc)
                else:
                    md5.update(piece)
                size += len(piece)
                yield piece
                if service.fault is not None:
                    service.fault("put", self, size)
                if service.stopped.is_set():
                    # A stopped rawx behaves as a dead process: no upload in
                    # progress completes, whatever the socket buffers still hold.
                    raise BodyError("service stopped")
            if self._trailers:
                try:
                    stored_meta.update(wire.chunk_meta_from_headers(self._trailers))
                except BadRequest as exc:
                    raise _Reject(400, str(exc)) from None
            # Everything the chunk's footer records must be known before it is written.
            if crc_only:
                sent_crc = _trailer(self._trailers, wire.BODY_CRC32_TRAILER)
                if sent_crc is None or sent_crc.lower() != f"{crc:08x}":
                    raise _Reject(
                        400,
                        f"Body CRC32 mismatch: sent {sent_crc}, received data gives {crc:08x}",
                    )
                digest = str(stored_meta.get("chunk_hash") or "").upper()
            else:
                digest = md5.hexdigest().upper()
            if stored_meta.get("chunk_hash") and stored_meta["chunk_hash"].upper() != digest:
                raise _Reject(
                    400,
                    f"Chunk hash mismatch: sent {stored_meta['chunk_hash']}, "
                    f"received data hashes to {digest}",
                )
            if stored_meta.get("chunk_size") is not None and stored_meta["chunk_size"] != size:
                raise _Reject(
                    400,
                    f"Chunk size mismatch: sent {stored_meta['chunk_size']}, received {size} bytes",
                )
            if ec and (
                stored_meta.get("metachunk_size") is None or not stored_meta.get("metachunk_hash")
            ):
                raise _Reject(400, "Missing metachunk size or hash (mandatory for EC chunks)")
            if stored_meta.get("metachunk_hash"):
                stored_meta["metachunk_hash"] = str(stored_meta["metachunk_hash"]).upper()
            if digest:
                stored_meta["chunk_hash"] = digest
            else:
                stored_meta.pop("chunk_hash", None)
            hashed = digest
            stored_meta["chunk_size"] = size
            if not ec and digest:
                # A replica is its whole metachunk: say so in its own metadata, as
                # the embedded namespace's chunks do (OpenIO's client sends the
                # metachunk's size and hash for EC fragments only). A hard link of
                # this chunk is then known for the same data by any reader.
                stored_meta.setdefault("metachunk_hash", digest)
                if stored_meta.get("metachunk_size") is None:
                    stored_meta["metachunk_size"] = size
            if service.stopped.is_set():
                raise BodyError("service stopped")

        try:
            service.store.put(url, pieces(), stored_meta)
        except FramingError as exc:
            self.refuse_framing(exc)
            return
        except _Reject as exc:
            self.close_connection = True
            self._plain_error(exc.status, str(exc))
            return
        except (BodyError, OSError) as exc:
            # The client went away (or the service is stopping): nothing to answer.
            LOG.debug("rawx %s: PUT %s aborted: %s", service.port, chunk_id, exc)
            self.close_connection = True
            return
        except OioException as exc:
            # Conflict (the id exists), no space, ...: the body was not read.
            self.close_connection = True
            self._fail(exc)
            return
        if service.stopped.is_set():
            service.store.delete(url)  # stored, but "died" before saying so
            self.close_connection = True
            return
        headers = wire.chunk_headers(
            {"chunk_hash": hashed, "chunk_size": size}, ("chunk_hash", "chunk_size")
        )
        headers[wire.CHUNK_PREFIX + "oio-version"] = OIO_VERSION
        self.reply(201, b"", headers)

    def _put_meta(self, chunk_id: str, meta: dict[str, Any]) -> dict[str, Any]:
        missing = [wire.chunk_header(f) for f in wire.CHUNK_REQUIRED_FIELDS if not meta.get(f)]
        if missing:
            raise _Reject(400, f"Missing header(s): {', '.join(missing)}")
        if meta.get("chunk_id") and meta["chunk_id"].upper() != chunk_id:
            raise _Reject(400, "Chunk id header does not match the URL")
        identity = target_meta(meta["full_path"], chunk_id, meta.get("container_id"))
        for field in ("content_path", "content_id"):
            sent = meta.get(field)
            if sent and str(sent).upper() != str(identity[field]).upper():
                raise _Reject(400, f"{wire.chunk_header(field)} does not match the full path")
        if meta.get("content_version") is not None and meta["content_version"] != int(
            identity["content_version"]
        ):
            raise _Reject(400, "Content version does not match the full path")
        stored = dict(meta)
        stored.update(identity)
        # A chunk hash or size given by the client is checked against the data
        # received, then replaced by what was computed (see pieces()).
        return stored

    # ---------------------------------------------------------- GET / HEAD
    def do_GET(self) -> None:
        self._read(body=True)

    def do_HEAD(self) -> None:
        self._read(body=False)

    def _meta_headers(self, url: str, chunk_id: str, info: dict[str, Any]) -> dict[str, str]:
        size = int(info["size"])
        meta = dict(info.get("meta") or {}, chunk_id=chunk_id, chunk_size=size)
        headers = wire.chunk_headers(meta)
        headers[wire.CHUNK_PREFIX + "oio-version"] = OIO_VERSION
        try:
            headers["Last-Modified"] = formatdate(os.stat(chunk_path(url)).st_mtime, usegmt=True)
        except OSError:
            pass
        headers["Accept-Ranges"] = "bytes"
        return headers

    def _read(self, body: bool) -> None:
        service = self.service
        if not self._no_body():
            return
        if service.delay:
            # A slow disk: stopping the service cuts the wait short.
            if service.stopped.wait(service.delay):
                self.close_connection = True
                return
        try:
            chunk_id, url = self._chunk()
            info = service.store.head(url)
        except OioException as exc:
            self._fail(exc)
            return
        size = int(info["size"])
        headers = self._meta_headers(url, chunk_id, info)
        start, end = 0, size
        status = 200
        wanted = parse_range(self.headers.get("Range"), size)
        if wanted is not None:
            if wanted[0] >= size:
                self.reply(416, b"", {"Content-Range": f"bytes */{size}"})
                return
            start, end = wanted
            status = 206
            headers["Content-Range"] = f"bytes {start}-{max(end - 1, start)}/{size}"
        if not body:
            headers["Content-Length"] = str(end - start)
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            return
        if not service.verify_reads:
            self._send_unverified(url, chunk_id, status, headers, start, end)
            return
        # Every block sent is checked first: the client may stream without checking.
        headers[wire.BLOCKS_VERIFIED_HEADER] = "crc32"
        pieces = service.store.get(url, start, end)
        try:
            # The first block is checked before the status goes out, so that a
            # corrupt chunk is an error reply rather than a cut connection.
            first = next(pieces, b"")
        except OioException as exc:
            self._fail(exc)
            return
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(end - start))
        self.end_headers()
        sent = 0
        self.phase(True, self.limits.chunk_body_timeout)
        try:
            for piece in _chain(first, pieces):
                if service.fault is not None:
                    service.fault("get", self, sent)
                if service.stopped.is_set():
                    raise BodyError("service stopped")
                self.wfile.write(piece)
                sent += len(piece)
        except (OioException, OSError, BodyError) as exc:
            # Headers are out: the only way to say "this is not the data" is to
            # close the connection before Content-Length bytes were sent.
            LOG.warning(
                "rawx %s: GET %s stopped after %d bytes: %s", service.port, chunk_id, sent, exc
            )
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        finally:
            self.phase(True, None)

    def _send_unverified(
        self, url: str, chunk_id: str, status: int, headers: dict[str, str], start: int, end: int
    ) -> None:
        """The chunk's data bytes as they are on disk, sent by the kernel (as OpenIO's rawx)."""
        try:
            fd = os.open(chunk_path(url), os.O_RDONLY)
        except OSError as exc:
            self._fail(ChunkNotFound(f"Chunk not found: {chunk_id}: {exc}"))
            return
        try:
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(end - start))
            self.end_headers()
            self.wfile.flush()
            self.phase(True, self.limits.chunk_body_timeout)
            with os.fdopen(fd, "rb", closefd=False) as f:
                self.connection.sendfile(f, start, end - start)
        except OSError as exc:
            LOG.warning("rawx %s: GET %s cut: %s", self.service.port, chunk_id, exc)
            self.close_connection = True
        finally:
            os.close(fd)
            self.phase(True, None)

    # -------------------------------------------------------- DELETE / COPY
    def do_DELETE(self) -> None:
        if not self._no_body():
            return
        try:
            chunk_id, url = self._chunk()
            if not os.path.exists(chunk_path(url)):
                raise ChunkNotFound(f"Chunk not found: {chunk_id}")
            self.service.store.delete(url)
        except OioException as exc:
            self._fail(exc)
            return
        self.reply(204)

    def do_COPY(self) -> None:
        """Link a chunk under a new id of this rawx (`Destination`), with its own full path.

        As OpenIO's rawx: the destination must be on this rawx (else 403) and
        differ from the source; `X-oio-Chunk-Meta-Full-Path` is mandatory and
        becomes the new chunk's identity (container, path, version, content
        id); every other metadata field is the source's. 201, or 409 when the
        destination exists, 404 when the source does not.
        """
        if not self._no_body():
            return
        service = self.service
        try:
            src_id, src_url = self._chunk()
            dst_id = self._destination(src_id)
            full_path = self.headers.get(wire.chunk_header("full_path"))
            if not full_path:
                raise _Reject(400, f"Missing header {wire.chunk_header('full_path')}")
            identity = target_meta(
                full_path, dst_id, self.headers.get(wire.chunk_header("container_id"))
            )
            dst_url = chunk_url(service.volume, dst_id)
            info = service.store.head(src_url)
            meta = dict(info.get("meta") or {})
            meta.update(identity)
            # The store verifies every block of the source as it is read.
            service.store.put(dst_url, service.store.get(src_url), meta)
        except _Reject as exc:
            self._plain_error(exc.status, str(exc))
            return
        except OioException as exc:
            self._fail(exc)
            return
        self.reply(201)

    def _destination(self, src_id: str) -> str:
        destination = self.headers.get("Destination")
        if not destination:
            raise _Reject(400, "Missing Destination header")
        parts = urlsplit(destination)
        if parts.netloc not in (self.service.addr, f"{self.service.host}:{self.service.port}"):
            raise _Reject(403, f"Destination {destination!r} is not on this rawx")
        dst_id = parts.path.strip("/")
        if not wire.is_chunk_id(dst_id):
            raise _Reject(400, f"Invalid destination chunk id {dst_id[:80]!r}")
        dst_id = dst_id.upper()
        if dst_id == src_id:
            raise _Reject(403, "Destination is the source chunk")
        return dst_id


def _declares_trailer(headers: Any, name: str) -> bool:
    """Whether the request's `Trailer` header announces `name`."""
    declared = ",".join(headers.get_all("Trailer") or [])
    return name in (part.strip().lower() for part in declared.split(","))


def _trailer(trailers: dict[str, str] | None, name: str) -> str | None:
    for key, value in (trailers or {}).items():
        if key.lower() == name:
            return value
    return None


def _chain(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    if first:
        yield first
    yield from rest


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """A single `bytes=a-b` / `a-` / `-n` range as [start, end); None to send everything.

    As a rawx does, a malformed range or several ranges are ignored (whole chunk),
    the end is clamped to the size, and a start past the end is the caller's 416.
    (OpenIO's rawx honours only `a-b`; the open forms are RFC 7233's, and both
    OpenIO's client and ours send `a-` when resuming a read.)
    """
    if not header or not header.startswith("bytes=") or "," in header:
        return None
    first, sep, last = header[6:].strip().partition("-")
    if not sep:
        return None
    if not (first.isascii() and last.isascii()):
        return None
    try:
        if first == "":
            if not last:
                return None
            return max(size - int(last), 0), size
        start = int(first)
        end = size if last == "" else min(int(last) + 1, size)
    except ValueError:
        return None
    if start < 0 or (last != "" and int(last) < start):
        return None
    return start, max(end, start)


class RawxService(_Service):
    handler_class = RawxHandler

    def __init__(
        self,
        owner: NamespaceServer,
        index: int,
        volume: str,
        host: str,
        port: int = 0,
        limits: Limits | None = None,
    ) -> None:
        super().__init__(host, port, limits)
        self.owner = owner
        self.index = index
        self.volume = volume
        self.store = owner.ns.chunks
        self.label = f"rawx-{index}"
        # Test hooks: seconds before answering a GET or HEAD; a callable
        # (event, handler, bytes so far) called as PUT/GET bodies flow: "put"
        # after each piece received, "get" before each piece sent.
        self.delay = 0.0
        self.fault: Callable[[str, Any, int], None] | None = None
        # False: GET sends a chunk's bytes unchecked, as OpenIO's Go rawx does (tests
        # of the client's own verification).
        self.verify_reads = True

    @property
    def max_chunk_body(self) -> int:
        return self.limits.max_chunk_body_factor * max(int(self.owner.ns.chunk_size), IO_SIZE)

    @property
    def service_id(self) -> str:
        return f"rawx-{self.index}"


__all__ = ["RawxHandler", "RawxService", "parse_range", "rawx_status", "target_meta"]
