"""A small S3 client: botocore's SigV4 signer over a urllib3 connection pool.

Why not boto3: its client costs ~0.18 s to import and build here, against
~0.09 s for the signer and urllib3 (urllib3 is already a dependency), and the
data path needs only PUT, ranged GET, HEAD, DELETE, COPY and multipart uploads,
with retries the way this module wants them (see `S3Client.request`).

Requests are path-style (`<endpoint>/<bucket>/<key>`): every S3 service takes
it, B2 and SeaweedFS included, and it needs no DNS name per bucket.
"""

from __future__ import annotations

import datetime
import email.utils
import hashlib
import random
import threading
import time
import urllib.parse
from collections.abc import Mapping
from xml.etree import ElementTree

import urllib3
from botocore.auth import SIGV4_TIMESTAMP, UNSIGNED_PAYLOAD, S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from oiocli.backends.cloud.keyfile import TierTarget
from oiocli.core.exceptions import (
    BadRequest,
    ChunkNotFound,
    Conflict,
    Forbidden,
    OioException,
    OioTimeout,
    ServerException,
    ServiceBusy,
)

# Statuses worth another try, after Retry-After or an exponential backoff.
RETRY_STATUSES = frozenset((429, 500, 502, 503, 504))
# 403 codes that a new signature (with the server's clock) cures.
RESIGN_CODES = frozenset(("RequestTimeTooSkewed", "RequestExpired", "ExpiredToken"))
MAX_ATTEMPTS = 6
BACKOFF_BASE = 0.2
BACKOFF_MAX = 20.0
RETRY_AFTER_MAX = 60.0


class _Signer(S3SigV4Auth):
    """SigV4 with a clock offset (the server's time after a skew), and our payload hash.

    The payload hash is the body's SHA-256 for small bodies (XML) and
    UNSIGNED-PAYLOAD for chunk data, whose integrity Content-MD5 guards: the
    server refuses a body whose MD5 is not the one announced.
    """

    def sign(self, request: AWSRequest, payload_hash: str, skew: float) -> None:
        now = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=skew)
        request.context["timestamp"] = now.strftime(SIGV4_TIMESTAMP)
        request.context["payload_hash"] = payload_hash
        self._modify_request_before_signing(request)
        canonical = self.canonical_request(request)
        signature = self.signature(self.string_to_sign(request, canonical), request)
        self._inject_signature_to_request(request, signature)

    def payload(self, request: AWSRequest) -> str:
        return request.context["payload_hash"]


class S3Error(OioException):
    """An S3 error reply that is not one of ours (exit 1)."""


def _error_code(body: bytes) -> tuple[str, str]:
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError:
        return "", body[:200].decode("utf-8", "replace")
    return root.findtext("Code") or "", root.findtext("Message") or ""


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return min(max(float(value), 0.0), RETRY_AFTER_MAX)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return min(max(when.timestamp() - time.time(), 0.0), RETRY_AFTER_MAX)


class S3Client:
    """Signed requests to one bucket, retried where a retry is safe."""

    def __init__(
        self,
        target: TierTarget,
        pool_size: int = 16,
        connect_timeout: float = 10.0,
        read_timeout: float = 120.0,
        max_attempts: int = MAX_ATTEMPTS,
    ) -> None:
        self.target = target
        self.max_attempts = max_attempts
        self.signer = _Signer(
            Credentials(target.access_key, target.secret_key), "s3", target.region
        )
        self.skew = 0.0  # seconds to add to our clock (learnt from a skewed reply)
        self._lock = threading.Lock()
        self.http = urllib3.PoolManager(
            num_pools=4,
            maxsize=pool_size,
            block=False,
            retries=False,
            timeout=urllib3.Timeout(connect=connect_timeout, read=read_timeout),
        )
        self.base = f"{target.endpoint}/{urllib.parse.quote(target.bucket)}"

    def url(self, key: str, query: Mapping[str, str] | None = None) -> str:
        url = f"{self.base}/{urllib.parse.quote(key, safe='/')}" if key else self.base
        if query:
            url += "?" + urllib.parse.urlencode(sorted(query.items()), quote_via=urllib.parse.quote)
        return url

    def request(
        self,
        method: str,
        key: str,
        body: bytes | memoryview | None = None,
        headers: Mapping[str, str] | None = None,
        query: Mapping[str, str] | None = None,
        stream: bool = False,
        idempotent: bool = True,
        sign_body: bool | None = None,
        ok: tuple[int, ...] = (200, 204, 206),
    ) -> urllib3.BaseHTTPResponse:
        """One S3 request: the response of status in `ok`, else an OioException.

        429/5xx are retried after Retry-After (or a growing random backoff); a
        403 for a skewed or expired signature is re-signed with the server's
        clock; a reset or timeout is retried when the request is idempotent
        (every one here but the multipart create and complete).
        """
        url = self.url(key, query)
        data = b"" if body is None else body
        if sign_body is None:
            sign_body = len(data) <= 64 * 1024
        payload_hash = hashlib.sha256(data).hexdigest() if sign_body else UNSIGNED_PAYLOAD
        attempt = 0
        resigned = False
        while True:
            attempt += 1
            request = AWSRequest(method=method, url=url, headers=dict(headers or {}))
            request.headers["Content-Length"] = str(len(data))
            self.signer.sign(request, payload_hash, self.skew)
            try:
                response = self.http.request(
                    method,
                    url,
                    # urllib3 sends any bytes-like body (its stubs say bytes only).
                    body=data if body is not None else None,  # type: ignore[arg-type]
                    headers=dict(request.headers.items()),
                    preload_content=not stream,
                    redirect=False,
                )
            except (urllib3.exceptions.HTTPError, OSError) as exc:
                if idempotent and attempt < self.max_attempts:
                    self._pause(attempt, None)
                    continue
                if isinstance(exc, urllib3.exceptions.TimeoutError):
                    raise OioTimeout(f"S3 {method} {url}: timed out ({exc})") from None
                raise ServiceBusy(f"S3 {method} {url}: {exc}") from None
            if response.status in ok:
                return response
            payload = response.data
            if stream:
                response.release_conn()
            code, message = _error_code(payload or b"")
            if response.status == 403 and code in RESIGN_CODES and not resigned:
                self._learn_clock(response.headers.get("Date"))
                resigned = True
                continue
            if response.status in RETRY_STATUSES and attempt < self.max_attempts:
                self._pause(attempt, _retry_after(response.headers.get("Retry-After")))
                continue
            raise self._error(method, url, response.status, code, message)

    def list_keys(self, prefix: str = "") -> list[tuple[str, int, float]]:
        """(key, size, mtime) of every object under `prefix` (ListObjectsV2, page by page)."""
        ns = "{http://s3.amazonaws.com/doc/2006-03-01/}"
        keys: list[tuple[str, int, float]] = []
        token = ""
        while True:
            query = {"list-type": "2", "prefix": prefix}
            if token:
                query["continuation-token"] = token
            root = ElementTree.fromstring(self.request("GET", "", query=query).data)
            for item in root.iter(f"{ns}Contents"):
                modified = item.findtext(f"{ns}LastModified") or ""
                try:
                    mtime = datetime.datetime.fromisoformat(modified.replace("Z", "+00:00"))
                    when = mtime.timestamp()
                except ValueError:
                    when = 0.0
                key = item.findtext(f"{ns}Key") or ""
                keys.append((key, int(item.findtext(f"{ns}Size") or 0), when))
            token = root.findtext(f"{ns}NextContinuationToken") or ""
            if root.findtext(f"{ns}IsTruncated") != "true" or not token:
                return keys

    def _learn_clock(self, date: str | None) -> None:
        if not date:
            return
        try:
            server = email.utils.parsedate_to_datetime(date).timestamp()
        except (TypeError, ValueError):
            return
        with self._lock:
            self.skew = server - time.time()

    @staticmethod
    def _pause(attempt: int, retry_after: float | None) -> None:
        if retry_after is None:
            retry_after = random.uniform(0, min(BACKOFF_MAX, BACKOFF_BASE * 2**attempt))
        time.sleep(retry_after)

    def _error(self, method: str, url: str, status: int, code: str, message: str) -> OioException:
        text = f"S3 {method} {url}: {status} {code or ''} {message or ''}".rstrip()
        if status == 404:
            if code == "NoSuchBucket":
                return S3Error(f"Bucket {self.target.bucket!r} not found at {self.target.endpoint}")
            return ChunkNotFound(text)
        if status in (401, 403):
            return Forbidden(text)
        if status in (409, 412):
            return Conflict(text)
        if status in (400, 411, 413, 416):
            return BadRequest(text)
        if status in RETRY_STATUSES:
            return ServiceBusy(text)
        if status >= 500:
            return ServerException(text)
        return S3Error(text)

    def close(self) -> None:
        self.http.clear()
