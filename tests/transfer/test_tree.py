"""Trees up and down: `object create --recursive`, `container save`,
`object fetch --prefix -D`; summary rows, warnings, exit codes, progress."""

from __future__ import annotations

import json
import os

from .helpers import ACCOUNT, MiB, read_tree, run_with_tty_stderr, write_tree


def test_tree_round_trip_2000_small_and_3_large(oio):
    src = oio.root / "src"
    files = {f"d{i % 20:02d}/sub{i % 3}/f{i:04d}.bin": os.urandom(i % 1500) for i in range(2000)}
    for n in range(3):
        files[f"large/big{n}.bin"] = os.urandom(20 * MiB)
    write_tree(src, files)
    total = sum(len(d) for d in files.values())

    row = oio.summary("object", "create", "c", str(src), "--recursive")
    assert (row["Files"], row["Bytes"], row["Skipped"], row["Failed"]) == (2003, total, 0, 0)
    assert row["Resumed"] == 0 and row["Elapsed"] > 0 and row["Rate"] > 0
    assert oio.names("c") == sorted(files)

    out = oio.root / "out"
    row = oio.summary("container", "save", "c", "-D", str(out))
    assert (row["Files"], row["Bytes"], row["Failed"]) == (2003, total, 0)
    assert read_tree(out) == files
    assert not list(out.rglob("*.oio-part"))

    # a second save keeps what exists (no --overwrite): nothing moves
    row = oio.summary("container", "save", "c", "-D", str(out), "--concurrency", "1")
    assert (row["Files"], row["Skipped"], row["Bytes"]) == (0, 2003, 0)


def test_recursive_names_prefix_and_concurrency_1(oio):
    write_tree(oio.cwd / "tree", {"a.txt": b"a", "sub/b.txt": b"bb", "sub/deeper/c": b"ccc"})
    row = oio.summary(
        "object", "create", "c", "tree", "--recursive", "--name", "pre", "--concurrency", "1"
    )
    assert (row["Files"], row["Bytes"]) == (3, 6)
    assert oio.names("c") == ["pre/a.txt", "pre/sub/b.txt", "pre/sub/deeper/c"]
    # files and directories mixed; a file keeps its base name
    (oio.cwd / "single").write_bytes(b"1234")
    row = oio.summary("object", "create", "d", "single", "tree", "--recursive")
    assert row["Files"] == 4
    assert oio.names("d") == ["a.txt", "single", "sub/b.txt", "sub/deeper/c"]


def test_links_and_special_files_are_skipped_with_a_warning(oio):
    tree = oio.cwd / "tree"
    write_tree(tree, {"real": b"data", "dir/x": b"x"})
    (tree / "link").symlink_to(tree / "real")
    (tree / "dirlink").symlink_to(tree / "dir")
    os.mkfifo(tree / "fifo")
    proc = oio.run("object", "create", "c", "tree", "--recursive", "-f", "json")
    assert proc.returncode == 0, proc.err
    (row,) = json.loads(proc.out)
    assert (row["Files"], row["Skipped"], row["Failed"]) == (2, 3, 0)
    assert oio.names("c") == ["dir/x", "real"]
    lines = proc.err.strip().splitlines()
    assert len(lines) == 3
    assert sum("symbolic link" in line for line in lines) == 2
    assert sum("not a regular file" in line for line in lines) == 1


def test_save_refuses_names_outside_the_directory(oio):
    api = oio.api()
    outside = oio.root / "outside"
    outside.mkdir()
    for name in ("ok", "../evil", "/abs", "a/../../up", "a/./b", "x//y", "link/inside", "d/"):
        api.object_create_ext(ACCOUNT, "c", data=b"payload", obj_name=name)
    out = oio.root / "out"
    out.mkdir()
    (out / "link").symlink_to(outside)
    proc = oio.run("container", "save", "c", "-D", str(out), "-f", "json")
    assert proc.returncode == 8, proc.err
    (row,) = json.loads(proc.out)
    assert (row["Files"], row["Failed"], row["Skipped"]) == (1, 6, 1)
    assert (out / "ok").read_bytes() == b"payload"
    assert list(outside.iterdir()) == []
    assert not (oio.root / "evil").exists() and not (oio.root / "up").exists()
    lines = proc.err.strip().splitlines()
    assert sum("Refusing" in line for line in lines) == 6
    assert sum("directory marker" in line for line in lines) == 1 and len(lines) == 7


def test_existing_files_kept_unless_overwrite(oio):
    write_tree(oio.cwd / "t", {"a": b"new-a", "b/c": b"new-c"})
    oio.ok("object", "create", "c", "t", "--recursive")
    out = oio.cwd / "out"
    write_tree(out, {"a": b"old"})
    proc = oio.run("container", "save", "c", "-D", "out", "-f", "json")
    assert proc.returncode == 0
    (row,) = json.loads(proc.out)
    assert (row["Files"], row["Skipped"]) == (1, 1)
    assert "--overwrite" in proc.err
    assert (out / "a").read_bytes() == b"old"
    row = oio.summary("container", "save", "c", "-D", "out", "--overwrite")
    assert (row["Files"], row["Skipped"]) == (2, 0)
    assert read_tree(out) == {"a": b"new-a", "b/c": b"new-c"}


def test_fetch_prefix_to_directory(oio):
    write_tree(oio.cwd / "t", {"logs/1": b"1", "logs/2/x": b"22", "other": b"o"})
    oio.ok("object", "create", "c", "t", "--recursive")
    row = oio.summary("object", "fetch", "c", "--prefix", "logs/", "-D", "dl")
    assert (row["Files"], row["Bytes"]) == (2, 3)
    assert read_tree(oio.cwd / "dl") == {"logs/1": b"1", "logs/2/x": b"22"}
    # -D alone: the whole container
    row = oio.summary("object", "fetch", "c", "-D", "all")
    assert row["Files"] == 3
    # an object and a tree at once is a usage error; so is nothing at all
    assert oio.run("object", "fetch", "c", "other", "--prefix", "x").returncode == 2
    assert oio.run("object", "fetch", "c").returncode == 2
    # the single-object form is unchanged
    assert oio.ok("object", "fetch", "c", "other").stdout == b"o"


def test_some_files_failing_exit_8(oio):
    tree = oio.cwd / "t"
    long_dir = "/".join(["d" * 200] * 6)  # a name over 1023 bytes
    write_tree(tree, {"good": b"1", f"{long_dir}/bad": b"2"})
    proc = oio.run("object", "create", "c", "t", "--recursive", "-f", "json")
    assert proc.returncode == 8, proc.err
    (row,) = json.loads(proc.out)
    assert (row["Files"], row["Failed"]) == (1, 1)
    assert len(proc.err.strip().splitlines()) == 1 and "too long" in proc.err
    # every file failing the same way: that failure's own code
    only_bad = oio.cwd / "only"
    write_tree(only_bad, {f"{long_dir}/bad": b"2"})
    proc = oio.run("object", "create", "c", "only", "--recursive")
    assert proc.returncode == 1, proc.err


def test_progress_only_when_asked_off_a_terminal(oio):
    write_tree(oio.cwd / "t", {f"f{i}": os.urandom(100_000) for i in range(20)})
    proc = oio.run("object", "create", "c", "t", "--recursive")
    assert proc.returncode == 0 and proc.err == ""
    proc = oio.run(
        "object", "create", "c", "t", "--recursive", "--overwrite", "--progress", "bar",
        "-f", "value",
    )  # fmt: skip
    assert proc.returncode == 0 and proc.err == ""  # never a bar off a terminal

    proc = oio.run(
        "container", "save", "c", "-D", "d1", "--progress", "log", "--progress-interval", "0.01"
    )
    assert proc.returncode == 0
    last = proc.err.strip().splitlines()[-1]
    assert "download done: 20/20 files" in last and "0 failed" in last

    proc = oio.run("container", "save", "c", "-D", "d2", "--progress", "json", "-f", "json")
    assert proc.returncode == 0
    events = [json.loads(line) for line in proc.err.splitlines()]
    assert events[0]["event"] == "start" and events[-1]["event"] == "summary"
    files = [e for e in events if e["event"] == "file"]
    assert sorted(e["name"] for e in files) == [f"f{i}" for i in sorted(range(20), key=str)]
    assert all(e["status"] == "ok" and e["size"] == 100_000 for e in files)
    (row,) = json.loads(proc.out)
    assert events[-1]["files"] == row["Files"] == 20
    assert events[-1]["bytes"] == row["Bytes"] == 2_000_000


def test_bad_usage(oio):
    (oio.cwd / "f").write_bytes(b"x")
    assert oio.run("object", "create", "c", "-", "--recursive", "--name", "n").returncode == 2
    assert oio.run("object", "create", "c", "f", "--recursive", "--append").returncode == 2
    assert oio.run("object", "create", "c", "f", "--concurrency", "0").returncode == 2
    assert oio.run("object", "fetch", "c", "o", "--resume").returncode == 2  # needs --file
    proc = oio.run("container", "save", "nope", "-D", "x")
    assert proc.returncode == 3, proc.err


def test_one_aggregate_bar_on_a_terminal(oio):
    write_tree(oio.cwd / "t", {f"d/f{i}": os.urandom(50_000) for i in range(300)})
    proc, shown = run_with_tty_stderr(oio, "object", "create", "c", "t", "--recursive")
    assert proc.returncode == 0
    assert "300/300 files" in shown and "100%" in shown
    proc, shown = run_with_tty_stderr(oio, "container", "save", "c", "-D", "out", "-q")
    assert proc.returncode == 0 and shown.strip() == ""  # -q: no bar
    proc, shown = run_with_tty_stderr(
        oio, "container", "save", "c", "-D", "out2", "--progress", "none"
    )
    assert proc.returncode == 0 and shown.strip() == ""
