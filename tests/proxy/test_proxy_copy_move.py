"""`object_copy` / `object_move` through the proxy backend (`namespace serve`):
a link on the rawx where the policy is the same, a copy through the client
otherwise."""

from __future__ import annotations

import os

from proxy_helpers import ACCOUNT, MiB, chunk_files


def test_copy_links_on_the_rawx_and_move_deletes_the_source(served, api):
    data = os.urandom(MiB + 1000)
    api.object_create(
        ACCOUNT, "c", data=data, obj_name="a", policy="THREECOPIES", properties={"owner": "ops"}
    )
    files = len(chunk_files(served))
    done = api.object_copy(ACCOUNT, "c", "a", dest_container="d")
    assert done["method"] == "link"
    # Made by the rawx (a COPY each), the data never came through the client: as
    # many more chunk files, on the same rawx as the source's.
    assert len(chunk_files(served)) == 2 * files
    src = {u["url"].rsplit("/", 1)[0] for u in api.object_locate(ACCOUNT, "c", "a")[1]}
    dst = {u["url"].rsplit("/", 1)[0] for u in api.object_locate(ACCOUNT, "d", "a")[1]}
    assert src == dst
    _meta, stream = api.object_fetch(ACCOUNT, "d", "a")
    assert b"".join(stream) == data
    assert api.object_get_properties(ACCOUNT, "d", "a")["properties"] == {"owner": "ops"}
    moved = api.object_move(ACCOUNT, "d", "a", dest_obj="b", policy="EC21")
    assert moved["method"] == "copy" and moved["source_deleted"] is True
    assert api.object_get_properties(ACCOUNT, "d", "b")["policy"] == "EC21"
    _meta, stream = api.object_fetch(ACCOUNT, "d", "b")
    assert b"".join(stream) == data
    assert [o["name"] for o in api.object_list(ACCOUNT, "d")["objects"]] == ["b"]
