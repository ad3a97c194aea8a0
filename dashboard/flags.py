"""红旗清单: the red-flag engine — what will lose points at the next test, whose it is, how urgent.

A rule is a SQL file plus its entry in `config/flags.toml`. The file,
`queries/flag_rule_<rule_id>.sql`, decides what is flagged: over `$days` (a DATE[]) and
`$scope_id`, with the rule's thresholds as `$params`, it returns one row per flag and day
(as_of, unit_id, owner_id, subject and the numbers the flag shows), for the whole scope
at once. The toml switches each rule on or off and sets its Chinese name, severity and
thresholds (`load_rules`). This module registers each rule's params and a `word`
function that turns one row at as_of into a Flag (Chinese value text, evidence read at
as_of only); it orders the flags and counts their weeks. The meeting view, the unit view,
周报 and the 红旗清单 page all read `evaluate` / `top_flags` / `headline_flags` /
`flag_frame`; nothing else decides what is a red flag.

Scope: a flag belongs to the scope the query was asked for. Most rules flag a unit or a
point in the subtree whatever the scope; four depend on the scope itself — the count of
overdue problems per 责任单位 and of rebounds per point count only the scope's problems,
bottom_of_level ranks within the scope's units of a level, random_pool_risk flags the
scope on its points. Their queries (and the evidence queries they read) take a list of
scopes, `$scope_ids`, and return a `scope_id` column, so one query answers every scope
(`rows_by_scope`): for one scope at a replayed date, for all of them when a snapshot is
written (`_precompute`).

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
the closer the test, the more every flag weighs. Ties keep the rules' order in the toml and
each query's row order.

first_seen / weeks_red: each rule's query is asked for as_of and the HISTORY_WEEKS weekly
dates before it in one go (`history_days`); weeks_red counts the consecutive weeks (this
one included) in which the same (rule, unit, owner, subject) key was flagged, first_seen is
the earliest as_of of that run.
"""

from __future__ import annotations

import collections.abc
import contextlib
import datetime as dt
import functools
import hashlib
import json
import logging
import operator
import re
import threading
import tomllib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dashboard import labels, metrics, status
from dashboard.components.text import pct_short
from dashboard.db import (
    ROOT,
    FileIdentity,
    file_identity,
    per_snapshot,
    query,
    query_many,
    query_rows,
    query_soon,
    register_memo,
    require_scope,
    result_cache,
    run_query,
    sql_text,
)

CONFIG_PATH = ROOT / "config" / "flags.toml"
SEVERITIES = ("red", "orange", "yellow")
SEVERITY_LABEL = {"red": "红", "orange": "橙", "yellow": "黄"}
SEVERITY_BASE = {"red": 100.0, "orange": 60.0, "yellow": 30.0}
MAX_WEIGHT = 40.0
CLOSENESS_DAYS = 60
HISTORY_WEEKS = 8


def history_days(as_of: dt.date) -> list[dt.date]:
    """as_of and the HISTORY_WEEKS weekly dates before it: the days an evaluation reads
    (each rule's query runs once for all of them)."""
    return [as_of - dt.timedelta(days=7 * k) for k in range(HISTORY_WEEKS + 1)]


@functools.lru_cache(maxsize=64)
def _history_before(as_of: dt.date) -> tuple[dt.date, ...]:
    """history_days(as_of) without as_of itself (asked once per flag)."""
    return tuple(history_days(as_of)[1:])


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
    """A rule: its query `queries/flag_rule_<id>.sql` decides what is flagged (at every
    day of a list, for the whole scope at once); `word` turns one of its rows at as_of
    into a Flag (Chinese value text, evidence)."""

    rule_id: str
    name: str
    severity: str
    params: dict[str, Param]
    word: Callable[[Context, dict], Flag]

    @property
    def query(self) -> str:
        return f"flag_rule_{self.rule_id}"

    def query_params(self, cfg: RuleConfig) -> dict[str, Any]:
        """The thresholds the query takes: every param but `weight` (priority only); a
        threshold that is a status line of config/status.toml also passes the metric's
        displayed precision as `$<param>_digits`, so the rule judges the value as shown,
        as the status of the same number does."""
        out = {k: v for k, v in cfg.params if k != "weight"}
        for key, spec in self.params.items():
            if spec.status_line is not None:
                out[f"{key}_digits"] = status.rule(spec.status_line[0]).digits
        return out


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
    """Register a rule's wording function under rule_id with its default name, severity
    and params; what it flags is decided by queries/flag_rule_<rule_id>.sql."""

    def register(func: Callable[[Context, dict], Flag]):
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
    return _parsed_rules(text, str(path))


@functools.lru_cache(maxsize=8)
def _parsed_rules(text: str, path: str) -> RuleSet:
    """The rules of one text of the file (a page asks for the rules in force several
    times: the file is read each time, parsed once per text; RuleSet is immutable). An
    error is raised again for the same text (lru_cache keeps no exception)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RulesConfigError(
            f"红旗规则配置文件 {Path(path).name} 格式错误（TOML）：{exc}"
        ) from exc
    return parse_rules(data, path)


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
        missing = series.isna()
        if missing.any():
            series = series.astype(object).where(~missing, None)
        columns.append(series.tolist())
    names = [str(c) for c in frame.columns]
    return [dict(zip(names, values, strict=True)) for values in zip(*columns, strict=True)]


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
    names: dict[int, str] | None = None,
    **ranked: Any,
) -> Flag:
    """Build one flag (evidence may be given as a function that returns it); `ranked`:
    its days_to_test, priority, weeks_red and first_seen when the caller knows them."""
    if names is None:
        names = _unit_names()
    if callable(evidence):
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
        **ranked,
    )


@dataclass
class Context:
    """One rule's evaluation at one scope and date: its settings (`p`, with _rule_id,
    _name, _severity) and the evidence rows read for it (once, at as_of only). `scopes`
    are the scopes evaluated together with this one: an evidence query over a list of
    scopes is read once for all of them (`shared`, one dict per date) and sliced."""

    scope_id: int
    as_of: dt.date
    p: dict[str, Any]
    memo: dict[Any, Any]
    scopes: tuple[int, ...] = ()
    shared: dict[Any, Any] = field(default_factory=dict)
    # set by the evaluation (_generate_scopes): the next test's distance and the keys
    # flagged at each history day, so `flag` gives each flag its priority and streak
    days_to_test: int | None = None
    flagged: dict[dt.date, set] | None = None
    # set for a page's live evaluation: evidence read from queries is read when first
    # opened (LiveEvidence), not while the flags are made
    deferred: _Deferred | None = None

    def flag(self, row: dict, **fields_: Any) -> Flag:
        """A flag of this rule for a query row (its unit, owner and subject), with its
        priority, weeks_red and first_seen when the evaluation gave `flagged`."""
        if self.flagged is None:
            return _flag(
                self.p,
                unit_id=row["unit_id"],
                owner_id=row["owner_id"],
                subject=str(row["subject"]),
                **fields_,
            )
        if "names" not in self.memo:
            self.memo["names"] = _unit_names()
        evidence = fields_.get("evidence")
        if self.deferred is not None and callable(evidence):
            fields_["evidence"] = LiveEvidence(self.deferred, evidence)
        weeks, first_seen = _streak(_key(self.p["_rule_id"], row), self.as_of, self.flagged)
        left = self.days_to_test
        return _flag(
            self.p,
            unit_id=row["unit_id"],
            owner_id=row["owner_id"],
            subject=str(row["subject"]),
            names=self.memo["names"],
            days_to_test=left,
            priority=priority(
                self.p["_severity"],
                float(fields_.get("weight", 0.0)),
                left,
                float(fields_.get("magnitude", 0.0)),
            ),
            weeks_red=weeks,
            first_seen=first_seen,
            **fields_,
        )

    def assessment_name(self, assessment_id: int) -> str:
        """An assessment's name (the names read once per rule and date)."""
        if "assessments" not in self.memo:
            self.memo["assessments"] = _names("assessments")
        names = self.memo["assessments"]
        return names.get(int(assessment_id), str(assessment_id))

    def test_start(self) -> dt.date | None:
        """_test_start(as_of), looked up once per rule and date (not once per flag)."""
        if "test_start" not in self.memo:
            self.memo["test_start"] = _test_start(self.as_of)
        return self.memo["test_start"]

    def grouped(self, key: Any, rows: list[dict], by: Callable[[dict], Any]) -> dict[Any, list]:
        """`rows` grouped by `by` (in their order), once per evaluation under memo `key`:
        each flag then takes its own group instead of scanning every row (at a province's
        root, thousands of flags × thousands of evidence rows)."""
        if key not in self.memo:
            groups: dict[Any, list] = {}
            for row in rows:
                groups.setdefault(by(row), []).append(row)
            self.memo[key] = groups
        return self.memo[key]

    def evidence_rows(self, name: str, **params: Any) -> list[dict]:
        """Rows of an evidence query at as_of alone (not the history days), read once."""
        key = (name, tuple(sorted(params.items())))
        if key not in self.memo:
            if takes_scope_list(name):
                if key not in self.shared:
                    scopes = self.scopes or (self.scope_id,)
                    self.shared[key] = rows_by_scope(name, scopes, days=(self.as_of,), **params)
                # copies: the wording functions add columns to their rows
                self.memo[key] = [dict(row) for row in self.shared[key][self.scope_id]]
            else:
                # one conversion per evaluation, whichever rules read it (materials_lines)
                shared_key = (self.scope_id, *key)
                if shared_key not in self.shared:
                    frame = query(name, scope_id=self.scope_id, days=(self.as_of,), **params)
                    self.shared[shared_key] = _rows(frame)
                self.memo[key] = [dict(row) for row in self.shared[shared_key]]
        return self.memo[key]


class _Deferred:
    """One live evaluation's evidence reads, run when a page first opens a flag's evidence:
    the evidence queries of the rules that fired all at once (db.query_many, as _prefetch
    would have), then each flag's rows as it is opened. One lock for the evaluation: its
    rules' contexts share rows, and its flags are shared by every page that finds them in
    the cache."""

    __slots__ = ("_reads", "lock")

    def __init__(self) -> None:
        self._reads: list[tuple[str, dict]] | None = []
        self.lock = threading.RLock()

    def add(self, reads: list[tuple[str, dict]]) -> None:
        with self.lock:
            if self._reads is not None:
                self._reads.extend(reads)

    def run(self, make: Callable[[], tuple[dict, ...]]) -> tuple[dict, ...]:
        with self.lock:
            if self._reads is not None:
                reads, self._reads = self._reads, None
                query_many(_unique(reads))
            return tuple(make())


class _Wanted(threading.local):
    evidence: bool = False


_wanted = _Wanted()


@contextlib.contextmanager
def evidence_wanted() -> Iterator[None]:
    """Inside this block, a live evaluation on this thread starts each fired rule's evidence
    queries as soon as the rule's rows are in (db.query_soon), so they run while the later
    rules are worded: for a page that opens every flag's evidence (红旗清单 counts them).
    The flags and their LiveEvidence are the same; only when the queries run differs."""
    before, _wanted.evidence = _wanted.evidence, True
    try:
        yield
    finally:
        _wanted.evidence = before


def _unique(reads: list[tuple[str, dict]]) -> list[tuple[str, dict]]:
    """The query requests once each, in their order."""
    out: dict[tuple, tuple[str, dict]] = {}
    for name, params in reads:
        out.setdefault((name, tuple(sorted(params.items()))), (name, params))
    return list(out.values())


class LiveEvidence(collections.abc.Sequence):
    """A live flag's evidence rows, read when first used (len, iteration, indexing,
    comparison); equal to the tuple of those rows, as a stored flag's StoredEvidence is.
    Read with the access of whoever opens it, who was let see the flag's scope."""

    __slots__ = ("_deferred", "_make", "_rows")

    def __init__(self, deferred: _Deferred, make: Callable[[], tuple[dict, ...]]) -> None:
        self._deferred: _Deferred | None = deferred
        self._make: Callable[[], tuple[dict, ...]] | None = make
        self._rows: tuple | None = None

    def _decoded(self) -> tuple:
        if self._rows is None:
            deferred, make = self._deferred, self._make
            if deferred is not None and make is not None:
                with deferred.lock:
                    if self._rows is None:
                        self._rows = deferred.run(make)
                        self._deferred = self._make = None  # let the evaluation go
        return self._rows  # type: ignore[return-value]

    def __getitem__(self, index):  # type: ignore[override]
        return self._decoded()[index]

    def __len__(self) -> int:
        return len(self._decoded())

    def __iter__(self):
        return iter(self._decoded())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, LiveEvidence | StoredEvidence | tuple):
            return self._decoded() == tuple(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment] - rows are dicts, as in a tuple of dicts

    def __repr__(self) -> str:
        return repr(self._decoded())


_SCOPE_LIST = re.compile(r"\$scope_ids\b")


def takes_scope_list(name: str) -> bool:
    """True when queries/<name>.sql is written over a list of scopes ($scope_ids, an
    INTEGER[], returning `scope_id`): asked once for many scopes (the precomputation of
    every scope) or for one."""
    return _SCOPE_LIST.search(sql_text(name)) is not None


def rows_by_scope(name: str, scope_ids: tuple[int, ...], **params: Any) -> dict[int, list[dict]]:
    """scope → the rows of queries/<name>.sql for it: one query for all the scopes when
    the query takes a list of them, else one per scope."""
    if not takes_scope_list(name):
        return {s: _rows(query(name, scope_id=s, **params)) for s in scope_ids}
    for scope_id in scope_ids:
        require_scope(scope_id)  # the query runner checks $scope_id, not $scope_ids
    out: dict[int, list[dict]] = {s: [] for s in scope_ids}
    for row in _rows(query(name, scope_ids=tuple(scope_ids), **params)):
        out[row["scope_id"]].append(row)
    return out


# ── rules: scores ──────────────────────────────────────────────────────────────────────


@per_snapshot
def _test_start(as_of: dt.date) -> dt.date | None:
    """The next test's first day (memoised per snapshot: rules ask once per flag)."""
    test = metrics.next_test(as_of)
    return None if test is None else test.start_date


@rule(
    "below_city_average",
    "低于全市得分",
    "orange",
    gap_points=Param("float", 5.0, 0.0, 100.0, "低于全市得分超过多少分"),
    levels=Param("levels", ["district", "street"], help="比较哪些层级的单位"),
    weight=Param("float", 20.0, 0.0, 100.0, "所影响指标的分值（综合得分按 20 计）"),
)
def below_city_average(c: Context, r: dict) -> Flag:
    p, gap = c.p, float(r["gap"])
    return c.flag(
        r,
        metric="与全市得分差",
        value=gap,
        threshold=-p["gap_points"],
        value_text=(
            f"得分 {_num(r['value'])} 分，低于全市得分 {_num(-gap)} 分"
            f"（阈值 {_num(p['gap_points'])} 分）"
        ),
        evidence=(
            {
                "测评": c.assessment_name(r["assessment_id"]),
                "本单位得分": float(r["value"]),
                "全市得分": float(r["city_value"]),
                "分差": round(gap, 2),
            },
        ),
        deadline=c.test_start(),
        weight=p["weight"],
        magnitude=min(0.999, -gap / 20),
    )


@rule(
    "score_fell_twice",
    "连续两次测评下降",
    "red",
    min_drop=Param("float", 0.0, 0.0, 100.0, "每次至少下降多少分才算下降"),
    levels=Param("levels", ["district", "street"], help="比较哪些层级的单位"),
    weight=Param("float", 20.0, 0.0, 100.0, "所影响指标的分值（综合得分按 20 计）"),
)
def score_fell_twice(c: Context, r: dict) -> Flag:
    v0, v1, v2 = float(r["v0"]), float(r["v1"]), float(r["v2"])
    drop = v0 - v2
    return c.flag(
        r,
        metric="综合测评得分",
        value=v2,
        threshold=v1,
        value_text=(
            f"得分 {_num(v0)} → {_num(v1)} → {_num(v2)} 分，连续两次下降，共降 {_num(drop)} 分"
        ),
        evidence=tuple(
            {"测评": c.assessment_name(a), "得分": v}
            for a, v in ((r["a0"], v0), (r["a1"], v1), (r["a2"], v2))
        ),
        deadline=c.test_start(),
        weight=c.p["weight"],
        magnitude=min(0.999, drop / 20),
    )


@rule(
    "bottom_of_level",
    "同级排名倒数",
    "yellow",
    n=Param("int", 3, 1, 50, "倒数几名"),
    min_units=Param("int", 6, 2, 1000, "同级单位少于此数时不排倒数"),
    levels=Param("levels", ["street"], help="在哪些层级内排名"),
    weight=Param("float", 20.0, 0.0, 100.0, "所影响指标的分值（综合得分按 20 计）"),
)
def bottom_of_level(c: Context, r: dict) -> Flag:
    p = c.p
    rank, worst, ranked = int(r["rank"]), int(r["worst"]), int(r["ranked_units"])
    level = p["levels"][int(r["level_pos"]) - 1]
    from_bottom = worst - rank + 1
    return c.flag(
        r,
        metric="同级排名",
        value=float(rank),
        threshold=float(worst - p["n"] + 1),
        value_text=(
            f"得分 {_num(r['value'])} 分，{ranked} 个{LEVEL_LABEL.get(level, level)}中第 {rank} 名"
            f"（倒数第 {from_bottom} 名，阈值 倒数 {p['n']} 名）"
        ),
        evidence=(
            {
                "测评": c.assessment_name(r["assessment_id"]),
                "得分": float(r["value"]),
                "名次": rank,
                "参与排名单位数": ranked,
            },
        ),
        deadline=c.test_start(),
        weight=p["weight"],
        magnitude=min(0.999, 1 / from_bottom / 2),
    )


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


def _overdue(c: Context) -> list[dict]:
    """The scope's overdue problems at as_of (flag_overdue_problems), as evidence rows."""
    key = "overdue"
    if key not in c.memo:
        rows = c.evidence_rows("flag_overdue_problems")
        for row in rows:
            row["severity_label"] = labels.label(labels.SEVERITY, row["severity"])
            row["owner_id"] = row["dept_id"] if row["dept_id"] is not None else row["unit_id"]
        c.memo[key] = rows
    return c.memo[key]


@rule(
    "overdue_severe",
    "严重问题逾期未整改",
    "red",
    min_days=Param("int", 1, 1, 365, "逾期至少几天"),
)
def overdue_severe(c: Context, r: dict) -> Flag:
    days = int(r["days_overdue"])
    return c.flag(
        r,
        metric="逾期天数",
        value=float(days),
        threshold=float(c.p["min_days"]),
        value_text=(
            f"严重问题 {r['subject']}（{r['category'] or '未分类'}）逾期 {days} 天，"
            f"时限 {r['deadline']}"
        ),
        evidence=lambda: _records(
            c.grouped("overdue_by_problem", _overdue(c), lambda o: str(o["problem_id"])).get(
                r["subject"], []
            ),
            PROBLEM_EVIDENCE,
        ),
        deadline=r["deadline"],
        weight=float(r["weight"]),
        magnitude=_count_magnitude(days),
    )


@rule(
    "overdue_problems",
    "问题逾期未整改（不含严重）",
    "orange",
    min_count=Param("int", 3, 1, 10000, "同一责任单位逾期问题（严重问题除外）达到几个"),
)
def overdue_problems(c: Context, r: dict) -> Flag:
    n = int(r["overdue"])
    return c.flag(
        r,
        metric="逾期问题数",
        value=float(n),
        threshold=float(c.p["min_count"]),
        value_text=(
            f"逾期未整改（不含严重）{n} 个（阈值 {c.p['min_count']} 个），"
            f"最长逾期 {int(r['longest_days'])} 天"
        ),
        evidence=lambda: _records(
            [
                o
                for o in c.grouped("overdue_by_owner", _overdue(c), lambda o: o["owner_id"]).get(
                    r["owner_id"], []
                )
                if o["severity"] != "severe"
            ],
            PROBLEM_EVIDENCE,
        ),
        deadline=r["deadline"],
        weight=float(r["weight"]),
        magnitude=_count_magnitude(n),
    )


def _members(scope_id: int) -> dict[int, set[int]]:
    frame = query("flag_unit_members", scope_id=scope_id)
    out: dict[int, set[int]] = {}
    for unit_id, member_id in zip(frame["unit_id"], frame["member_id"], strict=True):
        out.setdefault(int(unit_id), set()).add(int(member_id))
    return out


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
def rectification_below(c: Context, r: dict) -> Flag:
    p, rate = c.p, float(r["rate"])

    def evidence() -> tuple[dict, ...]:
        mine = _members(c.scope_id).get(int(r["unit_id"]), {int(r["unit_id"])})
        by_unit = c.grouped("overdue_by_unit", _overdue(c), lambda o: o["unit_id"])
        by_dept = c.grouped("overdue_by_dept", _overdue(c), lambda o: o["dept_id"])
        picked = {id(o) for m in mine for o in (*by_unit.get(m, ()), *by_dept.get(m, ()))}
        rows = [o for o in _overdue(c) if id(o) in picked]  # in their order, each once
        return _records(rows, PROBLEM_EVIDENCE)

    return c.flag(
        r,
        metric="整改率",
        value=rate,
        threshold=p["threshold"],
        value_text=(
            f"整改率 {pct_short(rate)}（阈值 {pct_short(p['threshold'])}），"
            f"已整改 {r['rectified']}/{r['found']}，逾期 {r['overdue']} 个"
        ),
        evidence=evidence,
        deadline=r["deadline"],
        weight=p["weight"],
        magnitude=_shortfall(rate, p["threshold"]),
    )


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
def rebound_point(c: Context, r: dict) -> Flag:
    p, n, still_open = c.p, int(r["rebounds"]), int(r["still_open"])

    def evidence() -> tuple[dict, ...]:
        rows = c.evidence_rows("flag_rebounds", lookback_days=p["lookback_days"])
        mine = c.grouped("by_point", rows, lambda o: str(o["point_id"])).get(r["subject"], [])
        for o in mine:
            o["status_text"] = "已整改" if o["is_rectified"] else "未整改"
        return _records(mine, REBOUND_EVIDENCE)

    return c.flag(
        r,
        metric="反弹次数",
        value=float(n),
        threshold=float(p["min_rebounds"]),
        value_text=(
            f"{r['point_name']}：近 {p['lookback_days']} 天反弹 {n} 次"
            f"（阈值 {p['min_rebounds']} 次）"
            + (f"，{still_open} 个仍未整改" if still_open else "")
        ),
        evidence=evidence,
        deadline=r["deadline"],
        weight=float(r["weight"]),
        magnitude=_count_magnitude(n),
    )


# ── rules: visits ──────────────────────────────────────────────────────────────────────


def _kind_evidence(c: Context, unit_id: int) -> tuple[dict, ...]:
    """Per subject kind: target, covered, pace, visits and entry of one flagged unit (from
    one coverage frame per unit kind under the scope, read once per evaluation)."""
    kind = _unit_kinds().get(unit_id)
    key = ("kind_evidence", c.scope_id, kind)  # shared: coverage_behind and platform_entry
    if key not in c.shared:
        level = kind if kind in metrics.LEVELS else "self"
        per_unit: dict[int, list[dict]] = {}
        frame = metrics.coverage(c.scope_id, c.as_of, level, by_kind=True)
        for r in frame.itertuples():
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
        c.shared[key] = per_unit
    return tuple(dict(row) for row in c.shared[key].get(unit_id, ()))


@per_snapshot
def _unit_kinds() -> dict[int, str]:
    frame = metrics.units()
    return dict(zip(frame["unit_id"].astype(int), frame["kind"].astype(str), strict=True))


@rule(
    "coverage_behind",
    "走访进度赶不上节点",
    "red",
    levels=Param("levels", ["district", "street"], help="判断哪些层级的单位"),
    weight=Param("float", 10.0, 0.0, 100.0, "所影响指标的分值（走访关系问卷知晓率）"),
)
def coverage_behind(c: Context, r: dict) -> Flag:
    projected, share = float(r["projected_rate"]), float(r["target_share"])
    needed = r["daily_needed"]
    needed_text = "" if needed is None else f"，每天需新增 {_num(needed, 1)} 个"
    return c.flag(
        r,
        metric="预计走访覆盖率",
        value=projected,
        threshold=share,
        value_text=(
            f"按近14天进度，{r['deadline']} 预计覆盖率 {pct_short(projected)}"
            f"（节点目标 {pct_short(share)}）{needed_text}"
        ),
        evidence=lambda: _kind_evidence(c, int(r["unit_id"])),
        deadline=r["deadline"],
        weight=c.p["weight"],
        magnitude=_shortfall(projected, share),
    )


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
def platform_entry_lagging(c: Context, r: dict) -> Flag:
    p, rate = c.p, float(r["rate"])
    return c.flag(
        r,
        metric="平台录入率",
        value=rate,
        threshold=p["threshold"],
        value_text=(
            f"平台录入率 {pct_short(rate)}（阈值 {pct_short(p['threshold'])}），"
            f"{int(r['visits']) - int(r['entered'])} 次走访未录入"
        ),
        evidence=lambda: _kind_evidence(c, int(r["unit_id"])),
        deadline=r["deadline"],
        weight=p["weight"],
        magnitude=_shortfall(rate, p["threshold"]),
    )


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


def _materials_evidence(c: Context, unit_id: int, keep: Callable[[dict], bool]) -> tuple:
    lines = []
    rows = c.evidence_rows("materials_lines")
    for row in c.grouped("by_unit", rows, lambda o: o["unit_id"]).get(unit_id, []):
        if row["days_left"] > c.p["within_days"]:
            continue
        row["completion_rate"] = row["completed"] / row["required"]
        row["completion_text"] = pct_short(row["completion_rate"])
        if keep(row):
            lines.append(row)
    return _records(lines, MATERIALS_EVIDENCE)


def _deadline_text(deadline: dt.date, days: int) -> str:
    when = f"已过截止 {-days} 天" if days < 0 else ("今天截止" if days == 0 else f"{days} 天后截止")
    return f"最近一项 {deadline}，{when}"


def _materials_flag(c: Context, r: dict, value_text: str, keep: Callable[[dict], bool]) -> Flag:
    required, completed = int(r["required"]), int(r["completed"])
    return c.flag(
        r,
        metric="台账完成率",
        value=completed / required if required else 0.0,
        threshold=c.p.get("threshold", 0.0),
        value_text=value_text,
        evidence=lambda: _materials_evidence(c, int(r["unit_id"]), keep),
        deadline=r["deadline"],
        weight=float(r["weight"]),
        magnitude=_count_magnitude(int(r["lines"])),
    )


@rule(
    "materials_zero",
    "台账零报送",
    "red",
    within_days=Param("int", 30, 0, 365, "距截止日期多少天内（已过截止的也算）"),
)
def materials_zero(c: Context, r: dict) -> Flag:
    text = (
        f"{int(r['lines'])} 项台账完成率 0%（{c.p['within_days']} 天内截止或已过截止的），"
        f"{_deadline_text(r['deadline'], int(r['days_left']))}"
    )
    return _materials_flag(c, r, text, lambda line: line["completed"] == 0)


@rule(
    "materials_behind",
    "台账临近截止完成率低",
    "orange",
    threshold=Param("rate", 0.5, help="完成率低于此值（0.5 = 50%）"),
    within_days=Param("int", 7, 0, 365, "距截止日期多少天内（已过截止的也算）"),
)
def materials_behind(c: Context, r: dict) -> Flag:
    threshold = c.p["threshold"]
    rate = int(r["completed"]) / int(r["required"])
    text = (
        f"{int(r['lines'])} 项台账完成率低于 {pct_short(threshold)}（合计 {pct_short(rate)}），"
        f"{_deadline_text(r['deadline'], int(r['days_left']))}"
    )
    return _materials_flag(
        c, r, text, lambda line: line["completed"] > 0 and line["completion_rate"] < threshold
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
def fixed_point_static_fail(c: Context, r: dict) -> Flag:
    n = int(r["failed"])
    names = "、".join(str(name) for name in r["indicator_names"])

    def evidence() -> tuple[dict, ...]:
        rows = c.evidence_rows("flag_point_failures", lookback_days=c.p["lookback_days"])
        by_point = c.grouped("by_point", rows, lambda o: str(o["point_id"]))
        return _records(by_point.get(r["subject"], []), POINT_EVIDENCE)

    return c.flag(
        r,
        metric="不达标静态指标数",
        value=float(n),
        threshold=float(c.p["min_failed"]),
        value_text=f"{r['point_name']}（{r['point_type']}）：{names} 不达标",
        evidence=evidence,
        deadline=c.test_start(),
        weight=float(r["weight"]),
        magnitude=_count_magnitude(n),
    )


RANDOM_POOL_EVIDENCE = {
    "point_name": "点位",
    "unit_name": "属地",
    "indicators_checked": "检查指标数",
    "indicators_failed": "不达标指标数",
    "last_checked": "最近检查",
}


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
def random_pool_risk(c: Context, r: dict) -> Flag:
    p, risk, rate = c.p, float(r["risk"]), float(r["pass_rate"])

    def evidence() -> tuple[dict, ...]:
        rows = c.evidence_rows("flag_random_pool", lookback_days=p["lookback_days"])
        by_type = c.grouped("by_type", rows, lambda o: o["point_type"])
        failing = [o for o in by_type.get(r["subject"], []) if not o["passed_all"]]
        names = _unit_names()
        for o in failing:
            o["unit_name"] = names.get(int(o["unit_id"]), str(o["unit_id"]))
        return _records(failing, RANDOM_POOL_EVIDENCE)

    return c.flag(
        r,
        metric="抽中不达标概率",
        value=risk,
        threshold=p["threshold"],
        value_text=(
            f"随机点位“{r['subject']}”达标 {int(r['passed'])}/{int(r['points'])}"
            f"（{pct_short(rate)}），抽 {p['draws']} 个至少 1 个不达标的概率 {pct_short(risk)}"
            f"（阈值 {pct_short(p['threshold'])}）"
        ),
        evidence=evidence,
        deadline=c.test_start(),
        weight=p["weight"],
        magnitude=_shortfall(risk, p["threshold"]),
    )


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
def survey_below_city(c: Context, r: dict) -> Flag:
    """A unit's items in the city's newest phone / questionnaire wave that are more than
    gap_points below the city's own score, one flag per unit and survey
    (queries/flag_rule_survey_below_city.sql); the items are its evidence."""
    p, gap, category = c.p, float(r["gap"]), str(r["category"])
    survey = SURVEY_KINDS[category]

    def evidence() -> tuple[dict, ...]:
        rows = c.evidence_rows("survey_item_gaps", category=category)
        mine = [
            {
                "调查": str(o["assessment_name"]),
                "项目": str(o["item_name"]),
                "本单位得分": round(float(o["rate"]), 2),
                "全市得分": round(float(o["city_rate"]), 2),
                "分差": round(float(o["gap"]), 2),
            }
            for o in c.grouped(("by_unit", category), rows, lambda o: int(o["unit_id"])).get(
                int(r["unit_id"]), []
            )
            if float(o["gap"]) < -p["gap_points"]
        ]
        return tuple(sorted(mine, key=lambda e: e["分差"]))

    return c.flag(
        r,
        metric=f"{survey}单项与全市得分差",
        value=gap,
        threshold=-p["gap_points"],
        value_text=(
            f"{survey} {int(r['items'])} 项低于全市得分超过 {_num(p['gap_points'])} 分，"
            f"最低「{r['item_name']}」{_num(r['rate'])} 分，低于全市 {_num(-gap)} 分"
        ),
        evidence=evidence,
        deadline=c.test_start(),
        weight=max(p["weight"], float(r["weight"])),
        magnitude=min(0.999, -gap / 20),
    )


# ── evaluation ─────────────────────────────────────────────────────────────────────────


def _key(rule_id: str, row: dict) -> tuple[str, int, int | None, str]:
    owner = row["owner_id"]
    return (
        rule_id,
        int(row["unit_id"]),
        None if owner is None else int(owner),
        str(row["subject"]),
    )


def rule_rows(cfg: RuleConfig, scope_id: int, days: list[dt.date]) -> list[dict]:
    """What one rule flags at each of `days` under the scope: one query for all days."""
    return rule_rows_by_scope(cfg, (scope_id,), days)[scope_id]


def rule_rows_by_scope(
    cfg: RuleConfig, scope_ids: tuple[int, ...], days: list[dt.date]
) -> dict[int, list[dict]]:
    """rule_rows for several scopes: one query for all of them when the rule's query takes
    a list of scopes (the scope-dependent rules), else one per scope."""
    spec = RULES[cfg.rule_id]
    return rows_by_scope(spec.query, scope_ids, days=tuple(days), **spec.query_params(cfg))


def _rule_request(name: str, params: dict, scope_id: int) -> tuple[str, dict]:
    """The (name, params) of queries/<name>.sql for one scope, as the query takes it."""
    key = "scope_ids" if takes_scope_list(name) else "scope_id"
    return name, {**params, key: (scope_id,) if key == "scope_ids" else scope_id}


def _rule_requests(
    configs: list[RuleConfig], scope_id: int, days: list[dt.date]
) -> list[tuple[str, dict]]:
    """The rules' queries for one scope over `days`: one request per rule."""
    return [
        _rule_request(
            RULES[cfg.rule_id].query,
            {"days": tuple(days), **RULES[cfg.rule_id].query_params(cfg)},
            scope_id,
        )
        for cfg in configs
    ]


def live_requests(
    scope_id: int, as_of: dt.date, rules: RuleSet | None = None
) -> list[tuple[str, dict]]:
    """The rule queries `evaluate(scope_id, as_of)` will run (each rule over as_of and its
    history days) when it computes the scope's flags live — a replayed date — and has not
    yet; [] when it reads them from the snapshot or from this process's cache (or the
    rules file is broken: the evaluation reports it). A page
    starts them with its own queries (db.query_soon), so they run while it works; the
    evaluation then takes their results."""
    if isinstance(as_of, dt.datetime):
        as_of = as_of.date()
    try:
        rules = rules or rules_or_last_good()[0]
    except RulesConfigError:  # left for the evaluation to report
        return []
    scope_id = int(scope_id)
    require_scope(scope_id)
    day = serving_day(as_of, rules)
    if (file_identity(), scope_id, day, rules) in _evaluate_cached or _held(scope_id, day, rules):
        return []
    days = sorted(set(history_days(day)), reverse=True)
    return _rule_requests(list(rules.enabled()), scope_id, days)


def start_live(scope_id: int, as_of: dt.date) -> None:
    """Start live_requests on the query workers (db.query_soon): a page calls this first
    and evaluates later."""
    query_soon(live_requests(scope_id, as_of))


def _prefetch(
    configs: list[RuleConfig], scope_id: int, days: list[dt.date], as_ofs: list[dt.date]
) -> Callable[[RuleConfig], list[tuple[str, dict]]]:
    """Start the rules' queries for one scope at once (db.query_soon: a page evaluating
    its scope live waits for the slowest queries, not for their sum) and return `reads`:
    reads(cfg) waits for that rule's query only and gives the evidence queries its rows
    call for (EVIDENCE_READ), so each rule is worded while the later ones still run."""
    require_scope(scope_id)

    def request(name: str, params: dict) -> tuple[str, dict]:
        return _rule_request(name, params, scope_id)

    futures = dict(
        zip(
            [cfg.rule_id for cfg in configs],
            query_soon(_rule_requests(configs, scope_id, days)),
            strict=True,
        )
    )

    def reads(cfg: RuleConfig) -> list[tuple[str, dict]]:
        frame = futures[cfg.rule_id].result()
        read = EVIDENCE_READ.get(cfg.rule_id)
        if read is None or frame.empty:
            return []
        out = []
        stamps = pd.to_datetime(frame["as_of"]).dt.date.to_numpy()
        for as_of in as_ofs:
            mine = stamps == as_of
            if not mine.any():
                continue
            for name, params in read(cfg.param_dict(), frame[mine]):
                # a query over days is asked for as_of alone; one taking as_of as is
                day = {} if "as_of" in params else {"days": (as_of,)}
                out.append(request(name, {**params, **day}))
        return out

    return reads


# Which evidence queries a rule's wording reads (Context.evidence_rows) when it fired, from
# its settings and its query's rows (a DataFrame) at one date: read ahead by _prefetch only — a rule missing here,
# or a wrong guess, costs a query run later or one run for nothing, never a wrong flag.
def _lookback(name: str) -> Callable[[dict, pd.DataFrame], list[tuple[str, dict]]]:
    return lambda p, rows: [(name, {"lookback_days": p["lookback_days"]})]


def _coverage_reads(p: dict, rows: pd.DataFrame) -> list[tuple[str, dict]]:
    """The coverage counts _kind_evidence reads (metrics.coverage by kind) for the flagged
    units' levels at the rows' as_of."""
    as_of = pd.Timestamp(rows["as_of"].iloc[0]).date()
    campaign = metrics.campaign_at(as_of)
    if campaign is None:
        return []
    kinds = _unit_kinds()
    levels = {kinds.get(int(u)) for u in rows["unit_id"]}
    return [
        ("coverage_counts", {"level": level, "as_of": as_of, "campaign_id": campaign.campaign_id})
        for level in sorted({k if k in metrics.LEVELS else "self" for k in levels})
    ]


EVIDENCE_READ: dict[str, Callable[[dict, pd.DataFrame], list[tuple[str, dict]]]] = {
    "overdue_severe": lambda p, rows: [("flag_overdue_problems", {})],
    "overdue_problems": lambda p, rows: [("flag_overdue_problems", {})],
    "rectification_below": lambda p, rows: [("flag_overdue_problems", {})],
    "rebound_point": _lookback("flag_rebounds"),
    "coverage_behind": _coverage_reads,
    "platform_entry_lagging": _coverage_reads,
    "materials_zero": lambda p, rows: [("materials_lines", {})],
    "materials_behind": lambda p, rows: [("materials_lines", {})],
    "fixed_point_static_fail": _lookback("flag_point_failures"),
    "random_pool_risk": _lookback("flag_random_pool"),
    "survey_below_city": lambda p, rows: [
        ("survey_item_gaps", {"category": c}) for c in sorted({str(c) for c in rows["category"]})
    ],
}


def _streak(key: tuple, as_of: dt.date, flagged: dict[dt.date, set]) -> tuple[int, dt.date]:
    """weeks_red and first_seen: the weeks in a row, back from as_of, the key was flagged."""
    weeks, first_seen = 1, as_of
    for day in _history_before(as_of):
        if key not in flagged.get(day, ()):
            break
        weeks, first_seen = weeks + 1, day
    return weeks, first_seen


Generated = tuple[Flag, int, int]  # a flag with its rule's position and its row's


def _generate(
    scope_id: int,
    as_of: dt.date,
    rules: RuleSet,
    keep: Callable[[RuleConfig], bool] = lambda cfg: True,
    lazy: bool = False,
) -> list[Generated]:
    """Every flag at as_of of the enabled rules that `keep`, in the rules' and rows' order,
    with priority, weeks_red and first_seen (`lazy`: see _generate_scopes)."""
    return _generate_days(scope_id, [as_of], rules, keep, lazy)[as_of]


def _generate_days(
    scope_id: int,
    as_ofs: list[dt.date],
    rules: RuleSet,
    keep: Callable[[RuleConfig], bool] = lambda cfg: True,
    lazy: bool = False,
) -> dict[dt.date, list[Generated]]:
    """_generate at several dates, each rule's query asked once for all their history."""
    return _generate_scopes((scope_id,), as_ofs, rules, keep, lazy)[scope_id]


def _generate_scopes(
    scope_ids: tuple[int, ...],
    as_ofs: list[dt.date],
    rules: RuleSet,
    keep: Callable[[RuleConfig], bool] = lambda cfg: True,
    lazy: bool = False,
) -> dict[int, dict[dt.date, list[Generated]]]:
    """_generate_days for several scopes, each as if asked alone: a rule whose query takes
    a list of scopes is asked once for all of them (and its evidence read once per date).

    `lazy` (a page's own scope, live): the evidence a rule reads from queries is not read
    here; each such flag's evidence is a LiveEvidence, read for the whole evaluation when
    a page first opens one (the meeting board, 本单位 and 周报 never do)."""
    days = sorted({d for as_of in as_ofs for d in history_days(as_of)}, reverse=True)
    out = {s: {as_of: [] for as_of in as_ofs} for s in scope_ids}
    days_left = {}
    for as_of in as_ofs:
        test = metrics.next_test(as_of)
        days_left[as_of] = None if test is None else test.days_left
    shared: dict[dt.date, dict] = {as_of: {} for as_of in as_ofs}
    kept = [cfg for cfg in rules.enabled() if keep(cfg)]
    deferred, reads = None, None
    if len(scope_ids) == 1:  # a page's own scope (a replayed date): the rules side by side
        reads = _prefetch(kept, scope_ids[0], days, as_ofs)
        if lazy:
            deferred = _Deferred()  # each rule's evidence reads added as it is worded
        else:  # every evidence query read ahead, at once, before the wording
            query_many(_unique([r for c in kept for r in reads(c)]))
    for rule_pos, cfg in enumerate(rules.enabled()):
        if not keep(cfg):
            continue
        spec = RULES[cfg.rule_id]
        params = {
            **cfg.param_dict(),
            "_rule_id": cfg.rule_id,
            "_name": cfg.name,
            "_severity": cfg.severity,
        }
        if deferred is not None and reads is not None:
            fired = reads(cfg)  # waits for this rule's query only
            deferred.add(fired)
            if fired and _wanted.evidence:  # a page that reads them all: start them now
                query_soon(_unique(fired))
        frames = _frames_by_scope(spec.query, scope_ids, days=tuple(days), **spec.query_params(cfg))
        for scope_id, frame in frames.items():
            flagged, now = _flagged_and_rows(cfg.rule_id, frame, as_ofs)
            for as_of, rows in now.items():
                context = Context(
                    scope_id,
                    as_of,
                    params,
                    {},
                    scope_ids,
                    shared[as_of],
                    days_left[as_of],
                    flagged,
                    deferred,
                )
                # each flag made once, with its priority and streak (Context.flag)
                out[scope_id][as_of].extend(
                    (spec.word(context, row), rule_pos, row_pos) for row_pos, row in enumerate(rows)
                )
    return out


def _frames_by_scope(
    name: str, scope_ids: tuple[int, ...], **params: Any
) -> dict[int, pd.DataFrame]:
    """rows_by_scope as frames: scope → its rows of queries/<name>.sql, in their order."""
    if not takes_scope_list(name):
        return {s: query(name, scope_id=s, **params) for s in scope_ids}
    for scope_id in scope_ids:
        require_scope(scope_id)  # the query runner checks $scope_id, not $scope_ids
    frame = query(name, scope_ids=tuple(scope_ids), **params)
    parts = dict(iter(frame.groupby("scope_id", sort=False)))  # each keeps its rows' order
    return {s: parts[s] if s in parts else frame.iloc[0:0] for s in scope_ids}


def _flagged_and_rows(
    rule_id: str, frame: pd.DataFrame, as_ofs: list[dt.date]
) -> tuple[dict[dt.date, set], dict[dt.date, list[dict]]]:
    """A rule's rows over its days: the keys flagged at each day (for weeks_red, read
    from the columns) and, as dicts (_rows), only the rows at the days evaluated."""
    now: dict[dt.date, list[dict]] = {as_of: [] for as_of in as_ofs}
    if frame.empty:
        return {}, now
    # each row's day: the distinct days converted once (not every row's stamp)
    codes, uniques = pd.factorize(frame["as_of"])
    day_of = [pd.Timestamp(u).date() for u in uniques]
    stamps = [day_of[c] for c in codes.tolist()]

    def plain(column: str) -> list:  # as _rows gives them: missing as None
        series = frame[column]
        values = series.tolist()
        missing = series.isna().to_numpy()
        if missing.any():
            for i in np.flatnonzero(missing).tolist():
                values[i] = None
        return values

    flagged: dict[dt.date, set] = {}
    for day, unit_id, owner_id, subject in zip(
        stamps, plain("unit_id"), plain("owner_id"), plain("subject"), strict=True
    ):
        key = (rule_id, int(unit_id), None if owner_id is None else int(owner_id), str(subject))
        flagged.setdefault(day, set()).add(key)
    wanted_days = set(as_ofs)
    wanted = np.array([day_of[i] in wanted_days for i in range(len(day_of))], dtype=bool)
    wanted = wanted[codes] if len(day_of) else np.zeros(len(codes), dtype=bool)
    if wanted.any():
        for row in _rows(frame[wanted]):
            now[row["as_of"]].append(row)
    return flagged, now


def _ranked(generated: list[Generated]) -> list[Generated]:
    """Highest priority first; ties in the rules' order, then their rows' order."""
    return sorted(generated, key=lambda g: (_order(g[0]), g[1], g[2]))


def _evaluate(scope_id: int, as_of: dt.date, rules: RuleSet) -> list[Flag]:
    stored = stored_flags(scope_id, as_of, rules)
    if stored is None:
        # a page's own evaluation: evidence read when a page opens it (LiveEvidence)
        return [f for f, *_ in _ranked(_generate(scope_id, as_of, rules, lazy=True))]
    return [f for f, *_ in stored]


def _order(f: Flag) -> tuple:
    return (-f.priority, f.rule_id, f.unit_id, f.owner_id or 0, f.metric)


def evaluate(scope_id: int, as_of: dt.date, rules: RuleSet | None = None) -> list[Flag]:
    """Every flag of every enabled rule for the scope at as_of, highest priority first —
    or, while today's flags (real data) are computed in the background, the previous
    day's (`evaluate_served` says which day a page shows).

    Cached per snapshot file, scope, date and rule set."""
    return evaluate_served(scope_id, as_of, rules)[0]


def evaluate_served(
    scope_id: int, as_of: dt.date, rules: RuleSet | None = None
) -> tuple[list[Flag], dt.date]:
    """evaluate, and the day the flags are of: as_of, or the day `serving_day` serves
    instead while as_of (today) is being computed — a page labels such flags."""
    if isinstance(as_of, dt.datetime):
        as_of = as_of.date()
    rules = rules or rules_or_last_good()[0]
    require_scope(int(scope_id))  # this cache sits above the query runner's access check
    day = serving_day(as_of, rules)
    return list(_evaluate_cached(file_identity(), int(scope_id), day, rules)), day


def evaluate_days(
    scope_id: int, days: list[dt.date], rules: RuleSet | None = None
) -> list[list[Flag]]:
    """evaluate(scope_id, day) for each day; the days the snapshot does not hold (a
    replayed week) are computed together, each rule's query asked once for all their
    history days (周报 compares a week's end with the week before: ten days, not 2 × 9)."""
    rules = rules or rules_or_last_good()[0]
    require_scope(int(scope_id))
    identity = file_identity()
    served = sorted(
        {serving_day(d.date() if isinstance(d, dt.datetime) else d, rules) for d in days}
    )
    missing = [
        d
        for d in served
        if (identity, int(scope_id), d, rules) not in _evaluate_cached
        and not _held(int(scope_id), d, rules)
    ]
    if len(missing) > 1:
        for day, generated in _generate_days(int(scope_id), missing, rules, lazy=True).items():
            found = tuple(f for f, *_ in _ranked(generated))
            _evaluate_cached.put((identity, int(scope_id), day, rules), found)
    return [evaluate(scope_id, d, rules) for d in days]


@result_cache(max_entries=256)
def _evaluate_cached(
    identity: FileIdentity, scope_id: int, as_of: dt.date, rules: RuleSet
) -> tuple[Flag, ...]:
    """Evaluations kept in this process (db.result_cache: no st.cache_data pickling of a
    thousand flags with their evidence; concurrent misses of one key evaluate once). The
    flags are frozen and shared, so callers must not change them."""
    return tuple(_evaluate(scope_id, as_of, rules))


def top_flags(scope_id: int, as_of: dt.date, n: int = 8) -> list[Flag]:
    """The n highest-priority flags (for the meeting view and the unit view)."""
    return evaluate(scope_id, as_of)[: max(int(n), 0)]


def headline_flags(scope_id: int, as_of: dt.date, n: int = 8) -> list[Flag]:
    """The n most urgent distinct issues, for the meeting view.

    Flags of the same rule and the same 责任单位 are one issue in a meeting ("市交通运输局:
    严重问题逾期未整改, 胜利村等 12 处"), so they are merged into their highest-priority flag,
    whose unit_name then names the count. The order is the engine's priority order.
    """
    stored = _stored_headlines(scope_id, as_of, n)
    if stored is not None:
        return stored
    groups: dict[tuple[str, int | None], list[Flag]] = {}
    for flag in evaluate(scope_id, as_of):
        groups.setdefault((flag.rule_id, flag.owner_id), []).append(flag)
    merged = []
    for members in list(groups.values())[: max(int(n), 0)]:
        flag = members[0]
        if len(members) > 1:
            flag = replace(flag, unit_name=f"{flag.unit_name}等 {len(members)} 处")
        merged.append(flag)
    return merged


def _stored_headlines(scope_id: int, as_of: dt.date, n: int) -> list[Flag] | None:
    """headline_flags from the scope's precomputed flags (queries/flag_headlines.sql: the
    first n issues' leading flags and sizes, not the whole list), when evaluate would read
    them there and has not read them yet; None otherwise (the caller merges evaluate's)."""
    if isinstance(as_of, dt.datetime):
        as_of = as_of.date()
    rules = rules_or_last_good()[0]
    require_scope(int(scope_id))
    day = serving_day(as_of, rules)
    fingerprint = rules_fingerprint(rules)
    if (
        (file_identity(), int(scope_id), day, rules) in _evaluate_cached
        or int(scope_id) not in precomputed_scopes()
        or (day, fingerprint) not in _stored_days()
    ):
        return None
    names, rows = query_rows(
        "flag_headlines", day=day, rules=fingerprint, scope_id=int(scope_id), n=max(int(n), 0)
    )
    size = names.index("group_size")
    merged = []
    for (flag, *_), row in zip(_stored_rows(names, rows), rows, strict=True):
        if row[size] > 1:
            flag = replace(flag, unit_name=f"{flag.unit_name}等 {row[size]} 处")
        merged.append(flag)
    return merged


# ── precomputed when a snapshot is written ─────────────────────────────────────────────
#
# store.write_snapshot evaluates every rule (with the rules in force) for every scope a user
# can pick (`precomputed_scopes`: each root and every unit of a filters.SCOPE_KINDS kind
# under it) at the snapshot's default date and its default week's two ends (周报), and
# stores each scope's ranked flags in the derived table flag_snapshot
# (dashboard/derived.sql). A root's flags are its own evaluation; another scope's are the
# root's flags on units or owners in the scope's subtree — the same flags the rule queries
# give for that scope — except the scope-dependent rules', which are evaluated for every
# such scope at once (their queries take a list of scopes: one query per rule, not one per
# scope). evaluate() at one of those dates, with the same rules, at one of those scopes,
# reads the scope's rows: a filter. A failed evaluation refuses the snapshot.

# Rules whose flags depend on the scope asked for, not only on the units in it (module
# docstring): evaluated for each scope, never taken from the root's flags.
SCOPE_DEPENDENT = frozenset(
    {"overdue_problems", "rebound_point", "random_pool_risk", "bottom_of_level"}
)


def scope_dependent(cfg: RuleConfig) -> bool:
    # level 'self' flags the scope unit itself, so such a rule depends on the scope too
    # (its query takes one scope: precomputed with one query per scope)
    return cfg.rule_id in SCOPE_DEPENDENT or "self" in dict(cfg.params).get("levels", ())


def rules_fingerprint(rules: RuleSet) -> str:
    """Identifies the rules' settings (not where they were read from)."""
    return hashlib.sha256(repr(rules.rules).encode("utf-8")).hexdigest()[:16]


def snapshot_days(as_of: dt.date) -> list[dt.date]:
    """The dates precomputed: the default date and the default week's end and the one
    before (the 周报 page compares them)."""
    from dashboard import weekly

    week = weekly.recent_weeks(as_of, 1)[0]
    return sorted({as_of, week.end, week.prev_end})


SNAPSHOT_COLUMNS = [
    "as_of", "rules", "scope_id", "rank", "rule_pos", "row_pos",
    *(f.name for f in fields(Flag)),
]  # fmt: skip


SNAPSHOT_BATCH = 200  # scopes evaluated, written and let go together (store.precompute_flags)


def snapshot_frames(as_of: dt.date, batch: int = SNAPSHOT_BATCH) -> Iterator[pd.DataFrame]:
    """The rows of flag_snapshot for the snapshot being written (store.write_snapshot
    reads the new file for each step and writes each frame before asking for the next):
    the roots' flags are evaluated first and kept, then the scopes, ascending, `batch` at
    a time — each batch's scope-dependent flags evaluated, its rows made (evidence as JSON
    text) and handed out — so a build holds one batch's rows, not every scope's. The rows
    are those of _precompute; each step reads the snapshot afresh (file_identity), so the
    caller may close its connection between steps."""
    rules = rules_or_last_good()[0]
    fingerprint = rules_fingerprint(rules)
    days = snapshot_days(as_of)
    roots = _roots()
    root_flags = _root_flags(days, rules)
    holders = _holders(roots)
    scopes = sorted(set(roots) | {s for _, held in holders for s in _held_scopes(held)})
    # a root flag's evidence text (by id: the flags live as long as this), whatever the batch
    root_texts = {
        id(g[0]): _evidence_json(g[0].evidence)
        for by_root in root_flags.values()
        for generated in by_root.values()
        for g in generated
    }
    for start in range(0, len(scopes), batch):
        chosen = scopes[start : start + batch]
        part = _scope_flags(
            tuple(s for s in chosen if s not in roots), days, rules, root_flags, holders
        )
        for day in days:
            part[day].update((r, root_flags[day][r]) for r in chosen if r in roots)
        yield _snapshot_rows(part, fingerprint, root_texts)
        del part


def _snapshot_rows(
    by_day: dict[dt.date, dict[int, list[Generated]]], fingerprint: str, texts: dict[int, str]
) -> pd.DataFrame:
    """flag_snapshot's rows of these scopes' flags, in (as_of, scope_id, rank) order.
    texts: the evidence text of flags that outlive this call (the roots'), by id()."""
    names = [f.name for f in fields(Flag)]
    own: dict[int, str] = {}  # one text per flag, however many scopes show it
    columns: dict[str, list] = {name: [] for name in SNAPSHOT_COLUMNS}  # not a dict per row
    for day, by_scope in by_day.items():
        for scope_id in sorted(by_scope):
            for rank, (f, rule_pos, row_pos) in enumerate(by_scope[scope_id], start=1):
                for name, value in (
                    ("as_of", day),
                    ("rules", fingerprint),
                    ("scope_id", scope_id),
                    ("rank", rank),
                    ("rule_pos", rule_pos),
                    ("row_pos", row_pos),
                ):
                    columns[name].append(value)
                for name in names:
                    columns[name].append(getattr(f, name))
                text = texts.get(id(f)) or own.get(id(f))
                if text is None:
                    text = own[id(f)] = _evidence_json(f.evidence)
                columns["evidence"][-1] = text
    return pd.DataFrame(columns, columns=SNAPSHOT_COLUMNS)


@per_snapshot
def precomputed_scopes() -> frozenset[int]:
    """The scopes whose flags are precomputed: every unit a user can pick as a scope
    (filters.SCOPE_KINDS) and every root."""
    from dashboard.filters import SCOPE_KINDS

    units = metrics.units()
    picked = units["kind"].isin(SCOPE_KINDS) | units["parent_id"].isna()
    return frozenset(int(u) for u in units.loc[picked, "unit_id"])


def _precompute(as_ofs: list[dt.date], rules: RuleSet) -> dict[dt.date, dict[int, list[Generated]]]:
    """day → scope → ranked flags, for every precomputed scope: every rule for each root;
    for the other scopes the root's flags in their subtree but the scope-dependent rules',
    and those rules evaluated for all of them at once."""
    roots = _roots()
    out = _root_flags(as_ofs, rules)
    holders = _holders(roots)
    others = tuple(sorted(precomputed_scopes() - set(roots)))
    for day, by_scope in _scope_flags(others, as_ofs, rules, out, holders).items():
        out[day].update(by_scope)
    return out


def _root_flags(as_ofs: list[dt.date], rules: RuleSet) -> dict[dt.date, dict[int, list[Generated]]]:
    """day → root → its ranked flags (every rule)."""
    out: dict[dt.date, dict[int, list[Generated]]] = {day: {} for day in as_ofs}
    for root in _roots():
        for day, generated in _generate_days(root, as_ofs, rules).items():
            out[day][root] = _ranked(generated)
    return out


Holders = list[tuple[int, dict[int, frozenset[int]]]]  # root → unit → scopes holding it


def _holders(roots: tuple[int, ...]) -> Holders:
    """For each root, which precomputed scopes (not a root) hold each unit under it."""
    others = frozenset(precomputed_scopes() - set(roots))
    return [(root, _scopes_holding(root, others)) for root in roots]


def _held_scopes(held: dict[int, frozenset[int]]) -> set[int]:
    return {s for scopes in held.values() for s in scopes}


def _scope_flags(
    scope_ids: tuple[int, ...],
    as_ofs: list[dt.date],
    rules: RuleSet,
    root_flags: dict[dt.date, dict[int, list[Generated]]],
    holders: Holders,
) -> dict[dt.date, dict[int, list[Generated]]]:
    """day → scope → ranked flags for these scopes (none a root): their root's flags on
    units or owners in their subtree but the scope-dependent rules', and those rules
    evaluated for these scopes at once. A scope under no root gets none."""
    own = _generate_scopes(scope_ids, as_ofs, rules, keep=scope_dependent)
    dependent = {cfg.rule_id for cfg in rules.enabled() if scope_dependent(cfg)}
    wanted = frozenset(scope_ids)
    out: dict[dt.date, dict[int, list[Generated]]] = {day: {} for day in as_ofs}
    for root, scopes_of in holders:
        under = sorted(_held_scopes(scopes_of) & wanted)
        for day in as_ofs:
            shares: dict[int, list[Generated]] = {s: [] for s in under}
            for g in root_flags[day][root]:
                f = g[0]
                if f.rule_id in dependent:
                    continue
                held = scopes_of.get(f.unit_id, frozenset())
                if f.owner_id is not None:
                    held = held | scopes_of.get(f.owner_id, frozenset())
                for scope_id in held & wanted:
                    shares[scope_id].append(g)
            for scope_id in under:
                out[day][scope_id] = _ranked(shares[scope_id] + own[scope_id][day])
    return out


def _scopes_holding(root: int, scopes: frozenset[int]) -> dict[int, frozenset[int]]:
    """unit → the scopes among `scopes` whose subtree holds it, for the units under root."""
    frame = query("flag_unit_members", scope_id=root)
    out: dict[int, set[int]] = {}
    for scope_id, unit_id in zip(
        frame["unit_id"].tolist(), frame["member_id"].tolist(), strict=True
    ):
        if scope_id in scopes:
            out.setdefault(unit_id, set()).add(scope_id)
    return {u: frozenset(s) for u, s in out.items()}


def stored_flags(scope_id: int, as_of: dt.date, rules: RuleSet) -> list[Generated] | None:
    """The scope's precomputed flags (ranked) at as_of with these rules: the snapshot's,
    or a day this process computed (`_in_memory`); None when there are none (another
    date, other rules, a scope that is not precomputed, an older snapshot)."""
    fingerprint = rules_fingerprint(rules)
    stored = _stored(scope_id, as_of, fingerprint)
    if stored:
        return stored
    # no rows: a scope without flags, or one that is not precomputed, or another day
    if scope_id not in precomputed_scopes():
        return None
    if (as_of, fingerprint) in _stored_days():
        return []
    computed = _in_memory(as_of, fingerprint)
    return None if computed is None else computed.get(scope_id, [])


def _held(scope_id: int, as_of: dt.date, rules: RuleSet) -> bool:
    """True when stored_flags finds the scope's flags for as_of (the snapshot's, or a day
    this process computed), told without reading them."""
    if scope_id not in precomputed_scopes():
        return False
    fingerprint = rules_fingerprint(rules)
    return (as_of, fingerprint) in _stored_days() or _in_memory(as_of, fingerprint) is not None


def snapshot_fingerprint(scope_id: int, days: Iterable[dt.date], rules: RuleSet) -> str | None:
    """The rules' fingerprint when `evaluate` serves the scope's flags at every one of
    `days` from the snapshot's flag_snapshot rows (a query may then read them there, as
    周报's week-over-week changes do); None when any is computed (not stored)."""
    if scope_id not in precomputed_scopes():
        return None
    fingerprint = rules_fingerprint(rules)
    stored = _stored_days()
    for day in days:
        if serving_day(day, rules) != day or (day, fingerprint) not in stored:
            return None
    return fingerprint


# Real data's default date is today, which moves on without a new snapshot. A day the
# snapshot does not hold, when it is today, is evaluated once per process, for every
# precomputed scope, in a background thread started by the first request that asks for it
# (`serving_day`); until it is done every page is served the latest earlier day that is
# precomputed (the snapshot's, or the day before computed by this process), and says so.


def _today() -> dt.date:
    return dt.date.today()


_FAILED: dict[int, list[Generated]] = {}  # a day whose background evaluation failed
_days: dict[tuple, dict[int, list[Generated]] | None] = register_memo({})
_days_lock = threading.Lock()


def serving_day(as_of: dt.date, rules: RuleSet) -> dt.date:
    """The day whose flags `evaluate` gives for as_of: as_of itself, except while as_of is
    today, not in the snapshot and being computed in the background (started here, once
    per process and snapshot): then the latest earlier day precomputed. With none (the
    rules changed since the snapshot) or when the background evaluation failed, as_of:
    pages compute their own scope from the rule queries."""
    if as_of != _today():
        return as_of
    fingerprint = rules_fingerprint(rules)
    if (as_of, fingerprint) in _stored_days():
        return as_of
    computed = _today_in_background(as_of, rules, fingerprint)
    if computed is not None:
        return as_of
    identity = file_identity()
    with _days_lock:
        ready = {k[1] for k, v in _days.items() if k[0] == identity and k[2] == fingerprint and v}
    ready |= {day for day, rules_id in _stored_days() if rules_id == fingerprint}
    earlier = [day for day in ready if day < as_of]
    return max(earlier) if earlier else as_of


def served_note(
    as_of: dt.date, rules: RuleSet | None = None, day: dt.date | None = None
) -> str | None:
    """What a page says above flags served from an earlier day (`day`, by default
    `serving_day`) while as_of's are computed; None when the flags are as_of's."""
    if day is None:
        day = serving_day(as_of, rules or rules_or_last_good()[0])
    if day == as_of:
        return None
    return f"以下为 {day:%m-%d} 的红旗，今日（{as_of:%m-%d}）结果计算中，稍后刷新页面即可看到。"


def _in_memory(as_of: dt.date, fingerprint: str) -> dict[int, list[Generated]] | None:
    """A day this process evaluated in the background (None: not, or not yet, or failed)."""
    with _days_lock:
        computed = _days.get((file_identity(), as_of, fingerprint))
    return None if computed is None or computed is _FAILED else computed


def _today_in_background(
    as_of: dt.date, rules: RuleSet, fingerprint: str
) -> dict[int, list[Generated]] | None:
    """Today's flags for every precomputed scope, computed once per process and snapshot
    in a background thread (the first request of the day starts it); None until done.
    Only the newest finished day is kept besides it (served meanwhile)."""
    key = (file_identity(), as_of, fingerprint)
    with _days_lock:
        if key in _days:
            return _days[key]
        finished = [k for k, v in _days.items() if k[0] == key[0] and k[2] == fingerprint and v]
        newest = max(finished, key=lambda k: k[1], default=None)
        for old in [k for k in _days if k[0] != key[0] or (k[2] == fingerprint and k != newest)]:
            del _days[old]
        _days[key] = None  # being computed

    def work() -> None:
        try:
            result = _precompute([as_of], rules)[as_of]
        except Exception:  # noqa: BLE001 - pages then compute their own scope
            logging.getLogger(__name__).exception("today's flags failed")
            result = _FAILED
        with _days_lock:
            if key in _days:
                _days[key] = result

    threading.Thread(target=work, name="cw-flags-today", daemon=True).start()
    return None


@per_snapshot
def _stored_days() -> frozenset[tuple[dt.date, str]]:
    """(date, rules fingerprint) of every evaluation the snapshot holds."""
    frame = query("flag_snapshot_days")
    days = pd.to_datetime(frame["as_of"]).dt.date
    return frozenset(zip(days, frame["rules"], strict=True))


def _stored(scope_id: int, as_of: dt.date, fingerprint: str) -> list[Generated]:
    """One scope's precomputed flags, ranked (the query runner checks the scope).

    Read as plain rows (db.query_rows: no DataFrame for a few thousand flags at a
    province's root), each flag built from its row, its evidence decoded only when a
    page looks at it (StoredEvidence): the meeting board and 周报 never do."""
    names, rows = query_rows("flag_snapshot", day=as_of, rules=fingerprint, scope_id=scope_id)
    return _stored_rows(names, rows)


def _stored_rows(names: list[str], rows: list[tuple]) -> list[Generated]:
    """Flags built from flag_snapshot rows (flag_snapshot.sql's columns)."""
    at = {name: i for i, name in enumerate(names)}
    rule_pos, row_pos, evidence, count = (
        at["rule_pos"], at["row_pos"], at["evidence"], at["evidence_count"],
    )  # fmt: skip
    plain = [(f.name, at[f.name]) for f in fields(Flag) if f.name != "evidence"]
    out: list[Generated] = []
    for row in rows:
        values = {name: row[i] for name, i in plain}
        values["evidence"] = StoredEvidence(row[evidence], row[count])
        out.append((Flag(**values), int(row[rule_pos]), int(row[row_pos])))
    return out


class StoredEvidence(collections.abc.Sequence):
    """A stored flag's evidence rows (JSON, _evidence_json), decoded on first use; equal
    to the tuple of those rows, as a computed flag's evidence is."""

    __slots__ = ("_text", "_rows", "_count")

    def __init__(self, text: str | _EvidenceRef, count: int | None = None) -> None:
        self._text = text  # or a reference to it, read when first decoded
        self._rows: tuple | None = None
        self._count = count  # the rows' number when known (a table shows only that)

    def _decoded(self) -> tuple:
        if self._rows is None:
            text = self._text if isinstance(self._text, str) else self._text.text()
            self._rows = _evidence_from_json(text)
        return self._rows

    def __getitem__(self, index):  # type: ignore[override]
        return self._decoded()[index]

    def __len__(self) -> int:
        return len(self._decoded()) if self._count is None else self._count

    def __iter__(self):
        return iter(self._decoded())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, StoredEvidence | tuple):
            return self._decoded() == tuple(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment] - rows are dicts, as in a tuple of dicts

    def __repr__(self) -> str:
        return repr(self._decoded())


@per_snapshot
def _roots() -> tuple[int, ...]:
    units = metrics.units()
    return tuple(int(u) for u in units[units["parent_id"].isna()]["unit_id"])


def _evidence_json(evidence: tuple[dict, ...]) -> str:
    def encode(value: object) -> object:
        if isinstance(value, dt.date):
            return {"$date": value.isoformat()}
        raise TypeError(f"evidence value {value!r} cannot be stored")

    return json.dumps(list(evidence), ensure_ascii=False, default=encode)


def _evidence_from_json(text: str) -> tuple:
    """The evidence rows of _evidence_json (or a JSON list of several flags' evidence)."""

    def decode(obj: dict) -> object:
        if len(obj) == 1 and "$date" in obj:
            return dt.date.fromisoformat(obj["$date"])
        return obj

    return tuple(json.loads(text, object_hook=decode))


FRAME_COLUMNS = [f.name for f in fields(Flag)] + ["severity_label", "evidence_count"]


def flag_frame(
    scope_id: int, as_of: dt.date, rules: RuleSet | None = None, *, evidence_count: bool = True
) -> pd.DataFrame:
    """One row per flag (every Flag field, the Chinese severity and, unless a page shows no
    evidence and asks without it, the evidence count)."""
    return flags_to_frame(evaluate(scope_id, as_of, rules), evidence_count=evidence_count)


def stored_subtree_frame(
    scope_id: int, as_of: dt.date, members: np.ndarray, rules: RuleSet | None = None
) -> pd.DataFrame | None:
    """flag_frame(scope_id, as_of, evidence_count=False) restricted to the flags raised for a
    unit in `members` or owned by one (本单位: the unit's subtree), in the same order, values
    and dtypes — when `evaluate` reads the scope's flags from the snapshot's stored rows
    (_stored_day): the scope's stored flags, read and made into columns once per snapshot
    and process without their evidence text (_stored_scope), filtered by position (no Flag
    objects, no query per page). A flag's evidence is read when it is opened
    (StoredEvidence of an _EvidenceRef). None otherwise (the caller filters flag_frame)."""
    require_scope(int(scope_id))
    at = _stored_day(int(scope_id), as_of, rules)
    if at is None:
        return None
    scope = _stored_scope(*at, int(scope_id))
    if scope is None:  # a column the rows cannot tell apart (all NaN): the flags
        return None
    if not len(scope.frame):
        return flags_to_frame([], evidence_count=False)
    keep = np.flatnonzero(np.isin(scope.unit_ids, members) | np.isin(scope.owner_ids, members))
    frame = scope.frame.take(keep).reset_index(drop=True)
    cells = pd.Series(scope.evidence.take(keep), dtype=object)
    frame.insert(FRAME_COLUMNS.index("evidence"), "evidence", cells)
    return frame


@dataclass(frozen=True)
class _StoredScope:
    """One scope's stored flags as flag_frame(…, evidence_count=False) builds them row by
    row (without the evidence column), and what stored_subtree_frame filters them by."""

    frame: pd.DataFrame
    unit_ids: np.ndarray
    owner_ids: np.ndarray  # float64, NaN where the flag has no owner
    # each flag's evidence (StoredEvidence of an _EvidenceRef: read, for the whole scope,
    # when one is first opened)
    evidence: np.ndarray


def _scope_rows(day: dt.date, fingerprint: str, scope_id: int, rows: pd.DataFrame
                ) -> _StoredScope | None:  # fmt: skip
    """A scope's stored flags (flag_snapshot_rows.sql's rows, by rank) as flag_frame builds
    them; None when a column of its rows cannot be told apart (see _as_built)."""
    if rows.empty:  # no flags: stored_subtree_frame gives flag_frame's empty frame
        none = np.empty(0, dtype="int64")
        return _StoredScope(pd.DataFrame(), none, none.astype("float64"), none.astype(object))
    columns: dict[str, object] = {}
    for name in FRAME_COLUMNS[:-1]:
        if name == "evidence":
            continue
        if name == "severity_label":
            labels = [SEVERITY_LABEL.get(v, v) for v in rows["severity"].tolist()]
            columns[name] = pd.Series(labels, dtype="str")
            continue
        column = _as_built(rows[name], name in _INT_COLUMNS)
        if column is None:
            return None
        columns[name] = column
    loader = _ScopeEvidence(day, fingerprint, scope_id)
    ranks, counts = rows["rank"].tolist(), rows["evidence_count"].tolist()
    evidence = np.empty(len(rows), dtype=object)
    evidence[:] = [
        StoredEvidence(_EvidenceRef(loader, r), c) for r, c in zip(ranks, counts, strict=True)
    ]
    return _StoredScope(
        pd.DataFrame(columns),
        rows["unit_id"].to_numpy(dtype="int64"),
        rows["owner_id"].to_numpy(dtype="float64", na_value=np.nan),
        evidence,
    )


# flag_snapshot's INTEGER columns (derived.sql)
_INT_COLUMNS = frozenset(
    {"scope_id", "rank", "rule_pos", "row_pos", "unit_id", "owner_id", "weeks_red",
     "days_to_test", "evidence_count"}
)  # fmt: skip


def _stored_day(scope_id: int, as_of: dt.date, rules: RuleSet | None = None
                ) -> tuple[dt.date, str] | None:  # fmt: skip
    """(day, rules fingerprint) of the stored flags `evaluate` reads for scope_id at as_of
    from the snapshot — the scope is precomputed and the snapshot holds the day's
    evaluation under these rules (whether `evaluate` has already built them does not
    matter: the rows are the same); None when it would evaluate them live."""
    if isinstance(as_of, dt.datetime):
        as_of = as_of.date()
    rules = rules or rules_or_last_good()[0]
    day = serving_day(as_of, rules)
    fingerprint = rules_fingerprint(rules)
    if scope_id not in precomputed_scopes() or (day, fingerprint) not in _stored_days():
        return None
    return day, fingerprint


def warm_stored_scopes(as_of: dt.date) -> None:
    """Read the roots' stored flags at as_of's serving day (the largest scopes) ahead of
    the first 本单位 page (unit_view.warm)."""
    for root in _roots():
        at = _stored_day(root, as_of)
        if at is not None:
            _stored_scope(*at, root)


@per_snapshot
def _stored_scope(day: dt.date, fingerprint: str, scope_id: int) -> _StoredScope | None:
    """One scope's stored flags without their evidence text, read and built once per
    snapshot, day and rules when first asked for (snapshot state, not scoped:
    stored_subtree_frame checks the scope before it hands them out)."""
    params = {"day": day, "rules": fingerprint, "scope_id": scope_id}
    rows = run_query(file_identity(), "flag_snapshot_rows", params)
    return _scope_rows(day, fingerprint, scope_id, rows)


class _ScopeEvidence:
    """The evidence texts of one scope's stored flags at one date, read together when the
    first of them is opened (flag_snapshot_evidence.sql, with the scope's access check)."""

    def __init__(self, day: dt.date, fingerprint: str, scope_id: int) -> None:
        self._params = {"day": day, "rules": fingerprint, "scope_id": scope_id}
        self._texts: dict[int, str] | None = None
        self._lock = threading.Lock()

    def text(self, rank: int) -> str:
        with self._lock:
            if self._texts is None:
                _names, rows = query_rows("flag_snapshot_evidence", **self._params)
                self._texts = {int(r): text for r, text in rows}
        return self._texts[rank]


@dataclass(frozen=True)
class _EvidenceRef:
    """A stored flag's evidence text not yet read: its scope's loader and its rank."""

    loader: _ScopeEvidence
    rank: int

    def text(self) -> str:
        return self.loader.text(self.rank)


def _as_built(column: pd.Series, is_int: bool = False) -> pd.Series | None:
    """A flag_snapshot column (as DuckDB hands it to pandas) with the dtype and cells a
    frame made from the flags' values row by row gets for ALL the scope's rows (the dtype
    pandas infers from Python values): text as str, integers as int64 (float64 when one is
    NULL), dates as date objects, a column with nothing but NULLs as None objects. None when
    that cannot be told (a float column all NaN: NULL and NaN look alike here). `is_int`:
    the table's column is an integer one (a slice of a column with NULLs elsewhere is
    handed over as floats: without NULL in the slice it is int64, as its own rows are)."""
    kind = column.dtype.kind
    if isinstance(column.dtype, pd.StringDtype):
        return column.reset_index(drop=True)
    if kind == "M":  # dates: date objects, None where NULL
        return pd.Series(column.to_numpy().astype("datetime64[D]").astype(object), dtype=object)
    if kind in "iu":  # no NULL
        return pd.Series(column.to_numpy(dtype="int64"))
    values = column.to_numpy(dtype="float64", na_value=np.nan)
    missing = np.isnan(values)
    if is_int and not missing.any():
        return pd.Series(values.astype("int64"))
    if missing.all():
        is_int = (
            is_int or pd.api.types.is_integer_dtype(column.dtype) or column.name in _NULLABLE_INTS
        )
        if not is_int:
            return None
        return pd.Series([None] * len(values), dtype=object)
    return pd.Series(values)


# flag_snapshot's integer columns that may be NULL (DuckDB hands them over as floats or a
# nullable integer dtype when one is)
_NULLABLE_INTS = ("owner_id", "days_to_test")


def flags_to_frame(flags: list[Flag], *, evidence_count: bool = True) -> pd.DataFrame:
    """flag_frame's rows. Without `evidence_count` no flag's evidence is looked at, so a
    replayed date's live evidence (LiveEvidence) is not read for a page that never shows it."""
    # one tuple per flag (the fields read at once by an attrgetter; no dict per flag):
    # the same frame as from dicts, which pandas converts the same way column by column
    fields_of = operator.attrgetter(*(f.name for f in fields(Flag)))
    if not evidence_count:
        rows = [(*fields_of(f), f.severity_label) for f in flags]
        return pd.DataFrame(rows, columns=FRAME_COLUMNS[:-1])
    rows = [(*fields_of(f), f.severity_label, len(f.evidence)) for f in flags]
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
