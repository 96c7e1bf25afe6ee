"""Checks every test of the suite gets for free."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def no_pooled_buffer_leaks() -> Iterator[None]:
    """Every upload gives its pooled buffers back, failed ones included.

    The pool is shared by the whole process and `get` waits for a free buffer:
    64 buffers lost to failed uploads make the next upload wait forever.
    """
    yield
    memory = sys.modules.get("oiocli.io.memory")
    if memory is None:
        return
    leaked = {size: pool.in_use() for size, pool in memory._shared.items() if pool.in_use()}
    if leaked:
        for pool in memory._shared.values():
            # Rebalance so one leak fails one test, not every later one.
            with pool._cond:
                pool._allocated = len(pool._free)
                pool._cond.notify_all()
        pytest.fail(f"pooled buffers not given back (size: count): {leaked}")


# The race suite (tests/races) records its figures on each test report; they are
# summed here, in the process that prints the run's summary (xdist's controller too).
_RACE_FIGURES: list[dict] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call":
        _RACE_FIGURES.extend(value for name, value in report.user_properties if name == "race")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
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
