"""A cloud tier object made by oiocli through `namespace serve`, seen by OpenIO's client.

OpenIO SDS 7.3.0's client lists, shows and locates it with the `b2/<chunk id>`
URLs its meta2 records (`meta2v2/meta2_utils_lb.c`, m2v2_build_chunk_url_storage),
and deleting it with `openio object delete` frees its bucket objects: serve
deletes them, as OpenIO's meta2 leaves it to its own agents. OpenIO's client
cannot move the bytes itself: it speaks B2's native API to api.backblazeb2.com
(`oio/api/backblaze_http.py`), not S3, so it never reads the test's S3 server.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from interop_helpers import NAMESPACE, OpenIO, OurCLI, openio_venv, same_bytes
from s3_fixture import ACCESS_KEY, S3Server, key_file

from oiocli.core.wire import compute_cid
from oiocli.server.namespace_server import NamespaceServer, serve_namespace

MiB = 1024 * 1024


class TierServe:
    def __init__(self, root: Path, s3: S3Server, venv: Path) -> None:
        self.s3 = s3
        self.bucket = s3.bucket()
        self.keys = key_file(root / "b2-appkey.conf", self.bucket, s3.endpoint)
        self.method = f"backblaze/account_id={ACCESS_KEY},bucket_name={self.bucket}"
        self.server: NamespaceServer = serve_namespace(
            NAMESPACE, str(root / "ns"), chunk_size=MiB, volumes=3
        )
        self.server.ns.namespace_set({"B2": self.method})
        self.server.ns.tier_key_file = str(self.keys)  # serve checks and deletes tier chunks
        home = root / "openio-home"
        (home / ".oio").mkdir(parents=True)
        (home / ".oio" / "sds.conf").write_text(f"[{NAMESPACE}]\nproxy={self.server.proxy.addr}\n")
        env = {"HOME": str(home), "PATH": f"{venv / 'bin'}:/usr/bin:/bin", "LC_ALL": "C.UTF-8"}
        self.openio = OpenIO(venv, env, api=None)  # type: ignore[arg-type]  # CLI only
        ours_home = root / "oiocli-home"
        ours_home.mkdir()
        self.ours = OurCLI(
            Path(sys.executable).parent / "oio", ours_home, self.server.proxy_url, ""
        )

    def keys_in_bucket(self) -> set[str]:
        return {item[0] for item in self.s3.client(self.bucket).list_keys()}


@pytest.fixture(scope="module")
def tier_serve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TierServe]:
    venv = openio_venv()
    if venv is None:
        pytest.skip("OpenIO's client was not found (set OIO_SDS_VENV)")
    root = tmp_path_factory.mktemp("tier-serve")
    s3 = S3Server(root / "s3")
    (root / "s3").mkdir()
    s3.start()
    tier = None
    try:
        tier = TierServe(root, s3, venv)
        yield tier
    finally:
        if tier is not None:
            tier.server.stop()
        s3.stop()


def test_openio_lists_shows_and_locates_a_tier_object_with_b2_urls(
    tier_serve: TierServe, work: Path
) -> None:
    t, account = tier_serve, "tierlocate"
    data = os.urandom(3 * MiB + 77)  # four metachunks of 1 MiB
    (work / "f").write_bytes(data)
    t.ours.cli("--key-file", str(t.keys), "object", "create", "c", str(work / "f"),
               "--policy", "B2", account=account)  # fmt: skip
    listed = t.openio.json("object", "list", "c", account=account)
    assert [(o["Name"], o["Size"]) for o in listed] == [("f", len(data))]
    shown = t.openio.json("object", "show", "c", "f", account=account)
    assert shown["policy"] == "B2" and int(shown["size"]) == len(data)
    rows = t.openio.json("object", "locate", "c", "f", account=account)
    assert [str(r["Pos"]) for r in rows] == ["0", "1", "2", "3"]
    ids = [r["Id"] for r in rows]
    assert all(i.startswith("b2/") and len(i) == 67 for i in ids), ids
    cid = compute_cid(account, "c")
    assert t.keys_in_bucket() >= {f"{cid}/{i[3:]}" for i in ids}
    # oiocli reads it back from the bucket through the same serve.
    got = t.ours.run("--key-file", str(t.keys), "object", "fetch", "c", "f", account=account)
    assert got.returncode == 0, got.stderr
    same_bytes(data, got.stdout, "oio object fetch of a tier object")


def test_openio_delete_of_a_tier_object_frees_its_bucket_objects(
    tier_serve: TierServe, work: Path
) -> None:
    t, account = tier_serve, "tierdelete"
    (work / "g").write_bytes(os.urandom(2 * MiB + 1))
    t.ours.cli("--key-file", str(t.keys), "object", "create", "c", str(work / "g"),
               "--policy", "B2", account=account)  # fmt: skip
    cid = compute_cid(account, "c")
    mine = {k for k in t.keys_in_bucket() if k.startswith(cid + "/")}
    assert len(mine) == 3
    t.openio.cli("object", "delete", "c", "g", account=account)
    assert not {k for k in t.keys_in_bucket() if k.startswith(cid + "/")}
    assert t.ours.run("object", "show", "c", "g", account=account).returncode == 4
