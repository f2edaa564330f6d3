"""Pre-publish scanner: no unmasked resident ID, bank card or mobile number goes to review.

Submission (`disclosures.submit`) calls `refuse_unmasked`, which reads the version as the
reviewer would see it — title, body as typed, every table cell (header too), every
attachment's name and extracted text — with the one definition of a personal number
(`masking.find`), and refuses with every place named ("正文第 3 行", "表格第 5 行“身份证号”列",
"附件“名单.pdf”第 2 页") and the number half-hidden: the refusal itself never repeats a
whole number. Numbers an admin allowed for the area or an area above it
(server.domain.numbers) pass. Render-time masking of bodies stays as a second line.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.domain import numbers
from server.domain.errors import ValidationFailed
from server.domain.masking import KIND_LABELS, find, mask_text
from server.models import Area, Attachment, DisclosureVersion

MAX_LISTED = 20  # places named in the message; the details carry them all


@dataclass(frozen=True)
class Place:
    """One unmasked number: where it is (for people), what it is and how it is shown."""

    field: str  # "title" | "body" | "table" | "attachments"
    where: str  # 标题 / 正文第 3 行 / 表格第 5 行“身份证号”列 / 附件“名单.pdf”第 2 页
    kind: str  # masking.KINDS
    shown: str  # the number half-hidden (its masked form)

    def describe(self) -> str:
        return f"{self.where}：{KIND_LABELS[self.kind]} {self.shown}"

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "where": self.where, "kind": self.kind, "shown": self.shown,
                "message": self.describe()}


def _places(text: str, allowed: set[str], field: str, where: str) -> list[Place]:
    return [
        Place(field, where, f.kind, f.masked)
        for f in find(text)
        if numbers.national(f.digits) not in allowed
    ]


def text_places(title: str, body: str, allowed: set[str]) -> list[Place]:
    found = _places(title, allowed, "title", "标题")
    for n, line in enumerate(body.split("\n"), start=1):
        found += _places(line, allowed, "body", f"正文第 {n} 行")
    return found


def table_places(table: dict[str, Any] | None, allowed: set[str]) -> list[Place]:
    """Cells of a table ({"columns", "rows"}) holding an unmasked number, row by row."""
    if not table:
        return []
    columns = [str(c) for c in table.get("columns") or []]
    names = [mask_text(c) or f"第 {i + 1} 列" for i, c in enumerate(columns)]
    found: list[Place] = []
    for i, column in enumerate(columns):
        found += _places(column, allowed, "table", f"表格表头第 {i + 1} 列")
    for n, row in enumerate(table.get("rows") or [], start=1):
        for i, cell in enumerate(row):
            if cell:
                name = names[i] if i < len(names) else f"第 {i + 1} 列"
                found += _places(str(cell), allowed, "table", f"表格第 {n} 行“{name}”列")
    return found


def attachment_places(session: Session, listed: Iterable[dict[str, Any]], allowed: set[str]) -> list[Place]:
    """Attachment names and their extracted text (a PDF's pages are separated by form feeds)."""
    listed = list(listed or [])
    shas = [str(a.get("sha256", "")) for a in listed]
    stored = {a.sha256: a for a in session.scalars(select(Attachment).where(Attachment.sha256.in_(shas)))}
    found: list[Place] = []
    for entry, sha in zip(listed, shas, strict=True):
        attachment = stored.get(sha)
        name = str(entry.get("name") or (attachment.filename if attachment else "") or sha[:12])
        shown_name = mask_text(name)
        found += _places(name, allowed, "attachments", f"附件名“{shown_name}”")
        if attachment is None or not attachment.text:
            continue
        pages = attachment.text.split("\f")
        for p, page in enumerate(pages, start=1):
            where = f"附件“{shown_name}”第 {p} 页" if len(pages) > 1 else f"附件“{shown_name}”"
            found += _places(page, allowed, "attachments", where)
    return found


def findings(session: Session, area: Area, version: DisclosureVersion) -> list[Place]:
    """Every unmasked, not allowed personal number in a version, in reading order."""
    allowed = numbers.allowed_digits(session, area)
    return [
        *text_places(version.title or "", version.body_source or "", allowed),
        *table_places(version.table, allowed),
        *attachment_places(session, version.attachments or [], allowed),
    ]


def refusal(places: list[Place]) -> ValidationFailed:
    listed = "；".join(p.describe() for p in places[:MAX_LISTED])
    more = f"；另有 {len(places) - MAX_LISTED} 处" if len(places) > MAX_LISTED else ""
    return ValidationFailed(
        f"不能提交：有 {len(places)} 处未打码的个人号码（{listed}{more}）。"
        "请删除或打码（表格可在“从 Excel/CSV 导入表格”时勾选要打码的列）；"
        "如果是本单位对外公开的办事电话，请管理员把它加入“允许公开的号码”。",
        field=places[0].field,
        places=[p.as_dict() for p in places],
    )


def refuse_unmasked(session: Session, area: Area, version: DisclosureVersion) -> None:
    """Raise ValidationFailed naming every place that holds an unmasked personal number."""
    places = findings(session, area, version)
    if places:
        raise refusal(places)
