"""Fixtures for the fault tests (helpers in helpers.py)."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from .helpers import IS_ROOT, NOBODY, Namespace, as_nobody, tree_modes


def fast_tmp_dir() -> Path:
    """A private directory, on tmpfs when there is one.

    fsync costs nothing on tmpfs, and no test here needs more than a process
    crash (kill -9) to survive: the page cache does. Set OIO_FAULTS_TMP to
    choose another place (a real disk, to measure).
    """
    base = os.environ.get("OIO_FAULTS_TMP")
    if base is None and os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK):
        base = "/dev/shm"
    return Path(tempfile.mkdtemp(prefix="oio-faults-", dir=base))


def remove_tree(root: Path) -> None:
    with contextlib.suppress(OSError):
        for path, _mode, is_dir in tree_modes(root):
            if is_dir:
                os.chmod(path, 0o700)
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def ns_root() -> Iterator[Path]:
    root = fast_tmp_dir()
    try:
        yield root
    finally:
        remove_tree(root)


@pytest.fixture
def ns(ns_root: Path) -> Namespace:
    return Namespace(ns_root)


@pytest.fixture
def unprivileged_ns() -> Iterator[tuple[Namespace, Callable[..., Any] | None]]:
    """A namespace owned by the user the CLI runs as, permissions enforced.

    As root (where chmod blocks nothing), the namespace lives in a directory owned
    by `nobody` and the CLI runs as `nobody`; otherwise as the current user.
    """
    root = fast_tmp_dir()
    try:
        space = Namespace(root)
        preexec = None
        if IS_ROOT:
            preexec = as_nobody
            for path, _mode, _is_dir in tree_modes(root):
                os.chown(path, NOBODY, NOBODY)
        space.preexec = preexec  # type: ignore[attr-defined]
        yield space, preexec
    finally:
        remove_tree(root)
