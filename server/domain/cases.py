"""Cases (事项案卷): one matter disclosed in stages (a member's development) or registered in
advance so that its ad hoc disclosure is owed by a date (server.domain.obligations)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.domain import audit, catalogue, content
from server.domain.access import area_clause, area_in_scope
from server.domain.errors import ValidationFailed
from server.models import Area, CatalogueItem, DisclosureCase, Role, Timing, User

MAX_STAGES = 8  # stages a staged catalogue item may name


@dataclass(frozen=True)
class CaseRow:
    id: int
    area_id: int
    area_name: str
    title: str
    item_id: int
    item: str
    opened_on: dt.date
    closed: bool


def open_cases(session: Session, user: User) -> list[CaseRow]:
    """The cases not yet closed in the areas the user drafts for, newest first."""
    query = (
        select(DisclosureCase, Area.name)
        .join(Area, Area.id == DisclosureCase.area_id)
        .where(area_clause(user, [Role.editor]), DisclosureCase.closed_at.is_(None))
        .order_by(DisclosureCase.opened_on.desc(), DisclosureCase.id.desc())
    )
    return [
        CaseRow(c.id, c.area_id, name, c.title, c.catalogue_item_id, c.catalogue_item.title, c.opened_on, False)
        for c, name in session.execute(query)
    ]


def register(
    session: Session, user: User, area_id: int, item_id: int, title: str, opened_on: dt.date | None,
    now: dt.datetime,
) -> DisclosureCase:
    """Register a matter before it is disclosed (a large expense decided, a member's
    development started): from then on its first disclosure is owed by a date."""
    area = area_in_scope(session, user, area_id, Role.editor)
    item = session.get(CatalogueItem, item_id)
    if item is None or item.retired_at is not None or not catalogue.serves(item, area):
        raise ValidationFailed(f"请选择{area.name}公开目录中的目录项。", field="catalogue_item_id")
    if item.timing is Timing.regular:
        raise ValidationFailed("定期公开的事项按期次公开，不需要登记案卷。", field="catalogue_item_id")
    clean = content.clean_title(title, field="title")
    if opened_on is None:
        raise ValidationFailed("请填写事项的发生（开始）日期。", field="opened_on")
    if opened_on > now.date() + dt.timedelta(days=1):
        raise ValidationFailed("事项的发生日期不能晚于今天。", field="opened_on")
    case = DisclosureCase(
        area_id=area.id, catalogue_item_id=item.id, title=clean, opened_on=opened_on,
        opened_by_id=user.id, created_at=now,
    )
    session.add(case)
    session.flush()
    audit.record(
        session, user, "case.register", now, target=("case", case.id), area=area,
        before=None, after={"title": clean, "item": item.id, "opened_on": opened_on.isoformat()},
        detail={"title": clean},
    )
    return case
