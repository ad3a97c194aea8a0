"""测算 engine on the tiny fixture, every expectation worked out by hand below.

At AS_OF = 2026-06-10, scope 临江市 (1), default settings (fixed_share 0.5, lookback 180 d,
visits drive 知晓率/参与率 with gap_share 0.5, 督办 7 days before the test):

Field (point, indicator) states — latest check, failing if it failed (its problem not
rectified) or a problem found there since is still open:
  (1, F-01) 06-05 pass · (1, F-02) 06-05 fail · (1, F-03) 06-05 fail (dynamic)
  (2, F-01) 06-01 pass but P6 (found 06-01, due 06-08, rectified 06-12) is open → fails
  (2, F-02) 06-01 pass · random point 3 (公共厕所) F-01 05-15 pass (the 06-20 fail is later)
  F-01: fixed 1/2 = 0.5, random 1 − 0/1 = 1 → 0.5·0.5 + 0.5·1 = 0.75 → 15 of 20
  F-02: fixed 1/2, no random data → 0.5 → 5 of 10;  F-03: fixed 0/1 → 0 of 10
Materials (latest lines): M-01 6/10 + 0/10 + 15/20 (approved) = 21/40 → 10.5 of 20;
  M-02 5/5 → 20 of 20
Questionnaire: Q-01 latest survey (assessment 3) 14/20 = 70% → 14 of 20
Expected = 15 + 5 + 0 + 10.5 + 20 + 14 = 64.5

Fixes (linear, so they add up):
  F-03 at 幸福社区农贸市场 (fixed, 0 → 1 of 1): 10 × 1/1 = 10.0, owner 市城管局
  P6 at 光明社区背街小巷 (F-01, fixed 1 → 2 of 2): 20 × 0.5 × 1/2 = 5.0, owner 市住建局
  F-02 at 幸福社区农贸市场: 10 × 1/2 = 5.0, owner 市城管局
  M-01 台账 of 解放街道 (10 missing of 40): 20 × 10/40 = 5.0; 城关镇 5 → 2.5; 和平街道 4 → 2.0
  Q-01 gap to 90%: 20 × 0.2 = 4.0, driven by visits and the 06-30 milestone (70%) is short:
    和平街道 needs ⌈0.7 × 24⌉ − 9 = 8, 城关镇 ⌈0.7 × 10⌉ − 0 = 7 (解放街道 5/5 done) →
    市住建局 (Q-01's lead) keeps 2.0; 和平街道 2.0 × 8/15, 城关镇 2.0 × 7/15
  All together 33.5 → 98.0
Gap to 90 = 25.5: most valuable first 10 + 5 + 5 + 5 + 2.5 = 27.5 ≥ 25.5 → 5 items:
  field 20.0, materials 7.5, questionnaire 0; supply field 20, materials 9.5, questionnaire 4.
Backtest: assessment 3 (05-15), as of 05-14: F-01 fixed 0/1 (05-10 fail) → 0; everything
  else carried from assessment 2 (overall 80, no items) at 0.8 → 8 + 8 + 16 + 16 + 16 = 64
  vs 82 → error −18; naive (assessment 2) 80 → −2. Assessments 1 and 2 have no data
  before them (every item carried over, or nothing to carry). MAE 18 vs naive 2.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from dashboard import db, sim_export, simulator
from tests.sim_tiny import build_sim_tiny
from tests.tiny import AS_OF

CITY = 1


@pytest.fixture()
def sim(use_tiny: Path) -> simulator.Simulation:
    return simulator.simulate(CITY, AS_OF)


def test_expected_score_from_the_published_structure(sim) -> None:
    items = sim.current.items.set_index("code")
    assert items["points"].to_dict() == pytest.approx(
        {"F-01": 15.0, "F-02": 5.0, "F-03": 0.0, "M-01": 10.5, "M-02": 20.0, "Q-01": 14.0}
    )
    assert items.loc["F-01", "source"] == "points" and items.loc["Q-01", "source"] == "survey"
    assert sim.current.total == pytest.approx(64.5)
    assert sim.current.max_total == 100
    cats = sim.current.by_category().set_index("category")
    assert cats["points"].to_dict() == pytest.approx(
        {"field": 20.0, "materials": 30.5, "questionnaire": 14.0}
    )


def test_worth_of_three_named_fixes(sim) -> None:
    worth = sim.fixes.set_index("fix_id")
    # a failing dynamic indicator at a fixed point
    assert worth.loc["point:1:13", "worth"] == pytest.approx(10.0)
    assert worth.loc["point:1:13", "owner_name"] == "市城管局"
    # the overdue problem P6 at a fixed point
    assert worth.loc["point:2:11", "worth"] == pytest.approx(5.0)
    assert worth.loc["point:2:11", "kind"] == "overdue_problem"
    assert "P6" in worth.loc["point:2:11", "detail"]
    assert worth.loc["point:2:11", "owner_name"] == "市住建局"
    # 解放街道's empty M-01 ledger
    assert worth.loc["materials:5:21", "worth"] == pytest.approx(5.0)
    assert worth.loc["materials:5:21", "owner_name"] == "解放街道"


def test_every_open_item_and_the_running_total(sim) -> None:
    worth = sim.fixes.set_index("fix_id")["worth"].to_dict()
    assert worth == pytest.approx(
        {
            "point:1:13": 10.0, "point:2:11": 5.0, "point:1:12": 5.0, "materials:5:21": 5.0,
            "materials:6:21": 2.5, "materials:4:21": 2.0, "survey:31": 2.0,
            "coverage:4": 2.0 * 8 / 15, "coverage:6": 2.0 * 7 / 15,
        }
    )  # fmt: skip
    assert list(sim.fixes["worth"]) == sorted(sim.fixes["worth"], reverse=True)
    assert sim.fixes["cumulative"].iloc[-1] == pytest.approx(33.5)
    assert (sim.fixes["deadline"] == dt.date(2026, 6, 24)).all()  # 07-01 − 7 days
    chosen = simulator.selection(sim.fixes, sim.current.total, sim.current.max_total)
    assert (chosen.items, chosen.owners) == (9, 5)
    assert chosen.projected == pytest.approx(98.0)
    owners = simulator.owner_summary(sim.fixes)
    assert owners.iloc[0]["owner_name"] == "市城管局"
    assert owners.iloc[0]["per_item"] == pytest.approx(7.5)


def test_gap_to_target_by_category(sim) -> None:
    plan = simulator.gap_plan(90.0, sim.current, sim.fixes)
    assert plan.gap == pytest.approx(25.5)
    assert plan.items_needed == 5 and plan.shortfall == 0
    cats = plan.categories.set_index("category")
    assert cats["plan"].to_dict() == pytest.approx(
        {"field": 20.0, "materials": 7.5, "questionnaire": 0.0}
    )
    assert cats["supply"].to_dict() == pytest.approx(
        {"field": 20.0, "materials": 9.5, "questionnaire": 4.0}
    )
    assert cats["lost"].to_dict() == pytest.approx(
        {"field": 20.0, "materials": 9.5, "questionnaire": 6.0}
    )
    beyond = simulator.gap_plan(99.0, sim.current, sim.fixes)
    assert beyond.items_needed is None and beyond.shortfall == pytest.approx(1.0)


def test_backtest_against_same_as_last_test(sim) -> None:
    bt = sim.backtest
    assert list(bt["assessment_id"]) == [3]
    row = bt.iloc[0]
    assert row["estimate_as_of"] == dt.date(2026, 5, 14)
    assert (row["estimate"], row["actual"], row["error"]) == pytest.approx((64.0, 82.0, -18.0))
    assert (row["naive"], row["naive_error"]) == pytest.approx((80.0, -2.0))
    assert sim.accuracy.tests == 1
    assert (sim.accuracy.mae, sim.accuracy.naive_mae) == pytest.approx((18.0, 2.0))
    assert sim.accuracy.beats_naive is False


def test_a_district_is_estimated_from_its_own_subtree(use_tiny: Path) -> None:
    # 东城区 (2): points 1, 2 only; M-01 lines of 和平/解放 6 + 0 of 20 → 6; no M-02 line and
    # no survey of its own → carried from its last test (assessment 3, overall 85 → 0.85).
    est = simulator.estimate(2, AS_OF)
    items = est.items.set_index("code")
    assert items.loc["F-01", "points"] == pytest.approx(10.0)  # fixed 1/2, no random point
    assert items.loc["M-01", "points"] == pytest.approx(6.0)
    assert items.loc["M-02", "source"] == "last_test"
    assert items.loc["M-02", "points"] == pytest.approx(17.0)
    assert est.total == pytest.approx(10 + 5 + 0 + 6 + 17 + 17)


def test_rank_and_score_needed() -> None:
    assert simulator.rank_among(64.5, [95, 85, 70]) == 4
    assert simulator.rank_among(85, [95, 85, 70]) == 2  # ties share a rank
    assert simulator.rank_among(99, [95, 85, 70]) == 1
    assert simulator.rank_among(80, []) is None
    assert simulator.score_for_rank(2, [95, 85, 85, 70]) == 85
    assert simulator.score_for_rank(5, [95, 85, 70]) is None


def test_no_rank_without_other_cities(sim) -> None:
    assert sim.rank.peers == () and sim.rank.implied(90) is None
    assert (sim.rank.published_rank, sim.rank.published_of) == (8, 16)
    assert "其他城市" in sim.rank.note


@pytest.fixture(scope="module")
def sim_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_sim_tiny(tmp_path_factory.mktemp("sim") / "sim.duckdb")


@pytest.fixture()
def use_sim(sim_db: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(db.ENV_VAR, str(sim_db))
    yield sim_db
    db._cached.clear()


def test_rank_among_the_cities_of_the_last_test(use_sim: Path) -> None:
    sim = simulator.simulate(CITY, AS_OF)
    assert sim.current.total == pytest.approx(64.5)  # the province changes nothing below it
    assert sorted(sim.rank.peers) == [70, 85, 95]
    assert sim.rank.implied(64.5) == 4
    assert sim.rank.implied(64.5 + 10) == 3


def test_a_unit_without_scores_is_not_estimated(use_sim: Path) -> None:
    # 江南省 (100) has no score of its own and no survey: nothing to carry its items from
    sim = simulator.simulate(100, AS_OF)
    assert sim.current.total is None and sim.backtest.empty and sim.last_actual is None
    from tests.apptest import open_page

    at = open_page(PAGE, {"unit": "江南省", "as_of": AS_OF.isoformat()})
    assert not at.exception, at.exception
    assert any("无法测算" in i.value for i in at.info)


def test_settings_errors_are_chinese_and_name_the_key(tmp_path: Path) -> None:
    bad = tmp_path / "sim.toml"
    bad.write_text("[field]\nfixed_shares = 0.5\n", encoding="utf-8")
    settings, problem = simulator.settings_or_default(bad)
    assert settings == simulator.Settings()
    assert "[field]" in problem and "fixed_shares" in problem
    bad.write_text("[coverage]\ngap_share = 1.5\n", encoding="utf-8")
    with pytest.raises(simulator.SettingsError, match="gap_share"):
        simulator.load_settings(bad)
    assert simulator.load_settings() == simulator.Settings()  # the shipped file = defaults


def test_fixed_share_is_a_setting(use_tiny: Path) -> None:
    # all weight on fixed points: F-01 = 1/2 → 10 (not 15)
    est = simulator.estimate(CITY, AS_OF, simulator.Settings(fixed_share=1.0))
    assert est.items.set_index("code").loc["F-01", "points"] == pytest.approx(10.0)


# ── the page, through the entry script ─────────────────────────────────────────────────

PAGE = "dashboard/pages/simulator.py"


def _texts(at) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [s.value for s in at.subheader]
    parts += [f"{m.label}={m.value}" for m in at.metric]
    return "\n".join(parts).replace("\\", "")  # markdown escapes off


def _metric(at, label_start: str) -> str:
    return next(m.value for m in at.metric if m.label.startswith(label_start))


def test_page_selecting_fixes_moves_score_and_rank(use_sim: Path) -> None:
    params = {"unit": "临江市", "as_of": AS_OF.isoformat()}
    at = _open(params)
    assert not at.exception, at.exception
    text = _texts(at)
    # estimate ± backtest MAE; the model loses to "same as last test" here and says so
    assert "估计 64.5 ± 18.0 分" in text
    assert any("不如「与上次测评相同」" in w.value for w in at.warning)
    assert "全部 9 项，涉及 5 个单位，可挽回 +33.5 分 → 98.0 分，目标 90 分" in text
    assert _metric(at, "勾选后推算名次") == "第 4 名（共 4 个城市）"
    # tick the first row (F-03 at 幸福社区农贸市场, +10) and the third (F-02, +5)
    at.session_state[f"sim_fixes_{CITY}_{AS_OF.isoformat()}"] = {
        "edited_rows": {0: {"选择": True}, 2: {"选择": True}},
        "added_rows": [],
        "deleted_rows": [],
    }
    at.run()
    assert not at.exception, at.exception
    text = _texts(at)
    assert "已选 2 项，涉及 1 个单位，可挽回 +15.0 分 → 79.5 分，目标 90 分" in text
    assert _metric(at, "勾选后预计得分") == "79.5 ± 18.0 分"
    assert _metric(at, "勾选后推算名次") == "第 3 名（共 4 个城市）"
    button = at.get("download_button")[0]
    assert "已选 2 项" in button.proto.label and not button.proto.disabled


def _open(params: dict[str, str]):
    from tests.apptest import open_page

    return open_page(PAGE, params)


def test_page_gap_and_backtest_tabs(use_tiny: Path) -> None:
    at = _open({"as_of": AS_OF.isoformat()})
    assert not at.exception, at.exception
    text = _texts(at) + "\n".join(i.value for i in at.info)
    assert "距目标 90 分差 25.5 分" in text and "至少需完成 5 项" in text
    assert "平均绝对误差：本模型 18.00 分，与上次相同 2.00 分（1 次测评）" in text
    assert "其他城市的得分，无法推算名次" in text
    assert "上次公布名次：第 8 名 / 16 个城市" in text


def test_export_holds_the_selection(use_tiny: Path) -> None:
    import io

    import openpyxl

    sim = simulator.simulate(CITY, AS_OF)
    picked = sim.fixes[sim.fixes["fix_id"].isin(["point:2:11", "materials:5:21"])].copy()
    picked.loc[picked.index[0], "detail"] = "=HYPERLINK(1)"  # hostile text stays text
    data = sim_export.duban_workbook(picked, "临江市", AS_OF, "已选 2 项")
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    rows = [[c.value for c in row] for row in sheet.iter_rows(min_row=6)]
    assert len(rows) == 2
    owners = {r[1]: r for r in rows}
    assert set(owners) == {"市住建局", "解放街道"}
    assert owners["市住建局"][8] == pytest.approx(5.0)
    assert owners["市住建局"][7].date() == dt.date(2026, 6, 24)  # 督办时限
    assert owners["市住建局"][6].date() == dt.date(2026, 6, 8)  # P6's own deadline
    assert any(str(r[5]).startswith("'=") for r in rows)
    assert rows[-1][9] == pytest.approx(10.0)  # running total


def test_a_unit_head_sees_only_their_subtree(
    use_sim: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from streamlit.testing.v1 import AppTest

    from dashboard import auth
    from tests.apptest import ENTRY

    users = tmp_path / "users.toml"
    users.write_text(
        '[users.east]\nname = "东城区负责人"\nrole = "unit_head"\nunits = ["东城区"]\n'
        f'password_hash = "{auth.hash_password("pw")}"\n',
        encoding="utf-8",
    )
    # an open-access simulation of 东城区 first: its ranking (with 西城区) must not be reused
    assert simulator.simulate(2, AS_OF).rank.peers == (77.0,)
    monkeypatch.setenv(auth.USERS_ENV, str(users))
    at = AppTest.from_file(ENTRY, default_timeout=30)
    at.session_state["_cw_user"] = auth.load_users(users)["east"]
    at.query_params["as_of"] = AS_OF.isoformat()
    at.run()
    at.switch_page(PAGE)
    at.run()
    assert not at.exception, at.exception
    text = _texts(at)
    assert "测算 · 东城区" in text
    # its backtest: assessment 3 as of 05-14, F-01 0 + the rest at 0.82 (assessment 2) = 65.6
    # vs 85 → 19.4
    assert "估计 55.0 ± 19.4 分" in text
    # the districts' ranking needs 西城区, outside the user's subtree: not implied
    assert "名次涉及授权范围以外的区县" in text
    shown = " ".join(frame.value.to_string() for frame in at.dataframe)
    assert "城关镇" not in shown and "桃源村" not in shown


def test_field_states_judge_each_observed_pair(use_tiny: Path) -> None:
    from dashboard.db import query

    for day in (AS_OF, dt.date(2026, 5, 14), dt.date(2026, 6, 25)):
        states = query("sim_field_states", scope_id=CITY, as_of=day, lookback_days=180)
        assert not states.duplicated(["point_id", "indicator_id"]).any()
        # a pair with open problems fails; a failing one either failed its check or has some
        opened = states["open_problems"] > 0
        assert states.loc[opened, "failing"].all()
        assert (~states.loc[states["failing"] & ~opened, "passed"]).all()
    # at AS_OF: (1, F-02), (1, F-03) by their checks, (2, F-01) by the open P6
    at = query("sim_field_states", scope_id=CITY, as_of=AS_OF, lookback_days=180)
    at = at[at["failing"]]
    assert set(zip(at["point_id"], at["indicator_id"], strict=True)) == {(1, 12), (1, 13), (2, 11)}


# ── the backtest precomputed at snapshot time ──────────────────────────────────────────


def test_stored_backtest_equals_the_live_one_for_every_scope(use_sim: Path) -> None:
    """sim_backtest (written with the snapshot) is what each scope would compute itself."""
    settings = simulator.Settings()
    fingerprint = simulator.backtest_fingerprint(settings)
    assert db.meta().get(simulator.BACKTEST_META_KEY) == fingerprint
    scopes = simulator.scope_unit_ids()
    assert {1, 2, 3, 4, 5, 6, 100} <= set(scopes)
    for scope in scopes:
        stored = simulator.scope_backtest(scope, settings)
        live = simulator.backtest_frame([scope], settings)[simulator.BACKTEST_COLUMNS]
        pd.testing.assert_frame_equal(
            stored.reset_index(drop=True), live.reset_index(drop=True), check_dtype=False
        )
    # 临江市: assessment 3 as of 05-14, 64 vs 82 (the hand-computed row above)
    row = simulator.scope_backtest(CITY, settings).iloc[0]
    assert (row["assessment_id"], row["estimate"], row["actual"]) == (3, 64.0, 82.0)


def test_a_scope_without_stored_rows_computes_its_own_backtest(
    small_city: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A unit the snapshot stores no backtest for (a community a user is scoped to) gets
    the backtest it would compute itself — what a page on an older snapshot shows — never
    the empty stored answer."""
    from dashboard import metrics

    monkeypatch.setenv(db.ENV_VAR, str(small_city))
    db.clear_memos()
    settings = simulator.Settings()
    assert db.meta().get(simulator.BACKTEST_META_KEY) == simulator.backtest_fingerprint(settings)
    stored_scopes = set(simulator.scope_unit_ids())
    units = metrics.units()
    communities = [int(u) for u in units.loc[units["kind"] == "community", "unit_id"]][:3]
    assert communities and not set(communities) & stored_scopes
    with_tests = 0
    for unit in communities:
        got = simulator.scope_backtest(unit, settings)
        live = simulator.backtest_frame([unit], settings)[simulator.BACKTEST_COLUMNS]
        pd.testing.assert_frame_equal(got.reset_index(drop=True), live.reset_index(drop=True))
        with_tests += len(live) > 0
    assert with_tests  # a community has past tests to backtest
    db.clear_memos()


def test_stored_default_day_is_each_scopes_own_queries(use_sim: Path) -> None:
    """sim_default_states / sim_default_lines (written with the snapshot), filtered to a
    scope, are that scope's sim_field_states / materials_lines rows at the default date."""
    from dashboard import filters
    from dashboard.db import query

    settings = simulator.Settings()
    as_of = filters.default_as_of()
    assert db.meta().get(simulator.DEFAULT_META_KEY) == simulator._default_key(settings, as_of)
    for scope in simulator.scope_unit_ids():
        stored = simulator._scope_default(scope, [as_of], settings)
        assert stored is not None
        live = (
            query("sim_field_states", scope_id=scope, days=(as_of,), lookback_days=180),
            query("materials_lines", scope_id=scope, days=(as_of,)),
        )
        for mine, theirs in zip(stored, live, strict=True):
            theirs = theirs.assign(as_of=pd.to_datetime(theirs["as_of"]).dt.date)
            # a missing value is a missing value: NULL text comes back as None or NaN
            # depending on the other rows of the result
            mine, theirs = (f.astype(object).where(f.notna(), None) for f in (mine, theirs))
            pd.testing.assert_frame_equal(
                mine.reset_index(drop=True), theirs.reset_index(drop=True), check_dtype=False
            )
    # the city holds the failing pairs of test_field_states' hand count, and a 台账 line
    states, lines = simulator._scope_default(CITY, [as_of], settings)
    assert len(states[states["failing"]]) and len(lines)
    # another day, or other settings: not stored
    assert simulator._scope_default(CITY, [as_of - dt.timedelta(days=1)], settings) is None
    assert simulator._scope_default(CITY, [as_of], simulator.Settings(lookback_days=90)) is None


def test_other_settings_compute_their_own_backtest(use_tiny: Path) -> None:
    # all weight on fixed points changes nothing before assessment 3 (F-01 had no random
    # data then), but the stored rows are for the shipped settings: computed, same numbers
    other = simulator.Settings(fixed_share=1.0)
    assert simulator.backtest_fingerprint(other) != db.meta().get(simulator.BACKTEST_META_KEY)
    bt = simulator.backtest(CITY, AS_OF, other)
    assert list(bt["assessment_id"]) == [3] and bt["estimate"].iloc[0] == pytest.approx(64.0)
    # a day before assessment 3 ended: no past test to backtest
    assert simulator.backtest(CITY, dt.date(2026, 5, 14), other).empty


def test_backtest_queries_agree_with_the_page_queries(use_sim: Path) -> None:
    from dashboard.db import query

    days = (dt.date(2026, 4, 14), dt.date(2026, 5, 14), AS_OF)
    scopes = tuple(simulator.scope_unit_ids())
    counts = query("sim_backtest_field_counts", scope_ids=scopes, days=days, lookback_days=180)
    totals = query("sim_backtest_materials", scope_ids=scopes, days=days)
    assert len(counts) and len(totals)
    for scope in scopes:
        for day in days:
            states = query("sim_field_states", scope_id=scope, as_of=day, lookback_days=180)
            one = simulator._field_counts(states.assign(scope_id=scope, as_of=day))
            mine = counts[(counts["scope_id"] == scope) & (counts["as_of"] == pd.Timestamp(day))]
            cols = ["indicator_id", "is_fixed", "point_type", "observed", "failing"]
            assert sorted(map(tuple, one[cols].to_numpy().tolist())) == sorted(
                map(tuple, mine[cols].to_numpy().tolist())
            ), (scope, day)
            # the page's one array pass gives the same count rows and the same rate bits
            page_counts, page_rates = simulator._counts_and_rates(
                states.assign(scope_id=scope, as_of=day), 0.5
            )
            pd.testing.assert_frame_equal(
                page_counts.reset_index(drop=True), one.reset_index(drop=True), check_dtype=False
            )
            pd.testing.assert_frame_equal(
                page_rates.reset_index(drop=True),
                simulator._field_rates(one, 0.5).reset_index(drop=True),
                check_dtype=False,
                rtol=0,
                atol=0,
            )
            lines = query("materials_lines", scope_id=scope, as_of=day)
            sums = lines.groupby("indicator_id")[["required", "completed"]].sum()
            got = totals[(totals["scope_id"] == scope) & (totals["as_of"] == pd.Timestamp(day))]
            got = got.set_index("indicator_id")[["required", "completed"]]
            pd.testing.assert_frame_equal(
                sums.astype(float).sort_index(),
                got.astype(float).sort_index(),
                check_index_type=False,
            )


# ── no rank to imply: said why, never a lone 第 1 名 ────────────────────────────────────


def test_no_rank_basis_is_explained(sim, use_tiny: Path) -> None:
    # tiny: the last provincial test published 8 / 16 but holds no other city's score
    assert sim.rank.note.startswith("无排名依据：") and sim.rank.implied(64.5) is None
    assert sim.rank.published_text() == "上次公布名次：第 8 名 / 16 个城市。"
    # before any provincial or national test was scored
    early = simulator.rank_context(CITY, dt.date(2025, 11, 11))
    assert early.note == "无排名依据：截至当日没有已出分的省级或全国测评"
    assert early.published_text() == ""
    # what a test published, when it is no basis for a place among cities
    base = dict(assessment_id=1, assessment_name="省测", peer_label="城市", peers=(),
                actual_rank=None, note="无排名依据：…", target_rank=None)  # fmt: skip
    lone = simulator.RankContext(**base, published_rank=1, published_of=1)
    assert lone.published_text() == "「省测」只排了 1 个城市，公布的第 1 名没有比较意义。"
    unranked = simulator.RankContext(**base, published_rank=None, published_of=None)
    assert unranked.published_text() == "「省测」未公布名次。"
    no_count = simulator.RankContext(**base, published_rank=3, published_of=None)
    assert no_count.published_text() == "上次公布名次：第 3 名（未公布参评城市数）。"


def test_page_with_a_lone_ranked_city_says_there_is_no_rank_basis(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.tiny import fill_tiny

    def fill(con) -> None:
        fill_tiny(con)
        con.execute(
            "update assessments set city_rank = 1, cities_ranked = 1 where assessment_id = 1"
        )

    monkeypatch.setenv(db.ENV_VAR, str(store_tiny(tmp_path / "lone.duckdb", fill)))
    at = _open({"as_of": AS_OF.isoformat()})
    db._cached.clear()
    assert not at.exception, at.exception
    text = _texts(at)
    assert _metric(at, "推算名次") == "无排名依据"
    assert _metric(at, "勾选后推算名次") == "无排名依据"
    assert "无排名依据：数据中没有「2025年下半年省级测评」其他城市的得分" in text
    assert "只排了 1 个城市，公布的第 1 名没有比较意义" in text
    assert "第 1 名" not in text.replace("公布的第 1 名", "")


def store_tiny(path: Path, fill) -> Path:
    from dashboard import store

    return store.write_snapshot(
        path, fill, meta={"source": "test", "reference_date": AS_OF.isoformat()}
    )


def test_a_failing_precompute_does_not_refuse_the_snapshot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.tiny import fill_tiny

    def broken(*_args: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(simulator, "backtest_frame", broken)
    path = store_tiny(tmp_path / "no_backtest.duckdb", fill_tiny)
    monkeypatch.undo()
    monkeypatch.setenv(db.ENV_VAR, str(path))
    assert simulator.BACKTEST_META_KEY not in db.meta()
    # the page computes its own rows: the hand-computed backtest of the city
    sim = simulator.simulate(CITY, AS_OF)
    db._cached.clear()
    assert (sim.accuracy.mae, sim.accuracy.naive_mae) == pytest.approx((18.0, 2.0))
