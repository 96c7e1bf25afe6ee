"""--include/--exclude (first match wins, rclone's rule), --min/--max-size and
--min/--max-age on recursive uploads, downloads, container save and sync; repeated and
resumed recursive uploads skip what they finished."""

from __future__ import annotations

import os

import pytest

from oiocli.core.exceptions import NoSuchContainer
from oiocli.filters import Filter, glob_regex, parse_age, parse_size

from .helpers import MiB, ctrl_c_on_tty, read_tree, write_tree

TREE = {
    "a.txt": b"a" * 10,
    "b.jpg": b"b" * 2000,
    "photos/2024/c.jpg": b"c" * 30,
    "photos/2024/d.JPG": b"d" * 40,
    "photos/raw/e.raw": b"e" * 5000,
    "cache/x.jpg": b"x" * 5,
    "deep/cache/y.bin": b"y" * 6,
    "logs/old.log": b"o" * 7,
}


def _filter(*rules: tuple[bool, str], **kwargs) -> Filter:
    return Filter(rules=[(inc, p, glob_regex(p)) for inc, p in rules], **kwargs)


@pytest.mark.parametrize(
    "pattern,matches,misses",
    [
        ("*.jpg", ["b.jpg", "photos/2024/c.jpg", "cache/x.jpg"], ["photos/2024/d.JPG", "a.txt"]),
        ("/*.jpg", ["b.jpg"], ["photos/2024/c.jpg"]),
        ("photos/**", ["photos/2024/c.jpg", "photos/raw/e.raw"], ["b.jpg"]),
        ("/photos/*/c.jpg", ["photos/2024/c.jpg"], ["x/photos/2024/c.jpg"]),
        ("cache/", ["cache/x.jpg", "deep/cache/y.bin"], ["cachex/y", "a.txt"]),
        ("?.txt", ["a.txt"], ["ab.txt", "x/.txt/a"]),
        ("*.{jpg,JPG}", ["b.jpg", "photos/2024/d.JPG"], ["a.txt"]),
        ("[ab].*", ["a.txt", "b.jpg"], ["photos/2024/c.jpg"]),
        ("[!ab].*", ["photos/2024/c.jpg"], ["a.txt"]),
        (r"\*.txt", ["*.txt"], ["a.txt"]),
    ],
)
def test_glob_patterns(pattern, matches, misses):
    regex = glob_regex(pattern)
    for name in matches:
        assert regex.fullmatch(name), (pattern, name)
    for name in misses:
        assert not regex.fullmatch(name), (pattern, name)


def test_first_matching_rule_wins_and_includes_exclude_the_rest():
    f = _filter((False, "*.raw"), (True, "photos/**"))
    assert f.wants_name("photos/2024/c.jpg")
    assert not f.wants_name("photos/raw/e.raw")  # excluded before it could be included
    assert not f.wants_name("a.txt")  # an include list leaves out the rest
    g = _filter((True, "photos/**"), (False, "*.raw"))
    assert g.wants_name("photos/raw/e.raw")  # the include came first
    h = _filter((False, "*.log"))
    assert h.wants_name("a.txt") and not h.wants_name("logs/old.log")  # excludes only


def test_sizes_and_ages():
    assert parse_size("100") == 100 and parse_size("10k") == 10240
    assert parse_size("1.5M") == 3 * MiB // 2 and parse_size("2GiB") == 2 << 30
    assert parse_age("90") == 90 and parse_age("10m") == 600 and parse_age("2d") == 172800
    assert abs(parse_age("2020-01-01", now=1577836800 + 60) - 60) < 1e-6
    for bad in ("", "1x", "-5", "１０", "k"):
        with pytest.raises(ValueError):
            parse_size(bad)
    now = 1_000_000.0
    f = Filter(min_size=10, max_size=100, min_age=60, max_age=3600, now=now)
    assert f.wants("x", 10, now - 60) and f.wants("x", 100, now - 3600)
    assert not f.wants("x", 9, now - 100) and not f.wants("x", 101, now - 100)
    assert not f.wants("x", 50, now - 10) and not f.wants("x", 50, now - 7200)


def test_recursive_upload_with_filters(oio):
    write_tree(oio.cwd / "src", TREE)
    row = oio.summary(
        "object", "create", "c", "src", "--recursive",
        "--exclude", "cache/", "--include", "*.jpg", "--include", "/logs/**",
    )  # fmt: skip
    assert row["Files"] == 3 and row["Failed"] == 0
    assert oio.names("c") == ["b.jpg", "logs/old.log", "photos/2024/c.jpg"]
    # sizes, and a --name prefix: patterns match the path below the directory
    row = oio.summary(
        "object", "create", "d", "src", "--recursive", "--name", "up", "--min-size", "1k",
        "--include", "/photos/**", "--include", "/*.jpg",
    )  # fmt: skip
    assert oio.names("d") == ["up/b.jpg", "up/photos/raw/e.raw"]
    # filters apply to trees only
    proc = oio.run("object", "create", "c", "src/a.txt", "--include", "*.txt")
    assert proc.returncode == 2 and "--recursive" in proc.err


def test_downloads_and_save_with_filters(oio):
    write_tree(oio.cwd / "src", TREE)
    oio.ok("object", "create", "c", "src", "--recursive")
    oio.ok("container", "save", "c", "-D", "out1", "--include", "photos/**", "--exclude", "*")
    assert sorted(read_tree(oio.cwd / "out1")) == [
        "photos/2024/c.jpg",
        "photos/2024/d.JPG",
        "photos/raw/e.raw",
    ]
    oio.ok("object", "fetch", "c", "--prefix", "photos/", "-D", "out2", "--max-size", "35")
    assert sorted(read_tree(oio.cwd / "out2")) == ["photos/2024/c.jpg"]
    # ages: every object was just written
    row = oio.summary("container", "save", "c", "-D", "out3", "--min-age", "1h")
    assert row["Files"] == 0 and not read_tree(oio.cwd / "out3")
    row = oio.summary("container", "save", "c", "-D", "out4", "--max-age", "1h")
    assert row["Files"] == len(TREE)


def test_sync_leaves_filtered_names_alone(oio):
    write_tree(oio.cwd / "src", TREE)
    oio.ok("container", "sync", "src", "c")
    # locally: a change and a removal, both filtered out; one change not filtered
    (oio.cwd / "src" / "a.txt").write_bytes(b"changed")
    os.unlink(oio.cwd / "src" / "logs" / "old.log")
    (oio.cwd / "src" / "b.jpg").write_bytes(b"new jpg")
    plan = oio.json(
        "container", "sync", "src", "c", "--delete", "--dry-run",
        "--exclude", "*.txt", "--exclude", "logs/",
    )  # fmt: skip
    assert [(r["Action"], r["Name"]) for r in plan] == [("upload", "b.jpg")]
    row = oio.summary(
        "container", "sync", "src", "c", "--delete", "--exclude", "*.txt", "--exclude", "logs/"
    )
    assert (row["Files"], row["Deleted"]) == (1, 0)
    assert "logs/old.log" in oio.names("c")  # excluded: not deleted
    api = oio.api()
    assert api.object_get_properties("acct", "c", "a.txt")["size"] == 10  # not uploaded


def test_repeated_recursive_upload_skips_what_is_already_there(oio):
    write_tree(oio.cwd / "src", TREE)
    first = oio.summary("object", "create", "c", "src", "--recursive")
    assert (first["Files"], first["Skipped"]) == (len(TREE), 0)
    versions = {r["Name"]: r["Version"] for r in oio.json("object", "list", "c")}
    (oio.cwd / "src" / "a.txt").write_bytes(b"a" * 11)  # one file changed (size)
    (oio.cwd / "src" / "b.jpg").write_bytes(b"B" * 2000)  # one changed, same size (MD5)
    proc = oio.run("object", "create", "c", "src", "--recursive", "-f", "json")
    assert proc.returncode == 0, proc.err
    import json

    (row,) = json.loads(proc.out)
    assert (row["Files"], row["Skipped"], row["Bytes"]) == (2, len(TREE) - 2, 2011)
    assert f"{len(TREE) - 2} file(s) skipped: already in container 'c'" in proc.err
    after = {r["Name"]: r["Version"] for r in oio.json("object", "list", "c")}
    assert [n for n in after if after[n] != versions[n]] == ["a.txt", "b.jpg"]
    # the progress counts a skipped file as one of the planned files, done
    proc = oio.run("object", "create", "c", "src", "--recursive", "--progress", "log")
    last = proc.err.strip().splitlines()[-1]
    assert f"upload done: {len(TREE)}/{len(TREE)} files" in last, proc.err
    assert f"{len(TREE)} skipped" in last
    # --overwrite sends everything again
    row = oio.summary("object", "create", "c", "src", "--recursive", "--overwrite")
    assert (row["Files"], row["Skipped"]) == (len(TREE), 0)


def test_ctrl_c_of_a_tree_upload_then_resume_skips_finished_files(oio):
    oio.api(chunk_size=MiB)
    files = {f"f{i:02d}.bin": os.urandom(3 * MiB) for i in range(24)}
    write_tree(oio.cwd / "src", files)
    args = ("object", "create", "c", "src", "--recursive", "--concurrency", "2")

    api = oio.api()

    def some_done() -> bool:
        try:
            return len(api.object_list("acct", "c").get("objects") or []) >= 4
        except NoSuchContainer:
            return False

    code, text = ctrl_c_on_tty(oio, args, some_done)
    assert code == 130, text
    assert "files done" in text and "To resume, run:" in text
    assert f"{' '.join(args)} --resume" in text
    done = len(oio.names("c"))
    assert 4 <= done < len(files)
    row = oio.summary(*args, "--resume")
    assert row["Skipped"] >= done and row["Files"] + row["Skipped"] == len(files)
    assert row["Failed"] == 0
    got = oio.api()
    for name, data in files.items():
        assert got.object_get_properties("acct", "c", name)["size"] == len(data)
