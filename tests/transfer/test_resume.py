"""Resume: kill -9 in the middle of an upload, then `--resume` sends only what is
missing (journal of durable metachunks); a changed source restarts; downloads
continue from their partial file with a range, checked against the object's MD5."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from oiocli.transfer import part_path

from .helpers import ACCOUNT, MiB, md5_file, random_file


def _journal_metachunks(data_dir: Path) -> int:
    best = 0
    for path in (data_dir / "uploads").glob("*.json"):
        try:
            best = max(best, len(json.loads(path.read_text())["metachunks"]))
        except (OSError, ValueError, KeyError):
            pass  # being replaced
    return best


def _kill_when(proc: subprocess.Popen, ready, timeout: float = 300) -> None:
    """kill -9 `proc` as soon as `ready()`; fail if it ends first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            return
        if proc.poll() is not None:
            pytest.fail(f"the transfer ended (exit {proc.returncode}) before it could be killed")
        time.sleep(0.002)
    proc.kill()
    pytest.fail("the transfer made no progress")


def _upload_kill_resume(oio, size: int, chunk_size: int | None, tree: bool) -> None:
    api = oio.api(chunk_size=chunk_size)
    chunk = api.namespace_show()["chunk_size"]
    total_metachunks = -(-size // chunk)
    src = oio.cwd / "src"
    source_md5 = random_file(src / "big.bin", size)
    if tree:
        args = ("object", "create", "c", "src", "--recursive", "--resume")
    else:
        args = ("object", "create", "c", "src/big.bin", "--name", "big.bin", "--resume")
    proc = oio.popen(*args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # kill once half the metachunks are durable (recorded in the journal)
    _kill_when(proc, lambda: _journal_metachunks(oio.data_dir) >= total_metachunks // 2)
    assert proc.returncode == -signal.SIGKILL
    durable = _journal_metachunks(oio.data_dir)
    assert durable < total_metachunks
    assert "big.bin" not in oio.names("c")  # nothing visible until complete

    done = oio.run(*args, "-f", "json", "--progress", "json")
    assert done.returncode == 0, done.err
    events = [json.loads(line) for line in done.err.splitlines()]
    (summary,) = [e for e in events if e["event"] == "summary"]
    messages = [e["message"] for e in events if e["event"] == "message"]
    resumed = int(re.search(r"resumed: .*?\(?(\d+) bytes\)? not sent again", messages[-1]).group(1))
    assert resumed >= durable * chunk
    sent_again = size - resumed
    assert sent_again < 0.6 * size, (sent_again, size)
    assert summary["resumed"] == resumed
    if tree:
        (row,) = json.loads(done.out)
        assert (row["Files"], row["Bytes"], row["Resumed"]) == (1, sent_again, resumed)
    else:
        (row,) = json.loads(done.out)
        assert (row["Name"], row["Size"], row["Hash"]) == ("big.bin", size, source_md5)
    assert oio.json("object", "show", "c", "big.bin")["hash"] == source_md5
    assert _journal_metachunks(oio.data_dir) == 0  # the journal is gone
    oio.ok("object", "fetch", "c", "big.bin", "--file", "back.bin")
    assert md5_file(oio.cwd / "back.bin") == source_md5


@pytest.mark.parametrize("tree", [False, True], ids=["file", "tree"])
def test_kill9_upload_then_resume_256mib(oio, tree):
    _upload_kill_resume(oio, 256 * MiB, 8 * MiB, tree)


@pytest.mark.slow
def test_kill9_upload_then_resume_1gib(oio):
    _upload_kill_resume(oio, 1024 * MiB, None, tree=False)


def test_changed_source_restarts_instead_of_resuming(oio):
    oio.api(chunk_size=MiB)
    src = oio.cwd / "big.bin"
    random_file(src, 64 * MiB)
    proc = oio.popen(
        "object", "create", "c", "big.bin", "--resume",
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    _kill_when(proc, lambda: _journal_metachunks(oio.data_dir) >= 16)
    # same size, other bytes in the part already sent, a new mtime
    with open(src, "r+b") as f:
        f.write(os.urandom(MiB))
    later = time.time() + 5
    os.utime(src, (later, later))
    new_md5 = md5_file(src)
    done = oio.run("object", "create", "c", "big.bin", "--resume", "-f", "json")
    assert done.returncode == 0, done.err
    assert "restarted: the source changed" in done.err
    assert "resumed:" not in done.err
    (row,) = json.loads(done.out)
    assert row["Hash"] == new_md5
    oio.ok("object", "fetch", "c", "big.bin", "--file", "back.bin")
    assert md5_file(oio.cwd / "back.bin") == new_md5


def _object_with_partial(oio, name: str, size: int, keep: int, good: bool):
    api = oio.api(chunk_size=MiB)
    data = os.urandom(size)
    api.object_create_ext(ACCOUNT, "c", data=data, obj_name=name)
    meta = api.object_get_properties(ACCOUNT, "c", name)
    return api, data, meta


def test_download_resumes_from_its_partial_file(oio):
    api, data, meta = _object_with_partial(oio, "obj", 20 * MiB, 7 * MiB, True)
    target = oio.cwd / "out.bin"
    part = Path(part_path(str(target), meta))
    part.write_bytes(data[: 7 * MiB])
    stale = Path(part_path(str(target), dict(meta, version=1)))  # an older object's partial
    stale.write_bytes(b"old")
    proc = oio.run("object", "fetch", "c", "obj", "--file", "out.bin", "--resume")
    assert proc.returncode == 0, proc.err
    assert f"resumed: 7.0MiB ({7 * MiB} bytes) not fetched again" in proc.err
    assert target.read_bytes() == data
    assert not part.exists() and not stale.exists()

    # a partial whose bytes are wrong: the MD5 check catches it, the download restarts
    target.unlink()
    part.write_bytes(os.urandom(5 * MiB))
    proc = oio.run("object", "fetch", "c", "obj", "--file", "out.bin", "--resume")
    assert proc.returncode == 0, proc.err
    assert "restarted: the partial download did not match" in proc.err
    assert target.read_bytes() == data

    # without --resume a partial is ignored and replaced
    part.write_bytes(b"junk")
    proc = oio.run("object", "fetch", "c", "obj", "--file", "out.bin")
    assert proc.returncode == 0 and "resumed" not in proc.err
    assert target.read_bytes() == data and not part.exists()


def test_kill9_download_then_resume(oio):
    api = oio.api(chunk_size=8 * MiB)
    src = oio.cwd / "big.bin"
    md5 = random_file(src, 256 * MiB)
    oio.ok("object", "create", "c", "big.bin")
    meta = api.object_get_properties(ACCOUNT, "c", "big.bin")
    target = oio.cwd / "down" / "big.bin"
    part = Path(part_path(str(target), meta))

    def half_written() -> bool:
        try:
            return part.stat().st_size >= 128 * MiB
        except FileNotFoundError:
            return False

    proc = oio.popen(
        "object", "fetch", "c", "big.bin", "--file", str(target), "--resume",
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    _kill_when(proc, half_written)
    kept = part.stat().st_size
    assert not target.exists()
    done = oio.run("object", "fetch", "c", "big.bin", "--file", str(target), "--resume")
    assert done.returncode == 0, done.err
    resumed = int(re.search(r"\((\d+) bytes\) not fetched again", done.err).group(1))
    assert resumed == kept >= 128 * MiB
    assert md5_file(target) == md5


def test_tree_download_resumes_partials(oio):
    api, data, meta = _object_with_partial(oio, "dir/obj", 12 * MiB, 0, True)
    api.object_create_ext(ACCOUNT, "c", data=b"small", obj_name="dir/small")
    out = oio.cwd / "out"
    part = Path(part_path(str(out / "dir" / "obj"), meta))
    part.parent.mkdir(parents=True)
    part.write_bytes(data[: 5 * MiB])
    row = oio.summary("container", "save", "c", "-D", "out", "--resume")
    assert (row["Files"], row["Resumed"], row["Bytes"]) == (2, 5 * MiB, 7 * MiB + 5)
    assert (out / "dir" / "obj").read_bytes() == data
    assert not part.exists()
