"""Reading units' ledgers: file sniffing, CSV/xlsx to rows, header finding, cell parsing."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import unicodedata
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field

import openpyxl

MAX_HEADER_ROW = 6  # the header is searched for in rows 1..6
BLANK_RUN_LIMIT = 1000  # stop reading after this many consecutive blank rows
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


class CellError(ValueError):
    """A cell value that does not parse; the message is the Chinese rule."""


@dataclass
class Sheet:
    """The raw cell values of one sheet (or a CSV file), row 1 first."""

    name: str
    rows: list[list[object]]
    formula_cells: set[tuple[int, int]] = field(default_factory=set)  # (row, col) 1-based


class FileRefused(Exception):
    """The file as a whole cannot be read; the message is Chinese."""


# --- text -----------------------------------------------------------------------------


def nfkc(text: str) -> str:
    """Full-width digits, letters and spaces to their plain forms; trimmed."""
    return unicodedata.normalize("NFKC", text).replace("\u3000", " ").strip()


def is_blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and nfkc(value) == "")


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


def read_csv(data: bytes, file_name: str) -> list[Sheet]:
    text = decode_text(data)
    sample = text[:4000]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",\t;")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = ","
    rows = [
        [None if cell == "" else cell for cell in row]
        for row in csv.reader(io.StringIO(text), delimiter=delimiter)
    ]
    return [Sheet(name=file_name, rows=rows)]


def _formula_sheets(data: bytes) -> bool:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        for name in zf.namelist():
            if name.startswith("xl/worksheets/") and name.endswith(".xml"):
                body = zf.read(name)
                if b"<f>" in body or b"<f " in body or b":f>" in body:
                    return True
    return False


class Workbook:
    """An uploaded .xlsx: sheet names, the first rows of each, and full reads on demand."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        try:
            self._wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds on a broken file
            raise FileRefused(
                "Excel 文件已损坏或加密，无法读取，请在 Excel 中另存为 .xlsx 后再导入"
            ) from exc
        self.sheet_names: list[str] = list(self._wb.sheetnames)
        self._has_formulas = _formula_sheets(data)

    def head(self, name: str, rows: int = MAX_HEADER_ROW) -> list[list[object]]:
        ws = self._wb[name]
        ws.reset_dimensions()
        return [list(r) for r in ws.iter_rows(min_row=1, max_row=rows, values_only=True)]

    def read(self, name: str, row_limit: int) -> Sheet:
        """All rows of one sheet; stops once row_limit non-blank rows are passed."""
        ws = self._wb[name]
        ws.reset_dimensions()
        rows: list[list[object]] = []
        blank_run = 0
        filled = 0
        for values in ws.iter_rows(values_only=True):
            row = list(values)
            if all(is_blank(v) for v in row):
                blank_run += 1
                if blank_run > BLANK_RUN_LIMIT:
                    break
            else:
                blank_run = 0
                filled += 1
            rows.append(row)
            if filled > row_limit:
                break
        while rows and all(is_blank(v) for v in rows[-1]):
            rows.pop()
        sheet = Sheet(name=name, rows=rows)
        if self._has_formulas:
            sheet.formula_cells = self._formulas(name, len(rows))
        return sheet

    def _formulas(self, name: str, max_row: int) -> set[tuple[int, int]]:
        wb = openpyxl.load_workbook(io.BytesIO(self._data), read_only=True, data_only=False)
        try:
            ws = wb[name]
            ws.reset_dimensions()
            found = set()
            for r, values in enumerate(ws.iter_rows(max_row=max_row, values_only=True), start=1):
                for c, value in enumerate(values, start=1):
                    if isinstance(value, str) and value.startswith("="):
                        found.add((r, c))
            return found
        finally:
            wb.close()

    def close(self) -> None:
        self._wb.close()


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
