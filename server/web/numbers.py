"""允许公开的号码: an admin lists, adds and removes the official numbers of an area.

The pre-publish scanner lets these numbers through unmasked in the area and below
(server.domain.numbers); everything else it refuses at submission.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from server.clock import now
from server.domain import numbers
from server.edge import flashed, onto, refused
from server.extensions import db_session
from server.web import web
from server.web.areas import admin
from server.web.auth import signed_in


class AllowedNumberForm(FlaskForm):
    digits = StringField(_l("号码"), validators=[DataRequired(_l("请填写号码。")), Length(max=40, message=_l("最多 40 位。"))])
    label = StringField(_l("说明"), validators=[DataRequired(_l("请写明这是什么号码。")), Length(max=64, message=_l("最多 64 个字。"))])


@web.route("/admin/areas/<int:area_id>/numbers", methods=["GET", "POST"])
@signed_in
def area_numbers(area_id: int):
    session, user = db_session(), admin()
    form = AllowedNumberForm()
    if form.validate_on_submit():
        saved = None
        with refused(onto(form, "digits")):
            saved = numbers.allow(session, user, area_id, form.digits.data or "", form.label.data or "", now())
        if saved is not None:
            flash(_("已允许公开号码 %(digits)s（%(label)s）。", digits=saved.digits, label=saved.label))
            return redirect(url_for("web.area_numbers", area_id=area_id))
    area, own, inherited = numbers.listed(session, user, area_id)
    return render_template("admin/area_numbers.html", area=area, own=own, inherited=inherited, form=form), (
        422 if form.errors else 200
    )


@web.route("/admin/areas/<int:area_id>/numbers/<int:number_id>/remove", methods=["POST"])
@signed_in
def area_number_remove(area_id: int, number_id: int):
    session, user = db_session(), admin()
    done = False
    with refused(flashed):
        numbers.remove(session, user, area_id, number_id, now())
        done = True
    if done:
        flash(_("已从允许公开的号码中删除。"))
    return redirect(url_for("web.area_numbers", area_id=area_id))
