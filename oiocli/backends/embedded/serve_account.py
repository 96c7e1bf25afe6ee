"""The account service of `oio namespace serve` (`/v1.0/account/...`, on the proxy's address).

Routes and answers follow OpenIO SDS 7.3.0's account service
(`oio/account/server.py`, `oio/account/client.py`): `PUT create` (201 with the
name as body, 202 when it existed), `POST delete` (204, 404, 409 while it has
containers), `GET list` (a JSON array of names), `GET show`, `PUT update`,
`GET containers` (rows `[name, objects, bytes, is_prefix, mtime]`),
`POST refresh`, `POST flush`. Its address is found with `lb/choose?type=account`
(or `conscience/list?type=account`): the proxy's own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from oiocli.core.exceptions import BadRequest
from oiocli.core.names import check_name, check_properties

if TYPE_CHECKING:
    from oiocli.backends.embedded.serve_proxy import ProxyApp, Reply, Request

LIST_DEFAULT = 1000  # ACCOUNT_LISTING_DEFAULT_LIMIT
LIST_MAX = 10000  # ACCOUNT_LISTING_MAX_LIMIT


def _reply(*args: Any, **kwargs: Any) -> Reply:
    from oiocli.backends.embedded.serve_proxy import Reply

    return Reply(*args, **kwargs)


def _account_id(req: Request) -> str:
    return check_name("account", req.required("id"))


def account_create(app: ProxyApp, req: Request) -> Reply:
    account = _account_id(req)
    if app.ns.account_create(account, req.reqid):
        return _reply(201, account.encode())
    return _reply(202)


def account_delete(app: ProxyApp, req: Request) -> Reply:
    app.ns.account_delete(_account_id(req), req.reqid)
    return _reply(204)


def account_list(app: ProxyApp, req: Request) -> Reply:
    """All account ids (JSON array); `limit`, `marker`, `end_marker`, `prefix` page it
    (oiocli's extension: 7.3.0's service ignores them)."""
    names = app.ns.account_list(
        req.int_param("limit"), req.param("marker"), req.param("end_marker"), req.param("prefix")
    )
    return _reply(200, names)


def account_update(app: ProxyApp, req: Request) -> Reply:
    """`{"metadata": {k: v} | null, "to_delete": [k] | null}`."""
    body = req.json({}) or {}
    if not isinstance(body, dict):
        raise BadRequest("JSON object expected")
    metadata = body.get("metadata") or {}
    to_delete = body.get("to_delete") or []
    if not isinstance(metadata, dict) or not isinstance(to_delete, list):
        raise BadRequest("'metadata' must be an object and 'to_delete' a list")
    app.ns.account_update_metadata(
        _account_id(req), check_properties(metadata), [str(k) for k in to_delete], req.reqid
    )
    return _reply(204)


def _show(app: ProxyApp, account: str) -> dict[str, Any]:
    """An account as 7.3.0's service shows it (ctime as a string, crawler counters 0)."""
    info = app.ns.account_show(account)
    return {
        "id": info["id"],
        "bytes": info["bytes"],
        "objects": info["objects"],
        "damaged_objects": 0,
        "missing_chunks": 0,
        "ctime": str(info["ctime"]),
        # Not in 7.3.0's reply: when the account last changed.
        "mtime": str(info["mtime"]),
        "replication_enabled": False,
        "buckets": 0,
        "containers": info["containers"],
        "metadata": info["metadata"],
    }


def account_show(app: ProxyApp, req: Request) -> Reply:
    return _reply(200, _show(app, _account_id(req)))


def account_containers(app: ProxyApp, req: Request) -> Reply:
    """The account, and a page of its containers in `listing`.

    7.3.0's service says nothing of truncation; `truncated` and `next_marker`
    (a later version's fields) are added.
    """
    account = _account_id(req)
    info = _show(app, account)
    limit = req.int_param("limit", LIST_DEFAULT) or LIST_DEFAULT
    limit = max(1, min(limit, LIST_MAX))
    rows = app.ns.container_list(
        account,
        limit + 1,
        req.param("marker"),
        req.param("end_marker"),
        req.param("prefix"),
        (req.param("delimiter") or "")[:1] or None,
    )
    info["listing"] = rows[:limit]
    info["truncated"] = len(rows) > limit
    if info["truncated"]:
        info["next_marker"] = rows[limit - 1][0]
    return _reply(200, info)


def account_refresh(app: ProxyApp, req: Request) -> Reply:
    """Recompute an account's counters (oiocli's extension: without `id`, every account's)."""
    account = req.param("id")
    app.ns.account_refresh(check_name("account", account) if account else None, req.reqid)
    return _reply(204)


def account_flush(app: ProxyApp, req: Request) -> Reply:
    app.ns.account_flush(_account_id(req), req.reqid)
    return _reply(204)


def account_container_noop(app: ProxyApp, req: Request) -> Reply:
    """meta2 reports container statistics here; the embedded namespace keeps them itself."""
    _account_id(req)
    return _reply(204)


ACCOUNT_ROUTES = {
    "create": account_create,
    "delete": account_delete,
    "list": account_list,
    "update": account_update,
    "show": account_show,
    "containers": account_containers,
    "refresh": account_refresh,
    "flush": account_flush,
    "container/update": account_container_noop,
    "container/reset": account_container_noop,
}

ACCOUNT_METHODS: dict[str, tuple[str, ...]] = {
    "create": ("PUT",),
    "delete": ("POST",),
    "list": ("GET",),
    "update": ("PUT", "POST"),
    "show": ("GET", "HEAD"),
    "containers": ("GET",),
    "refresh": ("POST",),
    "flush": ("POST",),
    "container/update": ("PUT", "POST"),
    "container/reset": ("PUT", "POST"),
}
