"""Pure figure and text builders for the 测算 page: frames and values in, Figure/str out."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from dashboard.components.charts import COMPARE, MAIN, REFERENCE, _dates, _values, base_layout


def backtest_figure(frame: pd.DataFrame, *, height: int = 420) -> go.Figure:
    """Actual score of each past test against the estimate made the day before and the naive
    "same as last test"; trace meta: actual / estimate / naive."""
    fig = go.Figure()
    x = _dates(frame["start_date"]) if len(frame) else []
    series = [
        ("actual", "实际得分", REFERENCE, "solid", "actual"),
        ("estimate", "测算估计（测评前一天的数据）", MAIN, "solid", "estimate"),
        ("naive", "与上次相同", COMPARE[0], "dot", "naive"),
    ]
    for key, name, color, dash, column in series:
        fig.add_trace(
            go.Scatter(
                x=x,
                y=_values(frame[column]) if len(frame) else [],
                name=name,
                meta=key,
                mode="lines+markers",
                line={"color": color, "dash": dash, "width": 3 if key == "estimate" else 2},
                hovertemplate="%{x|%Y-%m-%d}<br>" + name + " %{y:.2f} 分<extra></extra>",
                connectgaps=False,
            )
        )
    base_layout(fig, height=height, y_title="得分（分）")
    fig.update_xaxes(tickformat="%Y-%m")
    return fig


def estimate_text(value: float | None, mae: float | None) -> str:
    """'估计 88.6 ± 1.2 分' (± = the backtest's mean absolute error; without a backtest, no ±)."""
    if value is None:
        return "无数据"
    if mae is None:
        return f"估计 {value:.1f} 分"
    return f"估计 {value:.1f} ± {mae:.1f} 分"


def selection_text(items: int, owners: int, worth: float, projected: float | None,
                   target: float | None, *, chosen: bool) -> str:  # fmt: skip
    """'这 23 项，涉及 6 个单位，可挽回 +1.9 分 → 89.6，目标 90'."""
    lead = "已选" if chosen else "全部"
    text = f"{lead} {items} 项，涉及 {owners} 个单位，可挽回 +{worth:.1f} 分"
    if projected is not None:
        text += f" → {projected:.1f} 分"
    if target is not None:
        text += f"，目标 {target:g} 分"
    return text


def rank_text(rank: int | None, of: int | None, label: str) -> str:
    if rank is None:
        return "无排名依据"
    return f"第 {rank} 名" + (f"（共 {of} 个{label}）" if of else "")
