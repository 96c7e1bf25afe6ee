"""MD5 of local files, and a cache of them by (path, size, mtime).

A sync compares a local file with an object by size, then by MD5; the cache
spares reading again the files that did not change since the last run. It is a
small SQLite file (<data dir>/cache/md5.sqlite on an embedded namespace, else
under $XDG_CACHE_HOME/oiocli), best effort: any error disables it for the rest
of the run, and a cache never fails a transfer.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
import time
from typing import Any

READ_SIZE = 1024 * 1024
# A file modified this recently may change again within its mtime's granularity:
# its MD5 is not cached ("racy git").
MD5_CACHE_MIN_AGE = 2.0


def md5_of_file(path: str) -> str:
    """The MD5 of a file's content, uppercase hexadecimal (as objects record it)."""
    md5 = hashlib.md5()
    with open(path, "rb", buffering=0) as f:
        buf = bytearray(READ_SIZE)
        view = memoryview(buf)
        while True:
            n = f.readinto(buf)
            if not n:
                break
            md5.update(view[:n])
    return md5.hexdigest().upper()


class Md5Cache:
    """MD5 of local files by (path, size, mtime), in a small SQLite file (thread safe).

    Best effort: any error disables it for the rest of the run.
    """

    def __init__(self, path: str | None) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._conn: Any = None
        self._pending = 0
        if path is None:
            return
        try:
            import sqlite3

            os.makedirs(os.path.dirname(path), 0o700, exist_ok=True)
            conn = sqlite3.connect(path, timeout=5, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS md5 (path TEXT PRIMARY KEY, size INTEGER, "
                "mtime_ns INTEGER, md5 TEXT)"
            )
            conn.commit()
            self._conn = conn
        except Exception:  # noqa: BLE001 - a cache never fails a transfer
            self._conn = None

    def get(self, path: str, size: int, mtime_ns: int) -> str | None:
        """The cached MD5 of `path` if its size and mtime are still those recorded."""
        if self._conn is None:
            return None
        key = os.path.abspath(path)
        with self._lock:
            try:
                row = self._conn.execute(
                    "SELECT size, mtime_ns, md5 FROM md5 WHERE path = ?", (key,)
                ).fetchone()
            except Exception:  # noqa: BLE001
                self._conn = None
                return None
        if row and row[0] == size and row[1] == mtime_ns:
            return row[2]
        return None

    def put(self, path: str, size: int, mtime_ns: int, md5: str) -> None:
        """Remember the MD5 of `path` (not if it was modified too recently to trust)."""
        if self._conn is None or time.time() - mtime_ns / 1e9 < MD5_CACHE_MIN_AGE:
            return
        key = os.path.abspath(path)
        with self._lock:
            try:
                self._conn.execute(
                    "INSERT OR REPLACE INTO md5 (path, size, mtime_ns, md5) VALUES (?, ?, ?, ?)",
                    (key, size, mtime_ns, md5),
                )
                self._pending += 1
                if self._pending >= 200:
                    self._conn.commit()
                    self._pending = 0
            except Exception:  # noqa: BLE001
                self._conn = None

    def md5(self, path: str, size: int, mtime_ns: int) -> str:
        """The MD5 of `path`: from the cache, else computed (and cached)."""
        cached = self.get(path, size, mtime_ns)
        if cached:
            return cached
        md5 = md5_of_file(path)
        self.put(path, size, mtime_ns, md5)
        return md5

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                with contextlib.suppress(Exception):
                    self._conn.commit()
                    self._conn.close()
                self._conn = None


def md5_cache_path(api: Any) -> str:
    """Where the cache lives: in the embedded namespace's data directory, else the
    user's cache directory."""
    data_dir = getattr(api, "data_dir", None)
    if data_dir:
        return os.path.join(data_dir, "cache", "md5.sqlite")
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "oiocli", "md5.sqlite")
