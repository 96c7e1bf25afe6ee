"""Container snapshots: a frozen copy whose chunks are hard links of the source's.

The source stays locked for writing while its database is copied and its chunks
linked, so the copy is consistent; a crash leaves at worst a temporary database
and linked chunks that nothing references (orphans, found by `volume check`).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import sqlite3
from typing import TYPE_CHECKING, Any

from oiocli.backends.embedded import db
from oiocli.backends.embedded.chunks import chunk_url, makedirs_private
from oiocli.backends.embedded.container_db import (
    DELETED_PROP,
    STATUS_FROZEN,
    UNREGISTERED,
    ContainerDB,
    compute_cid,
    copy_database,
    now_us,
    unlink_db,
)
from oiocli.backends.embedded.contents import require_chunks
from oiocli.core.exceptions import Conflict, OioException
from oiocli.core.storage_method import TIER_PREFIXES, parse_method

if TYPE_CHECKING:
    from oiocli.backends.embedded.namespace import Namespace


def snapshot_container(
    ns: Namespace,
    account: str,
    container: str,
    dst_account: str,
    dst_container: str,
    reqid: str | None = None,
) -> None:
    dst_cid = compute_cid(dst_account, dst_container)
    if ns.registered_dbfile(dst_cid) is not UNREGISTERED:
        raise Conflict(f"Container {dst_container!r} already exists in account {dst_account!r}")
    dbfile, path = ns.new_container_db(dst_cid)
    makedirs_private(os.path.dirname(path))
    tmp = f"{path}.{secrets.token_hex(4)}.tmp"
    linked: list[str] = []
    copied: list[tuple[Any, str]] = []  # (tier store of the copy, url): cloud tier chunks

    def copy(src: ContainerDB) -> dict[str, str]:
        # The source's write lock (its transaction) keeps writers out while it is copied.
        with src.transaction():
            copy_database(src, tmp)
            conn = db.connect(tmp, "FULL")
            try:
                with db.transaction(conn, tmp):
                    rows = conn.execute(
                        "SELECT rowid, url, (SELECT chunk_method FROM aliases "
                        "WHERE aliases.content = chunks.content LIMIT 1) FROM chunks"
                    ).fetchall()
                    for rowid, url, chunk_method in rows:
                        if url.startswith(TIER_PREFIXES):
                            # A copy in the bucket under the snapshot's container id:
                            # each container owns its bucket objects, deletes stay safe.
                            method = parse_method(chunk_method)
                            new_url = method.chunk_prefix + secrets.token_hex(32).upper()
                            dst = ns.tier_chunks(method, cid=dst_cid)
                            source = ns.tier_chunks(method, account, container)
                            source.link(url, new_url, container_id=dst_cid)
                            copied.append((dst, new_url))
                        else:
                            new_url = chunk_url(ns.volume_of(url), secrets.token_hex(32).upper())
                            ns.chunks.link(url, new_url)
                            linked.append(new_url)
                        conn.execute("UPDATE chunks SET url = ? WHERE rowid = ?", (new_url, rowid))
                    now = str(now_us())
                    conn.execute("DELETE FROM props WHERE key = ?", (DELETED_PROP,))
                    conn.executemany(
                        "INSERT OR REPLACE INTO props VALUES (?, ?)",
                        [
                            ("sys.account", dst_account),
                            ("sys.user.name", dst_container),
                            ("sys.name", f"{dst_cid}.1"),
                            ("sys.status", str(STATUS_FROZEN)),
                            ("sys.m2.ctime", now),
                            ("sys.m2.mtime", now),
                            ("sys.snapshot.source", f"{account}/{container}"),
                        ],
                    )
                    props = dict(conn.execute("SELECT key, value FROM props"))
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                conn.close()
        return props

    try:
        try:
            props = ns.on_container(account, container, copy)
        except sqlite3.DatabaseError as exc:
            db.raise_db_error(exc, tmp)
        # Linked chunks are unreferenced until the copy is registered: the orphan
        # sweep may take them meanwhile, so they are checked under its lock.
        with ns.chunk_commit_lock(bool(linked)):
            created = ns.register_container(
                dst_account,
                dst_container,
                dst_cid,
                tmp,
                dbfile,
                reqid,
                objects=int(props.get("sys.m2.objects", 0)),
                nbytes=int(props.get("sys.m2.usage", 0)),
                before_commit=lambda: require_chunks({"url": url} for url in linked),
            )
        if not created:
            raise Conflict(f"Container {dst_container!r} already exists in account {dst_account!r}")
    except BaseException:
        for url in linked:
            with contextlib.suppress(OioException):
                ns.chunks.delete(url)
        for store, url in copied:
            with contextlib.suppress(OioException):
                store.delete(url)
        unlink_db(tmp)
        raise
