"""`oio namespace serve`: the embedded namespace over OpenIO's proxy and rawx protocols."""

from __future__ import annotations

import argparse
import signal
import threading
from typing import Any

from oiocli.commands.base import Command


class NamespaceServe(Command):
    """Serve the embedded namespace over HTTP, as an OpenIO proxy and rawx services.

    One proxy (the /v3.0/<namespace>/ API, and the account service under
    /v1.0/account/ on the same address) and one rawx per volume, speaking OpenIO
    SDS 7.3.0's protocols: oiocli (--oio-proxy or OIO_PROXYD_URL) and OpenIO's own
    `openio` CLI and Python API (`proxy=<address>` in ~/.oio/sds.conf) work
    against it. This is a development endpoint, not a cluster: production runs on
    OpenIO SDS. The first line printed is the proxy URL; it runs until
    interrupted.

    There is no authentication (neither has OpenIO's proxy): anyone who can reach
    the address can read, change and delete everything in the namespace. It
    listens on the loopback interface by default; with --host set to another
    address, it warns on stderr. Each service takes at most 64 connections at
    once, cuts idle or slow ones, and refuses metadata bodies over 8 MiB.
    """

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        from oiocli.server.namespace_server import DEFAULT_PORT

        parser = super().get_parser(prog_name)
        parser.add_argument(
            "--host",
            default="127.0.0.1",
            metavar="<address>",
            help="Address to listen on (default 127.0.0.1). No authentication: any other "
            "address lets whoever reaches it read and delete the namespace",
        )
        parser.add_argument(
            "--port",
            type=int,
            default=DEFAULT_PORT,
            metavar="<port>",
            help=f"Port of the proxy (default {DEFAULT_PORT}, 0 for any free port); "
            "each rawx gets a free port",
        )
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> Any:
        from oiocli.api.object_storage import default_data_dir
        from oiocli.backends.embedded.meta import EmbeddedNamespace
        from oiocli.server.namespace_server import NamespaceServer, is_loopback

        namespace = self.app.namespace
        data_dir = self.app.data_dir or default_data_dir(namespace)
        if not is_loopback(parsed_args.host):
            self.app.stderr.write(
                f"warning: serving namespace {namespace} on {parsed_args.host}, without "
                "authentication: whoever reaches this address can read, change and delete "
                "everything in it\n"
            )
            self.app.stderr.flush()
        ns = EmbeddedNamespace(namespace, data_dir)
        # Tier chunks are checked at commit and deleted with their objects here.
        ns.tier_key_file = self.app.options.key_file
        server = NamespaceServer(ns, parsed_args.host, parsed_args.port)
        try:
            server.start()
        except OSError as exc:
            from oiocli.core.exceptions import BadRequest

            raise BadRequest(
                f"Cannot listen on {parsed_args.host}:{parsed_args.port}: {exc.strerror or exc}"
            ) from None
        done = threading.Event()
        previous = signal.signal(signal.SIGTERM, lambda *_: done.set())
        out = self.app.stdout
        try:
            out.write(f"{server.proxy_url}\n")
            out.write(
                f"namespace {namespace} ({data_dir}): proxy and account service at "
                f"{server.proxy_url}\n"
            )
            for rawx in server.rawx:
                out.write(f"rawx {rawx.url} {rawx.volume}\n")
            out.write(
                f"Use it with --oio-proxy {server.proxy_url} (or OIO_PROXYD_URL); "
                "Ctrl-C stops. A development endpoint: production runs on OpenIO SDS.\n"
            )
            out.flush()
            while not done.wait(3600):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            signal.signal(signal.SIGTERM, previous)
            server.stop()
        return 0
