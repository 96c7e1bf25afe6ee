"""Issue 2, done-when 4: container snapshots are independent, frozen copies."""

from __future__ import annotations

import os

import pytest

from oiocli.core.exceptions import Conflict, NoSuchContainer, ServiceBusy

from .helpers import ACCOUNT, MiB, eventually_equal, fetch

OBJECTS = {
    "ec": ("EC", 7 * MiB + 123),
    "three": ("THREECOPIES", 2 * MiB + 5),
    "single": ("SINGLE", 1000),
    "dir/empty": ("SINGLE", 0),
}


@pytest.fixture
def source(api):
    api.container_create(ACCOUNT, "src", properties={"color": "blue"})
    contents = {}
    for name, (policy, size) in OBJECTS.items():
        data = os.urandom(size)
        api.object_create(
            ACCOUNT, "src", data=data, obj_name=name, policy=policy, properties={"n": name}
        )
        contents[name] = data
    return contents


def listing(api, container):
    return [
        (o["name"], o["version"], o["size"], o["hash"], o["policy"], o["properties"])
        for o in api.object_list(ACCOUNT, container, properties=True, versions=True)["objects"]
    ]


def test_snapshot_copies_and_survives_source_deletion(api, source):
    before = listing(api, "src")
    api.container_snapshot(ACCOUNT, "src", ACCOUNT, "snap")
    assert listing(api, "snap") == before
    assert api.container_show(ACCOUNT, "snap") == {"color": "blue"}
    for name in source:
        src_urls = {c["url"] for c in api.object_locate(ACCOUNT, "src", name)[1]}
        snap_urls = {c["url"] for c in api.object_locate(ACCOUNT, "snap", name)[1]}
        assert len(snap_urls) == len(src_urls)
        assert not src_urls & snap_urls, "a snapshot has chunks of its own"

    # The source stays writable and its changes do not reach the snapshot.
    api.object_create(ACCOUNT, "src", data=b"after", obj_name="late")
    api.object_create(ACCOUNT, "src", data=b"overwritten", obj_name="single")
    assert "late" not in {row[0] for row in listing(api, "snap")}
    assert fetch(api, "snap", "single") == source["single"]

    # Delete every source object, then the source container itself.
    api.container_flush(ACCOUNT, "src")
    api.container_delete(ACCOUNT, "src")
    for name, data in source.items():
        assert fetch(api, "snap", name) == data
    assert listing(api, "snap") == before


def test_snapshot_stats(api, source):
    api.container_snapshot(ACCOUNT, "src", ACCOUNT, "snap")
    total = sum(len(d) for d in source.values())
    system = api.container_get_properties(ACCOUNT, "snap")["system"]
    assert (int(system["sys.m2.objects"]), int(system["sys.m2.usage"])) == (len(source), total)

    def counters():
        rows = {row[0]: row for row in api.container_list(ACCOUNT)}
        account = api.account_show(ACCOUNT)
        snap = (rows["snap"][1], rows["snap"][2]) if "snap" in rows else None
        return snap, (account["objects"], account["bytes"], account["containers"])

    expected = ((len(source), total), (2 * len(source), 2 * total, 2))
    eventually_equal(counters, expected, api, "container row and account counters")


def test_snapshot_to_another_account(api, source):
    api.container_snapshot(ACCOUNT, "src", "other", "copy")
    for name, data in source.items():
        assert fetch(api, "copy", name, account="other") == data
    eventually_equal(lambda: api.account_show("other")["objects"], len(source), api, "objects")


def test_snapshot_is_frozen(api, source):
    api.container_snapshot(ACCOUNT, "src", ACCOUNT, "snap")
    with pytest.raises(ServiceBusy):
        api.object_create(ACCOUNT, "snap", data=b"new", obj_name="new")
    with pytest.raises(ServiceBusy):
        api.object_create(ACCOUNT, "snap", data=b"new", obj_name="single")
    with pytest.raises(ServiceBusy):
        api.object_delete(ACCOUNT, "snap", "single")
    with pytest.raises(ServiceBusy):
        api.object_set_properties(ACCOUNT, "snap", "single", {"x": "1"})
    with pytest.raises(ServiceBusy):
        api.object_truncate(ACCOUNT, "snap", "ec", size=10)
    with pytest.raises(ServiceBusy):
        api.object_drain(ACCOUNT, "snap", "single")
    with pytest.raises(ServiceBusy):
        api.object_link(ACCOUNT, "src", "single", ACCOUNT, "snap", "linked")
    assert listing(api, "snap") == listing(api, "src")
    assert fetch(api, "snap", "ec") == source["ec"]
    assert api.object_get_properties(ACCOUNT, "snap", "single")["properties"] == {"n": "single"}


def test_snapshot_errors(api, source):
    api.container_create(ACCOUNT, "existing", properties={"keep": "me"})
    api.object_create(ACCOUNT, "existing", data=b"mine", obj_name="single")
    with pytest.raises(Conflict):
        api.container_snapshot(ACCOUNT, "src", ACCOUNT, "existing")
    assert fetch(api, "existing", "single") == b"mine"
    assert api.container_show(ACCOUNT, "existing") == {"keep": "me"}
    assert [o["name"] for o in api.object_list(ACCOUNT, "existing")["objects"]] == ["single"]

    with pytest.raises(NoSuchContainer):
        api.container_snapshot(ACCOUNT, "missing", ACCOUNT, "snap2")
    with pytest.raises(Conflict):
        api.container_snapshot(ACCOUNT, "src", ACCOUNT, "src")
    names = ["existing", "src"]
    eventually_equal(lambda: [row[0] for row in api.container_list(ACCOUNT)], names, api, "ct")


def test_snapshot_keeps_versions_and_markers(api):
    api.container_create(ACCOUNT, "vsrc", system={"sys.m2.policy.version": "-1"})
    for i in range(3):
        api.object_create(ACCOUNT, "vsrc", data=b"v%d" % i, obj_name="doc")
    api.object_create(ACCOUNT, "vsrc", data=b"bye", obj_name="gone")
    api.object_delete(ACCOUNT, "vsrc", "gone")
    rows = [
        (o["name"], o["version"], o["deleted"], o["is_latest"])
        for o in api.object_list(ACCOUNT, "vsrc", versions=True)["objects"]
    ]
    api.container_snapshot(ACCOUNT, "vsrc", ACCOUNT, "vsnap")
    assert [
        (o["name"], o["version"], o["deleted"], o["is_latest"])
        for o in api.object_list(ACCOUNT, "vsnap", versions=True)["objects"]
    ] == rows
    for name, version, deleted, _latest in rows:
        if not deleted:
            assert fetch(api, "vsnap", name, version=version) == fetch(
                api, "vsrc", name, version=version
            )
    system = api.container_get_properties(ACCOUNT, "vsnap")["system"]
    assert system["sys.m2.policy.version"] == "-1"
