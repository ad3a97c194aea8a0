"""排名: rank the units of one level by one metric, drill down by clicking, export to Excel.

URL: the pickers are bound widgets (rank_metric, rank_level, rank_assessment,
rank_indicator, rank_kind); the drill-down is the unbound param `drill` (a unit name, or its
id when the name is not unique), written through st.query_params so a link reproduces the
drilled view.
"""

from __future__ import annotations

import streamlit as st

from dashboard import filters, rankings
from dashboard.components import ranking_table as rt
from dashboard.components.text import md_escape, short
from dashboard.labels import INDICATOR_CATEGORY, SUBJECT_KIND, UNIT_KIND, label

DRILL_PARAM = "drill"


def _set_drill(unit_id: int | None) -> None:
    if unit_id is None:
        if DRILL_PARAM in st.query_params:
            del st.query_params[DRILL_PARAM]
    else:
        st.query_params[DRILL_PARAM] = rankings.drill_token(unit_id)


f = filters.current()
levels = rankings.level_options(f.scope_id)

st.subheader("排名")

pickers = st.columns([2, 2, 3, 3])
metric_key = pickers[0].selectbox(
    "排名指标",
    [m.key for m in rankings.METRICS],
    format_func=lambda k: rankings.metric(k).label,
    key="rank_metric",
    bind="query-params",
)
m = rankings.metric(metric_key)
if not levels:
    st.info(f"「{md_escape(f.scope_name)}」下没有可排名的下级单位，请在左侧选择更大的单位范围。")
    st.stop()
level = pickers[1].selectbox(
    "排名层级",
    levels,
    format_func=lambda k: label(UNIT_KIND, k),
    key="rank_level",
    bind="query-params",
    on_change=_set_drill,
    args=(None,),
    help="更换层级会回到顶层；在表格或图中点击某个单位可查看其下级。",
)

assessment_id = indicator_id = subject_kind = None
if m.source == "indicator":
    options = rankings.indicator_options(f.as_of)
    if options.empty:
        st.info("截至所选日期还没有单项指标得分。")
        st.stop()
    names = {
        r.indicator_id: f"{r.code} {r.name}（{label(INDICATOR_CATEGORY, r.category)}）"
        for r in options.itertuples()
    }
    indicator_id = pickers[2].selectbox(
        "指标",
        list(names),
        format_func=names.get,
        key="rank_indicator",
        bind="query-params",
    )
    tests = rankings.indicator_assessments(indicator_id, f.as_of)
elif m.is_score:
    tests = rankings.score_assessments(f.as_of)
if m.is_score:
    if tests.empty:
        st.info("截至所选日期还没有已完成并有得分的测评。")
        st.stop()
    name_column = "assessment_name" if "assessment_name" in tests else "name"
    test_names = dict(zip(tests["assessment_id"].astype(int), tests[name_column], strict=True))
    assessment_id = pickers[3 if m.source == "indicator" else 2].selectbox(
        "测评",
        list(test_names),
        format_func=test_names.get,
        key="rank_assessment",
        bind="query-params",
    )
if m.source == "coverage":
    kinds = [None, *SUBJECT_KIND]
    subject_kind = pickers[2].selectbox(
        "走访对象",
        kinds,
        format_func=lambda k: "全部对象" if k is None else SUBJECT_KIND[k],
        key="rank_kind",
        bind="query-params",
    )

# ── where we are: the drill path under the scope ──────────────────────────────────────
drill_id = rankings.parse_drill(st.query_params.get(DRILL_PARAM))
path = rankings.drill_path(f.scope_id, drill_id) if drill_id is not None else None
if drill_id is not None and path is None:
    _set_drill(None)  # a stale link: the unit is not under the chosen scope
if path is None:
    path = rankings.drill_path(f.scope_id, f.scope_id) or [(f.scope_id, f.scope_name, "")]
here_id, here_name, here_kind = path[-1]
drilled = len(path) > 1

crumbs = st.container(horizontal=True, gap="small", vertical_alignment="center")
crumbs.markdown("当前位置：")
for i, (unit_id, name, _kind) in enumerate(path):
    if i:
        crumbs.markdown("›")
    if i == len(path) - 1:
        crumbs.markdown(f"**{md_escape(name)}**")
    else:
        crumbs.button(
            md_escape(short(name)),
            key=f"crumb_{unit_id}",
            icon=":material/arrow_upward:" if i == len(path) - 2 else None,
            on_click=_set_drill,
            args=(None if i == 0 else unit_id,),
            help=f"回到「{md_escape(name)}」",
        )

if drilled and rankings.child_level(here_kind) is None:
    # A department or community: its open problems instead of a ranking.
    problems = rankings.open_problems(here_id, f.as_of)
    st.markdown(f"#### {md_escape(here_name)}：未整改问题（截至 {f.as_of.isoformat()}）")
    if problems.empty:
        st.success("截至所选日期没有未整改的问题。")
    else:
        overdue = int(problems["is_overdue"].sum())
        st.caption(f"共 {len(problems)} 件未整改，其中逾期 {overdue} 件；按整改时限排列。")
        st.dataframe(
            rt.problems_frame(problems),
            column_config=rt.problems_column_config(),
            hide_index=True,
        )
    st.stop()

shown_level = rankings.child_level(here_kind) if drilled else level
frame = rankings.ranking(
    metric_key, here_id, shown_level, f.as_of, assessment_id, indicator_id, subject_kind
)
scope_text = " › ".join(name for _, name, _ in path)
level_text = label(UNIT_KIND, shown_level)
what = m.label
if m.source == "indicator":
    what = f"{names[indicator_id]}得分率"
if m.is_score:
    what += f"（{test_names[assessment_id]}）"
if subject_kind is not None:
    what += f"（{SUBJECT_KIND[subject_kind]}）"
title = f"{scope_text} · {level_text}{what}排名"

ranked = frame["rank"].notna()
no_data = frame.loc[~ranked, "name"].tolist()
summary = f"{len(frame)} 个{level_text}，{int(ranked.sum())} 个有名次"
if no_data:
    shown = "、".join(short(n) for n in no_data[:8]) + ("等" if len(no_data) > 8 else "")
    summary += f"；{len(no_data)} 个无数据（{shown}），不参与排名"
compare = "上一次测评" if m.compare == "assessment" else "上周同日"
st.markdown(f"##### {md_escape(title)}")
st.caption(
    f"{md_escape(summary)}。名次按显示精度比较，数值相同的并列同一名次，下一名次顺延（1、1、3）；"
    f"名次变化与{compare}相比。点击表格行或条形可查看该单位的下级。"
)

table_key = f"rank_table_{here_id}_{shown_level}_{metric_key}"
chart_key = f"rank_chart_{here_id}_{shown_level}_{metric_key}"
left, right = st.columns([3, 2], gap="medium")
with left:
    event = st.dataframe(
        rt.table_frame(frame, m),
        column_config=rt.table_column_config(m, int(frame["rank"].notna().sum())),
        hide_index=True,
        on_select="rerun",
        selection_mode="single-row",
        key=table_key,
        placeholder="无数据",
        height="auto" if len(frame) <= 25 else 38 * 25,
    )
    st.download_button(
        "下载本排名（Excel）",
        data=lambda: rankings.ranking_xlsx(
            frame,
            m,
            [
                title,
                f"数据截至：{f.as_of.isoformat()}",
                f"范围：{scope_text}　层级：{level_text}　指标：{what}",
                "并列规则：数值相同（按显示精度）的并列同一名次，下一名次顺延（1、1、3）；"
                "无数据不参与排名。",
            ],
        ),
        file_name=f"排名_{here_name}_{level_text}_{m.label}_{f.as_of.isoformat()}.xlsx".replace(
            "/", "_"
        ),
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        icon=":material/download:",
        key="rank_download",
    )
with right:
    if ranked.any():
        chart = st.plotly_chart(
            rt.bar_chart(frame, m, f"{level_text}{m.label}"),
            on_select="rerun",
            selection_mode="points",
            key=chart_key,
            config={"displayModeBar": False},
        )
    else:
        chart = None
        st.info("所选指标下没有可排名的数据。")

clicked = None
if event.selection.rows:
    clicked = int(frame.iloc[event.selection.rows[0]]["unit_id"])
elif chart is not None and chart.selection.points:
    point = chart.selection.points[0]
    data = point.get("customdata")
    clicked = int(data[0] if isinstance(data, list) else data) if data is not None else None
if clicked is not None:
    _set_drill(clicked)
    st.rerun()
