"""Rankings on the tiny fixture, against numbers worked out by hand (see tests/tiny.py).

Tie rule under test: values rounded to the shown precision, then places (1, 1, 3);
无数据 is never ranked. Rank change = previous rank − rank (↑ up, ↓ down, 新, 持平, —).
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dashboard import rankings as r
from dashboard.components import ranking_table as rt
from dashboard.db import query
from tests.apptest import open_page
from tests.tiny import AS_OF

pytestmark = pytest.mark.usefixtures("use_tiny")


def rows(metric: str, level: str, **kw) -> dict[str, dict]:
    frame = r.ranking(metric, kw.pop("scope_id", 1), level, kw.pop("as_of", AS_OF), **kw)
    return {row["name"]: row for row in frame.to_dict("records")}


def ranks(table: dict[str, dict]) -> dict[str, object]:
    return {k: (None if pd.isna(v["rank"]) else int(v["rank"])) for k, v in table.items()}


# ── scores ─────────────────────────────────────────────────────────────────────────────


def test_score_ranks_ties_change_and_gaps_in_assessment_3() -> None:
    streets = rows("score", "street", assessment_id=3)
    # 和平 86 and 解放 86 tie at 1; 城关镇 79 is 3 (two units are ahead of it).
    assert ranks(streets) == {"和平街道": 1, "解放街道": 1, "城关镇": 3}
    assert {k: v["tied"] for k, v in streets.items()} == {
        "和平街道": True, "解放街道": True, "城关镇": False,
    }  # fmt: skip
    assert {v["ranked_of"] for v in streets.values()} == {3}
    # Assessment 2: 和平 84 (1), 解放 80 (2), 城关镇 78 (3).
    assert {k: v["rank_change"] for k, v in streets.items()} == {
        "和平街道": "持平",
        "解放街道": "↑1",
        "城关镇": "持平",  # third of three then and now
    }
    assert pd.isna(streets["和平街道"]["gap_to_above"])
    assert streets["城关镇"]["gap_to_above"] == pytest.approx(86 - 79)
    # Street target 85: 86 meets it; 79 misses by 6 (> the 2-point warning band).
    assert streets["和平街道"]["gap_to_target"] == pytest.approx(1)
    assert streets["和平街道"]["status_text"] == "● 达标"
    assert streets["城关镇"]["status"] == "bad"
    assert (streets["城关镇"]["numerator"], streets["城关镇"]["denominator"]) == (79, 100)


def test_score_rows_are_ordered_by_rank_then_official_order() -> None:
    frame = r.ranking("score", 1, "street", AS_OF, assessment_id=3)
    assert list(frame["name"]) == ["和平街道", "解放街道", "城关镇"]


def test_earlier_assessments_and_the_first_has_nothing_to_compare() -> None:
    second = rows("score", "street", assessment_id=2)
    assert ranks(second) == {"和平街道": 1, "解放街道": 2, "城关镇": 3}
    assert {v["rank_change"] for v in second.values()} == {"持平"}  # a1: 80, 78, 77
    first = rows("score", "street", assessment_id=1)
    assert {v["rank_change"] for v in first.values()} == {"—"}
    assert r.previous_assessment(3) == 2 and r.previous_assessment(1) is None


def test_default_assessment_is_the_latest_ended_by_as_of() -> None:
    assert ranks(rows("score", "district")) == {"东城区": 1, "西城区": 2}  # a3: 85, 79
    assert ranks(rows("score", "district", as_of=dt.date(2026, 5, 1))) == {
        "东城区": 1,
        "西城区": 2,
    }
    before_any = rows("score", "district", as_of=dt.date(2025, 1, 1))
    assert ranks(before_any) == {"东城区": None, "西城区": None}


def test_community_without_score_is_no_data_and_others_are_new() -> None:
    communities = rows("score", "community", assessment_id=3)
    # 幸福 88, 桃源 75, 光明 70; 红星 has no score.
    assert ranks(communities) == {"幸福社区": 1, "桃源村": 2, "光明社区": 3, "红星社区": None}
    assert communities["红星社区"]["status_text"] == "— 无数据"
    assert communities["红星社区"]["rank_change"] == "—"
    # Assessment 2 scored no community: ranked now, not then → 新.
    assert communities["幸福社区"]["rank_change"] == "新"
    # Communities have no target of their own; they inherit their street's 85.
    assert communities["桃源村"]["target"] == 85
    frame = r.ranking("score", 1, "community", AS_OF, assessment_id=3)
    assert frame.iloc[-1]["name"] == "红星社区"  # 无数据 listed last


def test_gap_to_city_average() -> None:
    streets = rows("gap_to_city", "street", assessment_id=3)  # city 82
    assert {k: v["value"] for k, v in streets.items()} == {
        "和平街道": 4.0,
        "解放街道": 4.0,
        "城关镇": -3.0,
    }
    assert ranks(streets) == {"和平街道": 1, "解放街道": 1, "城关镇": 3}
    assert streets["城关镇"]["status"] == "bad"  # 3 below the city, band is 2


def test_single_indicator_ranks_by_score_rate() -> None:
    city = rows("indicator", "city", indicator_id=11)  # a3: 16 of 20, target 90
    assert city["临江市"]["value"] == pytest.approx(0.8)
    assert city["临江市"]["target"] == pytest.approx(0.9)
    assert city["临江市"]["status"] == "bad"  # 10 points short, band 5
    districts = rows("indicator", "district", indicator_id=11)
    assert ranks(districts) == {"东城区": None, "西城区": None}
    options = r.indicator_options(AS_OF)
    assert list(options["code"]) == ["F-01", "F-02", "F-03", "M-01", "M-02", "Q-01"]
    assert list(r.indicator_assessments(11, AS_OF)["assessment_id"]) == [3]


# ── rates and counts (compared with a week earlier) ───────────────────────────────────


def test_rectification_rate_by_district_from_counts() -> None:
    districts = rows("rectification_rate", "district")
    assert (districts["东城区"]["numerator"], districts["东城区"]["denominator"]) == (5, 8)
    assert (districts["西城区"]["numerator"], districts["西城区"]["denominator"]) == (1, 3)
    assert districts["东城区"]["value"] == pytest.approx(5 / 8)
    assert ranks(districts) == {"东城区": 1, "西城区": 2}
    assert districts["西城区"]["gap_to_above"] == pytest.approx(0.625 - 0.333)
    assert districts["东城区"]["status"] == "bad"  # < 85% is the black list


def test_rectification_rank_change_against_a_tie_last_week() -> None:
    streets = rows("rectification_rate", "street")
    # Now: 和平 4/6, 解放 1/2, 城关镇 1/3 → 1, 2, 3.
    assert ranks(streets) == {"和平街道": 1, "解放街道": 2, "城关镇": 3}
    # 2026-06-03: 和平 4/6, 解放 1/2, 城关镇 1/2 (P11 open, P8 not yet found) → 1, 2, 2.
    week_ago = rows("rectification_rate", "street", as_of=dt.date(2026, 6, 3))
    assert ranks(week_ago) == {"和平街道": 1, "解放街道": 2, "城关镇": 2}
    assert {k: v["rank_change"] for k, v in streets.items()} == {
        "和平街道": "持平",
        "解放街道": "持平",
        "城关镇": "↓1",
    }


def test_group_rolls_up_its_departments_counts() -> None:
    depts = rows("rectification_rate", "department")
    assert ranks(depts) == {"市城管局": 1, "市住建局": 2}  # 3/5 vs 3/6
    group = rows("rectification_rate", "group")["生活环境组"]
    assert (group["numerator"], group["denominator"]) == (3 + 3, 6 + 5)
    assert group["value"] == pytest.approx(6 / 11)


def test_week_rankings_are_the_rankings_read_together() -> None:
    # several week-compared rankings of one level from one read of each source: the same
    # frames as one ranking at a time (整改率 by district at 06-10 is worked out above)
    keys = ("rectification_rate", "on_time_rate", "overdue", "coverage_rate",
            "completion_rate", "compliance_rate")  # fmt: skip
    for scope_id, level, as_of in ((1, "district", AS_OF), (2, "street", AS_OF),
                                   (1, "department", AS_OF - dt.timedelta(days=3))):  # fmt: skip
        together = r.week_rankings(keys, scope_id, level, as_of)
        assert list(together) == list(keys)
        for key in keys:
            pd.testing.assert_frame_equal(
                together[key], r.ranking(key, scope_id, level, as_of), check_exact=True
            )
    east = r.week_rankings(keys, 1, "district", AS_OF)["rectification_rate"].iloc[0]
    assert (east["name"], east["numerator"], east["denominator"]) == ("东城区", 5, 8)
    with pytest.raises(ValueError):
        r.week_rankings(("score",), 1, "district", AS_OF)


def test_overdue_count_lower_is_better_with_ties() -> None:
    depts = rows("overdue", "department")
    assert {k: v["value"] for k, v in depts.items()} == {"市城管局": 0, "市住建局": 3}
    assert ranks(depts) == {"市城管局": 1, "市住建局": 2}
    assert depts["市住建局"]["gap_to_above"] == 3
    assert depts["市住建局"]["gap_to_target"] == -3  # 3 more than the target of 0
    communities = rows("overdue", "community")
    # 幸福 0, 桃源 0, 红星 1 (P3), 光明 1 (P6): two ahead of the pair at 1 → 3.
    assert ranks(communities) == {"幸福社区": 1, "桃源村": 1, "光明社区": 3, "红星社区": 3}
    assert communities["红星社区"]["status"] == "warn"
    # A week earlier P6 was not yet due: 光明 0 → rank 1 (with 幸福, 桃源), now 3.
    assert communities["光明社区"]["rank_change"] == "↓2"


def test_coverage_total_and_by_subject_kind() -> None:
    communities = rows("coverage_rate", "community")
    # 光明 5/5, 幸福 7/14 (6 households + 1 business), 红星 2/10, 桃源 0/10.
    assert ranks(communities) == {"光明社区": 1, "幸福社区": 2, "红星社区": 3, "桃源村": 4}
    assert (communities["幸福社区"]["numerator"], communities["幸福社区"]["denominator"]) == (
        7,
        14,
    )
    assert communities["光明社区"]["target"] == pytest.approx(0.7)  # next milestone
    business = rows("coverage_rate", "community", subject_kind="business")
    assert ranks(business) == {"幸福社区": 1, "光明社区": None, "桃源村": None, "红星社区": None}
    assert business["幸福社区"]["value"] == pytest.approx(1 / 4)
    districts = rows("coverage_rate", "district")
    assert (districts["东城区"]["numerator"], districts["东城区"]["denominator"]) == (14, 29)


def test_entry_rate_tie_and_no_visits() -> None:
    communities = rows("entry_rate", "community")
    # 红星 2/2, 光明 5/5 tie at 1; 幸福 7/8 is 3; 桃源 has no visits → 无数据.
    assert ranks(communities) == {"光明社区": 1, "红星社区": 1, "幸福社区": 3, "桃源村": None}


def test_materials_and_points() -> None:
    streets = rows("completion_rate", "street")
    # 城关镇 15/20, 和平 6/10, 解放 0/10.
    assert ranks(streets) == {"城关镇": 1, "和平街道": 2, "解放街道": 3}
    # 2026-06-03: only 和平 had a ledger line (4/10) → the others are 新.
    assert {k: v["rank_change"] for k, v in streets.items()} == {
        "城关镇": "新",
        "和平街道": "↓1",
        "解放街道": "新",
    }
    assert ranks(rows("completion_rate", "community")) == dict.fromkeys(
        ["幸福社区", "红星社区", "光明社区", "桃源村"]
    )
    districts = rows("compliance_rate", "district")
    assert (districts["东城区"]["numerator"], districts["东城区"]["denominator"]) == (3, 4)
    assert ranks(districts) == {"西城区": 1, "东城区": 2}  # 1/1 vs 3/4


def test_ties_are_judged_at_the_shown_precision() -> None:
    m = r.metric("rectification_rate")
    values = pd.Series([0.92341, 0.92349, 0.9, None])  # 92.3%, 92.3%, 90.0%, 无数据
    assert list(r._rank(values, m)) == [1, 1, 3, pd.NA]


def test_places_are_competition_ranks_of_the_shown_values() -> None:
    # places 1, 1, 3 by hand: higher is better, then lower is better (无数据 has none)
    shown = np.array([0.9, 0.95, float("nan"), 0.95, 0.8, 0.0])
    assert r._places(shown, True).tolist()[:2] == [3.0, 1.0]
    assert [None if np.isnan(x) else int(x) for x in r._places(shown, True)] == [
        3,
        1,
        None,
        1,
        4,
        5,
    ]
    assert [None if np.isnan(x) else int(x) for x in r._places(shown, False)] == [
        3,
        4,
        None,
        4,
        2,
        1,
    ]
    assert r._places(np.array([]), True).tolist() == []


def test_change_text_and_status() -> None:
    assert [r.change_text(p, n) for p, n in [(3, 1), (1, 4), (2, 2), (pd.NA, 1)]] == [
        "↑2",
        "↓3",
        "持平",
        "新",
    ]
    assert r.change_text(1, pd.NA) == "—"
    assert r.change_text(1, 1, comparable=False) == "—"
    # a ranking's column at once: the same texts
    previous = [3.0, 1.0, 2.0, float("nan"), 1.0, float("nan"), 12.0]
    now = [1.0, 4.0, 2.0, 1.0, float("nan"), float("nan"), 2.0]
    for comparable in (True, False):
        got = r._change_texts(pd.Series(previous).to_numpy(), pd.Series(now).to_numpy(), comparable)
        assert got == [
            r.change_text(pd.NA if p != p else p, pd.NA if n != n else n, comparable)
            for p, n in zip(previous, now, strict=True)
        ]
    assert got == ["—"] * 7 and r._change_texts(
        pd.Series(previous).to_numpy(), pd.Series(now).to_numpy(), True
    ) == ["↑2", "↓3", "持平", "新", "—", "—", "↑10"]
    m = r.metric("rectification_rate")
    assert [r.status_code(v, 0.9, m) for v in (0.9, 0.85, 0.849, float("nan"))] == [
        "ok",
        "warn",
        "bad",
        "none",
    ]
    overdue = r.metric("overdue")
    assert [r.status_code(v, 0, overdue) for v in (0, 2, 3)] == ["ok", "warn", "bad"]


def test_unknown_metric_and_level_are_refused() -> None:
    with pytest.raises(ValueError):
        r.ranking("drop table units", 1, "street", AS_OF)
    with pytest.raises(ValueError):
        r.ranking("score", 1, "street; --", AS_OF)
    with pytest.raises(ValueError):
        r.ranking("coverage_rate", 1, "street", AS_OF, subject_kind="x")


# ── drill-down ─────────────────────────────────────────────────────────────────────────


def test_drill_helpers() -> None:
    assert r.level_options(1) == ["district", "street", "community", "group", "department"]
    assert r.level_options(2) == ["street", "community"]
    assert [name for _, name, _ in r.drill_path(1, 8)] == [
        "临江市",
        "东城区",
        "和平街道",
        "红星社区",
    ]
    assert r.drill_path(3, 8) is None  # 红星社区 is not under 西城区
    assert r.parse_drill("东城区") == 2 and r.parse_drill("2") == 2
    assert r.parse_drill("<script>") is None and r.parse_drill(None) is None
    assert r.drill_token(4) == "和平街道"
    assert r.child_level("district") == "street" and r.child_level("department") is None


def test_open_problems_of_a_department_and_a_community() -> None:
    dept = r.open_problems(12, AS_OF)  # 市住建局: P3, P11, P6 open at AS_OF
    assert list(dept["problem_id"]) == ["P3", "P11", "P6"]
    assert list(dept["days_overdue"]) == [24, 9, 2]
    community = r.open_problems(8, AS_OF)  # 红星社区: P3 overdue, P4 due 06-20
    assert list(community["problem_id"]) == ["P3", "P4"]
    assert list(community["is_overdue"]) == [True, False]


@pytest.mark.parametrize("name", ["rank_indicators", "rank_open_problems"])
def test_rank_queries_run(name: str) -> None:
    params = {"rank_open_problems": {"unit_id": 1, "as_of": AS_OF}}.get(name, {})
    assert len(query(name, **params)) > 0


# ── components and export ──────────────────────────────────────────────────────────────


def test_table_and_chart_builders() -> None:
    m = r.metric("score")
    frame = r.ranking("score", 1, "community", AS_OF, assessment_id=3)
    table = rt.table_frame(frame, m)
    assert list(table["name"]) == ["幸福社区", "桃源村", "光明社区", "红星社区"]
    assert list(table["gap_to_above"])[:2] == ["第一", "差 13.00 分"]
    fig = rt.bar_chart(frame, m, "社区综合得分")
    bar = fig.data[0]
    assert list(bar.y) == ["第1名 幸福社区", "第2名 桃源村", "第3名 光明社区"]  # 无数据 not drawn
    assert list(table["rank"]) == ["第 1 名", "第 2 名", "第 3 名", "无数据"]
    assert list(bar.customdata) == [7, 10, 9]
    rate = r.metric("rectification_rate")
    assert rt.value_text(5 / 8, rate) == "62.5%" and rt.value_text(None, rate) == "无数据"
    assert rt.gap_text(-0.275, rate, signed=True) == "还差 27.5 个百分点"


def test_excel_export_reads_back_with_header_and_neutralised_cells() -> None:
    from openpyxl import load_workbook

    m = r.metric("rectification_rate")
    frame = r.ranking("rectification_rate", 1, "district", AS_OF).copy()
    frame.loc[1, "name"] = '=HYPERLINK("http://x")'
    data = r.ranking_xlsx(
        frame, m, ["临江市 · 区县整改率排名", "数据截至：2026-06-10", "范围：临江市"]
    )
    sheet = load_workbook(io.BytesIO(data)).active
    cells = [[c.value for c in row] for row in sheet.iter_rows()]
    assert cells[0][0] == "临江市 · 区县整改率排名"
    assert cells[1][0] == "数据截至：2026-06-10"
    header = cells[4]
    assert header[:6] == ["名次", "单位", "类别", "整改率", "已整改", "发现问题"]
    east, west = cells[5], cells[6]
    assert east[:6] == ["第 1 名 / 共 2 名", "东城区", "区县", 0.625, 5, 8]
    assert west[1] == '\'=HYPERLINK("http://x")'  # text, not a formula
    assert west[9] == pytest.approx(1 / 3 - 0.9, abs=1e-3)  # negative numbers stay numbers
    assert sheet.cell(6, 4).number_format == "0.0%"


# ── the page through the entry script ─────────────────────────────────────────────────

PAGE = "dashboard/pages/rankings.py"


def table_names(at) -> list[str]:
    return list(at.dataframe[0].value["name"])


def test_page_drives_metric_and_level_by_key(use_tiny: Path) -> None:
    at = open_page(PAGE, {"as_of": AS_OF.isoformat()})
    assert not at.exception, at.exception
    assert table_names(at) == ["东城区", "西城区"]  # 综合得分, a3: 85, 79
    at.selectbox(key="rank_metric").set_value("rectification_rate").run()
    at.selectbox(key="rank_level").set_value("street").run()
    assert not at.exception, at.exception
    shown = at.dataframe[0].value
    assert list(shown["name"]) == ["和平街道", "解放街道", "城关镇"]
    assert list(shown["value"]) == [66.7, 50.0, 33.3]
    assert list(shown["rank_change"]) == ["持平", "持平", "↓1"]
    assert list(shown["status"]) == ["■ 落后"] * 3
    assert any("临江市 · 街道/镇整改率排名" in md.value for md in at.markdown)
    assert at.get("download_button")


def test_page_drill_from_url_and_breadcrumb_back(use_tiny: Path) -> None:
    at = open_page(PAGE, {"as_of": AS_OF.isoformat(), "drill": "东城区"})
    assert not at.exception, at.exception
    assert table_names(at) == ["和平街道", "解放街道"]
    at.button(key="crumb_1").click().run()
    assert "drill" not in at.query_params
    assert table_names(at) == ["东城区", "西城区"]


def test_page_department_drill_shows_open_problems(use_tiny: Path) -> None:
    at = open_page(PAGE, {"as_of": AS_OF.isoformat(), "drill": "市住建局"})
    assert not at.exception, at.exception
    assert list(at.dataframe[0].value["problem_id"]) == ["P3", "P11", "P6"]
    assert any("共 3 件未整改，其中逾期 3 件" in c.value for c in at.caption)


def test_page_ignores_a_drill_outside_the_scope(use_tiny: Path) -> None:
    at = open_page(PAGE, {"as_of": AS_OF.isoformat(), "unit": "西城区", "drill": "和平街道"})
    assert not at.exception, at.exception
    assert table_names(at) == ["城关镇"]


def test_places_ties_gaps_and_counts_within_groups() -> None:
    # two groups (7 and 9), higher is better, worked out by hand
    shown = np.array([0.9, 0.5, 0.9, float("nan"), 0.7, 0.5, 0.6])
    groups = np.array([7, 9, 7, 7, 7, 9, 9])
    places, tied, above, ranked_of = r._place_runs(shown, True, groups)
    assert [None if np.isnan(x) else int(x) for x in places] == [1, 2, 1, None, 3, 2, 1]
    assert tied.tolist() == [True, True, True, False, False, True, False]
    # the next better place's value in the unit's own group (none for first places)
    assert [None if np.isnan(x) else x for x in above] == [None, 0.6, None, None, 0.9, 0.6, None]
    assert ranked_of.tolist() == [3, 3, 3, 3, 3, 3, 3]
    # one group: the same as _places without groups
    assert r._places(shown, True, None).tolist()[:3] == [1.0, 5.0, 1.0]


def test_every_peer_groups_stored_rankings_equal_the_live_ones() -> None:
    assert assert_peer_rankings_equal_live() >= 5 * 4


def assert_peer_rankings_equal_live() -> int:
    """peer_week_rankings and peer_score_ranking (every peer group ranked at once) ==
    week_rankings / ranking of each peer group on its own, for every (parent, kind) of the
    snapshot at its default date and every scored test."""
    from dashboard import db, metrics, unit_view
    from dashboard.filters import default_as_of

    as_of = default_as_of()
    assert db.served_store(db.file_identity()).covers(as_of)
    units = metrics.units()
    keys = unit_view.STANDING_METRICS
    compared = 0
    for (parent, kind), _ in units.dropna(subset=["parent_id"]).groupby(["parent_id", "kind"]):
        if kind not in metrics.LEVELS:
            continue
        stored = r.peer_week_rankings(keys, int(parent), kind, as_of)
        live = r.week_rankings(keys, int(parent), kind, as_of)  # this group's own rankings
        for key in keys:
            pd.testing.assert_frame_equal(stored[key], live[key])
            compared += 1
        # 综合得分 in every scored test (a slice of every group's ranking vs the group's own)
        for test in metrics.scored_assessments(as_of)["assessment_id"]:
            stored_score = r.peer_score_ranking(int(parent), kind, as_of, int(test))
            live_score = r.ranking("score", int(parent), kind, as_of, assessment_id=int(test))
            pd.testing.assert_frame_equal(stored_score, live_score)
            compared += 1
    return compared


def test_warming_computes_every_peer_groups_rankings_ahead(monkeypatch) -> None:
    """startup's warm-up (unit_view.warm) computes every peer group's standing rankings and
    latest-test score rankings, so the first 本单位 page of each kind only slices them: after
    it, no ranking is computed for any group's slice."""
    from dashboard import db, metrics, unit_view
    from dashboard.filters import default_as_of

    db.clear_memos()
    as_of = default_as_of()
    unit_view.warm(as_of)

    def computed(*args, **kwargs):
        raise AssertionError("a ranking was computed after the warm-up")

    monkeypatch.setattr(r, "_ranked_columns", computed)
    units = metrics.units()
    latest = int(metrics.scored_assessments(as_of).iloc[0]["assessment_id"])
    groups = 0
    for (parent, kind), _ in units.dropna(subset=["parent_id"]).groupby(["parent_id", "kind"]):
        if kind in metrics.LEVELS:
            assert len(r.peer_week_rankings(unit_view.STANDING_METRICS, int(parent), kind, as_of))
            assert len(r.peer_score_ranking(int(parent), kind, as_of, latest))
            groups += 1
    assert groups >= 4
    monkeypatch.undo()
    db.clear_memos()
