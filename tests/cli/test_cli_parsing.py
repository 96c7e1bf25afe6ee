"""Malformed option values: a usage error (exit 2) on one line naming the option, and
nothing changed. One rule: what can be told wrong from the command line alone is 2."""

from __future__ import annotations

import pytest


@pytest.fixture
def stored(oio):
    oio.ok("object", "create", "c", "-", "--name", "o", input=b"0123456789")
    return oio


@pytest.mark.parametrize(
    "value",
    ["--5", "１-２", "1-２", "1_0-20", " 1-2x", "-0", "9-2", "+1-2", "1--2", "", ","],
)
def test_malformed_ranges_are_usage_errors(stored, value):
    out = stored.cwd / "out"
    proc = stored.fails(2, "object", "fetch", "c", "o", f"--range={value}", "--file", str(out))
    assert "--range" in proc.err
    assert not out.exists() and proc.stdout == b""


def test_well_formed_ranges_still_work(stored):
    assert stored.ok("object", "fetch", "c", "o", "--range=-3").stdout == b"789"
    assert stored.ok("object", "fetch", "c", "o", "--range", "2-4,8-").stdout == b"23489"
    # a range the object cannot satisfy is the storage's refusal: an error, not usage
    stored.fails(1, "object", "fetch", "c", "o", "--range", "100-")


def test_page_size_is_bounded(stored):
    proc = stored.fails(2, "object", "list", "c", "--page-size", "10001")
    assert "--page-size" in proc.err and "10000" in proc.err
    assert stored.names("c", "--page-size", "10000") == ["o"]
    stored.fails(2, "container", "list", "--page-size", "0")
    stored.fails(2, "object", "list", "c", "--page-size", "１０")


def test_max_versions_follows_openio_semantics(oio):
    for bad in ("-5", "-2", "１", "x"):
        proc = oio.fails(2, "container", "create", "v", "--max-versions", bad)
        assert "--max-versions" in proc.err
    oio.fails(3, "container", "show", "v")  # nothing created
    oio.ok("container", "create", "v", "--max-versions", "-1")
    assert oio.json("container", "show", "v")["max_versions"] == -1
    oio.fails(2, "container", "set", "v", "--max-versions", "-5")
    assert oio.json("container", "show", "v")["max_versions"] == -1
    oio.ok("container", "set", "v", "--max-versions", "0")
    assert oio.json("container", "show", "v")["max_versions"] == 0
    oio.fails(2, "container", "purge", "v", "--max-versions", "-3")
    oio.fails(2, "object", "purge", "v", "o", "--max-versions", "-3")


def test_etag_must_be_an_md5(oio):
    oio.file("f", b"hello")
    for bad in ("zz", "5D41402ABC4B2A76B9719D911017C59", "5D41402ABC4B2A76B9719D911017C59G"):
        proc = oio.fails(2, "object", "create", "c", "f", "--etag", bad)
        assert "--etag" in proc.err and "MD5" in proc.err and "mismatch" not in proc.err
    oio.fails(3, "container", "show", "c")  # refused before anything was created
    good = "5d41402abc4b2a76b9719d911017c592"  # lower case is fine
    oio.ok("object", "create", "c", "f", "--etag", good)
    proc = oio.fails(1, "object", "create", "c", "f", "--etag", "0" * 32)
    assert "mismatch" in proc.err.lower()  # a well-formed MD5 that differs


def test_integers_take_ascii_digits_only(stored):
    for bad in ("１", "1_0", "٣"):
        proc = stored.fails(2, "object", "show", "c", "o", "--object-version", bad)
        assert "--object-version" in proc.err
        stored.fails(2, "object", "list", "c", "--limit", bad)
        stored.fails(2, "object", "truncate", "c", "o", "--size", bad)
    assert stored.ok("object", "fetch", "c", "o").stdout == b"0123456789"
