"""object_locate / object_head / object meta keys as API-CONTRACT.md lists them."""

from __future__ import annotations

import hashlib
import os
import re

import pytest

from .helpers import ACCOUNT, MiB, by_metachunk, eventually_equal

META_KEYS = {
    "name",
    "version",
    "id",
    "content",
    "size",
    "length",
    "hash",
    "hash_method",
    "policy",
    "chunk_method",
    "mime_type",
    "ctime",
    "mtime",
    "deleted",
    "properties",
    "container",
    "account",
}
CHUNK_KEYS = {"url", "real_url", "pos", "size", "hash", "offset"}
HEX32 = re.compile(r"^[0-9A-F]{32}$")


def test_object_meta_and_listing_keys(api):
    api.object_create(ACCOUNT, "ct", data=b"abc", obj_name="obj", properties={"p": "1"})
    meta = api.object_get_properties(ACCOUNT, "ct", "obj")
    assert META_KEYS <= set(meta)
    assert (meta["name"], meta["size"], meta["length"], meta["deleted"]) == ("obj", 3, 3, False)
    assert (meta["container"], meta["account"]) == ("ct", ACCOUNT)
    assert meta["id"] == meta["content"] and HEX32.match(meta["id"])
    assert meta["hash"] == hashlib.md5(b"abc").hexdigest().upper()
    assert isinstance(meta["version"], int)
    assert meta["properties"] == {"p": "1"}
    entry = api.object_list(ACCOUNT, "ct")["objects"][0]
    assert (META_KEYS - {"properties"}) | {"is_latest"} <= set(entry)
    assert "properties" not in entry
    assert api.object_list(ACCOUNT, "ct", properties=True)["objects"][0]["properties"] == {"p": "1"}


@pytest.mark.parametrize("policy", ["THREECOPIES", "EC21"])
def test_locate_chunk_keys(api, policy):
    api.object_create(ACCOUNT, "ct", data=os.urandom(3 * MiB), obj_name="obj", policy=policy)
    for chunk_info in (False, True):
        _meta, chunks = api.object_locate(ACCOUNT, "ct", "obj", chunk_info=chunk_info)
        positions = [tuple(int(p) for p in str(c["pos"]).split(".")) for c in chunks]
        assert positions == sorted(positions)
        for chunk in chunks:
            assert CHUNK_KEYS <= set(chunk), chunk
            assert re.search(r"[0-9A-F]{64}$", chunk["url"]), chunk["url"]


@pytest.mark.requires("fragment-records")
def test_locate_ec_fragments_have_their_own_size_and_hash(api, backend):
    """`size`/`hash` are the metachunk's; `chunk_size` the fragment's own.

    `chunk_hash` (the fragment's MD5) comes only where the chunk server computes it
    anyway (a rawx); the embedded store keeps a CRC32 per block instead of a third
    MD5 stream. Where it is given it must be right.
    """
    api.object_create(ACCOUNT, "ct", data=os.urandom(3 * MiB), obj_name="obj", policy="EC21")
    _meta, chunks = api.object_locate(ACCOUNT, "ct", "obj")
    hashed = 0
    for group in by_metachunk(chunks).values():
        assert len({c["chunk_size"] for c in group}) == 1
        for chunk in group:
            assert chunk["chunk_size"] * 2 >= chunk["size"]
            with open(backend.chunk_path(chunk["url"]), "rb") as f:
                fragment = f.read(chunk["chunk_size"])
            assert HEX32.match(chunk["hash"])
            if chunk.get("chunk_hash"):
                hashed += 1
                assert chunk["chunk_hash"].upper() == hashlib.md5(fragment).hexdigest().upper()
    assert hashed in (0, len(chunks))


def test_object_head_trust_levels(api, backend):
    api.object_create(ACCOUNT, "ct", data=os.urandom(3 * MiB), obj_name="obj", policy="EC21")
    assert api.object_head(ACCOUNT, "ct", "missing") is False
    assert [api.object_head(ACCOUNT, "ct", "obj", trust_level=t) for t in (0, 1, 2)] == [
        True,
        True,
        True,
    ]
    _meta, chunks = api.object_locate(ACCOUNT, "ct", "obj")
    group = by_metachunk(chunks)[1]
    backend.delete_chunk(group[0]["url"])  # EC 2+1: still readable, not complete
    assert [api.object_head(ACCOUNT, "ct", "obj", trust_level=t) for t in (0, 1, 2)] == [
        True,
        True,
        False,
    ]
    backend.delete_chunk(group[1]["url"])  # now unreadable
    assert [api.object_head(ACCOUNT, "ct", "obj", trust_level=t) for t in (0, 1, 2)] == [
        True,
        False,
        False,
    ]


def test_account_flush_and_refresh(api):
    api.object_create(ACCOUNT, "one", data=b"x" * 10, obj_name="a")
    api.object_create(ACCOUNT, "two", data=b"x" * 5, obj_name="b")

    def counters():
        account = api.account_show(ACCOUNT)
        return account["objects"], account["bytes"]

    # (A cluster counts asynchronously: what it has yet to count would come after the flush.)
    eventually_equal(counters, (2, 15), api, "account counters")
    api.account_flush(ACCOUNT)
    assert counters() == (0, 0)
    # The containers keep their data; refreshing them brings the figures back.
    assert api.object_list(ACCOUNT, "one")["objects"][0]["name"] == "a"
    api.container_refresh(ACCOUNT, "one")
    api.container_refresh(ACCOUNT, "two")
    api.account_refresh(ACCOUNT)
    eventually_equal(counters, (2, 15), api, "account counters")
    api.all_accounts_refresh()
    eventually_equal(counters, (2, 15), api, "account counters")
