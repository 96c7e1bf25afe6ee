"""Helpers of the bulk transfer tests: the real `oio` in a subprocess on a private
embedded namespace (env OIO_DATA_DIR), and files on disk."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

NAMESPACE = "XFER"
ACCOUNT = "acct"
MiB = 1024 * 1024


def oio_command() -> list[str]:
    script = Path(sys.executable).with_name("oio")
    if script.exists():
        return [str(script)]
    found = shutil.which("oio")
    return [found] if found else [sys.executable, "-m", "oiocli.shell"]


class Oio:
    def __init__(self, tmp_path: Path) -> None:
        self.root = tmp_path
        self.data_dir = tmp_path / "ns"
        self.cwd = tmp_path / "work"
        self.cwd.mkdir()
        env = {k: v for k, v in os.environ.items() if not k.startswith("OIO_")}
        env.update(
            OIO_DATA_DIR=str(self.data_dir),
            OIO_NS=NAMESPACE,
            OIO_ACCOUNT=ACCOUNT,
            HOME=str(tmp_path / "home"),
            XDG_DATA_HOME=str(tmp_path / "xdg"),
            XDG_CACHE_HOME=str(tmp_path / "cache"),
            COLUMNS="200",
        )
        self.env = env
        self.command = oio_command()

    def argv(self, *args: str) -> list[str]:
        return [*self.command, *args]

    def run(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
        proc = subprocess.run(
            self.argv(*args),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            env=self.env,
            cwd=self.cwd,
            timeout=timeout,
        )
        proc.out = proc.stdout.decode(errors="replace")  # type: ignore[attr-defined]
        proc.err = proc.stderr.decode(errors="replace")  # type: ignore[attr-defined]
        return proc

    def popen(self, *args: str, **kwargs: Any) -> subprocess.Popen:
        return subprocess.Popen(self.argv(*args), env=self.env, cwd=self.cwd, **kwargs)

    def ok(self, *args: str, **kwargs: Any) -> subprocess.CompletedProcess:
        proc = self.run(*args, **kwargs)
        assert proc.returncode == 0, (args, proc.returncode, proc.err)
        return proc

    def json(self, *args: str, code: int = 0, **kwargs: Any) -> Any:
        proc = self.run(*args, "-f", "json", **kwargs)
        assert proc.returncode == code, (args, proc.returncode, proc.err)
        return json.loads(proc.stdout)

    def summary(self, *args: str, code: int = 0, **kwargs: Any) -> dict[str, Any]:
        (row,) = self.json(*args, code=code, **kwargs)
        return row

    def names(self, container: str) -> list[str]:
        rows = self.json("object", "list", container)
        return [row["Name"] for row in rows]

    def api(self, chunk_size: int | None = None) -> Any:
        """The test's namespace in this process (created with `chunk_size` if new)."""
        from oiocli.api import ObjectStorageApi

        return ObjectStorageApi(NAMESPACE, str(self.data_dir), chunk_size=chunk_size)


def write_tree(root: Path, files: dict[str, bytes]) -> None:
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def read_tree(root: Path) -> dict[str, bytes]:
    """Regular files under `root` by relative name (symlinks and part files excluded)."""
    found = {}
    for dirpath, _dirs, files in os.walk(root):
        for filename in files:
            path = Path(dirpath) / filename
            if path.is_symlink() or not path.is_file():
                continue
            found[path.relative_to(root).as_posix()] = path.read_bytes()
    return found


def md5_file(path: Path) -> str:
    md5 = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(MiB), b""):
            md5.update(block)
    return md5.hexdigest().upper()


def random_file(path: Path, size: int) -> str:
    """A file of `size` random bytes (written 8 MiB at a time); its MD5."""
    md5 = hashlib.md5()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        left = size
        while left:
            block = os.urandom(min(left, 8 * MiB))
            f.write(block)
            md5.update(block)
            left -= len(block)
    return md5.hexdigest().upper()


def run_with_tty_stderr(oio: Oio, *args: str) -> tuple[subprocess.CompletedProcess, str]:
    """Run oio with stderr on a pseudo-terminal (100 columns); (result, stderr text)."""
    import fcntl
    import pty
    import struct
    import termios
    import threading

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    chunks: list[bytes] = []

    def read() -> None:
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        proc = subprocess.run(
            oio.argv(*args),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=slave,
            env=oio.env,
            cwd=oio.cwd,
            timeout=300,
        )
    finally:
        os.close(slave)
        reader.join(10)
        os.close(master)
    return proc, b"".join(chunks).decode(errors="replace")


def ctrl_c_on_tty(
    oio: Oio, args: tuple[str, ...], ready: Any, timeout: float = 300
) -> tuple[int, str]:
    """Run oio on a pseudo-terminal of its own (stdin and stderr; stdout piped), and type
    Ctrl-C on it as soon as `ready()`: the terminal sends SIGINT, as it does to a user's
    command. Returns (exit status, what was written on the terminal)."""
    import fcntl
    import pty
    import struct
    import termios
    import threading
    import time

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))

    def controlling_terminal() -> None:  # in the child: a session whose terminal is the pty
        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    chunks: list[bytes] = []

    def read() -> None:
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    proc = subprocess.Popen(
        oio.argv(*args),
        stdin=slave,
        stdout=subprocess.DEVNULL,
        stderr=slave,
        env=oio.env,
        cwd=oio.cwd,
        preexec_fn=controlling_terminal,
    )
    try:
        deadline = time.monotonic() + timeout
        while not ready():
            if proc.poll() is not None:
                raise AssertionError(f"ended (exit {proc.returncode}) before Ctrl-C could be typed")
            if time.monotonic() > deadline:
                raise AssertionError("no progress before the deadline")
            time.sleep(0.005)
        os.write(master, b"\x03")
        proc.wait(timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(slave)
        reader.join(10)
        os.close(master)
    return proc.returncode, b"".join(chunks).decode(errors="replace")
