"""The 测算 fix list as a 督办 workbook: the selected fixes with owners, deadlines and the
points each is worth, owner first; every cell through dashboard.export.neutralise."""

from __future__ import annotations

import datetime as dt
import io

import pandas as pd
import xlsxwriter

from dashboard.export import neutralise

HEADERS = [
    ("序号", 6),
    ("责任单位", 16),
    ("事项类型", 16),
    ("指标", 24),
    ("对象", 30),
    ("情况说明", 44),
    ("原整改时限", 12),
    ("督办时限", 12),
    ("预计可挽回（分）", 12),
    ("累计（分）", 10),
]


def duban_rows(fixes: pd.DataFrame) -> list[list[object]]:
    """One row per fix, grouped by owner (owners in their order of first appearance),
    most valuable first within an owner, with the running total over the whole list."""
    if fixes.empty:
        return []
    first = {o: i for i, o in reversed(list(enumerate(fixes["owner_name"])))}
    ordered = fixes.assign(_o=fixes["owner_name"].map(first)).sort_values(
        ["_o", "worth"], ascending=[True, False], kind="stable"
    )
    rows, total = [], 0.0
    for i, r in enumerate(ordered.itertuples(index=False), start=1):
        total += float(r.worth)
        rows.append(
            [
                i,
                r.owner_name,
                r.kind_label,
                f"{r.indicator_code} {r.indicator_name}".strip(),
                r.subject,
                r.detail,
                r.due,
                r.deadline,
                round(float(r.worth), 3),
                round(total, 3),
            ]
        )
    return rows


def duban_workbook(fixes: pd.DataFrame, scope_name: str, as_of: dt.date, summary: str) -> bytes:
    """An .xlsx 测算督办清单: title, scope / as-of / summary lines, then one row per fix."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False})
    sheet = book.add_worksheet("测算督办清单")
    title = book.add_format({"bold": True, "font_size": 16})
    head = book.add_format({"bold": True, "bg_color": "#E8EEF7", "border": 1, "text_wrap": True})
    cell = book.add_format({"border": 1, "text_wrap": True, "valign": "top"})
    date = book.add_format({"border": 1, "num_format": "yyyy-mm-dd", "valign": "top"})
    number = book.add_format({"border": 1, "num_format": "0.000", "valign": "top"})
    sheet.write_string(0, 0, str(neutralise(f"测算督办清单（{scope_name}）")), title)
    sheet.write_string(1, 0, str(neutralise(f"数据截至：{as_of.isoformat()}")))
    sheet.write_string(2, 0, str(neutralise(summary)))
    for col, (name, width) in enumerate(HEADERS):
        sheet.write_string(4, col, name, head)
        sheet.set_column(col, col, width)
    rows = duban_rows(fixes)
    for r, row in enumerate(rows, start=5):
        for c, value in enumerate(row):
            value = neutralise(value)
            if value is None or (not isinstance(value, str) and pd.isna(value)):
                sheet.write_blank(r, c, None, cell)
            elif isinstance(value, dt.date):
                sheet.write_datetime(r, c, dt.datetime.combine(value, dt.time()), date)
            elif isinstance(value, int | float):
                sheet.write_number(r, c, value, number if c >= 8 else cell)
            else:
                sheet.write_string(r, c, str(value), cell)
    sheet.freeze_panes(5, 2)
    if rows:
        sheet.autofilter(4, 0, 4 + len(rows), len(HEADERS) - 1)
    book.close()
    return buffer.getvalue()
