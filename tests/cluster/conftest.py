"""What only a real OpenIO SDS namespace answers (`make test-cluster`, OIO_TEST_PROXY).

Collected only when OIO_TEST_PROXY names a namespace's proxy (`host:port`); the
namespace is OIO_TEST_NS (default OPENIO). OpenIO's own `openio` CLI (OIO_OPENIO_CLI,
by default the one openio-sds.sh installs under $OIO_PEER_DIR) reads back what
oiocli wrote and writes what oiocli must read; without it those scenarios are
reported not applicable.

Every test works in accounts of its own (`account` fixture), so that the shared
cluster needs no cleaning between tests.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from oiocli.api import ObjectStorageApi

from .helpers import NAMESPACE, NOT_APPLICABLE, OPENIO_CLI, PROXY

if not PROXY:
    collect_ignore_glob = ["test_*.py"]


@pytest.fixture(scope="session")
def proxy() -> str:
    return PROXY or ""


@pytest.fixture
def api() -> Iterator[ObjectStorageApi]:
    client = ObjectStorageApi(NAMESPACE, proxy=PROXY)
    yield client
    client.backend.close()


@pytest.fixture
def account() -> str:
    """An account of this test's own on the shared cluster."""
    return f"cl-{secrets.token_hex(5)}"


class OpenioCli:
    """OpenIO's own CLI against the same namespace (a HOME of its own with sds.conf)."""

    def __init__(self, binary: str, home: Path) -> None:
        self.binary = binary
        self.home = home
        conf = home / ".oio" / "sds.conf"
        conf.parent.mkdir(parents=True, exist_ok=True)
        conf.write_text(f"[{NAMESPACE}]\nproxy={PROXY}\n")

    def run(self, account: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        env = dict(os.environ, HOME=str(self.home))
        env.pop("OIO_PROXYD_URL", None)
        proc = subprocess.run(
            [self.binary, "--oio-ns", NAMESPACE, "--oio-account", account, *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=600,
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"openio {' '.join(args)}: exit {proc.returncode}: {proc.stderr}")
        return proc

    def json(self, account: str, *args: str) -> Any:
        return json.loads(self.run(account, *args, "-f", "json").stdout)


@pytest.fixture(scope="session")
def openio(tmp_path_factory: pytest.TempPathFactory) -> OpenioCli:
    if not os.access(OPENIO_CLI, os.X_OK):
        pytest.skip(f"{NOT_APPLICABLE}openio-cli (no {OPENIO_CLI}; set OIO_OPENIO_CLI)")
    return OpenioCli(OPENIO_CLI, tmp_path_factory.mktemp("openio-home"))
