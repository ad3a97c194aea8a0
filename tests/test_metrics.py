"""Metric functions against numbers worked out by hand on the tiny fixture (see tests/tiny.py)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from dashboard import metrics as m
from tests.tiny import AS_OF

pytestmark = pytest.mark.usefixtures("use_tiny")


def by_name(frame: pd.DataFrame) -> dict[str, dict]:
    return {row["name"]: row for row in frame.to_dict("records")}


def test_ratio_is_none_without_denominator() -> None:
    assert m.ratio(3, 4) == 0.75
    assert m.ratio(0, 0) is None
    assert m.ratio(1, None) is None


def test_rectification_for_the_city() -> None:
    row = m.rectification(1, AS_OF).iloc[0]
    assert (row.found, row.rectified, row.due, row.rectified_on_time) == (11, 6, 9, 5)
    assert (row.overdue, row.overdue_severe, row.closed, row.rebounds) == (3, 2, 3, 1)
    assert row.rectification_rate == pytest.approx(6 / 11)
    assert row.on_time_rate == pytest.approx(5 / 9)
    assert row.closure_rate == pytest.approx(3 / 11)


def test_parent_rate_comes_from_children_counts_not_their_mean() -> None:
    districts = by_name(m.rectification(1, AS_OF, "district"))
    assert (districts["东城区"]["found"], districts["东城区"]["rectified"]) == (8, 5)
    assert (districts["西城区"]["found"], districts["西城区"]["rectified"]) == (3, 1)
    city = m.rectification(1, AS_OF).iloc[0]
    assert city.found == 8 + 3 and city.rectified == 5 + 1
    mean_of_rates = (5 / 8 + 1 / 3) / 2
    assert city.rectification_rate != pytest.approx(mean_of_rates)


def test_rectification_by_street_and_department() -> None:
    streets = by_name(m.rectification(1, AS_OF, "street"))
    assert {k: (v["found"], v["rectified"]) for k, v in streets.items()} == {
        "和平街道": (6, 4),
        "解放街道": (2, 1),
        "城关镇": (3, 1),
    }
    depts = by_name(m.rectification(1, AS_OF, "department"))
    assert (depts["市住建局"]["found"], depts["市住建局"]["rectified"]) == (6, 3)
    assert (depts["市城管局"]["found"], depts["市城管局"]["rectified"]) == (5, 3)
    assert depts["市住建局"]["overdue_severe"] == 2


def test_rectification_replayed_at_an_earlier_date() -> None:
    row = m.rectification(1, dt.date(2026, 5, 20)).iloc[0]
    assert (row.found, row.rectified, row.overdue) == (7, 4, 1)


def test_scope_limits_rows_to_the_subtree() -> None:
    streets = m.rectification(3, AS_OF, "street")
    assert list(streets["name"]) == ["城关镇"]
    assert m.rectification(3, AS_OF).iloc[0].found == 3


def test_coverage_counts_distinct_subjects_not_visits() -> None:
    row = m.coverage(1, AS_OF).iloc[0]
    assert (row.covered, row.target) == (14, 39)
    assert row.visits == 15 and row.entered == 14
    assert row.coverage_rate == pytest.approx(14 / 39)
    assert row.entry_rate == pytest.approx(14 / 15)
    assert row.pace_per_day == pytest.approx(9 / 14)


def test_coverage_by_kind_and_district() -> None:
    frame = m.coverage(1, AS_OF, "district", by_kind=True)
    got = {
        (r["name"], r["subject_kind"]): (r["covered"], r["target"])
        for r in frame.to_dict("records")
    }
    assert got[("东城区", "household")] == (13, 25)
    assert got[("东城区", "business")] == (1, 4)
    assert got[("西城区", "household")] == (0, 10)
    totals = by_name(m.coverage(1, AS_OF, "district"))
    assert (totals["东城区"]["covered"], totals["东城区"]["target"]) == (14, 29)


def test_coverage_projection_to_each_milestone() -> None:
    rows = m.coverage_projection(1, AS_OF).to_dict("records")
    june, july = rows
    assert june["days_left"] == 20
    assert june["projected_rate"] == pytest.approx((14 + 9 / 14 * 20) / 39)
    assert june["behind"] is True
    assert june["daily_needed"] == pytest.approx((0.7 * 39 - 14) / 20)
    assert july["projected_rate"] == 1.0  # capped
    assert july["daily_needed"] == pytest.approx(25 / 51)


def test_projection_needs_enough_history() -> None:
    milestones = (m.Milestone(dt.date(2026, 6, 30), 0.7),)
    (p,) = m.project_coverage(10, 100, 2.0, AS_OF, milestones, history_days=3)
    assert p.projected_rate is None and p.behind is None
    assert p.daily_needed == pytest.approx(60 / 20)


def test_projected_rates_are_project_coverage_for_many_units() -> None:
    """The array form (a ranking projects every unit at once) is project_coverage's rate:
    capped at 100%, none without a target, a pace or 7 days of history."""
    june = m.Milestone(dt.date(2026, 6, 30), 0.7)  # 20 days after AS_OF
    units = [  # covered, target, pace a day, days of history
        (14, 39, 9 / 14, 14),
        (30, 39, 2.0, 14),
        (5, 0, 1.0, 14),
        (5, 10, float("nan"), 14),
        (5, 10, 1.0, 6),
    ]
    covered, target, pace, history = (list(c) for c in zip(*units, strict=True))
    got = m.projected_rates(covered, target, pace, 20, history)
    assert got[:2].tolist() == pytest.approx([(14 + 9 / 14 * 20) / 39, 1.0])
    assert np.isnan(got[2:]).all()
    for (c, t, p, h), rate in zip(units, got, strict=True):
        pace_or_none = None if np.isnan(p) else p
        (one,) = m.project_coverage(c, t, pace_or_none, AS_OF, (june,), history_days=h)
        assert one.projected_rate == (None if np.isnan(rate) else rate)


def test_materials_completion() -> None:
    city = m.materials_completion(1, AS_OF).iloc[0]
    assert (city.completed, city.required) == (26, 45)
    assert city.lines_at_zero == 1
    districts = by_name(m.materials_completion(1, AS_OF, "district"))
    assert districts["东城区"]["completion_rate"] == pytest.approx(6 / 20)
    assert districts["西城区"]["completion_rate"] == pytest.approx(15 / 20)
    earlier = m.materials_completion(1, dt.date(2026, 6, 5)).iloc[0]
    assert (earlier.completed, earlier.required) == (9, 15)


def test_point_compliance() -> None:
    city = m.point_compliance(1, AS_OF).iloc[0]
    assert (city.static_passed, city.static_checked) == (4, 5)
    assert (city.dynamic_cleared, city.points) == (2, 3)
    east = m.point_compliance(2, AS_OF).iloc[0]
    assert (east.static_passed, east.static_checked) == (3, 4)


def test_scores_gap_and_place_rank_with_ties_and_missing() -> None:
    streets = by_name(m.unit_scores(1, 3, "street", rank_within="list"))
    assert streets["和平街道"]["rank"] == 1 and streets["解放街道"]["rank"] == 1
    assert streets["城关镇"]["rank"] == 3  # places: ties share 1, the next is 3 (1, 1, 3)
    assert streets["城关镇"]["gap_to_city"] == pytest.approx(79 - 82)
    communities = by_name(m.unit_scores(1, 3, "community"))
    assert pd.isna(communities["红星社区"]["value"])
    assert pd.isna(communities["红星社区"]["rank"])  # 无数据, never ranked as zero
    within_parent = by_name(m.unit_scores(1, 3, "street"))
    assert within_parent["城关镇"]["rank"] == 1  # alone under 西城区


def test_next_test_and_campaign() -> None:
    nt = m.next_test(AS_OF)
    assert nt.name == "2026年上半年省级测评" and nt.days_left == 21 and not nt.under_way
    during = m.next_test(dt.date(2026, 7, 2))
    assert during.under_way and during.days_left == 0
    campaign = m.campaign_at(AS_OF)
    assert campaign.next_milestone(AS_OF).target_share == 0.7


def test_coverage_before_any_campaign_has_every_column_and_no_rows() -> None:
    frame = m.coverage(1, dt.date(2026, 4, 20), "district")
    assert frame.empty
    assert {"coverage_rate", "entry_rate", "pace_per_day"} <= set(frame.columns)
    from dashboard import rankings

    ranked = rankings.ranking("coverage_rate", 1, "district", dt.date(2026, 4, 20))
    assert ranked["value"].isna().all() or ranked.empty


def test_unit_columns_join_like_a_merge_in_official_order() -> None:
    """_with_names is names.merge(frame, on="unit_id") by position lookup: inner join,
    rows in the units' official order, a unit's own rows in their order."""
    names = m.units()[m.NAME_COLUMNS]
    ids = names["unit_id"].tolist()
    frame = pd.DataFrame(
        {
            "unit_id": [ids[3], ids[0], 99999, ids[3], ids[1]],  # duplicate, unknown, out of order
            "x": [1, 2, 3, 4, 5],
        }
    )
    for f in (frame, frame.iloc[::-1], frame.iloc[0:0]):
        expected = names.merge(f, on="unit_id", how="inner").reset_index(drop=True)
        pd.testing.assert_frame_equal(m._with_names(f), expected)
    assert m._with_names(frame)["x"].tolist() == [2, 5, 1, 4]
    with pytest.raises(ValueError, match="name"):
        m._with_names(frame.assign(name="x"))


# ── one scope at several days (metrics.over_days), score values ────────────────────────


def test_over_days_gives_each_day_its_own_numbers_in_one_frame() -> None:
    # 台账 at AS_OF 26 of 45, at 06-05 9 of 15 (tiny.py); 整改 at AS_OF 6 of 11 found
    mat = m.over_days(m.materials_completion, 1, [AS_OF, dt.date(2026, 6, 5)])
    assert list(mat["as_of"]) == [dt.date(2026, 6, 5), AS_OF]  # by day
    assert [(r.completed, r.required) for r in mat.itertuples()] == [(9, 15), (26, 45)]
    assert mat["completion_rate"].tolist() == pytest.approx([9 / 15, 26 / 45])
    rect = m.over_days(m.rectification, 1, [AS_OF]).iloc[0]
    assert (rect.found, rect.rectified, rect.rectification_rate) == (11, 6, pytest.approx(6 / 11))
    districts = m.over_days(m.materials_completion, 1, [AS_OF], "district")
    assert dict(zip(districts["unit_id"], districts["completion_rate"], strict=True)) == {
        2: pytest.approx(6 / 20),
        3: pytest.approx(15 / 20),
    }
    east = m.over_days(m.point_compliance, 2, [AS_OF]).iloc[0]
    assert (east.static_passed, east.static_checked) == (3, 4)


def test_over_days_coverage_has_no_row_before_the_campaign_and_the_pace_of_its_day() -> None:
    frame = m.over_days(m.coverage, 1, [dt.date(2026, 4, 20), AS_OF])
    assert list(frame["as_of"]) == [AS_OF]  # 04-20: no campaign yet
    row = frame.iloc[0]
    assert (row.covered, row.target, row.visits, row.entered) == (14, 39, 15, 14)
    assert row.pace_per_day == pytest.approx(9 / 14) and row.pace_window_days == 14
    assert m.over_days(m.coverage, 1, [dt.date(2026, 4, 20)]).empty


def test_over_days_equals_the_metric_at_each_day() -> None:
    days = [AS_OF, AS_OF - dt.timedelta(days=7), dt.date(2026, 5, 20), dt.date(2026, 4, 20)]
    for metric in (m.rectification, m.coverage, m.materials_completion, m.point_compliance):
        for level in ("self", "district", "street"):
            frame = m.over_days(metric, 1, days, level)
            for day in days:
                one = metric(1, day, level).sort_values("unit_id").reset_index(drop=True)
                got = frame[frame["as_of"] == day].drop(columns="as_of").reset_index(drop=True)
                pd.testing.assert_frame_equal(
                    got, one[list(got.columns)], check_dtype=False, obj=f"{metric.__name__}"
                )


def test_score_values_are_the_unit_scores_values() -> None:
    # assessment 3: 和平街道 86, 解放街道 86, 城关镇 79; 红星社区 has no score (tiny.py)
    assert m.score_values(1, 3, "street").to_dict() == {4: 86.0, 5: 86.0, 6: 79.0}
    assert m.score_values(1, 3).to_dict() == {1: 82.0}
    assert pd.isna(m.score_values(1, 3, "community")[8])


def test_score_places_are_the_unit_scores_places() -> None:
    # assessment 3: 和平街道 86 and 解放街道 86 under 东城区 share place 1; 城关镇 79 is
    # alone under 西城区, so 1 there too; 红星社区 has no score, so no place (tiny.py)
    streets = m.score_places(1, 3, "street").set_index("name")["rank"].to_dict()
    assert streets == {"和平街道": 1, "解放街道": 1, "城关镇": 1}
    communities = m.score_places(1, 3, "community").set_index("name")["rank"]
    assert pd.isna(communities["红星社区"])


def test_subject_kinds_are_added_up_as_the_groupby_adds_them() -> None:
    campaign = m.campaign_at(AS_OF)
    days = (AS_OF - dt.timedelta(days=7), AS_OF)
    for level in ("self", "district", "street", "community"):
        counts = m.query(
            "coverage_counts", scope_id=1, level=level, days=days,
            campaign_id=campaign.campaign_id,
        )  # fmt: skip
        shuffled = counts.sample(frac=1, random_state=1).reset_index(drop=True)
        for frame in (counts, shuffled):
            for keys in (["as_of", "unit_id"], ["unit_id"]):
                expected = frame.groupby(keys, as_index=False, sort=True)[m.COVERAGE_COUNTS]
                got = m._kinds_summed(frame, keys)
                pd.testing.assert_frame_equal(got, expected.sum())
    # the city on the day, its kinds in one row: 35 households and 4 businesses to visit
    city = m._kinds_summed(m.query("coverage_counts", scope_id=1, level="self", days=(AS_OF,),
                                   campaign_id=campaign.campaign_id), ["unit_id"])  # fmt: skip
    assert city["unit_id"].tolist() == [1] and city["target"].tolist() == [39]
