"""Storage methods (`plain/nb_copy=3`, `ec/algo=...,k=6,m=3`, the cloud tier) and policies.

The cloud tier keeps one chunk per position in an S3 bucket:
`backblaze/account_id=<key id>,bucket_name=<bucket>` (OpenIO's string, Backblaze
B2) or `s3/endpoint=<url>,bucket_name=<bucket>[,region=<region>]` (any other S3
service). Credentials are never part of the method (it is recorded with every
object): they come from the key file (`oiocli.backends.cloud.keyfile`).

A policy is a name for a chunk method. The chunk method string is recorded with
every object, so an object stays readable whatever the namespace defaults become.
"""

from __future__ import annotations

import functools
from functools import cached_property
from typing import Any

from oiocli.core.exceptions import InvalidStorageMethod, UnknownPolicy

EC_SEGMENT_SIZE = 1024 * 1024

# Why ISA-L is the default EC algorithm of the embedded namespace: it encodes
# 6+3 at ~10 GB/s here, liberasurecode_rs_vand at ~0.5 GB/s, which would cap
# every EC upload below one MD5 stream (~0.77 GB/s). See README, "Storage policies".
DEFAULT_POLICIES: dict[str, str] = {
    "SINGLE": "plain/nb_copy=1",
    "TWOCOPIES": "plain/nb_copy=2",
    "THREECOPIES": "plain/nb_copy=3",
    "EC": "ec/algo=isa_l_rs_vand,k=6,m=3",
    "EC21": "ec/algo=isa_l_rs_vand,k=2,m=1",
    "ECISAL": "ec/algo=isa_l_rs_vand,k=6,m=3",
    "ECLIBEC": "ec/algo=liberasurecode_rs_vand,k=6,m=3",
    "EC21LIBEC": "ec/algo=liberasurecode_rs_vand,k=2,m=1",
}

# Tier method kind -> the prefix of its chunk URLs (`b2/<chunk id>` as OpenIO's meta2).
TIER_KINDS: dict[str, str] = {"backblaze": "b2/", "s3": "s3/"}
# What every tier chunk URL starts with (a record names no bucket: its method does).
TIER_PREFIXES: tuple[str, ...] = tuple(TIER_KINDS.values())

EC_ALGOS = (
    "isa_l_rs_vand",
    "isa_l_rs_cauchy",
    "liberasurecode_rs_vand",
    "jerasure_rs_vand",
    "jerasure_rs_cauchy",
    "flat_xor_hd",
    "shss",
)


class StorageMethod:
    """A parsed chunk method: immutable, compared by kind and parameters.

    Written by hand rather than as a frozen dataclass: every command opening a
    namespace parses its policies, and importing dataclasses costs start-up time.
    """

    __match_args__ = ("kind", "params")
    kind: str  # "plain", "ec", or a cloud tier: "backblaze", "s3"
    params: dict[str, str]

    def __init__(self, kind: str, params: dict[str, str] | None = None) -> None:
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "params", {} if params is None else params)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r}")

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return (self.kind, self.params) == (other.kind, other.params)

    def __hash__(self) -> int:
        return hash((self.kind, self.params))

    def __repr__(self) -> str:
        return f"{self.__class__.__qualname__}(kind={self.kind!r}, params={self.params!r})"

    @property
    def is_ec(self) -> bool:
        return self.kind == "ec"

    @property
    def is_tier(self) -> bool:
        """Chunks in a cloud bucket, one per position (read and written as one copy)."""
        return self.kind in TIER_KINDS

    @property
    def chunk_prefix(self) -> str:
        """What a tier chunk's URL starts with: `b2/` (OpenIO's) or `s3/`."""
        return TIER_KINDS[self.kind]

    @property
    def bucket_name(self) -> str:
        return self.params["bucket_name"]

    @property
    def nb_copy(self) -> int:
        return int(self.params.get("nb_copy", "1"))

    @property
    def k(self) -> int:
        return int(self.params["k"])

    @property
    def m(self) -> int:
        return int(self.params["m"])

    @property
    def algo(self) -> str:
        return self.params["algo"]

    @property
    def chunks_per_metachunk(self) -> int:  # a tier keeps one chunk per position
        return self.k + self.m if self.is_ec else self.nb_copy

    @property
    def min_chunks_to_read(self) -> int:
        return self.k if self.is_ec else 1

    @property
    def write_quorum(self) -> int:
        """Chunks that must be durable for a metachunk write to succeed."""
        if self.is_ec:
            return self.k + 1 if self.m > 0 else self.k
        return (self.nb_copy + 1) // 2

    @property
    def write_amplification(self) -> float:
        return (self.k + self.m) / self.k if self.is_ec else float(self.nb_copy)

    def metachunk_size(self, chunk_size: int) -> int:
        if not self.is_ec:
            return chunk_size
        size = self.k * chunk_size
        if size > EC_SEGMENT_SIZE:
            size -= size % EC_SEGMENT_SIZE
        return size

    def fragment_size(self, segment_size: int = EC_SEGMENT_SIZE) -> int:
        """Bytes of one fragment of a segment of `segment_size` bytes (header included)."""
        return _fragment_size(self.k, self.m, self.algo, segment_size)

    def fragment_layout(self, metachunk_size: int) -> tuple[int, int, int]:
        """(segments, fragment size, last fragment size) of a metachunk.

        Segments are exactly EC_SEGMENT_SIZE bytes but the last; pyeclib's own
        get_segment_info merges a small tail into the previous segment, which is
        not how the writer encodes, so it is not used here.
        """
        if metachunk_size <= 0:
            return 0, 0, 0
        full, tail = divmod(metachunk_size, EC_SEGMENT_SIZE)
        frag = self.fragment_size()
        if tail:
            return full + 1, frag, self.fragment_size(tail)
        return full, frag, frag

    @cached_property
    def driver(self) -> Any:  # pyeclib.ec_iface.ECDriver, imported only when EC is used
        return ec_driver(self.k, self.m, self.algo)

    def __str__(self) -> str:
        body = ",".join(f"{k}={v}" for k, v in self.params.items())
        return f"{self.kind}/{body}"

    def describe(self) -> str:
        if self.is_tier:
            return f"{self.kind} bucket {self.bucket_name}"
        if self.is_ec:
            return f"EC {self.k}+{self.m}"
        return f"{self.nb_copy} cop{'y' if self.nb_copy == 1 else 'ies'}"


_drivers: dict[tuple[int, int, str], object] = {}


def ec_driver(k: int, m: int, algo: str) -> Any:
    key = (k, m, algo)
    driver = _drivers.get(key)
    if driver is None:
        from oiocli.core import buffers

        buffers.keep_freed_memory()
        from pyeclib.ec_iface import ECDriver

        try:
            driver = ECDriver(k=k, m=m, ec_type=algo)
        except Exception as exc:
            raise InvalidStorageMethod(f"Invalid EC algorithm {algo!r}: {exc}") from None
        _drivers[key] = driver
    return driver


@functools.lru_cache(maxsize=256)
def _fragment_size(k: int, m: int, algo: str, segment_size: int) -> int:
    size: int = ec_driver(k, m, algo).get_segment_info(segment_size, segment_size)["fragment_size"]
    return size


def parse_method(text: str) -> StorageMethod:
    """Parse an OpenIO chunk method string."""
    kind, _, rest = text.partition("/")
    params: dict[str, str] = {}
    for item in filter(None, rest.split(",")):
        key, sep, value = item.partition("=")
        params[key.strip()] = value.strip() if sep else "1"
    if kind == "plain":
        nb = params.setdefault("nb_copy", "1")
        if not nb.isdigit() or int(nb) < 1:
            raise InvalidStorageMethod(f"Invalid nb_copy in chunk method {text!r}")
    elif kind == "ec":
        for key in ("k", "m", "algo"):
            if key not in params:
                raise InvalidStorageMethod(f"Chunk method {text!r} lacks {key!r}")
        if not (params["k"].isdigit() and params["m"].isdigit()) or int(params["k"]) < 1:
            raise InvalidStorageMethod(f"Invalid k or m in chunk method {text!r}")
        if params["algo"] not in EC_ALGOS:
            raise InvalidStorageMethod(f"Unknown EC algorithm {params['algo']!r}")
    elif kind in TIER_KINDS:
        required = (
            ("account_id", "bucket_name") if kind == "backblaze" else ("endpoint", "bucket_name")
        )
        for key in required:
            if not params.get(key):
                raise InvalidStorageMethod(f"Chunk method {text!r} lacks {key!r}")
        if kind == "s3" and not params["endpoint"].startswith(("http://", "https://")):
            raise InvalidStorageMethod(
                f"Invalid endpoint in chunk method {text!r}: an http:// or https:// URL"
            )
        if not _valid_bucket(params["bucket_name"]):
            raise InvalidStorageMethod(f"Invalid bucket name in chunk method {text!r}")
    else:
        raise InvalidStorageMethod(f"Unknown chunk method {text!r}")
    return StorageMethod(kind, params)


def _valid_bucket(name: str) -> bool:
    # S3's (and B2's) bucket names: 3 to 63 of lowercase letters, digits, '-', '.'
    # (B2 also allows none of '_' or capitals). A bad one would only fail later,
    # after bytes were sent.
    return (
        3 <= len(name) <= 63
        and all(c.isalnum() or c in "-." for c in name)
        and (name.lower() == name)
    )


class PolicyTable:
    """Policy names of a namespace, mapped to chunk methods."""

    def __init__(self, policies: dict[str, str] | None = None) -> None:
        self.methods = dict(policies or DEFAULT_POLICIES)

    def method(self, policy: str) -> StorageMethod:
        try:
            return parse_method(self.methods[policy])
        except KeyError:
            known = ", ".join(sorted(self.methods))
            raise UnknownPolicy(f"Unknown storage policy {policy!r} (known: {known})") from None

    def max_chunks(self) -> int:
        return max(parse_method(m).chunks_per_metachunk for m in self.methods.values())
