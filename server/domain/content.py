"""User-authored content: Markdown to sanitised HTML, tables, and content hashes.

Everything a user types is either escaped by the templates or passed through nh3 here;
nothing user-written is ever treated as a template.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import markdown
import nh3

from server.domain.errors import ValidationFailed
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
    """Markdown (headings, lists, bold, tables) to sanitised, masked HTML; h1 becomes h2."""
    html = markdown.markdown(mask_markdown(source), extensions=["tables", "sane_lists"], output_format="html")
    html = html.replace("<h1>", "<h2>").replace("</h1>", "</h2>")
    return sanitise_html(html)


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
    """Validate a {"columns": [...], "rows": [[...]]} table and mask personal numbers."""
    if not isinstance(table, dict):
        raise ValidationFailed("表格格式应为 {columns, rows}。", field="table")
    columns, rows = table.get("columns"), table.get("rows")
    if not isinstance(columns, list) or not columns or len(columns) > MAX_COLUMNS:
        raise ValidationFailed(f"表格需要 1–{MAX_COLUMNS} 列。", field="table.columns")
    if not isinstance(rows, list) or len(rows) > MAX_ROWS:
        raise ValidationFailed(f"表格最多 {MAX_ROWS} 行。", field="table.rows")
    clean_cols = [_cell(c, "table.columns") for c in columns]
    clean_rows = []
    for n, row in enumerate(rows, start=1):
        if not isinstance(row, list) or len(row) != len(clean_cols):
            raise ValidationFailed(
                f"第 {n} 行应有 {len(clean_cols)} 个单元格。", field="table.rows", row=n
            )
        clean_rows.append([mask_text(_cell(c, "table.rows")) for c in row])
    return {"columns": clean_cols, "rows": clean_rows}


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
