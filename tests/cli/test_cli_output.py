"""Output that reads well and parses stably: nulls empty in text formats and null in
JSON, one spelling of Ok, stable JSON types, ISO 8601 times in tables, --human where
offered, empty listings, sorting with nulls, `-f shell` that eval can take, markdown."""

from __future__ import annotations

import json
import re
import subprocess

ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d")


def _versioned(oio):
    oio.ok("container", "create", "ver", "--max-versions", "-1")
    oio.ok("object", "create", "ver", "-", "--name", "o", input=b"first")
    oio.ok("object", "delete", "ver", "o")  # a delete marker: a null size
    oio.ok("object", "create", "ver", "-", "--name", "p", input=b"xy")


def test_sorting_copes_with_nulls(oio):
    _versioned(oio)
    for fmt in ("table", "json", "value"):
        proc = oio.run("object", "list", "ver", "--versions", "--sort-column", "Size", "-f", fmt)
        assert proc.returncode == 0 and proc.err == "", proc.err
    rows = oio.json("object", "list", "ver", "--versions", "--sort-column", "Size")
    assert [r["Size"] for r in rows] == [2, 5, None]  # nulls last
    rows = oio.json(
        "object", "list", "ver", "--versions", "--sort-column", "Size", "--sort-descending"
    )
    assert [r["Size"] for r in rows] == [None, 5, 2]
    table = oio.ok("object", "list", "ver", "--versions", "--sort-column", "size").out
    assert table.count("\n") == 7 and "deleted" in table  # 3 rows, header, 3 borders
    proc = oio.fails(2, "object", "list", "ver", "--sort-column", "Sise")
    assert "Sise" in proc.err and "Size" in proc.err
    oio.fails(2, "object", "list", "ver", "-c", "Nmae")


def test_nulls_are_empty_in_text_and_null_in_json(oio):
    _versioned(oio)
    for name in ("a/1", "a/2", "b"):
        oio.ok("object", "create", "c", "-", "--name", name, input=b"z")
    value = oio.ok("object", "list", "c", "--delimiter", "/", "-f", "value").out
    assert "None" not in value and value.splitlines()[0] == "a/   "  # a prefix row
    csv = oio.ok("object", "list", "c", "--delimiter", "/", "-f", "csv").out
    assert "None" not in csv and csv.splitlines()[1] == '"a/","","",""'
    table = oio.ok("object", "list", "c", "--delimiter", "/").out
    assert "None" not in table
    rows = oio.json("object", "list", "c", "--delimiter", "/")
    assert rows[0] == {"Name": "a/", "Size": None, "Hash": None, "Version": None}
    marker = oio.ok("object", "list", "ver", "--versions", "-f", "value").out
    assert "None" not in marker
    # a failed create: its row has empty cells, Ok is spelled one way everywhere
    oio.file("a.bin", b"a")
    proc = oio.run("object", "create", "c", "a.bin", "missing.bin", "-f", "value")
    assert proc.returncode == 8
    assert proc.out.splitlines()[1] == "missing.bin   Failed"
    assert proc.out.splitlines()[0].endswith(" Ok")
    (snap,) = oio.json("container", "snapshot", "c", "--dst-container", "snap")
    assert snap["Status"] == "Ok"
    locate = oio.ok("object", "locate", "c", "b", "--chunk-info", "-f", "value").out
    assert "None" not in locate


def test_container_show_types_are_stable(oio):
    oio.ok("container", "create", "plain")
    oio.ok("container", "create", "set", "--stgpol", "EC", "--max-versions", "3")
    plain = oio.json("container", "show", "plain")
    assert plain["storage_policy"] is None and plain["max_versions"] is None
    chosen = oio.json("container", "show", "set")
    assert chosen["storage_policy"] == "EC" and chosen["max_versions"] == 3
    for show in (plain, chosen):
        assert isinstance(show["ctime"], float) and isinstance(show["bytes_usage"], int)
    table = oio.ok("container", "show", "plain").out
    assert "Namespace default" in table  # for people, in a table only
    assert ISO.search(table)  # times as ISO 8601 in a table
    value = oio.ok("container", "show", "plain", "-f", "value", "-c", "storage_policy").out
    assert value == "\n"
    assert (
        oio.ok("container", "show", "plain", "-f", "value", "-c", "ctime")
        .out.strip()
        .replace(".", "")
        .isdigit()
    )  # epoch seconds outside tables


def test_times_in_tables_and_human_sizes(oio):
    oio.ok("container", "create", "c", "--max-versions", "-1")
    oio.ok("object", "create", "c", "-", "--name", "big", input=b"x" * 3000)
    oio.ok("object", "create", "c", "-", "--name", "big", input=b"x" * 3000)
    table = oio.ok("object", "list", "c", "--long").out
    assert ISO.search(table)
    (row,) = oio.json("object", "list", "c", "--long")
    assert isinstance(row["Last-Modified"], float)
    show = oio.ok("object", "show", "c", "big", "--human").out
    assert "2.9KiB" in show and ISO.search(show)
    assert oio.json("object", "show", "c", "big", "--human")["size"] == 3000  # json keeps it
    # --human is honoured wherever it is offered, dry runs included
    assert "5.9KiB" in oio.ok("container", "list", "--human").out
    for args in (
        ("container", "flush", "c", "--dry-run"),
        ("container", "purge", "c", "--max-versions", "1", "--dry-run"),
        ("object", "delete", "c", "big", "--dry-run"),
        ("object", "list", "c"),
        ("object", "locate", "c", "big", "--chunk-info"),
        ("object", "create", "c", "-", "--name", "again"),
    ):
        assert "2.9KiB" in oio.ok(*args, "--human", input=b"x" * 3000).out, args
    # transfer summaries: sizes and rates with units in a table, numbers in json
    (oio.cwd / "t").mkdir()
    (oio.cwd / "t" / "f").write_bytes(b"y" * 5000)
    table = oio.ok("object", "create", "d", "t", "--recursive").out
    assert "4.9KiB" in table and "/s" in table
    (row,) = oio.json("object", "create", "e", "t", "--recursive")
    assert row["Bytes"] == 5000 and isinstance(row["Rate"], float)


def test_empty_listings(oio):
    oio.ok("container", "create", "empty")
    assert oio.ok("object", "list", "empty", "-f", "value").out == ""
    assert oio.ok("object", "list", "empty", "-f", "csv").out == ""
    assert oio.json("object", "list", "empty") == []
    table = oio.ok("object", "list", "empty").out
    assert table.splitlines() == [
        "+------+------+------+---------+",
        "| Name | Size | Hash | Version |",
        "+------+------+------+---------+",
        "+------+------+------+---------+",
    ]
    assert oio.ok("container", "flush", "empty", "--dry-run", "-f", "value").out == ""
    (oio.cwd / "d").mkdir()
    plan = oio.ok("container", "sync", "d", "empty", "--dry-run", "-f", "value")
    assert plan.out == ""
    plan = oio.ok("container", "sync", "d", "empty", "--dry-run")
    assert plan.out.startswith("+") and "| Action |" in plan.out


def test_shell_format_is_safe_to_eval(oio):
    evil = "$(touch pwned)`touch pwned2`'\"; echo"
    oio.ok(
        "object", "create", "c", "-", "--name", "o",
        "-p", "owner=ops", "-p", f"note={evil}", "-p", "dotted.key=1",
        input=b"x",
    )  # fmt: skip
    out = oio.ok("object", "show", "c", "o", "-f", "shell", "--prefix", "obj_").out
    variables = '"$obj_meta_owner" "$obj_meta_note" "$obj_meta_dotted_key" "$obj_size"'
    script = f'eval "$1"; printf "%s\\n" {variables}'
    proc = subprocess.run(
        ["bash", "-c", script, "bash", out], capture_output=True, text=True, cwd=oio.cwd, timeout=30
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["ops", evil, "1", "1"]
    assert not (oio.cwd / "pwned").exists() and not (oio.cwd / "pwned2").exists()


def test_markdown_format(oio):
    oio.ok("object", "create", "c", "-", "--name", "a|b", input=b"x")
    text = oio.ok("object", "list", "c", "-f", "markdown").out.splitlines()
    assert text[0].startswith("| Name") and set(text[1]) <= set("|:- ")
    assert "a\\|b" in text[2]  # the pipe is escaped
    show = oio.ok("object", "show", "c", "a|b", "-f", "markdown").out
    assert show.startswith("| Field") and "| size" in show
    assert json.loads(oio.ok("object", "list", "c", "-f", "json").out)[0]["Name"] == "a|b"
