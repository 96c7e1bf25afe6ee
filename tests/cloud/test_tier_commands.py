"""`oio tier move` (cron tiering) and `oio tier orphans`, against SeaweedFS."""

from __future__ import annotations

import json
import time

from .conftest import TierNamespace


def test_tier_move_by_prefix_and_age_with_dry_run_and_back(tier: TierNamespace) -> None:
    for name in ("logs/a", "logs/b", "keep/c"):
        (tier.root / "f").write_bytes(name.encode() * 1000)
        tier.ok("object", "create", "c", str(tier.root / "f"), "--name", name, "--policy", "SINGLE")
    rows = tier.json("tier", "move", "c", "--policy", "B2", "--prefix", "logs/", "--dry-run")
    assert [(r["Object"], r["Result"]) for r in rows] == [
        ("logs/a", "would-move"),
        ("logs/b", "would-move"),
    ]
    assert tier.keys_in_bucket() == set()
    young = tier.json("tier", "move", "c", "--policy", "B2", "--older-than", "1h")
    assert young == []  # everything was written just now
    time.sleep(1.1)
    proc = tier.ok("tier", "move", "c", "--policy", "B2", "--prefix", "logs/", "--older-than", "1")
    proc = tier.ok("tier", "move", "c", "--policy", "B2", "--prefix", "logs/", "-f", "json")
    assert [r["Result"] for r in json.loads(proc.stdout)] == ["skipped", "skipped"]
    assert len(tier.keys_in_bucket()) == 2
    for name in ("logs/a", "logs/b"):
        assert tier.ok("object", "fetch", "c", name).stdout == name.encode() * 1000
    assert tier.json("object", "show", "c", "keep/c")["policy"] == "SINGLE"
    back = tier.json("tier", "move", "c", "--policy", "SINGLE")
    assert sorted(r["Result"] for r in back) == ["moved", "moved", "skipped"]
    assert tier.keys_in_bucket() == set()


def test_tier_move_exit_codes(tier: TierNamespace) -> None:
    (tier.root / "f").write_bytes(b"x" * 100)
    tier.ok("object", "create", "c", str(tier.root / "f"), "--policy", "SINGLE")
    assert tier.run("tier", "move", "c", "--policy", "NOPE").returncode == 1
    assert tier.run("tier", "move", "nothere", "--policy", "B2").returncode == 3
    assert tier.run("tier", "move", "c").returncode == 2
    tier.keys.write_text("[backblaze]\n")  # the tier cannot be reached: every move fails
    proc = tier.run("tier", "move", "c", "--policy", "B2", "-f", "json")
    assert proc.returncode == 1, proc.err
    assert json.loads(proc.stdout)[0]["Result"] == "failed"


def test_tier_orphans_are_listed_and_deleted_under_our_containers_only(
    tier: TierNamespace,
) -> None:
    from oiocli.backends.embedded.meta import compute_cid

    (tier.root / "f").write_bytes(b"kept" * 1000)
    tier.ok("object", "create", "c", str(tier.root / "f"), "--policy", "B2")
    kept = tier.keys_in_bucket()
    client = tier.server.client(tier.bucket)
    orphan = f"{compute_cid('acct', 'c')}/{'AB' * 32}"
    foreign = f"{'CD' * 32}/{'EF' * 32}"  # another namespace's container: never ours
    client.request("PUT", orphan, body=b"lost")
    client.request("PUT", foreign, body=b"theirs")
    assert tier.json("tier", "orphans") == []  # younger than the default hour
    rows = tier.json("tier", "orphans", "--older-than", "0")
    assert [(r["Key"], r["Action"]) for r in rows] == [(orphan, "found")]
    rows = tier.json("tier", "orphans", "--older-than", "0", "--delete")
    assert [(r["Key"], r["Action"]) for r in rows] == [(orphan, "deleted")]
    assert tier.keys_in_bucket() == kept | {foreign}
