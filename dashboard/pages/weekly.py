"""周报: one Mon–Sun week vs the week before — events, rates and ranks by unit, movers,
red flags appeared / stayed / cleared — and the weekly bulletin (通报) as Word and Excel.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import bulletin, filters, weekly
from dashboard.components.text import date_text, is_missing, md_escape, pct, place_text, signed
from dashboard.labels import UNIT_KIND, label

f = filters.current()
weeks = weekly.recent_weeks(f.as_of, 12)
by_end = {w.end.isoformat(): w for w in weeks}

top = st.columns([3, 2, 5], vertical_alignment="bottom")
chosen = top[0].selectbox(
    "统计周",
    list(by_end),
    index=0,
    format_func=lambda end: by_end[end].label,
    key="week",
    bind="query-params",
    help="周一至周日。默认为数据截至日期之前最近一个完整的周。",
)
week = by_end.get(chosen, weeks[0])
levels = weekly.comparison_levels(f.scope_id)
config = bulletin.load_config()
preferred = next((k for k in config.levels if k in levels), levels[0] if levels else None)

st.subheader(f"周报 · {md_escape(f.scope_name)} · {week.label}")
st.caption(
    f"本周 {week.start:%Y-%m-%d} 至 {week.end:%Y-%m-%d}。本页的比率和名次均截至本周日 "
    f"{week.end:%Y-%m-%d}，与上周日（{week.prev_end:%Y-%m-%d}）相比；页首的「数据截至 "
    f"{f.as_of:%Y-%m-%d}」是其他页面的日期。"
)


def _points_delta(change: float | None) -> dict:
    """st.metric delta arguments with an ASCII sign (Streamlit reads it for the arrow)."""
    if change is None:
        return {"delta": None}
    if round(change * 100, 1) == 0:
        return {"delta": "持平", "delta_color": "off", "delta_arrow": "off"}
    return {"delta": f"{change * 100:+.1f} 个百分点"}


with st.spinner("正在计算本周变化…"):
    s = weekly.summary(f.scope_id, week)


def _count_delta(change: int, color: str) -> dict:
    """color: 'normal' (more is better), 'inverse' (fewer is better), 'off' (neither)."""
    if change == 0:
        return {"delta": "与上周持平", "delta_color": "off", "delta_arrow": "off"}
    return {"delta": f"{change:+d} 个（较上周）", "delta_color": color}


cols = st.columns(6)
cols[0].metric("本周新发现问题", f"{s.found} 个", border=True,
               **_count_delta(s.found_change, "off"))  # fmt: skip
cols[1].metric("本周完成整改", f"{s.rectified} 个", border=True,
               **_count_delta(s.rectified_change, "normal"))  # fmt: skip
cols[2].metric("本周新增逾期", f"{s.newly_overdue} 个", border=True,
               help="本周内首次超过整改时限且尚未整改的问题",
               **_count_delta(s.newly_overdue_change, "inverse"))  # fmt: skip
for col, key in zip(cols[3:], weekly.WEEKLY_METRICS, strict=True):
    r = s.rates[key]
    col.metric(
        f"{r.label}（截至 {week.end:%m-%d}）",
        pct(r.value),
        **_points_delta(r.change),
        border=True,
        help=f"周末 {r.numerator} / {r.denominator}",
    )

tabs = st.tabs(["单位变化", "本周问题", "红旗变化", "周通报"])

with tabs[0]:
    if not levels:
        st.info("本范围下没有可比较的下级单位", icon=":material/info:")
    else:
        level = (
            st.segmented_control(
                "比较层级",
                levels,
                default=preferred,
                format_func=lambda k: label(UNIT_KIND, k),
                key="weekly_level",
            )
            or preferred
        )
        counts = weekly.problem_counts(f.scope_id, week, level)
        for key in weekly.WEEKLY_METRICS:
            spec = weekly.metric(key)
            frame = weekly.changes(key, f.scope_id, week, level)
            st.markdown(f"##### {spec.label}")
            if frame["value"].notna().sum() == 0:
                st.info(f"{label(UNIT_KIND, level)}没有{spec.label}数据", icon=":material/info:")
                continue
            up, down = weekly.movers(frame)
            left, right = st.columns([3, 1])
            table = pd.DataFrame(
                {
                    "名次": [
                        place_text(v, tied=bool(t))
                        for v, t in zip(frame["rank"], frame["tied"], strict=True)
                    ],
                    "单位": frame["name"],
                    "本周末": [pct(v) for v in frame["value"]],
                    "上周末": [pct(v) for v in frame["value_prev"]],
                    "变化": [
                        "—" if is_missing(v) else signed(v * 100, 1, " 个百分点")
                        for v in frame["change"]
                    ],
                    "名次变化": frame["rank_change"],
                    spec.numerator_label: frame["numerator"],
                    spec.denominator_label: frame["denominator"],
                }
            )
            if key == "rectification_rate":
                merged = frame[["unit_id"]].merge(counts, on="unit_id", how="left")
                table["本周新发现"] = merged["found_in_week"].to_numpy()
                table["本周新整改"] = merged["rectified_in_week"].to_numpy()
                table["本周新增逾期"] = merged["newly_overdue"].to_numpy()
            left.dataframe(table, hide_index=True)
            with right:
                st.markdown("**进步最大**")
                if up.empty:
                    st.caption("无")
                for r in up.itertuples():
                    tie = "（并列）" if r.mover_tied else ""
                    st.markdown(
                        f"{md_escape(r.name)}　{signed(r.change * 100, 1, ' 个百分点')}{tie}"
                    )
                st.markdown("**退步最大**")
                if down.empty:
                    st.caption("无")
                for r in down.itertuples():
                    tie = "（并列）" if r.mover_tied else ""
                    st.markdown(
                        f"{md_escape(r.name)}　{signed(r.change * 100, 1, ' 个百分点')}{tie}"
                    )

with tabs[1]:
    events = weekly.problem_events(f.scope_id, week)
    if events.empty:
        st.info("本周没有新发现、新整改或新增逾期的问题", icon=":material/info:")
    else:
        kinds = []
        for r in events.itertuples():
            tags = [t for t, on in (("新发现", r.is_new), ("已整改", r.is_rectified),
                                    ("新增逾期", r.is_newly_overdue)) if on]  # fmt: skip
            kinds.append("、".join(tags))
        st.dataframe(
            pd.DataFrame(
                {
                    "本周情况": kinds,
                    "问题编号": events["problem_id"],
                    "属地单位": events["unit_name"],
                    "责任单位": events["dept_name"].fillna("—"),
                    "问题类型": events["category"].fillna("—"),
                    "发现日期": events["found_on"].astype(str).str[:10],
                    "整改时限": [date_text(d) for d in events["deadline"]],
                    "整改日期": events["rectified_on"].astype(str).str[:10].replace("NaT", "—"),
                    "周末仍未整改": ["是" if v else "否" for v in events["open_at_week_end"]],
                }
            ),
            hide_index=True,
        )

with tabs[2]:
    changes = weekly.flag_changes(f.scope_id, week)
    a, b, c = st.columns(3)
    for col, status in zip((a, b, c), weekly.FLAG_STATUS, strict=True):
        col.metric(weekly.FLAG_STATUS[status], f"{int((changes['status'] == status).sum())} 项",
                   border=True)  # fmt: skip
    if changes.empty:
        st.success("两个周末都没有红旗预警", icon=":material/check_circle:")
    else:
        st.dataframe(
            pd.DataFrame(
                {
                    "变化": [weekly.FLAG_STATUS[v] for v in changes["status"]],
                    "等级": changes["severity_label"],
                    "规则": changes["rule_name"],
                    "单位": changes["unit_name"],
                    "责任单位": changes["owner_name"],
                    "情况": changes["value_text"],
                    "整改时限": [date_text(d) for d in changes["deadline"]],
                }
            ),
            hide_index=True,
        )

with tabs[3]:
    try:
        content = bulletin.compose(f.scope_id, week.end, config)
    except bulletin.BulletinConfigError as exc:
        st.error(f"通报配置有误：{exc}", icon=":material/error:")
        st.stop()
    left, right = st.columns(2)
    left.download_button(
        "下载周通报（Word）",
        data=lambda: bulletin.render_docx(content),
        file_name=f"{content.file_stem}.docx",
        mime="application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        icon=":material/description:",
        type="primary",
        on_click="ignore",
        key="bulletin_docx",
    )
    right.download_button(
        "下载排名表（Excel）",
        data=lambda: bulletin.render_xlsx(content),
        file_name=f"{content.file_stem}.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        icon=":material/table_view:",
        on_click="ignore",
        key="bulletin_xlsx",
    )
    st.markdown(f"#### {md_escape(content.title)}{md_escape(content.subtitle)}")
    st.caption(f"{md_escape(content.issuer)}　{bulletin.cn_date(content.issue_date)}")
    for sentence in content.summary:
        st.markdown(md_escape(sentence))
    for n in content.praise:
        st.markdown(md_escape(bulletin.judgement_sentence(n, praise=True)))
    for n in content.criticism:
        st.markdown(md_escape(bulletin.judgement_sentence(n, praise=False)))
    st.caption("表扬与通报批评标准见 config/bulletin.toml。")
