"""The content routes of `oio namespace serve`'s proxy (`content/*`).

As OpenIO SDS 7.3.0's proxy answers them (`proxy/m2_actions.c`) over meta2
(`meta2v2/meta2_utils.c`). Every chunk a commit records is first claimed
(`ProxyApp.claim_chunks`): it must have been written here for that object, and
belong to no other. Where an answer differs from OpenIO's on purpose, the
route says so and docs/API-CONTRACT.md lists it with its reason.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from oiocli.backends.embedded.chunks import chunk_url
from oiocli.backends.embedded.meta import now_us
from oiocli.core import wire
from oiocli.core.chunks import group_metachunks, position_of
from oiocli.core.exceptions import (
    BadRequest,
    ContentDrained,
    NoSuchContainer,
    NoSuchObject,
    OioException,
)
from oiocli.core.names import check_name
from oiocli.core.storage_method import parse_method
from oiocli.server.formats import content_headers
from oiocli.server.messages import (
    BULK_MAX,
    CODE_CONTENT_DELETED,
    ProxyError,
    Reply,
    Request,
    check_hex,
    error_status,
    json_object,
    system_properties,
    user_properties,
)

if TYPE_CHECKING:
    from oiocli.server.proxy import ProxyApp


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
    body = json_object(req)
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
    content_id = check_hex(content_id, "content id") if content_id else prep["content_id"]
    version = req.int_param("version") or prep["version"]
    if req.flag("autocreate"):
        app.asked_autocreate(wire.compute_cid(account, container), content_id, remember=True)
    method = parse_method(prep["chunk_method"])
    if method.is_tier:
        # As meta2 does (m2v2_build_chunk_url_storage): the client uploads to the bucket.
        urls = [method.chunk_prefix + secrets.token_hex(32).upper()]
    else:
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
    headers[wire.CHUNK_SIZE_HEADER] = str(prep["chunk_size"])
    if legacy:
        return Reply(200, chunks, headers)
    return Reply(200, {"chunks": chunks, "properties": {}}, headers)


def content_prepare_legacy(app: ProxyApp, req: Request) -> Reply:
    return content_prepare(app, req, legacy=True)


def _meta_header(req: Request, field: str) -> str | None:
    return req.header(wire.CONTENT_PREFIX + field)


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
        "content": check_hex(content_id, "content id"),
        "size": size,
        "version": version,
        "hsh": check_hex(hsh, "content hash") if hsh else None,
        "policy": _structured(_meta_header(req, "policy")),
        "chunk_method": _structured(_meta_header(req, "chunk-method")),
        "mime_type": _meta_header(req, "mime-type") or "application/octet-stream",
    }
    if not fields["policy"] or not fields["chunk_method"]:
        raise BadRequest(
            f"Missing header {wire.CONTENT_PREFIX}policy or {wire.CONTENT_PREFIX}chunk-method"
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
    properties = user_properties(body)
    cprops = body.get("container_properties") or {}
    if not isinstance(cprops, dict):
        raise BadRequest("'container_properties' must be an object")
    if req.flag("append"):
        _check_append(app, account, container, name, fields["chunk_method"])
    # The chunks are checked first: a refused commit creates nothing.
    with app.claim_chunks(account, container, fields["content"], chunks, fields["chunk_method"]):
        try:
            app.ns.container_locate(account, container)
        except NoSuchContainer:
            cid = wire.compute_cid(account, container)
            if not (req.flag("autocreate") or app.asked_autocreate(cid, fields["content"])):
                raise
            app.ns.container_create(
                account, container, user_properties(cprops), system_properties(cprops), req.reqid
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
    return Reply(204, None, {wire.CONTENT_PREFIX + "version": str(version)})


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
    app.ns.container_check_writable(account, container)
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
    with_props = wire.true_value(req.param("properties", "true"))
    headers = content_headers(meta, properties=with_props)
    headers[wire.CHUNK_SIZE_HEADER] = str(app.ns.chunk_size)
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
    body = json_object(req)
    props = user_properties(body)
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


def _delete(
    app: ProxyApp, req: Request, account: str, container: str, name: str, version: int | None
) -> tuple[bool, int]:
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
            maxvers = app.ns.max_versions(app.ns.container_props(account, container))
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
        wire.DELETE_MARKER_HEADER: "true" if marker else "false",
        wire.VERSION_ID_HEADER: str(version_id),
    }
    return Reply(204, None, headers)


def content_delete_many(app: ProxyApp, req: Request) -> Reply:
    """`{"contents": [{"name"}]}` -> per name 204, or the OpenIO code of its error."""
    account, container = app.container_of(req)
    body = json_object(req)
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
    app.ns.container_locate(account, container)
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
    pinned = req.param("content")
    if pinned and pinned.upper() != str(meta["id"]).upper():
        # As meta2 (_dup_content_id_url): a content named by its id is cut, not the name's.
        raise NoSuchObject(f"Content {pinned} not found")
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
