"""No number changes: the flag engine still gives, flag for flag and in the same order, what
the per-date pandas engine gave (tests/golden/flags_*.tsv, written by tests/flag_golden.py)
on the tiny fixture and on a small generated city, at the default date, replayed dates in
the past and several scopes (root, district, street, department)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dashboard import db, demo
from tests import flag_golden
from tests.cities import CITY_REFERENCE, SMALL_CITY_SCALE


def _compare(golden: Path, cases) -> None:
    db.clear_memos()
    want = golden.read_text(encoding="utf-8").splitlines()
    got = flag_golden.golden_lines(cases())
    missing = [line for line in want if line not in set(got)]
    extra = [line for line in got if line not in set(want)]
    assert not missing and not extra, (
        f"{golden.name}: {len(missing)} golden lines missing, {len(extra)} new\n"
        + "\n".join(["- " + m for m in missing[:10]] + ["+ " + e for e in extra[:10]])
    )
    assert got == want  # the same lines in the same (priority) order


def test_flags_match_the_golden_on_the_tiny_fixture(use_tiny: Path) -> None:
    _compare(flag_golden.GOLDEN_DIR / "flags_tiny.tsv", flag_golden.tiny_cases)


@pytest.fixture(scope="module")
def golden_city(small_city: Path) -> Path:
    """flag_golden.build_city's city: the session's scale-0.05 city (tests/conftest.py)."""
    assert (flag_golden.CITY_SCALE, flag_golden.CITY_SEED, flag_golden.CITY_REFERENCE) == (
        SMALL_CITY_SCALE,
        demo.DEFAULT_SEED,
        CITY_REFERENCE,
    )
    return small_city


def test_flags_match_the_golden_on_a_generated_city(
    golden_city: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(db.ENV_VAR, str(golden_city))
    try:
        _compare(flag_golden.GOLDEN_DIR / "flags_city.tsv", flag_golden.city_cases)
    finally:
        db._cached.clear()
