"""`oio object|container|volume|namespace check`, `oio volume rebuild`: integrity and health.

Every object row carries its redundancy state against its policy: `ok`,
`degraded` (readable, redundancy reduced), `at-risk` (one more loss makes it
unreadable) or `lost`. The exit code is the worst state, so cron can alert:

    0  everything is ok (also after a successful --repair)
    7  degraded or at-risk: readable, redundancy reduced
    6  lost: some data is unreadable or corrupt beyond repair
    1  metadata inconsistencies (namespace check) or orphan chunks, not repaired

A one-line summary goes to stderr ("3 objects: 2 ok, 1 degraded") unless -q.
"""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Iterable
from typing import Any

from cliff import columns as cliff_columns

from oiocli.commands.base import Lister, add_container_arg, resolve_container
from oiocli.core import exceptions as exc

STATES = ("ok", "degraded", "at-risk", "lost")
OBJECT_COLUMNS = (
    "Object",
    "Version",
    "Policy",
    "State",
    "Chunks",
    "Missing",
    "Corrupt",
    "Misplaced",
    "Repaired",
    "Detail",
)


class ChunkList(cliff_columns.FormattableColumn[list | None]):
    """Chunks of a check row: positions in a table, full records in json/yaml."""

    def human_readable(self) -> str:
        items = self._value or []
        return ", ".join(str(c["pos"]) if isinstance(c, dict) else str(c) for c in items)

    def machine_readable(self) -> list:
        return list(self._value or [])


def _misplaced(value: list | None) -> list:
    # check rows list misplaced chunks by URL only
    return [c if isinstance(c, dict) else {"url": c} for c in value or []]


def object_row(row: dict[str, Any], with_container: bool = False) -> tuple[Any, ...]:
    cells: tuple[Any, ...] = (
        row.get("object"),
        row.get("version"),
        row.get("policy"),
        row.get("state"),
        row.get("chunks"),
        ChunkList(row.get("missing")),
        ChunkList(row.get("corrupt")),
        ChunkList(_misplaced(row.get("misplaced"))),
        ChunkList(row.get("repaired")),
        row.get("detail"),
    )
    if with_container:
        cells = (row.get("account"), row.get("container")) + cells
    return cells


def state_exit_code(rows: Iterable[dict[str, Any]]) -> int:
    """6 when anything is lost, 7 when degraded/at-risk (or misplaced), else 0."""
    code = exc.EXIT_OK
    for row in rows:
        state = row.get("state")
        if state == "lost":
            return exc.EXIT_CORRUPT
        if state in ("degraded", "at-risk") or row.get("misplaced"):
            code = exc.EXIT_DEGRADED
    return code


def state_summary(rows: list[dict[str, Any]], what: str = "object") -> str:
    counts = Counter(row.get("state") for row in rows)
    parts = [f"{counts[s]} {s}" for s in STATES if counts[s]]
    parts += [f"{n} {s}" for s, n in sorted(counts.items(), key=str) if s not in STATES]
    misplaced = sum(1 for row in rows if row.get("misplaced"))
    if misplaced:
        parts.append(f"{misplaced} with misplaced chunks")
    repaired = sum(len(row.get("repaired") or ()) for row in rows)
    if repaired:
        parts.append(f"{repaired} chunks rebuilt")
    noun = what if len(rows) == 1 else f"{what}s"
    return f"{len(rows)} {noun}: {', '.join(parts)}" if parts else f"0 {noun}"


class _Check(Lister):
    """A check: rows, an exit code from the worst state, a summary on stderr."""

    summary: str | None = None

    @property
    def need_sort_by_cliff(self) -> bool:
        return True

    def run(self, parsed_args: argparse.Namespace) -> int:
        status = super().run(parsed_args)
        if self.summary and self.app.options.verbose_level > 0:
            self.app.stdout.flush()
            self.warn(self.summary)
        return status


def _add_repair_option(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "--repair",
        action="store_true",
        help=(
            f"Rebuild missing or corrupt chunks of {what} (replicas by copy, EC fragments by "
            "reconstruction) on other volumes; the rows then show the state after repair"
        ),
    )


class CheckObject(_Check):
    """Verify every chunk of an object (presence, size, checksum) and its redundancy.

    Exit code: 0 ok, 7 degraded or at-risk, 6 lost.
    """

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        add_container_arg(parser)
        parser.add_argument("object", metavar="<object>", help="Object name")
        parser.add_argument(
            "--object-version",
            dest="version",
            metavar="<version>",
            type=int,
            help="Version of the object (default: the latest)",
        )
        _add_repair_option(parser, "the object")
        parser.add_argument(
            "--verify",
            action="store_true",
            help=(
                "Cloud tier objects: read every chunk and compare its MD5 (by default a "
                "HEAD compares size and ETag, and downloads nothing)"
            ),
        )
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> tuple[Any, Any]:
        account, container = resolve_container(self, parsed_args, parsed_args.container)
        row = self.api.object_check(
            account,
            container,
            parsed_args.object,
            version=parsed_args.version,
            repair=parsed_args.repair,
            verify=parsed_args.verify,
        )
        self.exit_status = state_exit_code([row])
        self.summary = state_summary([row])
        return OBJECT_COLUMNS, [object_row(row)]


class CheckContainer(_Check):
    """Verify every chunk of every object version of a container; one row per version.

    Exit code: the worst state: 0 ok, 7 degraded or at-risk, 6 lost.
    """

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        add_container_arg(parser)
        _add_repair_option(parser, "its objects")
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> tuple[Any, Any]:
        account, container = resolve_container(self, parsed_args, parsed_args.container)
        rows = self.api.container_check(account, container, repair=parsed_args.repair)
        self.exit_status = state_exit_code(rows)
        self.summary = state_summary(rows)
        return OBJECT_COLUMNS, [object_row(row) for row in rows]


def non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid number {text!r}") from None
    if not value >= 0:  # also refuses nan
        raise argparse.ArgumentTypeError(f"{text!r} must be >= 0")
    return value


VOLUME_COLUMNS = ("Volume", "Chunk", "State", "Object", "Detail")


class CheckVolume(_Check):
    """Verify every chunk file of a volume (without one: of every volume); list
    orphans (chunks no object references).

    Orphans younger than --min-age (default one hour) are left alone: they may
    belong to an upload in progress, as do chunks of an interrupted upload that
    `object create --resume` can continue. Exit code: 0 nothing wrong (orphans
    deleted count as fixed), 7 missing, corrupt or unreadable chunks (`oio
    container check` tells each object's state), 1 orphans found and not deleted.
    An unreadable volume directory (chmod 000) gets an "unreadable" row when an
    object has a chunk on it; one no object uses any more is clean (the summary
    says it could not be listed). `volume check --delete-orphans` with no
    volume sweeps the orphans of the whole namespace.
    """

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument(
            "volume",
            metavar="<volume>",
            nargs="?",
            help="Volume name (vol-N) or path (default: every volume)",
        )
        parser.add_argument(
            "--orphans", action="store_true", help="Also list chunks no object references"
        )
        parser.add_argument(
            "--delete-orphans",
            action="store_true",
            help="Delete the orphan chunks found (implies --orphans)",
        )
        parser.add_argument(
            "--min-age",
            metavar="<seconds>",
            type=non_negative_float,
            help="Only orphans older than this (default 3600: spare uploads in progress)",
        )
        parser.add_argument(
            "--no-verify",
            action="store_true",
            help="Do not read the chunk files (checksums): presence and orphans only, fast",
        )
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> tuple[Any, Any]:
        options = {
            "orphans": parsed_args.orphans or parsed_args.delete_orphans,
            "delete_orphans": parsed_args.delete_orphans,
            "min_age": parsed_args.min_age,
            "verify": not parsed_args.no_verify,
        }
        if parsed_args.volume is None:
            rows = self.api.volume_check_all(**options)
        else:
            rows = self.api.volume_check(parsed_args.volume, **options)
        counts = Counter(row.get("state") for row in rows)
        if counts["missing"] or counts["corrupt"] or counts["unreadable"]:
            self.exit_status = exc.EXIT_DEGRADED
        elif counts["orphan"]:
            self.exit_status = exc.EXIT_ERROR
        found = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
        scope = parsed_args.volume or "every volume"
        self.summary = f"{scope}: {found or 'no problem found'}"
        if not rows and parsed_args.volume is not None:
            problem = self.api.checker.volume_problem(parsed_args.volume)
            if problem is not None:  # no object uses it, but say what was not looked at
                self.summary = (
                    f"{parsed_args.volume}: no object has a chunk on it, but its "
                    f"{problem[1]} (orphans not listed)"
                )
        return VOLUME_COLUMNS, [
            tuple(row.get(k) for k in ("volume", "chunk", "state", "object", "detail"))
            for row in rows
        ]


class RebuildVolume(_Check):
    """Rebuild every chunk a lost or emptied volume held, on the other volumes.

    One row per object with a chunk on the volume, showing its state after the
    rebuild. Exit code: 0 every object back to full redundancy, 7 some still
    degraded, 6 some lost (past the policy's tolerance).
    """

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("volume", metavar="<volume>", help="Volume name (vol-N) or path")
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> tuple[Any, Any]:
        rows = self.api.volume_rebuild(parsed_args.volume)
        self.exit_status = state_exit_code(rows)
        self.summary = state_summary(rows)
        columns = ("Account", "Container") + OBJECT_COLUMNS
        return columns, [object_row(row, with_container=True) for row in rows]


NAMESPACE_COLUMNS = ("Scope", "Check", "State", "Expected", "Found")


class CheckNamespace(_Check):
    """Check the namespace: statistics (accounts vs containers, containers vs objects),
    leftover databases, and the redundancy of every object of every container.

    One row per check; the redundancy rows roll up each container's objects.
    Exit code: 6 something lost, 7 something degraded or at-risk, 1 statistics
    or leftovers wrong (and not repaired), else 0.
    """

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument(
            "--repair",
            action="store_true",
            help=(
                "Recompute wrong statistics, rebuild a damaged namespace.db from the "
                "container databases, register the databases it lacks, remove leftover "
                "ones, and rebuild missing or corrupt chunks"
            ),
        )
        parser.add_argument(
            "--metadata-only",
            action="store_true",
            help="Skip reading the chunks: check statistics and databases only (fast)",
        )
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> tuple[Any, Any]:
        rows = self.api.namespace_check(repair=parsed_args.repair)
        object_rows: list[dict[str, Any]] = []
        # A namespace.db that cannot be read lists no container to check further.
        unreadable = any(r["check"] == "namespace database" and r["state"] == "lost" for r in rows)
        if not parsed_args.metadata_only and not unreadable:
            rows += self._redundancy(parsed_args.repair, object_rows)
        states = Counter(row["state"] for row in rows)
        if states["lost"]:
            self.exit_status = exc.EXIT_CORRUPT
        elif states["degraded"] or states["at-risk"]:
            self.exit_status = exc.EXIT_DEGRADED
        elif states["wrong"]:
            self.exit_status = exc.EXIT_ERROR
        meta_rows = [r for r in rows if r["check"] != "redundancy"]
        meta_counts = Counter(r["state"] for r in meta_rows)
        self.summary = f"{len(meta_rows)} checks: " + (
            ", ".join(f"{n} {s}" for s, n in sorted(meta_counts.items())) or "none"
        )
        if not parsed_args.metadata_only:
            self.summary += "; " + state_summary(object_rows)
        return NAMESPACE_COLUMNS, [
            (r["scope"], r["check"], r["state"], r["expected"], r["found"]) for r in rows
        ]

    def _redundancy(self, repair: bool, object_rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """One row per container: the worst state of its objects."""
        rows = []
        for account, container in self._containers():
            try:
                checked = self.api.container_check(account, container, repair=repair)
            except exc.OioException as error:
                rows.append(
                    {
                        "scope": f"{account}/{container}",
                        "check": "redundancy",
                        "state": "lost",
                        "expected": "readable",
                        "found": str(error),
                    }
                )
                continue
            object_rows.extend(checked)
            worst = max((r["state"] for r in checked), key=_state_rank, default="ok")
            rows.append(
                {
                    "scope": f"{account}/{container}",
                    "check": "redundancy",
                    "state": worst,
                    "expected": f"{len(checked)} ok",
                    "found": state_summary(checked),
                }
            )
        return rows

    def _containers(self) -> Iterable[tuple[str, str]]:
        for account in self.api.account_list():
            marker = None
            while True:
                page = self.api.container_list(account, limit=1000, marker=marker)
                for entry in page:
                    if not entry[3]:  # not a prefix
                        yield account, entry[0]
                if len(page) < 1000:
                    break
                marker = page[-1][0]


def _state_rank(state: str) -> int:
    return STATES.index(state) if state in STATES else len(STATES)
