"""Fill a container with many empty objects quickly, for listing benchmarks.

It writes the embedded namespace's tables directly (the benchmarks' only reach
past the API): it is no part of oiocli and follows its schema.

Creating a million objects through the API takes about half an hour here
(fsync per object); listing speed does not depend on how objects were made.
Every object made here references a chunk of its own, all hard links of one
empty chunk file, so deleting, checking or snapshotting them still behaves.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterable

from oiocli.backends.embedded.container_db import ALIAS_COLUMNS, bump_stats
from oiocli.backends.embedded.meta import EmbeddedNamespace


def insert_empty_objects(
    ns: EmbeddedNamespace,
    account: str,
    container: str,
    names: Iterable[str],
    batch: int = 20000,
    link_chunks: bool = False,
) -> int:
    """Insert empty SINGLE objects named `names`; return how many were inserted.

    With `link_chunks` each object gets a hard link of one empty chunk (slower,
    but every object is then a complete one); without it, they all reference
    the same empty chunk, which is enough for listing and must not be used for
    anything that deletes them one by one.
    """
    if not ns._ns_read(
        "SELECT 1 FROM containers WHERE account = ? AND name = ?", (account, container)
    ):
        ns.container_create(account, container)
    cdb = ns.container(account, container)
    [url] = ns.chunk_targets(1)
    ns.chunks.put(url, [b""], {"pos": "0", "chunk_method": "plain/nb_copy=1"})
    empty_md5 = "D41D8CD98F00B204E9800998ECF8427E"
    total = 0
    rows: list[tuple] = []
    chunks: list[tuple] = []

    def flush() -> None:
        nonlocal rows, chunks, total
        if not rows:
            return
        with cdb.transaction() as conn:
            conn.executemany(
                f"INSERT INTO aliases ({ALIAS_COLUMNS}) VALUES (?,?,?,0,1,?,?,0,?,?,?,?,'{{}}')",
                rows,
            )
            conn.executemany(
                "INSERT INTO chunks (content, pos, url, size, hash) VALUES (?, ?, ?, 0, ?)", chunks
            )
            bump_stats(conn, len(rows), 0)
        with ns._ns_tx() as nsc:
            ns._apply_stats(nsc, cdb, len(rows), 0)
            ns.emit(
                nsc,
                "content.bulk",
                {"account": account, "container": container},
                None,
                {"objects": len(rows)},
            )
        total += len(rows)
        rows, chunks = [], []

    now = time.time()
    version = int(now * 1_000_000)
    for name in names:
        content = secrets.token_hex(16).upper()
        chunk = ns.link_target(url) if link_chunks else url
        if link_chunks:
            ns.chunks.link(url, chunk)
        rows.append(
            (
                name,
                version,
                content,
                now,
                now,
                empty_md5,
                "SINGLE",
                "plain/nb_copy=1",
                "application/octet-stream",
            )
        )
        chunks.append((content, "0", chunk, empty_md5))
        if len(rows) >= batch:
            flush()
    flush()
    return total


__all__ = ["insert_empty_objects"]
