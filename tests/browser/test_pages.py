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


def test_on_a_phone_the_sidebar_starts_closed_and_the_uploader_speaks_chinese(open_view) -> None:
    """390×844: the page is not hidden behind the sidebar; tiles stack; no English
    uploader text is shown."""
    page = open_view("/unit?unit=和平街道&as_of=2026-06-10", 390, 844)
    sidebar = page.locator('[data-testid="stSidebar"]')
    box = sidebar.bounding_box() if sidebar.count() else None
    assert box is None or box["x"] + box["width"] <= 1, box  # collapsed: off screen
    boxes = [b.bounding_box() for b in page.locator('[data-testid="stMetric"]').all()[:3]]
    assert len(boxes) == 3 and boxes[0]["y"] < boxes[1]["y"] < boxes[2]["y"]  # stacked
    assert all(b["x"] >= 0 and b["x"] + b["width"] <= 390 for b in boxes)
    screenshot(page, "phone-unit-390x844")

    page = open_view("/data", 390, 844)
    shown = page.evaluate(
        """() => [...document.querySelectorAll(
              '[data-testid="stFileUploaderDropzone"] button p,'
              + '[data-testid="stFileUploaderDropzoneInstructions"] span')]
           .map(e => [parseFloat(getComputedStyle(e).fontSize),
                      getComputedStyle(e, '::after').content])"""
    )
    assert shown == [
        [0.0, '"选择文件"'],
        [0.0, '"或拖放到此处 · 单个文件不超过 20 MB · XLSX、CSV"'],
    ]
    screenshot(page, "phone-data-390x844")
