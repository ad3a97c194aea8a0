"""Access by unit: users file, password check, server-side scope enforcement on every page."""

from __future__ import annotations

from pathlib import Path

import pytest

from dashboard import auth, db, metrics
from tests.apptest import ENTRY, open_app
from tests.test_app import registered_pages
from tests.tiny import AS_OF

PASSWORD = "correct horse battery staple"
# Names that only exist in 东城区's subtree (和平街道, 解放街道 and their communities).
EAST_ONLY = ("东城区", "和平街道", "解放街道", "幸福社区", "红星社区", "光明社区")


@pytest.fixture(scope="module")
def users_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    hashed = auth.hash_password(PASSWORD)
    path = tmp_path_factory.mktemp("users") / "users.toml"
    path.write_text(
        f"""
[users.leader]
name = "市领导"
role = "leader"
password_hash = "{hashed}"

[users.west]
name = "西城区负责人"
role = "unit_head"
units = ["西城区"]
password_hash = "{hashed}"

[users.nobody]
name = "未授权"
role = "unit_head"
units = []
password_hash = "{hashed}"
""",
        encoding="utf-8",
    )
    return path


@pytest.fixture()
def with_users(use_tiny: Path, users_file: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(auth.USERS_ENV, str(users_file))
    return users_file


def test_password_is_checked_against_argon2_hash(users_file: Path) -> None:
    users = auth.load_users(users_file)
    assert users["west"].password_hash.startswith("$argon2id$")
    assert auth.verify(users, "west", PASSWORD) == users["west"]
    assert auth.verify(users, "west", "wrong") is None
    assert auth.verify(users, "ghost", PASSWORD) is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[users.a]\nrole = "boss"\npassword_hash = "$argon2id$x"', "role「boss」无效"),
        ('[users.a]\nrole = "leader"\npassword_hash = "plain"', "缺少 argon2 密码哈希"),
        ("[users.a\n", "无法读取"),
    ],
)
def test_bad_users_file_gives_chinese_error(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "users.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(auth.UsersFileError, match=message):
        auth.load_users(path)


def test_open_mode_shows_a_banner(use_tiny: Path) -> None:
    at = open_app({"as_of": AS_OF.isoformat()})
    assert any("访问控制未开启" in w.value for w in at.sidebar.warning)


def test_login_is_required_when_users_are_configured(with_users: Path) -> None:
    at = open_app({"as_of": AS_OF.isoformat()})
    assert not at.exception
    assert at.text_input(key="login_user") is not None
    shown = " ".join(m.value for m in at.markdown) + " ".join(m.value for m in at.metric)
    assert "62.5%" not in shown and "54.5%" not in shown


def test_login_with_the_form(with_users: Path) -> None:
    at = open_app({"as_of": AS_OF.isoformat()})
    at.text_input(key="login_user").input("west")
    at.text_input(key="login_password").input(PASSWORD)
    at.button[0].click().run()
    assert not at.exception
    assert at.selectbox(key="unit").value == 3


def signed_in(username: str, params: dict[str, str], page: str | None = None):
    from streamlit.testing.v1 import AppTest

    users = auth.load_users(auth.users_file())
    at = AppTest.from_file(ENTRY, default_timeout=30)
    at.session_state["_cw_user"] = users[username]
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    if page:
        at.switch_page(page)
        at.run()
    return at


def visible_text(at) -> str:
    parts = [m.value for m in at.markdown] + [str(m.value) for m in at.metric]
    parts += [m.label for m in at.metric] + [c.value for c in at.caption]
    parts += [str(t.value) for t in at.table] + [e.value for e in at.error]
    parts += [w.value for w in at.warning] + [s.value for s in at.subheader]
    for frame in at.dataframe:
        parts.append(frame.value.to_string())
    return " ".join(parts)


def test_unit_head_cannot_pick_units_outside_their_subtree(with_users: Path) -> None:
    at = signed_in("west", {"as_of": AS_OF.isoformat(), "unit": "东城区"})
    box = at.selectbox(key="unit")
    assert box.value == 3
    assert set(box.options) == {"西城区", "城关镇"}


@pytest.mark.parametrize("page", registered_pages())
def test_pages_show_nothing_outside_the_users_scope(with_users: Path, page: str) -> None:
    at = signed_in("west", {"as_of": AS_OF.isoformat()}, f"dashboard/pages/{page}")
    assert not at.exception, at.exception
    text = visible_text(at)
    leaked = [name for name in EAST_ONLY if name in text]
    assert not leaked, f"{page} shows {leaked} to a 西城区 user"


def test_user_without_units_sees_nothing(with_users: Path) -> None:
    at = signed_in("nobody", {"as_of": AS_OF.isoformat()})
    assert not at.exception
    assert any("没有被授权" in w.value for w in at.warning)
    assert not at.metric


def test_queries_outside_scope_are_refused_on_the_server(
    with_users: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    access = auth.Access(auth.load_users(auth.users_file())["west"], (3,))
    assert db.allowed_unit_ids(access) == frozenset({3, 6, 10})
    # a cached result for the whole city exists before the restricted user asks
    assert metrics.rectification(1, AS_OF).iloc[0].found == 11
    monkeypatch.setattr(db, "current_access", lambda: access)
    assert metrics.rectification(3, AS_OF).iloc[0].found == 3
    for scope in (1, 2, 4, 12):
        with pytest.raises(db.AccessDenied):
            metrics.rectification(scope, AS_OF)
    with pytest.raises(db.AccessDenied):
        db.query("rectification_counts", scope_id=1, level="self", as_of=AS_OF)


def test_cache_is_not_shared_across_scopes(with_users: Path) -> None:
    west = signed_in("west", {"as_of": AS_OF.isoformat()})
    leader = signed_in("leader", {"as_of": AS_OF.isoformat(), "unit": "东城区"})
    west_again = signed_in("west", {"as_of": AS_OF.isoformat(), "unit": "东城区"})
    assert leader.selectbox(key="unit").value == 2
    assert west.selectbox(key="unit").value == 3
    assert west_again.selectbox(key="unit").value == 3


@pytest.fixture()
def as_west(with_users: Path, monkeypatch: pytest.MonkeyPatch) -> auth.Access:
    """The 西城区 unit head's access, as the query runner sees it inside their session."""
    access = auth.Access(auth.load_users(auth.users_file())["west"], (3,))
    monkeypatch.setattr(db, "current_access", lambda: access)
    return access


def export_text(data: bytes) -> str:
    import io

    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(data))
    return " ".join(
        str(c.value) for ws in book.worksheets for row in ws.iter_rows() for c in row if c.value
    )


def test_exports_hold_nothing_outside_the_users_scope(as_west: auth.Access) -> None:
    import datetime as dt
    import io

    from docx import Document

    from dashboard import bulletin, flag_export, flags, rankings

    texts = {}
    frame = rankings.ranking("rectification_rate", 3, "street", AS_OF)
    texts["ranking"] = export_text(
        rankings.ranking_xlsx(frame, rankings.METRIC_BY_KEY["rectification_rate"], ["排名"])
    )
    texts["flags"] = export_text(
        flag_export.duban_workbook(flags.evaluate(3, AS_OF), "西城区", AS_OF)
    )
    week_end = dt.date(2026, 6, 7)
    texts["bulletin xlsx"] = export_text(bulletin.build_xlsx(3, week_end))
    document = Document(io.BytesIO(bulletin.build_docx(3, week_end)))
    texts["bulletin docx"] = " ".join(p.text for p in document.paragraphs) + " ".join(
        c.text for t in document.tables for r in t.rows for c in r.cells
    )
    assert "城关镇" in texts["ranking"]
    for name, text in texts.items():
        leaked = [unit for unit in EAST_ONLY if unit in text]
        assert not leaked, f"{name} export shows {leaked} to a 西城区 user"


@pytest.mark.parametrize("scope", [1, 2, 4, 12])
def test_engines_refuse_scopes_outside_the_user(as_west: auth.Access, scope: int) -> None:
    import datetime as dt

    from dashboard import bulletin, flags, meeting, rankings

    calls = [
        lambda: flags.evaluate(scope, AS_OF),
        lambda: flags.top_flags(scope, AS_OF),
        lambda: rankings.ranking("rectification_rate", scope, "street", AS_OF),
        lambda: meeting.meeting_view(scope, AS_OF),
        lambda: bulletin.build_xlsx(scope, dt.date(2026, 6, 7)),
    ]
    for call in calls:
        with pytest.raises(db.AccessDenied):
            call()
