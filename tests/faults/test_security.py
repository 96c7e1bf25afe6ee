"""Security: a namespace is private to its user (directories 0700, files 0600) whatever
the umask, and oiocli never runs a shell."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from .conftest import fast_tmp_dir, remove_tree
from .helpers import Namespace, tree_modes


def _umask_0() -> None:
    os.umask(0)  # the most permissive umask: modes must not depend on it


@pytest.fixture(scope="module")
def used_namespace():
    """A namespace created and used by the CLI under umask 0 (the most permissive)."""
    root = fast_tmp_dir()
    try:
        ns = Namespace(root, chunk_size=None)  # created by the CLI itself
        run = {"preexec_fn": _umask_0}
        ns.file("a.bin", os.urandom(300_000))
        ns.file("r.bin", os.urandom(200_000))
        ns.ok("object", "create", "c", "a.bin", "--policy", "EC21", **run)
        ns.ok("object", "create", "c", "-", "--name", "b", "--policy", "SINGLE", input=b"b", **run)
        ns.ok("object", "create", "c", "-", "--name", "b", "--append", input=b"more", **run)
        ns.ok("object", "link", "c", "b", "b2", **run)
        ns.ok("container", "snapshot", "c", "--dst-container", "snap", **run)
        ns.ok("object", "set", "c", "a.bin", "--policy", "THREECOPIES", **run)
        ns.ok("object", "truncate", "c", "a.bin", "--size", "1000", **run)
        ns.ok("container", "check", "c", "--repair", **run)
        ns.ok("volume", "rebuild", "vol-0", **run)
        ns.ok("namespace", "check", "--repair", **run)
        ns.ok("object", "delete", "c", "b2", **run)
        # a resumable upload: its journal directory (uploads/) stays
        ns.api().object_create_ext("acct", "c", str(ns.cwd / "r.bin"), resume=True)
        yield ns
    finally:
        remove_tree(root)


def _modes(ns):
    return [(p, m, d) for p, m, d in tree_modes(ns.data_dir)]


def test_namespace_files_are_0600(used_namespace):
    files = [(p, oct(m)) for p, m, is_dir in _modes(used_namespace) if not is_dir]
    assert len(files) > 20
    assert any(p.endswith(".db") for p, _m in files)
    assert [(p, m) for p, m in files if m != oct(0o600)] == []


def test_namespace_directories_are_0700(used_namespace):
    dirs = [(p, oct(m)) for p, m, is_dir in _modes(used_namespace) if is_dir]
    assert len(dirs) > 9 * 256
    assert [(p, m) for p, m in dirs if m != oct(0o700)] == []


def test_no_shell_is_ever_invoked():
    package = Path(__file__).resolve().parents[2] / "oiocli"
    pattern = re.compile(r"shell\s*=\s*True|os\.system\(|os\.popen\(|commands\.getoutput")
    offenders = [
        f"{path.relative_to(package.parent)}:{number}"
        for path in package.rglob("*.py")
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if pattern.search(line)
    ]
    assert offenders == []
