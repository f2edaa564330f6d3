"""Formatting office staff expect (defect 12), and the draft form's live screen preview.

Staff click 列表 / 编号 right after a line of text and end a notice with signature and
date lines on consecutive lines; plain Markdown merged all of that into one paragraph.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import func, select

from server.domain.content import render_markdown
from server.extensions import session_scope
from server.models import AuditEvent, Disclosure, DisclosureVersion
from tests.browser import login
from tests.conftest import csrf_from
from tests.live import LiveServer


def squash(html: str) -> str:
    """The HTML without the line breaks Markdown puts around tags."""
    return re.sub(r"\s*(<[^>]+>)\s*", r"\1", html)


# --- rendering ---------------------------------------------------------------------


def test_a_list_started_on_the_line_after_text_is_a_list():
    html = squash(render_markdown("本次公开以下事项：\n- 村道硬化\n- 路灯维修"))
    assert html == "<p>本次公开以下事项：</p><ul><li>村道硬化</li><li>路灯维修</li></ul>"


def test_a_numbered_list_after_text_is_numbered_and_ends_at_the_next_plain_line():
    html = squash(render_markdown("会议议程：\n1. 通报财务\n2. 表决预算\n以上事项请村民监督。"))
    assert html == "<p>会议议程：</p><ol><li>通报财务</li><li>表决预算</li></ol><p>以上事项请村民监督。</p>"


def test_single_line_breaks_are_kept_and_blank_lines_separate_paragraphs():
    html = squash(render_markdown("第一行\n第二行\n\n新的一段"))
    assert html == "<p>第一行<br>第二行</p><p>新的一段</p>"


def test_signature_and_date_lines_stay_on_their_own_lines():
    html = squash(render_markdown("特此公告。\n\n清河镇东山村村民委员会\n2026年11月20日"))
    assert html.endswith("<p>清河镇东山村村民委员会<br>2026年11月20日</p>")


def test_headings_bold_and_tables_still_work_right_after_text():
    html = squash(render_markdown(
        "说明如下\n## 收支情况\n本季度**收入**如下：\n| 项目 | 金额（元） |\n| --- | --- |\n| 集体收入 | 186,000.00 |\n合计见上表"
    ))
    assert "<p>说明如下</p><h2>收支情况</h2>" in html
    assert "<p>本季度<strong>收入</strong>如下：</p><table>" in html
    assert "<td>集体收入</td><td>186,000.00</td>" in html and html.endswith("</table><p>合计见上表</p>")


def test_an_item_continued_on_an_indented_line_stays_in_its_item():
    html = squash(render_markdown("- 第一项\n  补充说明\n- 第二项"))
    assert html == "<ul><li>第一项<br>补充说明</li><li>第二项</li></ul>"


def test_script_and_handlers_are_still_removed_and_numbers_still_masked():
    html = render_markdown(
        "<script>alert(1)</script>通知\n- <img src=x onerror=alert(2)>\n- [点我](javascript:alert(3))\n"
        "| 姓名 | 电话 |\n| --- | --- |\n| 张三 | 13812345678 |\n身份证 110101199001011234"
    )
    assert "<script" not in html and "alert(1)" not in html
    assert "<img" not in html and "onerror" not in html and "javascript:" not in html and "<a" not in html
    assert "138****5678" in html and "110***********1234" in html
    assert "13812345678" not in html and "110101199001011234" not in html


# --- the preview route ---------------------------------------------------------------


def counts(app) -> tuple[int, int, int]:
    with app.app_context(), session_scope() as s:
        return tuple(s.scalar(select(func.count(m.id))) or 0 for m in (Disclosure, DisclosureVersion, AuditEvent))


def preview(client, world, token: str | None, **over: Any):
    data = {
        "area_id": str(world.village_a.id), "catalogue_item_id": str(world.item_public.id), "kind": "notice",
        "title": "关于冬季防火的通知", "body": "请注意：\n- 不在林区用火\n- 发现火情拨打 119", "table": "",
        "valid_from": "2026-11-21", "valid_to": "", "layout": "landscape",
    }
    data.update(over)
    headers = {"X-CSRFToken": token} if token else {}
    return client.post("/admin/disclosures/preview", data=data, headers=headers)


def form_token(client) -> str:
    return csrf_from(client.get("/admin/disclosures/new").get_data(as_text=True))


def test_preview_shows_the_board_as_screens_will_and_saves_nothing(app, client, world, login):
    login("editor_a")
    token = form_token(client)
    before = counts(app)
    resp = preview(client, world, token)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    page = resp.get_json()
    assert (page["width"], page["height"]) == (1920, 1080)
    assert "layout-landscape" in page["html"] and "关于冬季防火的通知" in page["html"]
    assert "<ul>" in page["html"] and "<li>不在林区用火</li>" in page["html"]
    assert "2026年11月21日起" in page["html"] and "<script" not in page["html"]
    portrait = preview(client, world, token, layout="portrait").get_json()
    assert portrait["height"] == 1920 and "layout-portrait" in portrait["html"]
    assert counts(app) == before


def test_preview_of_a_table_shows_its_rows(app, client, world, login):
    login("editor_a")
    resp = preview(client, world, form_token(client), kind="table", body="说明", table="户主,金额\n张三,120.00\n")
    assert resp.status_code == 200
    assert "<td>张三</td>" in resp.get_json()["html"]


def test_preview_answers_what_is_missing_in_chinese(app, client, world, login):
    login("editor_a")
    token = form_token(client)
    before = counts(app)
    resp = preview(client, world, token, title="", body="")
    assert resp.status_code == 422
    messages = [e["message"] for e in resp.get_json()["errors"]]
    assert "标题：请填写标题。" in messages
    resp = preview(client, world, token, body="")  # the domain's own check
    assert resp.status_code == 422 and "正文：正文不能为空。" in [e["message"] for e in resp.get_json()["errors"]]
    bad_table = preview(client, world, token, kind="table", table="户主,金额\n张三\n").get_json()
    assert any("第 1 行应有 2 个单元格" in e["message"] for e in bad_table["errors"])
    assert "html" not in bad_table and counts(app) == before


def test_preview_needs_sign_in_csrf_and_an_editor_of_the_area(app, client, world, login):
    anonymous = csrf_from(client.get("/login").get_data(as_text=True))
    assert "/login" in preview(client, world, anonymous).headers["Location"]
    login("editor_a")
    token = form_token(client)
    assert preview(client, world, None).status_code == 400  # no CSRF token
    other = preview(client, world, token, area_id=str(world.village_b.id))
    assert other.status_code == 422 and "html" not in other.get_json()
    client.post("/logout", data={"csrf_token": token})
    login("handler")  # signed in, but edits nothing
    assert preview(client, world, csrf_from(client.get("/admin/").get_data(as_text=True))).status_code == 403


# --- in a real browser -----------------------------------------------------------------


@pytest.mark.browser
def test_list_button_and_enter_make_a_list_in_the_live_preview(live: LiveServer, browser: Browser, tmp_path: Path):
    context = browser.new_context(viewport={"width": 1600, "height": 1000}, locale="zh-CN")
    try:
        page = context.new_page()
        problems: list[str] = []
        page.on("pageerror", lambda err: problems.append(str(err)))
        login(page, live.url, "editor")
        page.goto(f"{live.url}/admin/disclosures/new")
        page.fill("#title", "关于冬季防火的通知")
        page.fill("#valid_from", "2026-11-21")
        body = page.locator("#body")
        body.click()
        page.keyboard.type("请村民注意以下事项：")
        page.get_by_role("button", name="列表").click()
        page.keyboard.type("不在林区用火")
        page.keyboard.press("Enter")
        page.keyboard.type("发现火情拨打119")
        assert body.input_value() == "请村民注意以下事项：\n- 不在林区用火\n- 发现火情拨打119"

        board = page.frame_locator("#preview-frame")
        items = board.locator(".board-body ul > li")
        expect(items).to_have_count(2, timeout=5_000)
        expect(items.nth(1)).to_have_text("发现火情拨打119")
        expect(board.locator(".board-body p").first).to_have_text("请村民注意以下事项：")
        expect(board.locator(".board-meta")).to_contain_text("2026年11月21日起")
        expect(page.locator("#preview-errors")).to_be_hidden()

        # Enter on an empty item ends the list; the next line is text again.
        page.keyboard.press("Enter")
        page.keyboard.press("Enter")
        page.keyboard.type("东山村村民委员会")
        expect(board.locator(".board-body p").last).to_have_text("东山村村民委员会", timeout=5_000)
        expect(items).to_have_count(2)
        assert body.input_value().endswith("- 发现火情拨打119\n东山村村民委员会")

        # 编号 and 加粗 from the toolbar: a numbered list, a bold word.
        page.keyboard.press("Enter")
        page.get_by_role("button", name="编号").click()
        page.keyboard.type("第一条")
        page.keyboard.press("Enter")
        page.get_by_role("button", name="加粗").click()
        page.keyboard.type("严禁")
        page.keyboard.press("End")
        page.keyboard.type("烧荒")
        expect(board.locator(".board-body ol > li")).to_have_count(2, timeout=5_000)
        expect(board.locator(".board-body ol strong")).to_have_text("严禁")

        shot = tmp_path / "live-preview.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 10_000

        page.fill("#title", "")
        expect(page.locator("#preview-errors")).to_contain_text("请填写标题", timeout=5_000)
        assert not problems, problems
        print(f"screenshot: {shot}")
    finally:
        context.close()
