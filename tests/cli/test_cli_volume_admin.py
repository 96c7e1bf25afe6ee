"""`oio volume add`, `oio volume drain`, `oio volume check` of every volume."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from oiocli.backends.embedded.chunks import chunk_path

DATA = os.urandom(200_000)


def _config(oio) -> dict:
    return json.loads((oio.data_dir / "namespace.json").read_text())


def _volumes(oio) -> dict[str, dict]:
    return {row["Volume"]: row for row in oio.json("volume", "list")}


def _upload(oio, name: str, policy: str = "THREECOPIES", data: bytes = DATA) -> None:
    path = oio.file(f"{name}.bin", data)
    oio.ok("object", "create", "c", str(path), "--name", name, "--policy", policy)


def _fetch(oio, name: str) -> bytes:
    return oio.ok("object", "fetch", "c", name, "--file", "-").stdout


def _used_volume(oio, name: str) -> str:
    url = oio.json("object", "locate", "c", name)[0]["Id"]
    return os.path.basename(os.path.dirname(os.path.dirname(chunk_path(url))))


def test_add_volume_is_durable_and_used(oio):
    oio.ok("namespace", "show")  # makes the namespace
    new = oio.root / "disk2" / "vol-new"
    out = oio.json("volume", "add", str(new))
    assert out["volume"] == "vol-new" and out["state"] == "ok"
    assert str(new) in _config(oio)["volumes"]
    assert _volumes(oio)["vol-new"]["State"] == "ok"
    assert (new / ".oiocli-volume").exists()
    # Every other volume draining: new chunks can only go to the new one.
    for name in _volumes(oio):
        if name != "vol-new":
            (oio.data_dir / "volumes" / name / ".oiocli-draining").write_text("")
    _upload(oio, "a", "SINGLE")
    assert _used_volume(oio, "a") == "vol-new"


def test_add_volume_refuses_and_changes_nothing(oio):
    oio.ok("namespace", "show")
    before = _config(oio)
    busy = oio.root / "busy"
    busy.mkdir()
    (busy / "somefile").write_text("not ours")
    proc = oio.fails(1, "volume", "add", str(busy))
    assert "not empty" in proc.err and (busy / "somefile").exists()
    proc = oio.fails(1, "volume", "add", str(oio.data_dir / "volumes" / "vol-1"))
    assert "already volume vol-1" in proc.err
    oio.fails(1, "volume", "add", str(oio.data_dir / "volumes" / "vol-1" / "inner"))
    oio.fails(1, "volume", "add", str(oio.data_dir / "containers" / "x"))
    oio.fails(1, "volume", "add", str(oio.root / "other" / "vol-2"))  # a name already used
    afile = oio.root / "afile"
    afile.write_text("")
    oio.fails(1, "volume", "add", str(afile))
    # Another namespace's volume.
    (oio.root / "second").mkdir()
    other = type(oio)(oio.root / "second")
    other.ok("namespace", "show")
    foreign = oio.root / "foreign"
    foreign.mkdir()
    mark = other.data_dir / "volumes" / "vol-0" / ".oiocli-volume"
    (foreign / ".oiocli-volume").write_bytes(mark.read_bytes())
    proc = oio.fails(1, "volume", "add", str(foreign))
    assert "belongs to the namespace in" in proc.err
    assert _config(oio) == before


def test_drain_moves_every_chunk_keeping_placement(oio):
    for i in range(4):
        _upload(oio, f"r{i}")
    _upload(oio, "ec", "EC21")
    oio.ok("object", "copy", "c", "r0", "r0-link")  # a hard-linked chunk
    oio.ok("volume", "add", str(oio.root / "spare"))
    victim = _used_volume(oio, "r0")
    out = oio.json("volume", "drain", victim)
    assert out["state"] == "drained" and out["records_left"] == 0 and out["files_left"] == 0
    # r0's chunk there is copied, the one r0-link shares with it linked again.
    assert out["copied"] >= 1 and out["linked"] >= 1 and out["failed"] == 0
    assert _volumes(oio)[victim]["State"] == "draining"
    assert _volumes(oio)[victim]["Chunks"] == 0
    for name in ("r0", "r1", "r2", "r3", "ec", "r0-link"):
        assert _fetch(oio, name) == DATA
        rows = oio.json("object", "locate", "c", name)
        volumes = [os.path.dirname(os.path.dirname(chunk_path(r["Id"]))) for r in rows]
        assert victim not in {os.path.basename(v) for v in volumes}
        assert len(set(volumes)) == len(volumes)  # a metachunk's chunks on distinct volumes
    check = oio.run("container", "check", "c")
    assert check.returncode == 0, check.out
    # The copy and its source still share their data on the new volume.
    a = {os.stat(chunk_path(r["Id"])).st_ino for r in oio.json("object", "locate", "c", "r0")}
    b = {os.stat(chunk_path(r["Id"])).st_ino for r in oio.json("object", "locate", "c", "r0-link")}
    assert a == b
    # New uploads avoid it; --cancel puts it back in service.
    _upload(oio, "after", "THREECOPIES")
    assert victim not in {
        os.path.basename(os.path.dirname(os.path.dirname(chunk_path(r["Id"]))))
        for r in oio.json("object", "locate", "c", "after")
    }
    assert oio.json("volume", "drain", victim, "--cancel")["state"] == "in service"
    assert _volumes(oio)[victim]["State"] == "ok"


def test_drain_then_remove(oio):
    _upload(oio, "a")
    oio.ok("volume", "add", str(oio.root / "spare"))
    victim = _used_volume(oio, "a")
    out = oio.json("volume", "drain", victim, "--remove")
    assert out["removed"] is True
    assert victim not in {os.path.basename(v) for v in _config(oio)["volumes"]}
    assert _fetch(oio, "a") == DATA
    # The namespace's policies need 9 volumes: the last spare one is not removed.
    other = _used_volume(oio, "a")
    proc = oio.fails(1, "volume", "drain", other, "--remove")
    assert "need 9 volumes" in proc.err
    assert _fetch(oio, "a") == DATA


def test_drain_reports_orphans_and_deletes_them(oio):
    _upload(oio, "a", "SINGLE")
    victim = _used_volume(oio, "a")
    orphan = oio.data_dir / "volumes" / victim / "AB" / ("AB" + "0" * 62)
    orphan.parent.mkdir(exist_ok=True)
    orphan.write_bytes(b"left by a crash")
    # Younger than --min-age (an hour): maybe an upload in progress, worth a retry.
    assert oio.run("volume", "drain", victim).returncode == 5
    proc = oio.run("volume", "drain", victim, "--min-age", "0", "-f", "json")
    assert proc.returncode == 1, proc.err
    out = json.loads(proc.stdout)
    assert out["orphans_left"] == 1 and out["records_left"] == 0 and out["state"] == "draining"
    assert "--delete-orphans" in proc.err
    out = oio.json("volume", "drain", victim, "--delete-orphans", "--min-age", "0")
    assert out["state"] == "drained" and out["orphans_deleted"] == 1 and not orphan.exists()
    assert _fetch(oio, "a") == DATA


def test_drain_with_nowhere_to_go_is_degraded_and_keeps_the_chunks(oio):
    oio.ok("namespace", "show")
    # Only three usable volumes for a three-copy object: a copy cannot move anywhere.
    for name in _volumes(oio):
        if name not in ("vol-0", "vol-1", "vol-2"):
            (oio.data_dir / "volumes" / name / ".oiocli-draining").write_text("")
    _upload(oio, "a")
    proc = oio.run("volume", "drain", "vol-0", "-f", "json")
    assert proc.returncode == 7, proc.err
    out = json.loads(proc.stdout)
    assert out["records_left"] == 1 and out["failed"] == 1
    assert "not moved" in proc.err
    assert _fetch(oio, "a") == DATA and oio.run("object", "check", "c", "a").returncode == 0


def test_drain_rebuilds_an_unreadable_chunk_from_the_others(oio):
    _upload(oio, "a")
    victim = _used_volume(oio, "a")
    url = next(r["Id"] for r in oio.json("object", "locate", "c", "a") if f"/{victim}/" in r["Id"])
    with open(chunk_path(url), "r+b") as f:
        f.seek(100)
        f.write(b"garbage!")
    out = oio.json("volume", "drain", victim)
    assert out["rebuilt"] == 1 and out["state"] == "drained"
    assert _fetch(oio, "a") == DATA
    assert oio.run("object", "check", "c", "a").returncode == 0


def test_drain_unknown_volume_and_bad_options(oio):
    oio.ok("namespace", "show")
    proc = oio.fails(1, "volume", "drain", "vol-99")
    assert "Unknown volume" in proc.err
    oio.fails(2, "volume", "drain", "vol-1", "--cancel", "--remove")


def test_drain_under_concurrent_uploads_loses_nothing(oio):
    """Uploads run while the volume drains: each that exited 0 reads back, and
    no chunk is left recorded on the drained volume once they are done."""
    oio.ok("volume", "add", str(oio.root / "spare"))
    _upload(oio, "seed")
    script = (
        "for i in $(seq 1 12); do "
        '"$OIO" object create c "$SRC" --name w$i --policy TWOCOPIES >/dev/null 2>&1 '
        "&& echo w$i; done"
    )
    src = oio.file("w.bin", DATA)
    writer = subprocess.Popen(
        ["bash", "-c", script],
        env={**oio.env, "OIO": oio.command[0], "SRC": str(src)},
        stdout=subprocess.PIPE,
        cwd=oio.cwd,
    )
    first = oio.run("volume", "drain", "vol-3")
    assert first.returncode in (0, 5, 7), first.err
    done = writer.communicate(timeout=300)[0].decode().split()
    assert writer.returncode == 0
    out = oio.json("volume", "drain", "vol-3")  # uploads finished: nothing comes any more
    assert out["state"] == "drained" and out["records_left"] == 0
    for name in [*done, "seed"]:
        assert _fetch(oio, name) == DATA, name
    assert oio.run("container", "check", "c").returncode == 0


def test_volume_check_without_a_volume_checks_them_all(oio):
    _upload(oio, "a", "SINGLE")
    victim = _used_volume(oio, "a")
    orphans = []
    for vol in ("vol-1", "vol-5"):
        path = oio.data_dir / "volumes" / vol / "CD" / ("CD" + vol[-1] * 62)
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(b"x")
        orphans.append(path)
    proc = oio.run("volume", "check", "--orphans", "--min-age", "0", "-f", "json")
    assert proc.returncode == 1
    rows = json.loads(proc.stdout)
    assert {r["Volume"].rsplit("/", 1)[-1] for r in rows if r["State"] == "orphan"} == {
        "vol-1",
        "vol-5",
    }
    assert "every volume" in proc.err
    # One command sweeps the orphans of the whole namespace.
    oio.ok("volume", "check", "--delete-orphans", "--no-verify", "--min-age", "0")
    assert not any(p.exists() for p in orphans)
    assert oio.run("volume", "check").returncode == 0
    # A chunk lost on one volume: the check of every volume says so (exit 7).
    url = oio.json("object", "locate", "c", "a")[0]["Id"]
    os.unlink(chunk_path(url))
    proc = oio.run("volume", "check", "-f", "json")
    assert proc.returncode == 7
    assert [r["State"] for r in json.loads(proc.stdout)] == ["missing"]
    assert victim in proc.out


@pytest.mark.parametrize("command", ["add", "drain"])
def test_help_has_examples(oio, command):
    out = oio.ok("volume", command, "--help").out
    assert "examples:" in out and "exit codes:" in out


@pytest.mark.parametrize("args", [["add", "/tmp/nowhere"], ["drain", "vol-1"]])
def test_volume_administration_needs_the_embedded_namespace(oio, args):
    proc = oio.fails(1, "--oio-proxy", "http://127.0.0.1:9", "volume", *args)
    assert "without --oio-proxy" in proc.err
