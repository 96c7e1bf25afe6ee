"""Bit rot: bytes flipped in random chunks, within and past each policy's tolerance.

Every read, whole or ranged, returns the right bytes or a clear error (exit 6),
never wrong bytes; skipped chunks are reported (stderr, `problems`); `container
check` finds exactly the flipped chunks; `--repair` heals what the policy allows.
"""

from __future__ import annotations

import json
import random

import pytest

from oiocli.core.chunks import group_metachunks
from oiocli.core.exceptions import OioException, UnrecoverableContent

from .helpers import ACCOUNT, POLICIES, Namespace, flip_bytes, read_all

MiB = 1024 * 1024
SIZES = (1, 90_000, 1_200_000)  # EC: more than one 1 MiB segment in the last case


def _tolerance(api, policy):
    method = api.storage_method(policy)
    return method.m if method.is_ec else method.nb_copy - 1


def _populate(ns, rng):
    api = ns.api()
    data = {}
    for policy in POLICIES:
        for size in SIZES:
            name = f"{policy}-{size}"
            data[name] = rng.randbytes(size)
            api.object_create(ACCOUNT, "c", data=data[name], obj_name=name, policy=policy)
    return data


def _rot(ns, data, rng):
    """Flip bytes in random chunks; return (flipped urls, names readable, names past)."""
    api = ns.api()
    flipped: set[str] = set()
    within: set[str] = set()
    past: set[str] = set()
    for name in sorted(data):
        meta, chunks = api.object_locate(ACCOUNT, "c", name)
        tolerance = _tolerance(api, meta["policy"])
        # past the tolerance only for replicas: see test_ec_past_tolerance_fails_cleanly
        beyond = rng.random() < 0.25 and not api.storage_method(meta["policy"]).is_ec
        worst = 0
        for mc in group_metachunks(chunks):
            if beyond and mc.index == 0:
                count = tolerance + 1
            else:
                count = rng.randint(0, tolerance)
            worst = max(worst, count)
            for chunk in rng.sample(mc.chunks, count):
                flip_bytes(ns.chunk_file(chunk["url"]), rng, rng.randint(1, 3))
                flipped.add(chunk["url"])
        (past if worst > tolerance else within).add(name)
    return flipped, within, past


def _random_ranges(rng, size, count):
    for _ in range(count):
        start = rng.randrange(size)
        end = rng.randrange(start, min(size, start + rng.choice((10, 70_000, 1_100_000))))
        yield start, end


def _check_reads(ns, data, flipped, within, rng):
    api = ns.api()
    for name in sorted(data):
        expected = data[name]
        problems: list = []
        try:
            got = read_all(api, "c", name, problems=problems)
        except UnrecoverableContent:
            assert name not in within, name
        else:
            assert got == expected, name
        assert {p["url"] for p in problems} <= flipped, name
        for start, end in _random_ranges(rng, len(expected), 4):
            try:
                got = read_all(api, "c", name, ranges=[(start, end)])
            except UnrecoverableContent:
                assert name not in within, (name, start, end)
                continue
            assert got == expected[start : end + 1], (name, start, end)


def _check_finds_every_flip(ns, data, flipped, within, past):
    proc = ns.run("container", "check", "c", "-f", "json")
    rows = {r["Object"]: r for r in json.loads(proc.stdout)}
    assert proc.returncode == (6 if past else 7 if flipped else 0), proc.err
    found = {c["url"] for r in rows.values() for c in r["Corrupt"]}
    assert found == flipped
    assert not any(r["Missing"] for r in rows.values())
    for name, row in rows.items():
        if name in past:
            assert row["State"] == "lost", row
        elif row["Corrupt"]:
            assert row["State"] in ("degraded", "at-risk"), row
        else:
            assert row["State"] == "ok", row


def _repair(ns, data, within, past):
    proc = ns.run("container", "check", "c", "--repair", "-f", "json")
    assert proc.returncode == (6 if past else 0), proc.err
    states = {r["Object"]: r["State"] for r in json.loads(proc.stdout)}
    assert states == {n: "lost" if n in past else "ok" for n in data}
    api = ns.api()
    for name in within:
        problems: list = []
        assert read_all(api, "c", name, problems=problems) == data[name], name
        assert problems == [], name
    if past:
        ns.ok("object", "delete", "c", *sorted(past))
    assert ns.run("container", "check", "c").returncode == 0
    ns.clean_orphans()


def _scenario(ns, seed, chunk_size=None):
    if chunk_size:  # another namespace: big enough for EC metachunks of several segments
        ns = Namespace(ns.root / "big", chunk_size=chunk_size)
    rng = random.Random(seed)
    random.seed(seed)  # chunk placement and replica order
    data = _populate(ns, rng)
    flipped, within, past = _rot(ns, data, rng)
    assert flipped
    _check_reads(ns, data, flipped, within, rng)
    _check_finds_every_flip(ns, data, flipped, within, past)
    _repair(ns, data, within, past)


@pytest.mark.parametrize("seed,chunk_size", [(1, None), (2, MiB)])
def test_bitrot(ns, seed, chunk_size):
    _scenario(ns, seed, chunk_size)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(3, 13))
def test_bitrot_more_seeds(ns, seed):
    _scenario(ns, seed, MiB if seed % 2 else None)


def test_bitrot_reported_on_stderr_for_whole_and_ranged_reads(ns_root):
    ns = Namespace(ns_root, chunk_size=MiB)  # EC 6+3: a 6 MiB metachunk of 1 MiB segments
    rng = random.Random(5)
    data = rng.randbytes(1_500_000)
    api = ns.api()
    api.object_create(ACCOUNT, "c", data=data, obj_name="o", policy="EC")
    _meta, chunks = api.object_locate(ACCOUNT, "c", "o")
    frag_size = api.storage_method("EC").fragment_size()
    # data fragments (always read): 0.1 rotten in segment 0, 0.4 in segment 1
    bad = {c["pos"]: c["url"] for c in chunks if c["pos"] in ("0.1", "0.4")}
    flip_bytes(ns.chunk_file(bad["0.1"]), rng, offsets=[10])
    flip_bytes(ns.chunk_file(bad["0.4"]), rng, offsets=[frag_size + 10])
    for args, expected, reported in (
        (["--range", "0-99"], data[:100], ["0.1"]),
        (["--range", "1048576-1048999"], data[1048576:1049000], ["0.4"]),
        (["--range", "1000-1048999"], data[1000:1049000], ["0.1", "0.4"]),
        ([], data, ["0.1", "0.4"]),
    ):
        proc = ns.run("object", "fetch", "c", "o", *args)
        assert proc.returncode == 0, proc.err
        assert proc.stdout == expected
        lines = proc.err.strip().splitlines()
        seen = set()
        for line in lines:
            pos = line.partition(" at position ")[2].partition(":")[0]
            assert line.startswith(f"Object 'o': skipped chunk {bad[pos]} at position {pos}: ")
            assert "corrupt" in line
            seen.add(pos)
        assert seen >= set(reported), proc.err


def test_ranged_read_ignores_rot_outside_the_range(ns_root):
    ns = Namespace(ns_root, chunk_size=MiB)
    rng = random.Random(9)
    data = rng.randbytes(1_500_000)
    api = ns.api()
    api.object_create(ACCOUNT, "c", data=data, obj_name="o", policy="EC")
    _meta, chunks = api.object_locate(ACCOUNT, "c", "o")
    frag_size = api.storage_method("EC").fragment_size()
    url = next(c["url"] for c in chunks if c["pos"] == "0.4")
    flip_bytes(ns.chunk_file(url), rng, offsets=[frag_size + 10])  # segment 1 only
    problems: list = []
    assert read_all(ns.api(), "c", "o", ranges=[(0, 99)], problems=problems) == data[:100]
    assert problems == []


def test_rot_in_chunk_metadata_is_detected(ns):
    """Flipped bytes in a chunk's tail (metadata, checksums, footer) also make it skipped."""
    rng = random.Random(6)
    data = rng.randbytes(50_000)
    api = ns.api()
    api.object_create(ACCOUNT, "c", data=data, obj_name="o", policy="THREECOPIES")
    _meta, chunks = api.object_locate(ACCOUNT, "c", "o")
    # the footer's checksum, then the metadata (a flip in the footer's block size
    # can be harmless: reads stay right, as long as the block count is the same)
    for chunk, back in zip(chunks[:2], (1, 200), strict=True):
        path = ns.chunk_file(chunk["url"])
        with open(path, "r+b") as f:
            f.seek(-back, 2)
            byte = f.read(1)[0]
            f.seek(-back, 2)
            f.write(bytes([byte ^ 0x10]))
    for _ in range(3):  # whichever replica is tried first
        assert read_all(ns.api(), "c", "o") == data
    rows = ns.json("object", "check", "c", "o", code=7)
    assert {c["url"] for c in rows[0]["Corrupt"]} == {c["url"] for c in chunks[:2]}
    assert rows[0]["State"] == "at-risk"  # one good copy left


def test_unreadable_past_tolerance_is_a_clear_error(ns):
    rng = random.Random(7)
    data = rng.randbytes(30_000)
    api = ns.api()
    api.object_create(ACCOUNT, "c", data=data, obj_name="o", policy="TWOCOPIES")
    _meta, chunks = api.object_locate(ACCOUNT, "c", "o")
    for chunk in chunks:
        flip_bytes(ns.chunk_file(chunk["url"]), rng, 1)
    with pytest.raises(OioException) as info:
        read_all(ns.api(), "c", "o")
    assert info.value.exit_code == 6
    proc = ns.run("object", "fetch", "c", "o", "--file", "out")
    assert proc.returncode == 6
    assert "no readable copy" in proc.err.strip().splitlines()[-1]
    assert not (ns.cwd / "out").exists()


@pytest.mark.parametrize("policy", ["EC", "EC21"])
def test_ec_past_tolerance_fails_cleanly(ns, policy):
    rng = random.Random(8)
    data = rng.randbytes(100_000)
    api = ns.api()
    api.object_create(ACCOUNT, "c", data=data, obj_name="o", policy=policy)
    _meta, chunks = api.object_locate(ACCOUNT, "c", "o")
    method = api.storage_method(policy)
    for chunk in rng.sample(chunks, method.m + 1):
        flip_bytes(ns.chunk_file(chunk["url"]), rng, 1)
    with pytest.raises(UnrecoverableContent):
        read_all(ns.api(), "c", "o")
