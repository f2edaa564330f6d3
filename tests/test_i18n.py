"""The admin UI in Chinese (source and default) and English: locale choice and the catalogue.

Chinese msgids are the source language; server/translations/en holds the English catalogue.
See docs/translating.md for the extract / update / compile workflow these tests guard.
"""

from __future__ import annotations

import gettext
import io
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from server.extensions import session_scope
from server.models import User
from tests.conftest import csrf_from

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "server" / "translations"
POT = TRANSLATIONS / "messages.pot"
EN_PO = TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.po"
EN_MO = TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.mo"

# Strings the pages below must show, as (Chinese source, English translation).
LOGIN_STRINGS = [("登录管理后台", "Sign in to Sunwall admin"), ("阳光公开屏管理", "Sunwall admin")]
DASHBOARD_STRINGS = [
    ("工作台", "Dashboard"),
    ("待审核", "Awaiting review"),
    ("起草公开事项", "Draft a disclosure"),
    ("群众反馈", "Feedback"),
    ("退出", "Sign out"),
]


def _read_catalog(path: Path):
    with path.open("rb") as f:
        return read_po(f)


def _key(msgid: str | tuple[str, ...]) -> str:
    return msgid if isinstance(msgid, str) else msgid[0]


def _ids(catalog) -> set[str]:
    return {_key(m.id) for m in catalog if m.id}


def _assert_chinese(html: str, pairs: list[tuple[str, str]]) -> None:
    for zh, en in pairs:
        assert zh in html, f"missing Chinese text {zh!r}"
        assert en not in html, f"unexpected English text {en!r}"


def _assert_english(html: str, pairs: list[tuple[str, str]]) -> None:
    for zh, en in pairs:
        assert en in html, f"missing English text {en!r}"
        assert zh not in html, f"untranslated Chinese text {zh!r}"


# --- locale selection ----------------------------------------------------------------------


def test_login_page_and_dashboard_default_to_chinese(client, world, login):
    page = client.get("/login")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    _assert_chinese(html, LOGIN_STRINGS)
    assert '<html lang="zh-CN">' in html

    assert login("editor").status_code == 302
    html = client.get("/admin/").get_data(as_text=True)
    _assert_chinese(html, DASHBOARD_STRINGS)
    assert '<html lang="zh-CN">' in html


def test_accept_language_english_shows_english_login_page(client, world):
    html = client.get("/login", headers={"Accept-Language": "en-GB,en;q=0.9"}).get_data(
        as_text=True
    )
    _assert_english(html, LOGIN_STRINGS)
    assert '<html lang="en">' in html


def test_accept_language_prefers_chinese_when_listed_first(client, world):
    html = client.get("/login", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"}).get_data(
        as_text=True
    )
    _assert_chinese(html, LOGIN_STRINGS)


def test_wrong_password_message_is_translated(client, world):
    headers = {"Accept-Language": "en"}
    page = client.get("/login", headers=headers).get_data(as_text=True)
    resp = client.post(
        "/login",
        data={"username": "editor", "password": "wrong", "csrf_token": csrf_from(page)},
        headers=headers,
    )
    assert resp.status_code == 401
    html = resp.get_data(as_text=True)
    assert "Incorrect username or password." in html
    assert "用户名或密码不正确" not in html


def test_language_switch_makes_dashboard_english_and_is_saved_for_the_user(
    app, client, world, login
):
    login("editor")
    page = client.get("/admin/").get_data(as_text=True)
    _assert_chinese(page, DASHBOARD_STRINGS)
    assert "English" in page  # the switch button

    resp = client.post("/lang/en", data={"csrf_token": csrf_from(page), "next": "/admin/"})
    assert resp.status_code == 302
    assert resp.headers["Location"].endswith("/admin/")
    assert "lang=en" in resp.headers.get("Set-Cookie", "")

    html = client.get("/admin/").get_data(as_text=True)
    _assert_english(html, DASHBOARD_STRINGS)
    assert '<html lang="en">' in html
    assert "中文" in html  # the switch now offers the way back

    with app.app_context(), session_scope() as s:
        assert s.get(User, world.editor.id).locale == "en"

    # The saved locale wins even without the cookie and against the browser's preference.
    client.delete_cookie("lang")
    assert client.get_cookie("lang") is None
    html = client.get("/admin/", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    _assert_english(html, DASHBOARD_STRINGS)

    # ...and switching back restores Chinese and saves that too.
    client.post("/lang/zh_CN", data={"csrf_token": csrf_from(html), "next": "/admin/"})
    _assert_chinese(client.get("/admin/").get_data(as_text=True), DASHBOARD_STRINGS)
    with app.app_context(), session_scope() as s:
        assert s.get(User, world.editor.id).locale == "zh_CN"


def test_language_switch_needs_a_csrf_token(app, client, world, login):
    login("editor")
    assert client.post("/lang/en", data={"next": "/admin/"}).status_code == 400
    with app.app_context(), session_scope() as s:
        assert s.get(User, world.editor.id).locale == "zh_CN"
    _assert_chinese(client.get("/admin/").get_data(as_text=True), DASHBOARD_STRINGS)


def test_unknown_language_code_is_ignored(app, client, world, login):
    login("editor")
    page = client.get("/admin/").get_data(as_text=True)
    resp = client.post("/lang/fr", data={"csrf_token": csrf_from(page), "next": "/admin/"})
    assert resp.status_code == 302
    assert "lang=" not in resp.headers.get("Set-Cookie", "")
    with app.app_context(), session_scope() as s:
        assert s.get(User, world.editor.id).locale == "zh_CN"


# --- the catalogue -------------------------------------------------------------------------


def test_flask_babel_finds_the_catalogue_under_server_translations(app):
    import flask_babel

    with app.test_request_context(headers={"Accept-Language": "en"}):
        dirs = [Path(d).resolve() for d in flask_babel.get_babel().translation_directories]
        assert TRANSLATIONS.resolve() in dirs
        assert str(flask_babel.get_locale()) == "en"
        assert flask_babel.gettext("审核通过并发布") == "Approve and publish"


def test_every_message_has_an_english_translation():
    catalog = _read_catalog(EN_PO)
    messages = [m for m in catalog if m.id]
    assert len(messages) >= 100
    for m in messages:
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        assert all(s and s.strip() for s in strings), f"untranslated: {m.id!r}"
        assert "fuzzy" not in m.flags, f"fuzzy: {m.id!r}"
        # Jinja's newstyle gettext always applies `%` formatting, so placeholders must match.
        assert all(s.count("%") == _key(m.id).count("%") for s in strings), f"stray %: {m.id!r}"
    assert not catalog.obsolete, f"obsolete entries: {list(catalog.obsolete)}"


def test_catalogue_matches_the_strings_in_the_source():
    """Every wrapped string in server/ is in the .pot and the .po, and nothing stale remains."""
    with (ROOT / "babel.cfg").open() as f:
        method_map, options_map = parse_mapping_cfg(f)
    extracted = {
        _key(message)
        for *_, message, _comments, _context in extract_from_dir(str(ROOT), method_map, options_map)
    }
    assert "工作台" in extracted  # the Jinja2 extractor ran
    assert "用户名或密码不正确。" in extracted  # the Python extractor ran
    pot_ids = _ids(_read_catalog(POT))
    po_ids = _ids(_read_catalog(EN_PO))
    assert extracted - pot_ids == set(), "run pybabel extract (docs/translating.md)"
    assert pot_ids - extracted == set(), "stale strings in messages.pot: run pybabel extract"
    assert pot_ids == po_ids, "run pybabel update (docs/translating.md)"


def test_compiled_mo_is_up_to_date_with_the_po():
    buf = io.BytesIO()
    write_mo(buf, _read_catalog(EN_PO))
    fresh = gettext.GNUTranslations(io.BytesIO(buf.getvalue()))
    with EN_MO.open("rb") as f:
        shipped = gettext.GNUTranslations(f)
    def messages(translations):  # the header names the Babel version that compiled it; skip it
        return {k: v for k, v in translations._catalog.items() if k != ""}

    assert messages(shipped) == messages(fresh), "run pybabel compile -d server/translations"
    assert shipped.gettext("工作台") == "Dashboard"


@pytest.mark.parametrize("path", [POT, EN_PO, EN_MO])
def test_catalogue_files_exist(path):
    assert path.is_file() and path.stat().st_size > 0
