"""Client-side read path: object ranges -> metachunk ranges -> chunks.

Every block read from a chunk is verified by the chunk store (CRC32 per block),
and every chunk, when opened, is checked to be the one recorded (content id,
position and metachunk hash, from its trailer or its rawx reply headers), so a
corrupt, misplaced or missing replica or fragment is skipped and the read goes
on from the others; each skip is reported through `on_problem` so the caller can
say the read was degraded.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from oiocli.core.chunks import ChunkRecord, Metachunk, group_metachunks, position_of
from oiocli.core.exceptions import (
    BadRange,
    ChunkMisplaced,
    ChunkNotFound,
    OioException,
    UnrecoverableContent,
)
from oiocli.core.storage_method import EC_SEGMENT_SIZE, StorageMethod

if TYPE_CHECKING:
    from oiocli.backends.base import ChunkStore

ProblemFn = Callable[[ChunkRecord, BaseException], None] | None


def normalize_ranges(
    ranges: list[tuple[int | None, int | None]] | None, size: int
) -> list[tuple[int, int]]:
    """Inclusive (start, end) ranges -> half-open [start, stop) ranges within the object.

    `(None, n)` is the last n bytes; an end past the object is clamped; a start
    past the end, a negative start or a reversed range is a BadRange.
    """
    if not ranges:
        return [(0, size)]
    result = []
    if isinstance(ranges, str | bytes) or not isinstance(ranges, Iterable):
        raise BadRange(f"Invalid ranges {ranges!r}: expected a list of (start, end) pairs")
    for item in ranges:
        try:
            start, end = item
        except (TypeError, ValueError):
            raise BadRange(f"Invalid range {item!r}: expected a (start, end) pair") from None
        for bound in (start, end):
            if bound is not None and (isinstance(bound, bool) or not isinstance(bound, int)):
                raise BadRange(f"Invalid range {item!r}: bounds are integers or None")
        if start is None:
            if end is None or end < 0:
                raise BadRange(f"Invalid suffix range {item!r}")
            result.append((max(size - end, 0), size))
            continue
        if start < 0 or (end is not None and end < start):
            raise BadRange(f"Invalid range {start}-{'' if end is None else end}")
        if start >= size and not (start == 0 and size == 0):
            raise BadRange(f"Range start {start} is past the end of the object ({size} bytes)")
        stop = size if end is None else min(end + 1, size)
        result.append((start, stop))
    return result


def expected_identity(chunk: ChunkRecord, content_id: str | None) -> dict[str, Any]:
    """What a chunk must say of itself to be the one recorded (`check_chunk_identity`)."""
    return {
        "content_id": content_id,
        "pos": chunk["pos"],
        "metachunk_hash": chunk.get("hash"),
        # A cloud tier chunk's ETag in its bucket (EC fragments: their MD5, unused here).
        "chunk_hash": chunk.get("chunk_hash"),
    }


def read_object(
    store: ChunkStore,
    method: StorageMethod,
    chunks: list[ChunkRecord],
    ranges: list[tuple[int, int]],
    name: str = "",
    on_problem: ProblemFn = None,
    content_id: str | None = None,
    readahead: int = 0,
) -> Iterator[bytes]:
    """Yield the bytes of each half-open range, in the order given.

    `content_id` is the object's: a chunk that belongs to another content is
    skipped as a corrupt one (see `expected_identity`). With `readahead`
    (replicated methods), that many later metachunks are read in threads while
    one is yielded, each held in memory: for stores where one request's latency
    and bandwidth, not the disk, bound a read (a cloud bucket).
    """
    metachunks = group_metachunks(chunks)
    if readahead > 0 and not method.is_ec:
        jobs = [
            (mc, max(start, mc.offset) - mc.offset, min(stop, mc.offset + mc.size) - mc.offset)
            for start, stop in ranges
            for mc in metachunks
            if max(start, mc.offset) < min(stop, mc.offset + mc.size)
        ]
        yield from _read_ahead(store, jobs, readahead, name, on_problem, content_id)
        return
    for start, stop in ranges:
        for mc in metachunks:
            lo = max(start, mc.offset)
            hi = min(stop, mc.offset + mc.size)
            if lo >= hi:
                continue
            if method.is_ec:
                yield from _read_ec(
                    store, method, mc, lo - mc.offset, hi - mc.offset, name, on_problem, content_id
                )
            else:
                yield from read_replicated(
                    store, mc, lo - mc.offset, hi - mc.offset, name, on_problem, content_id
                )


def read_replicated(
    store: ChunkStore,
    mc: Metachunk,
    start: int,
    stop: int,
    name: str,
    on_problem: ProblemFn,
    content_id: str | None = None,
) -> Iterator[bytes]:
    """The bytes [start, stop) of a replicated metachunk, from whichever copies can give them.

    A copy that fails in the middle (a corrupt block) is left for the next one
    from where it stopped, and tried again once the others got past its bad
    block: every copy damaged, but in different blocks, still reads. A missing
    or misplaced copy is not tried again.
    """
    replicas = list(mc.chunks)
    random.shuffle(replicas)
    offset = start
    errors: list[OioException] = []
    failed_at: dict[int, int] = {}  # replica -> the offset it last failed at
    dead: set[int] = set()
    while True:
        progress = False
        for i, chunk in enumerate(replicas):
            if i in dead or failed_at.get(i) == offset:
                continue
            try:
                expect = expected_identity(chunk, content_id)
                for piece in store.get(chunk["url"], offset, stop, expect=expect):
                    offset += len(piece)
                    progress = True
                    yield piece
                if offset >= stop:
                    return
                dead.add(i)
                raise UnrecoverableContent(f"Chunk {chunk['url']} is shorter than recorded")
            except OioException as exc:
                failed_at[i] = offset
                if isinstance(exc, ChunkNotFound | ChunkMisplaced):
                    dead.add(i)
                errors.append(exc)
                if on_problem:
                    on_problem(chunk, exc)
        if not progress:
            break
    raise UnrecoverableContent(
        f"Object {name!r}: no readable copy of metachunk {mc.index} "
        f"({len(mc.chunks)} known, {'; '.join(map(str, errors)) or 'none recorded'})"
    )


def _read_ahead(
    store: ChunkStore,
    jobs: list[tuple[Metachunk, int, int]],
    depth: int,
    name: str,
    on_problem: ProblemFn,
    content_id: str | None,
) -> Iterator[bytes]:
    """The jobs' bytes in order; up to `depth` jobs after the current one read meanwhile."""
    from concurrent.futures import ThreadPoolExecutor

    def fetch(job: tuple[Metachunk, int, int]) -> list[bytes]:
        mc, lo, hi = job
        return list(read_replicated(store, mc, lo, hi, name, on_problem, content_id))

    pool = ThreadPoolExecutor(depth + 1)
    pending: list[Any] = []
    try:
        for job in jobs:
            pending.append(pool.submit(fetch, job))
            if len(pending) > depth:
                yield from pending.pop(0).result()
        while pending:
            yield from pending.pop(0).result()
    finally:
        for future in pending:
            future.cancel()
        pool.shutdown(wait=True)


class ExactReader:
    """Reads exact byte counts from an iterator of byte strings (one fragment at a time)."""

    def __init__(self, pieces: Iterator[bytes], label: str = "chunk") -> None:
        self._pieces = pieces
        self._label = label
        self._buf = bytearray()

    def read(self, n: int) -> bytes:
        while len(self._buf) < n:
            try:
                self._buf += next(self._pieces)
            except StopIteration:
                raise UnrecoverableContent(f"{self._label} is shorter than recorded") from None
        data = bytes(self._buf[:n])
        del self._buf[:n]
        return data

    def prime(self) -> None:
        """Open the source now (read its first piece), so that a bad one fails here."""
        if not self._buf:
            try:
                self._buf += next(self._pieces)
            except StopIteration:
                pass


class _FragmentSource(ExactReader):
    """Sequential reader of one EC fragment chunk, cut into per-segment fragments."""

    def __init__(
        self,
        store: ChunkStore,
        chunk: ChunkRecord,
        start: int,
        stop: int,
        content_id: str | None = None,
    ):
        expect = expected_identity(chunk, content_id)
        super().__init__(
            store.get(chunk["url"], start, stop, expect=expect), f"Chunk {chunk['url']}"
        )
        self.chunk = chunk


def _prime_all(sources: list[_FragmentSource]) -> list[OioException | None]:
    """Open the sources at once, each in a thread of its own but the first.

    Opening a fragment is a round trip to its rawx (and a cold read there): one
    after another, k of them per metachunk add up to more than the transfer.
    """
    errors: list[OioException | None] = [None] * len(sources)
    crashed: list[BaseException] = []

    def run(i: int) -> None:
        try:
            sources[i].prime()
        except OioException as exc:
            errors[i] = exc
        except BaseException as exc:  # a bug: raised in the caller's thread below
            crashed.append(exc)

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(1, len(sources))]
    for thread in threads:
        thread.start()
    if sources:
        run(0)
    for thread in threads:
        thread.join()
    if crashed:
        raise crashed[0]
    return errors


def _read_ec(
    store: ChunkStore,
    method: StorageMethod,
    mc: Metachunk,
    start: int,
    stop: int,
    name: str,
    on_problem: ProblemFn,
    content_id: str | None = None,
) -> Iterator[bytes]:
    driver = method.driver
    nsegments, frag_size, last_frag = method.fragment_layout(mc.size)
    first_seg = start // EC_SEGMENT_SIZE
    last_seg = (stop - 1) // EC_SEGMENT_SIZE
    frag_start = first_seg * frag_size
    frag_stop = last_seg * frag_size + (last_frag if last_seg == nsegments - 1 else frag_size)

    # Data fragments first: decoding from them alone is the fast path.
    spares = sorted(mc.chunks, key=lambda c: position_of(c)[1])
    active: list[_FragmentSource] = []
    errors: list[str] = []
    offset = frag_start  # fragment offset of the segment being read

    def skip(chunk: ChunkRecord, exc: OioException) -> None:
        errors.append(str(exc))
        if on_problem:
            on_problem(chunk, exc)

    def fill() -> None:
        while len(active) < method.k and spares:
            batch: list[_FragmentSource] = []
            while spares and len(active) + len(batch) < method.k:
                chunk = spares.pop(0)
                try:
                    batch.append(_FragmentSource(store, chunk, offset, frag_stop, content_id))
                except OioException as exc:
                    skip(chunk, exc)
            # Opened now: a missing, corrupt or misplaced fragment is replaced by
            # a spare before any segment is read from the others.
            for source, problem in zip(batch, _prime_all(batch), strict=True):
                if problem is None:
                    active.append(source)
                else:
                    skip(source.chunk, problem)

    fill()
    for seg in range(first_seg, last_seg + 1):
        offset = seg * frag_size
        want = last_frag if seg == nsegments - 1 else frag_size
        while True:
            fill()
            if len(active) < method.k:
                raise UnrecoverableContent(
                    f"Object {name!r}: metachunk {mc.index} is unreadable, "
                    f"{len(active)}/{method.k} fragments available ({'; '.join(errors)})"
                )
            fragments = []
            failed = False
            for source in list(active):
                try:
                    fragments.append(source.read(want))
                except OioException as exc:
                    errors.append(str(exc))
                    if on_problem:
                        on_problem(source.chunk, exc)
                    active.remove(source)
                    failed = True
            if not failed:
                break
            # The sources that succeeded consumed this segment: reopen them at its
            # start, so they stay aligned with the spares that replace the bad ones.
            active[:] = [
                _FragmentSource(store, src.chunk, offset, frag_stop, content_id) for src in active
            ]
        try:
            segment = driver.decode(fragments)
        except Exception as exc:
            raise UnrecoverableContent(
                f"Object {name!r}: cannot decode metachunk {mc.index} segment {seg}: {exc}"
            ) from None
        seg_offset = seg * EC_SEGMENT_SIZE
        lo = max(start - seg_offset, 0)
        hi = min(stop - seg_offset, len(segment))
        yield segment if (lo == 0 and hi == len(segment)) else segment[lo:hi]
