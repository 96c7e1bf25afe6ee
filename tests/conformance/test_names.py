"""Name validation: OpenIO 4.x limits, valid UTF-8, no NUL; bad names create nothing."""

from __future__ import annotations

import pytest

from oiocli.core.exceptions import InvalidName

from .helpers import ACCOUNT, eventually_equal, fetch

LIMITS = {"account": 63, "container": 1023, "object": 1023}


def bad_names(kind: str) -> dict[str, object]:
    limit = LIMITS[kind]
    return {
        "empty": "",
        "nul": "a\0b",
        "nul-only": "\0",
        "invalid-utf8-bytes": b"caf\xe9",
        "lone-surrogate": "x\udcff",
        "too-long": "n" * (limit + 1),
        "too-long-multibyte": "é" * (limit // 2 + 1),  # 2 bytes each: limit + 1 or + 2 bytes
    }


def max_name(kind: str, multibyte: bool = False) -> str:
    limit = LIMITS[kind]
    if multibyte:
        return "é" * (limit // 2) + "x" * (limit % 2)
    return "n" * limit


def state(api):
    accounts = api.account_list()
    containers = {a: [r[0] for r in api.container_list(a)] for a in accounts}
    objects = {
        (a, c): [o["name"] for o in api.object_list(a, c, versions=True)["objects"]]
        for a, names in containers.items()
        for c in names
    }
    return accounts, containers, objects


def settled_state(api):
    """`state` once the object just created is listed (a cluster lists accounts later)."""
    expected = ([ACCOUNT], {ACCOUNT: ["ct"]}, {(ACCOUNT, "ct"): ["obj"]})
    eventually_equal(lambda: state(api), expected, api, "accounts, containers, objects")
    return expected


@pytest.mark.parametrize("bad", sorted(bad_names("account")))
def test_bad_account_names(api, bad):
    name = bad_names("account")[bad]
    api.object_create(ACCOUNT, "ct", data=b"x", obj_name="obj")
    before = settled_state(api)
    calls = [
        lambda: api.account_create(name),
        lambda: api.container_create(name, "ct"),
        lambda: api.object_create(name, "ct", data=b"x", obj_name="obj"),
        lambda: api.container_snapshot(ACCOUNT, "ct", name, "snap"),
        lambda: api.object_link(ACCOUNT, "ct", "obj", name, "ct", "obj"),
        lambda: api.account_set_properties(name, {"a": "1"}),
    ]
    for call in calls:
        with pytest.raises(InvalidName):
            call()
    assert state(api) == before


@pytest.mark.parametrize("bad", sorted(bad_names("container")))
def test_bad_container_names(api, bad):
    name = bad_names("container")[bad]
    api.object_create(ACCOUNT, "ct", data=b"x", obj_name="obj")
    before = settled_state(api)
    calls = [
        lambda: api.container_create(ACCOUNT, name),
        lambda: api.container_create_many(ACCOUNT, ["fine", name]),
        lambda: api.object_create(ACCOUNT, name, data=b"x", obj_name="obj"),
        lambda: api.container_snapshot(ACCOUNT, "ct", ACCOUNT, name),
        lambda: api.object_link(ACCOUNT, "ct", "obj", ACCOUNT, name, "obj"),
        lambda: api.object_list(ACCOUNT, name),
    ]
    for call in calls:
        with pytest.raises(InvalidName):
            call()
    assert state(api) == before


@pytest.mark.parametrize("bad", sorted(bad_names("object")))
def test_bad_object_names(api, bad):
    name = bad_names("object")[bad]
    api.object_create(ACCOUNT, "ct", data=b"x", obj_name="obj")
    before = settled_state(api)
    calls = [
        lambda: api.object_create(ACCOUNT, "ct", data=b"x", obj_name=name),
        lambda: api.object_create(ACCOUNT, "new-ct", data=b"x", obj_name=name),
        lambda: api.object_link(ACCOUNT, "ct", "obj", ACCOUNT, "ct", name),
        lambda: fetch(api, "ct", name),
        lambda: api.object_delete(ACCOUNT, "ct", name),
    ]
    for call in calls:
        with pytest.raises(InvalidName):
            call()
    assert state(api) == before


@pytest.mark.requires("whole-account-names")  # a shared cluster prefixes the accounts
@pytest.mark.parametrize("multibyte", [False, True], ids=["ascii", "multibyte"])
def test_longest_names_work(api, multibyte):
    account = max_name("account", multibyte)
    container = max_name("container", multibyte)
    obj = max_name("object", multibyte)
    assert len(account.encode()) == 63
    assert len(container.encode()) == len(obj.encode()) == 1023
    api.object_create(account, container, data=b"payload", obj_name=obj, properties={"k": "v"})
    assert account in api.account_list()
    assert [r[0] for r in api.container_list(account)] == [container]
    assert [o["name"] for o in api.object_list(account, container)["objects"]] == [obj]
    assert fetch(api, container, obj, account=account) == b"payload"
    api.object_link(account, container, obj, account, container, obj[:-1] + "2")
    api.container_snapshot(account, container, account, container[:-1] + "s")
    assert fetch(api, container[:-1] + "s", obj, account=account) == b"payload"
    api.object_delete(account, container, obj)
    assert [o["name"] for o in api.object_list(account, container)["objects"]] == [obj[:-1] + "2"]


def test_names_with_path_characters_stay_inside(api):
    """Slashes, dots and odd characters are only names: they round-trip and list as given."""
    names = ["../../escape", "/abs/path", "a/../b", ".", "..", "x\ny", "tab\there", "%2F", "é😀"]
    for i, name in enumerate(names):
        api.object_create(ACCOUNT, name, data=b"%d" % i, obj_name=name)
    listed = sorted(names)
    eventually_equal(lambda: sorted(r[0] for r in api.container_list(ACCOUNT)), listed, api, "ct")
    for i, name in enumerate(names):
        assert [o["name"] for o in api.object_list(ACCOUNT, name)["objects"]] == [name]
        assert fetch(api, name, name) == b"%d" % i
