"""Chunk positions and identity checks: the one parser every layer uses."""

from __future__ import annotations

import pytest

from oiocli.core.chunks import (
    check_chunk_identity,
    format_position,
    group_metachunks,
    metachunk_index,
    parse_position,
    position_of,
    shift_position,
)
from oiocli.core.exceptions import ChunkMisplaced


@pytest.mark.parametrize(
    ("pos", "parsed"),
    [("0", (0, -1)), ("7", (7, -1)), ("3.0", (3, 0)), ("12.8", (12, 8)), (4, (4, -1))],
)
def test_positions_parse_and_format_back(pos, parsed):
    assert parse_position(pos) == parsed
    assert format_position(*parsed) == str(pos)
    assert position_of({"pos": pos}) == parsed
    assert metachunk_index(pos) == parsed[0]


@pytest.mark.parametrize("pos", ["", "a", "1.b", "1.2.3", None])
def test_a_malformed_position_is_a_value_error(pos):
    with pytest.raises(ValueError):
        parse_position(pos)


def test_shift_moves_the_metachunk_index_and_keeps_the_fragment():
    assert shift_position("0", 5) == "5"
    assert shift_position("2.7", 3) == "5.7"
    assert shift_position("5.1", -5) == "0.1"


def test_metachunks_group_in_index_order_with_their_offsets():
    chunks = [
        {"pos": "1.1", "size": 4, "url": "d"},
        {"pos": "0.1", "size": 10, "url": "b"},
        {"pos": "1.0", "size": 4, "url": "c"},
        {"pos": "0.0", "size": 10, "url": "a"},
    ]
    groups = group_metachunks(chunks)
    assert [(g.index, g.offset, g.size) for g in groups] == [(0, 0, 10), (1, 10, 4)]
    assert [[c["url"] for c in g.chunks] for g in groups] == [["a", "b"], ["c", "d"]]


def test_identity_accepts_the_recorded_chunk_and_a_shifted_appended_one():
    record = {"content_id": "AB", "pos": "3.1", "metachunk_hash": "ff"}
    check_chunk_identity("u", {"content_id": "ab", "pos": "3.1", "metachunk_hash": "FF"}, record)
    # appended metachunks keep the index they were written with (0-based)
    check_chunk_identity("u", {"content_id": "ab", "pos": "0.1", "metachunk_hash": "ff"}, record)
    check_chunk_identity("u", {}, record)  # a chunk that says nothing of itself
    check_chunk_identity("u", {"pos": "9"}, None)  # nothing expected


@pytest.mark.parametrize(
    "stored",
    [
        {"pos": "3.2", "metachunk_hash": "ff"},  # another fragment
        {"pos": "0.1", "metachunk_hash": "ee"},  # another index and another hash
        {"pos": "3.1", "metachunk_hash": "ee"},
        {"pos": "3.1", "content_id": "CD"},  # another content, hash unknown
        {"pos": "garbage"},
    ],
)
def test_identity_refuses_a_misplaced_chunk(stored):
    record = {"content_id": "AB", "pos": "3.1", "metachunk_hash": "ff"}
    if "metachunk_hash" not in stored:
        record = dict(record, metachunk_hash=None)
    with pytest.raises(ChunkMisplaced):
        check_chunk_identity("u", stored, record)
