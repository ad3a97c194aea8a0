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
