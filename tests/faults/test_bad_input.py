"""Bad input: one line on stderr naming what is wrong, the documented exit code, and no
change at all (objects, versions, properties, containers, chunk files).

Exit codes: 1 bad value, 2 usage, 3 container not found, 4 object not found,
6 data unreadable or corrupt (a corrupt database included).
"""

from __future__ import annotations

import contextlib
import os

import pytest

from oiocli.core.exceptions import InvalidName

from .conftest import fast_tmp_dir, remove_tree
from .helpers import ACCOUNT, IS_ROOT, Namespace


def state(ns: Namespace):
    from oiocli.backends.embedded.volumes import iter_chunk_files

    api = ns.api()
    containers = api.container_list(ACCOUNT)
    objects = {
        c[0]: api.object_list(ACCOUNT, c[0], versions=True, properties=True)["objects"]
        for c in containers
    }
    chunks = sorted(p for v in ns.volumes for _i, p in iter_chunk_files(v))
    account = api.account_show(ACCOUNT)
    account.pop("mtime", None)
    return containers, objects, chunks, account


@pytest.fixture(scope="module")
def populated():
    root = fast_tmp_dir()
    try:
        ns = Namespace(root)
        ns.ok("object", "create", "c", "-", "--name", "o", "-p", "k=v", input=b"0123456789")
        ns.file("dir/inner", b"x")
        yield ns
    finally:
        remove_tree(root)


LONG_UNICODE = "é" * 600  # 1200 bytes of UTF-8: over the 1023 limit
CASES = [
    # (exit code, words expected in the one-line message, command)
    (1, ["Object name is empty"], ["object", "create", "c", "-", "--name", ""]),
    (1, ["Container name is empty"], ["object", "create", "", "-", "--name", "x"]),
    (1, ["Container name is empty"], ["container", "create", ""]),
    # text that is not UTF-8 on the command line is malformed: a usage error
    (2, ["not valid UTF-8"], ["object", "create", "c", "-", "--name", b"bad\xff\xfename"]),
    (2, ["not valid UTF-8"], ["container", "create", b"\xffc"]),
    (2, ["not valid UTF-8"], ["object", "show", "c", b"o\xc3"]),
    (1, ["Object name", "too long"], ["object", "create", "c", "-", "--name", "x" * 1024]),
    (1, ["too long", "1200 bytes"], ["object", "create", "c", "-", "--name", LONG_UNICODE]),
    (1, ["Container name", "too long"], ["container", "create", "c" * 1024]),
    (1, ["Account name", "too long"], ["-a", "a" * 64, "container", "create", "x"]),
    (1, ["Object name", "too long"], ["object", "fetch", "c", "y" * 2000]),
    (1, ["outside"], ["object", "save", "c", "../../escape"]),
    # ranges
    (2, ["9-2"], ["object", "fetch", "c", "o", "--range", "9-2"]),
    (1, ["100", "past the end"], ["object", "fetch", "c", "o", "--range", "100-200"]),
    (2, ["-0"], ["object", "fetch", "c", "o", "--range=-0"]),
    (2, ["-5-3"], ["object", "fetch", "c", "o", "--range=-5-3"]),
    (2, ["abc"], ["object", "fetch", "c", "o", "--range", "abc"]),
    (2, ["1-2-3"], ["object", "fetch", "c", "o", "--range", "1-2-3"]),
    (2, ["invalid range"], ["object", "fetch", "c", "o", "--range", "5"]),
    (2, ["invalid range"], ["object", "fetch", "c", "o", "--range", ""]),
    (2, ["1-x"], ["object", "fetch", "c", "o", "--range", "1-x"]),
    # properties
    (2, ["novalue"], ["object", "set", "c", "o", "--property", "novalue"]),
    (2, ["=v"], ["container", "set", "c", "--property", "=v"]),
    (1, ["65536"], ["object", "set", "c", "o", "-p", "big=" + "v" * 65537]),
    (1, ["65536"], ["object", "create", "c", "-", "--name", "n", "-p", "big=" + "v" * 65537]),
    (1, ["Invalid property key"], ["object", "set", "c", "o", "-p", "k" * 1025 + "=v"]),
    # policies
    (1, ["NOPE"], ["object", "create", "c", "-", "--name", "x", "--policy", "NOPE"]),
    (1, ["NOPE"], ["container", "create", "new", "--storage-policy", "NOPE"]),
    (1, ["NOPE"], ["container", "set", "c", "--storage-policy", "NOPE"]),
    (1, ["NOPE"], ["object", "set", "c", "o", "--policy", "NOPE"]),
    # files
    (1, ["missing.bin"], ["object", "create", "c", "missing.bin"]),
    (1, ["dir", "is a directory"], ["object", "create", "c", "dir"]),
    # not found
    (3, ["nocontainer"], ["object", "fetch", "nocontainer", "o"]),
    (4, ["nope"], ["object", "fetch", "c", "nope"]),
    (4, ["nope"], ["object", "set", "c", "nope", "--policy", "EC"]),
    (1, ["11"], ["object", "truncate", "c", "o", "--size", "11"]),
    (2, ["-1"], ["object", "truncate", "c", "o", "--size", "-1"]),
]


def _id(case):
    text = " ".join(a.decode(errors="replace") if isinstance(a, bytes) else a for a in case[2])
    return text[:50]


@pytest.mark.parametrize("code,words,args", CASES, ids=[_id(c) for c in CASES])
def test_bad_input(populated, code, words, args):
    before = state(populated)
    proc = populated.fails(code, *args, input=b"data")
    for word in words:
        assert word in proc.err, (word, proc.err)
    assert len(proc.err) < 600, proc.err  # one readable line, not a dump
    assert state(populated) == before


def test_nul_in_names_and_properties_is_refused_by_the_api(populated):
    """argv cannot carry NUL; API callers can: refused, nothing changes."""
    api = populated.api()
    before = state(populated)
    for call in (
        lambda: api.object_create(ACCOUNT, "c", data=b"x", obj_name="a\0b"),
        lambda: api.object_create(ACCOUNT, "c\0d", data=b"x", obj_name="a"),
        lambda: api.object_set_properties(ACCOUNT, "c", "o", {"k\0": "v"}),
        lambda: api.object_set_properties(ACCOUNT, "c", "o", {"k": "v\0"}),
        lambda: api.object_create(ACCOUNT, "c", data=b"x", obj_name=b"\xff"),
    ):
        with pytest.raises(InvalidName) as info:
            call()
        assert "\n" not in str(info.value)
    assert state(populated) == before


def test_dot_dot_and_slash_names_never_become_paths(ns):
    """Names are data: `..` and `/` in them create no file outside the namespace."""
    outside = sorted(os.listdir(ns.root))
    for container, name in (("c", "../../escape"), ("../c", "/abs/x"), ("..", ".."), ("/", "/")):
        ns.ok("object", "create", container, "-", "--name", name, input=b"payload")
        assert ns.ok("object", "fetch", container, name).stdout == b"payload"
    assert sorted(os.listdir(ns.root)) == outside
    assert sorted(os.listdir(ns.cwd)) == []
    assert {r["Name"] for r in ns.json("container", "list")} == {"c", "../c", "..", "/"}
    assert ns.run("container", "check", "../c").returncode == 0


def test_stdin_closed(ns):
    ns.api().container_create(ACCOUNT, "c")
    proc = ns.run("object", "create", "c", "-", "--name", "x", stdin=None, preexec_fn=_close_0)
    assert proc.returncode == 1
    assert proc.err.strip() == "Nothing to upload: give a file, a path or data"
    assert ns.json("object", "list", "c") == []
    # stdin at EOF at once is an empty object, not an error
    proc = ns.run("object", "create", "c", "-", "--name", "empty", input=b"")
    assert proc.returncode == 0
    assert [r["Size"] for r in ns.json("object", "list", "c")] == [0]


def _close_0() -> None:
    os.close(0)


def test_unreadable_file(strict_ns):
    ns = strict_ns
    ns.api().container_create(ACCOUNT, "c")
    src = ns.file("secret.bin", b"secret")
    os.chmod(src, 0)
    before = state(ns)
    proc = ns.fails(1, "object", "create", "c", str(src))
    assert "Permission denied" in proc.err and "secret.bin" in proc.err
    assert state(ns) == before


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_corrupt_container_database(ns, damage):
    ns.ok("object", "create", "c", "-", "--name", "o", input=b"data")
    ns.ok("object", "create", "d", "-", "--name", "o", input=b"data")
    path = ns.api().container_locate(ACCOUNT, "c")["path"]
    for suffix in ("-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.unlink(path + suffix)
    if damage == "garbage":
        with open(path, "wb") as f:
            f.write(os.urandom(8192))
    else:
        with open(path, "r+b") as f:
            f.truncate(os.path.getsize(path) // 3)
    damaged = open(path, "rb").read()
    for args in (
        ["object", "list", "c"],
        ["object", "fetch", "c", "o"],
        ["object", "show", "c", "o"],
        ["object", "delete", "c", "o"],
        ["container", "show", "c"],
        ["container", "check", "c"],
        ["object", "check", "c", "o"],
    ):
        proc = ns.fails(6, *args, input=b"new")
        assert path in proc.err and "corrupt" in proc.err, proc.err
    proc = ns.run("object", "create", "c", "-", "--name", "p", input=b"new")
    assert proc.returncode == 6 and "Traceback" not in proc.err
    assert proc.err.strip().splitlines()[-1].startswith(f"Database {path} is corrupt")
    # the namespace check names it; the other container is fine
    proc = ns.run("namespace", "check", "-f", "json")
    assert proc.returncode == 6 and "Traceback" not in proc.err
    assert path in proc.out
    assert ns.ok("object", "fetch", "d", "o").stdout == b"data"
    assert open(path, "rb").read() == damaged  # nothing tried to "fix" it silently


def test_data_dir_is_a_file(ns_root):
    target = ns_root / "notadir"
    target.write_bytes(b"x")
    ns = Namespace(ns_root, chunk_size=None)
    for args in (["object", "list", "c"], ["container", "create", "c"], ["namespace", "show"]):
        proc = ns.fails(1, *args, env={"OIO_DATA_DIR": str(target)})
        assert str(target) in proc.err, proc.err
    assert target.read_bytes() == b"x"


def test_namespace_config_garbage(ns):
    (ns.data_dir / "namespace.json").write_text("{not json")
    proc = ns.fails(6, "object", "list", "c")  # a damaged namespace file: exit 6
    assert "namespace.json" in proc.err


def test_read_only_namespace(strict_ns):
    ns = strict_ns
    ns.ok("object", "create", "c", "-", "--name", "o", input=b"data")
    before = state(ns)
    modes = {}
    for path, mode, _is_dir in _walk(ns.data_dir):
        modes[path] = mode
        with contextlib.suppress(FileNotFoundError):  # -shm files come and go
            os.chmod(path, mode & ~0o222)
    try:
        for args in (
            ["object", "create", "c", "-", "--name", "p"],
            ["container", "create", "other"],
            ["object", "delete", "c", "o"],
        ):
            proc = ns.run(*args, input=b"new")
            assert proc.returncode != 0, args
            assert "Traceback" not in proc.err
            assert str(ns.data_dir) in proc.err.strip().splitlines()[-1], proc.err
    finally:
        for path, mode in modes.items():
            with contextlib.suppress(FileNotFoundError):
                os.chmod(path, mode)
    assert state(ns) == before


@pytest.mark.skipif(not IS_ROOT, reason="giving files to another user needs root")
def test_namespace_owned_by_someone_else(strict_ns):
    ns = strict_ns
    ns.ok("object", "create", "c", "-", "--name", "o", input=b"data")
    before = state(ns)
    for path, _mode, _is_dir in _walk(ns.data_dir):
        with contextlib.suppress(FileNotFoundError):
            os.chown(path, 65534, 65534)
    try:
        proc = ns.fails(1, "object", "list", "c")
        assert "Permission denied" in proc.err and str(ns.data_dir) in proc.err
        proc = ns.run("object", "create", "c", "-", "--name", "p", input=b"x")
        assert proc.returncode != 0 and "Traceback" not in proc.err
    finally:
        uid, gid = os.getuid(), os.getgid()
        for path, _mode, _is_dir in _walk(ns.data_dir):
            with contextlib.suppress(FileNotFoundError):
                os.chown(path, uid, gid)
    assert state(ns) == before


def _walk(root):
    from .helpers import tree_modes

    return list(tree_modes(root))
