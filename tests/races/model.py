"""The race suite's model: what each operation does to a namespace, run one at a time.

A state is the containers of one round (the subject container, its snapshot
destination), each with its versions of each object. Every operation is a
pure function state -> (state, exit code) written from the CLI's documented
behaviour, independently of oiocli's code. The oracle of a pair of operations
run at once is then: for the outcomes seen (which exited 0, which failed how),
the acceptable final states are those of the serial orders in which each
operation that exited 0 succeeded and each that failed either failed the same
way there or lost a documented race (its `races` codes: it then changed
nothing). Anything else read back is a bug: an acknowledged operation lost,
a failed one that left something, or a state no order explains.
"""

from __future__ import annotations

import copy
import itertools
import zlib
from dataclasses import dataclass, field
from typing import Any

OK, ERROR, NO_CONTAINER, NO_OBJECT, RETRY, CORRUPT = 0, 1, 3, 4, 5, 6


ANY_POLICY = "*"  # a version whose policy the model cannot tell (see Append)


_uids = itertools.count()


@dataclass
class Version:
    data: bytes | None  # None: a delete marker
    policy: str = ""
    drained: bool = False
    # Who it is (kept by copies), never what it holds: a flush deletes what it listed.
    uid: int = field(default_factory=lambda: next(_uids), compare=False)

    def key(self) -> tuple:
        if self.data is None:
            return ("marker",)
        if self.drained:  # its data is gone: only its size and policy are known
            return ("drained", len(self.data), self.policy)
        return ("data", self.data, self.policy)


@dataclass
class Container:
    versioned: bool = False
    frozen: bool = False
    props: dict[str, str] = field(default_factory=dict)
    objects: dict[str, list[Version]] = field(default_factory=dict)  # oldest first
    flushing: set[int] | None = None  # the versions a flush in progress listed

    def latest(self, name: str) -> Version | None:
        versions = self.objects.get(name) or []
        return versions[-1] if versions else None

    def live(self, name: str) -> Version | None:
        """The latest version when it is data (not a marker)."""
        latest = self.latest(name)
        return latest if latest is not None and latest.data is not None else None

    def put(self, name: str, version: Version) -> None:
        if self.versioned:
            self.objects.setdefault(name, []).append(version)
        else:
            self.objects[name] = [version]

    def key(self) -> tuple:
        return (
            self.versioned,
            self.frozen,
            tuple(sorted(self.props.items())),
            tuple(
                (name, tuple(v.key() for v in versions))
                for name, versions in sorted(self.objects.items())
                if versions
            ),
        )


State = dict[str, Container]


def state_key(state: State) -> tuple:
    return tuple((name, c.key()) for name, c in sorted(state.items()))


def matches(seen: Any, want: Any) -> bool:
    """`seen` (a state key read back) is `want` (a model's), ANY_POLICY matching any policy."""
    if want == ANY_POLICY and isinstance(seen, str):
        return True
    if isinstance(want, tuple) and isinstance(seen, tuple):
        return len(want) == len(seen) and all(
            matches(s, w) for s, w in zip(seen, want, strict=True)
        )
    return seen == want


def adopt(model: State, seen: State) -> State:
    """The model state `seen` matched, with the policies it could not tell filled in."""
    state = copy.deepcopy(model)
    for name, container in state.items():
        container.flushing = None
        for obj, versions in container.objects.items():
            for version, observed in zip(versions, seen[name].objects[obj], strict=True):
                if version.policy == ANY_POLICY:
                    version.policy = observed.policy
    return state


def describe(state: State) -> str:
    parts = []
    for name, c in sorted(state.items()):
        objs = []
        for obj, versions in sorted(c.objects.items()):
            shown = []
            for v in versions:
                if v.data is None:
                    shown.append("marker")
                else:
                    tag = f"drained:{v.policy}" if v.drained else v.policy
                    digest = "" if v.drained else f":{zlib.crc32(v.data) & 0xFFFF:04x}"
                    shown.append(f"{len(v.data)}B:{tag}{digest}")
            objs.append(f"{obj}=[{', '.join(shown)}]")
        flags = ("versioned " if c.versioned else "") + ("frozen " if c.frozen else "")
        parts.append(f"{name}({flags}props={c.props}): {' '.join(objs) or 'empty'}")
    return "; ".join(parts) or "nothing"


@dataclass
class Names:
    """The names one round works on."""

    container: str
    snapshot: str
    obj: str = "o"
    link: str = "l"


# Through a proxy, a snapshot freezes its source while it copies it (as OpenIO's
# clients do): a write to it meanwhile fails with "frozen", exit 5, worth a retry.
FROZEN = frozenset({RETRY})


class Op:
    """One mutating operation: its CLI words and its effect on the model."""

    name = ""
    # Exit codes it may give when it loses a race, changing nothing.
    races: frozenset[int] = frozenset()
    # Exit codes it may give having done part of its work (see partials()).
    partial_races: frozenset[int] = frozenset()

    def partials(self, state: State) -> list[State]:
        """States it may leave when it fails midway (an operation of several commits)."""
        return []

    has_prelude = False

    def prelude(self, state: State) -> bool:
        """What it does before its commit (an upload autocreates its container)."""
        return False

    def __init__(self, role: str, names: Names, files: dict[str, Any]) -> None:
        self.role = role  # "a" or "b": the two instances of a pair get different data
        self.names = names
        self.files = files

    def argv(self) -> list[str]:
        raise NotImplementedError

    def apply(self, state: State) -> int:
        """Change `state` in place as the operation would alone; its exit code."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{self.name}[{self.role}]"


def _subject(state: State, names: Names) -> Container | None:
    return state.get(names.container)


class _Upload(Op):
    has_prelude = True

    def prelude(self, state: State) -> bool:
        if self.names.container in state:
            return False
        state[self.names.container] = Container()  # autocreated when the upload starts
        return True


class Create(_Upload):
    name = "create"
    # The container is deleted between the upload's prepare and its commit.
    races = frozenset({NO_CONTAINER}) | FROZEN
    POLICY = {"a": "TWOCOPIES", "b": "EC21"}

    def argv(self) -> list[str]:
        n = self.names
        return ["object", "create", n.container, self.files[f"create-{self.role}"],
                "--name", n.obj, "--policy", self.POLICY[self.role]]  # fmt: skip

    def apply(self, state: State) -> int:
        c = state.setdefault(self.names.container, Container())  # autocreated
        c.put(
            self.names.obj, Version(self.files[f"create-{self.role}-data"], self.POLICY[self.role])
        )
        return OK


class Append(_Upload):
    name = "append"
    # The object changed policy meanwhile (nothing appended: try again); its container deleted.
    races = frozenset({ERROR, NO_CONTAINER}) | FROZEN

    def argv(self) -> list[str]:
        n = self.names
        return ["object", "create", n.container, self.files[f"append-{self.role}"],
                "--name", n.obj, "--append"]  # fmt: skip

    def apply(self, state: State) -> int:
        c = state.setdefault(self.names.container, Container())
        data = self.files[f"append-{self.role}-data"]
        latest = c.live(self.names.obj)
        if latest is None:
            # A new object: in the default policy, or in that of the object it found
            # when it started, deleted before it committed (its chunks are written
            # for that policy; OpenIO's meta2 also makes the object then).
            c.put(self.names.obj, Version(data, ANY_POLICY))
            return OK
        if latest.drained:
            return CORRUPT
        latest.data += data
        return OK


class Delete(Op):
    name = "delete"
    races = FROZEN

    def argv(self) -> list[str]:
        return ["object", "delete", self.names.container, self.names.obj]

    def apply(self, state: State) -> int:
        c = _subject(state, self.names)
        if c is None:
            return NO_CONTAINER
        if c.live(self.names.obj) is None:
            return NO_OBJECT
        if c.versioned:
            c.objects[self.names.obj].append(Version(None))
        else:
            del c.objects[self.names.obj]
        return OK


class Truncate(Op):
    name = "truncate"
    SIZE = {"a": 100_000, "b": 40_000}
    # Changed by another operation while being truncated: it starts again a few
    # times, then gives up (1, or 5 "read it again"); deleted while read (4).
    races = frozenset({ERROR, NO_OBJECT, RETRY, NO_CONTAINER})

    def argv(self) -> list[str]:
        n = self.names
        return ["object", "truncate", n.container, n.obj, "--size", str(self.SIZE[self.role])]

    def apply(self, state: State) -> int:
        c = _subject(state, self.names)
        if c is None:
            return NO_CONTAINER
        latest = c.live(self.names.obj)
        if latest is None:
            return NO_OBJECT
        if latest.drained:
            return CORRUPT
        size = self.SIZE[self.role]
        if size > len(latest.data):
            return ERROR
        latest.data = latest.data[:size]
        return OK


class Link(Op):
    name = "link"
    # The target changed (chunks gone) while being linked, again and again; deleted.
    races = frozenset({NO_OBJECT, RETRY, NO_CONTAINER})

    def argv(self) -> list[str]:
        n = self.names
        return ["object", "link", n.container, n.obj, n.link]

    def apply(self, state: State) -> int:
        c = _subject(state, self.names)
        if c is None:
            return NO_CONTAINER
        latest = c.live(self.names.obj)
        if latest is None:
            return NO_OBJECT
        if latest.drained:
            return CORRUPT
        c.put(self.names.link, Version(latest.data, latest.policy))
        return OK


class Drain(Op):
    name = "drain"
    races = FROZEN

    def argv(self) -> list[str]:
        return ["object", "drain", self.names.container, self.names.obj]

    def apply(self, state: State) -> int:
        c = _subject(state, self.names)
        if c is None:
            return NO_CONTAINER
        latest = c.live(self.names.obj)
        if latest is None:
            return NO_OBJECT
        latest.drained = True
        return OK


class Snapshot(Op):
    name = "snapshot"

    def argv(self) -> list[str]:
        n = self.names
        return ["container", "snapshot", n.container, "--dst-container", n.snapshot]

    def apply(self, state: State) -> int:
        c = _subject(state, self.names)
        if c is None:
            return NO_CONTAINER
        if self.names.snapshot in state:
            return ERROR
        snap = copy.deepcopy(c)
        snap.frozen = True
        state[self.names.snapshot] = snap
        return OK


class Purge(Op):
    name = "purge"
    races = FROZEN

    def argv(self) -> list[str]:
        n = self.names
        return ["object", "purge", n.container, n.obj, "--max-versions", "1"]

    def apply(self, state: State) -> int:
        c = _subject(state, self.names)
        if c is None:
            return NO_CONTAINER
        versions = c.objects.get(self.names.obj)
        if not versions:
            return NO_OBJECT
        stored = [v for v in versions if v.data is not None]
        keep = {id(v) for v in stored[-1:]}
        c.objects[self.names.obj] = [v for v in versions if v.data is None or id(v) in keep]
        return OK


class SetPolicy(Op):
    name = "set-policy"
    POLICY = {"a": "EC21", "b": "TWOCOPIES"}
    # Changed (appended, truncated) while being re-encoded: nothing changed, try again.
    races = frozenset({ERROR, NO_OBJECT, RETRY, NO_CONTAINER})

    def argv(self) -> list[str]:
        n = self.names
        return ["object", "set", n.container, n.obj, "--policy", self.POLICY[self.role]]

    def apply(self, state: State) -> int:
        c = _subject(state, self.names)
        if c is None:
            return NO_CONTAINER
        latest = c.live(self.names.obj)
        if latest is None:
            return NO_OBJECT
        if latest.drained:
            return CORRUPT
        latest.policy = self.POLICY[self.role]
        return OK


class ContainerCreate(Op):
    name = "container-create"

    def argv(self) -> list[str]:
        return ["container", "create", self.names.container]

    def apply(self, state: State) -> int:
        state.setdefault(self.names.container, Container())
        return OK


class ContainerDelete(Op):
    name = "container-delete"

    def argv(self) -> list[str]:
        return ["container", "delete", self.names.container]

    def apply(self, state: State) -> int:
        c = _subject(state, self.names)
        if c is None:
            return NO_CONTAINER
        if any(c.objects.values()):
            return ERROR
        del state[self.names.container]
        return OK


class ContainerFlush(Op):
    name = "container-flush"
    # One delete per version: frozen by a snapshot midway, it stops there.
    partial_races = FROZEN
    # It lists the versions, then deletes those: what is made in between stays.
    has_prelude = True

    def prelude(self, state: State) -> bool:
        c = _subject(state, self.names)
        if c is None:
            return False
        c.flushing = {v.uid for versions in c.objects.values() for v in versions}
        return True

    def argv(self) -> list[str]:
        return ["container", "flush", self.names.container]

    def partials(self, state: State) -> list[State]:
        c = _subject(state, self.names)
        if c is None:
            return []
        # It deletes versions in listing order: by name, newest first.
        order = [(name, i) for name in sorted(c.objects) for i in
                 reversed(range(len(c.objects[name])))]  # fmt: skip
        found = []
        for done in range(len(order) + 1):
            trial = copy.deepcopy(state)
            gone = set(order[:done])
            t = trial[self.names.container]
            for name in list(t.objects):
                t.objects[name] = [
                    v for i, v in enumerate(t.objects[name]) if (name, i) not in gone
                ]
                if not t.objects[name]:
                    del t.objects[name]
            found.append(trial)
        return found

    def apply(self, state: State) -> int:
        c = _subject(state, self.names)
        if c is None:
            return NO_CONTAINER
        listed, c.flushing = c.flushing, None
        for name in list(c.objects):
            kept = [v for v in c.objects[name] if listed is not None and v.uid not in listed]
            if kept:
                c.objects[name] = kept
            else:
                del c.objects[name]
        return OK


class ContainerSet(Op):
    name = "container-set"

    def argv(self) -> list[str]:
        return ["container", "set", self.names.container, "-p", f"k={self.role}"]

    def apply(self, state: State) -> int:
        c = _subject(state, self.names)
        if c is None:
            return NO_CONTAINER
        c.props["k"] = self.role
        return OK


OPS: dict[str, type[Op]] = {
    cls.name: cls
    for cls in (
        Create,
        Append,
        Delete,
        Truncate,
        Link,
        Drain,
        Snapshot,
        Purge,
        SetPolicy,
        ContainerCreate,
        ContainerDelete,
        ContainerFlush,
        ContainerSet,
    )
}
CONTAINER_OPS = {"container-create", "container-delete", "container-flush", "container-set"}


def pairs() -> list[tuple[str, str]]:
    """Every unordered pair of operations, each with itself too."""
    names = list(OPS)
    return [(a, b) for i, a in enumerate(names) for b in names[i:]]


def acceptable(initial: State, ops: list[Op], codes: list[int]) -> tuple[list[State], list[State]]:
    """(acceptable final states, states that would mean an acknowledged operation lost).

    The second list holds the states of serial orders where an operation that
    exited 0 is left out: seeing one of those is "an acknowledged operation lost".
    """
    good: list[State] = []
    lost: list[State] = []
    orders: list[list[Any]] = [list(range(len(ops)))]
    if len(ops) == 2:
        orders.append([1, 0])
        # An operation of two steps lets the other one in between: an upload
        # autocreates its container when it starts and commits when it ends; a
        # flush lists the versions, then deletes them.
        for i, j in ((0, 1), (1, 0)):
            if ops[i].has_prelude:
                orders.append([("prelude", i), j, i])
    for order in orders:
        good += _run(initial, ops, codes, order)
        for skipped in range(len(ops)):
            if codes[skipped] != OK:
                continue
            forced = list(codes)
            forced[skipped] = -1  # as if it had not run at all
            lost += _run(initial, ops, forced, order)
    return good, lost


def _run(initial: State, ops: list[Op], codes: list[int], order: list[int]) -> list[State]:
    """The states the operations may leave, run in `order`, each ending as seen."""
    states = [copy.deepcopy(initial)]
    for i in order:
        if isinstance(i, tuple):  # ("prelude", i): what it does before its commit
            op = ops[i[1]]
            if codes[i[1]] != -1:
                for state in states:
                    op.prelude(state)
            continue
        op, seen = ops[i], codes[i]
        if seen == -1:
            continue
        following = []
        for state in states:
            trial = copy.deepcopy(state)
            expected = op.apply(trial)
            if expected == seen:
                following.append(trial if seen == OK else state)
                continue
            if seen != OK and seen in op.races:
                following.append(state)  # lost a race: changed nothing
            if seen != OK and seen in op.partial_races:
                following += op.partials(state)
        states = following
    return states
