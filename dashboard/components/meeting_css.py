"""Static CSS for the meeting view. Constant strings only — no data is ever formatted in.

`STATUS_CSS` colours KPI tiles by the status in their container key (both modes);
`MEETING_CSS` makes the chrome-free projector view: no sidebar, header, toolbar or deploy
button, large type (numbers 64 px, labels ≥ 22 px, nothing under 18 px), high contrast,
and tight spacing so the whole view fits 1920×1080 without scrolling. Selectors use
Streamlit's stable data-testid attributes and the `st-key-<key>` classes of keyed
containers.
"""

from __future__ import annotations

from dashboard.labels import STATUS

INK = "#111827"
MUTED = "#374151"


def _status_rules() -> str:
    rules = []
    for code, (_word, _symbol, colour) in STATUS.items():
        rules.append(
            f'div[class*="st-key-tile-"][class*="-s-{code}"] [data-testid="stMetricValue"],'
            f'div[class*="st-key-tile-"][class*="-s-{code}"] [data-testid="stMetricValue"] p,'
            f'div[class*="st-key-tile-"][class*="-s-{code}"] div[class*="st-key-tstatus-"] p,'
            f'div[class*="st-key-tdetail-"][class*="-d-{code}"] p'
            f"{{color:{colour} !important;}}"
        )
        rules.append(
            f'div[class*="st-key-tile-"][class*="-s-{code}"]'
            f"{{border-top:10px solid {colour} !important;}}"
        )
    return "\n".join(rules)


STATUS_CSS = (
    "<style>\n"
    + _status_rules()
    + """
div[class*="st-key-tstatus-"] p { font-weight: 700; }
div[class*="st-key-tdetail-"][class*="-d-none"] p { color: #4b5563; }
</style>"""
)

# The landing page (not the projector): a tile's second line may wrap to two lines; every
# tile keeps room for two, so tiles in a row stay the same height.
LAPTOP_CSS = """<style>
div[class*="st-key-tdetail-"] { min-height: 3.2em; }
</style>"""

MEETING_CSS = """<style>
/* chrome-free: nothing but the board */
header[data-testid="stHeader"], [data-testid="stToolbar"], [data-testid="stDecoration"],
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"],
[data-testid="stExpandSidebarButton"], [data-testid="stAppDeployButton"],
[data-testid="stMainMenu"], footer { display: none !important; }
html, body, .stApp, [data-testid="stAppViewContainer"], [data-testid="stMain"] {
  background: #ffffff !important; color: #111827; overflow: hidden;
}
[data-testid="stMainBlockContainer"] {
  max-width: 100% !important; padding: 14px 28px 0 28px !important;
}
[data-testid="stMainBlockContainer"] [data-testid="stVerticalBlock"] { gap: 8px; }
[data-testid="stMainBlockContainer"] p, [data-testid="stMainBlockContainer"] li,
[data-testid="stMainBlockContainer"] td, [data-testid="stMainBlockContainer"] th {
  font-size: 20px; line-height: 1.35; color: #111827;
}

/* title bar */
.st-key-mtop-scope p { font-size: 40px !important; font-weight: 800; line-height: 1.1; }
.st-key-mtop-countdown p { font-size: 44px !important; font-weight: 800; line-height: 1.1;
  color: #b91c1c !important; }
.st-key-mtop-countdetail p { font-size: 22px !important; color: #374151 !important; }
.st-key-mtop-fresh p { font-size: 20px !important; text-align: right; color: #374151 !important; }
.st-key-mtop-legend p { font-size: 22px !important; text-align: right; font-weight: 700; }

/* KPI tiles */
div[class*="st-key-tile-"] { padding: 10px 16px 8px 16px !important; gap: 2px !important;
  background: #f9fafb; }
div[class*="st-key-tile-"] [data-testid="stMetricLabel"] p { font-size: 26px !important;
  font-weight: 700; color: #111827 !important; }
div[class*="st-key-tile-"] [data-testid="stMetricValue"],
div[class*="st-key-tile-"] [data-testid="stMetricValue"] p { font-size: 72px !important;
  font-weight: 800 !important; line-height: 1.05 !important; color: inherit; }
div[class*="st-key-tile-"] [data-testid="stMetricDelta"],
div[class*="st-key-tile-"] [data-testid="stMetricDelta"] div,
div[class*="st-key-tile-"] [data-testid="stMetricDelta"] p { font-size: 22px !important;
  font-weight: 700; }
div[class*="st-key-tile-"] [data-testid^="stMetricDeltaIcon"] { width: 24px; height: 24px; }
div[class*="st-key-tile-"] [data-testid="stMetricDeltaDescription"],
div[class*="st-key-tile-"] [data-testid="stMetricDeltaDescription"] p {
  font-size: 20px !important; color: #374151 !important; }
div[class*="st-key-tstatus-"] p { font-size: 22px !important; }
div[class*="st-key-tdetail-"] p { font-size: 20px !important; white-space: nowrap;
  overflow: hidden; text-overflow: ellipsis; }

/* panels */
div[class*="st-key-mhead-"] p { font-size: 26px !important; font-weight: 800;
  border-bottom: 3px solid #111827; padding-bottom: 4px; }
div[class*="st-key-mpanel-"] table { width: 100%; border-collapse: collapse; }
div[class*="st-key-mpanel-"] th { font-size: 20px !important; background: #f3f4f6;
  color: #111827; padding: 6px 8px; text-align: left; white-space: nowrap; }
div[class*="st-key-mpanel-"] td { font-size: 22px !important; padding: 12px 8px;
  border-bottom: 1px solid #d1d5db; white-space: nowrap; overflow: hidden;
  text-overflow: ellipsis; max-width: 320px; }
div[class*="st-key-mpanel-"] p { font-size: 22px !important; }
.st-key-mpanel-laggards td { padding: 16px 8px; max-width: 200px; }
.st-key-mpanel-laggards table { table-layout: fixed; }
.st-key-mpanel-laggards th:first-child, .st-key-mpanel-laggards td:first-child { width: 22%; }
div[class*="st-key-mpanel-"] { overflow: hidden; }
div[class*="st-key-mnote"] p { font-size: 18px !important; color: #374151 !important; }

/* drill-down: the units on the board as buttons (presenter mouse) */
div[class*="st-key-mdrill-"] button, div[class*="st-key-mdrill-"] button p,
.st-key-mtop-back button, .st-key-mtop-back button p { font-size: 20px !important;
  font-weight: 700; }
div[class*="st-key-mdrill-"] button { padding: 2px 14px !important; min-height: 36px; }
.st-key-mtop-back { align-items: flex-end; }
</style>"""
