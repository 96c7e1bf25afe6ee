"""The `oio` application itself: help, global options, configuration, errors, start-up."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys

from conftest import NAMESPACE, oio_command

from oiocli.shell import COMMANDS


def test_help_lists_commands_and_exit_codes(oio):
    proc = oio.ok("--help")
    for name in COMMANDS:
        assert name in proc.out
    assert "exit codes:" in proc.out
    for line in ("3  account or container not found", "8  partial success"):
        assert line in proc.out
    for option in ("--ns", "--account", "--oio-proxy", "--data-dir", "--request-id"):
        assert option in proc.out
    assert "--prefix" in oio.ok("help", "object", "list").out
    assert "--range" in oio.ok("object", "fetch", "--help").out


def test_version(oio):
    from oiocli import __version__

    assert __version__ in oio.ok("--version").out


def test_unknown_command_and_usage_errors(oio):
    proc = oio.fails(2, "object", "lst", "c")
    assert "object list" in proc.err  # a suggestion
    oio.fails(2, "object", "list")  # missing <container>
    oio.fails(2, "object", "list", "c", "--no-such-option")
    oio.fails(2, "container", "set", "c", "--status", "melted")
    oio.fails(2, "object", "list", "c", "--limit", "zero")
    oio.fails(2, "--ns")


def test_errors_are_one_line_and_debug_adds_traceback(oio):
    oio.ok("container", "create", "photos")
    proc = oio.fails(4, "object", "show", "photos", "nope")
    assert "nope" in proc.err and "photos" in proc.err
    proc = oio.fails(3, "object", "show", "nocontainer", "nope")
    assert "nocontainer" in proc.err
    proc = oio.run("--debug", "--request-id", "REQ-42", "object", "show", "photos", "nope")
    assert proc.returncode == 4
    assert "Traceback" in proc.err and "REQ-42" in proc.err
    assert proc.err.strip().splitlines()[-1] == "Object 'nope' not found in container 'photos'"


def test_global_option_beats_environment(oio):
    oio.ok("container", "create", "c", "--oio-account", "opt", env={"OIO_ACCOUNT": "env"})
    oio.ok("container", "create", "d", env={"OIO_ACCOUNT": "env"})
    assert [r["Name"] for r in oio.json("account", "list")] == ["env", "opt"]
    other = str(oio.root / "other-ns")
    show = oio.json("namespace", "show", "--data-dir", other, "--ns", "OTHER")
    assert (show["namespace"], os.path.realpath(show["data_dir"])) == (
        "OTHER",
        os.path.realpath(other),
    )
    assert oio.json("namespace", "show", "--oio-ns", "THIRD")["namespace"] == "THIRD"


def test_configuration_file(oio):
    conf = oio.home / ".oio" / "sds.conf"
    conf.parent.mkdir()
    conf.write_text(f"[{NAMESPACE}]\naccount = fromconf\ndata_dir = {oio.root / 'conf-ns'}\n")
    env = {"OIO_ACCOUNT": "", "OIO_DATA_DIR": ""}
    oio.ok("container", "create", "c", env=env)
    assert [r["Name"] for r in oio.json("account", "list", env=env)] == ["fromconf"]
    assert (oio.root / "conf-ns").is_dir()
    # the environment beats the file
    oio.ok("container", "create", "c", env={"OIO_ACCOUNT": "fromenv", "OIO_DATA_DIR": ""})
    names = [r["Name"] for r in oio.json("account", "list", env=env)]
    assert names == ["fromconf", "fromenv"]


def test_default_account(oio):
    oio.ok("container", "create", "c", env={"OIO_ACCOUNT": ""})
    assert [r["Name"] for r in oio.json("account", "list")] == ["myaccount"]


def test_proxy_unreachable_is_a_clean_retryable_error(oio):
    proc = oio.fails(5, "container", "list", "--oio-proxy", "http://127.0.0.1:1")
    assert "127.0.0.1:1" in proc.err


def test_openio_name(oio):
    script = os.path.join(os.path.dirname(oio.command[0]), "openio")
    if not os.path.exists(script):
        return
    proc = subprocess.run(
        [script, "container", "create", "c", "-f", "json"],
        capture_output=True,
        env=oio.env,
        cwd=oio.cwd,
        timeout=60,
    )
    assert proc.returncode == 0
    assert json.loads(proc.stdout) == [{"Name": "c", "Created": True}]


def test_broken_pipe_is_quiet(oio):
    for name in ("a", "b", "c"):
        oio.ok("object", "create", "c", "-", "--name", name, input=b"x")
    cmd = " ".join(oio.command) + " object list c -f value -c Name | head -c 1"
    proc = subprocess.run(
        ["bash", "-c", "set -o pipefail; " + cmd],
        capture_output=True,
        env=oio.env,
        cwd=oio.cwd,
        timeout=60,
    )
    assert proc.stdout == b"a"
    assert b"Traceback" not in proc.stderr


def _run_with_tty_stderr(oio, *args, input: bytes) -> str:
    """Run oio with stderr on a pseudo-terminal; return what it wrote there."""
    import fcntl
    import struct
    import termios
    import threading

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    chunks: list[bytes] = []

    def read() -> None:
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        proc = subprocess.run(
            [*oio.command, *args],
            input=input,
            stdout=subprocess.PIPE,
            stderr=slave,
            env=oio.env,
            cwd=oio.cwd,
            timeout=60,
        )
    finally:
        os.close(slave)
        reader.join(10)
        os.close(master)
    assert proc.returncode == 0
    return b"".join(chunks).decode(errors="replace")


def test_progress_only_on_a_terminal(oio):
    data = os.urandom(300_000)
    quiet = oio.ok("object", "create", "c", "-", "--name", "o", input=data)
    assert quiet.err == ""
    shown = _run_with_tty_stderr(oio, "object", "create", "c", "-", "--name", "p", input=data)
    assert "p:" in shown and "B" in shown  # "p: 293kB [...]"
    hidden = _run_with_tty_stderr(
        oio, "--no-progress", "object", "create", "c", "-", "--name", "q", input=data
    )
    assert hidden.strip() == ""
    assert oio.names("c") == ["o", "p", "q"]


def test_command_modules_load_lazily(oio):
    """Only the module of the command that runs is imported: no yaml, tqdm, osc_lib,
    prettytable, tabulate, nor the logging, filter or help machinery."""
    code = (
        "import sys, json\n"
        "from oiocli.shell import main\n"
        "main(['container', 'create', 'c', '-f', 'value'])\n"
        "main(['container', 'list'])\n"
        "print(json.dumps(sorted(sys.modules)), file=sys.stderr)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        env=oio.env,
        cwd=oio.cwd,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    modules = set(json.loads(proc.stderr.decode().strip().splitlines()[-1]))
    assert "oiocli.commands.container" in modules
    for lazy in (
        "oiocli.commands.object",
        "oiocli.commands.account",
        "yaml",
        "tqdm",
        "osc_lib",
        "osc_lib.utils",
        "wcwidth",
        "configparser",
        "cmd2",
        "prettytable",  # plain tables are drawn without it
        "tabulate",  # -f markdown only
        "oiocli.trace",  # -v, --log-file only
        "oiocli.filters",
        "oiocli.commands._examples",  # --help only
    ):
        assert lazy not in modules, lazy


def _modules_after(oio, *commands: list[str]) -> set[str]:
    """The modules a fresh interpreter holds after running `commands` through main()."""
    code = "import sys, json\nfrom oiocli.shell import main\n"
    code += "".join(f"main({command!r})\n" for command in commands)
    code += "print(json.dumps(sorted(sys.modules)), file=sys.stderr)\n"
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, env=oio.env, cwd=oio.cwd, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    return set(json.loads(proc.stderr.decode().strip().splitlines()[-1]))


def test_object_list_loads_no_data_path(oio):
    """Listing objects needs the metadata alone: neither the data path (writer, reader,
    pipeline, erasure coding), nor the chunk store and its O_DIRECT writer, nor what
    uploads and downloads use are imported."""
    oio.ok("object", "create", "c", "-", "--name", "o", input=b"x")
    modules = _modules_after(oio, ["object", "list", "c", "-f", "value", "-c", "Name"])
    assert "oiocli.commands.object" in modules
    assert "oiocli.backends.embedded.contents" in modules  # it did list, through the backend
    for lazy in (
        "oiocli.io",
        "oiocli.io.writer",
        "oiocli.io.reader",
        "oiocli.io.pipeline",
        "oiocli.core.buffers",
        "oiocli.core.chunks",
        "oiocli.core.direct",
        "oiocli.backends.embedded.chunks",
        "oiocli.backends.embedded.locks",
        "oiocli.transfer",  # create, fetch, save, copy...
        "pyeclib",
        "mmap",
        "dataclasses",
        "secrets",
        "hmac",
    ):
        assert lazy not in modules, lazy


def _gc_states(*commands: list[str]) -> list[list[bool]]:
    """(collector on, anything frozen) after each main(command) of one fresh interpreter."""
    code = "import gc, json, sys\nfrom oiocli.shell import main\nseen = []\n"
    for command in commands:
        code += f"main({command!r})\nseen.append((gc.isenabled(), gc.get_freeze_count()))\n"
    code += "print(json.dumps(seen), file=sys.stderr)\n"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stderr.decode().strip().splitlines()[-1])


def test_start_up_pauses_the_garbage_collector_once():
    """Start-up runs without the cyclic collector; the first command freezes what start-up
    built and turns it back on. main() never returns with it off, and later calls (a
    program running commands in a loop) freeze nothing more."""
    first, second = _gc_states(["help", "object", "list"], ["help", "object", "show"])
    assert first[0] is True and first[1] > 0
    assert second == first
    # no command ran (a usage error): nothing frozen, the collector on again
    assert _gc_states(["object", "list"]) == [[True, 0]]


def test_oio_command_is_runnable():
    assert oio_command()


def test_commands_from_stdin(oio):
    """Without a command, oio reads commands from stdin (OpenIO's batch mode)."""
    oio.ok("object", "create", "c", "-", "--name", "o", input=b"x")
    proc = oio.run(input="object list c -f value -c Name\nobject show c nope\n")
    assert proc.returncode == 4  # the worst status of the commands
    assert proc.out.split() == ["o"]
    assert "nope" in proc.err
    proc = oio.run(input="object show c nope\nobject list c -f value -c Name\n")
    assert proc.returncode == 4 and proc.out.split() == ["o"]  # an earlier failure counts
    proc = oio.run(input="object list\n")
    assert proc.returncode == 2 and "Traceback" not in proc.err
