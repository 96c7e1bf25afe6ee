"""Volume statistics of the embedded namespace."""

from __future__ import annotations

import os
from typing import Any

from oiocli.backends.embedded.chunks import SUBDIR_CHARS


def iter_chunk_files(volume: str):
    """Yield (chunk id, path) of every chunk file under a volume."""
    try:
        subdirs = sorted(os.scandir(volume), key=lambda e: e.name)
    except FileNotFoundError:
        return
    for sub in subdirs:
        if not sub.is_dir(follow_symlinks=False) or len(sub.name) != SUBDIR_CHARS:
            continue
        for entry in os.scandir(sub.path):
            if len(entry.name) == 64 and entry.is_file(follow_symlinks=False):
                yield entry.name, entry.path


def volume_stats(volume: str) -> dict[str, Any]:
    chunks = 0
    nbytes = 0
    for _cid, path in iter_chunk_files(volume):
        chunks += 1
        try:
            nbytes += os.stat(path).st_size
        except FileNotFoundError:
            pass
    try:
        st = os.statvfs(volume)
        free = st.f_bavail * st.f_frsize
        state = "ok" if os.access(volume, os.W_OK | os.X_OK) else "read-only"
    except OSError:
        free = None
        state = "missing"
    return {
        "volume": os.path.basename(volume),
        "path": volume,
        "chunks": chunks,
        "bytes": nbytes,
        "free": free,
        "state": state,
    }
