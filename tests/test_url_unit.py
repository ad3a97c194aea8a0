"""A unit named in the URL (`?unit=…`) that is not one scope: never a silent default.

The tiny city (tests/tiny.py) has no repeated name, so this module adds namesakes to it:

    2 东城区 ── 4 和平街道 ── 7 幸福社区, 8 红星社区, 15 文苑社区
             └ 14 城关镇 (street)                 ← a second 城关镇 (6 is under 西城区)
    3 西城区 ── 6 城关镇 ──── 10 桃源村, 16 文苑社区

Scope labels (the picker's, filters.scope_options): 城关镇（东城区）, 城关镇（西城区）.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

import pytest

from dashboard import db, filters, store
from tests.apptest import open_app, open_page
from tests.tiny import AS_OF, fill_tiny

NAMESAKES = [
    (14, "城关镇", "street", 2, 3, 85.0),
    (15, "文苑社区", "community", 4, 3, None),
    (16, "文苑社区", "community", 6, 2, None),
]


def _fill(con) -> None:
    fill_tiny(con)
    con.executemany("insert into units values (?, ?, ?, ?, ?, ?)", NAMESAKES)


@pytest.fixture(scope="module")
def namesakes_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("namesakes") / "namesakes.duckdb"
    return store.write_snapshot(
        path, _fill, meta={"source": "test", "reference_date": AS_OF.isoformat()}
    )


@pytest.fixture()
def use_namesakes(namesakes_db: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(db.ENV_VAR, str(namesakes_db))
    yield namesakes_db
    db._cached.clear()


def _links(at) -> list[tuple[str, str]]:
    """(label, query string) of every page link drawn."""
    return [(node.proto.label, node.proto.query_string) for node in at.get("page_link")]


def test_url_unit_reads_names_without_guessing(use_namesakes: Path) -> None:
    options = filters.scope_options()
    assert filters.url_unit(None, options) is None
    assert filters.url_unit("城关镇（东城区）", options) is None  # the picker's own label
    assert filters.url_unit("东城区/城关镇", options) == 14  # a path names one scope
    assert filters.url_unit("和平街道办事处", options) == 4  # the importer's core match
    street = filters.url_unit("城关镇", options)
    assert isinstance(street, filters.UrlUnitProblem)
    assert "对应 2 个同名单位" in street.message
    assert [(c.path, c.scope_id, c.scope_label) for c in street.choices] == [
        ("东城区/城关镇", 14, "城关镇（东城区）"),
        ("西城区/城关镇", 6, "城关镇（西城区）"),
    ]
    community = filters.url_unit("文苑社区", options)
    assert [(c.path, c.scope_id, c.scope_label) for c in community.choices] == [
        ("东城区/和平街道/文苑社区", 4, "和平街道"),
        ("西城区/城关镇/文苑社区", 6, "城关镇（西城区）"),
    ]
    one = filters.url_unit("桃源村", options)  # a community: its street, offered not taken
    assert "是社区（村）" in one.message and [c.scope_id for c in one.choices] == [6]
    nothing = filters.url_unit("不存在街道", options)
    assert "找不到" in nothing.message and nothing.choices == ()


@pytest.mark.parametrize("page", [None, "dashboard/pages/simulator.py", "dashboard/pages/flags.py"])
def test_a_repeated_name_in_the_url_lists_the_candidates(use_namesakes: Path, page) -> None:
    params = {"unit": "文苑社区", "as_of": AS_OF.isoformat()}
    at = open_app(params) if page is None else _open_page_directly(page, params)
    assert not at.exception, at.exception
    warning = " ".join(w.value for w in at.warning)
    assert "链接中的单位「文苑社区」对应 2 个同名单位，无法确定是哪一个" in warning
    links = _links(at)
    assert [label for label, _ in links] == [
        "东城区/和平街道/文苑社区 → 查看和平街道",
        "西城区/城关镇/文苑社区 → 查看城关镇（西城区）",
    ]
    # each link is this page at that scope on the same day: a bookmarkable address
    assert links[1][1] == urlencode({"as_of": AS_OF.isoformat(), "unit": "城关镇（西城区）"})
    # nothing of the page is drawn for a scope nobody chose
    assert not at.metric and not at.dataframe
    # following a link opens its scope, though the picker held the default
    at.query_params["unit"] = "城关镇（西城区）"
    at.run()
    assert not at.exception, at.exception
    assert at.session_state["_cw_filters"].scope_id == 6
    assert at.session_state["_cw_filters"].url_problem is None and not _links(at)


def _open_page_directly(page: str, params: dict[str, str]):
    """A bookmarked link to a page: the page's own URL with the parameters, first run."""
    from streamlit.testing.v1 import AppTest

    from tests.apptest import ENTRY

    at = AppTest.from_file(ENTRY, default_timeout=30)
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    at.switch_page(page)
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    return at


def test_a_chosen_candidate_opens_its_scope(use_namesakes: Path) -> None:
    at = open_page(
        "dashboard/pages/simulator.py", {"unit": "城关镇（东城区）", "as_of": AS_OF.isoformat()}
    )
    assert not at.exception, at.exception
    assert not at.warning or all("同名" not in w.value for w in at.warning)
    assert any("城关镇" in s.value for s in at.subheader)


def test_a_path_in_the_url_opens_that_one_scope(use_namesakes: Path) -> None:
    at = open_app({"unit": "西城区/城关镇", "as_of": AS_OF.isoformat()})
    assert not at.exception, at.exception
    assert at.session_state["_cw_filters"].scope_id == 6 and not _links(at)
    assert at.selectbox(key="unit").value == 6


def test_meeting_mode_reports_it_too(use_namesakes: Path) -> None:
    at = open_app({"unit": "城关镇", "as_of": AS_OF.isoformat(), "mode": "meeting"})
    assert not at.exception, at.exception
    assert any("对应 2 个同名单位" in w.value for w in at.warning)
    assert [label for label, _ in _links(at)] == ["东城区/城关镇", "西城区/城关镇"]
    assert all("mode=meeting" in query for _, query in _links(at))
