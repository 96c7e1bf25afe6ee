"""Helpers of the fault tests: a private namespace, the real `oio`, raw chunk access.

Everything lives under pytest's tmp_path (xdist-safe); randomness comes from
`random.Random(seed)` with the seed in the test id, so a failure replays.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

NAMESPACE = "FAULTNS"
ACCOUNT = "acct"
CHUNK_SIZE = 64 * 1024
# Every policy of a fresh namespace, replicated and erasure-coded.
POLICIES = (
    "SINGLE",
    "TWOCOPIES",
    "THREECOPIES",
    "EC",
    "EC21",
    "ECLIBEC",
    "EC21LIBEC",
)
REDUNDANT = tuple(p for p in POLICIES if p != "SINGLE")
IS_ROOT = os.geteuid() == 0


def oio_command() -> list[str]:
    script = Path(sys.executable).with_name("oio")
    if script.exists():
        return [str(script)]
    found = shutil.which("oio")
    return [found] if found else [sys.executable, "-m", "oiocli.shell"]


class Namespace:
    """A private embedded namespace, driven through the CLI or the API."""

    def __init__(self, root: Path, chunk_size: int | None = CHUNK_SIZE) -> None:
        self.root = root
        self.data_dir = root / "ns"
        self.cwd = root / "work"
        self.cwd.mkdir(parents=True, exist_ok=True)
        (root / "home").mkdir(exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("OIO_")}
        env.update(
            OIO_DATA_DIR=str(self.data_dir),
            OIO_NS=NAMESPACE,
            OIO_ACCOUNT=ACCOUNT,
            HOME=str(root / "home"),
            XDG_DATA_HOME=str(root / "xdg"),
            COLUMNS="200",
        )
        self.env = env
        self.command = oio_command()
        self.wrapper: list[str] = []  # e.g. setpriv, to run the CLI with fewer rights
        self.chunk_size = chunk_size or CHUNK_SIZE
        if chunk_size:
            self.api()  # create it now, with small chunks

    # -- API, in this process ------------------------------------------------
    def api(self) -> Any:
        """A fresh ObjectStorageApi (no state shared with earlier calls)."""
        from oiocli.api import ObjectStorageApi

        return ObjectStorageApi(NAMESPACE, str(self.data_dir), chunk_size=self.chunk_size)

    # -- CLI, in a subprocess --------------------------------------------------
    def popen_args(self, *args: str | bytes) -> list[str | bytes]:
        return [*self.wrapper, *self.command, *args]

    def run(
        self,
        *args: str | bytes,
        input: bytes | str | None = None,
        env: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> subprocess.CompletedProcess:
        if isinstance(input, str):
            input = input.encode()
        if "stdin" not in kwargs:
            kwargs["input"] = input if input is not None else b""
        proc = subprocess.run(
            self.popen_args(*args),
            capture_output=True,
            env={**self.env, **(env or {})},
            cwd=kwargs.pop("cwd", self.cwd),
            timeout=300,
            **kwargs,
        )
        proc.out = proc.stdout.decode(errors="replace")  # type: ignore[attr-defined]
        proc.err = proc.stderr.decode(errors="replace")  # type: ignore[attr-defined]
        return proc

    def ok(self, *args: str | bytes, **kwargs: Any) -> subprocess.CompletedProcess:
        proc = self.run(*args, **kwargs)
        assert proc.returncode == 0, (args, proc.returncode, proc.err)
        return proc

    def json(self, *args: str, code: int = 0, **kwargs: Any) -> Any:
        proc = self.run(*args, "-f", "json", **kwargs)
        assert proc.returncode == code, (args, proc.returncode, proc.err)
        return json.loads(proc.stdout or "[]")

    def fails(self, code: int, *args: str | bytes, **kwargs: Any) -> subprocess.CompletedProcess:
        """Exit `code`, one line on stderr, no traceback."""
        proc = self.run(*args, **kwargs)
        assert proc.returncode == code, (args, proc.returncode, proc.out, proc.err)
        assert "Traceback" not in proc.err, proc.err
        assert len(proc.err.strip().splitlines()) == 1, proc.err
        return proc

    def file(self, name: str, data: bytes) -> Path:
        path = self.cwd / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return path

    # -- volumes and chunks ----------------------------------------------------
    @property
    def volumes(self) -> list[str]:
        with open(self.data_dir / "namespace.json") as f:
            return list(json.load(f)["volumes"])

    def chunk_file(self, url: str) -> str:
        from oiocli.backends.embedded.chunks import chunk_path

        return chunk_path(url)

    def check_clean(self, containers: list[str]) -> None:
        """Every container check exits 0; orphans are listed, deleted, then gone."""
        for container in containers:
            rows = self.json("container", "check", container)
            assert all(r["State"] == "ok" for r in rows), rows
        self.clean_orphans()

    def clean_orphans(self, cli_volume: str | None = "vol-0") -> int:
        """Orphans of every volume: listed, deleted with the CLI, then gone.

        Volumes are scanned with the API (one process, fast); the CLI lists and
        deletes where orphans are, and checks `cli_volume` in any case.
        """
        api = self.api()
        deleted = 0
        for volume in self.volumes:
            name = os.path.basename(volume)
            found = api.volume_check(volume, orphans=True, min_age=0)
            assert {r["state"] for r in found} <= {"orphan"}, found
            if not found and name != cli_volume:
                continue
            proc = self.run("volume", "check", name, "--orphans", "--min-age", "0", "-f", "json")
            rows = json.loads(proc.stdout or "[]")
            assert {r["State"] for r in rows} <= {"orphan"}, rows
            assert proc.returncode == (1 if rows else 0), (proc.returncode, proc.err)
            if rows:
                gone = self.json("volume", "check", name, "--delete-orphans", "--min-age", "0")
                assert {r["State"] for r in gone} == {"orphan-deleted"}, gone
                assert {r["Chunk"] for r in gone} >= {r["Chunk"] for r in rows}
                deleted += len(gone)
                assert self.json("volume", "check", name, "--orphans", "--min-age", "0") == []
        return deleted


class ReaderLoops(AssertionError):
    """The read path opened chunks far more often than any read needs: a loop."""


class GuardedStore:
    """A chunk store that fails fast when a read keeps re-opening chunks (a hang)."""

    def __init__(self, store: Any, limit: int) -> None:
        self._store = store
        self._limit = limit
        self.opens = 0

    def get(self, *args: Any, **kwargs: Any) -> Any:
        self.opens += 1
        if self.opens > self._limit:
            raise ReaderLoops(f"{self.opens} chunk reads for one object read: the reader loops")
        return self._store.get(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def read_all(api: Any, container: str, name: str, limit: int = 2000, **kwargs: Any) -> bytes:
    """The object's bytes; ReaderLoops instead of hanging if the reader loops."""
    store = api.chunks
    api.chunks = GuardedStore(store, limit)
    try:
        _meta, stream = api.object_fetch(ACCOUNT, container, name, **kwargs)
        return b"".join(stream)
    finally:
        api.chunks = store


def flip_bytes(
    path: str, rng: random.Random, count: int = 1, offsets: list[int] | None = None
) -> list[int]:
    """Flip `count` random bytes (or those at `offsets`) of a chunk file's data part."""
    from oiocli.backends.embedded.chunks import FOOTER

    with open(path, "r+b") as f:
        f.seek(-FOOTER.size, os.SEEK_END)
        _magic, size, *_ = FOOTER.unpack(f.read(FOOTER.size))
        if offsets is None:
            offsets = sorted(rng.sample(range(size), min(count, size)))
        for offset in offsets:
            assert 0 <= offset < size
            f.seek(offset)
            byte = f.read(1)[0]
            f.seek(offset)
            f.write(bytes([byte ^ (1 << rng.randrange(8))]))
    return offsets


def tree_modes(root: Path) -> Iterator[tuple[str, int, bool]]:
    """(path, permission bits, is_dir) of everything under root (root included)."""
    yield str(root), os.stat(root).st_mode & 0o7777, True
    for base, dirs, files in os.walk(root):
        for name in dirs:
            path = os.path.join(base, name)
            yield path, os.lstat(path).st_mode & 0o7777, True
        for name in files:
            path = os.path.join(base, name)
            yield path, os.lstat(path).st_mode & 0o7777, False
