"""The benchmarks' own helpers: page-cache checks, spread, and the table of a run.

A figure called "cold" must be one: these check that eviction leaves no page of the file
resident (by mincore, and by util-linux `fincore` where it is installed), that a read brings
them all back, and that the spread and the rows carry what the table prints.
"""

from __future__ import annotations

import os
import shutil

import pytest

from benchmarks import cache
from benchmarks.common import Row, Target, sampled, spread, spread_text
from benchmarks.report import ours_table
from benchmarks.transfers import parity, parse_method

SIZE = 4 * 1024 * 1024 + 123  # not a whole number of pages


@pytest.fixture
def data_file(tmp_path):
    path = tmp_path / "data.bin"
    path.write_bytes(os.urandom(SIZE))
    return path


def test_eviction_leaves_no_page_and_a_read_brings_them_back(data_file):
    pages = (SIZE + cache.PAGE - 1) // cache.PAGE
    hot = cache.warm(data_file)
    assert (hot.resident, hot.pages) == (pages, pages)
    assert hot.hot and not hot.cold
    cold = cache.evict([data_file])
    assert (cold.resident, cold.pages, cold.files) == (0, pages, 1)
    assert cache.resident_pages(data_file) == (0, pages)
    assert str(cold) == f"cold, 0 of {pages} pages resident (mincore)"


def test_a_partial_read_is_reported_as_not_cold(data_file):
    cache.evict([data_file])
    with open(data_file, "rb") as f:
        f.read(1024 * 1024)
    resident, total = cache.resident_pages(data_file)
    assert 0 < resident < total
    state = cache.check([data_file])
    assert not state.cold and not state.hot
    assert str(state).startswith("NOT COLD")
    assert cache.describe([cache.evict([data_file]), state]).startswith("NOT COLD")


@pytest.mark.skipif(shutil.which("fincore") is None, reason="util-linux fincore not installed")
def test_mincore_agrees_with_fincore(data_file):
    cache.warm(data_file)
    assert cache.resident_pages(data_file) == cache.fincore_pages(data_file)
    cache.evict([data_file])
    assert cache.resident_pages(data_file) == cache.fincore_pages(data_file) == (0, 1025)


def test_an_empty_file_has_no_page(tmp_path):
    empty = tmp_path / "empty"
    empty.touch()
    assert cache.resident_pages(empty) == (0, 0)
    assert cache.evict([empty]).cold


def test_writes_not_yet_flushed_count_as_pending_writeback(tmp_path):
    with open(tmp_path / "dirty", "wb") as f:
        f.write(os.urandom(32 << 20))
    assert cache.pending_writeback_kib() >= 16 << 10  # KiB: most of the 32 MiB is still dirty


def test_spread_is_the_range_over_the_median():
    assert spread([10.0, 11.0, 12.0]) == pytest.approx(2 / 11)
    assert spread([5.0]) is None
    assert spread_text([10.0, 11.0, 12.0]) == "3, 10-12, 18%"
    assert spread_text([]) == ""


def test_a_sampled_row_is_the_median_and_carries_its_spread():
    row = sampled(
        "s", "upload", [100.0, 300.0, 200.0], "MB/s", "disk", 400.0, Target("ratio", ">=", 0.5)
    )
    assert row.value == 200.0 and row.ratio == 0.5 and row.met is True
    record = row.as_dict()
    assert record["samples"] == [100.0, 300.0, 200.0]
    assert (record["n"], record["min"], record["max"]) == (3, 100.0, 300.0)
    assert record["spread"] == pytest.approx(1.0)
    printed = ours_table([row, Row("s", "broken", None, "s", error="boom")])
    assert "3, 100-300, 100%" in printed and "boom" in printed


def test_chunk_methods_are_parsed():
    assert parse_method("ec/algo=isa_l_rs_vand,k=6,m=3") == {
        "kind": "ec",
        "algo": "isa_l_rs_vand",
        "k": "6",
        "m": "3",
    }
    assert parity("ec/algo=isa_l_rs_vand,k=6,m=3") == 3
    assert parity("plain/nb_copy=3") == 0
    assert parity(None) == 0


def test_two_runs_are_compared_on_their_ratios_worst_first():
    from benchmarks.compare import compare, difference

    def run(*rows):
        return {
            "ours": [dict(zip(("name", "ratio", "value", "error"), r, strict=True)) for r in rows]
        }

    a = run(("up", 0.80, 400.0, None), ("down", 1.0, 500.0, None), ("rss", None, 40.0, None))
    b = run(("up", 0.60, 300.0, None), ("down", 1.1, 550.0, None), ("rss", None, 40.0, None))
    b["ours"].append({"name": "only in b", "ratio": 1.0, "value": 1.0, "error": None})
    got = compare(a, b)
    assert [r[0] for r in got] == ["up", "down", "rss"]
    assert got[0][4] == pytest.approx(0.2 / 0.6)
    assert got[2][1:] == ("value", 40.0, 40.0, 0.0)
    assert difference(0.0, 0.0) == 0.0 and difference(0.0, 1.0) == float("inf")
