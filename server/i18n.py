"""The language of the phone pages (reached from a board's QR code) and of `<html lang>`.

The admin UI is Chinese or English (`server.app._select_locale`). The phone pages (the
item and feedback page, the ticket pages, the landing page and the error pages under
them) are in Simplified Chinese, Traditional Chinese or English: a villager's explicit
choice (the 简体 / 繁體 / English links at the top of every phone page, `?lang=<code>`,
remembered in the `lang` cookie for a year), else the phone's Accept-Language (zh-TW,
zh-HK, zh-MO and zh-Hant → Traditional, en → English), else Simplified. Only the page's
own wording changes: what editors and villagers wrote is shown as written.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, has_request_context, request
from flask_babel import get_locale
from flask_babel import gettext as _

from signage_layouts import dates

PHONE_LOCALES = ("zh_Hans", "zh_Hant", "en")
DEFAULT = "zh_Hans"
COOKIE = "lang"  # shared with the admin's language switch (which writes zh_CN or en)
COOKIE_AGE = 365 * 86400
# <html lang> of each locale, admin ones included.
HTML_LANG = {"zh_Hans": "zh-CN", "zh_CN": "zh-CN", "zh_Hant": "zh-TW", "en": "en"}
# The switch's labels, each in its own language.
SWITCH = (("zh_Hans", "简体", "zh-CN"), ("zh_Hant", "繁體", "zh-TW"), ("en", "English", "en"))
_ALIASES = {"zh_CN": "zh_Hans"}  # the admin switch's code for Simplified
_TRADITIONAL = {"hant", "tw", "hk", "mo"}


def is_phone_page() -> bool:
    """Pages a villager reaches from a QR code or the site's address (not the admin)."""
    return request.blueprint == "public" or request.endpoint == "web.index"


def chosen() -> str | None:
    """The locale the villager picked: `?lang=` on this request, else the cookie."""
    for value in (request.args.get("lang"), request.cookies.get(COOKIE)):
        value = _ALIASES.get(value or "", value)
        if value in PHONE_LOCALES:
            return value
    return None


def from_accept_language() -> str | None:
    """The first language the phone accepts that we have: zh-TW / zh-HK / zh-MO / zh-Hant
    are Traditional, any other zh Simplified, en English."""
    for value, quality in request.accept_languages:
        if quality <= 0:
            continue
        parts = value.lower().replace("_", "-").split("-")
        if parts[0] == "en":
            return "en"
        if parts[0] == "zh":
            return "zh_Hant" if _TRADITIONAL.intersection(parts[1:]) else "zh_Hans"
    return None


def phone_locale() -> str:
    return chosen() or from_accept_language() or DEFAULT


def _remember_choice(response: Any) -> Any:
    """A `?lang=` on a phone page is remembered for the next pages."""
    if is_phone_page():
        picked = request.args.get("lang")
        if picked in PHONE_LOCALES and request.cookies.get(COOKIE) != picked:
            response.set_cookie(COOKIE, picked, max_age=COOKIE_AGE, samesite="Lax")
        response.vary.add("Accept-Language")
        response.vary.add("Cookie")
    return response


def _english() -> bool:
    return str(get_locale() or "") == "en"


def install(app: Flask) -> None:
    """The phone pages' switch, `<html lang>` and dates (Chinese dates read the same in
    Traditional; English gets 2026-11-20)."""
    app.after_request(_remember_choice)
    zone = lambda: str(app.config["TIMEZONE"])  # noqa: E731

    @app.context_processor
    def _phone_context() -> dict[str, Any]:
        locale = str(get_locale() or DEFAULT)
        phone = has_request_context() and is_phone_page()
        return {
            "html_lang": HTML_LANG.get(locale, "zh-CN"),
            "phone_locale": locale if phone else None,
            "language_switch": SWITCH if phone else (),
        }

    @app.template_filter("phone_date")
    def phone_date(value: Any) -> str:
        return dates.admin_date(value, zone()) if _english() else dates.cn_date(value, zone())

    @app.template_filter("phone_datetime")
    def phone_datetime(value: Any) -> str:
        return dates.admin_datetime(value, zone()) if _english() else dates.cn_datetime(value, zone())

    @app.template_filter("phone_period")
    def phone_period(start: Any, end: Any) -> str:
        if not _english():
            return dates.cn_period(start, end, zone())
        if not start:
            return ""
        first, last = dates.admin_period(start, end, zone())
        if last is None:
            return _("%(start)s起", start=first)
        return _("%(start)s 至 %(end)s", start=first, end=last)
