"""The layers only look down, and SQL stays in the embedded backend.

Every module of `oiocli/` is parsed and every import it makes is read from its
syntax tree (top level, inside functions, under `if TYPE_CHECKING:` alike), so
a new module or a new import is checked without anyone listing it. The layers
(see docs/ARCHITECTURE.md):

    shell -> commands -> transfer -> api -> io -> core
                                      |      \\-> backends.base (the contract)
                                      \\-> backends.stores, the backends' factories
    backends.<name>, server -> core + backends.base + backends.stores (+ themselves)

Known violations, waiting for a part of the same redesign to land, are listed in
ALLOWED below, each with why; a violation not listed fails the test.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "oiocli"

# Modules with no oiocli dependency but the core, usable from any layer above it.
LEAVES = {"oiocli", "oiocli.trace", "oiocli.filters"}
CORE = ("oiocli.core",)
CONTRACT = ("oiocli.backends.base", "oiocli.backends.stores")
# What opens a backend: the API may import these two modules of the backends.
FACTORIES = ("oiocli.backends.embedded.meta", "oiocli.backends.proxy.meta")

# (layer, what it may import besides itself, the core and the leaves), most specific first.
RULES: list[tuple[str, tuple[str, ...]]] = [
    ("oiocli.core", ()),
    ("oiocli.backends.base", ()),
    ("oiocli.backends.stores", ("oiocli.backends.base",)),
    ("oiocli.io", ("oiocli.backends.base",)),
    ("oiocli.server", (*CONTRACT, "oiocli.backends.embedded")),
    ("oiocli.api", ("oiocli.io", *CONTRACT, *FACTORIES)),
    # The transfer engine: its events and its local MD5 cache are modules of their own.
    ("oiocli.md5_cache", ()),
    ("oiocli.transfer_events", ("oiocli.api", "oiocli.io")),
    ("oiocli.transfer", ("oiocli.api", "oiocli.io", "oiocli.transfer_events", "oiocli.md5_cache")),
    (
        "oiocli.commands",
        ("oiocli.api", "oiocli.transfer", "oiocli.transfer_events", "oiocli.server"),
    ),
    ("oiocli.shell", ("oiocli.commands", "oiocli.api")),
]
# Modules under commands/ that are parts of the application shell itself: the
# interactive loop and the man page generator walk the shell's command table.
SHELL_PARTS = {"oiocli.commands.interactive", "oiocli.commands.manpage"}
# Any package under oiocli/backends/ is a backend: core, the contract and itself.
BACKEND = re.compile(r"^oiocli\.backends\.(?!base$|stores$)([a-z_0-9]+)")
# Chunk stores in packages of their own (a cloud tier): they import the core, the
# contract and themselves, as a backend does, and a backend may import them to
# register them in its ChunkStores (docs/ARCHITECTURE.md, where a chunk store plugs in).
CHUNK_STORE_PACKAGES = ("oiocli.backends.cloud",)

# Known violations, (importer, imported) -> why. The coordinator removes an entry
# when the part of the redesign that fixes it lands; none may be added.
ALLOWED: dict[tuple[str, str], str] = {
    # `oio namespace serve` opens the embedded namespace it serves.
    ("oiocli.commands.serve", "oiocli.backends.embedded.meta"): "serve opens its namespace",
    # Volume statistics and administration of a local directory (volume list, add,
    # drain): to join the optional Maintenance protocol as the checks did.
    ("oiocli.api.object_storage", "oiocli.backends.embedded.volumes"): "maintenance",
    ("oiocli.api.object_storage", "oiocli.backends.embedded.volume_admin"): "maintenance",
    # Upload journals make their private directories with the embedded helper; it
    # goes to core/fsutil.py with the other file-system helpers.
    ("oiocli.api.resume", "oiocli.backends.embedded.chunks"): "core/fsutil.py",
}

# SQL outside oiocli/backends/embedded/: known places, each with why.
SQL_ALLOWED: dict[str, str] = {
    # The local MD5 cache of `oio sync`: a client-side SQLite file, not namespace metadata.
    "oiocli.md5_cache": "the sync MD5 cache",
}


@dataclass(frozen=True)
class Import:
    importer: str
    imported: str
    line: int


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> Iterator[tuple[str, Path]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        yield module_name(path), path


KNOWN = {name for name, _path in modules()}


def resolve(importer: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = importer.split(".")
    if not is_package:
        base.pop()
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imports_of(name: str, path: Path) -> Iterator[Import]:
    tree = ast.parse(path.read_text(), str(path))
    is_package = path.name == "__init__.py"
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(name, alias.name, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            base = resolve(name, is_package, node)
            for alias in node.names:
                # `from oiocli.core import exceptions`: the module imported is the submodule
                sub = f"{base}.{alias.name}"
                yield Import(name, sub if sub in KNOWN else base, node.lineno)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name | ast.Attribute)
            and getattr(node.func, "id", getattr(node.func, "attr", "")) == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            yield Import(name, node.args[0].value, node.lineno)


def within(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def allowed(importer: str, imported: str) -> bool:
    if not within(imported, "oiocli"):
        return True  # the standard library and third-party packages: not a layer
    if imported in LEAVES or any(within(imported, c) for c in CORE):
        return True
    if importer in LEAVES:
        return False  # a leaf imports the core only
    backend = BACKEND.match(importer)
    if backend:
        own = f"oiocli.backends.{backend.group(1)}"
        if within(imported, own) or imported in CONTRACT:
            return True
        return own not in CHUNK_STORE_PACKAGES and any(
            within(imported, store) for store in CHUNK_STORE_PACKAGES
        )
    if importer in SHELL_PARTS:
        importer = "oiocli.shell"
    for layer, may_import in RULES:
        if within(importer, layer):
            return within(imported, layer) or any(within(imported, m) for m in may_import)
    if importer == "oiocli.backends":
        return False
    raise AssertionError(f"{importer} belongs to no layer: give it one in RULES")


def violations() -> list[Import]:
    found = []
    for name, path in modules():
        for imp in imports_of(name, path):
            if not allowed(imp.importer, imp.imported):
                found.append(imp)
    return found


def test_no_module_imports_upwards_or_sideways():
    new = [
        f"{v.importer} (line {v.line}) imports {v.imported}"
        for v in violations()
        if (v.importer, v.imported) not in ALLOWED
    ]
    assert not new, "imports against the layers (docs/ARCHITECTURE.md):\n" + "\n".join(new)


def test_every_allowed_violation_still_exists():
    """An entry whose violation is gone is removed, so the list only ever shrinks."""
    current = {(v.importer, v.imported) for v in violations()}
    stale = sorted(set(ALLOWED) - current)
    assert not stale, f"fixed: remove from ALLOWED {stale}"


def test_nothing_imports_the_commands_but_the_shell():
    bad = [
        f"{v.importer} (line {v.line})"
        for name, path in modules()
        for v in imports_of(name, path)
        if within(v.imported, "oiocli.commands")
        and not within(v.importer, "oiocli.commands")
        and v.importer != "oiocli.shell"
    ]
    assert not bad


# SQL statements, as they appear in string literals (upper-case keywords, as written
# in this code base), and the sqlite3 module.
SQL = re.compile(
    r"\b(SELECT\s.+\sFROM\s|INSERT\s+(OR\s+\w+\s+)?INTO\s|UPDATE\s+\w+\s+SET\s|DELETE\s+FROM\s"
    r"|CREATE\s+(UNIQUE\s+)?(TABLE|INDEX|TRIGGER|VIEW)\s|DROP\s+(TABLE|INDEX)\s|ALTER\s+TABLE\s"
    r"|PRAGMA\s+\w+|BEGIN\s+(IMMEDIATE|EXCLUSIVE|DEFERRED))",
    re.S,
)


def sql_in(path: Path) -> Iterator[tuple[int, str]]:
    tree = ast.parse(path.read_text(), str(path))
    # the literal pieces of an f-string are read as part of the whole f-string
    pieces = {id(v) for n in ast.walk(tree) if isinstance(n, ast.JoinedStr) for v in n.values}
    for node in ast.walk(tree):
        if id(node) in pieces:
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names]
            module = node.module if isinstance(node, ast.ImportFrom) else None
            if module == "sqlite3" or "sqlite3" in names:
                yield node.lineno, "import sqlite3"
        elif isinstance(node, ast.JoinedStr):
            text = "".join(
                str(v.value) if isinstance(v, ast.Constant) else "x" for v in node.values
            )
            if SQL.search(text):
                yield node.lineno, text[:60]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if SQL.search(node.value):
                yield node.lineno, node.value[:60]


def sql_outside_embedded() -> dict[str, list[tuple[int, str]]]:
    found: dict[str, list[tuple[int, str]]] = {}
    for name, path in modules():
        if within(name, "oiocli.backends.embedded"):
            continue
        hits = list(sql_in(path))
        if hits:
            found[name] = hits
    return found


def test_no_sql_outside_the_embedded_backend():
    found = sql_outside_embedded()
    new = {name: hits[:3] for name, hits in found.items() if name not in SQL_ALLOWED}
    assert not new, f"SQL outside oiocli/backends/embedded/: {new}"
    stale = sorted(set(SQL_ALLOWED) - set(found))
    assert not stale, f"no SQL left: remove from SQL_ALLOWED {stale}"


# The checks themselves: each must see what it is meant to see.


@pytest.mark.parametrize(
    ("importer", "imported", "ok"),
    [
        ("oiocli.io.reader", "oiocli.core.chunks", True),
        ("oiocli.io.reader", "oiocli.backends.base", True),
        ("oiocli.io.reader", "oiocli.backends.embedded.chunks", False),
        ("oiocli.io.reader", "oiocli.api.object_storage", False),
        ("oiocli.core.chunks", "oiocli.io.reader", False),
        ("oiocli.core.chunks", "oiocli.backends.base", False),
        ("oiocli.backends.embedded.meta", "oiocli.backends.stores", True),
        ("oiocli.backends.embedded.meta", "oiocli.io.writer", False),
        ("oiocli.backends.embedded.meta", "oiocli.backends.proxy.protocol", False),
        ("oiocli.backends.cloud.s3", "oiocli.backends.cloud.keys", True),
        ("oiocli.backends.cloud.s3", "oiocli.backends.embedded.chunks", False),
        ("oiocli.server.proxy", "oiocli.backends.embedded.meta", True),
        ("oiocli.server.proxy", "oiocli.api.object_storage", False),
        ("oiocli.api.object_storage", "oiocli.backends.embedded.meta", True),
        ("oiocli.api.object_storage", "oiocli.backends.embedded.db", False),
        ("oiocli.api.object_storage", "oiocli.commands.base", False),
        ("oiocli.api.object_storage", "oiocli.transfer", False),
        ("oiocli.commands.object", "oiocli.api", True),
        ("oiocli.commands.object", "oiocli.io.reader", False),
        ("oiocli.commands.object", "oiocli.backends.embedded.meta", False),
        ("oiocli.trace", "oiocli.api", False),
        ("oiocli.shell", "oiocli.commands.base", True),
        ("oiocli.backends.proxy.http", "oiocli.trace", True),
    ],
)
def test_the_layer_rules(importer, imported, ok):
    assert allowed(importer, imported) is ok


def test_imports_are_read_from_the_source_including_lazy_ones(tmp_path):
    source = tmp_path / "oiocli" / "io" / "probe.py"
    source.parent.mkdir(parents=True)
    source.write_text(
        "from __future__ import annotations\n"
        "from typing import TYPE_CHECKING\n"
        "from . import reader\n"
        "from ..core import chunks\n"
        "if TYPE_CHECKING:\n"
        "    from oiocli.api.object_storage import ObjectStorageApi\n"
        "def later():\n"
        "    import oiocli.backends.embedded.meta\n"
        "    from importlib import import_module\n"
        "    return import_module('oiocli.commands.base')\n"
    )
    found = {(i.imported, i.line) for i in imports_of("oiocli.io.probe", source)}
    assert ("oiocli.io.reader", 3) in found
    assert ("oiocli.core.chunks", 4) in found
    assert ("oiocli.api.object_storage", 6) in found
    assert ("oiocli.backends.embedded.meta", 8) in found
    assert ("oiocli.commands.base", 10) in found
    bad = {imp for imp, _line in found if not allowed("oiocli.io.probe", imp)}
    assert bad == {
        "oiocli.api.object_storage",
        "oiocli.backends.embedded.meta",
        "oiocli.commands.base",
    }


def test_sql_is_recognised(tmp_path):
    source = tmp_path / "probe.py"
    source.write_text(
        "import sqlite3\n"
        "q = 'SELECT url FROM chunks WHERE content = ?'\n"
        "t = f'DELETE FROM {table} WHERE x = ?'\n"
        "m = 'Delete from the namespace'\n"  # prose, not SQL
        "h = ('DELETE', url)\n"  # an HTTP method
        "p = 'PRAGMA quick_check'\n"
    )
    assert [line for line, _text in sql_in(source)] == [1, 2, 3, 6]
