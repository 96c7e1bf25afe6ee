"""`oio ... check`, `oio volume rebuild`, `oio object set --policy`: rows, exit codes, stderr.

Exit codes of the checks: 0 ok, 7 degraded or at-risk, 6 lost, 1 namespace
inconsistencies or orphans not repaired; 0 after a successful --repair.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import sqlite3

from .helpers import ACCOUNT, POLICIES, flip_bytes, read_all


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest().upper()


def _populate(ns, container="c", size=150_000, seed=0):
    rng = random.Random(seed)
    api = ns.api()
    data = {}
    for policy in POLICIES:
        data[policy] = rng.randbytes(size)
        api.object_create(ACCOUNT, container, data=data[policy], obj_name=policy, policy=policy)
    return data


def _chunks(ns, container, name):
    _meta, chunks = ns.api().object_locate(ACCOUNT, container, name)
    return chunks


def test_all_ok_rows_exit_0_and_summary(ns):
    _populate(ns)
    proc = ns.run("container", "check", "c", "-f", "json")
    assert proc.returncode == 0, proc.err
    rows = json.loads(proc.stdout)
    assert sorted(r["Object"] for r in rows) == sorted(POLICIES)
    for row in rows:
        assert row["State"] == "ok"
        assert row["Missing"] == row["Corrupt"] == row["Misplaced"] == row["Repaired"] == []
        assert isinstance(row["Version"], int) and row["Chunks"] > 0
    by_name = {r["Object"]: r for r in rows}
    assert "EC 6+3, 9/9 fragments, can lose 3 more" in by_name["EC"]["Detail"]
    assert "3/3 copies, can lose 2 more" in by_name["THREECOPIES"]["Detail"]
    assert proc.err.strip() == f"{len(POLICIES)} objects: {len(POLICIES)} ok"
    quiet = ns.run("-q", "container", "check", "c")
    assert quiet.returncode == 0 and quiet.err == ""
    assert "| EC " in quiet.out  # the table
    version = by_name["EC"]["Version"]
    one = ns.json("object", "check", "c", "EC", "--object-version", str(version))
    assert [r["Version"] for r in one] == [version]
    assert ns.ok("object", "check", "c", "EC", "-f", "value", "-c", "State").out == "ok\n"


def test_exit_codes_follow_the_worst_state_and_repair(ns):
    data = _populate(ns)
    drop = {"THREECOPIES": 1, "TWOCOPIES": 1, "EC": 3, "EC21": 2, "SINGLE": 1}
    expected = {
        "THREECOPIES": ("degraded", 7),
        "TWOCOPIES": ("at-risk", 7),
        "EC": ("at-risk", 7),
        "EC21": ("lost", 6),
        "SINGLE": ("lost", 6),
    }
    removed = {}
    for name, count in drop.items():
        first = [c for c in _chunks(ns, "c", name) if str(c["pos"]).split(".")[0] == "0"]
        removed[name] = [c["url"] for c in first[:count]]
        for url in removed[name]:
            os.unlink(ns.chunk_file(url))
    for name, (state, code) in expected.items():
        proc = ns.run("object", "check", "c", name, "-f", "json")
        assert proc.returncode == code, (name, proc.returncode, proc.err)
        row = json.loads(proc.stdout)[0]
        assert row["State"] == state, row
        assert sorted(m["url"] for m in row["Missing"]) == sorted(removed[name])
        assert proc.err.strip() == f"1 object: 1 {state}"
    assert ns.run("container", "check", "c").returncode == 6

    # repair what can be repaired: exit 0 for one object brought back
    proc = ns.run("object", "check", "c", "TWOCOPIES", "--repair", "-f", "json")
    assert proc.returncode == 0, proc.err
    row = json.loads(proc.stdout)[0]
    assert row["State"] == "ok" and len(row["Repaired"]) == 1
    assert "1 chunks rebuilt" in proc.err
    # the whole container: the lost ones stay lost (exit 6), the others are repaired
    proc = ns.run("container", "check", "c", "--repair", "-f", "json")
    assert proc.returncode == 6, proc.err
    states = {r["Object"]: r["State"] for r in json.loads(proc.stdout)}
    assert states == {p: "lost" if p in ("EC21", "SINGLE") else "ok" for p in POLICIES}
    api = ns.api()
    for name in POLICIES:
        if name not in ("EC21", "SINGLE"):
            assert read_all(api, "c", name) == data[name], name
    ns.ok("object", "delete", "c", "EC21", "SINGLE")
    assert ns.run("container", "check", "c").returncode == 0
    ns.clean_orphans()


def test_degraded_read_says_so_on_stderr(ns):
    data = _populate(ns, size=300_000)
    chunks = _chunks(ns, "c", "EC")
    bad = next(c for c in chunks if c["pos"] == "0.0")  # a data fragment: always read
    flip_bytes(ns.chunk_file(bad["url"]), random.Random(1))
    proc = ns.run("object", "fetch", "c", "EC")
    assert proc.returncode == 0, proc.err
    assert proc.stdout == data["EC"]
    lines = proc.err.strip().splitlines()
    assert len(lines) == 1, proc.err
    assert "Object 'EC': skipped chunk" in lines[0]
    assert bad["url"] in lines[0] and "position 0.0" in lines[0] and "corrupt" in lines[0]
    ranged = ns.run("object", "fetch", "c", "EC", "--range", "1000-1999")
    assert ranged.returncode == 0 and ranged.stdout == data["EC"][1000:2000]
    assert "skipped chunk" in ranged.err and bad["url"] in ranged.err
    # the next check reports it
    proc = ns.run("object", "check", "c", "EC", "-f", "json")
    assert proc.returncode == 7
    assert [c["url"] for c in json.loads(proc.stdout)[0]["Corrupt"]] == [bad["url"]]


def test_set_policy_reencodes_keeping_name_version_properties_hash(ns):
    data = os.urandom(200_000)
    ns.file("f", data)
    ns.ok("object", "create", "c", "f", "--policy", "TWOCOPIES", "-p", "color=blue")
    before = ns.json("object", "show", "c", "f")
    for policy, positions in (("EC", "0.0"), ("SINGLE", "0"), ("THREECOPIES", "0")):
        ns.ok("object", "set", "c", "f", "--policy", policy)
        after = ns.json("object", "show", "c", "f")
        assert after["policy"] == policy
        for key in ("object", "version", "hash", "size", "meta.color", "mime-type"):
            assert after[key] == before[key], (policy, key)
        assert ns.ok("object", "fetch", "c", "f").stdout == data
        locate = ns.json("object", "locate", "c", "f")
        assert locate[0]["Pos"] == positions
        assert ns.json("object", "check", "c", "f")[0]["State"] == "ok"
    # with properties in the same command
    ns.ok("object", "set", "c", "f", "--policy", "EC21", "-p", "size=big")
    after = ns.json("object", "show", "c", "f")
    assert (after["policy"], after["meta.color"], after["meta.size"]) == ("EC21", "blue", "big")
    # old chunks are gone: no orphan anywhere
    assert ns.clean_orphans() == 0
    ns.fails(1, "object", "set", "c", "f", "--policy", "NOPE")
    assert ns.json("object", "show", "c", "f") == after
    ns.fails(2, "object", "set", "c", "f")


def test_namespace_check_stats_repair_and_rollup(ns):
    _populate(ns, size=20_000)
    proc = ns.run("namespace", "check", "-f", "json")
    assert proc.returncode == 0, proc.err
    rows = json.loads(proc.stdout)
    assert {r["Check"] for r in rows} == {"container stats", "account stats", "redundancy"}
    assert {r["State"] for r in rows} == {"ok"}
    assert proc.err.strip() == f"2 checks: 2 ok; {len(POLICIES)} objects: {len(POLICIES)} ok"
    # wrong statistics in the namespace database
    with sqlite3.connect(ns.data_dir / "namespace.db") as conn:
        conn.execute("UPDATE containers SET objects = 99")
        conn.execute("UPDATE accounts SET bytes = 5")
    proc = ns.run("namespace", "check", "--metadata-only", "-f", "json")
    assert proc.returncode == 1, proc.err
    wrong = [r for r in json.loads(proc.stdout) if r["State"] == "wrong"]
    assert {r["Check"] for r in wrong} == {"container stats", "account stats"}
    proc = ns.run("namespace", "check", "--repair", "-f", "json")
    assert proc.returncode == 0, proc.err
    assert "repaired" in {r["State"] for r in json.loads(proc.stdout)}
    assert ns.run("namespace", "check").returncode == 0
    assert ns.json("container", "show", "c")["objects"] == len(POLICIES)
    # a degraded object shows in the roll-up (exit 7), a lost one wins (exit 6)
    url = _chunks(ns, "c", "THREECOPIES")[0]["url"]
    os.unlink(ns.chunk_file(url))
    proc = ns.run("namespace", "check", "-f", "json")
    assert proc.returncode == 7, proc.err
    rollup = [r for r in json.loads(proc.stdout) if r["Check"] == "redundancy"]
    assert [(r["Scope"], r["State"]) for r in rollup] == [(f"{ACCOUNT}/c", "degraded")]
    os.unlink(ns.chunk_file(_chunks(ns, "c", "SINGLE")[0]["url"]))
    assert ns.run("namespace", "check").returncode == 6
    assert ns.run("namespace", "check", "--metadata-only").returncode == 0


def test_volume_check_orphans_age_and_delete(ns):
    _populate(ns, size=10_000)
    url = _chunks(ns, "c", "SINGLE")[0]["url"]
    volume = os.path.dirname(url[len("file://") :])
    orphan_id = "AB" + "0" * 62
    orphan = os.path.join(volume, "AB", orphan_id)
    shutil.copyfile(ns.chunk_file(url), orphan)
    name = os.path.basename(volume)
    assert ns.json("volume", "check", name) == []  # orphans only when asked
    assert ns.json("volume", "check", name, "--orphans") == []  # younger than an hour
    proc = ns.run("volume", "check", name, "--orphans", "--min-age", "0", "-f", "json")
    assert proc.returncode == 1
    rows = json.loads(proc.stdout)
    assert [(r["State"], r["Chunk"].rsplit("/", 1)[1]) for r in rows] == [("orphan", orphan_id)]
    assert proc.err.strip() == f"{name}: 1 orphan"
    rows = ns.json("volume", "check", volume, "--delete-orphans", "--min-age", "0")
    assert [r["State"] for r in rows] == ["orphan-deleted"]
    assert not os.path.exists(orphan)
    assert ns.json("volume", "check", name, "--orphans", "--min-age", "0") == []
    assert ns.run("container", "check", "c").returncode == 0
    # a corrupt chunk on the volume: exit 7
    flip_bytes(ns.chunk_file(url), random.Random(2))
    proc = ns.run("volume", "check", name, "-f", "json")
    assert proc.returncode == 7
    assert [(r["State"], r["Chunk"]) for r in json.loads(proc.stdout)] == [("corrupt", url)]


def test_check_bad_arguments(ns):
    _populate(ns, size=1000)
    assert "vol-99" in ns.fails(1, "volume", "check", "vol-99").err
    assert "vol-99" in ns.fails(1, "volume", "rebuild", "vol-99").err
    ns.fails(2, "volume", "check", "vol-1", "--min-age", "-1")
    ns.fails(2, "volume", "check", "vol-1", "--min-age", "soon")
    ns.fails(3, "container", "check", "nocontainer")
    ns.fails(4, "object", "check", "c", "nope")
    ns.fails(4, "object", "check", "c", "EC", "--object-version", "12")
    ns.fails(2, "object", "check", "c")
