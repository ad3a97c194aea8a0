"""The one status language: each metric's target, basis and 达标 / 预警 / 落后 rule.

Rules are data in config/status.toml (documented there); `rule(key)` returns one,
`judge(key, value, target)` judges a value. Every page, export, the bulletin and the
red-flag thresholds that are status lines read them here, so one value gets one verdict.
A value is rounded to the metric's displayed precision before it is judged, so what reads
as 90.0% is judged as 90.0%.
"""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dashboard.components.text import is_missing

CONFIG_PATH = Path(__file__).resolve().parent.parent / "config" / "status.toml"
BASES = {"current": "当前值", "projection": "推算到下一节点的值"}
DATA_TARGETS = {
    "unit": "本单位目标分",
    "assessment": "测评目标名次",
    "indicator": "指标目标值",
    "milestone": "下一走访节点目标",
}
KEYS = (
    "score", "rank", "indicator", "gap_to_city", "rectification_rate", "on_time_rate",
    "overdue", "coverage_rate", "entry_rate", "completion_rate", "compliance_rate",
)  # fmt: skip
_EPS = 1e-9


class StatusConfigError(ValueError):
    """config/status.toml is broken; the message says where, in Chinese."""


@dataclass(frozen=True)
class StatusRule:
    """达标 at `target`, 预警 within `warn_margin` of it, else 落后."""

    key: str
    label: str
    basis: str  # current | projection
    target: float | None  # None: from the data (target_from)
    target_from: str | None  # unit | assessment | indicator | milestone
    warn_margin: float
    higher_is_better: bool
    digits: int

    @property
    def floor(self) -> float | None:
        """The 落后 line of a fixed target (e.g. the 85% black-list line of 整改率)."""
        return None if self.target is None else self.bars()[1]

    def bars(self, target: float | None = None) -> tuple[float | None, float | None]:
        """(达标 from, 预警 from); a data-driven target comes in as `target`."""
        t = self.target if self.target is not None else target
        if t is None or is_missing(t):
            return None, None
        t = float(t)
        return (t, t - self.warn_margin) if self.higher_is_better else (t, t + self.warn_margin)

    def shown(self, value: float | None) -> float | None:
        """The value at its displayed precision (None when missing)."""
        return None if value is None or is_missing(value) else round(float(value), self.digits)

    def judge(self, value: float | None, target: float | None = None) -> str:
        """'ok' / 'warn' / 'bad', or 'none' when the value or its target is missing."""
        ok_from, warn_from = self.bars(target)
        v = self.shown(value)
        if v is None or ok_from is None or warn_from is None:
            return "none"
        if not self.higher_is_better:
            v, ok_from, warn_from = -v, -ok_from, -warn_from
        if v >= ok_from - _EPS:
            return "ok"
        if v >= warn_from - _EPS:
            return "warn"
        return "bad"

    def judge_all(
        self, values: Iterable[float | None], targets: Iterable[float | None] | None = None
    ) -> list[str]:
        """`judge` for a column of values (and their data-driven targets, row by row): the
        same verdicts, with the rule looked up once instead of once per row. A value more
        than one unit of its last shown digit away from both bars is judged as it is (its
        shown value lies on the same side of each), the few nearer ones by `judge`."""
        values = list(values)
        targets = None if targets is None else list(targets)
        try:
            v = np.asarray(values, dtype="float64")
            t = np.full(len(values), np.nan) if targets is None else np.asarray(targets, "float64")
        except (TypeError, ValueError):  # not plain numbers: one by one
            v = None
        if v is None or v.ndim != 1 or t.shape != v.shape:
            if targets is None:
                return [self.judge(x) for x in values]
            return [self.judge(x, y) for x, y in zip(values, targets, strict=True)]
        if self.target is not None:
            t = np.full(len(v), float(self.target))
        sign = 1.0 if self.higher_is_better else -1.0
        ok_from, warn_from = t, t - sign * self.warn_margin
        out = np.where(
            sign * v >= sign * ok_from - _EPS,
            "ok",
            np.where(sign * v >= sign * warn_from - _EPS, "warn", "bad"),
        ).astype(object)
        out[np.isnan(v) | np.isnan(t)] = "none"
        band = 10.0**-self.digits
        near = ~np.isnan(v) & ~np.isnan(t)
        near &= (np.abs(v - ok_from) <= band) | (np.abs(v - warn_from) <= band)
        for i in np.flatnonzero(near):
            out[i] = self.judge(values[i], None if targets is None else targets[i])
        return out.tolist()

    def why(self) -> str:
        """The rule in one Chinese sentence (for a help text or the foot of the board)."""
        basis = "按近 14 天进度推算到下一节点的值，" if self.basis == "projection" else ""
        if self.target is None:
            target = DATA_TARGETS[self.target_from or ""]
            m = self.warn_margin
            margin = f"{m:g} 分" if self.key == "score" else (
                f"{m:g} 名" if self.key == "rank" else f"{m * 100:g} 个百分点"
            )  # fmt: skip
            return f"{basis}达到{target}为达标，差 {margin}以内为预警，再差为落后"
        if self.key in ("overdue",):
            return (f"{self.target:g} 件为达标，{self.target + 1:g}–{self.floor:g} 件为预警，"
                    f"更多为落后")  # fmt: skip
        if self.key == "gap_to_city":
            return f"不低于全市得分为达标，低 {self.warn_margin:g} 分以内为预警，再低为落后"
        return (f"{basis}≥ {_pct(self.target)} 为达标，< {_pct(self.floor)} 为落后，"
                "其间为预警")  # fmt: skip


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}".rstrip("0").rstrip(".") + "%"


def _number(table: dict, key: str, where: str, *, integer: bool = False) -> float:
    value = table.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise StatusConfigError(f"{where} 的 “{key}” 应为数字，现为 {value!r}")
    if integer and not isinstance(value, int):
        raise StatusConfigError(f"{where} 的 “{key}” 应为整数，现为 {value!r}")
    if value < 0:
        raise StatusConfigError(f"{where} 的 “{key}” 不能为负数，现为 {value!r}")
    return value


_ALLOWED = {"label", "basis", "target", "warn_margin", "higher_is_better", "digits"}


def parse(data: dict) -> dict[str, StatusRule]:
    """Validate a parsed status document into one rule per metric key."""
    tables = data.get("metrics")
    if not isinstance(tables, dict) or set(data) - {"metrics"}:
        raise StatusConfigError("达标状态配置只允许 [metrics.<指标>] 表")
    missing = [k for k in KEYS if k not in tables]
    if missing:
        raise StatusConfigError(f"达标状态配置缺少指标 [metrics.{missing[0]}]")
    unknown = [k for k in tables if k not in KEYS]
    if unknown:
        raise StatusConfigError(
            f"达标状态配置含未知指标 [metrics.{unknown[0]}]，可选：{'、'.join(KEYS)}"
        )
    rules = {}
    for key in KEYS:
        table, where = tables[key], f"[metrics.{key}]"
        extra = set(table) - _ALLOWED
        if extra:
            raise StatusConfigError(f"{where} 含未知项 “{sorted(extra)[0]}”")
        basis = table.get("basis", "current")
        if basis not in BASES:
            raise StatusConfigError(f"{where} 的 basis 应为 current 或 projection，现为 {basis!r}")
        target = table.get("target")
        if isinstance(target, str):
            if target not in DATA_TARGETS:
                raise StatusConfigError(
                    f"{where} 的 target “{target}” 未知，可写数字或：{'、'.join(DATA_TARGETS)}"
                )
            fixed, source = None, target
        else:
            fixed, source = float(_number(table, "target", where)), None
        higher = table.get("higher_is_better", True)
        if not isinstance(higher, bool):
            raise StatusConfigError(f"{where} 的 higher_is_better 应为 true 或 false")
        label = table.get("label")
        if not isinstance(label, str) or not label.strip():
            raise StatusConfigError(f"{where} 的 label 应为非空文字")
        rules[key] = StatusRule(
            key, label.strip(), basis, fixed, source,
            float(_number(table, "warn_margin", where)), higher,
            int(_number(table, "digits", where, integer=True)),
        )  # fmt: skip
    return rules


@functools.cache
def _load(path: str, mtime: float) -> dict[str, StatusRule]:
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise StatusConfigError(f"{Path(path).name} 不是有效的 TOML：{exc}") from exc
    return parse(data)


def rules(path: Path | str | None = None) -> dict[str, StatusRule]:
    """Every status rule (re-read when the file changes)."""
    p = Path(path or CONFIG_PATH)
    return _load(str(p), p.stat().st_mtime)


def rule(key: str) -> StatusRule:
    return rules()[key]


def judge(key: str, value: float | None, target: float | None = None) -> str:
    """The status of `value` of metric `key` ('ok' / 'warn' / 'bad' / 'none')."""
    return rule(key).judge(value, target)
