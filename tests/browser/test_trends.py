"""趋势 page in a real browser: each chart drawn at 1920×1080 (projector) and 1366×768
(laptop), the tab and controls restored from the URL; screenshots in test-artifacts/."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from tests.browser.conftest import screenshot
from tests.tiny import AS_OF

VIEWS = {
    "scores": ("测评得分", "目标 90"),
    "rectification": ("问题整改&grain=按周&span=近1个月", "红榜线 90%"),
    "visits": ("入户走访", "按近14天日均 0.6 个推算"),
}
SIZES = [(1920, 1080), (1366, 768)]


@pytest.mark.parametrize(("width", "height"), SIZES, ids=["1920x1080", "1366x768"])
@pytest.mark.parametrize("view", list(VIEWS))
def test_trend_chart_renders(open_view, view: str, width: int, height: int) -> None:
    query, must_show = VIEWS[view]
    tab, _, rest = query.partition("&")
    path = f"/trends?as_of={AS_OF.isoformat()}&view={quote(tab)}"
    if rest:
        path += "&" + "&".join(
            f"{k}={quote(v)}" for k, v in (part.split("=") for part in rest.split("&"))
        )
    page = open_view(path, width, height)
    chart = page.locator('[data-testid="stPlotlyChart"]').first
    chart.wait_for(timeout=20000)
    chart.scroll_into_view_if_needed()
    page.get_by_text(must_show).first.wait_for(timeout=10000)  # drawn inside the SVG
    selected = page.locator('[role="tab"][aria-selected="true"]')
    assert selected.inner_text().strip() == tab
    screenshot(page, f"trends-{view}-{width}x{height}")
