"""The container routes of `oio namespace serve`'s proxy (`container/*`, `admin/*`,
`reference/*`).

As OpenIO SDS 7.3.0's proxy answers them (`proxy/m2_actions.c`,
`proxy/sqlx_actions.c`, `proxy/dir_actions.c`) over meta2 and meta1. Where an
answer differs from OpenIO's on purpose, the route says so and
docs/API-CONTRACT.md lists it with its reason.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from oiocli.backends.embedded.chunks import chunk_path
from oiocli.backends.embedded.meta import (
    STATUS_DISABLED,
    STATUS_ENABLED,
    STATUS_FROZEN,
    STATUS_NAMES,
    container_status,
)
from oiocli.core import wire
from oiocli.core.chunks import ChunkRecord
from oiocli.core.exceptions import (
    BadRequest,
    Conflict,
    ContainerFrozen,
    NoSuchContainer,
    NoSuchObject,
    OioException,
)
from oiocli.core.names import check_name
from oiocli.server.formats import container_headers, container_system, listing_entry
from oiocli.server.messages import (
    BULK_MAX,
    CODE_CONTAINER_EXISTS,
    CODE_CONTAINER_NOTFOUND,
    CODE_CONTENT_NOTFOUND,
    CODE_USER_NOTFOUND,
    ProxyError,
    Reply,
    Request,
    error_status,
    json_object,
    system_properties,
    user_properties,
)

if TYPE_CHECKING:
    from oiocli.server.proxy import ProxyApp


LIST_DEFAULT = 1000  # META2_LISTING_DEFAULT_LIMIT
LIST_MAX = 10000  # META2_LISTING_MAX_LIMIT
FLUSH_BATCH = 1000


def _split_props(props: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    user = {k[5:]: v for k, v in props.items() if k.startswith("user.")}
    system = {k: v for k, v in props.items() if not k.startswith("user.")}
    return user, system


def container_create(app: ProxyApp, req: Request) -> Reply:
    """201 created, 204 when it existed (m2_actions.c, _m2_container_create)."""
    account, container = app.container_of(req)
    body = json_object(req)
    created = app.ns.container_create(
        account, container, user_properties(body), system_properties(body), req.reqid
    )
    return Reply(201 if created else 204)


def container_create_many(app: ProxyApp, req: Request) -> Reply:
    account = check_name("account", req.required("acct"))
    body = json_object(req)
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
                user_properties(item),
                system_properties(item),
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
    headers[wire.CONTAINER_PREFIX + "sys-peers"] = app.server.proxy.addr
    return Reply(200, {"properties": user}, headers)


def container_get_properties(app: ProxyApp, req: Request) -> Reply:
    """Every property: "user." ones (prefix dropped), and the rest (action_sqlx_propget)."""
    account, container = app.container_of(req)
    user, system = _split_props(_container_props(app, account, container))
    return Reply(200, {"properties": user, "system": system})


def container_set_properties(app: ProxyApp, req: Request) -> Reply:
    """Set user and system properties; `flush=1` drops the user ones first. 204."""
    account, container = app.container_of(req)
    body = json_object(req)
    props = {f"user.{k}": v for k, v in user_properties(body).items()}
    props.update(system_properties(body))
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
    with_props = wire.true_value(req.param("properties"))
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
        for entry in objects:
            content = entry.get("content")
            chunks = app.ns.content_chunks(account, container, content) if content else []
            entry["chunks"] = [app.chunk_json(c) for c in chunks]
    props = _container_props(app, account, container)
    user, system = _split_props(props)
    headers = container_headers(props, with_user=True)
    headers[wire.LIST_TRUNCATED_HEADER] = "true" if result["truncated"] else "false"
    if result["truncated"] and result["next_marker"] is not None:
        headers[wire.LIST_MARKER_HEADER] = quote(result["next_marker"], safe="")
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
    body = json_object(req)
    if not body.get("account") or not body.get("container"):
        raise BadRequest("Missing destination account name or container name")
    dst_account = check_name("account", body["account"])
    dst_container = check_name("container", body["container"])
    if (dst_account, dst_container) == (account, container):
        raise BadRequest(
            "The snapshot must either have a different name or be placed in another account"
        )
    app.ns.container_locate(account, container)  # a missing source: 404 before anything else
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
    body = json_object(req)
    old_beans = _bean_list(body, "old")
    new_beans = _bean_list(body, "new")
    if not old_beans:
        raise BadRequest("No bean to update")
    if len(old_beans) != len(new_beans):
        raise BadRequest("Length mismatch for bean sets")
    status = container_status(app.ns.container_props(account, container))
    if status == STATUS_DISABLED or (status == STATUS_FROZEN and not req.flag("frozen")):
        raise ContainerFrozen(f"Container {container!r} is {STATUS_NAMES[status].lower()}")
    records: dict[str, dict[str, Any]] = {}  # file URL -> its record (content, pos, ...)
    by_content: dict[str, list[ChunkRecord]] = {}

    def chunks_of(content: str) -> list[ChunkRecord]:
        if content not in by_content:
            by_content[content] = app.ns.content_chunks(account, container, content)
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
            owner = app.ns.chunk_references(account, container, [old_url]).get(old_url)
            if owner is not None:
                content = owner
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
            try:
                alias = app.ns.content_get_by_id(account, container, content)
            except NoSuchObject:
                raise ProxyError(404, CODE_CONTENT_NOTFOUND, "bean not found") from None
            aliases[content] = alias
            claims.append(
                app.claim_chunks(
                    account, container, content, news, alias["chunk_method"], replacing=olds
                )
            )
        for content, (olds, news) in swaps.items():
            alias = aliases[content]
            app.ns.content_swap_chunks(
                account, container, alias["name"], alias["version"], olds, news, req.reqid
            )
    finally:
        for claim in claims:
            claim.release()
    for url in sorted(superseded):
        _drop_extra_link(app, account, container, url)
    return Reply(204)


def _drop_extra_link(app: ProxyApp, account: str, container: str, url: str) -> None:
    """Remove a superseded chunk file if it is one more hard link of data kept by another.

    A chunk file with a single link is left to its owner (a rebuilder deletes
    the chunk it replaced itself).
    """
    try:
        if app.ns.chunk_references(account, container, [url]):
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
