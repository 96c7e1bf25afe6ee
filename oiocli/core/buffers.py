"""Memory knobs for the data path.

Touching fresh memory is expensive on the machines we run on (~3.4 us a page),
and glibc gives freed heap back to the kernel by default, so every chunk-sized
bytes object pyeclib or hashlib allocates is faulted in again. Keeping freed
memory in the heap removes that cost (ISA-L encode: 0.6 -> 10 GB/s).
"""

from __future__ import annotations

_M_TRIM_THRESHOLD = -1
_M_TOP_PAD = -2
_M_MMAP_THRESHOLD = -3
# glibc's largest allowed mmap threshold on 64-bit (HEAP_MAX_SIZE / 2).
_MMAP_THRESHOLD_MAX = 32 * 1024 * 1024
_done = False


def keep_freed_memory(pad: int = 64 * 1024 * 1024) -> None:
    """Ask glibc to keep up to `pad` bytes of freed heap instead of trimming it."""
    global _done
    if _done:
        return
    _done = True
    import ctypes  # only when the data path runs: it costs CLI start-up time
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return
    mallopt(_M_TOP_PAD, pad)
    mallopt(_M_TRIM_THRESHOLD, 2 * pad)
    # Setting either knob above freezes glibc's mmap threshold at 128 KiB: every
    # segment or fragment buffer would then be a fresh mmap, faulted in page by
    # page and unmapped when freed (EC reads: 0.3 -> 1.7 GB/s with this line).
    mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_MAX)


class BufferPool:
    """Reusable bytearrays, so the data path never allocates per chunk.

    Buffers are allocated on first need, up to `limit`, then recycled; `get`
    blocks while all are in use. One pool serves every upload of a process
    (see `shared_pool`), so fresh memory is paid once, not once per object.
    """

    def __init__(self, size: int, limit: int) -> None:
        import threading

        self.size = size
        self.limit = limit
        self._free: list[bytearray] = []
        self._allocated = 0
        self._cond = threading.Condition()

    def get(self) -> bytearray:
        with self._cond:
            while not self._free and self._allocated >= self.limit:
                self._cond.wait()
            if self._free:
                return self._free.pop()
            self._allocated += 1
        return bytearray(self.size)

    def in_use(self) -> int:
        """Buffers handed out and not yet given back (0 whenever no upload runs)."""
        with self._cond:
            return self._allocated - len(self._free)

    def put(self, buf: bytearray) -> None:
        with self._cond:
            self._free.append(buf)
            self._cond.notify()


_shared: dict[int, BufferPool] = {}


def shared_pool(size: int, limit: int = 64) -> BufferPool:
    """The process-wide pool of `size`-byte buffers (memory bound: size x limit)."""
    pool = _shared.get(size)
    if pool is None:
        pool = _shared.setdefault(size, BufferPool(size, limit))
    return pool
