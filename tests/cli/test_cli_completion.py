"""Completion for bash, zsh and fish: generated from the command tree, committed, and
exercised in the real shells (zsh and fish tests skip when the shell is not installed:
CI installs the Debian packages zsh and fish)."""

from __future__ import annotations

import os
import pty
import select
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest
from conftest import oio_command

from oiocli.shell import COMMANDS

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = {
    "bash": ROOT / "completions" / "oio.bash",
    "zsh": ROOT / "completions" / "_oio",
    "fish": ROOT / "completions" / "oio.fish",
}
BIN = str(Path(oio_command()[0]).parent)


def test_committed_scripts_are_up_to_date(oio):
    for shell, path in SCRIPTS.items():
        generated = oio.ok("complete", "--shell", shell).out
        assert path.read_text() == generated, f"regenerate with: make man ({path.name})"
    assert oio.ok("complete").out == SCRIPTS["bash"].read_text()  # bash by default


def test_scripts_cover_every_command():
    for shell, path in SCRIPTS.items():
        text = path.read_text()
        for name in COMMANDS:
            assert f"pos:{name}'" in text, (shell, name)


@pytest.fixture
def namespace(oio):
    """A namespace with containers and objects to complete."""
    for name in ("photos/2024/a.jpg", "photos/2024/b.jpg", "photos/c.png", "readme"):
        oio.ok("object", "create", "pics", "-", "--name", name, input=b"x")
    oio.ok("container", "create", "pictures", "other")
    oio.env["PATH"] = f"{BIN}:{oio.env.get('PATH', '')}"
    return oio


def _bash(oio, *words: str) -> list[str]:
    script = (
        f"source {SCRIPTS['bash']}\n"
        'COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); _oio; printf "%s\\n" "${COMPREPLY[@]}"'
    )
    proc = subprocess.run(
        ["bash", "-c", script, "oio", *words],
        capture_output=True, text=True, env=oio.env, cwd=oio.cwd, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return [w for w in proc.stdout.splitlines() if w]


def test_bash(namespace):
    oio = namespace
    assert "object" in _bash(oio, "oio", "")
    assert _bash(oio, "oio", "object", "l") == ["link", "list", "locate"]
    assert _bash(oio, "oio", "--ns", "NS", "-a", "acct", "cont") == ["container"]
    assert "--prefix" in _bash(oio, "oio", "object", "list", "c", "--pre")
    assert _bash(oio, "oio", "container", "create", "--st") == ["--stgpol", "--storage-policy"]
    assert "--data-dir" in _bash(oio, "oio", "object", "list", "--data")
    assert _bash(oio, "oio", "help", "obj") == ["object"]
    assert _bash(oio, "oio", "help", "object", "cr") == ["create"]
    # option values: choices, policies from the namespace, files
    assert _bash(oio, "oio", "object", "list", "c", "-f", "j") == ["json"]
    assert _bash(oio, "oio", "object", "create", "c", "--progress", "") == [
        "auto", "bar", "log", "json", "none",
    ]  # fmt: skip
    assert "THREECOPIES" in _bash(oio, "oio", "object", "create", "c", "f", "--policy", "T")
    oio.file("local.txt", b"x")
    assert _bash(oio, "oio", "object", "fetch", "pics", "readme", "--file", "loc") == ["local.txt"]
    # names from the namespace: containers, then objects one '/' level at a time
    assert _bash(oio, "oio", "object", "list", "pic") == ["pics", "pictures"]
    assert _bash(oio, "oio", "object", "show", "pics", "") == ["photos/", "readme"]
    assert _bash(oio, "oio", "object", "show", "pics", "photos/") == [
        "photos/2024/", "photos/c.png",
    ]  # fmt: skip
    assert _bash(oio, "oio", "object", "delete", "pics", "readme", "photos/2024/") == [
        "photos/2024/a.jpg", "photos/2024/b.jpg",
    ]  # fmt: skip
    # global options given on the line are passed on: another account has other names
    assert _bash(oio, "oio", "-a", "nobody", "object", "list", "pic") == []
    # an option's value is skipped when counting positional arguments
    assert _bash(oio, "oio", "object", "show", "--object-version", "1", "pics", "re") == ["readme"]


def test_names_give_up_quickly_on_a_silent_proxy(oio):
    """A proxy that accepts and never answers: the names come back empty, exit 0."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.getsockname()[1]}"
        proc = oio.run("--oio-proxy", url, "complete", "--names", "container", "--", "p")
        assert proc.returncode == 0 and proc.out == "" and proc.err == ""
    finally:
        stop.set()
        thread.join(5)
        for conn in held:
            conn.close()
        server.close()


@pytest.mark.skipif(not shutil.which("zsh"), reason="zsh is not installed (apt-get install zsh)")
def test_zsh_functions(namespace):
    """The zsh functions in a real zsh, with compadd/_files recording what they are given
    (compadd then filters by the current word, as zsh's does)."""
    oio = namespace
    harness = (
        'compadd() { local a seen=0 cur=$words[CURRENT]; for a in "$@"; do '
        'if (( seen )); then [[ $a == "$cur"* ]] && print -r -- "$a"; '
        "elif [[ $a == -- ]]; then seen=1; fi; done }\n"
        '_files() { print -r -- "FILES $*" }\n'
        f"source {SCRIPTS['zsh']}\n"
        'words=("$@"); CURRENT=$#; _oio\n'
    )

    def zsh(*words: str) -> list[str]:
        proc = subprocess.run(
            ["zsh", "-f", "-c", harness, "zsh", *words],
            capture_output=True, text=True, env=oio.env, cwd=oio.cwd, timeout=60,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        return [w for w in proc.stdout.splitlines() if w]

    assert zsh("oio", "object", "l") == ["link", "list", "locate"]
    assert zsh("oio", "--ns", "NS", "-a", "acct", "cont") == ["container"]
    assert zsh("oio", "container", "create", "--st") == ["--stgpol", "--storage-policy"]
    assert zsh("oio", "object", "list", "c", "-f", "j") == ["json"]
    assert zsh("oio", "object", "list", "pic") == ["pics", "pictures"]
    assert zsh("oio", "object", "show", "pics", "photos/") == ["photos/2024/", "photos/c.png"]
    assert zsh("oio", "object", "fetch", "pics", "readme", "--file", "x") == ["FILES "]
    assert zsh("oio", "container", "save", "pics", "-D", "x") == ["FILES -/"]


@pytest.mark.skipif(not shutil.which("zsh"), reason="zsh is not installed (apt-get install zsh)")
def test_zsh_tab_on_a_terminal(namespace, tmp_path):
    """Tab typed in an interactive zsh with compinit: the command line is completed."""
    oio = namespace
    fpath = tmp_path / "fpath"
    fpath.mkdir()
    shutil.copy(SCRIPTS["zsh"], fpath / "_oio")
    env = {**oio.env, "ZDOTDIR": str(tmp_path), "TERM": "dumb", "HOME": str(tmp_path)}
    (tmp_path / ".zshrc").write_text(
        f"fpath=({fpath} $fpath)\nautoload -U compinit && compinit -u\nPROMPT='> '\n"
    )
    pid, fd = pty.fork()
    if pid == 0:
        os.chdir(oio.cwd)
        os.execve(shutil.which("zsh"), ["zsh", "-i"], env)
    out = b""

    def read_for(seconds: float) -> None:
        nonlocal out
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.1)
            if ready:
                try:
                    out += os.read(fd, 65536)
                except OSError:
                    return

    def wait_for(text: bytes, seconds: float = 60) -> bool:
        deadline = time.monotonic() + seconds
        while text not in out and time.monotonic() < deadline:
            read_for(0.2)
        return text in out

    try:
        assert wait_for(b"> ")
        # the line typed: `oio object sh<Tab>pict<Tab>x<Enter>`; what ran says what
        # the Tabs made of it (a terminal's echo of the edits is not plain text)
        os.write(fd, b"oio object sh\t")
        read_for(1)
        os.write(fd, b"pict\t")  # one container starts so: a name from the namespace
        read_for(1)
        os.write(fd, b"x\n")
        assert wait_for(b"Object 'x' not found in container 'pictures'"), out
    finally:
        os.write(fd, b"\x03exit\n")
        read_for(0.5)
        os.close(fd)
        os.waitpid(pid, 0)


@pytest.mark.skipif(not shutil.which("fish"), reason="fish is not installed (apt-get install fish)")
def test_fish(namespace):
    oio = namespace

    def fish(line: str) -> list[str]:
        proc = subprocess.run(
            ["fish", "--no-config", "-c", f"source {SCRIPTS['fish']}; complete -C {line!r}"],
            capture_output=True, text=True, env=oio.env, cwd=oio.cwd, timeout=60,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        return [w.split("\t")[0] for w in proc.stdout.splitlines() if w]

    assert fish("oio object l") == ["link", "list", "locate"]
    assert fish("openio --ns NS -a acct cont") == ["container"]
    assert fish("oio object list c -f j") == ["json"]
    assert fish("oio object list pic") == ["pics", "pictures"]
    assert fish("oio object show pics photos/") == ["photos/2024/", "photos/c.png"]
    assert "THREECOPIES" in fish("oio object create c f --policy T")
