"""Issue 2, done-when 2: random ranges return exactly the source bytes."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oiocli.core.exceptions import BadRange

from .helpers import ACCOUNT, MiB, by_metachunk, fetch

# (policy, size): with 1 MiB chunks a THREECOPIES metachunk is 1 MiB, an EC21 one 2 MiB
# (2 segments), an EC 6+3 one 6 MiB (6 segments); every object spans several metachunks
# and ends inside a segment.
OBJECTS = {
    "THREECOPIES": 3 * MiB + 654_321,
    "EC21LIBEC": 4 * MiB + 456_789,
    "EC": 13 * MiB + 12_345,
}


class Stored:
    def __init__(self, api, name: str, data: bytes, boundaries: list[int]) -> None:
        self.api = api
        self.name = name
        self.data = data
        self.boundaries = boundaries  # metachunk and segment boundaries, 0 and size included


@pytest.fixture(scope="module")
def stored(module_backend) -> dict[str, Stored]:
    api = module_backend.new_api(chunk_size=MiB)
    result = {}
    for policy, size in OBJECTS.items():
        if policy not in api.backend.policies.methods:
            continue  # a namespace without it (a cluster): its scenarios are not applicable
        data = os.urandom(size)
        api.object_create(ACCOUNT, "ranges", data=data, obj_name=policy, policy=policy)
        _meta, chunks = api.object_locate(ACCOUNT, "ranges", policy)
        offsets = {c["offset"] for c in chunks}
        assert len(by_metachunk(chunks)) > 1, "the object must span several metachunks"
        segments = set(range(0, size, MiB))
        result[policy] = Stored(api, policy, data, sorted(offsets | segments | {size}))
    return result


@st.composite
def one_range(draw, size: int, boundaries: list[int]):
    """An inclusive range: (start, end), (start, None) or the suffix (None, n)."""

    def position():
        near = draw(st.sampled_from(boundaries)) + draw(st.integers(-3, 3))
        anywhere = draw(st.integers(0, size - 1))
        return min(max(draw(st.sampled_from([near, anywhere])), 0), size - 1)

    kind = draw(st.sampled_from(["closed", "closed", "closed", "open", "suffix"]))
    if kind == "suffix":
        n = draw(st.one_of(st.integers(1, size + 10), st.sampled_from([1, size, size + 1])))
        return (None, n)
    start = position()
    if kind == "open":
        return (start, None)
    end = draw(
        st.one_of(
            st.integers(start, min(size + 10, start + 3 * MiB)),
            st.integers(start, start + 2),
            st.just(max(position(), start)),
        )
    )
    return (start, end)


def expected(data: bytes, ranges) -> bytes:
    out = []
    for start, end in ranges:
        if start is None:
            out.append(data[-end:] if end < len(data) else data)
        elif end is None:
            out.append(data[start:])
        else:
            out.append(data[start : end + 1])
    return b"".join(out)


@pytest.mark.parametrize("policy", sorted(OBJECTS))
@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_random_ranges_return_exact_bytes(stored, policy, data):
    obj = stored[policy]
    ranges = data.draw(
        st.lists(one_range(len(obj.data), obj.boundaries), min_size=1, max_size=4), label="ranges"
    )
    got = fetch(obj.api, "ranges", obj.name, ranges=ranges)
    assert got == expected(obj.data, ranges)


@pytest.mark.parametrize("policy", sorted(OBJECTS))
def test_ranges_of_the_reference_scenarios(stored, policy):
    """Reference 5.2 #8 and #9: fixed ranges, metachunk edges, several ranges in one call."""
    obj = stored[policy]
    size = len(obj.data)
    mc = [b for b in obj.boundaries if 0 < b < size]
    cases = [
        [(0, 666)],
        [(666, size)],
        [(1000, 2000)],
        [(size - 1, size - 1)],
        [(0, size - 1)],
        [(mc[0] - 1, mc[0] + 1)],
        [(mc[0], mc[0])],
        [(mc[0] - 1, mc[0] - 1)],
        [(mc[-1] - 5, None)],
        [(None, size - mc[0] + 3)],
        [(mc[0], mc[0] + 2), (0, 1), (1, 2), (4, 6)],
    ]
    for ranges in cases:
        assert fetch(obj.api, "ranges", obj.name, ranges=ranges) == expected(obj.data, ranges), (
            ranges
        )
    four = fetch(obj.api, "ranges", obj.name, ranges=[(mc[0], mc[0] + 2), (0, 1), (1, 2), (4, 6)])
    assert len(four) == 10


BAD_RANGES = {
    "negative": lambda size: [(-1, 10)],
    "negative-open": lambda size: [(-10, None)],
    "reversed": lambda size: [(10, 5)],
    "reversed-adjacent": lambda size: [(1, 0)],
    "start-at-end-open": lambda size: [(size, None)],
    "start-at-end": lambda size: [(size, size + 10)],
    "start-past-end": lambda size: [(size + 5, None)],
    "negative-suffix": lambda size: [(None, -1)],
    "good-then-reversed": lambda size: [(0, 10), (10, 5)],
    "good-then-past-end": lambda size: [(0, 10), (size, None)],
}


@pytest.mark.parametrize("policy", sorted(OBJECTS))
@pytest.mark.parametrize("bad", sorted(BAD_RANGES))
def test_bad_ranges_raise_and_return_nothing(stored, policy, bad):
    obj = stored[policy]
    ranges = BAD_RANGES[bad](len(obj.data))
    received = []
    with pytest.raises(BadRange):
        _meta, stream = obj.api.object_fetch(ACCOUNT, "ranges", obj.name, ranges=ranges)
        for piece in stream:
            received.append(piece)
    assert received == []
