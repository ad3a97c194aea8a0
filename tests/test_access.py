"""Access by unit: users file, password check, server-side scope enforcement on every page."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dashboard import auth, db, metrics, session
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

[users.dept]
name = "市住建局负责人"
role = "unit_head"
units = ["市住建局"]
password_hash = "{hashed}"

[users.clerk]
name = "数据员"
role = "clerk"
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
        ("[users.a\n", "不是有效的 TOML：第 1 行"),
        ("users = 5", "users 应为表（\\[users.用户名\\]），而不是「5」"),
        ('users = "x"', "users 应为表"),
        ('[user.a]\nrole = "leader"', "未知的表或字段「user」"),
        ("", "没有任何用户"),
        ("[users]\na = 5", "users.a 应为一个表"),
        ('[users.a]\npassword_hash = "$argon2id$x"', "缺少 role"),
        ('[users.a]\nrole = 5\npassword_hash = "$argon2id$x"', "role「5」无效"),
        (
            '[users.a]\nrole = "unit_head"\nunits = "东城区"\npassword_hash = "$argon2id$x"',
            "units 应为单位名称列表",
        ),
        (
            '[users.a]\nrole = "unit_head"\nunits = [true]\npassword_hash = "$argon2id$x"',
            "units 应为单位名称列表",
        ),
        (
            '[users.a]\nrole = "unit_head"\nunit = ["东城区"]\npassword_hash = "$argon2id$x"',
            "未知字段「unit」",
        ),
        (
            '[users.a]\nrole = "leader"\nname = 5\npassword_hash = "$argon2id$x"',
            "name 应为非空文字",
        ),
    ],
)
def test_bad_users_file_gives_chinese_error(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "users.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(auth.UsersFileError, match=message):
        auth.load_users(path)


def test_check_lists_scopes_and_reports_bad_files_without_a_traceback(
    tiny_db: Path, users_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    assert auth.main(["check", str(users_file), "--db", str(tiny_db)]) == 0
    out = capsys.readouterr().out.splitlines()
    lines = dict(line.split("\t", 1) for line in out if "\t" in line)
    assert lines["leader"] == "领导\t全部单位"
    assert lines["west"] == "单位负责人\t西城区"
    assert lines["dept"] == "单位负责人\t生活环境组/市住建局"
    assert lines["nobody"] == "单位负责人\t无单位（看不到任何数据）"
    bad = tmp_path / "users.toml"
    bad.write_text("users = 5\n", encoding="utf-8")
    assert auth.main(["check", str(bad)]) == 1
    out = capsys.readouterr()
    assert "users 应为表" in out.out and "Traceback" not in out.out + out.err


def test_a_bad_users_file_is_a_chinese_message_on_the_page(
    use_tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = tmp_path / "users.toml"
    bad.write_text("users = 5\n", encoding="utf-8")
    monkeypatch.setenv(auth.USERS_ENV, str(bad))
    at = open_app({"as_of": AS_OF.isoformat()})
    assert not at.exception
    assert "users 应为表" in at.error[0].value


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


# What each role must never see (README 访问控制): the 西城区 head nothing of 东城区; the
# 市住建局 head neither its peer department nor the districts (its problems' 属地 communities
# and streets are its own data).
FORBIDDEN = {
    "leader": (),
    "clerk": (),
    "west": EAST_ONLY,
    "dept": ("市城管局", "东城区", "西城区"),
}


class Downloads:
    """Every st.download_button a page draws, with its file resolved the way Streamlit
    does: bytes at once, a callable later in another thread (outside the session), where
    it must not query the database at all."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        import threading

        import streamlit as st
        from streamlit.delta_generator import DeltaGenerator

        self.files: dict[str, bytes] = {}
        self.outside_queries: list[str] = []
        original = DeltaGenerator.download_button
        script_thread = threading.get_ident

        def record(dg: DeltaGenerator, label: str, data: object, *args, **kwargs):
            if callable(data):
                box: list = []
                worker = threading.Thread(target=lambda: box.append(data()))
                worker.start()
                worker.join()
                data = box[0] if box else b""
            self.files[kwargs.get("key") or label] = (
                data.encode() if isinstance(data, str) else bytes(data)
            )
            return original(dg, label, data, *args, **kwargs)

        guard = db._guard
        main = script_thread()

        def watched_guard(identity: db.FileIdentity, params: dict) -> None:
            if threading.get_ident() != main and threading.current_thread().name != "MainThread":
                from streamlit.runtime.scriptrunner import get_script_run_ctx

                # a query worker (db.query_many / query_soon) asks with the session's
                # access lent to it; any other thread outside the session must not query
                lent = getattr(db._lent, "access", None)
                if get_script_run_ctx(suppress_warning=True) is None and lent is None:
                    self.outside_queries.append(str(params))
            guard(identity, params)

        monkeypatch.setattr(DeltaGenerator, "download_button", record)
        monkeypatch.setattr(st, "download_button", lambda *a, **k: record(st._main, *a, **k))
        monkeypatch.setattr(db, "_guard", watched_guard)

    def text(self) -> str:
        import io
        import zipfile

        parts = []
        for data in self.files.values():
            if data[:2] == b"PK":  # xlsx / docx: the text of every part
                with zipfile.ZipFile(io.BytesIO(data)) as book:
                    parts += [book.read(n).decode("utf-8", "replace") for n in book.namelist()]
            else:
                parts.append(data.decode("utf-8-sig", "replace"))
        return " ".join(parts)


# A clerk has a leader's Access plus importing: their pages are the leader's but 数据.
ROLE_PAGES = [(u, p) for u in ("leader", "west", "dept") for p in registered_pages()] + [
    ("clerk", "data.py")
]


@pytest.mark.parametrize(("username", "page"), ROLE_PAGES)
def test_every_role_gets_every_page_whole(
    with_users: Path, monkeypatch: pytest.MonkeyPatch, username: str, page: str
) -> None:
    downloads = Downloads(monkeypatch)
    at = signed_in(username, {"as_of": AS_OF.isoformat()}, f"dashboard/pages/{page}")
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    warnings = [w.value for w in at.warning]
    assert session.REFUSED not in warnings, f"{page} is refused in part to {username}"
    drawn = len(at.metric) + len(at.dataframe) + len(at.get("plotly_chart")) + len(at.info)
    if (username, page) == ("dept", "rankings.py"):
        # a department has no units below it to rank: the page says so (its own rank among
        # the departments is on 本单位)
        assert "没有可排名的下级单位" in at.info[0].value
    else:
        assert drawn, f"{page} is empty for {username}"
    text = visible_text(at)
    leaked = [name for name in FORBIDDEN[username] if name in text]
    assert not leaked, f"{page} shows {leaked} to {username}"
    files = downloads.text()
    leaked = [name for name in FORBIDDEN[username] if name in files]
    assert not leaked, f"a download of {page} holds {leaked} for {username}"
    assert not downloads.outside_queries, downloads.outside_queries
    expected = {"rankings.py": 1, "flags.py": 1, "weekly.py": 2}.get(page, 0)
    if (username, page) == ("dept", "rankings.py"):
        expected = 0
    if page == "data.py" and username == "clerk":
        expected = 1  # the ledger template
    assert len(downloads.files) >= expected, (page, username, list(downloads.files))


def test_a_user_without_units_gets_the_same_message_on_every_page(with_users: Path) -> None:
    for page in registered_pages():
        at = signed_in("nobody", {"as_of": AS_OF.isoformat()}, f"dashboard/pages/{page}")
        assert not at.exception and not at.error
        assert [w.value for w in at.warning] == [
            "您的账号没有被授权查看任何单位，请联系创文办开通。"
        ]
        assert not at.metric and not at.dataframe


def test_a_unit_head_sees_their_own_rank_among_peers_and_nothing_of_the_peers(
    with_users: Path,
) -> None:
    # 整改率 at AS_OF: 西城区 1/3 = 33.3%, 东城区 5/8 = 62.5% → 西城区 第 2 名 of 2, 29.2 个百分点
    # behind; 综合得分 (2026年5月市级模拟测评) 79 vs 85 → 第 2 名, 6.00 分 behind, target 88.
    at = signed_in("west", {"as_of": AS_OF.isoformat()}, "dashboard/pages/unit.py")
    own = own_places(at)
    assert own.loc["整改率", "名次"] == "第 2 名 / 共 2 名"
    assert own.loc["整改率", "距上一名"] == "29.2 个百分点"
    assert own.loc["综合得分", "名次"] == "第 2 名 / 共 2 名"
    assert own.loc["综合得分", "距上一名"] == "6.00 分"
    assert own.loc["综合得分", "与目标差距"] == "差 9.00 分"
    assert "东城区" not in visible_text(at)
    # 市住建局 3/6 = 50% vs 市城管局 3/5 = 60%: 第 2 名 of the 2 departments, 10 points behind
    at = signed_in("dept", {"as_of": AS_OF.isoformat()}, "dashboard/pages/unit.py")
    own = own_places(at)
    assert own.loc["整改率", "名次"] == "第 2 名 / 共 2 名"
    assert own.loc["整改率", "距上一名"] == "10.0 个百分点"
    # the meeting view's rank card: 第 2 名 of the 2 districts
    at = signed_in("west", {"as_of": AS_OF.isoformat()})
    assert "第 2 名" in [m.value for m in at.metric] or "第 2 名" in visible_text(at)
    # a leader looking at 西城区 gets the whole peer table instead
    at = signed_in(
        "leader", {"as_of": AS_OF.isoformat(), "unit": "西城区"}, "dashboard/pages/unit.py"
    )
    peers = next(d.value for d in at.dataframe if "单位" in d.value.columns and "" in d.value)
    assert peers["单位"].tolist() == ["东城区", "西城区"]


def own_places(at):
    """The 同级比较 tab's table of the unit's own places."""
    return next(d.value for d in at.dataframe if "名次" in d.value.columns).set_index("指标")


def test_peer_rank_returns_only_the_units_own_row(as_west: auth.Access) -> None:
    from dashboard import rankings

    calls = []

    def ranking(parent_id: int, kind: str):
        calls.append((parent_id, kind))
        return rankings.ranking("rectification_rate", parent_id, kind, AS_OF)

    place = db.peer_rank(3, ranking)
    assert calls == [(1, "district")]
    assert (place.rank, place.ranked, place.listed) == (2, 2, 2)
    assert place.row["name"] == "西城区"
    assert place.row["gap_to_above"] == pytest.approx(0.625 - 1 / 3, abs=1e-3)
    # a text field that names a peer does not leave either
    place = db.peer_rank(3, lambda p, k: ranking(p, k).assign(above="东城区 85.00"))
    assert "above" not in place.row and place.row["name"] == "西城区"
    # the parent's scope was admitted for that call only
    with pytest.raises(db.AccessDenied):
        rankings.ranking("rectification_rate", 1, "district", AS_OF)
    # and only for a unit the user may see
    with pytest.raises(db.AccessDenied):
        db.peer_rank(2, ranking)


def test_a_refusal_inside_the_meeting_fragment_gets_the_chinese_message(
    with_users: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dashboard import meeting

    # as issue 18 found it: the 西城区 head's unattended screen, now whole
    at = signed_in("west", {"as_of": AS_OF.isoformat(), "mode": "meeting", "refresh": "300"})
    assert not at.exception and not at.warning
    assert "第 2 名" in [m.value for m in at.metric]

    def refused(*args: object, **kwargs: object) -> None:
        raise db.AccessDenied("无权查看单位 1 的数据")

    monkeypatch.setattr(meeting, "meeting_view", refused)
    for extra in ({"refresh": "300"}, {"rotate": "overview,flags", "every": "60"}):
        at = signed_in("west", {"as_of": AS_OF.isoformat(), "mode": "meeting", **extra})
        assert not at.exception, at.exception
        assert session.REFUSED in [w.value for w in at.warning]


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


def test_a_scoped_user_reads_only_their_own_scopes_precomputed_flags(
    as_west: auth.Access,
) -> None:
    from dashboard import flags

    rules = flags.rules_or_last_good()[0]
    for scope in (3, 6):  # 西城区 and its 城关镇: read from flag_snapshot
        stored = flags.stored_flags(scope, AS_OF, rules)
        assert stored is not None
        subtree = {3, 6, 10} if scope == 3 else {6, 10}
        assert all(f.unit_id in subtree or f.owner_id in subtree for f, *_ in stored)
        assert not {f.unit_name for f, *_ in stored} & set(EAST_ONLY)
    for scope in (1, 2, 4, 12):  # the root's, 东城区's … rows stay in the table
        with pytest.raises(db.AccessDenied):
            flags.stored_flags(scope, AS_OF, rules)
    # the served rows of every scope (本单位) hand out only an allowed scope's flags, and
    # their evidence is read with the same check
    with pytest.raises(db.AccessDenied):
        flags.stored_subtree_frame(2, AS_OF, np.array([2]))
    with pytest.raises(db.AccessDenied):
        flags._ScopeEvidence(AS_OF, flags.rules_fingerprint(rules), 2).text(1)
    # a rule or evidence query over a list of scopes is checked scope by scope
    with pytest.raises(db.AccessDenied):
        flags.rows_by_scope("flag_overdue_problems", (3, 2), days=(AS_OF,))


# ── sign-in throttling (an injected clock: no timed assertions) ──────────────────────────


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def fail(throttle: auth.Throttle, user: str, address: str, times: int, clock: Clock) -> None:
    """`times` wrong passwords, each as soon as the throttle lets it through."""
    for _ in range(times):
        seconds, _why = throttle.wait(user, address)
        clock.now += seconds
        assert throttle.refusal(user, address) is None
        throttle.failed(user, address)


def test_a_few_mistakes_cost_nothing_then_the_wait_doubles() -> None:
    clock = Clock()
    throttle = auth.Throttle(clock=clock)
    fail(throttle, "leader", "10.0.0.5", 3, clock)
    assert throttle.refusal("leader", "10.0.0.5") is None
    throttle.failed("leader", "10.0.0.5")  # the 4th: wait 2 s
    assert throttle.refusal("leader", "10.0.0.5") == "密码输错次数较多，请 2 秒后再试。"
    clock.now += 1.5
    assert throttle.wait("leader", "10.0.0.5") == (pytest.approx(0.5), "delay")
    clock.now += 0.5
    assert throttle.refusal("leader", "10.0.0.5") is None
    throttle.failed("leader", "10.0.0.5")  # the 5th: 4 s
    assert throttle.wait("leader", "10.0.0.5") == (4.0, "delay")


def test_a_forgotten_password_locks_one_name_at_one_address_only() -> None:
    clock = Clock()
    throttle = auth.Throttle(clock=clock)
    fail(throttle, "leader", "10.0.0.5", 10, clock)
    message = throttle.refusal("leader", "10.0.0.5")
    assert message.startswith("该账号在当前网络地址连续输错密码 10 次，已锁定，请 15 分钟后再试")
    # the same name from another address, and another name from the same address: free
    assert throttle.refusal("leader", "10.0.0.6") is None
    assert throttle.refusal("west", "10.0.0.5") is None
    clock.now += 14 * 60
    assert "1 分钟" in throttle.refusal("leader", "10.0.0.5")
    clock.now += 60
    assert throttle.refusal("leader", "10.0.0.5") is None


def test_guessing_many_names_from_one_address_locks_that_address() -> None:
    clock = Clock()
    throttle = auth.Throttle(clock=clock)
    for i in range(10):  # 3 tries each: never slowed down per name
        fail(throttle, f"name{i}", "10.0.0.9", 3, clock)
    assert throttle.refusal("leader", "10.0.0.9").startswith("当前网络地址登录失败次数过多")
    assert throttle.refusal("leader", "10.0.0.5") is None
    # failures older than the window no longer count
    clock.now += 15 * 60
    assert throttle.refusal("leader", "10.0.0.9") is None
    fail(throttle, "x", "10.0.0.9", 3, clock)
    assert throttle.refusal("y", "10.0.0.9") is None


def test_the_right_password_resets_the_name_at_that_address() -> None:
    clock = Clock()
    throttle = auth.Throttle(clock=clock)
    fail(throttle, "west", "10.0.0.5", 4, clock)
    clock.now += 2
    throttle.succeeded("west", "10.0.0.5")
    fail(throttle, "west", "10.0.0.5", 3, clock)
    assert throttle.refusal("west", "10.0.0.5") is None


def login(at, username: str, password: str):
    at.text_input(key="login_user").input(username)
    at.text_input(key="login_password").input(password)
    at.button[0].click().run()
    return at


def test_thirty_wrong_passwords_then_the_right_one_is_throttled(
    with_users: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dashboard import session

    clock = Clock()
    monkeypatch.setattr(auth, "THROTTLE", auth.Throttle(clock=clock))
    address = ["10.0.0.5"]
    monkeypatch.setattr(session, "client_address", lambda: address[0])
    at = open_app({"as_of": AS_OF.isoformat()})
    for _ in range(30):
        login(at, "leader", "wrong")
    assert not at.exception
    assert at.error[0].value == "密码输错次数较多，请 2 秒后再试。"
    login(at, "leader", PASSWORD)
    assert at.error[0].value == "密码输错次数较多，请 2 秒后再试。"
    assert at.text_input(key="login_user") is not None  # still on the sign-in form
    address[0] = "10.0.0.6"  # the leader at another desk signs in at once
    login(at, "leader", PASSWORD)
    assert not at.exception and not at.error
    assert at.selectbox(key="unit").value == 1


# ── the users file is re-read: demotion and removal take effect at the next run ───────────


def test_a_demoted_or_removed_user_loses_the_role_at_the_next_run(
    use_tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    hashed = auth.hash_password(PASSWORD)
    path = tmp_path / "users.toml"

    def write(role: str, units: str, stamp: int) -> None:
        path.write_text(
            f'[users.boss]\nrole = "{role}"\nunits = {units}\npassword_hash = "{hashed}"\n',
            encoding="utf-8",
        )
        os.utime(path, ns=(stamp, stamp))  # a new mtime, as any edit has

    write("leader", "[]", 1_000_000_000)
    monkeypatch.setenv(auth.USERS_ENV, str(path))
    at = login(open_app({"as_of": AS_OF.isoformat()}), "boss", PASSWORD)
    assert at.selectbox(key="unit").value == 1
    assert len(at.selectbox(key="unit").options) == 9  # every unit above the communities
    assert "（领导）" in at.sidebar.caption[0].value

    write("unit_head", '["西城区"]', 2_000_000_000)
    at.run()
    assert not at.exception
    assert set(at.selectbox(key="unit").options) == {"西城区", "城关镇"}
    assert at.selectbox(key="unit").value == 3
    assert "（单位负责人）" in at.sidebar.caption[0].value

    path.write_text(
        f'[users.other]\nrole = "leader"\npassword_hash = "{hashed}"\n', encoding="utf-8"
    )
    os.utime(path, ns=(3_000_000_000, 3_000_000_000))
    at.run()
    assert not at.exception
    assert at.text_input(key="login_user") is not None
    assert at.warning[0].value == "您的账号已被停用或密码已重置，请重新登录。"


# ── unit names in the users file: the importer's matcher, nothing guessed ────────────────


@pytest.fixture(scope="module")
def repeated_name_db(tiny_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny city with 桃源村 renamed 光明社区: the name repeats under 解放街道 and 城关镇."""
    import shutil

    import duckdb

    from dashboard import store

    path = tmp_path_factory.mktemp("repeated") / "repeated.duckdb"
    shutil.copyfile(tiny_db, path)  # the session's tiny snapshot, renamed below

    def rename(con: duckdb.DuckDBPyConnection) -> None:
        con.execute("update units set name = '光明社区' where unit_id = 10")

    store.write_snapshot(path, rename, base=path)
    return path


def users_with_units(tmp_path: Path, units: str) -> Path:
    path = tmp_path / "users.toml"
    path.write_text(
        f'[users.head]\nrole = "unit_head"\nunits = {units}\n'
        f'password_hash = "{auth.hash_password(PASSWORD)}"\n',
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize(
    ("units", "roots", "message"),
    [
        ('["西城区"]', (3,), None),
        ('["西城区 "]', (3,), None),  # the importer's normalisation
        ('["城关镇/光明社区"]', (10,), None),  # a path names the one meant
        ('["解放街道光明社区", "12"]', (9, 12), None),  # parents in front; an id
        (
            '["光明社区"]',
            None,
            "对应 2 个同名单位：东城区/解放街道/光明社区、西城区/城关镇/光明社区",
        ),
        ('["西城"]', None, "找不到单位「西城」。你是不是要找：西城区"),
    ],
)
def test_unit_names_are_matched_like_the_importers(
    repeated_name_db: Path, tmp_path: Path, units: str, roots: tuple | None, message: str | None
) -> None:
    user = auth.load_users(users_with_units(tmp_path, units))["head"]
    con = __import__("duckdb").connect(str(repeated_name_db), read_only=True)
    try:
        frame = con.execute("select unit_id, name, kind, parent_id from units").df()
    finally:
        con.close()
    index = auth.unit_index(frame.itertuples(index=False))
    if message is None:
        assert auth.resolve_roots(user, index) == roots
    else:
        with pytest.raises(auth.UsersFileError, match=message):
            auth.resolve_roots(user, index)


def test_check_refuses_a_repeated_or_unknown_unit_name(
    repeated_name_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    path = users_with_units(tmp_path, '["光明社区", "西城"]')
    assert auth.main(["check", str(path), "--db", str(repeated_name_db)]) == 1
    out = capsys.readouterr().out
    assert "用户 head 的 units 中：单位名称「光明社区」对应 2 个同名单位" in out
    assert "Traceback" not in out
    path = users_with_units(tmp_path, '["城关镇/光明社区", "市住建局"]')
    assert auth.main(["check", str(path), "--db", str(repeated_name_db)]) == 0
    assert (
        capsys.readouterr().out == "head\t单位负责人\t西城区/城关镇/光明社区、生活环境组/市住建局\n"
    )


def test_a_repeated_unit_name_is_refused_on_the_page(
    repeated_name_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(db.ENV_VAR, str(repeated_name_db))
    monkeypatch.setenv(auth.USERS_ENV, str(users_with_units(tmp_path, '["光明社区"]')))
    try:
        at = signed_in("head", {"as_of": AS_OF.isoformat()})
        assert not at.exception
        assert "对应 2 个同名单位" in at.error[0].value
        assert not at.metric and not at.dataframe
    finally:
        db._cached.clear()


def test_the_meeting_fragment_notices_a_changed_users_file(
    use_tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fragment's reruns skip the router; they ask `still_current` and rerun the app."""
    import os

    from streamlit.testing.v1 import AppTest

    def script() -> None:
        import streamlit as st

        from dashboard import session

        st.write("current" if session.still_current() else "changed")

    hashed = auth.hash_password(PASSWORD)
    path = tmp_path / "users.toml"
    path.write_text(f'[users.boss]\nrole = "leader"\npassword_hash = "{hashed}"\n', "utf-8")
    monkeypatch.setenv(auth.USERS_ENV, str(path))
    at = AppTest.from_function(script)
    at.session_state["_cw_user"] = auth.load_users(path)["boss"]
    assert at.run().markdown[0].value == "current"
    path.write_text(
        f'[users.boss]\nrole = "unit_head"\nunits = ["西城区"]\npassword_hash = "{hashed}"\n',
        "utf-8",
    )
    os.utime(path, ns=(5_000_000_000, 5_000_000_000))
    assert at.run().markdown[0].value == "changed"
