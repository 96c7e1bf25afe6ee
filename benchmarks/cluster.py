"""Ours beside OpenIO's own client, against the same servers.

Two servers: a real OpenIO SDS namespace (`cluster`: its C proxy and Go rawx, as
`openio-sds.sh start` runs it, or OIO_TEST_PROXY=host:port and OIO_TEST_NS) and `oio namespace
serve` (`peer`). On each, our `oio` and OpenIO 7.3.0's `openio` upload (`object create`) and
download (`oio object fetch` / `openio object save`) the big object, alternating in every
repetition, with the same cold-download method as our other transfers (the chunk files of
the object dropped from the page cache and checked with mincore), and both list a small
container (`object list`, the start-up figure). Each row is ours, bounded by OpenIO's figure
of the same run; the targets are ours >= 2 x OpenIO's on every transfer and >= 5 x on
start-up. Optional: without a reachable namespace, or without OpenIO's CLI
(OIO_OPENIO_CLI, else $OIO_PEER_DIR/venv/bin/openio), the rows say so.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import urllib.request
from pathlib import Path
from typing import Any

from benchmarks import transfers
from benchmarks.cache import describe
from benchmarks.common import Row, Target, mbps, median, run_worker, sampled, spread_text
from benchmarks.transfers import CliClient, Endpoint, Samples

CLUSTER_POLICIES = ("SINGLE", "EC")
PEER_POLICIES = ("SINGLE", "EC")
DEFAULT_PROXY = "127.0.0.1:6000"
STARTUP_OBJECTS = 10
TRANSFER_TARGET = Target("ratio", ">=", 2.0)
STARTUP_TARGET = Target("ratio", "<=", 0.2)  # ours / OpenIO's time: OpenIO >= 5 x slower


def _get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return json.load(resp)


def _names(prefix: str, policies: list[str] | tuple[str, ...]) -> list[tuple[str, str]]:
    names = [(f"{prefix} oio object list ({STARTUP_OBJECTS} objects)", "s")]
    for p in policies:
        names += [(f"{prefix} upload {p}", "MB/s"), (f"{prefix} download {p}", "MB/s")]
    return names


def _skip(scenario: str, names: list[tuple[str, str]], why: str) -> list[Row]:
    return [Row(scenario, n, None, u, error=f"skipped: {why}") for n, u in names]


def openio_cli() -> str | None:
    peer = os.environ.get("OIO_PEER_DIR") or "/tmp/oio-sds-peer"
    exe = os.environ.get("OIO_OPENIO_CLI") or f"{peer}/venv/bin/openio"
    return exe if os.access(exe, os.X_OK) else None


def _openio_home(ctx: Any, label: str, namespace: str, proxy: str) -> Path:
    home = ctx.cfg.work_dir / f"openio-home-{label}"
    (home / ".oio").mkdir(parents=True, exist_ok=True)
    (home / ".oio" / "sds.conf").write_text(
        f"[{namespace}]\nproxy={proxy.removeprefix('http://')}\n"
    )
    return home


def cluster(ctx: Any) -> list[Row]:
    """A real OpenIO namespace: ours and OpenIO's CLI through its proxy and rawx."""
    proxy = os.environ.get("OIO_TEST_PROXY") or DEFAULT_PROXY
    namespace = os.environ.get("OIO_TEST_NS") or "OPENIO"
    names = _names("cluster", CLUSTER_POLICIES)
    try:
        info = _get_json(f"http://{proxy}/v3.0/{namespace}/conscience/info")
        rawx = _get_json(f"http://{proxy}/v3.0/{namespace}/conscience/list?type=rawx")
    except Exception as exc:  # noqa: BLE001
        why = (
            f"no OpenIO namespace {namespace} at {proxy} ({type(exc).__name__}); start one "
            "(openio-sds.sh start) or set OIO_TEST_PROXY=host:port"
        )
        return _skip("cluster", names, why)
    if ctx.cli_error:
        return _skip("cluster", names, ctx.cli_error)
    policies = [p for p in CLUSTER_POLICIES if p in (info.get("storage_policy") or {})]
    volumes = [(s.get("tags") or {}).get("tag.vol") for s in rawx]
    local = [v for v in volumes if v and os.path.isdir(v)]
    if not local or len(local) != len(volumes):
        return _skip("cluster", names, "the rawx volumes are not on this machine: no cold reads")
    account = f"bench-{secrets.token_hex(4)}"
    ep = Endpoint(
        "cluster",
        namespace,
        account,
        {"proxy": f"http://{proxy}"},
        roots=local,
        openio_home=_openio_home(ctx, "cluster", namespace, proxy),
    )
    return _side_by_side(ctx, "cluster", ep, policies)


def peer(ctx: Any) -> list[Row]:
    """`oio namespace serve`: ours and OpenIO's CLI through the same served proxy and rawx."""
    from benchmarks.ours import ACCOUNT, NAMESPACE, start_serve, stop_serve

    names = _names("serve", PEER_POLICIES)
    why = ctx.api_error or ctx.cli_error
    if why:
        return _skip("peer", names, why)
    served_dir = ctx.cfg.work_dir / "peer-namespace"
    try:
        proc, url = start_serve(served_dir)
    except Exception as exc:  # noqa: BLE001
        return [Row("peer", n, None, u, error=str(exc)) for n, u in names]
    try:
        ep = Endpoint(
            "serve",
            NAMESPACE,
            ACCOUNT,
            {"proxy": url},
            roots=[str(served_dir)],
            openio_home=_openio_home(ctx, "serve", NAMESPACE, url),
        )
        return _side_by_side(ctx, "serve", ep, list(PEER_POLICIES))
    finally:
        stop_serve(proc)
        shutil.rmtree(served_dir, ignore_errors=True)


def _side_by_side(ctx: Any, prefix: str, ep: Endpoint, policies: list[str]) -> list[Row]:
    from benchmarks.ours import _reps, ensure_source

    cfg = ctx.cfg
    scenario = "cluster" if prefix == "cluster" else "peer"
    openio = openio_cli()
    clients = [CliClient(ctx, "oio", ctx.oio)]
    if openio:
        clients.append(CliClient(ctx, "openio", openio))
    missing = "" if openio else "; OpenIO's CLI not found (OIO_OPENIO_CLI): ours only"
    rows = [_startup(ctx, scenario, prefix, ep, clients, missing)]
    ensure_source(ctx)
    for policy in policies:
        try:
            got = transfers.measure(ctx, ep, policy, clients, _reps(cfg))
        except Exception as exc:  # noqa: BLE001 - a benchmark records errors, never fails
            rows += [
                Row(scenario, n, None, u, error=str(exc)) for n, u in _names(prefix, [policy])[1:]
            ]
            continue
        ctx.api_transfers[f"{prefix} {policy}"] = {k: v.as_dict() for k, v in got.items()}
        rows += _transfer_rows(cfg.size, scenario, prefix, policy, got, missing)
    return rows


def _transfer_rows(
    size: int, scenario: str, prefix: str, policy: str, got: dict[str, Samples], missing: str
) -> list[Row]:
    rows = []
    ours, theirs = got["oio"], got.get("openio")
    for label, attr in (("upload", "up_s"), ("download", "down_s")):
        mine = [mbps(size, s) for s in getattr(ours, attr)]
        other = [mbps(size, s) for s in getattr(theirs, attr)] if theirs else []
        note = f"openio {spread_text(other)} MB/s" if other else missing.lstrip("; ")
        cache = None
        if label == "download":
            states = ours.cold + (theirs.cold if theirs else [])
            note += f"; {describe(states)}"
            cache = {"reps": [s.as_dict() for s in states], "all_cold": all(s.cold for s in states)}
            bad = ours.bad + [f"openio {b}" for b in (theirs.bad if theirs else [])]
            if bad:
                note += f"; DOWNLOADED BYTES DIFFER ({', '.join(bad)})!"
        rows.append(
            sampled(
                scenario,
                f"{prefix} {label} {policy}",
                mine,
                "MB/s",
                limit_label=f"openio object {'create' if label == 'upload' else 'save'}",
                limit=median(other) if other else None,
                target=TRANSFER_TARGET if other else None,
                note=note,
                cache=cache,
            )
        )
    return rows


def _startup(
    ctx: Any,
    scenario: str,
    prefix: str,
    ep: Endpoint,
    clients: list[CliClient],
    missing: str,
) -> Row:
    """`object list` of a small container by each CLI, alternating, after one warm-up each."""
    cfg = ctx.cfg
    name = f"{prefix} oio object list ({STARTUP_OBJECTS} objects)"
    container = "startup"
    try:
        args = ep.api_args(container=container, count=STARTUP_OBJECTS)
        run_worker("prepare_small", args, timeout=cfg.timeout)
        times: dict[str, list[float]] = {c.name: [] for c in clients}
        for c in clients:  # warm-up: bytecode caches, the server's caches
            out = c.run(ep, "object", "list", container, "-f", "value", "-c", "Name").stdout
            if len(out.split()) != STARTUP_OBJECTS:
                raise RuntimeError(f"{c.name} object list: {len(out.split())} names")
        runs = max(5, cfg.startup_runs // 2)
        for i in range(runs):
            for c in clients if i % 2 == 0 else clients[::-1]:
                res = c.run(ep, "object", "list", container, "-f", "value", "-c", "Name")
                times[c.name].append(res.wall)
    except Exception as exc:  # noqa: BLE001
        return Row(scenario, name, None, "s", error=str(exc))
    other = times.get("openio", [])
    note = f"openio {spread_text(other)} s" if other else missing.lstrip("; ")
    if other:
        note += f" ({median(other) / median(times['oio']):.1f} x ours)"
    return sampled(
        scenario,
        name,
        times["oio"],
        "s",
        limit_label="openio object list",
        limit=median(other) if other else None,
        target=STARTUP_TARGET if other else None,
        note=note,
    )
