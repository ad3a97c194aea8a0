"""Smoke tests of the shell: every registered page opens through the entry script."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.apptest import ENTRY, open_app, open_page
from tests.tiny import AS_OF


def registered_pages() -> list[str]:
    text = Path(ENTRY).read_text(encoding="utf-8")
    start = text.index("PAGES: list")
    end = text.index("]\n", start)
    return [
        line.split('"')[1] for line in text[start:end].splitlines() if line.strip().startswith('("')
    ]


def page_url(page: str) -> str:
    """The URL path of a registered page: the first (default) page lives at '/'."""
    return "/" if page == registered_pages()[0] else "/" + page.removesuffix(".py")


@pytest.mark.parametrize("page", registered_pages())
def test_every_registered_page_opens(use_tiny: Path, page: str) -> None:
    at = open_page(f"dashboard/pages/{page}", {"as_of": AS_OF.isoformat()})
    assert not at.exception, at.exception


def test_header_shows_countdown_and_scope(use_tiny: Path) -> None:
    at = open_app({"as_of": AS_OF.isoformat()})
    text = " ".join(m.value for m in at.markdown)
    assert "还有 21 天" in text
    assert "临江市" in text


def test_scope_in_url_selects_the_unit(use_tiny: Path) -> None:
    at = open_app({"as_of": AS_OF.isoformat(), "unit": "东城区"})
    assert at.selectbox(key="unit").value == 2


def test_hostile_url_params_are_ignored(use_tiny: Path) -> None:
    at = open_app(
        {"as_of": "2026-06-10'; drop table units; --", "unit": "<script>alert(1)</script>"}
    )
    assert not at.exception
    assert at.selectbox(key="unit").value == 1


def test_missing_database_gives_chinese_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHUANGWEN_DB", str(tmp_path / "nowhere.duckdb"))
    at = open_app()
    assert not at.exception
    assert "找不到数据库文件" in at.error[0].value


def test_unreadable_database_gives_chinese_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = tmp_path / "bad.duckdb"
    bad.write_bytes(b"this is not a database" * 100)
    monkeypatch.setenv("CHUANGWEN_DB", str(bad))
    at = open_app()
    assert "无法读取数据库文件" in at.error[0].value


def test_old_schema_version_gives_chinese_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import duckdb

    old = tmp_path / "old.duckdb"
    con = duckdb.connect(str(old))
    con.execute("create table meta (key varchar, value varchar)")
    con.execute("insert into meta values ('schema_version', '0')")
    con.close()
    monkeypatch.setenv("CHUANGWEN_DB", str(old))
    at = open_app()
    assert "结构版本为 0" in at.error[0].value


def test_snapshot_from_an_older_release_gets_its_derived_tables_rebuilt(
    tiny_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import duckdb

    from dashboard import store

    path = tiny_copy  # the session's tiny snapshot, made "older" below
    store.write_snapshot(
        path,
        lambda con: con.execute("drop table visit_daily"),
        base=path,
        meta={"derived_version": "older-release"},
    )
    monkeypatch.setenv("CHUANGWEN_DB", str(path))
    at = open_app({"as_of": AS_OF.isoformat()})
    assert not at.exception and not at.error
    con = duckdb.connect(str(path), read_only=True)
    try:
        version = con.execute("select value from meta where key = 'derived_version'").fetchone()
        assert version[0] == store.derived_version()
        assert con.execute("select sum(new_subjects) from visit_daily").fetchone()[0] == 15
    finally:
        con.close()
