"""Fixtures for the CLI tests: the real `oio` in a subprocess, one namespace per test."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

NAMESPACE = "TESTNS"
ACCOUNT = "acct"


def oio_command() -> list[str]:
    """The installed `oio` script next to this interpreter, else `python -m oiocli.shell`."""
    script = Path(sys.executable).with_name("oio")
    if script.exists():
        return [str(script)]
    found = shutil.which("oio")
    if found:
        return [found]
    return [sys.executable, "-m", "oiocli.shell"]


class Oio:
    """Runs `oio` against a private namespace under a temporary directory."""

    def __init__(self, tmp_path: Path) -> None:
        self.root = tmp_path
        self.data_dir = tmp_path / "ns"
        self.home = tmp_path / "home"
        self.cwd = tmp_path / "work"
        self.home.mkdir()
        self.cwd.mkdir()
        env = {k: v for k, v in os.environ.items() if not k.startswith("OIO_")}
        env.update(
            OIO_DATA_DIR=str(self.data_dir),
            OIO_NS=NAMESPACE,
            OIO_ACCOUNT=ACCOUNT,
            HOME=str(self.home),
            XDG_DATA_HOME=str(tmp_path / "xdg"),
            COLUMNS="200",
        )
        self.env = env
        self.command = oio_command()

    def run(
        self,
        *args: str,
        input: bytes | str | None = None,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
    ) -> subprocess.CompletedProcess:
        if isinstance(input, str):
            input = input.encode()
        proc = subprocess.run(
            [*self.command, *args],
            input=input if input is not None else b"",
            capture_output=True,
            env={**self.env, **(env or {})},
            cwd=cwd or self.cwd,
            timeout=120,
        )
        proc.out = proc.stdout.decode(errors="replace")  # type: ignore[attr-defined]
        proc.err = proc.stderr.decode(errors="replace")  # type: ignore[attr-defined]
        return proc

    def ok(self, *args: str, **kwargs: Any) -> subprocess.CompletedProcess:
        proc = self.run(*args, **kwargs)
        assert proc.returncode == 0, (args, proc.returncode, proc.err)
        return proc

    def json(self, *args: str, **kwargs: Any) -> Any:
        """Run with `-f json`, expect exit 0, return the parsed output."""
        proc = self.ok(*args, "-f", "json", **kwargs)
        return json.loads(proc.stdout)

    def fails(self, code: int, *args: str, **kwargs: Any) -> subprocess.CompletedProcess:
        """Expect exit `code` with a one-line error on stderr and no traceback."""
        proc = self.run(*args, **kwargs)
        assert proc.returncode == code, (args, proc.returncode, proc.out, proc.err)
        lines = proc.err.strip().splitlines()
        assert len(lines) == 1, proc.err
        assert "Traceback" not in proc.err
        return proc

    def file(self, name: str, data: bytes) -> Path:
        path = self.cwd / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return path

    def names(self, container: str, *args: str) -> list[str]:
        return [row["Name"] for row in self.json("object", "list", container, *args)]


@pytest.fixture
def oio(tmp_path: Path) -> Oio:
    return Oio(tmp_path)


@pytest.fixture
def run_oio(oio: Oio) -> Callable[..., subprocess.CompletedProcess]:
    """`run_oio(*args, input=None)` -> CompletedProcess, in a private namespace."""
    return oio.run


@pytest.fixture
def small_chunks(oio: Oio) -> Oio:
    """The namespace created beforehand with 64 KiB chunks (several metachunks per MB)."""
    from oiocli.api import ObjectStorageApi

    api = ObjectStorageApi(NAMESPACE, str(oio.data_dir), chunk_size=65536)
    close = getattr(api, "close", None)
    if close is not None:
        close()
    return oio
