"""Regenerate the README / user-guide screenshots from a fresh demo server.

    .venv/bin/python docs/img/make_screenshots.py [--out docs/img]

Starts the demo township in a temporary directory, drives headless Chromium through the
same helpers as tests/test_e2e_browser.py, and writes the PNGs. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.browser import (  # noqa: E402
    boards,
    chromium,
    login,
    open_player,
    phone_context,
    player_context,
    settle,
    show_board,
    wait_for_board,
)
from tests.live import LiveServer  # noqa: E402


def ticker_midway(page) -> None:
    """Move the scrolling ticker to where it is after ~12 s, so its text is in the picture."""
    page.evaluate(
        "() => document.getAnimations().filter(a => a.animationName === 'ticker')"
        ".forEach(a => { a.currentTime = 12000; })"
    )


def board_titled(page, title: str) -> str:
    return next(b["id"] for b in boards(page) if b["title"] == title)


def publish_for_review(live: LiveServer) -> int:
    """A submitted, not yet approved item, drafted by `editor` through the API."""
    editor = live.api("editor")
    area = next(
        a for a in editor.get(live.url + "/api/v1/areas").json()["items"] if a["name"] == "东山村"
    )
    cats = editor.get(live.url + "/api/v1/catalogue").json()["categories"]
    item = next(i for c in cats for i in c["items"] if i["title"] == "村级重大事项决策结果")
    created = editor.post(
        live.url + "/api/v1/disclosures",
        json={
            "area_id": area["id"],
            "catalogue_item_id": item["id"],
            "title": "东山村关于村道硬化工程的决议公开",
            "body": "## 决议内容\n\n经村民代表会议表决，同意实施村道硬化工程：\n\n- 长度 1.2 公里\n- 宽度 4.5 米\n\n"
            "**工期：12月1日至12月31日**\n\n| 项目 | 金额（元） |\n| --- | --- |\n"
            "| 路面硬化 | 186,000.00 |\n| 排水沟 | 24,500.00 |\n",
            "valid_from": dt.datetime.now(dt.UTC).isoformat(),
        },
    )
    created.raise_for_status()
    did = created.json()["id"]
    editor.post(f"{live.url}/api/v1/disclosures/{did}/submit").raise_for_status()
    return did


def urgent_notice(live: LiveServer) -> int:
    """A township-wide flood warning, drafted by `editor` and approved by `reviewer`; its id."""
    editor, reviewer = live.api("editor"), live.api("reviewer")
    town = next(a for a in editor.get(live.url + "/api/v1/areas").json()["items"] if a["name"] == "清河镇")
    created = editor.post(live.url + "/api/v1/urgent-notices", json={
        "area_id": town["id"], "title": "山洪橙色预警", "target_kind": "area", "target_id": town["id"],
        "body": "今晚8时至明早8时有强降雨，沿河村民请立即转移到村委会避险。\n值班电话：0571-8888 1234",
        "ends_at": (dt.datetime.now(dt.UTC) + dt.timedelta(hours=6)).isoformat(),
    })
    created.raise_for_status()
    notice = created.json()
    editor.post(f"{live.url}/api/v1/urgent-notices/{notice['id']}/submit").raise_for_status()
    reviewer.post(
        f"{live.url}/api/v1/urgent-notices/{notice['id']}/approve", json={"expected_hash": notice["content_hash"]}
    ).raise_for_status()
    return int(notice["id"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    out: Path = parser.parse_args().out
    out.mkdir(parents=True, exist_ok=True)

    with tempfile.TemporaryDirectory(prefix="sunwall-shots-") as tmp:
        live = LiveServer(Path(tmp))
        live.seed_demo()
        live.start()
        try:
            with chromium() as browser:
                landscape = player_context(browser)
                page = open_player(landscape, live.url, live.screen("东山村", "大厅信息屏")["key"])
                show_board(page, board_titled(page, "东山村11月主题党日活动安排"))
                ticker_midway(page)
                page.screenshot(path=str(out / "player-landscape.png"))
                show_board(page, next(b["id"] for b in boards(page) if b["id"].startswith("e")))
                ticker_midway(page)
                page.screenshot(path=str(out / "player-echo-wall.png"))
                qr_url = next(
                    b["qr_url"]
                    for b in boards(page)
                    if b["title"] == "东山村2026年10月财务收支明细"
                )

                portrait = player_context(browser, width=1080, height=1920)
                page = open_player(portrait, live.url, live.screen("东山村", "门口竖屏")["key"])
                show_board(page, board_titled(page, "东山村党支部2026年第三季度党费收缴情况"))
                ticker_midway(page)
                page.screenshot(path=str(out / "player-portrait.png"))

                # The touch kiosk: a tap opens the catalogue, then a category and an item.
                touch = player_context(browser, has_touch=True)
                page = open_player(touch, live.url, live.screen("西岭村", "大厅查询机")["key"])
                page.tap("#kiosk-start")
                settle(page)
                page.screenshot(path=str(out / "kiosk-catalogue.png"))
                page.locator(".tile").first.tap()
                page.locator(".tile-item").first.tap()
                settle(page)
                page.screenshot(path=str(out / "kiosk-item.png"))

                phone = phone_context(browser).new_page()
                phone.goto(qr_url)
                phone.screenshot(path=str(out / "phone-item.png"), full_page=True)
                phone.locator("label.kind", has_text="咨询").click()
                phone.fill("#body", "10月的路灯维修费用是谁审核的？")
                phone.get_by_role("button", name="提交").click()
                phone.wait_for_url("**/t/*")
                phone.screenshot(path=str(out / "phone-ticket.png"), full_page=True)

                publish_for_review(live)
                office = browser.new_context(
                    viewport={"width": 1366, "height": 900}, locale="zh-CN"
                )
                admin = office.new_page()
                login(admin, live.url, "reviewer")
                admin.goto(live.url + "/admin/disclosures?status=submitted")
                admin.get_by_role("link", name="东山村关于村道硬化工程的决议公开").click()
                # Let the two lazy screen-preview frames load before the picture.
                for frame in admin.locator("iframe.screen-preview").all():
                    frame.scroll_into_view_if_needed()
                    frame.content_frame.locator(".board").wait_for()
                admin.screenshot(path=str(out / "admin-review.png"), full_page=True)

                # A long table pages on the screen, its header on every page.
                rows = [[str(i), f"村民{i:02d}", f"第{i % 7 + 1}组", "临时救助" if i % 3 else "低保", f"{800 + i * 10}.00"]
                        for i in range(1, 41)]
                live.publish("东山村", "东山村2026年第四季度救助资金发放表", "", kind="table",
                             table={"columns": ["序号", "户主", "组别", "救助类型", "金额（元）"], "rows": rows})
                table = wait_for_board(landscape.pages[0], "第四季度救助资金发放表", id_prefix="d")["board"]
                page = landscape.pages[0]
                show_board(page, table["id"])
                page.evaluate("() => window.__sunwallTimers.get(window.sunwallPlayer.timer).run()")  # page 2
                settle(page)
                ticker_midway(page)
                page.screenshot(path=str(out / "player-table-paged.png"))

                # The township's theme page with its live preview.
                styler = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN").new_page()
                login(styler, live.url, "admin")
                styler.goto(f"{live.url}/admin/areas/{live.area_id('清河镇')}/theme")
                styler.wait_for_function("() => document.getElementById('preview-frame').srcdoc.includes('--primary')")
                styler.screenshot(path=str(out / "admin-theme.png"), full_page=True)

                # What each village still owes by its catalogue (the supervisor's question).
                supervisor = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN").new_page()
                login(supervisor, live.url, "supervisor")
                supervisor.goto(live.url + "/admin/obligations")
                supervisor.screenshot(path=str(out / "admin-obligations.png"))

                scheduler = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN").new_page()
                login(scheduler, live.url, "scheduler")
                scheduler.goto(live.url + "/admin/schedules/week?at=19:00")
                scheduler.screenshot(path=str(out / "admin-week.png"), full_page=True)

                notice_id = urgent_notice(live)
                wait_for_board(page, "山洪橙色预警", id_prefix="u")
                page.wait_for_function("() => document.body.classList.contains('urgent-on')")
                settle(page)
                page.screenshot(path=str(out / "player-urgent.png"))
                admin.goto(f"{live.url}/admin/urgent/{notice_id}/delivery")
                admin.wait_for_timeout(1500)  # the open player's receipts arrive
                admin.reload()
                admin.screenshot(path=str(out / "admin-urgent-delivery.png"), full_page=True)
        finally:
            live.stop()
    for name in sorted(out.glob("*.png")):
        print(name)


if __name__ == "__main__":
    main()
