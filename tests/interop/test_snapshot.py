"""Container snapshots through `namespace serve`: the source stays byte-exact.

OpenIO's client snapshots as OpenIO's meta2 expects: freeze the source, copy
its database (`container/snapshot`), link every chunk under a new id with the
copy's full path (rawx COPY), swap the copy's records (`container/raw_update`
with `frozen=1`), touch the copy, enable the source. `namespace serve` once
deleted the source's chunks on raw_update: every source object was then lost.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import urllib3
from interop_helpers import OpenIO, OurCLI, same_bytes

MiB = 1024 * 1024
OBJECTS = {
    "single": ("SINGLE", 3 * MiB + 1),
    "three": ("THREECOPIES", MiB + 5),
    "ec": ("EC", 2 * MiB + 7),
    "ec21": ("EC21", 10),
    "empty": ("TWOCOPIES", 0),
}


def fill(openio: OpenIO, account: str, container: str, work: Path) -> dict[str, bytes]:
    data = {}
    for name, (policy, size) in OBJECTS.items():
        data[name] = os.urandom(size)
        (work / name).write_bytes(data[name])
        openio.cli(
            "object", "create", container, str(work / name), "--policy", policy, account=account
        )
    return data


def check_all(
    openio: OpenIO, ours: OurCLI, account: str, container: str, data: dict, work: Path
) -> None:
    """Every object read by OpenIO's CLI and by oiocli (proxy and files), byte for byte."""
    out = work / "out"
    for name, want in data.items():
        openio.cli("object", "save", container, name, "--file", str(out), account=account)
        same_bytes(want, out, f"openio {container}/{name}")
        for via in ("proxy", "files"):
            ours.cli(
                "object", "fetch", container, name, "--file", str(out), account=account, via=via
            )
            same_bytes(want, out, f"oio ({via}) {container}/{name}")


def urls(openio: OpenIO, account: str, container: str, name: str) -> set[str]:
    return {r["Id"] for r in openio.json("object", "locate", container, name, account=account)}


def chunk_files(server) -> int:
    return sum(
        1
        for volume in server.ns.volumes
        for _d, _s, files in os.walk(volume)
        for f in files
        if len(f) == 64
    )


def test_openio_snapshot_keeps_the_source_intact(openio, ours, account, work, server):
    files_before = chunk_files(server)  # tests of one process run one at a time
    data = fill(openio, account, "src", work)
    source_urls = {name: urls(openio, account, "src", name) for name in data}
    rows = openio.json("container", "snapshot", "src", "--dst-container", "snap", account=account)
    assert rows == [{"Account": account, "Container": "snap", "Status": "OK"}]
    # The source: every chunk still there, every byte as written.
    for name in data:
        assert urls(openio, account, "src", name) == source_urls[name]
        for url in source_urls[name]:
            assert os.path.exists(server.file_path(url)), f"source chunk {url} deleted"
    check_all(openio, ours, account, "src", data, work)
    # The copy: the same objects, chunks of its own (no URL shared, no chunk listed twice).
    listed = [r["Name"] for r in openio.json("object", "list", "snap", account=account)]
    assert listed == sorted(data)
    for name in data:
        located = openio.json("object", "locate", "snap", name, account=account)
        assert len(located) == len({r["Id"] for r in located})
        assert not {r["Id"] for r in located} & source_urls[name]
        assert len(located) == len(source_urls[name])
    check_all(openio, ours, account, "snap", data, work)
    # Each copied chunk names the copy in its own metadata.
    http = urllib3.PoolManager()
    for url in urls(openio, account, "snap", "ec"):
        head = http.request("HEAD", url)
        assert head.headers["x-oio-chunk-meta-full-path"].startswith(f"{account}/snap/ec/")
    # The copy is frozen, the source is writable again.
    assert openio.json("container", "show", "snap", account=account)["status"] == "Frozen"
    assert openio.json("container", "show", "src", account=account)["status"] == "Enabled"
    openio.fails("object", "create", "snap", str(work / "ec21"), "--name", "new", account=account)
    openio.cli("object", "create", "src", str(work / "ec21"), "--name", "new", account=account)
    # Deleting the source's objects leaves the copy whole.
    openio.cli("object", "delete", "src", *data, "new", account=account)
    check_all(openio, ours, account, "snap", data, work)
    # No chunk file left behind: the links made at snapshot time were dropped
    # when the copy's records were swapped, the copy's own ones go with it.
    openio.cli("container", "set", "snap", "--status", "enabled", account=account)
    openio.cli("object", "delete", "snap", *data, account=account)
    assert chunk_files(server) == files_before


def test_snapshot_errors(openio, account, work):
    (work / "x").write_bytes(b"x")
    openio.cli("object", "create", "src", str(work / "x"), account=account)
    openio.cli("container", "create", "taken", account=account)
    openio.fails("container", "snapshot", "src", "--dst-container", "taken", account=account)
    openio.fails("container", "snapshot", "missing", "--dst-container", "other", account=account)
    assert openio.json("container", "show", "src", account=account)["status"] == "Enabled"


@pytest.mark.parametrize("via", ["proxy", "files"])
def test_oiocli_snapshot_read_by_openio(openio, ours, account, work, via):
    data = fill(openio, account, "src", work)
    ours.cli("container", "snapshot", "src", "--dst-container", "snap", account=account, via=via)
    check_all(openio, ours, account, "snap", data, work)
    check_all(openio, ours, account, "src", data, work)
    for name in data:
        assert not urls(openio, account, "snap", name) & urls(openio, account, "src", name)
