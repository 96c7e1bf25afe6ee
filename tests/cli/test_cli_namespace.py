"""`oio namespace show`, `oio volume list`, `oio events list` end to end."""

from __future__ import annotations

import os
import time


def test_namespace_show(oio):
    show = oio.json("namespace", "show")
    assert show["namespace"] == "TESTNS"
    assert os.path.realpath(show["data_dir"]) == os.path.realpath(oio.data_dir)
    assert isinstance(show["chunk_size"], int) and show["chunk_size"] > 0
    assert show["policies"]["SINGLE"] == "plain/nb_copy=1"
    assert show["policies"]["EC"].startswith("ec/") and "k=6,m=3" in show["policies"]["EC"]
    assert show["storage_policy"] in show["policies"]
    assert "SINGLE=plain/nb_copy=1" in oio.ok("namespace", "show").out


def test_volume_list(oio):
    before = oio.json("volume", "list")
    assert len(before) >= 9  # enough for EC 6+3
    assert set(before[0]) == {"Volume", "Path", "Chunks", "Bytes", "Free", "State", "Detail"}
    assert {(v["State"], v["Detail"]) for v in before} == {("ok", "")}
    assert all(os.path.isdir(v["Path"]) for v in before)
    oio.ok("object", "create", "c", "-", "--name", "o", "--policy", "THREECOPIES", input=b"x")
    after = oio.json("volume", "list")
    assert sum(v["Chunks"] for v in after) - sum(v["Chunks"] for v in before) == 3


def test_events_list(oio):
    start = time.time()
    oio.ok("container", "create", "c", "--request-id", "REQ-create")
    oio.ok("object", "create", "c", "-", "--name", "o", "--req-id", "REQ-upload", input=b"x")
    events = oio.json("events", "list")
    assert set(events[0]) == {"Id", "Time", "Type", "Url", "Request-Id", "Data"}
    by_req = {e["Request-Id"] for e in events}
    assert {"REQ-create", "REQ-upload"} <= by_req
    assert len(oio.json("events", "list", "--limit", "1")) == 1
    later = oio.json("events", "list", "--since", str(time.time() + 3600))
    assert later == []
    recent = oio.json("events", "list", "--since", "1h")
    assert len(recent) == len(events)
    assert all(e["Time"] >= start - 5 for e in recent)
    oio.fails(2, "events", "list", "--since", "yesterday-ish")
