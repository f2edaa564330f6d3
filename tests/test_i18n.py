"""The admin UI in Chinese (source and default) and English: locale choice and the catalogue.

Chinese msgids are the source language; server/translations/en holds the English catalogue
and server/translations/zh_Hant the Traditional one (made with OpenCC, tools/make_zh_hant.py).
See docs/translating.md for the extract / update / compile workflow these tests guard. The
phone pages and a screen's chrome are also in Traditional Chinese and English: see the end.
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
HANT_PO = TRANSLATIONS / "zh_Hant" / "LC_MESSAGES" / "messages.po"
HANT_MO = TRANSLATIONS / "zh_Hant" / "LC_MESSAGES" / "messages.mo"

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


@pytest.mark.parametrize("path", [POT, EN_PO, EN_MO, HANT_PO, HANT_MO])
def test_catalogue_files_exist(path):
    assert path.is_file() and path.stat().st_size > 0


# --- Traditional Chinese and English beyond the admin: phone pages and screen chrome ------

# Key strings as a person wrote them down: (Simplified msgid, Traditional, English). The
# Traditional catalogue is made by OpenCC; this table is what a reader expects to see.
KEY_STRINGS = [
    ("意见", "意見", "Comments"),
    ("建议", "建議", "Suggestion"),
    ("咨询", "諮詢", "Question"),
    ("举报", "舉報", "Report"),
    ("回执号", "回執號", "Ticket code"),
    ("查回执", "查回執", "Check a ticket"),
    ("我要留言", "我要留言", "Leave a message"),
    ("待答复", "待答覆", "Awaiting reply"),
    ("阳光公开屏", "陽光公開屏", "Sunwall"),
    ("党内公开", "黨內公開", "Party-internal"),
    ("类型", "類型", "Type"),
    ("审核", "審核", "Review"),
    ("回音壁", "回音壁", "Echo wall"),
    ("返回", "返回", "Back"),
    ("首页", "首頁", "Home"),
    ("上一页", "上一頁", "Previous"),
    ("下一页", "下一頁", "Next"),
    ("大字", "大字", "Larger"),
    ("朗读", "朗讀", "Read aloud"),
    ("第 %(page)s/%(pages)s 页", "第 %(page)s/%(pages)s 頁", "Page %(page)s/%(pages)s"),
    ("‖ 已暂停，轻触继续", "‖ 已暫停，輕觸繼續", "‖ Paused, tap to continue"),
]
SUBMIT_BUTTON = ("button", "提交", "提交", "Send")  # (context, msgid, Traditional, English)


@pytest.mark.parametrize(("zh", "hant", "en"), KEY_STRINGS, ids=[zh for zh, _, _ in KEY_STRINGS])
def test_key_strings_read_as_a_person_wrote_them(zh, hant, en):
    assert _read_catalog(HANT_PO).get(zh).string == hant
    assert _read_catalog(EN_PO).get(zh).string == en


def test_the_send_button_has_its_own_wording():
    context, zh, hant, en = SUBMIT_BUTTON
    assert _read_catalog(HANT_PO).get(zh, context=context).string == hant
    assert _read_catalog(EN_PO).get(zh, context=context).string == en
    assert _read_catalog(EN_PO).get(zh).string == "Submitted"  # the admin's column heading


def test_every_message_has_a_traditional_translation_in_step_with_the_pot():
    catalog = _read_catalog(HANT_PO)
    assert str(catalog.locale) == "zh_Hant"
    assert _ids(catalog) == _ids(_read_catalog(POT)), "run tools/make_zh_hant.py (docs/translating.md)"
    for m in catalog:
        if not m.id:
            continue
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        assert all(s and s.strip() for s in strings), f"untranslated: {m.id!r}"
        assert "fuzzy" not in m.flags, f"fuzzy: {m.id!r}"
        assert all(s.count("%") == _key(m.id).count("%") for s in strings), f"stray %: {m.id!r}"
        # Simplified-only characters never survive the conversion.
        assert not set("这们说时们话来为还发页显") & set("".join(strings)), f"not converted: {m.id!r}"
    assert not catalog.obsolete


def test_traditional_mo_is_up_to_date_with_the_po():
    buf = io.BytesIO()
    write_mo(buf, _read_catalog(HANT_PO))
    fresh = gettext.GNUTranslations(io.BytesIO(buf.getvalue()))
    with HANT_MO.open("rb") as f:
        shipped = gettext.GNUTranslations(f)
    assert {k: v for k, v in shipped._catalog.items() if k != ""} == {
        k: v for k, v in fresh._catalog.items() if k != ""
    }, "run pybabel compile -d server/translations"
    assert shipped.gettext("查回执") == "查回執"


def test_regenerating_the_traditional_catalogue_changes_nothing():
    """tools/make_zh_hant.py on the current .pot gives the .po as committed (needs OpenCC,
    the `translate` extra; skipped without it)."""
    opencc = pytest.importorskip("opencc")
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_zh_hant", ROOT / "tools" / "make_zh_hant.py")
    assert spec is not None and spec.loader is not None
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    built = tool.build(_read_catalog(POT), opencc.OpenCC("s2twp"))
    committed = _read_catalog(HANT_PO)
    assert {(m.context, _key(m.id)): m.string for m in built if m.id} == {
        (m.context, _key(m.id)): m.string for m in committed if m.id
    }, "run tools/make_zh_hant.py"


# --- phone pages ---------------------------------------------------------------------------

TITLE, BODY = "甲村十月财务公开", "**正文** 内容"
PHONE_HANT = ["查回執", "我要留言", "類型", "意見", "舉報", "姓名和電話只有工作人員能看到"]
PHONE_EN = ["Check a ticket", "Leave a message", "Type", "Comments", "Report", "Only staff can see your name"]
PHONE_ZH = ["查回执", "我要留言", "类型", "意见", "举报", "姓名和电话只有工作人员能看到"]


@pytest.fixture
def item_path(app, world) -> str:
    """The phone page of an approved public notice, as its QR code on screen A names it."""
    import datetime as dt

    from server.domain import disclosures, qrlinks

    start = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    with app.app_context(), session_scope() as s:
        d = disclosures.create_draft(
            s, s.get(User, world.editor.id),
            disclosures.DraftInput(area_id=world.village_a.id, catalogue_item_id=world.item_public.id,
                                   title=TITLE, valid_from=start, body=BODY),
            start,
        )
        disclosures.submit(s, s.get(User, world.editor.id), d.id, start)
        disclosures.approve(s, s.get(User, world.reviewer.id), d.id, start)
        target = qrlinks.QrTarget("d", d.id, world.screen_a.id)
    return "/q/" + qrlinks.make_token(app.config["SECRET_KEY"].encode(), target)


def _has_all(html: str, texts: list[str]) -> None:
    for text in texts:
        assert text in html, f"missing {text!r}"


def _content_as_written(html: str) -> None:
    assert TITLE in html and "<strong>正文</strong> 内容" in html
    assert "甲村十月財務公開" not in html and "內容</p>" not in html  # never converted


def test_phone_page_is_simplified_by_default_and_offers_the_switch(client, item_path):
    html = client.get(item_path).get_data(as_text=True)
    assert '<html lang="zh-CN">' in html
    _has_all(html, PHONE_ZH)
    _content_as_written(html)
    for code, label in (("zh_Hans", "简体"), ("zh_Hant", "繁體"), ("en", "English")):
        assert f'href="?lang={code}"' in html and f">{label}</a>" in html
    assert 'aria-current="true">简体' in html


def test_phone_switch_to_traditional_is_remembered_in_a_cookie(client, item_path):
    resp = client.get(item_path + "?lang=zh_Hant")
    assert "lang=zh_Hant" in resp.headers.get("Set-Cookie", "")
    html = resp.get_data(as_text=True)
    assert '<html lang="zh-TW">' in html and 'aria-current="true">繁體' in html
    _has_all(html, PHONE_HANT)
    _content_as_written(html)
    # The next page (no parameter) keeps the choice, whatever the phone prefers.
    html = client.get(item_path, headers={"Accept-Language": "en"}).get_data(as_text=True)
    _has_all(html, PHONE_HANT)
    html = client.get("/t").get_data(as_text=True)
    assert "檢視留言答覆" in html and '<html lang="zh-TW">' in html


def test_phone_switch_to_english(client, item_path):
    html = client.get(item_path + "?lang=en").get_data(as_text=True)
    assert '<html lang="en">' in html
    _has_all(html, PHONE_EN + ["Send</button>", "2026-11-01"])
    _content_as_written(html)
    assert "类型" not in html and "查回执" not in html
    # and back to Simplified
    html = client.get(item_path + "?lang=zh_Hans").get_data(as_text=True)
    _has_all(html, PHONE_ZH + ["2026年11月1日"])
    assert client.get_cookie("lang").value == "zh_Hans"


@pytest.mark.parametrize(
    ("accept", "lang", "texts"),
    [
        ("zh-TW,zh;q=0.9", "zh-TW", PHONE_HANT),
        ("zh-HK", "zh-TW", PHONE_HANT),
        ("zh-MO,en;q=0.5", "zh-TW", PHONE_HANT),
        ("zh-Hant-TW", "zh-TW", PHONE_HANT),
        ("en-US,en;q=0.9,zh-CN;q=0.8", "en", PHONE_EN),
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh-CN", PHONE_ZH),
        ("fr-FR,de;q=0.5", "zh-CN", PHONE_ZH),
    ],
)
def test_phone_page_follows_accept_language(client, item_path, accept, lang, texts):
    resp = client.get(item_path, headers={"Accept-Language": accept})
    html = resp.get_data(as_text=True)
    assert f'<html lang="{lang}">' in html
    _has_all(html, texts)
    _content_as_written(html)
    assert "lang=" not in resp.headers.get("Set-Cookie", "")  # only a choice is remembered


def test_feedback_in_english_keeps_the_villagers_words_and_its_ticket_is_english(app, client, item_path):
    page = client.get(item_path + "?lang=en").get_data(as_text=True)
    refused = client.post(item_path, data={"csrf_token": csrf_from(page), "kind": "question", "body": "  "})
    assert refused.status_code == 422
    assert "Message: Please write your message." in refused.get_data(as_text=True)
    resp = client.post(item_path, data={"csrf_token": csrf_from(page), "kind": "opinion", "body": "路灯坏了，请修理。"})
    assert resp.status_code == 302
    html = client.get(resp.headers["Location"]).get_data(as_text=True)
    _has_all(html, ["Sent! Keep your ticket code", "Comments", "Awaiting reply", "Your message", "路灯坏了，请修理。"])
    assert "路燈" not in html


def test_phone_error_page_speaks_the_phones_language(client, world):
    resp = client.get("/q/garbage", headers={"Accept-Language": "zh-TW"})
    assert resp.status_code == 404
    html = resp.get_data(as_text=True)
    assert "沒有找到這個頁面" in html and "頁面不存在，或者二維碼已失效。" in html
    html = client.get("/q/garbage", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Page not found" in html and '<html lang="en">' in html


def test_a_phone_choice_leaves_the_admin_in_chinese_or_english(client, world, login, item_path):
    client.get(item_path + "?lang=zh_Hant")
    page = client.get("/login", headers={"Accept-Language": "en"})
    html = page.get_data(as_text=True)
    _assert_chinese(html, LOGIN_STRINGS)  # Traditional chosen: the admin is Chinese (Simplified)
    assert '<html lang="zh-CN">' in html and "?lang=" not in html
    client.get(item_path + "?lang=en")
    _assert_english(client.get("/login").get_data(as_text=True), LOGIN_STRINGS)


# --- a screen's chrome ---------------------------------------------------------------------


def _screen_manifest(app, client, device_id: int) -> dict:
    import datetime as dt

    from server.domain import devices
    from server.models import Device

    with app.app_context(), session_scope() as s:
        key = devices.replace_browser_key(s, None, s.get(Device, device_id), dt.datetime.now(dt.UTC))
    resp = client.get("/api/v1/device/manifest", headers={"Authorization": f"Bearer {key}"})
    assert resp.status_code == 200
    return resp.get_json()


def test_a_screen_is_simplified_unless_set_otherwise(app, client, world):
    from server.domain import chrome

    m = _screen_manifest(app, client, world.screen_a.id)
    assert (m["locale"], m["lang"]) == ("zh_Hans", "zh-CN")
    assert m["chrome"] == chrome.STRINGS
    assert m["ticker"].startswith("欢迎来到甲村党群服务中心　扫描屏幕上的二维码")


def test_a_screen_set_to_english_gets_english_chrome(app, client, world, login):
    login("admin")
    page = client.get(f"/admin/screens/{world.screen_a.id}/language").get_data(as_text=True)
    assert "English" in page and "繁體中文" in page
    resp = client.post(
        f"/admin/screens/{world.screen_a.id}/language", data={"csrf_token": csrf_from(page), "locale": "en"}
    )
    assert resp.status_code == 302
    assert "English" in client.get("/admin/screens").get_data(as_text=True)

    m = _screen_manifest(app, client, world.screen_a.id)
    assert (m["locale"], m["lang"]) == ("en", "en")
    for key, text in {
        "back": "Back", "home": "Home", "prev": "Previous", "next": "Next", "large": "Larger",
        "read": "Read aloud", "kiosk_start": "Tap to browse all disclosures", "paused": "‖ Paused, tap to continue",
        "sheet": "Page %(page)s/%(pages)s", "idle": "Slideshow in %(seconds)s s",
        "qr_notice": "Scan to read in full\nand give feedback",
    }.items():
        assert m["chrome"][key] == text, key
    # The welcome is English; the site's name (content) stays as written.
    assert m["ticker"].startswith("Welcome to 甲村党群服务中心. Scan the QR code")
    # Another screen of the same hall keeps its own language.
    other = _screen_manifest(app, client, world.screen_a_internal.id)
    assert other["locale"] == "zh_Hans" and other["chrome"]["back"] == "返回"

    with app.app_context(), session_scope() as s:
        from server.models import AuditEvent

        assert s.query(AuditEvent).filter_by(action="device.locale").count() == 1


def test_screen_language_through_the_api(app, client, world, bearer):
    headers = bearer("admin")
    resp = client.put(f"/api/v1/devices/{world.screen_b.id}/locale", json={"locale": "zh_Hant"}, headers=headers)
    assert resp.status_code == 200 and resp.get_json()["locale"] == "zh_Hant"
    bad = client.put(f"/api/v1/devices/{world.screen_b.id}/locale", json={"locale": "fr"}, headers=headers)
    assert bad.status_code in (400, 422)
    m = _screen_manifest(app, client, world.screen_b.id)
    assert (m["locale"], m["lang"]) == ("zh_Hant", "zh-TW")
    assert m["chrome"]["read"] == "朗讀" and m["chrome"]["kiosk_start"] == "點選檢視全部公開內容"
    assert m["ticker"].startswith("歡迎來到乙村党群服务中心")  # the site's name as written


def test_player_fallbacks_and_template_markers_match_the_chrome_keys():
    """The Simplified wording built into player.js and kiosk.js is the chrome's msgid, and
    every data-chrome marker in the layouts and boards names a chrome key."""
    import re

    from server.domain import chrome

    static = ROOT / "signage_layouts" / "static"
    scripts = (static / "player.js").read_text(encoding="utf-8") + (static / "kiosk.js").read_text(encoding="utf-8")
    calls = re.findall(r'\bt\("(\w+)", "([^"]*)"', scripts)
    assert len(calls) >= 7
    for key, fallback in calls:
        assert chrome.STRINGS[key] == fallback, key
    css = (static / "player.css").read_text(encoding="utf-8")
    assert f'var(--chrome-paused, "{chrome.STRINGS["paused"]}")' in css
    markers = set()
    for path in (ROOT / "signage_layouts").rglob("*.html"):
        markers |= set(re.findall(r'data-chrome(?:-label|-title)?="(\w+)"', path.read_text(encoding="utf-8")))
    assert markers and markers <= chrome.STRINGS.keys(), markers - chrome.STRINGS.keys()


@pytest.mark.browser
def test_an_english_kiosk_shows_english_chrome_and_content_as_written(app, client, world, item_path, browser):
    """The real player.js and kiosk.js in Chromium, served by the test app through
    Playwright's router: the chrome comes from the manifest, the board's words do not."""
    import datetime as dt
    import re

    from server.domain import devices
    from server.models import DeviceKind, Orientation, Site
    from tests.browser import player_context

    with app.app_context(), session_scope() as s:
        kiosk = devices.create_device(
            s, None, s.get(Site, world.site_a.id), "甲村查询机", DeviceKind.kiosk, Orientation.landscape,
            dt.datetime.now(dt.UTC), locale="en",
        )
        key = devices.replace_browser_key(s, None, kiosk, dt.datetime.now(dt.UTC))

    def serve(route):
        request = route.request
        path = request.url.removeprefix("http://sunwall.test")
        if path.startswith("/socket.io"):
            return route.abort()
        headers = {k: v for k, v in request.headers.items() if k.lower() in ("authorization", "if-none-match")}
        resp = client.open(path, method=request.method, headers=headers, data=request.post_data_buffer)
        route.fulfill(status=resp.status_code, headers=dict(resp.headers), body=resp.get_data())

    context = player_context(browser)
    try:
        context.route("http://sunwall.test/**", serve)
        page = context.new_page()
        page.goto(f"http://sunwall.test/player/{key}")
        page.wait_for_function("() => document.getElementById('stage').dataset.boardId", polling=50)
        assert page.evaluate("document.documentElement.lang") == "en"
        assert page.inner_text("#kiosk-start") == "Tap to browse all disclosures"
        assert page.inner_text("[data-act=back]") == "Back" and page.inner_text("[data-act=large]") == "Larger"
        assert page.get_attribute("#kiosk-bar", "aria-label") == "Kiosk controls"
        assert "Paused" in page.evaluate("getComputedStyle(document.documentElement).getPropertyValue('--chrome-paused')")
        # The clock (redrawn every second) writes the date the English way.
        page.wait_for_function(
            "() => /(Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day/.test(document.getElementById('clock-date').textContent)",
            polling=50, timeout=3000,
        )
        assert page.inner_text("#ticker-text").startswith("Welcome to 甲村党群服务中心")
        # A notice board: its QR caption is English, its title and body as written.
        page.evaluate("""() => {
            const p = window.sunwallPlayer, i = p.playing.findIndex(x => x.board.kind === "notice");
            p.api.show(i);
        }""")
        assert page.inner_text("#stage [data-chrome=qr_notice]") == "Scan to read in full\nand give feedback"
        assert TITLE in page.inner_text("#stage .board-title")
        assert "正文" in page.inner_text("#stage .rich")
        # Browsing: the kiosk's own words.
        page.click("#kiosk-start")
        assert page.inner_text("#stage .board-title") == "Disclosures · choose a category"
        assert page.inner_text("#stage .tile-count") == "Items: 1"
        assert re.fullmatch(r"Slideshow in \d+ s", page.inner_text("#kiosk-idle"))
    finally:
        context.close()
