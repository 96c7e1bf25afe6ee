"""Every pair of mutating operations on the same names, run at once in two `oio` processes.

Object operations (create, append, delete, truncate, link, drain, snapshot of
its container, purge, set-policy) and container operations (create, delete,
flush, set), each pair (an operation with itself too) for a few rounds on each
backend: the embedded namespace, and the same namespace behind a running
`oio namespace serve`. After each round:

- what is read back is one of the states the pair's oracle accepts (model.py):
  every operation that exited 0 is there, byte for byte, none that failed left
  anything ("lost" counts rounds where an acknowledged operation is missing);
- every listed object reads back whole and checks ok ("half-visible" counts
  the others);
- every failure is one line, no traceback, a documented exit code;
- container and account counters are exact;

and after each pair no orphan chunk, leftover database or temporary file is
left anywhere. The figures (pairs x rounds, lost, half-visible) are printed at
the end of the run. `make test` runs ROUNDS rounds per pair and backend,
`make test-all` LONG_ROUNDS more.
"""

from __future__ import annotations

import random

import pytest

from .harness import (
    RaceBackend,
    bad_failure,
    leftovers,
    observe,
    prepare_round,
    run_together,
    stats_problems,
    variant_for,
)
from .model import OPS, acceptable, describe, matches, pairs, state_key

ROUNDS = 2
LONG_ROUNDS = 24
PAIRS = pairs()


def explained(seen: tuple, states: list) -> bool:
    return any(matches(seen, state_key(s)) for s in states)


def run_rounds(backend: RaceBackend, pair: tuple[str, str], rounds: int, first: int = 0) -> dict:
    account = "-".join(pair) + ("" if first == 0 else f"-{first}")
    rng = random.Random(f"{backend.name}:{account}")
    figures = {"backend": backend.name, "pair": "/".join(pair), "rounds": 0, "lost": 0,
               "half_visible": 0, "wrong": 0, "unclean_failures": 0, "problems": []}  # fmt: skip
    problems = figures["problems"]
    for round_no in range(first, first + rounds):
        variant, policy = variant_for(pair, round_no)
        rnd, initial = prepare_round(backend, account, round_no, variant, policy, account)
        ops = [OPS[pair[0]]("a", rnd.names, rnd.files), OPS[pair[1]]("b", rnd.names, rnd.files)]
        env = dict(backend.env, OIO_ACCOUNT=account)
        outcomes = run_together(
            [op.argv() for op in ops], env, backend.work, rng, held=round_no % 2 == 0
        )
        codes = [o.code for o in outcomes]
        observed, half = observe(backend, rnd)
        good, lost = acceptable(initial, ops, codes)
        seen = state_key(observed)

        where = (
            f"round {round_no} ({variant}, {policy}): "
            f"{ops[0]} -> {codes[0]}, {ops[1]} -> {codes[1]}"
        )
        if not explained(seen, good):
            kind = "lost" if explained(seen, lost) else "wrong"
            figures[kind] += 1
            problems.append(
                f"{where}: {kind}: read back {describe(observed)}; acceptable: "
                + (" | ".join(describe(s) for s in good) or "none (outcomes no order explains)")
                + "; stderr: "
                + " / ".join(o.err.strip() for o in outcomes if o.code)
            )
        figures["half_visible"] += len(half)
        problems += [f"{where}: half-visible: {h}" for h in half]
        for outcome in outcomes:
            bad = bad_failure(outcome)
            if bad:
                figures["unclean_failures"] += 1
                problems.append(f"{where}: {bad}")
        problems += [f"{where}: {p}" for p in stats_problems(backend, account)]
        figures["rounds"] += 1
    problems += [f"after the rounds: {p}" for p in leftovers(backend)]
    return figures


def _check(figures: dict, record_property) -> None:
    record_property("race", {k: v for k, v in figures.items() if k != "problems"})
    assert not figures["problems"], "\n".join(figures["problems"])


@pytest.mark.parametrize("pair", PAIRS, ids=["~".join(p) for p in PAIRS])
def test_pair(race_backend, pair, record_property):
    _check(run_rounds(race_backend, pair, ROUNDS), record_property)


@pytest.mark.slow
@pytest.mark.parametrize("pair", PAIRS, ids=["~".join(p) for p in PAIRS])
def test_pair_long(race_backend, pair, record_property):
    _check(run_rounds(race_backend, pair, LONG_ROUNDS, first=ROUNDS), record_property)
