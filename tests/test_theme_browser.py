"""An area's theme and signage read-aloud in real Chromium.

A township admin picks a palette on the theme page (the live preview follows, a colour
too pale is refused there and then), saves, and a village's hall screen turns to it; an
urgent notice that asks to be read aloud plays its audio on a screen nobody touches.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Browser

from tests.browser import POLL_MS, login, open_player, player_context
from tests.live import LiveServer, demo_server

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def themed_live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with demo_server(tmp_path_factory.mktemp("themes"), env={"SUNWALL_READ_ALOUD": "auto"}) as server:
        yield server


def pixel(png: bytes, x: int, y: int) -> tuple[int, int, int]:
    with Image.open(io.BytesIO(png)) as image:
        return image.convert("RGB").getpixel((x, y))  # type: ignore[return-value]


def test_a_township_theme_set_on_its_page_reaches_a_village_screen(
    themed_live: LiveServer, browser: Browser, tmp_path: Path
) -> None:
    live = themed_live
    township = live.area_id("清河镇")
    admin = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
    screen = player_context(browser)
    try:
        page = admin.new_page()
        login(page, live.url, "admin")
        page.goto(f"{live.url}/admin/areas/{township}/theme")
        frame = page.locator("#preview-frame")
        page.wait_for_function("() => document.getElementById('preview-frame').srcdoc.includes('--primary')",
                               timeout=10_000, polling=POLL_MS)

        # A pale grey for the body text: the preview says why, at once.
        page.locator("details.colours summary").click()
        page.fill("input[name=ink]", "#cccccc")
        problem = page.locator("#preview-errors li").first
        problem.wait_for(timeout=10_000)
        assert "对比度" in problem.inner_text()
        page.fill("input[name=ink]", "")

        page.get_by_label("政务蓝").check()
        page.fill("input[name=header]", "清河镇党务村务公开")
        page.wait_for_function(
            "() => document.getElementById('preview-frame').srcdoc.includes('#0d47a1')"
            " && document.getElementById('preview-errors').hidden",
            timeout=10_000, polling=POLL_MS,
        )
        assert frame.is_visible()
        page.screenshot(path=str(tmp_path / "theme-page.png"))
        page.get_by_role("button", name="保存样式").click()
        page.wait_for_selector("text=下属所有屏幕马上更新")

        hall = open_player(screen, live.url, live.screen("东山村", "大厅信息屏")["key"])
        hall.wait_for_function(
            "() => document.getElementById('brand-header').textContent === '清河镇党务村务公开'",
            timeout=15_000, polling=POLL_MS,
        )
        shot = hall.screenshot(path=str(tmp_path / "themed-player.png"))
        r, g, b = pixel(shot, 1900, 60)  # the header band's right end: the palette's primary
        assert b > 120 and r < 60, (r, g, b)
        assert hall.locator("#site-name").inner_text() == "东山村党群服务中心"
    finally:
        admin.close()
        screen.close()


def test_an_urgent_notice_asking_to_be_read_aloud_plays_on_an_untouched_screen(
    themed_live: LiveServer, browser: Browser
) -> None:
    live = themed_live
    context = player_context(browser)
    try:
        page = open_player(context, live.url, live.screen("西岭村", "大厅信息屏")["key"])
        title = f"停水通知{uuid.uuid4().hex[:4]}"
        live.send_urgent(title, "西岭村", read_aloud=True)
        page.wait_for_function("() => document.body.classList.contains('urgent-on')", timeout=15_000, polling=POLL_MS)
        # Its audio is made seconds after approval; the screen starts reading when it arrives.
        page.wait_for_function(
            "() => { const v = window.sunwallPlayer.voice; return v && !v.paused && v.currentTime > 0.3; }",
            timeout=60_000, polling=POLL_MS,
        )
        assert title in page.locator("#stage").inner_text()
    finally:
        context.close()
