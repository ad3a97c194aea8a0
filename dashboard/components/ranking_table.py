"""The ranking table and bar chart: pure builders from a rankings.ranking() frame.

`table_frame` + `table_column_config` feed st.dataframe; `bar_chart` returns a plotly
Figure; `problems_frame` + `problems_column_config` show a unit's open problems. None of
them reads the database or session state.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from dashboard.components.text import chart_text, is_missing, place_text, short
from dashboard.labels import PROBLEM_SOURCE, SEVERITY, STATUS, UNIT_KIND, label
from dashboard.rankings import RankMetric

CHART_MAX_BARS = 30  # beyond this the chart shows the best and worst 15
FONT = "Noto Sans CJK SC, Microsoft YaHei, PingFang SC, sans-serif"


def value_text(value: object, m: RankMetric) -> str:
    """A value as the page writes it: 92.3% / 85.74 分 / +1.20 分 / 3 件 / 无数据."""
    if is_missing(value):
        return "无数据"
    v = float(value)
    if m.fmt == "pct":
        return f"{v * 100:.1f}%"
    if m.fmt == "points":
        return f"{v:.2f} 分"
    if m.fmt == "signed_points":
        return "0.00 分" if round(v, 2) == 0 else f"{'+' if v > 0 else '−'}{abs(v):.2f} 分"
    return f"{v:.0f} 件"


def gap_text(value: object, m: RankMetric, *, signed: bool) -> str:
    """A gap in the metric's own unit (percentage points for rates)."""
    if is_missing(value):
        return "—"
    v = float(value)
    if m.fmt == "pct":
        amount, unit, digits = v * 100, " 个百分点", 1
    elif m.fmt == "count":
        amount, unit, digits = v, " 件", 0
    else:
        amount, unit, digits = v, " 分", 2
    if round(amount, digits) == 0:
        return "持平" if not signed else "正好达到"
    if not signed:
        return f"差 {abs(amount):.{digits}f}{unit}"
    word = "超出" if amount > 0 else "还差"
    return f"{word} {abs(amount):.{digits}f}{unit}"


def projected_text(value: object, due: object) -> str:
    """The judged basis of 走访覆盖率 beside its current value: '预计 12-31 达 82.5%'."""
    if is_missing(due) or due is None:
        return "节点已过，按当前值" if not is_missing(value) else "无数据"
    if is_missing(value):
        return "暂不推算"
    return f"预计 {due:%m-%d} 达 {float(value) * 100:.1f}%"


def _display_value(series: pd.Series, m: RankMetric) -> pd.Series:
    return series * 100 if m.fmt == "pct" else series


def table_frame(ranking: pd.DataFrame, m: RankMetric) -> pd.DataFrame:
    """The rows shown: rank, unit, value, numerator/denominator, change, gaps, status."""
    out = pd.DataFrame(
        {
            "rank": [
                place_text(r, tied=bool(t))
                for r, t in zip(ranking["rank"], ranking["tied"], strict=True)
            ],  # fmt: skip
            "name": ranking["name"].astype(str),
            "value": _display_value(ranking["value"], m).round(1 if m.fmt == "pct" else m.digits),
            "numerator": ranking["numerator"],
        }
    )
    if m.denominator:
        out["denominator"] = ranking["denominator"]
    if "projected" in ranking:
        out["projected"] = [projected_text(v, d) for v, d in
                            zip(ranking["projected"], ranking["projected_due"], strict=True)]  # fmt: skip
    out["rank_change"] = ranking["rank_change"]
    out["gap_to_above"] = [
        "第一" if not is_missing(r) and r == 1 else gap_text(g, m, signed=False)
        for r, g in zip(ranking["rank"], ranking["gap_to_above"], strict=True)
    ]
    out["gap_to_target"] = [gap_text(g, m, signed=True) for g in ranking["gap_to_target"]]
    out["status"] = ranking["status_text"]
    return out


def table_column_config(m: RankMetric, ranked_of: int = 0) -> dict:
    """column_config for table_frame: Chinese headers, units and formats; ranked_of = the
    units with a place (共 M 名)."""
    import streamlit as st

    value_format = {
        "pct": "%.1f%%",
        "points": "%.2f 分",
        "signed_points": "%+.2f 分",
        "count": "%d 件",
    }[m.fmt]
    config = {
        "rank": st.column_config.TextColumn(
            "名次" if not ranked_of else f"名次（共 {ranked_of} 名）",
            width=110,
            pinned=True,
            help="按显示精度相同的并列同一名次，下一名次顺延（1、1、3）；无数据不参与排名",
        ),
        "name": st.column_config.TextColumn("单位", pinned=True),
        "value": st.column_config.NumberColumn(m.label, format=value_format, help=m.help),
        "numerator": st.column_config.NumberColumn(m.numerator_label, format="%d", width=80),
        "rank_change": st.column_config.TextColumn(
            "名次变化",
            width=72,
            help="与上一次测评（得分类）或上周同日（比率类）相比：↑ 上升、↓ 下降、新 = 上次无名次",
        ),
        "projected": st.column_config.TextColumn(
            "按进度推算", help="按近 14 天进度推算到下一个走访节点的覆盖率；状态按此判定"
        ),
        "gap_to_above": st.column_config.TextColumn("与上一名差距"),
        "gap_to_target": st.column_config.TextColumn(
            "预计与目标差距" if m.rule.basis == "projection" else "与目标差距"
        ),
        "status": st.column_config.TextColumn(
            "状态", width=76, help="● 达标  ▲ 预警（差距在预警范围内）  ■ 落后  — 无数据"
        ),
    }
    if m.fmt in {"points", "signed_points"}:
        config["numerator"] = st.column_config.NumberColumn(
            m.numerator_label, format="%.2f", width=80
        )
    if m.denominator:
        fmt = "%.2f" if m.fmt in {"points", "signed_points"} else "%d"
        config["denominator"] = st.column_config.NumberColumn(
            m.denominator_label, format=fmt, width=80
        )
    return config


def chart_rows(ranking: pd.DataFrame) -> tuple[pd.DataFrame, bool]:
    """The ranked rows the chart shows, best first; trimmed to best and worst 15 if long."""
    ranked = ranking[ranking["rank"].notna() & ranking["value"].notna()]
    if len(ranked) <= CHART_MAX_BARS:
        return ranked, False
    half = CHART_MAX_BARS // 2
    return pd.concat([ranked.head(half), ranked.tail(half)]), True


def _long_bars(values: pd.Series) -> list[bool]:
    top = float(values.abs().max()) if len(values) else 0.0
    return [bool(top) and abs(float(v)) >= 0.45 * top for v in values]


def bar_chart(ranking: pd.DataFrame, m: RankMetric, title: str) -> go.Figure:
    """Horizontal bars, best at the top, coloured by status, each labelled with its value.

    customdata holds unit_id so a click can drill into the unit.
    """
    rows, trimmed = chart_rows(ranking)
    values = _display_value(rows["value"], m)
    # names cut for the axis (the full name is in the hover and the table), plotly markup inert
    labels = [
        f"{place_text(r, tied=bool(t)).replace(' ', '')} {chart_text(short(n, 30))}"
        for r, t, n in zip(rows["rank"], rows["tied"], rows["name"], strict=True)
    ]
    full_names = [chart_text(n) for n in rows["name"]]
    colours = [STATUS[s][2] for s in rows["status"]]
    texts = [
        f"{value_text(v, m)} {STATUS[s][0]}"
        for v, s in zip(rows["value"], rows["status"], strict=True)
    ]
    fig = go.Figure(
        go.Bar(
            x=values,
            y=labels,
            orientation="h",
            marker={"color": colours},
            text=texts,
            # Long bars carry their label inside, short ones (and 0) just beyond their end.
            textposition=["inside" if long else "outside" for long in _long_bars(values)],
            insidetextanchor="end",
            insidetextfont={"size": 18, "color": "white"},
            outsidetextfont={"size": 18, "color": "#111827"},
            cliponaxis=False,
            customdata=rows["unit_id"].astype(int).tolist(),
            hovertext=full_names,
            hovertemplate="%{hovertext}<br>" + m.label + "：%{text}<extra>点击查看下级</extra>",
        )
    )
    targets = rows["target"].dropna().unique()
    if len(targets) == 1:
        target = float(targets[0]) * (100 if m.fmt == "pct" else 1)
        fig.add_vline(
            x=target,
            line={"color": "#374151", "dash": "dash", "width": 2},
            annotation={
                "text": f"目标 {value_text(targets[0], m)}",
                "font": {"size": 16, "color": "#374151"},
            },
            annotation_position="top",
        )
    if trimmed:
        title += f"（仅显示前 {CHART_MAX_BARS // 2} 名与后 {CHART_MAX_BARS // 2} 名）"
    axis_title = m.label + (
        "（%）" if m.fmt == "pct" else "（分）" if "points" in m.fmt else "（件）"
    )
    x_range = None
    if m.fmt == "pct":
        x_range = [0, 100.0 if values.max() <= 100 else float(values.max()) * 1.05]
    elif m.fmt == "points" and len(values):
        # Scores sit close together (80–90 分); an axis from 0 would hide every difference,
        # so it starts a little below the lowest score or target and says so.
        low = min(float(values.min()), *(float(t) for t in targets))
        x_range = [max(0.0, (low // 5) * 5 - 5), max(100.0, float(values.max()))]
        axis_title += f"，横轴从 {x_range[0]:.0f} 分起"
    fig.update_layout(
        title={"text": title, "font": {"size": 22}},
        font={"family": FONT, "size": 18, "color": "#111827"},
        height=max(320, 46 * len(rows) + 140),
        margin={"l": 10, "r": 40, "t": 70, "b": 50},
        xaxis={"title": {"text": axis_title, "font": {"size": 16}}, "range": x_range,
               "gridcolor": "#e5e7eb", "zeroline": True, "zerolinecolor": "#9ca3af"},
        yaxis={"autorange": "reversed", "tickfont": {"size": 18}, "automargin": True},
        plot_bgcolor="white",
        showlegend=False,
        clickmode="event+select",
        dragmode=False,
    )  # fmt: skip
    return fig


def problems_frame(problems: pd.DataFrame) -> pd.DataFrame:
    """A unit's open problems for display: Chinese labels, deadline, days overdue."""
    return pd.DataFrame(
        {
            "problem_id": problems["problem_id"].astype(str),
            "deadline": pd.to_datetime(problems["deadline"]).dt.date,
            "overdue": [
                f"逾期 {d} 天" if o else "未到期"
                for d, o in zip(problems["days_overdue"], problems["is_overdue"], strict=True)
            ],
            "severity": [label(SEVERITY, s) for s in problems["severity"]],
            "category": problems["category"],
            "location": problems["location_unit"],
            "responsible": problems["responsible_unit"],
            "point": problems["point_name"],
            "source": [label(PROBLEM_SOURCE, s) for s in problems["source"]],
            "found_on": pd.to_datetime(problems["found_on"]).dt.date,
        }
    )


def problems_column_config() -> dict:
    import streamlit as st

    return {
        "problem_id": st.column_config.TextColumn("问题编号", pinned=True),
        "deadline": st.column_config.DateColumn("整改时限", format="YYYY-MM-DD"),
        "overdue": st.column_config.TextColumn("逾期情况"),
        "severity": st.column_config.TextColumn("严重程度"),
        "category": st.column_config.TextColumn("问题类别"),
        "location": st.column_config.TextColumn("属地单位"),
        "responsible": st.column_config.TextColumn("责任单位"),
        "point": st.column_config.TextColumn("点位"),
        "source": st.column_config.TextColumn("来源"),
        "found_on": st.column_config.DateColumn("发现日期", format="YYYY-MM-DD"),
    }


def level_label(level: str) -> str:
    return label(UNIT_KIND, level)
