"""Sparkline figures for the meeting view: composite score over the last tests, and visit
coverage against the milestone line. Pure: values in, plotly Figure out; fonts set large
enough to read from across a room (ticks ≥ 16 px)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Protocol

import plotly.graph_objects as go

from dashboard.components.text import chart_text

INK = "#111827"
MUTED = "#4b5563"
LINE = "#1d4ed8"
TARGET = "#c62828"
GRID = "#e5e7eb"
FONT = "Noto Sans CJK SC, Microsoft YaHei, PingFang SC, sans-serif"


class Point(Protocol):
    day: dt.date
    label: str
    value: float | None


class MilestoneLike(Protocol):
    due_date: dt.date
    target_share: float


def _layout(title: str, height: int, font_size: int) -> dict:
    return {
        "title": {"text": title, "font": {"size": font_size + 4, "color": INK}, "x": 0, "y": 0.97},
        "height": height,
        "margin": {"l": 8, "r": 16, "t": font_size * 2 + 16, "b": 8},
        "font": {"family": FONT, "size": font_size, "color": INK},
        "paper_bgcolor": "white",
        "plot_bgcolor": "white",
        "showlegend": False,
        "hovermode": False,
        "xaxis": {"showgrid": False, "tickfont": {"size": font_size, "color": INK},
                  "automargin": True},
        "yaxis": {"gridcolor": GRID, "tickfont": {"size": font_size, "color": INK},
                  "automargin": True, "nticks": 4},
    }  # fmt: skip


# Each figure is written as one dict and validated once by go.Figure: building it with
# add_trace / add_hline / update_* validates (and copies) it again at every step, which
# cost the meeting page tens of milliseconds for two small charts.


def score_trend_figure(
    points: Sequence[Point],
    target: float | None,
    *,
    title: str = "综合得分走势",
    height: int = 280,
    font_size: int = 18,
) -> go.Figure:
    """The composite score at each of the last tests, with the target as a dashed line."""
    labels = [chart_text(p.label) for p in points]
    values = [p.value for p in points]
    positions = list(range(len(points)))  # by position: two tests may share a label
    layout = _layout(title, height, font_size)
    known = [v for v in values if v is not None]
    if target is not None:
        # a dashed line across the plot at the target, labelled under its left end
        layout["shapes"] = [{
            "type": "line", "xref": "x domain", "x0": 0, "x1": 1, "yref": "y",
            "y0": target, "y1": target,
            "line": {"color": TARGET, "width": 3, "dash": "dash"},
        }]  # fmt: skip
        layout["annotations"] = [{
            "text": f"目标 {target:g}", "font": {"size": font_size, "color": TARGET},
            "showarrow": False, "xref": "x domain", "x": 0, "xanchor": "left",
            "yref": "y", "y": target, "yanchor": "top",
        }]  # fmt: skip
        known.append(target)
    if known:
        low, high = min(known), max(known)
        pad = max(1.0, (high - low) * 0.25)
        layout["yaxis"]["range"] = [low - pad, high + pad]
    layout["xaxis"].update(
        tickmode="array", tickvals=positions, ticktext=labels, tickangle=0,
        range=[-0.4, len(points) - 0.6],
    )  # fmt: skip
    line = {
        "type": "scatter",
        "x": positions,
        "y": values,
        "mode": "lines+markers+text",
        "line": {"color": LINE, "width": 4},
        "marker": {"size": 12, "color": LINE},
        "text": [f"{v:.1f}" if v is not None else "" for v in values],
        "textposition": "top center",
        "textfont": {"size": font_size, "color": INK},
        "cliponaxis": False,
    }
    return go.Figure({"data": [line], "layout": layout})


def coverage_figure(
    series: Sequence[Point],
    projection: Sequence[Point],
    milestones: Sequence[MilestoneLike],
    *,
    title: str = "走访覆盖率 vs 节点",
    height: int = 280,
    font_size: int = 18,
) -> go.Figure:
    """Coverage so far (solid), the projection to the next milestone (dashed) and the
    milestone targets as a stepped red line with their shares written on it."""
    traces: list[dict] = [{
        "type": "scatter",
        "x": [p.day for p in series],
        "y": [None if p.value is None else p.value * 100 for p in series],
        "mode": "lines",
        "line": {"color": LINE, "width": 4},
        "name": "实际",
    }]  # fmt: skip
    if projection:
        traces.append({
            "type": "scatter",
            "x": [p.day for p in projection],
            "y": [None if p.value is None else p.value * 100 for p in projection],
            "mode": "lines+markers+text",
            "line": {"color": LINE, "width": 3, "dash": "dot"},
            "marker": {"size": [0, 12], "color": LINE},
            "text": ["", f"预计 {projection[-1].value * 100:.0f}%"],
            "textposition": "top left",
            "textfont": {"size": font_size, "color": LINE},
            "cliponaxis": False,
            "name": "预计",
        })  # fmt: skip
    if milestones:
        traces.append({
            "type": "scatter",
            "x": [m.due_date for m in milestones],
            "y": [m.target_share * 100 for m in milestones],
            "mode": "markers+text",
            "marker": {"symbol": "diamond", "size": 16, "color": TARGET},
            "text": [f"{m.due_date:%m-%d} 目标 {m.target_share * 100:.0f}%" for m in milestones],
            # the last (100%) label above its marker, the others below theirs, so
            # none of them collides with the projection's label
            "textposition": ["bottom left"] * (len(milestones) - 1) + ["top left"],
            "textfont": {"size": font_size, "color": TARGET},
            "cliponaxis": False,
            "name": "节点目标",
        })  # fmt: skip
    layout = _layout(title, height, font_size)
    layout["yaxis"].update(range=[0, 112], ticksuffix="%", tickvals=[0, 50, 100])
    layout["xaxis"].update(tickformat="%m-%d", nticks=5)
    return go.Figure({"data": traces, "layout": layout})


PLOTLY_CONFIG = {"displayModeBar": False, "staticPlot": True, "responsive": True}
