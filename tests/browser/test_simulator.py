"""测算 in a real browser: tick two fixes in the checkbox table, the projected score moves,
and the downloaded 督办 workbook holds exactly those two. (The implied rank needs other
cities' scores, which the shared tiny server lacks; AppTest covers it on tests/sim_tiny.py.)"""

from __future__ import annotations

import io
from pathlib import Path

import openpyxl

from tests.browser.conftest import screenshot, wait_until_idle

URL = "/simulator?as_of=2026-06-10"
ROW_HEIGHT = 35  # Streamlit's data grid: header and rows 35 px high


def tick(page, row: int) -> None:
    """Click the 选择 checkbox (centre of the first column) of data row `row` (0-based)."""
    grid = page.locator('[data-testid="stDataFrame"]').first
    box = grid.bounding_box()
    page.mouse.click(box["x"] + 37, box["y"] + ROW_HEIGHT * (row + 1) + ROW_HEIGHT / 2)
    wait_until_idle(page)


def test_select_fixes_projected_score_and_export(open_view) -> None:
    page = open_view(URL, 1600, 1200)
    page.get_by_text("全部 9 项，涉及 5 个单位", exact=False).first.wait_for(timeout=45000)
    assert page.get_by_text("已选 0 项，涉及 0 个单位", exact=False).count() == 1
    tick(page, 0)  # F-03 at 幸福社区农贸市场: +10
    page.get_by_text(
        "已选 1 项，涉及 1 个单位，可挽回 +10.0 分 → 74.5 分", exact=False
    ).first.wait_for(timeout=30000)
    tick(page, 3)  # 解放街道's M-01 ledger: +5
    page.get_by_text(
        "已选 2 项，涉及 2 个单位，可挽回 +15.0 分 → 79.5 分", exact=False
    ).first.wait_for(timeout=30000)
    screenshot(page, "simulator-selected")
    with page.expect_download(timeout=30000) as info:
        page.get_by_role("button", name="下载督办清单（已选 2 项，Excel）").click()
    data = Path(info.value.path()).read_bytes()
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    rows = [[c.value for c in r] for r in sheet.iter_rows(min_row=6) if r[0].value is not None]
    assert sorted(r[1] for r in rows) == ["市城管局", "解放街道"]
    assert sorted(r[8] for r in rows) == [5.0, 10.0]
