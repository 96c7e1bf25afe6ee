"""Fixtures of the bulk transfer tests: one embedded namespace per test."""

from __future__ import annotations

from pathlib import Path

import pytest

from .helpers import Oio


@pytest.fixture
def oio(tmp_path: Path) -> Oio:
    return Oio(tmp_path)
