"""Helpers of the proxy backend's tests (constants and chunk file lookups)."""

from __future__ import annotations

import os

from oiocli.server.namespace_server import NamespaceServer

MiB = 1024 * 1024
NAMESPACE = "NS"
ACCOUNT = "acct"
# More volumes than the widest policy (EC 6+3) needs: placement still works with
# one rawx stopped.
VOLUMES = 12


def chunk_files(server: NamespaceServer) -> list[str]:
    """Every chunk file of the served namespace, once no request is still running."""
    for rawx in server.rawx:
        rawx.wait_idle()
    found = []
    for volume in server.ns.volumes:
        for dirpath, _dirs, files in os.walk(volume):
            found += [os.path.join(dirpath, f) for f in files if len(f) == 64]
    return found
