"""Quantities given on the command line or to the API, in their units."""

from __future__ import annotations

import re

from oiocli.core.exceptions import BadRequest

_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}
_RATE = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*([KMGT]?)(?:I?B?)?(?:/S)?\s*$")


def parse_rate(text: str) -> float:
    """Bytes per second from `10M`, `512K`, `1.5G`, `100000` (binary units; `10MiB/s` too)."""
    match = _RATE.match(str(text).upper())
    if not match:
        raise BadRequest(
            f"Invalid bandwidth {text!r}: a number of bytes per second, with K, M, G or T "
            "(binary units), e.g. 10M"
        )
    rate = float(match.group(1)) * _UNITS[match.group(2)]
    if rate < 1:
        raise BadRequest(f"Invalid bandwidth {text!r}: at least 1 byte per second")
    return rate
