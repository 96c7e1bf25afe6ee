"""`oio container ...`: containers of the account given by -a/--account."""

from __future__ import annotations

import argparse
from typing import Any

from oiocli.commands.base import (
    PAGE_SIZE,
    Command,
    Lister,
    MultiName,
    ShowOne,
    TableText,
    UsageError,
    add_container_arg,
    add_key_option,
    add_page_size_option,
    add_property_option,
    cid_of,
    max_versions,
    positive_int,
    resolve_container,
    size_cell,
    time_cell,
)

POLICY_KEY = "sys.m2.policy.storage"
VERSIONS_KEY = "sys.m2.policy.version"
STATUS_KEY = "sys.status"
DEFAULT = "Namespace default"  # table text of an unset policy or versioning (null in json)

# sys.status values, as OpenIO's meta2 stores them (OIO_DB_ENABLED/FROZEN/DISABLED).
STATUS_VALUES = {"enabled": "0", "frozen": str(2**32 - 1), "disabled": str(2**32 - 2)}
STATUS_NAMES = {value: name.capitalize() for name, value in STATUS_VALUES.items()}
# Written by earlier oiocli versions: still shown as what they meant.
STATUS_NAMES.update({str(1 << 25): "Frozen", str(1 << 26): "Disabled"})


def _add_system_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--storage-policy",
        "--stgpol",
        dest="storage_policy",
        metavar="<policy>",
        help="Default storage policy of new objects (SINGLE, TWOCOPIES, THREECOPIES, EC, ...)",
    )
    parser.add_argument(
        "--max-versions",
        "--versioning",
        dest="max_versions",
        metavar="<n>",
        type=max_versions,
        help=(
            "Versions kept per object: 1 keeps the latest only, 0 refuses to overwrite, "
            "-1 keeps every version, n > 1 keeps n"
        ),
    )


def _system(parsed_args: argparse.Namespace) -> dict[str, str]:
    system: dict[str, str] = {}
    if parsed_args.storage_policy:
        system[POLICY_KEY] = parsed_args.storage_policy
    if parsed_args.max_versions is not None:
        system[VERSIONS_KEY] = str(parsed_args.max_versions)
    return system


def _int(value: Any) -> Any:
    try:
        return int(value)
    except (TypeError, ValueError):
        return value


def _seconds(value: Any) -> Any:
    """sys.m2.ctime/mtime are microseconds (as strings): seconds as a float."""
    try:
        return int(value) / 1_000_000
    except (TypeError, ValueError):
        return value


class CreateContainer(MultiName):
    """Create containers (Created is false for a container that already existed)."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("containers", metavar="<container>", nargs="+", help="Name")
        add_property_option(parser, "User property of the new containers")
        _add_system_options(parser)
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> tuple[Any, Any]:
        properties = dict(parsed_args.properties) or None
        system = _system(parsed_args) or None

        def create(name: str) -> tuple[str, bool]:
            created = self.api.container_create(
                self.account, name, properties=properties, system=system
            )
            return name, bool(created)

        rows = self.for_each(parsed_args.containers, create, lambda name: (name, False))
        return ("Name", "Created"), rows


class DeleteContainer(MultiName):
    """Delete empty containers (one row per name; non-zero exit when any failed)."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("containers", metavar="<container>", nargs="+", help="Name")
        parser.add_argument("--cid", dest="is_cid", action="store_true", help="Names are ids")
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> tuple[Any, Any]:
        def delete(name: str) -> tuple[str, bool]:
            account, container = resolve_container(self, parsed_args, name)
            self.api.container_delete(account, container)
            return name, True

        rows = self.for_each(parsed_args.containers, delete, lambda name: (name, False))
        return ("Name", "Deleted"), rows


def container_fields(account: str, name: str, info: dict[str, Any], human: bool) -> dict[str, Any]:
    system = info.get("system") or {}
    base_name = system.get("sys.name") or ""
    cid = base_name.split(".")[0] if base_name else cid_of(account, name)
    status = str(system.get(STATUS_KEY, "0"))
    versions = system.get(VERSIONS_KEY)
    fields: dict[str, Any] = {
        "account": system.get("sys.account") or account,
        "container": system.get("sys.user.name") or name,
        "base_name": base_name,
        "cid": cid,
        "bytes_usage": size_cell(_int(system.get("sys.m2.usage", 0)), human),
        "objects": _int(system.get("sys.m2.objects", 0)),
        "ctime": time_cell(_seconds(system.get("sys.m2.ctime")), human),
        "mtime": time_cell(_seconds(system.get("sys.m2.mtime")), human),
        "status": STATUS_NAMES.get(status, status),
        "storage_policy": system.get(POLICY_KEY) or TableText(DEFAULT),
        "max_versions": _int(versions) if versions not in (None, "") else TableText(DEFAULT),
    }
    for key, value in (info.get("properties") or {}).items():
        fields[f"meta.{key}"] = value
    return fields


class ShowContainer(ShowOne):
    """Show a container: counters, policies, status and user properties (meta.*)."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        add_container_arg(parser)
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> tuple[Any, Any]:
        account, name = resolve_container(self, parsed_args, parsed_args.container)
        info = self.api.container_get_properties(account, name)
        return self.dict_rows(container_fields(account, name, info, self.humanize(parsed_args)))


class ListContainer(Lister):
    """List the containers of the account (all of them unless --limit)."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("--prefix", metavar="<prefix>", help="Only names starting so")
        parser.add_argument("--marker", metavar="<marker>", help="Only names after this one")
        parser.add_argument(
            "--end-marker", metavar="<end-marker>", help="Only names before this one"
        )
        parser.add_argument(
            "--delimiter",
            metavar="<char>",
            help="Group names sharing a prefix up to this character into one row",
        )
        parser.add_argument(
            "--limit", metavar="<n>", type=positive_int, help="At most this many rows"
        )
        add_page_size_option(parser)
        parser.add_argument(
            "--no-paging",
            "--full",
            dest="no_paging",
            action="store_true",
            help="Accepted for compatibility: the listing always pages through everything",
        )
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> tuple[Any, Any]:
        human = self.humanize(parsed_args)
        account = self.account
        rows: list[tuple[Any, ...]] = []
        for name, count, size, is_prefix, mtime in _iter_containers(self.api, account, parsed_args):
            if is_prefix:
                rows.append((name, None, None, None, None))
            else:
                rows.append(
                    (
                        name,
                        count,
                        size_cell(size, human),
                        time_cell(mtime, human),
                        cid_of(account, name),
                    )
                )
        return ("Name", "Count", "Bytes", "Mtime", "CID"), rows


def _iter_containers(api: Any, account: str, parsed_args: argparse.Namespace) -> Any:
    remaining = parsed_args.limit
    marker = parsed_args.marker
    delimiter = parsed_args.delimiter
    per_page = parsed_args.page_size or PAGE_SIZE
    while True:
        page_size = per_page if remaining is None else min(remaining, per_page)
        page = api.container_list(
            account,
            limit=page_size,
            marker=marker,
            end_marker=parsed_args.end_marker,
            prefix=parsed_args.prefix,
            delimiter=delimiter,
        )
        yield from page
        if remaining is not None:
            remaining -= len(page)
            if remaining <= 0:
                return
        if len(page) < page_size:
            return
        last = page[-1]
        marker = last[0]
        if last[3] and delimiter and marker.endswith(delimiter):
            # skip every name under this prefix
            marker = marker[: -len(delimiter)] + chr(ord(delimiter[-1]) + 1)


class SetContainer(Command):
    """Set container properties, storage policy, versioning or status."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        add_container_arg(parser)
        add_property_option(parser, "User property to set")
        parser.add_argument(
            "--clear",
            action="store_true",
            help="Remove every user property before setting the new ones",
        )
        _add_system_options(parser)
        parser.add_argument(
            "--status",
            choices=sorted(STATUS_VALUES),
            help=(
                "enabled; frozen (read-only: no upload, delete or change of objects); "
                "disabled (no access at all)"
            ),
        )
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> None:
        system = _system(parsed_args)
        if parsed_args.status:
            system[STATUS_KEY] = STATUS_VALUES[parsed_args.status]
        properties = dict(parsed_args.properties)
        if not (properties or system or parsed_args.clear):
            raise UsageError(
                "Nothing to set: give --property, --clear, --storage-policy, "
                "--max-versions or --status"
            )
        account, name = resolve_container(self, parsed_args, parsed_args.container)
        self.api.container_set_properties(
            account,
            name,
            properties=properties or None,
            clear=parsed_args.clear,
            system=system or None,
        )


class UnsetContainer(Command):
    """Remove container properties; reset storage policy or versioning to the default."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        add_container_arg(parser)
        add_key_option(parser, "User property key to remove", required=False)
        parser.add_argument(
            "--storage-policy",
            "--stgpol",
            dest="storage_policy",
            action="store_true",
            help="Reset the storage policy to the namespace default",
        )
        parser.add_argument(
            "--max-versions",
            "--versioning",
            dest="max_versions",
            action="store_true",
            help="Reset versioning to the namespace default",
        )
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> None:
        system = []
        if parsed_args.storage_policy:
            system.append(POLICY_KEY)
        if parsed_args.max_versions:
            system.append(VERSIONS_KEY)
        if not (parsed_args.keys or system):
            raise UsageError(
                "Nothing to unset: give --property KEY, --storage-policy or --max-versions"
            )
        account, name = resolve_container(self, parsed_args, parsed_args.container)
        if system:
            self.api.container_set_properties(account, name, system={key: "" for key in system})
        if parsed_args.keys:
            self.api.container_del_properties(account, name, parsed_args.keys)


class TouchContainer(MultiName):
    """Touch containers: their account sees up-to-date counters."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("containers", metavar="<container>", nargs="+", help="Name")
        parser.add_argument("--cid", dest="is_cid", action="store_true", help="Names are ids")
        parser.add_argument(
            "--recompute", action="store_true", help="Recompute the counters from the objects"
        )
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> tuple[Any, Any]:
        def touch(name: str) -> tuple[str, bool]:
            account, container = resolve_container(self, parsed_args, name)
            self.api.container_touch(account, container, recompute=parsed_args.recompute)
            return name, True

        rows = self.for_each(parsed_args.containers, touch, lambda name: (name, False))
        return ("Name", "Touched"), rows


class SnapshotContainer(Lister):
    """Copy a container (objects share chunks' data, not chunk ids) into a new one.

    The source is frozen while its chunks are linked, then restored.
    """

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        add_container_arg(parser)
        parser.add_argument(
            "--dst-account", metavar="<account>", help="Account of the snapshot (default: same)"
        )
        parser.add_argument(
            "--dst-container",
            metavar="<container>",
            help="Name of the snapshot (default: <container>-<timestamp>)",
        )
        parser.add_argument(
            "--chunk-batch-size",
            metavar="<n>",
            type=positive_int,
            default=100,
            help="Chunks linked per batch (default 100)",
        )
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> tuple[Any, Any]:
        import time

        account, name = resolve_container(self, parsed_args, parsed_args.container)
        dst_account = parsed_args.dst_account or account
        dst_container = parsed_args.dst_container or f"{name}-{int(time.time())}"
        self.api.container_snapshot(
            account,
            name,
            dst_account,
            dst_container,
            batch_size=parsed_args.chunk_batch_size,
        )
        return ("Account", "Container", "Status"), [(dst_account, dst_container, "Ok")]


class RefreshContainer(Command):
    """Recompute a container's counters from its objects."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        add_container_arg(parser)
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> None:
        account, name = resolve_container(self, parsed_args, parsed_args.container)
        self.api.container_refresh(account, name)


class LocateContainer(ShowOne):
    """Show where a container's metadata lives (embedded: the database file)."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        add_container_arg(parser)
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> tuple[Any, Any]:
        account, name = resolve_container(self, parsed_args, parsed_args.container)
        info = dict(self.api.container_locate(account, name))
        status = info.get("status")
        if status is not None:
            info["status"] = STATUS_NAMES.get(str(status), status)
        return self.dict_rows(info)


class PurgeContainer(Lister):
    """Delete the versions of every object beyond the container's --max-versions.

    With --dry-run, list the versions that would be deleted and change nothing.
    """

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        add_container_arg(parser)
        parser.add_argument(
            "--max-versions",
            metavar="<n>",
            type=max_versions,
            help=(
                "Versions to keep per object (default: the container's max versions; "
                "-1: every version)"
            ),
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Print what would be purged, change nothing"
        )
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> tuple[Any, Any]:
        columns = ("Name", "Version", "Size", "Action")
        account, name = resolve_container(self, parsed_args, parsed_args.container)
        if not parsed_args.dry_run:
            self.api.container_purge(account, name, maxvers=parsed_args.max_versions)
            return columns, []
        human = self.humanize(parsed_args)
        rows = [
            (entry["name"], entry["version"], size_cell(entry.get("size"), human), "would purge")
            for entry in self.api.container_purge_plan(
                account, name, maxvers=parsed_args.max_versions
            )
        ]
        return columns, rows


class FlushContainer(Lister):
    """Delete every object of a container.

    With --dry-run, list the objects that would be deleted and change nothing.
    """

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        add_container_arg(parser)
        parser.add_argument(
            "--quickly",
            action="store_true",
            help="Delete in bulk without per-object bookkeeping",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Print what would be deleted, change nothing"
        )
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> tuple[Any, Any]:
        columns = ("Name", "Version", "Size", "Action")
        account, name = resolve_container(self, parsed_args, parsed_args.container)
        if not parsed_args.dry_run:
            self.api.container_flush(account, name, fast=parsed_args.quickly)
            return columns, []
        human = self.humanize(parsed_args)
        rows = [
            (entry["name"], entry["version"], size_cell(entry.get("size"), human), "would delete")
            for entry in self.api.container_flush_plan(account, name)
        ]
        return columns, rows


class SaveContainer(Lister):
    """Download every object of a container into a directory (all pages).

    Object names become paths under the directory (sub-directories created),
    --concurrency objects at a time; existing files are skipped unless
    --overwrite; a name that would escape the directory ('..', absolute) is
    refused. The output is one summary row (see below).
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
            "-D",
            "--directory",
            dest="directory",
            metavar="<dir>",
            default=".",
            help="Directory to write into (default: the current directory)",
        )
        parser.add_argument("--prefix", metavar="<prefix>", help="Only objects starting so")
        add_transfer_options(parser, upload=False)
        add_filter_options(parser, "objects")
        parser.epilog = epilog(
            SUMMARY_HELP, f"{FILTER_HELP} Patterns match object names.", MEMORY_HELP
        )
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> tuple[Any, Any]:
        from oiocli.commands.transfer import download_tree

        account, name = resolve_container(self, parsed_args, parsed_args.container)
        return download_tree(
            self, parsed_args, account, name, parsed_args.directory, parsed_args.prefix
        )
