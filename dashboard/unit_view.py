"""本单位: everything that concerns one unit — its standing among peers, flags, open
problems by deadline, visit progress against milestones, missing 台账, owned survey items.

Peers are the units of the same kind under the same parent (rank = place, 1, 1, 3
within its kind and parent). Each decisive number is compared with the same number a week
earlier (as_of − 7) — and the score with the previous scored assessment. 本周 is the
Mon–Sun calendar week containing as_of: a problem is 本周到期 when its deadline falls
between as_of and that Sunday, 已逾期 when its deadline is before as_of (DESIGN §4).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np
import pandas as pd

from dashboard import (
    db,
    flags,
    meeting,
    metrics,
    rankings,
    served,
    status,
    trends,
    unit_numbers,
    weekly,
)
from dashboard.db import query

STANDING_METRICS = (
    "rectification_rate",
    "on_time_rate",
    "coverage_rate",
    "completion_rate",
    "compliance_rate",
)
COMPARE_DAYS = 7


@db.batch_memo
def _coverage(unit_id: int, as_of: dt.date, by_kind: bool = False) -> pd.DataFrame:
    """metrics.coverage(unit_id, as_of, by_kind=by_kind): at a served day the unit's rows
    of every unit's frame (unit_numbers.own_frame), else the function itself. Within the
    page's as-of batch shared (never changed) by the top unit's standing and its visit
    progress."""
    db.require_scope(unit_id)
    source = "coverage_by_kind" if by_kind else "coverage"
    found = unit_numbers.own_frame(source, unit_id, as_of)
    return metrics.coverage(unit_id, as_of, by_kind=by_kind) if found is None else found


@db.batch_memo
def _coverage_projection(unit_id: int, as_of: dt.date) -> pd.DataFrame:
    """metrics.coverage_projection(unit_id, as_of), of the coverage row the page read (at
    a served day, the unit's row of every unit's numbers: dashboard/unit_numbers.py)."""
    campaign = metrics.campaign_at(as_of)
    if campaign is None:
        return pd.DataFrame()
    own = _own_coverage(unit_id, as_of)
    if own is not None:
        return metrics.projection_rows(own, campaign, as_of)
    return metrics.projection_rows(_coverage(unit_id, as_of), campaign, as_of)


def _own_coverage(unit_id: int, as_of: dt.date) -> list[SimpleNamespace] | None:
    """The unit's coverage row at a served day as metrics.projection_rows reads it (none
    when it has no row), picked from every unit's numbers; None at any other day."""
    db.require_scope(unit_id)
    found = unit_numbers.own_rows("coverage", unit_id, [as_of])
    if found is None:
        return None
    if as_of not in found:
        return []
    name = metrics._name_table()[0]["name"].array[unit_numbers.position(unit_id)]
    return [SimpleNamespace(unit_id=unit_id, name=name, **found[as_of])]


# ... and the standing and the peer table read one set of the peers' five rankings (each
# of the eleven asks would otherwise hand out five fresh copies)
_week_rankings = db.batch_memo(rankings.peer_week_rankings)


@dataclass(frozen=True)
class UnitInfo:
    unit_id: int
    name: str
    kind: str
    parent_id: int | None
    parent_name: str | None

    @property
    def is_department(self) -> bool:
        return self.kind == "department"

    @property
    def has_peers(self) -> bool:
        """Ranked among peers: everything but the top of the tree."""
        return self.parent_id is not None and self.kind in metrics.LEVELS


@db.per_snapshot
def unit_info(unit_id: int) -> UnitInfo:
    """The unit's name, kind and parent (from the whole unit list, which every user reads);
    asked for many times by one page, so kept per snapshot."""
    row = metrics.units().set_index("unit_id").loc[unit_id]
    parent = None if pd.isna(row["parent_id"]) else int(row["parent_id"])
    parent_name = None if pd.isna(row["parent_name"]) else str(row["parent_name"])
    return UnitInfo(int(unit_id), str(row["name"]), str(row["kind"]), parent, parent_name)


def warm(as_of: dt.date) -> None:
    """Every peer group's standing rankings, every scope's stored flags, and every unit's
    metric frames and lists of the page at the default date, computed ahead of the first
    本单位 page of each kind (startup.warm_up_in_background)."""
    rankings.warm_peer_rankings(STANDING_METRICS, as_of)
    for source in unit_numbers.FRAME_SOURCES:  # every unit's coverage and 台账 frames
        if unit_numbers.served_store([as_of], (source.removesuffix("_by_kind"),)):
            unit_numbers.unit_frames(source, as_of)
    for name, prepare in (
        ("unit_open_problems", _open_problem_rows),
        ("materials_lines", _missing_rows),
        ("unit_owned_items", _owned_rows),
    ):
        if db.served_at(name, as_of):  # every unit's lists of the page, prepared once
            prepare(as_of)  # fmt: skip
    flags.warm_stored_scopes(as_of)  # every scope's stored flags, read once


def prefetch(unit_id: int, as_of: dt.date) -> None:
    """Start the page's own row queries (its open problems, 台账 lines and owned survey
    items) and, at a replayed date, the scope's red-flag rule queries
    (flags.live_requests) on the query workers, so they run while the standing is
    computed; open_problems, missing_materials, owned_items and unit_flags then take their
    results (db.query_soon) instead of running them one after another. At the default
    date the three row queries are lookups of the served rows (Python, which a worker
    would only contend for the GIL with), and the unit's flags a filter of the stored rows
    in memory (flags.stored_subtree_frame): nothing to start."""
    rows = [
        ("unit_open_problems", {"unit_id": unit_id, "as_of": as_of}),
        ("materials_lines", {"scope_id": unit_id, "as_of": as_of}),
        ("unit_owned_items", {"unit_id": unit_id, "as_of": as_of}),
    ]
    wanted = [] if all(db.served_at(name, as_of) for name, _params in rows) else rows
    wanted += flags.live_requests(unit_id, as_of)  # a replayed date's rule queries
    if wanted:
        db.query_soon(wanted)


def week_bounds(as_of: dt.date) -> tuple[dt.date, dt.date]:
    """本周: Monday and Sunday of the calendar week containing as_of."""
    week = weekly.Week.containing(as_of)
    return week.start, week.end


# ── standing among peers ───────────────────────────────────────────────────────────────


def _peer_scope(info: UnitInfo) -> tuple[int, str] | None:
    """(parent, kind): the ranking that lists the unit among its peers; None at the top."""
    return (info.parent_id, info.kind) if info.has_peers else None


def _ranking(key: str, parent_id: int, kind: str, as_of: dt.date, **kwargs: object) -> pd.DataFrame:
    if key == "score" and set(kwargs) == {"assessment_id"}:
        # every peer group's score ranking in the test, computed once per snapshot
        return rankings.peer_score_ranking(parent_id, kind, as_of, kwargs["assessment_id"])
    if kwargs:
        return rankings.ranking(key, parent_id, kind, as_of, **kwargs)
    if key in STANDING_METRICS and metrics.campaign_at(as_of) is not None:
        # the page's five rankings of the same peers, their values read once for all five
        return _week_rankings(STANDING_METRICS, parent_id, kind, as_of)[key]
    return weekly.ranking_at(key, parent_id, kind, as_of)


def peer_ranking(key: str, unit_id: int, as_of: dt.date, **kwargs: object) -> pd.DataFrame:
    """The rankings engine's ranking of the unit's peers (same kind, same parent): every
    peer's row, so only for a user who may see the parent (`peers_visible`)."""
    peers = _peer_scope(unit_info(unit_id))
    if peers is None:
        raise ValueError("the top unit has no peers")
    return _ranking(key, peers[0], peers[1], as_of, **kwargs)


def own_place(key: str, unit_id: int, as_of: dt.date, **kwargs: object) -> db.PeerRank:
    """The unit's own row of its peers' ranking and how many are ranked (`db.peer_rank`):
    what every user allowed the unit sees, whether or not they may see the peers."""
    return db.peer_rank(
        unit_id, lambda parent_id, kind: _ranking(key, parent_id, kind, as_of, **kwargs)
    )


def peers_visible(unit_id: int) -> bool:
    """True when the user may see the peers' rows (their parent's data), not only the
    unit's own rank among them (README, 访问控制)."""
    info = unit_info(unit_id)
    return info.has_peers and db.may_see(info.parent_id)


def _value(value: object) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def _rank(value: object) -> int | None:
    return None if value is None or pd.isna(value) else int(value)


@dataclass(frozen=True)
class Standing:
    """Where the unit stands on one decisive number, now and at the comparison point."""

    key: str
    label: str
    value: float | None
    value_before: float | None
    rank: int | None
    rank_before: int | None
    ranked_units: int  # peers with a rank (the unit included); 0 at the top of the tree
    numerator: float | None
    denominator: float | None
    compared_with: str  # e.g. 06-03 or the previous assessment's name
    status: str = "none"  # ok / warn / bad / none (config/status.toml, as on every page)
    target: float | None = None
    basis_text: str = ""  # 走访覆盖率: '预计 12-21 达 81.6%' (the judged projection)
    tied: bool = False  # 并列: another peer holds the same place
    gap_to_above: float | None = None  # behind the next better rank (≥ 0); None when first
    gap_to_target: float | None = None  # > 0 = ahead of the target

    @property
    def change(self) -> float | None:
        if self.value is None or self.value_before is None:
            return None
        # between the values as shown (0.1% / 0.01 分), so a change reads as written
        digits = status.rule(self.key).digits
        return round(round(self.value, digits) - round(self.value_before, digits), digits)

    @property
    def rank_change(self) -> int | None:
        """> 0 = moved up that many places."""
        if self.rank is None or self.rank_before is None:
            return None
        return self.rank_before - self.rank


def standing(unit_id: int, as_of: dt.date) -> list[Standing]:
    """Each decisive number: value and rank among peers now and a week earlier (ranks from
    dashboard/rankings.py), then the overall score in the latest scored assessment vs the
    one before it."""
    info = unit_info(unit_id)
    top = _peer_scope(info) is None
    before = as_of - dt.timedelta(days=COMPARE_DAYS)
    out = []
    own = _own_values(unit_id, as_of) if top else {}
    for key in STANDING_METRICS:
        if top:
            row, value_before = own[key]
            ranked = 0
            code, target, basis = _own_status(key, unit_id, as_of, _value(row.get("value")))
        else:
            # one ranking per metric: its row holds the value and rank a week earlier too
            # (prev_value, prev_rank: the engine ranks both days in one computation)
            place = own_place(key, unit_id, as_of)
            row, ranked = place.row, place.ranked
            value_before = row.get("prev_value")
            code, target = str(row.get("status") or "none"), _value(row.get("target"))
            basis = _basis_text(row)
        out.append(
            Standing(
                key,
                weekly.metric(key).label,
                _value(row.get("value")),
                _value(value_before),
                _rank(row.get("rank")),
                _rank(row.get("prev_rank")),
                ranked,
                _value(row.get("numerator")),
                _value(row.get("denominator")),
                before.strftime("%m-%d"),
                code,
                target,
                basis,
                bool(row.get("tied", False)),
                _value(row.get("gap_to_above")),
                _value(row.get("gap_to_target")),
            )
        )
    score = score_standing(unit_id, as_of)
    if score is not None:
        out.append(score)
    return out


def _own_values(unit_id: int, as_of: dt.date) -> dict[str, tuple[dict, object]]:
    """key → ({value, numerator, denominator} at as_of, value a week earlier) of the unit
    itself (weekly.metric_values at both days): at served days its rows of every unit's
    numbers (dashboard/unit_numbers.py), else each source's two days read in one metric
    frame (metrics.over_days) instead of one per metric and day."""
    days = [as_of, as_of - dt.timedelta(days=COMPARE_DAYS)]
    db.require_scope(unit_id)
    sources: dict[str, dict[dt.date, dict]] = {}
    out = {}
    for key in STANDING_METRICS:
        m = weekly.metric(key)
        if m.source not in sources:
            sources[m.source] = unit_numbers.own_rows_or_live(m.source, unit_id, days)
        found = sources[m.source]
        # as they are (counts, rates, NaN / <NA>): Standing reads them through _value;
        # a day without a row (coverage before any campaign): 无数据
        rows = [
            {column: found[day][source]
             for column, source in (("value", m.value), ("numerator", m.numerator),
                                    ("denominator", m.denominator))}
            if day in found else {}
            for day in days
        ]  # fmt: skip
        out[key] = (rows[0], rows[1].get("value"))
    return out


def _basis_text(row: dict) -> str:
    if "projected_due" not in row:
        return ""
    due, projected = row.get("projected_due"), _value(row.get("projected"))
    if due is None or pd.isna(due):
        return ""
    return meeting.coverage_text(None, projected, due)


def _own_status(key: str, unit_id: int, as_of: dt.date, value: float | None
                ) -> tuple[str, float | None, str]:  # fmt: skip
    """The top unit's status (no peers to rank it among), under the same rule as every
    page: 走访覆盖率 on its projection at the next milestone, the rest on the value."""
    rule = status.rule(key)
    if rule.basis != "projection":
        return rule.judge(value), rule.target, ""
    campaign = metrics.campaign_at(as_of)
    if campaign is None or not campaign.milestones:
        return "none", None, ""
    milestone = campaign.next_milestone(as_of)
    if milestone is None:  # every milestone has passed: the value against the last one
        share = campaign.milestones[-1].target_share
        return rule.judge(value, share), share, ""
    rows = _coverage_projection(unit_id, as_of)
    at = rows[rows["due_date"] == milestone.due_date] if not rows.empty else rows
    projected = _value(at.iloc[0]["projected_rate"]) if len(at) else None
    text = meeting.coverage_text(None, projected, milestone.due_date)
    return rule.judge(projected, milestone.target_share), milestone.target_share, text


def score_standing(unit_id: int, as_of: dt.date) -> Standing | None:
    """综合得分 in the latest overall assessment ended by as_of, vs the previous one."""
    tests = _scored_tests(as_of)
    if not tests:
        return None
    latest_id = tests[0][0]
    previous_id = rankings.previous_assessment(latest_id)
    names = dict(tests)
    if _peer_scope(unit_info(unit_id)) is None:
        # the unit's own score in each test (its served row), not a ranked frame
        latest = {"value": _own_score(unit_id, latest_id), "rank": None}  # the top: no rank
        value_before = _own_score(unit_id, previous_id) if previous_id else None
        n = 0
    else:
        # the ranking in the latest assessment holds the previous one's value (prev_value)
        place = own_place("score", unit_id, as_of, assessment_id=latest_id)
        latest = place.row
        value_before = latest.get("prev_value") if previous_id else None
        n = place.ranked
    if _value(latest.get("value")) is None and _value(value_before) is None:
        return None
    target = _value(latest.get("target"))
    if "target" not in latest:  # the top of the tree: its own target score
        target = _value(rankings.inherited_target_scores().get(unit_id))
    code = status.judge("score", _value(latest.get("value")), target)
    return Standing(
        "score",
        "综合得分",
        _value(latest.get("value")),
        _value(value_before),
        _rank(latest.get("rank")),
        _rank(latest.get("prev_rank")),
        n,
        None,
        None,
        str(names.get(previous_id, "—")),
        code,
        target,
        tied=bool(latest.get("tied", False)),
        gap_to_above=_value(latest.get("gap_to_above")),
        gap_to_target=_value(latest.get("gap_to_target")),
    )


@db.per_snapshot
def _scored_tests(as_of: dt.date) -> tuple[tuple[int, str], ...]:
    """(assessment_id, name) of metrics.scored_assessments(as_of), newest first: from the
    assessment list (snapshot state), so worked out once per snapshot and day, not per page."""
    tests = metrics.scored_assessments(as_of)
    ids, names = tests["assessment_id"].tolist(), tests["name"].tolist()
    return tuple((int(i), str(n)) for i, n in zip(ids, names, strict=True))


def _own_score(unit_id: int, assessment_id: int) -> object:
    """The unit's overall score in one test (metrics.unit_scores' value of its own row)."""
    rows = query(
        "unit_scores", scope_id=unit_id, level="self", assessment_id=assessment_id,
        indicator_id=None,
    )  # fmt: skip
    at = np.flatnonzero(rows["unit_id"].to_numpy() == unit_id)
    return rows["value"].array[at[0]] if len(at) else None


def peer_table(unit_id: int, as_of: dt.date) -> pd.DataFrame:
    """The unit and its peers side by side: each decisive rate and its rank, in the order
    of the 整改率 ranking (无数据 last)."""
    frames = [peer_ranking(key, unit_id, as_of) for key in STANDING_METRICS]
    ids = frames[0]["unit_id"]
    columns = {"unit_id": ids.array, "name": frames[0]["name"].array}
    for key, frame in zip(STANDING_METRICS, frames, strict=True):
        at = pd.Index(frame["unit_id"]).get_indexer(ids)  # every ranking lists every peer
        if (at < 0).any():  # pragma: no cover - rankings of one peer group list the same units
            raise ValueError(f"the {key} ranking does not list every peer")
        columns[key] = frame["value"].array.take(at)
        columns[f"{key}_rank"] = frame["rank"].array.take(at)
        columns[f"{key}_tied"] = frame["tied"].array.take(at)
    columns["is_self"] = ids.to_numpy() == unit_id
    return pd.DataFrame(columns)


# ── problems ───────────────────────────────────────────────────────────────────────────

SECTIONS = {"overdue": "已逾期", "due_this_week": "本周到期", "later": "其后到期"}


def open_problems(unit_id: int, as_of: dt.date) -> pd.DataFrame:
    """Open problems of the unit (属地 or 责任) sorted by deadline, with their section,
    days overdue (as_of − deadline, for 已逾期) and days left (deadline − as_of). At a
    served day the unit's rows of every unit's list (_open_problem_rows), else the query's."""
    db.require_scope(unit_id)
    picked = _picked_open_problems(unit_id, as_of)
    if picked is not None:
        return picked
    frame = query("unit_open_problems", unit_id=unit_id, as_of=as_of)
    return _with_deadlines(metrics.with_display_names(frame), as_of)


def _with_deadlines(frame: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
    """The open problems' deadlines as dates, their days left and overdue, and section."""
    _, sunday = week_bounds(as_of)
    stamps = pd.to_datetime(frame["deadline"])
    frame["deadline"] = _dates(stamps)
    if frame.empty:  # the columns as the row-by-row lists give them (object, no rows)
        for column in ("days_left", "days_overdue", "section"):
            frame[column] = []
        return frame
    # day arithmetic on the whole column at once (every open problem has a deadline)
    left = (stamps.to_numpy("datetime64[D]") - np.datetime64(as_of, "D")).astype("int64")
    frame["days_left"] = left
    frame["days_overdue"] = np.maximum(0, -left)
    # each row's section picked from the three names (an arrow take, not a str per row)
    codes = np.where(left < 0, 0, np.where(left <= (sunday - as_of).days, 1, 2))
    frame["section"] = _SECTION_NAMES.take(codes)
    return frame


_SECTION_NAMES = pd.array(["overdue", "due_this_week", "later"], dtype="str")


def _dates(stamps: pd.Series) -> pd.Series:
    """stamps.dt.date (date objects; NaT where missing), converted by numpy when no stamp
    is missing (.dt.date builds each date through pandas: milliseconds for a province)."""
    values = stamps.to_numpy("datetime64[D]")
    if np.isnat(values).any():
        return stamps.dt.date
    return pd.Series(values.astype(object), index=stamps.index, dtype=object)


def problems_by_territory(problems: pd.DataFrame) -> pd.DataFrame:
    """For a department: its open problems per 属地 unit (open, overdue, severe overdue)."""
    if problems.empty:
        return pd.DataFrame(columns=["unit_name", "open", "overdue", "overdue_severe"])
    # counted per unit with bincount (a groupby with named aggregations costs milliseconds)
    codes, unit_ids = pd.factorize(problems["unit_id"], sort=True)
    _, first = np.unique(codes, return_index=True)
    overdue = (problems["section"] == "overdue").to_numpy()
    severe = overdue & (problems["severity"] == "severe").to_numpy()
    n = len(unit_ids)
    counts = {
        "open": np.bincount(codes, weights=problems["problem_id"].notna().to_numpy(), minlength=n),
        "overdue": np.bincount(codes, weights=overdue, minlength=n),
        "overdue_severe": np.bincount(codes, weights=severe, minlength=n),
    }
    counts = {k: v.astype("int64") for k, v in counts.items()}
    order = np.lexsort((np.asarray(unit_ids), -counts["open"], -counts["overdue"]))
    columns = {"unit_name": problems["unit_name"].array.take(first[order])}
    columns.update({k: v[order] for k, v in counts.items()})
    return pd.DataFrame(columns)


# ── visits, materials, owned items, flags ──────────────────────────────────────────────


@dataclass(frozen=True)
class VisitProgress:
    campaign: metrics.Campaign | None
    total: dict  # the coverage row of the unit (target, covered, coverage_rate, pace …)
    by_kind: pd.DataFrame  # one row per subject kind with a target
    projections: pd.DataFrame  # one row per milestone (metrics.coverage_projection)

    @property
    def has_target(self) -> bool:
        return bool(self.total) and int(self.total.get("target") or 0) > 0


def visit_progress(unit_id: int, as_of: dt.date) -> VisitProgress:
    campaign = metrics.campaign_at(as_of)
    if campaign is None:
        return VisitProgress(None, {}, pd.DataFrame(), pd.DataFrame())
    total = _coverage(unit_id, as_of)
    by_kind = _coverage(unit_id, as_of, True)
    by_kind = by_kind[by_kind["target"] > 0].reset_index(drop=True)
    projections = _coverage_projection(unit_id, as_of)
    return VisitProgress(
        campaign, total.iloc[0].to_dict() if len(total) else {}, by_kind, projections
    )


def missing_materials(unit_id: int, as_of: dt.date) -> pd.DataFrame:
    """台账 lines still short at as_of, by deadline, with days left (negative = past due).
    At a served day the unit's rows of every unit's short lines (_missing_rows)."""
    db.require_scope(unit_id)
    picked = _picked_missing(unit_id, as_of)
    if picked is not None:
        return picked
    return _short_lines(query("materials_lines", scope_id=unit_id, as_of=as_of))


def _short_lines(lines: pd.DataFrame) -> pd.DataFrame:
    """The 台账 lines (materials_lines' rows) still short, ordered, with what they miss."""
    # the short lines' display names only (named row by row)
    short = np.flatnonzero(lines["completed"].to_numpy() < lines["required"].to_numpy())
    frame = (
        metrics.with_display_names(lines.take(short))
        .sort_values(["deadline", "unit_sort_order", "unit_id", "indicator_code"], kind="stable")
        .reset_index(drop=True)
    )
    frame["missing"] = frame["required"] - frame["completed"]
    frame["approval_tracked"] = frame["approved"].notna()
    frame["deadline"] = _dates(pd.to_datetime(frame["deadline"]))
    if frame.empty:  # the column as the row-by-row list gives it (object, no rows)
        frame["completion_rate"] = []
        return frame
    # metrics.ratio for the whole column (every line has required > 0: the query's filter)
    completed = frame["completed"].to_numpy(dtype="float64")
    required = frame["required"].to_numpy(dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        frame["completion_rate"] = np.where(required != 0, completed / required, np.nan)
    return frame


def materials_overall(unit_id: int, as_of: dt.date) -> pd.DataFrame:
    """The unit's 台账完成率 row, metrics.materials_completion(unit_id, as_of): at a served
    day its row of every unit's frame (unit_numbers.own_frame), else the function."""
    db.require_scope(unit_id)
    found = unit_numbers.own_frame("materials", unit_id, as_of)
    return metrics.materials_completion(unit_id, as_of) if found is None else found


def owned_items(unit_id: int, as_of: dt.date) -> pd.DataFrame:
    """Questionnaire / phone-survey items the unit leads: the city's latest and previous
    score rate (value ÷ max, in %), the target and the change. At a served day the unit's
    rows of every unit's items (_owned_rows)."""
    db.require_scope(unit_id)
    prepared = _owned_rows(as_of) if db.served_at("unit_owned_items", as_of) else None
    if prepared is not None:
        mine = prepared.ids == unit_id
        return prepared.picked(np.flatnonzero(mine), mine)
    return _with_rates(query("unit_owned_items", unit_id=unit_id, as_of=as_of).copy())


def _with_rates(frame: pd.DataFrame) -> pd.DataFrame:
    """The owned items' score rates now and before (in %), their change and target gap."""
    frame["rate"] = [
        None if pd.isna(v) else 100 * metrics.ratio(v, m)
        for v, m in zip(frame["value"], frame["max_value"], strict=True)
    ]
    frame["rate_prev"] = [
        None if pd.isna(v) else 100 * metrics.ratio(v, m)
        for v, m in zip(frame["prev_value"], frame["prev_max_value"], strict=True)
    ]
    frame["rate"] = frame["rate"].astype("float64")
    frame["rate_prev"] = frame["rate_prev"].astype("float64")
    frame["change"] = frame["rate"] - frame["rate_prev"]
    frame["gap_to_target"] = frame["rate"] - frame["target"]
    return frame


SURVEY_LABELS = {"phone": "电话调查", "questionnaire": "问卷调查"}


def survey_items(unit_id: int, as_of: dt.date) -> pd.DataFrame:
    """The unit's own survey results, item by item as the city reports them: its latest
    rate, 环比 and 同比 (trends.survey_trend), and its city's score in the same wave with
    the gap (trends.survey_gaps). Empty when the unit has no survey results of its own."""
    frames = []
    for category in trends.SURVEY_CATEGORIES:
        trend = trends.survey_trend(unit_id, as_of, category)
        if trend is None or trend.borrowed or trend.latest.empty:
            continue
        latest = trend.latest[
            ["assessment_id", "assessment_name", "indicator_id", "code", "item_name", "rate",
             "change", "yoy_change"]
        ].copy()  # fmt: skip
        latest["category"] = category
        gaps = trends.survey_gaps(unit_id, as_of, category)
        if gaps is not None:
            mine = gaps.compared[gaps.compared["unit_id"] == unit_id]
            latest = latest.merge(
                mine[["assessment_id", "indicator_id", "city_rate", "gap"]],
                on=["assessment_id", "indicator_id"],
                how="left",
            )
        frames.append(latest)
    if not frames:
        return pd.DataFrame(
            columns=["category", "assessment_name", "code", "item_name", "rate", "change",
                     "yoy_change", "city_rate", "gap"]
        )  # fmt: skip
    frame = pd.concat(frames, ignore_index=True)
    for column in ("city_rate", "gap"):
        if column not in frame:
            frame[column] = float("nan")
    return frame.sort_values(["category", "code"]).reset_index(drop=True)


def unit_flags(unit_id: int, as_of: dt.date) -> pd.DataFrame:
    """The red flags on the unit: raised for a unit in its subtree, or owned by it."""
    db.require_scope(unit_id)
    subtree = db.served_store(db.file_identity()).subtree(int(unit_id))
    # at the default date the stored flags' rows, filtered without building the flags
    frame = flags.stored_subtree_frame(unit_id, as_of, subtree)
    if frame is not None:
        return frame
    # the page lists flags without their evidence: at a replayed date it is not read
    frame = flags.flag_frame(unit_id, as_of, evidence_count=False)
    if frame.empty:
        return frame
    mine = frame["unit_id"].isin(subtree) | frame["owner_id"].isin(subtree)
    return frame[mine].reset_index(drop=True)


# ── the page's lists for every unit, prepared once per snapshot ────────────────────────


@dataclass(frozen=True)
class _Prepared:
    """One of the page's lists (open problems, short 台账 lines, owned items) of every unit
    at a served day, made once per snapshot by the page's own steps (_with_deadlines,
    _short_lines, _with_rates) from every unit's served rows: `frame` in the list's order,
    `ids` each row's unit. A unit's list is the rows its membership picks; what the
    served rows of the unit (the query's answer for it: `served_ids`) hold decides
    dtypes as DuckDB's answer would (served._as_queried): a text column with no value
    there is plain None objects, a nullable integer column without a NULL there plain.
    Snapshot state: no access check (the callers')."""

    frame: pd.DataFrame
    ids: np.ndarray
    served_ids: np.ndarray
    valued: dict[str, np.ndarray]  # text / nullable column → where a served row has a value
    nullable: tuple[str, ...]

    def picked(self, rows: np.ndarray, served_rows: np.ndarray) -> pd.DataFrame:
        """The rows at positions `rows`, dtypes as the query answers the served rows
        `served_rows` (a mask over them)."""
        frame = self.frame.take(rows).reset_index(drop=True)
        for column, valued in self.valued.items():
            if column in self.nullable:
                if not (served_rows & ~valued).any():  # no NULL among the unit's rows
                    plain = served._NUMPY_OF[str(frame[column].dtype)]
                    frame[column] = frame[column].astype(plain)
            elif not (served_rows & valued).any():  # no value among the unit's rows
                frame[column] = pd.Series([None] * len(frame), dtype=object)
        return frame


def _prepared(
    rows: served._Part, frame: pd.DataFrame, ids: np.ndarray, names: tuple[str, ...]
) -> _Prepared | None:
    """_Prepared of a list made from served rows `rows`; None when a name column the list
    replaces by display names (`names`) has a NULL (its dtype would depend on the unit)."""
    if any(rows.frame[c].hasnans for c in names):
        return None
    valued = {
        c: rows.frame[c].notna().to_numpy()
        for c in rows.frame.columns
        if c not in names
        and (c in rows.nullable or isinstance(rows.frame[c].dtype, pd.StringDtype))
    }
    return _Prepared(frame, np.asarray(ids), rows.ids, valued, rows.nullable)


def _day_rows(name: str, as_of: dt.date) -> served._Part | None:
    return db.served_store(db.file_identity()).day_rows(name, as_of)


@db.per_snapshot
def _open_problem_rows(as_of: dt.date) -> _Prepared | None:
    """Every unit's open problems at a served day, as open_problems makes them."""
    rows = _day_rows("unit_open_problems", as_of)
    if rows is None or not len(rows.frame) or rows.nullable:
        return None
    frame = _with_deadlines(metrics.with_display_names(rows.frame), as_of)
    return _prepared(rows, frame, rows.ids, ("unit_name", "dept_name"))


def _picked_open_problems(unit_id: int, as_of: dt.date) -> pd.DataFrame | None:
    """open_problems' rows for the unit from every unit's (None: not served, or none)."""
    prepared = _open_problem_rows(as_of) if db.served_at("unit_open_problems", as_of) else None
    if prepared is None:
        return None
    members = db.served_store(db.file_identity()).subtree(int(unit_id))
    territory = np.isin(prepared.ids, members)
    owner = np.isin(prepared.frame["dept_id"].to_numpy(), members)
    mine = territory | owner
    keep = np.flatnonzero(mine)
    if not len(keep):  # no rows: the query's empty frame and its dtypes
        return None
    frame = prepared.picked(keep, mine)
    at = frame.columns.get_loc("days_left")  # as the lookup adds them: before the deadlines'
    frame.insert(at, "as_owner", owner[keep])
    frame.insert(at, "as_territory", territory[keep])
    return frame


@db.per_snapshot
def _missing_rows(as_of: dt.date) -> _Prepared | None:
    """Every unit's short 台账 lines at a served day, as missing_materials makes them."""
    rows = _day_rows("materials_lines", as_of)
    if rows is None or not len(rows.frame) or set(rows.nullable) - {"approved"}:
        return None  # (a NULL count would change the derived columns' dtypes)
    frame = _short_lines(rows.frame.drop(columns="as_of"))
    if frame.empty:
        return None
    return _prepared(rows, frame, frame["unit_id"].to_numpy(), ("unit_name",))


def _picked_missing(unit_id: int, as_of: dt.date) -> pd.DataFrame | None:
    """missing_materials' rows for the unit from every unit's (None: not served, or none)."""
    if not db.served_at("materials_lines", as_of):
        return None
    prepared = _missing_rows(as_of)
    if prepared is None:
        return None
    members = db.served_store(db.file_identity()).subtree(int(unit_id))
    keep = np.flatnonzero(np.isin(prepared.ids, members))
    if not len(keep):  # no short line: the query's empty frame and its dtypes
        return None
    return prepared.picked(keep, np.isin(prepared.served_ids, members))


@db.per_snapshot
def _owned_rows(as_of: dt.date) -> _Prepared | None:
    """Every unit's owned survey items at a served day, as owned_items makes them."""
    rows = _day_rows("unit_owned_items", as_of)
    if rows is None:
        return None
    # (a nullable column, sample_size, is made plain per unit by _Prepared.picked: the
    # rates read the float columns only)
    frame = _with_rates(rows.frame.drop(columns="unit_id"))
    return _prepared(rows, frame, rows.ids, ())
