"""How the proxy of `oio namespace serve` shows objects and containers on the wire.

The `x-oio-content-meta-*` and `x-oio-container-meta-*` reply headers and the
entries of a container listing, built from the embedded namespace's records
as OpenIO SDS 7.3.0's proxy builds them from meta2's (`proxy/m2_actions.c`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from oiocli.backends.embedded.meta import STATUS_ENABLED
from oiocli.core import wire

DELETE_MARKER_MIME = "application/x-deleted"  # OIO_DELETE_MARKER_CONTENT_TYPE


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
    prefix = wire.CONTENT_PREFIX
    headers = {
        prefix + "name": quote(str(meta["name"]), safe=""),
        prefix + "version": str(meta["version"]),
        prefix + "deleted": "True" if meta.get("deleted") else "False",
        prefix + "ctime": str(_seconds(meta.get("ctime"))),
        prefix + "mtime": str(_seconds(meta.get("mtime"))),
    }
    # Not OpenIO's: whether this alias is its name's newest version (oiocli reads it).
    if "is_latest" in meta:
        headers[wire.ALIAS_LATEST_HEADER] = "true" if meta["is_latest"] else "false"
    return headers


def content_headers(meta: Mapping[str, Any], properties: bool = False) -> dict[str, str]:
    """x-oio-content-meta-* of an object: its content header, then its alias.

    A delete marker has no content header: only the alias fields go out. With
    `properties` (content/locate's legacy format), each property is one more
    header, its value URL-quoted.
    """
    prefix = wire.CONTENT_PREFIX
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
    prefix = wire.CONTAINER_PREFIX
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
