"""Every queries/*.sql file runs against the tiny fixture, so a broken SQL file fails CI."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import duckdb
import pytest

from dashboard import db
from tests.tiny import AS_OF

QUERY_FILES = sorted(db.QUERIES_DIR.glob("*.sql"))
PARAM = re.compile(r"\$([a-z_][a-z0-9_]*)")

# A value for every $param any query takes, chosen to hit data in the tiny fixture.
# A new parameter name needs an entry here (the test says which).
SAMPLE_PARAMS: dict[str, object] = {
    "scope_id": 1,
    "scope_ids": [1, 2, 12],  # queries over a list of scopes (flags.takes_scope_list)
    "unit_id": 2,
    "dept_id": 12,
    "parent_id": 1,
    "level": "district",
    "kind": "district",
    "as_of": AS_OF,
    "prev_as_of": AS_OF - dt.timedelta(days=7),
    "week_start": dt.date(2026, 6, 1),
    "week_starts": [dt.date(2026, 5, 25), dt.date(2026, 6, 1)],
    "week_end": dt.date(2026, 6, 7),
    "start_date": dt.date(2026, 5, 1),
    "end_date": AS_OF,
    "campaign_id": 1,
    "assessment_id": 3,
    "previous_assessment_id": 2,
    "indicator_id": None,
    "category": "field",
    "subject_kind": "household",
    "point_id": 1,
    "problem_id": "P3",
    "days": [AS_OF - dt.timedelta(days=7), AS_OF],
    "lookback_days": 180,
    "limit": 10,
    "n": 5,
    "window_days": 14,
    "rebound_days": 90,
    "severity": "severe",
    "table_name": "problems",
    # the red-flag rules' thresholds (queries/flag_rule_*.sql; defaults of config/flags.toml)
    "levels": ["district", "street"],
    "min_days": 1,
    "min_count": 1,
    "min_found": 5,
    "min_rebounds": 1,
    "min_visits": 5,
    "min_failed": 1,
    "min_points": 1,
    "min_units": 3,
    "min_drop": 0.0,
    "gap_points": 2.0,
    "draws": 3,
    "threshold": 0.85,
    "threshold_digits": 3,  # a status line's displayed precision (config/status.toml)
    "within_days": 30,
    "day": AS_OF,
    "since": dt.date(2026, 5, 11),  # a series' first day (trend_rectification)
    "rules": "0000000000000000",
    "fingerprint": "0000000000000000",
}


def test_there_are_queries() -> None:
    assert len(QUERY_FILES) >= 10


@pytest.mark.parametrize("path", QUERY_FILES, ids=lambda p: p.stem)
def test_query_file_runs(tiny_db: Path, path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.lstrip().startswith("--"), f"{path.name}: start with a header comment"
    names = sorted(set(PARAM.findall(text)))
    missing = [n for n in names if n not in SAMPLE_PARAMS]
    assert not missing, f"{path.name}: add sample values for {missing} in SAMPLE_PARAMS"
    con = duckdb.connect(str(tiny_db), read_only=True)
    try:
        frame = con.execute(text, {n: SAMPLE_PARAMS[n] for n in names}).df()
    finally:
        con.close()
    assert frame.columns.size > 0


@pytest.mark.parametrize("path", QUERY_FILES, ids=lambda p: p.stem)
def test_query_file_takes_values_only_as_params(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert "{" not in text and "%s" not in text, f"{path.name}: looks like a template"
