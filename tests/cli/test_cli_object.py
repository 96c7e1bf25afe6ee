"""`oio object ...` end to end: the real CLI in a subprocess, effects checked by other commands."""

from __future__ import annotations

import hashlib
import os

import pytest

HELLO_MD5 = "5D41402ABC4B2A76B9719D911017C592"


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest().upper()


def test_create_two_files_then_list(oio):
    a = os.urandom(1000)
    b = os.urandom(3000)
    oio.file("a.bin", a)
    oio.file("b.bin", b)
    rows = oio.json("object", "create", "photos", "a.bin", "b.bin")
    assert rows == [
        {"Name": "a.bin", "Size": 1000, "Hash": md5(a), "Status": "Ok"},
        {"Name": "b.bin", "Size": 3000, "Hash": md5(b), "Status": "Ok"},
    ]
    listing = oio.json("object", "list", "photos")
    assert [(r["Name"], r["Size"], r["Hash"]) for r in listing] == [
        ("a.bin", 1000, md5(a)),
        ("b.bin", 3000, md5(b)),
    ]
    assert all(isinstance(r["Version"], int) for r in listing)


def test_create_from_stdin_needs_name(oio):
    rows = oio.json("object", "create", "photos", "-", "--name", "hello.txt", input=b"hello")
    assert rows == [{"Name": "hello.txt", "Size": 5, "Hash": HELLO_MD5, "Status": "Ok"}]
    assert oio.ok("object", "fetch", "photos", "hello.txt").stdout == b"hello"
    oio.fails(2, "object", "create", "photos", "-", input=b"hello")
    assert oio.names("photos") == ["hello.txt"]


def test_create_names_must_match_files(oio):
    oio.file("a.bin", b"a")
    proc = oio.fails(2, "object", "create", "photos", "a.bin", "--name", "x", "--name", "y")
    assert "--name" in proc.err
    oio.fails(3, "container", "show", "photos")  # nothing created, not even the container


def test_create_missing_file_fails_and_creates_nothing(oio):
    oio.ok("container", "create", "photos")
    proc = oio.run("object", "create", "photos", "nonexistent", "-f", "json")
    assert proc.returncode == 1
    assert "nonexistent" in proc.err and len(proc.err.strip().splitlines()) == 1
    assert '"Failed"' in proc.out
    assert oio.names("photos") == []


def test_create_partial_failure_exits_8(oio):
    oio.file("a.bin", b"a")
    proc = oio.run("object", "create", "photos", "a.bin", "nonexistent", "-f", "json")
    assert proc.returncode == 8
    assert [r["Status"] for r in __import__("json").loads(proc.stdout)] == ["Ok", "Failed"]
    assert oio.names("photos") == ["a.bin"]


def test_create_same_base_name_twice(oio):
    oio.file("one/f", b"first")
    oio.file("two/f", b"second")
    rows = oio.json("object", "create", "c", "one/f", "two/f", "--name", "1", "--name", "2")
    assert [(r["Name"], r["Size"]) for r in rows] == [("1", 5), ("2", 6)]
    assert oio.ok("object", "fetch", "c", "2").stdout == b"second"


def test_create_no_autocreate(oio):
    oio.file("f", b"data")
    proc = oio.run("object", "create", "newct", "f", "--no-autocreate")
    assert proc.returncode == 3, proc.err
    oio.fails(3, "container", "show", "newct")


def test_create_mime_type_guessed_or_given(oio):
    oio.file("page.html", b"<html/>")
    oio.file("data", b"x")
    oio.ok("object", "create", "c", "page.html")
    oio.ok("object", "create", "c", "data", "--mime-type", "text/custom")
    assert oio.json("object", "show", "c", "page.html")["mime-type"] == "text/html"
    assert oio.json("object", "show", "c", "data")["mime-type"] == "text/custom"


def test_create_properties_policy_and_etag(oio):
    data = b"some data"
    oio.file("f", data)
    oio.ok("object", "create", "c", "f", "--policy", "TWOCOPIES", "-p", "a=1", "--etag", md5(data))
    show = oio.json("object", "show", "c", "f")
    assert show["policy"] == "TWOCOPIES"
    assert show["meta.a"] == "1"
    assert len(oio.json("object", "locate", "c", "f")) == 2
    proc = oio.run("object", "create", "c", "f", "--name", "g", "--etag", "0" * 32)
    assert proc.returncode == 1, proc.err
    assert "g" not in oio.names("c")


def test_create_unknown_policy(oio):
    oio.file("f", b"x")
    proc = oio.run("object", "create", "c", "f", "--policy", "NOPE")
    assert proc.returncode == 1
    assert "NOPE" in proc.err and "Traceback" not in proc.err
    # Refused before anything is made: not even the container is autocreated.
    assert oio.run("container", "show", "c").returncode == 3


def test_create_append(oio):
    oio.ok("object", "create", "c", "-", "--name", "log", input=b"one,")
    oio.ok("object", "create", "c", "-", "--name", "log", "--append", input=b"two")
    assert oio.ok("object", "fetch", "c", "log").stdout == b"one,two"


def test_create_recursive(oio):
    oio.file("tree/a.txt", b"a")
    oio.file("tree/sub/b.txt", b"bb")
    (row,) = oio.json("object", "create", "c", "tree", "--recursive")
    assert (row["Files"], row["Bytes"], row["Failed"]) == (2, 3, 0)
    assert oio.names("c") == ["a.txt", "sub/b.txt"]
    oio.json("object", "create", "c", "tree", "--recursive", "--name", "pre")
    assert oio.names("c", "--prefix", "pre/") == ["pre/a.txt", "pre/sub/b.txt"]
    proc = oio.run("object", "create", "c", "tree")  # a directory without --recursive
    assert proc.returncode == 1 and "--recursive" in proc.err


def test_fetch_ranges(small_chunks):
    oio = small_chunks
    data = os.urandom(300_000)  # 5 metachunks of 64 KiB
    oio.file("big", data)
    for policy in ("SINGLE", "EC"):
        oio.ok("object", "create", "c", "big", "--name", policy, "--policy", policy)
        for spec, expected in [
            ("0-666", data[:667]),
            ("666-", data[666:]),
            ("65535-65537", data[65535:65538]),
            ("1000-2000", data[1000:2001]),
            (f"{len(data) - 1}-", data[-1:]),
            ("-100", data[-100:]),
            (f"0-{len(data) + 50}", data),
        ]:
            out = oio.ok("object", "fetch", "c", policy, f"--range={spec}").stdout
            assert out == expected, (policy, spec)
        out = oio.ok("object", "fetch", "c", policy, "--range", "10-19,0-4").stdout
        assert out == data[10:20] + data[:5]


def test_fetch_bad_ranges_write_nothing(oio):
    oio.ok("object", "create", "c", "-", "--name", "o", input=b"0123456789")
    out = oio.cwd / "out"
    proc = oio.fails(2, "object", "fetch", "c", "o", "--range", "9-2", "--file", str(out))
    assert "9-2" in proc.err
    oio.fails(1, "object", "fetch", "c", "o", "--range", "100-", "--file", str(out))
    assert not out.exists()
    assert proc.stdout == b""
    oio.fails(2, "object", "fetch", "c", "o", "--range", "abc")


def test_fetch_to_file_and_missing(oio):
    data = os.urandom(5000)
    oio.ok("object", "create", "c", "-", "--name", "o", input=data)
    oio.ok("object", "fetch", "c", "o", "--file", "sub/out.bin")
    assert (oio.cwd / "sub/out.bin").read_bytes() == data
    proc = oio.fails(4, "object", "fetch", "c", "nope")
    assert "'nope'" in proc.err and "'c'" in proc.err
    oio.fails(3, "object", "fetch", "nocontainer", "o")


def test_save(oio):
    data = os.urandom(2000)
    oio.ok("object", "create", "c", "-", "--name", "dir/sub/x", input=data)
    proc = oio.ok("object", "save", "c", "dir/sub/x")
    assert proc.stdout == b""
    assert (oio.cwd / "dir/sub/x").read_bytes() == data
    oio.ok("object", "save", "c", "dir/sub/x", "--file", "out.bin")
    assert (oio.cwd / "out.bin").read_bytes() == data
    oio.ok("object", "create", "c", "-", "--name", "../escape", input=b"x")
    oio.fails(1, "object", "save", "c", "../escape")
    assert not (oio.root / "escape").exists()


def test_show(oio):
    oio.ok("object", "create", "c", "-", "--name", "hello", "--policy", "EC", input=b"hello")
    show = oio.json("object", "show", "c", "hello")
    expected_keys = {
        "account",
        "container",
        "object",
        "id",
        "version",
        "mime-type",
        "size",
        "hash",
        "ctime",
        "mtime",
        "policy",
        "chunk_method",
    }
    assert expected_keys <= set(show)
    assert show["account"] == "acct" and show["container"] == "c" and show["object"] == "hello"
    assert show["size"] == 5 and show["hash"] == HELLO_MD5
    assert show["policy"] == "EC" and show["chunk_method"].startswith("ec/")
    assert "k=6" in show["chunk_method"] and show["mime-type"] == "application/octet-stream"
    assert isinstance(show["version"], int) and isinstance(show["mtime"], float)
    value = oio.ok("object", "show", "c", "hello", "-f", "value", "-c", "size").out
    assert value.strip() == "5"
    table = oio.ok("object", "show", "c", "hello", "--human").out
    assert "5B" in table


def test_set_unset_properties(oio):
    oio.ok("object", "create", "c", "-", "--name", "o", input=b"x")
    oio.ok("object", "set", "c", "o", "--property", "a=1", "--property", "b=2")
    oio.ok("object", "set", "c", "o", "--property", "c=3")
    show = oio.json("object", "show", "c", "o")
    assert {k: v for k, v in show.items() if k.startswith("meta.")} == {
        "meta.a": "1",
        "meta.b": "2",
        "meta.c": "3",
    }
    oio.ok("object", "set", "c", "o", "--clear", "--property", "d=4")
    show = oio.json("object", "show", "c", "o")
    assert {k: v for k, v in show.items() if k.startswith("meta.")} == {"meta.d": "4"}
    oio.ok("object", "unset", "c", "o", "--property", "d")
    assert not [k for k in oio.json("object", "show", "c", "o") if k.startswith("meta.")]
    oio.fails(2, "object", "set", "c", "o")
    oio.fails(2, "object", "unset", "c", "o")
    oio.fails(2, "object", "set", "c", "o", "--property", "novalue")


def _many(oio, container, count):
    names = [f"o{i:04d}" for i in range(count)]
    for name in names:
        oio.file(f"many/{name}", b"")
    oio.ok("object", "create", container, "many", "--recursive")
    return names


def test_list_paging_prefix_marker_limit(oio):
    names = _many(oio, "c", 25)
    assert oio.names("c", "--page-size", "4") == names  # 7 requests
    assert oio.names("c", "--limit", "2") == names[:2]
    assert oio.names("c", "--limit", "10", "--page-size", "3") == names[:10]
    assert oio.names("c", "--marker", names[1], "--limit", "3") == names[2:5]
    assert oio.names("c", "--prefix", "o001", "--page-size", "2") == names[10:20]
    assert oio.names("c", "--end-marker", "o0003") == names[:3]
    value = oio.ok("object", "list", "c", "-f", "value", "-c", "Name", "--limit", "3").out
    assert value.splitlines() == names[:3]
    csv = oio.ok("object", "list", "c", "-f", "csv", "--limit", "1").out.splitlines()
    assert csv[0] == '"Name","Size","Hash","Version"'


def test_list_versions_pages_keep_every_version(oio):
    """`--page-size` smaller than an object's versions loses none; `--limit` is rows."""
    oio.ok("container", "create", "v")
    oio.ok("container", "set", "v", "--max-versions", "-1")
    for name in ("a", "b", "c"):
        for i in range(3):
            oio.ok("object", "create", "v", "-", "--name", name, input=f"{name}{i}".encode())

    def listed(*args):
        rows = oio.json("object", "list", "v", "--versions", *args)
        return [(r["Name"], r["Version"]) for r in rows]

    everything = listed()
    assert [name for name, _v in everything] == ["a"] * 3 + ["b"] * 3 + ["c"] * 3
    for size in ("1", "2", "4"):
        assert listed("--page-size", size) == everything
    assert listed("--limit", "2") == everything[:2]
    assert listed("--limit", "4", "--page-size", "2") == everything[:4]


@pytest.mark.slow
def test_list_pages_past_the_backend_page(oio):
    names = _many(oio, "c", 1205)
    assert oio.names("c") == names
    assert oio.names("c", "--limit", "1100")[-1] == names[1099]
    (row,) = oio.json("container", "save", "c", "-D", "out")
    assert row["Files"] == len(names)


def test_list_delimiter_prints_prefixes(oio):
    for name in ("1/a", "1/b", "2/c", "a"):
        oio.ok("object", "create", "c", "-", "--name", name, input=b"x")
    rows = oio.json("object", "list", "c", "--delimiter", "/")
    assert [(r["Name"], r["Size"]) for r in rows] == [("1/", None), ("2/", None), ("a", 1)]
    rows = oio.json("object", "list", "c", "--delimiter", "/", "--page-size", "1")
    assert [r["Name"] for r in rows] == ["1/", "2/", "a"]


def test_list_long(oio):
    oio.ok("object", "create", "c", "-", "--name", "o", "-p", "k=v", input=b"xyz")
    (row,) = oio.json("object", "list", "c", "--long")
    assert set(row) == {
        "Name",
        "Size",
        "Hash",
        "Version",
        "Deleted",
        "Content-Type",
        "Last-Modified",
        "Policy",
        "Properties",
    }
    assert row["Properties"] == {"k": "v"} and row["Deleted"] is False
    assert row["Policy"] == "SINGLE"
    yaml_out = oio.ok("object", "list", "c", "--long", "-f", "yaml").out
    assert "k: v" in yaml_out


def test_versions_and_delete_markers(oio):
    oio.json("container", "create", "vers", "--max-versions", "-1")
    for i in range(3):
        oio.ok("object", "create", "vers", "-", "--name", "doc", input=f"v{i}".encode())
    rows = oio.json("object", "list", "vers", "--versions")
    versions = [r["Version"] for r in rows]
    assert len(rows) == 3 and versions == sorted(versions, reverse=True)
    assert oio.ok("object", "fetch", "vers", "doc").stdout == b"v2"
    assert oio.json("object", "delete", "vers", "doc") == [{"Name": "doc", "Deleted": True}]
    oio.fails(4, "object", "fetch", "vers", "doc")
    rows = oio.json("object", "list", "vers", "--versions")
    assert len(rows) == 4 and rows[0]["Size"] is None
    marker = rows[0]["Version"]
    assert marker > versions[0]
    assert oio.names("vers") == []
    oio.fails(1, "container", "delete", "vers")
    oio.ok("object", "delete", "vers", "doc", "--object-version", str(marker))
    assert oio.ok("object", "fetch", "vers", "doc").stdout == b"v2"
    old = oio.ok("object", "fetch", "vers", "doc", "--object-version", str(versions[2]))
    assert old.stdout == b"v0"


def test_max_versions_zero_and_one(oio):
    oio.ok("container", "create", "nov", "--max-versions", "0")
    oio.ok("object", "create", "nov", "-", "--name", "o", input=b"a")
    proc = oio.run("object", "create", "nov", "-", "--name", "o", input=b"b")
    assert proc.returncode == 1, proc.err
    oio.ok("object", "create", "one", "-", "--name", "o", input=b"a")
    oio.ok("object", "create", "one", "-", "--name", "o", input=b"b")
    (row,) = oio.json("object", "list", "one", "--versions")
    assert row["Hash"] == md5(b"b")


def test_delete_many_reports_each_name(oio):
    for name in ("a", "b"):
        oio.ok("object", "create", "c", "-", "--name", name, input=b"x")
    proc = oio.run("object", "delete", "c", "a", "b", "missing", "-f", "json")
    assert proc.returncode == 8
    rows = __import__("json").loads(proc.stdout)
    assert rows == [
        {"Name": "a", "Deleted": True},
        {"Name": "b", "Deleted": True},
        {"Name": "missing", "Deleted": False},
    ]
    assert "missing" in proc.err
    assert oio.names("c") == []
    proc = oio.run("object", "delete", "c", "x", "y")
    assert proc.returncode == 4  # all failed the same way
    oio.fails(2, "object", "delete", "c", "x", "y", "--object-version", "1")


def test_delete_dry_run_changes_nothing(oio):
    oio.ok("object", "create", "c", "-", "--name", "a", input=b"xx")
    proc = oio.run("object", "delete", "c", "a", "missing", "--dry-run", "-f", "json")
    assert proc.returncode == 8
    rows = __import__("json").loads(proc.stdout)
    assert [(r["Name"], r["Action"]) for r in rows] == [
        ("a", "would delete"),
        ("missing", "not found"),
    ]
    assert oio.names("c") == ["a"]


def test_locate_replicated_and_ec(small_chunks):
    oio = small_chunks
    data = os.urandom(150_000)  # 3 metachunks of 64 KiB
    oio.file("f", data)
    oio.ok("object", "create", "c", "f", "--name", "three", "--policy", "THREECOPIES")
    rows = oio.json("object", "locate", "c", "three")
    assert sorted({r["Pos"] for r in rows}) == ["0", "1", "2"]
    for pos in range(3):
        replicas = [r for r in rows if r["Pos"] == str(pos)]
        assert len(replicas) == 3
        piece = data[pos * 65536 : (pos + 1) * 65536]
        assert {r["Metachunk hash"] for r in replicas} == {md5(piece)}
        assert {r["Metachunk size"] for r in replicas} == {len(piece)}
    # EC metachunks hold k=6 chunks of data: 900 000 bytes make 3 of them
    data = os.urandom(900_000)
    oio.file("f", data)
    oio.ok("object", "create", "c", "f", "--name", "ec", "--policy", "EC")
    rows = oio.json("object", "locate", "c", "ec")
    for meta in range(3):
        frags = [r for r in rows if r["Pos"].split(".")[0] == str(meta)]
        assert sorted(int(r["Pos"].split(".")[1]) for r in frags) == list(range(9))
        assert len({(r["Metachunk size"], r["Metachunk hash"]) for r in frags}) == 1
    assert sum({r["Pos"].split(".")[0]: r["Metachunk size"] for r in rows}.values()) == len(data)
    info = oio.json("object", "locate", "c", "ec", "--chunk-info")
    assert all(r["Chunk size"] < r["Metachunk size"] for r in info)


def test_touch_drain(oio):
    oio.ok("object", "create", "c", "-", "--name", "o", input=b"data")
    before = oio.json("object", "show", "c", "o")
    assert oio.json("object", "touch", "c", "o") == [{"Name": "o", "Touched": True}]
    assert oio.ok("object", "fetch", "c", "o").stdout == b"data"
    assert oio.json("object", "drain", "c", "o") == [{"Name": "o", "Drained": True}]
    after = oio.json("object", "show", "c", "o")
    assert after["chunk_method"] == "drained"
    assert (after["size"], after["hash"]) == (before["size"], before["hash"])
    proc = oio.fails(6, "object", "fetch", "c", "o")
    assert "'o'" in proc.err
    proc = oio.run("object", "drain", "c", "nope", "-f", "json")
    assert proc.returncode == 4


def test_truncate(small_chunks):
    oio = small_chunks
    data = os.urandom(200_000)
    oio.file("f", data)
    for policy in ("TWOCOPIES", "EC"):
        oio.ok("object", "create", "c", "f", "--name", policy, "--policy", policy)
        oio.ok("object", "truncate", "c", policy, "--size", "140001")
        assert oio.ok("object", "fetch", "c", policy).stdout == data[:140001]
        assert oio.json("object", "show", "c", policy)["size"] == 140001
        oio.fails(1, "object", "truncate", "c", policy, "--size", "140002")
        oio.fails(2, "object", "truncate", "c", policy, "--size", "-1")
        assert oio.ok("object", "fetch", "c", policy).stdout == data[:140001]


def test_link(oio):
    data = os.urandom(1000)
    oio.ok("object", "create", "c", "-", "--name", "big", "-p", "a=1", input=data)
    oio.ok("object", "link", "c", "big", "big2")
    src, dst = oio.json("object", "show", "c", "big"), oio.json("object", "show", "c", "big2")
    for key in ("size", "hash", "policy", "meta.a"):
        assert src[key] == dst[key]
    oio.ok("object", "delete", "c", "big")
    assert oio.ok("object", "fetch", "c", "big2").stdout == data
    oio.ok("object", "link", "c", "big2", "big3", "--dest-container", "other", "-p", "x=1")
    show = oio.json("object", "show", "other", "big3")
    assert [k for k in show if k.startswith("meta.")] == ["meta.x"]


def test_purge(oio):
    oio.ok("container", "create", "vers", "--max-versions", "-1")
    for i in range(4):
        oio.ok("object", "create", "vers", "-", "--name", "doc", input=f"v{i}".encode())
    oio.ok("object", "purge", "vers", "doc", "--max-versions", "2")
    rows = oio.json("object", "list", "vers", "--versions")
    assert len(rows) == 2
    assert oio.ok("object", "fetch", "vers", "doc").stdout == b"v3"


@pytest.mark.parametrize("fmt", ["table", "json", "csv", "value", "yaml"])
def test_every_format(oio, fmt):
    oio.ok("object", "create", "c", "-", "--name", "o", input=b"x")
    assert "o" in oio.ok("object", "list", "c", "-f", fmt).out
    assert "o" in oio.ok("object", "list", "c", "-f", fmt, "-c", "Name").out
    show_fmt = "shell" if fmt == "csv" else fmt
    assert "SINGLE" in oio.ok("object", "show", "c", "o", "-f", show_fmt).out
