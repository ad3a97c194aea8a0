"""Shared fixtures: the tiny hand-made database, active for the metric and page tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dashboard import db
from tests.tiny import build_tiny


@pytest.fixture(scope="session")
def tiny_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = build_tiny(tmp_path_factory.mktemp("tiny") / "tiny.duckdb")
    return path


@pytest.fixture()
def use_tiny(tiny_db: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the app's database at the tiny fixture for one test."""
    monkeypatch.setenv(db.ENV_VAR, str(tiny_db))
    yield tiny_db
    db._cached.clear()


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("STREAMLIT_BROWSER_GATHER_USAGE_STATS", "false")
    # No background warm-up threads in tests: they would only compete for the two cores.
    os.environ["CHUANGWEN_WARM_UP"] = "0"
