"""Integrity checks and repair: chunks, objects, containers, volumes, namespace.

Every object gets a redundancy state against its policy:

- ``ok``: every chunk present and intact;
- ``degraded``: readable, some chunks lost, at least one more loss is survivable;
- ``at-risk``: readable, but one more loss makes it unreadable;
- ``lost``: not readable any more.

Repair rebuilds missing or corrupt replicas by copy and EC fragments by pyeclib
reconstruction onto volumes that keep the placement rule (distinct volumes per
metachunk), then swaps the chunk records in one transaction.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import time
from typing import TYPE_CHECKING, Any

from oiocli.core.chunks import Metachunk, group_metachunks, position_of
from oiocli.core.exceptions import Forbidden, OioException, UnrecoverableContent
from oiocli.core.storage_method import StorageMethod, parse_method
from oiocli.io.reader import ExactReader, expected_identity, read_replicated

if TYPE_CHECKING:
    from oiocli.api.object_storage import ObjectStorageApi

STATES = ("ok", "degraded", "at-risk", "lost")
ORPHAN_MIN_AGE = 3600.0


def worst(states: list[str]) -> str:
    return max(states, key=STATES.index) if states else "ok"


class Checker:
    def __init__(self, api: ObjectStorageApi) -> None:
        self.api = api
        # Any: the maintenance below still reaches past the MetaBackend contract
        # (volumes, database files), which only the embedded namespace has.
        self.backend: Any = api.backend
        self.store = api.chunks

    # ------------------------------------------------------------ chunks
    def verify_chunk(
        self, chunk: dict[str, Any], method: StorageMethod, content_id: str | None = None
    ) -> str | None:
        """None when the chunk is intact, else what is wrong with it.

        Intact: every block's CRC, the size and MD5 recorded (a replica's is the
        metachunk hash, an EC fragment's its `chunk_hash` when recorded), and the
        chunk's own metadata naming this object's content and position: a chunk
        file of another object in its place is "corrupt: ... misplaced ...".
        """
        url = chunk["url"]
        want_md5 = chunk.get("chunk_hash") if method.is_ec else chunk.get("hash")
        md5 = hashlib.md5() if want_md5 else None
        size = 0
        try:
            for piece in self.store.get(url, expect=expected_identity(chunk, content_id)):
                size += len(piece)
                if md5 is not None:
                    md5.update(piece)
        except OioException as exc:
            return f"missing: {exc}" if "not found" in str(exc).lower() else f"corrupt: {exc}"
        expected = chunk.get("chunk_size") if method.is_ec else chunk["size"]
        if expected is not None and size != int(expected):
            return f"corrupt: size {size}, expected {expected}"
        if md5 is not None and md5.hexdigest().upper() != str(want_md5).upper():
            return f"corrupt: MD5 {md5.hexdigest().upper()}, expected {want_md5}"
        return None

    # ----------------------------------------------------------- objects
    def check_object(
        self,
        account: str,
        container: str,
        obj: str,
        version: int | None = None,
        repair: bool = False,
    ) -> dict[str, Any]:
        meta, chunks = self.api.object_locate(account, container, obj, version=version)
        row: dict[str, Any] = {
            "account": account,
            "container": container,
            "object": meta["name"],
            "version": meta["version"],
            "policy": meta["policy"],
            "state": "ok",
            "chunks": len(chunks),
            "missing": [],
            "corrupt": [],
            "misplaced": [],
            "repaired": [],
            "detail": "",
        }
        if meta["chunk_method"] == "drained":
            row["state"] = "ok"
            row["detail"] = "drained (no data by design)"
            return row
        method = parse_method(meta["chunk_method"])
        volumes = set(self.backend.volumes)
        states, details = [], []
        metachunks = group_metachunks(chunks)
        if not metachunks:
            row["state"] = "lost"
            row["detail"] = "no chunk recorded"
            return row
        for mc in metachunks:
            bad: list[tuple[dict[str, Any], str]] = []
            seen_volumes: set[str] = set()
            for chunk in mc.chunks:
                problem = self.verify_chunk(chunk, method, meta.get("id"))
                volume = self.backend.volume_of(chunk["url"])
                if volume not in volumes or volume in seen_volumes:
                    where = (
                        "not a volume of the namespace"
                        if volume not in volumes
                        else ("on the same volume as another chunk of its metachunk")
                    )
                    row["misplaced"].append(
                        {"url": chunk["url"], "pos": chunk["pos"], "error": where}
                    )
                seen_volumes.add(volume)
                if problem:
                    bad.append((chunk, problem))
                    kind = "missing" if problem.startswith("missing") else "corrupt"
                    row[kind].append({"url": chunk["url"], "pos": chunk["pos"], "error": problem})
            good = self._good_count(mc, bad, method)
            expected = method.chunks_per_metachunk
            state, detail = self._state(method, good, expected)
            combined = False
            if state == "lost" and not method.is_ec and self._combination_reads(meta, mc):
                # Every copy is damaged, but not in the same blocks: the reader
                # combines their good blocks, so the data is still all there.
                combined = True
                state = "at-risk"
                detail = (
                    f"{method.describe()}, 0/{expected} intact copies: readable only by "
                    f"combining the good blocks of {len(mc.chunks)} damaged copies"
                )
            if repair and bad and state != "lost":
                try:
                    repaired = self.repair_metachunk(meta, mc, [c for c, _ in bad], method)
                except OioException as exc:
                    # e.g. no healthy volume left to put a fragment on: the row
                    # keeps its state and says why, the other objects are repaired.
                    detail = f"{detail}; not repaired: {exc}"
                else:
                    row["repaired"] += repaired
                    state, detail = self._state(
                        method, (0 if combined else good) + len(repaired), expected
                    )
            states.append(state)
            details.append(f"metachunk {mc.index}: {detail}")
        row["state"] = worst(states)
        row["detail"] = (
            "; ".join(d for d, s in zip(details, states, strict=True) if s != "ok")
            or self._state(method, method.chunks_per_metachunk, method.chunks_per_metachunk)[1]
        )
        return row

    def _combination_reads(self, meta: dict[str, Any], mc: Metachunk) -> bool:
        """Whether the reader gets the whole metachunk, MD5 right, out of damaged copies."""
        md5 = hashlib.md5()
        size = 0
        try:
            for piece in read_replicated(
                self.store, mc, 0, mc.size, meta["name"], None, meta["id"]
            ):
                md5.update(piece)
                size += len(piece)
        except OioException:
            return False
        want = str(mc.chunks[0].get("hash") or "").upper()
        return size == mc.size and (not want or md5.hexdigest().upper() == want)

    @staticmethod
    def _good_count(mc: Metachunk, bad: list, method: StorageMethod) -> int:
        bad_urls = {c["url"] for c, _ in bad}
        if method.is_ec:
            return len({position_of(c)[1] for c in mc.chunks if c["url"] not in bad_urls})
        return len([c for c in mc.chunks if c["url"] not in bad_urls])

    @staticmethod
    def _state(method: StorageMethod, good: int, expected: int) -> tuple[str, str]:
        spare = good - method.min_chunks_to_read
        what = f"{method.describe()}, {good}/{expected} " + (
            "fragments" if method.is_ec else "copies"
        )
        if spare < 0:
            return "lost", f"{what}, unreadable"
        if good >= expected:
            return "ok", f"{what}, can lose {spare} more"
        if spare == 0:
            return "at-risk", f"{what}, one more loss makes it unreadable"
        return "degraded", f"{what}, can lose {spare} more"

    # ------------------------------------------------------------ repair
    def repair_metachunk(
        self,
        meta: dict[str, Any],
        mc: Metachunk,
        bad: list[dict[str, Any]],
        method: StorageMethod,
    ) -> list[dict[str, Any]]:
        """Rebuild `bad` chunks of a metachunk; return the new chunk records."""
        bad_urls = {c["url"] for c in bad}
        good = [c for c in mc.chunks if c["url"] not in bad_urls]
        used = {self.backend.volume_of(c["url"]) for c in good}
        if method.is_ec:
            present = {position_of(c)[1] for c in good}
            missing = sorted(set(range(method.k + method.m)) - present)
            targets = self._targets(len(missing), used)
            new = self._rebuild_fragments(meta, mc, good, missing, targets, method)
        else:
            missing_count = method.nb_copy - len(good)
            targets = self._targets(missing_count, used)
            new = []
            try:
                if not good and targets:
                    # Only damaged copies: a first new one from the good blocks of each.
                    new.append(self._combined_replica(mc, targets[0], meta))
                    good, targets = new[:1], targets[1:]
                for url in targets:
                    new.append(self._copy_replica(mc, good, url, meta))
            except BaseException:
                for chunk in new:
                    with contextlib.suppress(OioException):
                        self.store.delete(chunk["url"])
                raise
        try:
            self.backend.content_replace_chunks(
                meta["account"],
                meta["container"],
                meta["name"],
                meta["version"],
                sorted(bad_urls),
                new,
            )
        except BaseException:
            for chunk in new:
                with contextlib.suppress(OioException):
                    self.store.delete(chunk["url"])
            raise
        return new

    def _targets(self, count: int, used: set[str]) -> list[str]:
        from oiocli.backends.embedded.chunks import chunk_url

        volumes = self.backend.pick_volumes(count, avoid=used)
        return [chunk_url(v, secrets.token_hex(32).upper()) for v in volumes]

    def _chunk_meta(
        self, meta: dict[str, Any], pos: str, mc: Metachunk, block_size: int | None = None
    ) -> dict[str, Any]:
        result = {
            "content_id": meta["id"],
            "content_version": meta["version"],
            "content_path": meta["name"],
            "policy": meta["policy"],
            "chunk_method": meta["chunk_method"],
            "pos": pos,
            "metachunk_size": mc.size,
            "metachunk_hash": mc.chunks[0]["hash"],
        }
        if block_size:
            result["block_size"] = block_size
        return result

    def _copy_replica(
        self, mc: Metachunk, good: list[dict[str, Any]], url: str, meta: dict[str, Any]
    ) -> dict[str, Any]:
        if not good:
            raise UnrecoverableContent(f"Object {meta['name']!r}: no copy left to repair from")
        errors = []
        for source in good:
            try:
                self.store.put(
                    url, self.store.get(source["url"]), self._chunk_meta(meta, str(mc.index), mc)
                )
                return {"url": url, "pos": str(mc.index), "size": mc.size, "hash": source["hash"]}
            except OioException as exc:
                errors.append(str(exc))
                with contextlib.suppress(OioException):
                    self.store.delete(url)
        raise UnrecoverableContent(f"Object {meta['name']!r}: cannot copy a replica: {errors}")

    def _combined_replica(self, mc: Metachunk, url: str, meta: dict[str, Any]) -> dict[str, Any]:
        """A new copy written from what the reader gets out of the damaged ones (MD5 checked)."""
        want = str(mc.chunks[0].get("hash") or "").upper()
        md5 = hashlib.md5()

        def pieces():
            for piece in read_replicated(
                self.store, mc, 0, mc.size, meta["name"], None, meta["id"]
            ):
                md5.update(piece)
                yield piece

        try:
            stored = self.store.put(url, pieces(), self._chunk_meta(meta, str(mc.index), mc))
        except OioException:
            with contextlib.suppress(OioException):
                self.store.delete(url)
            raise
        if stored["size"] != mc.size or (want and md5.hexdigest().upper() != want):
            with contextlib.suppress(OioException):
                self.store.delete(url)
            raise UnrecoverableContent(
                f"Object {meta['name']!r}: the good blocks of its copies do not give "
                f"metachunk {mc.index} back"
            )
        return {"url": url, "pos": str(mc.index), "size": mc.size, "hash": mc.chunks[0]["hash"]}

    def _rebuild_fragments(
        self,
        meta: dict[str, Any],
        mc: Metachunk,
        good: list[dict[str, Any]],
        missing: list[int],
        targets: list[str],
        method: StorageMethod,
    ) -> list[dict[str, Any]]:
        from oiocli.io.pipeline import Consumer

        nsegments, frag_size, last_frag = method.fragment_layout(mc.size)
        sources = sorted(good, key=lambda c: position_of(c)[1])[: method.k]
        if len(sources) < method.k:
            raise UnrecoverableContent(
                f"Object {meta['name']!r}: metachunk {mc.index} has {len(sources)} fragments, "
                f"{method.k} needed to rebuild"
            )
        readers = [ExactReader(self.store.get(c["url"]), f"Chunk {c['url']}") for c in sources]
        writers = []
        new_chunks = []
        for index, url in zip(missing, targets, strict=True):
            pos = f"{mc.index}.{index}"
            chunk_meta = self._chunk_meta(meta, pos, mc, frag_size or None)
            writers.append(
                Consumer(
                    lambda items, url=url, chunk_meta=chunk_meta: self.store.put(
                        url, items, chunk_meta
                    ),
                    depth=4,
                )
            )
            new_chunks.append(
                {"url": url, "pos": pos, "size": mc.size, "hash": mc.chunks[0]["hash"]}
            )
        try:
            driver = method.driver
            for seg in range(nsegments):
                want = last_frag if seg == nsegments - 1 else frag_size
                fragments = [r.read(want) for r in readers]
                rebuilt = driver.reconstruct(fragments, missing)
                for writer, fragment in zip(writers, rebuilt, strict=True):
                    writer.submit(fragment)
        except BaseException:
            for writer in writers:
                writer.finish()
            for chunk in new_chunks:
                with contextlib.suppress(OioException):
                    self.store.delete(chunk["url"])
            raise
        for writer, chunk in zip(writers, new_chunks, strict=True):
            result = writer.finish()
            if writer.error is not None:
                for each in new_chunks:
                    with contextlib.suppress(OioException):
                        self.store.delete(each["url"])
                raise writer.error
            chunk["chunk_size"] = result["size"]
            if result.get("hash"):
                chunk["chunk_hash"] = str(result["hash"]).upper()
        return new_chunks

    # -------------------------------------------------------- containers
    def check_container(
        self, account: str, container: str, repair: bool = False
    ) -> list[dict[str, Any]]:
        return [
            self.check_object(account, container, name, version, repair=repair)
            for name, version in self.backend.container_versions(account, container)
        ]

    # ----------------------------------------------------------- volumes
    def referenced_urls(self, volume: str | None = None) -> dict[str, tuple[str, str, str]]:
        """url -> (account, container, content) of every chunk record (on `volume`)."""
        refs: dict[str, tuple[str, str, str]] = {}
        prefix = f"file://{volume}/" if volume else None
        for account, name, _cid in self.backend._ns_read(
            "SELECT account, name, cid FROM containers"
        ):
            import sqlite3

            from oiocli.backends.embedded import db

            cdb = self.backend.container(account, name)
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
                refs[url] = (account, name, content)
        return refs

    def unregistered_databases(self) -> list[str]:
        """Container database files namespace.db does not list (a crash, a lost directory)."""
        registered = {
            self.backend.container_db_path(cid, dbfile)
            for cid, dbfile in self.backend._ns_read(
                f"SELECT cid, {self.backend._dbfile_sql} FROM containers"
            )
        }
        return [path for path in self.backend.container_db_files() if path not in registered]

    def _referenced_among(self, urls: list[str]) -> set[str]:
        """Which of `urls` a container database records, read now (registered or not).

        Unregistered databases count: `namespace check --repair` may register
        them again, and their chunks must still be there then.
        """
        import sqlite3

        from oiocli.backends.embedded import db

        found: set[str] = set()
        connections = []  # (connection, path, opened here)
        for account, name in self.backend._ns_read("SELECT account, name FROM containers"):
            cdb = self.backend.container(account, name)
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
                    found.update(row[0] for row in rows)
        finally:
            for conn, _path, own in connections:
                if own:
                    conn.close()
        return found

    def _referenced_among_volume(self, volume: str) -> set[str]:
        """Chunks on `volume` that unregistered container databases record (not orphans)."""
        import sqlite3

        from oiocli.backends.embedded import db

        prefix = f"file://{volume}/"
        found: set[str] = set()
        for path in self.unregistered_databases():
            try:
                conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=db.BUSY_TIMEOUT_S)
                try:
                    found.update(
                        row[0]
                        for row in conn.execute(
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
        from oiocli.backends.embedded.config import volume_owner
        from oiocli.core.exceptions import Forbidden

        owner = volume_owner(volume)
        mine = self.backend.config.get("id")
        if owner is not None and mine is not None and owner.get("id") != mine:
            raise Forbidden(
                f"Volume {volume} belongs to the namespace in {owner.get('data_dir')}: "
                "its chunks are not this namespace's orphans"
            )

    def _sweep(self, data_dir: str, candidates: list[tuple[str, float]]) -> list[tuple[str, float]]:
        """Delete the candidate orphans still unreferenced, under the exclusive chunk lock.

        What was read before the lock is only a candidate list: an upload may
        have committed since. Under the lock no commit that records chunks can
        run, so what is unreferenced now stays unreferenced, and a commit that
        comes after finds its chunks gone and fails rather than record them.
        """
        from oiocli.api.resume import journaled_urls
        from oiocli.backends.embedded.locks import chunk_lock

        with chunk_lock(data_dir, exclusive=True):
            urls = [url for url, _age in candidates]
            keep = self._referenced_among(urls) | journaled_urls(data_dir)
            deleted = []
            for url, age in candidates:
                if url not in keep:
                    self.store.delete(url)
                    deleted.append((url, age))
        return deleted

    def check_volume(
        self,
        volume: str,
        orphans: bool = False,
        delete_orphans: bool = False,
        min_age: float = ORPHAN_MIN_AGE,
        verify: bool = True,
    ) -> list[dict[str, Any]]:
        from oiocli.backends.embedded.chunks import chunk_path, chunk_url
        from oiocli.backends.embedded.volumes import iter_chunk_files

        self._need_files("volume check")
        volume = self.resolve_volume(volume)
        refs = self.referenced_urls(volume)
        from oiocli.api.resume import journaled_urls

        in_progress = journaled_urls(self.backend.data_dir)
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
                info = self.store.verify(url)
                if not info["ok"]:
                    rows.append(
                        {
                            "volume": volume,
                            "chunk": url,
                            "state": "corrupt",
                            "detail": info["error"],
                            "object": f"{ref[0]}/{ref[1]}",
                        }
                    )
        if delete_orphans and candidates:
            self._refuse_foreign_volume(volume)
            candidates = self._sweep(self.backend.data_dir, candidates)
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
                    "object": f"{ref[0]}/{ref[1]}",
                }
            )
        return rows

    def volume_problem(self, volume: str) -> tuple[str, str] | None:
        """(state, detail) when the volume directory cannot be listed, else None."""
        from oiocli.backends.embedded.volumes import volume_problem

        return volume_problem(self.resolve_volume(volume))

    def _need_files(self, what: str) -> None:
        """Checks of the namespace's own files work on the embedded namespace only."""
        if not hasattr(type(self.backend), "ns_db"):  # the class: opening it may fail
            from oiocli.core.exceptions import BadRequest

            raise BadRequest(
                f"`{what}` checks an embedded namespace's files: run it where they are "
                "(without --oio-proxy)"
            )

    def resolve_volume(self, volume: str) -> str:
        for path in self.backend.volumes:
            if volume in (path, os.path.basename(path)):
                return path
        from oiocli.core.exceptions import BadRequest

        raise BadRequest(
            f"Unknown volume {volume!r} (known: "
            f"{', '.join(os.path.basename(v) for v in self.backend.volumes)})"
        )

    def rebuild_volume(self, volume: str) -> list[dict[str, Any]]:
        """Repair every object that has a chunk on `volume` (lost or emptied)."""
        from oiocli.backends.embedded.chunks import prepare_volume

        volume = self.resolve_volume(volume)
        # Make a deleted volume directory again, to rebuild onto; a volume that
        # cannot be (unreadable, read-only) is left alone: pick_volumes skips it,
        # and its chunks are rebuilt on the other volumes.
        with contextlib.suppress(OSError):
            prepare_volume(volume)
        refs = self.referenced_urls(volume)
        done: set[tuple[str, str, str]] = set()
        rows = []
        for account, container, content in refs.values():
            if (account, container, content) in done:
                continue
            done.add((account, container, content))
            cdb = self.backend.container(account, container)
            for name, version in cdb.conn.execute(
                "SELECT name, version FROM aliases WHERE content = ?", (content,)
            ).fetchall():
                rows.append(self.check_object(account, container, name, version, repair=True))
        return rows

    # --------------------------------------------------------- namespace
    def check_namespace(self, repair: bool = False) -> list[dict[str, Any]]:
        """The namespace's own files: namespace.db, the container databases, journals.

        Compares account stats with containers and container stats with
        objects; finds container databases namespace.db does not list (a crash,
        a lost directory), deletions a crash interrupted and unreadable upload
        journals. `repair` rebuilds a damaged namespace.db from the container
        databases, registers the databases it lacks, finishes interrupted
        deletions and recomputes wrong statistics. Nothing that holds objects
        is ever deleted.
        """
        from oiocli.backends.embedded import rebuild
        from oiocli.core.exceptions import CorruptDatabase

        self._need_files("namespace check")
        ns = self.backend
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
        rows += self._journals(repair)
        return rows

    def _namespace_db_problem(self) -> str | None:
        """What is wrong with namespace.db (it cannot be opened, or its pages are damaged)."""
        return self._database_damage(self.backend.ns, self.backend.ns_db_path)

    @staticmethod
    def _database_damage(conn: Any, path: str) -> str | None:
        """SQLite's own check of every page (a file cut short reads fine until a missing page)."""
        import sqlite3

        try:
            result = conn.execute("PRAGMA quick_check").fetchall()
        except sqlite3.DatabaseError as exc:
            return f"Database {path} is corrupt: {exc}"
        if [tuple(r) for r in result] != [("ok",)]:
            return f"Database {path} is corrupt: " + "; ".join(str(r[0]) for r in result[:3])
        return None

    def _registered_containers(self, repair: bool) -> list[dict[str, Any]]:
        import sqlite3

        ns = self.backend
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
            from oiocli.backends.embedded.meta import DELETED_PROP

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
        ns = self.backend
        rows = []
        for account in ns.account_list():
            info = ns.account_show(account)
            sums = ns._ns_read(
                "SELECT COALESCE(SUM(objects), 0), COALESCE(SUM(bytes), 0) FROM containers "
                "WHERE account = ?",
                (account,),
            )[0]
            ok = (info["objects"], info["bytes"]) == tuple(sums)
            rows.append(
                _row(
                    account,
                    "account stats",
                    "ok" if ok else ("repaired" if repair else "wrong"),
                    f"{info['objects']} objects, {info['bytes']} bytes",
                    f"{sums[0]} objects, {sums[1]} bytes",
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
        from oiocli.backends.embedded import rebuild
        from oiocli.backends.embedded.meta import UNREGISTERED, _unlink_db

        ns = self.backend
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
                    _unlink_db(path)
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
                        _unlink_db(path)
        return rows

    def _journals(self, repair: bool) -> list[dict[str, Any]]:
        """Upload journals that cannot be read (their chunks are left to the orphan sweep)."""
        import json

        from oiocli.api.resume import journal_dir

        rows = []
        base = journal_dir(self.backend.data_dir)
        try:
            names = sorted(os.listdir(base))
        except OSError:
            return rows
        for name in names:
            if not name.endswith(".json"):
                continue
            path = os.path.join(base, name)
            try:
                with open(path) as f:
                    state = json.load(f)
                if not isinstance(state, dict):
                    raise ValueError("not a JSON object")
            except (OSError, ValueError) as exc:
                rows.append(
                    _row(
                        path,
                        "upload journal",
                        "repaired" if repair else "wrong",
                        f"unreadable: {exc} (`object create --resume` starts that upload over)",
                        "readable",
                    )
                )
                if repair:
                    with contextlib.suppress(OSError):
                        os.unlink(path)
        return rows


def _row(scope: str, check: str, state: str, found: str, expected: str = "") -> dict[str, Any]:
    return {"scope": scope, "check": check, "state": state, "expected": expected, "found": found}


__all__ = ["Checker", "STATES", "worst"]
