"""Adding, draining and removing volumes of the embedded namespace.

A volume is added only as an empty (or new) directory: it is marked as this
namespace's, then recorded in namespace.json (fsync'd, atomically replaced),
under the namespace's exclusive chunk lock so that two administrators (or a
`namespace set`) never lose each other's change.

Draining a volume first marks it (`DRAIN_MARK`, a file in the volume that every
process's placement reads, so no new chunk goes there whatever configuration a
running process loaded), then moves each chunk recorded on it to another volume
the chunk's metachunk does not use yet (the policy's placement rule), one swap
of chunk records per object (`content_replace_chunks`: it fails, changing
nothing, when the object changed meanwhile; the next pass takes the object as it
is then). A chunk file hard-linked under several names (links, copies,
snapshots) is copied once and linked again on the new volume. A chunk that
cannot be read is rebuilt from the object's other chunks instead. A drain can be
interrupted and run again: what was moved is no longer recorded on the volume,
and a copy made but not swapped in is an orphan the sweep removes later.

A drained volume is removed from namespace.json only when, under the exclusive
chunk lock (no commit recording chunks runs meanwhile), it holds no chunk file
at all: neither one an object records nor one an upload in progress wrote.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Callable
from typing import Any

from oiocli.backends.embedded.chunks import chunk_path, chunk_url, prepare_volume
from oiocli.backends.embedded.config import (
    CONFIG_FILE,
    VOLUME_MARK,
    _mark_volumes,
    read_config,
    validate,
    volume_owner,
    write_config,
)
from oiocli.core.exceptions import (
    BadRequest,
    Conflict,
    Forbidden,
    NoSuchContainer,
    NoSuchObject,
    NotEnoughVolumes,
    OioException,
)
from oiocli.core.storage_method import PolicyTable

DRAIN_MARK = ".oiocli-draining"
# Passes over a draining volume: a pass misses what was committed on it while it ran.
DRAIN_PASSES = 3


def is_draining(volume: str) -> bool:
    return os.path.exists(os.path.join(volume, DRAIN_MARK))


def _fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _related(a: str, b: str) -> bool:
    """Same directory, or one inside the other."""
    a, b = os.path.realpath(a), os.path.realpath(b)
    return a == b or a.startswith(b + os.sep) or b.startswith(a + os.sep)


# ----------------------------------------------------------------------- add
def add_volume(backend: Any, path: str) -> str:
    """Make `path` a new volume of the namespace; return its absolute path.

    Refused (nothing changed): a path that is, holds or lies in a volume or
    the namespace's own directories, a directory holding anything, a volume
    another namespace marked, a path that cannot be made or written.
    """
    from oiocli.backends.embedded.locks import chunk_lock

    if not path or "\0" in path:
        raise BadRequest("Invalid volume path: give a directory path")
    volume = os.path.abspath(path)
    _refuse_placement(backend, volume)
    created = not os.path.lexists(volume)
    if not created:
        _refuse_contents(backend, volume)
    had_mark = os.path.exists(os.path.join(volume, VOLUME_MARK))
    config_path = os.path.join(backend.data_dir, CONFIG_FILE)
    with chunk_lock(backend.data_dir, exclusive=True):
        config = read_config(config_path)
        if config is None:
            raise BadRequest(f"No namespace in {backend.data_dir}: nothing to add a volume to")
        backend.config = config  # another process may have changed it
        _refuse_placement(backend, volume)
        try:
            prepare_volume(volume)
            _mark_volumes(
                {"id": config.get("id"), "data_dir": config.get("data_dir"), "volumes": [volume]}
            )
            probe = os.path.join(volume, f".probe.{secrets.token_hex(4)}")
            os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            os.unlink(probe)
            _fsync_dir(volume)
            _fsync_dir(os.path.dirname(volume))
            new = dict(config, volumes=[*config["volumes"], volume])
            validate(new, config_path)
            write_config(config_path, new)
            _fsync_dir(backend.data_dir)
        except (OSError, OioException) as exc:
            # Leave the place as it was found.
            if not had_mark:
                with contextlib.suppress(OSError):
                    os.unlink(os.path.join(volume, VOLUME_MARK))
            if created:
                with contextlib.suppress(OSError):
                    os.rmdir(volume)
            if isinstance(exc, OioException):
                raise
            raise BadRequest(f"Cannot add volume {volume}: {exc.strerror or exc}") from None
        backend.config = new
    return volume


def _refuse_placement(backend: Any, volume: str) -> None:
    for known in backend.volumes:
        if _related(volume, known):
            same = os.path.realpath(volume) == os.path.realpath(known)
            raise BadRequest(
                f"{volume} is already volume {os.path.basename(known)}"
                if same
                else f"{volume} overlaps volume {known}: volumes are distinct directories"
            )
        if os.path.basename(volume) == os.path.basename(known):
            raise BadRequest(
                f"{volume}: a volume is already named {os.path.basename(known)} ({known}); "
                "give the new one a directory name of its own"
            )
    data_dir = backend.data_dir
    for own in ("containers", "uploads"):
        if _related(volume, os.path.join(data_dir, own)):
            raise BadRequest(f"{volume} overlaps the namespace's own {own} directory")
    if _related(volume, data_dir) and not os.path.realpath(volume).startswith(
        os.path.realpath(data_dir) + os.sep
    ):
        raise BadRequest(f"{volume} holds the namespace's directory {data_dir}")


def _refuse_contents(backend: Any, volume: str) -> None:
    if not os.path.isdir(volume):
        raise BadRequest(f"Cannot add volume {volume}: it exists and is not a directory")
    owner = volume_owner(volume)
    if owner is not None and owner.get("id") != backend.config.get("id"):
        raise Forbidden(
            f"Volume {volume} belongs to the namespace in {owner.get('data_dir')}: "
            "two namespaces never share a volume"
        )
    try:
        entries = sorted(e for e in os.listdir(volume) if e != VOLUME_MARK)
    except OSError as exc:
        raise BadRequest(f"Cannot add volume {volume}: {exc.strerror or exc}") from None
    if entries:
        shown = ", ".join(entries[:3]) + (", ..." if len(entries) > 3 else "")
        raise BadRequest(
            f"Cannot add volume {volume}: the directory is not empty ({shown}); a volume "
            "is added only as an empty or new directory"
        )


# --------------------------------------------------------------------- drain
def set_draining(volume: str, draining: bool) -> None:
    mark = os.path.join(volume, DRAIN_MARK)
    if draining:
        try:
            with open(os.open(mark, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
                f.write("draining: no new chunk goes here\n")
                f.flush()
                os.fsync(f.fileno())
            _fsync_dir(volume)
        except OSError as exc:
            if os.path.isdir(volume) and os.access(volume, os.R_OK | os.X_OK):
                # Read-only: placement skips it already, and its chunks can be read.
                if not os.access(volume, os.W_OK):
                    return
            raise BadRequest(
                f"Cannot mark volume {volume} as draining ({exc.strerror or exc}): if it "
                f"is lost, rebuild its chunks elsewhere with `oio volume rebuild "
                f"{os.path.basename(volume)}`"
            ) from None
    else:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(mark)
            _fsync_dir(volume)


def _records_on(backend: Any, volume: str) -> dict[tuple[str, str, str], list[str]]:
    """(account, container, content) -> urls of its chunks recorded on `volume`."""
    import sqlite3

    from oiocli.backends.embedded import db

    prefix = f"file://{volume}/"
    found: dict[tuple[str, str, str], list[str]] = {}
    for account, name in backend._ns_read("SELECT account, name FROM containers"):
        try:
            cdb = backend.container(account, name)
            rows = cdb.conn.execute(
                "SELECT url, content FROM chunks WHERE url >= ? AND url < ?",
                (prefix, prefix[:-1] + "0"),
            ).fetchall()
        except NoSuchContainer:
            continue  # deleted meanwhile
        except sqlite3.DatabaseError as exc:
            db.raise_db_error(exc, cdb.path)
        for url, content in rows:
            found.setdefault((account, name, content), []).append(url)
    return found


class Drainer:
    """Moves the chunks recorded on one volume to the others."""

    def __init__(
        self,
        backend: Any,
        volume: str,
        repair: Callable[[str, str, str, int], Any],
        warn: Callable[[str], None],
    ) -> None:
        self.backend = backend
        self.store = backend.chunks
        self.volume = volume
        self.repair = repair  # rebuilds an object's unreadable chunks elsewhere
        self.warn = warn
        self.copied = 0
        self.linked = 0
        self.rebuilt = 0
        self.failed: dict[str, str] = {}
        self._copies: dict[tuple[int, int], str] = {}  # inode of a chunk file -> its new url

    def run(self) -> int:
        """Passes until nothing recorded is left or a pass moves nothing; return what is left."""
        left = 0
        for _ in range(DRAIN_PASSES):
            records = _records_on(self.backend, self.volume)
            left = sum(len(urls) for urls in records.values())
            if not left:
                return 0
            before = (self.copied, self.linked, self.rebuilt)
            self.failed.clear()
            for (account, container, content), urls in sorted(records.items()):
                self._drain_object(account, container, content, urls)
            if (self.copied, self.linked, self.rebuilt) == before:
                break
        records = _records_on(self.backend, self.volume)
        return sum(len(urls) for urls in records.values())

    def _drain_object(self, account: str, container: str, content: str, urls: list[str]) -> None:
        try:
            cdb = self.backend.container(account, container)
            alias = cdb.conn.execute(
                "SELECT name, version FROM aliases WHERE content = ? LIMIT 1", (content,)
            ).fetchone()
        except NoSuchContainer:
            return
        if alias is None:
            return  # its object is being deleted: its chunks go with it
        name, version = alias
        chunks = self.backend.get_chunks(cdb, content)
        new: list[dict[str, Any]] = []
        old: list[str] = []
        hows: list[str] = []
        unreadable = False
        for chunk in chunks:
            if chunk["url"] not in urls:
                continue
            index = str(chunk["pos"]).partition(".")[0]
            used = {
                self.backend.volume_of(c["url"])
                for c in chunks + new
                if str(c["pos"]).partition(".")[0] == index
            }
            try:
                url, how = self._move_chunk(chunk["url"], used)
            except NotEnoughVolumes as exc:
                self.failed[chunk["url"]] = str(exc)
                continue
            except OioException as exc:
                unreadable = True
                self.failed[chunk["url"]] = str(exc)
                continue
            new.append(dict(chunk, url=url, real_url=url))
            old.append(chunk["url"])
            hows.append(how)
        if old:
            try:
                self.backend.content_replace_chunks(account, container, name, version, old, new)
            except (Conflict, NoSuchObject, NoSuchContainer) as exc:
                # Changed meanwhile: the next pass takes the object as it is now.
                for chunk in new:
                    self._forget(chunk["url"])
                for url in old:
                    self.failed[url] = f"changed while it was moved: {exc}"
            else:
                self.linked += hows.count("link")
                self.copied += hows.count("copy")
        if unreadable:
            try:
                self.repair(account, container, name, version)
                self.rebuilt += 1
            except OioException as exc:
                self.warn(f"{account}/{container}/{name}: cannot rebuild its chunks: {exc}")

    def _move_chunk(self, url: str, used: set[str]) -> tuple[str, str]:
        """A copy of chunk `url` on a volume not in `used`: (its url, "link" or "copy")."""
        try:
            st = os.stat(chunk_path(url))
            key: tuple[int, int] | None = (st.st_dev, st.st_ino)
        except OSError:
            key = None
        twin = self._copies.get(key) if key else None
        if twin is not None and self.backend.volume_of(twin) not in used:
            target = chunk_url(self.backend.volume_of(twin), secrets.token_hex(32).upper())
            try:
                self.store.link(twin, target)
                return target, "link"
            except OioException:
                self._copies.pop(key, None)  # type: ignore[arg-type]
        (volume,) = self.backend.pick_volumes(1, avoid=used | {self.volume})
        target = chunk_url(volume, secrets.token_hex(32).upper())
        head = self.store.head(url)
        meta = dict(head["meta"])
        meta.setdefault("block_size", head["block_size"])
        try:
            self.store.put(target, self.store.get(url), meta)
        except BaseException:
            with contextlib.suppress(OioException):
                self.store.delete(target)
            raise
        if key is not None:
            self._copies[key] = target
        return target, "copy"

    def _forget(self, url: str) -> None:
        for key, known in list(self._copies.items()):
            if known == url:
                del self._copies[key]
        with contextlib.suppress(OioException):
            self.store.delete(url)


def chunk_files_on(volume: str) -> int:
    from oiocli.backends.embedded.volumes import iter_chunk_files

    return sum(1 for _ in iter_chunk_files(volume, []))


def remove_volume(backend: Any, volume: str) -> None:
    """Drop a drained volume from namespace.json; refused while it holds any chunk file."""
    from oiocli.backends.embedded.locks import chunk_lock

    config_path = os.path.join(backend.data_dir, CONFIG_FILE)
    with chunk_lock(backend.data_dir, exclusive=True):
        left = chunk_files_on(volume)
        if left:
            raise Conflict(f"Volume {volume} still holds {left} chunk file(s): not removed")
        config = read_config(config_path)
        if config is None:
            raise BadRequest(f"No namespace in {backend.data_dir}")
        volumes = [v for v in config["volumes"] if v != volume]
        if len(volumes) == len(config["volumes"]):
            backend.config = config
            return  # already removed
        need = PolicyTable(config["policies"]).max_chunks()
        if len(volumes) < need:
            raise BadRequest(
                f"Volume {volume} not removed: the namespace's policies need {need} volumes "
                f"(add one first with `oio volume add`)"
            )
        new = dict(config, volumes=volumes)
        validate(new, config_path)
        write_config(config_path, new)
        _fsync_dir(backend.data_dir)
        backend.config = new
