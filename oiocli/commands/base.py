"""Base classes and helpers shared by the `oio` commands.

cliff's `Command` scans entry points for hooks, `DisplayCommandBase` for
formatters and `get_epilog` for distributions: each costs tens of
milliseconds. The classes here skip all three (formatters come from a static
table), so that a command starts as fast as cliff itself can.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from cliff import columns as cliff_columns
from cliff import command, lister, show

from oiocli.core import exceptions as exc
from oiocli.core.fsutil import FULL_ERRNOS, human_size, umask

# -- formatters ----------------------------------------------------------------

_LIST_FORMATTERS = {
    "csv": "oiocli.commands._format:CSVFormatter",
    "json": "cliff.formatters.json_format:JSONFormatter",
    "markdown": "oiocli.commands._format:MarkdownFormatter",
    "table": "oiocli.commands._format:TableFormatter",
    "value": "oiocli.commands._format:ValueFormatter",
    "yaml": "cliff.formatters.yaml_format:YAMLFormatter",
}
_SHOW_FORMATTERS = {
    "json": "cliff.formatters.json_format:JSONFormatter",
    "markdown": "oiocli.commands._format:MarkdownFormatter",
    "shell": "oiocli.commands._format:ShellFormatter",
    "table": "oiocli.commands._format:TableFormatter",
    "value": "oiocli.commands._format:ValueFormatter",
    "yaml": "cliff.formatters.yaml_format:YAMLFormatter",
}


class _Extension:
    __slots__ = ("name", "obj")

    def __init__(self, name: str, obj: Any) -> None:
        self.name = name
        self.obj = obj


class _Formatters:
    """The part of stevedore's ExtensionManager that cliff's display code uses."""

    _cache: dict[str, Any] = {}

    def __init__(self, table: dict[str, str]) -> None:
        from importlib import import_module

        self._exts: dict[str, _Extension] = {}
        for name, target in table.items():
            obj = self._cache.get(target)
            if obj is None:
                module, _, cls = target.partition(":")
                obj = self._cache[target] = getattr(import_module(module), cls)()
            self._exts[name] = _Extension(name, obj)

    def names(self) -> list[str]:
        return list(self._exts)

    def __iter__(self) -> Iterator[_Extension]:
        return iter(self._exts.values())

    def __getitem__(self, name: str) -> _Extension:
        return self._exts[name]


def examples_of(cmd_name: str, program: str = "oio") -> list[tuple[str, str]]:
    """(what, command line) examples of a command, with the program name in place."""
    from oiocli.commands._examples import EXAMPLES

    return [
        (what, line.format(oio=program) if "{oio}" in line else f"{program} {line}")
        for what, line in EXAMPLES.get(cmd_name, ())
    ]


def help_footer(text: str, cmd: Any, parser: argparse.ArgumentParser) -> str:
    """A command's help, then its examples and the exit codes it can return."""
    program = getattr(cmd.app, "NAME", "oio")
    lines = [text.rstrip("\n"), ""]
    examples = examples_of(cmd.cmd_name or "", program)
    if examples:
        lines.append("examples:")
        for what, line in examples:
            lines.append(f"  # {what}")
            lines.append(f"  {line}")
        lines.append("")
    lines.append("exit codes:")
    lines.extend(f"  {code:<3} {EXIT_MEANINGS[code]}" for code in cmd.exit_codes(parser))
    return "\n".join(lines) + "\n"


def one_line_errors(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Make `parser` report usage errors on one stderr line, exit code 2."""

    def error(message: str) -> None:
        prog = parser.prog
        sys.stderr.write(f"{prog}: error: {message} (see '{prog} --help')\n")
        sys.exit(exc.EXIT_USAGE)

    parser.error = error  # type: ignore[method-assign]
    return parser


EXIT_MEANINGS = {
    0: "success",
    1: "error (bad value, conflict, unknown policy, missing file, ...)",
    2: "usage error (unknown option, missing or malformed argument)",
    3: "account or container not found",
    4: "object not found",
    5: "temporary failure, worth a retry (busy, frozen container, timeout)",
    6: "data or metadata unreadable or corrupt",
    7: "degraded: readable, but redundancy is reduced",
    8: "partial success: some names or files failed",
    130: "interrupted (Ctrl-C)",
}


class _Fast:
    """Mixin: no hook scanning, no distribution lookup, one-line usage errors.

    Every command's --help ends with its examples (`_examples.EXAMPLES`) and
    the exit codes it can return: 0, 1, 2, 5 and 6 always, 3 when it names an
    account or a container, 4 when it names an object, 8 for several names,
    and its `_examples.EXTRA_EXIT_CODES`.
    """

    app: Any

    def _load_hooks(self) -> None:
        self._hooks = []

    def get_epilog(self) -> str:
        return self._epilog or ""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)  # type: ignore[misc]
        parser.formatter_class = argparse.RawDescriptionHelpFormatter
        base_help = parser.format_help
        parser.format_help = lambda: help_footer(base_help(), self, parser)  # type: ignore
        return one_line_errors(parser)

    def exit_codes(self, parser: argparse.ArgumentParser) -> list[int]:
        from oiocli.commands._examples import EXTRA_EXIT_CODES

        codes = {0, 1, 2, 5, 6, *EXTRA_EXIT_CODES.get(getattr(self, "cmd_name", "") or "", ())}
        for action in parser._actions:
            if action.option_strings:
                continue
            metavar = str(action.metavar or action.dest)
            if "container" in metavar or "account" in metavar:
                codes.add(3)
            if "object" in metavar:
                codes.update((3, 4))
            if action.nargs in ("+", "*") and ("container" in metavar or "object" in metavar):
                codes.add(8)
        if isinstance(self, MultiName):
            codes.add(8)
        return sorted(codes)

    # helpers for subclasses

    @property
    def api(self) -> Any:
        return self.app.api

    @property
    def account(self) -> str:
        return self.app.account

    def warn(self, message: str) -> None:
        self.app.stderr.write(message + "\n")


class Command(_Fast, command.Command):
    """A command that prints nothing on success."""

    def take_action(self, parsed_args: argparse.Namespace) -> Any:  # pragma: no cover
        raise NotImplementedError


class _Display(_Fast):
    exit_status = 0

    def run(self, parsed_args: argparse.Namespace) -> int:
        super().run(parsed_args)  # type: ignore[misc]
        return self.exit_status

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        self.add_human_option(parser)
        return parser

    def add_human_option(self, parser: argparse.ArgumentParser) -> None:
        self._formatter_group.add_argument(
            "--human",
            action="store_true",
            help="Sizes with binary units (KiB, MiB, ...) in table and markdown output",
        )

    def humanize(self, parsed_args: argparse.Namespace) -> bool:
        """--human: size cells carry their text; json, yaml, csv and value keep numbers."""
        return bool(getattr(parsed_args, "human", False))

    def _selected(
        self, parsed_args: argparse.Namespace, names: Sequence[str], optional: str = ""
    ) -> list[int] | None:
        """Indexes of the -c columns (None: all of them); an unknown name is a usage error.

        Names are compared as cliff does (case, spaces and underscores aside); a
        name starting with `optional` (user properties) may be absent.
        """
        if not parsed_args.columns:
            return None
        normal = [_normal(n) for n in names]
        wanted: list[int] = []
        for column in parsed_args.columns:
            key = _normal(column)
            if key in normal:
                wanted.append(normal.index(key))
            elif optional and column.startswith(optional):
                wanted.append(-1 - len(wanted))  # a missing property: an empty cell
            else:
                raise UsageError(
                    f"-c {column}: no such column (columns: {', '.join(names) or 'none'})"
                )
        return wanted


def _normal(name: str) -> str:
    return name.lower().strip().replace(" ", "_")


def sort_key(cell: Any) -> tuple[int, Any]:
    """Order of a cell in --sort-column: numbers, then text, then nulls last."""
    value = cell.machine_readable() if isinstance(cell, cliff_columns.FormattableColumn) else cell
    if value is None:
        return (3, 0)
    if isinstance(value, bool | int | float):
        return (0, value)
    if isinstance(value, str):
        return (1, value)
    return (2, repr(value))


class Lister(_Display, lister.Lister):
    """A listing command: take_action returns (columns, rows)."""

    def _load_formatter_plugins(self) -> Any:
        return _Formatters(_LIST_FORMATTERS)

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        for action in parser._actions:
            if action.dest == "sort_columns":
                action.help = (
                    "Sort by this column (repeatable: the first given sorts first; names "
                    "ignore case and take '_' for spaces); nulls sort last, an unknown "
                    "column is a usage error"
                )
        return parser

    @property
    def need_sort_by_cliff(self) -> bool:
        return True

    def produce_output(
        self, parsed_args: argparse.Namespace, column_names: Sequence[str], data: Iterable[Any]
    ) -> int:
        """Sort (nulls last, any types) and select columns, then format.

        cliff's own sort gives up on mixed types (a delete marker's null size)
        after consuming the rows: the listing came out empty with exit 0.
        """
        names = list(column_names)
        wanted = self._selected(parsed_args, names)
        sort_columns = getattr(parsed_args, "sort_columns", None) or []
        if sort_columns and self.need_sort_by_cliff:
            normal = [_normal(n) for n in names]
            indexes = []
            for column in sort_columns:
                if _normal(column) not in normal:
                    raise UsageError(
                        f"--sort-column {column}: no such column (columns: {', '.join(names)})"
                    )
                indexes.append(normal.index(_normal(column)))
            data = sorted(
                data,
                key=lambda row: tuple(sort_key(row[i]) for i in indexes),
                reverse=parsed_args.sort_direction == "desc",
            )
        if wanted is not None:
            names = [names[i] for i in wanted]
            data = ([row[i] for i in wanted] for row in data)
        self.formatter.emit_list(names, data, self.app.stdout, parsed_args)
        return 0


class ShowOne(_Display, show.ShowOne):
    """A command showing one item: take_action returns (keys, values)."""

    def _load_formatter_plugins(self) -> Any:
        return _Formatters(_SHOW_FORMATTERS)

    def dict_rows(self, data: dict[str, Any]) -> tuple[tuple[str, ...], tuple[Any, ...]]:
        """Keys sorted alphabetically, as OpenIO's CLI prints them."""
        keys = tuple(sorted(data))
        return keys, tuple(data[k] for k in keys)

    def produce_output(
        self, parsed_args: argparse.Namespace, column_names: Sequence[str], data: Sequence[Any]
    ) -> int:
        """-c selects fields in the order given; a missing `meta.<key>` is a null field."""
        names, values = list(column_names), list(data)
        wanted = self._selected(parsed_args, names, optional="meta.")
        if wanted is not None:
            columns = parsed_args.columns
            names = [names[i] if i >= 0 else columns[-1 - i] for i in wanted]
            values = [values[i] if i >= 0 else None for i in wanted]
        self.formatter.emit_one(names, values, self.app.stdout, parsed_args)
        return 0


# -- columns -------------------------------------------------------------------


def human_rate(value: int | float | None) -> str:
    return "" if value is None else f"{human_size(value)}/s"


def iso_time(value: int | float | None) -> str:
    """Seconds since the epoch as ISO 8601 local time with its offset (no datetime import)."""
    if value is None:
        return ""
    import time

    moment = time.localtime(float(value))
    offset = moment.tm_gmtoff or 0
    sign = "-" if offset < 0 else "+"
    offset = abs(offset)
    text = time.strftime("%Y-%m-%dT%H:%M:%S", moment)
    return f"{text}{sign}{offset // 3600:02d}:{offset % 3600 // 60:02d}"


class SizeColumn(cliff_columns.FormattableColumn[Any]):
    """A size: with units in a table (--human, summaries), the number elsewhere."""

    def human_readable(self) -> str:
        return human_size(self._value)


class RateColumn(cliff_columns.FormattableColumn[Any]):
    """Bytes per second: `12.5MiB/s` in a table, the number elsewhere."""

    def human_readable(self) -> str:
        return human_rate(self._value)


class TimeColumn(cliff_columns.FormattableColumn[Any]):
    """A time: ISO 8601 in a table, seconds since the epoch in json, csv and value."""

    align_left = True

    def human_readable(self) -> str:
        return iso_time(self._value)


class DictColumn(cliff_columns.FormattableColumn[dict]):
    """Properties: an object in json/yaml, `k=v` lines in a table."""

    def human_readable(self) -> str:
        return "\n".join(f"{k}={v}" for k, v in sorted((self._value or {}).items()))


class TableText(cliff_columns.FormattableColumn[Any]):
    """Words for people where there is no value: shown in a table, null elsewhere."""

    def __init__(self, text: str) -> None:
        super().__init__(None)
        self._text = text

    def human_readable(self) -> str:
        return self._text

    def machine_readable(self) -> Any:
        return None


def MarkerSize() -> TableText:  # noqa: N802 - kept as the name the commands know
    """The size of a delete marker: `deleted` in a table, null elsewhere."""
    return TableText("deleted")


def size_cell(value: Any, human: bool) -> Any:
    return SizeColumn(value) if human and value is not None else value


def time_cell(value: Any, human: bool = False) -> Any:
    """A time cell: ISO 8601 in tables whatever --human says, a number elsewhere."""
    return TimeColumn(value) if isinstance(value, int | float) else value


# -- argument helpers ----------------------------------------------------------


def key_value(text: str) -> tuple[str, str]:
    """argparse type for `--property KEY=VALUE`."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"invalid property {text!r}: expected KEY=VALUE")
    return key, value


def integer(text: str) -> int:
    """argparse type for integers: ASCII digits only (int() also takes '１２' and '1_000')."""
    body = text.strip()
    digits = body[1:] if body[:1] in "+-" else body
    if not digits or not digits.isascii() or not digits.isdigit():
        raise argparse.ArgumentTypeError(f"invalid integer {text!r}")
    return int(body)


def non_negative_int(text: str) -> int:
    value = integer(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be >= 0")
    return value


def positive_int(text: str) -> int:
    value = non_negative_int(text)
    if value == 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be > 0")
    return value


MAX_PAGE_SIZE = 10000


def bandwidth(text: str) -> float:
    """argparse type of --bwlimit: bytes per second, `10M`, `512K`."""
    from oiocli.core.exceptions import BadRequest
    from oiocli.core.units import parse_rate

    try:
        return parse_rate(text)
    except BadRequest as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def positive_seconds(text: str) -> float:
    """argparse type of --timeout: a positive number of seconds."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid number of seconds {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} must be a positive number of seconds")
    return value


def page_size(text: str) -> int:
    value = positive_int(text)
    if value > MAX_PAGE_SIZE:
        raise argparse.ArgumentTypeError(f"{text!r} is more than {MAX_PAGE_SIZE}")
    return value


def max_versions(text: str) -> int:
    """argparse type for --max-versions: -1 (every version), 0, 1 or n > 1."""
    value = integer(text)
    if value < -1:
        raise argparse.ArgumentTypeError(
            f"{text!r}: -1 keeps every version, 0 refuses overwrites, n >= 1 keeps n"
        )
    return value


def md5_hex(text: str) -> str:
    """argparse type for --etag: 32 hexadecimal digits."""
    if len(text) != 32 or any(c not in "0123456789abcdefABCDEF" for c in text):
        raise argparse.ArgumentTypeError(f"invalid MD5 {text!r}: expected 32 hexadecimal digits")
    return text.upper()


def add_page_size_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--page-size",
        metavar="<n>",
        type=page_size,
        help=f"Rows asked per request while paging (default 1000, at most {MAX_PAGE_SIZE})",
    )


def add_property_option(parser: argparse.ArgumentParser, help_text: str) -> None:
    parser.add_argument(
        "-p",
        "--property",
        dest="properties",
        metavar="<key=value>",
        type=key_value,
        action="append",
        default=[],
        help=help_text + " (repeatable)",
    )


def add_key_option(parser: argparse.ArgumentParser, help_text: str, required: bool) -> None:
    parser.add_argument(
        "-p",
        "--property",
        dest="keys",
        metavar="<key>",
        action="append",
        default=[],
        required=required,
        help=help_text + " (repeatable)",
    )


def add_container_arg(parser: argparse.ArgumentParser, nargs: str | None = None) -> None:
    parser.add_argument(
        "container",
        metavar="<container>" if nargs is None else "<container>",
        nargs=nargs,
        help="Container name (or its id, with --cid)",
    )
    parser.add_argument(
        "--cid",
        dest="is_cid",
        action="store_true",
        help="Interpret <container> as a container id (64 hexadecimal characters)",
    )


def resolve_container(cmd: Any, parsed_args: argparse.Namespace, name: str) -> tuple[str, str]:
    """(account, container) for a container argument, honouring --cid."""
    if getattr(parsed_args, "is_cid", False):
        account, container = cmd.api.resolve_cid(name)
        return account, container
    return cmd.account, name


# -- errors --------------------------------------------------------------------


def exit_code_of(error: BaseException) -> int:
    code = getattr(error, "exit_code", None)
    if isinstance(code, int):
        return code
    if isinstance(error, UsageError):
        return exc.EXIT_USAGE
    return exc.EXIT_ERROR


def describe_error(error: BaseException) -> str:
    """One line saying what failed and on which name."""
    if isinstance(error, OSError) and error.filename is not None:
        reason = error.strerror or str(error)
        text = f"{reason}: {error.filename!r}"
    else:
        text = str(error) or error.__class__.__name__
    return " ".join(text.split())


class UsageError(Exception):
    """A combination of arguments that cannot work (exit code 2)."""

    exit_code = exc.EXIT_USAGE


class Interrupted(KeyboardInterrupt):
    """Ctrl-C, with what the user can do next (the command that resumes): exit 130."""


class CommandError(Exception):
    """The command cannot do what was asked (exit code 1)."""

    exit_code = exc.EXIT_ERROR


def combined_exit_code(errors: Sequence[BaseException], total: int) -> int:
    """0 when nothing failed; the shared code when all failed; 8 when some did."""
    if not errors:
        return exc.EXIT_OK
    if len(errors) < total:
        return exc.EXIT_PARTIAL
    codes = {exit_code_of(e) for e in errors}
    return codes.pop() if len(codes) == 1 else exc.EXIT_ERROR


class MultiName(Lister):
    """A command applied to several names, one row per name.

    Failures are reported on stderr (one line each) and set the exit code:
    8 when some names failed, the failure's own code when all did.
    """

    def for_each(
        self,
        names: Iterable[Any],
        action: Callable[[Any], Sequence[Any]],
        failed_row: Callable[[Any], Sequence[Any]],
    ) -> list[Sequence[Any]]:
        """One row per item of `names` (usually names; any item `action` accepts)."""
        rows: list[Sequence[Any]] = []
        errors: list[BaseException] = []
        total = 0
        for name in names:
            total += 1
            try:
                rows.append(action(name))
            except exc.OioException as error:
                errors.append(error)
                self.warn(describe_error(error))
                rows.append(failed_row(name))
            except (OSError, CommandError) as error:
                errors.append(error)
                self.warn(describe_error(error))
                rows.append(failed_row(name))
        self.exit_status = combined_exit_code(errors, total)
        return rows


# -- progress ------------------------------------------------------------------


@contextmanager
def progress_bar(
    app: Any, total: int | None, desc: str, initial: int = 0
) -> Iterator[Callable[[int], None] | None]:
    """A tqdm bar on stderr (only on a terminal, never with --no-progress or -q), starting
    at `initial` (the bytes a resumed transfer already has)."""
    if not app.show_progress:
        yield None
        return
    import os

    from tqdm import tqdm

    try:
        columns = os.get_terminal_size(app.stderr.fileno()).columns
    except (AttributeError, OSError, ValueError):
        columns = 0
    # a terminal that reports no size (a fresh pty) would get an empty bar
    width: dict[str, Any] = {"dynamic_ncols": True} if columns else {"ncols": 80}
    bar = tqdm(
        total=total,
        desc=desc,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        file=app.stderr,
        leave=False,
        initial=initial,
        **width,
    )
    try:
        yield bar.update
    finally:
        bar.close()


def cid_of(account: str, container: str) -> str:
    """OpenIO's container id: uppercase SHA-256 of `account NUL container`."""
    import hashlib

    return hashlib.sha256(f"{account}\0{container}".encode()).hexdigest().upper()


# -- listing and files -----------------------------------------------------------

PAGE_SIZE = 1000


def iter_object_pages(
    api: Any,
    account: str,
    container: str,
    limit: int | None = None,
    marker: str | None = None,
    page_size: int | None = None,
    **kwargs: Any,
) -> Iterator[dict[str, Any]]:
    """Pages of `object_list`, following next_marker until `limit` rows or the end."""
    remaining = limit
    per_page = page_size or PAGE_SIZE
    while True:
        page_size = per_page if remaining is None else min(remaining, per_page)
        page = api.object_list(account, container, limit=page_size, marker=marker, **kwargs)
        if remaining is not None:
            objects, prefixes = page.get("objects") or [], page.get("prefixes") or []
            if len(objects) + len(prefixes) >= remaining:
                # A versioned page holds all of one name's versions, maybe more than asked.
                yield dict(page, objects=objects[: max(0, remaining - len(prefixes))])
                return
            remaining -= len(objects) + len(prefixes)
        yield page
        marker = page.get("next_marker")
        if not page.get("truncated") or not marker:
            return


def iter_objects(api: Any, account: str, container: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
    """Every object entry of a container, page after page."""
    for page in iter_object_pages(api, account, container, **kwargs):
        yield from page.get("objects") or ()


def safe_join(directory: str, name: str) -> str:
    """`directory/name`, refusing names that would land outside `directory`."""
    import os

    parts = [p for p in name.split("/") if p not in ("", ".")]
    if not parts or ".." in parts:
        raise CommandError(f"Refusing to write object {name!r} outside {directory!r}")
    return os.path.join(directory, *parts)


def write_stream(
    stream: Iterable[bytes], path: str, progress: Callable[[int], None] | None = None
) -> int:
    """Write `stream` to `path` atomically (a temporary file renamed at the end).

    Parent directories are created; on error nothing is left behind.
    """
    import os
    import tempfile

    directory = os.path.dirname(path) or "."
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".oio-", suffix=".part", dir=directory)  # mode 0600
    written = 0
    try:
        with os.fdopen(fd, "wb") as out:
            for data in stream:
                out.write(data)
                written += len(data)
                if progress is not None:
                    progress(len(data))
        os.chmod(tmp, 0o666 & ~umask())
        os.replace(tmp, path)
    except BaseException as error:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(error, OSError) and error.errno in FULL_ERRNOS:
            from oiocli.transfer import disk_full

            raise disk_full(error, path, written, None) from None
        raise
    return written
