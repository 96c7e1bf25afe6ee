"""The two small interfaces every backend implements.

`ChunkStore` has the verbs of an OpenIO rawx; `MetaBackend` the operations of an
OpenIO proxy (accounts, containers, contents). The data path (`oiocli.io`) only
ever talks to these, so it does not know which backend it runs on.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Protocol

from oiocli.core.chunks import Buffer


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


class MetaBackend(Protocol):
    """Metadata operations, named after OpenIO proxy actions (see reference section 4)."""

    # The embedded implementation is the reference; the proxy backend maps the
    # same calls onto HTTP. See oiocli/backends/embedded/meta.py for semantics.
