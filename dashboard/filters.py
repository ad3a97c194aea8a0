"""The shared filters (as-of date, unit scope, meeting mode) and their home in the URL.

The entry script calls `render_filters()` once per run; pages call `current()`. Both the
scope and the date are bound to query parameters (`?unit=东城区&as_of=2026-06-10`), so a
link reproduces the view; `?mode=meeting` asks for the chrome-free projector view, where
no sidebar is drawn and the same parameters are read straight from the URL.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd
import streamlit as st

from dashboard import db, metrics

SCOPE_KINDS = ("province", "city", "district", "street", "group", "department")
UNIT_PARAM = "unit"
AS_OF_PARAM = "as_of"
MODE_PARAM = "mode"
_STATE_KEY = "_cw_filters"


@dataclass(frozen=True)
class Filters:
    as_of: dt.date
    scope_id: int
    scope_name: str
    scope_kind: str
    meeting: bool = False


def scope_options() -> pd.DataFrame:
    """Units this session may scope a view to, with a label unique across the tree."""
    units = metrics.units()
    frame = units[units["kind"].isin(SCOPE_KINDS)].copy()
    allowed = db.allowed_unit_ids(db.current_access())
    if allowed is not None:
        frame = frame[frame["unit_id"].isin(allowed)]
    kind_order = {k: i for i, k in enumerate(SCOPE_KINDS)}
    frame["kind_order"] = frame["kind"].map(kind_order)
    frame["label"] = frame["unit_id"].map(metrics.display_names()).fillna(frame["name"])
    return frame.sort_values(["kind_order", "sort_order", "unit_id"]).reset_index(drop=True)


def root_unit_id() -> int:
    """The top of what this session may see: the tree's root, or the user's first unit."""
    access = db.current_access()
    if access.root_ids:
        return int(access.root_ids[0])
    units = metrics.units()
    roots = units[units["parent_id"].isna()]
    return int(roots.iloc[0]["unit_id"])


def default_as_of() -> dt.date:
    """Today; for demo and test data, the day they were generated for."""
    info = db.meta()
    if info.get("source") in {"demo", "test"} and info.get("reference_date"):
        return dt.date.fromisoformat(info["reference_date"])
    return dt.date.today()


def parse_as_of(text: str | None) -> dt.date | None:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text.strip()[:10])
    except ValueError:
        return None


def _from_url(options: pd.DataFrame) -> tuple[int, dt.date]:
    """Meeting mode: read unit and as_of straight from the URL, ignoring what is invalid."""
    label = st.query_params.get(UNIT_PARAM)
    match = options[options["label"] == label]
    scope_id = int(match.iloc[0]["unit_id"]) if len(match) else root_unit_id()
    as_of = parse_as_of(st.query_params.get(AS_OF_PARAM)) or default_as_of()
    return scope_id, as_of


def render_filters(meeting: bool) -> Filters:
    """Draw the sidebar filters (or read the URL in meeting mode) and remember them."""
    options = scope_options()
    if options.empty:
        st.warning("您的账号没有被授权查看任何单位，请联系创文办开通。")
        st.stop()
    labels = dict(zip(options["unit_id"], options["label"], strict=True))
    if meeting:
        scope_id, as_of = _from_url(options)
    else:
        with st.sidebar:
            st.subheader("筛选")
            ids = list(options["unit_id"])
            scope_id = st.selectbox(
                "单位范围",
                ids,
                index=ids.index(root_unit_id()),
                format_func=lambda i: labels[i],
                key=UNIT_PARAM,
                bind="query-params",
                help="只看本单位及其下属单位；链接会记住这个选择，可收藏或分享。",
            )
            as_of = st.date_input(
                "数据截至",
                value=default_as_of(),
                key=AS_OF_PARAM,
                bind="query-params",
                format="YYYY-MM-DD",
                help="按这一天的情况计算所有指标，可回看上周。",
            )
    row = options[options["unit_id"] == scope_id].iloc[0]
    filters = Filters(as_of, int(scope_id), str(row["name"]), str(row["kind"]), meeting)
    st.session_state[_STATE_KEY] = filters
    return filters


def current() -> Filters:
    """The filters of this run (set by the entry script before the page runs)."""
    filters = st.session_state.get(_STATE_KEY)
    if filters is None:
        raise RuntimeError("filters not rendered: pages run through streamlit_app.py")
    return filters


def child_level(kind: str) -> str | None:
    """The unit kind one level below `kind` in the territorial tree."""
    return metrics.child_level(kind)
