"""Fixtures of the race suite: one namespace per backend and test process, kept for its tests.

Each test works in an account of its own; the namespace is checked as a whole
(`oio namespace check`, every volume for orphans) when the last test of the
process is done with it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from .harness import BACKENDS, RaceBackend, leftovers, oio_script


def _fast_tmp() -> Path:
    """On tmpfs when there is one: no test here needs more than a process to die."""
    base = os.environ.get("OIO_FAULTS_TMP")
    if base is None and os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK):
        base = "/dev/shm"
    return Path(tempfile.mkdtemp(prefix="oio-races-", dir=base))


@pytest.fixture(scope="module", params=sorted(BACKENDS))
def race_backend(request: pytest.FixtureRequest) -> Iterator[RaceBackend]:
    root = _fast_tmp()
    backend = BACKENDS[request.param](root)
    try:
        yield backend
        backend.stop()
        # On the files (a proxy has no namespace check): the namespace as a whole.
        env = {k: v for k, v in backend.env.items() if k != "OIO_PROXYD_URL"}
        proc = subprocess.run(
            [*oio_script(), "namespace", "check", "-f", "value"],
            env=env,
            cwd=backend.work,
            capture_output=True,
            timeout=600,
        )
        wrong = [line for line in proc.stdout.decode().splitlines() if " ok " not in line]
        assert proc.returncode == 0, (wrong, proc.stderr.decode())
        assert leftovers(backend) == []
    finally:
        backend.stop()
        with contextlib.suppress(OSError):
            shutil.rmtree(root, ignore_errors=True)
