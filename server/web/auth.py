"""Sign-in and the account page: server-side sessions, lockout, TOTP, password change.

The Flask session cookie carries only the token of a `UserSession` row
(server.domain.sessions); every request resolves it, so logging out, changing the
password or disabling the user ends a session for good, copied cookies included. A
session that still owes a step — the second factor, a forced password change, a required
TOTP enrolment (server.domain.signin.pending) — is not authenticated: admin pages send it
to that step, the API refuses it. Pages for signed-in people are never cached.
"""

from __future__ import annotations

from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Flask,
    current_app,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask import session as cookie_session
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager, UserMixin, current_user, login_required, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

import signage_layouts
from server.clock import now
from server.db import write_intent
from server.domain import sessions, signin, users
from server.domain.access import ROLE_LABELS
from server.domain.signin import Attempt, Pending
from server.edge import flashed, onto, refused, transaction
from server.extensions import db_session, limiter, login_manager, session_scope
from server.models import User, UserSession
from server.web import web
from server.web.forms import local_tz

# The one key this app keeps in the Flask session cookie for signing in.
TOKEN_KEY = "sw_session"


class Principal(UserMixin):
    """The person behind a live session as Flask-Login sees them; `.user` is the model
    row, `.row` the session. Authenticated only once nothing is `pending`."""

    def __init__(self, row: UserSession, pending: Pending | None) -> None:
        self.row = row
        self.user = row.user
        self.pending = pending

    def get_id(self) -> str:
        return str(self.user.id)

    @property
    def is_authenticated(self) -> bool:
        return self.pending is None

    @property
    def locale(self) -> str:
        return self.user.locale

    @property
    def role_labels(self) -> list[str]:
        return sorted({f"{_(ROLE_LABELS[g.role])}（{g.area.name}）" for g in self.user.grants})


def init_login(app: Flask, manager: LoginManager) -> None:
    manager.init_app(app)
    manager.request_loader(_load)
    manager.unauthorized_handler(_unauthorized)

    @app.after_request
    def _never_cache_private(response: Any) -> Any:
        # Anything answered to a signed-in person may hold personal data: no copies in
        # the browser's or a proxy's cache (ASVS 8.2.1).
        if g.get("user_session") is not None or g.get("api_user") is not None:
            response.headers["Cache-Control"] = "no-store"
        return response


def _load(_request: Any) -> Principal | None:
    token = cookie_session.get(TOKEN_KEY)
    if not token:
        return None
    session, moment = db_session(), now()
    row = sessions.resolve(session, token, moment)
    if row is None:
        return None
    if sessions.touch_due(row, moment):
        _touch(session, row, moment)
    g.user_session = row
    return Principal(row, signin.pending(row.user, row, current_app.config["REQUIRE_2FA"]))


def _touch(session: Any, row: UserSession, moment: Any) -> None:
    # A read-only request must not write in its own transaction on SQLite (see
    # server.db.write_intent), so its touch gets a short transaction of its own.
    if write_intent.get():
        sessions.touch(session, row.id, moment)
    else:
        with session_scope(write=True) as own:
            sessions.touch(own, row.id, moment)


def _principal() -> Principal | None:
    user = current_user._get_current_object()
    return user if isinstance(user, Principal) else None


def _me() -> Principal:
    """The principal of an account page (on_the_way_in has made sure there is one)."""
    principal = _principal()
    assert principal is not None
    return principal


def _unauthorized() -> Any:
    target = request.full_path if request.query_string else request.path
    principal = _principal()
    if principal is not None and principal.pending is not None:
        return redirect(_step_url(principal.pending, target))
    flash(_("请先登录。"))
    return redirect(url_for("web.login", next=target))


def actor() -> User:
    return current_user.user


def signed_in(view: Any) -> Any:
    """An admin page: signed-in users only, one unit of work (see server.edge)."""
    return login_required(transaction(view))


def on_the_way_in(view: Any) -> Any:
    """An account page: also open to a session that must first change its password or
    set up two-step verification (but not to one that still owes its second factor)."""

    @wraps(view)
    def inner(*args: Any, **kwargs: Any) -> Any:
        principal = _principal()
        if principal is None or principal.pending is Pending.second_factor:
            return login_manager.unauthorized()
        return view(*args, **kwargs)

    return transaction(inner)


def _safe_next(target: str | None, default: str = "web.dashboard") -> str:
    """A local path to go on to; anything that could leave the site (`//host`, `/\\host`,
    a full URL) falls back to `default`."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        if not urlsplit(target).netloc:
            return target
    return url_for(default)


def _step_url(step: Pending, target: str) -> str:
    endpoint = {
        Pending.second_factor: "web.second_factor",
        Pending.password: "web.change_password",
        Pending.enrol_totp: "web.account",
    }[step]
    return url_for(endpoint, next=target)


def _onward(row: UserSession, default: str = "web.dashboard") -> Any:
    """Where a session goes after a step: the next step it owes, else where it was going."""
    target = _safe_next(request.args.get("next"), default)
    step = signin.pending(row.user, row, current_app.config["REQUIRE_2FA"])
    return redirect(_step_url(step, target) if step else target)


def _refusal(attempt: Attempt, wrong: str) -> str:
    if attempt.locked_until is None:
        return wrong
    until = attempt.locked_until.astimezone(local_tz()).strftime("%H:%M:%S")
    return _("登录失败次数过多，账号已暂时锁定，请在 %(time)s 之后再试。", time=until)


def _login_rate() -> str:
    return current_app.config["LOGIN_RATE"]


class LoginForm(FlaskForm):
    username = StringField(_l("用户名"), validators=[DataRequired(_l("请填写用户名。")), Length(max=64)])
    password = PasswordField(_l("密码"), validators=[DataRequired(_l("请填写密码。")), Length(max=200)])


class CodeForm(FlaskForm):
    code = StringField(_l("验证码"), validators=[DataRequired(_l("请填写验证码。")), Length(max=40)])


class ConfirmForm(FlaskForm):
    password = PasswordField(_l("密码"), validators=[DataRequired(_l("请填写密码。")), Length(max=200)])


class PasswordForm(FlaskForm):
    old_password = PasswordField(
        _l("原密码"), validators=[DataRequired(_l("请填写原密码。")), Length(max=200)]
    )
    new_password = PasswordField(
        _l("新密码"), validators=[DataRequired(_l("请填写新密码。")), Length(max=200)]
    )
    confirm = PasswordField(
        _l("再次输入新密码"),
        validators=[
            DataRequired(_l("请再输入一次新密码。")),
            EqualTo("new_password", _l("两次输入的新密码不一致。")),
        ],
    )


@web.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_rate, methods=["POST"])
@transaction
def login():
    form = LoginForm()
    if form.validate_on_submit():
        session, moment = db_session(), now()
        attempt = signin.sign_in(session, form.username.data or "", form.password.data or "", moment)
        if attempt.user is not None:
            _end_current_session(session, moment)
            row, token = sessions.start(
                session, attempt.user, moment,
                address=request.remote_addr or "", user_agent=request.user_agent.string,
            )
            # A fresh cookie at every sign-in: nothing set before it carries over.
            cookie_session.clear()
            cookie_session[TOKEN_KEY] = token
            return _onward(row)
        form.password.errors = [*form.password.errors, _refusal(attempt, _("用户名或密码不正确。"))]
    status = 401 if request.method == "POST" else 200
    return render_template("admin/login.html", form=form), status


def _end_current_session(session: Any, moment: Any) -> None:
    row = sessions.resolve(session, cookie_session.get(TOKEN_KEY), moment)
    if row is not None:
        signin.sign_out(session, row, moment)


@web.route("/login/verify", methods=["GET", "POST"])
@limiter.limit(_login_rate, methods=["POST"])
@transaction
def second_factor():
    principal = _principal()
    if principal is None or principal.pending is not Pending.second_factor:
        return redirect(url_for("web.login"))
    form = CodeForm()
    if form.validate_on_submit():
        attempt = signin.second_factor(db_session(), principal.row, form.code.data or "", now())
        if attempt.user is not None:
            return _onward(principal.row)
        form.code.errors = [*form.code.errors, _refusal(attempt, _("验证码不正确或已使用过。"))]
    status = 401 if request.method == "POST" else 200
    return render_template("admin/second_factor.html", form=form), status


@web.route("/logout", methods=["POST"])
@transaction
def logout():
    _end_current_session(db_session(), now())
    cookie_session.clear()
    logout_user()
    flash(_("已退出登录。"))
    return redirect(url_for("web.login"))


@web.route("/account")
@on_the_way_in
def account():
    return _account_page()


def _account_page(status: int = 200, **forms: FlaskForm) -> Any:
    """The account page; `forms` carries a refused form back with its errors."""
    session, user = db_session(), actor()
    uri = signin.totp_uri(user) if user.totp_secret and not user.totp_enabled else None
    return render_template(
        "admin/account.html",
        user=user,
        principal=_me(),
        uri=uri,
        qr=signage_layouts.qr_svg(uri) if uri else None,
        codes_left=signin.recovery_codes_left(session, user) if user.totp_enabled else 0,
        sessions=sessions.live(session, user, now()),
        enable=forms.get("enable") or CodeForm(prefix="enable"),
        disable=forms.get("disable") or CodeForm(prefix="disable"),
        others=forms.get("others") or ConfirmForm(prefix="others"),
    ), status


@web.route("/account/sessions/end-others", methods=["POST"])
@limiter.limit(_login_rate)
@on_the_way_in
def end_other_sessions():
    form = ConfirmForm(prefix="others")
    if form.validate_on_submit():
        ended = None
        with refused(onto(form, "password")):
            ended = signin.end_other_sessions(db_session(), actor(), _me().row, form.password.data or "", now())
        if ended is not None:
            flash(_("已退出其他 %(n)s 处登录。", n=ended))
            return redirect(url_for("web.account"))
    return _account_page(422, others=form)


@web.route("/account/two-factor/start", methods=["POST"])
@limiter.limit(_login_rate)
@on_the_way_in
def start_two_factor():
    with refused(flashed):
        signin.begin_totp(db_session(), actor(), now())
    return redirect(url_for("web.account", next=request.args.get("next")))


@web.route("/account/two-factor/enable", methods=["POST"])
@limiter.limit(_login_rate)
@on_the_way_in
def enable_two_factor():
    form = CodeForm(prefix="enable")
    if form.validate_on_submit():
        codes = []
        with refused(onto(form, "code")):
            codes = signin.enable_totp(db_session(), actor(), _me().row, form.code.data or "", now())
        if codes:
            target = _safe_next(request.args.get("next"), "web.account")
            return render_template("admin/account_codes.html", codes=codes, target=target)
    return _account_page(422, enable=form)


@web.route("/account/two-factor/disable", methods=["POST"])
@limiter.limit(_login_rate)
@on_the_way_in
def disable_two_factor():
    form = CodeForm(prefix="disable")
    if form.validate_on_submit():
        done = False
        with refused(onto(form, "code")):
            signin.disable_totp(db_session(), actor(), form.code.data or "", now())
            done = True
        if done:
            flash(_("两步验证已停用。"))
            return redirect(url_for("web.account"))
    return _account_page(422, disable=form)


@web.route("/account/password", methods=["GET", "POST"])
@limiter.limit(_login_rate, methods=["POST"])
@on_the_way_in
def change_password():
    form = PasswordForm()
    principal = _me()
    if form.validate_on_submit():
        done = False
        with refused(onto(form, "new_password")):
            signin.change_password(
                db_session(), actor(), principal.row,
                form.old_password.data or "", form.new_password.data or "", now(),
            )
            done = True
        if done:
            flash(_("密码已修改；其他设备上的登录已全部退出。"))
            return _onward(principal.row, "web.account")
    status = 422 if form.errors else 200
    return render_template(
        "admin/account_password.html", form=form, principal=principal, min_length=users.MIN_PASSWORD
    ), status


@web.route("/lang/<code>", methods=["POST"])
@transaction
def set_language(code: str):
    response = make_response(redirect(_safe_next(request.form.get("next"))))
    if code in ("zh_CN", "en"):
        response.set_cookie("lang", code, max_age=365 * 86400, samesite="Lax")
        if current_user.is_authenticated:
            current_user.user.locale = code
    return response
