"""Shared helpers for admin forms: local dates, area and catalogue choices, tables."""

from __future__ import annotations

import csv
import datetime as dt
import io
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy.orm import Session
from wtforms import SelectChoice

from server.domain.areas import offered_areas
from server.domain.errors import ValidationFailed
from server.models import CATALOGUE_KINDS, CatalogueItem, Role, User
from signage_layouts import dates


def local_zone() -> str:
    """The township's zone (SUNWALL_TIMEZONE): dates typed and shown in the admin pages."""
    return str(current_app.config["TIMEZONE"])


def local_tz() -> ZoneInfo:
    return dates.zone_info(local_zone())


def local_midnight(day: dt.date) -> dt.datetime:
    return dates.day_start(day, local_zone())


def local_day_end(day: dt.date) -> dt.datetime:
    return dates.day_end(day, local_zone())


def local_date(value: dt.datetime | None) -> dt.date | None:
    return dates.local_day(value, local_zone()) if value else None


def local_last_day(end: dt.datetime | None) -> dt.date | None:
    """The last day of a period ending at `end` (exclusive), as the form shows it."""
    return dates.last_day(end, local_zone()) if end else None


def choices(pairs: list[tuple[str, str]]) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in pairs]


def area_choices(session: Session, user: User, role: Role) -> list[SelectChoice]:
    """Areas offered for new content: in scope, not retired, in tree order (domain.areas)."""
    return [SelectChoice(a.id, "　" * depth + a.name) for a, depth in offered_areas(session, user, role)]


def catalogue_choices(session: Session, user: User | None = None, keep: int | None = None) -> list[SelectChoice]:
    """The live catalogue items an editor may draft for, grouped by organisation type and
    category: with `user`, only the catalogues of the kinds of areas they may draft in.
    `keep` (an existing draft's item) stays offered even when retired since."""
    from server.domain import catalogue

    kinds = [k for k in CATALOGUE_KINDS
             if user is None or k in {a.kind for a, _depth in offered_areas(session, user, Role.editor)}]
    items = [i for kind in kinds for i in catalogue.live_items(session, kind)]
    if keep is not None and keep not in {i.id for i in items}:
        kept = session.get(CatalogueItem, keep)
        items += [kept] if kept is not None else []
    many = len({i.category.org_kind for i in items}) > 1
    return [
        SelectChoice(
            item.id,
            item.title + ("（党内）" if item.scope.value == "internal" else ""),
            optgroup=(f"{catalogue.KIND_LABELS[item.category.org_kind]} · " if many else "") + item.category.name,
        )
        for item in items
    ]


def parse_table_text(text: str) -> dict[str, list]:
    """A table pasted from a spreadsheet (tabs) or typed as CSV; first line is the header."""
    text = (text or "").strip()
    if not text:
        raise ValidationFailed("表格不能为空：第一行是表头，每行一条记录。", field="table")
    delimiter = "\t" if "\t" in text.splitlines()[0] else ","
    rows = [r for r in csv.reader(io.StringIO(text), delimiter=delimiter) if any(c.strip() for c in r)]
    return {"columns": rows[0], "rows": rows[1:]}


def table_to_text(table: dict | None) -> str:
    if not table:
        return ""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(table["columns"])
    writer.writerows(table["rows"])
    return out.getvalue()
