"""Admin pages for feedback: the handler's inbox and the answer form."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, TextAreaField
from wtforms.validators import DataRequired

from server.db import utcnow
from server.domain import feedback
from server.domain.access import can_act
from server.domain.errors import DomainError
from server.extensions import db_session
from server.models import FeedbackKind, FeedbackStatus, Role
from server.web import web
from server.web.auth import actor, signed_in


class AnswerForm(FlaskForm):
    body = TextAreaField(_l("答复内容"), validators=[DataRequired(_l("请填写答复内容。"))])
    public = BooleanField(_l("在回音壁公开（不显示提问人姓名和电话）"), default=True)


@web.route("/admin/feedback")
@signed_in
def feedback_inbox():
    status = request.args.get("status", "open")
    chosen = FeedbackStatus(status) if status in FeedbackStatus._value2member_map_ else None
    rows = feedback.inbox(db_session(), actor(), chosen)
    return render_template(
        "admin/feedback_inbox.html",
        rows=rows,
        status=chosen,
        kinds=feedback.KIND_LABELS,
        statuses=feedback.STATUS_LABELS,
    )


@web.route("/admin/feedback/<int:feedback_id>", methods=["GET", "POST"])
@signed_in
def feedback_detail(feedback_id: int):
    session = db_session()
    item = feedback.get(session, actor(), feedback_id)
    form = AnswerForm()
    if request.method == "GET" and item.kind is FeedbackKind.report:
        form.public.data = False
    if form.validate_on_submit():
        try:
            feedback.answer(session, actor(), feedback_id, form.body.data or "", bool(form.public.data), utcnow())
        except DomainError as err:
            session.rollback()
            form.body.errors = [*form.body.errors, err.message]
        else:
            session.commit()
            flash(_("答复已保存，已推送到该村屏幕的回音壁。") if form.public.data else _("答复已保存。"))
            return redirect(url_for("web.feedback_detail", feedback_id=feedback_id))
    return render_template(
        "admin/feedback_detail.html",
        item=item,
        form=form,
        kinds=feedback.KIND_LABELS,
        statuses=feedback.STATUS_LABELS,
        can_answer=can_act(actor(), item.area, Role.handler),
    ), (422 if form.errors else 200)
