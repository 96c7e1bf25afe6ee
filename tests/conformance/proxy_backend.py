"""The conformance suite's helper for the proxy backend.

Each namespace is an embedded one served in-process by `oio namespace serve`'s
server (one proxy, one rawx per volume, ephemeral ports on 127.0.0.1), and the
API under test talks to it only through `ObjectStorageApi(ns, proxy=url)`. Fault
scenarios reach the chunk files through the serving namespace (a rawx URL maps
to one of its volumes), as an operator would on a rawx's disk.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path
from typing import Any

from oiocli.api import ObjectStorageApi
from oiocli.server.namespace_server import NamespaceServer, serve_namespace

from .helpers import ChunkFiles

MiB = 1024 * 1024
NAMESPACE = "NS"
TEST_CHUNK_SIZE = MiB
# Set: the rawx send chunks' bytes unchecked, as OpenIO's Go rawx does.
UNVERIFIED_ENV = "OIO_TEST_RAWX_UNVERIFIED"

# Keyword arguments of ObjectStorageApi that configure the namespace itself: with a
# proxy they belong to the served namespace, not to the client.
NAMESPACE_KWARGS = ("storage_policy", "volumes", "policies", "max_versions", "update_config")


class ProxyBackend(ChunkFiles):
    """Namespaces served over HTTP by in-process proxy + rawx servers."""

    name = "proxy"

    def __init__(self, root: Path) -> None:
        self.root = root
        self._count = 0
        self._servers: dict[int, NamespaceServer] = {}
        self._dirs: dict[int, Path] = {}

    def new_api(self, chunk_size: int | None = TEST_CHUNK_SIZE, **kwargs: Any) -> ObjectStorageApi:
        """A fresh, empty namespace; `chunk_size=None` keeps the backend's default (10 MiB)."""
        self._count += 1
        data_dir = self.root / f"ns{self._count}"
        ns_kwargs = {k: kwargs.pop(k) for k in NAMESPACE_KWARGS if k in kwargs}
        kwargs.pop("data_dir", None)
        server = serve_namespace(NAMESPACE, str(data_dir), chunk_size=chunk_size, **ns_kwargs)
        if os.environ.get(UNVERIFIED_ENV):
            # Reads as from OpenIO's Go rawx: the client's own checks are what is tested.
            for rawx in server.rawx:
                rawx.verify_reads = False
        api = ObjectStorageApi(NAMESPACE, proxy=server.proxy_url, **kwargs)
        self._servers[id(api)] = server
        self._dirs[id(api)] = data_dir
        return api

    def server(self, api: ObjectStorageApi) -> NamespaceServer:
        return self._servers[id(api)]

    def connect_args(self, api: ObjectStorageApi) -> dict[str, Any]:
        """JSON-able keyword arguments of ObjectStorageApi that open `api`'s namespace again."""
        return {"namespace": api.namespace, "proxy": self.server(api).proxy_url}

    # --------------------------------------------------------------- faults
    def chunk_path(self, url: str) -> str:
        for server in self._servers.values():
            with contextlib.suppress(Exception):
                return server.file_path(url)
        raise KeyError(f"No served namespace holds chunk {url}")

    def chunk_file_count(self, api: ObjectStorageApi) -> int:
        """Chunk files stored by the namespace (referenced or orphan)."""
        server = self.server(api)
        for rawx in server.rawx:
            rawx.wait_idle()  # a cut upload's partial file is removed by its request thread
        count = 0
        for volume in server.ns.volumes:
            for _dirpath, _dirs, files in os.walk(volume):
                count += sum(1 for name in files if len(name) == 64)
        return count

    def destroy(self, api: ObjectStorageApi) -> None:
        """Free the disk space of a namespace (big-object scenarios)."""
        server = self._servers.pop(id(api), None)
        if server is not None:
            server.stop()
        data_dir = self._dirs.pop(id(api), None)
        if data_dir is not None:
            shutil.rmtree(data_dir, ignore_errors=True)

    def cleanup(self) -> None:
        """Stop the servers; the small namespaces stay for pytest's tmp_path retention."""
        for server in self._servers.values():
            server.stop()
        self._servers.clear()
