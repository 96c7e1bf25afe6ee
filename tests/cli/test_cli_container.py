"""`oio container ...` end to end."""

from __future__ import annotations

import hashlib
import json
import os


def cid(account: str, container: str) -> str:
    return hashlib.sha256(f"{account}\0{container}".encode()).hexdigest().upper()


def test_create_twice(oio):
    assert oio.json("container", "create", "photos") == [{"Name": "photos", "Created": True}]
    assert oio.json("container", "create", "photos") == [{"Name": "photos", "Created": False}]
    value = oio.ok("container", "create", "other", "-f", "value", "-c", "Name").out
    assert value.strip() == "other"


def test_create_many_with_options(oio):
    rows = oio.json(
        "container",
        "create",
        "a",
        "b",
        "--property",
        "k=v",
        "--storage-policy",
        "TWOCOPIES",
        "--max-versions",
        "3",
    )
    assert rows == [{"Name": "a", "Created": True}, {"Name": "b", "Created": True}]
    for name in ("a", "b"):
        show = oio.json("container", "show", name)
        assert show["meta.k"] == "v"
        assert show["storage_policy"] == "TWOCOPIES"
        assert show["max_versions"] == 3
    oio.ok("object", "create", "a", "-", "--name", "o", input=b"x")
    assert len(oio.json("object", "locate", "a", "o")) == 2


def test_create_partial_failure(oio):
    proc = oio.run("container", "create", "good", "x" * 2000, "-f", "json")
    assert proc.returncode == 8
    rows = json.loads(proc.stdout)
    assert [r["Created"] for r in rows] == [True, False]
    assert [r["Name"] for r in oio.json("container", "list")] == ["good"]


def test_show_and_cid(oio):
    oio.ok("container", "create", "photos")
    show = oio.json("container", "show", "photos")
    assert {
        "account",
        "base_name",
        "bytes_usage",
        "cid",
        "container",
        "ctime",
        "max_versions",
        "objects",
        "status",
        "storage_policy",
    } <= set(show)
    assert show["account"] == "acct" and show["container"] == "photos"
    assert show["cid"] == cid("acct", "photos")
    assert show["base_name"].startswith(show["cid"] + ".")
    assert (show["objects"], show["bytes_usage"], show["status"]) == (0, 0, "Enabled")
    assert show["storage_policy"] is None  # "Namespace default" in a table only
    by_cid = oio.json("container", "show", "--cid", show["cid"])
    assert by_cid["container"] == "photos"
    table = oio.ok("container", "show", "photos", "--human").out
    assert "| bytes_usage    | 0B" in table


def test_list(oio):
    oio.ok("container", "create", "photos", "videos", "x/1", "x/2")
    oio.ok("object", "create", "photos", "-", "--name", "o", input=b"12345")
    rows = oio.json("container", "list")
    assert [r["Name"] for r in rows] == ["photos", "videos", "x/1", "x/2"]
    photos = rows[0]
    assert set(photos) == {"Name", "Count", "Bytes", "Mtime", "CID"}
    assert (photos["Count"], photos["Bytes"]) == (1, 5)
    assert photos["CID"] == cid("acct", "photos")
    names = [r["Name"] for r in oio.json("container", "list", "--limit", "1")]
    assert names == ["photos"]
    names = [r["Name"] for r in oio.json("container", "list", "--marker", "photos")]
    assert names == ["videos", "x/1", "x/2"]
    names = [r["Name"] for r in oio.json("container", "list", "--prefix", "x/")]
    assert names == ["x/1", "x/2"]
    names = [r["Name"] for r in oio.json("container", "list", "--page-size", "1")]
    assert names == ["photos", "videos", "x/1", "x/2"]
    names = [r["Name"] for r in oio.json("container", "list", "--delimiter", "/")]
    assert names == ["photos", "videos", "x/"]
    oio.fails(3, "container", "list", "-a", "nobody")


def test_set_unset(oio):
    oio.ok("container", "create", "c", "-p", "a=1")
    oio.ok("container", "set", "c", "-p", "b=2")
    show = oio.json("container", "show", "c")
    assert (show["meta.a"], show["meta.b"]) == ("1", "2")
    oio.ok("container", "set", "c", "--clear", "-p", "d=4")
    show = oio.json("container", "show", "c")
    assert [k for k in show if k.startswith("meta.")] == ["meta.d"]
    oio.ok("container", "set", "c", "--storage-policy", "EC", "--max-versions", "2")
    show = oio.json("container", "show", "c")
    assert (show["storage_policy"], show["max_versions"]) == ("EC", 2)
    oio.ok("container", "unset", "c", "-p", "d", "--storage-policy", "--max-versions")
    show = oio.json("container", "show", "c")
    assert not [k for k in show if k.startswith("meta.")]
    assert show["storage_policy"] is show["max_versions"] is None
    oio.fails(2, "container", "set", "c")
    oio.fails(2, "container", "unset", "c")
    oio.fails(3, "container", "set", "nope", "-p", "a=1")


def test_status_frozen_blocks_uploads(oio):
    oio.ok("container", "create", "c")
    oio.ok("container", "set", "c", "--status", "frozen")
    assert oio.json("container", "show", "c")["status"] == "Frozen"
    proc = oio.run("object", "create", "c", "-", "--name", "o", input=b"x")
    assert proc.returncode == 5 and "frozen" in proc.err
    oio.ok("container", "set", "c", "--status", "enabled")
    assert oio.json("container", "show", "c")["status"] == "Enabled"
    oio.ok("object", "create", "c", "-", "--name", "o", input=b"x")
    assert oio.names("c") == ["o"]


def test_delete(oio):
    oio.ok("container", "create", "a", "b", "full")
    oio.ok("object", "create", "full", "-", "--name", "o", input=b"x")
    proc = oio.run("container", "delete", "a", "full", "missing", "-f", "json")
    assert proc.returncode == 8
    assert json.loads(proc.stdout) == [
        {"Name": "a", "Deleted": True},
        {"Name": "full", "Deleted": False},
        {"Name": "missing", "Deleted": False},
    ]
    assert len(proc.err.strip().splitlines()) == 2
    assert [r["Name"] for r in oio.json("container", "list")] == ["b", "full"]
    oio.fails(3, "container", "delete", "missing")


def test_touch_refresh_locate(oio):
    oio.ok("object", "create", "c", "-", "--name", "o", input=b"abc")
    before = oio.ok("object", "fetch", "c", "o").stdout
    assert oio.json("container", "touch", "c") == [{"Name": "c", "Touched": True}]
    oio.ok("container", "touch", "c", "--recompute")
    oio.ok("container", "refresh", "c")
    (row,) = oio.json("container", "list")
    assert (row["Count"], row["Bytes"]) == (1, 3)
    loc = oio.json("container", "locate", "c")
    assert loc["cid"] == cid("acct", "c") and os.path.exists(loc["path"])
    assert oio.ok("object", "fetch", "c", "o").stdout == before
    proc = oio.run("container", "touch", "c", "nope")
    assert proc.returncode == 8
    oio.fails(3, "container", "refresh", "nope")
    oio.fails(3, "container", "locate", "nope")


def test_snapshot(oio):
    data = os.urandom(3000)
    oio.ok("object", "create", "photos", "-", "--name", "o", input=data)
    rows = oio.json("container", "snapshot", "photos", "--dst-container", "snap")
    assert rows == [{"Account": "acct", "Container": "snap", "Status": "Ok"}]
    assert oio.names("snap") == oio.names("photos")
    src = {r["Id"] for r in oio.json("object", "locate", "photos", "o")}
    dst = {r["Id"] for r in oio.json("object", "locate", "snap", "o")}
    assert not src & dst
    oio.ok("object", "delete", "photos", "o")
    assert oio.ok("object", "fetch", "snap", "o").stdout == data
    proc = oio.run("object", "create", "snap", "-", "--name", "new", input=b"x")
    assert proc.returncode == 5  # the snapshot is frozen
    oio.fails(1, "container", "snapshot", "photos", "--dst-container", "snap")
    oio.fails(3, "container", "snapshot", "nope", "--dst-container", "snap2")
    rows = oio.json("container", "snapshot", "photos", "--dst-account", "other")
    assert rows[0]["Account"] == "other" and rows[0]["Container"].startswith("photos-")
    assert oio.json("container", "list", "-a", "other")[0]["Name"] == rows[0]["Container"]


def test_purge(oio):
    oio.ok("container", "create", "vers", "--max-versions", "-1")
    for i in range(3):
        for name in ("a", "b"):
            oio.ok("object", "create", "vers", "-", "--name", name, input=f"{i}".encode())
    rows = oio.json("container", "purge", "vers", "--max-versions", "1", "--dry-run")
    assert sorted((r["Name"], r["Action"]) for r in rows) == [
        ("a", "would purge"),
        ("a", "would purge"),
        ("b", "would purge"),
        ("b", "would purge"),
    ]
    assert len(oio.json("object", "list", "vers", "--versions")) == 6
    assert oio.ok("container", "purge", "vers", "--max-versions", "1", "-f", "value").out == ""
    rows = oio.json("object", "list", "vers", "--versions")
    assert [(r["Name"]) for r in rows] == ["a", "b"]
    assert oio.ok("object", "fetch", "vers", "a").stdout == b"2"


def test_flush(oio):
    for name in ("a", "b", "c"):
        oio.ok("object", "create", "photos", "-", "--name", name, input=b"xyz")
    rows = oio.json("container", "flush", "photos", "--dry-run")
    assert [(r["Name"], r["Size"], r["Action"]) for r in rows] == [
        ("a", 3, "would delete"),
        ("b", 3, "would delete"),
        ("c", 3, "would delete"),
    ]
    assert oio.names("photos") == ["a", "b", "c"]
    oio.ok("container", "flush", "photos")
    assert oio.ok("object", "list", "photos", "-f", "value").out == ""
    show = oio.json("container", "show", "photos")
    assert (show["objects"], show["bytes_usage"]) == (0, 0)
    oio.ok("object", "create", "photos", "-", "--name", "d", input=b"x")
    oio.ok("container", "flush", "photos", "--quickly")
    assert oio.names("photos") == []
    oio.fails(3, "container", "flush", "nope")


def _versions(oio, container):
    return {(r["Name"], r["Version"]) for r in oio.json("object", "list", container, "--versions")}


def test_purge_dry_run_lists_what_purge_deletes(oio):
    """The plan is the purge's own rule: delete markers neither count nor go (unless
    --max-versions -1, which removes only them), and 0 still keeps one version."""
    for keep, expected in (("1", 2), ("0", 2), ("-1", 1), ("2", 1)):
        name = f"vers{keep}"
        oio.ok("container", "create", name, "--max-versions", "-1")
        for i in range(3):
            oio.ok("object", "create", name, "-", "--name", "a", input=f"{i}".encode())
        oio.ok("object", "delete", name, "a")  # the newest entry: a delete marker
        oio.ok("object", "create", name, "-", "--name", "b", input=b"only")
        plan = oio.json("container", "purge", name, "--max-versions", keep, "--dry-run")
        before = _versions(oio, name)
        oio.ok("container", "purge", name, "--max-versions", keep)
        removed = before - _versions(oio, name)
        assert {(r["Name"], r["Version"]) for r in plan} == removed, keep
        assert len(plan) == expected, keep


def test_flush_dry_run_lists_every_version(oio):
    oio.ok("container", "create", "vers", "--max-versions", "-1")
    for i in range(2):
        oio.ok("object", "create", "vers", "-", "--name", "a", input=f"{i}".encode())
    oio.ok("object", "create", "vers", "-", "--name", "b", input=b"b")
    plan = oio.json("container", "flush", "vers", "--dry-run")
    assert {(r["Name"], r["Version"]) for r in plan} == _versions(oio, "vers")
    assert len(plan) == 3
    oio.ok("container", "flush", "vers")
    assert _versions(oio, "vers") == set()


def test_save(oio):
    files = {"a": b"1", "dir/b": b"22", "dir/sub/c": os.urandom(5000)}
    for name, data in files.items():
        oio.ok("object", "create", "c", "-", "--name", name, input=data)
    (row,) = oio.json("container", "save", "c", "-D", "out")
    assert (row["Files"], row["Bytes"], row["Failed"]) == (3, 5003, 0)
    for name, data in files.items():
        assert (oio.cwd / "out" / name).read_bytes() == data
    (row,) = oio.json("container", "save", "c", "--prefix", "dir/", "-D", "only")
    assert row["Files"] == 2
    assert sorted(p.name for p in (oio.cwd / "only").rglob("*") if p.is_file()) == ["b", "c"]
    oio.fails(3, "container", "save", "nope")
