"""`--bwlimit`: one token bucket per process, counted in the data path.

Never "took less than N s": the accounting is checked with a fake clock the
throttle accepts, and through the CLI only by a lower bound (a limited
transfer cannot be faster than the limit allows, however loaded the machine).
"""

from __future__ import annotations

import hashlib
import os
import threading
import time

import pytest

from oiocli.api import ObjectStorageApi
from oiocli.core.exceptions import BadRequest
from oiocli.io.throttle import Throttle, parse_rate

KiB = 1024
MiB = 1024 * KiB


class FakeClock:
    """Time that passes only when someone sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_parse_rate():
    assert parse_rate("10M") == 10 * MiB
    assert parse_rate("512k") == 512 * KiB
    assert parse_rate("1.5G") == 1.5 * 1024**3
    assert parse_rate("100000") == 100000
    assert parse_rate("10MiB/s") == 10 * MiB
    for bad in ("", "fast", "10X", "-1M", "0"):
        with pytest.raises(BadRequest):
            parse_rate(bad)


def test_bucket_waits_for_its_debt_and_no_more():
    fake = FakeClock()
    bucket = Throttle(1000, burst=100, clock=fake.clock, sleep=fake.sleep)
    bucket.consume(100)  # the burst: no wait
    assert fake.slept == []
    bucket.consume(500)
    assert fake.slept == [pytest.approx(0.5)]
    fake.now += 10  # idle: at most `burst` tokens come back
    bucket.consume(300)
    assert fake.slept[-1] == pytest.approx(0.2)
    assert bucket.bytes == 900 and bucket.waited == pytest.approx(0.7)


def test_time_spent_elsewhere_counts():
    """A transfer slower than the limit by itself is not slowed further."""
    fake = FakeClock()
    bucket = Throttle(1000, burst=100, clock=fake.clock, sleep=fake.sleep)
    for _ in range(10):
        fake.now += 0.2  # the disk or network took 0.2 s for each 100 bytes
        bucket.consume(100)
    assert fake.slept == []


def test_api_upload_and_download_are_limited(tmp_path):
    fake = FakeClock()
    bucket = Throttle(256 * KiB, burst=64 * KiB, clock=fake.clock, sleep=fake.sleep)
    api = ObjectStorageApi("TESTNS", str(tmp_path / "ns"), chunk_size=256 * KiB, bwlimit=bucket)
    data = os.urandom(MiB)
    start = fake.now
    api.object_create("acct", "c", data=data, obj_name="o")
    assert bucket.bytes == MiB
    # 1 MiB at 256 KiB/s, after a 64 KiB burst: at least 3.75 s of (fake) waiting.
    assert fake.now - start >= (MiB - 64 * KiB) / (256 * KiB) - 1e-6
    start = fake.now
    _meta, stream = api.object_fetch("acct", "c", "o")
    assert b"".join(stream) == data
    assert bucket.bytes == 2 * MiB
    assert fake.now - start >= (MiB - 64 * KiB) / (256 * KiB) - 1e-6


def test_threads_share_one_limit():
    bucket = Throttle(256 * KiB, burst=64 * KiB)
    start = time.monotonic()

    def move() -> None:
        for _ in range(4):
            bucket.consume(16 * KiB)

    threads = [threading.Thread(target=move) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # 256 KiB together, 64 KiB of it free: the four threads shared 256 KiB/s.
    assert time.monotonic() - start >= (256 - 64) / 256 - 0.01
    assert bucket.bytes == 256 * KiB


def test_cli_bwlimit_bounds_uploads_and_downloads(oio):
    data = os.urandom(768 * KiB)
    (oio.cwd / "f.bin").write_bytes(data)
    start = time.monotonic()
    oio.ok("--bwlimit", "256K", "object", "create", "c", "f.bin")
    # The burst is at most the rate (256 KiB): 512 KiB more at 256 KiB/s.
    assert time.monotonic() - start >= 2.0
    start = time.monotonic()
    proc = oio.ok("--bwlimit", "256K", "object", "fetch", "c", "f.bin", "--file", "-")
    assert time.monotonic() - start >= 2.0
    assert hashlib.md5(proc.stdout).digest() == hashlib.md5(data).digest()


def test_cli_bad_limits_are_usage_errors(oio):
    for args in (["--bwlimit", "fast"], ["--retries", "-1"], ["--timeout", "0"]):
        proc = oio.run(*args, "object", "list", "c")
        assert proc.returncode == 2, proc.err
        assert len(proc.err.strip().splitlines()) == 1
