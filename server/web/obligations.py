"""Obligations pages: what each village still owes (待公开, 逾期), and registering a case."""

from __future__ import annotations

import datetime as dt

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from pydantic import BaseModel, ConfigDict
from wtforms import DateField, SelectField, StringField
from wtforms.validators import DataRequired, Optional

from server.clock import now
from server.domain import cases, obligations
from server.domain.access import visible_areas
from server.edge import flashed, onto, refused
from server.extensions import db_session
from server.inputs import parse_query
from server.models import Role
from server.web import web
from server.web.auth import actor, signed_in
from server.web.forms import area_choices, catalogue_choices, local_zone


class ObligationQuery(BaseModel):
    """The page's query string; an unknown state is a 400 page, not silently "all"."""

    model_config = ConfigDict(extra="forbid")
    area_id: int | None = None
    state: obligations.State | None = None


@web.route("/admin/obligations")
@signed_in
def obligation_list():
    """Per village: how many obligations are overdue, due, met (and met late); below, the
    obligations themselves, overdue first, and the staged cases with their progress."""
    query = parse_query(ObligationQuery, request.args)
    session, user = db_session(), actor()
    found = obligations.for_user(session, user, now(), local_zone(), query.area_id)
    shown = [o for o in found if query.state is None or o.state is query.state]
    if query.state is None:
        shown = obligations.unmet_first(found)
    staged = [o for o in found if o.case_id is not None]
    return render_template(
        "admin/obligations.html",
        tally=obligations.tally(found),
        rows=shown[:500],
        more=max(len(shown) - 500, 0),
        cases=_progress(staged),
        query=query,
        areas=visible_areas(session, user),
        labels=obligations.STATE_LABELS,
        states=list(obligations.State),
    )


def _progress(staged: list[obligations.Obligation]) -> list[list[obligations.Obligation]]:
    """Each case's stages so far (met ones, then the one owed), newest case first."""
    by_case: dict[int, list[obligations.Obligation]] = {}
    for o in staged:
        by_case.setdefault(o.case_id or 0, []).append(o)
    return [by_case[k] for k in sorted(by_case, reverse=True)]


class CaseForm(FlaskForm):
    area_id = SelectField(_l("公开单位"), coerce=int, validators=[DataRequired(_l("请选择公开单位。"))])
    catalogue_item_id = SelectField(_l("目录项"), coerce=int, validators=[DataRequired(_l("请选择目录项。"))])
    title = StringField(_l("事项名称"), validators=[DataRequired(_l("请填写事项名称。"))])
    opened_on = DateField(_l("发生（开始）日期"), validators=[Optional()])


@web.route("/admin/cases/new", methods=["GET", "POST"])
@signed_in
def case_new():
    """Register a matter before it is disclosed: its first disclosure is then owed by a date."""
    session, user = db_session(), actor()
    form = CaseForm()
    form.area_id.choices = area_choices(session, user, Role.editor)
    form.catalogue_item_id.choices = catalogue_choices(session, user)
    if not form.area_id.choices:
        abort(403)
    if form.validate_on_submit():
        made = None
        with refused(onto(form)):
            made = cases.register(
                session, user, form.area_id.data, form.catalogue_item_id.data, form.title.data or "",
                form.opened_on.data, now(), local_zone(),
            )
        if made is not None:
            flash(_("已登记。它的第一次公开将按期限计入“待公开”。"))
            return redirect(url_for("web.obligation_list", area_id=made.area_id))
    return render_template("admin/case_form.html", form=form), 422 if form.errors else 200


@web.route("/admin/cases/<int:case_id>/stages/<int:stage>", methods=["POST"])
@signed_in
def case_stage(case_id: int, stage: int):
    """Record the day a later stage happened: from then on its disclosure is owed by a date."""
    raw = request.form.get("day", "")
    try:
        day = dt.date.fromisoformat(raw) if raw else None
    except ValueError:
        day = None
    done = None
    with refused(flashed):
        done = cases.record_stage(db_session(), actor(), case_id, stage, day, now(), local_zone())
    if done is not None:
        flash(_("已登记发生日期，这个阶段的公开期限从这天算起。"))
    back = request.form.get("area_id", "")
    return redirect(url_for("web.obligation_list", area_id=int(back) if back.isdigit() else None))
