"""namespace.json: read and checked when a namespace is opened, written when it is made.

A namespace is made only in an empty (or absent) directory. namespace.json
missing beside a namespace's data (namespace.db, container databases, chunk
files, upload journals) is damage, reported, never answered by making a new
namespace over that data with default settings. Every key is checked when the
namespace is opened: a hand-edited or damaged value is one error naming the
file and the key (exit 6), not a crash or a namespace storing empty objects.

Each namespace also records where it was made (`data_dir`) and an `id`, and
marks its volumes with that id. Chunk locations are absolute paths, so a
copied (or moved) data directory would go on reading, and deleting, the
original's chunks: it is refused when opened, and a volume already marked by
another namespace is never taken.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import time
from typing import Any

from oiocli.core.exceptions import (
    BadRequest,
    CorruptDatabase,
    Forbidden,
    OioException,
    StorageFull,
)
from oiocli.core.storage_method import DEFAULT_POLICIES, PolicyTable

CONFIG_FILE = "namespace.json"
VOLUME_MARK = ".oiocli-volume"
DEFAULT_CHUNK_SIZE = 10 * 1024 * 1024
DEFAULT_POLICY = "SINGLE"
DEFAULT_VOLUMES = 9
# What an empty namespace directory may already hold: its own empty parts (a
# creation interrupted before namespace.json was written) and the lock file.
OWN_ENTRIES = ("chunks.lock", "namespace.db", "namespace.db-wal", "namespace.db-shm")
OWN_DIRS = ("containers", "volumes", "uploads")


class InvalidConfig(CorruptDatabase):
    """The namespace configuration is missing or invalid."""


def load_or_create(
    namespace: str,
    data_dir: str,
    chunk_size: int | None = None,
    storage_policy: str | None = None,
    volumes: int | list[str] | None = None,
    policies: dict[str, str] | None = None,
    max_versions: int | None = None,
    update_config: bool = False,
) -> dict[str, Any]:
    """The namespace's settings; a new namespace is made only in an empty directory.

    The settings given apply to a new namespace, or to an existing one with
    `update_config`; otherwise an existing namespace keeps its own.
    """
    path = os.path.join(data_dir, CONFIG_FILE)
    config = read_config(path)
    if config is not None and not update_config:
        check_location(config, path, data_dir)
        return config
    # Making or updating a namespace, from here on: an open of one stops above.
    import secrets

    from oiocli.backends.embedded.chunks import makedirs_private
    from oiocli.backends.embedded.locks import LOCK_FILE, chunk_lock

    if config is None:
        try:
            makedirs_private(data_dir)
        except OSError as exc:
            raise BadRequest(f"Cannot create namespace directory {data_dir}: {exc}") from None
    # Two processes making the same namespace at once: one makes it, the other reads it.
    lock = os.path.join(data_dir, LOCK_FILE)
    had_lock = os.path.exists(lock)
    with chunk_lock(data_dir, exclusive=True):
        config = read_config(path)
        if config is None:
            try:
                refuse_non_empty(data_dir, path)
            except OioException:
                if not had_lock:  # leave the directory as it was found
                    with contextlib.suppress(OSError):
                        os.unlink(lock)
                raise
            config = {
                "namespace": namespace,
                "chunk_size": DEFAULT_CHUNK_SIZE,
                "storage_policy": DEFAULT_POLICY,
                "max_versions": 1,
                "policies": dict(DEFAULT_POLICIES),
                "volumes": [],
                "created": time.time(),
            }
            if volumes is None:
                volumes = max(DEFAULT_VOLUMES, PolicyTable(policies).max_chunks())
        else:
            check_location(config, path, data_dir)
            if not update_config:
                return config
        # Written here, this directory is where the namespace lives from now on.
        config.setdefault("id", secrets.token_hex(16))
        config.setdefault("data_dir", data_dir)
        _apply(config, data_dir, chunk_size, storage_policy, volumes, policies, max_versions)
        validate(config, path)
        try:
            _mark_volumes(config)
            write_config(path, config)
        except OSError as exc:
            where = exc.filename or path
            if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
                raise StorageFull(f"No space left to make the namespace ({where})") from None
            raise BadRequest(f"Cannot make the namespace: {where}: {exc.strerror}") from None
    return config


def _apply(
    config: dict[str, Any],
    data_dir: str,
    chunk_size: int | None,
    storage_policy: str | None,
    volumes: int | list[str] | None,
    policies: dict[str, str] | None,
    max_versions: int | None,
) -> None:
    """Set the settings given (creation or update_config); validate() checks the result."""
    if chunk_size is not None:
        if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size <= 0:
            raise BadRequest(f"Invalid chunk size {chunk_size!r}: a positive integer")
        config["chunk_size"] = chunk_size
    if policies is not None:
        config["policies"] = dict(policies)
    if storage_policy is not None:
        PolicyTable(config["policies"]).method(storage_policy)  # validates
        config["storage_policy"] = storage_policy
    if max_versions is not None:
        if isinstance(max_versions, bool) or not isinstance(max_versions, int) or max_versions < -1:
            raise BadRequest(f"Invalid max versions {max_versions!r}: -1, 0 or more")
        config["max_versions"] = max_versions
    if volumes is not None:
        if isinstance(volumes, bool):
            raise BadRequest(f"Invalid volumes {volumes!r}")
        if isinstance(volumes, int):
            if volumes < 1:
                raise BadRequest(f"Invalid volume count {volumes}: at least 1")
            base = os.path.join(data_dir, "volumes")
            paths = [os.path.join(base, f"vol-{i}") for i in range(volumes)]
        else:
            paths = [os.path.abspath(p) for p in volumes]
        config["volumes"] = paths


def read_config(path: str) -> dict[str, Any] | None:
    """The parsed and validated namespace.json, or None when there is none."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        return None
    except NotADirectoryError:
        raise BadRequest(
            f"Cannot use namespace directory {os.path.dirname(path)}: it is not a directory"
        ) from None
    except IsADirectoryError:
        raise InvalidConfig(f"Namespace configuration {path} is a directory") from None
    except PermissionError as exc:
        raise Forbidden(f"Cannot read namespace configuration {path}: {exc.strerror}") from None
    except OSError as exc:
        raise InvalidConfig(f"Cannot read namespace configuration {path}: {exc}") from None
    if not raw.strip():
        raise InvalidConfig(
            f"Namespace configuration {path} is empty (damaged): restore it from a backup"
        )
    try:
        config = json.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidConfig(f"Namespace configuration {path} is not valid JSON: {exc}") from None
    validate(config, path)
    return config


def _invalid(path: str, key: str, what: str, value: Any) -> InvalidConfig:
    shown = repr(value)
    if len(shown) > 80:
        shown = shown[:77] + "..."
    return InvalidConfig(f"Namespace configuration {path}: {key!r} must be {what} (found {shown})")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def validate(config: Any, path: str) -> None:
    """Raise InvalidConfig naming the file and the first bad key."""
    if not isinstance(config, dict):
        raise InvalidConfig(f"Namespace configuration {path} must be a JSON object")
    for key in ("chunk_size", "storage_policy", "policies", "volumes"):
        if key not in config:
            raise InvalidConfig(f"Namespace configuration {path} lacks the key {key!r}")
    if "namespace" in config and not isinstance(config["namespace"], str):
        raise _invalid(path, "namespace", "a string", config["namespace"])
    if not _is_int(config["chunk_size"]) or config["chunk_size"] <= 0:
        raise _invalid(path, "chunk_size", "a positive integer (bytes)", config["chunk_size"])
    max_versions = config.get("max_versions", 1)
    if not _is_int(max_versions) or max_versions < -1:
        raise _invalid(path, "max_versions", "an integer: -1 (unlimited), 0 or more", max_versions)
    policies = config["policies"]
    if not isinstance(policies, dict) or not policies:
        raise _invalid(path, "policies", "an object of policy names and methods", policies)
    table = PolicyTable(policies)
    for name, method in policies.items():
        if not isinstance(method, str):
            raise _invalid(path, f"policies.{name}", "a chunk method string", method)
        try:
            table.method(name)
        except OioException as exc:
            raise _invalid(
                path, f"policies.{name}", f"a valid chunk method ({exc})", method
            ) from None
    policy = config["storage_policy"]
    if not isinstance(policy, str) or policy not in policies:
        raise _invalid(path, "storage_policy", f"one of {', '.join(sorted(policies))}", policy)
    volumes = config["volumes"]
    if (
        not isinstance(volumes, list)
        or not volumes
        or not all(isinstance(v, str) and v for v in volumes)
    ):
        raise _invalid(path, "volumes", "a non-empty list of directory paths", volumes)
    if len(set(volumes)) != len(volumes):
        raise _invalid(path, "volumes", "a list of distinct directories", volumes)
    for key in ("created",):
        if key in config and (
            isinstance(config[key], bool) or not isinstance(config[key], int | float)
        ):
            raise _invalid(path, key, "a number", config[key])
    for key in ("id", "data_dir"):
        if key in config and not (isinstance(config[key], str) and config[key]):
            raise _invalid(path, key, "a non-empty string", config[key])


def _same_dir(a: str, b: str) -> bool:
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def check_location(config: dict[str, Any], path: str, data_dir: str) -> None:
    """Refuse a namespace directory that is a copy (or was moved) of another one."""
    made_in = config.get("data_dir")
    if made_in is None:
        made_in = _legacy_origin(config, data_dir)
    if made_in is None or _same_dir(made_in, data_dir):
        return
    what = "a copy of the namespace in" if os.path.exists(made_in) else "moved from"
    raise Forbidden(
        f"Namespace {data_dir} is {what} {made_in} ({path} says so): its chunk "
        f"locations point into {made_in}, so using it would read and delete that "
        "namespace's chunks; copy objects with oio instead of copying the directory"
    )


def _legacy_origin(config: dict[str, Any], data_dir: str) -> str | None:
    """Where a namespace made before `data_dir` was recorded was made, from its volumes.

    Its default volumes are `<data dir>/volumes/vol-N`: when they all name one
    other directory that holds a namespace.json, this one is a copy of it.
    """
    origins = set()
    for volume in config.get("volumes") or []:
        parent = os.path.dirname(os.path.dirname(volume))
        if os.path.basename(os.path.dirname(volume)) != "volumes":
            return None
        origins.add(parent)
    if len(origins) != 1:
        return None
    (origin,) = origins
    if _same_dir(origin, data_dir) or not os.path.exists(os.path.join(origin, CONFIG_FILE)):
        return None
    return origin


def refuse_non_empty(data_dir: str, path: str) -> None:
    """A new namespace only in an empty directory; namespace.json missing beside data is damage."""
    try:
        entries = sorted(os.listdir(data_dir))
    except OSError as exc:
        raise BadRequest(f"Cannot use namespace directory {data_dir}: {exc.strerror}") from None
    foreign = [
        e
        for e in entries
        if e not in OWN_ENTRIES and e not in OWN_DIRS and not e.startswith(CONFIG_FILE)
    ]
    data = _namespace_data(data_dir)
    if data:
        raise InvalidConfig(
            f"Namespace configuration {path} is missing, but {data_dir} holds a namespace's "
            f"data ({data}): a new namespace is never made over it; restore namespace.json "
            "from a backup"
        )
    if foreign:
        shown = ", ".join(foreign[:3]) + (", ..." if len(foreign) > 3 else "")
        raise BadRequest(
            f"Cannot make a namespace in {data_dir}: the directory is not empty ({shown}) "
            "and holds no namespace; choose an empty or new directory"
        )


def _namespace_data(data_dir: str) -> str | None:
    """What of a namespace's data the directory holds (None: nothing worth keeping)."""
    ns_db = os.path.join(data_dir, "namespace.db")
    with contextlib.suppress(OSError):
        if os.path.getsize(ns_db) > 0:
            return ns_db
    for sub in ("containers", "uploads"):
        for root, _dirs, files in os.walk(os.path.join(data_dir, sub)):
            if files:
                return os.path.join(root, files[0])
    volumes = os.path.join(data_dir, "volumes")
    for root, _dirs, files in os.walk(volumes):
        chunks = [f for f in files if len(f) == 64]
        if chunks:
            return os.path.join(root, chunks[0])
    return None


def _mark_volumes(config: dict[str, Any]) -> None:
    """Make the volumes and mark them as this namespace's; refuse another namespace's."""
    import secrets

    from oiocli.backends.embedded.chunks import prepare_volume

    ns_id = config.get("id")
    for volume in config["volumes"]:
        mark = os.path.join(volume, VOLUME_MARK)
        owner = volume_owner(volume)
        if owner is not None and ns_id is not None and owner.get("id") != ns_id:
            raise Forbidden(
                f"Volume {volume} belongs to the namespace in {owner.get('data_dir')}: "
                "two namespaces never share a volume"
            )
        prepare_volume(volume)
        if ns_id is not None and owner is None:
            tmp = f"{mark}.{secrets.token_hex(4)}.tmp"
            with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as f:
                json.dump({"id": ns_id, "data_dir": config.get("data_dir")}, f)
            os.replace(tmp, mark)


def volume_owner(volume: str) -> dict[str, Any] | None:
    """The namespace a volume is marked for ({"id", "data_dir"}), or None."""
    try:
        with open(os.path.join(volume, VOLUME_MARK)) as f:
            owner = json.load(f)
    except (OSError, ValueError):
        return None
    return owner if isinstance(owner, dict) else None


def write_config(path: str, config: dict[str, Any]) -> None:
    import secrets

    tmp = f"{path}.{secrets.token_hex(4)}.tmp"
    try:
        with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
            json.dump(config, f, indent=2)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
