"""The four defects a real OpenIO SDS 7.3.0 namespace showed in the proxy backend.

1. object metadata headers were sent URL-quoted: meta2 stored `plain%2Fnb_copy%3D1` as
   the chunk method, the event agent could not parse it, and no chunk of a deleted
   object ever left the rawx;
2. a truncate inside a metachunk was refused (meta2 truncates on boundaries only);
3. an append left the object "Content broken and irreparable" (its metachunks were
   numbered twice: by the client, then by meta2);
4. a link failed: the Go rawx answers 400 to a COPY without the link's full path.
"""

from __future__ import annotations

import os

import pytest

from .helpers import POLICIES, MiB, proxy_get, wait_chunks_gone

SIZE = 7 * MiB + 12_345  # several metachunks of every policy (1 MiB chunks; EC: 6 MiB)


@pytest.fixture(autouse=True)
def containers(api, account):
    """Created beforehand: each test fails for its own defect, not for a missing container."""
    for name in ("ct", "other"):
        api.container_create(account, name)


def fetch(api, account, container, obj, **kwargs) -> bytes:
    _meta, stream = api.object_fetch(account, container, obj, **kwargs)
    return b"".join(stream)


@pytest.mark.parametrize("policy", POLICIES)
def test_content_headers_are_stored_raw(api, account, policy):
    """meta2 keeps the chunk method, policy and MIME type exactly as OpenIO's clients send."""
    api.object_create(
        account, "ct", data=b"x" * 1000, obj_name="obj", policy=policy, mime_type="text/x-a;b=c"
    )
    headers, _chunks = proxy_get("content/locate", acct=account, ref="ct", path="obj")
    got = {k.lower(): v for k, v in headers.items()}
    method = api.object_get_properties(account, "ct", "obj")["chunk_method"]
    assert got["x-oio-content-meta-chunk-method"] == method
    assert "%" not in method and "/" in method
    assert got["x-oio-content-meta-policy"] == policy
    assert got["x-oio-content-meta-mime-type"] == "text/x-a;b=c"


@pytest.mark.parametrize("policy", POLICIES)
def test_deleted_object_chunks_leave_the_rawx(api, account, policy, record_property):
    api.object_create(account, "ct", data=os.urandom(SIZE), obj_name="obj", policy=policy)
    urls = [c["url"] for c in api.object_locate(account, "ct", "obj")[1]]
    api.object_delete(account, "ct", "obj")
    seconds = wait_chunks_gone(urls, f"chunks of a deleted {policy} object")
    record_property("chunks_gone_s", f"deleted {policy} ({len(urls)} chunks): {seconds:.2f}")


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("where", ["inside", "boundary", "zero"])
def test_truncate_anywhere(api, account, policy, where):
    data = os.urandom(SIZE)
    api.object_create(account, "ct", data=data, obj_name="obj", policy=policy)
    meta, chunks = api.object_locate(account, "ct", "obj")
    first = min(int(c["pos"].split(".")[0]) for c in chunks)
    boundary = next(c["size"] for c in chunks if int(c["pos"].split(".")[0]) == first)
    size = {"inside": boundary + 777, "boundary": boundary, "zero": 0}[where]
    api.object_truncate(account, "ct", "obj", size=size)
    after = api.object_get_properties(account, "ct", "obj")
    assert (after["size"], after["version"]) == (size, meta["version"])
    assert fetch(api, account, "ct", "obj") == data[:size]
    if size:
        tail = fetch(api, account, "ct", "obj", ranges=[(size - 10, None)])
        assert tail == data[size - 10 : size]


@pytest.mark.parametrize("policy", POLICIES)
def test_append_reads_back_whole(api, account, policy):
    parts = [os.urandom(n) for n in (MiB + 5, 700_000, 2 * MiB + 1)]
    api.object_create(account, "ct", data=parts[0], obj_name="log", policy=policy)
    for part in parts[1:]:
        api.object_create(account, "ct", data=part, obj_name="log", append=True)
    expected = b"".join(parts)
    assert api.object_get_properties(account, "ct", "log")["size"] == len(expected)
    assert fetch(api, account, "ct", "log") == expected
    junction = len(parts[0])
    assert (
        fetch(api, account, "ct", "log", ranges=[(junction - 3, junction + 3)])
        == (expected[junction - 3 : junction + 4])
    )
    positions = sorted(
        {int(c["pos"].split(".")[0]) for c in api.object_locate(account, "ct", "log")[1]}
    )
    assert positions == list(range(len(positions)))


def test_upload_autocreates_its_container(api, account):
    """The real proxy creates a missing container at the commit (prepare2 does not)."""
    api.object_create(account, "fresh", data=b"data", obj_name="obj")
    assert fetch(api, account, "fresh", "obj") == b"data"


def test_append_to_a_missing_object_in_a_missing_container(api, account):
    api.object_create(account, "new", data=b"first", obj_name="log", append=True)
    api.object_create(account, "new", data=b" second", obj_name="log", append=True)
    assert fetch(api, account, "new", "log") == b"first second"


@pytest.mark.parametrize("policy", POLICIES)
def test_link_shares_data_and_outlives_the_original(api, account, policy):
    data = os.urandom(SIZE)
    api.object_create(account, "ct", data=data, obj_name="orig", policy=policy)
    api.object_link(account, "ct", "orig", account, "other", "link")
    assert fetch(api, account, "other", "link") == data
    orig_urls = [c["url"] for c in api.object_locate(account, "ct", "orig")[1]]
    link_urls = [c["url"] for c in api.object_locate(account, "other", "link")[1]]
    assert not set(orig_urls) & set(link_urls)
    api.object_delete(account, "ct", "orig")
    wait_chunks_gone(orig_urls, f"chunks of the original of a {policy} link")
    assert fetch(api, account, "other", "link") == data
    api.object_delete(account, "other", "link")
    wait_chunks_gone(link_urls, f"chunks of a {policy} link")
