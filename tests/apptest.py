"""Open pages through the real entry script with streamlit.testing.v1.AppTest."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

ENTRY = str(Path(__file__).resolve().parent.parent / "streamlit_app.py")


def open_app(params: dict[str, str] | None = None, timeout: float = 30) -> AppTest:
    """Run the entry script (landing page) with the given URL query parameters."""
    at = AppTest.from_file(ENTRY, default_timeout=timeout)
    for key, value in (params or {}).items():
        at.query_params[key] = value
    at.run()
    return at


def open_page(page_file: str, params: dict[str, str] | None = None, timeout: float = 30) -> AppTest:
    """Open one page (e.g. 'dashboard/pages/rankings.py') through the entry script, as a
    browser opening that page's URL does: one run of the entry script on that page (each
    page's url_path is its file name, so AppTest finds it before a first run; the landing
    page is not run first)."""
    at = AppTest.from_file(ENTRY, default_timeout=timeout)
    for key, value in (params or {}).items():
        at.query_params[key] = value
    at.switch_page(page_file)
    at.run()
    return at
