"""测算: the expected score of the next test, what each open fix is worth, and how often the
estimate was right (backtest against "same as last test").

The model, in three sentences (also on the page and in the README):
    预计得分 = Σ 各指标分值 × 预计得分率。实地考察指标的得分率 = 固定点位按现状的达标比例与随机
    点位（各类点位池抽中一个点位不达标的概率，按类平均）按 fixed_share 加权；网上申报指标 = 其
    台账完成率；问卷调查指标 = 最近一次调查的得分率。截至当日没有数据的指标按本单位上一次测评
    该项（无分项时按综合）得分率计。

Every number the model assumes is a setting in config/simulator.toml (`Settings`). The
model is linear in the counts it reads (passing observations, completed ledger items,
survey points), so the worth of a set of fixes is the sum of their worths and the
projected score is the estimate plus that sum — exactly, not an approximation.

Field measure (queries/sim_field_states.sql): an (inspection point,
indicator) is observed when it has a check within `lookback_days`; it fails as it stands when that check failed and
the problem it raised is not rectified, or a problem found there since is still open. For an
indicator, F = passing ÷ observed at fixed points, R = 1 − the mean over point types of
(failing ÷ observed) at random-pool points (the chance one drawn point of the type fails),
rate = fixed_share·F + (1 − fixed_share)·R (only F or only R when the other has no data).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import logging
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from dashboard import db, metrics
from dashboard.db import per_snapshot, query

ROOT = Path(__file__).resolve().parent.parent
CONFIG_PATH = ROOT / "config" / "simulator.toml"

MODEL_TEXT = (
    "预计得分 = Σ 各指标分值 × 预计得分率。实地考察指标的得分率 = 固定点位按现状的达标比例与随机点位"
    "（各类点位池中抽中一个点位不达标的概率，按类平均）按固定点位观测比例 {fixed:.0%} 加权；"
    "网上申报指标 = 其台账完成率；问卷调查指标 = 最近一次调查的得分率。"
    "截至当日没有数据的指标按本单位上一次测评该项（无分项时按综合）得分率计；"
    "各项整改可挽回的分值相加即预计提升。"
)


def model_text(settings: Settings) -> str:
    """The model in three sentences, with the settings it uses (page and README)."""
    return MODEL_TEXT.format(fixed=settings.fixed_share)


SCORED_CATEGORIES = ("field", "materials", "questionnaire")
CATEGORY_LABEL = {"field": "实地考察", "materials": "网上申报", "questionnaire": "问卷调查"}
SOURCE_LABEL = {
    "points": "点位检查",
    "materials": "台账完成率",
    "survey": "最近调查",
    "last_test": "沿用上次测评",
}
# fix kinds, in the order the list breaks ties
KIND_LABEL = {
    "overdue_problem": "逾期问题（点位）",
    "open_problem": "未到期问题（点位）",
    "fixed_point": "固定点位不达标",
    "random_point": "随机点位不达标",
    "materials": "台账未报齐",
    "coverage": "走访未达节点",
    "survey": "调查指标低于目标",
}
KIND_ORDER = {k: i for i, k in enumerate(KIND_LABEL)}


# ── settings ───────────────────────────────────────────────────────────────────────────


class SettingsError(ValueError):
    """A Chinese message naming the section and key of config/simulator.toml at fault."""


@dataclass(frozen=True)
class Settings:
    fixed_share: float = 0.5
    lookback_days: int = 180
    driven_items: tuple[str, ...] = ("知晓率", "参与率")
    gap_share: float = 0.5
    lead_days: int = 7
    min_measured: int = 1


# (section, key) → (attribute, kind, low, high, Chinese description)
_SPEC = {
    ("field", "fixed_share"): ("fixed_share", "rate", 0.0, 1.0, "固定点位观测所占比例"),
    ("field", "lookback_days"): ("lookback_days", "int", 1, 3650, "检查有效天数"),
    ("coverage", "driven_items"): ("driven_items", "words", None, None, "受走访影响的指标"),
    ("coverage", "gap_share"): ("gap_share", "rate", 0.0, 1.0, "走访可补回差距的比例"),
    ("fixes", "lead_days"): ("lead_days", "int", 0, 365, "督办时限提前天数"),
    ("backtest", "min_measured"): ("min_measured", "int", 0, 1000, "回测所需有数据的指标数"),
}


def parse_settings(data: dict) -> Settings:
    """Settings from a parsed TOML document; SettingsError (Chinese) on anything wrong."""
    values: dict[str, object] = {}
    for section, body in data.items():
        if not isinstance(body, dict):
            raise SettingsError(f"测算配置：[{section}] 应为一个表")
        for key, value in body.items():
            spec = _SPEC.get((section, key))
            if spec is None:
                raise SettingsError(f"测算配置 [{section}] 含未知参数 “{key}”")
            attr, kind, low, high, name = spec
            where = f"测算配置 [{section}] {key}（{name}）"
            if kind == "words":
                if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                    raise SettingsError(f'{where} 应为文字列表，如 ["知晓率"]')
                values[attr] = tuple(value)
                continue
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise SettingsError(f"{where} 应为数字，实际为 “{value}”")
            if kind == "int" and not isinstance(value, int):
                raise SettingsError(f"{where} 应为整数，实际为 {value}")
            if not low <= value <= high:
                raise SettingsError(f"{where} 应在 {low} 到 {high} 之间，实际为 {value}")
            values[attr] = float(value) if kind == "rate" else int(value)
    return Settings(**values)


def load_settings(path: Path | str | None = None) -> Settings:
    """config/simulator.toml as Settings (defaults for keys left out); SettingsError if bad."""
    path = Path(path or CONFIG_PATH)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return Settings()
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"测算配置 {path.name} 格式有误：{exc}") from exc
    return parse_settings(data)


def settings_or_default(path: Path | str | None = None) -> tuple[Settings, str | None]:
    """The settings, or the defaults and the Chinese reason the file could not be used."""
    try:
        return load_settings(path), None
    except SettingsError as exc:
        return Settings(), f"{exc}；已按内置默认值测算。"


# ── the published structure ────────────────────────────────────────────────────────────


@per_snapshot
def structure() -> pd.DataFrame:
    """The scored items: leaf indicators of 实地考察 / 网上申报 / 问卷调查 with weight > 0."""
    frame = query("sim_indicators")
    keep = frame["category"].isin(SCORED_CATEGORIES) & (frame["weight"] > 0)
    return frame[keep].reset_index(drop=True)


def _date(value: object) -> dt.date:
    if isinstance(value, pd.Timestamp | dt.datetime):
        return value.date()
    return value  # type: ignore[return-value]


# ── measures, for many (scope, day) keys at once ───────────────────────────────────────
#
# Every frame below carries the key columns (scope_id, as_of): the page reads one scope
# at one day; the backtest precomputed at snapshot time reads every scope at the days
# before its tests. Both go through the same functions, so the numbers are the same.

KEY = ["scope_id", "as_of"]


def _per_day(name: str, days: list[dt.date], **params: object) -> pd.DataFrame:
    """A day-list query (queries/*.sql over $days) for every day in one pass: one frame with
    an as_of column of dates."""
    frame = query(name, days=tuple(sorted(set(days))), **params)
    return frame.assign(as_of=pd.to_datetime(frame["as_of"]).dt.date)


def _field_rates(counts: pd.DataFrame, fixed_share: float) -> pd.DataFrame:
    """(scope_id, as_of, indicator_id) → rate from the field counts (`_field_counts`), with the
    weights of the fixed and random parts (fixed_weight, random_weight), the fixed pairs
    observed (n_fixed) and the point types with random data (n_types) — what one fix is worth."""
    columns = [
        *KEY,
        "indicator_id",
        "rate",
        "fixed_weight",
        "random_weight",
        "n_fixed",
        "n_types",
    ]
    if counts.empty:
        return pd.DataFrame(columns=columns)
    fixed_rows = counts["is_fixed"].astype(bool).to_numpy()
    observed = counts["observed"].to_numpy(dtype=float)
    failing = counts["failing"].to_numpy(dtype=float)
    # one point drawn from a type's pool fails with the type's failing share; the random
    # part is the mean of those shares over the types with data
    parts = pd.DataFrame(
        {
            "scope_id": counts["scope_id"].to_numpy(),
            "as_of": counts["as_of"].to_numpy(),
            "indicator_id": counts["indicator_id"].to_numpy(),
            "n_fixed": np.where(fixed_rows, observed, 0.0),
            "fail_fixed": np.where(fixed_rows, failing, 0.0),
            "n_types": (~fixed_rows).astype(float),
            "fail_share": np.where(fixed_rows, 0.0, failing / observed),
        }
    )
    out = parts.groupby([*KEY, "indicator_id"], sort=False).sum().reset_index()
    out["n_fixed"] = out["n_fixed"].where(out["n_fixed"] > 0)
    out["n_types"] = out["n_types"].where(out["n_types"] > 0)
    out["mean_fail"] = out["fail_share"] / out["n_types"]
    has_f = out["n_fixed"].fillna(0).to_numpy() > 0
    has_r = out["n_types"].fillna(0).to_numpy() > 0
    f_rate = (1 - out["fail_fixed"] / out["n_fixed"]).fillna(0).to_numpy()
    r_rate = (1.0 - out["mean_fail"]).fillna(0).to_numpy()
    wf = np.where(has_f & has_r, fixed_share, np.where(has_f, 1.0, 0.0))
    out["rate"] = wf * f_rate + (1 - wf) * r_rate
    out["fixed_weight"] = wf
    out["random_weight"] = 1 - wf
    return out[columns]


def _material_rates(lines: pd.DataFrame) -> pd.DataFrame:
    """(scope_id, as_of, indicator_id) → completed ÷ required items (at most 1), from the
    lines of queries/materials_lines.sql or their sums (sim_backtest_materials.sql)."""
    if lines.empty:
        return pd.DataFrame(columns=[*KEY, "indicator_id", "rate", "required"])
    scope = lines["scope_id"].to_numpy()
    day = lines["as_of"].to_numpy(dtype=object)
    ind = lines["indicator_id"].to_numpy()
    group, first = _first_groups(scope, day, ind)
    # whole numbers of items: their sums are exact in any order
    required, completed = (
        np.bincount(group, weights=np.nan_to_num(lines[c].to_numpy(dtype=float)),
                    minlength=len(first))
        for c in ("required", "completed")
    )  # fmt: skip
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.minimum(completed / required, 1.0)
    return pd.DataFrame(
        {
            "scope_id": scope[first],
            "as_of": day[first],
            "indicator_id": ind[first],
            "required": required,
            "completed": completed,
            "rate": rate,
        }
    )


def _ordinals(values: object) -> np.ndarray:
    array = values.to_numpy() if isinstance(values, pd.Series) else np.asarray(values)
    if array.dtype.kind == "M":  # datetime64: days since 1970-01-01 (ordinal 719163)
        return array.astype("datetime64[D]").astype("int64") + dt.date(1970, 1, 1).toordinal()
    return np.array([_date(v).toordinal() for v in array], dtype="int64")


def _last_ended(
    rows: pd.DataFrame, keys: pd.DataFrame, by_indicator: bool
) -> tuple[np.ndarray, np.ndarray]:
    """For each (scope_id, as_of) of `keys` — and, by_indicator, each indicator the scope has
    rows on — the position in `rows` of the latest row whose end_date is on or before the day
    (ties on the end date: the later row). Returns (key positions, row positions)."""
    scope = rows["scope_id"].to_numpy(dtype="int64")
    group = rows["indicator_id"].to_numpy(dtype="int64") if by_indicator else np.zeros_like(scope)
    end = _ordinals(rows["end_date"])
    order = np.lexsort((np.arange(len(rows)), end, group, scope))
    s_scope, s_group, s_end = scope[order], group[order], end[order]
    starts = np.r_[True, (s_scope[1:] != s_scope[:-1]) | (s_group[1:] != s_group[:-1])]
    gid = np.cumsum(starts) - 1
    g_scope = s_scope[starts]
    key_scope = keys["scope_id"].to_numpy(dtype="int64")
    key_day = _ordinals(keys["as_of"])
    lo = np.searchsorted(g_scope, key_scope, "left")
    n = np.searchsorted(g_scope, key_scope, "right") - lo
    key_at = np.repeat(np.arange(len(keys)), n)
    offset = np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n)
    group_at = np.repeat(lo, n) + offset
    span = 10_000_000  # above any date's ordinal
    at = np.searchsorted(gid * span + s_end, group_at * span + key_day[key_at], "right") - 1
    ok = at >= 0
    ok[ok] = gid[at[ok]] == group_at[ok]
    return key_at[ok], order[at[ok]]


def _latest_before(scores: pd.DataFrame, keys: pd.DataFrame) -> pd.DataFrame:
    """For each (scope_id, as_of) of `keys` and indicator the scope has scores on, the row of
    the latest assessment ended on or before the day (ties on the end date: the later row in
    query order), with the key's as_of."""
    if scores.empty or keys.empty:
        return scores.assign(as_of=pd.Series(dtype=object))
    key_at, row_at = _last_ended(scores, keys, by_indicator=True)
    found = scores.iloc[row_at].reset_index(drop=True)
    return found.assign(as_of=keys["as_of"].to_numpy(dtype=object)[key_at])


def _unit_scores(unit_id: int) -> pd.DataFrame:
    frame = query("sim_unit_scores", unit_id=unit_id).copy()
    frame["indicator_id"] = frame["indicator_id"].astype("Int64")
    frame.insert(0, "scope_id", int(unit_id))
    return frame


def _field_counts(states: pd.DataFrame) -> pd.DataFrame:
    """Per (scope_id, as_of, indicator_id, is_fixed, point_type): the (point, indicator)
    pairs observed and failing, from queries/sim_field_states.sql (one row per pair) — what
    queries/sim_backtest_field_counts.sql returns for many scopes at once."""
    group = [*KEY, "indicator_id", "is_fixed", "point_type"]
    return (
        states.assign(observed=1, failing=states["failing"].astype(int))
        .groupby(group, sort=False)[["observed", "failing"]]
        .sum()
        .reset_index()
    )


def _group_sums(codes: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Per group code 0..n−1 (each present), the sum of `values` exactly as the groupby sum
    of `_field_rates` makes it (pandas' own summation, whose last bit depends on order)."""
    return pd.Series(values).groupby(codes, sort=True).sum().to_numpy(dtype=float)


def _first_groups(*columns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Group rows by the key columns in order of first appearance (groupby sort=False):
    (each row's group, each group's first row)."""
    combined = np.zeros(len(columns[0]), dtype="int64")
    for values in columns:
        codes, uniques = pd.factorize(values)
        combined = combined * (len(uniques) + 1) + codes
    _, first, inverse = np.unique(combined, return_index=True, return_inverse=True)
    rank = np.empty(len(first), dtype="int64")
    rank[np.argsort(first, kind="stable")] = np.arange(len(first))
    return rank[inverse.ravel()], np.sort(first)


# the dtype a frame gives a column of Python strings (the counts' point_type as built before)
_INFERRED_TEXT = pd.DataFrame({"t": np.array(["t"], dtype=object)})["t"].dtype


def _counts_and_rates(
    states: pd.DataFrame, fixed_share: float, *, one_day: bool = False
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """`_field_counts(states)` and `_field_rates` of it in one array pass over one scope's
    states (the page's measure): the same rows, the same figures. `one_day`: the states
    are of one day, so rows are grouped by their indicator and type alone (scope and day
    are the same in every row: grouping by them too gives the same groups, in the same
    order, at the cost of hashing a date per row)."""
    states = states[states["point_type"].notna().to_numpy() & states["is_fixed"].notna().to_numpy()]
    if states.empty:
        counts = _field_counts(states)
        return counts, _field_rates(counts, fixed_share)
    scope = states["scope_id"].to_numpy()
    day = states["as_of"].to_numpy(dtype=object)
    ind = states["indicator_id"].to_numpy()
    is_fixed = states["is_fixed"].to_numpy()
    # the types as their own (Arrow) array: factorized and taken without a Python object
    # per row (the same codes, in order of first appearance, and the same values)
    types = states["point_type"]
    inferred = types.dtype == _INFERRED_TEXT  # else as objects (their frame infers the dtype)
    point_type = types.array if inferred else types.to_numpy(dtype=object)
    group, first = _first_groups(*(() if one_day else (scope, day)), ind, is_fixed, point_type)
    observed = np.bincount(group, minlength=len(first)).astype("int64")
    failing = np.bincount(
        group, weights=states["failing"].astype(int).to_numpy(), minlength=len(first)
    ).astype("int64")
    counts = pd.DataFrame(
        {
            "scope_id": scope[first],
            "as_of": day[first],
            "indicator_id": ind[first],
            "is_fixed": is_fixed[first],
            "point_type": point_type[first],
            "observed": observed,
            "failing": failing,
        }
    )
    # _field_rates: per (scope, day, indicator), over the count rows in their order
    fixed_rows = is_fixed[first].astype(bool)
    obs, fail = observed.astype(float), failing.astype(float)
    key, at = _first_groups(*(() if one_day else (scope[first], day[first])), ind[first])
    n = len(at)
    # whole numbers: exact in any order
    n_fixed = np.bincount(key, weights=np.where(fixed_rows, obs, 0.0), minlength=n)
    fail_fixed = np.bincount(key, weights=np.where(fixed_rows, fail, 0.0), minlength=n)
    n_types = np.bincount(key, weights=(~fixed_rows).astype(float), minlength=n)
    fail_share = _group_sums(key, np.where(fixed_rows, 0.0, fail / obs), n)
    n_fixed = np.where(n_fixed > 0, n_fixed, np.nan)
    n_types = np.where(n_types > 0, n_types, np.nan)
    has_f = np.nan_to_num(n_fixed) > 0
    has_r = np.nan_to_num(n_types) > 0
    f_rate = np.nan_to_num(1 - fail_fixed / n_fixed, nan=0.0)
    r_rate = np.nan_to_num(1.0 - fail_share / n_types, nan=0.0)
    wf = np.where(has_f & has_r, fixed_share, np.where(has_f, 1.0, 0.0))
    rates = pd.DataFrame(
        {
            "scope_id": scope[first][at],
            "as_of": day[first][at],
            "indicator_id": ind[first][at],
            "rate": wf * f_rate + (1 - wf) * r_rate,
            "fixed_weight": wf,
            "random_weight": 1 - wf,
            "n_fixed": n_fixed,
            "n_types": n_types,
        }
    )
    return counts, rates


@dataclass(frozen=True)
class Measures:
    """What the model reads, for many (scope, day) keys at once (frames carry scope_id and,
    but for scores, as_of)."""

    counts: pd.DataFrame  # _field_counts of states (or sim_backtest_field_counts.sql)
    field_rates: pd.DataFrame  # _field_rates of counts
    lines: pd.DataFrame  # queries/materials_lines.sql (or sim_backtest_materials.sql sums)
    scores: pd.DataFrame  # queries/sim_unit_scores.sql (no as_of: every score of the unit)
    states: pd.DataFrame | None = None  # queries/sim_field_states.sql (the page's scope)
    days: tuple[dt.date, ...] | None = None  # the days the frames hold, when known


def _measures(
    scope_id: int, days: list[dt.date], settings: Settings, scores: pd.DataFrame | None = None
) -> Measures:
    """One scope's measures at `days`: at the snapshot's default date with the shipped
    settings, its rows of the stored default day (`_stored_default`); else the page's own
    queries, run together (cached per scope and day)."""
    stored = _scope_default(scope_id, days, settings)
    if stored is not None:
        states, lines = stored
    else:
        unique = tuple(sorted(set(days)))
        states, lines = (
            frame.assign(as_of=pd.to_datetime(frame["as_of"]).dt.date)
            for frame in db.query_many(
                [
                    ("sim_field_states", {"days": unique, "scope_id": scope_id,
                                          "lookback_days": settings.lookback_days}),
                    ("materials_lines", {"days": unique, "scope_id": scope_id}),
                ]
            )
        )  # fmt: skip
    states.insert(0, "scope_id", int(scope_id))
    counts, rates = _counts_and_rates(states, settings.fixed_share, one_day=len(set(days)) == 1)
    lines.insert(0, "scope_id", int(scope_id))
    return Measures(
        counts,
        rates,
        lines,
        _unit_scores(scope_id) if scores is None else scores,
        states,
        tuple(sorted(set(days))),
    )


# ── the default date, stored when the snapshot is written ──────────────────────────────
#
# The page's two scope queries (sim_field_states, materials_lines) at the snapshot's
# default date are run once for every root when the snapshot is written and stored:
# sim_field_states here (sim_default_states), materials_lines with the served rows
# (dashboard/served.py, served_materials_lines, which 本单位 reads too). A scope's rows are
# a filter of them: a point belongs to a scope when its 属地 unit or its 主管 department
# lies in the subtree, a 台账 line when its unit does — the queries' own membership rules —
# and the rows keep the queries' order. Another day or other settings run the queries.

DEFAULT_META_KEY = "sim_default"


def _default_key(settings: Settings, as_of: dt.date) -> str:
    """Names the stored default day: its date, and what its rows depend on (the two
    queries and the one setting they read)."""
    digest = hashlib.sha256(f"lookback_days={settings.lookback_days}".encode())
    for name in ("sim_field_states", "materials_lines"):
        digest.update(db.sql_text(name).encode("utf-8"))
    return f"{digest.hexdigest()[:16]}:{as_of.isoformat()}"


def default_day_frames(as_of: dt.date, settings: Settings) -> pd.DataFrame:
    """sim_field_states at `as_of` for every point: each root's rows (uncached), a point
    listed under two roots once, in the query's order. (materials_lines' rows at the default
    date are the served ones: served.compute_each.)"""
    units = metrics.units()
    roots = [int(u) for u in units.loc[units["parent_id"].isna(), "unit_id"]]
    identity = db.file_identity()
    days = [as_of]
    states = [
        db.run_query(identity, "sim_field_states",
                     {"scope_id": r, "days": days, "lookback_days": settings.lookback_days})
        for r in roots
    ]  # fmt: skip
    if len(roots) == 1:
        return states[0]
    state = pd.concat(states, ignore_index=True)
    state = state.drop_duplicates(["as_of", "indicator_id", "point_id"])
    state = state.sort_values(["as_of", "indicator_id", "point_id"], kind="stable")
    return state.reset_index(drop=True)


def precompute_default_day(path: Path, settings: Settings) -> None:
    """Store the default day's field states of a snapshot being built (table
    sim_default_states; its 台账 lines are the served materials_lines rows) and name them in
    meta. A cache, as the backtest: on an error the page runs its queries."""
    from dashboard import filters

    try:
        with db.reading_snapshot(path):
            as_of = filters.default_as_of()
            states = default_day_frames(as_of, settings)
    except Exception:  # noqa: BLE001 - a cache: the page runs its own queries without it
        logging.getLogger(__name__).exception("测算 default day not precomputed")
        return
    import duckdb

    con = duckdb.connect(str(path))
    try:
        con.execute("begin transaction")
        con.register("state_rows", states)
        con.execute("create or replace table sim_default_states as select * from state_rows")
        con.execute("drop table if exists sim_default_lines")  # an older release's copy
        con.execute(
            "insert or replace into meta (key, value) values ($k, $v)",
            {"k": DEFAULT_META_KEY, "v": _default_key(settings, as_of)},
        )
        con.execute("commit")
        con.execute("checkpoint")
    finally:
        con.close()


@dataclass(frozen=True)
class _Stored:
    """The stored default day: the rows, and the unit columns that place them in scopes."""

    as_of: dt.date
    states: pd.DataFrame
    point_unit: np.ndarray
    point_dept: np.ndarray


@db.snapshot_cache(max_entries=4)
def _stored_default(_identity: db.FileIdentity, key: str) -> _Stored | None:
    """The stored default day named `key` (read once per snapshot and process), or None
    when the snapshot holds another (older release, other settings)."""
    if db.meta().get(DEFAULT_META_KEY) != key:
        return None
    states = db.run_query(_identity, "sim_default_states", {})
    states = states.assign(as_of=pd.to_datetime(states["as_of"]).dt.date)
    return _Stored(
        dt.date.fromisoformat(key.rsplit(":", 1)[1]),
        states,
        states["unit_id"].to_numpy(dtype="int64"),
        states["dept_id"].to_numpy(dtype="float64", na_value=np.nan),
    )


def _scope_default(
    scope_id: int, days: list[dt.date], settings: Settings
) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """The scope's rows of the stored default day when `days` is that day alone and the
    settings are the ones it was stored with; None otherwise."""
    if len(set(days)) != 1:
        return None
    as_of = days[0]
    stored = _stored_default(db.file_identity(), _default_key(settings, as_of))
    if stored is None or stored.as_of != as_of:
        return None
    identity = db.file_identity()
    if db.root_id(identity) == scope_id:
        # the only root: every stored row is in its scope (the rows are its queries')
        states = stored.states.copy(deep=False)
    else:
        members = db.served_store(identity).subtree(int(scope_id))
        in_scope = np.isin(stored.point_unit, members) | np.isin(stored.point_dept, members)
        states = stored.states.take(np.flatnonzero(in_scope)).reset_index(drop=True)
    # the 台账 lines: the served rows of the day (served.py), or the query when not served
    lines = db.query("materials_lines", scope_id=int(scope_id), days=(as_of,))
    return states, lines.assign(as_of=pd.to_datetime(lines["as_of"]).dt.date)


def _keys(scope_id: int, days: list[dt.date]) -> pd.DataFrame:
    days = sorted(set(days))
    return pd.DataFrame({"scope_id": int(scope_id), "as_of": np.array(days, dtype=object)})


def item_rates(
    scope_id: int, days: list[dt.date], settings: Settings, measures: Measures | None = None
) -> pd.DataFrame:
    """One row per (day, scored item) of one scope: see `_item_rates`."""
    measures = measures or _measures(scope_id, days, settings)
    return _item_rates(_keys(scope_id, days), measures)


def _item_rates(keys: pd.DataFrame, measures: Measures) -> pd.DataFrame:
    """One row per (scope_id, as_of) of `keys` and scored item, key by key in the order of
    `keys` and the items in structure() order: weight, rate, source, points = weight × rate.

    Source: points / materials / survey (measured), last_test (fallback: the scope's last
    overall test ended by the day — the item's rate there, else the overall rate), or
    None with rate NaN when there is nothing to go on."""
    items = structure()
    n_items = len(items)
    key_scopes = keys["scope_id"].to_numpy(dtype="int64")
    key_days = keys["as_of"].to_numpy(dtype=object)
    key_pos = {(int(k), d): i for i, (k, d) in enumerate(zip(key_scopes, key_days, strict=True))}
    item_pos = {int(i): j for j, i in enumerate(items["indicator_id"])}
    category = np.tile(items["category"].to_numpy(dtype=object), len(keys))
    rate = np.full(len(keys) * n_items, np.nan)
    source = np.full(len(keys) * n_items, None, dtype=object)

    def positions(frame: pd.DataFrame) -> np.ndarray:
        """Row of each (scope_id, as_of, indicator_id) of `frame` in the grid; −1 if none."""
        pairs = zip(frame["scope_id"], frame["as_of"], strict=True)
        k = np.array([key_pos.get((int(s), d), -1) for s, d in pairs], dtype="int64")
        j = np.array([item_pos.get(int(i), -1) for i in frame["indicator_id"]], dtype="int64")
        return np.where((k >= 0) & (j >= 0), k * n_items + j, -1)

    def fill(measure: pd.DataFrame, cat: str, label: str) -> None:
        if measure.empty:
            return
        at = positions(measure)
        value = measure["rate"].to_numpy(dtype=float)
        ok = at >= 0
        ok[ok] = (category[at[ok]] == cat) & ~np.isnan(value[ok])
        rate[at[ok]] = value[ok]
        source[at[ok]] = label

    fill(measures.field_rates, "field", "points")
    fill(_material_rates(measures.lines), "materials", "materials")

    scores = measures.scores
    item_scores = scores[scores["indicator_id"].notna()]
    surveys = _latest_before(item_scores, keys)
    if len(surveys):
        fill(surveys.assign(rate=surveys["value"] / surveys["max_value"]), "questionnaire",
             "survey")  # fmt: skip

    missing = np.isnan(rate)
    if missing.any():
        rows = np.unique(np.nonzero(missing)[0] // n_items)
        fallback = _fallback_rates(scores, keys.iloc[rows])
        if len(fallback):
            at = positions(fallback)
            value = fallback["fallback"].to_numpy(dtype=float)
            ok = at >= 0
            ok[ok] = missing[at[ok]] & ~np.isnan(value[ok])
            rate[at[ok]] = value[ok]
            source[at[ok]] = "last_test"
    weight = np.tile(items["weight"].to_numpy(dtype=float), len(keys))
    return pd.DataFrame(
        {
            "scope_id": np.repeat(key_scopes, n_items),
            "as_of": np.repeat(key_days, n_items),
            "indicator_id": np.tile(items["indicator_id"].to_numpy(dtype="int64"), len(keys)),
            "category": category,
            "code": np.tile(items["code"].to_numpy(dtype=object), len(keys)),
            "name": np.tile(items["name"].to_numpy(dtype=object), len(keys)),
            "weight": weight,
            "target": np.tile(items["target"].to_numpy(dtype=float), len(keys)),
            "rate": rate,
            "source": source,
            "points": weight * rate,
        }
    )


def _fallback_rates(scores: pd.DataFrame, keys: pd.DataFrame) -> pd.DataFrame:
    """(scope_id, as_of, indicator_id) → the scope's rate at its last overall test ended by
    as_of: the item's own score there, else the overall score rate."""
    columns = [*KEY, "indicator_id", "fallback"]
    overall = scores[(scores["kind"] == "overall") & scores["indicator_id"].isna()]
    if overall.empty or keys.empty:
        return pd.DataFrame(columns=columns)
    key_at, row_at = _last_ended(overall, keys, by_indicator=False)
    picked = overall.iloc[row_at]
    last = pd.DataFrame(
        {
            "scope_id": keys["scope_id"].to_numpy(dtype="int64")[key_at],
            "as_of": keys["as_of"].to_numpy(dtype=object)[key_at],
            "assessment_id": picked["assessment_id"].to_numpy(),
            "base": (picked["value"] / picked["max_value"]).to_numpy(dtype=float),
        }
    )
    items = structure()[["indicator_id"]].astype({"indicator_id": "int64"})
    grid = last.merge(items, how="cross")
    own = scores[scores["indicator_id"].notna()]
    own = pd.DataFrame(
        {
            "scope_id": own["scope_id"].astype("int64").to_numpy(),
            "assessment_id": own["assessment_id"].to_numpy(),
            "indicator_id": own["indicator_id"].astype("int64").to_numpy(),
            "item": (own["value"] / own["max_value"]).to_numpy(dtype=float),
        }
    ).drop_duplicates(["scope_id", "assessment_id", "indicator_id"], keep="last")
    grid = grid.merge(own, on=["scope_id", "assessment_id", "indicator_id"], how="left")
    grid["fallback"] = grid["item"].fillna(grid["base"])
    return grid[columns]


# ── the estimate ───────────────────────────────────────────────────────────────────────

MEASURED_SOURCES = ("points", "materials", "survey")


@dataclass(frozen=True)
class Estimate:
    as_of: dt.date
    total: float | None  # None when an item has nothing to go on
    max_total: float
    measured: int  # items measured from data as of the day (not carried from the last test)
    items: pd.DataFrame = field(repr=False)

    def by_category(self) -> pd.DataFrame:
        """Per category: full marks, expected points, points lost."""
        category = self.items["category"].to_numpy(dtype=object)
        present = [c for c in SCORED_CATEGORIES if (category == c).any()]
        codes = pd.Series(category).map({c: k for k, c in enumerate(present)}).to_numpy()
        n = len(present)
        # pandas' own group sums (their last bit depends on the summation)
        max_points = _group_sums(codes, self.items["weight"].to_numpy(dtype=float), n)
        points = _group_sums(codes, self.items["points"].to_numpy(dtype=float), n)
        return pd.DataFrame(
            {
                "category": np.array(present, dtype=object),
                "max_points": max_points,
                "points": points,
                "lost": max_points - points,
            }
        )


def _totals(rates: pd.DataFrame) -> pd.DataFrame:
    """Per (scope_id, as_of) of `_item_rates` (its keys' order): the expected total (NaN
    unless every item has a rate), full marks (max_total) and the items measured from data."""
    n_items = len(structure())
    n_keys = len(rates) // n_items if n_items else 0
    shape = (n_keys, n_items)
    points = rates["points"].to_numpy(dtype=float).reshape(shape)
    complete = ~np.isnan(points).any(axis=1)
    measured = rates["source"].isin(MEASURED_SOURCES).to_numpy().reshape(shape).sum(axis=1)
    first = np.arange(n_keys) * n_items
    return pd.DataFrame(
        {
            "scope_id": rates["scope_id"].to_numpy()[first],
            "as_of": rates["as_of"].to_numpy()[first],
            "total": np.where(complete, points.sum(axis=1), np.nan),
            "max_total": rates["weight"].to_numpy(dtype=float).reshape(shape).sum(axis=1),
            "measured": measured,
        }
    )


def _estimates(
    scope_id: int, days: list[dt.date], settings: Settings, measures: Measures | None = None
) -> dict[dt.date, Estimate]:
    rates = item_rates(scope_id, days, settings, measures)
    totals = _totals(rates)
    n_items = len(structure())
    items = rates.drop(columns="scope_id")
    out = {}
    for k, row in enumerate(totals.itertuples(index=False)):
        out[row.as_of] = Estimate(
            row.as_of,
            None if np.isnan(row.total) else float(row.total),
            float(row.max_total),
            int(row.measured),
            items.iloc[k * n_items : (k + 1) * n_items].reset_index(drop=True),
        )
    return out


def estimate(scope_id: int, as_of: dt.date, settings: Settings | None = None) -> Estimate:
    """The expected score of the next test for `scope_id` from the data as of `as_of`."""
    return _estimates(scope_id, [as_of], settings or Settings())[as_of]


# ── what each fix is worth ─────────────────────────────────────────────────────────────

FIX_COLUMNS = [
    "fix_id", "kind", "kind_label", "category", "indicator_code", "indicator_name", "subject",
    "detail", "unit_id", "owner_id", "owner_name", "due", "deadline", "worth",
]  # fmt: skip


def fix_deadline(as_of: dt.date, settings: Settings) -> dt.date | None:
    """督办 deadline: lead_days before the next test starts, never before as_of."""
    test = metrics.next_test(as_of)
    if test is None:
        return None
    return max(as_of, test.start_date - dt.timedelta(days=settings.lead_days))


@per_snapshot
def _names() -> dict[int, str]:
    units = metrics.units()
    return dict(zip(units["unit_id"].astype(int), units["name"], strict=True))


def _short(day: object) -> str:
    return "—" if day is None or pd.isna(day) else f"{_date(day):%m-%d}"


def _shorts(days: pd.Series) -> np.ndarray:
    """_short of each day of a date column, at once."""
    stamps = pd.to_datetime(days)
    return stamps.dt.strftime("%m-%d").where(stamps.notna(), "—").to_numpy(dtype=object)


def _as_dates(days: pd.Series) -> np.ndarray:
    """A date column's days as dates (NaT where missing), at once."""
    return pd.to_datetime(days).dt.date.to_numpy(dtype=object)


def _dates(values: np.ndarray) -> np.ndarray:
    """The values (dates, None or NaT) with None for each missing one."""
    out = np.array(values, dtype=object)
    out[pd.isna(out)] = None
    return out


_PART_COLUMNS = [c for c in FIX_COLUMNS if c not in ("kind_label", "owner_name", "deadline")]


def _item_info(items: pd.DataFrame, ind: np.ndarray) -> tuple[list, list, np.ndarray]:
    """code, name and weight of the scored items `ind` (indicator ids), in that order."""
    at = {int(i): j for j, i in enumerate(items["indicator_id"])}
    rows = np.array([at[int(i)] for i in ind], dtype="int64")
    return (
        list(items["code"].to_numpy(dtype=object)[rows]),
        list(items["name"].to_numpy(dtype=object)[rows]),
        items["weight"].to_numpy(dtype=float)[rows],
    )


def _field_fixes(
    failing: pd.DataFrame, counts: pd.DataFrame, rates: pd.DataFrame, items: pd.DataFrame
) -> dict[str, object] | None:
    """One fix per failing (point, indicator): worth = weight × the rate one more passing
    observation adds (fixed: share ÷ fixed observed; random: share ÷ (type observed × types)).
    The fix-list columns (_PART_COLUMNS) as arrays, None when there is none."""
    rate_ids = rates["indicator_id"].to_numpy(dtype="int64")
    ind_all = failing["indicator_id"].to_numpy(dtype="int64")
    keep = np.isin(ind_all, rate_ids)
    if not keep.any():
        return None
    f = failing[keep] if not keep.all() else failing
    ind = ind_all[keep]
    rate_at = {int(i): j for j, i in enumerate(rate_ids)}
    r = np.array([rate_at[int(i)] for i in ind], dtype="int64")
    random_rows = ~counts["is_fixed"].astype(bool).to_numpy()
    n_type = dict(
        zip(
            zip(
                counts["indicator_id"].to_numpy()[random_rows],
                counts["point_type"].to_numpy(dtype=object)[random_rows],
                strict=True,
            ),
            counts["observed"].to_numpy()[random_rows],
            strict=True,
        )
    )
    point_type = f["point_type"].to_numpy(dtype=object)
    fixed = f["is_fixed"].astype(bool).to_numpy()
    fixed_step = (
        rates["fixed_weight"].to_numpy(dtype=float) / rates["n_fixed"].to_numpy(dtype=float)
    )[r]
    per_type = np.array(
        [n_type.get((i, t), np.nan) for i, t in zip(ind, point_type, strict=True)],
        dtype=float,
    )
    random_step = rates["random_weight"].to_numpy(dtype=float)[r] / (
        per_type * rates["n_types"].to_numpy(dtype=float)[r]
    )
    step = np.where(fixed, fixed_step, random_step)
    n_open = f["open_problems"].to_numpy()
    open_ = n_open > 0
    overdue = f["overdue_problems"].to_numpy() > 0
    kind = np.select(
        [overdue, open_, fixed], ["overdue_problem", "open_problem", "fixed_point"], "random_point"
    )
    earliest_deadline = _as_dates(f["earliest_deadline"])
    detail = [
        f"逾期问题 {ids}（时限 {due}）"
        if od
        else (f"未整改问题 {int(n)} 个（时限 {due}）" if op else f"最近检查 {on} 不达标")
        for od, op, ids, n, due, on in zip(
            overdue, open_, f["overdue_ids"].to_numpy(dtype=object), n_open,
            _shorts(f["earliest_deadline"]), _shorts(f["checked_on"]), strict=True,
        )
    ]  # fmt: skip
    dept = f["dept_id"].to_numpy(dtype=float, na_value=np.nan)
    earliest = f["earliest_dept_id"].to_numpy(dtype=float, na_value=np.nan)
    owner = np.where(open_ & ~np.isnan(earliest), earliest, dept)
    owner = np.where(np.isnan(owner), f["unit_id"].to_numpy(dtype=float), owner)
    subjects = [
        f"{name}（{'固定' if fx else '随机'}·{kind_}）"
        for name, fx, kind_ in zip(f["point_name"].to_numpy(dtype=object), fixed, point_type,
                                   strict=True)
    ]  # fmt: skip
    codes, names, weights = _item_info(items, ind)
    return {
        "fix_id": [
            f"point:{p}:{i}"
            for p, i in zip(f["point_id"].to_numpy().tolist(), ind.tolist(), strict=True)
        ],
        "kind": list(kind),
        "category": ["field"] * len(ind),
        "indicator_code": codes,
        "indicator_name": names,
        "subject": subjects,
        "detail": detail,
        "unit_id": list(f["unit_id"].to_numpy(dtype="int64")),
        "owner_id": list(owner.astype("int64")),
        "due": list(np.where(open_, earliest_deadline, None)),
        "worth": weights * step,
    }


def _material_fixes(lines: pd.DataFrame, items: pd.DataFrame) -> dict[str, object] | None:
    """One fix per 台账 line short of its required items: worth = weight × missing ÷ the
    indicator's required items in scope. The fix-list columns as arrays, None if none."""
    if lines.empty:
        return None
    ind_all = lines["indicator_id"].to_numpy(dtype="int64")
    req_all = lines["required"].to_numpy()
    # the indicator's required items in scope, per line
    uniq, inverse = np.unique(ind_all, return_inverse=True)
    required = np.bincount(inverse, weights=req_all, minlength=len(uniq))[inverse]
    required = required.astype(req_all.dtype) if req_all.dtype.kind in "iu" else required
    missing = req_all - lines["completed"].to_numpy()
    keep = (missing > 0) & np.isin(ind_all, items["indicator_id"].to_numpy(dtype="int64"))
    if not keep.any():
        return None
    ind = ind_all[keep]
    missing, required = missing[keep], required[keep]
    units = lines["unit_id"].to_numpy()[keep]
    codes, names, weights = _item_info(items, ind)
    return {
        "fix_id": [f"materials:{u}:{i}" for u, i in zip(units.tolist(), ind.tolist(), strict=True)],
        "kind": ["materials"] * len(ind),
        "category": ["materials"] * len(ind),
        "indicator_code": codes,
        "indicator_name": names,
        "subject": [
            f"{u} · {n}"
            for u, n in zip(lines["unit_name"].to_numpy(dtype=object)[keep], names, strict=True)
        ],
        "detail": [
            f"已完成 {int(c)} / 应报 {int(r)}，尚缺 {int(m)} 项"
            for c, r, m in zip(
                lines["completed"].to_numpy()[keep].tolist(),
                req_all[keep].tolist(),
                missing.tolist(),
                strict=True,
            )  # fmt: skip
        ],
        "unit_id": list(units.astype("int64")),
        "owner_id": list(units.astype("int64")),
        "due": list(_as_dates(lines["deadline"])[keep]),
        "worth": weights * missing / required,
    }


def coverage_shortfall(scope_id: int, scope_kind: str, as_of: dt.date) -> pd.DataFrame:
    """Units short of the next visit milestone: subjects still needed to reach it (whole
    subjects, rounded up). Streets under a city or district; the unit itself otherwise."""
    campaign = metrics.campaign_at(as_of)
    milestone = campaign.next_milestone(as_of) if campaign else None
    columns = ["unit_id", "name", "covered", "target", "needed", "due_date", "share"]
    if milestone is None:
        return pd.DataFrame(columns=columns)
    level = "street" if scope_kind in ("province", "city", "district") else "self"
    counts = query(
        "coverage_counts",
        scope_id=scope_id,
        level=level,
        as_of=as_of,
        campaign_id=campaign.campaign_id,
    )
    # the subject kinds' counts summed per unit, units in their official order (as
    # metrics.coverage gives them), straight from the served counts
    names, ids = metrics._name_table()
    at = ids.get_indexer(counts["unit_id"].to_numpy())  # -1: not a unit
    kept = at >= 0
    pos, inverse = np.unique(at[kept], return_inverse=True)
    inverse = inverse.ravel()
    covered = np.bincount(inverse, counts["covered"].to_numpy()[kept], len(pos))
    target = np.bincount(inverse, counts["target"].to_numpy()[kept], len(pos))
    # needed = ⌈share × target − 1e-9⌉ − covered for the units with a target, at once
    # (the same float operations, element by element); the short ones' names taken alone
    with np.errstate(invalid="ignore"):
        needed = np.ceil(milestone.target_share * target - 1e-9) - covered
    short = np.flatnonzero((target != 0) & (needed > 0))
    picked = pos[short]
    rows = list(
        zip(
            ids[picked].astype("int64").tolist(),
            names["name"].array.take(picked).tolist(),
            covered[short].astype("int64").tolist(),
            target[short].astype("int64").tolist(),
            needed[short].astype("int64").tolist(),
            [milestone.due_date] * len(short),
            [milestone.target_share] * len(short),
            strict=True,
        )
    )
    return pd.DataFrame(rows, columns=columns)


@per_snapshot
def _leads() -> dict[int, int | None]:
    """indicator id → its lead unit (None when it has none), of the scored items."""
    items = structure()
    return {
        int(i): None if pd.isna(u) else int(u)
        for i, u in zip(items["indicator_id"].tolist(), items["lead_unit_id"].tolist(), strict=True)
    }


def _survey_fixes(current: pd.DataFrame, shortfall: pd.DataFrame, settings: Settings) -> list[dict]:
    """Survey items below target (latest survey): worth = weight × (target − rate). For the
    items visits drive, gap_share of that goes to the units short of the next milestone, in
    proportion to the subjects they still need; the rest stays with the item's owner."""
    survey = current[(current["category"] == "questionnaire") & (current["source"] == "survey")]
    lead = _leads()
    total_needed = int(shortfall["needed"].sum()) if len(shortfall) else 0
    out, driven_gap = [], 0.0
    for r in survey.itertuples(index=False):
        if pd.isna(r.target):
            continue
        gap = r.weight * max(0.0, r.target / 100 - r.rate)
        if gap <= 0:
            continue
        driven = any(word in r.name for word in settings.driven_items)
        own = gap * (1 - settings.gap_share) if driven and total_needed else gap
        driven_gap += gap - own
        owner = lead.get(int(r.indicator_id))
        out.append(
            {
                "fix_id": f"survey:{int(r.indicator_id)}",
                "kind": "survey",
                "category": "questionnaire",
                "indicator_code": r.code,
                "indicator_name": r.name,
                "subject": r.name,
                "detail": f"最近调查 {r.rate * 100:.1f}%，目标 {r.target:.1f}%",
                "unit_id": None,
                "owner_id": owner,
                "due": None,
                "worth": float(own),
            }
        )
    for r in shortfall.itertuples(index=False) if driven_gap > 0 else ():
        out.append(
            {
                "fix_id": f"coverage:{int(r.unit_id)}",
                "kind": "coverage",
                "category": "questionnaire",
                "indicator_code": "",
                "indicator_name": "、".join(settings.driven_items),
                "subject": f"{r.name} 入户走访",
                "detail": (
                    f"已走访 {r.covered} / 应走访 {r.target}，距 {_short(r.due_date)} 节点"
                    f"（{r.share * 100:.0f}%）尚缺 {r.needed} 个对象"
                ),
                "unit_id": int(r.unit_id),
                "owner_id": int(r.unit_id),
                "due": r.due_date,
                "worth": float(driven_gap * r.needed / total_needed),
            }
        )
    return out


def _on_day(frame: pd.DataFrame, as_of: dt.date, days: tuple | None) -> pd.DataFrame:
    """The rows of `frame` at as_of (all of them when the measures hold that day only)."""
    if days == (as_of,):
        return frame
    return frame[frame["as_of"] == as_of]


def fixes(
    scope_id: int,
    scope_kind: str,
    as_of: dt.date,
    current: Estimate,
    settings: Settings,
    measures: Measures | None = None,
) -> pd.DataFrame:
    """Every open item that loses points, with the expected points regained if fixed before
    the test (`worth`), most valuable first, and the running total (`cumulative`)."""
    items = structure()
    measures = measures or _measures(scope_id, [as_of], settings)
    counts = _on_day(measures.counts, as_of, measures.days)
    lines = _on_day(measures.lines, as_of, measures.days)
    rates = _on_day(measures.field_rates, as_of, measures.days)
    states = measures.states
    if states is None:
        measures = _measures(scope_id, [as_of], settings, measures.scores)
        states = measures.states
    states = _on_day(states, as_of, measures.days)
    failing = states[states["failing"].astype(bool).to_numpy()]
    shortfall = coverage_shortfall(scope_id, scope_kind, as_of)
    survey = _survey_fixes(current.items, shortfall, settings)
    parts = [
        _field_fixes(failing, counts, rates, items),
        _material_fixes(lines, items),
        {c: [row[c] for row in survey] for c in _PART_COLUMNS} if survey else None,
    ]
    parts = [p for p in parts if p is not None]
    worth = np.concatenate([np.asarray(p["worth"], dtype=float) for p in parts] or [[]])
    keep = np.nonzero(worth > 1e-9)[0]
    col = {
        c: np.array([v for p in parts for v in p[c]], dtype=object)[keep]
        for c in _PART_COLUMNS
        if c != "worth"
    }
    worth = worth[keep]
    owner_ids = np.array(col["owner_id"], dtype=float)  # None → NaN
    owner_name = _owner_names(owner_ids)
    kind_rank = np.array([KIND_ORDER[k] for k in col["kind"]], dtype="int64")
    # most valuable first; ties by kind, owner, fix id (text in code point order, as str <)
    order = np.lexsort(
        (_text_ranks(col["fix_id"]), _text_ranks(owner_name), kind_rank, -worth)
    ).astype("int64")
    deadline = fix_deadline(as_of, settings)

    def text(values: np.ndarray) -> object:
        return values[order] if len(order) else np.array([], dtype=object)

    def ids(values: np.ndarray) -> pd.arrays.IntegerArray:
        numbers = np.array(values, dtype=float)[order]  # None → NaN
        missing = np.isnan(numbers)
        return pd.arrays.IntegerArray(np.where(missing, 0, numbers).astype("int64"), missing)

    worth = worth[order]
    frame = pd.DataFrame(
        {
            "fix_id": text(col["fix_id"]),
            "kind": text(col["kind"]),
            "kind_label": text(np.array([KIND_LABEL[k] for k in col["kind"]], dtype=object)),
            "category": text(col["category"]),
            "indicator_code": text(col["indicator_code"]),
            "indicator_name": text(col["indicator_name"]),
            "subject": text(col["subject"]),
            "detail": text(col["detail"]),
            "unit_id": ids(col["unit_id"]),
            "owner_id": ids(col["owner_id"]),
            "owner_name": text(owner_name),
            "due": pd.Series(_dates(col["due"][order]), dtype=object),
            "deadline": pd.Series([deadline] * len(order), dtype=object),
            "worth": worth,
            "cumulative": np.cumsum(worth),
        }
    )
    return frame


def _owner_names(owner_ids: np.ndarray) -> np.ndarray:
    """Each owner's name (未指定 for none or an unknown id), looked up once per owner."""
    codes, uniques = pd.factorize(owner_ids, use_na_sentinel=False)
    names = _names()
    found = np.array(
        [names.get(int(o), "未指定") if not np.isnan(o) else "未指定" for o in uniques],
        dtype=object,
    )
    return found[codes] if len(codes) else np.array([], dtype=object)


def _text_ranks(values: np.ndarray) -> np.ndarray:
    """Each text's rank in code point order (Python's str <), equal texts equal ranks."""
    if not len(values):
        return np.zeros(0, dtype="int64")
    return np.unique(np.asarray(values, dtype=str), return_inverse=True)[1].ravel()


def owner_summary(fix_frame: pd.DataFrame) -> pd.DataFrame:
    """Per owner: items, points regained, points per item — most per item first."""
    if fix_frame.empty:
        return pd.DataFrame(columns=["owner_name", "items", "worth", "per_item"])
    codes, owners = pd.factorize(fix_frame["owner_name"].to_numpy(dtype=object))
    items = np.bincount(codes, minlength=len(owners)).astype("int64")
    worth = _group_sums(codes, fix_frame["worth"].to_numpy(dtype=float), len(owners))
    per_item = worth / items
    owners = np.asarray(owners, dtype=object)
    order = sorted(range(len(owners)), key=lambda k: (-per_item[k], owners[k]))
    return pd.DataFrame(
        {
            "owner_name": owners[order],
            "items": items[order],
            "worth": worth[order],
            "per_item": per_item[order],
        }
    )


@dataclass(frozen=True)
class Selection:
    """What a set of fixes adds up to: '这 23 项，涉及 6 个单位，可挽回 +1.9 分 → 89.6'."""

    items: int
    owners: int
    worth: float
    projected: float | None


def selection(fix_frame: pd.DataFrame, expected: float | None, max_total: float) -> Selection:
    worth = float(fix_frame["worth"].sum()) if len(fix_frame) else 0.0
    projected = None if expected is None else min(max_total, expected + worth)
    return Selection(len(fix_frame), int(fix_frame["owner_name"].nunique()), worth, projected)


# ── gap to target ──────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class GapPlan:
    gap: float  # target − expected (≤ 0: already reached)
    supply: float  # what every open item together regains
    items_needed: (
        int | None
    )  # fewest items (most valuable first) that close it; None if they cannot
    shortfall: float  # what would still be missing after every open item (0 when they suffice)
    categories: pd.DataFrame  # category, max_points, points, lost, supply, plan


def gap_plan(target: float, current: Estimate, fix_frame: pd.DataFrame) -> GapPlan:
    """How the gap to `target` decomposes by category: taking the open items most valuable
    first until the gap is closed, what each category contributes (`plan`), what its open
    items could give at most (`supply`) and what it loses now (`lost`)."""
    expected = current.total or 0.0
    gap = target - expected
    ordered = fix_frame
    cumulative = fix_frame["cumulative"].to_numpy(dtype=float) if len(fix_frame) else None
    if cumulative is not None and not (np.diff(cumulative) > 0).all():
        ordered = fix_frame.sort_values("cumulative")
        cumulative = ordered["cumulative"].to_numpy(dtype=float)
    worth = ordered["worth"].to_numpy(dtype=float) if len(ordered) else np.zeros(0)
    category = ordered["category"].to_numpy(dtype=object) if len(ordered) else np.zeros(0, object)
    supply = float(np.sum(worth))
    if gap <= 0:
        n = 0
    else:
        reach = cumulative >= gap - 1e-9 if cumulative is not None else np.zeros(0, dtype=bool)
        n = int(np.argmax(reach)) + 1 if reach.any() else len(ordered)
    cats = current.by_category()
    cats["supply"] = [float(np.sum(worth[category == c])) for c in cats["category"]]
    cats["plan"] = [float(np.sum(worth[:n][category[:n] == c])) for c in cats["category"]]
    taken = range(n)
    enough = supply >= gap - 1e-9
    return GapPlan(
        gap,
        supply,
        (0 if gap <= 0 else len(taken)) if enough else None,
        0.0 if enough else gap - supply,
        cats,
    )


# ── rank among the last test's peers ───────────────────────────────────────────────────


def rank_among(score: float | None, peers: list[float]) -> int | None:
    """The place `score` would take among the peers' scores as every page writes places
    (competition ranking on the shown 0.01 分: 1, 1, 3 — one more than the peers strictly
    above); None without a score or without peers to compare with."""
    if score is None or not peers:
        return None
    shown = round(score, 2)
    return 1 + sum(1 for v in peers if round(v, 2) > shown)


def score_for_rank(rank: int, peers: list[float]) -> float | None:
    """The lowest score that takes place `rank` among the peers (competition ranking): the
    rank-th highest peer score, which it may tie; None when any score does (fewer peers)."""
    ordered = sorted((round(v, 2) for v in peers), reverse=True)
    return ordered[rank - 1] if rank >= 1 and len(ordered) >= rank else None


@dataclass(frozen=True)
class RankContext:
    assessment_id: int | None  # the last provincial/national test scored by as_of
    assessment_name: str | None
    peer_label: str  # 城市 / 区县 / 街道 …
    peers: tuple[float, ...]  # the peers' scores in that test (the unit itself left out)
    actual_rank: int | None  # the unit's rank there (computed, or as published for a city)
    published_rank: int | None
    published_of: int | None
    note: str | None  # why no rank can be implied
    target_rank: int | None  # the next test's target rank (cities)

    def implied(self, score: float | None) -> int | None:
        return rank_among(score, list(self.peers))

    def published_text(self) -> str:
        """What the last test published about a city's place, said so that a lone or
        incomplete rank is not read as a standing among cities ('' for other units)."""
        if self.assessment_id is None or self.peer_label != "城市":
            return ""
        rank, of = self.published_rank, self.published_of
        if rank is None:
            return f"「{self.assessment_name}」未公布名次。"
        if of is None:
            return f"上次公布名次：第 {rank} 名（未公布参评城市数）。"
        if of <= 1:
            return f"「{self.assessment_name}」只排了 {of} 个城市，公布的第 {rank} 名没有比较意义。"
        return f"上次公布名次：第 {rank} 名 / {of} 个城市。"


NO_RANK = "无排名依据"
PEER_LABEL = {"city": "城市", "district": "区县", "street": "街道", "community": "社区",
              "department": "部门", "group": "工作组"}  # fmt: skip


@per_snapshot
def _rank_tests(
    as_of: dt.date,
) -> tuple[tuple[int, str, int | None, int | None] | None, int | None]:
    """The last provincial or national test scored by as_of (id, name, published city rank
    and cities ranked) or None, and the target rank of the next test — read once a day."""
    tests = metrics.scored_assessments(as_of)
    tests = tests[tests["level"].isin(metrics.TEST_LEVELS)]
    test = metrics.next_test(as_of)
    all_tests = metrics.assessments().set_index("assessment_id")
    target_rank = None
    if test is not None and test.assessment_id in all_tests.index:
        value = all_tests.loc[test.assessment_id, "target_rank"]
        target_rank = None if pd.isna(value) else int(value)
    if tests.empty:
        return None, target_rank
    last = tests.iloc[0]
    published = None if pd.isna(last["city_rank"]) else int(last["city_rank"])
    published_of = None if pd.isna(last["cities_ranked"]) else int(last["cities_ranked"])
    return (int(last["assessment_id"]), str(last["name"]), published, published_of), target_rank


def rank_context(unit_id: int, as_of: dt.date) -> RankContext:
    """The unit's peers (same kind, same parent) in the last provincial or national test
    scored by as_of. A unit head who may not see the parent's other units gets no ranking."""
    units = metrics.units().set_index("unit_id")
    row = units.loc[unit_id]
    kind = str(row["kind"])
    label = PEER_LABEL.get(kind, "单位")
    last, target_rank = _rank_tests(as_of)
    if last is None:
        return RankContext(
            None,
            None,
            label,
            (),
            None,
            None,
            None,
            f"{NO_RANK}：截至当日没有已出分的省级或全国测评",
            target_rank,
        )
    aid, last_name, published, published_of = last
    if kind != "city":
        published = published_of = None
    parent = row["parent_id"]
    note = None
    peers: list[float] = []
    own: float | None = None
    try:
        # the values metrics.unit_scores lists, in its order (the units' official order)
        if pd.isna(parent):
            values = metrics.score_values(unit_id, aid, "self")
        else:
            values = metrics.score_values(int(parent), aid, kind)
        ids = values.index.to_numpy()
        at = pd.Index(units.index.to_numpy()).get_indexer(ids)  # −1: not a unit (dropped)
        kept = np.flatnonzero(at >= 0)
        rows = kept[np.argsort(at[kept], kind="stable")]
        value = values.to_numpy(dtype=float, na_value=np.nan)[rows]
        ids = ids[rows]
        scored = ~np.isnan(value)
        own_values = value[scored & (ids == unit_id)]
        own = float(own_values[0]) if len(own_values) else None
        peers = [float(v) for v in value[scored & (ids != unit_id)]]
    except db.AccessDenied:
        note = f"{NO_RANK}：名次涉及授权范围以外的{label}，未推算"
    if note is None and not peers:
        note = (
            f"{NO_RANK}：数据中没有「{last_name}」其他{label}的得分，无法推算名次"
            "（推算名次要与同一次测评其他参评单位的得分比较）"
        )
    actual = published if published is not None else rank_among(own, peers)
    return RankContext(aid, last_name, label, tuple(peers), actual, published,
                       published_of, note, target_rank if kind == "city" else None)  # fmt: skip


# ── backtest ───────────────────────────────────────────────────────────────────────────
#
# The estimate for a past test reads the data as of the day before it, which an import of
# later data does not change: it is computed once, when the snapshot is written, for every
# unit a view can be scoped to (derived table sim_backtest, `precompute_backtests`), and a
# page only picks the rows of the tests ended by its day. With other settings than the
# snapshot's (or a snapshot from an older release) a page computes its scope's rows itself,
# once per process and snapshot.

BACKTEST_COLUMNS = [
    "assessment_id", "assessment_name", "level", "start_date", "estimate_as_of", "estimate",
    "actual", "error", "naive", "naive_error", "measured", "end_date",
]  # fmt: skip
BACKTEST_DATES = ("start_date", "estimate_as_of", "end_date")
BACKTEST_META_KEY = "sim_backtest"
MODEL_FILES = (
    Path(__file__),
    *(ROOT / "queries" / f"{name}.sql" for name in (
        "sim_indicators", "sim_field_states", "materials_lines", "sim_unit_scores",
        "sim_backtest_field_counts", "sim_backtest_materials", "sim_backtest_scores",
    )),
)  # fmt: skip


def past_tests(unit_id: int, as_of: dt.date, scores: pd.DataFrame | None = None) -> pd.DataFrame:
    """The unit's overall scores in overall assessments ended by as_of, oldest first."""
    tests = _overall_tests(_unit_scores(unit_id) if scores is None else scores)
    ended = np.array([e <= as_of for e in tests["end"]], dtype=bool)
    return tests[ended].reset_index(drop=True)


def _overall_tests(scores: pd.DataFrame) -> pd.DataFrame:
    """Every overall score (overall assessments, indicator NULL), in query order, with the
    test's start and end as dates and the day before it (`day`: its estimate's data)."""
    overall = scores[(scores["kind"] == "overall") & scores["indicator_id"].isna()].copy()
    overall["end"] = pd.Series(
        [_date(v) for v in overall["end_date"]], index=overall.index, dtype=object
    )
    overall["start"] = pd.Series(
        [_date(v) for v in overall["start_date"]], index=overall.index, dtype=object
    )
    overall["day"] = pd.Series(
        [s - dt.timedelta(days=1) for s in overall["start"]], index=overall.index, dtype=object
    )
    return overall


def backtest_rows(tests: pd.DataFrame, totals: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    """For each test of `tests` (_overall_tests of one or many scopes, in test order per
    scope) with data before it (≥ min_measured items measured as of the day before it): the
    estimate from that day's data (`totals`: _totals at those days), the actual score, the
    error, and the naive estimate "same as the scope's previous overall test" with its error.
    Columns: scope_id, BACKTEST_COLUMNS."""
    columns = ["scope_id", *BACKTEST_COLUMNS]
    if tests.empty:
        return pd.DataFrame(columns=columns)
    t = tests.assign(
        scope_id=tests["scope_id"].astype("int64"),
        actual=(tests["value"] / tests["max_value"] * 100).astype(float),
    )
    t["naive"] = t.groupby("scope_id", sort=False)["actual"].shift(1)
    found = t.merge(
        totals.astype({"scope_id": "int64"}).rename(columns={"as_of": "day"}),
        on=["scope_id", "day"],
        how="left",
    )
    keep = found["total"].notna() & (found["measured"].fillna(0) >= settings.min_measured)
    f = found[keep.to_numpy()]
    estimate = (f["total"] / f["max_total"] * 100).astype(float)
    return pd.DataFrame(
        {
            "scope_id": f["scope_id"].to_numpy(),
            "assessment_id": f["assessment_id"].astype("int64").to_numpy(),
            "assessment_name": f["assessment_name"].to_numpy(),
            "level": f["level"].to_numpy(),
            "start_date": f["start"].to_numpy(),
            "estimate_as_of": f["day"].to_numpy(),
            "estimate": estimate.to_numpy(),
            "actual": f["actual"].to_numpy(),
            "error": (estimate - f["actual"]).to_numpy(),
            "naive": f["naive"].to_numpy(),
            "naive_error": (f["naive"] - f["actual"]).to_numpy(),
            "measured": f["measured"].astype("int64").to_numpy(),
            "end_date": f["end"].to_numpy(),
        }
    ).reset_index(drop=True)


def backtest_fingerprint(settings: Settings) -> str:
    """Names the settings and model behind a stored backtest: the settings, this module
    and the queries the model reads."""
    return _fingerprint(settings, tuple(p.stat().st_mtime_ns for p in MODEL_FILES))


@functools.lru_cache(maxsize=16)
def _fingerprint(settings: Settings, _stamps: tuple[int, ...]) -> str:
    digest = hashlib.sha256(repr(settings).encode("utf-8"))
    for path in MODEL_FILES:
        digest.update(path.name.encode("utf-8") + path.read_bytes())
    return digest.hexdigest()[:16]


def backtest_frame(scope_ids: list[int], settings: Settings) -> pd.DataFrame:
    """The backtest rows (scope_id, BACKTEST_COLUMNS) of every overall test of every unit in
    `scope_ids`, from the data as of the day before each test: a few queries over all units
    and days at once (queries/sim_backtest_*.sql), then the page's own model functions."""
    ids = tuple(sorted({int(u) for u in scope_ids}))
    if not ids:
        return backtest_rows(pd.DataFrame(), pd.DataFrame(), settings)
    scores = query("sim_backtest_scores", scope_ids=ids).copy()
    scores["indicator_id"] = scores["indicator_id"].astype("Int64")
    tests = _overall_tests(scores)
    if tests.empty:
        return backtest_rows(tests, pd.DataFrame(), settings)
    keys = tests[["scope_id", "day"]].drop_duplicates().rename(columns={"day": "as_of"})
    days = tuple(sorted(set(keys["as_of"])))
    scoped = tuple(sorted(int(u) for u in keys["scope_id"].unique()))
    counts = _per_day(
        "sim_backtest_field_counts", list(days), scope_ids=scoped,
        lookback_days=settings.lookback_days,
    )  # fmt: skip
    lines = _per_day("sim_backtest_materials", list(days), scope_ids=scoped)
    # only the (scope, day) keys a test needs
    wanted = pd.MultiIndex.from_frame(keys.astype({"scope_id": "int64"}))
    counts = counts[pd.MultiIndex.from_frame(counts[KEY]).isin(wanted)]
    lines = lines[pd.MultiIndex.from_frame(lines[KEY]).isin(wanted)]
    measures = Measures(counts, _field_rates(counts, settings.fixed_share), lines, scores)
    return backtest_rows(tests, _totals(_item_rates(keys, measures)), settings)


def scope_unit_ids() -> list[int]:
    """Every unit a view can be scoped to (filters.SCOPE_KINDS)."""
    from dashboard.filters import SCOPE_KINDS

    units = metrics.units()
    return [int(u) for u in units.loc[units["kind"].isin(SCOPE_KINDS), "unit_id"]]


BACKTEST_BATCH = 250  # scopes whose backtest is computed together when a snapshot is written


def precompute_backtests(path: Path) -> None:
    """Fill sim_backtest (derived.sql) of a snapshot being built, with the settings of
    config/simulator.toml (the defaults when it is unusable), and record their fingerprint
    in meta. Called by store.write_snapshot. Unlike the flags, the rows are only a cache: if
    computing them fails the error is logged, the snapshot is still written, and each page
    computes its scope's rows (as with other settings). The default day's rows are stored
    first (precompute_default_day)."""
    import duckdb

    settings, _problem = settings_or_default()
    precompute_default_day(path, settings)
    try:
        with db.reading_snapshot(path):
            scopes = sorted(scope_unit_ids())
        # a scope's rows do not depend on the others asked with it: BACKTEST_BATCH scopes at
        # a time, each batch's queries read and let go (the file read afresh each time), so
        # the build holds one batch's scores and counts, not every scope's
        parts = []
        for start in range(0, len(scopes), BACKTEST_BATCH):
            with db.reading_snapshot(path):
                parts.append(backtest_frame(scopes[start : start + BACKTEST_BATCH], settings))
        frame = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
        del parts
    except Exception:  # noqa: BLE001 - a cache: pages compute their own rows without it
        logging.getLogger(__name__).exception("测算 backtest not precomputed")
        return
    fingerprint = backtest_fingerprint(settings)
    frame = frame.assign(
        fingerprint=fingerprint, pos=frame.groupby("scope_id", sort=False).cumcount()
    )
    con = duckdb.connect(str(path))
    try:
        con.execute("begin transaction")
        con.register("backtest_rows", frame)
        con.execute("insert into sim_backtest by name select * from backtest_rows")
        con.execute(
            "insert or replace into meta (key, value) values ($k, $v)",
            {"k": BACKTEST_META_KEY, "v": fingerprint},
        )
        con.execute("commit")
        con.execute("checkpoint")
    finally:
        con.close()


_backtests: dict = db.register_memo({})


@per_snapshot
def _stored_scopes() -> frozenset[int]:
    """The units whose backtest precompute_backtests stores (scope_unit_ids)."""
    return frozenset(scope_unit_ids())


def _backtest_stored(scope_id: int, fingerprint: str) -> bool:
    """True when the snapshot holds the scope's backtest for these settings and this model:
    stored with that fingerprint, and the scope is one the snapshot stores rows for — any
    other scope (a community a user is scoped to) computes its own rows, the same rows an
    older snapshot's page computes, never an empty backtest."""
    return db.meta().get(BACKTEST_META_KEY) == fingerprint and int(scope_id) in _stored_scopes()


def scope_backtest(scope_id: int, settings: Settings) -> pd.DataFrame:
    """Every overall test of the scope with its backtest (BACKTEST_COLUMNS): the rows stored
    in the snapshot when they were computed with these settings and this model, else
    computed here once per process and snapshot."""
    fingerprint = backtest_fingerprint(settings)
    if _backtest_stored(scope_id, fingerprint):
        rows = query("sim_backtest_stored", scope_id=scope_id, fingerprint=fingerprint)
        return rows.assign(**{c: [_date(v) for v in rows[c]] for c in BACKTEST_DATES})
    key = (db.file_identity(), scope_id, settings)
    if key not in _backtests:
        if len(_backtests) > 256:
            _backtests.clear()
        _backtests[key] = backtest_frame([scope_id], settings)[BACKTEST_COLUMNS]
    return _backtests[key]


def backtest(scope_id: int, as_of: dt.date, settings: Settings) -> pd.DataFrame:
    """The scope's tests ended by as_of, each with the estimate from the data as of the day
    before it, the actual score and "same as last test" (BACKTEST_COLUMNS)."""
    rows = scope_backtest(scope_id, settings)
    ended = np.array([_date(e) <= as_of for e in rows["end_date"]], dtype=bool)
    return rows[ended].reset_index(drop=True)


@dataclass(frozen=True)
class Accuracy:
    tests: int  # past tests with both an estimate and a previous test
    mae: float | None  # mean |estimate − actual|
    naive_mae: float | None  # mean |previous test − actual| over the same tests

    @property
    def beats_naive(self) -> bool | None:
        if self.mae is None or self.naive_mae is None:
            return None
        return self.mae < self.naive_mae


def accuracy(frame: pd.DataFrame) -> Accuracy:
    both = frame[frame["estimate"].notna() & frame["naive"].notna()] if len(frame) else frame
    if both.empty:
        return Accuracy(0, None, None)
    return Accuracy(
        len(both),
        float(both["error"].abs().mean()),
        float(both["naive_error"].abs().mean()),
    )


# ── everything the page shows, once per (scope, day) ───────────────────────────────────


@dataclass(frozen=True)
class Simulation:
    unit_id: int
    unit_name: str
    unit_kind: str
    as_of: dt.date
    settings: Settings
    current: Estimate
    backtest: pd.DataFrame
    accuracy: Accuracy
    fixes: pd.DataFrame
    rank: RankContext
    target_score: float | None
    next_test: metrics.NextTest | None
    last_actual: float | None  # the unit's latest overall score (for "same as last test")


_memo: dict = db.register_memo({})


def simulate(scope_id: int, as_of: dt.date, settings: Settings | None = None) -> Simulation:
    """The estimate, backtest, fix list and rank context for one unit and day."""
    settings = settings or Settings()
    db.require_scope(scope_id)
    # the user's roots are part of the key: the rank context differs by what they may see
    key = (db.file_identity(), scope_id, as_of, settings, db.current_access().root_ids)
    hit = _memo.get(key)
    if hit is not None:
        return hit
    # the scope's own small queries at once (their results land in the query cache)
    fingerprint = backtest_fingerprint(settings)
    requests = [("sim_unit_scores", {"unit_id": scope_id})]
    if _backtest_stored(scope_id, fingerprint):
        requests.append(("sim_backtest_stored", {"scope_id": scope_id, "fingerprint": fingerprint}))
    db.query_many(requests)
    units = metrics.units().set_index("unit_id")
    row = units.loc[scope_id]
    scores = _unit_scores(scope_id)
    tests = past_tests(scope_id, as_of, scores)
    measures = _measures(scope_id, [as_of], settings, scores)
    current = _estimates(scope_id, [as_of], settings, measures)[as_of]
    bt = backtest(scope_id, as_of, settings)
    last_actual = (
        float(tests["value"].iloc[-1]) / float(tests["max_value"].iloc[-1]) * 100
        if len(tests) else None
    )  # fmt: skip
    target = row["target_score"]
    result = Simulation(
        int(scope_id),
        str(row["name"]),
        str(row["kind"]),
        as_of,
        settings,
        current,
        bt,
        accuracy(bt),
        fixes(scope_id, str(row["kind"]), as_of, current, settings, measures),
        rank_context(scope_id, as_of),
        None if pd.isna(target) else float(target),
        metrics.next_test(as_of),
        last_actual,
    )
    if len(_memo) > 256:
        _memo.clear()
    _memo[key] = result
    return result
