"""Admin pages for screens: list, enrolment codes, browser player keys, revocation."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, RadioField, SelectField, StringField
from wtforms.validators import DataRequired, Length

from server.clock import now
from server.domain import access, devices
from server.edge import onto, refused
from server.extensions import db_session
from server.models import Area, CredentialKind, DeviceKind, Orientation, Role, Site
from server.web import web
from server.web.auth import actor, signed_in
from server.web.forms import choices


class ScreenForm(FlaskForm):
    site_id = SelectField(_l("场所"), coerce=int, validators=[DataRequired(_l("请选择场所。"))])
    name = StringField(_l("屏幕名称"), validators=[DataRequired(_l("请填写屏幕名称。")), Length(max=100, message=_l("最多 100 个字。"))])
    kind = RadioField(_l("类型"), choices=choices([("signage", _l("信息屏（非触摸）")), ("kiosk", _l("触摸查询机"))]), default="signage")
    orientation = RadioField(_l("方向"), choices=choices([("landscape", _l("横屏")), ("portrait", _l("竖屏"))]), default="landscape")
    internal = BooleanField(_l("党员活动室屏（可显示党内公开内容）"))


@web.route("/admin/screens")
@signed_in
def screen_list():
    rows = devices.visible_devices(db_session(), actor())
    return render_template("admin/screens.html", rows=rows, now=now())


@web.route("/admin/screens/new", methods=["GET", "POST"])
@signed_in
def screen_new():
    session, user = db_session(), actor()
    sites = session.scalars(
        select(Site).join(Site.area).where(access.area_clause(user, [Role.scheduler])).order_by(Area.path, Site.name)
    ).all()
    form = ScreenForm()
    form.site_id.choices = choices([(str(s.id), f"{s.area.name} · {s.name}") for s in sites])
    if not sites:
        return render_template("errors/error.html", status=403, message=_l("你没有排期管理员权限。")), 403
    if form.validate_on_submit():
        # The form accepts only listed sites and kinds, so these lookups cannot miss.
        site = next(s for s in sites if s.id == form.site_id.data)
        device = None
        with refused(onto(form, "name")):
            device = devices.create_device(
                session, site, form.name.data or "", DeviceKind(form.kind.data),
                Orientation(form.orientation.data), bool(form.internal.data),
            )
        if device is not None:
            flash(_("已添加屏幕“%(name)s”。请为它生成注册码或浏览器播放地址。", name=device.name))
            return redirect(url_for("web.screen_list"))
    return render_template("admin/screen_form.html", form=form), (422 if form.errors else 200)


@web.route("/admin/screens/<int:device_id>/enrolment-code", methods=["POST"])
@signed_in
def screen_enrolment_code(device_id: int):
    session = db_session()
    device = devices.get_device(session, actor(), device_id, Role.scheduler)
    code = devices.issue_enrolment_code(session, device, now())
    return render_template("admin/secret_once.html", device=device, code=code, key=None)


@web.route("/admin/screens/<int:device_id>/player-key", methods=["POST"])
@signed_in
def screen_player_key(device_id: int):
    session = db_session()
    device = devices.get_device(session, actor(), device_id, Role.scheduler)
    devices.revoke_credentials(session, device, now(), CredentialKind.browser)
    key = devices.issue_credential(session, device, CredentialKind.browser)
    return render_template("admin/secret_once.html", device=device, code=None, key=key)


@web.route("/admin/screens/<int:device_id>/revoke", methods=["POST"])
@signed_in
def screen_revoke(device_id: int):
    session = db_session()
    device = devices.get_device(session, actor(), device_id, Role.scheduler)
    count = devices.revoke_credentials(session, device, now())
    flash(_("已吊销 %(name)s 的 %(count)s 个凭据，该屏幕需重新注册。", name=device.name, count=count))
    return redirect(url_for("web.screen_list"))
