"""Every unit's numbers at a served day, read once per snapshot: the one all-units layer
the pages' own numbers at the default date come from (周报, 会议大屏, 本单位, 趋势).

At a day the served store holds (dashboard/served.py: the count queries computed for every
unit when the snapshot is written), each metric function of dashboard/metrics.py is
applied ONCE — through metrics.over_days, with the served rows as its `fetch` — to the
count rows of every unit, and every column it returns is kept as a float64 array by the
unit's position in the unit list (metrics._name_table). A page picks a unit's position,
or a level's positions, instead of running the metric function per page, level and day.
A unit's rows do not depend on the scope or level they were asked for (served.py), so
what a page picks equals the metric function's rows for its scope
(tests/test_unit_numbers.py). A day the store does not hold (a replayed ?as_of=) is not
here: callers ask `served_store` first and run the metric functions as before.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from dashboard import db, metrics

# source → the metric function (the rankings engine's sources) and the count query it reads
SOURCES: dict[str, Callable[..., pd.DataFrame]] = {
    "rectification": metrics.rectification,
    "coverage": metrics.coverage,
    "materials": metrics.materials_completion,
    "points": metrics.point_compliance,
}
COUNT_QUERY = {
    "rectification": "rectification_counts",
    "coverage": "coverage_counts",
    "materials": "materials_counts",
    "points": "point_counts",
}


def served_store(days: Iterable[dt.date], sources: Iterable[str] = tuple(SOURCES)):
    """The snapshot's served rows when they hold every count query of `sources` at every
    one of `days` (coverage: of the campaign in force that day; none before any campaign),
    else None (a replayed date: the metric functions run as before)."""
    store = db.served_store(db.file_identity())
    sources = tuple(sources)
    for day in days:
        campaign = metrics.campaign_at(day)
        for source in sources:
            if source == "coverage" and campaign is None:
                continue
            campaign_id = campaign.campaign_id if source == "coverage" else None
            if not store.holds(COUNT_QUERY[source], day, campaign_id):
                return None
    return store


def positions(unit_ids: np.ndarray) -> np.ndarray:
    """The units' positions in the unit list (metrics._name_table), ascending."""
    at = metrics._name_table()[1].get_indexer(np.asarray(unit_ids))
    return np.sort(at[at >= 0])


def position(unit_id: int) -> int | None:
    """The unit's position in the unit list, None when it is not a unit."""
    at = positions(np.array([unit_id]))
    return int(at[0]) if len(at) else None


@dataclass(frozen=True)
class Numbers:
    """A metric function's numbers for every unit at one day, by position in the unit
    list: `present` where the function has a row for the unit (its own value, level
    'self', equals its row at any level that lists it: served.py), each column as float64
    (missing as NaN), and the dtype the metric function gives each column."""

    present: np.ndarray
    columns: dict[str, np.ndarray]
    dtypes: dict[str, np.dtype]

    def column(self, name: str) -> np.ndarray:
        found = self.columns.get(name)
        return np.full(len(self.present), np.nan) if found is None else found

    def take(self, name: str, at: np.ndarray) -> np.ndarray:
        """The column at positions `at` (rows the function has), in the dtype the metric
        function gives it (a count as int64, as its frame holds it)."""
        values = self.column(name)[at]
        dtype = self.dtypes.get(name)
        if dtype is not None and dtype.kind in "iu" and not np.isnan(values).any():
            return values.astype(dtype)
        return values

    def row(self, at: int) -> dict[str, object]:
        """The unit's row as the metric frame's to_dict('records') gives it (without as_of
        and unit_id): counts as int, rates as float (NaN = 无数据)."""
        out: dict[str, object] = {}
        for name, values in self.columns.items():
            value = float(values[at])
            dtype = self.dtypes[name]
            out[name] = int(value) if dtype.kind in "iu" and value == value else value
        return out


@db.per_snapshot
def numbers(source: str, day: dt.date) -> Numbers:
    """metrics.over_days(source's function, scope, [day], level) of every unit at once:
    the function applied to the served count rows of every unit (callers check
    served_store first), read once per snapshot. No access check here (snapshot state): a
    caller picks the rows of the scope it was admitted to."""
    store = db.served_store(db.file_identity())
    ids = metrics._name_table()[1]
    every = store.units["unit_id"].to_numpy()

    def fetch(name: str, **params: object) -> pd.DataFrame:
        frame = store.lookup(name, params, units=every)
        if frame is None:
            raise LookupError(f"{name} at {day} is not served")
        return frame

    root = int(every[0]) if len(every) else 0
    frame = metrics.over_days(SOURCES[source], root, [day], "self", fetch=fetch)
    n = len(ids)
    at = ids.get_indexer(frame["unit_id"].to_numpy())
    kept = at >= 0
    present = np.zeros(n, dtype=bool)
    present[at[kept]] = True
    columns: dict[str, np.ndarray] = {}
    dtypes: dict[str, np.dtype] = {}
    for column in frame.columns:
        if column in ("as_of", "unit_id"):
            continue
        values = pd.to_numeric(frame[column], errors="coerce")
        dtypes[column] = values.dtype if isinstance(values.dtype, np.dtype) else np.dtype("float64")
        values = values.to_numpy("float64", na_value=np.nan)
        columns[column] = np.full(n, np.nan)
        columns[column][at[kept]] = values[kept]
    return Numbers(present, columns, dtypes)


def own_rows(source: str, unit_id: int, days: Iterable[dt.date]) -> dict[dt.date, dict] | None:
    """The unit's own row of the source's metric (level 'self') at each of `days` that has
    one, from the all-units numbers; None when the served rows do not hold every day (the
    caller runs metrics.over_days). The access check is the caller's (db.require_scope)."""
    days = list(days)
    if served_store(days, (source,)) is None:
        return None
    at = position(unit_id)
    if at is None:
        return None
    out = {}
    for day in days:
        found = numbers(source, day)
        if found.present[at]:
            out[day] = found.row(at)
    return out


def own_rows_or_live(source: str, unit_id: int, days: Iterable[dt.date]) -> dict[dt.date, dict]:
    """The unit's own row of the source's metric at each of `days` that has one: own_rows
    at served days, else the rows of one metric frame (metrics.over_days, as
    to_dict('records') gives them). The access check is the caller's."""
    days = list(days)
    found = own_rows(source, unit_id, days)
    if found is not None:
        return found
    frame = metrics.over_days(SOURCES[source], unit_id, days)
    return {row["as_of"]: row for row in frame.to_dict("records")}


# ── every unit's metric frame (本单位: a unit's own frame picked, not computed) ───────────

# source → the metric function called for every unit's frame (coverage per subject kind:
# metrics.coverage(…, by_kind=True), 本单位's 走访进度 by kind)
FRAME_SOURCES: dict[str, Callable[..., pd.DataFrame]] = {
    "coverage": metrics.coverage,
    "coverage_by_kind": functools.partial(metrics.coverage, by_kind=True),
    "materials": metrics.materials_completion,
}


@dataclass(frozen=True)
class UnitFrames:
    """A metric function's frame (level 'self', names included) for every unit at one
    day: the rows in unit-list order, and where each unit's rows start and end (by its
    position in the unit list)."""

    frame: pd.DataFrame
    starts: np.ndarray
    ends: np.ndarray

    def of(self, at: int) -> pd.DataFrame | None:
        """The unit's rows as the metric function gives them for it alone (index 0..n-1);
        None when it has none (the caller runs the function: an empty frame's dtypes are
        the query's, not these)."""
        lo, hi = int(self.starts[at]), int(self.ends[at])
        return self.frame.iloc[lo:hi].reset_index(drop=True) if hi > lo else None


@db.per_snapshot
def unit_frames(source: str, day: dt.date) -> UnitFrames | None:
    """FRAME_SOURCES[source](root, day, 'self') for every unit at once — the metric
    function itself, with the served count rows of every unit as its `fetch` (callers
    check served_store first) — read once per snapshot. None when a unit's frame could
    not be told from its rows of this one: a count column that is NULL somewhere (a
    nullable dtype, which a unit's own frame would not have) or no campaign (coverage).
    No access check here (snapshot state): the caller's (db.require_scope)."""
    metric = FRAME_SOURCES[source]
    if source.startswith("coverage") and metrics.campaign_at(day) is None:
        return None
    store = db.served_store(db.file_identity())
    every = store.units["unit_id"].to_numpy()

    def fetch(name: str, **params: object) -> pd.DataFrame:
        # as db.query answers one day of a day-list query: the day's rows, without as_of
        params["days"] = (params.pop("as_of"),)
        frame = store.lookup(name, params, units=every)
        if frame is None:
            raise LookupError(f"{name} at {day} is not served")
        return frame.drop(columns="as_of")

    root = int(every[0]) if len(every) else 0
    frame = metric(root, day, "self", fetch=fetch)
    if not all(_pickable(frame[c]) for c in frame.columns if c not in metrics.NAME_COLUMNS):
        return None
    at = positions(frame["unit_id"].to_numpy())  # each row's unit (rows in unit order)
    every_position = np.arange(len(metrics.units()))
    return UnitFrames(
        frame,
        np.searchsorted(at, every_position, side="left"),
        np.searchsorted(at, every_position, side="right"),
    )


def _pickable(column: pd.Series) -> bool:
    """True when a unit's slice of this column has the dtype and values its own frame
    would: a plain numpy column (a rate's NaN is its value), or text without a NULL."""
    if isinstance(column.dtype, np.dtype):
        return column.dtype.kind == "f" or not column.hasnans
    return isinstance(column.dtype, pd.StringDtype) and not column.hasnans


def own_frame(source: str, unit_id: int, day: dt.date) -> pd.DataFrame | None:
    """FRAME_SOURCES[source](unit_id, day)'s frame picked from every unit's (unit_frames)
    at a served day; None at any other day or when it cannot be picked (the caller runs
    the metric function). The access check is the caller's (db.require_scope)."""
    if served_store([day], (source.removesuffix("_by_kind"),)) is None:
        return None
    at = position(unit_id)
    frames = unit_frames(source, day) if at is not None else None
    return None if frames is None else frames.of(at)
