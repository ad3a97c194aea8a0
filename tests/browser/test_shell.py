"""The shell in a real browser: it loads, shows no exception, and keeps filters in the URL."""

from __future__ import annotations

from tests.browser.conftest import screenshot


def test_landing_page_loads_without_exception(open_view) -> None:
    page = open_view("/?as_of=2026-06-10")
    assert page.locator('[data-testid="stException"]').count() == 0
    assert "临江市" in page.inner_text("body")
    screenshot(page, "shell-landing")


def test_url_scope_is_applied(open_view) -> None:
    page = open_view("/?as_of=2026-06-10&unit=东城区")
    box = page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').first
    page.screenshot(path="test-artifacts/shell-scope.png")
    assert "东城区" in (box.inner_text() + box.locator("input").first.input_value())
