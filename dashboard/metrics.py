"""The metrics of DESIGN §4, each computed in one place, as of a date, for a unit scope.

Every function takes the scope (a subtree root unit_id) and an as-of date, and a `level`:
'self' gives one row for the scope unit itself; a unit kind ('district', 'street',
'community', 'department', 'group') gives one row per unit of that kind under the scope.
SQL (queries/*.sql) returns counts; this module turns counts into rates — always as the
sum of numerators over the sum of denominators, so a parent's rate is computed from its
children's counts and never averages their rates. A rate with a zero denominator is None
(shown as 无数据), never zero.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd

from dashboard.db import per_snapshot, query, served_unit_scores
from dashboard.unit_match import UnitIndex

LEVELS = ("self", "district", "street", "community", "department", "group", "city")
PACE_WINDOW_DAYS = 14
MIN_PACE_HISTORY_DAYS = 7
REBOUND_WINDOW_DAYS = 90  # also fixed in queries/rectification_counts.sql


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """numerator ÷ denominator, or None when there is nothing to divide by."""
    if numerator is None or denominator is None:
        return None
    if isinstance(denominator, float) and math.isnan(denominator):
        return None
    if denominator == 0:
        return None
    return float(numerator) / float(denominator)


def _rate_column(frame: pd.DataFrame, numerator: str, denominator: str) -> pd.Series:
    """`ratio` of two columns, row by row, without a Python call per row."""
    n = pd.to_numeric(frame[numerator]).to_numpy(dtype="float64", na_value=np.nan)
    d = pd.to_numeric(frame[denominator]).to_numpy(dtype="float64", na_value=np.nan)
    divisible = ~np.isnan(d) & (d != 0)
    rates = np.full(len(frame), np.nan)
    rates[divisible] = n[divisible] / d[divisible]
    return pd.Series(rates, index=frame.index, dtype="float64")


CHILD_LEVEL = {
    "province": "city",
    "city": "district",
    "district": "street",
    "street": "community",
    "group": "department",
}


def child_level(kind: str) -> str | None:
    """The unit kind one level below `kind` in the tree (None for the lowest levels)."""
    return CHILD_LEVEL.get(kind)


def _check_level(level: str) -> str:
    if level not in LEVELS:
        raise ValueError(f"unknown level {level!r}")
    return level


def units() -> pd.DataFrame:
    """The whole unit list (unit_id, name, kind, parent_id, …), in official order."""
    return query("all_units")


NAME_COLUMNS = ["unit_id", "name", "kind", "parent_id", "sort_order", "target_score"]


@per_snapshot
def display_names() -> dict[int, str]:
    """unit_id → the name to show: with its parent in （） when the name repeats
    (文苑社区（和平街道）), so rankings, flags, lists and exports never show two alike.
    Computed when the snapshot is written (unit_display_names, derived.sql); computed here
    for a snapshot without it (one being built, or an older release's)."""
    try:
        stored = query("unit_display_names")
    except duckdb.CatalogException:
        return compute_display_names(units())
    return dict(zip(stored["unit_id"].astype(int), stored["display_name"], strict=True))


def compute_display_names(frame: pd.DataFrame) -> dict[int, str]:
    """display_names from a unit list (unit_id, name, kind, parent_id)."""
    return UnitIndex.from_frame(frame).display_names()


def with_display_names(frame: pd.DataFrame) -> pd.DataFrame:
    """A query's unit_name / dept_name columns replaced by display names (from unit_id /
    dept_id), so lists of problems and ledger lines show 文苑社区（和平街道） too."""
    names = display_names()
    out = frame.copy()
    for id_column, name_column in (("unit_id", "unit_name"), ("dept_id", "dept_name")):
        if id_column in out and name_column in out:
            # names.get per id: an int, a whole float or a numpy int finds its unit; NaN or
            # <NA> finds none (None), as `int(v) if notna(v)` did, at a third of the cost
            shown = out[id_column].map(names.get)
            out[name_column] = shown.where(shown.notna(), out[name_column])
    return out


@per_snapshot
def _name_table() -> tuple[pd.DataFrame, pd.Index]:
    """The unit columns every metric frame carries (`name` = the display name), and the
    unit ids in row order (an index to look positions up in)."""
    names = units()[NAME_COLUMNS].reset_index(drop=True)
    names["name"] = names["unit_id"].map(display_names()).fillna(names["name"])
    return names, pd.Index(names["unit_id"].to_numpy())


def _with_names(frame: pd.DataFrame) -> pd.DataFrame:
    """The unit columns joined in front of `frame` (inner join on unit_id), rows in the
    units' official order (a unit's own rows keep their order).

    The same as `names.merge(frame, on="unit_id")`, by position lookup: a merge costs
    milliseconds, and the flag engine asks for dozens of these per evaluation."""
    names, ids = _name_table()
    clash = set(frame.columns) & set(NAME_COLUMNS[1:])
    if clash:
        raise ValueError(f"metric frame already has unit columns {sorted(clash)}")
    at = ids.get_indexer(frame["unit_id"])  # -1: not a unit
    kept = np.flatnonzero(at >= 0)
    rows = kept[np.argsort(at[kept], kind="stable")]  # frame rows in the units' order
    columns = {c: names[c].array.take(at[rows]) for c in NAME_COLUMNS}
    columns.update({c: frame[c].array.take(rows) for c in frame.columns if c != "unit_id"})
    return pd.DataFrame(columns)


# ── rectification ──────────────────────────────────────────────────────────────────────


def rectification(scope_id: int, as_of: dt.date, level: str = "self") -> pd.DataFrame:
    """整改率, 按期整改率, 逾期, 销号率 and 反弹 per unit.

    整改率 = rectified by as_of ÷ found by as_of; 按期整改率 = rectified on or before the
    deadline ÷ problems whose deadline ≤ as_of; 逾期 = not rectified and deadline < as_of;
    销号率 = closed ÷ found; 反弹 = rebound_of set, same point, found within 90 days.
    """
    counts = query(
        "rectification_counts", scope_id=scope_id, level=_check_level(level), as_of=as_of
    ).copy()
    return _with_names(_rectification_rates(counts))


def _rectification_rates(counts: pd.DataFrame) -> pd.DataFrame:
    counts["rectification_rate"] = _rate_column(counts, "rectified", "found")
    counts["on_time_rate"] = _rate_column(counts, "rectified_on_time", "due")
    counts["closure_rate"] = _rate_column(counts, "closed", "found")
    return counts


# ── visits ─────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class Milestone:
    due_date: dt.date
    target_share: float


@dataclass(frozen=True)
class Campaign:
    campaign_id: int
    name: str
    start_date: dt.date
    end_date: dt.date
    milestones: tuple[Milestone, ...]

    def next_milestone(self, as_of: dt.date) -> Milestone | None:
        """The first milestone due on or after as_of (None when all have passed)."""
        return next((m for m in self.milestones if m.due_date >= as_of), None)


@per_snapshot
def campaigns() -> tuple[Campaign, ...]:
    """Every visit campaign with its milestones (a small table, read once per snapshot)."""
    out = []
    for campaign_id, group in query("campaigns").groupby("campaign_id", sort=True):
        first = group.iloc[0]
        milestones = tuple(
            Milestone(_as_date(r.due_date), float(r.target_share))
            for r in group.itertuples()
            if pd.notna(r.due_date)
        )
        out.append(
            Campaign(
                int(campaign_id),
                str(first["name"]),
                _as_date(first.start_date),
                _as_date(first.end_date),
                milestones,
            )
        )
    return tuple(out)


def campaign_at(as_of: dt.date) -> Campaign | None:
    """The visit campaign in force at as_of: the running one (end on or after as_of), else
    the latest started; ties go to the later start, then the higher id."""
    started = [c for c in campaigns() if c.start_date <= as_of]
    if not started:
        return None
    return max(started, key=lambda c: (c.end_date >= as_of, c.start_date, c.campaign_id))


def _as_date(value: object) -> dt.date:
    if isinstance(value, pd.Timestamp):
        return value.date()
    if isinstance(value, dt.datetime):
        return value.date()
    return value  # type: ignore[return-value]


def pace_window_days(campaign: Campaign, as_of: dt.date) -> int:
    """Days of history behind the pace: the last 14, or fewer if the campaign is younger."""
    return max(0, min(PACE_WINDOW_DAYS, (as_of - campaign.start_date).days + 1))


def coverage(
    scope_id: int, as_of: dt.date, level: str = "self", *, by_kind: bool = False,
    fetch: Callable[..., pd.DataFrame] | None = None,
) -> pd.DataFrame:  # fmt: skip
    """走访覆盖率 and 平台录入率 per unit (and per subject kind when by_kind).

    coverage = distinct subjects visited by as_of ÷ target; pace = newly covered subjects a
    day over the last 14 days (a repeat visit adds no coverage); 平台录入率 = visits entered
    on the platform ÷ visits. Empty when no campaign has started by as_of. `fetch(name,
    **params)` answers the count query (default: `query`; every unit's frames of
    dashboard/unit_numbers.py pass the served rows of every unit).
    """
    campaign = campaign_at(as_of)
    if campaign is None:
        columns = ["unit_id", *COVERAGE_COUNTS, *(["subject_kind"] if by_kind else [])]
        empty = pd.DataFrame(columns=columns)
        for name in ("coverage_rate", "entry_rate", "pace_per_day", "pace_window_days"):
            empty[name] = pd.Series(dtype="float64")
        return _with_names(empty)
    counts = (fetch or query)(
        "coverage_counts",
        scope_id=scope_id,
        level=_check_level(level),
        as_of=as_of,
        campaign_id=campaign.campaign_id,
    )
    counts = counts.copy() if by_kind else _kinds_summed(counts, ["unit_id"])
    window = pd.Series(pace_window_days(campaign, as_of), index=counts.index)
    return _with_names(_coverage_rates(counts, window))


COVERAGE_COUNTS = ["target", "covered", "new_last_14d", "visits", "entered"]


def _coverage_rates(counts: pd.DataFrame, window: pd.Series) -> pd.DataFrame:
    """The rates of coverage counts; `window` = each row's pace window in days."""
    counts["coverage_rate"] = _rate_column(counts, "covered", "target")
    counts["entry_rate"] = _rate_column(counts, "entered", "visits")
    counts["pace_per_day"] = counts["new_last_14d"] / window.where(window > 0)
    counts["pace_window_days"] = window
    return counts


@dataclass(frozen=True)
class MilestoneProjection:
    """Where coverage will stand at one milestone if the recent pace holds."""

    due_date: dt.date
    target_share: float
    days_left: int
    projected_rate: float | None  # capped at 1.0; None when there is too little history
    behind: bool | None  # projected < target share; None when it cannot be projected
    daily_needed: float | None  # new subjects a day still needed; None once due
    reached: bool  # covered already ≥ the milestone's share


def project_coverage(
    covered: float,
    target: float,
    pace_per_day: float | None,
    as_of: dt.date,
    milestones: tuple[Milestone, ...],
    *,
    history_days: int = PACE_WINDOW_DAYS,
) -> list[MilestoneProjection]:
    """Projected coverage = current + pace × days, capped at 100%, for each milestone."""
    result = []
    pace = np.nan if pace_per_day is None else pace_per_day
    days = [(m.due_date - as_of).days for m in milestones]
    rates = projected_rates(covered, target, pace, days, history_days)
    for m, days_left, rate in zip(milestones, days, rates, strict=True):
        needed_subjects = m.target_share * target - covered
        reached = target > 0 and covered >= m.target_share * target - 1e-9
        projected = None if np.isnan(rate) else float(rate)
        behind = None if projected is None else projected < m.target_share - 1e-12
        daily_needed = None
        if days_left > 0 and target > 0:
            daily_needed = max(0.0, needed_subjects) / days_left
        result.append(
            MilestoneProjection(
                m.due_date, m.target_share, days_left, projected, behind, daily_needed, reached
            )
        )
    return result


def projected_rates(
    covered: object, target: object, pace_per_day: object, days_left: object, history_days: object
) -> np.ndarray:
    """The projected coverage of project_coverage, for arrays: (covered + pace × max(days
    left, 0)) ÷ target, capped at 100%; NaN where it is not projected (no target, no pace,
    or fewer than MIN_PACE_HISTORY_DAYS days of history). Arguments broadcast: one unit at
    each milestone (days_left a list) or many units at one milestone (the rest arrays)."""
    covered = np.asarray(covered, dtype="float64")
    target = np.asarray(target, dtype="float64")
    pace = np.asarray(pace_per_day, dtype="float64")
    ahead = np.maximum(np.asarray(days_left, dtype="float64"), 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = (covered + pace * ahead) / target
    rate = np.where(rate < 1.0, rate, 1.0)  # capped at 100%
    history = np.asarray(history_days, dtype="float64")
    projected = (target > 0) & ~np.isnan(pace) & (history >= MIN_PACE_HISTORY_DAYS)
    return np.where(projected, rate, np.nan)


def coverage_projection(scope_id: int, as_of: dt.date, level: str = "self") -> pd.DataFrame:
    """One row per unit and milestone: projected coverage, behind or not, daily needed."""
    campaign = campaign_at(as_of)
    cov = coverage(scope_id, as_of, level)
    if campaign is None:
        return pd.DataFrame()
    return projection_rows(cov, campaign, as_of)


def projection_rows(
    cov: pd.DataFrame | Iterable[object], campaign: Campaign, as_of: dt.date
) -> pd.DataFrame:
    """coverage_projection's rows for a `coverage` frame already at hand, or its rows as
    objects with its columns as attributes (campaign: the one in force at as_of)."""
    rows = []
    for r in cov.itertuples() if isinstance(cov, pd.DataFrame) else cov:
        for p in project_coverage(
            r.covered,
            r.target,
            r.pace_per_day,
            as_of,
            campaign.milestones,
            history_days=r.pace_window_days,
        ):
            rows.append({"unit_id": r.unit_id, "name": r.name, **p.__dict__})
    return pd.DataFrame(rows)


# ── materials, points ──────────────────────────────────────────────────────────────────


def materials_completion(
    scope_id: int, as_of: dt.date, level: str = "self", *,
    fetch: Callable[..., pd.DataFrame] | None = None,
) -> pd.DataFrame:  # fmt: skip
    """台账完成率 = completed ÷ required over the latest ledger lines on or before as_of
    (`fetch`: as for `coverage`)."""
    counts = (fetch or query)(
        "materials_counts", scope_id=scope_id, level=_check_level(level), as_of=as_of
    ).copy()
    return _with_names(_completion_rates(counts))


def _completion_rates(counts: pd.DataFrame) -> pd.DataFrame:
    counts["completion_rate"] = _rate_column(counts, "completed", "required")
    return counts


def point_compliance(scope_id: int, as_of: dt.date, level: str = "self") -> pd.DataFrame:
    """点位达标率 = passed ÷ checked over the latest check per (point, static indicator)."""
    counts = query("point_counts", scope_id=scope_id, level=_check_level(level), as_of=as_of).copy()
    return _with_names(_compliance_rates(counts))


def _compliance_rates(counts: pd.DataFrame) -> pd.DataFrame:
    counts["compliance_rate"] = _rate_column(counts, "static_passed", "static_checked")
    counts["dynamic_clear_rate"] = _rate_column(counts, "dynamic_cleared", "points")
    return counts


# ── one unit scope at several days ─────────────────────────────────────────────────────

# metric → its count query and the rates computed from the counts (as the metric does)
_DAY_LISTS: dict[
    Callable[..., pd.DataFrame], tuple[str, Callable[[pd.DataFrame], pd.DataFrame]]
] = {
    rectification: ("rectification_counts", _rectification_rates),
    materials_completion: ("materials_counts", _completion_rates),
    point_compliance: ("point_counts", _compliance_rates),
}


def over_days(
    metric: Callable[..., pd.DataFrame], scope_id: int, days: Iterable[dt.date],
    level: str = "self", *, fetch: Callable[..., pd.DataFrame] | None = None,
) -> pd.DataFrame:  # fmt: skip
    """`metric(scope_id, day, level)` at each of `days` in one frame, from one day-list query
    (for `coverage`, one per campaign in force) instead of one call per day: the same counts
    and rates, each row with its day in `as_of` (ordered by day, then unit_id), without the
    unit name columns — for a page that reads a unit at several dates (the meeting board:
    today, a week ago, the coverage series). `metric` is rectification, coverage,
    materials_completion or point_compliance; coverage has no rows before any campaign.
    `fetch(name, **params)` answers the count queries (default: `query`; 周报's all-units
    numbers pass the served rows' lookup)."""
    days = sorted({_as_date(d) for d in days})
    level = _check_level(level)
    fetch = fetch or query
    if metric is coverage:
        return _coverage_over_days(scope_id, days, level, fetch)
    name, rates = _DAY_LISTS[metric]
    counts = fetch(name, scope_id=scope_id, level=level, days=tuple(days)).copy()
    counts["as_of"] = pd.to_datetime(counts["as_of"]).dt.date
    return rates(counts)


def _coverage_over_days(
    scope_id: int, days: list[dt.date], level: str, fetch: Callable[..., pd.DataFrame] = query
) -> pd.DataFrame:
    in_force = {day: campaign_at(day) for day in days}
    by_campaign: dict[int, list[dt.date]] = {}
    for day, campaign in in_force.items():
        if campaign is not None:
            by_campaign.setdefault(campaign.campaign_id, []).append(day)
    parts = [
        fetch(
            "coverage_counts",
            scope_id=scope_id,
            level=level,
            days=tuple(ds),
            campaign_id=campaign_id,
        )
        for campaign_id, ds in by_campaign.items()
    ]
    if not parts:
        empty = pd.DataFrame(columns=["as_of", "unit_id", *COVERAGE_COUNTS])
        return _coverage_rates(empty, pd.Series(dtype="int64"))
    counts = parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)
    counts = _kinds_summed(counts, ["as_of", "unit_id"])
    counts["as_of"] = pd.to_datetime(counts["as_of"]).dt.date
    windows = {d: pace_window_days(c, d) for d, c in in_force.items() if c is not None}
    return _coverage_rates(counts, counts["as_of"].map(windows))


def _kinds_summed(counts: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """counts.groupby(keys, as_index=False, sort=True)[COVERAGE_COUNTS].sum(): the subject
    kinds' counts of each key added up — by one sort and np.add.reduceat when the counts
    are plain integers (as the query returns them), else by the groupby itself."""
    plain = len(counts) and all(counts[c].dtype == "int64" for c in COVERAGE_COUNTS)
    if not plain or any(counts[k].hasnans for k in keys):
        return counts.groupby(keys, as_index=False, sort=True)[COVERAGE_COUNTS].sum()
    columns = [counts[k].to_numpy() for k in keys]
    order = np.lexsort(columns[::-1])  # by the first key, then the next …
    ordered = [c[order] for c in columns]
    change = np.zeros(len(order), dtype=bool)
    change[0] = True
    for c in ordered:
        change[1:] |= c[1:] != c[:-1]
    starts = np.flatnonzero(change)
    out = {k: c[starts] for k, c in zip(keys, ordered, strict=True)}
    for column in COVERAGE_COUNTS:
        out[column] = np.add.reduceat(counts[column].to_numpy()[order], starts)
    return pd.DataFrame(out)


# ── scores and ranks ───────────────────────────────────────────────────────────────────


def place_rank(values: pd.Series, *, higher_is_better: bool = True) -> pd.Series:
    """Places as people read them (competition ranking): ties share a place and the next
    place skips (1, 1, 3), so the last of 40 is 第 40 名. Missing → <NA>. Round the values
    to their displayed precision first: what reads the same ties."""
    ranks = values.rank(method="min", ascending=not higher_is_better, na_option="keep")
    return ranks.astype("Int64")


def tied(ranks: pd.Series) -> pd.Series:
    """True where another unit holds the same place (并列)."""
    return ranks.notna() & ranks.duplicated(keep=False)


def unit_scores(
    scope_id: int,
    assessment_id: int,
    level: str = "self",
    indicator_id: int | None = None,
    *,
    rank_within: str = "parent",
) -> pd.DataFrame:
    """A unit's score in one assessment, its gap to its city and its rank.

    gap_to_city = unit value − the value of the city the unit belongs to; rank = place_rank
    (higher is better) among units of the same kind and parent (rank_within='parent'), or
    among all units listed (rank_within='list', e.g. every street of the city); no score →
    no rank.
    """
    frame = _score_rows(scope_id, assessment_id, level, indicator_id).copy()
    frame["score_rate"] = frame["value"] / frame["max_value"]
    frame["gap_to_city"] = frame["value"] - frame["city_value"]
    if rank_within == "parent":
        groups = frame["parent_id"].fillna(-1)
    elif rank_within == "list":
        groups = pd.Series(0, index=frame.index)
    else:
        raise ValueError(f"unknown rank_within {rank_within!r}")
    frame["rank"] = _score_places(frame["value"], groups).array
    return _with_names(frame.drop(columns=["parent_id"]))


def _score_rows(
    scope_id: int, assessment_id: int, level: str, indicator_id: int | None = None
) -> pd.DataFrame:
    """queries/unit_scores.sql for the units of `level` under the scope (shared: do not mutate)."""
    return query(
        "unit_scores",
        scope_id=scope_id,
        level=_check_level(level),
        assessment_id=assessment_id,
        indicator_id=indicator_id,
    )


def _score_places(values: pd.Series, groups: pd.Series) -> pd.Series:
    """place_rank per group (a unit's peers: same parent) on the score as shown (0.01 分),
    vectorised (a groupby-apply costs a Python call per parent); Int64, <NA> = no score."""
    ranked = values.round(2).groupby(groups).rank(method="min", ascending=False, na_option="keep")
    return ranked.astype("Int64")


def score_values(scope_id: int, assessment_id: int, level: str = "self") -> pd.Series:
    """unit_id → overall score in one test (NaN = 无数据) of the units `unit_scores` lists:
    its value column, without the gap, rank and name work — for a page that only shows
    the values (a unit test by test, the units of a level)."""
    frame = _score_rows(scope_id, assessment_id, level)
    return pd.Series(frame["value"].array, index=pd.Index(frame["unit_id"].array), name="value")


def own_scores(unit_id: int, assessment_ids: list[int]) -> list[float]:
    """The unit's overall score in each of the tests (NaN = 无数据): score_values(unit_id,
    test)'s own value, read off the served rows at once when they hold every test."""
    found = served_unit_scores(int(unit_id), list(assessment_ids))
    if found is not None:
        return found
    values = (score_values(unit_id, int(a)).get(unit_id) for a in assessment_ids)
    return [float("nan") if v is None or pd.isna(v) else float(v) for v in values]


def score_places(scope_id: int, assessment_id: int, level: str = "self") -> pd.DataFrame:
    """unit_id, name and rank of the units `unit_scores` lists (the same places: the score
    as shown, 0.01 分, ranked among units of the same kind and parent), without its gap,
    rate and name-column work — for a page that only needs a unit's place among its
    peers (the meeting board's 排名 tile, through db.peer_rank)."""
    frame = _score_rows(scope_id, assessment_id, level)
    names, ids = _name_table()
    at = ids.get_indexer(frame["unit_id"])  # -1: not a unit (dropped, as _with_names does)
    kept = np.flatnonzero(at >= 0)
    values = pd.Series(frame["value"].to_numpy(dtype="float64")[kept])
    groups = pd.Series(frame["parent_id"].array.take(kept)).fillna(-1)
    return pd.DataFrame(
        {
            "unit_id": names["unit_id"].array.take(at[kept]),
            "name": names["name"].array.take(at[kept]),
            "rank": _score_places(values, groups).array,
        }
    )


@per_snapshot
def inherited_target_scores() -> dict[int, float]:
    """Each unit's target score, or that of its nearest ancestor that has one (the target
    every page judges a score by; read once per snapshot)."""
    frame = units()
    own = dict(zip(frame["unit_id"], frame["target_score"], strict=True))
    parent = dict(zip(frame["unit_id"], frame["parent_id"], strict=True))
    result: dict[int, float] = {}
    for unit_id in own:
        current, seen = unit_id, 0
        while current is not None and not pd.isna(current) and seen < 20:
            if not pd.isna(own.get(current)):
                result[unit_id] = float(own[current])
                break
            current, seen = parent.get(current), seen + 1
    return result


def assessments() -> pd.DataFrame:
    """Every assessment, newest first, with the number of overall scores it holds."""
    return query("assessments")


def scored_assessments(as_of: dt.date, kind: str = "overall") -> pd.DataFrame:
    """Assessments of `kind` that ended by as_of and have scores, newest first."""
    frame = assessments()
    ended = pd.to_datetime(frame["end_date"]).dt.date <= as_of
    return frame[ended & (frame["kind"] == kind) & (frame["overall_scores"] > 0)].reset_index(
        drop=True
    )


@per_snapshot
def latest_scored(as_of: dt.date, kind: str = "overall", n: int = 3) -> tuple[int, ...]:
    """The ids of the n newest assessments of `kind` scored by as_of (scored_assessments)."""
    return tuple(int(a) for a in scored_assessments(as_of, kind)["assessment_id"].head(n))


@dataclass(frozen=True)
class NextTest:
    assessment_id: int
    name: str
    level: str
    start_date: dt.date
    end_date: dt.date
    under_way: bool
    days_left: int  # days from as_of to start_date (0 while under way)


TEST_LEVELS = ("provincial", "national")


def next_test(as_of: dt.date) -> NextTest | None:
    """The provincial or national test under way at as_of, else the next one to start
    (the earliest start among those not yet ended; ties go to the lower id)."""
    # (id, name, level, start, end) of tests not yet ended; earliest start, then lowest id
    candidates = [t for t in _tests() if t[4] >= as_of]
    if not candidates:
        return None
    assessment_id, name, level, start, end = min(candidates, key=lambda t: (t[3], t[0]))
    return NextTest(
        assessment_id, name, level, start, end, start <= as_of, max(0, (start - as_of).days)
    )


@per_snapshot
def _tests() -> tuple[tuple[int, str, str, dt.date, dt.date], ...]:
    """(id, name, level, start, end) of every provincial or national test."""
    frame = assessments()
    return tuple(
        (
            int(r.assessment_id),
            str(r.name),
            str(r.level),
            _as_date(r.start_date),
            _as_date(r.end_date),
        )
        for r in frame.itertuples(index=False)
        if r.level in TEST_LEVELS
    )
