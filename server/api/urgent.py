"""API: urgent notices (临时通知) — drafting, four-eyes review, cancelling, delivery — and
the screens' receipts (device protocol, see docs/urgent.md)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from flask import current_app
from flask_babel import gettext as _
from pydantic import AwareDatetime, BaseModel, Field

from server.api import current_actor, endpoint
from server.api.devices import credential_key, current_device
from server.api.schemas import DatabaseId, Strict
from server.clock import now
from server.domain import devices, urgent
from server.domain.errors import ValidationFailed
from server.extensions import db_session, limiter
from server.inputs import parse_body
from server.models import Scope, TargetKind, UrgentNotice, UrgentStatus
from signage_layouts import dates

TAG = "urgent"
MAX_RECEIPTS = 500

# --------------------------------------------------------------------------- schemas


class UrgentIn(Strict):
    area_id: DatabaseId = Field(description="the issuing area: its editors or schedulers draft, its reviewers approve")
    title: str = Field(max_length=200, description=f"1–{urgent.MAX_TITLE} characters")
    body: str = Field(default="", max_length=2000, description=f"plain text, line breaks kept, at most {urgent.MAX_BODY} characters")
    target_kind: Literal["area", "site", "group", "device"]
    target_id: DatabaseId = Field(description="must lie inside the issuing area")
    scope: Literal["public", "internal"] = Field(default="public", description="internal: only the target's party-internal screens")
    starts_at: AwareDatetime | None = Field(default=None, description="empty: from the moment it is approved")
    ends_at: AwareDatetime | None = Field(default=None, description=f"required; after the start and now, at most {urgent.MAX_LENGTH.days} days after the start")
    read_aloud: bool = Field(default=False, description="screens play the notice's read-aloud audio while it is shown")


class UrgentOut(BaseModel):
    id: int
    area_id: int
    area: str
    title: str
    body: str
    scope: str
    target_kind: str
    target_id: int
    target: str = Field(description="the target as people read it")
    status: str
    phase: str = Field(description="approved notices: upcoming, live or ended; others: their status")
    starts_at: dt.datetime | None = Field(description="null until approved when left empty")
    ends_at: dt.datetime
    read_aloud: bool
    content_hash: str = Field(description="approve with this as expected_hash")
    author: str
    reviewer: str | None
    decided_at: dt.datetime | None
    review_comment: str
    cancelled_at: dt.datetime | None
    cancel_reason: str
    screens: int | None = Field(default=None, description="screens in service the notice reaches (single notices only)")
    created_at: dt.datetime
    updated_at: dt.datetime


class UrgentList(BaseModel):
    items: list[UrgentOut]


class UrgentQuery(Strict):
    status: UrgentStatus | None = Field(default=None, description="only notices in this status")


class UrgentApproveIn(Strict):
    expected_hash: str = Field(min_length=1, max_length=64, description="the content_hash of the version the reviewer read")
    comment: str = Field(default="", max_length=500)


class UrgentRejectIn(Strict):
    comment: str = Field(max_length=500, description="required: why it goes back")


class UrgentCancelIn(Strict):
    reason: str = Field(max_length=200, description="required: why it is taken off the screens")


class DeliveryScreenOut(BaseModel):
    id: int
    name: str
    site: str
    area: str
    internal: bool
    received_at: dt.datetime | None
    shown_at: dt.datetime | None
    last_seen_at: dt.datetime | None
    online: bool = Field(description=f"seen in the last {int(urgent.ONLINE_WITHIN.total_seconds() // 60)} minutes")
    state: Literal["shown", "received", "waiting", "offline"]
    state_text: str = Field(description="the state as the delivery page says it, times in the township's zone")


class UrgentDeliveryOut(BaseModel):
    notice: int
    title: str
    status: str
    phase: str
    expected: int = Field(description="screens in service the notice reaches")
    received: int
    shown: int
    online: int
    summary: str = Field(description="e.g. 已送达 37 / 40 块屏幕；已显示 35")
    screens: list[DeliveryScreenOut] = Field(description="not yet delivered first")


class UrgentReceiptIn(Strict):
    notice: DatabaseId
    state: Literal["received", "shown"]
    at: AwareDatetime


class UrgentReceiptsIn(Strict):
    receipts: list[UrgentReceiptIn] = Field(max_length=MAX_RECEIPTS)


class UrgentReceiptsOut(BaseModel):
    accepted: int = Field(description="receipts about notices that reach this screen; the others are ignored")


def parse_receipts(data: Any) -> list[urgent.ReceiptItem]:
    """A receipt {"notice", "state", "at"} or a batch {"receipts": [...]}, checked by the
    schemas above (Socket.IO and HTTP alike); a bad shape is a ValidationFailed naming
    the field."""
    if isinstance(data, dict) and "receipts" in data:
        batch: UrgentReceiptsIn = parse_body(UrgentReceiptsIn, data)
        given = batch.receipts
    elif data is None:
        raise ValidationFailed("缺少回执内容。", field="body")
    else:
        given = [parse_body(UrgentReceiptIn, data)]
    return [urgent.ReceiptItem(r.notice, r.state, r.at) for r in given]


# --------------------------------------------------------------------------- output


def _zone() -> str:
    return str(current_app.config["TIMEZONE"])


def serialise(n: UrgentNotice, moment: dt.datetime, screens: int | None = None) -> UrgentOut:
    return UrgentOut(
        id=n.id, area_id=n.area_id, area=n.area.name, title=n.title, body=n.body, scope=n.scope.value,
        target_kind=n.target_kind.value, target_id=n.target_id,
        target=urgent.target_name(db_session(), n.target_kind, n.target_id),
        status=n.status.value, phase=urgent.phase(n, moment), starts_at=n.starts_at, ends_at=n.ends_at,
        read_aloud=n.read_aloud, content_hash=n.content_hash, author=n.author.username,
        reviewer=n.reviewer.username if n.reviewer else None, decided_at=n.decided_at,
        review_comment=n.review_comment, cancelled_at=n.cancelled_at, cancel_reason=n.cancel_reason,
        screens=screens, created_at=n.created_at, updated_at=n.updated_at,
    )


def _one(n: UrgentNotice, moment: dt.datetime) -> UrgentOut:
    return serialise(n, moment, urgent.reached_count(db_session(), n))


def short_time(value: dt.datetime, moment: dt.datetime) -> str:
    return dates.admin_moment(value, moment, _zone())


def _screen(s: urgent.ScreenDelivery, moment: dt.datetime) -> DeliveryScreenOut:
    state: Literal["shown", "received", "waiting", "offline"]
    if s.shown_at is not None:
        state, text = "shown", _("已显示（%(time)s）", time=short_time(s.shown_at, moment))
    elif s.received_at is not None:
        state, text = "received", _("已送达 %(time)s，尚未显示", time=short_time(s.received_at, moment))
    elif s.online:
        state, text = "waiting", _("在线，等待送达")
    elif s.last_seen_at is not None:
        state, text = "offline", _("离线（最后在线 %(time)s）", time=short_time(s.last_seen_at, moment))
    else:
        state, text = "offline", _("离线（从未上线）")
    d = s.device
    return DeliveryScreenOut(
        id=d.id, name=d.name, site=d.site.name, area=d.site.area.name, internal=d.internal,
        received_at=s.received_at, shown_at=s.shown_at, last_seen_at=s.last_seen_at, online=s.online,
        state=state, state_text=text,
    )


def delivery_out(report: urgent.Delivery, moment: dt.datetime) -> UrgentDeliveryOut:
    """The delivery report as the API answers it and the delivery page shows it."""
    n = report.notice
    return UrgentDeliveryOut(
        notice=n.id, title=n.title, status=n.status.value, phase=urgent.phase(n, moment),
        expected=report.expected, received=report.received, shown=report.shown, online=report.online,
        summary=_("已送达 %(received)s / %(expected)s 块屏幕；已显示 %(shown)s",
                  received=report.received, expected=report.expected, shown=report.shown),
        screens=[_screen(s, moment) for s in report.screens],
    )


def _input(payload: UrgentIn) -> urgent.UrgentInput:
    return urgent.UrgentInput(
        area_id=payload.area_id, title=payload.title, body=payload.body,
        target_kind=TargetKind(payload.target_kind), target_id=payload.target_id,
        ends_at=payload.ends_at, starts_at=payload.starts_at, scope=Scope(payload.scope),
        read_aloud=payload.read_aloud,
    )


# --------------------------------------------------------------------------- routes


@endpoint("get", "/urgent-notices", summary="Urgent notices in the caller's areas, newest first", tag=TAG, query=UrgentQuery, response=UrgentList)
def list_urgent(query: UrgentQuery):
    moment = now()
    rows = urgent.list_visible(db_session(), current_actor(), query.status)
    return UrgentList(items=[serialise(n, moment) for n in rows])


@endpoint("post", "/urgent-notices", summary="Draft an urgent notice", tag=TAG, body=UrgentIn, response=UrgentOut, status=201, responses={403: "not an editor or scheduler of the area", 422: "invalid field"})
def create_urgent(payload: UrgentIn):
    moment = now()
    return _one(urgent.create(db_session(), current_actor(), _input(payload), moment), moment)


@endpoint("get", "/urgent-notices/{notice_id}", summary="One urgent notice", tag=TAG, response=UrgentOut, responses={404: "missing or outside the caller's areas"})
def get_urgent(notice_id: int):
    return _one(urgent.get(db_session(), current_actor(), notice_id), now())


@endpoint("put", "/urgent-notices/{notice_id}", summary="Replace a draft or rejected notice", tag=TAG, body=UrgentIn, response=UrgentOut, responses={404: "not found", 409: "not editable", 422: "invalid field"})
def update_urgent(notice_id: int, payload: UrgentIn):
    moment = now()
    return _one(urgent.update(db_session(), current_actor(), notice_id, _input(payload), moment), moment)


@endpoint("post", "/urgent-notices/{notice_id}/submit", summary="Submit for review (reviewers are told at once)", tag=TAG, response=UrgentOut, responses={404: "not found", 409: "already submitted", 422: "its end has passed"})
def submit_urgent(notice_id: int):
    moment = now()
    return _one(urgent.submit(db_session(), current_actor(), notice_id, moment), moment)


@endpoint("post", "/urgent-notices/{notice_id}/approve", summary="Approve and publish at once (never by an author)", tag=TAG, body=UrgentApproveIn, response=UrgentOut, responses={403: "an author, or not a reviewer", 404: "not found", 409: "not submitted, changed since read, or already ended"})
def approve_urgent(notice_id: int, payload: UrgentApproveIn):
    moment = now()
    done = urgent.approve(db_session(), current_actor(), notice_id, moment, payload.expected_hash, payload.comment)
    return _one(done, moment)


@endpoint("post", "/urgent-notices/{notice_id}/reject", summary="Send back to its author", tag=TAG, body=UrgentRejectIn, response=UrgentOut, responses={403: "an author, or not a reviewer", 404: "not found", 409: "not submitted", 422: "reason missing"})
def reject_urgent(notice_id: int, payload: UrgentRejectIn):
    moment = now()
    return _one(urgent.reject(db_session(), current_actor(), notice_id, moment, payload.comment), moment)


@endpoint("post", "/urgent-notices/{notice_id}/cancel", summary="Take an approved notice off every screen", tag=TAG, body=UrgentCancelIn, response=UrgentOut, responses={403: "not a scheduler, reviewer or its author", 404: "not found", 409: "not on screens", 422: "reason missing"})
def cancel_urgent(notice_id: int, payload: UrgentCancelIn):
    moment = now()
    return _one(urgent.cancel(db_session(), current_actor(), notice_id, moment, payload.reason), moment)


@endpoint("get", "/urgent-notices/{notice_id}/delivery", summary="Which screens received and showed the notice", tag=TAG, response=UrgentDeliveryOut, responses={404: "not found"})
def urgent_delivery(notice_id: int):
    moment = now()
    return delivery_out(urgent.delivery(db_session(), current_actor(), notice_id, moment), moment)


@endpoint("post", "/device/receipts", summary="A screen's urgent-notice receipts (store and forward)", tag="device protocol", auth="device", body=UrgentReceiptsIn, response=UrgentReceiptsOut, responses={401: "credential invalid or revoked", 422: "a receipt is malformed (the field is named)", 429: "too many batches from this screen"})
@limiter.limit(lambda: current_app.config["RECEIPT_RATE"], key_func=lambda: "screen:" + credential_key())
def device_receipts(payload: UrgentReceiptsIn):
    session, moment = db_session(), now()
    device = current_device()
    items = [urgent.ReceiptItem(r.notice, r.state, r.at) for r in payload.receipts]
    accepted = urgent.record_receipts(session, device, items, moment)
    devices.mark_seen(session, device.id, device.last_seen_at, moment)
    return UrgentReceiptsOut(accepted=accepted)
