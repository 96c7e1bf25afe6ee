"""bash_completion/oio: generated from the command table, covers every command."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from oiocli.shell import COMMANDS

SCRIPT = Path(__file__).resolve().parents[2] / "bash_completion" / "oio"


def test_completion_file_is_up_to_date(oio):
    generated = oio.ok("complete").out
    assert SCRIPT.read_text() == generated, "regenerate: oio complete > bash_completion/oio"


def test_completion_covers_every_command():
    text = SCRIPT.read_text()
    groups: dict[str, set[str]] = {}
    for name in COMMANDS:
        group, verb = name.split()
        groups.setdefault(group, set()).add(verb)
        assert f"_oio_opts_{group}_{verb}='" in text, name
    for group, verbs in groups.items():
        line = next(x for x in text.splitlines() if x.startswith(f"_oio_verbs_{group}="))
        assert set(line.split("=", 1)[1].strip("'").split()) == verbs


def _complete(*words: str) -> list[str]:
    script = (
        f"source {SCRIPT}\n"
        'COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); _oio; printf "%s\\n" "${COMPREPLY[@]}"'
    )
    proc = subprocess.run(
        ["bash", "-c", script, "oio", *words], capture_output=True, text=True, timeout=30
    )
    assert proc.returncode == 0, proc.stderr
    return [w for w in proc.stdout.splitlines() if w]


@pytest.mark.skipif(not shutil.which("bash"), reason="needs bash")
def test_completion_in_bash():
    assert "object" in _complete("oio", "")
    assert _complete("oio", "object", "l") == ["link", "list", "locate"]
    assert _complete("oio", "--ns", "NS", "-a", "acct", "cont") == ["container"]
    assert "--prefix" in _complete("oio", "object", "list", "c", "--pre")
    assert _complete("oio", "container", "create", "--st") == ["--stgpol", "--storage-policy"]
    assert "--data-dir" in _complete("oio", "object", "list", "--data")
    assert _complete("oio", "help", "obj") == ["object"]
