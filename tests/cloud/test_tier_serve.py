"""`namespace serve` prepares `b2/` chunk URLs for a backblaze policy, as OpenIO's meta2 does."""

from __future__ import annotations

import json
from pathlib import Path

import urllib3

from oiocli.server.namespace_server import serve_namespace


def test_prepare2_of_a_backblaze_policy_gives_one_b2_chunk_per_position(tmp_path: Path) -> None:
    server = serve_namespace("TIERNS", str(tmp_path / "ns"), chunk_size=1024 * 1024, volumes=2)
    try:
        server.ns.namespace_set({"B2": "backblaze/account_id=key,bucket_name=cold"})
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
        assert chunks[0]["url"].startswith("b2/") and len(chunks[0]["url"]) == 67
        assert resp.headers["x-oio-content-meta-chunk-method"] == (
            "backblaze/account_id=key,bucket_name=cold"
        )
    finally:
        server.stop()
