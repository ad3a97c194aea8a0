"""Trend series for the 趋势 page: scores over tests, survey waves, rectification period by
period and the visit-coverage burn-up with its projection.

Every series is computed as of a date (nothing after `as_of` is read) for a unit scope.
Rates come from counts (sum of numerators ÷ sum of denominators per period, through
`metrics.ratio`), and a missing value stays missing (None/NaN, drawn as a gap), never zero.

Periods: 'day' = each day; 'week' = ISO weeks, Monday to Sunday, so a week ends on Sunday;
'month' = calendar months. A period that is still running at `as_of` ends at `as_of` and is
marked `partial`. A value "at a period end" is the metric evaluated as of that day.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from dashboard import db, metrics, status, unit_numbers
from dashboard.components.text import points, signed
from dashboard.db import per_snapshot, query

GRAINS = ("day", "week", "month")
# Look-back spans offered for the rectification and score trends, in days (None = all data).
SPANS: dict[str, int | None] = {
    "1m": 31,
    "3m": 92,
    "6m": 183,
    "1y": 365,
    "2y": 730,
    "all": None,
}
MAX_DAILY_POINTS = 92  # a day-by-day line longer than ~3 months is unreadable
EARLIEST = dt.date(2000, 1, 1)
SCORE_CATEGORIES = ("field", "materials", "questionnaire")
SCORE_MEASURES = ("overall", *SCORE_CATEGORIES)
SURVEY_CATEGORIES = ("phone", "questionnaire")
YEAR_AGO_WINDOW_DAYS = 45  # 同比: last year's wave started within this many days of a year before
# 整改率 ≥ the red (honour) list line, < the black list line: status lines of 整改率 in
# config/status.toml (its target and 落后 line), not copies.
RED_LIST_RATE = status.rule("rectification_rate").target
BLACK_LIST_RATE = status.rule("rectification_rate").floor


# ── periods ─────────────────────────────────────────────────────────────────────────────


def _check_grain(grain: str) -> str:
    if grain not in GRAINS:
        raise ValueError(f"unknown grain {grain!r}")
    return grain


def period_start(day: dt.date, grain: str) -> dt.date:
    """The first day of the period that contains `day` (Monday for ISO weeks)."""
    _check_grain(grain)
    if grain == "week":
        return day - dt.timedelta(days=day.isoweekday() - 1)
    if grain == "month":
        return day.replace(day=1)
    return day


def period_end(day: dt.date, grain: str) -> dt.date:
    """The last day of the period that contains `day` (Sunday for ISO weeks)."""
    _check_grain(grain)
    if grain == "week":
        return day + dt.timedelta(days=7 - day.isoweekday())
    if grain == "month":
        following = (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        return following - dt.timedelta(days=1)
    return day


def period_ends(start: dt.date, as_of: dt.date, grain: str) -> list[dt.date]:
    """The ends of the periods from the one holding `start` to the one holding `as_of`;
    the running period ends at as_of."""
    ends: list[dt.date] = []
    day = start
    while day <= as_of:
        end = period_end(day, grain)
        ends.append(min(end, as_of))
        day = end + dt.timedelta(days=1)
    return ends


def span_start(as_of: dt.date, span: str, grain: str = "day") -> dt.date:
    """The first day shown for a look-back span, moved back to the start of its period so
    the first period is whole; day-by-day lines are limited to MAX_DAILY_POINTS days."""
    if span not in SPANS:
        raise ValueError(f"unknown span {span!r}")
    days = SPANS[span]
    if grain == "day":
        days = min(days or MAX_DAILY_POINTS, MAX_DAILY_POINTS)
    if days is None:
        return EARLIEST
    return period_start(as_of - dt.timedelta(days=days - 1), grain)


def _period_label(start: dt.date, end: dt.date, grain: str, partial: bool) -> str:
    if grain == "day":
        return end.isoformat()
    if grain == "week":
        year, week, _ = start.isocalendar()
        text = f"{year}年第{week}周（{start:%m-%d}至{end:%m-%d}）"
    else:
        text = f"{start.year}年{start.month}月"
    return text + ("，截至当日" if partial else "")


def _frame_of_periods(
    ends: list[dt.date], grain: str, as_of: dt.date, **columns: object
) -> pd.DataFrame:
    """One row per period: start, end, partial, label, then `columns` (built in one go)."""
    starts = [period_start(e, grain) for e in ends]
    partial = [e == as_of and period_end(e, grain) != e for e in ends]
    if grain == "day":
        labels = [e.isoformat() for e in ends]
    else:
        labels = [
            _period_label(s, e, grain, p) for s, e, p in zip(starts, ends, partial, strict=True)
        ]
    return pd.DataFrame(
        {
            "period_start": starts,
            "period_end": ends,
            "partial": np.array(partial, dtype=bool),
            "label": pd.array(labels, dtype="str"),
            **columns,
        }
    )


def _rate(numerators: object, denominators: object) -> np.ndarray:
    """metrics.ratio element by element: numerator ÷ denominator, NaN (a gap) where there
    is nothing to divide by (a zero or missing denominator)."""
    n = np.asarray(numerators, dtype="float64")
    d = np.asarray(denominators, dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        out = n / d
    out[(d == 0) | np.isnan(d)] = np.nan
    return out


def _at_days(days: np.ndarray, running: np.ndarray, targets: list[dt.date]) -> np.ndarray:
    """A running total (rows in day order) as of each target day: its value on the last
    day on or before it; 0 before the first day."""
    at = np.searchsorted(days, np.array(targets, dtype="datetime64[D]"), side="right") - 1
    out = np.zeros(len(targets), dtype=running.dtype)
    out[at >= 0] = running[at[at >= 0]]
    return out


def visible(unit_ids: list[int]) -> list[int]:
    """The ids the signed-in user may see (all of them when access control is off)."""
    allowed = db.allowed_unit_ids(db.current_access())
    return [int(u) for u in unit_ids if allowed is None or int(u) in allowed]


def warm(as_of: dt.date) -> None:
    """Every unit's rows the page slices at the default date — score rows, rectification
    days, visit days, phone survey waves (the questionnaire's when first opened) — and
    the leaf indicators, read ahead of the first 趋势 page (startup.warm_up; about half a
    second at province scale, which the first page would otherwise wait for)."""
    _leaves()
    _tree()
    _unit_arrays()
    _score_rows()
    if unit_numbers.served_store([as_of], ("rectification",)) is not None:
        _survey_rows("phone", as_of)  # as survey_trend reads them
    if _every_units_day(as_of, "rectification"):
        _every_rectification(as_of, _rectification_since(as_of))
    campaign = metrics.campaign_at(as_of)
    if campaign is not None and _every_units_day(as_of, "coverage"):
        _every_visit_day(as_of, campaign.campaign_id)


def _every_units_day(as_of: dt.date, source: str) -> bool:
    """True when a series at as_of is a slice of every unit's rows: as_of is the default
    date (filters.default_as_of; every unit's rows are held for that day only, not for
    each day someone opens) and the served rows hold `source` there (a new day's rows are
    computed in the background: until then, the queries)."""
    from dashboard import filters

    return (
        as_of == filters.default_as_of()
        and unit_numbers.served_store([as_of], (source,)) is not None
    )


# ── rectification ───────────────────────────────────────────────────────────────────────


def rectification_series(
    scope_id: int, as_of: dt.date, grain: str = "week", span: str = "3m"
) -> pd.DataFrame:
    """整改率, 按期整改率 and 逾期 at each period end (= metrics.rectification as of that day),
    with problems found and rectified within each period, for the problems of `scope_id`
    (a scope or a department: 属地 or 责任单位 in its subtree)."""
    first_day = span_start(as_of, span, grain)
    days, counts = _rectification_rows(scope_id, as_of, first_day)
    if span == "all":  # from the first problem found (or as_of when there is none)
        # (a problem found before first_day makes it first_day itself: the summed row of
        # the days before it is dated the day before)
        found_days = days[counts["found"] > 0]
        first_found = found_days[0].item() if len(found_days) else as_of
        first_day = period_start(max(first_day, first_found), grain)
    ends = period_ends(first_day, as_of, grain)
    # the day before the first period gives its "found in period" by difference
    previous_ends = [first_day - dt.timedelta(days=1), *ends[:-1]]
    # each count as of a day: the running sum of what entered it up to that day
    running = {c: np.cumsum(v) for c, v in counts.items()}
    running["rectified_on_time"] = running.pop("on_time")
    running["overdue"] = running.pop("past_deadline") - running.pop("past_deadline_rectified")
    columns = {
        c: _at_days(days, running[c], ends)
        for c in ("found", "rectified", "due", "rectified_on_time", "overdue")
    }
    before = {c: _at_days(days, running[c], previous_ends) for c in ("found", "rectified")}
    columns["found_in_period"] = columns["found"] - before["found"]
    columns["rectified_in_period"] = columns["rectified"] - before["rectified"]
    columns["rectification_rate"] = _rate(columns["rectified"], columns["found"])
    columns["on_time_rate"] = _rate(columns["rectified_on_time"], columns["due"])
    return _frame_of_periods(ends, grain, as_of, **columns)


RECTIFICATION_COUNTS = (
    "found", "rectified", "due", "on_time", "past_deadline", "past_deadline_rectified"
)  # fmt: skip


def _rectification_rows(
    scope_id: int, as_of: dt.date, since: dt.date
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """query("trend_rectification", scope_id=…, as_of=…, since=…)'s days (datetime64[D],
    in order) and counts (int64): at the default date the scope's slice of every unit's
    rows (_every_rectification) when they start early enough, else the query."""
    if _rectification_since(as_of) <= since and _every_units_day(as_of, "rectification"):
        db.require_scope(scope_id)  # as the query checks it
        return _every_rectification(as_of, _rectification_since(as_of)).of(scope_id)
    daily = query("trend_rectification", scope_id=scope_id, as_of=as_of, since=since)
    return daily["day"].to_numpy(dtype="datetime64[D]"), {
        c: daily[c].to_numpy("int64") for c in RECTIFICATION_COUNTS
    }


def _rectification_since(as_of: dt.date) -> dt.date:
    """The first day of every unit's rectification rows kept at the default date: the
    earliest first day of the page's default span (3 months) at any grain, so the page's
    first view and any shorter or later one are slices."""
    return min(span_start(as_of, "3m", grain) for grain in GRAINS)


@dataclass(frozen=True)
class _EveryRows:
    """A daily query's rows of every unit (ordered by unit, then day), column by column,
    and each unit's row range."""

    bounds: dict[int, tuple[int, int]]
    day: np.ndarray  # days since 1970-01-01 (int32: half the memory of datetime64)
    counts: dict[str, np.ndarray]  # int32 when that holds them (handed out as int64)

    def of(self, unit_id: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """The unit's days (datetime64[D], in order) and counts (int64), as the query for
        that unit alone gives them; none for a unit without rows. No access check (the
        caller's)."""
        first, last = self.bounds.get(int(unit_id), (0, 0))
        return self.day[first:last].astype("datetime64[D]"), {
            c: values[first:last].astype("int64") for c, values in self.counts.items()
        }


def _every_rows(columns: dict[str, np.ndarray], names: tuple[str, ...]) -> _EveryRows:
    counts = {}
    for name in names:
        values = np.asarray(columns.pop(name))
        small = not len(values) or np.abs(values).max() < np.iinfo(np.int32).max
        counts[name] = values.astype("int32") if small else values
    return _EveryRows(
        bounds=_unit_bounds(np.asarray(columns.pop("unit_id"))),
        day=np.asarray(columns.pop("day")).astype("datetime64[D]").astype("int32"),
        counts=counts,
    )


def _every_rectification(as_of: dt.date, since: dt.date) -> _EveryRows:
    return _every_rectification_held(db.file_identity(), as_of, since)  # type: ignore[return-value]


@db.snapshot_cache(max_entries=2)  # the default date's (and the day before's, just after
# a new day's rows are served), not every day of a long-running process
def _every_rectification_held(_identity: object, as_of: dt.date, since: dt.date) -> _EveryRows:
    """query("trend_rectification", scope_id=None, as_of=…, since=…): every unit's rows,
    read once per snapshot at the default date (about 10 MB at province scale: four
    months of days, and one summed row before them). No access check here (snapshot
    state): _rectification_rows checks the unit it hands out."""
    columns = db.query_arrays("trend_rectification", scope_id=None, as_of=as_of, since=since)
    return _every_rows(columns, RECTIFICATION_COUNTS)


def _compact(values: np.ndarray) -> np.ndarray:
    """Ids kept in half the memory when that loses nothing: whole numbers as int16 when
    they fit it, floats (ids with NaN) as float32 when each converts back exactly."""
    if values.dtype.kind == "i" and len(values):
        if values.min() >= np.iinfo(np.int16).min and values.max() <= np.iinfo(np.int16).max:
            return values.astype("int16")
    elif values.dtype.kind == "f":
        small = values.astype("float32")
        if np.array_equal(small.astype(values.dtype), values, equal_nan=True):
            return small
    return values


def _unit_bounds(ids: np.ndarray) -> dict[int, tuple[int, int]]:
    """Each unit's row range in rows ordered by unit."""
    firsts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]]) if len(ids) else []
    lasts = [*firsts[1:], len(ids)]
    return {int(ids[a]): (int(a), int(b)) for a, b in zip(firsts, lasts, strict=False)}


# ── visit coverage burn-up ──────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class BurnUp:
    """Everything the burn-up chart draws for one scope and subject kind (None = all)."""

    campaign: metrics.Campaign
    subject_kind: str | None
    target: int
    covered: int
    coverage_rate: float | None
    pace_per_day: float | None
    pace_window_days: int
    enough_history: bool
    entry_rate: float | None
    series: pd.DataFrame  # one row per period end, campaign start → as_of
    milestones: pd.DataFrame  # one row per milestone: target, projection, daily needed
    projection: pd.DataFrame  # the dashed line: date, covered (empty when not projected)


def visit_burnup(
    scope_id: int, as_of: dt.date, grain: str = "day", subject_kind: str | None = None
) -> BurnUp | None:
    """Cumulative distinct subjects visited at each period end against the stepped milestone
    line, with the projection from the recent pace (metrics.project_coverage) to each
    milestone and the daily visits still needed. None when no campaign has started."""
    campaign = metrics.campaign_at(as_of)
    if campaign is None:
        return None
    own = None
    if subject_kind is None:
        # at a served day the scope's row of every unit's numbers (dashboard/unit_numbers.py)
        db.require_scope(scope_id)
        own = unit_numbers.own_rows("coverage", scope_id, [as_of])
    if own is not None and as_of in own:
        row = own[as_of]
    elif subject_kind is None:
        row = metrics.coverage(scope_id, as_of).iloc[0]
    else:
        by_kind = metrics.coverage(scope_id, as_of, by_kind=True)
        match = by_kind[by_kind["subject_kind"] == subject_kind]
        if match.empty:
            return None
        row = match.iloc[0]
    target, covered = int(row["target"]), int(row["covered"])
    window = int(row["pace_window_days"])
    pace = None if pd.isna(row["pace_per_day"]) else float(row["pace_per_day"])

    days, counts = _visit_rows(scope_id, as_of, campaign.campaign_id, subject_kind)
    ends = period_ends(campaign.start_date, as_of, grain) if as_of >= campaign.start_date else []
    # running totals over the days (rows come in day order), as of each period end
    columns = {c: _at_days(days, np.cumsum(values), ends) for c, values in counts.items()}
    visits = columns["visits"]
    series = _frame_of_periods(
        ends,
        grain,
        as_of,
        covered=columns["new_subjects"],
        visits=visits,
        entered=columns["entered"],
        coverage_rate=_rate(columns["new_subjects"], np.full(len(ends), target)),
        entry_rate=_rate(columns["entered"], visits),
        visits_in_period=np.diff(visits, prepend=0),
    )

    projections = metrics.project_coverage(
        covered, target, pace, as_of, campaign.milestones, history_days=window
    )
    records = [
        {
            **p.__dict__,
            "target_count": p.target_share * target,
            "projected_count": None if p.projected_rate is None else p.projected_rate * target,
        }
        for p in projections
    ]
    # column by column (as the records would be typed); no milestone: untyped columns
    milestones = (
        pd.DataFrame({c: [r[c] for r in records] for c in MILESTONE_COLUMNS})
        if records
        else pd.DataFrame(records, columns=list(MILESTONE_COLUMNS))
    )
    enough = window >= metrics.MIN_PACE_HISTORY_DAYS and pace is not None
    return BurnUp(
        campaign=campaign,
        subject_kind=subject_kind,
        target=target,
        covered=covered,
        coverage_rate=metrics.ratio(covered, target),
        pace_per_day=pace,
        pace_window_days=window,
        enough_history=enough,
        entry_rate=metrics.ratio(int(row["entered"]), int(row["visits"])),
        series=series,
        milestones=milestones,
        projection=projection_path(covered, target, pace, as_of, milestones)
        if enough and target > 0
        else pd.DataFrame(columns=["date", "covered"]),
    )


VISIT_COUNTS = ("new_subjects", "visits", "entered")
MILESTONE_COLUMNS = (
    "due_date", "target_share", "days_left", "projected_rate", "behind", "daily_needed",
    "reached", "target_count", "projected_count",
)  # fmt: skip


def _visit_rows(
    scope_id: int, as_of: dt.date, campaign_id: int, subject_kind: str | None
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """query("trend_visits", …)'s days (datetime64[D], in order) and counts (int64): at the
    default date, for every kind, the scope's slice of every unit's rows
    (_every_visit_day), else the query."""
    if subject_kind is None and _every_units_day(as_of, "coverage"):
        db.require_scope(scope_id)  # as the query checks it
        return _every_visit_day(as_of, campaign_id).of(scope_id)
    daily = query(
        "trend_visits",
        scope_id=scope_id,
        as_of=as_of,
        campaign_id=campaign_id,
        subject_kind=subject_kind,
    )
    return daily["day"].to_numpy(dtype="datetime64[D]"), {
        c: daily[c].to_numpy("int64") for c in VISIT_COUNTS
    }


def _every_visit_day(as_of: dt.date, campaign_id: int) -> _EveryRows:
    return _every_visit_day_held(db.file_identity(), as_of, campaign_id)  # type: ignore[return-value]


@db.snapshot_cache(max_entries=2)  # as _every_rectification_held
def _every_visit_day_held(_identity: object, as_of: dt.date, campaign_id: int) -> _EveryRows:
    """query("trend_visits", scope_id=None, …, subject_kind=None): every unit's visits per
    day of the campaign, read once per snapshot at the default date (about 10 MB at
    province scale). No access check here (snapshot state): _visit_rows checks the unit
    it hands out."""
    return _every_rows(
        db.query_arrays(
            "trend_visits", scope_id=None, as_of=as_of, campaign_id=campaign_id, subject_kind=None
        ),
        VISIT_COUNTS,
    )


def visit_kinds(scope_id: int, as_of: dt.date) -> tuple[str, ...]:
    """The subject kinds the scope has a visit target for in the campaign at as_of."""
    if metrics.campaign_at(as_of) is None:
        return ()
    by_kind = metrics.coverage(scope_id, as_of, by_kind=True)
    return tuple(by_kind.loc[by_kind["target"] > 0, "subject_kind"])


def milestone_steps(campaign: metrics.Campaign, target: int) -> pd.DataFrame:
    """The stepped milestone line from the campaign start to its last milestone: the level
    required by the next due date, stepping up on each due date."""
    rows = []
    previous = campaign.start_date
    for m in campaign.milestones:
        rows.append({"date": previous, "required": m.target_share * target})
        rows.append({"date": m.due_date, "required": m.target_share * target})
        previous = m.due_date
    return pd.DataFrame(rows, columns=["date", "required"])


def projection_path(
    covered: float,
    target: float,
    pace: float | None,
    as_of: dt.date,
    milestones: pd.DataFrame,
) -> pd.DataFrame:
    """The dashed projection: from (as_of, covered) through each milestone still ahead at
    its projected count (from metrics.project_coverage), stopping where 100% is reached."""
    rows = [{"date": pd.Timestamp(as_of), "covered": float(covered)}]
    if pace is None or target <= 0:
        return pd.DataFrame(rows)
    ahead = milestones["days_left"].to_numpy() > 0
    for due_date, projected_count in zip(
        milestones["due_date"].to_numpy()[ahead],
        milestones["projected_count"].to_numpy()[ahead],
        strict=True,
    ):
        if projected_count is None or (
            isinstance(projected_count, float) and math.isnan(projected_count)
        ):
            break
        if projected_count >= target - 1e-9 and pace > 0:
            days_to_full = (target - covered) / pace
            rows.append(
                {
                    "date": pd.Timestamp(as_of) + pd.Timedelta(days=days_to_full),
                    "covered": float(target),
                }
            )
            break
        rows.append({"date": pd.Timestamp(due_date), "covered": float(projected_count)})
    # column by column: typed as the records would be (never empty here)
    return pd.DataFrame({c: [r[c] for r in rows] for c in ("date", "covered")})


# ── scores over tests ───────────────────────────────────────────────────────────────────


def indicators() -> pd.DataFrame:
    """Leaf indicators (the items a per-indicator trend can show), in code order."""
    return query("trend_indicators")


def city_of(unit_id: int) -> int | None:
    """The city a unit belongs to (None for the province or when there is none)."""
    return next((u for u, kind, _name in _line_up(unit_id) if kind == "city"), None)


def _line_up(unit_id: int) -> list[tuple[int, str, str]]:
    """The unit and its ancestors up to the root, nearest first: (unit_id, kind, name)
    each; empty for an unknown unit. A few dict lookups (_tree), not a tree built per call."""
    tree = _tree()
    line: list[tuple[int, str, str]] = []
    current: int | None = int(unit_id)
    while current in tree and len(line) <= len(tree):  # a cycle (refused on import) ends
        parent, kind, name = tree[current]
        line.append((current, kind, name))
        current = parent
    return line


@per_snapshot
def _tree() -> dict[int, tuple[int | None, str, str]]:
    """unit_id → (parent_id or None, kind, name) of every unit (the first row of an id)."""
    units = metrics.units()
    ids = units["unit_id"].to_numpy()
    parents = units["parent_id"].to_numpy(dtype="float64", na_value=np.nan)
    kinds = units["kind"].to_numpy(dtype=object).tolist()
    names = units["name"].to_numpy(dtype=object).tolist()
    tree: dict[int, tuple[int | None, str, str]] = {}
    for unit, parent, kind, name in zip(ids.tolist(), parents.tolist(), kinds, names, strict=True):
        up = None if math.isnan(parent) else int(parent)
        tree.setdefault(int(unit), (up, str(kind), str(name)))
    return tree


def score_target(unit_id: int, measure: str | int) -> float | None:
    """The line to reach: the unit's target score for the composite (inherited, as 排名 and
    会议大屏 judge it), the indicator's
    target (score rate %) for an indicator; none is set for a category."""
    if measure == "overall":  # its own, or its nearest ancestor's (as every page judges it)
        return metrics.inherited_target_scores().get(unit_id)
    if isinstance(measure, int):
        items = indicators()
        value = items.loc[items["indicator_id"] == measure, "target"]
        return None if value.empty or pd.isna(value.iloc[0]) else float(value.iloc[0])
    return None


def score_series(
    unit_ids: list[int] | tuple[int, ...],
    as_of: dt.date,
    measure: str | int = "overall",
    span: str = "all",
) -> pd.DataFrame:
    """One row per unit and overall test that ended by as_of (within the span): the score on
    a 100 scale (composite: value out of max_value; a category: Σ item values ÷ Σ item
    maxima × 100; an indicator: its score rate %), the raw value and maximum, and the change
    from the unit's previous test in the series. Tests where a unit has no value are kept
    as gaps (score NaN), never zeros."""
    return _score_frames(unit_ids, as_of, (measure,), span)


def _score_frames(
    unit_ids: list[int] | tuple[int, ...],
    as_of: dt.date,
    measures: tuple[str | int, ...],
    span: str,
) -> pd.DataFrame:
    """score_series for several measures: one block per unit and measure (the tests in
    order), built column by column (no merge per block: the page asks for up to 10)."""
    columns = _score_columns(unit_ids, as_of, measures, span)
    return pd.DataFrame() if columns is None else pd.DataFrame(columns)


def _score_columns(
    unit_ids: list[int] | tuple[int, ...],
    as_of: dt.date,
    measures: tuple[str | int, ...],
    span: str,
) -> dict[str, object] | None:
    """_score_frames' columns (None: no unit or no measure asked), for a caller that adds
    columns of its own before the frame is built once."""
    for measure in measures:
        if not isinstance(measure, int) and measure not in SCORE_MEASURES:
            raise ValueError(f"unknown measure {measure!r}")
    if not len(unit_ids) or not measures:
        return None
    days = SPANS[span]
    since = EARLIEST if days is None else as_of - dt.timedelta(days=days - 1)
    names = metrics.display_names()
    tests, tested = _overall_tests(as_of, since)
    n = len(tests)
    leaf_ids, leaf_categories = _leaves()
    blocks: dict[str, list] = {
        "value": [], "max_value": [], "items": [], "unit_id": [], "unit_name": [], "measure": []
    }  # fmt: skip
    every = _score_rows()
    for unit_id in unit_ids:
        db.require_scope(int(unit_id))  # as query("trend_scores", unit_id=…) checks it
        first, last = every.bounds.get(int(unit_id), (0, 0))
        at = tested.get_indexer(every.assessment_id[first:last].astype("int64"))  # -1: not shown
        listed = at >= 0
        indicator = every.indicator_id[first:last].astype("float64")  # NaN: the composite
        composite = np.isnan(indicator)
        leaf = leaf_ids.get_indexer(indicator)  # -1: the composite, or not a leaf item
        category = np.where(leaf >= 0, leaf_categories[leaf], None)
        value = every.value[first:last]
        maximum = every.max_value[first:last]
        for measure in measures:
            if measure == "overall" or isinstance(measure, int):
                # one row per test: the composite, or the leaf item
                keep = listed & (composite if measure == "overall" else (indicator == measure))
                if isinstance(measure, int):
                    keep &= leaf >= 0
                where = at[keep]
                sums = {}
                for column, values in (("value", value), ("max_value", maximum)):
                    out = np.full(n, np.nan)
                    out[where] = values[keep]  # a test the unit has no row for stays a gap
                    sums[column] = out
                items = np.full(n, np.nan)
                items[where] = 1.0
            else:
                # a category: Σ its leaf items' values ÷ Σ their maxima, per test, over the
                # items scored (summed in indicator order, as the rows come)
                keep = listed & (category == measure)
                where = at[keep]
                items = np.bincount(where, minlength=n).astype("float64")
                sums = {
                    column: np.bincount(where, weights=values[keep], minlength=n).astype("float64")
                    for column, values in (("value", value), ("max_value", maximum))
                }
                none = items == 0
                for out in (*sums.values(), items):
                    out[none] = np.nan  # no item scored in that test: a gap
            blocks["value"].append(sums["value"])
            blocks["max_value"].append(sums["max_value"])
            blocks["items"].append(items)
            blocks["unit_id"].append(np.full(n, int(unit_id), dtype=np.int64))
            blocks["unit_name"].append([names.get(int(unit_id), "")] * n)
            blocks["measure"].append([str(measure)] * n)
    count = len(blocks["unit_id"])
    take = np.tile(np.arange(n), count)
    frame = {c: tests[c].array.take(take) for c in tests.columns}
    value = np.concatenate(blocks["value"])
    maximum = np.concatenate(blocks["max_value"])
    items = np.concatenate(blocks["items"])
    frame["value"] = value
    frame["max_value"] = maximum
    # as a left merge would type it: whole numbers while no test is missing
    frame["items"] = items.astype("int64") if not np.isnan(items).any() else items
    frame["unit_id"] = np.concatenate(blocks["unit_id"])
    frame["unit_name"] = pd.array([s for b in blocks["unit_name"] for s in b], dtype="str")
    frame["measure"] = pd.array([s for b in blocks["measure"] for s in b], dtype="str")
    # score = metrics.ratio(value, max_value) × 100, None (a gap) without a value or a maximum
    with np.errstate(divide="ignore", invalid="ignore"):
        score = 100 * (value / maximum)
    score[np.isnan(value) | np.isnan(maximum) | (maximum == 0)] = np.nan
    frame["score"] = score
    change = np.full(len(score), np.nan)
    change[1:] = score[1:] - score[:-1]
    if n:
        change[::n] = np.nan  # each block's first test has no previous one
    frame["change"] = change
    return frame


@dataclass(frozen=True)
class _ScoreRows:
    """trend_scores' rows of every unit, column by column, and each unit's row range."""

    bounds: dict[int, tuple[int, int]]
    assessment_id: np.ndarray  # int16 when that holds them (_compact)
    indicator_id: np.ndarray  # float (32 bits when exact), NaN for the composite
    value: np.ndarray
    max_value: np.ndarray


@per_snapshot
def _score_rows() -> _ScoreRows:
    """query("trend_scores", unit_id=None): every unit's score rows, read once per snapshot
    as arrays (about 30 MB at province scale) — they do not depend on the date, so a
    page's score lines at any date are slices, not queries. No access check here
    (snapshot state): _score_frames checks each unit it reads."""
    columns = db.query_arrays("trend_scores", unit_id=None)

    def floats(name: str) -> np.ndarray:
        return np.ma.asarray(columns.pop(name)).astype("float64").filled(np.nan)

    return _ScoreRows(
        bounds=_unit_bounds(np.asarray(columns.pop("unit_id"))),
        assessment_id=_compact(np.asarray(columns.pop("assessment_id"))),
        indicator_id=_compact(floats("indicator_id")),
        value=floats("value"),
        max_value=floats("max_value"),
    )


@per_snapshot
def _overall_tests(as_of: dt.date, since: dt.date) -> tuple[pd.DataFrame, pd.Index]:
    """Overall tests that ended by as_of, started on or after since and hold scores, oldest
    first; and their assessment_ids (an index to look rows up in). Shared per snapshot:
    callers must not mutate them."""
    tests = metrics.assessments()
    ids = tests["assessment_id"].to_numpy()
    starts = tests["start_date"].to_numpy(dtype="datetime64[D]")
    ends = tests["end_date"].to_numpy(dtype="datetime64[D]")
    keep = np.flatnonzero(
        (tests["kind"].to_numpy(dtype=object) == "overall")
        & (ends <= np.datetime64(as_of, "D"))
        & (starts >= np.datetime64(since, "D"))
        & (tests["overall_scores"].to_numpy() > 0)
    )
    rows = keep[np.lexsort((ids[keep], starts[keep]))]  # by start, then id
    frame = pd.DataFrame(
        {
            "assessment_id": ids[rows],
            "assessment_name": tests["name"].array.take(rows),
            "level": tests["level"].array.take(rows),
            "start_date": starts[rows].astype(object),  # datetime.date
            "end_date": ends[rows].astype(object),
        }
    )
    return frame, pd.Index(ids[rows])


@per_snapshot
def _leaves() -> tuple[pd.Index, np.ndarray]:
    """The leaf indicators' ids (an index to look rows up in) and their categories."""
    items = indicators()
    ids = pd.Index(items["indicator_id"].to_numpy(dtype="float64"))
    return ids, items["category"].to_numpy(dtype=object)


def comparison_candidates(scope_id: int) -> pd.DataFrame:
    """Units a scope is usefully compared with: its siblings and its children."""
    units = metrics.units()
    ids, parents, territorial = _unit_arrays()
    me = np.flatnonzero(ids == scope_id)
    if not len(me):
        return units.iloc[0:0]
    parent = parents[me[0]]  # NaN: none
    under = parents == scope_id
    if np.isnan(parent):  # the root has no siblings
        siblings = np.zeros(len(ids), dtype=bool)
    else:
        siblings = (parents == parent) & (ids != scope_id)
    rows = np.concatenate([np.flatnonzero(siblings), np.flatnonzero(under)])
    rows = rows[territorial[rows]]
    shown = set(visible(list(ids[rows])))
    rows = np.array([r for r in rows if int(ids[r]) in shown], dtype=np.intp)
    return units.take(rows).reset_index(drop=True)


@per_snapshot
def _unit_arrays() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """metrics.units() as arrays: ids, parent ids (float, NaN for none) and whether each
    unit is territorial (city, district, street, community)."""
    units = metrics.units()
    return (
        units["unit_id"].to_numpy(),
        units["parent_id"].to_numpy(dtype="float64", na_value=np.nan),
        units["kind"].isin(["city", "district", "street", "community"]).to_numpy(dtype=bool),
    )


# ── survey waves ────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class SurveyTrend:
    unit_id: int  # the unit whose waves are shown (the scope or its nearest ancestor)
    unit_name: str
    borrowed: bool  # True when the scope has no waves and an ancestor's are shown
    waves: pd.DataFrame  # one row per wave and item: rate (%), change (环比), yoy_change (同比)
    latest: pd.DataFrame  # one row per item: latest and previous rate, change, yoy_change


def survey_trend(
    scope_id: int, as_of: dt.date, category: str = "phone", span: str = "all"
) -> SurveyTrend | None:
    """Survey items (the 6 phone items, or the questionnaire items) over waves ended by
    as_of: the rate in % (value ÷ max_value × 100) and the change from the previous wave.
    Surveys are often reported only for the city and districts, so a scope without waves
    shows its nearest ancestor that has them (flagged `borrowed`). None: no waves at all."""
    if category not in SURVEY_CATEGORIES:
        raise ValueError(f"unknown survey category {category!r}")
    served = unit_numbers.served_store([as_of], ("rectification",)) is not None
    for current, _kind, name in _line_up(scope_id):
        if not visible([current]):
            break
        if served:  # the default date: the unit's slice of every unit's rows
            rows = _survey_rows_of(current, as_of, category)
        else:
            rows = query("trend_survey", unit_id=current, as_of=as_of, category=category)
        if not rows.empty:
            borrowed = current != scope_id
            return _survey_frames(rows, current, name, borrowed, as_of, span)
    return None


@per_snapshot
def _survey_rows(category: str, as_of: dt.date) -> tuple[pd.DataFrame, dict[int, tuple[int, int]]]:
    """trend_survey's rows of every unit at once (ordered by unit, then as for one unit)
    and each unit's row range: read once per snapshot at a served day, so a page's waves
    are a slice, not a query. No access check here (snapshot state): survey_trend hands
    out only a unit the user may see."""
    rows = query("trend_survey", unit_id=None, as_of=as_of, category=category)
    ids = rows["unit_id"].to_numpy()
    if not len(ids):
        return rows, {}
    firsts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
    lasts = np.r_[firsts[1:], len(ids)]
    return rows, {int(ids[a]): (int(a), int(b)) for a, b in zip(firsts, lasts, strict=True)}


def _survey_rows_of(unit_id: int, as_of: dt.date, category: str) -> pd.DataFrame:
    """query("trend_survey", unit_id=…, as_of=…, category=…) from every unit's rows (the
    same rows and types; a unit without rows gets an empty frame, whose text columns may
    be typed as the other units' are: survey_trend reads no row of it)."""
    rows, bounds = _survey_rows(category, as_of)
    first, last = bounds.get(int(unit_id), (0, 0))
    return rows.iloc[first:last].reset_index(drop=True)


def _survey_frames(
    rows: pd.DataFrame, unit_id: int, name: str, borrowed: bool, as_of: dt.date, span: str
) -> SurveyTrend:
    # Every (item, wave) cell, items in code order and waves in date order, so a wave
    # missing an item is a gap, not a skipped point. Built by position, not by merges:
    # rows come in wave order (start_date, assessment_id, code).
    wave_ids, wave_of_row = _codes(rows["assessment_id"])
    item_ids, item_of_row = _codes(rows["indicator_id"])
    waves_n, items_n = len(wave_ids), len(item_ids)
    first_of_wave = _first_rows(wave_of_row, waves_n)
    first_of_item = _first_rows(item_of_row, items_n)
    codes = rows["code"].to_numpy(dtype=object)[first_of_item]
    item_order = np.argsort(codes, kind="stable")  # by code, ties as listed
    item_rank = np.empty(items_n, dtype=np.intp)
    item_rank[item_order] = np.arange(items_n)
    cell = item_rank[item_of_row] * waves_n + wave_of_row  # each row's cell
    starts = pd.to_datetime(rows["start_date"].to_numpy()[first_of_wave]).date
    ends = pd.to_datetime(rows["end_date"].to_numpy()[first_of_wave]).date
    names = rows["assessment_name"].to_numpy(dtype=object)[first_of_wave]

    numbers = {}
    for column in ("value", "max_value", "sample_size"):
        out = np.full(items_n * waves_n, np.nan)
        out[cell] = rows[column].to_numpy(dtype="float64", na_value=np.nan)
        numbers[column] = out
    # rate = metrics.ratio(value, max_value) × 100, None without a maximum
    value, maximum = numbers["value"], numbers["max_value"]
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = 100 * (value / maximum)
    rate[np.isnan(maximum) | (maximum == 0)] = np.nan
    by_item = rate.reshape(items_n, waves_n)
    change = np.full((items_n, waves_n), np.nan)
    change[:, 1:] = by_item[:, 1:] - by_item[:, :-1]
    year_ago = _year_ago(list(zip(wave_ids, starts, strict=True)))
    position = {int(a): i for i, a in enumerate(wave_ids)}
    ago = [position.get(year_ago.get(int(a), -1), -1) for a in wave_ids]  # -1: none
    ago_rate = np.full((items_n, waves_n), np.nan)
    for w, a in enumerate(ago):
        if a >= 0:
            ago_rate[:, w] = by_item[:, a]

    # the span, then the cells shown (item by item, waves in order)
    days = SPANS[span]
    shown = np.ones(waves_n, dtype=bool)
    if days is not None:
        shown = np.array([d >= as_of - dt.timedelta(days=days - 1) for d in starts], dtype=bool)
    grid = (np.arange(items_n)[:, None] * waves_n + np.flatnonzero(shown)[None, :]).ravel()
    wave_at = grid % waves_n
    item_row = first_of_item[item_order][grid // waves_n]  # a row naming the cell's item
    missing = len(rows) < items_n * waves_n
    year_ago_at = [ago[w] for w in wave_at]
    columns = {
        "assessment_id": wave_ids[wave_at],
        "indicator_id": rows["indicator_id"].to_numpy()[item_row],
        "assessment_name": rows["assessment_name"].array.take(first_of_wave[wave_at]),
        "level": rows["level"].array.take(first_of_wave[wave_at]),
        "start_date": starts[wave_at],
        "end_date": ends[wave_at],
        **{
            c: rows[c].array.take(item_row)
            for c in ("code", "item_name", "target", "lead_unit_name")
        },
        **{
            c: _as_merged(numbers[c][grid], rows[c].dtype, missing)
            for c in ("value", "max_value", "sample_size")
        },
        "rate": rate[grid],
        "change": change.ravel()[grid],
        "year_ago_id": pd.array(
            [None if a < 0 else int(wave_ids[a]) for a in year_ago_at], dtype="Int64"
        ),
        "year_ago_name": pd.array([None if a < 0 else names[a] for a in year_ago_at], dtype="str"),
        "year_ago_rate": ago_rate.ravel()[grid],
        "yoy_change": rate[grid] - ago_rate.ravel()[grid],
    }
    full = pd.DataFrame(columns)
    # the latest wave's cells, lowest rate first (gaps first; the sort sort_values does),
    # taken from the same columns rather than filtered out of the frame
    if len(grid):
        cells = np.flatnonzero(columns["start_date"] == max(starts[shown]))
    else:
        cells = np.arange(0)
    by_rate = pd.Series(columns["rate"][cells]).sort_values(ascending=True, na_position="first")
    cells = cells[by_rate.index.to_numpy()]
    latest = {c: values.take(cells) for c, values in columns.items()}
    latest["previous_rate"] = latest["rate"] - latest["change"]
    return SurveyTrend(unit_id, name, borrowed, full, pd.DataFrame(latest))


def _as_merged(values: np.ndarray, dtype: object, missing: bool) -> object:
    """A column typed as a left merge types it: its own type while no cell is missing (or
    when the type holds <NA>), else float."""
    if isinstance(dtype, pd.api.extensions.ExtensionDtype):
        return pd.array(values, dtype="Float64").astype(dtype)
    return values if missing else values.astype(dtype)


def _codes(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """The distinct values in order of first appearance, and each row's index into them."""
    codes, uniques = pd.factorize(values, sort=False)
    return np.asarray(uniques), codes


def _first_rows(codes: np.ndarray, n: int) -> np.ndarray:
    """The first row of each of the n codes."""
    first = np.full(n, len(codes), dtype=np.intp)
    np.minimum.at(first, codes, np.arange(len(codes)))
    return first


def year_ago_waves(waves: pd.DataFrame) -> dict[int, int]:
    """assessment_id → the same wave a year earlier (同比): the wave of this kind whose start
    is nearest to one year before this one's, within YEAR_AGO_WINDOW_DAYS; none otherwise."""
    return _year_ago(list(zip(waves["assessment_id"], waves["start_date"], strict=True)))


def _year_ago(starts: list[tuple[object, dt.date]]) -> dict[int, int]:
    """year_ago_waves of (assessment_id, start_date) pairs."""
    out: dict[int, int] = {}
    for wave, start in starts:
        try:
            target = start.replace(year=start.year - 1)
        except ValueError:  # 29 February
            target = start - dt.timedelta(days=365)
        near = [
            (abs((other_start - target).days), other)
            for other, other_start in starts
            if other != wave and abs((other_start - target).days) <= YEAR_AGO_WINDOW_DAYS
        ]
        if near:
            out[int(wave)] = int(min(near)[1])
    return out


@dataclass(frozen=True)
class SurveyGaps:
    """Per survey item of the latest wave, the units below their city's score (全市得分)."""

    assessment_name: str
    compared: pd.DataFrame  # every unit and item compared: rate, city_rate, gap (unit − city)
    below: pd.DataFrame  # the rows with gap < 0, per item the largest shortfall first


def survey_gaps(
    scope_id: int, as_of: dt.date, category: str = "phone", kinds: tuple[str, ...] = ()
) -> SurveyGaps | None:
    """Each unit under the scope against its city, item by item, in the city's newest wave of
    `category` ended by as_of (queries/survey_item_gaps.sql). `kinds` keeps only units of
    those kinds (all by default). None: no wave with the city's items."""
    if category not in SURVEY_CATEGORIES:
        raise ValueError(f"unknown survey category {category!r}")
    rows = query("survey_item_gaps", scope_id=scope_id, as_of=as_of, category=category)
    if kinds:
        rows = rows[rows["kind"].isin(kinds)]
    rows = rows[rows["unit_id"].isin(visible(list(rows["unit_id"])))]
    if rows.empty:
        return None
    compared = rows.copy()
    compared["name"] = compared["unit_id"].map(metrics.display_names())
    compared = compared.sort_values(["code", "gap", "sort_order"]).reset_index(drop=True)
    below = compared[compared["gap"] < 0].reset_index(drop=True)
    names = compared["assessment_name"].unique()
    return SurveyGaps("、".join(str(n) for n in names), compared, below)


def survey_item_table(latest: pd.DataFrame) -> pd.DataFrame:
    """The latest wave item by item as the city reports it: score, 环比 and 同比."""
    rows = latest.sort_values("code")
    return pd.DataFrame(
        {
            "调查项目": rows["item_name"],
            "牵头单位": rows["lead_unit_name"].fillna("—"),
            "本轮得分": [points(v) for v in rows["rate"]],
            "环比（较上一轮）": [signed(v, 2, " 分") for v in rows["change"]],
            "同比（较去年同期）": [signed(v, 2, " 分") for v in rows["yoy_change"]],
            "去年同期": rows["year_ago_name"].fillna("无"),
        }
    ).reset_index(drop=True)


def survey_below_table(gaps: SurveyGaps) -> pd.DataFrame:
    """Per item, the units below the city's score and by how much (largest shortfall first)."""
    rows = gaps.below
    return pd.DataFrame(
        {
            "调查项目": rows["item_name"],
            "单位": rows["name"],
            "得分": [points(v) for v in rows["rate"]],
            "全市得分": [points(v) for v in rows["city_rate"]],
            "低于全市": [points(-v) for v in rows["gap"]],
        }
    ).reset_index(drop=True)


def lowest_items(latest: pd.DataFrame, n: int = 5) -> list[int]:
    """indicator_ids of the n items with the lowest rate in the latest wave."""
    return list(latest.dropna(subset=["rate"]).nsmallest(n, "rate")["indicator_id"])


# ── chart-ready frames ──────────────────────────────────────────────────────────────────


def score_chart_data(
    scope_id: int,
    as_of: dt.date,
    measure: str | int = "overall",
    compare_ids: tuple[int, ...] | list[int] = (),
    span: str = "all",
) -> pd.DataFrame:
    """The scope's line (role 'main'), the chosen comparison units ('compare') and the
    scope's city ('reference', unless the scope is the city) for one measure; `key` is the
    unit_id as text, `series` the unit's name."""
    city = city_of(scope_id)
    others = visible([int(u) for u in compare_ids if int(u) != scope_id])
    ids = [scope_id, *others]
    roles = ["main"] + ["compare"] * (len(ids) - 1)
    if city is not None and city not in ids and visible([city]):
        ids.append(city)
        roles.append("reference")
    columns = _score_columns(ids, as_of, (measure,), span)
    assert columns is not None  # the scope itself is always asked for
    if not len(columns["unit_id"]):  # type: ignore[arg-type]
        return pd.DataFrame(columns)  # no test in the span: no line, no roles
    # one block of rows per unit asked (score_series), each its unit's role
    role_of = dict(zip(ids, roles, strict=True))
    blocks = len(columns["unit_id"]) // len(ids)  # type: ignore[arg-type]
    role = [role_of[u] for u in ids for _ in range(blocks)]
    key = [str(u) for u in ids for _ in range(blocks)]
    columns["role"] = pd.array(role, dtype="str")
    columns["key"] = pd.array(key, dtype="str")
    columns["series"] = pd.array(
        [
            f"{n}（全市）" if r == "reference" else n
            for n, r in zip(columns["unit_name"], role, strict=True)  # type: ignore[call-overload]
        ],
        dtype="str",
    )
    return pd.DataFrame(columns)


def category_chart_data(
    scope_id: int, as_of: dt.date, labels: dict[str, str], span: str = "all"
) -> pd.DataFrame:
    """The scope's composite and its three categories as 得分率 lines (key = measure)."""
    columns = _score_columns([scope_id], as_of, SCORE_MEASURES, span)
    assert columns is not None
    if not len(columns["unit_id"]):  # type: ignore[arg-type]
        return pd.DataFrame(columns)  # no test in the span: no line
    measure = columns["measure"]
    columns["key"] = measure
    columns["series"] = pd.array([labels.get(m, m) for m in measure], dtype="str")  # type: ignore[attr-defined]
    columns["role"] = pd.array(
        ["main" if m == "overall" else "compare" for m in measure],  # type: ignore[attr-defined]
        dtype="str",
    )
    return pd.DataFrame(columns)
