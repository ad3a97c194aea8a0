"""红旗清单: the red-flag engine — what will lose points at the next test, whose it is, how urgent.

Rules are data: `config/flags.toml` switches each rule on or off and sets its Chinese name,
severity and thresholds (`load_rules`). Each rule is a function registered by id below that
takes (scope_id, as_of, params) and returns flags, built on dashboard.metrics and the
evidence queries `queries/flag_*.sql`. The meeting view, the unit view and the 红旗清单 page
all read `evaluate` / `top_flags` / `flag_frame`; nothing else decides what is a red flag.

Priority (the one place it is defined; README "红旗规则" repeats it):

    priority = base(severity) × (1 + min(weight, 40) / 40) × closeness + magnitude

    base       红 red 100 · 橙 orange 60 · 黄 yellow 30
    weight     the points the affected indicator carries in a 100-point test: the problem's,
               point check's or ledger line's indicator weight (the largest among the
               evidence); rules not tied to one indicator
               (scores, 整改率, visits, platform entry, random pool) use their `weight`
               setting (default 20 for scores and 整改率, 10 visits/random pool, 5 entry).
               Capped at 40, so with the default weights a red flag outranks an orange one
               due at the same time (60 × 1.5 < 100).
    closeness  1 + 2 · max(0, 1 − days_to_test / 60): ×3 on the first day of the next
               provincial/national test, ×1 when it is 60 or more days away or unknown
    magnitude  a tie-break in [0, 1): how far past the threshold (shortfall relative to the
               threshold, or n / (n + 5) for counts)

So a red flag always outranks an orange one of the same indicator weight and test date, and
the closer the test, the more every flag weighs.

first_seen / weeks_red: the same rule is re-evaluated at as_of − 7, −14, … (up to
HISTORY_WEEKS weeks back); weeks_red counts the consecutive weeks (this one included) in
which the same (rule, unit, owner, subject) key was flagged, first_seen is the earliest as_of of
that run.
"""

from __future__ import annotations

import datetime as dt
import math
import threading
import tomllib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from dashboard import labels, metrics, status
from dashboard.components.text import pct_short
from dashboard.db import (
    ROOT,
    FileIdentity,
    as_of_batch,
    batch_memo,
    file_identity,
    per_snapshot,
    query,
    register_memo,
    require_scope,
)

CONFIG_PATH = ROOT / "config" / "flags.toml"
SEVERITIES = ("red", "orange", "yellow")
SEVERITY_LABEL = {"red": "红", "orange": "橙", "yellow": "黄"}
SEVERITY_BASE = {"red": 100.0, "orange": 60.0, "yellow": 30.0}
MAX_WEIGHT = 40.0
CLOSENESS_DAYS = 60
HISTORY_WEEKS = 8


def history_days(as_of: dt.date) -> list[dt.date]:
    """as_of and the HISTORY_WEEKS weekly dates before it: the days an evaluation reads.

    Evaluations run inside `as_of_batch(history_days(as_of))`, so each rule's query runs
    once for all of them (db.py) instead of once per date."""
    return [as_of - dt.timedelta(days=7 * k) for k in range(HISTORY_WEEKS + 1)]


SCORE_LEVELS = ("district", "street", "community", "department")
LEVEL_LABEL = {
    "district": "区县",
    "street": "街道/镇",
    "community": "社区/村",
    "department": "部门",
}


# ── flags ──────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class Flag:
    """One red flag: a rule that fired for one unit, with its owner and evidence."""

    rule_id: str
    rule_name: str
    severity: str  # 'red' | 'orange' | 'yellow' (labels: SEVERITY_LABEL)
    unit_id: int
    unit_name: str
    owner_id: int | None  # 责任单位
    owner_name: str
    metric: str  # Chinese name of the metric
    value: float | None
    threshold: float | None
    value_text: str  # e.g. 整改率 78.5%（阈值 85%）
    evidence: tuple[dict, ...] = ()
    deadline: dt.date | None = None
    first_seen: dt.date | None = None
    weeks_red: int = 1
    days_to_test: int | None = None
    priority: float = 0.0
    weight: float = 0.0  # points of the affected indicator (before the cap of 40)
    magnitude: float = 0.0  # tie-break in [0, 1)
    subject: str = ""  # what inside the unit: a problem id, point id or point type

    @property
    def key(self) -> tuple[str, int, int | None, str]:
        return (self.rule_id, self.unit_id, self.owner_id, self.subject)

    @property
    def severity_label(self) -> str:
        return SEVERITY_LABEL.get(self.severity, self.severity)


def closeness(days_to_test: int | None) -> float:
    """1 + 2 · max(0, 1 − days/60); 1 when no test is scheduled."""
    if days_to_test is None:
        return 1.0
    return 1.0 + 2.0 * max(0.0, 1.0 - days_to_test / CLOSENESS_DAYS)


def priority(
    severity: str, weight: float, days_to_test: int | None, magnitude: float = 0.0
) -> float:
    """The priority formula of the module docstring."""
    w = min(max(weight, 0.0), MAX_WEIGHT)
    m = min(max(magnitude, 0.0), 0.999)
    return round(SEVERITY_BASE[severity] * (1 + w / MAX_WEIGHT) * closeness(days_to_test) + m, 3)


# ── rules config ───────────────────────────────────────────────────────────────────────


class RulesConfigError(ValueError):
    """The rules file is broken; the message is Chinese and names the rule and key."""


@dataclass(frozen=True)
class Param:
    """One threshold of a rule: its type, allowed range and default."""

    kind: str  # 'float' | 'int' | 'rate' (0..1) | 'levels'
    default: Any
    minimum: float | None = None
    maximum: float | None = None
    help: str = ""
    # (metric, 'target' | 'floor'): the default is that status line of config/status.toml
    status_line: tuple[str, str] | None = None

    @property
    def default_value(self) -> Any:
        if self.status_line is None:
            return self.default
        return getattr(status.rule(self.status_line[0]), self.status_line[1])


@dataclass(frozen=True)
class RuleSpec:
    rule_id: str
    name: str
    severity: str
    params: dict[str, Param]
    run: Callable[[int, dt.date, dict[str, Any]], list[Flag]]
    scores_only: bool = False  # reads only the latest overall assessments' scores


@dataclass(frozen=True)
class RuleConfig:
    rule_id: str
    name: str
    severity: str
    enabled: bool
    params: tuple[tuple[str, Any], ...]

    def param_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in self.params}


@dataclass(frozen=True)
class RuleSet:
    rules: tuple[RuleConfig, ...]
    source: str = "内置默认"

    def get(self, rule_id: str) -> RuleConfig | None:
        return next((r for r in self.rules if r.rule_id == rule_id), None)

    def enabled(self) -> tuple[RuleConfig, ...]:
        return tuple(r for r in self.rules if r.enabled)

    def names(self) -> dict[str, str]:
        return {r.rule_id: r.name for r in self.rules}


RULES: dict[str, RuleSpec] = {}


def rule(rule_id: str, name: str, severity: str, *, scores_only: bool = False, **params: Param):
    """Register a rule function under rule_id with its default name, severity and params."""

    def register(func: Callable[[int, dt.date, dict[str, Any]], list[Flag]]):
        RULES[rule_id] = RuleSpec(rule_id, name, severity, params, func, scores_only)
        return func

    return register


def default_rules() -> RuleSet:
    """Every registered rule, switched on, with its built-in defaults."""
    return RuleSet(
        tuple(
            RuleConfig(
                s.rule_id,
                s.name,
                s.severity,
                True,
                tuple(
                    (k, tuple(p.default) if isinstance(p.default, list) else p.default_value)
                    for k, p in s.params.items()
                ),
            )
            for s in RULES.values()
        )
    )


_GENERAL_KEYS = {"name": "规则名称", "severity": "级别", "enabled": "是否启用"}


def _check_param(rule_id: str, key: str, spec: Param, value: Any) -> Any:
    where = f"规则 [rules.{rule_id}] 的参数 “{key}”"
    if spec.kind == "levels":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise RulesConfigError(f'{where} 应为单位层级列表，例如 ["street"]，现为 {value!r}')
        bad = [v for v in value if v not in SCORE_LEVELS + ("self",)]
        if bad:
            allowed = "、".join(SCORE_LEVELS + ("self",))
            raise RulesConfigError(f"{where} 含未知层级 {bad[0]!r}，可选：{allowed}")
        return tuple(value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RulesConfigError(f"{where} 应为数字，现为 {value!r}")
    if spec.kind == "int" and not isinstance(value, int):
        raise RulesConfigError(f"{where} 应为整数，现为 {value!r}")
    lo, hi = spec.minimum, spec.maximum
    if spec.kind == "rate":
        lo = 0.0 if lo is None else lo
        hi = 1.0 if hi is None else hi
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        rng = f"{lo if lo is not None else '−∞'} ~ {hi if hi is not None else '∞'}"
        hint = "（比例写成小数，如 0.85 表示 85%）" if spec.kind == "rate" else ""
        raise RulesConfigError(f"{where} 超出允许范围 {rng}{hint}，现为 {value!r}")
    return float(value) if spec.kind in ("float", "rate") else int(value)


def parse_rules(data: dict, source: str = "配置") -> RuleSet:
    """Validate a parsed rules document (the [rules.<id>] tables) into a RuleSet."""
    unknown_top = [k for k in data if k != "rules"]
    if unknown_top:
        raise RulesConfigError(
            f"红旗规则配置含未知的顶层项 “{unknown_top[0]}”，只允许 [rules.<规则id>]"
        )
    tables = data.get("rules", {})
    if not isinstance(tables, dict):
        raise RulesConfigError("红旗规则配置的 rules 应为表（[rules.<规则id>]）")
    unknown_rules = [k for k in tables if k not in RULES]
    if unknown_rules:
        known = "、".join(RULES)
        raise RulesConfigError(f"未知的规则 [rules.{unknown_rules[0]}]，已有规则：{known}")
    configs = []
    for rule_id, spec in RULES.items():
        table = tables.get(rule_id, {})
        if not isinstance(table, dict):
            raise RulesConfigError(f"规则 [rules.{rule_id}] 应为表")
        for key in table:
            if key not in _GENERAL_KEYS and key not in spec.params:
                allowed = "、".join([*_GENERAL_KEYS, *spec.params])
                raise RulesConfigError(
                    f"规则 [rules.{rule_id}] 含未知参数 “{key}”（是否拼写错误？可用参数：{allowed}）"
                )
        name = table.get("name", spec.name)
        if not isinstance(name, str) or not name.strip():
            raise RulesConfigError(f"规则 [rules.{rule_id}] 的参数 “name” 应为非空文字")
        severity = table.get("severity", spec.severity)
        if severity not in SEVERITIES:
            raise RulesConfigError(
                f"规则 [rules.{rule_id}] 的参数 “severity” 应为 red（红）、orange（橙）或 "
                f"yellow（黄），现为 {severity!r}"
            )
        enabled = table.get("enabled", True)
        if not isinstance(enabled, bool):
            raise RulesConfigError(f"规则 [rules.{rule_id}] 的参数 “enabled” 应为 true 或 false")
        params = []
        for key, pspec in spec.params.items():
            value = table.get(key, pspec.default_value)
            params.append((key, _check_param(rule_id, key, pspec, value)))
        configs.append(RuleConfig(rule_id, name.strip(), severity, enabled, tuple(params)))
    return RuleSet(tuple(configs), source)


def load_rules(path: Path | str | None = None) -> RuleSet:
    """Read and validate the rules file (default config/flags.toml)."""
    path = Path(path) if path is not None else CONFIG_PATH
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return default_rules()
    except OSError as exc:
        raise RulesConfigError(f"无法读取红旗规则配置文件 {path}：{exc}") from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RulesConfigError(f"红旗规则配置文件 {path.name} 格式错误（TOML）：{exc}") from exc
    return parse_rules(data, str(path))


_last_good: dict[str, RuleSet] = {}
_last_good_lock = threading.Lock()


def rules_or_last_good(path: Path | str | None = None) -> tuple[RuleSet, str | None]:
    """The rules in force: the file's when valid, else the last good ones (or the defaults)
    together with the Chinese error message to show."""
    key = str(Path(path) if path is not None else CONFIG_PATH)
    try:
        rules = load_rules(path)
    except RulesConfigError as exc:
        with _last_good_lock:
            fallback = _last_good.get(key) or default_rules()
        return fallback, f"{exc}。仍按上一次有效的规则计算。"
    with _last_good_lock:
        _last_good[key] = rules
    return rules, None


# ── helpers shared by the rules ────────────────────────────────────────────────────────


def _num(value: float | None, digits: int = 2) -> str:
    if value is None:
        return "无数据"
    text = f"{value:.{digits}f}".rstrip("0").rstrip(".")
    return text or "0"


def _date(value: object) -> dt.date | None:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return None if pd.isna(value) else value.date()
    if isinstance(value, dt.datetime):
        return value.date()
    return value  # type: ignore[return-value]


def _int_or_none(value: object) -> int | None:
    if value is None or pd.isna(value):
        return None
    return int(value)


def _shortfall(value: float | None, threshold: float | None) -> float:
    if value is None or threshold is None or threshold == 0:
        return 0.0
    return min(0.999, max(0.0, abs(threshold - value) / abs(threshold)))


def _count_magnitude(n: int) -> float:
    return n / (n + 5)


def _rows(frame: pd.DataFrame) -> list[dict]:
    """The frame as plain dicts (dates as dates, missing as None): cheap to loop over.

    Column by column (tolist() turns numpy scalars into Python ones in C), not
    DataFrame.to_dict("records"), which boxes every cell in Python: at province scale the
    evidence queries return tens of thousands of rows per evaluated date.
    """
    columns = []
    for column in frame.columns:
        series = frame[column]
        if pd.api.types.is_datetime64_any_dtype(series):
            series = series.dt.date
        values = series.astype(object).where(series.notna(), None).tolist()
        columns.append(values)
    names = [str(c) for c in frame.columns]
    return [dict(zip(names, values, strict=True)) for values in zip(*columns, strict=True)]


def _groups(rows: list[dict], key: str) -> list[tuple[Any, list[dict]]]:
    """Rows grouped by one column, groups in key order, rows in their original order."""
    out: dict[Any, list[dict]] = {}
    for row in rows:
        out.setdefault(row[key], []).append(row)
    return sorted(out.items(), key=lambda kv: (str(type(kv[0])), kv[0]))


def _records(rows: list[dict], columns: dict[str, str]) -> tuple[dict, ...]:
    """Evidence rows: the named columns under their Chinese headers."""
    return tuple({header: row[col] for col, header in columns.items()} for row in rows)


@per_snapshot
def _names(table: str) -> dict[int, str]:
    """id → name for 'units' or 'assessments', kept per snapshot file (only read)."""
    if table == "units":
        frame, id_column = metrics.units(), "unit_id"
    else:
        frame, id_column = metrics.assessments(), "assessment_id"
    return dict(zip(frame[id_column].astype(int), frame["name"].astype(str), strict=True))


def _unit_names() -> dict[int, str]:
    return metrics.display_names()  # a repeated name with its parent: 文苑社区（和平街道）


Evidence = tuple[dict, ...] | Callable[[], tuple[dict, ...]]


def _flag(
    cfg: dict[str, Any],
    *,
    unit_id: int,
    owner_id: int | None,
    metric: str,
    value: float | None,
    threshold: float | None,
    value_text: str,
    evidence: Evidence = (),
    deadline: dt.date | None = None,
    weight: float = 0.0,
    magnitude: float = 0.0,
    subject: str = "",
) -> Flag:
    """Build one flag. Evidence may be a thunk: history re-runs (keys only) skip it."""
    keys_only = cfg.get("_keys_only", False)
    names = {} if keys_only else _unit_names()
    if keys_only:
        evidence = ()
    elif callable(evidence):
        evidence = evidence()
    return Flag(
        rule_id=cfg["_rule_id"],
        rule_name=cfg["_name"],
        severity=cfg["_severity"],
        unit_id=int(unit_id),
        unit_name=names.get(int(unit_id), str(unit_id)),
        owner_id=None if owner_id is None else int(owner_id),
        owner_name="—" if owner_id is None else names.get(int(owner_id), str(owner_id)),
        metric=metric,
        value=None if value is None else float(value),
        threshold=None if threshold is None else float(threshold),
        value_text=value_text,
        evidence=evidence,
        deadline=deadline,
        weight=float(weight),
        magnitude=float(magnitude),
        subject=subject,
    )


# The metric frames the rules read, shared by every rule and date of one evaluation
# (they run inside as_of_batch; the frames are only read).
_m_unit_scores = batch_memo(metrics.unit_scores)
_m_coverage = batch_memo(metrics.coverage)
_m_coverage_projection = batch_memo(metrics.coverage_projection)
_m_rectification = batch_memo(metrics.rectification)


# ── rules: scores ──────────────────────────────────────────────────────────────────────


def _latest_overall(as_of: dt.date, n: int) -> list[int]:
    return list(metrics.latest_scored(as_of, "overall", n))


@rule(
    "below_city_average",
    "低于全市得分",
    "orange",
    scores_only=True,
    gap_points=Param("float", 5.0, 0.0, 100.0, "低于全市得分超过多少分"),
    levels=Param("levels", ["district", "street"], help="比较哪些层级的单位"),
    weight=Param("float", 20.0, 0.0, 100.0, "所影响指标的分值（综合得分按 20 计）"),
)
def below_city_average(scope_id: int, as_of: dt.date, p: dict[str, Any]) -> list[Flag]:
    latest = _latest_overall(as_of, 1)
    if not latest:
        return []
    flags = []
    for level in p["levels"]:
        frame = _m_unit_scores(scope_id, latest[0], level)
        hit = frame[frame["gap_to_city"].notna() & (frame["gap_to_city"] < -p["gap_points"])]
        for r in hit.itertuples():
            gap = float(r.gap_to_city)
            flags.append(
                _flag(
                    p,
                    unit_id=r.unit_id,
                    owner_id=r.unit_id,
                    metric="与全市得分差",
                    value=gap,
                    threshold=-p["gap_points"],
                    value_text=(
                        f"得分 {_num(r.value)} 分，低于全市得分 {_num(-gap)} 分"
                        f"（阈值 {_num(p['gap_points'])} 分）"
                    ),
                    evidence=(
                        {
                            "测评": _assessment_name(latest[0]),
                            "本单位得分": float(r.value),
                            "全市得分": float(r.city_value),
                            "分差": round(gap, 2),
                        },
                    ),
                    deadline=_test_start(as_of),
                    weight=p["weight"],
                    magnitude=min(0.999, -gap / 20),
                )
            )
    return flags


def _assessment_name(assessment_id: int) -> str:
    names = _names("assessments")
    return names.get(int(assessment_id), str(assessment_id))


@per_snapshot
def _test_start(as_of: dt.date) -> dt.date | None:
    """The next test's first day (memoised per snapshot: rules ask once per flag)."""
    test = metrics.next_test(as_of)
    return None if test is None else test.start_date


@rule(
    "score_fell_twice",
    "连续两次测评下降",
    "red",
    scores_only=True,
    min_drop=Param("float", 0.0, 0.0, 100.0, "每次至少下降多少分才算下降"),
    levels=Param("levels", ["district", "street"], help="比较哪些层级的单位"),
    weight=Param("float", 20.0, 0.0, 100.0, "所影响指标的分值（综合得分按 20 计）"),
)
def score_fell_twice(scope_id: int, as_of: dt.date, p: dict[str, Any]) -> list[Flag]:
    latest = _latest_overall(as_of, 3)
    if len(latest) < 3:
        return []
    newest, middle, oldest = latest
    flags = []
    for level in p["levels"]:
        frames = [
            _m_unit_scores(scope_id, a, level)[["unit_id", "value"]].set_index("unit_id")
            for a in (oldest, middle, newest)
        ]
        both = pd.concat(frames, axis=1, keys=["v0", "v1", "v2"]).dropna()
        both.columns = ["v0", "v1", "v2"]
        fell = both[
            (both["v0"] - both["v1"] > p["min_drop"]) & (both["v1"] - both["v2"] > p["min_drop"])
        ]
        for unit_id, r in fell.iterrows():
            drop = float(r.v0 - r.v2)
            evidence = tuple(
                {"测评": _assessment_name(a), "得分": float(v)}
                for a, v in ((oldest, r.v0), (middle, r.v1), (newest, r.v2))
            )
            flags.append(
                _flag(
                    p,
                    unit_id=int(unit_id),
                    owner_id=int(unit_id),
                    metric="综合测评得分",
                    value=float(r.v2),
                    threshold=float(r.v1),
                    value_text=(
                        f"得分 {_num(r.v0)} → {_num(r.v1)} → {_num(r.v2)} 分，"
                        f"连续两次下降，共降 {_num(drop)} 分"
                    ),
                    evidence=evidence,
                    deadline=_test_start(as_of),
                    weight=p["weight"],
                    magnitude=min(0.999, drop / 20),
                )
            )
    return flags


@rule(
    "bottom_of_level",
    "同级排名倒数",
    "yellow",
    scores_only=True,
    n=Param("int", 3, 1, 50, "倒数几名"),
    min_units=Param("int", 6, 2, 1000, "同级单位少于此数时不排倒数"),
    levels=Param("levels", ["street"], help="在哪些层级内排名"),
    weight=Param("float", 20.0, 0.0, 100.0, "所影响指标的分值（综合得分按 20 计）"),
)
def bottom_of_level(scope_id: int, as_of: dt.date, p: dict[str, Any]) -> list[Flag]:
    latest = _latest_overall(as_of, 1)
    if not latest:
        return []
    flags = []
    for level in p["levels"]:
        frame = _m_unit_scores(scope_id, latest[0], level, rank_within="list")
        frame = frame[frame["rank"].notna()]
        if len(frame) < p["min_units"]:
            continue
        worst = int(frame["rank"].max())
        cutoff = worst - p["n"]
        hit = frame[(frame["rank"] > cutoff) & (frame["rank"] > 1)]
        kind = LEVEL_LABEL.get(level, level)
        for r in hit.itertuples():
            from_bottom = worst - int(r.rank) + 1
            flags.append(
                _flag(
                    p,
                    unit_id=r.unit_id,
                    owner_id=r.unit_id,
                    metric="同级排名",
                    value=float(r.rank),
                    threshold=float(cutoff + 1),
                    value_text=(
                        f"得分 {_num(r.value)} 分，{len(frame)} 个{kind}中第 {int(r.rank)} 名"
                        f"（倒数第 {from_bottom} 名，阈值 倒数 {p['n']} 名）"
                    ),
                    evidence=(
                        {
                            "测评": _assessment_name(latest[0]),
                            "得分": float(r.value),
                            "名次": int(r.rank),
                            "参与排名单位数": len(frame),
                        },
                    ),
                    deadline=_test_start(as_of),
                    weight=p["weight"],
                    magnitude=min(0.999, 1 / from_bottom / 2),
                )
            )
    return flags


# ── rules: problems ────────────────────────────────────────────────────────────────────

PROBLEM_EVIDENCE = {
    "problem_id": "问题编号",
    "category": "问题类型",
    "description": "问题描述",
    "point_name": "点位",
    "unit_name": "属地",
    "dept_name": "责任单位",
    "severity_label": "严重程度",
    "found_on": "发现日期",
    "deadline": "整改时限",
    "days_overdue": "逾期天数",
}


@batch_memo
def _overdue(scope_id: int, as_of: dt.date) -> list[dict]:
    """Overdue problems as rows, shared by the overdue rules and 整改率 evidence within one
    evaluation (callers only read the rows)."""
    rows = _rows(query("flag_overdue_problems", scope_id=scope_id, as_of=as_of))
    for row in rows:
        row["severity_label"] = labels.label(labels.SEVERITY, row["severity"])
        row["owner_id"] = row["dept_id"] if row["dept_id"] is not None else row["unit_id"]
    return rows


@rule(
    "overdue_severe",
    "严重问题逾期未整改",
    "red",
    min_days=Param("int", 1, 1, 365, "逾期至少几天"),
)
def overdue_severe(scope_id: int, as_of: dt.date, p: dict[str, Any]) -> list[Flag]:
    flags = []
    for r in _overdue(scope_id, as_of):
        days = int(r["days_overdue"])
        if r["severity"] != "severe" or days < p["min_days"]:
            continue
        flags.append(
            _flag(
                p,
                unit_id=r["unit_id"],
                owner_id=r["owner_id"],
                subject=str(r["problem_id"]),
                metric="逾期天数",
                value=float(days),
                threshold=float(p["min_days"]),
                value_text=(
                    f"严重问题 {r['problem_id']}（{r['category'] or '未分类'}）逾期 {days} 天，"
                    f"时限 {r['deadline']}"
                ),
                evidence=lambda r=r: _records([r], PROBLEM_EVIDENCE),
                deadline=r["deadline"],
                weight=float(r["weight"]),
                magnitude=_count_magnitude(days),
            )
        )
    return flags


@rule(
    "overdue_problems",
    "问题逾期未整改（不含严重）",
    "orange",
    min_count=Param("int", 3, 1, 10000, "同一责任单位逾期问题（严重问题除外）达到几个"),
)
def overdue_problems(scope_id: int, as_of: dt.date, p: dict[str, Any]) -> list[Flag]:
    rest = [r for r in _overdue(scope_id, as_of) if r["severity"] != "severe"]
    flags = []
    for owner_id, group in _groups(rest, "owner_id"):
        n = len(group)
        if n < p["min_count"]:
            continue
        # rows come ordered by deadline: the first is the oldest
        flags.append(
            _flag(
                p,
                unit_id=owner_id,
                owner_id=owner_id,
                metric="逾期问题数",
                value=float(n),
                threshold=float(p["min_count"]),
                value_text=(
                    f"逾期未整改（不含严重）{n} 个（阈值 {p['min_count']} 个），"
                    f"最长逾期 {max(int(r['days_overdue']) for r in group)} 天"
                ),
                evidence=lambda g=group: _records(g, PROBLEM_EVIDENCE),
                deadline=group[0]["deadline"],
                weight=max(float(r["weight"]) for r in group),
                magnitude=_count_magnitude(n),
            )
        )
    return flags


def _members(scope_id: int) -> dict[int, set[int]]:
    frame = query("flag_unit_members", scope_id=scope_id)
    out: dict[int, set[int]] = {}
    for unit_id, member_id in zip(frame["unit_id"], frame["member_id"], strict=True):
        out.setdefault(int(unit_id), set()).add(int(member_id))
    return out


def _shown_digits(metric_key: str) -> int:
    """The displayed precision of a metric (config/status.toml): a flag whose threshold is a
    status line judges the value as shown, as the status does."""
    return status.rule(metric_key).digits


@rule(
    "rectification_below",
    "整改率低于黑榜线",
    "red",
    threshold=Param(
        "rate",
        None,
        help="整改率低于此值进黑榜（默认取 config/status.toml 的黑榜线）",
        status_line=("rectification_rate", "floor"),
    ),
    min_found=Param("int", 5, 1, 100000, "发现问题少于此数时不判断"),
    levels=Param("levels", ["street", "department"], help="判断哪些层级的单位"),
    weight=Param("float", 20.0, 0.0, 100.0, "所影响指标的分值"),
)
def rectification_below(scope_id: int, as_of: dt.date, p: dict[str, Any]) -> list[Flag]:
    flags = []
    for level in p["levels"]:
        frame = _m_rectification(scope_id, as_of, level)
        hit = frame[
            (frame["found"] >= p["min_found"])
            & frame["rectification_rate"].notna()
            # judged at the displayed precision, as the status of the same number is
            & (
                frame["rectification_rate"].round(_shown_digits("rectification_rate"))
                < p["threshold"] - 1e-9
            )
        ]
        if hit.empty:
            continue
        overdue = _overdue(scope_id, as_of)
        members = _members(scope_id)
        for r in hit.itertuples():
            mine = members.get(int(r.unit_id), {int(r.unit_id)})
            rows = [o for o in overdue if o["unit_id"] in mine or o["dept_id"] in mine]
            rate = float(r.rectification_rate)
            flags.append(
                _flag(
                    p,
                    unit_id=r.unit_id,
                    owner_id=r.unit_id,
                    metric="整改率",
                    value=rate,
                    threshold=p["threshold"],
                    value_text=(
                        f"整改率 {pct_short(rate)}（阈值 {pct_short(p['threshold'])}），"
                        f"已整改 {r.rectified}/{r.found}，逾期 {r.overdue} 个"
                    ),
                    evidence=lambda g=rows: _records(g, PROBLEM_EVIDENCE),
                    deadline=rows[0]["deadline"] if rows else None,
                    weight=p["weight"],
                    magnitude=_shortfall(rate, p["threshold"]),
                )
            )
    return flags


REBOUND_EVIDENCE = {
    "problem_id": "问题编号",
    "category": "问题类型",
    "found_on": "发现日期",
    "earlier_problem_id": "前次问题",
    "earlier_found_on": "前次发现日期",
    "gap_days": "间隔天数",
    "status_text": "整改状态",
    "deadline": "整改时限",
}


@rule(
    "rebound_point",
    "同一点位反复反弹",
    "orange",
    lookback_days=Param("int", 180, 7, 730, "统计最近多少天内的反弹"),
    min_rebounds=Param("int", 2, 1, 100, "同一点位反弹达到几次"),
)
def rebound_point(scope_id: int, as_of: dt.date, p: dict[str, Any]) -> list[Flag]:
    rows = _rows(
        query("flag_rebounds", scope_id=scope_id, as_of=as_of, lookback_days=p["lookback_days"])
    )
    flags = []
    for point_id, group in _groups(rows, "point_id"):
        n = len(group)
        if n < p["min_rebounds"]:
            continue
        first = group[0]
        still_open = [r for r in group if not r["is_rectified"]]
        for r in group:
            r["status_text"] = "已整改" if r["is_rectified"] else "未整改"
        flags.append(
            _flag(
                p,
                unit_id=first["point_unit_id"],
                owner_id=first["owner_id"],
                subject=str(point_id),
                metric="反弹次数",
                value=float(n),
                threshold=float(p["min_rebounds"]),
                value_text=(
                    f"{first['point_name']}：近 {p['lookback_days']} 天反弹 {n} 次"
                    f"（阈值 {p['min_rebounds']} 次）"
                    + (f"，{len(still_open)} 个仍未整改" if still_open else "")
                ),
                evidence=lambda g=group: _records(g, REBOUND_EVIDENCE),
                deadline=min(r["deadline"] for r in still_open) if still_open else None,
                weight=max(float(r["weight"]) for r in group),
                magnitude=_count_magnitude(n),
            )
        )
    return flags


# ── rules: visits ──────────────────────────────────────────────────────────────────────


@batch_memo
def _kind_evidence_by_unit(
    scope_id: int, as_of: dt.date, level: str
) -> dict[int, tuple[dict, ...]]:
    # One pass over the level's by-kind frame for all its flagged units (once per
    # evaluation), not a filter of the whole frame per flag.
    per_unit: dict[int, list[dict]] = {}
    for r in _m_coverage(scope_id, as_of, level, by_kind=True).itertuples():
        if r.target or r.visits:
            per_unit.setdefault(int(r.unit_id), []).append(
                {
                    "走访对象": labels.label(labels.SUBJECT_KIND, r.subject_kind),
                    "目标数": int(r.target),
                    "已走访": int(r.covered),
                    "覆盖率": pct_short(r.coverage_rate),
                    "近14天新增": int(r.new_last_14d),
                    "走访次数": int(r.visits),
                    "平台录入率": pct_short(r.entry_rate),
                }
            )
    return {u: tuple(rows) for u, rows in per_unit.items()}


def _kind_evidence(scope_id: int, as_of: dt.date, level: str, unit_id: int) -> tuple[dict, ...]:
    per_unit = _kind_evidence_by_unit(scope_id, as_of, level)
    return tuple(dict(row) for row in per_unit.get(int(unit_id), ()))


@rule(
    "coverage_behind",
    "走访进度赶不上节点",
    "red",
    levels=Param("levels", ["district", "street"], help="判断哪些层级的单位"),
    weight=Param("float", 10.0, 0.0, 100.0, "所影响指标的分值（走访关系问卷知晓率）"),
)
def coverage_behind(scope_id: int, as_of: dt.date, p: dict[str, Any]) -> list[Flag]:
    flags = []
    for level in p["levels"]:
        frame = _m_coverage_projection(scope_id, as_of, level)
        if frame.empty:
            continue
        upcoming = frame[frame["days_left"] >= 0].sort_values(["unit_id", "due_date"])
        nxt = upcoming.groupby("unit_id", sort=True).head(1)
        hit = nxt[(nxt["behind"] == True) & (~nxt["reached"])]  # noqa: E712
        for r in hit.itertuples():
            projected = float(r.projected_rate)
            needed = "" if r.daily_needed is None else f"，每天需新增 {_num(r.daily_needed, 1)} 个"
            flags.append(
                _flag(
                    p,
                    unit_id=r.unit_id,
                    owner_id=r.unit_id,
                    metric="预计走访覆盖率",
                    value=projected,
                    threshold=float(r.target_share),
                    value_text=(
                        f"按近14天进度，{r.due_date} 预计覆盖率 {pct_short(projected)}"
                        f"（节点目标 {pct_short(r.target_share)}）{needed}"
                    ),
                    evidence=lambda lv=level, u=r.unit_id: _kind_evidence(scope_id, as_of, lv, u),
                    deadline=r.due_date,
                    weight=p["weight"],
                    magnitude=_shortfall(projected, float(r.target_share)),
                )
            )
    return flags


@rule(
    "platform_entry_lagging",
    "平台录入滞后",
    "yellow",
    threshold=Param(
        "rate",
        None,
        help="平台录入率低于此值（默认取 config/status.toml 的达标线）",
        status_line=("entry_rate", "target"),
    ),
    min_visits=Param("int", 20, 1, 10**9, "走访次数少于此数时不判断"),
    levels=Param("levels", ["street"], help="判断哪些层级的单位"),
    weight=Param("float", 5.0, 0.0, 100.0, "所影响指标的分值"),
)
def platform_entry_lagging(scope_id: int, as_of: dt.date, p: dict[str, Any]) -> list[Flag]:
    campaign = metrics.campaign_at(as_of)
    milestone = campaign.next_milestone(as_of) if campaign else None
    flags = []
    for level in p["levels"]:
        frame = _m_coverage(scope_id, as_of, level)
        if frame.empty or "entry_rate" not in frame:
            continue  # no campaign has started
        hit = frame[
            (frame["visits"] >= p["min_visits"])
            & frame["entry_rate"].notna()
            & (frame["entry_rate"].round(_shown_digits("entry_rate")) < p["threshold"] - 1e-9)
        ]
        for r in hit.itertuples():
            rate = float(r.entry_rate)
            flags.append(
                _flag(
                    p,
                    unit_id=r.unit_id,
                    owner_id=r.unit_id,
                    metric="平台录入率",
                    value=rate,
                    threshold=p["threshold"],
                    value_text=(
                        f"平台录入率 {pct_short(rate)}（阈值 {pct_short(p['threshold'])}），"
                        f"{int(r.visits) - int(r.entered)} 次走访未录入"
                    ),
                    evidence=lambda lv=level, u=r.unit_id: _kind_evidence(scope_id, as_of, lv, u),
                    deadline=milestone.due_date if milestone else None,
                    weight=p["weight"],
                    magnitude=_shortfall(rate, p["threshold"]),
                )
            )
    return flags


# ── rules: materials ───────────────────────────────────────────────────────────────────

MATERIALS_EVIDENCE = {
    "indicator_code": "指标编号",
    "indicator_name": "台账",
    "required": "应报",
    "completed": "已完成",
    "completion_text": "完成率",
    "deadline": "截止日期",
    "days_left": "剩余天数",
    "updated_on": "填报日期",
}


def _materials_lines(scope_id: int, as_of: dt.date, within_days: int) -> list[dict]:
    rows = _rows(query("materials_lines", scope_id=scope_id, as_of=as_of))
    out = []
    for row in rows:
        if row["days_left"] > within_days:
            continue
        row["completion_rate"] = row["completed"] / row["required"]
        row["completion_text"] = pct_short(row["completion_rate"])
        out.append(row)
    return out


def _deadline_text(first: dict) -> str:
    days = int(first["days_left"])
    when = f"已过截止 {-days} 天" if days < 0 else ("今天截止" if days == 0 else f"{days} 天后截止")
    return f"最近一项 {first['deadline']}，{when}"


def _materials_flags(
    p: dict, lines: list[dict], metric: str, describe: Callable[[list[dict], float], str]
) -> list[Flag]:
    flags = []
    for unit_id, group in _groups(lines, "unit_id"):
        required = sum(int(r["required"]) for r in group)
        completed = sum(int(r["completed"]) for r in group)
        rate = completed / required if required else 0.0
        # lines come ordered by deadline: the first is the nearest
        flags.append(
            _flag(
                p,
                unit_id=unit_id,
                owner_id=unit_id,
                metric=metric,
                value=rate,
                threshold=p.get("threshold", 0.0),
                value_text=describe(group, rate),
                evidence=lambda g=group: _records(g, MATERIALS_EVIDENCE),
                deadline=group[0]["deadline"],
                weight=max(float(r["weight"]) for r in group),
                magnitude=_count_magnitude(len(group)),
            )
        )
    return flags


@rule(
    "materials_zero",
    "台账零报送",
    "red",
    within_days=Param("int", 30, 0, 365, "距截止日期多少天内（已过截止的也算）"),
)
def materials_zero(scope_id: int, as_of: dt.date, p: dict[str, Any]) -> list[Flag]:
    lines = _materials_lines(scope_id, as_of, p["within_days"])
    zero = [r for r in lines if r["completed"] == 0]
    return _materials_flags(
        p,
        zero,
        "台账完成率",
        lambda g, _rate: (
            f"{len(g)} 项台账完成率 0%（{p['within_days']} 天内截止或已过截止的），"
            f"{_deadline_text(g[0])}"
        ),
    )


@rule(
    "materials_behind",
    "台账临近截止完成率低",
    "orange",
    threshold=Param("rate", 0.5, help="完成率低于此值（0.5 = 50%）"),
    within_days=Param("int", 7, 0, 365, "距截止日期多少天内（已过截止的也算）"),
)
def materials_behind(scope_id: int, as_of: dt.date, p: dict[str, Any]) -> list[Flag]:
    lines = _materials_lines(scope_id, as_of, p["within_days"])
    low = [r for r in lines if r["completed"] > 0 and r["completion_rate"] < p["threshold"]]
    return _materials_flags(
        p,
        low,
        "台账完成率",
        lambda g, rate: (
            f"{len(g)} 项台账完成率低于 {pct_short(p['threshold'])}（合计 {pct_short(rate)}），"
            f"{_deadline_text(g[0])}"
        ),
    )


# ── rules: points ──────────────────────────────────────────────────────────────────────

POINT_EVIDENCE = {
    "indicator_code": "指标编号",
    "indicator_name": "静态指标",
    "checked_on": "最近检查",
    "problem_id": "问题编号",
}


@rule(
    "fixed_point_static_fail",
    "固定点位静态指标不达标",
    "orange",
    lookback_days=Param("int", 90, 1, 730, "只看最近多少天内的检查"),
    min_failed=Param("int", 1, 1, 100, "不达标静态指标达到几项"),
)
def fixed_point_static_fail(scope_id: int, as_of: dt.date, p: dict[str, Any]) -> list[Flag]:
    rows = _rows(
        query(
            "flag_point_failures", scope_id=scope_id, as_of=as_of, lookback_days=p["lookback_days"]
        )
    )
    flags = []
    deadline = _test_start(as_of)
    for point_id, group in _groups(rows, "point_id"):
        if len(group) < p["min_failed"]:
            continue
        first = group[0]
        names = "、".join(str(r["indicator_name"]) for r in group)
        flags.append(
            _flag(
                p,
                unit_id=first["unit_id"],
                owner_id=first["dept_id"],
                subject=str(point_id),
                metric="不达标静态指标数",
                value=float(len(group)),
                threshold=float(p["min_failed"]),
                value_text=f"{first['point_name']}（{first['point_type']}）：{names} 不达标",
                evidence=lambda g=group: _records(g, POINT_EVIDENCE),
                deadline=deadline,
                weight=max(float(r["weight"]) for r in group),
                magnitude=_count_magnitude(len(group)),
            )
        )
    return flags


RANDOM_POOL_EVIDENCE = {
    "point_name": "点位",
    "unit_name": "属地",
    "indicators_checked": "检查指标数",
    "indicators_failed": "不达标指标数",
    "last_checked": "最近检查",
}


def failed_draw_probability(pass_rate: float, draws: int) -> float:
    """P(at least one of `draws` randomly drawn points fails) = 1 − pass_rate^draws."""
    return 1.0 - pass_rate**draws


@rule(
    "random_pool_risk",
    "随机点位抽中易失分",
    "yellow",
    draws=Param("int", 3, 1, 100, "测评时每类点位预计抽取几个"),
    threshold=Param("rate", 0.8, help="至少抽中一个不达标点位的概率高于此值"),
    min_points=Param("int", 5, 1, 10000, "该类点位检查过的少于此数时不判断"),
    lookback_days=Param("int", 180, 7, 730, "只看最近多少天内的检查"),
    weight=Param("float", 10.0, 0.0, 100.0, "所影响指标的分值"),
)
def random_pool_risk(scope_id: int, as_of: dt.date, p: dict[str, Any]) -> list[Flag]:
    rows = _rows(
        query("flag_random_pool", scope_id=scope_id, as_of=as_of, lookback_days=p["lookback_days"])
    )
    flags = []
    deadline = _test_start(as_of)
    for point_type, group in _groups(rows, "point_type"):
        n = len(group)
        if n < p["min_points"]:
            continue
        passed = sum(1 for r in group if r["passed_all"])
        rate = passed / n
        risk = failed_draw_probability(rate, p["draws"])
        if risk <= p["threshold"]:
            continue
        depts = Counter(r["dept_id"] for r in group if r["dept_id"] is not None)
        owner = min(depts, key=lambda d: (-depts[d], d)) if depts else None
        failing = [r for r in group if not r["passed_all"]]

        def evidence(g: list[dict] = failing) -> tuple[dict, ...]:
            names = _unit_names()
            for r in g:
                r["unit_name"] = names.get(int(r["unit_id"]), str(r["unit_id"]))
            return _records(g, RANDOM_POOL_EVIDENCE)

        flags.append(
            _flag(
                p,
                unit_id=scope_id,
                owner_id=owner,
                subject=str(point_type),
                metric="抽中不达标概率",
                value=risk,
                threshold=p["threshold"],
                value_text=(
                    f"随机点位“{point_type}”达标 {passed}/{n}（{pct_short(rate)}），"
                    f"抽 {p['draws']} 个至少 1 个不达标的概率 {pct_short(risk)}"
                    f"（阈值 {pct_short(p['threshold'])}）"
                ),
                evidence=evidence,
                deadline=deadline,
                weight=p["weight"],
                magnitude=_shortfall(risk, p["threshold"]),
            )
        )
    return flags


# ── rules: surveys ─────────────────────────────────────────────────────────────────────

SURVEY_KINDS = {"phone": "电话调查", "questionnaire": "问卷调查"}


@rule(
    "survey_below_city",
    "调查单项低于全市",
    "orange",
    gap_points=Param("float", 3.0, 0.0, 100.0, "单项得分低于全市得分超过多少分"),
    levels=Param("levels", ["district", "street"], help="比较哪些层级的单位"),
    weight=Param("float", 10.0, 0.0, 100.0, "排序用分值（问卷指标取其自身分值中较大者）"),
)
def survey_below_city(scope_id: int, as_of: dt.date, p: dict[str, Any]) -> list[Flag]:
    """Each survey item of the city's newest phone / questionnaire wave on which a unit is
    more than gap_points below the city's own score (queries/survey_item_gaps.sql)."""
    flags = []
    for category, survey in SURVEY_KINDS.items():
        rows = query("survey_item_gaps", scope_id=scope_id, as_of=as_of, category=category)
        hit = rows[rows["kind"].isin(p["levels"]) & (rows["gap"] < -p["gap_points"])]
        for r in hit.itertuples():
            gap = float(r.gap)
            flags.append(
                _flag(
                    p,
                    unit_id=r.unit_id,
                    owner_id=r.unit_id,
                    subject=str(r.code),
                    metric=f"{survey}「{r.item_name}」与全市得分差",
                    value=gap,
                    threshold=-p["gap_points"],
                    value_text=(
                        f"{survey}「{r.item_name}」{_num(r.rate)} 分，低于全市得分 {_num(-gap)} 分"
                        f"（阈值 {_num(p['gap_points'])} 分）"
                    ),
                    evidence=(
                        {
                            "调查": str(r.assessment_name),
                            "项目": str(r.item_name),
                            "本单位得分": round(float(r.rate), 2),
                            "全市得分": round(float(r.city_rate), 2),
                            "分差": round(gap, 2),
                        },
                    ),
                    deadline=_test_start(as_of),
                    weight=max(p["weight"], float(r.weight)),
                    magnitude=min(0.999, -gap / 20),
                )
            )
    return flags


# ── evaluation ─────────────────────────────────────────────────────────────────────────


def _run_rule(
    cfg: RuleConfig, scope_id: int, as_of: dt.date, *, keys_only: bool = False
) -> list[Flag]:
    spec = RULES[cfg.rule_id]
    params = {
        **cfg.param_dict(),
        "_rule_id": cfg.rule_id,
        "_name": cfg.name,
        "_severity": cfg.severity,
        "_keys_only": keys_only,
    }
    return spec.run(scope_id, as_of, params)


_keys_memo: dict[tuple, frozenset] = register_memo({})
_KEYS_MEMO_MAX = 4096


def _keys_at(cfg: RuleConfig, scope_id: int, day: dt.date) -> frozenset:
    """The keys a rule flags at one earlier date (memoised per snapshot file)."""
    memo_key = (file_identity(), cfg, scope_id, day)
    keys = _keys_memo.get(memo_key)
    if keys is None:
        keys = frozenset(f.key for f in _run_rule(cfg, scope_id, day, keys_only=True))
        if len(_keys_memo) >= _KEYS_MEMO_MAX:
            _keys_memo.clear()
        _keys_memo[memo_key] = keys
    return keys


def _with_history(cfg: RuleConfig, scope_id: int, as_of: dt.date, flags: list[Flag]):
    """first_seen and weeks_red from re-running the rule at as_of − 7, −14, … days."""
    active = {f.key for f in flags}
    latest = _latest_overall(as_of, 3)
    first_seen = dict.fromkeys(active, as_of)
    weeks = dict.fromkeys(active, 1)
    by_assessments: dict[tuple[int, ...], frozenset] = {}
    for k in range(1, HISTORY_WEEKS + 1):
        if not active:
            break
        day = as_of - dt.timedelta(days=7 * k)
        if RULES[cfg.rule_id].scores_only:
            # a scores-only rule's keys depend on the latest assessments alone
            scored = tuple(_latest_overall(day, 3))
            if list(scored) == latest:
                seen = active  # same assessments scored, same answer
            elif scored in by_assessments:
                seen = by_assessments[scored]
            else:
                seen = by_assessments[scored] = _keys_at(cfg, scope_id, day)
        else:
            seen = _keys_at(cfg, scope_id, day)
        active = active & seen
        for key in active:
            weeks[key] += 1
            first_seen[key] = day
    return [replace(f, first_seen=first_seen[f.key], weeks_red=weeks[f.key]) for f in flags]


def evaluate(scope_id: int, as_of: dt.date, rules: RuleSet | None = None) -> list[Flag]:
    """Every flag of every enabled rule for the scope at as_of, highest priority first.

    Cached per snapshot file, scope, date and rule set."""
    if isinstance(as_of, dt.datetime):
        as_of = as_of.date()
    rules = rules or rules_or_last_good()[0]
    require_scope(int(scope_id))  # this cache sits above the query runner's access check
    return list(_evaluate_cached(file_identity(), int(scope_id), as_of, rules))


@st.cache_data(max_entries=256, show_spinner=False)
def _evaluate_cached(
    identity: FileIdentity, scope_id: int, as_of: dt.date, rules: RuleSet
) -> tuple[Flag, ...]:
    return tuple(_evaluate(scope_id, as_of, rules))


def _ranked_without_history(
    scope_id: int, as_of: dt.date, rules: RuleSet
) -> list[tuple[RuleConfig, Flag]]:
    """Every flag at as_of with its priority, highest first; first_seen / weeks_red not yet
    filled in (they never change the priority or the order)."""
    test = metrics.next_test(as_of)
    days = None if test is None else test.days_left
    out: list[tuple[RuleConfig, Flag]] = []
    for cfg in rules.enabled():
        for f in _run_rule(cfg, scope_id, as_of):
            f = replace(
                f, days_to_test=days, priority=priority(f.severity, f.weight, days, f.magnitude)
            )
            out.append((cfg, f))
    out.sort(key=lambda cf: _order(cf[1]))
    return out


def _order(f: Flag) -> tuple:
    return (-f.priority, f.rule_id, f.unit_id, f.owner_id or 0, f.metric)


def _with_histories(
    scope_id: int, as_of: dt.date, ranked: list[tuple[RuleConfig, Flag]]
) -> list[Flag]:
    """first_seen / weeks_red for the given flags (rule by rule), in the given order."""
    by_rule: dict[str, tuple[RuleConfig, list[Flag]]] = {}
    for cfg, f in ranked:
        by_rule.setdefault(cfg.rule_id, (cfg, []))[1].append(f)
    done: dict[int, Flag] = {}
    for cfg, rule_flags in by_rule.values():
        for before, after in zip(
            rule_flags, _with_history(cfg, scope_id, as_of, rule_flags), strict=True
        ):
            done[id(before)] = after
    return [done[id(f)] for _cfg, f in ranked]


def _evaluate(scope_id: int, as_of: dt.date, rules: RuleSet) -> list[Flag]:
    with as_of_batch(history_days(as_of)):
        return _with_histories(scope_id, as_of, _ranked_without_history(scope_id, as_of, rules))


def top_flags(scope_id: int, as_of: dt.date, n: int = 8) -> list[Flag]:
    """The n highest-priority flags (for the meeting view and the unit view).

    The same as evaluate(...)[:n], but the weekly history (the costly part: every rule
    re-run at up to HISTORY_WEEKS earlier dates) is worked out for those n flags only.
    """
    if isinstance(as_of, dt.datetime):
        as_of = as_of.date()
    rules = rules_or_last_good()[0]
    require_scope(int(scope_id))
    return list(_top_cached(file_identity(), int(scope_id), as_of, rules, int(n)))


@st.cache_data(max_entries=256, show_spinner=False)
def _top_cached(
    identity: FileIdentity, scope_id: int, as_of: dt.date, rules: RuleSet, n: int
) -> tuple[Flag, ...]:
    with as_of_batch(history_days(as_of)):
        ranked = _ranked_without_history(scope_id, as_of, rules)
        return tuple(_with_histories(scope_id, as_of, ranked[: max(n, 0)]))


def headline_flags(scope_id: int, as_of: dt.date, n: int = 8) -> list[Flag]:
    """The n most urgent distinct issues, for the meeting view.

    Flags of the same rule and the same 责任单位 are one issue in a meeting ("市交通运输局:
    严重问题逾期未整改, 胜利村等 12 处"), so they are merged into their highest-priority flag,
    whose unit_name then names the count. The order is the engine's priority order.
    """
    if isinstance(as_of, dt.datetime):
        as_of = as_of.date()
    rules = rules_or_last_good()[0]
    require_scope(int(scope_id))
    return list(_headline_cached(file_identity(), int(scope_id), as_of, rules, int(n)))


@st.cache_data(max_entries=256, show_spinner=False)
def _headline_cached(
    identity: FileIdentity, scope_id: int, as_of: dt.date, rules: RuleSet, n: int
) -> tuple[Flag, ...]:
    groups: dict[tuple[str, int | None], list[tuple[RuleConfig, Flag]]] = {}
    with as_of_batch(history_days(as_of)):
        for rule, flag in _ranked_without_history(scope_id, as_of, rules):
            groups.setdefault((flag.rule_id, flag.owner_id), []).append((rule, flag))
        heads = list(groups.values())[: max(n, 0)]
        with_history = _with_histories(scope_id, as_of, [members[0] for members in heads])
    merged = []
    for members, flag in zip(heads, with_history, strict=True):
        if len(members) > 1:
            flag = replace(flag, unit_name=f"{flag.unit_name}等 {len(members)} 处")
        merged.append(flag)
    return tuple(merged)


FRAME_COLUMNS = [f.name for f in fields(Flag)] + ["severity_label", "evidence_count"]


def flag_frame(scope_id: int, as_of: dt.date, rules: RuleSet | None = None) -> pd.DataFrame:
    """One row per flag (every Flag field, the Chinese severity and the evidence count)."""
    return flags_to_frame(evaluate(scope_id, as_of, rules))


def flags_to_frame(flags: list[Flag]) -> pd.DataFrame:
    rows = []
    for f in flags:
        row = {name.name: getattr(f, name.name) for name in fields(Flag)}
        row["severity_label"] = f.severity_label
        row["evidence_count"] = len(f.evidence)
        rows.append(row)
    return pd.DataFrame(rows, columns=FRAME_COLUMNS)


__all__ = [
    "Flag",
    "RuleSet",
    "RuleConfig",
    "RulesConfigError",
    "RULES",
    "evaluate",
    "flag_frame",
    "top_flags",
    "load_rules",
    "rules_or_last_good",
    "priority",
]
