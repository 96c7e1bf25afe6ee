"""Storage methods (`plain/nb_copy=3`, `ec/algo=...,k=6,m=3`) and policies.

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
    kind: str  # "plain" or "ec"
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
    def chunks_per_metachunk(self) -> int:
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
    else:
        raise InvalidStorageMethod(f"Unknown chunk method {text!r}")
    return StorageMethod(kind, params)


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
