"""Object operations inside the container databases (the work of OpenIO's meta2).

Every change runs in one write transaction of the container's database, which
checks first that the database is still the container's (container_db.py), and
is checked there against the object as it is now, never as the caller read it.
Chunks a change leaves unreferenced are deleted after the commit, as OpenIO's
meta2 has its event agent do; the namespace's counters and events follow
(`Namespace._container_event`).
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import time
from typing import TYPE_CHECKING, Any

from oiocli.backends.embedded import db
from oiocli.backends.embedded.container_db import (
    ALIAS_COLUMNS,
    DELETED_PROP,
    STATUS_DISABLED,
    STATUS_FROZEN,
    AliasRow,
    ContainerBeingDeleted,
    ContainerDB,
    alias_dict,
    bump_stats,
    container_status,
    fetch_alias,
    now_us,
)
from oiocli.backends.embedded.namespace import Namespace
from oiocli.core.exceptions import (
    BadRange,
    BadRequest,
    ChunkNotFound,
    Conflict,
    ContainerFrozen,
    ContentDrained,
    NoSuchContainer,
    NoSuchObject,
    OioException,
)
from oiocli.core.storage_method import TIER_PREFIXES, parse_method

LOG = logging.getLogger("oiocli")

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from oiocli.backends.base import ContentRecord, ObjectListing, UploadPlan
    from oiocli.core.chunks import ChunkRecord


class ContainerContents(Namespace):
    """The namespace with the objects of its containers: create, append, delete, list..."""

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

    def latest_alias(self, conn: sqlite3.Connection, name: str) -> AliasRow | None:
        return fetch_alias(conn, "name = ? AND latest = 1", (name,))

    def get_alias(
        self, cdb: ContainerDB, name: str, version: int | None = None, allow_deleted: bool = False
    ) -> AliasRow:
        conn = cdb.conn
        try:
            if version is None:
                row = self.latest_alias(conn, name)
            else:
                row = fetch_alias(conn, "name = ? AND version = ?", (name, int(version)))
        except sqlite3.DatabaseError as exc:
            db.raise_db_error(exc, cdb.path)
        if row is None or (row.deleted and not allow_deleted):
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
            if append and latest is not None and not latest.deleted:
                return self._append(conn, cdb, name, latest, size, chunk_method, chunks, now)
            garbage: list[str] = []
            d_objects = d_bytes = 0
            new_version, ctime, is_latest = version, now, 1
            mime: str | None = mime_type
            props_json = json.dumps(properties)
            maxvers = self.max_versions(props)
            if keep_version or restore_drained:
                old = fetch_alias(conn, "name = ? AND version = ?", (name, version))
                if old is None:
                    raise NoSuchObject(f"Object {name!r} version {version} not found")
                if restore_drained and old.chunk_method != "drained":
                    raise Conflict(f"Object {name!r} is not drained")
                if restore_drained and (old.size != size or (old.hash and old.hash != hsh)):
                    raise Conflict(f"Data does not match drained object {name!r}")
                if keep_version and old.chunk_method == "drained":
                    raise ContentDrained(f"Object {name!r} is drained")
                if keep_version and (
                    old.size != size or (old.hash and hsh and old.hash.upper() != hsh.upper())
                ):
                    # What was re-encoded is not what the object holds now (an
                    # append or a truncate came first): re-encoding must start again.
                    raise Conflict(
                        f"Object {name!r} changed while its policy was being changed: "
                        "nothing was changed, try again"
                    )
                garbage += self._drop_content(conn, old.content)
                conn.execute("DELETE FROM aliases WHERE name = ? AND version = ?", (name, version))
                d_objects -= 1
                d_bytes -= old.size or 0
                ctime, is_latest = old.ctime, old.latest
                if not restore_drained:
                    mime, props_json = old.mime_type, old.properties
            else:
                if latest is not None and not latest.deleted and maxvers == 0:
                    raise Conflict(f"Object {name!r} already exists and versioning is disabled")
                if latest is not None:
                    new_version = max(version, latest.version + 1)
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
            bump_stats(conn, d_objects, d_bytes)
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
        latest: AliasRow,
        size: int,
        chunk_method: str,
        chunks: list[dict[str, Any]],
        now: float,
    ) -> tuple[int, list[str], int, int, str]:
        """Add appended metachunks (numbered from 0 by the writer) after the object's last.

        Numbered here, in the commit transaction, as OpenIO's meta2 does: two
        appends at once both land, one after the other, whatever they read before.
        """
        from oiocli.core.chunks import metachunk_index, shift_position

        version, content, method = latest.version, latest.content_id, latest.chunk_method
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
            metachunk_index(pos)
            for (pos,) in conn.execute("SELECT pos FROM chunks WHERE content = ?", (content,))
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
        bump_stats(conn, 0, size)
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
        urls = [
            url for (url,) in conn.execute("SELECT url FROM chunks WHERE content = ?", (content,))
        ]
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
                if latest is None or latest.deleted:
                    raise NoSuchObject(f"Object {name!r} not found in container {cdb.name!r}")
                if maxvers < 0 or maxvers > 1:
                    marker_version = latest.version + 1  # OpenIO: latest version + 1
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
                    result = (False, latest.version)
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
                content, size, deleted = row
                garbage += self._drop_content(conn, content)
                self._fix_latest(conn, name)
                d_objects = 0 if deleted else -1
                d_bytes = 0 if deleted else -(size or 0)
                result = (bool(deleted), int(version))
            bump_stats(conn, d_objects, d_bytes)
        marker, version_id = result
        self._container_event(
            cdb,
            "content.deleted",
            reqid,
            {"name": name, "version": version_id},
            d_objects,
            d_bytes,
        )
        return marker, version_id, garbage

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
            current = {} if clear else json.loads(row.properties or "{}")
            current.update({str(k): str(v) for k, v in set_.items()})
            for key in delete:
                current.pop(key, None)
            # As OpenIO's meta2: properties are not the object, its mtime stays.
            conn.execute(
                "UPDATE aliases SET properties = ? WHERE name = ? AND version = ?",
                (json.dumps(current), name, row.version),
            )
        self._container_event(cdb, "content.update", reqid, {"name": name, "version": row.version})

    def get_alias_in(
        self, conn: sqlite3.Connection, cdb: ContainerDB, name: str, version: int | None
    ) -> AliasRow:
        """The object (a version, or its latest) in the caller's transaction; no delete marker."""
        if version is None:
            row = self.latest_alias(conn, name)
        else:
            row = fetch_alias(conn, "name = ? AND version = ?", (name, int(version)))
        if row is None or row.deleted:
            what = f"Object {name!r}" + (f" version {version}" if version is not None else "")
            raise NoSuchObject(f"{what} not found in container {cdb.name!r}")
        return row

    def _content_drain(
        self, cdb: ContainerDB, name: str, version: int | None, reqid: str | None = None
    ) -> list[str]:
        with cdb.transaction() as conn:
            self.writable_props(conn, cdb)
            row = self.get_alias_in(conn, cdb, name, version)
            garbage = self._drop_content(conn, row.content)
            conn.execute(
                "UPDATE aliases SET chunk_method = 'drained', mtime = ? "
                "WHERE name = ? AND version = ?",
                (time.time(), name, row.version),
            )
        self._container_event(cdb, "content.drained", reqid, {"name": name, "version": row.version})
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
            if row.chunk_method == "drained":
                raise ContentDrained(f"Object {name!r} is drained")
            old_size = row.size or 0
            content = row.content_id
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
                self._check_new_chunks(row, new_chunks, chunks, cdb.cid)
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
                (size, time.time(), name, row.version),
            )
            bump_stats(conn, 0, size - old_size)
        self._container_event(
            cdb,
            "content.truncated",
            reqid,
            {"name": name, "version": row.version, "size": size},
            0,
            size - old_size,
        )
        return garbage

    def _check_new_chunks(
        self,
        row: AliasRow,
        new_chunks: Sequence[Mapping[str, Any]],
        current: Sequence[Mapping[str, Any]],
        cid: str = "",
    ) -> None:
        """New chunk records are for this content and its policy (their own metadata says so).

        A chunk written for what the object held when the caller read it (before
        a policy change replaced its content, say) is refused: recorded, it would
        mix two encodings in one object. A hard link of data the object already
        records (same metachunk hash) may name another content.
        """
        content, method = str(row.content or "").upper(), row.chunk_method
        known = {str(c.get("hash") or "").upper() for c in current} - {""}
        store: Any = self.chunks
        parsed = parse_method(method) if method and method != "drained" else None
        if parsed is not None and parsed.is_tier:
            store = self.tier_chunks(parsed, cid=cid)
        for chunk in new_chunks:
            try:
                meta = store.head(chunk["url"])["meta"]
            except OioException as exc:
                raise Conflict(f"Chunk {chunk['url']} cannot be recorded: {exc}") from None
            have_method = meta.get("chunk_method")
            have_content = str(meta.get("content_id") or "").upper()
            same_data = str(meta.get("metachunk_hash") or "").upper() in known
            if (have_method and have_method != method) or (
                have_content and content and have_content != content and not same_data
            ):
                raise Conflict(
                    f"Object {row.name!r} changed while its chunks were being replaced "
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
        from oiocli.core.chunks import metachunk_index

        with cdb.transaction() as conn:
            require_chunks(new_chunks)
            row = self.get_alias_in(conn, cdb, name, version)
            current = self.get_chunks(cdb, row.content_id)
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
                self._check_new_chunks(row, new_chunks, current, cdb.cid)
            conn.executemany(
                "DELETE FROM chunks WHERE content = ? AND url = ?",
                [(row.content, url) for url in old_urls],
            )
            cdb.insert_chunks(conn, row.content_id, new_chunks)

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
                names = [each for (each,) in conn.execute("SELECT DISTINCT name FROM aliases")]
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
            bump_stats(conn, d_objects, d_bytes)
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
        cut_inside: str | None = None  # the name whose versions the page limit cuts
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
                for row in map(AliasRow._make, cdb.conn.execute(sql, args)):
                    if len(objects) + len(prefixes) >= limit:
                        truncated = True
                        if versions and objects and row.name == objects[-1]["name"]:
                            cut_inside = row.name
                        break
                    name = row.name
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
            if cut_inside is not None:
                self._end_page_at_whole_name(cdb, objects, prefixes, cut_inside, properties)
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

    @staticmethod
    def _end_page_at_whole_name(
        cdb: ContainerDB,
        objects: list[ContentRecord],
        prefixes: list[str],
        name: str,
        properties: bool,
    ) -> None:
        """Make a versioned page that the limit cut inside `name`'s versions end before it.

        A marker is a name: the next page starts after it, so versions of `name`
        left for that page would never be listed. The page gives them all to the
        next one; when `name`'s versions are the whole page, it takes the rest of
        them (a page then holds more entries than its limit).
        """
        kept = len(objects)
        while kept and objects[kept - 1]["name"] == name:
            kept -= 1
        if kept or prefixes:
            del objects[kept:]
            return
        rest = cdb.conn.execute(
            f"SELECT {ALIAS_COLUMNS} FROM aliases WHERE name = ? AND version < ?"
            " ORDER BY version DESC",
            (name, objects[-1]["version"]),
        )
        objects.extend(
            alias_dict(row, cdb.account, cdb.name, properties) for row in map(AliasRow._make, rest)
        )

    def all_urls(self, cdb: ContainerDB) -> list[tuple[str, str]]:
        return cdb.conn.execute("SELECT url, content FROM chunks").fetchall()

    # ------------------------------------------- name-based metadata API
    # What the facade (and the proxy protocol) use: names in, dicts out. Chunks
    # that a change leaves unreferenced are deleted here, after the commit, as
    # OpenIO's meta2 has its event agent do.
    def _drop_chunks(self, urls: list[str], owner: tuple[str, str] | None = None) -> None:
        tier = [url for url in urls if url.startswith(TIER_PREFIXES)]
        for url in urls:
            if url in tier:
                continue
            try:
                self.chunks.delete(url)
            except OioException:
                pass  # left as an orphan, found by `volume check --orphans`
        if tier and owner is not None:  # (account, container) that held them
            self._drop_tier_chunks(tier, *owner)

    def _drop_tier_chunks(self, urls: list[str], account: str, container: str) -> None:
        # A dropped record no longer says its bucket: delete the key in every
        # tier bucket of the namespace with that URL prefix (a DELETE of an
        # absent key is a no-op, and B2 does not charge deletes).
        for method in self.tier_methods():
            mine = [url for url in urls if url.startswith(method.chunk_prefix)]
            if not mine:
                continue
            try:
                store = self.tier_chunks(method, account, container)
            except OioException as exc:
                LOG.warning("Tier chunks of %s/%s left in place: %s", account, container, exc)
                continue
            for url in mine:
                try:
                    store.delete(url)
                except OioException as exc:
                    LOG.warning("Could not delete tier chunk %s: %s (orphan left)", url, exc)

    def tier_references(self) -> dict[str, tuple[str, str, set[str]]]:
        """Container id -> (account, container, tier chunk URLs its records name)."""
        refs: dict[str, tuple[str, str, set[str]]] = {}
        for account, name, cid in self._ns_read("SELECT account, name, cid FROM containers", ()):
            try:
                urls = {
                    url
                    for url, _content in self.all_urls(self.container(account, name))
                    if url.startswith(TIER_PREFIXES)
                }
            except NoSuchContainer:
                continue
            refs[cid] = (account, name, urls)
        return refs

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
        import secrets

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
            chunks = self.get_chunks(cdb, row.content) if row.content else []
        return alias_dict(row, account, container), chunks

    def content_create(self, account: str, container: str, name: str, **kwargs: Any) -> int:
        """Commit an object into the container registered now (NoSuchContainer if none).

        A container deleted since the upload was prepared makes the commit fail;
        the caller deletes the chunks it wrote.
        """
        with self.chunk_commit_lock(bool(kwargs.get("chunks"))):
            version, garbage = self.on_container(
                account, container, lambda cdb: self._content_create(cdb, name, **kwargs)
            )
        self._drop_chunks(garbage, (account, container))
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
        self._drop_chunks(garbage, (account, container))
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
        self._drop_chunks(garbage, (account, container))

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
        content_id: str | None = None,  # checked by the transaction itself
    ) -> None:
        with self.chunk_commit_lock(bool(new_chunks)):
            garbage = self.on_container(
                account,
                container,
                lambda cdb: self._content_truncate(
                    cdb, name, version, size, replace_pos, new_chunks, reqid
                ),
            )
        self._drop_chunks(garbage, (account, container))

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
        self.content_swap_chunks(account, container, name, version, old_urls, new_chunks, reqid)
        self._drop_chunks(old_urls, (account, container))

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
        self._drop_chunks(garbage, (account, container))

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

    # ------------------------------------------- what `namespace serve` asks for
    # The proxy routes of oiocli/server/ speak to the namespace through these (and
    # the operations above) rather than through its container databases.
    def content_get_by_id(
        self, account: str, container: str, content_id: str, version: int | None = None
    ) -> ContentRecord:
        """The object whose content id is `content_id` (its newest alias, or `version`).

        As meta2 finds an object named by its content id (m2db_get_alias);
        NoSuchObject when no alias has it.
        """
        cdb = self.container(account, container)
        sql = f"SELECT {ALIAS_COLUMNS} FROM aliases WHERE content = ?"
        args: list[Any] = [content_id.upper()]
        if version is not None:
            sql += " AND version = ?"
            args.append(int(version))
        try:
            row = cdb.conn.execute(sql + " ORDER BY version DESC LIMIT 1", args).fetchone()
        except sqlite3.DatabaseError as exc:
            db.raise_db_error(exc, cdb.path)
            raise
        if row is None:
            raise NoSuchObject(f"No object has content id {content_id!r}")
        return alias_dict(AliasRow._make(row), account, container)

    def content_chunks(self, account: str, container: str, content_id: str) -> list[ChunkRecord]:
        """The chunk records of a content (by content id), in no particular order."""
        return self.get_chunks(self.container(account, container), content_id)

    def chunk_references(self, account: str, container: str, urls: Iterable[str]) -> dict[str, str]:
        """Which of `urls` a chunk record of the container references: url -> content id."""
        cdb = self.container(account, container)
        wanted = list(urls)
        found: dict[str, str] = {}
        try:
            for start in range(0, len(wanted), 500):
                batch = wanted[start : start + 500]
                marks = ",".join("?" * len(batch))
                found.update(
                    cdb.conn.execute(
                        f"SELECT url, content FROM chunks WHERE url IN ({marks})", batch
                    ).fetchall()
                )
        except sqlite3.DatabaseError as exc:
            db.raise_db_error(exc, cdb.path)
            raise
        return found

    def container_check_writable(self, account: str, container: str) -> None:
        """Raise unless the container takes writes now (ContainerFrozen, read-only namespace)."""
        cdb = self.container(account, container)
        self.check_writable(cdb, cdb.props())

    def content_swap_chunks(
        self,
        account: str,
        container: str,
        name: str,
        version: int,
        old_urls: list[str],
        new_chunks: Sequence[Mapping[str, Any]],
        reqid: str | None = None,
    ) -> None:
        """Swap chunk records as content_replace_chunks does, but keep the old chunks' data.

        For a client that owns the chunks it replaces (a rebuilder deletes them
        itself; a snapshot's are its source's), as meta2's raw bean update.
        Whether the container is frozen is the caller's question. Recorded under
        the shared chunk lock, as every commit of new chunks: the orphan sweep
        cannot take them in between.
        """
        with self.chunk_commit_lock(bool(new_chunks)):
            self.on_container(
                account,
                container,
                lambda cdb: self._content_replace_chunks(
                    cdb, name, version, old_urls, new_chunks, reqid
                ),
            )


def check_sizes(name: str, size: int, chunks: list[dict[str, Any]]) -> None:
    """The chunks recorded for an object (or an append) hold exactly its size.

    An object whose size says more than its chunks give is unreadable from the
    start: refused, whoever sends it (a client that read a stale chunk list).
    """
    from oiocli.core.chunks import metachunk_index

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
    from oiocli.backends.embedded.chunks import chunk_path

    for chunk in chunks:
        url = chunk["url"]
        if url.startswith("file://") and not os.path.lexists(chunk_path(url)):
            raise ChunkNotFound(
                f"Chunk {url} is gone (deleted as an orphan before it was committed): "
                "nothing was committed, try again"
            )
