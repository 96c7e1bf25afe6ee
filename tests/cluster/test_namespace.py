"""The namespace's settings as the cluster's conscience tells them."""

from __future__ import annotations

from .helpers import proxy_get


def test_settings_are_the_conscience_ones(api):
    _headers, info = proxy_get("conscience/info")
    shown = api.namespace_show()
    assert shown["chunk_size"] == int(info["chunksize"])
    assert shown["storage_policy"] == info["options"]["storage_policy"]
    assert set(shown["policies"]) == set(info["storage_policy"])
    assert shown["policies"]["EC21"].startswith("ec/k=2,m=1,")


def test_an_object_without_policy_gets_the_namespace_default(api, account):
    _headers, info = proxy_get("conscience/info")
    api.object_create(account, "ct", data=b"x" * 10, obj_name="obj")
    default = info["options"]["storage_policy"]
    assert api.object_get_properties(account, "ct", "obj")["policy"] == default
