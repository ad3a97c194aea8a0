"""会议大屏: the landing page, projected at 1920×1080 and read from five metres.

Layout only: the numbers come from `dashboard.meeting.meeting_view`. Two modes:

* normal — inside the app (sidebar filters, header strip); the page may scroll.
* meeting — `/?mode=meeting`, combinable with `unit=东城区` and `as_of=2026-06-10`: no
  sidebar, header or toolbar, large type, fits one 1920×1080 screen without scrolling.

Unattended screens (meeting mode only):

* `rotate=overview,flags,units&every=60` cycles through the views (总览 / 红旗清单 /
  下级单位), one every `every` seconds (10…3600, default 60);
* `refresh=300` re-reads a single view every 300 seconds.

Both use `st.fragment(run_every=…)`: only the board reruns, the data is re-read through
the cached query runner (which notices a newly imported snapshot), and the view index is
kept in session state, so a dropped connection just resumes from the start.
"""

from __future__ import annotations

from urllib.parse import urlencode

import streamlit as st

from dashboard import db, filters, flags, meeting, session
from dashboard.components import board, kpi, sparkline
from dashboard.components.meeting_css import LAPTOP_CSS, MEETING_CSS, STATUS_CSS
from dashboard.components.text import is_long, md_escape, short

TICK_KEY = "_meeting_tick"
RERUN_KEY = "_meeting_drilled"

f = filters.current()
st.markdown(STATUS_CSS, unsafe_allow_html=True)  # constant CSS, no data
if f.meeting:
    st.markdown(MEETING_CSS, unsafe_allow_html=True)  # constant CSS, no data
else:
    st.markdown(LAPTOP_CSS, unsafe_allow_html=True)  # constant CSS, no data

rotation = (
    meeting.rotation(
        st.query_params.get("rotate"), st.query_params.get("every"), st.query_params.get("refresh")
    )
    if f.meeting
    else meeting.Rotation(("overview",), None)
)


def _top_bar(view: meeting.MeetingView, shown: str, labels: dict[int, str]) -> None:
    left, right = st.columns([7, 3], vertical_alignment="bottom")
    with left:
        title, countdown = st.columns([4, 6], vertical_alignment="bottom")
        with title.container(key="mtop-scope"):
            st.markdown(
                f"{md_escape(short(view.scope_name))} · 创文态势",
                help=md_escape(view.scope_name) if is_long(view.scope_name) else None,
            )
        with countdown.container(key="mtop-countdown"):
            st.markdown(md_escape(view.countdown_big))
        with countdown.container(key="mtop-countdetail"):
            st.markdown(md_escape(view.countdown_detail))
    with right:
        stack = meeting.back_stack(st.query_params.get(meeting.BACK_PARAM))
        if stack and stack[-1] in labels:
            with st.container(key="mtop-back"):
                st.button(f"← 返回 {md_escape(short(labels[stack[-1]], board.NAME_LIMIT))}", key="drill_back",
                          on_click=_go_back)  # fmt: skip
        with st.container(key="mtop-legend"):
            st.markdown(board.legend_md())
        with st.container(key="mtop-fresh"):
            text = view.freshness
            if len(rotation.views) > 1:
                index = rotation.views.index(shown) + 1
                text += f" · {meeting.VIEWS[shown]} {index}/{len(rotation.views)}"
            st.markdown(md_escape(text))


def _open_unit(key: str) -> None:
    """A click on a unit: open its meeting view, remembering where we came from."""
    unit_id = st.session_state.get(key)
    if unit_id is None:
        return
    stack = meeting.back_stack(st.query_params.get(meeting.BACK_PARAM))
    st.query_params[meeting.BACK_PARAM] = ",".join(str(u) for u in (*stack, f.scope_id))
    st.query_params[filters.UNIT_PARAM] = _labels()[unit_id]
    st.session_state[key] = None
    st.session_state[RERUN_KEY] = True  # a click inside the rotating fragment reruns all


def _go_back() -> None:
    stack = meeting.back_stack(st.query_params.get(meeting.BACK_PARAM))
    if not stack:
        return
    labels = _labels()
    if stack[-1] in labels:
        st.query_params[filters.UNIT_PARAM] = labels[stack[-1]]
    if len(stack) > 1:
        st.query_params[meeting.BACK_PARAM] = ",".join(str(u) for u in stack[:-1])
    else:
        del st.query_params[meeting.BACK_PARAM]
    st.session_state[RERUN_KEY] = True


def _labels() -> dict[int, str]:
    options = filters.scope_options()
    return dict(zip(options["unit_id"], options["label"], strict=True))


def _drill_pills(unit_ids: tuple[int, ...], key: str, labels: dict[int, str]) -> None:
    """On the projector: the units on the board as buttons that open their view."""
    if not f.meeting:
        return
    ids = [u for u in unit_ids if u in labels][:14]
    if not ids:
        return
    with st.container(key=f"mdrill-{key}"):
        st.pills(
            "点击单位查看其大屏",
            ids,
            format_func=lambda u: md_escape(short(labels[u], board.NAME_LIMIT)),
            key=f"drill_{key}",
            on_change=_open_unit,
            args=(f"drill_{key}",),
            label_visibility="collapsed",
        )


def _laggards_panel(view: meeting.MeetingView, labels: dict[int, str]) -> None:
    level = view.child_level_label or "下级单位"
    with st.container(key="mhead-laggards"):
        st.markdown(f"落后单位 · {md_escape(level)}倒数前三（只列未达标）")
    with st.container(key="mpanel-laggards"):
        if view.child_level is None:
            st.markdown("本单位没有下级单位可比较。")
        else:
            st.markdown(board.laggards_md(view.laggards))
    _drill_pills(meeting.drill_units(view)[0], "lag", labels)
    if f.meeting:
        with st.container(key="mnote-rules"):
            st.markdown(md_escape(meeting.rules_note()))


def _flags_panel(view: meeting.MeetingView, labels: dict[int, str], *,
                 with_value: bool = False) -> None:  # fmt: skip
    with st.container(key="mhead-flags"):
        st.markdown(f"红旗清单 · 优先级前 {len(view.flags)} 项" if view.flags else "红旗清单")
    with st.container(key="mpanel-flags"):
        if view.flags_error:
            st.markdown(md_escape(view.flags_error))
        elif pending := flags.served_note(view.as_of):
            st.markdown(md_escape(pending))  # yesterday's flags while today's are computed
        st.markdown(board.flags_md(view.flags, view.as_of, with_value=with_value))
    _drill_pills(meeting.drill_units(view)[1], "flags", labels)


def _charts(view: meeting.MeetingView, height: int) -> None:
    font = 18 if f.meeting else 14
    if view.score_series:
        st.plotly_chart(
            sparkline.score_trend_figure(
                view.score_series, view.score_target, height=height, font_size=font
            ),
            config=sparkline.PLOTLY_CONFIG,
            key="chart-score",
        )
    if view.coverage_series:
        st.plotly_chart(
            sparkline.coverage_figure(
                view.coverage_series,
                view.coverage_projection,
                view.milestones,
                height=height,
                font_size=font,
            ),
            config=sparkline.PLOTLY_CONFIG,
            key="chart-coverage",
        )


def _overview(view: meeting.MeetingView, labels: dict[int, str]) -> None:
    kpi.kpi_row(view.numbers)
    lag, flag, charts = st.columns([35, 45, 20], gap="medium")
    with lag:
        _laggards_panel(view, labels)
    with flag:
        _flags_panel(view, labels)
    with charts:
        _charts(view, 330 if f.meeting else 260)


def _units(view: meeting.MeetingView, labels: dict[int, str]) -> None:
    level = view.child_level_label or "下级单位"
    with st.container(key="mhead-units"):
        st.markdown(f"{md_escape(level)}一览（按综合得分从低到高）")
    with st.container(key="mpanel-units"):
        st.markdown(board.children_md(view.children))
    if not view.children.empty:
        _drill_pills(tuple(int(u) for u in view.children["unit_id"]), "units", labels)


def _board() -> None:
    if st.session_state.pop(RERUN_KEY, False):
        st.rerun()  # the scope changed: the filters are read again on a full run
    tick = st.session_state.get(TICK_KEY, -1) + 1
    st.session_state[TICK_KEY] = tick
    shown = rotation.views[tick % len(rotation.views)]
    flags_n = 10 if shown == "flags" else meeting.FLAGS_N
    view = meeting.meeting_view(f.scope_id, f.as_of, flags_n=flags_n)
    labels = _labels() if f.meeting else {}  # the drill-down buttons are the projector's
    if f.meeting:
        _top_bar(view, shown, labels)
    if shown == "flags":
        kpi.kpi_row(view.numbers)
        _flags_panel(view, labels, with_value=True)
    elif shown == "units":
        kpi.kpi_row(view.numbers)
        _units(view, labels)
    else:
        _overview(view, labels)
    if not f.meeting:
        with st.container(key="mnote"):
            st.caption(
                "状态规则："
                + "；".join(
                    f"{label} {meeting.rule(k).why()}" for k, label in meeting.LABELS.items()
                )
            )
        st.link_button(
            "投屏（会议模式）",
            "?" + urlencode({**st.query_params.to_dict(), "mode": "meeting"}),
            icon=":material/co_present:",
        )


def _refusable_board() -> None:
    # A fragment's reruns run only this function, outside the router: a changed users file
    # reruns the whole app (sign-in check), a refusal gets the router's Chinese message.
    if not session.still_current():
        st.rerun()
    try:
        _board()
    except db.AccessDenied:
        session.show_refused()


if rotation.every:
    st.fragment(run_every=rotation.every)(_refusable_board)()
else:
    _board()
