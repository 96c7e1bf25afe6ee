"""Regression tests of data lost to races and to the namespace's own files.

Each drives one interleaving on purpose: the second operation runs (as a real
`oio` process) from the first one's progress callback, after the first has
prepared its upload and written its chunks but before it commits.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import resource
import shutil
import signal
import sqlite3

import pytest

from oiocli.core.exceptions import BadRange, BadRequest, NoSuchContainer, OioException

from .helpers import ACCOUNT, NAMESPACE, Namespace, flip_bytes, read_all


def _between(action):
    """A progress callback that runs `action` once, when the upload has written data."""
    done = []

    def progress(_n: int) -> None:
        if not done:
            done.append(True)
            action()

    return progress


def _orphans(ns: Namespace) -> list:
    api = ns.api()
    return [r for v in ns.volumes for r in api.volume_check(v, orphans=True, min_age=0)]


# -- a container deleted under an upload ------------------------------------------------


def test_upload_into_a_container_deleted_meanwhile_fails_cleanly(ns):
    """Both exited 0 and the object was gone: the commit went to the unlinked database."""
    api = ns.api()
    api.container_create(ACCOUNT, "kd")
    data = os.urandom(150_000)

    def delete():
        ns.ok("container", "delete", "kd")

    with pytest.raises(NoSuchContainer):
        api.object_create(ACCOUNT, "kd", data=data, obj_name="o", progress=_between(delete))
    ns.fails(3, "object", "list", "kd")
    assert "kd" not in [c[0] for c in ns.api().container_list(ACCOUNT)]
    assert _orphans(ns) == []  # the upload's chunks were deleted
    assert ns.run("namespace", "check").returncode == 0


def test_upload_into_a_container_deleted_and_made_again_lands_in_the_new_one(ns):
    api = ns.api()
    api.container_create(ACCOUNT, "kd")
    data = os.urandom(100_000)

    def delete_and_recreate():
        ns.ok("container", "delete", "kd")
        ns.ok("object", "create", "kd", "-", "--name", "other", input=b"other")

    api.object_create(
        ACCOUNT, "kd", data=data, obj_name="o", progress=_between(delete_and_recreate)
    )
    fresh = ns.api()
    assert {o["name"] for o in fresh.object_list(ACCOUNT, "kd")["objects"]} == {"o", "other"}
    assert read_all(fresh, "kd", "o") == data
    assert _orphans(ns) == []
    assert ns.run("namespace", "check").returncode == 0


def test_a_process_holding_an_old_container_handle_never_writes_into_it(ns):
    """A long-lived process (a server) keeps a handle; another one deletes and remakes it."""
    holder = ns.api()
    holder.object_create(ACCOUNT, "c", data=b"first", obj_name="first")
    holder.object_delete(ACCOUNT, "c", "first")
    ns.ok("container", "delete", "c")
    ns.ok("object", "create", "c", "-", "--name", "theirs", input=b"theirs")
    holder.object_create(ACCOUNT, "c", data=b"mine", obj_name="mine")
    fresh = ns.api()
    assert {o["name"] for o in fresh.object_list(ACCOUNT, "c")["objects"]} == {"theirs", "mine"}
    assert {o["name"] for o in holder.object_list(ACCOUNT, "c")["objects"]} == {"theirs", "mine"}
    assert ns.run("namespace", "check").returncode == 0


def test_a_delete_sees_an_object_committed_just_before(ns):
    api = ns.api()
    api.container_create(ACCOUNT, "kd")

    def create():
        ns.ok("object", "create", "kd", "-", "--name", "first", input=b"x" * 1000)

    api.object_create(ACCOUNT, "kd", data=b"y" * 70_000, obj_name="o", progress=_between(create))
    ns.fails(1, "container", "delete", "kd")
    assert len(ns.json("object", "list", "kd")) == 2


@pytest.mark.parametrize("finisher", ["delete", "create", "repair"])
def test_a_deletion_a_crash_interrupted_is_finished(ns, finisher):
    """Killed between its two steps: marked deleted, still listed. Writes are refused."""
    from oiocli.backends.embedded.meta import DELETED_PROP

    ns.ok("container", "create", "kd")
    path = ns.api().container_locate(ACCOUNT, "kd")["path"]
    with sqlite3.connect(path) as conn:  # what step 1 commits (an old mark: no one is at it)
        conn.execute("INSERT INTO props VALUES (?, '1')", (DELETED_PROP,))
    proc = ns.fails(3, "container", "set", "kd", "-p", "k=v")
    assert "being deleted" in proc.err
    if finisher == "delete":
        ns.ok("container", "delete", "kd")
        ns.fails(3, "container", "show", "kd")
    elif finisher == "create":
        ns.ok("object", "create", "kd", "-", "--name", "o", input=b"new")  # autocreate
        assert ns.ok("object", "fetch", "kd", "o").stdout == b"new"
    else:
        rows = ns.json("namespace", "check", "--repair")
        assert [r["Check"] for r in rows if r["State"] == "repaired"] == ["interrupted deletion"]
        ns.fails(3, "container", "show", "kd")
    assert not os.path.exists(path)
    assert ns.run("namespace", "check").returncode == 0


def test_opening_a_container_deleted_at_that_instant_never_makes_an_empty_file(ns, monkeypatch):
    """Found by the long race rounds: a handle opened while another process deleted the
    database (checked there, gone when SQLite opened it) made an empty file at its path."""
    from oiocli.backends.embedded import db

    ns.ok("container", "create", "kd")
    path = ns.api().container_locate(ACCOUNT, "kd")["path"]
    ns.ok("container", "delete", "kd")
    real = os.path.exists
    seen = []

    def there_when_checked(p):  # the deletion lands between the check and the open
        if p == path and not seen:
            seen.append(p)
            return True
        return real(p)

    monkeypatch.setattr(db.os.path, "exists", there_when_checked)
    with pytest.raises(FileNotFoundError):
        db.connect(path, create=False)
    monkeypatch.undo()
    assert seen and not os.path.exists(path)


def test_an_object_whose_chunks_do_not_hold_its_size_is_never_committed(ns):
    """Found by the long race rounds: a link read an object's record, then (the object
    deleted in between) an empty chunk list, and committed 150000 bytes with no chunk."""
    api = ns.api()
    api.object_create(ACCOUNT, "c", data=os.urandom(150_000), obj_name="o")
    meta, chunks = api.object_locate(ACCOUNT, "c", "o")
    prep = api.backend.content_prepare(ACCOUNT, "c")
    for kept in ([], chunks[:1]):
        with pytest.raises(BadRequest, match="hold"):
            api.backend.content_create(
                ACCOUNT, "c", "broken", content=prep["content_id"], version=prep["version"],
                size=meta["size"], hsh=meta["hash"], policy=meta["policy"],
                chunk_method=meta["chunk_method"], mime_type="x", properties={}, chunks=kept,
            )  # fmt: skip
    assert [o["name"] for o in api.object_list(ACCOUNT, "c")["objects"]] == ["o"]


# -- concurrent appends -------------------------------------------------------------------


@pytest.mark.parametrize("policy", ["SINGLE", "EC21"])
def test_two_appends_at_once_both_land(ns, policy):
    """show said 10006 bytes, fetch gave 7006, check failed with a bare 'pos'."""
    first = os.urandom(70_000)
    ns.ok("object", "create", "k", "-", "--name", "app", "--policy", policy, input=first)
    theirs = ns.file("theirs", os.urandom(90_000))
    mine = os.urandom(80_000)

    def append():
        ns.ok("object", "create", "k", str(theirs), "--name", "app", "--append")

    ns.api().object_create(
        ACCOUNT, "k", data=mine, obj_name="app", append=True, progress=_between(append)
    )
    expected = first + theirs.read_bytes() + mine  # in commit order
    show = ns.json("object", "show", "k", "app")
    assert show["size"] == len(expected)
    assert ns.ok("object", "fetch", "k", "app").stdout == expected
    proc = ns.run("object", "check", "k", "app", "-f", "json")
    assert proc.returncode == 0, proc.err
    assert json.loads(proc.stdout)[0]["State"] == "ok"
    assert ns.run("object", "check", "k", "app").returncode == 0  # the table too
    assert ns.run("namespace", "check").returncode == 0


def test_an_append_whose_object_was_deleted_meanwhile_never_joins_an_old_version(ns):
    """Versioned: the delete leaves the version; the append's chunks named its content."""
    api = ns.api()
    api.container_create(ACCOUNT, "v", system={"sys.m2.policy.version": "-1"})
    first = os.urandom(70_000)
    api.object_create(ACCOUNT, "v", data=first, obj_name="o")
    (version,) = [o["version"] for o in api.object_list(ACCOUNT, "v")["objects"]]

    def delete():
        ns.ok("object", "delete", "v", "o")

    with pytest.raises(OioException, match="changed"):
        api.object_create(
            ACCOUNT, "v", data=os.urandom(30_000), obj_name="o", append=True,
            progress=_between(delete),
        )  # fmt: skip
    assert read_all(ns.api(), "v", "o", version=version) == first
    assert ns.run("container", "check", "v").returncode == 0
    assert _orphans(ns) == []


# -- a damaged namespace.db ------------------------------------------------------------------


def _quiet(path) -> None:
    """Make a database file hold every commit (no -wal to replay), as after a clean exit."""
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    for suffix in ("-wal", "-shm"):
        if os.path.exists(f"{path}{suffix}"):
            os.unlink(f"{path}{suffix}")


def test_an_empty_namespace_db_never_replaces_container_databases(ns):
    ns.ok("object", "create", "c1", "-", "--name", "o", input=b"precious")
    ns.ok("container", "set", "c1", "-p", "k=v")
    ns_db = ns.data_dir / "namespace.db"
    _quiet(ns_db)
    c1_db = ns.api().container_locate(ACCOUNT, "c1")["path"]
    os.truncate(ns_db, 0)
    before = open(c1_db, "rb").read()
    for args in (
        ["object", "create", "c1", "-", "--name", "p"],
        ["object", "list", "c1"],
        ["container", "create", "c1"],
        ["container", "list"],
    ):
        proc = ns.fails(6, *args, input=b"new")
        assert str(ns_db) in proc.err and "namespace check --repair" in proc.err, proc.err
    assert open(c1_db, "rb").read() == before
    proc = ns.run("namespace", "check")
    assert proc.returncode == 6 and str(ns_db) in proc.out, (proc.out, proc.err)
    proc = ns.run("namespace", "check", "--repair", "-f", "json")
    assert proc.returncode == 0, (proc.out, proc.err)
    assert ns.ok("object", "fetch", "c1", "o").stdout == b"precious"
    assert ns.json("container", "show", "c1")["meta.k"] == "v"
    assert ns.json("account", "show", ACCOUNT)["objects"] == 1
    assert ns.run("namespace", "check").returncode == 0
    assert [p for p in os.listdir(ns.data_dir) if ".damaged-" in p], "the damaged file is kept"


def test_a_removed_namespace_db_is_rebuilt_by_repair(ns):
    for name in ("a", "b"):
        ns.ok("object", "create", name, "-", "--name", "o", input=name.encode())
    _quiet(ns.data_dir / "namespace.db")
    os.unlink(ns.data_dir / "namespace.db")
    ns.fails(6, "object", "create", "a", "-", "--name", "p", input=b"x")
    assert not (ns.data_dir / "namespace.db").exists()
    assert ns.run("namespace", "check", "--repair").returncode == 0
    assert sorted(r["Name"] for r in ns.json("container", "list")) == ["a", "b"]
    assert ns.ok("object", "fetch", "b", "o").stdout == b"b"


# -- a nonsense namespace.json ----------------------------------------------------------------


@pytest.mark.parametrize(
    "key, value",
    [
        ("chunk_size", 0),
        ("chunk_size", -5),
        ("chunk_size", "big"),
        ("storage_policy", 5),
        ("storage_policy", "NOPE"),
        ("policies", {"SINGLE": "plain/nb_copy=zero"}),
        ("volumes", "vol-0"),
        ("volumes", [1, 2]),
        ("max_versions", "all"),
        ("max_versions", -5),
    ],
)
def test_a_nonsense_namespace_json_is_one_error_naming_file_and_key(ns, key, value):
    ns.ok("object", "create", "c", "-", "--name", "o", input=b"data")
    path = ns.data_dir / "namespace.json"
    config = json.loads(path.read_text())
    config[key] = value
    path.write_text(json.dumps(config))
    for args in (["object", "create", "c", "-", "--name", "p"], ["object", "list", "c"]):
        proc = ns.fails(6, *args, input=b"x")
        assert str(path) in proc.err and f"'{key}" in proc.err, proc.err
    assert json.loads(path.read_text())[key] == value  # not "fixed" behind the user's back


def test_a_missing_namespace_json_beside_data_is_never_recreated(ns):
    ns.ok("object", "create", "c", "-", "--name", "o", input=b"data")
    path = ns.data_dir / "namespace.json"
    saved = path.read_bytes()
    path.unlink()
    for args in (["object", "list", "c"], ["object", "create", "c", "-", "--name", "p"]):
        proc = ns.fails(6, *args, input=b"x")
        assert str(path) in proc.err and "missing" in proc.err, proc.err
    assert not path.exists()
    path.write_bytes(saved)
    assert ns.ok("object", "fetch", "c", "o").stdout == b"data"


def test_a_namespace_is_made_only_in_an_empty_directory(ns_root):
    target = ns_root / "mine"
    target.mkdir()
    (target / "notes.txt").write_text("mine")
    ns = Namespace(ns_root, chunk_size=None)
    proc = ns.fails(1, "object", "list", "c", env={"OIO_DATA_DIR": str(target)})
    assert str(target) in proc.err and "not empty" in proc.err
    assert sorted(os.listdir(target)) == ["notes.txt"]


# -- the orphan sweep and fresh uploads ---------------------------------------------------------


def test_an_upload_whose_chunks_the_sweep_took_does_not_commit(ns):
    api = ns.api()
    api.container_create(ACCOUNT, "c")

    def sweep():
        for volume in ns.volumes:
            ns.ok("volume", "check", os.path.basename(volume), "--delete-orphans", "--min-age", "0")

    with pytest.raises(OioException, match="gone"):
        api.object_create(
            ACCOUNT, "c", data=os.urandom(200_000), obj_name="o", policy="TWOCOPIES",
            progress=_between(sweep),
        )  # fmt: skip
    assert ns.json("object", "list", "c") == []
    assert ns.run("container", "check", "c").returncode == 0
    assert _orphans(ns) == []


def test_the_sweep_spares_chunks_of_a_committed_upload(ns):
    """The sweep read references before the commit; it must read them again before deleting."""
    data = os.urandom(100_000)
    ns.ok("object", "create", "c", "-", "--name", "o", input=data)
    for volume in ns.volumes:
        ns.ok("volume", "check", os.path.basename(volume), "--delete-orphans", "--min-age", "0")
    assert ns.ok("object", "fetch", "c", "o").stdout == data


# -- a copied data directory ---------------------------------------------------------------------


def test_a_copied_data_directory_is_refused(ns):
    data = os.urandom(50_000)
    ns.ok("object", "create", "c", "-", "--name", "o", input=data)
    copy = ns.root / "copy"
    shutil.copytree(ns.data_dir, copy)
    for args in (["object", "list", "c"], ["object", "delete", "c", "o"]):
        proc = ns.fails(1, *args, env={"OIO_DATA_DIR": str(copy)})
        assert "copy" in proc.err and str(ns.data_dir) in proc.err, proc.err
    assert ns.ok("object", "fetch", "c", "o").stdout == data
    assert ns.run("container", "check", "c").returncode == 0


def test_two_namespaces_never_share_a_volume(ns_root):
    shared = ns_root / "disk"
    from oiocli.api import ObjectStorageApi
    from oiocli.core.exceptions import Forbidden

    ObjectStorageApi(NAMESPACE, str(ns_root / "one"), volumes=[str(shared)])
    with pytest.raises(Forbidden, match="belongs to the namespace"):
        ObjectStorageApi(NAMESPACE, str(ns_root / "two"), volumes=[str(shared)])
    assert not (ns_root / "two" / "namespace.json").exists()


# -- disk full while writing metadata --------------------------------------------------------------


def _fsize_limit(nbytes: int):
    def preexec() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (nbytes, nbytes))

    return preexec


def test_a_full_disk_while_making_a_container_names_it_and_leaks_nothing(ns):
    ns.ok("object", "create", "c", "-", "--name", "o", input=b"data")
    proc = ns.run("container", "create", "c2", preexec_fn=_fsize_limit(4096))
    assert proc.returncode != 0
    lines = proc.err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.err, proc.err
    assert "database" in lines[0] and "file system" in lines[0] and str(ns.data_dir) in lines[0]
    leaked = [f for _r, _d, files in os.walk(ns.data_dir / "containers") for f in files]
    assert all(f.endswith((".db", ".db-wal", ".db-shm")) for f in leaked), leaked
    assert all(".tmp" not in f for f in leaked), leaked
    assert "c2" not in [r["Name"] for r in ns.json("container", "list")]
    assert ns.run("namespace", "check").returncode == 0


def test_a_full_disk_while_committing_an_object_leaves_nothing(ns):
    ns.ok("container", "create", "c")
    proc = ns.run(
        "object", "create", "c", "-", "--name", "o", input=b"x" * 100,
        preexec_fn=_fsize_limit(4096),
    )  # fmt: skip
    assert proc.returncode != 0 and len(proc.err.strip().splitlines()) == 1, proc.err
    assert "database" in proc.err and "file system" in proc.err, proc.err
    assert ns.json("object", "list", "c") == []
    assert _orphans(ns) == []


# -- object check combines the good blocks of damaged replicas --------------------------------


def test_three_replicas_damaged_in_different_blocks_read_check_and_repair(ns_root):
    """Readable (the reader combines their good blocks), so not "lost"; repair rebuilds."""
    from oiocli.backends.embedded.chunks import DEFAULT_BLOCK_SIZE, chunk_path

    ns = Namespace(ns_root, chunk_size=1024 * 1024)  # one metachunk, several blocks
    data = random.Random(4).randbytes(3 * DEFAULT_BLOCK_SIZE - 100)
    ns.ok("object", "create", "c", "-", "--name", "o", "--policy", "THREECOPIES", input=data)
    _meta, chunks = ns.api().object_locate(ACCOUNT, "c", "o")
    assert len(chunks) == 3
    rng = random.Random(5)
    for block, chunk in enumerate(sorted(chunks, key=lambda c: c["url"])):
        flip_bytes(chunk_path(chunk["url"]), rng, offsets=[block * DEFAULT_BLOCK_SIZE + 10])
    for _ in range(3):  # whatever copy the reader starts with
        assert ns.ok("object", "fetch", "c", "o").stdout == data
    proc = ns.run("object", "check", "c", "o", "-f", "json")
    row = json.loads(proc.stdout)[0]
    assert proc.returncode == 7 and row["State"] == "at-risk", (proc.returncode, row)
    assert "combining" in row["Detail"]
    proc = ns.run("object", "check", "c", "o", "--repair", "-f", "json")
    assert proc.returncode == 0 and json.loads(proc.stdout)[0]["State"] == "ok", proc.out
    assert ns.json("object", "check", "c", "o")[0]["State"] == "ok"
    got = ns.ok("object", "fetch", "c", "o").stdout
    assert hashlib.md5(got).digest() == hashlib.md5(data).digest()
    assert ns.clean_orphans() == 0


# -- the Python API's arguments --------------------------------------------------------------------


def test_api_arguments_get_clear_errors(ns):
    api = ns.api()
    api.object_create(ACCOUNT, "c", data=b"0123456789", obj_name="o")
    with pytest.raises(BadRange):
        api.object_fetch(ACCOUNT, "c", "o", ranges=[("a", "b")])
    with pytest.raises(BadRange):
        api.object_fetch(ACCOUNT, "c", "o", ranges="0-5")
    with pytest.raises(BadRequest, match="path or a file object"):
        api.object_create(ACCOUNT, "c", file_or_path=12345, obj_name="x")
    with pytest.raises(BadRequest, match="positive integer"):
        api.object_list(ACCOUNT, "c", limit=0)
    ns.fails(2, "object", "list", "c", "--limit", "0")  # the CLI agrees
    assert [o["name"] for o in api.object_list(ACCOUNT, "c", limit=1)["objects"]] == ["o"]
    assert [o["name"] for o in api.object_list(ACCOUNT, "c")["objects"]] == ["o"]
