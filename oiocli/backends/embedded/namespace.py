"""The embedded namespace itself: the work of OpenIO's account service and meta1.

namespace.json holds its settings (config.py); namespace.db the accounts, the
container directory (which database file is each container's, with cached
counters) and the event journal. Placement picks the volumes new chunks go to.
The content operations inside each container's own database are in
contents.py; the container database itself in container_db.py.

namespace.db uses synchronous=NORMAL, because everything in it (stats, events)
can be recomputed from the containers by `namespace check`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import random
import sqlite3
import threading
import time
from typing import TYPE_CHECKING, Any

from oiocli.backends.embedded import db
from oiocli.backends.embedded.container_db import (
    DELETED_PROP,
    M2_SCHEMA,
    STATUS_ENABLED,
    STATUS_NAMES,
    UNREGISTERED,
    ContainerBeingDeleted,
    ContainerDB,
    StaleContainer,
    compute_cid,
    now_us,
    recount,
    table_columns,
    unlink_db,
)
from oiocli.backends.stores import ChunkStores
from oiocli.core.exceptions import (
    AccountNotEmpty,
    ContainerNotEmpty,
    CorruptDatabase,
    NoSuchAccount,
    NoSuchContainer,
    NotEnoughVolumes,
    OioException,
)
from oiocli.core.fsutil import fsync_dir
from oiocli.core.storage_method import PolicyTable, StorageMethod, parse_method

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from oiocli.backends.base import AccountRecord, ChunkStore, ContainerLocation, EventRecord

LOG = logging.getLogger("oiocli")
NS_DB_FILE = "namespace.db"

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
# How long a deletion another process has begun is left to it to finish.
DELETE_GRACE_S = 10.0


def _local_chunk_store() -> ChunkStore:
    """The volumes' chunk store, built on the first chunk touched: a listing needs none."""
    from oiocli.backends.embedded.chunks import LocalChunkStore

    return LocalChunkStore()


class Namespace:
    """The namespace: settings, namespace.db (accounts, the container directory, events), placement.

    The content operations inside each container database build on it
    (contents.py); `EmbeddedNamespace` (meta.py) is the whole backend.
    """

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
        # Tier chunks (`b2/`, `s3/`) are not in this registry: their bucket key names
        # their container and their bucket comes from their method, neither of which a
        # `b2/<chunk id>` URL says, so they go through `tier_chunks` (one store bound
        # to a method and a container).
        self.chunks = ChunkStores({"file://": _local_chunk_store})
        self.tier_key_file: str | None = None  # --key-file of the caller, if any
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
                name
                for (name,) in database.conn.execute(
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
            columns = table_columns(database.conn, "containers")
            if "dbfile" not in columns and not isinstance(database.conn, db.ReadOnlyConnection):
                with database.transaction() as conn:
                    columns = table_columns(conn, "containers")
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
        sql, args = "SELECT name FROM accounts WHERE 1=1", list[Any]()
        sql, args = _paging(sql, args, "name", marker, end_marker, prefix)
        sql += " ORDER BY name"
        if limit:
            sql += " LIMIT ?"
            args.append(int(limit))
        return [name for (name,) in self._ns_read(sql, args)]

    def account_update_metadata(
        self, account: str, set_: dict[str, str], delete: Iterable[str], reqid: str | None
    ) -> None:
        with self._ns_tx() as conn:
            row = conn.execute(
                "SELECT metadata FROM accounts WHERE name = ?", (account,)
            ).fetchone()
            if not row:
                raise NoSuchAccount(f"Account {account!r} not found")
            (metadata_json,) = row
            metadata = json.loads(metadata_json)
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
                [account]
                if account
                else [name for (name,) in conn.execute("SELECT name FROM accounts")]
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
        import secrets

        while True:
            dbfile = f"{cid}.{secrets.token_hex(4)}.db"
            path = self.container_db_path(cid, dbfile)
            if not any(os.path.lexists(path + s) for s in ("", "-wal", "-shm")):
                return dbfile, path

    def registered_dbfile(self, cid: str) -> Any:
        """The database file namespace.db lists for a container, or UNREGISTERED."""
        rows = self._ns_read(f"SELECT {self._dbfile_sql} FROM containers WHERE cid = ?", (cid,))
        if not rows:
            return UNREGISTERED
        ((dbfile,),) = rows
        return dbfile

    def container_create(
        self,
        account: str,
        name: str,
        properties: dict[str, str] | None = None,
        system: dict[str, str] | None = None,
        reqid: str | None = None,
        autocreate_account: bool = True,
    ) -> bool:
        import secrets

        from oiocli.backends.embedded.chunks import makedirs_private

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
            unlink_db(tmp)
            db.raise_db_error(exc, tmp)
        except BaseException:
            unlink_db(tmp)
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
                    unlink_db(tmp)
                    return False
                if not nsc.execute("SELECT 1 FROM accounts WHERE name = ?", (account,)).fetchone():
                    if not autocreate_account:
                        unlink_db(tmp)
                        raise NoSuchAccount(f"Account {account!r} not found")
                    nsc.execute(
                        "INSERT INTO accounts (name, ctime, mtime) VALUES (?, ?, ?)",
                        (account, now, now),
                    )
                    self.emit(nsc, "account.create", {"account": account}, reqid)
                os.replace(tmp, path)
                moved = True
                fsync_dir(os.path.dirname(path))
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
            unlink_db(path if moved else tmp)
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
        (value,) = row
        try:
            return int(value)
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
        unlink_db(cdb.path)
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
        # Concurrent commits note theirs in one shared transaction (group commit).

        def note(nsc: sqlite3.Connection) -> None:
            self._apply_stats(nsc, cdb, d_objects, d_bytes)
            self.emit(nsc, etype, {"account": cdb.account, "container": cdb.name}, reqid, data)

        try:
            self.ns_db.group_commit(note, durable=False)
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
                    objects, nbytes = recount(conn)
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
            listed_objects, listed_bytes = old
            self._apply_stats(nsc, cdb, objects - listed_objects, nbytes - listed_bytes)
            self.emit(
                nsc,
                "container.state",
                {"account": account, "container": name},
                reqid,
                {"objects": objects, "bytes": nbytes},
            )

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

    # ------------------------------------------------------------- placement
    def pick_volumes(self, count: int, avoid: Iterable[str] = ()) -> list[str]:
        # A missing, read-only or unreadable (chmod 000) volume is never a target:
        # the policy is met on the others, or NotEnoughVolumes says it cannot be.
        # Nor is a draining one (a mark in the volume, read live: see volume_admin.py).
        from oiocli.backends.embedded.volume_admin import is_draining

        # Volumes are checked in a random order until `count` pass: the first
        # `count` usable ones of a random permutation are a uniform sample of the
        # usable ones, and a create checks ~count volumes instead of all of them.
        avoid = set(avoid)
        candidates = [v for v in self.volumes if v not in avoid]
        random.shuffle(candidates)
        usable: list[str] = []
        if count <= 0:
            return usable
        for v in candidates:
            if (
                os.path.isdir(v)
                and os.access(v, os.R_OK | os.W_OK | os.X_OK)
                and not is_draining(v)
            ):
                usable.append(v)
                if len(usable) == count:
                    return usable
        raise NotEnoughVolumes(
            f"Need {count} distinct volumes, only {len(usable)} usable "
            f"of {len(self.volumes)} configured"
        )

    def chunk_targets(self, count: int) -> list[str]:
        import secrets

        from oiocli.backends.embedded.chunks import chunk_url

        return [chunk_url(v, secrets.token_hex(32).upper()) for v in self.pick_volumes(count)]

    # ------------------------------------------------------------- cloud tier
    def tier_chunks(
        self,
        method: StorageMethod,
        account: str = "",
        container: str = "",
        key_file: str | None = None,
        cid: str | None = None,
    ) -> Any:
        """The chunk store of a cloud tier method for one container's chunks.

        Tier chunks are named in their bucket after their container
        (`<container id>/<chunk id>`), so the store is bound to one; the key
        file is read now (a missing key fails before any byte moves).
        """
        from oiocli.backends.cloud import tier_store

        return tier_store(
            method,
            cid or compute_cid(account, container),
            key_file or self.tier_key_file,
            self.config.get("key_file"),
        )

    def namespace_set(
        self,
        policies: dict[str, str] | None = None,
        default_policy: str | None = None,
        key_file: str | None = None,
    ) -> dict[str, Any]:
        """Add or redefine policies, change the default policy or the tier key file.

        Objects keep the chunk method they were written with, so redefining a
        policy changes only what is written next. Every tier method ever named
        stays listed (`tier_methods`): deleting an object of a retired tier
        policy still finds its bucket.
        """
        from oiocli.backends.embedded import config as nsconfig
        from oiocli.backends.embedded.locks import chunk_lock

        path = os.path.join(self.data_dir, nsconfig.CONFIG_FILE)
        with chunk_lock(self.data_dir, exclusive=True):
            current = nsconfig.read_config(path) or self.config
            config = json.loads(json.dumps(current))
            for name, text in (policies or {}).items():
                method = parse_method(text)  # InvalidStorageMethod: nothing written
                config["policies"][name] = str(method)
                if method.is_tier and str(method) not in config.setdefault("tier_methods", []):
                    config["tier_methods"].append(str(method))
            if default_policy is not None:
                PolicyTable(config["policies"]).method(default_policy)
                config["storage_policy"] = default_policy
            if key_file is not None:
                if key_file:
                    config["key_file"] = os.path.abspath(key_file)
                else:
                    config.pop("key_file", None)
            nsconfig.validate(config, path)
            nsconfig.write_config(path, config)
        self.config = config
        self.policies = PolicyTable(config["policies"])
        return config

    def tier_sweep_lock(self) -> Any:
        """The chunk lock, exclusive: no commit of new chunks runs while orphans go."""
        from oiocli.backends.embedded.locks import chunk_lock

        return chunk_lock(self.data_dir, exclusive=True)

    def tier_methods(self) -> list[StorageMethod]:
        """Every tier method the namespace knows: its policies', and retired ones'."""
        known = list(self.policies.methods.values()) + list(self.config.get("tier_methods", []))
        methods = []
        for text in dict.fromkeys(known):
            method = parse_method(text)
            if method.is_tier:
                methods.append(method)
        return methods

    def repair_targets(self, count: int, avoid: Iterable[str] = ()) -> list[str]:
        """URLs for `count` new chunks on distinct volumes, none of them in `avoid`."""
        import secrets

        from oiocli.backends.embedded.chunks import chunk_url

        volumes = self.pick_volumes(count, avoid=avoid)
        return [chunk_url(v, secrets.token_hex(32).upper()) for v in volumes]

    def volume_of(self, url: str) -> str:
        from oiocli.backends.embedded.chunks import chunk_path

        return os.path.dirname(os.path.dirname(chunk_path(url)))

    def link_target(self, url: str) -> str:
        """A new chunk URL on the same volume as `url` (hard links stay on one disk)."""
        import secrets

        from oiocli.backends.embedded.chunks import chunk_url

        return chunk_url(self.volume_of(url), secrets.token_hex(32).upper())

    def chunk_commit_lock(self, needed: bool = True) -> Any:
        """Shared chunk lock for a commit that records new chunks (see locks.py)."""
        from oiocli.backends.embedded.locks import chunk_lock

        return chunk_lock(self.data_dir) if needed else contextlib.nullcontext()


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
