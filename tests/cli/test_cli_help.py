"""Every command's help ends with its examples and the exit codes it can return; the
man page is generated from the same source, committed and installed with the package."""

from __future__ import annotations

import configparser
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from oiocli.commands._examples import EXAMPLES
from oiocli.shell import COMMANDS

ROOT = Path(__file__).resolve().parents[2]


def _help_text(app, name: str) -> str:
    factory = app.command_manager.commands[name].load()
    return factory(app, None, cmd_name=name).get_parser(f"oio {name}").format_help()


def _check_help(name: str, text: str) -> None:
    assert "\nexamples:\n" in text and "\nexit codes:\n" in text, name
    examples = text.split("\nexamples:\n", 1)[1].split("\nexit codes:\n")[0]
    described = [line for line in examples.splitlines() if line.startswith("  # ")]
    assert 2 <= len(described) <= 3, examples
    assert len(examples.strip().splitlines()) == 2 * len(described)  # each with its line
    codes = [int(line.split()[0]) for line in text.split("\nexit codes:\n")[1].splitlines() if line]
    assert codes[:3] == [0, 1, 2] and codes == sorted(codes)
    if name.startswith("object ") and name not in ("object create", "object list"):
        assert 4 in codes, name  # names an object
    if "check" in name or name == "volume rebuild":
        assert 7 in codes, name
    assert text.rstrip().splitlines()[-1].startswith("  ")  # the exit codes end it


def test_every_help_ends_with_examples_and_exit_codes():
    from oiocli.shell import OioShell

    app = OioShell()
    for name in sorted(COMMANDS):
        _check_help(name, _help_text(app, name))


def test_help_on_the_command_line(oio):
    for args in (["object", "create", "--help"], ["help", "container", "sync"]):
        proc = oio.ok(*args)
        _check_help(" ".join(a for a in args if a not in ("help", "--help")), proc.out)


def _parse(app, words: list[str]) -> None:
    """Parse an example's words as oio would (global options, command, its options)."""
    options, rest = app.parser.parse_known_args(words)
    factory, name, args = app.command_manager.find_command(rest)
    parser = factory(app, options, cmd_name=name).get_parser(f"oio {name}")
    parser.allow_abbrev = False
    parser.parse_args(args)


def test_examples_are_valid_command_lines():
    from oiocli.shell import OioShell

    app = OioShell()
    checked = 0
    for name, examples in EXAMPLES.items():
        for _what, line in examples:
            if line.startswith("{oio} "):  # a command with a substitution or a redirection
                line = re.sub(r'"\$\(\{oio\}[^)]*\)"', "VALUE", line[6:])
                line = line.split(" |")[0].split(" >")[0]
            elif "{oio} " in line:  # a command inside shell: `eval "$(oio ...)"`, `x | oio ...`
                line = re.split(r"\)|\s[|>]", line.split("{oio} ", 1)[1])[0]
            words = shlex.split(line)
            try:
                _parse(app, words)
            except SystemExit as exc:
                pytest.fail(f"{name}: example {line!r} does not parse (exit {exc.code})")
            checked += 1
    assert checked >= 2 * len(COMMANDS)


def test_man_page_is_generated_and_up_to_date():
    from oiocli.commands.manpage import man_page

    assert (ROOT / "man" / "oio.1").read_text() == man_page(), "regenerate with: make man"
    assert (ROOT / "man" / "openio.1").read_text() == ".so man1/oio.1\n"
    text = (ROOT / "man" / "oio.1").read_text()
    for name in COMMANDS:
        assert f'.SS "oio {name.replace("-", chr(92) + "-")}"' in text, name
    assert ".SH EXIT STATUS" in text and "\\fB130\\fR" in text


@pytest.mark.skipif(not shutil.which("man"), reason="man is not installed")
def test_man_page_renders_without_warnings():
    proc = subprocess.run(
        ["man", "--warnings", "-l", str(ROOT / "man" / "oio.1")],
        capture_output=True,
        text=True,
        env={"MANWIDTH": "80", "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
        timeout=60,
    )
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    assert "oio object create" in proc.stdout and "EXIT STATUS" in proc.stdout
    assert re.search(r"--include\s+<pattern>", proc.stdout)


def test_man_page_and_completions_are_installed_with_the_package():
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    files = {
        target: [f.strip() for f in value.replace("\n", ",").split(",") if f.strip()]
        for target, value in config.items("options.data_files")
    }
    assert "man/oio.1" in files["share/man/man1"]
    assert "completions/oio.bash" in files["share/bash-completion/completions"]
    assert "completions/_oio" in files["share/zsh/site-functions"]
    assert "completions/oio.fish" in files["share/fish/vendor_completions.d"]
    for names in files.values():
        for name in names:
            assert (ROOT / name).is_file(), name
