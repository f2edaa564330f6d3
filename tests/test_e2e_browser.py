"""End to end in real headless Chromium: draft → review → screen → QR → phone → answer → echo wall.

One demo server for the module. The players stay open (never reloaded) while people work
in other browser contexts, so what reaches a screen arrives over its Socket.IO nudge.
"""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser import (
    boards,
    decode_qr,
    login,
    logout,
    open_player,
    phone_context,
    player_context,
    settle,
    show_board,
    wait_for_board,
)
from tests.live import LiveServer

pytestmark = pytest.mark.browser

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
POLL_SECONDS = 60  # the /player page's fallback poll; a board seen sooner came by nudge


class NudgeLog:
    """Socket.IO frames a player receives, to tell a nudge from anything else."""

    def __init__(self, page: Page) -> None:
        self.frames: list[str] = []
        page.on("websocket", lambda ws: ws.on("framereceived", self._frame))

    def _frame(self, payload: str | bytes) -> None:
        if isinstance(payload, str):
            self.frames.append(payload)

    @property
    def nudges(self) -> int:
        return sum("manifest_changed" in f for f in self.frames)


def stage_text(page: Page) -> str:
    return page.locator("#stage").inner_text()


def draft_and_submit(admin: Page, url: str, village: str, item: str, title: str, body: str) -> None:
    """The editor's path: the 起草 form, 保存草稿, then 提交审核."""
    admin.goto(f"{url}/admin/disclosures/new")
    area = admin.locator("#area_id option").filter(has_text=village).first.get_attribute("value")
    admin.select_option("#area_id", value=area)
    admin.select_option("#catalogue_item_id", label=item)
    admin.fill("#title", title)
    expect(admin.locator(".field-table")).to_be_hidden()  # a notice has no table field
    admin.fill("#body", body)
    admin.fill("#valid_from", dt.datetime.now(LOCAL_TZ).date().isoformat())
    admin.get_by_role("button", name="保存草稿").click()
    expect(admin.locator("p.flash")).to_contain_text("草稿已保存")
    admin.get_by_role("button", name="提交审核").click()
    expect(admin.locator("p.flash")).to_contain_text("已提交审核")


def approve_from_queue(admin: Page, url: str, title: str) -> None:
    """The reviewer's path: 待审核 tile on the dashboard, the item, 审核通过并发布."""
    admin.goto(f"{url}/admin/")
    admin.locator("a.tile", has_text="待审核").click()
    admin.get_by_role("link", name=title).click()
    expect(admin.locator("h1")).to_contain_text("待审核")
    admin.get_by_role("button", name="审核通过并发布").click()
    expect(admin.locator("p.flash")).to_contain_text("审核通过")


def submit_feedback(
    phone: Page, kind: str, body: str, name: str = "", tel: str = ""
) -> tuple[str, str]:
    """On the phone page already open: choose a type, write, submit. Returns (code, status URL)."""
    phone.locator("label.kind", has_text=kind).click()
    expect(phone.locator("label.kind", has_text=kind).locator("input")).to_be_checked()
    phone.fill("#body", body)
    anonymous = phone.locator("input[name=anonymous]")
    if name or tel:
        anonymous.uncheck()
        phone.fill("#name", name)
        phone.fill("#phone", tel)
    else:
        expect(anonymous).to_be_checked()  # anonymous is the default
    phone.get_by_role("button", name="提交").click()
    phone.wait_for_url("**/t/*")
    expect(phone.locator("[role=status]")).to_contain_text("提交成功")
    code = phone.locator(".ticket").inner_text().strip()
    saved = phone.get_by_text("本页地址可收藏").inner_text()
    return code, saved.split("：", 1)[1].strip()


def answer_ticket(admin: Page, url: str, code: str, answer: str) -> str:
    """The handler's path: 群众反馈 inbox, the ticket, 答复, keep 在回音壁公开."""
    admin.goto(f"{url}/admin/feedback")
    admin.get_by_role("link", name=code).click()
    details = admin.locator("dl.facts").inner_text()
    admin.fill("#body", answer)
    expect(admin.locator("#public")).to_be_checked()
    admin.get_by_role("button", name="提交答复").click()
    expect(admin.locator("p.flash")).to_contain_text("答复已保存")
    return details


def test_disclosure_reaches_screen_phone_feedback_and_echo_wall(
    live: LiveServer, browser: Browser, contexts: list[BrowserContext], tmp_path: Path
) -> None:
    url = live.url
    marker = f"E2E{uuid.uuid4().hex[:8]}"
    title = f"东山村村道硬化工程决议公开{marker}"
    body = (
        "## 决议内容\n\n经村民代表会议表决，同意实施村道硬化工程：\n\n"
        "- 长度 1.2 公里\n- 宽度 4.5 米\n\n**工期：12月1日至12月31日**\n\n"
        f"| 项目 | 金额（元） |\n| --- | --- |\n| 路面硬化{marker} | 186,000.00 |\n| 排水沟 | 24,500.00 |\n"
    )

    # 1. The hall screen of 东山村 and, for contrast, 西岭村's, both playing.
    # One context (one window) each: a background tab would have its timers throttled.
    contexts.extend([player_context(browser), player_context(browser)])
    logs: dict[str, NudgeLog] = {}
    east = open_player(
        contexts[-2],
        url,
        live.screen("东山村", "大厅信息屏")["key"],
        before=lambda p: logs.update(east=NudgeLog(p)),
    )
    west = open_player(
        contexts[-1],
        url,
        live.screen("西岭村", "大厅信息屏")["key"],
        before=lambda p: logs.update(west=NudgeLog(p)),
    )
    east_log, west_log = logs["east"], logs["west"]
    east.wait_for_function("() => window.sunwallPlayer.online", polling=100)
    west.wait_for_function("() => window.sunwallPlayer.online", polling=100)
    assert not any(marker in b["html"] for b in boards(east))

    # 2. Editor drafts and submits; reviewer approves, all in the admin pages.
    office = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
    contexts.append(office)
    admin = office.new_page()
    login(admin, url, "editor")
    draft_and_submit(admin, url, "东山村", "村级重大事项决策结果", title, body)
    assert not any(marker in b["html"] for b in boards(east)), "shown before approval"
    logout(admin)
    login(admin, url, "reviewer")
    approve_from_queue(admin, url, title)

    # 3. The open player gets it by nudge (well before its 60 s poll) and shows it next.
    seen = wait_for_board(east, marker, id_prefix="d", timeout_ms=5_000)
    assert seen["at"] < POLL_SECONDS * 1000, "arrived by the fallback poll, not by a nudge"
    assert east_log.nudges >= 1
    board = seen["board"]
    assert board["title"] == title
    if seen["pending"]:
        # Held for the next rotation, armed for the shown board's own duration (read atomically).
        delay, duration = east.evaluate(
            """() => { const s = window.sunwallPlayer, id = document.getElementById('stage').dataset.boardId;
                       const t = window.__sunwallTimers.get(s.timer);
                       return [t && t.delay, s.playing.find(x => x.id === id).seconds]; }"""
        )
        assert delay == duration * 1000
    show_board(east, board["id"])
    stage = east.locator("#stage")
    expect(stage.locator(".board-title")).to_have_text(title)
    for selector in ("h2", "li", "strong", "table td"):
        expect(stage.locator(f".board-body {selector}").first).to_be_visible()
    expect(stage).to_contain_text(f"路面硬化{marker}")

    # 4. The screenshot's QR code is the board's absolute public link.
    shot = tmp_path / "player-new-board.png"
    png = east.screenshot(path=str(shot))
    assert east.get_attribute("#stage", "data-board-id") == board["id"], (
        "rotated during the screenshot"
    )
    found = decode_qr(png)
    assert found == [board["qr_url"]], f"QR in {shot}: {found}"
    qr_url = found[0]
    assert qr_url.startswith(f"{url}/q/") and len(qr_url) > len(f"{url}/q/") + 8

    # 5. A villager scans it: the full item on a phone, then a question, anonymously.
    phones = phone_context(browser)
    contexts.append(phones)
    phone = phones.new_page()
    phone.goto(qr_url)
    expect(phone.locator("article.item h1")).to_have_text(title)
    expect(phone.locator("article.item table")).to_contain_text(f"路面硬化{marker}")
    expect(phone.locator("article.item table")).to_contain_text("186,000.00")
    expect(phone.locator("article.item .rich li").first).to_be_visible()
    question = f"硬化工程期间村道还能通行吗？{marker}"
    code, status_url = submit_feedback(phone, "咨询", question)
    assert len(code) >= 6
    assert status_url == f"{url}/t/{code}"
    expect(phone.locator("blockquote")).to_have_text(question)

    # 6. The handler answers in the admin pages, public on the echo wall.
    logout(admin)
    login(admin, url, "handler")
    answer = f"施工期间实行半幅通行，请注意安全。{marker}"
    facts = answer_ticket(admin, url, code, answer)
    assert "匿名" in facts

    # 7. The echo-wall board of the open player gets the answer within seconds.
    echo = wait_for_board(east, answer, id_prefix="e", timeout_ms=5_000)["board"]
    assert question in echo["html"]

    # A second villager leaves a name and phone number, not anonymous; answered publicly.
    name, tel = "韩梅梅", "13912345678"
    phone.goto(echo["qr_url"])  # the echo wall's own QR link
    expect(phone.locator("article.item h1")).to_have_text("东山村回音壁")
    expect(phone.locator("article.item")).to_contain_text(answer)
    suggestion = f"建议施工时在路口设置提示牌。{marker}"
    code2, _ = submit_feedback(phone, "建议", suggestion, name=name, tel=tel)
    facts2 = answer_ticket(admin, url, code2, f"已采纳，明天设置。{marker}")
    assert name in facts2 and tel in facts2, "the handler should see who wrote (the control)"
    echo = wait_for_board(east, f"已采纳，明天设置。{marker}", id_prefix="e", timeout_ms=5_000)[
        "board"
    ]
    for secret in (name, tel, "1391234", "139****"):
        assert secret not in echo["html"], f"{secret!r} leaked onto the player's echo wall"
    show_board(east, echo["id"])
    expect(east.locator("#stage .board-title")).to_have_text("东山村回音壁")
    on_screen = stage_text(east)
    assert answer in on_screen and suggestion in on_screen
    assert name not in on_screen and tel not in on_screen
    echo_png = tmp_path / "player-echo-wall.png"
    assert decode_qr(east.screenshot(path=str(echo_png))) == [echo["qr_url"]]
    phone.goto(echo["qr_url"])
    public_wall = phone.locator("article.item").inner_text()
    assert answer in public_wall and suggestion in public_wall
    page_html = phone.content()
    assert name not in page_html and tel not in page_html and "1391234" not in page_html

    # 8. The first villager's status page shows the answer.
    phone.goto(status_url)
    expect(phone.locator(".answer")).to_contain_text(answer)
    expect(phone.locator(".facts")).to_contain_text("已答复")

    # 西岭村's screen, open all along, was never nudged and never got any of it.
    assert west.evaluate("() => window.sunwallPlayer.online")
    assert west_log.nudges == 0, west_log.frames
    assert east_log.nudges >= 3
    held = west.evaluate("() => Object.values(window.sunwallPlayer.pages).join('')")
    assert marker not in held
    west_key = {"Authorization": "Bearer " + live.screen("西岭村", "大厅信息屏")["key"]}
    direct = requests.get(f"{url}/api/v1/device/manifest", headers=west_key, timeout=10).json()
    for b in direct["boards"]:
        assert marker not in requests.get(url + b["href"], headers=west_key, timeout=10).text


# Spaces keep each word short enough to wrap on a 360 px phone: this test is about
# script, not about breaking long words.
XSS_TITLE = "XSS <script> window.__xss = 'title'; alert(1) </script> <img src=x onerror= \"window.__xss = 'img'; alert(2)\">"
XSS_BODY = (
    "## 标题<script>window.__xss='h2'</script>\n\n"
    "<img src=x onerror=\"window.__xss='body-img';alert(3)\">\n\n"
    "<svg onload=\"window.__xss='svg'\"></svg>\n\n"
    "[点我](javascript:window.__xss='link')\n\n"
    "<iframe srcdoc=\"<script>parent.__xss='iframe'</script>\"></iframe>\n\n"
    "| 列<img src=x onerror=\"window.__xss='cell'\"> | 值 |\n| --- | --- |\n| a | b |\n"
)
XSS_TEXT = "<script> window.__xss = 'fb'; alert(4) </script> <img src=x onerror= \"window.__xss = 'fb-img'; alert(5)\">"


def test_script_in_titles_bodies_and_feedback_never_runs(
    live: LiveServer, browser: Browser, contexts: list[BrowserContext]
) -> None:
    """Escaping and sanitising alone must hold: these contexts ignore the CSP header."""
    url = live.url
    dialogs: list[str] = []

    def watched(context: BrowserContext) -> BrowserContext:
        contexts.append(context)
        context.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        return context

    def inert(page: Page, where: str) -> None:
        page.wait_for_load_state("load")
        # The admin page frames its own screen previews; they are checked like any page.
        for frame in [page.main_frame, *(f for f in page.frames if f.url.startswith("http"))]:
            fired = frame.evaluate("() => window.__xss")
            handlers = frame.evaluate(
                "() => document.querySelectorAll('[onerror],[onload],iframe:not(.screen-preview),"
                "object,embed,a[href^=\"javascript\"]').length"
            )
            assert fired is None and not dialogs, f"script ran on {where}: {fired!r} {dialogs}"
            assert handlers == 0, f"{handlers} active elements survived on {where}"

    # The item is published through the API; the pages showing it are what is tested.
    did = live.publish("东山村", XSS_TITLE, XSS_BODY)

    screens = watched(player_context(browser, bypass_csp=True))
    player = open_player(screens, url, live.screen("东山村", "大厅信息屏")["key"])
    board = next(b for b in boards(player) if b["id"] == f"d{did}")
    show_board(player, board["id"])
    expect(player.locator("#stage .board-title")).to_have_text(XSS_TITLE)  # shown as text
    inert(player, "the player")

    phones = watched(phone_context(browser, bypass_csp=True))
    phone = phones.new_page()
    phone.goto(board["qr_url"])
    expect(phone.locator("article.item h1")).to_have_text(XSS_TITLE)
    inert(phone, "the phone item page")
    code, status_url = submit_feedback(phone, "意见", XSS_TEXT)
    expect(phone.locator("blockquote")).to_have_text(XSS_TEXT)
    inert(phone, "the ticket page")

    office = watched(browser.new_context(bypass_csp=True, locale="zh-CN"))
    admin = office.new_page()
    login(admin, url, "handler")
    admin.goto(f"{url}/admin/feedback")
    expect(admin.locator("td.clip", has_text="window.__xss").first).to_be_visible()
    inert(admin, "the feedback inbox")
    answer_ticket(admin, url, code, "答复" + XSS_TEXT)
    inert(admin, "the feedback page")
    admin.get_by_role("link", name=XSS_TITLE).click()
    expect(admin.locator("h1")).to_contain_text(XSS_TITLE)
    inert(admin, "the admin disclosure page")
    admin.goto(f"{url}/admin/disclosures")
    inert(admin, "the disclosure list")

    echo = wait_for_board(player, "答复&lt;script&gt;", id_prefix="e", timeout_ms=5_000)["board"]
    show_board(player, echo["id"])
    expect(player.locator("#stage")).to_contain_text("答复" + XSS_TEXT)
    inert(player, "the player's echo wall")
    phone.goto(echo["qr_url"])
    expect(phone.locator("article.item")).to_contain_text("答复" + XSS_TEXT)
    inert(phone, "the phone echo wall")
    phone.goto(status_url)
    inert(phone, "the ticket page with its answer")


def test_portrait_screen_shows_a_board_with_a_scannable_qr(
    live: LiveServer, browser: Browser, contexts: list[BrowserContext], tmp_path: Path
) -> None:
    screens = player_context(browser, width=1080, height=1920)
    contexts.append(screens)
    page = open_player(screens, live.url, live.screen("东山村", "门口竖屏")["key"])
    assert "orientation-portrait" in (page.get_attribute("body", "class") or "")
    board_id = page.get_attribute("#stage", "data-board-id")
    board: dict[str, Any] = next(b for b in boards(page) if b["id"] == board_id)
    qr = page.locator("#stage .board-qr svg.qr").bounding_box()
    assert (
        qr
        and qr["x"] >= 0
        and qr["y"] >= 0
        and qr["x"] + qr["width"] <= 1080
        and qr["y"] + qr["height"] <= 1920
    )
    shot = tmp_path / "player-portrait.png"
    found = decode_qr(page.screenshot(path=str(shot)))
    assert page.get_attribute("#stage", "data-board-id") == board_id, (
        "rotated during the screenshot"
    )
    assert found == [board["qr_url"]], f"QR in {shot}: {found}"
    assert found[0].startswith(f"{live.url}/q/")

    # The tall screen's second region: the echo wall's answers under the board, down to
    # the ticker (no empty band), whole answers only, no second QR code; and not under
    # the echo wall itself.
    aside = page.locator("#aside")
    assert board["kind"] != "echo_wall" and aside.is_visible()
    assert "回音壁" in aside.inner_text()
    shown = page.locator("#aside .echo-entry:not([hidden])")
    assert shown.count() >= 1
    area, foot, last = aside.bounding_box(), page.locator(".foot").bounding_box(), shown.last.bounding_box()
    assert area and foot and last
    assert abs(area["y"] + area["height"] - foot["y"]) <= 1
    assert last["y"] + last["height"] <= area["y"] + area["height"]
    assert page.locator("#aside svg.qr, #aside .qr-slot:visible").count() == 0
    echo = next(b for b in boards(page) if b["kind"] == "echo_wall")
    show_board(page, echo["id"])
    assert not aside.is_visible()


def test_a_board_past_its_posting_period_stops_even_offline(
    live: LiveServer, browser: Browser, contexts: list[BrowserContext]
) -> None:
    """西岭村's aid list is posted for 7 days. A screen cut off from the server keeps
    playing its loop, but drops that board once the period is over."""
    context = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="zh-CN")
    contexts.append(context)
    context.clock.install()
    page = context.new_page()
    page.goto(f"{live.url}/player/{live.screen('西岭村', '大厅信息屏')['key']}")
    page.wait_for_function("() => window.sunwallPlayer && window.sunwallPlayer.manifest", polling=100)
    aid = next(b for b in boards(page) if "救助名单" in b["title"])
    assert aid["until"], "the aid list has a posting period"

    def seen_over(seconds: int) -> set[str]:
        ids = set()
        for _ in range(seconds // 5):
            page.clock.run_for(5_000)
            ids.add(page.get_attribute("#stage", "data-board-id") or "")
        return ids

    loop_seconds = sum(b["seconds"] for b in boards(page)) + 60
    assert aid["id"] in seen_over(loop_seconds)  # shown while its period lasts
    context.set_offline(True)
    page.clock.fast_forward(8 * 24 * 3600 * 1000)  # 8 days later, no server
    later = seen_over(loop_seconds)
    assert aid["id"] not in later
    assert len(later) > 1, "the rest of the loop keeps playing"


def test_a_screen_switches_to_the_evening_playlist_while_its_server_is_stopped(
    tmp_path: Path, browser: Browser, contexts: list[BrowserContext]
) -> None:
    """The demo township plays its evening playlist on every hall screen 18:00–21:30. A
    screen whose server is gone switches to it, and back, from its week of lookahead."""
    server = LiveServer(tmp_path / "own")
    server.seed_demo()
    server.start()
    try:
        context = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="zh-CN")
        contexts.append(context)
        context.clock.install()
        page = context.new_page()
        page.goto(f"{server.url}/player/{server.screen('东山村', '大厅信息屏')['key']}")
        page.wait_for_function("() => window.sunwallPlayer && window.sunwallPlayer.manifest", polling=100)
    finally:
        server.stop()

    manifest = page.evaluate("() => window.sunwallPlayer.manifest")
    evening_key = next(k for k in manifest["loops"] if k != "default")
    evening = [i["board"] for i in manifest["loops"][evening_key]]
    default = [i["board"] for i in manifest["loops"]["default"]]
    assert set(evening) != set(default)

    zone = ZoneInfo(manifest["timezone"])
    browser_now = dt.datetime.fromtimestamp(page.evaluate("() => Date.now()") / 1000, zone)
    six_pm = browser_now.replace(hour=18, minute=0, second=0, microsecond=0)
    if six_pm <= browser_now + dt.timedelta(minutes=1):
        six_pm += dt.timedelta(days=1)

    def playing() -> list[str]:
        return page.evaluate("() => window.sunwallPlayer.playing.map(x => x.id)")

    windows = {b["id"]: (b.get("from"), b.get("until")) for b in manifest["boards"]}

    def posted(ids: list[str], moment: dt.datetime) -> list[str]:
        """The boards of a loop within their posting periods at `moment` (an item that goes
        to the public after its internal phase waits in the loop until then)."""
        def on(board: str) -> bool:
            start, end = windows[board]
            return (start is None or dt.datetime.fromisoformat(start) <= moment) and (
                end is None or dt.datetime.fromisoformat(end) > moment)
        return [b for b in ids if on(b)]

    def go_to(moment: dt.datetime) -> None:
        page.clock.fast_forward(int((moment.timestamp() - page.evaluate("() => Date.now()") / 1000) * 1000))
        page.clock.run_for(2_000)  # the once-a-second tick notices the new segment

    go_to(six_pm - dt.timedelta(minutes=1))
    assert playing() == posted(default, six_pm - dt.timedelta(minutes=1))
    go_to(six_pm + dt.timedelta(seconds=5))
    assert playing() == posted(evening, six_pm), "the evening playlist did not start at 18:00"
    assert page.get_attribute("#stage", "data-board-id") in evening
    assert page.evaluate("() => window.sunwallPlayer.online") is False
    shown = page.get_attribute("#stage", "data-board-id")
    qr_url = next(b["qr_url"] for b in manifest["boards"] if b["id"] == shown)
    # The screen draws the board's QR code itself, offline too.
    settle(page)
    assert decode_qr(page.screenshot(path=str(tmp_path / "player-evening-offline.png"))) == [qr_url]
    back = six_pm.replace(hour=21, minute=30) + dt.timedelta(seconds=5)
    go_to(back)
    assert playing() == posted(default, back), "the default loop did not come back at 21:30"


SHEET_STATE = """() => {
  const stage = document.getElementById('stage'), body = stage.querySelector('.board-body');
  const rows = [...stage.querySelectorAll('table.data tbody tr')];
  const shown = rows.filter(r => r.offsetParent !== null);
  const head = stage.querySelector('table.data thead');
  const limit = body.getBoundingClientRect().bottom;
  const label = stage.querySelector('.sheet-no');
  return {
    sheet: Number(stage.dataset.sheet), sheets: Number(stage.dataset.sheets),
    first: shown.length ? Number(shown[0].cells[0].textContent) : null,
    count: shown.length,
    numbers: shown.map(r => Number(r.cells[0].textContent)),
    head: !!head && head.offsetParent !== null && head.getBoundingClientRect().height > 0,
    fits: shown.every(r => r.getBoundingClientRect().bottom <= limit + 1),
    label: label ? label.textContent : null,
    font: Math.min(...shown.map(r => parseFloat(getComputedStyle(r.cells[0]).fontSize))),
  };
}"""


@pytest.mark.parametrize("screen,size", [("大厅信息屏", (1920, 1080)), ("门口竖屏", (1080, 1920))])
def test_a_long_table_is_paged_with_its_header_on_every_page(
    live: LiveServer, browser: Browser, contexts: list[BrowserContext], tmp_path: Path, screen: str, size: tuple[int, int]
) -> None:
    title = f"六十户救助资金发放表{uuid.uuid4().hex[:4]}"
    rows = [[str(i), f"村民{i:02d}", f"第{i % 7 + 1}组", "临时救助" if i % 3 else "低保", f"{800 + i * 10}.00"] for i in range(1, 61)]
    live.publish("东山村", title, "", kind="table", table={"columns": ["序号", "户主", "组别", "救助类型", "金额（元）"], "rows": rows})
    context = player_context(browser, width=size[0], height=size[1])
    contexts.append(context)
    page = open_player(context, live.url, live.screen("东山村", screen)["key"])
    board = wait_for_board(page, title, id_prefix="d")["board"]
    show_board(page, board["id"])
    settle(page)
    seen: list[int] = []
    first = page.evaluate(SHEET_STATE)
    assert first["sheets"] >= 2, "60 rows do not fit one page"
    for k in range(1, first["sheets"] + 1):
        state = page.evaluate(SHEET_STATE)
        assert state["sheet"] == k and state["label"] == f"第 {k}/{first['sheets']} 页"
        assert state["head"], f"page {k} lost the table header"
        assert state["fits"], f"page {k} runs past the board"
        assert state["font"] >= 28, f"table text {state['font']} px on page {k}"
        assert state["count"] >= 4, f"page {k} holds {state['count']} rows: too little to be worth a page"
        seen += state["numbers"]
        if k == 2:
            page.screenshot(path=str(tmp_path / f"table-page-2-{size[0]}x{size[1]}.png"))
        # The player's own page turn, without the wait; it is armed for the board's time.
        delay = page.evaluate("() => { const t = window.__sunwallTimers.get(window.sunwallPlayer.timer); t.run(); return t.delay; }")
        assert delay == board["seconds"] * 1000
    assert seen == list(range(1, 61)), "every row once, in order"
    assert page.get_attribute("#stage", "data-board-id") != board["id"], "after the last page the loop moves on"


def test_a_long_notice_is_paged_and_its_numbering_carries_on(
    live: LiveServer, browser: Browser, contexts: list[BrowserContext]
) -> None:
    title = f"村规民约全文{uuid.uuid4().hex[:4]}"
    body = "## 第一章 总则\n\n" + "\n".join(f"{i}. 第{i}条：爱护公共设施，保持村容整洁，邻里互助。" for i in range(1, 31))
    live.publish("东山村", title, body)
    context = player_context(browser)
    contexts.append(context)
    page = open_player(context, live.url, live.screen("东山村", "大厅信息屏")["key"])
    board = wait_for_board(page, title, id_prefix="d")["board"]
    show_board(page, board["id"])
    sheets = int(page.get_attribute("#stage", "data-sheets") or 0)
    assert sheets >= 2
    numbers: list[int] = []
    for k in range(1, sheets + 1):
        visible = page.evaluate(
            """() => [...document.querySelectorAll('#stage .scroller li')].filter(li => li.offsetParent !== null)
                 .map(li => li.value)"""
        )
        fits = page.evaluate(
            """() => { const b = document.querySelector('#stage .board-body').getBoundingClientRect().bottom;
                 return [...document.querySelectorAll('#stage .scroller > *, #stage .scroller li')]
                   .filter(e => e.offsetParent !== null).every(e => e.getBoundingClientRect().bottom <= b + 1); }"""
        )
        assert fits, f"page {k} runs past the board"
        assert page.locator("#stage .sheet-no").inner_text() == f"第 {k}/{sheets} 页"
        numbers += visible
        page.evaluate("() => window.__sunwallTimers.get(window.sunwallPlayer.timer).run()")
    assert numbers == list(range(1, 31))


def test_the_ticker_moves_at_reading_speed_and_a_tap_pauses_it(
    live: LiveServer, browser: Browser, contexts: list[BrowserContext], tmp_path: Path
) -> None:
    context = player_context(browser)
    contexts.append(context)
    speeds = []
    for village in ("东山村", "西岭村"):  # two halls, two tickers of different lengths
        page = open_player(context, live.url, live.screen(village, "大厅信息屏")["key"])
        speeds.append(page.evaluate(
            """() => { const t = document.getElementById('ticker-text');
                 const seconds = parseFloat(getComputedStyle(t).animationDuration);
                 return [t.textContent.length, t.offsetWidth / seconds / parseFloat(getComputedStyle(t).fontSize)]; }"""
        ))
    assert speeds[0][0] != speeds[1][0]
    assert all(abs(chars_per_second - 4) < 0.05 for _, chars_per_second in speeds), speeds
    ticker = page.locator(".ticker")
    ticker.click()
    assert page.evaluate("() => document.getElementById('ticker-text').getAnimations()[0].playState") == "paused"
    page.screenshot(path=str(tmp_path / "ticker-paused.png"))
    ticker.click()
    assert page.evaluate("() => document.getElementById('ticker-text').getAnimations()[0].playState") == "running"


MIN_TEXT = """() => {
  const out = [];
  for (const el of document.querySelectorAll('#screen *')) {
    if (!el.offsetParent && getComputedStyle(el).position !== 'fixed') continue;
    const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
    if (!own) continue;
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) continue;
    out.push([parseFloat(getComputedStyle(el).fontSize), el.className || el.tagName, el.textContent.trim().slice(0, 20)]);
  }
  return out;
}"""


@pytest.mark.parametrize("screen,size", [("大厅信息屏", (1920, 1080)), ("门口竖屏", (1080, 1920))])
def test_no_text_on_any_board_is_smaller_than_24_px(
    live: LiveServer, browser: Browser, contexts: list[BrowserContext], screen: str, size: tuple[int, int]
) -> None:
    """Read across a hall at 1080p: nothing under 24 px, notice text at least 32 px, table
    text at least 28 px, on every board the screen plays."""
    context = player_context(browser, width=size[0], height=size[1])
    contexts.append(context)
    page = open_player(context, live.url, live.screen("东山村", screen)["key"])
    checked = 0
    for board in boards(page):
        if board["kind"] == "urgent" or not page.evaluate(
            "(id) => window.sunwallPlayer.playing.some(x => x.id === id)", board["id"]
        ):
            continue
        show_board(page, board["id"])
        sizes = page.evaluate(MIN_TEXT)
        small = [s for s in sizes if s[0] < 24]
        assert not small, f"{board['title']}: {small[:5]}"
        body = page.evaluate(
            "() => [...document.querySelectorAll('#stage .board-body p:not(.sheet-no), #stage .board-body li')]"
            ".filter(e => e.offsetParent).map(e => parseFloat(getComputedStyle(e).fontSize))"
        )
        assert all(px >= 32 for px in body), (board["title"], body)
        cells = page.evaluate(
            "() => [...document.querySelectorAll('#stage td')].filter(e => e.offsetParent)"
            ".map(e => parseFloat(getComputedStyle(e).fontSize))"
        )
        assert all(px >= 28 for px in cells), (board["title"], cells)
        checked += 1
    assert checked >= 3


def test_phone_pages_follow_the_phones_font_size_and_reflow_at_200_percent(
    live: LiveServer, browser: Browser, contexts: list[BrowserContext]
) -> None:
    """Type in rem: a phone set to large text (root 32 px) doubles it; at 200 % zoom (a
    360 px phone seen as 180 CSS px) nothing but a data table scrolls sideways."""
    player = player_context(browser)
    contexts.append(player)
    hall = open_player(player, live.url, live.screen("东山村", "大厅信息屏")["key"])
    item = next(b for b in boards(hall) if b["title"] == "东山村2026年10月财务收支明细")
    wall = next(b for b in boards(hall) if b["kind"] == "echo_wall")

    def measure(width: int, root_px: int, url: str) -> dict[str, Any]:
        context = browser.new_context(viewport={"width": width, "height": 740}, is_mobile=True, has_touch=True, locale="zh-CN")
        contexts.append(context)
        page = context.new_page()
        page.goto(url)
        page.add_style_tag(content=f"html {{ font-size: {root_px}px; }}")  # what the phone's text-size setting does
        return page.evaluate(
            """() => ({
                body: parseFloat(getComputedStyle(document.body).fontSize),
                button: parseFloat(getComputedStyle(document.querySelector('button, .button')).fontSize),
                sideways: document.scrollingElement.scrollWidth - document.scrollingElement.clientWidth,
            })"""
        )

    for url in (item["qr_url"], wall["qr_url"]):
        normal, large, zoomed = measure(360, 16, url), measure(360, 32, url), measure(180, 16, url)
        assert large["body"] == 2 * normal["body"] and large["button"] == 2 * normal["button"], (normal, large)
        assert normal["sideways"] <= 0 and zoomed["sideways"] <= 0 and large["sideways"] <= 0, (url, normal, large, zoomed)
