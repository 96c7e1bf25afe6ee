"""Maintenance of the embedded namespace's own files: volumes, orphans, databases.

What only a backend that holds its files can do (the optional `Maintenance`
protocol of backends/base.py): walk a volume's chunk files and find the missing,
corrupt, unreadable and orphan ones, sweep orphans, list what a lost volume
held, and check (and repair) namespace.db against the container databases.
The checks of objects themselves (chunk by chunk, against their policy) are the
API's (api/check.py): they use only the backend contract.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

from oiocli.backends.embedded import db, rebuild
from oiocli.backends.embedded.chunks import chunk_path, chunk_url, prepare_volume
from oiocli.backends.embedded.config import volume_owner
from oiocli.backends.embedded.container_db import DELETED_PROP, UNREGISTERED, unlink_db
from oiocli.backends.embedded.locks import chunk_lock
from oiocli.backends.embedded.volumes import iter_chunk_files
from oiocli.core.exceptions import CorruptDatabase, Forbidden, OioException

if TYPE_CHECKING:
    from oiocli.backends.embedded.meta import EmbeddedNamespace


class ChunkRef(NamedTuple):
    """Where a chunk is recorded."""

    account: str
    container: str
    content: str


class NamespaceMaintenance:
    def __init__(self, ns: EmbeddedNamespace) -> None:
        self.ns = ns

    def volume_objects(self, volume: str) -> list[tuple[str, str, str, int]]:
        """(account, container, object, version) of every object with a chunk on `volume`."""
        done: set[ChunkRef] = set()
        found = []
        for ref in self.referenced_urls(volume).values():
            if ref in done:
                continue
            done.add(ref)
            cdb = self.ns.container(ref.account, ref.container)
            try:
                versions = cdb.conn.execute(
                    "SELECT name, version FROM aliases WHERE content = ?", (ref.content,)
                ).fetchall()
            except sqlite3.DatabaseError as exc:
                db.raise_db_error(exc, cdb.path)
            found += [(ref.account, ref.container, name, version) for name, version in versions]
        return found

    @staticmethod
    def restore_volume(volume: str) -> None:
        """Make a lost volume directory again, to rebuild onto, when it can be.

        One that cannot be (unreadable, read-only) is left alone: placement
        skips it, and its chunks are rebuilt on the other volumes.
        """
        with contextlib.suppress(OSError):
            prepare_volume(volume)

    # ----------------------------------------------------------- volumes
    def referenced_urls(self, volume: str | None = None) -> dict[str, ChunkRef]:
        """url -> where it is recorded, for every chunk record (on `volume`)."""
        refs: dict[str, ChunkRef] = {}
        prefix = f"file://{volume}/" if volume else None
        for account, name in self.ns._ns_read("SELECT account, name FROM containers"):
            cdb = self.ns.container(account, name)
            try:
                if prefix:
                    rows = cdb.conn.execute(
                        "SELECT url, content FROM chunks WHERE url >= ? AND url < ?",
                        (prefix, prefix[:-1] + "0"),
                    ).fetchall()
                else:
                    rows = cdb.conn.execute("SELECT url, content FROM chunks").fetchall()
            except sqlite3.DatabaseError as exc:
                db.raise_db_error(exc, cdb.path)
            for url, content in rows:
                refs[url] = ChunkRef(account, name, content)
        return refs

    def unregistered_databases(self) -> list[str]:
        """Container database files namespace.db does not list (a crash, a lost directory)."""
        registered = {
            self.ns.container_db_path(cid, dbfile)
            for cid, dbfile in self.ns._ns_read(
                f"SELECT cid, {self.ns._dbfile_sql} FROM containers"
            )
        }
        return [path for path in self.ns.container_db_files() if path not in registered]

    def _referenced_among(self, urls: list[str]) -> set[str]:
        """Which of `urls` a container database records, read now (registered or not).

        Unregistered databases count: `namespace check --repair` may register
        them again, and their chunks must still be there then.
        """
        found: set[str] = set()
        connections = []  # (connection, path, opened here)
        for account, name in self.ns._ns_read("SELECT account, name FROM containers"):
            cdb = self.ns.container(account, name)
            connections.append((cdb.conn, cdb.path, False))
        for path in self.unregistered_databases():
            try:
                conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=db.BUSY_TIMEOUT_S)
            except sqlite3.Error as exc:
                db.raise_db_error(exc, path)
            connections.append((conn, path, True))
        try:
            for conn, path, _own in connections:
                for start in range(0, len(urls), 500):
                    batch = urls[start : start + 500]
                    marks = ",".join("?" * len(batch))
                    try:
                        rows = conn.execute(
                            f"SELECT url FROM chunks WHERE url IN ({marks})", batch
                        ).fetchall()
                    except sqlite3.DatabaseError as exc:
                        db.raise_db_error(exc, path)
                    found.update(url for (url,) in rows)
        finally:
            for conn, _path, own in connections:
                if own:
                    conn.close()
        return found

    def _referenced_among_volume(self, volume: str) -> set[str]:
        """Chunks on `volume` that unregistered container databases record (not orphans)."""
        prefix = f"file://{volume}/"
        found: set[str] = set()
        for path in self.unregistered_databases():
            try:
                conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=db.BUSY_TIMEOUT_S)
                try:
                    found.update(
                        url
                        for (url,) in conn.execute(
                            "SELECT url FROM chunks WHERE url >= ? AND url < ?",
                            (prefix, prefix[:-1] + "0"),
                        )
                    )
                finally:
                    conn.close()
            except sqlite3.DatabaseError as exc:
                db.raise_db_error(exc, path)
        return found

    def _refuse_foreign_volume(self, volume: str) -> None:
        """Never delete orphans on a volume another namespace marked as its own."""
        owner = volume_owner(volume)
        mine = self.ns.config.get("id")
        if owner is not None and mine is not None and owner.get("id") != mine:
            raise Forbidden(
                f"Volume {volume} belongs to the namespace in {owner.get('data_dir')}: "
                "its chunks are not this namespace's orphans"
            )

    def _sweep(
        self, candidates: list[tuple[str, float]], in_use: Callable[[], set[str]]
    ) -> list[tuple[str, float]]:
        """Delete the candidate orphans still unreferenced, under the exclusive chunk lock.

        What was read before the lock is only a candidate list: an upload may
        have committed since. Under the lock no commit that records chunks can
        run, so what is unreferenced now stays unreferenced, and a commit that
        comes after finds its chunks gone and fails rather than record them.
        """
        with chunk_lock(self.ns.data_dir, exclusive=True):
            urls = [url for url, _age in candidates]
            keep = self._referenced_among(urls) | in_use()
            deleted = []
            for url, age in candidates:
                if url not in keep:
                    self.ns.chunks.delete(url)
                    deleted.append((url, age))
        return deleted

    def check_volume(
        self,
        volume: str,
        *,
        orphans: bool,
        delete_orphans: bool,
        min_age: float,
        verify: bool = True,
        in_use: Callable[[], set[str]] = set,
    ) -> list[dict[str, Any]]:
        """One row per chunk of `volume` that is missing, corrupt, unreadable or an orphan.

        Orphans (with `orphans`; deleted with `delete_orphans`) are chunk files
        no container database records, untouched for `min_age` seconds.
        `in_use()` names chunks that uploads in progress hold (the API's upload
        journals): never orphans. It is asked again under the sweep's lock.
        """
        refs = self.referenced_urls(volume)
        in_progress = in_use()
        rows: list[dict[str, Any]] = []
        seen: set[str] = set()
        now = time.time()
        if not os.path.isdir(volume):
            rows.append(
                {
                    "volume": volume,
                    "chunk": "",
                    "state": "missing",
                    "detail": "volume directory is missing",
                    "object": "",
                }
            )
        # Directories that cannot be listed (chmod 000, I/O error): the chunks
        # recorded there are reported unreadable, not missing, and the directory
        # itself gets a row when an object has a chunk in it (an unreadable
        # volume no object uses any more, e.g. after `volume rebuild`, is clean).
        errors: list[tuple[str, OSError]] = []
        unreadable: dict[str, str] = {}
        reported: set[str] = set()
        candidates: list[tuple[str, float]] = []  # (url, age) of unreferenced chunks
        if orphans or delete_orphans:
            in_progress |= self._referenced_among_volume(volume)
        for chunk_id, path in iter_chunk_files(volume, errors):
            url = chunk_url(volume, chunk_id)
            seen.add(url)
            ref = refs.get(url)
            if ref is None:
                if not (orphans or delete_orphans) or url in in_progress:
                    continue
                try:
                    st = os.stat(path)
                except FileNotFoundError:
                    continue
                # A hard link (object link, snapshot) is new while its data is
                # old: linking changes the inode's ctime, not its mtime.
                age = now - max(st.st_mtime, st.st_ctime)
                if age < min_age:
                    continue
                candidates.append((url, age))
                continue
            if verify:
                info = self.ns.chunks.verify(url)
                if not info["ok"]:
                    rows.append(
                        {
                            "volume": volume,
                            "chunk": url,
                            "state": "corrupt",
                            "detail": info["error"],
                            "object": f"{ref.account}/{ref.container}",
                        }
                    )
        if delete_orphans and candidates:
            self._refuse_foreign_volume(volume)
            candidates = self._sweep(candidates, in_use)
        for url, age in candidates:
            rows.append(
                {
                    "volume": volume,
                    "chunk": url,
                    "state": "orphan-deleted" if delete_orphans else "orphan",
                    "detail": f"no object references it (age {int(age)} s)",
                    "object": "",
                }
            )
        for path, exc in errors:
            unreadable[path] = exc.strerror or str(exc)
        for url, ref in refs.items():
            if url in seen:
                continue
            chunk_dir = os.path.dirname(chunk_path(url))
            why = unreadable.get(volume, unreadable.get(chunk_dir))
            if why is None:
                state, detail = "missing", "chunk file is missing"
            else:
                where = "volume directory" if volume in unreadable else chunk_dir
                state, detail = "unreadable", f"{where} is unreadable: {why}"
                if where not in reported:
                    reported.add(where)
                    rows.append(
                        {
                            "volume": volume,
                            "chunk": "",
                            "state": "unreadable",
                            "detail": f"{where} is unreadable: {why}",
                            "object": "",
                        }
                    )
            rows.append(
                {
                    "volume": volume,
                    "chunk": url,
                    "state": state,
                    "detail": detail,
                    "object": f"{ref.account}/{ref.container}",
                }
            )
        return rows

    def check_namespace(self, repair: bool = False) -> list[dict[str, Any]]:
        """The namespace's own files: namespace.db and the container databases.

        Compares account stats with containers and container stats with
        objects; finds container databases namespace.db does not list (a crash,
        a lost directory) and deletions a crash interrupted. `repair` rebuilds
        a damaged namespace.db from the container databases, registers the
        databases it lacks, finishes interrupted deletions and recomputes wrong
        statistics. Nothing that holds objects is ever deleted.
        """
        ns = self.ns
        rows: list[dict[str, Any]] = []
        try:
            problem = self._namespace_db_problem()
        except CorruptDatabase as exc:
            problem = str(exc)
        if problem is not None:
            if not repair:
                return [_row(ns.ns_db_path, "namespace database", "lost", problem, "readable")]
            rows += rebuild.rebuild_directory(ns, problem)
        rows += self._registered_containers(repair)
        rows += self._account_stats(repair)
        rows += self._unregistered(repair, rebuilt=problem is not None)
        return rows

    def _namespace_db_problem(self) -> str | None:
        """What is wrong with namespace.db (it cannot be opened, or its pages are damaged)."""
        return self._database_damage(self.ns.ns, self.ns.ns_db_path)

    @staticmethod
    def _database_damage(conn: Any, path: str) -> str | None:
        """SQLite's own check of every page (a file cut short reads fine until a missing page)."""
        try:
            result = conn.execute("PRAGMA quick_check").fetchall()
        except sqlite3.DatabaseError as exc:
            return f"Database {path} is corrupt: {exc}"
        if [tuple(r) for r in result] != [("ok",)]:
            return f"Database {path} is corrupt: " + "; ".join(str(r[0]) for r in result[:3])
        return None

    def _registered_containers(self, repair: bool) -> list[dict[str, Any]]:
        ns = self.ns
        rows = []
        for account, name in ns._ns_read("SELECT account, name FROM containers"):
            scope = f"{account}/{name}"
            try:
                cdb = ns.container(account, name)
                damage = self._database_damage(cdb.conn, cdb.path)
                if damage is not None:
                    rows.append(_row(scope, "database", "lost", damage))
                    continue
                objects, nbytes = cdb.conn.execute(
                    "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM aliases WHERE deleted = 0"
                ).fetchone()
                props = cdb.props()
            except Forbidden as exc:  # permissions: nothing is damaged, nothing to repair
                rows.append(_row(scope, "database", "wrong", str(exc)))
                continue
            except OioException as exc:
                rows.append(_row(scope, "database", "lost", str(exc)))
                continue
            except sqlite3.DatabaseError as exc:  # e.g. an empty file: no tables
                rows.append(_row(scope, "database", "lost", f"Database {cdb.path}: {exc}"))
                continue
            if DELETED_PROP in props:
                rows.append(
                    _row(
                        scope,
                        "interrupted deletion",
                        "repaired" if repair else "wrong",
                        "being deleted (a crash stopped its deletion)",
                        "deleted",
                    )
                )
                if repair:
                    ns._unregister(cdb, None)
                continue
            recorded = (int(props.get("sys.m2.objects", 0)), int(props.get("sys.m2.usage", 0)))
            row_stats = ns.container_stats_row(account, name)
            listed = (row_stats["objects"], row_stats["bytes"])
            ok = recorded == (objects, nbytes) and listed == (objects, nbytes)
            rows.append(
                _row(
                    scope,
                    "container stats",
                    "ok" if ok else ("repaired" if repair else "wrong"),
                    f"db {recorded[0]}/{recorded[1]}, account {listed[0]}/{listed[1]}",
                    f"{objects} objects, {nbytes} bytes",
                )
            )
            if repair and not ok:
                ns.container_touch(account, name, recompute=True)
        return rows

    def _account_stats(self, repair: bool) -> list[dict[str, Any]]:
        ns = self.ns
        rows = []
        for account in ns.account_list():
            info = ns.account_show(account)
            ((objects, nbytes),) = ns._ns_read(
                "SELECT COALESCE(SUM(objects), 0), COALESCE(SUM(bytes), 0) FROM containers "
                "WHERE account = ?",
                (account,),
            )
            ok = (info["objects"], info["bytes"]) == (objects, nbytes)
            rows.append(
                _row(
                    account,
                    "account stats",
                    "ok" if ok else ("repaired" if repair else "wrong"),
                    f"{info['objects']} objects, {info['bytes']} bytes",
                    f"{objects} objects, {nbytes} bytes",
                )
            )
            if repair and not ok:
                ns.account_refresh(account)
        return rows

    def _unregistered(self, repair: bool, rebuilt: bool) -> list[dict[str, Any]]:
        """Container databases namespace.db does not list, and temporary leftovers.

        A database marked deleted, or an empty one whose container is listed
        with another database, is a leftover (repair removes it); one that holds
        objects of a container that is listed elsewhere is kept for an operator
        (repair never deletes objects); any other is a container namespace.db
        lost, which repair registers again.
        """
        ns = self.ns
        rows = []
        for path in self.unregistered_databases():
            found = rebuild.read_container_file(path)
            if found.problem:
                if not rebuilt:  # the rebuild reported it already
                    rows.append(_row(path, "container database", "lost", found.problem))
                continue
            taken = ns.registered_dbfile(found.cid) is not UNREGISTERED
            if found.deleted or (taken and found.objects == 0):
                why = "being deleted" if found.deleted else "empty, its container has another"
                rows.append(
                    _row(path, "leftover database", "repaired" if repair else "wrong", why, "none")
                )
                if repair:
                    unlink_db(path)
            elif taken:
                if not rebuilt:
                    rows.append(
                        _row(
                            path,
                            "duplicate database",
                            "wrong",
                            f"holds {found.objects} objects of {found.account}/{found.name}, "
                            "which is listed with another database: left for an operator",
                        )
                    )
            else:
                adopted = repair and rebuild.adopt(ns, found)
                rows.append(
                    _row(
                        path,
                        "unregistered container",
                        "repaired" if adopted else "wrong",
                        f"{found.account}/{found.name}, {found.objects} objects, not listed",
                        "listed in namespace.db",
                    )
                )
        base = os.path.join(ns.data_dir, "containers")
        for root, _dirs, files in os.walk(base):
            for fname in files:
                if fname.endswith(".tmp"):
                    path = os.path.join(root, fname)
                    rows.append(
                        _row(
                            path,
                            "leftover database",
                            "repaired" if repair else "wrong",
                            "temporary file of an interrupted creation",
                            "none",
                        )
                    )
                    if repair:
                        unlink_db(path)
        return rows


def _row(scope: str, check: str, state: str, found: str, expected: str = "") -> dict[str, Any]:
    return {"scope": scope, "check": check, "state": state, "expected": expected, "found": found}
