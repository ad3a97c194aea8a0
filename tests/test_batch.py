"""Day-list queries and as-of batches (db.as_of_batch): one query answers many days, and
every day's answer is the same as asking for that day alone."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from dashboard import db, flags, metrics, page_days
from tests.tiny import AS_OF

# every day-list query with the parameters besides the day that a page passes
DAY_QUERIES = {
    "rectification_counts": [{"level": "self"}, {"level": "street"}, {"level": "department"}],
    "coverage_counts": [{"level": "self"}, {"level": "street"}],
    "materials_counts": [{"level": "self"}, {"level": "community"}],
    "point_counts": [{"level": "self"}, {"level": "street"}],
    "materials_lines": [{}],
    "flag_overdue_problems": [{}],
    "flag_rebounds": [{"lookback_days": 180}],
    "flag_point_failures": [{"lookback_days": 90}],
    "flag_random_pool": [{"lookback_days": 180}],
    "survey_item_gaps": [{"category": "phone"}, {"category": "questionnaire"}],
    "sim_field_states": [{"lookback_days": 180}],
}


def test_the_day_list_queries_are_the_ones_listed_here() -> None:
    names = sorted(
        p.stem
        for p in db.QUERIES_DIR.glob("*.sql")
        if db.takes_days(p.stem) and not p.stem.startswith(("flag_rule_", "sim_backtest_"))
    )
    assert names == sorted(DAY_QUERIES)


def test_every_rule_is_one_day_list_query() -> None:
    # the red-flag rules are asked with their days explicitly (flags.rule_rows), not through
    # as_of batches: one query file per registered rule, each over $days
    files = sorted(p.stem for p in db.QUERIES_DIR.glob("flag_rule_*.sql"))
    assert files == sorted(f"flag_rule_{rule_id}" for rule_id in flags.RULES)
    assert all(db.takes_days(name) for name in files)


def _params(name: str, extra: dict, scope_id: int, day: dt.date) -> dict:
    params = {"scope_id": scope_id, "as_of": day, **extra}
    if flags.takes_scope_list(name):
        params["scope_ids"] = (params.pop("scope_id"),)
    if name == "coverage_counts":
        campaign = metrics.campaign_at(day)
        if campaign is None:
            return {}
        params["campaign_id"] = campaign.campaign_id
    return params


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Values as Python objects, missing as None: a column that is all null on one day but
    not on another comes back as None alone and as NaN in a wider result."""
    return frame.astype(object).where(frame.notna(), None)


def check_batches_agree(scope_id: int, as_of: dt.date) -> int:
    """Each day of a batch gets exactly the frame the day gets alone; returns rows seen."""
    days = flags.history_days(as_of)
    rows = 0
    for name, variants in DAY_QUERIES.items():
        for extra in variants:
            alone = {}
            for day in days:
                params = _params(name, extra, scope_id, day)
                if params:
                    alone[day] = db.query(name, **params)
            with db.as_of_batch(days):
                for day, expected in alone.items():
                    got = db.query(name, **_params(name, extra, scope_id, day))
                    pd.testing.assert_frame_equal(_plain(got), _plain(expected))
                    rows += len(got)
    return rows


@pytest.mark.usefixtures("use_tiny")
def test_batched_days_equal_single_days_on_the_tiny_fixture() -> None:
    assert check_batches_agree(1, AS_OF) > 0


@pytest.mark.usefixtures("use_tiny")
def test_a_batch_runs_each_query_once_for_all_its_days(monkeypatch: pytest.MonkeyPatch) -> None:
    ran: list[tuple[str, tuple]] = []
    original = db.run_query

    def counting(identity, name, params):
        if "days" in params:
            ran.append((name, params["days"]))
        return original(identity, name, params)

    monkeypatch.setattr(db, "run_query", counting)
    days = flags.history_days(AS_OF)
    with db.as_of_batch(days):
        for day in days:
            metrics.rectification(1, day, "street")
    assert ran == [("rectification_counts", tuple(sorted(days)))]  # one query for all nine
    ran.clear()
    metrics.rectification(1, AS_OF + dt.timedelta(days=1), "street")  # outside: that day only
    assert ran == [("rectification_counts", (AS_OF + dt.timedelta(days=1),))]
    ran.clear()
    with db.as_of_batch(days):
        metrics.rectification(1, AS_OF + dt.timedelta(days=2), "street")  # not a batch day
    assert ran == [("rectification_counts", (AS_OF + dt.timedelta(days=2),))]


def test_nested_batches_add_their_days() -> None:
    first, second = dt.date(2026, 6, 1), dt.date(2026, 6, 8)
    with db.as_of_batch([first]):
        with db.as_of_batch([second]):
            assert db._batch.days == {first, second}
        assert db._batch.days == {first}
    assert db._batch.days == frozenset() and db._batch.memo is None


@pytest.mark.usefixtures("use_tiny")
def test_flags_are_the_same_inside_and_outside_a_page_batch() -> None:
    alone = flags.evaluate(1, AS_OF)
    assert alone and any(f.weeks_red > 1 for f in alone)
    db._cached.clear()
    db.clear_memos()
    flags._evaluate_cached.clear()
    with db.as_of_batch(page_days.days_for("weekly", AS_OF)):
        assert flags.evaluate(1, AS_OF) == alone


def test_page_days_cover_this_week_and_last() -> None:
    as_of = dt.date(2026, 11, 24)
    meeting = page_days.days_for("meeting", as_of)
    assert meeting[0] == as_of and as_of - dt.timedelta(days=7) in meeting
    assert page_days.days_for("rankings", as_of) == []
    weekly = page_days.days_for("weekly", as_of)
    assert dt.date(2026, 11, 22) in weekly and dt.date(2026, 11, 15) in weekly
    assert len(weekly) == 2
    assert page_days.days_for("flags", as_of) == []  # the flag engine asks its own days


def test_batched_days_equal_single_days_on_a_generated_city(
    city_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(db.ENV_VAR, str(city_db))
    units = metrics.units()
    city = int(units[units["kind"] == "city"]["unit_id"].iloc[0])
    street = int(units[units["kind"] == "street"]["unit_id"].iloc[0])
    as_of = dt.date(2026, 11, 24)
    assert check_batches_agree(city, as_of) > 1000
    assert check_batches_agree(street, as_of) > 0
    db._cached.clear()
