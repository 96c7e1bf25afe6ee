"""Pure helpers shared by the conformance scenarios (no backend knowledge here)."""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import threading
import time
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


def asynchronous(on: Any) -> bool:
    """Whether a backend helper's (or an API's) namespace applies some effects later."""
    return bool(
        getattr(on, "asynchronous", False)
        or getattr(getattr(on, "backend", None), "asynchronous", False)
    )


def eventually(check: Any, on: Any, what: str, timeout: float = 30.0) -> Any:
    """`check()` (which asserts), once on a backend whose effects are synchronous; polled
    until it passes on one where they are not (`on`, a backend helper or an API, says
    so: a real cluster deletes chunks and counts accounts in its event agents, a
    second or so later).

    Not a timed assertion: the deadline only bounds the wait for an effect that is
    asynchronous by design, and is generous; failing, it says what it waited for.
    """
    if not asynchronous(on):
        return check()
    from oiocli.core.exceptions import NoSuchAccount

    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except (AssertionError, NoSuchAccount) as exc:  # an account is created lazily too
            if time.monotonic() >= deadline:
                raise AssertionError(
                    f"{what}: still not so {timeout:.0f} s later (the cluster's event "
                    f"agents may be stuck: see their log): {exc}"
                ) from exc
        time.sleep(0.2)


def eventually_equal(get: Any, expected: Any, on: Any, what: str) -> None:
    """`get() == expected`, polled on an asynchronous backend (see `eventually`)."""

    def check() -> None:
        got = get()
        assert got == expected, f"{what}: {got!r}, expected {expected!r}"

    eventually(check, on, what)


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
