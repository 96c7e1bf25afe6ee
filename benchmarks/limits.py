"""This machine's limits, each measured by one function returning a `Limit`.

The figures follow shared/reference/limits.md: "hot" disk figures reuse pages freed just
before (a file deleted right before the write, a read right after the eviction), "cold" ones
come after `settle` seconds, when freed memory has gone back to the host. Buffers are reused,
so glibc's heap trimming never costs page faults here; erasure coding runs in a child with
MALLOC_TOP_PAD_ set (pyeclib allocates its output), which is the machine's real limit.
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
import zlib
from collections.abc import Callable
from pathlib import Path

from benchmarks.cache import check, describe, evict
from benchmarks.common import (
    MIB,
    Config,
    Limit,
    mbps,
    median,
    run_child,
    run_worker,
    settle,
)

EC_ALGOS = ("isa_l_rs_vand", "liberasurecode_rs_vand")
CLIFF_IMPORT = "import cliff.app, cliff.commandmanager, cliff.lister, cliff.show"


def _buffer(cfg: Config) -> bytes:
    return os.urandom(cfg.block_mib * MIB)


def _write(path: Path, size: int, buf: bytes) -> float:
    """Sequential write of `size` bytes from one reused buffer, then fsync; seconds taken."""
    view = memoryview(buf)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        t0 = time.perf_counter()
        left = size
        while left:
            left -= os.write(fd, view[: min(len(view), left)])
        os.fsync(fd)
        return time.perf_counter() - t0
    finally:
        os.close(fd)


def _read(path: Path, bufsize: int) -> tuple[float, int]:
    buf = bytearray(bufsize)
    fd = os.open(path, os.O_RDONLY)
    try:
        total = 0
        t0 = time.perf_counter()
        while n := os.readv(fd, [buf]):
            total += n
        return time.perf_counter() - t0, total
    finally:
        os.close(fd)


def _limit(name: str, unit: str, samples: list[float], note: str = "") -> Limit:
    return Limit(name, median(samples), unit, samples, note)


def disk_write_fsync(cfg: Config) -> Limit:
    """Hot: each write follows the deletion of a file of the same size (the figure the
    targets are set against)."""
    buf = _buffer(cfg)
    path = cfg.work_dir / "limit-write"
    _write(path, cfg.size, buf)  # warm-up, whose pages the measured writes reuse
    samples = []
    for _ in range(cfg.reps):
        os.unlink(path)
        samples.append(mbps(cfg.size, _write(path, cfg.size, buf)))
    return _limit(
        "disk_write_fsync", "MB/s", samples, f"{cfg.size_mib} MiB, {cfg.block_mib} MiB writes, hot"
    )


def disk_write_fsync_cold(cfg: Config) -> Limit:
    buf = _buffer(cfg)
    path = cfg.work_dir / "limit-write"
    samples = []
    for _ in range(cfg.reps_cold):
        if path.exists():
            os.unlink(path)
        settle(cfg.settle)
        samples.append(mbps(cfg.size, _write(path, cfg.size, buf)))
    return _limit("disk_write_fsync_cold", "MB/s", samples, f"after sync + {cfg.settle:g} s pause")


def _read_source(cfg: Config) -> Path:
    path = cfg.work_dir / "limit-write"
    if not path.exists() or path.stat().st_size != cfg.size:
        _write(path, cfg.size, _buffer(cfg))
    return path


def disk_read(cfg: Config) -> Limit:
    """Hot: read right after posix_fadvise(DONTNEED) of the file (reuses the freed pages)."""
    path = _read_source(cfg)
    samples, states = [], []
    for _ in range(cfg.reps):
        states.append(evict([path]))
        seconds, n = _read(path, cfg.block_mib * MIB)
        samples.append(mbps(n, seconds))
    return _limit(
        "disk_read", "MB/s", samples, f"evicted, no pause (hot pages); {describe(states)}"
    )


def disk_read_cold(cfg: Config) -> Limit:
    path = _read_source(cfg)
    samples, states = [], []
    for _ in range(cfg.reps_cold):
        evict([path])
        settle(cfg.settle)
        states.append(check([path]))
        seconds, n = _read(path, cfg.block_mib * MIB)
        samples.append(mbps(n, seconds))
    os.unlink(path)
    return _limit(
        "disk_read_cold", "MB/s", samples, f"evicted + {cfg.settle:g} s pause; {describe(states)}"
    )


def _stream_rate(cfg: Config, update: Callable[[bytes], object]) -> list[float]:
    buf = _buffer(cfg)
    count = cfg.size // len(buf)
    samples = []
    for _ in range(cfg.reps):
        t0 = time.perf_counter()
        for _ in range(count):
            update(buf)
        samples.append(mbps(count * len(buf), time.perf_counter() - t0))
    return samples


def md5(cfg: Config) -> Limit:
    """One MD5 stream: the object hash the API must compute sequentially."""
    samples = _stream_rate(cfg, hashlib.md5().update)
    return _limit("md5", "MB/s", samples, f"hashlib, {cfg.block_mib} MiB updates, 1 thread")


def crc32(cfg: Config) -> Limit:
    state = [0]

    def update(b: bytes) -> None:
        state[0] = zlib.crc32(b, state[0])

    samples = _stream_rate(cfg, update)
    return _limit("crc32", "MB/s", samples, "zlib.crc32, 1 thread")


def durable_small_files(cfg: Config) -> float:
    """One measurement of durable 4 KiB files/s on one thread (after a settle)."""
    d = cfg.work_dir / "limit-small"
    data = os.urandom(4096)
    d.mkdir(exist_ok=True)
    settle(cfg.settle)
    dfd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
    try:
        t0 = time.perf_counter()
        for i in range(cfg.small_files):
            tmp = d / f".f{i}.tmp"
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            os.write(fd, data)
            os.fsync(fd)
            os.close(fd)
            os.rename(tmp, d / f"f{i}")
            os.fsync(dfd)
        rate = cfg.small_files / (time.perf_counter() - t0)
    finally:
        os.close(dfd)
        for name in os.listdir(d):
            os.unlink(d / name)
        os.rmdir(d)
    return rate


def small_files_fsync(cfg: Config) -> Limit:
    """Durable 4 KiB files on one thread: write, fsync, rename, fsync the directory."""
    samples = [durable_small_files(cfg) for _ in range(max(3, cfg.reps))]
    return _limit(
        "small_files_fsync",
        "files/s",
        samples,
        f"{cfg.small_files} x 4 KiB, write+fsync+rename+fsync dir",
    )


def erasure_coding(cfg: Config) -> list[Limit]:
    """pyeclib 6+3 on 1 MiB segments, in a child with MALLOC_TOP_PAD_ (the machine's limit).

    A second child without the pad gives ISA-L's encode rate under glibc defaults, for reference.
    """
    limits: list[Limit] = []
    for algo in EC_ALGOS:
        args = {"algo": algo, "k": 6, "m": 3, "segment": MIB, "mib": cfg.ec_mib, "reps": cfg.reps}
        try:
            ans, _ = run_worker("ec_limits", args, pad_malloc=True, timeout=cfg.timeout)
        except Exception as exc:  # noqa: BLE001 - a benchmark records errors, never fails
            for op in ("encode", "decode", "decode3"):
                limits.append(Limit(f"ec_{op}:{algo}", None, "MB/s", error=str(exc)))
            continue
        notes = {
            "encode": "6+3, 1 MiB segments, MALLOC_TOP_PAD_=64MiB",
            "decode": "all 6 data fragments present",
            "decode3": "3 data fragments missing",
        }
        for op, note in notes.items():
            limits.append(_limit(f"ec_{op}:{algo}", "MB/s", ans[op], note))
    args = {"algo": EC_ALGOS[0], "k": 6, "m": 3, "segment": MIB, "mib": cfg.ec_mib, "reps": 1}
    args["ops"] = ["encode"]
    try:
        ans, _ = run_worker("ec_limits", args, pad_malloc=False, timeout=cfg.timeout)
        limits.append(
            _limit(
                f"ec_encode_glibc_default:{EC_ALGOS[0]}",
                "MB/s",
                ans["encode"],
                "reference only: no malloc pad, fresh output buffers re-faulted",
            )
        )
    except Exception as exc:  # noqa: BLE001
        limits.append(Limit(f"ec_encode_glibc_default:{EC_ALGOS[0]}", None, "MB/s", error=str(exc)))
    return limits


def cliff_floor(cfg: Config) -> Limit:
    """Median wall time of importing cliff's pieces in a fresh interpreter of this venv."""
    cmd = [sys.executable, "-c", CLIFF_IMPORT]
    first = run_child(cmd)  # warm-up (bytecode caches)
    if first.returncode:
        raise RuntimeError(f"cliff import failed: {first.error_line()}")
    samples = []
    for _ in range(cfg.startup_runs):
        samples.append(run_child(cmd).wall)
    return _limit("cliff_floor", "s", samples, f"python -c '{CLIFF_IMPORT}'")


# Order matters a little: the writes leave the file the reads evict and read back.
LIMITS: list[Callable[[Config], Limit | list[Limit]]] = [
    disk_write_fsync,
    disk_read,
    disk_write_fsync_cold,
    disk_read_cold,
    md5,
    crc32,
    small_files_fsync,
    erasure_coding,
    cliff_floor,
]


def measure_all(cfg: Config, log: Callable[[str], None]) -> dict[str, Limit]:
    out: dict[str, Limit] = {}
    for func in LIMITS:
        log(f"limit: {func.__name__} ...")
        t0 = time.perf_counter()
        try:
            got = func(cfg)
        except Exception as exc:  # noqa: BLE001 - a benchmark records errors, never fails
            got = Limit(func.__name__, None, "", error=f"{type(exc).__name__}: {exc}")
        for lim in got if isinstance(got, list) else [got]:
            out[lim.name] = lim
        log(f"  done in {time.perf_counter() - t0:.1f} s")
    return out
