"""Client-side write path: split into metachunks, replicate or erasure-code, hash.

One producer thread reads the source into pooled 1 MiB buffers. Each buffer goes
to the object-MD5 thread, the metachunk-MD5 thread, and either to every replica
writer (replication) or through the EC encoder to one writer per fragment. Memory
is bounded by the pool and the queues, never by the object size.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from oiocli.backends.base import ChunkStore
from oiocli.exceptions import EtagMismatch, OioException
from oiocli.io.memory import BufferPool
from oiocli.io.pipeline import Consumer, SharedBuffer, Source, hash_consumer
from oiocli.io.storage_method import StorageMethod

BUFFER_SIZE = 1024 * 1024
POOL_BUFFERS = 12

# targets(metachunk_index) -> chunk URLs, one per replica or fragment.
TargetsFn = Callable[[int], list[str]]
ProgressFn = Callable[[int], None] | None


class WriteResult:
    def __init__(self) -> None:
        self.chunks: list[dict[str, Any]] = []
        self.size = 0
        self.hash = ""
        self.failed: list[tuple[str, str]] = []  # (url, error) dropped within quorum
        self.resumed_bytes = 0  # bytes of an interrupted upload not sent again


def _writer(store: ChunkStore, url: str, meta: dict[str, Any]) -> Consumer:
    return Consumer(lambda items: store.put(url, items, meta), depth=4)


def write_object(
    source: Source,
    method: StorageMethod,
    chunk_size: int,
    store: ChunkStore,
    targets: TargetsFn,
    base_meta: dict[str, Any],
    progress: ProgressFn = None,
    etag: str | None = None,
    first_position: int = 0,
    done: list[dict[str, Any]] | None = None,
    on_metachunk: Callable[[dict[str, Any]], None] | None = None,
    keep_on_failure: bool = False,
) -> WriteResult:
    """Write every metachunk of `source`; on failure delete what was written.

    `done` lists metachunks already durable from an interrupted upload
    (`{"index", "size", "chunks"}`): their bytes are read from the source and
    hashed, not written again. `on_metachunk` is called as each new metachunk
    becomes durable; with `keep_on_failure` those survive a failure (to resume).
    """
    result = WriteResult()
    pool = BufferPool(BUFFER_SIZE, POOL_BUFFERS)
    obj_md5 = hash_consumer(hashlib.md5())
    metachunk_size = method.metachunk_size(chunk_size)
    written: list[str] = []  # chunks of completed metachunks
    in_progress: list[str] = []
    try:
        index = 0
        for record in done or ():
            _hash_only(source, pool, int(record["size"]), obj_md5)
            result.chunks.extend(record["chunks"])
            result.size += int(record["size"])
            result.resumed_bytes += int(record["size"])
            index += 1
        current, eof = _read_buffer(source, pool, min(BUFFER_SIZE, metachunk_size))
        while current is not None:
            # An empty object still has one (empty) metachunk at position 0.
            if current.view.nbytes == 0 and index > 0:
                current.release()
                break
            pos = first_position + index
            urls = targets(pos)
            in_progress = urls
            before = len(result.chunks)
            size_before = result.size
            current, eof = _write_metachunk(
                source,
                pool,
                current,
                eof,
                method,
                metachunk_size,
                store,
                urls,
                pos,
                base_meta,
                obj_md5,
                result,
                progress,
            )
            written.extend(urls)
            in_progress = []
            if on_metachunk is not None:
                on_metachunk({"index": pos, "size": result.size - size_before,
                              "chunks": result.chunks[before:]})
            index += 1
        result.hash = obj_md5.finish().hexdigest().upper()
        if obj_md5.error:
            raise obj_md5.error
        if etag and etag.upper() != result.hash:
            raise EtagMismatch(f"ETag mismatch: expected {etag.upper()}, got {result.hash}")
        return result
    except BaseException:
        if obj_md5.is_alive():
            obj_md5.finish()
        for url in in_progress + ([] if keep_on_failure else written):
            try:
                store.delete(url)
            except OioException:
                pass
        raise
    finally:
        source.close()


def _hash_only(source: Source, pool: BufferPool, size: int, obj_md5: Consumer) -> None:
    """Feed `size` bytes of the source to the object hash only (already stored)."""
    from oiocli.exceptions import Conflict

    left = size
    while left:
        buf, eof = _read_buffer(source, pool, min(BUFFER_SIZE, left))
        got = buf.view.nbytes
        obj_md5.submit(buf)
        buf.release()
        left -= got
        if eof and left:
            raise Conflict("The source is shorter than the part already uploaded")


def _read_buffer(source: Source, pool: BufferPool, want: int) -> tuple[SharedBuffer, bool]:
    """Read up to `want` bytes into a pooled buffer; True when the source is exhausted."""
    buf = pool.get()
    got = source.readinto(memoryview(buf)[:want]) if want else 0
    return SharedBuffer(buf, got, pool), got < want


def _write_metachunk(
    source: Source,
    pool: BufferPool,
    current: SharedBuffer,
    eof: bool,
    method: StorageMethod,
    metachunk_size: int,
    store: ChunkStore,
    urls: list[str],
    pos: int,
    base_meta: dict[str, Any],
    obj_md5: Consumer,
    result: WriteResult,
    progress: ProgressFn,
) -> tuple[SharedBuffer | None, bool]:
    """Write one metachunk starting with `current`; return the next metachunk's first buffer."""
    meta_md5 = hash_consumer(hashlib.md5())
    if method.is_ec:
        frag_size = method.fragment_size()
        positions = [f"{pos}.{i}" for i in range(len(urls))]
    else:
        frag_size = 0
        positions = [str(pos)] * len(urls)
    metas = []
    for chunk_pos in positions:
        meta = dict(base_meta, pos=chunk_pos)
        if frag_size:
            meta["block_size"] = frag_size
        metas.append(meta)
    writers = [_writer(store, url, meta) for url, meta in zip(urls, metas, strict=True)]
    size = 0
    nxt: SharedBuffer | None = None
    try:
        while True:
            n = current.view.nbytes
            if n:
                obj_md5.submit(current)
                meta_md5.submit(current)
                if method.is_ec:
                    # pyeclib accepts only bytes: one copy per segment.
                    fragments = method.driver.encode(bytes(current.view))
                    for writer, fragment in zip(writers, fragments, strict=True):
                        _submit(writer, fragment)
                else:
                    for writer in writers:
                        _submit(writer, current)
                size += n
                if progress:
                    progress(n)
            current.release()
            current = None  # type: ignore[assignment]
            if eof:
                break
            if size >= metachunk_size:
                nxt, eof = _read_buffer(source, pool, min(BUFFER_SIZE, metachunk_size))
                break
            current, eof = _read_buffer(source, pool, min(BUFFER_SIZE, metachunk_size - size))
        meta_hash = meta_md5.finish().hexdigest().upper()
        for meta in metas:
            meta["metachunk_size"] = size
            meta["metachunk_hash"] = meta_hash
        for writer in writers:
            writer.finish()
        ok = [i for i, writer in enumerate(writers) if writer.error is None]
        if len(ok) < method.write_quorum:
            raise next(w.error for w in writers if w.error is not None)
        for url, writer in zip(urls, writers, strict=True):
            if writer.error is not None:
                result.failed.append((url, str(writer.error)))
                store.delete(url)
        for i in ok:
            chunk = {"url": urls[i], "pos": positions[i], "size": size, "hash": meta_hash}
            if method.is_ec:
                chunk["chunk_size"] = writers[i].result["size"]
            result.chunks.append(chunk)
        result.size += size
        return nxt, eof
    except BaseException:
        for buf in (current, nxt):
            if buf is not None:
                buf.release()
        for writer in writers:
            if writer.is_alive():
                writer.finish()
        if meta_md5.is_alive():
            meta_md5.finish()
        raise


def _submit(writer: Consumer, item: Any) -> None:
    # A failed writer is dropped; the quorum check decides whether that matters.
    if writer.error is None:
        writer.submit(item)
