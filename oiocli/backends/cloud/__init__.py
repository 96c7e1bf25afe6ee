"""The cloud tier: chunks in an S3 bucket (Backblaze B2, AWS S3, MinIO, SeaweedFS...).

Nothing heavy is imported here: botocore and the S3 client are loaded only when
a tier chunk is touched (`tier_store`).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from oiocli.backends.cloud.keyfile import TierConfigError, TierTarget, key_file_path, load_target
from oiocli.core.storage_method import StorageMethod

if TYPE_CHECKING:
    from oiocli.backends.cloud.s3 import S3Client
    from oiocli.backends.cloud.store import CloudChunkStore

_clients: dict[TierTarget, S3Client] = {}
_lock = threading.Lock()


def client_for(target: TierTarget) -> S3Client:
    """One client (connection pool, learnt clock skew) per bucket and credentials."""
    from oiocli.backends.cloud.s3 import S3Client

    with _lock:
        client = _clients.get(target)
        if client is None:
            client = _clients[target] = S3Client(target)
        return client


def tier_store(
    method: StorageMethod,
    container_id: str,
    key_file: str | None = None,
    configured_key_file: str | None = None,
) -> CloudChunkStore:
    """The chunk store of a tier method for one container's chunks.

    The key file is read now: a missing file, key or endpoint fails here, before
    any byte is sent (TierConfigError, exit 1).
    """
    target = load_target(method, key_file_path(key_file, configured_key_file))
    try:
        from oiocli.backends.cloud.store import CloudChunkStore
    except ImportError as exc:
        raise TierConfigError(
            f"The cloud tier needs botocore ({exc}): pip install 'oiocli[tier]'"
        ) from None

    return CloudChunkStore(client_for(target), container_id)
