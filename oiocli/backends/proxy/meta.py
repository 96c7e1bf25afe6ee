"""`ProxyNamespace`: the metadata backend of `ObjectStorageApi` over OpenIO's proxy.

It has the methods and attributes of `EmbeddedNamespace`'s name-based API (the
ones the facade and the checks use), each mapped onto HTTP requests to an
OpenIO proxy (`/v3.0/<NS>/...`) and to its account service (`/v1.0/account/...`),
as OpenIO SDS 7.3.0's own clients send them (`oio/container/client.py`,
`oio/account/client.py`; the proxy's routes in its `proxy/` sources). Where one
embedded call needs several requests (a truncate, an unbounded listing), the
requests are ordered so that a failure in the middle leaves the object consistent.

Four places where the facade's calls carry less than the protocol wants are
bridged here, per thread (the facade calls them from the caller's thread):

- `content_prepare` is not told the object's name: `content/prepare2` gets a
  placeholder path (the proxy only uses it to compute chunk ids);
- `chunk_targets(count)` is told neither the container nor the policy: it uses
  those of the thread's last `content_prepare` (or `content_locate`, for a
  truncate), and the first call after a prepare uses the targets the prepare
  already returned;
- a rawx wants each chunk's full path (account/container/...), while the chunk
  metadata names only the container id: the ids of containers this client has
  addressed are remembered (`names_of`);
- a rawx links a chunk (COPY) only given the full path of the object the link
  belongs to, which the facade's `chunks.link` does not say: such links wait in
  the thread's context and are made by the `content_create` that commits them.
"""

from __future__ import annotations

import contextlib
import secrets
import threading
from collections import OrderedDict
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import unquote, urlsplit

from oiocli.backends.base import (
    AccountRecord,
    ContainerLocation,
    ContentRecord,
    EventRecord,
    ObjectListing,
    UploadPlan,
)
from oiocli.backends.proxy.chunks import HttpChunkStore
from oiocli.backends.proxy.http import DEFAULT_RETRIES, HttpClient
from oiocli.backends.stores import ChunkStores
from oiocli.core import wire
from oiocli.core.chunks import NO_FRAGMENT, ChunkRecord, parse_position, shift_position
from oiocli.core.exceptions import (
    BadRequest,
    ChunkNotFound,
    ClientException,
    Conflict,
    ContainerFrozen,
    ContentDrained,
    NoSuchContainer,
    NoSuchObject,
    NotFound,
    OioException,
)
from oiocli.core.storage_method import PolicyTable, parse_method

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from oiocli.core.storage_method import StorageMethod

LIST_PAGE = 1000
LIST_PAGE_MAX = 10000
PLACEHOLDER_PATH = ".oiocli-upload"
NAMES_CACHE = 4096
SNAPSHOT_BATCH = 100  # chunk records swapped per container/raw_update
# The namespace defaults when the conscience does not tell them.
DEFAULT_POLICY = "SINGLE"


def normalize_url(url: str) -> str:
    """`host:port` or `http://host:port/` -> `http://host:port`."""
    url = url.strip()
    if "://" not in url:
        url = "http://" + url
    parts = urlsplit(url)
    if not parts.netloc:
        raise BadRequest(f"Invalid proxy URL {url!r}")
    return f"{parts.scheme}://{parts.netloc}"


def _fragment_fields(chunk: Mapping[str, Any]) -> dict[str, Any]:
    """oiocli's extension to OpenIO's chunk records (whose "size" and "hash" are the
    metachunk's): an EC fragment's own size and MD5, when known."""
    fields: dict[str, Any] = {}
    if chunk.get("chunk_size") is not None:
        fields["chunk_size"] = int(chunk["chunk_size"])
    if chunk.get("chunk_hash"):
        fields["chunk_hash"] = chunk["chunk_hash"]
    return fields


class ProxyNamespace:
    """Metadata of one namespace, served by an OpenIO proxy and account service."""

    data_dir = None  # nothing local: the namespace lives behind the proxy

    def __init__(
        self,
        namespace: str,
        proxy: str,
        *,
        account_url: str | None = None,
        http: HttpClient | None = None,
        connection_timeout: float | None = None,
        read_timeout: float | None = None,
        write_timeout: float | None = None,
        retries: int | None = None,
        request_id: str | None = None,
        admin: bool = False,
    ) -> None:
        self.namespace = namespace
        self.proxy_url = normalize_url(proxy)
        self.http = http or HttpClient(
            connection_timeout=connection_timeout,
            read_timeout=read_timeout,
            write_timeout=write_timeout,
            retries=DEFAULT_RETRIES if retries is None else retries,
            request_id=request_id,
        )
        self._account_url = normalize_url(account_url) if account_url else None
        self.admin = admin
        self._info: dict[str, Any] | None = None
        self._delete_says_what = False  # whether the proxy reports delete markers
        # (account, container) -> whether it keeps versions, as the last delete found
        self._keeps_versions: dict[tuple[str, str], bool] = {}
        self._info_lock = threading.Lock()
        self._local = threading.local()
        self._names: OrderedDict[str, tuple[str, str]] = OrderedDict()
        self._names_lock = threading.Lock()
        rawx = HttpChunkStore(self.http, self.names_of, self._defer_link)
        self.chunks = ChunkStores({"http://": rawx, "https://": rawx})

    def close(self) -> None:
        self.http.close()

    # ------------------------------------------------------------ plumbing
    def _url(self, resource: str) -> str:
        return f"{self.proxy_url}/{wire.API_VERSION}/{self.namespace}/{resource}"

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = dict(extra or {})
        if self.admin:
            headers["x-oio-admin"] = "1"
        return headers

    def _proxy(
        self,
        method: str,
        resource: str,
        params: dict[str, Any] | None = None,
        *,
        json_body: Any = None,
        headers: dict[str, str] | None = None,
        reqid: str | None = None,
        idempotent: bool | None = None,
        ok: tuple[int, ...] = (200, 201, 202, 204, 206),
    ) -> tuple[Any, Any]:
        if idempotent is None:
            idempotent = method in ("GET", "HEAD")
        return self.http.call(
            method,
            self._url(resource),
            params=params,
            json_body=json_body,
            headers=self._headers(headers),
            reqid=reqid,
            idempotent=idempotent,
            ok=ok,
            what=f"{resource}",
        )

    def _remember(self, account: str, container: str) -> dict[str, Any]:
        """Addressing params of a container; its id is remembered for chunk full paths."""
        cid = wire.compute_cid(account, container)
        with self._names_lock:
            self._names[cid] = (account, container)
            self._names.move_to_end(cid)
            while len(self._names) > NAMES_CACHE:
                self._names.popitem(last=False)
        return {"acct": account, "ref": container}

    def names_of(self, meta: dict[str, Any]) -> tuple[str, str] | None:
        """(account, container) of a chunk being written, from its metadata."""
        cid = meta.get("container_id")
        with self._names_lock:
            if cid and cid in self._names:
                return self._names[cid]
        ctx = getattr(self._local, "ctx", None)
        if ctx is not None:  # repairs name no container id: the thread's last object
            return ctx["account"], ctx["container"]
        return None

    def _defer_link(self, url: str, new_url: str) -> None:
        """Keep a link asked without a full path for the thread's next `content_create`."""
        links = getattr(self._local, "links", None)
        if links is None:
            links = self._local.links = {}
        links[new_url] = url

    def _make_links(self, chunks: list[dict[str, Any]], full_path: str) -> None:
        """Make the deferred links among `chunks`, now that their object is named."""
        links = getattr(self._local, "links", None)
        self._local.links = None
        if not links:
            return
        for chunk in chunks:
            source = links.pop(chunk["url"], None)
            if source is not None:
                self.chunks.link(source, chunk["url"], full_path=full_path)

    # ----------------------------------------------------------- namespace
    # ------------------------------------------------------------ cloud tier
    tier_key_file: str | None = None  # the caller's --key-file (TierChunks)

    def tier_chunks(
        self,
        method: StorageMethod,
        account: str = "",
        container: str = "",
        key_file: str | None = None,
        cid: str | None = None,
    ) -> Any:
        """The bucket of a tier policy (`backblaze/`, `s3/`), for one container's chunks.

        As with OpenIO's client, the proxy only places and records `b2/<id>`
        chunks: the client puts and gets them in the bucket itself, with the
        caller's key file. The tier module (and botocore) is imported here only.
        """
        from oiocli.backends.cloud import tier_store

        return tier_store(
            method, cid or wire.compute_cid(account, container), key_file or self.tier_key_file
        )

    def _namespace_info(self) -> dict[str, Any]:
        with self._info_lock:
            if self._info is None:
                _resp, info = self._proxy("GET", "conscience/info")
                if not isinstance(info, dict):
                    raise BadRequest(f"Proxy {self.proxy_url}: unexpected conscience/info reply")
                self._info = info
            return self._info

    def _services(self, service_type: str) -> list[dict[str, Any]]:
        _resp, services = self._proxy("GET", "conscience/list", {"type": service_type})
        return services if isinstance(services, list) else []

    def _settings(self) -> dict[str, Any]:
        """The namespace's settings, from the (cached) conscience answer."""
        info = self._namespace_info()
        options = info.get("options") or {}
        return {
            "namespace": info.get("ns", self.namespace),
            "proxy": self.proxy_url,
            "chunk_size": int(info.get("chunksize") or options.get("ns.chunk_size") or 0),
            # OpenIO's conscience says "storage_policy"; oio namespace serve the sds.conf key.
            "storage_policy": options.get("storage_policy")
            or options.get("ns.storage_policy")
            or DEFAULT_POLICY,
            "max_versions": int(options.get("meta2.max_versions", 1)),
            "policies": self._policies(info),
        }

    @property
    def config(self) -> dict[str, Any]:
        """Settings and the rawx services, in the shape of the embedded namespace's config."""
        return dict(self._settings(), volumes=self.volumes)

    @staticmethod
    def _policies(info: dict[str, Any]) -> dict[str, str]:
        """Policy name -> chunk method, from `storage_policy` and `data_security`."""
        securities = info.get("data_security") or {}
        result = {}
        for name, spec in (info.get("storage_policy") or {}).items():
            _pool, _, security = str(spec).partition(":")
            security = security or _pool
            if security in ("", "NONE"):
                result[name] = "plain/nb_copy=1"
            elif security in securities:
                result[name] = str(securities[security])
            elif "/" in security:
                result[name] = security
        return result

    @property
    def policies(self) -> PolicyTable:
        table = getattr(self, "_policy_table", None)
        if table is None:
            table = self._policy_table = PolicyTable(self._policies(self._namespace_info()) or None)
        return table

    @property
    def chunk_size(self) -> int:
        return int(self._settings()["chunk_size"])

    @property
    def default_policy(self) -> str:
        return self._settings()["storage_policy"]

    @property
    def volumes(self) -> list[str]:
        """The rawx services (`http://host:port`), the proxy backend's volumes."""
        return [
            "http://" + str(s.get("addr"))
            for s in self._services("rawx")
            if s.get("addr") and s.get("score", 1) != 0
        ]

    def volume_list(self) -> list[dict[str, Any]]:
        """The rawx services as the conscience lists them (in `volume list`'s shape)."""
        rows = []
        for service in self._services("rawx"):
            tags = service.get("tags") or {}
            up = bool(tags.get("tag.up", True)) and service.get("score", 1) != 0
            rows.append(
                {
                    "volume": tags.get("tag.service_id") or service.get("addr"),
                    "path": "http://" + str(service.get("addr")),
                    "chunks": None,
                    "bytes": None,
                    "free": None,
                    "state": "ok" if up else "down",
                    "location": tags.get("tag.vol"),
                }
            )
        return rows

    def volume_of(self, url: str) -> str:
        return wire.split_chunk_url(url)[0]

    def event_list(
        self, since: float | None = None, limit: int | None = None, **kwargs: Any
    ) -> list[EventRecord]:
        """The event journal, served by `oio namespace serve` only (an oiocli extension).

        An OpenIO SDS cluster sends its events to its own queue (beanstalkd, Kafka):
        a real proxy answers 404, reported as such.
        """
        params = {"since": since, "limit": limit, "marker": kwargs.get("marker")}
        try:
            _resp, body = self._proxy("GET", "oiocli/events", params)
        except NotFound as exc:
            if isinstance(exc, (NoSuchContainer, NoSuchObject)):
                raise
            raise BadRequest(
                f"The proxy at {self.proxy_url} serves no event journal: an OpenIO SDS "
                "cluster sends its events to its own event queue (beanstalkd or Kafka)"
            ) from None
        return list(body or [])  # the journal's entries, as `oio namespace serve` sends them

    # ------------------------------------------------------------ accounts
    @property
    def account_url(self) -> str:
        if self._account_url is None:
            url = None
            try:
                services = self._services("account")
            except (BadRequest, NoSuchContainer):
                services = []
            for service in services:
                if service.get("addr"):
                    url = "http://" + str(service["addr"])
                    break
            self._account_url = url or self.proxy_url
        return self._account_url

    def _account(
        self,
        method: str,
        action: str,
        account: str | None,
        params: dict[str, Any] | None = None,
        *,
        json_body: Any = None,
        reqid: str | None = None,
        ok: tuple[int, ...] = (200, 201, 202, 204),
        idempotent: bool | None = None,
    ) -> tuple[Any, Any]:
        params = dict(params or {})
        if account is not None:
            params["id"] = account
        if idempotent is None:
            idempotent = method == "GET"
        resp, body = self.http.call(
            method,
            f"{self.account_url}{wire.ACCOUNT_PREFIX}/{action}",
            params=params,
            json_body=json_body,
            reqid=reqid,
            idempotent=idempotent,
            ok=ok,
            what=f"account/{action}",
        )
        return resp, body

    def _no_such_account(self, exc: Exception, account: str) -> Exception:
        from oiocli.core.exceptions import NoSuchAccount, NotFound

        if isinstance(exc, NotFound) and not isinstance(exc, NoSuchAccount):
            return NoSuchAccount(
                f"Account {account!r} not found", reqid=getattr(exc, "reqid", None)
            )
        return exc

    def account_create(self, account: str, reqid: str | None = None) -> bool:
        resp, _ = self._account("PUT", "create", account, reqid=reqid)
        return resp.status == 201

    def account_show(self, account: str) -> AccountRecord:
        try:
            _resp, body = self._account("GET", "show", account)
        except Exception as exc:
            raise self._no_such_account(exc, account) from None
        info = dict(body or {})
        info.setdefault("id", account)
        for key in ("bytes", "objects", "containers"):
            info[key] = int(info.get(key) or 0)
        for key in ("ctime", "mtime"):
            if isinstance(info.get(key), str):
                info[key] = float(info[key])
        info["metadata"] = dict(info.get("metadata") or {})
        return cast(AccountRecord, info)  # the account service's reply, counters made numbers

    def account_delete(self, account: str, reqid: str | None = None) -> None:
        from oiocli.core.exceptions import AccountNotEmpty, Conflict

        try:
            self._account("POST", "delete", account, reqid=reqid)
        except Conflict as exc:
            raise AccountNotEmpty(str(exc), reqid=exc.reqid) from None
        except Exception as exc:
            raise self._no_such_account(exc, account) from None

    def account_list(self, limit=None, marker=None, end_marker=None, prefix=None) -> list[str]:
        params = {"limit": limit, "marker": marker, "end_marker": end_marker, "prefix": prefix}
        _resp, body = self._account("GET", "list", None, params)
        if isinstance(body, dict):  # newer account services page their answer
            names = [a["id"] if isinstance(a, dict) else a for a in body.get("listing", [])]
        else:
            names = list(body or [])
        # Older services ignore the paging parameters: apply them here too.
        names = sorted(str(n) for n in names)
        names = [
            n
            for n in names
            if (not marker or n > marker)
            and (not end_marker or n < end_marker)
            and (not prefix or n.startswith(prefix))
        ]
        return names[: int(limit)] if limit else names

    def account_update_metadata(
        self, account: str, set_: dict[str, str], delete: Iterable[str], reqid: str | None
    ) -> None:
        body = {"metadata": dict(set_), "to_delete": list(delete)}
        try:
            self._account("PUT", "update", account, json_body=body, reqid=reqid, idempotent=True)
        except Exception as exc:
            raise self._no_such_account(exc, account) from None

    def account_refresh(self, account: str | None, reqid: str | None = None) -> None:
        names = [account] if account is not None else self.account_list()
        for name in names:
            try:
                self._account("POST", "refresh", name, reqid=reqid, idempotent=True)
            except Exception as exc:
                raise self._no_such_account(exc, name) from None

    def account_flush(self, account: str, reqid: str | None = None) -> None:
        try:
            self._account("POST", "flush", account, reqid=reqid, idempotent=True)
        except Exception as exc:
            raise self._no_such_account(exc, account) from None

    def container_list(
        self, account: str, limit=None, marker=None, end_marker=None, prefix=None, delimiter=None
    ) -> list[list[Any]]:
        """Rows `[name, objects, bytes, is_prefix, mtime]`; every row when `limit` is None."""
        rows: list[list[Any]] = []
        while True:
            want = LIST_PAGE_MAX if not limit else min(int(limit) - len(rows), LIST_PAGE_MAX)
            params = {
                "limit": want,
                "marker": marker,
                "end_marker": end_marker,
                "prefix": prefix,
                "delimiter": delimiter,
            }
            try:
                _resp, body = self._account("GET", "containers", account, params)
            except Exception as exc:
                raise self._no_such_account(exc, account) from None
            raw = [list(r) for r in (body or {}).get("listing", [])]
            leading = bool(delimiter) and not prefix
            rows.extend(_leading_delimiter(raw, delimiter, marker) if leading else raw)
            if not raw or len(raw) < want or (limit and len(rows) >= int(limit)):
                break
            last = raw[-1]
            # After a common prefix, jump past every name under it.
            if leading and str(last[0]).startswith(delimiter):
                marker = delimiter + "\U0010ffff"
            else:
                marker = last[0] + "\U0010ffff" if last[3] else last[0]
        return rows[: int(limit)] if limit else rows

    # ---------------------------------------------------------- containers
    def container_create(
        self,
        account: str,
        name: str,
        properties: dict[str, str] | None = None,
        system: dict[str, str] | None = None,
        reqid: str | None = None,
        autocreate_account: bool = True,
    ) -> bool:
        resp, _ = self._proxy(
            "POST",
            "container/create",
            self._remember(account, name),
            json_body={"properties": dict(properties or {}), "system": dict(system or {})},
            headers={wire.ACTION_MODE_HEADER: "autocreate"} if autocreate_account else None,
            reqid=reqid,
        )
        return resp.status == 201

    def container_delete(self, account: str, name: str, reqid: str | None = None) -> None:
        self._proxy("POST", "container/destroy", self._remember(account, name), reqid=reqid)

    def container_props(self, account: str, container: str) -> dict[str, str]:
        _resp, body = self._proxy(
            "POST",
            "container/get_properties",
            self._remember(account, container),
            json_body=[],
            idempotent=True,
        )
        body = body or {}
        props = {f"user.{k}": str(v) for k, v in (body.get("properties") or {}).items()}
        props.update({k: str(v) for k, v in (body.get("system") or {}).items()})
        return props

    def container_set_props(
        self,
        account: str,
        name: str,
        props: dict[str, str],
        clear_user: bool = False,
        delete: Iterable[str] = (),
        reqid: str | None = None,
    ) -> None:
        params = self._remember(account, name)
        delete = list(delete)
        if delete:
            keys = [k[5:] if k.startswith("user.") else k for k in delete]
            self._proxy(
                "POST",
                "container/del_properties",
                params,
                json_body=keys,
                reqid=reqid,
                idempotent=True,
            )
        user = {k[5:]: v for k, v in props.items() if k.startswith("user.")}
        system = {k: v for k, v in props.items() if not k.startswith("user.")}
        if clear_user and not props:
            # OpenIO: deleting an empty list of keys deletes them all.
            self._proxy(
                "POST",
                "container/del_properties",
                params,
                json_body=[],
                reqid=reqid,
                idempotent=True,
            )
            return
        if props or not delete:
            self._proxy(
                "POST",
                "container/set_properties",
                dict(params, flush=1) if clear_user else params,
                json_body={"properties": user, "system": system},
                reqid=reqid,
                idempotent=True,
            )

    def container_touch(
        self, account: str, name: str, recompute: bool = False, reqid: str | None = None
    ) -> None:
        params = self._remember(account, name)
        if recompute:
            params["recompute"] = 1
        self._proxy("POST", "container/touch", params, reqid=reqid, idempotent=True)

    def container_locate(self, account: str, container: str) -> ContainerLocation:
        resp, _ = self._proxy("GET", "container/show", self._remember(account, container))
        sys_headers = {
            k.lower()[len(wire.CONTAINER_PREFIX) :]: unquote(v)
            for k, v in resp.headers.items()
            if k.lower().startswith(wire.CONTAINER_PREFIX)
        }
        cid = wire.compute_cid(account, container)
        status = sys_headers.get("sys-status", "0")
        # meta2's values (sqliterepo's ADMIN_STATUS_*: 0, (guint32)-1, (guint32)-2), and
        # those `oio namespace serve` used to answer.
        names = {
            "0": "Enabled",
            str(2**32 - 1): "Frozen",
            str(2**32 - 2): "Disabled",
            str(0x2000000): "Frozen",
            str(0x4000000): "Disabled",
        }
        return {
            "account": account,
            "name": container,
            "cid": cid,
            "base_name": sys_headers.get("sys-name") or f"{cid}.1",
            "path": sys_headers.get("sys-peers") or self.proxy_url,
            "status": names.get(status, status),
        }

    def container_snapshot(
        self,
        account: str,
        container: str,
        dst_account: str,
        dst_container: str,
        reqid: str | None = None,
    ) -> None:
        """A frozen, independent copy, made as OpenIO's clients make it.

        The source is frozen (unless it already was) while the proxy copies its
        database; then every chunk of the copy is linked under a new id carrying
        the copy's full path (rawx COPY) and the records are swapped
        (`container/raw_update`), so that the copy no longer shares chunk files
        with the source; the source is re-enabled whatever happens.
        """
        src = self._remember(account, container)
        dst = self._remember(dst_account, dst_container)
        status = self.container_props(account, container).get("sys.status", "0")
        freeze = status in ("", "0")
        if freeze:
            self._proxy("POST", "admin/freeze", dict(src, type="meta2"), reqid=reqid)
        try:
            try:
                self._proxy(
                    "POST",
                    "container/snapshot",
                    src,
                    json_body={"account": dst_account, "container": dst_container},
                    reqid=reqid,
                )
            except BadRequest as exc:
                if "already exists" not in str(exc):  # OpenIO's proxy: a plain 400
                    raise
                raise Conflict(str(exc), reqid=exc.reqid) from None
            self._relink(dst_account, dst_container, reqid, source=(account, container))
            self._proxy("POST", "container/touch", dst, reqid=reqid, idempotent=True)
        finally:
            if freeze:
                # A source deleted once its copy was made has nothing left to re-enable:
                # the snapshot stands (its own container is whole and frozen).
                with contextlib.suppress(NoSuchContainer):
                    self._proxy("POST", "admin/enable", dict(src, type="meta2"), reqid=reqid)

    def _relink(
        self, account: str, container: str, reqid: str | None, source: tuple[str, str]
    ) -> None:
        """Give every chunk of a (frozen) container a new id of its own.

        A cloud tier chunk is copied in its bucket from the source container's
        key to the copy's (`_tier_relink`); the others are linked on their rawx.
        """
        old: list[dict[str, Any]] = []
        tier: dict[str, _TierCopier | None] = {}  # chunk method -> its bucket copier
        new: list[dict[str, Any]] = []
        params = dict(self._remember(account, container), frozen=1)

        def flush() -> None:
            if old:
                self._proxy(
                    "POST",
                    "container/raw_update",
                    params,
                    json_body={"old": old, "new": new},
                    reqid=reqid,
                )
            old.clear()
            new.clear()

        try:
            for name, version in self.container_versions(account, container):
                located = self._content_params(account, container, name, version)
                located["properties"] = "false"
                try:
                    resp, body = self._proxy("GET", "content/locate", located)
                except ContentDrained:
                    continue  # a drained object has no chunk to relink
                content = wire.content_meta_from_headers(resp.headers, account, container)
                content_id = content["id"]
                path = wire.full_path(account, container, name, version, content_id)
                tier_copy = self._tier_copier(
                    tier, content["chunk_method"], source, account, container
                )
                for chunk in body or []:
                    bean = {
                        "type": "chunk",
                        "id": chunk["url"],
                        "hash": chunk.get("hash") or "",
                        "size": int(chunk["size"]),
                        "pos": str(chunk["pos"]),
                        "content": content_id,
                    }
                    if tier_copy is not None:  # a bucket copy, in the copy's container
                        copied = tier_copy(chunk["url"])
                        if copied is None:
                            continue
                        new_url = copied
                    else:
                        new_url = self.link_target(chunk["url"])
                        self.chunks.link(chunk["url"], new_url, full_path=path)
                    old.append(bean)
                    new.append(dict(bean, id=new_url, **_fragment_fields(chunk)))
                    if len(old) >= SNAPSHOT_BATCH:
                        flush()
            flush()
        except BaseException:
            for bean in new:  # linked, not swapped in: nothing will reference them
                copier = next((c for c in tier.values() if c and bean["id"] in c.urls), None)
                with contextlib.suppress(OioException):
                    (copier.store if copier else self.chunks).delete(bean["id"])
            raise

    def _tier_copier(
        self,
        copiers: dict[str, _TierCopier | None],
        chunk_method: str,
        source: tuple[str, str],
        account: str,
        container: str,
    ) -> _TierCopier | None:
        """The bucket copier of a tier chunk method (cached in `copiers`), else None."""
        if chunk_method not in copiers:
            method = parse_method(chunk_method) if chunk_method != "drained" else None
            copiers[chunk_method] = None
            if method is not None and method.is_tier:
                copiers[chunk_method] = _TierCopier(
                    method.chunk_prefix,
                    self.tier_chunks(method, *source),
                    self.tier_chunks(method, account, container),
                )
        return copiers[chunk_method]

    def resolve_cid(self, cid: str) -> tuple[str, str]:
        _resp, body = self._proxy("GET", "reference/show", {"cid": cid.upper()})
        body = body or {}
        if not body.get("account") or not body.get("name"):
            raise NoSuchContainer(f"Container with id {cid!r} not found")
        self._remember(body["account"], body["name"])
        return body["account"], body["name"]

    # ------------------------------------------------------------ contents
    def _set_context(self, account: str, container: str, **values: Any) -> dict[str, Any]:
        ctx = {"account": account, "container": container, "targets": None, "policy": None}
        ctx.update(values)
        self._local.ctx = ctx
        return ctx

    def content_prepare(
        self,
        account: str,
        container: str,
        policy: str | None = None,
        autocreate: bool = True,
        reqid: str | None = None,
    ) -> UploadPlan:
        params = self._remember(account, container)
        params["path"] = PLACEHOLDER_PATH
        headers = {wire.ACTION_MODE_HEADER: "autocreate"} if autocreate else None
        body: dict[str, Any] = {"size": self.chunk_size}
        if policy:
            body["policy"] = policy
        resp, reply = self._proxy(
            "POST",
            "content/prepare2",
            params,
            json_body=body,
            headers=headers,
            reqid=reqid,
            idempotent=True,
        )
        meta = wire.content_meta_from_headers(resp.headers, account, container)
        chunk_size = resp.headers.get(wire.CHUNK_SIZE_HEADER)
        chunks = reply.get("chunks", []) if isinstance(reply, dict) else list(reply or [])
        urls = [c["url"] for c in sorted(chunks, key=lambda c: _pos_key(c.get("pos", "0")))]
        # The real proxy's prepare2 only places chunks: the container is created (when
        # missing, if asked) by the commit, as OpenIO's client has it.
        self._set_context(
            account, container, targets=urls, policy=meta["policy"], autocreate=autocreate
        )
        self._local.links = None  # links a failed operation left unmade
        return {
            "cid": wire.compute_cid(account, container),
            "policy": meta["policy"] or policy or self.default_policy,
            "chunk_method": meta["chunk_method"],
            "chunk_size": int(chunk_size) if chunk_size else self.chunk_size,
            "version": meta["version"],
            "content_id": meta["id"],
        }

    def chunk_targets(self, count: int) -> list[str]:
        """Chunk URLs for one metachunk, placed by the proxy (`content/prepare2`)."""
        ctx = getattr(self._local, "ctx", None)
        if ctx is None:
            raise BadRequest("No container to place chunks for (content_prepare first)")
        targets = ctx.get("targets")
        ctx["targets"] = None
        if targets and len(targets) == count:
            return list(targets)
        params = {"acct": ctx["account"], "ref": ctx["container"], "path": PLACEHOLDER_PATH}
        body = {"size": self.chunk_size, "policy": self._policy_for(count, ctx.get("policy"))}
        _resp, reply = self._proxy(
            "POST", "content/prepare2", params, json_body=body, idempotent=True
        )
        chunks = reply.get("chunks", []) if isinstance(reply, dict) else list(reply or [])
        urls = [c["url"] for c in sorted(chunks, key=lambda c: _pos_key(c.get("pos", "0")))]
        if len(urls) != count:
            raise BadRequest(f"The proxy placed {len(urls)} chunks, {count} expected")
        return urls

    def _policy_for(self, count: int, preferred: str | None) -> str:
        """A policy placing `count` chunks per metachunk: the preferred one if it fits."""
        table = self.policies
        candidates = [preferred, self.default_policy, *sorted(table.methods)]
        for name in candidates:
            if name and name in table.methods:
                if table.method(name).chunks_per_metachunk == count:
                    return name
        raise BadRequest(f"No storage policy places {count} chunks per metachunk")

    def link_target(self, url: str) -> str:
        """A new chunk URL on the same rawx as `url` (a COPY there is a hard link)."""
        service, _ = wire.split_chunk_url(url)
        return f"{service}/{secrets.token_hex(32).upper()}"

    def _content_params(
        self, account: str, container: str, name: str, version: int | None = None
    ) -> dict[str, Any]:
        params: dict[str, Any] = self._remember(account, container)
        params["path"] = name
        if version is not None:
            params["version"] = version
        return params

    def content_get(
        self,
        account: str,
        container: str,
        name: str,
        version: int | None = None,
        allow_deleted: bool = False,
    ) -> ContentRecord:
        # The proxy shows delete markers when asked for a version, hides them otherwise:
        # the embedded backend's `allow_deleted` is exactly `version is not None`.
        resp, body = self._proxy(
            "POST",
            "content/get_properties",
            self._content_params(account, container, name, version),
            json_body=[],
            idempotent=True,
        )
        meta = wire.content_meta_from_headers(resp.headers, account, container)
        meta["properties"] = dict((body or {}).get("properties") or {})
        if meta["deleted"] and not allow_deleted:
            raise NoSuchObject(f"Object {name!r} not found in container {container!r}")
        return meta

    def content_locate(
        self, account: str, container: str, name: str, version: int | None = None
    ) -> tuple[ContentRecord, list[ChunkRecord]]:
        params = self._content_params(account, container, name, version)
        params["properties"] = "false"
        try:
            resp, body = self._proxy("GET", "content/locate", params)
        except ContentDrained as exc:  # OpenIO's message does not name the object
            raise ContentDrained(f"Object {name!r} is drained: {exc}", reqid=exc.reqid) from None
        meta = wire.content_meta_from_headers(resp.headers, account, container)
        # Properties come from their own request: in locate's headers a property could
        # not be told from a system field of the same name.
        _r, props = self._proxy(
            "POST",
            "content/get_properties",
            self._content_params(account, container, name, meta["version"]),
            json_body=[],
            idempotent=True,
        )
        meta["properties"] = dict((props or {}).get("properties") or {})
        chunks: list[ChunkRecord] = []
        for raw in body or []:
            chunk: ChunkRecord = {
                "url": raw["url"],
                "real_url": raw.get("real_url") or raw["url"],
                "pos": str(raw["pos"]),
                "size": int(raw["size"]),
                "hash": raw.get("hash") or None,
            }
            # oiocli's extension (an OpenIO proxy has neither): an EC fragment's own
            # size and MD5; "size" and "hash" are the metachunk's, as in OpenIO.
            if raw.get("chunk_size") is not None:
                chunk["chunk_size"] = int(raw["chunk_size"])
            if raw.get("chunk_hash"):
                chunk["chunk_hash"] = str(raw["chunk_hash"]).upper()
            chunks.append(chunk)
        self._set_context(
            account, container, policy=meta["policy"], path=name, version=meta["version"]
        )
        return meta, chunks

    def content_create(self, account: str, container: str, name: str, **kwargs: Any) -> int:
        version = kwargs["version"]
        params = self._content_params(account, container, name)
        if kwargs.get("append"):
            params["append"] = 1
        if kwargs.get("restore_drained"):
            params["restore_drained"] = 1
        if kwargs.get("keep_version"):
            params["change_policy"] = 1
        meta = {
            "length": kwargs["size"],
            "size": kwargs["size"],
            "id": kwargs["content"],
            "policy": kwargs["policy"],
            "version": version,
            "mime-type": kwargs.get("mime_type") or "application/octet-stream",
            "chunk-method": kwargs["chunk_method"],
        }
        if kwargs.get("hsh"):  # none after an append or a truncate (meta2 refuses "")
            meta["hash"] = kwargs["hsh"]
        headers = wire.content_request_headers(meta)
        chunks = [_chunk_record(chunk) for chunk in kwargs.get("chunks") or []]
        self._make_links(
            chunks, wire.full_path(account, container, name, version, kwargs["content"])
        )
        if kwargs.get("append"):
            chunks = _from_position_zero(chunks)
        ctx = getattr(self._local, "ctx", None)
        if ctx and ctx.get("autocreate") and ctx["account"] == account:
            if ctx["container"] == container:  # as the prepare of this upload asked
                headers[wire.ACTION_MODE_HEADER] = "autocreate"
        resp, _ = self._proxy(
            "POST",
            "content/create",
            params,
            json_body={"chunks": chunks, "properties": dict(kwargs.get("properties") or {})},
            headers=headers,
            reqid=kwargs.get("reqid"),
        )
        if ctx is not None:
            ctx["targets"] = None
        final = resp.headers.get(wire.CONTENT_PREFIX + "version")
        return int(final) if final else int(version)

    def content_delete(
        self,
        account: str,
        container: str,
        name: str,
        version: int | None = None,
        reqid: str | None = None,
    ) -> tuple[bool, int]:
        """Delete an object (or one version): (delete marker created or removed, version).

        oiocli's serve says what it did in headers. OpenIO's proxy answers a bare 204:
        the version deleted is then read before, the delete marker left, if any, after.
        """
        before = None
        if not self._delete_says_what:
            try:
                before = self.content_get(
                    account, container, name, version, allow_deleted=version is not None
                )
            except NoSuchObject:
                pass  # the delete itself says so
        resp = self._delete_alias(account, container, name, version, reqid)
        if wire.DELETE_MARKER_HEADER in resp.headers:
            self._delete_says_what = True
            marker = wire.true_value(resp.headers.get(wire.DELETE_MARKER_HEADER))
            version_id = resp.headers.get(wire.VERSION_ID_HEADER)
            return marker, int(version_id) if version_id else (version or 0)
        if version is not None:
            return bool(before and before["deleted"]), int(version)
        newest = self.content_list(account, container, 1, prefix=name, versions=True)
        entry = next((o for o in newest["objects"] if o["name"] == name), None)
        if entry is not None and entry["deleted"]:
            if before is None or entry["version"] != before["version"]:
                return True, int(entry["version"])
        return False, int(before["version"]) if before else 0

    def _delete_alias(
        self, account: str, container: str, name: str, version: int | None, reqid: str | None
    ) -> Any:
        """`content/delete`; without a version, asking meta2 for a delete marker where
        the container keeps versions.

        Without `delete_marker`, meta2 deletes the newest alias when it is a marker:
        of two deletes at once, the second would bring back what the first deleted,
        and both report success. With it, meta2 refuses that (the object is already
        deleted: NoSuchObject, as on the embedded backend), and refuses it in a
        container without versions, where the plain delete is the right one (what
        each container is remembered, so that a delete costs one request).
        """
        params = self._content_params(account, container, name, version)
        key = (account, container)
        if version is None and self._keeps_versions.get(key, True):
            try:
                resp, _ = self._proxy(
                    "POST", "content/delete", dict(params, delete_marker=1), reqid=reqid
                )
                self._keeps_versions[key] = True
                return resp
            except BadRequest as exc:
                text = str(exc).lower()
                if "alias is a delete marker" in text:
                    raise NoSuchObject(f"Object {name!r} not found (already deleted)") from None
                if "versioning not enabled" not in text:
                    raise
                self._keeps_versions[key] = False
        resp, _ = self._proxy("POST", "content/delete", params, reqid=reqid)
        return resp

    def content_update_props(
        self,
        account: str,
        container: str,
        name: str,
        version: int | None,
        set_: dict[str, str],
        delete: Iterable[str] = (),
        clear: bool = False,
        reqid: str | None = None,
    ) -> None:
        params = self._content_params(account, container, name, version)
        delete = list(delete)
        if delete:
            self._proxy(
                "POST",
                "content/del_properties",
                params,
                json_body=delete,
                reqid=reqid,
                idempotent=True,
            )
            if not set_ and not clear:
                return
        self._proxy(
            "POST",
            "content/set_properties",
            dict(params, flush=1) if clear else params,
            json_body={"properties": dict(set_)},
            reqid=reqid,
            idempotent=True,
        )

    def content_drain(
        self,
        account: str,
        container: str,
        name: str,
        version: int | None = None,
        reqid: str | None = None,
    ) -> None:
        """Drop an object's data, keeping its metadata (chunk method "drained").

        OpenIO 7.3.0's event agent deletes no chunk after a drain (its content_cleaner
        handles deletions only): the chunks of the version drained are deleted here,
        once meta2 no longer references them.
        """
        try:
            meta, chunks = self.content_locate(account, container, name, version)
        except ContentDrained:
            return  # drained already: meta2 would change nothing
        self._proxy(
            "POST",
            "content/drain",
            self._content_params(account, container, name, meta["version"]),
            reqid=reqid,
        )
        method = parse_method(meta["chunk_method"])
        store = self.tier_chunks(method, account, container) if method.is_tier else self.chunks
        for chunk in chunks:
            store.delete(chunk["url"])

    def content_truncate(
        self,
        account: str,
        container: str,
        name: str,
        version: int,
        size: int,
        replace_pos: int | None,
        new_chunks: list[ChunkRecord],
        reqid: str | None = None,
        content_id: str | None = None,
    ) -> None:
        """Cut an object to `size` bytes, on meta2's terms.

        meta2 truncates on metachunk boundaries only. When `size` falls inside a
        metachunk, the caller has rewritten that one (`replace_pos`) as `new_chunks`:
        the object is cut at the end of that metachunk (`content/truncate`), then
        the metachunk is swapped for its shorter version (`content/update`, which
        sets the object's size from the chunk records and has the event agent
        delete the replaced chunks). A failure between the two leaves a consistent
        object: a prefix of the original, one metachunk longer than asked. A last
        `content/truncate` at `size` is a no-op on meta2; `oio namespace serve`
        keeps the size on `content/update` and needs it.

        With `content_id`, each `content/truncate` names the content (meta2 then
        cuts that content, not whatever the name holds now): an object replaced
        since the caller read it (a policy change keeps its version) is left alone,
        and Conflict has the caller start again from what it is now.
        """
        params = self._content_params(account, container, name, version)
        pinned = dict(params, content=content_id) if content_id else params

        def cut(at: int) -> None:
            try:
                self._proxy("POST", "content/truncate", dict(pinned, size=at), reqid=reqid)
            except NoSuchObject:
                if not content_id:
                    raise
                raise Conflict(f"Object {name!r} changed while it was truncated") from None

        if replace_pos is None or not new_chunks:
            cut(size)
            return
        meta, chunks = self.content_locate(account, container, name, version)
        if content_id and str(meta["id"]).upper() != content_id.upper():
            raise Conflict(f"Object {name!r} changed while it was truncated")
        sizes: dict[int, int] = {}
        for chunk in chunks:
            sizes[_pos_key(chunk["pos"])[0]] = int(chunk["size"])
        if replace_pos not in sizes:
            raise BadRequest(f"Object {name!r} has no metachunk at position {replace_pos}")
        boundary = sum(n for index, n in sizes.items() if index <= replace_pos)
        if boundary < meta["size"]:
            cut(boundary)
        records = [_chunk_record(c) for c in new_chunks]
        # The proxy wants the object's headers, which meta2 ignores here (it only swaps the
        # chunk records and adds up their sizes).
        headers = wire.content_request_headers(
            {
                "size": records[0]["size"],
                "id": meta["id"],
                "version": meta["version"],
                "policy": meta["policy"],
                "chunk-method": meta["chunk_method"],
                "mime-type": meta["mime_type"] or "application/octet-stream",
            }
        )
        try:
            self._proxy(
                "POST",
                "content/update",
                dict(params, id=meta["id"]),
                json_body=records,
                headers=headers,
                reqid=reqid,
            )
        except (ClientException, ContainerFrozen):
            # Refused (the object changed meanwhile, or is frozen by a snapshot): the
            # object stays cut at the metachunk boundary, a consistent prefix, and the
            # cut copy, never recorded, is dropped. (A timeout is not caught: the swap
            # may have been recorded.)
            for chunk in new_chunks:
                with contextlib.suppress(OioException):
                    self.chunks.delete(chunk["url"])
            raise
        cut(size)

    def content_replace_chunks(
        self,
        account: str,
        container: str,
        name: str,
        version: int,
        old_urls: list[str],
        new_chunks: list[ChunkRecord],
        reqid: str | None = None,
    ) -> None:
        """Swap chunk records (`container/raw_update`), as OpenIO's rebuilders do."""
        meta, chunks = self.content_locate(account, container, name, version)
        by_url = {c["url"]: c for c in chunks}

        def bean(chunk: Mapping[str, Any]) -> dict[str, Any]:
            return {
                "type": "chunk",
                "id": chunk["url"],
                "hash": chunk.get("hash") or "",
                "size": int(chunk.get("size") or 0),
                "pos": str(chunk.get("pos", "")),
                "content": meta["id"],
            }

        old = [bean(by_url.get(url, {"url": url})) for url in old_urls]
        self._proxy(
            "POST",
            "container/raw_update",
            self._remember(account, container),
            json_body={
                "old": old,
                "new": [dict(bean(c), **_fragment_fields(c)) for c in new_chunks],
            },
            reqid=reqid,
        )
        for url in old_urls:
            self.chunks.delete(url)

    def content_purge(
        self,
        account: str,
        container: str,
        name: str | None,
        maxvers: int | None = None,
        reqid: str | None = None,
    ) -> None:
        if name is None:
            params = self._remember(account, container)
            resource = "container/purge"
        else:
            # OpenIO's meta2 purges a name that does not exist without a word.
            listed = self.content_list(account, container, 1, prefix=name, versions=True)
            if not any(o["name"] == name for o in listed["objects"]):
                raise NoSuchObject(f"Object {name!r} not found in container {container!r}")
            params = self._content_params(account, container, name)
            resource = "content/purge"
        if maxvers is not None:
            params["maxvers"] = int(maxvers)
        self._proxy("POST", resource, params, reqid=reqid, idempotent=True)

    def content_list(
        self,
        account: str,
        container: str,
        limit: int,
        marker: str | None = None,
        end_marker: str | None = None,
        prefix: str | None = None,
        delimiter: str | None = None,
        versions: bool = False,
        deleted: bool = False,
        properties: bool = False,
    ) -> ObjectListing:
        params: dict[str, Any] = self._remember(account, container)
        if marker and prefix and marker < prefix:
            # Every name under the prefix follows such a marker. And meta2 lists from the
            # marker alone, stopping at the first name outside the prefix: it would
            # answer nothing at all.
            marker = None
        params.update(
            {
                "max": min(int(limit), LIST_PAGE_MAX),
                "marker": marker or None,
                "end_marker": end_marker or None,
                "prefix": prefix or None,
                "delimiter": delimiter or None,
            }
        )
        if versions:
            params["all"] = 1
        if deleted:
            params["deleted"] = 1
        if properties:
            params["properties"] = 1
        resp, body = self._proxy("GET", "container/list", params)
        body = body or {}
        raw = body.get("objects", [])
        objects = [wire.meta_from_listing(o, account, container, properties) for o in raw]
        # OpenIO's proxy does not say which version is a name's latest: the first listed
        # (versions come newest first, and a page starts after a marker name).
        seen: set[str] = set()
        for entry, meta in zip(raw, objects, strict=True):
            if "is_latest" not in entry:
                meta["is_latest"] = meta["name"] not in seen
            seen.add(meta["name"])
        truncated = wire.true_value(resp.headers.get(wire.LIST_TRUNCATED_HEADER))
        next_marker = resp.headers.get(wire.LIST_MARKER_HEADER)
        page: ObjectListing = {
            "objects": objects,
            "prefixes": list(body.get("prefixes") or []),
            "truncated": truncated,
            "next_marker": unquote(next_marker) if truncated and next_marker else None,
        }
        if versions and truncated and objects and page["next_marker"] == objects[-1]["name"]:
            cut = self._end_page_at_whole_name(page)
            if not cut and len(objects) <= int(limit):
                # One name's versions fill the page, maybe not all of them: the page
                # becomes all of that name's versions, from a page of the most.
                if int(limit) >= LIST_PAGE_MAX:
                    raise OioException(
                        f"Object {objects[0]['name']!r} has more than {LIST_PAGE_MAX} "
                        "versions: OpenIO's proxy cannot list them page by page (its page "
                        "marker is a name)"
                    )
                name = objects[0]["name"]
                big = self.content_list(
                    account,
                    container,
                    LIST_PAGE_MAX,
                    marker=marker,
                    end_marker=end_marker,
                    prefix=prefix,
                    delimiter=delimiter,
                    versions=versions,
                    deleted=deleted,
                    properties=properties,
                )
                page["objects"] = [o for o in big["objects"] if o["name"] == name]
                rest = len(page["objects"]) < len(big["objects"]) or big["prefixes"]
                page["truncated"] = bool(rest or big["truncated"])
                page["next_marker"] = name if page["truncated"] else None
        return page

    @staticmethod
    def _end_page_at_whole_name(page: ObjectListing) -> bool:
        """End a versioned page before its last name; False when it is the only name.

        meta2 ends a page after `limit` versions, maybe inside a name's versions,
        and gives that name as the next marker: the next page, which starts after
        it, would never list the versions left. Ending this page before the name
        gives all of them to the next one.
        """
        objects = page["objects"]
        name = objects[-1]["name"]
        kept = len(objects)
        while kept and objects[kept - 1]["name"] == name:
            kept -= 1
        before = [objects[kept - 1]["name"]] if kept else []
        before += [p for p in page["prefixes"] if p < name]
        if not before:
            return False
        del objects[kept:]
        page["next_marker"] = max(before)
        return True

    def content_touch(
        self,
        account: str,
        container: str,
        name: str,
        version: int | None = None,
        reqid: str | None = None,
    ) -> None:
        self._proxy(
            "POST",
            "content/touch",
            self._content_params(account, container, name, version),
            reqid=reqid,
            idempotent=True,
        )

    def container_versions(self, account: str, container: str) -> list[tuple[str, int]]:
        """(name, version) of every stored object version (not delete markers)."""
        result: list[tuple[str, int]] = []
        marker = None
        while True:
            page = self.content_list(
                account, container, LIST_PAGE_MAX, marker=marker, versions=True
            )
            # content_list ends a versioned page at a whole name.
            result += [(o["name"], o["version"]) for o in page["objects"] if not o["deleted"]]
            marker = page["next_marker"]
            if not page["truncated"] or not marker:
                return result


class _TierCopier:
    """Copies tier chunks of a container to new keys of another, in their bucket."""

    def __init__(self, prefix: str, source: Any, store: Any) -> None:
        self.prefix = prefix
        self.source = source
        self.store = store  # the copy's: where a failed snapshot deletes them
        self.urls: set[str] = set()

    def __call__(self, url: str) -> str | None:
        """The new URL of a copy of `url`; None when the copy owns `url` already.

        OpenIO's proxy copies the database only (the chunks are the source's);
        `namespace serve` copies tier chunks in the bucket as it snapshots, so
        the copy's container already holds its own bucket object.
        """
        with contextlib.suppress(ChunkNotFound):
            self.store.head(url)
            return None
        new_url = self.prefix + secrets.token_hex(32).upper()
        self.source.link(url, new_url, container_id=self.store.container_id)
        self.urls.add(new_url)
        return new_url


def _leading_delimiter(
    rows: list[list[Any]], delimiter: str, marker: str | None
) -> list[list[Any]]:
    """A container listing page with the names that begin with the delimiter as one
    common prefix row, as a delimiter anywhere else makes them.

    OpenIO's account service (`_raw_listing`) takes a delimiter found at index 0 of a
    name (no prefix asked) for no delimiter and lists such names one by one. After a
    marker under that prefix (the prefix row of a previous page), they are skipped.
    """
    out: list[list[Any]] = []
    for row in rows:
        if not str(row[0]).startswith(delimiter):
            out.append(row)
        elif not (marker and marker.startswith(delimiter)) and (not out or out[-1][0] != delimiter):
            out.append([delimiter, 0, 0, 1, 0])
    return out


def _chunk_record(chunk: Mapping[str, Any]) -> dict[str, Any]:
    """A chunk of a `content/create` or `content/update` body."""
    return {
        "url": chunk["url"],
        "pos": str(chunk["pos"]),
        "size": int(chunk["size"]),
        "hash": chunk.get("hash") or "",
        **_fragment_fields(chunk),
    }


def _from_position_zero(chunks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Appended metachunks numbered from 0, as meta2 wants them with `append=1`.

    meta2 renumbers them after the object's last metachunk inside its commit, so
    two appends racing both land; positions already shifted by the caller (from a
    read that may be stale) would be shifted twice.
    """
    if not chunks:
        return chunks
    first = min(_pos_key(c["pos"])[0] for c in chunks)
    if first == 0:
        return chunks
    return [dict(chunk, pos=shift_position(chunk["pos"], -first)) for chunk in chunks]


def _pos_key(pos: Any) -> tuple[int, int]:
    try:
        return parse_position(pos)
    except ValueError:
        return (0, NO_FRAGMENT)


__all__ = ["ProxyNamespace", "normalize_url"]
