"""创文态势看板 — the entry script and router: page config, database check, filters, navigation."""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

ROOT = Path(__file__).resolve().parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from dashboard import db, filters, metrics, page_days, session, startup  # noqa: E402
from dashboard.components.header import header_strip  # noqa: E402
from dashboard.components.page_css import APP_CSS  # noqa: E402

PAGES_DIR = ROOT / "dashboard" / "pages"

# (file, title, icon, url_path) — only pages that exist and work are listed.
PAGES: list[tuple[str, str, str, str]] = [
    ("meeting.py", "会议大屏", ":material/co_present:", "meeting"),
    ("rankings.py", "排名", ":material/leaderboard:", "rankings"),
    ("trends.py", "趋势", ":material/trending_up:", "trends"),
    ("flags.py", "红旗清单", ":material/flag:", "flags"),
    ("unit.py", "本单位", ":material/apartment:", "unit"),
    ("weekly.py", "周报", ":material/summarize:", "weekly"),
    ("simulator.py", "测算", ":material/calculate:", "simulator"),
    ("data.py", "数据", ":material/upload_file:", "data"),
]

st.set_page_config(
    page_title="创文态势看板",
    # An emoji favicon is drawn as an inline SVG data: URL. A ":material/…:" page icon
    # would make Streamlit 1.67's frontend fetch the favicon from fonts.gstatic.com on
    # every page, which fails on an intranet (the in-page :material/ icons use the font
    # bundled with Streamlit and need no request).
    page_icon="🚩",
    layout="wide",
    # expanded on a wide screen, collapsed on a phone (Streamlit decides by the width)
    initial_sidebar_state="auto",
)

meeting = st.query_params.get(filters.MODE_PARAM) == "meeting"
st.markdown(APP_CSS, unsafe_allow_html=True)  # constant CSS, no data


def _show_progress() -> None:
    bar = st.progress(0.0, text="首次启动：正在生成演示城市数据…")

    def progress(fraction: float, message: str) -> None:
        bar.progress(min(max(fraction, 0.0), 1.0), text=f"首次启动：{message}")

    problem = startup.ensure_database(progress)
    bar.empty()
    if problem:
        st.error(problem, icon=":material/error:")
        st.info(f"当前数据库路径：{db.db_path()}（可用环境变量 {db.ENV_VAR} 指定）")
        st.stop()


_show_progress()

access = session.ensure_access()
current = filters.render_filters(meeting)
startup.warm_up_in_background(filters.root_unit_id(), filters.default_as_of())
if not meeting:
    session.sidebar_account(access)

pages = [
    st.Page(PAGES_DIR / file, title=title, icon=icon, url_path=url_path, default=i == 0)
    for i, (file, title, icon, url_path) in enumerate(PAGES)
]
navigation = st.navigation(pages, position="hidden" if meeting else "sidebar")

if not meeting and current.url_problem is None:
    header_strip(
        current.scope_name,
        current.as_of,
        metrics.next_test(current.as_of),
        db.meta().get("generated_at"),
    )

if current.url_problem is not None:
    # ?unit= names several units (or none this session may see): say so, offer each, guess none
    filters.show_url_problem(current.url_problem, navigation, current)
    st.stop()

try:
    # pages that read several dates get their day-list queries answered in one pass each
    # (the default page's url_path is empty)
    with db.as_of_batch(page_days.days_for(navigation.url_path or PAGES[0][3], current.as_of)):
        navigation.run()
except db.AccessDenied:
    session.show_refused()
