"""Safe by construction: checked over the source, so a new page cannot quietly break the rules.

* SQL text never comes from string building: every `.execute(...)`/`.sql(...)` in the
  package gets a constant, a query file's text, or a name from an allow-list.
* No data reaches HTML: `unsafe_allow_html=True` and `st.html` only with constant strings.
* Hostile URL parameters leave every page standing.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.apptest import open_page
from tests.test_app import registered_pages
from tests.tiny import AS_OF

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted([*ROOT.joinpath("dashboard").rglob("*.py"), ROOT / "streamlit_app.py"])
SQL_METHODS = {"execute", "executemany", "sql", "query"}
# SQL built from identifiers (never values) picked from a Python allow-list; each such
# site must carry the marker comment `# sql: identifiers from allow-list` on its line.
ALLOW_MARKER = "sql: identifiers from allow-list"


def module_constants(tree: ast.Module) -> set[str]:
    """Names bound at module level to a constant string, here or imported from a module of
    the package where they are constant strings."""
    names = set()
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("dashboard"):
            source = ROOT.joinpath(*node.module.split(".")).with_suffix(".py")
            if source.exists():
                there = module_constants(ast.parse(source.read_text(encoding="utf-8")))
                there |= style_constants(source)
                names.update(a.asname or a.name for a in node.names if a.name in there)
    return names


def style_constants(source: Path) -> set[str]:
    """Module-level names of a pure style module (`*_css.py` that reads no data): CSS built
    from code constants at import time, before any database is open."""
    text = source.read_text(encoding="utf-8")
    if not source.stem.endswith("css") or "dashboard.db" in text or "metrics" in text:
        return set()
    tree = ast.parse(text)
    return {
        t.id
        for node in tree.body
        if isinstance(node, ast.Assign)
        for t in node.targets
        if isinstance(t, ast.Name)
    }


def is_built_string(node: ast.AST) -> bool:
    if isinstance(node, ast.JoinedStr):
        return any(isinstance(v, ast.FormattedValue) for v in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mod)):
        return True
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in {"format", "join", "replace"}
    )


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_sql_is_assembled_from_strings(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    tree = ast.parse(text)
    bad = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in SQL_METHODS
            and node.args
            and is_built_string(node.args[0])
        ):
            window = "\n".join(lines[max(0, node.lineno - 3) : node.end_lineno])
            if ALLOW_MARKER not in window:
                bad.append(node.lineno)
    assert not bad, f"{path.name}: SQL built from strings at lines {bad}"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_html_only_with_constant_strings(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    constants = module_constants(tree)
    bad = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        unsafe = any(
            k.arg == "unsafe_allow_html"
            and not (isinstance(k.value, ast.Constant) and not k.value.value)
            for k in node.keywords
        )
        is_html = isinstance(node.func, ast.Attribute) and node.func.attr == "html"
        if not (unsafe or is_html) or not node.args:
            continue
        arg = node.args[0]
        constant = (isinstance(arg, ast.Constant) and isinstance(arg.value, str)) or (
            isinstance(arg, ast.Name) and arg.id in constants
        )
        if not constant:
            bad.append(node.lineno)
    assert not bad, f"{path.name}: HTML with non-constant content at lines {bad}"


HOSTILE = {
    "unit": "<img src=x onerror=alert(1)>",
    "as_of": "2026-06-10' or 1=1 --",
    "mode": "<script>alert(1)</script>",
    "drill": "javascript:alert(1)",
    "rank_metric": "'; drop table problems; --",
    "rank_level": "units; drop table units",
}


@pytest.mark.parametrize("page", registered_pages())
def test_hostile_url_parameters_leave_pages_standing(use_tiny: Path, page: str) -> None:
    at = open_page(f"dashboard/pages/{page}", HOSTILE)
    assert not at.exception, at.exception
    at2 = open_page(f"dashboard/pages/{page}", {"as_of": AS_OF.isoformat()})
    assert not at2.exception


# ── data text reaches markdown only through md_escape ──────────────────────────────────
# Streamlit renders as markdown: the body of st.markdown / caption / subheader / info /
# warning / error / success …, the label of metrics, widgets, buttons, expanders, tabs, and
# every `help=` tooltip. What goes there must be a constant, a number format, or data that
# went through `text.md_escape` (or a builder that escapes, e.g. board.*_md). Anything else
# is listed below with why it is not data; a new raw use fails this test.
MARKDOWN_BODIES = {
    "markdown", "caption", "subheader", "title", "header", "info", "warning", "error",
    "success", "toast", "expander", "popover", "tabs", "button", "link_button",
    "download_button", "form_submit_button", "metric", "selectbox", "multiselect", "radio",
    "text_input", "date_input", "checkbox", "toggle", "segmented_control", "pills",
    "file_uploader", "number_input", "slider", "select_slider", "page_link", "status",
}  # fmt: skip
SAFE_CALLS = {
    "md_escape", "pct", "pct_short", "points", "signed", "rank_text", "len", "int", "round",
    "isoformat", "strftime", "label", "cn_date", "legend_md", "laggards_md", "flags_md",
    "children_md", "rules_note", "wait_text",
}  # fmt: skip
NOT_DATA = {
    # (file, expression): why it is not data
    ("dashboard/components/header.py", "freshness"): "as_of and generated_at, dates",
    ("dashboard/components/kpi.py", "number.label"): "meeting.LABELS, constants",
    ("dashboard/pages/data.py", "KIND_LABELS[kind]"): "importer labels, constants",
    ("dashboard/pages/data.py", "importer.SPECS[kind].key_label"): "importer spec, constant",
    ("dashboard/pages/data.py", "str(exc)"): "StalePlanError: a constant sentence",
    ("dashboard/pages/flags.py", "rules_problem"): "config/flags.toml problem, operator's file",
    ("dashboard/pages/flags.py", "summary"): "severity marks and counts",
    ("dashboard/pages/flags.py", "counts['red']"): "a count",
    ("dashboard/pages/flags.py", "counts['orange']"): "a count",
    ("dashboard/pages/flags.py", "counts['yellow']"): "a count",
    ("dashboard/pages/flags.py", "test.days_left"): "a count of days",
    ("dashboard/pages/meeting.py", "meeting.LABELS[k]"): "constants",
    (
        "dashboard/pages/meeting.py",
        "'；'.join((f'{label} {meeting.rule(k).why()}' for k, label in meeting.LABELS.items()))",
    ): "status rules of config/status.toml, constants",
    ("dashboard/pages/unit.py", "_status_line(s)"): "status symbol and word; basis md_escape'd",
    ("dashboard/pages/weekly.py", "tie"): "one of two constants",
    ("dashboard/pages/simulator.py", "simulator.model_text(settings)"): "a constant and a share",
    (
        "dashboard/pages/simulator.py",
        "settings_problem",
    ): "config/simulator.toml problem, operator's file",
    ("dashboard/pages/simulator.py", "rank.peer_label"): "labels.UNIT_KIND / 城市, constants",
    ("dashboard/pages/simulator.py", "acc.tests"): "a count",
    ("dashboard/pages/simulator.py", "published"): "a published rank, a number",
    ("dashboard/pages/simulator.py", "chosen.items"): "a count",
    ("dashboard/pages/simulator.py", "plan.items_needed"): "a count",
    ("dashboard/pages/simulator.py", "target_rank"): "a rank, a number",
    ("dashboard/pages/simulator.py", "verdict"): "counts and points",
    ("dashboard/components/ranking_table.py", "m.help"): "metric help texts, constants",
    ("dashboard/pages/trends.py", "list(TABS)"): "constants",
    ("dashboard/pages/rankings.py", "compare"): "one of two constants",
    ("dashboard/pages/rankings.py", "overdue"): "a count",
    ("dashboard/pages/trends.py", "SURVEY_LABELS[survey]"): "constants",
    ("dashboard/pages/trends.py", "GRAIN_LABELS[grain][1:]"): "constants",
    ("dashboard/pages/trends.py", "word"): "one of two constants",
    ("dashboard/pages/unit.py", "kind_label"): "labels.UNIT_KIND, constants",
    ("dashboard/pages/unit.py", "s.label"): "metric labels, constants",
    ("dashboard/pages/unit.py", "s.compared_with"): "a date or md_escape'd test name",
    ("dashboard/pages/unit.py", "_rank_line(s)"): "ranks, counts and gaps",
    ("dashboard/pages/unit.py", "tab_names"): "constants and counts",
    ("dashboard/pages/weekly.py", "week.label"): "dates",
    ("dashboard/pages/weekly.py", "s.found"): "a count",
    ("dashboard/pages/weekly.py", "s.rectified"): "a count",
    ("dashboard/pages/weekly.py", "s.newly_overdue"): "a count",
    ("dashboard/pages/weekly.py", "r.label"): "metric labels, constants",
    ("dashboard/pages/weekly.py", "r.numerator"): "a count",
    ("dashboard/pages/weekly.py", "r.denominator"): "a count",
    ("dashboard/pages/weekly.py", "weekly.FLAG_STATUS[status]"): "constants",
    ("dashboard/pages/weekly.py", "spec.label"): "metric labels, constants",
    ("dashboard/pages/weekly.py", "exc"): "config/bulletin.toml problem, operator's file",
    ("dashboard/session.py", "REFUSED"): "a constant",
    ("dashboard/session.py", "notice"): "a constant sentence",
    ("dashboard/session.py", "wait"): "throttle messages, constants and a wait",
    ("dashboard/session.py", "refusal"): "throttle messages, constants and a wait",
    ("dashboard/session.py", "str(exc)"): "users-file problem, operator's file",
    ("dashboard/session.py", "exc"): "users-file problem, operator's file",
    ("dashboard/session.py", "auth.ROLES[user.role]"): "constants",
    ("streamlit_app.py", "problem"): "database problem: the path, operator's setting",
    ("streamlit_app.py", "db.db_path()"): "the database path, operator's setting",
    ("streamlit_app.py", "db.ENV_VAR"): "a constant",
}


def _call_name(node: ast.AST) -> str | None:
    func = node.func if isinstance(node, ast.Call) else None
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Name):
        return func.id
    return None


def _raw_parts(node: ast.AST) -> list[ast.AST]:
    """The sub-expressions of a markdown argument that are neither constants nor escaped."""
    if isinstance(node, ast.Constant):
        return []
    if isinstance(node, ast.JoinedStr):
        return [
            part
            for v in node.values
            if isinstance(v, ast.FormattedValue) and v.format_spec is None
            for part in _raw_parts(v.value)
        ]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _raw_parts(node.left) + _raw_parts(node.right)
    if isinstance(node, ast.IfExp):
        return _raw_parts(node.body) + _raw_parts(node.orelse)
    if isinstance(node, ast.BoolOp):
        return [part for v in node.values for part in _raw_parts(v)]
    if isinstance(node, ast.List | ast.Tuple):
        return [part for v in node.elts for part in _raw_parts(v)]
    if isinstance(node, ast.BinOp):  # arithmetic: a number
        return []
    if isinstance(node, ast.Call) and _call_name(node) in SAFE_CALLS:
        return []
    if isinstance(node, ast.Name) and node.id.isupper():
        return []
    return [node]


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_data_reaches_markdown_only_escaped(path: Path) -> None:
    relative = str(path.relative_to(ROOT))
    tree = ast.parse(path.read_text(encoding="utf-8"))
    bad = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        args = [k.value for k in node.keywords if k.arg in {"help", "label", "body"}]
        name = node.func.attr
        if name == "metric" and len(node.args) + len(node.keywords) < 2:
            continue  # rankings.metric(key), not st.metric(label, value)
        if name in MARKDOWN_BODIES and node.args:
            args.append(node.args[0])
        for arg in args:
            for part in _raw_parts(arg):
                source = ast.unparse(part)
                if (relative, source) not in NOT_DATA:
                    bad.append(f"{node.lineno}: {source}")
    assert not bad, f"{relative}: data into markdown without md_escape at {bad}"


def test_md_escape_leaves_nothing_markdown_or_gfm_would_turn_into_a_link() -> None:
    from dashboard.components.text import WORD_JOINER as WJ
    from dashboard.components.text import chart_text, md_escape, short

    assert md_escape("![t](http://a.b/p.png)") == f"\\!\\[t\\]\\(http\\:{WJ}//a\\.b/p\\.png\\)"
    assert md_escape("www.example.com") == f"www{WJ}\\.example\\.com"
    assert md_escape("a@b.cn") == f"a\\@{WJ}b\\.cn"
    assert md_escape("西城区\u202e\u200b") == "西城区"  # no reversal, no invisible twin
    assert md_escape("第一行\n## 第二行") == "第一行 \\#\\# 第二行"
    assert chart_text('<a href="x">甲</a> & 乙') == '&lt;a href="x"&gt;甲&lt;/a&gt; &amp; 乙'
    assert short("超长单位名称" * 83) == "超长单位名称" * 3 + "超长单位名" + "…"
    assert len(short("超长单位名称" * 83)) == 24 and short("西城区") == "西城区"
