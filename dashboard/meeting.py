"""The meeting view-model: the few numbers a leader reads off the projector, assembled from metrics.

`meeting_view(scope_id, as_of)` returns everything 会议大屏 shows for one unit scope and
date — countdown, the decisive numbers with target, change and status, the units behind,
the top red flags and the two trend series — so the page only lays it out. Every number
comes from `dashboard.metrics` (or `dashboard.flags`); this module only picks, compares
and labels them.

Status rule (达标 / 预警 / 落后), one per decisive number, all thresholds in `RULES`:
a number is 达标 when it reaches `ok_from`, 预警 when it reaches `warn_from`, else 落后
(for the rank, where lower is better, "reaches" means ≤). Where a rule has no fixed
threshold, the bar comes from the data: the unit's target score, the target rank, the
share due at the next visit milestone. 走访覆盖率 is judged on its *projected* value at
that milestone (DESIGN §4: behind schedule = projected < milestone share).

Change: the rates are compared with the same metric at as_of − 7 days (较上周); the score
and the rank only move when a test is scored, so they are compared with the previous
scored test (较上次测评).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

import pandas as pd

from dashboard import db, filters, flags, metrics
from dashboard.components.header import countdown_text
from dashboard.components.text import is_missing, pct, rank_text
from dashboard.labels import ASSESSMENT_LEVEL, STATUS, UNIT_KIND, label

WEEK = dt.timedelta(days=7)
BOTTOM_N = 3
FLAGS_N = 8
SCORE_SERIES_N = 6  # tests on the composite sparkline
COVERAGE_SERIES_MAX_POINTS = 12


@dataclass(frozen=True)
class Rule:
    """达标 from ok_from, 预警 from warn_from, else 落后. None = taken from the data."""

    ok_from: float | None
    warn_from: float | None
    higher_is_better: bool = True
    why: str = ""


# The one place where the thresholds live.
RULES: dict[str, Rule] = {
    # score: ok at the unit's target score, warning within 2 points below it
    "score": Rule(None, None, why="达到本单位目标分为达标，低于目标 2 分以内为预警"),
    # rank: ok within the target rank, warning within 3 places of it
    "rank": Rule(None, None, higher_is_better=False, why="进入目标名次为达标，差 3 名以内为预警"),
    # 整改率: ≥ 90% is the red (honour) list, < 85% the black list (DESIGN §2)
    "rectification": Rule(0.90, 0.85, why="≥ 90% 为达标（红榜），< 85% 为落后（黑榜）"),
    # 走访覆盖率: the projected value at the next milestone vs its share, 5 points of slack
    "coverage": Rule(
        None,
        None,
        why="按近 14 天进度推算，到下一节点能达到节点目标为达标，差 5 个百分点以内为预警",
    ),
    # 台账: must be complete; 95% is on track, below 85% is behind
    "materials": Rule(0.95, 0.85, why="≥ 95% 为达标，< 85% 为落后"),
    # 点位: static indicators must all meet the standard; a few failures are a warning
    "points": Rule(0.95, 0.90, why="≥ 95% 为达标，< 90% 为落后"),
}
SCORE_WARN_POINTS = 2.0
RANK_WARN_PLACES = 3
COVERAGE_WARN_SHARE = 0.05

LABELS = {
    "score": "综合得分",
    "rank": "排名",
    "rectification": "整改率",
    "overdue": "逾期问题",
    "coverage": "走访覆盖率",
    "materials": "台账完成率",
    "points": "点位达标率",
}


def rules_note() -> str:
    """The status rules in one line, for the foot of the board."""
    r, m, p = RULES["rectification"], RULES["materials"], RULES["points"]
    return (
        f"达标线：整改率 ≥ {r.ok_from:.0%}（< {r.warn_from:.0%} 落后）· "
        f"台账 ≥ {m.ok_from:.0%}（< {m.warn_from:.0%} 落后）· "
        f"点位 ≥ {p.ok_from:.0%}（< {p.warn_from:.0%} 落后）· "
        f"得分达本单位目标（差 {SCORE_WARN_POINTS:g} 分内预警）· "
        f"名次进目标（差 {RANK_WARN_PLACES} 名内预警）· "
        f"走访按近 14 天进度推算到下一节点（差 {COVERAGE_WARN_SHARE * 100:.0f} 个百分点内预警）"
    )


def status(value: float | None, ok_from: float | None, warn_from: float | None, *,
           higher_is_better: bool = True) -> str:  # fmt: skip
    """'ok' / 'warn' / 'bad', or 'none' when the value or its bar is missing."""
    if is_missing(value) or ok_from is None or warn_from is None:
        return "none"
    if not higher_is_better:
        value, ok_from, warn_from = -value, -ok_from, -warn_from
    if value >= ok_from - 1e-9:
        return "ok"
    if value >= warn_from - 1e-9:
        return "warn"
    return "bad"


def rule_bars(key: str, target: float | None = None) -> tuple[float | None, float | None]:
    """(ok_from, warn_from) of a number's rule; `target` fills the data-driven rules."""
    rule = RULES[key]
    if rule.ok_from is not None:
        return rule.ok_from, rule.warn_from
    if target is None or is_missing(target):
        return None, None
    margin = {"score": SCORE_WARN_POINTS, "rank": RANK_WARN_PLACES,
              "coverage": COVERAGE_WARN_SHARE}[key]  # fmt: skip
    return (target, target - margin) if rule.higher_is_better else (target, target + margin)


def status_of(key: str, value: float | None, target: float | None = None) -> str:
    """The status of one decisive number under its rule in RULES."""
    ok_from, warn_from = rule_bars(key, target)
    return status(value, ok_from, warn_from, higher_is_better=RULES[key].higher_is_better)


# ── the view-model ─────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class Number:
    """One decisive number as a tile shows it."""

    key: str
    label: str
    value: float | None
    value_text: str
    target: float | None
    target_text: str
    change: float | None  # in the number's own unit (a share for rates)
    change_text: str  # '+1.2 个百分点', '持平', '—'
    change_basis: str  # '较上周' / '较上次测评'
    change_is_good: bool | None  # None = no change or unknown
    status: str  # ok / warn / bad / none
    detail: str = ""  # a second line, e.g. '逾期 3 件（严重 2 件）'
    detail_status: str = "none"

    @property
    def status_label(self) -> str:
        return STATUS[self.status][0]

    @property
    def status_symbol(self) -> str:
        return STATUS[self.status][1]

    @property
    def change_arrow(self) -> str:
        """'up' / 'down' / 'off': the way the shown text moves (a rank 上升 when it falls)."""
        if self.change is None or self.change_is_good is None:
            return "off"
        rising = self.change > 0 if RULES[self.key].higher_is_better else self.change < 0
        return "up" if rising else "down"


@dataclass(frozen=True)
class UnitValue:
    unit_id: int
    name: str
    value: float | None
    value_text: str
    status: str


@dataclass(frozen=True)
class Laggards:
    """The bottom units of the level below the scope by one decisive number."""

    key: str
    label: str
    units: tuple[UnitValue, ...]


@dataclass(frozen=True)
class SeriesPoint:
    day: dt.date
    label: str  # short, for a tick
    value: float | None
    name: str = ""  # in full, e.g. the test's name


@dataclass(frozen=True)
class MeetingView:
    scope_id: int
    scope_name: str
    scope_kind: str
    as_of: dt.date
    generated_at: str | None
    next_test: metrics.NextTest | None
    countdown: str  # one line, as in the header strip
    countdown_big: str  # '距省级测评还有 36 天' / '省级测评进行中'
    countdown_detail: str  # '2026年12月省级测评 · 12-30 开始'
    numbers: tuple[Number, ...]
    child_level: str | None
    child_level_label: str
    children: pd.DataFrame  # child_frame(): every unit of the level below
    laggards: tuple[Laggards, ...]
    flags: tuple[flags.Flag, ...] = ()  # highest priority first
    flags_error: str | None = None
    score_series: tuple[SeriesPoint, ...] = ()
    score_target: float | None = None
    coverage_series: tuple[SeriesPoint, ...] = ()
    coverage_projection: tuple[SeriesPoint, ...] = ()  # as_of → next milestone
    milestones: tuple[metrics.Milestone, ...] = ()
    notes: tuple[str, ...] = field(default=())

    def number(self, key: str) -> Number:
        return next(n for n in self.numbers if n.key == key)

    @property
    def freshness(self) -> str:
        text = f"数据截至 {self.as_of.isoformat()}"
        if self.generated_at:
            text += f" · 更新于 {self.generated_at.replace('T', ' ')[:16]}"
        return text


# ── formatting ─────────────────────────────────────────────────────────────────────────


def _num(value: object) -> float | None:
    if is_missing(value):
        return None
    value = float(value)
    return None if math.isnan(value) else value


def _signed(value: float | None, digits: int, unit: str) -> str:
    if value is None:
        return "—"
    if round(value, digits) == 0:
        return "持平"
    sign = "+" if value > 0 else "−"
    return f"{sign}{abs(value):.{digits}f}{unit}"


def _change(now: float | None, before: float | None, *, higher_is_better: bool = True,
            scale: float = 1.0, digits: int = 1, unit: str = "") -> tuple[float | None, str, bool | None]:  # fmt: skip
    if now is None or before is None:
        return None, "—", None
    delta = now - before
    shown = round(delta * scale, digits)
    good = None if shown == 0 else (shown > 0) == higher_is_better
    return delta, _signed(delta * scale, digits, unit), good


def score_text(value: float | None) -> str:
    return "无数据" if value is None else f"{value:.2f}"


def _first(frame: pd.DataFrame) -> dict:
    return frame.iloc[0].to_dict() if len(frame) else {}


# ── scores and ranks ───────────────────────────────────────────────────────────────────


def _scope_unit(scope_id: int) -> dict:
    units = metrics.units()
    return units[units["unit_id"] == scope_id].iloc[0].to_dict()


def _scored_tests(
    scope_id: int, as_of: dt.date, n: int = SCORE_SERIES_N
) -> list[tuple[dict, float]]:
    """The last n scored overall tests (newest first) in which the scope unit has a score."""
    result = []
    for test in metrics.scored_assessments(as_of).to_dict("records"):
        row = _first(metrics.unit_scores(scope_id, int(test["assessment_id"]), "self"))
        value = _num(row.get("value"))
        if value is not None:
            result.append((test, value))
            if len(result) >= n:
                break
    return result


def _city_ranks(as_of: dt.date, next_test: metrics.NextTest | None) -> list[dict]:
    """Published city ranks (newest first), at the level of the next test when there is one."""
    frame = metrics.assessments()
    ended = pd.to_datetime(frame["end_date"]).dt.date <= as_of
    ranked = frame[ended & frame["city_rank"].notna()]
    if next_test is not None and (ranked["level"] == next_test.level).any():
        ranked = ranked[ranked["level"] == next_test.level]
    return ranked.to_dict("records")


def _sibling_rank(unit: dict, assessment_id: int) -> tuple[int | None, int]:
    """A unit's dense rank among the units of its kind under the same parent, and how many
    are ranked — through `db.peer_rank`, so a unit head who may not see the parent gets
    their own rank and nothing of the peers (README, 访问控制)."""
    if is_missing(unit.get("parent_id")):
        return None, 0
    place = db.peer_rank(
        int(unit["unit_id"]),
        lambda parent_id, kind: metrics.unit_scores(parent_id, assessment_id, kind),
    )
    return place.rank, place.ranked


def _score_numbers(unit: dict, as_of: dt.date, next_test: metrics.NextTest | None,
                   tests: list[tuple[dict, float]]) -> tuple[Number, Number]:  # fmt: skip
    target = _num(unit.get("target_score"))
    value = tests[0][1] if tests else None
    before = tests[1][1] if len(tests) > 1 else None
    change, change_text, good = _change(value, before, digits=2, unit=" 分")
    latest_name = str(tests[0][0]["name"]) if tests else ""
    score = Number(
        "score", LABELS["score"], value, score_text(value),
        target, "目标 —" if target is None else f"目标 {target:.2f} 分",
        change, change_text, "较上次测评", good, status_of("score", value, target),
        detail=latest_name,
    )  # fmt: skip

    if unit["kind"] == "city":
        ranks = _city_ranks(as_of, next_test)
        latest = ranks[0] if ranks else {}
        rank = _num(latest.get("city_rank"))
        of = _num(latest.get("cities_ranked"))
        target_rank = None
        if next_test is not None:
            upcoming = metrics.assessments()
            upcoming = upcoming[upcoming["assessment_id"] == next_test.assessment_id]
            target_rank = _num(_first(upcoming).get("target_rank"))
        if target_rank is None:
            target_rank = _num(latest.get("target_rank"))
        before_rank = _num(ranks[1].get("city_rank")) if len(ranks) > 1 else None
        where = _short_name(latest) if latest else ""
        peers = "个城市"
    else:
        rank = of = before_rank = target_rank = None
        where = ""
        peers = f"个{label(UNIT_KIND, unit['kind'])}"
        if tests:
            r, n = _sibling_rank(unit, int(tests[0][0]["assessment_id"]))
            rank, of = _num(r), float(n) if n else None
            where = _short_name(tests[0][0])
        if len(tests) > 1:
            before_rank = _num(_sibling_rank(unit, int(tests[1][0]["assessment_id"]))[0])
    change, change_text, good = _change(rank, before_rank, higher_is_better=False, digits=0,
                                        unit=" 名")  # fmt: skip
    if change is not None and round(change) != 0:
        change_text = f"{'下降' if change > 0 else '上升'} {abs(int(round(change)))} 名"
    rank_value = rank_text(rank) if rank is not None else "无数据"
    if target_rank is not None:
        target_text = f"目标前 {int(target_rank)}"
        if rank is not None and rank > target_rank:
            target_text += f"，差 {int(rank - target_rank)} 名"
    else:
        target_text = "未设目标名次"
    detail = f"{int(of)} {peers}中 · {where}" if of else where
    rank_number = Number(
        "rank", LABELS["rank"], rank, rank_value, target_rank, target_text,
        change, change_text, "较上次测评", good, status_of("rank", rank, target_rank),
        detail=detail,
    )  # fmt: skip
    return score, rank_number


# ── rates ──────────────────────────────────────────────────────────────────────────────


def _pp(now: float | None, before: float | None) -> tuple[float | None, str, bool | None]:
    return _change(now, before, scale=100, digits=1, unit=" 个百分点")


def _rectification_number(scope_id: int, as_of: dt.date) -> Number:
    now = _first(metrics.rectification(scope_id, as_of))
    before = _first(metrics.rectification(scope_id, as_of - WEEK))
    value = _num(now.get("rectification_rate"))
    change, change_text, good = _pp(value, _num(before.get("rectification_rate")))
    overdue = int(now.get("overdue") or 0)
    severe = int(now.get("overdue_severe") or 0)
    detail = f"逾期 {overdue} 件（严重 {severe} 件）" if overdue else "无逾期问题"
    return Number(
        "rectification", LABELS["rectification"], value, pct(value),
        RULES["rectification"].ok_from, f"目标 ≥ {pct(RULES['rectification'].ok_from, 0)}",
        change, change_text, "较上周", good, status_of("rectification", value),
        detail=detail, detail_status="bad" if severe else ("warn" if overdue else "ok"),
    )  # fmt: skip


def _coverage_number(scope_id: int, as_of: dt.date) -> tuple[Number, metrics.Campaign | None]:
    campaign = metrics.campaign_at(as_of)
    now = _first(metrics.coverage(scope_id, as_of))
    before = _first(metrics.coverage(scope_id, as_of - WEEK))
    value = _num(now.get("coverage_rate"))
    change, change_text, good = _pp(value, _num(before.get("coverage_rate")))
    projections = metrics.coverage_projection(scope_id, as_of)
    milestone = campaign.next_milestone(as_of) if campaign else None
    target = projected = None
    target_text, detail, detail_status = "目标 —", "", "none"
    if milestone is not None and not projections.empty:
        row = projections[projections["due_date"] == milestone.due_date].iloc[0]
        target = milestone.target_share
        projected = _num(row["projected_rate"])
        target_text = f"节点目标 {pct(target, 0)}"
        if projected is None:
            detail = f"{milestone.due_date:%m-%d} 节点 · 走访天数不足，暂不推算"
        else:
            detail = f"按现进度 {milestone.due_date:%m-%d} 达 {pct(projected)}"
        detail_status = status_of("coverage", projected, target)
    elif campaign is None:
        detail = "当前没有走访活动"
    judged = projected if projected is not None else None
    return Number(
        "coverage", LABELS["coverage"], value, pct(value), target, target_text,
        change, change_text, "较上周", good, status_of("coverage", judged, target),
        detail=detail, detail_status=detail_status,
    ), campaign  # fmt: skip


def _rate_number(key: str, frame_now: pd.DataFrame, frame_before: pd.DataFrame, column: str,
                 detail: str = "") -> Number:  # fmt: skip
    value = _num(_first(frame_now).get(column))
    change, change_text, good = _pp(value, _num(_first(frame_before).get(column)))
    rule = RULES[key]
    return Number(
        key, LABELS[key], value, pct(value), rule.ok_from, f"目标 ≥ {pct(rule.ok_from, 0)}",
        change, change_text, "较上周", good, status_of(key, value), detail=detail,
    )  # fmt: skip


def _materials_number(scope_id: int, as_of: dt.date) -> Number:
    now = metrics.materials_completion(scope_id, as_of)
    before = metrics.materials_completion(scope_id, as_of - WEEK)
    row = _first(now)
    zero = int(row.get("lines_at_zero") or 0)
    late = int(row.get("lines_past_deadline") or 0)
    parts = []
    if zero:
        parts.append(f"{zero} 项为零")
    if late:
        parts.append(f"{late} 项已过期限")
    return _rate_number("materials", now, before, "completion_rate", " · ".join(parts))


def _points_number(scope_id: int, as_of: dt.date) -> Number:
    now = metrics.point_compliance(scope_id, as_of)
    before = metrics.point_compliance(scope_id, as_of - WEEK)
    row = _first(now)
    failed = int((row.get("static_checked") or 0) - (row.get("static_passed") or 0))
    detail = f"{failed} 项静态指标未达标" if failed else ""
    return _rate_number("points", now, before, "compliance_rate", detail)


# ── who is behind ──────────────────────────────────────────────────────────────────────


CHILD_COLUMNS = {
    # key → (column of the child frame, formatter of its value)
    "score": ("score", lambda v: f"{v:.2f} 分"),
    "rectification": ("rectification_rate", pct),
    "coverage": ("coverage_rate", pct),
    "materials": ("completion_rate", pct),
    "points": ("compliance_rate", pct),
}


def child_frame(scope_id: int, as_of: dt.date, level: str | None,
                assessment_id: int | None) -> pd.DataFrame:  # fmt: skip
    """One row per unit of `level` under the scope with every decisive number and its status.

    Columns: unit_id, name, sort_order, target_score, score, rectification_rate, overdue,
    overdue_severe, coverage_rate, projected_rate (at the next milestone), completion_rate,
    compliance_rate, and <key>_status for each decisive number (RULES).
    """
    if level is None:
        return pd.DataFrame()
    base = metrics.rectification(scope_id, as_of, level)[
        ["unit_id", "name", "sort_order", "target_score", "rectification_rate", "overdue",
         "overdue_severe"]
    ]  # fmt: skip
    if assessment_id is not None:
        scores = metrics.unit_scores(scope_id, assessment_id, level)[["unit_id", "value"]]
        base = base.merge(scores.rename(columns={"value": "score"}), on="unit_id", how="left")
    else:
        base = base.assign(score=float("nan"))
    cov = metrics.coverage(scope_id, as_of, level)[["unit_id", "coverage_rate"]]
    base = base.merge(cov, on="unit_id", how="left")
    campaign = metrics.campaign_at(as_of)
    milestone = campaign.next_milestone(as_of) if campaign else None
    projections = metrics.coverage_projection(scope_id, as_of, level)
    if milestone is not None and not projections.empty:
        at = projections[projections["due_date"] == milestone.due_date]
        base = base.merge(at[["unit_id", "projected_rate"]], on="unit_id", how="left")
    else:
        base = base.assign(projected_rate=float("nan"))
    mat = metrics.materials_completion(scope_id, as_of, level)[["unit_id", "completion_rate"]]
    pts = metrics.point_compliance(scope_id, as_of, level)[["unit_id", "compliance_rate"]]
    base = base.merge(mat, on="unit_id", how="left").merge(pts, on="unit_id", how="left")
    share = milestone.target_share if milestone else None
    base["score_status"] = [
        status_of("score", _num(v), _num(t))
        for v, t in zip(base["score"], base["target_score"], strict=True)
    ]
    base["rectification_status"] = [status_of("rectification", _num(v))
                                    for v in base["rectification_rate"]]  # fmt: skip
    base["coverage_status"] = [
        status_of("coverage", _num(v), share) for v in base["projected_rate"]
    ]
    base["materials_status"] = [status_of("materials", _num(v)) for v in base["completion_rate"]]
    base["points_status"] = [status_of("points", _num(v)) for v in base["compliance_rate"]]
    # overdue: a unit with a severe problem overdue is 落后, with others overdue 预警
    base["overdue_status"] = [
        "bad" if sev else ("warn" if n else "ok")
        for n, sev in zip(base["overdue"], base["overdue_severe"], strict=True)
    ]
    return base.sort_values(["sort_order", "unit_id"]).reset_index(drop=True)


def _unit_value(row: dict, key: str, value: float | None, text: str) -> UnitValue:
    return UnitValue(int(row["unit_id"]), str(row["name"]), value, text, row[f"{key}_status"])


def laggards(children: pd.DataFrame, n: int = BOTTOM_N) -> tuple[Laggards, ...]:
    """The n worst units by each decisive number (lowest first; most overdue first).

    A unit that meets its bar (达标) is never listed as behind, so a row may be short or
    empty ("全部达标") — naming a unit that is on target would be unfair in a meeting.
    """
    if children.empty:
        return ()
    result = []
    for key, (column, fmt) in CHILD_COLUMNS.items():
        rows = children[children[column].notna() & (children[f"{key}_status"] != "ok")]
        rows = rows.sort_values([column, "sort_order", "unit_id"])
        units = tuple(
            _unit_value(r, key, _num(r[column]), fmt(_num(r[column])))
            for r in rows.head(n).to_dict("records")
        )
        result.append(Laggards(key, LABELS[key], units))
        if key == "rectification":
            rows = children[children["overdue"] > 0].sort_values(
                ["overdue", "overdue_severe", "sort_order", "unit_id"],
                ascending=[False, False, True, True],
            )
            units = tuple(
                _unit_value(r, "overdue", float(r["overdue"]), f"{int(r['overdue'])} 件")
                for r in rows.head(n).to_dict("records")
            )
            result.append(Laggards("overdue", "逾期问题", units))
    return tuple(result)


# ── series ─────────────────────────────────────────────────────────────────────────────


TEST_SHORT = {"national": "国测", "provincial": "省测", "city": "模拟", "self": "自查"}


def _short_name(test: dict, *, tick: bool = False) -> str:
    """'7月省测' for a test row: month of its last day and its level ('7月' for a city mock
    test on a chart tick, where most tests are mocks and width is short)."""
    end = metrics._as_date(pd.Timestamp(test["end_date"]))
    level = str(test["level"])
    return f"{end.month}月" + ("" if tick and level == "city" else TEST_SHORT.get(level, ""))


def _score_series(tests: list[tuple[dict, float]]) -> tuple[SeriesPoint, ...]:
    """Oldest first; labelled short ('7月省测') so a tick fits under a sparkline."""
    points = []
    for test, value in reversed(tests):
        end = metrics._as_date(pd.Timestamp(test["end_date"]))
        points.append(SeriesPoint(end, _short_name(test, tick=True), value, str(test["name"])))
    return tuple(points)


def _coverage_series(scope_id: int, as_of: dt.date, campaign: metrics.Campaign | None
                     ) -> tuple[tuple[SeriesPoint, ...], tuple[SeriesPoint, ...]]:  # fmt: skip
    """Coverage sampled weekly back from as_of to the campaign start, and the projection."""
    if campaign is None or as_of < campaign.start_date:
        return (), ()
    span = (as_of - campaign.start_date).days
    step = max(7, math.ceil(span / (COVERAGE_SERIES_MAX_POINTS - 1) / 7) * 7)
    days = sorted({as_of - dt.timedelta(days=k) for k in range(0, span + 1, step)}
                  | {campaign.start_date})  # fmt: skip
    series = []
    for day in days:
        value = _num(_first(metrics.coverage(scope_id, day)).get("coverage_rate"))
        series.append(SeriesPoint(day, f"{day:%m-%d}", value))
    projection: tuple[SeriesPoint, ...] = ()
    milestone = campaign.next_milestone(as_of)
    if milestone is not None and series and series[-1].value is not None:
        rows = metrics.coverage_projection(scope_id, as_of)
        at = rows[rows["due_date"] == milestone.due_date] if not rows.empty else rows
        projected = _num(at.iloc[0]["projected_rate"]) if len(at) else None
        if projected is not None:
            projection = (
                series[-1],
                SeriesPoint(milestone.due_date, f"{milestone.due_date:%m-%d}", projected),
            )
    return tuple(series), projection


# ── flags ──────────────────────────────────────────────────────────────────────────────


def _top_flags(scope_id: int, as_of: dt.date, n: int) -> tuple[tuple[flags.Flag, ...], str | None]:
    """The red-flag engine's top flags; a broken rules file is reported, not raised."""
    try:
        return tuple(flags.headline_flags(scope_id, as_of, n=n)), None
    except flags.RulesConfigError as exc:
        return (), f"红旗规则配置有误：{exc}"


def _countdown_big(test: metrics.NextTest | None) -> str:
    if test is None:
        return "暂无已排定的测评"
    level = label(ASSESSMENT_LEVEL, test.level)
    return f"{level}进行中" if test.under_way else f"距{level}还有 {test.days_left} 天"


def _countdown_detail(test: metrics.NextTest | None) -> str:
    if test is None:
        return ""
    if test.under_way:
        return f"{test.name} · {test.start_date:%m-%d} 至 {test.end_date:%m-%d}"
    return f"{test.name} · {test.start_date:%m-%d} 开始"


# ── assembly ───────────────────────────────────────────────────────────────────────────


def meeting_view(scope_id: int, as_of: dt.date, *, flags_n: int = FLAGS_N) -> MeetingView:
    """Everything 会议大屏 shows for one unit scope and as-of date."""
    unit = _scope_unit(scope_id)
    next_test = metrics.next_test(as_of)
    tests = _scored_tests(scope_id, as_of)
    score, rank = _score_numbers(unit, as_of, next_test, tests)
    coverage, campaign = _coverage_number(scope_id, as_of)
    numbers = (
        score,
        rank,
        _rectification_number(scope_id, as_of),
        coverage,
        _materials_number(scope_id, as_of),
        _points_number(scope_id, as_of),
    )
    level = filters.child_level(str(unit["kind"]))
    children = child_frame(
        scope_id, as_of, level, int(tests[0][0]["assessment_id"]) if tests else None
    )
    flags, flags_error = _top_flags(scope_id, as_of, flags_n)
    coverage_series, projection = _coverage_series(scope_id, as_of, campaign)
    return MeetingView(
        scope_id=scope_id,
        scope_name=str(unit["name"]),
        scope_kind=str(unit["kind"]),
        as_of=as_of,
        generated_at=db.meta().get("generated_at"),
        next_test=next_test,
        countdown=countdown_text(next_test),
        countdown_big=_countdown_big(next_test),
        countdown_detail=_countdown_detail(next_test),
        numbers=numbers,
        child_level=level,
        child_level_label=label(UNIT_KIND, level) if level else "",
        children=children,
        laggards=laggards(children),
        flags=flags,
        flags_error=flags_error,
        score_series=_score_series(tests),
        score_target=_num(unit.get("target_score")),
        coverage_series=coverage_series,
        coverage_projection=projection,
        milestones=campaign.milestones if campaign else (),
    )


# ── unattended screens: which view, how often ──────────────────────────────────────────

VIEWS = {"overview": "总览", "flags": "红旗清单", "units": "下级单位"}
MIN_SECONDS = 10
MAX_SECONDS = 3600
DEFAULT_EVERY = 60


@dataclass(frozen=True)
class Rotation:
    """The views a screen cycles through and the seconds between reruns (None = never)."""

    views: tuple[str, ...]
    every: int | None


def _seconds(text: str | None) -> int | None:
    try:
        return min(MAX_SECONDS, max(MIN_SECONDS, int(str(text).strip())))
    except (TypeError, ValueError):
        return None


def rotation(rotate: str | None, every: str | None, refresh: str | None) -> Rotation:
    """Read `?rotate=overview,flags&every=60` / `?refresh=300` (anything invalid is ignored).

    rotate: views from VIEWS, in order (default: overview only); every: seconds per view
    when rotating (default 60, clamped to 10…3600); refresh: seconds between reloads of a
    single view (default: none). A rerun re-reads the data, so a new snapshot shows up.
    """
    views = tuple(v for v in (rotate or "").split(",") if v.strip() in VIEWS)
    views = tuple(dict.fromkeys(v.strip() for v in views)) or ("overview",)
    if len(views) > 1:
        return Rotation(views, _seconds(every) or DEFAULT_EVERY)
    return Rotation(views, _seconds(refresh))
