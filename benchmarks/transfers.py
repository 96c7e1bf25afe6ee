"""Repeated big-object transfers, measured the same way whichever client makes them.

Before the first repetition, an unmeasured small round trip with the policy warms the
server and the container. One repetition of one client: settle (writeback drained, then a
pause), read the source so that it is wholly in the page cache (checked), upload it, drop the
page cache of exactly the object's chunk files and check with mincore that none of their
pages is left, settle, download it to a file, verify the file's MD5 (outside the timing),
delete the object. Clients compared with each other alternate within each repetition (A B,
then B A, ...), so a drift of the machine during the run weighs on both alike.

Clients: our API (each step in a fresh interpreter, timed inside it, downloading through the
same file writer as `oio object fetch --file`), our `oio` CLI and OpenIO's `openio` CLI
(timed from fork to exit).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks import cache
from benchmarks.common import (
    ChildResult,
    Helper,
    child_env,
    md5_file,
    run_child,
    run_worker,
    settle,
)


@dataclass
class Endpoint:
    """A namespace and how each client reaches it."""

    label: str
    namespace: str
    account: str
    api: dict[str, Any]  # opens our API on it: {"data_dir": ...} or {"proxy": ...}
    roots: list[str] = field(default_factory=list)  # where its chunk files are (for eviction)
    openio_home: Path | None = None  # HOME with ~/.oio/sds.conf for OpenIO's CLI

    def api_args(self, **kw: Any) -> dict[str, Any]:
        return {**self.api, "namespace": self.namespace, "account": self.account, **kw}

    def oio_env(self) -> dict[str, str]:
        extra = {"OIO_NS": self.namespace, "OIO_ACCOUNT": self.account}
        if "proxy" in self.api:
            extra["OIO_PROXYD_URL"] = self.api["proxy"].removeprefix("http://")
        else:
            extra["OIO_DATA_DIR"] = str(self.api["data_dir"])
        env = child_env(extra=extra)
        if "proxy" in self.api:
            env.pop("OIO_DATA_DIR", None)
        return env


@dataclass
class Samples:
    """One client's repetitions of one policy's upload and download."""

    up_s: list[float] = field(default_factory=list)
    down_s: list[float] = field(default_factory=list)
    rss_mib: list[float] = field(default_factory=list)
    cold: list[cache.CacheState] = field(default_factory=list)
    source: list[cache.CacheState] = field(default_factory=list)
    degraded_s: list[float] = field(default_factory=list)
    degraded_cold: list[cache.CacheState] = field(default_factory=list)
    bad: list[str] = field(default_factory=list)
    chunk_method: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "upload_s": self.up_s,
            "download_s": self.down_s,
            "rss_upload_mib": self.rss_mib,
            "download_cache": [c.as_dict() for c in self.cold],
            "source_cache": [c.as_dict() for c in self.source],
            "degraded_s": self.degraded_s,
            "degraded_cache": [c.as_dict() for c in self.degraded_cold],
            "bad": self.bad,
            "chunk_method": self.chunk_method,
        }


class Client:
    name = "?"

    def __init__(self, ctx: Any) -> None:
        self.ctx = ctx

    def upload(self, ep: Endpoint, container: str, obj: str, policy: str) -> tuple[float, float]:
        """(seconds, peak RSS MiB)."""
        raise NotImplementedError

    def download(self, ep: Endpoint, container: str, obj: str, dst: Path) -> float:
        raise NotImplementedError


class ApiClient(Client):
    name = "api"
    chunk_method: str | None = None

    def upload(self, ep: Endpoint, container: str, obj: str, policy: str) -> tuple[float, float]:
        ctx = self.ctx
        args = ep.api_args(
            container=container,
            obj=obj,
            policy=policy,
            src=str(ctx.source),
            md5=ctx.source_md5,
            size=ctx.cfg.size,
        )
        ans, _ = run_worker("api_upload", args, timeout=ctx.cfg.timeout)
        if not ans["upload_hash_ok"]:
            raise RuntimeError("upload returned a size or hash other than the source's")
        self.chunk_method = ans.get("chunk_method")
        return ans["upload_s"], ans["rss_upload_mib"]

    def download(self, ep: Endpoint, container: str, obj: str, dst: Path) -> float:
        args = ep.api_args(container=container, obj=obj, dst=str(dst))
        ans, _ = run_worker("api_download", args, timeout=self.ctx.cfg.timeout)
        return ans["download_s"]


class CliClient(Client):
    """A CLI run as a subprocess: ours (`oio`) or OpenIO's (`openio`)."""

    def __init__(self, ctx: Any, name: str, exe: str) -> None:
        super().__init__(ctx)
        self.name = name
        self.exe = exe

    def run(self, ep: Endpoint, *args: str) -> ChildResult:
        if self.name == "openio":
            cmd = [self.exe, "--oio-ns", ep.namespace, "--oio-account", ep.account, *args]
            env = child_env(extra={"HOME": str(ep.openio_home)})
        else:
            cmd, env = [self.exe, *args], ep.oio_env()
        res = run_child(cmd, env=env, timeout=self.ctx.cfg.timeout)
        if res.returncode:
            raise RuntimeError(f"{self.name} {' '.join(args[:2])}: {res.error_line()}")
        return res

    def upload(self, ep: Endpoint, container: str, obj: str, policy: str) -> tuple[float, float]:
        src = str(self.ctx.source)
        res = self.run(ep, "object", "create", container, src, "--name", obj, "--policy", policy)
        return res.wall, res.maxrss_kib / 1024

    def download(self, ep: Endpoint, container: str, obj: str, dst: Path) -> float:
        verb = "save" if self.name == "openio" else "fetch"  # openio object save = oio fetch
        return self.run(ep, "object", verb, container, obj, "--file", str(dst)).wall


def evict_object(
    helper: Helper, ctx: Any, ep: Endpoint, container: str, obj: str, hide: int = 0
) -> dict:
    args = ep.api_args(
        container=container, obj=obj, roots=ep.roots, settle=ctx.cfg.settle, hide=hide
    )
    return helper.call("evict_object", args)


def _state(ans: dict[str, Any]) -> cache.CacheState:
    c = ans["cache"]
    return cache.CacheState(c["files"], c["pages"], c["resident"], c["method"])


def measure(
    ctx: Any,
    ep: Endpoint,
    policy: str,
    clients: list[Client],
    reps: int,
    degrade: bool = False,
) -> dict[str, Samples]:
    """`reps` repetitions of upload + cold download per client, alternating the clients.

    With `degrade`, the API client also downloads each erasure-coded object with the first m
    data fragments of every metachunk missing.
    """
    return measure_pairs(ctx, policy, [(c.name, ep, c) for c in clients], reps, degrade)


def measure_pairs(
    ctx: Any,
    policy: str,
    pairs: list[tuple[str, Endpoint, Client]],
    reps: int,
    degrade: bool = False,
) -> dict[str, Samples]:
    """As `measure`, for (key, endpoint, client) series that may be on different endpoints
    (the embedded backend beside the proxy one): they alternate in every repetition."""
    cfg = ctx.cfg
    container = f"xfer-{policy.lower()}"
    out = {key: Samples() for key, _, _ in pairs}
    with Helper() as helper:
        for _, ep, _ in pairs:
            dst = cfg.work_dir / f"download-{ep.label}.bin"
            warm_args = ep.api_args(container=container, policy=policy, dst=str(dst))
            helper.call("api_warmup", warm_args)
        for rep in range(reps):
            for key, ep, client in pairs if rep % 2 == 0 else pairs[::-1]:
                ctx.log(f"  {ep.label} {policy} {client.name}: upload, download ({rep + 1}/{reps})")
                dst = cfg.work_dir / f"download-{ep.label}.bin"
                _one(ctx, helper, ep, policy, client, container, dst, rep, degrade, out[key])
    return out


def _one(
    ctx: Any,
    helper: Helper,
    ep: Endpoint,
    policy: str,
    client: Client,
    container: str,
    dst: Path,
    rep: int,
    degrade: bool,
    got: Samples,
) -> None:
    obj = f"big-{client.name}-{rep}"
    settle(ctx.cfg.settle)
    got.source.append(cache.warm(ctx.source))
    up_s, rss = client.upload(ep, container, obj, policy)
    got.up_s.append(up_s)
    got.rss_mib.append(rss)
    try:
        got.cold.append(_state(evict_object(helper, ctx, ep, container, obj)))
        got.down_s.append(client.download(ep, container, obj, dst))
        if not _same(ctx, dst):
            got.bad.append(f"rep {rep + 1}")
        m = parity(client.chunk_method) if isinstance(client, ApiClient) else 0
        if degrade and m:
            _degraded(ctx, helper, ep, client, container, obj, dst, m, got, rep)
    finally:
        if dst.exists():
            dst.unlink()
        helper.call("api_delete", ep.api_args(container=container, obj=obj))
    if isinstance(client, ApiClient):
        got.chunk_method = client.chunk_method


def parse_method(method: str | None) -> dict[str, str]:
    """`ec/algo=isa_l_rs_vand,k=6,m=3` -> {"kind": "ec", "algo": ..., "k": "6", "m": "3"}."""
    if not method or "/" not in method:
        return {}
    kind, _, body = method.partition("/")
    out = dict(p.split("=", 1) for p in body.split(",") if "=" in p)
    out["kind"] = kind
    return out


def parity(method: str | None) -> int:
    """m of an erasure-coded chunk method, 0 for replication."""
    parsed = parse_method(method)
    return int(parsed.get("m", 0)) if parsed.get("kind") == "ec" else 0


def _same(ctx: Any, dst: Path) -> bool:
    return dst.stat().st_size == ctx.cfg.size and md5_file(dst) == ctx.source_md5


def _degraded(
    ctx: Any,
    helper: Helper,
    ep: Endpoint,
    client: ApiClient,
    container: str,
    obj: str,
    dst: Path,
    m: int,
    got: Samples,
    rep: int,
) -> None:
    dst.unlink()
    ans = evict_object(helper, ctx, ep, container, obj, hide=m)
    try:
        got.degraded_cold.append(_state(ans))
        got.degraded_s.append(client.download(ep, container, obj, dst))
        if not _same(ctx, dst):
            got.bad.append(f"degraded rep {rep + 1}")
    finally:
        helper.call("restore_hidden", {"hidden": ans["hidden"]})
