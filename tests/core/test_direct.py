"""DirectWriter: whatever the piece sizes and the file system, the file holds the bytes."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from oiocli.core import direct
from oiocli.core.direct import STAGING_SIZE, DirectWriter

MiB = 1024 * 1024


def _places(tmp_path: Path) -> list[Path]:
    places = [tmp_path]
    if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK):
        places.append(Path("/dev/shm"))  # tmpfs: no O_DIRECT, every write buffered
    return places


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("offset", [0, 8192, 1000])
def test_random_pieces_land_exactly(tmp_path, seed, offset):
    rng = random.Random(seed)
    data = rng.randbytes(rng.randrange(0, 5 * MiB))
    cuts = sorted(rng.randrange(0, len(data) + 1) for _ in range(rng.randrange(0, 40)))
    pieces = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]
    for place in _places(tmp_path):
        path = place / f"oiocli-direct-{os.getpid()}-{seed}-{offset}"
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, b"h" * offset)
            out = DirectWriter(fd, direct=offset % 4096 == 0)
            try:
                for piece in pieces:
                    out.write(memoryview(piece))
                out.finish()
            finally:
                out.release()
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            assert path.read_bytes() == b"h" * offset + data
        finally:
            path.unlink()


def test_staging_buffers_are_reused(tmp_path):
    path = tmp_path / "f"
    for _ in range(3):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        out = DirectWriter(fd)
        try:
            out.write(b"x" * (2 * STAGING_SIZE + 10))
            out.finish()
        finally:
            out.release()
            os.close(fd)
        assert path.stat().st_size == 2 * STAGING_SIZE + 10
    assert 1 <= len(direct._pool) <= direct._POOLED
