"""`oio object list`: the objects of a container, page after page.

Apart from the other object commands (commands/object.py) because it is the one
scripts and cron jobs run most: its start-up loads this module alone, not the
upload, download and copy machinery.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from typing import Any

from oiocli.commands.base import (
    DictColumn,
    Lister,
    MarkerSize,
    add_container_arg,
    add_page_size_option,
    iter_object_pages,
    positive_int,
    resolve_container,
    size_cell,
    time_cell,
)

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
