"""趋势: are we getting better, and will we make it by the test? Scores over tests, survey
waves, rectification period by period and the visit burn-up with honest projections."""

from __future__ import annotations

import streamlit as st

from dashboard import filters, metrics, trends
from dashboard.components import charts
from dashboard.components.text import md_escape, pct, signed
from dashboard.labels import INDICATOR_CATEGORY, SUBJECT_KIND, label

TABS = ("测评得分", "满意度调查", "问题整改", "入户走访")
MEASURE_LABELS = {
    "overall": "综合得分",
    "field": "实地考察（分项得分率）",
    "materials": "网上申报（分项得分率）",
    "questionnaire": "问卷调查（分项得分率）",
}
CATEGORY_LINES = {"overall": "综合得分", **INDICATOR_CATEGORY}
SPAN_LABELS = {
    "1m": "近1个月",
    "3m": "近3个月",
    "6m": "近半年",
    "1y": "近一年",
    "2y": "近两年",
    "all": "全部",
}
GRAIN_LABELS = {"day": "按日", "week": "按周", "month": "按月"}
SURVEY_LABELS = {"phone": "群众满意度电话调查", "questionnaire": "问卷调查"}
CHART_CONFIG = {"displaylogo": False, "modeBarButtonsToRemove": ["lasso2d", "select2d"]}

f = filters.current()
as_of, scope_id = f.as_of, f.scope_id


def show(fig: object, key: str) -> None:
    st.plotly_chart(fig, key=key, theme=None, config=CHART_CONFIG, width="stretch")


tab_scores, tab_survey, tab_rect, tab_visits = st.tabs(list(TABS), key="view", bind="query-params")


def is_open(tab: object) -> bool:
    """Only the selected tab's data is computed (None: no tab state, draw everything)."""
    return tab.open is not False


# ── 测评得分 ────────────────────────────────────────────────────────────────────────────
if is_open(tab_scores):
    with tab_scores:
        items = trends.indicators()
        items = items[items["category"].isin(trends.SCORE_CATEGORIES)]
        item_label = dict(zip(items["code"], items["code"] + " " + items["name"], strict=True))
        item_id = dict(zip(items["code"], items["indicator_id"], strict=True))
        candidates = trends.comparison_candidates(scope_id)
        names = dict(zip(candidates["unit_id"], candidates["name"], strict=True))
        c1, c2, c3 = st.columns([2, 3, 2], vertical_alignment="bottom")
        measure_code = c1.selectbox(
            "指标",
            [*trends.SCORE_MEASURES, *item_label],
            format_func=lambda m: MEASURE_LABELS.get(m) or item_label.get(m, m),
            key="measure",
            bind="query-params",
        )
        compare = c2.multiselect(
            "对比单位（可选，最多 5 个）",
            list(names),
            format_func=lambda u: names.get(u, str(u)),
            max_selections=5,
            key="compare",
            bind="query-params",
            placeholder="选择同级或下级单位",
        )
        span = c3.segmented_control(
            "时间范围",
            ["1y", "2y", "all"],
            format_func=SPAN_LABELS.get,
            default="all",
            key="score_span",
            bind="query-params",
        )
        span = span or "all"
        measure = item_id.get(measure_code, measure_code)
        data = trends.score_chart_data(scope_id, as_of, measure, tuple(compare), span)
        if data.empty or data["score"].notna().sum() == 0:
            st.info(f"{md_escape(f.scope_name)}在所选范围内暂无测评得分。")
        else:
            target = trends.score_target(scope_id, measure)
            nt = metrics.next_test(as_of)
            title = MEASURE_LABELS.get(measure_code) or item_label.get(measure_code, "")
            st.markdown(f"**{md_escape(f.scope_name)} · {md_escape(title)}（历次综合测评）**")
            show(
                charts.score_trend_figure(
                    data,
                    y_title="得分（分）" if measure == "overall" else "得分率（%）",
                    target=target,
                    target_label="目标" if measure == "overall" else "指标目标",
                    next_test_date=nt.start_date if nt else None,
                    next_test_label=f"下次测评 {nt.start_date:%m-%d}" if nt else "",
                ),
                "chart_scores",
            )
            main = data[(data["role"] == "main") & data["score"].notna()]
            if len(main):
                last = main.iloc[-1]
                parts = [
                    f"最近一次（{last['assessment_name']}）{last['score']:.2f}",
                    f"较上次 {signed(last['change'], 2)}",
                ]
                if target is not None:
                    parts.append(f"距目标 {signed(last['score'] - target, 2)}")
                st.caption(md_escape("；".join(parts) + "。缺测的测评显示为断点，不按 0 分计。"))
            st.markdown(f"**{md_escape(f.scope_name)} · 综合得分与三类分项得分率**")
            categories = trends.category_chart_data(scope_id, as_of, CATEGORY_LINES, span)
            if categories.empty or categories["score"].notna().sum() == 0:
                st.info("暂无分项得分。")
            else:
                show(
                    charts.score_trend_figure(categories, y_title="得分 / 得分率（%）", height=420),
                    "chart_categories",
                )
                st.caption(
                    "分项得分率 = 该类各指标得分之和 ÷ 各指标满分之和；只有综合得分、没有分项得分的测评显示为断点。"
                )

# ── 满意度调查 ──────────────────────────────────────────────────────────────────────────
if is_open(tab_survey):
    with tab_survey:
        survey = st.segmented_control(
            "调查",
            list(SURVEY_LABELS),
            format_func=SURVEY_LABELS.get,
            default="phone",
            key="survey",
            bind="query-params",
        )
        survey = survey or "phone"
        trend = trends.survey_trend(scope_id, as_of, survey)
        if trend is None or trend.waves.empty:
            st.info(f"截至 {as_of.isoformat()} 暂无{SURVEY_LABELS[survey]}数据。")
        else:
            if trend.borrowed:
                st.caption(
                    md_escape(f"{f.scope_name}没有单独的调查结果，以下为{trend.unit_name}的数据。")
                )
            wave = trend.latest["assessment_name"].iloc[0]
            left, right = st.columns([1, 1])
            with left:
                st.markdown(f"**最新一轮与上一轮对比（{md_escape(wave)}）**")
                show(charts.survey_change_figure(trend.latest, wave_name=""), "chart_survey_change")
            with right:
                shown = trend.waves
                if survey == "questionnaire":
                    keep = trends.lowest_items(trend.latest, 5)
                    shown = shown[shown["indicator_id"].isin(keep)]
                    st.markdown("**历轮走势（本轮最低的 5 项）**")
                else:
                    st.markdown("**历轮走势（6 项）**")
                show(charts.survey_waves_figure(shown), "chart_survey_waves")
            low = trend.latest.dropna(subset=["rate"])
            if len(low):
                worst = low.iloc[0]
                moved = low.dropna(subset=["change"])
                text = f"本轮最低：{worst['item_name']} {worst['rate']:.1f}%"
                if len(moved):
                    up = moved.loc[moved["change"].idxmax()]
                    down = moved.loc[moved["change"].idxmin()]
                    text += f"；升幅最大：{up['item_name']} {signed(up['change'])} 个百分点"
                    if down["change"] < 0:
                        text += f"；降幅最大：{down['item_name']} {signed(down['change'])} 个百分点"
                st.caption(md_escape(text + "。"))
            st.markdown("**各项得分：环比与同比**")
            st.dataframe(
                trends.survey_item_table(trend.latest), hide_index=True, key="survey_items"
            )
            gaps = trends.survey_gaps(scope_id, as_of, survey)
            if gaps is not None:
                st.markdown(f"**低于全市得分的单位（{md_escape(gaps.assessment_name)}）**")
                if gaps.below.empty:
                    st.caption("各单位各项均不低于全市得分。")
                else:
                    st.dataframe(
                        trends.survey_below_table(gaps), hide_index=True, key="survey_below"
                    )

# ── 问题整改 ────────────────────────────────────────────────────────────────────────────
if is_open(tab_rect):
    with tab_rect:
        units = metrics.units()
        departments = units[units["kind"] == "department"]
        departments = departments[
            departments["unit_id"].isin(trends.visible(list(departments["unit_id"])))
        ]
        dept_names = dict(zip(departments["unit_id"], departments["name"], strict=True))
        options = [scope_id, *[d for d in dept_names if d != scope_id]]
        c1, c2, c3 = st.columns([2, 2, 3], vertical_alignment="bottom")
        rect_unit = c1.selectbox(
            "整改对象",
            options,
            format_func=lambda u: f"本范围：{f.scope_name}" if u == scope_id else dept_names[u],
            key="rect_unit",
            bind="query-params",
            help="选择一个责任部门，只看它负责的问题。",
        )
        grain = c2.segmented_control(
            "粒度",
            list(trends.GRAINS),
            format_func=GRAIN_LABELS.get,
            default="week",
            key="grain",
            bind="query-params",
        )
        grain = grain or "week"
        span = c3.segmented_control(
            "时间范围",
            ["1m", "3m", "6m", "1y", "all"],
            format_func=SPAN_LABELS.get,
            default="3m",
            key="span",
            bind="query-params",
        )
        span = span or "3m"
        series = trends.rectification_series(rect_unit, as_of, grain, span)
        who = f.scope_name if rect_unit == scope_id else dept_names[rect_unit]
        if series.empty or series["found"].iloc[-1] == 0:
            st.info(f"{md_escape(who)}截至 {as_of.isoformat()} 没有问题记录。")
        else:
            st.markdown(f"**{md_escape(who)} · 问题整改{GRAIN_LABELS[grain][1:]}走势**")
            show(
                charts.rectification_figure(
                    series,
                    grain=grain,
                    red_line=trends.RED_LIST_RATE,
                    black_line=trends.BLACK_LIST_RATE,
                ),
                "chart_rectification",
            )
            last = series.iloc[-1]
            notes = [
                f"截至 {as_of.isoformat()}：累计发现 {last['found']} 件，已整改 {last['rectified']} 件，"
                f"整改率 {pct(last['rectification_rate'])}，按期整改率 {pct(last['on_time_rate'])}，"
                f"逾期 {last['overdue']} 件"
            ]
            if (
                grain == "day"
                and trends.SPANS[span]
                and trends.SPANS[span] > trends.MAX_DAILY_POINTS
            ):
                notes.append(f"按日最多显示近 {trends.MAX_DAILY_POINTS} 天")
            notes.append(
                "每点为该期末（周以周日为末，ISO 周）的累计值，与“截至该日”的整改率口径一致；"
                "红榜 ≥ 90%，黑榜 < 85%"
            )
            st.caption(md_escape("。".join(notes) + "。"))

# ── 入户走访 ────────────────────────────────────────────────────────────────────────────
if is_open(tab_visits):
    with tab_visits:
        kinds = trends.visit_kinds(scope_id, as_of)
        if metrics.campaign_at(as_of) is None:
            st.info(f"截至 {as_of.isoformat()} 没有已开始的走访活动。")
        elif not kinds:
            st.info(f"{md_escape(f.scope_name)}在本次走访活动中没有走访任务。")
        else:
            c1, c2 = st.columns([3, 2], vertical_alignment="bottom")
            kind = c1.segmented_control(
                "走访对象",
                ["all", *kinds],
                format_func=lambda k: "全部对象" if k == "all" else label(SUBJECT_KIND, k),
                default="all",
                key="kind",
                bind="query-params",
            )
            kind = kind or "all"
            grain = c2.segmented_control(
                "粒度",
                list(trends.GRAINS),
                format_func=GRAIN_LABELS.get,
                default="day",
                key="visit_grain",
                bind="query-params",
            )
            grain = grain or "day"
            burn = trends.visit_burnup(scope_id, as_of, grain, None if kind == "all" else kind)
            if burn is None or burn.target == 0:
                st.info("所选对象没有走访任务。")
            else:
                word = charts.SUBJECT_UNIT.get(burn.subject_kind, "个")
                basis = charts.projection_basis_text(burn.pace_per_day, burn.pace_window_days, word)
                missing = ""
                if not burn.enough_history:
                    missing = (
                        f"走访开始仅 {burn.pace_window_days} 天，不足 "
                        f"{metrics.MIN_PACE_HISTORY_DAYS} 天，暂不推算进度"
                    )
                kind_name = "全部对象" if kind == "all" else label(SUBJECT_KIND, kind)
                st.markdown(
                    f"**{md_escape(f.scope_name)} · {md_escape(burn.campaign.name)} · "
                    f"{md_escape(kind_name)}：已覆盖 {burn.covered:,} / {burn.target:,} {word}"
                    f"（{pct(burn.coverage_rate)}）**"
                )
                left, right = st.columns([5, 2])
                with left:
                    show(
                        charts.burnup_figure(
                            burn.series,
                            trends.milestone_steps(burn.campaign, burn.target),
                            burn.milestones,
                            burn.projection,
                            target=burn.target,
                            as_of=as_of,
                            unit_word=word,
                            basis_text=basis,
                            no_projection_text=missing,
                            x_end=max(burn.campaign.end_date, *burn.milestones["due_date"]),
                        ),
                        "chart_burnup",
                    )
                with right:
                    st.markdown(f"**平台录入率：{pct(burn.entry_rate)}**")
                    show(charts.entry_rate_figure(burn.series, height=440), "chart_entry")
                rows = charts.milestone_table(burn.milestones, word)
                st.dataframe(rows, hide_index=True, width="stretch")
                st.caption(
                    md_escape(
                        (missing or basis)
                        + "；覆盖率按走访对象去重计算（重复走访不重复计数），预测封顶 100%。"
                    )
                )
