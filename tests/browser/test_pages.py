"""Every registered page opens in a real browser at a projector and a laptop size."""

from __future__ import annotations

import pytest

from tests.browser.conftest import external_requests, screenshot
from tests.test_app import page_url, registered_pages

PAGES = registered_pages()
VIEWPORTS = [(1920, 1080), (1366, 768)]


@pytest.mark.parametrize(("width", "height"), VIEWPORTS, ids=lambda v: str(v))
@pytest.mark.parametrize("page_name", PAGES)
def test_page_opens_without_exception(
    open_view, app_server, page_name: str, width: int, height: int
) -> None:
    page = open_view(f"{page_url(page_name)}?as_of=2026-06-10", width, height)
    assert page.locator('[data-testid="stException"]').count() == 0
    body = page.inner_text("body")
    assert "Traceback" not in body and "Error" not in body.split("\n")[0]
    assert "Page not found" not in body
    screenshot(page, f"page-{page_name.removesuffix('.py')}-{width}x{height}")
    # works offline: nothing is fetched from outside the app's own server (the favicon
    # used to come from fonts.gstatic.com)
    page.wait_for_timeout(300)
    assert external_requests(page, app_server.url) == []
