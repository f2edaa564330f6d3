"""Cases (事项案卷): one matter disclosed in stages (a member's development) or registered in
advance so that its ad hoc disclosure is owed by a date (server.domain.obligations)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.domain import audit, catalogue, content
from server.domain.access import area_clause, area_in_scope, require
from server.domain.errors import Conflict, NotFound, ValidationFailed
from server.models import Area, CatalogueItem, Disclosure, DisclosureCase, Role, Timing, User
from signage_layouts import dates

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
    now: dt.datetime, zone: str = dates.DEFAULT_ZONE,
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
    if opened_on > dates.local_day(now, zone):
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


def stage_days(case: DisclosureCase) -> tuple[tuple[int, dt.date], ...]:
    """The recorded days of a case's later stages, as (stage, day), in stage order."""
    found = []
    for key, day in (case.stage_dates or {}).items():
        if key.isdigit():
            found.append((int(key), dt.date.fromisoformat(day)))
    return tuple(sorted(found))


def record_stage(
    session: Session, user: User, case_id: int, stage: int, day: dt.date | None, now: dt.datetime,
    zone: str = dates.DEFAULT_ZONE,
) -> DisclosureCase:
    """Record the day a later stage of a staged case happened (the branch meeting that made
    someone a 发展对象): the stage's disclosure is then due `deadline_days` after it. Only
    the next stage not yet disclosed, only once, never a day in the future."""
    case = session.scalar(
        select(DisclosureCase).join(Area, Area.id == DisclosureCase.area_id)
        .where(DisclosureCase.id == case_id, area_clause(user))
    )
    if case is None:
        raise NotFound("未找到该事项案卷。")
    area = session.get_one(Area, case.area_id)
    require(user, area, Role.editor)
    stages = case.catalogue_item.stages or []
    if case.catalogue_item.timing is not Timing.staged or not 0 < stage < len(stages):
        raise ValidationFailed("只能登记分阶段事项第二个及以后阶段的发生日期。", field="stage")
    met = {
        s for (s,) in session.execute(
            select(Disclosure.stage).where(Disclosure.case_id == case.id, Disclosure.slot.is_not(None))
        )
    }
    if stage in met:
        raise Conflict(f"“{stages[stage]}”阶段已经公开，不用再登记。", field="stage")
    if stage - 1 not in met:
        raise Conflict(f"请先公开上一阶段“{stages[stage - 1]}”。", field="stage")
    if str(stage) in (case.stage_dates or {}):
        raise Conflict(f"“{stages[stage]}”阶段的发生日期已经登记过了。", field="stage")
    if day is None:
        raise ValidationFailed("请填写这个阶段的发生日期。", field="day")
    if day > dates.local_day(now, zone):
        raise ValidationFailed("发生日期不能晚于今天。", field="day")
    if day < case.opened_on:
        raise ValidationFailed("发生日期不能早于事项开始的日期。", field="day")
    case.stage_dates = {**(case.stage_dates or {}), str(stage): day.isoformat()}
    session.flush()
    audit.record(
        session, user, "case.stage", now, target=("case", case.id), area=area,
        after={"stage": stage, "day": day.isoformat()}, detail={"title": case.title, "stage": stages[stage]},
    )
    return case
