"""A volume lost (directory deleted) or unreadable (chmod 000) under objects of every policy.

Reads go on where the policy allows; a SINGLE object on the volume fails with
exit 6 and a clear message; checks report the loss (7 degraded, 6 lost);
`volume rebuild` brings every redundant object back to full redundancy; a
second check exits 0.
"""

from __future__ import annotations

import json
import os
import random
import shutil

import pytest

from .helpers import ACCOUNT, REDUNDANT, read_all

SIZES = (1, 70_000, 300_000)  # one byte, a few metachunks, more than one EC metachunk


def _populate(ns, seed):
    """Container r: every redundant policy; container s: SINGLE objects."""
    rng = random.Random(seed)
    random.seed(seed)  # chunk placement (pick_volumes) draws from the global generator
    api = ns.api()
    data = {}
    for policy in REDUNDANT:
        for size in SIZES:
            name = f"{policy}-{size}"
            data[("r", name)] = rng.randbytes(size)
            api.object_create(ACCOUNT, "r", data=data[("r", name)], obj_name=name, policy=policy)
    for i in range(12):
        name = f"single-{i}"
        data[("s", name)] = rng.randbytes(rng.randrange(1, 100_000))
        api.object_create(ACCOUNT, "s", data=data[("s", name)], obj_name=name, policy="SINGLE")
    return data


def _volume_map(ns, data):
    """volume path -> set of (container, name) with a chunk there."""
    api = ns.api()
    where: dict[str, set] = {}
    for container, name in data:
        _meta, chunks = api.object_locate(ACCOUNT, container, name)
        for chunk in chunks:
            volume = os.path.dirname(chunk["url"][len("file://") :])
            where.setdefault(volume, set()).add((container, name))
    return where


def _pick_volume(ns, data, rng):
    """A volume holding chunks of SINGLE objects and of every redundant policy."""
    where = _volume_map(ns, data)
    candidates = [
        v
        for v, objs in sorted(where.items())
        if any(c == "s" for c, _ in objs)
        and {n.rsplit("-", 1)[0] for c, n in objs if c == "r"} == set(REDUNDANT)
    ]
    assert candidates, "no volume holds every policy: change the seed"
    volume = rng.choice(candidates)
    return volume, where[volume]


def _reads_after_loss(ns, data, on_volume):
    api = ns.api()
    for (container, name), expected in sorted(data.items()):
        if container == "s" and (container, name) in on_volume:
            continue
        assert read_all(api, container, name) == expected, name
    # through the CLI: one redundant object per policy, and every lost SINGLE object
    for policy in REDUNDANT:
        name = f"{policy}-{SIZES[-1]}"
        proc = ns.run("object", "fetch", "r", name)
        assert proc.returncode == 0, (name, proc.err)
        assert proc.stdout == data[("r", name)], name
        assert "Traceback" not in proc.err
    lost = sorted(n for c, n in on_volume if c == "s")
    for name in lost:
        proc = ns.run("object", "fetch", "s", name)
        assert proc.returncode == 6, (name, proc.returncode, proc.err)
        # streamed to stdout: what came before the lost metachunk, never wrong bytes
        assert data[("s", name)].startswith(proc.stdout)
        last = proc.err.strip().splitlines()[-1]
        assert f"Object '{name}'" in last and "no readable copy" in last, proc.err
        assert "Traceback" not in proc.err
    if lost:  # to a file: nothing is left behind
        target = ns.cwd / "out.bin"
        assert ns.run("object", "fetch", "s", lost[0], "--file", str(target)).returncode == 6
        assert os.listdir(ns.cwd) == []
    return lost


def _check_reports_loss(ns, volume, on_volume, kind):
    proc = ns.run("container", "check", "r", "-f", "json")
    assert proc.returncode == 7, proc.err
    rows = {r["Object"]: r for r in json.loads(proc.stdout)}
    for name, row in rows.items():
        bad = [c["url"] for c in row[kind]]
        if ("r", name) in on_volume:
            assert row["State"] in ("degraded", "at-risk"), row
            assert bad and all(u.startswith(f"file://{volume}/") for u in bad), row
        else:
            assert row["State"] == "ok" and not bad, row
    proc = ns.run("container", "check", "s", "-f", "json")
    assert proc.returncode == 6, proc.err
    states = {r["Object"]: r["State"] for r in json.loads(proc.stdout)}
    assert states == {n: "lost" if ("s", n) in on_volume else "ok" for _c, n in _single(states)}


def _single(states):
    return [("s", n) for n in states]


def _rebuild_and_recheck(ns, data, volume, lost):
    name = os.path.basename(volume)
    proc = ns.run("volume", "rebuild", name, "-f", "json")
    # SINGLE objects on the volume cannot come back: exit 6, every other row ok
    assert proc.returncode == 6, proc.err
    rows = json.loads(proc.stdout)
    assert {(r["Container"], r["Object"]) for r in rows if r["State"] == "lost"} == {
        ("s", n) for n in lost
    }
    assert {r["State"] for r in rows if r["Container"] == "r"} == {"ok"}
    proc = ns.run("container", "check", "r", "-f", "json")
    assert proc.returncode == 0, proc.err
    assert {r["State"] for r in json.loads(proc.stdout)} == {"ok"}
    api = ns.api()
    for (container, obj), expected in data.items():
        if container == "r":
            assert read_all(api, container, obj) == expected, obj
    # the lost objects are deleted by the operator; then everything is clean
    ns.ok("object", "delete", "s", *lost)
    assert ns.run("container", "check", "s").returncode == 0
    assert ns.json("volume", "check", name) == []
    ns.clean_orphans(cli_volume=name)


@pytest.mark.parametrize("seed", [11])
def test_volume_deleted(ns, seed):
    data = _populate(ns, seed)
    volume, on_volume = _pick_volume(ns, data, random.Random(seed))
    shutil.rmtree(volume)
    lost = _reads_after_loss(ns, data, on_volume)
    assert lost
    _check_reports_loss(ns, volume, on_volume, "Missing")
    proc = ns.run("volume", "check", os.path.basename(volume), "-f", "json")
    assert proc.returncode == 7
    rows = json.loads(proc.stdout)
    assert rows[0]["Detail"] == "volume directory is missing"
    assert {r["State"] for r in rows} == {"missing"}
    _rebuild_and_recheck(ns, data, volume, lost)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [12, 13, 14])
def test_volume_deleted_more_seeds(ns, seed):
    test_volume_deleted(ns, seed)


def test_volume_unreadable_reads_and_check(strict_ns):
    ns = strict_ns
    data = _populate(ns, 21)
    volume, on_volume = _pick_volume(ns, data, random.Random(21))
    os.chmod(volume, 0)
    try:
        _reads_after_loss(ns, data, on_volume)
        _check_reports_loss(ns, volume, on_volume, "Corrupt")
    finally:
        os.chmod(volume, 0o700)


def test_volume_unreadable_volume_check(strict_ns):
    ns = strict_ns
    data = _populate(ns, 22)
    volume, _on_volume = _pick_volume(ns, data, random.Random(22))
    os.chmod(volume, 0)
    try:
        rows = ns.json("volume", "list")
        assert [r["Volume"] for r in rows] == [os.path.basename(v) for v in ns.volumes]
        states = {r["Volume"]: (r["State"], r["Detail"]) for r in rows}
        name = os.path.basename(volume)
        assert states.pop(name) == (
            "unreadable",
            "volume directory is unreadable: Permission denied",
        )
        assert set(states.values()) == {("ok", "")}
        proc = ns.run("volume", "check", name, "-f", "json")
        assert proc.returncode == 7, proc.err
        rows = json.loads(proc.stdout)
        assert rows and {r["State"] for r in rows} == {"unreadable"}
        assert all("unreadable: Permission denied" in r["Detail"] for r in rows)
        assert len([r for r in rows if r["Chunk"]]) == sum(
            1
            for container, obj in data
            for chunk in ns.api().object_locate(ACCOUNT, container, obj)[1]
            if chunk["url"].startswith(f"file://{volume}/")
        )
        # uploads go to the other volumes while the policy can be met (as for a
        # deleted volume), and say why not when it cannot
        api = ns.api()
        for i in range(20):
            ns.ok(
                "object",
                "create",
                "up",
                "-",
                "--name",
                f"o{i}",
                "--policy",
                "THREECOPIES",
                input=b"x" * 1000,
            )
            _meta, chunks = api.object_locate(ACCOUNT, "up", f"o{i}")
            assert not any(c["url"].startswith(f"file://{volume}/") for c in chunks)
        proc = ns.fails(
            1, "object", "create", "up", "-", "--name", "ec", "--policy", "EC", input=b"x"
        )
        assert "Need 9 distinct volumes, only 8 usable" in proc.err
    finally:
        os.chmod(volume, 0o700)


def _add_spare_volume(ns):
    """A tenth volume: EC 6+3 needs 9 healthy ones to rebuild without the unreadable one.

    (A deleted volume directory is made again by `volume rebuild` and rebuilt
    onto; an unreadable one is left alone.)
    """
    from oiocli.api import ObjectStorageApi

    from .helpers import NAMESPACE

    ObjectStorageApi(
        NAMESPACE, str(ns.data_dir), chunk_size=ns.chunk_size, volumes=10, update_config=True
    )
    assert len(ns.volumes) == 10


def test_volume_unreadable_rebuild(strict_ns):
    ns = strict_ns
    _add_spare_volume(ns)
    data = _populate(ns, 23)
    volume, on_volume = _pick_volume(ns, data, random.Random(23))
    os.chmod(volume, 0)
    try:
        lost = sorted(n for c, n in on_volume if c == "s")
        _rebuild_and_recheck(ns, data, volume, lost)
    finally:
        os.chmod(volume, 0o700)


def test_volume_unreadable_rebuild_no_spare(strict_ns):
    """9 volumes, one unreadable: EC 6+3 objects cannot get their 9th fragment back.

    The rebuild never writes to the unreadable volume, repairs every replica,
    and reports the EC objects it could not repair (degraded, detail says why)
    instead of stopping at the first one.
    """
    ns = strict_ns
    data = _populate(ns, 23)
    volume, on_volume = _pick_volume(ns, data, random.Random(23))
    before = sorted(os.walk(volume))
    os.chmod(volume, 0)
    try:
        proc = ns.run("volume", "rebuild", os.path.basename(volume), "-f", "json")
        assert proc.returncode == 6, proc.err  # the SINGLE objects are lost
        assert "Traceback" not in proc.err
        rows = {(r["Container"], r["Object"]): r for r in json.loads(proc.stdout)}
        assert set(rows) == on_volume
        for (container, _name), row in rows.items():
            if container == "s":
                assert row["State"] == "lost", row
            elif ns.api().storage_method(row["Policy"]).chunks_per_metachunk == 9:
                assert row["State"] == "degraded", row
                assert "not repaired: Need 1 distinct volumes" in row["Detail"], row
            else:
                assert row["State"] == "ok", row
    finally:
        os.chmod(volume, 0o700)
    assert sorted(os.walk(volume)) == before  # nothing written there, nothing removed
