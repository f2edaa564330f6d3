"""Tables from spreadsheet files: an uploaded CSV or XLSX read into columns and rows.

What office staff save from Excel or WPS is read as they see it on screen: CSV in UTF-8
(with or without a byte-order mark) or GB18030/GBK, separated by commas, semicolons or
tabs; the first sheet of an XLSX workbook, read streaming (openpyxl's read-only mode) so
that a 10,000-row file is refused after the first rows too many, not after loading it
all. The first non-empty row is the header; empty rows and trailing empty columns are
dropped; numbers come out as written (1,234.50 with its format, 85%, integers without
".0", dates as YYYY-MM-DD). A file that cannot become a table (not really CSV or XLSX,
corrupt, formulas, merged cells, too many rows or columns, a cell too long, empty, too
big) is refused with the file, row and cell named. Nothing here touches the database.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import warnings
from dataclasses import dataclass, field
from typing import Any

from server.domain import imports
from server.domain.content import MAX_CELL, MAX_COLUMNS, MAX_ROWS
from server.domain.errors import ValidationFailed

MAX_BYTES = imports.MAX_BYTES
MAX_PROBLEMS = 10  # a file with more is refused with the first ten named
DELIMITERS = (",", ";", "\t")
# Signatures of files people rename by mistake, to say what the file really is.
_SIGNATURES = (
    (b"\x89PNG", "PNG 图片"),
    (b"\xff\xd8\xff", "JPEG 图片"),
    (b"GIF8", "GIF 图片"),
    (b"%PDF", "PDF 文档"),
    (b"\xd0\xcf\x11\xe0", "旧版 Office 文件（.xls/.doc）"),
    (b"Rar!", "RAR 压缩包"),
    (b"7z\xbc\xaf", "7z 压缩包"),
)


@dataclass
class Table:
    """A spreadsheet's first table: header, rows (all as wide as the header) and the sheet."""

    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)
    sheet: str = ""

    def as_dict(self, masked: list[int] | None = None) -> dict[str, Any]:
        return {"columns": list(self.columns), "rows": [list(r) for r in self.rows], "masked": sorted(masked or [])}


class _Refused(Exception):
    """Stop reading: the problems so far are enough to refuse the file."""


class _Reading:
    """Rows as they come, with the problems found on the way (row numbers as in the file)."""

    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.problems: list[str] = []
        self.header: list[str] | None = None
        self.header_at = 0
        self.rows: list[list[str]] = []
        self.lines: int | None = None  # how many rows the file says it has, when it says so

    def problem(self, message: str) -> None:
        self.problems.append(message)
        if len(self.problems) >= MAX_PROBLEMS:
            raise _Refused

    def add(self, number: int, cells: list[str], where: Any) -> None:
        """One line of the file: `where(i)` names cell i ("C7", or "第 7 行第 3 列")."""
        for i, text in enumerate(cells):
            if len(text) > MAX_CELL:
                self.problem(f"{where(i)} 有 {len(text)} 个字，每格最多 {MAX_CELL} 个字。")
        while cells and not cells[-1]:
            cells = cells[:-1]
        if not cells:
            return
        if self.header is None:
            self.header, self.header_at = cells, number
            return
        self.rows.append(cells)
        if len(self.rows) > MAX_ROWS:
            size = (f"文件有 {self.lines} 行" if self.lines and self.lines >= number
                    else f"读到第 {number} 行时已超过 {MAX_ROWS} 行数据")
            self.problem(f"行数太多：{size}，一个表格最多 {MAX_ROWS} 行数据，请分成几个事项公开。")
            raise _Refused

    def table(self, sheet: str = "") -> Table:
        if self.header is None:
            self.problem("文件里没有内容（是空的）。")
            raise _Refused
        width = max([len(self.header), *(len(r) for r in self.rows)])
        if width > MAX_COLUMNS:
            self.problem(f"表格有 {width} 列，最多 {MAX_COLUMNS} 列，请删去不需要公开的列。")
        if not self.rows:
            self.problem(f"第 {self.header_at} 行是表头，下面没有数据行。")
        if self.problems:
            raise _Refused
        columns = [c or f"第 {i + 1} 列" for i, c in enumerate(self.header + [""] * (width - len(self.header)))]
        return Table(columns, [r + [""] * (width - len(r)) for r in self.rows], sheet)


def read(filename: str, data: bytes) -> Table:
    """The table in an uploaded CSV or XLSX file, or ValidationFailed naming what is wrong.

    The error's message starts with the file's name; `problems` lists each problem."""
    name = (filename or "").strip() or "上传的文件"
    reading = _Reading(name)
    try:
        table = _read(name, data, reading)
    except _Refused:
        table = None
    if table is None or reading.problems:
        problems = reading.problems or ["无法读取。"]
        more = f"（另有 {len(problems) - 1} 处问题，见下方列表）" if len(problems) > 1 else ""
        raise ValidationFailed(f"“{name}”：{problems[0]}{more}", field="file", problems=problems, filename=name)
    return table


def _read(name: str, data: bytes, reading: _Reading) -> Table:
    lower = name.lower()
    if not data:
        reading.problem("文件是空的。")
        raise _Refused
    if len(data) > MAX_BYTES:
        reading.problem(f"文件太大（{len(data) / 1048576:.1f} MB），上限 {MAX_BYTES // 1048576} MB。")
        raise _Refused
    if data.startswith(b"PK\x03\x04"):
        problem = imports.xlsx_problem(data)
        if problem is not None:
            reading.problem("是压缩包，不是 XLSX 表格：请用 Excel 或 WPS 打开表格后另存为 .xlsx。"
                            if problem == imports.NOT_XLSX else problem)
            raise _Refused
        return _read_xlsx(data, reading)
    for signature, what in _SIGNATURES:
        if data.startswith(signature):
            reading.problem(f"不是表格文件，而是{what}（可能只是改了扩展名）。请上传 .xlsx 或 .csv 文件。")
            raise _Refused
    if lower.endswith((".xlsx", ".xlsm")):
        reading.problem("不是真正的 XLSX 表格（可能只是改了扩展名或已损坏），请用 Excel 或 WPS 另存为 .xlsx。")
        raise _Refused
    if lower.endswith(".xls"):
        reading.problem("不支持旧版 .xls，请另存为 .xlsx 或 .csv。")
        raise _Refused
    return _read_csv(data, reading)


# -- CSV -----------------------------------------------------------------------------


def _delimiter(text: str) -> str:
    """Comma, semicolon or tab: the one splitting the first non-empty line into most cells."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    counts = {d: len(next(csv.reader([first], delimiter=d), [])) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] > 1 else ","


def _read_csv(data: bytes, reading: _Reading) -> Table:
    text = imports.decode_text(data)
    if text is None:
        reading.problem("不是 CSV 文本文件（可能是其他文件改了扩展名），或编码无法识别：请把 CSV 保存为 UTF-8 或 GB18030（GBK）编码。")
        raise _Refused
    reading.lines = len(text.splitlines())
    rows = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    try:
        for number, cells in enumerate(rows, start=1):
            cleaned = [_tidy(c) for c in cells]
            for i, value in enumerate(cleaned):
                if value.startswith("="):
                    reading.problem(f"第 {number} 行第 {i + 1} 列以“=”开头，像是公式：请在 Excel 里把公式“粘贴为数值”后再导出。")
            reading.add(number, cleaned, lambda i, n=number: f"第 {n} 行第 {i + 1} 列")
    except csv.Error as err:
        reading.problem(f"第 {rows.line_num} 行 CSV 格式有误（{err}；引号不成对？），请用 Excel 或 WPS 另存为 CSV。")
        raise _Refused from None
    return reading.table()


# -- XLSX ----------------------------------------------------------------------------

_MERGE = re.compile(rb'<(?:\w+:)?mergeCell\s+ref="([A-Z]+[0-9]+(?::[A-Z]+[0-9]+)?)"')
_NUMBER_FORMAT = re.compile(r"0(?:\.(0+))?")


def _merged_ranges(book: Any, sheet: Any) -> list[str]:
    """The merged ranges of a sheet opened read-only (which does not parse them itself)."""
    path = getattr(sheet, "_worksheet_path", None)
    archive = getattr(book, "_archive", None)
    if not path or archive is None:
        return []
    with archive.open(path) as fh:
        return [m.decode() for m in _MERGE.findall(fh.read())]


def _read_xlsx(data: bytes, reading: _Reading) -> Table:
    import openpyxl  # on use: slow to import, and only an upload needs it

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # styles and extensions openpyxl skips
            book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception:  # untrusted bytes: any failure to parse means a broken workbook
        reading.problem("XLSX 文件已损坏，无法打开。请用 Excel 或 WPS 打开后重新另存为 .xlsx。")
        raise _Refused from None
    try:
        sheet = next((s for s in book.worksheets if getattr(s, "sheet_state", "visible") == "visible"), None)
        if sheet is None:
            reading.problem("工作簿里没有工作表。")
            raise _Refused
        reading.lines = getattr(sheet, "max_row", None)  # from the sheet's <dimension>, not counted
        # Some writers put a wrong <dimension> in the sheet, and openpyxl would then read only
        # that far: read every row, trusting the dimension only for the "too many rows" message.
        sheet.reset_dimensions()
        for merged in _merged_ranges(book, sheet):
            reading.problem(f"工作表“{sheet.title}”有合并单元格 {merged}：请取消合并，每格填上自己的内容。")
        try:
            for cells in sheet.iter_rows():
                _xlsx_row(cells, reading)
        except _Refused:
            raise
        except Exception:  # a part of the workbook that does not parse
            reading.problem(f"工作表“{sheet.title}”已损坏，读到一半无法继续。请重新另存为 .xlsx。")
            raise _Refused from None
        return reading.table(sheet.title)
    finally:
        book.close()


def _xlsx_row(cells: tuple[Any, ...], reading: _Reading) -> None:
    texts: list[str] = []
    coordinates: list[str] = []
    number = 0
    for cell in cells:
        coordinate = getattr(cell, "coordinate", "")
        number = getattr(cell, "row", number) or number
        if getattr(cell, "data_type", None) == "f":
            formula = str(cell.value)[:40]
            reading.problem(f"单元格 {coordinate} 是公式（{formula}）：请复制后“选择性粘贴 → 数值”再导入。")
            texts.append("")
        else:
            texts.append(_xlsx_text(cell))
        coordinates.append(coordinate)
    reading.add(number, texts, lambda i: f"单元格 {coordinates[i]}" if coordinates[i] else f"第 {number} 行第 {i + 1} 列")


def _xlsx_text(cell: Any) -> str:
    value = getattr(cell, "value", None)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d") if value.time() == dt.time(0) else value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.strftime("%H:%M")
    if isinstance(value, int | float):
        return number_text(value, getattr(cell, "number_format", "General") or "General")
    return _tidy(str(value))


def number_text(value: float, number_format: str) -> str:
    """A number as the cell shows it: its format's decimals, thousands separator and percent
    sign; in the General format as typed (integers without ".0", no 1234.5000000001)."""
    fmt = number_format.split(";")[0]
    percent = "%" in fmt
    shown = value * 100 if percent else value
    decimals = _NUMBER_FORMAT.search(fmt.replace("#", "").replace(",", ""))
    if fmt != "General" and decimals is not None:
        places = len(decimals.group(1) or "")
        text = f"{shown:,.{places}f}" if "," in fmt else f"{shown:.{places}f}"
    else:
        text = _general(shown)
    return text + ("%" if percent else "")


def _general(value: float) -> str:
    if isinstance(value, int) or float(value).is_integer():
        return str(int(value))
    text = f"{value:.10g}"  # ten significant digits, as Excel's General format shows them
    if "e" in text:
        text = f"{value:.15f}".rstrip("0").rstrip(".")
    return text


def _tidy(text: str) -> str:
    """A cell's text on one line: line breaks inside a cell become spaces."""
    return " ".join(text.split()) if ("\n" in text or "\r" in text) else text.strip()
