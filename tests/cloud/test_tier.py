"""The cloud tier against a real S3 server (SeaweedFS, signatures checked), through the CLI."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from .conftest import ACCESS_KEY, ACCOUNT, S3Server, TierNamespace, key_file

MiB = 1024 * 1024


def _data(size: int, seed: int = 0) -> bytes:
    return hashlib.sha256(str(seed).encode()).digest() * (size // 32) + b"x" * (size % 32)


def test_create_fetch_locate_check_delete_hold_exactly_the_expected_keys(
    tier: TierNamespace,
) -> None:
    data = os.urandom(23 * MiB + 123)  # 3 chunks of the default 10 MiB
    (tier.root / "big").write_bytes(data)
    assert tier.keys_in_bucket() == set()
    tier.ok("object", "create", "c", str(tier.root / "big"), "--name", "big", "--policy", "B2")
    rows = tier.json("object", "locate", "c", "big")
    assert [r["Pos"] for r in rows] == ["0", "1", "2"]
    assert all(r["Id"].startswith("b2/") and len(r["Id"]) == 67 for r in rows)
    expected = tier.expected_keys("c", "big")
    assert tier.keys_in_bucket() == expected
    assert all(k.split("/")[0] == k.split("/")[0].upper() for k in expected)
    assert tier.ok("object", "fetch", "c", "big").stdout == data
    start, end = 10 * MiB - 5, 20 * MiB + 7  # spans three chunks
    got = tier.ok("object", "fetch", "c", "big", "--range", f"{start}-{end}").stdout
    assert got == data[start : end + 1]
    check = tier.json("object", "check", "c", "big")
    assert check[0]["State"] == "ok"
    assert tier.json("object", "check", "c", "big", "--verify")[0]["State"] == "ok"
    tier.ok("object", "delete", "c", "big")
    assert tier.keys_in_bucket() == set()


def test_object_set_policy_moves_to_the_tier_and_back_byte_exact(tier: TierNamespace) -> None:
    data = _data(12 * MiB + 7)
    (tier.root / "f").write_bytes(data)
    tier.ok("object", "create", "c", str(tier.root / "f"), "--policy", "SINGLE")
    tier.ok("object", "set", "c", "f", "--policy", "B2")
    assert all(r["Id"].startswith("b2/") for r in tier.json("object", "locate", "c", "f"))
    assert tier.keys_in_bucket() == tier.expected_keys("c", "f")
    assert tier.ok("object", "fetch", "c", "f").stdout == data
    tier.ok("object", "set", "c", "f", "--policy", "THREECOPIES")
    assert all(r["Id"].startswith("file://") for r in tier.json("object", "locate", "c", "f"))
    assert tier.keys_in_bucket() == set()
    assert tier.ok("object", "fetch", "c", "f").stdout == data


def test_a_wrong_secret_is_refused_and_leaves_nothing(tier: TierNamespace) -> None:
    key_file(tier.keys, tier.bucket, tier.endpoint, secret="not-the-secret")
    (tier.root / "f").write_bytes(b"data")
    proc = tier.run("object", "create", "c", str(tier.root / "f"), "--policy", "B2")
    assert proc.returncode == 1, proc.err
    assert "403" in proc.err and "Traceback" not in proc.err
    assert tier.server.client(tier.bucket).list_keys() == []
    assert tier.run("object", "show", "c", "f").returncode in (3, 4)


@pytest.mark.parametrize("damage", ["no file", "no key", "no endpoint"])
def test_a_missing_key_file_key_or_endpoint_is_one_error_before_any_byte(
    tier: TierNamespace, damage: str
) -> None:
    if damage == "no file":
        tier.keys.unlink()
    elif damage == "no key":
        tier.keys.write_text("[backblaze]\nother.bucket.application_key = x\n")
    else:
        text = tier.keys.read_text().replace(f"{tier.bucket}.endpoint", "unused")
        tier.keys.write_text(text)
    (tier.root / "f").write_bytes(b"data")
    proc = tier.run("object", "create", "c", str(tier.root / "f"), "--policy", "B2")
    assert proc.returncode == 1
    lines = proc.err.strip().splitlines()
    assert len(lines) == 1 and "key" in lines[0].lower() or "endpoint" in lines[0], proc.err
    assert tier.keys_in_bucket() == set()
    assert tier.run("object", "list", "c").returncode in (0, 3)
    assert b"f" not in tier.run("object", "list", "c", "-f", "value").stdout


def test_the_key_file_comes_from_the_environment_then_the_namespace(
    tier: TierNamespace,
) -> None:
    (tier.root / "f").write_bytes(b"by env")
    tier.env["OIO_KEY_FILE"] = str(tier.keys)
    tier.ok("object", "create", "c", str(tier.root / "f"), "--policy", "B2", key_file=False)
    del tier.env["OIO_KEY_FILE"]
    assert tier.run("object", "fetch", "c", "f", key_file=False).returncode == 1
    tier.ok("namespace", "set", "--tier-key-file", str(tier.keys), key_file=False)
    assert tier.ok("object", "fetch", "c", "f", key_file=False).stdout == b"by env"


def test_a_replaced_bucket_object_is_never_served(tier: TierNamespace) -> None:
    data = _data(3 * MiB)
    (tier.root / "f").write_bytes(data)
    tier.ok("object", "create", "c", str(tier.root / "f"), "--policy", "B2")
    (key,) = tier.expected_keys("c", "f")
    evil = bytearray(data)
    evil[MiB] ^= 1
    tier.server.client(tier.bucket).request("PUT", key, body=bytes(evil))
    proc = tier.run("object", "fetch", "c", "f")
    assert proc.returncode == 6, proc.err
    assert proc.stdout != data and len(proc.stdout) < len(data)
    assert tier.run("object", "fetch", "c", "f", "--range", "0-9").returncode == 6
    check = tier.run("object", "check", "c", "f", "-f", "json")
    assert check.returncode == 6, check.err


def test_multipart_chunks_stream_and_read_back(tmp_path: Path, s3server: S3Server) -> None:
    from oiocli.api import ObjectStorageApi

    bucket = s3server.bucket()
    keys = key_file(tmp_path / "keys.conf", bucket, s3server.endpoint)
    api = ObjectStorageApi("MP", str(tmp_path / "ns"), chunk_size=20 * MiB, key_file=str(keys))
    method = f"backblaze/account_id={ACCESS_KEY},bucket_name={bucket}"
    api.namespace_set({"B2": method})
    data = _data(45 * MiB + 3, seed=4)
    api.object_create(ACCOUNT, "c", data=data, obj_name="mp", policy="B2")
    _meta, chunks = api.object_locate(ACCOUNT, "c", "mp")
    assert [c["size"] for c in chunks] == [20 * MiB, 20 * MiB, 5 * MiB + 3]
    assert chunks[0]["chunk_hash"].endswith("-2")  # parts of 16 MiB and 4 MiB
    assert b"".join(api.object_fetch(ACCOUNT, "c", "mp")[1]) == data
    got = b"".join(api.object_fetch(ACCOUNT, "c", "mp", ranges=[(17 * MiB, 41 * MiB)])[1])
    assert got == data[17 * MiB : 41 * MiB + 1]
    assert api.object_check(ACCOUNT, "c", "mp", verify=True)["state"] == "ok"
    api.object_delete(ACCOUNT, "c", "mp")
    assert s3server.client(bucket).list_keys() == []


def test_link_copies_in_the_bucket_and_either_delete_is_safe(tier: TierNamespace) -> None:
    data = _data(2 * MiB, seed=2)
    (tier.root / "f").write_bytes(data)
    tier.ok("object", "create", "c", str(tier.root / "f"), "--policy", "B2")
    tier.ok("object", "link", "c", "f", "g")
    assert tier.keys_in_bucket() == tier.expected_keys("c", "f") | tier.expected_keys("c", "g")
    tier.ok("object", "delete", "c", "f")
    assert tier.ok("object", "fetch", "c", "g").stdout == data
    tier.ok("object", "delete", "c", "g")
    assert tier.keys_in_bucket() == set()


def test_truncate_a_tier_object(tier: TierNamespace) -> None:
    data = _data(15 * MiB, seed=3)
    (tier.root / "f").write_bytes(data)
    tier.ok("object", "create", "c", str(tier.root / "f"), "--policy", "B2")
    tier.ok("object", "truncate", "c", "f", "--size", str(12 * MiB))
    assert tier.ok("object", "fetch", "c", "f").stdout == data[: 12 * MiB]
    assert tier.keys_in_bucket() == tier.expected_keys("c", "f")


def test_snapshot_copies_tier_chunks_and_deletes_stay_safe(tier: TierNamespace) -> None:
    data = _data(11 * MiB, seed=5)
    (tier.root / "f").write_bytes(data)
    tier.ok("object", "create", "c", str(tier.root / "f"), "--policy", "B2")
    tier.ok("container", "snapshot", "c", "--dst-container", "snap")
    assert tier.keys_in_bucket() == tier.expected_keys("c", "f") | tier.expected_keys("snap", "f")
    tier.ok("object", "delete", "c", "f")
    assert tier.ok("object", "fetch", "snap", "f").stdout == data
    assert tier.keys_in_bucket() == tier.expected_keys("snap", "f")


def test_drain_versions_and_flush_remove_their_bucket_objects(tier: TierNamespace) -> None:
    tier.ok("container", "create", "v")
    tier.ok("container", "set", "v", "--max-versions", "3")
    for seed in range(3):
        (tier.root / "f").write_bytes(_data(MiB, seed=seed))
        tier.ok("object", "create", "v", str(tier.root / "f"), "--policy", "B2")
    versions = tier.json("object", "list", "v", "--versions")
    assert len(versions) == 3
    assert len(tier.keys_in_bucket()) == 3
    oldest = str(min(row["Version"] for row in versions))
    fetched = tier.ok("object", "fetch", "v", "f", "--object-version", oldest).stdout
    assert fetched == _data(MiB, seed=0)
    tier.ok("object", "drain", "v", "f")
    assert len(tier.keys_in_bucket()) == 2
    tier.ok("container", "flush", "v")
    assert tier.keys_in_bucket() == set()
