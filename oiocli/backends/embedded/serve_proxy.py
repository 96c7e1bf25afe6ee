"""The proxy of `oio namespace serve`: OpenIO's oio-proxy routes over the embedded namespace.

Routes, parameters, status codes, headers and JSON follow OpenIO SDS 7.3.0's
proxy (`proxy/m2_actions.c`, `proxy/sqlx_actions.c`, `proxy/dir_actions.c`,
`proxy/lb_actions.c`, `proxy/cs_actions.c`) and meta2 (`meta2v2/meta2_utils.c`)
as read from its source, and as its own client (`oio/container/client.py`,
`oio/api/object_storage.py`) uses them, so that OpenIO's `openio` CLI and
Python API work against it unchanged. The account service's routes (served
on the same address) are in serve_account.py.

Where this server answers differently from OpenIO's, on purpose, the route
says so and docs/API-CONTRACT.md lists it with its reason.

Chunk records are guarded: a content/create, content/update or raw_update may
only reference chunks that this namespace's rawx stored for that very object
(container and content id in the chunk's own metadata), and that no object
references yet. An object therefore never claims another's data, and deleting
it never deletes data something else still needs.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from oiocli.backends.embedded.chunks import chunk_path, chunk_url
from oiocli.backends.embedded.meta import (
    STATUS_DISABLED,
    STATUS_ENABLED,
    STATUS_FROZEN,
    STATUS_NAMES,
    container_status,
    now_us,
)
from oiocli.backends.embedded.serve_http import (
    BodyError,
    FramingError,
    Limits,
    _Handler,
    _Service,
    advertised_host,
    quote_error,
)
from oiocli.backends.proxy import protocol
from oiocli.core.chunks import ChunkRecord, group_metachunks, position_of
from oiocli.core.exceptions import (
    AccountNotEmpty,
    BadRange,
    BadRequest,
    ChunkNotFound,
    ClientException,
    Conflict,
    ContainerFrozen,
    ContainerNotEmpty,
    ContentDrained,
    Forbidden,
    InvalidName,
    NoSuchAccount,
    NoSuchContainer,
    NoSuchObject,
    NotEnoughVolumes,
    NotFound,
    OioException,
    ServiceBusy,
    StorageFull,
    UnknownPolicy,
)
from oiocli.core.names import check_name, check_properties
from oiocli.core.storage_method import parse_method

if TYPE_CHECKING:
    from oiocli.backends.embedded.serve import NamespaceServer

LOG = logging.getLogger("oiocli.serve")

LIST_DEFAULT = 1000  # META2_LISTING_DEFAULT_LIMIT
LIST_MAX = 10000  # META2_LISTING_MAX_LIMIT
BULK_MAX = 100  # proxy.bulk.max.create_many / delete_many
FLUSH_BATCH = 1000
AUTOCREATE_MEMORY = 10000  # prepared contents remembered for their commit
META_WORKERS = 8  # threads running metadata routes
DELETE_MARKER_MIME = "application/x-deleted"  # OIO_DELETE_MARKER_CONTENT_TYPE

# OpenIO status codes (core/internals.h) that replies carry in their JSON body.
CODE_BAD_REQUEST = 400
CODE_USER_NOTFOUND = 406
CODE_ACCOUNT_NOTFOUND = 409
CODE_CONTENT_NOTFOUND = 420
CODE_CONTENT_EXISTS = 421
CODE_CONTENT_PRECONDITION = 424
CODE_CONTENT_DELETED = 426
CODE_CONTENT_DRAINED = 427
CODE_CONTAINER_NOTFOUND = 431
CODE_CONTAINER_EXISTS = 433
CODE_CONTAINER_FROZEN = 436
CODE_CONTAINER_DISABLED = 437
CODE_CONTAINER_NOTEMPTY = 438
CODE_SRVTYPE_NOTMANAGED = 453
CODE_POLICY_NOT_SUPPORTED = 480
CODE_POLICY_NOT_SATISFIABLE = 481

SERVICE_TYPES = ("account", "meta0", "meta1", "meta2", "rawx")


# ------------------------------------------------------------------- errors


class ProxyError(OioException):
    """An error answered with an explicit HTTP status and OpenIO code."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


def error_status(exc: BaseException) -> tuple[int, int]:
    """(HTTP status, OpenIO status code) of an exception, as the proxy reports it.

    From proxy/reply.c: a *NOTFOUND code is a 404, CONTENT_EXISTS / CONTAINER_EXISTS
    / PRECONDITION a 409, a frozen container a 503 (so that clients retry), a
    drained content a 410, a bad request a 400; an unknown storage policy is a
    500 there (CODE_POLICY_NOT_SUPPORTED falls through to "internal error").
    """
    if isinstance(exc, ProxyError):
        return exc.status, exc.code
    table: list[tuple[type[BaseException], tuple[int, int]]] = [
        (NoSuchAccount, (404, CODE_ACCOUNT_NOTFOUND)),
        (NoSuchContainer, (404, CODE_CONTAINER_NOTFOUND)),
        (NoSuchObject, (404, CODE_CONTENT_NOTFOUND)),
        (NotFound, (404, 404)),
        (ContainerNotEmpty, (409, CODE_CONTAINER_NOTEMPTY)),
        (AccountNotEmpty, (409, CODE_CONTAINER_NOTEMPTY)),
        (Conflict, (409, CODE_CONTENT_EXISTS)),
        (ContentDrained, (410, CODE_CONTENT_DRAINED)),
        (UnknownPolicy, (500, CODE_POLICY_NOT_SUPPORTED)),
        (BadRange, (400, CODE_BAD_REQUEST)),
        (BadRequest, (400, CODE_BAD_REQUEST)),
        (InvalidName, (400, CODE_BAD_REQUEST)),
        (Forbidden, (403, 403)),
        (NotEnoughVolumes, (503, CODE_POLICY_NOT_SATISFIABLE)),
        (StorageFull, (507, 507)),
    ]
    if isinstance(exc, ContainerFrozen):
        disabled = "disabled" in str(exc).lower()
        return 503, CODE_CONTAINER_DISABLED if disabled else CODE_CONTAINER_FROZEN
    for cls, status in table:
        if isinstance(exc, cls):
            return status
    if isinstance(exc, ServiceBusy):
        return 503, 503
    if isinstance(exc, ClientException):
        return exc.http_status, exc.http_status
    return 500, 500


class Reply:
    """What a route answers: status, JSON-able (or bytes) body, extra headers."""

    __slots__ = ("status", "body", "headers")

    def __init__(self, status: int = 204, body: Any = None, headers: dict | None = None):
        self.status = status
        self.body = body
        self.headers = headers or {}


class Request:
    """A parsed proxy or account-service request.

    The query string must be UTF-8 (OpenIO's proxy runs with strict UTF-8):
    anything else is a 400, never silently replaced characters.
    """

    def __init__(self, method: str, path: str, query: str, headers: Any, body: bytes) -> None:
        self.method = method
        try:
            self.path = unquote(path, errors="strict")
            pairs = parse_qsl(query, keep_blank_values=True, errors="strict")
        except UnicodeDecodeError:
            raise BadRequest("The request URL is not valid UTF-8") from None
        self.query = dict(pairs)  # the last value of a repeated parameter wins
        self.headers = headers
        self.body = body

    @property
    def reqid(self) -> str | None:
        return self.headers.get(protocol.REQID_HEADER)

    def header(self, name: str) -> str | None:
        """A header's value as sent: UTF-8 when it decodes so, else as its bytes."""
        value = self.headers.get(name)
        if value is None:
            return None
        try:
            return value.encode("latin-1").decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            return value

    def json(self, default: Any = None) -> Any:
        if not self.body or not self.body.strip():
            return default
        try:
            return json.loads(self.body)
        except ValueError:
            raise BadRequest("Request body is not valid JSON") from None

    def param(self, name: str, default: str | None = None) -> str | None:
        value = self.query.get(name)
        return default if value in (None, "") else value

    def required(self, name: str) -> str:
        value = self.param(name)
        if value is None:
            raise BadRequest(f"Missing query parameter {name!r}")
        return value

    def flag(self, name: str) -> bool:
        """A flag of the query string, or of the `x-oio-action-mode` header (common.c)."""
        if name in self.query:
            return protocol.true_value(self.query[name])
        modes = (self.headers.get(protocol.ACTION_MODE_HEADER) or "").lower()
        return name in {m.strip() for m in modes.split(",")}

    def int_param(self, name: str, default: int | None = None) -> int | None:
        value = self.param(name)
        if value is None:
            return default
        try:
            return int(value)
        except ValueError:
            raise BadRequest(f"Invalid {name} {value!r}: not an integer") from None


# ------------------------------------------------------------- wire formats


def _header_value(value: Any) -> str:
    """A reply header value sent as is (as OpenIO's proxy does), made safe to send.

    Control characters would split the header: such a value is URL-quoted; text
    outside latin-1 goes out as its UTF-8 bytes.
    """
    text = value if isinstance(value, str) else str(value)
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        return quote(text, safe="")
    try:
        text.encode("latin-1")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8").decode("latin-1")


def _header_name(key: str) -> str:
    """A property key as a header name suffix: as is when it is an HTTP token."""
    if key and all(c.isascii() and (c.isalnum() or c in "!#$%&'*+-.^_`|~") for c in key):
        return key
    return quote(key, safe="")


def _seconds(value: Any) -> int:
    try:
        return int(float(value or 0))
    except (TypeError, ValueError):
        return 0


def alias_headers(meta: Mapping[str, Any]) -> dict[str, str]:
    """x-oio-content-meta-* of an alias (m2_actions.c, _populate_headers_with_alias)."""
    prefix = protocol.CONTENT_PREFIX
    headers = {
        prefix + "name": quote(str(meta["name"]), safe=""),
        prefix + "version": str(meta["version"]),
        prefix + "deleted": "True" if meta.get("deleted") else "False",
        prefix + "ctime": str(_seconds(meta.get("ctime"))),
        prefix + "mtime": str(_seconds(meta.get("mtime"))),
    }
    # Not OpenIO's: whether this alias is its name's newest version (oiocli reads it).
    if "is_latest" in meta:
        headers[protocol.ALIAS_LATEST_HEADER] = "true" if meta["is_latest"] else "false"
    return headers


def content_headers(meta: Mapping[str, Any], properties: bool = False) -> dict[str, str]:
    """x-oio-content-meta-* of an object: its content header, then its alias.

    A delete marker has no content header: only the alias fields go out. With
    `properties` (content/locate's legacy format), each property is one more
    header, its value URL-quoted.
    """
    prefix = protocol.CONTENT_PREFIX
    headers: dict[str, str] = {}
    if not meta.get("deleted"):
        size = str(int(meta.get("size") or 0))
        headers[prefix + "size"] = size
        headers[prefix + "length"] = size
        if meta.get("policy"):
            headers[prefix + "policy"] = _header_value(meta["policy"])
        if meta.get("hash"):
            headers[prefix + "hash"] = str(meta["hash"]).upper()
        headers[prefix + "hash-method"] = "md5"
        headers[prefix + "mime-type"] = _header_value(
            meta.get("mime_type") or "application/octet-stream"
        )
        headers[prefix + "chunk-method"] = _header_value(meta.get("chunk_method") or "")
        headers[prefix + "id"] = str(meta.get("id") or "").upper()
    headers.update(alias_headers(meta))
    if properties:
        for key, value in (meta.get("properties") or {}).items():
            headers[prefix + _header_name(str(key))] = quote(str(value), safe="")
    return headers


def listing_entry(meta: Mapping[str, Any], with_properties: bool) -> dict[str, Any]:
    """One object of a container/list reply (_dump_json_aliases_and_headers)."""
    entry: dict[str, Any] = {
        "name": meta["name"],
        "version": meta["version"],
        "ctime": _seconds(meta.get("ctime")),
        "mtime": _seconds(meta.get("mtime")),
        "deleted": bool(meta.get("deleted")),
        "id": meta.get("id") or "",
        "content": meta.get("id") or "",
    }
    if meta.get("deleted"):
        entry.update(
            {
                "policy": None,
                "chunk-method": None,
                "hash": None,
                "size": None,
                "mime-type": DELETE_MARKER_MIME,
            }
        )
    else:
        entry.update(
            {
                "policy": meta.get("policy"),
                "chunk-method": meta.get("chunk_method"),
                "hash": (meta.get("hash") or "").upper() or None,
                "size": meta.get("size"),
                "mime-type": meta.get("mime_type"),
            }
        )
    if with_properties:
        entry["properties"] = dict(meta.get("properties") or {})
    # Not OpenIO's (its client computes it from the page): whether this is the
    # name's newest version. oiocli's client reads it.
    entry["is_latest"] = bool(meta.get("is_latest", True))
    return entry


def container_system(props: dict[str, str], namespace: str) -> dict[str, str]:
    """A container's system properties as meta2 shows them (every non-user one).

    The embedded namespace does not store the counters OpenIO keeps for its
    crawlers (damaged objects, missing chunks): they are shown as 0.
    """
    system = {k: v for k, v in props.items() if not k.startswith("user.")}
    system.setdefault("sys.m2.chunks.missing", "0")
    system.setdefault("sys.m2.objects.damaged", "0")
    system.setdefault("sys.m2.init", "1")
    system.setdefault("sys.ns", namespace)
    system.setdefault("sys.type", "meta2")
    system.setdefault("sys.status", str(STATUS_ENABLED))
    return system


def _purified(key: str) -> str:
    return "".join(c if c.isascii() and (c.isalnum() or c == "-") else "-" for c in key)


def container_headers(props: dict[str, str], with_user: bool) -> dict[str, str]:
    """x-oio-container-meta-* of a container (_container_single_prop_to_headers)."""
    prefix = protocol.CONTAINER_PREFIX
    special = {
        "sys.container_name": "name",
        "sys.container_size": "size",
        "sys.m2vers": "seq",
        "sys.namespace": "ns",
    }
    headers = {}
    for key, value in sorted(props.items()):
        if key in special:
            headers[prefix + special[key]] = quote(str(value), safe="")
        elif key.startswith("sys."):
            headers[prefix + "sys-" + _purified(key[4:])] = quote(str(value), safe="")
        elif key.startswith("user."):
            if with_user:
                headers[prefix + "user-" + _purified(key[5:])] = quote(str(value), safe="")
        else:
            headers[prefix + "x-" + _purified(key)] = quote(str(value), safe="")
    return headers


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
        from oiocli.backends.embedded.serve_account import ACCOUNT_METHODS, ACCOUNT_ROUTES

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
        if path.startswith(protocol.ACCOUNT_PREFIX + "/"):
            action = path[len(protocol.ACCOUNT_PREFIX) + 1 :]
            methods = self.account_methods.get(action)
            if methods is None:
                raise NotFound(f"No such account service action {action!r}")
            if request.method not in methods:
                return Reply(405, {"status": 405, "message": "Method not allowed"})
            return self._run(self.account_routes[action], self, request)
        parts = path.strip("/").split("/", 2)
        if len(parts) == 2 and parts[0] == protocol.API_VERSION and parts[1] == "config":
            return self._run(proxy_config, self, request)
        if len(parts) != 3 or parts[0] != protocol.API_VERSION:
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
        cdb = self.ns.container(account, container)
        sql = "SELECT name, version FROM aliases WHERE content = ?"
        args: list[Any] = [content.upper()]
        if version is not None:
            sql += " AND version = ?"
            args.append(version)
        row = cdb.conn.execute(sql + " ORDER BY version DESC LIMIT 1", args).fetchone()
        if row is None:
            raise NoSuchObject(f"No object has content id {content!r}")
        return row[0], row[1]

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
        chunks: list[ChunkRecord] = []
        for item in items:
            try:
                chunk: ChunkRecord = {
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
                chunk["hash"] = _hex(str(chunk["hash"]), "chunk hash")
            if item.get("chunk_size") is not None:
                chunk["chunk_size"] = int(item["chunk_size"])
            if item.get("chunk_hash"):
                chunk["chunk_hash"] = _hex(str(item["chunk_hash"]), "chunk hash")
            chunks.append(chunk)
        return chunks

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
        self, account, container, content_id, chunks, chunk_method, replacing
    ) -> None:
        cid = protocol.compute_cid(account, container)
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
        try:
            cdb = self.ns.container(account, container)
        except NoSuchContainer:
            cdb = None  # created by this commit (autocreate): nothing references anything
        urls = [c["url"] for c in chunks]
        if cdb is not None:
            for start in range(0, len(urls), 500):
                batch = urls[start : start + 500]
                marks = ",".join("?" * len(batch))
                rows = cdb.conn.execute(
                    f"SELECT url FROM chunks WHERE url IN ({marks})", batch
                ).fetchall()
                taken = {r[0] for r in rows} - replacing
                if taken:
                    raise BadRequest(
                        f"Chunk {self.to_http(sorted(taken)[0])} already belongs to an object"
                    )
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


def _hex(value: str, what: str) -> str:
    if not value or not all(c in "0123456789abcdefABCDEF" for c in value) or len(value) > 128:
        raise BadRequest(f"Invalid {what} {value[:80]!r} (not hexadecimal)")
    return value.upper()


# ------------------------------------------------------------- container routes


def _split_props(props: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    user = {k[5:]: v for k, v in props.items() if k.startswith("user.")}
    system = {k: v for k, v in props.items() if not k.startswith("user.")}
    return user, system


def _system(body: dict[str, Any]) -> dict[str, str]:
    """The `system` object of a request: sys.* keys; a status must be one meta2 knows."""
    raw = body.get("system") or {}
    if not isinstance(raw, dict):
        raise BadRequest("'system' must be an object")
    system = {str(k): "" if v is None else str(v) for k, v in raw.items()}
    for key, value in system.items():
        if not key.startswith("sys."):
            raise BadRequest(f"System property {key!r} must start with 'sys.'")
        if key == "sys.status":
            try:
                known = int(value) in STATUS_NAMES
            except ValueError:
                known = False
            if not known:
                raise BadRequest(f"Invalid container status {value!r}")
    return system


def _properties(body: dict[str, Any], key: str = "properties") -> dict[str, str]:
    raw = body.get(key)
    if raw is not None and not isinstance(raw, dict):
        raise BadRequest(f"{key!r} must be an object")
    return check_properties(raw)


def _body_object(req: Request) -> dict[str, Any]:
    body = req.json({})
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise BadRequest("JSON object expected")
    return body


def container_create(app: ProxyApp, req: Request) -> Reply:
    """201 created, 204 when it existed (m2_actions.c, _m2_container_create)."""
    account, container = app.container_of(req)
    body = _body_object(req)
    created = app.ns.container_create(
        account, container, _properties(body), _system(body), req.reqid
    )
    return Reply(201 if created else 204)


def container_create_many(app: ProxyApp, req: Request) -> Reply:
    account = check_name("account", req.required("acct"))
    body = _body_object(req)
    items = body.get("containers")
    if not isinstance(items, list):
        raise BadRequest("Invalid array of containers")
    if len(items) > BULK_MAX:
        raise ProxyError(413, 413, f"More than {BULK_MAX} requested")
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise BadRequest("Invalid payload")
    results = []
    for item in items:
        name = item["name"]
        try:
            created = app.ns.container_create(
                account,
                check_name("container", name),
                _properties(item),
                _system(item),
                req.reqid,
            )
            if created:
                results.append({"name": name, "status": 201, "message": "ok"})
            else:
                results.append(
                    {"name": name, "status": CODE_CONTAINER_EXISTS, "message": "Container exists"}
                )
        except OioException as exc:
            results.append({"name": name, "status": error_status(exc)[1], "message": str(exc)})
    return Reply(200, {"containers": results})


def container_destroy(app: ProxyApp, req: Request) -> Reply:
    account, container = app.container_of(req)
    app.ns.container_delete(account, container, req.reqid)
    return Reply(204)


def _container_props(app: ProxyApp, account: str, container: str) -> dict[str, str]:
    props = app.ns.container_props(account, container)
    user = {k: v for k, v in props.items() if k.startswith("user.")}
    return {**container_system(props, app.ns.namespace), **user}


def container_show(app: ProxyApp, req: Request) -> Reply:
    """User properties in the body, the others as headers (action_container_show)."""
    account, container = app.container_of(req)
    props = _container_props(app, account, container)
    user, _system_props = _split_props(props)
    headers = container_headers(props, with_user=False)
    headers[protocol.CONTAINER_PREFIX + "sys-peers"] = app.server.proxy.addr
    return Reply(200, {"properties": user}, headers)


def container_get_properties(app: ProxyApp, req: Request) -> Reply:
    """Every property: "user." ones (prefix dropped), and the rest (action_sqlx_propget)."""
    account, container = app.container_of(req)
    user, system = _split_props(_container_props(app, account, container))
    return Reply(200, {"properties": user, "system": system})


def container_set_properties(app: ProxyApp, req: Request) -> Reply:
    """Set user and system properties; `flush=1` drops the user ones first. 204."""
    account, container = app.container_of(req)
    body = _body_object(req)
    props = {f"user.{k}": v for k, v in _properties(body).items()}
    props.update(_system(body))
    if not props:
        raise BadRequest("No properties found in JSON object")
    app.ns.container_set_props(
        account, container, props, clear_user=req.flag("flush"), reqid=req.reqid
    )
    return Reply(204)


def container_del_properties(app: ProxyApp, req: Request) -> Reply:
    """Delete user properties by key (each is prefixed with "user."); [] deletes them all."""
    account, container = app.container_of(req)
    keys = req.json([])
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise BadRequest("Bad names")
    if not keys:
        app.ns.container_set_props(account, container, {}, clear_user=True, reqid=req.reqid)
    else:
        delete = [f"user.{k}" for k in keys]
        app.ns.container_set_props(account, container, {}, delete=delete, reqid=req.reqid)
    return Reply(204)


def container_list(app: ProxyApp, req: Request) -> Reply:
    account, container = app.container_of(req)
    limit = req.int_param("max", LIST_DEFAULT)
    if limit is None or limit <= 0:
        limit = LIST_DEFAULT
    limit = min(limit, LIST_MAX)
    with_props = protocol.true_value(req.param("properties"))
    result = app.ns.content_list(
        account,
        container,
        limit,
        marker=req.param("marker"),
        end_marker=req.param("end_marker") or req.param("marker_end"),
        prefix=req.param("prefix"),
        delimiter=(req.param("delimiter") or "")[:1] or None,
        versions="all" in req.query,
        deleted="deleted" in req.query,
        properties=with_props,
    )
    objects = [listing_entry(o, with_props) for o in result["objects"]]
    if req.flag("chunks"):
        cdb = app.ns.container(account, container)
        for entry in objects:
            content = entry.get("content")
            chunks = app.ns.get_chunks(cdb, content) if content else []
            entry["chunks"] = [app.chunk_json(c) for c in chunks]
    props = _container_props(app, account, container)
    user, system = _split_props(props)
    headers = container_headers(props, with_user=True)
    headers[protocol.LIST_TRUNCATED_HEADER] = "true" if result["truncated"] else "false"
    if result["truncated"] and result["next_marker"] is not None:
        headers[protocol.LIST_MARKER_HEADER] = quote(result["next_marker"], safe="")
    body = {
        "prefixes": result["prefixes"],
        "properties": user,
        "system": system,
        "objects": objects,
    }
    return Reply(200, body, headers)


def container_touch(app: ProxyApp, req: Request) -> Reply:
    """204; a missing container is a 403 there (action_m2_container_touch)."""
    account, container = app.container_of(req)
    try:
        app.ns.container_touch(account, container, req.flag("recompute"), req.reqid)
    except NoSuchContainer as exc:
        raise ProxyError(403, CODE_CONTAINER_NOTFOUND, str(exc)) from None
    return Reply(204)


def container_purge(app: ProxyApp, req: Request) -> Reply:
    account, container = app.container_of(req)
    app.ns.content_purge(account, container, None, req.int_param("maxvers"), req.reqid)
    return Reply(204)


def container_flush(app: ProxyApp, req: Request) -> Reply:
    """Delete a batch of object versions; `x-oio-truncated: true` while some remain."""
    account, container = app.container_of(req)
    listing = app.ns.content_list(account, container, FLUSH_BATCH, versions=True)
    for obj in listing["objects"]:
        try:
            app.ns.content_delete(account, container, obj["name"], obj["version"], req.reqid)
        except NoSuchObject:
            pass
    truncated = "true" if listing["truncated"] else "false"
    return Reply(204, None, {"x-oio-truncated": truncated})


def container_snapshot(app: ProxyApp, req: Request) -> Reply:
    """Copy a container into a new, frozen one.

    OpenIO's proxy copies the database only, so that the copy references the
    source's chunks until its client links each one under a new id (rawx COPY)
    and swaps the records (`container/raw_update`). Here the copy is made
    independent at once (its chunks are hard links under new ids): a client
    that never relinks still gets a copy that no later deletion can damage, and
    one that relinks finds every record by the source's chunk URL (see
    container_raw_update). As in OpenIO, an existing destination or one equal
    to the source is a 400.
    """
    account, container = app.container_of(req)
    body = _body_object(req)
    if not body.get("account") or not body.get("container"):
        raise BadRequest("Missing destination account name or container name")
    dst_account = check_name("account", body["account"])
    dst_container = check_name("container", body["container"])
    if (dst_account, dst_container) == (account, container):
        raise BadRequest(
            "The snapshot must either have a different name or be placed in another account"
        )
    app.ns.container(account, container)  # a missing source: 404 before anything else
    try:
        app.ns.container_snapshot(account, container, dst_account, dst_container, req.reqid)
    except Conflict:
        raise BadRequest("Container already exists") from None
    return Reply(204)


def _bean_list(body: dict[str, Any], key: str) -> list[dict[str, Any]]:
    beans = body.get(key)
    if beans is None:
        raise BadRequest(f"No {key!r} set of beans")
    if not isinstance(beans, list) or not all(isinstance(b, dict) for b in beans):
        raise BadRequest(f"{key!r} must be a list of beans")
    for bean in beans:
        if bean.get("type", "chunk") != "chunk":
            raise BadRequest(f"Only chunk beans can be updated here, not {bean.get('type')!r}")
    return beans


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(chunk_path(a), chunk_path(b))
    except (OSError, BadRequest):
        return False


def container_raw_update(app: ProxyApp, req: Request) -> Reply:
    """Substitute chunk records, pair by pair: `{"old": [beans], "new": [beans]}`.

    As meta2's meta2_backend_update_beans: both lists have the same length, the
    n-th old bean is replaced by the n-th new one, an old bean that matches no
    record is a 404 (420), and a frozen container is updated only with
    `frozen=1`. Chunk data is never deleted: the caller owns the old chunks
    (a rebuilder deletes them itself, a snapshot's are the source's).

    An old bean may name the source's chunk of a snapshot made here: the
    record is then the copy's chunk that is a hard link of it (same content,
    position and file). A superseded chunk that is a hard link of data kept
    under another name (such a link, or one an object link made) is removed:
    no byte goes with it, and nothing would reference it any more.
    """
    account, container = app.container_of(req)
    body = _body_object(req)
    old_beans = _bean_list(body, "old")
    new_beans = _bean_list(body, "new")
    if not old_beans:
        raise BadRequest("No bean to update")
    if len(old_beans) != len(new_beans):
        raise BadRequest("Length mismatch for bean sets")
    cdb = app.ns.container(account, container)
    status = container_status(cdb.props())
    if status == STATUS_DISABLED or (status == STATUS_FROZEN and not req.flag("frozen")):
        raise ContainerFrozen(f"Container {container!r} is {STATUS_NAMES[status].lower()}")
    records: dict[str, dict[str, Any]] = {}  # file URL -> its record (content, pos, ...)
    by_content: dict[str, list[ChunkRecord]] = {}

    def chunks_of(content: str) -> list[ChunkRecord]:
        if content not in by_content:
            by_content[content] = app.ns.get_chunks(cdb, content)
            for chunk in by_content[content]:
                records[chunk["url"]] = dict(chunk, content=content)
        return by_content[content]

    swaps: dict[str, tuple[list[str], list[ChunkRecord]]] = {}
    superseded: set[str] = set()
    for old, new in zip(old_beans, new_beans, strict=True):
        try:
            old_url = app.to_file(str(old.get("id")))
        except BadRequest:
            raise ProxyError(404, CODE_CONTENT_NOTFOUND, "bean not found") from None
        content = str(old.get("content") or "").upper()
        if content:
            chunks_of(content)
        if old_url not in records:
            row = cdb.conn.execute(
                "SELECT content FROM chunks WHERE url = ?", (old_url,)
            ).fetchone()
            if row is not None:
                content = row[0]
                chunks_of(content)
        record = records.get(old_url)
        if record is None and content:
            # A snapshot's source chunk: the copy's link of the very same file.
            for chunk in chunks_of(content):
                if (
                    str(chunk["pos"]) == str(old.get("pos"))
                    and chunk["url"] not in superseded
                    and _same_file(chunk["url"], old_url)
                ):
                    record = records[chunk["url"]]
                    break
        if record is None or record["url"] in superseded:
            raise ProxyError(404, CODE_CONTENT_NOTFOUND, "bean not found")
        superseded.add(record["url"])
        new_content = str(new.get("content") or record["content"]).upper()
        if new_content != record["content"]:
            raise BadRequest("A chunk record cannot move to another content here")
        (chunk,) = app.chunks_from_json(
            [
                {
                    "url": new.get("id"),
                    "pos": new.get("pos"),
                    "size": new.get("size"),
                    "hash": new.get("hash"),
                    "chunk_size": new.get("chunk_size", record.get("chunk_size")),
                    "chunk_hash": new.get("chunk_hash"),
                }
            ]
        )
        olds, news = swaps.setdefault(record["content"], ([], []))
        olds.append(record["url"])
        news.append(chunk)
    claims = []
    try:
        aliases = {}
        for content, (olds, news) in swaps.items():
            row = cdb.conn.execute(
                "SELECT name, version, chunk_method FROM aliases WHERE content = ?", (content,)
            ).fetchone()
            if row is None:
                raise ProxyError(404, CODE_CONTENT_NOTFOUND, "bean not found")
            aliases[content] = row
            claims.append(
                app.claim_chunks(account, container, content, news, row[2], replacing=olds)
            )
        for content, (olds, news) in swaps.items():
            name, version, _method = aliases[content]
            app.ns._content_replace_chunks(cdb, name, version, olds, news, req.reqid)
    finally:
        for claim in claims:
            claim.release()
    for url in sorted(superseded):
        _drop_extra_link(app, cdb, url)
    return Reply(204)


def _drop_extra_link(app: ProxyApp, cdb: Any, url: str) -> None:
    """Remove a superseded chunk file if it is one more hard link of data kept by another.

    A chunk file with a single link is left to its owner (a rebuilder deletes
    the chunk it replaced itself).
    """
    try:
        if cdb.conn.execute("SELECT 1 FROM chunks WHERE url = ?", (url,)).fetchone():
            return
        if os.stat(chunk_path(url)).st_nlink >= 2:
            app.ns.chunks.delete(url)
    except (OSError, OioException):
        pass  # left in place: an orphan link, found by `volume check --orphans`


def _set_status(app: ProxyApp, req: Request, status: int) -> Reply:
    account, container = app.container_of(req)
    app.ns.container_set_props(account, container, {"sys.status": str(status)}, reqid=req.reqid)
    return Reply(204)


def admin_freeze(app: ProxyApp, req: Request) -> Reply:
    return _set_status(app, req, STATUS_FROZEN)


def admin_enable(app: ProxyApp, req: Request) -> Reply:
    return _set_status(app, req, STATUS_ENABLED)


def admin_disable(app: ProxyApp, req: Request) -> Reply:
    return _set_status(app, req, STATUS_DISABLED)


def _reference(app: ProxyApp, req: Request) -> tuple[str, str, str]:
    """(account, container, cid) of a directory reference; 404 (406) when unknown."""
    try:
        account, container = app.container_of(req)
        cid = app.ns.container_locate(account, container)["cid"]
    except NoSuchContainer as exc:
        message = f"Directory error: no such user ({exc})"
        raise ProxyError(404, CODE_USER_NOTFOUND, message) from None
    return account, container, cid


def reference_show(app: ProxyApp, req: Request) -> Reply:
    """The services of a reference: here, one meta2 (the proxy itself)."""
    account, container, cid = _reference(app, req)
    meta2 = {"seq": 1, "type": "meta2", "host": app.server.proxy.addr, "args": ""}
    kind = req.param("type")
    if kind is not None and kind != "meta2":
        return Reply(200, {"dir": [], "srv": [], "cid": cid, "account": account, "name": container})
    body = {"dir": [], "srv": [meta2], "cid": cid, "account": account, "name": container}
    return Reply(200, body)


def reference_get_properties(app: ProxyApp, req: Request) -> Reply:
    """A reference's own properties (meta1's): the embedded directory keeps none."""
    _account, _container, cid = _reference(app, req)
    return Reply(200, {"cid": cid, "properties": {}})


# --------------------------------------------------------------- content routes


def _targets(app: ProxyApp, count: int) -> list[str]:
    """Chunk URLs on `count` distinct volumes whose rawx is up (what the conscience knows)."""
    volumes = app.ns.pick_volumes(count, avoid=app.server.down_volumes())
    return [app.to_http(chunk_url(v, secrets.token_hex(32).upper())) for v in volumes]


def content_prepare(app: ProxyApp, req: Request, legacy: bool = False) -> Reply:
    """Chunk URLs for one metachunk, and the new object's identity (prepare2).

    The content id and version given in the query (`content`, `version`) are
    kept, as OpenIO's proxy keeps them (a truncate re-uploads a metachunk of an
    existing content). The policy is the body's, else the container's, else the
    namespace's.

    Nothing is created here, and a missing container is no error: the commit
    creates it (content/create with autocreation, and the container properties
    it carries) or fails, as with OpenIO's proxy. Unlike it, which never looks
    at the container here, a frozen container is refused now (the commit would
    be); and an autocreation asked here holds for the commit of the content
    prepared (earlier oiocli clients asked here only).
    """
    account, container = app.container_of(req)
    path = check_name("object", req.required("path"))
    body = _body_object(req)
    if "size" not in body:
        raise BadRequest("Missing size estimation")
    try:
        size = int(body["size"])
        position = int(body.get("position") or 0)
    except (TypeError, ValueError):
        raise BadRequest("Invalid size or position format (integer expected)") from None
    policy = body.get("policy") or req.param("stgpol") or None
    try:
        prep = app.ns.content_prepare(account, container, policy, False, req.reqid)
    except NoSuchContainer:
        policy = policy or app.ns.default_policy
        prep = {
            "policy": policy,
            "chunk_method": str(app.ns.policies.method(policy)),
            "chunk_size": app.ns.chunk_size,
            "version": now_us(),
            "content_id": secrets.token_hex(16).upper(),
        }
    content_id = req.param("content")
    content_id = _hex(content_id, "content id") if content_id else prep["content_id"]
    version = req.int_param("version") or prep["version"]
    if req.flag("autocreate"):
        app.asked_autocreate(protocol.compute_cid(account, container), content_id, remember=True)
    method = parse_method(prep["chunk_method"])
    urls = _targets(app, method.chunks_per_metachunk)
    chunks = [
        {
            "url": url,
            "real_url": url,
            "pos": f"{position}.{i}" if method.is_ec else str(position),
            "size": prep["chunk_size"],
            "hash": "",
            "score": 100,
        }
        for i, url in enumerate(urls)
    ]
    now = int(time.time())
    meta = {
        "id": content_id,
        "name": path,
        "version": version,
        "policy": prep["policy"],
        "chunk_method": prep["chunk_method"],
        "mime_type": "application/octet-stream",
        "size": size,
        "ctime": now,
        "mtime": now,
        "deleted": False,
    }
    headers = content_headers(meta)
    headers[protocol.CHUNK_SIZE_HEADER] = str(prep["chunk_size"])
    if legacy:
        return Reply(200, chunks, headers)
    return Reply(200, {"chunks": chunks, "properties": {}}, headers)


def content_prepare_legacy(app: ProxyApp, req: Request) -> Reply:
    return content_prepare(app, req, legacy=True)


def _meta_header(req: Request, field: str) -> str | None:
    return req.header(protocol.CONTENT_PREFIX + field)


def _structured(value: str | None) -> str | None:
    """A structured header value (id, hash, policy, method, numbers), sent raw by OpenIO.

    Earlier oiocli clients URL-quoted them; such values cannot contain `%`
    otherwise, so a quoted one is read back.
    """
    if value is not None and "%" in value:
        return unquote(value)
    return value


def _create_fields(req: Request) -> dict[str, Any]:
    """The object described by a content/create's headers (_load_alias_from_headers)."""
    content_id = _structured(_meta_header(req, "id"))
    if not content_id:
        raise BadRequest("Invalid URL (missing content ID)")
    size_text = _structured(_meta_header(req, "size")) or _structured(_meta_header(req, "length"))
    if size_text is None:
        raise BadRequest("Header: missing content size")
    try:
        size = int(size_text)
        version_text = _structured(_meta_header(req, "version"))
        version = int(version_text) if version_text else now_us()
    except ValueError:
        raise BadRequest("Header: bad content size or version") from None
    if size < 0 or version <= 0:
        raise BadRequest("Header: bad content size or version")
    hsh = _structured(_meta_header(req, "hash"))
    fields: dict[str, Any] = {
        "content": _hex(content_id, "content id"),
        "size": size,
        "version": version,
        "hsh": _hex(hsh, "content hash") if hsh else None,
        "policy": _structured(_meta_header(req, "policy")),
        "chunk_method": _structured(_meta_header(req, "chunk-method")),
        "mime_type": _meta_header(req, "mime-type") or "application/octet-stream",
    }
    if not fields["policy"] or not fields["chunk_method"]:
        raise BadRequest(
            f"Missing header {protocol.CONTENT_PREFIX}policy or "
            f"{protocol.CONTENT_PREFIX}chunk-method"
        )
    parse_method(fields["chunk_method"])
    return fields


def content_create(app: ProxyApp, req: Request) -> Reply:
    """Commit an uploaded object (`append=1`, `change_policy=1`, `restore_drained=1`).

    The body is `{"chunks": [...], "properties": {}, "container_properties": {}}`
    (or the bare chunk list); with autocreation a missing container is created
    with `container_properties`, as OpenIO's proxy does. Every chunk is checked
    (claim_chunks) before anything is committed.
    """
    account, container = app.container_of(req)
    name = check_name("object", req.required("path"))
    fields = _create_fields(req)
    body = req.json({})
    if isinstance(body, list):  # the oldest clients send the bare chunk list
        body = {"chunks": body}
    if not isinstance(body, dict):
        raise BadRequest("JSON object expected")
    chunks = app.chunks_from_json(body.get("chunks") or [])
    properties = _properties(body)
    cprops = body.get("container_properties") or {}
    if not isinstance(cprops, dict):
        raise BadRequest("'container_properties' must be an object")
    if req.flag("append"):
        _check_append(app, account, container, name, fields["chunk_method"])
    # The chunks are checked first: a refused commit creates nothing.
    with app.claim_chunks(account, container, fields["content"], chunks, fields["chunk_method"]):
        try:
            app.ns.container(account, container)
        except NoSuchContainer:
            cid = protocol.compute_cid(account, container)
            if not (req.flag("autocreate") or app.asked_autocreate(cid, fields["content"])):
                raise
            app.ns.container_create(
                account, container, _properties(cprops), _system(cprops), req.reqid
            )
        version = app.ns.content_create(
            account,
            container,
            name,
            properties=properties,
            chunks=chunks,
            reqid=req.reqid,
            append=req.flag("append"),
            restore_drained=req.flag("restore_drained"),
            keep_version=req.flag("change_policy"),
            **fields,
        )
    return Reply(204, None, {protocol.CONTENT_PREFIX + "version": str(version)})


def _check_append(app: ProxyApp, account: str, container: str, name: str, method: str) -> None:
    """Appended metachunks must be of the object's chunk method.

    meta2 does not check: an EC object would get replicated metachunks (or the
    other way round) and be unreadable. OpenIO's client prepares an append with
    the namespace's policy unless told otherwise.
    """
    try:
        meta = app.ns.content_get(account, container, name)
    except (NoSuchContainer, NoSuchObject):
        return  # an append to nothing is a create
    if _drained(meta):
        raise ContentDrained(f"The content of {name!r} is drained")
    if meta.get("chunk_method") != method:
        raise BadRequest(
            f"Cannot append {method} data to {name!r}, whose chunk method is "
            f"{meta.get('chunk_method')} (give its policy, {meta.get('policy')})"
        )


def content_update(app: ProxyApp, req: Request) -> Reply:
    """Replace the metachunks the body's chunks belong to (m2db_update_content).

    The object is named by `id` (its content id, as OpenIO's client sends it)
    or by `path`; its size follows the new metachunks and its hash is cleared.
    """
    account, container = app.container_of(req)
    content_id = req.param("id") or req.param("content")
    version: int | None
    if content_id:
        name, version = app.alias_by_content(
            account, container, content_id, req.int_param("version")
        )
    else:
        _a, _c, name, version = app.object_of(req)
    body = req.json(None)
    if isinstance(body, dict):
        body = body.get("chunks")
    if not isinstance(body, list) or not body:
        raise BadRequest("JSON: Empty array")
    new = app.chunks_from_json(body)
    meta, chunks = app.ns.content_locate(account, container, name, version)
    if meta["chunk_method"] == "drained":
        raise ContentDrained(f"The content of {name!r} is drained")
    cdb = app.ns.container(account, container)
    app.ns.check_writable(cdb, cdb.props())
    indices = {position_of(c)[0] for c in new}
    old = [c for c in chunks if position_of(c)[0] in indices]
    old_sizes = {position_of(c)[0]: int(c["size"]) for c in old}
    new_sizes = {position_of(c)[0]: int(c["size"]) for c in new}
    size = int(meta["size"] or 0) + sum(new_sizes.values()) - sum(old_sizes.values())
    last = max((position_of(c)[0] for c in chunks), default=-1)
    replaced = [c["url"] for c in old]
    with app.claim_chunks(
        account, container, meta["id"], new, meta["chunk_method"], replacing=replaced
    ):
        if indices == {last}:
            # The last metachunk (a truncate's): size and hash follow.
            app.ns.content_truncate(
                account, container, name, meta["version"], size, last, new, req.reqid
            )
        else:
            app.ns.content_replace_chunks(
                account, container, name, meta["version"], [c["url"] for c in old], new, req.reqid
            )
    return Reply(204)


def _drained(meta: Mapping[str, Any]) -> bool:
    return meta.get("chunk_method") == "drained"


def content_locate(app: ProxyApp, req: Request) -> Reply:
    """The chunks of an object, its description in headers (action_content_show).

    A delete marker is a 404 (426, "Alias deleted"), a drained object a 410 (427).
    """
    account, container, name, version = app.object_of(req)
    meta = app.ns.content_get(account, container, name, version, allow_deleted=True)
    if meta.get("deleted") and "deleted" not in req.query:
        raise ProxyError(404, CODE_CONTENT_DELETED, "Alias deleted")
    if _drained(meta):
        raise ContentDrained(f"The content of {name!r} is drained")
    chunks = (
        []
        if meta.get("deleted")
        else app.ns.content_locate(account, container, name, meta["version"])[1]
    )
    with_props = protocol.true_value(req.param("properties", "true"))
    headers = content_headers(meta, properties=with_props)
    headers[protocol.CHUNK_SIZE_HEADER] = str(app.ns.chunk_size)
    return Reply(200, [app.chunk_json(c) for c in chunks], headers)


def content_get_properties(app: ProxyApp, req: Request) -> Reply:
    """An object's properties (body) and description (headers); markers included."""
    account, container, name, version = app.object_of(req)
    meta = app.ns.content_get(account, container, name, version, allow_deleted=True)
    return Reply(200, {"properties": dict(meta.get("properties") or {})}, content_headers(meta))


def content_set_properties(app: ProxyApp, req: Request) -> Reply:
    """`{"properties": {k: v}}`; an empty value deletes the key; `flush=1` replaces all."""
    if req.param("content"):
        raise BadRequest("Content. not allowed in the URL")
    account, container, name, version = app.object_of(req)
    body = _body_object(req)
    props = _properties(body)
    delete = [k for k, v in props.items() if v == ""]
    props = {k: v for k, v in props.items() if v != ""}
    app.ns.content_update_props(
        account,
        container,
        name,
        version,
        props,
        delete=delete,
        clear=req.flag("flush"),
        reqid=req.reqid,
    )
    return Reply(204)


def content_del_properties(app: ProxyApp, req: Request) -> Reply:
    account, container, name, version = app.object_of(req)
    keys = req.json(None)
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise BadRequest("Array argument expected")
    app.ns.content_update_props(
        account, container, name, version, {}, delete=keys, clear=not keys, reqid=req.reqid
    )
    return Reply(204)


def _delete(app: ProxyApp, req: Request, account, container, name, version) -> tuple[bool, int]:
    """meta2's m2db_delete_alias: deleting a name whose newest version is a delete
    marker removes that marker (the previous version shows again), unless
    `delete_marker` asks for a marker: then that is refused, as are markers in a
    container that keeps no versions."""
    explicit_marker = req.flag("delete_marker")
    if explicit_marker and version is not None:
        raise BadRequest("Explicit delete markers of a given version are not supported")
    if version is None:
        latest = app.ns.content_get(account, container, name, None, allow_deleted=True)
        if explicit_marker:
            cdb = app.ns.container(account, container)
            maxvers = app.ns.max_versions(cdb.props())
            if not (maxvers < 0 or maxvers > 1):
                raise BadRequest("Versioning not enabled and delete marker specified")
            if latest.get("deleted"):
                raise BadRequest("Alias is a delete marker and delete marker specified")
        elif latest.get("deleted"):
            version = latest["version"]
    return app.ns.content_delete(account, container, name, version, req.reqid)


def content_delete(app: ProxyApp, req: Request) -> Reply:
    account, container, name, version = app.object_of(req)
    marker, version_id = _delete(app, req, account, container, name, version)
    # Not in 7.3.0's reply (later versions send them): what the delete did.
    headers = {
        protocol.DELETE_MARKER_HEADER: "true" if marker else "false",
        protocol.VERSION_ID_HEADER: str(version_id),
    }
    return Reply(204, None, headers)


def content_delete_many(app: ProxyApp, req: Request) -> Reply:
    """`{"contents": [{"name"}]}` -> per name 204, or the OpenIO code of its error."""
    account, container = app.container_of(req)
    body = _body_object(req)
    items = body.get("contents")
    if not isinstance(items, list):
        raise BadRequest("Invalid array of contents")
    if not items:
        raise BadRequest("At least one element is needed")
    if len(items) > BULK_MAX:
        raise ProxyError(413, 413, "Payload Too Large")
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise BadRequest("Invalid content name")
    app.ns.container(account, container)
    results = []
    for item in items:
        name = item["name"]
        try:
            _delete(app, req, account, container, check_name("object", name), None)
            results.append({"name": name, "status": 204, "message": "ok"})
        except OioException as exc:
            results.append({"name": name, "status": error_status(exc)[1], "message": str(exc)})
    return Reply(200, {"contents": results})


def content_touch(app: ProxyApp, req: Request) -> Reply:
    account, container, name, version = app.object_of(req)
    app.ns.content_touch(account, container, name, version, req.reqid)
    return Reply(204)


def content_drain(app: ProxyApp, req: Request) -> Reply:
    account, container, name, version = app.object_of(req)
    app.ns.content_drain(account, container, name, version, req.reqid)
    return Reply(204)


def content_truncate(app: ProxyApp, req: Request) -> Reply:
    """Drop the metachunks past `size` (m2db_truncate_content).

    As meta2: the size cannot grow, and must fall on a metachunk boundary, the
    metachunk it cuts having been replaced first (content/update) by the client;
    metachunk 0 always stays. The hash is cleared.
    """
    account, container, name, version = app.object_of(req)
    size_text = req.param("size")
    try:
        size = int(size_text) if size_text is not None else None
    except ValueError:
        size = None
    if size is None:
        raise BadRequest(f"Missing/invalid size parameter: {size_text}")
    meta, chunks = app.ns.content_locate(account, container, name, version)
    if _drained(meta):
        raise ContentDrained(f"The content of {name!r} is drained")
    if size > int(meta["size"] or 0):
        raise BadRequest("truncate operation cannot grow contents")
    kept_size, boundary = 0, False
    for mc in group_metachunks(chunks):
        if mc.offset >= size and mc.index > 0:
            boundary |= mc.offset == size
        else:
            kept_size += mc.size
    if not boundary and kept_size != size:
        raise BadRequest(
            f"Cannot truncate {name} at {size} bytes, "
            f"nearest metachunk boundary is at {kept_size} bytes."
        )
    if size != meta["size"] or meta.get("hash"):
        app.ns.content_truncate(
            account, container, name, meta["version"], size, None, [], req.reqid
        )
    return Reply(204)


def content_purge(app: ProxyApp, req: Request) -> Reply:
    account, container, name, _version = app.object_of(req)
    app.ns.content_purge(account, container, name, req.int_param("maxvers"), req.reqid)
    return Reply(204)


# ------------------------------------------------------------ conscience routes


def conscience_info(app: ProxyApp, req: Request) -> Reply:
    """The namespace's description; `what=types` lists the service types."""
    if req.param("what") == "types":
        return Reply(200, list(SERVICE_TYPES))
    config = app.ns.config
    policies = dict(config["policies"])
    body = {
        "ns": app.ns.namespace,
        "chunksize": int(config["chunk_size"]),
        # Every policy on the default pool, its data security named after it.
        "storage_policy": {name: f"NONE:{name}" for name in policies},
        "data_security": policies,
        "service_pools": {},
        "options": {
            "storage_policy": config["storage_policy"],
            "ns.chunk_size": str(config["chunk_size"]),
            "ns.storage_policy": config["storage_policy"],
            "meta2.max_versions": str(config.get("max_versions", 1)),
        },
    }
    return Reply(200, body)


def _services(app: ProxyApp, kind: str) -> list[dict[str, Any]]:
    """The services of a type, as the conscience lists them (score 0 when down)."""
    server = app.server
    if kind == "rawx":
        return [
            {
                "addr": rawx.addr,
                "id": rawx.addr,
                "score": 100 if rawx.running else 0,
                "tags": {
                    "tag.up": rawx.running,
                    "tag.vol": rawx.volume,
                    "tag.service_id": rawx.service_id,
                    "tag.loc": f"{advertised_host(rawx.host)}.{rawx.service_id}",
                    "tag.slots": "rawx",
                },
            }
            for rawx in server.rawx
        ]
    if kind in SERVICE_TYPES:
        addr = server.proxy.addr
        return [
            {"addr": addr, "id": addr, "score": 100, "tags": {"tag.up": True, "tag.slots": kind}}
        ]
    raise ProxyError(404, CODE_SRVTYPE_NOTMANAGED, f"Service type [{kind}] not managed")


def conscience_list(app: ProxyApp, req: Request) -> Reply:
    return Reply(200, _services(app, req.required("type")))


def conscience_resolve(app: ProxyApp, req: Request) -> Reply:
    kind, service_id = req.required("type"), req.required("service_id")
    for service in _services(app, kind):
        if service_id in (service["id"], service["tags"].get("tag.service_id")):
            return Reply(200, {"addr": service["addr"]})
    raise NotFound(f"Service {service_id!r} of type {kind!r} not found")


def conscience_flush(app: ProxyApp, req: Request) -> Reply:
    """Forget the registered services of a type: nothing is cached here, they stay."""
    _services(app, req.required("type"))
    return Reply(204)


def lb_choose(app: ProxyApp, req: Request) -> Reply:
    """`size` services of a type that are up: `[{"addr", "id"}]` (lb_actions.c)."""
    kind = req.required("type")
    size = req.int_param("size", 1) or 1
    up = [s for s in _services(app, kind) if s["score"] > 0]
    if kind == "rawx":
        up = [s for s in up if s["tags"]["tag.vol"] not in app.server.down_volumes()]
        secrets.SystemRandom().shuffle(up)
    if len(up) < size:
        raise ProxyError(
            503, CODE_POLICY_NOT_SATISFIABLE, f"found only {len(up)} services matching the criteria"
        )
    return Reply(200, [{"addr": s["addr"], "id": s["id"]} for s in up[:size]])


def proxy_config(app: ProxyApp, req: Request) -> Reply:
    """The proxy's configuration (`GET /v3.0/config`): what OpenIO's client reads of it."""
    config = app.ns.config
    return Reply(
        200,
        {
            "meta2.max_versions": str(config.get("max_versions", 1)),
            "ns.chunk_size": str(config["chunk_size"]),
            "ns.storage_policy": config["storage_policy"],
            "core.sds.strict_utf8": "on",
            "proxy.bulk.max.create_many": str(BULK_MAX),
            "proxy.bulk.max.delete_many": str(BULK_MAX),
        },
    )


def oiocli_events(app: ProxyApp, req: Request) -> Reply:
    """The namespace's event journal (an oiocli extension: OpenIO queues its events)."""
    since = req.param("since")
    try:
        since_value = float(since) if since is not None else None
    except ValueError:
        raise BadRequest(f"Invalid since {since!r}") from None
    events = app.ns.event_list(
        since=since_value, limit=req.int_param("limit"), marker=req.int_param("marker")
    )
    return Reply(200, events)


ROUTES: dict[tuple[str, str], Route] = {
    ("POST", "container/create"): container_create,
    ("POST", "container/create_many"): container_create_many,
    ("POST", "container/destroy"): container_destroy,
    ("GET", "container/show"): container_show,
    ("POST", "container/get_properties"): container_get_properties,
    ("POST", "container/set_properties"): container_set_properties,
    ("POST", "container/del_properties"): container_del_properties,
    ("GET", "container/list"): container_list,
    ("POST", "container/touch"): container_touch,
    ("POST", "container/purge"): container_purge,
    ("POST", "container/flush"): container_flush,
    ("POST", "container/snapshot"): container_snapshot,
    ("POST", "container/raw_update"): container_raw_update,
    ("POST", "admin/freeze"): admin_freeze,
    ("POST", "admin/enable"): admin_enable,
    ("POST", "admin/disable"): admin_disable,
    ("GET", "reference/show"): reference_show,
    ("POST", "reference/get_properties"): reference_get_properties,
    ("POST", "content/prepare2"): content_prepare,
    ("POST", "content/prepare"): content_prepare_legacy,
    ("POST", "content/create"): content_create,
    ("POST", "content/update"): content_update,
    ("GET", "content/locate"): content_locate,
    ("GET", "content/show"): content_locate,
    ("POST", "content/get_properties"): content_get_properties,
    ("POST", "content/set_properties"): content_set_properties,
    ("POST", "content/del_properties"): content_del_properties,
    ("POST", "content/delete"): content_delete,
    ("POST", "content/delete_many"): content_delete_many,
    ("POST", "content/touch"): content_touch,
    ("POST", "content/drain"): content_drain,
    ("POST", "content/truncate"): content_truncate,
    ("POST", "content/purge"): content_purge,
    ("GET", "conscience/info"): conscience_info,
    ("GET", "conscience/list"): conscience_list,
    ("GET", "conscience/resolve"): conscience_resolve,
    ("POST", "conscience/flush"): conscience_flush,
    ("GET", "lb/choose"): lb_choose,
    ("GET", "oiocli/events"): oiocli_events,
}


__all__ = ["ProxyApp", "ProxyService", "Reply", "Request", "error_status"]
