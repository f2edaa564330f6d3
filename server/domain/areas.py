"""The area tree and its halls: creating, renaming, moving and retiring areas and sites.

Every area keeps a materialised path ("/1/4/9/") that all permissions filter on, so a
move rewrites the path of the whole subtree in the same transaction. Areas and sites are
never deleted (disclosures, feedback and the audit log point at them); they are retired
and then no longer offered for new content, users or sites. Kind rules keep the tree
sensible: a county holds townships, a township holds villages, and never the reverse.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.domain import access, audit, changes
from server.domain.errors import Conflict, NotFound, ValidationFailed
from server.domain.text import N_
from server.models import Area, AreaKind, LoopRevision, Role, Site, User

KIND_LABELS = {
    AreaKind.county: N_("县（市、区）"),
    AreaKind.township: N_("乡镇（街道）"),
    AreaKind.village: N_("村"),
    AreaKind.community: N_("社区"),
    AreaKind.department: N_("部门"),
    AreaKind.enterprise: N_("企业党组织"),
}
# What a fresh install may start from, and which kinds each kind may hold.
ROOT_KINDS = frozenset({AreaKind.county, AreaKind.township})
CHILD_KINDS: dict[AreaKind, frozenset[AreaKind]] = {
    AreaKind.county: frozenset({AreaKind.township, AreaKind.department, AreaKind.enterprise}),
    AreaKind.township: frozenset(
        {AreaKind.village, AreaKind.community, AreaKind.department, AreaKind.enterprise}
    ),
    AreaKind.village: frozenset(),
    AreaKind.community: frozenset(),
    AreaKind.department: frozenset(),
    AreaKind.enterprise: frozenset(),
}
CODE_RE = re.compile(r"^[0-9A-Za-z-]{1,32}$")
NAME_MAX = 100
PHONE_RE = re.compile(r"^[0-9+()\- ]{3,32}$")


# -- rules shared with the import ----------------------------------------------------


def clean_name(name: str, field: str = "name", what: str = "名称") -> str:
    name = " ".join((name or "").split())
    if not name:
        raise ValidationFailed(f"请填写{what}。", field=field)
    if len(name) > NAME_MAX:
        raise ValidationFailed(f"{what}最多 {NAME_MAX} 个字。", field=field)
    return name


def clean_code(code: str | None) -> str | None:
    """Codes are optional (统计用区划代码 or the township's own numbering)."""
    code = (code or "").strip()
    if not code:
        return None
    if not CODE_RE.match(code):
        raise ValidationFailed("代码只能用 1–32 位数字、字母或连字符。", field="code")
    return code


def kind_problem(parent_kind: AreaKind | None, kind: AreaKind) -> str | None:
    """Why `kind` may not sit under an area of `parent_kind` (None: it may)."""
    if parent_kind is None:
        return None if kind in ROOT_KINDS else "最上级区域只能是县（市、区）或乡镇（街道）。"
    if kind in CHILD_KINDS[parent_kind]:
        return None
    allowed = "、".join(KIND_LABELS[k] for k in AreaKind if k in CHILD_KINDS[parent_kind])
    return f"“{KIND_LABELS[parent_kind]}”下面不能建“{KIND_LABELS[kind]}”" + (
        f"，只能建{allowed}。" if allowed else "，它不能再有下级区域。"
    )


def check_kind(parent: Area | None, kind: AreaKind) -> None:
    """Refuse a kind that does not belong under `parent` (e.g. a township in a village)."""
    problem = kind_problem(parent.kind if parent else None, kind)
    if problem:
        raise ValidationFailed(problem, field="kind")


def require_active(area: Area, field: str = "area_id") -> None:
    if area.retired_at is not None:
        raise ValidationFailed(f"区域“{area.name}”已停用，不能再添加内容、场所或用户。", field=field)


def _check_sibling_name(session: Session, parent: Area | None, name: str, exclude: int | None = None) -> None:
    query = select(Area.id).where(Area.name == name, Area.retired_at.is_(None))
    query = query.where(Area.parent_id == parent.id) if parent else query.where(Area.parent_id.is_(None))
    if exclude is not None:
        query = query.where(Area.id != exclude)
    if session.scalar(query.limit(1)) is not None:
        where = f"“{parent.name}”下" if parent else "最上级"
        raise Conflict(f"{where}已有名为“{name}”的区域。", field="name")


def _check_code_free(session: Session, code: str | None, exclude: int | None = None) -> None:
    if code is None:
        return
    query = select(Area.name).where(Area.code == code)
    if exclude is not None:
        query = query.where(Area.id != exclude)
    taken = session.scalar(query.limit(1))
    if taken is not None:
        raise Conflict(f"代码 {code} 已被“{taken}”使用。", field="code")


# -- ordering ------------------------------------------------------------------------


def _natural(text: str) -> tuple[tuple[int, Any], ...]:
    """Sort "2" before "10", and Chinese by pinyin: GB2312's common characters are in
    pinyin order, so their GB18030 bytes sort 甲村 before 乙村 (no dictionary needed)."""
    return tuple(
        (0, int(p)) if p.isdecimal() else (1, p.encode("gb18030", "replace"))
        for p in re.split(r"(\d+)", text) if p
    )


def sibling_key(area: Area) -> tuple[Any, ...]:
    """Siblings by code when they have one (official order), then by name."""
    return (area.code is None, _natural(area.code or ""), _natural(area.name), area.id)


def tree_order(areas: Iterable[Area]) -> list[tuple[Area, int]]:
    """Areas depth-first, siblings by `sibling_key`, with each one's depth below the
    topmost areas given (paths alone sort "/1/10/" before "/1/2/")."""
    rows = list(areas)
    ids = {a.id for a in rows}
    children: dict[int | None, list[Area]] = {}
    for area in rows:
        parent = area.parent_id if area.parent_id in ids else None
        children.setdefault(parent, []).append(area)
    ordered: list[tuple[Area, int]] = []

    def walk(parent: int | None, depth: int) -> None:
        for area in sorted(children.get(parent, []), key=sibling_key):
            ordered.append((area, depth))
            walk(area.id, depth + 1)

    walk(None, 0)
    return ordered


def admin_tree(session: Session, actor: User) -> list[tuple[Area, int]]:
    """Every area the actor administers, retired ones included, in tree order."""
    return tree_order(session.scalars(select(Area).where(access.area_clause(actor, [Role.admin]))))


def offered_areas(session: Session, actor: User, role: Role) -> list[tuple[Area, int]]:
    """Areas a form may offer for new content, sites or grants: in scope and not retired."""
    query = select(Area).where(access.area_clause(actor, [role]), Area.retired_at.is_(None))
    return tree_order(session.scalars(query))


def ancestors(session: Session, area: Area) -> list[Area]:
    ids = area.ancestor_ids()
    found = {a.id: a for a in session.scalars(select(Area).where(Area.id.in_(ids)))}
    return [found[i] for i in ids if i in found]


# -- areas ---------------------------------------------------------------------------


def _area_state(area: Area) -> dict[str, Any]:
    return {
        "name": area.name, "kind": area.kind.value, "code": area.code, "parent_id": area.parent_id,
        "path": area.path, "retired_at": area.retired_at,
    }


def create_area(
    session: Session, name: str, kind: AreaKind, parent: Area | None = None, code: str | None = None
) -> Area:
    """Add an area (checked, not authorised or audited: for set-up, the demo and imports)."""
    name, code = clean_name(name), clean_code(code)
    check_kind(parent, kind)
    if parent is not None:
        require_active(parent, "parent_id")
    _check_sibling_name(session, parent, name)
    _check_code_free(session, code)
    area = Area(name=name, kind=kind, parent=parent, code=code)
    session.add(area)
    session.flush()
    area.path = f"{parent.path if parent else '/'}{area.id}/"
    session.add(LoopRevision(area_id=area.id, revision=0))
    session.flush()
    return area


def get_area(session: Session, actor: User, area_id: int, field: str = "area_id") -> Area:
    """An area the actor administers (out of scope looks missing)."""
    area = session.get(Area, area_id)
    if area is None or not access.can_act(actor, area, access.READ_ROLES):
        raise NotFound("未找到该区域。", field=field)
    access.require(actor, area, Role.admin)
    return area


def add_area(
    session: Session, actor: User, parent_id: int, name: str, kind: AreaKind, now: dt.datetime,
    code: str | None = None,
) -> Area:
    """An admin adds an area under one they administer."""
    parent = get_area(session, actor, parent_id)
    area = create_area(session, name, kind, parent, code)
    audit.record(
        session, actor, "area.create", now, target=("area", area.id), area=area,
        after=_area_state(area), detail={"name": area.name, "kind": kind.value, "parent_id": parent.id},
    )
    return area


def edit_area(
    session: Session, actor: User, area_id: int, now: dt.datetime, *, name: str, code: str | None
) -> Area:
    """Rename an area or set its code; a new name reaches its screens' boards."""
    area = get_area(session, actor, area_id)
    name, code = clean_name(name), clean_code(code)
    changed = [f for f, new in (("name", name), ("code", code)) if getattr(area, f) != new]
    if not changed:
        return area
    before = _area_state(area)
    if "name" in changed:
        _check_sibling_name(session, area.parent, name, exclude=area.id)
    if "code" in changed:
        _check_code_free(session, code, exclude=area.id)
    area.name, area.code = name, code
    session.flush()
    if "name" in changed:
        changes.loop_changed(session, area, now)
    audit.record(
        session, actor, "area.edit", now, target=("area", area.id), area=area,
        before=before, after=_area_state(area), detail={"changed": changed, "name": area.name},
    )
    return area


def move_area(session: Session, actor: User, area_id: int, parent_id: int, now: dt.datetime) -> Area:
    """Put an area (and its whole subtree) under another parent the actor administers."""
    area = get_area(session, actor, area_id)
    parent = get_area(session, actor, parent_id, field="parent_id")
    if parent.path.startswith(area.path):
        raise ValidationFailed("不能把区域移到它自己或它的下级区域下面。", field="parent_id")
    if parent.id == area.parent_id:
        return area
    require_active(parent, "parent_id")
    check_kind(parent, area.kind)
    _check_sibling_name(session, parent, area.name, exclude=area.id)
    before = _area_state(area)
    old, new = area.path, f"{parent.path}{area.id}/"
    subtree = list(session.scalars(select(Area).where(Area.path.startswith(old, autoescape=True))))
    for member in subtree:
        member.path = new + member.path[len(old):]
    area.parent = parent
    session.flush()
    changes.loop_changed(session, area, now)
    audit.record(
        session, actor, "area.move", now, target=("area", area.id), area=area,
        before=before, after=_area_state(area),
        detail={"name": area.name, "from_parent_id": before["parent_id"], "to_parent_id": parent.id,
                "areas_moved": len(subtree)},
    )
    return area


def retire_area(session: Session, actor: User, area_id: int, now: dt.datetime) -> Area:
    """Retire an empty area: its sub-areas and sites must be retired first."""
    area = get_area(session, actor, area_id)
    if area.retired_at is not None:
        raise Conflict(f"区域“{area.name}”已经停用。", field="area_id")
    live_children = session.scalar(
        select(func.count(Area.id)).where(Area.parent_id == area.id, Area.retired_at.is_(None))
    )
    if live_children:
        raise Conflict(f"“{area.name}”还有 {live_children} 个在用的下级区域，请先停用它们。", field="area_id")
    live_sites = session.scalar(
        select(func.count(Site.id)).where(Site.area_id == area.id, Site.retired_at.is_(None))
    )
    if live_sites:
        raise Conflict(f"“{area.name}”还有 {live_sites} 个在用的场所，请先停用它们。", field="area_id")
    before = _area_state(area)
    area.retired_at = now
    session.flush()
    audit.record(
        session, actor, "area.retire", now, target=("area", area.id), area=area,
        before=before, after=_area_state(area), detail={"name": area.name},
    )
    return area


# -- sites (halls) -------------------------------------------------------------------


def _site_state(site: Site) -> dict[str, Any]:
    return {
        "area_id": site.area_id, "name": site.name, "address": site.address,
        "contact_name": site.contact_name, "contact_phone": site.contact_phone,
        "retired_at": site.retired_at,
    }


def clean_site(name: str, address: str, contact_name: str, contact_phone: str) -> dict[str, str]:
    """A site's fields, trimmed and checked (the contact is the hall's staff member)."""
    fields = {
        "name": clean_name(name, what="场所名称"),
        "address": " ".join((address or "").split()),
        "contact_name": " ".join((contact_name or "").split()),
        "contact_phone": (contact_phone or "").strip(),
    }
    if len(fields["address"]) > 200:
        raise ValidationFailed("地址最多 200 个字。", field="address")
    if len(fields["contact_name"]) > 64:
        raise ValidationFailed("联系人最多 64 个字。", field="contact_name")
    if fields["contact_phone"] and not PHONE_RE.match(fields["contact_phone"]):
        raise ValidationFailed("联系电话只能包含数字、空格、+、-和括号（3–32 位）。", field="contact_phone")
    return fields


def _check_site_name(session: Session, area: Area, name: str, exclude: int | None = None) -> None:
    query = select(Site.id).where(Site.area_id == area.id, Site.name == name, Site.retired_at.is_(None))
    if exclude is not None:
        query = query.where(Site.id != exclude)
    if session.scalar(query.limit(1)) is not None:
        raise Conflict(f"“{area.name}”已有名为“{name}”的场所。", field="name")


def create_site(
    session: Session, area: Area, name: str, address: str = "", contact_name: str = "",
    contact_phone: str = "",
) -> Site:
    """Add a hall (checked, not authorised or audited: for set-up, the demo and imports)."""
    fields = clean_site(name, address, contact_name, contact_phone)
    require_active(area)
    _check_site_name(session, area, fields["name"])
    site = Site(area=area, **fields)
    session.add(site)
    session.flush()
    return site


def admin_sites(session: Session, actor: User) -> list[Site]:
    query = select(Site).join(Site.area).where(access.area_clause(actor, [Role.admin]))
    return sorted(session.scalars(query), key=lambda s: (_natural(s.name), s.id))


def get_site(session: Session, actor: User, site_id: int) -> Site:
    site = session.get(Site, site_id)
    if site is None or not access.can_act(actor, site.area, access.READ_ROLES):
        raise NotFound("未找到该场所。", field="site_id")
    access.require(actor, site.area, Role.admin)
    return site


def add_site(
    session: Session, actor: User, area_id: int, now: dt.datetime, *, name: str, address: str = "",
    contact_name: str = "", contact_phone: str = "",
) -> Site:
    area = get_area(session, actor, area_id)
    site = create_site(session, area, name, address, contact_name, contact_phone)
    audit.record(
        session, actor, "site.create", now, target=("site", site.id), area=area,
        after=_site_state(site), detail={"name": site.name},
    )
    return site


def edit_site(
    session: Session, actor: User, site_id: int, now: dt.datetime, *, name: str, address: str,
    contact_name: str, contact_phone: str,
) -> Site:
    """Change a hall's name, address or contact; its screens show the new name."""
    site = get_site(session, actor, site_id)
    fields = clean_site(name, address, contact_name, contact_phone)
    changed = [f for f, value in fields.items() if getattr(site, f) != value]
    if not changed:
        return site
    if "name" in changed:
        _check_site_name(session, site.area, fields["name"], exclude=site.id)
    before = _site_state(site)
    for field, value in fields.items():
        setattr(site, field, value)
    session.flush()
    if "name" in changed:
        changes.loop_changed(session, site.area, now)
    audit.record(
        session, actor, "site.edit", now, target=("site", site.id), area=site.area,
        before=before, after=_site_state(site), detail={"changed": changed, "name": site.name},
    )
    return site


def retire_site(session: Session, actor: User, site_id: int, now: dt.datetime) -> Site:
    """Retire a hall: it is no longer offered for new screens (its screens stay listed)."""
    site = get_site(session, actor, site_id)
    if site.retired_at is not None:
        raise Conflict(f"场所“{site.name}”已经停用。", field="site_id")
    before = _site_state(site)
    site.retired_at = now
    session.flush()
    audit.record(
        session, actor, "site.retire", now, target=("site", site.id), area=site.area,
        before=before, after=_site_state(site), detail={"name": site.name},
    )
    return site
