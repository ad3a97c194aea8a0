"""周通报: the weekly bulletin as a Word document (government form) and an Excel workbook.

`compose` turns one week's numbers (dashboard/weekly.py, dashboard/flags.py) into the
bulletin's content — title, summary sentences, ranking tables, red flags, praise and
criticism — and `build_docx` / `build_xlsx` lay that content out. The content depends only
on the scope, the week and the database: no "now" in the body, stable sorts, fixed
document dates (the issue date = the Monday after the week) and fixed zip timestamps, so
the same week and database give the same bytes.

Praise and criticism rules and the ranked unit kinds live in config/bulletin.toml; a bound
written "达标线" / "落后线" is the metric's status line in config/status.toml (the red and
black lists of 整改率), so the bulletin and every page draw the same line.
Every text cell passes through dashboard.export.neutralise.
"""

from __future__ import annotations

import datetime as dt
import io
import tomllib
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import xlsxwriter
from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor
from docx.table import _Cell

from dashboard import status, weekly
from dashboard.components.text import is_missing, pct, pct_short, place_text
from dashboard.db import ROOT
from dashboard.export import neutralise
from dashboard.labels import UNIT_KIND, label

CONFIG_PATH = ROOT / "config" / "bulletin.toml"
BODY_FONT = "仿宋"
HEADING_FONT = "黑体"
LATIN_FONT = "Times New Roman"
BOUNDS = {"at_least": "≥", "below": "<", "at_most": "≤"}
# A bound may name a status line of the metric instead of a number (config/status.toml):
# 达标线 = its target (整改率: the red list), 落后线 = target − margin (the black list).
STATUS_LINES = {"达标线": "target", "落后线": "floor"}


# ── configuration ─────────────────────────────────────────────────────────────────────


class BulletinConfigError(ValueError):
    """config/bulletin.toml is broken; the message says where, in Chinese."""


@dataclass(frozen=True)
class Judgement:
    """One praise or criticism rule: metric, bound (at_least / below / at_most), threshold."""

    metric: str
    bound: str
    threshold: float
    min_denominator: int = 1
    max_named: int = 0  # name at most this many units (best/worst first); 0 = all

    def holds(
        self,
        value: float | None,
        denominator: float | None,
        rule: status.StatusRule | None = None,
    ) -> bool:
        """`rule`: the metric's status rule when the caller read it once for many rows."""
        if (
            value is None
            or is_missing(value)
            or not denominator
            or denominator < max(self.min_denominator, 1)
        ):
            return False
        value = (rule or status.rule(self.metric)).shown(value)  # judged as displayed
        if self.bound == "at_least":
            return value >= self.threshold - 1e-12
        if self.bound == "below":
            return value < self.threshold - 1e-12
        return value <= self.threshold + 1e-12

    def holds_all(
        self, values: np.ndarray, denominators: np.ndarray, rule: status.StatusRule
    ) -> np.ndarray:
        """[holds(value or None, denominator, rule) …] for arrays (NaN = missing), the same
        verdicts: a value more than one unit of its last shown digit away from the
        threshold is judged as it is (its shown value lies on the same side), the few
        nearer ones by `holds` itself."""
        v = np.asarray(values, dtype="float64")
        d = np.asarray(denominators, dtype="float64")
        known = ~np.isnan(v) & (d != 0) & ~(d < max(self.min_denominator, 1))
        t = self.threshold
        if self.bound == "at_least":
            verdict = v >= t
        elif self.bound == "below":
            verdict = v < t
        else:
            verdict = v <= t
        out = known & verdict
        for i in np.flatnonzero(known & (np.abs(v - t) <= 10.0**-rule.digits)):
            out[i] = self.holds(float(v[i]), float(d[i]), rule)
        return out

    def phrase(self) -> str:
        """整改率达到90%及以上 / 整改率低于85% / 台账完成率为0"""
        name = weekly.metric(self.metric).label
        t = pct_short(self.threshold)
        if self.bound == "at_least":
            return f"{name}达到{t}及以上"
        if self.bound == "below":
            return f"{name}低于{t}"
        return f"{name}为0" if self.threshold == 0 else f"{name}不高于{t}"


@dataclass(frozen=True)
class BulletinConfig:
    issuer: str = "创建全国文明城市工作指挥部办公室"
    levels: tuple[str, ...] = ("street", "department")
    max_flags: int = 20
    praise: tuple[Judgement, ...] = field(
        default_factory=lambda: (
            Judgement("rectification_rate", "at_least", status.rule("rectification_rate").target),
        )
    )
    criticism: tuple[Judgement, ...] = field(default_factory=lambda: (
        Judgement("rectification_rate", "below", status.rule("rectification_rate").floor),
    ))  # fmt: skip


def _judgements(items: object, where: str) -> tuple[Judgement, ...]:
    if not isinstance(items, list):
        raise BulletinConfigError(f"{where} 应写成 [[{where}]] 表的列表")
    out = []
    for i, item in enumerate(items, start=1):
        spot = f"第 {i} 条 [[{where}]]"
        if not isinstance(item, dict):
            raise BulletinConfigError(f"{spot} 应为表")
        metric = item.get("metric")
        if metric not in weekly.WEEKLY_METRICS:
            allowed = "、".join(weekly.WEEKLY_METRICS)
            raise BulletinConfigError(f"{spot} 的 metric “{metric}” 未知，可选：{allowed}")
        bounds = [b for b in BOUNDS if b in item]
        if len(bounds) != 1:
            raise BulletinConfigError(f"{spot} 须且只须写一个界限：at_least、below 或 at_most")
        unknown = set(item) - {"metric", "min_denominator", "max_named", *BOUNDS}
        if unknown:
            raise BulletinConfigError(f"{spot} 含未知项 “{sorted(unknown)[0]}”")
        threshold = item[bounds[0]]
        if isinstance(threshold, str) and threshold in STATUS_LINES:
            # a status line of config/status.toml: read there, never copied
            threshold = getattr(status.rule(metric), STATUS_LINES[threshold])
        elif isinstance(threshold, str):
            raise BulletinConfigError(
                f'{spot} 的界限 “{threshold}” 未知：写数字，或 "达标线"、"落后线"'
                "（取 config/status.toml 中该指标的线）"
            )
        if isinstance(threshold, bool) or not isinstance(threshold, int | float):
            raise BulletinConfigError(f"{spot} 的界限应为数字，现为 {threshold!r}")
        if not 0 <= threshold <= 1:
            raise BulletinConfigError(
                f"{spot} 的界限 {threshold} 超出 0 ~ 1（比例写成小数，如 0.85 表示 85%）"
            )
        minimum = item.get("min_denominator", 1)
        if isinstance(minimum, bool) or not isinstance(minimum, int) or minimum < 0:
            raise BulletinConfigError(f"{spot} 的 min_denominator 应为非负整数")
        named = item.get("max_named", 0)
        if isinstance(named, bool) or not isinstance(named, int) or named < 0:
            raise BulletinConfigError(f"{spot} 的 max_named 应为非负整数（0 表示全部列出）")
        out.append(Judgement(metric, bounds[0], float(threshold), minimum, named))
    return tuple(out)


def parse_config(data: dict) -> BulletinConfig:
    office = data.get("office", {})
    ranking = data.get("ranking", {})
    levels = ranking.get("levels", list(BulletinConfig.levels))
    if not isinstance(levels, list) or any(k not in weekly.COMPARISON_KINDS for k in levels):
        allowed = "、".join(weekly.COMPARISON_KINDS)
        raise BulletinConfigError(f"[ranking] levels 应为单位类别列表，可选：{allowed}")
    max_flags = ranking.get("max_flags", BulletinConfig.max_flags)
    if isinstance(max_flags, bool) or not isinstance(max_flags, int) or max_flags < 0:
        raise BulletinConfigError("[ranking] max_flags 应为非负整数")
    issuer = office.get("issuer", BulletinConfig.issuer)
    if not isinstance(issuer, str) or not issuer.strip():
        raise BulletinConfigError("[office] issuer 应为发文机关名称")
    return BulletinConfig(
        issuer=issuer.strip(),
        levels=tuple(levels),
        max_flags=max_flags,
        praise=_judgements(data.get("praise", []), "praise"),
        criticism=_judgements(data.get("criticism", []), "criticism"),
    )


def load_config(path: Path | str | None = None) -> BulletinConfig:
    path = Path(path or CONFIG_PATH)
    if not path.exists():
        return BulletinConfig()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise BulletinConfigError(f"{path.name} 不是有效的 TOML：{exc}") from exc
    return parse_config(data)


# ── content ────────────────────────────────────────────────────────────────────────────


def cn_date(day: dt.date, *, year: bool = True) -> str:
    """2026年6月7日 (the form of a government document)."""
    text = f"{day.month}月{day.day}日"
    return f"{day.year}年{text}" if year else text


def change_phrase(change: float | None) -> str:
    """较上周提高 1.2 个百分点 / 下降 … / 与上周持平 / 上周无数据."""
    if change is None or is_missing(change):
        return "上周无可比数据"
    points = round(change * 100, 1)
    if points == 0:
        return "与上周持平"
    verb = "提高" if points > 0 else "下降"
    return f"较上周{verb} {abs(points):.1f} 个百分点"


def points_cell(change: float | None) -> str:
    """The change in 百分点 for a table cell: ＋16.7 / −50.0 / 0.0 / —."""
    if change is None or is_missing(change):
        return "—"
    points = round(change * 100, 1)
    if points == 0:
        return "0.0"
    # A full-width plus: a leading ASCII "+" would be taken for a formula and neutralised.
    return f"{'＋' if points > 0 else '−'}{abs(points):.1f}"


def _count(value: object) -> str:
    return "—" if is_missing(value) else str(int(value))


@dataclass(frozen=True)
class RankingTable:
    metric: str
    label: str
    level: str
    level_label: str
    rows: pd.DataFrame  # weekly.changes rows with a value, in rank order
    unranked: int  # units of the level without a value (no denominator)

    @property
    def heading(self) -> str:
        return f"{self.label}排名（{self.level_label}）"

    HEADER = ("名次", "单位", "本周", "完成情况", "较上周(百分点)", "名次变化")

    def cells(self) -> list[list[str]]:
        """The table as text, header first (what the docx shows)."""
        spec = weekly.metric(self.metric)
        header = list(self.HEADER)
        header[2] = self.label
        header[3] = f"{spec.numerator_label}/{spec.denominator_label}"
        out = [header]
        for r in self.rows.itertuples():
            out.append(
                [
                    place_text(r.rank, tied=bool(r.tied)),
                    str(r.name),
                    pct(r.value),
                    f"{_count(r.numerator)}/{_count(r.denominator)}",
                    points_cell(r.change),
                    str(r.rank_change),
                ]
            )
        return out


@dataclass(frozen=True)
class Named:
    """Units named for praise or criticism under one rule."""

    judgement: Judgement
    level: str
    units: tuple[tuple[str, float], ...]  # (name, value), the ones named
    total: int = 0  # units that met the rule (≥ len(units) when max_named cuts the list)


@dataclass(frozen=True)
class Bulletin:
    scope_id: int
    scope_name: str
    week: weekly.Week
    title: str
    subtitle: str
    issuer: str
    issue_date: dt.date
    summary: tuple[str, ...]
    tables: tuple[RankingTable, ...]
    flags: pd.DataFrame  # weekly.flag_changes rows still flagged at the week's end
    flags_total: int
    flags_appeared: int
    flags_cleared: int
    praise: tuple[Named, ...]
    criticism: tuple[Named, ...]
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def file_stem(self) -> str:
        return f"{self.scope_name}创文周通报_{self.week.title}"

    FLAG_HEADER = ("序号", "等级", "单位", "问题", "责任单位", "整改时限", "状态")

    def flag_cells(self) -> list[list[str]]:
        out = [list(self.FLAG_HEADER)]
        for i, r in enumerate(self.flags.itertuples(), start=1):
            status = "本周新增" if r.status == "appeared" else f"持续 {int(r.weeks_red)} 周"
            out.append(
                [
                    str(i),
                    f"{r.severity_label}",
                    str(r.unit_name),
                    f"{r.rule_name}：{r.value_text}",
                    str(r.owner_name or "—"),
                    "—" if is_missing(r.deadline) or r.deadline is None else str(r.deadline),
                    status,
                ]
            )
        return out


def _scope_word(kind: str) -> str:
    return {"city": "全市", "district": "全区", "province": "全省"}.get(kind, "")


def compose(scope_id: int, week_end: dt.date, config: BulletinConfig | None = None) -> Bulletin:
    """Everything the bulletin says for the Mon–Sun week containing week_end."""
    config = config or load_config()
    week = weekly.Week.containing(week_end)
    s = weekly.summary(scope_id, week)
    from dashboard import metrics  # local: keeps the module's public surface small

    units = metrics.units()
    kind = str(units["kind"].to_numpy()[units["unit_id"].to_numpy() == scope_id][0])
    who = _scope_word(kind) or s.scope_name
    levels = [k for k in config.levels if k in weekly.comparison_levels(scope_id)]

    tables = []
    frames: dict[tuple[str, str], pd.DataFrame] = {}
    for key in weekly.WEEKLY_METRICS:
        for level in levels:
            frame = weekly.changes(key, scope_id, week, level)
            frames[(key, level)] = frame
            has_value = frame["value"].notna()
            if not has_value.any():
                continue
            tables.append(
                RankingTable(
                    key,
                    weekly.metric(key).label,
                    level,
                    label(UNIT_KIND, level),
                    frame[has_value].reset_index(drop=True),
                    int((~has_value).sum()),
                )
            )

    flag_rows = weekly.flag_changes(scope_id, week)
    # The bulletin lists flags by the engine's priority, whatever their week-over-week status.
    # (highest priority first, then rule, then unit: a stable sort of the row positions,
    # only the rows shown taken)
    statuses = flag_rows["status"].to_numpy(dtype=object)
    now_at = np.flatnonzero(statuses != "cleared")
    now_at = now_at[
        np.lexsort(
            (
                flag_rows["unit_id"].to_numpy()[now_at],
                flag_rows["rule_id"].to_numpy(dtype=str)[now_at],
                -flag_rows["priority"].to_numpy(dtype="float64")[now_at],
            )
        )
    ]
    appeared = int((statuses == "appeared").sum())
    cleared = int((statuses == "cleared").sum())

    def named(rules: tuple[Judgement, ...], best_first: bool) -> tuple[Named, ...]:
        out = []
        for j in rules:
            for level in levels:
                frame = frames.get((j.metric, level))
                if frame is None:
                    continue
                rule = status.rule(j.metric)  # read once, not once per row
                values = frame["value"].to_numpy(dtype="float64", na_value=np.nan)
                denominators = frame["denominator"].to_numpy(dtype="float64", na_value=np.nan)
                hits = np.flatnonzero(j.holds_all(values, denominators, rule))
                # best (worst) first, then official order, then unit id
                ordered = hits[
                    np.lexsort(
                        (
                            frame["unit_id"].to_numpy(dtype="int64")[hits],
                            frame["sort_order"].to_numpy(dtype="int64")[hits],
                            -values[hits] if best_first else values[hits],
                        )
                    )
                ]
                shown = ordered[: j.max_named] if j.max_named else ordered
                names = frame["name"].to_numpy(dtype=object)
                units = tuple((str(names[i]), float(values[i])) for i in shown)
                out.append(Named(j, level, units, len(hits)))
        return tuple(out)

    praise = named(config.praise, True)
    criticism = named(config.criticism, False)

    summary = _summary_sentences(s, who, tables, len(now_at), appeared, cleared)
    return Bulletin(
        scope_id=scope_id,
        scope_name=s.scope_name,
        week=week,
        title=f"{s.scope_name}创建全国文明城市工作周通报",
        subtitle=f"（{week.title}）",
        issuer=f"{s.scope_name}{config.issuer}",
        issue_date=week.end + dt.timedelta(days=1),
        summary=summary,
        tables=tuple(tables),
        flags=flag_rows.take(now_at[: config.max_flags]).reset_index(drop=True),
        flags_total=len(now_at),
        flags_appeared=appeared,
        flags_cleared=cleared,
        praise=praise,
        criticism=criticism,
        notes=(
            "统计口径：整改率＝截至统计日已整改问题数÷已发现问题数（问题按属地单位和责任单位"
            "分别计入）；走访覆盖率＝已走访对象数（按户、按主体去重，不按走访次数）÷应走访对象数；"
            "台账完成率＝已完成台账项÷应报送台账项（实行审核的按审核通过数）；"
            "名次为同类单位由高到低的排名，数值相同（按显示精度）的并列同一名次，下一名次顺延"
            "（1、1、3）；较上周为与上周日数据相比的变化。",
        ),
    )


def _summary_sentences(
    s: weekly.WeeklySummary,
    who: str,
    tables: list[RankingTable],
    flags_now: int,
    appeared: int,
    cleared: int,
) -> tuple[str, ...]:
    week = s.week
    first = (
        f"本周（{cn_date(week.start)}至{cn_date(week.end, year=False)}），{who}新发现问题 "
        f"{s.found} 个，完成整改 {s.rectified} 个，新增逾期问题 {s.newly_overdue} 个"
    )
    if s.newly_overdue_severe:
        first += f"（其中严重问题 {s.newly_overdue_severe} 个）"
    first += (
        f"；上周分别为 {s.found_prev_week} 个、{s.rectified_prev_week} 个、"
        f"{s.newly_overdue_prev_week} 个。"
    )
    rect = s.rates["rectification_rate"]
    second = (
        f"截至{cn_date(week.end, year=False)}，{who}累计发现问题 {s.found_total} 个，"
        f"已整改 {s.rectified_total} 个，整改率 {pct(rect.value)}，{change_phrase(rect.change)}；"
        f"逾期未整改问题 {s.overdue_open} 个"
    )
    second += f"，其中严重问题 {s.overdue_open_severe} 个。" if s.overdue_open_severe else "。"
    parts = []
    for key in ("coverage_rate", "completion_rate"):
        r = s.rates[key]
        if r.value is None:
            parts.append(f"{r.label}暂无数据")
        else:
            parts.append(f"{r.label} {pct(r.value)}，{change_phrase(r.change)}")
    third = "；".join(parts) + "。"
    movers = []
    for t in tables:
        if t.metric != "rectification_rate":
            continue
        up, down, _shown = weekly.mover_order(t.rows)  # the first of weekly.movers
        names, changes = t.rows["name"], t.rows["change"]
        bits = []
        if len(up):
            bits.append(
                f"提升最多的是{names.iat[up[0]]}（{points_cell(changes.iat[up[0]])} 个百分点）"
            )
        if len(down):
            bits.append(
                f"下降最多的是{names.iat[down[0]]}（{points_cell(changes.iat[down[0]])} 个百分点）"
            )
        if bits:
            movers.append(f"{t.level_label}中整改率" + "，".join(bits))
    fourth = ("；".join(movers) + "。") if movers else ""
    fifth = f"目前共有红旗预警 {flags_now} 项，其中本周新增 {appeared} 项，本周解除 {cleared} 项。"
    test = s.next_test
    sixth = ""
    if test is not None:
        if test.under_way:
            sixth = f"{test.name}正在进行，请各单位全力做好迎检工作。"
        else:
            sixth = (
                f"截至{cn_date(week.end, year=False)}，距{test.name}"
                f"（{cn_date(test.start_date, year=False)}开始）还有 "
                f"{test.days_left} 天，请各单位倒排工期、压实责任，确保问题按期整改到位。"
            )
    return tuple(x for x in (first, second, third, fourth, fifth, sixth) if x)


def judgement_sentence(n: Named, *, praise: bool) -> str:
    level = label(UNIT_KIND, n.level)
    if not n.units:
        return f"本周{level}中无{n.judgement.phrase()}的单位。"
    names = "、".join(f"{name}（{pct(value)}）" for name, value in n.units)
    if n.total > len(n.units):
        order = "最高" if praise else "最低"
        names = f"共 {n.total} 个，其中{order}的 {len(n.units)} 个是：{names}"
    if praise:
        return f"{level}中{n.judgement.phrase()}的有：{names}，予以表扬。"
    return f"{level}中{n.judgement.phrase()}的有：{names}，予以通报批评，请限期整改。"


# ── Word ───────────────────────────────────────────────────────────────────────────────


def _fonts(run, east_asia: str, size: float, *, bold: bool = False, color=None) -> None:
    run.font.name = LATIN_FONT
    run.font.size = Pt(size)
    run.font.bold = bold
    if color is not None:
        run.font.color.rgb = color
    r_pr = run._element.get_or_add_rPr()
    r_fonts = r_pr.find(qn("w:rFonts"))
    if r_fonts is None:
        r_fonts = OxmlElement("w:rFonts")
        r_pr.insert(0, r_fonts)
    r_fonts.set(qn("w:eastAsia"), east_asia)
    r_fonts.set(qn("w:ascii"), LATIN_FONT)
    r_fonts.set(qn("w:hAnsi"), LATIN_FONT)


def _para(doc, text: str, *, font=BODY_FONT, size=16, bold=False, align=None, indent=True,
          color=None, space_after=0):  # fmt: skip
    p = doc.add_paragraph()
    fmt = p.paragraph_format
    fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    fmt.line_spacing = Pt(max(28, size * 1.5))
    fmt.space_after = Pt(space_after)
    fmt.space_before = Pt(0)
    if indent:
        fmt.first_line_indent = Pt(size * 2)
    if align is not None:
        p.alignment = align
    _fonts(p.add_run(neutralise(text)), font, size, bold=bold, color=color)
    return p


def _red_rule(paragraph) -> None:
    """The red line under the issuing office (红头 form)."""
    p_pr = paragraph._p.get_or_add_pPr()
    border = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for k, v in {"val": "single", "sz": "18", "space": "6", "color": "C00000"}.items():
        bottom.set(qn(f"w:{k}"), v)
    border.append(bottom)
    p_pr.append(border)


def _table(doc, cells: list[list[str]], widths: list[float]) -> None:
    table = doc.add_table(rows=len(cells), cols=len(cells[0]))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    layout = OxmlElement("w:tblLayout")  # fixed widths: Word and LibreOffice agree
    layout.set(qn("w:type"), "fixed")
    table._tbl.tblPr.append(layout)
    for j, width in enumerate(widths):
        table.columns[j].width = Cm(width)
    # Walk the XML rows directly: table.cell(i, j) rescans the whole table on every call.
    for i, (tr, row) in enumerate(zip(table._tbl.tr_lst, cells, strict=True)):
        for j, (tc, value) in enumerate(zip(tr.tc_lst, row, strict=True)):
            cell = _Cell(tc, table)
            cell.width = Cm(widths[j])
            p = cell.paragraphs[0]
            p.alignment = WD_ALIGN_PARAGRAPH.LEFT if j == 3 and len(row) == 7 else (
                WD_ALIGN_PARAGRAPH.CENTER
            )  # fmt: skip
            _fonts(
                p.add_run(str(neutralise(value))),
                HEADING_FONT if i == 0 else BODY_FONT,
                11 if i == 0 else 10.5,
            )
        if i == 0:
            tr_pr = tr.get_or_add_trPr()
            header = OxmlElement("w:tblHeader")  # repeat the header row on each page
            tr_pr.append(header)


def build_docx(scope_id: int, week_end: dt.date, config: BulletinConfig | None = None) -> bytes:
    """The bulletin as a .docx: same scope, week and database → the same bytes."""
    return render_docx(compose(scope_id, week_end, config))


def render_docx(b: Bulletin) -> bytes:
    doc = Document()
    section = doc.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Cm(21), Cm(29.7)
    section.top_margin, section.bottom_margin = Cm(3.7), Cm(3.5)
    section.left_margin, section.right_margin = Cm(2.8), Cm(2.6)
    normal = doc.styles["Normal"]
    normal.font.name = LATIN_FONT
    normal.font.size = Pt(16)
    normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), BODY_FONT)

    red = RGBColor(0xC0, 0x00, 0x00)
    _para(doc, b.title, font=HEADING_FONT, size=22, align=WD_ALIGN_PARAGRAPH.CENTER,
          indent=False, color=red)  # fmt: skip
    _para(doc, b.subtitle, font=BODY_FONT, size=16, align=WD_ALIGN_PARAGRAPH.CENTER,
          indent=False)  # fmt: skip
    date_line = _para(doc, f"{b.issuer}　　{cn_date(b.issue_date)}", size=14,
                      align=WD_ALIGN_PARAGRAPH.CENTER, indent=False, space_after=12)  # fmt: skip
    _red_rule(date_line)

    _para(doc, "一、总体情况", font=HEADING_FONT, indent=True)
    for sentence in b.summary:
        _para(doc, sentence)

    _para(doc, "二、排名情况", font=HEADING_FONT)
    if not b.tables:
        _para(doc, "本周暂无可排名的数据。")
    for i, t in enumerate(b.tables, start=1):
        _para(doc, f"（{_cn_number(i)}）{t.heading}", bold=True)
        _table(doc, t.cells(), [1.2, 2.8, 2.6, 3.6, 3.2, 2.2])
        if t.unranked:
            _para(doc, f"另有 {t.unranked} 个{t.level_label}单位无{t.label}数据，未列入排名。",
                  size=12, indent=False)  # fmt: skip

    _para(doc, "三、红旗预警", font=HEADING_FONT)
    if b.flags_total == 0:
        _para(doc, "本周无红旗预警。")
    else:
        shown = len(b.flags)
        intro = f"截至{cn_date(b.week.end, year=False)}共有红旗预警 {b.flags_total} 项"
        intro += f"，按优先级列出前 {shown} 项：" if shown < b.flags_total else "，清单如下："
        _para(doc, intro)
        _table(doc, b.flag_cells(), [1.3, 1.3, 1.9, 4.7, 2.1, 2.3, 2.0])

    _para(doc, "四、表扬与通报批评", font=HEADING_FONT)
    for n in b.praise:
        _para(doc, judgement_sentence(n, praise=True))
    for n in b.criticism:
        _para(doc, judgement_sentence(n, praise=False))
    if not b.praise and not b.criticism:
        _para(doc, "本周未设置表扬与通报批评标准。")

    _para(doc, "请各单位对照本通报，逐项压实责任，对逾期问题立即整改销号，对照时间节点加快走访"
               "和台账报送进度，以实际成效迎接测评。")  # fmt: skip
    for note in b.notes:
        _para(doc, note, size=12)
    _para(doc, b.issuer, align=WD_ALIGN_PARAGRAPH.RIGHT, indent=False)
    _para(doc, cn_date(b.issue_date), align=WD_ALIGN_PARAGRAPH.RIGHT, indent=False)

    fixed = dt.datetime.combine(b.issue_date, dt.time(8, 0))
    props = doc.core_properties
    props.title = f"{b.title}{b.subtitle}"
    props.author = b.issuer
    props.last_modified_by = b.issuer
    props.created = fixed
    props.modified = fixed
    props.last_printed = fixed
    props.revision = 1
    props.comments = ""
    buffer = io.BytesIO()
    doc.save(buffer)
    return _stable_zip(buffer.getvalue())


def _cn_number(n: int) -> str:
    digits = "零一二三四五六七八九"
    if n < 10:
        return digits[n]
    tens, ones = divmod(n, 10)
    return ("十" if tens == 1 else digits[tens] + "十") + (digits[ones] if ones else "")


def _stable_zip(data: bytes) -> bytes:
    """Rewrite a zip package with fixed member timestamps (python-docx stamps "now")."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as src,
        zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as dst,
    ):
        for info in src.infolist():
            member = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            member.compress_type = zipfile.ZIP_DEFLATED
            member.external_attr = 0o600 << 16
            dst.writestr(member, src.read(info.filename))
    return out.getvalue()


def docx_text(data: bytes) -> str:
    """A plain-text rendering of a .docx — paragraphs and tables in body order — for golden
    files that reviewers read in diffs."""
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    doc = Document(io.BytesIO(data))
    lines: list[str] = []
    for child in doc.element.body.iterchildren():
        if child.tag == qn("w:p"):
            text = Paragraph(child, doc).text.strip()
            if text:
                lines.append(text)
        elif child.tag == qn("w:tbl"):
            for row in Table(child, doc).rows:
                lines.append("| " + " | ".join(c.text.strip() for c in row.cells) + " |")
    return "\n".join(lines) + "\n"


# ── Excel ──────────────────────────────────────────────────────────────────────────────


def build_xlsx(scope_id: int, week_end: dt.date, config: BulletinConfig | None = None) -> bytes:
    """The bulletin's tables as an .xlsx (概况, one sheet per ranking metric, 红旗预警,
    表扬与批评): rates as numbers in % format, every text cell neutralised."""
    return render_xlsx(compose(scope_id, week_end, config))


def render_xlsx(b: Bulletin) -> bytes:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(
        buffer,
        {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False,
         "strings_to_numbers": False},
    )  # fmt: skip
    fixed = dt.datetime.combine(b.issue_date, dt.time(8, 0))
    book.set_properties({"title": f"{b.title}{b.subtitle}", "author": b.issuer, "created": fixed})
    head = book.add_format({"bold": True, "bg_color": "#E8EEF7", "border": 1})
    percent = book.add_format({"num_format": "0.0%", "border": 1})
    points = book.add_format({"num_format": "+0.0;-0.0;0.0", "border": 1})
    plain = book.add_format({"border": 1})
    title = book.add_format({"bold": True, "font_size": 14})

    def put(sheet, row: int, col: int, value: object, fmt=plain) -> None:
        value = neutralise(value)
        if value is None or is_missing(value):
            sheet.write_blank(row, col, None, fmt)
        elif isinstance(value, bool):
            sheet.write_boolean(row, col, value, fmt)
        elif isinstance(value, int | float):
            sheet.write_number(row, col, float(value), fmt)
        else:
            sheet.write_string(row, col, str(value), fmt)

    overview = book.add_worksheet("概况")
    overview.write_string(0, 0, str(neutralise(b.title + b.subtitle)), title)
    put(overview, 1, 0, f"{b.issuer}　{cn_date(b.issue_date)}", None)
    put(overview, 2, 0, f"统计时段：{cn_date(b.week.start)}至{cn_date(b.week.end)}", None)
    for i, sentence in enumerate(b.summary, start=4):
        put(overview, i, 0, sentence, None)
    overview.set_column(0, 0, 120)

    by_metric: dict[str, list[RankingTable]] = {}
    for t in b.tables:
        by_metric.setdefault(t.metric, []).append(t)
    for key in weekly.WEEKLY_METRICS:
        spec = weekly.metric(key)
        sheet = book.add_worksheet(f"{spec.label}排名")
        header = ["类别", "名次", "单位", spec.label, spec.numerator_label,
                  spec.denominator_label, f"上周{spec.label}", "较上周（百分点）",
                  "上周名次", "名次变化"]  # fmt: skip
        for j, h in enumerate(header):
            put(sheet, 0, j, h, head)
        row = 1
        for t in by_metric.get(key, []):
            for r in t.rows.itertuples():
                values = [
                    (t.level_label, plain),
                    (place_text(r.rank, tied=bool(r.tied)), plain),
                    (str(r.name), plain),
                    (None if is_missing(r.value) else float(r.value), percent),
                    (None if is_missing(r.numerator) else int(r.numerator), plain),
                    (None if is_missing(r.denominator) else int(r.denominator), plain),
                    (None if is_missing(r.value_prev) else float(r.value_prev), percent),
                    (None if is_missing(r.change) else round(float(r.change) * 100, 1), points),
                    (None if is_missing(r.prev_rank) else int(r.prev_rank), plain),
                    (None if is_missing(r.rank_moved) else int(r.rank_moved), plain),
                ]
                for j, (value, fmt) in enumerate(values):
                    put(sheet, row, j, value, fmt)
                row += 1
        sheet.set_column(0, 0, 10)
        sheet.set_column(2, 2, 22)
        sheet.set_column(3, 9, 13)
        sheet.freeze_panes(1, 0)

    sheet = book.add_worksheet("红旗预警")
    cells = b.flag_cells()
    for i, row_cells in enumerate(cells):
        for j, value in enumerate(row_cells):
            put(sheet, i, j, value, head if i == 0 else plain)
    sheet.set_column(0, 1, 6)
    sheet.set_column(2, 2, 16)
    sheet.set_column(3, 3, 70)
    sheet.set_column(4, 6, 14)
    sheet.freeze_panes(1, 0)

    sheet = book.add_worksheet("表扬与批评")
    for j, h in enumerate(["类型", "标准", "类别", "单位", "数值"]):
        put(sheet, 0, j, h, head)
    row = 1
    for kind, items in (("表扬", b.praise), ("通报批评", b.criticism)):
        for n in items:
            for name, value in n.units:
                put(sheet, row, 0, kind)
                put(sheet, row, 1, n.judgement.phrase())
                put(sheet, row, 2, label(UNIT_KIND, n.level))
                put(sheet, row, 3, name)
                put(sheet, row, 4, value, percent)
                row += 1
    sheet.set_column(0, 0, 10)
    sheet.set_column(1, 1, 24)
    sheet.set_column(2, 2, 10)
    sheet.set_column(3, 3, 22)
    sheet.set_column(4, 4, 10)
    book.close()
    return buffer.getvalue()
