"""Run two `oio` commands at once, set up each round, read back what they left.

Each command runs in its own process: the real CLI (`oiocli.shell.main`, what
the `oio` script calls), started with its imports done and then held on a
pipe, so both begin at the same instant (plus a small random delay, seeded,
that moves the overlap around); every other round runs the `oio` script itself,
started back to back, as a user would.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from oiocli.api import ObjectStorageApi
from oiocli.core.exceptions import NoSuchContainer, OioException

from .model import Container, Names, Op, State, Version

NAMESPACE = "RACENS"
CHUNK_SIZE = 64 * 1024
DEFAULT_POLICY = "SINGLE"

HELD = r"""
import os, sys, time
ready, go, delay = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
import oiocli.shell, oiocli.api.object_storage, oiocli.commands.object
import oiocli.commands.container, oiocli.backends.embedded.meta, oiocli.backends.proxy.meta
import oiocli.io.writer, oiocli.io.reader
os.write(ready, b"r")
os.close(ready)
os.read(go, 1)
if delay:
    time.sleep(delay)
sys.argv[0] = "oio"
sys.exit(oiocli.shell.main(sys.argv[4:]))
"""


def oio_script() -> list[str]:
    script = Path(sys.executable).with_name("oio")
    return [str(script)] if script.exists() else [sys.executable, "-m", "oiocli.shell"]


@dataclass
class Outcome:
    code: int
    err: str
    argv: list[str]


def run_together(
    argvs: list[list[str]], env: dict[str, str], cwd: Path, rng: random.Random, held: bool
) -> list[Outcome]:
    """Start every command at once; their outcomes, in order."""
    delays = [rng.choice([0.0, 0.0, rng.uniform(0, 0.03)]) for _ in argvs]
    procs = []
    if held:
        ready_r, ready_w = os.pipe()
        go_r, go_w = os.pipe()
        try:
            for argv, delay in zip(argvs, delays, strict=True):
                procs.append(
                    subprocess.Popen(
                        [sys.executable, "-c", HELD, str(ready_w), str(go_r), str(delay), *argv],
                        pass_fds=(ready_w, go_r),
                        stdin=subprocess.DEVNULL,
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.PIPE,
                        env=env,
                        cwd=cwd,
                    )
                )
            os.close(ready_w)
            ready_w = -1
            got = b""
            while len(got) < len(procs):
                piece = os.read(ready_r, 8)
                if not piece:
                    break  # a child died before it was ready: its exit code says why
                got += piece
        finally:
            os.close(go_w)  # every held command starts now
            os.close(go_r)
            os.close(ready_r)
            if ready_w != -1:
                os.close(ready_w)
    else:
        for argv in argvs:
            procs.append(
                subprocess.Popen(
                    [*oio_script(), *argv],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                    env=env,
                    cwd=cwd,
                )
            )
    outcomes = []
    for proc, argv in zip(procs, argvs, strict=True):
        try:
            _out, err = proc.communicate(timeout=300)
        except subprocess.TimeoutExpired:
            proc.kill()
            _out, err = proc.communicate()
        outcomes.append(Outcome(proc.returncode, err.decode(errors="replace"), argv))
    return outcomes


class RaceBackend:
    """A namespace the race rounds run on, embedded or served by `oio namespace serve`."""

    name = "embedded"

    def __init__(self, root: Path) -> None:
        self.root = root
        self.data_dir = root / "ns"
        self.work = root / "work"
        self.work.mkdir(parents=True, exist_ok=True)
        (root / "home").mkdir(exist_ok=True)
        ObjectStorageApi(
            NAMESPACE, str(self.data_dir), chunk_size=CHUNK_SIZE, storage_policy=DEFAULT_POLICY
        )
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("OIO_")}
        self.env.update(
            OIO_DATA_DIR=str(self.data_dir),
            OIO_NS=NAMESPACE,
            HOME=str(root / "home"),
            XDG_DATA_HOME=str(root / "xdg"),
        )
        self.local = ObjectStorageApi(NAMESPACE, str(self.data_dir))  # checks, on the files

    def api(self) -> ObjectStorageApi:
        """The API the rounds set up and read back with (the backend under test)."""
        return ObjectStorageApi(NAMESPACE, str(self.data_dir))

    def stop(self) -> None:
        pass


class ServedRaceBackend(RaceBackend):
    """The same namespace behind `oio namespace serve` (a separate process, kept running)."""

    name = "proxy"

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.log = open(root / "serve.log", "wb")  # noqa: SIM115 - closed in stop()
        self.server = subprocess.Popen(
            [*oio_script(), "namespace", "serve", "--port", "0"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self.log,
            env=self.env,
            cwd=self.work,
        )
        line = self.server.stdout.readline().decode().strip()
        if not line.startswith("http://"):
            self.server.kill()
            raise RuntimeError(f"oio namespace serve did not start: {line!r}")
        self.url = line  # a few more lines follow, then nothing: the pipe never fills
        self.env["OIO_PROXYD_URL"] = self.url

    def api(self) -> ObjectStorageApi:
        return ObjectStorageApi(NAMESPACE, proxy=self.url)

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.server.send_signal(signal.SIGTERM)
        try:
            self.server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.server.kill()
            self.server.wait()
        self.log.close()


BACKENDS = {"embedded": RaceBackend, "proxy": ServedRaceBackend}
VARIANTS = ("full-plain", "full-versioned", "empty", "absent")


def variant_for(pair: tuple[str, str], round_no: int) -> tuple[str, str]:
    """(initial state, policy of its object) of a round: the interesting ones first.

    A container deletion only succeeds on an empty container, and creations
    (autocreate) do the most when there is no container yet.
    """
    from .model import CONTAINER_OPS

    if {"container-delete", "container-create"} & set(pair):
        order = ("empty", "full-plain", "absent", "full-versioned")
    elif {"create", "append", "container-flush", "container-set"} & set(pair):
        order = ("full-plain", "empty", "full-versioned", "absent")
    elif CONTAINER_OPS & set(pair):
        order = ("full-plain", "full-versioned", "empty", "absent")
    else:
        order = ("full-plain", "full-versioned", "full-plain", "empty")
    return order[round_no % len(order)], ("THREECOPIES", "EC21")[(round_no // 2) % 2]


@dataclass
class Round:
    account: str
    names: Names
    files: dict[str, Any] = field(default_factory=dict)


def round_files(backend: RaceBackend, rnd: Round, rng: random.Random, tag: str) -> None:
    """The data the round's creates and appends upload (files, and their bytes)."""
    folder = backend.work / rnd.account / tag
    folder.mkdir(parents=True, exist_ok=True)
    for what, size in (
        ("create-a", 100_000),
        ("create-b", 70_000),
        ("append-a", 30_000),
        ("append-b", 20_000),
    ):
        data = rng.randbytes(size)
        path = folder / what
        path.write_bytes(data)
        rnd.files[what] = str(path)
        rnd.files[f"{what}-data"] = data
    rnd.files["default-policy"] = DEFAULT_POLICY


def prepare_round(
    backend: RaceBackend, account: str, round_no: int, variant: str, policy: str, seed: str
) -> tuple[Round, State]:
    """Make the round's initial state with the backend's API; its model."""
    rng = random.Random(f"{seed}:{round_no}")
    names = Names(container=f"c{round_no}", snapshot=f"s{round_no}")
    rnd = Round(account, names)
    round_files(backend, rnd, rng, str(round_no))
    api = backend.api()
    state: State = {}
    c = names.container
    if variant == "absent":
        return rnd, state
    versioned = variant == "full-versioned"
    system = {"sys.m2.policy.version": "-1"} if versioned else None
    api.container_create(account, c, system=system)
    model = state[c] = Container(versioned=versioned)
    if variant.startswith("full"):
        sizes = (40_000, 150_000) if versioned else (150_000,)
        for size in sizes:
            data = rng.randbytes(size)
            api.object_create(account, c, data=data, obj_name=names.obj, policy=policy)
            model.put(names.obj, Version(data, policy))
    return rnd, state


def observe(backend: RaceBackend, rnd: Round, also: Any = ()) -> tuple[State, list[str]]:
    """The round's containers (and `also`) as the backend reads them back; half-visible ones."""
    api = backend.api()
    state: State = {}
    half: list[str] = []
    for cname in sorted({rnd.names.container, rnd.names.snapshot, *also}):
        try:
            props = api.container_get_properties(rnd.account, cname)
        except NoSuchContainer:
            continue
        system = props["system"]
        c = state[cname] = Container(
            versioned=int(system.get("sys.m2.policy.version") or 1) != 1,
            frozen=str(system.get("sys.status") or "0") != "0",
            props=dict(props["properties"]),
        )
        listing = api.object_list(rnd.account, cname, versions=True, deleted=True)["objects"]
        for entry in sorted(listing, key=lambda e: (e["name"], e["version"])):
            name = entry["name"]
            if entry["deleted"]:
                c.objects.setdefault(name, []).append(Version(None))
                continue
            if entry.get("chunk_method") == "drained":
                c.objects.setdefault(name, []).append(
                    Version(bytes(entry["size"]), entry["policy"], drained=True)
                )
                continue
            where = f"{rnd.account}/{cname}/{name} v{entry['version']}"
            try:
                _meta, stream = api.object_fetch(rnd.account, cname, name, version=entry["version"])
                data = b"".join(stream)
            except OioException as exc:
                half.append(f"{where}: listed, but fetch fails: {exc}")
                data = b""
            if len(data) != entry["size"]:
                half.append(f"{where}: listed with {entry['size']} bytes, fetch gives {len(data)}")
            try:
                row = backend.local.object_check(rnd.account, cname, name, version=entry["version"])
                if row["state"] != "ok" or row["misplaced"]:
                    half.append(f"{where}: object check says {row['state']}: {row['detail']}")
            except OioException as exc:
                half.append(f"{where}: object check fails: {exc}")
            c.objects.setdefault(name, []).append(Version(data, entry["policy"]))
    return state, half


def stats_problems(backend: RaceBackend, account: str) -> list[str]:
    """Counters of the account's containers and of the account, against what they hold."""
    ns = backend.local.backend
    problems = []
    rows = ns._ns_read("SELECT name, objects, bytes FROM containers WHERE account = ?", (account,))
    totals = [0, 0]
    for name, objects, nbytes in rows:
        cdb = ns.container(account, name)
        real = cdb.conn.execute(
            "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM aliases WHERE deleted = 0"
        ).fetchone()
        props = cdb.props()
        own = (int(props.get("sys.m2.objects", 0)), int(props.get("sys.m2.usage", 0)))
        if tuple(real) != own or tuple(real) != (objects, nbytes):
            problems.append(
                f"{account}/{name}: holds {tuple(real)}, its own counters say {own}, "
                f"namespace.db says {(objects, nbytes)}"
            )
        totals[0] += real[0]
        totals[1] += real[1]
    try:
        info = ns.account_show(account)
    except OioException:
        return problems
    if (info["objects"], info["bytes"]) != tuple(totals):
        problems.append(
            f"account {account}: counters say {(info['objects'], info['bytes'])}, "
            f"its containers hold {tuple(totals)}"
        )
    return problems


def leftovers(backend: RaceBackend) -> list[str]:
    """Orphan chunks, unregistered or temporary databases anywhere in the namespace."""
    api = backend.local
    found = []
    for volume in api.backend.volumes:
        for row in api.volume_check(volume, orphans=True, min_age=0):
            found.append(f"{row['state']}: {row['chunk'] or row['volume']} {row['detail']}")
    registered = {
        os.path.basename(api.backend.container(account, name).path)
        for account, name in api.backend._ns_read("SELECT account, name FROM containers")
    }
    for root, _dirs, files in os.walk(backend.data_dir / "containers"):
        found += [f"temporary file {root}/{f}" for f in files if f.endswith(".tmp")]
        found += [
            f"unregistered database {root}/{f}"
            for f in files
            if f.endswith(".db") and f not in registered
        ]
    return found


def bad_failure(outcome: Outcome) -> str | None:
    """A failure that is not one clear line with a documented exit code."""
    if outcome.code == 0:
        return None
    lines = [line for line in outcome.err.strip().splitlines() if line.strip()]
    if "Traceback" in outcome.err or len(lines) != 1:
        return f"{' '.join(outcome.argv)} exited {outcome.code} with: {outcome.err.strip()!r}"
    if outcome.code not in (1, 2, 3, 4, 5, 6, 7, 8):
        return f"{' '.join(outcome.argv)} exited {outcome.code}: {outcome.err.strip()!r}"
    if "locked" in outcome.err.lower():
        return f"{' '.join(outcome.argv)}: {outcome.err.strip()!r}"
    return None


__all__ = [
    "BACKENDS",
    "Op",
    "Outcome",
    "RaceBackend",
    "ServedRaceBackend",
    "observe",
    "prepare_round",
    "run_together",
    "stats_problems",
    "leftovers",
    "variant_for",
]
