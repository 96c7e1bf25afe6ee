"""The real cluster: the big object through a real OpenIO SDS namespace, ours against OpenIO's.

Upload and download of the big object per policy through the namespace's proxy and Go rawx,
with oiocli's `oio` and with OpenIO's own `openio` CLI, alternating in the same run; each
figure is the median of the repetitions, beside OpenIO's. Optional: without a reachable
namespace (OIO_TEST_PROXY=host:port, else 127.0.0.1:6000, as openio-sds.sh starts it) the
rows say so. Downloads are cold when the rawx volumes are on this machine (their files are
evicted from the page cache before each one).
"""

from __future__ import annotations

import json
import os
import secrets
import urllib.request
from pathlib import Path
from typing import Any

from benchmarks.common import (
    ChildResult,
    Row,
    child_env,
    evict_tree,
    fmt,
    mbps,
    md5_file,
    median,
    run_child,
    settle,
    write_random_file,
)

CLUSTER_POLICIES = ("SINGLE", "TWOCOPIES", "THREECOPIES", "EC", "EC21")
DEFAULT_PROXY = "127.0.0.1:6000"
MIN_REPS = 3


def _names(policy: str) -> list[tuple[str, str]]:
    return [(f"cluster upload {policy}", "MB/s"), (f"cluster download {policy}", "MB/s")]


def _get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return json.load(resp)


class _Tools:
    """`oio` and `openio` pointed at the same namespace and account."""

    def __init__(self, ctx: Any, proxy: str, namespace: str, openio: str | None) -> None:
        self.ctx = ctx
        self.proxy = proxy
        self.namespace = namespace
        self.openio = openio
        self.account = f"bench-{secrets.token_hex(4)}"
        home = ctx.cfg.work_dir / "openio-home"
        (home / ".oio").mkdir(parents=True, exist_ok=True)
        (home / ".oio" / "sds.conf").write_text(f"[{namespace}]\nproxy={proxy}\n")
        self.openio_env = dict(os.environ, HOME=str(home))
        self.oio_env = child_env(
            extra={"OIO_NS": namespace, "OIO_ACCOUNT": self.account, "OIO_PROXYD_URL": proxy}
        )
        self.oio_env.pop("OIO_DATA_DIR", None)

    def run(self, tool: str, *args: str) -> ChildResult:
        if tool == "ours":
            cmd, env = [self.ctx.oio, *args], self.oio_env
        else:
            cmd = [self.openio, "--oio-ns", self.namespace, "--oio-account", self.account, *args]
            env = self.openio_env
        res = run_child(cmd, env=env, timeout=self.ctx.cfg.timeout)
        if res.returncode:
            raise RuntimeError(f"{tool} {' '.join(args[:2])}: {res.error_line()}")
        return res

    def upload(self, tool: str, container: str, src: Path, name: str, policy: str) -> float:
        return self.run(
            tool, "object", "create", container, str(src), "--name", name, "--policy", policy
        ).wall

    def download(self, tool: str, container: str, name: str, dst: Path) -> float:
        verb = "fetch" if tool == "ours" else "save"  # oio object fetch = openio object save
        return self.run(tool, "object", verb, container, name, "--file", str(dst)).wall


def cluster(ctx: Any) -> list[Row]:
    cfg = ctx.cfg
    proxy = os.environ.get("OIO_TEST_PROXY") or DEFAULT_PROXY
    namespace = os.environ.get("OIO_TEST_NS") or "OPENIO"
    policies = list(CLUSTER_POLICIES)
    names = [n for p in policies for n in _names(p)]
    try:
        info = _get_json(f"http://{proxy}/v3.0/{namespace}/conscience/info")
        rawx = _get_json(f"http://{proxy}/v3.0/{namespace}/conscience/list?type=rawx")
    except Exception as exc:  # noqa: BLE001
        why = (
            f"no OpenIO namespace {namespace} at {proxy} ({type(exc).__name__}); start one "
            "(openio-sds.sh start) or set OIO_TEST_PROXY=host:port"
        )
        return [Row("cluster", n, None, u, error=f"skipped: {why}") for n, u in names]
    if ctx.cli_error:
        return [Row("cluster", n, None, u, error=f"skipped: {ctx.cli_error}") for n, u in names]
    policies = [p for p in policies if p in (info.get("storage_policy") or {})]
    peer = os.environ.get("OIO_PEER_DIR") or "/tmp/oio-sds-peer"
    openio = os.environ.get("OIO_OPENIO_CLI") or f"{peer}/venv/bin/openio"
    if not os.access(openio, os.X_OK):
        openio = None
    volumes = [(s.get("tags") or {}).get("tag.vol") for s in rawx]
    local = [v for v in volumes if v and os.path.isdir(v)]
    cold = bool(local) and len(local) == len(volumes)
    tools = _Tools(ctx, proxy, namespace, openio)
    if ctx.source is None:
        ctx.log(f"  writing a {cfg.size_mib} MiB random source file")
        ctx.source = cfg.work_dir / "source.bin"
        ctx.source_md5 = write_random_file(ctx.source, cfg.size)
    dst = cfg.work_dir / "download-cluster.bin"
    reps = max(MIN_REPS, cfg.reps)
    which = ["ours", "openio"] if openio else ["ours"]
    rows: list[Row] = []
    for policy in policies:
        container = f"bench-{policy.lower()}"
        times: dict[str, dict[str, list[float]]] = {t: {"up": [], "down": []} for t in which}
        bad = []
        try:
            for rep in range(reps):
                for tool in which if rep % 2 == 0 else which[::-1]:
                    name = f"big-{tool}-{rep}"
                    ctx.log(f"  cluster {policy}: {tool} upload and download ({rep + 1}/{reps})")
                    times[tool]["up"].append(
                        tools.upload(tool, container, ctx.source, name, policy)
                    )
                    if cold:
                        for volume in local:
                            evict_tree(volume)
                    settle(cfg.settle)
                    times[tool]["down"].append(tools.download(tool, container, name, dst))
                    if dst.stat().st_size != cfg.size or md5_file(dst) != ctx.source_md5:
                        bad.append(f"{tool} rep {rep + 1}")
                    dst.unlink()
                    tools.run("ours", "object", "delete", container, name)
        except Exception as exc:  # noqa: BLE001 - a benchmark records errors, never fails
            rows += [Row("cluster", n, None, u, error=str(exc)) for n, u in _names(policy)]
            continue
        rows += _rows(cfg.size, policy, times, bad, cold)
    if dst.exists():
        dst.unlink()
    return rows


def _spread(size: int, seconds: list[float]) -> str:
    rates = sorted(mbps(size, s) for s in seconds)
    return f"{fmt(rates[0])}-{fmt(rates[-1])}"


def _rows(
    size: int, policy: str, times: dict[str, dict[str, list[float]]], bad: list[str], cold: bool
) -> list[Row]:
    rows = []
    for direction, label in (("up", "upload"), ("down", "download")):
        ours = times["ours"][direction]
        theirs = times.get("openio", {}).get(direction)
        value = mbps(size, median(ours))
        note = f"ours {len(ours)}x {_spread(size, ours)} MB/s"
        limit = None
        if theirs:
            limit = mbps(size, median(theirs))
            note += f"; openio {len(theirs)}x {_spread(size, theirs)} MB/s"
        else:
            note += "; OpenIO's CLI not found (OIO_OPENIO_CLI)"
        if direction == "down":
            note += ", cold" if cold else ", rawx volumes not local: not cold"
            if bad:
                note += f"; DOWNLOADED BYTES DIFFER ({', '.join(bad)})!"
        rows.append(
            Row(
                "cluster",
                f"cluster {label} {policy}",
                value,
                "MB/s",
                f"openio CLI {label} {policy}" if theirs else "",
                limit,
                note=note,
            )
        )
    return rows
