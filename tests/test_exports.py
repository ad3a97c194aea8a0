"""Every export the app offers, built from poisoned data and read back: no cell can run.

A cell is dangerous when a spreadsheet would read it as a formula or DDE command: text that
starts with = + - @ tab or CR. Real negative numbers are numbers, not text, and stay so.
"""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

import duckdb
import openpyxl
import pytest
from docx import Document

from dashboard import db, export, store
from tests.tiny import AS_OF

INJECTIONS = [
    '=HYPERLINK("http://evil.example","点我")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]
DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


@pytest.fixture(scope="module")
def poisoned_db(tiny_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("poisoned") / "poisoned.duckdb"
    shutil.copyfile(tiny_db, path)  # the session's tiny snapshot, poisoned below

    def poison(con: duckdb.DuckDBPyConnection) -> None:
        con.execute("update units set name = $n where unit_id = 4", {"n": INJECTIONS[0]})
        con.execute("update units set name = $n where unit_id = 13", {"n": INJECTIONS[1]})
        con.execute("update units set name = $n where unit_id = 6", {"n": INJECTIONS[3]})
        con.execute("update problems set description = $d, category = $c",
                    {"d": INJECTIONS[2], "c": INJECTIONS[4]})  # fmt: skip

    store.write_snapshot(path, poison, base=path)
    return path


@pytest.fixture()
def use_poisoned(poisoned_db: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(db.ENV_VAR, str(poisoned_db))
    yield poisoned_db
    db._cached.clear()


def test_neutralise_rules() -> None:
    for text in INJECTIONS:
        assert export.neutralise(text) == "'" + text
    assert export.neutralise("-12.5") == "-12.5"
    assert export.neutralise(-3) == -3
    assert export.neutralise("和平街道") == "和平街道"


def xlsx_cells(data: bytes) -> list[object]:
    book = openpyxl.load_workbook(io.BytesIO(data))
    return [c.value for ws in book.worksheets for row in ws.iter_rows() for c in row]


def assert_inert(values: list[object], where: str) -> None:
    texts = [v for v in values if isinstance(v, str)]
    bad = [v for v in texts if v.startswith(DANGEROUS)]
    assert not bad, f"{where}: live formula-like cells {bad[:5]}"
    assert any(v.startswith("'") and v[1:].startswith(DANGEROUS) for v in texts), (
        f"{where}: the poisoned names never reached the export (test would prove nothing)"
    )


def test_ranking_export(use_poisoned: Path) -> None:
    from dashboard import rankings

    metric = rankings.METRIC_BY_KEY["rectification_rate"]
    frame = rankings.ranking("rectification_rate", 1, "street", AS_OF)
    data = rankings.ranking_xlsx(frame, metric, ["排名", "数据截至 2026-06-10"])
    assert_inert(xlsx_cells(data), "ranking xlsx")


def test_flag_export(use_poisoned: Path) -> None:
    from dashboard import flag_export, flags

    data = flag_export.duban_workbook(flags.evaluate(1, AS_OF), "临江市", AS_OF)
    assert_inert(xlsx_cells(data), "督办 xlsx")


def test_bulletin_exports(use_poisoned: Path) -> None:
    import datetime as dt

    from dashboard import bulletin

    week_end = dt.date(2026, 6, 7)
    assert_inert(xlsx_cells(bulletin.build_xlsx(1, week_end)), "bulletin xlsx")
    document = Document(io.BytesIO(bulletin.build_docx(1, week_end)))
    cells = [c.text for t in document.tables for row in t.rows for c in row.cells]
    assert_inert(cells, "bulletin docx tables")


def test_import_error_csv(use_poisoned: Path, tmp_path: Path) -> None:
    from dashboard import importer

    rows = "序号,问题编号,发现日期,问题来源,属地单位,责任单位,问题描述,严重程度,整改时限,整改状态\n"
    rows += f'1,X1,2026-06-01,暗访,"{INJECTIONS[0].replace(chr(34), chr(34) * 2)}",@evil,d,一般,2026-06-08,整改中\n'
    plan = importer.prepare_import(use_poisoned, rows.encode("utf-8-sig"), "ledger.csv", "problems")
    assert plan.errors
    text = importer.errors_as_csv(plan.errors).decode("utf-8-sig")
    values = [v for row in csv.reader(io.StringIO(text)) for v in row]
    assert_inert(values, "import errors csv")
