"""Retries and cleanup of the cloud tier, through a fault-injecting proxy before SeaweedFS."""

from __future__ import annotations

import hashlib

from .conftest import FaultProxy, TierNamespace

MiB = 1024 * 1024


def _data(size: int) -> bytes:
    return hashlib.sha256(b"faults").digest() * (size // 32)


def test_503_with_retry_after_and_500_are_retried(
    faulty_tier: TierNamespace, fault_proxy: FaultProxy
) -> None:
    data = _data(3 * MiB)
    (faulty_tier.root / "f").write_bytes(data)
    fault_proxy.methods = ("PUT",)
    fault_proxy.plan = ["503", "500", "reset"]
    faulty_tier.ok("object", "create", "c", str(faulty_tier.root / "f"), "--policy", "B2")
    assert fault_proxy.faults_done == ["PUT:503", "PUT:500", "PUT:reset"]
    assert faulty_tier.keys_in_bucket() == faulty_tier.expected_keys("c", "f")
    assert faulty_tier.ok("object", "fetch", "c", "f").stdout == data


def test_a_read_reset_mid_body_or_slow_goes_on_from_where_it_broke(
    faulty_tier: TierNamespace, fault_proxy: FaultProxy
) -> None:
    data = _data(6 * MiB)
    (faulty_tier.root / "f").write_bytes(data)
    faulty_tier.ok("object", "create", "c", str(faulty_tier.root / "f"), "--policy", "B2")
    fault_proxy.methods = ("GET",)
    fault_proxy.plan = ["reset", "slow"]  # the second GET asks the rest of the chunk
    assert faulty_tier.ok("object", "fetch", "c", "f").stdout == data
    assert fault_proxy.faults_done == ["GET:reset", "GET:slow"]
    fault_proxy.plan = ["503", "reset"]
    got = faulty_tier.ok("object", "fetch", "c", "f", "--range", "100-4000000").stdout
    assert got == data[100:4000001]
    assert fault_proxy.faults_done[2:] == ["GET:503", "GET:reset"]


def test_a_failed_upload_deletes_what_it_put_and_leaves_no_object(
    faulty_tier: TierNamespace, fault_proxy: FaultProxy
) -> None:
    data = _data(25 * MiB)  # three chunks: some get stored before one fails for good
    fault_proxy.methods = ("PUT",)
    fault_proxy.plan = ["pass", "pass"] + ["500"] * 40
    proc = faulty_tier.run(
        "object", "create", "c", "-", "--name", "f", "--policy", "B2", input=data
    )
    assert proc.returncode == 5, proc.err
    assert "Traceback" not in proc.err
    assert faulty_tier.keys_in_bucket() == set()
    assert faulty_tier.run("object", "show", "c", "f").returncode in (3, 4)


def test_a_failed_file_upload_keeps_only_its_journal_chunks_and_resumes(
    faulty_tier: TierNamespace, fault_proxy: FaultProxy
) -> None:
    data = _data(25 * MiB)
    path = faulty_tier.root / "f"
    path.write_bytes(data)
    fault_proxy.methods = ("PUT",)
    fault_proxy.plan = ["pass", "pass"] + ["500"] * 40
    proc = faulty_tier.run("object", "create", "c", str(path), "--policy", "B2")
    assert proc.returncode == 5, proc.err
    assert faulty_tier.run("object", "show", "c", "f").returncode in (3, 4)
    # What stays is what the upload journal records for --resume: at most the two
    # metachunks stored before the failure, nothing else.
    assert len(faulty_tier.keys_in_bucket()) <= 2
    fault_proxy.plan = []
    faulty_tier.ok("object", "create", "c", str(path), "--policy", "B2", "--resume")
    assert faulty_tier.keys_in_bucket() == faulty_tier.expected_keys("c", "f")
    assert faulty_tier.ok("object", "fetch", "c", "f").stdout == data


def test_a_skewed_clock_is_signed_again_with_the_servers_time(
    faulty_tier: TierNamespace, fault_proxy: FaultProxy
) -> None:
    (faulty_tier.root / "f").write_bytes(b"signed twice")
    fault_proxy.methods = ("PUT", "GET")
    fault_proxy.plan = ["skew"]
    faulty_tier.ok("object", "create", "c", str(faulty_tier.root / "f"), "--policy", "B2")
    fault_proxy.plan = ["skew"]
    assert faulty_tier.ok("object", "fetch", "c", "f").stdout == b"signed twice"
    assert fault_proxy.faults_done == ["PUT:skew", "GET:skew"]
