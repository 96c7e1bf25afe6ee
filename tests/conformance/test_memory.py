"""Memory stays bounded whatever the object size.

Each upload runs in a child process fed by a generator that yields one reused
1 MiB bytes object, so the only memory that can grow is the API's own; the child
reports its peak RSS after the upload and after reading it back.

The peak is the kernel's high-water mark of the child's own address space
(VmHWM). ru_maxrss is not usable here: Linux carries the parent's peak over a
fork and exec, so a child of a big pytest worker would inherit the worker's peak.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from .helpers import ACCOUNT, MiB

RSS_LIMIT = 200 * MiB

CHILD = r"""
import hashlib, json, random, resource, sys
from oiocli.api import ObjectStorageApi

def peak_rss():
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

args, account, size_mib, policy = json.loads(sys.argv[1])
account = args.pop("account_prefix", "") + account  # a cluster namespace's own accounts
block = random.Random(size_mib).randbytes(1024 * 1024)
expected = hashlib.md5()
for _ in range(size_mib):
    expected.update(block)

def generate():
    for _ in range(size_mib):
        yield block

api = ObjectStorageApi(**args)
before = peak_rss()
_chunks, size, md5 = api.object_create(
    account, "big", data=generate(), obj_name="big", policy=policy
)
after_write = peak_rss()
read = hashlib.md5()
_meta, stream = api.object_fetch(account, "big", "big")
nbytes = 0
for piece in stream:
    read.update(piece)
    nbytes += len(piece)
after_read = peak_rss()
print(json.dumps({
    "size": size, "md5": md5, "expected_md5": expected.hexdigest().upper(),
    "read_bytes": nbytes, "read_md5": read.hexdigest().upper(),
    "rss_start": before, "rss_write": after_write, "rss_read": after_read,
}))
"""


def run_upload(backend, size_mib: int, policy: str) -> dict:
    api = backend.new_api(chunk_size=None)
    try:
        args = json.dumps([backend.connect_args(api), ACCOUNT, size_mib, policy])
        proc = subprocess.run(
            [sys.executable, "-c", CHILD, args], capture_output=True, text=True, timeout=900
        )
        assert proc.returncode == 0, proc.stderr
        report = json.loads(proc.stdout)
        meta = api.object_get_properties(ACCOUNT, "big", "big")
        assert meta["size"] == size_mib * MiB
        assert meta["hash"] == report["expected_md5"]
    finally:
        backend.destroy(api)
    assert report["size"] == size_mib * MiB
    assert report["md5"] == report["expected_md5"]
    assert report["read_bytes"] == size_mib * MiB
    assert report["read_md5"] == report["expected_md5"]
    return report


@pytest.mark.parametrize("policy", ["THREECOPIES", "ECLIBEC"])  # the 2 GiB one is EC (ISA-L)
def test_256mib_generator_upload_bounded_memory(backend, policy):
    report = run_upload(backend, 256, policy)
    assert report["rss_write"] < RSS_LIMIT, report
    assert report["rss_read"] < RSS_LIMIT, report


@pytest.mark.slow_on("proxy", "cluster")  # ~20 s embedded, ~50 s through a proxy here
def test_2gib_generator_upload_bounded_memory(backend):
    report = run_upload(backend, 2048, "EC")
    assert report["rss_write"] < RSS_LIMIT, report
    assert report["rss_read"] < RSS_LIMIT, report
