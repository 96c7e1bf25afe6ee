"""Reads survive lost or corrupt fragments and copies, up to what the policy tolerates."""

from __future__ import annotations

import itertools
import os
import re
import shutil

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oiocli.core.exceptions import UnrecoverableContent

from .helpers import ACCOUNT, MiB, by_metachunk, fetch

EC_SIZE = 6 * MiB + 300_000  # metachunk 0: 6 segments of 1 MiB; metachunk 1: 300 000 bytes
REP_SIZE = 2 * MiB + 300_000  # metachunks of 1 MiB, 1 MiB, 300 000 bytes


@pytest.fixture
def ec_object(api):
    data = os.urandom(EC_SIZE)
    api.object_create(ACCOUNT, "faults", data=data, obj_name="ec-obj", policy="EC")
    _meta, chunks = api.object_locate(ACCOUNT, "faults", "ec-obj")
    groups = by_metachunk(chunks)
    assert sorted(groups) == [0, 1]
    assert all(len(g) == 9 for g in groups.values())
    return data, groups


@pytest.fixture
def rep_object(api):
    data = os.urandom(REP_SIZE)
    api.object_create(ACCOUNT, "faults", data=data, obj_name="rep-obj", policy="THREECOPIES")
    _meta, chunks = api.object_locate(ACCOUNT, "faults", "rep-obj")
    groups = by_metachunk(chunks)
    assert sorted(groups) == [0, 1, 2]
    assert all(len(g) == 3 for g in groups.values())
    return data, groups


DAMAGE_OFFSETS = [100, 900_000, 400_100]


def damage(backend, chunk, how: str, nth: int = 0) -> None:
    if how == "delete":
        backend.delete_chunk(chunk["url"])
    else:
        # Spread the damage over the chunk: an EC 6+3 fragment of metachunk 0 holds 6
        # segment fragments of ~175 KB, so these hit segments 0, 5 (past the first read
        # window) and 2.
        data_size = chunk.get("chunk_size") or chunk["size"]
        backend.corrupt_chunk(
            chunk["url"], offset=DAMAGE_OFFSETS[nth % len(DAMAGE_OFFSETS)] % data_size
        )


def assert_unrecoverable(excinfo, obj: str, position: int) -> None:
    message = str(excinfo.value)
    assert obj in message, message
    assert re.search(rf"(metachunk|position)\D{{0,3}}{position}\b", message), message


# Corrupt data is caught by the chunk store (the embedded store's block CRCs, serve's
# rawx) or, from a rawx that serves a chunk's bytes unverified (OpenIO 7.3.0's Go
# rawx), by the proxy backend's MD5 of the chunk; OIO_TEST_RAWX_UNVERIFIED=1 makes
# the proxy backend's rawx behave as a Go rawx.
READ_INTEGRITY = pytest.mark.requires("read-integrity")
MODES = [
    "delete",
    pytest.param("corrupt", marks=READ_INTEGRITY),
    pytest.param("mixed", marks=READ_INTEGRITY),
]


def modes_for(mode: str, count: int) -> list[str]:
    if mode == "mixed":
        return ["delete" if i % 2 == 0 else "corrupt" for i in range(count)]
    return [mode] * count


@pytest.mark.parametrize("mode", MODES)
def test_ec63_reads_with_any_three_fragments_lost(api, backend, ec_object, mode):
    data, groups = ec_object
    fragments = sorted(groups[0], key=lambda c: c["pos"])
    for n, combo in enumerate(itertools.combinations(range(9), 3)):
        victims = [fragments[i] for i in combo]
        with backend.preserved_chunks([c["url"] for c in victims]):
            for nth, (chunk, how) in enumerate(zip(victims, modes_for(mode, 3), strict=True)):
                damage(backend, chunk, how, nth)
            assert fetch(api, "faults", "ec-obj") == data, (mode, combo)
            if n % 4:
                continue  # ranged reads on a quarter of the combinations: enough, and cheaper
            ranges = [(1_000_000, 2_200_000), (6 * MiB - 5, 6 * MiB + 5), (None, 10)]
            assert fetch(api, "faults", "ec-obj", ranges=ranges) == (
                data[1_000_000:2_200_001] + data[6 * MiB - 5 : 6 * MiB + 6] + data[-10:]
            ), (mode, combo)


@pytest.mark.parametrize("mode", MODES)
def test_ec63_four_fragments_lost_is_unrecoverable(api, backend, ec_object, mode):
    """4 fragments lost, or corrupt in the same segment: no segment can be decoded."""
    data, groups = ec_object
    for position in (0, 1):
        fragments = sorted(groups[position], key=lambda c: c["pos"])
        for combo in [(0, 1, 2, 3), (5, 6, 7, 8), (0, 3, 6, 8)]:
            victims = [fragments[i] for i in combo]
            with backend.preserved_chunks([c["url"] for c in victims]):
                for chunk, how in zip(victims, modes_for(mode, 4), strict=True):
                    damage(backend, chunk, how)  # corrupt: all at offset 100, segment 0
                with pytest.raises(UnrecoverableContent) as excinfo:
                    fetch(api, "faults", "ec-obj")
                assert_unrecoverable(excinfo, "ec-obj", position)
    # Once repaired, everything reads again.
    assert fetch(api, "faults", "ec-obj") == data


@READ_INTEGRITY
@pytest.mark.parametrize("count", [4, 6, 9])
def test_ec63_damage_spread_over_segments_never_returns_wrong_bytes(api, backend, ec_object, count):
    """More than m fragments corrupt, each in another segment: every segment still has k
    good fragments, so a read returns the exact bytes, or at worst refuses (a reader may
    give up on a fragment after its first bad block); never other bytes."""
    data, groups = ec_object
    fragments = sorted(groups[0], key=lambda c: c["pos"])
    # A Go rawx's locate gives no fragment size: its chunk files hold the data alone.
    fragment_size = fragments[0].get("chunk_size") or os.path.getsize(
        backend.chunk_path(fragments[0]["url"])
    )
    segment_fragment = fragment_size // 6  # metachunk 0 has 6 full segments
    with backend.preserved_chunks([c["url"] for c in fragments[:count]]):
        for i, chunk in enumerate(fragments[:count]):
            backend.corrupt_chunk(chunk["url"], offset=(i % 6) * segment_fragment + 1000)
        for ranges in (None, [(500_000, 5 * MiB)], [(0, 10), (6 * MiB - 3, 6 * MiB + 3)]):
            try:
                got = fetch(api, "faults", "ec-obj", ranges=ranges)
            except UnrecoverableContent as exc:
                assert "ec-obj" in str(exc)
                continue
            expected = data if ranges is None else b"".join(data[a : b + 1] for a, b in ranges)
            assert got == expected, ranges


def test_ec63_other_metachunk_still_reads(api, backend, ec_object):
    """Losing 4 fragments of metachunk 1 breaks only the ranges that touch it."""
    data, groups = ec_object
    for chunk in sorted(groups[1], key=lambda c: c["pos"])[:4]:
        backend.delete_chunk(chunk["url"])
    assert fetch(api, "faults", "ec-obj", ranges=[(0, 6 * MiB - 1)]) == data[: 6 * MiB]
    assert fetch(api, "faults", "ec-obj", ranges=[(1000, 2 * MiB)]) == data[1000 : 2 * MiB + 1]
    with pytest.raises(UnrecoverableContent) as excinfo:
        fetch(api, "faults", "ec-obj", ranges=[(6 * MiB - 10, 6 * MiB + 10)])
    assert_unrecoverable(excinfo, "ec-obj", 1)


@pytest.mark.parametrize("mode", MODES)
def test_threecopies_reads_with_two_copies_lost(api, backend, rep_object, mode):
    data, groups = rep_object
    for position, group in sorted(groups.items()):
        for combo in itertools.combinations(range(3), 2):
            victims = [group[i] for i in combo]
            with backend.preserved_chunks([c["url"] for c in victims]):
                for nth, (chunk, how) in enumerate(zip(victims, modes_for(mode, 2), strict=True)):
                    damage(backend, chunk, how, nth)
                assert fetch(api, "faults", "rep-obj") == data, (position, combo)
                start = position * MiB + 50
                assert (
                    fetch(api, "faults", "rep-obj", ranges=[(start, start + 500_000)])
                    == (data[start : start + 500_001])
                )


@pytest.mark.parametrize("mode", MODES)
def test_threecopies_all_copies_lost_is_unrecoverable(api, backend, rep_object, mode):
    _data, groups = rep_object
    for chunk, how in zip(groups[1], modes_for(mode, 3), strict=True):
        damage(backend, chunk, how)
    with pytest.raises(UnrecoverableContent) as excinfo:
        fetch(api, "faults", "rep-obj")
    assert_unrecoverable(excinfo, "rep-obj", 1)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    victims=st.lists(st.integers(0, 8), min_size=1, max_size=3, unique=True),
    offsets=st.lists(st.integers(0, 1_000_000), min_size=3, max_size=3),
    start=st.integers(0, EC_SIZE - 1),
    length=st.integers(1, 3 * MiB),
)
@READ_INTEGRITY
def test_ec63_ranged_reads_never_return_wrong_bytes(
    api, backend, ec_object, victims, offsets, start, length
):
    """With 1 to 3 corrupt fragments anywhere in metachunk 0, any range is exact."""
    data, groups = ec_object
    fragments = sorted(groups[0], key=lambda c: c["pos"])
    end = min(start + length - 1, EC_SIZE - 1)
    urls = [fragments[i]["url"] for i in victims]
    with backend.preserved_chunks(urls):
        for url, offset in zip(urls, offsets, strict=False):
            backend.corrupt_chunk(url, offset)
        assert fetch(api, "faults", "ec-obj", ranges=[(start, end)]) == data[start : end + 1]


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    victims=st.lists(st.integers(0, 2), min_size=1, max_size=2, unique=True),
    offsets=st.lists(st.integers(0, MiB - 1), min_size=2, max_size=2),
    start=st.integers(0, REP_SIZE - 1),
    length=st.integers(1, 2 * MiB),
)
@READ_INTEGRITY
def test_threecopies_ranged_reads_never_return_wrong_bytes(
    api, backend, rep_object, victims, offsets, start, length
):
    """With 1 or 2 corrupt copies of every metachunk, any range is exact."""
    data, groups = rep_object
    end = min(start + length - 1, REP_SIZE - 1)
    damaged = [
        (groups[p][i]["url"], offset)
        for p in groups
        for i, offset in zip(victims, offsets, strict=False)
    ]
    with backend.preserved_chunks([url for url, _offset in damaged]):
        for url, offset in damaged:
            backend.corrupt_chunk(url, offset % 300_000)
        assert fetch(api, "faults", "rep-obj", ranges=[(start, end)]) == data[start : end + 1]


def _ours_and_theirs(api, policy: str) -> tuple[bytes, list[dict], list[dict]]:
    """Objects "ours" and "theirs"; our data and both first metachunks' chunks, by position."""
    ours = os.urandom(3 * MiB)
    api.object_create(ACCOUNT, "faults", data=ours, obj_name="ours", policy=policy)
    api.object_create(ACCOUNT, "faults", data=os.urandom(3 * MiB), obj_name="theirs", policy=policy)
    mine, other = (
        sorted(
            by_metachunk(api.object_locate(ACCOUNT, "faults", name)[1])[0], key=lambda c: c["pos"]
        )
        for name in ("ours", "theirs")
    )
    return ours, mine, other


@READ_INTEGRITY  # a Go rawx keeps a chunk's identity in xattrs, not in the file's data
@pytest.mark.parametrize("policy", ["THREECOPIES", "EC"])
def test_misplaced_chunk_file_is_never_served(api, backend, policy):
    """A chunk file of another object in place of one of ours: never its bytes."""
    ours, mine, other = _ours_and_theirs(api, policy)
    # Two of three replicas, or one data fragment of nine: well within what reads survive.
    for target, source in list(zip(mine, other, strict=True))[
        : 2 if policy == "THREECOPIES" else 1
    ]:
        path = backend.chunk_path(target["url"])
        os.unlink(path)
        shutil.copyfile(backend.chunk_path(source["url"]), path)
    for _attempt in range(10):  # replicas are picked at random
        assert fetch(api, "faults", "ours") == ours


@READ_INTEGRITY
@pytest.mark.parametrize("policy", ["THREECOPIES", "EC"])
def test_misplaced_chunk_files_are_reported_and_not_read(api, backend, policy):
    """Whatever the chunk file put in place (another object's, another position of
    ours): `object check` says corrupt, and reads never return its bytes."""
    ours, mine, other = _ours_and_theirs(api, policy)
    if policy == "EC":
        # Fragment 0.1 of ours where 0.0 should be (same content id, wrong position),
        # and fragment 0.2 of theirs where our 0.2 should be.
        swaps = [(mine[0], mine[1]), (mine[2], other[2])]
    else:
        swaps = [(mine[0], other[0])]
    for target, source in swaps:
        path = backend.chunk_path(target["url"])
        os.unlink(path)
        shutil.copyfile(backend.chunk_path(source["url"]), path)
    row = api.object_check(ACCOUNT, "faults", "ours")
    bad = sorted(c["url"] for c in row["corrupt"])
    assert bad == sorted(t["url"] for t, _ in swaps), row
    if backend.name != "cluster":
        # A Go rawx refuses a file copied without its xattrs (shutil.copyfile) before
        # anyone can tell whose chunk it is: corrupt all the same, for another reason.
        assert all("misplaced" in c["error"] for c in row["corrupt"]), row
    assert row["state"] != "ok"
    for _attempt in range(10):
        assert fetch(api, "faults", "ours") == ours
    assert fetch(api, "faults", "ours", ranges=[(MiB - 10, MiB + 10)]) == ours[MiB - 10 : MiB + 11]
