"""红旗清单: every red flag for the scope and date — filtered, grouped, with evidence and a 督办 export."""

from __future__ import annotations

from collections import Counter

import streamlit as st

from dashboard import filters, flags, metrics
from dashboard.components import flag_table
from dashboard.components.flag_table import (
    SEVERITY_MARK,
    evidence_frame,
    flags_column_config,
    flags_table,
)
from dashboard.components.text import date_text, is_long, md_escape, short
from dashboard.flag_export import duban_workbook

MAX_EXPANDERS = 60
PER_GROUP = 8
ALL_OWNERS = "全部责任单位"
GROUPINGS = {"owner": "按责任单位", "rule": "按规则"}

f = filters.current()
rules, rules_problem = flags.rules_or_last_good()
if rules_problem:
    st.error(rules_problem, icon=":material/error:")

with flags.evidence_wanted():  # the table counts every flag's evidence
    all_flags, flags_day = flags.evaluate_served(f.scope_id, f.as_of, rules)
test = metrics.next_test(f.as_of)

st.subheader(
    f"红旗清单 · {md_escape(short(f.scope_name))}",
    help=md_escape(f.scope_name) if is_long(f.scope_name) else None,
)
pending = flags.served_note(f.as_of, rules, flags_day)
if pending:
    st.info(md_escape(pending), icon=":material/hourglass_top:")
if not all_flags:
    st.success(
        f"当前范围内没有红旗：截至 {flags_day.isoformat()}，{md_escape(f.scope_name)}没有任何一条规则被触发。",
        icon=":material/check_circle:",
    )
    st.stop()

counts = Counter(fl.severity for fl in all_flags)
tiles = st.columns(4)
tiles[0].metric("■ 红旗", f"{counts['red']} 条")
tiles[1].metric("▲ 橙旗", f"{counts['orange']} 条")
tiles[2].metric("● 黄旗", f"{counts['yellow']} 条")
tiles[3].metric(
    "距下次测评",
    "未安排" if test is None else ("进行中" if test.under_way else f"{test.days_left} 天"),
    help=None if test is None else md_escape(test.name),
)

rule_names = rules.names()
present_rules = sorted({fl.rule_id for fl in all_flags}, key=list(rule_names).index)
owners = sorted({fl.owner_name for fl in all_flags})

c1, c2, c3, c4 = st.columns([2, 3, 2, 2])
severities = c1.multiselect(
    "级别",
    list(flags.SEVERITIES),
    default=list(flags.SEVERITIES),
    format_func=lambda s: SEVERITY_MARK[s],
    key="flag_severity",
    bind="query-params",
)
chosen_rules = c2.multiselect(
    "规则",
    present_rules,
    default=[],
    format_func=lambda r: rule_names.get(r, r),
    placeholder="全部规则",
    key="flag_rule",
    bind="query-params",
)
owner = c3.selectbox("责任单位", [ALL_OWNERS, *owners], key="flag_owner", bind="query-params")
grouping = c4.segmented_control(
    "分组",
    list(GROUPINGS),
    default="owner",
    format_func=GROUPINGS.get,
    key="flag_group",
    bind="query-params",
)

shown = [
    fl
    for fl in all_flags
    if fl.severity in severities
    and (not chosen_rules or fl.rule_id in chosen_rules)
    and (owner == ALL_OWNERS or fl.owner_name == owner)
]

if not shown:
    st.info("筛选条件下没有红旗。请放宽级别、规则或责任单位的筛选。")
    st.stop()

left, right = st.columns([3, 1])
left.caption(
    f"显示 {len(shown)} / {len(all_flags)} 条，按优先级排序（点列头可改排序）。"
    "优先级 = 级别 × (1 + 指标分值/40) × 临近测评系数；规则见 config/flags.toml，"
    "其中的达标线、黑榜线见 config/status.toml。"
)
right.download_button(
    "下载督办清单（Excel）",
    data=duban_workbook(shown, f.scope_name, f.as_of),
    file_name=f"红旗督办清单_{f.scope_name}_{f.as_of.isoformat()}.xlsx",
    mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    icon=":material/download:",
    key="flag_download",
    width="stretch",
)

st.dataframe(
    flags_table(shown),
    column_config=flags_column_config(max(fl.priority for fl in all_flags)),
    hide_index=True,
    width="stretch",
    height=min(38 + 35 * len(shown), 420),
    key="flag_table",
)

st.markdown("#### 证据明细")
group_key = (lambda fl: fl.owner_name) if grouping != "rule" else (lambda fl: fl.rule_name)
groups: dict[str, list[flags.Flag]] = {}
for fl in shown:
    groups.setdefault(group_key(fl), []).append(fl)

drawn = 0
for name, members in groups.items():
    if drawn >= MAX_EXPANDERS:
        st.caption(
            f"其余 {len(groups) - list(groups).index(name)} 组未展开，请用上方筛选或下载督办清单查看。"
        )
        break
    marks = Counter(fl.severity for fl in members)
    summary = " ".join(f"{SEVERITY_MARK[s]} {marks[s]}" for s in flags.SEVERITIES if marks[s])
    st.markdown(f"**{md_escape(name)}** · {len(members)} 条（{summary}）")
    for fl in members[:PER_GROUP]:
        label = f"{SEVERITY_MARK[fl.severity]} {fl.rule_name} · {fl.unit_name} · {fl.value_text}"
        with st.expander(md_escape(label)):
            st.caption(
                md_escape(
                    f"责任单位：{fl.owner_name}　时限：{date_text(fl.deadline)}　"
                    f"首次出现：{fl.first_seen}　已持续 {fl.weeks_red} 周　优先级 {fl.priority:.0f}"
                )
            )
            if fl.evidence:
                st.dataframe(evidence_frame(fl), hide_index=True, width="stretch")
            else:
                st.caption("（此条无明细行）")
        drawn += 1
    if len(members) > PER_GROUP:
        st.caption(md_escape(flag_table.more_text(
            len(members) - PER_GROUP, by_rule=bool(chosen_rules), by_owner=owner != ALL_OWNERS,
        )))  # fmt: skip
