"""Disclosures: drafting, submitting and four-eyes review.

Nothing reaches a screen without approval by a reviewer who wrote no version of the
approved text; the approval names the exact version by its content hash and every
author of it. Status changes are conditional updates (`_transition`), so two reviewers
approving at the same moment produce one review and one conflict, on every backend.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select, update
from sqlalchemy.orm import Session

from server.domain import audit, changes, content
from server.domain.access import area_clause, area_in_scope, require
from server.domain.errors import Conflict, Forbidden, NotFound, ValidationFailed
from server.domain.text import N_
from server.models import (
    CatalogueItem,
    Disclosure,
    DisclosureKind,
    DisclosureStatus,
    DisclosureVersion,
    Review,
    ReviewDecision,
    Role,
    Scope,
    User,
)

EDITABLE = (DisclosureStatus.draft, DisclosureStatus.rejected)
STATUS_LABELS = {
    DisclosureStatus.draft: N_("草稿"),
    DisclosureStatus.submitted: N_("待审核"),
    DisclosureStatus.approved: N_("已发布"),
    DisclosureStatus.rejected: N_("已退回"),
    DisclosureStatus.withdrawn: N_("已撤回"),
}


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


def _validated(session: Session, data: DraftInput) -> tuple[CatalogueItem, Scope, dict[str, Any]]:
    item = session.get(CatalogueItem, data.catalogue_item_id)
    if item is None:
        raise ValidationFailed("请选择有效的目录项。", field="catalogue_item_id")
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
    return item, scope, snapshot


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


def create_draft(session: Session, user: User, data: DraftInput, now: dt.datetime) -> Disclosure:
    area = area_in_scope(session, user, data.area_id, Role.editor)
    item, scope, snapshot = _validated(session, data)
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
    session.flush()
    _new_version(disclosure, user, snapshot)
    session.flush()
    _audit(session, user, "disclosure.create", disclosure, now, None)
    return disclosure


def update_draft(
    session: Session, user: User, disclosure_id: int, data: DraftInput, now: dt.datetime
) -> Disclosure:
    disclosure = get(session, user, disclosure_id)
    require(user, disclosure.area, Role.editor)
    if disclosure.status not in EDITABLE:
        raise Conflict("只有草稿或被退回的事项可以修改。")
    area = area_in_scope(session, user, data.area_id, Role.editor)
    item, scope, snapshot = _validated(session, data)
    before = _state(disclosure)
    _transition(session, disclosure, EDITABLE, DisclosureStatus.draft, now, "只有草稿或被退回的事项可以修改。")
    disclosure.area, disclosure.catalogue_item, disclosure.scope = area, item, scope
    disclosure.kind, disclosure.title = data.kind, snapshot["title"]
    disclosure.valid_from, disclosure.valid_to = data.valid_from, data.valid_to
    session.flush()
    _new_version(disclosure, user, snapshot)
    session.flush()
    _audit(session, user, "disclosure.edit", disclosure, now, before)
    return disclosure


def submit(session: Session, user: User, disclosure_id: int, now: dt.datetime) -> Disclosure:
    disclosure = get(session, user, disclosure_id)
    require(user, disclosure.area, Role.editor)
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
        disclosure.published_version = version
        changes.disclosure_changed(session, disclosure, now)
    session.flush()
    _audit(
        session, user, "disclosure.approve" if approved else "disclosure.reject", disclosure, now, before,
        content_hash=version.content_hash, authors=[session.get_one(User, uid).username for uid in authors],
    )
    return disclosure


def approve(
    session: Session,
    user: User,
    disclosure_id: int,
    now: dt.datetime,
    comment: str = "",
    expected_hash: str | None = None,
) -> Disclosure:
    return _review(session, user, disclosure_id, ReviewDecision.approved, now, comment, expected_hash)


def reject(
    session: Session, user: User, disclosure_id: int, now: dt.datetime, comment: str
) -> Disclosure:
    return _review(session, user, disclosure_id, ReviewDecision.rejected, now, comment, None)


def preview_draft(
    session: Session, user: User, data: DraftInput, now: dt.datetime
) -> tuple[Disclosure, DisclosureVersion]:
    """The disclosure and version a draft would make, checked like `create_draft` (the user
    edits the chosen area) but never saved: the objects are not added to the session."""
    area = area_in_scope(session, user, data.area_id, Role.editor)
    item, scope, snapshot = _validated(session, data)
    disclosure = Disclosure(
        area=area, catalogue_item=item, kind=data.kind, scope=scope, title=snapshot["title"],
        valid_from=data.valid_from, valid_to=data.valid_to, created_at=now, updated_at=now,
    )
    version = DisclosureVersion(number=1, content_hash="", **snapshot)
    return disclosure, version
