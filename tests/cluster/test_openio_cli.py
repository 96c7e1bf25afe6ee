"""Both directions with OpenIO's own `openio` CLI on the real namespace: what oiocli
writes, OpenIO reads back the same (metadata and bytes); what OpenIO writes, oiocli
reads byte for byte, whole and by ranges."""

from __future__ import annotations

import hashlib
import os

import pytest

from .helpers import POLICIES, MiB

SIZE = 7 * MiB + 4321


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest().upper()


@pytest.mark.parametrize("policy", POLICIES)
def test_openio_reads_what_oiocli_wrote(api, account, openio, tmp_path, policy):
    data = os.urandom(SIZE)
    api.container_create(account, "ct", properties={"team": "blue"})
    *_rest, meta = api.object_create_ext(
        account,
        "ct",
        data=data,
        obj_name="dir/obj é",
        policy=policy,
        mime_type="text/x-oiocli",
        properties={"colour": "vert", "n": "1"},
    )
    shown = openio.json(account, "object", "show", "ct", "dir/obj é")
    assert shown["object"] == "dir/obj é"
    assert int(shown["size"]) == SIZE
    assert shown["hash"] == md5(data) == meta["hash"]
    assert shown["policy"] == policy
    assert shown["mime-type"] == "text/x-oiocli"
    assert int(shown["version"]) == meta["version"]
    assert shown["id"] == meta["id"]
    assert {k[5:]: v for k, v in shown.items() if k.startswith("meta.")} == {
        "colour": "vert",
        "n": "1",
    }
    out = tmp_path / "out"
    openio.run(account, "object", "save", "ct", "dir/obj é", "--file", str(out))
    assert out.read_bytes() == data
    located = openio.json(account, "object", "locate", "ct", "dir/obj é")
    ours = api.object_locate(account, "ct", "dir/obj é")[1]
    assert sorted(c["Id"] for c in located) == sorted(c["url"] for c in ours)
    assert openio.json(account, "container", "show", "ct")["meta.team"] == "blue"
    listed = openio.json(account, "object", "list", "ct")
    assert [(o["Name"], o["Size"], o["Hash"]) for o in listed] == [("dir/obj é", SIZE, md5(data))]


@pytest.mark.parametrize("policy", POLICIES)
def test_oiocli_reads_what_openio_wrote(api, account, openio, tmp_path, policy):
    data = os.urandom(SIZE)
    src = tmp_path / "src"
    src.write_bytes(data)
    openio.run(
        account,
        "object",
        "create",
        "ct",
        str(src),
        "--name",
        "theirs",
        "--policy",
        policy,
        "--property",
        "k=v",
        "--mime-type",
        "text/x-openio",
    )
    meta = api.object_get_properties(account, "ct", "theirs")
    assert (meta["size"], meta["hash"], meta["policy"]) == (SIZE, md5(data), policy)
    assert meta["mime_type"] == "text/x-openio"
    assert meta["properties"] == {"k": "v"}
    _meta, stream = api.object_fetch(account, "ct", "theirs")
    assert b"".join(stream) == data
    ranges = [(0, 0), (MiB - 1, MiB + 1), (6 * MiB - 2, 6 * MiB + 2), (None, 17)]
    _meta, stream = api.object_fetch(account, "ct", "theirs", ranges=ranges)
    expected = b"".join(data[-b:] if a is None else data[a : b + 1] for a, b in ranges)
    assert b"".join(stream) == expected


def test_versions_and_markers_agree(api, account, openio):
    api.container_create(account, "v", system={"sys.m2.policy.version": "-1"})
    versions = [
        api.object_create_ext(account, "v", data=b"v%d" % i, obj_name="doc", policy="SINGLE")[3][
            "version"
        ]
        for i in range(3)
    ]
    created, marker = api.object_delete(account, "v", "doc")
    assert created is True and marker > versions[-1]
    listed = openio.json(account, "object", "list", "v", "--versions")
    assert [int(o["Version"]) for o in listed] == [marker, *versions[::-1]]
    assert [o["Size"] for o in listed] == ["deleted", 2, 2, 2]  # how OpenIO shows a marker
