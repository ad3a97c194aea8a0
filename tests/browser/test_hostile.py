"""Hostile text in the data (unit names, problem descriptions) renders inert in a real browser."""

from __future__ import annotations

from collections.abc import Iterator

import duckdb
import pytest

from dashboard import store
from tests.browser.conftest import AppServer, screenshot, wait_until_idle
from tests.test_app import page_url, registered_pages
from tests.tiny import build_tiny

HOSTILE_DISTRICT = "<img src=x onerror=alert(1)>"
HOSTILE_STREET = "[点我](javascript:alert(1))"
HOSTILE_PROBLEM = '<script>alert(1)</script>=HYPERLINK("http://x")'
HOSTILE_DEPT = "=cmd|' /C calc'!A0"


@pytest.fixture(scope="module")
def hostile_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    path = build_tiny(tmp_path_factory.mktemp("hostile") / "hostile.duckdb")

    def poison(con: duckdb.DuckDBPyConnection) -> None:
        con.execute("update units set name = $n where unit_id = 3", {"n": HOSTILE_DISTRICT})
        con.execute("update units set name = $n where unit_id = 5", {"n": HOSTILE_STREET})
        con.execute("update units set name = $n where unit_id = 13", {"n": HOSTILE_DEPT})
        con.execute("update problems set description = $d, category = $d", {"d": HOSTILE_PROBLEM})

    store.write_snapshot(path, poison, base=path)
    server = AppServer(path)
    yield server
    server.stop()


PATHS = [f"{page_url(p)}?as_of=2026-06-10" for p in registered_pages()] + [
    "/?mode=meeting&as_of=2026-06-10",
    "/rankings?as_of=2026-06-10&rank_level=street",
]


@pytest.mark.parametrize("path", PATHS)
def test_hostile_text_is_inert(hostile_server: AppServer, chromium, path: str) -> None:
    context = chromium.new_context(viewport={"width": 1920, "height": 1080}, locale="zh-CN")
    dialogs: list[str] = []
    page = context.new_page()
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    try:
        page.goto(hostile_server.url + path)
        wait_until_idle(page)
        # exercise what the page shows on a click: open every expander
        for expander in page.locator('[data-testid="stExpander"] summary').all()[:10]:
            expander.click()
        page.wait_for_timeout(500)
        assert dialogs == [], f"script ran: {dialogs}"
        assert page.locator('img[src="x"]').count() == 0
        assert page.locator('a[href^="javascript"]').count() == 0
        assert page.locator('[data-testid="stMain"] script').count() == 0
        assert page.locator('[data-testid="stException"]').count() == 0
        assert "Page not found" not in page.inner_text("body")
        name = path.strip("/").split("?")[0] or ("meeting-mode" if "mode=" in path else "landing")
        screenshot(page, f"hostile-{name}")
    finally:
        context.close()
