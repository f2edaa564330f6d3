"""Admin pages for feedback: the handler's inbox and the answer form."""

from __future__ import annotations

from typing import Literal

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from pydantic import BaseModel, ConfigDict
from wtforms import BooleanField, TextAreaField
from wtforms.validators import DataRequired

from server.clock import now
from server.domain import feedback
from server.domain.access import can_act
from server.edge import onto, refused
from server.extensions import db_session
from server.inputs import parse_query
from server.models import FeedbackKind, FeedbackStatus, Role, Scope
from server.web import web
from server.web.auth import actor, signed_in


class AnswerForm(FlaskForm):
    body = TextAreaField(_l("答复内容"), validators=[DataRequired(_l("请填写答复内容。"))])
    public = BooleanField(_l("在回音壁公开（不显示提问人姓名和电话）"), default=True)


class InboxQuery(BaseModel):
    """The inbox's query string: open tickets unless told otherwise; a bad status is a 400."""

    model_config = ConfigDict(extra="forbid")
    status: FeedbackStatus | Literal["all"] = FeedbackStatus.open


@web.route("/admin/feedback")
@signed_in
def feedback_inbox():
    status = parse_query(InboxQuery, request.args).status
    chosen = None if status == "all" else status
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
    if request.method == "GET" and (item.kind is FeedbackKind.report or item.scope is Scope.internal):
        form.public.data = False
    if form.validate_on_submit():
        answered = False
        with refused(onto(form, "body")):
            feedback.answer(session, actor(), feedback_id, form.body.data or "", bool(form.public.data), now())
            answered = True
        if answered:
            flash(_("答复已保存，已推送到该村屏幕的回音壁。") if form.public.data else _("答复已保存。"))
            return redirect(url_for("web.feedback_detail", feedback_id=feedback_id))
    return render_template(
        "admin/feedback_detail.html",
        item=item,
        form=form,
        kinds=feedback.KIND_LABELS,
        statuses=feedback.STATUS_LABELS,
        can_answer=can_act(actor(), item.area, Role.handler),
        contact=feedback.contact_visible(actor(), item),
    ), (422 if form.errors else 200)
