"""`oio account ...`: accounts (the account is a positional argument here)."""

from __future__ import annotations

import argparse
from typing import Any

from oiocli.commands.base import (
    Command,
    DictColumn,
    Lister,
    MultiName,
    ShowOne,
    UsageError,
    add_key_option,
    add_property_option,
    positive_int,
    size_cell,
    time_cell,
)


class CreateAccount(MultiName):
    """Create accounts (Created is false for an account that already existed)."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("accounts", metavar="<account>", nargs="+", help="Account name")
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> tuple[Any, Any]:
        rows = self.for_each(
            parsed_args.accounts,
            lambda name: (name, bool(self.api.account_create(name))),
            lambda name: (name, False),
        )
        return ("Name", "Created"), rows


class DeleteAccount(MultiName):
    """Delete empty accounts (one row per account; non-zero exit when any failed)."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("accounts", metavar="<account>", nargs="+", help="Account name")
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> tuple[Any, Any]:
        def delete(name: str) -> tuple[str, bool]:
            self.api.account_delete(name)
            return name, True

        rows = self.for_each(parsed_args.accounts, delete, lambda name: (name, False))
        return ("Name", "Deleted"), rows


def account_fields(info: dict[str, Any], human: bool) -> dict[str, Any]:
    return {
        "account": info.get("id") or info.get("account"),
        "bytes": size_cell(info.get("bytes"), human),
        "containers": info.get("containers"),
        "objects": info.get("objects"),
        "ctime": time_cell(info.get("ctime"), human),
        "mtime": time_cell(info.get("mtime"), human),
        "metadata": DictColumn(info.get("metadata") or {}),
    }


class ShowAccount(ShowOne):
    """Show an account's counters and metadata."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("account", metavar="<account>", help="Account name")
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> tuple[Any, Any]:
        info = self.api.account_show(parsed_args.account)
        return self.dict_rows(account_fields(info, self.humanize(parsed_args)))


class ListAccount(Lister):
    """List accounts (all of them unless --limit)."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("--prefix", metavar="<prefix>", help="Only names starting so")
        parser.add_argument("--marker", metavar="<marker>", help="Only names after this one")
        parser.add_argument(
            "--end-marker", metavar="<end-marker>", help="Only names before this one"
        )
        parser.add_argument(
            "--limit", metavar="<n>", type=positive_int, help="At most this many accounts"
        )
        parser.add_argument(
            "--stats",
            "--long",
            dest="long",
            action="store_true",
            help="Show the counters and metadata of each account",
        )
        parser.add_argument(
            "--no-paging",
            "--full",
            dest="no_paging",
            action="store_true",
            help="Accepted for compatibility: listings always page through everything",
        )
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> tuple[Any, Any]:
        result = self.api.account_list(
            limit=parsed_args.limit,
            marker=parsed_args.marker,
            end_marker=parsed_args.end_marker,
            prefix=parsed_args.prefix,
            stats=parsed_args.long,
        )
        if not parsed_args.long:
            return ("Name",), [(name,) for name in result]
        human = self.humanize(parsed_args)
        columns = ("Name", "Containers", "Objects", "Bytes", "Ctime", "Mtime", "Metadata")
        rows = []
        for info in result:
            fields = account_fields(info, human)
            rows.append(
                (
                    fields["account"],
                    fields["containers"],
                    fields["objects"],
                    fields["bytes"],
                    fields["ctime"],
                    fields["mtime"],
                    fields["metadata"],
                )
            )
        return columns, rows


class SetAccount(Command):
    """Set account metadata (merged with the existing keys)."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("account", metavar="<account>", help="Account name")
        add_property_option(parser, "Property to set")
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> None:
        if not parsed_args.properties:
            raise UsageError("Nothing to set: give at least one --property KEY=VALUE")
        self.api.account_set_properties(parsed_args.account, dict(parsed_args.properties))


class UnsetAccount(Command):
    """Remove account metadata keys."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("account", metavar="<account>", help="Account name")
        add_key_option(parser, "Property key to remove", required=False)
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> None:
        if not parsed_args.keys:
            raise UsageError("Nothing to unset: give at least one --property KEY")
        self.api.account_del_properties(parsed_args.account, parsed_args.keys)


class RefreshAccount(Command):
    """Recompute account counters from its containers (or of every account, --all)."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("account", metavar="<account>", nargs="?", help="Account name")
        parser.add_argument("--all", action="store_true", help="Refresh every account")
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> None:
        if parsed_args.all == bool(parsed_args.account):
            raise UsageError("Give either an account or --all")
        if parsed_args.all:
            self.api.all_accounts_refresh()
        else:
            self.api.account_refresh(parsed_args.account)


class FlushAccount(Lister):
    """Reset the object and byte counters of an account and of its containers.

    The containers keep their objects; `container touch --recompute` then
    `account refresh` recompute the counters.
    With --dry-run, list the containers whose counters would be reset, change nothing.
    """

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("account", metavar="<account>", help="Account name")
        parser.add_argument(
            "--dry-run", action="store_true", help="Print what would be flushed, change nothing"
        )
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> tuple[Any, Any]:
        if parsed_args.dry_run:
            human = self.humanize(parsed_args)
            rows = [
                (entry[0], entry[1], size_cell(entry[2], human), "would reset")
                for entry in self.api.account_flush_plan(parsed_args.account)
            ]
            return ("Name", "Count", "Bytes", "Action"), rows
        self.api.account_flush(parsed_args.account)
        return ("Name", "Count", "Bytes", "Action"), []
