"""Accounts: server-side sessions, per-account lockout, TOTP two-step sign-in, recovery
codes, password change (own and forced), the 2FA policy and no-store on private pages."""

from __future__ import annotations

import datetime as dt
import re

import pyotp
import pytest
from sqlalchemy import select

from server.clock import FixedClock
from server.domain import audit, signin, users
from server.extensions import session_scope
from server.models import AuditEvent, RecoveryCode, User, UserSession
from tests.conftest import NOW, csrf_from


@pytest.fixture
def clock(app):
    """The app's clock, stopped at NOW (a Friday, 10:00 in Beijing)."""
    fixed = FixedClock(NOW)
    app.extensions["sunwall.clock"] = fixed
    return fixed


def form_post(client, url, data, page_url=None):
    page = client.get(page_url or url).get_data(as_text=True)
    return client.post(url, data={"csrf_token": csrf_from(page), **data})


def sign_in(app, username, password="correct-horse", address="10.1.1.1"):
    """A fresh browser that signs in; returns (client, response to the password form)."""
    browser = app.test_client()
    browser.environ_base["REMOTE_ADDR"] = address
    resp = form_post(browser, "/login", {"username": username, "password": password})
    return browser, resp


def signed_out(browser) -> bool:
    resp = browser.get("/admin/")
    return resp.status_code == 302 and "/login" in resp.headers["Location"]


def events(app, action):
    with app.app_context(), session_scope() as s:
        return [(e.user_id, e.username, e.detail) for e in s.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        )]


def set_user(app, username, **values):
    with app.app_context(), session_scope() as s:
        user = s.scalars(select(User).where(User.username == username)).one()
        for key, value in values.items():
            setattr(user, key, value)


def secret_of(app, username):
    with app.app_context(), session_scope() as s:
        return s.scalars(select(User.totp_secret).where(User.username == username)).one()


# -- sessions on the server --------------------------------------------------------


def test_a_copied_cookie_is_worthless_after_logout(app, world):
    browser, resp = sign_in(app, "editor")
    assert resp.status_code == 302
    stolen = browser.get_cookie("session").value
    thief = app.test_client()
    thief.set_cookie("session", stolen)
    assert thief.get("/admin/").status_code == 200  # the copy works while the session lives
    form_post(browser, "/logout", {}, page_url="/admin/")
    assert signed_out(browser)
    assert signed_out(thief)
    assert events(app, "logout")[0][1] == "editor"


def test_the_cookie_holds_only_a_session_token(app, world):
    from flask.sessions import SecureCookieSessionInterface

    browser, _ = sign_in(app, "editor")
    serializer = SecureCookieSessionInterface().get_signing_serializer(app)
    content = serializer.loads(browser.get_cookie("session").value)
    assert set(content) <= {"sw_session", "csrf_token", "_flashes"}
    assert "_user_id" not in content


def test_changing_the_password_signs_out_every_other_browser(app, world):
    office, _ = sign_in(app, "editor")
    home, _ = sign_in(app, "editor", address="10.2.2.2")
    resp = form_post(office, "/account/password", {
        "old_password": "correct-horse", "new_password": "a-longer-secret", "confirm": "a-longer-secret",
    })
    assert resp.status_code == 302
    assert "其他设备上的登录已全部退出" in office.get("/account").get_data(as_text=True)
    assert office.get("/admin/").status_code == 200
    assert signed_out(home)
    assert sign_in(app, "editor")[1].status_code == 401
    assert sign_in(app, "editor", "a-longer-secret")[1].status_code == 302
    assert events(app, "password.change")[0][2] == {"sessions_ended": 1}


@pytest.mark.parametrize(
    ("old", "new", "confirm", "message"),
    [
        ("wrong-horse", "a-longer-secret", "a-longer-secret", "原密码不正确"),
        ("correct-horse", "correct-horse", "correct-horse", "新密码不能与原密码相同"),
        ("correct-horse", "short", "short", "密码至少 8 位"),
        ("correct-horse", "a-longer-secret", "a-longer-secre", "两次输入的新密码不一致"),
    ],
)
def test_a_bad_password_change_says_why_and_changes_nothing(app, world, old, new, confirm, message):
    browser, _ = sign_in(app, "editor")
    resp = form_post(browser, "/account/password", {"old_password": old, "new_password": new, "confirm": confirm})
    assert resp.status_code == 422 and message in resp.get_data(as_text=True)
    assert sign_in(app, "editor")[1].status_code == 302
    assert events(app, "password.change") == []


def test_a_reset_password_must_be_changed_before_anything_else(app, world):
    set_user(app, "editor", must_change_password=True)
    browser, resp = sign_in(app, "editor")
    assert "/account/password" in resp.headers["Location"]
    for page in ("/admin/", "/admin/disclosures"):
        assert "/account/password" in browser.get(page).headers["Location"]
    assert browser.get("/api/v1/feedback").status_code == 401
    text = browser.get(resp.headers["Location"]).get_data(as_text=True)
    assert "请先换成只有你自己知道的新密码" in text
    resp = form_post(browser, resp.headers["Location"], {
        "old_password": "correct-horse", "new_password": "a-longer-secret", "confirm": "a-longer-secret",
    })
    assert resp.headers["Location"].endswith("/admin/")
    assert browser.get("/admin/").status_code == 200


def test_sessions_end_after_two_idle_hours_and_after_twelve_in_all(app, world, clock):
    browser, _ = sign_in(app, "editor")
    for _ in range(6):  # busy all day: every 1 h 50 min a page
        clock.advance(dt.timedelta(hours=1, minutes=50))
        assert browser.get("/admin/").status_code == 200
    clock.advance(dt.timedelta(hours=1, minutes=10))  # 12 h after signing in
    assert signed_out(browser)
    browser, _ = sign_in(app, "editor")
    clock.advance(dt.timedelta(hours=2, minutes=1))
    assert signed_out(browser)


def test_private_pages_and_feedback_api_answers_are_never_cached(app, world):
    browser, _ = sign_in(app, "handler")
    for page in ("/admin/", "/admin/feedback", "/account"):
        assert browser.get(page).headers["Cache-Control"] == "no-store", page
    with app.app_context(), session_scope() as s:
        token = users.issue_api_token(s, s.scalars(select(User).where(User.username == "handler")).one())
    resp = app.test_client().get("/api/v1/feedback", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 200 and resp.headers["Cache-Control"] == "no-store"
    assert browser.get("/api/v1/feedback").headers["Cache-Control"] == "no-store"
    assert "no-store" not in app.test_client().get("/login").headers.get("Cache-Control", "")


# -- lockout, in the domain ----------------------------------------------------------


def test_five_failures_lock_an_account_for_a_minute_then_longer(session, make_world, now):
    make_world(session)
    for _ in range(4):
        assert signin.sign_in(session, "editor", "guess", now) == signin.Attempt()
    fifth = signin.sign_in(session, "editor", "guess", now)
    assert fifth.locked_until == now + dt.timedelta(minutes=1)
    # While locked even the right password is refused, and the answer is the same.
    assert signin.sign_in(session, "editor", "correct-horse", now + dt.timedelta(seconds=59)) == fifth
    sixth = signin.sign_in(session, "editor", "guess", now + dt.timedelta(minutes=1))
    assert sixth.locked_until == now + dt.timedelta(minutes=3)  # two minutes this time
    later = now + dt.timedelta(minutes=3)
    assert signin.sign_in(session, "editor", "correct-horse", later).user is not None
    user = session.scalars(select(User).where(User.username == "editor")).one()
    assert (user.failed_logins, user.locked_until) == (0, None)


def test_the_lock_doubles_up_to_half_an_hour():
    assert [signin.lock_for(n) for n in (4, 5, 6, 7, 10, 11, 60)] == [
        None, *(dt.timedelta(minutes=m) for m in (1, 2, 4, 30, 30, 30))
    ]


def test_sign_ins_are_audited_unknown_names_included(session, make_world, now):
    world = make_world(session)
    signin.sign_in(session, "nobody", "guess", now)
    signin.sign_in(session, "editor", "guess", now)
    signin.sign_in(session, "editor", "correct-horse", now)
    rows = session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    logins = [(r.action, r.user_id, r.username, r.detail.get("reason")) for r in rows if r.action.startswith("login")]
    assert logins == [
        ("login.failure", None, "nobody", "unknown_user"),
        ("login.failure", world.editor.id, "editor", "password"),
        ("login.success", world.editor.id, "editor", None),
    ]
    assert all("guess" not in str(r.detail) and "correct-horse" not in str(r.detail) for r in rows)
    assert audit.ACTION_LABELS["login.locked"]


def test_a_totp_code_works_once_within_one_step_either_side(session, make_world, now):
    world = make_world(session)
    secret = signin.begin_totp(session, world.editor, now)
    totp = pyotp.TOTP(secret)
    with pytest.raises(Exception, match="验证码不正确"):
        signin.enable_totp(session, world.editor, None, totp.at(now - dt.timedelta(seconds=70)), now)
    codes = signin.enable_totp(session, world.editor, None, totp.at(now - dt.timedelta(seconds=30)), now)
    assert len(codes) == 10 and len(set(codes)) == 10
    stored = session.scalars(select(RecoveryCode.code_hash).where(RecoveryCode.user_id == world.editor.id)).all()
    assert not set(stored) & {c.replace("-", "") for c in codes}  # digests only
    row = UserSession(user=world.editor, token_hash="x" * 64, expires_at=now + dt.timedelta(hours=1))
    session.add(row)
    # The code of the step used to enable cannot be used again; the next one can, once.
    assert signin.second_factor(session, row, totp.at(now - dt.timedelta(seconds=30)), now).user is None
    assert signin.second_factor(session, row, totp.at(now + dt.timedelta(seconds=30)), now).user is not None
    assert signin.second_factor(session, row, totp.at(now + dt.timedelta(seconds=30)), now).user is None


# -- two-step sign-in through the pages ----------------------------------------------


def enrol(app, browser, clock, next_url=""):
    """Set up TOTP from the account page; returns (secret, recovery codes)."""
    suffix = f"?next={next_url}" if next_url else ""
    page = browser.get("/account" + suffix).get_data(as_text=True)
    browser.post("/account/two-factor/start" + suffix, data={"csrf_token": csrf_from(page)})
    page = browser.get("/account" + suffix).get_data(as_text=True)
    secret = re.search(r'class="totp-secret">([A-Z2-7 ]+)<', page).group(1).replace(" ", "")
    resp = browser.post("/account/two-factor/enable" + suffix, data={
        "csrf_token": csrf_from(page), "enable-code": pyotp.TOTP(secret).at(clock.now()),
    })
    assert resp.status_code == 200, resp.get_data(as_text=True)
    codes = re.findall(r"<code>([A-Z0-9-]{19})</code>", resp.get_data(as_text=True))
    return secret, codes


def qr_text(svg: str) -> str:
    """Decode the account page's inline SVG QR code (its path is one 1×1 run per dark run)."""
    import zxingcpp
    from PIL import Image

    size = int(re.search(r'viewBox="0 0 (\d+) \d+"', svg).group(1))
    image = Image.new("L", (size, size), 255)
    for x, y, w in re.findall(r"M(\d+) (\d+)h(\d+)", svg):
        for dx in range(int(w)):
            image.putpixel((int(x) + dx, int(y)), 0)
    (found,) = zxingcpp.read_barcodes(image.resize((size * 8, size * 8), Image.NEAREST))
    return found.text


def test_any_user_can_enrol_from_the_account_page(app, world, clock):
    browser, _ = sign_in(app, "editor")
    page = browser.get("/account").get_data(as_text=True)
    assert "开始设置" in page
    page = browser.post("/account/two-factor/start", data={"csrf_token": csrf_from(page)}, follow_redirects=True)
    text = page.get_data(as_text=True)
    secret = re.search(r'class="totp-secret">([A-Z2-7 ]+)<', text).group(1).replace(" ", "")
    uri = qr_text(re.search(r"<svg.*?</svg>", text, re.S).group(0))
    assert uri.startswith("otpauth://totp/") and f"secret={secret}" in uri and "editor" in uri
    wrong = browser.post("/account/two-factor/enable", data={"csrf_token": csrf_from(text), "enable-code": "000000"})
    assert wrong.status_code == 422 and "验证码不正确" in wrong.get_data(as_text=True)
    done = browser.post("/account/two-factor/enable", data={
        "csrf_token": csrf_from(text), "enable-code": pyotp.TOTP(secret).at(clock.now()),
    })
    codes = re.findall(r"<code>([A-Z0-9-]{19})</code>", done.get_data(as_text=True))
    assert len(codes) == 10 and "此页面关闭后无法再次查看" in done.get_data(as_text=True)
    assert done.headers["Cache-Control"] == "no-store"
    assert secret not in browser.get("/account").get_data(as_text=True)  # shown only until enabled
    assert browser.get("/admin/").status_code == 200  # this session proved the code already
    assert events(app, "totp.enable")[0][1] == "editor"


def test_with_2fa_the_password_alone_opens_nothing(app, world, clock):
    browser, _ = sign_in(app, "editor")
    secret, _ = enrol(app, browser, clock)
    clock.advance(dt.timedelta(seconds=30))
    other, resp = sign_in(app, "editor", address="10.3.3.3")
    assert "/login/verify" in resp.headers["Location"]
    assert "/login/verify" in other.get("/admin/disclosures").headers["Location"]
    assert other.get("/account").status_code == 302
    assert other.get("/api/v1/feedback").status_code == 401
    bad = form_post(other, "/login/verify", {"code": "123456"})
    assert bad.status_code == 401 and "验证码不正确" in bad.get_data(as_text=True)
    code = pyotp.TOTP(secret).at(clock.now())
    assert form_post(other, "/login/verify", {"code": code}).headers["Location"].endswith("/admin/")
    assert other.get("/admin/").status_code == 200
    # The same code, seen over a shoulder, does not open a third browser.
    third, _ = sign_in(app, "editor", address="10.4.4.4")
    assert form_post(third, "/login/verify", {"code": code}).status_code == 401
    assert "/login/verify" in third.get("/admin/").headers["Location"]


def test_a_recovery_code_stands_in_for_the_phone_once(app, world, clock):
    browser, _ = sign_in(app, "editor")
    _, codes = enrol(app, browser, clock)
    lost_phone, _ = sign_in(app, "editor", address="10.3.3.3")
    resp = form_post(lost_phone, "/login/verify", {"code": codes[3].lower()})
    assert resp.status_code == 302 and lost_phone.get("/admin/").status_code == 200
    assert "剩余恢复码：9 个" in lost_phone.get("/account").get_data(as_text=True)
    again, _ = sign_in(app, "editor", address="10.4.4.4")
    assert form_post(again, "/login/verify", {"code": codes[3]}).status_code == 401
    assert events(app, "recovery_code.use")[0][2] == {"left": 9}


def test_wrong_codes_lock_the_account_even_if_the_password_is_typed_again(app, world, clock):
    browser, _ = sign_in(app, "editor")
    secret, _ = enrol(app, browser, clock)
    for _ in range(4):
        thief, _ = sign_in(app, "editor", address="10.6.6.6")  # knows the password
        assert form_post(thief, "/login/verify", {"code": "000000"}).status_code == 401
    thief, _ = sign_in(app, "editor", address="10.6.6.6")
    locked = form_post(thief, "/login/verify", {"code": "000000"}).get_data(as_text=True)
    assert "账号已暂时锁定，请在 10:01:00 之后再试" in locked
    clock.advance(dt.timedelta(seconds=30))
    owner = form_post(thief, "/login/verify", {"code": pyotp.TOTP(secret).at(clock.now())})
    assert "账号已暂时锁定" in owner.get_data(as_text=True)


def test_2fa_is_turned_off_only_with_a_current_code(app, world, clock):
    browser, _ = sign_in(app, "editor")
    secret, codes = enrol(app, browser, clock)
    page = browser.get("/account").get_data(as_text=True)
    refused = browser.post("/account/two-factor/disable", data={"csrf_token": csrf_from(page), "disable-code": "111111"})
    assert refused.status_code == 422 and "验证码或恢复码不正确" in refused.get_data(as_text=True)
    clock.advance(dt.timedelta(seconds=30))
    resp = browser.post("/account/two-factor/disable", data={
        "csrf_token": csrf_from(page), "disable-code": pyotp.TOTP(secret).at(clock.now()),
    })
    assert resp.status_code == 302
    assert "开始设置" in browser.get("/account").get_data(as_text=True)
    assert sign_in(app, "editor", address="10.3.3.3")[1].headers["Location"].endswith("/admin/")
    with app.app_context(), session_scope() as s:
        assert s.scalars(select(RecoveryCode)).all() == []
    assert [e[1] for e in events(app, "totp.disable")] == ["editor"]


def test_admins_must_enrol_first_when_the_policy_says_so(app, world, clock):
    app.config["REQUIRE_2FA"] = "admin"
    browser, resp = sign_in(app, "admin")
    assert "/account" in resp.headers["Location"]
    assert "/account" in browser.get("/admin/feedback").headers["Location"]
    assert "管理员账号必须使用两步验证" in browser.get("/account").get_data(as_text=True)
    enrol(app, browser, clock, next_url="/admin/feedback")
    assert browser.get("/admin/feedback").status_code == 200
    editor, resp = sign_in(app, "editor")
    assert resp.headers["Location"].endswith("/admin/")


def test_a_mistyped_2fa_policy_stops_the_server(tmp_path):
    from server.config import load

    with pytest.raises(ValueError, match="SUNWALL_REQUIRE_2FA"):
        load({"DATA_DIR": tmp_path, "SECRET_KEY": "x", "REQUIRE_2FA": "admins"})


@pytest.mark.parametrize("target", ["//evil.example/", "/\\evil.example/", "https://evil.example/x"])
def test_sign_in_goes_back_to_the_page_asked_for_but_never_off_site(app, world, target):
    from urllib.parse import quote

    browser = app.test_client()
    asked = browser.get("/admin/feedback").headers["Location"]
    page = browser.get(asked).get_data(as_text=True)
    resp = browser.post(asked, data={"csrf_token": csrf_from(page), "username": "editor", "password": "correct-horse"})
    assert resp.headers["Location"] == "/admin/feedback"
    page = browser.get("/login").get_data(as_text=True)
    resp = browser.post("/login?next=" + quote(target), data={
        "csrf_token": csrf_from(page), "username": "editor", "password": "correct-horse",
    })
    assert resp.headers["Location"] == "/admin/"


def test_the_account_page_lists_sessions_and_ends_the_others_after_the_password(app, world):
    office, _ = sign_in(app, "editor", address="10.1.1.1")
    home, _ = sign_in(app, "editor", address="192.0.2.77")
    page = office.get("/account").get_data(as_text=True)
    assert "192.0.2.77" in page and "10.1.1.1" in page and "当前" in page
    wrong = office.post("/account/sessions/end-others", data={"csrf_token": csrf_from(page), "others-password": "nope"})
    assert wrong.status_code == 422 and "密码不正确" in wrong.get_data(as_text=True)
    assert not signed_out(home)
    resp = office.post("/account/sessions/end-others", data={"csrf_token": csrf_from(page), "others-password": "correct-horse"})
    assert resp.status_code == 302
    assert signed_out(home) and not signed_out(office)
    assert "192.0.2.77" not in office.get("/account").get_data(as_text=True)
    assert events(app, "logout")[-1][2] == {"other_sessions": 1}


def test_over_https_the_session_cookie_is_a_secure_host_only_cookie(sqlite_url, tmp_path, make_world):
    from server.app import create_app

    app = create_app({
        "TESTING": True, "DATA_DIR": tmp_path, "DATABASE_URL": sqlite_url, "SECRET_KEY": "k",
        "PUBLIC_URL": "https://gongkai.example.gov.cn", "ASYNC_MODE": "threading",
    })
    with app.app_context(), session_scope() as s:
        make_world(s)
    browser = app.test_client()
    page = browser.get("/login", base_url="https://gongkai.example.gov.cn").get_data(as_text=True)
    resp = browser.post("/login", base_url="https://gongkai.example.gov.cn", headers={
        "Referer": "https://gongkai.example.gov.cn/login",  # Flask-WTF checks it over HTTPS
    }, data={
        "csrf_token": csrf_from(page), "username": "editor", "password": "correct-horse",
    })
    cookie = resp.headers["Set-Cookie"]
    assert cookie.startswith("__Host-sunwall=")
    assert all(part in cookie for part in ("; Secure", "; HttpOnly", "; Path=/", "SameSite=Lax"))
    assert "Domain=" not in cookie
    app.extensions["sunwall.db"].engine.dispose()
