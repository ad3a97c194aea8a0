"""Text helpers shared by components: the one way data text is shown, Chinese number formats.

Data text (unit names, problem descriptions, rule names, anything read from the database, a
ledger or the users file) is shown in one of three ways, each through one helper here:

* in anything Streamlit renders as markdown — st.markdown / caption / subheader / info /
  warning / error / success, metric labels, widget and button labels, `help=` tooltips,
  tab and expander labels: `md_escape(text)`;
* as a plotly label (axis categories, hover text, annotations): `chart_text(text)`;
* in a table cell (st.dataframe, exports): the value itself — cells are plain text there.

All three drop bidi controls and zero-width characters (a U+202E would reverse everything
after it). `md_escape` also escapes every markdown control character (images, links,
emphasis, HTML, Streamlit's :colour[…] and :material/…: directives) and breaks what GFM
would auto-link (http://…, www.…, name@host) with an invisible word joiner, because those
links are found in the text after escapes are removed: backslashes alone do not stop them.
`short(text, limit)` truncates long names with "…" (the full text goes into a tooltip).
"""

from __future__ import annotations

import math
import re

_MD_SPECIAL = set("\\`*_{}[]()#+-.!|<>~$:@=\"'&")
# Bidi embeddings, overrides, isolates and marks; zero-width spaces and joiners; BOM.
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\u061c]")
WORD_JOINER = "\u2060"
# Where GFM finds a link in plain text: a scheme's ://, www., an e-mail's @.
_AUTOLINK = re.compile(r"(?<=:)(?=/)|(?<=www)(?=\.)|(?<=@)", re.IGNORECASE)
_LINE_BREAKS = re.compile(r"[\r\n\u2028\u2029\u0085]+")


def visible_text(text: object) -> str:
    """The text without bidi controls and zero-width characters, line breaks as spaces."""
    return _LINE_BREAKS.sub(" ", _INVISIBLE.sub("", str(text)))


def md_escape(text: object) -> str:
    """Data text for anything rendered as markdown: literal text, never markup, an image, a
    link (also no auto-linked URL or e-mail address), HTML or a direction change."""
    plain = _AUTOLINK.sub(WORD_JOINER, visible_text(text))
    return "".join("\\" + ch if ch in _MD_SPECIAL else ch for ch in plain)


def chart_text(text: object) -> str:
    """Data text for a plotly label: plotly reads <a href>, <b>, <br> … and entities in its
    labels, so the markup characters become entities it shows literally."""
    return visible_text(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def short(text: object, limit: int = 24) -> str:
    """The text, cut to `limit` characters with "…" when longer (show the full text in a
    tooltip: `help=` of the element, or the table cell)."""
    plain = visible_text(text)
    return plain if len(plain) <= limit else plain[: limit - 1] + "…"


def is_long(text: object, limit: int = 24) -> bool:
    return len(visible_text(text)) > limit


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
