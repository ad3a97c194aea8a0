"""Every unit's numbers at a served day (dashboard/unit_numbers.py): the metric functions
applied once to the served counts of every unit equal each unit's own rows run live (the
count queries on the snapshot), column by column, with the metric frame's dtypes; a day
the served rows do not hold is left to the metric functions."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dashboard import db, meeting, metrics, rankings, trends, unit_numbers, unit_view
from tests.cities import CITY_REFERENCE
from tests.tiny import AS_OF


def _live(source: str, unit_id: int, days: list[dt.date]) -> pd.DataFrame:
    """metrics.over_days of one unit with its count queries run on the snapshot (never
    the served rows)."""
    identity = db.file_identity()

    def run(name: str, **params: object) -> pd.DataFrame:
        return db.run_query(identity, name, params)

    return metrics.over_days(unit_numbers.SOURCES[source], unit_id, days, fetch=run)


def _plain(row: dict) -> dict:
    """A row's values with their types, NaN as a marker (NaN != NaN)."""
    return {k: (type(v), "NaN" if v != v else v) for k, v in row.items()}


def test_every_units_served_numbers_equal_its_live_rows(use_tiny: Path) -> None:
    store = db.served_store(db.file_identity())
    days = sorted(k for name, k in store.slots if name == "rectification_counts")
    assert AS_OF in days and len(days) > 5
    ids = [int(u) for u in metrics.units()["unit_id"]]
    compared = 0
    for source in unit_numbers.SOURCES:
        assert unit_numbers.served_store(days, (source,)) is store
        for unit_id in ids:
            live = _live(source, unit_id, days)
            stamps = live["as_of"].to_numpy(dtype=object)
            at = unit_numbers.position(unit_id)
            for day in days:
                served = unit_numbers.numbers(source, day)
                rows = np.flatnonzero(stamps == day)
                assert served.present[at] == bool(len(rows)), (source, unit_id, day)
                if not len(rows):
                    continue
                row = live.iloc[rows[0]]
                for column in live.columns.drop(["as_of", "unit_id"]):
                    assert served.dtypes[column] == live[column].dtype, (source, column)
                    want = float(row[column])
                    got = served.column(column)[at]
                    assert got == want or (np.isnan(got) and np.isnan(want)), (
                        source, unit_id, day, column,
                    )  # fmt: skip
                record = live.iloc[[rows[0]]].to_dict("records")[0]
                del record["as_of"], record["unit_id"]
                assert _plain(served.row(at)) == _plain(record)
                compared += 1
    assert compared > 100


def test_a_units_own_rows_by_hand(use_tiny: Path) -> None:
    # tests/tiny.py: 11 found, 6 rectified, 3 overdue (2 severe) by AS_OF; coverage 14 of
    # 39 at a pace of 9/14 a day (14 days of history); 台账 26 of 45
    rect = unit_numbers.own_rows("rectification", 1, [AS_OF])[AS_OF]
    assert (rect["found"], rect["rectified"], rect["overdue"], rect["overdue_severe"]) == (
        11, 6, 3, 2,
    )  # fmt: skip
    assert type(rect["found"]) is int and rect["rectification_rate"] == pytest.approx(6 / 11)
    cov = unit_numbers.own_rows("coverage", 1, [AS_OF])[AS_OF]
    assert (cov["covered"], cov["target"], cov["pace_window_days"]) == (14, 39, 14)
    assert cov["pace_per_day"] == pytest.approx(9 / 14)
    mat = unit_numbers.own_rows("materials", 1, [AS_OF])[AS_OF]
    assert mat["completion_rate"] == pytest.approx(26 / 45)
    # the districts' 整改率 counts picked by position: 东城区 8 / 5, 西城区 3 / 1
    numbers = unit_numbers.numbers("rectification", AS_OF)
    at = unit_numbers.positions(np.array([3, 2]))
    assert numbers.take("found", at).tolist() == [8, 3]
    assert numbers.take("rectified", at).dtype == np.int64
    # before the campaign started: no coverage row, the other sources still there
    early = dt.date(2026, 4, 30)
    if unit_numbers.served_store([early]) is not None:
        assert unit_numbers.own_rows("coverage", 1, [early]) == {}
    # a day the snapshot does not serve: left to the metric functions
    old = dt.date(2025, 1, 6)
    assert unit_numbers.served_store([old]) is None
    assert unit_numbers.own_rows("rectification", 1, [old]) is None


def test_the_boards_children_equal_the_metric_functions_at_every_level(
    use_tiny: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 会议大屏's child frame picked from every unit's numbers equals the one the metric
    # functions give at each level (the path of a replayed date)
    cases = [(1, "district"), (2, "street"), (4, "community"), (11, "department"), (1, "group")]
    served = {case: meeting.child_frame(*case[:1], AS_OF, case[1], 3) for case in cases}
    monkeypatch.setattr(unit_numbers, "served_store", lambda *args: None)
    for case, frame in served.items():
        assert len(frame)
        pd.testing.assert_frame_equal(frame, meeting.child_frame(case[0], AS_OF, case[1], 3))


def test_the_top_units_standing_equals_the_metric_functions(
    use_tiny: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 本单位's top unit (no peers): its own values, statuses and visit projections picked
    # from every unit's numbers equal those of the metric functions (a replayed date's path)
    with db.as_of_batch([AS_OF]):
        served = (unit_view.standing(1, AS_OF), unit_view._coverage_projection(1, AS_OF))
    assert served[0][0].key == "rectification_rate" and served[0][0].numerator == 6
    assert len(served[1]) == 2  # one row per milestone
    monkeypatch.setattr(unit_numbers, "served_store", lambda *args: None)
    with db.as_of_batch([AS_OF]):
        live = (unit_view.standing(1, AS_OF), unit_view._coverage_projection(1, AS_OF))
    assert served[0] == live[0]
    pd.testing.assert_frame_equal(served[1], live[1])


def test_the_burnups_own_row_equals_the_metric_functions(
    use_tiny: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 趋势's burn-up reads the scope's coverage row of every unit's numbers at a served day
    served = {unit: trends.visit_burnup(unit, AS_OF) for unit in (1, 2, 4, 7)}
    assert (served[1].covered, served[1].target, served[1].pace_window_days) == (14, 39, 14)
    monkeypatch.setattr(unit_numbers, "served_store", lambda *args: None)
    for unit, burnup in served.items():
        live = trends.visit_burnup(unit, AS_OF)
        for name in ("target", "covered", "coverage_rate", "pace_per_day", "entry_rate"):
            assert getattr(burnup, name) == getattr(live, name), (unit, name)
            assert type(getattr(burnup, name)) is type(getattr(live, name)), (unit, name)
        for name in ("series", "milestones", "projection"):
            pd.testing.assert_frame_equal(getattr(burnup, name), getattr(live, name))


def test_a_rankings_served_values_equal_its_live_ranking(
    use_tiny: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """rankings.ranking of every week-compared metric at every scope and level option of
    the tiny city: picked from every unit's numbers (the default date) == run live."""
    units = [int(u) for u in metrics.units()["unit_id"]]
    week_metrics = [m for m in rankings.METRICS if m.compare == "week"]
    cases = [(m, u, level) for m in week_metrics for u in units
             for level in rankings.level_options(u)]  # fmt: skip
    served = {}
    for m, unit_id, level in cases:
        assert rankings._served_values(m, unit_id, level, AS_OF, None) is not None, m.key
        served[m.key, unit_id, level] = rankings.ranking(m.key, unit_id, level, AS_OF)
    assert (
        rankings._served_values(week_metrics[0], units[0], "district", AS_OF, "household") is None
    )
    db.clear_results()
    monkeypatch.setattr(rankings, "_served_values", lambda *args: None)
    ranked = 0
    for m, unit_id, level in cases:
        live = rankings.ranking(m.key, unit_id, level, AS_OF)
        pd.testing.assert_frame_equal(served[m.key, unit_id, level], live, check_exact=True)
        ranked += int(live["rank"].notna().sum())
    assert ranked > 20


@pytest.mark.parametrize("city", ["tiny_db", "small_city"])
def test_every_units_frame_equals_the_metric_function_run_live(
    city: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """本单位's coverage (total and by kind) and 台账 frames picked from every unit's frame
    (unit_numbers.own_frame) equal the metric function with its count query run on the
    snapshot (never the served rows), for every unit, dtypes included."""
    path = request.getfixturevalue(city)
    monkeypatch.setenv(db.ENV_VAR, str(path))
    db.clear_memos()
    identity = db.file_identity()
    day = AS_OF if city == "tiny_db" else CITY_REFERENCE

    def run(name: str, **params: object) -> pd.DataFrame:
        params["days"] = [params.pop("as_of")]  # one day of the day-list query, as query does
        return db.run_query(identity, name, params).drop(columns="as_of")

    live_of = {
        "coverage": lambda u: metrics.coverage(u, day, fetch=run),
        "coverage_by_kind": lambda u: metrics.coverage(u, day, by_kind=True, fetch=run),
        "materials": lambda u: metrics.materials_completion(u, day, fetch=run),
    }
    picked = 0
    for source, live in live_of.items():
        assert unit_numbers.unit_frames(source, day) is not None, source
        for unit_id in metrics.units()["unit_id"].tolist():
            found = unit_numbers.own_frame(source, int(unit_id), day)
            if found is None:  # no row of its own: left to the function
                assert live(int(unit_id)).empty, (source, unit_id)
                continue
            pd.testing.assert_frame_equal(found, live(int(unit_id)), check_exact=True)
            picked += 1
    assert picked > 3 * (20 if city == "tiny_db" else 100) * 0.5
    # a day the snapshot does not serve: nothing picked
    assert unit_numbers.own_frame("materials", 1, dt.date(2025, 1, 6)) is None
    db.clear_memos()
