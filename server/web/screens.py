"""Admin pages for screens: list, enrolment codes, browser player keys, revocation.

Replacing a browser key or revoking a screen stops a hall screen at once, so both go
through a confirmation page (GET) that names the screen and says what will happen; only
a POST carrying the ticked confirmation box acts.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, RadioField, SelectField, StringField
from wtforms.validators import DataRequired, Length

from server.clock import now
from server.domain import access, chrome, devices
from server.edge import onto, refused
from server.extensions import db_session
from server.models import Area, Device, DeviceKind, Orientation, Role, Site
from server.web import web
from server.web.auth import actor, signed_in
from server.web.forms import choices


class ScreenForm(FlaskForm):
    site_id = SelectField(_l("场所"), coerce=int, validators=[DataRequired(_l("请选择场所。"))])
    name = StringField(_l("屏幕名称"), validators=[DataRequired(_l("请填写屏幕名称。")), Length(max=100, message=_l("最多 100 个字。"))])
    kind = RadioField(_l("类型"), choices=choices([("signage", _l("信息屏（非触摸）")), ("kiosk", _l("触摸查询机"))]), default="signage")
    orientation = RadioField(_l("方向"), choices=choices([("landscape", _l("横屏")), ("portrait", _l("竖屏"))]), default="landscape")
    internal = BooleanField(_l("党员活动室屏（可显示党内公开内容）"))
    locale = SelectField(_l("屏幕语言"), choices=choices(list(chrome.LOCALE_NAMES.items())), default=chrome.DEFAULT)


class LocaleForm(FlaskForm):
    locale = SelectField(_l("屏幕语言"), choices=choices(list(chrome.LOCALE_NAMES.items())))


LOCALE_HINT = _l("只改变屏幕上固定的字（按钮、页码、二维码说明、滚动字幕的欢迎语），公开内容按原文显示。")


class ConfirmForm(FlaskForm):
    """The explicit yes of an action that stops a screen; the page words the box."""

    confirm = BooleanField(validators=[DataRequired(_l("请先勾选确认，再继续。"))])


@web.route("/admin/screens")
@signed_in
def screen_list():
    rows = devices.visible_devices(db_session(), actor())
    return render_template("admin/screens.html", rows=rows, now=now(), locale_names=chrome.LOCALE_NAMES, locale_tags=chrome.LANG_TAGS)


@web.route("/admin/screens/new", methods=["GET", "POST"])
@signed_in
def screen_new():
    session, user = db_session(), actor()
    sites = session.scalars(
        select(Site).join(Site.area)
        .where(access.area_clause(user, [Role.scheduler]), Site.retired_at.is_(None), Area.retired_at.is_(None))
        .order_by(Area.path, Site.name)
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
                session, user, site, form.name.data or "", DeviceKind(form.kind.data),
                Orientation(form.orientation.data), now(), internal=bool(form.internal.data),
                locale=form.locale.data or chrome.DEFAULT,
            )
        if device is not None:
            flash(_("已添加屏幕“%(name)s”。请为它生成注册码或浏览器播放地址。", name=device.name))
            return redirect(url_for("web.screen_list"))
    return render_template("admin/screen_form.html", form=form, locale_hint=LOCALE_HINT), (422 if form.errors else 200)


@web.route("/admin/screens/<int:device_id>/language", methods=["GET", "POST"])
@signed_in
def screen_language(device_id: int):
    session, user = db_session(), actor()
    device = devices.get_device(session, user, device_id, Role.scheduler)
    form = LocaleForm(locale=device.locale)
    if form.validate_on_submit():
        with refused(onto(form, "locale")):
            devices.set_locale(session, user, device, form.locale.data or chrome.DEFAULT, now())
            flash(_("“%(name)s”的屏幕语言已改为%(language)s。", name=device.name,
                    language=chrome.LOCALE_NAMES[device.locale]))
            return redirect(url_for("web.screen_list"))
    page = render_template("admin/screen_language.html", device=device, form=form, locale_hint=LOCALE_HINT)
    return page, (422 if form.errors else 200)


@web.route("/admin/screens/<int:device_id>/enrolment-code", methods=["POST"])
@signed_in
def screen_enrolment_code(device_id: int):
    session, user = db_session(), actor()
    device = devices.get_device(session, user, device_id, Role.scheduler)
    code = devices.issue_enrolment_code(session, user, device, now())
    return render_template("admin/secret_once.html", device=device, code=code, key=None), 200, {"Cache-Control": "no-store"}


def _confirmation(device: Device, action: str, form: ConfirmForm):
    """The page that asks first: what the screen has now and what the action will do."""
    creds = devices.live_credentials(db_session(), device)
    page = render_template("admin/screen_confirm.html", device=device, action=action, form=form, creds=creds)
    return page, (422 if form.errors else 200)


@web.route("/admin/screens/<int:device_id>/player-key", methods=["GET", "POST"])
@signed_in
def screen_player_key(device_id: int):
    session, user = db_session(), actor()
    device = devices.get_device(session, user, device_id, Role.scheduler)
    form = ConfirmForm()
    if not form.validate_on_submit():
        return _confirmation(device, "player_key", form)
    replaced = devices.live_credentials(session, device).browser > 0
    key = devices.replace_browser_key(session, user, device, now())
    page = render_template("admin/secret_once.html", device=device, code=None, key=key, replaced=replaced)
    return page, 200, {"Cache-Control": "no-store"}


@web.route("/admin/screens/<int:device_id>/revoke", methods=["GET", "POST"])
@signed_in
def screen_revoke(device_id: int):
    session, user = db_session(), actor()
    device = devices.get_device(session, user, device_id, Role.scheduler)
    form = ConfirmForm()
    if not form.validate_on_submit():
        return _confirmation(device, "revoke", form)
    count = devices.revoke_credentials(session, user, device, now())
    flash(_("已吊销“%(name)s”的 %(count)s 个凭据。这块屏幕要重新生成注册码或播放地址、到现场重新设置后才能继续更新。",
            name=device.name, count=count))
    return redirect(url_for("web.screen_list"))
