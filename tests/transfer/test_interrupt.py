"""Ctrl-C on a terminal: what was kept is said, with the exact command that resumes; the
resumed transfer's bar starts where the first one stopped; partial files stay private."""

from __future__ import annotations

import re
import shlex
import stat
import subprocess
from pathlib import Path

from oiocli.transfer import part_path

from .helpers import ACCOUNT, MiB, ctrl_c_on_tty, md5_file, random_file, run_with_tty_stderr


def _resume_command(text: str) -> list[str]:
    """The command printed after 'To resume, run:' (without the program name)."""
    match = re.search(r"To resume, run:\s*\n\s*(\S.*)", text)
    assert match, text
    words = shlex.split(match.group(1).strip())
    assert words[0] in ("oio", "openio") and "--resume" in words
    return words[1:]


def _percents(text: str) -> list[int]:
    return [int(p) for p in re.findall(r"(\d+)%\|", text)]


def test_ctrl_c_of_a_download_keeps_a_private_partial_and_says_how_to_resume(oio):
    oio.api(chunk_size=8 * MiB)
    md5 = random_file(oio.cwd / "big.bin", 192 * MiB)
    oio.ok("object", "create", "c", "big.bin")
    meta = oio.api().object_get_properties(ACCOUNT, "c", "big.bin")
    target = oio.cwd / "out.bin"
    part = Path(part_path(str(target), meta))

    def half() -> bool:
        try:
            return part.stat().st_size >= 64 * MiB
        except FileNotFoundError:
            return False

    code, text = ctrl_c_on_tty(oio, ("object", "fetch", "c", "big.bin", "--file", "out.bin"), half)
    assert code == 130, text
    assert "Traceback" not in text
    kept = part.stat().st_size
    assert stat.S_IMODE(part.stat().st_mode) == 0o600  # private while incomplete
    assert not target.exists()
    assert "kept in a partial file" in text
    words = _resume_command(text)
    assert words == ["object", "fetch", "c", "big.bin", "--file", "out.bin", "--resume"]

    proc, bar = run_with_tty_stderr(oio, *words)
    assert proc.returncode == 0, bar
    assert md5_file(target) == md5 and not part.exists()
    assert stat.S_IMODE(target.stat().st_mode) == 0o644  # the umask's mode once complete
    assert f"({kept} bytes) not fetched again" in bar
    percents = _percents(bar)
    assert percents and percents[0] >= 100 * kept // (192 * MiB) - 1, bar  # starts there
    assert percents == sorted(percents)


def _file_size_limit(nbytes: int):
    def preexec() -> None:
        import resource
        import signal

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (nbytes, nbytes))

    return preexec


def test_full_file_system_says_which_and_what_was_not_written(oio):
    oio.api(chunk_size=MiB)
    random_file(oio.cwd / "f.bin", 4 * MiB)
    oio.ok("object", "create", "c", "f.bin")
    proc = subprocess.run(
        oio.argv("object", "fetch", "c", "f.bin", "--file", "got.bin"),
        capture_output=True,
        env=oio.env,
        cwd=oio.cwd,
        preexec_fn=_file_size_limit(MiB),
        timeout=120,
    )
    err = proc.stderr.decode()
    assert proc.returncode == 1, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "file system mounted on /" in err and "got.bin" in err and "not written" in err
    assert f"of {4 * MiB} bytes" in err
    assert not (oio.cwd / "got.bin").exists() and not list(oio.cwd.glob(".*oio-part"))
    # standard output on a full device
    with open("/dev/full", "wb") as full:
        proc = subprocess.run(
            oio.argv("object", "fetch", "c", "f.bin"),
            stdout=full,
            stderr=subprocess.PIPE,
            env=oio.env,
            cwd=oio.cwd,
            timeout=120,
        )
    err = proc.stderr.decode()
    assert proc.returncode == 1 and "Standard output" in err and "full" in err, err
    assert len(err.strip().splitlines()) == 1


def _journal_bytes(data_dir: Path) -> int:
    import json

    total = 0
    for path in (data_dir / "uploads").glob("*.json"):
        try:
            total += sum(m["size"] for m in json.loads(path.read_text())["metachunks"])
        except (OSError, ValueError, KeyError):
            pass  # being replaced
    return total


def test_ctrl_c_of_an_upload_without_resume_can_be_resumed(oio):
    """Started without --resume, an upload still keeps its journal: Ctrl-C says what is
    stored and prints the command; that command sends only the rest, its bar starting
    where the first one stopped."""
    oio.api(chunk_size=4 * MiB)
    md5 = random_file(oio.cwd / "big.bin", 160 * MiB)
    args = ("object", "create", "c", "big.bin")
    code, text = ctrl_c_on_tty(oio, args, lambda: _journal_bytes(oio.data_dir) >= 48 * MiB)
    assert code == 130, text
    assert "Traceback" not in text and "stored" in text
    assert "big.bin" not in oio.names("c")  # nothing visible until complete
    words = _resume_command(text)
    assert words == ["object", "create", "c", "big.bin", "--resume"]
    kept = _journal_bytes(oio.data_dir)

    proc, bar = run_with_tty_stderr(oio, *words, "-f", "json")
    assert proc.returncode == 0, bar
    match = re.search(r"resumed: .*\((\d+) bytes\) not sent again", bar)
    assert match and int(match.group(1)) >= kept, bar
    percents = _percents(bar)
    assert percents and percents[0] >= 100 * kept // (160 * MiB) - 1, bar
    assert oio.json("object", "show", "c", "big.bin")["hash"] == md5
    assert _journal_bytes(oio.data_dir) == 0 and not list((oio.data_dir / "uploads").glob("*"))


def test_resume_with_nothing_to_resume_says_so(oio):
    random_file(oio.cwd / "f.bin", MiB)
    proc = oio.ok("object", "create", "c", "f.bin", "--resume")
    assert "nothing to resume" in proc.err and "resumed:" not in proc.err


def test_single_file_json_progress_has_an_eta(oio):
    import json

    random_file(oio.cwd / "big.bin", 128 * MiB)
    proc = oio.ok(
        "object", "create", "c", "big.bin", "--progress", "json", "--progress-interval", "0.01"
    )
    events = [json.loads(line) for line in proc.err.splitlines()]
    progress = [e for e in events if e["event"] == "progress"]
    assert progress, events
    assert all(not e["planning"] for e in progress)  # one file: nothing left to plan
    assert any(e["eta"] is not None for e in progress if e["bytes"]), progress
