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
from typing import TYPE_CHECKING, Any

from oiocli.backends.base import Maintenance
from oiocli.core.chunks import Metachunk, group_metachunks, position_of
from oiocli.core.exceptions import BadRequest, ChunkNotFound, OioException, UnrecoverableContent
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
        self.backend = api.backend
        self.store = api.chunks

    # ------------------------------------------------------------ chunks
    def verify_chunk(
        self,
        chunk: dict[str, Any],
        method: StorageMethod,
        content_id: str | None = None,
        store: Any = None,
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
            for piece in (store or self.store).get(
                url, expect=expected_identity(chunk, content_id)
            ):
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
        verify: bool = False,
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
        if method.is_tier:
            return self._check_tier(row, meta, chunks, method, account, container, verify)
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

    def _check_tier(
        self,
        row: dict[str, Any],
        meta: dict[str, Any],
        chunks: list[dict[str, Any]],
        method: StorageMethod,
        account: str,
        container: str,
        verify: bool,
    ) -> dict[str, Any]:
        """A tier object: one bucket object per position, HEAD'ed (size and ETag), or read.

        A HEAD costs a B2 class B transaction and no download: the ETag the bucket
        computed when the chunk was stored must be the recorded one. With
        `verify`, every chunk is read and its MD5 compared (downloads are billed).
        Nothing to repair from: the bucket holds the only copy.
        """
        store = self.api._chunks_for(method, account, container)
        metachunks = group_metachunks(chunks)
        if not metachunks:
            row["state"], row["detail"] = "lost", "no chunk recorded"
            return row
        states, details = [], []
        for mc in metachunks:
            good = 0
            for chunk in mc.chunks:
                problem = self._tier_problem(store, chunk, method, meta.get("id"), verify)
                if problem:
                    kind = "missing" if problem.startswith("missing") else "corrupt"
                    row[kind].append({"url": chunk["url"], "pos": chunk["pos"], "error": problem})
                else:
                    good += 1
            state, detail = self._state(method, good, method.chunks_per_metachunk)
            states.append(state)
            details.append(f"metachunk {mc.index}: {detail}")
        row["state"] = worst(states)
        row["detail"] = "; ".join(d for d, s in zip(details, states, strict=True) if s != "ok") or (
            method.describe() + (", every chunk read" if verify else ", size and ETag")
        )
        return row

    def _tier_problem(
        self,
        store: Any,
        chunk: dict[str, Any],
        method: StorageMethod,
        content_id: str | None,
        verify: bool,
    ) -> str | None:
        if verify:
            return self.verify_chunk(chunk, method, content_id, store)
        try:
            head = store.head(chunk["url"])
        except ChunkNotFound as exc:
            return f"missing: {exc}"
        except OioException as exc:
            return f"corrupt: {exc}"
        if int(head["size"]) != int(chunk["size"]):
            return f"corrupt: size {head['size']}, expected {chunk['size']}"
        want = str(chunk.get("chunk_hash") or chunk.get("hash") or "").upper()
        if want and head.get("etag") and head["etag"] != want:
            return f"corrupt: ETag {head['etag']}, expected {want}"
        return None

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
        return self._maintenance("Repairing chunks").repair_targets(count, avoid=used)

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
    def _maintenance(self, what: str) -> Maintenance:
        """The backend's optional maintenance, or a clear refusal when it has none."""
        if not isinstance(self.backend, Maintenance):
            raise BadRequest(
                f"{what} needs a backend that holds its own files (an embedded "
                "namespace, used where its files are, without --oio-proxy); on an OpenIO "
                "SDS cluster, OpenIO's own tools (openio-admin) do it"
            )
        return self.backend

    def check_volume(
        self,
        volume: str,
        orphans: bool = False,
        delete_orphans: bool = False,
        min_age: float = ORPHAN_MIN_AGE,
        verify: bool = True,
    ) -> list[dict[str, Any]]:
        maintenance = self._maintenance("`volume check`")
        return maintenance.check_volume(
            self.resolve_volume(volume),
            orphans=orphans,
            delete_orphans=delete_orphans,
            min_age=min_age,
            verify=verify,
            in_use=self._uploads_in_progress,
        )

    def _uploads_in_progress(self) -> set[str]:
        """Chunks that resumable uploads hold (their journals): never orphans."""
        from oiocli.api.resume import journaled_urls

        return journaled_urls(self.api.data_dir) if self.api.data_dir else set()

    def volume_problem(self, volume: str) -> tuple[str, str] | None:
        """(state, detail) when the volume directory cannot be listed, else None."""
        return self._maintenance("`volume check`").volume_problem(self.resolve_volume(volume))

    def resolve_volume(self, volume: str) -> str:
        for path in self.backend.volumes:
            if volume in (path, os.path.basename(path)):
                return path
        raise BadRequest(
            f"Unknown volume {volume!r} (known: "
            f"{', '.join(os.path.basename(v) for v in self.backend.volumes)})"
        )

    def rebuild_volume(self, volume: str) -> list[dict[str, Any]]:
        """Repair every object that has a chunk on `volume` (lost or emptied)."""
        maintenance = self._maintenance("`volume rebuild`")
        volume = self.resolve_volume(volume)
        maintenance.restore_volume(volume)
        return [
            self.check_object(account, container, name, version, repair=True)
            for account, container, name, version in maintenance.volume_objects(volume)
        ]

    # --------------------------------------------------------- namespace
    def check_namespace(self, repair: bool = False) -> list[dict[str, Any]]:
        """The namespace's own files (the backend's databases), then the upload journals.

        `repair` rebuilds what the backend can and removes unreadable journals.
        Nothing that holds objects is ever deleted.
        """
        rows = self._maintenance("`namespace check`").check_namespace(repair)
        if not repair and any(
            row["check"] == "namespace database" and row["state"] == "lost" for row in rows
        ):
            return rows  # nothing else can be read before it is rebuilt
        return rows + self._journals(repair)

    def _journals(self, repair: bool) -> list[dict[str, Any]]:
        """Upload journals that cannot be read (their chunks are left to the orphan sweep)."""
        import json

        from oiocli.api.resume import journal_dir

        rows = []
        if not self.api.data_dir:
            return rows
        base = journal_dir(self.api.data_dir)
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
