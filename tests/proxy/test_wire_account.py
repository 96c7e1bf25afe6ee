"""The account service of `oio namespace serve`, as OpenIO 7.3.0's (oio/account/server.py).

Requests as oio/account/client.py sends them; the service's address is found
as oio/conscience/client.py finds it (lb/choose?type=account).
"""

from __future__ import annotations

from wire import account_service, proxy, put_object


def test_account_service(served):
    (found,) = proxy(served, "GET", "lb/choose", "type=account&size=1").json()
    assert f"http://{found['addr']}" == served.proxy_url
    resp = account_service(served, "PUT", "create", "id=acc2")
    assert (resp.status, resp.data) == (201, b"acc2")
    assert account_service(served, "PUT", "create", "id=acc2").status == 202
    resp = account_service(
        served, "PUT", "update", "id=acc2", {"metadata": {"k": "v", "x": "1"}, "to_delete": None}
    )
    assert (resp.status, resp.data) == (204, b"")
    resp = account_service(
        served, "PUT", "update", "id=acc2", {"metadata": None, "to_delete": ["x"]}
    )
    assert resp.status == 204
    show = account_service(served, "GET", "show", "id=acc2")
    assert show.status == 200
    body = show.json()
    assert body["id"] == "acc2" and body["metadata"] == {"k": "v"}
    assert (body["bytes"], body["objects"], body["containers"]) == (0, 0, 0)
    assert (body["damaged_objects"], body["missing_chunks"]) == (0, 0)
    assert isinstance(body["ctime"], str) and float(body["ctime"]) > 0
    assert "acc2" in account_service(served, "GET", "list").json()
    put_object(served, "acc2", "c1", "o", b"12345")
    listing = account_service(served, "GET", "containers", "id=acc2&limit=10").json()
    assert [row[:4] for row in listing["listing"]] == [["c1", 1, 5, 0]]
    assert (listing["objects"], listing["bytes"], listing["containers"]) == (1, 5, 1)
    assert account_service(served, "POST", "refresh", "id=acc2").status == 204
    resp = account_service(served, "POST", "delete", "id=acc2")
    assert resp.status == 409  # containers still listed
    assert account_service(served, "POST", "flush", "id=acc2").status == 204
    assert account_service(served, "GET", "show", "id=acc2").json()["objects"] == 0
    proxy(served, "POST", "content/delete", "acct=acc2&ref=c1&path=o")
    proxy(served, "POST", "container/destroy", "acct=acc2&ref=c1")
    assert account_service(served, "POST", "delete", "id=acc2").status == 204
    assert account_service(served, "POST", "delete", "id=acc2").status == 404
    assert account_service(served, "GET", "show", "id=acc2").status == 404
    assert account_service(served, "GET", "show").status == 400  # id missing
    assert account_service(served, "GET", "delete", "id=acc2").status == 405
