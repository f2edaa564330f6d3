"""Admin pages for user accounts: list, create, roles, disable/enable, password reset."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from server.clock import now
from server.domain import areas, users
from server.domain.access import ROLE_LABELS
from server.edge import flashed, onto, refused
from server.extensions import db_session
from server.models import Role, User
from server.web import web
from server.web.areas import admin
from server.web.auth import signed_in
from server.web.forms import choices

ROLE_CHOICES = choices([(r.value, _l(label)) for r, label in ROLE_LABELS.items()])


class GrantForm(FlaskForm):
    role = SelectField(_l("角色"), choices=ROLE_CHOICES, default=Role.editor.value)
    area_id = SelectField(_l("区域"), coerce=int, validators=[DataRequired(_l("请选择区域。"))])


class UserForm(GrantForm):
    username = StringField(_l("用户名"), validators=[DataRequired(_l("请填写用户名。")), Length(max=64, message=_l("最多 64 位。"))])
    display_name = StringField(_l("姓名"), validators=[Optional(), Length(max=64, message=_l("最多 64 个字。"))])
    password = PasswordField(_l("初始密码"), validators=[DataRequired(_l("请填写初始密码。")), Length(max=128, message=_l("最多 128 位。"))])


class NameForm(FlaskForm):
    display_name = StringField(_l("姓名"), validators=[DataRequired(_l("请填写姓名。")), Length(max=64, message=_l("最多 64 个字。"))])


class PasswordForm(FlaskForm):
    password = PasswordField(_l("临时密码"), validators=[DataRequired(_l("请填写临时密码。")), Length(max=128, message=_l("最多 128 位。"))])
    clear_second_factor = BooleanField(_l("同时取消两步验证（本人的手机和恢复码都丢失时）"))


def _area_choices(user: User):
    offered = areas.offered_areas(db_session(), user, Role.admin)
    return choices([(str(a.id), "　" * depth + a.name) for a, depth in offered])


@web.route("/admin/users")
@signed_in
def user_list():
    user = admin()
    rows = users.managed_users(db_session(), user)
    return render_template("admin/users.html", rows=rows, role_labels=ROLE_LABELS)


@web.route("/admin/users/new", methods=["GET", "POST"])
@signed_in
def user_new():
    user = admin()
    form = UserForm()
    form.area_id.choices = _area_choices(user)
    if form.validate_on_submit():
        made = None
        with refused(onto(form, "username")):
            made = users.add_user(
                db_session(), user, now(), username=(form.username.data or "").strip(),
                display_name=form.display_name.data or "", password=form.password.data or "",
                grants=[(Role(form.role.data), form.area_id.data)],
            )
        if made is not None:
            flash(_("已新建用户 %(username)s。请把初始密码当面或电话告诉本人；首次登录时必须修改。", username=made.username))
            return redirect(url_for("web.user_detail", user_id=made.id))
    return render_template("admin/user_form.html", form=form), (422 if form.errors else 200)


def _detail(person: User, name: NameForm | None = None, grant: GrantForm | None = None,
            password: PasswordForm | None = None):
    """The user's page with its three forms (any of them carrying errors from a POST)."""
    admin_user = admin()
    name = name or NameForm(formdata=None, obj=person)
    grant = grant or GrantForm(formdata=None)
    grant.area_id.choices = _area_choices(admin_user)
    password = password or PasswordForm(formdata=None)
    status = 422 if name.errors or grant.errors or password.errors else 200
    return render_template(
        "admin/user_detail.html", person=person, name_form=name, grant_form=grant,
        password_form=password, role_labels=ROLE_LABELS, is_self=person.id == admin_user.id,
    ), status


@web.route("/admin/users/<int:user_id>")
@signed_in
def user_detail(user_id: int):
    return _detail(users.get_managed_user(db_session(), admin(), user_id))


def _back(user_id: int):
    return redirect(url_for("web.user_detail", user_id=user_id))


@web.route("/admin/users/<int:user_id>/name", methods=["POST"])
@signed_in
def user_rename(user_id: int):
    session, user = db_session(), admin()
    person = users.get_managed_user(session, user, user_id)
    form = NameForm()
    if form.validate_on_submit():
        with refused(onto(form, "display_name")):
            users.edit_user(session, user, person.id, now(), display_name=form.display_name.data or "")
            flash(_("已保存。"))
            return _back(person.id)
    return _detail(person, name=form)


@web.route("/admin/users/<int:user_id>/grants", methods=["POST"])
@signed_in
def user_grant(user_id: int):
    session, user = db_session(), admin()
    person = users.get_managed_user(session, user, user_id)
    form = GrantForm()
    form.area_id.choices = _area_choices(user)
    if form.validate_on_submit():
        with refused(onto(form, "role")):
            row = users.grant(session, user, person.id, Role(form.role.data), form.area_id.data, now())
            flash(_("已授予“%(role)s”（%(area)s）。", role=_(ROLE_LABELS[row.role]), area=row.area.name))
            return _back(person.id)
    return _detail(person, grant=form)


@web.route("/admin/users/<int:user_id>/grants/<int:grant_id>/revoke", methods=["POST"])
@signed_in
def user_revoke_grant(user_id: int, grant_id: int):
    with refused(flashed):
        users.revoke_grant(db_session(), admin(), user_id, grant_id, now())
        flash(_("已收回该角色。"))
    return _back(user_id)


@web.route("/admin/users/<int:user_id>/disable", methods=["POST"])
@signed_in
def user_disable(user_id: int):
    with refused(flashed):
        person = users.set_active(db_session(), admin(), user_id, False, now())
        flash(_("已停用 %(username)s，它的所有登录已结束。", username=person.username))
    return _back(user_id)


@web.route("/admin/users/<int:user_id>/enable", methods=["POST"])
@signed_in
def user_enable(user_id: int):
    with refused(flashed):
        person = users.set_active(db_session(), admin(), user_id, True, now())
        flash(_("已启用 %(username)s。", username=person.username))
    return _back(user_id)


@web.route("/admin/users/<int:user_id>/password", methods=["POST"])
@signed_in
def user_reset_password(user_id: int):
    session, user = db_session(), admin()
    person = users.get_managed_user(session, user, user_id)
    form = PasswordForm()
    if form.validate_on_submit():
        with refused(onto(form, "password")):
            users.reset_password(session, user, person.id, form.password.data or "", now(),
                                 clear_second_factor=bool(form.clear_second_factor.data))
            flash(_("已重置 %(username)s 的密码，它的所有登录已结束；下次登录时必须修改密码。", username=person.username))
            return _back(person.id)
    return _detail(person, password=form)
