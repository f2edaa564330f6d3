"""Feedback tickets: submission from a phone, the handler's answer, the echo wall.

Every submission gets a ticket code at once; nothing is lost. Feedback inherits the scope
of what it was about (an internal item, or an internal screen), and its public answer is
shown only where that scope may be shown. Authors' names and phones are seen only by
handlers and supervisors; a report (举报) only by supervisors and by handlers above the
village concerned. The echo wall shows answers marked public, anonymised and masked.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import ColumnElement, false, or_, select
from sqlalchemy.orm import Session, contains_eager, lazyload

from server.domain import audit, changes, disclosures, reach
from server.domain.access import area_clause, can_act, require, subtree_paths
from server.domain.errors import Conflict, NotFound, ValidationFailed
from server.domain.masking import mask_text
from server.domain.secrets import readable_code
from server.domain.text import N_
from server.models import (
    Area,
    Device,
    Disclosure,
    Feedback,
    FeedbackAnswer,
    FeedbackKind,
    FeedbackStatus,
    Role,
    Scope,
    User,
)

MAX_BODY = 1000
MAX_ANSWER = 2000
ANSWER_WORKING_DAYS = 5
KIND_LABELS = {
    FeedbackKind.opinion: N_("意见"),
    FeedbackKind.suggestion: N_("建议"),
    FeedbackKind.question: N_("咨询"),
    FeedbackKind.report: N_("举报"),
}
STATUS_LABELS = {FeedbackStatus.open: N_("待答复"), FeedbackStatus.answered: N_("已答复")}


@dataclass
class FeedbackInput:
    kind: str
    body: str
    anonymous: bool = True
    name: str = ""
    phone: str = ""


def add_working_days(start: dt.datetime, days: int) -> dt.datetime:
    """Monday–Friday working days; the Chinese holiday calendar comes with ticket routing."""
    current = start
    while days > 0:
        current += dt.timedelta(days=1)
        if current.weekday() < 5:
            days -= 1
    return current


def submit(
    session: Session,
    data: FeedbackInput,
    *,
    area: Area,
    disclosure: Disclosure | None,
    device: Device | None,
    now: dt.datetime,
) -> Feedback:
    try:
        kind = FeedbackKind(data.kind)
    except ValueError:
        raise ValidationFailed(N_("请选择类型：意见、建议、咨询或举报。"), field="kind") from None
    body = (data.body or "").strip()
    if not body:
        raise ValidationFailed(N_("请填写内容。"), field="body")
    if len(body) > MAX_BODY:
        raise ValidationFailed(f"内容最多 {MAX_BODY} 个字，现在有 {len(body)} 个。", field="body")
    name = " ".join((data.name or "").split())
    phone = "".join((data.phone or "").split())
    if len(name) > 32:
        raise ValidationFailed(N_("姓名最多 32 个字。"), field="name")
    if phone and not (phone.isdigit() and 7 <= len(phone) <= 15):
        raise ValidationFailed(N_("电话号码只能是 7–15 位数字。"), field="phone")
    anonymous = data.anonymous or not (name or phone)
    internal = (disclosure is not None and disclosures.internal_now(disclosure, now)) or (
        device is not None and device.internal
    )
    feedback = Feedback(
        ticket_code=_unique_ticket(session),
        area=area,
        disclosure=disclosure,
        device=device,
        kind=kind,
        scope=Scope.internal if internal else Scope.public,
        body=body,
        anonymous=anonymous,
        author_name="" if anonymous else name,
        author_phone="" if anonymous else phone,
        created_at=now,
        due_at=add_working_days(now, ANSWER_WORKING_DAYS),
    )
    session.add(feedback)
    session.flush()
    return feedback


def _unique_ticket(session: Session) -> str:
    while True:
        code = readable_code(8)
        if session.scalar(select(Feedback.id).where(Feedback.ticket_code == code)) is None:
            return code


def by_ticket(session: Session, code: str) -> Feedback:
    code = (code or "").strip().upper()
    found = session.scalar(select(Feedback).where(Feedback.ticket_code == code)) if code else None
    if found is None:
        raise NotFound("没有这个回执号。")
    return found


CONTACT_ROLES = (Role.handler, Role.supervisor)


def _report_clause(user: User) -> ColumnElement[bool]:
    """Areas whose reports the user may read: a supervisor's subtrees, and the subtrees of
    a handler's grants strictly below the grant's own area (never the grant's own area)."""
    supervised = [Area.path.startswith(p, autoescape=True) for p in subtree_paths(user, [Role.supervisor])]
    above = [
        Area.path.startswith(p, autoescape=True) & (Area.path != p)
        for p in subtree_paths(user, [Role.handler])
    ]
    return or_(*supervised, *above) if supervised or above else false()


def visible_clause(user: User) -> ColumnElement[bool]:
    """Feedback a user may read: their subtrees, reports only as `_report_clause` allows."""
    return area_clause(user) & ((Feedback.kind != FeedbackKind.report) | _report_clause(user))


def contact_visible(user: User, feedback: Feedback) -> bool:
    """Whether `user` may see the author's name and phone (handlers and supervisors)."""
    return can_act(user, feedback.area, CONTACT_ROLES)


def inbox(
    session: Session, user: User, status: FeedbackStatus | None = None, limit: int = 200
) -> list[Feedback]:
    query = (
        select(Feedback)
        .join(Feedback.area)
        .where(visible_clause(user))
        .order_by(Feedback.status, Feedback.due_at)
        .limit(limit)
    )
    if status is not None:
        query = query.where(Feedback.status == status)
    return list(session.scalars(query))


def get(session: Session, user: User, feedback_id: int) -> Feedback:
    found = session.scalar(
        select(Feedback).join(Feedback.area).where(visible_clause(user), Feedback.id == feedback_id)
    )
    if found is None:
        raise NotFound("未找到该反馈。")
    return found


def answer(
    session: Session, user: User, feedback_id: int, body: str, public: bool, now: dt.datetime
) -> FeedbackAnswer:
    feedback = get(session, user, feedback_id)
    require(user, feedback.area, Role.handler)
    body = (body or "").strip()
    if not body:
        raise ValidationFailed("请填写答复内容。", field="body")
    if len(body) > MAX_ANSWER:
        raise ValidationFailed(f"答复最多 {MAX_ANSWER} 个字。", field="body")
    if feedback.kind is FeedbackKind.report and public:
        raise Conflict("举报的处理结果只私下告知举报人，不能上回音壁。", field="public")
    reply = FeedbackAnswer(feedback=feedback, handler=user, body=body, public=public, answered_at=now)
    session.add(reply)
    feedback.status = FeedbackStatus.answered
    session.flush()
    if public:
        changes.loop_changed(session, feedback.area, now, internal_only=feedback.scope is Scope.internal)
    audit.record(
        session, user, "feedback.answer", now, target=("feedback", feedback.id), area=feedback.area,
        after={"status": feedback.status.value, "answers": len(feedback.answers), "public": public},
        detail={"ticket": feedback.ticket_code, "public": public},
    )
    return reply


@dataclass(frozen=True)
class EchoEntry:
    """One anonymised question and answer, safe for any public screen."""

    kind_label: str
    asked_at: dt.datetime
    question: str
    answer: str
    answered_at: dt.datetime


def echo_wall(session: Session, area: Area, *, internal: bool = False, limit: int = 6) -> list[EchoEntry]:
    """Public answers of `area`'s subtree (see `reach`), of the scopes an `internal` screen
    or a public one may show."""
    query = (
        select(FeedbackAnswer)
        .join(FeedbackAnswer.feedback)
        .join(Feedback.area)
        .where(
            FeedbackAnswer.public.is_(True),
            reach.echo_clause(area),
            Feedback.scope.in_(reach.scopes(internal)),
        )
        .order_by(FeedbackAnswer.answered_at.desc())
        .limit(limit)
        # Only the texts are needed: skip the relationships loaded eagerly elsewhere.
        .options(
            contains_eager(FeedbackAnswer.feedback).options(
                lazyload(Feedback.disclosure), lazyload(Feedback.area), lazyload(Feedback.answers)
            ),
            lazyload(FeedbackAnswer.handler),
        )
    )
    return [
        EchoEntry(
            kind_label=KIND_LABELS[a.feedback.kind],
            asked_at=a.feedback.created_at,
            question=mask_text(a.feedback.body),
            answer=mask_text(a.body),
            answered_at=a.answered_at,
        )
        for a in session.scalars(query)
    ]
