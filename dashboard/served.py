"""Served numbers: the per-unit count queries, answered once for every unit and served.

Data changes when a snapshot is written and is read all day, so the queries every page
reads its numbers from — the counts behind 整改率, 走访覆盖率, 台账完成率, 点位达标率 and the
test scores (SERVED) — are run when the snapshot is written, for EVERY unit, at every day
the pages read at the snapshot's default date (`served_days`: the day, a week and the
rank-comparison day before it, the ends of the weekly bulletin's recent weeks, the
coverage series back to the campaign's start) and for every scored test. The results are
stored in the snapshot (tables served_<query>, derived.sql) and `db.query` answers a
request for one of those days from them: a filter, in memory, of rows the same query
computed — so there is still one definition of each number (queries/<name>.sql), and a
request for any other day (a replayed ?as_of=) runs the query as before.

Each query's rows for a unit do not depend on the scope or level it was asked for (they
are counts over the unit's own subtree), which is what makes "every unit once" equal to
"this scope's units": tests/test_served.py checks served == live for every query, scope,
level and stored day, on the tiny fixture and a generated city.

When the default date moves without an import (real data: the default date is today), the
day's numbers are computed once per process in the background; until they are ready the
queries run live (slower, never stale).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

# query → the parameters (besides scope_id and level) it is served for
SERVED: dict[str, tuple[str, ...]] = {
    "rectification_counts": ("days",),
    "coverage_counts": ("days", "campaign_id"),
    "materials_counts": ("days",),
    "point_counts": ("days",),
    "unit_scores": ("assessment_id", "indicator_id"),
    # 周报: a week's problem counts per unit and its problem list, at the recent weeks
    "weekly_problem_counts": ("levels", "week_starts"),
    "weekly_problem_events": ("week_start", "week_end"),
    # 本单位 (and 测算's 台账 lines): every unit's rows at the default date, a unit's rows a
    # filter by its subtree (Store._subtree_rows)
    "materials_lines": ("days",),
    "unit_open_problems": ("as_of",),
    "unit_owned_items": ("as_of",),
}
# the column that holds a served row's day (its slot): a day, or a week's Monday
_DAY = {"weekly_problem_counts": "week_start", "weekly_problem_events": "week_start"}
WEEKLY_WEEKS = 12  # the weekly page's week picker (weekly.recent_weeks default)
WEEK = dt.timedelta(days=7)

Run = Callable[[str, dict], pd.DataFrame]


def table_name(query: str) -> str:
    """served_<query>, or served_slots (the index) for "slots"."""
    if query not in SERVED and query != "slots":
        raise ValueError(f"not a served query: {query!r}")
    return f"served_{query}"


def day_column(name: str) -> str:
    """The column of a served table that holds its rows' day."""
    return _DAY.get(name, "as_of")


def key_columns(name: str, frame: pd.DataFrame) -> list[str]:
    """The columns of a served query's rows that tell its slots apart."""
    return [c for c in (day_column(name), "campaign_id", "assessment_id") if c in frame.columns]


def slot_keys(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    """The distinct slot keys of a served query's rows — with every day it was computed for
    (frame.attrs["days"]) when a day may have no rows."""
    days = frame.attrs.get("days")
    if days:
        return pd.DataFrame({day_column(name): pd.to_datetime(sorted(days))})
    return frame[key_columns(name, frame)].drop_duplicates()


def week_starts(as_of: dt.date) -> list[dt.date]:
    """The Mondays of the weekly page's recent weeks at default date `as_of` and of the
    week before the oldest (each week is compared with the one before it)."""
    from dashboard import weekly

    weeks = weekly.recent_weeks(as_of, WEEKLY_WEEKS)
    return sorted({w.start for w in weeks} | {weeks[-1].previous.start})


def served_days(as_of: dt.date, campaign_start: dt.date | None) -> list[dt.date]:
    """The days the pages read at default date `as_of`: every page's batch days
    (page_days), both ends of the weekly bulletin's recent weeks, and every 7th day back
    to the campaign's start and the start itself (the meeting board's coverage series)."""
    from dashboard import page_days, weekly

    days: set[dt.date] = {as_of}
    for page in page_days.PAGE_DAYS:
        days.update(page_days.days_for(page, as_of))
    for week in weekly.recent_weeks(as_of, WEEKLY_WEEKS):
        days.update((week.end, week.prev_end))
    if campaign_start is not None and campaign_start <= as_of:
        day = as_of
        while day >= campaign_start:
            days.add(day)
            day -= WEEK
        days.add(campaign_start)
    return sorted(days)


# ── computing (snapshot time, or a new day in the background) ──────────────────────────


def compute(run: Run, as_of: dt.date) -> dict[str, pd.DataFrame]:
    """Every served query's rows for every unit, at served_days(as_of) and every test.

    run(name, params) runs queries/<name>.sql uncached on the snapshot being served.
    Returns {query: frame} with the query's own columns plus the parameters it was run
    with (campaign_id; assessment_id), ordered as the query orders."""
    return dict(compute_each(run, as_of))


def compute_each(run: Run, as_of: dt.date) -> Iterator[tuple[str, pd.DataFrame]]:
    """compute's (query, frame) pairs one query at a time, so a snapshot being written
    holds one query's rows at once (store.precompute_served writes each and lets it go).
    Each step reads the snapshot afresh (`run`, metrics.campaign_at): a caller may close
    its connection between steps."""
    from dashboard import metrics

    units = run("all_units", {})
    roots = [int(u) for u in units.loc[units["parent_id"].isna(), "unit_id"]]
    kinds = sorted(str(k) for k in units["kind"].dropna().unique())
    del units
    campaign = metrics.campaign_at(as_of)
    days = served_days(as_of, campaign.start_date if campaign else None)

    def every_unit(name: str, params: dict, extra: dict | None = None) -> pd.DataFrame:
        parts = []
        for root in roots:
            for kind in kinds:
                part = run(name, {**params, "scope_id": root, "level": kind})
                if parts and not len(part):
                    continue  # the first part kept even when empty: the columns
                if parts and not len(parts[0]):
                    parts.clear()
                parts.append(part.assign(**extra) if extra else part)
        if len(parts) == 1:
            return parts[0]
        frame = pd.concat(parts, ignore_index=True)
        parts.clear()  # the parts go before the caller sorts (one copy at a time)
        return frame

    for name in ("rectification_counts", "materials_counts", "point_counts"):
        frame = every_unit(name, {"days": days})
        yield name, _sorted(frame, ["as_of", "unit_id"])
        del frame

    by_campaign: dict[int, list[dt.date]] = {}
    for day in days:
        running = metrics.campaign_at(day)
        if running is not None:
            by_campaign.setdefault(int(running.campaign_id), []).append(day)
    parts = [
        every_unit("coverage_counts", {"days": ds, "campaign_id": cid}, {"campaign_id": cid})
        for cid, ds in by_campaign.items()
    ]
    if parts:
        frame = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
        parts.clear()
        yield "coverage_counts", _sorted(frame, ["campaign_id", "as_of", "unit_id", "subject_kind"])
        del frame

    tests = [int(a) for a in run("assessments", {})["assessment_id"]]
    parts = [
        every_unit("unit_scores", {"assessment_id": a, "indicator_id": None}, {"assessment_id": a})
        for a in tests
    ]
    if parts:
        frame = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
        parts.clear()
        yield "unit_scores", _sorted(frame, ["assessment_id", "unit_id"])
        del frame

    # 周报: the query's rows for every unit of every kind (no level column: a lookup adds
    # the levels asked for), and each recent week's problem list of every root's subtree
    starts = week_starts(as_of)
    parts = [
        run("weekly_problem_counts", {"scope_id": root, "levels": kinds, "week_starts": starts})
        for root in roots
    ]
    frame = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    parts.clear()
    yield "weekly_problem_counts", _sorted(frame.drop(columns="level"), ["week_start", "unit_id"])
    del frame
    parts = [
        run(
            "weekly_problem_events",
            {"scope_id": root, "week_start": start, "week_end": start + dt.timedelta(days=6)},
        ).assign(week_start=start)
        for start in starts[1:]  # the recent weeks (the oldest start is only compared with)
        for root in roots
    ]
    frame = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    parts.clear()
    if len(roots) > 1:  # a problem under two roots (属地 in one, 责任单位 in the other) once
        frame = frame.drop_duplicates(["week_start", "problem_id"])
        frame = frame.sort_values(["week_start", "deadline", "problem_id"], kind="stable")
    frame["week_start"] = pd.to_datetime(frame["week_start"])
    frame = frame.reset_index(drop=True)
    frame.attrs["days"] = starts[1:]  # a week without a problem event is served too (empty)
    yield "weekly_problem_events", frame
    del frame

    # 本单位 and 测算: the 台账 lines and the open problems of every root's subtree at the
    # default date (a unit's rows are those of its subtree: Store._subtree_rows)
    # (the lines at the 本单位 page's days: its batch asks for them together)
    from dashboard import page_days

    line_days = sorted({as_of, *page_days.days_for("unit", as_of)})
    parts = [run("materials_lines", {"scope_id": root, "days": line_days}) for root in roots]
    frame = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    parts.clear()
    if len(roots) > 1:  # a unit lies under one root: the roots' rows in the query's order
        frame = _sorted(frame, ["as_of", "deadline", "unit_id", "indicator_id"])
    frame.attrs["days"] = line_days
    yield "materials_lines", frame
    del frame
    parts = [
        run("unit_open_problems", {"unit_id": root, "as_of": as_of}).drop(columns=list(_MEMBERSHIP))
        for root in roots
    ]
    frame = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    parts.clear()
    if len(roots) > 1:  # a problem under two roots (属地 in one, 责任单位 in the other) once
        frame = frame.drop_duplicates("problem_id").reset_index(drop=True)
        order = frame.assign(_not_severe=frame["severity"] != "severe")
        keys = ["deadline", "_not_severe", "found_on", "problem_id"]
        frame = frame.take(order[keys].sort_values(keys, kind="stable").index)
    frame = frame.assign(as_of=pd.Timestamp(as_of)).reset_index(drop=True)
    frame.attrs["days"] = [as_of]
    yield "unit_open_problems", frame
    del frame

    # 本单位's owned survey items: the query for every unit that leads an indicator (the
    # others own none), each unit's rows under its unit_id
    parts = [
        run("unit_owned_items", {"unit_id": int(unit), "as_of": as_of}).assign(unit_id=int(unit))
        for unit in run("indicator_lead_units", {})["unit_id"]
    ]
    if not parts:  # no unit leads anything: the columns, from the first root
        parts = [run("unit_owned_items", {"unit_id": roots[0], "as_of": as_of}).assign(unit_id=0)]
    frame = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    parts.clear()
    frame = frame.astype({"unit_id": "int32"}).assign(as_of=pd.Timestamp(as_of))
    frame.attrs["days"] = [as_of]
    yield "unit_owned_items", frame


# unit_open_problems' columns that say how a problem belongs to the unit asked for: the
# served rows are every root's, these are set by the lookup for the unit's subtree
_MEMBERSHIP = ("as_territory", "as_owner")


def _sorted(frame: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """frame in (stable) order of `by`, index 0..n-1: a copy only when it is out of order."""
    # the order from the key columns alone (sorting the whole frame would copy all of it
    # once more); the same stable order sort_values gives
    order = frame[by].sort_values(by, kind="stable").index.to_numpy()
    if (order == np.arange(len(frame))).all():
        return frame.reset_index(drop=True)
    return frame.take(order).reset_index(drop=True)


# ── serving ────────────────────────────────────────────────────────────────────────────


# the columns a served_ table adds to its query's own, and how a slot's rows are ordered
_EXTRA = {
    "coverage_counts": ("campaign_id",),
    "unit_scores": ("assessment_id",),
    "weekly_problem_events": ("week_start",),
    "unit_open_problems": ("as_of",),
    "unit_owned_items": ("as_of",),
}
_ORDER = {
    "coverage_counts": "unit_id, subject_kind",
    "weekly_problem_events": "deadline, problem_id",
    "materials_lines": "deadline, unit_id, indicator_id",
    "unit_open_problems": "deadline, severity = 'severe' desc, found_on, problem_id",
    "unit_owned_items": "unit_id, category, code",
}

Read = Callable[[str, dict], pd.DataFrame]  # (sql, params) → rows of the served snapshot


def _slot_key(name: str, as_of: object, campaign_id: object, assessment_id: object) -> tuple:
    if name == "unit_scores":
        return (name, int(assessment_id))  # type: ignore[arg-type]
    day = _plain(pd.Timestamp(as_of))
    return (name, (int(campaign_id), day)) if name == "coverage_counts" else (name, day)  # type: ignore[arg-type]


def slot_rows(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The served_slots table: which (query, day, campaign, test) the served_ tables hold."""
    rows = []
    for name, frame in frames.items():
        keys = slot_keys(name, frame)
        cols = list(keys.columns)
        for values in keys.itertuples(index=False):
            row = dict(zip(cols, values, strict=True))
            rows.append({"query": name, "as_of": row.get(day_column(name)),
                         "campaign_id": row.get("campaign_id"),
                         "assessment_id": row.get("assessment_id")})  # fmt: skip
    out = pd.DataFrame(rows, columns=["query", "as_of", "campaign_id", "assessment_id"])
    out["as_of"] = pd.to_datetime(out["as_of"]).dt.date
    return out.astype({"campaign_id": "Int64", "assessment_id": "Int64"})


@dataclass
class Store:
    """The served rows of one snapshot: which slots (query, day / campaign / test) it
    holds, each slot's rows read from the snapshot on first use (a few ms) and kept."""

    units: pd.DataFrame  # unit_id, kind, parent_id
    read: Read | None = None  # reads a slot from the snapshot's served_ tables
    slots: set[tuple] = field(default_factory=set)
    parts: dict[tuple, pd.DataFrame] = field(default_factory=dict)  # slot → rows
    lock: threading.Lock = field(default_factory=threading.Lock)
    _subtrees: dict[int, np.ndarray] = field(default_factory=dict)
    _ranked: dict[tuple[int, str], np.ndarray] = field(default_factory=dict)
    _children: dict[int, list[int]] | None = None
    _kinds: pd.Series | None = None

    def add(self, frames: dict[str, pd.DataFrame]) -> None:
        """Add computed rows (compute's output: a new day's, in the background)."""
        for name, frame in frames.items():
            extra = [c for c in _EXTRA.get(name, ()) if c in frame.columns]
            own = [c for c in frame.columns if c not in extra]
            cols = key_columns(name, frame)
            for key, rows in frame.groupby(cols, sort=False):
                values = dict(zip(cols, key if isinstance(key, tuple) else (key,), strict=True))
                slot = _slot_key(
                    name,
                    values.get(day_column(name)),
                    values.get("campaign_id"),
                    values.get("assessment_id"),
                )
                with self.lock:
                    self.parts[slot] = _prepared(rows[own].reset_index(drop=True))
                    self.slots.add(slot)
            for day in frame.attrs.get("days", ()):  # days without rows
                slot = _slot_key(name, day, None, None)
                with self.lock:
                    if slot not in self.parts:
                        self.parts[slot] = _prepared(frame[own].iloc[0:0].reset_index(drop=True))
                        self.slots.add(slot)

    def holds(self, name: str, day: dt.date, campaign_id: int | None = None) -> bool:
        """True when the served rows hold query `name` at `day` (coverage_counts: of the
        campaign `campaign_id`)."""
        key = (int(campaign_id), day) if name == "coverage_counts" else day  # type: ignore[arg-type]
        return (name, key) in self.slots

    def covers(self, day: dt.date) -> bool:
        """True when default date `day`'s rows are here (its count rows at least)."""
        return ("rectification_counts", day) in self.slots

    def day_rows(self, name: str, day: dt.date) -> _Part | None:
        """Every unit's rows of a query served by day (unit_open_problems, materials_lines,
        unit_owned_items) at `day`, as the lookups filter them (shared: do not change);
        None when the served rows do not hold that day."""
        slot = (name, _plain(day))
        if slot not in self.slots:
            return None
        parts = self._parts([slot])
        return None if parts is None else parts[0]

    def _parts(self, slots: list[tuple]) -> list[pd.DataFrame] | None:
        """The rows of each slot (all of one query, and of one campaign or test), those not
        read yet read from the snapshot in one query and kept."""
        with self.lock:
            missing = [slot for slot in slots if slot not in self.parts]
        if missing and self.read is None:
            return None
        if missing:
            name = missing[0][0]
            table = table_name(name)
            day = day_column(name)
            # the added columns left out, but a day kept until the rows are split by it
            dropped = [c for c in _EXTRA.get(name, ()) if c != day]
            kept_day = [c for c in _EXTRA.get(name, ()) if c == day]
            exclude = f" exclude ({', '.join(dropped)})" if dropped else ""
            order = _ORDER.get(name, "unit_id")
            if name == "unit_scores":
                where, params = "assessment_id = $assessment_id", {"assessment_id": missing[0][1]}
                missing = missing[:1]
            elif name == "coverage_counts":
                where = "campaign_id = $campaign_id and list_contains($days, as_of)"
                params = {"campaign_id": missing[0][1][0], "days": [k[1] for _, k in missing]}
            else:
                where = f"list_contains($days, {day})"
                params = {"days": [k for _, k in missing]}
            # table and column names from SERVED / _EXTRA / _ORDER / _DAY (allow-lists);
            # values as $params
            order = order if name == "unit_scores" else f"{day}, {order}"
            sql = f"select *{exclude} from {table} where {where} order by {order}"  # noqa: S608 - sql: identifiers from allow-list
            rows = self.read(sql, params)
            if name == "unit_scores":
                found = {missing[0]: _prepared(rows)}
            else:
                stamps = pd.to_datetime(rows[day]).dt.date.to_numpy()
                found = {
                    slot: _prepared(
                        rows[stamps == (slot[1][1] if name == "coverage_counts" else slot[1])]
                        .drop(columns=kept_day)
                        .reset_index(drop=True)
                    )
                    for slot in missing
                }
            with self.lock:
                self.parts.update(found)
        with self.lock:
            return [self.parts[slot] for slot in slots]

    def ranked(self, scope_id: int, level: str) -> np.ndarray:
        """The unit ids a query's `ranked` CTE picks: the scope itself, or the units of
        kind `level` in its subtree (itself included), ascending."""
        if level == "self":
            return np.array([scope_id])
        with self.lock:
            found = self._ranked.get((scope_id, level))
        if found is not None:
            return found
        subtree = self.subtree(scope_id)
        assert self._kinds is not None
        found = subtree[(self._kinds.reindex(subtree) == level).to_numpy()]
        with self.lock:
            self._ranked[(scope_id, level)] = found
        return found

    def subtree(self, scope_id: int) -> np.ndarray:
        """The unit ids of the scope's subtree (itself included), ascending."""
        with self.lock:
            subtree = self._subtrees.get(scope_id)
        if subtree is None:
            if self._children is None:
                children: dict[int, list[int]] = {}
                for unit, parent in zip(
                    self.units["unit_id"], self.units["parent_id"], strict=True
                ):
                    if not pd.isna(parent):
                        children.setdefault(int(parent), []).append(int(unit))
                self._kinds = self.units.set_index("unit_id")["kind"]
                self._children = children
            found, stack, seen = [], [scope_id], set()
            while stack:  # the walk stops at a unit already passed (a cycle, refused on import)
                unit = stack.pop()
                if unit in seen:
                    continue
                seen.add(unit)
                found.append(unit)
                stack.extend(self._children.get(unit, ()))
            subtree = np.array(sorted(found))
            with self.lock:
                self._subtrees[scope_id] = subtree
        return subtree

    def lookup(
        self, name: str, params: dict, units: np.ndarray | None = None
    ) -> pd.DataFrame | None:
        """The query's answer from the served rows, or None when they do not hold it.
        `units`: the rows of these units instead of those the scope and level pick (every
        unit's at once, for a view computed for all scopes)."""
        if name not in SERVED:
            return None
        if name == "weekly_problem_counts":
            return self._week_counts(params)
        if name == "weekly_problem_events":
            return self._week_events(params)
        if name in ("materials_lines", "unit_open_problems"):
            return self._subtree_rows(name, params)
        if name == "unit_owned_items":
            return self._owned_items(params)
        scope_id, level = params.get("scope_id"), params.get("level")
        if scope_id is None or level is None:
            return None
        if name == "unit_scores":
            if params.get("indicator_id") is not None:
                return None
            slots = [(name, int(params["assessment_id"]))]
        else:
            days = params.get("days")
            if days is None:
                return None
            days = sorted({_plain(d) for d in days})
            if name == "coverage_counts":
                slots = [(name, (int(params["campaign_id"]), d)) for d in days]
            else:
                slots = [(name, d) for d in days]
        if any(slot not in self.slots for slot in slots):
            return None
        ranked = self.ranked(int(scope_id), str(level)) if units is None else units
        parts = self._parts(slots)
        if parts is None:
            return None
        pieces = [part.frame.take(np.flatnonzero(np.isin(part.ids, ranked))) for part in parts]
        frame = pieces[0] if len(pieces) == 1 else pd.concat(pieces)
        nullable = tuple(dict.fromkeys(c for part in parts for c in part.nullable))
        return _as_queried(frame.reset_index(drop=True), nullable)

    def unit_scores_of(self, unit_id: int, assessment_ids: list[int]) -> list[float] | None:
        """The unit's overall score in each test (NaN = no score): the value column of
        unit_scores at level 'self' for each of `assessment_ids`, read off the served rows
        without a frame per test; None when they do not hold every test."""
        slots = [("unit_scores", int(a)) for a in assessment_ids]
        if any(slot not in self.slots for slot in slots):
            return None
        out = []
        for slot in slots:
            parts = self._parts([slot])  # a test's rows are read one test at a time
            if parts is None:
                return None
            part = parts[0]
            at = np.flatnonzero(part.ids == unit_id)
            values = part.frame["value"].to_numpy(dtype="float64", na_value=np.nan)
            out.append(float(values[at[0]]) if len(at) else float("nan"))
        return out

    def _week_counts(self, params: dict) -> pd.DataFrame | None:
        """weekly_problem_counts from the served rows: for each level asked (in the query's
        order, by name) the rows of the units it ranks, week by week."""
        name = "weekly_problem_counts"
        scope_id, levels, starts = (params.get(k) for k in ("scope_id", "levels", "week_starts"))
        if scope_id is None or not levels or not starts:
            return None
        levels, starts = [str(v) for v in levels], [_plain(d) for d in starts]
        if len(set(levels)) < len(levels) or len(set(starts)) < len(starts):
            return None  # the query would count a repeated level or week twice
        slots = [(name, d) for d in sorted(starts)]
        if any(slot not in self.slots for slot in slots):
            return None
        parts = self._parts(slots)
        if parts is None:
            return None
        pieces, named = [], []
        for level in sorted(levels):
            ranked = self.ranked(int(scope_id), level)
            for part in parts:
                pieces.append(part.frame.take(np.flatnonzero(np.isin(part.ids, ranked))))
                named += [level] * len(pieces[-1])
        frame = pd.concat(pieces).reset_index(drop=True)
        frame.insert(0, "level", pd.Series(named, dtype="str", index=frame.index))
        nullable = tuple(dict.fromkeys(c for part in parts for c in part.nullable))
        return _as_queried(frame, nullable)

    def _week_events(self, params: dict) -> pd.DataFrame | None:
        """weekly_problem_events from the served rows of its week: the problems whose 属地
        unit or 责任单位 lies in the scope's subtree, in the query's order."""
        name = "weekly_problem_events"
        scope_id, start, end = (params.get(k) for k in ("scope_id", "week_start", "week_end"))
        if scope_id is None or start is None or end is None:
            return None
        start, end = _plain(start), _plain(end)
        slot = (name, start)
        if end != start + dt.timedelta(days=6) or slot not in self.slots:
            return None
        parts = self._parts([slot])
        if parts is None:
            return None
        part = parts[0]
        members = self.subtree(int(scope_id))
        depts = part.frame["dept_id"].to_numpy(dtype="float64", na_value=np.nan)
        keep = np.isin(part.ids, members) | np.isin(depts, members)
        frame = part.frame.take(np.flatnonzero(keep)).reset_index(drop=True)
        return _as_queried(frame, part.nullable)

    def _subtree_rows(self, name: str, params: dict) -> pd.DataFrame | None:
        """materials_lines (the lines of units in the scope's subtree, day by day) or
        unit_open_problems (the problems whose 属地 unit or 责任单位 lies in the unit's
        subtree, with as_territory / as_owner saying which) from the served rows of
        every unit, in the query's order."""
        if name == "materials_lines":
            scope_id, days = params.get("scope_id"), params.get("days")
            if set(params) != {"scope_id", "days"} or scope_id is None or days is None:
                return None
            slots = [(name, d) for d in sorted({_plain(d) for d in days})]
        else:
            scope_id, as_of = params.get("unit_id"), params.get("as_of")
            if set(params) != {"unit_id", "as_of"} or scope_id is None or as_of is None:
                return None
            slots = [(name, _plain(as_of))]
        if not slots or any(slot not in self.slots for slot in slots):
            return None
        parts = self._parts(slots)
        if parts is None:
            return None
        members = self.subtree(int(scope_id))
        nullable = tuple(dict.fromkeys(c for part in parts for c in part.nullable))
        if name == "materials_lines":
            pieces = [part.frame.take(np.flatnonzero(np.isin(part.ids, members))) for part in parts]
            frame = pieces[0] if len(pieces) == 1 else pd.concat(pieces)
            return _as_queried(frame.reset_index(drop=True), nullable)
        part = parts[0]
        territory = np.isin(part.ids, members)
        depts = part.frame["dept_id"].to_numpy(dtype="float64", na_value=np.nan)
        owner = np.isin(depts, members)
        keep = np.flatnonzero(territory | owner)
        frame = part.frame.take(keep).reset_index(drop=True)
        frame["as_territory"] = territory[keep]
        frame["as_owner"] = owner[keep]
        return _as_queried(frame, nullable)

    def _owned_items(self, params: dict) -> pd.DataFrame | None:
        """unit_owned_items from the served rows: the unit's own (none when it leads no
        item), in the query's order."""
        name = "unit_owned_items"
        unit_id, as_of = params.get("unit_id"), params.get("as_of")
        if set(params) != {"unit_id", "as_of"} or unit_id is None or as_of is None:
            return None
        slot = (name, _plain(as_of))
        if slot not in self.slots:
            return None
        parts = self._parts([slot])
        if parts is None:
            return None
        part = parts[0]
        rows = part.frame.take(np.flatnonzero(part.ids == int(unit_id)))
        frame = rows.drop(columns="unit_id").reset_index(drop=True)
        return _as_queried(frame, tuple(c for c in part.nullable if c != "unit_id"))


@dataclass(frozen=True)
class _Part:
    """One slot's rows, ready to be filtered: the unit ids as an array, and the columns
    that hold a NULL somewhere (the only ones whose dtype depends on the rows picked)."""

    frame: pd.DataFrame
    ids: np.ndarray
    nullable: tuple[str, ...]


def _prepared(rows: pd.DataFrame) -> _Part:
    """A slot's rows with every nullable column that holds no NULL made plain once, as
    DuckDB returns it for any subset of these rows (_as_queried)."""
    nullable = []
    for column in rows.columns:
        plain = _NUMPY_OF.get(str(rows[column].dtype))
        if plain is None:
            continue
        if rows[column].hasnans:
            nullable.append(column)
        else:
            rows[column] = rows[column].astype(plain)
    return _Part(rows, rows["unit_id"].to_numpy(), tuple(nullable))


_NUMPY_OF = {"Int8": "int8", "Int16": "int16", "Int32": "int32", "Int64": "int64",
             "UInt8": "uint8", "UInt16": "uint16", "UInt32": "uint32", "UInt64": "uint64",
             "boolean": "bool"}  # fmt: skip


def _as_queried(frame: pd.DataFrame, nullable: tuple[str, ...]) -> pd.DataFrame:
    """The dtypes the query itself would have returned for these rows: DuckDB hands back
    a nullable integer (Int32) only when the result holds a NULL, so a column that is
    nullable in its slot (`nullable`; the others were made plain by _prepared) but has no
    NULL among the rows picked becomes plain again, and an empty result's text columns
    are plain objects."""
    for column in frame.columns:
        if isinstance(frame[column].dtype, pd.StringDtype) and (
            frame.empty or frame[column].isna().all()
        ):
            # as DuckDB returns a text column without a value (no rows, or all NULL)
            frame[column] = pd.Series([None] * len(frame), dtype=object, index=frame.index)
    for column in nullable:
        plain = _NUMPY_OF[str(frame[column].dtype)]
        if not frame[column].hasnans:
            frame[column] = frame[column].astype(plain)
    return frame


def _plain(value: object) -> dt.date:
    if isinstance(value, pd.Timestamp | dt.datetime):
        return value.date()
    return value  # type: ignore[return-value]


def load(read: Read, units: pd.DataFrame, slots: pd.DataFrame | None) -> Store:
    """A snapshot's served rows: `slots` is its served_slots table (None when it has none,
    an older release's snapshot), `read` reads a slot's rows when first asked for."""
    store = Store(units=units[["unit_id", "kind", "parent_id"]].copy(), read=read)
    if slots is not None:
        store.slots = {
            _slot_key(r.query, r.as_of, r.campaign_id, r.assessment_id)
            for r in slots.itertuples(index=False)
        }
    return store
