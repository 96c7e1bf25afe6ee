"""What travels on the wire between oiocli and OpenIO's proxy and rawx services.

Shared by the client (`oiocli.backends.proxy`) and by `oio namespace serve`
(`oiocli.server`), so that both ends agree by construction and each mapping is
written once. It is pure encoding: constants and functions, no I/O. The shapes
are those of OpenIO SDS 7.3.0's proxy, meta2 and rawx:

- object metadata travels in `x-oio-content-meta-*` headers. A client sends the
  values raw (OpenIO's meta2 stores them as they arrive, and its event agents
  read the chunk method back as stored); OpenIO's proxy answers the name
  URL-quoted, the other fields raw, so every value is unquoted on read;
- chunk metadata travels in `x-oio-chunk-meta-*` headers (PUT request, GET and
  HEAD replies); the metachunk size and hash, known only when a chunk's data has
  been streamed, travel as trailers of the chunked PUT body;
- a chunk's full path is `account/container/path/version/content id`, each part
  URL-quoted.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Protocol, cast
from urllib.parse import quote, unquote, urlsplit

from oiocli.core.exceptions import BadRequest

if TYPE_CHECKING:
    from oiocli.core.records import ContentRecord

API_VERSION = "v3.0"
ACCOUNT_PREFIX = "/v1.0/account"

REQID_HEADER = "x-oio-req-id"
ACTION_MODE_HEADER = "x-oio-action-mode"
CHUNK_SIZE_HEADER = "x-oio-ns-chunk-size"
LIST_TRUNCATED_HEADER = "x-oio-list-truncated"
LIST_MARKER_HEADER = "x-oio-list-marker"
DELETE_MARKER_HEADER = "x-oio-delete-marker"
VERSION_ID_HEADER = "x-oio-version-id"
CONTENT_PREFIX = "x-oio-content-meta-"
CONTAINER_PREFIX = "x-oio-container-meta-"
CHUNK_PREFIX = "x-oio-chunk-meta-"
# oiocli's extension to the rawx GET reply: the rawx checked every block it sends
# against its own checksums, so a corrupt chunk is cut off before its bad bytes (an
# OpenIO rawx sends no such header: it serves a chunk's bytes as they are on disk).
BLOCKS_VERIFIED_HEADER = "x-oiocli-blocks-verified"
# oiocli's extension to the rawx PUT: a trailer with the CRC32 of the body sent (8 hex
# digits), which a rawx that checks its blocks on every read may check instead of
# hashing the body with MD5 (an OpenIO rawx ignores it).
BODY_CRC32_TRAILER = "x-oiocli-body-crc32"
# Not an OpenIO header: whether the alias answered is its name's newest version.
# Outside the content-meta prefix, so that OpenIO's clients ignore it.
ALIAS_LATEST_HEADER = "x-oio-alias-latest"

# Object fields sent as `x-oio-content-meta-<name>` headers (OpenIO's SYSMETA_KEYS);
# anything else under that prefix is a user property.
CONTENT_FIELDS = (
    "chunk-method",
    "ctime",
    "mtime",
    "deleted",
    "hash",
    "hash-method",
    "id",
    "length",
    "mime-type",
    "name",
    "policy",
    "size",
    "version",
)

# Chunk metadata, as the embedded chunk store names it -> header suffix.
CHUNK_FIELDS: dict[str, str] = {
    "chunk_id": "chunk-id",
    "container_id": "container-id",
    "content_id": "content-id",
    "content_path": "content-path",
    "content_version": "content-version",
    "policy": "content-storage-policy",
    "chunk_method": "content-chunk-method",
    "pos": "chunk-pos",
    "full_path": "full-path",
    "metachunk_size": "metachunk-size",
    "metachunk_hash": "metachunk-hash",
    "chunk_size": "chunk-size",
    "chunk_hash": "chunk-hash",
    # oiocli extension: the CRC block size the serving chunk store should use
    # (one EC fragment per block, so a segment's fragment is checked in one go).
    "block_size": "block-size",
}
CHUNK_INT_FIELDS = ("content_version", "metachunk_size", "chunk_size", "block_size")
# URL-quoted on the wire. (A full path is made of quoted parts already: as is.)
CHUNK_QUOTED_FIELDS = ("content_path",)
# Known only once the data has been streamed: sent as trailers of the PUT.
CHUNK_TRAILER_FIELDS = ("metachunk_size", "metachunk_hash", "chunk_size", "chunk_hash")
CHUNK_REQUIRED_FIELDS = ("policy", "chunk_method", "pos", "full_path")


def compute_cid(account: str, container: str) -> str:
    """OpenIO's container id: SHA-256 of `account NUL container`, uppercase hex."""
    return hashlib.sha256(account.encode() + b"\0" + container.encode()).hexdigest().upper()


def full_path(account: str, container: str, path: str, version: Any, content_id: str) -> str:
    return "/".join(
        quote(str(part), safe="") for part in (account, container, path, version, content_id)
    )


def split_full_path(value: str) -> tuple[str, str, str, str, str]:
    parts = value.split("/")
    if len(parts) != 5:
        raise BadRequest(f"Invalid chunk full path {value!r}")
    account, container, path, version, content_id = (unquote(p) for p in parts)
    return account, container, path, version, content_id


def chunk_header(field: str) -> str:
    return CHUNK_PREFIX + CHUNK_FIELDS[field]


def chunk_headers(meta: Mapping[str, Any], fields: Any = None) -> dict[str, str]:
    """`x-oio-chunk-meta-*` headers of the (known) fields of a chunk's metadata."""
    out = {}
    for field in fields or CHUNK_FIELDS:
        value = meta.get(field)
        if value is None or value == "":
            continue
        if field in CHUNK_QUOTED_FIELDS:
            value = quote(str(value), safe="")
        out[chunk_header(field)] = str(value)
    return out


class Headers(Protocol):
    """What is read of a set of headers: a mapping, an HTTP message, urllib3's dict."""

    def items(self) -> Iterable[tuple[str, str]]: ...


def chunk_meta_from_headers(headers: Headers) -> dict[str, Any]:
    """The chunk metadata carried by `x-oio-chunk-meta-*` headers (case-insensitive)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    meta: dict[str, Any] = {}
    for field, suffix in CHUNK_FIELDS.items():
        value: Any = lowered.get(CHUNK_PREFIX + suffix)
        if value is None or value == "":
            continue
        if field in CHUNK_QUOTED_FIELDS:
            value = unquote(value)
        if field in CHUNK_INT_FIELDS:
            try:
                value = int(value)
            except ValueError:
                raise BadRequest(f"Invalid {CHUNK_PREFIX + suffix}: {value!r}") from None
        meta[field] = value
    return meta


def split_chunk_url(url: str) -> tuple[str, str]:
    """`http://host:port/<ID>` -> (`http://host:port`, ID uppercase)."""
    parts = urlsplit(url)
    chunk_id = parts.path.lstrip("/")
    if parts.scheme not in ("http", "https") or not parts.netloc or not is_chunk_id(chunk_id):
        raise BadRequest(f"Not a rawx chunk URL: {url!r}")
    return f"{parts.scheme}://{parts.netloc}", chunk_id.upper()


def is_chunk_id(text: str) -> bool:
    return len(text) == 64 and all(c in "0123456789abcdefABCDEF" for c in text)


# -- object metadata ------------------------------------------------------------


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def content_headers(meta: Mapping[str, Any], properties: bool = False) -> dict[str, str]:
    """Reply headers describing an object (as the embedded backend's dict has it)."""
    values = {
        "id": meta.get("id") or "",
        "name": meta.get("name"),
        "version": meta.get("version"),
        "policy": meta.get("policy") or "",
        "chunk-method": meta.get("chunk_method") or "",
        "mime-type": meta.get("mime_type") or "",
        "size": meta.get("size") or 0,
        "length": meta.get("size") or 0,
        "hash": meta.get("hash") or "",
        "hash-method": meta.get("hash_method") or "md5",
        "ctime": meta.get("ctime"),
        "mtime": meta.get("mtime"),
        "deleted": bool(meta.get("deleted")),
    }
    out = {CONTENT_PREFIX + k: quote(_text(v), safe="") for k, v in values.items()}
    if "is_latest" in meta:
        out[ALIAS_LATEST_HEADER] = _text(bool(meta["is_latest"]))
    if properties:
        for key, value in (meta.get("properties") or {}).items():
            out[CONTENT_PREFIX + quote(str(key), safe="")] = quote(str(value), safe="")
    return out


def content_request_headers(fields: Mapping[str, Any]) -> dict[str, str]:
    """`x-oio-content-meta-*` headers of a `content/create`: values raw, as OpenIO's client
    sends them. A value that cannot travel raw in a header is refused (BadRequest)."""
    out = {}
    for key, value in fields.items():
        text = _text(value)
        if not all(" " <= c <= "~" for c in text):
            raise BadRequest(
                f"Invalid object {key} {text!r}: only printable ASCII can be sent to the proxy"
            )
        out[CONTENT_PREFIX + key] = text
    return out


def _number(text: str | None) -> int | float | None:
    if text in (None, ""):
        return None
    try:
        return int(text)
    except ValueError:
        return float(text)


def content_meta_from_headers(
    headers: Mapping[str, str], account: str, container: str
) -> ContentRecord:
    """The object dict of the embedded backend, from `x-oio-content-meta-*` headers."""
    fields: dict[str, str] = {}
    properties: dict[str, str] = {}
    for key, value in headers.items():
        low = key.lower()
        if not low.startswith(CONTENT_PREFIX):
            continue
        short = low[len(CONTENT_PREFIX) :]
        if short in CONTENT_FIELDS:
            fields[short] = unquote(value)
        else:
            properties[unquote(key[len(CONTENT_PREFIX) :])] = unquote(value)
    size = _number(fields.get("size") or fields.get("length")) or 0
    latest = headers.get(ALIAS_LATEST_HEADER)
    meta = {
        "name": fields.get("name", ""),
        "version": _number(fields.get("version")),
        "id": fields.get("id") or None,
        "content": fields.get("id") or None,
        "deleted": fields.get("deleted", "").lower() in ("true", "1", "yes"),
        "is_latest": True if latest is None else latest.lower() == "true",
        "ctime": _number(fields.get("ctime")),
        "mtime": _number(fields.get("mtime")),
        "size": size,
        "length": size,
        "hash": fields.get("hash") or None,
        "hash_method": fields.get("hash-method") or "md5",
        "policy": fields.get("policy") or None,
        "chunk_method": fields.get("chunk-method") or None,
        "mime_type": fields.get("mime-type") or None,
        "container": container,
        "account": account,
        "properties": properties,
    }
    return cast("ContentRecord", meta)  # a field the reply lacks is None


def listing_entry(meta: Mapping[str, Any], with_properties: bool) -> dict[str, Any]:
    """One object of a `container/list` reply."""
    entry = {
        "name": meta["name"],
        "version": meta["version"],
        "ctime": meta.get("ctime"),
        "mtime": meta.get("mtime"),
        "deleted": bool(meta.get("deleted")),
        "id": meta.get("id"),
        "content": meta.get("id"),
        "policy": meta.get("policy"),
        "chunk-method": meta.get("chunk_method"),
        "hash": meta.get("hash"),
        "size": meta.get("size"),
        "mime-type": meta.get("mime_type"),
        # not in OpenIO's reply; its clients compute it, ours reads it
        "is_latest": bool(meta.get("is_latest", True)),
    }
    if with_properties:
        entry["properties"] = dict(meta.get("properties") or {})
    return entry


def meta_from_listing(
    entry: Mapping[str, Any], account: str, container: str, with_properties: bool
) -> ContentRecord:
    size = entry.get("size")
    meta = {
        "name": entry.get("name"),
        "version": _as_int(entry.get("version")),
        "id": entry.get("id") or entry.get("content"),
        "content": entry.get("content") or entry.get("id"),
        "deleted": bool(entry.get("deleted")),
        "is_latest": bool(entry.get("is_latest", True)),
        "ctime": entry.get("ctime"),
        "mtime": entry.get("mtime"),
        "size": _as_int(size) if size is not None else None,
        "length": _as_int(size) if size is not None else None,
        "hash": entry.get("hash") or None,
        "hash_method": "md5",
        "policy": entry.get("policy"),
        "chunk_method": entry.get("chunk-method", entry.get("chunk_method")),
        "mime_type": entry.get("mime-type", entry.get("mime_type")),
        "container": container,
        "account": account,
    }
    if with_properties:
        meta["properties"] = dict(entry.get("properties") or {})
    return cast("ContentRecord", meta)  # a field the entry lacks is None


def _as_int(value: Any) -> Any:
    try:
        return int(value)
    except (TypeError, ValueError):
        return value


def true_value(value: str | None) -> bool:
    return str(value or "").lower() in ("1", "true", "yes", "on", "enabled")
