"""Urgent notices (临时通知: flood, fire, water cuts): drafting, four-eyes approval,
cancelling, and the receipts screens send back.

An urgent notice interrupts the loop on every screen of its target from its start until
its end (required, at most 7 days) or until it is cancelled. It is approved under the
same four eyes as a disclosure: nobody who drafted or edited it may approve it, and the
approval names the exact content by its hash. Status changes are conditional UPDATEs
(`_transition`), so two reviewers clicking at once get one success and one conflict.

*Where a notice lives.* `area_id` is the area that issues the notice (its editors and
schedulers draft it, its reviewers approve it); the target — an area's subtree, a site,
a device group or one screen — must lie inside that area. Screens in area S read the
notices of S and its ancestors (server.domain.manifests), so every screen the target
reaches reads it; a change bumps the loop revision of the target's home
(`reach.target_home`), which nudges exactly those screens.

*Receipts.* A screen reports "received" (its manifest holds the notice) and "shown" (it
is on screen). Reports arrive twice, late, out of order and from several server
processes at once: each (notice, screen) row is created with INSERT … ON CONFLICT DO
NOTHING and each time is set with a conditional UPDATE that keeps the earliest.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import Select, or_, select
from sqlalchemy import update as sql_update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from server.domain import audit, changes, content, reach
from server.domain.access import READ_ROLES, area_clause, can_act
from server.domain.errors import Conflict, Forbidden, NotFound, ValidationFailed
from server.domain.masking import mask_id_numbers
from server.domain.schedules import TARGET_LABELS, group_ids_of
from server.domain.text import N_
from server.models import (
    Area,
    AuditEvent,
    Device,
    DeviceGroup,
    Role,
    Scope,
    Site,
    TargetKind,
    UrgentNotice,
    UrgentReceipt,
    UrgentStatus,
    User,
)

MAX_TITLE = 40
MAX_BODY = 300
MAX_COMMENT = 500
MAX_REASON = 200
MAX_LENGTH = dt.timedelta(days=7)
# A screen polls its manifest every minute (and is marked seen at most once a minute,
# written with other screens' within a poll or two, see devices.SeenBook): one not seen
# for this long is shown as offline on the delivery page.
ONLINE_WITHIN = dt.timedelta(minutes=3)

DRAFT_ROLES = (Role.editor, Role.scheduler)  # who drafts, edits and submits
CANCEL_ROLES = (Role.scheduler, Role.reviewer)  # who takes a notice off (and its author)
EDITABLE = (UrgentStatus.draft, UrgentStatus.rejected)
RECEIPT_STATES = ("received", "shown")

STATUS_LABELS = {
    UrgentStatus.draft: N_("草稿"),
    UrgentStatus.submitted: N_("待审核"),
    UrgentStatus.approved: N_("已发布"),
    UrgentStatus.rejected: N_("已退回"),
    UrgentStatus.cancelled: N_("已撤下"),
}

_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]")


@dataclass
class UrgentInput:
    area_id: int
    title: str
    body: str
    target_kind: TargetKind
    target_id: int
    ends_at: dt.datetime | None  # required: None is refused with a message on `ends_at`
    starts_at: dt.datetime | None = None  # None: from the moment it is approved
    scope: Scope = Scope.public
    read_aloud: bool = False  # screens play its audio while it is shown


class ReceiptItem(NamedTuple):
    notice_id: int
    state: str  # "received" or "shown"
    at: dt.datetime  # aware; as the screen's clock saw it


# --------------------------------------------------------------------------- reading


def visible_query(user: User) -> Select[Any]:
    return select(UrgentNotice).join(UrgentNotice.area).where(area_clause(user))


def get(session: Session, user: User, notice_id: int) -> UrgentNotice:
    found = session.scalar(visible_query(user).where(UrgentNotice.id == notice_id))
    if found is None:
        raise NotFound("未找到该紧急通知。")
    return found


def list_visible(
    session: Session, user: User, status: UrgentStatus | None = None, limit: int = 200
) -> list[UrgentNotice]:
    query = visible_query(user).order_by(UrgentNotice.updated_at.desc(), UrgentNotice.id.desc()).limit(limit)
    if status is not None:
        query = query.where(UrgentNotice.status == status)
    return list(session.scalars(query))


def is_live(notice: UrgentNotice, now: dt.datetime) -> bool:
    """On screens right now."""
    return (
        notice.status is UrgentStatus.approved
        and (notice.starts_at is None or notice.starts_at <= now)
        and notice.ends_at > now
    )


def phase(notice: UrgentNotice, now: dt.datetime) -> str:
    """Where an approved notice stands: "upcoming", "live" or "ended"; else its status."""
    if notice.status is not UrgentStatus.approved:
        return notice.status.value
    if notice.ends_at <= now:
        return "ended"
    return "live" if is_live(notice, now) else "upcoming"


def target_name(session: Session, kind: TargetKind, target_id: int) -> str:
    """The target as people read it: 区域“东山村” / 场所“东山村党群服务中心” / …"""
    label = TARGET_LABELS[kind]
    name: str | None = None
    if kind is TargetKind.area:
        area = session.get(Area, target_id)
        name = area.name if area else None
    elif kind is TargetKind.site:
        site = session.get(Site, target_id)
        name = f"{site.area.name} · {site.name}" if site else None
    elif kind is TargetKind.group:
        group = session.get(DeviceGroup, target_id)
        name = group.name if group else None
    else:
        device = session.get(Device, target_id)
        name = f"{device.site.name} · {device.name}" if device else None
    return f"{label}“{name}”" if name else f"{label} #{target_id}"


def reached_count(session: Session, notice: UrgentNotice) -> int:
    """How many screens in service the notice's target and scope reach."""
    return reach.target_device_count(session, notice.target_kind, notice.target_id, reach.audience_for(notice.scope))


def reached_devices(session: Session, notice: UrgentNotice) -> list[Device]:
    """The screens in service that the notice's target and scope reach."""
    return reach.target_devices(session, notice.target_kind, notice.target_id, reach.audience_for(notice.scope))


def may_draft(user: User, area: Area) -> bool:
    return can_act(user, area, DRAFT_ROLES)


def may_review(user: User, notice: UrgentNotice) -> bool:
    return can_act(user, notice.area, Role.reviewer)


def may_cancel(user: User, notice: UrgentNotice) -> bool:
    return user.id == notice.author_id or can_act(user, notice.area, CANCEL_ROLES)


def review_area_ids(user: User) -> list[int]:
    """Areas whose submitted notices the user reviews (reviewer or admin grants): the
    `/admin` socket joins their review rooms."""
    return sorted({g.area_id for g in user.grants if g.role in (Role.reviewer, Role.admin)})


# --------------------------------------------------------------------------- checks


def _require(user: User, area: Area, roles: Sequence[Role], what: str) -> None:
    if not can_act(user, area, roles):
        if can_act(user, area, READ_ROLES):
            raise Forbidden(f"你没有{what}的权限。")
        raise NotFound("未找到该紧急通知。")


def _drafting_area(session: Session, user: User, area_id: int) -> Area:
    area = session.get(Area, area_id)
    if area is None or not can_act(user, area, READ_ROLES):
        raise NotFound("未找到该区域。", field="area_id")
    if not may_draft(user, area):
        raise Forbidden("只有经办人或排期管理员可以起草紧急通知。", field="area_id")
    if area.retired_at is not None:
        raise ValidationFailed("该区域已停用，不能再发布紧急通知。", field="area_id")
    return area


def check_target(
    session: Session, user: User, area: Area, kind: TargetKind, target_id: int, scope: Scope
) -> Area:
    """The home of a target the user may send a notice of `area` to (like
    `schedules.check_target`, for the roles that draft notices): it exists, lies inside
    `area`, is in service, and reaches at least one screen of the notice's scope."""
    home = reach.target_home(session, kind, target_id)
    label = TARGET_LABELS[kind]
    if home is None or not can_act(user, home, READ_ROLES):
        raise ValidationFailed(f"未找到该{label}，或它不在你可以发布的范围内。", field="target_id")
    if not can_act(user, home, DRAFT_ROLES):
        raise ValidationFailed(f"该{label}不在你可以发布紧急通知的范围内。", field="target_id")
    if not home.path.startswith(area.path):
        raise ValidationFailed(f"该{label}不在发布单位“{area.name}”的范围内。", field="target_id")
    if home.retired_at is not None:
        raise ValidationFailed(f"该{label}所在区域已停用。", field="target_id")
    if kind is TargetKind.site and (site := session.get(Site, target_id)) is not None and site.retired_at is not None:
        raise ValidationFailed("该场所已停用。", field="target_id")
    if kind is TargetKind.group and (group := session.get(DeviceGroup, target_id)) is not None and group.retired_at is not None:
        raise ValidationFailed("该屏幕分组已停用。", field="target_id")
    if kind is TargetKind.device and (device := session.get(Device, target_id)) is not None and device.decommissioned_at is not None:
        raise ValidationFailed("该屏幕已停用。", field="target_id")
    audience = reach.audience_for(scope)
    if not reach.target_device_count(session, kind, target_id, audience):
        if scope is Scope.internal:
            raise ValidationFailed(
                f"所选{label}没有党员活动室屏：党内通知只在党员活动室屏上显示。", field="target_id"
            )
        raise ValidationFailed(f"所选{label}没有在用的屏幕。", field="target_id")
    return home


def _clean_text(value: str) -> str:
    return _CONTROL.sub("", (value or "").replace("\r\n", "\n").replace("\r", "\n"))


def _clean_title(title: str) -> str:
    cleaned = " ".join(_clean_text(title).split())
    if not cleaned:
        raise ValidationFailed("请填写标题。", field="title")
    if len(cleaned) > MAX_TITLE:
        raise ValidationFailed(f"标题最多 {MAX_TITLE} 个字，现在有 {len(cleaned)} 个。", field="title")
    return mask_id_numbers(cleaned)


def _clean_body(body: str) -> str:
    lines = [line.rstrip() for line in _clean_text(body).strip().split("\n")]
    cleaned = re.sub(r"\n{3,}", "\n\n", "\n".join(lines))
    if len(cleaned) > MAX_BODY:
        raise ValidationFailed(f"正文最多 {MAX_BODY} 个字，现在有 {len(cleaned)} 个。", field="body")
    # Resident ID numbers never reach a screen; a duty phone number in the text stays.
    return mask_id_numbers(cleaned)


def _check_times(data: UrgentInput, now: dt.datetime) -> tuple[dt.datetime | None, dt.datetime]:
    if data.ends_at is None:
        raise ValidationFailed("紧急通知必须填写结束时间。", field="ends_at")
    if data.ends_at.tzinfo is None:
        raise ValidationFailed("结束时间必须带时区。", field="ends_at")
    if data.starts_at is not None and data.starts_at.tzinfo is None:
        raise ValidationFailed("开始时间必须带时区。", field="starts_at")
    starts, ends = data.starts_at, data.ends_at
    if starts is not None and ends <= starts:
        raise ValidationFailed("结束时间必须晚于开始时间。", field="ends_at")
    if ends <= now:
        raise ValidationFailed("结束时间已经过去，请重新选择。", field="ends_at")
    if ends - max(starts or now, now) > MAX_LENGTH:
        raise ValidationFailed("紧急通知最长显示 7 天；需要更久的内容请作为公开事项发布。", field="ends_at")
    return (starts.astimezone(dt.UTC) if starts else None), ends.astimezone(dt.UTC)


@dataclass(frozen=True)
class _Checked:
    area: Area
    title: str
    body: str
    scope: Scope
    target_kind: TargetKind
    target_id: int
    starts_at: dt.datetime | None
    ends_at: dt.datetime
    read_aloud: bool


def _validated(session: Session, user: User, data: UrgentInput, now: dt.datetime) -> _Checked:
    area = _drafting_area(session, user, data.area_id)
    title = _clean_title(data.title)
    body = _clean_body(data.body)
    starts, ends = _check_times(data, now)
    scope = Scope(data.scope)
    kind = TargetKind(data.target_kind)
    check_target(session, user, area, kind, data.target_id, scope)
    return _Checked(area, title, body, scope, kind, data.target_id, starts, ends, bool(data.read_aloud))


def _moment(value: dt.datetime | None) -> str | None:
    return value.astimezone(dt.UTC).isoformat() if value is not None else None


def hash_of(notice: UrgentNotice) -> str:
    """sha256 of what the reviewer approves: the text, scope, target and period (a start
    left empty — "from approval" — is hashed as empty)."""
    return content.content_hash(
        {
            "title": notice.title,
            "body": notice.body,
            "scope": notice.scope.value,
            "area_id": notice.area_id,
            "target": [notice.target_kind.value, notice.target_id],
            "starts_at": _moment(notice.starts_at),
            "ends_at": _moment(notice.ends_at),
            # Reading aloud is part of what is approved (hashed only when asked for).
            **({"read_aloud": True} if notice.read_aloud else {}),
        }
    )


def _state(notice: UrgentNotice) -> dict[str, Any]:
    """What the audit log digests."""
    return {
        "status": notice.status.value,
        "area_id": notice.area_id,
        "scope": notice.scope.value,
        "target": [notice.target_kind.value, notice.target_id],
        "starts_at": _moment(notice.starts_at),
        "ends_at": _moment(notice.ends_at),
        "content_hash": notice.content_hash,
        "read_aloud": notice.read_aloud,
    }


def _audit(
    session: Session, user: User, action: str, notice: UrgentNotice, now: dt.datetime,
    before: dict[str, Any] | None, **detail: Any,
) -> None:
    audit.record(
        session, user, action, now, target=("urgent_notice", notice.id), area=notice.area,
        before=before, after=_state(notice), detail={"title": notice.title, **detail},
    )


def _transition(
    session: Session, notice: UrgentNotice, allowed: tuple[UrgentStatus, ...], new: UrgentStatus,
    now: dt.datetime, message: str, *, content_hash: str | None = None, **values: Any,
) -> None:
    """Move `notice` to `new` only if it is still in one of `allowed` in the database (and,
    when given, still has `content_hash`): a conditional UPDATE, so concurrent requests
    cannot both pass the check. `values` are set in the same statement."""
    query = sql_update(UrgentNotice).where(UrgentNotice.id == notice.id, UrgentNotice.status.in_(allowed))
    if content_hash is not None:
        query = query.where(UrgentNotice.content_hash == content_hash)
    done = session.execute(
        query.values(status=new, updated_at=now, **values).execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:  # type: ignore[attr-defined]
        session.refresh(notice)
        raise Conflict(message)
    notice.status, notice.updated_at = new, now
    for name, value in values.items():
        setattr(notice, name, value)
    session.flush()


def authors_of(session: Session, notice: UrgentNotice) -> list[int]:
    """Everyone who drafted or edited the notice (from the audit log, written in the same
    transaction as each change): none of them may approve or reject it."""
    ids = [notice.author_id]
    for user_id in session.scalars(
        select(AuditEvent.user_id).where(
            AuditEvent.target_type == "urgent_notice",
            AuditEvent.target_id == str(notice.id),
            AuditEvent.action.in_(("urgent.create", "urgent.edit")),
        )
    ):
        if user_id is not None and user_id not in ids:
            ids.append(user_id)
    return ids


def _loop_changed(session: Session, notice: UrgentNotice, now: dt.datetime) -> None:
    """What the target's screens show changed: bump the loop revision of the target's home
    (the notice's own area when the target is gone)."""
    home = reach.target_home(session, notice.target_kind, notice.target_id) or notice.area
    changes.loop_changed(session, home, now, internal_only=notice.scope is Scope.internal)


# --------------------------------------------------------------------------- changes


def create(session: Session, user: User, data: UrgentInput, now: dt.datetime) -> UrgentNotice:
    checked = _validated(session, user, data, now)
    notice = UrgentNotice(
        area=checked.area, area_id=checked.area.id, title=checked.title, body=checked.body, scope=checked.scope,
        target_kind=checked.target_kind, target_id=checked.target_id,
        starts_at=checked.starts_at, ends_at=checked.ends_at, read_aloud=checked.read_aloud, status=UrgentStatus.draft,
        author=user, created_at=now, updated_at=now, content_hash="",
    )
    notice.content_hash = hash_of(notice)
    session.add(notice)
    session.flush()
    _audit(session, user, "urgent.create", notice, now, None)
    return notice


def update(
    session: Session, user: User, notice_id: int, data: UrgentInput, now: dt.datetime
) -> UrgentNotice:
    notice = get(session, user, notice_id)
    _require(user, notice.area, DRAFT_ROLES, "修改紧急通知")
    if notice.status not in EDITABLE:
        raise Conflict("只有草稿或被退回的紧急通知可以修改。")
    checked = _validated(session, user, data, now)
    before = _state(notice)
    _transition(session, notice, EDITABLE, UrgentStatus.draft, now, "只有草稿或被退回的紧急通知可以修改。")
    notice.area, notice.area_id = checked.area, checked.area.id
    notice.title, notice.body, notice.scope = checked.title, checked.body, checked.scope
    notice.target_kind, notice.target_id = checked.target_kind, checked.target_id
    notice.starts_at, notice.ends_at = checked.starts_at, checked.ends_at
    notice.read_aloud = checked.read_aloud
    notice.content_hash = hash_of(notice)
    session.flush()
    _audit(session, user, "urgent.edit", notice, now, before)
    return notice


def submit(session: Session, user: User, notice_id: int, now: dt.datetime) -> UrgentNotice:
    notice = get(session, user, notice_id)
    if user.id != notice.author_id:
        _require(user, notice.area, DRAFT_ROLES, "提交紧急通知")
    if notice.status in EDITABLE and notice.ends_at <= now:
        raise ValidationFailed("结束时间已经过去，请先修改结束时间再提交。", field="ends_at")
    before = _state(notice)
    _transition(
        session, notice, EDITABLE, UrgentStatus.submitted, now, "该紧急通知已提交或已发布，不能重复提交。"
    )
    _audit(session, user, "urgent.submit", notice, now, before)
    changes.urgent_submitted(session, notice.id, notice.area.path, notice.title, notice.area.name)
    return notice


def _check_reviewer(session: Session, user: User, notice: UrgentNotice) -> list[int]:
    _require(user, notice.area, (Role.reviewer,), "审核紧急通知")
    authors = authors_of(session, notice)
    if user.id in authors:
        raise Forbidden("你参与了这条紧急通知的起草或修改，不能审核它，请由其他审核人审核。")
    if notice.status is not UrgentStatus.submitted:
        raise Conflict("只有待审核的紧急通知可以审核。")
    return authors


def approve(
    session: Session, user: User, notice_id: int, now: dt.datetime,
    expected_hash: str | None, comment: str = "",
) -> UrgentNotice:
    """Approve the exact content the reviewer saw (`expected_hash`); it is on screens from
    its start (now, when none was set) until its end."""
    notice = get(session, user, notice_id)
    authors = _check_reviewer(session, user, notice)
    if not expected_hash:
        raise ValidationFailed("请先查看通知内容再批准（缺少内容哈希）。", field="expected_hash")
    if expected_hash != notice.content_hash:
        raise Conflict("通知内容已被修改，请重新查看后再审核。", field="expected_hash")
    if notice.ends_at <= now:
        raise Conflict("这条紧急通知的结束时间已经过去，不能再批准；请退回让起草人修改时间。", field="ends_at")
    comment = (comment or "").strip()
    if len(comment) > MAX_COMMENT:
        raise ValidationFailed(f"审核意见最多 {MAX_COMMENT} 个字。", field="comment")
    before = _state(notice)
    _transition(
        session, notice, (UrgentStatus.submitted,), UrgentStatus.approved, now,
        "该紧急通知已被其他审核人处理，请刷新后查看。", content_hash=expected_hash,
        reviewer_id=user.id, decided_at=now, review_comment=comment, starts_at=notice.starts_at or now,
    )
    _loop_changed(session, notice, now)
    _audit(
        session, user, "urgent.approve", notice, now, before, content_hash=notice.content_hash,
        authors=[session.get_one(User, uid).username for uid in authors],
    )
    return notice


def reject(session: Session, user: User, notice_id: int, now: dt.datetime, comment: str) -> UrgentNotice:
    notice = get(session, user, notice_id)
    _check_reviewer(session, user, notice)
    comment = (comment or "").strip()
    if not comment:
        raise ValidationFailed("退回时请写明原因。", field="comment")
    if len(comment) > MAX_COMMENT:
        raise ValidationFailed(f"审核意见最多 {MAX_COMMENT} 个字。", field="comment")
    before = _state(notice)
    _transition(
        session, notice, (UrgentStatus.submitted,), UrgentStatus.rejected, now,
        "该紧急通知已被其他审核人处理，请刷新后查看。",
        reviewer_id=user.id, decided_at=now, review_comment=comment,
    )
    _audit(session, user, "urgent.reject", notice, now, before, comment=comment)
    return notice


def cancel(session: Session, user: User, notice_id: int, now: dt.datetime, reason: str) -> UrgentNotice:
    """Take an approved notice off every screen before its end (撤下)."""
    notice = get(session, user, notice_id)
    if not may_cancel(user, notice):
        raise Forbidden("只有排期管理员、审核人或起草人可以撤下紧急通知。")
    if notice.status is not UrgentStatus.approved:
        raise Conflict("只有已发布的紧急通知可以撤下。")
    if notice.ends_at <= now:
        raise Conflict("这条紧急通知已经到期结束，屏幕已不再显示，无需撤下。")
    reason = " ".join((reason or "").split())
    if not reason:
        raise ValidationFailed("撤下时请写明原因。", field="reason")
    if len(reason) > MAX_REASON:
        raise ValidationFailed(f"撤下原因最多 {MAX_REASON} 个字。", field="reason")
    before = _state(notice)
    _transition(
        session, notice, (UrgentStatus.approved,), UrgentStatus.cancelled, now,
        "该紧急通知已被撤下，请刷新后查看。",
        cancelled_at=now, cancelled_by_id=user.id, cancel_reason=reason,
    )
    _loop_changed(session, notice, now)
    _audit(session, user, "urgent.cancel", notice, now, before, reason=reason)
    return notice


# --------------------------------------------------------------------------- receipts


def _insert_missing(session: Session, notice_ids: Iterable[int], device_id: int) -> None:
    """Create the (notice, screen) receipt rows that do not exist yet; a row another
    transaction created meanwhile is left alone (INSERT … ON CONFLICT DO NOTHING)."""
    rows = [{"notice_id": n, "device_id": device_id} for n in sorted(set(notice_ids))]
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        pg = postgresql.insert(UrgentReceipt).values(rows).on_conflict_do_nothing(index_elements=["notice_id", "device_id"])
        session.execute(pg)
    elif dialect == "sqlite":
        lite = sqlite.insert(UrgentReceipt).values(rows).on_conflict_do_nothing(index_elements=["notice_id", "device_id"])
        session.execute(lite)
    else:  # pragma: no cover - the two supported backends are above
        for row in rows:
            with session.begin_nested():
                if session.get(UrgentReceipt, (row["notice_id"], device_id)) is None:
                    session.add(UrgentReceipt(**row))


def _keep_earliest(session: Session, notice_id: int, device_id: int, column: Any, at: dt.datetime) -> bool:
    done = session.execute(
        sql_update(UrgentReceipt)
        .where(
            UrgentReceipt.notice_id == notice_id,
            UrgentReceipt.device_id == device_id,
            or_(column.is_(None), column > at),
        )
        .values({column.key: at})
        .execution_options(synchronize_session=False)
    )
    return bool(done.rowcount)  # type: ignore[attr-defined]


def record_receipts(session: Session, device: Device, items: Iterable[ReceiptItem], now: dt.datetime) -> int:
    """Record what `device` reports; returns how many reports were accepted.

    A report about an unknown notice, one never approved, or one that does not reach this
    screen (target and scope) is ignored, not an error: the rest of the batch counts. The
    time is clamped to [approval, now] (a screen's clock may be wrong) and the earliest
    time per state is kept; "shown" implies "received". Repeats are accepted (a retry after
    a lost answer must succeed) but change nothing."""
    wanted = [i for i in items if i.state in RECEIPT_STATES and i.at.tzinfo is not None]
    if not wanted or device.decommissioned_at is not None:
        return 0
    # Only the facts the check needs, not whole notices: a township-wide notice brings a
    # receipt from every screen within seconds.
    notices = {
        row.id: row
        for row in session.execute(
            select(
                UrgentNotice.id, UrgentNotice.target_kind, UrgentNotice.target_id, UrgentNotice.scope,
                UrgentNotice.decided_at,
            ).where(
                UrgentNotice.id.in_({i.notice_id for i in wanted}),
                UrgentNotice.status.in_((UrgentStatus.approved, UrgentStatus.cancelled)),
            )
        )
    }
    by_group = any(n.target_kind is TargetKind.group for n in notices.values())
    reached = reach.targets(device, group_ids_of(session, device) if by_group else [])
    accepted: list[tuple[int, str, dt.datetime]] = []
    for item in wanted:
        notice = notices.get(item.notice_id)
        if notice is None or not reach.reaches(
            (notice.target_kind, notice.target_id), reach.audience_for(notice.scope), reached, device
        ):
            continue
        at = min(item.at.astimezone(dt.UTC), now)
        if notice.decided_at is not None:
            at = max(at, notice.decided_at)
        accepted.append((notice.id, item.state, at))
    if not accepted:
        return 0
    _insert_missing(session, (n for n, _, _ in accepted), device.id)
    for notice_id, state, at in sorted(accepted, key=lambda a: (a[0], a[2])):
        changed = _keep_earliest(session, notice_id, device.id, UrgentReceipt.received_at, at)
        if state == "shown":
            changed = _keep_earliest(session, notice_id, device.id, UrgentReceipt.shown_at, at) or changed
        if changed:
            changes.receipt_recorded(session, notice_id, device.id, state, at)
    session.flush()
    return len(accepted)


@dataclass(frozen=True)
class ScreenDelivery:
    device: Device
    received_at: dt.datetime | None
    shown_at: dt.datetime | None
    last_seen_at: dt.datetime | None
    online: bool

    @property
    def delivered(self) -> bool:
        return self.received_at is not None


@dataclass(frozen=True)
class Delivery:
    notice: UrgentNotice
    screens: list[ScreenDelivery]  # not yet delivered first

    @property
    def expected(self) -> int:
        return len(self.screens)

    @property
    def received(self) -> int:
        return sum(1 for s in self.screens if s.received_at is not None)

    @property
    def shown(self) -> int:
        return sum(1 for s in self.screens if s.shown_at is not None)

    @property
    def online(self) -> int:
        return sum(1 for s in self.screens if s.online)

    @property
    def pending(self) -> list[ScreenDelivery]:
        return [s for s in self.screens if s.received_at is None]


def delivery(session: Session, user: User, notice_id: int, now: dt.datetime) -> Delivery:
    """Which screens the notice should reach, and what each reported: the screens not yet
    delivered first (offline ones first among them), then those not yet showing it."""
    notice = get(session, user, notice_id)
    devices = reached_devices(session, notice)
    got = {
        r.device_id: r
        for r in session.scalars(
            select(UrgentReceipt).where(
                UrgentReceipt.notice_id == notice.id, UrgentReceipt.device_id.in_([d.id for d in devices])
            )
        )
    }
    screens = []
    for d in devices:
        r = got.get(d.id)
        online = d.last_seen_at is not None and now - d.last_seen_at <= ONLINE_WITHIN
        screens.append(ScreenDelivery(d, r.received_at if r else None, r.shown_at if r else None, d.last_seen_at, online))
    screens.sort(
        key=lambda s: (
            s.received_at is not None, s.shown_at is not None, s.online,
            s.device.site.area.path, s.device.site.name, s.device.name, s.device.id,
        )
    )
    return Delivery(notice, screens)
