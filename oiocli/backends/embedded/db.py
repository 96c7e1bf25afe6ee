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
import time
from collections.abc import Iterator

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
