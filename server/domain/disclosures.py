"""Disclosures: drafting, submitting and four-eyes review.

Nothing reaches a screen without approval by a reviewer who wrote no version of the
approved text; the approval names the exact version by its content hash and every
author of it. Status changes are conditional updates (`_transition`), so two reviewers
approving at the same moment produce one review and one conflict, on every backend.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from server.domain import archive, attachments, audit, catalogue, changes, content, periods, scanner
from server.domain.access import area_clause, area_in_scope, require
from server.domain.errors import Conflict, Forbidden, NotFound, ValidationFailed
from server.domain.text import N_
from server.models import (
    Area,
    CatalogueItem,
    Disclosure,
    DisclosureCase,
    DisclosureKind,
    DisclosureStatus,
    DisclosureVersion,
    Period,
    Review,
    ReviewDecision,
    Role,
    Scope,
    Timing,
    User,
)
from signage_layouts import dates

EDITABLE = (DisclosureStatus.draft, DisclosureStatus.rejected)
STATUS_LABELS = {
    DisclosureStatus.draft: N_("草稿"),
    DisclosureStatus.submitted: N_("待审核"),
    DisclosureStatus.approved: N_("已发布"),
    DisclosureStatus.rejected: N_("已退回"),
    DisclosureStatus.withdrawn: N_("已撤回"),
    DisclosureStatus.superseded: N_("已更正"),
}
MAX_REASON = 500


class Phase(enum.Enum):
    """Where an approved item stands in its posting period (公示期)."""

    upcoming = "upcoming"
    posted = "posted"
    ended = "ended"


def posting_phase(disclosure: Disclosure, now: dt.datetime) -> Phase:
    if disclosure.valid_from > now:
        return Phase.upcoming
    if disclosure.valid_to is not None and disclosure.valid_to <= now:
        return Phase.ended
    return Phase.posted


def shown_from(disclosure: Disclosure, internal: bool) -> dt.datetime:
    """When the item starts on an internal (党内) or a public screen or page: an item that
    goes first inside the party (先党内、后党外) reaches the public at `public_from`."""
    if internal or disclosure.public_from is None:
        return disclosure.valid_from
    return max(disclosure.valid_from, disclosure.public_from)


def internal_now(disclosure: Disclosure, now: dt.datetime) -> bool:
    """Whether the item may be seen only inside the party at `now`: an internal item, or
    one still in its internal phase."""
    return disclosure.scope is Scope.internal or shown_from(disclosure, False) > now


def slot_of(disclosure: Disclosure) -> str | None:
    """The obligation an approved item meets, as a unique key: one approved item per area,
    catalogue item and period, or per case and stage (ad hoc items without a case: none)."""
    if disclosure.period:
        return f"p:{disclosure.area_id}:{disclosure.catalogue_item_id}:{disclosure.period}"
    if disclosure.case_id is not None:
        return f"c:{disclosure.case_id}:{disclosure.stage or 0}"
    return None


@dataclass
class DraftInput:
    area_id: int
    catalogue_item_id: int
    title: str
    valid_from: dt.datetime
    valid_to: dt.datetime | None = None
    kind: DisclosureKind = DisclosureKind.notice
    body: str = ""
    table: dict[str, Any] | None = None
    scope: Scope | None = None
    period: str = ""  # regular items: "2026-11", "2026-Q4" or "2026"
    case_id: int | None = None  # staged and ad hoc items: the case this draft discloses
    case_title: str = ""  # … or a new case, opened by this draft
    case_opened_on: dt.date | None = None  # the new case's local day (its event, its start)
    stage: int | None = None  # staged items: which stage (0-based)
    attachments: list[str] = field(default_factory=list)  # sha256s, in the order shown


@dataclass(frozen=True)
class Placement:
    """Which obligation a draft meets and when it reaches the public."""

    period: str = ""
    case: DisclosureCase | None = None
    new_case: str = ""
    opened_on: dt.date | None = None
    stage: int | None = None
    public_from: dt.datetime | None = None


def visible_query(user: User) -> Select[Any]:
    return select(Disclosure).join(Disclosure.area).where(area_clause(user))


def get(session: Session, user: User, disclosure_id: int) -> Disclosure:
    found = session.scalar(visible_query(user).where(Disclosure.id == disclosure_id))
    if found is None:
        raise NotFound("未找到该公开事项。")
    return found


def list_visible(
    session: Session, user: User, status: DisclosureStatus | None = None, limit: int = 200
) -> list[Disclosure]:
    query = visible_query(user).order_by(Disclosure.updated_at.desc()).limit(limit)
    if status is not None:
        query = query.where(Disclosure.status == status)
    return list(session.scalars(query))


def _validated(
    session: Session, user: User, data: DraftInput, area: Area, now: dt.datetime, zone: str,
    editing: Disclosure | None = None,
) -> tuple[CatalogueItem, Scope, dict[str, Any], Placement]:
    item = session.get(CatalogueItem, data.catalogue_item_id)
    if item is None:
        raise ValidationFailed("请选择有效的目录项。", field="catalogue_item_id")
    if item.retired_at is not None and (editing is None or editing.catalogue_item_id != item.id):
        raise ValidationFailed("该目录项已停用，请选择其他目录项。", field="catalogue_item_id")
    if not catalogue.serves(item, area):
        raise ValidationFailed(f"“{item.title}”不在{area.name}的公开目录中。", field="catalogue_item_id")
    scope = data.scope or item.scope
    if item.scope is Scope.internal and scope is not Scope.internal:
        raise ValidationFailed("该目录项只能在党内公开。", field="scope")
    if data.valid_from.tzinfo is None or (data.valid_to and data.valid_to.tzinfo is None):
        raise ValidationFailed("时间必须带时区。", field="valid_from")
    if data.valid_to is not None and data.valid_to <= data.valid_from:
        raise ValidationFailed("结束时间必须晚于开始时间。", field="valid_to")
    title = content.clean_title(data.title)
    snapshot: dict[str, Any] = {"title": title, "body_source": "", "body_html": "", "table": None}
    if data.kind is DisclosureKind.notice:
        body = content.clean_body(data.body)
        if not body:
            raise ValidationFailed("正文不能为空。", field="body")
        snapshot.update(body_source=body, body_html=content.render_markdown(body))
    else:
        snapshot["table"] = content.clean_table(data.table)
        body = content.clean_body(data.body)
        snapshot.update(body_source=body, body_html=content.render_markdown(body))
    snapshot["attachments"] = attachments.refs(session, user, data.attachments)
    placement = _place(session, data, item, area, scope, editing, now, dates.local_day(now, zone))
    return item, scope, snapshot, placement


def _holder(session: Session, slot: str, editing: Disclosure | None) -> Disclosure | None:
    """The approved item already meeting `slot`, other than the one being edited and the
    one it corrects."""
    mine = {editing.id, editing.corrects_id} if editing is not None else set()
    held = session.scalar(select(Disclosure).where(Disclosure.slot == slot))
    return held if held is not None and held.id not in mine else None


def _place(
    session: Session, data: DraftInput, item: CatalogueItem, area: Area, scope: Scope,
    editing: Disclosure | None, now: dt.datetime, today: dt.date,
) -> Placement:
    """The obligation the draft meets (period, or case and stage), checked: a period or a
    stage already disclosed, a stage out of order, a case of another item are refused."""
    public_from = None
    if item.phased and scope is Scope.public:
        public_from = data.valid_from + dt.timedelta(days=item.internal_days)
        if data.valid_to is not None and public_from >= data.valid_to:
            raise ValidationFailed(
                f"该事项先在党内公开 {item.internal_days} 天，公示期必须更长。", field="valid_to"
            )
    if item.timing is Timing.regular:
        if data.case_id is not None or data.case_title.strip():
            raise ValidationFailed("定期公开的事项按期次公开，不属于某个事项案卷。", field="case_id")
        kind = Period(item.period) if item.period in {p.value for p in Period} else Period.monthly
        span = periods.parse(kind, data.period)
        if span.start > periods.following(periods.containing(kind, today), kind).start:
            raise ValidationFailed("公开期次不能晚于下一期。", field="period")
        held = _holder(session, f"p:{area.id}:{item.id}:{span.code}", editing)
        if held is not None:
            raise ValidationFailed(
                f"{area.name}“{item.title}”的这一期已经公开（第 {held.id} 号）；要修改请对它“更正”。",
                field="period",
            )
        return Placement(period=span.code, public_from=public_from)
    if data.period:
        raise ValidationFailed("只有定期公开的事项才填写期次。", field="period")
    stages = item.stages if item.timing is Timing.staged else []
    stage = data.stage if item.timing is Timing.staged else None
    if item.timing is Timing.staged:
        if stage is None or not 0 <= stage < len(stages):
            raise ValidationFailed("请选择公开的阶段。", field="stage")
    case = None
    if data.case_id is not None:
        case = session.get(DisclosureCase, data.case_id)
        if case is None or case.area_id != area.id or case.catalogue_item_id != item.id:
            raise ValidationFailed("所选事项案卷不属于这个单位和目录项。", field="case_id")
        if case.closed_at is not None and (editing is None or editing.case_id != case.id):
            raise ValidationFailed("该事项案卷已办结，不能再添加公开。", field="case_id")
    elif data.case_title.strip():
        title = content.clean_title(data.case_title, field="case_title")
        if stage:
            raise ValidationFailed(f"新的事项要从第一个阶段“{stages[0]}”开始公开。", field="stage")
        if data.case_opened_on is None:
            raise ValidationFailed("请填写事项的发生（开始）日期。", field="case_opened_on")
        return Placement(new_case=title, opened_on=data.case_opened_on, stage=0, public_from=public_from)
    elif item.timing is Timing.staged:
        raise ValidationFailed("分阶段公开的事项请选择事项案卷，或填写新事项的名称。", field="case_id")
    if case is None:
        return Placement(public_from=public_from)
    stage = stage or 0
    held = _holder(session, f"c:{case.id}:{stage}", editing)
    if held is not None:
        raise ValidationFailed(
            f"“{case.title}”的“{_stage_name(item, stage)}”阶段已经公开（第 {held.id} 号）；要修改请对它“更正”。",
            field="stage",
        )
    if stage > 0 and session.scalar(select(Disclosure.id).where(Disclosure.slot == f"c:{case.id}:{stage - 1}")) is None:
        raise ValidationFailed(
            f"请先公开“{case.title}”的上一阶段“{_stage_name(item, stage - 1)}”，再公开“{_stage_name(item, stage)}”。",
            field="stage",
        )
    return Placement(case=case, stage=stage, public_from=public_from)


def _stage_name(item: CatalogueItem, stage: int | None) -> str:
    if stage is None or not item.stages:
        return ""
    return item.stages[stage] if 0 <= stage < len(item.stages) else str(stage + 1)


def stage_name(disclosure: Disclosure) -> str:
    """The stage a staged item's disclosure shows (积极分子, 发展对象, ...), else ""."""
    return _stage_name(disclosure.catalogue_item, disclosure.stage)


def _placed(session: Session, user: User, disclosure: Disclosure, placement: Placement, now: dt.datetime) -> None:
    case = placement.case
    if placement.new_case:
        case = DisclosureCase(
            area_id=disclosure.area.id, catalogue_item_id=disclosure.catalogue_item.id,
            title=placement.new_case, opened_on=placement.opened_on,
            opened_by_id=user.id, created_at=now,
        )
        session.add(case)
        session.flush()
    disclosure.period, disclosure.case, disclosure.stage = placement.period, case, placement.stage
    disclosure.public_from = placement.public_from


def _new_version(disclosure: Disclosure, author: User, snapshot: dict[str, Any]) -> None:
    number = len(disclosure.versions) + 1
    hashed = {
        **snapshot,
        "kind": disclosure.kind.value,
        "scope": disclosure.scope.value,
        "area_id": disclosure.area_id,
        "catalogue_item_id": disclosure.catalogue_item_id,
        "valid_from": disclosure.valid_from.isoformat(),
        "valid_to": disclosure.valid_to.isoformat() if disclosure.valid_to else None,
        "public_from": disclosure.public_from.isoformat() if disclosure.public_from else None,
        "period": disclosure.period,
        "case_id": disclosure.case_id,
        "stage": disclosure.stage,
        "number": number,
    }
    disclosure.versions.append(
        DisclosureVersion(
            number=number,
            created_by_id=author.id,
            content_hash=content.content_hash(hashed),
            **snapshot,
        )
    )


def _state(disclosure: Disclosure) -> dict[str, Any]:
    """What the audit log digests: the object's fields and its latest version's hash."""
    return {
        "status": disclosure.status.value,
        "area_id": disclosure.area_id,
        "scope": disclosure.scope.value,
        "version": disclosure.latest_version.number if disclosure.versions else 0,
        "content_hash": disclosure.latest_version.content_hash if disclosure.versions else None,
    }


def _audit(
    session: Session, user: User, action: str, disclosure: Disclosure, now: dt.datetime,
    before: dict[str, Any] | None, **detail: Any,
) -> None:
    audit.record(
        session, user, action, now, target=("disclosure", disclosure.id), area=disclosure.area,
        before=before, after=_state(disclosure), detail={"title": disclosure.title, **detail},
    )


def _transition(
    session: Session, disclosure: Disclosure, allowed: tuple[DisclosureStatus, ...],
    new: DisclosureStatus, now: dt.datetime, message: str,
) -> None:
    """Move `disclosure` to `new` only if it is still in one of `allowed` in the database:
    a conditional UPDATE, so concurrent requests cannot both pass the check."""
    done = session.execute(
        update(Disclosure)
        .where(Disclosure.id == disclosure.id, Disclosure.status.in_(allowed))
        .values(status=new, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:  # type: ignore[attr-defined]
        session.refresh(disclosure)
        raise Conflict(message)
    disclosure.status, disclosure.updated_at = new, now
    session.flush()


def authors_of(disclosure: Disclosure, version: DisclosureVersion) -> list[int]:
    """Every user who wrote a version up to `version`: none of them may approve it."""
    ids: list[int] = [disclosure.author_id]
    for v in disclosure.versions:
        if v.number <= version.number and v.created_by_id not in ids:
            ids.append(v.created_by_id)
    return ids


def create_draft(
    session: Session, user: User, data: DraftInput, now: dt.datetime, zone: str = dates.DEFAULT_ZONE,
) -> Disclosure:
    """A new draft; `zone` is the township's (which period is "now" for a regular item)."""
    area = area_in_scope(session, user, data.area_id, Role.editor)
    item, scope, snapshot, placement = _validated(session, user, data, area, now, zone)
    disclosure = Disclosure(
        area=area,
        catalogue_item=item,
        kind=data.kind,
        scope=scope,
        title=snapshot["title"],
        valid_from=data.valid_from,
        valid_to=data.valid_to,
        author=user,
        created_at=now,
        updated_at=now,
    )
    session.add(disclosure)
    _placed(session, user, disclosure, placement, now)
    session.flush()
    _new_version(disclosure, user, snapshot)
    session.flush()
    _audit(session, user, "disclosure.create", disclosure, now, None)
    return disclosure


def update_draft(
    session: Session, user: User, disclosure_id: int, data: DraftInput, now: dt.datetime,
    zone: str = dates.DEFAULT_ZONE,
) -> Disclosure:
    disclosure = get(session, user, disclosure_id)
    require(user, disclosure.area, Role.editor)
    if disclosure.status not in EDITABLE:
        raise Conflict("只有草稿或被退回的事项可以修改。")
    area = area_in_scope(session, user, data.area_id, Role.editor)
    if disclosure.corrects_id is not None and (
        area.id != disclosure.area_id or data.catalogue_item_id != disclosure.catalogue_item_id
    ):
        raise ValidationFailed("更正稿的公开单位和目录项与被更正的事项相同，不能改。", field="catalogue_item_id")
    item, scope, snapshot, placement = _validated(session, user, data, area, now, zone, disclosure)
    before = _state(disclosure)
    _transition(session, disclosure, EDITABLE, DisclosureStatus.draft, now, "只有草稿或被退回的事项可以修改。")
    disclosure.area, disclosure.catalogue_item, disclosure.scope = area, item, scope
    disclosure.kind, disclosure.title = data.kind, snapshot["title"]
    disclosure.valid_from, disclosure.valid_to = data.valid_from, data.valid_to
    _placed(session, user, disclosure, placement, now)
    session.flush()
    _new_version(disclosure, user, snapshot)
    session.flush()
    _audit(session, user, "disclosure.edit", disclosure, now, before)
    return disclosure


def submit(session: Session, user: User, disclosure_id: int, now: dt.datetime) -> Disclosure:
    disclosure = get(session, user, disclosure_id)
    require(user, disclosure.area, Role.editor)
    scanner.refuse_unmasked(session, disclosure.area, disclosure.latest_version)
    before = _state(disclosure)
    _transition(session, disclosure, EDITABLE, DisclosureStatus.submitted, now, "该事项已提交或已发布，不能重复提交。")
    _audit(session, user, "disclosure.submit", disclosure, now, before)
    return disclosure


def _review(
    session: Session,
    user: User,
    disclosure_id: int,
    decision: ReviewDecision,
    now: dt.datetime,
    comment: str,
    expected_hash: str | None,
    zone: str = dates.DEFAULT_ZONE,
) -> Disclosure:
    disclosure = get(session, user, disclosure_id)
    require(user, disclosure.area, Role.reviewer)
    version = disclosure.latest_version
    authors = authors_of(disclosure, version)
    if user.id in authors:
        raise Forbidden("你参与了这份内容的起草或修改，不能审核它，请由其他审核人审核。")
    if disclosure.status is not DisclosureStatus.submitted:
        raise Conflict("只有待审核的事项可以审核。")
    if expected_hash is not None and expected_hash != version.content_hash:
        raise Conflict("内容已被修改，请重新查看后再审核。", field="content_hash")
    if len(comment) > 500:
        raise ValidationFailed("审核意见最多 500 个字。", field="comment")
    if decision is ReviewDecision.rejected and not comment.strip():
        raise ValidationFailed("退回时请写明原因。", field="comment")
    before = _state(disclosure)
    approved = decision is ReviewDecision.approved
    _transition(
        session, disclosure, (DisclosureStatus.submitted,),
        DisclosureStatus.approved if approved else DisclosureStatus.rejected, now,
        "该事项已被其他审核人处理，请刷新后查看。",
    )
    session.add(
        Review(
            disclosure=disclosure,
            version=version,
            reviewer=user,
            decision=decision,
            content_hash=version.content_hash,
            comment=comment.strip(),
            decided_at=now,
            authors=[session.get_one(User, uid) for uid in authors],
        )
    )
    if approved:
        corrected = _supersede(session, user, disclosure, now) if disclosure.corrects_id is not None else None
        _claim_slot(session, disclosure)
        disclosure.published_version = version
        if disclosure.case is not None and disclosure.stage == max(len(disclosure.catalogue_item.stages), 1) - 1:
            disclosure.case.closed_at = now
        changes.disclosure_changed(session, disclosure, now)
        session.flush()
        # The archive keeps what was approved and what it replaced, in this transaction.
        archive.record(session, "approved", disclosure, now, user, version=version, timezone=zone)
        if corrected is not None:
            archive.record(session, "corrected", corrected, now, user, correction=disclosure,
                           reason=disclosure.correction_reason, timezone=zone)
    session.flush()
    _audit(
        session, user, "disclosure.approve" if approved else "disclosure.reject", disclosure, now, before,
        content_hash=version.content_hash, authors=[session.get_one(User, uid).username for uid in authors],
    )
    return disclosure


def _claim_slot(session: Session, disclosure: Disclosure) -> None:
    """Take the obligation's unique slot; a concurrent approval of the same period or stage
    fails here on any backend (the unique index), and the request is rolled back."""
    slot = slot_of(disclosure)
    if slot is None:
        return
    held = _holder(session, slot, disclosure)
    if held is not None:
        raise Conflict(f"这一期次或阶段已由第 {held.id} 号事项公开，不能重复公开；要修改请对它“更正”。", field="period")
    disclosure.slot = slot
    try:
        session.flush()
    except IntegrityError as err:
        raise Conflict("这一期次或阶段刚刚已由其他事项公开，请刷新后查看。", field="period") from err


def _supersede(session: Session, user: User, correction: Disclosure, now: dt.datetime) -> Disclosure:
    """Approving a correction (更正) takes the corrected item off every screen and page."""
    old = correction.corrects
    assert old is not None
    before = _state(old)
    _transition(
        session, old, (DisclosureStatus.approved,), DisclosureStatus.superseded, now,
        "被更正的事项已经撤回或已被另一份更正替换，这份更正不能再通过。",
    )
    old.slot = None
    session.flush()
    changes.disclosure_changed(session, old, now)
    _audit(session, user, "disclosure.supersede", old, now, before, corrected_by=correction.id,
           reason=correction.correction_reason)
    return old


def _reason(reason: str, what: str) -> str:
    reason = " ".join((reason or "").split())
    if len(reason) < 2:
        raise ValidationFailed(f"请写明{what}的原因。", field="reason")
    if len(reason) > MAX_REASON:
        raise ValidationFailed(f"{what}原因最多 {MAX_REASON} 个字。", field="reason")
    return reason


def withdraw(
    session: Session, user: User, disclosure_id: int, reason: str, now: dt.datetime, zone: str = dates.DEFAULT_ZONE,
) -> Disclosure:
    """Take an approved item off every screen and page before its posting period ends
    (a reviewer of its area decides, with a reason); recorded, audited and archived."""
    disclosure = get(session, user, disclosure_id)
    require(user, disclosure.area, Role.reviewer)
    reason = _reason(reason, "撤回")
    before = _state(disclosure)
    _transition(session, disclosure, (DisclosureStatus.approved,), DisclosureStatus.withdrawn, now,
                "只有已发布的事项可以撤回。")
    disclosure.withdrawn_at, disclosure.withdrawn_by_id, disclosure.withdraw_reason = now, user.id, reason
    disclosure.slot = None
    session.flush()
    changes.disclosure_changed(session, disclosure, now)
    _audit(session, user, "disclosure.withdraw", disclosure, now, before, reason=reason)
    archive.record(session, "withdrawn", disclosure, now, user, reason=reason, timezone=zone)
    return disclosure


def open_correction(session: Session, user: User, disclosure_id: int, reason: str, now: dt.datetime) -> Disclosure:
    """Start a correction (更正) of an approved item: a new draft holding its published
    content, reviewed like any draft; on approval it replaces the item and is shown as
    corrected. One correction at a time."""
    original = get(session, user, disclosure_id)
    require(user, original.area, Role.editor)
    reason = _reason(reason, "更正")
    if original.status is not DisclosureStatus.approved or original.published_version is None:
        raise Conflict("只有已发布的事项可以更正。")
    pending = session.scalar(
        select(Disclosure.id).where(
            Disclosure.corrects_id == original.id,
            Disclosure.status.in_((*EDITABLE, DisclosureStatus.submitted)),
        )
    )
    if pending is not None:
        raise Conflict(f"这项内容已有一份更正稿（第 {pending} 号），请在那份上修改。")
    published = original.published_version
    correction = Disclosure(
        area=original.area, catalogue_item=original.catalogue_item, kind=original.kind,
        scope=original.scope, title=published.title, valid_from=original.valid_from,
        valid_to=original.valid_to, author=user, created_at=now, updated_at=now,
        period=original.period, case=original.case, stage=original.stage,
        public_from=original.public_from, corrects=original, correction_reason=reason,
        in_default_loop=original.in_default_loop,
    )
    session.add(correction)
    session.flush()
    _new_version(correction, user, {
        "title": published.title, "body_source": published.body_source, "body_html": published.body_html,
        "table": published.table, "attachments": list(published.attachments or []),
    })
    session.flush()
    _audit(session, user, "disclosure.correct", correction, now, None, corrects=original.id, reason=reason)
    return correction


def corrected_by(session: Session, disclosure: Disclosure) -> Disclosure | None:
    """The newest correction (更正) of `disclosure`, whatever its state."""
    return session.scalar(
        select(Disclosure).where(Disclosure.corrects_id == disclosure.id).order_by(Disclosure.id.desc()).limit(1)
    )


def approve(
    session: Session,
    user: User,
    disclosure_id: int,
    now: dt.datetime,
    comment: str = "",
    expected_hash: str | None = None,
    zone: str = dates.DEFAULT_ZONE,
) -> Disclosure:
    """Approve the submitted version; `zone` is the township's, in which the archive records
    the boards as screens render them."""
    return _review(session, user, disclosure_id, ReviewDecision.approved, now, comment, expected_hash, zone)


def reject(
    session: Session, user: User, disclosure_id: int, now: dt.datetime, comment: str
) -> Disclosure:
    return _review(session, user, disclosure_id, ReviewDecision.rejected, now, comment, None)


def preview_draft(
    session: Session, user: User, data: DraftInput, now: dt.datetime, zone: str = dates.DEFAULT_ZONE,
) -> tuple[Disclosure, DisclosureVersion]:
    """The disclosure and version a draft would make, checked like `create_draft` (the user
    edits the chosen area) but never saved: the objects are not added to the session."""
    area = area_in_scope(session, user, data.area_id, Role.editor)
    item, scope, snapshot, placement = _validated(session, user, data, area, now, zone)
    disclosure = Disclosure(
        area=area, catalogue_item=item, kind=data.kind, scope=scope, title=snapshot["title"],
        valid_from=data.valid_from, valid_to=data.valid_to, created_at=now, updated_at=now,
        period=placement.period, case=placement.case, stage=placement.stage, public_from=placement.public_from,
    )
    version = DisclosureVersion(number=1, content_hash="", **snapshot)
    return disclosure, version
