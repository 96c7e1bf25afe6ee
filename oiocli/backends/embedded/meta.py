"""The embedded namespace: the work of OpenIO's account service, meta1 and meta2.

Layout of a namespace directory::

    namespace.json                 settings (chunk size, policies, volumes), written once
    namespace.db                   accounts, the container directory with stats, events
    containers/XY/<CID>.<tag>.db   one database per container (meta2: aliases, chunks)
    volumes/vol-N/                 chunk files (see chunks.py)

The backend is built in layers, one module each:

- namespace.py: settings, namespace.db (accounts, the container directory,
  events) and chunk placement;
- container_db.py: one container's database, its schema and rows, and the
  checks that keep a write off a deleted container's file;
- contents.py: the object operations inside the container databases (create,
  append, delete, truncate, locate, list...);
- maintenance.py: checks and repairs of the namespace's own files (the optional
  `Maintenance` protocol of backends/base.py).

Object metadata commits with synchronous=FULL (it must survive a crash once the
call returns); the namespace database uses NORMAL, because everything in it
(stats, events) can be recomputed from the containers by `namespace check`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from oiocli.backends.embedded.container_db import (
    DELETED_PROP,
    STATUS_DISABLED,
    STATUS_ENABLED,
    STATUS_FROZEN,
    STATUS_NAMES,
    ContainerDB,
    compute_cid,
    container_status,
    now_us,
)
from oiocli.backends.embedded.contents import ContainerContents


class EmbeddedNamespace(ContainerContents):
    """Metadata backend over SQLite + volume directories, with its maintenance."""

    # ------------------------------------------------------------ maintenance
    def volume_problem(self, volume: str) -> tuple[str, str] | None:
        """(state, detail) when the volume directory cannot be listed, else None."""
        from oiocli.backends.embedded.volumes import volume_problem

        return volume_problem(volume)

    def restore_volume(self, volume: str) -> None:
        from oiocli.backends.embedded.maintenance import NamespaceMaintenance

        NamespaceMaintenance.restore_volume(volume)

    def volume_objects(self, volume: str) -> list[tuple[str, str, str, int]]:
        from oiocli.backends.embedded.maintenance import NamespaceMaintenance

        return NamespaceMaintenance(self).volume_objects(volume)

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
        from oiocli.backends.embedded.maintenance import NamespaceMaintenance

        return NamespaceMaintenance(self).check_volume(
            volume,
            orphans=orphans,
            delete_orphans=delete_orphans,
            min_age=min_age,
            verify=verify,
            in_use=in_use,
        )

    def check_namespace(self, repair: bool = False) -> list[dict[str, Any]]:
        from oiocli.backends.embedded.maintenance import NamespaceMaintenance

        return NamespaceMaintenance(self).check_namespace(repair)


__all__ = [
    "DELETED_PROP",
    "STATUS_DISABLED",
    "STATUS_ENABLED",
    "STATUS_FROZEN",
    "STATUS_NAMES",
    "ContainerDB",
    "EmbeddedNamespace",
    "compute_cid",
    "container_status",
    "now_us",
]
