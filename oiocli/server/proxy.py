"""The proxy of `oio namespace serve`: OpenIO's oio-proxy routes over the embedded namespace.

Routes, parameters, status codes, headers and JSON follow OpenIO SDS 7.3.0's
proxy (`proxy/m2_actions.c`, `proxy/sqlx_actions.c`, `proxy/dir_actions.c`,
`proxy/lb_actions.c`, `proxy/cs_actions.c`) and meta2 (`meta2v2/meta2_utils.c`)
as read from its source, and as its own client (`oio/container/client.py`,
`oio/api/object_storage.py`) uses them, so that OpenIO's `openio` CLI and
Python API work against it unchanged.

This module receives requests and dispatches them (`ROUTES`, at the end); the
routes are in `containers`, `contents` and `conscience`, the account service's
(served on the same address) in `account`. Where this server answers
differently from OpenIO's, on purpose, the route says so and
docs/API-CONTRACT.md lists it with its reason.

Chunk records are guarded: a content/create, content/update or raw_update may
only reference chunks that this namespace's rawx stored for that very object
(container and content id in the chunk's own metadata), and that no object
references yet. An object therefore never claims another's data, and deleting
it never deletes data something else still needs.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit

from oiocli.core import wire
from oiocli.core.chunks import ChunkRecord, position_of
from oiocli.core.exceptions import (
    BadRequest,
    ChunkNotFound,
    NoSuchContainer,
    NotFound,
    OioException,
)
from oiocli.core.names import check_name
from oiocli.core.storage_method import StorageMethod, parse_method
from oiocli.server import conscience, containers, contents
from oiocli.server.account import ACCOUNT_METHODS, ACCOUNT_ROUTES
from oiocli.server.http import BodyError, FramingError, Limits, _Handler, _Service, quote_error
from oiocli.server.messages import ProxyError, Reply, Request, check_hex, error_status

if TYPE_CHECKING:
    from oiocli.server.namespace_server import NamespaceServer


LOG = logging.getLogger("oiocli.serve")
AUTOCREATE_MEMORY = 10000  # prepared contents remembered for their commit
META_WORKERS = 8  # threads running metadata routes


# ------------------------------------------------------------ HTTP handler


class ProxyHandler(_Handler):
    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def do_HEAD(self) -> None:
        self._dispatch()

    def reply_error(self, exc: BaseException, extra: dict[str, str] | None = None) -> None:
        status, code = error_status(exc)
        message = str(exc) if isinstance(exc, OioException) else f"Internal error: {exc}"
        if status >= 500 and not isinstance(exc, OioException):
            LOG.error("%s: %s %s failed", self.service.label, self.command, self.path, exc_info=exc)
        body = json.dumps({"status": code, "message": message}).encode()
        headers = dict(extra or {})
        headers["X-Error"] = quote_error(message)
        if status == 503:
            headers["Retry-After"] = "1"
        self.reply(status, body, headers, "application/json")

    def _dispatch(self) -> None:
        app: ProxyApp = self.service.app
        parts = urlsplit(self.path)
        try:
            body = self.read_body()
        except FramingError as exc:
            self.refuse_framing(exc)
            return
        except BodyError as exc:
            self.close_connection = True
            LOG.debug("proxy: request body not received: %s", exc)
            return
        try:
            request = Request(self.command, parts.path, parts.query, self.headers, body)
            reply = app.handle(request)
        except OioException as exc:
            self.reply_error(exc)
            return
        except Exception as exc:  # a bug here must not kill the connection silently
            self.reply_error(exc)
            return
        data = b""
        content_type = None
        if isinstance(reply.body, bytes):
            data = reply.body
            content_type = "text/plain"
        elif reply.body is not None:
            data = json.dumps(reply.body, separators=(",", ":")).encode()
            content_type = "application/json"
        self.reply(reply.status, data, reply.headers, content_type)


class ProxyService(_Service):
    handler_class = ProxyHandler
    label = "proxy"

    def __init__(self, app: ProxyApp, host: str, port: int = 0, limits: Limits | None = None):
        super().__init__(host, port, limits)
        self.app = app


Route = Callable[["ProxyApp", Request], Reply]


class ProxyApp:
    """The proxy's and account service's routes, mapped onto EmbeddedNamespace.

    Routes run on a fixed pool of worker threads rather than on the connection's
    thread: the embedded namespace opens one SQLite connection per thread and
    keeps it, so a thread per client connection (one per CLI run) would pile up
    connections; a pool bounds them, and still lets concurrent creates share a
    group commit.
    """

    def __init__(self, server: NamespaceServer, workers: int = META_WORKERS) -> None:
        self.server = server
        self.ns = server.ns
        self.workers = workers
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()
        # Chunk URLs being committed right now: a second claim of one waits for
        # nothing, it is refused (see claim_chunks).
        self._claims: set[str] = set()
        self._claims_lock = threading.Lock()
        # Content ids prepared with autocreation: their commit may create the
        # container even when it does not ask again (see content_create).
        self._autocreate: OrderedDict[tuple[str, str], None] = OrderedDict()
        self.account_routes = ACCOUNT_ROUTES
        self.account_methods = ACCOUNT_METHODS
        self.routes: dict[tuple[str, str], Route] = dict(ROUTES)

    def asked_autocreate(self, cid: str, content_id: str, remember: bool = False) -> bool:
        """Whether `content_id` of container `cid` was prepared with autocreation."""
        key = (cid, content_id.upper())
        with self._claims_lock:
            if remember:
                self._autocreate[key] = None
                self._autocreate.move_to_end(key)
                while len(self._autocreate) > AUTOCREATE_MEMORY:
                    self._autocreate.popitem(last=False)
                return True
            return self._autocreate.pop(key, False) is None

    def _run(self, func: Callable[..., Reply], *args: Any) -> Reply:
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="oio-serve-meta")
            pool = self._pool
        return pool.submit(func, *args).result()

    def close(self) -> None:
        with self._pool_lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)

    def handle(self, request: Request) -> Reply:
        path = request.path
        if path == "/status":  # the account service's
            return self._run(lambda: Reply(200, {"account_count": len(self.ns.account_list())}))
        if path.startswith(wire.ACCOUNT_PREFIX + "/"):
            action = path[len(wire.ACCOUNT_PREFIX) + 1 :]
            methods = self.account_methods.get(action)
            if methods is None:
                raise NotFound(f"No such account service action {action!r}")
            if request.method not in methods:
                return Reply(405, {"status": 405, "message": "Method not allowed"})
            return self._run(self.account_routes[action], self, request)
        parts = path.strip("/").split("/", 2)
        if len(parts) == 2 and parts[0] == wire.API_VERSION and parts[1] == "config":
            return self._run(conscience.proxy_config, self, request)
        if len(parts) != 3 or parts[0] != wire.API_VERSION:
            raise NotFound(f"No such resource {path!r}")
        if parts[1] != self.ns.namespace:
            raise ProxyError(400, 418, f"Namespace {parts[1]!r} not managed")
        method = "GET" if request.method == "HEAD" else request.method
        route = self.routes.get((method, parts[2]))
        if route is None:
            raise NotFound(f"No route for {request.method} {path}")
        return self._run(route, self, request)

    # ------------------------------------------------------------ helpers
    def container_of(self, request: Request) -> tuple[str, str]:
        cid = request.param("cid")
        if cid and not request.param("ref"):
            return self.ns.resolve_cid(cid)
        return (
            check_name("account", request.required("acct")),
            check_name("container", request.required("ref")),
        )

    def object_of(self, request: Request) -> tuple[str, str, str, int | None]:
        """(account, container, object name, version) of a content route.

        The object is named by `path`, or else by its content id (`content`),
        as meta2's m2db_get_alias finds it.
        """
        account, container = self.container_of(request)
        version = request.int_param("version")
        path = request.param("path")
        if path is None:
            content = request.param("content")
            if content is None:
                raise BadRequest("Missing path and content")
            path, found = self.alias_by_content(account, container, content, version)
            version = found if version is None else version
        return account, container, check_name("object", path), version

    def alias_by_content(
        self, account: str, container: str, content: str, version: int | None
    ) -> tuple[str, int]:
        meta = self.ns.content_get_by_id(account, container, content, version)
        return meta["name"], meta["version"]

    def to_http(self, url: str) -> str:
        return self.server.to_http(url)

    def to_file(self, url: str) -> str:
        return self.server.to_file(url)

    def chunk_json(self, chunk: Mapping[str, Any]) -> dict[str, Any]:
        url = self.to_http(chunk["url"])
        record = {
            "url": url,
            "real_url": url,
            "pos": str(chunk["pos"]),
            "size": chunk["size"],
            "hash": (chunk.get("hash") or "").upper(),
            "score": 100,
        }
        # Not OpenIO's (its "size" and "hash" are the metachunk's, as here): an EC
        # fragment's own size and MD5, which OpenIO keeps in the chunk's xattrs only.
        if chunk.get("chunk_size") is not None:
            record["chunk_size"] = chunk["chunk_size"]
        if chunk.get("chunk_hash"):
            record["chunk_hash"] = chunk["chunk_hash"]
        return record

    def chunks_from_json(self, items: Any) -> list[ChunkRecord]:
        """Chunk records of a request body (url, pos, size, hash), checked."""
        if not isinstance(items, list):
            raise BadRequest("Expected a list of chunks")
        chunks = []
        for item in items:
            try:
                chunk: dict[str, Any] = {
                    "url": self.to_file(str(item["url"])),
                    "pos": str(item["pos"]),
                    "size": int(item["size"]),
                    "hash": (item.get("hash") or None),
                }
            except (KeyError, TypeError, ValueError):
                raise BadRequest(f"Invalid chunk record {str(item)[:200]}") from None
            try:
                position_of(chunk)
            except (ValueError, TypeError):
                raise BadRequest(f"Invalid chunk position {chunk['pos']!r}") from None
            if chunk["size"] < 0:
                raise BadRequest(f"Invalid chunk size {chunk['size']}")
            if chunk["hash"]:
                chunk["hash"] = check_hex(str(chunk["hash"]), "chunk hash")
            if item.get("chunk_size") is not None:
                chunk["chunk_size"] = int(item["chunk_size"])
            if item.get("chunk_hash"):
                chunk["chunk_hash"] = check_hex(str(item["chunk_hash"]), "chunk hash")
            chunks.append(chunk)
        return cast("list[ChunkRecord]", chunks)  # every field checked above

    # ----------------------------------------------------- chunk claims
    def claim_chunks(
        self,
        account: str,
        container: str,
        content_id: str,
        chunks: Sequence[Mapping[str, Any]],
        chunk_method: str,
        replacing: Iterable[str] = (),
    ) -> _Claim:
        """Check that `chunks` may join object `content_id`; hold them while it commits.

        Each chunk must exist on this namespace's volumes, must have been
        written (rawx PUT or COPY) for this container, this content id and
        this chunk method, must sit at a position of that method (`N.F` for
        EC, `N` for replicas), and must not be referenced by any record of the
        container (but the ones in `replacing`, that the caller swaps out). The
        URLs are held until the claim is released, so that two commits cannot
        take the same chunk.
        """
        urls = [c["url"] for c in chunks]
        if len(set(urls)) != len(urls):
            raise BadRequest("A chunk is listed twice")
        with self._claims_lock:
            busy = self._claims.intersection(urls)
            if busy:
                raise BadRequest(f"Chunk {self.to_http(sorted(busy)[0])} is being committed")
            self._claims.update(urls)
        claim = _Claim(self, urls)
        try:
            self._check_chunks(account, container, content_id, chunks, chunk_method, set(replacing))
        except BaseException:
            claim.release()
            raise
        return claim

    def _check_chunks(
        self,
        account: str,
        container: str,
        content_id: str,
        chunks: Sequence[Mapping[str, Any]],
        chunk_method: str,
        replacing: set[str],
    ) -> None:
        cid = wire.compute_cid(account, container)
        method = parse_method(chunk_method)
        for chunk in chunks:
            pos = str(chunk["pos"])
            index, _, fragment = pos.partition(".")
            if method.is_ec:
                ok = fragment.isdigit() and int(fragment) < method.chunks_per_metachunk
            else:
                ok = not fragment
            if not ok or not index.isdigit():
                raise BadRequest(
                    f"Chunk position {pos!r} does not fit the chunk method {chunk_method}"
                )
        urls = [c["url"] for c in chunks]
        try:
            taken = set(self.ns.chunk_references(account, container, urls)) - replacing
        except NoSuchContainer:
            taken = set()  # created by this commit (autocreate): nothing references anything
        if taken:
            raise BadRequest(f"Chunk {self.to_http(sorted(taken)[0])} already belongs to an object")
        if method.is_tier:
            self._check_tier_chunks(account, container, content_id, chunks, method)
            return
        for url in urls:
            try:
                meta = self.ns.chunks.head(url).get("meta") or {}
            except ChunkNotFound:
                raise BadRequest(f"Chunk {self.to_http(url)} was not stored here") from None
            if (
                str(meta.get("container_id") or "").upper() != cid
                or str(meta.get("content_id") or "").upper() != str(content_id).upper()
            ):
                raise BadRequest(
                    f"Chunk {self.to_http(url)} was not written for content {content_id} "
                    f"of container {container!r}"
                )
            if meta.get("chunk_method") and meta["chunk_method"] != chunk_method:
                raise BadRequest(
                    f"Chunk {self.to_http(url)} was written with chunk method "
                    f"{meta['chunk_method']}, not {chunk_method}"
                )

    def _check_tier_chunks(
        self,
        account: str,
        container: str,
        content_id: str,
        chunks: Sequence[Mapping[str, Any]],
        method: StorageMethod,
    ) -> None:
        """Tier chunks are checked in their bucket, as rawx chunks on their volume.

        The bucket object must exist under this container's key
        (`<container id>/<chunk id>`, in the bucket of the object's method), have
        been stored for this content id at this position, and hold the recorded
        size. A HEAD each: the client stored them before it commits.
        """
        store = self.ns.tier_chunks(method, account, container)
        for chunk in chunks:
            url = chunk["url"]
            if not url.startswith(method.chunk_prefix):
                raise BadRequest(f"Chunk {url} is not a chunk of chunk method {method}")
            try:
                head = store.head(url)
            except ChunkNotFound:
                raise BadRequest(
                    f"Chunk {url} is not in the bucket under container {container!r}"
                ) from None
            meta = head.get("meta") or {}
            if str(meta.get("content_id") or "").upper() != str(content_id).upper() or str(
                meta.get("pos")
            ) != str(chunk["pos"]):
                raise BadRequest(
                    f"Chunk {url} was not stored for content {content_id} "
                    f"of container {container!r} at position {chunk['pos']}"
                )
            if int(head.get("size") or 0) != int(chunk["size"]):
                raise BadRequest(
                    f"Chunk {url} holds {head.get('size')} bytes, not the {chunk['size']} recorded"
                )


class _Claim:
    """Chunk URLs held by one commit until it ends."""

    def __init__(self, app: ProxyApp, urls: list[str]) -> None:
        self.app = app
        self.urls = urls

    def release(self) -> None:
        with self.app._claims_lock:
            self.app._claims.difference_update(self.urls)

    def __enter__(self) -> _Claim:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()


ROUTES: dict[tuple[str, str], Route] = {
    ("POST", "container/create"): containers.container_create,
    ("POST", "container/create_many"): containers.container_create_many,
    ("POST", "container/destroy"): containers.container_destroy,
    ("GET", "container/show"): containers.container_show,
    ("POST", "container/get_properties"): containers.container_get_properties,
    ("POST", "container/set_properties"): containers.container_set_properties,
    ("POST", "container/del_properties"): containers.container_del_properties,
    ("GET", "container/list"): containers.container_list,
    ("POST", "container/touch"): containers.container_touch,
    ("POST", "container/purge"): containers.container_purge,
    ("POST", "container/flush"): containers.container_flush,
    ("POST", "container/snapshot"): containers.container_snapshot,
    ("POST", "container/raw_update"): containers.container_raw_update,
    ("POST", "admin/freeze"): containers.admin_freeze,
    ("POST", "admin/enable"): containers.admin_enable,
    ("POST", "admin/disable"): containers.admin_disable,
    ("GET", "reference/show"): containers.reference_show,
    ("POST", "reference/get_properties"): containers.reference_get_properties,
    ("POST", "content/prepare2"): contents.content_prepare,
    ("POST", "content/prepare"): contents.content_prepare_legacy,
    ("POST", "content/create"): contents.content_create,
    ("POST", "content/update"): contents.content_update,
    ("GET", "content/locate"): contents.content_locate,
    ("GET", "content/show"): contents.content_locate,
    ("POST", "content/get_properties"): contents.content_get_properties,
    ("POST", "content/set_properties"): contents.content_set_properties,
    ("POST", "content/del_properties"): contents.content_del_properties,
    ("POST", "content/delete"): contents.content_delete,
    ("POST", "content/delete_many"): contents.content_delete_many,
    ("POST", "content/touch"): contents.content_touch,
    ("POST", "content/drain"): contents.content_drain,
    ("POST", "content/truncate"): contents.content_truncate,
    ("POST", "content/purge"): contents.content_purge,
    ("GET", "conscience/info"): conscience.conscience_info,
    ("GET", "conscience/list"): conscience.conscience_list,
    ("GET", "conscience/resolve"): conscience.conscience_resolve,
    ("POST", "conscience/flush"): conscience.conscience_flush,
    ("GET", "lb/choose"): conscience.lb_choose,
    ("GET", "oiocli/events"): conscience.oiocli_events,
}


__all__ = ["ProxyApp", "ProxyService", "ROUTES"]
