"""Maintenance (volume and namespace checks) is an optional feature of a backend.

The embedded backend has it; a backend reached through a proxy does not, and
every maintenance command says so plainly rather than failing half-way.
"""

from __future__ import annotations

import pytest

from oiocli.backends.base import Maintenance
from oiocli.core.exceptions import BadRequest

from .helpers import ACCOUNT


def test_maintenance_runs_where_the_backend_has_it_and_is_refused_plainly_elsewhere(api, backend):
    api.object_create(ACCOUNT, "ct", data=b"x" * 1000, obj_name="obj", policy="THREECOPIES")
    _meta, chunks = api.object_locate(ACCOUNT, "ct", "obj")
    volume = api.backend.volume_of(chunks[0]["url"])  # one the object has a copy on
    checks = {
        "volume check": lambda: api.volume_check(volume, orphans=True),
        "volume rebuild": lambda: api.volume_rebuild(volume),
        "namespace check": lambda: api.namespace_check(),
    }
    # The tier backend is an embedded namespace whose default policy is a bucket.
    holds_files = backend.name in ("embedded", "tier")
    assert isinstance(api.backend, Maintenance) == holds_files
    if holds_files:
        assert api.volume_check(volume, orphans=True) == []
        assert [row["state"] for row in api.volume_rebuild(volume)] == ["ok"]
        assert {row["state"] for row in api.namespace_check()} == {"ok"}
        return
    for what, call in checks.items():
        with pytest.raises(BadRequest, match=f"`{what}` needs a backend that holds its own files"):
            call()
