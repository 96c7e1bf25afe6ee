"""`oio account ...` end to end."""

from __future__ import annotations

import json


def test_create_show(oio):
    assert oio.json("account", "create", "acc2") == [{"Name": "acc2", "Created": True}]
    assert oio.json("account", "create", "acc2") == [{"Name": "acc2", "Created": False}]
    show = oio.json("account", "show", "acc2")
    assert {"account", "bytes", "containers", "objects", "ctime", "mtime", "metadata"} <= set(show)
    assert show["account"] == "acc2"
    assert (show["bytes"], show["containers"], show["objects"]) == (0, 0, 0)
    assert show["metadata"] == {}
    assert "| bytes      | 0B" in oio.ok("account", "show", "acc2", "--human").out
    oio.fails(3, "account", "show", "nope")


def test_set_unset(oio):
    oio.ok("account", "create", "acc2")
    oio.ok("account", "set", "acc2", "-p", "test=1", "-p", "other=x")
    assert oio.json("account", "show", "acc2")["metadata"] == {"test": "1", "other": "x"}
    oio.ok("account", "unset", "acc2", "-p", "other")
    assert oio.json("account", "show", "acc2")["metadata"] == {"test": "1"}
    oio.fails(2, "account", "set", "acc2")
    oio.fails(2, "account", "unset", "acc2")
    oio.fails(2, "account", "set", "acc2", "-p", "novalue")
    oio.fails(3, "account", "set", "nope", "-p", "a=1")


def test_list(oio):
    oio.ok("account", "create", "a1", "a2", "b1")
    assert [r["Name"] for r in oio.json("account", "list")] == ["a1", "a2", "b1"]
    assert [r["Name"] for r in oio.json("account", "list", "--prefix", "a")] == ["a1", "a2"]
    assert [r["Name"] for r in oio.json("account", "list", "--limit", "1")] == ["a1"]
    assert [r["Name"] for r in oio.json("account", "list", "--marker", "a1")] == ["a2", "b1"]
    oio.ok("object", "create", "c", "-", "--name", "o", "-a", "a1", input=b"12345")
    rows = {r["Name"]: r for r in oio.json("account", "list", "--long")}
    assert set(rows["a1"]) == {
        "Name",
        "Containers",
        "Objects",
        "Bytes",
        "Ctime",
        "Mtime",
        "Metadata",
    }
    assert (rows["a1"]["Containers"], rows["a1"]["Objects"], rows["a1"]["Bytes"]) == (1, 1, 5)


def test_delete(oio):
    oio.ok("account", "create", "empty", "busy")
    oio.ok("container", "create", "c", "-a", "busy")
    proc = oio.run("account", "delete", "empty", "busy", "nope", "-f", "json")
    assert proc.returncode == 8
    assert json.loads(proc.stdout) == [
        {"Name": "empty", "Deleted": True},
        {"Name": "busy", "Deleted": False},
        {"Name": "nope", "Deleted": False},
    ]
    assert [r["Name"] for r in oio.json("account", "list")] == ["busy"]
    oio.fails(3, "account", "delete", "nope")


def test_refresh_and_counters(oio):
    oio.ok("object", "create", "c1", "-", "--name", "o", input=b"12345")
    oio.ok("object", "create", "c2", "-", "--name", "o", input=b"123")
    oio.ok("account", "refresh", "acct")
    show = oio.json("account", "show", "acct")
    assert (show["containers"], show["objects"], show["bytes"]) == (2, 2, 8)
    oio.ok("account", "refresh", "--all")
    assert oio.json("account", "show", "acct")["bytes"] == 8
    oio.fails(2, "account", "refresh")
    oio.fails(2, "account", "refresh", "acct", "--all")


def test_flush(oio):
    oio.ok("object", "create", "c1", "-", "--name", "o", input=b"12345")
    rows = oio.json("account", "flush", "acct", "--dry-run")
    assert [(r["Name"], r["Bytes"], r["Action"]) for r in rows] == [("c1", 5, "would reset")]
    assert oio.json("account", "show", "acct")["bytes"] == 5
    oio.ok("account", "flush", "acct")
    show = oio.json("account", "show", "acct")
    assert (show["objects"], show["bytes"]) == (0, 0)
    assert oio.names("c1") == ["o"]  # the data stays
    oio.ok("container", "touch", "c1", "--recompute")  # counters come back from the objects
    oio.ok("account", "refresh", "acct")
    assert oio.json("account", "show", "acct")["bytes"] == 5
    oio.fails(3, "account", "flush", "nope")
