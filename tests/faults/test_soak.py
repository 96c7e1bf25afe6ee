"""Concurrency soak: processes mixing creates, deletes, listings, reads and property
updates in shared containers, for a bounded number of operations each.

Afterwards statistics are exact (`namespace check` exits 0 without repair),
`container check` is clean, no orphan chunk is left (nothing crashed), and every
listed object reads back with its recorded MD5.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import textwrap

import pytest

from .helpers import ACCOUNT, read_all

CONTAINERS = ("s1", "s2")

WORKER = textwrap.dedent(
    """
    import hashlib, json, random, subprocess, sys
    from oiocli.api import ObjectStorageApi
    from oiocli.core.exceptions import NoSuchObject, UnrecoverableContent

    data_dir, worker, seed, ops, cli = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), \\
        int(sys.argv[4]), json.loads(sys.argv[5])
    rng = random.Random(seed)
    api = ObjectStorageApi("FAULTNS", data_dir)
    containers = ["s1", "s2"]
    policies = ["SINGLE", "TWOCOPIES", "EC21", "EC"]
    done = {}

    def oio(*args):
        return subprocess.run(cli + list(args), capture_output=True, timeout=300)

    for i in range(ops):
        c = rng.choice(containers)
        name = f"o{rng.randrange(12)}"
        op = rng.choice(["create", "create", "delete", "list", "props", "fetch", "cli"])
        if op == "create":
            data = rng.randbytes(rng.randrange(0, 150_000))
            api.object_create("acct", c, data=data, obj_name=name,
                              policy=rng.choice(policies), properties={"w": str(worker)})
        elif op == "delete":
            try:
                api.object_delete("acct", c, name)
            except NoSuchObject:
                pass
        elif op == "list":
            for e in api.object_list("acct", c)["objects"]:
                assert e["size"] >= 0 and e["version"] > 0, e
        elif op == "props":
            try:
                api.object_set_properties("acct", c, name, {f"k{worker}": str(i)})
            except NoSuchObject:
                pass
        elif op == "fetch":
            try:
                meta, stream = api.object_fetch("acct", c, name)
                data = b"".join(stream)
            except (NoSuchObject, UnrecoverableContent):
                pass  # deleted or overwritten meanwhile: gone, never wrong
            else:
                assert len(data) == meta["size"], name
                assert hashlib.md5(data).hexdigest().upper() == meta["hash"], name
        else:
            verb = rng.choice(["list", "set", "create"])
            if verb == "list":
                proc = oio("object", "list", c, "-f", "json")
                assert proc.returncode == 0, proc.stderr
                json.loads(proc.stdout)
            elif verb == "set":
                proc = oio("object", "set", c, name, "-p", f"cli{worker}={i}")
                assert proc.returncode in (0, 4), proc.stderr  # 4: deleted meanwhile
            else:
                proc = subprocess.run(cli + ["object", "create", c, "-", "--name", name],
                                      input=rng.randbytes(1000), capture_output=True,
                                      timeout=300)
                assert proc.returncode == 0, proc.stderr
        done[op] = done.get(op, 0) + 1
    print(json.dumps(done))
    """
)


def _soak(ns, workers, ops, seed):
    api = ns.api()
    for container in CONTAINERS:
        api.container_create(ACCOUNT, container)
    env = {**ns.env, "OIO_ACCOUNT": ACCOUNT}
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                WORKER,
                str(ns.data_dir),
                str(w),
                str(seed * 100 + w),
                str(ops),
                json.dumps(ns.popen_args()),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=ns.cwd,
        )
        for w in range(workers)
    ]
    for proc in procs:
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err.decode(errors="replace")
        assert sum(json.loads(out).values()) == ops

    # statistics exact without any repair, every object at full redundancy
    proc = ns.run("namespace", "check", "-f", "json")
    assert proc.returncode == 0, (proc.out, proc.err)
    assert {r["State"] for r in json.loads(proc.stdout)} == {"ok"}
    api = ns.api()
    total = 0
    for container in CONTAINERS:
        assert ns.run("container", "check", container).returncode == 0
        listing = api.object_list(ACCOUNT, container)["objects"]
        show = ns.json("container", "show", container)
        assert show["objects"] == len(listing)
        assert show["bytes_usage"] == sum(e["size"] for e in listing)
        for entry in listing:
            data = read_all(api, container, entry["name"])
            assert hashlib.md5(data).hexdigest().upper() == entry["hash"]
        total += len(listing)
    assert ns.json("account", "show", ACCOUNT)["objects"] == total
    assert ns.clean_orphans() == 0  # nothing crashed: no chunk may leak


@pytest.mark.parametrize("seed", [1])
def test_soak(ns, seed):
    _soak(ns, workers=4, ops=30, seed=seed)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [2, 3])
def test_soak_long(ns, seed):
    _soak(ns, workers=8, ops=200, seed=seed)
