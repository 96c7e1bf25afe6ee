"""Which files and objects a bulk command takes: name globs, sizes and ages.

`--include` / `--exclude` patterns are rules tried in the order given; the
first that matches a name decides (rclone's rule). A name no rule matches is
taken, unless there is an `--include` rule: then it is left out (an include
list says what to take, everything else is excluded).

Patterns are matched against the path relative to the transfer's root (the
object name for downloads and sync, the path below the uploaded directory for
uploads), with `/` separators:

- `*` matches any run of characters except `/`, `**` any run including `/`,
  `?` one character except `/`, `[abc]` / `[!abc]` one of (not of) a set,
  `{a,b}` either alternative, and `\\` escapes the next character;
- a pattern starting with `/` is anchored at the root (`/logs/*` matches
  `logs/a` but not `x/logs/a`); otherwise it may match the end of the path at
  any depth (`*.jpg` matches `a.jpg` and `photos/2024/b.jpg`);
- a pattern ending with `/` matches everything below a directory of that name
  (`cache/` matches `cache/a` and `x/cache/b/c`).

`--min-size` / `--max-size` bound the size (inclusive), `--min-age` /
`--max-age` the age of the last modification: `--min-age 1d` takes only what
was last modified at least a day ago, `--max-age 1h` only what changed in the
last hour.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

_SIZE_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4, "p": 1024**5}
_AGE_UNITS = {
    "ms": 0.001,
    "s": 1,
    "m": 60,
    "h": 3600,
    "d": 86400,
    "w": 7 * 86400,
    "M": 30 * 86400,
    "y": 365 * 86400,
}


def glob_regex(pattern: str) -> re.Pattern[str]:
    """The regular expression of one include/exclude pattern (see the module doc)."""
    if not pattern:
        raise ValueError("an empty pattern")
    anchored = pattern.startswith("/")
    body = pattern[1:] if anchored else pattern
    directory = body.endswith("/")
    if directory:
        body = body[:-1]
    out: list[str] = []
    i, n, depth = 0, len(body), 0
    while i < n:
        c = body[i]
        if c == "\\":
            if i + 1 >= n:
                raise ValueError(f"a trailing backslash in {pattern!r}")
            out.append(re.escape(body[i + 1]))
            i += 2
            continue
        if c == "*":
            if body.startswith("**", i):
                out.append(".*")
                i += 2
            else:
                out.append("[^/]*")
                i += 1
            continue
        if c == "?":
            out.append("[^/]")
        elif c == "[":
            end = body.find("]", i + 2 if body[i + 1 : i + 2] in ("!", "^") else i + 1)
            if end < 0:
                raise ValueError(f"an unclosed '[' in {pattern!r}")
            content = body[i + 1 : end]
            negate = content[:1] in ("!", "^")
            if negate:
                content = content[1:]
            content = content.replace("\\", "\\\\")
            out.append(f"[^/{content}]" if negate else f"[{content}]")
            i = end + 1
            continue
        elif c == "{":
            out.append("(?:")
            depth += 1
        elif c == "}" and depth:
            out.append(")")
            depth -= 1
        elif c == "," and depth:
            out.append("|")
        else:
            out.append(re.escape(c))
        i += 1
    if depth:
        raise ValueError(f"an unclosed '{{' in {pattern!r}")
    head = "" if anchored else "(?:.*/)?"
    tail = "/.*" if directory else ""
    return re.compile(f"{head}{''.join(out)}{tail}", re.DOTALL)


def parse_size(text: str) -> int:
    """A size in bytes: 100, 10k, 1.5M, 2G, 3TiB (binary units, case-insensitive)."""
    match = re.fullmatch(r"([0-9]+(?:\.[0-9]+)?)\s*([kKmMgGtTpP]?)(?:i?[bB])?", text.strip())
    if not match:
        raise ValueError(text)
    number, unit = match.groups()
    return int(float(number) * _SIZE_UNITS[unit.lower()])


def parse_age(text: str, now: float | None = None) -> float:
    """An age in seconds: 30s, 10m, 2h, 1d, 1w, 1M (30 days), 1y, or a bare number of
    seconds; or a date (ISO 8601, `2024-05-01` or `2024-05-01T10:00`): the age of it."""
    text = text.strip()
    match = re.fullmatch(r"([0-9]+(?:\.[0-9]+)?)(ms|[smhdwMy]?)", text)
    if match:
        number, unit = match.groups()
        return float(number) * _AGE_UNITS[unit or "s"]
    if not text.isascii():
        raise ValueError(text)
    from datetime import datetime

    moment = datetime.fromisoformat(text).timestamp()  # ValueError when not a date
    return (time.time() if now is None else now) - moment


@dataclass
class Filter:
    """The filters of one command; `wants(name, size, mtime)` says whether to take an item."""

    rules: list[tuple[bool, str, re.Pattern[str]]] = field(default_factory=list)
    min_size: int | None = None
    max_size: int | None = None
    min_age: float | None = None
    max_age: float | None = None
    now: float = field(default_factory=time.time)

    @property
    def active(self) -> bool:
        return bool(self.rules) or any(
            v is not None for v in (self.min_size, self.max_size, self.min_age, self.max_age)
        )

    @property
    def has_include(self) -> bool:
        return any(include for include, _text, _regex in self.rules)

    def wants_name(self, name: str) -> bool:
        for include, _text, regex in self.rules:
            if regex.fullmatch(name):
                return include
        return not self.has_include

    def wants(self, name: str, size: int | None = None, mtime: float | None = None) -> bool:
        if not self.wants_name(name):
            return False
        if size is not None:
            if self.min_size is not None and size < self.min_size:
                return False
            if self.max_size is not None and size > self.max_size:
                return False
        if mtime is not None:
            age = self.now - mtime
            if self.min_age is not None and age < self.min_age:
                return False
            if self.max_age is not None and age > self.max_age:
                return False
        return True
