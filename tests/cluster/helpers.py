"""Helpers of the real-cluster checks (see conftest.py)."""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from typing import Any

import pytest

PROXY = os.environ.get("OIO_TEST_PROXY")
NAMESPACE = os.environ.get("OIO_TEST_NS") or "OPENIO"
PEER_DIR = os.environ.get("OIO_PEER_DIR") or "/tmp/oio-sds-peer"
OPENIO_CLI = os.environ.get("OIO_OPENIO_CLI") or f"{PEER_DIR}/venv/bin/openio"
# The event agents delete chunks and count accounts about a second after a request;
# this only bounds the wait for them (see wait_until).
ASYNC_DEADLINE = 30.0
MiB = 1024 * 1024
POLICIES = ["SINGLE", "TWOCOPIES", "THREECOPIES", "EC", "EC21"]
NOT_APPLICABLE = "not applicable on the cluster: requires "


def wait_until(check: Any, what: str, deadline: float = ASYNC_DEADLINE) -> float:
    """Poll `check()` (truthy when done) until it is; return the seconds it took.

    For the cluster's asynchronous work only (event agents): not a timed assertion,
    the deadline is there so that a stuck agent fails the test with a clear message.
    """
    start = time.monotonic()
    while True:
        result = check()
        if result:
            return time.monotonic() - start
        if time.monotonic() - start > deadline:
            pytest.fail(f"{what}: still not so after {deadline:.0f} s (see the event agent log)")
        time.sleep(0.1)


def chunk_status(url: str) -> int:
    """The rawx's HTTP status for a chunk (HEAD): 200 there, 404 gone."""
    request = urllib.request.Request(url, method="HEAD")
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


def wait_chunks_gone(urls: list[str], what: str) -> float:
    """Wait until every chunk URL answers 404 on its rawx; return the seconds it took."""
    assert urls, "no chunk to watch"
    pending = list(urls)

    def gone() -> bool:
        pending[:] = [u for u in pending if chunk_status(u) != 404]
        return not pending

    return wait_until(gone, f"{what}: {len(pending)} of {len(urls)} chunks still on the rawx")


def proxy_get(resource: str, **params: str) -> tuple[dict[str, str], Any]:
    """A GET on the proxy's /v3.0/<NS>/ API, as OpenIO's clients see it: headers and JSON."""
    from urllib.parse import urlencode

    url = f"http://{PROXY}/v3.0/{NAMESPACE}/{resource}?{urlencode(params)}"
    with urllib.request.urlopen(url, timeout=30) as resp:
        body = resp.read()
        return dict(resp.headers.items()), json.loads(body) if body else None
