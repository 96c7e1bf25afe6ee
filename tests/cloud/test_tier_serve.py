"""`namespace serve` prepares `b2/` chunk URLs for a backblaze policy, as OpenIO's meta2 does."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import urllib3

from oiocli.core.storage_method import parse_method
from oiocli.server.namespace_server import NamespaceServer, serve_namespace

from .conftest import ACCOUNT, TierNamespace

MiB = 1024 * 1024


@pytest.mark.parametrize(
    "method",
    [
        "backblaze/account_id=key,bucket_name=cold",
        "s3/endpoint=http://127.0.0.1:9,bucket_name=cold",
    ],
)
def test_prepare2_of_a_tier_policy_gives_one_tier_chunk_per_position(
    tmp_path: Path, method: str
) -> None:
    server = serve_namespace("TIERNS", str(tmp_path / "ns"), chunk_size=1024 * 1024, volumes=2)
    try:
        server.ns.namespace_set({"B2": method})
        # oio/container/client.py, content_prepare; meta2v2/meta2_utils_lb.c builds "b2/<id>"
        resp = urllib3.request(
            "POST",
            f"{server.proxy_url}/v3.0/TIERNS/content/prepare2?acct=a&ref=c&path=o",
            body=json.dumps({"size": 1, "position": 2, "policy": "B2"}),
        )
        assert resp.status == 200, resp.data
        chunks = resp.json()["chunks"]
        assert len(chunks) == 1
        assert chunks[0]["pos"] == "2"
        prefix = "b2/" if method.startswith("backblaze/") else "s3/"
        assert chunks[0]["url"].startswith(prefix) and len(chunks[0]["url"]) == 67
        int(chunks[0]["url"][3:], 16)
        got = resp.headers["x-oio-content-meta-chunk-method"]
        assert parse_method(got) == parse_method(method)
    finally:
        server.stop()


@pytest.fixture
def served(tier: TierNamespace) -> Iterator[tuple[TierNamespace, NamespaceServer]]:
    """The tier namespace behind `namespace serve`, with the key file (it checks and deletes)."""
    server = serve_namespace("TIERNS", str(tier.root / "ns"))
    server.ns.tier_key_file = str(tier.keys)
    tier.env.pop("OIO_DATA_DIR")
    tier.env["OIO_PROXYD_URL"] = server.proxy_url
    try:
        yield tier, server
    finally:
        server.stop()


def test_oio_through_serve_puts_and_gets_tier_chunks_in_the_bucket(
    served: tuple[TierNamespace, NamespaceServer],
) -> None:
    tier, _server = served
    data = os.urandom(23 * MiB + 5)  # 3 chunks of 10 MiB
    (tier.root / "big").write_bytes(data)
    tier.ok("object", "create", "c", str(tier.root / "big"), "--name", "big", "--policy", "B2")
    rows = tier.json("object", "locate", "c", "big")
    assert [r["Pos"] for r in rows] == ["0", "1", "2"]
    assert all(r["Id"].startswith("b2/") and len(r["Id"]) == 67 for r in rows)
    assert tier.keys_in_bucket() == tier.expected_keys("c", "big")
    assert tier.ok("object", "fetch", "c", "big").stdout == data
    got = tier.ok("object", "fetch", "c", "big", "--range", "10485700-20971600").stdout
    assert got == data[10485700:20971601]
    assert tier.json("object", "check", "c", "big", "--verify")[0]["State"] == "ok"
    tier.ok("object", "delete", "c", "big")
    assert tier.keys_in_bucket() == set()


def _commit(server: NamespaceServer, chunks: list[dict[str, Any]], content_id: str, method: str):
    # oio/container/client.py, content_create: the headers meta2 reads the alias from
    return urllib3.request(
        "POST",
        f"{server.proxy_url}/v3.0/TIERNS/content/create?acct={ACCOUNT}&ref=c&path=o",
        body=json.dumps({"chunks": chunks, "properties": {}}),
        headers={
            "x-oio-content-meta-id": content_id,
            "x-oio-content-meta-size": str(sum(c["size"] for c in chunks)),
            "x-oio-content-meta-policy": "B2",
            "x-oio-content-meta-chunk-method": method,
            "x-oio-action-mode": "autocreate",
        },
    )


def test_serve_refuses_tier_chunk_records_not_stored_for_that_content(
    served: tuple[TierNamespace, NamespaceServer],
) -> None:
    from oiocli.backends.cloud import tier_store
    from oiocli.core.wire import compute_cid

    tier, server = served
    content, other = "A" * 32, "B" * 32
    store = tier_store(parse_method(tier.method), compute_cid(ACCOUNT, "c"), str(tier.keys))
    mine, theirs = f"b2/{'1' * 64}", f"b2/{'2' * 64}"
    store.put(mine, [b"x" * 100], {"content_id": content, "pos": "0"})
    store.put(theirs, [b"y" * 100], {"content_id": other, "pos": "0"})

    def chunk(url: str, size: int = 100, pos: str = "0") -> dict[str, Any]:
        return {"url": url, "pos": pos, "size": size, "hash": ""}

    refused = [
        chunk(f"b2/{'3' * 64}"),  # not in the bucket
        chunk(theirs),  # stored for another content
        chunk(mine, pos="1"),  # at another position
        chunk(mine, size=99),  # not the size recorded
    ]
    for record in refused:
        resp = _commit(server, [record], content, tier.method)
        assert resp.status == 400, (record, resp.data)
    assert tier.run("object", "show", "c", "o").returncode in (3, 4)
    resp = _commit(server, [chunk(mine)], content, tier.method)
    assert resp.status == 204, resp.data
    assert tier.ok("object", "fetch", "c", "o").stdout == b"x" * 100
    # The same chunk cannot be taken by a second object.
    resp = _commit(server, [chunk(mine)], content, tier.method)
    assert resp.status == 400, resp.data
