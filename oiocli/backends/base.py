"""The contract between the API and a backend, written down and type-checked.

`ChunkStore` has the verbs of an OpenIO rawx; `MetaBackend` the operations of an
OpenIO proxy (accounts, containers, contents, namespace attributes), with the
records they exchange. The data path (`oiocli.io`) only ever talks to a
`ChunkStore`, the API (`oiocli.api`) only to a `MetaBackend`, so neither knows
which backend it runs on. Both backends (`backends/embedded`, `backends/proxy`)
are checked against these Protocols by the type checker (`make lint`).

The records are `TypedDict`s (defined in `oiocli.core.records`): plain dicts at
run time, whose keys the type checker knows. A backend may add keys of its own;
callers rely only on these.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from oiocli.core.chunks import Buffer, ChunkRecord
from oiocli.core.records import (
    AccountRecord,
    ContainerLocation,
    ContentRecord,
    EventRecord,
    ObjectListing,
    UploadPlan,
)

# The records are defined in the core (the proxy's wire encoding builds them too)
# and are part of this contract.
__all__ = [
    "AccountRecord",
    "ChunkRecord",
    "ChunkStore",
    "CloudTier",
    "ContainerLocation",
    "ContentRecord",
    "EventRecord",
    "Maintenance",
    "MetaBackend",
    "ObjectListing",
    "TierChunks",
    "UploadPlan",
]

if TYPE_CHECKING:
    from oiocli.core.storage_method import PolicyTable, StorageMethod


class ChunkStore(Protocol):
    def put(self, url: str, data: Iterable[Buffer], meta: dict[str, Any]) -> dict[str, Any]:
        """Store a chunk durably; `meta` may be completed by the producer until `data` ends.

        Returns `{"size": n}`, and `"hash"` (MD5 of the data) when the store knows it
        for free (a rawx answers it). Raises StorageFull, Conflict (url exists), ...
        """

    def get(
        self,
        url: str,
        start: int = 0,
        end: int | None = None,
        expect: Mapping[str, Any] | None = None,
    ) -> Iterator[bytes]:
        """Yield verified bytes [start, end) of a chunk; ChunkNotFound / ChunkCorrupt.

        With `expect`, the chunk's own metadata is checked against it when the
        chunk is opened (`check_chunk_identity`), before any byte is yielded.
        """

    def head(self, url: str) -> dict[str, Any]:
        """`{"size": n, "meta": {...}}` of a chunk; ChunkNotFound."""

    def delete(self, url: str) -> None:
        """Remove a chunk (absent is fine)."""

    def link(self, url: str, new_url: str) -> None:
        """Make `new_url` share `url`'s data (a hard link on disk)."""

    def verify(self, url: str) -> dict[str, Any]:
        """Read the whole chunk and check every block: `{"size", "ok", "error"}`."""


class NamespaceOps(Protocol):
    """What the namespace says of itself."""

    @property
    def chunks(self) -> ChunkStore:
        """Where this backend's chunks are: a registry by URL scheme (backends/stores.py)."""

    @property
    def config(self) -> Mapping[str, Any]:
        """`chunk_size`, `storage_policy`, `max_versions`, `policies`, `volumes` (and more)."""

    @property
    def policies(self) -> PolicyTable:
        """The storage policies of the namespace, by name."""

    @property
    def chunk_size(self) -> int:
        """The size of a metachunk."""

    def volume_of(self, url: str) -> str:
        """The volume (embedded) or rawx service (proxy) a chunk URL is on."""

    @property
    def volumes(self) -> list[str]:
        """Where chunks go: volume directories (embedded) or rawx addresses (proxy)."""

    def chunk_targets(self, count: int) -> list[str]:
        """`count` fresh chunk URLs on distinct volumes where possible (one per chunk)."""

    def link_target(self, url: str) -> str:
        """A fresh chunk URL in the store of `url` (hard links stay on one disk)."""

    def event_list(self, since: float | None = None, limit: int | None = None) -> list[EventRecord]:
        """The event journal, oldest first (NotImplemented where the backend keeps none)."""


class AccountOps(Protocol):
    """OpenIO's account service."""

    def account_create(self, account: str, reqid: str | None = None) -> bool:
        """Create an account; False when it already exists."""

    def account_show(self, account: str) -> AccountRecord:
        """NoSuchAccount when absent."""

    def account_delete(self, account: str, reqid: str | None = None) -> None:
        """Delete an empty account (Conflict when it holds containers)."""

    def account_list(
        self,
        limit: int | None = None,
        marker: str | None = None,
        end_marker: str | None = None,
        prefix: str | None = None,
    ) -> list[str]:
        """Account names in order."""

    def account_update_metadata(
        self, account: str, set_: dict[str, str], delete: Iterable[str], reqid: str | None
    ) -> None:
        """Set then delete account properties."""

    def account_refresh(self, account: str | None, reqid: str | None = None) -> None:
        """Recompute an account's (None: every account's) counters from its containers."""

    def account_flush(self, account: str, reqid: str | None = None) -> None:
        """Forget an account's container statistics (OpenIO's account flush)."""


class ContainerOps(Protocol):
    """OpenIO's directory and meta2 container operations."""

    def container_create(
        self,
        account: str,
        name: str,
        properties: dict[str, str] | None = None,
        system: dict[str, str] | None = None,
        reqid: str | None = None,
        autocreate_account: bool = True,
    ) -> bool:
        """Create a container; False when it already exists."""

    def container_delete(self, account: str, name: str, reqid: str | None = None) -> None:
        """Delete an empty container (ContainerNotEmpty otherwise)."""

    def container_list(
        self,
        account: str,
        limit: int | None = None,
        marker: str | None = None,
        end_marker: str | None = None,
        prefix: str | None = None,
        delimiter: str | None = None,
    ) -> list[list[Any]]:
        """Rows `[name, objects, bytes, is_prefix, mtime]`; every row when `limit` is None."""

    def container_props(self, account: str, container: str) -> dict[str, str]:
        """User and system (`sys.*`) properties of a container."""

    def container_set_props(
        self,
        account: str,
        name: str,
        props: dict[str, str],
        clear_user: bool = False,
        delete: Iterable[str] = (),
        reqid: str | None = None,
    ) -> None:
        """Set properties (after clearing the user ones, with `clear_user`), delete others."""

    def container_touch(
        self, account: str, name: str, recompute: bool = False, reqid: str | None = None
    ) -> None:
        """Send the container's statistics to its account again (recounted, with `recompute`)."""

    def container_locate(self, account: str, container: str) -> ContainerLocation:
        """Where the container's metadata lives."""

    def container_snapshot(
        self,
        account: str,
        container: str,
        dst_account: str,
        dst_container: str,
        reqid: str | None = None,
    ) -> None:
        """Copy a container's metadata to a new container, its chunks hard-linked."""

    def resolve_cid(self, cid: str) -> tuple[str, str]:
        """`(account, container)` of a container id; NoSuchContainer when unknown."""

    def container_versions(self, account: str, container: str) -> list[tuple[str, int]]:
        """`(name, version)` of every stored object version (not delete markers)."""


class ContentOps(Protocol):
    """OpenIO's meta2 content operations."""

    def content_prepare(
        self,
        account: str,
        container: str,
        policy: str | None = None,
        autocreate: bool = True,
        reqid: str | None = None,
    ) -> UploadPlan:
        """Check the container accepts writes and resolve the policy, before chunks are written."""

    def content_create(
        self,
        account: str,
        container: str,
        name: str,
        *,
        content: str,
        version: int,
        size: int,
        hsh: str | None,
        policy: str,
        chunk_method: str,
        mime_type: str,
        properties: dict[str, str],
        chunks: list[ChunkRecord],
        reqid: str | None = None,
        append: bool = False,
        restore_drained: bool = False,
        keep_version: bool = False,
    ) -> int:
        """Commit an object whose chunks are durable; return its version.

        `append` adds the chunks (written from position 0) after the object's last
        metachunk in the commit itself; `keep_version` replaces that version's
        chunks in place (a rebuild); `restore_drained` revives a drained object.
        """

    def content_get(
        self,
        account: str,
        container: str,
        name: str,
        version: int | None = None,
        allow_deleted: bool = False,
    ) -> ContentRecord:
        """One version (the latest by default); NoSuchObject when absent or a delete marker."""

    def content_locate(
        self, account: str, container: str, name: str, version: int | None = None
    ) -> tuple[ContentRecord, list[ChunkRecord]]:
        """An object version and its chunks, read together (one snapshot)."""

    def content_list(
        self,
        account: str,
        container: str,
        limit: int,
        *,
        marker: str | None = None,
        end_marker: str | None = None,
        prefix: str | None = None,
        delimiter: str | None = None,
        versions: bool = False,
        deleted: bool = False,
        properties: bool = False,
    ) -> ObjectListing:
        """A page of objects in name order (every version, newest first, with `versions`).

        A page is at most `limit` entries, and the next one starts after its
        `next_marker` (a name), so a versioned page never ends inside a name's
        versions: it ends before that name, or holds all of its versions when
        they are more than `limit`.
        """

    def content_delete(
        self,
        account: str,
        container: str,
        name: str,
        version: int | None = None,
        reqid: str | None = None,
    ) -> tuple[bool, int]:
        """Delete a version, or add a delete marker; `(is delete marker, version)`."""

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
        """Set (after clearing all, with `clear`) and delete an object's properties."""

    def content_drain(
        self,
        account: str,
        container: str,
        name: str,
        version: int | None = None,
        reqid: str | None = None,
    ) -> None:
        """Delete an object's chunks and keep its metadata, marked drained."""

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
        content_id: str | None = None,
    ) -> None:
        """Cut an object at `size`; the metachunk at `replace_pos` becomes `new_chunks`.

        `content_id`: the content the caller read (and cut `new_chunks` from); an
        object that has another one now is not touched (Conflict).
        """

    def content_purge(
        self,
        account: str,
        container: str,
        name: str | None,
        maxvers: int | None = None,
        reqid: str | None = None,
    ) -> None:
        """Keep the newest `maxvers` versions (the container's policy by default)."""

    def content_touch(
        self,
        account: str,
        container: str,
        name: str,
        version: int | None = None,
        reqid: str | None = None,
    ) -> None:
        """Emit an object's event again (OpenIO's content touch)."""

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
        """Swap chunk records of a version (a repair's new copies for the damaged ones)."""


class MetaBackend(NamespaceOps, AccountOps, ContainerOps, ContentOps, Protocol):
    """Every metadata operation the API asks of a backend, named after OpenIO proxy actions.

    The embedded namespace implements them on SQLite, the proxy backend over
    OpenIO's HTTP protocols; `tests/conformance` runs the same scenarios on both.
    Maintenance only some backends can do is a separate, optional Protocol.
    """


@runtime_checkable
class Maintenance(Protocol):
    """What only a backend that holds its own files can do, as an optional feature.

    Walking volumes, finding orphan chunks, checking and repairing its own
    databases, placing rebuilt chunks. Callers test `isinstance(backend,
    Maintenance)` and say plainly when a backend cannot (the proxy backend: an
    OpenIO SDS cluster has its own tools for this). Rows are plain dicts, in the
    shape `volume check` and `namespace check` print.
    """

    def repair_targets(self, count: int, avoid: Iterable[str] = ()) -> list[str]:
        """URLs for `count` new chunks on distinct volumes, none of them in `avoid`."""
        ...

    def volume_problem(self, volume: str) -> tuple[str, str] | None:
        """(state, detail) when the volume directory cannot be listed, else None."""
        ...

    def restore_volume(self, volume: str) -> None:
        """Make a lost volume usable again, to rebuild onto, when it can be."""
        ...

    def volume_objects(self, volume: str) -> list[tuple[str, str, str, int]]:
        """(account, container, object, version) of every object with a chunk on `volume`."""
        ...

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
        """One row per missing, corrupt, unreadable or orphan chunk of `volume`.

        `in_use()` names chunks that uploads in progress hold: never orphans.
        """
        ...

    def check_namespace(self, repair: bool = False) -> list[dict[str, Any]]:
        """One row per check of the backend's own databases (`repair`: fix what can be)."""
        ...


@runtime_checkable
class TierChunks(Protocol):
    """Reaching cloud tier chunks (`backblaze/`, `s3/` policies): an optional feature.

    A tier chunk's URL (`b2/<chunk id>`, OpenIO's) names neither its bucket (its
    object's chunk method does) nor its container (the bucket key is
    `<container id>/<chunk id>`), so a tier store is bound to a method and a
    container and obtained here rather than from the URL-prefix registry. The
    client writes and reads the bucket itself on every backend that has it (the
    embedded one, and a proxy whose namespace has tier policies, such as
    `namespace serve`); callers test `isinstance(backend, TierChunks)`.
    """

    tier_key_file: str | None  # the caller's --key-file, read when a tier store is built

    def tier_chunks(
        self,
        method: StorageMethod,
        account: str = "",
        container: str = "",
        key_file: str | None = None,
        cid: str | None = None,
    ) -> Any:
        """The chunk store of `method`'s bucket for one container's chunks (by names or cid)."""
        ...


@runtime_checkable
class CloudTier(TierChunks, Protocol):
    """The tier's upkeep on a namespace that owns its records: orphans, policies.

    Only the embedded backend has it: listing a bucket's orphans needs every
    record of the namespace, and an OpenIO SDS cluster's policies are its
    conscience's.
    """

    def tier_methods(self) -> list[StorageMethod]:
        """Every tier method the namespace knows, retired policies' included."""
        ...

    def tier_references(self) -> dict[str, tuple[str, str, set[str]]]:
        """Container id -> (account, container, tier chunk URLs its records name)."""
        ...

    def tier_sweep_lock(self) -> AbstractContextManager[object]:
        """Held while tier orphans are deleted: no commit of new chunks runs meanwhile."""
        ...

    def namespace_set(
        self,
        policies: dict[str, str] | None = None,
        default_policy: str | None = None,
        key_file: str | None = None,
    ) -> dict[str, Any]:
        """Add or redefine policies, set the default policy or the tier key file."""
        ...
