"""A screen's chrome language: the fixed words around the content, never the content.

Each screen has a `locale` (Simplified, Traditional or English; `devices.locale`). Its
manifest carries `locale`, `lang` (the BCP 47 tag for `<html lang>`) and `chrome`, a dict
of the player's and kiosk's fixed wording (返回, 首页, 第 k/n 页, the idle countdown, the
QR captions on boards …) translated by the server through the Babel catalogues in
server/translations. The player (signage_layouts/static/player.js, kiosk.js) takes each
string from `chrome` and falls back on the Simplified wording built into it.

Board HTML is rendered once per content and shared by every screen, so a board's fixed
labels are marked `data-chrome="<key>"` in the board templates and the player puts in
the screen's wording; what editors wrote (titles, bodies, tables, area and category
names, answers) and the dates inside a board stay as written.

This runs outside any request (the manifest of a screen is the same whoever asks), so it
loads the catalogues with Babel directly instead of through Flask-Babel's per-request
locale.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from babel.support import NullTranslations, Translations

from server.domain.text import N_

TRANSLATIONS = Path(__file__).resolve().parent.parent / "translations"
DEFAULT = "zh_Hans"
# The chrome languages a screen may have, with the tag for <html lang>.
LANG_TAGS = {"zh_Hans": "zh-CN", "zh_Hant": "zh-TW", "en": "en"}
LOCALES = tuple(LANG_TAGS)
# What an admin picks from; each is written in its own language.
LOCALE_NAMES = {"zh_Hans": "简体中文", "zh_Hant": "繁體中文", "en": "English"}

# key → Simplified msgid. player.js and kiosk.js hold the same Simplified wording as their
# fallback; `%(name)s` placeholders are filled in by the player.
STRINGS: dict[str, str] = {
    "loading": N_("正在载入公开内容…"),
    "qr": N_("二维码"),
    "link_state": N_("连接状态"),
    # TRANSLATORS: shown over the ticker while a person has paused it with a tap.
    "paused": N_("‖ 已暂停，轻触继续"),
    # TRANSLATORS: the page of a long board or kiosk list being shown, e.g. 第 2/5 页.
    "sheet": N_("第 %(page)s/%(pages)s 页"),
    "echo_wall": N_("回音壁"),
    "echo_slogan": N_("群众有所呼，我们有所应"),
    # TRANSLATORS: before a villager's question on the echo wall board.
    "asked": N_("村民问："),
    "answer": N_("答复："),
    "echo_empty": N_("还没有公开的答复。有意见、建议或问题，请扫右侧二维码告诉我们。"),
    # TRANSLATORS: the caption under a notice's QR code; the line break is kept.
    "qr_notice": N_("扫码看全文\n提意见建议"),
    "qr_table": N_("扫码看全表\n提意见建议"),
    "qr_echo": N_("扫码提意见\n查看答复"),
    "internal": N_("党内公开"),
    # TRANSLATORS: the tag of an item shown inside the party first, later to everyone.
    "internal_first": N_("先党内"),
    # TRANSLATORS: the tag of a correction (更正) replacing an item shown before.
    "correction": N_("更正"),
    "urgent": N_("紧急通知"),
    "setup_title": N_("这块屏幕需要重新设置"),
    "setup_hint": N_("播放地址已更换或停用，屏幕已停止更新。\n请联系乡镇管理员，在屏幕上打开新地址。"),
    # The touch kiosk (查询机).
    "kiosk_start": N_("点击查看全部公开内容"),
    "kiosk_bar": N_("查询机操作"),
    "back": N_("返回"),
    "home": N_("首页"),
    "prev": N_("上一页"),
    "next": N_("下一页"),
    # TRANSLATORS: the kiosk button that makes the text larger.
    "large": N_("大字"),
    # TRANSLATORS: the kiosk button that reads the board aloud.
    "read": N_("朗读"),
    # TRANSLATORS: the kiosk's countdown before it goes back to the slideshow.
    "idle": N_("%(seconds)s 秒后回到轮播"),
    "kiosk_home": N_("公开目录 · 请点选类别"),
    # TRANSLATORS: how many items a kiosk category holds, on its tile.
    "items": N_("%(count)s 项"),
    "kiosk_empty": N_("目前没有可查看的公开内容。"),
}

# The ticker's fixed wording, put together by the server (not sent as chrome).
TICKER_WELCOME = N_("欢迎来到%(site)s　扫描屏幕上的二维码，可在手机上查看全文、提出意见建议。")
# TRANSLATORS: follows the welcome line on the ticker; %(titles)s lists the newest titles.
TICKER_LATEST = N_("　最新公开：%(titles)s")
# TRANSLATORS: between two titles in the ticker's list of the newest items.
TICKER_SEPARATOR = N_("；")


def normalise(locale: str | None) -> str:
    """A known chrome locale, else the default (Simplified)."""
    return locale if locale in LANG_TAGS else DEFAULT


@cache
def _translations(locale: str) -> NullTranslations:
    if locale == DEFAULT:
        return NullTranslations()  # the msgids are Simplified
    return Translations.load(str(TRANSLATIONS), [locale])


def gettext(locale: str, message: str, **values: str | int) -> str:
    """`message` in `locale`, with `%(name)s` placeholders filled from `values`."""
    text = _translations(normalise(locale)).gettext(message)
    return text % values if values else text


@cache
def strings(locale: str) -> dict[str, str]:
    """The chrome dict of a screen in `locale`: key → wording, placeholders kept."""
    translate = _translations(normalise(locale)).gettext
    return {key: translate(message) for key, message in STRINGS.items()}


def ticker(locale: str, site: str, titles: list[str]) -> str:
    """The ticker line: the welcome, then the newest titles (content, kept as written)."""
    text = gettext(locale, TICKER_WELCOME, site=site)
    if titles:
        text += gettext(locale, TICKER_LATEST, titles=gettext(locale, TICKER_SEPARATOR).join(titles))
    return text
