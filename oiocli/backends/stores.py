"""The chunk-store registry: a chunk URL's scheme says which store holds it.

`file://` chunks live on the embedded namespace's local volumes, `http://` and
`https://` ones on a rawx. (Cloud tier chunks, `b2/` and `s3/`, are not here: their
URL names neither their bucket nor their container, so their store is bound to
both and comes from the backend's `CloudTier.tier_chunks`.) Each
backend builds one registry holding the stores it can reach, and hands it to the
data path as its one `ChunkStore`: the data path never chooses a store itself.

A store may be registered as a factory, called once, on the first chunk of its
kind: a store whose library is costly to import (a cloud SDK) costs nothing to
commands that never touch one of its chunks.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from oiocli.core.exceptions import BadRequest

if TYPE_CHECKING:
    from oiocli.backends.base import ChunkStore
    from oiocli.core.chunks import Buffer

StoreFactory = Callable[[], "ChunkStore"]


class ChunkStores:
    """A `ChunkStore` that hands each call to the store registered for the URL's prefix.

    Prefixes are compared as plain string prefixes, longest first, so `"b2/"` and
    `"http://"` may sit side by side with a more specific `"http://rawx-1:6200/"`.
    """

    def __init__(self, stores: Mapping[str, ChunkStore | StoreFactory] | None = None) -> None:
        self._stores: dict[str, ChunkStore] = {}
        self._factories: dict[str, StoreFactory] = {}
        self._prefixes: list[str] = []
        self._lock = threading.Lock()
        for prefix, store in (stores or {}).items():
            self.register(prefix, store)

    def register(self, prefix: str, store: ChunkStore | StoreFactory) -> None:
        """Serve URLs starting with `prefix` from `store` (or from what `store()` returns)."""
        if not prefix:
            raise ValueError("a chunk store prefix cannot be empty")
        with self._lock:
            self._stores.pop(prefix, None)
            self._factories.pop(prefix, None)
            if _is_store(store):
                self._stores[prefix] = store  # type: ignore[assignment]
            else:
                self._factories[prefix] = store  # type: ignore[assignment]
            self._prefixes = sorted({*self._stores, *self._factories}, key=len, reverse=True)

    @property
    def prefixes(self) -> list[str]:
        """The registered prefixes, longest first (the order they are matched in)."""
        return list(self._prefixes)

    def for_url(self, url: str) -> ChunkStore:
        """The store holding chunk `url`; BadRequest when no store knows its scheme."""
        for prefix in self._prefixes:
            if url.startswith(prefix):
                store = self._stores.get(prefix)
                return store if store is not None else self._build(prefix)
        known = ", ".join(sorted(self._prefixes)) or "none"
        raise BadRequest(f"No chunk store for {url!r}: known chunk URL prefixes are {known}")

    def _build(self, prefix: str) -> ChunkStore:
        with self._lock:
            store = self._stores.get(prefix)
            if store is None:  # first use: build it once, even when threads race here
                store = self._factories.pop(prefix)()
                self._stores[prefix] = store
            return store

    # The ChunkStore verbs, each handed to the store of its URL.

    def put(self, url: str, data: Iterable[Buffer], meta: dict[str, Any]) -> dict[str, Any]:
        return self.for_url(url).put(url, data, meta)

    def get(
        self,
        url: str,
        start: int = 0,
        end: int | None = None,
        expect: Mapping[str, Any] | None = None,
    ) -> Iterator[bytes]:
        return self.for_url(url).get(url, start, end, expect=expect)

    def head(self, url: str) -> dict[str, Any]:
        return self.for_url(url).head(url)

    def delete(self, url: str) -> None:
        self.for_url(url).delete(url)

    def link(self, url: str, new_url: str, **options: Any) -> None:
        """Link within the store of `url`; `options` are that store's own (a rawx's full path)."""
        store = self.for_url(url)
        if self.for_url(new_url) is not store:
            raise BadRequest(f"Cannot link chunk {url} to {new_url}: they are in different stores")
        link: Callable[..., None] = store.link  # `options` are outside the ChunkStore contract
        link(url, new_url, **options)

    def verify(self, url: str) -> dict[str, Any]:
        return self.for_url(url).verify(url)


def _is_store(candidate: object) -> bool:
    """A store has the ChunkStore verbs; anything else callable is a factory."""
    return all(callable(getattr(candidate, verb, None)) for verb in ("put", "get", "head"))


__all__ = ["ChunkStores", "StoreFactory"]
