"""The chunk-store registry: each chunk URL goes to the store of its prefix."""

from __future__ import annotations

import os
import secrets
import signal
import threading
import time

import pytest

from oiocli.backends.embedded.chunks import LocalChunkStore, chunk_url, prepare_volume
from oiocli.backends.stores import ChunkStores
from oiocli.core.exceptions import BadRequest, ChunkNotFound


@pytest.fixture
def volume(tmp_path):
    path = str(tmp_path / "vol")
    prepare_volume(path)
    return path


def new_url(volume: str) -> str:
    return chunk_url(volume, secrets.token_hex(32).upper())


def test_a_chunk_goes_to_the_store_of_its_prefix_and_back(volume):
    stores = ChunkStores({"file://": LocalChunkStore()})
    url = new_url(volume)
    assert stores.put(url, [b"hello ", b"world"], {"pos": "0"})["size"] == 11
    assert b"".join(stores.get(url)) == b"hello world"
    assert b"".join(stores.get(url, 6, 11)) == b"world"
    assert stores.head(url)["size"] == 11
    assert stores.verify(url)["ok"]
    other = new_url(volume)
    stores.link(url, other)
    assert b"".join(stores.get(other)) == b"hello world"
    stores.delete(url)
    with pytest.raises(ChunkNotFound):
        stores.head(url)


@pytest.mark.parametrize("url", ["b2/bucket/ABCD", "gopher://x/1", "", "FILE:///v/ABCD"])
def test_an_unknown_scheme_is_a_clear_bad_request(url):
    stores = ChunkStores({"file://": LocalChunkStore(), "http://": LocalChunkStore()})
    with pytest.raises(
        BadRequest, match=r"No chunk store for .*known chunk URL prefixes are file://, http://"
    ):
        stores.head(url)
    with pytest.raises(BadRequest):
        stores.for_url(url)


def test_a_factory_is_called_once_and_only_on_first_use(volume):
    calls = []

    def factory() -> LocalChunkStore:
        calls.append(threading.get_ident())
        return LocalChunkStore()

    stores = ChunkStores({"file://": factory, "b2/": lambda: pytest.fail("b2/ never used")})
    assert calls == []  # registering builds nothing
    urls = [new_url(volume) for _ in range(8)]
    start = threading.Barrier(len(urls))

    def write(url: str) -> None:
        start.wait()
        stores.put(url, [b"x"], {"pos": "0"})

    threads = [threading.Thread(target=write, args=(url,)) for url in urls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1
    assert stores.for_url(urls[0]) is stores.for_url(urls[1])
    assert all(stores.head(url)["size"] == 1 for url in urls)
    assert len(calls) == 1


def test_the_longest_prefix_wins_and_a_registration_replaces(volume):
    general, specific = LocalChunkStore(), LocalChunkStore()
    stores = ChunkStores({"file://": general})
    stores.register(f"file://{volume}/", specific)
    assert stores.for_url(new_url(volume)) is specific
    assert stores.for_url("file:///elsewhere/ABCD") is general
    replacement = LocalChunkStore()
    stores.register("file://", replacement)
    assert stores.for_url("file:///elsewhere/ABCD") is replacement
    assert stores.prefixes == [f"file://{volume}/", "file://"]


def test_a_link_across_stores_is_refused(volume):
    stores = ChunkStores({"file://": LocalChunkStore(), "b2/": LocalChunkStore()})
    url = new_url(volume)
    stores.put(url, [b"x"], {"pos": "0"})
    with pytest.raises(BadRequest, match="different stores"):
        stores.link(url, "b2/bucket/" + secrets.token_hex(32))


def test_an_empty_prefix_is_refused():
    with pytest.raises(ValueError):
        ChunkStores({"": LocalChunkStore()})


def test_both_backends_hand_the_data_path_a_registry(tmp_path):
    from oiocli.api import ObjectStorageApi

    api = ObjectStorageApi("OPENIO", data_dir=str(tmp_path / "ns"))
    assert isinstance(api.chunks, ChunkStores)
    assert api.chunks.prefixes == ["file://"]
    with pytest.raises(BadRequest, match="No chunk store"):
        api.chunks.head("http://127.0.0.1:1/" + "A" * 64)


def test_many_concurrent_puts_are_each_durable_and_readable(volume):
    # Every put waits for its own directory fsync, run beside the file's on a
    # shared helper: more writers than helpers must still each get theirs.
    store = LocalChunkStore()
    urls = [new_url(volume) for _ in range(40)]
    errors: list[BaseException] = []

    def put(url: str) -> None:
        try:
            store.put(url, [url.encode()], {"pos": "0"})
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=put, args=(url,)) for url in urls]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    for url in urls:
        assert b"".join(store.get(url)) == url.encode()


def test_a_put_in_a_forked_child_does_not_wait_for_the_parents_helpers(volume):
    store = LocalChunkStore()
    store.put(new_url(volume), [b"parent"], {"pos": "0"})  # the parent's helper exists now
    url = new_url(volume)
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through its exit status
        try:
            store.put(url, [b"child"], {"pos": "0"})
            os._exit(0)
        except BaseException:  # noqa: BLE001
            os._exit(1)
    for _ in range(600):  # a child waiting for a helper thread it does not have hangs
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        time.sleep(0.1)
    else:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        pytest.fail("the put in the forked child never returned")
    assert os.waitstatus_to_exitcode(status) == 0
    assert b"".join(store.get(url)) == b"child"
