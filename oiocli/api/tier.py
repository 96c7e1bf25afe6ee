"""Cloud tier operations of a namespace: moving objects between tiers, and tier orphans.

`move_objects` is what a cron job runs: the objects of a container matching a
prefix and older than an age are re-encoded in place with a target policy (the
tier, or back), one at a time, each reported as an event. `tier_orphans` lists
(and removes) bucket objects that no chunk record names, under the prefixes of
the namespace's containers: a bucket may be shared, so nothing else is touched.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from oiocli.backends.base import CloudTier
from oiocli.core.exceptions import BadRequest, NoSuchObject, OioException

if TYPE_CHECKING:
    from oiocli.api.object_storage import ObjectStorageApi

LOG = logging.getLogger("oiocli")
PAGE = 1000


def move_objects(
    api: ObjectStorageApi,
    account: str,
    container: str,
    policy: str,
    prefix: str | None = None,
    older_than: float | None = None,
    dry_run: bool = False,
) -> Iterator[dict[str, Any]]:
    """Move each matching object to `policy`; yield one event per object considered.

    An event: `{"object", "version", "size", "from", "to", "result", "error"}`,
    result one of moved, would-move (dry run), skipped (already there, drained),
    failed. `older_than` is an age in seconds (last modification).
    """
    api.storage_method(policy)  # an unknown policy fails before anything moves
    cutoff = None if older_than is None else time.time() - older_than
    marker = None
    while True:
        page = api.object_list(account, container, limit=PAGE, marker=marker, prefix=prefix)
        objects = page["objects"]
        for obj in objects:
            event = {
                "object": obj["name"],
                "version": obj.get("version"),
                "size": obj.get("size"),
                "from": obj.get("policy"),
                "to": policy,
                "result": "",
                "error": "",
            }
            mtime = float(obj.get("mtime") or obj.get("ctime") or 0)
            if cutoff is not None and mtime > cutoff:
                continue  # too young: not even an event, as find -mtime
            if obj.get("policy") == policy or obj.get("chunk_method") == "drained":
                event["result"] = "skipped"
            elif dry_run:
                event["result"] = "would-move"
            else:
                try:
                    api.object_change_policy(
                        account, container, obj["name"], policy, version=obj.get("version")
                    )
                    event["result"] = "moved"
                except NoSuchObject:
                    event["result"] = "skipped"
                    event["error"] = "deleted meanwhile"
                except OioException as exc:
                    event["result"] = "failed"
                    event["error"] = str(exc)
            LOG.info(
                "tier move %s/%s/%s: %s",
                account,
                container,
                obj["name"],
                event["result"],
                extra={"event": event},
            )
            yield event
        if not page.get("truncated") or not objects:
            return
        marker = page.get("next_marker") or objects[-1]["name"]


def tier_orphans(
    api: ObjectStorageApi, delete: bool = False, min_age: float = 3600.0
) -> list[dict[str, Any]]:
    """Bucket objects under the namespace's container prefixes that no record names.

    Only objects older than `min_age` seconds count: an upload writes its chunks
    before it commits their records. With `delete`, each is deleted, and the
    references are read again first (under the namespace's chunk lock, which
    every commit of new chunks holds shared) so that nothing committed is taken.
    """
    backend = api.backend
    if not isinstance(backend, CloudTier):
        raise BadRequest("Tier orphans are found on an embedded namespace only")
    rows: list[dict[str, Any]] = []
    now = time.time()
    refs = backend.tier_references()
    for method in backend.tier_methods():
        for cid, (account, container, urls) in sorted(refs.items()):
            store: Any = backend.tier_chunks(method, account, container)
            known = {url.upper() for url in urls if url.startswith(method.chunk_prefix)}
            for url, key, size, mtime in store.list_chunks(method.chunk_prefix):
                if url.upper() in known or now - mtime < min_age:
                    continue
                rows.append(
                    {
                        "bucket": method.bucket_name,
                        "key": key,
                        "size": size,
                        "age": int(now - mtime),
                        "container": f"{account}/{container}",
                        "url": url,
                        "action": "found",
                        "_store": store,
                        "_cid": cid,
                    }
                )
    if delete and rows:
        with backend.tier_sweep_lock():
            again = backend.tier_references()
            for row in rows:
                still = again.get(row["_cid"], ("", "", set()))[2]
                if row["url"] in still:
                    row["action"] = "kept (recorded meanwhile)"
                    continue
                try:
                    row["_store"].delete(row["url"])
                    row["action"] = "deleted"
                except OioException as exc:
                    row["action"] = f"failed: {exc}"
    for row in rows:
        row.pop("_store")
        row.pop("_cid")
    return rows
