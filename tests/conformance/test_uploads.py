"""Upload sources, tiny objects, and failed uploads that must leave nothing behind."""

from __future__ import annotations

import contextlib
import io
import os

import pytest

from oiocli.core.exceptions import (
    AccountNotEmpty,
    EtagMismatch,
    FileNotFound,
    MissingData,
    MissingName,
    NoSuchAccount,
    NoSuchContainer,
    UnknownPolicy,
)

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
)


@pytest.mark.parametrize("policy", sorted(POLICIES))
@pytest.mark.parametrize("size", [0, 1])
def test_tiny_objects_with_every_policy(api, policy, size):
    data = os.urandom(size)
    _chunks, got_size, hsh = api.object_create(
        ACCOUNT, "ct", data=data, obj_name="tiny", policy=policy
    )
    assert (got_size, hsh) == (size, md5hex(data))
    _meta, chunks = api.object_locate(ACCOUNT, "ct", "tiny")
    groups = by_metachunk(chunks)
    # Even an empty object has one metachunk at position 0.
    assert sorted(groups) == [0]
    assert len(groups[0]) == chunks_per_metachunk(policy)
    assert {c["size"] for c in groups[0]} == {size}
    assert fetch(api, "ct", "tiny") == data


def test_upload_sources(api, tmp_path):
    data = os.urandom(MiB + 333)
    path = tmp_path / "file.bin"
    path.write_bytes(data)
    pieces = [data[i : i + 1000] for i in range(0, len(data), 1000)]
    sources = {
        "path": {"file_or_path": str(path)},
        "file-object": {"file_or_path": io.BytesIO(data)},
        "bytes": {"data": data},
        "generator": {"data": (piece for piece in pieces)},
        "list": {"data": pieces},
    }
    for name, kwargs in sources.items():
        _chunks, size, hsh = api.object_create(ACCOUNT, "ct", obj_name=name, **kwargs)
        assert (size, hsh) == (len(data), md5hex(data)), name
        assert fetch(api, "ct", name) == data, name
    # A path names the object after its basename.
    api.object_create(ACCOUNT, "ct", str(path))
    assert fetch(api, "ct", "file.bin") == data
    api.object_create(ACCOUNT, "ct", data=b"text", obj_name="typed", mime_type="text/plain")
    assert api.object_get_properties(ACCOUNT, "ct", "typed")["mime_type"] == "text/plain"
    assert api.object_get_properties(ACCOUNT, "ct", "bytes")["mime_type"] == (
        "application/octet-stream"
    )


def test_upload_argument_errors_create_nothing(api):
    api.container_create(ACCOUNT, "ct")
    with pytest.raises(MissingData):
        api.object_create(ACCOUNT, "ct", obj_name="nothing")
    with pytest.raises(MissingName):
        api.object_create(ACCOUNT, "ct", data=b"no name")
    with pytest.raises(UnknownPolicy):
        api.object_create(ACCOUNT, "ct", data=b"x", obj_name="obj", policy="NOPE")
    with pytest.raises(NoSuchContainer):
        api.object_create(ACCOUNT, "new", data=b"x", obj_name="obj", autocreate=False)
    assert api.object_list(ACCOUNT, "ct")["objects"] == []
    assert [r[0] for r in api.container_list(ACCOUNT)] == ["ct"]


@pytest.mark.parametrize(
    "bad",
    ["missing-file", "unknown-policy", "unsupported-data"],
)
def test_refused_upload_autocreates_nothing(api, tmp_path, bad):
    kwargs = {
        "missing-file": {"file_or_path": str(tmp_path / "does-not-exist")},
        "unknown-policy": {"data": b"x", "obj_name": "obj", "policy": "NOPE"},
        "unsupported-data": {"data": object(), "obj_name": "obj"},
    }[bad]
    api.container_create(ACCOUNT, "existing")
    with pytest.raises((FileNotFound, UnknownPolicy, MissingData)):
        api.object_create(ACCOUNT, "new-container", **kwargs)
    with pytest.raises((FileNotFound, UnknownPolicy, MissingData)):
        api.object_create("new-account", "new-container", **kwargs)
    # (On a cluster, once what was created is listed, nothing else will be.)
    eventually_equal(api.account_list, [ACCOUNT], api, "accounts")
    eventually_equal(lambda: [r[0] for r in api.container_list(ACCOUNT)], ["existing"], api, "ct")


@pytest.mark.parametrize("policy", ["THREECOPIES", "EC"])
def test_etag_mismatch_leaves_nothing(api, backend, policy):
    api.object_create(ACCOUNT, "ct", data=b"old", obj_name="obj", policy="SINGLE")
    data = os.urandom(3 * MiB)
    with pytest.raises(EtagMismatch):
        api.object_create(
            ACCOUNT, "ct", data=data, obj_name="obj", policy=policy, etag=md5hex(b"other")
        )
    assert fetch(api, "ct", "obj") == b"old"
    assert backend.chunk_file_count(api) == 1
    api.object_create(ACCOUNT, "ct", data=data, obj_name="obj", policy=policy, etag=md5hex(data))
    assert fetch(api, "ct", "obj") == data


class SourceFailed(Exception):
    pass


@pytest.mark.parametrize("policy", ["SINGLE", "THREECOPIES", "EC"])
def test_interrupted_upload_leaves_nothing(api, backend, policy):
    api.object_create(ACCOUNT, "ct", data=b"old", obj_name="obj", policy="SINGLE")

    def failing():
        for _ in range(3):
            yield os.urandom(MiB)
        raise SourceFailed("the source broke")

    with pytest.raises(SourceFailed):
        api.object_create(ACCOUNT, "ct", data=failing(), obj_name="obj", policy=policy)
    with pytest.raises(SourceFailed):
        api.object_create(ACCOUNT, "ct", data=failing(), obj_name="new", policy=policy)
    assert [o["name"] for o in api.object_list(ACCOUNT, "ct", versions=True)["objects"]] == ["obj"]
    assert fetch(api, "ct", "obj") == b"old"
    assert backend.chunk_file_count(api) == 1

    def account():
        return api.account_show(ACCOUNT)["objects"], api.account_show(ACCOUNT)["bytes"]

    eventually_equal(account, (1, 3), api, "account counters")


def test_account_delete(api):
    with pytest.raises(NoSuchAccount):
        api.account_delete("nobody")
    api.container_create(ACCOUNT, "ct")
    eventually_equal(lambda: api.account_show(ACCOUNT)["containers"], 1, api, "containers")
    with pytest.raises(AccountNotEmpty):
        api.account_delete(ACCOUNT)
    api.container_delete(ACCOUNT, "ct")
    eventually_equal(lambda: api.account_show(ACCOUNT)["containers"], 0, api, "containers")
    api.account_delete(ACCOUNT)

    def gone():
        # On a cluster, a container event still in the queue may bring the account back
        # (the account service creates accounts on demand): it is deleted again.
        with contextlib.suppress(NoSuchAccount):
            if ACCOUNT in api.account_list():
                api.account_delete(ACCOUNT)
        assert ACCOUNT not in api.account_list()
        try:
            api.account_show(ACCOUNT)
        except NoSuchAccount:
            return
        raise AssertionError(f"account {ACCOUNT!r} still shown")

    eventually(gone, api, "the deleted account")


def test_mime_type_is_kept_as_given(api):
    mime = "application/x-test; charset=utf-8"
    api.object_create(ACCOUNT, "ct", data=b"x", obj_name="obj", mime_type=mime)
    assert api.object_get_properties(ACCOUNT, "ct", "obj")["mime_type"] == mime


@pytest.mark.openio_differs(
    "OpenIO's proxy answers the MIME type raw and its clients, ours too, unquote every "
    "x-oio-content-meta-* value: a %-escape in a MIME type comes back decoded",
    wire=True,
)
def test_mime_type_with_a_percent_is_kept_as_given(api):
    """Sent raw to a proxy, as OpenIO's clients send it: a `%` in it is no escape."""
    mime = "text/x-a%20b"
    api.object_create(ACCOUNT, "ct", data=b"x", obj_name="obj", mime_type=mime)
    assert api.object_get_properties(ACCOUNT, "ct", "obj")["mime_type"] == mime
