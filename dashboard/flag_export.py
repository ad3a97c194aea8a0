"""The 红旗清单 as a 督办 (supervision) workbook: one row per flag, owner first, every cell neutralised."""

from __future__ import annotations

import datetime as dt
import io

import xlsxwriter

from dashboard.export import neutralise
from dashboard.flags import SEVERITY_LABEL, Flag

HEADERS = [
    ("序号", 6),
    ("责任单位", 16),
    ("属地/单位", 16),
    ("督办事项", 24),
    ("级别", 6),
    ("情况说明", 60),
    ("整改时限", 12),
    ("剩余天数", 9),
    ("状态", 10),
    ("首次出现", 12),
    ("持续周数", 9),
    ("证据条数", 9),
    ("优先级", 9),
]


def status_text(flag: Flag, as_of: dt.date) -> str:
    """逾期 when the deadline has passed, 本周到期 within 7 days, else 督办中."""
    if flag.deadline is None:
        return "督办中"
    days = (flag.deadline - as_of).days
    if days < 0:
        return "已逾期"
    if days <= 7:
        return "本周到期"
    return "督办中"


def duban_rows(flags: list[Flag], as_of: dt.date) -> list[list[object]]:
    """The table body: owner, unit, item, severity, text, deadline, days left, status …"""
    ordered = sorted(flags, key=lambda f: (f.owner_name, -f.priority))
    rows = []
    for i, f in enumerate(ordered, start=1):
        days_left = None if f.deadline is None else (f.deadline - as_of).days
        rows.append(
            [
                i,
                f.owner_name,
                f.unit_name,
                f.rule_name,
                SEVERITY_LABEL.get(f.severity, f.severity),
                f.value_text,
                f.deadline,
                days_left,
                status_text(f, as_of),
                f.first_seen,
                f.weeks_red,
                len(f.evidence),
                round(f.priority, 1),
            ]
        )
    return rows


def duban_workbook(flags: list[Flag], scope_name: str, as_of: dt.date) -> bytes:
    """An .xlsx 督办清单: title, scope and as-of header rows, then one row per flag."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False})
    sheet = book.add_worksheet("督办清单")
    title = book.add_format({"bold": True, "font_size": 16})
    head = book.add_format({"bold": True, "bg_color": "#E8EEF7", "border": 1, "text_wrap": True})
    cell = book.add_format({"border": 1, "text_wrap": True, "valign": "top"})
    date = book.add_format({"border": 1, "num_format": "yyyy-mm-dd", "valign": "top"})
    red = book.add_format({"border": 1, "font_color": "#C62828", "bold": True, "valign": "top"})

    sheet.write_string(0, 0, str(neutralise(f"红旗督办清单（{scope_name}）")), title)
    sheet.write_string(1, 0, str(neutralise(f"数据截至：{as_of.isoformat()}")))
    sheet.write_string(2, 0, str(neutralise(f"范围：{scope_name}    共 {len(flags)} 项")))
    for col, (name, width) in enumerate(HEADERS):
        sheet.write_string(4, col, name, head)
        sheet.set_column(col, col, width)
    for r, row in enumerate(duban_rows(flags, as_of), start=5):
        for c, value in enumerate(row):
            value = neutralise(value)
            if value is None:
                sheet.write_blank(r, c, None, cell)
            elif isinstance(value, dt.date):
                sheet.write_datetime(r, c, dt.datetime.combine(value, dt.time()), date)
            elif isinstance(value, bool):
                sheet.write_string(r, c, "是" if value else "否", cell)
            elif isinstance(value, int | float):
                sheet.write_number(r, c, value, cell)
            else:
                fmt = red if c == 8 and value == "已逾期" else cell
                sheet.write_string(r, c, str(value), fmt)
    sheet.freeze_panes(5, 2)
    if flags:
        sheet.autofilter(4, 0, 4 + len(flags), len(HEADERS) - 1)
    book.close()
    return buffer.getvalue()
