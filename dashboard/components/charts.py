"""Pure plotly figure builders for trend charts: DataFrame (and plain values) in, Figure out.

They never read the database or session state. Text is Chinese, fonts are ≥ 14 px so a chart
reads on a projected 1920×1080 screen and on a 1366×768 laptop, and a missing value is a gap
in the line (connectgaps off), never a zero. Each trace's `meta` holds a stable English key
(e.g. "rectification_rate") so tests can find a series without depending on its label.
"""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashboard.components.text import chart_text

FONT_FAMILY = "Noto Sans CJK SC, Source Han Sans SC, Microsoft YaHei, PingFang SC, sans-serif"
FONT_SIZE = 15
SMALL = 14
MAIN = "#1f5fa8"
COMPARE = ["#e07b00", "#2a9d8f", "#8e44ad", "#b5651d", "#d1495b", "#3d5a80"]
REFERENCE = "#6b7280"
TARGET = "#c62828"
GOOD = "#1a7f37"
BAD = "#c62828"
MILESTONE = "#b35900"
BLACK_LINE = "#222222"


def _none(value: object) -> object:
    """NaN/NA → None, so JSON carries null and plotly draws a gap."""
    if value is None:
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return value


def _values(series: pd.Series | list) -> list:
    return [_none(v) for v in list(series)]


def _dates(series: pd.Series | list) -> list[str]:
    return [pd.Timestamp(v).isoformat() if _none(v) is not None else None for v in list(series)]


def _fmt(value: object, digits: int = 1, suffix: str = "") -> str:
    v = _none(value)
    return "无数据" if v is None else f"{float(v):.{digits}f}{suffix}"


def _signed(value: object, digits: int = 1) -> str:
    v = _none(value)
    if v is None:
        return "—"
    if round(float(v), digits) == 0:
        return "持平"
    return f"{'+' if v > 0 else '−'}{abs(float(v)):.{digits}f}"


def base_layout(fig: go.Figure, *, height: int = 460, y_title: str = "", x_title: str = "") -> None:
    fig.update_layout(
        template="plotly_white",
        height=height,
        font={"family": FONT_FAMILY, "size": FONT_SIZE, "color": "#1f2328"},
        hoverlabel={"font": {"family": FONT_FAMILY, "size": SMALL}},
        legend={
            "orientation": "h",
            "yanchor": "bottom",
            "y": 1.02,
            "xanchor": "left",
            "x": 0,
            "font": {"size": SMALL},
        },
        margin={"l": 70, "r": 30, "t": 60, "b": 60},
        hovermode="closest",
        separators=".,",
    )
    fig.update_xaxes(
        title={"text": x_title, "font": {"size": SMALL}},
        tickfont={"size": SMALL},
        showgrid=False,
        zeroline=False,
    )
    fig.update_yaxes(
        title={"text": y_title, "font": {"size": SMALL}},
        tickfont={"size": SMALL},
        gridcolor="#e5e7eb",
        zeroline=False,
    )


def _vline(fig: go.Figure, day: object, text: str, color: str, *, row: int | None = None) -> None:
    """A vertical marker with its label at the top (add_vline cannot annotate date axes)."""
    x = pd.Timestamp(day).isoformat()
    kwargs = {"row": row, "col": 1} if row else {}
    fig.add_shape(
        type="line",
        x0=x,
        x1=x,
        y0=0,
        y1=1,
        yref="y domain" if not row else "y domain",
        line={"color": color, "width": 2, "dash": "dot"},
        **kwargs,
    )
    fig.add_annotation(
        x=x,
        y=1,
        yref="y domain",
        text=text,
        showarrow=False,
        xanchor="right",
        yanchor="top",
        font={"size": SMALL, "color": color},
        bgcolor="rgba(255,255,255,0.85)",
        **kwargs,
    )


def _hline(fig: go.Figure, y: float, text: str, color: str, dash: str, **kwargs: object) -> None:
    fig.add_hline(
        y=y,
        line={"color": color, "width": 2, "dash": dash},
        annotation={
            "text": text,
            "font": {"size": SMALL, "color": color},
            "bgcolor": "rgba(255,255,255,0.85)",
        },
        annotation_position="top left",
        **kwargs,
    )


# ── scores over tests ───────────────────────────────────────────────────────────────────


def _separate_end_labels(fig: go.Figure, close_share: float = 0.06) -> None:
    """Lines that end close together (88.6 / 88.5) get their end labels above and below
    the point instead of on top of each other: within `close_share` of the y span."""
    ends = []
    every = []
    for i, trace in enumerate(fig.data):
        ys = [y for y in (trace.y or ()) if y is not None]
        every += ys
        labelled = [k for k, t in enumerate(trace.text or ()) if t]
        if labelled and trace.y[labelled[-1]] is not None:
            ends.append((float(trace.y[labelled[-1]]), i))
    if len(ends) < 2:
        return
    span = (max(every) - min(every)) or 1.0
    ends.sort(reverse=True)
    clusters: list[list[int]] = [[ends[0][1]]]
    previous = ends[0][0]
    for y, i in ends[1:]:
        if previous - y < close_share * span:
            clusters[-1].append(i)
        else:
            clusters.append([i])
        previous = y
    places = {2: ("top right", "bottom right"), 3: ("top right", "middle right", "bottom right")}
    for cluster in clusters:
        if len(cluster) < 2:
            continue
        positions = places.get(len(cluster), ("top right", "middle right", "bottom right"))
        for k, i in enumerate(cluster):
            fig.data[i].textposition = positions[k % len(positions)]


def score_trend_figure(
    data: pd.DataFrame,
    *,
    y_title: str = "得分（百分制）",
    target: float | None = None,
    target_label: str = "目标",
    next_test_date: dt.date | None = None,
    next_test_label: str = "",
    height: int = 460,
) -> go.Figure:
    """Lines of a score over tests, one per `series` (in order of appearance).

    data columns: series, key, role ('main' | 'compare' | 'reference'), start_date,
    assessment_name, level, score (0–100, NaN = no score), value, max_value, change.
    """
    fig = go.Figure()
    palette = iter(COMPARE)
    for key, rows in data.groupby("key", sort=False):
        role = rows["role"].iloc[0]
        name = chart_text(rows["series"].iloc[0])
        if role == "main":
            color, width, dash = MAIN, 4, "solid"
        elif role == "reference":
            color, width, dash = REFERENCE, 2, "dot"
        else:
            color, width, dash = next(palette, REFERENCE), 2.5, "solid"
        big = rows["level"].isin(["provincial", "national"])
        last = rows["score"].last_valid_index()
        text = [
            _fmt(s, 1) if i == last and role != "reference" else ""
            for i, s in rows["score"].items()
        ]
        custom = [
            [
                chart_text(a),
                _fmt(v, 2),
                _fmt(m, 0),
                _signed(c, 2),
            ]
            for a, v, m, c in zip(
                rows["assessment_name"],
                rows["value"],
                rows["max_value"],
                rows["change"],
                strict=True,
            )
        ]
        fig.add_trace(
            go.Scatter(
                x=_dates(rows["start_date"]),
                y=_values(rows["score"]),
                name=name,
                meta=str(key),
                mode="lines+markers+text",
                text=text,
                textposition="middle right",
                textfont={"size": SMALL, "color": color},
                line={"color": color, "width": width, "dash": dash},
                marker={
                    "size": [13 if b else 7 for b in big],
                    "symbol": ["diamond" if b else "circle" for b in big],
                    "color": color,
                },
                connectgaps=False,
                customdata=custom,
                hovertemplate=(
                    "<b>%{customdata[0]}</b><br>"
                    + name
                    + "：%{y:.2f}（得分 %{customdata[1]} / %{customdata[2]}）"
                    + "<br>较上次：%{customdata[3]}<extra></extra>"
                ),
            )
        )
    _separate_end_labels(fig)
    base_layout(
        fig, height=height, y_title=y_title, x_title="测评日期（◆ 省级/国家测评，● 市级模拟测评）"
    )
    if target is not None:
        _hline(fig, target, f"{target_label} {target:g}", TARGET, "dash")
    if next_test_date is not None:
        _vline(fig, next_test_date, next_test_label, TARGET)
    fig.update_xaxes(tickformat="%Y-%m", hoverformat="%Y-%m-%d")
    return fig


# ── surveys ─────────────────────────────────────────────────────────────────────────────


def survey_change_figure(
    latest: pd.DataFrame, *, wave_name: str = "", height: int = 440
) -> go.Figure:
    """Dumbbell of each item: previous wave (hollow) → latest wave (filled), the change
    labelled; the lowest item at the bottom in red.

    latest columns: item_name, rate, previous_rate, change (sorted by rate ascending).
    """
    rows = latest.sort_values("rate", ascending=True, na_position="first").reset_index(drop=True)
    names = [chart_text(n) for n in rows["item_name"]]
    fig = go.Figure()
    # connectors: one segment per item, separated by gaps
    xs: list = []
    ys: list = []
    for name, prev, cur in zip(names, rows["previous_rate"], rows["rate"], strict=True):
        if _none(prev) is not None and _none(cur) is not None:
            xs += [prev, cur, None]
            ys += [name, name, None]
    fig.add_trace(
        go.Scatter(
            x=xs,
            y=ys,
            mode="lines",
            line={"color": "#9ca3af", "width": 3},
            hoverinfo="skip",
            showlegend=False,
            meta="connector",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=_values(rows["previous_rate"]),
            y=names,
            mode="markers",
            name="上一轮",
            meta="previous_rate",
            marker={"size": 13, "color": "white", "line": {"color": REFERENCE, "width": 2}},
            hovertemplate="%{y}<br>上一轮：%{x:.1f}%<extra></extra>",
        )
    )
    lowest = rows["rate"].first_valid_index()
    colors = [BAD if i == lowest else MAIN for i in rows.index]
    fig.add_trace(
        go.Scatter(
            x=_values(rows["rate"]),
            y=names,
            mode="markers",
            name=f"本轮{('：' + wave_name) if wave_name else ''}",
            meta="rate",
            marker={"size": 15, "color": colors},
            customdata=[_signed(c, 1) for c in rows["change"]],
            hovertemplate="%{y}<br>本轮：%{x:.1f}%<br>较上一轮：%{customdata} 个百分点<extra></extra>",
        )
    )
    # labels right of whichever marker is further right, so they never cover a marker
    label_x = [
        max(v for v in (_none(p), _none(c)) if v is not None) if _none(c) is not None else None
        for p, c in zip(rows["previous_rate"], rows["rate"], strict=True)
    ]
    fig.add_trace(
        go.Scatter(
            x=label_x,
            y=names,
            mode="text",
            text=[
                f"  {_fmt(r, 1, '%')}（{_signed(c, 1)}）" + ("  最低" if i == lowest else "")
                for i, r, c in zip(rows.index, rows["rate"], rows["change"], strict=True)
            ],
            textposition="middle right",
            textfont={"size": SMALL, "color": colors},
            hoverinfo="skip",
            showlegend=False,
            cliponaxis=False,
            meta="labels",
        )
    )
    base_layout(fig, height=max(height, 120 + 34 * len(names)), x_title="满意率 / 知晓率（%）")
    values = [v for v in _values(rows["rate"]) + _values(rows["previous_rate"]) if v is not None]
    if values:
        low, high = math.floor(min(values) - 3), min(100, max(values))
        right = high + (high - low) * 0.45 + 6  # room for the labels, no ticks above 100%
        fig.update_xaxes(range=[low, right], tickvals=[v for v in range(0, 101, 5) if v >= low])
    fig.update_yaxes(tickfont={"size": FONT_SIZE}, automargin=True)
    fig.update_xaxes(showgrid=True, gridcolor="#e5e7eb")
    return fig


def survey_waves_figure(waves: pd.DataFrame, *, height: int = 440) -> go.Figure:
    """One line per item over waves (rate %), its latest value and change labelled at the end.

    waves columns: item_name, code, start_date, assessment_name, rate, change, sample_size.
    """
    fig = go.Figure()
    colors = [MAIN, *COMPARE]
    for n, (code, rows) in enumerate(waves.groupby("code", sort=True)):
        rows = rows.sort_values("start_date")
        color = colors[n % len(colors)]
        name = chart_text(rows["item_name"].iloc[0])
        last = rows["rate"].last_valid_index()
        legend = (
            name
            if last is None
            else (
                f"{name} {_fmt(rows['rate'][last], 1, '%')}（{_signed(rows['change'][last], 1)}）"
            )
        )
        fig.add_trace(
            go.Scatter(
                x=_dates(rows["start_date"]),
                y=_values(rows["rate"]),
                name=legend,
                meta=str(code),
                legendrank=1000 - (_none(rows["rate"][last]) or 0) if last is not None else 1000,
                mode="lines+markers",
                line={"color": color, "width": 2.5},
                connectgaps=False,
                customdata=[
                    [chart_text(a), _signed(c, 1), "—" if _none(s) is None else f"{int(s)}"]
                    for a, c, s in zip(
                        rows["assessment_name"], rows["change"], rows["sample_size"], strict=True
                    )
                ],
                hovertemplate=(
                    "<b>%{customdata[0]}</b><br>"
                    + name
                    + "：%{y:.1f}%<br>较上一轮：%{customdata[1]} 个百分点"
                    + "<br>样本量：%{customdata[2]}<extra></extra>"
                ),
            )
        )
    base_layout(fig, height=height, y_title="满意率 / 知晓率（%）", x_title="调查轮次（开始日期）")
    # legend below the plot: long item names would squeeze it on a laptop
    fig.update_layout(
        legend={
            "orientation": "h",
            "x": 0,
            "xanchor": "left",
            "y": -0.22,
            "yanchor": "top",
            "title": {"text": "最新一轮（较上一轮）", "font": {"size": SMALL}, "side": "top"},
        },
        margin={"r": 20, "t": 20, "b": 40},
        height=height + 120,
    )
    fig.update_xaxes(tickformat="%Y-%m", hoverformat="%Y-%m-%d")
    return fig


# ── rectification ───────────────────────────────────────────────────────────────────────


GRAIN_AXIS = {
    "day": ("日期", "%m-%d"),
    "week": ("周（以周日为周末，ISO 周）", "%m-%d"),
    "month": ("月份", "%Y-%m"),
}


def rectification_figure(
    series: pd.DataFrame,
    *,
    grain: str = "week",
    red_line: float = 0.90,
    black_line: float = 0.85,
    height: int = 600,
) -> go.Figure:
    """Top: 整改率 and 按期整改率 at each period end with the red-list and black-list lines.
    Bottom: problems found and rectified within each period (bars) and overdue at the
    period end (line).

    series columns: period_end, label, found, rectified, due, rectified_on_time, overdue,
    found_in_period, rectified_in_period, rectification_rate, on_time_rate.
    """
    fig = make_subplots(
        rows=2,
        cols=1,
        shared_xaxes=True,
        row_heights=[0.58, 0.42],
        vertical_spacing=0.08,
        subplot_titles=("整改率与按期整改率（期末累计）", "本期新发现、本期整改与期末逾期（件）"),
    )
    x = _dates(series["period_end"])
    labels = list(series["label"])
    last = len(series) - 1
    for key, name, color, dash, num, den in (
        ("rectification_rate", "整改率", MAIN, "solid", "rectified", "found"),
        ("on_time_rate", "按期整改率", "#2a9d8f", "dash", "rectified_on_time", "due"),
    ):
        y = [None if _none(v) is None else 100 * float(v) for v in series[key]]
        fig.add_trace(
            go.Scatter(
                x=x,
                y=y,
                name=name,
                meta=key,
                mode="lines+markers+text",
                text=[_fmt(v, 1, "%") if i == last else "" for i, v in enumerate(y)],
                textposition="top left" if key == "rectification_rate" else "bottom left",
                textfont={"size": SMALL, "color": color},
                line={
                    "color": color,
                    "width": 3.5 if key == "rectification_rate" else 2.5,
                    "dash": dash,
                },
                marker={"size": 7},
                connectgaps=False,
                customdata=[
                    [lab, int(n), int(d)]
                    for lab, n, d in zip(labels, series[num], series[den], strict=True)
                ],
                hovertemplate=(
                    "<b>%{customdata[0]}</b><br>"
                    + name
                    + "：%{y:.1f}%（%{customdata[1]} / %{customdata[2]} 件）<extra></extra>"
                ),
            ),
            row=1,
            col=1,
        )
    for key, name, color in (
        ("found_in_period", "本期新发现", "#93a8c4"),
        ("rectified_in_period", "本期整改", "#7cc49a"),
    ):
        fig.add_trace(
            go.Bar(
                x=x,
                y=_values(series[key]),
                name=name,
                meta=key,
                marker={"color": color},
                customdata=labels,
                hovertemplate="<b>%{customdata}</b><br>" + name + "：%{y} 件<extra></extra>",
            ),
            row=2,
            col=1,
        )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=_values(series["overdue"]),
            name="期末逾期",
            meta="overdue",
            mode="lines+markers",
            line={"color": BAD, "width": 3},
            marker={"size": 7},
            customdata=labels,
            hovertemplate="<b>%{customdata}</b><br>期末逾期：%{y} 件<extra></extra>",
        ),
        row=2,
        col=1,
    )
    axis_title, tickformat = GRAIN_AXIS.get(grain, GRAIN_AXIS["week"])
    base_layout(fig, height=height)
    fig.update_layout(
        barmode="group",
        bargap=0.25,
        margin={"t": 80},
        legend={"x": 1, "xanchor": "right", "y": 1.06, "yanchor": "bottom"},
    )
    fig.update_annotations(font={"size": FONT_SIZE}, x=0, xanchor="left")
    _hline(fig, 100 * red_line, f"红榜线 {100 * red_line:g}%", TARGET, "dash", row=1, col=1)
    _hline(fig, 100 * black_line, f"黑榜线 {100 * black_line:g}%", BLACK_LINE, "dot", row=1, col=1)
    rates = [
        100 * float(v)
        for v in list(series["rectification_rate"]) + list(series["on_time_rate"])
        if _none(v) is not None
    ]
    low = min([*rates, 100 * black_line]) if rates else 100 * black_line
    fig.update_yaxes(title={"text": "比率（%）"}, range=[max(0, low - 8), 102], row=1, col=1)
    fig.update_yaxes(title={"text": "件数"}, rangemode="tozero", row=2, col=1)
    fig.update_xaxes(tickformat=tickformat, row=2, col=1, title={"text": axis_title})
    return fig


# ── visit coverage ──────────────────────────────────────────────────────────────────────


def burnup_figure(
    series: pd.DataFrame,
    steps: pd.DataFrame,
    milestones: pd.DataFrame,
    projection: pd.DataFrame,
    *,
    target: int,
    as_of: dt.date,
    unit_word: str = "户",
    basis_text: str = "",
    no_projection_text: str = "",
    x_end: dt.date | None = None,
    height: int = 520,
) -> go.Figure:
    """Burn-up: cumulative distinct subjects visited at each period end, the stepped
    milestone line, each milestone's target and, dashed, the projection from the recent pace
    with its projected value and the daily visits still needed.

    series: period_end, label, covered, coverage_rate. steps: date, required.
    milestones: due_date, target_share, target_count, days_left, projected_rate,
    projected_count, behind, daily_needed, reached. projection: date, covered.
    """
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=_dates(steps["date"]),
            y=_values(steps["required"]),
            name="节点目标",
            meta="milestone_line",
            mode="lines",
            line={"color": MILESTONE, "width": 2.5},
            hoverinfo="skip",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=_dates(series["period_end"]),
            y=_values(series["covered"]),
            name="已走访（累计，按对象去重）",
            meta="covered",
            mode="lines+markers",
            line={"color": MAIN, "width": 4},
            marker={"size": 6},
            fill="tozeroy",
            fillcolor="rgba(31,95,168,0.10)",
            customdata=[
                [lab, _fmt(None if _none(r) is None else 100 * r, 1, "%")]
                for lab, r in zip(series["label"], series["coverage_rate"], strict=True)
            ],
            hovertemplate=(
                "<b>%{customdata[0]}</b><br>累计已走访：%{y:,} "
                + unit_word
                + "<br>覆盖率：%{customdata[1]}<extra></extra>"
            ),
        )
    )
    if len(projection) > 1:
        fig.add_trace(
            go.Scatter(
                x=_dates(projection["date"]),
                y=_values(projection["covered"]),
                name=basis_text or "预测",
                meta="projection",
                mode="lines",
                line={"color": MAIN, "width": 3, "dash": "dash"},
                hovertemplate="%{x|%Y-%m-%d}<br>预计累计：%{y:,.0f} "
                + unit_word
                + "<extra></extra>",
            )
        )
    ahead = milestones[milestones["days_left"] > 0] if len(milestones) else milestones
    if len(ahead) and len(projection) > 1:
        proj_y = [_none(v) for v in ahead["projected_count"]]
        colors = [BAD if b else GOOD for b in ahead["behind"]]
        fig.add_trace(
            go.Scatter(
                x=_dates(ahead["due_date"]),
                y=proj_y,
                name="节点预计值",
                meta="projected_at_milestone",
                mode="markers+text",
                marker={"size": 13, "color": colors, "symbol": "circle"},
                text=[
                    f"预计 {_fmt(None if _none(r) is None else 100 * r, 1, '%')}"
                    for r in ahead["projected_rate"]
                ],
                textposition="top left",
                textfont={"size": SMALL, "color": colors},
                showlegend=False,
                cliponaxis=False,
                hovertemplate="%{x|%Y-%m-%d}<br>按当前进度预计：%{y:,.0f} "
                + unit_word
                + "<extra></extra>",
            )
        )
    if len(milestones):
        text = []
        for m in milestones.itertuples():
            line = f"{pd.Timestamp(m.due_date):%m-%d} 目标 {100 * m.target_share:g}%"
            if m.days_left > 0 and _none(m.daily_needed) is not None:
                line += f"<br>还需日均 {count_text(m.daily_needed)} {unit_word}"
            elif m.days_left <= 0:
                line += "（已到期）"
            text.append(line)
        fig.add_trace(
            go.Scatter(
                x=_dates(milestones["due_date"]),
                y=_values(milestones["target_count"]),
                name="节点",
                meta="milestones",
                mode="markers+text",
                marker={"size": 15, "color": MILESTONE, "symbol": "diamond"},
                text=text,
                textposition="bottom left",
                textfont={"size": SMALL, "color": MILESTONE},
                showlegend=False,
                cliponaxis=False,
                hovertemplate="%{x|%Y-%m-%d} 节点目标：%{y:,.0f} " + unit_word + "<extra></extra>",
            )
        )
    base_layout(fig, height=height, y_title=f"累计走访对象（{unit_word}）", x_title="日期")
    _vline(fig, as_of, f"数据截至 {as_of:%m-%d}", REFERENCE)
    if no_projection_text:
        fig.add_annotation(
            x=0.01,
            y=0.97,
            xref="paper",
            yref="paper",
            text=no_projection_text,
            showarrow=False,
            xanchor="left",
            yanchor="top",
            font={"size": FONT_SIZE, "color": MILESTONE},
            bgcolor="rgba(255,255,255,0.9)",
            bordercolor=MILESTONE,
            borderwidth=1,
        )
    fig.update_yaxes(range=[0, max(target, 1) * 1.18], tickformat=",")
    fig.update_xaxes(tickformat="%m-%d", hoverformat="%Y-%m-%d")
    if x_end is not None and len(series):
        start = pd.Timestamp(series["period_end"].iloc[0]) - pd.Timedelta(days=2)
        fig.update_xaxes(
            range=[start.isoformat(), (pd.Timestamp(x_end) + pd.Timedelta(days=3)).isoformat()]
        )
    return fig


def entry_rate_figure(series: pd.DataFrame, *, height: int = 520) -> go.Figure:
    """平台录入率 (entered ÷ visits, cumulative at each period end) over the campaign.

    series columns: period_end, label, visits, entered, entry_rate.
    """
    y = [None if _none(v) is None else 100 * float(v) for v in series["entry_rate"]]
    last = max((i for i, v in enumerate(y) if v is not None), default=None)
    fig = go.Figure(
        go.Scatter(
            x=_dates(series["period_end"]),
            y=y,
            name="平台录入率",
            meta="entry_rate",
            mode="lines+markers+text",
            text=[_fmt(v, 1, "%") if i == last else "" for i, v in enumerate(y)],
            textposition="bottom left",
            textfont={"size": SMALL, "color": MAIN},
            line={"color": MAIN, "width": 3},
            connectgaps=False,
            customdata=[
                [lab, int(e), int(v)]
                for lab, e, v in zip(
                    series["label"], series["entered"], series["visits"], strict=True
                )
            ],
            hovertemplate=(
                "<b>%{customdata[0]}</b><br>平台录入率：%{y:.1f}%"
                "（%{customdata[1]:,} / %{customdata[2]:,} 次走访）<extra></extra>"
            ),
        )
    )
    base_layout(fig, height=height, y_title="平台录入率（%，累计）", x_title="日期")
    low = min([v for v in y if v is not None], default=80)
    fig.update_yaxes(range=[max(0, low - 10), 101])
    fig.update_xaxes(tickformat="%m-%d", hoverformat="%Y-%m-%d")
    fig.update_layout(showlegend=False, margin={"t": 30})
    return fig


SUBJECT_UNIT = {"household": "户", "new_resident": "人", "business": "家", "key_project": "个"}


def count_text(value: float | None) -> str:
    """A pace or need in subjects a day: 0.64 → '0.6', 1234.5 → '1,235'."""
    v = _none(value)
    if v is None:
        return "—"
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:,.1f}"


def projection_basis_text(pace: float | None, window_days: int, unit_word: str) -> str:
    """The basis a projection states in the chart: '按近14天日均 9.6 户推算'."""
    return f"按近{window_days}天日均 {count_text(pace)} {unit_word}推算"


def milestone_table(milestones: pd.DataFrame, unit_word: str) -> pd.DataFrame:
    """One row per milestone for display: due date, target, projected, daily needed, status."""
    rows = []
    for m in milestones.itertuples():
        if m.reached:
            status = "已达到"
        elif m.days_left <= 0:
            status = "已到期未达到"
        elif m.behind is None:
            status = "历史不足，暂不推算"
        else:
            status = "按当前进度将落后" if m.behind else "按当前进度可完成"
        rows.append(
            {
                "节点": f"{pd.Timestamp(m.due_date):%Y-%m-%d}",
                "目标覆盖率": f"{100 * m.target_share:g}%",
                "目标数": f"{m.target_count:,.0f} {unit_word}",
                "剩余天数": max(int(m.days_left), 0),
                "预计覆盖率": _fmt(
                    None if _none(m.projected_rate) is None else 100 * m.projected_rate, 1, "%"
                )
                if m.days_left > 0
                else "—",
                "还需日均新走访": f"{count_text(m.daily_needed)} {unit_word}"
                if _none(m.daily_needed) is not None
                else "—",
                "状态": status,
            }
        )
    return pd.DataFrame(rows)
