"""Accounts and containers through OpenIO's client, as oiocli's sees them (and back)."""

from __future__ import annotations

import os

import pytest
from interop_helpers import OpenIOError, same_bytes


def test_account_lifecycle(openio, ours, account):
    created = openio.json("account", "create", account, account=account)
    assert created == [{"Name": account, "Created": True}]
    assert openio.json("account", "create", account, account=account)[0]["Created"] is False
    assert account in [r["Name"] for r in openio.json("account", "list", account=account)]
    openio.cli("account", "set", account, "--property", "test=1", account=account)
    shown = openio.json("account", "show", account, account=account)
    assert shown["metadata"] == {"test": "1"}
    assert (shown["bytes"], shown["containers"], shown["objects"]) == (0, 0, 0)
    assert ours.json("account", "show", account, account=account)["metadata"] == {"test": "1"}
    ours.cli("account", "set", account, "--property", "other=2", account=account)
    openio.cli("account", "unset", account, "--property", "test", account=account)
    assert openio.json("account", "show", account, account=account)["metadata"] == {"other": "2"}
    openio.cli("account", "refresh", account, account=account)
    openio.cli("account", "flush", account, account=account)
    openio.cli("account", "delete", account, account=account)
    openio.fails("account", "show", account, account=account)
    assert ours.run("account", "show", account, account=account).returncode == 3


def test_account_counters(openio, ours, account, work):
    src = work / "obj"
    src.write_bytes(os.urandom(12345))
    for container in ("c1", "c2"):
        openio.cli("object", "create", container, str(src), "--name", "o", account=account)
    openio.cli("account", "refresh", account, account=account)
    shown = openio.json("account", "show", account, account=account)
    assert (shown["containers"], shown["objects"], shown["bytes"]) == (2, 2, 2 * 12345)
    mine = ours.json("account", "show", account, account=account)
    assert (mine["containers"], mine["objects"], mine["bytes"]) == (2, 2, 2 * 12345)
    rows = openio.json("container", "list", account=account)
    assert {r["Name"]: (r["Count"], r["Bytes"]) for r in rows} == {
        "c1": (1, 12345),
        "c2": (1, 12345),
    }
    openio.fails("account", "delete", account, account=account)  # it has containers
    openio.cli("account", "flush", account, account=account)
    assert openio.json("account", "show", account, account=account)["objects"] == 0


def test_container_create_list_show(openio, ours, account):
    names = ["alpha", "beta", "delta", "gamma"]
    rows = openio.json("container", "create", *names, account=account)
    assert rows == [{"Name": n, "Created": True} for n in names]
    assert openio.json("container", "create", "alpha", account=account)[0]["Created"] is False

    def listed(*args: str) -> list[str]:
        return [r["Name"] for r in openio.json("container", "list", *args, account=account)]

    assert listed() == names
    assert listed("--prefix", "d") == ["delta"]
    assert listed("--limit", "2") == ["alpha", "beta"]
    assert listed("--marker", "beta") == ["delta", "gamma"]
    rows = openio.json("container", "list", account=account)
    for row in rows:
        assert len(row["CID"]) == 64
    theirs = openio.json("container", "show", "delta", account=account)
    assert theirs["container"] == "delta" and theirs["status"] == "Enabled"
    assert theirs["objects"] == "0" and theirs["damaged_objects"] == "0"
    by_cid = openio.json("container", "show", "--cid", rows[2]["CID"], account=account)
    assert by_cid["container"] == "delta"
    for via in ("proxy", "files"):
        mine = ours.cli("container", "list", "-f", "value", "-c", "Name", account=account, via=via)
        assert mine.split() == names
        assert ours.json("container", "show", "delta", account=account, via=via)["status"] in (
            "Enabled",
            "enabled",
        )
    openio.fails("container", "show", "missing", account=account)


def test_container_set_properties_and_policies(openio, ours, account, work):
    openio.cli("container", "create", "props", "--property", "a=1", account=account)
    openio.cli(
        "container",
        "set",
        "props",
        "--property",
        "b=2",
        "--max-versions",
        "3",
        "--storage-policy",
        "THREECOPIES",
        account=account,
    )
    shown = openio.json("container", "show", "props", account=account)
    assert shown["meta.a"] == "1" and shown["meta.b"] == "2"
    assert shown["max_versions"] == "3" and shown["storage_policy"] == "THREECOPIES"
    mine = ours.json("container", "show", "props", account=account)
    assert mine["meta.a"] == "1" and mine["meta.b"] == "2"
    src = work / "obj"
    src.write_bytes(b"policy")
    openio.cli("object", "create", "props", str(src), "--name", "o", account=account)
    assert openio.json("object", "show", "props", "o", account=account)["policy"] == "THREECOPIES"
    assert len(openio.json("object", "locate", "props", "o", account=account)) == 3
    openio.cli("container", "unset", "props", "--property", "a", account=account)
    shown = openio.json("container", "show", "props", account=account)
    assert "meta.a" not in shown and shown["meta.b"] == "2"
    ours.cli("container", "set", "props", "--property", "c=3", account=account)
    assert openio.json("container", "show", "props", account=account)["meta.c"] == "3"


def test_container_status_is_enforced(openio, ours, account, work):
    src = work / "obj"
    src.write_bytes(os.urandom(3000))
    openio.cli("object", "create", "st", str(src), "--name", "before", account=account)
    openio.cli("container", "set", "st", "--status", "frozen", account=account)
    assert openio.json("container", "show", "st", account=account)["status"] == "Frozen"
    assert ours.json("container", "show", "st", account=account, via="files")["status"] in (
        "Frozen",
        "frozen",
    )
    openio.fails("object", "create", "st", str(src), "--name", "after", account=account)
    with pytest.raises(OpenIOError) as excinfo:
        openio.api.call("object_create", account, "st", file_or_path=str(src), obj_name="api")
    assert (excinfo.value.http_status, excinfo.value.status) == (503, 436)
    for via in ("proxy", "files"):
        res = ours.run(
            "object", "create", "st", str(src), "--name", "ours", account=account, via=via
        )
        assert res.returncode != 0
        assert ours.run("object", "delete", "st", "before", account=account, via=via).returncode
    out = work / "out"
    openio.cli("object", "save", "st", "before", "--file", str(out), account=account)
    same_bytes(src, out, "object of a frozen container")
    openio.cli("container", "set", "st", "--status", "disabled", account=account)
    assert openio.json("container", "show", "st", account=account)["status"] == "Disabled"
    openio.fails("object", "create", "st", str(src), "--name", "after", account=account)
    openio.cli("container", "set", "st", "--status", "enabled", account=account)
    openio.cli("object", "create", "st", str(src), "--name", "after", account=account)
    ours.cli("object", "fetch", "st", "after", "--file", str(out), account=account, via="files")
    same_bytes(src, out, "object written after enabling")


def test_container_purge(openio, ours, account, work):
    openio.cli("container", "create", "pur", "--max-versions", "-1", account=account)
    versions = []
    for i in range(4):
        (work / f"v{i}").write_bytes(os.urandom(100 + i))
        openio.cli("object", "create", "pur", str(work / f"v{i}"), "--name", "doc", account=account)
        versions.append(work / f"v{i}")
    openio.cli("container", "purge", "pur", "--max-versions", "2", account=account)
    rows = openio.json("object", "list", "pur", "--versions", account=account)
    assert len(rows) == 2
    out = work / "out"
    for row, want in zip(rows, reversed(versions[2:]), strict=True):
        ours.cli(
            "object",
            "fetch",
            "pur",
            "doc",
            "--object-version",
            str(row["Version"]),
            "--file",
            str(out),
            account=account,
            via="files",
        )
        same_bytes(want, out, "kept version")
    openio.cli("object", "purge", "pur", "doc", "--max-versions", "1", account=account)
    assert len(openio.json("object", "list", "pur", "--versions", account=account)) == 1


@pytest.mark.parametrize("quickly", [False, True])
def test_container_flush(openio, ours, account, work, quickly):
    src = work / "obj"
    src.write_bytes(os.urandom(2000))
    for i in range(5):
        ours.cli("object", "create", "fl", str(src), "--name", f"o{i}", account=account)
    openio.cli("container", "flush", "fl", *(["--quickly"] if quickly else []), account=account)
    assert openio.cli("object", "list", "fl", account=account).strip() == ""
    assert ours.json("object", "list", "fl", account=account, via="files") == []
    shown = openio.json("container", "show", "fl", account=account)
    assert shown["objects"] == "0" and shown["bytes_usage"] in ("0", "0B")
    openio.cli("container", "delete", "fl", account=account)


def test_container_refresh_touch_locate_delete(openio, ours, account, work):
    src = work / "obj"
    src.write_bytes(os.urandom(777))
    openio.cli("object", "create", "ref", str(src), "--name", "o", account=account)
    openio.cli("container", "refresh", "ref", account=account)
    openio.cli("container", "touch", "ref", account=account)
    rows = openio.json("container", "list", account=account)
    assert [(r["Name"], r["Count"], r["Bytes"]) for r in rows] == [("ref", 1, 777)]
    located = openio.json("container", "locate", "ref", account=account)
    assert located["account"] == account and located["name"] == "ref"
    openio.fails("container", "delete", "ref", account=account)  # not empty
    ours.cli("object", "delete", "ref", "o", account=account)
    openio.cli("container", "delete", "ref", account=account)
    openio.fails("container", "show", "ref", account=account)
    assert ours.run("container", "show", "ref", account=account).returncode == 3
