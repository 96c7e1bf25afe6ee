"""The conformance suite on the cloud tier: an embedded namespace whose default policy is a
backblaze/ method on a local SeaweedFS bucket (`make test-tier`, or OIO_TEST_TIER=1).

Every scenario that writes with the default policy then stores its chunks in the
bucket. Scenarios that damage chunk files, or that name their own policy, are not
applicable (reported as skips): the tier has no chunk files, and their policies
are the embedded backend's own, already run there.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from s3_fixture import ACCESS_KEY, S3Server, key_file

from oiocli.api import ObjectStorageApi
from oiocli.core.storage_method import DEFAULT_POLICIES

from .cluster_backend import CHUNK_FILES, NotApplicable

TIER_POLICY = "B2"
_server: S3Server | None = None


def enabled() -> bool:
    return os.environ.get("OIO_TEST_TIER", "") not in ("", "0")


def _s3() -> S3Server:
    """One S3 server per test process, started on first use (its data removed at exit)."""
    global _server
    if _server is None:
        root = Path(tempfile.mkdtemp(prefix="oio-tier-s3-"))
        atexit.register(shutil.rmtree, root, True)
        server = S3Server(root)
        server.start()
        atexit.register(server.stop)
        _server = server
    return _server


class TierBackend:
    """Namespaces on local disk whose objects go to a bucket, one bucket per namespace."""

    name = "tier"

    def __init__(self, root: Path) -> None:
        from .conftest import EmbeddedBackend

        self.root = root
        self._embedded = EmbeddedBackend(root)
        root.mkdir(parents=True, exist_ok=True)
        self.server = _s3()

    def new_api(self, chunk_size: int | None = 1024 * 1024, **kwargs: Any) -> ObjectStorageApi:
        bucket = self.server.bucket()
        keys = key_file(self.root / f"{bucket}.conf", bucket, self.server.endpoint)
        policies = dict(DEFAULT_POLICIES)
        policies[TIER_POLICY] = f"backblaze/account_id={ACCESS_KEY},bucket_name={bucket}"
        kwargs.setdefault("storage_policy", TIER_POLICY)
        return self._embedded.new_api(chunk_size, policies=policies, key_file=str(keys), **kwargs)

    def connect_args(self, api: ObjectStorageApi) -> dict[str, Any]:
        return {
            "namespace": api.namespace,
            "data_dir": api.data_dir,
            "key_file": api.default_kwargs.get("key_file"),
        }

    def _no_files(self, *_args: Any, **_kwargs: Any) -> Any:
        raise NotApplicable(CHUNK_FILES, "tier chunks are bucket objects")

    chunk_path = delete_chunk = corrupt_chunk = preserved_chunks = _no_files
    chunk_file_count = _no_files

    def destroy(self, api: ObjectStorageApi) -> None:
        self._embedded.destroy(api)

    def cleanup(self) -> None:
        pass


class TierProxyBackend:
    """The same through `namespace serve`: the proxy backend's client puts and gets the
    tier chunks in the bucket; serve records them (after checking them there) and
    deletes them with their objects, with the same key file."""

    name = "tier-proxy"

    def __init__(self, root: Path) -> None:
        from .proxy_backend import ProxyBackend

        self.root = root
        self._proxy = ProxyBackend(root)
        root.mkdir(parents=True, exist_ok=True)
        self.server = _s3()

    def new_api(self, chunk_size: int | None = 1024 * 1024, **kwargs: Any) -> ObjectStorageApi:
        bucket = self.server.bucket()
        keys = str(key_file(self.root / f"{bucket}.conf", bucket, self.server.endpoint))
        policies = dict(DEFAULT_POLICIES)
        policies[TIER_POLICY] = f"backblaze/account_id={ACCESS_KEY},bucket_name={bucket}"
        kwargs.setdefault("storage_policy", TIER_POLICY)
        api = self._proxy.new_api(chunk_size, policies=policies, key_file=keys, **kwargs)
        self._proxy.server(api).ns.tier_key_file = keys
        return api

    def connect_args(self, api: ObjectStorageApi) -> dict[str, Any]:
        return {**self._proxy.connect_args(api), "key_file": api.default_kwargs.get("key_file")}

    def _no_files(self, *_args: Any, **_kwargs: Any) -> Any:
        raise NotApplicable(CHUNK_FILES, "tier chunks are bucket objects")

    chunk_path = delete_chunk = corrupt_chunk = preserved_chunks = _no_files
    chunk_file_count = _no_files

    def destroy(self, api: ObjectStorageApi) -> None:
        self._proxy.destroy(api)

    def cleanup(self) -> None:
        self._proxy.cleanup()
