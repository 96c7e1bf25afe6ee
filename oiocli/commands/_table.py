"""cliff's table formatter, without importing `wcwidth` for plain ASCII tables.

prettytable measures every cell with `wcwidth`, whose import alone costs about
10 ms (a tenth of the CLI's start-up budget). For printable ASCII text a cell's
width is its length, so while such a table is rendered a minimal stand-in
module answers prettytable's few calls; anything else uses the real `wcwidth`.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
import types
from collections.abc import Iterable, Sequence
from typing import Any, TextIO

from cliff import columns
from cliff.formatters.table import TableFormatter


def _ascii_shim() -> types.ModuleType:
    shim = types.ModuleType("wcwidth")
    shim.width = len  # type: ignore[attr-defined]
    shim.wcswidth = len  # type: ignore[attr-defined]
    shim.ljust = lambda text, width: text.ljust(width)  # type: ignore[attr-defined]
    shim.rjust = lambda text, width: text.rjust(width)  # type: ignore[attr-defined]
    shim.center = lambda text, width: text.center(width)  # type: ignore[attr-defined]

    def wrap(text: str, width: int, break_on_hyphens: bool = True, **_: Any) -> list[str]:
        return textwrap.wrap(text, width, break_on_hyphens=break_on_hyphens) or [""]

    shim.wrap = wrap  # type: ignore[attr-defined]
    return shim


def _plain(value: Any) -> bool:
    if isinstance(value, columns.FormattableColumn):
        value = value.human_readable()
    text = value if isinstance(value, str) else str(value)
    return text.isascii() and (text.isprintable() or text.replace("\n", "").isprintable())


class FastTableFormatter(TableFormatter):
    """TableFormatter that skips the `wcwidth` import for printable ASCII tables."""

    def _render(self, cells: Iterable[Any], emit: Any) -> None:
        if "wcwidth" in sys.modules or not all(_plain(c) for c in cells):
            emit()
            return
        sys.modules["wcwidth"] = _ascii_shim()
        try:
            emit()
        finally:
            del sys.modules["wcwidth"]

    def emit_list(
        self,
        column_names: Sequence[str],
        data: Iterable[Sequence[Any]],
        stdout: TextIO,
        parsed_args: argparse.Namespace,
    ) -> None:
        rows = [list(row) for row in data]
        cells = [*column_names, *(cell for row in rows for cell in row)]
        self._render(
            cells,
            lambda: super(FastTableFormatter, self).emit_list(
                column_names, rows, stdout, parsed_args
            ),
        )

    def emit_one(
        self,
        column_names: Sequence[str],
        data: Sequence[Any],
        stdout: TextIO,
        parsed_args: argparse.Namespace,
    ) -> None:
        data = list(data)
        self._render(
            [*column_names, *data],
            lambda: super(FastTableFormatter, self).emit_one(
                column_names, data, stdout, parsed_args
            ),
        )
