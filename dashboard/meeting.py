"""The meeting view-model: the few numbers a leader reads off the projector, assembled from metrics.

`meeting_view(scope_id, as_of)` returns everything 会议大屏 shows for one unit scope and
date — countdown, the decisive numbers with target, change and status, the units behind,
the top red flags and the two trend series — so the page only lays it out. Every number
comes from `dashboard.metrics` (or `dashboard.flags`); this module only picks, compares
and labels them.

Status (达标 / 预警 / 落后): one rule per metric, defined once in config/status.toml and
applied by dashboard/status.py — the same verdict the rankings, the unit view, 周报 and
the exports give. Where a rule has no fixed target, the bar comes from the data: the
unit's target score, the target rank, the share due at the next visit milestone.
走访覆盖率 is judged on its *projected* value at that milestone (DESIGN §4: behind
schedule = projected < milestone share); the tile shows the current value and the
projection, each named, under that one verdict.

Change: the rates are compared with the same metric at as_of − 7 days (较上周); the score
and the rank only move when a test is scored, so they are compared with the previous
scored test (较上次测评).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from dashboard import db, filters, flags, metrics, rankings, status, unit_numbers
from dashboard.components.header import countdown_text
from dashboard.components.text import is_missing, pct, pct_short, rank_text
from dashboard.labels import ASSESSMENT_LEVEL, STATUS, UNIT_KIND, label

WEEK = dt.timedelta(days=7)
BOTTOM_N = 3
FLAGS_N = 8
SCORE_SERIES_N = 6  # tests on the composite sparkline
COVERAGE_SERIES_MAX_POINTS = 12


# Each decisive number's status rule lives once, in config/status.toml (dashboard/status.py).
STATUS_KEY = {
    "score": "score",
    "rank": "rank",
    "rectification": "rectification_rate",
    "overdue": "overdue",
    "coverage": "coverage_rate",
    "materials": "completion_rate",
    "points": "compliance_rate",
}

LABELS = {
    "score": "综合得分",
    "rank": "排名",
    "rectification": "整改率",
    "overdue": "逾期问题",
    "coverage": "走访覆盖率",
    "materials": "台账完成率",
    "points": "点位达标率",
}


def rule(key: str) -> status.StatusRule:
    """The status rule (config/status.toml) of one decisive number."""
    return status.rule(STATUS_KEY[key])


def rules_note() -> str:
    """The status rules in one line, for the foot of the board."""
    r, m, p = rule("rectification"), rule("materials"), rule("points")
    s, k, c = rule("score"), rule("rank"), rule("coverage")
    return (
        f"达标线：整改率 ≥ {pct_short(r.target)}（< {pct_short(r.floor)} 落后）· "
        f"台账 ≥ {pct_short(m.target)}（< {pct_short(m.floor)} 落后）· "
        f"点位 ≥ {pct_short(p.target)}（< {pct_short(p.floor)} 落后）· "
        f"得分达本单位目标（差 {s.warn_margin:g} 分内预警）· "
        f"名次进目标（差 {k.warn_margin:g} 名内预警）· "
        f"走访按近 14 天进度推算到下一节点（差 {c.warn_margin * 100:g} 个百分点内预警）"
    )


def status_of(key: str, value: float | None, target: float | None = None) -> str:
    """The status of one decisive number under its rule in config/status.toml."""
    return rule(key).judge(value, target)


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
        rising = self.change > 0 if rule(self.key).higher_is_better else self.change < 0
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
    # the change between the values as shown, so 96.9% → 97.0% reads +0.1, never 持平
    shown = round(round(now * scale, digits) - round(before * scale, digits), digits)
    delta = shown / scale
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
    tests = metrics.scored_assessments(as_of).to_dict("records")
    values = metrics.own_scores(scope_id, [int(t["assessment_id"]) for t in tests])
    for test, value in zip(tests, map(_num, values), strict=True):
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


def _sibling_rank(unit: dict, assessment_id: int, previous_id: int | None = None,
                  ) -> tuple[int | None, int, bool, float | None]:  # fmt: skip
    """A unit's place among the units of its kind under the same parent (1, 1, 3), how many
    have a place, whether another holds the same place (并列), and its place in an earlier
    test (`previous_id`, for 较上次测评) — through one `db.peer_rank`, so a unit head who
    may not see the parent gets their own places and nothing of the peers (README, 访问控制)."""
    if is_missing(unit.get("parent_id")):
        return None, 0, False, None

    def ranking(parent_id: int, kind: str) -> pd.DataFrame:
        frame = metrics.score_places(parent_id, assessment_id, kind)
        frame = frame.assign(tied=metrics.tied(frame["rank"]))
        if previous_id is not None:
            before = metrics.score_places(parent_id, previous_id, kind)
            frame["previous_rank"] = frame["unit_id"].map(_by_unit(before, "rank"))
        return frame

    place = db.peer_rank(int(unit["unit_id"]), ranking)
    previous = _num(place.row.get("previous_rank")) if previous_id is not None else None
    return place.rank, place.ranked, bool(place.row.get("tied", False)), previous


def _score_numbers(unit: dict, as_of: dt.date, next_test: metrics.NextTest | None,
                   tests: list[tuple[dict, float]]) -> tuple[Number, Number]:  # fmt: skip
    # the unit's target score, or its nearest ancestor's (as the rankings judge it)
    target = _num(rankings.inherited_target_scores().get(int(unit["unit_id"])))
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
        tie = False
    else:
        rank = of = before_rank = target_rank = None
        where = ""
        tie = False
        peers = f"个{label(UNIT_KIND, unit['kind'])}"
        if tests:
            previous = int(tests[1][0]["assessment_id"]) if len(tests) > 1 else None
            r, n, tie, before_rank = _sibling_rank(unit, int(tests[0][0]["assessment_id"]),
                                                   previous)  # fmt: skip
            rank, of = _num(r), float(n) if n else None
            where = _short_name(tests[0][0])
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
    detail = f"{'并列 · ' if tie else ''}共 {int(of)} {peers} · {where}" if of else where
    rank_number = Number(
        "rank", LABELS["rank"], rank, rank_value, target_rank, target_text,
        change, change_text, "较上次测评", good, status_of("rank", rank, target_rank),
        detail=detail,
    )  # fmt: skip
    return score, rank_number


# ── rates ──────────────────────────────────────────────────────────────────────────────


def _pp(now: float | None, before: float | None) -> tuple[float | None, str, bool | None]:
    return _change(now, before, scale=100, digits=1, unit=" 个百分点")


def _rectification_number(now: dict, before: dict) -> Number:
    value = _num(now.get("rectification_rate"))
    change, change_text, good = _pp(value, _num(before.get("rectification_rate")))
    overdue = int(now.get("overdue") or 0)
    severe = int(now.get("overdue_severe") or 0)
    detail = f"逾期 {overdue} 件（严重 {severe} 件）" if overdue else "无逾期问题"
    return Number(
        "rectification", LABELS["rectification"], value, pct(value),
        rule("rectification").target, f"目标 ≥ {pct_short(rule('rectification').target)}",
        change, change_text, "较上周", good, status_of("rectification", value),
        detail=detail, detail_status=status_of("overdue", float(overdue)),
    )  # fmt: skip


def _projected(row: dict, as_of: dt.date, milestone: metrics.Milestone) -> float | None:
    """Projected coverage at `milestone` of one row of metrics.coverage (DESIGN §4, by
    metrics.project_coverage: current + pace × days, capped at 100%)."""
    (projection,) = metrics.project_coverage(
        row["covered"], row["target"], row["pace_per_day"], as_of, (milestone,),
        history_days=row["pace_window_days"],
    )  # fmt: skip
    return projection.projected_rate


def _coverage_number(now: dict, before: dict, as_of: dt.date,
                     campaign: metrics.Campaign | None) -> tuple[Number, float | None]:  # fmt: skip
    """The coverage tile, and the scope's projection at the next milestone (None: none)."""
    value = _num(now.get("coverage_rate"))
    change, change_text, good = _pp(value, _num(before.get("coverage_rate")))
    milestone = campaign.next_milestone(as_of) if campaign else None
    target = projected = None
    target_text, detail = "目标 —", ""
    if milestone is not None and now:
        target = milestone.target_share
        projected = _num(_projected(now, as_of, milestone))
        target_text = f"节点目标 {pct_short(target)}"
        detail = coverage_text(None, projected, milestone.due_date)
    elif campaign is not None and campaign.milestones:
        # every milestone has passed: the current value against the last one's share
        target = campaign.milestones[-1].target_share
        projected = value
        target_text = f"末节点目标 {pct_short(target)}"
    elif campaign is None:
        detail = "当前没有走访活动"
    verdict = status_of("coverage", projected, target)
    return Number(
        "coverage", LABELS["coverage"], value, pct(value), target, target_text,
        change, change_text, "较上周", good, verdict,
        detail=detail, detail_status=verdict if detail else "none",
    ), (projected if milestone is not None else None)  # fmt: skip


def coverage_text(current: float | None, projected: float | None, due: dt.date | None) -> str:
    """Both bases of 走访覆盖率, each named: '当前 59.8% · 预计 12-31 达 82.5%' (the verdict
    is the projection's, config/status.toml); either part is left out when not asked for."""
    parts = [] if current is None else [f"当前 {pct(current)}"]
    if due is not None:
        if projected is None:
            parts.append(f"{due:%m-%d} 节点 · 走访天数不足，暂不推算")
        else:
            parts.append(f"预计 {due:%m-%d} 达 {pct(projected)}")
    return " · ".join(parts)


def _rate_number(key: str, now: dict, before: dict, column: str, detail: str = "") -> Number:
    value = _num(now.get(column))
    change, change_text, good = _pp(value, _num(before.get(column)))
    target = rule(key).target
    return Number(
        key, LABELS[key], value, pct(value), target, f"目标 ≥ {pct_short(target)}",
        change, change_text, "较上周", good, status_of(key, value), detail=detail,
    )  # fmt: skip


def _materials_number(now: dict, before: dict) -> Number:
    zero = int(now.get("lines_at_zero") or 0)
    late = int(now.get("lines_past_deadline") or 0)
    parts = []
    if zero:
        parts.append(f"{zero} 项为 0%")
    if late:
        parts.append(f"{late} 项已过截止")
    return _rate_number("materials", now, before, "completion_rate", " · ".join(parts))


def _points_number(now: dict, before: dict) -> Number:
    failed = int((now.get("static_checked") or 0) - (now.get("static_passed") or 0))
    detail = f"{failed} 项静态指标未达标" if failed else ""
    return _rate_number("points", now, before, "compliance_rate", detail)


# ── who is behind ──────────────────────────────────────────────────────────────────────


CHILD_COLUMNS = {
    # key → (column of the child frame the unit is judged and ordered on, formatter)
    "score": ("score", lambda v: f"{v:.2f} 分"),
    "rectification": ("rectification_rate", pct),
    "coverage": ("projected_rate", pct),
    "materials": ("completion_rate", pct),
    "points": ("compliance_rate", pct),
}


def _by_unit(frame: pd.DataFrame, column: str) -> pd.Series:
    """One column of a metric frame keyed by unit_id (for `Series.map`: a left join)."""
    return pd.Series(frame[column].array, index=pd.Index(frame["unit_id"].array))


def child_frame(scope_id: int, as_of: dt.date, level: str | None,
                assessment_id: int | None) -> pd.DataFrame:  # fmt: skip
    """One row per unit of `level` under the scope with every decisive number and its status.

    Columns: unit_id, name, sort_order, target_score, score, rectification_rate, overdue,
    overdue_severe, coverage_rate, projected_rate (at the next milestone), completion_rate,
    compliance_rate, coverage_text (当前 … · 预计 … 达 …) and <key>_status for each decisive
    number (config/status.toml; coverage judged on projected_rate).
    """
    if level is None:
        return pd.DataFrame()

    def scores(units: pd.Series) -> pd.Series:
        if assessment_id is None:
            return pd.Series(float("nan"), index=units.index)
        return units.map(metrics.score_values(scope_id, assessment_id, level))

    store = unit_numbers.served_store((as_of,))
    if store is not None:
        db.require_scope(scope_id)
        col, share, due = _child_numbers(store.ranked(scope_id, level), as_of, scores)
    else:
        col, share, due = _child_numbers_live(scope_id, as_of, level, scores)
    return _judged_children(col, share, due)


def _child_numbers(
    unit_ids: np.ndarray, as_of: dt.date, scores: Callable[[pd.Series], pd.Series]
) -> tuple[dict, float | None, dt.date | None]:
    """child_frame's numbers of the units `unit_ids` at a served day, picked by position
    from every unit's numbers (dashboard/unit_numbers.py): the rows, columns and dtypes the
    metric functions give them (_child_numbers_live), without a metric frame per level."""
    at = unit_numbers.positions(unit_ids)
    rect = unit_numbers.numbers("rectification", as_of)
    taken = at[rect.present[at]]  # the units 整改率's counts list, in the units' order
    names = metrics._name_table()[0]
    col: dict = {
        c: names[c].array.take(taken) for c in ("unit_id", "name", "sort_order", "target_score")
    }
    for c in ("rectification_rate", "overdue", "overdue_severe"):
        col[c] = rect.take(c, taken)
    col = {c: pd.Series(v) for c, v in col.items()}
    col["score"] = scores(col["unit_id"])
    cov = unit_numbers.numbers("coverage", as_of)
    col["coverage_rate"] = pd.Series(cov.column("coverage_rate")[taken])
    campaign = metrics.campaign_at(as_of)
    milestone = campaign.next_milestone(as_of) if campaign else None
    if milestone is not None and cov.present[at].any():
        col["projected_rate"] = pd.Series(
            metrics.projected_rates(  # _projected for every child at once
                cov.column("covered")[taken],
                cov.column("target")[taken],
                cov.column("pace_per_day")[taken],
                (milestone.due_date - as_of).days,
                cov.column("pace_window_days")[taken],
            )
        )
        share, due = milestone.target_share, milestone.due_date
    elif campaign is not None and campaign.milestones:
        col["projected_rate"] = col["coverage_rate"]
        share, due = campaign.milestones[-1].target_share, None
    else:
        col["projected_rate"] = pd.Series(np.full(len(taken), np.nan))
        share, due = None, None
    col["completion_rate"] = pd.Series(
        unit_numbers.numbers("materials", as_of).column("completion_rate")[taken]
    )
    col["compliance_rate"] = pd.Series(
        unit_numbers.numbers("points", as_of).column("compliance_rate")[taken]
    )
    return col, share, due


def _child_numbers_live(scope_id: int, as_of: dt.date, level: str,
                        scores: Callable[[pd.Series], pd.Series],
                        ) -> tuple[dict, float | None, dt.date | None]:  # fmt: skip
    """child_frame's numbers at any day: the metric functions at the level (a replayed
    date), the units those of 整改率's frame and the rest joined by unit_id."""
    rect = metrics.rectification(scope_id, as_of, level)
    # the columns gathered first and framed once (each column added to a frame costs)
    col: dict = {
        c: rect[c]
        for c in ("unit_id", "name", "sort_order", "target_score", "rectification_rate",
                  "overdue", "overdue_severe")
    }  # fmt: skip
    units = rect["unit_id"]
    col["score"] = scores(units)
    # the other metrics by unit_id only (the names are rect's): metrics.over_days
    cov = metrics.over_days(metrics.coverage, scope_id, [as_of], level)
    col["coverage_rate"] = units.map(_by_unit(cov, "coverage_rate"))
    campaign = metrics.campaign_at(as_of)
    milestone = campaign.next_milestone(as_of) if campaign else None
    if milestone is not None and not cov.empty:
        projected = pd.Series(
            metrics.projected_rates(  # _projected for every child at once
                cov["covered"].to_numpy(dtype="float64", na_value=np.nan),
                cov["target"].to_numpy(dtype="float64", na_value=np.nan),
                cov["pace_per_day"].to_numpy(dtype="float64", na_value=np.nan),
                (milestone.due_date - as_of).days,
                cov["pace_window_days"].to_numpy(dtype="float64", na_value=np.nan),
            ),
            index=cov["unit_id"].to_numpy(),
        )
        col["projected_rate"] = units.map(projected)
        share, due = milestone.target_share, milestone.due_date
    elif campaign is not None and campaign.milestones:
        # every milestone has passed: judged on the current value against the last share
        col["projected_rate"] = col["coverage_rate"]
        share, due = campaign.milestones[-1].target_share, None
    else:
        col["projected_rate"] = pd.Series(float("nan"), index=units.index)
        share, due = None, None
    mat = metrics.over_days(metrics.materials_completion, scope_id, [as_of], level)
    col["completion_rate"] = units.map(_by_unit(mat, "completion_rate"))
    pts = metrics.over_days(metrics.point_compliance, scope_id, [as_of], level)
    col["compliance_rate"] = units.map(_by_unit(pts, "compliance_rate"))
    return col, share, due


def _judged_children(col: dict, share: float | None, due: dt.date | None) -> pd.DataFrame:
    """The child frame of its numbers: coverage_text, the inherited target score and each
    decisive number's status, one row per unit in the units' order."""
    units = col["unit_id"]
    col["coverage_text"] = [
        "无数据" if is_missing(c) else coverage_text(_num(c), _num(p), due)
        for c, p in zip(col["coverage_rate"], col["projected_rate"], strict=True)
    ]
    col["target_score"] = units.map(rankings.inherited_target_scores())

    def judged(key: str, column: str, targets: list | None = None) -> list[str]:
        return rule(key).judge_all([_num(v) for v in col[column]], targets)

    col["score_status"] = judged("score", "score", [_num(t) for t in col["target_score"]])
    col["rectification_status"] = judged("rectification", "rectification_rate")
    col["coverage_status"] = judged("coverage", "projected_rate", [share] * len(units))
    col["materials_status"] = judged("materials", "completion_rate")
    col["points_status"] = judged("points", "compliance_rate")
    col["overdue_status"] = judged("overdue", "overdue")
    frame = pd.DataFrame(col)
    return frame.sort_values(["sort_order", "unit_id"]).reset_index(drop=True)


def _unit_value(row: dict, key: str, value: float | None, text: str) -> UnitValue:
    return UnitValue(int(row["unit_id"]), str(row["name"]), value, text, row[f"{key}_status"])


def laggards(children: pd.DataFrame, n: int = BOTTOM_N) -> tuple[Laggards, ...]:
    """The n worst units by each decisive number (lowest first; most overdue first).

    A unit that meets its bar (达标) is never listed as behind, so a row may be short or
    empty ("全部达标") — naming a unit that is on target would be unfair in a meeting.
    """
    if children.empty:
        return ()
    records = children.to_dict("records")  # a few dozen rows: plain sorts, no frame per key
    result = []
    for key, (column, fmt) in CHILD_COLUMNS.items():
        rows = sorted(
            (r for r in records if not pd.isna(r[column]) and r[f"{key}_status"] != "ok"),
            key=lambda r, c=column: (r[c], r["sort_order"], r["unit_id"]),
        )
        units = tuple(
            _unit_value(
                r, key, _num(r[column]),
                f"预计 {fmt(_num(r[column]))}" if key == "coverage" else fmt(_num(r[column])),
            )
            for r in rows[:n]
        )  # fmt: skip
        result.append(Laggards(key, LABELS[key], units))
        if key == "rectification":
            rows = sorted(
                (r for r in records if r["overdue"] > 0),
                key=lambda r: (-r["overdue"], -r["overdue_severe"], r["sort_order"], r["unit_id"]),
            )
            units = tuple(
                _unit_value(r, "overdue", float(r["overdue"]), f"{int(r['overdue'])} 件")
                for r in rows[:n]
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


def _series_days(as_of: dt.date, campaign: metrics.Campaign | None) -> list[dt.date]:
    """The coverage series' days: weekly back from as_of to the campaign start (at most
    COVERAGE_SERIES_MAX_POINTS, a multiple of 7 days apart), and the start itself."""
    if campaign is None or as_of < campaign.start_date:
        return []
    span = (as_of - campaign.start_date).days
    step = max(7, math.ceil(span / (COVERAGE_SERIES_MAX_POINTS - 1) / 7) * 7)
    return sorted({as_of - dt.timedelta(days=k) for k in range(0, span + 1, step)}
                  | {campaign.start_date})  # fmt: skip


def _coverage_series(as_of: dt.date, campaign: metrics.Campaign | None,
                     rows: dict[dt.date, dict], projected: float | None,
                     ) -> tuple[tuple[SeriesPoint, ...], tuple[SeriesPoint, ...]]:  # fmt: skip
    """Coverage at the series days (`rows`: the scope's coverage rows by day), and the
    projection from as_of to the next milestone (`projected`, the tile's)."""
    days = _series_days(as_of, campaign)
    if not days:
        return (), ()
    series = [
        SeriesPoint(day, f"{day:%m-%d}", _num(rows.get(day, {}).get("coverage_rate")))
        for day in days
    ]
    projection: tuple[SeriesPoint, ...] = ()
    milestone = campaign.next_milestone(as_of) if campaign else None
    if milestone is not None and series and series[-1].value is not None and projected is not None:
        projection = (
            series[-1],
            SeriesPoint(milestone.due_date, f"{milestone.due_date:%m-%d}", projected),
        )
    return tuple(series), projection


# ── flags ──────────────────────────────────────────────────────────────────────────────


def _start_flags(scope_id: int, as_of: dt.date) -> None:
    """At a replayed date, start the red-flag rules' queries (flags.start_live; a function
    of its own because meeting_view's `flags` is its list of flags)."""
    flags.start_live(scope_id, as_of)


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
    # at a replayed date the red-flag rules' queries run while the numbers are computed
    _start_flags(scope_id, as_of)
    next_test = metrics.next_test(as_of)
    tests = _scored_tests(scope_id, as_of)
    score, rank = _score_numbers(unit, as_of, next_test, tests)
    campaign = metrics.campaign_at(as_of)
    days = [as_of, as_of - WEEK]  # the tiles' rates now and 较上周
    db.require_scope(scope_id)  # the rows below may be picked from every unit's numbers
    own = unit_numbers.own_rows_or_live
    rect = own("rectification", scope_id, days)
    cov = own("coverage", scope_id, days + _series_days(as_of, campaign))
    mat = own("materials", scope_id, days)
    pts = own("points", scope_id, days)
    coverage, projected = _coverage_number(
        cov.get(days[0], {}), cov.get(days[1], {}), as_of, campaign
    )
    numbers = (
        score,
        rank,
        _rectification_number(rect.get(days[0], {}), rect.get(days[1], {})),
        coverage,
        _materials_number(mat.get(days[0], {}), mat.get(days[1], {})),
        _points_number(pts.get(days[0], {}), pts.get(days[1], {})),
    )
    level = filters.child_level(str(unit["kind"]))
    children = child_frame(
        scope_id, as_of, level, int(tests[0][0]["assessment_id"]) if tests else None
    )
    flags, flags_error = _top_flags(scope_id, as_of, flags_n)
    coverage_series, projection = _coverage_series(as_of, campaign, cov, projected)
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
        score_target=score.target,
        coverage_series=coverage_series,
        coverage_projection=projection,
        milestones=campaign.milestones if campaign else (),
    )


# ── drill-down on the projector ────────────────────────────────────────────────────────

SCOPE_KINDS = ("province", "city", "district", "street", "group", "department")
BACK_PARAM = "back"


@db.per_snapshot
def _kind_and_parent() -> dict[int, tuple[str, int | None]]:
    """unit_id → (kind, parent_id) of every unit (the unit list, read once per snapshot)."""
    units = metrics.units()
    return {
        int(u): (str(k), None if pd.isna(p) else int(p))
        for u, k, p in zip(units["unit_id"], units["kind"], units["parent_id"], strict=True)
    }


def scope_of(unit_id: int) -> int | None:
    """The unit a click on `unit_id` opens: itself when it can be a scope (a district,
    street, department …), else its nearest ancestor that can (a community → its street)."""
    tree = _kind_and_parent()
    current: object = unit_id
    for _ in range(20):
        if current is None or is_missing(current) or int(current) not in tree:
            return None
        kind, parent = tree[int(current)]
        if kind in SCOPE_KINDS:
            return int(current)
        current = parent
    return None


def drill_units(view: MeetingView) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The units a leader can open from the board: the laggards (worst first, each once)
    and the units of the top red flags, as scopes other than the board's own."""
    lag = [u.unit_id for group in view.laggards for u in group.units]
    flagged = [f.unit_id for f in view.flags]

    def scopes(ids: list[int]) -> tuple[int, ...]:
        out = (scope_of(int(u)) for u in ids)
        return tuple(dict.fromkeys(u for u in out if u is not None and u != view.scope_id))

    return scopes(lag), scopes(flagged)


def back_stack(text: str | None) -> tuple[int, ...]:
    """`?back=1,2`: the scopes drilled through, oldest first (junk is dropped)."""
    out = []
    for part in (text or "").split(","):
        part = part.strip()
        if part.isdigit():
            out.append(int(part))
    return tuple(out[-10:])


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
