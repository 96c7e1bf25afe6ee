"""Rebuild namespace.db's directory from the container databases that exist.

namespace.db lists accounts and containers, with counters and events; each
container database names itself (`sys.account`, `sys.user.name`) and holds its
objects. So when namespace.db is lost or damaged, the directory can be made
again from the containers: every account and container, with counters counted
afresh. What only namespace.db held is lost (account properties, unless the
damaged file still reads; the event log). The damaged file is kept aside,
never deleted.

Also here: registering ("adopting") one container database a crash or a lost
directory left unregistered.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import sqlite3
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from oiocli.backends.embedded import db
from oiocli.backends.embedded.container_db import DELETED_PROP, compute_cid
from oiocli.backends.embedded.namespace import NS_SCHEMA
from oiocli.core.fsutil import fsync_dir

if TYPE_CHECKING:
    from oiocli.backends.embedded.namespace import Namespace


@dataclass
class FoundDatabase:
    """What a container database file says of itself."""

    path: str
    dbfile: str | None  # None: the legacy `<CID>.db` name
    cid: str = ""
    account: str = ""
    name: str = ""
    deleted: bool = False
    objects: int = 0
    nbytes: int = 0
    ctime: float = 0.0
    problem: str | None = None  # why it cannot be used (unreadable, not a container)


def read_container_file(path: str) -> FoundDatabase:
    """Read a container database's own name, state and counts (read-only, never raises)."""
    fname = os.path.basename(path)
    stem = fname[: -len(".db")]
    found = FoundDatabase(path, None if "." not in stem else fname)
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=db.BUSY_TIMEOUT_S)
        try:
            props = dict(conn.execute("SELECT key, value FROM props"))
            objects, nbytes = conn.execute(
                "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM aliases WHERE deleted = 0"
            ).fetchone()
        finally:
            conn.close()
    except sqlite3.Error as exc:
        found.problem = f"unreadable: {exc}"
        return found
    account, name = props.get("sys.account"), props.get("sys.user.name")
    if not account or not name:
        found.problem = "it does not name its account and container"
        return found
    found.account, found.name = account, name
    found.cid = compute_cid(account, name)
    if stem.partition(".")[0] != found.cid:
        found.problem = f"its name is not that of container {account}/{name} ({found.cid})"
        return found
    found.deleted = DELETED_PROP in props
    found.objects, found.nbytes = int(objects), int(nbytes)
    with contextlib.suppress(TypeError, ValueError):
        found.ctime = int(props.get("sys.m2.ctime") or 0) / 1e6
    return found


def survey(ns: Namespace) -> list[FoundDatabase]:
    return [read_container_file(path) for path in ns.container_db_files()]


def _preferred(found: list[FoundDatabase]) -> dict[str, FoundDatabase]:
    """One database per container: not being deleted, then the fullest, then the newest."""
    best: dict[str, FoundDatabase] = {}
    for each in found:
        if each.problem or each.deleted:
            continue
        current = best.get(each.cid)
        key = (each.objects, each.ctime)
        if current is None or key > (current.objects, current.ctime):
            best[each.cid] = each
    return best


def _salvage_accounts(path: str) -> dict[str, tuple[float, float, str]]:
    """name -> (ctime, mtime, metadata) of the accounts a damaged namespace.db still gives."""
    accounts: dict[str, tuple[float, float, str]] = {}
    if not os.path.exists(path):
        return accounts
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
        try:
            for name, ctime, mtime, metadata in conn.execute(
                "SELECT name, ctime, mtime, metadata FROM accounts"
            ):
                json.loads(metadata or "{}")
                accounts[str(name)] = (ctime or time.time(), mtime or time.time(), metadata)
        finally:
            conn.close()
    except (sqlite3.Error, ValueError, TypeError):
        pass  # nothing readable there
    return accounts


def rebuild_directory(ns: Namespace, why: str) -> list[dict[str, Any]]:
    """Make namespace.db again from the container databases; one check row per finding.

    Run it with nothing else using the namespace: a process that keeps the
    old namespace.db open goes on using it.
    """
    path = ns.ns_db_path
    salvaged = _salvage_accounts(path)
    found = survey(ns)
    chosen = _preferred(found)
    rows: list[dict[str, Any]] = []
    now = time.time()
    tmp = f"{path}.{secrets.token_hex(4)}.tmp"
    conn = db.connect(tmp, "FULL")
    try:
        conn.executescript(NS_SCHEMA)
        with db.transaction(conn, tmp):
            totals: dict[str, list[int]] = {}
            for each in sorted(chosen.values(), key=lambda f: (f.account, f.name)):
                conn.execute(
                    "INSERT INTO containers (account, name, cid, ctime, mtime, objects, bytes, "
                    "dbfile) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        each.account,
                        each.name,
                        each.cid,
                        each.ctime or now,
                        now,
                        each.objects,
                        each.nbytes,
                        each.dbfile,
                    ),
                )
                total = totals.setdefault(each.account, [0, 0])
                total[0] += each.objects
                total[1] += each.nbytes
            for account in sorted(set(totals) | set(salvaged)):
                ctime, mtime, metadata = salvaged.get(account, (now, now, "{}"))
                objects, nbytes = totals.get(account, (0, 0))
                conn.execute(
                    "INSERT INTO accounts (name, ctime, mtime, metadata, objects, bytes) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (account, ctime, mtime, metadata, objects, nbytes),
                )
            conn.execute(
                "INSERT INTO events (time, type, url, request_id, data) VALUES (?, ?, ?, ?, ?)",
                (
                    now,
                    "namespace.rebuild",
                    json.dumps({"namespace": ns.namespace}),
                    None,
                    json.dumps({"containers": len(chosen), "why": why}),
                ),
            )
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    except BaseException:
        conn.close()
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp + suffix)
        raise
    conn.close()
    ns.close_namespace_db()
    aside = f"{path}.damaged-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}"
    kept = []
    # The old -wal and -shm go with it: left beside the new file, SQLite would
    # replay the old log into it.
    for suffix in ("", "-wal", "-shm"):
        if os.path.lexists(path + suffix):
            os.replace(path + suffix, aside + suffix)
            kept.append(aside + suffix)
    os.replace(tmp, path)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(tmp + "-wal")
    with contextlib.suppress(FileNotFoundError):
        os.unlink(tmp + "-shm")
    fsync_dir(os.path.dirname(path))
    rows.append(
        {
            "scope": path,
            "check": "namespace database",
            "state": "repaired",
            "expected": "readable",
            "found": (
                f"{why}; rebuilt from {len(chosen)} container databases, "
                f"{len(set(totals) | set(salvaged))} accounts"
                + (f"; the damaged file is kept as {kept[0]}" if kept else "")
            ),
        }
    )
    for each in found:
        if each.problem:
            rows.append(_row(each.path, "container database", "lost", each.problem))
        elif each.deleted:
            rows.append(_row(each.path, "leftover database", "wrong", "being deleted"))
        elif chosen.get(each.cid) is not each:
            rows.append(
                _row(
                    each.path,
                    "duplicate database",
                    "wrong",
                    f"another database of {each.account}/{each.name} was kept: "
                    f"{chosen[each.cid].path}",
                )
            )
    return rows


def adopt(ns: Namespace, found: FoundDatabase) -> bool:
    """Register an unregistered container database; False if its name is taken meanwhile."""
    now = time.time()
    with ns.ns_db.transaction() as nsc:
        if nsc.execute("SELECT 1 FROM containers WHERE cid = ?", (found.cid,)).fetchone():
            return False
        if not nsc.execute("SELECT 1 FROM accounts WHERE name = ?", (found.account,)).fetchone():
            nsc.execute(
                "INSERT INTO accounts (name, ctime, mtime) VALUES (?, ?, ?)",
                (found.account, now, now),
            )
        nsc.execute(
            "INSERT INTO containers (account, name, cid, ctime, mtime, objects, bytes, dbfile) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                found.account,
                found.name,
                found.cid,
                found.ctime or now,
                now,
                found.objects,
                found.nbytes,
                found.dbfile,
            ),
        )
        nsc.execute(
            "UPDATE accounts SET objects = objects + ?, bytes = bytes + ?, mtime = ? "
            "WHERE name = ?",
            (found.objects, found.nbytes, now, found.account),
        )
        ns.emit(
            nsc,
            "container.create",
            {"account": found.account, "container": found.name},
            None,
            {"adopted": found.path},
        )
    return True


def _row(scope: str, check: str, state: str, found: str, expected: str = "") -> dict[str, Any]:
    return {"scope": scope, "check": check, "state": state, "expected": expected, "found": found}
