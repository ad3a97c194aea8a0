"""One number, one verdict, on every page (issue 16).

On a generated city, every page's and export's statement of a (unit, metric, date) —
the value as written, the target and the status — is collected from the view-models
(meeting, rankings, unit view, weekly, bulletin, red flags, the ranking export) and from
the pages themselves through AppTest, and each triple must read the same everywhere.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from pathlib import Path

import pandas as pd
import pytest

from dashboard import (
    bulletin,
    db,
    flags,
    meeting,
    metrics,
    rankings,
    status,
    unit_view,
    weekly,
)
from dashboard.components import flag_table
from dashboard.components import ranking_table as rt
from dashboard.components.text import date_text, is_missing, pct, place_text
from dashboard.labels import STATUS
from tests.apptest import open_app, open_page
from tests.cities import CITY_REFERENCE

REF = dt.date(2026, 11, 24)
WEEK_END = weekly.default_week(REF).end  # 2026-11-22: what 周报 reports by default
DATES = (REF, WEEK_END)
# the meeting view's decisive numbers → their metric in config/status.toml
MEETING_KEYS = {
    "score": "score",
    "rectification_rate": "rectification_rate",
    "overdue": "overdue",
    "coverage_rate": "coverage_rate",
    "completion_rate": "completion_rate",
    "compliance_rate": "compliance_rate",
}
MEETING_STATUS_COLUMN = {
    "score": "score_status",
    "rectification_rate": "rectification_status",
    "overdue": "overdue_status",
    "coverage_rate": "coverage_status",
    "completion_rate": "materials_status",
    "compliance_rate": "points_status",
}
RATE_KEYS = ("rectification_rate", "on_time_rate", "coverage_rate", "entry_rate",
             "completion_rate", "compliance_rate")  # fmt: skip


def shown(key: str, value: object) -> str:
    """A value as the pages write it."""
    if is_missing(value):
        return "无数据"
    if key in ("score", "gap_to_city"):
        return f"{float(value):.2f}"
    if key in ("overdue", "rank"):
        return str(int(value))
    return pct(float(value))


@pytest.fixture(scope="module")
def city(city_db: Path) -> Path:
    """The generated city at scale 0.1 on REF (tests/conftest.py; shared, read only)."""
    assert REF == CITY_REFERENCE
    return city_db


@pytest.fixture()
def use_city(city: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(db.ENV_VAR, str(city))
    yield city
    db._cached.clear()


def _ids() -> tuple[int, list[int], list[int]]:
    units = metrics.units()
    root = int(units[units["kind"] == "city"]["unit_id"].iloc[0])
    districts = sorted(units[units["kind"] == "district"]["unit_id"].astype(int))
    streets = units[(units["kind"] == "street") & (units["parent_id"] == districts[0])]
    return root, districts, sorted(streets["unit_id"].astype(int))


class Statements:
    """(unit, metric, date) → {source: (value text, target, status)}."""

    def __init__(self) -> None:
        self.by_triple: dict[tuple, dict[str, tuple]] = defaultdict(dict)

    def add(self, source: str, unit_id: int, key: str, day: dt.date, value: object,
            target: object = "?", code: str | None = None) -> None:  # fmt: skip
        t = (
            "?"
            if isinstance(target, str)
            else (None if is_missing(target) else round(float(target), 4))
        )
        self.by_triple[(int(unit_id), key, day)][source] = (shown(key, value), t, code)

    def contradictions(self) -> list[str]:
        out = []
        for triple, said in self.by_triple.items():
            for part, name in ((0, "value"), (1, "target"), (2, "status")):
                seen = {
                    s: v[part] for s, v in said.items() if v[part] not in ("?", None) or part == 0
                }
                if part == 2:
                    seen = {s: v[2] for s, v in said.items() if v[2] is not None}
                if part == 1:
                    seen = {s: v[1] for s, v in said.items() if v[1] != "?"}
                if len(set(seen.values())) > 1:
                    out.append(f"{triple} {name}: {seen}")
        return out


def _from_rankings(st_: Statements, scope: int, level: str, day: dt.date, keys) -> None:
    for key in keys:
        frame = rankings.ranking(key, scope, level, day)
        header, rows = rankings.export_rows(frame, rankings.metric(key))
        at_status = header.index("状态")
        for r, row in zip(frame.itertuples(), rows, strict=True):
            st_.add("排名", r.unit_id, key, day, r.value, r.target, r.status)
            if key == "score":  # the place among the units of the level (1, 1, 3)
                st_.add("排名", r.unit_id, "rank", day, r.rank)
                st_.add("排名 Excel", r.unit_id, "rank", day, _place(row[0]))
            code = next(c for c, v in STATUS.items() if row[at_status] == f"{v[1]} {v[0]}")
            value = row[3] if not isinstance(row[3], str) else None
            st_.add("排名 Excel", r.unit_id, key, day, value, r.target, code)


def _place(text: str) -> int | None:
    """'并列第 3 名 / 共 40 名' → 3."""
    found = re.search(r"第 (\d+) 名", text)
    return int(found.group(1)) if found else None


def _from_meeting(st_: Statements, scope: int, day: dt.date) -> meeting.MeetingView:
    view = meeting.meeting_view(scope, day)
    for r in view.children.to_dict("records"):
        for key, column in MEETING_KEYS.items():
            target = r["target_score"] if key == "score" else "?"
            st_.add("会议大屏·下级", r["unit_id"], key, day, r[column], target,
                    r[MEETING_STATUS_COLUMN[key]])  # fmt: skip
    return view


@pytest.fixture(scope="module")
def statements(city: Path) -> tuple[Statements, dict]:
    import os

    os.environ[db.ENV_VAR] = str(city)
    try:
        st_ = Statements()
        root, districts, streets = _ids()
        views = {}
        for day in DATES:
            views[(root, day)] = _from_meeting(st_, root, day)
            _from_rankings(st_, root, "district", day,
                           [*MEETING_KEYS, "on_time_rate", "entry_rate", "gap_to_city"])  # fmt: skip
        views[(districts[0], REF)] = _from_meeting(st_, districts[0], REF)
        _from_rankings(st_, districts[0], "street", REF, MEETING_KEYS)
        # each district's own tiles on 会议大屏 (?unit=…) and its 本单位 standing
        for unit_id in districts[:2]:
            view = meeting.meeting_view(unit_id, REF)
            for n in view.numbers:
                key = {"rectification": "rectification_rate", "coverage": "coverage_rate",
                       "materials": "completion_rate", "points": "compliance_rate"}.get(n.key, n.key)  # fmt: skip
                if key in MEETING_KEYS:
                    st_.add("会议大屏·本级", unit_id, key, REF, n.value, n.target, n.status)
                if key == "rank":  # among sibling districts, as 排名 lists them
                    st_.add("会议大屏·本级", unit_id, "rank", REF, n.value)
        for unit_id in [*districts, streets[0]]:
            for s in unit_view.standing(unit_id, REF):
                st_.add("本单位", unit_id, s.key, REF, s.value, s.target, s.status)
                if s.key == "score" and unit_id in districts:
                    st_.add("本单位", unit_id, "rank", REF, s.rank)
        # 周报: the week's end, as the page and the bulletin state it
        week = weekly.default_week(REF)
        for key in weekly.WEEKLY_METRICS:
            frame = weekly.changes(key, root, week, "district")
            for r in frame.itertuples():
                st_.add("周报", r.unit_id, key, week.end, r.value, r.target, r.status)
        return st_, {"root": root, "districts": districts, "streets": streets, "views": views}
    finally:
        del os.environ[db.ENV_VAR]
        db._cached.clear()


def test_at_least_thirty_triples_over_every_metric_and_several_sources(statements) -> None:
    st_, _ = statements
    multi = {t: s for t, s in st_.by_triple.items() if len(s) >= 2}
    assert len(multi) >= 30
    assert {t[1] for t in multi} >= {*MEETING_KEYS, "on_time_rate", "entry_rate", "rank"}
    sources = {s for said in multi.values() for s in said}
    assert sources >= {"排名", "排名 Excel", "会议大屏·下级", "会议大屏·本级", "本单位", "周报"}


def test_every_source_states_the_same_value_target_and_status(statements) -> None:
    st_, _ = statements
    assert st_.contradictions() == []


# ── the contradictions of issue 16, one test each ──────────────────────────────────────


def test_coverage_gets_one_verdict_from_its_projection_on_landing_and_rankings(
    statements, use_city
) -> None:
    """南湖区 59.8% was ● 达标 on the landing page (projection) and ■ 落后 on 排名 (current)."""
    _, ids = statements
    view = ids["views"][(ids["root"], REF)]
    ranking = rankings.ranking("coverage_rate", ids["root"], "district", REF).set_index("unit_id")
    for r in view.children.to_dict("records"):
        assert r["coverage_status"] == ranking.loc[r["unit_id"], "status"]
        # both bases, each named, under that one verdict
        assert r["coverage_text"] == (
            f"当前 {pct(r['coverage_rate'])} · 预计 12-21 达 {pct(r['projected_rate'])}"
        )
        expected = status.judge("coverage_rate", r["projected_rate"], 0.7)
        assert r["coverage_status"] == expected
    assert status.rule("coverage_rate").basis == "projection"


def test_materials_and_points_targets_are_the_same_on_meeting_and_rankings(
    statements, use_city
) -> None:
    """台账 and 点位 were ≥ 95% on 会议大屏 and 目标 90.0% on 排名."""
    _, ids = statements
    view = ids["views"][(ids["root"], REF)]
    for key, metric_key in (("materials", "completion_rate"), ("points", "compliance_rate")):
        frame = rankings.ranking(metric_key, ids["root"], "district", REF)
        assert set(frame["target"]) == {view.number(key).target}
        assert view.number(key).target_text == f"目标 ≥ {status.rule(metric_key).target:.0%}"


def test_the_red_flags_fire_exactly_where_the_status_says_behind(statements, use_city) -> None:
    """A status line used by a red flag draws the same line: 整改率 black list, coverage."""
    _, ids = statements
    root = ids["root"]
    found = flags.evaluate(root, REF)
    for rule_id, key, level, bad in (
        ("rectification_below", "rectification_rate", "street", {"bad"}),
        ("coverage_behind", "coverage_rate", "district", {"warn", "bad"}),
        ("coverage_behind", "coverage_rate", "street", {"warn", "bad"}),
    ):
        flagged = {f.unit_id for f in found if f.rule_id == rule_id}
        frame = rankings.ranking(key, root, level, REF)
        if key == "rectification_rate":
            frame = frame[frame["denominator"] >= 5]  # the rule's min_found
        judged = set(frame.loc[frame["status"].isin(bad), "unit_id"].astype(int))
        assert flagged & set(frame["unit_id"]) == judged, rule_id


def test_the_bulletin_praises_and_criticises_on_the_status_lines(statements, use_city) -> None:
    _, ids = statements
    week = weekly.default_week(REF)
    config = bulletin.load_config()
    content = bulletin.compose(ids["root"], week.end, config)
    checked = 0
    for named, verdict in [(n, "ok") for n in content.praise] + [
        (n, "bad") for n in content.criticism if n.judgement.metric == "rectification_rate"
    ]:
        frame = weekly.changes("rectification_rate", ids["root"], week, named.level)
        status_of = dict(zip(frame["name"], frame["status"], strict=True))
        for name, _value in named.units:
            assert status_of[name] == verdict, (name, named.judgement)
            checked += 1
    assert checked > 0


# ── the pages themselves (AppTest) ─────────────────────────────────────────────────────


def _cells(markdown: str) -> list[str]:
    return [c.strip() for c in markdown.replace("\\", "").split("|")]


def test_the_pages_state_what_the_view_models_state(statements, use_city) -> None:
    st_, ids = statements
    names = metrics.units().set_index("unit_id")["name"].to_dict()
    districts = ids["districts"]

    # 会议大屏, every district with each number's symbol (?rotate=units shows them all)
    at = open_app({"mode": "meeting", "rotate": "units", "as_of": REF.isoformat()}, timeout=120)
    assert not at.exception
    table = next(m.value for m in at.markdown if m.value.startswith("| 单位 | 综合得分"))
    headers = _cells(table.splitlines()[0])[2:-1]
    columns = dict(zip(headers, MEETING_KEYS, strict=True))
    for line in table.splitlines()[2:]:
        cells = _cells(line)[1:-1]
        unit_id = next(u for u in districts if f"**{names[u]}**" == cells[0])
        for header, cell in zip(headers, cells[1:], strict=True):
            key = columns[header]
            said = st_.by_triple[(unit_id, key, REF)]["排名"]
            symbol = STATUS[said[2]][1]
            assert f"{symbol} " in cell, (names[unit_id], header, cell, said)
            value = said[0] + (" 件" if key == "overdue" else "")
            assert value in cell, (names[unit_id], header, cell, said)

    # 排名: the table a leader reads
    at = open_page("dashboard/pages/rankings.py", {"as_of": REF.isoformat()}, timeout=120)
    for key in ("coverage_rate", "completion_rate", "rectification_rate"):
        at.selectbox(key="rank_metric").set_value(key).run()
        at.selectbox(key="rank_level").set_value("district").run()
        assert not at.exception
        shown_table = at.dataframe[0].value
        for r in shown_table.itertuples():
            unit_id = next(u for u in districts if names[u] == r.name)
            said = st_.by_triple[(unit_id, key, REF)]["排名"]
            assert pct(r.value / 100) == said[0]
            assert r.status == f"{STATUS[said[2]][1]} {STATUS[said[2]][0]}"

    # 本单位: the tile and its status line
    unit_id = districts[0]
    at = open_page("dashboard/pages/unit.py", {"unit": names[unit_id], "as_of": REF.isoformat()},
                   timeout=120)  # fmt: skip
    assert not at.exception
    tiles = {m.label: m.value for m in at.metric}
    captions = " ".join(c.value for c in at.caption)
    for key in ("rectification_rate", "coverage_rate", "completion_rate"):
        said = st_.by_triple[(unit_id, key, REF)]["排名"]
        assert tiles[rankings.metric(key).label] == said[0]
        assert f"{STATUS[said[2]][1]} {STATUS[said[2]][0]}" in captions


def test_units_have_their_status_judged_once(statements) -> None:
    """No (unit, metric, date) carries two verdicts."""
    st_, _ = statements
    for triple, said in st_.by_triple.items():
        codes = {v[2] for v in said.values() if v[2] is not None}
        assert len(codes) <= 1, (triple, said)


def test_the_overdue_flag_says_it_leaves_out_severe_problems(statements, use_city) -> None:
    """市城管局: the flag said 逾期未整改 100 个, 排名 104 件 (4 severe ones not said)."""
    _, ids = statements
    found = [f for f in flags.evaluate(ids["root"], REF) if f.rule_id == "overdue_problems"]
    depts = metrics.rectification(ids["root"], REF, "department").set_index("unit_id")
    checked = 0
    for f in found:
        assert "逾期未整改（不含严重）" in f.value_text and "不含严重" in f.rule_name
        if f.owner_id in depts.index:
            row = depts.loc[f.owner_id]
            assert f.value == row["overdue"] - row["overdue_severe"]
            checked += 1
    assert checked > 0


def test_zero_ledger_lines_say_what_they_count(statements, use_city) -> None:
    """市民政局: the landing said 5 项为零, its flag 2 项 (only lines due within 30 days)."""
    _, ids = statements
    view = ids["views"][(ids["root"], REF)]
    zero = int(metrics.materials_completion(ids["root"], REF).iloc[0]["lines_at_zero"])
    # the tile sits under 台账完成率: "5 项为 0%" counts every line at 0%, whatever its
    # deadline; the flag names its window
    assert view.number("materials").detail.startswith(f"{zero} 项为 0%")
    window = dict(flags.default_rules().get("materials_zero").params)["within_days"]
    texts = [
        f.value_text for f in flags.evaluate(ids["root"], REF) if f.rule_id == "materials_zero"
    ]
    assert texts and all(f"（{window} 天内截止或已过截止的）" in t for t in texts)


def test_weekly_says_which_day_its_numbers_are_as_of(statements, use_city) -> None:
    """周报 showed week-end numbers under a header that said 数据截至 12-04."""
    _, ids = statements
    at = open_page("dashboard/pages/weekly.py", {"as_of": REF.isoformat()}, timeout=120)
    assert not at.exception
    tiles = {m.label: m.value for m in at.metric}
    rect = metrics.rectification(ids["root"], WEEK_END).iloc[0]["rectification_rate"]
    assert tiles[f"整改率（截至 {WEEK_END:%m-%d}）"] == pct(rect)
    captions = " ".join(c.value for c in at.caption)
    assert f"截至本周日 {WEEK_END.isoformat()}" in captions and REF.isoformat() in captions


def test_the_city_line_is_named_for_what_it_is(statements, use_city) -> None:
    """'低于全市平均' compared with the city's own score (87.74), not a mean of units."""
    _, ids = statements
    found = [f for f in flags.evaluate(ids["root"], REF) if f.rule_id == "below_city_average"]
    city_score = ids["views"][(ids["root"], REF)].number("score").value
    assert all(f.rule_name == "低于全市得分" and "低于全市得分" in f.value_text for f in found)
    assert all(f.evidence[0]["全市得分"] == pytest.approx(city_score) for f in found)


def test_places_are_read_as_places_on_every_page(statements, use_city) -> None:
    """The last of 40 streets read '37. 桃源镇' (dense ranks): places are 1 + the units
    strictly ahead at the shown precision (1, 1, 3), written 第 N 名 / 共 M 名 with 并列."""
    _, ids = statements
    m = rankings.metric("score")
    frame = rankings.ranking("score", ids["root"], "street", REF)
    ranked = frame[frame["rank"].notna()]
    shown_values = ranked["value"].round(2)
    for r, v in zip(ranked["rank"], shown_values, strict=True):
        assert r == 1 + int((shown_values > v).sum())
    assert len(ranked) == 40
    last = ranked.iloc[-1]  # 第 40 名 unless it shares its place
    assert last["rank"] == 40 or last["tied"]
    _header, rows = rankings.export_rows(frame, m)
    for row, r in zip(rows, frame.itertuples(), strict=True):
        if pd.isna(r.rank):
            assert row[0] == "无数据"
            continue
        prefix = "并列第" if r.tied else "第"
        assert row[0] == f"{prefix} {int(r.rank)} 名 / 共 40 名"
    table = rt.table_frame(frame, m)
    assert list(table["rank"]) == [
        place_text(r, tied=bool(t)) for r, t in zip(frame["rank"], frame["tied"], strict=True)
    ]


def test_place_text_ties_and_missing() -> None:
    assert place_text(3, 40) == "第 3 名 / 共 40 名"
    assert place_text(1, 40, tied=True) == "并列第 1 名 / 共 40 名"
    assert place_text(None, 40) == "无数据"


def test_movers_include_every_unit_tied_at_the_cut_and_say_so() -> None:
    """周报's 进步最大 listed three streets at +1.4 while a fourth had +1.4 too."""
    frame = pd.DataFrame({
        "unit_id": [1, 2, 3, 4, 5], "sort_order": [1, 2, 3, 4, 5],
        "name": ["甲", "乙", "丙", "丁", "戊"],
        "change": [0.020, 0.014, 0.014, 0.014, 0.001],
    })  # fmt: skip
    up, down = weekly.movers(frame, n=3)
    assert list(up["name"]) == ["甲", "乙", "丙", "丁"]
    assert list(up["mover_tied"]) == [False, True, True, True]
    assert down.empty


def test_a_change_is_the_difference_of_the_values_as_shown() -> None:
    """96.9% → 97.0% was marked 持平."""
    delta, text, good = meeting._change(0.96951, 0.96949, scale=100, digits=1, unit=" 个百分点")
    assert (text, good) == ("+0.1 个百分点", True) and delta == pytest.approx(0.001)
    delta, text, _ = meeting._change(0.96949, 0.96941, scale=100, digits=1, unit=" 个百分点")
    assert text == "持平"


def test_no_literal_none_for_a_missing_deadline() -> None:
    """The 时限 column showed the literal 'None'."""
    assert date_text(None) == "—" and date_text(pd.NaT) == "—"
    assert date_text(dt.date(2026, 12, 1)) == "2026-12-01"
    fl = flags.Flag(**{**_a_flag(), "evidence": ({"问题编号": "P1", "整改时限": None},)})
    assert flag_table.evidence_frame(fl).iloc[0]["整改时限"] == "—"


def _a_flag() -> dict:
    import dataclasses

    return {f.name: None for f in dataclasses.fields(flags.Flag)}


def test_the_more_line_does_not_offer_the_filter_already_on() -> None:
    """'另有 3 条，可按规则筛选' was shown with the rule filter already on."""
    assert "按规则" not in flag_table.more_text(3, by_rule=True, by_owner=False)
    assert "按责任单位" not in flag_table.more_text(3, by_rule=False, by_owner=True)
    both = flag_table.more_text(3, by_rule=True, by_owner=True)
    assert "筛选" not in both and "另有 3 条" in both


def test_the_data_page_dates_every_table_and_logs_no_arrow_error(use_city: Path) -> None:
    """数据 showed 最近导入 "—" on every row while 导入记录 listed the demo snapshot, and
    its 最新业务日期 column mixed dates with "—" (an Arrow conversion traceback)."""
    from dashboard import importer

    fresh = importer.data_freshness(use_city)
    assert fresh["last_import"].notna().all()
    at = open_page("dashboard/pages/data.py", timeout=120)
    assert not at.exception
    table = next(d.value for d in at.dataframe if "最近导入" in d.value.columns)
    assert "—" not in set(table["最近导入"])
    assert {type(v) for v in table["最新业务日期"]} == {str}


def test_the_trend_chart_draws_the_target_every_page_judges_by(statements, use_city) -> None:
    """趋势 drew a unit's own target score only, 排名 and 会议大屏 judged by the inherited one."""
    import json

    from dashboard import trends

    _, ids = statements
    names = metrics.units().set_index("unit_id")["name"].to_dict()
    for unit_id in ids["districts"][:2]:
        said = statements[0].by_triple[(unit_id, "score", REF)]
        target = said["排名"][1]
        assert target is not None
        assert trends.score_target(unit_id, "overall") == pytest.approx(target)
    # a community has no target of its own: its street's is the line, on every page
    units = metrics.units()
    community = units[units["kind"] == "community"].iloc[0]
    street_target = units.set_index("unit_id").loc[community["parent_id"], "target_score"]
    assert pd.isna(community["target_score"]) and not pd.isna(street_target)
    assert trends.score_target(int(community["unit_id"]), "overall") == street_target
    ranked = rankings.ranking("score", int(community["parent_id"]), "community", REF)
    assert set(ranked["target"]) == {street_target}
    unit_id = ids["districts"][0]
    target = statements[0].by_triple[(unit_id, "score", REF)]["排名"][1]
    at = open_page("dashboard/pages/trends.py", {"unit": names[unit_id], "as_of": REF.isoformat()},
                   timeout=120)  # fmt: skip
    assert not at.exception
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    texts = [a.get("text", "") for a in spec["layout"].get("annotations", [])]
    assert f"目标 {target:g}" in texts


def test_indicator_rankings_state_one_target_and_status(statements, use_city) -> None:
    _, ids = statements
    options = rankings.indicator_options(REF)
    indicator_id = int(options.iloc[0]["indicator_id"])
    m = rankings.metric("indicator")
    frame = rankings.ranking("indicator", ids["root"], "district", REF, indicator_id=indicator_id)
    _header, rows = rankings.export_rows(frame, m)
    for r, row in zip(frame.itertuples(), rows, strict=True):
        assert r.status == m.rule.judge(r.value, r.target)
        assert row[-1] == f"{STATUS[r.status][1]} {STATUS[r.status][0]}"
