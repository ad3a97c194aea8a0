"""Reading units' ledgers: file sniffing, CSV/xlsx to rows, header finding, cell parsing."""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import posixpath
import re
import unicodedata
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from xml.etree import ElementTree

import openpyxl

MAX_HEADER_ROW = 6  # the header is searched for in rows 1..6
BLANK_RUN_LIMIT = 1000  # stop reading after this many consecutive blank rows
MAX_COLUMNS = 200  # cells right of this column are never read: no ledger is that wide
# An .xlsx is a zip: its parts are checked before anything is unpacked or parsed, so a
# small file that unpacks to gigabytes (a zip bomb, a sheet of whitespace) is refused
# from the sizes the archive declares (Python's zipfile never unpacks past them).
MAX_XLSX_UNPACKED = 256 * 1024 * 1024  # all parts together; a 200,000-row ledger is ~120 MB
MAX_XLSX_RATIO = 100  # unpacked ÷ packed of one part; real sheets pack 5–30 times
RATIO_CHECKED_FROM = 8 * 1024 * 1024  # parts smaller than this may pack as well as they like
SHEET_ROW_SLACK = 10_000  # rows a sheet may hold beyond the data-row limit (titles, blank rows)
PER_RULE_ERRORS = 50  # errors listed per rule and column; the rest are counted
TOTAL_ERRORS = 500  # errors listed in all
EXCEL_EPOCH = dt.date(1899, 12, 30)
SERIAL_RANGE = (32874, 73051)  # 1990-01-01 .. 2099-12-31 as Excel serials
YEAR_RANGE = (2000, 2099)
TOTAL_WORDS = ("合计", "总计", "小计")
FOOTER_WORDS = (
    "填表人",
    "制表人",
    "审核人",
    "负责人",
    "联系人",
    "联系电话",
    "备注",
    "说明",
    "注：",
    "注:",
)
EXAMPLE_WORDS = ("示例", "例")


@dataclass(frozen=True)
class LedgerError:
    """One problem found in an uploaded file, located as the clerk sees it in Excel."""

    file_name: str
    rule: str
    sheet: str | None = None
    row: int | None = None  # 1-based row number in the sheet, title rows included
    column: str | None = None  # the column's Chinese header as written in the file
    value: str | None = None

    @property
    def message(self) -> str:
        if self.row is None and self.column is None:
            return self.rule
        if self.row is None:
            return f"「{self.column}」：{self.rule}"
        if self.column is None:
            return f"第 {self.row} 行：{self.rule}"
        if self.value is None:
            return f"第 {self.row} 行「{self.column}」：{self.rule}"
        if self.value == "":
            return f"第 {self.row} 行「{self.column}」为空：{self.rule}"
        return f'第 {self.row} 行「{self.column}」值 "{self.value}"：{self.rule}'


_NUMBERS = re.compile(r"\d+")


class ErrorList(list):
    """The errors of one import, capped so a million bad rows cost a few hundred entries.

    At most PER_RULE_ERRORS errors of one rule in one column (numbers in the rule, such as
    the row of a duplicate, do not make another rule) and TOTAL_ERRORS in all are listed;
    each rule with more gets one line 「另有 N 行同类错误」, kept up to date as they come,
    and errors past the total that belong to no listed rule share one line. `total` counts
    every error reported.
    """

    def __init__(self) -> None:
        super().__init__()
        self.total = 0
        self._listed = 0
        self._per_rule: dict[tuple, int] = {}
        self._more: dict[tuple | None, tuple[int, int]] = {}  # rule -> (index, count)

    def append(self, error: LedgerError) -> None:  # type: ignore[override]
        self.total += 1
        rule: tuple | None = (error.sheet, error.column, _NUMBERS.sub("#", error.rule))
        if self._listed < TOTAL_ERRORS and self._per_rule.get(rule, 0) < PER_RULE_ERRORS:
            self._per_rule[rule] = self._per_rule.get(rule, 0) + 1
            self._listed += 1
            super().append(error)
            return
        if rule not in self._per_rule:  # a rule first met past the total
            rule = None
        index, count = self._more.get(rule, (len(self), 0))
        count += 1
        if rule is None:
            line = LedgerError(
                error.file_name, f"另有 {count:,} 处错误未列出（只列出前 {TOTAL_ERRORS} 处）"
            )
        else:
            line = LedgerError(
                error.file_name, f"另有 {count:,} 行同类错误（{error.rule}）", error.sheet,
                column=error.column,
            )  # fmt: skip
        if index == len(self):
            super().append(line)
        else:
            self[index] = line
        self._more[rule] = (index, count)

    def extend(self, errors: Iterable[LedgerError]) -> None:  # type: ignore[override]
        for error in errors:
            self.append(error)


class CellError(ValueError):
    """A cell value that does not parse; the message is the Chinese rule."""


@dataclass
class Sheet:
    """The raw cell values of one sheet (or a CSV file), row 1 first."""

    name: str
    rows: list[list[object]]
    formula_cells: set[tuple[int, int]] = field(default_factory=set)  # (row, col) 1-based


class FileRefused(Exception):
    """The file as a whole cannot be read; the message is Chinese (and row, where known)."""

    def __init__(self, message: str, row: int | None = None) -> None:
        super().__init__(message)
        self.row = row


# --- text -----------------------------------------------------------------------------


def nfkc(text: str) -> str:
    """Full-width digits, letters and spaces to their plain forms; trimmed."""
    return unicodedata.normalize("NFKC", text).replace("\u3000", " ").strip()


def is_blank(value: object) -> bool:
    if value is None:
        return True
    if not isinstance(value, str):
        return False
    if not value.strip():
        return True
    return not value.isascii() and nfkc(value) == ""


def trimmed(values: Iterable[object]) -> list[object]:
    """A row as kept: blank cells (whitespace included) as None, no blank cells at its end,
    nothing right of MAX_COLUMNS — so a sheet padded with whitespace costs no memory."""
    row = [None if is_blank(v) else v for v in itertools.islice(values, MAX_COLUMNS)]
    while row and row[-1] is None:
        row.pop()
    return row


def collect_rows(source: Iterable[Iterable[object]], row_limit: int) -> list[list[object]]:
    """Rows read one at a time; stops BLANK_RUN_LIMIT blank rows after the last filled one
    or once row_limit filled rows are passed (the caller then reports the limit)."""
    rows: list[list[object]] = []
    blank_run = 0
    filled = 0
    for values in source:
        row = trimmed(values)
        if row:
            blank_run = 0
            filled += 1
        else:
            blank_run += 1
            if blank_run > BLANK_RUN_LIMIT:
                break
        rows.append(row)
        if filled > row_limit:
            break
    while rows and not rows[-1]:
        rows.pop()
    return rows


def display(value: object) -> str:
    """A cell value as the clerk would recognise it in an error message."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ", timespec="minutes")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value)
    return text if len(text) <= 60 else text[:57] + "…"


def normalise_header(value: object) -> str:
    """Header text without spaces, line breaks, required-marks and bracketed notes."""
    if value is None:
        return ""
    text = nfkc(str(value))
    text = re.sub(r"[（(【\[].*?[)）】\]]", "", text)
    return re.sub(r"[\s*＊:：]", "", text)


# --- file sniffing and decoding -----------------------------------------------------

_BINARY_MAGIC = {
    b"\x89PNG": "PNG 图片",
    b"\xff\xd8\xff": "JPEG 图片",
    b"GIF8": "GIF 图片",
    b"%PDF": "PDF 文档",
    b"Rar!": "RAR 压缩包",
    b"7z\xbc\xaf": "7z 压缩包",
    b"MZ": "可执行程序",
    b"\x1f\x8b": "gzip 压缩包",
}


def sniff(data: bytes, file_name: str) -> str:
    """'xlsx' or 'csv', or raise FileRefused with the reason in Chinese."""
    if not data or not data.strip(b" \t\r\n\x00\xef\xbb\xbf\xff\xfe"):
        raise FileRefused("文件是空的")
    lower = file_name.lower()
    if data.startswith(b"PK\x03\x04"):
        try:
            names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
        except zipfile.BadZipFile as exc:
            raise FileRefused("文件已损坏，无法按 Excel（.xlsx）格式读取") from exc
        if "xl/workbook.xml" not in names:
            raise FileRefused("文件是压缩包，不是 Excel（.xlsx）文件")
        return "xlsx"
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise FileRefused(
            "不支持旧版 Excel（.xls）或加密的文件，请在 Excel 中另存为 .xlsx 后再导入"
        )
    for magic, what in _BINARY_MAGIC.items():
        if data.startswith(magic):
            raise FileRefused(
                f"文件内容不是 Excel 或 CSV 表格（看起来是{what}），请检查是否选错了文件"
            )
    if lower.endswith((".xlsx", ".xlsm")):
        raise FileRefused(
            "文件扩展名是 .xlsx，但内容不是 Excel 文件（可能是改了扩展名），请用 Excel 另存为 .xlsx"
        )
    if lower.endswith((".csv", ".txt")):
        return "csv"
    raise FileRefused("只支持 Excel（.xlsx）和 CSV（.csv）文件")


def decode_text(data: bytes) -> str:
    """Decode a CSV from UTF-8 (with or without BOM), UTF-16 (BOM or not) or GBK/GB18030."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    head = data[:4000]
    if b"\x00" in head:
        # UTF-16 without a BOM: ASCII characters leave a zero byte beside them.
        even_zeros = head[0::2].count(b"\x00")
        odd_zeros = head[1::2].count(b"\x00")
        try:
            return data.decode("utf-16-le" if odd_zeros >= even_zeros else "utf-16-be")
        except UnicodeDecodeError as exc:
            raise FileRefused("文件含有二进制内容，不是 CSV 文本文件") from exc
    for encoding in ("utf-8", "gb18030"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "\x00" in text:
            break
        return text
    raise FileRefused("无法识别 CSV 文件的编码，请另存为「CSV UTF-8（逗号分隔）」后再导入")


def read_csv(data: bytes, file_name: str, row_limit: int) -> list[Sheet]:
    text = decode_text(data)
    sample = text[:4000]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",\t;")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = ","
    reader = csv.reader(_csv_lines(text), delimiter=delimiter)
    return [Sheet(name=file_name, rows=collect_rows(_csv_rows(reader), row_limit))]


MAX_CSV_LINE = 2_000_000  # characters; the reader holds a line's every field at once


def _csv_lines(text: str) -> Iterator[str]:
    for number, line in enumerate(io.StringIO(text), start=1):
        if len(line) > MAX_CSV_LINE:
            raise FileRefused(
                f"这一行有 {len(line):,} 个字符，超过 {MAX_CSV_LINE:,} 个字符的上限，无法读取",
                row=number,
            )
        yield line


def _csv_rows(reader: Iterator[list[str]]) -> Iterator[list[str]]:
    """The reader's rows; a row it cannot read is refused in Chinese, naming the line."""
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            line = reader.line_num  # type: ignore[attr-defined]
            if "field larger than field limit" in str(exc):
                raise FileRefused(
                    f"有单元格内容超过 {csv.field_size_limit():,} 个字符，无法读取"
                    "（单元格最多 500 个字；请检查这一行是否有未配对的引号或误粘贴的内容）",
                    row=line,
                ) from exc
            raise FileRefused(
                "这一行无法按 CSV 格式读取，请用 Excel 打开后另存为「CSV UTF-8（逗号分隔）」",
                row=line,
            ) from exc
        yield row


def check_archive(zf: zipfile.ZipFile) -> None:
    """Refuse an .xlsx whose parts unpack too large or pack suspiciously well, from the
    sizes the archive declares, before any part is unpacked."""
    parts = zf.infolist()
    unpacked = sum(p.file_size for p in parts)
    if unpacked > MAX_XLSX_UNPACKED:
        raise FileRefused(
            f"Excel 文件解压后有 {unpacked / 1048576:,.0f} MB，超过上限 "
            f"{MAX_XLSX_UNPACKED // 1048576} MB（文件中可能有大量空白单元格或隐藏内容）。"
            "请只复制台账的数据区域到新工作簿，另存为 .xlsx 后再导入"
        )
    for part in parts:
        ratio = part.file_size / max(part.compress_size, 1)
        if part.file_size > RATIO_CHECKED_FROM and ratio > MAX_XLSX_RATIO:
            raise FileRefused(
                f"Excel 文件的压缩比异常（有一部分解压后是压缩时的 {ratio:,.0f} 倍，"
                f"正常表格不超过 {MAX_XLSX_RATIO} 倍），可能含有大量空白或是恶意构造的文件，"
                "已拒绝读取。请只复制台账的数据区域到新工作簿，另存为 .xlsx 后再导入"
            )


_DIMENSION = re.compile(rb"<(?:\w+:)?dimension\s+ref=\"[A-Z]*\d*:?[A-Z]*(\d+)\"")
_ROW_NUMBER = re.compile(rb"<(?:\w+:)?row\s[^>]*?\br=\"(\d+)\"")
# Tags are counted with bytes.count (a regex over 100 MB takes seconds): "<c" also counts
# the few <col>/<cfRule> of a sheet, an upper bound is all that is needed. A prefixed tag
# (<x:row …>, written by a few tools) is counted by what follows its colon.
_ROW_TAGS = (b"<row", b":row ")
_CELL_TAGS = (b"<c", b":c ")
_STRING_TAGS = (b"<si", b":si ")
_FORMULA_TAGS = (b"<f", b":f>", b":f ")  # "<f" also meets <firstHeader>: a needless pass
_SCAN_TAIL = 256  # bytes carried to the next chunk when a chunk has no tag end
MAX_CELLS_PER_ROW = 16384  # Excel's columns; openpyxl parses every cell of a row at once
MAX_SHARED_STRINGS = 2_000_000  # openpyxl holds them all; a 200,000-row ledger has < 1 M


def _count(data: bytes, tags: tuple[bytes, ...]) -> int:
    return sum(data.count(tag) for tag in tags)


def _cells(data: bytes) -> int:
    return _count(data, _CELL_TAGS)


@dataclass(frozen=True)
class SheetScan:
    """What a part's XML holds, found without parsing it: rows (declared in <dimension>,
    present, and the last row number), the most cells in one row, shared strings, formulas."""

    declared_rows: int | None  # from <dimension ref="A1:K200">, which may be missing or wrong
    row_elements: int
    last_row: int
    has_formulas: bool
    widest_row: int = 0
    shared_strings: int = 0

    @property
    def rows(self) -> int:
        return max(self.declared_rows or 0, self.row_elements, self.last_row)


def _sheet_parts(zf: zipfile.ZipFile) -> dict[str, str]:
    """Sheet title -> its part in the archive, from xl/workbook.xml and its relationships
    (small parts, sizes already checked); used to name a sheet in a refusal."""
    main = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
    rel = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
    try:
        rels = ElementTree.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
        book = ElementTree.fromstring(zf.read("xl/workbook.xml"))
    except (KeyError, ElementTree.ParseError, zipfile.BadZipFile, OSError, EOFError):
        return {}
    targets = {r.get("Id"): r.get("Target") or "" for r in rels}
    parts = {}
    for sheet in book.iter(f"{main}sheet"):
        target = targets.get(sheet.get(f"{rel}id"), "")
        path = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
        if target and posixpath.normpath(path) in zf.NameToInfo:
            parts[sheet.get("name") or ""] = posixpath.normpath(path)
    return parts


def scan_sheet(source: io.BufferedIOBase) -> SheetScan:
    """Stream a part's XML in 1 MB chunks, each cut after its last tag end (memory stays
    flat), counting rows, shared strings, formula tags and the cells of rows that span
    chunks (a row inside one chunk has at most ~65,000 cells, which openpyxl parses in
    ~25 MB; a row of millions is what has to be caught)."""
    declared: int | None = None
    elements = last_row = widest = in_row = strings = 0
    formulas = False
    carry = b""
    first = True
    while True:
        chunk = source.read(1 << 20)
        buffer = carry + chunk
        if not buffer:
            break
        cut = buffer.rfind(b">") + 1 if chunk else len(buffer)
        if cut == 0:  # a megabyte of text without a tag: keep only what a tag could need
            cut = max(len(buffer) - _SCAN_TAIL, 0)
        body, carry = buffer[:cut], buffer[cut:]
        if first:
            found = _DIMENSION.search(body)
            declared = int(found.group(1)) if found else None
            first = False
        formulas = formulas or any(tag in body for tag in _FORMULA_TAGS)
        strings += _count(body, _STRING_TAGS)
        elements += _count(body, _ROW_TAGS)
        firsts = [i for i in (body.find(tag) for tag in _ROW_TAGS) if i >= 0]
        if firsts:
            in_row += _cells(body[: min(firsts)])  # the end of the row the last chunk began
            widest = max(widest, in_row)
            last = max(body.rfind(tag) for tag in _ROW_TAGS)
            last = body.rfind(b"<", 0, last + 1)
            found = _ROW_NUMBER.match(body, last)
            last_row = max(last_row, int(found.group(1))) if found else last_row
            in_row = _cells(body[last:])
        else:
            in_row += _cells(body)
        widest = max(widest, in_row)
        if not chunk:
            break
    return SheetScan(declared, elements, last_row, formulas, widest, strings)


def _within(title: str, scan: SheetScan, row_limit: int) -> SheetScan:
    """The scan, or FileRefused when its part holds more than a ledger can."""
    where = f"工作表「{title}」" if title else "文件中的一个工作表"
    if scan.rows > row_limit + SHEET_ROW_SLACK:
        raise FileRefused(
            f"{where}有 {scan.rows:,} 行，超过每次导入 {row_limit:,} 行的上限"
            "（空行和带格式的行也算在内），请删除多余的行或工作表，或拆分后分批导入"
        )
    if scan.widest_row > MAX_CELLS_PER_ROW:
        raise FileRefused(
            f"{where}有一行含 {scan.widest_row:,} 个单元格，超过 Excel 的 {MAX_CELLS_PER_ROW:,} 列，"
            "不是正常的表格，已拒绝读取"
        )
    if scan.shared_strings > MAX_SHARED_STRINGS:
        raise FileRefused(
            f"Excel 文件含 {scan.shared_strings:,} 个不同的文字，超过上限 {MAX_SHARED_STRINGS:,}，"
            "请只复制台账的数据区域到新工作簿，另存为 .xlsx 后再导入"
        )
    return scan


class Workbook:
    """An uploaded .xlsx: sheet names, the first rows of each, and full reads on demand.

    The archive is checked (check_archive) before openpyxl opens it; a sheet is read in
    openpyxl's read-only mode one row at a time, after scan_sheet has counted its rows.
    """

    def __init__(self, data: bytes, row_limit: int) -> None:
        self._data = data
        try:
            self._zip = zipfile.ZipFile(io.BytesIO(data))
        except zipfile.BadZipFile as exc:
            raise FileRefused("文件已损坏，无法按 Excel（.xlsx）格式读取") from exc
        check_archive(self._zip)
        # Every part is scanned before openpyxl opens the book (opening parses a sheet
        # without a <dimension> to its end: 12 s for a million rows), whatever its name.
        titles = {part: title for title, part in _sheet_parts(self._zip).items()}
        self._scans = {}
        for info in self._zip.infolist():
            title = titles.get(info.filename, "")
            scan = _within(title, self._scan(info.filename), row_limit)
            if title:
                self._scans[title] = scan
        try:
            self._wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds on a broken file
            raise FileRefused(
                "Excel 文件已损坏或加密，无法读取，请在 Excel 中另存为 .xlsx 后再导入"
            ) from exc
        self.sheet_names: list[str] = list(self._wb.sheetnames)

    def head(self, name: str, rows: int = MAX_HEADER_ROW) -> list[list[object]]:
        ws = self._wb[name]
        ws.reset_dimensions()
        return [trimmed(r) for r in ws.iter_rows(min_row=1, max_row=rows, values_only=True)]

    def _scan(self, part: str) -> SheetScan:
        try:
            with self._zip.open(part) as source:
                return scan_sheet(source)
        except (KeyError, zipfile.BadZipFile, OSError, EOFError) as exc:  # CRC, zlib, no part
            raise FileRefused(
                "Excel 文件已损坏，无法读取，请在 Excel 中另存为 .xlsx 后再导入"
            ) from exc

    def read(self, name: str, row_limit: int) -> Sheet:
        """All rows of one sheet, streamed (its size was checked when the book was opened)."""
        scan = self._scans.get(name) or _within(
            name, self._scan(self._wb[name]._worksheet_path), row_limit
        )
        ws = self._wb[name]
        ws.reset_dimensions()
        try:
            rows = collect_rows(ws.iter_rows(values_only=True), row_limit)
        except Exception as exc:  # openpyxl raises many kinds on a broken sheet
            raise FileRefused(
                f"工作表「{name}」已损坏，无法读取，请在 Excel 中另存为 .xlsx 后再导入"
            ) from exc
        sheet = Sheet(name=name, rows=rows)
        if scan.has_formulas:
            sheet.formula_cells = self._formulas(name, len(rows))
        return sheet

    def _formulas(self, name: str, max_row: int) -> set[tuple[int, int]]:
        wb = openpyxl.load_workbook(io.BytesIO(self._data), read_only=True, data_only=False)
        try:
            ws = wb[name]
            ws.reset_dimensions()
            found = set()
            for r, values in enumerate(ws.iter_rows(max_row=max_row, values_only=True), start=1):
                for c, value in enumerate(values[:MAX_COLUMNS], start=1):
                    if isinstance(value, str) and value.startswith("="):
                        found.add((r, c))
            return found
        finally:
            wb.close()

    def close(self) -> None:
        self._wb.close()
        self._zip.close()


# --- header finding ------------------------------------------------------------------


def find_header(
    rows: list[list[object]], known: dict[str, str]
) -> tuple[int, dict[int, tuple[str, str]]] | None:
    """The 1-based row among the first MAX_HEADER_ROW whose cells match the most known headers.

    known maps a normalised header text (label or alias) to its field. Returns the row
    number and {column index: (field, header as written)}; None if no row matches any.
    """
    best: tuple[int, dict[int, tuple[str, str]]] | None = None
    for number, row in enumerate(rows[:MAX_HEADER_ROW], start=1):
        matched: dict[int, tuple[str, str]] = {}
        for col, cell in enumerate(row):
            key = normalise_header(cell)
            if key in known:
                matched[col] = (known[key], nfkc(str(cell)).replace("\n", ""))
        fields = {f for f, _ in matched.values()}
        if fields and (best is None or len(fields) > len({f for f, _ in best[1].values()})):
            best = (number, matched)
    return best


def is_skippable(row: list[object], seq_col: int | None) -> bool:
    """Blank rows, 合计/总计 rows, signature footers and template example rows."""
    filled = [nfkc(str(v)) for v in row if not is_blank(v)]
    if not filled:
        return True
    first = filled[0].replace(" ", "")
    if first.startswith(TOTAL_WORDS):
        return True
    if first.startswith(FOOTER_WORDS) and len(filled) <= 3:
        return True
    return (
        seq_col is not None
        and seq_col < len(row)
        and not is_blank(row[seq_col])
        and nfkc(str(row[seq_col])).replace(" ", "") in EXAMPLE_WORDS
    )


REPORT_DATE = re.compile(
    r"(?:填报|统计|报送|截至|截止)?(?:日期|时间)?[:：]?\s*(\d{4}\s*[年./-]\s*\d{1,2}\s*[月./-]\s*\d{1,2}\s*日?)"
)


def report_date(rows: Iterable[list[object]]) -> dt.date | None:
    """The date on a 填报单位/日期 line above the header, if any."""
    for row in rows:
        for cell in row:
            if isinstance(cell, dt.datetime):
                return cell.date()
            if isinstance(cell, str) and ("日期" in cell or "截至" in cell or "时间" in cell):
                match = REPORT_DATE.search(nfkc(cell))
                if match:
                    try:
                        return parse_date(match.group(1))
                    except CellError:
                        return None
    return None


# --- cell parsing -------------------------------------------------------------------

_DATE_TEXT = re.compile(
    r"(\d{4})\s*[年./\-]\s*(\d{1,2})\s*[月./\-]\s*(\d{1,2})\s*[日号]?(?:\s+\d{1,2}:\d{2}(?::\d{2})?)?"
)
_DATE_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})")


def _check_year(day: dt.date) -> dt.date:
    if not YEAR_RANGE[0] <= day.year <= YEAR_RANGE[1]:
        raise CellError("日期超出合理范围（2000—2099 年）")
    return day


def parse_date(value: object) -> dt.date:
    if isinstance(value, dt.datetime):
        return _check_year(value.date())
    if isinstance(value, dt.date):
        return _check_year(value)
    if isinstance(value, bool):
        raise CellError("不是有效日期")
    if isinstance(value, int | float):
        if float(value).is_integer() and SERIAL_RANGE[0] <= value <= SERIAL_RANGE[1]:
            return EXCEL_EPOCH + dt.timedelta(days=int(value))
        raise CellError("不是有效日期")
    text = nfkc(str(value))
    match = _DATE_TEXT.fullmatch(text) or _DATE_COMPACT.fullmatch(text)
    if match:
        year, month, day = (int(g) for g in match.groups())
        try:
            day_found = dt.date(year, month, day)
        except ValueError as exc:
            raise CellError("不是有效日期") from exc
        return _check_year(day_found)
    if re.fullmatch(r"\d{5}(\.0+)?", text):
        return parse_date(float(text))
    raise CellError("不是有效日期（应写作 2026-05-22 或 2026年5月22日）")


def _number_text(value: object) -> str:
    text = nfkc(str(value)).replace(",", "").replace("，", "").replace(" ", "")
    return text


def parse_number(value: object) -> float:
    if isinstance(value, bool):
        raise CellError("不是数字")
    if isinstance(value, int | float):
        return float(value)
    text = _number_text(value)
    if text.endswith("%"):
        try:
            return float(text[:-1])
        except ValueError as exc:
            raise CellError("不是数字") from exc
    try:
        return float(text)
    except ValueError as exc:
        raise CellError("不是数字") from exc


def parse_int(value: object) -> int:
    if isinstance(value, bool):
        raise CellError("不是整数")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if value.is_integer():
            return int(value)
        raise CellError("不是整数")
    text = _number_text(value)
    text = re.sub(r"(个|件|户|项|份|人|家)$", "", text)
    try:
        number = float(text)
    except ValueError as exc:
        raise CellError("不是整数") from exc
    if not number.is_integer():
        raise CellError("不是整数")
    return int(number)


def parse_rate(value: object) -> float:
    """A rate in percent (0..100): "85%", 0.85 and 85 all give 85.0."""
    if isinstance(value, bool):
        raise CellError("不是有效的比率")
    text = _number_text(value) if isinstance(value, str) else None
    try:
        if text is not None and text.endswith("%"):
            rate = float(text[:-1])
        else:
            number = float(text) if text is not None else float(value)  # type: ignore[arg-type]
            rate = number * 100 if 0 <= number <= 1 else number
    except ValueError as exc:
        raise CellError("不是有效的比率（应写作 85% 或 0.85）") from exc
    if not 0 <= rate <= 100:
        raise CellError("比率应在 0%—100% 之间")
    return round(rate, 6)


TRUE_WORDS = {"是", "y", "yes", "true", "1", "√", "✓", "有", "对"}
FALSE_WORDS = {"否", "n", "no", "false", "0", "×", "✗", "无", "不是"}


def parse_bool(
    value: object, extra_true: tuple[str, ...] = (), extra_false: tuple[str, ...] = ()
) -> bool:
    if isinstance(value, bool):
        return value
    text = nfkc(str(value)).lower().replace(" ", "")
    if isinstance(value, float) and value.is_integer():
        text = str(int(value))
    if text in TRUE_WORDS or text in extra_true:
        return True
    if text in FALSE_WORDS or text in extra_false:
        return False
    words = "「是」或「否」" + "".join(f"、「{w}」" for w in extra_true + extra_false)
    raise CellError(f"应填写{words}")


def parse_text(value: object, max_length: int = 500) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime | dt.date):
        return display(value)
    text = re.sub(r"\s+", " ", nfkc(str(value)))
    if len(text) > max_length:
        raise CellError(f"超过 {max_length} 个字")
    return text


def parse_enum(value: object, labels: dict[str, str], aliases: dict[str, str]) -> str:
    text = nfkc(str(value)).replace(" ", "")
    for code, label in labels.items():
        if text in (code, label.replace(" ", "")):
            return code
    if text in aliases:
        return aliases[text]
    raise CellError("不是可选值，应为：" + "、".join(labels.values()))


# --- names -------------------------------------------------------------------------
# Unit names are matched by dashboard.unit_match (the one matcher); indicator, point,
# campaign and assessment names are compared in this compact form.


def compact(name: str) -> str:
    return re.sub(r"\s+", "", nfkc(name))
