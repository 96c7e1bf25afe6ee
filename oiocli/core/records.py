"""The records the backend contract exchanges, as typed dicts.

Plain dicts at run time, whose keys the type checker knows. They live in the
core because both ends build them: the backends, and the proxy's wire encoding
(`core/wire.py`); `backends/base.py` makes them part of the contract.
"""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict


class ContentRecord(TypedDict):
    """One version of an object (OpenIO's alias + content header)."""

    account: str
    container: str
    name: str
    version: int
    id: str  # the content id, upper-case hex; `content` is the same
    content: str
    deleted: bool  # a delete marker
    is_latest: bool
    ctime: float
    mtime: float
    size: int
    length: int  # OpenIO's name for size
    hash: str | None  # MD5 of the whole object; None after an append or a truncate
    hash_method: str
    policy: str
    chunk_method: str
    mime_type: str
    properties: NotRequired[dict[str, str]]  # listings without properties leave it out


class ObjectListing(TypedDict):
    """A page of `content_list`."""

    objects: list[ContentRecord]
    prefixes: list[str]
    truncated: bool
    next_marker: str | None


class UploadPlan(TypedDict):
    """What `content_prepare` decides for an upload before any chunk is written."""

    policy: str
    chunk_method: str
    chunk_size: int
    version: int
    content_id: str
    cid: NotRequired[str]


class AccountRecord(TypedDict):
    id: str
    ctime: float
    mtime: float
    bytes: int
    objects: int
    containers: int
    metadata: dict[str, str]


class ContainerLocation(TypedDict):
    """Where a container's metadata lives (`container_locate`)."""

    account: str
    name: str
    cid: str
    base_name: str  # "<CID>.<seq>", OpenIO's meta2 base
    path: str  # the database file (embedded) or the meta2 peers (proxy)
    status: str  # "Enabled", "Frozen", "Disabled"


class EventRecord(TypedDict):
    """One entry of the namespace's event journal (an oiocli extension)."""

    id: int
    time: float
    type: str
    url: dict[str, Any]
    request_id: str | None
    data: dict[str, Any]
