"""Hostile and careless files (issue 18): refused early, in Chinese, the database untouched.

The corpus is built in bench/hostile.py (also measured there: `python3 -m bench.hostile`):
a ~1 MB .xlsx unpacking to 1 GB of whitespace, a 1,048,575-row sheet, a CSV with a 1 MB
field, units files with cycles, second roots, look-alike and over-long names.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pytest

from bench import hostile
from dashboard import importer, ledger, startup, store
from dashboard.importer import apply_import, prepare_import, template_xlsx
from dashboard.ledger import (
    PER_RULE_ERRORS,
    TOTAL_ERRORS,
    ErrorList,
    LedgerError,
    collect_rows,
    scan_sheet,
)
from tests.test_importer import PROBLEM_HEADER, REPO, rows_of, sha, xlsx
from tests.test_importer import _fill as fill_test_city


@pytest.fixture(scope="module")
def base_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return store.write_snapshot(tmp_path_factory.mktemp("hostile") / "base.duckdb", fill_test_city)


@pytest.fixture()
def db(base_db: Path, tmp_path: Path) -> Path:
    path = tmp_path / "data" / "city.duckdb"
    path.parent.mkdir()
    shutil.copyfile(base_db, path)
    return path


def refused(db: Path, data: bytes, file_name: str, kind: str, **options: object) -> list[str]:
    """Prepare and log a file that must be refused; the messages, the database unchanged."""
    before = sha(db)
    plan = prepare_import(db, data, file_name, kind, **options)
    assert plan.errors and not plan.added and not plan.updated
    assert apply_import(db, plan, "测试员").result == "rejected"
    assert sha(db) == before
    return [e.message for e in plan.errors]


# --- xlsx: sizes, rows, whitespace ----------------------------------------------------


@pytest.fixture()
def openpyxl_never_opens(monkeypatch: pytest.MonkeyPatch) -> None:
    """The refusal must come before openpyxl parses anything."""

    def opened(*args: object, **kwargs: object) -> None:
        raise AssertionError("openpyxl opened a file that should have been refused before")

    monkeypatch.setattr(ledger.openpyxl, "load_workbook", opened)


@pytest.mark.usefixtures("openpyxl_never_opens")
def test_zip_bomb_is_refused_from_the_sizes_the_archive_declares(db: Path) -> None:
    bomb = hostile.zip_bomb()
    assert len(bomb) < 1.1 * 1048576
    messages = refused(db, bomb, "东城区台账.xlsx", "problems")
    assert messages == [
        "Excel 文件解压后有 1,024 MB，超过上限 256 MB（文件中可能有大量空白单元格或隐藏内容）。"
        "请只复制台账的数据区域到新工作簿，另存为 .xlsx 后再导入"
    ]


def test_a_part_that_packs_too_well_is_refused(db: Path) -> None:
    # 64 MB of spaces is under the size limit, but packs about 1,000 times.
    (message,) = refused(db, hostile.zip_bomb(64 << 20), "a.xlsx", "problems")
    assert message.startswith("Excel 文件的压缩比异常（有一部分解压后是压缩时的 ")
    assert "正常表格不超过 100 倍" in message


@pytest.mark.usefixtures("openpyxl_never_opens")
def test_million_row_sheet_is_refused_before_it_is_parsed(db: Path) -> None:
    assert refused(db, hostile.many_rows(), "million.xlsx", "problems") == [
        "工作表「台账」有 1,048,575 行，超过每次导入 200,016 行的上限"
        "（空行和带格式的行也算在内），请删除多余的行或工作表，或拆分后分批导入"
    ]


@pytest.mark.parametrize(
    ("rows", "step", "counted"),
    [
        (10_100, 1, "10,100"),  # no <dimension>: the row elements are counted
        (150, 100, "14,604"),  # 147 data rows numbered 4, 104, … 14,604: the last number counts
    ],
    ids=["counted", "sparse"],
)
@pytest.mark.usefixtures("openpyxl_never_opens")
def test_rows_are_counted_without_a_dimension(db: Path, rows: int, step: int, counted: str) -> None:
    data = hostile.many_rows(rows, dimension=False, step=step)
    (message,) = refused(db, data, "a.xlsx", "problems", max_rows=10)
    assert message.startswith(f"工作表「台账」有 {counted} 行，超过每次导入 26 行的上限")


def test_a_row_wider_than_excel_is_refused(db: Path) -> None:
    cells = "<c><v>1</v></c>" * 70_000  # 1.1 MB: the row spans two chunks of the scan
    sheet = (
        f'<worksheet xmlns="{hostile.MAIN_NS}"><sheetData>{hostile._head_rows()}'
        f'<row r="4">{cells}</row></sheetData></worksheet>'
    ).encode()
    data = hostile.xlsx_from_sheet(hostile._part("xl/worksheets/sheet1.xml", sheet))
    assert refused(db, data, "wide.xlsx", "problems") == [
        "工作表「台账」有一行含 70,000 个单元格，超过 Excel 的 16,384 列，不是正常的表格，已拒绝读取"
    ]


def test_too_many_shared_strings_are_refused(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ledger, "MAX_SHARED_STRINGS", 10)
    strings = "".join(f"<si><t>问题{i}</t></si>" for i in range(11))
    table = f'<sst xmlns="{hostile.MAIN_NS}" count="11">{strings}</sst>'.encode()
    sheet = (
        f'<worksheet xmlns="{hostile.MAIN_NS}"><sheetData>{hostile._head_rows()}'
        "</sheetData></worksheet>"
    ).encode()
    data = hostile.xlsx_from_sheet(
        hostile._part("xl/worksheets/sheet1.xml", sheet),
        hostile._part("xl/sharedStrings.xml", table),  # scanned though no part refers to it
    )
    assert refused(db, data, "a.xlsx", "problems") == [
        "Excel 文件含 11 个不同的文字，超过上限 10，请只复制台账的数据区域到新工作簿，另存为 .xlsx 后再导入"
    ]


def test_scan_ignores_a_wrong_dimension() -> None:
    import io

    rows = "".join(f'<row r="{r}"><c r="A{r}"><v>1</v></c></row>' for r in range(1, 6))
    sheet = f'<worksheet><dimension ref="A1"/><sheetData>{rows}</sheetData></worksheet>'
    scan = scan_sheet(io.BytesIO(sheet.encode()))
    assert (scan.declared_rows, scan.row_elements, scan.last_row, scan.rows) == (1, 5, 5, 5)
    assert not scan.has_formulas


def test_whitespace_cells_cost_no_memory() -> None:
    padding = ("  ",) * 16384  # a row of whitespace out to column XFD
    data_row = ("a", " ", "b", "\u3000") + padding
    rows = collect_rows([padding] * 500 + [data_row] + [padding] * 2000, row_limit=10)
    assert rows == [[]] * 500 + [["a", None, "b"]]  # trailing blanks and 1,000+ blank rows dropped
    wide = ("x",) * 300
    assert collect_rows([wide], row_limit=10) == [["x"] * 200]  # nothing right of column 200


# --- CSV with a 1 MB field --------------------------------------------------------------

LONG_FIELD = (
    "第 3 行：有单元格内容超过 131,072 个字符，无法读取"
    "（单元格最多 500 个字；请检查这一行是否有未配对的引号或误粘贴的内容）"
)


def test_csv_with_a_1mb_field_gets_a_chinese_message_in_plan_and_cli(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    data = hostile.csv_long_field()
    assert refused(db, data, "long.csv", "problems") == [LONG_FIELD]
    path = tmp_path / "long.csv"
    path.write_bytes(data)
    assert importer.main(["--db", str(db), "--kind", "problems", str(path)]) == 1
    out = capsys.readouterr()
    assert out.out.splitlines()[:2] == [
        "「long.csv」（问题整改台账）有 1 处问题，未导入任何数据",
        LONG_FIELD,
    ]
    assert "Traceback" not in out.err
    missing = tmp_path / "没有这个文件.csv"
    assert importer.main(["--db", str(db), "--kind", "problems", str(missing)]) == 1
    assert capsys.readouterr().out == f"无法读取文件「{missing}」：No such file or directory\n"


def test_csv_line_of_millions_of_fields_is_refused(db: Path) -> None:
    data = ",".join(PROBLEM_HEADER).encode() + b"\r\n" + b"a," * 1_000_001 + b"\r\n"
    assert refused(db, data, "wide.csv", "problems") == [
        "第 2 行：这一行有 2,000,004 个字符，超过 2,000,000 个字符的上限，无法读取"
    ]


# --- error caps ---------------------------------------------------------------------------


def test_errors_are_capped_per_rule_and_counted(db: Path) -> None:
    rows = [
        f"{i},WT-{i:05},2026-05-20,暗访,,和平街道,市住建局,杂物,2026-05-27,搞定了,"
        for i in range(1, 2001)
    ]
    data = "\r\n".join([",".join(PROBLEM_HEADER), *rows]).encode()
    plan = prepare_import(db, data, "a.csv", "problems")
    assert plan.error_count == 2000
    assert len(plan.errors) == PER_RULE_ERRORS + 1
    assert [e.row for e in plan.errors[:PER_RULE_ERRORS]] == list(range(2, 52))
    assert plan.errors[-1].message == (
        "「整改状态」：另有 1,950 行同类错误（不是可选值，应为：整改中、已整改、已销号、作废）"
    )
    assert plan.summary() == "「a.csv」（问题整改台账）有 2,000 处问题，未导入任何数据"


def test_error_list_caps_the_total() -> None:
    errors = ErrorList()
    for rule in range(12):  # 12 rules × 60 errors, the rule text numbered by row
        for row in range(60):
            errors.append(
                LedgerError(
                    "a.csv", f"规则{'甲乙丙丁戊己庚辛壬癸子丑'[rule]}（第 {row} 行）", row=row
                )
            )
    # rules 1-10: 50 listed each (500 = the total) and one 「另有 10 行」 line each;
    # rules 11-12 come after the total: one shared line for their 120 errors.
    assert errors.total == 720
    assert len(errors) == TOTAL_ERRORS + 10 + 1
    assert errors[50].message == "另有 10 行同类错误（规则甲（第 59 行））"
    assert errors[-1].message == "另有 120 处错误未列出（只列出前 500 处）"


# --- units: cycles, second roots, names ---------------------------------------------------

UNIT_HEADER = ["单位名称", "单位类型", "上级单位"]


def units_file(*rows: list, header: list = UNIT_HEADER) -> bytes:
    return xlsx(header, [list(r) for r in rows], title=None, line=None, sheet="单位名录")


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        pytest.param(
            [["西城区", "区", "新华街道"]],
            ['第 2 行「上级单位」值 "新华街道"：上级单位会形成循环：西城区 → 新华街道 → 西城区。'
             "单位不能挂在自己的下级单位之下"],
            id="district_under_its_street",
        ),
        pytest.param(
            [["东城区", "区", "幸福社区"]],
            ['第 2 行「上级单位」值 "幸福社区"：上级单位会形成循环：东城区 → 幸福社区 → 和平街道 → 东城区。'
             "单位不能挂在自己的下级单位之下"],
            id="district_under_its_community",
        ),
        pytest.param(
            [["光明社区", "社区", "光明网格"], ["光明网格", "工作组", "光明社区"]],
            ['第 2 行「上级单位」值 "光明网格"：上级单位会形成循环（与第 2、3 行一起）：'
             "光明社区 → 光明网格 → 光明社区。单位不能挂在自己的下级单位之下",
             '第 3 行「上级单位」值 "光明社区"：上级单位会形成循环（与第 2、3 行一起）：'
             "光明社区 → 光明网格 → 光明社区。单位不能挂在自己的下级单位之下"],
            id="through_the_files_rows",
        ),
        pytest.param(
            [["新城区", "区", None]],
            ["第 2 行「上级单位」为空：没有上级单位：已有顶级单位「临江市」，只能有一个顶级单位，请填写上级单位"],
            id="second_root",
        ),
        pytest.param(
            [["西城区\u200b", "区", "临江市"]],
            ['第 2 行「单位名称」值 "西城区<U+200B>"：与已有单位「西城区」看起来相同，但写法不同'
             "（含不可见字符、方向控制符或全角字符）。请照单位名录原样填写「西城区」"],
            id="zero_width_look_alike",
        ),
        pytest.param(
            [["\u202e区城西", "区", "临江市"], ["ＸＸ社区", "社区", "和平街道"]],
            [],
            id="new_names_are_normalised",
        ),
        pytest.param(
            [["临" * 497, "社区", "和平街道"]],
            [f'第 2 行「单位名称」值 "{"临" * 57}…"：单位名称有 497 个字，超过 30 个字的上限，请填写规范名称'],
            id="name_too_long",
        ),
    ],
)  # fmt: skip
def test_units_file_is_one_tree_of_clean_names(db: Path, rows: list, expected: list[str]) -> None:
    if not expected:
        plan = prepare_import(db, units_file(*rows), "units.xlsx", "units")
        assert plan.errors == [], [e.message for e in plan.errors]
        apply_import(db, plan, "测试员")
        names = {n for (n,) in rows_of(db, "select name from units where unit_id > 13")}
        assert names == {"区城西", "XX社区"}  # direction mark gone, full-width letters folded
        return
    assert refused(db, units_file(*rows), "units.xlsx", "units") == expected


def test_units_root_may_be_updated_and_example_rows_do_not_shift_ids(db: Path) -> None:
    header = ["序号", *UNIT_HEADER]
    data = units_file(
        ["示例", "示例街道", "街道", "东城区"],
        [1, "临江市", "市", None],
        [2, "光明社区", "社区", "和平街道"],
        [3, "光明网格", "工作组", "光明社区"],
        header=header,
    )
    plan = prepare_import(db, data, "units.xlsx", "units")
    assert plan.errors == [], [e.message for e in plan.errors]
    apply_import(db, plan, "测试员")
    assert rows_of(
        db, "select u.name, p.name from units u join units p on p.unit_id = u.parent_id"
        " where u.unit_id > 13 order by u.unit_id"
    ) == [("光明社区", "和平街道"), ("光明网格", "光明社区")]  # fmt: skip


def test_units_template_states_the_name_limit() -> None:
    import io

    import openpyxl

    notes = openpyxl.load_workbook(io.BytesIO(template_xlsx("units")))["填写说明"]
    name_row = next(r for r in notes.iter_rows(values_only=True) if r[0] == "单位名称")
    assert "不超过 30 个字" in name_row[2]


def test_unit_tree_walk_ends_on_a_cycle(tmp_path: Path) -> None:
    def fill(con: duckdb.DuckDBPyConnection) -> None:
        con.execute(
            "insert into units (unit_id, name, kind, parent_id) values"
            " (1, '市', 'city', null), (2, '甲', 'district', 3), (3, '乙', 'street', 2)"
        )

    path = store.write_snapshot(tmp_path / "cycle.duckdb", fill)
    assert rows_of(path, "select * from unit_tree order by all") == [
        (1, 1, 0), (2, 2, 0), (2, 3, 1), (3, 2, 1), (3, 3, 0),
    ]  # fmt: skip


# --- temporary snapshots of killed imports -------------------------------------------------

SLOW_BUILD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from dashboard import store
    def fill(con):
        Path(sys.argv[2]).write_text("inside fill")
        time.sleep(60)
    store.write_snapshot(sys.argv[1], fill, base=sys.argv[1])
    """
)


def test_killed_build_is_swept_at_start_and_a_live_one_is_kept(
    db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = tmp_path / "marker"
    proc = subprocess.Popen([sys.executable, "-c", SLOW_BUILD, str(db), str(marker)], cwd=REPO)
    try:
        deadline = time.monotonic() + 30
        while not marker.exists():
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        leftovers = sorted(p.name.rsplit(".", 1)[-1] for p in db.parent.glob(".city.duckdb.*"))
        assert leftovers == ["claim", "tmp"]
        assert store.sweep_abandoned(db) == []  # the build is alive: its files stay
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
    assert len(list(db.parent.glob(".city.duckdb.*"))) == 2
    monkeypatch.setattr(startup, "_swept", set())
    startup._sweep_once(db)  # what the app does at start
    assert list(db.parent.glob(".city.duckdb.*")) == []
    legacy = db.with_name(".city.duckdb.0123abcd.tmp")  # an older release's, no claim
    legacy.write_bytes(b"x")
    spill = db.with_name(".city.duckdb.0123abcd.tmp.tmp")  # DuckDB's spill directory
    spill.mkdir()
    (spill / "duckdb_temp_block-1.block").write_bytes(b"x")
    assert store.sweep_abandoned(db) == []
    for path in (legacy, spill):
        os.utime(path, (time.time() - 7200, time.time() - 7200))
    assert sorted(store.sweep_abandoned(db)) == [legacy, spill]
    assert list(db.parent.glob(".city.duckdb.*")) == []


# --- memory -------------------------------------------------------------------------------


def test_hostile_corpus_stays_under_500_mb_above_idle(db: Path, tmp_path: Path) -> None:
    files = {
        "bomb.xlsx": ("problems", hostile.zip_bomb()),
        "million.xlsx": ("problems", hostile.many_rows()),
        "million-nodim.xlsx": ("problems", hostile.many_rows(dimension=False)),
        "long.csv": ("problems", hostile.csv_long_field()),
        "cycle.xlsx": ("units", hostile.units_cycle("西城区", "新华街道")),
    }
    paths = []
    for name, (kind, data) in files.items():
        (tmp_path / name).write_bytes(data)
        paths.append((kind, tmp_path / name))
    before = sha(db)
    results = hostile.measure(db, paths)
    assert [r["file"] for r in results] == list(files)
    assert all(r["errors"] >= 1 for r in results)
    assert max(r["peak_above_idle_mb"] for r in results) < 500, results
    assert sha(db) == before
