"""Attachments in real headless Chromium: an editor chooses a photo on the draft form, and
after review the hall screen shows it under the text, a video plays muted and looping,
and the phone page shows the photo and a PDF's pages with a link to the original."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
import requests
from playwright.sync_api import Browser, expect

from tests.browser import (
    login,
    open_player,
    phone_context,
    player_context,
    show_board,
    wait_for_board,
)
from tests.live import LiveServer
from tests.test_attachments import jpeg_with_gps, mp4, pdf

pytestmark = pytest.mark.browser

VILLAGE = "东山村"
SCREEN = "大厅信息屏"


def upload(live: LiveServer, name: str, data: bytes) -> dict[str, Any]:
    made = live.api("editor").post(f"{live.url}/api/v1/attachments", files={"file": (name, data)}, timeout=30)
    assert made.status_code == 201, made.text
    return dict(made.json())


def test_a_photo_chosen_on_the_form_reaches_the_draft_page(live: LiveServer, browser: Browser, tmp_path) -> None:
    photo = tmp_path / "村口路面.jpg"
    photo.write_bytes(jpeg_with_gps((800, 600)))
    context = browser.new_context(locale="zh-CN")
    try:
        page = context.new_page()
        login(page, live.url, "editor")
        page.goto(f"{live.url}/admin/disclosures/new")
        area = page.locator("#area_id option").filter(has_text=VILLAGE).first.get_attribute("value")
        page.select_option("#area_id", value=area)
        page.select_option("#catalogue_item_id", label="村级重大事项决策结果")
        page.fill("#title", "村口路面修缮完成")
        page.fill("#body", "修缮后的路面见照片。")
        page.fill("#valid_from", dt.date.today().isoformat())
        page.set_input_files("#files", str(photo))
        with page.expect_navigation():
            page.get_by_role("button", name="保存草稿").click()
        assert page.locator("p.error").count() == 0, page.locator("p.error").all_inner_texts()
        expect(page.locator("p.flash")).to_contain_text("草稿已保存")
        shown = page.locator("#version-attachments img").first
        expect(shown).to_be_visible()
        # Turned upright (600×800) and drawn: the browser decoded the stored file (visible
        # comes first, from the width and height attributes; the decode may follow).
        page.wait_for_function("(img) => img.complete && img.naturalWidth > 0", arg=shown.element_handle(), timeout=10_000)
        assert page.evaluate("(img) => [img.naturalWidth, img.naturalHeight]", shown.element_handle()) == [600, 800]
    finally:
        context.close()


def test_the_hall_screen_shows_photos_pdf_pages_and_a_muted_looping_video(live: LiveServer, browser: Browser) -> None:
    photo = upload(live, "新修的路.jpg", jpeg_with_gps((1200, 900)))
    document = upload(live, "决议.pdf", pdf(["Resolution", "Signatures"]))
    video = upload(live, "施工.mp4", mp4(seconds=3, size=(320, 240)))
    title = "村道修缮公开（附照片）"
    disclosure_id = live.publish(
        VILLAGE, title, "村道已修好，照片、决议和施工视频如下。",
        attachments=[photo["sha256"], document["sha256"], video["sha256"]],
    )
    context = player_context(browser)
    try:
        page = open_player(context, live.url, live.screen(VILLAGE, SCREEN)["key"])
        found = wait_for_board(page, title, "d", timeout_ms=15_000)
        show_board(page, found["board"]["id"])
        files = page.locator("#stage [data-file]")
        assert files.count() == 1 + 2 + 1
        # Every photo and page is decoded from the device route (fetched with the screen's key).
        page.wait_for_function(
            "() => [...document.querySelectorAll('#stage img[data-file]')].every(i => i.complete && i.naturalWidth > 0)",
            timeout=10_000,
        )
        assert page.evaluate("() => [...document.querySelectorAll('#stage img[data-file]')].map(i => i.src.slice(0, 5))") == ["blob:"] * 3
        # A figure never overflows the board's text area.
        assert page.evaluate(
            """() => { const body = document.querySelector('#stage .board-body').getBoundingClientRect().height;
                 return [...document.querySelectorAll('#stage [data-file]')].every(el => el.getBoundingClientRect().height <= body); }"""
        )
        video_el = page.locator("#stage video[data-file]")
        assert video_el.evaluate("v => [v.muted, v.loop, v.autoplay]") == [True, True, True]
        page.wait_for_function(
            "() => { const v = document.querySelector('#stage video'); return v && v.currentTime > 0 && !v.paused; }",
            timeout=10_000,
        )
    finally:
        context.close()

    # The phone page: the photo full size behind a tap, the PDF's pages, the original to download.
    key = live.screen(VILLAGE, SCREEN)["key"]
    manifest = requests.get(f"{live.url}/api/v1/device/manifest", headers={"Authorization": f"Bearer {key}"}, timeout=10).json()
    qr = next(b["qr_url"] for b in manifest["boards"] if b["id"] == f"d{disclosure_id}")
    path = re.sub(r"^https?://[^/]+", "", qr)
    phone = phone_context(browser)
    try:
        page = phone.new_page()
        page.goto(live.url + path)
        expect(page.locator("h1")).to_contain_text(title)
        images = page.locator(".attachments img")
        assert images.count() == 3
        page.wait_for_function("() => [...document.querySelectorAll('.attachments img')].every(i => i.complete && i.naturalWidth > 0)")
        tap = page.locator(".attachments a", has=page.locator(f"img[alt='{photo['name']}']"))
        assert tap.get_attribute("href").endswith(photo["sha256"])
        original = page.get_by_role("link", name=re.compile("下载原文件"))
        reply = requests.get(live.url + original.get_attribute("href"), timeout=10)
        assert reply.headers["Content-Type"] == "application/pdf" and reply.headers["Content-Disposition"].startswith("attachment")
        assert page.locator(".attachments video").count() == 1
    finally:
        phone.close()
