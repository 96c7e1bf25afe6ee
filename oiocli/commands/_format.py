"""The output formats of `oio` (`-f table|json|csv|value|yaml|shell|markdown`).

One rule for every cell, whatever the command:

- table and markdown are for people: a cell is its `human_readable()` text
  (sizes with units under --human, ISO 8601 dates, `Namespace default`), and
  a null is an empty cell;
- json and yaml are for programs: a cell is its `machine_readable()` value,
  with its type (null, numbers, booleans, objects);
- value, csv and shell print machine values as text: a null is empty, an
  object or a list is compact JSON, and `-f shell` quotes every value so that
  `eval "$(oio ... -f shell)"` is safe whatever a property holds.

An empty listing prints nothing in value and csv formats, `[]` in json and a
header-only table in table format (never a blank line).

The table formatter draws plain tables itself. prettytable (with `wcwidth`,
~10 ms to import, a tenth of the start-up budget) is used only when a cell
holds wide or non-printable characters, or when the table must be fitted to
the terminal or to --max-width, where its wrapping is needed.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Iterable, Sequence
from typing import Any, Literal, TextIO

from cliff import columns
from cliff.formatters import base


def machine(cell: Any) -> Any:
    """The value of a cell for programs (json, yaml, sorting)."""
    if isinstance(cell, columns.FormattableColumn):
        return cell.machine_readable()
    return cell


def human(cell: Any) -> str:
    """The text of a cell for people (table, markdown)."""
    if isinstance(cell, columns.FormattableColumn):
        cell = cell.human_readable()
    if cell is None:
        return ""
    if isinstance(cell, str):
        return cell.replace("\r\n", "\n").replace("\r", " ")
    return str(cell)


def machine_text(cell: Any) -> str:
    """The text of a cell for value, csv and shell: nulls empty, objects as JSON."""
    value = machine(cell)
    if value is None:
        return ""
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, separators=(",", ":"), default=str)
    return str(value)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


# -- table ---------------------------------------------------------------------


def _plain(text: str) -> bool:
    """Printable ASCII (lines may be separated by newlines): one column per character."""
    return text.isascii() and all(line.isprintable() for line in text.split("\n"))


def _right_aligned(rows: Sequence[Sequence[Any]], index: int) -> bool:
    """A column is right-aligned when every non-null cell of it is a number."""
    seen = False
    for row in rows:
        cell = row[index]
        if getattr(cell, "align_left", False):  # e.g. a date: text, whatever its value
            return False
        value = machine(cell)
        if value is None:
            continue
        if not _number(value):
            return False
        seen = True
    return seen


def _terminal_width() -> int:
    try:
        return os.get_terminal_size(1).columns
    except (OSError, ValueError):
        return 0


def _width_limit(parsed_args: argparse.Namespace) -> int:
    """The width a table must fit in (0: no limit), as cliff's table formatter decides."""
    max_width = int(getattr(parsed_args, "max_width", 0) or 0)
    if max_width > 0:
        return max_width
    fit = bool(getattr(parsed_args, "fit_width", False))
    try:
        fit = fit or os.isatty(1)
    except OSError:
        pass
    return _terminal_width() if fit else 0


def draw_table(headers: Sequence[str], cells: list[list[str]], right: Sequence[bool]) -> str | None:
    """An ASCII table as prettytable draws it for cliff; None if a cell is not plain."""
    if not all(_plain(h) for h in headers) or not all(_plain(c) for row in cells for c in row):
        return None
    widths = [len(h) for h in headers]
    split = [[c.split("\n") for c in row] for row in cells]
    for row in split:
        for i, lines in enumerate(row):
            widths[i] = max(widths[i], *(len(line) for line in lines))
    border = "+" + "+".join("-" * (w + 2) for w in widths) + "+"

    def line(texts: Sequence[str]) -> str:
        parts = [
            t.rjust(w) if r else t.ljust(w) for t, w, r in zip(texts, widths, right, strict=True)
        ]
        return "| " + " | ".join(parts) + " |"

    out = [border, line(headers), border]
    for row in split:
        height = max((len(lines) for lines in row), default=1)
        for n in range(height):
            out.append(line([lines[n] if n < len(lines) else "" for lines in row]))
    out.append(border)  # an empty table too: its header between two borders, then one more
    return "\n".join(out)


def _prettytable(
    headers: Sequence[str],
    cells: list[list[str]],
    right: Sequence[bool],
    parsed_args: argparse.Namespace,
    min_width: int,
) -> str:
    """Wide characters, or a table to wrap to a width: prettytable does it."""
    import prettytable
    from cliff.formatters.table import TableFormatter as CliffTable

    table = prettytable.PrettyTable(list(headers), print_empty=True)
    table.padding_width = 1
    for name, r in zip(headers, right, strict=True):
        table.align[name] = "r" if r else "l"
    for row in cells:
        table.add_row(row)
    CliffTable._assign_max_widths(
        table,
        int(getattr(parsed_args, "max_width", 0) or 0),
        min_width,
        bool(getattr(parsed_args, "fit_width", False)),
    )
    return table.get_string()


def render_table(
    headers: Sequence[str],
    rows: Sequence[Sequence[Any]],
    parsed_args: argparse.Namespace,
    right: Sequence[bool] | None = None,
    min_width: int = 8,
) -> str:
    if right is None:
        right = [_right_aligned(rows, i) for i in range(len(headers))]
    cells = [[human(c) for c in row] for row in rows]
    text = draw_table(headers, cells, right)
    if text is not None:
        limit = _width_limit(parsed_args)
        if not limit or len(text.split("\n", 1)[0]) <= limit:
            return text
    return _prettytable(headers, cells, right, parsed_args, min_width)


class TableFormatter(base.ListFormatter, base.SingleFormatter):
    """cliff's table (same options, same drawing), nulls as empty cells."""

    def add_argument_group(self, parser: argparse.ArgumentParser) -> None:
        group = parser.add_argument_group("table formatter")
        group.add_argument(
            "--max-width",
            metavar="<integer>",
            default=int(os.environ.get("CLIFF_MAX_TERM_WIDTH", 0) or 0),
            type=int,
            help="Maximum display width, <1 to disable (env CLIFF_MAX_TERM_WIDTH)",
        )
        group.add_argument(
            "--fit-width",
            action="store_true",
            default=bool(int(os.environ.get("CLIFF_FIT_WIDTH", 0) or 0)),
            help="Fit the table to the display width (implied by --max-width > 0)",
        )
        group.add_argument(
            "--print-empty",
            action="store_true",
            help="Accepted for compatibility: an empty listing always prints its header",
        )

    def emit_list(
        self,
        column_names: Sequence[str],
        data: Iterable[Sequence[Any]],
        stdout: TextIO,
        parsed_args: argparse.Namespace,
    ) -> None:
        rows = [list(row) for row in data]
        stdout.write(render_table(column_names, rows, parsed_args) + "\n")

    def emit_one(
        self,
        column_names: Sequence[str],
        data: Sequence[Any],
        stdout: TextIO,
        parsed_args: argparse.Namespace,
    ) -> None:
        rows = [[name, value] for name, value in zip(column_names, data, strict=True)]
        if not rows:
            return
        text = render_table(("Field", "Value"), rows, parsed_args, (False, False), 16)
        stdout.write(text + "\n")


# -- machine text formats ------------------------------------------------------


class ValueFormatter(base.ListFormatter, base.SingleFormatter):
    """Values only, separated by spaces (one line per row); nulls are empty."""

    def add_argument_group(self, parser: argparse.ArgumentParser) -> None:
        pass

    def emit_list(
        self,
        column_names: Sequence[str],
        data: Iterable[Sequence[Any]],
        stdout: TextIO,
        parsed_args: argparse.Namespace,
    ) -> None:
        for row in data:
            stdout.write(" ".join(machine_text(c) for c in row) + "\n")

    def emit_one(
        self,
        column_names: Sequence[str],
        data: Sequence[Any],
        stdout: TextIO,
        parsed_args: argparse.Namespace,
    ) -> None:
        for value in data:
            stdout.write(machine_text(value) + "\n")


class CSVFormatter(base.ListFormatter):
    """Comma-separated values with a header line (nothing at all when there are no rows)."""

    QUOTE_MODES = ("all", "minimal", "nonnumeric", "none")

    def add_argument_group(self, parser: argparse.ArgumentParser) -> None:
        group = parser.add_argument_group("CSV formatter")
        group.add_argument(
            "--quote",
            choices=self.QUOTE_MODES,
            dest="quote_mode",
            default="nonnumeric",
            help="When to quote values (default nonnumeric)",
        )

    def emit_list(
        self,
        column_names: Sequence[str],
        data: Iterable[Sequence[Any]],
        stdout: TextIO,
        parsed_args: argparse.Namespace,
    ) -> None:
        import csv

        quoting: Literal[0, 1, 2, 3]
        modes: dict[str, Literal[0, 1, 2, 3]] = {
            "all": csv.QUOTE_ALL,
            "minimal": csv.QUOTE_MINIMAL,
            "nonnumeric": csv.QUOTE_NONNUMERIC,
            "none": csv.QUOTE_NONE,
        }
        quoting = modes[getattr(parsed_args, "quote_mode", "nonnumeric")]
        writer = csv.writer(stdout, quoting=quoting, lineterminator=os.linesep, escapechar="\\")
        header = False
        for row in data:
            if not header:
                writer.writerow(column_names)
                header = True
            writer.writerow([_csv_cell(c) for c in row])


def _csv_cell(cell: Any) -> Any:
    value = machine(cell)
    if value is None:
        return ""
    if _number(value):
        return value  # unquoted with --quote nonnumeric
    return machine_text(value)


def shell_name(name: str) -> str:
    """A valid shell variable name for a field: `meta.owner` -> `meta_owner`."""
    text = "".join(c if c.isascii() and (c.isalnum() or c == "_") else "_" for c in name.lower())
    return "_" + text if not text or text[0].isdigit() else text


class ShellFormatter(base.SingleFormatter):
    """`name='value'` lines that `eval` sets as variables, every value single-quoted."""

    def add_argument_group(self, parser: argparse.ArgumentParser) -> None:
        group = parser.add_argument_group(
            title="shell formatter",
            description="a format a UNIX shell can eval (name='value')",
        )
        group.add_argument(
            "--variable",
            action="append",
            default=[],
            dest="variables",
            metavar="VARIABLE",
            help=argparse.SUPPRESS,
        )
        group.add_argument(
            "--prefix",
            action="store",
            default="",
            dest="prefix",
            help="Add a prefix to all variable names",
        )

    def emit_one(
        self,
        column_names: Sequence[str],
        data: Sequence[Any],
        stdout: TextIO,
        parsed_args: argparse.Namespace,
    ) -> None:
        import shlex

        wanted = set(getattr(parsed_args, "variables", None) or ())
        prefix = shell_name(parsed_args.prefix) if getattr(parsed_args, "prefix", "") else ""
        for name, value in zip(column_names, data, strict=True):
            variable = shell_name(name)
            if wanted and variable not in wanted and name not in wanted:
                continue
            stdout.write(f"{prefix}{variable}={shlex.quote(machine_text(value))}\n")


# -- markdown ------------------------------------------------------------------


class MarkdownFormatter(base.ListFormatter, base.SingleFormatter):
    """A GitHub-flavoured markdown table (tabulate), for reports and tickets."""

    def add_argument_group(self, parser: argparse.ArgumentParser) -> None:
        pass

    @staticmethod
    def _draw(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
        from tabulate import tabulate

        def text(cell: Any) -> str:
            return human(cell).replace("|", "\\|").replace("\n", "<br>")

        right = [_right_aligned(rows, i) for i in range(len(headers))]
        return tabulate(
            [[text(c) for c in row] for row in rows],
            headers=[text(h) for h in headers],
            tablefmt="pipe",
            colalign=["right" if r else "left" for r in right],
            disable_numparse=True,
        )

    def emit_list(
        self,
        column_names: Sequence[str],
        data: Iterable[Sequence[Any]],
        stdout: TextIO,
        parsed_args: argparse.Namespace,
    ) -> None:
        stdout.write(self._draw(column_names, [list(row) for row in data]) + "\n")

    def emit_one(
        self,
        column_names: Sequence[str],
        data: Sequence[Any],
        stdout: TextIO,
        parsed_args: argparse.Namespace,
    ) -> None:
        rows = [[name, value] for name, value in zip(column_names, data, strict=True)]
        stdout.write(self._draw(("Field", "Value"), rows) + "\n")
