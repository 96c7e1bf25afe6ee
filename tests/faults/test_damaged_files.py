"""Every file of a namespace damaged in every way, then used as a careless user would.

Files: namespace.json, namespace.db, a container database, a chunk file (one
replica of a three-copy object), an upload journal. Damages: truncated to 0
bytes, cut in the middle, filled with garbage, removed, made unreadable
(chmod 000; the CLI then runs without root's DAC override, see strict_ns).

For each case:
1. the first command that needs the file gives one clear line naming it, with
   the exit code that fits (6 damaged, 1 unreadable; a lost replica is read
   around with a warning naming it);
2. then writes into the damaged container, autocreation, every volume's orphan
   sweep (`--delete-orphans --min-age 0`) and `namespace check`: none gives a
   traceback, and none destroys what was still intact (the other container
   databases, every chunk file, every object that did not depend on the file);
3. `namespace check` reports the case, and `--repair` recovers what can be:
   namespace.db is rebuilt from the container databases, the replica rebuilt,
   the journal dropped; a damaged container database cannot be (its objects
   are reported lost, its chunks kept); namespace.json and unreadable files
   are left for an operator, and once the file is put back nothing is missing.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import json
import os
import random
import sqlite3
from pathlib import Path

import pytest

from oiocli.backends.embedded.chunks import chunk_path
from oiocli.core.exceptions import OioException

from .helpers import ACCOUNT, IS_ROOT, Namespace, read_all

FILES = ("namespace.json", "namespace.db", "container-db", "chunk", "journal")
DAMAGES = ("empty", "cut", "garbage", "removed", "unreadable")
OBJECTS = {  # container -> name -> (policy, size)
    "c1": {"a": ("THREECOPIES", 150_000), "b": ("SINGLE", 5_000)},
    "c2": {"x": ("EC21", 100_000)},
}


def _quiet(path: str) -> None:
    """A database holding every commit in its main file (no -wal), as after a clean exit."""
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    for suffix in ("-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.unlink(path + suffix)


def _populate(ns: Namespace) -> dict:
    rng = random.Random(11)
    api = ns.api()
    data = {}
    for container, objects in OBJECTS.items():
        for name, (policy, size) in objects.items():
            data[(container, name)] = rng.randbytes(size)
            api.object_create(
                ACCOUNT, container, data=data[(container, name)], obj_name=name, policy=policy
            )
    api.account_set_properties(ACCOUNT, {"owner": "me"})
    # An interrupted resumable upload: its first metachunks are durable, journaled.
    source = ns.file("big.bin", rng.randbytes(300_000))
    calls = []

    def stop(_n: int) -> None:
        calls.append(1)
        if len(calls) == 4:
            raise KeyboardInterrupt  # the user pressed Ctrl-C

    with pytest.raises(KeyboardInterrupt):
        api.object_create_ext(
            ACCOUNT, "c2", str(source), obj_name="part", resume=True, progress=stop
        )
    journals = list((ns.data_dir / "uploads").glob("*.json"))
    assert len(journals) == 1
    paths = {
        "namespace.json": str(ns.data_dir / "namespace.json"),
        "namespace.db": str(ns.data_dir / "namespace.db"),
        "container-db": api.container_locate(ACCOUNT, "c1")["path"],
        "other-db": api.container_locate(ACCOUNT, "c2")["path"],
        "chunk": api.object_locate(ACCOUNT, "c1", "a")[1][0]["url"],
        "journal": str(journals[0]),
    }
    del api
    gc.collect()
    for key in ("namespace.db", "container-db", "other-db"):
        _quiet(paths[key])
    journal = json.loads(journals[0].read_text())
    journaled = {chunk_path(c["url"]) for m in journal["metachunks"] for c in m["chunks"]}
    return {"data": data, "paths": paths, "source": source, "journaled": journaled}


def _chunk_files(volumes: list[str]) -> dict[str, str]:
    """sha256 of every chunk file of every volume."""
    found = {}
    for volume in volumes:
        for root, _dirs, files in os.walk(volume):
            for name in files:
                if len(name) == 64:
                    path = os.path.join(root, name)
                    with open(path, "rb") as f:
                        found[path] = hashlib.sha256(f.read()).hexdigest()
    return found


def _damage(path: str, how: str) -> bytes | None:
    """Damage a file; what it held (to put it back), None for a chmod."""
    with open(path, "rb") as f:
        saved = f.read()
    if how == "empty":
        os.truncate(path, 0)
    elif how == "cut":
        os.truncate(path, len(saved) // 2)
    elif how == "garbage":
        with open(path, "wb") as f:
            f.write(random.Random(7).randbytes(max(len(saved), 4096)))
    elif how == "removed":
        os.unlink(path)
    elif how == "unreadable":
        os.chmod(path, 0)
        return None
    return saved


def _restore(path: str, how: str, saved: bytes | None) -> None:
    if how == "unreadable":
        os.chmod(path, 0o600)
    else:
        with open(path, "wb") as f:
            f.write(saved or b"")


def _one_clear_line(proc) -> str:
    assert "Traceback" not in proc.err, proc.err
    lines = [line for line in proc.err.strip().splitlines() if line.strip()]
    assert len(lines) == 1, proc.err
    return lines[0]


def _reads_back(ns: Namespace, data: dict, keys) -> None:
    api = ns.api()
    for container, name in keys:
        assert read_all(api, container, name) == data[(container, name)], (container, name)


@pytest.mark.parametrize("how", DAMAGES)
@pytest.mark.parametrize("what", FILES)
def test_damaged_file(ns_root: Path, what: str, how: str) -> None:
    ns = Namespace(ns_root)
    if how == "unreadable":
        if not IS_ROOT:
            pytest.skip("chmod 000 tests run as root (with DAC dropped) here")
        import shutil

        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without setpriv: permissions cannot be enforced")
        ns.wrapper = [setpriv, "--bounding-set=-dac_override,-dac_read_search"]
    state = _populate(ns)
    data, paths = state["data"], state["paths"]
    path = chunk_path(paths[what]) if what == "chunk" else paths[what]
    keep_dbs = {k: Path(paths[k]).read_bytes() for k in ("container-db", "other-db")}
    volumes = ns.volumes
    api = ns.api()
    for volume in volumes:  # only chunks something refers to, from here on
        api.volume_check(volume, delete_orphans=True, min_age=0)
    del api
    chunks_before = _chunk_files(volumes)
    saved = _damage(path, how)
    named = path if what != "chunk" else os.path.basename(path)
    sweep_first = os.path.basename(os.path.dirname(os.path.dirname(chunk_path(paths["chunk"]))))

    # 1. the first command that needs it: one line naming it
    code = 1 if how == "unreadable" else 6
    if what in ("namespace.json", "namespace.db", "container-db"):
        probe = ["object", "list", "c1"] if what != "namespace.db" else ["container", "list"]
        if how == "cut" and what != "namespace.json":
            # SQLite reads a database cut short as long as it needs no missing
            # page: what finds it for sure is namespace check (every page).
            probe = ["namespace", "check"]
        proc = ns.run(*probe)
        assert proc.returncode == code, (probe, proc.returncode, proc.out, proc.err)
        assert named in proc.out + proc.err, (probe, proc.out, proc.err)
        if probe[:2] != ["namespace", "check"]:
            _one_clear_line(proc)
    elif what == "chunk":  # read around (a warning when it tries that copy); check names it
        proc = ns.run("object", "fetch", "c1", "a")
        assert proc.returncode == 0 and proc.stdout == data[("c1", "a")], proc.err
        assert not proc.err.strip() or named in _one_clear_line(proc), proc.err
        proc = ns.run("object", "check", "c1", "a", "-f", "json")
        assert proc.returncode == 7, (proc.out, proc.err)
        row = json.loads(proc.stdout)[0]
        assert named in json.dumps(row["Missing"] + row["Corrupt"]), row
    else:  # the journal: namespace check names it, the resumed upload starts over
        if how != "removed":
            proc = ns.run("namespace", "check", "--metadata-only", "-f", "json")
            assert proc.returncode == 1, (proc.out, proc.err)
            rows = [r for r in json.loads(proc.stdout) if r["Check"] == "upload journal"]
            assert [r["Scope"] for r in rows] == [path], rows
        proc = ns.run("object", "create", "c2", str(state["source"]), "--name", "part", "--resume")
        assert proc.returncode == 0, proc.err
        if how != "removed":
            assert "restarted" in proc.err and named in proc.err, proc.err
        data[("c2", "part")] = state["source"].read_bytes()

    # 2. what a careless user does next destroys nothing still intact
    later = [
        ["object", "create", "c1", "-", "--name", "new"],
        ["object", "create", "c2", "-", "--name", "new"],
        ["object", "create", "c3", "-", "--name", "new"],
        ["container", "create", "c1"],
        # the orphan sweep: by the CLI on the volume of a's first chunk, the API elsewhere
        ["volume", "check", sweep_first, "--delete-orphans", "--min-age", "0"],
        ["namespace", "check"],
    ]
    for volume in volumes:
        if os.path.basename(volume) == sweep_first:
            continue
        if how == "unreadable":  # this process is root: the CLI runs without that right
            ns.run(
                "volume", "check", os.path.basename(volume), "--delete-orphans", "--min-age", "0"
            )
        else:
            with contextlib.suppress(OioException):
                ns.api().volume_check(volume, delete_orphans=True, min_age=0)
    for args in later:
        proc = ns.run(*args, input=b"new data")
        assert "Traceback" not in proc.err, (args, proc.err)
        if proc.returncode not in (0, 7) and args[:2] != ["namespace", "check"]:
            line = _one_clear_line(proc)
            if what != "chunk":
                assert named in line or "namespace.json" in line, (args, line)
    if what in ("namespace.json", "namespace.db"):  # every write refused: nothing changed
        assert Path(paths["container-db"]).read_bytes() == keep_dbs["container-db"]
        assert Path(paths["other-db"]).read_bytes() == keep_dbs["other-db"]
    chunks_now = _chunk_files(volumes)
    # A damaged journal no longer protects the chunks of its interrupted upload
    # (which starts over): those are orphans, the sweep may take them.
    spared = state["journaled"] if what == "journal" else set()
    gone = {p for p in chunks_before if p not in chunks_now and p != path} - spared
    assert not gone, f"chunk files deleted: {sorted(gone)[:3]}"
    changed = {p for p in chunks_before if p in chunks_now and chunks_now[p] != chunks_before[p]}
    assert changed <= {path}, changed

    # 3. namespace check reports it; --repair recovers what can be
    intact = [("c2", "x")] if what != "journal" else [("c2", "x"), ("c2", "part")]
    proc = ns.run("namespace", "check", "--repair")
    operator = what == "namespace.json" or (
        how == "unreadable" and what in ("namespace.db", "container-db")
    )
    if operator:  # not repairable by oio: reported, then the operator puts the file back
        assert proc.returncode != 0 and named in proc.out + proc.err, (proc.out, proc.err)
        _restore(path, how, saved)
        proc = ns.run("namespace", "check", "--repair")
    if what == "container-db" and how != "unreadable":
        assert proc.returncode == 6, (proc.out, proc.err)  # its objects are lost...
        assert named in proc.out, proc.out
        _reads_back(ns, data, intact)
        for url in chunks_before:  # ...but their chunks are kept, for a restore
            if url != path:
                assert os.path.exists(url)
        return
    assert proc.returncode == 0, (proc.out, proc.err)
    _reads_back(ns, data, [k for k in data if k[0] in ("c1", "c2")])
    assert ns.json("account", "show", ACCOUNT)["objects"] >= len(data)
    assert ns.run("namespace", "check").returncode == 0
    assert ns.clean_orphans() >= 0
    assert ns.run("namespace", "check").returncode == 0
