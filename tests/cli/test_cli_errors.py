"""Bad input: one line on stderr naming what and which, the documented exit code, no change.

Exit codes (see docs/CLI.md): 1 bad value, 2 usage, 3 account/container not found,
4 object not found.
"""

from __future__ import annotations

import pytest


@pytest.fixture
def populated(oio):
    oio.ok("object", "create", "photos", "-", "--name", "o", "-p", "k=v", input=b"0123456789")
    # objects (names, sizes, hashes, versions, properties) and containers
    oio.state = lambda: (  # type: ignore[attr-defined]
        oio.ok("object", "list", "photos", "--long", "--versions", "-f", "json").out,
        oio.ok("container", "list", "-f", "json", "-c", "Name", "-c", "Count").out,
    )
    return oio


CASES = [
    # (exit code, words expected in the message, command)
    (3, ["nocontainer"], ["object", "list", "nocontainer"]),
    (3, ["nocontainer"], ["container", "show", "nocontainer"]),
    (3, ["nocontainer"], ["container", "delete", "nocontainer"]),
    (3, ["nocontainer"], ["object", "show", "nocontainer", "o"]),
    (3, ["noaccount"], ["account", "show", "noaccount"]),
    (3, ["noaccount"], ["container", "list", "--account", "noaccount"]),
    (4, ["nope", "photos"], ["object", "show", "photos", "nope"]),
    (4, ["nope", "photos"], ["object", "fetch", "photos", "nope"]),
    (4, ["nope", "photos"], ["object", "delete", "photos", "nope"]),
    (4, ["nope", "photos"], ["object", "set", "photos", "nope", "-p", "a=1"]),
    (4, ["nope"], ["object", "link", "photos", "nope", "x"]),
    (4, ["nope"], ["object", "truncate", "photos", "nope", "--size", "1"]),
    (2, ["9-2"], ["object", "fetch", "photos", "o", "--range", "9-2"]),
    (1, ["100"], ["object", "fetch", "photos", "o", "--range", "100-200"]),
    (1, ["missing.bin"], ["object", "create", "photos", "missing.bin"]),
    (1, ["NOPE"], ["object", "create", "photos", "-", "--name", "x", "--policy", "NOPE"]),
    (1, ["NOPE"], ["container", "create", "new", "--storage-policy", "NOPE"]),
    (1, ["NOPE"], ["container", "set", "photos", "--storage-policy", "NOPE"]),
    (1, ["11"], ["object", "truncate", "photos", "o", "--size", "11"]),
    (1, ["Object name", "too long"], ["object", "create", "photos", "-", "--name", "x" * 1100]),
    (1, ["Container name", "too long"], ["container", "create", "c" * 1100]),
    (2, ["novalue"], ["object", "set", "photos", "o", "--property", "novalue"]),
    (2, ["=v"], ["container", "set", "photos", "--property", "=v"]),
    (2, ["abc"], ["object", "fetch", "photos", "o", "--range", "abc"]),
    (2, ["--name"], ["object", "create", "photos", "-"]),
    (2, ["--object-version"], ["object", "delete", "photos", "o", "o2", "--object-version", "1"]),
    (2, ["<container>"], ["object", "list"]),
    (2, ["--frobnicate"], ["object", "list", "photos", "--frobnicate"]),
]


@pytest.mark.parametrize("code,words,args", CASES, ids=[" ".join(c[2])[:60] for c in CASES])
def test_bad_input(populated, code, words, args):
    before = populated.state()
    proc = populated.fails(code, *args, input=b"data")
    for word in words:
        assert word in proc.err, (word, proc.err)
    # nothing, or (multi-name commands) the row of the failed name
    assert b"True" not in proc.stdout and b" Ok " not in proc.stdout
    assert populated.state() == before
