"""Versioning (sys.m2.policy.version), delete markers, purge, as OpenIO SDS does them."""

from __future__ import annotations

import pytest

from oiocli.core.exceptions import Conflict, ContainerNotEmpty, NoSuchObject

from .helpers import ACCOUNT, eventually, fetch, md5hex

VERSIONING = "sys.m2.policy.version"
# OpenIO's meta2 drops the versions beyond a container's limit when it writes a new one
# only if asked to (or if its namespace says so): the limits below are meant strictly.
DELETE_EXCEEDING = "sys.m2.policy.version.delete_exceeding"


def make_container(api, name: str, max_versions: int | None) -> None:
    system = None if max_versions is None else {VERSIONING: str(max_versions)}
    if max_versions is not None and max_versions > 1:
        system[DELETE_EXCEEDING] = "1"
    assert api.container_create(ACCOUNT, name, system=system) is True


def upload(api, container: str, name: str, data: bytes, **kwargs) -> dict:
    *_rest, meta = api.object_create_ext(ACCOUNT, container, data=data, obj_name=name, **kwargs)
    return meta


def versions_of(api, container: str, name: str | None = None) -> list[dict]:
    listing = api.object_list(ACCOUNT, container, versions=True, prefix=name)
    return [o for o in listing["objects"] if name is None or o["name"] == name]


def assert_stats_match_listing(api, container: str) -> None:
    """Container and account counters equal what the versioned listing holds."""
    eventually(lambda: check_stats(api, container), api, f"counters of {container!r}")


def check_stats(api, container: str) -> None:
    stored = [o for o in versions_of(api, container) if not o["deleted"]]
    objects, nbytes = len(stored), sum(o["size"] for o in stored)
    system = api.container_get_properties(ACCOUNT, container)["system"]
    assert (int(system["sys.m2.objects"]), int(system["sys.m2.usage"])) == (objects, nbytes)
    rows = {row[0]: row for row in api.container_list(ACCOUNT)}
    assert (rows[container][1], rows[container][2]) == (objects, nbytes)
    account = api.account_show(ACCOUNT)
    assert account["objects"] == sum(r[1] for r in rows.values())
    assert account["bytes"] == sum(r[2] for r in rows.values())


def test_container_system_property_is_kept(api):
    make_container(api, "v", 3)
    assert api.container_get_properties(ACCOUNT, "v")["system"][VERSIONING] == "3"


@pytest.mark.openio_differs(
    "OpenIO 7.3.0's meta2 treats versioning disabled (0) as suspended: an overwrite "
    "replaces the object (m2db_put_alias: a latest version > 0 is taken as a clue of "
    "suspended versioning, and versions are timestamps)"
)
def test_versioning_disabled_refuses_overwrite(api):
    make_container(api, "v0", 0)
    upload(api, "v0", "doc", b"first")
    with pytest.raises(Conflict):
        upload(api, "v0", "doc", b"second")
    assert fetch(api, "v0", "doc") == b"first"
    assert [o["size"] for o in versions_of(api, "v0", "doc")] == [5]
    assert_stats_match_listing(api, "v0")
    # Once deleted, the name can be used again.
    assert api.object_delete(ACCOUNT, "v0", "doc")[0] is False
    upload(api, "v0", "doc", b"third")
    assert fetch(api, "v0", "doc") == b"third"


@pytest.mark.parametrize("max_versions", [1, None], ids=["explicit-1", "namespace-default"])
def test_versioning_suspended_replaces(api, max_versions):
    make_container(api, "v1", max_versions)
    first = upload(api, "v1", "doc", b"first")
    second = upload(api, "v1", "doc", b"second!")
    assert second["version"] > first["version"]
    rows = versions_of(api, "v1", "doc")
    assert [(o["version"], o["hash"]) for o in rows] == [(second["version"], md5hex(b"second!"))]
    assert fetch(api, "v1", "doc") == b"second!"
    with pytest.raises(NoSuchObject):
        fetch(api, "v1", "doc", version=first["version"])
    assert_stats_match_listing(api, "v1")
    # Without versioning a delete removes the object, no marker is left.
    marker, version = api.object_delete(ACCOUNT, "v1", "doc")
    assert marker is False
    assert version == second["version"]
    assert versions_of(api, "v1", "doc") == []
    api.container_delete(ACCOUNT, "v1")


def test_versioning_unlimited_keeps_all_newest_first(api):
    make_container(api, "vall", -1)
    contents = [b"one", b"two-2", b"three-33"]
    metas = [upload(api, "vall", "doc", data) for data in contents]
    versions = [m["version"] for m in metas]
    assert versions == sorted(set(versions))
    rows = versions_of(api, "vall", "doc")
    assert [o["version"] for o in rows] == versions[::-1]
    assert [o["is_latest"] for o in rows] == [True, False, False]
    assert [o["hash"] for o in rows] == [md5hex(c) for c in contents[::-1]]
    assert fetch(api, "vall", "doc") == contents[-1]
    for version, data in zip(versions, contents, strict=True):
        assert fetch(api, "vall", "doc", version=version) == data
        assert api.object_get_properties(ACCOUNT, "vall", "doc", version=version)["size"] == len(
            data
        )
    # The default listing shows only the latest version.
    listing = api.object_list(ACCOUNT, "vall")
    assert [(o["name"], o["version"]) for o in listing["objects"]] == [("doc", versions[-1])]
    assert_stats_match_listing(api, "vall")


def pages_of_versions(api, container: str, limit: int, **kwargs) -> list[list[tuple[str, int]]]:
    """The versioned listing of a container, page by page, following next_marker."""
    pages, marker = [], None
    while True:
        page = api.object_list(
            ACCOUNT, container, limit=limit, marker=marker, versions=True, **kwargs
        )
        pages.append([(o["name"], o["version"]) for o in page["objects"]])
        marker = page["next_marker"]
        if not page["truncated"]:
            return pages
        assert marker, page


@pytest.mark.parametrize("limit", [1, 2, 3, 4])
def test_versioned_pages_never_lose_a_version(api, limit):
    """A page limit that falls inside one name's versions loses none of them.

    The next page starts after a name: versions of a name left for it would be
    skipped. Each page ends at a whole name, or holds all of one name's versions.
    """
    make_container(api, "vpages", -1)
    for name in ("a", "b", "c"):
        for i in range(3):
            upload(api, "vpages", name, f"{name}{i}".encode())
    api.object_delete(ACCOUNT, "vpages", "b")  # a delete marker: a fourth version of b
    everything = [(o["name"], o["version"]) for o in versions_of(api, "vpages")]
    assert len(everything) == 10
    pages = pages_of_versions(api, "vpages", limit)
    assert [entry for page in pages for entry in page] == everything
    for page in pages:
        names = [name for name, _version in page]
        # A page holds more than `limit` entries only when they are all one name's.
        assert len(page) <= limit or len(set(names)) == 1, page


def test_versioning_keeps_n(api):
    make_container(api, "v2", 2)
    contents = [b"a", b"bb", b"ccc", b"dddd"]
    metas = [upload(api, "v2", "doc", data) for data in contents]
    rows = versions_of(api, "v2", "doc")
    assert [o["version"] for o in rows] == [metas[3]["version"], metas[2]["version"]]
    assert fetch(api, "v2", "doc", version=metas[2]["version"]) == b"ccc"
    for old in metas[:2]:
        with pytest.raises(NoSuchObject):
            fetch(api, "v2", "doc", version=old["version"])
    assert_stats_match_listing(api, "v2")


def test_delete_marker_hides_then_undelete(api):
    make_container(api, "vm", -1)
    v1 = upload(api, "vm", "doc", b"version one")["version"]
    v2 = upload(api, "vm", "doc", b"version two")["version"]

    marker, marker_version = api.object_delete(ACCOUNT, "vm", "doc")
    assert marker is True
    assert marker_version > v2
    with pytest.raises(NoSuchObject):
        fetch(api, "vm", "doc")
    with pytest.raises(NoSuchObject):
        api.object_get_properties(ACCOUNT, "vm", "doc")
    assert api.object_list(ACCOUNT, "vm")["objects"] == []

    rows = versions_of(api, "vm", "doc")
    assert [(o["version"], o["deleted"]) for o in rows] == [
        (marker_version, True),
        (v2, False),
        (v1, False),
    ]
    # OpenIO's meta2 adds a parameter ("application/x-deleted;swift_versions_deleted=1").
    assert rows[0]["mime_type"].split(";")[0] == "application/x-deleted"
    deleted = api.object_list(ACCOUNT, "vm", deleted=True)["objects"]
    assert [(o["name"], o["version"], o["deleted"]) for o in deleted] == [
        ("doc", marker_version, True)
    ]
    # Older versions stay readable by version.
    assert fetch(api, "vm", "doc", version=v1) == b"version one"
    with pytest.raises(ContainerNotEmpty):
        api.container_delete(ACCOUNT, "vm")
    assert_stats_match_listing(api, "vm")

    # Deleting the marker by version brings the object back.
    assert api.object_delete(ACCOUNT, "vm", "doc", version=marker_version) == (
        True,
        marker_version,
    )
    assert fetch(api, "vm", "doc") == b"version two"
    assert_stats_match_listing(api, "vm")


def test_delete_marker_version_is_previous_plus_one(api):
    """Reference 3.7 and 5.2 #16: a marker's version is the latest version + 1."""
    make_container(api, "vm1", -1)
    latest = upload(api, "vm1", "doc", b"x")["version"]
    _marker, marker_version = api.object_delete(ACCOUNT, "vm1", "doc")
    assert marker_version == latest + 1


def test_delete_specific_version(api):
    make_container(api, "vs", -1)
    v1 = upload(api, "vs", "doc", b"one")["version"]
    v2 = upload(api, "vs", "doc", b"two")["version"]
    v3 = upload(api, "vs", "doc", b"three")["version"]
    # A middle version: only it goes, the latest stays the latest.
    assert api.object_delete(ACCOUNT, "vs", "doc", version=v2) == (False, v2)
    assert [o["version"] for o in versions_of(api, "vs", "doc")] == [v3, v1]
    assert fetch(api, "vs", "doc") == b"three"
    # The latest version: the previous one becomes the latest.
    assert api.object_delete(ACCOUNT, "vs", "doc", version=v3) == (False, v3)
    assert fetch(api, "vs", "doc") == b"one"
    assert versions_of(api, "vs", "doc")[0]["is_latest"] is True
    with pytest.raises(NoSuchObject):
        api.object_delete(ACCOUNT, "vs", "doc", version=v3)
    assert_stats_match_listing(api, "vs")


def test_container_purge_keeps_newest(api, backend):
    make_container(api, "vp", -1)
    for i in range(4):
        upload(api, "vp", "doc", b"doc-%d" % i)
    for i in range(3):
        upload(api, "vp", "other", b"other-%d" % i)
    upload(api, "vp", "single", b"only one")

    api.container_purge(ACCOUNT, "vp", maxvers=2)
    assert [o["size"] for o in versions_of(api, "vp", "doc")] == [5, 5]
    assert [
        fetch(api, "vp", "doc", version=o["version"]) for o in versions_of(api, "vp", "doc")
    ] == [
        b"doc-3",
        b"doc-2",
    ]
    assert len(versions_of(api, "vp", "other")) == 2
    assert len(versions_of(api, "vp", "single")) == 1
    assert_stats_match_listing(api, "vp")

    api.container_purge(ACCOUNT, "vp", maxvers=1)
    assert {o["name"]: fetch(api, "vp", o["name"]) for o in versions_of(api, "vp")} == {
        "doc": b"doc-3",
        "other": b"other-2",
        "single": b"only one",
    }
    assert len(versions_of(api, "vp")) == 3
    assert_stats_match_listing(api, "vp")
    # Purged versions leave no chunk behind.
    located = sum(
        len(api.object_locate(ACCOUNT, "vp", o["name"])[1]) for o in versions_of(api, "vp")
    )
    assert backend.chunk_file_count(api) == located


def test_container_purge_defaults_to_container_policy(api):
    make_container(api, "vpd", -1)
    for i in range(5):
        upload(api, "vpd", "doc", b"%d" % i)
    api.container_set_properties(ACCOUNT, "vpd", system={VERSIONING: "3"})
    api.container_purge(ACCOUNT, "vpd")
    assert [fetch(api, "vpd", "doc", version=o["version"]) for o in versions_of(api, "vpd")] == [
        b"4",
        b"3",
        b"2",
    ]
    assert_stats_match_listing(api, "vpd")


def test_object_purge(api):
    make_container(api, "vo", -1)
    for i in range(4):
        upload(api, "vo", "doc", b"doc-%d" % i)
    for i in range(3):
        upload(api, "vo", "keep", b"keep-%d" % i)
    api.object_purge(ACCOUNT, "vo", "doc", maxvers=2)
    assert [
        fetch(api, "vo", "doc", version=o["version"]) for o in versions_of(api, "vo", "doc")
    ] == [
        b"doc-3",
        b"doc-2",
    ]
    assert len(versions_of(api, "vo", "keep")) == 3
    assert_stats_match_listing(api, "vo")
    with pytest.raises(NoSuchObject):
        api.object_purge(ACCOUNT, "vo", "missing", maxvers=1)
