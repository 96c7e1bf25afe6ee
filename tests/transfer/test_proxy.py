"""The same bulk transfers through the proxy backend (`oio --oio-proxy`): listing
order for sync, tree round trip, and --resume (no journal without a data dir)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import pytest

from oiocli.server.namespace_server import serve_namespace

from .helpers import NAMESPACE, MiB, Oio, read_tree, write_tree

NAMES = [
    "a-b", "a.c", "a/x-y/z", "a/x.y", "a/x/y", "a/x0", "a0", "A", "é", "z/é/1",
    "日本/語", "emoji-😀", "emoji-😀x/y", "\U0001f600/high", "\ufffd",
]  # fmt: skip


@pytest.fixture
def proxied(oio: Oio) -> Iterator[Oio]:
    """`oio` talking to an embedded namespace served over HTTP (no data dir in the CLI)."""
    server = serve_namespace(NAMESPACE, str(oio.root / "served"), chunk_size=MiB)
    oio.env.pop("OIO_DATA_DIR")
    oio.env["OIO_PROXYD_URL"] = server.proxy_url
    try:
        yield oio
    finally:
        server.stop()


def test_sync_and_trees_over_the_proxy(proxied):
    oio = proxied
    files = {n: n.encode() * 3 for n in NAMES}
    files["big"] = os.urandom(3 * MiB + 5)
    write_tree(oio.cwd / "src", files)
    row = oio.summary("container", "sync", "src", "c")
    assert (row["Files"], row["Failed"]) == (len(files), 0)
    assert oio.names("c") == sorted(files)
    assert oio.json("container", "sync", "src", "c", "--delete", "--dry-run") == []
    row = oio.summary("container", "sync", "src", "c", "--delete")
    assert (row["Files"], row["Skipped"], row["Deleted"]) == (0, len(files), 0)
    row = oio.summary("container", "save", "c", "-D", "saved")
    assert row["Files"] == len(files)
    assert read_tree(oio.cwd / "saved") == files
    row = oio.summary("container", "sync", "c", "back", "--download")
    assert read_tree(oio.cwd / "back") == files
    # the MD5 cache goes under XDG_CACHE_HOME without a data dir
    assert (oio.root / "cache" / "oiocli" / "md5.sqlite").exists()


def test_resume_over_the_proxy_warns_and_uploads(proxied):
    oio = proxied
    (oio.cwd / "f").write_bytes(os.urandom(2 * MiB))
    proc = oio.run("object", "create", "c", "f", "--resume", "-f", "json")
    assert proc.returncode == 0, proc.err
    assert "resume only on an embedded namespace" in proc.err
    assert json.loads(proc.out)[0]["Status"] == "Ok"
    write_tree(oio.cwd / "t", {"x": b"x", "y": b"y"})
    proc = oio.run("object", "create", "c", "t", "--recursive", "--resume", "-f", "json")
    assert proc.returncode == 0, proc.err
    assert proc.err.count("resume only on an embedded namespace") == 1
    assert json.loads(proc.out)[0]["Files"] == 2
