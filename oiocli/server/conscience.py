"""The conscience and load-balancer routes of `oio namespace serve`'s proxy.

`conscience/*`, `lb/choose` and the proxy's own `config`, as OpenIO SDS 7.3.0's
proxy answers them (`proxy/cs_actions.c`, `proxy/lb_actions.c`): the services
listed are this server's own (one proxy playing every metadata service, one
rawx per volume). Also `oiocli/events`, an oiocli extension.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from oiocli.core.exceptions import BadRequest, NotFound
from oiocli.server.http import advertised_host
from oiocli.server.messages import (
    BULK_MAX,
    CODE_POLICY_NOT_SATISFIABLE,
    CODE_SRVTYPE_NOTMANAGED,
    ProxyError,
    Reply,
    Request,
)

if TYPE_CHECKING:
    from oiocli.server.proxy import ProxyApp


SERVICE_TYPES = ("account", "meta0", "meta1", "meta2", "rawx")


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
