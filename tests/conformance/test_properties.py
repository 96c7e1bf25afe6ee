"""Properties of accounts, containers and objects: set merges, clear replaces, del removes."""

from __future__ import annotations

import pytest

from oiocli.core.exceptions import NoSuchAccount, NoSuchContainer, NoSuchObject

from .helpers import ACCOUNT


@pytest.mark.openio_differs(
    "OpenIO's account service, with autocreate on (the default), creates a missing account "
    "when its properties are set"
)
def test_account_properties(api):
    assert api.account_create(ACCOUNT) is True
    assert api.account_create(ACCOUNT) is False
    assert api.account_show(ACCOUNT)["metadata"] == {}
    api.account_set_properties(ACCOUNT, {"a": "1", "b": "2"})
    api.account_set_properties(ACCOUNT, {"b": "20", "c": "3"})
    assert api.account_show(ACCOUNT)["metadata"] == {"a": "1", "b": "20", "c": "3"}
    assert api.account_get_properties(ACCOUNT)["properties"] == {"a": "1", "b": "20", "c": "3"}
    api.account_del_properties(ACCOUNT, ["a", "missing"])
    assert api.account_get_properties(ACCOUNT)["properties"] == {"b": "20", "c": "3"}
    api.account_del_properties(ACCOUNT, ["b", "c"])
    assert api.account_show(ACCOUNT)["metadata"] == {}
    with pytest.raises(NoSuchAccount):
        api.account_set_properties("nobody", {"a": "1"})
    with pytest.raises(NoSuchAccount):
        api.account_show("nobody")
    assert "nobody" not in api.account_list()


def test_container_properties(api):
    api.container_create(
        ACCOUNT, "ct", properties={"a": "1"}, system={"sys.m2.policy.version": "-1"}
    )
    assert api.container_show(ACCOUNT, "ct") == {"a": "1"}
    api.container_set_properties(ACCOUNT, "ct", {"b": "2"})
    api.container_set_properties(ACCOUNT, "ct", {"a": "10"})
    assert api.container_show(ACCOUNT, "ct") == {"a": "10", "b": "2"}
    got = api.container_get_properties(ACCOUNT, "ct")
    assert got["properties"] == {"a": "10", "b": "2"}
    assert got["system"]["sys.m2.policy.version"] == "-1"
    assert got["system"]["sys.user.name"] == "ct"
    assert got["system"]["sys.account"] == ACCOUNT

    api.container_set_properties(ACCOUNT, "ct", {"c": "3"}, clear=True)
    assert api.container_show(ACCOUNT, "ct") == {"c": "3"}
    api.container_set_properties(ACCOUNT, "ct", {"d": "4", "e": "5"})
    api.container_del_properties(ACCOUNT, "ct", ["d", "missing"])
    assert api.container_show(ACCOUNT, "ct") == {"c": "3", "e": "5"}
    api.container_del_properties(ACCOUNT, "ct", [])
    assert api.container_show(ACCOUNT, "ct") == {}
    # User properties come and go; system ones stay.
    system = api.container_get_properties(ACCOUNT, "ct")["system"]
    assert system["sys.m2.policy.version"] == "-1"
    assert not any(key.startswith("user.") for key in system)
    with pytest.raises(NoSuchContainer):
        api.container_set_properties(ACCOUNT, "missing", {"a": "1"})
    with pytest.raises(NoSuchContainer):
        api.container_show(ACCOUNT, "missing")


def test_object_properties(api):
    api.container_create(ACCOUNT, "ct", system={"sys.m2.policy.version": "-1"})
    first = api.object_create_ext(
        ACCOUNT, "ct", data=b"one", obj_name="obj", properties={"a": "1"}
    )[3]
    assert first["properties"] == {"a": "1"}
    api.object_set_properties(ACCOUNT, "ct", "obj", {"b": "2"})
    api.object_set_properties(ACCOUNT, "ct", "obj", {"a": "10"})
    assert api.object_get_properties(ACCOUNT, "ct", "obj")["properties"] == {"a": "10", "b": "2"}
    api.object_set_properties(ACCOUNT, "ct", "obj", {"c": "3"}, clear=True)
    assert api.object_get_properties(ACCOUNT, "ct", "obj")["properties"] == {"c": "3"}
    api.object_set_properties(ACCOUNT, "ct", "obj", {"d": "4"})
    api.object_del_properties(ACCOUNT, "ct", "obj", ["c", "missing"])
    assert api.object_get_properties(ACCOUNT, "ct", "obj")["properties"] == {"d": "4"}

    # Per version: a new version starts with its own properties.
    second = api.object_create_ext(
        ACCOUNT, "ct", data=b"two", obj_name="obj", properties={"v": "2"}
    )[3]
    api.object_set_properties(ACCOUNT, "ct", "obj", {"old": "yes"}, version=first["version"])
    assert api.object_get_properties(ACCOUNT, "ct", "obj")["properties"] == {"v": "2"}
    assert api.object_get_properties(ACCOUNT, "ct", "obj", version=first["version"])[
        "properties"
    ] == {"d": "4", "old": "yes"}
    assert second["version"] > first["version"]

    listing = api.object_list(ACCOUNT, "ct", properties=True)["objects"]
    assert [o["properties"] for o in listing] == [{"v": "2"}]
    with pytest.raises(NoSuchObject):
        api.object_set_properties(ACCOUNT, "ct", "missing", {"a": "1"})
    with pytest.raises(NoSuchObject):
        api.object_del_properties(ACCOUNT, "ct", "missing", ["a"])
