"""kill -9 of CLI uploads, deletes, truncates, snapshots and purges at random moments.

After every round: no partial object is visible, every listed object (and
version) reads exactly one of the states it could be in (before or after the
killed operation), and checks report nothing but orphan chunks, which the
orphan cleaner removes; a second check is clean.

The moment of the kill is drawn from a seeded generator: for uploads a byte
offset of the data fed on stdin, for the other operations a delay after the
start (CLI start-up included, so some kills land before, some during, some
after the work).
"""

from __future__ import annotations

import hashlib
import json
import random
import signal
import subprocess

import pytest

from oiocli.core.exceptions import NoSuchContainer

from .helpers import ACCOUNT, POLICIES, read_all

K = "k"  # plain container: uploads, deletes, truncates, snapshots
V = "v"  # versioned container: purges
ABSENT = None


class Model:
    """What each name may hold: a set of acceptable contents (None = absent)."""

    def __init__(self) -> None:
        self.objects: dict[str, set[bytes | None]] = {}
        self.versions: dict[str, list[bytes]] = {}  # V: oldest first
        self.snapshots: dict[str, set[tuple | None]] = {}

    def sure(self, name: str) -> bytes | None:
        states = self.objects.get(name, {ABSENT})
        return next(iter(states)) if len(states) == 1 else None


def _spawn(ns, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        ns.popen_args(*args),
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=ns.env,
        cwd=ns.cwd,
    )


def _kill(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)


def _kill_after(proc: subprocess.Popen, delay: float) -> None:
    try:
        proc.wait(timeout=delay)  # the operation may well finish first
    except subprocess.TimeoutExpired:
        pass
    if proc.poll() is None:
        _kill(proc)


def _upload(ns, model, rng):
    names = sorted(model.objects)
    name = rng.choice(names) if names and rng.random() < 0.4 else f"o{rng.randrange(10**6)}"
    data = rng.randbytes(rng.choice((0, 1, 5000, 70_000, 300_000, 900_000)))
    policy = rng.choice(POLICIES)
    proc = _spawn(ns, "object", "create", K, "-", "--name", name, "--policy", policy)
    cut = rng.randrange(len(data) + 1)
    try:
        for start in range(0, cut, 65536):
            proc.stdin.write(data[start : min(cut, start + 65536)])
        if cut == len(data) and rng.random() < 0.5:
            proc.stdin.close()  # all sent: the kill lands during the commit, or after
            _kill_after(proc, rng.uniform(0, 0.3))
        else:
            proc.stdin.flush()
            _kill(proc)
    except BrokenPipeError:
        _kill(proc)
    with_new = model.objects.get(name, {ABSENT}) | {data}
    model.objects[name] = with_new


def _delete(ns, model, rng):
    names = sorted(n for n, s in model.objects.items() if s != {ABSENT})
    if not names:
        return _upload(ns, model, rng)
    name = rng.choice(names)
    _kill_after(_spawn(ns, "object", "delete", K, name), rng.uniform(0, 0.6))
    model.objects[name] = model.objects[name] | {ABSENT}


def _truncate(ns, model, rng):
    names = sorted(n for n in model.objects if model.sure(n))
    if not names:
        return _upload(ns, model, rng)
    name = rng.choice(names)
    data = model.sure(name)
    size = rng.randrange(len(data))
    _kill_after(_spawn(ns, "object", "truncate", K, name, "--size", str(size)), rng.uniform(0, 0.6))
    model.objects[name] = {data, data[:size]}


def _snapshot(ns, model, rng):
    if any(len(s) > 1 for s in model.objects.values()):
        _observe(ns, model)  # the source must be known exactly
    dst = f"snap{len(model.snapshots)}"
    content = tuple(sorted((n, s) for n in model.objects if (s := model.sure(n)) is not None))
    _kill_after(_spawn(ns, "container", "snapshot", K, "--dst-container", dst), rng.uniform(0, 0.6))
    model.snapshots[dst] = {ABSENT, content}


def _purge(ns, model, rng):
    names = sorted(n for n, v in model.versions.items() if len(v) > 1)
    if not names:
        return
    name = rng.choice(names)
    keep = rng.randint(1, len(model.versions[name]) - 1)
    if rng.random() < 0.5:
        args = ("object", "purge", V, name, "--max-versions", str(keep))
    else:
        args = ("container", "purge", V, "--max-versions", str(keep))
    _kill_after(_spawn(ns, *args), rng.uniform(0, 0.6))


OPERATIONS = (_upload, _upload, _delete, _truncate, _snapshot, _purge)


def _observe(ns, model):
    """Compare the namespace with the model, then collapse the model to what is there."""
    api = ns.api()
    listed = {e["name"]: e for e in api.object_list(ACCOUNT, K)["objects"]}
    for name in set(listed) | set(model.objects):
        states = model.objects.get(name, {ABSENT})
        if name not in listed:
            assert ABSENT in states, f"{name} vanished"
            model.objects[name] = {ABSENT}
            continue
        data = read_all(api, K, name)
        assert data in states, f"{name}: {len(data)} bytes, none of the expected states"
        entry = listed[name]
        assert entry["size"] == len(data)
        if entry["hash"]:
            assert entry["hash"] == hashlib.md5(data).hexdigest().upper(), name
        model.objects[name] = {data}
    # versions: every listed one reads exactly, none appears from nowhere, the newest stay
    entries = api.object_list(ACCOUNT, V, versions=True)["objects"]
    for name, versions in model.versions.items():
        mine = sorted((e for e in entries if e["name"] == name), key=lambda e: e["version"])
        got = [read_all(api, V, name, version=e["version"]) for e in mine]
        assert got, name
        assert got == versions[len(versions) - len(got) :], f"{name}: not the newest versions"
        model.versions[name] = got
    for dst, states in model.snapshots.items():
        try:
            rows = api.object_list(ACCOUNT, dst)["objects"]
        except Exception as exc:  # noqa: BLE001 - absent: NoSuchContainer
            assert ABSENT in states, (dst, exc)
            model.snapshots[dst] = {ABSENT}
            continue
        content = tuple(sorted((e["name"], read_all(api, dst, e["name"])) for e in rows))
        assert content in states, f"snapshot {dst} is partial"
        model.snapshots[dst] = {content}


def _containers(model):
    return [K, V] + [d for d, s in model.snapshots.items() if s != {ABSENT}]


def _checks_clean(ns, model):
    """Checks show nothing wrong; orphans are listed, deleted, then gone."""
    for container in _containers(model):
        proc = ns.run("container", "check", container, "-f", "json")
        assert proc.returncode == 0, (container, proc.err)
        assert {r["State"] for r in json.loads(proc.stdout)} <= {"ok"}
    ns.clean_orphans()
    proc = ns.run("namespace", "check", "--repair", "-f", "json")
    assert proc.returncode == 0, proc.err
    rows = json.loads(proc.stdout)
    # a killed snapshot may leave its temporary database: removed by --repair
    repaired = [r for r in rows if r["State"] != "ok"]
    assert all(r["Check"] == "leftover database" for r in repaired), repaired
    assert ns.run("namespace", "check").returncode == 0
    for container in _containers(model):
        assert ns.run("container", "check", container).returncode == 0


def _scenario(ns, seed, rounds):
    rng = random.Random(seed)
    random.seed(seed)
    model = Model()
    api = ns.api()
    api.container_create(ACCOUNT, K)
    api.container_create(ACCOUNT, V, system={"sys.m2.policy.version": "-1"})
    for i in range(3):
        name = f"seed{i}"
        model.objects[name] = {rng.randbytes(rng.randrange(1, 200_000))}
        api.object_create(ACCOUNT, K, data=model.sure(name), obj_name=name)
        versions = [rng.randbytes(rng.randrange(1, 100_000)) for _ in range(4)]
        for data in versions:
            api.object_create(ACCOUNT, V, data=data, obj_name=f"ver{i}", policy="TWOCOPIES")
        model.versions[f"ver{i}"] = versions
    for _ in range(rounds):
        rng.choice(OPERATIONS)(ns, model, rng)
        _observe(ns, model)
    _checks_clean(ns, model)


@pytest.mark.parametrize("seed", [101, 102])
def test_kill9_rounds(ns, seed):
    _scenario(ns, seed, rounds=6)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(103, 109))
def test_kill9_many_rounds(ns, seed):
    _scenario(ns, seed, rounds=30)


def test_kill9_upload_from_file_then_retry(ns):
    """A killed upload of a file: nothing visible; uploaded again, it reads exactly."""
    rng = random.Random(7)
    data = rng.randbytes(2_000_000)
    src = ns.file("big.bin", data)
    proc = _spawn(ns, "object", "create", K, str(src), "--policy", "EC21")
    _kill_after(proc, 0.4)  # anywhere: start-up, data, commit, or already done
    api = ns.api()
    try:
        listed = [e["name"] for e in api.object_list(ACCOUNT, K)["objects"]]
    except NoSuchContainer:  # killed before it autocreated the container
        listed = []
    assert listed in ([], ["big.bin"])
    if listed:
        assert read_all(api, K, "big.bin") == data
    ns.ok("object", "create", K, str(src), "--policy", "EC21")
    assert ns.ok("object", "fetch", K, "big.bin").stdout == data
    assert ns.run("container", "check", K).returncode == 0
    ns.clean_orphans()
