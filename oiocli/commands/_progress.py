"""How a transfer shows on stderr: the renderers of `oiocli.transfer`'s events.

One renderer per `--progress` mode, each a listener of the engine's events that
reads the run's live counters (`Stats`):
- `Renderer` (none, or no terminal): warnings and failures only, one line each;
- `BarRenderer` (auto/bar on a terminal): one aggregate tqdm bar, the lines above it;
- `LogRenderer` (log): a line every `interval` seconds and a last one, for cron and CI;
- `JsonRenderer` (json): JSON-lines events (start, file, progress every `interval`
  seconds, warning, message, summary), for scripts.
"""

from __future__ import annotations

import json
import os
import threading
import time
from typing import IO, Any

from oiocli.commands.base import describe_error
from oiocli.core.fsutil import human_size
from oiocli.transfer_events import (
    Alert,
    DeletesRefused,
    EntryIgnored,
    Event,
    FileDeleted,
    FileDone,
    FileFailed,
    FileSkipped,
    Finished,
    Notice,
    Planned,
    PlanningDone,
    Progress,
    Resumed,
    Started,
    Stats,
)

SUMMARY_COLUMNS = (
    "Files",
    "Bytes",
    "Skipped",
    "Failed",
    "Deleted",
    "Resumed",
    "Elapsed",
    "Rate",
)


def summary(stats: Stats) -> dict[str, Any]:
    """The summary row of a run, by column (numbers: bytes, seconds, bytes/s)."""
    return {
        "Files": stats.files,
        "Bytes": stats.bytes,
        "Skipped": stats.skipped,
        "Failed": stats.failed,
        "Deleted": stats.deleted,
        "Resumed": stats.resumed,
        "Elapsed": round(stats.elapsed, 3),
        "Rate": round(stats.rate, 1),
    }


def duration(seconds: float) -> str:
    """H:MM:SS."""
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


# The method of a renderer that takes each kind of event.
_HANDLERS: dict[type, str] = {
    Progress: "progress",
    Planned: "planned",
    PlanningDone: "planning_done",
    Resumed: "resumed",
    FileDone: "file_done",
    FileSkipped: "file_skipped",
    EntryIgnored: "entry_ignored",
    FileFailed: "file_failed",
    FileDeleted: "file_deleted",
    DeletesRefused: "deletes_refused",
    Alert: "alert",
    Notice: "notice",
    Started: "started",
    Finished: "finished",
}


class Renderer:
    """Warnings and failures on `stream`, one line each; nothing else (the quiet mode).

    Called with each event (from worker threads: writes are serialized).
    """

    def __init__(self, stream: IO[str], stats: Stats, interval: float | None = None) -> None:
        self.stream = stream
        self.stats = stats
        self.interval = interval or 10.0
        self.operation = "transfer"
        self._write_lock = threading.Lock()

    def __call__(self, event: Event) -> None:
        getattr(self, _HANDLERS[type(event)])(event)

    # -- events (the base renders only what needs the user's attention)
    def started(self, event: Started) -> None:
        self.operation = event.operation

    def finished(self, event: Finished) -> None:
        pass

    def progress(self, event: Progress) -> None:
        pass

    def planned(self, event: Planned) -> None:
        pass

    def planning_done(self, event: PlanningDone) -> None:
        pass

    def resumed(self, event: Resumed) -> None:
        pass

    def file_done(self, event: FileDone) -> None:
        pass

    def file_skipped(self, event: FileSkipped) -> None:
        pass

    def file_deleted(self, event: FileDeleted) -> None:
        pass

    def file_failed(self, event: FileFailed) -> None:
        if not event.quiet:
            text = describe_error(event.error)
            name = event.name
            self.warn(f"{name}: {text}" if name and name not in text else text)

    def entry_ignored(self, event: EntryIgnored) -> None:
        self.warn(event.message)

    def deletes_refused(self, event: DeletesRefused) -> None:
        self.warn(event.message)

    def alert(self, event: Alert) -> None:
        self.warn(event.message)

    def notice(self, event: Notice) -> None:
        self.write(event.message)

    # -- output
    def warn(self, message: str) -> None:
        self.write(message)

    def write(self, line: str) -> None:
        with self._write_lock:
            try:
                self.stream.write(line + "\n")
                self.stream.flush()
            except (OSError, ValueError):
                pass

    def progress_fields(self) -> dict[str, Any]:
        """The live figures of the run (a log line, a JSON progress event)."""
        s = self.stats
        with s.lock:
            elapsed = s.elapsed
            fields: dict[str, Any] = {
                "files": s.files,
                "planned_files": s.planned_files,
                "done_files": s.done_files,
                "planning": s.planning,
                "bytes": s.live_bytes,
                "resumed": s.kept_bytes,
                "planned_bytes": s.planned_bytes,
                "skipped": s.skipped,
                "failed": s.failed,
                "deleted": s.deleted,
                "elapsed": round(elapsed, 3),
            }
        rate = fields["bytes"] / elapsed if elapsed > 0 else 0.0
        fields["rate"] = round(rate, 1)
        left = fields["planned_bytes"] - fields["bytes"] - fields["resumed"]
        fields["eta"] = None if s.planning or rate <= 0 else round(max(left, 0) / rate, 1)
        return fields


class _Ticking(Renderer):
    """A renderer that says something every `interval` seconds while the run goes."""

    def __init__(self, stream: IO[str], stats: Stats, interval: float | None = None) -> None:
        super().__init__(stream, stats, interval)
        self._ticker: threading.Thread | None = None
        self._stop = threading.Event()

    def started(self, event: Started) -> None:
        super().started(event)
        self._ticker = threading.Thread(target=self._tick, daemon=True)
        self._ticker.start()

    def finished(self, event: Finished) -> None:
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join(5)
            self._ticker = None

    def _tick(self) -> None:
        while not self._stop.wait(self.interval):
            self.tick()

    def tick(self) -> None:
        raise NotImplementedError


class LogRenderer(_Ticking):
    """A progress line every `interval` seconds, and a last one when the run ends."""

    def tick(self) -> None:
        self.write(self.log_line())

    def finished(self, event: Finished) -> None:
        super().finished(event)
        self.write(self.log_line(final=True, interrupted=event.interrupted))

    def log_line(self, final: bool = False, interrupted: bool = False) -> str:
        f = self.progress_fields()
        total_files = f"{f['done_files']}/{f['planned_files']}{'+' if f['planning'] else ''}"
        total_bytes = human_size(f["planned_bytes"]) + ("+" if f["planning"] else "")
        pct = ""
        done = f["bytes"] + f["resumed"]
        if f["planned_bytes"] > 0 and not f["planning"]:
            pct = f" ({min(100.0, 100.0 * done / f['planned_bytes']):.0f}%)"
        eta = "" if f["eta"] is None or final else f", ETA {duration(f['eta'])}"
        return (
            f"{time.strftime('%H:%M:%S')} {self.operation}"
            f"{(' interrupted' if interrupted else ' done') if final else ''}: "
            f"{total_files} files, "
            f"{human_size(done)}/{total_bytes}{pct}, {human_size(f['rate'])}/s, "
            f"{f['skipped']} skipped, {f['failed']} failed"
            f"{', ' + str(f['deleted']) + ' deleted' if f['deleted'] else ''}, "
            f"{duration(f['elapsed'])} elapsed{eta}"
        )


class JsonRenderer(_Ticking):
    """JSON-lines events: start, file, progress every `interval` seconds, warning,
    message, summary."""

    def __init__(self, stream: IO[str], stats: Stats, interval: float | None = None) -> None:
        super().__init__(stream, stats, interval or 1.0)

    def started(self, event: Started) -> None:
        self.event("start", operation=event.operation, **event.fields)
        super().started(event)

    def tick(self) -> None:
        self.event("progress", **self.progress_fields())

    def finished(self, event: Finished) -> None:
        super().finished(event)
        fields = {k.lower(): v for k, v in summary(self.stats).items()}
        self.event("summary", interrupted=event.interrupted, **fields)

    def file_done(self, event: FileDone) -> None:
        extra = {} if event.hash is None else {"hash": event.hash}
        self.event(
            "file",
            action=event.action,
            name=event.name,
            status="ok",
            size=event.size,
            bytes=event.moved,
            resumed=event.resumed,
            **extra,
        )

    def file_skipped(self, event: FileSkipped) -> None:
        if event.listed:
            self.event(
                "file", action=event.action, name=event.name, status="skipped", reason=event.reason
            )

    def file_failed(self, event: FileFailed) -> None:
        self.event(
            "file",
            action=event.action,
            name=event.name,
            status="failed",
            error=describe_error(event.error),
        )

    def file_deleted(self, event: FileDeleted) -> None:
        self.event("file", action="delete", name=event.name, status="ok")

    def warn(self, message: str) -> None:
        self.event("warning", message=message)

    def notice(self, event: Notice) -> None:
        self.event("message", message=event.message)

    def event(self, event: str, **fields: Any) -> None:
        record = {"event": event, "time": round(time.time(), 3), **fields}
        self.write(json.dumps(record, default=str))


class BarRenderer(Renderer):
    """One aggregate tqdm bar (bytes, with `done/planned files` before it); the
    warnings are written above it."""

    def __init__(self, stream: IO[str], stats: Stats, interval: float | None = None) -> None:
        super().__init__(stream, stats, interval)
        self._bar: Any = None
        self._last_refresh = 0.0

    def started(self, event: Started) -> None:
        super().started(event)
        from tqdm import tqdm

        try:
            columns = os.get_terminal_size(self.stream.fileno()).columns
        except (AttributeError, OSError, ValueError):
            columns = 0
        width: dict[str, Any] = {"dynamic_ncols": True} if columns else {"ncols": 100}
        self._bar = tqdm(
            total=0,
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            file=self.stream,
            leave=False,
            desc="0/0+ files",
            **width,
        )

    def finished(self, event: Finished) -> None:
        if self._bar is not None:
            self._last_refresh = 0.0
            self._update(0)  # the final state, however briefly
            with self._write_lock:
                self._bar.close()
            self._bar = None

    def progress(self, event: Progress) -> None:
        self._update(event.nbytes)

    def planned(self, event: Planned) -> None:
        self._update(0)

    def planning_done(self, event: PlanningDone) -> None:
        self._update(0)

    def file_done(self, event: FileDone) -> None:
        self._update(0)

    def file_skipped(self, event: FileSkipped) -> None:
        self._update(0)

    def file_failed(self, event: FileFailed) -> None:
        self._update(0)
        super().file_failed(event)

    def resumed(self, event: Resumed) -> None:
        """Advance the bar by the kept bytes without counting them in its rate."""
        bar = self._bar
        if bar is None or event.offset <= 0:
            return
        with self._write_lock:
            bar.initial += event.offset
            bar.n += event.offset
            bar.last_print_n += event.offset
            bar.total = max(self.stats.planned_bytes, bar.n)
            bar.refresh()

    def _update(self, n: int) -> None:
        bar = self._bar
        if bar is None:
            return
        s = self.stats
        with self._write_lock:
            total = max(s.planned_bytes, bar.n + n)
            if bar.total != total:
                bar.total = total
            bar.set_description_str(
                f"{s.done_files}/{s.planned_files}{'+' if s.planning else ''} files",
                refresh=False,
            )
            if n:
                bar.update(n)  # tqdm redraws at most every mininterval
            elif time.monotonic() - self._last_refresh >= 0.2:
                bar.refresh()
            else:
                return
            self._last_refresh = time.monotonic()

    def write(self, line: str) -> None:
        with self._write_lock:
            try:
                if self._bar is not None:
                    self._bar.clear()
                self.stream.write(line + "\n")
                self.stream.flush()
                if self._bar is not None:
                    self._bar.refresh()
            except (OSError, ValueError):
                pass


def renderer(
    stream: IO[str], mode: str | None, stats: Stats, interval: float | None = None
) -> Renderer:
    """The renderer of a `--progress` mode: None (quiet), "bar", "log" or "json"."""
    kind = {"bar": BarRenderer, "log": LogRenderer, "json": JsonRenderer}.get(mode or "", Renderer)
    return kind(stream, stats, interval)
