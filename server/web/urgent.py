"""Admin pages for urgent notices (紧急通知): list, draft, the fast approval page, cancelling
(撤下) and the live delivery page.

A reviewer hears of a submitted notice at once (server/static/urgent_live.js, `/admin`
namespace) and lands on the fast approval page: the notice as screens will show it, where
it goes and how many screens that is, and one button that approves and publishes. After
approval the delivery page follows the screens' receipts live.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from pydantic import BaseModel, ConfigDict
from sqlalchemy import or_, select
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Optional

import signage_layouts
from server.api.urgent import delivery_out
from server.clock import now
from server.domain import urgent
from server.domain.access import has_role
from server.domain.areas import offered_areas
from server.domain.errors import DomainError, ValidationFailed
from server.domain.schedules import TARGET_LABELS
from server.edge import flashed, onto, refused
from server.extensions import db_session
from server.inputs import parse_query
from server.models import (
    Area,
    Device,
    DeviceGroup,
    Scope,
    Site,
    TargetKind,
    UrgentNotice,
    UrgentStatus,
    User,
)
from server.web import previews, web
from server.web.auth import actor, signed_in
from server.web.forms import choices, local_tz, local_zone
from signage_layouts import dates

QUICK_HOURS = (1, 3, 6, 12, 24)
LOCAL_INPUT = "%Y-%m-%dT%H:%M"  # what <input type="datetime-local"> sends and shows
PHASE_LABELS = {"upcoming": _l("尚未开始"), "live": _l("正在显示"), "ended": _l("已结束")}


class UrgentForm(FlaskForm):
    area_id = SelectField(_l("发布单位"), coerce=int, validators=[DataRequired(_l("请选择发布单位。"))])
    title = StringField(_l("标题"), validators=[DataRequired(_l("请填写标题。"))])
    body = TextAreaField(_l("正文"), validators=[Optional()])
    # "kind:id" — one list, grouped by kind (区域 / 场所 / 屏幕分组 / 屏幕); checked by the domain.
    target = SelectField(_l("发布到"), validate_choice=False, validators=[DataRequired(_l("请选择发布到哪些屏幕。"))])
    scope = RadioField(
        _l("公开范围"),
        choices=choices([("public", _l("社会公开（所选范围内的所有屏幕）")), ("internal", _l("党内（只在党员活动室屏显示）"))]),
        default="public",
    )
    starts_at = DateTimeLocalField(
        _l("开始时间"), format=[LOCAL_INPUT, "%Y-%m-%d %H:%M"], tz=local_tz, validators=[Optional()],
        invalid_value_message=_l("请按“年-月-日 时:分”填写时间。"),
    )
    ends_at = DateTimeLocalField(
        _l("结束时间"), format=[LOCAL_INPUT, "%Y-%m-%d %H:%M"], tz=local_tz, validators=[Optional()],
        invalid_value_message=_l("请按“年-月-日 时:分”填写时间。"),
    )
    read_aloud = BooleanField(_l("在屏幕上朗读"))


class ReviewForm(FlaskForm):
    comment = TextAreaField(_l("审核意见"), validators=[Optional()])


class CancelForm(FlaskForm):
    reason = TextAreaField(_l("撤下原因"), validators=[DataRequired(_l("请写明撤下原因。"))])
    confirm = BooleanField(validators=[DataRequired(_l("请先勾选确认，再撤下。"))])


class ListQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: UrgentStatus | None = None


# --------------------------------------------------------------------------- helpers


def _drafting_areas(user: User) -> list[tuple[Area, int]]:
    """Areas the user may issue notices for (editor or scheduler), in tree order."""
    session = db_session()
    seen: dict[int, tuple[Area, int]] = {}
    for role in urgent.DRAFT_ROLES:
        for area, depth in offered_areas(session, user, role):
            seen.setdefault(area.id, (area, depth))
    return sorted(seen.values(), key=lambda pair: pair[0].path)


def _target_choices(user: User, areas: list[tuple[Area, int]]) -> list[Any]:
    """Every target inside the user's drafting areas, grouped by kind."""
    session = db_session()
    paths = [a.path for a, _depth in areas]
    if not paths:
        return []
    top = [p for p in paths if not any(p != q and p.startswith(q) for q in paths)]

    def inside(column: Any) -> Any:
        return or_(*(column.startswith(p, autoescape=True) for p in top))

    label = {k: str(_(v)) for k, v in TARGET_LABELS.items()}
    out = [
        SelectChoice(f"area:{a.id}", "　" * depth + _("%(name)s（全部屏幕）", name=a.name), optgroup=label[TargetKind.area])
        for a, depth in areas
    ]
    sites = session.scalars(
        select(Site).join(Area, Area.id == Site.area_id)
        .where(inside(Area.path), Site.retired_at.is_(None), Area.retired_at.is_(None))
        .order_by(Area.path, Site.name)
    )
    out += [SelectChoice(f"site:{s.id}", s.name, optgroup=label[TargetKind.site]) for s in sites]
    groups = session.scalars(
        select(DeviceGroup).join(Area, Area.id == DeviceGroup.area_id)
        .where(inside(Area.path), DeviceGroup.retired_at.is_(None))
        .order_by(Area.path, DeviceGroup.name)
    )
    out += [SelectChoice(f"group:{g.id}", f"{g.name}（{g.area.name}）", optgroup=label[TargetKind.group]) for g in groups]
    screens = session.scalars(
        select(Device).join(Site, Site.id == Device.site_id).join(Area, Area.id == Site.area_id)
        .where(inside(Area.path), Device.decommissioned_at.is_(None))
        .order_by(Area.path, Site.name, Device.name)
    )
    out += [
        SelectChoice(
            f"device:{d.id}",
            f"{d.site.name} · {d.name}" + (_("（党员活动室）") if d.internal else ""),
            optgroup=label[TargetKind.device],
        )
        for d in screens
    ]
    return out


def _local_input(value: dt.datetime) -> str:
    return dates.to_local(value, local_zone()).strftime(LOCAL_INPUT)


def _form(notice: UrgentNotice | None = None) -> UrgentForm:
    form = UrgentForm()
    user = actor()
    areas = _drafting_areas(user)
    form.area_id.choices = [(a.id, "　" * depth + a.name) for a, depth in areas]
    form.target.choices = _target_choices(user, areas)
    if request.method == "GET":
        if notice is not None:
            form.area_id.data = notice.area_id
            form.title.data = notice.title
            form.body.data = notice.body
            form.target.data = f"{notice.target_kind.value}:{notice.target_id}"
            form.scope.data = notice.scope.value
            form.starts_at.data = notice.starts_at
            form.ends_at.data = notice.ends_at
            form.read_aloud.data = notice.read_aloud
        elif areas:
            form.area_id.data = areas[0][0].id
            form.target.data = f"area:{areas[0][0].id}"
    return form


def _target(value: str | None) -> tuple[TargetKind, int]:
    kind, _sep, ident = (value or "").partition(":")
    try:
        return TargetKind(kind), int(ident)
    except ValueError:
        raise ValidationFailed("请选择发布到哪些屏幕。", field="target_id") from None


def _input(form: UrgentForm) -> urgent.UrgentInput:
    kind, target_id = _target(form.target.data)
    return urgent.UrgentInput(
        area_id=form.area_id.data or 0,
        title=form.title.data or "",
        body=form.body.data or "",
        target_kind=kind,
        target_id=target_id,
        ends_at=form.ends_at.data,
        starts_at=form.starts_at.data,
        scope=Scope(form.scope.data or "public"),
        read_aloud=bool(form.read_aloud.data),
    )


def _onto_form(form: UrgentForm) -> Any:
    """Domain errors beside their field; the target's (`target_id`, `target_kind`) beside
    the one 发布到 list."""
    report = onto(form)

    def inner(err: DomainError) -> None:
        if err.field in ("target_id", "target_kind"):
            form.target.errors = [*form.target.errors, err.message]
        else:
            report(err)

    return inner


def _save(form: UrgentForm, notice_id: int | None) -> UrgentNotice | None:
    saved = None
    with refused(_onto_form(form)):
        data = _input(form)
        if notice_id is None:
            saved = urgent.create(db_session(), actor(), data, now())
        else:
            saved = urgent.update(db_session(), actor(), notice_id, data, now())
    return saved


def _facts(notice: UrgentNotice, moment: dt.datetime) -> dict[str, Any]:
    """What every page about one notice shows besides the text."""
    session = db_session()
    return {
        "target": urgent.target_name(session, notice.target_kind, notice.target_id),
        "screens": urgent.reached_devices(session, notice),
        "phase": urgent.phase(notice, moment),
        "labels": urgent.STATUS_LABELS,
        "phases": PHASE_LABELS,
        "now": moment,
    }


# --------------------------------------------------------------------------- pages


@web.route("/admin/urgent")
@signed_in
def urgent_list():
    chosen = parse_query(ListQuery, request.args).status
    user, moment = actor(), now()
    rows = urgent.list_visible(db_session(), user, chosen)
    session = db_session()
    return render_template(
        "admin/urgent_list.html", rows=rows, status=chosen, labels=urgent.STATUS_LABELS, phases=PHASE_LABELS,
        phase=lambda n: urgent.phase(n, moment), now=moment,
        targets={n.id: urgent.target_name(session, n.target_kind, n.target_id) for n in rows},
        may_draft=any(has_role(user, r) for r in urgent.DRAFT_ROLES),
        reviewable={n.id for n in rows if n.status is UrgentStatus.submitted and urgent.may_review(user, n)},
    )


def _form_page(form: UrgentForm, notice: UrgentNotice | None) -> Any:
    moment = now()
    return render_template(
        "admin/urgent_form.html", form=form, notice=notice, quick_hours=QUICK_HOURS,
        local_now=_local_input(moment), max_body=urgent.MAX_BODY, max_title=urgent.MAX_TITLE,
    ), (422 if form.errors else 200)


@web.route("/admin/urgent/new", methods=["GET", "POST"])
@signed_in
def urgent_new():
    form = _form()
    if not form.area_id.choices:
        abort(403)
    if form.validate_on_submit():
        saved = _save(form, None)
        if saved is not None:
            flash(_("草稿已保存。确认无误后请点“提交审核”，审核人会立即收到提醒。"))
            return redirect(url_for("web.urgent_detail", notice_id=saved.id))
    return _form_page(form, None)


@web.route("/admin/urgent/<int:notice_id>/edit", methods=["GET", "POST"])
@signed_in
def urgent_edit(notice_id: int):
    notice = urgent.get(db_session(), actor(), notice_id)
    form = _form(notice)
    if form.validate_on_submit():
        saved = _save(form, notice_id)
        if saved is not None:
            flash(_("已保存。"))
            return redirect(url_for("web.urgent_detail", notice_id=saved.id))
    return _form_page(form, notice)


@web.route("/admin/urgent/<int:notice_id>")
@signed_in
def urgent_detail(notice_id: int):
    user, moment = actor(), now()
    session = db_session()
    notice = urgent.get(session, user, notice_id)
    return render_template(
        "admin/urgent_detail.html", n=notice, **_facts(notice, moment),
        can_edit=urgent.may_draft(user, notice.area) and notice.status in urgent.EDITABLE,
        can_submit=(urgent.may_draft(user, notice.area) or user.id == notice.author_id)
        and notice.status in urgent.EDITABLE,
        can_review=urgent.may_review(user, notice) and notice.status is UrgentStatus.submitted,
        can_cancel=urgent.may_cancel(user, notice) and notice.status is UrgentStatus.approved
        and notice.ends_at > moment,
        cancelled_by=session.get(User, notice.cancelled_by_id) if notice.cancelled_by_id else None,
    )


@web.route("/admin/urgent/<int:notice_id>/submit", methods=["POST"])
@signed_in
def urgent_submit(notice_id: int):
    done = False
    with refused(flashed):
        urgent.submit(db_session(), actor(), notice_id, now())
        done = True
    if done:
        flash(_("已提交审核，审核人已收到提醒。批准后将立即在所选屏幕上显示。"))
    return redirect(url_for("web.urgent_detail", notice_id=notice_id))


def _review_page(notice: UrgentNotice, form: ReviewForm, status: int = 200) -> Any:
    user, moment = actor(), now()
    return render_template(
        "admin/urgent_review.html", n=notice, form=form, **_facts(notice, moment),
        can_review=urgent.may_review(user, notice) and notice.status is UrgentStatus.submitted,
        is_author=user.id in urgent.authors_of(db_session(), notice),
    ), status


@web.route("/admin/urgent/<int:notice_id>/review")
@signed_in
def urgent_review(notice_id: int):
    """The fast approval page a reviewer's banner links to."""
    return _review_page(urgent.get(db_session(), actor(), notice_id), ReviewForm())


@web.route("/admin/urgent/<int:notice_id>/approve", methods=["POST"])
@signed_in
def urgent_approve(notice_id: int):
    form = ReviewForm()
    expected = request.form.get("content_hash") or None
    done = False
    with refused(flashed):
        urgent.approve(db_session(), actor(), notice_id, now(), expected, form.comment.data or "")
        done = True
    if done:
        flash(_("已批准，紧急通知正在推送到屏幕。下面是各屏幕的送达情况。"))
        return redirect(url_for("web.urgent_delivery", notice_id=notice_id))
    return redirect(url_for("web.urgent_review", notice_id=notice_id))


@web.route("/admin/urgent/<int:notice_id>/reject", methods=["POST"])
@signed_in
def urgent_reject(notice_id: int):
    form = ReviewForm()
    done = False
    with refused(onto(form, "comment")):
        urgent.reject(db_session(), actor(), notice_id, now(), form.comment.data or "")
        done = True
    if done:
        flash(_("已退回给起草人修改。"))
        return redirect(url_for("web.urgent_detail", notice_id=notice_id))
    return _review_page(urgent.get(db_session(), actor(), notice_id), form, 422)


@web.route("/admin/urgent/<int:notice_id>/cancel", methods=["GET", "POST"])
@signed_in
def urgent_cancel(notice_id: int):
    """撤下: a page naming the notice and its screens, a reason and a ticked box."""
    user, moment = actor(), now()
    notice = urgent.get(db_session(), user, notice_id)
    form = CancelForm()
    if form.validate_on_submit():
        done = False
        with refused(onto(form, "reason")):
            urgent.cancel(db_session(), user, notice_id, moment, form.reason.data or "")
            done = True
        if done:
            flash(_("已撤下，屏幕将在几秒内恢复正常播放。"))
            return redirect(url_for("web.urgent_detail", notice_id=notice_id))
    return render_template("admin/urgent_cancel.html", n=notice, form=form, **_facts(notice, moment)), (
        422 if form.errors else 200
    )


@web.route("/admin/urgent/<int:notice_id>/delivery")
@signed_in
def urgent_delivery(notice_id: int):
    """送达情况: followed live (urgent_live.js) from the delivery JSON and `receipt` events."""
    moment = now()
    report = urgent.delivery(db_session(), actor(), notice_id, moment)
    return render_template(
        "admin/urgent_delivery.html", n=report.notice, report=delivery_out(report, moment),
        **_facts(report.notice, moment),
        json_url=url_for("api.get_urgent_delivery", notice_id=notice_id),
    )


@web.route("/admin/urgent/<int:notice_id>/preview/<layout>")
@signed_in
def urgent_preview(notice_id: int, layout: str):
    """The notice as one still board inside a screen layout (an iframe on the review page)."""
    notice = urgent.get(db_session(), actor(), notice_id)
    if layout not in signage_layouts.layouts():
        abort(404)
    zone = local_zone()
    board = signage_layouts.render_board(
        "urgent",
        {
            "title": notice.title, "body": notice.body, "area": notice.area.name, "timezone": zone,
            "starts_at": (notice.starts_at or now()).isoformat(), "ends_at": notice.ends_at.isoformat(),
        },
    )
    return previews.still_page(notice.area, board, layout)
