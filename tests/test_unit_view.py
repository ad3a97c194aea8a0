"""本单位 against numbers worked out by hand on the tiny fixture (AS_OF = Wednesday
2026-06-10; 本周 = 06-08..06-14, so 本周到期 = deadline 06-10..06-14).

Open problems at 06-10 (found by then, not rectified by then; 属地 or 责任 in the subtree):
  市住建局 (dept 12): P3 (红星社区, deadline 05-17 → 24 days overdue, severe), P11 (城关镇,
      06-01 → 9 days, severe), P6 (光明社区, 06-08 → 2 days; rectified only 06-12)
      → 3 overdue, nothing due this week, nothing later
  市城管局 (dept 13): P8 (桃源村, 06-12 → due this week, 2 days left), P4 (红星社区, 06-20
      → later, 10 days left) → 0 overdue
  和平街道 (4, 7, 8): P3 (overdue 24 days), P4 (later)
Standing of 和平街道 among the streets of 东城区 (和平街道, 解放街道):
  整改率 06-10: 和平 P1 P2 P3 P4 P10 P12 → 4/6; 解放 P5 P6 → 1/2 → 和平 1st of 2;
         06-03: 和平 4/6 (P12 rectified 06-03), 解放 1/2 → 1st, unchanged
  综合得分: assessment 3 (05-15) 86 vs assessment 2 (04-15) 84; 解放 86 / 80 → rank 1 (tie)
台账 lines still short at 06-10: 解放街道 M-01 0/10 (deadline 06-15, 5 days left),
  和平街道 M-01 6/10 (06-30), 城关镇 M-01 15/20 approved (06-30); 市住建局 5/5 complete.
Owned survey items of 市住建局: Q-01 city score 14/20 = 70% in assessment 3, target 90
  → 20 points short, no earlier value; P-01 never scored (无数据).
"""

from __future__ import annotations

import pandas as pd
import pytest

from dashboard import db, flags, metrics, page_days, unit_view
from tests.apptest import open_page
from tests.cities import CITY_REFERENCE
from tests.test_weekly import build_without_data
from tests.tiny import AS_OF

pytestmark = pytest.mark.usefixtures("use_tiny")


@pytest.fixture(scope="module")
def empty_db(tmp_path_factory: pytest.TempPathFactory):
    return build_without_data(tmp_path_factory.mktemp("empty-unit") / "empty.duckdb")


def test_open_problems_of_a_department_by_deadline() -> None:
    frame = unit_view.open_problems(12, AS_OF)
    assert list(frame["problem_id"]) == ["P3", "P11", "P6"]  # by deadline
    assert set(frame["section"]) == {"overdue"}
    assert list(frame["days_overdue"]) == [24, 9, 2]
    assert list(frame["unit_name"]) == ["红星社区", "城关镇", "光明社区"]  # across 属地 units
    assert frame["as_owner"].all() and not frame["as_territory"].any()


def test_due_this_week_and_later() -> None:
    frame = unit_view.open_problems(13, AS_OF).set_index("problem_id")
    assert frame.loc["P8", "section"] == "due_this_week" and frame.loc["P8", "days_left"] == 2
    assert frame.loc["P4", "section"] == "later" and frame.loc["P4", "days_left"] == 10
    assert unit_view.week_bounds(AS_OF) == (AS_OF.replace(day=8), AS_OF.replace(day=14))


def test_problems_by_territory_for_a_department() -> None:
    table = unit_view.problems_by_territory(unit_view.open_problems(12, AS_OF))
    got = {
        r["unit_name"]: (r["open"], r["overdue"], r["overdue_severe"])
        for r in table.to_dict("records")
    }
    assert got == {"红星社区": (1, 1, 1), "城关镇": (1, 1, 1), "光明社区": (1, 1, 0)}


def test_standing_of_a_street_among_its_peers() -> None:
    s = {x.key: x for x in unit_view.standing(4, AS_OF)}
    rect = s["rectification_rate"]
    assert rect.value == pytest.approx(4 / 6) and rect.value_before == pytest.approx(4 / 6)
    assert (rect.rank, rect.rank_before, rect.ranked_units) == (1, 1, 2)
    assert (rect.numerator, rect.denominator) == (4, 6)
    score = s["score"]
    assert (score.value, score.value_before, score.rank, score.change) == (86, 84, 1, 2)
    assert score.compared_with == "2026年4月市级模拟测评"
    peers = unit_view.peer_table(4, AS_OF)
    assert list(peers["name"]) == ["和平街道", "解放街道"]
    assert peers.loc[peers["is_self"], "name"].item() == "和平街道"


def test_standing_without_a_target_is_no_data() -> None:
    s = {x.key: x for x in unit_view.standing(12, AS_OF)}
    assert s["coverage_rate"].value is None and s["coverage_rate"].rank is None
    assert s["rectification_rate"].value == pytest.approx(3 / 6)
    assert "score" not in s  # departments carry no overall score in the fixture


def test_top_unit_has_values_but_no_rank() -> None:
    s = {x.key: x for x in unit_view.standing(1, AS_OF)}
    assert s["rectification_rate"].value == pytest.approx(6 / 11)
    assert s["rectification_rate"].rank is None and s["score"].rank is None


def test_visit_progress_against_milestones() -> None:
    v = unit_view.visit_progress(4, AS_OF)
    assert v.has_target and (v.total["covered"], v.total["target"]) == (9, 24)
    june = v.projections.iloc[0]
    assert june["daily_needed"] == pytest.approx((0.7 * 24 - 9) / 20)
    assert not unit_view.visit_progress(12, AS_OF).has_target


def test_missing_materials_before_their_deadlines() -> None:
    frame = unit_view.missing_materials(1, AS_OF)
    assert list(zip(frame["unit_name"], frame["missing"], frame["days_left"], strict=True)) == [
        ("解放街道", 10, 5),
        ("和平街道", 4, 20),
        ("城关镇", 5, 20),
    ]
    assert unit_view.missing_materials(12, AS_OF).empty


def test_owned_survey_items_of_a_department() -> None:
    items = unit_view.owned_items(12, AS_OF).set_index("code")
    assert items.loc["Q-01", "rate"] == pytest.approx(70.0)
    assert items.loc["Q-01", "gap_to_target"] == pytest.approx(-20.0)
    assert items.loc["Q-01", "change"] != items.loc["Q-01", "change"]  # NaN: no earlier value
    assert items.loc["P-01", "rate"] != items.loc["P-01", "rate"]  # never scored
    assert unit_view.owned_items(13, AS_OF).empty


def test_unit_flags_are_the_engines_flags_on_the_unit() -> None:
    mine = unit_view.unit_flags(12, AS_OF)
    engine = {f.key for f in flags.evaluate(12, AS_OF) if 12 in (f.unit_id, f.owner_id)}
    assert set(mine["rule_id"].index) == set(range(len(mine)))
    assert {tuple(k) for k in mine[["rule_id", "unit_id", "owner_id", "subject"]].itertuples(
        index=False
    )} == engine  # fmt: skip
    assert all(12 in (u, o) for u, o in zip(mine["unit_id"], mine["owner_id"], strict=True))


def test_unit_flags_from_the_stored_rows_equal_the_filtered_engine_frame() -> None:
    """At the default date the stored flags' rows, filtered before any flag is built, give
    the engine's frame filtered by the unit's subtree: same rows, order and dtypes."""
    import pandas as pd

    from dashboard import db, metrics

    served = 0
    for unit_id in [int(u) for u in metrics.units()["unit_id"]]:
        db.clear_results()
        subtree = db.served_store(db.file_identity()).subtree(unit_id)
        assert set(subtree) == set(db.query("units_in_scope", scope_id=unit_id)["unit_id"])
        stored = flags.stored_subtree_frame(unit_id, AS_OF, subtree)
        engine = flags.flag_frame(unit_id, AS_OF, evidence_count=False)
        if engine.empty:
            assert stored is None or stored.empty
            continue
        mine = engine["unit_id"].isin(subtree) | engine["owner_id"].isin(subtree)
        expected = engine[mine].reset_index(drop=True)
        pd.testing.assert_frame_equal(unit_view.unit_flags(unit_id, AS_OF), expected)
        if stored is not None:
            pd.testing.assert_frame_equal(stored, expected)
            served += 1
        # once evaluated too: the same rows, still served
        again = flags.stored_subtree_frame(unit_id, AS_OF, subtree)
        assert (again is None) == (stored is None)
        if again is not None:
            pd.testing.assert_frame_equal(again, expected)
    assert served >= 5  # the city, its districts, streets and departments are stored


def test_unit_flags_are_served_from_every_scopes_rows_read_once(monkeypatch) -> None:
    """At the default date a scope's stored flag rows are read once per snapshot (without
    evidence text): its unit's flags then run no query; a flag's evidence is read for its
    scope when first opened and equals the engine's evidence."""
    import numpy as np

    from dashboard import db

    db.clear_memos()
    ran: list[str] = []
    run_query, query_rows = db.run_query, db.query_rows

    def counted(identity, name, params):
        ran.append(name)
        return run_query(identity, name, params)

    def counted_rows(name, **params):
        ran.append(name)
        return query_rows(name, **params)

    monkeypatch.setattr(flags, "run_query", counted)
    monkeypatch.setattr(flags, "query_rows", counted_rows)
    first = unit_view.unit_flags(4, AS_OF)  # 和平街道: a stored scope
    assert ran.count("flag_snapshot_rows") == 1
    db.clear_results()  # a new page: the rows stay (snapshot state)
    assert unit_view.unit_flags(4, AS_OF).equals(first)
    assert ran.count("flag_snapshot_rows") == 1
    second = unit_view.unit_flags(2, AS_OF)  # 东城区: its own rows, once
    unit_view.unit_flags(2, AS_OF)
    assert ran.count("flag_snapshot_rows") == 2
    assert "flag_snapshot" not in ran and "flag_snapshot_evidence" not in ran
    assert len(first) and len(second)
    engine = {f.key: f.evidence for f in flags.evaluate(2, AS_OF)}
    for row in second.itertuples(index=False):
        key = (row.rule_id, row.unit_id, row.owner_id, row.subject)
        assert tuple(row.evidence) == tuple(engine[key])
        assert len(row.evidence) == len(engine[key])
    assert ran.count("flag_snapshot_evidence") == 1  # the scope's evidence, read together
    # a day the snapshot does not store: the engine's flags, filtered (no stored rows)
    import datetime as dt

    day = AS_OF - dt.timedelta(days=40)
    assert flags.stored_subtree_frame(2, day, np.array([2, 4])) is None
    assert ran.count("flag_snapshot_rows") == 2


def test_scored_tests_newest_first_as_of_the_day() -> None:
    """Overall tests ended by as_of with scores: 3 (05-15), 2 (04-15), 1 (2025-11); test 4
    (07-01) has not ended at 06-10; at 05-01 test 3 has not either."""
    import datetime as dt

    assert unit_view._scored_tests(AS_OF) == (
        (3, "2026年5月市级模拟测评"), (2, "2026年4月市级模拟测评"), (1, "2025年下半年省级测评"),
    )  # fmt: skip
    assert [i for i, _ in unit_view._scored_tests(dt.date(2026, 5, 1))] == [2, 1]
    assert unit_view._scored_tests(dt.date(2025, 1, 1)) == ()


def test_dates_are_date_objects_as_dt_date_gives_them() -> None:
    import datetime as dt

    import pandas as pd

    stamps = pd.Series(pd.to_datetime(["2026-06-10", "2026-06-14"]), index=[3, 5])
    dates = unit_view._dates(stamps)
    assert dates.tolist() == [dt.date(2026, 6, 10), dt.date(2026, 6, 14)]
    assert dates.dtype == object and list(dates.index) == [3, 5]
    with_missing = pd.Series(pd.to_datetime(["2026-06-10", None]))
    assert unit_view._dates(with_missing).tolist()[0] == dt.date(2026, 6, 10)
    assert unit_view._dates(with_missing).tolist()[1] is pd.NaT  # as .dt.date keeps it


def test_a_slice_of_an_integer_column_without_null_is_int64() -> None:
    """A scope's rows of a column with NULLs elsewhere (floats) are int64 when the scope
    has none, as its own rows are; float64 with some; None objects with all NULL."""
    import numpy as np
    import pandas as pd

    column = pd.Series([3.0, np.nan, 5.0, np.nan], name="owner_id")
    assert flags._as_built(column.iloc[[0, 2]], True).tolist() == [3, 5]
    assert flags._as_built(column.iloc[[0, 2]], True).dtype == "int64"
    assert flags._as_built(column.iloc[[0, 1]], True).dtype == "float64"
    assert flags._as_built(column.iloc[[1, 3]], True).tolist() == [None, None]
    assert flags._as_built(column.rename("value").iloc[[1, 3]]) is None  # NaN or NULL?


# ── the page ───────────────────────────────────────────────────────────────────────────


def test_unit_page_for_a_department_from_the_url() -> None:
    at = open_page("dashboard/pages/unit.py", {"unit": "市住建局", "as_of": AS_OF.isoformat()})
    assert not at.exception, at.exception
    assert any("本单位 · 市住建局（部门）" in m.value for m in at.subheader)
    shown = {m.label: m.value for m in at.metric}
    assert shown["整改率"] == "50.0%" and shown["已逾期"] == "3 个"
    assert "本周无到期问题" in [i.value for i in at.info]
    overdue = at.dataframe[0].value
    assert list(overdue["问题编号"]) == ["P3", "P11", "P6"]
    assert list(overdue["逾期天数"]) == [24, 9, 2]
    assert any(t.label.startswith("牵头调查指标") for t in at.tabs)


def test_unit_page_due_this_week() -> None:
    at = open_page("dashboard/pages/unit.py", {"unit": "市城管局", "as_of": AS_OF.isoformat()})
    assert not at.exception, at.exception
    assert "无逾期未整改问题" in [s.value for s in at.success]
    due = at.dataframe[0].value
    assert list(due["问题编号"]) == ["P8"] and list(due["剩余天数"]) == [2]


def test_unit_page_without_data(empty_db, monkeypatch) -> None:
    monkeypatch.setenv("CHUANGWEN_DB", str(empty_db))
    at = open_page("dashboard/pages/unit.py", {"unit": "和平街道", "as_of": AS_OF.isoformat()})
    assert not at.exception, at.exception
    infos = [i.value for i in at.info]
    assert "本周无到期问题" in infos
    assert "截至当日没有进行中的走访活动" in infos
    assert "本单位暂无台账任务" in infos
    assert "无逾期未整改问题" in [s.value for s in at.success]


@pytest.mark.parametrize("city", ["tiny_db", "small_city"])
def test_the_lists_picked_from_every_units_equal_the_queries(
    city: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """本单位's open problems, missing 台账 lines and owned items picked from every unit's
    lists prepared once (unit_view._Prepared) equal those made from the query's rows for
    the unit, for every unit, values and dtypes."""
    path = request.getfixturevalue(city)
    monkeypatch.setenv(db.ENV_VAR, str(path))
    db.clear_memos()
    day = AS_OF if city == "tiny_db" else CITY_REFERENCE
    lists = (unit_view.open_problems, unit_view.missing_materials, unit_view.owned_items)
    units = [int(u) for u in metrics.units()["unit_id"]]
    with db.as_of_batch(page_days.days_for("unit", day)):
        picked = {(f.__name__, u): f(u, day) for f in lists for u in units}
    assert unit_view._picked_open_problems(units[0], day) is not None
    assert unit_view._picked_missing(units[0], day) is not None
    assert unit_view._owned_rows(day) is not None
    db.clear_results()
    monkeypatch.setattr(unit_view, "_picked_open_problems", lambda *args: None)
    monkeypatch.setattr(unit_view, "_picked_missing", lambda *args: None)
    monkeypatch.setattr(unit_view, "_owned_rows", lambda *args: None)
    rows = 0
    with db.as_of_batch(page_days.days_for("unit", day)):
        for (name, unit_id), frame in picked.items():
            live = getattr(unit_view, name)(unit_id, day)
            pd.testing.assert_frame_equal(frame, live, check_exact=True, obj=f"{name}({unit_id})")
            rows += len(live)
    assert rows > (30 if city == "tiny_db" else 300)
    db.clear_memos()
