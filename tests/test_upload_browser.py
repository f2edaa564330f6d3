"""The whole path in real headless Chromium: an editor drafts a table disclosure with a
photo, imports the table from a spreadsheet with the ID column masked, submits; another
person approves; the hall screen shows the masked table and the photo."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest
from openpyxl import Workbook
from playwright.sync_api import Browser, BrowserContext, expect

from tests.browser import login, logout, open_player, player_context, show_board, wait_for_board
from tests.live import LiveServer
from tests.test_attachments import jpeg_with_gps

pytestmark = pytest.mark.browser

VILLAGE = "东山村"
ITEM = "惠民补贴与困难救助名单"
PEOPLE = [
    ("孙福来", "330122195603121234", "2000"),
    ("周桂英", "33012219480215002X", "800.5"),
    ("吴小军", "330122198809301215", "3000"),
]


def spreadsheet(path: Path) -> Path:
    book = Workbook()
    sheet = book.active
    sheet.append(["姓名", "身份证号", "救助金额（元）"])
    for name, number, amount in PEOPLE:
        sheet.append([name, number, float(amount)])
    out = io.BytesIO()
    book.save(out)
    path.write_bytes(out.getvalue())
    return path


def test_an_editor_uploads_a_spreadsheet_and_a_photo_and_the_hall_screen_shows_both(
    live: LiveServer, browser: Browser, contexts: list[BrowserContext], tmp_path: Path
) -> None:
    title = "东山村冬季临时救助名单公示（附发放现场照片）"
    sheet = spreadsheet(tmp_path / "救助名单.xlsx")
    photo = tmp_path / "发放现场.jpg"
    photo.write_bytes(jpeg_with_gps((1200, 900)))

    contexts.append(player_context(browser))
    screen = open_player(contexts[-1], live.url, live.screen(VILLAGE, "大厅信息屏")["key"])

    office = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
    contexts.append(office)
    page = office.new_page()
    login(page, live.url, "editor")

    # 1. The draft: a table disclosure with the photo chosen on the form.
    page.goto(f"{live.url}/admin/disclosures/new")
    area = page.locator("#area_id option").filter(has_text=VILLAGE).first.get_attribute("value")
    page.select_option("#area_id", value=area)
    page.select_option("#catalogue_item_id", label=ITEM)
    page.check("input[name=kind][value=table]")
    page.fill("#title", title)
    page.fill("#table", "姓名,救助金额（元）\n（从表格导入）,0")
    page.fill("#valid_from", dt.date.today().isoformat())
    page.set_input_files("#files", str(photo))
    page.get_by_role("button", name="保存草稿").click()
    expect(page.locator("p.flash")).to_contain_text("草稿已保存")

    # 2. The table from the spreadsheet: the ID column is ticked for masking in the preview.
    page.get_by_role("link", name="从 Excel/CSV 导入表格").click()
    page.set_input_files("#file", str(sheet))
    page.get_by_role("button", name="上传并预览").click()
    id_box = page.get_by_label("“身份证号”列打码")
    expect(id_box).to_be_checked()
    expect(page.get_by_label("“救助金额（元）”列打码")).not_to_be_checked()
    page.get_by_role("button", name="导入为新版本").click()
    expect(page.locator("p.flash")).to_contain_text("救助名单.xlsx")
    page.get_by_role("button", name="提交审核").click()
    expect(page.locator("p.flash")).to_contain_text("已提交审核")

    # 3. Another person approves.
    logout(page)
    login(page, live.url, "reviewer")
    page.goto(f"{live.url}/admin/")
    page.locator("a.tile", has_text="待审核").click()
    page.get_by_role("link", name=title).click()
    page.get_by_role("button", name="审核通过并发布").click()
    expect(page.locator("p.flash")).to_contain_text("审核通过")

    # 4. The hall screen: the table with the IDs masked and amounts as typed, and the photo.
    found = wait_for_board(screen, title, "d", timeout_ms=15_000)
    html = found["board"]["html"]
    assert "330***********1234" in html and "330122195603121234" not in html
    show_board(screen, found["board"]["id"])
    stage = screen.locator("#stage")
    expect(stage.locator("table.data tbody tr").first).to_contain_text("孙福来")
    amount = stage.locator("table.data tbody tr td.num").first
    assert amount.evaluate("td => getComputedStyle(td).textAlign") == "right"
    # The photo follows the rows; the screen fetched it with its key and decoded it.
    image = stage.locator("img[data-file]").first
    image.wait_for(state="attached", timeout=10_000)
    if int(stage.get_attribute("data-sheets") or "1") == 1:
        expect(image).to_be_visible()
    screen.wait_for_function(
        "() => { const i = document.querySelector('#stage img[data-file]'); return i && i.complete && i.naturalWidth > 0; }",
        timeout=10_000,
    )
    # Turned upright from the phone's EXIF (900×1200) and stripped of it by the server.
    assert image.evaluate("i => [i.naturalWidth, i.naturalHeight]") == [900, 1200]
