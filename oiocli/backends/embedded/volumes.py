"""Volume statistics of the embedded namespace."""

from __future__ import annotations

import os
from typing import Any

from oiocli.backends.embedded.chunks import SUBDIR_CHARS


def volume_problem(volume: str) -> tuple[str, str] | None:
    """None when the volume directory can be listed, else (state, detail).

    state is "missing" (no directory) or "unreadable" (it cannot be listed:
    chmod 000, an I/O error, not a directory); detail names the OS error.
    """
    try:
        with os.scandir(volume):
            pass
    except FileNotFoundError:
        return "missing", "volume directory is missing"
    except OSError as exc:
        return "unreadable", f"volume directory is unreadable: {exc.strerror or exc}"
    return None


def iter_chunk_files(volume: str, errors: list[tuple[str, OSError]] | None = None):
    """Yield (chunk id, path) of every chunk file under a volume.

    A missing volume or subdirectory yields nothing. A directory that cannot be
    listed (permissions, I/O error) raises, unless `errors` is given: then its
    (path, error) is appended there and the walk goes on.
    """
    try:
        subdirs = sorted(os.scandir(volume), key=lambda e: e.name)
    except FileNotFoundError:
        return
    except OSError as exc:
        if errors is None:
            raise
        errors.append((volume, exc))
        return
    for sub in subdirs:
        if not sub.is_dir(follow_symlinks=False) or len(sub.name) != SUBDIR_CHARS:
            continue
        try:
            entries = list(os.scandir(sub.path))
        except FileNotFoundError:
            continue
        except OSError as exc:
            if errors is None:
                raise
            errors.append((sub.path, exc))
            continue
        for entry in entries:
            if len(entry.name) == 64 and entry.is_file(follow_symlinks=False):
                yield entry.name, entry.path


def volume_stats(volume: str) -> dict[str, Any]:
    """Chunks, bytes, free space and state of a volume; never raises on a bad volume.

    state: "ok", "read-only" (listable, not writable), "missing" or "unreadable"
    (detail says why: the chunk counts then cover only what could be listed).
    """
    chunks = 0
    nbytes = 0
    errors: list[tuple[str, OSError]] = []
    for _cid, path in iter_chunk_files(volume, errors):
        chunks += 1
        try:
            nbytes += os.stat(path).st_size
        except OSError:
            pass
    problem = volume_problem(volume)
    try:
        st = os.statvfs(volume)
        free: int | None = st.f_bavail * st.f_frsize
    except OSError:
        free = None
    if problem is not None:
        state, detail = problem
    elif errors:
        path, exc = errors[0]
        state = "unreadable"
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        detail = f"{path} is unreadable: {exc.strerror or exc}{more}"
    elif not os.access(volume, os.W_OK | os.X_OK):
        state, detail = "read-only", "volume directory is not writable"
    else:
        state, detail = "ok", ""
    unknown = state == "unreadable" and problem is not None  # nothing could be counted
    return {
        "volume": os.path.basename(volume),
        "path": volume,
        "chunks": None if unknown else chunks,
        "bytes": None if unknown else nbytes,
        "free": free,
        "state": state,
        "detail": detail,
    }
