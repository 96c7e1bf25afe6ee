"""What a transfer tells its listener, one event at a time, and `Stats`, their sum.

The engine (`oiocli.transfer.Transfer`) never prints: it calls a listener with each
event, from the thread that does the work (worker threads at once: a listener
must be thread safe), and folds the events into `Stats`, the counters and the exit code of
the run. The commands render the events (`oiocli.commands._progress`: a progress
bar, log lines, JSON-lines events); a library user may read them as they come.

A run is `Started`, then any of the others, then `Finished` (also after an error or
Ctrl-C, with `interrupted`). Every file that joins the plan (`Planned`) ends as
`FileDone`, `FileSkipped` or `FileFailed` (unless the run is interrupted); the
bytes moved come as `Progress`, the bytes kept from an interrupted transfer as
`Resumed` (before the file's `FileDone`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from oiocli.core.exceptions import EXIT_ERROR, EXIT_OK, EXIT_PARTIAL


def exit_code_of(error: BaseException) -> int:
    """The exit code an error stands for (1 unless it carries its own)."""
    code = getattr(error, "exit_code", None)
    return code if isinstance(code, int) else EXIT_ERROR


@dataclass(frozen=True, slots=True)
class Started:
    """A transfer starts (`fields` say on what: its container, or its object's name)."""

    operation: str  # upload, download
    fields: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Planned:
    """A file joins the plan: it will be transferred unless found identical."""

    name: str
    size: int


@dataclass(frozen=True, slots=True)
class PlanningDone:
    """The walk or the listing is over: no more files join the plan."""


@dataclass(frozen=True, slots=True)
class Progress:
    """`nbytes` more bytes sent or received (failed attempts included)."""

    nbytes: int


@dataclass(frozen=True, slots=True)
class Resumed:
    """File `name` continues an interrupted transfer at `offset`: those bytes are done
    without being moved (a rate or an ETA ignores them). The kept bytes of a file are
    told so before its `FileDone`; a negative `offset` takes back bytes told before
    (the transfer restarted from the beginning)."""

    name: str
    offset: int


class ResumeTeller:
    """Tells the kept bytes of one file as `Resumed` events: as the transfer finds them
    (`announce`), then, before the file's `FileDone`, what it finally kept, less what
    was told (`settle`)."""

    def __init__(self, name: str, emit: Listener) -> None:
        self.name = name
        self.emit = emit
        self.told = 0

    def announce(self, offset: int) -> None:
        self.told += offset
        self.emit(Resumed(self.name, offset))

    def settle(self, kept: int) -> None:
        if kept != self.told:
            self.emit(Resumed(self.name, kept - self.told))
            self.told = kept


@dataclass(frozen=True, slots=True)
class FileDone:
    """A file was transferred: `moved` bytes sent or received, `resumed` kept."""

    action: str  # upload, download
    name: str
    size: int
    moved: int = 0
    resumed: int = 0
    hash: str | None = None


@dataclass(frozen=True, slots=True)
class FileSkipped:
    """A file needed no transfer (`reason`: identical, exists). `planned`: it was one
    of the planned files (now done without bytes to move); `listed`: False when only
    counted (the identical files of a dry run)."""

    action: str
    name: str
    size: int
    reason: str
    planned: bool
    listed: bool = True


@dataclass(frozen=True, slots=True)
class EntryIgnored:
    """A source entry that is no file to transfer (a symbolic link, a special file, a
    directory marker object): a warning, counted as skipped."""

    message: str


@dataclass(frozen=True, slots=True)
class FileFailed:
    """A file (or, `name` None, a walk of the local tree) failed. `quiet`: the caller
    says it itself (a single-file command)."""

    action: str
    name: str | None
    error: BaseException
    quiet: bool = False


@dataclass(frozen=True, slots=True)
class FileDeleted:
    """Sync deleted `name` from the destination."""

    name: str


@dataclass(frozen=True, slots=True)
class DeletesRefused:
    """Sync did not delete `count` extra files (`message` says why)."""

    count: int
    message: str


@dataclass(frozen=True, slots=True)
class Alert:
    """Something the user should know about a file or the run (a warning)."""

    message: str


@dataclass(frozen=True, slots=True)
class Notice:
    """A remark about the run (skipped files, resumed bytes)."""

    message: str


@dataclass(frozen=True, slots=True)
class Finished:
    """The transfer is over (`interrupted`: by Ctrl-C or an error that stopped it)."""

    interrupted: bool = False


Event = (
    Started
    | Planned
    | PlanningDone
    | Progress
    | Resumed
    | FileDone
    | FileSkipped
    | EntryIgnored
    | FileFailed
    | FileDeleted
    | DeletesRefused
    | Alert
    | Notice
    | Finished
)
Listener = Callable[[Event], None]


def ignore(event: Event) -> None:
    """The listener that listens to nothing."""


@dataclass
class Stats:
    """What a transfer did, folded from its events (`apply`, under `lock`)."""

    files: int = 0  # transferred
    bytes: int = 0  # sent or received (resumed bytes excluded)
    skipped: int = 0  # identical, existing, or not a regular file
    failed: int = 0
    deleted: int = 0
    resumed: int = 0  # bytes of interrupted transfers not sent again
    planned_files: int = 0
    planned_bytes: int = 0
    live_bytes: int = 0  # bytes moved so far, failed attempts included
    kept_bytes: int = 0  # bytes of interrupted transfers known to be kept so far
    skipped_planned: int = 0  # planned files found identical: done, without a transfer
    planning: bool = True  # the walk or listing is still going
    refused_deletes: int = 0
    codes: set[int] = field(default_factory=set)
    started: float = field(default_factory=time.monotonic)
    finished: float | None = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def elapsed(self) -> float:
        return (self.finished or time.monotonic()) - self.started

    @property
    def rate(self) -> float:
        elapsed = self.elapsed
        return self.bytes / elapsed if elapsed > 0 else 0.0

    @property
    def done_files(self) -> int:
        """Planned files that are over: transferred, found identical, or failed."""
        return self.files + self.skipped_planned + self.failed

    def exit_code(self) -> int:
        """0 when all went well; 8 when some files failed (or deletions were refused),
        the failures' own code when every file failed the same way."""
        if not self.failed and not self.refused_deletes:
            return EXIT_OK
        if (
            not self.files
            and not self.skipped
            and not self.deleted
            and not self.refused_deletes
            and len(self.codes) == 1
        ):
            return next(iter(self.codes))
        return EXIT_PARTIAL

    def apply(self, event: Event) -> None:
        """Count `event`."""
        with self.lock:
            if isinstance(event, Progress):
                self.live_bytes += event.nbytes
            elif isinstance(event, Planned):
                self.planned_files += 1
                self.planned_bytes += event.size
            elif isinstance(event, FileDone):
                self.files += 1
                self.bytes += event.moved
                self.resumed += event.resumed
            elif isinstance(event, FileSkipped):
                self.skipped += 1
                if event.planned:  # still one of the planned files, but no bytes to move
                    self.skipped_planned += 1
                    self.planned_bytes -= event.size
            elif isinstance(event, FileFailed):
                self.failed += 1
                self.codes.add(exit_code_of(event.error))
            elif isinstance(event, Resumed):
                self.kept_bytes += event.offset
            elif isinstance(event, EntryIgnored):
                self.skipped += 1
            elif isinstance(event, FileDeleted):
                self.deleted += 1
            elif isinstance(event, DeletesRefused):
                self.refused_deletes += event.count
            elif isinstance(event, PlanningDone):
                self.planning = False
            elif isinstance(event, Started):
                self.started = time.monotonic()
            elif isinstance(event, Finished):
                if self.finished is None:
                    self.finished = time.monotonic()
