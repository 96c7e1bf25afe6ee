"""Fixtures of the API conformance suite, in the manner of rclone's fstests.

Every scenario takes `api` (an `ObjectStorageApi` on a fresh, empty namespace with
1 MiB chunks) and, when it needs more, `backend`: a small per-backend helper.
Scenarios never reach into a backend's internals except through it, so adding a
backend (the proxy one) is one helper class and one entry in BACKENDS. A helper has:

    new_api(chunk_size=1 MiB, **kw)  a fresh, empty namespace (None: the 10 MiB default)
    connect_args(api)                JSON-able ObjectStorageApi kwargs reopening it (children)
    chunk_path(url)                  the file holding a chunk (data | meta | crc table | footer)
    delete_chunk(url), corrupt_chunk(url, offset=100)     faults
    preserved_chunks(urls)           context manager restoring those chunks on exit
    chunk_file_count(api)            chunk files stored, referenced or orphan
    destroy(api)                     free a namespace's disk space (big scenarios)
    cleanup()                        stop whatever the helper started (fixture teardown)
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from oiocli.api import ObjectStorageApi

from . import cluster_backend, tier_backend
from .cluster_backend import ClusterBackend
from .helpers import ChunkFiles
from .proxy_backend import ProxyBackend

MiB = 1024 * 1024
NAMESPACE = "NS"
TEST_CHUNK_SIZE = MiB


class EmbeddedBackend(ChunkFiles):
    """Namespaces on local disk (SQLite + volume directories) under one directory."""

    name = "embedded"

    def __init__(self, root: Path) -> None:
        self.root = root
        self._count = 0

    def new_api(self, chunk_size: int | None = TEST_CHUNK_SIZE, **kwargs: Any) -> ObjectStorageApi:
        """A fresh, empty namespace; `chunk_size=None` keeps the backend's default (10 MiB)."""
        self._count += 1
        data_dir = self.root / f"ns{self._count}"
        return ObjectStorageApi(NAMESPACE, data_dir=str(data_dir), chunk_size=chunk_size, **kwargs)

    def connect_args(self, api: ObjectStorageApi) -> dict[str, Any]:
        """JSON-able keyword arguments of ObjectStorageApi that open `api`'s namespace again."""
        return {"namespace": api.namespace, "data_dir": api.data_dir}

    # --------------------------------------------------------------- faults
    def chunk_path(self, url: str) -> str:
        from oiocli.backends.embedded.chunks import chunk_path

        return chunk_path(url)

    def chunk_file_count(self, api: ObjectStorageApi) -> int:
        """Chunk files stored by the namespace (referenced or orphan)."""
        count = 0
        for volume in api.volume_list():
            for _dirpath, _dirs, files in os.walk(volume["path"]):
                count += sum(1 for name in files if len(name) == 64)
        return count

    def destroy(self, api: ObjectStorageApi) -> None:
        """Free the disk space of a namespace (big-object scenarios)."""
        shutil.rmtree(api.data_dir, ignore_errors=True)

    def cleanup(self) -> None:
        """Stop what the helper started (nothing here).

        The small namespaces stay for pytest's tmp_path retention: removing them at
        once costs more than writing them on a busy disk; big scenarios call destroy().
        """


BACKENDS = {"embedded": EmbeddedBackend, "proxy": ProxyBackend}
# The cloud tier (SeaweedFS on loopback), only when asked (`make test-tier`).
if tier_backend.enabled():
    BACKENDS["tier"] = tier_backend.TierBackend
    BACKENDS["tier-proxy"] = tier_backend.TierProxyBackend
# A real OpenIO SDS namespace, only when one is given (`make test-cluster`).
if cluster_backend.proxy_address():
    BACKENDS["cluster"] = ClusterBackend


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "slow_on(*backends): `slow` when run on one of these backends only"
    )
    config.addinivalue_line(
        "markers",
        "requires(*capabilities): what a scenario needs beyond the API (chunk-files, "
        "event-journal, namespace-config, fragment-records, whole-account-names, "
        "policy:NAME; see cluster_backend.py); not applicable on a backend without it",
    )
    config.addinivalue_line(
        "markers",
        "openio_differs(reason, wire=False): a known difference of a real OpenIO namespace "
        "from the embedded backend's semantics (a strict xfail on the cluster; with "
        "wire=True it comes from OpenIO's wire protocol, which `namespace serve` speaks "
        "too: a strict xfail on the proxy backend as well)",
    )


@pytest.hookimpl(tryfirst=True)  # before `-m 'not slow'` deselects
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    cluster_caps = None
    for item in items:
        marker = item.get_closest_marker("slow_on")
        callspec = getattr(item, "callspec", None)
        backend = callspec.params.get("backend_name") if callspec else None
        if marker and backend in marker.args:
            item.add_marker(pytest.mark.slow)
        if backend in ("proxy", "tier-proxy"):
            for divergence in item.iter_markers("openio_differs"):
                if divergence.kwargs.get("wire"):
                    reason = "OpenIO's wire protocol: " + divergence.args[0]
                    item.add_marker(pytest.mark.xfail(strict=True, reason=reason))
        if backend in ("tier", "tier-proxy") and (
            isinstance(callspec.params.get("policy"), str)
            or any("chunk-files" in m.args for m in item.iter_markers("requires"))
        ):
            reason = "not applicable on the tier: a policy of its own, or chunk files"
            item.add_marker(pytest.mark.skip(reason=reason))
        if backend != "cluster":
            continue
        for divergence in item.iter_markers("openio_differs"):
            reason = "diverges on the cluster: " + divergence.args[0]
            item.add_marker(pytest.mark.xfail(strict=True, reason=reason))
        needs = {cap for m in item.iter_markers("requires") for cap in m.args}
        if isinstance(callspec.params.get("policy"), str):
            needs.add(f"policy:{callspec.params['policy']}")
        if cluster_caps is None:
            cluster_caps = cluster_backend.capabilities()
        missing = sorted(needs - cluster_caps)
        if missing:
            reason = cluster_backend.NOT_APPLICABLE + ", ".join(missing)
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session", params=sorted(BACKENDS))
def backend_name(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def backend(backend_name: str, tmp_path: Path) -> Iterator[EmbeddedBackend]:
    """The helper of the backend under test, for this test only."""
    helper = BACKENDS[backend_name](tmp_path / backend_name)
    yield helper
    helper.cleanup()


@pytest.fixture
def api(backend: EmbeddedBackend) -> ObjectStorageApi:
    """A fresh, empty namespace with 1 MiB chunks."""
    return backend.new_api()


@pytest.fixture(scope="module")
def module_backend(
    backend_name: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[EmbeddedBackend]:
    """A backend helper shared by the tests of one module (read-only scenarios)."""
    helper = BACKENDS[backend_name](tmp_path_factory.mktemp(f"{backend_name}-module"))
    yield helper
    helper.cleanup()


@pytest.fixture(scope="session")
def source_50m(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """(path, uppercase MD5) of a 50 MiB random file, made once per test process."""
    path = tmp_path_factory.mktemp("source") / "random-50MiB.bin"
    md5 = hashlib.md5()
    with open(path, "wb") as f:
        for _ in range(50):
            block = os.urandom(MiB)
            md5.update(block)
            f.write(block)
    yield str(path), md5.hexdigest().upper()
    path.unlink()
