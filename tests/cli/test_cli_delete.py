"""`object delete --prefix`: every object under a prefix (through the filters), a dry run
first if wanted; the multi-name exit codes (8 when some deletions failed)."""

from __future__ import annotations


def _fill(oio, names):
    for name in names:
        oio.ok("object", "create", "c", "-", "--name", name, input=name.encode())


def test_delete_prefix_dry_run_then_for_real(oio):
    _fill(oio, ["logs/a.log", "logs/b.tmp", "logs/sub/c.log", "logsx", "keep"])
    rows = oio.json("object", "delete", "c", "--prefix", "logs/", "--dry-run")
    assert [(r["Name"], r["Action"]) for r in rows] == [
        ("logs/a.log", "would delete"),
        ("logs/b.tmp", "would delete"),
        ("logs/sub/c.log", "would delete"),
    ]
    assert all(isinstance(r["Version"], int) and isinstance(r["Size"], int) for r in rows)
    assert len(oio.names("c")) == 5  # nothing changed
    rows = oio.json("object", "delete", "c", "--prefix", "logs/", "--exclude", "*.tmp")
    assert rows == [
        {"Name": "logs/a.log", "Deleted": True},
        {"Name": "logs/sub/c.log", "Deleted": True},
    ]
    assert oio.names("c") == ["keep", "logs/b.tmp", "logsx"]
    # an empty prefix is every object; an empty listing prints nothing in value format
    assert len(oio.json("object", "delete", "c", "--prefix", "", "--dry-run")) == 3
    assert oio.ok("object", "delete", "c", "--prefix", "nothing/", "-f", "value").out == ""


def test_delete_prefix_usage_and_partial_exit_codes(oio):
    _fill(oio, ["a", "b"])
    oio.fails(2, "object", "delete", "c", "a", "--prefix", "a")  # both
    oio.fails(2, "object", "delete", "c")  # neither
    oio.fails(2, "object", "delete", "c", "--prefix", "a", "--object-version", "1")
    oio.fails(2, "object", "delete", "c", "a", "--include", "*")  # filters need --prefix
    oio.fails(3, "object", "delete", "nocontainer", "--prefix", "")
    proc = oio.run("object", "delete", "c", "a", "nope", "-f", "json")
    assert proc.returncode == 8 and "nope" in proc.err
    assert oio.names("c") == ["b"]
