"""A read-only namespace (read-only mount, chmod -w on its files and directories).

Reads (listings, show, fetch, save, check) return the right bytes; every write
fails with exit 1 and one line saying the namespace is read-only, never that a
database is corrupt (exit 6); no file of the namespace changes.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random

import pytest

from .helpers import ACCOUNT, tree_modes

OBJECTS = (("SINGLE", 1), ("THREECOPIES", 150_000), ("EC21", 300_000))  # multi-chunk too


def _snapshot(root) -> dict[str, tuple]:
    """path -> (mode, sha256 of a file's bytes) of everything under root."""
    state = {}
    for path, mode, is_dir in tree_modes(root):
        digest = None
        if not is_dir:
            with open(path, "rb") as f:
                digest = hashlib.sha256(f.read()).hexdigest()
        state[os.path.relpath(path, root)] = (mode, digest)
    return state


def _make_read_only(root, volumes_too: bool) -> dict[str, int]:
    """chmod -w everything under root (the volumes only if volumes_too); the old modes."""
    modes = {}
    for path, mode, _is_dir in tree_modes(root):
        if not volumes_too and os.path.relpath(path, root).startswith("volumes"):
            continue
        modes[path] = mode
        os.chmod(path, mode & ~0o222)
    return modes


def _populate(ns, rng) -> dict[str, bytes]:
    data = {}
    for policy, size in OBJECTS:
        name = f"{policy}-{size}"
        data[name] = rng.randbytes(size)
        ns.file(name, data[name])
        ns.ok("object", "create", "c", name, "--policy", policy)
        os.unlink(ns.cwd / name)
    ns.ok("object", "create", "other", "-", "--name", "x", input=b"x")
    ns.ok("container", "set", "c", "-p", "k=v")
    return data


@pytest.mark.parametrize(
    "case",
    ["whole", "metadata-only", "wal-in-use"],
    # whole: a read-only mount; metadata-only: volumes still writable (an upload
    # must not leave chunks behind); wal-in-use: another process holds the
    # databases open, their -wal and -shm files exist (read through the WAL)
)
def test_read_only_namespace(strict_ns, case):
    ns = strict_ns
    data = _populate(ns, random.Random(31))
    holder = None
    if case == "wal-in-use":
        holder = ns.api()  # keeps connections (and their -wal/-shm) open
        holder.object_create(ACCOUNT, "c", data=b"late", obj_name="late", policy="SINGLE")
        data["late"] = b"late"
        assert os.path.exists(ns.data_dir / "namespace.db-wal")
    before = _snapshot(ns.data_dir)
    modes = _make_read_only(ns.data_dir, volumes_too=case != "metadata-only")
    try:
        # reads
        assert {r["Name"] for r in ns.json("container", "list")} == {"c", "other"}
        assert {r["Name"] for r in ns.json("object", "list", "c")} == set(data)
        for name, expected in data.items():
            show = ns.json("object", "show", "c", name)
            assert show["size"] == len(expected), show
            assert ns.ok("object", "fetch", "c", name).stdout == expected, name
            ns.ok("object", "save", "c", name, "--file", "saved.bin")
            assert (ns.cwd / "saved.bin").read_bytes() == expected, name
        assert {r["State"] for r in ns.json("container", "check", "c")} == {"ok"}
        # writes: refused up front, one clear line, exit 1 (not 6, "corrupt")
        for args in (
            ["object", "create", "c", "-", "--name", "new"],
            ["object", "create", "c", "-", "--name", "SINGLE-1"],  # overwrite
            ["object", "create", "fresh", "-", "--name", "new"],  # autocreate
            ["container", "create", "fresh"],
            ["object", "delete", "c", "THREECOPIES-150000"],
            ["object", "set", "c", "EC21-300000", "-p", "a=b"],
            ["container", "set", "c", "-p", "k=w"],
        ):
            proc = ns.fails(1, *args, input=b"new bytes")
            err = proc.err.strip()
            assert "the namespace is read-only (permission denied)" in err, (args, err)
            assert str(ns.data_dir) in err, (args, err)
            assert "corrupt" not in err.lower(), (args, err)
        read_only = {os.path.relpath(p, ns.data_dir) for p in modes}
        assert _snapshot(ns.data_dir) == {
            path: (mode & ~0o222 if path in read_only else mode, digest)
            for path, (mode, digest) in before.items()
        }
    finally:
        for path, mode in modes.items():
            with contextlib.suppress(FileNotFoundError):
                os.chmod(path, mode)
    del holder
    # writable again: writes work, nothing was damaged
    ns.ok("object", "create", "c", "-", "--name", "new", input=b"new bytes")
    assert ns.ok("object", "fetch", "c", "new").stdout == b"new bytes"
    ns.check_clean(["c", "other"])
    assert json.loads(ns.ok("object", "show", "c", "SINGLE-1", "-f", "json").stdout)["size"] == 1
