"""The conformance suite's helper for a real OpenIO SDS namespace (`OIO_TEST_PROXY`).

The API under test is the proxy backend pointed at the cluster's proxy. One
cluster serves every test, so each "fresh namespace" is a fresh set of
accounts: `TenantNamespace` puts every account name under a prefix of its own
on the wire and hides it on the way back (listings of accounts included), so a
scenario sees an empty namespace and never another test's data.

What a shared cluster cannot give is a capability a scenario asks for
(`requires(...)` marks, see conftest.py): its own chunk size, volumes or
policies, oiocli's event journal. Chunk files are reachable when the rawx
volumes the conscience announces are directories on this machine (a namespace
started by openio-sds.sh): faults are then injected on the rawx's own files,
xattrs included.

The cluster's deletions and account counters are asynchronous (event agents,
fed through beanstalkd): `asynchronous` tells `helpers.eventually` to poll.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import json
import os
import secrets
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from oiocli.api import ObjectStorageApi
from oiocli.backends.proxy.meta import ProxyNamespace, normalize_url

from .helpers import ChunkFiles

MiB = 1024 * 1024
TEST_CHUNK_SIZE = MiB
PROXY_ENV = "OIO_TEST_PROXY"
NAMESPACE_ENV = "OIO_TEST_NS"
DEFAULT_NAMESPACE = "OPENIO"
CHUNK_XATTR_PREFIX = "user.oio.content.fullpath:"

# Keyword arguments of ObjectStorageApi that configure a namespace: a shared cluster
# has its own, so a scenario giving one needs "namespace-config".
NAMESPACE_KWARGS = ("storage_policy", "volumes", "policies", "max_versions", "update_config")

# Capabilities (the names used by `requires(...)` marks). A shared cluster has the
# first (when its rawx volumes are on this machine) and its own policies (`policy:NAME`);
# the others are the embedded backend's and `oio namespace serve`'s only.
CHUNK_FILES = "chunk-files"  # read and damage chunk files on the storage's disks
EVENT_JOURNAL = "event-journal"  # oiocli's event journal (`namespace events`)
NAMESPACE_CONFIG = "namespace-config"  # a namespace of its own: chunk size, volumes...
FRAGMENT_RECORDS = "fragment-records"  # EC fragments' own size and hash in chunk records
WHOLE_ACCOUNT_NAMES = "whole-account-names"  # 63-byte account names (no tenant prefix)
# A corrupt chunk is never served: the embedded store checks its block CRCs, and the
# proxy backend the MD5 of every chunk it reads from a rawx that does not check its own.
READ_INTEGRITY = "read-integrity"


NOT_APPLICABLE = "not applicable on the cluster: requires "


class NotApplicable(pytest.skip.Exception):
    """A scenario needs a capability this backend does not have.

    Raised where the need shows (a fixture or the scenario asking for its own chunk
    size...), it is reported as a skip with its capability, and counted apart in
    the run's summary.
    """

    def __init__(self, capability: str, detail: str = "") -> None:
        super().__init__(f"{NOT_APPLICABLE}{capability}{' (' + detail + ')' if detail else ''}")
        self.capability = capability


def proxy_address() -> str | None:
    return os.environ.get(PROXY_ENV) or None


def _get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=30) as resp:
        return json.load(resp)


@functools.lru_cache(maxsize=1)
def cluster_info() -> dict[str, Any]:
    """What the conscience says of the namespace: chunk size, policies, rawx volumes."""
    proxy = normalize_url(proxy_address() or "")
    namespace = os.environ.get(NAMESPACE_ENV) or DEFAULT_NAMESPACE
    base = f"{proxy}/v3.0/{namespace}/conscience"
    info = _get_json(f"{base}/info")
    rawx = _get_json(f"{base}/list?type=rawx")
    volumes = {
        f"http://{s['addr']}": (s.get("tags") or {}).get("tag.vol") for s in rawx if s.get("addr")
    }
    local = bool(volumes) and all(v and os.path.isdir(v) for v in volumes.values())
    return {
        "proxy": proxy,
        "namespace": namespace,
        "chunk_size": int(info.get("chunksize") or 0),
        "policies": sorted(info.get("storage_policy") or {}),
        "volumes": volumes if local else {},
    }


def capabilities() -> set[str]:
    """The capabilities of the cluster (policies as `policy:NAME`)."""
    info = cluster_info()
    caps = {f"policy:{name}" for name in info["policies"]} | {READ_INTEGRITY}
    if info["volumes"]:
        caps.add(CHUNK_FILES)
    return caps


# ------------------------------------------------------------------- tenancy
_ACCOUNT_PARAMS = ("account", "dst_account")


def _tenant_call(method):
    """Map the account arguments of a public ProxyNamespace method, and its result.

    Only the outermost call of a thread maps: methods calling one another inside
    the backend already hold wire names.
    """
    names = list(inspect.signature(method).parameters)[1:]
    positions = [i for i, name in enumerate(names) if name in _ACCOUNT_PARAMS]

    @functools.wraps(method)
    def call(self: TenantNamespace, *args: Any, **kwargs: Any) -> Any:
        if getattr(self._tenant, "depth", 0):
            return method(self, *args, **kwargs)
        args_list = list(args)
        for i in positions:
            if i < len(args_list):
                args_list[i] = self.wire(args_list[i])
        for key in _ACCOUNT_PARAMS:
            if key in kwargs:
                kwargs[key] = self.wire(kwargs[key])
        self._tenant.depth = 1
        try:
            return self.unwire_result(method(self, *args_list, **kwargs))
        finally:
            self._tenant.depth = 0

    return call


class TenantNamespace(ProxyNamespace):
    """A ProxyNamespace whose accounts are `prefix + name` on the wire."""

    asynchronous = True  # for helpers.eventually: the cluster's event agents lag

    def __init__(self, *args: Any, prefix: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.prefix = prefix
        self._tenant = threading.local()

    def wire(self, account: str | None) -> str | None:
        return None if account is None else self.prefix + account

    def unwire(self, account: Any) -> Any:
        if isinstance(account, str) and account.startswith(self.prefix):
            return account[len(self.prefix) :]
        return account

    def unwire_result(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {
                k: (self.unwire(v) if k in ("account", "sys.account") else self.unwire_result(v))
                for k, v in value.items()
            }
        if isinstance(value, list):
            return [self.unwire_result(v) for v in value]
        return value

    def account_show(self, account: str) -> dict[str, Any]:
        info = _tenant_call(ProxyNamespace.account_show)(self, account)
        info["id"] = self.unwire(info.get("id"))
        return info

    def account_list(self, limit=None, marker=None, end_marker=None, prefix=None) -> list[str]:
        names = ProxyNamespace.account_list(
            self,
            limit=limit,
            marker=self.wire(marker) if marker else None,
            end_marker=self.wire(end_marker) if end_marker else None,
            prefix=self.prefix + (prefix or ""),
        )
        return [self.unwire(n) for n in names if n.startswith(self.prefix)]

    def account_refresh(self, account: str | None, reqid: str | None = None) -> None:
        for name in [account] if account is not None else self.account_list():
            ProxyNamespace.account_refresh(self, self.wire(name), reqid)

    def resolve_cid(self, cid: str) -> tuple[str, str]:
        account, name = ProxyNamespace.resolve_cid(self, cid)
        return self.unwire(account), name


for _name, _method in list(vars(ProxyNamespace).items()):
    if _name.startswith("_") or _name in vars(TenantNamespace) or not inspect.isfunction(_method):
        continue
    if set(inspect.signature(_method).parameters) & set(_ACCOUNT_PARAMS):
        setattr(TenantNamespace, _name, _tenant_call(_method))


# -------------------------------------------------------------------- helper
class ClusterBackend(ChunkFiles):
    """Fresh sets of accounts on the real namespace at OIO_TEST_PROXY."""

    name = "cluster"
    asynchronous = True

    def __init__(self, root: Path) -> None:
        self.root = root
        self.info = cluster_info()
        self._apis: dict[int, ObjectStorageApi] = {}

    def new_api(self, chunk_size: int | None = TEST_CHUNK_SIZE, **kwargs: Any) -> ObjectStorageApi:
        """A fresh, empty namespace: a new account prefix on the cluster."""
        asked = {k: kwargs.pop(k) for k in NAMESPACE_KWARGS if k in kwargs}
        if asked:
            raise NotApplicable(NAMESPACE_CONFIG, ", ".join(sorted(asked)))
        # None asks for the backend's default, which is the cluster's own.
        if chunk_size is not None and chunk_size != self.info["chunk_size"]:
            raise NotApplicable(
                NAMESPACE_CONFIG,
                f"chunk size {chunk_size} (the cluster's is {self.info['chunk_size']})",
            )
        kwargs.pop("data_dir", None)
        prefix = f"t{secrets.token_hex(4)}-"
        api = ObjectStorageApi(self.info["namespace"], proxy=self.info["proxy"], **kwargs)
        api.backend.close()
        api.backend = TenantNamespace(
            self.info["namespace"],
            self.info["proxy"],
            prefix=prefix,
            connection_timeout=kwargs.get("connection_timeout"),
            read_timeout=kwargs.get("read_timeout"),
            write_timeout=kwargs.get("write_timeout"),
        )
        api.chunks = api.backend.chunks
        self._apis[id(api)] = api
        return api

    def wire_account(self, api: ObjectStorageApi, account: str) -> str:
        """The name an account of `api`'s namespace has on the cluster."""
        return api.backend.wire(account)

    def connect_args(self, api: ObjectStorageApi) -> dict[str, Any]:
        """ObjectStorageApi kwargs reopening the cluster, and the namespace's account prefix
        (`account_prefix`: a child process puts it before the account names it uses)."""
        return {
            "namespace": self.info["namespace"],
            "proxy": self.info["proxy"],
            "account_prefix": api.backend.prefix,
        }

    # --------------------------------------------------------------- faults
    def _volume(self, url: str) -> str:
        if not self.info["volumes"]:
            raise NotApplicable(CHUNK_FILES, "the rawx volumes are not on this machine")
        service, _, _chunk_id = url.rpartition("/")
        try:
            return self.info["volumes"][service]
        except KeyError:
            raise KeyError(f"No rawx of the cluster serves chunk {url}") from None

    def chunk_path(self, url: str) -> str:
        """The rawx's file of a chunk: `<volume>/<first 3 hex digits>/<ID>` (OpenIO's
        default hash width 3, depth 1), whether the file exists or not."""
        volume = self._volume(url)
        chunk_id = url.rsplit("/", 1)[1].upper()
        return os.path.join(volume, chunk_id[:3], chunk_id)

    def chunk_file_count(self, api: ObjectStorageApi) -> int:
        """Chunk files of the namespace's accounts on every rawx (referenced or orphan).

        A Go rawx names the object of each chunk id in an xattr of its file (a hard
        link shares the file, each id has its own); the account is its first part.
        """
        if not self.info["volumes"]:
            raise NotApplicable(CHUNK_FILES, "the rawx volumes are not on this machine")
        prefix = api.backend.prefix
        count = 0
        for volume in self.info["volumes"].values():
            for dirpath, _dirs, files in os.walk(volume):
                for name in files:
                    if len(name) != 64:
                        continue
                    try:
                        full = os.getxattr(os.path.join(dirpath, name), CHUNK_XATTR_PREFIX + name)
                    except OSError:
                        continue  # removed meanwhile, or not a chunk
                    if full.decode("utf-8", "replace").startswith(_quoted(prefix)):
                        count += 1
        return count

    @contextlib.contextmanager
    def preserved_chunks(self, urls: list[str]) -> Iterator[None]:
        """Restore the chunks of `urls` on exit, with the xattrs the rawx reads them by."""
        saved = {}
        for url in urls:
            path = self.chunk_path(url)
            attrs = {k: os.getxattr(path, k) for k in os.listxattr(path)}
            saved[path] = (Path(path).read_bytes(), attrs, os.stat(path))
        try:
            yield
        finally:
            for path, (data, attrs, st) in saved.items():
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)  # never write through a hard link shared with another id
                Path(path).write_bytes(data)
                for key, value in attrs.items():
                    os.setxattr(path, key, value)
                os.chown(path, st.st_uid, st.st_gid)
                os.chmod(path, st.st_mode & 0o7777)

    def destroy(self, api: ObjectStorageApi) -> None:
        """Free a namespace's space: delete every object of its accounts."""
        self._wipe(api)

    def _wipe(self, api: ObjectStorageApi) -> None:
        for account in api.account_list():
            for row in api.container_list(account):
                with contextlib.suppress(Exception):
                    api.container_flush(account, row[0])
                with contextlib.suppress(Exception):
                    api.container_delete(account, row[0])

    def cleanup(self) -> None:
        """Close the connection pools; the test's accounts stay (`start` wipes a namespace)."""
        for api in self._apis.values():
            api.backend.close()
        self._apis.clear()


def _quoted(prefix: str) -> str:
    from urllib.parse import quote

    return quote(prefix, safe="")
