"""A chunk position the embedded commit cannot read is refused, and nothing is committed."""

from __future__ import annotations

import os

import pytest

from oiocli.api import ObjectStorageApi
from oiocli.core.exceptions import BadRequest

ACCOUNT = "acct"


@pytest.mark.parametrize("bad", ["x", "1.y", ""])
def test_a_malformed_chunk_position_is_a_bad_request(tmp_path, bad):
    api = ObjectStorageApi("OPENIO", data_dir=str(tmp_path / "ns"))
    api.object_create(ACCOUNT, "c", data=os.urandom(1000), obj_name="o")
    meta, chunks = api.object_locate(ACCOUNT, "c", "o")
    prep = api.backend.content_prepare(ACCOUNT, "c")
    chunk = dict(chunks[0], pos=bad)
    with pytest.raises(BadRequest, match="invalid chunk position"):
        api.backend.content_create(
            ACCOUNT, "c", "broken", content=prep["content_id"], version=prep["version"],
            size=meta["size"], hsh=meta["hash"], policy=meta["policy"],
            chunk_method=meta["chunk_method"], mime_type="x", properties={}, chunks=[chunk],
        )  # fmt: skip
    assert [o["name"] for o in api.object_list(ACCOUNT, "c")["objects"]] == ["o"]
