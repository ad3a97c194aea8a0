"""Importing units' ledgers: per-kind specs, all-or-nothing validation, preview, atomic apply, CLI.

Kinds and their stable keys (a row whose key already exists is updated, otherwise added;
rows not in the file are left alone; columns absent from the file keep their stored value):

    problems       问题整改台账  问题编号 (problem_id)
    visits         走访记录      (走访活动, 所属单位, 对象类型, 对象编号, 走访日期)
    visit_targets  走访任务      (走访活动, 单位, 对象类型)
    scores         测评成绩      (测评名称, 单位, 指标编号; blank 指标编号 = the overall score)
    materials      台账完成情况  (单位, 指标编号, 填报日期) — append-only lines, one per report day
    points         点位          (属地单位, 点位名称); point_id assigned on first import
    point_checks   点位检查      (点位, 检查日期, 指标编号); check_id assigned on first import
    units          单位名录      单位名称; unit_id assigned on first import

Flow: `prepare_import` reads the file and validates every row against the current
database (read-only, opened and closed inside the call) and returns an ImportPlan with
every error or the diff; `apply_import` writes a clean plan through
`dashboard.store.write_snapshot` in one transaction and records it in `imports`.
Re-importing the same file adds and updates nothing but is still recorded (rows_added =
rows_updated = 0), so the history shows that the unit reported. Rejected imports are
never written to the database; `apply_import` appends them to `<db>.rejected.jsonl`.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime as dt
import difflib
import fcntl
import hashlib
import io
import json
import os
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd
import xlsxwriter

from dashboard import db, labels, store
from dashboard.export import neutralise
from dashboard.import_specs import (
    KIND_LABELS,
    MAX_UNIT_NAME,
    PART_FIELDS,
    SPECS,
    TEST_TYPE_STORED,
    Column,
    KindSpec,
)
from dashboard.ledger import (
    MAX_HEADER_ROW,
    CellError,
    ErrorList,
    FileRefused,
    LedgerError,
    Sheet,
    Workbook,
    compact,
    display,
    find_header,
    is_blank,
    is_skippable,
    nfkc,
    normalise_header,
    parse_bool,
    parse_date,
    parse_enum,
    parse_int,
    parse_number,
    parse_rate,
    parse_text,
    read_csv,
    report_date,
    sniff,
)
from dashboard.unit_match import UnitIndex, UnitMatchError, name_key, normalise_name

MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_ROWS = 200_000
SAMPLE_ROWS = 20


# --- plan and result ----------------------------------------------------------------


@dataclass
class ImportPlan:
    """What an import would do: errors, or the rows to add and update."""

    kind: str
    file_name: str
    checksum: str
    size: int
    sheet: str | None = None
    header_row: int | None = None
    rows: int = 0
    errors: list[LedgerError] = field(default_factory=ErrorList)  # capped: see ErrorList
    added: list[dict] = field(default_factory=list)
    updated: list[dict] = field(default_factory=list)
    changes: list[dict] = field(default_factory=list)  # (key, column, old, new) per changed cell
    unchanged: int = 0
    db_fingerprint: tuple = ()
    names: dict[str, dict] = field(default_factory=dict, repr=False)  # id -> name, for preview
    derived_keys: bool = False  # 问题编号 derived from the row (the file has no such column)
    ignored_headers: list[str] = field(default_factory=list)  # headers not recognised
    reported_change: bool = False  # the scores file has a 同比 column (read, not stored)
    warnings: list[str] = field(default_factory=list)  # e.g. a 同比 that does not add up

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def error_count(self) -> int:
        """Every error found, including those past the listing caps."""
        return getattr(self.errors, "total", len(self.errors))

    def summary(self) -> str:
        label = KIND_LABELS[self.kind]
        if self.errors:
            return f"「{self.file_name}」（{label}）有 {self.error_count:,} 处问题，未导入任何数据"
        return "".join(
            [
                f"「{self.file_name}」（{label}）共 {self.rows} 行：新增 {len(self.added)} 行，"
                f"更新 {len(self.updated)} 行，无变化 {self.unchanged} 行。",
                *(f"{note}。" for note in self.notes()),
            ]
        )

    def notes(self) -> list[str]:
        """What the clerk should know besides the counts: derived keys, ignored columns."""
        out = []
        if self.derived_keys:
            out.append(
                f"文件没有「问题编号」列，已按「{DERIVED_KEY_LABEL}」生成编号（{DERIVED_KEY_PREFIX}开头），"
                "下周的台账按同样的内容识别同一问题"
            )
        if self.kind == "scores" and self.reported_change:
            out.append("「同比」列不导入：同比由系统按去年同期的调查计算，可在「趋势」页查看")
        out += self.warnings
        if self.ignored_headers:
            listed = "、".join(f"「{h}」" for h in self.ignored_headers)
            out.append(f"以下列未识别，不会导入：{listed}")
        return out

    def preview(self, limit: int = SAMPLE_ROWS) -> pd.DataFrame:
        """Sample of new and updated rows, Chinese headers, codes shown as labels."""
        spec = SPECS[self.kind]
        out = []
        for change, rows in (("新增", self.added), ("更新", self.updated)):
            for row in rows[:limit]:
                shown = {"变化": change}
                for k, v in row.items():
                    lookup = self.names.get(REFERENCE_OF.get(k, ""), {})
                    shown[k] = lookup.get(v, v) if v is not None else ""
                    shown[k] = _show(spec, k, shown[k]) if k not in REFERENCE_OF else shown[k]
                out.append(shown)
        frame = pd.DataFrame(out)
        order = list(
            dict.fromkeys(["变化"] + [c.field for c in spec.columns] + list(EXTRA_HEADERS))
        )
        frame = frame[[c for c in order if c in frame.columns]]
        headers = EXTRA_HEADERS | {c.field: c.label for c in spec.columns}
        return frame.rename(columns=headers)

    def changes_frame(self, limit: int = 200) -> pd.DataFrame:
        """One row per changed cell of an updated record: key, column, old and new value."""
        spec = SPECS[self.kind]
        headers = EXTRA_HEADERS | {c.field: c.label for c in spec.columns}
        out = []
        for change in self.changes[:limit]:
            lookup = self.names.get(REFERENCE_OF.get(change["column"], ""), {})
            key = " / ".join(
                str(self.names.get(REFERENCE_OF.get(k, ""), {}).get(v, v))
                for k, v in zip(spec.key, change["key"], strict=True)
                if v is not None
            )
            old, new = (
                _show(spec, change["column"], lookup.get(v, v)) if v is not None else ""
                for v in (change["old"], change["new"])
            )
            out.append({"记录": key, "列": headers.get(change["column"], change["column"]),
                        "原值": old, "新值": new})  # fmt: skip
        return pd.DataFrame(out, columns=["记录", "列", "原值", "新值"])


REFERENCE_OF = {  # columns holding ids, and which names they refer to
    "unit_id": "unit",
    "dept_id": "unit",
    "visitor_unit_id": "unit",
    "parent_id": "unit",
    "point_id": "point",
    "indicator_id": "indicator",
    "campaign_id": "campaign",
    "assessment_id": "assessment",
}


# Stored columns that are not columns of a ledger (filled in from other cells).
EXTRA_HEADERS = {"point_id": "点位名称", "level": "测评层级", "kind": "测评类别"}
EXTRA_LABELS = {"level": labels.ASSESSMENT_LEVEL, "kind": labels.ASSESSMENT_KIND}


def _show(spec: KindSpec, field_: str, value: object) -> object:
    col = next((c for c in spec.columns if c.field == field_), None)
    if col is not None and col.enum and value is not None:
        return labels.label(col.enum, value)
    if col is None and field_ in EXTRA_LABELS and value is not None:
        return labels.label(EXTRA_LABELS[field_], value)
    if isinstance(value, bool):
        return "是" if value else "否"
    return value


@dataclass
class ImportResult:
    """The outcome of apply_import."""

    result: str  # ok | rejected
    import_id: int | None
    rows: int
    added: int
    updated: int
    unchanged: int
    errors: int = 0

    def summary(self) -> str:
        if self.result != "ok":
            return f"导入被拒绝：{self.errors} 处问题，数据库未改动"
        return f"导入成功（第 {self.import_id} 次导入）：新增 {self.added} 行，更新 {self.updated} 行，无变化 {self.unchanged} 行"


class StalePlanError(RuntimeError):
    """The database changed between prepare_import and apply_import."""


# --- database context ---------------------------------------------------------------


@dataclass
class Context:
    """What validation needs from the current database."""

    units: UnitIndex
    unit_rows: list[tuple[int, str, str, int | None]]
    unit_names: dict[int, str]
    indicators: dict[str, int]  # compact upper code or compact name -> id
    indicator_codes: list[str]
    indicator_static: dict[int, bool | None]
    assessments: dict[str, int]
    campaigns: dict[str, int]
    campaign_names: dict[int, str]
    points: dict[str, list[tuple[int, int]]]  # compact name -> [(point_id, unit_id)]
    existing: dict[tuple, dict]
    next_id: int
    names: dict[str, dict] = field(default_factory=dict)
    report_date: dt.date | None = None
    provisional_ids: dict[int, int] = field(default_factory=dict)  # units: sheet row -> id
    waves: dict[int, tuple[str, dt.date]] = field(default_factory=dict)  # assessment kind, start
    warnings: list[str] = field(default_factory=list)  # told in the preview, not errors


@contextlib.contextmanager
def open_snapshot(db_path: Path | str) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only view of the file as it is now.

    Attached into a private in-memory database rather than duckdb.connect(path): DuckDB
    caches database instances by path within a process, so a plain connect made while
    any other connection to that path is open sees the snapshot that was swapped out.
    """
    con = duckdb.connect()
    try:
        con.execute("attach $path as snapshot (read_only)", {"path": str(db_path)})
        con.execute("use snapshot")
        yield con
    finally:
        con.close()


def _fingerprint(path: Path) -> tuple:
    st = path.stat()
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def _key_value(spec: KindSpec, field_: str, value: object) -> object:
    if (
        spec.kind in ("units", "points", "assessments")
        and field_ == "name"
        and isinstance(value, str)
    ):
        return compact(value)
    return value


def _record_key(spec: KindSpec, row: dict) -> tuple:
    return tuple(_key_value(spec, k, row.get(k)) for k in spec.key)


# Problems marked 作废 live in problems_withdrawn: out of every count, history kept.
SIDE_TABLES = {"problems": ("problems_withdrawn",)}
CLEAR_MARK = "清空"
SEQ_HEADERS = ("序号", "编号序号", "序")  # a cell holding only this clears a stored optional value


def _load_context(con: duckdb.DuckDBPyConnection, spec: KindSpec) -> Context:
    unit_rows = con.execute(
        "select unit_id, name, kind, parent_id from units order by unit_id"
    ).fetchall()
    index = UnitIndex(unit_rows)
    indicators = con.execute(
        "select indicator_id, code, name, is_static from indicators"
    ).fetchall()
    by_code: dict[str, int] = {}
    for indicator_id, _code, name, _ in indicators:
        by_code[compact(name)] = indicator_id
    for indicator_id, code, _, _ in indicators:
        by_code[compact(code).upper()] = indicator_id
    points: dict[str, list[tuple[int, int]]] = {}
    for point_id, name, unit_id in con.execute(
        "select point_id, name, unit_id from points"
    ).fetchall():
        points.setdefault(compact(name), []).append((point_id, unit_id))
    existing = {}
    tables = {
        name
        for (name,) in con.execute(
            "select table_name from duckdb_tables() where database_name = current_database()"
        ).fetchall()
    }
    for table in (spec.table, *SIDE_TABLES.get(spec.kind, ())):
        if table not in tables:  # a schema v1 file: migrated when the import is applied
            continue
        cursor = con.execute(f"select * from {table}")  # noqa: S608 - sql: identifiers from allow-list
        columns = [d[0] for d in cursor.description]
        for values in cursor.fetchall():
            row = dict(zip(columns, values, strict=True))
            existing[_record_key(spec, row)] = row
    next_id = 1
    if spec.id_field:
        next_id = con.execute(
            f"select coalesce(max({spec.id_field}), 0) + 1 from {spec.table}"  # noqa: S608 - sql: identifiers from allow-list
        ).fetchone()[0]
    point_names = dict(con.execute("select point_id, name from points").fetchall())
    assessment_names = dict(con.execute("select assessment_id, name from assessments").fetchall())
    waves = {
        i: (kind, start)
        for i, kind, start in con.execute(
            "select assessment_id, kind, start_date from assessments"
        ).fetchall()
    }
    return Context(
        waves=waves,
        names={
            "unit": index.display_names(),
            "point": point_names,
            "indicator": {i: code for i, code, _, _ in indicators},
            "campaign": dict(con.execute("select campaign_id, name from campaigns").fetchall()),
            "assessment": assessment_names,
        },
        units=index,
        unit_rows=unit_rows,
        unit_names=index.display_names(),
        indicators=by_code,
        indicator_codes=[code for _, code, _, _ in indicators],
        indicator_static={i: s for i, _, _, s in indicators},
        assessments={
            compact(n): i
            for i, n in con.execute("select assessment_id, name from assessments").fetchall()
        },
        campaigns={
            compact(n): i
            for i, n in con.execute("select campaign_id, name from campaigns").fetchall()
        },
        campaign_names={
            i: n for i, n in con.execute("select campaign_id, name from campaigns").fetchall()
        },
        points=points,
        existing=existing,
        next_id=int(next_id),
    )


def _lookup(table: dict[str, int], written: object, what: str, upper: bool = False) -> int:
    key = compact(str(written))
    if upper:
        key = key.upper()
    if key in table:
        return table[key]
    hits = difflib.get_close_matches(key, list(table), n=3, cutoff=0.5)
    if hits:
        return _raise(f"找不到该{what}。你是不是要找：" + "、".join(hits))
    return _raise(f"找不到该{what}，请与数据库中的{what}核对")


def _raise(rule: str) -> int:
    raise CellError(rule)


def _resolve_unit(ctx: Context, raw: object, parents: list[str] | tuple[str, ...]) -> int:
    try:
        return ctx.units.resolve(str(display(raw)), parents)
    except UnitMatchError as exc:
        raise CellError(exc.rule) from exc


def _parse_cell(col: Column, raw: object, ctx: Context) -> object:
    kind = col.type
    if kind == "text":
        return parse_text(raw)
    if kind == "date":
        return parse_date(raw)
    if kind == "int":
        value = parse_int(raw)
    elif kind == "number":
        value = parse_number(raw)
    elif kind == "rate":
        return parse_rate(raw)
    elif kind == "bool":
        return parse_bool(raw, col.true_words, col.false_words)
    elif kind == "enum":
        return parse_enum(raw, col.enum or {}, col.enum_aliases)
    elif kind == "unit":
        return _resolve_unit(ctx, raw, ())
    elif kind == "indicator":
        return _lookup(ctx.indicators, display(raw), "指标编号", upper=True)
    elif kind == "assessment":
        return _lookup(ctx.assessments, raw, "测评")
    elif kind == "campaign":
        return _lookup(ctx.campaigns, raw, "走访活动")
    elif kind == "point":
        return compact(parse_text(raw))
    else:  # pragma: no cover - specs are static
        raise ValueError(kind)
    if col.minimum is not None and value < col.minimum:
        raise CellError("不能为负数" if col.minimum == 0 else f"不能小于 {col.minimum:g}")
    return value


# --- per-kind row steps and rules ---------------------------------------------------
#
# A row is handled in two steps. Key steps fill in what the stable key needs (the point
# resolved to its id, the 问题编号 derived, the report date) so the stored record can be
# found; row rules then check the row as it would be stored: the file's cells over the
# stored values (a blank cell keeps the stored value, so a rule must see that value).

KeyStep = Callable[[dict, Context, set[str]], list[tuple[str, str]]]
RowRule = Callable[[dict, dict, Context, set[str]], list[tuple[str, str]]]
DERIVED_KEY_PREFIX = "D-"
DERIVED_KEY_LABEL = "属地单位 + 点位名称（或具体位置）+ 问题描述 + 发现日期"


def derived_problem_id(
    unit_id: int,
    point_id: int | None,
    place: str | None,
    description: str | None,
    found_on: dt.date,
) -> str:
    """The stable 问题编号 of a ledger row without one: a digest of what identifies the problem.

    Names are compared without spaces and after NFKC, so re-typing a description with
    other spacing or full-width characters gives the same key."""
    parts = [
        str(unit_id),
        "" if point_id is None else str(point_id),
        name_key(place or ""),
        name_key(description or ""),
        found_on.isoformat(),
    ]
    digest = hashlib.sha256("|".join(parts).encode("utf-8")).hexdigest()
    return DERIVED_KEY_PREFIX + digest[:12].upper()


def _key_problems(row: dict, ctx: Context, present: set[str]) -> list[tuple[str, str]]:
    out = _resolve_point(row, ctx, row.get("unit_id"), required=False)
    place = row.pop("place", None)
    if "problem_id" not in present:
        if out or row.get("unit_id") is None or row.get("found_on") is None:
            return out
        row["problem_id"] = derived_problem_id(
            row["unit_id"], row.get("point_id"), place, row.get("description"), row["found_on"]
        )
    if place:
        description = row.get("description")
        row["description"] = f"{place}：{description}" if description else place
    return out


def _key_point_checks(row: dict, ctx: Context, present: set[str]) -> list[tuple[str, str]]:
    return _resolve_point(row, ctx, row.pop("point_unit", None), required=True)


def _key_materials(row: dict, ctx: Context, present: set[str]) -> list[tuple[str, str]]:
    if row.get("updated_on") is None:
        if ctx.report_date is None:
            row["updated_on"] = None
            return [("updated_on", "必填项不能为空（表头上方也没有填报日期）")]
        row["updated_on"] = ctx.report_date
    return []


def _key_names(row: dict, ctx: Context, present: set[str]) -> list[tuple[str, str]]:
    row["name"] = compact(row["name"])
    return []


def _key_scores(row: dict, ctx: Context, present: set[str]) -> list[tuple[str, str]]:
    row.setdefault("indicator_id", None)
    return []


def _key_units(row: dict, ctx: Context, present: set[str]) -> list[tuple[str, str]]:
    """Units are keyed by (上级单位, 名称); a file without a 上级单位 column updates by name
    alone, which must then name one unit."""
    row["name"] = compact(row["name"])
    if "parent_id" in present:
        return []
    same = [u for u in ctx.unit_rows if name_key(u[1]) == name_key(row["name"])]
    if len(same) > 1:
        paths = "、".join(sorted(ctx.units.path(u[0]) for u in same))
        return [("name", f"有 {len(same)} 个同名单位（{paths}），请增加「上级单位」列")]
    row["parent_id"] = same[0][3] if same else None
    return []


KEY_STEPS: dict[str, KeyStep] = {
    "problems": _key_problems,
    "point_checks": _key_point_checks,
    "materials": _key_materials,
    "points": _key_names,
    "units": _key_units,
    "assessments": _key_names,
    "scores": _key_scores,
}


def _rules_problems(row: dict, old: dict, ctx: Context, present: set[str]) -> list[tuple[str, str]]:
    merged = {**old, **row}
    out = []
    found, deadline = merged.get("found_on"), merged.get("deadline")
    if found is not None and deadline is not None and deadline < found:
        out.append(("deadline", f"整改时限早于发现日期（{found.isoformat()}）"))
    rectified, closed = merged.get("rectified_on"), merged.get("closed_on")
    status = merged.get("status")
    if found is not None and rectified is not None and rectified < found:
        out.append(("rectified_on", f"整改完成日期早于发现日期（{found.isoformat()}）"))
    if status in ("rectified", "closed") and rectified is None:
        out.append(
            ("rectified_on", f"整改状态为「{labels.PROBLEM_STATUS[status]}」时必须填写整改完成日期")
        )
    if status == "open" and rectified is not None:
        if row.get("rectified_on") is not None:
            out.append(("rectified_on", "整改状态为「整改中」，却填写了整改完成日期"))
        else:
            out.append(
                (
                    "rectified_on",
                    f"整改状态为「整改中」，但已存的整改完成日期为 {rectified.isoformat()}；"
                    f"如需去掉，请在该格填「{CLEAR_MARK}」",
                )
            )
    if status == "closed" and closed is None and "closed_on" in present:
        out.append(("closed_on", "整改状态为「已销号」时必须填写销号日期"))
    if closed is not None and rectified is not None and closed < rectified:
        out.append(("closed_on", f"销号日期早于整改完成日期（{rectified.isoformat()}）"))
    if merged.get("rebound_of") is not None and merged["rebound_of"] == merged.get("problem_id"):
        out.append(("rebound_of", "反弹问题编号不能是本问题自己"))
    return out


def _resolve_point(
    row: dict, ctx: Context, unit_id: int | None, required: bool
) -> list[tuple[str, str]]:
    present = "point" in row
    name = row.pop("point", None)
    if name is None:
        if present:
            row["point_id"] = None
        return []
    matches = ctx.points.get(name, [])
    if len(matches) > 1 and unit_id is not None:
        matches = [m for m in matches if m[1] == unit_id] or matches
    if len(matches) == 1:
        row["point_id"] = matches[0][0]
        return []
    if len(matches) > 1:
        return [("point", "点位名称重名，请填写「属地单位」加以区分")]
    hits = difflib.get_close_matches(name, list(ctx.points), n=3, cutoff=0.5)
    rule = "找不到该点位" + ("。你是不是要找：" + "、".join(hits) if hits else "，请先导入点位名录")
    return [("point", rule)]


def _rules_visits(row: dict, old: dict, ctx: Context, present: set[str]) -> list[tuple[str, str]]:
    subject = row["subject_id"]
    if re.fullmatch(r"1\d{10}", subject) or re.fullmatch(r"\d{17}[\dXx]", subject):
        return [("subject_id", "疑似手机号或身份证号：不得导入群众个人信息，请改用化名编号")]
    return []


def _rules_assessments(
    row: dict, old: dict, ctx: Context, present: set[str]
) -> list[tuple[str, str]]:
    """测评类型 (+ 组织层级 for surveys) to the stored level and kind; dates and ranks."""
    out = []
    test_type = row.pop("test_type")
    organiser = row.pop("organiser", None)
    level, kind = TEST_TYPE_STORED[test_type]
    if level is None:
        level = organiser or old.get("level") or "city"
    elif organiser is not None and organiser != level:
        out.append(
            ("organiser", "国家测评、省级测评、市级模拟测评的层级由测评类型决定，此列请留空")
        )
    row["level"], row["kind"] = level, kind
    if row.get("end_date") is None and old.get("end_date") is None:
        row["end_date"] = row["start_date"]
    merged = {**old, **row}
    if merged["end_date"] < merged["start_date"]:
        out.append(("end_date", f"结束日期早于开始日期（{merged['start_date'].isoformat()}）"))
    rank, ranked = merged.get("city_rank"), merged.get("cities_ranked")
    if rank is not None and ranked is not None and rank > ranked:
        out.append(("city_rank", f"名次大于参评城市数（{ranked}）"))
    return out


def _check_reported_change(row: dict, reported: float, ctx: Context) -> None:
    """Compare a file's 同比 with the one computed from last year's wave (trends.year_ago_waves);
    a difference is told in the preview (the file's figure is not stored)."""
    from dashboard.trends import year_ago_waves

    wave = row.get("assessment_id")
    if wave not in ctx.waves or row.get("value") is None:
        return
    kind = ctx.waves[wave][0]
    same_kind = [(i, start) for i, (k, start) in ctx.waves.items() if k == kind]
    year_ago = year_ago_waves(pd.DataFrame(same_kind, columns=["assessment_id", "start_date"])).get(
        wave
    )
    before = ctx.existing.get((year_ago, row.get("unit_id"), row.get("indicator_id")))
    unit = ctx.unit_names.get(row.get("unit_id"), "")
    if before is None or not before.get("max_value"):
        ctx.warnings.append(f"{unit}：没有去年同期的调查数据，无法核对文件所写的同比 {reported:g}")
        return
    max_value = row.get("max_value") or 100.0
    computed = 100 * row["value"] / max_value - 100 * before["value"] / before["max_value"]
    if abs(computed - reported) > 0.05:
        ctx.warnings.append(
            f"{unit}：文件所写同比 {reported:g}，按去年同期计算为 {computed:.2f}，请核对"
        )


def _rules_scores(row: dict, old: dict, ctx: Context, present: set[str]) -> list[tuple[str, str]]:
    reported = row.pop("reported_change", None)  # 同比 is computed, never stored
    rate = row.pop("rate", None)
    if row.get("value") is None and rate is not None:
        row["value"] = rate
        row["max_value"] = 100.0
    merged = {**old, **row}
    if merged.get("value") is None:
        return [("value" if "value" in present else "rate", "「得分」和「得分率」至少填写一项")]
    if merged.get("max_value") is None:
        row["max_value"] = merged["max_value"] = 100.0
    if merged["max_value"] <= 0:
        return [("max_value", "满分必须大于 0")]
    if merged["value"] > merged["max_value"]:
        return [("value", f"得分超过满分（{merged['max_value']:g}）")]
    if reported is not None:
        _check_reported_change(row, reported, ctx)
    return []


def _rules_materials(
    row: dict, old: dict, ctx: Context, present: set[str]
) -> list[tuple[str, str]]:
    merged = {**old, **row}
    out = []
    if merged["submitted"] > merged["required"]:
        out.append(("submitted", f"已报数大于应报数（{merged['required']}）"))
    if merged.get("approved") is not None and merged["approved"] > merged["submitted"]:
        out.append(("approved", f"审核通过数大于已报数（{merged['submitted']}）"))
    return out


def _rules_point_checks(
    row: dict, old: dict, ctx: Context, present: set[str]
) -> list[tuple[str, str]]:
    out = []
    if row.get("is_static") is None and old.get("is_static") is None:
        static = ctx.indicator_static.get(row["indicator_id"])
        if static is None:
            out.append(("indicator_id", "该指标未标明静态或动态，请填写「指标类型」"))
        row["is_static"] = static
    return out


def _rules_units(row: dict, old: dict, ctx: Context, present: set[str]) -> list[tuple[str, str]]:
    name = normalise_name(row["name"])  # no zero-width or direction characters are stored
    if not name:
        return [("name", "单位名称只有不可见字符")]
    row["name"] = name
    if len(name) > MAX_UNIT_NAME:
        return [
            (
                "name",
                f"单位名称有 {len(name)} 个字，超过 {MAX_UNIT_NAME} 个字的上限，请填写规范名称",
            )
        ]
    if row.get("parent_id") is not None and ctx.unit_names.get(row["parent_id"]) == row["name"]:
        return [("parent_id", "上级单位不能是本单位自己")]
    return []


ROW_RULES: dict[str, RowRule] = {
    "problems": _rules_problems,
    "assessments": _rules_assessments,
    "visits": _rules_visits,
    "scores": _rules_scores,
    "materials": _rules_materials,
    "point_checks": _rules_point_checks,
    "units": _rules_units,
}


def _guarded(
    step: Callable[..., list[tuple[str, str]]], failed: set[str], *args: object
) -> list[tuple[str, str]]:
    """A step's findings; on a row with bad cells, those the bad cells allow to check."""
    if not failed:
        return step(*args)
    try:
        return [(f, text) for f, text in step(*args) if f not in failed]
    except (KeyError, TypeError):  # a step needed a cell that did not parse
        return []


# --- prepare --------------------------------------------------------------------------


def _known_headers(spec: KindSpec) -> dict[str, str]:
    known = {}
    for col in spec.columns:
        for text in (col.label, *col.aliases):
            known.setdefault(normalise_header(text), col.field)
    return known


def _choose_sheet(
    book: Workbook | None, sheets: list[Sheet] | None, spec: KindSpec, file_name: str
) -> tuple[str, list[list[object]], LedgerError | None]:
    """The first sheet whose header matches this kind (all required columns preferred)."""
    known = _known_headers(spec)
    required = {c.field for c in spec.columns if c.required}
    names = book.sheet_names if book else [s.name for s in sheets or []]
    heads = {
        n: (book.head(n) if book else next(s.rows for s in sheets or [] if s.name == n))
        for n in names
    }
    candidates = []
    for name in names:
        found = find_header(heads[name], known)
        if found is None:
            continue
        fields = {f for f, _ in found[1].values()}
        threshold = max(2, (len(required) + 1) // 2)
        if len(fields & required) >= min(threshold, len(required)) and len(fields) >= 2:
            candidates.append((required <= fields, name))
    if not candidates:
        listed = "、".join(f"「{n}」" for n in names) if book else "文件"
        wanted = "、".join(c.label for c in spec.columns if c.required)
        rule = (
            f"在工作表 {listed} 中找不到「{spec.label}」的表头（前 6 行内应有：{wanted}）。"
            "请检查是否选错了工作表、文件或导入类型"
        )
        return "", [], LedgerError(file_name, rule)
    complete = [n for ok, n in candidates if ok]
    return (complete or [candidates[0][1]])[0], heads, None


def prepare_import(
    db_path: Path | str,
    file_bytes: bytes,
    file_name: str,
    kind: str,
    *,
    max_bytes: int = MAX_FILE_BYTES,
    max_rows: int = MAX_ROWS,
) -> ImportPlan:
    """Parse and validate a ledger against the database; return its errors or its diff."""
    if kind not in SPECS:
        raise ValueError(f"unknown import kind: {kind}")
    spec = SPECS[kind]
    db_path = Path(db_path)
    plan = ImportPlan(
        kind=kind,
        file_name=file_name,
        checksum=hashlib.sha256(file_bytes).hexdigest(),
        size=len(file_bytes),
        db_fingerprint=_fingerprint(db_path),
    )

    def refuse(rule: str, row: int | None = None) -> ImportPlan:
        plan.errors.append(LedgerError(file_name, rule, sheet=plan.sheet, row=row))
        return plan

    if len(file_bytes) > max_bytes:
        return refuse(
            f"文件大小 {len(file_bytes) / 1048576:.1f} MB，超过上限 {max_bytes / 1048576:g} MB，请拆分后分批导入"
        )
    book: Workbook | None = None
    row_limit = max_rows + MAX_HEADER_ROW + 10
    try:
        fmt = sniff(file_bytes, file_name)
        if fmt == "xlsx":
            book = Workbook(file_bytes, row_limit)
            sheet_name, _heads, error = _choose_sheet(book, None, spec, file_name)
            if error:
                plan.errors.append(error)
                return plan
            sheet = book.read(sheet_name, row_limit)
        else:
            sheets = read_csv(file_bytes, file_name, row_limit)
            sheet_name, _heads, error = _choose_sheet(None, sheets, spec, file_name)
            if error:
                plan.errors.append(error)
                return plan
            sheet = sheets[0]
    except FileRefused as exc:
        return refuse(str(exc), exc.row)
    finally:
        if book is not None:
            book.close()
    plan.sheet = sheet.name if fmt == "xlsx" else None

    found = find_header(sheet.rows, _known_headers(spec))
    assert found is not None  # _choose_sheet checked it
    header_row, matched = found
    plan.header_row = header_row
    plan.ignored_headers = [
        nfkc(str(cell)).replace("\n", "")
        for i, cell in enumerate(sheet.rows[header_row - 1])
        if i not in matched and not is_blank(cell) and normalise_header(cell) not in SEQ_HEADERS
    ]
    columns: dict[str, tuple[int, str]] = {}
    for index, (field_, written) in sorted(matched.items()):
        if field_ in columns:
            first = columns[field_][1]
            plan.errors.append(
                LedgerError(
                    file_name,
                    f"与「{first}」是同一列，请删去其中一列",
                    plan.sheet,
                    header_row,
                    written,
                )
            )
            continue
        columns[field_] = (index, written)
    part_columns = [(f, columns[f]) for f in PART_FIELDS if spec.parts_for and f in columns]
    for col in spec.columns:
        if col.field == spec.parts_for and part_columns:
            continue  # the unit is named by the 区县/街道/社区 columns
        if col.required and col.field not in columns:
            also = f"（也可写作：{'、'.join(col.aliases)}）" if col.aliases else ""
            plan.errors.append(
                LedgerError(file_name, f"缺少必填列「{col.label}」{also}", plan.sheet)
            )
    seq_col = next(
        (
            i
            for i, cell in enumerate(sheet.rows[header_row - 1])
            if normalise_header(cell) in SEQ_HEADERS
        ),
        None,
    )

    with open_snapshot(db_path) as con:
        ctx = _load_context(con, spec)
    ctx.report_date = report_date(sheet.rows[: header_row - 1])
    default_campaign = None
    if "campaign_id" in {c.field for c in spec.columns} and "campaign_id" not in columns:
        if len(ctx.campaigns) == 1:
            default_campaign = next(iter(ctx.campaigns.values()))
        else:
            plan.errors.append(
                LedgerError(
                    file_name,
                    f"数据库中有 {len(ctx.campaigns)} 个走访活动，文件中必须有「走访活动」列",
                    plan.sheet,
                )
            )
    if kind == "scores" and "value" not in columns and "rate" not in columns:
        plan.errors.append(LedgerError(file_name, "缺少必填列「得分」（或「得分率」）", plan.sheet))
    if kind == "materials" and "updated_on" not in columns and ctx.report_date is None:
        plan.errors.append(
            LedgerError(
                file_name,
                "缺少「填报日期」列，表头上方也没有「填报日期：2026年5月22日」这样的日期行",
                plan.sheet,
            )
        )
    if kind == "units":
        _extend_units(ctx, sheet, header_row, columns, seq_col)
    if plan.errors:
        return plan

    records: list[tuple[int, dict]] = []
    data_rows = 0
    formula_rows = {r for r, _ in sheet.formula_cells}
    for number in range(header_row + 1, len(sheet.rows) + 1):
        row = sheet.rows[number - 1]
        if is_skippable(row, seq_col):
            blank = all(is_blank(v) for v in row)
            if not (blank and number in formula_rows):  # a row of formulas without values
                continue
        data_rows += 1
        if data_rows > max_rows:
            return refuse(f"数据超过 {max_rows} 行的上限，请拆分后分批导入")
        values: dict = {}
        bad: list[tuple[str, str, object, str]] = []  # (rule, header as written, raw, field)
        parts: list[tuple[str, str, object]] = []  # (text, header as written, raw) top-down
        for _part, (index, written) in part_columns:
            raw = row[index] if index < len(row) else None
            if not is_blank(raw):
                parts.append((parse_text(raw), written, raw))
        for col in spec.columns:
            if col.field not in columns or col.type == "unit_part":
                continue
            index, written = columns[col.field]
            raw = row[index] if index < len(row) else None
            if raw is None and (number, index + 1) in sheet.formula_cells:
                bad.append(
                    (
                        "公式没有计算结果（请在 Excel 中打开并保存，或把公式粘贴为数值）",
                        written,
                        "",
                        col.field,
                    )
                )
                continue
            if is_blank(raw):
                if col.field == spec.parts_for and parts:
                    continue  # named by the 区县/街道/社区 columns below
                if col.required:
                    bad.append(("必填项不能为空", written, "", col.field))
                elif col.required_if_present:
                    rule = f"必填项不能为空（文件有「{written}」列时每行都要填写）"
                    bad.append((rule, written, "", col.field))
                elif col.field in spec.key:
                    values[col.field] = col.default
                # otherwise blank means unchanged: the stored value (or the default) stays
                continue
            if nfkc(str(raw)) == CLEAR_MARK:
                if col.required or col.field in spec.key:
                    bad.append((f"必填项不能「{CLEAR_MARK}」", written, raw, col.field))
                else:
                    values[col.field] = None
                continue
            try:
                if col.field == spec.parts_for:
                    values[col.field] = _resolve_unit(ctx, raw, [p[0] for p in parts])
                else:
                    values[col.field] = _parse_cell(col, raw, ctx)
            except CellError as exc:
                bad.append((str(exc), written, raw, col.field))
        unit_failed = any(b[3] == spec.parts_for for b in bad)
        if spec.parts_for and spec.parts_for not in values and not unit_failed:
            if parts:
                text, written, raw = parts[-1]
                try:
                    values[spec.parts_for] = _resolve_unit(ctx, text, [p[0] for p in parts[:-1]])
                except CellError as exc:
                    bad.append((str(exc), written, raw, spec.parts_for))
            elif spec.parts_for not in columns:
                written = "、".join(w for _f, (_i, w) in part_columns)
                bad.append(("区县、街道、社区列都为空，无法确定单位", written, "", spec.parts_for))
        for rule_text, written, raw, _field in bad:
            plan.errors.append(
                LedgerError(file_name, rule_text, plan.sheet, number, written, display(raw))
            )
        failed = {b[3] for b in bad}
        if "campaign_id" in {c.field for c in spec.columns} and "campaign_id" not in columns:
            values["campaign_id"] = default_campaign
        present = set(columns)
        problems = []
        step = KEY_STEPS.get(kind)
        if step is not None:
            problems += _guarded(step, failed, values, ctx, present)
        old: dict = {}
        if not failed and not problems:
            old = ctx.existing.get(_record_key(spec, values), {})
        rule = ROW_RULES.get(kind)
        if rule is not None:
            problems += _guarded(rule, failed, values, old, ctx, present)
        for field_, text in problems:
            index, written = columns.get(field_, (None, spec.column(field_).label))
            raw = sheet.rows[number - 1][index] if index is not None and index < len(row) else None
            plan.errors.append(
                LedgerError(file_name, text, plan.sheet, number, written, display(raw))
            )
        if not failed and not problems:
            records.append((number, values))
    plan.rows = data_rows
    if data_rows == 0 and not plan.errors:
        return refuse(f"表头（第 {header_row} 行）下面没有数据行")

    plan.names = ctx.names
    plan.derived_keys = kind == "problems" and "problem_id" not in columns
    plan.reported_change = "reported_change" in columns
    plan.warnings = ctx.warnings[:20]
    if kind == "units":
        _check_unit_names(plan, ctx, sheet, records, columns)
    _diff(plan, spec, ctx, records, columns)
    if kind == "units":
        _check_unit_tree(plan, ctx, sheet, records, columns)
    return plan


def _extend_units(
    ctx: Context,
    sheet: Sheet,
    header_row: int,
    columns: dict[str, tuple[int, str]],
    seq_col: int | None,
) -> None:
    """Let 上级单位 refer to units that this same file adds.

    Every row naming a unit the database does not have gets its unit_id now (by row), and
    `_diff` gives those rows the same ids, so a parent named in the file is found under the
    id it will have. Other new rows (a known name under another parent) are numbered after.
    Rows the import skips (an example row, a 合计 row) name no unit.
    """
    if "name" not in columns:
        return
    index = columns["name"][0]
    rows = list(ctx.unit_rows)
    known = {name_key(name) for _, name, _, _ in rows}
    next_id = ctx.next_id
    for number, row in enumerate(sheet.rows[header_row:], start=header_row + 1):
        if index >= len(row) or is_blank(row[index]) or is_skippable(row, seq_col):
            continue
        try:
            name = normalise_name(parse_text(row[index]))
        except CellError:  # reported with the row itself
            continue
        if name and name_key(name) not in known:
            rows.append((next_id, name, "new", None))
            ctx.provisional_ids[number] = next_id
            next_id += 1
    ctx.next_id = next_id
    ctx.units = UnitIndex(rows)
    ctx.unit_names = ctx.units.display_names()


def _visible(text: str) -> str:
    """Characters that normalise_name removes shown as <U+200B>, so an error row does not
    turn invisible or reverse its neighbours."""
    return "".join(
        f"<U+{ord(c):04X}>" if not c.isspace() and not normalise_name(c) else c for c in text
    )


def _check_unit_names(
    plan: ImportPlan,
    ctx: Context,
    sheet: Sheet,
    records: list[tuple[int, dict]],
    columns: dict[str, tuple[int, str]],
) -> None:
    """Refuse look-alikes: a name that normalises to a stored unit's name but is written
    otherwise (zero-width or direction characters, full-width or compatibility forms)."""
    index, written = columns["name"]
    stored = {name_key(r["name"]): r["name"] for r in ctx.existing.values()}
    for number, values in records:
        raw = sheet.rows[number - 1][index]
        official = stored.get(name_key(values["name"]))
        if official is None or re.sub(r"\s+", "", str(raw)) == re.sub(r"\s+", "", official):
            continue
        rule = (
            f"与已有单位「{official}」看起来相同，但写法不同（含不可见字符、方向控制符或全角字符）。"
            f"请照单位名录原样填写「{official}」"
        )
        value = _visible(display(raw))
        plan.errors.append(LedgerError(plan.file_name, rule, plan.sheet, number, written, value))


def _check_unit_tree(
    plan: ImportPlan,
    ctx: Context,
    sheet: Sheet,
    records: list[tuple[int, dict]],
    columns: dict[str, tuple[int, str]],
) -> None:
    """The units as they would be after this import form one tree: no unit under its own
    descendant (directly or through other rows of the file) and one top unit only."""
    if plan.errors:
        return
    spec = SPECS["units"]
    stored = list(ctx.existing.values())
    changed = plan.added + plan.updated
    parent = {r["unit_id"]: r["parent_id"] for r in stored}
    name_of = {r["unit_id"]: r["name"] for r in stored}
    stored_roots = {u for u, p in parent.items() if p is None}
    row_of_key = {_record_key(spec, values): number for number, values in reversed(records)}
    row_of = {}
    for r in changed:
        parent[r["unit_id"]] = r.get("parent_id")
        name_of[r["unit_id"]] = r["name"]
        row_of[r["unit_id"]] = row_of_key[_record_key(spec, r)]
    index, written = columns.get("parent_id", (None, spec.column("parent_id").label))

    def report(unit_id: int, rule: str) -> None:
        number = row_of[unit_id]
        row = sheet.rows[number - 1]
        raw = row[index] if index is not None and index < len(row) else None
        plan.errors.append(
            LedgerError(plan.file_name, rule, plan.sheet, number, written, display(raw))
        )

    cycles: set[frozenset[int]] = set()
    rule = "上级单位会形成循环{also}：{path}。单位不能挂在自己的下级单位之下"
    for r in changed:
        start = r["unit_id"]
        chain = [start]
        up = parent.get(start)
        namesake = None  # units are keyed by (上级单位, 名称): 西城区 under its own street
        while up is not None and up != start and up not in chain[1:] and len(chain) <= len(parent):
            chain.append(up)  # would be a new 西城区, as good as a cycle to whoever reads it
            if name_key(name_of.get(up, "")) == name_key(r["name"]):
                namesake = up
                break
            up = parent.get(up)
        if namesake is not None:
            path = " → ".join(name_of.get(u, str(u)) for u in chain)
            report(start, rule.format(also="", path=path))
            continue
        if up != start or frozenset(chain) in cycles:
            continue
        cycles.add(frozenset(chain))
        path = " → ".join(name_of.get(u, str(u)) for u in [*chain, start])
        rows = sorted(row_of[u] for u in chain if u in row_of)
        also = f"（与第 {'、'.join(map(str, rows))} 行一起）" if len(rows) > 1 else ""
        for unit_id in chain:
            if unit_id in row_of:
                report(unit_id, rule.format(also=also, path=path))
    roots = [u for u in stored_roots if parent[u] is None]
    for r in changed:
        if r.get("parent_id") is not None or r["unit_id"] in stored_roots:
            continue
        if roots:
            top = name_of[roots[0]]
            report(
                r["unit_id"],
                f"没有上级单位：已有顶级单位「{top}」，只能有一个顶级单位，请填写上级单位",
            )
        else:
            roots.append(r["unit_id"])  # an empty list of units: the first top unit
    if plan.errors:
        plan.added.clear()
        plan.updated.clear()
        plan.changes.clear()
        plan.unchanged = 0


def _diff(
    plan: ImportPlan, spec: KindSpec, ctx: Context, records: list[tuple[int, dict]], columns: dict
) -> None:
    seen: dict[tuple, int] = {}
    next_id = ctx.next_id
    for number, record in records:
        key = tuple(_key_value(spec, k, record.get(k)) for k in spec.key)
        if key in seen:
            _index, written = columns.get(
                spec.key_column, (None, spec.column(spec.key_column).label)
            )
            shown = " / ".join(
                _show_key(spec, ctx, k, v)
                for k, v in zip(spec.key, key, strict=True)
                if v is not None
            )
            rule = f"与第 {seen[key]} 行重复（按「{spec.key_label}」只能出现一次）"
            if plan.derived_keys:
                _index, written = columns.get("description", (None, "问题描述"))
                shown = record.get("description") or ""
                rule = (
                    f"与第 {seen[key]} 行是同一问题（{DERIVED_KEY_LABEL}都相同）："
                    "请在问题描述中写明区别，或增加「问题编号」列"
                )
            plan.errors.append(
                LedgerError(
                    plan.file_name,
                    rule,
                    plan.sheet,
                    number,
                    written,
                    shown,
                )
            )
            continue
        seen[key] = number
        old = ctx.existing.get(key)
        if old is None:
            row = {**spec.defaults, **record}
            if spec.id_field and number in ctx.provisional_ids:
                row[spec.id_field] = ctx.provisional_ids[number]
            elif spec.id_field:
                row[spec.id_field] = next_id
                next_id += 1
            plan.added.append(row)
            continue
        row = {**old, **record}
        changed = [k for k in record if k in old and old[k] != row[k]]
        if changed:
            plan.updated.append(row)
            for k in changed:
                plan.changes.append({"key": key, "column": k, "old": old[k], "new": row[k]})
        else:
            plan.unchanged += 1
    if plan.errors:
        plan.added.clear()
        plan.updated.clear()
        plan.changes.clear()
        plan.unchanged = 0


def _show_key(spec: KindSpec, ctx: Context, field_: str, value: object) -> str:
    if field_ in ("unit_id", "dept_id"):
        return ctx.unit_names.get(value, str(value))  # type: ignore[arg-type]
    if field_ == "campaign_id":
        return ctx.campaign_names.get(value, str(value))  # type: ignore[arg-type]
    return display(_show(spec, field_, value))


# --- apply ----------------------------------------------------------------------------


@contextlib.contextmanager
def _import_lock(db_path: Path) -> Iterator[None]:
    """One importer at a time per database file (released by the OS if the process dies)."""
    lock_path = db_path.with_name(db_path.name + ".import.lock")
    with open(lock_path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def rejected_log_path(db_path: Path | str) -> Path:
    db_path = Path(db_path)
    return db_path.with_name(db_path.name + ".rejected.jsonl")


def apply_import(db_path: Path | str, plan: ImportPlan, user: str) -> ImportResult:
    """Write a clean plan as a new snapshot (one transaction); log a rejected one beside the file."""
    db_path = Path(db_path)
    rows = plan.rows
    if plan.errors:
        entry = {
            "at": dt.datetime.now().isoformat(),
            "by_user": user,
            "table_name": SPECS[plan.kind].table,
            "file_name": plan.file_name,
            "checksum": plan.checksum,
            "rows": rows,
            "errors": plan.error_count,
            "first_errors": [e.message for e in plan.errors[:5]],
            "result": "rejected",
        }
        with open(rejected_log_path(db_path), "a", encoding="utf-8") as log:
            log.write(json.dumps(entry, ensure_ascii=False) + "\n")
        return ImportResult("rejected", None, rows, 0, 0, 0, errors=plan.error_count)

    spec = SPECS[plan.kind]
    outcome: dict[str, int] = {}

    def fill(con: duckdb.DuckDBPyConnection) -> None:
        _write_rows(con, spec, plan)
        import_id = con.execute("select coalesce(max(import_id), 0) + 1 from imports").fetchone()[0]
        con.execute(
            "insert into imports (import_id, table_name, file_name, rows, rows_added, rows_updated,"
            ' "at", by_user, checksum, result) values ($id, $table, $file, $rows, $added, $updated,'
            " $at, $user, $checksum, 'ok')",
            {
                "id": import_id,
                "table": spec.table,
                "file": plan.file_name,
                "rows": rows,
                "added": len(plan.added),
                "updated": len(plan.updated),
                "at": dt.datetime.now(),
                "user": user,
                "checksum": plan.checksum,
            },
        )
        outcome["import_id"] = int(import_id)

    with _import_lock(db_path):
        if _fingerprint(db_path) != plan.db_fingerprint:
            raise StalePlanError("预览之后数据库已被更新，请重新上传文件预览后再确认导入")
        store.write_snapshot(db_path, fill, base=db_path)
    return ImportResult(
        "ok", outcome["import_id"], rows, len(plan.added), len(plan.updated), plan.unchanged
    )


def _table_for(spec: KindSpec, row: dict) -> str:
    """Where a row is stored: withdrawn (作废) problems apart, so no count sees them."""
    if spec.kind == "problems" and row.get("status") == "withdrawn":
        return "problems_withdrawn"
    return spec.table


def _write_rows(con: duckdb.DuckDBPyConnection, spec: KindSpec, plan: ImportPlan) -> None:
    """Delete the updated rows by key, insert new and updated ones.

    Identifiers in the SQL come from SPECS and the table's own catalogue, never from the
    file; every value travels in a registered DataFrame. A problem whose status becomes
    作废 (or stops being it) moves between `problems` and `problems_withdrawn`.
    """
    for table in (spec.table, *SIDE_TABLES.get(spec.kind, ())):
        types = dict(
            con.execute(
                "select column_name, data_type from information_schema.columns"
                " where table_name = $t",
                {"t": table},
            ).fetchall()
        )
        if plan.updated:
            key = (spec.id_field,) if spec.id_field else spec.key
            keys = pd.DataFrame(
                [[r[k] for k in key] for r in plan.updated], columns=list(key), dtype=object
            )
            con.register("import_keys", keys)
            match = " and ".join(
                f"t.{k} is not distinct from cast(k.{k} as {types[k]})" for k in key
            )
            con.execute(f"delete from {table} t using import_keys k where {match}")  # noqa: S608 - sql: identifiers from allow-list
            con.unregister("import_keys")
        rows = [r for r in plan.added + plan.updated if _table_for(spec, r) == table]
        if not rows:
            continue
        cols = [c for c in types if any(c in r for r in rows)]
        frame = pd.DataFrame([[r.get(c) for c in cols] for r in rows], columns=cols, dtype=object)
        con.register("import_rows", frame)
        casts = ", ".join(f"cast({c} as {types[c]})" for c in cols)
        target = f"{table} ({', '.join(cols)})"
        con.execute(f"insert into {target} select {casts} from import_rows")  # noqa: S608 - sql: identifiers from allow-list
        con.unregister("import_rows")


# --- history and freshness ------------------------------------------------------------


def import_history(db_path: Path | str, limit: int = 200) -> pd.DataFrame:
    """Recorded imports, newest first, including rejected attempts from the side log."""
    db_path = Path(db_path)
    # through the reader's connection to this snapshot (db), not a new ATTACH per call
    frame = db.run_query(db.file_identity(db_path), "import_history", {"n": limit})
    log = rejected_log_path(db_path)
    if log.exists():
        entries = [
            json.loads(line)
            for line in log.read_text(encoding="utf-8").splitlines()
            if line.strip()
        ]
        if entries:
            rejected = pd.DataFrame(entries)
            rejected["at"] = pd.to_datetime(rejected["at"])
            rejected = rejected.reindex(columns=frame.columns)
            frame = pd.concat([frame, rejected], ignore_index=True) if len(frame) else rejected
            frame = frame.sort_values("at", ascending=False).head(limit).reset_index(drop=True)
    counts = ["import_id", "rows", "rows_added", "rows_updated", "errors"]
    return frame.astype({c: "Int64" for c in counts})


def data_freshness(db_path: Path | str) -> pd.DataFrame:
    """Per importable table: row count, last successful import, latest data date."""
    found = db.run_query(db.file_identity(Path(db_path)), "data_freshness", {})
    by_kind = {row.kind: row for row in found.itertuples(index=False)}
    return pd.DataFrame(
        [
            {
                "kind": kind,
                "label": spec.label,
                "rows": int(by_kind[kind].rows),
                "last_import": _python_value(by_kind[kind].last_import),
                "latest_date": _python_value(by_kind[kind].latest_date, date=True),
            }
            for kind, spec in SPECS.items()
        ]
    )


def _python_value(value: object, *, date: bool = False) -> object:
    """A timestamp from a query frame as DuckDB hands it to Python (a datetime, or a date
    for a DATE column); None when missing."""
    if value is None or pd.isna(value):
        return None
    stamp = pd.Timestamp(value).to_pydatetime()
    return stamp.date() if date else stamp


# --- error file and templates ---------------------------------------------------------


def errors_frame(errors: list[LedgerError]) -> pd.DataFrame:
    """The errors as a table for the page: where, what value, which rule."""
    return pd.DataFrame(
        [
            {
                "工作表": e.sheet or "",
                "行号": e.row,
                "列名": e.column or "",
                "值": e.value or "",
                "问题": e.rule,
                "说明": e.message,
            }
            for e in errors
        ],
        columns=["工作表", "行号", "列名", "值", "问题", "说明"],
    ).astype({"行号": "Int64"})


def errors_as_csv(errors: list[LedgerError]) -> bytes:
    """The errors as a CSV for download: UTF-8 with BOM so Excel opens it in Chinese."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["文件", "工作表", "行号", "列名", "值", "问题", "说明"])
    for e in errors:
        writer.writerow(
            [
                neutralise(v)
                for v in (
                    e.file_name,
                    e.sheet or "",
                    e.row or "",
                    e.column or "",
                    e.value or "",
                    e.rule,
                    e.message,
                )
            ]
        )
    return "\ufeff".encode() + buffer.getvalue().encode("utf-8")


def _type_note(col: Column) -> str:
    if col.type == "date":
        return "日期，如 2026-05-22 或 2026年5月22日"
    if col.type == "enum":
        return "可选：" + "、".join((col.enum or {}).values())
    if col.type == "bool":
        return "填「是」或「否」" + "".join(f"、「{w}」" for w in col.true_words + col.false_words)
    if col.type == "int":
        return "整数" + ("，不能为负" if col.minimum == 0 else "")
    if col.type == "number":
        return "数字"
    if col.type == "rate":
        return "比率，如 85% 或 0.85"
    if col.type == "unit":
        return "单位名称，须与单位名录一致"
    if col.type == "indicator":
        return "指标编号，如 F-03"
    if col.type in ("assessment", "campaign", "point"):
        return "名称，须与系统中已有的一致"
    return "文字"


def template_rules(spec: KindSpec) -> list[str]:
    """The rules printed under the columns on a template's 填写说明 sheet."""
    lines = [
        f"按「{spec.key_label}」识别同一条记录：重复导入不会重复计数，改正后的文件只更新改动的行。",
        f"更新已有记录时，空白的格保持原值不变；要删去已存的值，请在该格填「{CLEAR_MARK}」"
        "（必填列不能清空）。文件中没有的列也保持原值。",
        "表中不认识的列不会导入，预览时会列出它们的列名。",
    ]
    if spec.parts_for:
        lines.append(
            "重名单位（如多个街道都有「文苑社区」）必须写明上级：写作「和平街道文苑社区」"
            "「东城区/和平街道/文苑社区」「东城区 和平街道 文苑社区」，或另设「区县」「街道」「社区」列；"
            "仍对应多个单位时不导入，并列出所有同名单位。"
        )
    if spec.kind == "problems":
        lines += [
            f"没有「问题编号」列时，按「{DERIVED_KEY_LABEL}」生成编号（{DERIVED_KEY_PREFIX}开头）："
            "下周的台账只要这几项不变，就更新同一问题；改动了其中任一项会被当作新问题。"
            "有「问题编号」列时每行都要填写。",
            "整改状态填「作废」（或撤销、无效）的问题不再计入任何统计和排名，记录保留；"
            "以后改回其他状态即恢复。",
        ]
    lines.append(
        "「序号」为「示例」的行不会导入；合计行、空行自动跳过。请勿填写群众姓名、电话、身份证号。"
    )
    return lines


def template_xlsx(kind: str) -> bytes:
    """An empty ledger for `kind`: title row, 填报单位/日期 line, headers, an example row, notes."""
    spec = SPECS[kind]
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    title = book.add_format({"bold": True, "font_size": 16, "align": "center", "valign": "vcenter"})
    head = book.add_format(
        {"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True, "align": "center"}
    )
    required = book.add_format(
        {"bold": True, "bg_color": "#FCE4D6", "border": 1, "text_wrap": True, "align": "center"}
    )
    example = book.add_format({"italic": True, "font_color": "#6B7280", "border": 1})
    example_date = book.add_format(
        {"italic": True, "font_color": "#6B7280", "border": 1, "num_format": "yyyy-mm-dd"}
    )
    sheet = book.add_worksheet(spec.label)
    shown = [c for c in spec.columns if not c.hidden]
    width = len(shown) + 1
    sheet.merge_range(0, 0, 0, width - 1, neutralise(f"{spec.label}（模板）"), title)
    sheet.write(1, 0, "填报单位：")
    sheet.write(1, max(width - 3, 1), "填报日期：    年  月  日")
    sheet.write(2, 0, "序号", head)
    sheet.write(3, 0, "示例", example)
    sheet.set_column(0, 0, 6)
    for i, col in enumerate(shown, start=1):
        sheet.write(2, i, neutralise(col.label), required if col.required else head)
        note = (
            ("必填。" if col.required else "选填。")
            + _type_note(col)
            + (f"。{col.note}" if col.note else "")
        )
        sheet.write_comment(2, i, neutralise(note))
        sheet.set_column(i, i, max(12, len(col.label) * 2 + 4))
        value = col.example
        if isinstance(value, dt.date):
            sheet.write_datetime(3, i, dt.datetime.combine(value, dt.time()), example_date)
        elif value is not None:
            sheet.write(3, i, neutralise(value), example)
        else:
            sheet.write_blank(3, i, None, example)
    sheet.freeze_panes(3, 0)
    notes = book.add_worksheet("填写说明")
    notes.write_row(0, 0, ["列名", "是否必填", "填写要求", "也可写作"], head)
    for r, col in enumerate(spec.columns, start=1):
        notes.write_row(
            r,
            0,
            [
                neutralise(v)
                for v in (
                    col.label,
                    "必填" if col.required else "选填",
                    _type_note(col) + (f"。{col.note}" if col.note else ""),
                    "、".join(col.aliases),
                )
            ],
        )
    tail = len(spec.columns) + 2
    for offset, line in enumerate(template_rules(spec)):
        notes.write(tail + offset, 0, neutralise(line))
    notes.set_column(0, 0, 16)
    notes.set_column(2, 2, 60)
    notes.set_column(3, 3, 36)
    book.close()
    return buffer.getvalue()


# --- CLI ------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m dashboard.importer", description="导入单位台账（Excel/CSV）"
    )
    parser.add_argument("--db", required=True, help="DuckDB 数据库文件")
    parser.add_argument("--kind", required=True, choices=sorted(SPECS), help="台账类型")
    parser.add_argument("--user", default=os.environ.get("USER", "cli"), help="导入人")
    parser.add_argument("--dry-run", action="store_true", help="只校验和预览，不写入")
    parser.add_argument("--max-mb", type=float, default=MAX_FILE_BYTES / 1048576)
    parser.add_argument("--max-rows", type=int, default=MAX_ROWS)
    parser.add_argument("file")
    args = parser.parse_args(argv)
    path = Path(args.file)
    try:
        data = path.read_bytes()
    except OSError as exc:
        print(f"无法读取文件「{path}」：{exc.strerror}")
        return 1
    plan = prepare_import(
        args.db,
        data,
        path.name,
        args.kind,
        max_bytes=int(args.max_mb * 1048576),
        max_rows=args.max_rows,
    )
    print(plan.summary())
    if plan.errors:
        for error in plan.errors:
            print(error.message)
        if not args.dry_run:
            apply_import(args.db, plan, args.user)
        return 1
    if len(plan.added) + len(plan.updated):
        with pd.option_context("display.max_columns", 30, "display.width", 200):
            print(plan.preview(10).to_string(index=False))
    if args.dry_run:
        print("（试运行，未写入数据库）")
        return 0
    result = apply_import(args.db, plan, args.user)
    print(result.summary())
    return 0


if __name__ == "__main__":
    sys.exit(main())
