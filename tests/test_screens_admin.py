"""Screens admin: one click must not kill a hall screen, and every screen action is audited.

Replacing a browser key or revoking a screen asks first (naming the screen, whether it has
a working key, when it was last seen); only a POST with the ticked box acts. A key that no
longer works gets a full-screen notice a hall can read, not the phone error page. The
browser tests drive real Chromium against a real server: an open player switches to that
notice when its key is replaced, and keeps playing when the server is merely unreachable.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlalchemy import select

from server.clock import FixedClock
from server.domain import devices
from server.extensions import session_scope
from server.models import AuditEvent, Device
from tests.browser import POLL_MS, login, open_player, player_context
from tests.conftest import NOW, csrf_from
from tests.live import LiveServer

SEEN = NOW - dt.timedelta(minutes=5)  # 09:55 in the township's zone
SETUP_MARKERS = ('class="needs-setup"', 'id="setup"', "/player-static/player.css")


@pytest.fixture
def clock(app) -> FixedClock:
    fixed = FixedClock(NOW)
    app.extensions["sunwall.clock"] = fixed
    return fixed


def give_key(app, device_id: int, seen: dt.datetime | None = SEEN) -> str:
    """A browser key issued by the system (as the demo does), and the screen seen online."""
    with app.app_context(), session_scope() as s:
        device = s.get(Device, device_id)
        key = devices.replace_browser_key(s, None, device, NOW - dt.timedelta(days=1))
        device.last_seen_at = seen
    return key


def audit_rows(app, action: str, username: str = "admin") -> list[AuditEvent]:
    """Audit rows of `action` by `username` (seeding is recorded as "system")."""
    with app.app_context(), session_scope() as s:
        query = select(AuditEvent).where(AuditEvent.action == action, AuditEvent.username == username)
        rows = list(s.scalars(query.order_by(AuditEvent.id)))
        s.expunge_all()
    return rows


def assert_full_screen_notice(body: str) -> None:
    for marker in SETUP_MARKERS:
        assert marker in body, marker
    assert "phone.css" not in body and "返回首页" not in body  # not the phone error page
    assert "<script" not in body


def test_a_key_of_a_screen_seen_online_is_replaced_only_after_a_clear_warning(app, client, world, login, clock):
    old = give_key(app, world.screen_a.id)
    login("admin")
    page = client.get(f"/admin/screens/{world.screen_a.id}/player-key")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "更换浏览器播放地址" in text and "甲村大厅屏" in text and "甲村党群服务中心" in text
    assert "有，正在使用" in text and "09:55" in text  # has a working key, last seen at
    assert "旧的播放地址立即失效" in text and "这块屏幕需要重新设置" in text
    assert 'type="checkbox"' in text and 'name="confirm"' in text
    # Nothing happened by looking: the old address still plays.
    assert client.get(f"/player/{old}").status_code == 200
    assert audit_rows(app, "device.player_key") == []


def test_a_first_key_needs_no_warning(app, client, world, login, clock):
    login("admin")
    text = client.get(f"/admin/screens/{world.screen_b.id}/player-key").get_data(as_text=True)
    assert "生成浏览器播放地址" in text and "乙村大厅屏" in text
    assert "没有（尚未生成，或已吊销）" in text and "从未" in text
    assert "立即失效" not in text and "需要重新设置" not in text
    resp = client.post(f"/admin/screens/{world.screen_b.id}/player-key",
                       data={"csrf_token": csrf_from(text), "confirm": "y"})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200 and resp.headers["Cache-Control"] == "no-store"
    key = re.search(r"/player/(pk_[A-Za-z0-9_-]+)", page).group(1)
    assert "如何放到屏幕上" in page and "旧的播放地址已失效" not in page
    assert client.get(f"/player/{key}").status_code == 200


def test_a_post_without_the_ticked_box_or_the_csrf_token_changes_nothing(app, client, world, login, clock):
    old = give_key(app, world.screen_a.id)
    login("admin")
    url = f"/admin/screens/{world.screen_a.id}/player-key"
    token = csrf_from(client.get(url).get_data(as_text=True))
    unticked = client.post(url, data={"csrf_token": token})
    assert unticked.status_code == 422
    assert "请先勾选确认" in unticked.get_data(as_text=True)
    assert client.post(url, data={"confirm": "y"}).status_code == 400  # no CSRF token
    revoke = client.post(f"/admin/screens/{world.screen_a.id}/revoke", data={"csrf_token": token})
    assert revoke.status_code == 422
    assert client.get(f"/player/{old}").status_code == 200
    assert audit_rows(app, "device.player_key") == [] and audit_rows(app, "device.revoke") == []


def test_a_replaced_key_shows_a_full_screen_410_naming_only_the_site(app, client, world, login, clock):
    old = give_key(app, world.screen_a.id)
    login("admin")
    url = f"/admin/screens/{world.screen_a.id}/player-key"
    token = csrf_from(client.get(url).get_data(as_text=True))
    once = client.post(url, data={"csrf_token": token, "confirm": "y"}).get_data(as_text=True)
    new = re.search(r"/player/(pk_[A-Za-z0-9_-]+)", once).group(1)
    assert new != old
    assert "旧的播放地址已失效" in once and "如何放到屏幕上" in once and f"chromium --kiosk http://sunwall.test/player/{new}" in once

    gone = client.get(f"/player/{old}")
    body = gone.get_data(as_text=True)
    assert gone.status_code == 410 and gone.headers["Cache-Control"] == "no-store"
    assert_full_screen_notice(body)
    assert "这块屏幕需要重新设置" in body and "甲村党群服务中心" in body and "请联系乡镇管理员" in body
    assert "甲村大厅屏" not in body and new not in body and old not in body
    assert client.get(f"/player/{new}").status_code == 200

    (row,) = audit_rows(app, "device.player_key")
    assert row.username == "admin" and row.occurred_at == NOW
    assert (row.target_type, row.target_id) == ("device", str(world.screen_a.id))
    assert row.area_path == world.village_a.path and row.detail["replaced"] == 1
    assert old not in str(row.detail) and new not in str(row.detail)


def test_an_unknown_key_shows_a_plain_full_screen_404(app, client, world):
    resp = client.get("/player/pk_" + "x" * 43)
    body = resp.get_data(as_text=True)
    assert resp.status_code == 404
    assert_full_screen_notice(body)
    assert "这块屏幕尚未设置" in body
    assert "党群服务中心" not in body and "需要重新设置" not in body


def test_revoking_asks_first_then_every_credential_stops(app, client, world, login, clock):
    old = give_key(app, world.screen_a.id)
    login("admin")
    url = f"/admin/screens/{world.screen_a.id}/revoke"
    text = client.get(url).get_data(as_text=True)
    assert "吊销屏幕的全部凭据" in text and "甲村大厅屏" in text and "09:55" in text
    assert "立即全部失效" in text and "这块屏幕需要重新设置" in text and "已缓存的旧内容" in text
    done = client.post(url, data={"csrf_token": csrf_from(text), "confirm": "y"}, follow_redirects=True)
    assert "已吊销“甲村大厅屏”的 1 个凭据" in done.get_data(as_text=True)
    assert client.get(f"/player/{old}").status_code == 410
    (row,) = audit_rows(app, "device.revoke")
    assert row.username == "admin" and row.detail["browser_keys"] == 1 and row.detail["agent_credentials"] == 0


def test_the_list_links_to_the_confirmation_pages_and_scope_is_enforced(app, client, world, login, clock):
    from server.domain import users as user_domain
    from server.models import Area, Role

    with app.app_context(), session_scope() as s:
        user_domain.create_user(s, username="sched_a", password="correct-horse", display_name="甲村排期",
                                grants=[(Role.scheduler, s.get(Area, world.village_a.id))])
    login("sched_a")
    listing = client.get("/admin/screens").get_data(as_text=True)
    assert f'href="/admin/screens/{world.screen_a.id}/player-key"' in listing
    assert f'href="/admin/screens/{world.screen_a.id}/revoke"' in listing
    assert "data-confirm" not in listing
    # Another village's screen looks missing, on the page and on a forged POST.
    assert client.get(f"/admin/screens/{world.screen_b.id}/player-key").status_code == 404
    forged = client.post(f"/admin/screens/{world.screen_b.id}/revoke",
                         data={"csrf_token": csrf_from(listing), "confirm": "y"})
    assert forged.status_code == 404
    assert audit_rows(app, "device.revoke") == []


def test_adding_a_screen_issuing_a_code_and_enrolling_are_audited(app, client, world, login, clock):
    login("admin")
    form = client.get("/admin/screens/new").get_data(as_text=True)
    client.post("/admin/screens/new", data={"csrf_token": csrf_from(form), "site_id": world.site_a.id,
                                            "name": "门口竖屏", "kind": "signage", "orientation": "portrait"})
    (created,) = audit_rows(app, "device.create")
    assert created.detail == {"name": "门口竖屏", "site": "甲村党群服务中心"}
    assert created.area_path == world.village_a.path

    listing = client.get("/admin/screens").get_data(as_text=True)
    page = client.post(f"/admin/screens/{world.screen_a.id}/enrolment-code", data={"csrf_token": csrf_from(listing)})
    code = re.search(r"--code ([0-9A-Z]{10})", page.get_data(as_text=True)).group(1)
    (issued,) = audit_rows(app, "device.enrolment_code")
    assert issued.username == "admin" and code not in str(issued.detail)
    assert issued.detail["expires_at"].startswith("2026-11-27")

    enrolled = client.post("/api/v1/device/enrol", json={"code": code})
    assert enrolled.status_code == 201
    (row,) = audit_rows(app, "device.enrol", username="device")
    assert row.user_id is None and row.target_id == str(world.screen_a.id)
    assert enrolled.get_json()["token"] not in str(row.detail) and code not in str(row.detail)


def test_replacing_a_key_is_one_audited_step_and_old_keys_know_their_screen(session, make_world, now):
    world = make_world(session)
    first = devices.replace_browser_key(session, world.admin, world.screen_a, now)
    second = devices.replace_browser_key(session, world.admin, world.screen_a, now + dt.timedelta(hours=1))
    assert devices.authenticate(session, first, now) is None
    assert devices.authenticate(session, second, now) is world.screen_a
    # The one-row check that polls use agrees with it, and reads the same screen.
    assert devices.screen_for(session, first) is None
    assert devices.screen_for(session, second) == devices.Screen.of(world.screen_a)
    assert devices.screen_for(session, "") is None and devices.screen_for(session, "x" * 201) is None
    world.screen_a.decommissioned_at = now
    session.flush()
    assert devices.screen_for(session, second) is None and devices.authenticate(session, second, now) is None
    world.screen_a.decommissioned_at = None
    session.flush()
    assert devices.live_credentials(session, world.screen_a) == devices.LiveCredentials(browser=1, agent=0)
    assert devices.former_owner(session, first) is world.screen_a
    assert devices.former_owner(session, second) is None  # still working: not "former"
    assert devices.former_owner(session, "pk_never-issued") is None
    rows = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "device.player_key").order_by(AuditEvent.id)
    ).all()
    assert [r.detail["replaced"] for r in rows] == [0, 1]
    assert {r.username for r in rows} == {"admin"}


# --- In a real browser ---------------------------------------------------------------


def playing_online(context: BrowserContext, live: LiveServer, village: str) -> Page:
    """A hall screen's player, showing a board and connected over Socket.IO."""
    page = open_player(context, live.url, live.screen(village, "大厅信息屏")["key"])
    page.wait_for_function("() => window.sunwallPlayer.online", timeout=10_000, polling=POLL_MS)
    return page


def still_playing(page: Page) -> None:
    assert page.evaluate("() => !window.sunwallPlayer.needsSetup")
    assert page.locator("body.needs-setup").count() == 0
    assert page.get_attribute("#stage", "data-board-id")


def assert_readable_across_the_hall(page: Page, shot: Path) -> None:
    """Big type, centred on the screen, and a picture to look at."""
    page.screenshot(path=str(shot))
    size = page.viewport_size
    title = page.locator(".setup-title")
    box = title.bounding_box()
    assert box is not None
    assert float(title.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")) >= 80
    assert abs(box["x"] + box["width"] / 2 - size["width"] / 2) < size["width"] * 0.02
    assert box["x"] >= 0 and box["x"] + box["width"] <= size["width"]
    assert abs(box["y"] + box["height"] / 2 - size["height"] / 2) < size["height"] * 0.2


@pytest.mark.browser
def test_a_player_that_cannot_reach_the_server_keeps_playing(
    live: LiveServer, browser: Browser, contexts: list[BrowserContext]
) -> None:
    """A 5xx or a dropped network is not a replaced key: the cached loop goes on."""
    context = player_context(browser)
    contexts.append(context)
    page = playing_online(context, live, "北坡村")
    refetch = "() => { const s = window.sunwallPlayer.socket; s.disconnect(); s.connect(); }"
    page.route("**/api/v1/device/manifest", lambda route: route.fulfill(status=503, body="维护中"))
    page.evaluate(refetch)  # on (re)connect the player asks for its manifest
    page.wait_for_function("() => window.sunwallPlayer.lastAnswer === 503", timeout=10_000, polling=POLL_MS)
    still_playing(page)
    page.unroute("**/api/v1/device/manifest")
    page.route("**/api/v1/device/manifest", lambda route: route.abort("internetdisconnected"))
    page.evaluate(refetch)
    page.wait_for_function("() => window.sunwallPlayer.lastAnswer === 'unreachable'", timeout=10_000, polling=POLL_MS)
    still_playing(page)


@pytest.mark.browser
def test_replacing_the_key_of_a_playing_screen_shows_needs_setup_across_the_hall(
    live: LiveServer, browser: Browser, contexts: list[BrowserContext], tmp_path: Path
) -> None:
    hall = player_context(browser)
    admin_ctx = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    contexts.extend([hall, admin_ctx])
    player = playing_online(hall, live, "南湾村")
    old_key = live.screen("南湾村", "大厅信息屏")["key"]

    admin = admin_ctx.new_page()
    login(admin, live.url, "scheduler")
    admin.goto(f"{live.url}/admin/screens")
    row = admin.locator("tr").filter(has_text="南湾村党群服务中心").filter(has_text="大厅信息屏")
    row.get_by_role("link", name="浏览器播放地址").click()
    expect(admin.locator("h1")).to_have_text("更换浏览器播放地址")
    expect(admin.locator("[role=alert]")).to_contain_text("这块屏幕需要重新设置")
    admin.get_by_role("button", name="更换播放地址").click()  # box not ticked: refused
    expect(admin.locator("p.error")).to_contain_text("请先勾选确认")
    still_playing(player)
    admin.get_by_label("我已了解").check()
    admin.get_by_role("button", name="更换播放地址").click()
    expect(admin.locator("h2")).to_have_text("浏览器播放地址")
    new_url = admin.locator("p.secret a").inner_text()
    assert "/player/pk_" in new_url and old_key not in new_url

    # The server drops the screen's socket after the commit; the player asks, gets 401,
    # and says so well before its 60 s poll would have.
    player.wait_for_selector("body.needs-setup #setup", timeout=10_000)
    expect(player.locator(".setup-title")).to_have_text("这块屏幕需要重新设置")
    expect(player.locator(".setup-site")).to_have_text("南湾村党群服务中心")
    expect(player.locator("#setup")).to_contain_text("请联系乡镇管理员")
    assert player.evaluate("() => window.sunwallPlayer.needsSetup && window.sunwallPlayer.lastAnswer === 401")
    assert_readable_across_the_hall(player, tmp_path / "needs-setup-landscape.png")
    player.set_viewport_size({"width": 1080, "height": 1920})
    assert_readable_across_the_hall(player, tmp_path / "needs-setup-portrait.png")

    # After a power cut the screen reloads its old address: the same notice, from the server.
    reloaded = player.goto(f"{live.url}/player/{old_key}")
    assert reloaded is not None and reloaded.status == 410
    expect(player.locator(".setup-title")).to_have_text("这块屏幕需要重新设置")
    assert_readable_across_the_hall(player, tmp_path / "needs-setup-410-portrait.png")

    # A mistyped address says nothing about any screen.
    player.set_viewport_size({"width": 1920, "height": 1080})
    unknown = player.goto(f"{live.url}/player/pk_mistyped")
    assert unknown is not None and unknown.status == 404
    expect(player.locator(".setup-title")).to_have_text("这块屏幕尚未设置")
    expect(player.locator("#setup")).not_to_contain_text("南湾村")
    assert_readable_across_the_hall(player, tmp_path / "not-set-up-landscape.png")

    # Someone opens the new address on the screen: it plays again.
    player.goto(new_url)
    player.wait_for_function(
        "() => window.sunwallPlayer && document.getElementById('stage').dataset.boardId",
        timeout=10_000, polling=POLL_MS,
    )
