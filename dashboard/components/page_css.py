"""Static CSS for every page (constant strings only — no data).

A metric whose value holds a Chinese character ("第 6 名", "71.04 分") used to stand
taller than its neighbours (the CJK fallback font has a taller line box); a fixed line
height makes tiles in a row the same height. On a phone the wide tables keep their
columns readable by scrolling sideways instead of squeezing.
"""

from __future__ import annotations

APP_CSS = """<style>
[data-testid="stMetricValue"], [data-testid="stMetricValue"] p,
[data-testid="stMetricValue"] div { line-height: 1.25; }
[data-testid="stMetricLabel"], [data-testid="stMetricLabel"] p { line-height: 1.4; }
</style>"""
