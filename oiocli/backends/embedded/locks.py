"""The lock between commits that record new chunks and the orphan sweep.

A fresh upload's chunks are unreferenced until its metadata commits: to the
orphan sweep (`volume check --delete-orphans`) they look like orphans. So a
commit that records chunks holds this lock shared, from the check that its
chunks still exist to its COMMIT; the sweep holds it exclusive while it reads
the references again and deletes what is still unreferenced. Either the sweep
sees the commit's references, or the commit sees its chunks gone and fails:
never a committed object without its chunks. One lock file per namespace
(`flock`, so every process on the machine takes part).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator

LOCK_FILE = "chunks.lock"


@contextlib.contextmanager
def chunk_lock(data_dir: str, exclusive: bool = False) -> Iterator[None]:
    """Hold the namespace's chunk lock (shared for commits, exclusive for the sweep).

    A namespace that cannot be written cannot make the lock file: nothing is
    committed or deleted there either (the write fails first), so no lock is needed.
    """
    try:
        fd = os.open(os.path.join(data_dir, LOCK_FILE), os.O_RDONLY | os.O_CREAT, 0o600)
    except OSError:
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)  # releases the lock
