"""Tables on stdout and the JSON record of a run."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

from benchmarks.common import REPO_ROOT, Limit, Row, fmt, spread_text


def table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]

    def line(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    sep = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), sep, *(line(r) for r in rows)])


def limits_table(limits: dict[str, Limit]) -> str:
    rows = []
    for lim in limits.values():
        value = fmt(lim.value) if lim.error is None else "ERROR"
        note = lim.error or lim.note
        rows.append([lim.name, value, lim.unit, lim.spread(), note])
    return table(["limit", "median", "unit", "n, min-max, spread", "how / note"], rows)


def _met(row: Row) -> str:
    met = row.met
    return "-" if met is None else ("yes" if met else "NO")


def ours_table(rows: list[Row]) -> str:
    """Our figures: the median of the repetitions, their number, range and spread
    ((max - min) / median), the limit and ratio (of the medians), the target, met or not."""
    out = []
    for r in rows:
        if r.error:
            out.append([r.name, "-", r.unit, "", "", "", "", str(r.target or ""), "-", r.error])
            continue
        ratio = "" if r.ratio is None else f"{r.ratio:.2f}"
        limit = "" if r.limit is None else fmt(r.limit)
        out.append(
            [
                r.name,
                fmt(r.value),
                r.unit,
                spread_text(r.samples),
                r.limit_label,
                limit,
                ratio,
                str(r.target or ""),
                _met(r),
                r.note,
            ]
        )
    headers = [
        "ours",
        "median",
        "unit",
        "n, min-max, spread",
        "bounded by",
        "limit",
        "ratio",
        "target",
        "met",
        "note",
    ]
    return table(headers, out)


def machine_info() -> dict[str, Any]:
    info: dict[str, Any] = {
        "python": sys.version.split()[0],
        "executable": sys.executable,
        "platform": platform.platform(),
        "nproc": os.cpu_count(),
    }
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        from importlib.metadata import version

        info["pyeclib"] = version("pyeclib")
    except Exception:  # noqa: BLE001
        pass
    try:
        info["commit"] = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except Exception:  # noqa: BLE001
        pass
    return info


def write_json(path: Path, record: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, indent=2, default=str) + "\n")
    os.replace(tmp, path)
