"""Sign-in for the admin pages: Flask-Login sessions, argon2 passwords, rate-limited."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import (
    Flask,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import (
    LoginManager,
    UserMixin,
    current_user,
    login_required,
    login_user,
    logout_user,
)
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from server.domain import users
from server.domain.access import ROLE_LABELS
from server.edge import transaction
from server.extensions import db_session, limiter
from server.models import User
from server.web import web


class Principal(UserMixin):
    """The signed-in user as Flask-Login sees it; `.user` is the model row."""

    def __init__(self, user: User) -> None:
        self.user = user

    def get_id(self) -> str:
        return str(self.user.id)

    @property
    def locale(self) -> str:
        return self.user.locale

    @property
    def role_labels(self) -> list[str]:
        return sorted({f"{_(ROLE_LABELS[g.role])}（{g.area.name}）" for g in self.user.grants})


def init_login(app: Flask, manager: LoginManager) -> None:
    manager.init_app(app)
    manager.login_view = "web.login"
    manager.login_message = _l("请先登录。")

    @manager.user_loader
    def _load(user_id: str) -> Principal | None:
        if not user_id.isdigit():
            return None
        user = db_session().get(User, int(user_id))
        return Principal(user) if user and user.active else None


def actor() -> User:
    return current_user.user


def signed_in(view: Any) -> Any:
    """An admin page: signed-in users only, one unit of work (see server.edge)."""
    return login_required(transaction(view))


class LoginForm(FlaskForm):
    username = StringField(_l("用户名"), validators=[DataRequired(_l("请填写用户名。")), Length(max=64)])
    password = PasswordField(_l("密码"), validators=[DataRequired(_l("请填写密码。")), Length(max=200)])


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return url_for("web.dashboard")


def _login_rate() -> str:
    return current_app.config["LOGIN_RATE"]


@web.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_rate, methods=["POST"])
@transaction
def login():
    form = LoginForm()
    if form.validate_on_submit():
        session = db_session()
        user = users.authenticate(session, form.username.data or "", form.password.data or "")
        if user is None:
            form.password.errors = [*form.password.errors, _("用户名或密码不正确。")]
        else:
            login_user(Principal(user))
            return redirect(_safe_next(request.args.get("next")))
    status = 401 if request.method == "POST" else 200
    return render_template("admin/login.html", form=form), status


@web.route("/logout", methods=["POST"])
def logout():
    logout_user()
    flash(_("已退出登录。"))
    return redirect(url_for("web.login"))


@web.route("/lang/<code>", methods=["POST"])
@transaction
def set_language(code: str):
    response = make_response(redirect(_safe_next(request.form.get("next"))))
    if code in ("zh_CN", "en"):
        response.set_cookie("lang", code, max_age=365 * 86400, samesite="Lax")
        if current_user.is_authenticated:
            current_user.user.locale = code
    return response
