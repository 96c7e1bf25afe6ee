"""OpenIO's own client against `oio namespace serve` (run by `make test-interop`).

OpenIO SDS 7.3.0's `openio` CLI and Python API (`oio.api.object_storage`) run
unchanged, in their own virtualenv, against an embedded namespace served by
this process (one proxy, one rawx per volume, on 127.0.0.1); oiocli's CLI
reads and writes the same objects, through the proxy and directly on the
namespace's files. Every byte read back is compared with what was written.

Where OpenIO's client lives (one place): $OIO_SDS_VENV, default
/tmp/oio-sds-peer/venv (what `../shared/peers/openio/openio-sds.sh setup`
builds); `make test-interop OIO_SDS_SRC=<checkout of open-io/oio-sds, tag 7.3.0>`
builds one from a source checkout instead. Without it, every test here is
skipped, saying so.

At the end of the run the terminal summary gives the figures: scenarios passed
out of those run, and the bytes compared.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from interop_helpers import NAMESPACE, STATS, Driver, OpenIO, OurCLI, openio_venv

from oiocli.server.namespace_server import NamespaceServer, serve_namespace

MiB = 1024 * 1024
CHUNK_SIZE = MiB
# More volumes than the widest policy (EC 6+3) needs.
VOLUMES = 12


@pytest.hookimpl(tryfirst=True)  # before `-m 'not interop'` deselects them
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).is_relative_to(here):
            item.add_marker(pytest.mark.interop)


@pytest.fixture(scope="session")
def openio_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("openio-home")


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NamespaceServer]:
    """One served namespace per test process; every test uses names of its own."""
    venv = openio_venv()
    if venv is None:
        pytest.skip(
            "OpenIO's client was not found (set OIO_SDS_VENV to its virtualenv, or run "
            "`make test-interop OIO_SDS_SRC=<oio-sds 7.3.0 checkout>`)"
        )
    data_dir = tmp_path_factory.mktemp("served") / "ns"
    srv = serve_namespace(NAMESPACE, str(data_dir), chunk_size=CHUNK_SIZE, volumes=VOLUMES)
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="session")
def openio(server: NamespaceServer, openio_home: Path) -> Iterator[OpenIO]:
    """OpenIO's CLI and Python API, configured for the served namespace."""
    venv = openio_venv()
    assert venv is not None
    conf = openio_home / ".oio" / "sds.conf"
    conf.parent.mkdir(parents=True, exist_ok=True)
    conf.write_text(f"[{NAMESPACE}]\nproxy={server.proxy.addr}\n")
    env = {
        "HOME": str(openio_home),
        "PATH": f"{venv / 'bin'}:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
    }
    driver = Driver(venv / "bin" / "python", NAMESPACE, server.proxy.addr, env)
    client = OpenIO(venv, env, driver)
    try:
        yield client
    finally:
        driver.close()


@pytest.fixture(scope="session")
def ours(server: NamespaceServer, tmp_path_factory: pytest.TempPathFactory) -> OurCLI:
    """oiocli's `oio`, through the proxy or directly on the served namespace's files."""
    home = tmp_path_factory.mktemp("oiocli-home")  # no ~/.oio/sds.conf: options only
    return OurCLI(Path(sys.executable).parent / "oio", home, server.proxy_url, server.ns.data_dir)


@pytest.fixture
def account(request: pytest.FixtureRequest) -> str:
    """An account of this test's own (the served namespace is shared)."""
    return "a" + hashlib.sha1(request.node.nodeid.encode()).hexdigest()[:12]


@pytest.fixture
def work(tmp_path: Path) -> Path:
    return tmp_path


# --------------------------------------------------------------- figures
def pytest_sessionfinish(session: pytest.Session) -> None:
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["interop_stats"] = json.dumps(STATS)


@pytest.hookimpl(optionalhook=True)  # an xdist hook
def pytest_testnodedown(node: Any, error: Any) -> None:
    data = getattr(node, "workeroutput", {}).get("interop_stats")
    if data:
        for key, value in json.loads(data).items():
            STATS[key] = STATS.get(key, 0) + value


def pytest_terminal_summary(terminalreporter: Any) -> None:
    def mine(key: str) -> int:
        return sum(
            1
            for r in terminalreporter.stats.get(key, [])
            if "tests/interop/" in getattr(r, "nodeid", "").replace(os.sep, "/")
        )

    passed, failed, errors = mine("passed"), mine("failed"), mine("error")
    xfailed, xpassed, skipped = mine("xfailed"), mine("xpassed"), mine("skipped")
    run = passed + failed + errors + xfailed + xpassed
    if not run and not skipped:
        return
    terminalreporter.write_sep("=", "interoperability with OpenIO SDS 7.3.0's client")
    terminalreporter.write_line(
        f"scenarios passed: {passed + xpassed} of {run} run "
        f"({xfailed} expected failures, {skipped} skipped)"
    )
    terminalreporter.write_line(
        f"bytes compared: {STATS.get('bytes', 0)} "
        f"({STATS.get('comparisons', 0)} comparisons, every one byte for byte)"
    )
    terminalreporter.write_line(
        f"OpenIO client calls: {STATS.get('openio_cli', 0)} CLI, "
        f"{STATS.get('openio_api', 0)} Python API; oiocli CLI calls: {STATS.get('oio_cli', 0)}"
    )
