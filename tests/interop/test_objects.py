"""Objects written by OpenIO's client, read by oiocli's, and the other way round.

Every policy of the served namespace; sizes that cross metachunk boundaries;
ranges, versions, delete markers, properties, links, drain, truncate, append.
Each read is compared byte for byte with what was written.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from interop_helpers import OpenIO, OpenIOError, OurCLI, md5, same_bytes

MiB = 1024 * 1024
POLICIES = [
    "SINGLE",
    "TWOCOPIES",
    "THREECOPIES",
    "EC",
    "EC21",
    "ECISAL",
    "ECLIBEC",
    "EC21LIBEC",
]
# Per metachunk: chunks of each policy (replicas, or k + m fragments).
CHUNKS_PER_POSITION = {
    "SINGLE": 1,
    "TWOCOPIES": 2,
    "THREECOPIES": 3,
    "EC": 9,
    "EC21": 3,
    "ECISAL": 9,
    "ECLIBEC": 9,
    "EC21LIBEC": 3,
}
# Empty, one byte, across one metachunk boundary, three and a half metachunks.
SIZES = {"empty": 0, "byte": 1, "boundary": MiB + 1, "big": 3 * MiB + MiB // 2}


def write_files(work: Path, prefix: str = "") -> dict[str, Path]:
    files = {}
    for label, size in SIZES.items():
        path = work / f"{prefix}{label}"
        path.write_bytes(os.urandom(size))
        files[path.name] = path
    return files


def read_everywhere(
    openio: OpenIO, ours: OurCLI, account: str, container: str, name: str, want: Path, work: Path
) -> None:
    """Read one object with both clients (oiocli through the proxy and on the files)."""
    out = work / f"{name}.openio"
    openio.cli("object", "save", container, name, "--file", str(out), account=account)
    same_bytes(want, out, f"openio object save {name}")
    result = openio.api.call("object_fetch", account, container, name, out=out)
    assert result["size"] == want.stat().st_size
    same_bytes(want, out, f"OpenIO API object_fetch {name}")
    for via in ("proxy", "files"):
        out = work / f"{name}.{via}"
        ours.cli("object", "fetch", container, name, "--file", str(out), account=account, via=via)
        same_bytes(want, out, f"oio ({via}) object fetch {name}")


@pytest.mark.parametrize("policy", POLICIES)
def test_openio_writes_oiocli_reads(openio, ours, account, work, policy):
    container = f"w-{policy.lower()}"
    files = write_files(work)
    rows = openio.json(
        "object",
        "create",
        container,
        *map(str, files.values()),
        "--policy",
        policy,
        account=account,
    )
    assert {r["Name"]: r["Status"] for r in rows} == dict.fromkeys(files, "Ok")
    for name, path in files.items():
        row = next(r for r in rows if r["Name"] == name)
        assert row["Hash"] == md5(path.read_bytes()) and row["Size"] == path.stat().st_size
        read_everywhere(openio, ours, account, container, name, path, work)
        shown = ours.json("object", "show", container, name, account=account)
        assert shown["hash"] == md5(path.read_bytes())
        assert shown["size"] == path.stat().st_size and shown["policy"] == policy
        located = openio.json("object", "locate", container, name, account=account)
        positions: dict[str, int] = {}
        for row in located:
            index = row["Pos"].split(".")[0]
            positions[index] = positions.get(index, 0) + 1
        assert set(positions.values()) == {CHUNKS_PER_POSITION[policy]}
        assert sum({r["Pos"].split(".")[0]: r["Metachunk size"] for r in located}.values()) == (
            path.stat().st_size
        )


WRITERS = [("proxy", policy) for policy in POLICIES] + [
    # Written on the files by the embedded backend, read through the server.
    ("files", policy)
    for policy in ("SINGLE", "THREECOPIES", "EC", "EC21LIBEC")
]


@pytest.mark.parametrize(("via", "policy"), WRITERS)
def test_oiocli_writes_openio_reads(openio, ours, account, work, policy, via):
    container = f"r-{policy.lower()}-{via}"
    files = write_files(work)
    ours.cli("container", "create", container, account=account, via=via)
    for path in files.values():
        ours.cli(
            "object",
            "create",
            container,
            str(path),
            "--policy",
            policy,
            account=account,
            via=via,
        )
    listed = openio.json("object", "list", container, account=account)
    assert sorted(r["Name"] for r in listed) == sorted(files)
    for name, path in files.items():
        row = next(r for r in listed if r["Name"] == name)
        assert row["Hash"] == md5(path.read_bytes()) and row["Size"] == path.stat().st_size
        shown = openio.json("object", "show", container, name, account=account)
        assert shown["hash"] == md5(path.read_bytes()) and shown["policy"] == policy
        read_everywhere(openio, ours, account, container, name, path, work)


@pytest.mark.parametrize("policy", ["THREECOPIES", "EC", "EC21LIBEC"])
def test_ranges_across_metachunks(openio, ours, account, work, policy):
    """OpenIO's API reads ranges of an object oiocli wrote, and oiocli of OpenIO's."""
    size = 3 * MiB + 4321
    data = os.urandom(size)
    src = work / "src"
    src.write_bytes(data)
    ours.cli(
        "object",
        "create",
        "ranges",
        str(src),
        "--name",
        "ours",
        "--policy",
        policy,
        account=account,
    )
    openio.api.call(
        "object_create", account, "ranges", file_or_path=str(src), obj_name="theirs", policy=policy
    )
    ranges = [
        (0, 666),
        (MiB - 1, MiB + 1),
        (1000, 2000),
        (2 * MiB - 10, 3 * MiB + 10),
        (size - 1, size - 1),
        (MiB, MiB),
    ]
    out = work / "out"
    for name in ("ours", "theirs"):
        for start, end in ranges:
            openio.api.call("object_fetch", account, "ranges", name, ranges=[[start, end]], out=out)
            same_bytes(data[start : end + 1], out, f"OpenIO range {start}-{end} of {name}")
            for via in ("proxy", "files"):
                ours.cli(
                    "object",
                    "fetch",
                    "ranges",
                    name,
                    "--range",
                    f"{start}-{end}",
                    "--file",
                    str(out),
                    account=account,
                    via=via,
                )
                same_bytes(data[start : end + 1], out, f"oio ({via}) range {start}-{end}")
        # Several ranges in one call, in the order asked.
        many = [[MiB, MiB + 2], [0, 1], [1, 2], [4, 6]]
        openio.api.call("object_fetch", account, "ranges", name, ranges=many, out=out)
        same_bytes(b"".join(data[a : b + 1] for a, b in many), out, "several ranges")


def test_listing_prefix_marker_limit_delimiter(openio, ours, account, work):
    src = work / "x"
    src.write_bytes(b"x")
    names = ["1/a", "1/b", "2/c", "a", "b", "c"]
    for name in names:
        openio.cli("object", "create", "lst", str(src), "--name", name, account=account)

    def openio_names(*args: str) -> list[str]:
        return [r["Name"] for r in openio.json("object", "list", "lst", *args, account=account)]

    def our_names(*args: str, via: str = "proxy") -> list[str]:
        out = ours.cli(
            "object", "list", "lst", *args, "-f", "value", "-c", "Name", account=account, via=via
        )
        return out.split()

    assert openio_names() == names
    assert openio_names("--prefix", "1/") == ["1/a", "1/b"]
    assert openio_names("--limit", "2") == ["1/a", "1/b"]
    assert openio_names("--marker", "1/b", "--limit", "2") == ["2/c", "a"]
    assert openio_names("--end-marker", "a") == ["1/a", "1/b", "2/c"]
    # OpenIO's CLI prints the objects of a delimited listing, not its prefixes.
    assert openio_names("--delimiter", "/") == ["a", "b", "c"]
    api = openio.api.call("object_list", account, "lst", delimiter="/", limit=1)
    assert api["objects"] == [] and api["prefixes"] == ["1/"] and api["truncated"] is True
    api = openio.api.call(
        "object_list", account, "lst", delimiter="/", limit=2, marker=api["next_marker"]
    )
    assert api["prefixes"] == ["2/"] and [o["name"] for o in api["objects"]] == ["a"]
    for via in ("proxy", "files"):
        assert our_names(via=via) == names
        assert our_names("--prefix", "1/", via=via) == ["1/a", "1/b"]
        assert our_names("--marker", "1/b", "--limit", "2", via=via) == ["2/c", "a"]


def test_versions_and_delete_markers(openio, ours, account, work):
    openio.cli("container", "create", "vers", "--max-versions", "-1", account=account)
    contents = [os.urandom(1000 + i) for i in range(3)]
    for i, data in enumerate(contents):
        (work / f"v{i}").write_bytes(data)
        openio.cli(
            "object", "create", "vers", str(work / f"v{i}"), "--name", "doc", account=account
        )
    rows = openio.json("object", "list", "vers", "--versions", account=account)
    versions = [r["Version"] for r in rows]
    assert len(rows) == 3 and versions == sorted(versions, reverse=True)
    ours_rows = ours.json("object", "list", "vers", "--versions", account=account)
    assert [r["Version"] for r in ours_rows] == versions
    out = work / "out"
    for version, data in zip(reversed(versions), contents, strict=True):
        openio.cli(
            "object",
            "save",
            "vers",
            "doc",
            "--object-version",
            str(version),
            "--file",
            str(out),
            account=account,
        )
        same_bytes(data, out, f"openio version {version}")
        for via in ("proxy", "files"):
            ours.cli(
                "object",
                "fetch",
                "vers",
                "doc",
                "--object-version",
                str(version),
                "--file",
                str(out),
                account=account,
                via=via,
            )
            same_bytes(data, out, f"oio ({via}) version {version}")
    # A delete without version makes a marker (version = newest + 1) ...
    openio.cli("object", "delete", "vers", "doc", account=account)
    rows = openio.json("object", "list", "vers", "--versions", "--properties", account=account)
    assert len(rows) == 4 and rows[0]["Deleted"] is True
    assert rows[0]["Version"] == versions[0] + 1
    openio.fails("object", "save", "vers", "doc", "--file", str(out), account=account)
    assert ours.run("object", "fetch", "vers", "doc", account=account, via="files").returncode == 4
    res = ours.run("object", "fetch", "vers", "doc", account=account)
    assert res.returncode != 0 and b"Traceback" not in res.stderr
    marker = openio.api.call("object_get_properties", account, "vers", "doc")
    assert marker["deleted"] == "True" and marker["version"] == str(versions[0] + 1)
    # ... which a delete of the name removes: the newest version shows again.
    openio.cli("object", "delete", "vers", "doc", account=account)
    openio.cli("object", "save", "vers", "doc", "--file", str(out), account=account)
    same_bytes(contents[-1], out, "undeleted object")
    # oiocli's delete marker, OpenIO's undelete by version.
    ours.cli("object", "delete", "vers", "doc", account=account)
    rows = openio.json("object", "list", "vers", "--versions", "--properties", account=account)
    assert rows[0]["Deleted"] is True
    openio.cli(
        "object",
        "delete",
        "vers",
        "doc",
        "--object-version",
        str(rows[0]["Version"]),
        account=account,
    )
    ours.cli("object", "fetch", "vers", "doc", "--file", str(out), account=account, via="files")
    same_bytes(contents[-1], out, "undeleted by version")
    openio.fails("container", "delete", "vers", account=account)


def test_show_set_unset_touch(openio, ours, account, work):
    src = work / "obj"
    src.write_bytes(os.urandom(5000))
    openio.cli(
        "object",
        "create",
        "props",
        str(src),
        "--name",
        "o",
        "--property",
        "a=1",
        "--mime-type",
        "text/x-custom",
        account=account,
    )
    before = openio.json("object", "show", "props", "o", account=account)
    assert before["meta.a"] == "1" and before["mime-type"] == "text/x-custom"
    openio.cli("object", "set", "props", "o", "--property", "b=2", account=account)
    ours.cli("object", "set", "props", "o", "--property", "c=3", account=account)
    shown = openio.json("object", "show", "props", "o", account=account)
    assert {k: v for k, v in shown.items() if k.startswith("meta.")} == {
        "meta.a": "1",
        "meta.b": "2",
        "meta.c": "3",
    }
    assert shown["mtime"] == before["mtime"]  # properties are not the object
    openio.cli("object", "set", "props", "o", "--clear", "--property", "d=4", account=account)
    for via in ("proxy", "files"):
        ours_shown = ours.json("object", "show", "props", "o", account=account, via=via)
        assert {k: v for k, v in ours_shown.items() if k.startswith("meta.")} == {"meta.d": "4"}
        assert ours_shown["mime-type"] == "text/x-custom"
    openio.cli("object", "unset", "props", "o", "--property", "d", account=account)
    assert not [
        k
        for k in openio.json("object", "show", "props", "o", account=account)
        if k.startswith("meta.")
    ]
    openio.cli("object", "touch", "props", "o", account=account)
    out = work / "out"
    ours.cli("object", "fetch", "props", "o", "--file", str(out), account=account)
    same_bytes(src, out, "touched object")
    openio.fails("object", "show", "props", "nope", account=account)
    openio.fails("object", "touch", "props", "nope", account=account)


def test_locate_agrees(openio, ours, account, work):
    src = work / "obj"
    src.write_bytes(os.urandom(2 * MiB + 5))
    openio.cli(
        "object", "create", "loc", str(src), "--name", "o", "--policy", "EC21", account=account
    )
    theirs = openio.json("object", "locate", "loc", "o", account=account)
    mine = ours.json("object", "locate", "loc", "o", account=account)
    assert sorted((r["Pos"], r["Id"]) for r in theirs) == sorted(
        (str(r["Pos"]), r["Id"]) for r in mine
    )
    assert sum({r["Pos"].split(".")[0]: r["Metachunk size"] for r in theirs}.values()) == (
        2 * MiB + 5
    )


@pytest.mark.parametrize("via", ["proxy", "files"])
@pytest.mark.parametrize("policy", ["TWOCOPIES", "EC"])
def test_link(openio, ours, account, work, policy, via):
    import urllib3

    src = work / "obj"
    src.write_bytes(os.urandom(MiB + 77))
    openio.cli(
        "object",
        "create",
        "lnk",
        str(src),
        "--name",
        "orig",
        "--policy",
        policy,
        "--property",
        "p=1",
        account=account,
    )
    openio.cli("object", "link", "lnk", "orig", "copy", account=account)
    read_everywhere(openio, ours, account, "lnk", "copy", src, work)
    shown = openio.json("object", "show", "lnk", "copy", account=account)
    assert shown["meta.p"] == "1" and shown["hash"] == md5(src.read_bytes())
    # Each link chunk names its own object (X-oio-Chunk-Meta-Full-Path on COPY).
    http = urllib3.PoolManager()
    for row in openio.json("object", "locate", "lnk", "copy", account=account):
        head = http.request("HEAD", row["Id"])
        assert head.status == 200
        assert head.headers["x-oio-chunk-meta-content-path"] == "copy"
        assert head.headers["x-oio-chunk-meta-full-path"].startswith(f"{account}/lnk/copy/")
    ours.cli("object", "link", "lnk", "copy", "copy2", account=account, via=via)
    openio.cli("object", "delete", "lnk", "orig", "copy", account=account)
    read_everywhere(openio, ours, account, "lnk", "copy2", src, work)


def test_drain(openio, ours, account, work):
    src = work / "obj"
    src.write_bytes(os.urandom(MiB + 3))
    openio.cli("object", "create", "drn", str(src), "--name", "o", account=account)
    openio.cli("object", "drain", "drn", "o", account=account)
    err = openio.fails("object", "save", "drn", "o", "--file", str(work / "out"), account=account)
    assert "drained" in err.lower()
    with pytest.raises(OpenIOError) as excinfo:
        openio.api.call("object_locate", account, "drn", "o")
    assert (excinfo.value.http_status, excinfo.value.status) == (410, 427)
    shown = ours.json("object", "show", "drn", "o", account=account)
    assert shown["chunk_method"] == "drained" and shown["size"] == MiB + 3
    res = ours.run("object", "fetch", "drn", "o", account=account)
    assert res.returncode != 0 and b"drained" in res.stderr.lower()
    openio.fails("object", "drain", "drn", "nope", account=account)


def policy_container(openio: OpenIO, account: str, container: str, policy: str) -> None:
    """A container of `policy`: OpenIO's client re-uploads (truncate) and appends with
    the prepare's policy, which is the container's here (the namespace's there)."""
    openio.cli("container", "create", container, "--storage-policy", policy, account=account)


@pytest.mark.parametrize("policy", ["THREECOPIES", "EC"])
@pytest.mark.parametrize("size", [5_000_001, 2 * MiB, 100])
def test_truncate(openio, ours, account, work, policy, size):
    data = os.urandom(6 * MiB + 12)
    src = work / "obj"
    src.write_bytes(data)
    container = f"trunc-{policy.lower()}"
    policy_container(openio, account, container, policy)
    name = f"o{size}"
    openio.api.call(
        "object_create", account, container, file_or_path=str(src), obj_name=name, policy=policy
    )
    openio.api.call("object_truncate", account, container, name, size=size)
    want = work / "want"
    want.write_bytes(data[:size])
    read_everywhere(openio, ours, account, container, name, want, work)
    assert ours.json("object", "show", container, name, account=account)["size"] == size
    with pytest.raises(OpenIOError):
        openio.api.call("object_truncate", account, container, name, size=size + 1)
    read_everywhere(openio, ours, account, container, name, want, work)


def test_truncate_refusals_leave_the_object_intact(openio, ours, account, work):
    """meta2 truncates on metachunk boundaries, never to 0 bytes past the first one;
    re-uploaded data of another chunk method is refused, not mixed in."""
    data = os.urandom(3 * MiB + 5)
    src = work / "obj"
    src.write_bytes(data)
    openio.api.call(
        "object_create", account, "tr", file_or_path=str(src), obj_name="ec", policy="EC"
    )
    with pytest.raises(OpenIOError) as excinfo:
        openio.api.call("object_truncate", account, "tr", "ec", size=0)
    assert excinfo.value.http_status == 400
    # No container policy here: the metachunk cut would be re-uploaded as SINGLE.
    with pytest.raises(OpenIOError) as excinfo:
        openio.api.call("object_truncate", account, "tr", "ec", size=MiB + 7)
    assert excinfo.value.http_status == 400
    read_everywhere(openio, ours, account, "tr", "ec", src, work)


@pytest.mark.parametrize("policy", ["SINGLE", "EC"])
def test_append(openio, ours, account, work, policy):
    first, second = os.urandom(MiB + 10), os.urandom(2 * MiB + 5)
    (work / "a").write_bytes(first)
    (work / "b").write_bytes(second)
    container = f"app-{policy.lower()}"
    policy_container(openio, account, container, policy)
    openio.api.call(
        "object_create",
        account,
        container,
        file_or_path=str(work / "a"),
        obj_name="log",
        policy=policy,
    )
    openio.api.call(
        "object_create",
        account,
        container,
        file_or_path=str(work / "b"),
        obj_name="log",
        policy=policy,
        append=True,
    )
    want = work / "want"
    want.write_bytes(first + second)
    read_everywhere(openio, ours, account, container, "log", want, work)


def test_delete(openio, ours, account, work):
    src = work / "obj"
    src.write_bytes(b"bye")
    for name in ("a", "b", "c"):
        openio.cli("object", "create", "del", str(src), "--name", name, account=account)
    rows = openio.json("object", "delete", "del", "a", "b", "missing", account=account)
    assert {r["Name"]: r["Deleted"] for r in rows} == {"a": True, "b": True, "missing": False}
    assert ours.cli(
        "object", "list", "del", "-f", "value", "-c", "Name", account=account
    ).split() == ["c"]
    ours.cli("object", "delete", "del", "c", account=account)
    assert openio.json("object", "list", "del", account=account) == []
    openio.cli("container", "delete", "del", account=account)


@pytest.mark.parametrize(("old", "new"), [("THREECOPIES", "EC"), ("EC", "SINGLE")])
def test_change_policy(openio, ours, account, work, old, new):
    """OpenIO's object_change_policy: re-uploads under the object's version
    (prepare2 keeps the version it is given), commits with change_policy=1."""
    data = os.urandom(2 * MiB + 11)
    src = work / "obj"
    src.write_bytes(data)
    openio.api.call(
        "object_create", account, "pol", file_or_path=str(src), obj_name="o", policy=old
    )
    before = openio.api.call("object_get_properties", account, "pol", "o")
    openio.api.call("object_change_policy", account, "pol", "o", new)
    after = openio.api.call("object_get_properties", account, "pol", "o")
    assert after["policy"] == new and after["version"] == before["version"]
    assert after["hash"] == before["hash"]
    read_everywhere(openio, ours, account, "pol", "o", src, work)
    assert ours.json("object", "show", "pol", "o", account=account)["policy"] == new


def test_cross_container_link_and_container_save(openio, ours, account, work):
    files = write_files(work, "f")
    openio.cli(
        "object", "create", "a", *map(str, files.values()), "--policy", "EC21", account=account
    )
    openio.cli("object", "link", "a", "fbig", "linked", "--dest-container", "b", account=account)
    read_everywhere(openio, ours, account, "b", "linked", files["fbig"], work)
    saved = work / "saved"
    saved.mkdir()
    res = subprocess.run(
        [
            str(openio.venv / "bin" / "openio"),
            "--oio-ns",
            "NS",
            "--oio-account",
            account,
            "container",
            "save",
            "a",
        ],
        env=openio.env,
        cwd=saved,
        capture_output=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr.decode()
    for name, path in files.items():
        same_bytes(path, saved / name, f"openio container save {name}")
    rows = openio.json("object", "locate", "a", "fbig", "--chunk-info", account=account)
    assert all(r["Chunk size"] for r in rows)  # each chunk's HEAD answered


def test_container_properties_at_autocreation(openio, ours, account, work):
    """OpenIO's object_create(container_properties=...): the properties of the
    container that the upload creates (content/create's container_properties)."""
    src = work / "obj"
    src.write_bytes(b"auto")
    openio.api.call(
        "object_create",
        account,
        "auto",
        file_or_path=str(src),
        obj_name="o",
        container_properties={
            "properties": {"made": "by-upload"},
            "system": {"sys.m2.policy.version": "2"},
        },
    )
    shown = openio.json("container", "show", "auto", account=account)
    assert shown["meta.made"] == "by-upload" and shown["max_versions"] == "2"
    assert ours.json("container", "show", "auto", account=account)["meta.made"] == "by-upload"
