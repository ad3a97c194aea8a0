"""The header strip every page shows: scope, as-of date, countdown to the next test, freshness."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from dashboard.components.text import is_long, md_escape, short
from dashboard.labels import ASSESSMENT_LEVEL, label
from dashboard.metrics import NextTest


def countdown_text(next_test: NextTest | None) -> str:
    if next_test is None:
        return "暂无已排定的省级/国家测评"
    if next_test.under_way:
        return f"{next_test.name}正在进行（{next_test.start_date:%m-%d} 至 {next_test.end_date:%m-%d}）"
    return (
        f"距{label(ASSESSMENT_LEVEL, next_test.level)}「{next_test.name}」还有 "
        f"{next_test.days_left} 天（{next_test.start_date.isoformat()} 开始）"
    )


def header_strip(
    scope_name: str, as_of: dt.date, next_test: NextTest | None, generated_at: str | None
) -> None:
    """Draw the strip: plain text elements only (everything is escaped by Streamlit)."""
    left, middle, right = st.columns([2, 5, 3], vertical_alignment="center")
    left.markdown(
        f"**{md_escape(short(scope_name))}**",
        help=md_escape(scope_name) if is_long(scope_name) else None,
    )
    middle.markdown(f"**{md_escape(countdown_text(next_test))}**")
    freshness = f"数据截至 {as_of.isoformat()}"
    if generated_at:
        freshness += f" · 数据更新于 {generated_at.replace('T', ' ')[:16]}"
    right.caption(freshness)
