"""周报 and the weekly bulletin, against numbers worked out by hand on the tiny fixture.

The week under test is 2026年第23周, Monday 2026-06-01 .. Sunday 06-07; the previous week
ends 05-31. From tests/tiny.py PROBLEMS (found / deadline / rectified):

  found in the week:      P6 (06-01, 光明社区/市住建局), P8 (06-05, 桃源村/市城管局)      → 2
  rectified in the week:  P12 (06-03, 幸福社区/市城管局)                              → 1
  newly overdue:          first overdue day = max(deadline + 1, found) in the week and
                          not rectified by then: P11 (deadline 06-01 → overdue 06-02,
                          severe, 城关镇/市住建局). P12 (deadline 06-04) was rectified
                          06-03; P6's first overdue day is 06-09; P3's was 05-18       → 1
  previous week (05-25..05-31): found P11 (05-25), P12 (05-28) = 2; rectified none;
                          newly overdue none (no deadline in 05-24..05-30 left open)
  next week (06-08..06-14): found 0 (P9 is 06-15); rectified P6 (06-12); newly overdue
                          P6 (overdue from 06-09, rectified only 06-12) and P8 (06-13) = 2

整改率 (rectified ÷ found) at the two week ends, per street (属地 or 责任 in the subtree):
  和平街道 (4, 7, 8): 05-31 found P1 P2 P3 P4 P10 P12 = 6, rectified P1 P2 P10 = 3 → 50%;
                      06-07 the same 6, rectified + P12 = 4 → 66.7%; +16.7 points
  解放街道 (5, 9):    05-31 P5 1/1 = 100%; 06-07 P5 P6, 1/2 = 50%; −50 points
  城关镇 (6, 10):     05-31 P7 P11, 1/2 = 50%; 06-07 P7 P8 P11, 1/3 = 33.3%; −16.7 points
  → ranks at 06-07: 和平 1, 解放 2, 城关 3; at 05-31: 解放 1, 和平 and 城关 2 (dense)
  市住建局: 05-31 P1 P3 P5 P10 P11 = 3/5 = 60%; 06-07 + P6 = 3/6 = 50%
  市城管局: 05-31 P2 P4 P7 P12 = 2/4 = 50%; 06-07 + P8, P12 rectified = 3/5 = 60%
  city: 05-31 found 9 (all but P6 P8 P9), rectified P1 P2 P5 P7 P10 = 5 → 55.6%;
        06-07 11 found, 6 rectified → 54.5%; −1.0 point
走访覆盖率 (distinct subjects ÷ target): city 05-31 unit 7 H1 H2 H3 + unit 9 H1..H5 = 8/39;
  06-07 + unit 7 H4 H5, unit 8 H1 H2, unit 7 B1 = 13/39.
  和平街道 (target 10 + 10 + 4 = 24): 3/24 → 8/24; 解放街道 5/5 both; 城关镇 0/10 both.
台账完成率: 05-31 no ledger line yet (无数据); 06-07 unit 4 4/10 + unit 12 5/5 = 9/15.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import time
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from docx import Document
from docx.oxml.ns import qn

from dashboard import bulletin, flags, metrics, store, unit_numbers, weekly
from dashboard.components.text import pct
from tests import tiny
from tests.apptest import open_page
from tests.tiny import AS_OF, fill_tiny

GOLDEN = Path(__file__).parent / "golden" / "bulletin_tiny_2026w23.txt"
WEEK = weekly.Week(dt.date(2026, 6, 1))


def build_without_data(path: Path) -> Path:
    """The tiny fixture's units, indicators and assessments only: no problems, visits,
    ledgers, points or scores — every page must say so instead of failing."""

    def fill(con) -> None:
        con.executemany("insert into units values (?, ?, ?, ?, ?, ?)", tiny.UNITS)
        con.executemany(
            "insert into indicators values (?, ?, ?, ?, ?, ?, ?, ?, ?)", tiny.INDICATORS
        )
        con.executemany(
            "insert into assessments values (?, ?, ?, ?, ?, ?, ?, ?, ?)", tiny.ASSESSMENTS
        )

    return store.write_snapshot(
        path, fill, meta={"source": "test", "reference_date": AS_OF.isoformat()}
    )


@pytest.fixture(scope="module")
def empty_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_without_data(tmp_path_factory.mktemp("empty") / "empty.duckdb")


def by_name(frame) -> dict[str, dict]:
    return {r["name"]: r for r in frame.to_dict("records")}


# ── weeks ──────────────────────────────────────────────────────────────────────────────


def test_default_week_is_the_last_complete_week_before_as_of() -> None:
    assert weekly.default_week(AS_OF) == WEEK  # Wednesday 06-10 → 06-01..06-07
    assert weekly.default_week(dt.date(2026, 6, 15)).end == dt.date(2026, 6, 14)  # Monday
    assert weekly.default_week(dt.date(2026, 6, 14)) == WEEK  # Sunday is not complete yet
    assert (WEEK.start, WEEK.end, WEEK.prev_end) == (
        dt.date(2026, 6, 1),
        dt.date(2026, 6, 7),
        dt.date(2026, 5, 31),
    )
    assert WEEK.title == "2026年第23周"
    assert weekly.Week.containing(dt.date(2026, 6, 7)) == WEEK
    assert [w.start.isoformat() for w in weekly.recent_weeks(AS_OF, 3)] == [
        "2026-06-01",
        "2026-05-25",
        "2026-05-18",
    ]


# ── events in the week ─────────────────────────────────────────────────────────────────

pytestmark = pytest.mark.usefixtures("use_tiny")


def test_week_events_for_the_city() -> None:
    row = weekly.problem_counts(1, WEEK).iloc[0]
    assert (row.found_in_week, row.rectified_in_week, row.newly_overdue) == (2, 1, 1)
    assert row.newly_overdue_severe == 1
    before = weekly.problem_counts(1, WEEK.previous).iloc[0]
    assert (before.found_in_week, before.rectified_in_week, before.newly_overdue) == (2, 0, 0)
    after = weekly.problem_counts(1, weekly.Week(dt.date(2026, 6, 8))).iloc[0]
    assert (after.found_in_week, after.rectified_in_week, after.newly_overdue) == (0, 1, 2)


def test_week_events_by_street_and_department() -> None:
    streets = by_name(weekly.problem_counts(1, WEEK, "street"))
    got = {
        k: (v["found_in_week"], v["rectified_in_week"], v["newly_overdue"])
        for k, v in streets.items()
    }
    assert got == {"和平街道": (0, 1, 0), "解放街道": (1, 0, 0), "城关镇": (1, 0, 1)}
    depts = by_name(weekly.problem_counts(1, WEEK, "department"))
    assert (depts["市住建局"]["found_in_week"], depts["市住建局"]["newly_overdue"]) == (1, 1)
    assert (depts["市城管局"]["found_in_week"], depts["市城管局"]["rectified_in_week"]) == (1, 1)


def test_week_event_list_names_each_problem() -> None:
    events = weekly.problem_events(1, WEEK).set_index("problem_id")
    assert set(events.index) == {"P6", "P8", "P11", "P12"}
    assert events.loc["P6", "is_new"] and events.loc["P8", "is_new"]
    assert events.loc["P12", "is_rectified"] and not events.loc["P12", "open_at_week_end"]
    assert events.loc["P11", "is_newly_overdue"] and events.loc["P11", "open_at_week_end"]


# ── week-over-week change, via the metric functions ───────────────────────────────────


def test_rectification_change_by_street() -> None:
    frame = weekly.changes("rectification_rate", 1, WEEK, "street")
    assert list(frame["name"]) == ["和平街道", "解放街道", "城关镇"]  # by rank at 06-07
    rows = by_name(frame)
    assert rows["和平街道"]["value"] == pytest.approx(4 / 6)
    assert rows["和平街道"]["value_prev"] == pytest.approx(3 / 6)
    assert rows["解放街道"]["change"] == pytest.approx(1 / 2 - 1)
    # the change between the values as shown (33.3% − 50.0%), so it reads as written
    assert rows["城关镇"]["change"] == pytest.approx(0.333 - 0.5)
    assert [rows[n]["rank"] for n in ("和平街道", "解放街道", "城关镇")] == [1, 2, 3]
    assert [rows[n]["prev_rank"] for n in ("和平街道", "解放街道", "城关镇")] == [2, 1, 2]
    assert rows["和平街道"]["rank_change"] == "↑1" and rows["城关镇"]["rank_change"] == "↓1"
    # The same numbers as the metric function at both week ends.
    for day, column in ((WEEK.end, "value"), (WEEK.prev_end, "value_prev")):
        direct = by_name(metrics.rectification(1, day, "street"))
        for name, row in rows.items():
            assert row[column] == pytest.approx(direct[name]["rectification_rate"])


def test_department_and_coverage_changes() -> None:
    depts = by_name(weekly.changes("rectification_rate", 1, WEEK, "department"))
    assert (depts["市住建局"]["value_prev"], depts["市住建局"]["value"]) == (0.6, 0.5)
    assert (depts["市城管局"]["value_prev"], depts["市城管局"]["value"]) == (0.5, 0.6)
    cov = by_name(weekly.changes("coverage_rate", 1, WEEK, "street"))
    assert (cov["和平街道"]["numerator_prev"], cov["和平街道"]["numerator"]) == (3, 8)
    assert cov["和平街道"]["denominator"] == 24
    assert cov["解放街道"]["change"] == 0 and cov["城关镇"]["value"] == 0


def test_movers() -> None:
    up, down = weekly.movers(weekly.changes("rectification_rate", 1, WEEK, "street"))
    assert list(up["name"]) == ["和平街道"]
    assert list(down["name"]) == ["解放街道", "城关镇"]  # −50 before −16.7


def test_summary_for_the_city() -> None:
    s = weekly.summary(1, WEEK)
    assert (s.found, s.rectified, s.newly_overdue, s.newly_overdue_severe) == (2, 1, 1, 1)
    assert (s.found_change, s.rectified_change, s.newly_overdue_change) == (0, 1, 1)
    assert (s.found_total, s.rectified_total) == (11, 6)
    assert (s.overdue_open, s.overdue_open_severe) == (2, 2)  # P3, P11 at 06-07
    rect = s.rates["rectification_rate"]
    assert (rect.value, rect.value_prev) == (pytest.approx(6 / 11), pytest.approx(5 / 9))
    cov = s.rates["coverage_rate"]
    assert (cov.value, cov.value_prev) == (pytest.approx(13 / 39), pytest.approx(8 / 39))
    mat = s.rates["completion_rate"]
    assert mat.value == pytest.approx(9 / 15) and mat.value_prev is None and mat.change is None


def test_flag_changes_match_the_engine_at_both_week_ends() -> None:
    changes = weekly.flag_changes(1, WEEK)
    now = {f.key for f in flags.evaluate(1, WEEK.end)}
    before = {f.key for f in flags.evaluate(1, WEEK.prev_end)}
    status = dict(zip(changes["flag_key"], changes["status"], strict=True))
    assert {k for k, v in status.items() if v == "appeared"} == now - before
    assert {k for k, v in status.items() if v == "stayed"} == now & before
    assert {k for k, v in status.items() if v == "cleared"} == before - now


def test_flag_changes_read_from_the_snapshot_equal_the_engines_at_both_ends(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the default week's two ends are in the snapshot: matched there by one query
    # (every scope's, matched at once and kept per snapshot: each scope's own rows)
    rules = flags.rules_or_last_good()[0]
    scopes = sorted(flags.precomputed_scopes())
    assert len(scopes) > 3
    for scope in scopes:
        assert flags.snapshot_fingerprint(scope, [WEEK.end, WEEK.prev_end], rules) is not None
    stored = {scope: weekly._flag_changes(scope, WEEK) for scope in scopes}
    assert set(stored[1]["status"]) == {"appeared", "stayed", "cleared"}
    assert any(len(stored[scope]) for scope in scopes if scope != 1)
    monkeypatch.setattr(flags, "snapshot_fingerprint", lambda *args: None)
    for scope in scopes:
        evaluated = weekly._flag_changes(scope, WEEK)  # each flag from flags.evaluate_days
        pd.testing.assert_frame_equal(stored[scope], evaluated)


def test_a_served_weeks_numbers_equal_the_metric_functions(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the default week is served: every unit's numbers at both ends read once per snapshot
    # (unit_numbers.numbers) give each scope's summary and each level's changes exactly as
    # the metric functions do (metrics.over_days, the path of a replayed week)
    assert weekly._served_store((WEEK.prev_end, WEEK.end)) is not None
    old = WEEK.start - 20 * weekly.WEEK  # older than the served weeks: the metric functions
    assert weekly._served_store((old, old + weekly.WEEK)) is None
    scopes = [int(u) for u in metrics.units()["unit_id"]]
    served = {
        scope: (
            weekly._summary(scope, WEEK),
            {lv: weekly._level_changes(scope, WEEK, lv) for lv in weekly.comparison_levels(scope)},
        )
        for scope in scopes
    }
    monkeypatch.setattr(weekly, "_served_store", lambda days: None)
    compared = 0
    for scope in scopes:
        summary, levels = served[scope]
        assert weekly._summary(scope, WEEK) == summary
        for level, frames in levels.items():
            live = weekly._level_changes(scope, WEEK, level)
            assert list(live) == list(frames)
            for key, frame in frames.items():
                pd.testing.assert_frame_equal(frame, live[key])
                compared += len(frame)
    assert compared > 50


# ── the bulletin ───────────────────────────────────────────────────────────────────────


@pytest.fixture(scope="module")
def tiny_docx(tiny_db: Path) -> bytes:
    old = os.environ.get("CHUANGWEN_DB")
    os.environ["CHUANGWEN_DB"] = str(tiny_db)
    try:
        return bulletin.build_docx(1, WEEK.end)
    finally:
        if old is None:
            os.environ.pop("CHUANGWEN_DB", None)
        else:
            os.environ["CHUANGWEN_DB"] = old


def docx_tables(data: bytes) -> dict[str, list[list[str]]]:
    """Each table keyed by the heading paragraph just before it."""
    doc = Document(io.BytesIO(data))
    out, heading = {}, None
    for child in doc.element.body.iterchildren():
        if child.tag == qn("w:p"):
            text = "".join(t.text or "" for t in child.iter(qn("w:t"))).strip()
            heading = text or heading
        elif child.tag == qn("w:tbl"):
            rows = []
            for tr in child.iter(qn("w:tr")):
                rows.append(
                    [
                        "".join(t.text or "" for t in tc.iter(qn("w:t")))
                        for tc in tr.iter(qn("w:tc"))
                    ]
                )
            out[heading] = rows
    return out


def docx_paragraphs(data: bytes) -> list[str]:
    return [p.text for p in Document(io.BytesIO(data)).paragraphs if p.text.strip()]


def test_bulletin_title_and_summary_sentences(tiny_docx: bytes) -> None:
    paras = docx_paragraphs(tiny_docx)
    assert paras[0] == "临江市创建全国文明城市工作周通报"
    assert paras[1] == "（2026年第23周）"
    assert paras[2] == "临江市创建全国文明城市工作指挥部办公室　　2026年6月8日"
    text = "\n".join(paras)
    assert (
        "本周（2026年6月1日至6月7日），全市新发现问题 2 个，完成整改 1 个，新增逾期问题 1 个"
        in text
    )
    rate = metrics.rectification(1, WEEK.end).iloc[0].rectification_rate
    assert f"整改率 {pct(rate)}，较上周下降 1.0 个百分点" in text  # 54.5% vs 55.6%
    coverage = metrics.coverage(1, WEEK.end).iloc[0].coverage_rate
    assert f"走访覆盖率 {pct(coverage)}，较上周提高 12.8 个百分点" in text  # 13/39 vs 8/39
    assert "台账完成率 60.0%，上周无可比数据" in text
    assert "街道/镇中整改率提升最多的是和平街道（＋16.7 个百分点），下降最多的是解放街道" in text
    assert "距2026年上半年省级测评（7月1日开始）还有 24 天" in text


def test_bulletin_ranking_tables_match_the_metric_functions(tiny_docx: bytes) -> None:
    tables = docx_tables(tiny_docx)
    street = tables["（一）整改率排名（街道/镇）"]
    assert street[0] == ["名次", "单位", "整改率", "已整改/发现问题", "较上周(百分点)", "名次变化"]
    assert street[1:] == [
        ["第 1 名", "和平街道", "66.7%", "4/6", "＋16.7", "↑1"],
        ["第 2 名", "解放街道", "50.0%", "1/2", "−50.0", "↓1"],
        ["第 3 名", "城关镇", "33.3%", "1/3", "−16.7", "↓1"],
    ]
    direct = by_name(metrics.rectification(1, WEEK.end, "street"))
    for row in street[1:]:
        assert row[2] == pct(direct[row[1]]["rectification_rate"])
    depts = tables["（二）整改率排名（部门）"]
    assert [r[1:4] for r in depts[1:]] == [
        ["市城管局", "60.0%", "3/5"],
        ["市住建局", "50.0%", "3/6"],
    ]
    coverage = tables["（三）走访覆盖率排名（街道/镇）"]
    assert [r[1:4] for r in coverage[1:]] == [
        ["解放街道", "100.0%", "5/5"],
        ["和平街道", "33.3%", "8/24"],
        ["城关镇", "0.0%", "0/10"],
    ]
    assert "走访覆盖率排名（部门）" not in " ".join(tables)  # departments have no targets
    materials = tables["（四）台账完成率排名（街道/镇）"]
    assert materials[1:] == [["第 1 名", "和平街道", "40.0%", "4/10", "—", "新"]]


def test_bulletin_flag_list_comes_from_the_engine(tiny_docx: bytes) -> None:
    rows = docx_tables(tiny_docx)
    flag_table = next(v for k, v in rows.items() if k.startswith("截至6月7日共有红旗预警"))
    engine = flags.evaluate(1, WEEK.end)
    assert len(flag_table) - 1 == min(len(engine), bulletin.load_config().max_flags)
    assert flag_table[0] == list(bulletin.Bulletin.FLAG_HEADER)
    assert {(r[2], r[4]) for r in flag_table[1:]} == {
        (f.unit_name, f.owner_name or "—") for f in engine
    }


def test_bulletin_praise_and_criticism_follow_the_thresholds(tiny_docx: bytes) -> None:
    text = "\n".join(docx_paragraphs(tiny_docx))
    assert "本周街道/镇中无整改率达到90%及以上的单位。" in text
    assert (
        "街道/镇中整改率低于85%的有：城关镇（33.3%）、解放街道（50.0%）、和平街道（66.7%），"
        "予以通报批评" in text
    )
    lenient = bulletin.parse_config(
        {
            "praise": [{"metric": "rectification_rate", "at_least": 0.6}],
            "criticism": [{"metric": "rectification_rate", "below": 0.4, "min_denominator": 3}],
        }
    )
    b = bulletin.compose(1, WEEK.end, lenient)
    praise = {n.level: n.units for n in b.praise}
    assert praise["street"] == (("和平街道", pytest.approx(4 / 6)),)
    assert praise["department"] == (("市城管局", pytest.approx(0.6)),)
    criticism = {n.level: n.units for n in b.criticism}
    assert criticism["street"] == (("城关镇", pytest.approx(1 / 3)),)  # 3 problems ≥ 3
    top = bulletin.parse_config(
        {"praise": [{"metric": "rectification_rate", "at_least": 0.3, "max_named": 1}]}
    )
    (street, _dept) = bulletin.compose(1, WEEK.end, top).praise
    assert street.total == 3 and street.units == (("和平街道", pytest.approx(4 / 6)),)
    assert "共 3 个，其中最高的 1 个是：和平街道（66.7%）" in bulletin.judgement_sentence(
        street, praise=True
    )


def test_judging_many_rows_at_once_gives_each_rows_verdict() -> None:
    # 整改率 is shown to 0.1%: 84.95% reads 85.0% and meets "≥ 85%", 84.94% does not
    rule = bulletin.status.rule("rectification_rate")
    values = [0.8494, 0.8495, 0.85, 0.8504, 0.8505, 0.9, 0.0, 1.0, float("nan"), 0.84, 0.86]
    denominators = [10, 10, 10, 0, 3, float("nan"), 4, 1, 10, 2, 2]
    for bound in ("at_least", "below", "at_most"):
        for threshold, minimum in ((0.85, 1), (0.85, 3), (0.0, 1), (0.9, 1)):
            j = bulletin.Judgement("rectification_rate", bound, threshold, minimum)
            one_by_one = [
                j.holds(None if v != v else v, d, rule)
                for v, d in zip(values, denominators, strict=True)
            ]
            got = j.holds_all(np.array(values), np.array(denominators, dtype=float), rule)
            assert got.tolist() == one_by_one, (bound, threshold, minimum)
    at_least = bulletin.Judgement("rectification_rate", "at_least", 0.85)
    assert at_least.holds_all(np.array(values[:3]), np.array([10.0] * 3), rule).tolist() == [
        False, True, True,
    ]  # fmt: skip


def test_bulletin_config_errors_are_chinese() -> None:
    with pytest.raises(bulletin.BulletinConfigError, match="metric"):
        bulletin.parse_config({"praise": [{"metric": "score", "at_least": 0.9}]})
    with pytest.raises(bulletin.BulletinConfigError, match="0.85 表示 85%"):
        bulletin.parse_config({"criticism": [{"metric": "rectification_rate", "below": 85}]})
    with pytest.raises(bulletin.BulletinConfigError, match="只须写一个界限"):
        bulletin.parse_config({"praise": [{"metric": "rectification_rate"}]})
    assert bulletin.load_config().praise[0].threshold == 0.9  # the shipped file parses


def test_bulletin_fonts_are_set_for_east_asian_text(tiny_docx: bytes) -> None:
    doc = Document(io.BytesIO(tiny_docx))
    normal = doc.styles["Normal"].element.rPr.rFonts
    assert normal.get(qn("w:eastAsia")) == "仿宋"
    title = doc.paragraphs[0].runs[0]._element.rPr.rFonts
    assert title.get(qn("w:eastAsia")) == "黑体"
    body = doc.paragraphs[4].runs[0]._element.rPr.rFonts
    assert body.get(qn("w:eastAsia")) == "仿宋"


def test_bulletin_is_byte_stable(tiny_docx: bytes) -> None:
    time.sleep(2.1)  # zip timestamps have 2-second resolution: a later build must not differ
    assert bulletin.build_docx(1, WEEK.end) == tiny_docx
    doc = Document(io.BytesIO(tiny_docx))
    issued = dt.datetime(2026, 6, 8, 8, 0)  # the Monday after the week, never "now"
    assert doc.core_properties.created.replace(tzinfo=None) == issued
    assert doc.core_properties.modified.replace(tzinfo=None) == issued
    assert bulletin.build_xlsx(1, WEEK.end) == bulletin.build_xlsx(1, WEEK.end)


def test_bulletin_matches_the_golden_text(tiny_docx: bytes) -> None:
    """The golden file is the bulletin as plain text; regenerate it with UPDATE_GOLDEN=1
    (e.g. after a red-flag rule changes) and read the diff."""
    text = bulletin.docx_text(tiny_docx)
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(text, encoding="utf-8")
    assert text == GOLDEN.read_text(encoding="utf-8")


def test_xlsx_has_the_same_tables(tiny_docx: bytes) -> None:
    book = openpyxl.load_workbook(io.BytesIO(bulletin.build_xlsx(1, WEEK.end)))
    assert book.sheetnames == ["概况", "整改率排名", "走访覆盖率排名", "台账完成率排名",
                               "红旗预警", "表扬与批评"]  # fmt: skip
    rows = list(book["整改率排名"].iter_rows(values_only=True))
    assert rows[0][:4] == ("类别", "名次", "单位", "整改率")
    assert rows[1][:6] == ("街道/镇", "第 1 名", "和平街道", pytest.approx(4 / 6), 4, 6)
    assert rows[1][7] == pytest.approx(16.7)  # change in points, a number
    assert rows[2][7] == pytest.approx(-50.0)  # negative numbers stay numbers
    docx_names = [r[1] for r in docx_tables(tiny_docx)["（一）整改率排名（街道/镇）"][1:]]
    assert [r[2] for r in rows[1:4]] == docx_names
    flag_rows = list(book["红旗预警"].iter_rows(values_only=True))
    assert len(flag_rows) - 1 == len(flags.evaluate(1, WEEK.end)[:20])


def test_exports_neutralise_formula_like_names(tmp_path: Path, monkeypatch) -> None:
    def hostile(con) -> None:
        fill_tiny(con)
        con.execute("update units set name = '=HYPERLINK(\"x\")' where unit_id = 5")

    path = store.write_snapshot(
        tmp_path / "hostile.duckdb",
        hostile,
        meta={"source": "test", "reference_date": "2026-06-10"},
    )
    monkeypatch.setenv("CHUANGWEN_DB", str(path))
    book = openpyxl.load_workbook(io.BytesIO(bulletin.build_xlsx(1, WEEK.end)))
    names = [r[2] for r in book["整改率排名"].iter_rows(min_row=2, values_only=True)]
    assert '\'=HYPERLINK("x")' in names
    assert all(not str(v).startswith("=") for v in names)
    rows = docx_tables(bulletin.build_docx(1, WEEK.end))["（一）整改率排名（街道/镇）"]
    assert '\'=HYPERLINK("x")' in [r[1] for r in rows]


# ── the page ───────────────────────────────────────────────────────────────────────────


def test_weekly_page_shows_the_default_week() -> None:
    at = open_page("dashboard/pages/weekly.py", {"as_of": AS_OF.isoformat()})
    assert not at.exception, at.exception
    shown = {m.label: m.value for m in at.metric}
    assert shown["本周新发现问题"] == "2 个"
    assert shown["本周完成整改"] == "1 个"
    assert shown["本周新增逾期"] == "1 个"
    assert shown["整改率（截至 06-07）"] == "54.5%"
    assert at.selectbox(key="week").value == "2026-06-07"
    assert any("2026年第23周" in m.value for m in at.markdown)


def test_weekly_page_week_from_the_url() -> None:
    at = open_page("dashboard/pages/weekly.py", {"as_of": "2026-06-20", "week": "2026-06-14"})
    assert not at.exception, at.exception
    shown = {m.label: m.value for m in at.metric}
    assert (shown["本周新发现问题"], shown["本周完成整改"], shown["本周新增逾期"]) == (
        "0 个",
        "1 个",
        "2 个",
    )


def test_weekly_page_without_data(empty_db: Path, monkeypatch) -> None:
    monkeypatch.setenv("CHUANGWEN_DB", str(empty_db))
    at = open_page("dashboard/pages/weekly.py", {"as_of": AS_OF.isoformat()})
    assert not at.exception, at.exception
    shown = {m.label: m.value for m in at.metric}
    assert shown["本周新发现问题"] == "0 个" and shown["整改率（截至 06-07）"] == "无数据"
    assert any("本周没有新发现" in i.value for i in at.info)


def test_warming_reads_the_default_weeks_snapshot_state(empty_db: Path, monkeypatch) -> None:
    # what the first 周报 reads is read ahead (startup's warm-up): every unit's numbers at
    # both week ends and every scope's flag changes — the same rows the page then takes
    weekly.warm(AS_OF)
    numbers = unit_numbers.numbers("rectification", WEEK.end)
    at = unit_numbers.positions(np.array([1]))[0]
    assert numbers.present[at] and numbers.columns["found"][at] == 11
    rules = flags.rules_or_last_good()[0]
    fingerprint = flags.snapshot_fingerprint(1, [WEEK.end, WEEK.prev_end], rules)
    stored = weekly._stored_flag_changes(fingerprint, WEEK.end, WEEK.prev_end)
    assert len(stored[1]) == len(weekly.flag_changes(1, WEEK))
    monkeypatch.setenv("CHUANGWEN_DB", str(empty_db))
    weekly.warm(AS_OF)  # a snapshot without data: nothing to read, no error
