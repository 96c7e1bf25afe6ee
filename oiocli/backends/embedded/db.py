"""SQLite connections shared by the embedded namespace's databases.

WAL and a long busy timeout let many CLI processes (cron jobs) write at once;
`transaction()` retries BEGIN IMMEDIATE itself so that "database is locked"
never reaches a caller.
"""

from __future__ import annotations

import contextlib
import os
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from oiocli.exceptions import CorruptDatabase, ServiceBusy, StorageFull

BUSY_TIMEOUT_S = 60.0


def connect(path: str, synchronous: str = "FULL", create: bool = True) -> sqlite3.Connection:
    if not create and not os.path.exists(path):
        raise FileNotFoundError(path)
    try:
        conn = sqlite3.connect(
            path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
        )
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={synchronous}")
        conn.execute("PRAGMA foreign_keys=OFF")
    except sqlite3.DatabaseError as exc:
        raise_db_error(exc, path)
    if create:
        with contextlib.suppress(OSError):
            os.chmod(path, 0o600)
    return conn


def raise_db_error(exc: sqlite3.Error, path: str) -> None:
    text = str(exc)
    if "locked" in text or "busy" in text:
        raise ServiceBusy(f"Database {path} is busy, try again: {text}") from None
    if "full" in text or "disk I/O" in text:
        raise StorageFull(f"Cannot write database {path}: {text}") from None
    if isinstance(exc, sqlite3.DatabaseError) and (
        "malformed" in text or "not a database" in text or "corrupt" in text
    ):
        raise CorruptDatabase(f"Database {path} is corrupt: {text}") from None
    if "readonly" in text or "unable to open" in text:
        raise CorruptDatabase(f"Cannot open database {path}: {text}") from None
    raise CorruptDatabase(f"Database {path}: {text}") from None


class Database:
    """One SQLite file used from several threads: a connection per thread.

    Writers of this process queue on a Python lock (prompt wake-up) rather than
    in SQLite's busy handler, which sleeps; other processes are still kept out
    by SQLite's own locking. `group_commit` lets concurrent writers share one
    commit, hence one fsync of the WAL.
    """

    def __init__(self, path: str, synchronous: str = "FULL", create: bool = True) -> None:
        self.path = path
        self.synchronous = synchronous
        self._local = threading.local()
        self._write_lock = threading.Lock()
        self._queue: list[_Slot] = []
        self._queue_lock = threading.Lock()
        self._all: list[sqlite3.Connection] = []
        # Open one connection now so that a missing or corrupt file fails here.
        self._local.conn = connect(path, synchronous, create=create)
        self._all.append(self._local.conn)

    @property
    def conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = connect(self.path, self.synchronous, create=False)
            self._all.append(conn)
        return conn

    @contextlib.contextmanager
    def transaction(self, durable: bool = True) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT; fsync'd at commit unless not `durable`.

        A commit that is not durable survives a crash of the process, not of the
        machine: it reaches the disk with the next durable commit of this
        database (WAL frames are written in order) or the next checkpoint.
        """
        with self._write_lock:
            conn = self.conn
            if not durable and self.synchronous == "FULL":
                conn.execute("PRAGMA synchronous=NORMAL")
            try:
                with transaction(conn, self.path):
                    yield conn
            finally:
                if not durable and self.synchronous == "FULL":
                    conn.execute("PRAGMA synchronous=FULL")

    def group_commit(self, work: Callable[[sqlite3.Connection], Any]) -> Any:
        """Run `work(conn)` in a transaction it may share with concurrent callers.

        The first caller to get the lock commits every queued piece of work in one
        transaction; each piece runs in its own savepoint, so one failure only
        rolls back its own changes.
        """
        slot = _Slot(work)
        with self._queue_lock:
            self._queue.append(slot)
        with self._write_lock:
            if not slot.done:
                with self._queue_lock:
                    batch, self._queue = self._queue, []
                try:
                    with transaction(self.conn, self.path) as conn:
                        for each in batch:
                            conn.execute("SAVEPOINT work")
                            try:
                                each.result = each.work(conn)
                                conn.execute("RELEASE work")
                            except Exception as exc:
                                conn.execute("ROLLBACK TO work")
                                conn.execute("RELEASE work")
                                each.error = exc
                except BaseException as exc:
                    for each in batch:
                        if each.error is None:
                            each.error = exc
                for each in batch:
                    each.done = True
        if slot.error is not None:
            raise slot.error
        return slot.result

    def close(self) -> None:
        for conn in self._all:
            with contextlib.suppress(sqlite3.Error):
                conn.close()
        self._all.clear()
        self._local = threading.local()


class _Slot:
    __slots__ = ("work", "result", "error", "done")

    def __init__(self, work: Callable[[sqlite3.Connection], Any]) -> None:
        self.work = work
        self.result: Any = None
        self.error: BaseException | None = None
        self.done = False


@contextlib.contextmanager
def transaction(conn: sqlite3.Connection, path: str = "") -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE ... COMMIT, retried while another process holds the lock."""
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            conn.execute("BEGIN IMMEDIATE")
            break
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise_db_error(exc, path)
            if time.monotonic() > deadline:
                raise_db_error(exc, path)
            time.sleep(random.uniform(0.001, 0.02))
    try:
        yield conn
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")
        raise
    try:
        conn.execute("COMMIT")
    except sqlite3.Error as exc:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")
        raise_db_error(exc, path)
