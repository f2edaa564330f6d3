"""The touch kiosk (查询机) in real Chromium: a tap turns the loop into a catalogue browser.

Tapped through as a villager would: category → item → 朗读 → page 2 → 大字 → back, the QR
code of the item scannable, every target big enough for a finger, then left alone until it
counts down and goes back to its loop by itself.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page

from tests.browser import POLL_MS, decode_qr, open_player, player_context, settle, wait_for_board
from tests.live import LiveServer, demo_server

pytestmark = pytest.mark.browser

IDLE_SECONDS = 4


@pytest.fixture(scope="module")
def kiosk_live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The demo township with a short idle timeout, so the test watches it run out."""
    env = {"SUNWALL_KIOSK_IDLE_SECONDS": str(IDLE_SECONDS), "SUNWALL_READ_ALOUD": "auto"}
    with demo_server(tmp_path_factory.mktemp("kiosk"), env=env) as server:
        yield server


def view(page: Page) -> str | None:
    return page.get_attribute("#stage", "data-kiosk-view") if page.evaluate("() => !!window.sunwallPlayer.browsing") else None


def box(page: Page, selector: str) -> dict[str, float]:
    found = page.locator(selector).bounding_box()
    assert found is not None, f"{selector} is not on screen"
    return found


SMALLEST_TARGET = """() => Math.min(...[...document.querySelectorAll('#screen button')]
  .filter(b => b.offsetParent).map(b => Math.min(b.getBoundingClientRect().width, b.getBoundingClientRect().height)))"""

SMALLEST_TEXT = """() => Math.min(...[...document.querySelectorAll('#screen *')]
  .filter(e => e.offsetParent && [...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim()))
  .map(e => parseFloat(getComputedStyle(e).fontSize)))"""


def test_tap_through_the_catalogue_and_fall_back_to_the_loop_when_left_alone(
    kiosk_live: LiveServer, browser: Browser, tmp_path: Path
) -> None:
    live = kiosk_live
    title = f"六十户临时救助发放表{uuid.uuid4().hex[:4]}"
    rows = [[str(i), f"村民{i:02d}", f"{800 + i * 10}.00"] for i in range(1, 61)]
    live.publish("东山村", title, "", kind="table", table={"columns": ["序号", "户主", "金额（元）"], "rows": rows})
    context: BrowserContext = player_context(browser, has_touch=True)
    try:
        page = open_player(context, live.url, live.screen("东山村", "大厅查询机")["key"])
        board: dict[str, Any] = wait_for_board(page, title, id_prefix="d")["board"]
        # The server reads new boards aloud in the background; the audio follows the board.
        page.wait_for_function(
            """(id) => { const s = window.sunwallPlayer, m = s.pending || s.manifest;
                 const b = m.boards.find(x => x.id === id); return b && b.audio; }""",
            arg=board["id"], timeout=30_000, polling=POLL_MS,
        )
        assert view(page) is None and page.locator("#kiosk-start").is_visible()

        # The loop invites a tap; the catalogue opens on its categories.
        page.tap("#kiosk-start")
        assert view(page) == "home"
        shelves = page.evaluate("() => window.sunwallPlayer.manifest.browse")
        category = next(s["category"] for s in shelves if board["id"] in s["boards"])
        tiles = page.locator(".kiosk-home .tile:visible")
        assert tiles.count() >= 2
        assert page.evaluate(SMALLEST_TARGET) >= 60, "a touch target under 60 px"
        assert page.evaluate(SMALLEST_TEXT) >= 24
        home_back, home_home = box(page, "[data-act=back]"), box(page, "[data-act=home]")
        page.screenshot(path=str(tmp_path / "kiosk-home.png"))

        # A category lists its items; an item opens as its board, with its own QR code.
        page.locator(".kiosk-home .tile", has_text=category).tap()
        assert view(page) == "shelf"
        assert box(page, "[data-act=back]") == home_back and box(page, "[data-act=home]") == home_home
        page.locator(".kiosk-shelf .tile", has_text=title).tap()
        page.wait_for_selector(f'#stage[data-board-id="{board["id"]}"] svg.qr')
        settle(page)
        assert view(page) == "item"
        assert box(page, "[data-act=back]") == home_back and box(page, "[data-act=home]") == home_home
        assert page.evaluate(SMALLEST_TARGET) >= 60
        assert page.evaluate(SMALLEST_TEXT) >= 24
        first = page.locator("#kiosk-page").inner_text()
        assert first.startswith("第 1/"), first
        pages = int(first.split("/")[1].split()[0])
        assert pages >= 2
        shot = page.screenshot(path=str(tmp_path / "kiosk-item.png"))
        assert board["qr_url"] in decode_qr(shot)

        # 朗读 reads the board: its audio, fetched with the screen's key, plays.
        assert page.locator("[data-act=read]").is_visible()
        page.tap("[data-act=read]")
        page.wait_for_function(
            "() => { const a = window.sunwallPlayer.kiosk.audio(); return a && !a.paused && a.currentTime > 0.3; }",
            timeout=10_000, polling=POLL_MS,
        )
        assert page.get_attribute("[data-act=read]", "aria-pressed") == "true"
        page.tap("[data-act=read]")  # a second tap stops it
        assert page.evaluate("() => window.sunwallPlayer.kiosk.audio() === null")

        # Page buttons, the header on every page, nothing turned by a timer meanwhile.
        page.tap("[data-act=next]")
        assert page.locator("#kiosk-page").inner_text() == f"第 2/{pages} 页"
        assert page.locator("#stage table.data thead th").first.is_visible()
        numbers = page.evaluate(
            "() => [...document.querySelectorAll('#stage tbody tr')].filter(r => r.offsetParent).map(r => +r.cells[0].textContent)"
        )
        assert numbers and numbers[0] > 1
        page.screenshot(path=str(tmp_path / "kiosk-item-page-2.png"))

        # 大字: the same item, larger, paged again from its first page.
        size = page.evaluate("() => parseFloat(getComputedStyle(document.querySelector('#stage td')).fontSize)")
        page.tap("[data-act=large]")
        assert page.get_attribute("[data-act=large]", "aria-pressed") == "true"
        bigger = page.evaluate("() => parseFloat(getComputedStyle(document.querySelector('#stage td')).fontSize)")
        assert bigger >= size * 1.2
        assert page.locator("#kiosk-page").inner_text().startswith("第 1/")
        page.screenshot(path=str(tmp_path / "kiosk-item-large.png"))

        # 返回 goes up one level; 首页 to the categories.
        page.tap("[data-act=back]")
        assert view(page) == "shelf"
        page.tap("[data-act=home]")
        assert view(page) == "home"

        # Left alone, it counts down on screen and goes back to its loop.
        countdown = page.locator("#kiosk-idle").inner_text()
        assert countdown.endswith("秒后回到轮播") and int(countdown.split()[0]) <= IDLE_SECONDS
        page.wait_for_function(
            "() => !window.sunwallPlayer.browsing && document.getElementById('stage').dataset.boardId",
            timeout=(IDLE_SECONDS + 5) * 1000, polling=POLL_MS,
        )
        assert page.locator(".foot").is_visible() and page.locator("#kiosk-start").is_visible()
        assert not page.locator("#kiosk-bar").is_visible()
        assert page.evaluate("() => !document.body.classList.contains('large')"), "大字 ends with the visit"
    finally:
        context.close()


def test_an_urgent_notice_takes_the_kiosk_from_a_browsing_visitor(
    kiosk_live: LiveServer, browser: Browser
) -> None:
    live = kiosk_live
    context = player_context(browser, has_touch=True)
    try:
        page = open_player(context, live.url, live.screen("西岭村", "大厅查询机")["key"])
        page.tap("#kiosk-start")
        assert view(page) == "home"
        title = f"山洪预警{uuid.uuid4().hex[:4]}"
        live.send_urgent(title, "西岭村")
        page.wait_for_function(
            "() => !window.sunwallPlayer.browsing && document.body.classList.contains('urgent-on')",
            timeout=15_000, polling=POLL_MS,
        )
        assert title in page.locator("#stage").inner_text()
        assert not page.locator("#kiosk-start").is_visible(), "a warning is not browsed past"
    finally:
        context.close()
