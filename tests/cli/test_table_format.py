"""The table formatter draws plain tables exactly as prettytable draws them for cliff,
imports neither prettytable nor wcwidth to do so, and patches no other module."""

from __future__ import annotations

import argparse
import random
import subprocess
import sys

import prettytable

from oiocli.commands._format import draw_table, render_table


def _prettytable(headers, rows, right) -> str:
    table = prettytable.PrettyTable(list(headers), print_empty=True)
    table.padding_width = 1
    for name, r in zip(headers, right, strict=True):
        table.align[name] = "r" if r else "l"
    for row in rows:
        table.add_row(row)
    return table.get_string()


def test_same_drawing_as_prettytable():
    rng = random.Random(7)
    alphabet = "abcXYZ 0123-_./:"
    for _ in range(300):
        width = rng.randint(1, 5)
        headers = [f"H{i}" + "x" * rng.randint(0, 6) for i in range(width)]
        rows = []
        for _row in range(rng.randint(0, 6)):
            cells = []
            for _col in range(width):
                lines = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))]
                if rng.random() < 0.2:
                    lines.append("".join(rng.choice(alphabet) for _ in range(rng.randint(0, 8))))
                cells.append("\n".join(lines))
            rows.append(cells)
        right = [rng.random() < 0.5 for _ in headers]
        assert draw_table(headers, rows, right) == _prettytable(headers, rows, right)


def test_wide_text_goes_to_prettytable_and_nothing_is_patched():
    args = argparse.Namespace(max_width=0, fit_width=False)
    text = render_table(("Name",), [["日本語"], ["abc"]], args)
    assert "日本語" in text and text.splitlines()[1] == "| Name   |"
    import wcwidth

    assert sys.modules["wcwidth"] is wcwidth


def test_plain_tables_import_neither_prettytable_nor_wcwidth():
    code = (
        "import argparse, sys\n"
        "from oiocli.commands._format import render_table\n"
        "args = argparse.Namespace(max_width=0, fit_width=False)\n"
        "print(render_table(('A', 'B'), [['x', 1], [None, 22]], args))\n"
        "print('prettytable' in sys.modules, 'wcwidth' in sys.modules)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[-1] == "False False"
    assert lines[3] == "| x |  1 |" and lines[4] == "|   | 22 |"
