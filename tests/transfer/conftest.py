"""Fixtures of the bulk transfer tests: one embedded namespace per test."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from .helpers import Oio


@pytest.fixture
def oio(tmp_path: Path) -> Iterator[Oio]:
    yield Oio(tmp_path)
    # Namespaces and big files are heavy: do not leave them to pytest's retention
    # of the last runs' temporary directories (its clean-up then takes minutes).
    shutil.rmtree(tmp_path, ignore_errors=True)
