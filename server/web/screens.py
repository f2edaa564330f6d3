"""Admin pages for screens: list, enrolment codes, browser player keys, revocation."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for

from server.db import utcnow
from server.domain import devices
from server.extensions import db_session
from server.models import CredentialKind, Role
from server.realtime import kick_device
from server.web import web
from server.web.auth import actor, signed_in


@web.route("/admin/screens")
@signed_in
def screen_list():
    rows = devices.visible_devices(db_session(), actor())
    return render_template("admin/screens.html", rows=rows, now=utcnow())


@web.route("/admin/screens/<int:device_id>/enrolment-code", methods=["POST"])
@signed_in
def screen_enrolment_code(device_id: int):
    session = db_session()
    device = devices.get_device(session, actor(), device_id, Role.scheduler)
    code = devices.issue_enrolment_code(session, device, utcnow())
    session.commit()
    return render_template("admin/secret_once.html", device=device, code=code, key=None)


@web.route("/admin/screens/<int:device_id>/player-key", methods=["POST"])
@signed_in
def screen_player_key(device_id: int):
    session = db_session()
    device = devices.get_device(session, actor(), device_id, Role.scheduler)
    devices.revoke_credentials(session, device, utcnow(), CredentialKind.browser)
    key = devices.issue_credential(session, device, CredentialKind.browser)
    session.commit()
    kick_device(device.id)
    return render_template("admin/secret_once.html", device=device, code=None, key=key)


@web.route("/admin/screens/<int:device_id>/revoke", methods=["POST"])
@signed_in
def screen_revoke(device_id: int):
    session = db_session()
    device = devices.get_device(session, actor(), device_id, Role.scheduler)
    count = devices.revoke_credentials(session, device, utcnow())
    session.commit()
    kick_device(device.id)
    flash(f"已吊销 {device.name} 的 {count} 个凭据，该屏幕需重新注册。")
    return redirect(url_for("web.screen_list"))
