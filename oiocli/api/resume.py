"""Journals of interrupted uploads, so `object create --resume` continues them.

A journal lives in `<data dir>/uploads/<key>.json`, one per (account,
container, object, source path). It records the source's size and mtime and
every metachunk already durable, and is rewritten (atomically) as each new
metachunk completes. Chunks listed in a journal are not orphans: the orphan
cleaner leaves them alone until the journal is older than JOURNAL_MAX_AGE.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from collections.abc import Iterator
from typing import Any

JOURNAL_MAX_AGE = 7 * 24 * 3600.0


def journal_dir(data_dir: str) -> str:
    return os.path.join(data_dir, "uploads")


class UploadJournal:
    def __init__(self, data_dir: str, account: str, container: str, obj: str, source: str):
        self.source = os.path.abspath(source)
        key = hashlib.sha256(
            json.dumps([account, container, obj, self.source]).encode()
        ).hexdigest()
        self.path = os.path.join(journal_dir(data_dir), f"{key}.json")
        self.state: dict[str, Any] = {}
        self.problem: str | None = None  # why an existing journal could not be read

    def load(self) -> dict[str, Any] | None:
        """The journal's state; None when there is none or it is damaged (see `problem`)."""
        self.problem = None
        try:
            with open(self.path) as f:
                state = json.load(f)
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            self.problem = f"{self.path} is unreadable ({exc})"
            return None
        if not isinstance(state, dict):
            self.problem = f"{self.path} is not a journal"
            return None
        return state

    def matches(
        self, state: dict[str, Any], st: os.stat_result, chunk_method: str, chunk_size: int
    ) -> bool:
        return (
            state.get("size") == st.st_size
            and state.get("mtime_ns") == st.st_mtime_ns
            and state.get("chunk_method") == chunk_method
            and state.get("chunk_size") == chunk_size
        )

    def start(self, state: dict[str, Any]) -> None:
        self.state = state
        self._save()

    def record(self, metachunk: dict[str, Any]) -> None:
        self.state.setdefault("metachunks", []).append(metachunk)
        self._save()

    def _save(self) -> None:
        from oiocli.backends.embedded.chunks import makedirs_private

        makedirs_private(os.path.dirname(self.path))
        tmp = f"{self.path}.tmp"
        with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
            json.dump(self.state, f)
        os.replace(tmp, self.path)

    def finish(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)


def iter_journals(data_dir: str) -> Iterator[tuple[str, dict[str, Any], float]]:
    """(path, state, age in seconds) of every upload journal."""
    base = journal_dir(data_dir)
    try:
        names = os.listdir(base)
    except FileNotFoundError:
        return
    now = time.time()
    for name in names:
        if not name.endswith(".json"):
            continue
        path = os.path.join(base, name)
        try:
            with open(path) as f:
                state = json.load(f)
            age = now - os.stat(path).st_mtime
        except (OSError, ValueError):
            continue
        yield path, state, age


def journaled_urls(data_dir: str, max_age: float = JOURNAL_MAX_AGE) -> set[str]:
    urls: set[str] = set()
    for _path, state, age in iter_journals(data_dir):
        if age > max_age:
            continue
        for metachunk in state.get("metachunks", []):
            urls.update(chunk["url"] for chunk in metachunk.get("chunks", []))
    return urls


def durable_bytes(data_dir: str, account: str, container: str, obj: str, source: str) -> int:
    """Bytes of an interrupted upload of `source` that a resume would not send again
    (0 when there is no journal, or when the source changed since)."""
    journal = UploadJournal(data_dir, account, container, obj, source)
    state = journal.load()
    if not state:
        return 0
    try:
        st = os.stat(journal.source)
    except OSError:
        return 0
    if state.get("size") != st.st_size or state.get("mtime_ns") != st.st_mtime_ns:
        return 0
    return sum(int(m.get("size") or 0) for m in state.get("metachunks", []))
