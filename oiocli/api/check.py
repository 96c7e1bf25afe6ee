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

from oiocli.exceptions import OioException, UnrecoverableContent
from oiocli.io.reader import (
    ExactReader,
    Metachunk,
    expected_identity,
    group_metachunks,
    position_of,
)
from oiocli.io.storage_method import StorageMethod, parse_method

if TYPE_CHECKING:
    from oiocli.api.object_storage import ObjectStorageApi

STATES = ("ok", "degraded", "at-risk", "lost")
ORPHAN_MIN_AGE = 3600.0


def worst(states: list[str]) -> str:
    return max(states, key=STATES.index) if states else "ok"


class Checker:
    def __init__(self, api: ObjectStorageApi) -> None:
        self.api = api
        self.backend = api.backend
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
                    row["misplaced"].append(chunk["url"])
                seen_volumes.add(volume)
                if problem:
                    bad.append((chunk, problem))
                    kind = "missing" if problem.startswith("missing") else "corrupt"
                    row[kind].append({"url": chunk["url"], "pos": chunk["pos"], "error": problem})
            good = self._good_count(mc, bad, method)
            expected = method.chunks_per_metachunk
            state, detail = self._state(method, good, expected)
            if repair and bad and state != "lost":
                try:
                    repaired = self.repair_metachunk(meta, mc, [c for c, _ in bad], method)
                except OioException as exc:
                    # e.g. no healthy volume left to put a fragment on: the row
                    # keeps its state and says why, the other objects are repaired.
                    detail = f"{detail}; not repaired: {exc}"
                else:
                    row["repaired"] += repaired
                    state, detail = self._state(method, good + len(repaired), expected)
            states.append(state)
            details.append(f"metachunk {mc.index}: {detail}")
        row["state"] = worst(states)
        row["detail"] = (
            "; ".join(d for d, s in zip(details, states, strict=True) if s != "ok")
            or self._state(method, method.chunks_per_metachunk, method.chunks_per_metachunk)[1]
        )
        return row

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
            for url in targets:
                new.append(self._copy_replica(mc, good, url, meta))
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
            cdb = self.backend.container(account, name)
            if prefix:
                rows = cdb.conn.execute(
                    "SELECT url, content FROM chunks WHERE url >= ? AND url < ?",
                    (prefix, prefix[:-1] + "0"),
                )
            else:
                rows = cdb.conn.execute("SELECT url, content FROM chunks")
            for url, content in rows:
                refs[url] = (account, name, content)
        return refs

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
        for chunk_id, path in iter_chunk_files(volume, errors):
            url = chunk_url(volume, chunk_id)
            seen.add(url)
            ref = refs.get(url)
            if ref is None:
                if not (orphans or delete_orphans) or url in in_progress:
                    continue
                try:
                    age = now - os.stat(path).st_mtime
                except FileNotFoundError:
                    continue
                if age < min_age:
                    continue
                state = "orphan"
                if delete_orphans:
                    self.store.delete(url)
                    state = "orphan-deleted"
                rows.append(
                    {
                        "volume": volume,
                        "chunk": url,
                        "state": state,
                        "detail": f"no object references it (age {int(age)} s)",
                        "object": "",
                    }
                )
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

    def resolve_volume(self, volume: str) -> str:
        for path in self.backend.volumes:
            if volume in (path, os.path.basename(path)):
                return path
        from oiocli.exceptions import BadRequest

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
        """Compare account stats with containers, and container stats with objects."""
        rows = []
        ns = self.backend
        for account, name in ns._ns_read("SELECT account, name FROM containers"):
            try:
                cdb = ns.container(account, name)
                objects, nbytes = cdb.conn.execute(
                    "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM aliases WHERE deleted = 0"
                ).fetchone()
                props = cdb.props()
            except OioException as exc:
                rows.append(
                    {
                        "scope": f"{account}/{name}",
                        "check": "database",
                        "state": "lost",
                        "expected": "",
                        "found": str(exc),
                    }
                )
                continue
            recorded = (int(props.get("sys.m2.objects", 0)), int(props.get("sys.m2.usage", 0)))
            row_stats = ns.container_stats_row(account, name)
            listed = (row_stats["objects"], row_stats["bytes"])
            ok = recorded == (objects, nbytes) and listed == (objects, nbytes)
            rows.append(
                {
                    "scope": f"{account}/{name}",
                    "check": "container stats",
                    "state": "ok" if ok else ("repaired" if repair else "wrong"),
                    "expected": f"{objects} objects, {nbytes} bytes",
                    "found": f"db {recorded[0]}/{recorded[1]}, account {listed[0]}/{listed[1]}",
                }
            )
            if repair and not ok:
                ns.container_touch(account, name, recompute=True)
        for account in ns.account_list():
            info = ns.account_show(account)
            sums = ns._ns_read(
                "SELECT COALESCE(SUM(objects), 0), COALESCE(SUM(bytes), 0) FROM containers "
                "WHERE account = ?",
                (account,),
            )[0]
            ok = (info["objects"], info["bytes"]) == tuple(sums)
            rows.append(
                {
                    "scope": account,
                    "check": "account stats",
                    "state": "ok" if ok else ("repaired" if repair else "wrong"),
                    "expected": f"{sums[0]} objects, {sums[1]} bytes",
                    "found": f"{info['objects']} objects, {info['bytes']} bytes",
                }
            )
            if repair and not ok:
                ns.account_refresh(account)
        # Container databases a crash left behind without registering them.
        base = os.path.join(ns.data_dir, "containers")
        registered = {
            cid for _a, _n, cid in ns._ns_read("SELECT account, name, cid FROM containers")
        }
        for root, _dirs, files in os.walk(base):
            for fname in files:
                if fname.endswith(".tmp") or (
                    fname.endswith(".db") and fname[:-3] not in registered
                ):
                    path = os.path.join(root, fname)
                    rows.append(
                        {
                            "scope": path,
                            "check": "leftover database",
                            "state": "repaired" if repair else "wrong",
                            "expected": "none",
                            "found": "unregistered file",
                        }
                    )
                    if repair:
                        for suffix in ("", "-wal", "-shm"):
                            with contextlib.suppress(FileNotFoundError):
                                os.unlink(path + suffix)
        return rows


__all__ = ["Checker", "STATES", "worst"]
