"""`oio namespace show`, `oio volume list`, `oio events list`: the embedded namespace."""

from __future__ import annotations

import argparse
import time
from typing import Any

from oiocli.commands.base import (
    DictColumn,
    Lister,
    ShowOne,
    positive_int,
    size_cell,
    time_cell,
)


class ShowNamespace(ShowOne):
    """Show the namespace: data directory, chunk size, default policy, policies, volumes."""

    def take_action(self, parsed_args: argparse.Namespace) -> tuple[Any, Any]:
        info = dict(self.api.namespace_show())
        human = self.humanize(parsed_args)
        if "chunk_size" in info:
            info["chunk_size"] = size_cell(info["chunk_size"], human)
        if isinstance(info.get("policies"), dict):
            info["policies"] = DictColumn(info["policies"])
        return self.dict_rows(info)


class ListVolume(Lister):
    """List the volumes of the embedded namespace: path, chunks, bytes, free space, state.

    State is ok, read-only, missing (no directory) or unreadable (it cannot be
    listed: Detail names the error, and Chunks/Bytes are then unknown); through
    an OpenIO proxy, ok or down.
    """

    def take_action(self, parsed_args: argparse.Namespace) -> tuple[Any, Any]:
        human = self.humanize(parsed_args)
        rows = [
            (
                vol.get("volume"),
                vol.get("path"),
                vol.get("chunks"),
                size_cell(vol.get("bytes"), human),
                size_cell(vol.get("free"), human),
                vol.get("state"),
                vol.get("detail") or "",
            )
            for vol in self.api.volume_list()
        ]
        return ("Volume", "Path", "Chunks", "Bytes", "Free", "State", "Detail"), rows


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_since(text: str) -> float:
    """argparse type for --since: seconds since the epoch, an ISO date, or an age (10m, 2h)."""
    text = text.strip()
    try:
        return float(text)
    except ValueError:
        pass
    unit = _UNITS.get(text[-1:].lower())
    if unit is not None:
        try:
            return time.time() - float(text[:-1]) * unit
        except ValueError:
            pass
    from datetime import datetime

    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid time {text!r}: expected seconds since the epoch, an ISO date "
            "(2024-05-01T10:00) or an age (30s, 10m, 2h, 1d, 1w)"
        ) from None


class ListEvents(Lister):
    """List the namespace's event journal (oldest first)."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument(
            "--since",
            metavar="<time>",
            type=parse_since,
            help="Only events after this time: epoch seconds, ISO date or age (10m, 2h, 1d)",
        )
        parser.add_argument(
            "--limit", metavar="<n>", type=positive_int, help="At most this many events"
        )
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> tuple[Any, Any]:
        human = self.humanize(parsed_args)
        rows = [
            (
                event.get("id"),
                time_cell(event.get("time"), human),
                event.get("type"),
                event.get("url"),
                event.get("request_id"),
                DictColumn(event.get("data") or {})
                if isinstance(event.get("data"), dict)
                else event.get("data"),
            )
            for event in self.api.event_list(since=parsed_args.since, limit=parsed_args.limit)
        ]
        return ("Id", "Time", "Type", "Url", "Request-Id", "Data"), rows
