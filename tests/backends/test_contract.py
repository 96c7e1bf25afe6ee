"""Both backends implement the written contract (backends/base.py).

The type checker (`make lint` runs mypy on this file) checks every signature:
`as_meta_backend` only accepts a backend whose methods match `MetaBackend`'s.
The test below checks at run time that no operation is missing, so a Protocol
member added without an implementation fails here too.
"""

from __future__ import annotations

import inspect

import pytest

from oiocli.backends.base import (
    AccountOps,
    ChunkStore,
    ContainerOps,
    ContentOps,
    MetaBackend,
    NamespaceOps,
)
from oiocli.backends.embedded.chunks import LocalChunkStore
from oiocli.backends.embedded.meta import EmbeddedNamespace
from oiocli.backends.proxy.chunks import HttpChunkStore
from oiocli.backends.proxy.meta import ProxyNamespace
from oiocli.backends.stores import ChunkStores


def as_meta_backend(backend: EmbeddedNamespace | ProxyNamespace) -> MetaBackend:
    return backend  # the type checker proves both classes are MetaBackends


def as_chunk_store(store: LocalChunkStore | HttpChunkStore | ChunkStores) -> ChunkStore:
    return store


def _members(protocol: type) -> set[str]:
    return {
        name
        for name, _value in inspect.getmembers(protocol)
        if not name.startswith("_") and name in vars(protocol)
    }


OPERATIONS = set().union(
    *(_members(p) for p in (NamespaceOps, AccountOps, ContainerOps, ContentOps))
)


def test_the_contract_lists_the_operations_of_openio_s_proxy():
    assert {"content_prepare", "content_create", "content_locate", "container_list"} <= OPERATIONS
    assert len(OPERATIONS) >= 35
    assert _members(MetaBackend) <= OPERATIONS  # MetaBackend adds nothing of its own


@pytest.fixture(params=["embedded", "proxy"])
def backend(request, tmp_path):
    if request.param == "embedded":
        yield EmbeddedNamespace("OPENIO", str(tmp_path / "ns"))
    else:
        namespace = ProxyNamespace("OPENIO", "127.0.0.1:1")  # opening one sends nothing
        yield namespace
        namespace.close()


def test_every_operation_is_implemented(backend):
    missing = sorted(name for name in OPERATIONS if not _has(backend, name))
    assert not missing, f"{type(backend).__name__} lacks {missing}"
    assert isinstance(backend.chunks, ChunkStores)


@pytest.mark.parametrize("store", [LocalChunkStore, HttpChunkStore, ChunkStores])
def test_every_chunk_store_has_the_rawx_verbs(store):
    assert all(callable(getattr(store, verb, None)) for verb in _members(ChunkStore))


def _has(obj: object, name: str) -> bool:
    """Whether `obj` has `name`, without running a property (the proxy's ask the proxy)."""
    try:
        inspect.getattr_static(obj, name)
    except AttributeError:
        return False
    return True
