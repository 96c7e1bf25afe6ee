"""HTTP plumbing of the proxy backend: one connection pool, request ids, retries, errors.

Every request to the proxy, the account service or a rawx goes through
`HttpClient.request`, so the rules live in one place:

- one urllib3 `PoolManager` per client (keep-alive connections, reused by every
  thread of the process that shares the client);
- an `x-oio-req-id` header on every request, repeated in timeout messages so an
  operator can find the request in the services' logs;
- bounded retries with exponential backoff, by urllib3's `Retry` (`_Retry`). A
  request that could not even be sent (connection refused, connect timeout) is
  retried whatever its method, since the server never saw it; a request that
  was sent is retried (after a lost connection or a 503) only when it is
  idempotent, never after a read timeout (the server may still be at it) nor
  after a 503 that a retry will not cure (a frozen container);
- chunked request bodies ended by HTTP trailers (`ChunkedBody`): a rawx learns
  a chunk's metachunk size and hash only once its data has been streamed.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import urllib3
from urllib3.connection import HTTPConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    MaxRetryError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
    ResponseError,
)
from urllib3.util.retry import Retry

from oiocli import trace
from oiocli.core.exceptions import (
    BadRange,
    BadRequest,
    Conflict,
    ContainerFrozen,
    ContainerNotEmpty,
    ContentDrained,
    Forbidden,
    NoSuchAccount,
    NoSuchContainer,
    NoSuchObject,
    NotEnoughVolumes,
    NotFound,
    OioException,
    OioTimeout,
    ServerException,
    ServiceBusy,
    StorageFull,
    UnknownPolicy,
)

LOG = logging.getLogger("oiocli.proxy")

DEFAULT_CONNECTION_TIMEOUT = 5.0
DEFAULT_READ_TIMEOUT = 60.0
DEFAULT_RETRIES = 3
BACKOFF_FIRST = 0.05
BACKOFF_MAX = 2.0
# Connections kept per host: 3 metachunks in flight x 9 fragments may hit one rawx
# at once, and several threads may share the client.
POOL_MAXSIZE = 32

# OpenIO status codes (the "status" field of the proxy's JSON errors), the few
# that tell exceptions apart where the HTTP status alone does not.
CODE_BAD_REQUEST = 400
CODE_NOT_FOUND = 404
CODE_USER_NOTFOUND = 406  # the container's directory reference does not exist
CODE_ACCOUNT_NOTFOUND = 409  # sent with HTTP 404 only
CODE_CONTENT_NOTFOUND = 420
CODE_CONTENT_EXISTS = 421
CODE_CONTENT_PRECONDITION = 424
CODE_CONTENT_DELETED = 426  # the alias asked for is a delete marker
CODE_CONTENT_DRAINED = 427
CODE_CONTAINER_NOTFOUND = 431
CODE_CONTAINER_EXISTS = 433
CODE_CONTAINER_FROZEN = 436
CODE_CONTAINER_DISABLED = 437
CODE_CONTAINER_NOTEMPTY = 438
CODE_POLICY_NOT_SUPPORTED = 480
CODE_POLICY_NOT_SATISFIABLE = 481
CODE_INTERNAL_ERROR = 500
CODE_UNAVAILABLE = 503

_BY_CODE: dict[int, type[OioException]] = {
    CODE_USER_NOTFOUND: NoSuchContainer,
    CODE_CONTAINER_NOTFOUND: NoSuchContainer,
    CODE_CONTENT_NOTFOUND: NoSuchObject,
    CODE_CONTENT_DELETED: NoSuchObject,
    CODE_CONTENT_EXISTS: Conflict,
    CODE_CONTAINER_EXISTS: Conflict,
    CODE_CONTENT_PRECONDITION: Conflict,
    CODE_CONTAINER_NOTEMPTY: ContainerNotEmpty,
    CODE_CONTAINER_FROZEN: ContainerFrozen,
    CODE_CONTAINER_DISABLED: ContainerFrozen,
    CODE_CONTENT_DRAINED: ContentDrained,
    CODE_POLICY_NOT_SUPPORTED: UnknownPolicy,
    CODE_POLICY_NOT_SATISFIABLE: NotEnoughVolumes,
}

_BY_HTTP: dict[int, type[OioException]] = {
    400: BadRequest,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    410: ContentDrained,
    413: BadRequest,
    416: BadRange,
    503: ServiceBusy,
    507: StorageFull,
}


def new_request_id() -> str:
    return uuid.uuid4().hex


def encode_params(params: Mapping[str, Any] | None) -> str:
    """Query string with every character of names quoted (`/` too), None values dropped."""
    if not params:
        return ""
    items = [(k, _param_value(v)) for k, v in params.items() if v is not None]
    return urlencode(items, quote_via=quote, safe="")


def _param_value(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def error_from_response(
    status: int, body: bytes, headers: Mapping[str, str], reqid: str, what: str
) -> OioException:
    """The oiocli exception for an error reply of the proxy, the account service or a rawx.

    The proxy answers `{"status": <OpenIO code>, "message": ...}`; the code tells
    apart what the HTTP status does not (a missing container from a missing
    object, a frozen container from an overloaded service). Other services may
    answer plain text or HTML, or an `X-Error` header (rawx).
    """
    code: int | None = None
    message = ""
    text = body.decode("utf-8", "replace").strip() if body else ""
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        if isinstance(data, dict):
            raw_code = data.get("status")
            code = raw_code if isinstance(raw_code, int) else None
            message = str(data.get("message") or "")
    if not message:
        message = headers.get("X-Error") or headers.get("x-error") or ""
    if not message and text and not text.startswith("<"):
        message = text[:500]
    if not message:
        message = f"{what}: HTTP {status}"
    if status == 404 and code == CODE_ACCOUNT_NOTFOUND:
        cls: type[OioException] = NoSuchAccount
    elif code in _BY_CODE and (status >= 400):
        cls = _BY_CODE[code]
    else:
        cls = _BY_HTTP.get(status, ServerException)
    return cls(message, reqid=reqid)


class ChunkedBody:
    """A request body sent with chunked transfer encoding and ended by trailers.

    `pieces` is consumed once, each piece sent as it comes (never buffered);
    `trailers()` is called after the last piece, when the producer has filled in
    what it only knows at the end (the rawx PUT's metachunk size and hash).
    """

    def __init__(
        self,
        pieces: Iterable[Any],
        trailers: Callable[[], Mapping[str, str]] | None = None,
        write_timeout: float | None = None,
    ) -> None:
        self.pieces = pieces
        self.trailers = trailers
        self.write_timeout = write_timeout
        self.sent = 0

    def __iter__(self):  # urllib3 only checks that the body is iterable
        return iter(())


_TERMINATOR = b"0\r\n\r\n"


class _Connection(HTTPConnection):
    """urllib3's connection, able to send a `ChunkedBody` without copying it.

    urllib3 frames chunked bodies itself and always ends them with an empty
    trailer section, copying every piece on the way. For a `ChunkedBody`, the
    request is sent with no body and a `Transfer-Encoding: chunked` header, and
    the terminator urllib3 then sends is replaced here by the body's pieces
    (sent as they are, with their chunk-size lines) and its trailers.
    """

    _pending: ChunkedBody | None = None

    def request(self, method, url, body=None, headers=None, **kwargs):  # type: ignore[override]
        if isinstance(body, ChunkedBody):
            headers = dict(headers or {})
            headers["Transfer-Encoding"] = "chunked"
            kwargs["chunked"] = False
            self._pending = body
            try:
                return super().request(method, url, body=None, headers=headers, **kwargs)
            finally:
                self._pending = None
        return super().request(method, url, body=body, headers=headers, **kwargs)

    def send(self, data: Any) -> None:  # type: ignore[override]
        body = self._pending
        if body is None or data != _TERMINATOR:
            super().send(data)
            return
        self._pending = None
        if body.write_timeout is not None and self.sock is not None:
            self.sock.settimeout(body.write_timeout)
        for piece in body.pieces:
            size = len(piece) if not isinstance(piece, memoryview) else piece.nbytes
            if not size:
                continue
            super().send(b"%x\r\n" % size)
            super().send(piece)
            super().send(b"\r\n")
            body.sent += size
        trailers = body.trailers() if body.trailers else {}
        lines = "".join(f"{k}: {v}\r\n" for k, v in trailers.items())
        super().send(b"0\r\n" + lines.encode("latin-1") + b"\r\n")


class _Pool(HTTPConnectionPool):
    ConnectionCls = _Connection


class _Retry(Retry):
    """urllib3's Retry, with the rules of `HttpClient.request`.

    Connection failures count as `connect` errors (retried whatever the method);
    a lost connection after the request was sent as a `read` error (the caller
    allows those only for idempotent requests); a read timeout is none of them,
    so it is not retried; a 503 is retried only if its body does not name a
    lasting state (`_lasting`): such a 503 is handed back to the caller at once.
    """

    preloaded = True
    what = ""
    reqid = ""

    def _is_read_error(self, err: Exception) -> bool:
        return isinstance(err, ProtocolError)

    def new(self, **kw: Any) -> _Retry:
        new = super().new(**kw)
        new.preloaded, new.what, new.reqid = self.preloaded, self.what, self.reqid
        return new

    def increment(self, method=None, url=None, response=None, error=None, _pool=None, **kw):  # type: ignore[override]
        if response is not None and _lasting(response, self.preloaded):
            raise MaxRetryError(_pool, url, ResponseError("lasting 503"))  # type: ignore[arg-type]
        new = super().increment(method, url, response, error, _pool, **kw)
        LOG.debug(
            "%s: %s, retrying (request id %s)",
            self.what,
            f"HTTP {response.status}" if response is not None else _reason(error),
            self.reqid,
        )
        return new


class HttpClient:
    """The shared pool and the request rules of one ObjectStorageApi."""

    def __init__(
        self,
        connection_timeout: float | None = None,
        read_timeout: float | None = None,
        write_timeout: float | None = None,
        retries: int = DEFAULT_RETRIES,
        request_id: str | None = None,
        pool_manager: urllib3.PoolManager | None = None,
    ) -> None:
        self.connection_timeout = float(connection_timeout or DEFAULT_CONNECTION_TIMEOUT)
        self.read_timeout = float(read_timeout or DEFAULT_READ_TIMEOUT)
        self.write_timeout = float(write_timeout) if write_timeout else self.read_timeout
        self.retries = max(0, int(retries))
        self.request_id = request_id
        self.timeout = urllib3.Timeout(connect=self.connection_timeout, read=self.read_timeout)
        if pool_manager is None:
            pool_manager = urllib3.PoolManager(
                num_pools=64, maxsize=POOL_MAXSIZE, block=False, retries=False
            )
            # Our pool class for plain HTTP only (rawx and proxy speak HTTP); a new
            # dict, since the default one is shared module state.
            pool_manager.pool_classes_by_scheme = {"http": _Pool, "https": HTTPSConnectionPool}
        self.pool = pool_manager

    def reqid(self, reqid: str | None = None) -> str:
        return str(reqid or self.request_id or new_request_id())[:63]

    def close(self) -> None:
        self.pool.clear()

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        body: Any = None,
        json_body: Any = None,
        reqid: str | None = None,
        idempotent: bool = False,
        preload_content: bool = True,
        read_timeout: float | None = None,
        what: str | None = None,
    ) -> urllib3.BaseHTTPResponse:
        """Send a request (with retries); return the response whatever its status.

        Network failures become ServiceBusy (retry later) or OioTimeout, with the
        request id in the message.
        """
        reqid = self.reqid(reqid)
        query = encode_params(params)
        full_url = f"{url}?{query}" if query else url
        hdrs = dict(headers or {})
        hdrs["x-oio-req-id"] = reqid
        if json_body is not None:
            body = json.dumps(json_body, separators=(",", ":")).encode()
            hdrs.setdefault("Content-Type", "application/json")
        timeout = self.timeout
        if read_timeout is not None:
            timeout = urllib3.Timeout(connect=self.connection_timeout, read=read_timeout)
        what = what or f"{method} {url}"
        # A chunked body is consumed as it is sent: sent once, it cannot be sent again.
        resend = idempotent and not isinstance(body, ChunkedBody)
        retries = _Retry(
            total=self.retries,
            connect=self.retries,
            read=self.retries if resend else 0,
            status=self.retries if idempotent else 0,
            other=0,
            redirect=False,
            allowed_methods=None,  # idempotency is the caller's word, not the method's
            status_forcelist=(503,),
            raise_on_status=False,
            backoff_factor=BACKOFF_FIRST,
            backoff_max=BACKOFF_MAX,
            backoff_jitter=BACKOFF_FIRST,
        )
        retries.preloaded, retries.what, retries.reqid = preload_content, what, reqid
        started = time.monotonic()
        try:
            resp = self.pool.request(
                method,
                full_url,
                body=body,
                headers=hdrs,
                retries=retries,
                redirect=False,
                preload_content=preload_content,
                timeout=timeout,
            )
        except MaxRetryError as exc:
            raise self._failure(exc.reason or exc, what, url, reqid, timeout) from None
        except (ProtocolError, HTTPError, OSError) as exc:
            raise self._failure(exc, what, url, reqid, timeout) from None
        if trace.enabled():  # oio -v: one record per request
            trace.http(method, full_url, body, resp, started, reqid)
        return resp

    @staticmethod
    def _failure(
        exc: BaseException, what: str, url: str, reqid: str, timeout: urllib3.Timeout
    ) -> OioException:
        """The oiocli exception for a request that got no answer (retries spent)."""
        if isinstance(exc, ReadTimeoutError):
            return OioTimeout(
                f"{what}: no answer from {_host(url)} within "
                f"{timeout.read_timeout:g} s (request id {reqid})",
                reqid=reqid,
            )
        if isinstance(exc, NewConnectionError | ConnectTimeoutError):
            return ServiceBusy(
                f"{what}: cannot connect to {_host(url)}: {_reason(exc)} (request id {reqid})",
                reqid=reqid,
            )
        return ServiceBusy(
            f"{what}: connection to {_host(url)} lost: {_reason(exc)} (request id {reqid})",
            reqid=reqid,
        )

    def call(
        self,
        method: str,
        url: str,
        *,
        ok: tuple[int, ...] = (200, 201, 202, 204, 206),
        **kwargs: Any,
    ) -> tuple[urllib3.BaseHTTPResponse, Any]:
        """`request`, then raise the mapped exception on an error status; decode JSON."""
        what = kwargs.get("what") or f"{method} {url}"
        kwargs["what"] = what
        reqid = self.reqid(kwargs.pop("reqid", None))
        resp = self.request(method, url, reqid=reqid, **kwargs)
        data = resp.data if kwargs.get("preload_content", True) else b""
        if resp.status not in ok:
            raise error_from_response(resp.status, data, resp.headers, reqid, what)
        body: Any = None
        if data:
            try:
                body = json.loads(data)
            except ValueError:
                body = data
        return resp, body


# 503s that a retry will not cure: a frozen or disabled container, no room for a policy.
_LASTING_CODES = (CODE_CONTAINER_FROZEN, CODE_CONTAINER_DISABLED, CODE_POLICY_NOT_SATISFIABLE)


def _lasting(resp: urllib3.BaseHTTPResponse, preloaded: bool) -> bool:
    if not preloaded or not resp.data:
        return False
    try:
        code = json.loads(resp.data).get("status")
    except (ValueError, AttributeError):
        return False
    return code in _LASTING_CODES


def _host(url: str) -> str:
    return urlsplit(url).netloc or url


def _reason(exc: BaseException) -> str:
    """The useful part of a urllib3 / socket error's text."""
    if isinstance(exc, ProtocolError) and len(exc.args) > 1:
        inner = exc.args[1]
        if isinstance(inner, BaseException):
            return str(inner) or type(inner).__name__
    text = str(exc) or type(exc).__name__
    if isinstance(exc, NewConnectionError):
        # "<HTTPConnection object at 0x...>: Failed to establish ...: [Errno 111] ..."
        text = text.rsplit(": ", 1)[-1]
    return text


__all__ = [
    "ChunkedBody",
    "HttpClient",
    "encode_params",
    "error_from_response",
    "new_request_id",
]
