"""Authorisation by area subtree: which areas an actor may act on, in which role.

Every query that returns area-owned rows filters through `area_clause`, so a user of
village A asking for village B's object by id gets the same answer as for a missing one.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import ColumnElement, false, or_, select
from sqlalchemy.orm import Session

from server.domain.errors import Forbidden, NotFound, ValidationFailed
from server.domain.text import N_
from server.models import Area, Role, User

# Roles that may read everything in their subtree.
READ_ROLES = frozenset(Role)


def subtree_paths(user: User, roles: Iterable[Role] = READ_ROLES) -> list[str]:
    wanted = set(roles) | {Role.admin}
    return sorted({g.area.path for g in user.grants if g.role in wanted})


def has_role(user: User, role: Role) -> bool:
    return any(g.role in (role, Role.admin) for g in user.grants)


def area_clause(user: User, roles: Iterable[Role] = READ_ROLES) -> ColumnElement[bool]:
    """A WHERE clause on `Area.path` restricting to the user's subtrees for `roles`."""
    paths = subtree_paths(user, roles)
    if not paths:
        return false()
    return or_(*(Area.path.startswith(p, autoescape=True) for p in paths))


def can_act(user: User, area: Area, role: Role | Iterable[Role]) -> bool:
    roles = [role] if isinstance(role, Role) else list(role)
    return any(area.path.startswith(p) for p in subtree_paths(user, roles))


def require(user: User, area: Area, role: Role) -> None:
    """Raise NotFound when the area is out of sight, Forbidden when visible but not allowed."""
    if not can_act(user, area, role):
        if can_act(user, area, READ_ROLES):
            raise Forbidden(f"你没有“{ROLE_LABELS[role]}”权限。")
        raise NotFound("未找到该对象。")


def visible_areas(session: Session, user: User) -> list[Area]:
    return list(session.scalars(select(Area).where(area_clause(user)).order_by(Area.path)))


def area_in_scope(session: Session, user: User, area_id: int, role: Role) -> Area:
    """An area the user may act on in `role` and that still takes new content."""
    area = session.get(Area, area_id)
    if area is None:
        raise NotFound("未找到该区域。", field="area_id")
    require(user, area, role)
    if area.retired_at is not None:
        raise ValidationFailed("该区域已停用，不能再发布新内容。", field="area_id")
    return area


ROLE_LABELS = {
    Role.admin: N_("管理员"),
    Role.editor: N_("经办人"),
    Role.reviewer: N_("审核人"),
    Role.scheduler: N_("排期管理员"),
    Role.handler: N_("承办人"),
    Role.supervisor: N_("监督员"),
}
