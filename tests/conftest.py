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
