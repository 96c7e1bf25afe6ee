"""The engine's event stream (`oiocli.transfer_events`): what a listener of
`oiocli.transfer.Transfer` is told.

The CLI renders these events (bar, log lines, JSON-lines); here they are read as
a library user reads them, and checked against what the namespace then holds.
"""

from __future__ import annotations

import threading
from pathlib import Path

from oiocli import transfer_events as t
from oiocli.transfer import Transfer, TransferError

from .helpers import write_tree


class Recorder:
    def __init__(self) -> None:
        self.events: list[t.Event] = []
        self.lock = threading.Lock()

    def __call__(self, event: t.Event) -> None:
        with self.lock:  # called from the worker threads
            self.events.append(event)

    def of(self, kind: type) -> list:
        return [e for e in self.events if isinstance(e, kind)]


def test_upload_then_sync_events(oio, tmp_path: Path):
    files = {"a": b"1" * 1000, "d/b": b"22" * 3000, "d/e/c": b"", "x": b"y" * 70000}
    src = tmp_path / "src"
    write_tree(src, files)
    (src / "link").symlink_to("a")
    api = oio.api()

    heard = Recorder()
    stats = Transfer(api, "acct", "box", heard, concurrency=3).upload_paths([str(src)])
    events = heard.events
    assert isinstance(events[0], t.Started) and events[0].operation == "upload"
    assert events[0].fields == {"container": "box"}
    assert events[-1] == t.Finished(interrupted=False)
    assert sorted(e.name for e in heard.of(t.Planned)) == sorted(files)
    done = {e.name: e for e in heard.of(t.FileDone)}
    assert set(done) == set(files)
    assert all(done[n].size == len(data) == done[n].moved for n, data in files.items())
    assert sum(e.nbytes for e in heard.of(t.Progress)) == sum(map(len, files.values()))
    assert [e.message for e in heard.of(t.EntryIgnored)] == [
        f"Skipping {str(src / 'link')!r}: symbolic link"
    ]
    # PlanningDone comes once the walk is over: after every Planned
    planning_done = events.index(t.PlanningDone())
    assert all(events.index(e) < planning_done for e in heard.of(t.Planned))
    assert (stats.files, stats.bytes, stats.skipped, stats.failed) == (4, 77000, 1, 0)
    assert stats.exit_code() == 0
    for name, data in files.items():
        _meta, stream = api.object_fetch("acct", "box", name)
        assert b"".join(stream) == data
        assert done[name].hash == _meta["hash"].upper()

    # again, as a sync with one file changed: the others are skipped as identical
    (src / "d" / "b").write_bytes(b"changed")
    heard = Recorder()
    stats = Transfer(api, "acct", "box", heard).sync(str(src), upload=True)
    assert [e.name for e in heard.of(t.FileDone)] == ["d/b"]
    skipped = heard.of(t.FileSkipped)
    assert sorted(e.name for e in skipped) == ["a", "d/e/c", "x"]
    assert all(e.reason == "identical" and e.planned and e.listed for e in skipped)
    assert (stats.files, stats.skipped, stats.planned_files, stats.done_files) == (1, 4, 4, 4)


def test_a_failure_is_an_event_and_sets_the_exit_code(oio, tmp_path: Path):
    """A download refused by name is one FileFailed; the run still finishes."""
    api = oio.api()
    api.object_create("acct", "box", data=b"fine", obj_name="ok")
    api.object_create("acct", "box", data=b"evil", obj_name="../outside")
    heard = Recorder()
    stats = Transfer(api, "acct", "box", heard).download(str(tmp_path / "out"))
    (failed,) = heard.of(t.FileFailed)
    assert failed.action == "download" and failed.name == "../outside"
    assert isinstance(failed.error, TransferError)
    assert [e.name for e in heard.of(t.FileDone)] == ["ok"]
    assert heard.events[-1] == t.Finished(interrupted=False)
    assert (stats.files, stats.failed, stats.exit_code()) == (1, 1, 8)
    assert (tmp_path / "out" / "ok").read_bytes() == b"fine"
    assert not (tmp_path / "outside").exists()
