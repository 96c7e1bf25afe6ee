"""Page-cache state of the files a measurement reads: drop it, check it, and say so.

A "cold" read is only cold when none of the pages it reads is in the page cache. Evicting
(`posix_fadvise(DONTNEED)`) is a request the kernel may partly ignore (dirty or mapped
pages), so every eviction here is checked with mincore(2) on a read-only mapping of each
file, and the check travels into the row that reports the figure.

A write is not done when write() returns: the previous scenario's writeback still in flight
slows the next one down. `quiesce` waits for the kernel's dirty and writeback counters to
drain, then pauses (freed memory goes back to the host), so every measurement starts from
the same state.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import mmap
import os
import shutil
import subprocess
import time
from collections.abc import Iterable
from dataclasses import dataclass

PAGE = mmap.PAGESIZE
# The counters of /proc/meminfo that say writeback is still to do (kB).
_PENDING = ("Dirty:", "Writeback:")
# Below this much pending writeback the disk is considered quiet (a busy shared machine
# never reaches zero).
QUIET_KIB = 16 * 1024

_PROT_READ = 0x1
_MAP_SHARED = 0x01
_MAP_FAILED = ctypes.c_void_p(-1).value


def _libc() -> ctypes.CDLL:
    lib = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    lib.mmap.restype = ctypes.c_void_p
    lib.mmap.argtypes = [
        ctypes.c_void_p,
        ctypes.c_size_t,
        ctypes.c_int,
        ctypes.c_int,
        ctypes.c_int,
        ctypes.c_long,
    ]
    lib.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    lib.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p]
    return lib


_LIBC: ctypes.CDLL | None = None


def resident_pages(path: str | os.PathLike) -> tuple[int, int]:
    """(resident, total) pages of `path` in the page cache, by mincore(2).

    The file is mapped read-only and shared, which reads no page: mincore only reports.
    """
    global _LIBC
    if _LIBC is None:
        _LIBC = _libc()
    fd = os.open(path, os.O_RDONLY)
    try:
        size = os.fstat(fd).st_size
        if size == 0:
            return 0, 0
        pages = (size + PAGE - 1) // PAGE
        addr = _LIBC.mmap(None, size, _PROT_READ, _MAP_SHARED, fd, 0)
        if addr is None or addr == _MAP_FAILED:
            err = ctypes.get_errno()
            raise OSError(err, f"mmap: {os.strerror(err)}", str(path))
        try:
            vec = ctypes.create_string_buffer(pages)
            if _LIBC.mincore(addr, size, vec) != 0:
                err = ctypes.get_errno()
                raise OSError(err, f"mincore: {os.strerror(err)}", str(path))
            resident = sum(b & 1 for b in vec.raw)
        finally:
            _LIBC.munmap(addr, size)
        return resident, pages
    finally:
        os.close(fd)


def fincore_pages(path: str | os.PathLike) -> tuple[int, int] | None:
    """(resident, total) pages by util-linux `fincore`, or None when it is not installed."""
    exe = shutil.which("fincore")
    if exe is None:
        return None
    out = subprocess.run(
        [exe, "--bytes", "--noheadings", "--raw", "--output", "PAGES,SIZE", str(path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    resident, size = int(out[0]), int(out[1])
    return resident, (size + PAGE - 1) // PAGE


@dataclass
class CacheState:
    """How many pages of the files a measurement reads were resident just before it."""

    files: int
    pages: int
    resident: int
    method: str = "mincore"

    @property
    def cold(self) -> bool:
        return self.resident == 0

    @property
    def hot(self) -> bool:
        return self.resident == self.pages

    def __str__(self) -> str:
        state = "cold" if self.cold else ("hot" if self.hot else "NOT COLD")
        files = f" in {self.files} files" if self.files != 1 else ""
        return f"{state}, {self.resident} of {self.pages} pages resident{files} ({self.method})"

    def as_dict(self) -> dict[str, int | str | bool]:
        return {
            "files": self.files,
            "pages": self.pages,
            "resident": self.resident,
            "method": self.method,
            "cold": self.cold,
        }

    @staticmethod
    def merge(states: Iterable[CacheState]) -> CacheState | None:
        """The worst of several repetitions: the most resident pages seen."""
        states = list(states)
        if not states:
            return None
        return max(states, key=lambda s: (s.resident, s.pages))


def check(paths: Iterable[str | os.PathLike]) -> CacheState:
    files = pages = resident = 0
    for path in paths:
        r, n = resident_pages(path)
        files += 1
        pages += n
        resident += r
    return CacheState(files, pages, resident)


def _drop(path: str | os.PathLike) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fdatasync(fd)  # dirty pages cannot be dropped
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def evict(paths: Iterable[str | os.PathLike], tries: int = 3) -> CacheState:
    """Drop exactly `paths` from the page cache and check that no page of them is left."""
    paths = list(paths)
    state = CacheState(0, 0, 0)
    for attempt in range(tries):
        for path in paths:
            _drop(path)
        state = check(paths)
        if state.cold:
            break
        os.sync()
        time.sleep(0.2 * (attempt + 1))
    return state


def warm(path: str | os.PathLike, bufsize: int = 1 << 20) -> CacheState:
    """Read `path` whole so that every page is resident (a hot source for an upload)."""
    buf = bytearray(bufsize)
    with open(path, "rb", buffering=0) as f:
        while f.readinto(buf):
            pass
    return check([path])


def pending_writeback_kib() -> int:
    """Dirty plus writeback memory of the whole machine, in KiB."""
    total = 0
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith(_PENDING):
                    total += int(line.split()[1])
    except OSError:
        return 0
    return total


def quiesce(pause: float, timeout: float = 2.0) -> float:
    """sync, wait until writeback has drained (or `timeout`), then pause; seconds waited.

    sync(2) itself waits for the writeback of everything dirty when it is called, which
    includes the previous step's; the short poll after it lets what other processes keep
    dirtying drain too on a quiet machine, and gives up quickly on a busy one."""
    t0 = time.perf_counter()
    os.sync()
    while pending_writeback_kib() > QUIET_KIB and time.perf_counter() - t0 < timeout:
        time.sleep(0.05)
    if pause > 0:
        time.sleep(pause)
    return time.perf_counter() - t0


def describe(states: list[CacheState]) -> str:
    """One phrase for the page-cache state before each repetition of a figure."""
    if not states:
        return "page cache not checked"
    worst = CacheState.merge(states)
    assert worst is not None
    files = f" in {worst.files} files" if worst.files != 1 else ""
    if all(s.cold for s in states):
        return f"cold, 0 of {worst.pages} pages resident{files} ({worst.method}, each rep)"
    if all(s.hot for s in states):
        return f"hot, {worst.pages} of {worst.pages} pages resident{files} ({worst.method})"
    return (
        f"NOT COLD: up to {worst.resident} of {worst.pages} pages resident{files} ({worst.method})"
    )
