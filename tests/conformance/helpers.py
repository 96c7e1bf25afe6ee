"""Pure helpers shared by the conformance scenarios (no backend knowledge here)."""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

MiB = 1024 * 1024
DEFAULT_CHUNK_SIZE = 10 * MiB
EC_SEGMENT = MiB
ACCOUNT = "acct"

# Expected layout of every default policy, written down independently of oiocli's table.
POLICIES: dict[str, dict[str, Any]] = {
    "SINGLE": {"kind": "plain", "copies": 1},
    "TWOCOPIES": {"kind": "plain", "copies": 2},
    "THREECOPIES": {"kind": "plain", "copies": 3},
    "EC": {"kind": "ec", "k": 6, "m": 3},
    "EC21": {"kind": "ec", "k": 2, "m": 1},
    "ECISAL": {"kind": "ec", "k": 6, "m": 3},
    "ECLIBEC": {"kind": "ec", "k": 6, "m": 3},
    "EC21LIBEC": {"kind": "ec", "k": 2, "m": 1},
}


def md5hex(data: bytes) -> str:
    return hashlib.md5(data).hexdigest().upper()


def metachunk_size(policy: str, chunk_size: int) -> int:
    """OpenIO's rule: replicated = chunk size; EC = k x chunk size, rounded down to 1 MiB."""
    spec = POLICIES[policy]
    if spec["kind"] == "plain":
        return chunk_size
    size = spec["k"] * chunk_size
    if size > EC_SEGMENT:
        size -= size % EC_SEGMENT
    return size


def chunks_per_metachunk(policy: str) -> int:
    spec = POLICIES[policy]
    return spec["copies"] if spec["kind"] == "plain" else spec["k"] + spec["m"]


def fetch(api: Any, container: str, obj: str, account: str = ACCOUNT, **kwargs: Any) -> bytes:
    """The bytes of an object (or of `ranges=`), consuming the whole iterator."""
    with no_hang(what=f"fetch of {obj!r}"):
        _meta, stream = api.object_fetch(account, container, obj, **kwargs)
        return b"".join(stream)


def metachunk_index(chunk: dict[str, Any]) -> int:
    return int(str(chunk["pos"]).split(".")[0])


def by_metachunk(chunks: list[dict[str, Any]]) -> dict[int, list[dict[str, Any]]]:
    groups: dict[int, list[dict[str, Any]]] = {}
    for chunk in chunks:
        groups.setdefault(metachunk_index(chunk), []).append(chunk)
    return groups


def service_of(url: str) -> str:
    """The volume (embedded) or rawx service (proxy) part of a chunk URL."""
    return url.rsplit("/", 1)[0]


class Hang(AssertionError):
    """An operation that should end quickly did not end at all."""


@contextlib.contextmanager
def no_hang(seconds: float = 10.0, what: str = "operation"):
    """Turn a hang (an endless loop) into a test failure instead of a stuck suite.

    Not a performance assertion: the bound is orders of magnitude above the
    normal duration; it only keeps a looping bug from blocking the whole run.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def alarm(_signum, _frame):
        raise Hang(f"{what} did not finish within {seconds:.0f} s (endless loop?)")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class ChunkFiles:
    """Fault injection on chunk files; a backend gives `chunk_path(url)`."""

    def chunk_path(self, url: str) -> str:
        raise NotImplementedError

    def delete_chunk(self, url: str) -> None:
        os.unlink(self.chunk_path(url))

    def corrupt_chunk(self, url: str, offset: int = 100) -> None:
        """Flip one byte of the chunk's data (the file is `data | meta | crc table | footer`)."""
        path = self.chunk_path(url)
        with open(path, "r+b") as f:
            f.seek(offset)
            byte = f.read(1)
            assert len(byte) == 1, f"offset {offset} is past the end of {path}"
            f.seek(offset)
            f.write(bytes([byte[0] ^ 0xFF]))

    @contextlib.contextmanager
    def preserved_chunks(self, urls: list[str]) -> Iterator[None]:
        """Restore the chunks of `urls` (deleted or corrupted inside the block) on exit."""
        saved = {}
        for url in urls:
            path = self.chunk_path(url)
            saved[path] = Path(path).read_bytes()
        try:
            yield
        finally:
            for path, data in saved.items():
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)  # never write through a hard link shared with another chunk
                Path(path).write_bytes(data)
