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
from dashboard.components.text import md_escape
from dashboard.unit_match import UnitIndex

SCOPE_KINDS = ("province", "city", "district", "street", "group", "department")
UNIT_PARAM = "unit"
AS_OF_PARAM = "as_of"
MODE_PARAM = "mode"
_STATE_KEY = "_cw_filters"


@dataclass(frozen=True)
class UnitChoice:
    """A unit the URL's name may mean, and the scope a link to it opens."""

    unit_id: int
    path: str  # parents and name: 东城区/和平街道/文苑社区
    scope_id: int  # the unit, or for a community its street: the scope the link opens
    scope_label: str  # that scope's label in the picker (what ?unit= holds)


@dataclass(frozen=True)
class UrlUnitProblem:
    """The URL names a unit (`?unit=…`) that is not one scope: what to tell, what to offer."""

    written: str
    message: str  # Chinese, with the written name (escape it for markdown)
    choices: tuple[UnitChoice, ...]


@dataclass(frozen=True)
class Filters:
    as_of: dt.date
    scope_id: int
    scope_name: str
    scope_kind: str
    meeting: bool = False
    url_problem: UrlUnitProblem | None = None  # the URL's unit could not be used as written


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


@db.per_snapshot
def unit_index() -> UnitIndex:
    """The importer's matcher (dashboard/unit_match.py) over the snapshot's units."""
    return UnitIndex.from_frame(metrics.units())


def url_unit(written: str | None, options: pd.DataFrame) -> int | UrlUnitProblem | None:
    """What the URL's `unit` means: None when it names nothing or a scope by its label (the
    scope picker reads it), a scope id when it names one scope another way (a path such as
    东城区/和平街道, or a full name), else the problem — a name several units bear, a
    community (views are scoped to streets and above), or no unit this session may see.
    Nothing is guessed: every unit the name fits is offered with its parents."""
    if not written or written in set(options["label"]):
        return None
    shown = written if len(written) <= 40 else written[:40] + "…"
    index = unit_index()
    allowed = db.allowed_unit_ids(db.current_access())
    by_label = {label: u for u, label in metrics.display_names().items()}
    found = [by_label[written]] if written in by_label else index.matches(written)
    found = [u for u in found if allowed is None or u in allowed]
    labels = dict(zip(options["unit_id"].astype(int), options["label"], strict=True))
    choices = []
    for unit_id in sorted(found, key=index.path):
        scope = next((u for u in reversed(index.chain(unit_id)) if u in labels), None)
        if scope is not None:
            choices.append(UnitChoice(unit_id, index.path(unit_id), scope, labels[scope]))
    if len(choices) == 1 and choices[0].unit_id in labels:
        return choices[0].unit_id
    if len(choices) > 1:
        message = (
            f"链接中的单位「{shown}」对应 {len(choices)} 个同名单位，无法确定是哪一个"
            "（看板不会替您猜）。请选择要查看的单位："
        )
    elif choices:
        message = (
            f"链接中的单位「{shown}」是{_KIND_NAME.get(index.kind(choices[0].unit_id), '下级单位')}，"
            "看板的单位范围最细到街道（乡镇）。可查看它所属的范围："
        )
    else:
        message = f"找不到链接中的单位「{shown}」，或您无权查看该单位。请在左侧重新选择单位范围。"
    return UrlUnitProblem(written, message, tuple(choices))


_KIND_NAME = {"community": "社区（村）", "department": "部门", "group": "工作组"}


_OFFERED_KEY = "_cw_url_unit_offered"


def show_url_problem(problem: UrlUnitProblem, page: object, filters: Filters) -> None:
    """The problem with the URL's unit and a link per candidate: this page at its scope (a
    bookmarkable address; render_filters lets that address win over the picker's last value)."""
    st.warning(md_escape(problem.message), icon=":material/help:")
    params = {AS_OF_PARAM: filters.as_of.isoformat()}
    if filters.meeting:
        params[MODE_PARAM] = "meeting"
    for choice in problem.choices:
        label = choice.path
        if choice.scope_id != choice.unit_id:
            label += f" → 查看{choice.scope_label}"
        st.page_link(
            page=page,  # by keyword: tests/test_safety.py reads a first positional as markdown
            label=md_escape(label),
            icon=":material/arrow_forward:",
            query_params={**params, UNIT_PARAM: choice.scope_label},
        )
    st.session_state[_OFFERED_KEY] = True


def _from_url(options: pd.DataFrame) -> tuple[int, dt.date]:
    """Meeting mode: read unit and as_of straight from the URL (a unit as url_unit reads
    it; an unusable one leaves the root, and render_filters reports it)."""
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
    # a unit named in the URL other than by its picker label: one scope is written back as
    # its label (the picker then reads it); anything else is reported, never guessed
    found = url_unit(st.query_params.get(UNIT_PARAM), options)
    problem = found if isinstance(found, UrlUnitProblem) else None
    offered = st.session_state.pop(_OFFERED_KEY, False)  # the last run listed candidates
    if isinstance(found, int):
        st.query_params[UNIT_PARAM] = labels[found]
        st.session_state[UNIT_PARAM] = found  # the picker starts there
    elif offered and found is None and st.query_params.get(UNIT_PARAM) in set(labels.values()):
        # a candidate's link was followed: its address wins over the picker's last value
        # (the picker is made anew, so it reads the address as on a first visit)
        st.session_state.pop(UNIT_PARAM, None)
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
    filters = Filters(as_of, int(scope_id), str(row["name"]), str(row["kind"]), meeting, problem)
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
