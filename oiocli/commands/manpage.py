"""The oio(1) man page, generated from the command tree (`make man`).

The same parsers, descriptions, examples and exit codes as --help, in roff:
`python -m oiocli.commands.manpage man/oio.1` writes it (and `man/openio.1`,
which points to it). A test fails when the committed page is out of date.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from oiocli.commands.base import EXIT_MEANINGS, examples_of
from oiocli.commands.help import one_liner


def roff(text: str) -> str:
    """Text as roff: backslashes and hyphens escaped, no line taken for a request."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    return "\n".join(
        "\\&" + line if line.startswith((".", "'")) else line for line in text.split("\n")
    )


def _paragraphs(text: str) -> list[str]:
    return [" ".join(p.split()) for p in text.strip().split("\n\n") if p.strip()]


def _option_lines(parser: argparse.ArgumentParser) -> list[str]:
    formatter = parser._get_formatter()
    out: list[str] = []
    for group in parser._action_groups:
        actions = [a for a in group._group_actions if a.help != argparse.SUPPRESS]
        if not actions:
            continue
        out.append(f".PP\n\\fI{roff(group.title or 'options')}\\fR")
        for action in actions:
            if action.option_strings:
                names = ", ".join(f"\\fB{roff(o)}\\fR" for o in action.option_strings)
                if action.nargs != 0:
                    metavar = formatter._format_args(action, action.dest.upper())
                    names += f" \\fI{roff(metavar)}\\fR"
            else:
                names = f"\\fI{roff(formatter._metavar_formatter(action, action.dest)(1)[0])}\\fR"
            text = formatter._expand_help(action) if action.help else ""
            out.append(f".TP\n{names}\n{roff(' '.join(text.split()))}")
    return out


def _command(app: Any, name: str) -> list[str]:
    factory = app.command_manager.commands[name].load()
    cmd = factory(app, None, cmd_name=name)
    parser = cmd.get_parser(f"oio {name}")
    usage = " ".join(parser.format_usage().replace("usage: ", "", 1).split())
    out = [
        f'.SS "oio {roff(name)}"',
        roff(one_liner(factory)) + ".",
        ".PP",
        f"\\fB{roff(usage)}\\fR",
    ]
    description = (parser.description or "").split("\n", 1)
    for paragraph in _paragraphs(description[1] if len(description) > 1 else ""):
        out += [".PP", roff(paragraph)]
    out += _option_lines(parser)
    for paragraph in _paragraphs(parser.epilog or ""):
        out += [".PP", roff(paragraph)]
    examples = examples_of(name)
    if examples:
        out.append(".PP\n\\fIexamples\\fR")
        for what, line in examples:
            out += [".TP", roff(what), f"\\f(CW{roff(line)}\\fR"]
    codes = ", ".join(
        f"{c} ({EXIT_MEANINGS[c].split(' (')[0].split(':')[0]})" for c in cmd.exit_codes(parser)
    )
    out += [".PP", f"\\fIexit codes\\fR: {roff(codes)}."]
    return out


def man_page() -> str:
    os.environ["COLUMNS"] = "80"  # usage lines wrap the same on every machine
    from oiocli import __version__
    from oiocli.shell import EXIT_CODES_HELP, OioShell

    OioShell.NAME = "oio"
    app = OioShell()
    parser = app.parser
    lines = [
        f'.TH OIO 1 "" "oiocli {__version__}" "User Commands"',
        ".SH NAME",
        "oio, openio \\- manage accounts, containers and objects of OpenIO-style object storage",
        ".SH SYNOPSIS",
        ".B oio",
        "[\\fIglobal options\\fR] \\fIgroup verb\\fR [\\fIarguments\\fR] "
        "[\\fB\\-f\\fR \\fIformat\\fR] [\\fB\\-c\\fR \\fIcolumn\\fR]...",
        ".br",
        ".B oio",
        "[\\fIglobal options\\fR] < \\fIcommands\\fR",
        ".SH DESCRIPTION",
        roff(" ".join((parser.description or "").split())),
        ".PP",
        roff(
            "Without a command, oio runs the commands read from standard input, one per "
            "line (an interactive session on a terminal, prompt (oio)); its exit status is "
            "the most severe of theirs. Every listing and show takes -f table, json, csv, "
            "value, yaml or markdown (and shell for a show) and -c to choose columns; "
            "json and yaml keep types, a null is empty in text formats."
        ),
        ".SH GLOBAL OPTIONS",
        *_option_lines(parser)[1:],
        ".SH COMMANDS",
    ]
    for name in sorted(app.command_manager.commands):
        lines += _command(app, name)
    exit_lines = [
        line.strip() for line in EXIT_CODES_HELP.split("\n\n")[0].splitlines()[1:] if line.strip()
    ]
    lines.append(".SH EXIT STATUS")
    for line in exit_lines:
        code, _, meaning = line.partition(" ")
        lines += [".TP", f"\\fB{code}\\fR", roff(meaning.strip())]
    lines += [".TP", "\\fB130\\fR", roff(EXIT_MEANINGS[130])]
    lines += [
        ".SH ENVIRONMENT",
        ".TP\n\\fBOIO_NS\\fR, \\fBOIO_ACCOUNT\\fR, \\fBOIO_PROXYD_URL\\fR, \\fBOIO_DATA_DIR\\fR",
        roff("Defaults of --ns, --account, --oio-proxy and --data-dir."),
        ".TP\n\\fBOIO_LOG_FORMAT\\fR",
        roff("Default of --log-format (text or json)."),
        ".SH FILES",
        ".TP\n\\fI/etc/oio/sds.conf\\fR, \\fI/etc/oio/sds.conf.d/<NS>\\fR, \\fI~/.oio/sds.conf\\fR",
        roff(
            "OpenIO's INI files, read in this order (a later one wins); the section named "
            "after the namespace gives account, proxy and data_dir."
        ),
        ".TP\n\\fI$XDG_DATA_HOME/oiocli/<NS>\\fR",
        roff("The embedded namespace's data directory, by default."),
        ".SH SEE ALSO",
        roff("oio help <group> <verb>; docs/CLI.md in the source distribution."),
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    text = man_page()
    if not argv:
        sys.stdout.write(text)
        return 0
    path = argv[0]
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    with open(os.path.join(os.path.dirname(path) or ".", "openio.1"), "w", encoding="utf-8") as f:
        f.write(".so man1/oio.1\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
