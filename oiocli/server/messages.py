"""What the proxy of `oio namespace serve` reads and answers: requests, replies, errors.

A `Request` is a parsed proxy or account-service request, a `Reply` what a
route answers; `error_status` maps an exception to the HTTP status and the
OpenIO status code (`core/internals.h`) that OpenIO SDS 7.3.0's proxy answers
for it (`proxy/reply.c`). The helpers at the end check the JSON bodies that
several routes share (properties, system properties, hexadecimal ids).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl, unquote

from oiocli.backends.embedded.meta import STATUS_NAMES
from oiocli.core import wire
from oiocli.core.exceptions import (
    AccountNotEmpty,
    BadRange,
    BadRequest,
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
from oiocli.core.names import check_properties

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
BULK_MAX = 100  # proxy.bulk.max.create_many / delete_many


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

    def __init__(self, status: int = 204, body: Any = None, headers: dict[str, str] | None = None):
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
        reqid: str | None = self.headers.get(wire.REQID_HEADER)
        return reqid

    def header(self, name: str) -> str | None:
        """A header's value as sent: UTF-8 when it decodes so, else as its bytes."""
        value: str | None = self.headers.get(name)
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
            return wire.true_value(self.query[name])
        modes = (self.headers.get(wire.ACTION_MODE_HEADER) or "").lower()
        return name in {m.strip() for m in modes.split(",")}

    def int_param(self, name: str, default: int | None = None) -> int | None:
        value = self.param(name)
        if value is None:
            return default
        try:
            return int(value)
        except ValueError:
            raise BadRequest(f"Invalid {name} {value!r}: not an integer") from None


def check_hex(value: str, what: str) -> str:
    """A hexadecimal id or hash (at most 128 digits), uppercase; BadRequest otherwise."""
    if not value or not all(c in "0123456789abcdefABCDEF" for c in value) or len(value) > 128:
        raise BadRequest(f"Invalid {what} {value[:80]!r} (not hexadecimal)")
    return value.upper()


def system_properties(body: dict[str, Any]) -> dict[str, str]:
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


def user_properties(body: dict[str, Any], key: str = "properties") -> dict[str, str]:
    """The user properties object `key` of a request body, checked as names are."""
    raw = body.get(key)
    if raw is not None and not isinstance(raw, dict):
        raise BadRequest(f"{key!r} must be an object")
    return check_properties(raw)


def json_object(req: Request) -> dict[str, Any]:
    """A request's JSON object body ({} when there is none)."""
    body = req.json({})
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise BadRequest("JSON object expected")
    return body
