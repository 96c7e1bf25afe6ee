"""Work done in a fresh interpreter: `python -m benchmarks.child TASK JSON_ARGS`.

Each task prints one JSON line on stdout. A fresh process per scenario keeps scenarios from
sharing a heap, gives each its own peak RSS, and lets the erasure-coding limits run with
MALLOC_TOP_PAD_ set without flattering our own code.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from benchmarks.common import MIB, evict_tree, mbps, md5_file, settle

NAMESPACE = "BENCH"
ACCOUNT = "bench"


# -- limits ---------------------------------------------------------------------------------


def ec_limits(args: dict[str, Any]) -> dict[str, Any]:
    from pyeclib.ec_iface import ECDriver

    k, m, segment = args["k"], args["m"], args["segment"]
    driver = ECDriver(k=k, m=m, ec_type=args["algo"])
    seg = os.urandom(segment)
    frags = driver.encode(seg)
    if driver.decode(frags[:k]) != seg or driver.decode(frags[m:]) != seg:
        raise RuntimeError("pyeclib decode returned other bytes")
    count = max(1, args["mib"] * MIB // segment)
    calls = {
        "encode": lambda: driver.encode(seg),
        "decode": lambda: driver.decode(frags[:k]),  # all data fragments present
        "decode3": lambda: driver.decode(frags[m:]),  # the first m data fragments missing
    }
    out: dict[str, Any] = {}
    for op in args.get("ops", list(calls)):
        call = calls[op]
        for _ in range(min(count, 8)):  # warm-up
            call()
        samples = []
        for _ in range(args["reps"]):
            t0 = time.perf_counter()
            for _ in range(count):
                call()
            samples.append(mbps(count * segment, time.perf_counter() - t0))
        out[op] = samples
    return out


# -- our scenarios, through the public API --------------------------------------------------


def _api(args: dict[str, Any]):
    from oiocli.api import ObjectStorageApi

    if args.get("proxy"):  # the proxy backend (`oio namespace serve` in another process)
        return ObjectStorageApi(NAMESPACE, proxy=args["proxy"])
    return ObjectStorageApi(NAMESPACE, data_dir=args["data_dir"])


def _maxrss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def api_probe(args: dict[str, Any]) -> dict[str, Any]:
    """Can the library be imported and a namespace opened? Also returns the namespace."""
    t0 = time.perf_counter()
    api = _api(args)
    info = api.namespace_show() if hasattr(api, "namespace_show") else {}
    return {"open_s": time.perf_counter() - t0, "namespace": info}


def _chunk_path(url: str) -> str | None:
    try:
        from oiocli.backends.embedded.chunks import chunk_path
    except ImportError:
        return None
    try:
        return chunk_path(url)
    except Exception:  # noqa: BLE001 - not an embedded chunk URL
        return None


def _fetch_to(api, container: str, obj: str, dst: str) -> tuple[float, int]:
    t0 = time.perf_counter()
    _, stream = api.object_fetch(ACCOUNT, container, obj)
    n = 0
    with open(dst, "wb") as f:
        for piece in stream:
            f.write(piece)
            n += len(piece)
    return time.perf_counter() - t0, n


def api_transfer(args: dict[str, Any]) -> dict[str, Any]:
    """Upload the source file with one policy, download it cold, and again degraded for EC."""
    api = _api(args)
    policy, src, dst, size = args["policy"], args["src"], args["dst"], args["size"]
    container = f"xfer-{policy}"
    obj = "big"
    api.account_create(ACCOUNT)
    api.container_create(ACCOUNT, container)
    out: dict[str, Any] = {"rss_before_mib": _maxrss_mib()}

    t0 = time.perf_counter()
    _, size_written, hash_ = api.object_create(
        ACCOUNT, container, file_or_path=src, obj_name=obj, policy=policy
    )
    out["upload_s"] = time.perf_counter() - t0
    out["upload_mbps"] = mbps(size, out["upload_s"])
    out["rss_upload_mib"] = _maxrss_mib()
    out["upload_hash_ok"] = (str(hash_).upper() == args["md5"]) and size_written == size
    try:
        meta = api.object_get_properties(ACCOUNT, container, obj)
        out["chunk_method"] = meta.get("chunk_method")
    except Exception as exc:  # noqa: BLE001
        out["chunk_method"] = None
        out["show_error"] = str(exc)

    try:
        evict_tree(args["data_dir"])
        settle(args["settle"])
        out["download_s"], n = _fetch_to(api, container, obj, dst)
        out["download_mbps"] = mbps(n, out["download_s"])
        out["download_ok"] = n == size and md5_file(dst) == args["md5"]
        os.unlink(dst)

        method = out.get("chunk_method") or ""
        if args.get("degrade") and method.startswith("ec/"):
            out.update(_degraded_download(api, container, obj, dst, method, args))
    finally:
        api.object_delete(ACCOUNT, container, obj)
    return out


def _degraded_download(api, container, obj, dst, method, args) -> dict[str, Any]:
    """Hide the first m data fragments of every metachunk, then download (decode with m lost)."""
    params = dict(p.split("=", 1) for p in method.split("/", 1)[1].split(","))
    m = int(params["m"])
    _, chunks = api.object_locate(ACCOUNT, container, obj)
    hidden: list[tuple[str, str]] = []
    try:
        for chunk in chunks:
            pos = str(chunk["pos"])
            if "." not in pos or int(pos.split(".")[1]) >= m:
                continue
            path = _chunk_path(chunk.get("real_url") or chunk["url"])
            if path is None or not os.path.exists(path):
                return {"degraded_error": f"cannot map chunk url {chunk['url']} to a file"}
            os.rename(path, path + ".bench-hidden")
            hidden.append((path + ".bench-hidden", path))
        out: dict[str, Any] = {"degraded_hidden": len(hidden), "degraded_m": m}
        evict_tree(args["data_dir"])
        settle(args["settle"])
        try:
            out["degraded_s"], n = _fetch_to(api, container, obj, dst)
            out["degraded_mbps"] = mbps(n, out["degraded_s"])
            out["degraded_ok"] = n == args["size"] and md5_file(dst) == args["md5"]
        except Exception as exc:  # noqa: BLE001
            out["degraded_error"] = f"{type(exc).__name__}: {exc}"
        if os.path.exists(dst):
            os.unlink(dst)
        return out
    finally:
        for hidden_path, path in hidden:
            os.rename(hidden_path, path)


def prepare_small(args: dict[str, Any]) -> dict[str, Any]:
    """A small container for the CLI start-up measurement."""
    api = _api(args)
    api.account_create(ACCOUNT)
    api.container_create(ACCOUNT, args["container"])
    for i in range(args["count"]):
        api.object_create(ACCOUNT, args["container"], data=b"x" * 100, obj_name=f"obj-{i:03d}")
    return {"objects": args["count"]}


def small_objects(args: dict[str, Any]) -> dict[str, Any]:
    """`count` objects of 4 KiB with one policy, on one thread or through a thread pool."""
    if args.get("one_core") and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    api = _api(args)
    threads, count = args["threads"], args["count"]
    container = f"small-{threads}t-{time.time_ns()}"
    api.account_create(ACCOUNT)
    api.container_create(ACCOUNT, container)
    data = os.urandom(4096)
    names = [f"obj-{i:06d}" for i in range(count)]

    def create(name: str) -> None:
        api.object_create(ACCOUNT, container, data=data, obj_name=name, policy=args["policy"])

    settle(args["settle"])
    t0 = time.perf_counter()
    if threads <= 1:
        for name in names:
            create(name)
    else:
        with ThreadPoolExecutor(threads) as pool:
            for _ in pool.map(create, names):
                pass
    seconds = time.perf_counter() - t0
    listed = _count_objects(api, container)
    return {"seconds": seconds, "rate": count / seconds, "listed": listed, "container": container}


def _count_objects(api, container: str, page: int = 1000) -> int:
    n, marker = 0, None
    while True:
        res = api.object_list(ACCOUNT, container, limit=page, marker=marker)
        n += len(res["objects"])
        if not res.get("truncated"):
            return n
        marker = res.get("next_marker") or res["objects"][-1]["name"]


def listing(args: dict[str, Any]) -> dict[str, Any]:
    """Fill (or reuse) a container of `count` empty objects, then time its listing."""
    api = _api(args)
    count, page = args["count"], args["page"]
    container = f"list-{count}"
    api.account_create(ACCOUNT)
    api.container_create(ACCOUNT, container)
    have = int(api.container_get_properties(ACCOUNT, container)["system"].get("sys.m2.objects", 0))
    out: dict[str, Any] = {"container": container, "reused": have}
    if have < count:
        # Rows in bulk (one fsync per 20,000): the listing does not depend on how
        # objects were made, and a million fsync'd creates take half an hour.
        from benchmarks.bulk import insert_empty_objects

        t0 = time.perf_counter()
        added = insert_empty_objects(
            api.backend, ACCOUNT, container, (f"obj-{i:09d}" for i in range(have, count))
        )
        out["fill_s"] = time.perf_counter() - t0
        out["fill_rate"] = added / out["fill_s"]

    first = []
    for _ in range(args["runs"]):
        t0 = time.perf_counter()
        res = api.object_list(ACCOUNT, container, limit=page)
        first.append(time.perf_counter() - t0)
    out["first_page_s"] = first
    out["first_page_len"] = len(res["objects"])

    # A fresh API object: the first request pays for opening the container's database.
    api2 = _api(args)
    t0 = time.perf_counter()
    api2.object_list(ACCOUNT, container, limit=page)
    out["first_page_fresh_api_s"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    out["whole_count"] = _count_objects(api, container, page)
    out["whole_s"] = time.perf_counter() - t0
    out["whole_rate"] = out["whole_count"] / out["whole_s"]
    return out


TASKS = {
    f.__name__: f
    for f in (ec_limits, api_probe, api_transfer, prepare_small, small_objects, listing)
}


def main(argv: list[str]) -> int:
    task, raw = argv[1], argv[2] if len(argv) > 2 else "{}"
    try:
        answer = TASKS[task](json.loads(raw))
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which records it
        traceback.print_exc()
        answer = {"error": f"{type(exc).__name__}: {exc}"}
    sys.stdout.write(json.dumps(answer) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
