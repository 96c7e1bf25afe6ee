"""`python -m benchmarks.compare A.json B.json`: do two runs agree on every ratio?

Two consecutive `make bench` runs on a quiet machine should give every ratio within 15% of
the other run's. This prints, for each row both runs have, both ratios (or both values when
a row has no limit) and their relative difference |a - b| / min(a, b), worst first, and
exits 1 when one differs by more than the tolerance.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from benchmarks.report import table

TOLERANCE = 0.15


def _figures(record: dict[str, Any]) -> dict[str, tuple[str, float]]:
    """Row name -> ("ratio" or "value", the figure) for every row that has one."""
    out = {}
    for row in record.get("ours", []):
        if row.get("error"):
            continue
        if row.get("ratio") is not None:
            out[row["name"]] = ("ratio", float(row["ratio"]))
        elif row.get("value") is not None:
            out[row["name"]] = ("value", float(row["value"]))
    return out


def difference(a: float, b: float) -> float:
    """|a - b| relative to the smaller magnitude (1.0 means one is twice the other)."""
    low = min(abs(a), abs(b))
    if low == 0:
        return 0.0 if a == b else float("inf")
    return abs(a - b) / low


def compare(a: dict[str, Any], b: dict[str, Any]) -> list[tuple[str, str, float, float, float]]:
    """(name, kind, figure in a, figure in b, difference) for the rows of both runs, worst
    first."""
    fa, fb = _figures(a), _figures(b)
    rows = []
    for name, (kind, x) in fa.items():
        if name in fb and fb[name][0] == kind:
            y = fb[name][1]
            rows.append((name, kind, x, y, difference(x, y)))
    return sorted(rows, key=lambda r: -r[4])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.compare", description=__doc__)
    p.add_argument("a", type=Path)
    p.add_argument("b", type=Path)
    p.add_argument("--tolerance", type=float, default=TOLERANCE, help="(%(default)s)")
    p.add_argument("--ratios-only", action="store_true", help="leave out rows with no limit")
    args = p.parse_args(argv)
    rows = compare(json.loads(args.a.read_text()), json.loads(args.b.read_text()))
    if args.ratios_only:
        rows = [r for r in rows if r[1] == "ratio"]
    cells = [
        [name, kind, f"{x:.3g}", f"{y:.3g}", f"{d * 100:.0f}%", "" if d <= args.tolerance else "NO"]
        for name, kind, x, y, d in rows
    ]
    print(table(["row", "compared", "run A", "run B", "differ", "within"], cells))
    worst = rows[0][4] if rows else 0.0
    within = sum(1 for r in rows if r[4] <= args.tolerance)
    print(f"\n{within} of {len(rows)} within {args.tolerance:.0%}; worst {worst * 100:.0f}%")
    return 0 if within == len(rows) else 1


if __name__ == "__main__":
    sys.exit(main())
