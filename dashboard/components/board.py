"""Text blocks of the meeting board — legend, laggard table, red-flag table — as markdown.

Pure string builders: every piece of data goes through `md_escape`, and colour only through
Streamlit's own `:colour[…]` directive, always next to a symbol and a word.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING

import pandas as pd

from dashboard.components.text import is_missing, md_escape, short
from dashboard.labels import STATUS

if TYPE_CHECKING:
    from dashboard.flags import Flag
    from dashboard.meeting import Laggards

STATUS_COLOUR = {"ok": "green", "warn": "orange", "bad": "red", "none": "gray"}
FLAG_MARK = {
    "red": ("■", "红", "red"),
    "orange": ("▲", "橙", "orange"),
    "yellow": ("◆", "黄", "gray"),
}
NAME_LIMIT = 12  # characters of a unit name in the board's tables (a cell must not grow
VALUE_LIMIT = 40  # the screen: a 500-character name is cut with "…")
LAGGARD_LIMIT = 8  # three names side by side in a third of the screen
PLACES = ("倒数第一", "倒数第二", "倒数第三", "倒数第四", "倒数第五")


def coloured(status: str, text: str) -> str:
    """Escaped text in the status colour (Streamlit's markdown colour directive)."""
    return f":{STATUS_COLOUR.get(status, 'gray')}[{md_escape(text)}]"


def legend_md() -> str:
    """'● 达标　▲ 预警　■ 落后' — symbol, word and colour, so colour is never alone."""
    return "　".join(
        coloured(code, f"{STATUS[code][1]} {STATUS[code][0]}") for code in ("ok", "warn", "bad")
    )


def _cell(text: str) -> str:
    return text.replace("\n", " ")


def laggards_md(laggards: Sequence[Laggards], n: int = 3) -> str:
    """One row per decisive number, the worst units left to right, each with its status."""
    if not laggards:
        return "本级以下没有可比较的单位。"
    header = "| 指标 | " + " | ".join(PLACES[:n]) + " |"
    lines = [header, "|" + " --- |" * (n + 1)]
    for lag in laggards:
        cells = []
        for u in lag.units[:n]:
            symbol = STATUS[u.status][1]
            value = u.value_text.removesuffix(" 分")  # the row says it is a score
            cells.append(
                coloured(u.status, f"{symbol} {short(u.name, LAGGARD_LIMIT)}")
                + " "
                + md_escape(value)
            )
        if not lag.units:
            cells.append(coloured("ok", "● 全部达标"))
        cells += [""] * (n - len(cells))
        lines.append(
            f"| **{md_escape(lag.label)}** | " + " | ".join(_cell(c) for c in cells) + " |"
        )
    return "\n".join(lines)


def days_left_text(flag: Flag, as_of: dt.date) -> str:
    """'逾期 5 天' / '今天到期' / '剩 12 天', from the deadline, else the days to the test."""
    if flag.deadline is not None:
        days = (flag.deadline - as_of).days
        if days < 0:
            return f"逾期 {-days} 天"
        return "今天到期" if days == 0 else f"剩 {days} 天"
    if flag.days_to_test is not None:
        return f"距测评 {flag.days_to_test} 天"
    return "—"


def flags_md(flags: Sequence[Flag], as_of: dt.date, *, with_value: bool = False) -> str:
    """The ranked red flags: level, what, where, who owns it, days left."""
    if not flags:
        return "当前没有红旗。"
    head = "| # | 级别 | 红旗 | 单位 | 责任单位 | 期限 |"
    if with_value:
        head = "| # | 级别 | 红旗 | 单位 | 情况 | 责任单位 | 期限 |"
    lines = [head, "|" + " --- |" * (head.count("|") - 1)]
    for i, f in enumerate(flags, start=1):
        symbol, word, colour = FLAG_MARK.get(f.severity, ("◆", f.severity, "gray"))
        cells = [
            str(i),
            f":{colour}[**{symbol} {word}**]",
            md_escape(short(f.rule_name, NAME_LIMIT)),
            md_escape(short(f.unit_name, NAME_LIMIT)),
        ]
        if with_value:
            cells.append(md_escape(short(f.value_text, VALUE_LIMIT)))
        cells += [
            md_escape(short(f.owner_name or "—", NAME_LIMIT)),
            md_escape(days_left_text(f, as_of)),
        ]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(lines)


CHILD_TABLE = (
    # (header, value column, status column, formatter)
    ("综合得分", "score", "score_status", lambda v: f"{v:.2f}"),
    ("整改率", "rectification_rate", "rectification_status", lambda v: f"{v * 100:.1f}%"),
    ("逾期", "overdue", "overdue_status", lambda v: f"{int(v)} 件"),
    # coverage: current value and projection, each named; the verdict is the projection's
    ("走访覆盖率", "coverage_text", "coverage_status", str),
    ("台账完成率", "completion_rate", "materials_status", lambda v: f"{v * 100:.1f}%"),
    ("点位达标率", "compliance_rate", "points_status", lambda v: f"{v * 100:.1f}%"),
)


def children_md(children: pd.DataFrame, limit: int = 14) -> str:
    """Every unit of the level below (lowest composite first) with each number and status."""
    if children is None or children.empty:
        return "本级以下没有可比较的单位。"
    rows = children.sort_values(["score", "sort_order", "unit_id"], na_position="last")
    lines = ["| 单位 | " + " | ".join(h for h, *_ in CHILD_TABLE) + " |"]
    lines.append("|" + " --- |" * (len(CHILD_TABLE) + 1))
    for r in rows.head(limit).to_dict("records"):
        cells = [f"**{md_escape(short(r['name'], NAME_LIMIT))}**"]
        for _header, column, status_column, fmt in CHILD_TABLE:
            value = r.get(column)
            if is_missing(value) or value == "无数据":
                cells.append(coloured("none", "— 无数据"))
                continue
            code = r[status_column]
            cells.append(coloured(code, f"{STATUS[code][1]} {fmt(value)}"))
        lines.append("| " + " | ".join(cells) + " |")
    if len(rows) > limit:
        lines.append(f"\n另有 {len(rows) - limit} 个单位未列出。")
    return "\n".join(lines)
