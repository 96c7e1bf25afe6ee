"""Bulk transfers: `oio container sync`, and the options and helpers shared by the
tree forms of `object create --recursive`, `object fetch --prefix/-D` and
`container save`. The work is done by `oiocli.transfer`; commands stay thin.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from typing import Any

from oiocli.commands.base import (
    Lister,
    UsageError,
    non_negative_int,
    positive_int,
    size_cell,
)

DEFAULT_CONCURRENCY = 8  # oiocli.transfer.DEFAULT_CONCURRENCY, without importing it for --help
MEMORY_HELP = (
    "memory: uploads share one pool of 64 x 1 MiB buffers per process whatever "
    "--concurrency and --chunk-concurrency; a download holds about 1 MiB (k MiB for "
    "erasure coding) per transfer in flight; listings and trees are streamed, so memory "
    "does not grow with the number of files."
)
SUMMARY_HELP = (
    "output: one summary row: Files (transferred), Bytes (sent or received), Skipped, "
    "Failed, Deleted, Resumed (bytes of interrupted transfers not sent again), "
    "Elapsed (s), Rate (bytes/s). Failed files get one stderr line each; the exit code is "
    "8 when some failed."
)


def epilog(*paragraphs: str) -> str:
    """Help paragraphs wrapped for the raw description formatter."""
    import textwrap

    return "\n\n".join(textwrap.fill(p, 79, subsequent_indent="  ") for p in paragraphs)


def add_transfer_options(
    parser: argparse.ArgumentParser,
    upload: bool = True,
    download: bool = True,
    overwrite: bool = True,
) -> None:
    """Options of every bulk transfer."""
    group = parser.add_argument_group("transfer options")
    group.add_argument(
        "--concurrency",
        metavar="<n>",
        type=positive_int,
        default=DEFAULT_CONCURRENCY,
        help=f"Files transferred in parallel (default {DEFAULT_CONCURRENCY})",
    )
    if upload:
        group.add_argument(
            "--chunk-concurrency",
            metavar="<n>",
            type=positive_int,
            help="Metachunks of one object written in parallel (default 3)",
        )
    group.add_argument(
        "--resume",
        action="store_true",
        help=(
            "Continue interrupted transfers: an upload from its last durable metachunk "
            "(a journal under <data dir>/uploads; a changed source restarts), a download "
            "from the size of its partial file (then checked against the object's MD5)"
        ),
    )
    if overwrite:
        group.add_argument(
            "--overwrite",
            action="store_true",
            help=(
                "Replace existing local files (default: skip them)"
                if download
                else "Upload every file, even those whose object already has the same "
                "size and MD5 (default: skip them)"
            ),
        )
    group.add_argument(
        "--progress",
        choices=("auto", "bar", "log", "json", "none"),
        default="auto",
        help=(
            "auto/bar: one aggregate bar on a terminal only (never with --no-progress or "
            "-q); log: a line every --progress-interval seconds (for cron and CI); "
            "json: JSON-lines events (start, file, progress, warning, summary); "
            "none. Written on stderr (default: auto)"
        ),
    )
    group.add_argument(
        "--progress-interval",
        metavar="<seconds>",
        type=float,
        help="Seconds between progress lines (default 10 for log, 1 for json)",
    )


class _RuleAction(argparse.Action):
    """--include / --exclude append to one ordered list of (include?, pattern)."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[object] | None,
        option_string: str | None = None,
    ) -> None:
        from oiocli import filters

        pattern = str(values)
        try:
            regex = filters.glob_regex(pattern)
        except ValueError as exc:  # re.error is a ValueError
            parser.error(f"{option_string} {pattern!r}: {exc}")
        rules = list(getattr(namespace, "filter_rules", None) or [])
        rules.append((self.const, pattern, regex))
        namespace.filter_rules = rules


def _size_type(text: str) -> int:
    from oiocli import filters

    try:
        return filters.parse_size(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid size {text!r}: expected a number of bytes, or with k, M, G, T (1024s)"
        ) from None


def _age_type(text: str) -> float:
    from oiocli import filters

    try:
        return filters.parse_age(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid age {text!r}: expected 30s, 10m, 2h, 1d, 1w, 1M, 1y or an ISO date"
        ) from None


FILTER_HELP = (
    "filters: --include/--exclude are tried in order and the first matching pattern "
    "decides; with any --include, a name no pattern matches is left out. '*' stops at "
    "'/', '**' does not, a leading '/' anchors at the root, a trailing '/' takes a whole "
    "directory. Sizes take k, M, G (1024s); ages take s, m, h, d, w, M, y or a date."
)


def add_filter_options(parser: argparse.ArgumentParser, what: str = "files") -> None:
    group = parser.add_argument_group("filters")
    group.add_argument(
        "--include",
        action=_RuleAction,
        const=True,
        metavar="<pattern>",
        help=f"Take {what} matching this glob (repeatable; see 'filters' below)",
    )
    group.add_argument(
        "--exclude",
        action=_RuleAction,
        const=False,
        metavar="<pattern>",
        help=f"Leave out {what} matching this glob (repeatable)",
    )
    group.add_argument(
        "--min-size", metavar="<size>", type=_size_type, help=f"Only {what} of at least this size"
    )
    group.add_argument(
        "--max-size", metavar="<size>", type=_size_type, help=f"Only {what} of at most this size"
    )
    group.add_argument(
        "--min-age",
        metavar="<age>",
        type=_age_type,
        help=f"Only {what} last modified at least this long ago (e.g. 1d)",
    )
    group.add_argument(
        "--max-age",
        metavar="<age>",
        type=_age_type,
        help=f"Only {what} last modified at most this long ago (e.g. 2h)",
    )
    parser.set_defaults(filter_rules=[])


def filter_of(parsed_args: argparse.Namespace) -> Any:
    """The `oiocli.filters.Filter` of a command's filter options."""
    from oiocli import filters

    return filters.Filter(
        rules=list(getattr(parsed_args, "filter_rules", None) or []),
        min_size=getattr(parsed_args, "min_size", None),
        max_size=getattr(parsed_args, "max_size", None),
        min_age=getattr(parsed_args, "min_age", None),
        max_age=getattr(parsed_args, "max_age", None),
    )


def progress_mode(app: Any, parsed_args: argparse.Namespace) -> str | None:
    mode = getattr(parsed_args, "progress", "auto")
    if mode in ("log", "json"):
        return mode
    if mode == "none":
        return None
    return "bar" if app.show_progress else None  # never on a non-terminal stderr


def notice(cmd: Any, parsed_args: argparse.Namespace, text: str) -> None:
    """A message on stderr: a JSON `message` event with --progress json, else a line."""
    if progress_mode(cmd.app, parsed_args) == "json":
        import json
        import time

        record = {"event": "message", "time": round(time.time(), 3), "message": text}
        cmd.app.stderr.write(json.dumps(record) + "\n")
    else:
        cmd.app.stderr.write(text + "\n")


def renderer(cmd: Any, parsed_args: argparse.Namespace, stats: Any) -> Any:
    """The renderer of the command's --progress options, reading `stats`."""
    from oiocli.commands._progress import renderer as make_renderer

    interval = getattr(parsed_args, "progress_interval", None)
    if interval is not None and interval <= 0:
        raise UsageError("--progress-interval must be > 0")
    return make_renderer(cmd.app.stderr, progress_mode(cmd.app, parsed_args), stats, interval)


def engine(cmd: Any, parsed_args: argparse.Namespace, account: str, container: str) -> Any:
    """A `Transfer` on the command's API, configured from the shared options, its
    events rendered on stderr."""
    from oiocli.transfer import Transfer
    from oiocli.transfer_events import Stats

    properties = dict(getattr(parsed_args, "properties", None) or []) or None
    stats = Stats()
    return Transfer(
        cmd.api,
        account,
        container,
        renderer(cmd, parsed_args, stats),
        stats=stats,
        concurrency=parsed_args.concurrency,
        chunk_concurrency=getattr(parsed_args, "chunk_concurrency", None),
        resume=parsed_args.resume,
        overwrite=getattr(parsed_args, "overwrite", False),
        policy=getattr(parsed_args, "policy", None),
        mime_type=getattr(parsed_args, "mime_type", None),
        properties=properties,
        autocreate=getattr(parsed_args, "autocreate", True),
        md5_cache=not getattr(parsed_args, "no_md5_cache", False),
        page_size=getattr(parsed_args, "page_size", None),
        filter=filter_of(parsed_args),
    )


def summary(cmd: Any, parsed_args: argparse.Namespace, stats: Any) -> tuple[Any, Any]:
    """The summary row set; sets the command's exit status (8 when some files failed).

    Sizes and rates read with units in a table; json, csv and value keep numbers.
    """
    from oiocli.commands._progress import SUMMARY_COLUMNS
    from oiocli.commands._progress import summary as summary_of
    from oiocli.commands.base import RateColumn, SizeColumn

    data = summary_of(stats)
    for key in ("Bytes", "Resumed"):
        data[key] = SizeColumn(data[key])
    data["Rate"] = RateColumn(data["Rate"])
    cmd.exit_status = stats.exit_code()
    return SUMMARY_COLUMNS, [tuple(data[c] for c in SUMMARY_COLUMNS)]


def run(job: Any, engine_obj: Any, cmd: Any = None, resumable: str = "") -> Any:
    """Run `job()`; on Ctrl-C of a `resumable` transfer, say how far it got and which
    command resumes it (`resumable` says what a resume does)."""
    try:
        return job()
    except KeyboardInterrupt:
        if cmd is None or not resumable:
            raise
        stats = engine_obj.stats
        interrupted(
            cmd,
            f"{stats.files} of {stats.planned_files}{'+' if stats.planning else ''} files "
            f"done; {resumable}",
        )


def upload_tree(
    cmd: Any,
    parsed_args: argparse.Namespace,
    account: str,
    container: str,
    paths: list[str],
    names: list[str] | None,
) -> tuple[Any, Any]:
    """`object create --recursive`: every file and tree of `paths`, in parallel."""
    transfer = engine(cmd, parsed_args, account, container)
    stats = run(
        lambda: transfer.upload_paths(paths, names),
        transfer,
        cmd,
        "a resume skips the files already uploaded and continues the interrupted ones "
        "from their last stored metachunk",
    )
    return summary(cmd, parsed_args, stats)


def download_tree(
    cmd: Any,
    parsed_args: argparse.Namespace,
    account: str,
    container: str,
    directory: str,
    prefix: str | None,
) -> tuple[Any, Any]:
    """`container save` / `object fetch --prefix -D`: objects to files under `directory`."""
    transfer = engine(cmd, parsed_args, account, container)
    stats = run(
        lambda: transfer.download(directory, prefix),
        transfer,
        cmd,
        "a resume skips the files already downloaded and continues the partial ones",
    )
    return summary(cmd, parsed_args, stats)


class SyncContainer(Lister):
    """Make a container like a local directory, or a directory like a container.

    `oio container sync DIR CONTAINER` uploads, `oio container sync CONTAINER DIR`
    downloads: the direction comes from which argument is an existing directory,
    or from --upload / --download. A file is transferred when it is missing on the
    other side or differs in size or MD5 (the object's recorded hash against the
    local file's MD5, cached by path, size and mtime in <data dir>/cache/md5.sqlite);
    modification times alone never decide. With --delete, what the
    source lacks is deleted from the destination at the end (not at all if some
    transfer failed or if there are more than --max-delete). --dry-run prints the
    plan (Action, Name, Size, Reason) and changes nothing.

    Both sides are streamed in name order (the walk sorted directory by directory,
    the listing page by page), so memory does not grow with the number of files.
    Local names are paths relative to DIR with '/'; symbolic links and special files
    are skipped with a warning; objects whose names cannot be a path under DIR
    ('..', absolute, empty components) are refused.
    """

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.epilog = epilog(
            SUMMARY_HELP,
            f"{FILTER_HELP} Patterns match the names relative to the directory (the "
            "object names); a name left out on either side is neither transferred nor "
            "deleted.",
            MEMORY_HELP,
        )
        parser.add_argument("source", metavar="<source>", help="Directory or container")
        parser.add_argument("destination", metavar="<destination>", help="Container or directory")
        direction = parser.add_mutually_exclusive_group()
        direction.add_argument(
            "--upload",
            action="store_true",
            help="<source> is a directory, <destination> a container (created if needed)",
        )
        direction.add_argument(
            "--download",
            action="store_true",
            help="<source> is a container, <destination> a directory (created if needed)",
        )
        parser.add_argument(
            "--delete",
            action="store_true",
            help="Delete from the destination what the source does not have",
        )
        parser.add_argument(
            "--max-delete",
            metavar="<n>",
            type=non_negative_int,
            help="With --delete: delete nothing if more than <n> deletions are needed",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Print the plan (Action, Name, Size, Reason), change nothing",
        )
        parser.add_argument(
            "--policy", metavar="<policy>", help="Storage policy of uploaded objects"
        )
        parser.add_argument(
            "--no-md5-cache",
            dest="no_md5_cache",
            action="store_true",
            help="Compute the MD5 of every local file compared, ignoring the cache",
        )
        add_transfer_options(parser, overwrite=False)
        add_filter_options(parser, "files and objects")
        return parser

    def _direction(self, parsed_args: argparse.Namespace) -> tuple[bool, str, str]:
        """(upload?, directory, container)."""
        source, destination = parsed_args.source, parsed_args.destination
        if parsed_args.upload:
            upload = True
        elif parsed_args.download:
            upload = False
        elif os.path.isdir(source) and os.path.isdir(destination):
            raise UsageError(
                f"Both {source!r} and {destination!r} are directories: give --upload or --download"
            )
        elif os.path.isdir(source):
            upload = True
        elif os.path.isdir(destination):
            upload = False
        else:
            raise UsageError(
                f"Neither {source!r} nor {destination!r} is an existing directory: "
                "give --upload or --download"
            )
        if upload:
            if not os.path.isdir(source):
                raise UsageError(f"{source!r} is not a directory")
            return True, source, destination
        if os.path.exists(destination) and not os.path.isdir(destination):
            raise UsageError(f"{destination!r} is not a directory")
        return False, destination, source

    def take_action(self, parsed_args: argparse.Namespace) -> tuple[Any, Any]:
        upload, directory, container = self._direction(parsed_args)
        if parsed_args.max_delete is not None and not parsed_args.delete:
            raise UsageError("--max-delete needs --delete")
        transfer = engine(self, parsed_args, self.account, container)
        if parsed_args.dry_run:
            return ("Action", "Name", "Size", "Reason"), self._plan(
                transfer, parsed_args, directory, upload
            )
        stats = run(
            lambda: transfer.sync(
                directory, upload, delete=parsed_args.delete, max_delete=parsed_args.max_delete
            ),
            transfer,
            self,
            "a resume compares again and continues the interrupted transfers",
        )
        return summary(self, parsed_args, stats)

    def _plan(
        self, transfer: Any, parsed_args: argparse.Namespace, directory: str, upload: bool
    ) -> Any:
        human = self.humanize(parsed_args)
        for row in transfer.plan(
            directory, upload, delete=parsed_args.delete, max_delete=parsed_args.max_delete
        ):
            yield row.action, row.name, size_cell(row.size, human), row.reason
        # read by _Display.run once the rows are printed
        self.exit_status = transfer.stats.exit_code()


class FileProgress:
    """Progress of one file of `object create` / `object fetch` (not a tree).

    auto/bar: a bar for this file; log/json: the transfer renderer, fed the events
    of this one file. A resumed transfer reports its resumed offset through
    `resumed()` before its first new byte: the bar starts there, and the ETA counts
    only what is left.
    """

    def __init__(
        self, cmd: Any, parsed_args: argparse.Namespace, total: int | None, name: str, action: str
    ) -> None:
        self.cmd = cmd
        self.parsed_args = parsed_args
        self.total = total
        self.name = name
        self.action = action
        self.renderer: Any = None
        self.stats: Any = None
        self.mode: str | None = None
        self._kept: Any = None  # a ResumeTeller, with a renderer
        self._bar: Any = None
        self._bar_cm: Any = None

    def _emit(self, event: Any) -> None:
        self.stats.apply(event)
        self.renderer(event)

    def __enter__(self) -> Any:
        self.mode = mode = progress_mode(self.cmd.app, self.parsed_args)
        if mode in ("log", "json"):
            from oiocli import transfer_events as t

            self.stats = t.Stats()
            self.renderer = renderer(self.cmd, self.parsed_args, self.stats)
            self._kept = t.ResumeTeller(self.name, self._emit)
            self._emit(t.Started(self.action, {"name": self.name}))
            self._emit(t.Planned(self.name, self.total or 0))
            self._emit(t.PlanningDone())  # one file: its size is all there is to plan
            return lambda n: self._emit(t.Progress(n))
        if mode != "bar":
            return None
        return self._advance

    def _open_bar(self, initial: int) -> Any:
        """The bar, drawn first when the transfer starts: at its resumed offset, if any."""
        if self._bar is None:
            from oiocli.commands.base import progress_bar

            self._bar_cm = progress_bar(self.cmd.app, self.total, self.name, initial)
            update = self._bar_cm.__enter__()
            self._bar = getattr(update, "__self__", None)
        return self._bar

    def _advance(self, n: int) -> None:
        bar = self._bar or self._open_bar(0)
        if bar is not None:
            bar.update(n)

    def resumed(self, offset: int) -> None:
        """An interrupted transfer continues at `offset`: start the progress there."""
        if self._kept is not None:
            self._kept.announce(offset)
        elif self.mode != "bar":
            return
        elif self._bar is None:
            self._open_bar(offset)
        else:
            self._bar.initial = offset  # the rate and ETA count new bytes only
            self._bar.n = self._bar.last_print_n = offset
            self._bar.refresh()

    def done(self, size: int, moved: int, resumed: int = 0) -> None:
        if self._kept is not None:
            from oiocli.transfer_events import FileDone

            self._kept.settle(resumed)
            self._emit(FileDone(self.action, self.name, size, moved, resumed))

    def __exit__(self, *exc_info: Any) -> None:
        if self.renderer is not None:
            from oiocli.transfer_events import FileFailed, Finished, PlanningDone

            if isinstance(exc_info[1], Exception):
                self._emit(FileFailed(self.action, self.name, exc_info[1], quiet=True))
            self._emit(PlanningDone())
            self._emit(Finished(interrupted=isinstance(exc_info[1], KeyboardInterrupt)))
        if self._bar_cm is not None:
            self._bar_cm.__exit__(*exc_info)
            self._bar_cm = self._bar = None


def resume_command(app: Any) -> str:
    """The command line that was run, with --resume: what continues it."""
    import shlex
    import sys

    words = [app.NAME, *(getattr(app, "command_line", None) or sys.argv[1:])]
    if "--resume" not in words:
        words.append("--resume")
    return shlex.join(words)


def interrupted(cmd: Any, what: str) -> None:
    """Raise the Ctrl-C of a resumable transfer: what was kept and the command that resumes."""
    from oiocli.commands.base import Interrupted

    raise Interrupted(f"Interrupted: {what}. To resume, run:\n  {resume_command(cmd.app)}")
