"""`oio object copy` and `oio object move`: shared data where it can be, a real copy
where the policy differs, properties kept, the source deleted only once the
destination is committed."""

from __future__ import annotations

import os

from oiocli.backends.embedded.chunks import chunk_path

DATA = os.urandom(300_000)


def _chunk_paths(oio, container: str, name: str) -> list[str]:
    rows = oio.json("object", "locate", container, name)
    return [chunk_path(row["Id"]) for row in rows]


def _upload(oio, container: str = "c", name: str = "a", *args: str) -> None:
    path = oio.file("src.bin", DATA)
    oio.ok("object", "create", container, str(path), "--name", name, "-p", "owner=ops", *args)


def _fetch(oio, container: str, name: str) -> bytes:
    return oio.ok("object", "fetch", container, name, "--file", "-").stdout


def test_copy_same_policy_links_the_data(oio):
    _upload(oio)
    out = oio.json("object", "copy", "c", "a", "b")
    assert out["method"] == "link" and out["source"] == "acct/c/a"
    assert out["destination"] == "acct/c/b" and out["size"] == len(DATA)
    assert _fetch(oio, "c", "b") == DATA and _fetch(oio, "c", "a") == DATA
    # No data moved: the copy's chunk files are hard links of the source's.
    src, dst = _chunk_paths(oio, "c", "a"), _chunk_paths(oio, "c", "b")
    assert {os.stat(p).st_ino for p in src} == {os.stat(p).st_ino for p in dst}
    assert oio.json("object", "show", "c", "b")["meta.owner"] == "ops"


def test_copy_with_another_policy_copies_the_data(oio):
    _upload(oio)
    out = oio.json(
        "object", "copy", "c", "a", "--dest-container", "d", "--policy", "EC21", "-p", "k=v"
    )
    assert out["method"] == "copy" and out["policy"] == "EC21"
    show = oio.json("object", "show", "d", "a")
    assert show["policy"] == "EC21" and show["meta.k"] == "v" and "meta.owner" not in show
    assert _fetch(oio, "d", "a") == DATA
    src, dst = _chunk_paths(oio, "c", "a"), _chunk_paths(oio, "d", "a")
    assert not {os.stat(p).st_ino for p in src} & {os.stat(p).st_ino for p in dst}
    assert oio.json("object", "show", "c", "a")["policy"] == "SINGLE"


def test_copy_across_accounts(oio):
    _upload(oio)
    oio.ok("object", "copy", "c", "a", "--dest-account", "other", "--dest-container", "x")
    assert oio.ok("-a", "other", "object", "fetch", "x", "a", "--file", "-").stdout == DATA


def test_move_renames_and_deletes_the_source(oio):
    _upload(oio)
    out = oio.json("object", "move", "c", "a", "b", "--dest-container", "d")
    assert out["source_deleted"] is True and out["method"] == "link"
    assert oio.names("c") == [] and oio.names("d") == ["b"]
    assert _fetch(oio, "d", "b") == DATA
    assert oio.json("object", "show", "d", "b")["meta.owner"] == "ops"


def test_move_with_a_policy_change(oio):
    _upload(oio)
    out = oio.json("object", "move", "c", "a", "--dest-container", "d", "--policy", "TWOCOPIES")
    assert out["method"] == "copy" and out["source_deleted"] is True
    assert oio.names("c") == [] and _fetch(oio, "d", "a") == DATA


def test_move_refused_at_the_destination_keeps_the_source(oio):
    _upload(oio)
    oio.ok("container", "create", "frozen")
    oio.ok("container", "set", "frozen", "--status", "frozen")
    proc = oio.fails(5, "object", "move", "c", "a", "--dest-container", "frozen")
    assert "frozen" in proc.err
    assert _fetch(oio, "c", "a") == DATA and oio.names("frozen") == []


def test_move_whose_source_cannot_be_deleted_keeps_both(oio):
    _upload(oio)
    oio.ok("container", "set", "c", "--status", "frozen")
    proc = oio.fails(5, "object", "move", "c", "a", "--dest-container", "d")
    assert "Copied to d/a" in proc.err and "both exist" in proc.err
    assert _fetch(oio, "c", "a") == DATA and _fetch(oio, "d", "a") == DATA


def test_move_deletes_only_the_version_copied(oio):
    oio.ok("container", "create", "v", "--max-versions", "-1")
    _upload(oio, "v", "a")
    first = oio.json("object", "show", "v", "a")["version"]
    oio.file("new.bin", b"newer")
    oio.ok("object", "create", "v", str(oio.cwd / "new.bin"), "--name", "a")
    oio.ok("object", "move", "v", "a", "old", "--object-version", str(first))
    # The newer version of "a" is untouched; the old one is now "old".
    assert _fetch(oio, "v", "a") == b"newer" and _fetch(oio, "v", "old") == DATA


def test_dry_run_changes_nothing(oio):
    _upload(oio)
    out = oio.json("object", "move", "c", "a", "b", "--policy", "EC21", "--dry-run")
    assert out["method"] == "copy" and out["dry_run"] is True and out["source_deleted"] is False
    assert oio.names("c") == ["a"]


def test_errors_change_nothing(oio):
    _upload(oio)
    oio.fails(4, "object", "copy", "c", "nosuch", "b")
    oio.fails(3, "object", "move", "nosuchc", "a", "b")
    proc = oio.fails(1, "object", "copy", "c", "a", "b", "--policy", "NOPE")
    assert "NOPE" in proc.err
    proc = oio.fails(1, "object", "move", "c", "a", "a")
    assert "same object" in proc.err
    proc = oio.fails(2, "object", "move", "c", "a")
    assert "dest_object" in proc.err
    assert oio.names("c") == ["a"]
    assert _fetch(oio, "c", "a") == DATA


def test_help_has_examples_and_exit_codes(oio):
    out = oio.ok("object", "move", "--help").out
    assert "examples:" in out.lower() and "exit codes" in out.lower()
    assert "object move photos a.jpg b.jpg" in out


def test_move_killed_midway_loses_nothing(oio):
    """kill -9 while the data is being copied: the source is intact, the
    destination absent (the bandwidth limit makes the copy last long enough)."""
    import signal
    import subprocess
    import time

    _upload(oio)
    proc = subprocess.Popen(
        [*oio.command, "--bwlimit", "64K", "object", "move", "c", "a"]
        + ["--dest-container", "d", "--policy", "EC21"],
        env=oio.env,
        cwd=oio.cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1.5)  # 600 KB to read and write at 64 KiB/s: at least 8 s
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert _fetch(oio, "c", "a") == DATA
    assert oio.run("object", "show", "d", "a").returncode in (3, 4)
