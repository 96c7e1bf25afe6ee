"""-v, --log-file, --log-format json, --debug: a record per request or chunk operation
(method, URL or path, status, bytes, latency, request id), and nothing when off."""

from __future__ import annotations

import json
import os
import re
import subprocess

TRACE = re.compile(
    r"oiocli\.trace: (chunk|meta|http) (\S+) (\S+) (\S+) (\S+(?: B)?) ([\d.]+) ms req=(\S+)"
)


def _records(text: str) -> list[tuple[str, ...]]:
    return [m.groups() for m in TRACE.finditer(text)]


def test_off_by_default(oio):
    oio.file("f", os.urandom(3000))
    proc = oio.ok("object", "create", "c", "f", "-f", "json")
    assert proc.err == ""
    assert json.loads(proc.out)[0]["Status"] == "Ok"


def test_verbose_logs_each_chunk_and_metadata_operation(oio):
    data = os.urandom(3000)
    oio.file("f", data)
    proc = oio.ok("-v", "--request-id", "REQ-TRACE", "object", "create", "c", "f", "-f", "json")
    assert json.loads(proc.out)[0]["Size"] == 3000  # stdout is unchanged
    records = _records(proc.err)
    puts = [r for r in records if r[:2] == ("chunk", "PUT")]
    assert len(puts) == 1  # SINGLE: one chunk
    kind, method, url, status, size, ms, reqid = puts[0]
    assert url.startswith("file://") and status == "ok" and size == "3000 B"
    assert float(ms) >= 0 and reqid == "REQ-TRACE"
    assert ("meta", "content_create") in [r[:2] for r in records]
    proc = oio.ok("-v", "object", "fetch", "c", "f")
    assert proc.stdout == data
    (get,) = [r for r in _records(proc.err) if r[:2] == ("chunk", "GET")]
    assert get[3:5] == ("ok", "3000 B") and get[6].startswith("CLI-object-fetch-")
    # a failed operation is recorded with its error
    proc = oio.run("-v", "object", "show", "c", "nope")
    assert proc.returncode == 4
    assert any(r[0] == "meta" and r[3] == "NoSuchObject" for r in _records(proc.err))


def test_log_file_captures_it_and_json_lines_for_cron(oio):
    oio.file("f", b"x" * 100)
    log = oio.root / "oio.log"
    proc = oio.ok("--log-file", str(log), "object", "create", "c", "f")
    assert proc.err == ""  # -v not given: the file only
    assert any(r[:2] == ("chunk", "PUT") for r in _records(log.read_text()))
    proc = oio.ok("-v", "--log-format", "json", "object", "list", "c", "-f", "value", "-c", "Name")
    assert proc.out == "f\n"
    entries = [json.loads(line) for line in proc.err.splitlines()]
    assert entries and all(e["logger"] == "oiocli.trace" for e in entries)
    (listing,) = [e for e in entries if e["method"] == "content_list"]
    assert listing["kind"] == "meta" and listing["status"] == "ok"
    assert isinstance(listing["ms"], float) and listing["request_id"].startswith("CLI-")
    assert listing["target"] == "acct/c" and listing["time"].endswith("Z")
    json_log = oio.root / "json.log"
    oio.ok("--log-file", str(json_log), "--log-format", "json", "object", "fetch", "c", "f")
    (get,) = [json.loads(line) for line in json_log.read_text().splitlines() if '"GET"' in line]
    assert get["bytes"] == 100 and get["kind"] == "chunk"


def test_debug_and_quiet_change_what_a_successful_command_prints(oio):
    oio.file("f", b"x")
    proc = oio.ok("--debug", "object", "create", "c", "f", "-f", "value")
    assert _records(proc.err)  # --debug shows the operations (and debug messages)
    proc = oio.ok("-q", "object", "list", "c", "-f", "value")
    assert proc.err == ""
    proc = oio.fails(
        1, "--log-file", str(oio.root / "no" / "such" / "dir.log"), "container", "list"
    )
    assert "log file" in proc.err


def test_verbose_logs_http_requests_to_a_proxy(oio, tmp_path):
    env = {**oio.env, "OIO_DATA_DIR": str(tmp_path / "served")}
    server = subprocess.Popen(
        [*oio.command, "namespace", "serve", "--port", "0"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        url = server.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), url
        oio.file("f", os.urandom(2000))
        proc = oio.ok("-v", "--oio-proxy", url, "object", "create", "c", "f", "-f", "value")
        records = _records(proc.err)
        assert records and all(r[0] == "http" for r in records)
        methods = {(r[1], r[3]) for r in records}
        assert ("POST", "200") in methods or ("POST", "204") in methods
        (put,) = [r for r in records if r[1] == "PUT"]  # the chunk, to the rawx
        assert put[2].startswith("http://127.0.0.1:") and put[3] in ("200", "201")
        assert put[4] == "2000 B"  # its streamed body
        assert all(r[6].startswith("CLI-object-create-") for r in records)
    finally:
        server.terminate()
        server.wait(30)
