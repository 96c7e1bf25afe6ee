"""Fixtures for the fault tests (helpers in helpers.py)."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from .helpers import IS_ROOT, Namespace, tree_modes


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
def strict_ns(ns: Namespace) -> Namespace:
    """A namespace whose CLI runs with file permissions enforced.

    Root bypasses permissions (CAP_DAC_OVERRIDE), so as root the CLI runs under
    `setpriv` with the DAC capabilities dropped from its bounding set: it is
    still root, owner of every file, but a chmod 000 directory stops it.
    """
    if IS_ROOT:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without setpriv: permissions cannot be enforced")
        ns.wrapper = [setpriv, "--bounding-set=-dac_override,-dac_read_search"]
    return ns
