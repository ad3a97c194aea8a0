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
               point check's or ledger line's indicator weight (summed over the evidence,
               capped at 40); a unit's overall score counts as 40; rules not tied to one
               indicator (visits, platform entry, random pool) use their `weight` setting
    closeness  1 + 2 · max(0, 1 − days_to_test / 60): ×3 on the first day of the next
               provincial/national test, ×1 when it is 60 or more days away or unknown
    magnitude  a tie-break in [0, 1): how far past the threshold (shortfall relative to the
               threshold, or n / (n + 5) for counts)

So a red flag always outranks an orange one of the same indicator weight and test date, and
the closer the test, the more every flag weighs.

first_seen / weeks_red: the same rule is re-evaluated at as_of − 7, −14, … (up to
HISTORY_WEEKS weeks back); weeks_red counts the consecutive weeks (this one included) in
which the same (rule, unit, owner) key was flagged, first_seen is the earliest as_of of
that run.
"""

from __future__ import annotations

import datetime as dt
import math
import threading
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import pandas as pd

from dashboard import metrics
from dashboard.db import ROOT

CONFIG_PATH = ROOT / "config" / "flags.toml"
SEVERITIES = ("red", "orange", "yellow")
SEVERITY_LABEL = {"red": "红", "orange": "橙", "yellow": "黄"}
SEVERITY_BASE = {"red": 100.0, "orange": 60.0, "yellow": 30.0}
MAX_WEIGHT = 40.0
CLOSENESS_DAYS = 60
HISTORY_WEEKS = 8
SCORE_LEVELS = ("district", "street", "community", "department")


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
    weight: float = 0.0
    magnitude: float = 0.0

    @property
    def key(self) -> tuple[str, int, int | None]:
        return (self.rule_id, self.unit_id, self.owner_id)

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


@dataclass(frozen=True)
class RuleSpec:
    rule_id: str
    name: str
    severity: str
    params: dict[str, Param]
    run: Callable[[int, dt.date, dict[str, Any]], list[Flag]]


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


def rule(rule_id: str, name: str, severity: str, **params: Param):
    """Register a rule function under rule_id with its default name, severity and params."""

    def register(func: Callable[[int, dt.date, dict[str, Any]], list[Flag]]):
        RULES[rule_id] = RuleSpec(rule_id, name, severity, params, func)
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
                    (k, tuple(p.default) if isinstance(p.default, list) else p.default)
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
            value = table.get(key, pspec.default)
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


def _pct(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "无数据"
    text = f"{value * 100:.1f}".rstrip("0").rstrip(".")
    return f"{text}%"


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


def _records(frame: pd.DataFrame, columns: dict[str, str]) -> tuple[dict, ...]:
    """Evidence rows: the named columns renamed to their Chinese headers, dates as dates."""
    out = []
    for row in frame[list(columns)].itertuples(index=False):
        record = {}
        for header, value in zip(columns.values(), row, strict=True):
            if isinstance(value, pd.Timestamp):
                value = value.date()
            elif value is not None and not isinstance(value, str | bool) and pd.isna(value):
                value = None
            elif hasattr(value, "item"):
                value = value.item()
            record[header] = value
        out.append(record)
    return tuple(out)


def _unit_names() -> dict[int, str]:
    units = metrics.units()
    return dict(zip(units["unit_id"].astype(int), units["name"], strict=True))


def _flag(
    cfg: dict[str, Any],
    *,
    unit_id: int,
    owner_id: int | None,
    metric: str,
    value: float | None,
    threshold: float | None,
    value_text: str,
    evidence: tuple[dict, ...] = (),
    deadline: dt.date | None = None,
    weight: float = 0.0,
    magnitude: float = 0.0,
) -> Flag:
    names = _unit_names()
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
    )


# ── rules: scores ──────────────────────────────────────────────────────────────────────


def _latest_overall(as_of: dt.date, n: int) -> list[int]:
    frame = metrics.scored_assessments(as_of, "overall")
    return [int(a) for a in frame["assessment_id"].head(n)]


@rule(
    "below_city_average",
    "低于全市平均",
    "orange",
    gap_points=Param("float", 5.0, 0.0, 100.0, "低于全市平均超过多少分"),
    levels=Param("levels", ["district", "street"], help="比较哪些层级的单位"),
)
def below_city_average(scope_id: int, as_of: dt.date, p: dict[str, Any]) -> list[Flag]:
    latest = _latest_overall(as_of, 1)
    if not latest:
        return []
    flags = []
    for level in p["levels"]:
        frame = metrics.unit_scores(scope_id, latest[0], level)
        hit = frame[frame["gap_to_city"].notna() & (frame["gap_to_city"] < -p["gap_points"])]
        for r in hit.itertuples():
            gap = float(r.gap_to_city)
            flags.append(
                _flag(
                    p,
                    unit_id=r.unit_id,
                    owner_id=r.unit_id,
                    metric="与全市平均分差",
                    value=gap,
                    threshold=-p["gap_points"],
                    value_text=(
                        f"得分 {_num(r.value)} 分，低于全市平均 {_num(-gap)} 分"
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
                    weight=MAX_WEIGHT,
                    magnitude=min(0.999, -gap / 20),
                )
            )
    return flags


def _assessment_name(assessment_id: int) -> str:
    frame = metrics.assessments()
    match = frame[frame["assessment_id"] == assessment_id]
    return str(match.iloc[0]["name"]) if len(match) else str(assessment_id)


def _test_start(as_of: dt.date) -> dt.date | None:
    test = metrics.next_test(as_of)
    return None if test is None else test.start_date


# ── evaluation ─────────────────────────────────────────────────────────────────────────


def _run_rule(cfg: RuleConfig, scope_id: int, as_of: dt.date) -> list[Flag]:
    spec = RULES[cfg.rule_id]
    params = {
        **cfg.param_dict(),
        "_rule_id": cfg.rule_id,
        "_name": cfg.name,
        "_severity": cfg.severity,
    }
    return spec.run(scope_id, as_of, params)


def _with_history(cfg: RuleConfig, scope_id: int, as_of: dt.date, flags: list[Flag]):
    """first_seen and weeks_red from re-running the rule at as_of − 7, −14, … days."""
    active = {f.key for f in flags}
    first_seen = dict.fromkeys(active, as_of)
    weeks = dict.fromkeys(active, 1)
    for k in range(1, HISTORY_WEEKS + 1):
        if not active:
            break
        day = as_of - dt.timedelta(days=7 * k)
        seen = {f.key for f in _run_rule(cfg, scope_id, day)}
        active = active & seen
        for key in active:
            weeks[key] += 1
            first_seen[key] = day
    return [replace(f, first_seen=first_seen[f.key], weeks_red=weeks[f.key]) for f in flags]


def evaluate(scope_id: int, as_of: dt.date, rules: RuleSet | None = None) -> list[Flag]:
    """Every flag of every enabled rule for the scope at as_of, highest priority first."""
    if isinstance(as_of, dt.datetime):
        as_of = as_of.date()
    rules = rules or rules_or_last_good()[0]
    test = metrics.next_test(as_of)
    days = None if test is None else test.days_left
    out: list[Flag] = []
    for cfg in rules.enabled():
        flags = _run_rule(cfg, scope_id, as_of)
        if not flags:
            continue
        for f in _with_history(cfg, scope_id, as_of, flags):
            out.append(
                replace(
                    f,
                    days_to_test=days,
                    priority=priority(f.severity, f.weight, days, f.magnitude),
                )
            )
    out.sort(key=lambda f: (-f.priority, f.rule_id, f.unit_id, f.owner_id or 0, f.metric))
    return out


def top_flags(scope_id: int, as_of: dt.date, n: int = 8) -> list[Flag]:
    """The n highest-priority flags (for the meeting view and the unit view)."""
    return evaluate(scope_id, as_of)[:n]


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
