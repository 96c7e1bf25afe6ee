"""Chunks no object references any more leave the rawx: the cluster's event agents
delete them a second or so after meta2 lets them go (or oiocli itself, for a drain)."""

from __future__ import annotations

import os

import pytest

from .helpers import POLICIES, MiB, chunk_status, wait_chunks_gone

SIZE = 7 * MiB + 12_345


def urls_of(api, account, container, obj) -> list[str]:
    return [c["url"] for c in api.object_locate(account, container, obj)[1]]


@pytest.mark.parametrize("policy", POLICIES)
def test_truncated_chunks_leave_the_rawx(api, account, policy, record_property):
    api.object_create(account, "ct", data=os.urandom(SIZE), obj_name="obj", policy=policy)
    before = urls_of(api, account, "ct", "obj")
    api.object_truncate(account, "ct", "obj", size=MiB + 1)  # inside the first metachunk
    kept = set(urls_of(api, account, "ct", "obj"))
    dropped = [u for u in before if u not in kept]
    assert dropped and kept
    seconds = wait_chunks_gone(dropped, f"chunks a {policy} truncate let go")
    assert all(chunk_status(u) == 200 for u in kept)
    record_property("chunks_gone_s", f"truncated {policy} ({len(dropped)} chunks): {seconds:.2f}")


@pytest.mark.parametrize("policy", POLICIES)
def test_overwritten_chunks_leave_the_rawx(api, account, policy, record_property):
    api.object_create(account, "ct", data=os.urandom(SIZE), obj_name="obj", policy=policy)
    old = urls_of(api, account, "ct", "obj")
    api.object_create(account, "ct", data=os.urandom(MiB), obj_name="obj", policy=policy)
    seconds = wait_chunks_gone(old, f"chunks of an overwritten {policy} object")
    assert all(chunk_status(u) == 200 for u in urls_of(api, account, "ct", "obj"))
    record_property("chunks_gone_s", f"overwritten {policy} ({len(old)} chunks): {seconds:.2f}")


def test_flushed_and_purged_chunks_leave_the_rawx(api, account):
    api.container_create(account, "vers", system={"sys.m2.policy.version": "-1"})
    urls = []
    for i in range(3):
        api.object_create(account, "vers", data=os.urandom(MiB + i), obj_name="doc", policy="EC21")
        urls.append(urls_of(api, account, "vers", "doc"))
    api.object_purge(account, "vers", "doc", maxvers=1)
    wait_chunks_gone(urls[0] + urls[1], "chunks of purged versions")
    assert all(chunk_status(u) == 200 for u in urls[2])
    api.container_flush(account, "vers")
    wait_chunks_gone(urls[2], "chunks of a flushed container")


@pytest.mark.parametrize("policy", ["THREECOPIES", "EC"])
def test_drained_chunks_leave_the_rawx(api, account, policy):
    api.object_create(account, "ct", data=os.urandom(SIZE), obj_name="obj", policy=policy)
    urls = urls_of(api, account, "ct", "obj")
    api.object_drain(account, "ct", "obj")
    # oiocli deletes them itself: OpenIO 7.3.0's event agent leaves a drain's chunks.
    assert [chunk_status(u) for u in urls] == [404] * len(urls)
    assert api.object_get_properties(account, "ct", "obj")["chunk_method"] == "drained"
