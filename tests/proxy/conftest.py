"""Fixtures of the proxy backend's tests: an embedded namespace served on 127.0.0.1.

`served` is one proxy (with the account service) and one rawx per volume, each on
an ephemeral port, started for the test and stopped after it; `connect` builds an
`ObjectStorageApi` that reaches it only over HTTP.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from proxy_helpers import NAMESPACE, VOLUMES, MiB

from oiocli.api import ObjectStorageApi
from oiocli.server.namespace_server import NamespaceServer, serve_namespace


@pytest.fixture
def served(tmp_path: Path) -> Iterator[NamespaceServer]:
    server = serve_namespace(NAMESPACE, str(tmp_path / "ns"), chunk_size=MiB, volumes=VOLUMES)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def connect(served: NamespaceServer) -> Callable[..., ObjectStorageApi]:
    def make(**kwargs: Any) -> ObjectStorageApi:
        return ObjectStorageApi(NAMESPACE, proxy=served.proxy_url, **kwargs)

    return make


@pytest.fixture
def api(connect: Callable[..., ObjectStorageApi]) -> ObjectStorageApi:
    return connect()
