"""测算: the expected score of the next test with its backtest error, what each open fix is
worth (a checkbox table whose selection moves the projected score and rank), the gap to
target by category, and the selected fixes as a 督办 workbook. Layout only."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import filters, sim_export, simulator
from dashboard.components import sim_charts
from dashboard.components.text import is_missing, md_escape, points

f = filters.current()
settings, settings_problem = simulator.settings_or_default()
sim = simulator.simulate(f.scope_id, f.as_of, settings)
current, acc, rank = sim.current, sim.accuracy, sim.rank

st.subheader(f"测算 · {md_escape(sim.unit_name)}")
st.caption("模型：" + simulator.model_text(settings) + " 假设见 config/simulator.toml。")
if settings_problem:
    st.warning(settings_problem, icon=":material/warning:")

if current.total is None:
    st.info(
        "本单位截至当日既没有点位检查、台账和调查数据，也没有可沿用的历次测评得分，无法测算。"
        "请在左侧选择有得分的单位（市、区县或街道）。",
        icon=":material/info:",
    )
    st.stop()

test_name = sim.next_test.name if sim.next_test else "下一次测评"
# a new scope or day is a new list: its ticks must not carry over to other rows
chosen_key = f"sim_fixes_{f.scope_id}_{f.as_of.isoformat()}"
table = pd.DataFrame(
    {
        "选择": False,
        "可挽回（分）": sim.fixes["worth"].round(3),
        "累计（分）": sim.fixes["cumulative"].round(2),
        "责任单位": sim.fixes["owner_name"],
        "事项": sim.fixes["kind_label"],
        "指标": (sim.fixes["indicator_code"] + " " + sim.fixes["indicator_name"]).str.strip(),
        "对象": sim.fixes["subject"],
        "情况": sim.fixes["detail"],
        "督办时限": ["—" if is_missing(v) else str(v) for v in sim.fixes["deadline"]],
    }
)

a, b, c, d = st.columns([1.4, 1, 1, 1.4])
a.metric(
    f"{md_escape(test_name)} 预计得分",
    sim_charts.estimate_text(current.total, acc.mae).removeprefix("估计 "),
    border=True,
    help="± 为回测平均绝对误差（见「回测」）",
)
b.metric("上次测评得分", points(sim.last_actual, 2), border=True)
c.metric("目标", "未设定" if sim.target_score is None else points(sim.target_score, 1), border=True)
d.metric(
    f"推算名次（{md_escape(rank.assessment_name or '上次测评')}）",
    sim_charts.rank_text(rank.implied(current.total), None, rank.peer_label)
    if rank.peers
    else simulator.NO_RANK,
    border=True,
    help=md_escape(rank.note)
    if rank.note
    else f"按预计得分在上次测评 {len(rank.peers) + 1} 个{rank.peer_label}得分中的名次（并列同名）",
)
st.caption(
    md_escape(sim_charts.estimate_text(current.total, acc.mae))
    + (
        f"（± 为 {acc.tests} 次历史测评的回测平均绝对误差，用测评前一天为止的数据估计）"
        if acc.mae is not None
        else "（没有可回测的历史测评，无法给出误差）"
    )
)
if rank.note:
    st.caption(md_escape(rank.note) + "。" + md_escape(rank.published_text()))

if acc.beats_naive is False:
    st.warning(
        f"回测 {acc.tests} 次：本模型平均误差 {acc.mae:.2f} 分，"
        f"不如「与上次测评相同」的 {acc.naive_mae:.2f} 分。预计得分仅供参考，"
        "各项整改可挽回的分值（下表）更可靠：它们只依赖指标分值和各项数据的现状。",
        icon=":material/warning:",
    )
elif acc.beats_naive:
    st.success(
        f"回测 {acc.tests} 次：本模型平均误差 {acc.mae:.2f} 分，"
        f"优于「与上次测评相同」的 {acc.naive_mae:.2f} 分。",
        icon=":material/check_circle:",
    )

fix_tab, gap_tab, back_tab, item_tab = st.tabs(["整改测算", "差距分解", "回测", "指标明细"])

with fix_tab:
    everything = simulator.selection(sim.fixes, current.total, current.max_total)
    st.markdown(
        "**"
        + md_escape(
            sim_charts.selection_text(
                everything.items, everything.owners, everything.worth, everything.projected,
                sim.target_score, chosen=False,
            )
        )
        + "**"
    )  # fmt: skip
    if sim.fixes.empty:
        st.success("当前没有会失分的未整改事项", icon=":material/check_circle:")
    else:
        st.caption("勾选准备在测评前完成的事项，预计得分和名次随之变化；按每项可挽回分值排列。")
        edited = st.data_editor(
            table,
            key=chosen_key,
            hide_index=True,
            disabled=[col for col in table.columns if col != "选择"],
            column_config={
                "选择": st.column_config.CheckboxColumn("选择", width="small"),
                "可挽回（分）": st.column_config.NumberColumn(format="%.3f"),
                "累计（分）": st.column_config.NumberColumn(format="%.2f"),
            },
            width="stretch",
        )
        picked = sim.fixes[edited["选择"].to_numpy(dtype=bool)]
        chosen = simulator.selection(picked, current.total, current.max_total)
        line = sim_charts.selection_text(
            chosen.items, chosen.owners, chosen.worth, chosen.projected, sim.target_score,
            chosen=True,
        )  # fmt: skip
        implied = rank.implied(chosen.projected)
        if implied is not None:
            line += (
                f"；推算名次 第 {implied} 名（上次测评 {len(rank.peers) + 1} 个{rank.peer_label}）"
            )
        st.markdown("##### " + md_escape(line))
        x, y = st.columns(2)
        x.metric(
            "勾选后预计得分",
            sim_charts.estimate_text(chosen.projected, acc.mae).removeprefix("估计 "),
            delta=f"+{chosen.worth:.2f} 分" if chosen.items else None,
            border=True,
        )
        y.metric(
            "勾选后推算名次",
            sim_charts.rank_text(implied, len(rank.peers) + 1, rank.peer_label),
            border=True,
            help=md_escape(rank.note) if rank.note else None,
        )
        st.download_button(
            f"下载督办清单（已选 {chosen.items} 项，Excel）",
            sim_export.duban_workbook(picked, sim.unit_name, f.as_of, line),
            file_name=f"测算督办清单_{sim.unit_name}_{f.as_of.isoformat()}.xlsx",
            mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            disabled=picked.empty,
            icon=":material/download:",
            key="sim_export",
        )
        st.markdown("##### 按责任单位（每项可挽回分值从高到低）")
        owners = simulator.owner_summary(sim.fixes)
        st.dataframe(
            pd.DataFrame(
                {
                    "责任单位": owners["owner_name"],
                    "事项数": owners["items"],
                    "可挽回（分）": owners["worth"].round(2),
                    "每项（分）": owners["per_item"].round(3),
                }
            ),
            hide_index=True,
        )

with gap_tab:
    if sim.target_score is None:
        st.info("本单位没有设定目标分，无法分解差距。", icon=":material/info:")
    else:
        plan = simulator.gap_plan(sim.target_score, current, sim.fixes)
        if plan.gap <= 0:
            st.success(
                f"预计得分已达到目标 {sim.target_score:g} 分（高出 {-plan.gap:.1f} 分）。",
                icon=":material/check_circle:",
            )
        elif plan.items_needed is not None:
            st.info(
                f"距目标 {sim.target_score:g} 分差 {plan.gap:.1f} 分；现有未整改事项合计可挽回 "
                f"{plan.supply:.1f} 分，足以补齐：按可挽回分值从高到低，至少需完成 "
                f"{plan.items_needed} 项。",
                icon=":material/info:",
            )
        else:
            st.warning(
                f"距目标 {sim.target_score:g} 分差 {plan.gap:.1f} 分；现有未整改事项全部完成也只能挽回 "
                f"{plan.supply:.1f} 分，仍差 {plan.shortfall:.1f} 分，需从尚无数据或无法逐项整改的方面提升"
                "（如调查得分、尚未检查的点位）。",
                icon=":material/error:",
            )
        cats = plan.categories
        st.dataframe(
            pd.DataFrame(
                {
                    "类别": [simulator.CATEGORY_LABEL[k] for k in cats["category"]],
                    "满分": cats["max_points"],
                    "预计得分": cats["points"].round(2),
                    "失分": cats["lost"].round(2),
                    "未整改事项可挽回": cats["supply"].round(2),
                    "补齐差距需挽回": cats["plan"].round(2),
                }
            ),
            hide_index=True,
        )
        target_rank = rank.target_rank
        if target_rank and not rank.peers and rank.note:
            st.caption(f"目标第 {target_rank} 名：" + md_escape(rank.note) + "。")
        elif target_rank and rank.peers:
            needed = simulator.score_for_rank(target_rank, list(rank.peers))
            if needed is None:
                st.caption(
                    f"目标第 {target_rank} 名：上次测评有得分的城市不足 {target_rank} 个，任何得分都可达到。"
                )
            else:
                rank_plan = simulator.gap_plan(needed, current, sim.fixes)
                verdict = (
                    "已达到"
                    if rank_plan.gap <= 0
                    else (
                        f"差 {rank_plan.gap:.1f} 分，至少需完成 {rank_plan.items_needed} 项"
                        if rank_plan.items_needed is not None
                        else f"差 {rank_plan.gap:.1f} 分，现有事项全部完成仍差 {rank_plan.shortfall:.1f} 分"
                    )
                )
                st.caption(
                    f"目标第 {target_rank} 名：按上次测评各城市得分，需不低于 {needed:.2f} 分，{verdict}。"
                )

with back_tab:
    bt = sim.backtest
    if bt.empty:
        st.info("没有之前有数据的历史测评，无法回测。", icon=":material/info:")
    else:
        st.caption(
            "每次历史测评：用测评前一天为止的数据估计，与实际得分比较；"
            "「与上次相同」= 直接以本单位上一次测评得分作为估计。"
        )
        if acc.mae is not None:
            st.markdown(
                f"**平均绝对误差：本模型 {acc.mae:.2f} 分，与上次相同 {acc.naive_mae:.2f} 分"
                f"（{acc.tests} 次测评）**"
            )
        st.plotly_chart(sim_charts.backtest_figure(bt), key="sim_backtest")
        st.dataframe(
            pd.DataFrame(
                {
                    "测评": bt["assessment_name"],
                    "开始日期": bt["start_date"].astype(str),
                    "数据截至": bt["estimate_as_of"].astype(str),
                    "估计": bt["estimate"].round(2),
                    "实际": bt["actual"].round(2),
                    "误差": bt["error"].round(2),
                    "与上次相同": bt["naive"].round(2),
                    "其误差": bt["naive_error"].round(2),
                    "有数据的指标数": bt["measured"],
                }
            ),
            hide_index=True,
        )

with item_tab:
    items = current.items
    st.dataframe(
        pd.DataFrame(
            {
                "类别": [simulator.CATEGORY_LABEL[k] for k in items["category"]],
                "编号": items["code"],
                "指标": items["name"],
                "分值": items["weight"],
                "预计得分率": [
                    "无数据" if is_missing(v) else f"{v * 100:.1f}%" for v in items["rate"]
                ],
                "预计得分": items["points"].round(2),
                "依据": [simulator.SOURCE_LABEL.get(s, "无数据") for s in items["source"]],
            }
        ),
        hide_index=True,
    )
