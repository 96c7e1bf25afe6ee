"""Checks every test of the suite gets for free."""

from __future__ import annotations

import re
import sys
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(autouse=True)
def no_pooled_buffer_leaks() -> Iterator[None]:
    """Every upload gives its pooled buffers back, failed ones included.

    The pool is shared by the whole process and `get` waits for a free buffer:
    64 buffers lost to failed uploads make the next upload wait forever.
    """
    yield
    buffers = sys.modules.get("oiocli.core.buffers")
    if buffers is None:
        return
    leaked = {size: pool.in_use() for size, pool in buffers._shared.items() if pool.in_use()}
    if leaked:
        for pool in buffers._shared.values():
            # Rebalance so one leak fails one test, not every later one.
            with pool._cond:
                pool._allocated = len(pool._free)
                pool._cond.notify_all()
        pytest.fail(f"pooled buffers not given back (size: count): {leaked}")


# The race suite (tests/races) records its figures on each test report; they are
# summed here, in the process that prints the run's summary (xdist's controller too).
_RACE_FIGURES: list[dict] = []


def _collect_race_figures(report: pytest.TestReport) -> None:
    if report.when == "call":
        _RACE_FIGURES.extend(value for name, value in report.user_properties if name == "race")


def _race_summary(terminalreporter: Any) -> None:
    if not _RACE_FIGURES:
        return
    import json
    import os

    terminalreporter.write_sep("-", "race suite")
    for backend in sorted({f["backend"] for f in _RACE_FIGURES}):
        rows = [f for f in _RACE_FIGURES if f["backend"] == backend]
        total = {k: sum(f[k] for f in rows) for k in ("rounds", "lost", "half_visible", "wrong")}
        unclean = sum(f["unclean_failures"] for f in rows)
        terminalreporter.write_line(
            f"{backend}: {len({f['pair'] for f in rows})} pairs, {total['rounds']} rounds; "
            f"acknowledged operations lost: {total['lost']}; half-visible objects: "
            f"{total['half_visible']}; other wrong states: {total['wrong']}; "
            f"unclean failures: {unclean}"
        )
    path = os.environ.get("OIO_RACES_REPORT")
    if path:
        with open(path, "w") as f:
            json.dump(_RACE_FIGURES, f, indent=1)


# ------------------------------------------------ runs against a real cluster
# Scenarios run on a real OpenIO namespace (`make test-cluster`): tests/cluster/ and the
# conformance scenarios of the "cluster" backend. The summary says how many ran there and
# how many were not applicable, by the capability they lack (the reason's prefix is the
# one tests/conformance/cluster_backend.py gives).
_NOT_APPLICABLE = "not applicable on the cluster: requires "
_CLUSTER_ID = re.compile(r"\[(?:[^\]]*-)?cluster(?:-[^\]]*)?\]$")
_cluster_outcomes: dict[str, str] = {}
_chunks_gone: list[str] = []  # "what (n chunks): seconds", from tests/cluster


def _on_cluster(nodeid: str) -> bool:
    return nodeid.startswith("tests/cluster/") or bool(_CLUSTER_ID.search(nodeid))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    _collect_race_figures(report)
    if not _on_cluster(report.nodeid):
        return
    if report.when == "call":
        _chunks_gone.extend(v for k, v in report.user_properties if k == "chunks_gone_s")
    previous = _cluster_outcomes.get(report.nodeid)
    if report.failed:
        _cluster_outcomes[report.nodeid] = "failed"
    elif report.skipped and previous is None:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else ""
        reason = reason.removeprefix("Skipped: ")
        if reason.startswith(_NOT_APPLICABLE):
            _cluster_outcomes[report.nodeid] = "n/a " + reason[len(_NOT_APPLICABLE) :]
        else:
            _cluster_outcomes[report.nodeid] = "skipped"
    elif report.when == "call" and report.passed and previous is None:
        _cluster_outcomes[report.nodeid] = "passed"
    if hasattr(report, "wasxfail") and report.skipped:
        _cluster_outcomes[report.nodeid] = "diverges"


def pytest_terminal_summary(terminalreporter: Any) -> None:
    _race_summary(terminalreporter)
    if not _cluster_outcomes:
        return
    outcomes = list(_cluster_outcomes.values())
    ran = sum(1 for o in outcomes if o in ("passed", "failed", "diverges"))
    na = Counter(o[4:] for o in outcomes if o.startswith("n/a "))
    write = terminalreporter.write_line
    terminalreporter.section("real OpenIO cluster")
    write(
        f"{ran} scenarios ran on the cluster ({outcomes.count('passed')} passed, "
        f"{outcomes.count('failed')} failed, {outcomes.count('diverges')} known divergences "
        f"(xfail)); {sum(na.values())} not applicable; "
        f"{outcomes.count('skipped')} skipped for other reasons"
    )
    for need, count in sorted(na.items(), key=lambda kv: (-kv[1], kv[0])):
        write(f"  not applicable, requires {need}: {count}")
    if _chunks_gone:
        seconds = sorted(float(v.rsplit(": ", 1)[1]) for v in _chunks_gone)
        write(
            f"chunks let go left the rawx (404) within {seconds[-1]:.2f} s "
            f"(median {seconds[len(seconds) // 2]:.2f} s, {len(seconds)} objects):"
        )
        for line in sorted(_chunks_gone):
            write(f"  {line} s")
