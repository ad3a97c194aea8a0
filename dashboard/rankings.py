"""排名 engine: rank the units of one level under a scope by one allow-listed metric.

Every value comes from a function of dashboard/metrics.py; this module only ranks, compares
with the previous assessment or week, and judges each value against its target.

Tie rule (one rule everywhere, `metrics.place_rank`): values are first rounded to the
precision the page shows (rates to 0.1%, scores to 0.01 分, counts to 1), then ranked as
places — units that read the same share a place (并列) and the next place skips (1, 1, 3),
so the last of 40 is 第 40 名. Columns `tied` and `ranked_of` let every page and export
write 第 N 名 / 共 M 名 with 并列. Units without data (no score, no problems, no target …) are 无数据:
they get no rank, are listed after the ranked units, and never count as zero.

Rank change: score metrics against the previous assessment of the same kind (for a single
indicator, the previous assessment that scored that indicator); rate and count metrics
against the same metric as of seven days earlier. prev − now, so ↑2 means up two places;
新 = ranked now but not then; — = nothing to compare with (no rank now, or no previous
assessment).

Status: the metric's rule in config/status.toml (dashboard/status.py), the same verdict
every page and export gives: 达标 when the shown value meets the target, 预警 within the
warning margin, 落后 beyond, 无数据 without a value. 走访覆盖率 is judged on its projection
at the next milestone (columns `projected`, `projected_due`), its value stays the current one.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass

import numpy as np
import pandas as pd

from dashboard import metrics, status, unit_numbers
from dashboard.components.text import place_text
from dashboard.db import (
    FileIdentity,
    admitted,
    as_of_batch,
    batch_memo,
    file_identity,
    query,
    require_scope,
    result_cache,
    root_id,
    served_store,
    snapshot_cache,
)
from dashboard.export import neutralise
from dashboard.labels import STATUS, SUBJECT_KIND, UNIT_KIND

WEEK = dt.timedelta(days=7)

# Levels a ranking can list, from the top of the territorial tree down, then the
# department side (working groups, departments).
RANK_LEVELS = ("district", "street", "community", "group", "department")

# Units that have no level below to rank: a click on them opens their open problems.
PROBLEM_DRILL_KINDS = ("department", "community")


@dataclass(frozen=True)
class RankMetric:
    """One metric a ranking may be ordered by (the allow-list entry)."""

    key: str
    label: str  # Chinese, as shown on the page
    source: str  # score | indicator | rectification | coverage | materials | points
    value: str  # column of the metric function's frame that is ranked
    higher_is_better: bool
    fmt: str  # pct | points | signed_points | count
    numerator: str
    numerator_label: str
    denominator: str | None
    denominator_label: str | None
    compare: str  # assessment | week
    definition: str

    @property
    def help(self) -> str:
        """The definition and the status rule, in Chinese (the rule from config/status.toml)."""
        return f"{self.definition}。状态：{self.rule.why()}。"

    @property
    def rule(self) -> status.StatusRule:
        """Target, basis, status rule and displayed precision (config/status.toml)."""
        return status.rule(self.key)

    @property
    def target(self) -> float | None:
        """A fixed target; None: per unit (score) or per indicator / milestone."""
        return self.rule.target

    @property
    def digits(self) -> int:
        """Display precision: ranks, gaps, ties and status use values rounded to it."""
        return self.rule.digits

    @property
    def is_score(self) -> bool:
        return self.source in {"score", "indicator"}


METRICS: tuple[RankMetric, ...] = (
    RankMetric(
        "score", "综合得分", "score", "value", True, "points",
        "value", "得分", "max_value", "满分", "assessment",
        "所选测评的综合得分；目标为本单位的目标分（未设定时沿用上级单位的目标分）",
    ),
    RankMetric(
        "indicator", "单项指标得分率", "indicator", "score_rate", True, "pct",
        "value", "得分", "max_value", "满分", "assessment",
        "所选测评中一项指标（如问卷或电话调查的一个题目）的得分率 = 得分 ÷ 满分；目标为该指标的目标值",
    ),
    RankMetric(
        "gap_to_city", "与全市得分差", "score", "gap_to_city", True, "signed_points",
        "value", "本单位得分", "city_value", "全市得分", "assessment",
        "本单位综合得分 − 全市综合得分",
    ),
    RankMetric(
        "rectification_rate", "整改率", "rectification", "rectification_rate", True, "pct",
        "rectified", "已整改", "found", "发现问题", "week",
        "截至当日已整改 ÷ 截至当日发现的问题（达标线为红榜线，落后线为黑榜线）",
    ),
    RankMetric(
        "on_time_rate", "按期整改率", "rectification", "on_time_rate", True, "pct",
        "rectified_on_time", "按期整改", "due", "已到期问题", "week",
        "在整改时限内完成 ÷ 整改时限已到的问题",
    ),
    RankMetric(
        "overdue", "逾期问题数", "rectification", "overdue", False, "count",
        "overdue", "逾期", "found", "发现问题", "week",
        "超过整改时限仍未整改的问题数（含严重问题），越少越好；没有发现问题的单位为无数据",
    ),
    RankMetric(
        "coverage_rate", "走访覆盖率", "coverage", "coverage_rate", True, "pct",
        "covered", "已走访对象", "target", "走访目标", "week",
        "已走访的不重复对象 ÷ 目标数（重复走访不重复计算）；目标为下一个节点要求（如 6 月底 70%），状态按推算到该节点的覆盖率判定",
    ),
    RankMetric(
        "entry_rate", "平台录入率", "coverage", "entry_rate", True, "pct",
        "entered", "已录入", "visits", "走访次数", "week",
        "已录入平台的走访 ÷ 全部走访次数",
    ),
    RankMetric(
        "completion_rate", "台账完成率", "materials", "completion_rate", True, "pct",
        "completed", "已完成", "required", "应报", "week",
        "最新台账中已完成（有审核的按审核通过数）÷ 应报数",
    ),
    RankMetric(
        "compliance_rate", "点位达标率", "points", "compliance_rate", True, "pct",
        "static_passed", "达标项", "static_checked", "检查项", "week",
        "每个点位每项静态指标的最近一次检查中达标的比例",
    ),
)  # fmt: skip

METRIC_BY_KEY = {m.key: m for m in METRICS}


def metric(key: str) -> RankMetric:
    if key not in METRIC_BY_KEY:
        raise ValueError(f"unknown ranking metric {key!r}")
    return METRIC_BY_KEY[key]


# ── choices offered by the page ────────────────────────────────────────────────────────


def level_options(scope_id: int) -> list[str]:
    """The levels that have units under the scope, top down."""
    require_scope(scope_id)  # read from the unit list, not through a scoped query
    units = metrics.units()
    ids = units["unit_id"].to_numpy()
    parents = units["parent_id"].to_numpy(dtype="float64", na_value=np.nan)
    below = np.zeros(len(ids), dtype=bool)  # the scope's subtree, itself left out
    frontier = np.array([scope_id])
    while len(frontier):  # one tree level a step; a unit already reached is not taken again
        step = np.isin(parents, frontier) & ~below
        below |= step
        frontier = ids[step]
    kinds = set(units["kind"].to_numpy(dtype=object)[below])
    return [level for level in RANK_LEVELS if level in kinds]


def score_assessments(as_of: dt.date) -> pd.DataFrame:
    """Overall assessments ended by as_of that hold scores, newest first."""
    return metrics.scored_assessments(as_of, "overall")


def indicator_options(as_of: dt.date) -> pd.DataFrame:
    """Indicators scored in some assessment that ended by as_of (one row each)."""
    pairs = _indicator_pairs(as_of)
    return (
        pairs.drop_duplicates("indicator_id")[["indicator_id", "code", "name", "category"]]
        .sort_values(["category", "code"])
        .reset_index(drop=True)
    )


def indicator_assessments(indicator_id: int, as_of: dt.date) -> pd.DataFrame:
    """Assessments ended by as_of that scored this indicator, newest first."""
    pairs = _indicator_pairs(as_of)
    return pairs[pairs["indicator_id"] == indicator_id].reset_index(drop=True)


def _indicator_pairs(as_of: dt.date) -> pd.DataFrame:
    pairs = query("rank_indicators")
    ended = pd.to_datetime(pairs["end_date"]).dt.date <= as_of
    return pairs[ended]


def default_assessment(m: RankMetric, as_of: dt.date, indicator_id: int | None) -> int | None:
    """The newest assessment ended by as_of that the metric can rank on."""
    if m.source == "indicator":
        frame = indicator_assessments(indicator_id, as_of) if indicator_id is not None else None
    else:
        frame = score_assessments(as_of)
    if frame is None or frame.empty:
        return None
    return int(frame.iloc[0]["assessment_id"])


def previous_assessment(assessment_id: int, indicator_id: int | None = None) -> int | None:
    """The assessment before this one: same kind (overall), or scoring the same indicator."""
    if indicator_id is None:
        frame = metrics.assessments()
        keep = (frame["kind"].to_numpy(dtype=object) == "overall") & (
            frame["overall_scores"].to_numpy() > 0
        )
    else:
        frame = query("rank_indicators")
        keep = frame["indicator_id"].to_numpy() == indicator_id
    ids = frame["assessment_id"].to_numpy()[keep]
    starts = frame["start_date"].to_numpy(dtype="datetime64[us]")[keep]
    ids = ids[np.lexsort((ids, starts))]  # by start date, then id
    at = np.flatnonzero(ids == assessment_id)
    if not len(at):
        return None
    return int(ids[at[0] - 1]) if at[0] > 0 else None


def indicator_target(indicator_id: int) -> float | None:
    """An indicator's target as a share (the table stores percent)."""
    rows = query("rank_indicators")
    rows = rows[rows["indicator_id"] == indicator_id]
    if rows.empty or pd.isna(rows.iloc[0]["target"]):
        return None
    return float(rows.iloc[0]["target"]) / 100.0


def coverage_target(as_of: dt.date) -> float | None:
    """The share of the next visit milestone (e.g. 0.7 due 30 June); None without one."""
    campaign = metrics.campaign_at(as_of)
    if campaign is None:
        return None
    milestone = campaign.next_milestone(as_of) or (
        campaign.milestones[-1] if campaign.milestones else None
    )
    return milestone.target_share if milestone else None


# ── the values, from metrics.py ────────────────────────────────────────────────────────


# Within an as-of batch (a page's days) the metric frames two rankings share are computed
# once: 整改率, 按期整改率 and 逾期 read one rectification frame, 走访覆盖率 and 平台录入率
# one coverage frame. Only read here, never changed.
_rectification = batch_memo(metrics.rectification)
_coverage = batch_memo(metrics.coverage)


def _values(
    m: RankMetric,
    scope_id: int,
    level: str,
    as_of: dt.date,
    assessment_id: int | None,
    indicator_id: int | None,
    subject_kind: str | None,
) -> pd.DataFrame:
    """unit_id, name, kind, parent_id, sort_order, value, numerator, denominator."""
    if m.source in {"score", "indicator"}:
        if assessment_id is None:  # nothing scored yet: every unit is 无数据
            frame = query("units_in_scope", scope_id=scope_id)
            frame = frame[frame["kind"] == level].copy()
            for column in ("value", "max_value", "city_value", "score_rate", "gap_to_city"):
                frame[column] = float("nan")
        else:
            frame = metrics.unit_scores(
                scope_id,
                assessment_id,
                level,
                indicator_id if m.source == "indicator" else None,
                rank_within="list",
            )
    elif m.source == "rectification":
        frame = _rectification(scope_id, as_of, level)
    elif m.source == "coverage":
        frame = _coverage(scope_id, as_of, level, by_kind=subject_kind is not None)
        if subject_kind is not None:
            frame = frame[frame["subject_kind"] == subject_kind]
    elif m.source == "materials":
        frame = metrics.materials_completion(scope_id, as_of, level)
    elif m.source == "points":
        frame = metrics.point_compliance(scope_id, as_of, level)
    else:  # pragma: no cover - the allow-list holds only the sources above
        raise ValueError(m.source)
    return _value_frame(m, frame)


def _value_frame(
    m: RankMetric, frame: pd.DataFrame, rows: np.ndarray | None = None
) -> pd.DataFrame:
    """The ranked columns of a metric function's frame (the values `_values` returns);
    with `rows`, of those rows of `frame` only (as if the frame held only them)."""
    # built as one frame from arrays: a column set at a time costs a copy each
    if rows is None:
        out = {c: frame[c].array for c in _UNIT_COLUMNS}
        pick = slice(None)
    else:
        out = {c: frame[c].array.take(rows) for c in _UNIT_COLUMNS}
        pick = rows
    out.update(_value_columns(m, lambda column: _floats(frame[column])[pick]))
    return pd.DataFrame(out)


def _value_columns(m: RankMetric, column) -> dict[str, np.ndarray]:
    """The metric's ranked number columns (value, for 走访覆盖率 the pace behind its
    projection, numerator, denominator) from `column(name)`: a metric column of the rows
    as a fresh float64 array (NaN = missing) — of a metric frame (_value_frame) or of every
    unit's numbers picked by position (_picked_values)."""
    out = {"value": column(m.value)}
    if m.key == "overdue":
        # A unit with no problems on record has nothing to be overdue on: 无数据, not 0.
        out["value"][column("found") == 0] = float("nan")
    if m.source == "coverage":  # for the projection at the next milestone
        for name in ("pace_per_day", "pace_window_days"):
            out[name] = column(name)
    out["numerator"] = column(m.numerator)
    n = len(out["value"])
    out["denominator"] = column(m.denominator) if m.denominator else np.full(n, np.nan)
    return out


_UNIT_COLUMNS = ("unit_id", "name", "kind", "parent_id", "sort_order")


def _picked_values(
    m: RankMetric, numbers: unit_numbers.Numbers, positions: np.ndarray, units: dict
) -> dict[str, object]:
    """`_values`' columns, as arrays, of the units at `positions` (ascending) from every
    unit's numbers of one day (dashboard/unit_numbers.py): the rows the metric function
    has for them, the unit columns by position (as metrics._with_names joins them).
    `units` keeps the unit columns taken for each set of rows (the metrics and days of a
    level mostly share one)."""
    taken = positions[numbers.present[positions]]
    key = taken.tobytes()
    if key not in units:
        names = metrics._name_table()[0]
        units[key] = {c: names[c].array.take(taken) for c in _UNIT_COLUMNS}
    columns = dict(units[key])
    columns.update(_value_columns(m, lambda name: numbers.column(name)[taken]))
    return columns


def _served_values(
    m: RankMetric, scope_id: int, level: str, as_of: dt.date, subject_kind: str | None
) -> tuple[pd.DataFrame, dict[str, object]] | None:
    """A week-compared metric's values at as_of (a frame) and a week earlier (arrays), as
    `_values` gives them, picked from every unit's numbers when the served rows hold both
    days (the default date); None otherwise (a replayed date, coverage by subject kind or
    before any campaign: `_values` runs as before). The access check is `ranking`'s."""
    days = (as_of, as_of - WEEK)
    if subject_kind is not None or m.source not in unit_numbers.SOURCES:
        return None
    if m.source == "coverage" and any(metrics.campaign_at(day) is None for day in days):
        return None
    store = unit_numbers.served_store(days, (m.source,))
    if store is None:
        return None
    positions = unit_numbers.positions(store.ranked(scope_id, level))
    units: dict[bytes, dict] = {}
    now, before = (
        _picked_values(m, unit_numbers.numbers(m.source, day), positions, units) for day in days
    )
    return pd.DataFrame(now), before


def _floats(column: pd.Series) -> np.ndarray:
    """A numeric column as float64 (missing and non-numbers as NaN), a fresh array."""
    return pd.to_numeric(column, errors="coerce").to_numpy(
        dtype="float64", na_value=np.nan, copy=True
    )


def _rank(values: pd.Series, m: RankMetric, digits: int | None = None) -> pd.Series:
    digits = m.digits if digits is None else digits
    return metrics.place_rank(values.round(digits), higher_is_better=m.higher_is_better)


def change_text(previous: object, now: object, comparable: bool = True) -> str:
    """↑2 / ↓3 / 持平 / 新 / — (prev − now: a smaller rank number is a better place)."""
    if pd.isna(now) or not comparable:
        return "—"
    if pd.isna(previous):
        return "新"
    moved = int(previous) - int(now)
    if moved == 0:
        return "持平"
    return f"↑{moved}" if moved > 0 else f"↓{-moved}"


def _change_texts(previous: np.ndarray, now: np.ndarray, comparable: bool) -> list[str]:
    """change_text of each row (ranks as floats, NaN = none), the arithmetic done at once."""
    out = np.full(len(now), "—", dtype=object)
    if comparable:
        ranked = ~np.isnan(now)
        out[ranked & np.isnan(previous)] = "新"
        both = np.flatnonzero(ranked & ~np.isnan(previous))
        moved = previous[both].astype("int64") - now[both].astype("int64")
        out[both] = [f"↑{m}" if m > 0 else f"↓{-m}" if m < 0 else "持平" for m in moved.tolist()]
    return out.tolist()


def _targets(
    m: RankMetric,
    frame: pd.DataFrame,
    as_of: dt.date,
    indicator_id: int | None,
    rule: status.StatusRule | None = None,
):
    fixed = (rule or m.rule).target
    if m.source == "score" and fixed is None:
        return frame["unit_id"].map(inherited_target_scores()).astype("float64")
    if m.source == "indicator":
        target = indicator_target(indicator_id) if indicator_id is not None else None
    elif m.source == "coverage" and fixed is None:
        target = coverage_target(as_of)
    else:
        target = fixed
    return pd.Series(float("nan") if target is None else target, index=frame.index)


# defined with the metrics: each unit's target score, or its nearest ancestor's
inherited_target_scores = metrics.inherited_target_scores


def status_code(value: float, target: float, m: RankMetric) -> str:
    """ok / warn / bad / none for a value against its target (config/status.toml)."""
    return m.rule.judge(None if pd.isna(value) else float(value),
                        None if pd.isna(target) else float(target))  # fmt: skip


def _coverage_projection(frame: pd.DataFrame, as_of: dt.date) -> tuple[pd.Series, dt.date | None]:
    """Each unit's coverage projected at the next milestone (metrics.project_coverage, for
    all units at once: metrics.projected_rates), and that milestone's date; after the last
    milestone, the current value and None."""
    campaign = metrics.campaign_at(as_of)
    milestone = campaign.next_milestone(as_of) if campaign else None
    if milestone is None:
        return frame["value"].copy(), None
    projected = metrics.projected_rates(
        frame["numerator"].to_numpy(),
        frame["denominator"].to_numpy(),
        frame["pace_per_day"].to_numpy(),
        (milestone.due_date - as_of).days,
        frame["pace_window_days"].to_numpy(),
    )
    return pd.Series(projected, index=frame.index, dtype="float64"), milestone.due_date


def ranking(
    metric_key: str,
    scope_id: int,
    level: str,
    as_of: dt.date,
    assessment_id: int | None = None,
    indicator_id: int | None = None,
    subject_kind: str | None = None,
) -> pd.DataFrame:
    """The ranking of every unit of `level` under `scope_id` by one metric.

    Columns: unit_id, name, kind, parent_id, value, numerator, denominator, rank (Int64,
    places 1, 1, 3; <NA> = 无数据), tied (并列), ranked_of (units with a place), prev_rank and
    prev_value (rank and value at the comparison point: a week earlier, or the previous
    assessment), rank_change (↑2 / ↓3 / 持平 / 新 / —), gap_to_above (how far behind the
    next better rank, ≥ 0), target, gap_to_target (positive = ahead of target, for
    lower-is-better metrics too; of the judged value), status (ok/warn/bad/none),
    status_text (● 达标 …); for 走访覆盖率 also projected and projected_due (the judged
    value and its milestone; projected_due None after the last milestone). Ranked units
    first by rank (official order within a tie), then 无数据.
    """
    m = metric(metric_key)
    if level not in metrics.LEVELS or level == "self":
        raise ValueError(f"unknown ranking level {level!r}")
    if subject_kind is not None and subject_kind not in SUBJECT_KIND:
        raise ValueError(f"unknown subject kind {subject_kind!r}")
    if m.source == "indicator" and indicator_id is None:
        raise ValueError("the single-indicator ranking needs an indicator_id")
    if m.is_score and assessment_id is None:
        assessment_id = default_assessment(m, as_of, indicator_id)
    require_scope(scope_id)  # this cache sits above the query runner's access check
    return _cached_ranking(
        file_identity(), metric_key, scope_id, level, as_of, assessment_id, indicator_id,
        subject_kind,
    )  # fmt: skip


@result_cache(max_entries=1000)
def _cached_ranking(
    identity: FileIdentity,
    metric_key: str,
    scope_id: int,
    level: str,
    as_of: dt.date,
    assessment_id: int | None,
    indicator_id: int | None,
    subject_kind: str | None,
) -> pd.DataFrame:
    """The ranking, kept in this process per snapshot (the file identity changes when data
    is swapped) by db.result_cache: a hit is a dict lookup and a shallow copy, not
    st.cache_data's pickling. The access check ran in `ranking`, before this."""
    return _compute_ranking(
        metric(metric_key), scope_id, level, as_of, assessment_id, indicator_id, subject_kind
    )


def _compute_ranking(
    m: RankMetric,
    scope_id: int,
    level: str,
    as_of: dt.date,
    assessment_id: int | None,
    indicator_id: int | None,
    subject_kind: str | None,
    group_by: str | None = None,
    rule: status.StatusRule | None = None,
) -> pd.DataFrame:
    """The ranking (`ranking`'s frame); with group_by, of every group at once (_ranked)."""
    rule = rule or m.rule  # read once: each read of a rule looks at its config file
    previous: pd.DataFrame | dict[str, object] | None = None
    served = (
        _served_values(m, scope_id, level, as_of, subject_kind)
        if m.compare == "week" and group_by is None
        else None
    )
    if served is not None:  # the default date: picked from every unit's numbers
        frame, previous = served
    elif m.compare == "week":
        # this week's and last week's counts in one lookup (one query run for a replayed day)
        with as_of_batch([as_of, as_of - WEEK]):
            frame = _values(m, scope_id, level, as_of, assessment_id, indicator_id, subject_kind)
            previous = _values(m, scope_id, level, as_of - WEEK, None, None, subject_kind)
    else:
        frame = _values(m, scope_id, level, as_of, assessment_id, indicator_id, subject_kind)
    if m.compare == "assessment":
        previous_id = (
            previous_assessment(assessment_id, indicator_id if m.source == "indicator" else None)
            if assessment_id is not None
            else None
        )
        comparable = previous_id is not None
        previous = (
            _values(m, scope_id, level, as_of, previous_id, indicator_id, subject_kind)
            if comparable
            else None
        )
    else:
        comparable = True
    return _ranked(m, rule, frame, previous, comparable, as_of, indicator_id, group_by)


def _ranked(
    m: RankMetric,
    rule: status.StatusRule,
    frame: pd.DataFrame,
    previous: pd.DataFrame | None,
    comparable: bool,
    as_of: dt.date,
    indicator_id: int | None,
    group_by: str | None = None,
) -> pd.DataFrame:
    """The ranking of `frame` (`_values` at as_of) against `previous` (`_values` at the
    comparison point; None: nothing to compare with): `ranking`'s columns and order (with
    group_by, of each group: _ranked_columns)."""
    columns = _ranked_columns(m, rule, frame, previous, comparable, as_of, indicator_id, group_by)
    return pd.DataFrame(columns)


def _places(
    shown: np.ndarray, higher_is_better: bool, groups: np.ndarray | None = None
) -> np.ndarray:
    """metrics.place_rank of values already at their shown precision, as floats (NaN = no
    place): 1 + the number of values strictly better (places 1, 1, 3) — within each group
    of `groups` (codes, one per value; None: one group), so the rankings of every peer
    group of a level are computed at once with the same rule."""
    return _place_runs(shown, higher_is_better, groups)[0]


def _place_runs(
    shown: np.ndarray, higher_is_better: bool, groups: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(places, tied, above, ranked_of) of `shown` within its groups: each value's place,
    whether another value of its group shares it (并列), the shown value of the next better
    place in its group (NaN when first or without a place), and how many values of its
    group have a place."""
    n = len(shown)
    one = groups is None
    codes = np.zeros(n, dtype="int64") if one else pd.factorize(np.asarray(groups))[0]
    places = np.full(n, np.nan)
    tied = np.zeros(n, dtype=bool)
    above = np.full(n, np.nan)
    known = np.flatnonzero(~np.isnan(shown))
    key = -shown[known] if higher_is_better else shown[known]
    order = np.lexsort((key, codes[known]))  # by group, best first
    rows, sorted_key, sorted_group = known[order], key[order], codes[known][order]
    m = len(rows)
    if m:
        step = np.arange(m)
        new_group = np.ones(m, dtype=bool)
        new_group[1:] = sorted_group[1:] != sorted_group[:-1]
        new_run = new_group.copy()  # a run: one group's equal values, one place
        new_run[1:] |= sorted_key[1:] != sorted_key[:-1]
        group_start = np.maximum.accumulate(np.where(new_group, step, 0))
        run_start = np.maximum.accumulate(np.where(new_run, step, 0))
        places[rows] = run_start - group_start + 1
        run_length = np.diff(np.append(np.flatnonzero(new_run), m))
        tied[rows] = np.repeat(run_length, run_length) > 1
        # places are ranks of the shown values, so one place has one shown value: the
        # next better place's is the last of the run before, in the same group
        better = run_start > group_start
        above[rows[better]] = shown[rows[run_start[better] - 1]]
    ranked_of = np.bincount(codes[known], minlength=codes.max() + 1 if n else 0)[codes]
    return places, tied, above, ranked_of.astype("int64")


def _ranked_columns(
    m: RankMetric,
    rule: status.StatusRule,
    frame: pd.DataFrame,
    previous: pd.DataFrame | dict[str, np.ndarray] | None,
    comparable: bool,
    as_of: dt.date,
    indicator_id: int | None,
    group_by: str | None = None,
) -> dict[str, object]:
    """`_ranked`'s columns as arrays, already in the ranking's row order: ranks, verdicts
    and changes computed on numpy arrays and each column taken once, so a caller adding
    columns of its own (周报's week changes) builds one frame. `previous` may be its
    unit_id and value columns as arrays.

    With `group_by` (a unit column, "parent_id"), the rows are the rankings of several
    groups at once — each group's ranks, ties, counts and gaps within the group, rows
    ordered by group (first appearance) and within it as one ranking: every peer group of
    a level ranked in one computation; `previous` then has that column too."""
    digits = rule.digits
    n = len(frame)
    shown = np.round(frame["value"].to_numpy(dtype="float64", na_value=np.nan), digits)
    groups = None if group_by is None else frame[group_by].to_numpy()
    rank_now, tied, above, ranked_of = _place_runs(shown, m.higher_is_better, groups)
    ranked = ~np.isnan(rank_now)
    cols: dict[str, object] = {
        "rank": pd.array(rank_now, dtype="Int64"),
        "tied": tied,
        "ranked_of": ranked_of,
    }
    prev_rank = np.full(n, np.nan)
    prev_value = np.full(n, np.nan)
    if previous is not None and len(previous["unit_id"]):
        # each unit's row of the previous ranking, by position (a left join on unit_id)
        at = pd.Index(previous["unit_id"]).get_indexer(frame["unit_id"])
        found = at >= 0
        values_then = np.asarray(previous["value"], dtype="float64")  # float64 (_value_frame)
        groups_then = None if group_by is None else np.asarray(previous[group_by])
        ranks_then = _places(np.round(values_then, digits), m.higher_is_better, groups_then)
        prev_rank[found] = ranks_then[at[found]]
        prev_value[found] = values_then[at[found]]
    cols["prev_rank"] = pd.array(prev_rank, dtype="Int64")
    cols["prev_value"] = prev_value
    cols["rank_change"] = np.array(_change_texts(prev_rank, rank_now, comparable), dtype=object)

    # the value of the next better place (with places 1, 1, 3, place 3's is place 1's)
    gap = (above - shown) if m.higher_is_better else (shown - above)
    cols["gap_to_above"] = np.round(gap, digits)

    target = _targets(m, frame, as_of, indicator_id, rule).to_numpy(
        dtype="float64", na_value=np.nan
    )
    cols["target"] = target
    judged = shown
    drop = []
    if rule.basis == "projection" and m.key == "coverage_rate":
        projected, due = _coverage_projection(frame, as_of)
        cols["projected"] = projected.to_numpy()
        cols["projected_due"] = np.full(n, due, dtype=object)
        judged = projected.round(digits).to_numpy()
        drop = ["pace_per_day", "pace_window_days"]
    ahead = judged - target if m.higher_is_better else target - judged
    cols["gap_to_target"] = np.round(ahead, digits)
    codes = rule.judge_all(judged, target)  # = status_code per row, the rule read once
    cols["status"] = np.array(codes, dtype=object)
    cols["status_text"] = np.array([f"{STATUS[c][1]} {STATUS[c][0]}" for c in codes], dtype=object)

    # ranked first by place, then 无数据; the official order within a place
    order = np.lexsort(
        (
            frame["unit_id"].to_numpy(),
            frame["sort_order"].to_numpy(dtype="float64", na_value=np.inf),
            np.where(ranked, rank_now, np.inf),
            np.zeros(n, dtype="int64") if groups is None else pd.factorize(groups)[0],
        )
    )
    out = {c: frame[c].array.take(order) for c in frame.columns if c not in drop}
    out.update({c: v.take(order) for c, v in cols.items()})
    return out


# ── several week-compared rankings of one level at once ────────────────────────────────

# the metric function behind each week-compared source, as `_values` reads it
_WEEK_SOURCES = {
    "rectification": metrics.rectification,
    "coverage": metrics.coverage,
    "materials": metrics.materials_completion,
    "points": metrics.point_compliance,
}


def week_rankings(
    metric_keys: tuple[str, ...], scope_id: int, level: str, as_of: dt.date
) -> dict[str, pd.DataFrame]:
    """{key: ranking(key, scope_id, level, as_of)} for week-compared metrics (rates and
    counts, no subject kind), the same frames, with each source's values at as_of and a
    week earlier read once for all its metrics (one day-list query per source, not two
    metric frames per ranking): what a page showing one level's standing on several
    numbers reads (本单位). 走访覆盖率 needs a campaign in force at as_of (without one it
    has no rate to rank: weekly.ranking_at)."""
    for key in metric_keys:
        if metric(key).compare != "week":
            raise ValueError(f"{key!r} is not compared with a week earlier")
    if level not in metrics.LEVELS or level == "self":
        raise ValueError(f"unknown ranking level {level!r}")
    require_scope(scope_id)  # this cache sits above the query runner's access check
    cached = _cached_week_rankings(file_identity(), tuple(metric_keys), scope_id, level, as_of)
    return {key: frame.copy(deep=False) for key, frame in cached.items()}


@result_cache(max_entries=1000)
def _cached_week_rankings(
    identity: FileIdentity,
    metric_keys: tuple[str, ...],
    scope_id: int,
    level: str,
    as_of: dt.date,
) -> dict[str, pd.DataFrame]:
    """week_rankings, kept per snapshot (its access check ran before)."""
    days = [as_of, as_of - WEEK]
    named: dict[str, pd.DataFrame] = {}
    at: dict[tuple[str, dt.date], np.ndarray] = {}
    for source in dict.fromkeys(metric(key).source for key in metric_keys):
        if source == "coverage" and metrics.campaign_at(as_of) is None:
            raise ValueError("no visit campaign in force: 走访覆盖率 has nothing to rank")
        rows = metrics.over_days(_WEEK_SOURCES[source], scope_id, days, level)
        # the unit columns joined once for both days (a stable sort into the units' order,
        # so each day's rows are in the order its own metric frame has them)
        named[source] = metrics._with_names(rows)
        stamps = named[source]["as_of"].to_numpy()
        for day in days:
            at[source, day] = np.flatnonzero(stamps == day)  # the metric frame at `day`
    out = {}
    for key in metric_keys:
        m = metric(key)
        now = _value_frame(m, named[m.source], at[m.source, days[0]])
        before = _value_frame(m, named[m.source], at[m.source, days[1]])
        out[key] = _ranked(m, m.rule, now, before, True, as_of, None)
    return out


def peer_week_rankings(
    metric_keys: tuple[str, ...], parent_id: int, kind: str, as_of: dt.date
) -> dict[str, pd.DataFrame]:
    """week_rankings(metric_keys, parent_id, kind, as_of) for a peer group (the units of
    `kind` directly under `parent_id`, the ranking 本单位 reads): at a served day (the
    snapshot's default date) a slice of the rankings of EVERY peer group of `kind`, which
    are computed once per snapshot and day with the same engine (`_ranked_columns` by
    group) — eight units' pages share them; at any other day, week_rankings."""
    require_scope(parent_id)  # the slice is this parent's group only
    identity = file_identity()
    if root_id(identity) is None or not served_store(identity).covers(as_of):
        return week_rankings(metric_keys, parent_id, kind, as_of)
    out = {}
    rules = tuple(metric(key).rule for key in metric_keys)  # a changed status.toml: recomputed
    for key, (columns, bounds) in _all_peer_rankings(
        identity, tuple(metric_keys), kind, as_of, rules
    ).items():
        lo, hi = bounds.get(int(parent_id), (0, 0))
        out[key] = columns.iloc[lo:hi].reset_index(drop=True)  # its own rows, a fresh frame
    return out


@snapshot_cache(max_entries=64)
def _all_peer_rankings(
    identity: FileIdentity,
    metric_keys: tuple[str, ...],
    kind: str,
    as_of: dt.date,
    rules: tuple[status.StatusRule, ...],
) -> dict[str, dict]:
    """{key: (the ranked rows of every unit of `kind` by peer group (parent), {parent_id:
    (first row, end row)})} — _cached_week_rankings' computation for all of the
    kind's units under the root at once, ranked within parents, under `rules` (the
    metrics' status rules, part of the key: targets and margins are settings). Snapshot
    state, kept when page results are dropped, computed from the served rows (so never
    staler than they are); the same for every user (peer_week_rankings hands out one
    group's rows)."""
    days = [as_of, as_of - WEEK]
    root = root_id(identity)
    with admitted(root):
        named: dict[str, pd.DataFrame] = {}
        for source in dict.fromkeys(metric(key).source for key in metric_keys):
            if source == "coverage" and metrics.campaign_at(as_of) is None:
                raise ValueError("no visit campaign in force: 走访覆盖率 has nothing to rank")
            rows = metrics.over_days(_WEEK_SOURCES[source], root, days, kind)
            named[source] = metrics._with_names(rows)
        out: dict[str, dict] = {}
        for key in metric_keys:
            m = metric(key)
            frame = named[m.source]
            stamps = frame["as_of"].to_numpy()
            now = _value_frame(m, frame, np.flatnonzero(stamps == days[0]))
            before = _value_frame(m, frame, np.flatnonzero(stamps == days[1]))
            rule = rules[metric_keys.index(key)]
            out[key] = _ranked_columns(m, rule, now, before, True, as_of, None, "parent_id")
    return {
        key: (pd.DataFrame(columns), _group_bounds(columns["parent_id"]))
        for key, columns in out.items()
    }


def peer_score_ranking(
    parent_id: int, kind: str, as_of: dt.date, assessment_id: int
) -> pd.DataFrame:
    """ranking("score", parent_id, kind, as_of, assessment_id=...) for a peer group: at a
    served day a slice of the score rankings of every peer group of `kind` in that test
    (computed once per snapshot by the same engine, ranked within parents), else
    `ranking`."""
    require_scope(parent_id)  # the slice is this parent's group only
    identity = file_identity()
    if root_id(identity) is None or not served_store(identity).covers(as_of):
        return ranking("score", parent_id, kind, as_of, assessment_id=assessment_id)
    m = metric("score")
    frame, bounds = _all_peer_score_rankings(identity, kind, as_of, int(assessment_id), m.rule)
    lo, hi = bounds.get(int(parent_id), (0, 0))
    return frame.iloc[lo:hi].reset_index(drop=True)


@snapshot_cache(max_entries=64)
def _all_peer_score_rankings(
    identity: FileIdentity,
    kind: str,
    as_of: dt.date,
    assessment_id: int,
    rule: status.StatusRule,
) -> tuple[pd.DataFrame, dict[int, tuple[int, int]]]:
    """The 综合得分 ranking of every peer group of `kind` in one test (_compute_ranking
    under the root, ranked within parents) and each parent's rows; snapshot state keyed
    by the status rule (a setting), as _all_peer_rankings."""
    root = root_id(identity)
    with admitted(root):
        frame = _compute_ranking(
            metric("score"), root, kind, as_of, assessment_id, None, None, "parent_id", rule
        )
    return frame, _group_bounds(frame["parent_id"])


def warm_peer_rankings(metric_keys: tuple[str, ...], as_of: dt.date) -> None:
    """Compute every peer group's rankings at `as_of` (peer_week_rankings' and, in the
    latest scored test, peer_score_ranking's snapshot state) for every ranked kind, ahead
    of the first 本单位 page (startup.warm_up_in_background): no scope's result is handed
    out, so no access check is needed. Nothing when `as_of` is not a served day."""
    identity = file_identity()
    if root_id(identity) is None or not served_store(identity).covers(as_of):
        return
    units = metrics.units()
    kinds = sorted(
        k for k in units.loc[units["parent_id"].notna(), "kind"].dropna().unique()
        if k in metrics.LEVELS
    )  # fmt: skip
    tests = metrics.scored_assessments(as_of)
    rules = tuple(metric(key).rule for key in metric_keys)
    for kind in kinds:
        if metrics.campaign_at(as_of) is not None:  # 本单位 reads them only then (_ranking)
            _all_peer_rankings(identity, tuple(metric_keys), kind, as_of, rules)
        if not tests.empty:
            latest = int(tests.iloc[0]["assessment_id"])
            _all_peer_score_rankings(identity, kind, as_of, latest, metric("score").rule)


def _group_bounds(parent_ids: object) -> dict[int, tuple[int, int]]:
    """{parent_id: (first row, end row)} of rows grouped by parent."""
    parents = np.asarray(parent_ids, dtype="float64")
    if not len(parents):
        return {}
    starts = np.flatnonzero(np.r_[True, parents[1:] != parents[:-1]])
    ends = np.r_[starts[1:], len(parents)]
    return {int(parents[a]): (int(a), int(b)) for a, b in zip(starts, ends, strict=True)}


# ── drill-down ─────────────────────────────────────────────────────────────────────────


def drill_token(unit_id: int) -> str:
    """How a unit is written in the URL: its name when unique, else its id."""
    units = metrics.units()
    name = units.loc[units["unit_id"] == unit_id, "name"]
    if len(name) and (units["name"] == name.iloc[0]).sum() == 1:
        return str(name.iloc[0])
    return str(unit_id)


def parse_drill(token: str | None) -> int | None:
    """The unit a URL `drill` value names (a unique name or an id), or None."""
    if not token:
        return None
    units = metrics.units()
    token = token.strip()
    match = units[units["name"] == token]
    if len(match) == 1:
        return int(match.iloc[0]["unit_id"])
    if token.isdigit():
        match = units[units["unit_id"] == int(token)]
        if len(match) == 1:
            return int(match.iloc[0]["unit_id"])
    return None


def drill_path(scope_id: int, unit_id: int) -> list[tuple[int, str, str]] | None:
    """(unit_id, name, kind) from the scope down to the unit; None when not under the scope."""
    units = metrics.units().set_index("unit_id")
    path = []
    current: object = unit_id
    for _ in range(20):
        if current is None or pd.isna(current) or current not in units.index:
            return None
        row = units.loc[current]
        path.append((int(current), str(row["name"]), str(row["kind"])))
        if current == scope_id:
            return list(reversed(path))
        current = row["parent_id"]
    return None


def child_level(kind: str) -> str | None:
    """The level a unit of `kind` drills into (None: it opens its open problems)."""
    return metrics.child_level(kind)


def open_problems(unit_id: int, as_of: dt.date) -> pd.DataFrame:
    """The unit's problems still open at as_of, with deadlines and days overdue."""
    return query("rank_open_problems", unit_id=unit_id, as_of=as_of)


# ── export ─────────────────────────────────────────────────────────────────────────────


def export_rows(frame: pd.DataFrame, m: RankMetric) -> tuple[list[str], list[list[object]]]:
    """The ranking as plain header + rows (rates as shares, 无数据 as text)."""
    header = ["名次", "单位", "类别", m.label, m.numerator_label]
    if m.denominator_label:
        header.append(m.denominator_label)
    projected = "projected" in frame
    if projected:
        header.append("按进度推算到下一节点")
    gap = "预计与目标差距" if projected else "与目标差距"  # gap of the judged value
    header += ["名次变化", "与上一名差距", "目标", gap, "状态"]
    rows = []
    for r in frame.itertuples():
        value = None if pd.isna(r.value) else round(float(r.value), m.digits + 2)
        row: list[object] = [
            place_text(r.rank, r.ranked_of, tied=bool(r.tied)),
            r.name,
            UNIT_KIND.get(r.kind, r.kind),
            "无数据" if value is None else value,
            None if pd.isna(r.numerator) else float(r.numerator),
        ]
        if m.denominator_label:
            row.append(None if pd.isna(r.denominator) else float(r.denominator))
        if projected:
            row.append(_projected_cell(r.projected, r.projected_due))
        row += [
            r.rank_change,
            None if pd.isna(r.gap_to_above) else float(r.gap_to_above),
            None if pd.isna(r.target) else float(r.target),
            None if pd.isna(r.gap_to_target) else float(r.gap_to_target),
            r.status_text,
        ]
        rows.append(row)
    return header, rows


def _projected_cell(value: object, due: object) -> str:
    if due is None or pd.isna(due):
        return "节点已过，按当前值"
    return "暂不推算" if pd.isna(value) else f"{due:%m-%d} 达 {float(value) * 100:.1f}%"


def ranking_xlsx(frame: pd.DataFrame, m: RankMetric, title_lines: list[str]) -> bytes:
    """An .xlsx of the ranking: title lines (as-of date, scope, metric) then the table.

    Every cell passes through dashboard.export.neutralise, so a unit name such as
    "=HYPERLINK(…)" stays text.
    """
    import xlsxwriter

    header, rows = export_rows(frame, m)
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet("排名")
    bold = book.add_format({"bold": True, "font_size": 14})
    head = book.add_format({"bold": True, "bg_color": "#e8eef7", "border": 1})
    number_format = {"pct": "0.0%", "points": "0.00", "signed_points": "+0.00;-0.00;0.00"}
    value_fmt = book.add_format({"num_format": number_format.get(m.fmt, "0")})
    for i, line in enumerate(title_lines):
        sheet.write_string(i, 0, str(neutralise(line)), bold if i == 0 else None)
    top = len(title_lines) + 1
    for j, name in enumerate(header):
        sheet.write_string(top, j, str(neutralise(name)), head)
    value_columns = {3, len(header) - 3, len(header) - 2, len(header) - 4}
    for i, row in enumerate(rows, start=top + 1):
        for j, cell in enumerate(row):
            cell = neutralise(cell)
            if cell is None:
                sheet.write_blank(i, j, None)
            elif isinstance(cell, str):
                sheet.write_string(i, j, cell)
            else:
                sheet.write_number(i, j, cell, value_fmt if j in value_columns else None)
    sheet.set_column(0, 0, 8)
    sheet.set_column(1, 1, 18)
    sheet.set_column(2, len(header) - 1, 13)
    sheet.freeze_panes(top + 1, 2)
    book.close()
    return buffer.getvalue()
