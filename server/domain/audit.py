"""The audit log: every change a user makes, and every sign-in, as an append-only row.

Services call `record` in the same transaction as the change, so a rolled-back change
leaves no audit row and a committed one always has it. The edge puts the caller's
address into `session.info["address"]`. Before and after are stored as digests (the
sha256 of a canonical JSON of the object's fields) plus a short `detail` naming what
changed — never a password, secret or a citizen's name or phone.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import ColumnElement, Select, false, or_, select
from sqlalchemy.orm import Session

from server.domain.access import can_act, subtree_paths
from server.domain.errors import Forbidden, NotFound, ValidationFailed
from server.domain.text import N_
from server.models import Area, AuditEvent, Role, RoleGrant, User

ACTION_LABELS = {
    "login.success": N_("登录成功"),
    "login.failure": N_("登录失败"),
    "login.locked": N_("登录被暂时锁定"),
    "logout": N_("退出登录"),
    "password.change": N_("修改密码"),
    "totp.enable": N_("启用两步验证"),
    "totp.disable": N_("停用两步验证"),
    "recovery_code.use": N_("使用恢复码"),
    "disclosure.create": N_("起草公开事项"),
    "disclosure.edit": N_("修改公开事项"),
    "disclosure.submit": N_("提交审核"),
    "disclosure.approve": N_("审核通过"),
    "disclosure.reject": N_("审核退回"),
    "disclosure.withdraw": N_("撤回已发布事项"),
    "disclosure.correct": N_("发起更正"),
    "disclosure.supersede": N_("事项被更正替换"),
    "case.register": N_("登记事项案卷"),
    "case.stage": N_("登记阶段发生日期"),
    "feedback.answer": N_("答复群众反馈"),
    "device.create": N_("添加屏幕"),
    "device.enrolment_code": N_("生成屏幕注册码"),
    "device.player_key": N_("更换浏览器播放地址"),
    "device.revoke": N_("吊销屏幕凭据"),
    "device.locale": N_("更改屏幕语言"),
    "device.enrol": N_("屏幕注册"),
    "area.create": N_("新建区域"),
    "area.edit": N_("修改区域"),
    "area.move": N_("移动区域"),
    "area.retire": N_("停用区域"),
    "theme.save": N_("设置样式"),
    "theme.clear": N_("取消本级样式"),
    "attachment.store": N_("上传附件"),
    "site.create": N_("新建场所"),
    "site.edit": N_("修改场所"),
    "site.retire": N_("停用场所"),
    "user.create": N_("新建用户"),
    "user.edit": N_("修改用户"),
    "user.grant": N_("授予角色"),
    "user.revoke_grant": N_("收回角色"),
    "user.disable": N_("停用用户"),
    "user.enable": N_("启用用户"),
    "user.password_reset": N_("重置密码"),
    "import.apply": N_("批量导入"),
    "catalogue.category_create": N_("新建目录分类"),
    "catalogue.category_edit": N_("修改目录分类"),
    "catalogue.category_move": N_("调整目录分类顺序"),
    "catalogue.category_delete": N_("删除目录分类"),
    "catalogue.item_create": N_("新建目录项"),
    "catalogue.item_edit": N_("修改目录项"),
    "catalogue.item_move": N_("调整目录项顺序"),
    "catalogue.item_retire": N_("停用目录项"),
    "catalogue.item_restore": N_("恢复目录项"),
    "catalogue.item_delete": N_("删除目录项"),
    "catalogue.import": N_("导入公开目录"),
    "disclosure.default_loop": N_("设置是否进入默认轮播"),
    "group.create": N_("新建屏幕分组"),
    "group.edit": N_("修改屏幕分组"),
    "group.retire": N_("停用屏幕分组"),
    "playlist.create": N_("新建节目单"),
    "playlist.edit": N_("修改节目单"),
    "playlist.retire": N_("停用节目单"),
    "schedule.create": N_("新建排期"),
    "schedule.cancel": N_("取消排期"),
    "urgent.create": N_("起草紧急通知"),
    "urgent.edit": N_("修改紧急通知"),
    "urgent.submit": N_("提交紧急通知"),
    "urgent.approve": N_("批准紧急通知"),
    "urgent.reject": N_("退回紧急通知"),
    "urgent.cancel": N_("撤下紧急通知"),
    "archive.record": N_("记入公开档案"),
    "archive.export": N_("导出公开档案"),
    "allowed_number.add": N_("允许公开号码"),
    "allowed_number.remove": N_("取消允许公开号码"),
}


def digest(state: dict[str, Any] | None) -> str | None:
    if state is None:
        return None
    canonical = json.dumps(state, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def record(
    session: Session,
    actor: User | None,
    action: str,
    now: dt.datetime,
    *,
    target: tuple[str, Any] = ("", ""),
    area: Area | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    detail: dict[str, Any] | None = None,
    username: str | None = None,
) -> AuditEvent:
    """Append one audit row; `target` is (object type, id), `area` the object's area."""
    if action not in ACTION_LABELS:
        raise ValueError(f"unknown audit action {action!r}")
    event = AuditEvent(
        occurred_at=now,
        user_id=actor.id if actor is not None else None,
        username=(actor.username if actor is not None else username or "")[:64],
        address=str(session.info.get("address", ""))[:64],
        action=action,
        target_type=target[0],
        target_id=str(target[1])[:64],
        area_path=area.path if area is not None else "",
        before_digest=digest(before),
        after_digest=digest(after),
        detail=detail or {},
    )
    session.add(event)
    return event


@dataclass
class AuditFilter:
    """What a supervisor searches for; `since`/`until` are instants (until exclusive)."""

    area_id: int | None = None
    username: str = ""
    action: str = ""
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    limit: int = 200
    offset: int = 0


@dataclass
class AuditPage:
    rows: list[AuditEvent]
    more: bool  # another page follows


AUDIT_ROLES = (Role.supervisor,)  # and admins, as everywhere (access.subtree_paths)


def may_read(user: User) -> bool:
    return bool(subtree_paths(user, AUDIT_ROLES))


def _under(column: Any, paths: list[str]) -> ColumnElement[bool]:
    return or_(*(column.startswith(p, autoescape=True) for p in paths))


def _visible(user: User) -> ColumnElement[bool]:
    """Rows a supervisor or admin may read: those of areas in their subtrees. Rows of no
    area (sign-ins, password changes) belong to the user who acted: they are visible
    only where all of that user's grants lie in the caller's subtrees, so a township
    admin who also holds a village grant does not show up in the village's log. Rows
    of no area and no known user (a failed sign-in as a stranger) only at the root."""
    paths = subtree_paths(user, AUDIT_ROLES)
    if not paths:
        return false()
    if any(p.count("/") == 2 for p in paths):  # "/<id>/": a root of the area tree
        return or_(_under(AuditEvent.area_path, paths), AuditEvent.area_path == "")
    grants = select(RoleGrant.user_id).join(Area, Area.id == RoleGrant.area_id)
    inside = grants.where(_under(Area.path, paths))
    outside = grants.where(~_under(Area.path, paths))
    own = (AuditEvent.area_path == "") & AuditEvent.user_id.in_(inside) & AuditEvent.user_id.not_in(outside)
    return or_(_under(AuditEvent.area_path, paths), own)


def visible_query(session: Session, user: User, where: AuditFilter) -> Select[Any]:
    """The caller's audit rows matching `where`, newest first. An area outside the
    caller's subtrees looks missing (NotFound), as everywhere."""
    query = select(AuditEvent).where(_visible(user))
    if where.area_id is not None:
        area = session.get(Area, where.area_id)
        if area is None or not can_act(user, area, AUDIT_ROLES):
            raise NotFound("未找到该区域。", field="area_id")
        query = query.where(AuditEvent.area_path.startswith(area.path, autoescape=True))
    if where.username:
        query = query.where(AuditEvent.username == where.username)
    if where.action:
        query = query.where(AuditEvent.action == where.action)
    if where.since is not None and where.until is not None and where.until <= where.since:
        raise ValidationFailed("结束日期不能早于开始日期。", field="until")
    if where.since is not None:
        query = query.where(AuditEvent.occurred_at >= where.since)
    if where.until is not None:
        query = query.where(AuditEvent.occurred_at < where.until)
    return query.order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())


def search(session: Session, user: User, where: AuditFilter) -> list[AuditEvent]:
    query = visible_query(session, user, where).offset(where.offset).limit(where.limit)
    return list(session.scalars(query))


def page(session: Session, user: User, where: AuditFilter) -> AuditPage:
    """One page of the audit log for a supervisor or admin; others are refused."""
    if not may_read(user):
        raise Forbidden("只有监督员和管理员可以查看审计日志。")
    rows = search(session, user, replace(where, limit=where.limit + 1))
    return AuditPage(rows[: where.limit], len(rows) > where.limit)


def area_names(session: Session, rows: list[AuditEvent]) -> dict[str, str]:
    """Each row's area path → that area's name (the path's last id), to show the log."""
    last = {r.area_path: int(r.area_path.strip("/").rsplit("/", 1)[-1]) for r in rows if r.area_path.strip("/")}
    names: dict[int, str] = dict(session.execute(select(Area.id, Area.name).where(Area.id.in_(set(last.values())))).all())
    return {path: names.get(area_id, path) for path, area_id in last.items()}
