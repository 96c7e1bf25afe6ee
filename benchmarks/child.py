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

from benchmarks.common import MIB, mbps, settle

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

    namespace = args.get("namespace") or NAMESPACE
    if args.get("proxy"):  # the proxy backend (`oio namespace serve`, or a real namespace)
        return ObjectStorageApi(namespace, proxy=args["proxy"])
    return ObjectStorageApi(namespace, data_dir=args["data_dir"])


def _account(args: dict[str, Any]) -> str:
    return args.get("account") or ACCOUNT


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


def _chunk_files(chunks: list[dict[str, Any]], roots: list[str]) -> list[str]:
    """The files holding `chunks`: embedded URLs name them; rawx URLs end with the chunk id,
    which is the file's name under one of `roots` (the rawx volumes)."""
    paths: list[str] = []
    wanted: dict[str, str] = {}
    for chunk in chunks:
        url = chunk.get("real_url") or chunk["url"]
        path = _chunk_path(url)
        if path is not None:
            paths.append(path)
        else:
            wanted[url.rstrip("/").rpartition("/")[2].upper()] = url
    for root in roots if wanted else []:
        for dirpath, _, files in os.walk(root):
            for name in files:
                if name.upper() in wanted:
                    paths.append(os.path.join(dirpath, name))
                    del wanted[name.upper()]
    if wanted:
        raise RuntimeError(f"no file found for {len(wanted)} chunks, e.g. {next(iter(wanted))}")
    return paths


def api_upload(args: dict[str, Any]) -> dict[str, Any]:
    """Upload the source file as one object (the container is created when missing)."""
    api = _api(args)
    account, container, obj = _account(args), args["container"], args["obj"]
    api.account_create(account)
    api.container_create(account, container)
    out: dict[str, Any] = {"rss_before_mib": _maxrss_mib()}
    t0 = time.perf_counter()
    _, size_written, hash_ = api.object_create(
        account, container, file_or_path=args["src"], obj_name=obj, policy=args["policy"]
    )
    out["upload_s"] = time.perf_counter() - t0
    out["rss_upload_mib"] = _maxrss_mib()
    out["upload_hash_ok"] = (str(hash_).upper() == args["md5"]) and size_written == args["size"]
    meta = api.object_get_properties(account, container, obj)
    out["chunk_method"] = meta.get("chunk_method")
    return out


def evict_object(args: dict[str, Any]) -> dict[str, Any]:
    """Drop the page cache of exactly the chunk files of one object, let the machine settle,
    and report how many of their pages are resident (mincore) just before the download.

    With `hide` m, the first m data fragments of every metachunk are renamed away first
    (a degraded read); `restore` puts them back."""
    from benchmarks import cache

    api = _api(args)
    _, chunks = api.object_locate(_account(args), args["container"], args["obj"])
    hidden: list[list[str]] = []
    m = args.get("hide")
    if m:
        for chunk in chunks:
            pos = str(chunk["pos"])
            if "." in pos and int(pos.split(".")[1]) < m:
                [path] = _chunk_files([chunk], args.get("roots") or [])
                os.rename(path, path + ".bench-hidden")
                hidden.append([path + ".bench-hidden", path])
        chunks = [c for c in chunks if "." not in str(c["pos"]) or int(c["pos"].split(".")[1]) >= m]
    paths = _chunk_files(chunks, args.get("roots") or [])
    cache.evict(paths)
    settle(args["settle"])
    state = cache.check(paths)
    return {"cache": state.as_dict(), "text": str(state), "hidden": hidden}


def restore_hidden(args: dict[str, Any]) -> dict[str, Any]:
    for hidden_path, path in args["hidden"]:
        os.rename(hidden_path, path)
    return {"restored": len(args["hidden"])}


def api_download(args: dict[str, Any]) -> dict[str, Any]:
    """Download one object to a file exactly as `oio object fetch --file` does."""
    from oiocli.transfer import fetch_to_file

    api = _api(args)
    account, container, obj = _account(args), args["container"], args["obj"]
    t0 = time.perf_counter()
    meta = api.object_get_properties(account, container, obj)
    fetch_to_file(api, account, container, obj, args["dst"], meta=meta)
    seconds = time.perf_counter() - t0
    return {"download_s": seconds, "size": os.path.getsize(args["dst"])}


def api_warmup(args: dict[str, Any]) -> dict[str, Any]:
    """An unmeasured small round trip with one policy: the server's threads, connections and
    code paths, and the container's database, are warm before the first measured rep."""
    from oiocli.transfer import fetch_to_file

    api = _api(args)
    account, container, obj = _account(args), args["container"], "warm-up"
    api.account_create(account)
    api.container_create(account, container)
    t0 = time.perf_counter()
    api.object_create(
        account, container, data=os.urandom(2 * MIB), obj_name=obj, policy=args["policy"]
    )
    fetch_to_file(api, account, container, obj, args["dst"])
    os.unlink(args["dst"])
    api.object_delete(account, container, obj)
    return {"seconds": time.perf_counter() - t0}


def api_delete(args: dict[str, Any]) -> dict[str, Any]:
    api = _api(args)
    api.object_delete(_account(args), args["container"], args["obj"])
    return {}


def prepare_small(args: dict[str, Any]) -> dict[str, Any]:
    """A small container for the CLI start-up measurement."""
    api = _api(args)
    account = _account(args)
    api.account_create(account)
    api.container_create(account, args["container"])
    for i in range(args["count"]):
        api.object_create(account, args["container"], data=b"x" * 100, obj_name=f"obj-{i:03d}")
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

    out["whole_s"] = []
    for _ in range(args.get("whole_runs", 1)):
        t0 = time.perf_counter()
        out["whole_count"] = _count_objects(api, container, page)
        out["whole_s"].append(time.perf_counter() - t0)
    return out


TASKS = {
    f.__name__: f
    for f in (
        ec_limits,
        api_probe,
        api_upload,
        evict_object,
        restore_hidden,
        api_download,
        api_warmup,
        api_delete,
        prepare_small,
        small_objects,
        listing,
    )
}


def serve(_: dict[str, Any]) -> dict[str, Any]:
    """Answer tasks read from stdin, one JSON line `{"task": ..., "args": ...}` each: the
    bookkeeping between measured steps (locate, evict, delete) without an interpreter start
    per step. Measured steps never go through here: each gets a fresh process."""
    for line in sys.stdin:
        req = json.loads(line)
        try:
            answer = TASKS[req["task"]](req["args"])
        except Exception as exc:  # noqa: BLE001 - reported to the parent, which raises it
            traceback.print_exc()
            answer = {"error": f"{type(exc).__name__}: {exc}"}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()
    return {}


def main(argv: list[str]) -> int:
    task, raw = argv[1], argv[2] if len(argv) > 2 else "{}"
    if task == "serve":
        serve({})
        return 0
    try:
        answer = TASKS[task](json.loads(raw))
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which records it
        traceback.print_exc()
        answer = {"error": f"{type(exc).__name__}: {exc}"}
    sys.stdout.write(json.dumps(answer) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
