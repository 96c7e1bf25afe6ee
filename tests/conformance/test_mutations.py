"""Issue 2, done-when 4: truncate, drain, link, append and change of policy."""

from __future__ import annotations

import os

import pytest

from oiocli.core.exceptions import BadRange, ContentDrained, NoSuchObject

from .helpers import (
    ACCOUNT,
    POLICIES,
    MiB,
    by_metachunk,
    chunks_per_metachunk,
    eventually,
    eventually_equal,
    fetch,
    md5hex,
    metachunk_size,
)

SIZE = 7 * MiB + 12_345  # with 1 MiB chunks: 8 replicated, 4 EC21, 2 EC 6+3 metachunks


def stats(api, container="ct"):
    system = api.container_get_properties(ACCOUNT, container)["system"]
    account = api.account_show(ACCOUNT)
    return {
        "container": (int(system["sys.m2.objects"]), int(system["sys.m2.usage"])),
        "account": (account["objects"], account["bytes"]),
    }


def assert_layout(api, name, policy, size, container="ct"):
    """The located chunks describe exactly `size` bytes laid out by `policy` (1 MiB chunks)."""
    _meta, chunks = api.object_locate(ACCOUNT, container, name)
    groups = by_metachunk(chunks)
    sizes = [groups[i][0]["size"] for i in sorted(groups)]
    assert sorted(groups) == list(range(len(groups)))
    assert sum(sizes) == size
    assert all(len(g) == chunks_per_metachunk(policy) for g in groups.values())
    assert all(s <= metachunk_size(policy, MiB) for s in sizes)
    return chunks


def assert_no_orphans(api, backend):
    """Every stored chunk file belongs to some object version."""

    def check():
        located = 0
        for container in [row[0] for row in api.container_list(ACCOUNT)]:
            for obj in api.object_list(ACCOUNT, container, versions=True)["objects"]:
                if not obj["deleted"]:
                    located += len(
                        api.object_locate(ACCOUNT, container, obj["name"], version=obj["version"])[
                            1
                        ]
                    )
        assert backend.chunk_file_count(api) == located, "chunk files != located chunks"

    eventually(check, backend, "every chunk file belongs to an object version")


# ------------------------------------------------------------------ truncate
TRUNCATE_POLICIES = ["SINGLE", "THREECOPIES", "EC", "EC21LIBEC"]


def truncate_sizes(policy):
    mc = metachunk_size(policy, MiB)
    return {"inside": 5_000_001, "boundary": mc, "boundary-minus-1": mc - 1, "zero": 0}


@pytest.mark.parametrize("where", list(truncate_sizes("SINGLE")))
@pytest.mark.parametrize("policy", TRUNCATE_POLICIES)
def test_truncate(api, backend, policy, where):
    size = truncate_sizes(policy)[where]
    data = os.urandom(SIZE)
    api.object_create(ACCOUNT, "ct", data=data, obj_name="obj", policy=policy)
    before = api.object_get_properties(ACCOUNT, "ct", "obj")

    api.object_truncate(ACCOUNT, "ct", "obj", size=size)

    meta = api.object_get_properties(ACCOUNT, "ct", "obj")
    assert meta["size"] == size
    assert meta["version"] == before["version"]
    assert meta["hash"] in (None, md5hex(data[:size]))
    assert fetch(api, "ct", "obj") == data[:size]
    if size:
        assert (
            fetch(api, "ct", "obj", ranges=[(size - 3, size + 10)]) == data[max(size - 3, 0) : size]
        )
        assert fetch(api, "ct", "obj", ranges=[(None, 5)]) == data[max(size - 5, 0) : size]
        with pytest.raises(BadRange):
            fetch(api, "ct", "obj", ranges=[(size, None)])
    assert_layout(api, "obj", policy, size)
    eventually_equal(
        lambda: stats(api), {"container": (1, size), "account": (1, size)}, api, "counters"
    )
    assert_no_orphans(api, backend)


@pytest.mark.parametrize("policy", ["THREECOPIES", "EC"])
def test_truncate_twice_then_append(api, policy):
    data = os.urandom(SIZE)
    api.object_create(ACCOUNT, "ct", data=data, obj_name="obj", policy=policy)
    api.object_truncate(ACCOUNT, "ct", "obj", size=3 * MiB + 7)
    api.object_truncate(ACCOUNT, "ct", "obj", size=MiB + 3)
    assert fetch(api, "ct", "obj") == data[: MiB + 3]
    extra = os.urandom(MiB + 99)
    api.object_create(ACCOUNT, "ct", data=extra, obj_name="obj", append=True)
    expected = data[: MiB + 3] + extra
    assert fetch(api, "ct", "obj") == expected
    assert fetch(api, "ct", "obj", ranges=[(MiB, MiB + 10)]) == expected[MiB : MiB + 11]
    assert api.object_get_properties(ACCOUNT, "ct", "obj")["size"] == len(expected)


@pytest.mark.parametrize("bad", [SIZE + 1, 10 * SIZE, -1, SIZE])
def test_truncate_invalid_size_changes_nothing(api, backend, bad):
    data = os.urandom(SIZE)
    api.object_create(ACCOUNT, "ct", data=data, obj_name="obj", policy="EC21")
    before = api.object_locate(ACCOUNT, "ct", "obj")
    if bad == SIZE:  # valid: truncating to the current size keeps the data
        api.object_truncate(ACCOUNT, "ct", "obj", size=bad)
        assert api.object_locate(ACCOUNT, "ct", "obj")[1] == before[1]
    else:
        with pytest.raises(BadRange):
            api.object_truncate(ACCOUNT, "ct", "obj", size=bad)
        assert api.object_locate(ACCOUNT, "ct", "obj") == before
    assert fetch(api, "ct", "obj") == data
    eventually_equal(
        lambda: stats(api), {"container": (1, SIZE), "account": (1, SIZE)}, api, "counters"
    )
    assert_no_orphans(api, backend)


def test_truncate_missing_object(api):
    api.container_create(ACCOUNT, "ct")
    with pytest.raises(NoSuchObject):
        api.object_truncate(ACCOUNT, "ct", "nope", size=0)


# --------------------------------------------------------------------- drain
@pytest.mark.parametrize("policy", ["SINGLE", "EC"])
def test_drain_then_fetch(api, backend, policy):
    data = os.urandom(2 * MiB + 1)
    api.object_create(
        ACCOUNT, "ct", data=data, obj_name="obj", policy=policy, properties={"p": "1"}
    )
    api.object_create(ACCOUNT, "ct", data=b"neighbour", obj_name="other", policy="SINGLE")
    before = api.object_get_properties(ACCOUNT, "ct", "obj")

    api.object_drain(ACCOUNT, "ct", "obj")

    meta = api.object_get_properties(ACCOUNT, "ct", "obj")
    assert meta["chunk_method"] == "drained"
    for key in ("size", "hash", "version", "properties", "mime_type"):
        assert meta[key] == before[key], key
    for ranges in (None, [(0, 10)]):
        with pytest.raises(ContentDrained) as excinfo:
            fetch(api, "ct", "obj", ranges=ranges)
        message = str(excinfo.value)
        assert "obj" in message and "drain" in message.lower(), message
    # Still listed, still counted, its data gone; other objects untouched.
    assert [o["name"] for o in api.object_list(ACCOUNT, "ct")["objects"]] == ["obj", "other"]
    assert stats(api)["container"] == (2, len(data) + 9)
    eventually_equal(lambda: backend.chunk_file_count(api), 1, backend, "chunk files")
    assert fetch(api, "ct", "other") == b"neighbour"
    # Operations that need the data refuse with the same clear error.
    with pytest.raises(ContentDrained):
        api.object_truncate(ACCOUNT, "ct", "obj", size=1)
    with pytest.raises(ContentDrained):
        api.object_link(ACCOUNT, "ct", "obj", ACCOUNT, "ct", "link")
    with pytest.raises(ContentDrained):
        api.object_create(ACCOUNT, "ct", data=b"more", obj_name="obj", append=True)
    with pytest.raises(ContentDrained):
        api.object_change_policy(ACCOUNT, "ct", "obj", "THREECOPIES")
    # A drained object can still be deleted.
    api.object_delete(ACCOUNT, "ct", "obj")
    with pytest.raises(NoSuchObject):
        api.object_get_properties(ACCOUNT, "ct", "obj")
    assert stats(api)["container"] == (1, 9)


def test_drain_missing_object(api):
    api.container_create(ACCOUNT, "ct")
    with pytest.raises(NoSuchObject):
        api.object_drain(ACCOUNT, "ct", "nope")


# ---------------------------------------------------------------------- link
@pytest.mark.parametrize("policy", ["THREECOPIES", "EC"])
def test_link_survives_deletion_of_the_original(api, backend, policy):
    data = os.urandom(3 * MiB + 17)
    api.object_create(
        ACCOUNT,
        "ct",
        data=data,
        obj_name="orig",
        policy=policy,
        mime_type="text/x-test",
        properties={"a": "1", "b": "2"},
    )
    api.object_link(ACCOUNT, "ct", "orig", ACCOUNT, "other", "linked")

    orig = api.object_get_properties(ACCOUNT, "ct", "orig")
    linked = api.object_get_properties(ACCOUNT, "other", "linked")
    for key in ("size", "hash", "policy", "chunk_method", "mime_type", "properties"):
        assert linked[key] == orig[key], key
    assert linked["id"] != orig["id"]
    orig_urls = {c["url"] for c in api.object_locate(ACCOUNT, "ct", "orig")[1]}
    link_urls = {c["url"] for c in api.object_locate(ACCOUNT, "other", "linked")[1]}
    assert len(link_urls) == len(orig_urls) and not orig_urls & link_urls
    eventually_equal(
        lambda: stats(api, "other"),
        {"container": (1, len(data)), "account": (2, 2 * len(data))},
        api,
        "counters",
    )

    api.object_delete(ACCOUNT, "ct", "orig")
    assert fetch(api, "other", "linked") == data
    assert fetch(api, "other", "linked", ranges=[(MiB - 1, MiB + 1)]) == data[MiB - 1 : MiB + 2]
    assert_no_orphans(api, backend)
    # And the other way round: the link goes, nothing of it stays.
    api.object_delete(ACCOUNT, "other", "linked")
    eventually_equal(lambda: backend.chunk_file_count(api), 0, backend, "chunk files")


def test_link_properties_copy_or_replace(api):
    api.object_create(ACCOUNT, "ct", data=b"x" * 100, obj_name="orig", properties={"a": "1"})
    api.object_link(ACCOUNT, "ct", "orig", ACCOUNT, "ct", "copy", properties_directive="COPY")
    api.object_link(
        ACCOUNT,
        "ct",
        "orig",
        ACCOUNT,
        "ct",
        "replace",
        properties_directive="REPLACE",
        properties={"x": "9"},
    )
    props = {
        name: api.object_get_properties(ACCOUNT, "ct", name)["properties"]
        for name in ("orig", "copy", "replace")
    }
    assert props == {"orig": {"a": "1"}, "copy": {"a": "1"}, "replace": {"x": "9"}}
    # Changing the link's properties leaves the original's alone.
    api.object_set_properties(ACCOUNT, "ct", "copy", {"c": "3"})
    assert api.object_get_properties(ACCOUNT, "ct", "orig")["properties"] == {"a": "1"}


def test_link_by_version_and_errors(api):
    api.container_create(ACCOUNT, "ct", system={"sys.m2.policy.version": "-1"})
    v1 = api.object_create_ext(ACCOUNT, "ct", data=b"one", obj_name="doc")[3]["version"]
    api.object_create(ACCOUNT, "ct", data=b"two", obj_name="doc")
    api.object_link(ACCOUNT, "ct", "doc", ACCOUNT, "ct", "old", target_version=v1)
    assert fetch(api, "ct", "old") == b"one"
    with pytest.raises(NoSuchObject):
        api.object_link(ACCOUNT, "ct", "doc", ACCOUNT, "ct", "bad", target_version=v1 - 1)
    with pytest.raises(NoSuchObject):
        api.object_link(ACCOUNT, "ct", "missing", ACCOUNT, "ct", "bad")
    assert "bad" not in {o["name"] for o in api.object_list(ACCOUNT, "ct")["objects"]}
    # Linking over an existing name of a versioned container adds a version.
    api.object_link(ACCOUNT, "ct", "old", ACCOUNT, "ct", "doc")
    assert fetch(api, "ct", "doc") == b"one"
    listing = api.object_list(ACCOUNT, "ct", versions=True, prefix="doc")["objects"]
    assert len(listing) == 3


# -------------------------------------------------------------------- append
@pytest.mark.parametrize("policy", ["SINGLE", "THREECOPIES", "EC", "EC21"])
def test_append(api, backend, policy):
    parts = [os.urandom(n) for n in (MiB + MiB // 2, 700_000, 2 * MiB, 1)]
    meta0 = api.object_create_ext(
        ACCOUNT, "ct", data=parts[0], obj_name="log", policy=policy, append=True
    )[3]
    assert fetch(api, "ct", "log") == parts[0]
    for part in parts[1:]:
        _chunks, size, _hash = api.object_create(
            ACCOUNT, "ct", data=part, obj_name="log", append=True
        )
        assert size == len(part)
    expected = b"".join(parts)
    meta = api.object_get_properties(ACCOUNT, "ct", "log")
    assert meta["size"] == len(expected)
    assert meta["version"] == meta0["version"]
    assert meta["policy"] == policy
    assert meta["hash"] in (None, md5hex(expected))
    assert fetch(api, "ct", "log") == expected
    junction = len(parts[0])
    assert (
        fetch(api, "ct", "log", ranges=[(junction - 2, junction + 2)])
        == (expected[junction - 2 : junction + 3])
    )
    assert fetch(api, "ct", "log", ranges=[(None, 3)]) == expected[-3:]
    eventually_equal(
        lambda: stats(api),
        {"container": (1, len(expected)), "account": (1, len(expected))},
        api,
        "counters",
    )
    assert len(api.object_list(ACCOUNT, "ct", versions=True)["objects"]) == 1
    assert_no_orphans(api, backend)
    # Truncate exactly where the first append started (a metachunk boundary), then inside
    # the first upload's last metachunk.
    api.object_truncate(ACCOUNT, "ct", "log", size=junction)
    assert fetch(api, "ct", "log") == parts[0]
    api.object_truncate(ACCOUNT, "ct", "log", size=junction - 100)
    assert fetch(api, "ct", "log") == parts[0][:-100]
    assert stats(api)["container"] == (1, junction - 100)
    assert_no_orphans(api, backend)


# ------------------------------------------------------------- change policy
@pytest.mark.requires("policy:EC21LIBEC")
@pytest.mark.parametrize("size", [0, 1, 2 * MiB + 1, 7 * MiB + 3])
def test_change_policy_keeps_bytes_hash_version(api, backend, size):
    data = os.urandom(size)
    api.object_create(
        ACCOUNT,
        "ct",
        data=data,
        obj_name="obj",
        policy="SINGLE",
        mime_type="text/x-keep",
        properties={"k": "v"},
    )
    before = api.object_get_properties(ACCOUNT, "ct", "obj")
    for policy in ("EC", "THREECOPIES", "EC21LIBEC", "SINGLE"):
        api.object_change_policy(ACCOUNT, "ct", "obj", policy)
        meta = api.object_get_properties(ACCOUNT, "ct", "obj")
        assert meta["policy"] == policy
        assert POLICIES[policy]["kind"] in meta["chunk_method"]
        for key in ("version", "hash", "size", "mime_type", "properties"):
            assert meta[key] == before[key], (policy, key)
        assert fetch(api, "ct", "obj") == data
        if size:
            assert_layout(api, "obj", policy, size)
        eventually_equal(
            lambda: stats(api), {"container": (1, size), "account": (1, size)}, api, "counters"
        )
        assert_no_orphans(api, backend)


def test_change_policy_of_an_old_version(api):
    api.container_create(ACCOUNT, "ct", system={"sys.m2.policy.version": "-1"})
    old = api.object_create_ext(ACCOUNT, "ct", data=b"old" * 1000, obj_name="doc", policy="SINGLE")[
        3
    ]
    new = api.object_create_ext(ACCOUNT, "ct", data=b"new" * 1000, obj_name="doc", policy="SINGLE")[
        3
    ]
    api.object_change_policy(ACCOUNT, "ct", "doc", "EC21", version=old["version"])
    listing = api.object_list(ACCOUNT, "ct", versions=True)["objects"]
    assert [(o["version"], o["policy"], o["is_latest"]) for o in listing] == [
        (new["version"], "SINGLE", True),
        (old["version"], "EC21", False),
    ]
    assert fetch(api, "ct", "doc") == b"new" * 1000
    assert fetch(api, "ct", "doc", version=old["version"]) == b"old" * 1000
