"""User-authored content: Markdown to sanitised HTML, tables, and content hashes.

Everything a user types is either escaped by the templates or passed through nh3 here;
nothing user-written is ever treated as a template.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

import markdown
import nh3

from server.domain.errors import ValidationFailed
from server.domain.masking import find as find_numbers
from server.domain.masking import mask_markdown, mask_text

ALLOWED_TAGS = {
    "h2", "h3", "h4", "p", "br", "hr", "strong", "b", "em", "i", "u", "ul", "ol", "li",
    "table", "thead", "tbody", "tr", "th", "td", "blockquote", "span",
}
ALLOWED_ATTRS: dict[str, set[str]] = {"th": {"colspan", "rowspan"}, "td": {"colspan", "rowspan"}}

MAX_TITLE = 120
MAX_BODY = 20_000
MAX_COLUMNS = 12
MAX_ROWS = 500
MAX_CELL = 200


def sanitise_html(html: str) -> str:
    return nh3.clean(html, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRS, url_schemes=set())


def render_markdown(source: str) -> str:
    """The body as office staff typed it, to sanitised, masked HTML.

    Markdown's habits that surprise people who never learnt it are smoothed first: a list,
    heading or table may start on the line right after text (`_blocks_apart`), and a single
    line break stays a line break (nl2br: signature and date lines). Blank lines still
    separate paragraphs; h1 becomes h2."""
    html = markdown.markdown(
        _blocks_apart(mask_markdown(source)),
        extensions=["tables", "sane_lists", "nl2br"],
        output_format="html",
    )
    html = html.replace("<h1>", "<h2>").replace("</h1>", "</h2>")
    return sanitise_html(html)


_BLOCK_STARTS = (
    ("bullet", re.compile(r"[ ]{0,3}[-*+][ \t]+\S")),
    ("numbered", re.compile(r"[ ]{0,3}\d+\.[ \t]+\S")),
    ("heading", re.compile(r"[ ]{0,3}#{1,6}[ \t]")),
    ("table", re.compile(r"[ ]{0,3}\|")),
)


def _line_kind(line: str) -> str:
    """Which block a line belongs to: a list item, heading or table row, an indented
    continuation of the line above, a blank, or plain text."""
    if not line.strip():
        return "blank"
    for kind, pattern in _BLOCK_STARTS:
        if pattern.match(line):
            return kind
    return "indented" if line.startswith((" ", "\t")) else "text"


def _blocks_apart(source: str) -> str:
    """A blank line wherever one kind of block follows another without one, so that
    "说明\n- 第一项" is a paragraph and a list, and "- 第二项\n以上" ends the list."""
    out: list[str] = []
    previous = "blank"
    for line in source.split("\n"):
        kind = _line_kind(line)
        if kind not in ("blank", "indented") and previous not in ("blank", kind):
            out.append("")
        out.append(line)
        if kind != "indented":  # an indented line continues the block above it
            previous = kind
    return "\n".join(out)


def clean_title(title: str, field: str = "title") -> str:
    title = " ".join((title or "").split())
    if not title:
        raise ValidationFailed("标题不能为空。", field=field)
    if len(title) > MAX_TITLE:
        raise ValidationFailed(f"标题最多 {MAX_TITLE} 个字，现在有 {len(title)} 个。", field=field)
    return title


def clean_body(source: str) -> str:
    source = (source or "").replace("\r\n", "\n").strip()
    if len(source) > MAX_BODY:
        raise ValidationFailed(f"正文最多 {MAX_BODY} 个字，现在有 {len(source)} 个。", field="body")
    return source


def clean_table(table: Any) -> dict[str, list[Any]]:
    """Validate a {"columns": [...], "rows": [[...]], "masked": [column indexes]} table.

    Cells of the masked columns are masked here, when saved (`mask_cell`); other cells are
    kept as written: an unmasked personal number in them stops the submission
    (server.domain.scanner), which names the cell. `align` is computed: a column of
    numbers and amounts is right-aligned on boards, phones and paper."""
    if not isinstance(table, dict):
        raise ValidationFailed("表格格式应为 {columns, rows}。", field="table")
    columns, rows = table.get("columns"), table.get("rows")
    if not isinstance(columns, list) or not columns or len(columns) > MAX_COLUMNS:
        raise ValidationFailed(f"表格需要 1–{MAX_COLUMNS} 列。", field="table.columns")
    if not isinstance(rows, list) or len(rows) > MAX_ROWS:
        raise ValidationFailed(f"表格最多 {MAX_ROWS} 行。", field="table.rows")
    clean_cols = [_cell(c, "table.columns") for c in columns]
    masked = _masked_columns(table.get("masked"), len(clean_cols))
    clean_rows = []
    for n, row in enumerate(rows, start=1):
        if not isinstance(row, list) or len(row) != len(clean_cols):
            raise ValidationFailed(
                f"第 {n} 行应有 {len(clean_cols)} 个单元格。", field="table.rows", row=n
            )
        cells = [_cell(c, "table.rows") for c in row]
        clean_rows.append([mask_cell(c) if i in masked else c for i, c in enumerate(cells)])
    return {
        "columns": clean_cols,
        "rows": clean_rows,
        "masked": masked,
        "align": column_alignment(clean_rows, len(clean_cols)),
    }


def _masked_columns(value: Any, width: int) -> list[int]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(type(i) is int and 0 <= i < width for i in value):
        raise ValidationFailed(f"要打码的列应是 0–{width - 1} 的列序号。", field="table.masked")
    return sorted(set(value))


def mask_cell(text: str) -> str:
    """A cell of a masked column: ID, card and mobile numbers masked as everywhere; any
    other text keeps its first character (张三丰 → 张**), so names and addresses can be
    masked too. Already-masked text (it has stars) is kept, so saving again changes nothing."""
    if not text:
        return text
    if find_numbers(text):
        return mask_text(text)
    if "*" in text:
        return text
    return text[0] + "*" * (len(text) - 1) if len(text) > 1 else "*"


# A number or amount as people write them in a table: -12, 1,234.50, 85%, ¥800, 3.5‰.
_AMOUNT = re.compile(r"[-+−]?[¥￥$]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?[%‰]?")


def column_alignment(rows: list[list[str]], width: int) -> list[str]:
    """"right" for a column whose non-empty cells are all numbers or amounts, else "left".
    Phone, ID and card numbers are not amounts: their columns stay left-aligned."""
    align = []
    for i in range(width):
        filled = [row[i] for row in rows if row[i]]
        amounts = filled and all(_AMOUNT.fullmatch(c) and not find_numbers(c) for c in filled)
        align.append("right" if amounts else "left")
    return align


def _cell(value: Any, field: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str | int | float):
        raise ValidationFailed("单元格只能是文字或数字。", field=field)
    text = str(value).strip()
    if len(text) > MAX_CELL:
        raise ValidationFailed(f"单元格最多 {MAX_CELL} 个字。", field=field)
    return text


def content_hash(payload: dict[str, Any]) -> str:
    canonical = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
