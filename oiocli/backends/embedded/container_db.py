"""One container's database (OpenIO's meta2): its schema, its rows, its file.

Each creation of a container gets a database file of its own,
`containers/XY/<CID>.<tag>.db` (`<tag>` is random; containers made by older
versions keep `<CID>.db`), and namespace.db records which file is the
container's. A process may keep a deleted container's database open (SQLite
keeps accepting writes to an unlinked file, that nobody will ever read); so
every write transaction on a container checks, once it holds the write lock,
that its file is still the registered one and not being deleted
(`ContainerDB.verify`), and a stale handle is dropped and the operation retried
on the current one. A file name is never reused, so a process closing an old
handle (SQLite then removes `<file>-wal` by name) never touches another
container's files.

Rows are read by name: `AliasRow` is the shape of an `aliases` row.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import time
from typing import TYPE_CHECKING, Any, NamedTuple, cast

from oiocli.backends.embedded import db
from oiocli.core.exceptions import NoSuchContainer, NoSuchObject, OioException

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Mapping

    from oiocli.backends.base import ContentRecord

# sys.status values, OpenIO's (OIO_DB_ENABLED, OIO_DB_FROZEN = (guint32)-1, OIO_DB_DISABLED).
STATUS_ENABLED = 0
STATUS_FROZEN = 2**32 - 1
STATUS_DISABLED = 2**32 - 2
# What earlier oiocli versions stored for frozen and disabled: read as such.
LEGACY_STATUSES = {0x2000000: STATUS_FROZEN, 0x4000000: STATUS_DISABLED}
STATUS_NAMES = {STATUS_ENABLED: "Enabled", STATUS_FROZEN: "Frozen", STATUS_DISABLED: "Disabled"}
STATUS_NAMES.update({old: STATUS_NAMES[new] for old, new in LEGACY_STATUSES.items()})


def container_status(props: dict[str, str]) -> int:
    """A container's status (one of STATUS_*) from its properties."""
    value = int(props.get("sys.status") or 0)
    return LEGACY_STATUSES.get(value, value)


M2_SCHEMA = """
CREATE TABLE IF NOT EXISTS props (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS aliases (
    name TEXT NOT NULL, version INTEGER NOT NULL, content TEXT, deleted INTEGER NOT NULL,
    latest INTEGER NOT NULL DEFAULT 1, ctime REAL, mtime REAL, size INTEGER, hash TEXT,
    policy TEXT, chunk_method TEXT, mime_type TEXT, properties TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (name, version DESC)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS aliases_latest ON aliases (name) WHERE latest = 1;
CREATE INDEX IF NOT EXISTS aliases_content ON aliases (content);
CREATE TABLE IF NOT EXISTS chunks (
    content TEXT NOT NULL, pos TEXT NOT NULL, url TEXT NOT NULL, size INTEGER, hash TEXT,
    chunk_size INTEGER, chunk_hash TEXT);
CREATE INDEX IF NOT EXISTS chunks_content ON chunks (content);
CREATE INDEX IF NOT EXISTS chunks_url ON chunks (url);
"""

# `hash` and `size` are the metachunk's (OpenIO's meta2 semantics); `chunk_size`
# and `chunk_hash` an EC fragment's own (NULL for replicas, and `chunk_hash` for
# fragments written before it was recorded).
CHUNK_COLUMNS = ("content", "pos", "url", "size", "hash", "chunk_size", "chunk_hash")


def _chunk_insert(columns: tuple[str, ...]) -> str:
    return f"INSERT INTO chunks ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"


class AliasRow(NamedTuple):
    """One row of the `aliases` table (an object version or a delete marker)."""

    name: str
    version: int
    content: str | None  # the content id; None for a delete marker
    deleted: int  # 1: a delete marker
    latest: int  # 1: the newest version of its name
    ctime: float
    mtime: float
    size: int | None
    hash: str | None
    policy: str | None
    chunk_method: str | None  # "drained": the data was dropped on purpose
    mime_type: str | None
    properties: str  # JSON object

    @property
    def content_id(self) -> str:
        """The content id of an object version (a delete marker has none)."""
        if self.content is None:
            raise NoSuchObject(f"{self.name!r} version {self.version} is a delete marker")
        return self.content


ALIAS_COLUMNS = ", ".join(AliasRow._fields)


def compute_cid(account: str, container: str) -> str:
    return hashlib.sha256(account.encode() + b"\0" + container.encode()).hexdigest().upper()


def now_us() -> int:
    return int(time.time() * 1_000_000)


def alias_dict(
    row: AliasRow, account: str, container: str, with_props: bool = True
) -> ContentRecord:
    """An object's description as the API gives it (OpenIO's names for the fields)."""
    # Listings convert up to 10,000 rows per page: keep this cheap.
    meta = {
        "name": row.name,
        "version": row.version,
        "id": row.content,
        "deleted": row.deleted == 1,
        "is_latest": row.latest == 1,
        "ctime": row.ctime,
        "mtime": row.mtime,
        "size": row.size,
        "hash": row.hash,
        "policy": row.policy,
        "chunk_method": row.chunk_method,
        "mime_type": row.mime_type,
        "content": row.content,
        "length": row.size,
        "hash_method": "md5",
        "container": container,
        "account": account,
    }
    if with_props:
        meta["properties"] = json.loads(row.properties or "{}")
    return cast("ContentRecord", meta)  # every field of the record is set above


def fetch_alias(conn: sqlite3.Connection, where: str, args: Iterable[Any]) -> AliasRow | None:
    """The one `aliases` row matching `where` (SQL on its columns), or None."""
    row = conn.execute(f"SELECT {ALIAS_COLUMNS} FROM aliases WHERE {where}", tuple(args)).fetchone()
    return None if row is None else AliasRow._make(row)


class StaleContainer(NoSuchContainer):
    """A handle on a container database that is no longer the registered one."""


class ContainerBeingDeleted(NoSuchContainer):
    """The container is being deleted: it accepts no more writes."""


# The property that marks a container database as being deleted (see
# Namespace.container_delete in namespace.py).
DELETED_PROP = "sys.m2.deleted"
# What `registered` answers for a container namespace.db does not list.
UNREGISTERED = object()


class ContainerDB(db.Database):
    """One container's database (OpenIO meta2).

    `registered(cid)` tells which database file namespace.db lists for the
    container now (None: the legacy `<CID>.db`; UNREGISTERED: none): every write
    transaction checks it (see the module docstring).
    """

    def __init__(
        self,
        path: str,
        account: str,
        name: str,
        cid: str,
        dbfile: str | None = None,
        registered: Callable[[str], Any] | None = None,
    ) -> None:
        self.account = account
        self.name = name
        self.cid = cid
        self.dbfile = dbfile
        self._registered = registered
        super().__init__(path, "FULL", create=False)
        if registered is not None:
            self.verify = self._verify_current
        self.chunk_hash_column = self._add_chunk_hash_column()

    def reconnect(self) -> sqlite3.Connection:
        try:
            return super().reconnect()
        except FileNotFoundError:
            raise StaleContainer(
                f"Container {self.name!r} not found in account {self.account!r} (deleted)"
            ) from None

    @contextlib.contextmanager
    def transaction(self, durable: bool = True) -> Iterator[sqlite3.Connection]:
        with self._stale_if_gone():
            with super().transaction(durable) as conn:
                yield conn

    def group_commit(self, work: Any, durable: bool = True) -> Any:
        with self._stale_if_gone():
            return super().group_commit(work, durable)

    @contextlib.contextmanager
    def _stale_if_gone(self) -> Iterator[None]:
        """A database error on a file deleted meanwhile means the container is gone.

        A delete in another thread of this process removes the file and its WAL
        while this handle is in use: SQLite then fails with "disk I/O error"
        before the transaction's own check could say the handle is stale.
        """
        try:
            yield
        except StaleContainer:
            raise
        except OioException as exc:
            if self._registered is None:
                raise
            if os.path.exists(self.path) and self._registered(self.cid) == self.dbfile:
                raise
            raise StaleContainer(
                f"Container {self.name!r} not found in account {self.account!r} (deleted)"
            ) from exc

    def _verify_current(self, conn: sqlite3.Connection) -> None:
        """In a write transaction: this file is the container's, which is not being deleted.

        The delete holds this database's write lock while it marks it, so a
        writer that gets the lock afterwards sees the mark or the new registration.
        """
        registered = self._registered
        if registered is None or registered(self.cid) != self.dbfile:
            raise StaleContainer(
                f"Container {self.name!r} not found in account {self.account!r} (deleted)"
            )
        try:
            deleted = conn.execute("SELECT 1 FROM props WHERE key = ?", (DELETED_PROP,)).fetchone()
        except sqlite3.DatabaseError as exc:
            db.raise_db_error(exc, self.path)
        if deleted:
            raise ContainerBeingDeleted(
                f"Container {self.name!r} not found in account {self.account!r} (being deleted)"
            )

    def insert_chunks(
        self, conn: sqlite3.Connection, content: str, chunks: Iterable[Mapping[str, Any]]
    ) -> None:
        columns = CHUNK_COLUMNS if self.chunk_hash_column else CHUNK_COLUMNS[:-1]
        conn.executemany(
            _chunk_insert(columns),
            [
                (
                    content,
                    c["pos"],
                    c["url"],
                    c["size"],
                    c["hash"],
                    c.get("chunk_size"),
                    c.get("chunk_hash"),
                )[: len(columns)]
                for c in chunks
            ],
        )

    def _add_chunk_hash_column(self) -> bool:
        """Containers made before EC fragment hashes were recorded get the column.

        Adding a column rewrites nothing in SQLite. When it cannot be added (a
        read-only database) the container stays readable: its chunks have no
        fragment hash, as before.
        """
        try:
            columns = table_columns(self.conn, "chunks")
            if "chunk_hash" in columns:
                return True
            if isinstance(self.conn, db.ReadOnlyConnection):
                return False
            with self.transaction() as conn:
                columns = table_columns(conn, "chunks")
                if "chunk_hash" not in columns:
                    conn.execute("ALTER TABLE chunks ADD COLUMN chunk_hash TEXT")
            return True
        except (sqlite3.DatabaseError, OioException):
            return False

    @contextlib.contextmanager
    def read_snapshot(self) -> Iterator[sqlite3.Connection]:
        """Several reads that see one state of the database (a read transaction)."""
        conn = self.conn
        if conn.in_transaction:
            yield conn
            return
        try:
            conn.execute("BEGIN")
        except sqlite3.DatabaseError as exc:
            db.raise_db_error(exc, self.path)
        try:
            yield conn
        finally:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("COMMIT")

    def props(self) -> dict[str, str]:
        try:
            return dict(self.conn.execute("SELECT key, value FROM props"))
        except sqlite3.DatabaseError as exc:
            db.raise_db_error(exc, self.path)
            raise


def table_columns(conn: sqlite3.Connection, table: str) -> set[str]:
    """The names of a table's columns."""
    return {name for (name,) in conn.execute("SELECT name FROM pragma_table_info(?)", (table,))}


def bump_stats(conn: sqlite3.Connection, d_objects: int, d_bytes: int) -> None:
    """In a write transaction: add a change to the container's own counters, touch its mtime."""
    if d_objects or d_bytes:
        conn.execute(
            "UPDATE props SET value = CAST(value AS INTEGER) + ? WHERE key = 'sys.m2.objects'",
            (d_objects,),
        )
        conn.execute(
            "UPDATE props SET value = CAST(value AS INTEGER) + ? WHERE key = 'sys.m2.usage'",
            (d_bytes,),
        )
    conn.execute("INSERT OR REPLACE INTO props VALUES ('sys.m2.mtime', ?)", (str(now_us()),))


def recount(conn: sqlite3.Connection) -> tuple[int, int]:
    """(objects, bytes) the container holds, counted from its aliases."""
    objects, nbytes = conn.execute(
        "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM aliases WHERE deleted = 0"
    ).fetchone()
    return objects, nbytes


def unlink_db(path: str) -> None:
    """Remove a database file and its journals (each may be absent)."""
    for suffix in ("", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path + suffix)


def copy_database(src: ContainerDB, dst_path: str) -> None:
    """Consistent copy of a container database (SQLite online backup).

    A separate connection reads, so the caller may hold the write lock on `src`
    to keep writers out while it finishes the copy.
    """
    reader = sqlite3.connect(f"file:{src.path}?mode=ro", uri=True, timeout=db.BUSY_TIMEOUT_S)
    dst = sqlite3.connect(dst_path)
    try:
        reader.backup(dst)
    except sqlite3.DatabaseError as exc:
        db.raise_db_error(exc, src.path)
    finally:
        dst.close()
        reader.close()
