"""A stateful property test: random sequences of object operations against a plain model.

create / append / fetch-range / delete / versions / truncate / link / snapshot,
in a plain container (one version per name) and a versioned one, with mixed
policies (replicated and EC) and small chunks (several metachunks per object);
every read and every listing is compared with an in-memory model.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from oiocli.core.exceptions import BadRange, NoSuchObject

from .conftest import fast_tmp_dir, remove_tree
from .helpers import ACCOUNT, Namespace, read_all

PLAIN, VERSIONED = "p", "v"
POLICIES = ("SINGLE", "TWOCOPIES", "EC21", "EC")
NAMES = st.sampled_from(["a", "b", "dir/c", "é"])
DATA = st.one_of(
    st.binary(max_size=300),
    st.integers(0, 200_000).map(lambda n: bytes(i % 251 for i in range(n))),
)


class ObjectModel(RuleBasedStateMachine):
    """Model: container -> name -> versions [(version, data or None for a marker)]."""

    def __init__(self) -> None:
        super().__init__()
        self.root = fast_tmp_dir()
        self.ns = Namespace(Path(tempfile.mkdtemp(dir=self.root)))
        self.api = self.ns.api()
        self.api.container_create(ACCOUNT, PLAIN)
        self.api.container_create(ACCOUNT, VERSIONED, system={"sys.m2.policy.version": "-1"})
        self.model: dict[str, dict[str, list[tuple[int, bytes | None]]]] = {
            PLAIN: {},
            VERSIONED: {},
        }
        self.frozen: list[str] = []

    def teardown(self) -> None:
        remove_tree(self.root)

    # -- helpers -------------------------------------------------------------------
    def latest(self, container: str, name: str) -> bytes | None:
        versions = self.model[container].get(name)
        return versions[-1][1] if versions else None

    def live(self, container: str) -> list[str]:
        return sorted(n for n in self.model[container] if self.latest(container, n) is not None)

    def put_version(self, container: str, name: str, version: int, data: bytes) -> None:
        if container == PLAIN:
            self.model[container][name] = [(version, data)]
        else:
            self.model[container].setdefault(name, []).append((version, data))

    # -- rules ---------------------------------------------------------------------
    @rule(
        container=st.sampled_from([PLAIN, VERSIONED]),
        name=NAMES,
        data=DATA,
        policy=st.sampled_from(POLICIES),
    )
    def create(self, container, name, data, policy):
        *_, meta = self.api.object_create_ext(
            ACCOUNT, container, data=data, obj_name=name, policy=policy
        )
        self.put_version(container, name, meta["version"], data)

    @rule(container=st.sampled_from([PLAIN, VERSIONED]), name=NAMES, data=DATA)
    def append(self, container, name, data):
        *_, meta = self.api.object_create_ext(
            ACCOUNT, container, data=data, obj_name=name, append=True
        )
        current = self.latest(container, name)
        if current is None:  # nothing to append to: a new object (or version)
            self.put_version(container, name, meta["version"], data)
        else:
            versions = self.model[container][name]
            assert meta["version"] == versions[-1][0]
            versions[-1] = (versions[-1][0], current + data)

    @rule(container=st.sampled_from([PLAIN, VERSIONED]), name=NAMES, data=st.data())
    def fetch_range(self, container, name, data):
        current = self.latest(container, name)
        size = len(current) if current is not None else 1000
        start = data.draw(st.integers(0, size + 2), label="start")
        end = data.draw(st.one_of(st.none(), st.integers(start, start + size + 2)), label="end")
        if current is None:
            with pytest.raises(NoSuchObject):
                read_all(self.api, container, name, ranges=[(start, end)])
            return
        if start >= size and not (start == 0 and size == 0):
            with pytest.raises(BadRange):
                read_all(self.api, container, name, ranges=[(start, end)])
            return
        stop = size if end is None else end + 1
        got = read_all(self.api, container, name, ranges=[(start, end)])
        assert got == current[start:stop]

    @rule(container=st.sampled_from([PLAIN, VERSIONED]), name=NAMES)
    def delete(self, container, name):
        if self.latest(container, name) is None:
            with pytest.raises(NoSuchObject):
                self.api.object_delete(ACCOUNT, container, name)
            return
        _marker, version = self.api.object_delete(ACCOUNT, container, name)
        if container == PLAIN:
            del self.model[container][name]
        else:
            self.model[container][name].append((version, None))

    @precondition(lambda self: any(self.model[VERSIONED].values()))
    @rule(data=st.data())
    def fetch_old_version(self, data):
        name = data.draw(st.sampled_from(sorted(self.model[VERSIONED])), label="name")
        stored = [(v, d) for v, d in self.model[VERSIONED][name] if d is not None]
        if not stored:
            return
        version, expected = data.draw(st.sampled_from(stored), label="version")
        assert read_all(self.api, VERSIONED, name, version=version) == expected

    @rule(container=st.sampled_from([PLAIN, VERSIONED]), name=NAMES, data=st.data())
    def truncate(self, container, name, data):
        current = self.latest(container, name)
        if current is None:
            with pytest.raises(NoSuchObject):
                self.api.object_truncate(ACCOUNT, container, name, size=0)
            return
        size = data.draw(st.integers(0, len(current) + 1), label="size")
        if size > len(current):
            with pytest.raises(BadRange):
                self.api.object_truncate(ACCOUNT, container, name, size=size)
            return
        self.api.object_truncate(ACCOUNT, container, name, size=size)
        versions = self.model[container][name]
        versions[-1] = (versions[-1][0], current[:size])

    @rule(
        src_container=st.sampled_from([PLAIN, VERSIONED]),
        dst_container=st.sampled_from([PLAIN, VERSIONED]),
        src=NAMES,
        dst=NAMES,
    )
    def link(self, src_container, dst_container, src, dst):
        current = self.latest(src_container, src)
        if current is None:
            with pytest.raises(NoSuchObject):
                self.api.object_link(ACCOUNT, src_container, src, ACCOUNT, dst_container, dst)
            return
        self.api.object_link(ACCOUNT, src_container, src, ACCOUNT, dst_container, dst)
        meta = self.api.object_get_properties(ACCOUNT, dst_container, dst)
        self.put_version(dst_container, dst, meta["version"], current)

    @precondition(lambda self: len(self.frozen) < 2)
    @rule(container=st.sampled_from([PLAIN, VERSIONED]))
    def snapshot(self, container):
        dst = f"snap{len(self.frozen)}"
        self.api.container_snapshot(ACCOUNT, container, ACCOUNT, dst)
        self.model[dst] = {n: list(v) for n, v in self.model[container].items()}
        self.frozen.append(dst)

    # -- invariants ----------------------------------------------------------------
    @invariant()
    def listings_match(self):
        for container in self.model:
            listing = self.api.object_list(ACCOUNT, container)["objects"]
            got = [(e["name"], e["size"]) for e in listing]
            want = [(n, len(self.latest(container, n))) for n in self.live(container)]
            assert got == want, container
        versions = self.api.object_list(ACCOUNT, VERSIONED, versions=True)["objects"]
        got = sorted((e["name"], e["version"], e["deleted"]) for e in versions)
        want = sorted(
            (name, version, data is None)
            for name, stored in self.model[VERSIONED].items()
            for version, data in stored
        )
        assert got == want

    @invariant()
    def snapshots_read_back(self):
        for dst in self.frozen:
            for name in self.live(dst):
                assert read_all(self.api, dst, name) == self.latest(dst, name)


ObjectModel.TestCase.settings = settings(
    max_examples=20,
    stateful_step_count=20,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
test_object_model = ObjectModel.TestCase


class LongObjectModel(ObjectModel):
    pass


LongObjectModel.TestCase.settings = settings(
    ObjectModel.TestCase.settings, max_examples=200, stateful_step_count=40
)
test_object_model_long = pytest.mark.slow(LongObjectModel.TestCase)


# -- multi-process mode ------------------------------------------------------------------
# The same idea with several processes: each step runs two mutating operations at
# once, as two `oio` processes (see tests/races), or one alone, on a namespace whose
# state carries over from step to step (a drained object appended to, a container
# deleted then autocreated, snapshots piling up...). After each step what is read back
# must be a state the race oracle accepts for the exit codes seen; it becomes the
# model's state. Counters stay exact and, at the end, nothing is left over.

from races.harness import (  # noqa: E402 - the multi-process mode's own tools
    RaceBackend,
    Round,
    bad_failure,
    leftovers,
    observe,
    round_files,
    run_together,
    stats_problems,
)
from races.model import (  # noqa: E402
    OPS,
    Container,
    Names,
    acceptable,
    adopt,
    describe,
    matches,
    state_key,
)

OP_NAMES = st.sampled_from(sorted(OPS))


class ConcurrentObjectModel(RuleBasedStateMachine):
    """Steps of two operations at once (or one) in real CLI processes, against the oracle."""

    def __init__(self) -> None:
        super().__init__()
        import random

        self.root = fast_tmp_dir()
        self.backend = RaceBackend(self.root)
        self.account = "model"
        self.step_no = 0
        self.rng = random.Random(0)
        self.backend.api().container_create(self.account, "c")
        self.state = {"c": Container()}

    def teardown(self) -> None:
        try:
            assert leftovers(self.backend) == []
        finally:
            remove_tree(self.root)

    def _run(self, names: list[str], held: bool) -> None:
        self.step_no += 1
        rnd = Round(self.account, Names(container="c", snapshot=f"s{self.step_no}"))
        round_files(self.backend, rnd, self.rng, str(self.step_no))
        roles = "ab"[: len(names)]
        ops = [OPS[n](role, rnd.names, rnd.files) for n, role in zip(names, roles, strict=True)]
        env = dict(self.backend.env, OIO_ACCOUNT=self.account)
        outcomes = run_together([op.argv() for op in ops], env, self.backend.work, self.rng, held)
        for outcome in outcomes:
            assert bad_failure(outcome) is None, bad_failure(outcome)
        codes = [o.code for o in outcomes]
        observed, half = observe(self.backend, rnd, also=self.state)
        assert half == [], half
        good, _lost = acceptable(self.state, ops, codes)
        seen = state_key(observed)
        found = [s for s in good if matches(seen, state_key(s))]
        assert found, (
            f"{ops} -> {codes}: read back {describe(observed)}; acceptable: "
            + (" | ".join(describe(s) for s in good) or "none")
            + f"; from {describe(self.state)}"
        )
        self.state = adopt(found[0], observed)

    @rule(a=OP_NAMES, b=OP_NAMES, held=st.booleans())
    def together(self, a, b, held):
        self._run([a, b], held)

    @rule(a=OP_NAMES)
    def alone(self, a):
        self._run([a], held=False)

    @invariant()
    def counters_exact(self):
        assert stats_problems(self.backend, self.account) == []


ConcurrentObjectModel.TestCase.settings = settings(
    max_examples=2,
    stateful_step_count=6,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
test_concurrent_model = ConcurrentObjectModel.TestCase


class LongConcurrentObjectModel(ConcurrentObjectModel):
    pass


LongConcurrentObjectModel.TestCase.settings = settings(
    ConcurrentObjectModel.TestCase.settings, max_examples=25, stateful_step_count=25
)
test_concurrent_model_long = pytest.mark.slow(LongConcurrentObjectModel.TestCase)
