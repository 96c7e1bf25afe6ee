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
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks import transfers
from benchmarks.cache import describe, warm
from benchmarks.cluster import cluster, peer
from benchmarks.common import (
    MIB,
    ChildResult,
    Config,
    Limit,
    Pressure,
    Row,
    Target,
    child_env,
    mbps,
    median,
    pressure_text,
    run_child,
    run_worker,
    sampled,
    settle,
    spread_text,
    write_random_file,
)
from benchmarks.limits import CLIFF_IMPORT, durable_small_files
from benchmarks.tier import tier
from benchmarks.transfers import ApiClient, CliClient, Endpoint, Samples

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
    api_transfers: dict[str, dict[str, Any]] = field(default_factory=dict)  # for the JSON
    embedded: dict[str, Samples] = field(default_factory=dict)  # API samples per policy
    scenario_info: dict[str, dict[str, Any]] = field(default_factory=dict)  # time, PSI

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
                f"warm: one unmeasured run first; floor {min(floor):.3f}-{max(floor):.3f} s"
                + (f" (limits table: {table_floor:.3f} s)" if table_floor else "")
            ),
            samples=samples,
        )
    ]


def small(ctx: Context) -> list[Row]:
    """Objects of 4 KiB (SINGLE) through the API on one thread, then a thread pool.

    Both runs are pinned to one core. Every create is durable when it returns, so
    one thread waits for three flushes per object (chunk, its directory, the
    container database) and is bound by the disk's flush latency; a thread pool
    shares flushes (group commit). Both are set against the durable 4 KiB files/s
    of one thread, measured alternating with them in each repetition.
    """
    cfg = ctx.cfg
    variants = [(1, Target("ratio", ">=", 0.5)), (cfg.threads, Target("ratio", ">=", 1.0))]
    names = [
        (f"create 4 KiB x {cfg.small_objects}, {t} thread(s), 1 core", "obj/s") for t, _ in variants
    ]
    if ctx.api_error:
        return _skip("small", names, ctx.api_error)
    rates: list[list[float]] = [[] for _ in variants]
    errors: list[str | None] = [None for _ in variants]
    short: list[str] = []
    beside: list[float] = []  # the durable 4 KiB files/s limit, measured in the same reps
    for rep in range(_reps(cfg)):
        order = [-1, *range(len(variants))]
        for i in order if rep % 2 == 0 else order[::-1]:
            if i < 0:
                ctx.log(f"  durable 4 KiB files/s, beside ({rep + 1}/{_reps(cfg)})")
                beside.append(durable_small_files(cfg))
                continue
            threads = variants[i][0]
            ctx.log(f"  {names[i][0]} ({rep + 1}/{_reps(cfg)})")
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
                errors[i] = str(exc)
                continue
            rates[i].append(ans["rate"])
            if ans["listed"] != cfg.small_objects:
                short.append(f"listed {ans['listed']} of {cfg.small_objects}!")
    rows = []
    for i, ((_, target), (name, unit)) in enumerate(zip(variants, names, strict=True)):
        if errors[i] and not rates[i]:
            rows.append(Row("small", name, None, unit, error=errors[i]))
            continue
        rows.append(
            sampled(
                "small",
                name,
                rates[i],
                unit,
                limit_label="durable 4 KiB files/s, 1 thread, beside",
                limit=median(beside) if beside else ctx.limit("small_files_fsync"),
                target=target,
                note="; ".join(short)
                or f"a new container each rep; limit {spread_text(beside)} files/s, measured "
                "alternating with the creates",
            )
        )
    return rows


def _reps(cfg: Config) -> int:
    """Repetitions of each of our figures: at least 3, so that the median means something."""
    return max(3, cfg.reps)


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


def ensure_source(ctx: Context) -> None:
    """The random source file of the big transfers, written once per run."""
    if ctx.source is None:
        ctx.log(f"  writing a {ctx.cfg.size_mib} MiB random source file")
        ctx.source = ctx.cfg.work_dir / "source.bin"
        ctx.source_md5 = write_random_file(ctx.source, ctx.cfg.size)


def embedded_endpoint(ctx: Context) -> Endpoint:
    return Endpoint("embedded", NAMESPACE, ACCOUNT, {"data_dir": str(ctx.data_dir)})


def transfer(ctx: Context) -> list[Row]:
    """Upload and cold download of one big object per policy, through the API and the CLI,
    alternating them in every repetition (the CLI rows are the paired differences)."""
    cfg = ctx.cfg
    if ctx.api_error:
        rows = []
        for policy in cfg.policies:
            rows += _skip("transfer", _transfer_names(policy, cfg.cli), ctx.api_error)
        return rows
    ensure_source(ctx)
    ep = embedded_endpoint(ctx)
    rows: list[Row] = []
    for policy in cfg.policies:
        clients: list[transfers.Client] = [ApiClient(ctx)]
        cli_names = _transfer_names(policy, True)[3:]
        if cfg.cli and not ctx.cli_error and ctx.oio:
            clients.append(CliClient(ctx, "cli", ctx.oio))
        try:
            got = transfers.measure(ctx, ep, policy, clients, _reps(cfg), degrade=True)
        except Exception as exc:  # noqa: BLE001
            rows += _error_rows("transfer", _transfer_names(policy, cfg.cli), exc)
            continue
        ctx.embedded[policy] = got["api"]
        ctx.api_transfers[policy] = {k: v.as_dict() for k, v in got.items()}
        rows += _transfer_api_rows(ctx, policy, got["api"])
        if "cli" in got:
            rows += _transfer_cli_rows(ctx, policy, got["api"], got["cli"])
        elif cfg.cli:
            rows += _skip("transfer", cli_names, ctx.cli_error or "`oio` not found")
    return rows


def _rates(size: int, seconds: list[float]) -> list[float]:
    return [mbps(size, s) for s in seconds]


def _transfer_api_rows(ctx: Context, policy: str, api: Samples) -> list[Row]:
    cfg = ctx.cfg
    method = transfers.parse_method(api.chunk_method)
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
    bad = f"; DOWNLOADED BYTES DIFFER ({', '.join(api.bad)})!" if api.bad else ""
    rows = [
        sampled(
            "transfer",
            f"upload API {policy}",
            _rates(cfg.size, api.up_s),
            "MB/s",
            *_min_limit(ctx, up_parts),
            up_target,
            note=f"source {describe(api.source)}; {api.chunk_method or 'chunk method unknown'}",
        ),
        sampled(
            "transfer",
            f"download API {policy}",
            _rates(cfg.size, api.down_s),
            "MB/s",
            *_min_limit(ctx, down_parts),
            Target("ratio", ">=", 0.75),
            note=f"{describe(api.cold)}; to a file as oio object fetch --file; verified{bad}",
            cache=_cache_dict(api.cold),
        ),
    ]
    if algo:
        name = f"download API {policy}, {method.get('m', '?')} fragments lost"
        parts = down_parts[:2] + [(f"decode-{method.get('m')} {algo}", f"ec_decode3:{algo}", 1)]
        if api.degraded_s:
            rows.append(
                sampled(
                    "transfer",
                    name,
                    _rates(cfg.size, api.degraded_s),
                    "MB/s",
                    *_min_limit(ctx, parts),
                    Target("ratio", ">=", 0.5),
                    note=describe(api.degraded_cold),
                    cache=_cache_dict(api.degraded_cold),
                )
            )
        else:
            rows.append(Row("transfer", name, None, "MB/s", error="not run"))
    rows.append(
        sampled(
            "transfer",
            f"peak RSS upload API {policy}",
            api.rss_mib,
            "MiB",
            target=Target("value", "<", 150),
            note="child process, ru_maxrss",
        )
    )
    return rows


def _cache_dict(states: list) -> dict[str, Any]:
    return {"reps": [s.as_dict() for s in states], "all_cold": all(s.cold for s in states)}


def _transfer_cli_rows(ctx: Context, policy: str, api: Samples, cli: Samples) -> list[Row]:
    cfg = ctx.cfg
    label, startup_s = "oio object list start-up", ctx.oio_startup
    target = Target("ratio", "<=", 1.0)
    up_over = [c - a for c, a in zip(cli.up_s, api.up_s, strict=False)]
    down_over = [c - a for c, a in zip(cli.down_s, api.down_s, strict=False)]
    bad = f"; DOWNLOADED BYTES DIFFER ({', '.join(cli.bad)})!" if cli.bad else ""
    up_rate = median(_rates(cfg.size, cli.up_s))
    down_rate = median(_rates(cfg.size, cli.down_s))
    return [
        sampled(
            "transfer",
            f"upload CLI {policy}: time over API",
            up_over,
            "s",
            label,
            startup_s,
            target,
            note=f"CLI {up_rate:.0f} MB/s; paired with the API rep beside it",
        ),
        sampled(
            "transfer",
            f"download CLI {policy}: time over API",
            down_over,
            "s",
            label,
            startup_s,
            target,
            note=f"CLI {down_rate:.0f} MB/s; {describe(cli.cold)}{bad}",
            cache=_cache_dict(cli.cold),
        ),
        sampled(
            "transfer",
            f"peak RSS upload CLI {policy}",
            cli.rss_mib,
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
        "whole_runs": _reps(cfg),
    }
    try:
        ans, _ = run_worker("listing", args, timeout=max(cfg.timeout, n / 100))
    except Exception as exc:  # noqa: BLE001
        return _error_rows("listing", names, exc)
    note = "" if n >= 1_000_000 else "the target is for 1,000,000 objects"
    rows = [
        sampled(
            "listing",
            names[0][0],
            [t * 1000 for t in ans["first_page_s"]],
            "ms",
            target=Target("value", "<", 50),
            note=f"hot (after the fill); fresh API object: "
            f"{ans['first_page_fresh_api_s'] * 1000:.1f} ms; {note}",
        ),
        sampled(
            "listing",
            names[1][0],
            [ans["whole_count"] / s for s in ans["whole_s"]],
            "obj/s",
            target=Target("value", ">=", 100_000),
            note=f"{ans['whole_count']:,} listed, pages of {cfg.list_page}",
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
    on one worker and on the default number (alternating in each repetition), against the
    raw disk limits of this run. The source files are read into the page cache before each."""
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
        paths = []
        for i in range(files):
            sub = src / f"d{i % 20:02d}"
            sub.mkdir(parents=True, exist_ok=True)
            paths.append(sub / f"f{i:05d}.bin")
            write_random_file(paths[-1], size)
        mine = [(i, r) for i, r in enumerate(runs) if r[0][0] == kind]
        values: dict[int, list[float]] = {i: [] for i, _ in mine}
        notes: dict[int, list[str]] = {i: [] for i, _ in mine}
        errors: dict[int, str] = {}
        for rep in range(_reps(cfg)):
            for i, (variant, concurrency) in mine if rep % 2 == 0 else mine[::-1]:
                ctx.log(f"  {names[i][0]} ({rep + 1}/{_reps(cfg)})")
                settle(cfg.settle)
                for path in paths:
                    warm(path)
                try:
                    value, note = _tree_run(ctx, src, variant, concurrency, rep)
                except Exception as exc:  # noqa: BLE001
                    errors[i] = str(exc)
                    continue
                values[i].append(value)
                notes[i].append(note)
        for i, (variant, _) in mine:
            name, unit = names[i]
            if not values[i]:
                rows.append(Row("tree", name, None, unit, error=errors.get(i, "not run")))
                continue
            label = "durable 4 KiB files/s, 1 thread" if kind == "small" else "write"
            note = f"source hot; last rep: {notes[i][-1]}"
            if i in errors:
                note += f"; a rep failed: {errors[i]}"
            rows.append(
                sampled(
                    "tree",
                    name,
                    values[i],
                    unit,
                    limit_label=label,
                    limit=ctx.limit(variant[4]),
                    note=note,
                )
            )
        shutil.rmtree(src, ignore_errors=True)
    return rows


def _tree_run(
    ctx: Context,
    src: Path,
    variant: tuple[str, str, int, int, str],
    concurrency: int | None,
    rep: int,
) -> tuple[float, str]:
    import json

    kind, _unit, files, size, _limit_name = variant
    container = f"tree-{kind}-{concurrency or 'default'}-{rep}"
    args = ["object", "create", container, str(src), "--recursive", "--policy", "SINGLE"]
    if concurrency is not None:
        args += ["--concurrency", str(concurrency)]
    try:
        res = _oio(ctx, *args, "-f", "json")
        if res.returncode:
            raise RuntimeError(f"oio object create --recursive: {res.error_line()}")
        (summary,) = json.loads(res.stdout)
    finally:
        _oio(ctx, "container", "flush", container, "--quickly")
    if summary["Files"] != files or summary["Failed"]:
        raise RuntimeError(f"uploaded {summary['Files']} of {files}, {summary['Failed']} failed")
    value = files / res.wall if kind == "small" else mbps(files * size, res.wall)
    note = (
        f"{res.wall:.2f} s wall (start-up included), {summary['Elapsed']:.2f} s inside; "
        f"peak RSS {res.maxrss_kib / 1024:.0f} MiB"
    )
    return value, note


PROXY_POLICIES = ("SINGLE", "THREECOPIES", "EC")


def _proxy_names(policy: str) -> list[tuple[str, str]]:
    return [(f"upload proxy {policy}", "MB/s"), (f"download proxy {policy}", "MB/s")]


def start_serve(data_dir: Path) -> tuple[subprocess.Popen, str]:
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


def stop_serve(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def proxy(ctx: Context) -> list[Row]:
    """Upload and download of the big object through the proxy backend (HTTP to `oio namespace
    serve` in another process), as a ratio to the embedded backend measured alternating with
    it, repetition by repetition (a ratio of figures taken minutes apart on a shared machine
    moves with whatever else ran in between)."""
    cfg = ctx.cfg
    policies = [p for p in PROXY_POLICIES if p in cfg.policies] or list(PROXY_POLICIES[:1])
    names = [n for p in policies for n in _proxy_names(p)]
    if ctx.api_error:
        return _skip("proxy", names, ctx.api_error)
    ensure_source(ctx)
    served_dir = cfg.work_dir / "served-namespace"
    try:
        proc, url = start_serve(served_dir)
    except Exception as exc:  # noqa: BLE001
        return _error_rows("proxy", names, exc)
    served = Endpoint("serve", NAMESPACE, ACCOUNT, {"proxy": url}, roots=[str(served_dir)])
    rows: list[Row] = []
    try:
        for policy in policies:
            pairs = [
                ("embedded", embedded_endpoint(ctx), ApiClient(ctx)),
                ("proxy", served, ApiClient(ctx)),
            ]
            try:
                both = transfers.measure_pairs(ctx, policy, pairs, _reps(cfg))
            except Exception as exc:  # noqa: BLE001
                rows += _error_rows("proxy", _proxy_names(policy), exc)
                continue
            got, embedded = both["proxy"], both["embedded"]
            ctx.api_transfers[f"proxy {policy}"] = {k: v.as_dict() for k, v in both.items()}
            rows += _proxy_rows(cfg.size, policy, got, embedded)
    finally:
        stop_serve(proc)
        shutil.rmtree(served_dir, ignore_errors=True)
    return rows


def _proxy_rows(size: int, policy: str, got: Samples, embedded: Samples) -> list[Row]:
    bad = f"; DOWNLOADED BYTES DIFFER ({', '.join(got.bad)})!" if got.bad else ""
    emb_up, emb_down = _rates(size, embedded.up_s), _rates(size, embedded.down_s)
    return [
        sampled(
            "proxy",
            f"upload proxy {policy}",
            _rates(size, got.up_s),
            "MB/s",
            f"embedded upload {policy}",
            median(emb_up),
            Target("ratio", ">=", 0.75),
            note=f"embedded {_spread_short(emb_up)}; source {describe(got.source)}",
        ),
        sampled(
            "proxy",
            f"download proxy {policy}",
            _rates(size, got.down_s),
            "MB/s",
            f"embedded download {policy}",
            median(emb_down),
            Target("ratio", ">=", 0.9),
            note=f"embedded {_spread_short(emb_down)}; {describe(got.cold)}{bad}",
            cache=_cache_dict(got.cold),
        ),
    ]


def _spread_short(samples: list[float]) -> str:
    return spread_text(samples)


SCENARIOS: dict[str, Callable[[Context], list[Row]]] = {
    "startup": startup,
    "small": small,
    "transfer": transfer,
    "listing": listing,
    "tree": tree,
    "proxy": proxy,
    "cluster": cluster,  # a real OpenIO namespace, when one is reachable
    "peer": peer,  # OpenIO's own CLI beside ours, against `oio namespace serve`
    "tier": tier,  # the cloud tier against a local S3 server (SeaweedFS)
}


def run_all(ctx: Context, names: list[str]) -> list[Row]:
    probe(ctx)
    rows: list[Row] = []
    for name in names:
        ctx.log(f"scenario: {name} ...")
        busy = Pressure()
        t0 = time.perf_counter()
        try:
            rows += SCENARIOS[name](ctx)
        except Exception as exc:  # noqa: BLE001 - a benchmark records errors, never fails
            rows.append(Row(name, name, None, "", error=f"{type(exc).__name__}: {exc}"))
        ctx.scenario_info[name] = {
            "seconds": time.perf_counter() - t0,
            "pressure": busy.shares(),
        }
        ctx.log(f"  {name}: {time.perf_counter() - t0:.0f} s, {pressure_text(busy.shares())}")
    if ctx.source is not None and ctx.source.exists():
        os.unlink(ctx.source)
    return rows
