"""Public API: `from oiocli.api import ObjectStorageApi`.

Imported lazily so that `import oiocli.api` costs nothing on the CLI start-up path.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from oiocli.api.object_storage import ObjectStorageApi

__all__ = ["ObjectStorageApi"]


def __getattr__(name: str) -> Any:
    if name in ("ObjectStorageApi", "ObjectStorageAPI"):
        from oiocli.api.object_storage import ObjectStorageApi

        return ObjectStorageApi
    raise AttributeError(name)
