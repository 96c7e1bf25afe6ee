"""`oio object ...`: objects of a container of the account given by -a/--account."""

from __future__ import annotations

import argparse
import errno
import os
from collections.abc import Iterable, Iterator
from typing import Any

from oiocli.commands.base import (
    Command,
    CommandError,
    DictColumn,
    Lister,
    MarkerSize,
    MultiName,
    ShowOne,
    UsageError,
    add_container_arg,
    add_key_option,
    add_page_size_option,
    add_property_option,
    integer,
    iter_object_pages,
    max_versions,
    md5_hex,
    non_negative_int,
    positive_int,
    progress_bar,
    resolve_container,
    safe_join,
    size_cell,
    time_cell,
    write_stream,
)


def _add_object_args(parser: argparse.ArgumentParser, many: bool = False) -> None:
    add_container_arg(parser)
    if many:
        parser.add_argument("objects", metavar="<object>", nargs="+", help="Object name")
    else:
        parser.add_argument("object", metavar="<object>", help="Object name")


def _add_version_option(parser: argparse.ArgumentParser, many: bool = False) -> None:
    parser.add_argument(
        "--object-version",
        dest="version",
        metavar="<version>",
        type=integer,
        help="Version of the object (default: the latest)" + (" (one object only)" if many else ""),
    )


def _check_single_version(parsed_args: argparse.Namespace) -> None:
    if parsed_args.version is not None and len(parsed_args.objects) > 1:
        raise UsageError("--object-version applies to one object only")


# -- create --------------------------------------------------------------------


class CreateObject(MultiName):
    """Upload files (or stdin, '-') as objects; one row per object.

    With --recursive, directories are uploaded whole, --concurrency files at a
    time, and the output is one summary row (see below). --resume continues an
    interrupted upload from its last durable metachunk.
    Exits 8 when some files failed, the failure's exit code when all did.
    """

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        add_container_arg(parser)
        parser.add_argument(
            "files",
            metavar="<file>",
            nargs="+",
            help="File to upload ('-' reads stdin and needs --name)",
        )
        parser.add_argument(
            "--name",
            dest="names",
            metavar="<name>",
            action="append",
            default=[],
            help="Object name (repeatable: one per file; default: the file's base name)",
        )
        parser.add_argument(
            "--policy", metavar="<policy>", help="Storage policy (default: the container's)"
        )
        parser.add_argument(
            "--mime-type",
            metavar="<type>",
            help="Content type (default: guessed from the object name)",
        )
        add_property_option(parser, "User property of the object")
        parser.add_argument(
            "--etag",
            metavar="<md5>",
            type=md5_hex,
            help="Expected MD5 of the data: the upload fails if it differs (one file only)",
        )
        parser.add_argument(
            "--append", action="store_true", help="Append the data to an existing object"
        )
        parser.add_argument(
            "--recursive",
            action="store_true",
            help=(
                "Upload directories: every file below becomes an object named after its "
                "path relative to the directory (prefixed with --name, if given)"
            ),
        )
        parser.add_argument(
            "--no-autocreate",
            dest="autocreate",
            action="store_false",
            help="Fail if the container does not exist (default: create it)",
        )
        from oiocli.commands.transfer import (
            FILTER_HELP,
            MEMORY_HELP,
            SUMMARY_HELP,
            add_filter_options,
            add_transfer_options,
            epilog,
        )

        add_transfer_options(parser, download=False)
        add_filter_options(parser, "files (with --recursive)")
        parser.epilog = epilog(
            f"with --recursive, {SUMMARY_HELP} A file whose object already has the same "
            "size and MD5 is skipped (--overwrite sends it anyway), so a repeated or "
            "resumed upload does not send again what it finished.",
            f"{FILTER_HELP} Patterns match the path below each directory given.",
            "resume: every upload of a file bigger than one metachunk keeps a journal of "
            "its stored metachunks (in the embedded namespace's data directory), so an "
            "interrupted upload continues with --resume, started with it or not.",
            MEMORY_HELP,
        )
        return parser

    def _jobs(self, parsed_args: argparse.Namespace) -> list[tuple[str, str]]:
        files = parsed_args.files
        names = parsed_args.names
        if names and len(names) != len(files):
            raise UsageError(
                f"{len(names)} --name for {len(files)} files: give one --name per file"
            )
        if files.count("-") > 1:
            raise UsageError("stdin ('-') can be read only once")
        if "-" in files and not names:
            raise UsageError("Reading stdin ('-') needs --name")
        if parsed_args.etag and len(files) > 1:
            raise UsageError("--etag applies to one file only")
        jobs: list[tuple[str, str]] = []
        for index, path in enumerate(files):
            name = names[index] if names else None
            default = os.path.basename(path.rstrip("/")) or path
            jobs.append((path, default if name is None else name))
        return jobs

    def take_action(self, parsed_args: argparse.Namespace) -> tuple[Any, Any]:
        from oiocli.commands.transfer import notice

        if parsed_args.recursive:
            return self._tree(parsed_args)
        from oiocli.commands.transfer import filter_of

        if parsed_args.overwrite or filter_of(parsed_args).active:
            raise UsageError("--overwrite and the filters apply to --recursive uploads")
        jobs = self._jobs(parsed_args)
        account, container = resolve_container(self, parsed_args, parsed_args.container)
        properties = dict(parsed_args.properties) or None
        extra: dict[str, Any] = {}
        if not parsed_args.autocreate:
            extra["autocreate"] = False
        if parsed_args.chunk_concurrency:
            extra["chunk_concurrency"] = parsed_args.chunk_concurrency
        resumed = 0
        warned: list[bool] = []
        journals = self.api.resumable_uploads  # none over a proxy

        def resumable() -> bool:
            if journals:
                return True
            if not warned:
                from oiocli.transfer import RESUME_NEEDS_DATA_DIR

                warned.append(True)
                notice(self, parsed_args, RESUME_NEEDS_DATA_DIR)
            return False

        def upload(job: tuple[str, str]) -> tuple[str, int, str, str]:
            nonlocal resumed
            from oiocli.commands.transfer import FileProgress
            from oiocli.core.fsutil import guess_type

            path, name = job  # two files may share a base name: keep each its own path
            mime_type = parsed_args.mime_type or guess_type(name)
            resume = parsed_args.resume and path != "-" and resumable()
            # A journal is keyed by the path: every upload of a big enough file keeps
            # one, so that an interrupted upload can be resumed even without --resume.
            by_path = path != "-" and journals and not parsed_args.append
            with _open_source(self.app, path) as (source, total):
                shown = FileProgress(self, parsed_args, total, name, "upload")
                try:
                    with shown as progress:
                        _chunks, size, md5, meta = self.api.object_create_ext(
                            account,
                            container,
                            file_or_path=path if by_path or resume else source,
                            obj_name=name,
                            mime_type=mime_type,
                            policy=parsed_args.policy,
                            properties=properties,
                            etag=parsed_args.etag,
                            append=parsed_args.append,
                            progress=progress,
                            resume=resume,
                            keep_journal=by_path,
                            on_resume=shown.resumed,
                            **extra,
                        )
                        kept = int(meta.get("resumed_bytes") or 0)
                        shown.done(size, size - kept, kept)
                except KeyboardInterrupt:
                    self._interrupted(account, container, name, path, total)
                    raise
            resumed += kept
            note = meta.get("resume")
            if note and note != "resumed":
                notice(self, parsed_args, f"{name}: {note}")
            hashed = md5.upper() if isinstance(md5, str) else md5
            return name, size_cell(size, self.humanize(parsed_args)), hashed, "Ok"

        rows = self.for_each(jobs, upload, lambda job: (job[1], None, None, "Failed"))
        if resumed:
            from oiocli.core.fsutil import size_words

            notice(self, parsed_args, f"resumed: {size_words(resumed)} not sent again")
        return ("Name", "Size", "Hash", "Status"), rows

    def _interrupted(
        self, account: str, container: str, name: str, path: str, total: int | None
    ) -> None:
        """Ctrl-C during an upload: say what is stored and how to resume, if anything is."""
        from oiocli.commands.transfer import interrupted
        from oiocli.core.fsutil import human_size

        if path == "-":
            return
        kept = self.api.upload_kept_bytes(account, container, name, path)
        if kept:
            of = f" of {human_size(total)}" if total is not None else ""
            interrupted(self, f"{human_size(kept)}{of} of {name!r} stored")

    def _tree(self, parsed_args: argparse.Namespace) -> tuple[Any, Any]:
        from oiocli.commands.transfer import upload_tree

        files, names = parsed_args.files, parsed_args.names
        if "-" in files:
            raise UsageError("stdin ('-') cannot be uploaded with --recursive")
        if parsed_args.etag or parsed_args.append:
            raise UsageError("--etag and --append apply to single files, not --recursive")
        if names and len(names) != len(files):
            raise UsageError(
                f"{len(names)} --name for {len(files)} files: give one --name per file"
            )
        account, container = resolve_container(self, parsed_args, parsed_args.container)
        return upload_tree(self, parsed_args, account, container, files, names or None)


class _open_source:
    """Context manager: (binary file, size or None) for a path or '-' (stdin)."""

    def __init__(self, app: Any, path: str) -> None:
        self.app = app
        self.path = path
        self.file: Any = None

    def __enter__(self) -> tuple[Any, int | None]:
        if self.path == "-":
            if getattr(self.app, "batch_mode", False):
                raise UsageError("Standard input holds the commands: '-' cannot be read here")
            stdin = self.app.stdin
            return getattr(stdin, "buffer", stdin), None
        if os.path.isdir(self.path):
            raise CommandError(f"{self.path!r} is a directory (use --recursive)")
        self.file = open(self.path, "rb")  # noqa: SIM115
        try:
            size: int | None = os.fstat(self.file.fileno()).st_size
        except OSError:
            size = None
        return self.file, size

    def __exit__(self, *exc_info: Any) -> None:
        if self.file is not None:
            self.file.close()


# -- read ----------------------------------------------------------------------


def _offset(text: str) -> int | None:
    if not text:
        return None
    if not text.isascii() or not text.isdigit():  # int() takes '１２', ' 1', '1_0', '-5'
        raise ValueError(text)
    return int(text)


def parse_range(text: str) -> list[tuple[int | None, int | None]]:
    """argparse type for --range: `a-b`, `a-` or `-n` (last n bytes), comma-separated.

    Anything that is not one of those shapes with ASCII digits, or whose end is
    before its start, or `-0`, is malformed: a usage error, like any other.
    """
    ranges: list[tuple[int | None, int | None]] = []
    for part in text.split(","):
        start, sep, end = part.strip().partition("-")
        try:
            if not sep or (not start and not end):
                raise ValueError(part)
            first, last = _offset(start), _offset(end)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"invalid range {part!r}: expected START-END, START- or -COUNT (decimal digits)"
            ) from None
        if first is not None and last is not None and last < first:
            raise argparse.ArgumentTypeError(f"invalid range {part!r}: the end is before the start")
        if first is None and last == 0:
            raise argparse.ArgumentTypeError(f"invalid range {part!r}: an empty suffix")
        ranges.append((first, last))
    return ranges


def _ranges(parsed_args: argparse.Namespace) -> list[tuple[int | None, int | None]] | None:
    ranges = [r for group in parsed_args.ranges for r in group]
    return ranges or None


class FetchObject(Lister):
    """Download an object to stdout (default) or to --file; --range reads parts.

    With --file, the data goes to a partial file beside it (mode 0600), renamed
    at the end: on error nothing is left behind (Ctrl-C keeps it, and prints the
    command that resumes), and with --resume an interrupted download continues
    from the partial file's size (the whole file is then checked against the
    object's MD5). Not an OpenIO command (OpenIO has it only in its API).

    With --prefix and/or -D/--directory (and no <object>), download every object
    under the prefix to files under the directory (default '.'), --concurrency at a
    time; existing files are skipped unless --overwrite; the output is one summary
    row (see below).
    """

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        from oiocli.commands.transfer import (
            FILTER_HELP,
            MEMORY_HELP,
            SUMMARY_HELP,
            add_filter_options,
            add_transfer_options,
            epilog,
        )

        parser = super().get_parser(prog_name)
        add_container_arg(parser)
        parser.add_argument(
            "object", metavar="<object>", nargs="?", help="Object name (not with --prefix/-D)"
        )
        parser.add_argument(
            "--file",
            metavar="<path>",
            help=(
                "Write to this file ('-' or no --file: standard output); an existing "
                "directory receives the object under its base name, as with cp"
            ),
        )
        parser.add_argument(
            "--range",
            dest="ranges",
            metavar="<range>",
            type=parse_range,
            action="append",
            default=[],
            help=(
                "Byte range, inclusive: START-END, START- (to the end) or -COUNT (the last "
                "COUNT bytes); repeatable or comma-separated, parts are written in order"
            ),
        )
        _add_version_option(parser)
        parser.add_argument(
            "--prefix", metavar="<prefix>", help="Download every object starting so (a tree)"
        )
        parser.add_argument(
            "-D",
            "--directory",
            metavar="<dir>",
            help="Directory the tree goes to (default: the current directory)",
        )
        add_transfer_options(parser, upload=False)
        add_filter_options(parser, "objects (with --prefix/-D)")
        parser.epilog = epilog(
            f"with --prefix or -D, {SUMMARY_HELP}",
            f"{FILTER_HELP} Patterns match object names.",
            "Ctrl-C of a --file download keeps its partial file (mode 0600) and prints "
            "the command that resumes it; any other failure removes it, unless --resume.",
            MEMORY_HELP,
        )
        return parser

    @staticmethod
    def _is_tree(parsed_args: argparse.Namespace) -> bool:
        return parsed_args.prefix is not None or parsed_args.directory is not None

    def run(self, parsed_args: argparse.Namespace) -> int:
        if self._is_tree(parsed_args):
            return super().run(parsed_args)  # the summary row
        self._fetch_one(parsed_args)  # data, no rows
        return 0

    def take_action(self, parsed_args: argparse.Namespace) -> tuple[Any, Any]:
        from oiocli.commands.transfer import download_tree

        if parsed_args.object is not None:
            raise UsageError("Give either an <object> or --prefix/-D, not both")
        if parsed_args.file or parsed_args.ranges or parsed_args.version is not None:
            raise UsageError("--file, --range and --object-version apply to one object")
        account, container = resolve_container(self, parsed_args, parsed_args.container)
        directory = parsed_args.directory or "."
        return download_tree(self, parsed_args, account, container, directory, parsed_args.prefix)

    def _fetch_one(self, parsed_args: argparse.Namespace) -> None:
        from oiocli.commands.transfer import FileProgress, filter_of

        if parsed_args.object is None:
            raise UsageError("Give an <object>, or --prefix/-D for a tree")
        if filter_of(parsed_args).active:
            raise UsageError("The filters apply to trees (--prefix/-D), not to one object")
        ranges = _ranges(parsed_args)
        target = None if parsed_args.file in (None, "-") else parsed_args.file
        if parsed_args.resume and (target is None or ranges):
            raise UsageError("--resume needs --file (and no --range)")
        account, container = resolve_container(self, parsed_args, parsed_args.container)
        if target is not None:
            target = file_target(target, parsed_args.object)
        if target is not None and ranges is None:
            self._fetch_to_file(parsed_args, account, container, target)
            return
        meta, stream = self.api.object_fetch(
            account, container, parsed_args.object, version=parsed_args.version, ranges=ranges
        )
        total = meta.get("size") if ranges is None else None
        with FileProgress(self, parsed_args, total, parsed_args.object, "download") as progress:
            if target is not None:
                write_stream(stream, target, progress)
            else:
                _write_stdout(self.app, stream, progress)

    def _fetch_to_file(
        self, parsed_args: argparse.Namespace, account: str, container: str, target: str
    ) -> None:
        from oiocli.commands.transfer import FileProgress, interrupted, notice
        from oiocli.core.fsutil import human_size, size_words
        from oiocli.transfer import fetch_to_file, partial_size

        name = parsed_args.object
        meta = self.api.object_get_properties(account, container, name, version=parsed_args.version)
        size = int(meta.get("size") or 0)
        shown = FileProgress(self, parsed_args, size, name, "download")
        try:
            with shown as progress:
                result = fetch_to_file(
                    self.api,
                    account,
                    container,
                    name,
                    target,
                    meta=meta,
                    resume=parsed_args.resume,
                    progress=progress,
                    on_resume=shown.resumed,
                )
                shown.done(result.size, result.sent, result.resumed)
        except KeyboardInterrupt:
            kept = partial_size(target, meta)
            if not kept:
                raise
            interrupted(
                self,
                f"{human_size(kept)} of {human_size(size)} of {name!r} kept in a partial "
                f"file beside {target!r}",
            )
        if result.note and result.note != "resumed":
            notice(self, parsed_args, f"{name}: {result.note}")
        if result.resumed:
            notice(self, parsed_args, f"resumed: {size_words(result.resumed)} not fetched again")


def file_target(path: str, name: str) -> str:
    """Where --file puts object `name`: the path, or into it when it is a directory.

    As with cp, an existing directory (or a path ending with '/') receives the
    object under its base name (the last component of its name).
    """
    if not (os.path.isdir(path) or path.endswith("/")):
        return path
    if not os.path.isdir(path):
        raise CommandError(f"No such directory: {path!r}")
    base = name.rpartition("/")[2]  # 'photos/' (a directory marker) has none
    if base in ("", ".", ".."):
        raise CommandError(
            f"Object {name!r} has no file name to save under directory {path!r}: give a file path"
        )
    target = os.path.join(path, base)
    if os.path.isdir(target):
        raise CommandError(f"{target!r} is a directory: give a file path")
    return target


def _write_stdout(app: Any, stream: Any, progress: Any) -> None:
    out = app.stdout
    out.flush()
    out = getattr(out, "buffer", out)
    written = 0
    try:
        for data in stream:
            out.write(data)
            written += len(data)
            if progress is not None:
                progress(len(data))
        out.flush()
    except OSError as error:
        if error.errno not in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
            raise
        raise CommandError(
            f"Standard output's file system is full ({error.strerror}): "
            f"{written} bytes were written, the rest was not"
        ) from None


class SaveObject(Command):
    """Download an object to a file named after it (or --file), creating directories.

    An object name that would escape the current directory is refused.
    """

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        _add_object_args(parser)
        parser.add_argument(
            "--file",
            metavar="<path>",
            help=(
                "Write to this file (default: ./<object name>); an existing directory "
                "receives the object under its base name"
            ),
        )
        _add_version_option(parser)
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> None:
        if parsed_args.file:
            path = file_target(parsed_args.file, parsed_args.object)
        else:
            path = safe_join(".", parsed_args.object)
        account, container = resolve_container(self, parsed_args, parsed_args.container)
        meta, stream = self.api.object_fetch(
            account, container, parsed_args.object, version=parsed_args.version
        )
        with progress_bar(self.app, meta.get("size"), parsed_args.object) as progress:
            write_stream(stream, path, progress)


def object_fields(
    account: str, container: str, meta: dict[str, Any], human: bool
) -> dict[str, Any]:
    deleted = bool(meta.get("deleted"))
    fields: dict[str, Any] = {
        "account": meta.get("account") or account,
        "container": meta.get("container") or container,
        "object": meta.get("name"),
        "id": meta.get("id") or meta.get("content"),
        "version": meta.get("version"),
        "mime-type": "application/x-deleted" if deleted else meta.get("mime_type"),
        "size": MarkerSize() if deleted else size_cell(meta.get("size"), human),
        "hash": meta.get("hash"),
        "ctime": time_cell(meta.get("ctime"), human),
        "mtime": time_cell(meta.get("mtime"), human),
        "policy": meta.get("policy"),
        "chunk_method": meta.get("chunk_method"),
        "deleted": deleted,
    }
    for key, value in (meta.get("properties") or {}).items():
        fields[f"meta.{key}"] = value
    return fields


class ShowObject(ShowOne):
    """Show an object's metadata and user properties (meta.*)."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        _add_object_args(parser)
        _add_version_option(parser)
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> tuple[Any, Any]:
        account, container = resolve_container(self, parsed_args, parsed_args.container)
        meta = self.api.object_get_properties(
            account, container, parsed_args.object, version=parsed_args.version
        )
        return self.dict_rows(object_fields(account, container, meta, self.humanize(parsed_args)))


LIST_COLUMNS = ("Name", "Size", "Hash", "Version")
LONG_COLUMNS = LIST_COLUMNS + (
    "Deleted",
    "Content-Type",
    "Last-Modified",
    "Policy",
    "Properties",
)


class ListObject(Lister):
    """List objects (every page, unless --limit); --delimiter prints common prefixes."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        add_container_arg(parser)
        parser.add_argument("--prefix", metavar="<prefix>", help="Only names starting so")
        parser.add_argument("--marker", metavar="<marker>", help="Only names after this one")
        parser.add_argument(
            "--end-marker", metavar="<end-marker>", help="Only names before this one"
        )
        parser.add_argument(
            "--delimiter",
            metavar="<char>",
            help="Group names sharing a prefix up to this character: one row per prefix",
        )
        parser.add_argument(
            "--limit",
            metavar="<n>",
            type=positive_int,
            help="At most this many rows (default: all, page after page)",
        )
        add_page_size_option(parser)
        parser.add_argument(
            "--versions",
            "--all-versions",
            dest="versions",
            action="store_true",
            help="Every version of every object (newest first), delete markers included",
        )
        parser.add_argument(
            "--deleted", action="store_true", help="Also list objects hidden by a delete marker"
        )
        parser.add_argument(
            "--properties",
            "--long",
            dest="long",
            action="store_true",
            help="Add Deleted, Content-Type, Last-Modified, Policy and Properties columns",
        )
        parser.add_argument(
            "--no-paging",
            "--full",
            dest="no_paging",
            action="store_true",
            help="Accepted for compatibility: the listing always pages through everything",
        )
        return parser

    @property
    def need_sort_by_cliff(self) -> bool:
        return True

    def take_action(self, parsed_args: argparse.Namespace) -> tuple[Any, Any]:
        account, container = resolve_container(self, parsed_args, parsed_args.container)
        pages = iter_object_pages(
            self.api,
            account,
            container,
            limit=parsed_args.limit,
            marker=parsed_args.marker,
            page_size=parsed_args.page_size,
            end_marker=parsed_args.end_marker,
            prefix=parsed_args.prefix,
            delimiter=parsed_args.delimiter,
            properties=parsed_args.long,
            versions=parsed_args.versions,
            deleted=parsed_args.deleted,
        )
        columns = LONG_COLUMNS if parsed_args.long else LIST_COLUMNS
        return columns, self._rows(pages, parsed_args.long, self.humanize(parsed_args))

    def _rows(self, pages: Iterator[dict[str, Any]], long: bool, human: bool) -> Iterator[Any]:
        width = len(LONG_COLUMNS if long else LIST_COLUMNS)
        for page in pages:
            rows = []
            for entry in page.get("objects") or ():
                deleted = bool(entry.get("deleted"))
                row: tuple[Any, ...] = (
                    entry["name"],
                    MarkerSize() if deleted else size_cell(entry.get("size"), human),
                    entry.get("hash"),
                    entry.get("version"),
                )
                if long:
                    row += (
                        deleted,
                        entry.get("mime_type"),
                        time_cell(entry.get("mtime"), human),
                        entry.get("policy"),
                        DictColumn(entry.get("properties") or {}),
                    )
                rows.append(row)
            prefixes = page.get("prefixes") or ()
            if prefixes:
                rows.extend((prefix,) + (None,) * (width - 1) for prefix in prefixes)
                rows.sort(key=lambda row: row[0])
            yield from rows


class LocateObject(Lister):
    """List an object's chunks: position, URL, size and hash.

    Positions are `N` (replicated metachunk N) or `N.F` (fragment F of metachunk N).
    """

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        _add_object_args(parser)
        _add_version_option(parser)
        parser.add_argument(
            "--chunk-info",
            action="store_true",
            help="Add each chunk's own size and hash (Chunk size, Chunk hash)",
        )
        parser.add_argument(
            "--resolve", action="store_true", help="Add where each chunk really is (Real-Url)"
        )
        return parser

    @property
    def need_sort_by_cliff(self) -> bool:
        return True

    def take_action(self, parsed_args: argparse.Namespace) -> tuple[Any, Any]:
        account, container = resolve_container(self, parsed_args, parsed_args.container)
        _meta, chunks = self.api.object_locate(
            account,
            container,
            parsed_args.object,
            version=parsed_args.version,
            chunk_info=parsed_args.chunk_info,
        )
        human = self.humanize(parsed_args)
        columns: tuple[str, ...] = ("Pos", "Id", "Metachunk size", "Metachunk hash")
        if parsed_args.chunk_info:
            columns += ("Chunk size", "Chunk hash")
        if parsed_args.resolve:
            columns += ("Real-Url",)
        rows = []
        for chunk in chunks:
            size = size_cell(chunk["size"], human)
            row: tuple[Any, ...] = (chunk["pos"], chunk["url"], size, chunk["hash"])
            if parsed_args.chunk_info:
                if "chunk_size" in chunk:  # an EC fragment: its own size and hash
                    row += (size_cell(chunk["chunk_size"], human), chunk.get("chunk_hash"))
                else:  # a replica: the metachunk itself
                    row += (size, chunk["hash"])
            if parsed_args.resolve:
                row += (chunk.get("real_url", chunk["url"]),)
            rows.append(row)
        return columns, rows


# -- change --------------------------------------------------------------------


class DeleteObject(MultiName):
    """Delete objects; one row per name, and a non-zero exit when any failed.

    In a versioned container, deleting the latest version adds a delete marker
    (Deleted is true: the name is gone from the listing); deleting a marker with
    --object-version brings the previous version back. With --dry-run, print
    what would be deleted and change nothing.

    With --prefix (and no <object>), delete every object whose name starts so
    (the latest versions, as `object list --prefix` shows them), through the
    filters if given. Exit code 8 when some deletions failed.
    """

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        from oiocli.commands.transfer import FILTER_HELP, add_filter_options, epilog

        parser = super().get_parser(prog_name)
        add_container_arg(parser)
        parser.add_argument(
            "objects", metavar="<object>", nargs="*", help="Object name (not with --prefix)"
        )
        _add_version_option(parser, many=True)
        parser.add_argument(
            "--prefix",
            metavar="<prefix>",
            help="Delete every object whose name starts so ('' for all of them)",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Print what would be deleted, change nothing"
        )
        add_filter_options(parser, "objects (with --prefix)")
        parser.epilog = epilog(f"{FILTER_HELP} Patterns match object names.")
        return parser

    def _names(
        self, parsed_args: argparse.Namespace, account: str, container: str
    ) -> Iterable[str]:
        """The names to delete: the arguments, or the listing under --prefix (streamed:
        a deleted name never shifts the pages after it, which start after a name)."""
        from oiocli.commands.base import iter_objects
        from oiocli.commands.transfer import filter_of

        wanted = filter_of(parsed_args)
        if parsed_args.prefix is None:
            if wanted.active:
                raise UsageError("The filters apply to --prefix")
            if not parsed_args.objects:
                raise UsageError("Give the objects to delete, or --prefix")
            return parsed_args.objects
        if parsed_args.objects:
            raise UsageError("Give either objects or --prefix, not both")
        if parsed_args.version is not None:
            raise UsageError("--object-version applies to one object, not --prefix")
        entries = iter_objects(self.api, account, container, prefix=parsed_args.prefix)
        return (
            entry["name"]
            for entry in entries
            if not wanted.active
            or wanted.wants(entry["name"], entry.get("size"), entry.get("mtime"))
        )

    def take_action(self, parsed_args: argparse.Namespace) -> tuple[Any, Any]:
        if parsed_args.prefix is None:
            _check_single_version(parsed_args)
        account, container = resolve_container(self, parsed_args, parsed_args.container)
        names = self._names(parsed_args, account, container)
        if parsed_args.dry_run:
            return self._dry_run(parsed_args, account, container, names)

        def delete(name: str) -> tuple[str, bool]:
            self.api.object_delete(account, container, name, version=parsed_args.version)
            return name, True

        rows = self.for_each(names, delete, lambda name: (name, False))
        return ("Name", "Deleted"), rows

    def _dry_run(
        self, parsed_args: argparse.Namespace, account: str, container: str, names: Iterable[str]
    ) -> tuple[Any, Any]:
        human = self.humanize(parsed_args)

        def check(name: str) -> tuple[str, Any, Any, str]:
            meta = self.api.object_get_properties(
                account, container, name, version=parsed_args.version
            )
            size = size_cell(meta.get("size"), human)
            return name, meta.get("version"), size, "would delete"

        rows = self.for_each(names, check, lambda name: (name, None, None, "not found"))
        return ("Name", "Version", "Size", "Action"), rows


class SetObject(Command):
    """Set object properties (merged with the existing ones, unless --clear).

    --policy re-encodes the object's data with another storage policy (replication
    to EC and back), keeping its name, version, properties and hash.
    """

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        _add_object_args(parser)
        _add_version_option(parser)
        add_property_option(parser, "Property to set")
        parser.add_argument(
            "--clear",
            action="store_true",
            help="Remove every property before setting the new ones",
        )
        parser.add_argument(
            "--policy",
            metavar="<policy>",
            help="Re-encode the object's data with this storage policy",
        )
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> None:
        properties = dict(parsed_args.properties)
        if not properties and not parsed_args.clear and not parsed_args.policy:
            raise UsageError("Nothing to set: give --property KEY=VALUE, --clear or --policy")
        account, container = resolve_container(self, parsed_args, parsed_args.container)
        if parsed_args.policy:
            self.api.object_change_policy(
                account,
                container,
                parsed_args.object,
                parsed_args.policy,
                version=parsed_args.version,
            )
            if not properties and not parsed_args.clear:
                return
        self.api.object_set_properties(
            account,
            container,
            parsed_args.object,
            properties,
            version=parsed_args.version,
            clear=parsed_args.clear,
        )


class UnsetObject(Command):
    """Remove object properties."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        _add_object_args(parser)
        _add_version_option(parser)
        add_key_option(parser, "Property key to remove", required=False)
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> None:
        if not parsed_args.keys:
            raise UsageError("Nothing to unset: give at least one --property KEY")
        account, container = resolve_container(self, parsed_args, parsed_args.container)
        self.api.object_del_properties(
            account, container, parsed_args.object, parsed_args.keys, version=parsed_args.version
        )


# Commands that do one thing to each object named, one row (name, done?) each:
# verb -> (the ObjectStorageApi method, the result column).
PER_OBJECT_VERBS: dict[str, tuple[str, str]] = {
    "touch": ("object_touch", "Touched"),
    "drain": ("object_drain", "Drained"),
}


class _PerObjectVerb(MultiName):
    """`oio object <verb> <container> <object>...`: `PER_OBJECT_VERBS[verb]` on each."""

    verb: str

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        _add_object_args(parser, many=True)
        _add_version_option(parser, many=True)
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> tuple[Any, Any]:
        _check_single_version(parsed_args)
        account, container = resolve_container(self, parsed_args, parsed_args.container)
        method_name, column = PER_OBJECT_VERBS[self.verb]
        method = getattr(self.api, method_name)

        def apply(name: str) -> tuple[str, bool]:
            method(account, container, name, version=parsed_args.version)
            return name, True

        rows = self.for_each(parsed_args.objects, apply, lambda name: (name, False))
        return ("Name", column), rows


class TouchObject(_PerObjectVerb):
    """Touch objects: emit a fresh event for each, changing no data."""

    verb = "touch"


class DrainObject(_PerObjectVerb):
    """Drain objects: delete their data, keep their metadata (fetch then fails)."""

    verb = "drain"


class TruncateObject(Command):
    """Truncate an object to --size bytes. Not an OpenIO command (API only there)."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        _add_object_args(parser)
        _add_version_option(parser)
        parser.add_argument(
            "--size",
            metavar="<bytes>",
            type=non_negative_int,
            required=True,
            help="New size, at most the current one",
        )
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> None:
        account, container = resolve_container(self, parsed_args, parsed_args.container)
        self.api.object_truncate(
            account,
            container,
            parsed_args.object,
            version=parsed_args.version,
            size=parsed_args.size,
        )


class LinkObject(Command):
    """Make <dest_object> a new object sharing <object>'s data (no copy).

    Properties are copied, unless --property is given: then the link has only those.
    """

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        _add_object_args(parser)
        parser.add_argument("dest_object", metavar="<dest_object>", help="Name of the link")
        parser.add_argument(
            "--dest-account",
            "--link-account",
            dest="dest_account",
            metavar="<account>",
            help="Account of the link (default: the same)",
        )
        parser.add_argument(
            "--dest-container",
            "--link-container",
            dest="dest_container",
            metavar="<container>",
            help="Container of the link (default: the same)",
        )
        add_property_option(parser, "Property of the link (replaces the copied ones)")
        _add_version_option(parser)
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> None:
        account, container = resolve_container(self, parsed_args, parsed_args.container)
        properties = dict(parsed_args.properties)
        self.api.object_link(
            account,
            container,
            parsed_args.object,
            parsed_args.dest_account or account,
            parsed_args.dest_container or container,
            parsed_args.dest_object,
            target_version=parsed_args.version,
            properties_directive="REPLACE" if properties else "COPY",
            properties=properties or None,
        )


class PurgeObject(Command):
    """Delete an object's versions beyond --max-versions (default: the container's)."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        _add_object_args(parser)
        parser.add_argument(
            "--max-versions", metavar="<n>", type=max_versions, help="Versions to keep"
        )
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> None:
        account, container = resolve_container(self, parsed_args, parsed_args.container)
        self.api.object_purge(
            account, container, parsed_args.object, maxvers=parsed_args.max_versions
        )


# -- copy and move -------------------------------------------------------------


class _CopyOrMove(ShowOne):
    """Shared arguments and output of `object copy` and `object move`."""

    verb = "copy"

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        _add_object_args(parser)
        parser.add_argument(
            "dest_object",
            metavar="<dest_object>",
            nargs="?",
            help="Name of the destination object (default: the same name)",
        )
        parser.add_argument(
            "--dest-container",
            metavar="<container>",
            help="Container of the destination (default: the same)",
        )
        parser.add_argument(
            "--dest-account",
            metavar="<account>",
            help="Account of the destination (default: the same)",
        )
        parser.add_argument(
            "--policy",
            metavar="<policy>",
            help=(
                "Storage policy of the destination (default: the source's, and then the "
                "data is shared, not copied)"
            ),
        )
        add_property_option(parser, "Property of the destination (replaces the copied ones)")
        _add_version_option(parser)
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help=f"Say what would be done (link or copy), {self.verb} nothing",
        )
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> tuple[Any, Any]:
        account, container = resolve_container(self, parsed_args, parsed_args.container)
        if (
            parsed_args.dest_object is None
            and parsed_args.dest_container is None
            and parsed_args.dest_account is None
        ):
            raise UsageError(
                f"Nothing to {self.verb} to: give <dest_object>, --dest-container or --dest-account"
            )
        properties = dict(parsed_args.properties)
        action = self.api.object_move if self.verb == "move" else self.api.object_copy
        result = action(
            account,
            container,
            parsed_args.object,
            dest_account=parsed_args.dest_account,
            dest_container=parsed_args.dest_container,
            dest_obj=parsed_args.dest_object,
            version=parsed_args.version,
            policy=parsed_args.policy,
            properties=properties or None,
            dry_run=parsed_args.dry_run,
        )
        human = self.humanize(parsed_args)
        fields = {
            "source": f"{result['account']}/{result['container']}/{result['object']}",
            "version": result["version"],
            "destination": (
                f"{result['dest_account']}/{result['dest_container']}/{result['dest_object']}"
            ),
            "dest_version": result.get("dest_version"),
            "size": size_cell(result["size"], human),
            "policy": result["policy"],
            "method": result["method"],
            "dry_run": bool(parsed_args.dry_run),
        }
        if self.verb == "move":
            fields["source_deleted"] = result["source_deleted"]
        return self.dict_rows(fields)


class CopyObject(_CopyOrMove):
    """Copy an object to another name, container or account. Not an OpenIO command.

    With the source's policy (the default) the copy shares the source's data
    (hard-linked chunks, no data moves); with --policy the data is read and
    written again with that policy, and its MD5 checked. Properties are copied,
    unless --property is given: then the copy has only those. An existing
    destination gets a new version, as `object create` would.
    """

    verb = "copy"


class MoveObject(_CopyOrMove):
    """Move an object to another name, container or account. Not an OpenIO command.

    A copy (as `object copy`), then the deletion of the source version copied:
    never before the destination is committed, so an interrupted move leaves
    both objects, never neither. A version written under the source's name
    meanwhile is kept, as are older versions in a versioned container.
    """

    verb = "move"
