"""Validation of account, container and object names (OpenIO 4.x limits)."""

from __future__ import annotations

from typing import Any

from oiocli.core.exceptions import InvalidName

LIMITS = {"account": 63, "container": 1023, "object": 1023}
PROPERTY_KEY_LIMIT = 1024
PROPERTY_VALUE_LIMIT = 65536


def check_name(kind: str, name: object) -> str:
    """Return `name` if it is a valid `kind` name, else raise InvalidName (one line)."""
    label = kind.capitalize()
    if isinstance(name, bytes):
        try:
            name = name.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidName(f"{label} name is not valid UTF-8: {name!r}") from None
    if not isinstance(name, str):
        raise InvalidName(f"{label} name must be a string, not {type(name).__name__}")
    if not name:
        raise InvalidName(f"{label} name is empty")
    if "\0" in name:
        raise InvalidName(f"{label} name contains a NUL character: {name!r}")
    try:
        size = len(name.encode("utf-8"))
    except UnicodeEncodeError:
        raise InvalidName(f"{label} name is not valid UTF-8: {name!r}") from None
    if size > LIMITS[kind]:
        raise InvalidName(
            f"{label} name is too long ({size} bytes, at most {LIMITS[kind]}): {name[:40]!r}..."
        )
    return name


def check_properties(properties: dict[Any, Any] | None, what: str = "property") -> dict[str, str]:
    result: dict[str, str] = {}
    for key, value in (properties or {}).items():
        key = str(key)
        value = "" if value is None else str(value)
        if not key or "\0" in key or len(key.encode("utf-8", "replace")) > PROPERTY_KEY_LIMIT:
            raise InvalidName(f"Invalid {what} key {key[:40]!r}")
        if "\0" in value or len(value.encode("utf-8", "replace")) > PROPERTY_VALUE_LIMIT:
            raise InvalidName(
                f"Invalid {what} value for {key!r} (NUL or over {PROPERTY_VALUE_LIMIT} bytes)"
            )
        try:
            key.encode("utf-8")
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidName(f"Invalid {what} {key!r}: not valid UTF-8") from None
        result[key] = value
    return result
