"""会议大屏: the status rule, the view-model against the metric functions, and the page
opened through the entry script (AppTest) for the city and for 东城区 on the tiny fixture."""

from __future__ import annotations

import datetime as dt

import pytest

from dashboard import flags, meeting, metrics
from dashboard.components import board, sparkline
from dashboard.components.text import pct
from tests.apptest import open_app
from tests.tiny import AS_OF

# ── the status rule (no database) ──────────────────────────────────────────────────────


@pytest.mark.parametrize(
    ("key", "value", "target", "expected"),
    [
        ("rectification", 0.90, None, "ok"),  # ≥ 90%: red (honour) list
        ("rectification", 0.8994, None, "warn"),  # shown 89.9%
        ("rectification", 0.8996, None, "ok"),  # shown 90.0%: judged as shown
        ("rectification", 0.85, None, "warn"),
        ("rectification", 0.8496, None, "warn"),  # shown 85.0%
        ("rectification", 0.8494, None, "bad"),  # < 85%: black list
        ("materials", 0.95, None, "ok"),
        ("materials", 0.85, None, "warn"),
        ("materials", 0.84, None, "bad"),
        ("points", 0.90, None, "warn"),
        ("points", 0.89, None, "bad"),
        ("score", 90.0, 90.0, "ok"),
        ("score", 88.0, 90.0, "warn"),  # within 2 points of the target
        ("score", 87.99, 90.0, "bad"),
        ("score", 95.0, None, "none"),  # no target → nothing to judge by
        ("rank", 5, 5, "ok"),  # lower is better
        ("rank", 8, 5, "warn"),  # within 3 places
        ("rank", 9, 5, "bad"),
        ("coverage", 0.70, 0.70, "ok"),  # projected vs the milestone share
        ("coverage", 0.65, 0.70, "warn"),
        ("coverage", 0.6494, 0.70, "bad"),
        ("rectification", None, None, "none"),
    ],
)
def test_status_rule(key: str, value: float | None, target: float | None, expected: str) -> None:
    assert meeting.status_of(key, value, target) == expected


def test_every_decisive_number_has_a_rule_and_a_label() -> None:
    for key in ("score", "rank", "rectification", "coverage", "materials", "points"):
        assert meeting.rule(key).why()
        assert key in meeting.LABELS


def test_rotation_reads_the_url_and_ignores_junk() -> None:
    assert meeting.rotation(None, None, None) == meeting.Rotation(("overview",), None)
    assert meeting.rotation("overview,flags", "30", None) == meeting.Rotation(
        ("overview", "flags"), 30
    )
    assert meeting.rotation("overview,<script>,flags,flags", None, None) == meeting.Rotation(
        ("overview", "flags"), meeting.DEFAULT_EVERY
    )
    assert meeting.rotation("overview,units", "1", None).every == meeting.MIN_SECONDS
    assert meeting.rotation("flags", "30", "99999") == meeting.Rotation(("flags",), 3600)
    assert meeting.rotation("", "x", "300").every == 300


def test_markdown_escapes_unit_names() -> None:
    hostile = meeting.Laggards(
        "score", "综合得分", (meeting.UnitValue(1, "[x](javascript:alert(1))", 1.0, "1", "bad"),)
    )
    text = board.laggards_md([hostile])
    assert "](javascript" not in text and "\\[x\\]" in text
    assert "达标" in board.legend_md() and "●" in board.legend_md()


# ── the view-model on the tiny fixture ─────────────────────────────────────────────────

pytestmark_db = pytest.mark.usefixtures("use_tiny")  # only the tests below need the db


@pytestmark_db
def test_city_numbers_match_the_metric_functions() -> None:
    view = meeting.meeting_view(1, AS_OF)
    rect = metrics.rectification(1, AS_OF).iloc[0]
    number = view.number("rectification")
    assert number.value == pytest.approx(6 / 11) == pytest.approx(rect.rectification_rate)
    assert number.detail == "逾期 3 件（严重 2 件）"
    assert number.status == "bad"
    # the change is against the same metric a week earlier (06-03)
    before = metrics.rectification(1, AS_OF - dt.timedelta(days=7)).iloc[0].rectification_rate
    # … between the values as shown (54.5% − 60.0%: before = 6/10)
    assert before == pytest.approx(0.6)
    assert number.change == pytest.approx(0.545 - 0.6)

    cov = view.number("coverage")
    assert cov.value == pytest.approx(14 / 39)
    assert cov.target == 0.7
    # projected at 06-30: (14 + 9/14·20) / 39 = 68.9% → within 5 points of 70% → 预警
    assert "68.9%" in cov.detail and cov.status == "warn"

    assert view.number("materials").value == pytest.approx(26 / 45)
    assert view.number("points").value == pytest.approx(4 / 5)

    score = view.number("score")
    assert (score.value, score.target, score.change) == (82.0, 90.0, 2.0)  # A3 vs A2
    assert score.status == "bad" and score.change_basis == "较上次测评"
    rank = view.number("rank")
    assert (rank.value, rank.target) == (8, 5)  # 8th of 16 in the last provincial test
    assert rank.status == "warn" and "差 3 名" in rank.target_text

    assert view.next_test.days_left == 21 and "21 天" in view.countdown_big
    assert view.freshness.startswith("数据截至 2026-06-10")


@pytestmark_db
def test_district_scope_ranks_among_sibling_districts() -> None:
    view = meeting.meeting_view(2, AS_OF)
    assert view.scope_name == "东城区" and view.child_level == "street"
    rank = view.number("rank")
    assert rank.value == 1 and "共 2 个区县" in rank.detail  # 85 vs 西城区 79 in A3
    assert view.number("score").value == 85.0
    assert view.number("rectification").value == pytest.approx(5 / 8)
    assert view.number("coverage").value == pytest.approx(14 / 29)
    assert view.number("materials").value == pytest.approx(6 / 20)
    assert view.number("points").value == pytest.approx(3 / 4)


@pytestmark_db
def test_laggards_name_the_worst_units_below_the_scope_and_skip_those_on_target() -> None:
    view = meeting.meeting_view(1, AS_OF)
    lag = {entry.key: entry for entry in view.laggards}
    assert [u.name for u in lag["rectification"].units] == ["西城区", "东城区"]  # 33% < 62.5%
    assert [u.name for u in lag["materials"].units] == ["东城区", "西城区"]  # 30% < 75%
    assert [u.name for u in lag["points"].units] == ["东城区"]  # 西城区 100% is on target
    assert [u.name for u in lag["overdue"].units] == ["东城区", "西城区"]  # 2 vs 1 overdue
    assert [u.name for u in lag["coverage"].units] == ["西城区"]  # 东城区 projected on track
    children = view.children.set_index("name")
    assert children.loc["西城区", "rectification_rate"] == pytest.approx(1 / 3)


@pytestmark_db
def test_top_flags_come_from_the_flag_engine() -> None:
    view = meeting.meeting_view(1, AS_OF)
    expected = flags.headline_flags(1, AS_OF, n=meeting.FLAGS_N)
    assert [f.key for f in view.flags] == [f.key for f in expected]


@pytestmark_db
def test_series_for_the_sparklines() -> None:
    view = meeting.meeting_view(1, AS_OF)
    assert [p.value for p in view.score_series] == [78.0, 80.0, 82.0]
    assert view.score_series[-1].label == "5月"
    assert view.coverage_series[-1].value == pytest.approx(14 / 39)
    assert view.coverage_projection[-1].day == dt.date(2026, 6, 30)
    fig = sparkline.coverage_figure(view.coverage_series, view.coverage_projection, view.milestones)
    assert fig.layout.xaxis.tickfont.size >= 16 and fig.layout.yaxis.tickfont.size >= 16


# ── the page through the entry script ──────────────────────────────────────────────────


def _metrics_shown(at) -> dict[str, tuple[str, str]]:
    return {m.label: (m.value, m.delta) for m in at.metric}


@pytestmark_db
@pytest.mark.parametrize("mode", ["normal", "meeting"])
def test_page_shows_the_city_numbers(mode: str) -> None:
    params = {"as_of": AS_OF.isoformat()}
    if mode == "meeting":
        params["mode"] = "meeting"
    at = open_app(params)
    assert not at.exception, at.exception
    shown = _metrics_shown(at)
    rect = metrics.rectification(1, AS_OF).iloc[0]
    cov = metrics.coverage(1, AS_OF).iloc[0]
    mat = metrics.materials_completion(1, AS_OF).iloc[0]
    pts = metrics.point_compliance(1, AS_OF).iloc[0]
    assert shown["整改率"][0] == pct(rect.rectification_rate) == "54.5%"
    assert shown["走访覆盖率"][0] == pct(cov.coverage_rate) == "35.9%"
    assert shown["台账完成率"][0] == pct(mat.completion_rate) == "57.8%"
    assert shown["点位达标率"][0] == pct(pts.compliance_rate) == "80.0%"
    assert shown["综合得分"] == ("82.00", "+2.00 分")
    assert shown["排名"][0] == "第 8 名"
    text = " ".join(m.value for m in at.markdown)
    assert "逾期 3 件（严重 2 件）" in text
    assert "■ 落后" in text and "▲ 预警" in text  # status in symbol and word
    assert "西城区" in text  # the worst district is named
    if mode == "meeting":
        assert "距省级测评还有 21 天" in text
        assert "数据截至 2026\\-06\\-10" in text


@pytestmark_db
def test_meeting_mode_for_a_district_leader() -> None:
    at = open_app({"as_of": AS_OF.isoformat(), "mode": "meeting", "unit": "东城区"})
    assert not at.exception, at.exception
    shown = _metrics_shown(at)
    assert shown["整改率"][0] == pct(metrics.rectification(2, AS_OF).iloc[0].rectification_rate)
    assert shown["整改率"][0] == "62.5%"
    assert shown["走访覆盖率"][0] == pct(14 / 29)
    assert shown["台账完成率"][0] == "30.0%"
    assert shown["点位达标率"][0] == "75.0%"
    assert shown["综合得分"][0] == "85.00"
    assert shown["排名"][0] == "第 1 名"
    text = " ".join(m.value for m in at.markdown)
    assert "东城区" in text and "解放街道" in text  # its own streets, not other districts
    assert "城关镇" not in text


@pytestmark_db
@pytest.mark.parametrize("rotate", ["flags", "units"])
def test_other_views_render(rotate: str) -> None:
    at = open_app({"as_of": AS_OF.isoformat(), "mode": "meeting", "rotate": rotate})
    assert not at.exception, at.exception
    text = " ".join(m.value for m in at.markdown)
    assert ("红旗清单" in text) if rotate == "flags" else ("区县一览" in text)
