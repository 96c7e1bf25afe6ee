"""A bandwidth limit shared by every transfer of a process (`oio --bwlimit 10M`).

A token bucket: each byte read from an upload's source or handed out by a
download takes a token; tokens come back at `rate` per second, up to `burst`.
A transfer that takes more than there are waits for the debt to be paid back,
so the rate is measured over the bytes actually moved and the time actually
spent (a slow disk or network already "paid"), not a fixed sleep per buffer.
One bucket serves every thread of the process: eight uploads at once share
the limit, they do not get eight times it. The clock and sleep can be given,
so that the accounting can be checked without waiting.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from oiocli.core.exceptions import BadRequest
from oiocli.core.units import parse_rate

__all__ = ["Throttle", "parse_rate"]

# The burst allowed after an idle time: enough for a read buffer or two.
MAX_BURST = 1024 * 1024


class Throttle:
    """The token bucket; `consume(n)` returns once `n` bytes fit under the limit."""

    def __init__(
        self,
        rate: float,
        burst: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Any] = time.sleep,
    ) -> None:
        if rate <= 0:
            raise BadRequest(f"Invalid bandwidth {rate!r}: a positive number of bytes per second")
        self.rate = float(rate)
        self.burst = float(burst if burst is not None else min(self.rate, MAX_BURST))
        self.clock = clock
        self.sleep = sleep
        self._lock = threading.Lock()
        self._tokens = self.burst
        self._last = clock()
        self.bytes = 0  # counted so far
        self.waited = 0.0  # seconds spent waiting for the limit

    def consume(self, nbytes: int) -> None:
        if nbytes <= 0:
            return
        with self._lock:
            now = self.clock()
            self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
            self._last = now
            self._tokens -= nbytes
            self.bytes += nbytes
            wait = -self._tokens / self.rate if self._tokens < 0 else 0.0
            self.waited += wait
        if wait > 0:
            self.sleep(wait)

    def iterate(self, pieces: Iterable[Any]) -> Iterator[Any]:
        """`pieces` (bytes-like), each counted before it is handed on."""
        try:
            for piece in pieces:
                self.consume(len(memoryview(piece).cast("B")))
                yield piece
        finally:
            close = getattr(pieces, "close", None)
            if close is not None:
                close()

    def source(self, source: Any) -> ThrottledSource:
        return ThrottledSource(source, self)


class ThrottledSource:
    """An upload's `Source` (`oiocli.io.pipeline`) whose reads count against a Throttle."""

    def __init__(self, source: Any, throttle: Throttle) -> None:
        self._source = source
        self._throttle = throttle

    def readinto(self, view: memoryview) -> int:
        got: int = self._source.readinto(view)
        self._throttle.consume(got)
        return got

    def __getattr__(self, name: str) -> Any:  # size_hint, close, ...
        return getattr(self._source, name)
