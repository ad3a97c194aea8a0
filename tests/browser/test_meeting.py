"""会议大屏 in a real browser at projector size: no exception, no scrolling, no small type."""

from __future__ import annotations

import pytest

from tests.browser.conftest import screenshot

pytestmark = pytest.mark.browser

# Every visible, non-empty text node: its computed font size and where it is.
SMALLEST_TEXT_JS = """
() => {
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const found = [];
  const range = document.createRange();
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (!node.textContent.trim()) continue;
    const el = node.parentElement;
    if (!el || el.closest('style, script, noscript, title')) continue;
    let hidden = false;
    for (let e = el; e; e = e.parentElement) {
      const s = getComputedStyle(e);
      const box = e.getBoundingClientRect();
      if (s.display === 'none' || s.visibility === 'hidden' || parseFloat(s.opacity) === 0
          || (s.overflow === 'hidden' && box.width <= 1 && box.height <= 1)
          || (s.clip && s.clip.startsWith('rect(0'))) {
        hidden = true; break;  // also the 1 px "visually hidden" skip links
      }
    }
    if (hidden) continue;
    range.selectNodeContents(node);
    const r = range.getBoundingClientRect();
    if (r.width < 1 || r.height < 1) continue;
    if (r.bottom <= 0 || r.right <= 0 || r.top >= innerHeight || r.left >= innerWidth) continue;
    found.push({size: parseFloat(getComputedStyle(el).fontSize),
                text: node.textContent.trim().slice(0, 40), tag: el.tagName});
  }
  found.sort((a, b) => a.size - b.size);
  return found;
}
"""


@pytest.mark.parametrize("extra", ["", "&unit=东城区", "&rotate=flags", "&rotate=units"])
def test_meeting_view_fits_1920x1080_in_large_type(open_view, extra: str) -> None:
    path = "/?mode=meeting&as_of=2026-06-10" + extra
    page = open_view(path, 1920, 1080)
    page.wait_for_timeout(800)  # let plotly finish drawing
    assert page.locator('[data-testid="stException"]').count() == 0
    # chrome-free: no sidebar, header or toolbar
    for testid in ("stSidebar", "stHeader", "stToolbar", "stAppDeployButton"):
        boxes = page.locator(f'[data-testid="{testid}"]')
        assert all(not b.is_visible() for b in boxes.all()), testid
    assert page.locator(".modebar").count() == 0 or not page.locator(".modebar").first.is_visible()

    scroll_height, inner_height = page.evaluate(
        "() => [document.scrollingElement.scrollHeight, window.innerHeight]"
    )
    assert scroll_height <= inner_height + 1, (scroll_height, inner_height)
    # the meeting CSS hides overflow, so also check that nothing is cut off at the bottom
    content_bottom, main_scroll, main_client = page.evaluate(
        "() => { const m = document.querySelector('[data-testid=stMain]');"
        " const kids = [...document.querySelectorAll('[data-testid=stMainBlockContainer] *')];"
        " return [Math.max(...kids.map(e => e.getBoundingClientRect().bottom)),"
        " m.scrollHeight, m.clientHeight]; }"
    )
    assert content_bottom <= inner_height + 1, content_bottom
    assert main_scroll <= main_client + 1, (main_scroll, main_client)

    texts = page.evaluate(SMALLEST_TEXT_JS)
    assert texts, "no visible text"
    smallest = texts[0]
    print(f"smallest visible font: {smallest['size']}px ({smallest['text']!r})", texts[:4])
    assert smallest["size"] >= 16, texts[:5]
    # the decisive numbers are big
    sizes = page.evaluate(
        "() => [...document.querySelectorAll('[data-testid=stMetricValue] p')]"
        ".map(e => parseFloat(getComputedStyle(e).fontSize))"
    )
    assert len(sizes) == 6 and min(sizes) >= 48, sizes  # every view keeps the KPI row
    text = page.locator('[data-testid="stMain"]').inner_text()
    assert "数据截至 2026-06-10" in text
    assert "达标" in text and "预警" in text and "落后" in text

    name = {"": "meeting-1920", "&unit=东城区": "meeting-1920-district"}.get(extra)
    if name:
        assert screenshot(page, name).exists()


def test_projector_drill_down_and_back(open_view) -> None:
    """A presenter mouse opens a laggard unit's (or a flagged unit's) board and comes back."""
    from tests.browser.conftest import wait_until_idle

    page = open_view("/?mode=meeting&as_of=2026-06-10", 1920, 1080)
    top = page.locator(".st-key-mtop-scope").inner_text()
    buttons = page.locator('div[class*="st-key-mdrill-"] button')
    assert buttons.count() > 0
    name = buttons.first.inner_text().strip()
    buttons.first.click()
    page.wait_for_selector(".st-key-mtop-back button", timeout=30000)
    wait_until_idle(page)
    assert page.locator(".st-key-mtop-scope").inner_text().startswith(name)
    assert "back=" in page.url
    scroll_height, inner_height = page.evaluate(
        "() => [document.scrollingElement.scrollHeight, window.innerHeight]"
    )
    assert scroll_height <= inner_height + 1
    page.locator(".st-key-mtop-back button").click()
    page.wait_for_timeout(500)
    wait_until_idle(page)
    assert page.locator(".st-key-mtop-scope").inner_text() == top
    assert page.locator(".st-key-mtop-back").count() == 0 and "back=" not in page.url
