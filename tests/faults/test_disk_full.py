"""A file-size limit (RLIMIT_FSIZE, SIGXFSZ ignored: writes fail with EFBIG) hit mid-upload.

The upload fails with one clear line and a non-zero exit; no object is
visible; the chunks already written are deleted (no orphan left on any volume).
"""

from __future__ import annotations

import os
import random
import resource
import signal

import pytest

from .helpers import ACCOUNT, POLICIES, Namespace

MiB = 1024 * 1024


def _limit(nbytes: int):
    def preexec() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (nbytes, nbytes))

    return preexec


def _no_chunk_files(ns: Namespace) -> list[str]:
    from oiocli.backends.embedded.volumes import iter_chunk_files

    return [path for volume in ns.volumes for _id, path in iter_chunk_files(volume)]


@pytest.fixture
def big_ns(ns_root):
    """1 MiB chunks: a metachunk (or EC fragment) outgrows a 256 KiB file-size limit."""
    return Namespace(ns_root, chunk_size=MiB)


QUICK = ("SINGLE", "THREECOPIES", "EC", "EC21LIBEC")


@pytest.mark.parametrize(
    "policy", [p if p in QUICK else pytest.param(p, marks=pytest.mark.slow) for p in POLICIES]
)
def test_file_size_limit_during_upload(big_ns, policy):
    ns = big_ns
    ns.api().container_create(ACCOUNT, "c")
    data = random.Random(policy).randbytes(3 * MiB)
    src = ns.file("big.bin", data)
    before = _no_chunk_files(ns)
    limited = _limit(MiB // 4)
    proc = ns.run("object", "create", "c", str(src), "--policy", policy, preexec_fn=limited)
    assert proc.returncode != 0
    assert "Traceback" not in proc.err
    lines = proc.err.strip().splitlines()
    assert len(lines) == 1, proc.err
    assert "No space left" in lines[0] and "File too large" in lines[0], lines
    assert ns.json("object", "list", "c") == []
    assert ns.json("container", "show", "c")["objects"] == 0
    assert _no_chunk_files(ns) == before
    for volume in ns.volumes:
        rows = ns.api().volume_check(volume, orphans=True, min_age=0)
        assert rows == [], rows
    assert ns.json("volume", "check", "vol-0", "--orphans", "--min-age", "0") == []
    # without the limit, the same upload works
    ns.ok("object", "create", "c", str(src), "--policy", policy)
    assert ns.ok("object", "fetch", "c", "big.bin").stdout == data


def test_file_size_limit_on_append_keeps_the_object(big_ns):
    ns = big_ns
    first = os.urandom(100_000)
    ns.ok("object", "create", "c", "-", "--name", "o", "--policy", "TWOCOPIES", input=first)
    before = ns.json("object", "show", "c", "o")
    proc = ns.run(
        "object",
        "create",
        "c",
        "-",
        "--name",
        "o",
        "--append",
        input=os.urandom(2 * MiB),
        preexec_fn=_limit(MiB // 4),
    )
    assert proc.returncode != 0 and len(proc.err.strip().splitlines()) == 1, proc.err
    assert ns.json("object", "show", "c", "o") == before
    assert ns.ok("object", "fetch", "c", "o").stdout == first
    assert ns.run("container", "check", "c").returncode == 0
    rows = [r for v in ns.volumes for r in ns.api().volume_check(v, orphans=True, min_age=0)]
    assert rows == []
    assert [r["Name"] for r in ns.json("object", "list", "c")] == ["o"]
