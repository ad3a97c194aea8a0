"""Trend series (dashboard/trends.py) against numbers worked out by hand on the tiny fixture,
and the 趋势 page's charts read back from their plotly specs (AppTest).

Weekly rectification of the whole city (every problem is under 临江市), from the PROBLEMS
table of tests/tiny.py. ISO weeks end on Sunday; a value at a week end is "as of" that day.

  week end 2026-05-17 (week 05-11..05-17)
    found ≤ 05-17: P1 P2 P3 P5 P7 P10 = 6;   found in week: P7 = 1 (P3 was 05-10, a Sunday)
    rectified ≤ 05-17: P1 P2 P5 P10 = 4 (P7 only 05-21) → 整改率 4/6;   in week: P2 (05-12)
    due (deadline ≤ 05-17): P1 P2 P3 P5 P10 = 5; on time: P1 P5 P10 = 3 → 按期 3/5
    overdue: none (P3's deadline is 05-17 itself, not before it) = 0
  week end 2026-05-24
    found: + P4 (05-20) = 7;   rectified: + P7 (05-21) = 5 → 5/7;   in week: 1 found, 1 rectified
    due: + P7 (05-22) = 6; on time + P7 = 4 → 4/6;   overdue: P3 = 1
  week end 2026-05-31
    found: + P11 (05-25), P12 (05-28) = 9;   rectified 5 (P12 only 06-03) → 5/9
    due 6 (P11 due 06-01, P12 06-04: later), on time 4 → 4/6;   overdue: P3 = 1
  week end 2026-06-07
    found: + P6 (06-01), P8 (06-05) = 11;   rectified: + P12 = 6 → 6/11;   in week 2 / 1
    due: + P11, P12 = 8; on time: + P12 (06-03 ≤ 06-04) = 5 → 5/8;   overdue: P3, P11 = 2
  2026-06-10 (the running week, ends at AS_OF): 11 / 6, due 9 (+ P6), on time 5, overdue 3
  市住建局 (dept 12: P1 P3 P5 P6 P10 P11) at 06-07: found 6, rectified 3 (P1 P5 P10),
    due 5 (P6 due 06-08), on time 3, overdue 2 (P3, P11)

Visit burn-up (all subject kinds, target 39): cumulative distinct subjects at week ends
  05-24: 5 (光明社区 H1–H5 on 05-20);  05-31: + 幸福社区 H1 H2 H3 = 8 (7 of 8 visits entered)
  06-07: + 幸福 H4 H5 B1, 红星 H1 H2 = 13 (幸福 H1's second visit adds nothing)
  06-10: + 幸福 H6 = 14 (H7 on 06-11 is after AS_OF);  15 visits, 14 entered
Projection (metrics.project_coverage): pace 9/14 a day; at 06-30 (20 days) (14 + 9/14·20)/39
  = 68.9% → behind 70%; daily needed (0.7·39 − 14)/20 = 0.665; at 07-31 capped at 100%,
  daily needed 25/51. The dashed line stops where 100% is reached: (39 − 14)/(9/14)
  = 38.9 days after 06-10 00:00, i.e. late on 2026-07-18.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dashboard import db, metrics, store, trends
from tests.apptest import open_page
from tests.tiny import AS_OF, fill_tiny

PAGE = "dashboard/pages/trends.py"


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


# ── periods ─────────────────────────────────────────────────────────────────────────────


def test_iso_weeks_end_on_sunday_and_the_running_period_ends_at_as_of() -> None:
    assert trends.period_end(d("2026-06-10"), "week") == d("2026-06-14")
    assert trends.period_start(d("2026-06-10"), "week") == d("2026-06-08")
    assert trends.period_end(d("2026-02-10"), "month") == d("2026-02-28")
    assert trends.period_ends(d("2026-05-11"), AS_OF, "week") == [
        d("2026-05-17"),
        d("2026-05-24"),
        d("2026-05-31"),
        d("2026-06-07"),
        AS_OF,
    ]
    assert trends.period_ends(d("2026-04-20"), AS_OF, "month") == [
        d("2026-04-30"),
        d("2026-05-31"),
        AS_OF,
    ]
    assert trends.span_start(AS_OF, "1m", "week") == d("2026-05-11")  # a Monday
    assert trends.span_start(AS_OF, "all", "day") == AS_OF - dt.timedelta(days=91)


# ── rectification ───────────────────────────────────────────────────────────────────────


@pytest.mark.usefixtures("use_tiny")
def test_weekly_rectification_by_hand() -> None:
    s = trends.rectification_series(1, AS_OF, "week", "1m").set_index("period_end")
    weeks = [d("2026-05-17"), d("2026-05-24"), d("2026-05-31"), d("2026-06-07"), AS_OF]
    assert list(s.index) == weeks
    assert list(s["found"]) == [6, 7, 9, 11, 11]
    assert list(s["rectified"]) == [4, 5, 5, 6, 6]
    assert list(s["due"]) == [5, 6, 6, 8, 9]
    assert list(s["rectified_on_time"]) == [3, 4, 4, 5, 5]
    assert list(s["overdue"]) == [0, 1, 1, 2, 3]
    assert list(s["found_in_period"]) == [1, 1, 2, 2, 0]
    assert list(s["rectified_in_period"]) == [1, 1, 0, 1, 0]
    assert s["rectification_rate"].tolist() == pytest.approx([4 / 6, 5 / 7, 5 / 9, 6 / 11, 6 / 11])
    assert s["on_time_rate"].tolist() == pytest.approx([3 / 5, 4 / 6, 4 / 6, 5 / 8, 5 / 9])
    assert list(s["partial"]) == [False, False, False, False, True]
    dept = trends.rectification_series(12, AS_OF, "week", "1m").set_index("period_end")
    row = dept.loc[d("2026-06-07")]
    assert (row.found, row.rectified, row.due, row.rectified_on_time, row.overdue) == (
        6,
        3,
        5,
        3,
        2,
    )


@pytest.mark.usefixtures("use_tiny")
@pytest.mark.parametrize("scope_id", [1, 2, 3, 4, 7, 12, 13])
def test_series_equals_the_metric_as_of_every_day(scope_id: int) -> None:
    """The one-pass SQL gives exactly metrics.rectification evaluated as of each day."""
    series = trends.rectification_series(scope_id, AS_OF, "day", "3m")
    assert len(series) == trends.MAX_DAILY_POINTS
    for row in series.itertuples():
        m = metrics.rectification(scope_id, row.period_end).iloc[0]
        got = (row.found, row.rectified, row.due, row.rectified_on_time, row.overdue)
        assert got == (m.found, m.rectified, m.due, m.rectified_on_time, m.overdue), row.period_end
        for mine, theirs in (
            (row.rectification_rate, m.rectification_rate),
            (row.on_time_rate, m.on_time_rate),
        ):
            assert (pd.isna(mine) and pd.isna(theirs)) or mine == pytest.approx(theirs)


@pytest.mark.usefixtures("use_tiny")
def test_rates_without_denominator_are_gaps_and_all_span_starts_at_first_problem() -> None:
    series = trends.rectification_series(1, AS_OF, "month", "all")
    assert list(series["period_end"]) == [d("2026-04-30"), d("2026-05-31"), AS_OF]  # P10: 04-01
    assert list(series["found"]) == [1, 9, 11]
    early = trends.rectification_series(1, d("2026-04-05"), "day", "1m")
    assert early["found"].iloc[0] == 0
    assert pd.isna(early["rectification_rate"].iloc[0])  # 0 found: no rate, not 0%
    assert pd.isna(early["on_time_rate"]).all()  # nothing due before 04-15


@pytest.mark.usefixtures("use_tiny")
def test_rectification_from_every_units_rows_equals_the_query(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """At the default date a unit's rectification rows are its slice of every unit's rows
    (read once, from a day on: the days before summed into one row): the same series as
    the query for that unit, for every unit and the views that start late enough."""
    from dashboard import unit_numbers

    # every unit's rows from 05-11 on (the tiny city's problems start on 04-01, so the
    # summed row before them counts): the 1-month views start on 05-11
    monkeypatch.setattr(trends, "_rectification_since", lambda as_of: d("2026-05-11"))
    read = []
    every = trends._every_rectification
    monkeypatch.setattr(trends, "_every_rectification", lambda *a: read.append(a) or every(*a))
    views = [("day", "1m"), ("week", "1m"), ("day", "all")]
    ids = [int(u) for u in metrics.units()["unit_id"]]
    served = {(u, g, s): trends.rectification_series(u, AS_OF, g, s) for u in ids for g, s in views}
    assert read and all(a == (AS_OF, d("2026-05-11")) for a in read)
    assert served[1, "week", "1m"]["found"].tolist() == [6, 7, 9, 11, 11]  # by hand, above
    db.clear_results()
    monkeypatch.setattr(unit_numbers, "served_store", lambda *a, **k: None)
    read.clear()
    for (unit_id, grain, span), got in served.items():
        want = trends.rectification_series(unit_id, AS_OF, grain, span)
        pd.testing.assert_frame_equal(got, want, check_exact=True)
    assert not read  # the query, each time


# ── visits ──────────────────────────────────────────────────────────────────────────────


@pytest.mark.usefixtures("use_tiny")
def test_burnup_by_hand() -> None:
    b = trends.visit_burnup(1, AS_OF, "week")
    s = b.series.set_index("period_end")
    assert (b.target, b.covered) == (39, 14)
    assert s.loc[d("2026-05-24"), "covered"] == 5
    assert s.loc[d("2026-05-31"), "covered"] == 8
    assert s.loc[d("2026-06-07"), "covered"] == 13
    assert s.loc[AS_OF, "covered"] == 14  # H7 (06-11) is after as_of
    assert s.loc[d("2026-05-31"), "entry_rate"] == pytest.approx(7 / 8)
    assert s.loc[AS_OF, "entry_rate"] == pytest.approx(14 / 15)
    assert b.entry_rate == pytest.approx(14 / 15)
    assert b.pace_per_day == pytest.approx(9 / 14) and b.enough_history
    june, july = b.milestones.to_dict("records")
    assert june["projected_rate"] == pytest.approx((14 + 9 / 14 * 20) / 39)
    assert june["behind"] is True
    assert june["daily_needed"] == pytest.approx((0.7 * 39 - 14) / 20)
    assert july["projected_rate"] == 1.0 and july["daily_needed"] == pytest.approx(25 / 51)
    path = b.projection
    assert path["covered"].tolist() == pytest.approx([14, 14 + 9 / 14 * 20, 39])
    assert path["date"].iloc[1] == pd.Timestamp("2026-06-30")
    full = pd.Timestamp(AS_OF) + pd.Timedelta(days=(39 - 14) / (9 / 14))
    assert path["date"].iloc[2] == full and full.date() == d("2026-07-18")
    assert trends.visit_kinds(1, AS_OF) == ("business", "household")


@pytest.mark.usefixtures("use_tiny")
def test_burnup_matches_coverage_metric_at_every_day_and_kind() -> None:
    for kind in (None, "household", "business"):
        b = trends.visit_burnup(2, AS_OF, "day", kind)
        for row in b.series.itertuples():
            cov = metrics.coverage(2, row.period_end, by_kind=kind is not None)
            if kind is not None:
                cov = cov[cov["subject_kind"] == kind]
            assert row.covered == cov["covered"].iloc[0], (kind, row.period_end)
            assert row.visits == cov["visits"].iloc[0]


@pytest.mark.usefixtures("use_tiny")
def test_burnup_from_every_units_visit_days_equals_the_query(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """At the default date a unit's visits per day (every kind) are its slice of every
    unit's rows (read once): the same burn-up as the query for that unit, for every unit
    and grain; a kind's burn-up asks the query."""
    from dashboard import unit_numbers

    read = []
    every = trends._every_visit_day
    monkeypatch.setattr(trends, "_every_visit_day", lambda *a: read.append(a) or every(*a))
    ids = [int(u) for u in metrics.units()["unit_id"]]
    served = {(u, g): trends.visit_burnup(u, AS_OF, g) for u in ids for g in trends.GRAINS}
    assert read and {a[0] for a in read} == {AS_OF}
    assert served[1, "week"].series["covered"].tolist()[-1] == 14  # by hand, above
    read.clear()
    trends.visit_burnup(1, AS_OF, "week", "household")
    assert not read
    db.clear_results()
    monkeypatch.setattr(unit_numbers, "served_store", lambda *a, **k: None)
    for (unit_id, grain), got in served.items():
        want = trends.visit_burnup(unit_id, AS_OF, grain)
        assert (got is None) == (want is None)
        if got is not None:
            pd.testing.assert_frame_equal(got.series, want.series, check_exact=True)
            pd.testing.assert_frame_equal(got.milestones, want.milestones, check_exact=True)
            pd.testing.assert_frame_equal(got.projection, want.projection, check_exact=True)
            assert (got.covered, got.target, got.entry_rate) == (
                want.covered, want.target, want.entry_rate,
            )  # fmt: skip
    assert not read  # the query, each time


@pytest.mark.usefixtures("use_tiny")
def test_warming_reads_every_units_rows_the_page_slices(monkeypatch: pytest.MonkeyPatch) -> None:
    """startup's warm-up reads the three per-snapshot reads ahead; the first page then
    runs none of the page's row queries."""
    trends.warm(AS_OF)
    ran = []
    monkeypatch.setattr(db, "query_arrays", lambda name, **p: ran.append(name))
    original = db.run_query
    monkeypatch.setattr(
        db, "run_query", lambda i, name, p: ran.append(name) or original(i, name, p)
    )
    trends.score_chart_data(4, AS_OF)
    trends.category_chart_data(4, AS_OF, {})
    trends.rectification_series(4, AS_OF, "week", "3m")
    trends.visit_burnup(4, AS_OF, "day")
    assert not set(ran) & {"trend_scores", "trend_rectification", "trend_visits"}


@pytest.mark.usefixtures("use_tiny")
def test_no_projection_with_too_little_history() -> None:
    b = trends.visit_burnup(1, d("2026-05-04"), "day")  # campaign started 05-01: 4 days
    assert not b.enough_history and b.pace_window_days == 4
    assert b.projection.empty
    assert b.milestones["projected_rate"].isna().all()
    assert b.milestones["daily_needed"].notna().all()  # what is needed is still known


@pytest.mark.usefixtures("use_tiny")
def test_milestone_steps() -> None:
    steps = trends.milestone_steps(metrics.campaign_at(AS_OF), 39)
    assert list(steps["date"]) == [
        d("2026-05-01"),
        d("2026-06-30"),
        d("2026-06-30"),
        d("2026-07-31"),
    ]
    assert steps["required"].tolist() == pytest.approx([27.3, 27.3, 39, 39])


# ── scores ──────────────────────────────────────────────────────────────────────────────


@pytest.mark.usefixtures("use_tiny")
def test_scores_over_tests_with_gaps_targets_and_categories() -> None:
    city = trends.score_series([1], AS_OF)
    assert city["score"].tolist() == [78, 80, 82]
    assert city["change"].tolist()[1:] == [2, 2]
    # categories: only assessment 3 has item scores (16+8+9 of 40, 20+15 of 40, 14 of 20)
    assert trends.score_series([1], AS_OF, "field")["score"].tolist()[2] == pytest.approx(82.5)
    assert trends.score_series([1], AS_OF, "materials")["score"].tolist()[2] == pytest.approx(87.5)
    field = trends.score_series([1], AS_OF, "field")["score"]
    assert field.isna().tolist() == [True, True, False]  # gaps, not zeros
    assert trends.score_series([1], AS_OF, 11)["score"].tolist()[2] == pytest.approx(80.0)
    hongxing = trends.score_series([8], AS_OF)
    assert hongxing["score"].isna().all()
    assert trends.score_target(1, "overall") == 90 and trends.score_target(1, 11) == 90
    assert trends.score_target(1, "field") is None
    assert trends.score_series([1], d("2026-05-01"))["score"].tolist() == [78, 80]  # as_of


@pytest.mark.usefixtures("use_tiny")
def test_score_chart_data_adds_comparison_and_city() -> None:
    data = trends.score_chart_data(4, AS_OF, "overall", (5,))
    roles = data.drop_duplicates("unit_id").set_index("unit_id")["role"].to_dict()
    assert roles == {4: "main", 5: "compare", 1: "reference"}
    assert data[data["unit_id"] == 5]["score"].tolist() == [78, 80, 86]
    assert trends.city_of(10) == 1 and trends.city_of(1) == 1
    assert set(trends.comparison_candidates(4)["name"]) == {"解放街道", "幸福社区", "红星社区"}


@pytest.mark.usefixtures("use_tiny")
def test_every_units_score_rows_are_each_units_query_rows() -> None:
    """_score_rows (read once per snapshot, as arrays) holds, for every unit, exactly the
    rows query("trend_scores", unit_id=…) gives, in the same order; a unit without scores
    has none."""
    every = trends._score_rows()
    ids = [int(u) for u in metrics.units()["unit_id"]]
    with_rows = 0
    for unit_id in ids:
        first, last = every.bounds.get(unit_id, (0, 0))
        live = db.query("trend_scores", unit_id=unit_id)
        assert live["unit_id"].eq(unit_id).all()
        assert every.assessment_id[first:last].tolist() == live["assessment_id"].tolist()
        indicator = live["indicator_id"].to_numpy(dtype="float64", na_value=np.nan)
        np.testing.assert_array_equal(every.indicator_id[first:last], indicator)
        assert every.value[first:last].tolist() == live["value"].tolist()
        assert every.max_value[first:last].tolist() == live["max_value"].tolist()
        with_rows += bool(len(live))
    assert with_rows >= 3  # the city, 解放街道's communities (tests above)
    assert sum(b - a for a, b in every.bounds.values()) == len(every.value)


# ── surveys: a small fixture of our own (tiny.py has no survey waves) ─────────────────


def fill_surveys(con) -> None:
    fill_tiny(con)
    con.execute(
        "insert into indicators values (42, 'P-02', '居住环境', 'phone', 4, 0, 85, 12, NULL)"
    )
    con.execute(
        "insert into indicators values (43, 'P-03', '社会治安', 'phone', 4, 0, 85, 13, NULL)"
    )
    for row in [
        (10, "2026年2月电话调查", "city", "phone", "2026-02-05", "2026-02-11"),
        (11, "2026年5月电话调查", "provincial", "phone", "2026-05-05", "2026-05-11"),
        (12, "2026年8月电话调查", "city", "phone", "2026-08-05", "2026-08-11"),
        (13, "2026年第1季度问卷调查", "city", "questionnaire", "2026-03-20", "2026-03-25"),
    ]:
        con.execute(
            "insert into assessments values (?, ?, ?, ?, ?, ?, NULL, NULL, NULL)", list(row)
        )
    for a, ind, value, maximum in [
        (10, 41, 80.0, 100), (10, 42, 76.0, 100), (10, 43, 88.0, 100),
        (11, 41, 78.5, 100), (11, 42, 85.2, 100),  # 社会治安 not asked in May: a gap
        (12, 41, 99.0, 100),  # after as_of: never shown
        (13, 31, 17.0, 20),  # questionnaire item out of its weight 20 → 85%
    ]:  # fmt: skip
        con.execute("insert into scores values (?, 1, ?, ?, ?, 400)", [a, ind, value, maximum])


@pytest.fixture(scope="module")
def survey_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("surveys") / "surveys.duckdb"
    return store.write_snapshot(
        path, fill_surveys, meta={"source": "test", "reference_date": AS_OF.isoformat()}
    )


@pytest.fixture()
def use_surveys(survey_db: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(db.ENV_VAR, str(survey_db))
    yield survey_db
    db._cached.clear()


@pytest.mark.usefixtures("use_surveys")
def test_phone_items_over_waves_with_change() -> None:
    t = trends.survey_trend(1, AS_OF, "phone")
    assert not t.borrowed
    latest = t.latest.set_index("item_name")
    assert latest.loc["居住环境", "rate"] == pytest.approx(85.2)
    assert latest.loc["居住环境", "change"] == pytest.approx(9.2)  # "居住环境 rose 9.2 points"
    assert latest.loc["看病就医", "change"] == pytest.approx(-1.5)
    assert pd.isna(latest.loc["社会治安", "rate"])  # a gap, not zero
    assert t.latest.dropna(subset=["rate"]).iloc[0]["item_name"] == "看病就医"  # lowest
    assert 12 not in set(t.waves["assessment_id"])  # after as_of
    borrowed = trends.survey_trend(4, AS_OF, "phone")
    assert borrowed.borrowed and borrowed.unit_name == "临江市"
    q = trends.survey_trend(1, AS_OF, "questionnaire")
    assert q.waves["rate"].tolist() == pytest.approx([85.0])


@pytest.mark.usefixtures("use_tiny")
def test_no_survey_rows_at_all_is_no_survey_trend() -> None:
    # the tiny city has no survey wave: every unit's rows are none, no unit has waves
    assert trends._survey_rows("phone", AS_OF)[1] == {}
    assert trends.survey_trend(4, AS_OF, "phone") is None


@pytest.mark.usefixtures("use_surveys")
def test_survey_waves_from_every_units_rows_equal_the_query(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """At the default date a unit's waves are its slice of every unit's rows (read once):
    the same frames as the query for that unit, for every unit and survey kind."""
    from dashboard import unit_numbers

    assert unit_numbers.served_store([AS_OF], ("rectification",)) is not None
    ids = [int(u) for u in metrics.units()["unit_id"]]
    compared = 0
    served = {
        (u, c): trends.survey_trend(u, AS_OF, c) for u in ids for c in ("phone", "questionnaire")
    }
    assert served[1, "phone"] is not None and served[4, "phone"].borrowed  # tests above
    for unit_id in ids:
        for category in ("phone", "questionnaire"):
            rows = trends._survey_rows_of(unit_id, AS_OF, category)
            live = db.query("trend_survey", unit_id=unit_id, as_of=AS_OF, category=category)
            if live.empty:  # (an empty frame's text columns may be typed differently)
                assert rows.empty and list(rows.columns) == list(live.columns)
            else:
                pd.testing.assert_frame_equal(rows, live, check_exact=True)
                compared += 1
    assert compared == 2  # the city: phone and questionnaire
    db.clear_results()
    monkeypatch.setattr(
        trends,
        "_survey_rows_of",
        lambda u, as_of, c: db.query("trend_survey", unit_id=u, as_of=as_of, category=c),
    )
    for (unit_id, category), got in served.items():
        want = trends.survey_trend(unit_id, AS_OF, category)
        assert (got is None) == (want is None)
        if got is not None:
            assert (got.unit_id, got.unit_name, got.borrowed) == (
                want.unit_id, want.unit_name, want.borrowed,
            )  # fmt: skip
            pd.testing.assert_frame_equal(got.waves, want.waves, check_exact=True)
            pd.testing.assert_frame_equal(got.latest, want.latest, check_exact=True)


# ── the page: chart specs read back from the element proto ──────────────────────────────


def _array(value: object) -> list:
    """A plotly JSON array: a list, or a typed array {'dtype', 'bdata'}."""
    if isinstance(value, dict) and "bdata" in value:
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"]).tolist()
    return list(value)


def chart_specs(at) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def trace(spec: dict, meta: str) -> dict:
    return next(t for t in spec["data"] if t.get("meta") == meta)


def _dates(values: list) -> list[dt.date]:
    return [pd.Timestamp(v).date() for v in values]


@pytest.mark.usefixtures("use_tiny")
def test_page_score_charts_match_trend_functions() -> None:
    at = open_page(PAGE, {"as_of": AS_OF.isoformat(), "unit": "东城区"})
    assert not at.exception, at.exception
    scores, categories = chart_specs(at)
    expected = trends.score_series([2, 1], AS_OF)
    for unit_id in (2, 1):
        t = trace(scores, str(unit_id))
        assert _array(t["y"]) == expected[expected["unit_id"] == unit_id]["score"].tolist()
    assert trace(scores, "1")["name"] == "临江市（全市）"
    assert any("目标 88" in (s.get("text") or "") for s in scores["layout"]["annotations"])
    assert any("下次" in (s.get("text") or "") for s in scores["layout"]["annotations"])
    assert _array(trace(categories, "overall")["y"]) == [79, 82, 85]
    assert _array(trace(categories, "field")["y"]) == [None, None, None]  # no item scores


@pytest.mark.usefixtures("use_tiny")
def test_page_rectification_chart_matches_the_metric_at_each_week_end() -> None:
    at = open_page(PAGE, {"as_of": AS_OF.isoformat(), "view": "问题整改", "span": "近1个月"})
    assert not at.exception, at.exception
    (spec,) = chart_specs(at)
    rate = trace(spec, "rectification_rate")
    ends = _dates(rate["x"])
    assert ends == [d("2026-05-17"), d("2026-05-24"), d("2026-05-31"), d("2026-06-07"), AS_OF]
    for end, y_rate, y_on_time, y_overdue in zip(
        ends,
        _array(rate["y"]),
        _array(trace(spec, "on_time_rate")["y"]),
        _array(trace(spec, "overdue")["y"]),
        strict=True,
    ):
        m = metrics.rectification(1, end).iloc[0]
        assert y_rate == pytest.approx(100 * m.rectification_rate)
        assert y_on_time == pytest.approx(100 * m.on_time_rate)
        assert y_overdue == m.overdue
    assert _array(trace(spec, "found_in_period")["y"]) == [1, 1, 2, 2, 0]
    texts = [s.get("text") or "" for s in spec["layout"]["annotations"]]
    assert "红榜线 90%" in texts and "黑榜线 85%" in texts


@pytest.mark.usefixtures("use_tiny")
def test_page_burnup_chart_matches_trend_functions() -> None:
    at = open_page(PAGE, {"as_of": AS_OF.isoformat(), "view": "入户走访", "visit_grain": "按周"})
    assert not at.exception, at.exception
    burnup, entry = chart_specs(at)
    b = trends.visit_burnup(1, AS_OF, "week")
    assert _array(trace(burnup, "covered")["y"]) == b.series["covered"].tolist()
    projection = trace(burnup, "projection")
    assert projection["name"] == "按近14天日均 0.6 个推算"
    assert _array(projection["y"]) == pytest.approx([14, 14 + 9 / 14 * 20, 39])
    milestone_text = " ".join(trace(burnup, "milestones")["text"])
    assert "06-30 目标 70%" in milestone_text and "还需日均 0.7 个" in milestone_text
    assert _array(trace(entry, "entry_rate")["y"])[-1] == pytest.approx(100 * 14 / 15)


@pytest.mark.usefixtures("use_tiny")
def test_page_says_why_there_is_no_projection() -> None:
    at = open_page(PAGE, {"as_of": "2026-05-04", "view": "入户走访"})
    assert not at.exception, at.exception
    burnup = chart_specs(at)[0]
    assert not any(t.get("meta") == "projection" for t in burnup["data"])
    notes = [a.get("text") or "" for a in burnup["layout"]["annotations"]]
    assert any("不足 7 天，暂不推算" in n for n in notes)


@pytest.mark.usefixtures("use_surveys")
def test_page_survey_charts_match_trend_functions() -> None:
    at = open_page(PAGE, {"as_of": AS_OF.isoformat(), "view": "满意度调查"})
    assert not at.exception, at.exception
    change, waves = chart_specs(at)
    latest = trends.survey_trend(1, AS_OF, "phone").latest
    assert _array(trace(change, "rate")["y"]) == latest["item_name"].tolist()
    got = _array(trace(change, "rate")["x"])
    want = latest["rate"].tolist()
    assert [g is None for g in got] == [pd.isna(w) for w in want]
    assert [g for g in got if g is not None] == pytest.approx([w for w in want if not pd.isna(w)])
    assert "（+9.2）" in " ".join(trace(change, "labels")["text"])
    assert _array(trace(waves, "P-02")["y"]) == pytest.approx([76.0, 85.2])
    assert _array(trace(waves, "P-03")["y"]) == [88.0, None]  # the gap stays a gap


@pytest.mark.usefixtures("use_tiny")
def test_restricted_user_gets_no_lines_outside_their_units(monkeypatch: pytest.MonkeyPatch) -> None:
    from dashboard.auth import Access

    monkeypatch.setattr(db, "current_access", lambda: Access(user=None, root_ids=(4,)))
    data = trends.score_chart_data(4, AS_OF, "overall", (5, 7))
    assert set(data["unit_id"]) == {4, 7}  # 解放街道 and the city are outside 和平街道
    assert set(trends.comparison_candidates(4)["name"]) == {"幸福社区", "红星社区"}
    with pytest.raises(db.AccessDenied):  # every unit's score rows are read once: still refused
        trends.score_chart_data(5, AS_OF, "overall")
    with pytest.raises(db.AccessDenied):
        trends.category_chart_data(5, AS_OF, {})


def test_end_labels_that_would_overlap_go_above_and_below() -> None:
    """The 趋势 category chart printed 88.6 and 88.5 on top of each other."""
    import plotly.graph_objects as go

    from dashboard.components.charts import _separate_end_labels

    fig = go.Figure()
    for ys in ([80.0, 88.6], [84.0, 88.5], [70.0, 75.0]):
        fig.add_trace(go.Scatter(y=ys, text=["", f"{ys[-1]}"], textposition="middle right"))
    _separate_end_labels(fig)
    assert [t.textposition for t in fig.data] == ["top right", "bottom right", "middle right"]
