"""`oio help [<group> <verb>]`: the list of commands, or one command's help.

An unknown command gets the suggestions `oio <unknown>` gives, and exit 2.
"""

from __future__ import annotations

import argparse
import inspect
from typing import Any

from oiocli.commands.base import Command


def one_liner(factory: Any) -> str:
    """The first line of a command's description, as the command list shows it."""
    doc = getattr(factory, "_description", None) or inspect.getdoc(factory) or ""
    return doc.split("\n", 1)[0].rstrip(".")


class HelpCommand(Command):
    """Print the help of a command, or the list of commands."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("cmd", metavar="<command>", nargs="*", help="Command words")
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> int:
        import autopage.argparse

        app = self.app
        if not parsed_args.cmd:
            pager = autopage.argparse.help_pager(app.stdout)
            with pager as out:
                app.parser.print_help(out)
                out.write("\ncommands:\n")
                for name in sorted(app.command_manager.commands):
                    if name == "complete":
                        continue
                    factory = app.command_manager.commands[name].load()
                    out.write(f"  {name:<20} {one_liner(factory)}\n")
            return 0
        try:
            factory, name, _rest = app.command_manager.find_command(parsed_args.cmd)
        except ValueError:
            app.unknown_command(parsed_args.cmd)
            return 2
        cmd = factory(app, app.options, cmd_name=name)
        full_name = name if app.interactive_mode else f"{app.NAME} {name}"
        parser = cmd.get_parser(full_name)
        pager = autopage.argparse.help_pager(app.stdout)
        with pager as out:
            parser.print_help(out)
        return 0
