"""The flag list as a table: display frame, column_config and evidence frames (pure: no I/O)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard.flags import SEVERITY_LABEL, Flag

SEVERITY_MARK = {"red": "■ 红", "orange": "▲ 橙", "yellow": "● 黄"}


def flags_table(flags: list[Flag]) -> pd.DataFrame:
    """One display row per flag, in the given order."""
    return pd.DataFrame(
        [
            {
                "级别": SEVERITY_MARK.get(f.severity, f.severity),
                "规则": f.rule_name,
                "单位": f.unit_name,
                "责任单位": f.owner_name,
                "情况": f.value_text,
                "时限": f.deadline,
                "持续周数": f.weeks_red,
                "首次出现": f.first_seen,
                "证据": len(f.evidence),
                "优先级": round(f.priority, 1),
            }
            for f in flags
        ],
        columns=[
            "级别",
            "规则",
            "单位",
            "责任单位",
            "情况",
            "时限",
            "持续周数",
            "首次出现",
            "证据",
            "优先级",
        ],
    )


def flags_column_config(max_priority: float) -> dict:
    return {
        "级别": st.column_config.TextColumn("级别", width="small", help="■ 红 / ▲ 橙 / ● 黄"),
        "规则": st.column_config.TextColumn("规则", width="medium"),
        "单位": st.column_config.TextColumn("单位", width="small"),
        "责任单位": st.column_config.TextColumn("责任单位", width="small"),
        "情况": st.column_config.TextColumn("情况（数值与阈值）", width="large"),
        "时限": st.column_config.DateColumn("时限", format="YYYY-MM-DD", width="small"),
        "持续周数": st.column_config.NumberColumn(
            "持续周数", format="%d 周", width="small", help="连续几周被标红旗（含本周）"
        ),
        "首次出现": st.column_config.DateColumn("首次出现", format="YYYY-MM-DD", width="small"),
        "证据": st.column_config.NumberColumn("证据", format="%d 条", width="small"),
        "优先级": st.column_config.ProgressColumn(
            "优先级",
            format="%.0f",
            min_value=0.0,
            max_value=max(max_priority, 1.0),
            width="small",
            help="级别 × (1 + 指标分值/40) × 临近测评系数，点列头排序",
        ),
    }


def evidence_frame(flag: Flag) -> pd.DataFrame:
    """The evidence rows of one flag (columns already carry Chinese headers); a missing
    value reads '—', never None."""
    frame = pd.DataFrame(list(flag.evidence))
    return frame.astype(object).where(frame.notna(), "—")


def more_text(hidden: int, *, by_rule: bool, by_owner: bool) -> str:
    """The line under a group cut short: what else would narrow it, given the filters on."""
    if by_rule and by_owner:
        return f"…另有 {hidden} 条未展开，可在上方表格或督办清单中查看。"
    if by_rule:
        return f"…另有 {hidden} 条未展开，可再按责任单位筛选，或在上方表格中查看。"
    if by_owner:
        return f"…另有 {hidden} 条未展开，可再按规则筛选，或在上方表格中查看。"
    return f"…另有 {hidden} 条未展开，可按规则或责任单位筛选后查看。"


def severity_label(code: str) -> str:
    return SEVERITY_LABEL.get(code, code)
