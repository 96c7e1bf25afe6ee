"""Containers: delete_many, flush, delete, listings, statistics and the event journal."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oiocli.core.exceptions import ContainerNotEmpty, NoSuchContainer, NoSuchObject

from .helpers import ACCOUNT, eventually, eventually_equal, fetch


def names_of(listing):
    return [o["name"] for o in listing["objects"]]


def test_delete_many(api):
    for name in ("a", "b", "c"):
        api.object_create(ACCOUNT, "ct", data=name.encode() * 10, obj_name=name)
    result = api.object_delete_many(ACCOUNT, "ct", ["a", "missing", "c"])
    assert sorted(result) == [("a", True), ("c", True), ("missing", False)]
    assert names_of(api.object_list(ACCOUNT, "ct")) == ["b"]
    account = api.account_show
    eventually_equal(lambda: account(ACCOUNT)["objects"], 1, api, "account objects")
    eventually_equal(lambda: account(ACCOUNT)["bytes"], 10, api, "account bytes")


def test_container_delete(api):
    with pytest.raises(NoSuchContainer):
        api.container_delete(ACCOUNT, "missing")
    assert api.container_create(ACCOUNT, "ct") is True
    assert api.container_create(ACCOUNT, "ct") is False
    api.object_create(ACCOUNT, "ct", data=b"x", obj_name="obj")
    with pytest.raises(ContainerNotEmpty):
        api.container_delete(ACCOUNT, "ct")
    assert fetch(api, "ct", "obj") == b"x"
    api.object_delete(ACCOUNT, "ct", "obj")
    api.container_delete(ACCOUNT, "ct")
    eventually_equal(lambda: api.container_list(ACCOUNT), [], api, "containers listed")
    with pytest.raises(NoSuchContainer):
        api.object_list(ACCOUNT, "ct")
    eventually_equal(lambda: api.account_show(ACCOUNT)["containers"], 0, api, "containers")


@pytest.mark.openio_differs(
    "OpenIO 7.3.0's meta2 destroys a container holding only delete markers (it checks "
    "the count of objects, which markers are not)"
)
def test_container_delete_refused_while_a_delete_marker_remains(api):
    api.container_create(ACCOUNT, "ct", system={"sys.m2.policy.version": "-1"})
    api.object_create(ACCOUNT, "ct", data=b"x", obj_name="obj")
    version = api.object_list(ACCOUNT, "ct")["objects"][0]["version"]
    _created, marker = api.object_delete(ACCOUNT, "ct", "obj")
    api.object_delete(ACCOUNT, "ct", "obj", version=version)
    remaining = api.object_list(ACCOUNT, "ct", versions=True)["objects"]
    assert [(o["version"], o["deleted"]) for o in remaining] == [(marker, True)]
    with pytest.raises(ContainerNotEmpty):
        api.container_delete(ACCOUNT, "ct")
    api.object_delete(ACCOUNT, "ct", "obj", version=marker)
    api.container_delete(ACCOUNT, "ct")
    eventually_equal(lambda: api.container_list(ACCOUNT), [], api, "containers listed")


def test_container_flush(api, backend):
    api.container_create(ACCOUNT, "ct", system={"sys.m2.policy.version": "-1"})
    for i in range(30):
        api.object_create(ACCOUNT, "ct", data=b"v1-%d" % i, obj_name=f"obj-{i:02d}")
    for i in range(0, 30, 3):
        api.object_create(ACCOUNT, "ct", data=b"v2-%d" % i, obj_name=f"obj-{i:02d}", policy="EC21")
    for i in range(0, 30, 5):
        api.object_delete(ACCOUNT, "ct", f"obj-{i:02d}")
    api.object_create(ACCOUNT, "keep", data=b"kept", obj_name="kept", policy="SINGLE")

    api.container_flush(ACCOUNT, "ct")

    assert api.object_list(ACCOUNT, "ct", versions=True)["objects"] == []
    system = api.container_get_properties(ACCOUNT, "ct")["system"]
    assert (system["sys.m2.objects"], system["sys.m2.usage"]) == ("0", "0")

    def counters():
        rows = {row[0]: row for row in api.container_list(ACCOUNT)}
        account = api.account_show(ACCOUNT)
        return (rows["ct"][1], rows["ct"][2]), (account["objects"], account["bytes"])

    eventually_equal(counters, ((0, 0), (1, 4)), api, "container row and account counters")
    eventually_equal(lambda: backend.chunk_file_count(api), 1, backend, "chunk files")
    assert fetch(api, "keep", "kept") == b"kept"
    api.container_delete(ACCOUNT, "ct")
    # Flushing an empty container is fine; a missing one is not.
    api.container_flush(ACCOUNT, "keep")
    api.container_flush(ACCOUNT, "keep")
    with pytest.raises(NoSuchContainer):
        api.container_flush(ACCOUNT, "missing")


# ------------------------------------------------------------------ listings
def test_listing_with_delimiter_reference_scenario(api):
    """Reference 5.2 #15: objects 1/a 1/b 2/c a."""
    for name in ("1/a", "1/b", "2/c", "a"):
        api.object_create(ACCOUNT, "ct", data=b"x", obj_name=name)
    listing = api.object_list(ACCOUNT, "ct", delimiter="/")
    assert names_of(listing) == ["a"]
    assert listing["prefixes"] == ["1/", "2/"]
    assert listing["truncated"] is False

    page = api.object_list(ACCOUNT, "ct", delimiter="/", limit=1)
    assert (names_of(page), page["prefixes"], page["truncated"]) == ([], ["1/"], True)
    page2 = api.object_list(ACCOUNT, "ct", delimiter="/", limit=1, marker=page["next_marker"])
    assert (names_of(page2), page2["prefixes"], page2["truncated"]) == ([], ["2/"], True)
    page3 = api.object_list(ACCOUNT, "ct", delimiter="/", limit=1, marker=page2["next_marker"])
    assert (names_of(page3), page3["prefixes"]) == (["a"], [])
    assert page3["truncated"] is False

    sub = api.object_list(ACCOUNT, "ct", prefix="1/", delimiter="/")
    assert (names_of(sub), sub["prefixes"]) == (["1/a", "1/b"], [])


def test_listing_limit_marker_end_marker_prefix(api):
    names = [f"obj-{i:03d}" for i in range(25)] + ["other"]
    for name in names:
        api.object_create(ACCOUNT, "ct", data=b"x", obj_name=name)
    listing = api.object_list(ACCOUNT, "ct")
    assert names_of(listing) == sorted(names)
    assert (listing["truncated"], listing["next_marker"]) == (False, None)

    page = api.object_list(ACCOUNT, "ct", limit=10)
    assert names_of(page) == sorted(names)[:10]
    assert page["truncated"] is True
    assert page["next_marker"] == "obj-009"
    assert names_of(api.object_list(ACCOUNT, "ct", marker="obj-009", limit=3)) == [
        "obj-010",
        "obj-011",
        "obj-012",
    ]
    assert names_of(api.object_list(ACCOUNT, "ct", marker="obj-020", end_marker="obj-023")) == [
        "obj-021",
        "obj-022",
    ]
    assert names_of(api.object_list(ACCOUNT, "ct", prefix="obj-01")) == [
        f"obj-01{i}" for i in range(10)
    ]
    assert names_of(api.object_list(ACCOUNT, "ct", prefix="oth")) == ["other"]
    assert names_of(api.object_list(ACCOUNT, "ct", prefix="nothing")) == []
    # Pagination visits every name once.
    seen, marker = [], None
    while True:
        page = api.object_list(ACCOUNT, "ct", limit=7, marker=marker)
        seen += names_of(page)
        if not page["truncated"]:
            break
        marker = page["next_marker"]
    assert seen == sorted(names)


def test_container_listing(api):
    for name in ("a", "b/1", "b/2", "c"):
        api.container_create(ACCOUNT, name)
    names = ["a", "b/1", "b/2", "c"]
    eventually_equal(lambda: [r[0] for r in api.container_list(ACCOUNT)], names, api, "listed")
    rows = api.container_list(ACCOUNT)
    assert all(r[1:4] == [0, 0, 0] for r in rows)
    assert [r[0] for r in api.container_list(ACCOUNT, limit=2)] == ["a", "b/1"]
    assert [r[0] for r in api.container_list(ACCOUNT, marker="b/1")] == ["b/2", "c"]
    assert [r[0] for r in api.container_list(ACCOUNT, end_marker="b/2")] == ["a", "b/1"]
    assert [r[0] for r in api.container_list(ACCOUNT, prefix="b/")] == ["b/1", "b/2"]
    rows = api.container_list(ACCOUNT, delimiter="/")
    assert [(r[0], r[3]) for r in rows] == [("a", 0), ("b/", 1), ("c", 0)]


LISTED_NAMES = sorted(
    {
        "a",
        "a/",
        "a/b",
        "a/b/c",
        "a/c",
        "a//d",
        "ab",
        "ab/c",
        "b",
        "b/a",
        "b/b",
        "ba",
        "c/a/a",
        "c/b",
        "é/x",
        "é",
        "z",
        "zz/",
    }
)


def model_listing(names, prefix, marker, end_marker, delimiter):
    """Expected (objects, prefixes) in order, without a limit."""
    entries = []
    for name in sorted(names):
        if prefix and not name.startswith(prefix):
            continue
        if marker and name <= marker:
            continue
        if end_marker and name >= end_marker:
            continue
        if delimiter:
            cut = name.find(delimiter, len(prefix or ""))
            if cut >= 0:
                common = name[: cut + len(delimiter)]
                if marker and marker.startswith(common):
                    continue
                if entries and entries[-1] == ("prefix", common):
                    continue
                entries.append(("prefix", common))
                continue
        entries.append(("object", name))
    return entries


@pytest.fixture(scope="module")
def listing_api(module_backend):
    api = module_backend.new_api()
    for name in LISTED_NAMES:
        api.object_create(ACCOUNT, "ct", data=b"x", obj_name=name)
    return api


fragments = st.sampled_from(["", "a", "a/", "a/b", "ab", "b", "b/", "c/", "é", "z", "zz", "/"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    prefix=st.one_of(st.none(), fragments),
    marker=st.one_of(st.none(), fragments, st.sampled_from(LISTED_NAMES)),
    end_marker=st.one_of(st.none(), fragments, st.sampled_from(LISTED_NAMES)),
    delimiter=st.sampled_from([None, "/", "b"]),
    limit=st.integers(1, 6),
)
def test_listing_pages_match_a_model(listing_api, prefix, marker, end_marker, delimiter, limit):
    expected = model_listing(LISTED_NAMES, prefix, marker, end_marker, delimiter)
    args = {"prefix": prefix, "end_marker": end_marker, "delimiter": delimiter}

    whole = listing_api.object_list(ACCOUNT, "ct", marker=marker, **args)
    assert names_of(whole) == [n for kind, n in expected if kind == "object"]
    assert whole["prefixes"] == [n for kind, n in expected if kind == "prefix"]
    assert whole["truncated"] is False

    got, page_marker, pages = [], marker, 0
    while True:
        page = listing_api.object_list(ACCOUNT, "ct", marker=page_marker, limit=limit, **args)
        entries = [("object", n) for n in names_of(page)] + [
            ("prefix", p) for p in page["prefixes"]
        ]
        assert len(entries) <= limit
        got += sorted(entries, key=lambda e: e[1])
        pages += 1
        assert pages <= len(LISTED_NAMES) + 1, "pagination does not end"
        if not page["truncated"]:
            assert page["next_marker"] is None
            break
        assert len(entries) == limit
        page_marker = page["next_marker"]
    assert got == expected


@pytest.fixture(scope="module")
def container_listing_api(module_backend):
    api = module_backend.new_api()
    for name in LISTED_NAMES:
        api.container_create(ACCOUNT, name)
    eventually_equal(
        lambda: [r[0] for r in api.container_list(ACCOUNT)], LISTED_NAMES, api, "listed"
    )
    return api


def test_container_listing_pages_with_delimiter(container_listing_api):
    """Paging with the last row as marker never repeats a prefix row (reference 5.2 #15)."""
    api = container_listing_api
    first = api.container_list(ACCOUNT, delimiter="/", limit=2)
    assert [(r[0], r[3]) for r in first] == [("a", 0), ("a/", 1)]
    second = api.container_list(ACCOUNT, delimiter="/", limit=2, marker="a/")
    assert [r[0] for r in second] == ["ab", "ab/"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    prefix=st.one_of(st.none(), fragments),
    end_marker=st.one_of(st.none(), fragments, st.sampled_from(LISTED_NAMES)),
    delimiter=st.sampled_from([None, "/", "b"]),
    limit=st.integers(1, 6),
)
def test_container_listing_pages_match_a_model(
    container_listing_api, prefix, end_marker, delimiter, limit
):
    api = container_listing_api
    expected = [n for _kind, n in model_listing(LISTED_NAMES, prefix, None, end_marker, delimiter)]
    args = {"prefix": prefix, "end_marker": end_marker, "delimiter": delimiter}
    assert [r[0] for r in api.container_list(ACCOUNT, **args)] == expected
    got, marker = [], None
    for _page in range(len(LISTED_NAMES) + 1):
        rows = api.container_list(ACCOUNT, limit=limit, marker=marker, **args)
        assert len(rows) <= limit
        got += [r[0] for r in rows]
        if len(rows) < limit:
            break
        marker = rows[-1][0]
    assert got == expected


# ---------------------------------------------------------------- statistics
def test_account_stats_exact(api):
    def expect(objects, nbytes, containers):
        eventually(lambda: check(objects, nbytes, containers), api, "account statistics")

    def check(objects, nbytes, containers):
        account = api.account_show(ACCOUNT)
        assert (account["objects"], account["bytes"], account["containers"]) == (
            objects,
            nbytes,
            containers,
        )
        rows = api.container_list(ACCOUNT)
        assert sum(r[1] for r in rows) == objects
        assert sum(r[2] for r in rows) == nbytes
        for name, count, size, _is_prefix, _mtime in rows:
            system = api.container_get_properties(ACCOUNT, name)["system"]
            assert (int(system["sys.m2.objects"]), int(system["sys.m2.usage"])) == (count, size)

    api.account_create(ACCOUNT)
    expect(0, 0, 0)
    api.container_create(ACCOUNT, "one")
    api.container_create(ACCOUNT, "two")
    expect(0, 0, 2)
    api.object_create(ACCOUNT, "one", data=b"x" * 100, obj_name="a")
    api.object_create(ACCOUNT, "one", data=b"x" * 50, obj_name="b", policy="EC21")
    api.object_create(ACCOUNT, "two", data=b"x" * 7, obj_name="c", policy="THREECOPIES")
    expect(3, 157, 2)
    api.object_create(ACCOUNT, "one", data=b"x" * 10, obj_name="a")  # replaces 100 bytes
    expect(3, 67, 2)
    api.object_create(ACCOUNT, "three", data=b"x" * 1000, obj_name="d")  # autocreate
    expect(4, 1067, 3)
    api.object_truncate(ACCOUNT, "three", "d", size=600)
    expect(4, 667, 3)
    api.object_create(ACCOUNT, "three", data=b"x" * 5, obj_name="d", append=True)
    expect(4, 672, 3)
    api.object_delete(ACCOUNT, "one", "b")
    expect(3, 622, 3)
    api.object_delete_many(ACCOUNT, "three", ["d", "missing"])
    expect(2, 17, 3)
    api.container_delete(ACCOUNT, "three")
    expect(2, 17, 2)
    api.object_link(ACCOUNT, "two", "c", ACCOUNT, "one", "c-link")
    expect(3, 24, 2)
    api.container_flush(ACCOUNT, "one")
    expect(1, 7, 2)
    # refresh and touch recompute the same figures.
    api.container_refresh(ACCOUNT, "two")
    api.container_touch(ACCOUNT, "one")
    api.account_refresh(ACCOUNT)
    expect(1, 7, 2)


# -------------------------------------------------------------------- events
@pytest.mark.requires("event-journal")
def test_events_record_mutations(api):
    def new_events(before):
        return api.event_list()[len(before) :]

    def assert_recorded(before, reqid, *words):
        events = new_events(before)
        assert events, f"no event for {reqid}"
        assert {e["request_id"] for e in events} == {reqid}
        text = " ".join(f"{e['type']} {e['url']} {e['data']}" for e in events)
        for word in words:
            assert word in text, (word, events)
        return events

    before = api.event_list()
    api.container_create(ACCOUNT, "evct", reqid="req-create-ct")
    assert_recorded(before, "req-create-ct", "container", ACCOUNT, "evct")

    before = api.event_list()
    api.object_create(ACCOUNT, "evct", data=b"payload", obj_name="doc", reqid="req-put")
    events = assert_recorded(before, "req-put", "content", "evct", "doc")

    before = api.event_list()
    fetch(api, "evct", "doc")
    api.object_list(ACCOUNT, "evct")
    api.object_get_properties(ACCOUNT, "evct", "doc")
    api.account_show(ACCOUNT)
    assert new_events(before) == [], "reads record nothing"

    before = api.event_list()
    api.object_touch(ACCOUNT, "evct", "doc", reqid="req-touch")
    touched = assert_recorded(before, "req-touch", "evct", "doc")
    assert [e["type"] for e in touched] == [e["type"] for e in events]

    steps = [
        (
            "req-props",
            lambda: api.object_set_properties(
                ACCOUNT, "evct", "doc", {"a": "1"}, reqid="req-props"
            ),
        ),
        (
            "req-ctprops",
            lambda: api.container_set_properties(ACCOUNT, "evct", {"a": "1"}, reqid="req-ctprops"),
        ),
        (
            "req-acprops",
            lambda: api.account_set_properties(ACCOUNT, {"a": "1"}, reqid="req-acprops"),
        ),
        (
            "req-trunc",
            lambda: api.object_truncate(ACCOUNT, "evct", "doc", size=3, reqid="req-trunc"),
        ),
        ("req-drain", lambda: api.object_drain(ACCOUNT, "evct", "doc", reqid="req-drain")),
        ("req-del", lambda: api.object_delete(ACCOUNT, "evct", "doc", reqid="req-del")),
        ("req-del-ct", lambda: api.container_delete(ACCOUNT, "evct", reqid="req-del-ct")),
    ]
    for reqid, step in steps:
        before = api.event_list()
        step()
        assert_recorded(before, reqid)
    ids = [e["id"] for e in api.event_list()]
    assert ids == sorted(set(ids))
    assert len(api.event_list(limit=2)) == 2


def test_missing_things(api):
    with pytest.raises(NoSuchContainer):
        api.object_list(ACCOUNT, "missing")
    with pytest.raises(NoSuchContainer):
        fetch(api, "missing", "obj")
    api.container_create(ACCOUNT, "ct")
    with pytest.raises(NoSuchObject):
        fetch(api, "ct", "missing")
    with pytest.raises(NoSuchObject):
        api.object_delete(ACCOUNT, "ct", "missing")
    assert api.object_head(ACCOUNT, "ct", "missing") is False
    api.object_create(ACCOUNT, "ct", data=b"x", obj_name="there")
    assert api.object_head(ACCOUNT, "ct", "there") is True
