"""Real ledgers (issue 15): one ledger in five shapes, repeated community names, re-imports,
next week's version, 作废, and the files a clerk would try that must be refused.

The test city repeats 文苑社区 under three streets in two districts. The ledger (as of
2026-05-25) holds ten problems; by hand:

    row  属地                       责任单位   status
    L-01 东城区/和平街道/文苑社区    市住建局   已整改 05-15
    L-02 东城区/和平街道/文苑社区    市城管局   整改中
    L-03 东城区/解放街道/文苑社区    市城管局   已整改 05-16
    L-04 东城区/解放街道/文苑社区    市住建局   已销号 (整改 05-18, 销号 05-19)
    L-05 青溪县/柳林镇/文苑社区      市城管局   整改中
    L-06 青溪县/柳林镇/文苑社区      市城管局   已整改 05-19
    L-07 青溪县/柳林镇/文苑社区      市住建局   整改中
    L-08 东城区/和平街道/幸福社区    市住建局   已整改 05-20
    L-09 东城区/和平街道 (the street) 市住建局  整改中
    L-10 东城区/和平街道/文苑社区    市城管局   已整改 05-21 (at 文苑菜市场)

    整改率   和平街道 3/5 = 60%   解放街道 2/2 = 100%   柳林镇 1/3
             东城区 5/7           青溪县 1/3             临江市 6/10
             和平街道/文苑社区 2/3  解放街道/文苑社区 2/2  柳林镇/文苑社区 1/3  幸福社区 1/1
             市住建局 3/5          市城管局 3/5
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import shutil
from pathlib import Path

import duckdb
import openpyxl
import pandas as pd
import pytest

from dashboard import db, metrics, store
from dashboard.importer import apply_import, prepare_import, template_xlsx

AS_OF = dt.date(2026, 5, 25)
UNITS = [
    (1, "临江市", "city", None),
    (2, "东城区", "district", 1),
    (3, "青溪县", "district", 1),
    (4, "和平街道", "street", 2),
    (5, "解放街道", "street", 2),
    (6, "柳林镇", "street", 3),
    (7, "文苑社区", "community", 4),
    (8, "文苑社区", "community", 5),
    (9, "文苑社区", "community", 6),
    (10, "幸福社区", "community", 4),
    (11, "生活环境组", "group", 1),
    (12, "市住建局", "department", 11),
    (13, "市城管局", "department", 11),
]
# id, found, source, point, (district, street, community), dept, description, deadline,
# status, rectified, closed
LEDGER = [
    ("L-01", "05-10", "暗访", None, ("东城区", "和平街道", "文苑社区"), "市住建局", "门口杂物堆放", "05-17", "已整改", "05-15", None),
    ("L-02", "05-11", "暗访", None, ("东城区", "和平街道", "文苑社区"), "市城管局", "垃圾桶满溢", "05-18", "整改中", None, None),
    ("L-03", "05-12", "督查", None, ("东城区", "解放街道", "文苑社区"), "市城管局", "乱停车", "05-19", "已整改", "05-16", None),
    ("L-04", "05-12", "督查", None, ("东城区", "解放街道", "文苑社区"), "市住建局", "墙面破损", "05-20", "已销号", "05-18", "05-19"),
    ("L-05", "05-13", "暗访", None, ("青溪县", "柳林镇", "文苑社区"), "市城管局", "公益广告破损", "05-20", "整改中", None, None),
    ("L-06", "05-13", "暗访", None, ("青溪县", "柳林镇", "文苑社区"), "市城管局", "路面积水", "05-20", "已整改", "05-19", None),
    ("L-07", "05-14", "暗访", None, ("青溪县", "柳林镇", "文苑社区"), "市住建局", "楼道杂物", "05-21", "整改中", None, None),
    ("L-08", "05-14", "暗访", None, ("东城区", "和平街道", "幸福社区"), "市住建局", "绿化带垃圾", "05-21", "已整改", "05-20", None),
    ("L-09", "05-15", "督查", None, ("东城区", "和平街道", None), "市住建局", "背街小巷乱搭建", "05-22", "整改中", None, None),
    ("L-10", "05-15", "暗访", "文苑菜市场", ("东城区", "和平街道", "文苑社区"), "市城管局", "占道经营", "05-22", "已整改", "05-21", None),
]  # fmt: skip
RATES = {  # unit_id: (rectified, found), by hand from the table above
    1: (6, 10), 2: (5, 7), 3: (1, 3), 4: (3, 5), 5: (2, 2), 6: (1, 3),
    7: (2, 3), 8: (2, 2), 9: (1, 3), 10: (1, 1), 12: (3, 5), 13: (3, 5),
}  # fmt: skip


def _fill(con: duckdb.DuckDBPyConnection) -> None:
    for order, (unit_id, name, kind, parent) in enumerate(UNITS):
        con.execute(
            "insert into units (unit_id, name, kind, parent_id, sort_order) values (?, ?, ?, ?, ?)",
            [unit_id, name, kind, parent, order],
        )
    con.execute("insert into points values (1, '文苑菜市场', '农贸市场', 7, 13, true)")


@pytest.fixture(scope="module")
def base_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return store.write_snapshot(tmp_path_factory.mktemp("ledgers") / "base.duckdb", _fill)


@pytest.fixture()
def city(base_db: Path, tmp_path: Path) -> Path:
    path = tmp_path / "city.duckdb"
    shutil.copyfile(base_db, path)
    return path


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def rows_of(path: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def day(text: str | None) -> str | None:
    return None if text is None else f"2026-{text}"


# --- the five shapes ------------------------------------------------------------------


def _unit_path(parts: tuple[str | None, ...], style: str) -> str:
    named = [p for p in parts if p]
    if style == "street+community":
        return "".join(named[1:])
    if style == "slash":
        return "/".join(named)
    if style == "spaces":
        return " ".join(named)
    return "".join(named)  # district+street+community, no separators


def ledger_rows(shape: str, ledger: list[tuple] = LEDGER) -> tuple[list[str], list[list]]:
    """Header and rows of one shape of the same ledger."""
    with_id = shape in ("ids_street_community", "ids_spaces")
    split = shape == "split_columns"
    header = ["序号"] + (["问题编号"] if with_id else [])
    header += ["发现日期", "问题来源", "点位名称"]
    if split:
        header += ["区县", "街道", "社区"]
    elif shape == "gbk_csv":
        header += ["街道", "属地单位"]
    else:
        header += ["属地单位"]
    status_header, rectified_header = (
        ("整改情况", "完成时间") if shape == "no_id_slash" else ("整改状态", "整改完成日期")
    )
    header += ["责任单位", "问题描述", "整改时限", status_header, rectified_header, "销号日期"]
    rows = []
    for n, (
        pid,
        found,
        source,
        point,
        parts,
        dept,
        desc,
        deadline,
        status,
        rect,
        closed,
    ) in enumerate(ledger, start=1):
        row: list = [n] + ([pid] if with_id else [])
        row += [f"2026年{int(found[:2])}月{int(found[3:])}日", source, point]
        if split:
            row += list(parts)
        elif shape == "gbk_csv":
            row += [parts[1], _unit_path(parts, "all")]
        elif shape == "ids_street_community":
            row += [_unit_path(parts, "street+community")]
        elif shape == "no_id_slash":
            row += [_unit_path(parts, "slash")]
        else:
            row += [_unit_path(parts, "spaces")]
        row += [dept, desc, day(deadline), status, day(rect), day(closed)]
        rows.append(row)
    return header, rows


SHAPES = ["ids_street_community", "no_id_slash", "ids_spaces", "split_columns", "gbk_csv"]


def ledger_file(shape: str, ledger: list[tuple] = LEDGER) -> tuple[bytes, str]:
    header, rows = ledger_rows(shape, ledger)
    if shape == "gbk_csv":
        lines = [",".join(header)] + [
            ",".join("" if v is None else str(v) for v in row) for row in rows
        ]
        return ("\r\n".join(lines) + "\r\n").encode("gbk"), "台账.csv"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "问题台账"
    ws.append(["临江市创文问题整改台账"])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(header))
    ws.append(["填报单位：临江市创文办　　日期：2026年5月25日"])
    ws.append(header)
    for row in rows:
        ws.append(row)
    ws.append(["合计", None, None, f"{len(rows)} 个问题"])
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue(), "台账.xlsx"


def import_file(path: Path, data: bytes, name: str, kind: str = "problems"):
    plan = prepare_import(path, data, name, kind)
    assert plan.ok, [e.message for e in plan.errors]
    return plan, apply_import(path, plan, "测试")


STORED = (
    "select found_on, source, point_id, unit_id, dept_id, description, deadline, status,"
    " rectified_on, closed_on from problems order by found_on, description"
)


def rates(path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[int, tuple[int, int]]:
    """(rectified, found) for every unit of every level, as the app computes them."""
    monkeypatch.setenv(db.ENV_VAR, str(path))
    db._cached.clear()
    try:
        out = {}
        for level in ("city", "district", "street", "community", "department"):
            frame = metrics.rectification(1, AS_OF, level)
            for row in frame.itertuples():
                out[int(row.unit_id)] = (int(row.rectified), int(row.found))
        return out
    finally:
        db._cached.clear()


@pytest.fixture(scope="module")
def shape_imports(base_db: Path, tmp_path_factory: pytest.TempPathFactory):
    """shape → (its own copy of the base city with that ledger imported, the plan, the
    result, the stored rows right after the import): each shape imported once per module."""
    done: dict[str, tuple] = {}

    def imported(shape: str) -> tuple:
        if shape not in done:
            path = tmp_path_factory.mktemp("shape") / "city.duckdb"
            shutil.copyfile(base_db, path)
            plan, result = import_file(path, *ledger_file(shape))
            done[shape] = (path, plan, result, rows_of(path, STORED))
        return done[shape]

    return imported


@pytest.mark.parametrize("shape", SHAPES)
def test_each_shape_imports_the_same_rows_and_rates_and_reimports_change_nothing(
    shape_imports, shape: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    data, name = ledger_file(shape)
    city, plan, result, stored = shape_imports(shape)
    assert (result.added, result.updated) == (10, 0)
    assert plan.derived_keys == (shape not in ("ids_street_community", "ids_spaces"))
    assert ("已按" in plan.summary()) == plan.derived_keys
    assert rows_of(city, STORED) == stored
    by_description = {r[5]: r for r in stored}
    # each row on the unit its parents name, not on the last 文苑社区 loaded
    assert {d: by_description[d][3] for d in ("门口杂物堆放", "乱停车", "楼道杂物", "背街小巷乱搭建")} == {
        "门口杂物堆放": 7, "乱停车": 8, "楼道杂物": 9, "背街小巷乱搭建": 4,
    }  # fmt: skip
    assert by_description["占道经营"][2] == 1  # the point
    assert rates(city, monkeypatch) == RATES
    for _ in range(3):
        again = prepare_import(city, data, name, "problems")
        assert (len(again.added), len(again.updated), again.unchanged) == (0, 0, 10)
        apply_import(city, again, "测试")
    assert rows_of(city, STORED) == stored
    assert rows_of(city, "select count(*) from problems")[0][0] == 10


def test_the_five_shapes_store_the_same_rows(shape_imports) -> None:
    stored = [shape_imports(shape)[3] for shape in SHAPES]  # each right after its import
    assert all(s == stored[0] for s in stored[1:])
    assert len(stored[0]) == 10


def test_repeated_name_without_parent_is_refused_with_candidates(city: Path) -> None:
    header, rows = ledger_rows("ids_street_community")
    rows[0][header.index("属地单位")] = "文苑社区"
    data = _xlsx(header, rows)
    before = sha(city)
    plan = prepare_import(city, data, "a.xlsx", "problems")
    assert len(plan.errors) == 1
    message = plan.errors[0].message
    assert message.startswith('第 4 行「属地单位」值 "文苑社区"：对应 3 个同名单位')
    for path in ("东城区/和平街道/文苑社区", "东城区/解放街道/文苑社区", "青溪县/柳林镇/文苑社区"):
        assert path in message
    apply_import(city, plan, "测试")
    assert sha(city) == before
    rows[0][header.index("属地单位")] = "解放街道文苑社区"
    import_file(city, _xlsx(header, rows), "a.xlsx")
    assert rows_of(city, "select unit_id from problems where problem_id = 'L-01'") == [(8,)]


def test_next_weeks_ledger_with_five_changes_updates_exactly_five(
    city: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import_file(city, *ledger_file("no_id_slash"))
    before = {r[0]: r for r in rows_of(city, "select * from problems")}
    week = [list(r) for r in LEDGER]
    week[1][8:10] = ["已整改", "05-24"]  # L-02
    week[4][8:10] = ["已整改", "05-25"]  # L-05
    week[3][10] = None  # L-04: blank 销号日期 keeps the stored 05-19
    week[6][8] = "作废"  # L-07 withdrawn
    week[8][8:10] = ["已整改", "05-23"]  # L-09
    week[0][7] = "05-18"  # L-01 deadline moved
    plan, result = import_file(city, *ledger_file("no_id_slash", [tuple(r) for r in week]))
    assert (result.added, result.updated, result.unchanged) == (0, 5, 5)
    changed = {(c["column"], c["new"]) for c in plan.changes}
    assert changed == {
        ("status", "rectified"), ("rectified_on", dt.date(2026, 5, 24)),
        ("rectified_on", dt.date(2026, 5, 25)), ("rectified_on", dt.date(2026, 5, 23)),
        ("status", "withdrawn"), ("deadline", dt.date(2026, 5, 18)),
    }  # fmt: skip
    after = {r[0]: r for r in rows_of(city, "select * from problems")}
    assert len(after) == 9  # L-07 left every count …
    withdrawn = rows_of(city, "select description, status, unit_id from problems_withdrawn")
    assert withdrawn == [("楼道杂物", "withdrawn", 9)]  # … and kept its record
    assert sum(after[k] != before[k] for k in after) == 4  # and L-07 moved
    closed = rows_of(city, "select closed_on from problems where description = '墙面破损'")
    assert closed == [(dt.date(2026, 5, 19),)]
    got = rates(city, monkeypatch)
    # 柳林镇: L-05 now rectified, L-07 gone: 2/2; 和平街道: L-02, L-09 rectified: 5/5.
    assert (got[6], got[4], got[3], got[1]) == ((2, 2), (5, 5), (2, 2), (9, 9))
    again = prepare_import(city, *ledger_file("no_id_slash", [tuple(r) for r in week]), "problems")
    assert (len(again.added), len(again.updated), again.unchanged) == (0, 0, 10)


def test_blank_keeps_and_clear_mark_clears(city: Path) -> None:
    import_file(city, *ledger_file("ids_street_community"))
    header, rows = ledger_rows("ids_street_community")
    status, rectified = header.index("整改状态"), header.index("整改完成日期")
    rows[0][status], rows[0][rectified] = "整改中", None  # reopened, stored date still there
    plan = prepare_import(city, _xlsx(header, rows), "a.xlsx", "problems")
    assert [e.message for e in plan.errors] == [
        "第 4 行「整改完成日期」为空：整改状态为「整改中」，但已存的整改完成日期为 2026-05-15；"
        "如需去掉，请在该格填「清空」"
    ]
    rows[0][rectified] = "清空"
    rows[1][header.index("点位名称")] = None
    rows[1][header.index("问题描述")] = None  # blank: keeps 垃圾桶满溢
    plan, _ = import_file(city, _xlsx(header, rows), "a.xlsx")
    assert len(plan.updated) == 1
    assert rows_of(city, "select status, rectified_on from problems where problem_id = 'L-01'") == [
        ("open", None)
    ]
    assert rows_of(city, "select description from problems where problem_id = 'L-02'") == [
        ("垃圾桶满溢",)
    ]


def _xlsx(header: list, rows: list[list]) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["临江市创文问题整改台账"])
    ws.append(["填报单位：临江市创文办"])
    ws.append(header)
    for row in rows:
        ws.append(row)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ("drop_dept", "缺少必填列「责任单位」"),
        ("blank_dept", "第 4 行「责任单位」为空：必填项不能为空"),
        ("clear_required", '第 4 行「整改时限」值 "清空"：必填项不能「清空」'),
        ("wrong_parent", "所写上级下没有该单位。同名单位有：东城区/和平街道/文苑社区"),
        ("same_problem_twice", '第 5 行「问题描述」值 "门口杂物堆放"：与第 4 行是同一问题'),
        ("split_all_blank", "区县、街道、社区列都为空，无法确定单位"),
    ],
)
def test_refused_ledgers_leave_the_database_byte_identical(
    city: Path, change: str, expected: str
) -> None:
    shape = "split_columns" if change in ("wrong_parent", "split_all_blank") else "no_id_slash"
    header, rows = ledger_rows(shape)
    if change == "drop_dept":
        at = header.index("责任单位")
        header.pop(at)
        rows = [r[:at] + r[at + 1 :] for r in rows]
    elif change == "blank_dept":
        rows[0][header.index("责任单位")] = " "
    elif change == "clear_required":
        rows[0][header.index("整改时限")] = "清空"
    elif change == "wrong_parent":
        rows[0][header.index("街道")] = "柳林镇"
        rows[0][header.index("区县")] = None
        rows[0][header.index("社区")] = "文苑社区"
        rows[0][header.index("区县")] = "东城区"
    elif change == "same_problem_twice":
        rows[1] = list(rows[0])
        rows[1][0] = 2
    elif change == "split_all_blank":
        for column in ("区县", "街道", "社区"):
            rows[0][header.index(column)] = None
    before = sha(city)
    plan = prepare_import(city, _xlsx(header, rows), "a.xlsx", "problems")
    assert any(expected in e.message for e in plan.errors), [e.message for e in plan.errors]
    apply_import(city, plan, "测试")
    assert sha(city) == before


def test_unrecognised_headers_are_named_and_template_documents_the_rules() -> None:
    book = openpyxl.load_workbook(io.BytesIO(template_xlsx("problems")))
    notes = "\n".join(
        str(c) for row in book["填写说明"].iter_rows(values_only=True) for c in row if c
    )
    for text in ("整改情况", "完成时间", "清空", "作废", "区县", "属地单位 + 点位名称"):
        assert text in notes, text


def test_unrecognised_header_is_listed_in_the_summary(city: Path) -> None:
    header, rows = ledger_rows("ids_street_community")
    header.append("联系人电话")
    rows = [[*r, "略"] for r in rows]
    plan = prepare_import(city, _xlsx(header, rows), "a.xlsx", "problems")
    assert plan.ok
    assert plan.ignored_headers == ["联系人电话"]
    assert "以下列未识别，不会导入：「联系人电话」" in plan.summary()


# --- new assessments and survey waves from the templates alone ---------------------------


def _fill_template(kind: str, rows: list[list]) -> bytes:
    """The downloaded template with rows typed under the example row, as a clerk does."""
    book = openpyxl.load_workbook(io.BytesIO(template_xlsx(kind)))
    sheet = book.worksheets[0]
    for n, row in enumerate(rows, start=1):
        sheet.append([n, *row])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_new_provincial_test_and_phone_wave_from_templates_reach_the_pages(
    tiny_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dashboard import meeting, rankings, trends
    from tests.tiny import AS_OF as TINY_AS_OF

    path = tiny_copy  # the session's tiny snapshot, copied: the imports below write to it
    # template columns: 测评名称 测评类型 组织层级 开始日期 结束日期 全市名次 参评城市数 目标名次
    tests = _fill_template(
        "assessments",
        [
            ["2026年5月省级测评", "省级测评", None, "2026-05-25", "2026-05-27", 6, 16, 5],
            ["2026年5月群众满意度电话调查", "电话调查", "省级", "2026年5月28日", "2026.6.2", None, None, None],
        ],
    )  # fmt: skip
    plan, result = import_file(path, tests, "测评.xlsx", "assessments")
    assert result.added == 2
    stored = rows_of(
        path,
        "select name, level, kind, start_date, end_date, city_rank, cities_ranked"
        " from assessments where assessment_id > 4 order by assessment_id",
    )
    assert stored == [
        ("2026年5月省级测评", "provincial", "overall", dt.date(2026, 5, 25), dt.date(2026, 5, 27), 6, 16),
        ("2026年5月群众满意度电话调查", "provincial", "phone", dt.date(2026, 5, 28), dt.date(2026, 6, 2), None, None),
    ]  # fmt: skip
    # template columns: 测评名称 单位 指标编号 得分 得分率 满分 样本量
    scores = _fill_template(
        "scores",
        [
            ["2026年5月省级测评", "临江市", None, 84, None, 100, None],
            ["2026年5月省级测评", "和平街道", None, 88, None, 100, None],
            ["2026年5月省级测评", "解放街道", None, 81.5, None, 100, None],
            ["2026年5月省级测评", "城关镇", None, 83, None, 100, None],
            ["2026年5月群众满意度电话调查", "临江市", "看病就医", None, "83.5%", None, 460],
            ["2026年5月群众满意度电话调查", "东城区", "P-01", 80.1, None, 100, 230],
        ],
    )
    plan, result = import_file(path, scores, "成绩.xlsx", "scores")
    assert result.added == 6
    again = prepare_import(path, scores, "成绩.xlsx", "scores")
    assert (len(again.added), len(again.updated)) == (0, 0)

    monkeypatch.setenv(db.ENV_VAR, str(path))
    db._cached.clear()
    try:
        new_test = rows_of(
            path, "select assessment_id from assessments where name = '2026年5月省级测评'"
        )[0][0]
        ranking = rankings.ranking("score", 1, "street", TINY_AS_OF)
        assert rankings.default_assessment(rankings.metric("score"), TINY_AS_OF, None) == new_test
        assert list(ranking.sort_values("rank")["name"]) == ["和平街道", "城关镇", "解放街道"]
        series = trends.score_series([1], TINY_AS_OF)
        assert series.iloc[-1]["score"] == pytest.approx(84)
        survey = trends.survey_trend(1, TINY_AS_OF, "phone")
        assert survey is not None
        assert list(survey.latest["rate"]) == [pytest.approx(83.5)]
        view = meeting.meeting_view(1, TINY_AS_OF)
        assert view.number("score").value == pytest.approx(84)
        assert view.number("score").detail == "2026年5月省级测评"
        assert view.number("rank").value == 6
        # the phone wave on the meeting screen: its red flag (东城区 3.4 below the city)
        assert [
            (f.rule_id, f.unit_name) for f in view.flags if f.rule_id == "survey_below_city"
        ] == [("survey_below_city", "东城区")]
    finally:
        db._cached.clear()


def test_repeated_names_are_shown_with_their_parent(
    city: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dashboard import flags, rankings

    import_file(city, *ledger_file("ids_street_community"))
    monkeypatch.setenv(db.ENV_VAR, str(city))
    db._cached.clear()
    try:
        frame = rankings.ranking("rectification_rate", 1, "community", AS_OF)
        assert set(frame["name"]) == {
            "文苑社区（和平街道）", "文苑社区（解放街道）", "文苑社区（柳林镇）", "幸福社区",
        }  # fmt: skip
        shown = dict(zip(frame["unit_id"], frame["name"], strict=True))
        assert shown[9] == "文苑社区（柳林镇）"
        assert flags._unit_names()[8] == "文苑社区（解放街道）"
        from dashboard import unit_view

        problems = unit_view.open_problems(6, AS_OF)  # 柳林镇: L-05 and L-07 still open
        assert list(problems["unit_name"]) == ["文苑社区（柳林镇）", "文苑社区（柳林镇）"]
    finally:
        db._cached.clear()


# --- survey reporting: 同比 beside 环比, units below the city's score ----------------------
#
# Three phone waves imported from the templates, P-01 看病就医 (rate in %):
#   wave                 临江市  东城区  西城区  和平街道
#   2025年5月 (05-28)     80.0    78.0     —       —
#   2026年2月 (02-20)     81.0     —       —       —
#   2026年5月 (05-28)     83.5    80.1    86.0    79.0
# City, latest wave: 环比 83.5 − 81.0 = +2.5; 同比 83.5 − 80.0 = +3.5 (a year before to
# the day); 2026年2月 has no wave a year earlier (2025-05-28 is 97 days from 2025-02-20).
# Below the city in 2026年5月: 和平街道 −4.5, 东城区 −3.4; 西城区 is +2.5 above.
PHONE_WAVES = [
    ["2025年5月电话调查", "电话调查", "市级", "2025-05-28", "2025-06-02", None, None, None],
    ["2026年2月电话调查", "电话调查", "市级", "2026-02-20", "2026-02-25", None, None, None],
    ["2026年5月电话调查", "电话调查", "省级", "2026-05-28", "2026-06-02", None, None, None],
]
PHONE_SCORES = [
    ["2025年5月电话调查", "临江市", "P-01", 80.0, None, 100, None],
    ["2025年5月电话调查", "东城区", "P-01", 78.0, None, 100, None],
    ["2026年2月电话调查", "临江市", "P-01", 81.0, None, 100, None],
    ["2026年5月电话调查", "临江市", "看病就医", 83.5, None, 100, 460],
    ["2026年5月电话调查", "东城区", "看病就医", 80.1, None, 100, None],
    ["2026年5月电话调查", "西城区", "看病就医", 86.0, None, 100, None],
    ["2026年5月电话调查", "和平街道", "看病就医", 79.0, None, 100, None],
]


@pytest.fixture(scope="module")
def waves_db(tiny_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("waves") / "tiny.duckdb"
    shutil.copyfile(tiny_db, path)  # the session's tiny snapshot; the imports below write to it
    import_file(path, _fill_template("assessments", PHONE_WAVES), "测评.xlsx", "assessments")
    import_file(path, _fill_template("scores", PHONE_SCORES), "成绩.xlsx", "scores")
    return path


@pytest.fixture()
def use_waves(waves_db: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(db.ENV_VAR, str(waves_db))
    db._cached.clear()
    yield waves_db
    db._cached.clear()


def test_survey_items_have_year_on_year_beside_wave_on_wave(use_waves: Path) -> None:
    from dashboard import trends
    from tests.tiny import AS_OF as TINY_AS_OF

    survey = trends.survey_trend(1, TINY_AS_OF, "phone")
    latest = survey.latest.iloc[0]
    assert latest["rate"] == pytest.approx(83.5)
    assert latest["change"] == pytest.approx(2.5)
    assert latest["yoy_change"] == pytest.approx(3.5)
    assert latest["year_ago_name"] == "2025年5月电话调查"
    february = survey.waves[survey.waves["assessment_name"] == "2026年2月电话调查"].iloc[0]
    assert pd.isna(february["yoy_change"])
    assert february["change"] == pytest.approx(1.0)


def test_units_below_the_city_score_per_item(use_waves: Path) -> None:
    from dashboard import trends
    from tests.tiny import AS_OF as TINY_AS_OF

    gaps = trends.survey_gaps(1, TINY_AS_OF, "phone")
    assert gaps.assessment_name == "2026年5月电话调查"
    below = [(r.name, round(r.gap, 2), r.city_rate) for r in gaps.below.itertuples()]
    assert below == [("和平街道", -4.5, 83.5), ("东城区", -3.4, 83.5)]
    assert len(gaps.compared) == 3
    district = trends.survey_gaps(2, TINY_AS_OF, "phone", kinds=("street",))
    assert [(r.name, round(r.gap, 2)) for r in district.below.itertuples()] == [("和平街道", -4.5)]
    assert trends.survey_gaps(1, dt.date(2026, 5, 1), "phone") is None  # Feb: the city only


def test_unit_view_survey_items_and_pages(use_waves: Path) -> None:
    from dashboard import unit_view
    from tests.apptest import open_page
    from tests.tiny import AS_OF as TINY_AS_OF

    items = unit_view.survey_items(2, TINY_AS_OF)  # 东城区: 78.0 → 80.1; city 83.5
    row = items.iloc[0]
    assert (row["item_name"], row["rate"]) == ("看病就医", pytest.approx(80.1))
    assert row["change"] == pytest.approx(2.1) and row["yoy_change"] == pytest.approx(2.1)
    assert (row["city_rate"], row["gap"]) == (pytest.approx(83.5), pytest.approx(-3.4))
    assert unit_view.survey_items(12, TINY_AS_OF).empty  # a department has no own results

    params = {"as_of": TINY_AS_OF.isoformat()}
    at = open_page("dashboard/pages/unit.py", {"unit": "东城区", **params})
    assert not at.exception, at.exception
    table = next(d.value for d in at.dataframe if "同比" in d.value.columns)
    assert list(table.iloc[0][["得分", "环比", "同比", "全市得分", "与全市差"]]) == [
        "80.10 分", "+2.10 分", "+2.10 分", "83.50 分", "−3.40 分",
    ]  # fmt: skip
    at = open_page("dashboard/pages/trends.py", {"view": "满意度调查", **params})
    assert not at.exception, at.exception
    tables = {tuple(d.value.columns): d.value for d in at.dataframe}
    items_table = next(t for c, t in tables.items() if "同比（较去年同期）" in c)
    assert list(items_table.iloc[0][["本轮得分", "环比（较上一轮）", "同比（较去年同期）"]]) == [
        "83.50 分", "+2.50 分", "+3.50 分",
    ]  # fmt: skip
    below = next(t for c, t in tables.items() if "低于全市" in c)
    assert list(below["单位"]) == ["和平街道", "东城区"]
    assert list(below["低于全市"]) == ["4.50 分", "3.40 分"]


def test_units_file_with_repeated_names_keys_by_parent(city: Path) -> None:
    header = ["序号", "单位名称", "单位类型", "上级单位", "目标分"]
    rows = [
        [1, "新华街道", "街道", "东城区", None],
        [2, "文苑社区", "社区", "新华街道", None],  # a new 文苑社区 under the new street
        [3, "文苑社区", "社区", "和平街道", 88],  # the existing one (unit 7): updated
    ]
    plan, result = import_file(city, _xlsx(header, rows), "单位.xlsx", "units")
    assert (result.added, result.updated) == (2, 1)
    assert rows_of(
        city,
        "select unit_id, parent_id, target_score from units where name = '文苑社区' order by unit_id",
    ) == [(7, 4, 88.0), (8, 5, None), (9, 6, None), (15, 14, None)]
    plan = prepare_import(
        city,
        _xlsx(["单位名称", "单位类型", "目标分"], [["文苑社区", "社区", 80]]),
        "u.xlsx",
        "units",
    )
    assert "有 4 个同名单位" in plan.errors[0].message
    plan = prepare_import(
        city,
        _xlsx(["单位名称", "单位类型", "目标分"], [["幸福社区", "社区", 80]]),
        "u.xlsx",
        "units",
    )
    assert plan.ok and len(plan.updated) == 1


def test_a_file_shaped_like_the_citys_table_with_year_on_year_imports(waves_db: Path) -> None:
    header = ["序号", "测评名称", "单位", "调查项目", "得分", "同比"]
    rows = [
        [1, "2026年5月电话调查", "临江市", "看病就医", 83.5, 3.5],
        [2, "2026年5月电话调查", "东城区", "看病就医", 80.1, "+2.0"],
        [3, "2026年5月电话调查", "西城区", "看病就医", 86.0, 1.0],
    ]
    plan = prepare_import(waves_db, _xlsx(header, rows), "电话调查.xlsx", "scores")
    assert plan.ok, [e.message for e in plan.errors]
    assert (len(plan.added), len(plan.updated), plan.unchanged) == (0, 0, 3)
    assert plan.warnings == [
        "东城区：文件所写同比 2，按去年同期计算为 2.10，请核对",
        "西城区：没有去年同期的调查数据，无法核对文件所写的同比 1",
    ]
    assert "「同比」列不导入" in plan.summary()


def test_a_schema_v1_file_is_migrated_by_its_first_import(city: Path) -> None:
    con = duckdb.connect(str(city))
    con.execute("drop table problems_withdrawn")
    con.execute("update meta set value = '1' where key = 'schema_version'")
    con.close()
    plan, result = import_file(city, *ledger_file("ids_spaces"))
    assert result.added == 10
    assert rows_of(city, "select value from meta where key = 'schema_version'") == [("2",)]
    assert rows_of(city, "select count(*) from problems_withdrawn") == [(0,)]


def test_survey_below_city_red_flag(use_waves: Path) -> None:
    from dashboard import flags
    from tests.tiny import AS_OF as TINY_AS_OF

    found = [f for f in flags.evaluate(1, TINY_AS_OF) if f.rule_id == "survey_below_city"]
    shown = sorted((f.unit_name, round(f.value, 2), f.subject) for f in found)
    # gap > 3 points; one flag per unit and survey, its items as evidence
    assert shown == [("东城区", -3.4, "phone"), ("和平街道", -4.5, "phone")]
    hp = next(f for f in found if f.unit_name == "和平街道")
    assert (
        hp.value_text
        == "电话调查 1 项低于全市得分超过 3 分，最低「看病就医」79 分，低于全市 4.5 分"
    )
    assert [(e["项目"], e["全市得分"], e["分差"]) for e in hp.evidence] == [
        ("看病就医", 83.5, -4.5)
    ]
    quiet = flags.parse_rules({"rules": {"survey_below_city": {"gap_points": 5.0}}})
    assert not [
        f for f in flags.evaluate(1, TINY_AS_OF, quiet) if f.rule_id == "survey_below_city"
    ]  # −4.5 and −3.4 are within 5 points
