"""KPI tile: one decisive number with its status (symbol + word + colour), target and change.

The tile is an `st.metric` inside a keyed container. Colour comes only from the static CSS
in `meeting_css` through the container's key class (`st-key-tile-<key>-s-<status>`), so no
data ever goes into HTML; the status is also written as a symbol and a word, so the tile
reads the same without colour.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from dashboard.components.text import md_escape

if TYPE_CHECKING:
    from dashboard.meeting import Number

_DELTA_COLOR = {True: "green", False: "red", None: "gray"}


def status_line(number: Number) -> str:
    """'■ 落后 · 目标 90.00 分' (symbol and word first: they carry the meaning)."""
    if number.status == "none" and number.value is not None:
        return number.target_text  # a value without a bar to judge it by
    return f"{number.status_symbol} {number.status_label} · {number.target_text}"


def kpi_tile(number: Number) -> None:
    """Draw one tile into the current container."""
    with st.container(key=f"tile-{number.key}-s-{number.status}", border=True):
        st.metric(
            number.label,
            number.value_text,
            delta=number.change_text,
            delta_color=_DELTA_COLOR[number.change_is_good],
            delta_arrow=number.change_arrow,
            delta_description=number.change_basis,
        )
        with st.container(key=f"tstatus-{number.key}"):
            st.markdown(md_escape(status_line(number)))
        with st.container(key=f"tdetail-{number.key}-d-{number.detail_status}"):
            st.markdown(md_escape(number.detail) if number.detail else "\u00a0")


def kpi_row(numbers: tuple[Number, ...]) -> None:
    """All tiles side by side."""
    for column, number in zip(st.columns(len(numbers), gap="small"), numbers, strict=True):
        with column:
            kpi_tile(number)
