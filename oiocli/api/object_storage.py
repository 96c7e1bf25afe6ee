"""`ObjectStorageApi`: OpenIO's object storage API over oiocli's backends.

Method names, arguments, return shapes and semantics follow OpenIO SDS 4.10.1's
`oio.api.object_storage.ObjectStorageApi` (with the newer `object_delete` tuple
and `object_list` extras). The facade validates names, resolves policies, runs
the client-side data path (`oiocli.io`) and commits metadata last.
"""

from __future__ import annotations

import contextlib
import logging
import os
import warnings
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, cast

from oiocli.core.exceptions import (
    BadRange,
    BadRequest,
    ChunkNotFound,
    Conflict,
    ContentDrained,
    MissingName,
    NoSuchContainer,
    NoSuchObject,
    OioException,
    ServiceBusy,
    UnrecoverableContent,
)
from oiocli.core.names import check_name, check_properties
from oiocli.core.storage_method import parse_method

# The data path (oiocli.io), storage methods and chunk positions are imported by
# the methods that use them: listing, showing and deleting never load them.

if TYPE_CHECKING:
    from oiocli.backends.base import (
        AccountRecord,
        ContainerLocation,
        ContentRecord,
        EventRecord,
        MetaBackend,
        ObjectListing,
    )
    from oiocli.core.chunks import ChunkRecord
    from oiocli.core.storage_method import StorageMethod

LOG = logging.getLogger("oiocli")
# Tier reads: metachunks read ahead while one is yielded (each held in memory).
TIER_READAHEAD = 2
LIST_LIMIT_DEFAULT = 1000
LIST_LIMIT_MAX = 10000
# A truncate whose object changed under it starts again from the new state, this often.
TRUNCATE_ATTEMPTS = 5


def default_data_dir(namespace: str) -> str:
    env = os.environ.get("OIO_DATA_DIR")
    if env:
        return env
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(
        os.path.expanduser("~"), ".local", "share"
    )
    return os.path.join(base, "oiocli", namespace)


def _object_names(account: Any, container: Any, obj: Any) -> tuple[str, str, str]:
    return (
        check_name("account", account),
        check_name("container", container),
        check_name("object", obj),
    )


def _version(version: Any) -> int | None:
    if version in (None, ""):
        return None
    try:
        return int(version)
    except (TypeError, ValueError):
        raise BadRequest(f"Invalid version {version!r}") from None


def _bigger_than(path: Any, size: int) -> bool:
    try:
        return os.stat(path).st_size > size
    except (OSError, TypeError, ValueError):
        return False


class ObjectStorageApi:
    """Accounts, containers and objects of one namespace."""

    def __init__(
        self,
        namespace: str,
        data_dir: str | None = None,
        *,
        chunk_size: int | None = None,
        storage_policy: str | None = None,
        volumes: int | list[str] | None = None,
        policies: dict[str, str] | None = None,
        max_versions: int | None = None,
        update_config: bool = False,
        endpoint: str | None = None,
        proxy: str | None = None,
        request_id: str | None = None,
        bwlimit: Any = None,
        **kwargs: Any,
    ) -> None:
        self.namespace = check_name("account", namespace) if namespace else "OPENIO"
        self.request_id = request_id
        # Bytes per second for every upload and download of this instance (all
        # its threads together): a number, a text such as "10M", or a Throttle.
        self.throttle: Any = None
        if bwlimit is not None:
            from oiocli.io.throttle import Throttle, parse_rate

            if isinstance(bwlimit, Throttle):
                self.throttle = bwlimit
            else:
                rate = parse_rate(bwlimit) if isinstance(bwlimit, str) else float(bwlimit)
                self.throttle = Throttle(rate)
        self.default_kwargs = kwargs
        proxy = proxy or endpoint
        if proxy:
            # An OpenIO SDS proxy (or `oio namespace serve`): metadata over its
            # /v3.0 API, chunks on its rawx services; the data path is the same.
            from oiocli.backends.proxy.meta import ProxyNamespace

            self.data_dir: str | None = None
            self.backend: MetaBackend = ProxyNamespace(
                self.namespace,
                proxy,
                account_url=kwargs.get("account_endpoint") or kwargs.get("account_url"),
                connection_timeout=kwargs.get("connection_timeout"),
                read_timeout=kwargs.get("read_timeout"),
                write_timeout=kwargs.get("write_timeout"),
                retries=kwargs.get("retries"),
                request_id=request_id,
            )
            self._give_tier_key_file(kwargs.get("key_file"))
            self.chunks = self.backend.chunks
            return
        from oiocli.backends.embedded.meta import EmbeddedNamespace

        self.data_dir = os.path.abspath(data_dir or default_data_dir(self.namespace))
        self.backend = EmbeddedNamespace(
            self.namespace,
            self.data_dir,
            chunk_size=chunk_size,
            storage_policy=storage_policy,
            volumes=volumes,
            policies=policies,
            max_versions=max_versions,
            update_config=update_config,
        )
        self._give_tier_key_file(kwargs.get("key_file"))
        self.chunks = self.backend.chunks

    def _give_tier_key_file(self, key_file: str | None) -> None:
        # The tier key file given to this API: the backend reaches tier chunks too
        # (deletes after a commit, a drain, a snapshot's copies). The contract is
        # imported only then: start-up of every other command does without it.
        if key_file is None:
            return
        from oiocli.backends.base import TierChunks

        if isinstance(self.backend, TierChunks):
            self.backend.tier_key_file = key_file

    # ------------------------------------------------------------- helpers
    def _reqid(self, kwargs: dict[str, Any]) -> str:
        import secrets

        reqid = kwargs.get("reqid") or kwargs.get("request_id") or self.request_id
        if not reqid:
            reqid = secrets.token_hex(16)
        return str(reqid)[:63]

    # ------------------------------------------------------------ accounts
    def account_create(self, account: str, **kwargs: Any) -> bool:
        return self.backend.account_create(check_name("account", account), self._reqid(kwargs))

    def account_delete(self, account: str, **kwargs: Any) -> None:
        self.backend.account_delete(check_name("account", account), self._reqid(kwargs))

    def account_show(self, account: str, **kwargs: Any) -> AccountRecord:
        return self.backend.account_show(check_name("account", account))

    def account_get_properties(self, account: str, **kwargs: Any) -> dict[str, Any]:
        info = cast("dict[str, Any]", self.account_show(account))  # plus "properties"
        info["properties"] = dict(info["metadata"])
        return info

    def account_list(
        self,
        limit: int | None = None,
        marker: str | None = None,
        end_marker: str | None = None,
        prefix: str | None = None,
        stats: bool = False,
        **kwargs: Any,
    ) -> list[Any]:
        names = self.backend.account_list(limit, marker, end_marker, prefix)
        if not stats:
            return names
        return [self.backend.account_show(name) for name in names]

    def account_set_properties(
        self, account: str, properties: dict[str, str], **kwargs: Any
    ) -> None:
        self.backend.account_update_metadata(
            check_name("account", account),
            check_properties(properties),
            (),
            self._reqid(kwargs),
        )

    def account_del_properties(self, account: str, properties: list[str], **kwargs: Any) -> None:
        self.backend.account_update_metadata(
            check_name("account", account), {}, list(properties), self._reqid(kwargs)
        )

    def account_update(self, account: str, metadata: dict, to_delete=None, **kwargs: Any):
        warnings.warn("account_update is deprecated", DeprecationWarning, stacklevel=2)
        self.backend.account_update_metadata(
            check_name("account", account),
            check_properties(metadata),
            list(to_delete or []),
            self._reqid(kwargs),
        )

    def account_refresh(self, account: str | None = None, **kwargs: Any) -> None:
        if account is not None:
            check_name("account", account)
        self.backend.account_refresh(account, self._reqid(kwargs))

    def all_accounts_refresh(self, **kwargs: Any) -> None:
        self.backend.account_refresh(None, self._reqid(kwargs))

    def account_flush(self, account: str, **kwargs: Any) -> None:
        self.backend.account_flush(check_name("account", account), self._reqid(kwargs))

    def account_flush_plan(self, account: str, **kwargs: Any) -> Iterator[list[Any]]:
        """What `account_flush` would reset, changing nothing: the account's containers
        as `container_list` gives them ([name, count, bytes, ...])."""
        self.account_show(account)  # an unknown account fails here, not when iterated

        def containers() -> Iterator[list[Any]]:
            marker = None
            while True:
                page = self.container_list(account, limit=1000, marker=marker)
                yield from page
                if len(page) < 1000:
                    return
                marker = page[-1][0]

        return containers()

    # ---------------------------------------------------------- containers
    def _container_system(self, system: dict | None) -> dict[str, str]:
        system = {str(k): str(v) for k, v in (system or {}).items()}
        for key, value in system.items():
            if not key.startswith("sys."):
                raise BadRequest(f"System property {key!r} must start with 'sys.'")
            if key == "sys.m2.policy.storage" and value:
                self.backend.policies.method(value)
            if key == "sys.m2.policy.version" and value:
                _version(value)
            if key == "sys.status":
                from oiocli.backends.embedded import meta

                if not (value.isascii() and value.isdigit()) or int(value) not in meta.STATUS_NAMES:
                    canonical = (meta.STATUS_ENABLED, meta.STATUS_FROZEN, meta.STATUS_DISABLED)
                    known = ", ".join(f"{v} ({meta.STATUS_NAMES[v]})" for v in canonical)
                    raise BadRequest(f"Invalid container status {value!r} (known: {known})")
        return system

    def container_create(
        self,
        account: str,
        container: str,
        properties: dict[str, str] | None = None,
        system: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> bool:
        return self.backend.container_create(
            check_name("account", account),
            check_name("container", container),
            check_properties(properties),
            self._container_system(system),
            self._reqid(kwargs),
        )

    def container_create_many(
        self,
        account: str,
        containers: list[str],
        properties: dict[str, str] | None = None,
        system: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> list[tuple[str, bool]]:
        system = self._container_system(system)
        properties = check_properties(properties)
        names = [check_name("container", c) for c in containers]
        return [
            (name, self.container_create(account, name, properties, system, **kwargs))
            for name in names
        ]

    def container_delete(self, account: str, container: str, **kwargs: Any) -> None:
        self.backend.container_delete(
            check_name("account", account),
            check_name("container", container),
            self._reqid(kwargs),
        )

    def container_list(
        self,
        account: str,
        limit: int | None = None,
        marker: str | None = None,
        end_marker: str | None = None,
        prefix: str | None = None,
        delimiter: str | None = None,
        **kwargs: Any,
    ) -> list[list[Any]]:
        return self.backend.container_list(
            check_name("account", account), limit, marker, end_marker, prefix, delimiter
        )

    def container_show(self, account: str, container: str, **kwargs: Any) -> dict[str, str]:
        return self.container_get_properties(account, container)["properties"]

    def container_get_properties(
        self, account: str, container: str, properties: list[str] | None = None, **kwargs: Any
    ) -> dict[str, dict[str, str]]:
        props = self.backend.container_props(
            check_name("account", account), check_name("container", container)
        )
        user = {k[5:]: v for k, v in props.items() if k.startswith("user.")}
        system = {k: v for k, v in props.items() if k.startswith("sys.")}
        if properties:
            user = {k: v for k, v in user.items() if k in properties}
        return {"properties": user, "system": system}

    def container_set_properties(
        self,
        account: str,
        container: str,
        properties: dict[str, str] | None = None,
        clear: bool = False,
        system: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> None:
        props = {f"user.{k}": v for k, v in check_properties(properties).items()}
        props.update(self._container_system(system))
        self.backend.container_set_props(
            check_name("account", account),
            check_name("container", container),
            props,
            clear_user=clear,
            reqid=self._reqid(kwargs),
        )

    def container_del_properties(
        self, account: str, container: str, properties: list[str], **kwargs: Any
    ) -> None:
        account = check_name("account", account)
        container = check_name("container", container)
        if not properties:
            self.backend.container_set_props(
                account, container, {}, clear_user=True, reqid=self._reqid(kwargs)
            )
            return
        keys = [k if k.startswith("sys.") else f"user.{k}" for k in properties]
        self.backend.container_set_props(
            account, container, {}, delete=keys, reqid=self._reqid(kwargs)
        )

    def container_update(
        self, account: str, container: str, metadata: dict, clear=False, **kwargs: Any
    ) -> None:
        warnings.warn("container_update is deprecated", DeprecationWarning, stacklevel=2)
        self.container_set_properties(account, container, metadata, clear=clear, **kwargs)

    def container_touch(
        self, account: str, container: str, recompute: bool = False, **kwargs: Any
    ) -> None:
        self.backend.container_touch(
            check_name("account", account),
            check_name("container", container),
            recompute,
            self._reqid(kwargs),
        )

    def container_refresh(self, account: str, container: str, **kwargs: Any) -> None:
        self.container_touch(account, container, recompute=True, **kwargs)

    def container_locate(self, account: str, container: str, **kwargs: Any) -> ContainerLocation:
        return self.backend.container_locate(
            check_name("account", account), check_name("container", container)
        )

    def resolve_cid(self, cid: str, **kwargs: Any) -> tuple[str, str]:
        return self.backend.resolve_cid(cid)

    def container_purge(
        self, account: str, container: str, maxvers: int | None = None, **kwargs: Any
    ) -> None:
        self.backend.content_purge(
            check_name("account", account),
            check_name("container", container),
            None,
            maxvers,
            self._reqid(kwargs),
        )

    def container_flush(
        self, account: str, container: str, fast: bool = False, **kwargs: Any
    ) -> None:
        """Delete every object (every version) of the container."""
        account = check_name("account", account)
        container = check_name("container", container)
        reqid = self._reqid(kwargs)
        first = True
        while True:
            try:
                listing = self.backend.content_list(
                    account, container, LIST_LIMIT_MAX, versions=True
                )
            except NoSuchContainer:
                if first:
                    raise
                return  # emptied, then deleted by someone else: flushed all the same
            first = False
            if not listing["objects"]:
                return
            for obj in listing["objects"]:
                with contextlib.suppress(NoSuchObject):
                    self.backend.content_delete(
                        account, container, obj["name"], obj["version"], reqid
                    )

    def container_flush_plan(
        self, account: str, container: str, **kwargs: Any
    ) -> Iterator[ContentRecord]:
        """What `container_flush` would delete, changing nothing: every object entry,
        every version and delete marker (name order, newest version first)."""
        return self._all_versions(
            check_name("account", account), check_name("container", container)
        )

    def container_purge_plan(
        self, account: str, container: str, maxvers: int | None = None, **kwargs: Any
    ) -> Iterator[ContentRecord]:
        """What `container_purge` would delete, changing nothing: the object entries
        (name order, newest first) beyond the newest `maxvers` versions of each name
        (default: the container's max versions, else the namespace's). As the purge
        does, delete markers do not count, at least one version is kept, and a
        negative `maxvers` deletes only the delete markers."""
        account = check_name("account", account)
        container = check_name("container", container)
        if maxvers is None:
            system = self.container_get_properties(account, container)["system"]
            value = system.get("sys.m2.policy.version")
            if value in (None, ""):
                value = self.namespace_show().get("max_versions", 1)
            maxvers = int(value)
        entries = self._all_versions(account, container)
        if maxvers < 0:
            return (entry for entry in entries if entry.get("deleted"))
        return self._beyond_newest(entries, max(maxvers, 1))

    @staticmethod
    def _beyond_newest(entries: Iterator[ContentRecord], keep: int) -> Iterator[ContentRecord]:
        """The versions (newest first by name) after the `keep` newest of their name,
        delete markers neither counted nor given."""
        name, count = None, 0
        for entry in entries:
            if entry.get("deleted"):
                continue
            if entry["name"] != name:
                name, count = entry["name"], 0
            count += 1
            if count > keep:
                yield entry

    def _all_versions(self, account: str, container: str) -> Iterator[ContentRecord]:
        """Every version of every object, delete markers included, page after page."""
        marker = None
        while True:
            page = self.backend.content_list(
                account, container, LIST_LIMIT_MAX, marker=marker, versions=True
            )
            yield from page["objects"]
            marker = page.get("next_marker")
            if not page.get("truncated") or not marker:
                return

    def container_snapshot(
        self,
        account: str,
        container: str,
        dst_account: str,
        dst_container: str,
        batch_size: int = 100,
        **kwargs: Any,
    ) -> None:
        """Make a frozen, independent copy: the database is copied, every chunk hard-linked."""
        account = check_name("account", account)
        container = check_name("container", container)
        dst_account = check_name("account", dst_account)
        dst_container = check_name("container", dst_container)
        if (account, container) == (dst_account, dst_container):
            raise Conflict("Snapshot destination is the source container")
        self.backend.container_snapshot(
            account, container, dst_account, dst_container, self._reqid(kwargs)
        )

    # ------------------------------------------------------------- objects
    def _delete_chunks(self, urls: list[str], store: Any = None) -> None:
        for url in urls:
            try:
                (store or self.chunks).delete(url)
            except OioException as exc:
                LOG.warning("Could not delete chunk %s: %s (orphan left)", url, exc)

    def _chunks_for(
        self, method: StorageMethod | str, account: str, container: str, key_file: str | None = None
    ) -> Any:
        """The chunk store of an object of `method`: the backend's, or its cloud tier bucket."""
        if isinstance(method, str):
            if method == "drained":
                return self.chunks
            method = parse_method(method)
        if not method.is_tier:
            return self.chunks
        from oiocli.backends.base import TierChunks

        if not isinstance(self.backend, TierChunks):
            raise BadRequest(f"This backend has no cloud tier policies ({method.kind})")
        return self.backend.tier_chunks(
            method, account, container, key_file or self.default_kwargs.get("key_file")
        )

    def _targets(self, method: StorageMethod) -> Callable[[int], list[str]]:
        """New chunk URLs for one metachunk: on volumes, or one `b2/<id>` in the bucket."""
        if method.is_tier:
            import secrets

            prefix = method.chunk_prefix
            return lambda _pos: [prefix + secrets.token_hex(32).upper()]
        return lambda _pos: self.backend.chunk_targets(method.chunks_per_metachunk)

    def object_create(
        self, account: str, container: str, *args: Any, **kwargs: Any
    ) -> tuple[list[ChunkRecord], int, str | None]:
        chunks, size, hsh, _meta = self.object_create_ext(account, container, *args, **kwargs)
        return chunks, size, hsh

    def object_create_ext(
        self,
        account: str,
        container: str,
        file_or_path: Any = None,
        data: Any = None,
        etag: str | None = None,
        obj_name: str | None = None,
        mime_type: str | None = None,
        metadata: dict[str, str] | None = None,
        policy: str | None = None,
        key_file: str | None = None,
        append: bool = False,
        properties: dict[str, str] | None = None,
        progress: Callable[[int], None] | None = None,
        autocreate: bool = True,
        restore_drained: bool = False,
        resume: bool = False,
        keep_journal: bool = False,
        on_resume: Callable[[int], None] | None = None,
        **kwargs: Any,
    ) -> tuple[list[ChunkRecord], int, str | None, dict[str, Any]]:
        from oiocli.io.pipeline import Source
        from oiocli.io.writer import CHUNK_CONCURRENCY, write_object

        account = check_name("account", account)
        container = check_name("container", container)
        if file_or_path is None and data is None:
            from oiocli.core.exceptions import MissingData

            raise MissingData("Nothing to upload: give a file, a path or data")
        if obj_name is None:
            if isinstance(file_or_path, str | os.PathLike):
                obj_name = os.path.basename(os.fspath(file_or_path))
            elif hasattr(file_or_path, "name") and isinstance(file_or_path.name, str):
                obj_name = os.path.basename(file_or_path.name)
            else:
                raise MissingName("No name for the object: give obj_name")
        obj_name = check_name("object", obj_name)
        properties = check_properties(properties if properties is not None else metadata)
        reqid = self._reqid(kwargs)
        # Refuse bad arguments before anything is created (container autocreation).
        if policy is not None:
            self.backend.policies.method(policy)
        source: Any = Source(file_or_path, data)
        if self.throttle is not None:
            source = self.throttle.source(source)
        try:
            prep = self.backend.content_prepare(account, container, policy, autocreate, reqid)
        except BaseException:
            source.close()
            raise
        policy, method = prep["policy"], parse_method(prep["chunk_method"])
        version, content_id = prep["version"], prep["content_id"]
        if append or restore_drained:
            try:
                current, _chunks = self.backend.content_locate(account, container, obj_name)
            except (NoSuchObject, NoSuchContainer) as exc:
                # A real cluster creates a missing container at the commit, not here.
                if restore_drained or (isinstance(exc, NoSuchContainer) and not autocreate):
                    raise
                current = None
            if current is not None and restore_drained:
                version = current["version"]
            elif current is not None:
                if current["chunk_method"] == "drained":
                    raise ContentDrained(f"Object {obj_name!r} is drained")
                # Appended metachunks keep the object's own policy. They are
                # numbered from 0: the commit puts them after the object's last
                # metachunk as it is then (OpenIO's append), not as read here.
                policy, method = current["policy"], parse_method(current["chunk_method"])
                content_id = current["id"]
        chunk_method = str(method)
        journal, done, resume_note = None, None, None
        # Journals live in the namespace's data dir: none behind a proxy. With
        # `keep_journal`, a fresh upload keeps one too (when it has more than one
        # metachunk), so that a later `resume` can continue it.
        if (
            (resume or keep_journal)
            and not append
            and self.data_dir
            and isinstance(file_or_path, str | os.PathLike)
            and (resume or _bigger_than(file_or_path, method.metachunk_size(prep["chunk_size"])))
        ):
            journal, done, resume_note, content_id, version = self._resume_state(
                account,
                container,
                obj_name,
                os.fspath(file_or_path),
                chunk_method,
                content_id,
                version,
                fresh=not resume,
            )
            if done and on_resume is not None:
                on_resume(sum(int(record["size"]) for record in done))
        base_meta = {
            "content_id": content_id,
            "content_version": version,
            "content_path": obj_name,
            "container_id": prep["cid"],
            "policy": policy,
            "chunk_method": chunk_method,
        }
        try:
            store = self._chunks_for(method, account, container, key_file)
        except BaseException:
            source.close()
            raise
        result = write_object(
            source,
            method,
            prep["chunk_size"],
            store,
            self._targets(method),
            base_meta,
            progress=progress,
            etag=etag,
            done=done,
            on_metachunk=journal.record if journal else None,
            keep_on_failure=journal is not None,
            chunk_concurrency=int(kwargs.get("chunk_concurrency") or CHUNK_CONCURRENCY),
        )
        for url, error in result.failed:
            LOG.warning("Chunk %s of %r failed (within quorum): %s", url, obj_name, error)
        try:
            version = self.backend.content_create(
                account,
                container,
                obj_name,
                content=content_id,
                version=version,
                size=result.size,
                hsh=result.hash,
                policy=policy,
                chunk_method=chunk_method,
                mime_type=mime_type or "application/octet-stream",
                properties=properties,
                chunks=result.chunks,
                reqid=reqid,
                append=append,
                restore_drained=restore_drained,
            )
        except BaseException:
            self._delete_chunks([c["url"] for c in result.chunks], store)
            raise
        if journal is not None:
            journal.finish()
        meta: dict[str, Any]  # the object's record, plus how the upload went
        try:
            meta = cast(
                "dict[str, Any]",
                self.object_get_properties(account, container, obj_name, version=version),
            )
        except NoSuchObject:
            # Another writer replaced this version meanwhile: the upload still succeeded.
            meta = {
                "name": obj_name,
                "version": version,
                "id": content_id,
                "content": content_id,
                "size": result.size,
                "length": result.size,
                "hash": result.hash,
                "hash_method": "md5",
                "policy": policy,
                "chunk_method": chunk_method,
                "mime_type": mime_type or "application/octet-stream",
                "deleted": False,
                "properties": properties,
                "account": account,
                "container": container,
            }
        meta["resumed_bytes"] = result.resumed_bytes
        if resume_note:
            meta["resume"] = resume_note
        return result.chunks, result.size, meta["hash"] if append else result.hash, meta

    @property
    def resumable_uploads(self) -> bool:
        """Uploads keep journals (in the namespace's data directory), so that an
        interrupted one can resume: on an embedded namespace, not over a proxy."""
        return bool(self.data_dir)

    def upload_kept_bytes(self, account: str, container: str, obj: str, path: str) -> int:
        """Bytes of an interrupted upload of file `path` to this object that a resume
        would not send again (0: no journal, or the file changed since)."""
        if not self.data_dir:
            return 0
        from oiocli.api.resume import durable_bytes

        return durable_bytes(self.data_dir, account, container, obj, path)

    def _resume_state(
        self, account, container, obj_name, path, chunk_method, content_id, version, fresh=False
    ):
        """Journal of an earlier interrupted upload of the same file, if still valid
        (with `fresh`, an earlier one is discarded, its chunks deleted)."""
        from oiocli.api.resume import UploadJournal

        journal = UploadJournal(self.data_dir, account, container, obj_name, path)
        try:
            st = os.stat(path)
        except OSError:
            return None, None, None, content_id, version
        state = journal.load()
        note = f"restarted: the journal {journal.problem}" if journal.problem else None
        done: list[dict[str, Any]] = []
        if state is not None:
            usable = not fresh and journal.matches(state, st, chunk_method, self.backend.chunk_size)
            store = self._chunks_for(chunk_method, account, container)
            if usable:
                for record in state.get("metachunks", []):
                    try:
                        for chunk in record["chunks"]:
                            store.head(chunk["url"])
                    except OioException:
                        break
                    done.append(record)
            stale = [m for m in state.get("metachunks", []) if m not in done]
            self._delete_chunks([c["url"] for m in stale for c in m["chunks"]], store)
            if not usable and not fresh:
                note = "restarted: the source changed since the interrupted upload"
            elif done:
                content_id, version = state["content_id"], state["version"]
                note = "resumed"
        if not fresh and note is None:
            note = "nothing to resume: uploading from the start"
        journal.start(
            {
                "account": account,
                "container": container,
                "object": obj_name,
                "source": journal.source,
                "size": st.st_size,
                "mtime_ns": st.st_mtime_ns,
                "chunk_method": chunk_method,
                "chunk_size": self.backend.chunk_size,
                "content_id": content_id,
                "version": version,
                "metachunks": list(done),
            }
        )
        return journal, done, note, content_id, version

    def object_change_policy(
        self,
        account: str,
        container: str,
        obj: str,
        policy: str,
        version: int | None = None,
        **kwargs: Any,
    ) -> None:
        """Re-encode an object with another policy, keeping name, version and properties."""
        from oiocli.io.pipeline import Source
        from oiocli.io.reader import normalize_ranges, read_object
        from oiocli.io.writer import write_object

        account = check_name("account", account)
        container = check_name("container", container)
        obj = check_name("object", obj)
        meta, old_chunks = self.backend.content_locate(account, container, obj, _version(version))
        method = self.backend.policies.method(policy)
        if meta["chunk_method"] == "drained":
            raise ContentDrained(f"Object {obj!r} is drained")
        old_store = self._chunks_for(meta["chunk_method"], account, container)
        store = self._chunks_for(method, account, container)
        prep = self.backend.content_prepare(account, container, policy, False)
        deferred: list = []
        stream = self._guard_read(
            account,
            container,
            meta,
            read_object(
                old_store,
                parse_method(meta["chunk_method"]),
                old_chunks,
                normalize_ranges(None, meta["size"]),
                obj,
                self._problem_logger(obj, deferred=deferred),
                content_id=meta["id"],
            ),
            deferred,
        )
        base_meta = {
            "content_id": prep["content_id"],
            "content_version": meta["version"],
            "content_path": obj,
            "container_id": prep["cid"],
            "policy": policy,
            "chunk_method": str(method),
        }
        result = write_object(
            Source(data=stream),
            method,
            prep["chunk_size"],
            store,
            self._targets(method),
            base_meta,
        )
        if meta["hash"] and result.hash != meta["hash"]:
            self._delete_chunks([c["url"] for c in result.chunks], store)
            raise Conflict(f"Object {obj!r} changed while its policy was changed")
        try:
            self.backend.content_create(
                account,
                container,
                obj,
                content=prep["content_id"],
                version=meta["version"],
                size=result.size,
                hsh=result.hash,
                policy=policy,
                chunk_method=str(method),
                mime_type=meta["mime_type"],
                properties={},
                chunks=result.chunks,
                reqid=self._reqid(kwargs),
                keep_version=True,
            )
        except BaseException:
            self._delete_chunks([c["url"] for c in result.chunks], store)
            raise

    def _problem_logger(self, obj: str, problems: list | None = None, deferred: list | None = None):
        """Report each chunk a read skipped; into `deferred` to be logged when it ends."""

        def report(chunk: ChunkRecord, error: BaseException) -> None:
            args: tuple[Any, ...] = (
                "Object %r: skipped chunk %s at position %s: %s",
                obj,
                chunk["url"],
            )
            args += (chunk["pos"], error)
            if deferred is not None:
                deferred.append(args)
            else:
                LOG.warning(*args)
            if problems is not None:
                problems.append({"url": chunk["url"], "pos": chunk["pos"], "error": str(error)})

        return report

    def object_fetch(
        self,
        account: str,
        container: str,
        obj: str,
        version: int | None = None,
        ranges: list[tuple[int | None, int | None]] | None = None,
        key_file: str | None = None,
        problems: list | None = None,
        **kwargs: Any,
    ) -> tuple[ContentRecord, Iterator[bytes]]:
        from oiocli.io.reader import normalize_ranges, read_object

        meta, chunks = self.object_locate(account, container, obj, version=version)
        if meta["chunk_method"] == "drained":
            raise ContentDrained(f"Object {obj!r} was drained: its data is gone")
        spans = normalize_ranges(ranges, meta["size"])
        method = parse_method(meta["chunk_method"])
        store = self._chunks_for(method, account, container, key_file)
        deferred: list = []
        stream = read_object(
            store,
            method,
            chunks,
            spans,
            obj,
            self._problem_logger(obj, problems, deferred),
            content_id=meta["id"],
            # A bucket answers each chunk at the speed of one request: read the
            # next ones meanwhile (two chunks in memory, whatever the object size).
            readahead=TIER_READAHEAD if method.is_tier else 0,
        )
        stream = self._guard_read(account, container, meta, stream, deferred)
        if self.throttle is not None:
            stream = self.throttle.iterate(stream)
        return meta, stream

    def _guard_read(
        self,
        account: str,
        container: str,
        meta: ContentRecord,
        stream: Iterator[bytes],
        deferred: list,
    ) -> Iterator[bytes]:
        """`stream`, with "unreadable" told apart from "deleted or replaced while read".

        The chunks the read skipped (`deferred`) are reported when it ends: a
        read that failed because the object changed under it reports only that.
        """
        try:
            yield from stream
        except UnrecoverableContent:
            changed = self._changed_since(account, container, meta)
            if changed is not None:
                deferred.clear()
                raise changed from None
            raise
        finally:
            for args in deferred:
                LOG.warning(*args)
            deferred.clear()

    def _changed_since(
        self, account: str, container: str, meta: Mapping[str, Any]
    ) -> OioException | None:
        """Why the object version `meta` describes cannot be read any more, if it changed.

        A read racing a delete or an overwrite finds chunks gone: that is not
        damage (exit 6) but NoSuchObject (4), or ServiceBusy (5, read it again).
        """
        name = meta["name"]
        try:
            now = self.backend.content_get(account, container, name, meta["version"])
        except NoSuchContainer:
            return NoSuchObject(f"Object {name!r} was deleted (its container too) while read")
        except NoSuchObject:
            return NoSuchObject(f"Object {name!r} was deleted while it was being read")
        if (now.get("id"), now.get("size"), now.get("chunk_method")) != (
            meta.get("id"),
            meta.get("size"),
            meta.get("chunk_method"),
        ):
            return ServiceBusy(f"Object {name!r} changed while it was being read: read it again")
        return None

    def object_get_properties(
        self,
        account: str,
        container: str,
        obj: str,
        version: int | None = None,
        **kwargs: Any,
    ) -> ContentRecord:
        return self.backend.content_get(
            *_object_names(account, container, obj),
            _version(version),
            allow_deleted=version is not None,
        )

    object_show = object_get_properties

    def object_locate(
        self,
        account: str,
        container: str,
        obj: str,
        version: int | None = None,
        chunk_info: bool = False,
        properties: bool = True,
        **kwargs: Any,
    ) -> tuple[ContentRecord, list[ChunkRecord]]:
        from oiocli.core.chunks import group_metachunks, position_of

        meta, chunks = self.backend.content_locate(
            *_object_names(account, container, obj),
            _version(version),
        )
        offsets = {}
        for mc in group_metachunks(chunks):
            for chunk in mc.chunks:
                offsets[chunk["url"]] = mc.offset
        for chunk in chunks:
            chunk["offset"] = offsets.get(chunk["url"], 0)
        chunks.sort(key=position_of)
        if chunk_info:
            store = self._chunks_for(meta["chunk_method"], account, container)
            for chunk in chunks:
                try:
                    head = store.head(chunk["url"])
                    chunk["chunk_size"] = head["size"]
                    # An EC fragment recorded before its own hash was: the chunk knows it.
                    known = head["meta"].get("chunk_hash")
                    if known and "." in str(chunk["pos"]) and not chunk.get("chunk_hash"):
                        chunk["chunk_hash"] = str(known).upper()
                except OioException as exc:
                    chunk["error"] = str(exc)
        return meta, chunks

    def object_head(
        self, account: str, container: str, obj: str, trust_level: int = 0, **kwargs: Any
    ) -> bool:
        from oiocli.core.chunks import group_metachunks

        try:
            meta, chunks = self.object_locate(account, container, obj)
        except NoSuchObject:
            return False
        if trust_level <= 0:
            return True
        method = parse_method(meta["chunk_method"]) if meta["chunk_method"] != "drained" else None
        if method is None:
            return False
        store = self._chunks_for(method, account, container)
        for mc in group_metachunks(chunks):
            present = 0
            for chunk in mc.chunks:
                try:
                    store.head(chunk["url"])
                    present += 1
                except OioException:
                    pass
            need = len(mc.chunks) if trust_level >= 2 else method.min_chunks_to_read
            if present < need:
                return False
        return True

    def object_list(
        self,
        account: str,
        container: str,
        limit: int | None = None,
        marker: str | None = None,
        end_marker: str | None = None,
        prefix: str | None = None,
        delimiter: str | None = None,
        properties: bool = False,
        versions: bool = False,
        deleted: bool = False,
        **kwargs: Any,
    ) -> ObjectListing:
        account = check_name("account", account)
        container = check_name("container", container)
        # As the CLI's --limit: a positive integer (0 is not "no limit").
        if limit is None:
            limit = LIST_LIMIT_DEFAULT
        elif isinstance(limit, bool) or not isinstance(limit, int | str):
            raise BadRequest(f"Invalid limit {limit!r}: expected a positive integer")
        try:
            limit = int(limit)
        except ValueError:
            raise BadRequest(f"Invalid limit {limit!r}: expected a positive integer") from None
        if limit < 1:
            raise BadRequest(f"Invalid limit {limit}: expected a positive integer")
        limit = min(limit, LIST_LIMIT_MAX)
        return self.backend.content_list(
            account,
            container,
            limit,
            marker=marker,
            end_marker=end_marker,
            prefix=prefix,
            delimiter=delimiter or None,
            versions=versions,
            deleted=deleted,
            properties=properties,
        )

    def object_set_properties(
        self,
        account: str,
        container: str,
        obj: str,
        properties: dict[str, str],
        version: int | None = None,
        clear: bool = False,
        **kwargs: Any,
    ) -> None:
        self.backend.content_update_props(
            *_object_names(account, container, obj),
            _version(version),
            check_properties(properties),
            clear=clear,
            reqid=self._reqid(kwargs),
        )

    def object_del_properties(
        self,
        account: str,
        container: str,
        obj: str,
        properties: list[str],
        version: int | None = None,
        **kwargs: Any,
    ) -> None:
        self.backend.content_update_props(
            *_object_names(account, container, obj),
            _version(version),
            {},
            delete=list(properties),
            reqid=self._reqid(kwargs),
        )

    def object_update(
        self,
        account: str,
        container: str,
        obj: str,
        metadata: dict,
        clear: bool = False,
        **kwargs: Any,
    ) -> None:
        warnings.warn("object_update is deprecated", DeprecationWarning, stacklevel=2)
        self.object_set_properties(account, container, obj, metadata, clear=clear, **kwargs)

    def object_analyze(self, account: str, container: str, obj: str, **kwargs: Any):
        warnings.warn("object_analyze is deprecated", DeprecationWarning, stacklevel=2)
        return self.object_locate(account, container, obj, **kwargs)

    def object_delete(
        self,
        account: str,
        container: str,
        obj: str,
        version: int | None = None,
        **kwargs: Any,
    ) -> tuple[bool, int]:
        return self.backend.content_delete(
            *_object_names(account, container, obj),
            _version(version),
            self._reqid(kwargs),
        )

    def object_delete_many(
        self, account: str, container: str, objs: list[str], **kwargs: Any
    ) -> list[tuple[str, bool]]:
        result = []
        for obj in objs:
            try:
                self.object_delete(account, container, obj, **kwargs)
                result.append((obj, True))
            except NoSuchObject:
                result.append((obj, False))
        return result

    def object_touch(
        self, account: str, container: str, obj: str, version: int | None = None, **kwargs: Any
    ) -> None:
        self.backend.content_touch(
            *_object_names(account, container, obj),
            _version(version),
            self._reqid(kwargs),
        )

    def object_drain(
        self, account: str, container: str, obj: str, version: int | None = None, **kwargs: Any
    ) -> None:
        self.backend.content_drain(
            *_object_names(account, container, obj),
            _version(version),
            self._reqid(kwargs),
        )

    def object_truncate(
        self,
        account: str,
        container: str,
        obj: str,
        version: int | None = None,
        size: int | None = None,
        **kwargs: Any,
    ) -> None:
        """Shrink an object to `size` bytes (OpenIO semantics: the object hash is cleared).

        The metachunk the new end falls in is written again, cut; the commit
        checks the object did not change meanwhile (another truncate, a policy
        change), and then this starts again from what the object holds now.
        """
        if size is None or isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise BadRange(f"Invalid truncate size {size!r}")
        for attempt in range(TRUNCATE_ATTEMPTS):
            try:
                return self._truncate_once(account, container, obj, version, size, kwargs)
            except (Conflict, ServiceBusy):  # changed meanwhile: again, from what it is now
                if attempt == TRUNCATE_ATTEMPTS - 1:
                    raise

    def _truncate_once(
        self,
        account: str,
        container: str,
        obj: str,
        version: int | None,
        size: int,
        kwargs: dict[str, Any],
    ) -> None:
        from oiocli.core.chunks import group_metachunks
        from oiocli.io.pipeline import Source
        from oiocli.io.reader import read_object
        from oiocli.io.writer import write_object

        meta, chunks = self.object_locate(account, container, obj, version=version)
        if meta["chunk_method"] == "drained":
            raise ContentDrained(f"Object {obj!r} is drained")
        if size > meta["size"]:
            raise BadRange(f"Cannot truncate {obj!r} to {size}: it has only {meta['size']} bytes")
        if size == meta["size"]:
            return
        method = parse_method(meta["chunk_method"])
        store = self._chunks_for(method, account, container)
        replace_pos = None
        new_chunks: list[ChunkRecord] = []
        for mc in group_metachunks(chunks):
            inside = mc.offset < size < mc.offset + mc.size
            if inside or (size == 0 and mc.index == 0):
                replace_pos = mc.index
                deferred: list = []
                keep = self._guard_read(
                    account,
                    container,
                    meta,
                    read_object(
                        store,
                        method,
                        chunks,
                        [(mc.offset, size)],
                        obj,
                        self._problem_logger(obj, deferred=deferred),
                        content_id=meta["id"],
                    ),
                    deferred,
                )
                base_meta = {
                    "content_id": meta["id"],
                    "content_version": meta["version"],
                    "content_path": obj,
                    "container_id": self.backend.container_locate(account, container)["cid"],
                    "policy": meta["policy"],
                    "chunk_method": meta["chunk_method"],
                }
                result = write_object(
                    Source(data=keep),
                    method,
                    self.backend.chunk_size,
                    store,
                    self._targets(method),
                    base_meta,
                    first_position=mc.index,
                )
                new_chunks = result.chunks
                break
        try:
            self.backend.content_truncate(
                account,
                container,
                meta["name"],
                meta["version"],
                size,
                replace_pos,
                new_chunks,
                self._reqid(kwargs),
                content_id=meta["id"],
            )
        except BaseException:
            self._delete_chunks([c["url"] for c in new_chunks], store)
            raise

    def object_link(
        self,
        target_account: str,
        target_container: str,
        target_obj: str,
        link_account: str,
        link_container: str,
        link_obj: str,
        target_version: int | None = None,
        target_content_id: str | None = None,
        link_content_id: str | None = None,
        properties_directive: str = "COPY",
        properties: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> None:
        """A new name sharing the data (hard-linked chunks) of an existing object.

        A target changed while its chunks are being linked (a chunk is gone) is
        linked again as it is now.
        """
        for attempt in range(TRUNCATE_ATTEMPTS):
            try:
                return self._link_once(
                    target_account,
                    target_container,
                    target_obj,
                    link_account,
                    link_container,
                    link_obj,
                    target_version,
                    link_content_id,
                    properties_directive,
                    properties,
                    kwargs,
                )
            except ServiceBusy:
                if attempt == TRUNCATE_ATTEMPTS - 1:
                    raise

    def _link_once(
        self,
        target_account: str,
        target_container: str,
        target_obj: str,
        link_account: str,
        link_container: str,
        link_obj: str,
        target_version: int | None,
        link_content_id: str | None,
        properties_directive: str,
        properties: dict[str, str] | None,
        kwargs: dict[str, Any],
    ) -> None:
        meta, chunks = self.object_locate(
            target_account, target_container, target_obj, version=target_version
        )
        if meta["chunk_method"] == "drained":
            raise ContentDrained(f"Object {target_obj!r} is drained")
        link_obj = check_name("object", link_obj)
        if properties_directive.upper() == "REPLACE" or properties is not None:
            new_props = check_properties(properties)
        else:
            new_props = meta["properties"]
        reqid = self._reqid(kwargs)
        link_account = check_name("account", link_account)
        link_container = check_name("container", link_container)
        prep = self.backend.content_prepare(
            link_account, link_container, meta["policy"], kwargs.get("autocreate", True), reqid
        )
        import secrets

        linked: list[ChunkRecord] = []
        method = parse_method(meta["chunk_method"])
        store = self._chunks_for(method, target_account, target_container)
        # A tier chunk is copied in its bucket under the link's container: each
        # record owns its own bucket object, so deleting either one is safe.
        dst_store = self._chunks_for(method, link_account, link_container)
        content_id = link_content_id or prep["content_id"]
        try:
            for chunk in chunks:
                if method.is_tier:
                    new_url = method.chunk_prefix + secrets.token_hex(32).upper()
                    # The copy says it is the link's chunk (a commit through
                    # `namespace serve` checks that, as for an upload).
                    own = {
                        "content_id": content_id,
                        "pos": chunk["pos"],
                        "metachunk_hash": chunk.get("hash"),
                        "metachunk_size": chunk["size"],
                    }
                    etag = store.link(
                        chunk["url"], new_url, container_id=dst_store.container_id, meta=own
                    )
                    linked.append({**chunk, "url": new_url, "real_url": new_url})
                    if etag:
                        linked[-1]["chunk_hash"] = etag
                    continue
                new_url = self.backend.link_target(chunk["url"])
                store.link(chunk["url"], new_url)
                linked.append({**chunk, "url": new_url, "real_url": new_url})
            self.backend.content_create(
                link_account,
                link_container,
                link_obj,
                content=content_id,
                version=prep["version"],
                size=meta["size"],
                hsh=meta["hash"],
                policy=meta["policy"],
                chunk_method=meta["chunk_method"],
                mime_type=meta["mime_type"],
                properties=new_props,
                chunks=linked,
                reqid=reqid,
            )
        except ChunkNotFound:
            # A target chunk went away while linked: the target changed or was
            # deleted (a proxy's rawx links at the commit, so it shows there too).
            self._delete_chunks([c["url"] for c in linked], dst_store)
            changed = self._changed_since(target_account, target_container, meta)
            if changed is not None:
                raise changed from None
            raise
        except BaseException:
            self._delete_chunks([c["url"] for c in linked], dst_store)
            raise

    def object_purge(
        self, account: str, container: str, obj: str, maxvers: int | None = None, **kwargs: Any
    ) -> None:
        self.backend.content_purge(
            *_object_names(account, container, obj),
            maxvers,
            self._reqid(kwargs),
        )

    # ------------------------------------------------------ copy and move
    def object_copy(
        self,
        account: str,
        container: str,
        obj: str,
        dest_account: str | None = None,
        dest_container: str | None = None,
        dest_obj: str | None = None,
        version: int | None = None,
        policy: str | None = None,
        properties: dict[str, str] | None = None,
        dry_run: bool = False,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """Copy an object version to another name, container or account.

        Where the data can be shared (same policy: the default) the copy is a
        link, made where the chunks are (a hard link on a volume, a COPY on a
        rawx): no data moves. With another `policy`, or where a link cannot be
        made, the data is read and written again, its MD5 checked against the
        source's. Properties are copied, unless `properties` is given (then the
        copy has those only). Returns what was (or, `dry_run`, would be) done:
        source and destination names, version copied, size, policy, and
        `method` ("link" or "copy").
        """
        account, container, obj = _object_names(account, container, obj)
        dest_account = check_name("account", dest_account or account)
        dest_container = check_name("container", dest_container or container)
        dest_obj = check_name("object", dest_obj or obj)
        if (account, container, obj) == (dest_account, dest_container, dest_obj):
            raise BadRequest(
                f"Source and destination are the same object ({container}/{obj}): give "
                "another name, container or account"
            )
        if properties is not None:
            properties = check_properties(properties)
        if policy is not None:
            self.backend.policies.method(policy)  # an unknown policy changes nothing
        meta, _chunks = self.object_locate(account, container, obj, version=version)
        if meta["chunk_method"] == "drained":
            raise ContentDrained(f"Object {obj!r} is drained: it has no data to copy")
        new_policy = policy or meta["policy"]
        share = new_policy == meta["policy"]
        plan = {
            "account": account,
            "container": container,
            "object": obj,
            "version": meta["version"],
            "dest_account": dest_account,
            "dest_container": dest_container,
            "dest_object": dest_obj,
            "size": int(meta["size"]),
            "policy": new_policy,
            "method": "link" if share else "copy",
        }
        if dry_run:
            return plan
        if share:
            try:
                self.object_link(
                    account,
                    container,
                    obj,
                    dest_account,
                    dest_container,
                    dest_obj,
                    target_version=meta["version"],
                    properties_directive="REPLACE" if properties is not None else "COPY",
                    properties=properties,
                    **kwargs,
                )
            except BadRequest as exc:
                # A chunk store that cannot link there (another file system, a
                # rawx refusing COPY): the data goes through this process instead.
                LOG.info("Object %r cannot be linked (%s): copying its data", obj, exc)
                plan["method"] = "copy"
        if plan["method"] == "copy":
            self._copy_data(meta, dest_account, dest_container, dest_obj, new_policy, properties)
        try:
            dest = self.object_get_properties(dest_account, dest_container, dest_obj)
            plan["dest_version"] = dest["version"]
        except NoSuchObject:  # deleted (or replaced) meanwhile: the copy was made all the same
            plan["dest_version"] = None
        return plan

    def _copy_data(
        self,
        meta: Mapping[str, Any],
        dest_account: str,
        dest_container: str,
        dest_obj: str,
        policy: str,
        properties: dict[str, str] | None,
    ) -> None:
        """Read the source version through the data path and write it as the destination."""
        account, container = meta["account"], meta["container"]
        _meta, stream = self.object_fetch(account, container, meta["name"], version=meta["version"])
        try:
            self.object_create_ext(
                dest_account,
                dest_container,
                data=stream,
                obj_name=dest_obj,
                mime_type=meta["mime_type"],
                policy=policy,
                properties=meta["properties"] if properties is None else properties,
                # The MD5 read must be the source's: a source replaced while it
                # was read is not committed under the destination's name.
                etag=meta["hash"] or None,
            )
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                close()

    def object_move(
        self,
        account: str,
        container: str,
        obj: str,
        dest_account: str | None = None,
        dest_container: str | None = None,
        dest_obj: str | None = None,
        version: int | None = None,
        policy: str | None = None,
        properties: dict[str, str] | None = None,
        dry_run: bool = False,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """`object_copy`, then delete the source version copied (never before the copy
        is committed: an interruption leaves both, never neither).

        Only the version copied is deleted: a version written under the source's
        name meanwhile stays, as do older versions in a versioned container.
        `source_deleted` says whether the source was still there to delete.
        """
        result = self.object_copy(
            account,
            container,
            obj,
            dest_account,
            dest_container,
            dest_obj,
            version=version,
            policy=policy,
            properties=properties,
            dry_run=dry_run,
            **kwargs,
        )
        if dry_run:
            result["source_deleted"] = False
            return result
        try:
            self.object_delete(
                result["account"], result["container"], result["object"], result["version"]
            )
            result["source_deleted"] = True
        except NoSuchObject:
            LOG.warning(
                "Object %r was deleted by someone else while it was moved", result["object"]
            )
            result["source_deleted"] = False
        except OioException as exc:
            dest = f"{result['dest_container']}/{result['dest_object']}"
            raise type(exc)(
                f"Copied to {dest}, but the source could not be deleted (both exist): {exc}"
            ) from None
        return result

    # -------------------------------------------------- checks and repair
    @property
    def checker(self):
        from oiocli.api.check import Checker

        return Checker(self)

    def object_check(
        self,
        account: str,
        container: str,
        obj: str,
        version: int | None = None,
        repair: bool = False,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """Verify every chunk of an object; its redundancy state; optionally repair."""
        return self.checker.check_object(
            *_object_names(account, container, obj),
            _version(version),
            repair=repair,
            verify=bool(kwargs.get("verify")),
        )

    def container_check(
        self, account: str, container: str, repair: bool = False, **kwargs: Any
    ) -> list[dict[str, Any]]:
        return self.checker.check_container(
            check_name("account", account), check_name("container", container), repair
        )

    def volume_check(
        self,
        volume: str,
        orphans: bool = False,
        delete_orphans: bool = False,
        min_age: float | None = None,
        verify: bool = True,
        **kwargs: Any,
    ) -> list[dict[str, Any]]:
        from oiocli.api.check import ORPHAN_MIN_AGE

        return self.checker.check_volume(
            volume,
            orphans,
            delete_orphans,
            ORPHAN_MIN_AGE if min_age is None else min_age,
            verify=verify,
        )

    def volume_check_all(
        self,
        orphans: bool = False,
        delete_orphans: bool = False,
        min_age: float | None = None,
        verify: bool = True,
        **kwargs: Any,
    ) -> list[dict[str, Any]]:
        """`volume_check` of every volume of the namespace, rows in volume order
        (with `delete_orphans`: the orphan sweep of the whole namespace)."""
        from oiocli.api.check import ORPHAN_MIN_AGE

        checker = self.checker
        checker._maintenance("`volume check`")
        rows: list[dict[str, Any]] = []
        for volume in self.backend.volumes:
            rows += checker.check_volume(
                volume,
                orphans,
                delete_orphans,
                ORPHAN_MIN_AGE if min_age is None else min_age,
                verify=verify,
            )
        return rows

    def _need_volumes(self, what: str) -> None:
        if self.data_dir is None:
            raise BadRequest(
                f"`{what}` works on the volume directories of an embedded namespace: run "
                "it where they are (without --oio-proxy)"
            )

    def volume_add(self, path: str, **kwargs: Any) -> dict[str, Any]:
        """Add an empty (or new) directory as a volume of the embedded namespace."""
        from oiocli.backends.embedded.volume_admin import add_volume
        from oiocli.backends.embedded.volumes import volume_stats

        self._need_volumes("volume add")
        return volume_stats(add_volume(self.backend, path))

    def volume_drain(
        self,
        volume: str,
        cancel: bool = False,
        remove: bool = False,
        delete_orphans: bool = False,
        min_age: float | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """Move every chunk recorded on `volume` to the others (keeping each
        metachunk's chunks on distinct volumes); no new chunk goes there.

        Returns counts (`copied`, `linked`, `rebuilt`, `failed`), what is left on
        it (`records_left`: chunks objects still record there; `files_left`:
        chunk files, referenced or not) and `state`: "drained" (no chunk file
        left: it can be removed, `remove` does it), "draining" (something is
        left), or "in service" (`cancel`).
        """
        from oiocli.api.check import ORPHAN_MIN_AGE
        from oiocli.backends.embedded import volume_admin

        self._need_volumes("volume drain")
        checker = self.checker
        path = checker.resolve_volume(volume)
        result: dict[str, Any] = {
            "volume": os.path.basename(path),
            "path": path,
            "copied": 0,
            "linked": 0,
            "rebuilt": 0,
            "failed": 0,
            "orphans_deleted": 0,
            "orphans_left": 0,
            "records_left": None,
            "files_left": None,
            "removed": False,
        }
        if cancel:
            volume_admin.set_draining(path, False)
            result["state"] = "in service"
            return result
        volume_admin.set_draining(path, True)
        failures: list[str] = []
        drainer = volume_admin.Drainer(
            self.backend,
            path,
            lambda a, c, o, v: checker.check_object(a, c, o, v, repair=True),
            failures.append,
        )
        left = drainer.run()
        for url, why in sorted(drainer.failed.items()):
            LOG.warning("Chunk %s not moved: %s", url, why)
        for line in failures:
            LOG.warning("%s", line)
        rows = checker.check_volume(
            path,
            orphans=True,
            delete_orphans=delete_orphans,
            min_age=ORPHAN_MIN_AGE if min_age is None else min_age,
            verify=False,
        )
        result.update(
            copied=drainer.copied,
            linked=drainer.linked,
            rebuilt=drainer.rebuilt,
            failed=len(drainer.failed),
            orphans_deleted=sum(1 for r in rows if r["state"] == "orphan-deleted"),
            orphans_left=sum(1 for r in rows if r["state"] == "orphan"),
            records_left=left,
            files_left=volume_admin.chunk_files_on(path),
        )
        drained = not left and not result["files_left"]
        result["state"] = "drained" if drained else "draining"
        if drained and remove:
            volume_admin.remove_volume(self.backend, path)
            result["removed"] = True
        return result

    def volume_rebuild(self, volume: str, **kwargs: Any) -> list[dict[str, Any]]:
        return self.checker.rebuild_volume(volume)

    def namespace_check(self, repair: bool = False, **kwargs: Any) -> list[dict[str, Any]]:
        return self.checker.check_namespace(repair)

    # ----------------------------------------------------------- namespace
    def namespace_show(self, **kwargs: Any) -> dict[str, Any]:
        config = self.backend.config
        return {
            "namespace": self.namespace,
            "data_dir": self.data_dir,
            "chunk_size": int(config["chunk_size"]),
            "storage_policy": config["storage_policy"],
            "max_versions": int(config.get("max_versions", 1)),
            "policies": dict(config["policies"]),
            "volumes": len(config["volumes"]),
            **({"key_file": config["key_file"]} if config.get("key_file") else {}),
        }

    def namespace_set(
        self,
        policies: dict[str, str] | None = None,
        default_policy: str | None = None,
        key_file: str | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """Add policies (`{"B2": "backblaze/account_id=...,bucket_name=..."}`), set the default."""
        from oiocli.backends.base import CloudTier

        if not isinstance(self.backend, CloudTier):
            raise BadRequest("Policies of an OpenIO namespace are set in its conscience")
        self.backend.namespace_set(policies, default_policy, key_file)
        return self.namespace_show()

    def tier_move(
        self,
        account: str,
        container: str,
        policy: str,
        prefix: str | None = None,
        older_than: float | None = None,
        dry_run: bool = False,
        **kwargs: Any,
    ) -> Iterator[dict[str, Any]]:
        """Move a container's objects (prefix, age) to a policy in place: one event each."""
        from oiocli.api.tier import move_objects

        return move_objects(
            self,
            check_name("account", account),
            check_name("container", container),
            policy,
            prefix,
            older_than,
            dry_run,
        )

    def tier_orphans(
        self, delete: bool = False, min_age: float = 3600.0, **kwargs: Any
    ) -> list[dict[str, Any]]:
        """Tier bucket objects under the namespace's containers that no record names."""
        from oiocli.api.tier import tier_orphans

        return tier_orphans(self, delete, min_age)

    def volume_list(self, **kwargs: Any) -> list[dict[str, Any]]:
        own = getattr(self.backend, "volume_list", None)
        if own is not None:  # the proxy backend: rawx services, not local directories
            return own()
        from oiocli.backends.embedded.volume_admin import is_draining
        from oiocli.backends.embedded.volumes import volume_stats

        rows = [volume_stats(path) for path in self.backend.volumes]
        for row in rows:
            if row["state"] == "ok" and is_draining(row["path"]):
                row["state"] = "draining"
                row["detail"] = "no new chunk goes here (oio volume drain)"
        return rows

    def event_list(
        self, since: float | None = None, limit: int | None = None, **kwargs: Any
    ) -> list[EventRecord]:
        return self.backend.event_list(since=since, limit=limit)

    def storage_method(self, policy: str) -> StorageMethod:
        return self.backend.policies.method(policy)
