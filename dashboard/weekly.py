"""周报: the week-over-week review — what happened in one Mon–Sun week and how units moved.

A week runs Monday to Sunday. The default week is the last complete one before the as-of
date: the week ending on the latest Sunday strictly before as_of (as_of itself may still
be under way), so on Wednesday 2026-06-10 it is 2026-06-01..06-07, and on Monday
2026-06-15 it is 2026-06-08..06-14.

Week-over-week compares each metric at the week's end (Sunday) with the previous week's
end, both computed by the metric functions of dashboard/metrics.py as of those days.
Events in the week (newly found, newly rectified, newly overdue) come from
queries/weekly_problem_*.sql. Red flags are evaluated by dashboard/flags.py at both week
ends and matched on (rule, unit, owner): appeared, stayed, or cleared.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from dashboard import flags, metrics, rankings, unit_numbers
from dashboard.db import (
    FileIdentity,
    batch_memo,
    file_identity,
    per_snapshot,
    query,
    query_rows,
    require_scope,
    result_cache,
)

WEEK = dt.timedelta(days=7)

# One computation per snapshot of each week's numbers (the changes of a metric at a level,
# the summary, the flag changes): the page, the bulletin on it and the downloads all read
# the same results, kept in a db.result_cache (shallow copies, one computation under
# concurrent misses); the access check runs first.
_COMPUTE: dict[str, Callable[..., object]] = {}


@result_cache(max_entries=256)
def _shared(identity: FileIdentity, name: str, args: tuple) -> object:
    return _COMPUTE[name](*args)


def _once(name: str, args: tuple, compute: Callable[..., object]) -> object:
    """compute(*args), once per snapshot and (name, args)."""
    _COMPUTE.setdefault(name, compute)
    return _shared(file_identity(), name, args)


# ── weeks ──────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True, order=True)
class Week:
    """One Monday–Sunday week."""

    start: dt.date

    @classmethod
    def containing(cls, day: dt.date) -> Week:
        return cls(day - dt.timedelta(days=day.weekday()))

    @property
    def end(self) -> dt.date:
        return self.start + dt.timedelta(days=6)

    @property
    def prev_end(self) -> dt.date:
        """The Sunday before the week: the baseline of every week-over-week change."""
        return self.start - dt.timedelta(days=1)

    @property
    def previous(self) -> Week:
        return Week(self.start - WEEK)

    @property
    def iso_year(self) -> int:
        return self.start.isocalendar().year

    @property
    def iso_week(self) -> int:
        return self.start.isocalendar().week

    @property
    def title(self) -> str:
        """2026年第23周"""
        return f"{self.iso_year}年第{self.iso_week}周"

    @property
    def span(self) -> str:
        """06-01—06-07"""
        return f"{self.start:%m-%d}—{self.end:%m-%d}"

    @property
    def label(self) -> str:
        return f"{self.title}（{self.span}）"


def default_week(as_of: dt.date) -> Week:
    """The last complete Mon–Sun week before as_of (ending on the latest Sunday < as_of)."""
    days_since_sunday = (as_of.weekday() + 1) % 7 or 7
    return Week.containing(as_of - dt.timedelta(days=days_since_sunday))


def recent_weeks(as_of: dt.date, n: int = 12) -> list[Week]:
    """The n complete weeks before as_of, newest first."""
    latest = default_week(as_of)
    return [Week(latest.start - i * WEEK) for i in range(n)]


# ── metrics compared week over week ──────────────────────────────────────────────────


WEEKLY_METRICS = ("rectification_rate", "coverage_rate", "completion_rate")
COMPARISON_KINDS = ("district", "street", "community", "department", "group")
_UNIT_COLUMNS = ["unit_id", "name", "kind", "parent_id", "sort_order"]


# The metric frames at the previous week's end, memoised for the page's as-of batch under
# the metric function's own name (db.batch_memo): the ranking at the week's end already
# asked for them (its comparison day), so 整改率 and 走访覆盖率 read its frames. Only read.
_BEFORE: dict[str, Callable[..., pd.DataFrame]] = {
    "rectification": batch_memo(metrics.rectification),
    "coverage": lambda scope_id, day, level: _coverage(scope_id, day, level, by_kind=False),
    "materials": batch_memo(metrics.materials_completion),
}
_coverage = batch_memo(metrics.coverage)


def metric(key: str) -> rankings.RankMetric:
    """The allow-listed metric (label, numerator and denominator names) of the rankings
    engine: the one mapping from metric keys to Chinese labels."""
    return rankings.metric(key)


def metric_values(key: str, scope_id: int, as_of: dt.date, level: str = "self") -> pd.DataFrame:
    """unit_id, name, kind, parent_id, sort_order, value, numerator, denominator of a rate
    metric, straight from dashboard/metrics.py (level 'self' = the scope's own value)."""
    m = metric(key)
    frame = unit_numbers.SOURCES[m.source](scope_id, as_of, level)
    # Without a campaign, coverage comes back without its rate columns: 无数据 throughout.
    frame = frame.reindex(columns=[*_UNIT_COLUMNS, m.value, m.numerator, m.denominator])
    out = frame[_UNIT_COLUMNS].copy()
    for column, source in (("value", m.value), ("numerator", m.numerator),
                           ("denominator", m.denominator)):  # fmt: skip
        out[column] = pd.to_numeric(frame[source], errors="coerce").astype("float64")
    return out.reset_index(drop=True)


def ranking_at(key: str, scope_id: int, level: str, as_of: dt.date) -> pd.DataFrame:
    """rankings.ranking, or every unit as 无数据 for coverage before any campaign started
    (metrics.coverage then returns no rate columns for the engine to rank)."""
    if metric(key).source == "coverage" and metrics.campaign_at(as_of) is None:
        frame = metric_values(key, scope_id, as_of, level)
        if frame.empty:
            frame = query("units_in_scope", scope_id=scope_id)
            frame = frame[frame["kind"] == level][_UNIT_COLUMNS].reset_index(drop=True)
            for column in ("value", "numerator", "denominator"):
                frame[column] = float("nan")
        frame["rank"] = pd.Series(pd.NA, index=frame.index, dtype="Int64")
        frame["tied"] = False
        frame["ranked_of"] = 0
        frame["prev_rank"] = frame["rank"]
        frame["rank_change"] = "—"
        return frame
    return rankings.ranking(key, scope_id, level, as_of)


def changes(key: str, scope_id: int, week: Week, level: str) -> pd.DataFrame:
    """The ranking (dashboard/rankings.py) of every unit of `level` at the week's end, with
    the value at the previous week's end, the change (rate units; ×100 = 个百分点), rank,
    prev_rank (at the previous week's end), rank_change (↑2 / ↓1 / 持平 / 新 / —) and
    rank_moved (prev_rank − rank as a number). Ranked units first, then 无数据.
    Computed once per snapshot; do not mutate the frame in place (copy-on-write copies)."""
    require_scope(scope_id)  # this memo sits above the query runner's access check
    metric(key)  # an unknown key is refused before anything is computed
    frames = _once("level_changes", (scope_id, week, level), _level_changes)
    if key not in frames:
        frames = {key: _once("changes", (key, scope_id, week, level), _changes)}
    return frames[key].copy(deep=False)


def _level_changes(scope_id: int, week: Week, level: str) -> dict[str, pd.DataFrame]:
    """`changes` of every WEEKLY_METRICS key at one level: each source's values at both
    week ends (at a served week, the snapshot's all-units numbers picked for the level's
    units; else one day-list lookup, metrics.over_days), ranked by the rankings engine
    (the frames rankings.ranking gives) and compared with the previous week's end."""
    level = metrics._check_level(level)
    days = (week.prev_end, week.end)
    store = _served_store(days)
    positions = None if store is None else unit_numbers.positions(store.ranked(scope_id, level))
    units: dict[bytes, dict] = {}  # the unit columns of each set of rows, taken once
    out = {}
    for key in WEEKLY_METRICS:
        m = metric(key)
        if m.source == "coverage" and metrics.campaign_at(week.end) is None:
            out[key] = _changes(key, scope_id, week, level)  # every unit 无数据
            continue
        if positions is not None:
            now, before = (
                rankings._picked_values(m, unit_numbers.numbers(m.source, day), positions, units)
                for day in (week.end, week.prev_end)
            )
        else:
            rows = metrics.over_days(unit_numbers.SOURCES[m.source], scope_id, days, level)
            stamps = rows["as_of"].to_numpy(dtype=object)
            # the rows' units and numbers read once for both days
            at = metrics._name_table()[1].get_indexer(rows["unit_id"].to_numpy())  # -1: none
            numbers = _Floats(rows)
            now, before = (
                _values_at(m, numbers, at, stamps == day) for day in (week.end, week.prev_end)
            )
        now = pd.DataFrame(now)  # the previous week's end stays arrays (only read by column)
        # the ranking's columns (in its order) with the week's change: one frame built
        ranked = rankings._ranked_columns(m, m.rule, now, before, True, week.end, None)
        out[key] = _with_previous(m, ranked, before)
    return out


# ── the snapshot's numbers of every unit at a served day (dashboard/unit_numbers.py) ──

# the metric sources a week reads (WEEKLY_METRICS' and the totals of 整改率's)
_WEEK_SOURCES = ("rectification", "coverage", "materials")


def _served_store(days: tuple[dt.date, ...]):
    """The snapshot's served rows when they hold every count a week reads at `days`, else
    None (a replayed week: the metric functions run as before)."""
    return unit_numbers.served_store(days, _WEEK_SOURCES)


def warm(as_of: dt.date) -> None:
    """Read the snapshot state a default week's 周报 reads (every unit's numbers at both
    week ends, every scope's flag changes) ahead of the first page: no scope's result, so
    no access check is needed (startup.warm_up_in_background)."""
    week = default_week(as_of)
    days = (week.prev_end, week.end)
    if _served_store(days) is not None:
        for source in _WEEK_SOURCES:
            for day in days:
                unit_numbers.numbers(source, day)
    units = metrics.units()
    roots = units.loc[units["parent_id"].isna(), "unit_id"]
    if len(roots):
        rules = flags.rules_or_last_good()[0]
        fingerprint = flags.snapshot_fingerprint(
            int(roots.iloc[0]), [week.end, week.prev_end], rules
        )
        if fingerprint is not None:
            _stored_flag_changes(fingerprint, week.end, week.prev_end)


class _Floats(dict):
    """A frame's columns as float64 arrays (missing as NaN), each converted when first read."""

    def __init__(self, frame: pd.DataFrame) -> None:
        super().__init__()
        self.frame = frame

    def __missing__(self, column: str) -> np.ndarray:
        self[column] = pd.to_numeric(self.frame[column]).to_numpy("float64", na_value=np.nan)
        return self[column]


def _values_at(
    m: rankings.RankMetric, numbers: _Floats, at: np.ndarray, picked: np.ndarray
) -> dict[str, object]:
    """rankings._value_frame of the metric function's frame made of the rows `picked` (one
    day of metrics.over_days; `numbers` its columns as floats, `at` each row's position in
    the unit list), built directly: the unit columns joined by position in the units'
    official order (as metrics._with_names joins them), the metric's columns as floats (as
    _value_frame reads them; the weekly metrics have no 无数据 rule of their own), and for
    走访覆盖率 the pace behind its projection. Its columns as arrays, in the frame's order."""
    assert m.key in WEEKLY_METRICS and m.denominator is not None
    names = metrics._name_table()[0]
    rows_at = np.flatnonzero(picked & (at >= 0))
    taken = rows_at[np.argsort(at[rows_at], kind="stable")]
    columns = {c: names[c].array.take(at[taken]) for c in _UNIT_COLUMNS}
    columns["value"] = numbers[m.value][taken]
    if m.source == "coverage":
        for column in ("pace_per_day", "pace_window_days"):
            columns[column] = numbers[column][taken]
    columns["numerator"] = numbers[m.numerator][taken]
    columns["denominator"] = numbers[m.denominator][taken]
    return columns


def _with_previous(
    m: rankings.RankMetric,
    now: pd.DataFrame | dict[str, object],
    before: pd.DataFrame | dict[str, object],
) -> pd.DataFrame:
    """A ranking at the week's end (a frame, or rankings._ranked_columns' arrays) with the
    values at the previous week's end (`before`: value, numerator, denominator by unit_id),
    the change as shown and rank_moved, as one frame."""
    if isinstance(now, pd.DataFrame):
        now = {c: now[c].array for c in now.columns}
    columns = dict(now)
    at = pd.Index(before["unit_id"]).get_indexer(np.asarray(now["unit_id"]))
    for name in ("value", "numerator", "denominator"):
        values = np.full(len(at), np.nan)
        known = np.asarray(before[name], dtype="float64")  # floats (_value_frame, _values_at)
        values[at >= 0] = known[at[at >= 0]]
        columns[f"{name}_prev"] = values
    # the change between the values as shown (0.1%): 96.9% → 97.0% is +0.1, never 持平
    value = np.asarray(now["value"], dtype="float64")
    columns["change"] = np.round(value, m.digits) - np.round(columns["value_prev"], m.digits)
    columns["rank_moved"] = pd.array(now["prev_rank"] - now["rank"], dtype="Int64")
    return pd.DataFrame(columns)


def _changes(key: str, scope_id: int, week: Week, level: str) -> pd.DataFrame:
    """`changes` of one metric: its ranking at the week's end and the metric function's
    values at the previous week's end (the ranking's own comparison day)."""
    now = ranking_at(key, scope_id, level, week.end)
    m = metric(key)
    before = rankings._value_frame(m, _BEFORE[m.source](scope_id, week.prev_end, level))
    return _with_previous(m, now, before)


def movers(frame: pd.DataFrame, n: int = 3) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The n most improved (largest rise) and n most declined (largest fall) units of a
    `changes` frame, ties at the nth included (changes as shown, 0.1 个百分点); units
    without a value at both week ends are left out."""
    up, down, shown = mover_order(frame)
    return _with_ties(frame, up, shown, n), _with_ties(frame, down, shown, n)


def mover_order(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The positions in `frame` (a `changes` frame) of the units that rose, largest rise
    first, and of those that fell, largest fall first (then official order, then unit id),
    and the changes as shown: the order `movers` takes its n from."""
    shown = frame["change"].round(6).to_numpy(dtype="float64", na_value=np.nan)
    order = frame["sort_order"].to_numpy(dtype="float64", na_value=np.nan)
    unit = frame["unit_id"].to_numpy(dtype="float64", na_value=np.nan)
    rows = np.arange(len(frame))
    up = rows[shown > 0]
    down = rows[shown < 0]
    # largest rise (fall) first, then official order, then unit id (a stable sort)
    up = up[np.lexsort((unit[up], order[up], -shown[up]))]
    down = down[np.lexsort((unit[down], order[down], shown[down]))]
    return up, down, shown


def _with_ties(frame: pd.DataFrame, ordered: np.ndarray, shown: np.ndarray, n: int) -> pd.DataFrame:
    """The first n rows (positions `ordered` of `frame`), and every further row tied with
    the nth on the shown change (a unit is never left out of 进步最大 for sorting after an
    equal one); `mover_tied` marks 并列."""
    if len(ordered) > n:
        ordered = ordered[np.isin(shown[ordered], shown[ordered[:n]])]
    values = shown[ordered]
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    out = frame.iloc[ordered].reset_index(drop=True)
    out["mover_tied"] = counts[inverse] > 1
    return out


def comparison_levels(scope_id: int) -> list[str]:
    """The unit kinds below the scope that a week can be compared across, in tree order."""
    require_scope(scope_id)  # this memo sits above the query runner's access check
    return list(_once("levels", (scope_id,), _comparison_levels))  # a page asks often


def _comparison_levels(scope_id: int) -> tuple[str, ...]:
    kinds = set(rankings.level_options(scope_id))  # the kinds under it, from the unit list
    return tuple(k for k in COMPARISON_KINDS if k in kinds)


# ── events in the week ─────────────────────────────────────────────────────────────────


def problem_counts(scope_id: int, week: Week, level: str = "self") -> pd.DataFrame:
    """Per unit: found_in_week, rectified_in_week, newly_overdue, newly_overdue_severe.
    The scope's own row and every comparison level's, this week's and the week before's,
    come from one query per snapshot (the summary reads the scope's two weeks from it)."""
    return _counts_in(scope_id, week, metrics._check_level(level), week.start)


def _counts_in(scope_id: int, week: Week, level: str, start: dt.date) -> pd.DataFrame:
    """problem_counts of the week starting `start` (`week` or the one before it)."""
    require_scope(scope_id)  # this memo sits above the query runner's access check
    counts = _counts_for(scope_id, week, (level,), (start,))
    if level not in ("self", *comparison_levels(scope_id)):
        # no unit of that kind under the scope: the query's (empty) answer for it
        counts = _counts_query(scope_id, (level,), (start,))
    picked = (counts["level"].to_numpy(dtype=object) == level) & (
        counts["week_start"].to_numpy() == np.datetime64(start)
    )
    counts = counts[picked].drop(columns=["level", "week_start"]).reset_index(drop=True)
    # the unit columns with display names in front, official order (an inner join)
    columns = [*_UNIT_COLUMNS, *(c for c in counts.columns if c != "unit_id")]
    return metrics._with_names(counts)[columns]


def _own_counts(scope_id: int, week: Week, start: dt.date) -> dict[str, object]:
    """The first row of problem_counts(scope_id, week starting `start`, "self") as plain
    values (name, found_in_week, rectified_in_week, newly_overdue, newly_overdue_severe),
    picked by position from the snapshot's counts rather than built as a frame."""
    require_scope(scope_id)  # this memo sits above the query runner's access check
    counts = _counts_for(scope_id, week, ("self",), (week.previous.start, week.start))
    picked = np.flatnonzero(
        (counts["level"].to_numpy(dtype=object) == "self")
        & (counts["week_start"].to_numpy() == np.datetime64(start))
    )
    names, ids = metrics._name_table()
    at = ids.get_indexer(counts["unit_id"].to_numpy()[picked])  # -1: not a unit
    kept = np.flatnonzero(at >= 0)
    if not len(kept):
        raise IndexError("single positional indexer is out-of-bounds")
    first = kept[np.argmin(at[kept])]  # the first in the units' official order
    out: dict[str, object] = {"name": str(names["name"].iloc[at[first]])}
    for column in ("found_in_week", "rectified_in_week", "newly_overdue", "newly_overdue_severe"):
        out[column] = int(counts[column].to_numpy()[picked[first]])
    return out


def _counts_for(
    scope_id: int, week: Week, levels: tuple[str, ...], starts: tuple[dt.date, ...]
) -> pd.DataFrame:
    """Rows of weekly_problem_counts holding `levels` at `starts` (of `week` and the week
    before it): at served weeks a lookup of just those rows; else the one query per
    snapshot of every comparison level at both weeks (_week_counts)."""
    from dashboard import db

    store = db.served_store(file_identity())
    if all(store.holds("weekly_problem_counts", start) for start in starts):
        return _counts_query(scope_id, levels, starts)
    return _once("problem_counts", (scope_id, week), _week_counts)


def _week_counts(scope_id: int, week: Week) -> pd.DataFrame:
    levels = ("self", *comparison_levels(scope_id))
    return _counts_query(scope_id, levels, (week.previous.start, week.start))


def _counts_query(scope_id: int, levels: tuple[str, ...], starts: tuple[dt.date, ...]):
    return query("weekly_problem_counts", scope_id=scope_id, levels=levels, week_starts=starts)


def problem_events(scope_id: int, week: Week) -> pd.DataFrame:
    """Every problem of the scope found, rectified or newly overdue in the week."""
    return metrics.with_display_names(
        query("weekly_problem_events", scope_id=scope_id, week_start=week.start, week_end=week.end)
    )


# ── red flags at the two week ends ────────────────────────────────────────────────────

FLAG_STATUS = {"appeared": "本周新增", "stayed": "持续", "cleared": "本周解除"}
_FLAG_COLUMNS = [
    "status",
    "flag_key",
    "rule_id",
    "rule_name",
    "severity",
    "severity_label",
    "unit_id",
    "unit_name",
    "owner_id",
    "owner_name",
    "metric",
    "value_text",
    "deadline",
    "weeks_red",
    "priority",
]


def flag_changes(scope_id: int, week: Week) -> pd.DataFrame:
    """Flags at the week's end vs the previous week's end, matched on the engine's
    Flag.key (rule, unit, owner …):
    appeared (only now), stayed (both), cleared (only before). Rows of appeared/stayed
    describe the flag now; cleared rows describe it as it was. Computed once per snapshot
    and rules file (the flags at the default week's ends are precomputed in the snapshot;
    another week evaluates every rule twice)."""
    require_scope(scope_id)  # this memo sits above the query runner's access check
    rules = flags.CONFIG_PATH
    rules_stamp = rules.stat().st_mtime_ns if rules.exists() else 0
    frame = _once(
        "flag_changes", (rules_stamp, scope_id, week), lambda _stamp, s, w: _flag_changes(s, w)
    )
    return frame.copy(deep=False)


def _flag_changes(scope_id: int, week: Week) -> pd.DataFrame:
    rules = flags.rules_or_last_good()[0]
    days = [week.end, week.prev_end]
    fingerprint = flags.snapshot_fingerprint(scope_id, days, rules)
    if fingerprint is not None:  # both ends' flags are in the snapshot: matched there
        # every scope's rows matched and ordered once per snapshot and week: a lookup
        rows = list(_stored_flag_changes(fingerprint, week.end, week.prev_end).get(scope_id, ()))
        return pd.DataFrame(rows, columns=_FLAG_COLUMNS)
    now, before = flags.evaluate_days(scope_id, days, rules)
    before_keys = {f.key for f in before}
    now_keys = {f.key for f in now}
    rows = [_flag_row("stayed" if f.key in before_keys else "appeared", f) for f in now]
    rows += [_flag_row("cleared", f) for f in before if f.key not in now_keys]
    return pd.DataFrame(_flag_order(rows), columns=_FLAG_COLUMNS)


def _flag_order(rows: list[tuple]) -> list[tuple]:
    """Rows of _FLAG_COLUMNS in the page's order: status, priority (highest first), rule,
    unit, owner, then the key as text."""
    order = {"appeared": 0, "stayed": 1, "cleared": 2}
    return sorted(rows, key=lambda r: (order[r[0]], -r[14], r[2], r[6], r[8] or 0, str(r[1])))


@per_snapshot
def _stored_flag_changes(
    fingerprint: str, week_end: dt.date, prev_end: dt.date
) -> dict[int, tuple[tuple, ...]]:
    """scope → its flag changes between two stored days (flag_snapshot, matched by
    queries/weekly_flag_changes.sql for every scope at once) as rows of _FLAG_COLUMNS in
    the page's order. Snapshot state, no access check: a caller takes its scope's rows."""
    _names, found = query_rows(
        "weekly_flag_changes", rules=fingerprint, week_end=week_end, prev_as_of=prev_end
    )
    labels = flags.SEVERITY_LABEL
    text: dict[str, str] = {}  # each distinct text held once (names, rules, labels)
    by_scope: dict[int, list[tuple]] = {}
    # the query's columns: status, rule_id, rule_name, severity, unit_id … priority
    # (_FLAG_COLUMNS from rule_id on, severity_label left out), subject, scope_id
    for r in found:
        r = tuple(text.setdefault(v, v) if isinstance(v, str) else v for v in r)
        row = (r[0], (r[1], r[4], r[6], r[13]), *r[1:4], labels.get(r[3], r[3]), *r[4:13])
        by_scope.setdefault(r[14], []).append(row)
    return {scope: tuple(_flag_order(rows)) for scope, rows in by_scope.items()}


def _flag_row(status: str, f: flags.Flag) -> tuple:
    """A flag as a row of _FLAG_COLUMNS."""
    return (
        status, f.key, f.rule_id, f.rule_name, f.severity, f.severity_label, f.unit_id,
        f.unit_name, f.owner_id, f.owner_name, f.metric, f.value_text, f.deadline,
        f.weeks_red, f.priority,
    )  # fmt: skip


# ── the week in one object ─────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class RateChange:
    key: str
    label: str
    value: float | None
    value_prev: float | None
    numerator: int
    denominator: int

    @property
    def change(self) -> float | None:
        if self.value is None or self.value_prev is None:
            return None
        return self.value - self.value_prev


@dataclass(frozen=True)
class WeeklySummary:
    """The scope's totals for one week, as the page and the bulletin tell them."""

    scope_id: int
    scope_name: str
    week: Week
    found: int
    rectified: int
    newly_overdue: int
    newly_overdue_severe: int
    found_prev_week: int
    rectified_prev_week: int
    newly_overdue_prev_week: int
    found_total: int  # found by the week's end
    rectified_total: int
    overdue_open: int  # overdue at the week's end
    overdue_open_severe: int
    rates: dict[str, RateChange] = field(default_factory=dict)
    next_test: metrics.NextTest | None = None

    @property
    def found_change(self) -> int:
        return self.found - self.found_prev_week

    @property
    def rectified_change(self) -> int:
        return self.rectified - self.rectified_prev_week

    @property
    def newly_overdue_change(self) -> int:
        return self.newly_overdue - self.newly_overdue_prev_week


def _own_rate(
    columns: dict[str, np.ndarray], m: rankings.RankMetric, row: int | None
) -> tuple | None:
    """(value, numerator, denominator) of the scope's own row (position `row` of a metric
    function's columns as floats, level 'self'), as `metric_values` reads them: None for a
    missing number; None for all when the frame has no row."""
    if row is None:
        return None
    return tuple(
        None
        if column not in columns or np.isnan(columns[column][row])
        else float(columns[column][row])
        for column in (m.value, m.numerator, m.denominator)
    )


def _first(picked: np.ndarray) -> int | None:
    """The first position where `picked` holds, None when none does."""
    at = np.flatnonzero(picked)
    return int(at[0]) if len(at) else None


def summary(scope_id: int, week: Week) -> WeeklySummary:
    """The scope's totals for the week (computed once per snapshot: the page and the
    bulletin tell the same numbers)."""
    require_scope(scope_id)  # this memo sits above the query runner's access check
    return _once("summary", (scope_id, week), _summary)


def _summary(scope_id: int, week: Week) -> WeeklySummary:
    this = _own_counts(scope_id, week, week.start)
    last = _own_counts(scope_id, week, week.previous.start)
    # Each source's own row at both week ends: at a served week, the scope's position in
    # the snapshot's all-units numbers; else from one day-list lookup (metrics.over_days:
    # the metric functions' counts and rates), 整改率 and the totals sharing one frame.
    # Its numbers read once per source as float arrays, a row picked by position per day.
    own: dict[tuple[str, dt.date], int | None] = {}
    numbers: dict[object, dict[str, np.ndarray]] = {}
    days = (week.prev_end, week.end)
    store = _served_store(days)
    at = (
        unit_numbers.positions(np.array([scope_id]))
        if store is not None
        else np.array([], dtype=int)
    )
    served_own = len(at) == 1
    for source in sorted({metric(key).source for key in WEEKLY_METRICS} | {"rectification"}):
        if served_own:
            for day in days:
                found = unit_numbers.numbers(source, day)
                numbers[(source, day)] = found.columns
                own[(source, day)] = int(at[0]) if found.present[at[0]] else None
            continue
        frame = metrics.over_days(unit_numbers.SOURCES[source], scope_id, days, "self")
        stamps = frame["as_of"].to_numpy(dtype=object)
        columns = {
            c: pd.to_numeric(frame[c], errors="coerce").to_numpy("float64", na_value=np.nan)
            for c in frame.columns
            if c not in ("as_of", "unit_id")
        }
        for day in days:
            numbers[(source, day)] = columns
            own[(source, day)] = _first(stamps == day)
    rect_row = own[("rectification", week.end)]
    if rect_row is None:
        raise IndexError("single positional indexer is out-of-bounds")
    rect = {c: int(numbers[("rectification", week.end)][c][rect_row])
            for c in ("found", "rectified", "overdue", "overdue_severe")}  # fmt: skip
    rates = {}
    for key in WEEKLY_METRICS:
        m = metric(key)
        now = _own_rate(numbers[(m.source, week.end)], m, own[(m.source, week.end)])
        before = _own_rate(numbers[(m.source, week.prev_end)], m, own[(m.source, week.prev_end)])
        rates[key] = RateChange(
            key,
            m.label,
            None if now is None else now[0],
            None if before is None else before[0],
            0 if now is None else int(now[1]),
            0 if now is None else int(now[2]),
        )
    return WeeklySummary(
        scope_id=scope_id,
        scope_name=this["name"],
        week=week,
        found=this["found_in_week"],
        rectified=this["rectified_in_week"],
        newly_overdue=this["newly_overdue"],
        newly_overdue_severe=this["newly_overdue_severe"],
        found_prev_week=last["found_in_week"],
        rectified_prev_week=last["rectified_in_week"],
        newly_overdue_prev_week=last["newly_overdue"],
        found_total=rect["found"],
        rectified_total=rect["rectified"],
        overdue_open=rect["overdue"],
        overdue_open_severe=rect["overdue_severe"],
        rates=rates,
        next_test=metrics.next_test(week.end),
    )
