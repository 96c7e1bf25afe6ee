"""A 50 MiB random object round-trips with every storage policy."""

from __future__ import annotations

import hashlib

import pytest

from .helpers import (
    ACCOUNT,
    DEFAULT_CHUNK_SIZE,
    POLICIES,
    MiB,
    by_metachunk,
    chunks_per_metachunk,
    metachunk_size,
    service_of,
)

SIZE = 50 * MiB


@pytest.mark.parametrize("chunk_size", [None, MiB], ids=["default-chunks", "1MiB-chunks"])
@pytest.mark.parametrize("policy", sorted(POLICIES))
def test_50mib_round_trip(backend, source_50m, policy, chunk_size):
    path, md5 = source_50m
    api = backend.new_api(chunk_size=chunk_size)
    try:
        # A cluster's default chunk size is its own, not the embedded backend's.
        default = DEFAULT_CHUNK_SIZE if api.data_dir else api.backend.chunk_size
        check_round_trip(api, path, md5, policy, chunk_size or default)
    finally:
        backend.destroy(api)


def check_round_trip(api, path, md5, policy, effective_chunk_size):
    chunks, size, hsh = api.object_create(ACCOUNT, "ct", path, obj_name="big", policy=policy)
    assert size == SIZE
    assert hsh == md5

    meta, located = api.object_locate(ACCOUNT, "ct", "big")
    assert meta["size"] == SIZE
    assert meta["hash"] == md5
    assert meta["policy"] == policy

    mc_size = metachunk_size(policy, effective_chunk_size)
    n_metachunks = -(-SIZE // mc_size)
    per_mc = chunks_per_metachunk(policy)
    assert len(chunks) == n_metachunks * per_mc
    assert len(located) == n_metachunks * per_mc

    groups = by_metachunk(located)
    assert sorted(groups) == list(range(n_metachunks))
    with open(path, "rb") as f:
        for index, group in sorted(groups.items()):
            expected_size = min(mc_size, SIZE - index * mc_size)
            if POLICIES[policy]["kind"] == "plain":
                assert sorted(c["pos"] for c in group) == [str(index)] * per_mc
            else:
                assert sorted(c["pos"] for c in group) == sorted(
                    f"{index}.{frag}" for frag in range(per_mc)
                )
            # 4.x semantics: every chunk row carries its metachunk's size and MD5.
            f.seek(index * mc_size)
            mc_md5 = hashlib.md5(f.read(expected_size)).hexdigest().upper()
            assert {c["size"] for c in group} == {expected_size}
            assert {c["hash"].upper() for c in group} == {mc_md5}
            assert {c["offset"] for c in group} == {index * mc_size}
            # The chunks of one metachunk live on distinct volumes (services).
            assert len({service_of(c["url"]) for c in group}) == per_mc

    fetched_meta, stream = api.object_fetch(ACCOUNT, "ct", "big")
    digest = hashlib.md5()
    total = 0
    for piece in stream:
        digest.update(piece)
        total += len(piece)
    assert total == SIZE
    assert digest.hexdigest().upper() == md5
    assert fetched_meta["hash"] == md5
