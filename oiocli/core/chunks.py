"""Chunks as every layer sees them: positions, metachunks, identity checks.

A chunk's position is a string: `"i"` for a replica of metachunk `i`, `"i.j"` for
fragment `j` of an erasure-coded metachunk `i`. This module is the one place that
reads and writes that string.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, NotRequired, TypedDict

from oiocli.core.exceptions import ChunkMisplaced

Buffer = bytes | bytearray | memoryview
"""What a chunk store accepts as chunk data: anything exposing contiguous bytes."""

NO_FRAGMENT = -1
"""The fragment index of a replica (a position without a dot)."""


class ChunkRecord(TypedDict):
    """One chunk of an object, as its content's chunk list records it."""

    url: str  # where the chunk is: its scheme picks the store (see backends/stores.py)
    pos: str  # "i" (replica of metachunk i) or "i.j" (fragment j): see core/chunks.py
    size: int  # the metachunk's size (every replica or fragment of it says the same)
    hash: str | None  # the metachunk's MD5 (upper-case hex), None when unknown
    real_url: NotRequired[str]  # the URL the chunk is served from, when not `url`
    chunk_size: NotRequired[int]  # an EC fragment's own size
    chunk_hash: NotRequired[str]  # an EC fragment's own MD5
    offset: NotRequired[int]  # the metachunk's offset in the object (object_locate adds it)
    error: NotRequired[str]  # why the chunk could not be read (object_locate's chunk_info)


def parse_position(pos: object) -> tuple[int, int]:
    """`"i"` -> `(i, -1)`, `"i.j"` -> `(i, j)`; ValueError when it is neither."""
    meta, _, sub = str(pos).partition(".")
    return int(meta), int(sub) if sub else NO_FRAGMENT


def format_position(index: int, fragment: int = NO_FRAGMENT) -> str:
    """The position string of metachunk `index` (and fragment `fragment`, if any)."""
    return str(index) if fragment == NO_FRAGMENT else f"{index}.{fragment}"


def position_of(chunk: Mapping[str, Any]) -> tuple[int, int]:
    """`(metachunk index, fragment index)` of a chunk record (fragment -1: a replica)."""
    return parse_position(chunk["pos"])


def metachunk_index(pos: object) -> int:
    """The metachunk index of a position string."""
    return parse_position(pos)[0]


def shift_position(pos: object, base: int) -> str:
    """A chunk position `i` or `i.j` moved `base` metachunks further (or back, if < 0)."""
    index, fragment = parse_position(pos)
    return format_position(index + base, fragment)


class Metachunk:
    """The chunks of one metachunk (replicas or fragments) and where it lies in the object."""

    __slots__ = ("index", "offset", "size", "chunks")

    def __init__(self, index: int, offset: int, size: int, chunks: list[ChunkRecord]) -> None:
        self.index = index
        self.offset = offset
        self.size = size
        self.chunks = chunks


def group_metachunks(chunks: Iterable[ChunkRecord]) -> list[Metachunk]:
    """Group chunks by metachunk index and compute each metachunk's offset."""
    by_index: dict[int, list[ChunkRecord]] = {}
    for chunk in chunks:
        by_index.setdefault(position_of(chunk)[0], []).append(chunk)
    result: list[Metachunk] = []
    offset = 0
    for index in sorted(by_index):
        group = sorted(by_index[index], key=lambda c: position_of(c)[1])
        size = int(group[0]["size"])
        result.append(Metachunk(index, offset, size, group))
        offset += size
    return result


def _comparable_position(pos: object) -> tuple[int, int] | str:
    try:
        return parse_position(pos)
    except ValueError:
        return str(pos)


def _upper(value: Any) -> str:
    return str(value).upper() if value else ""


def check_chunk_identity(
    url: str, stored: Mapping[str, Any], expect: Mapping[str, Any] | None
) -> None:
    """Raise ChunkMisplaced unless a chunk's own metadata matches its record.

    `stored` is what the chunk says of itself (chunk file trailer, rawx headers);
    `expect` what the object's chunk list records: `content_id`, `pos` and the
    `metachunk_hash` (the chunk record's "hash"). Checked once per chunk opened.

    - the position must be the recorded one (a fragment is not another fragment),
      except the metachunk index when the metachunk hashes agree: appended
      metachunks are written from position 0 and numbered after the object's
      last one when the append commits, so their own metadata keeps the index
      they were written with (the fragment index after the dot still must match);
    - the metachunk hash, when both sides know it, must be the recorded one;
    - the content id must be the object's, unless the metachunk hashes agree: a
      hard-linked chunk (object link, snapshot, bulk) keeps the metadata of the
      object it was written for, and holds the recorded data all the same.

    A field either side lacks (chunks of older versions, other writers) is not
    checked: such chunks stay readable.
    """
    if not expect:
        return
    want_hash = _upper(expect.get("metachunk_hash"))
    have_hash = _upper(stored.get("metachunk_hash"))
    want_pos, have_pos = expect.get("pos"), stored.get("pos")
    if want_pos is not None and have_pos is not None:
        want, have = _comparable_position(want_pos), _comparable_position(have_pos)
        shifted = (
            isinstance(want, tuple)
            and isinstance(have, tuple)
            and want[1] == have[1]
            and bool(want_hash)
            and want_hash == have_hash
        )
        if want != have and not shifted:
            raise ChunkMisplaced(
                f"Chunk {url} is misplaced: it holds position {have_pos}, expected {want_pos}"
            )
    if want_hash and have_hash and want_hash != have_hash:
        raise ChunkMisplaced(
            f"Chunk {url} is misplaced: it holds metachunk hash {have_hash}, expected {want_hash}"
        )
    want_id, have_id = _upper(expect.get("content_id")), _upper(stored.get("content_id"))
    if want_id and have_id and want_id != have_id and not (want_hash and want_hash == have_hash):
        raise ChunkMisplaced(
            f"Chunk {url} is misplaced: it belongs to content {have_id}, expected {want_id}"
        )
