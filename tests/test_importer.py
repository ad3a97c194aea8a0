"""Import engine: malformed-file corpus, encodings, a realistic ledger, idempotence, kill and concurrency."""

from __future__ import annotations

import codecs
import contextlib
import datetime as dt
import hashlib
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import duckdb
import openpyxl
import pytest

from dashboard import importer, store
from dashboard.export import neutralise
from dashboard.importer import apply_import, errors_as_csv, prepare_import, template_xlsx
from dashboard.ledger import parse_date, parse_rate
from dashboard.unit_match import UnitIndex

REPO = Path(__file__).resolve().parent.parent

# --- the test database ------------------------------------------------------------------

UNITS = [
    (1, "临江市", "city", None),
    (2, "东城区", "district", 1),
    (3, "西城区", "district", 1),
    (4, "和平街道", "street", 2),
    (5, "解放街道", "street", 2),
    (6, "新华街道", "street", 3),
    (7, "幸福社区", "community", 4),
    (10, "市住建局", "department", 1),
    (11, "市城管局", "department", 1),
    (12, "市公安局", "department", 1),
    (13, "市市场监管局", "department", 1),
]


def _fill(con: duckdb.DuckDBPyConnection) -> None:
    for i, (unit_id, name, kind, parent) in enumerate(UNITS):
        con.execute(
            "insert into units (unit_id, name, kind, parent_id, sort_order) values ($1, $2, $3, $4, $5)",
            [unit_id, name, kind, parent, i],
        )
    indicators = [
        (1, "F-01", "农贸市场", "field", True),
        (2, "F-02", "背街小巷", "field", False),
        (3, "M-01", "网上申报材料", "materials", None),
        (4, "Q-01", "知晓率", "questionnaire", None),
    ]
    for row in indicators:
        con.execute(
            "insert into indicators (indicator_id, code, name, category, is_static) values ($1, $2, $3, $4, $5)",
            list(row),
        )
    con.execute("insert into campaigns values (1, '2026年大走访', '2026-05-01', '2026-07-31')")
    con.execute(
        "insert into campaign_milestones values (1, '2026-06-30', 0.7), (1, '2026-07-31', 1.0)"
    )
    con.execute(
        "insert into assessments (assessment_id, name, level, kind, start_date, end_date)"
        " values (1, '2026年第一次模拟测评', 'city', 'overall', '2026-04-10', '2026-04-12')"
    )
    con.execute("insert into points values (1, '和平农贸市场', '农贸市场', 4, 11, true)")
    con.execute(
        "insert into problems (problem_id, found_on, source, unit_id, severity, deadline, status)"
        " values ('OLD-1', '2026-04-01', 'inspection', 5, 'normal', '2026-04-10', 'open')"
    )


@pytest.fixture(scope="module")
def base_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return store.write_snapshot(tmp_path_factory.mktemp("importer") / "base.duckdb", _fill)


@pytest.fixture()
def db(base_db: Path, tmp_path: Path) -> Path:
    path = tmp_path / "data" / "city.duckdb"
    path.parent.mkdir()
    shutil.copyfile(base_db, path)
    return path


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def rows_of(db: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


# --- file builders ----------------------------------------------------------------------

PROBLEM_HEADER = [
    "序号", "问题编号", "发现日期", "问题来源", "点位名称", "属地单位", "责任单位",
    "问题描述", "整改时限", "整改状态", "整改完成日期",
]  # fmt: skip
GOOD_PROBLEM = [1, "WT-001", "2026年5月20日", "暗访", "和平农贸市场", "和平街道", "区住建局", "杂物堆放",
                "2026.5.27", "已整改", "2026/5/25"]  # fmt: skip


def xlsx(
    header: list,
    rows: list[list],
    *,
    title: str | None = "临江市创文问题整改台账",
    sheet: str = "台账",
    before: list[tuple[str, list[list]]] = (),
    line: str | None = "填报单位：东城区创文办　　日期：2026年5月22日",
) -> bytes:
    """An .xlsx like the units send: title row, 填报 line, header, data (row 4 = first data row)."""
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, content in before:
        ws = wb.create_sheet(name)
        for r in content:
            ws.append(r)
    ws = wb.create_sheet(sheet)
    if title is not None:
        ws.append([title])
        ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(header))
    if line is not None:
        ws.append([line])
    ws.append(header)
    for r in rows:
        ws.append(r)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def problems_file(*rows: list, header: list = PROBLEM_HEADER) -> bytes:
    return xlsx(header, [list(r) for r in rows] or [GOOD_PROBLEM])


def problem(**changes: object) -> list:
    row = dict(zip(PROBLEM_HEADER, GOOD_PROBLEM, strict=True))
    row.update(changes)
    return [row[h] for h in PROBLEM_HEADER]


def csv_bytes(text: str, encoding: str) -> bytes:
    return text.encode(encoding)


VISIT_HEADER = [
    "序号",
    "所属单位",
    "对象类型",
    "对象编号",
    "走访日期",
    "走访单位",
    "是否平台录入",
    "反映问题数",
]
GOOD_VISIT = [1, "和平街道", "农户", "HP-0001", "2026-05-20", "市住建局", "是", 0]
MATERIAL_HEADER = ["序号", "单位", "指标编号", "应报数", "已报数", "审核通过数", "截止日期"]
SCORE_HEADER = ["单位", "测评名称", "指标编号", "得分", "得分率", "满分"]


def visit(**changes: object) -> list:
    row = dict(zip(VISIT_HEADER, GOOD_VISIT, strict=True))
    row.update(changes)
    return [row[h] for h in VISIT_HEADER]


def formula_workbook() -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "台账"
    ws.append(["临江市创文问题整改台账"])
    ws.append(["填报单位：东城区"])
    ws.append(PROBLEM_HEADER)
    ws.append(problem())
    ws["I4"] = "=C4+7"  # openpyxl stores no cached value: Excel never computed it
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def zip_not_xlsx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("readme.txt", "hello")
    return buffer.getvalue()


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(256)) * 4

Case = tuple[str, str, Callable[[], bytes], str, dict]

# (id, kind, file name, builder, expected text in one error message, prepare kwargs)
MALFORMED: list[tuple[str, str, str, Callable[[], bytes], str, dict]] = [
    ("wrong_sheet", "problems", "a.xlsx",
     lambda: xlsx(["说明"], [["本表为说明"]], title=None, line=None, sheet="说明"),
     "在工作表 「说明」 中找不到「问题整改台账」的表头", {}),
    ("wrong_kind_headers", "problems", "visits.xlsx",
     lambda: xlsx(VISIT_HEADER, [GOOD_VISIT]), "找不到「问题整改台账」的表头", {}),
    ("missing_required_column", "problems", "a.xlsx",
     lambda: xlsx([h for h in PROBLEM_HEADER if h != "整改时限"], [GOOD_PROBLEM[:8] + GOOD_PROBLEM[9:]]),
     "缺少必填列「整改时限」（也可写作：整改期限", {}),
    ("duplicate_header", "problems", "a.xlsx",
     lambda: xlsx([*PROBLEM_HEADER, "责任部门"], [[*GOOD_PROBLEM, "市城管局"]]),
     "第 3 行「责任部门」：与「责任单位」是同一列", {}),
    ("bad_date_month_13", "problems", "a.xlsx", lambda: problems_file(problem(整改时限="2026年13月5日")),
     '第 4 行「整改时限」值 "2026年13月5日"：不是有效日期', {}),
    ("bad_date_words", "problems", "a.xlsx", lambda: problems_file(problem(发现日期="上周五")),
     '第 4 行「发现日期」值 "上周五"：不是有效日期（应写作 2026-05-22 或 2026年5月22日）', {}),
    ("date_out_of_range", "problems", "a.xlsx", lambda: problems_file(problem(发现日期="1926-05-20")),
     '第 4 行「发现日期」值 "1926-05-20"：日期超出合理范围', {}),
    ("bad_rate_text", "scores", "s.xlsx",
     lambda: xlsx(SCORE_HEADER, [["和平街道", "2026年第一次模拟测评", "Q-01", None, "八成", None]]),
     '第 4 行「得分率」值 "八成"：不是有效的比率', {}),
    ("rate_over_100", "scores", "s.xlsx",
     lambda: xlsx(SCORE_HEADER, [["和平街道", "2026年第一次模拟测评", "Q-01", None, "120%", None]]),
     '第 4 行「得分率」值 "120%"：比率应在 0%—100% 之间', {}),
    ("score_over_max", "scores", "s.xlsx",
     lambda: xlsx(SCORE_HEADER, [["和平街道", "2026年第一次模拟测评", None, 105, None, 100]]),
     '第 4 行「得分」值 "105"：得分超过满分（100）', {}),
    ("unknown_assessment", "scores", "s.xlsx",
     lambda: xlsx(SCORE_HEADER, [["和平街道", "2026年第一次模拟侧评", None, 85, None, 100]]),
     "找不到该测评。你是不是要找：2026年第一次模拟测评", {}),
    ("unknown_unit_typo", "problems", "a.xlsx", lambda: problems_file(problem(属地单位="和平街到")),
     '第 4 行「属地单位」值 "和平街到"：找不到该单位。你是不是要找：和平街道', {}),
    ("unknown_department", "problems", "a.xlsx", lambda: problems_file(problem(责任单位="市建设局")),
     "「责任单位」值 \"市建设局\"：找不到该单位。你是不是要找：市住建局", {}),
    ("duplicate_key", "problems", "a.xlsx", lambda: problems_file(problem(), problem(序号=2)),
     '第 5 行「问题编号」值 "WT-001"：与第 4 行重复（按「问题编号」只能出现一次）', {}),
    ("duplicate_visit_key", "visits", "v.xlsx", lambda: xlsx(VISIT_HEADER, [visit(), visit(序号=2, 是否平台录入="否")]),
     '第 5 行「对象编号」值 "2026年大走访 / 和平街道 / 农户/居民户 / HP-0001 / 2026-05-20"', {}),
    ("formula_without_value", "problems", "a.xlsx", formula_workbook,
     "第 4 行「整改时限」为空：公式没有计算结果", {}),
    ("empty_file", "problems", "a.xlsx", lambda: b"", "文件是空的", {}),
    ("empty_csv_whitespace", "problems", "a.csv", lambda: b"\xef\xbb\xbf \r\n\r\n", "文件是空的", {}),
    ("header_only", "problems", "a.xlsx", lambda: xlsx(PROBLEM_HEADER, []),
     "表头（第 3 行）下面没有数据行", {}),
    ("png_renamed_xlsx", "problems", "a.xlsx", lambda: PNG, "看起来是PNG 图片", {}),
    ("binary_renamed_xlsx", "problems", "a.xlsx", lambda: bytes(range(256)) * 8,
     "文件扩展名是 .xlsx，但内容不是 Excel 文件", {}),
    ("zip_not_xlsx", "problems", "a.xlsx", zip_not_xlsx, "文件是压缩包，不是 Excel（.xlsx）文件", {}),
    ("truncated_xlsx", "problems", "a.xlsx", lambda: problems_file()[:3000], "已损坏", {}),
    ("old_xls", "problems", "a.xls", lambda: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600),
     "不支持旧版 Excel（.xls）", {}),
    ("unsupported_extension", "problems", "a.docx.txt.pdf", lambda: b"just text", "只支持 Excel（.xlsx）和 CSV", {}),
    ("oversized", "problems", "a.xlsx", lambda: problems_file(), "超过上限", {"max_bytes": 2048}),
    ("too_many_rows", "problems", "a.xlsx",
     lambda: problems_file(*[problem(序号=i, 问题编号=f"WT-{i:03}") for i in range(1, 12)]),
     "数据超过 10 行的上限", {"max_rows": 10}),
    ("negative_count", "visits", "v.xlsx", lambda: xlsx(VISIT_HEADER, [visit(反映问题数=-1)]),
     '第 4 行「反映问题数」值 "-1"：不能为负数', {}),
    ("submitted_over_required", "materials", "m.xlsx",
     lambda: xlsx(MATERIAL_HEADER, [[1, "市住建局", "M-01", 10, 12, 8, "2026-10-26"]]),
     '第 4 行「已报数」值 "12"：已报数大于应报数（10）', {}),
    ("approved_over_submitted", "materials", "m.xlsx",
     lambda: xlsx(MATERIAL_HEADER, [[1, "市住建局", "M-01", 10, 5, 6, "2026-10-26"]]),
     '第 4 行「审核通过数」值 "6"：审核通过数大于已报数（5）', {}),
    ("materials_no_report_date", "materials", "m.xlsx",
     lambda: xlsx(MATERIAL_HEADER, [[1, "市住建局", "M-01", 10, 5, 5, "2026-10-26"]], line="填报单位：市住建局"),
     "缺少「填报日期」列，表头上方也没有", {}),
    ("deadline_before_found", "problems", "a.xlsx", lambda: problems_file(problem(整改时限="2026-05-10")),
     '第 4 行「整改时限」值 "2026-05-10"：整改时限早于发现日期（2026-05-20）', {}),
    ("unknown_status", "problems", "a.xlsx", lambda: problems_file(problem(整改状态="搞定了")),
     '第 4 行「整改状态」值 "搞定了"：不是可选值，应为：整改中、已整改、已销号', {}),
    ("required_blank", "problems", "a.xlsx", lambda: problems_file(problem(问题编号=None)),
     "第 4 行「问题编号」为空：必填项不能为空", {}),
    ("rectified_without_date", "problems", "a.xlsx", lambda: problems_file(problem(整改完成日期=None)),
     "第 4 行「整改完成日期」为空：整改状态为「已整改」时必须填写整改完成日期", {}),
    ("not_integer", "visit_targets", "t.xlsx",
     lambda: xlsx(["单位", "对象类型", "目标数"], [["和平街道", "农户", "3.5"]]),
     '第 4 行「目标数」值 "3.5"：不是整数', {}),
    ("bad_bool", "visits", "v.xlsx", lambda: xlsx(VISIT_HEADER, [visit(是否平台录入="也许")]),
     '第 4 行「是否平台录入」值 "也许"：应填写「是」或「否」', {}),
    ("unknown_indicator", "materials", "m.xlsx",
     lambda: xlsx(MATERIAL_HEADER, [[1, "市住建局", "M-10", 10, 5, 5, "2026-10-26"]]),
     '「指标编号」值 "M-10"：找不到该指标编号。你是不是要找：M-01', {}),
    ("unknown_point", "problems", "a.xlsx", lambda: problems_file(problem(点位名称="和平农贸市常")),
     "找不到该点位。你是不是要找：和平农贸市场", {}),
    ("personal_data", "visits", "v.xlsx", lambda: xlsx(VISIT_HEADER, [visit(对象编号="13912345678")]),
     "疑似手机号或身份证号：不得导入群众个人信息", {}),
    ("bad_date_in_gbk_csv", "problems", "a.csv",
     lambda: csv_bytes(",".join(PROBLEM_HEADER) + "\n" + ",".join(map(str, problem(发现日期="2026-02-30"))), "gbk"),
     '第 2 行「发现日期」值 "2026-02-30"：不是有效日期', {}),
]  # fmt: skip


@pytest.mark.parametrize(
    ("kind", "file_name", "build", "expected", "options"),
    [pytest.param(*case[1:], id=case[0]) for case in MALFORMED],
)
def test_malformed_file_is_refused_with_chinese_error(
    db: Path, kind: str, file_name: str, build: Callable[[], bytes], expected: str, options: dict
) -> None:
    before = sha(db)
    plan = prepare_import(db, build(), file_name, kind, **options)
    messages = [e.message for e in plan.errors]
    assert any(expected in m for m in messages), messages
    assert not plan.added and not plan.updated
    result = apply_import(db, plan, "测试员")
    assert result.result == "rejected"
    assert sha(db) == before
    log = importer.rejected_log_path(db).read_text(encoding="utf-8").splitlines()
    assert json.loads(log[-1])["result"] == "rejected"


def test_every_row_problem_is_reported_at_once(db: Path) -> None:
    data = problems_file(
        problem(整改时限="2026年13月5日"),
        problem(序号=2, 问题编号="WT-002", 属地单位="火星街道"),
        problem(序号=3, 问题编号="WT-003", 整改状态="搞定了", 发现日期="昨天"),
        problem(序号=4, 问题编号="WT-004", 责任单位="市城管委", 整改时限="2026-05-01"),
    )
    plan = prepare_import(db, data, "a.xlsx", "problems")
    located = sorted((e.row, e.column) for e in plan.errors)
    assert located == [
        (4, "整改时限"), (5, "属地单位"), (6, "发现日期"), (6, "整改状态"), (7, "整改时限"), (7, "责任单位"),
    ]  # fmt: skip
    assert "你是不是要找：市城管局" in plan.errors[-2].message
    text = errors_as_csv(plan.errors).decode("utf-8")
    assert text.startswith("\ufeff文件,工作表,行号,列名,值,问题,说明")
    assert '第 4 行「整改时限」值 ""2026年13月5日""：不是有效日期' in text


# --- valid encodings ------------------------------------------------------------------

CSV_TEXT = (
    ",".join(PROBLEM_HEADER)
    + "\r\n"
    + ",".join(map(str, GOOD_PROBLEM))
    + "\r\n"
    + "2,WT-002,２０２６－０５－２１,督查,,解放街道办事处,市城管局,占道经营,2026-05-28,整改中,\r\n"
)


@pytest.mark.parametrize(
    "encode",
    [
        pytest.param(lambda t: t.encode("gbk"), id="gbk"),
        pytest.param(lambda t: t.encode("gb18030"), id="gb18030"),
        pytest.param(lambda t: codecs.BOM_UTF8 + t.encode("utf-8"), id="utf8_bom"),
        pytest.param(lambda t: t.encode("utf-8"), id="utf8"),
        pytest.param(lambda t: t.replace(",", "\t").encode("utf-16"), id="utf16_bom_tabs"),
        pytest.param(lambda t: t.encode("utf-16-le"), id="utf16le_no_bom"),
    ],
)
def test_csv_encodings_import(db: Path, encode: Callable[[str], bytes]) -> None:
    plan = prepare_import(db, encode(CSV_TEXT), "问题.csv", "problems")
    assert plan.errors == []
    assert len(plan.added) == 2
    result = apply_import(db, plan, "测试员")
    assert (result.added, result.updated) == (2, 0)
    rows = rows_of(
        db, "select problem_id, found_on, unit_id, dept_id, status from problems order by 1"
    )
    assert rows[1:] == [
        ("WT-001", dt.date(2026, 5, 20), 4, 10, "rectified"),
        ("WT-002", dt.date(2026, 5, 21), 5, 11, "open"),
    ]


# --- a realistic ledger -----------------------------------------------------------------


def government_ledger(corrected: bool = False) -> bytes:
    """临江市创文问题整改台账 as a street office sends it."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "整改台账"
    ws.append(["临江市创文问题整改台账"])
    ws.merge_cells("A1:L1")
    ws.append(
        [
            "填报单位：东城区创文办",
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            "填报日期：2026年5月22日",
        ]
    )
    ws.append(["序号", "问题编号", "发现时间", "问题来源", "点位", "属地单位", "整改责任单位",
               "问题描述", "问题等级", "整改期限\n（年月日）", "整改状态", "完成日期"])  # fmt: skip
    data = [
        [1, "DC-001", "2026年5月2日", "暗访", "和平农贸市场", "和平街道办事处", "区住建局", "摊位外溢",
         "一般", "2026年5月9日", "已整改", "2026年5月8日"],
        [2, "DC-002", dt.datetime(2026, 5, 3), "督查", None, "东城区和平街道", "市城管局", "背街小巷垃圾",
         "较重", 46152, "已销号", "2026.5.10"],
        [3, "DC-003", "2026.5.4", "群众反映", None, "解放街道", "城管局", "占道经营", "一般",
         "2026/5/11", "整改中", None],
        [4, "DC-004", "２０２６年５月５日", "模拟测评", None, "解放街道", "市公安局", "非机动车乱停",
         "严重", "2026-05-12", "已整改", "2026-05-12"],
        [5, "DC-005", 46147, "曝光", None, " 新华街道 ", "市市场监管局", "店外经营", "一般",
         "2026-05-20", "整改中", None],
        [6, "DC-006", "2026-05-06", "12345", None, "西城区新华街道", "市场监管局", "油烟扰民", "一般",
         "2026-05-30", "未整改", None],
        ["合计", None, None, None, None, None, None, None, None, None, "已整改 3 件", None],
        [None] * 12,
        [None] * 12,
    ]  # fmt: skip
    if corrected:
        data[2][10:12] = ["已整改", "2026年5月15日"]  # DC-003 rectified since
        data[5][9] = "2026年6月5日"  # DC-006 deadline extended
    for row in data:
        ws.append(row)
    ws["B2"] = None
    ws.append(["填表人：王某", None, None, "审核人：李某"])
    ws["K11"] = None
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def rectification_rate(db: Path, as_of: dt.date) -> float:
    """整改率 as the dashboard computes it (dashboard.metrics over queries/*.sql)."""
    from dashboard import db as dbmod
    from dashboard import metrics

    old = os.environ.get(dbmod.ENV_VAR)
    os.environ[dbmod.ENV_VAR] = str(db)
    try:
        dbmod._cached.clear()
        frame = metrics.rectification(scope_id=2, as_of=as_of)  # 东城区 and everything under it
        return float(frame["rectification_rate"].iloc[0])
    finally:
        if old is None:
            del os.environ[dbmod.ENV_VAR]
        else:
            os.environ[dbmod.ENV_VAR] = old
        dbmod._cached.clear()
        dbmod.close_all()


def test_government_ledger_imports_expected_rows_and_reimport_is_noop(db: Path) -> None:
    plan = prepare_import(db, government_ledger(), "东城区整改台账.xlsx", "problems")
    assert plan.errors == [], [e.message for e in plan.errors]
    assert (plan.sheet, plan.header_row, plan.rows) == ("整改台账", 3, 6)
    assert plan.preview()["问题编号"].tolist() == [f"DC-00{i}" for i in range(1, 7)]
    first = plan.preview().iloc[0]
    assert (first["属地单位"], first["责任单位"], first["点位名称"]) == (
        "和平街道",
        "市住建局",
        "和平农贸市场",
    )
    result = apply_import(db, plan, "东城区创文办")
    assert (result.result, result.added, result.updated, result.unchanged) == ("ok", 6, 0, 0)
    got = rows_of(
        db,
        "select problem_id, found_on, source, point_id, unit_id, dept_id, severity, deadline, status,"
        " rectified_on from problems where problem_id like 'DC-%' order by problem_id",
    )
    d = dt.date
    assert got == [
        ("DC-001", d(2026, 5, 2), "undercover", 1, 4, 10, "normal", d(2026, 5, 9), "rectified", d(2026, 5, 8)),
        ("DC-002", d(2026, 5, 3), "inspection", None, 4, 11, "major", d(2026, 5, 10), "closed", d(2026, 5, 10)),
        ("DC-003", d(2026, 5, 4), "hotline", None, 5, 11, "normal", d(2026, 5, 11), "open", None),
        ("DC-004", d(2026, 5, 5), "mock_test", None, 5, 12, "severe", d(2026, 5, 12), "rectified", d(2026, 5, 12)),
        ("DC-005", d(2026, 5, 5), "exposure", None, 6, 13, "normal", d(2026, 5, 20), "open", None),
        ("DC-006", d(2026, 5, 6), "hotline", None, 6, 13, "normal", d(2026, 5, 30), "open", None),
    ]  # fmt: skip
    # 东城区: OLD-1 (open) + DC-001..DC-004 → 3 of 5 rectified = 60%.
    assert rectification_rate(db, d(2026, 5, 22)) == pytest.approx(0.6)

    data_before = rows_of(db, "select * from problems order by problem_id")
    again = prepare_import(db, government_ledger(), "东城区整改台账.xlsx", "problems")
    assert (len(again.added), len(again.updated), again.unchanged) == (0, 0, 6)
    second = apply_import(db, again, "东城区创文办")
    assert (second.added, second.updated) == (0, 0)
    assert rows_of(db, "select * from problems order by problem_id") == data_before
    history = importer.import_history(db)
    assert history["rows_added"].tolist()[:2] == [0, 6]

    fixed = prepare_import(
        db, government_ledger(corrected=True), "东城区整改台账（更正）.xlsx", "problems"
    )
    assert (len(fixed.added), len(fixed.updated), fixed.unchanged) == (0, 2, 4)
    assert fixed.changes_frame().to_dict("records")[0] == {
        "记录": "DC-003", "列": "整改状态", "原值": "整改中", "新值": "已整改"
    }  # fmt: skip
    assert {(c["key"][0], c["column"]) for c in fixed.changes} == {
        ("DC-003", "status"), ("DC-003", "rectified_on"), ("DC-006", "deadline"),
    }  # fmt: skip
    apply_import(db, fixed, "东城区创文办")
    after = {r[0]: r for r in rows_of(db, "select * from problems order by problem_id")}
    before = {r[0]: r for r in data_before}
    assert {k for k in after if after[k] != before[k]} == {"DC-003", "DC-006"}
    assert rectification_rate(db, d(2026, 5, 22)) == pytest.approx(0.8)


def test_stale_plan_is_refused(db: Path) -> None:
    first = prepare_import(db, problems_file(), "a.xlsx", "problems")
    second = prepare_import(db, problems_file(problem(问题编号="WT-009")), "b.xlsx", "problems")
    apply_import(db, first, "甲")
    with pytest.raises(importer.StalePlanError, match="重新上传"):
        apply_import(db, second, "乙")


def test_columns_absent_from_file_keep_stored_values(db: Path) -> None:
    apply_import(db, prepare_import(db, problems_file(), "a.xlsx", "problems"), "甲")
    header = [
        "问题编号",
        "发现日期",
        "问题来源",
        "属地单位",
        "责任单位",
        "整改时限",
        "整改状态",
        "整改完成日期",
    ]
    row = [
        "WT-001",
        "2026-05-20",
        "暗访",
        "和平街道",
        "市住建局",
        "2026-05-27",
        "已整改",
        "2026-05-26",
    ]
    plan = prepare_import(db, xlsx(header, [row]), "b.xlsx", "problems")
    assert (len(plan.added), len(plan.updated)) == (0, 1)
    assert [c["column"] for c in plan.changes] == ["rectified_on"]
    apply_import(db, plan, "甲")
    assert rows_of(
        db,
        "select description, dept_id, point_id, rectified_on from problems where problem_id = 'WT-001'",
    ) == [("杂物堆放", 10, 1, dt.date(2026, 5, 26))]


# --- other kinds ------------------------------------------------------------------------


def test_visits_targets_materials_scores_points_checks_units_import(db: Path) -> None:
    def run(kind: str, data: bytes) -> importer.ImportResult:
        plan = prepare_import(db, data, f"{kind}.xlsx", kind)
        assert plan.errors == [], [e.message for e in plan.errors]
        return apply_import(db, plan, "测试员")

    assert run("units", xlsx(["单位名称", "单位类型", "上级单位", "排序"],
                             [["光明社区", "社区", "和平街道办事处", 2], ["光明社区网格一", "工作组", "光明社区", 1]])).added == 2  # fmt: skip
    units = dict(rows_of(db, "select name, parent_id from units"))
    assert (
        units["光明社区网格一"]
        == rows_of(db, "select unit_id from units where name = '光明社区'")[0][0]
    )
    assert units["光明社区"] == 4
    assert (
        run(
            "visit_targets", xlsx(["单位", "对象类型", "目标数"], [["和平街道", "农户", "1,200"]])
        ).added
        == 1
    )
    assert (
        run(
            "visits",
            xlsx(VISIT_HEADER, [visit(), visit(序号=2, 对象编号="HP-0002", 是否平台录入="未录入")]),
        ).added
        == 2
    )
    assert rows_of(db, "select sum(new_subjects), sum(entered) from visit_daily") == [(2, 1)]
    assert (
        run(
            "materials",
            xlsx(MATERIAL_HEADER, [[1, "住建局", "M-01", "１２", 9, None, "2026年10月26日"]]),
        ).added
        == 1
    )
    assert rows_of(
        db, "select unit_id, required, submitted, approved, updated_on from materials"
    ) == [(10, 12, 9, None, dt.date(2026, 5, 22))]
    result = run("scores", xlsx(SCORE_HEADER, [
        ["和平街道", "2026年第一次模拟测评", None, "85.5", None, 100],
        ["和平街道", "2026年第一次模拟测评", "Q-01", None, "87%", None],
        ["解放街道", "2026年第一次模拟测评", "Q-01", None, 0.9, None],
    ]))  # fmt: skip
    assert result.added == 3
    assert sorted(
        rows_of(db, "select unit_id, indicator_id, value, max_value from scores"), key=str
    ) == sorted([(4, None, 85.5, 100.0), (4, 4, 87.0, 100.0), (5, 4, 90.0, 100.0)], key=str)
    assert run("points", xlsx(["点位名称", "点位类型", "属地单位", "主管部门", "是否固定点位"],
                              [["和平农贸市场", "农贸市场", "和平街道", "市城管局", "固定"],
                               ["解放路背街", "背街小巷", "解放街道", None, "随机"]])).added == 1  # fmt: skip
    checks = xlsx(["点位名称", "检查日期", "指标编号", "是否达标"],
                  [["和平农贸市场", "2026-05-21", "F-01", "达标"], ["解放路背街", "2026-05-21", "F-02", "不达标"]])  # fmt: skip
    assert run("point_checks", checks).added == 2
    assert rows_of(db, "select check_id, is_static, passed from point_checks order by 1") == [
        (1, True, True),
        (2, False, False),
    ]
    assert run("point_checks", checks).added == 0


def test_unit_name_matching_tolerates_prefixes_and_suffixes() -> None:
    matcher = UnitIndex(UNITS)
    assert matcher.resolve("区住建局") == 10
    assert matcher.resolve("住建局") == 10
    assert matcher.resolve("临江市住建局") == 10
    assert matcher.resolve("和平街道办事处") == 4
    assert matcher.resolve("东城区和平街道") == 4
    assert matcher.resolve("幸福社区居民委员会") == 7
    assert matcher.resolve("市场监管局") == 13


def test_cell_parsers() -> None:
    for text in (
        "2026年5月22日",
        "2026.5.22",
        "2026/5/22",
        "2026-05-22",
        "２０２６年５月２２日",
        46164,
        "20260522",
    ):
        assert parse_date(text) == dt.date(2026, 5, 22), text
    assert parse_date(dt.datetime(2026, 5, 22, 9, 30)) == dt.date(2026, 5, 22)
    assert [parse_rate(v) for v in ("85%", 0.85, 85, "８５％")] == [85, 85, 85, 85]


def test_template_round_trip_and_neutralise(db: Path) -> None:
    for kind in importer.SPECS:
        data = template_xlsx(kind)
        wb = openpyxl.load_workbook(io.BytesIO(data))
        ws = wb.worksheets[0]
        assert ws["A1"].value == f"{importer.SPECS[kind].label}（模板）"
        assert ws["A3"].value == "序号" and ws["A4"].value == "示例"
        assert wb.sheetnames[1] == "填写说明"
        plan = prepare_import(db, data, "template.xlsx", kind)
        assert [e.message for e in plan.errors] == [
            "表头（第 3 行）下面没有数据行"
        ]  # example row skipped
    assert neutralise("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert neutralise("@SUM") == "'@SUM" and neutralise("\tx") == "'\tx"
    assert neutralise("-12.5") == "-12.5" and neutralise(-3) == -3 and neutralise("正常") == "正常"
    rows = [importer.LedgerError("a.csv", "规则", row=2, column="列", value="=cmd|' /C calc'!A0")]
    assert "'=cmd" in errors_as_csv(rows).decode("utf-8-sig")


def test_cli_dry_run_errors_and_apply(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(problems_file(problem(整改状态="搞定了")))
    before = sha(db)
    assert importer.main(["--db", str(db), "--kind", "problems", str(bad)]) == 1
    assert '第 4 行「整改状态」值 "搞定了"' in capsys.readouterr().out
    assert sha(db) == before
    good = tmp_path / "good.xlsx"
    good.write_bytes(problems_file())
    assert importer.main(["--db", str(db), "--kind", "problems", "--dry-run", str(good)]) == 0
    assert sha(db) == before
    assert importer.main(["--db", str(db), "--kind", "problems", "--user", "王", str(good)]) == 0
    assert "新增 1 行" in capsys.readouterr().out
    assert rows_of(db, "select by_user, rows_added, result from imports") == [("王", 1, "ok")]


# --- crash and concurrency --------------------------------------------------------------

KILL_SCRIPT = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from dashboard import importer, store
    original = store.rebuild_derived
    def slow(con):
        original(con)
        Path(sys.argv[1]).write_text("inside fill")
        time.sleep(60)
    store.rebuild_derived = slow
    sys.exit(importer.main(["--db", sys.argv[2], "--kind", "problems", sys.argv[3]]))
    """
)


def test_killed_import_leaves_old_data_intact(db: Path, tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.xlsx"
    ledger.write_bytes(government_ledger())
    marker = tmp_path / "marker"
    before = sha(db)
    proc = subprocess.Popen(
        [sys.executable, "-c", KILL_SCRIPT, str(marker), str(db), str(ledger)],
        cwd=REPO,
        env={**os.environ},
    )
    try:
        deadline = time.monotonic() + 30
        while not marker.exists():
            assert proc.poll() is None, "importer ended before reaching the write"
            assert time.monotonic() < deadline
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
    assert sha(db) == before
    assert rows_of(db, "select problem_id from problems") == [("OLD-1",)]
    # the next import works (the lock died with the process)
    plan = prepare_import(db, government_ledger(), "ledger.xlsx", "problems")
    assert apply_import(db, plan, "测试员").added == 6


def test_readers_in_threads_during_imports(db: Path) -> None:
    """Viewers keep querying while imports swap snapshots in: no lock errors, no torn reads."""
    from dashboard.db import sql_text

    sql = sql_text("rectification_counts")
    params = {"scope_id": 1, "level": "self", "days": [dt.date(2026, 5, 22)]}
    stop = threading.Event()
    failures: list[BaseException] = []
    seen: dict[str, list[int]] = {"connect": [], "attach": []}

    def reader(how: str) -> None:
        while not stop.is_set():
            try:
                if how == "connect":  # a plain read-only connect (scripts, the CLI)
                    opened = contextlib.closing(duckdb.connect(str(db), read_only=True))
                else:
                    opened = importer.open_snapshot(db)
                with opened as con:
                    con.execute(sql, params).fetchall()
                    seen[how].append(con.execute("select count(*) from problems").fetchone()[0])
            except BaseException as exc:  # noqa: BLE001 - collected and reported below
                failures.append((how, exc))
            # a breath between reads: four readers spinning on the GIL would starve the
            # imports they are meant to overlap (each swap still meets many reads, below)
            time.sleep(0.02)

    threads = [threading.Thread(target=reader, args=(how,)) for how in ("connect", "attach") * 2]
    for t in threads:
        t.start()
    try:
        for i in range(4):
            rows = [problem(序号=j, 问题编号=f"T{i}-{j}") for j in range(1, 30)]
            plan = prepare_import(db, problems_file(*rows), f"batch{i}.xlsx", "problems")
            assert apply_import(db, plan, "测试员").added == 29
            time.sleep(0.05)
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert failures == []
    assert len(seen["connect"]) > 20 and len(seen["attach"]) > 20  # reads overlapped the swaps
    valid = {1 + 29 * i for i in range(5)}
    assert set(seen["connect"]) <= valid and set(seen["attach"]) <= valid
    # Attached readers follow the swaps; a plain connect may stay on the old snapshot
    # while another connection to the same path is open (DuckDB's instance cache).
    assert len(set(seen["attach"])) > 1
    assert rows_of(db, "select count(*) from problems") == [(1 + 29 * 4,)]


# --- the 数据 page ------------------------------------------------------------------------


def test_freshness_query_lists_every_importable_table_with_its_date_column(db: Path) -> None:
    """queries/data_freshness.sql names the tables itself: it must follow SPECS and
    DATE_COLUMN (a new importable kind needs its line there)."""
    from dashboard.db import sql_text
    from dashboard.import_specs import DATE_COLUMN

    lines = re.findall(
        r"select '(\w+)' as kind, '(\w+)' as table_name, count\(\*\) as rows,"
        r"\s+(\S+) as latest_date\s+from (\w+)",
        sql_text("data_freshness"),
    )
    assert [kind for kind, *_ in lines] == list(importer.SPECS)
    for kind, table, latest, source in lines:
        assert table == source == importer.SPECS[kind].table
        column = DATE_COLUMN.get(kind)
        assert latest == (f"max({column})" if column else "null::date")
    fresh = importer.data_freshness(db).set_index("kind")
    assert fresh.loc["problems", "rows"] == rows_of(db, "select count(*) from problems")[0][0]
    assert (
        fresh.loc["problems", "latest_date"]
        == rows_of(db, "select max(found_on) from problems")[0][0]
    )
    assert fresh.loc["units", "latest_date"] is None


def test_data_page_renders_templates_freshness_and_history(
    db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from streamlit.testing.v1 import AppTest

    from dashboard import db as dbmod

    apply_import(
        db, prepare_import(db, government_ledger(), "东城区整改台账.xlsx", "problems"), "王科员"
    )
    apply_import(
        db,
        prepare_import(db, problems_file(problem(整改状态="搞定了")), "坏.xlsx", "problems"),
        "王科员",
    )
    monkeypatch.setenv(dbmod.ENV_VAR, str(db))
    at = AppTest.from_file(str(REPO / "dashboard" / "pages" / "data.py"), default_timeout=30)
    at.run()
    assert not at.exception
    assert at.selectbox(key="import_kind").value == "problems"
    history = at.dataframe[-1].value
    assert history["文件"].tolist()[:2] == ["坏.xlsx", "东城区整改台账.xlsx"]
    assert history["结果"].tolist()[:2] == ["已拒绝", "成功"]
    freshness = at.dataframe[-2].value
    assert freshness.set_index("数据").loc["问题整改台账", "行数"] == 7
    at.selectbox(key="import_kind").set_value("visits").run()
    assert not at.exception
    assert "走访记录" in at.get("download_button")[0].proto.label
