"""Client-side write path: split into metachunks, replicate or erasure-code, hash.

One producer thread reads the source into pooled 1 MiB buffers. Each buffer goes
to the object-MD5 thread, the metachunk-MD5 thread, and either to every replica
writer (replication) or through the EC encoder to one writer per fragment. Memory
is bounded by the pool and the queues, never by the object size.
"""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from oiocli.core.buffers import BufferPool, shared_pool
from oiocli.core.exceptions import EtagMismatch, OioException
from oiocli.io.pipeline import Consumer, InlineConsumer, SharedBuffer, Source, hash_consumer

if TYPE_CHECKING:
    from oiocli.backends.base import ChunkStore
    from oiocli.core.chunks import ChunkRecord
    from oiocli.core.storage_method import StorageMethod

BUFFER_SIZE = 1024 * 1024
# 64 MiB at most for all uploads of a process, whatever their number and size.
POOL_BUFFERS = 64
# Metachunks in flight per upload: one streaming while earlier ones are fsync'd.
CHUNK_CONCURRENCY = 3

# targets(metachunk_index) -> chunk URLs, one per replica or fragment.
TargetsFn = Callable[[int], list[str]]
ProgressFn = Callable[[int], None] | None


class WriteResult:
    def __init__(self) -> None:
        self.chunks: list[ChunkRecord] = []
        self.size = 0
        self.hash = ""
        self.failed: list[tuple[str, str]] = []  # (url, error) dropped within quorum
        self.resumed_bytes = 0  # bytes of an interrupted upload not sent again


AnyConsumer = Consumer | InlineConsumer


def _writer(store: ChunkStore, url: str, meta: dict[str, Any], inline: bool = False) -> AnyConsumer:
    def put(items: Any) -> Any:
        return store.put(url, items, meta)

    return InlineConsumer(put) if inline else Consumer(put, depth=4)


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
    chunk_concurrency: int = CHUNK_CONCURRENCY,
) -> WriteResult:
    """Write every metachunk of `source`; on failure delete what was written.

    Up to `chunk_concurrency` metachunks are in flight: while one is being
    fsync'd the next is already streaming, so the disk flush never stalls the
    pipeline. `done` lists metachunks already durable from an interrupted upload
    (`{"index", "size", "chunks"}`): their bytes are read from the source and
    hashed, not written again. `on_metachunk` is called, in order, as each new
    metachunk becomes durable; with `keep_on_failure` those survive a failure.
    """
    result = WriteResult()
    pool = shared_pool(BUFFER_SIZE, POOL_BUFFERS)
    metachunk_size = method.metachunk_size(chunk_size)
    written: list[str] = []  # chunks of completed metachunks
    in_flight: deque[_PendingMetachunk] = deque()
    obj_md5: AnyConsumer | None = None

    def complete_oldest() -> None:
        pending = in_flight[0]
        record = pending.wait(store, result)  # on failure it stays listed, to be cleaned
        in_flight.popleft()
        written.extend(pending.urls)
        if on_metachunk is not None:
            on_metachunk(record)

    current: SharedBuffer | None = None
    try:
        if done:
            obj_md5 = hash_consumer(hashlib.md5())
        index = 0
        for record in done or ():
            assert obj_md5 is not None  # made above whenever `done` lists any
            _hash_only(source, pool, int(record["size"]), obj_md5)
            result.chunks.extend(record["chunks"])
            result.size += int(record["size"])
            result.resumed_bytes += int(record["size"])
            index += 1
        current, eof = _read_buffer(source, pool, min(BUFFER_SIZE, metachunk_size))
        # Whole in one buffer: hash (and write a single chunk) in this thread, since
        # starting threads would cost more than the work (small objects per second).
        small = eof and not done
        if obj_md5 is None:
            obj_md5 = hash_consumer(hashlib.md5(), inline=small)
        while current is not None:
            # An empty object still has one (empty) metachunk at position 0.
            if current.view.nbytes == 0 and index > 0:
                current.release()
                current = None
                break
            while len(in_flight) >= max(1, chunk_concurrency):
                complete_oldest()
            pending = _PendingMetachunk(
                store,
                method,
                targets(first_position + index),
                first_position + index,
                base_meta,
                small,
            )
            in_flight.append(pending)
            # feed() owns the buffer from here on, and releases it even when it fails.
            first, current = current, None
            current, eof = pending.feed(source, pool, first, eof, metachunk_size, obj_md5, progress)
            index += 1
        while in_flight:
            complete_oldest()
        result.hash = obj_md5.finish().hexdigest().upper()
        if obj_md5.error:
            raise obj_md5.error
        if etag and etag.upper() != result.hash:
            raise EtagMismatch(f"ETag mismatch: expected {etag.upper()}, got {result.hash}")
        return result
    except BaseException:
        # A pooled buffer kept on a failure is lost for good: once the pool is
        # empty every later upload of the process waits for it forever.
        if current is not None:
            current.release()
        if obj_md5 is not None and obj_md5.is_alive():
            obj_md5.stop()
        unfinished = []
        for pending in in_flight:
            pending.abort()
            unfinished.extend(pending.urls)
        for url in unfinished + ([] if keep_on_failure else written):
            try:
                store.delete(url)
            except OioException:
                pass
        raise
    finally:
        source.close()


def _hash_only(source: Source, pool: BufferPool, size: int, obj_md5: AnyConsumer) -> None:
    """Feed `size` bytes of the source to the object hash only (already stored)."""
    from oiocli.core.exceptions import Conflict

    left = size
    while left:
        buf, eof = _read_buffer(source, pool, min(BUFFER_SIZE, left))
        got = buf.view.nbytes
        try:
            obj_md5.submit(buf)
        finally:
            buf.release()
        left -= got
        if eof and left:
            raise Conflict("The source is shorter than the part already uploaded")


def _read_buffer(source: Source, pool: BufferPool, want: int) -> tuple[SharedBuffer, bool]:
    """Read up to `want` bytes into a pooled buffer; True when the source is exhausted."""
    buf = pool.get()
    try:
        got = source.readinto(memoryview(buf)[:want]) if want else 0
    except BaseException:
        pool.put(buf)
        raise
    return SharedBuffer(buf, got, pool), got < want


class _PendingMetachunk:
    """One metachunk: fed buffer by buffer, then left to finish (fsync) on its own."""

    def __init__(
        self,
        store: ChunkStore,
        method: StorageMethod,
        urls: list[str],
        pos: int,
        base_meta: dict[str, Any],
        small: bool = False,
    ) -> None:
        self.method = method
        self.urls = urls
        self.pos = pos
        self.size = 0
        if method.is_ec:
            frag_size = method.fragment_size()
            self.positions = [f"{pos}.{i}" for i in range(len(urls))]
        else:
            frag_size = 0
            self.positions = [str(pos)] * len(urls)
        self.metas = []
        for chunk_pos in self.positions:
            meta = dict(base_meta, pos=chunk_pos)
            if frag_size:
                meta["block_size"] = frag_size
            self.metas.append(meta)
        self.meta_md5 = hash_consumer(hashlib.md5(), inline=small)
        # Several chunks are written in parallel, so that their fsyncs overlap.
        inline = small and len(urls) == 1
        self.writers = [
            _writer(store, url, meta, inline) for url, meta in zip(urls, self.metas, strict=True)
        ]
        self.hash = ""

    def feed(
        self,
        source: Source,
        pool: BufferPool,
        current: SharedBuffer,
        eof: bool,
        metachunk_size: int,
        obj_md5: AnyConsumer,
        progress: ProgressFn,
    ) -> tuple[SharedBuffer | None, bool]:
        """Stream one metachunk from `current` on; return the next metachunk's first buffer."""
        method = self.method
        nxt: SharedBuffer | None = None
        try:
            while True:
                n = current.view.nbytes
                if n:
                    obj_md5.submit(current)
                    self.meta_md5.submit(current)
                    if method.is_ec:
                        # pyeclib accepts only bytes: one copy per segment.
                        fragments = method.driver.encode(bytes(current.view))
                        for writer, fragment in zip(self.writers, fragments, strict=True):
                            _submit(writer, fragment)
                    else:
                        for writer in self.writers:
                            _submit(writer, current)
                    self.size += n
                    if progress:
                        progress(n)
                current.release()
                current = None  # type: ignore[assignment]
                if eof:
                    break
                if self.size >= metachunk_size:
                    nxt, eof = _read_buffer(source, pool, min(BUFFER_SIZE, metachunk_size))
                    break
                current, eof = _read_buffer(
                    source, pool, min(BUFFER_SIZE, metachunk_size - self.size)
                )
            # The trailer of every chunk carries the metachunk hash: know it first.
            self.hash = self.meta_md5.finish().hexdigest().upper()
            for meta in self.metas:
                meta["metachunk_size"] = self.size
                meta["metachunk_hash"] = self.hash
            for writer in self.writers:
                writer.close()
            return nxt, eof
        except BaseException:
            for buf in (current, nxt):
                if buf is not None:
                    buf.release()
            raise

    def wait(self, store: ChunkStore, result: WriteResult) -> dict[str, Any]:
        """Wait for the chunks to be durable; check the quorum; record them."""
        for writer in self.writers:
            writer.join()
        ok = [i for i, writer in enumerate(self.writers) if writer.error is None]
        if len(ok) < self.method.write_quorum:
            raise next(w.error for w in self.writers if w.error is not None)
        for url, writer in zip(self.urls, self.writers, strict=True):
            if writer.error is not None:
                result.failed.append((url, str(writer.error)))
                store.delete(url)
        chunks: list[ChunkRecord] = []
        for i in ok:
            chunk: ChunkRecord = {
                "url": self.urls[i],
                "pos": self.positions[i],
                "size": self.size,
                "hash": self.hash,
            }
            if self.method.is_ec:
                # A fragment's own size, and its MD5 where the chunk store knows
                # it for free (a rawx answers the hash of what it stored).
                stored = self.writers[i].result
                chunk["chunk_size"] = stored["size"]
                if stored.get("hash"):
                    chunk["chunk_hash"] = str(stored["hash"]).upper()
            elif self.writers[i].result.get("etag"):
                # A bucket object's ETag (a multipart upload's is not the MD5):
                # what a read asks the bucket with If-Match.
                chunk["chunk_hash"] = str(self.writers[i].result["etag"]).upper()
            chunks.append(chunk)
        result.chunks.extend(chunks)
        result.size += self.size
        return {"index": self.pos, "size": self.size, "chunks": chunks}

    def abort(self) -> None:
        for writer in self.writers:
            if writer.is_alive():
                writer.stop()
        if self.meta_md5.is_alive():
            self.meta_md5.stop()


def _submit(writer: AnyConsumer, item: Any) -> None:
    # A failed writer is dropped; the quorum check decides whether that matters.
    if writer.error is None:
        writer.submit(item)
