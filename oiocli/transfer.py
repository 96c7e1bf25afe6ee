"""Bulk transfers: directory trees up and down, in parallel, resumable, and sync.

The engine behind `oio object create --recursive`, `oio container save`,
`oio object fetch --prefix/-D` and `oio container sync`. It calls only the
public `ObjectStorageApi` (one instance, shared by the worker threads) and never
prints: it emits events (`oiocli.transfer_events`: `Started`, `Planned`,
`Progress`, `FileDone`, `FileFailed`, ..., `Finished`) to a listener, and folds
them into `Stats`, the counters and exit code of the run. The commands render
them (`oiocli.commands._progress`: a tqdm bar, log lines, JSON-lines events).

Memory is constant in the number of files:
- the local tree is walked one directory at a time (only the entries of the
  directory being read are held, to sort them);
- the container listing is read page by page (`object_list` markers);
- sync merges the two sorted streams, name by name;
- at most `2 x concurrency` tasks wait for a worker;
- the names a sync deletes are spilled to a temporary file, deleted at the end.
The data path itself is bounded by its shared buffer pool (`oiocli.io`).

Order: the listing is sorted by SQLite's comparison of TEXT, memcmp of UTF-8,
which is code point order, the order of Python's `str`. The walk sorts each
directory's entries by name, a sub-directory as `name + "/"`, so that the
relative paths come out in that same order ("a-b" < "a/x" because "-" < "/").
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import queue
import stat
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any

from oiocli.core.exceptions import (
    NoSuchContainer,
    NoSuchObject,
    OioException,
    UnrecoverableContent,
)
from oiocli.core.fsutil import FULL_ERRNOS, guess_type, mount_point, size_words, umask
from oiocli.filters import Filter
from oiocli.md5_cache import Md5Cache, md5_cache_path, md5_of_file
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
    Listener,
    Notice,
    Planned,
    PlanningDone,
    Progress,
    ResumeTeller,
    Started,
    Stats,
    ignore,
)

DEFAULT_CONCURRENCY = 8
PART_SUFFIX = ".oio-part"


RESUME_NEEDS_DATA_DIR = (
    "--resume: uploads resume only on an embedded namespace (their journals live in its "
    "data directory); uploading from the start"
)


class TransferError(OioException):
    """A file could not be transferred (name refused, size or hash mismatch, ...)."""


class UnsortedListing(OioException):
    """A listing came out of order: sync stops rather than compare wrong pairs."""


# -- local files ---------------------------------------------------------------


@dataclass(slots=True)
class LocalFile:
    name: str  # object name: relative path with '/', prefixed
    path: str  # path on disk
    size: int
    mtime_ns: int


def is_part_file(filename: str) -> bool:
    """One of our partial downloads (`.<name>.<tag>.oio-part`): never uploaded."""
    return filename.startswith(".") and filename.endswith(PART_SUFFIX)


def _valid_utf8(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:  # undecodable bytes, kept as surrogates by os.fsdecode
        return False
    return True


def walk_local(
    root: str,
    prefix: str = "",
    on_skip: Callable[[str, str], None] | None = None,
    on_error: Callable[[BaseException], None] | None = None,
) -> Iterator[LocalFile]:
    """Regular files under `root`, in code point order of their names.

    Symbolic links and special files are reported to `on_skip(path, reason)`
    and skipped; unreadable directories go to `on_error`.
    """

    def entries(directory: str) -> list[tuple[str, str, os.DirEntry[str]]]:
        found: list[tuple[str, str, os.DirEntry[str]]] = []
        try:
            with os.scandir(directory) as it:
                for entry in it:
                    try:
                        if entry.is_symlink():
                            kind = "link"
                        elif entry.is_dir(follow_symlinks=False):
                            kind = "dir"
                        elif entry.is_file(follow_symlinks=False):
                            kind = "file"
                        else:
                            kind = "special"
                    except OSError as exc:
                        if on_error:
                            on_error(exc)
                        continue
                    key = entry.name + "/" if kind == "dir" else entry.name
                    found.append((key, kind, entry))
        except OSError as exc:
            if on_error:
                on_error(exc)
            return []
        found.sort(key=lambda item: item[0])
        return found

    def walk(directory: str, rel: str) -> Iterator[LocalFile]:
        for key, kind, entry in entries(directory):
            name = rel + key
            if kind == "dir":
                yield from walk(entry.path, name)
                continue
            if kind == "link":
                if on_skip:
                    on_skip(entry.path, "symbolic link")
                continue
            if kind == "special":
                if on_skip:
                    on_skip(entry.path, "not a regular file")
                continue
            if is_part_file(entry.name):
                continue
            if not _valid_utf8(name):
                if on_error:
                    on_error(TransferError(f"File name is not valid UTF-8: {entry.path!r}"))
                continue
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError as exc:
                if on_error:
                    on_error(exc)
                continue
            yield LocalFile(name, entry.path, st.st_size, st.st_mtime_ns)

    if prefix and not prefix.endswith("/"):
        prefix += "/"
    yield from walk(root, prefix)


def local_sources(
    paths: list[str],
    names: list[str] | None = None,
    on_skip: Callable[[str, str], None] | None = None,
    on_error: Callable[[BaseException], None] | None = None,
) -> Iterator[LocalFile]:
    """Files given on a command line: a file is one object (named after it, or
    after its entry of `names`), a directory every file below it (named after its
    path relative to the directory, prefixed with its entry of `names`)."""
    for index, path in enumerate(paths):
        name = names[index] if names else None
        try:
            st = os.stat(path)
        except OSError as exc:
            if on_error:
                on_error(exc)
            continue
        if stat.S_ISDIR(st.st_mode):
            yield from walk_local(path, name or "", on_skip, on_error)
        elif stat.S_ISREG(st.st_mode):
            yield LocalFile(
                name or os.path.basename(path.rstrip("/")) or path,
                path,
                st.st_size,
                st.st_mtime_ns,
            )
        elif on_skip:
            on_skip(path, "not a regular file")


# -- remote objects ------------------------------------------------------------


def iter_remote(
    api: Any,
    account: str,
    container: str,
    prefix: str | None = None,
    page_size: int | None = None,
    missing_ok: bool = False,
) -> Iterator[dict[str, Any]]:
    """Every object of a container (latest versions), page after page."""
    marker = None
    first = True
    while True:
        try:
            page = api.object_list(
                account, container, limit=page_size or 1000, marker=marker, prefix=prefix
            )
        except NoSuchContainer:
            if missing_ok and first:
                return
            raise
        first = False
        yield from page.get("objects") or ()
        marker = page.get("next_marker")
        if not page.get("truncated") or not marker:
            return


def check_sorted(items: Iterable[Any], key: Callable[[Any], str], what: str) -> Iterator[Any]:
    """Pass `items` through, failing if their names ever go backwards."""
    last = None
    for item in items:
        name = key(item)
        if last is not None and name <= last:
            raise UnsortedListing(
                f"The {what} is not in name order ({last!r} then {name!r}): "
                "sync stopped, nothing more was changed"
            )
        last = name
        yield item


def is_directory_marker(entry: dict[str, Any]) -> bool:
    """An object named like a directory ("photos/"), as S3 tools create: no file."""
    return entry["name"].endswith("/")


def local_path(root: str, name: str) -> str:
    """Where object `name` goes under `root`; names that cannot map there are refused.

    Refused: absolute names, `..` components, empty or `.` components (they would
    not map back to the same name), and paths crossing a symbolic link below
    `root` (which could lead outside it).
    """
    if name.startswith("/"):
        raise TransferError(f"Refusing object {name!r}: an absolute path")
    parts = name.split("/")
    if ".." in parts:
        raise TransferError(f"Refusing object {name!r}: it would be written outside {root!r}")
    if any(p in ("", ".") for p in parts):
        raise TransferError(f"Refusing object {name!r}: not a plain relative file path")
    current = root
    for part in parts[:-1]:
        current = os.path.join(current, part)
        try:
            st = os.lstat(current)
        except FileNotFoundError:
            break  # created later, as a real directory
        if stat.S_ISLNK(st.st_mode):
            raise TransferError(
                f"Refusing object {name!r}: {current!r} is a symbolic link (could lead outside)"
            )
    return os.path.join(root, *parts)


def part_path(path: str, meta: dict[str, Any]) -> str:
    """The partial download of `path` for this very object (id, version, size, hash)."""
    tag_src = f"{meta.get('id')}:{meta.get('version')}:{meta.get('size')}:{meta.get('hash')}"
    tag = hashlib.sha256(tag_src.encode()).hexdigest()[:12]
    directory, base = os.path.split(path)
    return os.path.join(directory, f"{_part_base(base)}.{tag}{PART_SUFFIX}")


def _part_base(base: str) -> str:
    candidate = f".{base}"
    if len(os.fsencode(candidate)) + 14 + len(PART_SUFFIX) > 255:
        candidate = ".oio-" + hashlib.sha256(os.fsencode(base)).hexdigest()[:24]
    return candidate


def _stale_parts(path: str, keep: str) -> list[str]:
    directory, base = os.path.split(path)
    start = _part_base(base) + "."
    try:
        names = os.listdir(directory or ".")
    except OSError:
        return []
    return [
        os.path.join(directory, n)
        for n in names
        if n.startswith(start)
        and n.endswith(PART_SUFFIX)
        and len(n) == len(start) + 12 + len(PART_SUFFIX)
        and os.path.join(directory, n) != keep
    ]


@dataclass
class FetchResult:
    size: int = 0
    sent: int = 0  # bytes read from the storage by this call
    resumed: int = 0  # bytes of an earlier partial download kept
    note: str | None = None  # "resumed" / "restarted: ..."


def fetch_to_file(
    api: Any,
    account: str,
    container: str,
    name: str,
    path: str,
    *,
    meta: dict[str, Any] | None = None,
    version: int | None = None,
    resume: bool = False,
    progress: Callable[[int], None] | None = None,
    on_resume: Callable[[int], None] | None = None,
) -> FetchResult:
    """Download one object to `path`, through a partial file renamed at the end.

    The partial file (`.<base>.<tag>.oio-part` beside `path`, mode 0600 until
    it is renamed) is named after the object's id, version, size and hash. With
    `resume`, an existing one continues with a range from its size (reported to
    `on_resume` before any byte is read), the whole file is then checked against
    the object's MD5 (when it has one), and a failure keeps it for the next try;
    without, it is started afresh and removed on failure, except on Ctrl-C
    (KeyboardInterrupt), which keeps it for a later `resume`.
    """
    if meta is None:
        meta = api.object_get_properties(account, container, name, version=version)
    if version is None and meta.get("version") is not None:
        version = meta["version"]
    result = FetchResult()
    for attempt in (1, 2):
        part = part_path(path, meta)
        offset = 0
        if resume:
            with contextlib.suppress(OSError):
                st = os.lstat(part)
                if stat.S_ISREG(st.st_mode) and st.st_size <= int(meta["size"]):
                    offset = st.st_size
        for stale in _stale_parts(path, part):
            with contextlib.suppress(OSError):
                os.unlink(stale)
        if offset and on_resume is not None:
            on_resume(offset)
        try:
            got, fetched_meta = _fetch_part(
                api, account, container, name, version, meta, part, offset, progress
            )
        except _ObjectChanged as changed:
            if attempt == 2:
                raise TransferError(f"Object {name!r} keeps changing while read") from None
            meta = changed.meta
            result.note = "restarted: the object changed since the partial download"
            continue
        except KeyboardInterrupt:
            raise  # the partial file stays: `resume` continues it
        except BaseException as exc:
            written = partial_size(path, meta)
            if not resume:
                with contextlib.suppress(OSError):
                    os.unlink(part)
            if isinstance(exc, OSError) and exc.errno in FULL_ERRNOS:
                raise disk_full(exc, path, written, meta.get("size"), kept=resume) from None
            raise
        result.sent += got
        expected = (fetched_meta.get("hash") or "").upper()
        if offset and expected:
            actual = md5_of_file(part)
            if actual != expected:
                with contextlib.suppress(OSError):
                    os.unlink(part)
                if attempt == 1:
                    result.note = "restarted: the partial download did not match the object"
                    continue
                raise UnrecoverableContent(
                    f"Object {name!r}: MD5 of the download {actual} differs from {expected}"
                )
        if offset:
            result.resumed = offset
            result.note = result.note or "resumed"
        mtime = fetched_meta.get("mtime")
        if mtime:
            with contextlib.suppress(OSError, ValueError, TypeError):
                os.utime(part, (float(mtime), float(mtime)))
        os.chmod(part, 0o666 & ~umask())
        os.replace(part, path)
        result.size = int(fetched_meta["size"])
        return result
    raise AssertionError("unreachable")  # pragma: no cover


def partial_size(path: str, meta: dict[str, Any]) -> int:
    """Bytes of the partial download of `path` for this object (0 if there is none)."""
    try:
        return os.lstat(part_path(path, meta)).st_size
    except OSError:
        return 0


def disk_full(
    error: OSError, path: str, written: int, total: int | None, kept: bool = False
) -> TransferError:
    """One line: which file system is full, and what was not written."""
    reason = {
        errno.ENOSPC: "is full",
        errno.EDQUOT: "is over quota",
        errno.EFBIG: "refuses a file this big",
    }.get(error.errno or 0, "failed")
    of = f" of {total}" if total is not None else ""
    left = "kept for --resume" if kept else "removed"
    return TransferError(
        f"The file system mounted on {mount_point(path)} {reason} ({error.strerror}): "
        f"{path!r} was not written, {written}{of} bytes were (partial file {left})"
    )


class _ObjectChanged(Exception):
    def __init__(self, meta: dict[str, Any]) -> None:
        super().__init__("object changed")
        self.meta = meta


def _same_object(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return all(
        str(a.get(k) or "").upper() == str(b.get(k) or "").upper()
        for k in ("version", "size", "hash")
    )


def _fetch_part(
    api: Any,
    account: str,
    container: str,
    name: str,
    version: Any,
    meta: dict[str, Any],
    part: str,
    offset: int,
    progress: Callable[[int], None] | None,
) -> tuple[int, dict[str, Any]]:
    size = int(meta["size"])
    ranges = [(offset, None)] if 0 < offset < size else None
    stream: Iterator[bytes]
    if offset and offset >= size:
        fetched, stream = meta, iter(())
    else:
        fetched, stream = api.object_fetch(account, container, name, version=version, ranges=ranges)
        if not _same_object(fetched, meta):
            close = getattr(stream, "close", None)
            if close:
                close()
            raise _ObjectChanged(fetched)
    os.makedirs(os.path.dirname(part) or ".", exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(part, flags, 0o600)  # private until complete and renamed
    got = 0
    from oiocli.core.direct import DirectWriter

    # Past the page cache: filling fresh cache pages cost more CPU than the read.
    out = DirectWriter(fd, direct=offset % 4096 == 0)
    try:
        os.ftruncate(fd, offset)
        os.lseek(fd, offset, os.SEEK_SET)
        for data in stream:
            out.write(data)
            got += len(data)
            if progress is not None:
                progress(len(data))
        out.finish()
    finally:
        out.release()
        os.close(fd)
    if offset + got != size:
        raise TransferError(
            f"Object {name!r}: {offset + got} bytes written, {size} expected (truncated read)"
        )
    return got, fetched


# -- worker pool ---------------------------------------------------------------


class _Pool:
    """`workers` daemon threads; `submit` blocks while 2 x workers tasks wait.

    Daemon threads: an interrupted run exits at once, leaving uploads
    uncommitted (their journals make them resumable) and partial downloads.
    """

    def __init__(self, workers: int, handler: Callable[[Any], None]) -> None:
        self.handler = handler
        self.queue: queue.Queue[Any] = queue.Queue(maxsize=max(1, workers) * 2)
        self.crash: BaseException | None = None
        self.stopped = threading.Event()
        self.threads = [
            threading.Thread(target=self._run, daemon=True, name=f"oio-transfer-{i}")
            for i in range(max(1, workers))
        ]
        for thread in self.threads:
            thread.start()

    def _run(self) -> None:
        while True:
            task = self.queue.get()
            if task is None or self.stopped.is_set():
                return
            try:
                self.handler(task)
            except BaseException as exc:  # noqa: BLE001 - reported by close()
                self.crash = self.crash or exc

    def submit(self, task: Any) -> None:
        if self.crash is not None:
            raise self.crash
        self.queue.put(task)

    def abort(self) -> None:
        """Workers stop after their current task; nobody waits for them."""
        self.stopped.set()
        with contextlib.suppress(queue.Empty):
            while True:
                self.queue.get_nowait()

    def close(self) -> None:
        for _ in self.threads:
            self.queue.put(None)
        for thread in self.threads:
            while thread.is_alive():
                thread.join(0.5)
        if self.crash is not None:
            raise self.crash


# -- the engine ----------------------------------------------------------------


@dataclass
class PlanRow:
    action: str  # upload, download, delete
    name: str
    size: int | None
    reason: str


class Transfer:
    """Trees between a local directory and a container, through one shared API."""

    def __init__(
        self,
        api: Any,
        account: str,
        container: str,
        listener: Listener | None = None,
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        chunk_concurrency: int | None = None,
        resume: bool = False,
        overwrite: bool = False,
        policy: str | None = None,
        mime_type: str | None = None,
        properties: dict[str, str] | None = None,
        autocreate: bool = True,
        md5_cache: bool = True,
        page_size: int | None = None,
        filter: Filter | None = None,  # noqa: A002 - the name the commands use
        stats: Stats | None = None,
    ) -> None:
        self.api = api
        self.account = account
        self.container = container
        self.listener = listener or ignore
        self.stats = stats if stats is not None else Stats()  # the events folded
        self.concurrency = max(1, int(concurrency))
        self.chunk_concurrency = chunk_concurrency
        self.resume = resume
        self.overwrite = overwrite
        self.policy = policy
        self.mime_type = mime_type
        self.properties = properties
        self.autocreate = autocreate
        self.use_md5_cache = md5_cache
        self.page_size = page_size
        self.filter = filter if filter is not None and filter.active else None
        self._md5_cache: Md5Cache | None = None
        self._resume_warned = False
        self._made_dirs: set[str] = set()
        self._dirs_lock = threading.Lock()

    # -- helpers
    def emit(self, event: Event) -> None:
        """Count `event` in `stats`, then tell the listener."""
        self.stats.apply(event)
        self.listener(event)

    @contextlib.contextmanager
    def _session(self, operation: str) -> Iterator[None]:
        """Started ... Finished around one run (Finished(interrupted) if it raises)."""
        self.emit(Started(operation, {"container": self.container}))
        try:
            yield
        except BaseException:
            self.emit(Finished(interrupted=True))
            raise
        if self.stats.resumed:
            self.emit(Notice(f"resumed: {size_words(self.stats.resumed)} not sent again"))
        self.emit(Finished())

    def _skip_local(self, path: str, reason: str) -> None:
        self.emit(EntryIgnored(f"Skipping {path!r}: {reason}"))

    def _skip_marker(self, name: str) -> None:
        self.emit(EntryIgnored(f"Skipping object {name!r}: a directory marker, not a file"))

    def _local_error(self, error: BaseException) -> None:
        self.emit(FileFailed("walk", None, error))

    def _progress(self, nbytes: int) -> None:
        self.emit(Progress(nbytes))

    def _run(self, tasks: Iterable[Any], handler: Callable[[Any], None]) -> None:
        pool = _Pool(self.concurrency, handler)
        try:
            for task in tasks:
                pool.submit(task)
        except BaseException:
            # a listing failed, or Ctrl-C: queued tasks are dropped, running ones are
            # not waited for (daemon threads)
            pool.abort()
            self.emit(PlanningDone())
            raise
        self.emit(PlanningDone())
        pool.close()

    def _guard(self, action: str, name: str, work: Callable[[], None]) -> None:
        try:
            work()
        except Exception as exc:  # noqa: BLE001 - one file never stops the others
            self.emit(FileFailed(action, name, exc))

    # -- uploads
    def upload_file(self, item: LocalFile) -> None:
        kept = ResumeTeller(item.name, self.emit)
        kwargs: dict[str, Any] = {
            "obj_name": item.name,
            "policy": self.policy,
            "mime_type": self.mime_type or guess_type(item.name),
            "properties": self.properties,
            "progress": self._progress,
            "on_resume": kept.announce,
        }
        if self.api.resumable_uploads:
            kwargs["keep_journal"] = True  # an interrupted upload can be resumed later
        if not self.autocreate:
            kwargs["autocreate"] = False
        if self.resume and self._uploads_resumable():
            kwargs["resume"] = True
        if self.chunk_concurrency:
            kwargs["chunk_concurrency"] = self.chunk_concurrency
        _chunks, size, md5, meta = self.api.object_create_ext(
            self.account, self.container, file_or_path=item.path, **kwargs
        )
        resumed = int(meta.get("resumed_bytes") or 0)
        note = meta.get("resume")
        # in a tree, most files have nothing to resume: only a restart is news
        if note and note.startswith("restarted"):
            self.emit(Alert(f"{item.name}: {note}"))
        kept.settle(resumed)
        self.emit(FileDone("upload", item.name, size, size - resumed, resumed, md5))

    def _uploads_resumable(self) -> bool:
        """Upload journals live in the namespace's data directory: none over a proxy."""
        if self.api.resumable_uploads:
            return True
        with self._dirs_lock:
            warned, self._resume_warned = self._resume_warned, True
        if not warned:
            self.emit(Alert(RESUME_NEEDS_DATA_DIR))
        return False

    def _prepare_container(self) -> None:
        if self.autocreate:
            with contextlib.suppress(OioException):
                self.api.container_create(self.account, self.container)

    def upload(self, items: Iterable[LocalFile]) -> Stats:
        """Upload every file of `items`, `concurrency` at once (no comparison)."""
        with self._session("upload"):
            self._prepare_container()

            def planned() -> Iterator[LocalFile]:
                for item in items:
                    self.emit(Planned(item.name, item.size))
                    yield item

            self._run(
                planned(),
                lambda item: self._guard("upload", item.name, lambda: self.upload_file(item)),
            )
        return self.stats

    def upload_paths(self, paths: list[str], names: list[str] | None = None) -> Stats:
        """Upload files and trees (`local_sources`), `concurrency` at once.

        A file whose object already exists with the same size and MD5 is skipped
        (unless `overwrite`), so that repeating or resuming an upload does not send
        again what it finished; the trees are compared with the listing, not
        object by object. Files the filter leaves out are not uploaded.
        """
        identical = 0

        def planned() -> Iterator[tuple[LocalFile, dict[str, Any] | None]]:
            for task in self._upload_tasks(paths, names):
                self.emit(Planned(task[0].name, task[0].size))
                yield task

        def upload(task: tuple[LocalFile, dict[str, Any] | None]) -> None:
            item, entry = task

            def work() -> None:
                nonlocal identical
                if entry is not None and self._same(item, entry):
                    self.emit(FileSkipped("upload", item.name, item.size, "identical", True))
                    with self.stats.lock:
                        identical += 1
                    return
                self.upload_file(item)

            self._guard("upload", item.name, work)

        with self._session("upload"):
            self._prepare_container()
            if self.use_md5_cache and not self.overwrite:
                self._md5_cache = Md5Cache(md5_cache_path(self.api))
            try:
                self._run(planned(), upload)
            finally:
                if self._md5_cache is not None:
                    self._md5_cache.close()
            if identical:
                self.emit(
                    Notice(
                        f"{identical} file(s) skipped: already in container "
                        f"{self.container!r} with the same size and MD5 (give --overwrite "
                        "to upload them again)"
                    )
                )
        return self.stats

    def _upload_tasks(
        self, paths: list[str], names: list[str] | None
    ) -> Iterator[tuple[LocalFile, dict[str, Any] | None]]:
        """Each file to upload with its existing object (None: none, or `overwrite`)."""
        for index, path in enumerate(paths):
            name = names[index] if names else None
            try:
                st = os.stat(path)
            except OSError as exc:
                self._local_error(exc)
                continue
            if stat.S_ISDIR(st.st_mode):
                prefix = name or ""
                if prefix and not prefix.endswith("/"):
                    prefix += "/"
                walk = self._filter_local(
                    walk_local(path, prefix, self._skip_local, self._local_error), len(prefix)
                )
                yield from self._with_objects(walk, prefix)
            elif stat.S_ISREG(st.st_mode):
                item = LocalFile(
                    name or os.path.basename(path.rstrip("/")) or path,
                    path,
                    st.st_size,
                    st.st_mtime_ns,
                )
                base = os.path.basename(path.rstrip("/")) or path
                if self.filter and not self.filter.wants(base, item.size, item.mtime_ns / 1e9):
                    continue
                yield item, None if self.overwrite else self._object(item.name)
            else:
                self._skip_local(path, "not a regular file")

    def _same(self, item: LocalFile, entry: dict[str, Any]) -> bool:
        """The object already holds this file: same size and MD5 (and policy, if one
        was asked for)."""
        if self.policy and entry.get("policy") and entry["policy"] != self.policy:
            return False
        return self._differs(item, entry) is None

    def _filter_local(self, items: Iterator[LocalFile], strip: int) -> Iterator[LocalFile]:
        """`items` the filter takes (matched on their path below the uploaded directory)."""
        if self.filter is None:
            return items
        wanted = self.filter.wants
        return (i for i in items if wanted(i.name[strip:], i.size, i.mtime_ns / 1e9))

    def _object(self, name: str) -> dict[str, Any] | None:
        """The latest version of object `name`, or None."""
        try:
            return self.api.object_get_properties(self.account, self.container, name)
        except (NoSuchObject, NoSuchContainer):
            return None

    def _with_objects(
        self, walk: Iterator[LocalFile], prefix: str
    ) -> Iterator[tuple[LocalFile, dict[str, Any] | None]]:
        """Each local file with the object of its name (or None), from one streamed
        listing under `prefix` merged with the sorted walk."""
        if self.overwrite:
            for item in walk:
                yield item, None
            return
        local = check_sorted(walk, lambda item: item.name, "local walk")
        remote = check_sorted(
            iter_remote(
                self.api,
                self.account,
                self.container,
                prefix or None,
                self.page_size,
                missing_ok=True,
            ),
            lambda entry: entry["name"],
            "container listing",
        )
        right = next(remote, None)
        for item in local:
            while right is not None and right["name"] < item.name:
                right = next(remote, None)
            if right is not None and right["name"] == item.name:
                yield item, right
                right = next(remote, None)
            else:
                yield item, None

    # -- downloads
    def _makedirs(self, directory: str) -> None:
        if directory in self._made_dirs:
            return
        os.makedirs(directory, exist_ok=True)
        with self._dirs_lock:
            if len(self._made_dirs) > 10000:
                self._made_dirs.clear()
            self._made_dirs.add(directory)

    def download_file(self, entry: dict[str, Any], path: str) -> None:
        name = entry["name"]
        self._makedirs(os.path.dirname(path))
        kept = ResumeTeller(name, self.emit)
        result = fetch_to_file(
            self.api,
            self.account,
            self.container,
            name,
            path,
            meta=entry,
            resume=self.resume,
            progress=self._progress,
            on_resume=kept.announce,
        )
        if result.note and result.note != "resumed":
            self.emit(Alert(f"{name}: {result.note}"))
        kept.settle(result.resumed)
        self.emit(FileDone("download", name, result.size, result.sent, result.resumed))

    def download(self, directory: str, prefix: str | None = None) -> Stats:
        """Every object (under `prefix`) to `directory/<name>`; existing files are
        skipped unless `overwrite`."""
        with self._session("download"):
            self._download(directory, prefix)
        return self.stats

    def _download(self, directory: str, prefix: str | None = None) -> None:
        root = os.path.abspath(directory)
        existing = 0

        def tasks() -> Iterator[tuple[dict[str, Any], str]]:
            nonlocal existing
            for entry in iter_remote(
                self.api, self.account, self.container, prefix, self.page_size
            ):
                name = entry["name"]
                if self.filter and not self._wants_entry(entry):
                    continue
                if is_directory_marker(entry):
                    self._skip_marker(name)
                    continue
                try:
                    path = local_path(root, name)
                except TransferError as exc:
                    self.emit(FileFailed("download", name, exc))
                    continue
                if not self.overwrite and os.path.lexists(path):
                    self.emit(FileSkipped("download", name, 0, "exists", planned=False))
                    existing += 1
                    continue
                self.emit(Planned(name, int(entry.get("size") or 0)))
                yield entry, path

        os.makedirs(root, exist_ok=True)
        self._run(
            tasks(),
            lambda task: self._guard(
                "download", task[0]["name"], lambda: self.download_file(*task)
            ),
        )
        if existing:
            self.emit(
                Notice(f"{existing} existing file(s) skipped: give --overwrite to replace them")
            )

    def _wants_entry(self, entry: dict[str, Any]) -> bool:
        assert self.filter is not None
        size = entry.get("size")
        mtime = entry.get("mtime")
        return self.filter.wants(
            entry["name"],
            int(size) if size is not None else None,
            float(mtime) if mtime is not None else None,
        )

    def _wants_pair(self, item: LocalFile | None, entry: dict[str, Any] | None) -> bool:
        """Sync: a name left out on either side is neither transferred nor deleted."""
        assert self.filter is not None
        if item is not None and not self.filter.wants(item.name, item.size, item.mtime_ns / 1e9):
            return False
        return entry is None or self._wants_entry(entry)

    # -- sync
    def _md5(self, item: LocalFile) -> str:
        if self._md5_cache is None:
            return md5_of_file(item.path)
        return self._md5_cache.md5(item.path, item.size, item.mtime_ns)

    def _differs(self, item: LocalFile, entry: dict[str, Any]) -> str | None:
        """Why a local file and an object differ (None: identical)."""
        if int(entry.get("size") or 0) != item.size:
            return "size"
        remote = (entry.get("hash") or "").upper()
        if not remote:
            return "no hash"
        return None if self._md5(item) == remote else "md5"

    def _pairs(
        self, directory: str, upload: bool
    ) -> Iterator[tuple[LocalFile | None, dict[str, Any] | None]]:
        """Merge the sorted local walk and the sorted listing: (local, remote) pairs."""
        walk = (
            walk_local(directory, "", self._skip_local, self._local_error)
            if os.path.isdir(directory)
            else iter(())
        )
        local = check_sorted(
            walk,
            lambda item: item.name,
            "local walk",
        )
        remote = check_sorted(
            iter_remote(
                self.api,
                self.account,
                self.container,
                page_size=self.page_size,
                missing_ok=upload,
            ),
            lambda entry: entry["name"],
            "container listing",
        )
        left = next(local, None)
        right = next(remote, None)
        wanted = self._wants_pair if self.filter is not None else None
        while left is not None or right is not None:
            if right is None or (left is not None and left.name < right["name"]):
                pair: tuple[LocalFile | None, dict[str, Any] | None] = (left, None)
                left = next(local, None)
            elif left is None or right["name"] < left.name:
                pair = (None, right)
                right = next(remote, None)
            else:
                pair = (left, right)
                left, right = next(local, None), next(remote, None)
            if wanted is None or wanted(*pair):
                yield pair

    def sync(
        self,
        directory: str,
        upload: bool,
        delete: bool = False,
        max_delete: int | None = None,
    ) -> Stats:
        """Make the destination like the source: transfer what is missing or differs
        (size, then MD5), then, with `delete`, delete what the source lacks."""
        with self._session("upload" if upload else "download"):
            self._sync(directory, upload, delete, max_delete)
        return self.stats

    def _sync(
        self,
        directory: str,
        upload: bool,
        delete: bool = False,
        max_delete: int | None = None,
    ) -> None:
        root = os.path.abspath(directory)
        if upload:
            self._prepare_container()
        else:
            os.makedirs(root, exist_ok=True)
        if self.use_md5_cache:
            self._md5_cache = Md5Cache(md5_cache_path(self.api))
        extras = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115
        extra_count = 0
        try:

            def tasks() -> Iterator[tuple[LocalFile | None, dict[str, Any] | None, str]]:
                nonlocal extra_count
                for item, entry in self._pairs(root, upload):
                    if upload and item is not None:
                        self.emit(Planned(item.name, item.size))
                        yield item, entry, ""
                    elif not upload and entry is not None:
                        if is_directory_marker(entry):
                            self._skip_marker(entry["name"])
                            continue
                        try:
                            path = local_path(root, entry["name"])
                        except TransferError as exc:
                            self.emit(FileFailed("download", entry["name"], exc))
                            continue
                        self.emit(Planned(entry["name"], int(entry.get("size") or 0)))
                        yield item, entry, path
                    elif delete:
                        name = item.name if item is not None else entry["name"]  # type: ignore[index]
                        extras.write(json.dumps(name) + "\n")
                        extra_count += 1

            self._run(tasks(), self._sync_task(upload))
            self._delete_extras(root, upload, extras, extra_count, max_delete)
        finally:
            extras.close()
            if self._md5_cache is not None:
                self._md5_cache.close()

    def _sync_task(self, upload: bool) -> Callable[[Any], None]:
        def run(task: tuple[LocalFile | None, dict[str, Any] | None, str]) -> None:
            item, entry, path = task
            name = item.name if item is not None else entry["name"]  # type: ignore[index]
            action = "upload" if upload else "download"

            def work() -> None:
                if item is not None and entry is not None:
                    reason = self._differs(item, entry)
                    if reason is None:
                        self.emit(FileSkipped(action, name, item.size, "identical", planned=True))
                        return
                if upload:
                    self.upload_file(item)  # type: ignore[arg-type]
                else:
                    self.download_file(entry, path)  # type: ignore[arg-type]

            self._guard(action, name, work)

        return run

    def _delete_extras(
        self, root: str, upload: bool, extras: IO[str], count: int, max_delete: int | None
    ) -> None:
        if not count:
            return
        where = f"container {self.container!r}" if upload else f"directory {root!r}"
        if self.stats.failed:
            self.emit(
                DeletesRefused(
                    count, f"Not deleting {count} extra file(s) from {where}: some transfers failed"
                )
            )
            return
        if max_delete is not None and count > max_delete:
            self.emit(
                DeletesRefused(
                    count,
                    f"Not deleting {count} extra file(s) from {where}: more than "
                    f"--max-delete {max_delete}",
                )
            )
            return
        extras.seek(0)

        def names() -> Iterator[str]:
            for line in extras:
                yield json.loads(line)

        def remove(name: str) -> None:
            def work() -> None:
                if upload:
                    self.api.object_delete(self.account, self.container, name)
                else:
                    os.unlink(local_path(root, name))
                self.emit(FileDeleted(name))

            self._guard("delete", name, work)

        self._run(names(), remove)

    def plan(
        self,
        directory: str,
        upload: bool,
        delete: bool = False,
        max_delete: int | None = None,
    ) -> Iterator[PlanRow]:
        """What `sync` would do, in name order, changing nothing (MD5s are computed).

        Identical files are counted in `stats.skipped`, not listed.
        """
        from collections import deque
        from concurrent.futures import Future, ThreadPoolExecutor

        root = os.path.abspath(directory)
        if self.use_md5_cache:
            self._md5_cache = Md5Cache(md5_cache_path(self.api))
        action = "upload" if upload else "download"
        deletes = 0
        executor = ThreadPoolExecutor(max_workers=self.concurrency)
        window: deque[Any] = deque()

        def ready(slot: Any) -> bool:
            return not isinstance(slot, Future) or slot.done()

        def value(slot: Any) -> PlanRow | None:
            return slot.result() if isinstance(slot, Future) else slot

        try:
            for item, entry in self._pairs(root, upload):
                source = item if upload else entry
                if source is not None:
                    if item is not None and entry is not None:
                        window.append(executor.submit(self._plan_pair, action, item, entry))
                    elif upload:
                        window.append(PlanRow(action, item.name, item.size, "new"))  # type: ignore[union-attr]
                    else:
                        name = entry["name"]  # type: ignore[index]
                        if is_directory_marker(entry):  # type: ignore[arg-type]
                            self._skip_marker(name)
                            continue
                        try:
                            local_path(root, name)
                        except TransferError as exc:
                            self.emit(FileFailed("download", name, exc))
                            continue
                        window.append(PlanRow(action, name, int(entry.get("size") or 0), "new"))  # type: ignore[union-attr]
                elif delete:
                    deletes += 1
                    if item is not None:
                        window.append(PlanRow("delete", item.name, item.size, "extra"))
                    else:
                        window.append(PlanRow("delete", entry["name"], entry.get("size"), "extra"))  # type: ignore[index,union-attr]
                while window and (len(window) > 4 * self.concurrency or ready(window[0])):
                    row = value(window.popleft())
                    if row is not None:
                        yield row
            while window:
                row = value(window.popleft())
                if row is not None:
                    yield row
        finally:
            executor.shutdown(wait=False, cancel_futures=True)
            if self._md5_cache is not None:
                self._md5_cache.close()
            self.emit(PlanningDone())
        if max_delete is not None and deletes > max_delete:
            self.emit(
                DeletesRefused(
                    deletes,
                    f"{deletes} deletion(s) planned, more than --max-delete {max_delete}: "
                    "a real run would delete nothing",
                )
            )
        # counted, not told: a plan is no transfer that starts and finishes
        self.stats.apply(Finished())

    def _plan_pair(self, action: str, item: LocalFile, entry: dict[str, Any]) -> PlanRow | None:
        try:
            reason = self._differs(item, entry)
        except (OioException, OSError) as exc:
            self.emit(FileFailed(action, item.name, exc))
            return None
        if reason is None:
            self.emit(FileSkipped(action, item.name, item.size, "identical", False, listed=False))
            return None
        size = item.size if action == "upload" else int(entry.get("size") or 0)
        return PlanRow(action, item.name, size, reason)
