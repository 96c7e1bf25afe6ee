"""`oio container sync`: size and MD5 comparison, only differences transferred,
--delete with --max-delete, --dry-run plans, both directions, name order."""

from __future__ import annotations

import json
import os
import sqlite3
import time

from .helpers import read_tree, write_tree


def _plan(oio, *args, code=0):
    return sorted(
        (r["Action"], r["Name"], r["Reason"])
        for r in oio.json("container", "sync", *args, "--dry-run", code=code)
    )


def test_sync_up_transfers_only_what_changed(oio):
    src = oio.cwd / "src"
    files = {f"d{i % 7}/f{i:03d}": os.urandom(1000 + i) for i in range(200)}
    write_tree(src, files)
    row = oio.summary("container", "sync", "src", "c")
    assert (row["Files"], row["Skipped"], row["Deleted"]) == (200, 0, 0)
    row = oio.summary("container", "sync", "src", "c")
    assert (row["Files"], row["Bytes"], row["Skipped"]) == (0, 0, 200)
    assert _plan(oio, "src", "c", "--delete") == []

    same_size = "d0/f007"  # same size, new content: only MD5 tells
    (src / same_size).write_bytes(os.urandom(len(files[same_size])))
    (src / "d1/f001").write_bytes(b"shorter")
    (src / "d2/f002").unlink()
    (src / "new/file").parent.mkdir()
    (src / "new/file").write_bytes(b"brand new")

    expected = [
        ("delete", "d2/f002", "extra"),
        ("upload", "d0/f007", "md5"),
        ("upload", "d1/f001", "size"),
        ("upload", "new/file", "new"),
    ]
    assert _plan(oio, "src", "c", "--delete") == expected
    assert _plan(oio, "src", "c") == expected[1:]  # without --delete: no deletion planned
    row = oio.summary("container", "sync", "src", "c")  # no --delete: the extra stays
    assert (row["Files"], row["Skipped"], row["Deleted"]) == (3, 197, 0)
    assert "d2/f002" in oio.names("c")
    row = oio.summary("container", "sync", "src", "c", "--delete")
    assert (row["Files"], row["Skipped"], row["Deleted"]) == (0, 200, 1)
    local = read_tree(src)
    assert oio.names("c") == sorted(local)

    # and back down into a fresh directory: the same tree
    row = oio.summary("container", "sync", "c", "copy", "--download")
    assert row["Files"] == 200
    assert read_tree(oio.cwd / "copy") == local


def test_sync_down_with_changes_on_the_container(oio):
    write_tree(oio.cwd / "src", {f"f{i}": bytes([i]) * 100 for i in range(10)})
    oio.ok("container", "sync", "src", "c")
    write_tree(oio.cwd / "dst", {})
    (oio.cwd / "dst").mkdir(exist_ok=True)
    row = oio.summary("container", "sync", "c", "dst")  # dst exists: a download
    assert row["Files"] == 10
    oio.ok("object", "delete", "c", "f3")
    (oio.cwd / "f5").write_bytes(b"X" * 100)  # same size, other bytes
    oio.ok("object", "create", "c", "f5")
    (oio.cwd / "dst" / "local-only").write_bytes(b"mine")
    assert _plan(oio, "c", "dst", "--delete") == [
        ("delete", "f3", "extra"),
        ("delete", "local-only", "extra"),
        ("download", "f5", "md5"),
    ]
    row = oio.summary("container", "sync", "c", "dst", "--delete")
    assert (row["Files"], row["Skipped"], row["Deleted"]) == (1, 8, 2)
    assert sorted(os.listdir(oio.cwd / "dst")) == [f"f{i}" for i in range(10) if i != 3]
    assert (oio.cwd / "dst" / "f5").read_bytes() == b"X" * 100


def test_max_delete_guard(oio):
    write_tree(oio.cwd / "src", {f"f{i}": b"x" for i in range(6)})
    oio.ok("container", "sync", "src", "c")
    for i in range(3):
        (oio.cwd / "src" / f"f{i}").unlink()
    proc = oio.run("container", "sync", "src", "c", "--delete", "--max-delete", "2", "-f", "json")
    assert proc.returncode == 8, proc.err
    (row,) = json.loads(proc.out)
    assert row["Deleted"] == 0
    assert "--max-delete 2" in proc.err and "Not deleting 3" in proc.err
    assert len(oio.names("c")) == 6
    plan = _plan(oio, "src", "c", "--delete", "--max-delete", "2", code=8)
    assert [p[0] for p in plan] == ["delete"] * 3
    row = oio.summary("container", "sync", "src", "c", "--delete", "--max-delete", "3")
    assert row["Deleted"] == 3
    assert oio.names("c") == ["f3", "f4", "f5"]
    assert oio.run("container", "sync", "src", "c", "--max-delete", "1").returncode == 2


def test_listing_order_matches_local_walk_order(oio):
    # "-" and "." sort before "/", "0" after; capitals first; U+FFFD before an emoji
    # (code point order, not UTF-16's)
    names = [
        "a-b", "a.c", "a/x-y/z", "a/x.y", "a/x/y", "a/x0", "a0", "A", "a b", "é",
        "z/é/1", "ß", "日本/語", "emoji-😀", "emoji-😀x/y", "été", "~tilde",
        "\U0001f600/high", "\ufffd",
    ]  # fmt: skip
    write_tree(oio.cwd / "src", {n: n.encode() for n in names})
    row = oio.summary("container", "sync", "src", "c")
    assert row["Files"] == len(names)
    assert oio.names("c") == sorted(names)  # code point order
    assert _plan(oio, "src", "c", "--delete") == []
    row = oio.summary("container", "sync", "src", "c", "--delete")
    assert (row["Files"], row["Skipped"], row["Deleted"], row["Failed"]) == (0, len(names), 0, 0)
    row = oio.summary("container", "sync", "c", "back", "--download", "--delete")
    assert row["Files"] == len(names)
    row = oio.summary("container", "sync", "c", "back", "--delete")
    assert (row["Files"], row["Skipped"], row["Deleted"]) == (0, len(names), 0)


def test_direction_rules(oio):
    (oio.cwd / "d1").mkdir()
    (oio.cwd / "d2").mkdir()
    proc = oio.run("container", "sync", "d1", "d2")
    assert proc.returncode == 2 and "--upload or --download" in proc.err
    proc = oio.run("container", "sync", "c", "nowhere")
    assert proc.returncode == 2 and "--upload or --download" in proc.err
    assert oio.run("container", "sync", "d1", "c", "--download").returncode == 3  # no container
    assert oio.run("container", "sync", "--upload", "--download", "d1", "c").returncode == 2
    # --upload from a directory to a new container; --dry-run creates nothing
    (oio.cwd / "d1" / "f").write_bytes(b"f")
    assert _plan(oio, "--upload", "d1", "c") == [("upload", "f", "new")]
    assert oio.run("container", "show", "c").returncode == 3
    assert oio.summary("container", "sync", "--upload", "d1", "c")["Files"] == 1


def test_md5_cache_is_used_and_can_be_bypassed(oio):
    src = oio.cwd / "src"
    write_tree(src, {"a": b"aaaa", "b": b"bbbb"})
    past = time.time() - 3600
    for name in ("a", "b"):
        os.utime(src / name, (past, past))
    oio.ok("container", "sync", "src", "c")
    assert oio.summary("container", "sync", "src", "c")["Skipped"] == 2
    cache = oio.data_dir / "cache" / "md5.sqlite"
    assert cache.exists()
    with sqlite3.connect(cache) as db:
        assert db.execute("SELECT count(*) FROM md5").fetchone()[0] == 2
        # a stale cache entry (same size and mtime) is believed...
        db.execute("UPDATE md5 SET md5 = ? WHERE path LIKE ?", ("0" * 32, "%/a"))
    row = oio.summary("container", "sync", "src", "c")
    assert (row["Files"], row["Skipped"]) == (1, 1)
    # ... unless --no-md5-cache
    with sqlite3.connect(cache) as db:
        db.execute("UPDATE md5 SET md5 = ? WHERE path LIKE ?", ("0" * 32, "%/a"))
    row = oio.summary("container", "sync", "src", "c", "--no-md5-cache")
    assert (row["Files"], row["Skipped"]) == (0, 2)


def test_sync_help_states_memory_and_summary(oio):
    text = oio.ok("container", "sync", "--help").out
    for words in (
        "--delete",
        "--max-delete",
        "--dry-run",
        "--concurrency",
        "--resume",
        "--progress",
        "memory:",
        "Failed",
        "MD5",
    ):
        assert words in text, words
