"""Hostile text in the data (unit names, problem descriptions) renders inert in a real browser."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from dashboard import store
from tests.browser.conftest import AppServer, screenshot, wait_until_idle
from tests.test_app import page_url, registered_pages

HOSTILE_DISTRICT = "<img src=x onerror=alert(1)>"
HOSTILE_STREET = "[点我](javascript:alert(1))"
HOSTILE_PROBLEM = '<script>alert(1)</script>=HYPERLINK("http://127.0.0.1:9/hyperlink")'
HOSTILE_DEPT = "=cmd|' /C calc'!A0"
# A community without data: listed by name in 排名's 无数据 caption (the tracking pixel of
# issue 18); auto-links, plotly markup, direction and zero-width characters, a huge name.
HOSTILE_PIXEL = "![t](http://127.0.0.1:9/track.png)"
HOSTILE_AUTOLINK = "http://127.0.0.1:9/auto www.example.com a@example.com"
HOSTILE_PLOTLY = '<a href="http://127.0.0.1:9/plotly">和平</a>'
HOSTILE_BIDI = "城关\u202e镇\u200b"
HOSTILE_LONG = "超长单位名称" * 83  # 498 characters
HOSTILE_GROUP = '=HYPERLINK("http://127.0.0.1:9/group","点")'
OUTSIDE = "127.0.0.1:9"


@pytest.fixture(scope="module")
def hostile_server(tiny_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    path = tmp_path_factory.mktemp("hostile") / "hostile.duckdb"
    shutil.copyfile(tiny_db, path)  # the session's tiny snapshot, poisoned below
    names = {
        3: HOSTILE_DISTRICT,
        5: HOSTILE_STREET,
        13: HOSTILE_DEPT,
        8: HOSTILE_PIXEL,
        7: HOSTILE_AUTOLINK,
        4: HOSTILE_PLOTLY,
        6: HOSTILE_BIDI,
        2: HOSTILE_LONG,  # a district: on the meeting view's tables
        11: HOSTILE_GROUP,
    }

    def poison(con: duckdb.DuckDBPyConnection) -> None:
        for unit_id, name in names.items():
            con.execute("update units set name = $n where unit_id = $u", {"n": name, "u": unit_id})
        con.execute("update problems set description = $d, category = $d", {"d": HOSTILE_PROBLEM})

    store.write_snapshot(path, poison, base=path)
    server = AppServer(path)
    yield server
    server.stop()


PATHS = [f"{page_url(p)}?as_of=2026-06-10" for p in registered_pages()] + [
    "/?mode=meeting&as_of=2026-06-10",
    "/?mode=meeting&as_of=2026-06-10&rotate=units&every=60",
    "/rankings?as_of=2026-06-10&rank_level=street",
    "/rankings?as_of=2026-06-10&rank_level=community",
    "/unit?as_of=2026-06-10&unit=市住建局",
]

LINKS_JS = """() => Array.from(document.querySelectorAll('a, img, image, iframe, source')).map(
    e => e.getAttribute('href') || e.getAttribute('xlink:href') || e.getAttribute('src') || '')"""


@pytest.mark.parametrize("path", PATHS)
def test_hostile_text_is_inert(hostile_server: AppServer, chromium, path: str) -> None:
    context = chromium.new_context(viewport={"width": 1920, "height": 1080}, locale="zh-CN")
    dialogs: list[str] = []
    requests: list[str] = []
    page = context.new_page()
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.on("request", lambda r: requests.append(r.url))
    try:
        page.goto(hostile_server.url + path)
        wait_until_idle(page)
        # exercise what the page shows on a click: open every expander, hover the charts
        for expander in page.locator('[data-testid="stExpander"] summary').all()[:10]:
            expander.click()
        charts = [c for c in page.locator(".js-plotly-plot").all() if c.is_visible()]
        for chart in charts[:3]:  # a chart in a tab not shown cannot be hovered
            chart.hover()
        page.wait_for_timeout(500)
        assert dialogs == [], f"script ran: {dialogs}"
        app = (hostile_server.url, "data:", "blob:")
        outside = [u for u in requests if not u.startswith(app)]
        assert outside == [], f"requests outside the app: {outside}"
        targets = [t for t in page.evaluate(LINKS_JS) if t]
        live = [t for t in targets if OUTSIDE in t or "example.com" in t or "javascript" in t]
        assert live == [], f"live links from data: {live}"
        body = page.inner_text("body")
        assert "\u202e" not in body and "\u200b" not in body
        assert HOSTILE_LONG not in body  # a 498-character name is cut wherever it is shown
        if "mode=meeting" in path:
            height = page.evaluate("() => document.documentElement.scrollHeight")
            assert height <= 1080, f"the meeting view grew to {height} px"
        assert page.locator('img[src="x"]').count() == 0
        assert page.locator('a[href^="javascript"]').count() == 0
        assert page.locator('[data-testid="stMain"] script').count() == 0
        assert page.locator('[data-testid="stException"]').count() == 0
        assert "Page not found" not in page.inner_text("body")
        name = path.strip("/").split("?")[0] or ("meeting-mode" if "mode=" in path else "landing")
        name += "-units" if "rotate=units" in path else ""
        screenshot(page, f"hostile-{name}")
    finally:
        context.close()
