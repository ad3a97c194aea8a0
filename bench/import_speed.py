"""Benchmark: prepare + apply of a realistic 10,000-row problem ledger (python bench/import_speed.py)."""

from __future__ import annotations

import argparse
import io
import random
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import openpyxl

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dashboard import importer, store  # noqa: E402

CHARS = "东南西北中和平安康乐富强民主文明和谐自由公正法治爱国敬业诚信友善"
STREETS = [f"{CHARS[i]}{CHARS[(i * 7 + 3) % len(CHARS)]}街道" for i in range(len(CHARS))]
DEPARTMENTS = [
    f"市{name}局" for name in ("住建", "城管", "公安", "交通", "卫健", "教育", "文旅", "商务")
]
SOURCES = ["暗访", "督查", "模拟测评", "曝光", "群众反映"]
STATUS = ["整改中", "已整改", "已销号"]


def build_db(path: Path) -> None:
    def fill(con: duckdb.DuckDBPyConnection) -> None:
        con.execute("insert into units values (1, '临江市', 'city', null, 0, null)")
        con.execute("insert into units values (50, '东城区', 'district', 1, 0, null)")
        for i, name in enumerate(STREETS, start=2):
            con.execute(
                "insert into units values ($id, $name, 'street', 50, $id, null)",
                {"id": i, "name": name},
            )
        for i, name in enumerate(DEPARTMENTS, start=100):
            con.execute(
                "insert into units values ($id, $name, 'department', 1, $id, null)",
                {"id": i, "name": name},
            )

    store.write_snapshot(path, fill)


def build_ledger(rows: int, seed: int = 7) -> bytes:
    rng = random.Random(seed)
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("问题整改台账")
    ws.append(["临江市创文问题整改台账"])
    ws.append(["填报单位：临江市创文办", None, None, None, None, None, "填报日期：2026年5月22日"])
    ws.append(["序号", "问题编号", "发现日期", "问题来源", "属地单位", "责任单位", "问题描述",
               "问题等级", "整改时限", "整改状态", "整改完成日期"])  # fmt: skip
    for n in range(1, rows + 1):
        day = rng.randint(1, 20)
        status = rng.choice(STATUS)
        done = f"2026年5月{day + rng.randint(0, 2)}日" if status != "整改中" else None
        street = rng.choice(STREETS)
        ws.append([
            n, f"LJ-2026-{n:05}", f"2026年5月{day}日", rng.choice(SOURCES),
            ("东城区" if n % 3 == 0 else "") + street + ("办事处" if n % 5 == 0 else ""),
            rng.choice(DEPARTMENTS).removeprefix("市" if n % 4 == 0 else ""),
            "乱堆乱放", rng.choice(["一般", "较重", "严重"]), f"2026.5.{day + 7}", status, done,
        ])  # fmt: skip
    ws.append(["合计", None, None, None, None, None, None, None, None, None, None])
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.duckdb"
        build_db(db)
        ledger = build_ledger(args.rows)
        start = time.perf_counter()
        plan = importer.prepare_import(db, ledger, "问题整改台账.xlsx", "problems")
        prepared = time.perf_counter()
        if plan.errors:
            raise SystemExit("\n".join(e.message for e in plan.errors[:10]))
        result = importer.apply_import(db, plan, "bench")
        applied = time.perf_counter()
        again = importer.prepare_import(db, ledger, "问题整改台账.xlsx", "problems")
        reprepared = time.perf_counter()
    print(f"ledger: {args.rows} rows, {len(ledger) / 1024:.0f} KB")
    print(f"prepare (read + validate + diff): {prepared - start:.2f} s")
    print(f"apply (snapshot + write + swap):  {applied - prepared:.2f} s")
    print(f"total first import:               {applied - start:.2f} s ({result.added} added)")
    print(
        f"re-import prepare (no changes):   {reprepared - applied:.2f} s ({again.unchanged} unchanged)"
    )


if __name__ == "__main__":
    main()
