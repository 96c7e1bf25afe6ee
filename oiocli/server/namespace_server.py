"""`oio namespace serve`: an embedded namespace behind OpenIO's proxy and rawx protocols.

One HTTP server plays OpenIO's `oio-proxy` (`/v3.0/<NS>/...`) and, on the same
address, its account service (`/v1.0/account/...`); one more server per volume
plays a `rawx`. Each runs in its own thread with its own listening socket, so a
test can stop one rawx (every open connection is cut, as when the process dies)
and start it again on the same port.

The protocol is OpenIO SDS 7.3.0's as its source defines it (the C proxy and
meta2, the Go rawx, the Python account service), so that OpenIO's own client
works against this server unchanged: see the proxy, rawx and account modules
of this package; its http module holds the connection limits and body framing
that every service shares. Deliberate differences are listed in docs/API-CONTRACT.md.

It is a development endpoint, not a cluster: production runs on OpenIO SDS. It
has no authentication (neither has OpenIO's proxy), hence the loopback default.

Chunk URLs seen by clients are `http://<host>:<port of the volume's rawx>/<ID>`;
the embedded namespace records `file://<volume>/<ID>`. The proxy translates
between the two in both directions. Cloud tier chunks (`b2/<ID>`, `s3/<ID>`) keep
their name on the wire, as OpenIO's meta2 gives them: the client writes them to
the bucket itself.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from oiocli.backends.embedded.chunks import chunk_path, chunk_url
from oiocli.backends.embedded.meta import EmbeddedNamespace
from oiocli.core import wire
from oiocli.core.exceptions import BadRequest
from oiocli.core.storage_method import TIER_PREFIXES
from oiocli.server.http import Limits, advertised_host, is_loopback
from oiocli.server.messages import error_status
from oiocli.server.proxy import ProxyApp, ProxyService
from oiocli.server.rawx import RawxService, parse_range

DEFAULT_PORT = 6006  # oio-proxy's usual port


# ------------------------------------------------------------------- server


class NamespaceServer:
    """An embedded namespace served as one proxy (+ account service) and one rawx per volume."""

    def __init__(
        self,
        ns: EmbeddedNamespace,
        host: str = "127.0.0.1",
        port: int = 0,
        limits: Limits | None = None,
    ) -> None:
        self.ns = ns
        self.host = host
        self.limits = limits or Limits()
        self.app = ProxyApp(self)
        self.proxy = ProxyService(self.app, host, port, self.limits)
        self.rawx = [
            RawxService(self, i, vol, host, limits=self.limits) for i, vol in enumerate(ns.volumes)
        ]
        self._by_volume = {rawx.volume: rawx for rawx in self.rawx}

    @property
    def proxy_url(self) -> str:
        return self.proxy.url

    def start(self) -> NamespaceServer:
        try:
            for rawx in self.rawx:
                rawx.start()
            self.proxy.start()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        self.proxy.stop()
        for rawx in self.rawx:
            rawx.stop()
        self.app.close()

    def __enter__(self) -> NamespaceServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def down_volumes(self) -> list[str]:
        return [rawx.volume for rawx in self.rawx if not rawx.running]

    def rawx_of(self, url: str) -> RawxService:
        """The rawx service of a chunk URL (http) or of its volume (file)."""
        if url.startswith("file://"):
            volume = url[7:].rpartition("/")[0]
            rawx = self._by_volume.get(volume)
        else:
            port = urlsplit(url).port
            rawx = next((r for r in self.rawx if r.port == port), None)
        if rawx is None:
            raise BadRequest(f"Chunk URL {url!r} is not served here")
        return rawx

    def to_http(self, url: str) -> str:
        """`file://<volume>/<ID>` -> `http://<host>:<port of the volume's rawx>/<ID>`."""
        if url.startswith(TIER_PREFIXES):
            return url  # a cloud tier chunk (`b2/<ID>`) is named the same on the wire
        volume, _, chunk_id = url[7:].rpartition("/")
        rawx = self._by_volume.get(volume)
        if rawx is None:
            raise BadRequest(f"Chunk {url!r} is on a volume this server does not serve")
        return f"{rawx.url}/{chunk_id}"

    def to_file(self, url: str) -> str:
        if url.startswith(TIER_PREFIXES):
            return url
        _base, chunk_id = wire.split_chunk_url(url)
        return chunk_url(self.rawx_of(url).volume, chunk_id)

    def file_path(self, url: str) -> str:
        """Where a chunk (by its http or file URL) lives on disk: for fault tests."""
        return chunk_path(self.to_file(url) if not url.startswith("file://") else url)


def serve_namespace(
    namespace: str,
    data_dir: str,
    host: str = "127.0.0.1",
    port: int = 0,
    limits: Limits | None = None,
    **config: Any,
) -> NamespaceServer:
    """Open (or create) an embedded namespace and serve it; the caller stops it."""
    ns = EmbeddedNamespace(namespace, data_dir, **config)
    return NamespaceServer(ns, host, port, limits).start()


__all__ = [
    "DEFAULT_PORT",
    "Limits",
    "advertised_host",
    "is_loopback",
    "NamespaceServer",
    "ProxyApp",
    "RawxService",
    "error_status",
    "parse_range",
    "serve_namespace",
]
