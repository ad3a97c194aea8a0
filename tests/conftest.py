"""Shared fixtures: the tiny hand-made database, active for the metric and page tests, and
the two generated cities several test modules read (each generated once per session: a
snapshot write evaluates every flag and precomputes the served rows, so it is not cheap)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from dashboard import db
from tests.cities import CITY_REFERENCE, CITY_SCALE, SMALL_CITY_SCALE
from tests.tiny import build_tiny


@pytest.fixture(scope="session")
def tiny_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = build_tiny(tmp_path_factory.mktemp("tiny") / "tiny.duckdb")
    return path


@pytest.fixture()
def tiny_copy(tiny_db: Path, tmp_path: Path) -> Path:
    """A private copy of the tiny snapshot, for a test that writes to its database (the
    same file build_tiny writes, without writing and precomputing it again)."""
    path = tmp_path / "tiny.duckdb"
    shutil.copyfile(tiny_db, path)
    return path


# The generated cities shared by the modules that only read them (none may write to them).


@pytest.fixture(scope="session")
def small_city_build(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, list[tuple[float, str]]]:
    """The generated city at scale 0.05 (default seed, 2026-11-24) and the progress calls
    its generation reported."""
    from dashboard import demo

    calls: list[tuple[float, str]] = []
    path = demo.generate(
        tmp_path_factory.mktemp("small_city") / "city.duckdb",
        scale=SMALL_CITY_SCALE,
        seed=demo.DEFAULT_SEED,
        reference_date=CITY_REFERENCE,
        progress=lambda f, m: calls.append((f, m)),
    )
    return path, calls


@pytest.fixture(scope="session")
def small_city(small_city_build: tuple[Path, list[tuple[float, str]]]) -> Path:
    return small_city_build[0]


@pytest.fixture(scope="session")
def city_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The generated city at scale 0.1 (default seed, 2026-11-24)."""
    from dashboard import demo

    return demo.generate(
        tmp_path_factory.mktemp("city") / "city.duckdb",
        scale=CITY_SCALE,
        reference_date=CITY_REFERENCE,
    )


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
