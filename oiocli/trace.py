"""A log record per request and per chunk operation (`oio -v`, `--log-file`).

Records go to the `oiocli.trace` logger at INFO, with their fields in the
record (`record.trace`) for the JSON format:

    kind      "http" (a request to an OpenIO proxy or rawx), "chunk" (a chunk of the
              embedded namespace), "meta" (a metadata operation of the embedded
              namespace)
    method    GET, PUT, HEAD, DELETE, LINK, VERIFY; the operation name for "meta"
    target    the URL (http, chunk) or the names operated on (meta)
    status    the HTTP status; "ok" or the error's class name otherwise
    bytes     bytes sent or received (null when unknown)
    ms        latency in milliseconds (a chunk read: until its last byte)
    request_id

Nothing here runs unless tracing is on: the shell wraps the embedded
namespace's chunk store and metadata backend only then (`install`), and the
proxy backend's HTTP client asks `enabled()` before recording.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable, Iterator
from typing import Any

LOG = logging.getLogger("oiocli.trace")
_INFO = logging.INFO


def enabled() -> bool:
    return LOG.isEnabledFor(_INFO)


def record(
    kind: str,
    method: str,
    target: str,
    status: Any,
    nbytes: int | None,
    seconds: float,
    request_id: str | None,
) -> None:
    fields = {
        "kind": kind,
        "method": method,
        "target": target,
        "status": status,
        "bytes": nbytes,
        "ms": round(seconds * 1000, 2),
        "request_id": request_id,
    }
    size = "-" if nbytes is None else f"{nbytes} B"
    LOG.info(
        "%s %s %s %s %s %.1f ms req=%s",
        kind,
        method,
        target,
        status,
        size,
        seconds * 1000,
        request_id or "-",
        extra={"trace": fields},
    )


def http(
    method: str, url: str, body: Any, response: Any, started: float, request_id: str | None
) -> None:
    """One HTTP exchange: bytes sent (a known or streamed body) or received (its
    Content-Length)."""
    sent = getattr(body, "sent", None)  # a streamed (chunked) body counts what it sent
    if isinstance(sent, int) and sent:
        nbytes: int | None = sent
    elif isinstance(body, bytes | bytearray | memoryview) and body:
        nbytes = len(body)
    else:
        length = response.headers.get("Content-Length")
        nbytes = int(length) if length and length.isdigit() else None
    record("http", method, url, response.status, nbytes, time.monotonic() - started, request_id)


def _status(error: BaseException | None) -> str:
    return "ok" if error is None else type(error).__name__


class TracedChunks:
    """A chunk store whose every operation is recorded (the embedded namespace's)."""

    def __init__(self, store: Any, request_id: str | None) -> None:
        self._store = store
        self._request_id = request_id

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def _call(self, method: str, url: str, call: Any, *args: Any) -> Any:
        started = time.monotonic()
        try:
            result = call(url, *args)
        except BaseException as error:
            record(
                "chunk",
                method,
                url,
                _status(error),
                None,
                time.monotonic() - started,
                self._request_id,
            )
            raise
        size = result.get("size") if isinstance(result, dict) else None
        record("chunk", method, url, "ok", size, time.monotonic() - started, self._request_id)
        return result

    def put(self, url: str, data: Iterable[Any], meta: dict[str, Any]) -> dict[str, Any]:
        return self._call("PUT", url, self._store.put, data, meta)

    def head(self, url: str) -> dict[str, Any]:
        return self._call("HEAD", url, self._store.head)

    def delete(self, url: str) -> None:
        return self._call("DELETE", url, self._store.delete)

    def link(self, url: str, new_url: str) -> None:
        return self._call("LINK", url, self._store.link, new_url)

    def verify(self, url: str) -> dict[str, Any]:
        return self._call("VERIFY", url, self._store.verify)

    def get(self, url: str, *args: Any, **kwargs: Any) -> Iterator[bytes]:
        started = time.monotonic()
        received = 0
        error: BaseException | None = None
        try:
            for data in self._store.get(url, *args, **kwargs):
                received += len(data)
                yield data
        except BaseException as exc:  # GeneratorExit too: a reader that stopped early
            error = None if isinstance(exc, GeneratorExit) else exc
            raise
        finally:
            record(
                "chunk",
                "GET",
                url,
                _status(error),
                received,
                time.monotonic() - started,
                self._request_id,
            )


# Metadata operations of a backend (OpenIO proxy action names); helpers are not traced.
_TRACED_PREFIXES = ("account_", "container_", "content_", "event_", "chunk_targets", "resolve_cid")


class TracedBackend:
    """A metadata backend whose operations are recorded with the names they work on."""

    def __init__(self, backend: Any, request_id: str | None) -> None:
        self._backend = backend
        self._request_id = request_id

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._backend, name)
        if not callable(attr) or not name.startswith(_TRACED_PREFIXES):
            return attr
        request_id = self._request_id

        def traced(*args: Any, **kwargs: Any) -> Any:
            started = time.monotonic()
            target = "/".join(a for a in args if isinstance(a, str) and a != request_id)[:200]
            target = target or "-"
            try:
                result = attr(*args, **kwargs)
            except BaseException as error:
                record(
                    "meta",
                    name,
                    target,
                    _status(error),
                    None,
                    time.monotonic() - started,
                    request_id,
                )
                raise
            record("meta", name, target, "ok", None, time.monotonic() - started, request_id)
            return result

        return traced


def install(api: Any, request_id: str | None) -> None:
    """Trace `api`'s operations: the embedded namespace's chunk and metadata calls (a
    proxy's requests are recorded by its HTTP client, when `enabled()`)."""
    if getattr(api, "data_dir", None) is None:
        return
    chunks = TracedChunks(api.chunks, request_id)
    api.chunks = chunks
    if getattr(api.backend, "chunks", None) is not None:
        api.backend.chunks = chunks  # the backend deletes unreferenced chunks itself
    api.backend = TracedBackend(api.backend, request_id)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and the trace fields."""

    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        entry: dict[str, Any] = {
            "time": f"{stamp}.{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        trace = getattr(record, "trace", None)
        if trace:
            entry.update(trace)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)
