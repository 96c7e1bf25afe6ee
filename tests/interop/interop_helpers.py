"""Helpers of the interoperability suite: OpenIO's client, oiocli's CLI, byte comparisons."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import threading
from pathlib import Path
from typing import Any

NAMESPACE = "NS"
ACCOUNT = "interop"
DEFAULT_VENV = "/tmp/oio-sds-peer/venv"
DRIVER = Path(__file__).with_name("openio_driver.py")
TIMEOUT = 300

# What the run did, summed over test processes (see conftest's terminal summary).
STATS: dict[str, int] = {}
_stats_lock = threading.Lock()


def count(key: str, n: int = 1) -> None:
    with _stats_lock:
        STATS[key] = STATS.get(key, 0) + n


def openio_venv() -> Path | None:
    """The virtualenv of OpenIO's client: $OIO_SDS_VENV, default /tmp/oio-sds-peer/venv."""
    venv = Path(os.environ.get("OIO_SDS_VENV") or DEFAULT_VENV)
    if (venv / "bin" / "openio").is_file() and (venv / "bin" / "python").is_file():
        return venv
    return None


# ------------------------------------------------------------ comparisons
def same_bytes(expected: bytes | Path, actual: bytes | Path, what: str = "") -> None:
    """Assert two byte strings (or files) are equal, counting the bytes compared."""
    want = expected.read_bytes() if isinstance(expected, Path) else expected
    got = actual.read_bytes() if isinstance(actual, Path) else actual
    if want != got:
        first = next(
            (i for i, (a, b) in enumerate(zip(want, got, strict=False)) if a != b),
            min(len(want), len(got)),
        )
        raise AssertionError(
            f"{what or 'data'}: {len(got)} bytes read, {len(want)} expected, "
            f"first difference at offset {first}"
        )
    count("bytes", len(want))
    count("comparisons")


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest().upper()


# ------------------------------------------------------------------ OpenIO
class OpenIOError(Exception):
    """An exception raised by OpenIO's Python API, as the driver reported it."""

    def __init__(self, answer: dict[str, Any]) -> None:
        super().__init__(f"{answer['error']}: {answer['message']}")
        self.error = answer["error"]
        self.status = answer.get("status")
        self.http_status = answer.get("http_status")
        self.message = answer["message"]
        self.traceback = answer.get("traceback")


class Driver:
    """OpenIO's ObjectStorageApi in its own interpreter (openio_driver.py), one call at a time."""

    def __init__(self, python: Path, namespace: str, proxy: str, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [str(python), str(DRIVER), namespace, proxy],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            text=True,
        )
        self._lock = threading.Lock()

    def call(self, method: str, *args: Any, out: Path | None = None, **kwargs: Any) -> Any:
        request: dict[str, Any] = {"method": method, "args": list(args), "kwargs": kwargs}
        if out is not None:
            request["out"] = str(out)
        with self._lock:
            assert self.proc.stdin and self.proc.stdout
            self.proc.stdin.write(json.dumps(request) + "\n")
            self.proc.stdin.flush()
            line = self.proc.stdout.readline()
        count("openio_api")
        if not line:
            raise RuntimeError(f"OpenIO's API driver died (exit {self.proc.poll()})")
        answer = json.loads(line)
        if not answer["ok"]:
            raise OpenIOError(answer)
        return answer["result"]

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class OpenIO:
    """OpenIO SDS 7.3.0's client: `cli(...)` runs its `openio` CLI, `api` its Python API."""

    def __init__(self, venv: Path, env: dict[str, str], api: Driver) -> None:
        self.venv = venv
        self.env = env
        self.api = api

    def run(
        self, *args: str, account: str = ACCOUNT, stdin: bytes | None = None
    ) -> subprocess.CompletedProcess:
        cmd = [str(self.venv / "bin" / "openio"), "--oio-ns", NAMESPACE, "--oio-account", account]
        count("openio_cli")
        return subprocess.run(
            [*cmd, *args], env=self.env, input=stdin, capture_output=True, timeout=TIMEOUT
        )

    def cli(self, *args: str, account: str = ACCOUNT, stdin: bytes | None = None) -> str:
        """Run `openio ...`, which must succeed; its stdout."""
        res = self.run(*args, account=account, stdin=stdin)
        assert res.returncode == 0, (
            f"openio {' '.join(args)} exited {res.returncode}: {res.stderr.decode()[-2000:]}"
        )
        return res.stdout.decode()

    def json(self, *args: str, account: str = ACCOUNT) -> Any:
        return json.loads(self.cli(*args, "-f", "json", account=account))

    def fails(self, *args: str, account: str = ACCOUNT) -> str:
        """Run `openio ...`, which must fail cleanly (no traceback); its stderr."""
        res = self.run(*args, account=account)
        err = res.stderr.decode()
        assert res.returncode != 0, f"openio {' '.join(args)} succeeded: {res.stdout.decode()}"
        assert "Traceback" not in err, err
        return err


# ------------------------------------------------------------------ oiocli
class OurCLI:
    """oiocli's `oio`: `proxy(...)` through `namespace serve`, `files(...)` on its files."""

    def __init__(self, oio: Path, home: Path, proxy_url: str, data_dir: str) -> None:
        self.oio = oio
        self.proxy_url = proxy_url
        self.data_dir = data_dir
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("OIO_") and k != "HOME"}
        self.env["HOME"] = str(home)

    def run(
        self, *args: str, account: str = ACCOUNT, via: str = "proxy", stdin: bytes | None = None
    ) -> subprocess.CompletedProcess:
        where = ["--oio-proxy", self.proxy_url] if via == "proxy" else ["--data-dir", self.data_dir]
        cmd = [str(self.oio), "--ns", NAMESPACE, "-a", account, *where, *args]
        count("oio_cli")
        return subprocess.run(cmd, env=self.env, input=stdin, capture_output=True, timeout=TIMEOUT)

    def cli(self, *args: str, account: str = ACCOUNT, via: str = "proxy") -> str:
        res = self.run(*args, account=account, via=via)
        assert res.returncode == 0, (
            f"oio ({via}) {' '.join(args)} exited {res.returncode}: {res.stderr.decode()[-2000:]}"
        )
        return res.stdout.decode()

    def json(self, *args: str, account: str = ACCOUNT, via: str = "proxy") -> Any:
        return json.loads(self.cli(*args, "-f", "json", account=account, via=via))


VIAS = ("proxy", "files")
