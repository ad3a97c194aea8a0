"""排名 in a real browser: click a district to see its streets, go back with the breadcrumb,
open the shared (drilled) URL, and click a table row to drill one level further."""

from __future__ import annotations

from urllib.parse import unquote

from tests.browser.conftest import screenshot, wait_until_idle

BASE = "/rankings?as_of=2026-06-10"


def wait_for_ranking(page, text: str) -> None:
    """Wait until the ranking title shows `text` and the table and chart are drawn."""
    try:
        page.get_by_text(text, exact=False).first.wait_for(timeout=45000)
    except Exception:
        screenshot(page, "rankings-failure")
        raise
    page.locator('[data-testid="stDataFrame"]').first.wait_for(timeout=30000)
    page.locator(".js-plotly-plot .barlayer .point path").first.wait_for(
        state="attached", timeout=30000
    )
    wait_until_idle(page)
    page.wait_for_timeout(500)


def bar_labels(page) -> list[str]:
    """The chart's unit labels ("第1名 东城区", "并列第1名 和平街道"), best first."""
    return sorted(page.locator(".js-plotly-plot .ytick text").all_text_contents())


def click_bar(page, index: int) -> None:
    box = page.locator(".js-plotly-plot .barlayer .point path").nth(index).bounding_box()
    # Score axes start near the lowest score, so a bar's left part lies outside the plot:
    # click just inside its right end, which is always drawn.
    page.mouse.click(box["x"] + box["width"] - 25, box["y"] + box["height"] / 2)


def test_click_district_bar_breadcrumb_back_and_shared_url(open_view) -> None:
    page = open_view(BASE)
    wait_for_ranking(page, "临江市 · 区县综合得分")
    assert page.locator('[data-testid="stException"]').count() == 0
    assert bar_labels(page) == ["第1名 东城区", "第2名 西城区"]
    screenshot(page, "rankings-district")

    click_bar(page, 0)  # 东城区: bars are drawn in ranking order
    page.wait_for_url(lambda url: "drill=东城区" in unquote(url), timeout=30000)
    wait_for_ranking(page, "临江市 › 东城区 · 街道/镇综合得分")
    assert bar_labels(page) == ["并列第1名 和平街道", "并列第1名 解放街道"]  # tied at 86
    assert "drill=东城区" in unquote(page.url)
    shared = unquote(page.url)
    screenshot(page, "rankings-street")

    page.get_by_role("button", name="临江市").click()
    wait_for_ranking(page, "临江市 · 区县综合得分")
    assert "drill=" not in unquote(page.url)
    assert bar_labels(page) == ["第1名 东城区", "第2名 西城区"]

    again = open_view(shared[shared.index("/rankings") :])
    wait_for_ranking(again, "临江市 › 东城区 · 街道/镇综合得分")
    assert bar_labels(again) == ["并列第1名 和平街道", "并列第1名 解放街道"]
    assert again.get_by_role("button", name="临江市").count() == 1


def test_click_table_row_drills_into_street(open_view) -> None:
    page = open_view(BASE + "&rank_metric=整改率&drill=东城区")
    wait_for_ranking(page, "临江市 › 东城区 · 街道/镇整改率")
    grid = page.locator('[data-testid="stDataFrame"]').first
    box = grid.bounding_box()
    # Row 1 (和平街道) of the glide grid: header ~35 px, rows ~35 px; click the row marker.
    page.mouse.click(box["x"] + 14, box["y"] + 35 + 17)
    page.wait_for_url(lambda url: "drill=和平街道" in unquote(url), timeout=30000)
    wait_for_ranking(page, "东城区 › 和平街道 · 社区/村整改率")
    assert "drill=和平街道" in unquote(page.url)
    labels = bar_labels(page)
    assert {label.split(" ")[-1] for label in labels} == {"幸福社区", "红星社区"}
