"""Hostile ledgers (issue 18): built programmatically, and measured with `python3 -m bench.hostile`.

Each file is refused by `importer.prepare_import`; the script runs each in a fresh process
and prints the time to the refusal, the peak memory above the process's idle size, the
first Chinese message and whether the database file is byte-identical afterwards.

    zip_bomb        a ~1 MB .xlsx whose sheet unpacks to ~1 GB of whitespace in one cell
    million_rows    a 1,048,575-row sheet written straight into the zip (no openpyxl)
    csv_long_field  a CSV with one 1 MB field
    units_cycle     a units file that makes a district the child of its own street
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import struct
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

import openpyxl

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PROBLEM_HEADER = [
    "序号", "问题编号", "发现日期", "问题来源", "点位名称", "属地单位", "责任单位",
    "问题描述", "整改时限", "整改状态", "整改完成日期",
]  # fmt: skip

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    "</Types>"
)
_ROOT_RELS = (
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    f'<Relationship Id="rId1" Type="{REL_NS}/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>"
)
_WORKBOOK = (
    f'<workbook xmlns="{MAIN_NS}" xmlns:r="{REL_NS}"><sheets>'
    '<sheet name="台账" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_WORKBOOK_RELS = (
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    f'<Relationship Id="rId1" Type="{REL_NS}/worksheet" Target="worksheets/sheet1.xml"/>'
    "</Relationships>"
)


def _column(index: int) -> str:
    return openpyxl.utils.get_column_letter(index)


def _text_cell(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


def _head_rows() -> str:
    """Title row, 填报 line and the problems header (rows 1–3), as a clerk's ledger has."""
    cells = "".join(_text_cell(f"{_column(i)}3", h) for i, h in enumerate(PROBLEM_HEADER, 1))
    return (
        f'<row r="1">{_text_cell("A1", "临江市创文问题整改台账")}</row>'
        f'<row r="2">{_text_cell("A2", "填报单位：东城区　日期：2026年5月22日")}</row>'
        f'<row r="3">{cells}</row>'
    )


def _deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush()


def _zip(parts: list[tuple[str, bytes, int, int]]) -> bytes:
    """A zip of already deflated parts: (name, deflated bytes, crc32, unpacked size)."""
    out = io.BytesIO()
    central = []
    for name, packed, crc, size in parts:
        offset = out.tell()
        encoded = name.encode()
        out.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0x21, crc,
                              len(packed), size, len(encoded), 0))  # fmt: skip
        out.write(encoded)
        out.write(packed)
        entry = struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0x21, crc,
                            len(packed), size, len(encoded), 0, 0, 0, 0, 0, offset)  # fmt: skip
        central.append(entry + encoded)
    start = out.tell()
    for entry in central:
        out.write(entry)
    out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(central), len(central),
                          out.tell() - start, start, 0))  # fmt: skip
    return out.getvalue()


def _part(name: str, data: bytes) -> tuple[str, bytes, int, int]:
    return (name, _deflate(data), zlib.crc32(data), len(data))


def xlsx_from_sheet(
    sheet: tuple[str, bytes, int, int], *extra: tuple[str, bytes, int, int]
) -> bytes:
    """A one-sheet workbook around a prepared worksheet part (and any extra parts)."""
    return _zip(
        [
            _part("[Content_Types].xml", _CONTENT_TYPES.encode()),
            _part("_rels/.rels", _ROOT_RELS.encode()),
            _part("xl/workbook.xml", _WORKBOOK.encode()),
            _part("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS.encode()),
            sheet,
            *extra,
        ]
    )


def zip_bomb(whitespace: int = 1 << 30) -> bytes:
    """A ~1 MB .xlsx: a ledger header and one row whose 问题描述 holds `whitespace` spaces.

    Deflate output after a full flush does not depend on what came before, so one
    compressed megabyte of spaces is repeated instead of compressing a gigabyte.
    """
    chunk = 1 << 20
    head = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="{MAIN_NS}">'
        f'<dimension ref="A1:K4"/><sheetData>{_head_rows()}<row r="4">'
        + _text_cell("A4", "1")
        + _text_cell("B4", "WT-001")
        + '<c r="H4" t="inlineStr"><is><t xml:space="preserve">'
    ).encode()
    tail = b"</t></is></c></row></sheetData></worksheet>"
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = compressor.compress(head) + compressor.flush(zlib.Z_FULL_FLUSH)
    spaces = b" " * chunk
    piece = compressor.compress(spaces) + compressor.flush(zlib.Z_FULL_FLUSH)
    again = compressor.compress(spaces) + compressor.flush(zlib.Z_FULL_FLUSH)
    assert piece == again, "deflate output after a full flush should repeat"
    last = compressor.compress(tail) + compressor.flush()
    count = whitespace // chunk
    crc = zlib.crc32(head)
    for _ in range(count):
        crc = zlib.crc32(spaces, crc)
    crc = zlib.crc32(tail, crc)
    packed = first + piece * count + last
    size = len(head) + chunk * count + len(tail)
    return xlsx_from_sheet(("xl/worksheets/sheet1.xml", packed, crc, size))


def many_rows(rows: int = 1_048_575, *, dimension: bool = True, step: int = 1) -> bytes:
    """A problems sheet with a real header and `rows` rows in all, the data rows identical
    (问题编号 only). step > 1 numbers the rows sparsely (r = 4, 4 + step, …)."""
    last = 4 + (rows - 4) * step
    body = [
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="{MAIN_NS}">'
        + (f'<dimension ref="A1:K{last}"/>' if dimension else "")
        + f"<sheetData>{_head_rows()}"
    ]
    body.extend(
        f'<row r="{r}"><c r="B{r}" t="inlineStr"><is><t>WT-1</t></is></c></row>'
        for r in range(4, last + 1, step)
    )
    body.append("</sheetData></worksheet>")
    data = "".join(body).encode()
    return xlsx_from_sheet(_part("xl/worksheets/sheet1.xml", data))


def csv_long_field(size: int = 1 << 20) -> bytes:
    """A problems CSV whose second data row has a `size`-character 问题描述."""
    good = "1,WT-001,2026-05-20,暗访,,和平街道,市住建局,杂物堆放,2026-05-27,整改中,"
    long = f"2,WT-002,2026-05-20,暗访,,和平街道,市住建局,{'脏' * size},2026-05-27,整改中,"
    return "\r\n".join([",".join(PROBLEM_HEADER), good, long, ""]).encode("utf-8")


def units_cycle(district: str, street: str) -> bytes:
    """A units file making `district` the child of `street`, which lies under it."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["单位名称", "单位类型", "上级单位"])
    ws.append([district, "区", street])
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


# --- measuring ------------------------------------------------------------------------

CHILD = """
import gc, json, sys, time
from pathlib import Path
from dashboard import importer

def status_kb(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1])

db = sys.argv[1]
for arg in sys.argv[2:]:
    kind, path = arg.split("=", 1)
    gc.collect()
    with open("/proc/self/clear_refs", "w") as reset:  # the peak (VmHWM) starts again here
        reset.write("5")
    idle = status_kb("VmRSS")
    start = time.perf_counter()
    plan = importer.prepare_import(db, Path(path).read_bytes(), Path(path).name, kind)
    importer.apply_import(db, plan, "压力测试")
    seconds = time.perf_counter() - start
    peak = status_kb("VmHWM")
    print(json.dumps({"file": Path(path).name, "seconds": seconds, "idle_mb": idle / 1024,
                      "peak_above_idle_mb": (peak - idle) / 1024, "errors": plan.error_count,
                      "message": plan.errors[0].message if plan.errors else None},
                     ensure_ascii=False), flush=True)
"""


def measure(db: Path, files: list[tuple[str, Path]]) -> list[dict]:
    """Prepare (and log the rejection of) each (kind, file) in one fresh process: the time
    to the verdict and the peak resident memory above the process's size just before it
    (Linux: /proc/self/clear_refs resets VmHWM, which a child's getrusage would not)."""
    repo = Path(__file__).resolve().parent.parent
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(db), *(f"{kind}={path}" for kind, path in files)],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(repo)},
    )
    return [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]


def _demo_db(directory: Path) -> tuple[Path, str, str]:
    """A small generated city, and one district with one of its streets."""
    import duckdb

    from dashboard import demo

    path = directory / "city.duckdb"
    if not path.exists():
        demo.generate(path, scale=0.25)
    con = duckdb.connect(str(path), read_only=True)
    try:
        district, street = con.execute(
            "select d.name, s.name from units d join units s on s.parent_id = d.unit_id"
            " where d.kind = 'district' and s.kind = 'street' order by d.unit_id, s.unit_id limit 1"
        ).fetchone()
    finally:
        con.close()
    return path, district, street


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m bench.hostile", description=__doc__)
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "hostile")
    args = parser.parse_args(argv)
    args.dir.mkdir(parents=True, exist_ok=True)
    db, district, street = _demo_db(args.dir)
    files = {
        "zip_bomb": ("problems", "bomb.xlsx", zip_bomb),
        "million_rows": ("problems", "million.xlsx", many_rows),
        "million_rows_no_dimension": (
            "problems",
            "million-nodim.xlsx",
            lambda: many_rows(dimension=False),
        ),
        "csv_long_field": ("problems", "long.csv", csv_long_field),
        "units_cycle": ("units", "cycle.xlsx", lambda: units_cycle(district, street)),
    }
    paths = []
    for kind, file_name, build in files.values():
        path = args.dir / file_name
        path.write_bytes(build())
        paths.append((kind, path))
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    for name, result in zip(files, measure(db, paths), strict=True):
        size = (args.dir / result["file"]).stat().st_size / 1048576
        print(
            f"{name:26} {size:6.2f} MB  {result['seconds']:6.2f} s  "
            f"peak +{result['peak_above_idle_mb']:6.1f} MB (idle {result['idle_mb']:.0f} MB)  "
            f"{result['message']}"
        )
    same = hashlib.sha256(db.read_bytes()).hexdigest() == before
    print(f"database byte-identical after all refusals: {same}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
