"""The application factory, built from small ordered steps."""

from __future__ import annotations

from typing import Any

from flask import Flask, request
from flask_login import current_user
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

import signage_layouts
from server import config as config_module
from server import i18n, notify, realtime, voice
from server.clock import SystemClock
from server.db import make_engine, make_sessionmaker, write_intent
from server.extensions import (
    Database,
    babel,
    close_db_session,
    csrf,
    limiter,
    login_manager,
    socketio,
)

LOCALES = ("zh_CN", "en")


class DatabaseId(IntegerConverter):
    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", 2**63 - 1)
        super().__init__(map, *args, **kwargs)


def create_app(config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=False)
    app.config.update(config_module.load(config))
    signage_layouts.layouts()  # a broken layout folder stops the server here, saying why
    # Manifests are large and mostly Chinese: keep UTF-8 as is and skip key sorting.
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.json.compact = True  # type: ignore[attr-defined]
    # Ids in URLs are 64-bit database keys: a larger number is simply not found (404),
    # never an overflow deep in the driver.
    app.url_map.converters["int"] = DatabaseId
    _init_database(app)
    _init_extensions(app)
    _register_blueprints(app)
    _register_errors(app)
    _register_template_helpers(app)
    if app.config["PROXY_COUNT"]:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=app.config["PROXY_COUNT"], x_proto=app.config["PROXY_COUNT"]
        )
    return app


def _init_database(app: Flask) -> None:
    engine = make_engine(app.config["DATABASE_URL"])
    factory = make_sessionmaker(engine)
    notify.install(factory)
    app.extensions["sunwall.db"] = Database(engine, factory)
    app.extensions["sunwall.clock"] = app.config.get("CLOCK") or SystemClock()
    app.teardown_appcontext(close_db_session)

    @app.before_request
    def _declare_write_intent() -> None:
        write_intent.set(request.method not in ("GET", "HEAD", "OPTIONS"))


def _select_locale() -> str | None:
    if i18n.is_phone_page():  # Simplified, Traditional or English (server/i18n.py)
        return i18n.phone_locale()
    if current_user.is_authenticated and current_user.locale in LOCALES:
        return current_user.locale
    chosen = request.cookies.get("lang")
    chosen = "zh_CN" if chosen in ("zh_Hans", "zh_Hant") else chosen  # a phone page's choice
    if chosen in LOCALES:
        return chosen
    return request.accept_languages.best_match(LOCALES, default="zh_CN")


def _init_extensions(app: Flask) -> None:
    csrf.init_app(app)
    app.config["RATELIMIT_HEADERS_ENABLED"] = True
    limiter.init_app(app)
    babel.init_app(app, locale_selector=_select_locale)
    i18n.install(app)
    from server.web.auth import init_login

    init_login(app, login_manager)
    socketio.init_app(
        app,
        async_mode=app.config["ASYNC_MODE"],
        message_queue=app.config["MESSAGE_QUEUE"],
        ping_interval=25,
        ping_timeout=20,
    )
    realtime.register(socketio)
    voice.install(app, socketio.start_background_task)


def _register_blueprints(app: Flask) -> None:
    from server.api import api
    from server.player import player
    from server.public import public
    from server.web import web

    app.register_blueprint(web)
    app.register_blueprint(public)
    app.register_blueprint(player)
    app.register_blueprint(api)
    csrf.exempt(api)


def _register_errors(app: Flask) -> None:
    from server.errors import register

    register(app)


def _register_template_helpers(app: Flask) -> None:
    from signage_layouts import dates

    # Every date on a page goes through signage_layouts.dates, in the township's zone.
    def zone() -> str:
        return str(app.config["TIMEZONE"])

    @app.template_filter("local_dt")
    def local_dt(value: Any) -> str:
        return dates.admin_datetime(value, zone())

    @app.template_filter("local_date")
    def local_date(value: Any) -> str:
        return dates.admin_date(value, zone())

    @app.template_filter("cn_date")
    def cn_date(value: Any) -> str:
        return dates.cn_date(value, zone())

    @app.template_filter("cn_datetime")
    def cn_datetime(value: Any) -> str:
        return dates.cn_datetime(value, zone())

    @app.template_filter("cn_period")
    def cn_period(start: Any, end: Any) -> str:
        return dates.cn_period(start, end, zone())

    app.template_filter("period_label")(dates.period_label)

    @app.context_processor
    def _ui_helpers() -> dict[str, Any]:
        from flask_babel import get_locale

        from server.domain.access import has_role
        from server.models import Role

        def may(role: str) -> bool:
            """Show a control only to users holding `role` somewhere (checked again on use)."""
            return bool(current_user.is_authenticated and has_role(current_user.user, Role(role)))

        return {"ui_locale": str(get_locale() or "zh_CN"), "may": may}

    @app.route("/favicon.ico")
    def _favicon() -> Any:
        return "", 204

    https = str(app.config["PUBLIC_URL"]).startswith("https://")

    @app.after_request
    def _security_headers(response: Any) -> Any:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        # Never send our URLs (QR tokens, screen keys) to another site.
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if https:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        response.headers.setdefault(
            "Content-Security-Policy",
            # img and media: attachments and read-aloud audio, which the browser-only player
            # fetches with the screen's key and shows from a blob
            "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; "
            "media-src 'self' blob:; "
            "script-src 'self'; connect-src 'self' ws: wss:; object-src 'none'; base-uri 'none'",
        )
        return response
