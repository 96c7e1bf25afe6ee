"""Threads that consume a stream of pooled buffers, and sources read into them.

hashlib, zlib and file writes release the GIL on large buffers, so handing each
buffer to one thread per consumer (object MD5, metachunk MD5, one writer per
chunk) lets them run in parallel on several cores without copying the data.
"""

from __future__ import annotations

import io
import os
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from oiocli.core.exceptions import FileNotFound, MissingData

_STOP = object()


class SharedBuffer:
    """A pooled buffer handed to several consumers; back to the pool when all are done."""

    __slots__ = ("view", "_buf", "_pool", "_count", "_lock")

    def __init__(self, buf: bytearray, length: int, pool: Any) -> None:
        self._buf = buf
        self.view = memoryview(buf)[:length]
        self._pool = pool
        self._count = 1  # the producer's own reference
        self._lock = threading.Lock()

    def retain(self) -> None:
        with self._lock:
            self._count += 1

    def release(self) -> None:
        with self._lock:
            self._count -= 1
            done = self._count == 0
            if self._count < 0:
                # Pooling it a second time would hand one buffer to two uploads.
                raise RuntimeError("pooled buffer released twice")
        if done and self._pool is not None:
            self.view.release()
            self._pool.put(self._buf)


class Consumer(threading.Thread):
    """Runs `target(iterator)` in a thread; the iterator yields what `submit` sends."""

    def __init__(self, target: Callable[[Iterator[Any]], Any], depth: int = 4) -> None:
        super().__init__(daemon=True)
        self._target = target
        self._queue: queue.Queue[Any] = queue.Queue(depth)
        self.result: Any = None
        self.error: BaseException | None = None
        self.start()

    def _items(self) -> Iterator[Any]:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            if isinstance(item, SharedBuffer):
                try:
                    yield item.view
                finally:
                    item.release()
            else:
                yield item

    def run(self) -> None:
        items = self._items()
        try:
            self.result = self._target(items)
            # Drain what the target did not consume, so buffers return to the pool.
            for _ in items:
                pass
        except BaseException as exc:  # reported to the producer through .error
            self.error = exc
            for _ in items:
                pass

    def submit(self, item: Any) -> None:
        if isinstance(item, SharedBuffer):
            item.retain()
        self._queue.put(item)

    def close(self) -> None:
        """No more items: let the target finish on its own."""
        self._queue.put(_STOP)

    def finish(self) -> Any:
        self.close()
        self.join()
        return self.result

    def stop(self) -> None:
        """Abandon the stream: wait until every submitted buffer is given back."""
        self.finish()


class InlineConsumer:
    """A Consumer that runs `target` in the caller's thread when closed.

    For data that fits in one buffer (small objects) a thread per consumer costs
    more than the work itself: the items are kept until `close`, then consumed.
    """

    def __init__(self, target: Callable[[Iterator[Any]], Any]) -> None:
        self._target = target
        self._items: list[Any] = []
        self._open = True
        self.result: Any = None
        self.error: BaseException | None = None

    def submit(self, item: Any) -> None:
        if isinstance(item, SharedBuffer):
            item.retain()
        self._items.append(item)

    def close(self) -> None:
        if not self._open:
            return
        self._open = False
        items = self._items
        try:
            self.result = self._target(
                item.view if isinstance(item, SharedBuffer) else item for item in items
            )
        except Exception as exc:  # reported through .error, as a Consumer thread does
            self.error = exc
        finally:
            self._release_items()

    def finish(self) -> Any:
        self.close()
        return self.result

    def stop(self) -> None:
        """Abandon the stream without consuming it (no write is started on a failure)."""
        self._open = False
        self._release_items()

    def _release_items(self) -> None:
        items, self._items = self._items, []
        for item in items:
            if isinstance(item, SharedBuffer):
                item.release()

    def join(self, timeout: float | None = None) -> None:
        """Nothing runs in the background."""

    def is_alive(self) -> bool:
        return self._open


def _hash_items(hasher: Any) -> Callable[[Iterator[memoryview]], Any]:
    def run(items: Iterator[memoryview]) -> Any:
        for view in items:
            hasher.update(view)
        return hasher

    return run


def hash_consumer(hasher: Any, inline: bool = False) -> Consumer | InlineConsumer:
    if inline:
        return InlineConsumer(_hash_items(hasher))
    return Consumer(_hash_items(hasher), depth=8)


class Source:
    """Uniform `readinto` over a path, a file-like object, bytes or an iterable of bytes."""

    def __init__(self, file_or_path: Any = None, data: Any = None) -> None:
        self._close = False
        self._iter: Iterator[bytes] | None = None
        self._left = memoryview(b"")
        self._file: Any = None
        if file_or_path is not None:
            if isinstance(file_or_path, str | bytes | os.PathLike):
                path = os.fspath(file_or_path)
                if os.path.isdir(path):
                    raise FileNotFound(f"{os.fsdecode(path)!r} is a directory, not a file")
                try:
                    self._file = open(path, "rb", buffering=0)  # noqa: SIM115
                except FileNotFoundError:
                    raise FileNotFound(f"File not found: {os.fsdecode(path)!r}") from None
                except PermissionError:
                    raise FileNotFound(f"Permission denied: {os.fsdecode(path)!r}") from None
                self._close = True
            elif hasattr(file_or_path, "readinto") or hasattr(file_or_path, "read"):
                self._file = file_or_path
            else:
                raise MissingData(
                    f"Cannot upload from {type(file_or_path).__name__} {file_or_path!r}: "
                    "give a path or a file object open for reading"
                )
        elif data is not None:
            if isinstance(data, bytes | bytearray | memoryview):
                self._file = io.BytesIO(data)
            elif isinstance(data, str):
                self._file = io.BytesIO(data.encode())
            elif isinstance(data, Iterable):
                self._iter = iter(data)
            else:
                raise MissingData(f"Unsupported data type {type(data).__name__}")
        else:
            raise MissingData("Neither a file nor data to upload")
        if self._file is not None and not hasattr(self._file, "readinto"):
            self._iter = iter(lambda: self._file.read(1024 * 1024), b"")
            self._file = None

    def readinto(self, view: memoryview) -> int:
        """Fill `view` as far as possible; fewer bytes only at the end of the data."""
        filled = 0
        want = len(view)
        while filled < want:
            if self._file is not None:
                got = self._file.readinto(view[filled:])
                if not got:
                    break
                filled += got
                continue
            if not self._left:
                try:
                    piece = next(self._iter)  # type: ignore[arg-type]
                except StopIteration:
                    break
                if isinstance(piece, str):
                    piece = piece.encode()
                self._left = memoryview(piece)
                continue
            take = min(len(self._left), want - filled)
            view[filled : filled + take] = self._left[:take]
            self._left = self._left[take:]
            filled += take
        return filled

    def size_hint(self) -> int | None:
        if self._file is None:
            return None
        try:
            st = os.fstat(self._file.fileno())
        except (AttributeError, OSError, io.UnsupportedOperation):
            return None
        if not os.path.isfile(f"/proc/self/fd/{self._file.fileno()}") and st.st_size == 0:
            return None
        try:
            position: int = self._file.tell()
            return st.st_size - position
        except OSError:
            return None

    def close(self) -> None:
        if self._close and self._file is not None:
            self._file.close()
