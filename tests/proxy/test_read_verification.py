"""A corrupt chunk is never served through the proxy backend, whatever the rawx checks.

`namespace serve`'s rawx checks every block it sends (and says so); OpenIO's Go rawx
sends a chunk's bytes as they are on disk (and hashes every chunk it stores). Here
the served rawx are switched to the latter (`verify_reads = False`) before anything
is written, so what is tested is the client's own check: the MD5 of the chunk
against its recorded hash, before any of its bytes is handed over.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from proxy_helpers import ACCOUNT, MiB

from oiocli.core import wire
from oiocli.core.exceptions import ChunkCorrupt, UnrecoverableContent
from oiocli.server.namespace_server import NamespaceServer

SIZE = 2 * MiB + 300_000  # metachunks of 1 MiB, 1 MiB and 300 000 bytes


def unverified(served: NamespaceServer) -> None:
    for rawx in served.rawx:
        rawx.verify_reads = False


def chunk_file(served: NamespaceServer, url: str) -> str:
    _service, chunk_id = wire.split_chunk_url(url)
    for volume in served.ns.volumes:
        path = os.path.join(volume, chunk_id[:2], chunk_id)
        if os.path.exists(path):
            return path
    raise AssertionError(f"no file for {url}")


def flip(served: NamespaceServer, url: str, offset: int) -> None:
    """Damage one data byte (the file starts with the chunk's data)."""
    with open(chunk_file(served, url), "r+b") as f:
        f.seek(offset)
        byte = f.read(1)
        f.seek(offset)
        f.write(bytes([byte[0] ^ 0xFF]))


def by_position(chunks: list[dict]) -> dict[str, list[dict]]:
    groups: dict[str, list[dict]] = {}
    for chunk in chunks:
        groups.setdefault(str(chunk["pos"]).split(".")[0], []).append(chunk)
    return groups


def fetch(api, name: str, ranges=None) -> bytes:
    _meta, stream = api.object_fetch(ACCOUNT, "ct", name, ranges=ranges)
    return b"".join(stream)


@pytest.fixture
def rep(api, served):
    unverified(served)
    data = os.urandom(SIZE)
    api.object_create(ACCOUNT, "ct", data=data, obj_name="rep", policy="THREECOPIES")
    _meta, chunks = api.object_locate(ACCOUNT, "ct", "rep")
    return data, by_position(chunks)


def test_corrupt_replica_is_skipped_for_a_good_one(api, served, rep):
    data, groups = rep
    for chunks in groups.values():
        flip(served, chunks[0]["url"], 1000)
        flip(served, chunks[1]["url"], 5)
    assert fetch(api, "rep") == data
    # The ranges too: a range of a chunk cannot be checked alone, so the whole is.
    ranges = [(10, 2000), (MiB - 5, MiB + 5), (None, 7)]
    assert fetch(api, "rep", ranges) == data[10:2001] + data[MiB - 5 : MiB + 6] + data[-7:]


def test_every_replica_corrupt_is_unrecoverable(api, served, rep):
    _data, groups = rep
    for chunk in groups["1"]:
        flip(served, chunk["url"], 123)
    with pytest.raises(UnrecoverableContent, match="metachunk 1"):
        fetch(api, "rep")
    with pytest.raises(UnrecoverableContent):
        fetch(api, "rep", [(MiB + 10, MiB + 20)])
    # Another metachunk still reads.
    assert len(fetch(api, "rep", [(0, 99)])) == 100


def test_corrupt_chunk_read_is_a_chunk_corrupt(api, served, rep):
    _data, groups = rep
    chunk = groups["0"][0]
    flip(served, chunk["url"], MiB - 1)  # the last byte
    with pytest.raises(ChunkCorrupt, match="corrupt"):
        b"".join(api.backend.chunks.get(chunk["url"]))
    assert api.backend.chunks.verify(chunk["url"])["ok"] is False
    assert api.backend.chunks.verify(groups["0"][1]["url"])["ok"] is True


def test_corrupt_fragments_are_decoded_around(api, served):
    unverified(served)
    data = os.urandom(6 * MiB + 300_000)
    api.object_create(ACCOUNT, "ct", data=data, obj_name="ec", policy="EC")
    _meta, chunks = api.object_locate(ACCOUNT, "ct", "ec")
    assert all(c.get("chunk_hash") for c in chunks)  # a Go rawx hashes each fragment
    fragments = sorted(by_position(chunks)["0"], key=lambda c: int(c["pos"].split(".")[1]))
    for i, chunk in enumerate(fragments[:3]):
        flip(served, chunk["url"], 100 + i * 200_000)
    assert fetch(api, "ec") == data
    assert fetch(api, "ec", [(1_000_000, 2_000_000)]) == data[1_000_000:2_000_001]
    flip(served, fragments[3]["url"], 100)
    with pytest.raises(UnrecoverableContent, match="metachunk 0"):
        fetch(api, "ec")


def test_a_verifying_rawx_is_streamed_from(api, served):
    """serve's own rawx says it checks its blocks: a corrupt one is cut off by the rawx."""
    data = os.urandom(SIZE)
    api.object_create(ACCOUNT, "ct", data=data, obj_name="rep", policy="THREECOPIES")
    _meta, chunks = api.object_locate(ACCOUNT, "ct", "rep")
    groups = by_position(chunks)
    flip(served, groups["0"][0]["url"], 700_000)
    flip(served, groups["0"][1]["url"], 700_000)
    assert fetch(api, "rep") == data
    flip(served, groups["0"][2]["url"], 200)
    with pytest.raises(UnrecoverableContent):
        fetch(api, "rep")


def _oio(*args: str) -> subprocess.CompletedProcess:
    script = Path(sys.executable).with_name("oio")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "oiocli.shell"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("OIO_")}
    return subprocess.run([*command, *args], capture_output=True, env=env, timeout=120)


def test_cli_fetch_of_a_corrupt_object_exits_6(api, served, rep, tmp_path):
    data, groups = rep
    out = tmp_path / "out.bin"
    base = ["--oio-proxy", served.proxy_url, "--ns", "NS", "--oio-account", ACCOUNT]
    for chunks in groups.values():
        flip(served, chunks[0]["url"], 42)
    proc = _oio(*base, "object", "save", "ct", "rep", "--file", str(out))
    assert proc.returncode == 0, proc.stderr
    assert out.read_bytes() == data
    for chunk in groups["2"][1:]:
        flip(served, chunk["url"], 42)
    proc = _oio(*base, "object", "save", "ct", "rep", "--file", str(out))
    assert proc.returncode == 6, proc.stderr
    assert b"rep" in proc.stderr
