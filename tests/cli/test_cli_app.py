"""The application's own rules: help exits 0 and suggests like an unknown command does,
commands read from stdin report the worst status, abbreviations and empty or non-UTF-8
values are refused, a broken configuration file is named."""

from __future__ import annotations

import os
import subprocess

from conftest import NAMESPACE


def test_help_exits_0_and_unknown_help_suggests(oio):
    for args in (["help"], ["--help"], ["help", "object", "list"], ["object", "list", "--help"]):
        proc = oio.run(*args)
        assert proc.returncode == 0, (args, proc.err)
        assert proc.out and not proc.err
    typo = oio.fails(2, "object", "lst", "c")
    helped = oio.fails(2, "help", "object", "lst")
    assert helped.err == typo.err and "Did you mean: object list" in typo.err
    proc = oio.fails(2, "help", "nosuch")
    assert "unknown command 'nosuch'" in proc.err and proc.out == ""


def test_commands_from_stdin_report_the_worst_status(oio):
    oio.ok("object", "create", "c", "-", "--name", "o", input=b"x")
    script = (
        "# a comment, then a blank line\n"
        "\n"
        "object show c nope\n"  # 4
        "object list c -f value -c Name\n"  # 0
        "container show nocontainer\n"  # 3
        "object list c -f value -c Name\n"
    )
    proc = oio.run(input=script)
    assert proc.returncode == 3, proc.err  # container not found outranks object not found
    assert proc.out.split() == ["o", "o"]
    assert "unknown command" not in proc.err and "(Cmd)" not in proc.out
    assert len(proc.err.strip().splitlines()) == 2
    proc = oio.run("--fail-fast", input=script)
    assert proc.returncode == 4 and proc.out == ""  # stopped at the first failure
    proc = oio.run(input="object list c -f value -c Name\nobject list 'unclosed\n")
    assert proc.returncode == 2 and "line 2" in proc.err
    # stdin holds the commands: a command cannot read data from it
    proc = oio.run(input="object create c - --name p\n")
    assert proc.returncode == 2 and "Standard input" in proc.err
    assert oio.names("c") == ["o"]


def test_interactive_session_has_our_prompt_and_no_shell(oio, tmp_path):
    import pty
    import select
    import time

    canary = tmp_path / "canary"
    pid, fd = pty.fork()
    if pid == 0:  # the child: oio on the terminal
        os.chdir(oio.cwd)
        os.execve(oio.command[0], [*oio.command], {**oio.env, "TERM": "dumb"})
    out = b""

    def prompts(count: int, timeout: float = 60) -> None:
        """Read until the terminal has shown `count` prompts (or it closes)."""
        nonlocal out
        deadline = time.monotonic() + timeout
        while out.count(b"(oio) ") < count and time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.5)
            if ready:
                try:
                    out += os.read(fd, 65536)
                except OSError:
                    return

    prompts(1)
    assert b"(oio) " in out and b"(Cmd)" not in out
    lines = (f"shell touch {canary}", f"!touch {canary}", "py print(1)", "object show c x")
    for number, line in enumerate(lines, 2):
        os.write(fd, line.encode() + b"\n")
        prompts(number)
    os.write(fd, b"quit\n")
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    assert b"not found" in out  # the last command ran
    assert not canary.exists()  # no shell escape
    assert os.waitstatus_to_exitcode(status) == 2  # the worst: unknown commands (usage)


def test_option_abbreviations_are_refused(oio):
    oio.file("f", b"data")
    proc = oio.fails(2, "object", "create", "c", "f", "--pol", "SINGLE")
    assert "--pol" in proc.err
    oio.fails(2, "object", "list", "c", "--pre", "x")
    oio.fails(2, "--data", str(oio.root / "x"), "object", "list", "c")
    oio.fails(3, "container", "show", "c")  # nothing was created


def test_empty_and_non_utf8_values(oio):
    for option in ("--data-dir", "--ns", "--account", "--oio-proxy", "--request-id"):
        proc = oio.fails(2, option, "", "container", "list")
        assert option in proc.err and "empty" in proc.err
    oio.ok("object", "create", "c", "-", "--name", "o", input=b"x")
    bad = os.fsdecode(b"\xff\xfe")
    proc = subprocess.run(
        [*oio.command, "object", "list", "c", "--marker", bad],
        capture_output=True, env=oio.env, cwd=oio.cwd, timeout=60,
    )  # fmt: skip
    err = proc.stderr.decode()
    assert proc.returncode == 2 and "--marker" in err and "UTF-8" in err
    assert len(err.strip().splitlines()) == 1 and "codec" not in err
    proc = subprocess.run(
        [*oio.command, "object", "show", "c", bad],
        capture_output=True, env=oio.env, cwd=oio.cwd, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 2 and b"<object>" in proc.stderr
    # a local file name may be any bytes: it is not a name in the namespace
    path = os.path.join(os.fsencode(oio.cwd), b"caf\xe9.bin")
    with open(path, "wb") as f:
        f.write(b"latin-1 name")
    proc = subprocess.run(
        [*oio.command, "object", "create", "c", os.fsdecode(path), "--name", "cafe"],
        capture_output=True, env=oio.env, cwd=oio.cwd, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert oio.ok("object", "fetch", "c", "cafe").stdout == b"latin-1 name"


def test_broken_configuration_file_is_named(oio):
    conf = oio.home / ".oio" / "sds.conf"
    conf.parent.mkdir()
    env = {"OIO_ACCOUNT": "", "OIO_DATA_DIR": ""}
    conf.write_bytes(f"[{NAMESPACE}]\naccount = caf\xe9\n".encode("latin-1"))
    proc = oio.fails(1, "container", "list", env=env)
    assert str(conf) in proc.err and "UTF-8" in proc.err and "codec" not in proc.err
    conf.write_text(f"[{NAMESPACE}\naccount = x\n")
    proc = oio.fails(1, "container", "list", env=env)
    assert str(conf) in proc.err
    conf.write_text(f"[{NAMESPACE}]\naccount = fine\n")
    oio.ok("container", "create", "c", env=env)
    assert [r["Name"] for r in oio.json("account", "list", env=env)] == ["fine"]
