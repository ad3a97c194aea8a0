"""Text helpers shared by components: escaping data for markdown, Chinese number formats."""

from __future__ import annotations

import math

_MD_SPECIAL = set("\\`*_{}[]()#+-.!|<>~$:")


def md_escape(text: object) -> str:
    """Escape markdown control characters so data renders as literal text, never markup,
    links or HTML (Streamlit escapes raw HTML; this also defuses [x](javascript:…))."""
    return "".join("\\" + ch if ch in _MD_SPECIAL else ch for ch in str(text))


def is_missing(value: object) -> bool:
    if value is None:
        return True
    try:
        return bool(isinstance(value, float) and math.isnan(value)) or str(value) in {
            "<NA>",
            "nan",
            "NaT",
        }
    except (TypeError, ValueError):
        return False


def pct(value: float | None, digits: int = 1) -> str:
    """0.923 → '92.3%'; missing → '无数据'."""
    return "无数据" if is_missing(value) else f"{value * 100:.{digits}f}%"


def pct_short(value: float | None) -> str:
    """0.9 → '90%', 0.925 → '92.5%' (no trailing .0, for thresholds and sentences)."""
    if is_missing(value):
        return "无数据"
    return f"{value * 100:.1f}".rstrip("0").rstrip(".") + "%"


def points(value: float | None, digits: int = 2) -> str:
    """85.74 → '85.74 分'."""
    return "无数据" if is_missing(value) else f"{value:.{digits}f} 分"


def signed(value: float | None, digits: int = 1, unit: str = "") -> str:
    """+1.2 / −0.8 / 持平 with a proper minus sign."""
    if is_missing(value):
        return "—"
    if round(value, digits) == 0:
        return "持平"
    sign = "+" if value > 0 else "−"
    return f"{sign}{abs(value):.{digits}f}{unit}"


def rank_text(rank: int | None) -> str:
    return "无数据" if is_missing(rank) else f"第 {int(rank)} 名"


def place_text(rank: object, of: object = None, *, tied: bool = False) -> str:
    """A place as people read it: '第 3 名 / 共 40 名', '并列第 1 名 / 共 40 名' (competition
    ranking: 1, 1, 3); '无数据' without a rank."""
    if is_missing(rank):
        return "无数据"
    text = f"{'并列' if tied else ''}第 {int(rank)} 名"
    return text if is_missing(of) or not of else f"{text} / 共 {int(of)} 名"


def date_text(value: object) -> str:
    """A date as YYYY-MM-DD, '—' when there is none (never the literal None / NaT)."""
    if value is None or is_missing(value):
        return "—"
    return str(value)[:10]
