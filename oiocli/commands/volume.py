"""`oio volume add` and `oio volume drain`: the volumes of the embedded namespace."""

from __future__ import annotations

import argparse
from typing import Any

from oiocli.commands.base import ShowOne, size_cell
from oiocli.core import exceptions as exc


class AddVolume(ShowOne):
    """Add a volume (a new disk) to the embedded namespace. Not an OpenIO command.

    PATH must be a new or empty directory, not inside (nor holding) another
    volume or the namespace's own files, and not another namespace's volume.
    It is recorded in namespace.json at once; new chunks may go there from the
    next command on (a running `namespace serve` uses it once restarted).
    """

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("path", metavar="<path>", help="Directory of the new volume")
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> tuple[Any, Any]:
        row = self.api.volume_add(parsed_args.path)
        human = self.humanize(parsed_args)
        return self.dict_rows(
            {
                "volume": row["volume"],
                "path": row["path"],
                "free": size_cell(row["free"], human),
                "state": row["state"],
            }
        )


class DrainVolume(ShowOne):
    """Move every chunk of a volume to the others, so that it can be removed.
    Not an OpenIO command.

    The volume is marked first: no new chunk goes there, whatever else runs.
    Each chunk moves to a volume its metachunk does not use yet (the policy's
    placement), an object at a time, atomically: an object changed meanwhile is
    taken as it is then; a chunk that cannot be read is rebuilt from the
    others. It can be interrupted and run again. Exit code: 0 the volume holds
    no chunk file (with --remove: it is no longer in namespace.json), 7 some
    chunks could not be moved (`failed`, one stderr line each), 1 orphans are
    left (--delete-orphans removes those older than --min-age), 5 chunk files of
    uploads in progress are left: run it again later.
    """

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        from oiocli.commands.check import non_negative_float

        parser = super().get_parser(prog_name)
        parser.add_argument("volume", metavar="<volume>", help="Volume name (vol-N) or path")
        parser.add_argument(
            "--remove",
            action="store_true",
            help="Once it holds no chunk file, remove it from namespace.json",
        )
        parser.add_argument(
            "--delete-orphans",
            action="store_true",
            help="Also delete the orphan chunks left on it (as `volume check --delete-orphans`)",
        )
        parser.add_argument(
            "--min-age",
            metavar="<seconds>",
            type=non_negative_float,
            help="Only orphans older than this (default 3600: spare uploads in progress)",
        )
        parser.add_argument(
            "--cancel",
            action="store_true",
            help="Put a draining volume back in service (new chunks may go there again)",
        )
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> tuple[Any, Any]:
        from oiocli.commands.base import UsageError

        if parsed_args.cancel and (parsed_args.remove or parsed_args.delete_orphans):
            raise UsageError("--cancel goes alone (not with --remove or --delete-orphans)")
        row = self.api.volume_drain(
            parsed_args.volume,
            cancel=parsed_args.cancel,
            remove=parsed_args.remove,
            delete_orphans=parsed_args.delete_orphans,
            min_age=parsed_args.min_age,
        )
        if row["state"] == "draining":
            if row["records_left"] or row["failed"]:
                self.exit_status = exc.EXIT_DEGRADED
            elif row["orphans_left"]:
                self.exit_status = exc.EXIT_ERROR
            else:
                self.exit_status = exc.EXIT_RETRY
        if self.app.options.verbose_level > 0:
            self.warn(_summary(row))
        return self.dict_rows(row)


def _summary(row: dict[str, Any]) -> str:
    name = row["volume"]
    if row["state"] == "in service":
        return f"{name}: back in service"
    done = f"{name}: {_count(row['copied'], 'chunk')} copied, {row['linked']} linked"
    if row["rebuilt"]:
        done += f", {_count(row['rebuilt'], 'object')} rebuilt"
    if row["orphans_deleted"]:
        done += f", {_count(row['orphans_deleted'], 'orphan')} deleted"
    if row["state"] == "drained":
        tail = (
            "removed from the namespace"
            if row["removed"]
            else "it holds no chunk: it can be removed (--remove)"
        )
        return f"{done}; {tail}"
    if row["records_left"] or row["failed"]:
        return f"{done}; {_count(row['records_left'], 'chunk')} could not be moved (see above)"
    if row["orphans_left"]:
        return f"{done}; {row['orphans_left']} orphan chunks left: --delete-orphans removes them"
    return (
        f"{done}; {_count(row['files_left'], 'chunk file')} of uploads in progress left: "
        "run it again later"
    )


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
