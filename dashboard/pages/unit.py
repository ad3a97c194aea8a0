"""本单位: one unit's own view — standing among peers, red flags, open problems by deadline,
visit progress against milestones, missing 台账, peers and (departments) owned survey items.

The unit is the shared scope filter (?unit=市住建局), so a department head bookmarks it.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import filters, flags, status, unit_view
from dashboard.components.text import (
    date_text,
    is_long,
    is_missing,
    md_escape,
    pct,
    place_text,
    points,
    short,
    signed,
)
from dashboard.labels import PROBLEM_SOURCE, SEVERITY, STATUS, SUBJECT_KIND, UNIT_KIND, label

f = filters.current()
info = unit_view.unit_info(f.scope_id)
unit_view.prefetch(info.unit_id, f.as_of)
kind_label = label(UNIT_KIND, info.kind)

st.subheader(
    f"本单位 · {md_escape(short(info.name))}（{kind_label}）",
    help=md_escape(info.name) if is_long(info.name) else None,
)
if not info.has_peers:
    st.info(
        "当前范围是最上级单位，没有同级可比。请在左侧「单位范围」选择本单位（街道或部门），"
        "链接会记住选择，可收藏后直接打开。",
        icon=":material/info:",
    )
else:
    st.caption(
        f"同级比较：{md_escape(info.parent_name or '')}下的{kind_label}；"
        f"名次变化与 7 天前（{(f.as_of - pd.Timedelta(days=7)):%m-%d}）相比，"
        "综合得分与上一次测评相比。"
    )


def _delta(change: float | None, *, score: bool = False) -> dict:
    """st.metric delta arguments: an ASCII sign (Streamlit reads it for the arrow), 持平
    without an arrow, nothing without a comparison."""
    if is_missing(change):
        return {"delta": None}
    value, unit = (change, " 分") if score else (change * 100, " 个百分点")
    if round(value, 2 if score else 1) == 0:
        return {"delta": "持平", "delta_color": "off", "delta_arrow": "off"}
    return {"delta": f"{value:+.{2 if score else 1}f}{unit}"}


def _rank_line(s: unit_view.Standing) -> str:
    if not info.has_peers:
        return "最上级单位，无同级排名"
    if s.rank is None:
        return "无数据，不参与排名"
    line = place_text(s.rank, s.ranked_units, tied=s.tied)
    if not is_missing(s.gap_to_above) and s.gap_to_above > 0:
        line += f" · 距上一名 {_gap(s)}"
    if s.rank_change is None:
        return line
    if s.rank_change == 0:
        return line + " · 名次持平"
    arrow = "上升" if s.rank_change > 0 else "下降"
    return line + f" · {arrow} {abs(s.rank_change)} 位"


def _gap(s: unit_view.Standing, value: float | None = None) -> str:
    """A gap in the standing's unit: points for the score, 个百分点 for a rate."""
    value = s.gap_to_above if value is None else value
    return f"{value:.2f} 分" if s.key == "score" else f"{value * 100:.1f} 个百分点"


def _status_line(s: unit_view.Standing) -> str:
    """The number's status under config/status.toml, as every page gives it."""
    word, symbol = STATUS[s.status][0], STATUS[s.status][1]
    return f"{symbol} {word}" + (f" · {md_escape(s.basis_text)}" if s.basis_text else "")


standings = unit_view.standing(info.unit_id, f.as_of)
cols = st.columns(len(standings))
for col, s in zip(cols, standings, strict=True):
    is_score = s.key == "score"
    value = points(s.value) if is_score else pct(s.value)
    col.metric(
        s.label,
        value,
        **_delta(s.change, score=is_score),
        border=True,
        help=(f"较{s.compared_with}" if is_score else f"较 {s.compared_with}")
        + (
            ""
            if s.numerator is None or is_missing(s.denominator)
            else f"；{int(s.numerator)} / {int(s.denominator)}"
        ),
    )
    col.caption(_status_line(s))
    col.caption(_rank_line(s))

problems = unit_view.open_problems(info.unit_id, f.as_of)
unit_flags = unit_view.unit_flags(info.unit_id, f.as_of)
owned = unit_view.owned_items(info.unit_id, f.as_of)
sections = {k: problems[problems["section"] == k] for k in unit_view.SECTIONS}

tab_names = [
    f"问题整改（逾期 {len(sections['overdue'])}）",
    f"红旗预警（{len(unit_flags)}）",
    "走访进度",
    "台账",
    "同级比较",
]
survey = unit_view.survey_items(info.unit_id, f.as_of)
if info.is_department or len(owned):
    tab_names.append(f"牵头调查指标（{len(owned)}）")
if len(survey):
    tab_names.append("调查得分")
tabs = st.tabs(tab_names)


def _problem_table(frame: pd.DataFrame, *, overdue: bool) -> pd.DataFrame:
    table = pd.DataFrame(
        {
            "问题编号": frame["problem_id"],
            "属地单位": frame["unit_name"],
            "责任单位": frame["dept_name"].fillna("—"),
            "问题类型": frame["category"].fillna("—"),
            "描述": frame["description"].fillna(""),
            "严重程度": [label(SEVERITY, v) for v in frame["severity"]],
            "来源": [label(PROBLEM_SOURCE, v) for v in frame["source"]],
            "发现日期": frame["found_on"].astype(str).str[:10],
            "整改时限": [date_text(d) for d in frame["deadline"]],
        }
    )
    if overdue:
        table["逾期天数"] = frame["days_overdue"].astype(int).to_numpy()
    else:
        table["剩余天数"] = frame["days_left"].astype(int).to_numpy()
    return table


with tabs[0]:
    a, b, c = st.columns(3)
    a.metric("已逾期", f"{len(sections['overdue'])} 个", border=True)
    b.metric("本周到期", f"{len(sections['due_this_week'])} 个", border=True)
    c.metric("其后到期", f"{len(sections['later'])} 个", border=True)
    monday, sunday = unit_view.week_bounds(f.as_of)
    st.markdown("##### 已逾期")
    if sections["overdue"].empty:
        st.success("无逾期未整改问题", icon=":material/check_circle:")
    else:
        st.dataframe(_problem_table(sections["overdue"], overdue=True), hide_index=True)
    st.markdown(f"##### 本周到期（{f.as_of:%m-%d} 至 {sunday:%m-%d}）")
    if sections["due_this_week"].empty:
        st.info("本周无到期问题", icon=":material/event_available:")
    else:
        st.dataframe(_problem_table(sections["due_this_week"], overdue=False), hide_index=True)
    with st.expander(f"其后到期（{len(sections['later'])} 个）"):
        if sections["later"].empty:
            st.caption("无其后到期的问题")
        else:
            st.dataframe(_problem_table(sections["later"], overdue=False), hide_index=True)
    if info.is_department:
        st.markdown("##### 按属地单位（本部门为责任单位的未整改问题）")
        territory = unit_view.problems_by_territory(problems[problems["as_owner"]])
        if territory.empty:
            st.info("本部门没有未整改的责任问题", icon=":material/check_circle:")
        else:
            st.dataframe(
                territory.rename(
                    columns={
                        "unit_name": "属地单位",
                        "open": "未整改",
                        "overdue": "已逾期",
                        "overdue_severe": "其中严重逾期",
                    }
                ),
                hide_index=True,
            )

with tabs[1]:
    if pending := flags.served_note(f.as_of):
        st.caption(md_escape(pending))  # yesterday's flags while today's are computed
    if unit_flags.empty:
        st.success("本单位当前无红旗预警", icon=":material/check_circle:")
    else:
        st.dataframe(
            pd.DataFrame(
                {
                    "等级": unit_flags["severity_label"],
                    "规则": unit_flags["rule_name"],
                    "单位": unit_flags["unit_name"],
                    "责任单位": unit_flags["owner_name"],
                    "情况": unit_flags["value_text"],
                    "整改时限": [date_text(d) for d in unit_flags["deadline"]],
                    "已持续（周）": unit_flags["weeks_red"],
                }
            ),
            hide_index=True,
        )

with tabs[2]:
    visits = unit_view.visit_progress(info.unit_id, f.as_of)
    if visits.campaign is None:
        st.info("截至当日没有进行中的走访活动", icon=":material/info:")
    elif not visits.has_target:
        st.info(
            f"本单位在「{md_escape(visits.campaign.name)}」中没有走访任务", icon=":material/info:"
        )
    else:
        t = visits.total
        a, b, c = st.columns(3)
        a.metric(
            "走访覆盖率",
            pct(t["coverage_rate"]),
            border=True,
            help=f"已走访 {int(t['covered'])} / 应走访 {int(t['target'])}（按对象去重）",
        )
        b.metric(
            "近期进度",
            f"{t['pace_per_day']:.1f} 个/天",
            border=True,
            help=f"近 {int(t['pace_window_days'])} 天平均每天新增走访对象",
        )
        c.metric("平台录入率", pct(t["entry_rate"]), border=True)
        st.markdown(f"##### {md_escape(visits.campaign.name)}：节点目标")
        proj = visits.projections
        st.dataframe(
            pd.DataFrame(
                {
                    "节点日期": proj["due_date"].astype(str),
                    "目标覆盖率": [pct(v, 0) for v in proj["target_share"]],
                    "剩余天数": proj["days_left"],
                    "按当前进度预计": [pct(v) for v in proj["projected_rate"]],
                    # the one status rule of 走访覆盖率 (config/status.toml), on the projection
                    "状态": [
                        "● 已完成"
                        if done
                        else "{1} {0}".format(*STATUS[status.judge("coverage_rate", p, share)])
                        for done, p, share in zip(
                            proj["reached"],
                            proj["projected_rate"],
                            proj["target_share"],
                            strict=True,
                        )
                    ],
                    "每天需新增（个）": [
                        "—" if is_missing(v) else f"{v:.1f}" for v in proj["daily_needed"]
                    ],
                }
            ),
            hide_index=True,
        )
        st.markdown("##### 按走访对象")
        kinds = visits.by_kind
        st.dataframe(
            pd.DataFrame(
                {
                    "对象": [label(SUBJECT_KIND, k) for k in kinds["subject_kind"]],
                    "应走访": kinds["target"],
                    "已走访": kinds["covered"],
                    "覆盖率": [pct(v) for v in kinds["coverage_rate"]],
                    "平台录入率": [pct(v) for v in kinds["entry_rate"]],
                }
            ),
            hide_index=True,
        )

with tabs[3]:
    missing = unit_view.missing_materials(info.unit_id, f.as_of)
    overall = unit_view.materials_overall(info.unit_id, f.as_of).iloc[0]
    if int(overall["lines"]) == 0:
        st.info("本单位暂无台账任务", icon=":material/info:")
    elif missing.empty:
        st.success(
            f"台账已全部完成（{int(overall['completed'])} / {int(overall['required'])} 项）",
            icon=":material/check_circle:",
        )
    else:
        st.caption(
            f"台账完成率 {pct(overall['completion_rate'])}（{int(overall['completed'])} / "
            f"{int(overall['required'])} 项），以下为尚未报齐的台账，按截止日期排列。"
        )
        st.dataframe(
            pd.DataFrame(
                {
                    "单位": missing["unit_name"],
                    "指标": missing["indicator_code"].fillna("")
                    + " "
                    + missing["indicator_name"].fillna(""),
                    "应报": missing["required"],
                    "已完成": missing["completed"],
                    "尚缺": missing["missing"],
                    "完成率": [pct(v) for v in missing["completion_rate"]],
                    "截止日期": missing["deadline"].astype(str),
                    "距截止": [
                        f"已过期 {-d} 天" if d < 0 else ("今天截止" if d == 0 else f"还有 {d} 天")
                        for d in missing["days_left"]
                    ],
                }
            ),
            hide_index=True,
        )

with tabs[4]:
    if not info.has_peers:
        st.info("最上级单位没有同级单位", icon=":material/info:")
    elif not unit_view.peers_visible(info.unit_id):
        # README 访问控制: the unit's own place among its peers, never their rows or names
        st.caption(
            f"按授权范围，只显示本单位在{md_escape(info.parent_name or '')}下全部{kind_label}中的名次，"
            "不显示其他单位的数据。"
        )
        st.dataframe(
            pd.DataFrame(
                {
                    "指标": [s.label for s in standings],
                    "本单位": [
                        points(s.value) if s.key == "score" else pct(s.value) for s in standings
                    ],
                    "名次": [
                        "无数据" if s.rank is None else f"第 {s.rank} 名 / 共 {s.ranked_units} 名"
                        for s in standings
                    ],
                    "距上一名": [
                        "—" if s.rank is None or is_missing(s.gap_to_above) else _gap(s)
                        for s in standings
                    ],
                    "目标": [
                        "—"
                        if is_missing(s.target)
                        else (points(s.target) if s.key == "score" else pct(s.target))
                        for s in standings
                    ],
                    "与目标差距": [
                        "—"
                        if is_missing(s.gap_to_target)
                        else (
                            "已达标" if s.gap_to_target >= 0 else "差 " + _gap(s, -s.gap_to_target)
                        )
                        for s in standings
                    ],
                }
            ),
            hide_index=True,
        )
    else:
        peers = unit_view.peer_table(info.unit_id, f.as_of)
        st.caption(f"{md_escape(info.parent_name or '')}下的全部{kind_label}，按整改率名次排列。")
        table = pd.DataFrame({"单位": peers["name"]})
        table[""] = ["◀ 本单位" if s else "" for s in peers["is_self"]]
        for key in unit_view.STANDING_METRICS:
            name = unit_view.weekly.metric(key).label
            table[name] = [
                "无数据" if is_missing(v) else f"{pct(v)}（{place_text(r, tied=bool(t))}）"
                for v, r, t in zip(
                    peers[key], peers[f"{key}_rank"], peers[f"{key}_tied"], strict=True
                )
            ]
        st.dataframe(table, hide_index=True)

if info.is_department or len(owned):
    with tabs[5]:
        if owned.empty:
            st.info("本单位没有牵头的问卷调查或电话调查指标", icon=":material/info:")
        else:
            st.caption("全市最新一次调查的得分率，与上一次调查相比。")
            st.dataframe(
                pd.DataFrame(
                    {
                        "编号": owned["code"],
                        "指标": owned["name"],
                        "类别": [
                            "问卷调查" if c == "questionnaire" else "电话调查"
                            for c in owned["category"]
                        ],  # fmt: skip
                        "最新得分率": [
                            "无数据" if is_missing(v) else f"{v:.1f}%" for v in owned["rate"]
                        ],
                        "目标": ["—" if is_missing(v) else f"{v:.1f}%" for v in owned["target"]],
                        "与目标差距": [signed(v, 1, " 个百分点") for v in owned["gap_to_target"]],
                        "较上次": [signed(v, 1, " 个百分点") for v in owned["change"]],
                        "测评": owned["assessment_name"].fillna("—"),
                    }
                ),
                hide_index=True,
            )

if len(survey):
    with tabs[-1]:
        st.caption(
            "本单位最新一轮调查各项得分：环比较上一轮，同比较去年同期；与全市得分比较（低于全市为负）。"
        )
        st.dataframe(
            pd.DataFrame(
                {
                    "调查": [unit_view.SURVEY_LABELS[c] for c in survey["category"]],
                    "项目": survey["item_name"],
                    "得分": [points(v) for v in survey["rate"]],
                    "环比": [signed(v, 2, " 分") for v in survey["change"]],
                    "同比": [signed(v, 2, " 分") for v in survey["yoy_change"]],
                    "全市得分": [points(v) for v in survey["city_rate"]],
                    "与全市差": [signed(v, 2, " 分") for v in survey["gap"]],
                    "调查批次": survey["assessment_name"],
                }
            ),
            hide_index=True,
            key="unit_survey",
        )
