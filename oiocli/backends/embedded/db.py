"""SQLite connections shared by the embedded namespace's databases.

WAL and a long busy timeout let many CLI processes (cron jobs) write at once;
`transaction()` retries BEGIN IMMEDIATE itself so that "database is locked"
never reaches a caller.

A database SQLite cannot write (read-only mount, chmod -w on the file or its
directory) is opened read-only: reads work, and a write fails up front with
Forbidden ("... is read-only"), before it changes anything.
"""

from __future__ import annotations

import contextlib
import os
import random
import sqlite3
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from typing import Any

from oiocli.core.exceptions import (
    CorruptDatabase,
    Forbidden,
    ServerException,
    ServiceBusy,
    StorageFull,
)
from oiocli.core.fsutil import mount_point

BUSY_TIMEOUT_S = 60.0


class ReadOnlyConnection(sqlite3.Connection):
    """A connection opened read-only because the database cannot be written."""

    reason = "read-only"


def _why_not_writable(path: str) -> str | None:
    """None when SQLite can write `path` (the file and, for its WAL, its directory)."""
    directory = os.path.dirname(os.path.abspath(path))
    if os.access(path, os.W_OK) and os.access(directory, os.W_OK | os.X_OK):
        return None
    return _denied(directory)


def _denied(directory: str) -> str:
    with contextlib.suppress(OSError):
        if os.statvfs(directory).f_flag & os.ST_RDONLY:
            return "read-only file system"
    return "permission denied"


def _connect_read_only(path: str, reason: str) -> sqlite3.Connection:
    """Open an existing database read-only (no WAL pragma: nothing is written).

    SQLite reads a WAL database read-only when its -wal and -shm files exist or
    can be made. When neither can (read-only directory) and there is no WAL to
    replay, the main file holds every commit: it is opened `immutable`, which
    needs no -shm. A non-empty -wal without its -shm cannot be read safely
    (immutable would skip its commits): that is refused.
    """
    directory = os.path.dirname(os.path.abspath(path))
    wal, shm = path + "-wal", path + "-shm"
    uri = "file:" + urllib.parse.quote(os.path.abspath(path)) + "?mode=ro"
    wal_size = os.path.getsize(wal) if os.path.exists(wal) else 0
    if not (os.path.exists(wal) and os.path.exists(shm)) and not os.access(
        directory, os.W_OK | os.X_OK
    ):
        if wal_size:
            raise Forbidden(
                f"Cannot read database {path}: it is read-only ({reason}) and its "
                f"write-ahead log {wal} has commits to replay; make it writable once"
            )
        uri += "&immutable=1"
    try:
        conn = sqlite3.connect(
            uri,
            uri=True,
            timeout=BUSY_TIMEOUT_S,
            isolation_level=None,
            check_same_thread=False,
            factory=ReadOnlyConnection,
        )
        conn.execute("PRAGMA foreign_keys=OFF")
        conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()  # fail here, not later
    except sqlite3.DatabaseError as exc:
        raise_db_error(exc, path)
    conn.reason = reason
    return conn


def connect(path: str, synchronous: str = "FULL", create: bool = True) -> sqlite3.Connection:
    """A connection to `path`; with `create` False, FileNotFoundError if it is not there.

    Without `create` the file is opened so that SQLite never makes it: a
    container database deleted by another process between a check and the
    open must not come back as an empty file at its path.
    """
    if not create and not os.path.exists(path):
        raise FileNotFoundError(path)
    if os.path.exists(path):
        reason = _why_not_writable(path)
        if reason is not None:
            return _connect_read_only(path, reason)
    target, uri = path, False
    if not create:
        target, uri = "file:" + urllib.parse.quote(os.path.abspath(path)) + "?mode=rw", True
    try:
        conn = sqlite3.connect(
            target, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False, uri=uri
        )
    except sqlite3.OperationalError as exc:
        if not create and not os.path.exists(path):
            raise FileNotFoundError(path) from None
        raise_db_error(exc, path)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={synchronous}")
        conn.execute("PRAGMA foreign_keys=OFF")
    except sqlite3.DatabaseError as exc:
        raise_db_error(exc, path)
    if create:
        with contextlib.suppress(OSError):
            os.chmod(path, 0o600)
    return conn


def check_writable(conn: sqlite3.Connection, path: str) -> None:
    """Forbidden when `conn` was opened read-only: before a write changes anything."""
    if isinstance(conn, ReadOnlyConnection):
        raise Forbidden(f"Cannot write database {path}: the namespace is read-only ({conn.reason})")


def space_note(path: str) -> str:
    """Which file system holds `path`, how much room is left there, and the file size limit.

    SQLite says only "database or disk is full" or "disk I/O error": this says
    where, so an operator knows what to free (or which limit was hit).
    """
    directory = os.path.dirname(os.path.abspath(path))
    note = f"file system {mount_point(directory)}"
    with contextlib.suppress(OSError):
        st = os.statvfs(directory)
        note += f", {st.f_bavail * st.f_frsize} bytes free"
    import resource

    soft, _hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    if soft != resource.RLIM_INFINITY:
        note += f", file size limit {soft} bytes"
    return note


def raise_db_error(exc: sqlite3.Error, path: str) -> None:
    text = str(exc)
    if "locked" in text or "busy" in text:
        raise ServiceBusy(f"Database {path} is busy, try again: {text}") from None
    if "full" in text:
        raise StorageFull(f"No space left to write database {path} ({space_note(path)})") from None
    if "disk I/O" in text:
        raise StorageFull(
            f"Cannot write database {path}: disk I/O error ({space_note(path)})"
        ) from None
    if isinstance(exc, sqlite3.DatabaseError) and (
        "malformed" in text or "not a database" in text or "corrupt" in text
    ):
        raise CorruptDatabase(f"Database {path} is corrupt: {text}") from None
    # Permissions and read-only mounts: not corruption (exit 6), nothing to repair.
    if "readonly" in text:
        reason = _why_not_writable(path) if os.path.exists(path) else None
        raise Forbidden(
            f"Cannot write database {path}: the namespace is read-only "
            f"({reason or 'read-only database'})"
        ) from None
    if "unable to open" in text:
        directory = os.path.dirname(os.path.abspath(path))
        if os.path.exists(path):
            if not os.access(path, os.R_OK):
                raise Forbidden(f"Cannot open database {path}: permission denied") from None
        elif os.path.isdir(directory) and not os.access(directory, os.W_OK | os.X_OK):
            raise Forbidden(
                f"Cannot create database {path}: the namespace is read-only ({_denied(directory)})"
            ) from None
        raise ServerException(f"Cannot open database {path}: {text}") from None
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
        # Called with the connection right after BEGIN IMMEDIATE of every write
        # transaction: what must still hold once no other writer can change it.
        self.verify: Callable[[sqlite3.Connection], None] | None = None
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
            conn = self._local.conn = self.reconnect()
            self._all.append(conn)
        return conn

    def reconnect(self) -> sqlite3.Connection:
        """A connection for another thread (the file must still exist)."""
        return connect(self.path, self.synchronous, create=False)

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
                    if self.verify is not None:
                        self.verify(conn)
                    yield conn
            finally:
                if not durable and self.synchronous == "FULL":
                    conn.execute("PRAGMA synchronous=FULL")

    def group_commit(self, work: Callable[[sqlite3.Connection], Any], durable: bool = True) -> Any:
        """Run `work(conn)` in a transaction it may share with concurrent callers.

        The first caller to get the lock commits every queued piece of work in one
        transaction; each piece runs in its own savepoint, so one failure only
        rolls back its own changes. The shared commit is durable when any piece
        asked for it (see `transaction` for what a commit that is not durable means).
        """
        slot = _Slot(work, durable)
        with self._queue_lock:
            self._queue.append(slot)
        with self._write_lock:
            if not slot.done:
                with self._queue_lock:
                    batch, self._queue = self._queue, []
                relaxed = self.synchronous == "FULL" and not any(each.durable for each in batch)
                try:
                    if relaxed:
                        self.conn.execute("PRAGMA synchronous=NORMAL")
                    with transaction(self.conn, self.path) as conn:
                        if self.verify is not None:
                            self.verify(conn)
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
                finally:
                    if relaxed:
                        with contextlib.suppress(sqlite3.Error):
                            self.conn.execute("PRAGMA synchronous=FULL")
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
    __slots__ = ("work", "durable", "result", "error", "done")

    def __init__(self, work: Callable[[sqlite3.Connection], Any], durable: bool = True) -> None:
        self.work = work
        self.durable = durable
        self.result: Any = None
        self.error: BaseException | None = None
        self.done = False


@contextlib.contextmanager
def transaction(conn: sqlite3.Connection, path: str = "") -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE ... COMMIT, retried while another process holds the lock."""
    check_writable(conn, path)
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
