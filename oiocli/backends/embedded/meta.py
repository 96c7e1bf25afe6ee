"""Embedded namespace metadata: the work of OpenIO's account service, meta1 and meta2.

Layout of a namespace directory::

    namespace.json                 settings (chunk size, policies, volumes), written once
    namespace.db                   accounts, the container directory with stats, events
    containers/XY/<CID>.<tag>.db   one database per container (meta2: aliases, chunks)
    volumes/vol-N/                 chunk files (see chunks.py)

Each creation of a container gets a database file of its own (`<tag>` is
random; containers made by older versions keep `<CID>.db`), and namespace.db
records which file is the container's. A process may keep a deleted
container's database open (SQLite keeps accepting writes to an unlinked file,
that nobody will ever read); so every write transaction on a container checks,
once it holds the write lock, that its file is still the registered one and
not being deleted, and a stale handle is dropped and the operation retried on
the current one. A file name is never reused, so a process closing an old
handle (SQLite then removes `<file>-wal` by name) never touches another
container's files.

Object metadata commits with synchronous=FULL (it must survive a crash once the
call returns); the namespace database uses NORMAL, because everything in it
(stats, events) can be recomputed from the containers by `namespace check`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import random
import secrets
import shutil
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, cast

from oiocli.backends.base import (
    AccountRecord,
    ContainerLocation,
    ContentRecord,
    EventRecord,
    ObjectListing,
    UploadPlan,
)
from oiocli.backends.embedded import db
from oiocli.backends.embedded.chunks import (
    LocalChunkStore,
    chunk_path,
    chunk_url,
    makedirs_private,
)
from oiocli.backends.stores import ChunkStores
from oiocli.core.chunks import ChunkRecord, metachunk_index, shift_position
from oiocli.core.exceptions import (
    AccountNotEmpty,
    BadRange,
    BadRequest,
    ChunkNotFound,
    Conflict,
    ContainerFrozen,
    ContainerNotEmpty,
    ContentDrained,
    CorruptDatabase,
    NoSuchAccount,
    NoSuchContainer,
    NoSuchObject,
    NotEnoughVolumes,
    OioException,
)
from oiocli.core.storage_method import PolicyTable

LOG = logging.getLogger("oiocli")
# sys.status values, OpenIO's (OIO_DB_ENABLED, OIO_DB_FROZEN = (guint32)-1, OIO_DB_DISABLED).
STATUS_ENABLED = 0
STATUS_FROZEN = 2**32 - 1
STATUS_DISABLED = 2**32 - 2
# What earlier oiocli versions stored for frozen and disabled: read as such.
LEGACY_STATUSES = {0x2000000: STATUS_FROZEN, 0x4000000: STATUS_DISABLED}
STATUS_NAMES = {STATUS_ENABLED: "Enabled", STATUS_FROZEN: "Frozen", STATUS_DISABLED: "Disabled"}
STATUS_NAMES.update({old: STATUS_NAMES[new] for old, new in LEGACY_STATUSES.items()})
NS_DB_FILE = "namespace.db"


def container_status(props: dict[str, str]) -> int:
    """A container's status (one of STATUS_*) from its properties."""
    value = int(props.get("sys.status") or 0)
    return LEGACY_STATUSES.get(value, value)


NS_SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts (
    name TEXT PRIMARY KEY, ctime REAL, mtime REAL, metadata TEXT NOT NULL DEFAULT '{}',
    objects INTEGER NOT NULL DEFAULT 0, bytes INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS containers (
    account TEXT NOT NULL, name TEXT NOT NULL, cid TEXT NOT NULL UNIQUE,
    ctime REAL, mtime REAL, objects INTEGER NOT NULL DEFAULT 0,
    bytes INTEGER NOT NULL DEFAULT 0, dbfile TEXT, PRIMARY KEY (account, name));
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT, time REAL, type TEXT, url TEXT,
    request_id TEXT, data TEXT);
"""

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


ALIAS_COLUMNS = (
    "name, version, content, deleted, latest, ctime, mtime, size, hash, policy, "
    "chunk_method, mime_type, properties"
)


def compute_cid(account: str, container: str) -> str:
    return hashlib.sha256(account.encode() + b"\0" + container.encode()).hexdigest().upper()


def now_us() -> int:
    return int(time.time() * 1_000_000)


_ALIAS_KEYS = (
    "name",
    "version",
    "id",
    "deleted",
    "is_latest",
    "ctime",
    "mtime",
    "size",
    "hash",
    "policy",
    "chunk_method",
    "mime_type",
)


def alias_dict(
    row: tuple[Any, ...], account: str, container: str, with_props: bool = True
) -> ContentRecord:
    # Listings convert up to 10,000 rows per page: keep this cheap.
    meta = dict(zip(_ALIAS_KEYS, row, strict=False))  # row has more columns
    meta["content"] = row[2]
    meta["deleted"] = row[3] == 1
    meta["is_latest"] = row[4] == 1
    meta["length"] = row[7]
    meta["hash_method"] = "md5"
    meta["container"] = container
    meta["account"] = account
    if with_props:
        meta["properties"] = json.loads(row[12] or "{}")
    return cast(ContentRecord, meta)  # _ALIAS_KEYS and the keys set here: every field


class StaleContainer(NoSuchContainer):
    """A handle on a container database that is no longer the registered one."""


class ContainerBeingDeleted(NoSuchContainer):
    """The container is being deleted: it accepts no more writes."""


# The property that marks a container database as being deleted (see container_delete).
DELETED_PROP = "sys.m2.deleted"
# What `registered` answers for a container namespace.db does not list.
UNREGISTERED = object()
# How long a deletion another process has begun is left to it to finish.
DELETE_GRACE_S = 10.0


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
        registered: Any = None,
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

    def group_commit(self, work: Any) -> Any:
        with self._stale_if_gone():
            return super().group_commit(work)

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
        if self._registered(self.cid) != self.dbfile:
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
            columns = {row[1] for row in self.conn.execute("PRAGMA table_info(chunks)")}
            if "chunk_hash" in columns:
                return True
            if isinstance(self.conn, db.ReadOnlyConnection):
                return False
            with self.transaction() as conn:
                columns = {row[1] for row in conn.execute("PRAGMA table_info(chunks)")}
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


class EmbeddedNamespace:
    """Metadata backend over SQLite + volume directories."""

    def __init__(
        self,
        namespace: str,
        data_dir: str,
        chunk_size: int | None = None,
        storage_policy: str | None = None,
        volumes: int | list[str] | None = None,
        policies: dict[str, str] | None = None,
        max_versions: int | None = None,
        update_config: bool = False,
    ) -> None:
        self.namespace = namespace
        self.data_dir = os.path.abspath(data_dir)
        self._lock = threading.RLock()
        self._containers: dict[str, ContainerDB] = {}
        self.config = self._load_or_create_config(
            chunk_size, storage_policy, volumes, policies, max_versions, update_config
        )
        self.policies = PolicyTable(self.config["policies"])
        self.chunks = ChunkStores({"file://": LocalChunkStore()})
        self._ns_db: db.Database | None = None
        self._dbfile_column = "dbfile"

    # ------------------------------------------------------------------ config
    def _load_or_create_config(
        self, chunk_size, storage_policy, volumes, policies, max_versions, update_config
    ) -> dict[str, Any]:
        from oiocli.backends.embedded.config import load_or_create

        return load_or_create(
            self.namespace,
            self.data_dir,
            chunk_size,
            storage_policy,
            volumes,
            policies,
            max_versions,
            update_config,
        )

    @property
    def chunk_size(self) -> int:
        return int(self.config["chunk_size"])

    @property
    def default_policy(self) -> str:
        return self.config["storage_policy"]

    @property
    def volumes(self) -> list[str]:
        return list(self.config["volumes"])

    # ------------------------------------------------------------ namespace db
    @property
    def ns_db_path(self) -> str:
        return os.path.join(self.data_dir, NS_DB_FILE)

    @property
    def ns_db(self) -> db.Database:
        if self._ns_db is None:
            with self._lock:
                if self._ns_db is None:
                    self._ns_db = self._open_ns_db()
        return self._ns_db

    def _open_ns_db(self) -> db.Database:
        """Open namespace.db; make it only for a namespace that has no container yet.

        A missing, empty or schema-less namespace.db beside container databases
        is damage, never a fresh start: making a new directory there would make
        every container look absent, and the next autocreate would start them
        again empty. It is reported (exit 6) until `namespace check --repair`
        rebuilds it from the container databases, which name themselves.
        """
        path = self.ns_db_path
        fresh = not os.path.exists(path) or os.path.getsize(path) == 0
        if fresh:
            self._refuse_new_ns_db(path, "missing" if not os.path.exists(path) else "empty")
        database = db.Database(path, "NORMAL")
        try:
            tables = {
                row[0]
                for row in database.conn.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table'"
                )
            }
            if not tables:
                self._refuse_new_ns_db(path, "empty")
                database.conn.executescript(NS_SCHEMA)
            elif not {"accounts", "containers", "events"} <= tables:
                raise CorruptDatabase(
                    f"Database {path} is corrupt: it lacks the namespace's tables "
                    "(`oio namespace check --repair` rebuilds it from the container databases)"
                )
            columns = {row[1] for row in database.conn.execute("PRAGMA table_info(containers)")}
            if "dbfile" not in columns and not isinstance(database.conn, db.ReadOnlyConnection):
                with database.transaction() as conn:
                    columns = {row[1] for row in conn.execute("PRAGMA table_info(containers)")}
                    if "dbfile" not in columns:
                        conn.execute("ALTER TABLE containers ADD COLUMN dbfile TEXT")
                columns.add("dbfile")
        except sqlite3.DatabaseError as exc:
            database.close()
            db.raise_db_error(exc, path)
        except BaseException:
            database.close()
            raise
        # A read-only namespace of an older version has no dbfile column: legacy names.
        self._dbfile_column = "dbfile" if "dbfile" in columns else "NULL"
        return database

    @property
    def _dbfile_sql(self) -> str:
        """The SQL for a container's database file name (known once namespace.db is open)."""
        _ = self.ns_db  # opening it finds out
        return self._dbfile_column

    def close_namespace_db(self) -> None:
        """Forget the namespace.db handle (the file is about to be replaced)."""
        with self._lock:
            database, self._ns_db = self._ns_db, None
            self._containers.clear()
        if database is not None:
            database.close()

    def _refuse_new_ns_db(self, path: str, state: str) -> None:
        found = next(self.container_db_files(), None)
        if found is not None:
            raise CorruptDatabase(
                f"Database {path} is {state}, but the namespace has container databases "
                f"(such as {found}): run `oio namespace check --repair` to rebuild it from them"
            )

    def container_db_files(self) -> Iterator[str]:
        """Path of every container database file under containers/ (registered or not)."""
        base = os.path.join(self.data_dir, "containers")
        for root, _dirs, files in os.walk(base):
            for fname in sorted(files):
                if fname.endswith(".db"):
                    yield os.path.join(root, fname)

    @property
    def ns(self) -> sqlite3.Connection:
        return self.ns_db.conn

    def _ns_tx(self):
        return self.ns_db.transaction()

    def _ns_read(self, sql: str, args: Iterable[Any] = ()) -> list[tuple]:
        try:
            return self.ns.execute(sql, tuple(args)).fetchall()
        except sqlite3.DatabaseError as exc:
            db.raise_db_error(exc, self.ns_db_path)
            raise

    def emit(
        self,
        conn: sqlite3.Connection,
        event_type: str,
        url: dict,
        reqid: str | None,
        data: dict | None = None,
    ) -> None:
        conn.execute(
            "INSERT INTO events (time, type, url, request_id, data) VALUES (?, ?, ?, ?, ?)",
            (time.time(), event_type, json.dumps(url), reqid, json.dumps(data or {})),
        )

    def event_list(
        self, since: float | None = None, limit: int | None = None, marker: int | None = None
    ) -> list[EventRecord]:
        sql = "SELECT id, time, type, url, request_id, data FROM events WHERE 1=1"
        args: list[Any] = []
        if since is not None:
            sql += " AND time >= ?"
            args.append(since)
        if marker is not None:
            sql += " AND id > ?"
            args.append(marker)
        sql += " ORDER BY id"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(limit)
        return [
            {
                "id": i,
                "time": t,
                "type": ty,
                "url": json.loads(u),
                "request_id": r,
                "data": json.loads(d or "{}"),
            }
            for i, t, ty, u, r, d in self._ns_read(sql, args)
        ]

    # ---------------------------------------------------------------- accounts
    def account_create(self, account: str, reqid: str | None = None) -> bool:
        with self._ns_tx() as conn:
            now = time.time()
            cur = conn.execute(
                "INSERT OR IGNORE INTO accounts (name, ctime, mtime) VALUES (?, ?, ?)",
                (account, now, now),
            )
            created = cur.rowcount == 1
            if created:
                self.emit(conn, "account.create", {"account": account}, reqid)
        return created

    def _account_row(self, account: str) -> tuple:
        rows = self._ns_read(
            "SELECT name, ctime, mtime, metadata, objects, bytes FROM accounts WHERE name = ?",
            (account,),
        )
        if not rows:
            raise NoSuchAccount(f"Account {account!r} not found")
        return rows[0]

    def account_show(self, account: str) -> AccountRecord:
        name, ctime, mtime, metadata, objects, nbytes = self._account_row(account)
        (containers,) = self._ns_read(
            "SELECT COUNT(*) FROM containers WHERE account = ?", (account,)
        )[0]
        return {
            "id": name,
            "ctime": ctime,
            "mtime": mtime,
            "bytes": nbytes,
            "objects": objects,
            "containers": containers,
            "metadata": json.loads(metadata),
        }

    def account_delete(self, account: str, reqid: str | None = None) -> None:
        with self._ns_tx() as conn:
            if not conn.execute("SELECT 1 FROM accounts WHERE name = ?", (account,)).fetchone():
                raise NoSuchAccount(f"Account {account!r} not found")
            if conn.execute("SELECT 1 FROM containers WHERE account = ?", (account,)).fetchone():
                raise AccountNotEmpty(f"Account {account!r} still has containers")
            conn.execute("DELETE FROM accounts WHERE name = ?", (account,))
            self.emit(conn, "account.delete", {"account": account}, reqid)

    def account_list(self, limit=None, marker=None, end_marker=None, prefix=None) -> list[str]:
        args: list[Any]
        sql, args = "SELECT name FROM accounts WHERE 1=1", []
        sql, args = _paging(sql, args, "name", marker, end_marker, prefix)
        sql += " ORDER BY name"
        if limit:
            sql += " LIMIT ?"
            args.append(int(limit))
        return [r[0] for r in self._ns_read(sql, args)]

    def account_update_metadata(
        self, account: str, set_: dict[str, str], delete: Iterable[str], reqid: str | None
    ) -> None:
        with self._ns_tx() as conn:
            row = conn.execute(
                "SELECT metadata FROM accounts WHERE name = ?", (account,)
            ).fetchone()
            if not row:
                raise NoSuchAccount(f"Account {account!r} not found")
            metadata = json.loads(row[0])
            metadata.update({str(k): str(v) for k, v in set_.items()})
            for key in delete:
                metadata.pop(key, None)
            conn.execute(
                "UPDATE accounts SET metadata = ?, mtime = ? WHERE name = ?",
                (json.dumps(metadata), time.time(), account),
            )
            self.emit(conn, "account.update", {"account": account}, reqid, {"metadata": set_})

    def account_refresh(self, account: str | None, reqid: str | None = None) -> None:
        """Recompute account totals from its containers' own statistics."""
        rows = self._ns_read(
            "SELECT account, name FROM containers" + (" WHERE account = ?" if account else ""),
            (account,) if account else (),
        )
        for owner, name in rows:
            with contextlib.suppress(NoSuchContainer):
                self.container_touch(owner, name, reqid=reqid)
        with self._ns_tx() as conn:
            if (
                account is not None
                and not conn.execute("SELECT 1 FROM accounts WHERE name = ?", (account,)).fetchone()
            ):
                raise NoSuchAccount(f"Account {account!r} not found")
            names = (
                [account] if account else [r[0] for r in conn.execute("SELECT name FROM accounts")]
            )
            for name in names:
                conn.execute(
                    "UPDATE accounts SET objects = (SELECT COALESCE(SUM(objects), 0) FROM "
                    "containers WHERE account = ?), bytes = (SELECT COALESCE(SUM(bytes), 0) "
                    "FROM containers WHERE account = ?), mtime = ? WHERE name = ?",
                    (name, name, time.time(), name),
                )
                self.emit(conn, "account.refresh", {"account": name}, reqid)

    def account_flush(self, account: str, reqid: str | None = None) -> None:
        """Forget the account's container statistics (containers keep their data)."""
        with self._ns_tx() as conn:
            if not conn.execute("SELECT 1 FROM accounts WHERE name = ?", (account,)).fetchone():
                raise NoSuchAccount(f"Account {account!r} not found")
            conn.execute(
                "UPDATE containers SET objects = 0, bytes = 0 WHERE account = ?", (account,)
            )
            conn.execute(
                "UPDATE accounts SET objects = 0, bytes = 0, mtime = ? WHERE name = ?",
                (time.time(), account),
            )
            self.emit(conn, "account.flush", {"account": account}, reqid)

    # -------------------------------------------------------------- containers
    def container_db_path(self, cid: str, dbfile: str | None = None) -> str:
        """Where a container database lives; `dbfile` None is the legacy `<CID>.db`."""
        return os.path.join(self.data_dir, "containers", cid[:2], dbfile or f"{cid}.db")

    def new_container_db(self, cid: str) -> tuple[str, str]:
        """(dbfile, path) of a database file name never used before for this container."""
        while True:
            dbfile = f"{cid}.{secrets.token_hex(4)}.db"
            path = self.container_db_path(cid, dbfile)
            if not any(os.path.lexists(path + s) for s in ("", "-wal", "-shm")):
                return dbfile, path

    def registered_dbfile(self, cid: str) -> Any:
        """The database file namespace.db lists for a container, or UNREGISTERED."""
        rows = self._ns_read(f"SELECT {self._dbfile_sql} FROM containers WHERE cid = ?", (cid,))
        return rows[0][0] if rows else UNREGISTERED

    def container_create(
        self,
        account: str,
        name: str,
        properties: dict[str, str] | None = None,
        system: dict[str, str] | None = None,
        reqid: str | None = None,
        autocreate_account: bool = True,
    ) -> bool:
        cid = compute_cid(account, name)
        if self.registered_dbfile(cid) is not UNREGISTERED:
            if not self._finish_interrupted_delete(account, name):
                return False
        db.check_writable(self.ns, self.ns_db.path)  # a read-only namespace: say so
        # The database is made complete under a temporary name, then renamed and
        # registered: a crash leaves at worst an unregistered file, never half a container.
        dbfile, path = self.new_container_db(cid)
        makedirs_private(os.path.dirname(path))
        tmp = f"{path}.{secrets.token_hex(4)}.tmp"
        now = time.time()
        try:
            conn = db.connect(tmp, "FULL")
            try:
                conn.executescript(M2_SCHEMA)
                sys_props = {
                    "sys.account": account,
                    "sys.user.name": name,
                    "sys.name": f"{cid}.1",
                    "sys.status": str(STATUS_ENABLED),
                    "sys.m2.ctime": str(int(now * 1_000_000)),
                    "sys.m2.mtime": str(int(now * 1_000_000)),
                    "sys.m2.objects": "0",
                    "sys.m2.usage": "0",
                    "sys.m2.version": "1",
                }
                sys_props.update({k: str(v) for k, v in (system or {}).items()})
                rows = list(sys_props.items())
                rows += [(f"user.{k}", str(v)) for k, v in (properties or {}).items()]
                with db.transaction(conn, tmp):
                    conn.executemany("INSERT OR REPLACE INTO props VALUES (?, ?)", rows)
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                conn.close()
        except sqlite3.DatabaseError as exc:
            _unlink_db(tmp)
            db.raise_db_error(exc, tmp)
        except BaseException:
            _unlink_db(tmp)
            raise
        return self.register_container(account, name, cid, tmp, dbfile, reqid, autocreate_account)

    def register_container(
        self,
        account: str,
        name: str,
        cid: str,
        tmp: str,
        dbfile: str,
        reqid: str | None,
        autocreate_account: bool = True,
        objects: int = 0,
        nbytes: int = 0,
        before_commit: Any = None,
    ) -> bool:
        """Move a complete container database into place and list it in its account.

        `before_commit()`, when given, runs once the database is in place and
        the namespace is locked, before the registration commits (a snapshot
        checks there that its chunks still exist). On any failure the database
        is removed: never registered, it was never there.
        """
        path = self.container_db_path(cid, dbfile)
        now = time.time()
        moved = False
        try:
            with self._ns_tx() as nsc:
                if nsc.execute("SELECT 1 FROM containers WHERE cid = ?", (cid,)).fetchone():
                    _unlink_db(tmp)
                    return False
                if not nsc.execute("SELECT 1 FROM accounts WHERE name = ?", (account,)).fetchone():
                    if not autocreate_account:
                        _unlink_db(tmp)
                        raise NoSuchAccount(f"Account {account!r} not found")
                    nsc.execute(
                        "INSERT INTO accounts (name, ctime, mtime) VALUES (?, ?, ?)",
                        (account, now, now),
                    )
                    self.emit(nsc, "account.create", {"account": account}, reqid)
                os.replace(tmp, path)
                moved = True
                _fsync_dir(os.path.dirname(path))
                if before_commit is not None:
                    before_commit()
                nsc.execute(
                    "INSERT INTO containers (account, name, cid, ctime, mtime, objects, bytes, "
                    "dbfile) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (account, name, cid, now, now, objects, nbytes, dbfile),
                )
                nsc.execute(
                    "UPDATE accounts SET mtime = ?, objects = objects + ?, bytes = bytes + ? "
                    "WHERE name = ?",
                    (now, objects, nbytes, account),
                )
                self.emit(nsc, "container.create", {"account": account, "container": name}, reqid)
        except BaseException:
            _unlink_db(path if moved else tmp)
            raise
        return True

    def container(self, account: str, name: str) -> ContainerDB:
        """The container's database, as namespace.db lists it now.

        A cached handle is used only while its file is still there: a deletion
        removes it (and a container made again gets another file), so a
        container deleted by another process is not read through an old handle;
        writes check the registration itself, in their transaction.
        """
        cid = compute_cid(account, name)
        with self._lock:
            cdb = self._containers.get(cid)
        if cdb is not None and os.path.exists(cdb.path):
            return cdb
        dbfile = self.registered_dbfile(cid)
        if dbfile is UNREGISTERED:
            self.forget_container(cid)
            raise NoSuchContainer(f"Container {name!r} not found in account {account!r}")
        with self._lock:
            cdb = self._containers.get(cid)
            if cdb is not None and cdb.dbfile == dbfile:
                return cdb
        path = self.container_db_path(cid, dbfile)
        try:
            cdb = ContainerDB(path, account, name, cid, dbfile, self.registered_dbfile)
        except FileNotFoundError:
            if self.registered_dbfile(cid) != dbfile:  # deleted meanwhile
                raise NoSuchContainer(
                    f"Container {name!r} not found in account {account!r}"
                ) from None
            raise CorruptDatabase(
                f"Database {path} of container {name!r} (account {account!r}) is missing"
            ) from None
        with self._lock:
            if len(self._containers) > 64:
                # Dropped, not closed: another thread may be using it; each
                # connection closes when nothing refers to it any more.
                for old in list(self._containers)[:16]:
                    del self._containers[old]
            self._containers[cid] = cdb
        return cdb

    def forget_container(self, cid: str, cdb: ContainerDB | None = None) -> None:
        """Drop a cached handle (`cdb`: only if it is still the cached one)."""
        with self._lock:
            if cdb is None or self._containers.get(cid) is cdb:
                self._containers.pop(cid, None)

    def on_container(self, account: str, name: str, action: Any) -> Any:
        """`action(cdb)` on the container's current database, retried on a stale handle."""
        for _attempt in range(5):
            cdb = self.container(account, name)
            try:
                return action(cdb)
            except StaleContainer:
                self.forget_container(cdb.cid, cdb)
        raise NoSuchContainer(f"Container {name!r} not found in account {account!r}")

    def resolve_cid(self, cid: str) -> tuple[str, str]:
        rows = self._ns_read("SELECT account, name FROM containers WHERE cid = ?", (cid.upper(),))
        if not rows:
            raise NoSuchContainer(f"Container with id {cid!r} not found")
        return rows[0]

    def container_delete(self, account: str, name: str, reqid: str | None = None) -> None:
        """Delete an empty container, in two steps that no writer can slip between.

        1. In its own write transaction: refuse if it holds an object, else mark
           it deleted; from then on every write transaction on it fails (its
           check sees the mark), so no object can be committed into it.
        2. Unregister it from namespace.db, then remove its files.

        A crash between the steps leaves a registered container marked deleted:
        writes to it fail with "being deleted", and the next `container delete`,
        `container create` or `namespace check --repair` finishes the deletion
        (one that another process is finishing right now is left to it).
        """

        def mark(cdb: ContainerDB) -> tuple[ContainerDB, bool]:
            try:
                with cdb.transaction() as conn:
                    if conn.execute("SELECT 1 FROM aliases LIMIT 1").fetchone():
                        raise ContainerNotEmpty(f"Container {name!r} is not empty")
                    conn.execute(
                        "INSERT OR REPLACE INTO props VALUES (?, ?)", (DELETED_PROP, str(now_us()))
                    )
            except ContainerBeingDeleted:
                return cdb, False
            return cdb, True

        cdb, ours = self.on_container(account, name, mark)
        gone = NoSuchContainer(f"Container {name!r} not found in account {account!r}")
        if not ours and self._await_deletion(cdb):
            raise gone  # another delete did it
        if not self._unregister(cdb, reqid) and not ours:
            raise gone

    def _deletion_mark(self, cdb: ContainerDB) -> int | None:
        """When the container was marked deleted (microseconds), or None."""
        try:
            row = cdb.conn.execute(
                "SELECT value FROM props WHERE key = ?", (DELETED_PROP,)
            ).fetchone()
        except sqlite3.DatabaseError as exc:
            db.raise_db_error(exc, cdb.path)
        if row is None:
            return None
        try:
            return int(row[0])
        except (TypeError, ValueError):
            return 0

    def _await_deletion(self, cdb: ContainerDB) -> bool:
        """Wait (a few seconds at most) for the process that marked it to unregister it."""
        mark = self._deletion_mark(cdb) or 0
        deadline = min(mark / 1e6, time.time()) + DELETE_GRACE_S
        while time.time() < deadline:
            if self.registered_dbfile(cdb.cid) != cdb.dbfile:
                return True
            time.sleep(0.01)
        return self.registered_dbfile(cdb.cid) != cdb.dbfile

    def _unregister(self, cdb: ContainerDB, reqid: str | None) -> bool:
        """Second step of a deletion: unlist a container marked deleted, remove its files."""
        with self._ns_tx() as nsc:
            cur = nsc.execute(
                f"DELETE FROM containers WHERE cid = ? AND {self._dbfile_sql} IS ?",
                (cdb.cid, cdb.dbfile),
            )
            removed = cur.rowcount == 1
            if removed:
                nsc.execute(
                    "UPDATE accounts SET mtime = ? WHERE name = ?", (time.time(), cdb.account)
                )
                self.emit(
                    nsc,
                    "container.delete",
                    {"account": cdb.account, "container": cdb.name},
                    reqid,
                )
        self.forget_container(cdb.cid, cdb)
        _unlink_db(cdb.path)
        return removed

    def _finish_interrupted_delete(self, account: str, name: str) -> bool:
        """True when the registered container was being deleted, and is now gone."""
        try:
            cdb = self.container(account, name)
            if self._deletion_mark(cdb) is None:
                return False
            if not self._await_deletion(cdb):
                self._unregister(cdb, None)
        except NoSuchContainer:
            pass
        return True

    def container_list(
        self,
        account: str,
        limit=None,
        marker=None,
        end_marker=None,
        prefix=None,
        delimiter=None,
    ) -> list[list[Any]]:
        self._account_row(account)
        sql = "SELECT name, objects, bytes, mtime FROM containers WHERE account = ?"
        args: list[Any] = [account]
        sql, args = _paging(sql, args, "name", marker, end_marker, prefix)
        sql += " ORDER BY name"
        limit = int(limit) if limit else None
        result: list[list[Any]] = []
        if not delimiter:
            if limit:
                sql += " LIMIT ?"
                args.append(limit)
            return [[n, o, b, 0, m] for n, o, b, m in self._ns_read(sql, args)]
        plen = len(prefix or "")
        for name, objects, nbytes, mtime in self._ns_read(sql, args):
            cut = name.find(delimiter, plen)
            if cut >= 0:
                common = name[: cut + len(delimiter)]
                if (result and result[-1][0] == common) or (marker and marker.startswith(common)):
                    continue
                result.append([common, 0, 0, 1, 0])
            else:
                result.append([name, objects, nbytes, 0, mtime])
            if limit and len(result) >= limit:
                break
        return result

    def container_stats_row(self, account: str, name: str) -> dict[str, Any]:
        rows = self._ns_read(
            "SELECT cid, ctime, mtime, objects, bytes FROM containers "
            "WHERE account = ? AND name = ?",
            (account, name),
        )
        if not rows:
            raise NoSuchContainer(f"Container {name!r} not found in account {account!r}")
        cid, ctime, mtime, objects, nbytes = rows[0]
        return {"cid": cid, "ctime": ctime, "mtime": mtime, "objects": objects, "bytes": nbytes}

    def container_set_props(
        self,
        account: str,
        name: str,
        props: dict[str, str],
        clear_user: bool = False,
        delete: Iterable[str] = (),
        reqid: str | None = None,
    ) -> None:
        def work(cdb: ContainerDB) -> ContainerDB:
            with cdb.transaction() as conn:
                if clear_user:
                    conn.execute("DELETE FROM props WHERE key LIKE 'user.%'")
                conn.executemany("DELETE FROM props WHERE key = ?", [(k,) for k in delete])
                conn.executemany(
                    "INSERT OR REPLACE INTO props VALUES (?, ?)",
                    [(k, str(v)) for k, v in props.items()],
                )
                conn.execute(
                    "INSERT OR REPLACE INTO props VALUES ('sys.m2.mtime', ?)", (str(now_us()),)
                )
            return cdb

        cdb = self.on_container(account, name, work)
        self._container_event(cdb, "container.update", reqid, {"properties": props})

    def _container_event(
        self, cdb: ContainerDB, etype: str, reqid: str | None, data=None, d_objects=0, d_bytes=0
    ) -> None:
        # Counters cached from the container's own database, and its events: after
        # a power loss they may lag the last commits, which `namespace check`
        # finds and repairs. Not fsync'ing them saves one flush per object.
        # The change itself is committed already: failing to note it here (a
        # full disk) must not make the caller believe it failed.
        try:
            with self.ns_db.transaction(durable=False) as nsc:
                self._apply_stats(nsc, cdb, d_objects, d_bytes)
                self.emit(nsc, etype, {"account": cdb.account, "container": cdb.name}, reqid, data)
        except OioException as exc:
            LOG.warning(
                "Container %r: its change is committed, but not its counters (%s): "
                "`oio namespace check --repair` recomputes them",
                cdb.name,
                exc,
            )

    def _apply_stats(self, nsc, cdb: ContainerDB, d_objects: int, d_bytes: int) -> None:
        """Add a committed change to the container's row and its account's totals.

        Applied after the container's own commit, so it may arrive once the
        container is deleted (or made again): it then changes no container row
        (only the incarnation that committed it), but always the account's
        totals, which a deletion does not touch. Both end up exact either way.
        """
        now = time.time()
        nsc.execute(
            "UPDATE containers SET objects = objects + ?, bytes = bytes + ?, mtime = ? "
            f"WHERE cid = ? AND {self._dbfile_sql} IS ?",
            (d_objects, d_bytes, now, cdb.cid, cdb.dbfile),
        )
        if d_objects or d_bytes:
            nsc.execute(
                "UPDATE accounts SET objects = objects + ?, bytes = bytes + ?, mtime = ? "
                "WHERE name = ?",
                (d_objects, d_bytes, now, cdb.account),
            )

    def container_touch(
        self, account: str, name: str, recompute: bool = False, reqid: str | None = None
    ) -> None:
        """Push the container's own statistics to its account row (OpenIO's touch)."""

        def work(cdb: ContainerDB) -> ContainerDB:
            if recompute:
                with cdb.transaction() as conn:
                    objects, nbytes = _recount(conn)
                    conn.executemany(
                        "INSERT OR REPLACE INTO props VALUES (?, ?)",
                        [("sys.m2.objects", str(objects)), ("sys.m2.usage", str(nbytes))],
                    )
            return cdb

        cdb = self.on_container(account, name, work)
        props = cdb.props()
        objects, nbytes = int(props.get("sys.m2.objects", 0)), int(props.get("sys.m2.usage", 0))
        with self._ns_tx() as nsc:
            old = nsc.execute(
                f"SELECT objects, bytes FROM containers WHERE cid = ? AND {self._dbfile_sql} IS ?",
                (cdb.cid, cdb.dbfile),
            ).fetchone()
            if old is None:
                raise NoSuchContainer(f"Container {name!r} not found in account {account!r}")
            self._apply_stats(nsc, cdb, objects - old[0], nbytes - old[1])
            self.emit(
                nsc,
                "container.state",
                {"account": account, "container": name},
                reqid,
                {"objects": objects, "bytes": nbytes},
            )

    # ------------------------------------------------------------- placement
    def pick_volumes(self, count: int, avoid: Iterable[str] = ()) -> list[str]:
        # A missing, read-only or unreadable (chmod 000) volume is never a target:
        # the policy is met on the others, or NotEnoughVolumes says it cannot be.
        avoid = set(avoid)
        usable = [
            v
            for v in self.volumes
            if v not in avoid and os.path.isdir(v) and os.access(v, os.R_OK | os.W_OK | os.X_OK)
        ]
        if len(usable) < count:
            raise NotEnoughVolumes(
                f"Need {count} distinct volumes, only {len(usable)} usable "
                f"of {len(self.volumes)} configured"
            )
        return random.sample(usable, count)

    def chunk_targets(self, count: int) -> list[str]:
        return [chunk_url(v, secrets.token_hex(32).upper()) for v in self.pick_volumes(count)]

    def volume_of(self, url: str) -> str:
        return os.path.dirname(os.path.dirname(chunk_path(url)))

    # ------------------------------------------------------------- contents
    def max_versions(self, props: dict[str, str]) -> int:
        value = props.get("sys.m2.policy.version")
        return int(value) if value not in (None, "") else int(self.config.get("max_versions", 1))

    def writable_props(self, conn: sqlite3.Connection, cdb: ContainerDB) -> dict[str, str]:
        """The container's properties, read in the caller's write transaction."""
        props = dict(conn.execute("SELECT key, value FROM props"))
        self.check_writable(cdb, props)
        return props

    @staticmethod
    def check_writable(cdb: ContainerDB, props: dict[str, str]) -> None:
        db.check_writable(cdb.conn, cdb.path)  # read-only namespace: before any chunk
        status = container_status(props)
        if status == STATUS_FROZEN:
            raise ContainerFrozen(f"Container {cdb.name!r} is frozen (read-only)")
        if status == STATUS_DISABLED:
            raise ContainerFrozen(f"Container {cdb.name!r} is disabled")

    def latest_alias(self, conn: sqlite3.Connection, name: str) -> tuple | None:
        return conn.execute(
            f"SELECT {ALIAS_COLUMNS} FROM aliases WHERE name = ? AND latest = 1", (name,)
        ).fetchone()

    def get_alias(
        self, cdb: ContainerDB, name: str, version: int | None = None, allow_deleted: bool = False
    ) -> tuple:
        conn = cdb.conn
        try:
            if version is None:
                row = self.latest_alias(conn, name)
            else:
                row = conn.execute(
                    f"SELECT {ALIAS_COLUMNS} FROM aliases WHERE name = ? AND version = ?",
                    (name, int(version)),
                ).fetchone()
        except sqlite3.DatabaseError as exc:
            db.raise_db_error(exc, cdb.path)
        if row is None or (row[3] and not allow_deleted):
            what = f"Object {name!r}" + (f" version {version}" if version is not None else "")
            raise NoSuchObject(f"{what} not found in container {cdb.name!r}")
        return row

    def get_chunks(self, cdb: ContainerDB, content: str) -> list[ChunkRecord]:
        fragment_hash = "chunk_hash" if cdb.chunk_hash_column else "NULL"
        try:
            rows = cdb.conn.execute(
                f"SELECT url, pos, size, hash, chunk_size, {fragment_hash} FROM chunks "
                "WHERE content = ?",
                (content,),
            ).fetchall()
        except sqlite3.DatabaseError as exc:
            db.raise_db_error(exc, cdb.path)
            raise
        result: list[ChunkRecord] = []
        for url, pos, size, hsh, chunk_size, chunk_hash in rows:
            chunk: ChunkRecord = {
                "url": url,
                "real_url": url,
                "pos": pos,
                "size": size,
                "hash": hsh,
            }
            if chunk_size is not None:
                chunk["chunk_size"] = chunk_size
            if chunk_hash:
                chunk["chunk_hash"] = chunk_hash
            result.append(chunk)
        return result

    def _content_create(
        self,
        cdb: ContainerDB,
        name: str,
        content: str,
        version: int,
        size: int,
        hsh: str | None,
        policy: str,
        chunk_method: str,
        mime_type: str,
        properties: dict[str, str],
        chunks: list[dict[str, Any]],
        reqid: str | None = None,
        append: bool = False,
        restore_drained: bool = False,
        keep_version: bool = False,
    ) -> tuple[int, list[str]]:
        """Commit an uploaded object; return (version, chunk urls to delete).

        Runs through the container's group commit: concurrent creates in one
        container share a transaction, hence one fsync.
        """
        now = time.time()

        def work(conn: sqlite3.Connection) -> tuple[int, list[str], int, int, str]:
            props = self.writable_props(conn, cdb)
            require_chunks(chunks)
            check_sizes(name, size, chunks)
            latest = self.latest_alias(conn, name)
            if append and latest is not None and not latest[3]:
                return self._append(conn, cdb, name, latest, size, chunk_method, chunks, now)
            garbage: list[str] = []
            d_objects = d_bytes = 0
            new_version, ctime, is_latest = version, now, 1
            mime, props_json = mime_type, json.dumps(properties)
            maxvers = self.max_versions(props)
            if keep_version or restore_drained:
                old = conn.execute(
                    f"SELECT {ALIAS_COLUMNS} FROM aliases WHERE name = ? AND version = ?",
                    (name, version),
                ).fetchone()
                if old is None:
                    raise NoSuchObject(f"Object {name!r} version {version} not found")
                if restore_drained and old[10] != "drained":
                    raise Conflict(f"Object {name!r} is not drained")
                if restore_drained and (old[7] != size or (old[8] and old[8] != hsh)):
                    raise Conflict(f"Data does not match drained object {name!r}")
                if keep_version and old[10] == "drained":
                    raise ContentDrained(f"Object {name!r} is drained")
                if keep_version and (
                    old[7] != size or (old[8] and hsh and old[8].upper() != hsh.upper())
                ):
                    # What was re-encoded is not what the object holds now (an
                    # append or a truncate came first): re-encoding must start again.
                    raise Conflict(
                        f"Object {name!r} changed while its policy was being changed: "
                        "nothing was changed, try again"
                    )
                garbage += self._drop_content(conn, old[2])
                conn.execute("DELETE FROM aliases WHERE name = ? AND version = ?", (name, version))
                d_objects -= 1
                d_bytes -= old[7] or 0
                ctime, is_latest = old[5], old[4]
                if not restore_drained:
                    mime, props_json = old[11], old[12]
            else:
                if latest is not None and not latest[3] and maxvers == 0:
                    raise Conflict(f"Object {name!r} already exists and versioning is disabled")
                if latest is not None:
                    new_version = max(version, latest[1] + 1)
            if conn.execute(
                "SELECT 1 FROM aliases WHERE content = ? LIMIT 1", (content,)
            ).fetchone():
                # An append that found the object, which was deleted before it
                # committed (a versioned container keeps that version): its chunks
                # would join that version's. Nothing is committed.
                raise Conflict(
                    f"Object {name!r} changed while data was written for it (content "
                    f"{content} belongs to another version): nothing was committed, try again"
                )
            if is_latest:
                conn.execute("UPDATE aliases SET latest = 0 WHERE name = ? AND latest = 1", (name,))
            conn.execute(
                f"INSERT INTO aliases ({ALIAS_COLUMNS}) VALUES (?,?,?,0,?,?,?,?,?,?,?,?,?)",
                (
                    name,
                    new_version,
                    content,
                    is_latest,
                    ctime,
                    now,
                    size,
                    hsh,
                    policy,
                    chunk_method,
                    mime,
                    props_json,
                ),
            )
            cdb.insert_chunks(conn, content, chunks)
            d_objects += 1
            d_bytes += size
            if not (keep_version or restore_drained):
                dropped, do, db_ = self._enforce_versions(conn, name, maxvers)
                garbage += dropped
                d_objects += do
                d_bytes += db_
            _bump_stats(conn, d_objects, d_bytes)
            return new_version, garbage, d_objects, d_bytes, "content.new"

        new_version, garbage, d_objects, d_bytes, etype = cdb.group_commit(work)
        self._container_event(
            cdb,
            etype,
            reqid,
            {"name": name, "version": new_version, "size": size},
            d_objects,
            d_bytes,
        )
        return new_version, garbage

    def _append(
        self,
        conn: sqlite3.Connection,
        cdb: ContainerDB,
        name: str,
        latest: tuple,
        size: int,
        chunk_method: str,
        chunks: list[dict[str, Any]],
        now: float,
    ) -> tuple[int, list[str], int, int, str]:
        """Add appended metachunks (numbered from 0 by the writer) after the object's last.

        Numbered here, in the commit transaction, as OpenIO's meta2 does: two
        appends at once both land, one after the other, whatever they read before.
        """
        version, content, method = latest[1], latest[2], latest[10]
        if method == "drained":
            raise ContentDrained(f"Object {name!r} is drained")
        if method != chunk_method:
            raise Conflict(
                f"Object {name!r} changed its storage policy while data was appended to it: "
                "nothing was appended, try again"
            )
        if size == 0:  # an empty append adds no (empty) metachunk
            return version, [c["url"] for c in chunks], 0, 0, "content.append"
        indices = [
            metachunk_index(row[0])
            for row in conn.execute("SELECT pos FROM chunks WHERE content = ?", (content,))
        ]
        base = max(indices) + 1 if indices else 0
        cdb.insert_chunks(
            conn, content, [dict(c, pos=shift_position(c["pos"], base)) for c in chunks]
        )
        conn.execute(
            "UPDATE aliases SET size = size + ?, hash = NULL, mtime = ? "
            "WHERE name = ? AND version = ?",
            (size, now, name, version),
        )
        _bump_stats(conn, 0, size)
        return version, [], 0, size, "content.append"

    def _enforce_versions(self, conn, name: str, maxvers: int) -> tuple[list[str], int, int]:
        """Drop versions beyond `maxvers` (1 = keep only the newest); markers never count."""
        if maxvers < 0:
            return [], 0, 0
        keep = max(maxvers, 1)
        rows = conn.execute(
            "SELECT version, content, size FROM aliases WHERE name = ? AND deleted = 0 "
            "ORDER BY version DESC",
            (name,),
        ).fetchall()
        garbage: list[str] = []
        d_objects = d_bytes = 0
        for version, content, size in rows[keep:]:
            conn.execute("DELETE FROM aliases WHERE name = ? AND version = ?", (name, version))
            garbage += self._drop_content(conn, content)
            d_objects -= 1
            d_bytes -= size or 0
        return garbage, d_objects, d_bytes

    @staticmethod
    def _drop_content(conn, content: str | None) -> list[str]:
        if not content:
            return []
        urls = [r[0] for r in conn.execute("SELECT url FROM chunks WHERE content = ?", (content,))]
        conn.execute("DELETE FROM chunks WHERE content = ?", (content,))
        return urls

    @staticmethod
    def _fix_latest(conn, name: str) -> None:
        conn.execute("UPDATE aliases SET latest = 0 WHERE name = ?", (name,))
        conn.execute(
            "UPDATE aliases SET latest = 1 WHERE name = ? AND version = "
            "(SELECT MAX(version) FROM aliases WHERE name = ?)",
            (name, name),
        )

    def _content_delete(
        self, cdb: ContainerDB, name: str, version: int | None, reqid: str | None = None
    ) -> tuple[bool, int, list[str]]:
        """Delete an object or one version: (marker created or removed, version, garbage)."""
        garbage: list[str] = []
        with cdb.transaction() as conn:
            props = self.writable_props(conn, cdb)
            maxvers = self.max_versions(props)
            if version is None:
                latest = self.latest_alias(conn, name)
                if latest is None or latest[3]:
                    raise NoSuchObject(f"Object {name!r} not found in container {cdb.name!r}")
                if maxvers < 0 or maxvers > 1:
                    marker_version = latest[1] + 1  # OpenIO: latest version + 1
                    conn.execute("UPDATE aliases SET latest = 0 WHERE name = ?", (name,))
                    conn.execute(
                        f"INSERT INTO aliases ({ALIAS_COLUMNS}) "
                        "VALUES (?,?,NULL,1,1,?,?,0,NULL,NULL,NULL,?,'{}')",
                        (name, marker_version, time.time(), time.time(), "application/x-deleted"),
                    )
                    result = (True, marker_version)
                    d_objects = d_bytes = 0
                else:
                    rows = conn.execute(
                        "SELECT version, content, size, deleted FROM aliases WHERE name = ?",
                        (name,),
                    ).fetchall()
                    conn.execute("DELETE FROM aliases WHERE name = ?", (name,))
                    d_objects = d_bytes = 0
                    for _v, content, size, deleted in rows:
                        garbage += self._drop_content(conn, content)
                        if not deleted:
                            d_objects -= 1
                            d_bytes -= size or 0
                    result = (False, latest[1])
            else:
                row = conn.execute(
                    "SELECT content, size, deleted FROM aliases WHERE name = ? AND version = ?",
                    (name, int(version)),
                ).fetchone()
                if row is None:
                    raise NoSuchObject(
                        f"Object {name!r} version {version} not found in container {cdb.name!r}"
                    )
                conn.execute(
                    "DELETE FROM aliases WHERE name = ? AND version = ?", (name, int(version))
                )
                garbage += self._drop_content(conn, row[0])
                self._fix_latest(conn, name)
                d_objects = 0 if row[2] else -1
                d_bytes = 0 if row[2] else -(row[1] or 0)
                result = (bool(row[2]), int(version))
            _bump_stats(conn, d_objects, d_bytes)
        self._container_event(
            cdb,
            "content.deleted",
            reqid,
            {"name": name, "version": result[1]},
            d_objects,
            d_bytes,
        )
        return result[0], result[1], garbage

    def _content_update_props(
        self,
        cdb: ContainerDB,
        name: str,
        version: int | None,
        set_: dict[str, str],
        delete: Iterable[str] = (),
        clear: bool = False,
        reqid: str | None = None,
    ) -> None:
        with cdb.transaction() as conn:
            self.writable_props(conn, cdb)
            row = self.get_alias_in(conn, cdb, name, version)
            current = {} if clear else json.loads(row[12] or "{}")
            current.update({str(k): str(v) for k, v in set_.items()})
            for key in delete:
                current.pop(key, None)
            # As OpenIO's meta2: properties are not the object, its mtime stays.
            conn.execute(
                "UPDATE aliases SET properties = ? WHERE name = ? AND version = ?",
                (json.dumps(current), name, row[1]),
            )
        self._container_event(cdb, "content.update", reqid, {"name": name, "version": row[1]})

    def get_alias_in(self, conn, cdb: ContainerDB, name: str, version: int | None) -> tuple:
        if version is None:
            row = self.latest_alias(conn, name)
        else:
            row = conn.execute(
                f"SELECT {ALIAS_COLUMNS} FROM aliases WHERE name = ? AND version = ?",
                (name, int(version)),
            ).fetchone()
        if row is None or row[3]:
            what = f"Object {name!r}" + (f" version {version}" if version is not None else "")
            raise NoSuchObject(f"{what} not found in container {cdb.name!r}")
        return row

    def _content_drain(
        self, cdb: ContainerDB, name: str, version: int | None, reqid: str | None = None
    ) -> list[str]:
        with cdb.transaction() as conn:
            self.writable_props(conn, cdb)
            row = self.get_alias_in(conn, cdb, name, version)
            garbage = self._drop_content(conn, row[2])
            conn.execute(
                "UPDATE aliases SET chunk_method = 'drained', mtime = ? "
                "WHERE name = ? AND version = ?",
                (time.time(), name, row[1]),
            )
        self._container_event(cdb, "content.drained", reqid, {"name": name, "version": row[1]})
        return garbage

    def _content_truncate(
        self,
        cdb: ContainerDB,
        name: str,
        version: int,
        size: int,
        replace_pos: int | None,
        new_chunks: list[ChunkRecord],
        reqid: str | None = None,
    ) -> list[str]:
        """Drop metachunks past `size`, replace metachunk `replace_pos` by `new_chunks`.

        Checked in the transaction against the object as it is now, not as the
        caller read it: the size must still be reachable, the replaced metachunk
        must still be there, and the new chunks written for this content and policy.
        """
        from oiocli.core.chunks import group_metachunks

        with cdb.transaction() as conn:
            self.writable_props(conn, cdb)
            require_chunks(new_chunks)
            row = self.get_alias_in(conn, cdb, name, version)
            if row[10] == "drained":
                raise ContentDrained(f"Object {name!r} is drained")
            old_size = row[7] or 0
            content = row[2]
            if size > old_size:
                raise BadRange(
                    f"Cannot truncate {name!r} to {size}: it has only {old_size} bytes "
                    "(it was truncated meanwhile)"
                )
            chunks = self.get_chunks(cdb, content)
            metachunks = group_metachunks(chunks)
            if new_chunks:
                if replace_pos not in {mc.index for mc in metachunks}:
                    raise Conflict(f"Object {name!r} changed while it was being truncated")
                self._check_new_chunks(row, new_chunks, chunks)
            garbage = []
            for mc in metachunks:
                drop = mc.offset >= size and not (mc.index == 0 and size == 0)
                if drop or (new_chunks and mc.index == replace_pos):
                    for chunk in mc.chunks:
                        conn.execute(
                            "DELETE FROM chunks WHERE content = ? AND url = ?",
                            (content, chunk["url"]),
                        )
                        garbage.append(chunk["url"])
            cdb.insert_chunks(conn, content, new_chunks)
            conn.execute(
                "UPDATE aliases SET size = ?, hash = NULL, mtime = ? "
                "WHERE name = ? AND version = ?",
                (size, time.time(), name, row[1]),
            )
            _bump_stats(conn, 0, size - old_size)
        self._container_event(
            cdb,
            "content.truncated",
            reqid,
            {"name": name, "version": row[1], "size": size},
            0,
            size - old_size,
        )
        return garbage

    def _check_new_chunks(
        self,
        row: tuple,
        new_chunks: Sequence[Mapping[str, Any]],
        current: Sequence[Mapping[str, Any]],
    ) -> None:
        """New chunk records are for this content and its policy (their own metadata says so).

        A chunk written for what the object held when the caller read it (before
        a policy change replaced its content, say) is refused: recorded, it would
        mix two encodings in one object. A hard link of data the object already
        records (same metachunk hash) may name another content.
        """
        content, method = str(row[2] or "").upper(), row[10]
        known = {str(c.get("hash") or "").upper() for c in current} - {""}
        for chunk in new_chunks:
            try:
                meta = self.chunks.head(chunk["url"])["meta"]
            except OioException as exc:
                raise Conflict(f"Chunk {chunk['url']} cannot be recorded: {exc}") from None
            have_method = meta.get("chunk_method")
            have_content = str(meta.get("content_id") or "").upper()
            same_data = str(meta.get("metachunk_hash") or "").upper() in known
            if (have_method and have_method != method) or (
                have_content and content and have_content != content and not same_data
            ):
                raise Conflict(
                    f"Object {row[0]!r} changed while its chunks were being replaced "
                    f"(chunk {chunk['url']} was written for another version of it)"
                )

    def _content_replace_chunks(
        self,
        cdb: ContainerDB,
        name: str,
        version: int,
        old_urls: list[str],
        new_chunks: Sequence[Mapping[str, Any]],
        reqid: str | None = None,
    ) -> None:
        """Swap chunk records atomically (repair, rebuild, a truncated metachunk).

        The chunks replaced must still be recorded and the new ones belong to
        metachunks the object has: a swap prepared from a stale read fails.
        """
        with cdb.transaction() as conn:
            require_chunks(new_chunks)
            row = self.get_alias_in(conn, cdb, name, version)
            current = self.get_chunks(cdb, row[2])
            recorded = {c["url"] for c in current}
            missing = [url for url in old_urls if url not in recorded]
            if missing:
                raise Conflict(
                    f"Object {name!r} changed meanwhile: chunk {missing[0]} is no longer recorded"
                )
            indices = {metachunk_index(c["pos"]) for c in current}
            for chunk in new_chunks:
                if metachunk_index(chunk["pos"]) not in indices:
                    raise Conflict(
                        f"Object {name!r} changed meanwhile: it has no metachunk at "
                        f"position {chunk['pos']}"
                    )
            if new_chunks:
                self._check_new_chunks(row, new_chunks, current)
            conn.executemany(
                "DELETE FROM chunks WHERE content = ? AND url = ?",
                [(row[2], url) for url in old_urls],
            )
            cdb.insert_chunks(conn, row[2], new_chunks)

    def _content_purge(
        self, cdb: ContainerDB, name: str | None, maxvers: int | None, reqid: str | None = None
    ) -> list[str]:
        garbage: list[str] = []
        d_objects = d_bytes = 0
        with cdb.transaction() as conn:
            props = self.writable_props(conn, cdb)
            if maxvers is None:
                maxvers = self.max_versions(props)
            if name is None:
                names = [r[0] for r in conn.execute("SELECT DISTINCT name FROM aliases")]
            else:
                if not conn.execute("SELECT 1 FROM aliases WHERE name = ?", (name,)).fetchone():
                    raise NoSuchObject(f"Object {name!r} not found in container {cdb.name!r}")
                names = [name]
            for each in names:
                if maxvers < 0:
                    # Only remove delete markers.
                    conn.execute("DELETE FROM aliases WHERE name = ? AND deleted = 1", (each,))
                else:
                    g, do, db_ = self._enforce_versions(conn, each, max(maxvers, 1))
                    garbage += g
                    d_objects += do
                    d_bytes += db_
                self._fix_latest(conn, each)
            _bump_stats(conn, d_objects, d_bytes)
        self._container_event(
            cdb,
            "container.purge",
            reqid,
            {"name": name, "maxvers": maxvers},
            d_objects,
            d_bytes,
        )
        return garbage

    def _content_list(
        self,
        cdb: ContainerDB,
        limit: int,
        marker=None,
        end_marker=None,
        prefix=None,
        delimiter=None,
        versions=False,
        deleted=False,
        properties=False,
    ) -> ObjectListing:
        base: list[str] = []
        base_args: list[Any] = []
        if not versions:
            # "+latest" keeps SQLite on the primary key: reading the table in key
            # order is ~4x faster than through the partial index on latest rows.
            base.append("+latest = 1")
            if not deleted:
                base.append("deleted = 0")
        if end_marker:
            base.append("name < ?")
            base_args.append(end_marker)
        if prefix:
            base.append("name >= ? AND name < ?")
            base_args += [prefix, prefix + "\U0010ffff"]
        order = " ORDER BY name, version DESC"
        objects: list[ContentRecord] = []
        prefixes: list[str] = []
        truncated = False
        plen = len(prefix or "")
        after, start_at = marker or None, None  # exclusive / inclusive lower bounds
        try:
            while True:
                where, args = list(base), list(base_args)
                if after:
                    where.append("name > ?")
                    args.append(after)
                if start_at:
                    where.append("name >= ?")
                    args.append(start_at)
                sql = f"SELECT {ALIAS_COLUMNS} FROM aliases"
                sql += (" WHERE " + " AND ".join(where) if where else "") + order + " LIMIT ?"
                args.append(limit + 1 - len(objects) - len(prefixes))
                restart = False
                for row in cdb.conn.execute(sql, args):
                    if len(objects) + len(prefixes) >= limit:
                        truncated = True
                        break
                    name = row[0]
                    cut = name.find(delimiter, plen) if delimiter else -1
                    if cut >= 0:
                        common = name[: cut + len(delimiter)]
                        if not (marker and marker.startswith(common)):
                            prefixes.append(common)
                        # Jump past every name under this common prefix.
                        after, start_at = None, common[:-1] + chr(ord(common[-1]) + 1)
                        restart = True
                        break
                    objects.append(alias_dict(row, cdb.account, cdb.name, properties))
                if not restart:
                    break
        except sqlite3.DatabaseError as exc:
            db.raise_db_error(exc, cdb.path)
        next_marker = None
        if truncated:
            last_obj = objects[-1]["name"] if objects else ""
            last_prefix = prefixes[-1] if prefixes else ""
            next_marker = max(last_obj, last_prefix)
        return {
            "objects": objects,
            "prefixes": prefixes,
            "truncated": truncated,
            "next_marker": next_marker,
        }

    def all_urls(self, cdb: ContainerDB) -> list[tuple[str, str]]:
        return cdb.conn.execute("SELECT url, content FROM chunks").fetchall()

    # ------------------------------------------- name-based metadata API
    # What the facade (and the proxy protocol) use: names in, dicts out. Chunks
    # that a change leaves unreferenced are deleted here, after the commit, as
    # OpenIO's meta2 has its event agent do.
    def _drop_chunks(self, urls: list[str]) -> None:
        for url in urls:
            try:
                self.chunks.delete(url)
            except OioException:
                pass  # left as an orphan, found by `volume check --orphans`

    def container_props(self, account: str, container: str) -> dict[str, str]:
        return self.container(account, container).props()

    def container_locate(self, account: str, container: str) -> ContainerLocation:
        cdb = self.container(account, container)
        props = cdb.props()
        return {
            "account": account,
            "name": container,
            "cid": cdb.cid,
            "base_name": props.get("sys.name", f"{cdb.cid}.1"),
            "path": cdb.path,
            "status": STATUS_NAMES.get(int(props.get("sys.status", 0) or 0), "Unknown"),
        }

    def container_snapshot(
        self,
        account: str,
        container: str,
        dst_account: str,
        dst_container: str,
        reqid: str | None = None,
    ) -> None:
        from oiocli.backends.embedded.snapshot import snapshot_container

        snapshot_container(self, account, container, dst_account, dst_container, reqid)

    def content_prepare(
        self,
        account: str,
        container: str,
        policy: str | None = None,
        autocreate: bool = True,
        reqid: str | None = None,
    ) -> UploadPlan:
        """Check the container accepts writes; resolve the policy (OpenIO's prepare).

        A container being deleted is as good as absent: autocreate waits for the
        deletion to finish and makes it again.
        """
        for _attempt in range(5):
            try:
                cdb = self.container(account, container)
                props = cdb.props()
                if DELETED_PROP in props:
                    raise ContainerBeingDeleted(
                        f"Container {container!r} not found in account {account!r} (being deleted)"
                    )
                break
            except NoSuchContainer:
                if not autocreate:
                    raise
                self.container_create(account, container, reqid=reqid)
        else:
            raise NoSuchContainer(f"Container {container!r} not found in account {account!r}")
        self.check_writable(cdb, props)
        policy = policy or props.get("sys.m2.policy.storage") or self.default_policy
        method = self.policies.method(policy)
        return {
            "cid": cdb.cid,
            "policy": policy,
            "chunk_method": str(method),
            "chunk_size": self.chunk_size,
            "version": now_us(),
            "content_id": secrets.token_hex(16).upper(),
        }

    def content_get(
        self,
        account: str,
        container: str,
        name: str,
        version: int | None = None,
        allow_deleted: bool = False,
    ) -> ContentRecord:
        cdb = self.container(account, container)
        return alias_dict(self.get_alias(cdb, name, version, allow_deleted), account, container)

    def content_locate(
        self, account: str, container: str, name: str, version: int | None = None
    ) -> tuple[ContentRecord, list[ChunkRecord]]:
        cdb = self.container(account, container)
        # One read transaction: an object replaced or deleted between the two
        # queries would otherwise come back with no (or another's) chunks.
        with cdb.read_snapshot():
            row = self.get_alias(cdb, name, version)
            chunks = self.get_chunks(cdb, row[2]) if row[2] else []
        return alias_dict(row, account, container), chunks

    def link_target(self, url: str) -> str:
        """A new chunk URL on the same volume as `url` (hard links stay on one disk)."""
        return chunk_url(self.volume_of(url), secrets.token_hex(32).upper())

    def chunk_commit_lock(self, needed: bool = True) -> Any:
        """Shared chunk lock for a commit that records new chunks (see locks.py)."""
        from oiocli.backends.embedded.locks import chunk_lock

        return chunk_lock(self.data_dir) if needed else contextlib.nullcontext()

    def content_create(self, account: str, container: str, name: str, **kwargs: Any) -> int:
        """Commit an object into the container registered now (NoSuchContainer if none).

        A container deleted since the upload was prepared makes the commit fail;
        the caller deletes the chunks it wrote.
        """
        with self.chunk_commit_lock(bool(kwargs.get("chunks"))):
            version, garbage = self.on_container(
                account, container, lambda cdb: self._content_create(cdb, name, **kwargs)
            )
        self._drop_chunks(garbage)
        return version

    def content_delete(
        self,
        account: str,
        container: str,
        name: str,
        version: int | None = None,
        reqid: str | None = None,
    ) -> tuple[bool, int]:
        marker, version_id, garbage = self.on_container(
            account, container, lambda cdb: self._content_delete(cdb, name, version, reqid)
        )
        self._drop_chunks(garbage)
        return marker, version_id

    def content_update_props(
        self,
        account: str,
        container: str,
        name: str,
        version: int | None,
        set_: dict[str, str],
        delete: Iterable[str] = (),
        clear: bool = False,
        reqid: str | None = None,
    ) -> None:
        self.on_container(
            account,
            container,
            lambda cdb: self._content_update_props(cdb, name, version, set_, delete, clear, reqid),
        )

    def content_drain(
        self,
        account: str,
        container: str,
        name: str,
        version: int | None = None,
        reqid: str | None = None,
    ) -> None:
        garbage = self.on_container(
            account, container, lambda cdb: self._content_drain(cdb, name, version, reqid)
        )
        self._drop_chunks(garbage)

    def content_truncate(
        self,
        account: str,
        container: str,
        name: str,
        version: int,
        size: int,
        replace_pos: int | None,
        new_chunks: list[ChunkRecord],
        reqid: str | None = None,
    ) -> None:
        with self.chunk_commit_lock(bool(new_chunks)):
            garbage = self.on_container(
                account,
                container,
                lambda cdb: self._content_truncate(
                    cdb, name, version, size, replace_pos, new_chunks, reqid
                ),
            )
        self._drop_chunks(garbage)

    def content_replace_chunks(
        self,
        account: str,
        container: str,
        name: str,
        version: int,
        old_urls: list[str],
        new_chunks: list[ChunkRecord],
        reqid: str | None = None,
    ) -> None:
        with self.chunk_commit_lock(bool(new_chunks)):
            self.on_container(
                account,
                container,
                lambda cdb: self._content_replace_chunks(
                    cdb, name, version, old_urls, new_chunks, reqid
                ),
            )
        self._drop_chunks(old_urls)

    def content_purge(
        self,
        account: str,
        container: str,
        name: str | None,
        maxvers: int | None = None,
        reqid: str | None = None,
    ) -> None:
        garbage = self.on_container(
            account, container, lambda cdb: self._content_purge(cdb, name, maxvers, reqid)
        )
        self._drop_chunks(garbage)

    def content_list(
        self, account: str, container: str, limit: int, **kwargs: Any
    ) -> ObjectListing:
        return self._content_list(self.container(account, container), limit, **kwargs)

    def content_touch(
        self,
        account: str,
        container: str,
        name: str,
        version: int | None = None,
        reqid: str | None = None,
    ) -> None:
        meta = self.content_get(account, container, name, version)
        self._container_event(
            self.container(account, container),
            "content.new",
            reqid,
            {"name": name, "version": meta["version"], "size": meta["size"], "touch": True},
        )

    def container_versions(self, account: str, container: str) -> list[tuple[str, int]]:
        """(name, version) of every stored object version (not delete markers)."""
        cdb = self.container(account, container)
        try:
            return cdb.conn.execute(
                "SELECT name, version FROM aliases WHERE deleted = 0 ORDER BY name, version DESC"
            ).fetchall()
        except sqlite3.DatabaseError as exc:
            db.raise_db_error(exc, cdb.path)
            raise


def check_sizes(name: str, size: int, chunks: list[dict[str, Any]]) -> None:
    """The chunks recorded for an object (or an append) hold exactly its size.

    An object whose size says more than its chunks give is unreadable from the
    start: refused, whoever sends it (a client that read a stale chunk list).
    """
    metachunks: dict[int, int] = {}
    for chunk in chunks:
        try:
            index = metachunk_index(chunk["pos"])
        except ValueError:
            raise BadRequest(f"Object {name!r}: invalid chunk position {chunk['pos']!r}") from None
        metachunks.setdefault(index, int(chunk["size"] or 0))
    if sum(metachunks.values()) != size:
        raise BadRequest(
            f"Object {name!r}: its chunks hold {sum(metachunks.values())} bytes, not {size}: "
            "nothing was committed"
        )


def require_chunks(chunks: Iterable[Mapping[str, Any]]) -> None:
    """Every chunk about to be recorded still exists (in a commit, under the sweep lock).

    The orphan sweep deletes unreferenced chunks: one that took a fresh upload's
    chunks for orphans made it before the upload could commit, and that upload
    must fail rather than record chunks that are gone.
    """
    for chunk in chunks:
        url = chunk["url"]
        if url.startswith("file://") and not os.path.lexists(chunk_path(url)):
            raise ChunkNotFound(
                f"Chunk {url} is gone (deleted as an orphan before it was committed): "
                "nothing was committed, try again"
            )


def _paging(sql, args, column, marker, end_marker, prefix):
    if marker:
        sql += f" AND {column} > ?"
        args.append(marker)
    if end_marker:
        sql += f" AND {column} < ?"
        args.append(end_marker)
    if prefix:
        sql += f" AND {column} >= ? AND {column} < ?"
        args += [prefix, prefix + "\U0010ffff"]
    return sql, args


def _bump_stats(conn, d_objects: int, d_bytes: int) -> None:
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


def _recount(conn) -> tuple[int, int]:
    objects, nbytes = conn.execute(
        "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM aliases WHERE deleted = 0"
    ).fetchone()
    return objects, nbytes


def _unlink_db(path: str) -> None:
    for suffix in ("", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path + suffix)


def _fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


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


__all__ = [
    "EmbeddedNamespace",
    "ContainerDB",
    "compute_cid",
    "copy_database",
    "STATUS_NAMES",
    "shutil",
    "OioException",
]
