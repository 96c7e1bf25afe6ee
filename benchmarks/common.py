"""Shared pieces: result records, child processes, page-cache eviction, statistics."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MIB = 1024 * 1024
MB = 1_000_000
REPO_ROOT = Path(__file__).resolve().parent.parent

# Environment variables that change how glibc malloc trims memory. The library is measured as a
# user gets it, so they are removed from the environment of the children running our scenarios.
MALLOC_VARS = ("MALLOC_TOP_PAD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_")
MALLOC_PAD = str(64 * MIB)


@dataclass
class Config:
    """Sizes and switches of one run (see `python -m benchmarks --help`)."""

    work_dir: Path
    size_mib: int = 512
    block_mib: int = 1
    reps: int = 3
    reps_cold: int = 2
    settle: float = 3.0
    ec_mib: int = 256
    small_files: int = 1000
    startup_runs: int = 15
    small_objects: int = 2000
    threads: int = 8
    list_objects: int = 1_000_000
    list_page: int = 1000
    policies: tuple[str, ...] = ("SINGLE", "THREECOPIES", "EC", "ECISAL", "ECLIBEC")
    cli: bool = True
    data_dir: Path | None = None
    timeout: float = 1800.0

    @property
    def size(self) -> int:
        return self.size_mib * MIB


@dataclass
class Limit:
    """One measured limit of this machine."""

    name: str
    value: float | None
    unit: str
    samples: list[float] = field(default_factory=list)
    note: str = ""
    error: str | None = None

    def spread(self) -> str:
        return spread_text(self.samples)


@dataclass
class Target:
    """A figure's target: on its ratio to the machine's limit, or on the figure itself."""

    on: str  # "ratio" or "value"
    op: str  # ">=", "<=", "<"
    threshold: float

    def __str__(self) -> str:
        return f"{self.on} {self.op} {fmt(self.threshold)}"

    def met(self, value: float | None, ratio: float | None) -> bool | None:
        x = ratio if self.on == "ratio" else value
        if x is None:
            return None
        if self.op == ">=":
            return x >= self.threshold
        if self.op == "<=":
            return x <= self.threshold
        if self.op == "<":
            return x < self.threshold
        raise ValueError(self.op)


@dataclass
class Row:
    """One of our figures, beside the limit that bounds it."""

    scenario: str
    name: str
    value: float | None
    unit: str
    limit_label: str = ""
    limit: float | None = None
    target: Target | None = None
    note: str = ""
    error: str | None = None
    # Every repetition's figure (the value is their median) and the page-cache state of the
    # files read, when the figure is a read.
    samples: list[float] = field(default_factory=list)
    cache: dict[str, Any] | None = None

    @property
    def ratio(self) -> float | None:
        if self.value is None or not self.limit:
            return None
        return self.value / self.limit

    @property
    def met(self) -> bool | None:
        if self.target is None:
            return None
        return self.target.met(self.value, self.ratio)

    def as_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "name": self.name,
            "value": self.value,
            "unit": self.unit,
            "limit_label": self.limit_label,
            "limit": self.limit,
            "ratio": self.ratio,
            "target": dataclasses.asdict(self.target) if self.target else None,
            "met": self.met,
            "samples": self.samples,
            "n": len(self.samples),
            "min": min(self.samples) if self.samples else None,
            "max": max(self.samples) if self.samples else None,
            "spread": spread(self.samples),
            "cache": self.cache,
            "note": self.note,
            "error": self.error,
        }


def sampled(
    scenario: str,
    name: str,
    samples: list[float],
    unit: str,
    limit_label: str = "",
    limit: float | None = None,
    target: Target | None = None,
    **kw: Any,
) -> Row:
    """A row whose value is the median of its repetitions."""
    value = median(samples) if samples else None
    return Row(scenario, name, value, unit, limit_label, limit, target, samples=samples, **kw)


def fmt(x: float | None) -> str:
    """A number short enough for a table, with about three significant digits."""
    if x is None:
        return "-"
    if not math.isfinite(x):
        return str(x)
    ax = abs(x)
    if ax >= 100 or x == int(x) and ax >= 10:
        return f"{x:,.0f}"
    if ax >= 10:
        return f"{x:.1f}"
    if ax >= 1:
        return f"{x:.2f}"
    if ax >= 0.01:
        return f"{x:.3f}"
    if ax == 0:
        return "0"
    return f"{x:.2g}"


def median(samples: list[float]) -> float:
    return statistics.median(samples)


def spread(samples: list[float]) -> float | None:
    """(max - min) / median of the repetitions: 0.1 means they all lie within 10%."""
    if len(samples) < 2:
        return None
    mid = statistics.median(samples)
    return (max(samples) - min(samples)) / abs(mid) if mid else None


def spread_text(samples: list[float]) -> str:
    """`n, min-max, ±x%` for a table cell ('' for fewer than two samples)."""
    if len(samples) < 2:
        return f"{len(samples)}" if samples else ""
    rel = spread(samples)
    pct = "" if rel is None else f", {rel * 100:.0f}%"
    return f"{len(samples)}, {fmt(min(samples))}-{fmt(max(samples))}{pct}"


def mbps(nbytes: int, seconds: float) -> float:
    return nbytes / seconds / MB if seconds > 0 else float("inf")


@dataclass
class ChildResult:
    returncode: int
    wall: float
    maxrss_kib: int
    stdout: str
    stderr: str
    timed_out: bool = False

    def error_line(self) -> str:
        lines = [line for line in self.stderr.strip().splitlines() if line.strip()]
        last = lines[-1] if lines else ""
        why = "timed out" if self.timed_out else f"exit {self.returncode}"
        return f"{why}: {last}"[:300]


def run_child(
    cmd: list[str],
    env: dict[str, str] | None = None,
    timeout: float | None = None,
    cwd: str | os.PathLike | None = None,
) -> ChildResult:
    """Run `cmd`, returning its wall time and its own peak RSS (from wait4's rusage).

    The wall time covers fork/exec to reaping, with no polling: a timer thread kills the child
    if it overruns `timeout`.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env, cwd=cwd
        )
        timed_out = threading.Event()

        def kill() -> None:
            timed_out.set()
            proc.kill()

        timer = threading.Timer(timeout, kill) if timeout else None
        if timer:
            timer.daemon = True
            timer.start()
        try:
            _, status, rusage = os.wait4(proc.pid, 0)
        finally:
            if timer:
                timer.cancel()
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return ChildResult(
            returncode=proc.returncode,
            wall=wall,
            maxrss_kib=rusage.ru_maxrss,
            stdout=out.read().decode(errors="replace"),
            stderr=err.read().decode(errors="replace"),
            timed_out=timed_out.is_set(),
        )


def child_env(pad_malloc: bool = False, extra: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for a child: repo importable; malloc tuning only when asked for."""
    # OIO_* variables of the caller's shell (OIO_NS and OIO_PROXYD_URL after `eval
    # "$(openio-sds.sh env)"`, say) would point our CLI and OpenIO's at another namespace
    # than the scenario's: each child gets only those its scenario gives it.
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in MALLOC_VARS and not (k.startswith("OIO_") and not k.startswith("OIO_BENCH_"))
    }
    # An installed oio has its bytecode compiled (pip does it; a source tree writes it on
    # first run): without this, PYTHONDONTWRITEBYTECODE=1 in the caller's environment made
    # every start-up recompile oiocli while cliff's floor loaded ready bytecode.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH", "")) if p
    )
    if pad_malloc:
        env["MALLOC_TOP_PAD_"] = MALLOC_PAD
    if extra:
        env.update(extra)
    return env


def run_worker(
    task: str, args: dict[str, Any], pad_malloc: bool = False, timeout: float | None = None
) -> tuple[dict[str, Any], ChildResult]:
    """Run `benchmarks.child <task>` in a fresh interpreter; returns its JSON answer."""
    res = run_child(
        [sys.executable, "-m", "benchmarks.child", task, json.dumps(args)],
        env=child_env(pad_malloc),
        timeout=timeout,
        cwd=REPO_ROOT,
    )
    if res.returncode != 0:
        raise RuntimeError(f"{task}: {res.error_line()}")
    lines = res.stdout.strip().splitlines()
    if not lines:
        raise RuntimeError(f"{task}: no answer on stdout")
    answer = json.loads(lines[-1])
    if answer.get("error"):
        raise RuntimeError(f"{task}: {answer['error']}")
    return answer, res


class Helper:
    """One long-lived `benchmarks.child serve` process for the unmeasured steps."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.child", "serve"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=child_env(),
            cwd=REPO_ROOT,
            text=True,
        )

    def call(self, task: str, args: dict[str, Any]) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps({"task": task, "args": args}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"{task}: the helper process exited ({self.proc.poll()})")
        answer = json.loads(line)
        if answer.get("error"):
            raise RuntimeError(f"{task}: {answer['error']}")
        return answer

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def __enter__(self) -> Helper:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def evict_file(path: str | os.PathLike) -> None:
    """Drop a file's clean pages from the page cache (drop_caches is not writable here)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fdatasync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    except OSError:
        pass
    finally:
        os.close(fd)


def evict_tree(root: str | os.PathLike) -> int:
    """Evict every regular file under `root`; returns how many."""
    n = 0
    for dirpath, _, files in os.walk(root):
        for name in files:
            evict_file(os.path.join(dirpath, name))
            n += 1
    return n


def settle(seconds: float) -> None:
    """Flush dirty pages and wait for writeback to drain, then pause: freed memory goes back
    to the host, discards are sent. After this, the next write or read runs "cold" (see
    shared/reference/limits.md), and no writeback of a previous step competes with it.
    """
    from benchmarks.cache import quiesce

    quiesce(seconds)


def md5_file(path: str | os.PathLike, bufsize: int = MIB) -> str:
    h = hashlib.md5()
    buf = bytearray(bufsize)
    view = memoryview(buf)
    with open(path, "rb", buffering=0) as f:
        while n := f.readinto(buf):
            h.update(view[:n])
    return h.hexdigest().upper()


def write_random_file(path: str | os.PathLike, size: int, bufsize: int = MIB) -> str:
    """Write `size` random bytes (fsync'd), returning their MD5 (uppercase hex)."""
    h = hashlib.md5()
    with open(path, "wb", buffering=0) as f:
        left = size
        while left:
            block = os.urandom(min(bufsize, left))
            h.update(block)
            f.write(block)
            left -= len(block)
        os.fsync(f.fileno())
    return h.hexdigest().upper()


def pressure_totals() -> dict[str, int]:
    """The kernel's pressure-stall counters (µs some task waited for CPU, for IO), if any."""
    out = {}
    for kind in ("cpu", "io"):
        try:
            with open(f"/proc/pressure/{kind}") as f:
                for line in f:
                    if line.startswith("some"):
                        out[kind] = int(line.rsplit("total=", 1)[1])
        except (OSError, ValueError, IndexError):
            pass
    return out


class Pressure:
    """How busy the machine was over a stretch of time: the share of it during which some
    task waited for a CPU, or for IO (PSI). A quiet machine shows a few percent."""

    def __init__(self) -> None:
        self.t0 = time.monotonic()
        self.start = pressure_totals()

    def shares(self) -> dict[str, float]:
        elapsed = (time.monotonic() - self.t0) * 1e6
        end = pressure_totals()
        return {
            k: (end[k] - self.start[k]) / elapsed for k in end if k in self.start and elapsed > 0
        }


def pressure_text(shares: dict[str, float]) -> str:
    if not shares:
        return "no pressure counters"
    return ", ".join(f"{k} {v * 100:.0f}%" for k, v in shares.items())
