"""Small helpers about local files shared by every layer: durable renames, sizes
for people, file types, mount points. Imports only the standard library (lazily
where it costs start-up time)."""

from __future__ import annotations

import errno
import os

# write errors that mean "no room here" (disk full, quota, file size limit)
FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


def fsync_dir(path: str) -> None:
    """Make the entries of directory `path` durable (a rename or a create in it)."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def umask() -> int:
    """The process's umask (read without changing it for good)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def mount_point(path: str) -> str:
    """The mount point of the file system holding `path` (or its nearest existing parent)."""
    current = os.path.abspath(path)
    while not os.path.exists(current) and current != os.path.dirname(current):
        current = os.path.dirname(current)
    try:
        device = os.stat(current).st_dev
    except OSError:
        return current
    while True:
        parent = os.path.dirname(current)
        if parent == current:
            return current
        try:
            if os.stat(parent).st_dev != device:
                return current
        except OSError:
            return current
        current = parent


def human_size(value: int | float | None) -> str:
    """A size with binary units for people: 512B, 1.5KiB, ... up to PiB ("" for None)."""
    if value is None:
        return ""
    size = float(value)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(size) < 1024 or unit == "PiB":
            return f"{int(size)}{unit}" if unit == "B" else f"{size:.1f}{unit}"
        size /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


def size_words(value: int) -> str:
    """A size for a message: `7.0MiB (7340032 bytes)`, exact and readable."""
    return f"{value} bytes" if value < 1024 else f"{human_size(value)} ({value} bytes)"


def guess_type(name: str) -> str | None:
    """The MIME type that a file name's extension suggests (None: no guess)."""
    import mimetypes

    return mimetypes.guess_type(name, strict=False)[0]
