"""`oio namespace set`, `oio tier move`, `oio tier orphans`: policies and the cloud tier."""

from __future__ import annotations

import argparse
from typing import Any

from oiocli.commands.base import DictColumn, Lister, ShowOne, UsageError, add_container_arg


def _policy_item(text: str) -> tuple[str, str]:
    name, sep, method = text.partition("=")
    if not sep or not name.strip() or not method.strip():
        raise argparse.ArgumentTypeError(
            f"invalid policy {text!r}: expected NAME=METHOD "
            "(e.g. B2=backblaze/account_id=<id>,bucket_name=<bucket>)"
        )
    return name.strip(), method.strip()


class SetNamespace(ShowOne):
    """Add or redefine storage policies of the embedded namespace, or set its default.

    A policy is a name for a chunk method: `plain/nb_copy=N`, `ec/algo=...,k=K,m=M`,
    or a cloud tier, `backblaze/account_id=<key id>,bucket_name=<bucket>` (Backblaze
    B2) or `s3/endpoint=<url>,bucket_name=<bucket>[,region=<region>]` (any S3
    service). Objects keep the method they were written with: redefining a policy
    changes what is written next. `--key-file` records the tier key file of the
    namespace (used when neither --key-file nor $OIO_KEY_FILE is given).
    """

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument(
            "--policy",
            metavar="<name>=<method>",
            type=_policy_item,
            action="append",
            default=[],
            help="Add or redefine a policy (repeatable)",
        )
        parser.add_argument(
            "--default-policy", metavar="<name>", help="Policy of new containers and objects"
        )
        parser.add_argument(
            "--tier-key-file",
            dest="tier_key_file",
            metavar="<path>",
            help="Key file of the namespace's cloud tier policies ('' forgets it)",
        )
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> tuple[Any, Any]:
        policies = dict(parsed_args.policy)
        if (
            not policies
            and parsed_args.default_policy is None
            and parsed_args.tier_key_file is None
        ):
            raise UsageError("Nothing to set: give --policy NAME=METHOD, --default-policy NAME")
        info = dict(
            self.api.namespace_set(
                policies=policies or None,
                default_policy=parsed_args.default_policy,
                key_file=parsed_args.tier_key_file,
            )
        )
        if isinstance(info.get("policies"), dict):
            info["policies"] = DictColumn(info["policies"])
        return self.dict_rows(info)


_AGE_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_age(text: str) -> float:
    """argparse type for an age: seconds, or a number with s, m, h, d or w (30d)."""
    text = text.strip()
    unit = _AGE_UNITS.get(text[-1:].lower(), None)
    number = text[:-1] if unit else text
    try:
        value = float(number) * (unit or 1)
    except ValueError:
        value = -1.0
    if value < 0:
        raise argparse.ArgumentTypeError(
            f"invalid age {text!r}: seconds, or a number with s, m, h, d or w (30d)"
        )
    return value


class MoveTier(Lister):
    """Move a container's objects to a storage policy in place: to the cloud tier, or back.

    For cron: the objects whose name starts with --prefix and that were last
    modified more than --older-than ago are re-encoded with --policy, one at a
    time, keeping their names, versions and properties; objects already there
    are skipped. One row (with -f json, one object) per object considered, and a
    log event each (--log-format json). Exit 0 when every move succeeded, 8 when
    some failed, 1 when all failed; --dry-run moves nothing.
    """

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        add_container_arg(parser)
        parser.add_argument("--policy", metavar="<policy>", required=True, help="Target policy")
        parser.add_argument("--prefix", metavar="<prefix>", help="Only objects with this prefix")
        parser.add_argument(
            "--older-than",
            metavar="<age>",
            type=parse_age,
            help="Only objects last modified longer ago than this (3600, 90m, 30d)",
        )
        parser.add_argument("--dry-run", action="store_true", help="Say what would move")
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> tuple[Any, Any]:
        from oiocli.commands.base import resolve_container

        account, container = resolve_container(self, parsed_args, parsed_args.container)
        events = self.api.tier_move(
            account,
            container,
            parsed_args.policy,
            prefix=parsed_args.prefix,
            older_than=parsed_args.older_than,
            dry_run=parsed_args.dry_run,
        )
        rows = []
        show = self.app.show_progress
        for n, event in enumerate(events, 1):
            if show:
                self.app.stderr.write(f"\r{n} objects, last: {event['object'][:60]} ")
                self.app.stderr.flush()
            rows.append(
                (
                    event["object"],
                    event["version"],
                    event["size"],
                    event["from"],
                    event["to"],
                    event["result"],
                    event["error"],
                )
            )
        if show and rows:
            self.app.stderr.write("\n")
        failed = sum(1 for row in rows if row[5] == "failed")
        if failed:
            self.exit_status = 1 if failed == len(rows) else 8
        return ("Object", "Version", "Size", "From", "To", "Result", "Error"), rows


class ListTierOrphans(Lister):
    """List (or delete) tier bucket objects that no chunk record of the namespace names.

    Only the keys under the namespace's container ids are looked at (a bucket may
    be shared), and only those older than --older-than (default 1h): an upload
    stores its chunks before it records them. With --delete each orphan is
    deleted, after the records are read again under the namespace's chunk lock.
    """

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("--delete", action="store_true", help="Delete the orphans found")
        parser.add_argument(
            "--older-than",
            metavar="<age>",
            type=parse_age,
            default=3600.0,
            help="Only bucket objects older than this (default 1h)",
        )
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> tuple[Any, Any]:
        found = self.api.tier_orphans(delete=parsed_args.delete, min_age=parsed_args.older_than)
        rows = [
            (r["bucket"], r["key"], r["size"], r["age"], r["container"], r["action"]) for r in found
        ]
        if any(r["action"].startswith("failed") for r in found):
            self.exit_status = 8
        return ("Bucket", "Key", "Size", "Age", "Container", "Action"), rows
