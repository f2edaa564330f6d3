"""The disclosure catalogue (公开目录): per organisation type, categories and the items
each organisation must disclose, with scope, timing, forms and who answers for them.

An area of kind X uses the catalogue of kind X (`items_for`); a county has none. The
catalogue is install-wide, so only an admin granted at a county or township may change
it (`may_edit`). Every check of an item lives in `item_problems`, a pure function the
edit form, the API and the spreadsheet import (`catalogue_sheets`) all use. Items that
have disclosures are retired, never deleted; every change is audited.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session, selectinload

from server.domain import audit
from server.domain.errors import Conflict, Forbidden, NotFound, ValidationFailed
from server.domain.starting_catalogue import STARTING_CATALOGUE, Row
from server.domain.text import N_
from server.models import (
    Area,
    AreaKind,
    CatalogueCategory,
    CatalogueItem,
    Disclosure,
    DisclosureCase,
    Role,
    Scope,
    Timing,
    User,
)
from server.models.catalogue import CATALOGUE_KINDS, FORMS, Period

__all__ = ["STARTING_CATALOGUE", "items_for", "seed_catalogue", "serves"]

# The organisation types with a catalogue, as the admin pages name them.
KIND_LABELS = {
    AreaKind.village: N_("村"),
    AreaKind.community: N_("社区"),
    AreaKind.township: N_("乡镇机关"),
    AreaKind.department: N_("部门"),
    AreaKind.enterprise: N_("企业党组织"),
}
# 公开范围 as chosen on the form and written in the spreadsheet: "phased" is a public item
# with an internal phase first (先党内、后党外).
SCOPE_LABELS = {"internal": N_("党内"), "public": N_("社会公开"), "phased": N_("先党内后党外")}
TIMING_LABELS = {Timing.regular: N_("定期"), Timing.staged: N_("逐段"), Timing.ad_hoc: N_("随时")}
PERIOD_LABELS = {Period.monthly: N_("每月"), Period.quarterly: N_("每季度"), Period.yearly: N_("每年")}
FORM_LABELS = {"screen": N_("屏幕"), "board": N_("公开栏"), "meeting": N_("会议"), "document": N_("文件"), "website": N_("网站")}
# The name of each field, as errors and the spreadsheet's header row say it.
FIELD_LABELS = {
    "category": "分类",
    "title": "事项",
    "scope": "公开范围",
    "internal_days": "党内先行天数",
    "timing": "公开时限",
    "period": "周期",
    "stages": "阶段",
    "deadline_days": "期限天数",
    "forms": "公开形式",
    "responsible_department": "责任部门",
    "responsible_person": "责任人",
}

TITLE_MAX, NAME_MAX, PERSON_MAX, STAGE_MAX = 120, 64, 64, 32
INTERNAL_DAYS_MAX, DEADLINE_MIN, DEADLINE_MAX = 30, 1, 90
STAGES_MIN, STAGES_MAX = 2, 12
EDIT_KINDS = (AreaKind.county, AreaKind.township)  # where an admin grant may edit the catalogue


# -- reading --------------------------------------------------------------------------


def catalogue_kind(value: str) -> AreaKind:
    """The organisation type a URL or query names; NotFound for one without a catalogue."""
    for kind in CATALOGUE_KINDS:
        if kind.value == value:
            return kind
    raise NotFound("没有这种组织类型的公开目录。", field="org_kind")


def categories(session: Session, kind: AreaKind) -> list[CatalogueCategory]:
    """A kind's categories in catalogue order; each one's `items` (retired too) in order."""
    return list(session.scalars(
        select(CatalogueCategory).where(CatalogueCategory.org_kind == kind)
        .options(selectinload(CatalogueCategory.items))  # one query for every category's items
        .order_by(CatalogueCategory.position, CatalogueCategory.id)
    ))


def live_items(session: Session, kind: AreaKind) -> list[CatalogueItem]:
    """The items of a kind's catalogue that still take disclosures, in catalogue order."""
    return list(session.scalars(
        select(CatalogueItem).join(CatalogueItem.category)
        .where(CatalogueCategory.org_kind == kind, CatalogueItem.retired_at.is_(None))
        .order_by(CatalogueCategory.position, CatalogueCategory.id, CatalogueItem.position, CatalogueItem.id)
    ))


def serves(item: CatalogueItem, area: Area) -> bool:
    """Whether `item` belongs to the catalogue `area` drafts from (its organisation type's):
    the one answer for drafts, cases and `items_for`."""
    return item.category.org_kind is area.kind


def items_for(session: Session, area: Area) -> list[CatalogueItem]:
    """The live (not retired) items of the catalogue of the area's kind, in catalogue order
    (category position, item position). A county has no catalogue: none."""
    if area.kind not in CATALOGUE_KINDS:
        return []
    return live_items(session, area.kind)


def scope_choice(item: CatalogueItem) -> str:
    """"internal", "public" or "phased" (public with an internal phase first)."""
    if item.scope is Scope.internal:
        return "internal"
    return "phased" if item.internal_days > 0 else "public"


def in_use(session: Session, item_id: int) -> bool:
    """Whether any disclosure or case points at the item (then it can only be retired)."""
    return bool(session.scalar(select(
        exists().where(Disclosure.catalogue_item_id == item_id)
        | exists().where(DisclosureCase.catalogue_item_id == item_id)
    )))


def item_state(item: CatalogueItem) -> dict[str, Any]:
    """The item's fields, for the audit digest and the API."""
    return {
        "category": item.category.name if item.category else "", "title": item.title,
        "scope": item.scope.value, "internal_days": item.internal_days, "timing": item.timing.value,
        "period": item.period, "stages": list(item.stages or []), "deadline_days": item.deadline_days,
        "forms": item.form_list(), "responsible_department": item.responsible_department,
        "responsible_person": item.responsible_person, "position": item.position,
        "retired": item.retired_at is not None,
    }


# -- checking an item -----------------------------------------------------------------


@dataclass
class ItemInput:
    """One item as a form, the API or a spreadsheet row states it (before checking)."""

    title: str
    scope: str = "public"  # a key of SCOPE_LABELS
    internal_days: int = 0
    timing: str = "ad_hoc"  # a Timing value
    period: str = ""  # a Period value, regular items only
    stages: list[str] = field(default_factory=list)  # staged items only
    deadline_days: int = 7
    forms: list[str] = field(default_factory=lambda: ["screen"])
    responsible_department: str = ""
    responsible_person: str = ""

    @classmethod
    def of(cls, item: CatalogueItem) -> ItemInput:
        return cls(
            title=item.title, scope=scope_choice(item), internal_days=item.internal_days,
            timing=item.timing.value, period=item.period, stages=list(item.stages or []),
            deadline_days=item.deadline_days, forms=item.form_list(),
            responsible_department=item.responsible_department, responsible_person=item.responsible_person,
        )


def _tidy(data: ItemInput) -> ItemInput:
    return ItemInput(
        title=" ".join(data.title.split()), scope=data.scope, internal_days=data.internal_days,
        timing=data.timing, period=data.period.strip(),
        stages=[" ".join(s.split()) for s in data.stages if s.strip()],
        deadline_days=data.deadline_days, forms=[f.strip() for f in data.forms if f.strip()],
        responsible_department=" ".join(data.responsible_department.split()),
        responsible_person=" ".join(data.responsible_person.split()),
    )


def item_problems(data: ItemInput) -> list[tuple[str, str]]:
    """Every problem of an item as (field, message in Chinese naming the field); none when
    it is a valid item. Pure: the form, the API and the spreadsheet share it."""
    data = _tidy(data)
    problems: list[tuple[str, str]] = []

    def bad(name: str, message: str) -> None:
        problems.append((name, f"{FIELD_LABELS[name]}：{message}"))

    if not data.title:
        bad("title", "请填写事项名称。")
    elif len(data.title) > TITLE_MAX:
        bad("title", f"最多 {TITLE_MAX} 个字。")
    if data.scope not in SCOPE_LABELS:
        bad("scope", "应为 党内、社会公开 或 先党内后党外。")
    elif not 0 <= data.internal_days <= INTERNAL_DAYS_MAX:
        bad("internal_days", f"应为 0–{INTERNAL_DAYS_MAX} 天。")
    elif data.scope == "phased" and data.internal_days < 1:
        bad("internal_days", f"先党内后党外的事项要填党内先行几天（1–{INTERNAL_DAYS_MAX} 天）。")
    elif data.scope != "phased" and data.internal_days:
        bad("internal_days", "只有“先党内后党外”的事项才有党内先行天数；要先在党内公开，请把公开范围改为“先党内后党外”。")
    timing = next((t for t in Timing if t.value == data.timing), None)
    if timing is None:
        bad("timing", "应为 定期、逐段 或 随时。")
    if timing is Timing.regular:
        if data.period not in {p.value for p in Period}:
            bad("period", "定期公开的事项要选周期：每月、每季度 或 每年。")
    elif data.period:
        bad("period", "只有定期公开的事项才有周期。")
    if timing is Timing.staged:
        if len(data.stages) < STAGES_MIN:
            bad("stages", f"逐段公开的事项至少要有 {STAGES_MIN} 个阶段。")
        elif len(data.stages) > STAGES_MAX:
            bad("stages", f"最多 {STAGES_MAX} 个阶段。")
        long = [s for s in data.stages if len(s) > STAGE_MAX]
        twice = sorted({s for s in data.stages if data.stages.count(s) > 1})
        if long:
            bad("stages", f"阶段名称最多 {STAGE_MAX} 个字：“{long[0][:40]}”。")
        if twice:
            bad("stages", f"阶段“{'、'.join(twice)}”重复了。")
    elif data.stages:
        bad("stages", "只有逐段公开的事项才有阶段。")
    if not DEADLINE_MIN <= data.deadline_days <= DEADLINE_MAX:
        bad("deadline_days", f"应为 {DEADLINE_MIN}–{DEADLINE_MAX} 天。")
    unknown = [f for f in data.forms if f not in FORMS]
    if unknown:
        bad("forms", f"“{'、'.join(unknown)}”不认识，应为 屏幕、公开栏、会议、文件、网站 中的一种或几种。")
    elif not data.forms:
        bad("forms", "至少选一种公开形式。")
    if not data.responsible_department:
        bad("responsible_department", "请填写责任部门。")
    elif len(data.responsible_department) > NAME_MAX:
        bad("responsible_department", f"最多 {NAME_MAX} 个字。")
    if not data.responsible_person:
        bad("responsible_person", "请填写责任人（填职务即可，如“村党组织书记”）。")
    elif len(data.responsible_person) > PERSON_MAX:
        bad("responsible_person", f"最多 {PERSON_MAX} 个字。")
    return problems


def _refuse(problems: list[tuple[str, str]]) -> None:
    if problems:
        name, message = problems[0]
        raise ValidationFailed(message, field=name, problems=[{"field": f, "message": m} for f, m in problems])


def fill(item: CatalogueItem, data: ItemInput) -> None:
    """Copy a checked input onto an item."""
    data = _tidy(data)
    item.title = data.title
    item.scope = Scope.internal if data.scope == "internal" else Scope.public
    item.internal_days = data.internal_days if data.scope == "phased" else 0
    item.timing = Timing(data.timing)
    item.period = data.period if item.timing is Timing.regular else ""
    item.stages = list(data.stages) if item.timing is Timing.staged else []
    item.deadline_days = data.deadline_days
    item.forms = ",".join(f for f in FORMS if f in data.forms)  # in the one known order
    item.responsible_department = data.responsible_department
    item.responsible_person = data.responsible_person


# -- who may edit ---------------------------------------------------------------------


def editing_area(user: User) -> Area | None:
    """The highest county or township where the user is an admin (where catalogue changes
    are filed in the audit log), or None when the user may not edit the catalogue."""
    areas = [g.area for g in user.grants
             if g.role is Role.admin and g.area.kind in EDIT_KINDS and g.area.retired_at is None]
    return min(areas, key=lambda a: (a.path.count("/"), a.path)) if areas else None


def may_edit(user: User) -> bool:
    return editing_area(user) is not None


def _editor(user: User) -> Area:
    area = editing_area(user)
    if area is None:
        raise Forbidden("只有县级或乡镇管理员可以修改公开目录。")
    return area


def _category(session: Session, category_id: int) -> CatalogueCategory:
    category = session.get(CatalogueCategory, category_id)
    if category is None:
        raise NotFound("未找到该目录分类。", field="category_id")
    return category


def _item(session: Session, item_id: int) -> CatalogueItem:
    item = session.get(CatalogueItem, item_id)
    if item is None:
        raise NotFound("未找到该目录项。", field="item_id")
    return item


def title_taken(session: Session, kind: AreaKind, title: str, but: int | None = None) -> bool:
    """Whether a live item of the kind's catalogue already has this title."""
    query = (select(CatalogueItem.id).join(CatalogueItem.category)
             .where(CatalogueCategory.org_kind == kind, CatalogueItem.title == " ".join(title.split()),
                    CatalogueItem.retired_at.is_(None)))
    if but is not None:
        query = query.where(CatalogueItem.id != but)
    return session.scalar(query.limit(1)) is not None


def _clean_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise ValidationFailed("分类：请填写分类名称。", field="name")
    if len(name) > NAME_MAX:
        raise ValidationFailed(f"分类：最多 {NAME_MAX} 个字。", field="name")
    return name


def _name_taken(session: Session, kind: AreaKind, name: str, but: int | None = None) -> bool:
    query = select(CatalogueCategory.id).where(CatalogueCategory.org_kind == kind, CatalogueCategory.name == name)
    if but is not None:
        query = query.where(CatalogueCategory.id != but)
    return session.scalar(query.limit(1)) is not None


def _next_position(session: Session, column: Any, *where: Any) -> int:
    last = session.scalar(select(func.max(column)).where(*where))
    return 0 if last is None else int(last) + 1


# -- categories -----------------------------------------------------------------------


def create_category(session: Session, user: User, kind: AreaKind, name: str, now: dt.datetime) -> CatalogueCategory:
    """A new, empty category at the end of a kind's catalogue."""
    home = _editor(user)
    kind = catalogue_kind(kind.value)
    name = _clean_name(name)
    if _name_taken(session, kind, name):
        raise ValidationFailed(f"分类：“{name}”已存在。", field="name")
    category = CatalogueCategory(
        org_kind=kind, name=name,
        position=_next_position(session, CatalogueCategory.position, CatalogueCategory.org_kind == kind),
    )
    session.add(category)
    session.flush()
    audit.record(session, user, "catalogue.category_create", now, target=("catalogue_category", category.id),
                 area=home, after={"org_kind": kind.value, "name": name}, detail={"org_kind": kind.value, "name": name})
    return category


def rename_category(session: Session, user: User, category_id: int, name: str, now: dt.datetime) -> CatalogueCategory:
    home = _editor(user)
    category = _category(session, category_id)
    name = _clean_name(name)
    if _name_taken(session, category.org_kind, name, but=category.id):
        raise ValidationFailed(f"分类：“{name}”已存在。", field="name")
    before = category.name
    category.name = name
    session.flush()
    audit.record(session, user, "catalogue.category_edit", now, target=("catalogue_category", category.id),
                 area=home, before={"name": before}, after={"name": name},
                 detail={"org_kind": category.org_kind.value, "from": before, "to": name})
    return category


def _swap(rows: list[Any], index: int, step: int) -> bool:
    """Move rows[index] one place up (-1) or down (+1), renumbering positions 0..n-1."""
    other = index + step
    if step not in (-1, 1) or not 0 <= other < len(rows):
        return False
    rows[index], rows[other] = rows[other], rows[index]
    for position, row in enumerate(rows):
        row.position = position
    return True


def move_category(session: Session, user: User, category_id: int, step: int, now: dt.datetime) -> None:
    """One place up (-1) or down (+1) in its catalogue; at either end nothing changes."""
    home = _editor(user)
    category = _category(session, category_id)
    rows = categories(session, category.org_kind)
    if _swap(rows, rows.index(category), step):
        session.flush()
        audit.record(session, user, "catalogue.category_move", now, target=("catalogue_category", category.id),
                     area=home, detail={"org_kind": category.org_kind.value, "name": category.name, "step": step})


def delete_category(session: Session, user: User, category_id: int, now: dt.datetime) -> None:
    """Only an empty category (no items, not even retired ones) may be deleted."""
    home = _editor(user)
    category = _category(session, category_id)
    if category.items:
        raise Conflict(f"分类“{category.name}”里还有 {len(category.items)} 个目录项（含已停用的），不能删除。", field="category_id")
    audit.record(session, user, "catalogue.category_delete", now, target=("catalogue_category", category.id),
                 area=home, before={"org_kind": category.org_kind.value, "name": category.name},
                 detail={"org_kind": category.org_kind.value, "name": category.name})
    session.delete(category)
    session.flush()


# -- items ----------------------------------------------------------------------------


def create_item(session: Session, user: User, category_id: int, data: ItemInput, now: dt.datetime) -> CatalogueItem:
    """A new item at the end of its category."""
    home = _editor(user)
    category = _category(session, category_id)
    _refuse(item_problems(data))
    if title_taken(session, category.org_kind, data.title):
        raise ValidationFailed(f"事项：本目录已有“{' '.join(data.title.split())}”。", field="title")
    item = CatalogueItem(
        category=category, created_at=now,
        position=_next_position(session, CatalogueItem.position, CatalogueItem.category_id == category.id),
    )
    fill(item, data)
    session.add(item)
    session.flush()
    audit.record(session, user, "catalogue.item_create", now, target=("catalogue_item", item.id), area=home,
                 after=item_state(item), detail={"org_kind": category.org_kind.value, "title": item.title})
    return item


def update_item(
    session: Session, user: User, item_id: int, data: ItemInput, now: dt.datetime, category_id: int | None = None,
) -> CatalogueItem:
    """Change an item's fields, and its category within the same catalogue."""
    home = _editor(user)
    item = _item(session, item_id)
    kind = item.category.org_kind
    _refuse(item_problems(data))
    if title_taken(session, kind, data.title, but=item.id):
        raise ValidationFailed(f"事项：本目录已有“{' '.join(data.title.split())}”。", field="title")
    before = {**item_state(item), "scope": scope_choice(item)}
    if category_id is not None and category_id != item.category_id:
        category = _category(session, category_id)
        if category.org_kind is not kind:
            raise ValidationFailed("分类：只能移到同一组织类型的目录的分类里。", field="category_id")
        item.category = category
        item.position = _next_position(session, CatalogueItem.position, CatalogueItem.category_id == category.id)
    fill(item, data)
    session.flush()
    after = {**item_state(item), "scope": scope_choice(item)}
    changed = [FIELD_LABELS[k] for k in FIELD_LABELS if before.get(k) != after.get(k)]
    if changed:
        audit.record(session, user, "catalogue.item_edit", now, target=("catalogue_item", item.id), area=home,
                     before=before, after=after, detail={"org_kind": kind.value, "title": item.title, "changed": changed})
    return item


def move_item(session: Session, user: User, item_id: int, step: int, now: dt.datetime) -> None:
    """One place up (-1) or down (+1) among the live items of its category (the ones the
    page lists); retired items keep their order after them."""
    home = _editor(user)
    item = _item(session, item_id)
    live = [i for i in item.category.items if i.retired_at is None]
    retired = [i for i in item.category.items if i.retired_at is not None]
    if item in live and _swap(live, live.index(item), step):
        for position, row in enumerate(live + retired):
            row.position = position
        session.flush()
        audit.record(session, user, "catalogue.item_move", now, target=("catalogue_item", item.id), area=home,
                     detail={"org_kind": item.category.org_kind.value, "title": item.title, "step": step})


def retire_item(session: Session, user: User, item_id: int, now: dt.datetime) -> CatalogueItem:
    """Retire an item: it takes no new drafts and owes nothing; its disclosures stay."""
    home = _editor(user)
    item = _item(session, item_id)
    if item.retired_at is None:
        item.retired_at = now
        session.flush()
        audit.record(session, user, "catalogue.item_retire", now, target=("catalogue_item", item.id), area=home,
                     detail={"org_kind": item.category.org_kind.value, "title": item.title})
    return item


def restore_item(session: Session, user: User, item_id: int, now: dt.datetime) -> CatalogueItem:
    home = _editor(user)
    item = _item(session, item_id)
    if item.retired_at is not None:
        if title_taken(session, item.category.org_kind, item.title, but=item.id):
            raise Conflict(f"本目录已有名为“{item.title}”的目录项，不能恢复，请先改名。", field="item_id")
        item.retired_at = None
        session.flush()
        audit.record(session, user, "catalogue.item_restore", now, target=("catalogue_item", item.id), area=home,
                     detail={"org_kind": item.category.org_kind.value, "title": item.title})
    return item


def delete_item(session: Session, user: User, item_id: int, now: dt.datetime) -> None:
    """Delete an item no disclosure or case points at; one in use must be retired instead."""
    home = _editor(user)
    item = _item(session, item_id)
    if in_use(session, item.id):
        raise Conflict(f"“{item.title}”已有公开记录，不能删除，只能停用。", field="item_id")
    audit.record(session, user, "catalogue.item_delete", now, target=("catalogue_item", item.id), area=home,
                 before=item_state(item), detail={"org_kind": item.category.org_kind.value, "title": item.title})
    category = item.category
    category.items.remove(item)
    session.delete(item)
    for position, row in enumerate(category.items):
        row.position = position
    session.flush()


# -- the starting catalogue -----------------------------------------------------------

FORM_BY_CHAR = {"屏": "screen", "栏": "board", "会": "meeting", "文": "document", "网": "website"}
PERIOD_BY_WORD = {str(label): period.value for period, label in PERIOD_LABELS.items()}


def starting_input(row: Row, responsible_department: str) -> ItemInput:
    """One row of `starting_catalogue` as an item input."""
    title, scope, timing, deadline, forms, department, person = row
    if isinstance(scope, int):
        scope_key, days = "phased", scope
    else:
        scope_key, days = ("internal" if scope == "党内" else "public"), 0
    if isinstance(timing, tuple):
        timing_key, period, stages = Timing.staged.value, "", list(timing)
    elif timing == "随时":
        timing_key, period, stages = Timing.ad_hoc.value, "", []
    else:
        timing_key, period, stages = Timing.regular.value, PERIOD_BY_WORD[timing], []
    return ItemInput(
        title=title, scope=scope_key, internal_days=days, timing=timing_key, period=period, stages=stages,
        deadline_days=deadline, forms=[FORM_BY_CHAR[c] for c in forms],
        responsible_department=department or responsible_department, responsible_person=person,
    )


def seed_catalogue(session: Session, responsible_department: str = "镇党建办") -> int:
    """Give every organisation type whose catalogue is still empty its starting catalogue;
    returns how many items were added (0 when every type already has one). Items whose
    responsible department is the township's party-building office get `responsible_department`."""
    added = 0
    for kind, rows in STARTING_CATALOGUE.items():
        if session.scalar(select(CatalogueCategory.id).where(CatalogueCategory.org_kind == kind).limit(1)):
            continue
        for position, (name, items) in enumerate(rows):
            category = CatalogueCategory(org_kind=kind, name=name, position=position)
            session.add(category)
            for item_position, row in enumerate(items):
                data = starting_input(row, responsible_department)
                problems = item_problems(data)
                if problems:  # the shipped data is checked by the same rules (tests too)
                    raise ValueError(f"starting catalogue {kind.value}/{row[0]}: {problems}")
                item = CatalogueItem(position=item_position)
                fill(item, data)
                category.items.append(item)
                added += 1
    session.flush()
    return added
