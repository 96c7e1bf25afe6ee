"""Our scenarios: oiocli through its public API and through the `oio` CLI.

Each scenario is a function `(Context) -> list[Row]` registered in SCENARIOS. API work runs in a
fresh child (`benchmarks.child`) per scenario; the CLI runs as the real `oio` in a subprocess.
A scenario that cannot run yet (library or CLI missing) returns rows that say why.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.cluster import cluster
from benchmarks.common import (
    MIB,
    ChildResult,
    Config,
    Limit,
    Row,
    Target,
    child_env,
    evict_tree,
    mbps,
    md5_file,
    median,
    run_child,
    run_worker,
    settle,
    write_random_file,
)
from benchmarks.limits import CLIFF_IMPORT
from benchmarks.tier import tier

NAMESPACE = "BENCH"
ACCOUNT = "bench"
STARTUP_CONTAINER = "startup"
STARTUP_OBJECTS = 10


@dataclass
class Context:
    cfg: Config
    limits: dict[str, Limit]
    data_dir: Path
    log: Callable[[str], None]
    api_error: str | None = None
    cli_error: str | None = None
    oio: str | None = None
    oio_startup: float | None = None
    namespace: dict[str, Any] = field(default_factory=dict)
    source: Path | None = None
    source_md5: str | None = None
    api_transfers: dict[str, dict[str, Any]] = field(default_factory=dict)

    def limit(self, name: str) -> float | None:
        lim = self.limits.get(name)
        return lim.value if lim else None


def _min_limit(ctx: Context, parts: list[tuple[str, str, float]]) -> tuple[str, float | None]:
    """The slowest of several limits, each divided by a factor; label names them all."""
    label_parts, values = [], []
    for label, name, divisor in parts:
        label_parts.append(label if divisor == 1 else f"{label}/{divisor:g}")
        value = ctx.limit(name)
        values.append(None if value is None else value / divisor)
    label = "min(" + ", ".join(label_parts) + ")" if len(parts) > 1 else label_parts[0]
    return label, (None if any(v is None for v in values) else min(values))


def _parse_method(method: str | None) -> dict[str, str]:
    """`ec/algo=isa_l_rs_vand,k=6,m=3` -> {"kind": "ec", "algo": ..., "k": "6", "m": "3"}."""
    if not method or "/" not in method:
        return {}
    kind, _, body = method.partition("/")
    out = dict(p.split("=", 1) for p in body.split(",") if "=" in p)
    out["kind"] = kind
    return out


def _amplification(method: dict[str, str]) -> float | None:
    if method.get("kind") == "plain":
        return float(method.get("nb_copy", 1))
    if method.get("kind") == "ec":
        k, m = int(method["k"]), int(method["m"])
        return (k + m) / k
    return None


# -- availability ---------------------------------------------------------------------------


def probe(ctx: Context) -> None:
    """Find out whether the library and the CLI exist yet."""
    try:
        ans, _ = run_worker("api_probe", {"data_dir": str(ctx.data_dir)}, timeout=120)
        ctx.namespace = ans.get("namespace") or {}
    except Exception as exc:  # noqa: BLE001
        ctx.log(f"ours: the API is not usable: {exc}")
        ctx.api_error = "oiocli.api.ObjectStorageApi not usable yet (see the log above)"
    candidate = Path(sys.executable).parent / "oio"
    ctx.oio = str(candidate) if candidate.exists() else shutil.which("oio")
    if ctx.oio is None:
        ctx.cli_error = "`oio` not installed (pip install -e .)"
        return
    res = run_child([ctx.oio, "--version"], env=cli_env(ctx), timeout=60)
    if res.returncode != 0:
        ctx.log(f"ours: `oio --version` fails: {res.error_line()}")
        ctx.cli_error = "`oio` not usable yet (see the log above)"


def cli_env(ctx: Context) -> dict[str, str]:
    return child_env(
        extra={"OIO_NS": NAMESPACE, "OIO_ACCOUNT": ACCOUNT, "OIO_DATA_DIR": str(ctx.data_dir)}
    )


def _oio(ctx: Context, *args: str) -> ChildResult:
    return run_child([ctx.oio, *args], env=cli_env(ctx), timeout=ctx.cfg.timeout)


def _skip(scenario: str, names: list[tuple[str, str]], why: str) -> list[Row]:
    return [Row(scenario, name, None, unit, error=f"skipped: {why}") for name, unit in names]


def _error_rows(scenario: str, names: list[tuple[str, str]], exc: Exception) -> list[Row]:
    return [Row(scenario, name, None, unit, error=str(exc)) for name, unit in names]


# -- scenarios ------------------------------------------------------------------------------


def startup(ctx: Context) -> list[Row]:
    """`oio object list` on a small container, median of N runs, against the cliff floor."""
    name = f"oio object list ({STARTUP_OBJECTS} objects)"
    why = ctx.api_error or ctx.cli_error
    if why:
        return _skip("startup", [(name, "s")], why)
    try:
        run_worker(
            "prepare_small",
            {
                "data_dir": str(ctx.data_dir),
                "container": STARTUP_CONTAINER,
                "count": STARTUP_OBJECTS,
            },
            timeout=ctx.cfg.timeout,
        )
        cmd = ["object", "list", STARTUP_CONTAINER, "-f", "value", "-c", "Name"]
        first = _oio(ctx, *cmd)  # warm-up: bytecode caches, namespace files in the page cache
        lines = first.stdout.strip().splitlines()
        if first.returncode != 0 or len(lines) != STARTUP_OBJECTS:
            raise RuntimeError(f"oio object list: {first.error_line()} ({len(lines)} lines)")
    except Exception as exc:  # noqa: BLE001
        return _error_rows("startup", [(name, "s")], exc)
    # The floor is measured again, alternately with ours: on a machine shared with other
    # work, two medians taken minutes apart (the limits table's and this one) differ by
    # more than the ratio is meant to tell.
    floor_cmd = [sys.executable, "-c", CLIFF_IMPORT]
    samples, floor = [], []
    for _ in range(ctx.cfg.startup_runs):
        floor.append(run_child(floor_cmd).wall)
        samples.append(_oio(ctx, *cmd).wall)
    ctx.oio_startup = median(samples)
    table_floor = ctx.limit("cliff_floor")
    return [
        Row(
            "startup",
            name,
            ctx.oio_startup,
            "s",
            "cliff import floor, alternated",
            median(floor),
            Target("ratio", "<=", 1.2),
            note=(
                f"median of {len(samples)}, {min(samples):.3f}-{max(samples):.3f} s; floor "
                f"{min(floor):.3f}-{max(floor):.3f} s"
                + (f" (limits table: {table_floor:.3f} s)" if table_floor else "")
            ),
        )
    ]


def small(ctx: Context) -> list[Row]:
    """2,000 objects of 4 KiB (SINGLE) through the API on one thread, then a thread pool.

    Both runs are pinned to one core. Every create is durable when it returns, so
    one thread waits for three flushes per object (chunk, its directory, the
    container database) and is bound by the disk's flush latency; a thread pool
    shares flushes (group commit), which is where the 1,000/s target applies.
    """
    cfg = ctx.cfg
    variants = [(1, None), (cfg.threads, Target("value", ">=", 1000))]
    names = [
        (f"create 4 KiB x {cfg.small_objects}, {t} thread(s), 1 core", "obj/s") for t, _ in variants
    ]
    if ctx.api_error:
        return _skip("small", names, ctx.api_error)
    rows = []
    for (threads, target), (name, unit) in zip(variants, names, strict=True):
        args = {
            "data_dir": str(ctx.data_dir),
            "count": cfg.small_objects,
            "threads": threads,
            "policy": "SINGLE",
            "settle": cfg.settle,
            "one_core": True,
        }
        try:
            ans, _ = run_worker("small_objects", args, timeout=cfg.timeout)
        except Exception as exc:  # noqa: BLE001
            rows.append(Row("small", name, None, unit, error=str(exc)))
            continue
        note = f"{ans['seconds']:.2f} s"
        if ans["listed"] != cfg.small_objects:
            note += f"; listed {ans['listed']} of {cfg.small_objects}!"
        rows.append(
            Row(
                "small",
                name,
                ans["rate"],
                unit,
                "durable 4 KiB files/s, 1 thread",
                ctx.limit("small_files_fsync"),
                target,
                note=note,
            )
        )
    return rows


def _transfer_names(policy: str, cli: bool) -> list[tuple[str, str]]:
    names = [
        (f"upload API {policy}", "MB/s"),
        (f"download API {policy}", "MB/s"),
        (f"peak RSS upload API {policy}", "MiB"),
    ]
    if cli:
        names += [
            (f"upload CLI {policy}: time over API", "s"),
            (f"download CLI {policy}: time over API", "s"),
            (f"peak RSS upload CLI {policy}", "MiB"),
        ]
    return names


def transfer(ctx: Context) -> list[Row]:
    """Upload and download of one big object per policy, through the API and the CLI."""
    cfg = ctx.cfg
    if ctx.api_error:
        rows = []
        for policy in cfg.policies:
            rows += _skip("transfer", _transfer_names(policy, cfg.cli), ctx.api_error)
        return rows
    if ctx.source is None:
        ctx.log(f"  writing a {cfg.size_mib} MiB random source file")
        ctx.source = cfg.work_dir / "source.bin"
        ctx.source_md5 = write_random_file(ctx.source, cfg.size)
    rows: list[Row] = []
    for policy in cfg.policies:
        ctx.log(f"  {policy}: API")
        try:
            rows += _transfer_api(ctx, policy)
        except Exception as exc:  # noqa: BLE001
            rows += _error_rows("transfer", _transfer_names(policy, False), exc)
            continue
        if cfg.cli:
            ctx.log(f"  {policy}: CLI")
            cli_names = _transfer_names(policy, True)[3:]
            if ctx.cli_error:
                rows += _skip("transfer", cli_names, ctx.cli_error)
                continue
            try:
                rows += _transfer_cli(ctx, policy)
            except Exception as exc:  # noqa: BLE001
                rows += _error_rows("transfer", cli_names, exc)
    return rows


def _transfer_api(ctx: Context, policy: str) -> list[Row]:
    cfg = ctx.cfg
    args = {
        "data_dir": str(ctx.data_dir),
        "policy": policy,
        "src": str(ctx.source),
        "dst": str(cfg.work_dir / "download.bin"),
        "size": cfg.size,
        "md5": ctx.source_md5,
        "settle": cfg.settle,
        "degrade": True,
    }
    ans, _ = run_worker("api_transfer", args, timeout=cfg.timeout)
    ctx.api_transfers[policy] = ans
    method = _parse_method(ans.get("chunk_method"))
    amp = _amplification(method)
    algo = method.get("algo")
    up_parts = [("md5", "md5", 1)]
    down_parts = [("cold read", "disk_read_cold", 1), ("md5", "md5", 1)]
    if amp is not None:
        up_parts.insert(0, ("write", "disk_write_fsync", amp))
    if algo:
        up_parts.append((f"encode {algo}", f"ec_encode:{algo}", 1))
        down_parts.append((f"decode {algo}", f"ec_decode:{algo}", 1))
    copies = int(method.get("nb_copy", 1)) if method.get("kind") == "plain" else 1
    up_target = Target("ratio", ">=", 0.7 if copies > 1 else 0.75)
    method_note = ans.get("chunk_method") or "chunk method unknown"
    up_note = f"{ans['upload_s']:.2f} s; {method_note}"
    if not ans.get("upload_hash_ok"):
        up_note += "; returned size/hash differ from the source!"
    rows = [
        Row(
            "transfer",
            f"upload API {policy}",
            ans["upload_mbps"],
            "MB/s",
            *_min_limit(ctx, up_parts),
            up_target,
            note=up_note,
        )
    ]
    down_note = f"{ans['download_s']:.2f} s, cold, verified"
    if not ans.get("download_ok"):
        down_note = f"{ans['download_s']:.2f} s; DOWNLOADED BYTES DIFFER!"
    rows.append(
        Row(
            "transfer",
            f"download API {policy}",
            ans["download_mbps"],
            "MB/s",
            *_min_limit(ctx, down_parts),
            Target("ratio", ">=", 0.75),
            note=down_note,
        )
    )
    if algo:
        name = f"download API {policy}, {method.get('m', '?')} fragments lost"
        parts = down_parts[:2] + [(f"decode-{method.get('m')} {algo}", f"ec_decode3:{algo}", 1)]
        if "degraded_mbps" in ans:
            note = f"{ans['degraded_hidden']} fragments hidden"
            if not ans.get("degraded_ok"):
                note += "; DOWNLOADED BYTES DIFFER!"
            rows.append(
                Row(
                    "transfer",
                    name,
                    ans["degraded_mbps"],
                    "MB/s",
                    *_min_limit(ctx, parts),
                    Target("ratio", ">=", 0.5),
                    note=note,
                )
            )
        else:
            rows.append(
                Row("transfer", name, None, "MB/s", error=ans.get("degraded_error", "not run"))
            )
    rows.append(
        Row(
            "transfer",
            f"peak RSS upload API {policy}",
            ans["rss_upload_mib"],
            "MiB",
            target=Target("value", "<", 150),
            note=f"{ans['rss_before_mib']:.0f} MiB before the upload",
        )
    )
    return rows


def _transfer_cli(ctx: Context, policy: str) -> list[Row]:
    cfg = ctx.cfg
    api = ctx.api_transfers[policy]
    container = f"cli-{policy}"
    dst = cfg.work_dir / "download-cli.bin"
    res = _oio(ctx, "container", "create", container)
    if res.returncode:
        raise RuntimeError(f"oio container create: {res.error_line()}")
    up = _oio(
        ctx, "object", "create", container, str(ctx.source), "--name", "big", "--policy", policy
    )
    if up.returncode:
        raise RuntimeError(f"oio object create: {up.error_line()}")
    try:
        evict_tree(ctx.data_dir)
        settle(cfg.settle)
        down = _oio(ctx, "object", "fetch", container, "big", "--file", str(dst))
        if down.returncode:
            raise RuntimeError(f"oio object fetch: {down.error_line()}")
        ok = dst.stat().st_size == cfg.size and md5_file(dst) == ctx.source_md5
    finally:
        _oio(ctx, "object", "delete", container, "big")
        if dst.exists():
            dst.unlink()
    label, startup_s = "oio object list start-up", ctx.oio_startup
    target = Target("ratio", "<=", 1.0)
    up_note = f"{mbps(cfg.size, up.wall):.0f} MB/s, {up.wall:.2f} s vs API {api['upload_s']:.2f} s"
    down_note = (
        f"{mbps(cfg.size, down.wall):.0f} MB/s, {down.wall:.2f} s vs API {api['download_s']:.2f} s"
    )
    if not ok:
        down_note += "; DOWNLOADED BYTES DIFFER!"
    return [
        Row(
            "transfer",
            f"upload CLI {policy}: time over API",
            up.wall - api["upload_s"],
            "s",
            label,
            startup_s,
            target,
            note=up_note,
        ),
        Row(
            "transfer",
            f"download CLI {policy}: time over API",
            down.wall - api["download_s"],
            "s",
            label,
            startup_s,
            target,
            note=down_note,
        ),
        Row(
            "transfer",
            f"peak RSS upload CLI {policy}",
            up.maxrss_kib / 1024,
            "MiB",
            target=Target("value", "<", 150),
            note="oio process, from wait4",
        ),
    ]


def listing(ctx: Context) -> list[Row]:
    """First page and whole listing of a big container (the target is for 1,000,000 objects)."""
    cfg = ctx.cfg
    n = cfg.list_objects
    names = [
        (f"list first page of {cfg.list_page} ({n:,} objects)", "ms"),
        (f"list whole container ({n:,} objects)", "obj/s"),
    ]
    if ctx.api_error:
        return _skip("listing", names, ctx.api_error)
    args = {
        "data_dir": str(ctx.data_dir),
        "count": n,
        "page": cfg.list_page,
        "threads": cfg.threads,
        "runs": 7,
    }
    try:
        ans, _ = run_worker("listing", args, timeout=max(cfg.timeout, n / 100))
    except Exception as exc:  # noqa: BLE001
        return _error_rows("listing", names, exc)
    note = "" if n >= 1_000_000 else "the target is for 1,000,000 objects"
    rows = [
        Row(
            "listing",
            names[0][0],
            median(ans["first_page_s"]) * 1000,
            "ms",
            target=Target("value", "<", 50),
            note=f"median of {len(ans['first_page_s'])}; fresh API object: "
            f"{ans['first_page_fresh_api_s'] * 1000:.1f} ms; {note}",
        ),
        Row(
            "listing",
            names[1][0],
            ans["whole_rate"],
            "obj/s",
            target=Target("value", ">=", 100_000),
            note=f"{ans['whole_count']:,} listed in {ans['whole_s']:.2f} s, pages of "
            f"{cfg.list_page}",
        ),
    ]
    if "fill_rate" in ans:
        rows.append(
            Row(
                "listing",
                f"fill list container, empty objects, {cfg.threads} threads",
                ans["fill_rate"],
                "obj/s",
                note=f"{n - ans['reused']:,} created in {ans['fill_s']:.1f} s "
                "(setup, not a target)",
            )
        )
    return rows


TREE_FILE_KIB = 64
TREE_LARGE_FILES = 4
TREE_LARGE_MIB = 256


def _tree_variants(ctx: Context) -> list[tuple[str, str, int, int, str]]:
    """(kind, unit, files, bytes per file, limit name) of the two tree uploads."""
    cfg = ctx.cfg
    large = min(TREE_LARGE_MIB, cfg.size_mib) * MIB
    return [
        ("small", "files/s", cfg.small_objects, TREE_FILE_KIB * 1024, "small_files_fsync"),
        ("large", "MB/s", TREE_LARGE_FILES, large, "disk_write_fsync"),
    ]


def _tree_name(files: int, size: int, concurrency: int | None) -> str:
    size_label = f"{size // 1024} KiB" if size < MIB else f"{size // MIB} MiB"
    conc = "default concurrency" if concurrency is None else f"concurrency {concurrency}"
    return f"tree upload {files:,} x {size_label} (SINGLE), {conc}"


def tree(ctx: Context) -> list[Row]:
    """`oio object create DIR --recursive`: many small files (files/s), a few big (MB/s),
    on one worker and on the default number, against the raw disk limits of this run."""
    cfg = ctx.cfg
    runs = [(v, c) for v in _tree_variants(ctx) for c in (1, None)]
    names = [(_tree_name(v[2], v[3], c), v[1]) for v, c in runs]
    why = ctx.api_error or ctx.cli_error
    if why:
        return _skip("tree", names, why)
    rows: list[Row] = []
    for kind, _unit, files, size, _limit in _tree_variants(ctx):
        src = cfg.work_dir / f"tree-{kind}"
        ctx.log(f"  writing the {kind} tree: {files} x {size // 1024} KiB")
        for i in range(files):
            sub = src / f"d{i % 20:02d}"
            sub.mkdir(parents=True, exist_ok=True)
            write_random_file(sub / f"f{i:05d}.bin", size)
        for (variant, concurrency), (name, unit) in zip(runs, names, strict=True):
            if variant[0] != kind:
                continue
            ctx.log(f"  {name}")
            try:
                rows.append(_tree_run(ctx, src, variant, concurrency, name, unit))
            except Exception as exc:  # noqa: BLE001
                rows.append(Row("tree", name, None, unit, error=str(exc)))
        shutil.rmtree(src, ignore_errors=True)
    return rows


def _tree_run(
    ctx: Context,
    src: Path,
    variant: tuple[str, str, int, int, str],
    concurrency: int | None,
    name: str,
    unit: str,
) -> Row:
    import json

    kind, _unit, files, size, limit_name = variant
    container = f"tree-{kind}-{concurrency or 'default'}"
    args = ["object", "create", container, str(src), "--recursive", "--policy", "SINGLE"]
    if concurrency is not None:
        args += ["--concurrency", str(concurrency)]
    settle(ctx.cfg.settle)
    try:
        res = _oio(ctx, *args, "-f", "json")
        if res.returncode:
            raise RuntimeError(f"oio object create --recursive: {res.error_line()}")
        (summary,) = json.loads(res.stdout)
    finally:
        _oio(ctx, "container", "flush", container, "--quickly")
    if summary["Files"] != files or summary["Failed"]:
        raise RuntimeError(f"uploaded {summary['Files']} of {files}, {summary['Failed']} failed")
    total = files * size
    if kind == "small":
        value = files / res.wall
        label = "durable 4 KiB files/s, 1 thread"
    else:
        value = mbps(total, res.wall)
        label = "write"
    note = (
        f"{res.wall:.2f} s wall (start-up included), {summary['Elapsed']:.2f} s inside; "
        f"peak RSS {res.maxrss_kib / 1024:.0f} MiB"
    )
    return Row("tree", name, value, unit, label, ctx.limit(limit_name), note=note)


PROXY_POLICIES = ("SINGLE", "THREECOPIES", "EC")


def _proxy_names(policy: str) -> list[tuple[str, str]]:
    return [(f"upload proxy {policy}", "MB/s"), (f"download proxy {policy}", "MB/s")]


def _start_serve(ctx: Context, data_dir: Path) -> tuple[subprocess.Popen, str]:
    """`oio namespace serve` on free ports, in its own process (own GIL, as a real proxy)."""
    cmd = [sys.executable, "-m", "oiocli.shell", "--ns", NAMESPACE, "--data-dir", str(data_dir)]
    proc = subprocess.Popen(
        [*cmd, "namespace", "serve", "--port", "0"],
        env=child_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=data_dir.parent,
    )
    url = (proc.stdout.readline() if proc.stdout else "").strip()
    if not url.startswith("http://"):
        proc.kill()
        err = proc.stderr.read() if proc.stderr else ""
        raise RuntimeError(f"oio namespace serve did not start: {err.strip()[-300:]}")
    return proc, url


def proxy(ctx: Context) -> list[Row]:
    """Upload and download of the big object through the proxy backend (HTTP to `oio namespace
    serve` in another process), as a ratio to the embedded backend in this same run."""
    cfg = ctx.cfg
    policies = [p for p in PROXY_POLICIES if p in cfg.policies] or list(PROXY_POLICIES[:1])
    names = [n for p in policies for n in _proxy_names(p)]
    if ctx.api_error:
        return _skip("proxy", names, ctx.api_error)
    if ctx.source is None:
        ctx.log(f"  writing a {cfg.size_mib} MiB random source file")
        ctx.source = cfg.work_dir / "source.bin"
        ctx.source_md5 = write_random_file(ctx.source, cfg.size)
    served_dir = cfg.work_dir / "served-namespace"
    try:
        proc, url = _start_serve(ctx, served_dir)
    except Exception as exc:  # noqa: BLE001
        return _error_rows("proxy", names, exc)
    rows: list[Row] = []
    try:
        for policy in policies:
            embedded = ctx.api_transfers.get(policy)
            try:
                if embedded is None:
                    ctx.log(f"  {policy}: embedded")
                    embedded, _ = run_worker(
                        "api_transfer", _proxy_args(ctx, policy, ctx.data_dir), timeout=cfg.timeout
                    )
                ctx.log(f"  {policy}: proxy at {url}")
                args = _proxy_args(ctx, policy, served_dir, proxy=url)
                ans, _ = run_worker("api_transfer", args, timeout=cfg.timeout)
            except Exception as exc:  # noqa: BLE001
                rows += _error_rows("proxy", _proxy_names(policy), exc)
                continue
            rows += _proxy_rows(policy, ans, embedded)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(served_dir, ignore_errors=True)
    return rows


def _proxy_args(ctx: Context, policy: str, data_dir: Path, proxy: str | None = None) -> dict:
    cfg = ctx.cfg
    args = {
        "data_dir": str(data_dir),  # evicted from the page cache before the cold download
        "policy": policy,
        "src": str(ctx.source),
        "dst": str(cfg.work_dir / "download-proxy.bin"),
        "size": cfg.size,
        "md5": ctx.source_md5,
        "settle": cfg.settle,
        "degrade": False,
    }
    if proxy:
        args["proxy"] = proxy
    return args


def _proxy_rows(policy: str, ans: dict[str, Any], embedded: dict[str, Any]) -> list[Row]:
    up_note = f"{ans['upload_s']:.2f} s vs embedded {embedded['upload_s']:.2f} s"
    if not ans.get("upload_hash_ok"):
        up_note += "; returned size/hash differ from the source!"
    down_note = f"{ans['download_s']:.2f} s vs embedded {embedded['download_s']:.2f} s, cold"
    if not ans.get("download_ok"):
        down_note += "; DOWNLOADED BYTES DIFFER!"
    return [
        Row(
            "proxy",
            f"upload proxy {policy}",
            ans["upload_mbps"],
            "MB/s",
            f"embedded upload {policy}",
            embedded["upload_mbps"],
            Target("ratio", ">=", 0.6),
            note=up_note,
        ),
        Row(
            "proxy",
            f"download proxy {policy}",
            ans["download_mbps"],
            "MB/s",
            f"embedded download {policy}",
            embedded["download_mbps"],
            Target("ratio", ">=", 0.6),
            note=down_note,
        ),
    ]


SCENARIOS: dict[str, Callable[[Context], list[Row]]] = {
    "startup": startup,
    "small": small,
    "transfer": transfer,
    "listing": listing,
    "tree": tree,
    "proxy": proxy,
    "cluster": cluster,  # a real OpenIO namespace, when one is reachable
    "tier": tier,  # the cloud tier against a local S3 server (SeaweedFS)
}


def run_all(ctx: Context, names: list[str]) -> list[Row]:
    probe(ctx)
    rows: list[Row] = []
    for name in names:
        ctx.log(f"scenario: {name} ...")
        try:
            rows += SCENARIOS[name](ctx)
        except Exception as exc:  # noqa: BLE001 - a benchmark records errors, never fails
            rows.append(Row(name, name, None, "", error=f"{type(exc).__name__}: {exc}"))
    if ctx.source is not None and ctx.source.exists():
        os.unlink(ctx.source)
    return rows
