"""WCAG 2.2 A/AA in real Chromium: axe-core (vendored, tests/vendor/axe-core) on every page.

One demo township for the module. The phone pages are reached as a villager reaches them
(a QR link from a screen's manifest, the feedback form, its error and expired states, the
ticket, the 404); the admin pages as the demo admin works through them, each its own
test, then every page the admin navigation leads to (so a page added later is checked
without being listed here); the player layouts as screens show them, the kiosk tapped
through to an item. A failure names the rule, the elements and what to fix
(`tests.browser.describe_violations`). See docs/accessibility.md.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pyotp
import pytest
import requests
from playwright.sync_api import Browser, BrowserContext, Page, expect

from server.domain.qrlinks import QrTarget, make_url
from tests.browser import (
    assert_accessible,
    axe_violations,
    describe_violations,
    login,
    open_player,
    phone_context,
    player_context,
    show_board,
)
from tests.live import LiveServer, demo_server

pytestmark = pytest.mark.browser

# Known, so that the test can sign QR links to items no screen shows any more (or yet).
SECRET = "accessibility-test-secret-" + "0" * 32
VILLAGE = "东山村"
URGENT_VILLAGE = "南湾村"  # takes the urgent notice, so 东山村's screens keep their loops
SCHEDULED_VILLAGE = "西岭村"  # gets a schedule entry this week, for the week view's blocks


@dataclass
class Demo:
    """The demo township, the links into it this module needs, and its browser contexts."""

    live: LiveServer
    browser: Browser
    contexts: list[BrowserContext] = field(default_factory=list)  # closed after each test
    kept: list[BrowserContext] = field(default_factory=list)  # closed with the module
    _admin: Page | None = None
    cache: dict[str, Any] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.live.url

    def context(
        self, make: Callable[..., BrowserContext] | None = None, keep: bool = False, **kwargs: Any
    ) -> BrowserContext:
        """A browser context closed after the test (with the module if `keep`);
        `make(browser, **kwargs)` makes it (a phone or a screen), else a desktop one.
        axe-core goes in as an inline script, which the server's CSP rightly refuses:
        these contexts bypass it."""
        if make is not None:
            made = make(self.browser, bypass_csp=True, **kwargs)
        else:
            made = self.browser.new_context(bypass_csp=True, locale="zh-CN", **kwargs)
        (self.kept if keep else self.contexts).append(made)
        return made

    @property
    def admin(self) -> Page:
        """One page signed in as the demo admin, for the whole module."""
        if self._admin is None:
            self._admin = self.context(keep=True, viewport={"width": 1366, "height": 900}).new_page()
            login(self._admin, self.url, "admin")
        return self._admin

    def manifest(self, village: str, screen: str) -> dict[str, Any]:
        key = self.live.screen(village, screen)["key"]
        got = requests.get(f"{self.url}/api/v1/device/manifest", headers={"Authorization": f"Bearer {key}"}, timeout=10)
        assert got.status_code == 200, got.text
        return dict(got.json())

    def qr_link(self, village: str, screen: str, kind: str) -> str:
        """The QR link of the first board of `kind` on a screen's manifest."""
        boards = self.manifest(village, screen)["boards"]
        found = next((b for b in boards if b["kind"] == kind and b.get("qr_url")), None)
        assert found, f"no {kind} board with a QR link on {village} {screen}: {[b['kind'] for b in boards]}"
        return str(found["qr_url"])

    def signed_link(self, disclosure_id: int) -> str:
        """A QR link to a disclosure as the hall screen would print it, signed with the
        server's key: for items that screens no longer (or not yet) show."""
        device = self.live.screen(VILLAGE, "大厅信息屏")["device_id"]
        return make_url(self.url, SECRET.encode(), QrTarget("d", disclosure_id, int(device)))

    def once(self, name: str, make: Callable[[], Any]) -> Any:
        if name not in self.cache:
            self.cache[name] = make()
        return self.cache[name]


@pytest.fixture(scope="module")
def demo(browser: Browser, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    with demo_server(tmp_path_factory.mktemp("a11y"), env={"SUNWALL_SECRET_KEY": SECRET}) as live:
        world = Demo(live, browser)
        try:
            yield world
        finally:
            for c in world.contexts + world.kept:
                c.close()


@pytest.fixture(autouse=True)
def _close_contexts(demo: Demo) -> Iterator[None]:
    yield
    while demo.contexts:
        demo.contexts.pop().close()


# -- phone pages ------------------------------------------------------------------------


def phone(demo: Demo) -> Page:
    return demo.context(phone_context).new_page()


def item_link(demo: Demo) -> str:
    return demo.once("item", lambda: demo.qr_link(VILLAGE, "大厅信息屏", "notice"))


def table_link(demo: Demo) -> str:
    def make() -> str:
        title = f"低保金发放表{uuid.uuid4().hex[:4]}"
        rows = [[str(i), f"村民{i:02d}", f"{800 + i * 10}.00", "按月发放"] for i in range(1, 9)]
        did = demo.live.publish(VILLAGE, title, "本月发放情况如下。", kind="table",
                                table={"columns": ["序号", "户主", "金额（元）", "说明"], "rows": rows})
        board = next(b for b in demo.manifest(VILLAGE, "大厅信息屏")["boards"] if b["id"] == f"d{did}")
        return str(board["qr_url"])

    return demo.once("table", make)


def publish_period(demo: Demo, days_from: int, days_to: int) -> int:
    now = dt.datetime.now(dt.UTC)
    return demo.live.publish(
        VILLAGE, f"临时救助公示{uuid.uuid4().hex[:4]}", "张三 李四",
        valid_from=now + dt.timedelta(days=days_from), valid_to=(now + dt.timedelta(days=days_to)).isoformat(),
    )


def open_feedback_form(page: Page, link: str) -> None:
    page.goto(link)
    expect(page.locator("#feedback form")).to_be_visible()


def reach_home(demo: Demo, page: Page) -> None:
    page.goto(demo.url + "/")


def reach_item(demo: Demo, page: Page) -> None:
    page.goto(item_link(demo))
    expect(page.locator("article.item h1")).to_be_visible()


def reach_table_item(demo: Demo, page: Page) -> None:
    page.goto(table_link(demo))
    expect(page.locator("article.item table")).to_be_visible()


def reach_echo_wall(demo: Demo, page: Page) -> None:
    page.goto(demo.qr_link(VILLAGE, "大厅信息屏", "echo_wall"))
    expect(page.locator("article.item h1")).to_contain_text("回音壁")


def reach_internal_item(demo: Demo, page: Page) -> None:
    """A party-internal item, scanned off the party room's screen (the hall's lacks it)."""
    public = {b["id"] for b in demo.manifest(VILLAGE, "大厅信息屏")["boards"]}
    boards = demo.manifest(VILLAGE, "党员活动室屏")["boards"]
    internal = next(b for b in boards if b["id"] not in public and b["kind"] != "echo_wall")
    page.goto(internal["qr_url"])
    expect(page.locator("article.item h1")).to_have_text("党内公开事项")


def reach_ended_item(demo: Demo, page: Page) -> None:
    page.goto(demo.signed_link(publish_period(demo, -10, -1)))
    expect(page.locator("article.item h1")).to_have_text("公示期已结束")


def reach_upcoming_item(demo: Demo, page: Page) -> None:
    page.goto(demo.signed_link(publish_period(demo, 3, 10)))
    expect(page.locator("article.item h1")).to_have_text("尚未开始公开")


def reach_feedback_errors(demo: Demo, page: Page) -> None:
    open_feedback_form(page, item_link(demo))
    page.locator("#body").fill("")
    page.get_by_role("button", name="提交").click()
    expect(page.locator("#feedback p.error").first).to_be_visible()


def reach_feedback_expired(demo: Demo, page: Page) -> None:
    """The form sent after its CSRF token went stale (a phone left open overnight)."""
    open_feedback_form(page, item_link(demo))
    page.locator("#body").fill("请问村道什么时候修？")
    page.evaluate("() => { document.querySelector('#feedback input[name=csrf_token]').value = 'stale'; }")
    page.get_by_role("button", name="提交").click()
    expect(page.locator("#feedback p.notice")).to_be_visible()


def reach_new_ticket(demo: Demo, page: Page) -> None:
    open_feedback_form(page, item_link(demo))
    page.locator("label.kind", has_text="建议").click()
    page.locator("#body").fill("建议在村口增设路灯。")
    page.get_by_role("button", name="提交").click()
    page.wait_for_url("**/t/*")
    expect(page.locator("[role=status]")).to_be_visible()


def reach_answered_ticket(demo: Demo, page: Page) -> None:
    rows = demo.live.api("handler").get(f"{demo.url}/api/v1/feedback", timeout=10).json()["items"]
    answered = next(f for f in rows if f["answers"])
    page.goto(f"{demo.url}/t/{answered['ticket_code']}")
    expect(page.locator(".answer").first).to_be_visible()


def reach_ticket_lookup(demo: Demo, page: Page) -> None:
    page.goto(demo.url + "/")
    page.locator("footer a").click()
    expect(page.locator("#code")).to_be_visible()


def reach_not_found(demo: Demo, page: Page) -> None:
    forged = re.sub(r"\.[A-Z2-7]{10}$", ".AAAAAAAAAA", item_link(demo))
    assert page.goto(forged).status == 404  # type: ignore[union-attr]


def reach_unknown_ticket(demo: Demo, page: Page) -> None:
    assert page.goto(f"{demo.url}/t/NOSUCHCODE").status == 404  # type: ignore[union-attr]


PHONE_PAGES: dict[str, Callable[[Demo, Page], None]] = {
    "home": reach_home,
    "item": reach_item,
    "item-with-table": reach_table_item,
    "echo-wall": reach_echo_wall,
    "internal-item": reach_internal_item,
    "ended-item": reach_ended_item,
    "upcoming-item": reach_upcoming_item,
    "feedback-errors": reach_feedback_errors,
    "feedback-expired": reach_feedback_expired,
    "ticket-new": reach_new_ticket,
    "ticket-answered": reach_answered_ticket,
    "ticket-lookup": reach_ticket_lookup,
    "not-found-qr": reach_not_found,
    "not-found-ticket": reach_unknown_ticket,
}


@pytest.mark.parametrize("name", list(PHONE_PAGES))
def test_phone_page(demo: Demo, name: str) -> None:
    page = phone(demo)
    PHONE_PAGES[name](demo, page)
    assert_accessible(page, f"the phone page {name}")


# -- admin pages ------------------------------------------------------------------------

# The admin pages checked, found by the paths they are reached at (ids and query strings
# as N), so that the navigation walk below checks only what these tests did not.
CHECKED: set[str] = set()


def shape(url: str) -> str:
    return re.sub(r"\d+", "N", urlsplit(url).path)


def go(demo: Demo, path: str) -> Page:
    page = demo.admin
    response = page.goto(demo.url + path)
    assert response is not None and response.status < 500, f"{path}: {response and response.status}"
    return page


def follow(demo: Demo, start: str, pattern: str) -> Page:
    """Open `start`, then the first link on it whose path matches `pattern` (a regex)."""
    page = go(demo, start)
    hrefs = page.eval_on_selector_all("main a[href]", "els => els.map(e => e.getAttribute('href'))")
    found = next((h for h in hrefs if re.fullmatch(pattern, urlsplit(h).path)), None)
    assert found, f"no link matching {pattern} on {start}"
    return go(demo, found)


def submit_empty(demo: Demo, path: str, button: str) -> Page:
    """A form page sent as it opens: its error state."""
    page = go(demo, path)
    page.locator("main form").get_by_role("button", name=button).first.click()
    page.wait_for_load_state()
    expect(page.locator("main .error, main [role=alert]").first).to_be_visible()
    return page


def draft_disclosure(demo: Demo, submit: bool = False) -> int:
    editor = demo.live.api("editor")
    areas = editor.get(f"{demo.url}/api/v1/areas", timeout=10).json()["items"]
    items = [i for c in editor.get(f"{demo.url}/api/v1/catalogue", timeout=10).json()["categories"] for i in c["items"]]
    made = editor.post(f"{demo.url}/api/v1/disclosures", timeout=10, json={
        "area_id": next(a["id"] for a in areas if a["name"] == VILLAGE),
        "catalogue_item_id": next(i["id"] for i in items if i["title"] == "村级重大事项决策结果"),
        "title": f"村民议事会决议{uuid.uuid4().hex[:4]}", "body": "## 决议\n\n- 同意修路",
        "valid_from": dt.datetime.now(dt.UTC).isoformat(),
    })
    assert made.status_code == 201, made.text
    did = int(made.json()["id"])
    if submit:
        assert editor.post(f"{demo.url}/api/v1/disclosures/{did}/submit", timeout=10).status_code == 200
    return did


def urgent(demo: Demo, state: str) -> int:
    def make() -> int:
        title = f"防汛紧急通知{uuid.uuid4().hex[:4]}"
        if state == "draft":
            return int(demo.live.draft_urgent(title, URGENT_VILLAGE)["id"])
        if state == "submitted":
            notice = demo.live.draft_urgent(title, URGENT_VILLAGE)
            sent = demo.live.api("editor").post(f"{demo.url}/api/v1/urgent-notices/{notice['id']}/submit", timeout=10)
            assert sent.status_code == 200, sent.text
            return int(notice["id"])
        return int(demo.live.send_urgent(title, URGENT_VILLAGE)["id"])

    return int(demo.once(f"urgent-{state}", make))


def schedule_entry(demo: Demo) -> int:
    """A schedule entry for every day from today, on the screens of `SCHEDULED_VILLAGE`."""
    def make() -> int:
        scheduler = demo.live.api("scheduler")
        playlists = scheduler.get(f"{demo.url}/api/v1/playlists", timeout=10).json()["items"]
        made = scheduler.post(f"{demo.url}/api/v1/schedule-entries", timeout=10, json={
            "playlist_id": playlists[0]["id"], "target_kind": "area",
            "target_id": demo.live.area_id(SCHEDULED_VILLAGE), "starts_on": dt.date.today().isoformat(),
            "weekdays": list(range(1, 8)), "dayparts": [{"start": "08:00", "end": "20:00"}],
            "priority": 20, "note": "集市宣传",
        })
        assert made.status_code == 201, made.text
        return int(made.json()["id"])

    return int(demo.once("entry", make))


def week_with_entry(demo: Demo) -> Page:
    """The week view of a hall with a scheduled playlist: coloured blocks over the default loop."""
    schedule_entry(demo)
    page = go(demo, "/admin/schedules/week")
    target = page.evaluate(
        "(v) => [...document.querySelectorAll('#target option')]"
        ".find(o => o.value.startsWith('site:') && o.textContent.includes(v)).value",
        SCHEDULED_VILLAGE,
    )
    page = go(demo, f"/admin/schedules/week?target={target}")
    expect(page.locator(".sch-block:not(.default)").first).to_be_visible()
    return page


def import_preview(demo: Demo) -> Page:
    page = go(demo, "/admin/imports")
    csv = "名称,类型,上级,代码\r\n新村甲,村,清河镇,\r\n新村乙,村,没有这个镇,\r\n".encode("utf-8-sig")
    page.locator("main input[type=file]").set_input_files({"name": "areas.csv", "mimeType": "text/csv", "buffer": csv})
    page.locator("main form").get_by_role("button").last.click()
    page.wait_for_load_state()
    return page


def enrolment_code(demo: Demo) -> Page:
    page = go(demo, "/admin/screens")
    page.locator("main form[action$='/enrolment-code'] button").first.click()
    page.wait_for_load_state()
    return page


def two_factor_pages(demo: Demo) -> dict[str, Any]:
    """The supervisor sets up two-step verification: the QR page, the recovery codes, and
    the code asked at the next sign-in. Their own context, so the admin stays signed in."""
    def make() -> dict[str, Any]:
        page = demo.context(keep=True, viewport={"width": 1366, "height": 900}).new_page()
        login(page, demo.url, "supervisor")
        page.goto(demo.url + "/account")
        page.locator("#two-factor form button").click()
        secret = page.locator(".totp-secret").inner_text().replace(" ", "")
        return {"page": page, "secret": secret}

    state: dict[str, Any] = demo.once("2fa", make)
    return state


def reach_two_factor_setup(demo: Demo) -> Page:
    state = two_factor_pages(demo)
    page: Page = state["page"]
    page.goto(demo.url + "/account")
    expect(page.locator(".totp-qr svg")).to_be_visible()
    return page


def reach_recovery_codes(demo: Demo) -> Page:
    state = two_factor_pages(demo)
    page: Page = state["page"]
    page.goto(demo.url + "/account")
    page.locator("#two-factor input[name$=code]").fill(pyotp.TOTP(state["secret"]).now())
    page.locator("#two-factor form button").click()
    page.wait_for_load_state()
    state["enabled"] = True
    return page


def reach_second_factor(demo: Demo) -> Page:
    state = two_factor_pages(demo)
    if not state.get("enabled"):
        reach_recovery_codes(demo)
    page = demo.context(viewport={"width": 1366, "height": 900}).new_page()
    page.goto(demo.url + "/login")
    page.fill("#username", "supervisor")
    page.fill("#password", "sunwall-demo")
    page.locator("main form button").first.click()
    page.wait_for_url("**/login/verify**")
    return page


def signed_out(demo: Demo, path: str) -> Page:
    page = demo.context(viewport={"width": 1366, "height": 900}).new_page()
    page.goto(demo.url + path)
    return page


def failed_login(demo: Demo) -> Page:
    page = signed_out(demo, "/login")
    page.fill("#username", "admin")
    page.fill("#password", "wrong-password")
    page.locator("main form button").first.click()
    expect(page.locator("main .error, main [role=alert]").first).to_be_visible()
    return page


ADMIN_PAGES: dict[str, Callable[[Demo], Page]] = {
    "login": lambda d: signed_out(d, "/login"),
    "login-failed": failed_login,
    "dashboard": lambda d: go(d, "/admin/"),
    "disclosures": lambda d: go(d, "/admin/disclosures"),
    "disclosure-new": lambda d: go(d, "/admin/disclosures/new"),
    "disclosure-new-errors": lambda d: submit_empty(d, "/admin/disclosures/new", "保存草稿"),
    "disclosure-approved": lambda d: follow(d, "/admin/disclosures", r"/admin/disclosures/\d+"),
    "disclosure-draft": lambda d: go(d, f"/admin/disclosures/{draft_disclosure(d)}"),
    "disclosure-edit": lambda d: go(d, f"/admin/disclosures/{draft_disclosure(d)}/edit"),
    "disclosure-review": lambda d: go(d, f"/admin/disclosures/{draft_disclosure(d, submit=True)}"),
    "obligations": lambda d: go(d, "/admin/obligations"),
    "obligations-overdue": lambda d: go(d, "/admin/obligations?state=overdue"),
    "case-new-errors": lambda d: submit_empty(d, "/admin/cases/new", "登记"),
    "archive": lambda d: go(d, f"/admin/archive?area_id={d.live.area_id('西岭村')}"),
    "catalogue": lambda d: go(d, "/admin/catalogue/village"),
    "catalogue-item-errors": lambda d: submit_empty(d, "/admin/catalogue/village/items/new", "保存"),
    "catalogue-import": lambda d: go(d, "/admin/catalogue/village/import"),
    "feedback-inbox": lambda d: go(d, "/admin/feedback"),
    "feedback-detail": lambda d: follow(d, "/admin/feedback", r"/admin/feedback/\d+"),
    "feedback-answered": lambda d: follow(d, "/admin/feedback?status=answered", r"/admin/feedback/\d+"),
    "not-found": lambda d: go(d, "/admin/disclosures/999999"),
    "screens": lambda d: go(d, "/admin/screens"),
    "screen-new": lambda d: go(d, "/admin/screens/new"),
    "screen-new-errors": lambda d: submit_empty(d, "/admin/screens/new", "添加"),
    "screen-player-key": lambda d: follow(d, "/admin/screens", r"/admin/screens/\d+/player-key"),
    "screen-revoke": lambda d: follow(d, "/admin/screens", r"/admin/screens/\d+/revoke"),
    "screen-enrolment-code": enrolment_code,
    "urgent-list": lambda d: go(d, "/admin/urgent"),
    "urgent-new": lambda d: go(d, "/admin/urgent/new"),
    "urgent-draft": lambda d: go(d, f"/admin/urgent/{urgent(d, 'draft')}"),
    "urgent-edit": lambda d: go(d, f"/admin/urgent/{urgent(d, 'draft')}/edit"),
    "urgent-review": lambda d: go(d, f"/admin/urgent/{urgent(d, 'submitted')}/review"),
    "urgent-sent": lambda d: go(d, f"/admin/urgent/{urgent(d, 'sent')}"),
    "urgent-delivery": lambda d: go(d, f"/admin/urgent/{urgent(d, 'sent')}/delivery"),
    "urgent-cancel": lambda d: go(d, f"/admin/urgent/{urgent(d, 'sent')}/cancel"),
    "schedules": lambda d: go(d, "/admin/schedules"),
    "schedule-new": lambda d: go(d, "/admin/schedules/new"),
    "schedule-week": lambda d: go(d, "/admin/schedules/week"),
    "schedule-week-with-entry": week_with_entry,
    "schedule-cancel": lambda d: go(d, f"/admin/schedules/{schedule_entry(d)}/cancel"),
    "playlists": lambda d: go(d, "/admin/playlists"),
    "playlist-new": lambda d: go(d, "/admin/playlists/new"),
    "playlist": lambda d: follow(d, "/admin/playlists", r"/admin/playlists/\d+"),
    "playlist-edit": lambda d: follow(d, "/admin/playlists", r"/admin/playlists/\d+/edit"),
    "device-groups": lambda d: go(d, "/admin/device-groups"),
    "device-group-new": lambda d: go(d, "/admin/device-groups/new"),
    "device-group-edit": lambda d: follow(d, "/admin/device-groups", r"/admin/device-groups/\d+/edit"),
    "audit": lambda d: go(d, "/admin/audit"),
    "areas": lambda d: go(d, "/admin/areas"),
    "area-new": lambda d: go(d, "/admin/areas/new"),
    "area-edit": lambda d: follow(d, "/admin/areas", r"/admin/areas/\d+/edit"),
    "area-theme": lambda d: go(d, f"/admin/areas/{d.live.area_id('清河镇')}/theme"),
    "site-new": lambda d: go(d, "/admin/sites/new"),
    "site-edit": lambda d: follow(d, "/admin/areas", r"/admin/sites/\d+/edit"),
    "users": lambda d: go(d, "/admin/users"),
    "user-new": lambda d: go(d, "/admin/users/new"),
    "user-detail": lambda d: follow(d, "/admin/users", r"/admin/users/\d+"),
    "imports": lambda d: go(d, "/admin/imports"),
    "import-preview": import_preview,
    "account": lambda d: go(d, "/account"),
    "account-password": lambda d: go(d, "/account/password"),
    "account-two-factor-setup": reach_two_factor_setup,
    "account-recovery-codes": reach_recovery_codes,
    "login-second-factor": reach_second_factor,  # after the two above: the supervisor now has it
}


@pytest.mark.parametrize("name", list(ADMIN_PAGES))
def test_admin_page(demo: Demo, name: str) -> None:
    page = ADMIN_PAGES[name](demo)
    CHECKED.add(shape(page.url))
    assert_accessible(page, f"the admin page {name}")


def test_every_page_the_admin_navigation_leads_to(demo: Demo) -> None:
    """The navigation and the pages it links to, three links deep, one page of each
    shape: a page added later is checked without being listed above."""
    page = go(demo, "/admin/")
    start = page.eval_on_selector_all(
        "header.top nav a[href], header.top .who a[href]", "els => els.map(e => e.href)"
    )
    assert len(start) >= 8, start
    queue: list[tuple[str, int]] = [(u, 1) for u in start]
    seen: set[str] = set()
    failures: list[str] = []
    while queue:
        url, depth = queue.pop(0)
        parts = urlsplit(url)
        if (parts.netloc != urlsplit(demo.url).netloc or shape(url) in seen
                or not parts.path.startswith(("/admin", "/account"))
                # downloads (spreadsheets, printable PDFs), and the bare screen renders the
                # pages frame (axe checks them inside their pages, and the players below)
                or parts.path.endswith((".csv", ".xlsx", ".pdf"))
                or re.search(r"/(preview|boards|print)/", parts.path)):
            continue
        seen.add(shape(url))
        response = page.goto(url)
        assert response is not None and response.status < 500, f"{url}: {response and response.status}"
        if depth < 3:
            links = page.eval_on_selector_all("main a[href]", "els => els.map(e => e.href)")
            queue.extend((u, depth + 1) for u in links)
        if shape(url) in CHECKED:
            continue
        found = axe_violations(page)
        if found:
            failures.append(f"{url}:\n{describe_violations(found)}")
    assert len(seen) >= 20, sorted(seen)
    assert not failures, "axe-core found WCAG violations:\n" + "\n".join(failures)


# -- player layouts ---------------------------------------------------------------------


def player(demo: Demo, village: str, screen: str, width: int = 1920, height: int = 1080, touch: bool = False) -> Page:
    context = demo.context(player_context, width=width, height=height, has_touch=touch)
    return open_player(context, demo.url, demo.live.screen(village, screen)["key"])


def show_kind(page: Page, kind: str) -> None:
    board = page.evaluate(
        "(kind) => { const s = window.sunwallPlayer, m = s.pending || s.manifest;"
        " const b = m.boards.find(x => x.kind === kind); return b ? b.id : null; }",
        kind,
    )
    assert board, f"no {kind} board on this screen"
    if page.get_attribute("#stage", "data-board-id") != board:
        show_board(page, board)


def landscape(kind: str) -> Callable[[Demo], Page]:
    def reach(demo: Demo) -> Page:
        if kind == "table":
            table_link(demo)  # publishes a table board
        page = player(demo, VILLAGE, "大厅信息屏")
        if kind == "table":
            page.wait_for_function(
                "() => (window.sunwallPlayer.pending || window.sunwallPlayer.manifest).boards.some(b => b.kind === 'table')",
                timeout=10_000,
            )
        show_kind(page, kind)
        return page

    return reach


def reach_portrait(demo: Demo) -> Page:
    page = player(demo, VILLAGE, "门口竖屏", width=1080, height=1920)
    show_kind(page, "notice")
    expect(page.locator("#aside")).to_be_visible()
    return page


def reach_urgent(demo: Demo) -> Page:
    urgent(demo, "sent")
    page = player(demo, URGENT_VILLAGE, "大厅信息屏")
    page.wait_for_function("() => document.body.classList.contains('urgent-on')", timeout=15_000)
    return page


def kiosk(demo: Demo, *taps: str) -> Page:
    page = player(demo, VILLAGE, "大厅查询机", touch=True)
    for selector in taps:
        page.locator(selector).first.tap()
        page.wait_for_timeout(300)  # the view swaps in with a short fade
    return page


def reach_kiosk_item(demo: Demo) -> Page:
    page = kiosk(demo, "#kiosk-start", ".kiosk-home .tile")
    page.locator(".kiosk-shelf .tile").first.tap()
    page.wait_for_selector("#stage .board")
    page.wait_for_function("() => document.getElementById('stage').dataset.kioskView === 'item'", timeout=5_000)
    return page


def reach_kiosk_item_large(demo: Demo) -> Page:
    page = reach_kiosk_item(demo)
    page.tap("[data-act=large]")
    expect(page.locator("[data-act=large]")).to_have_attribute("aria-pressed", "true")
    return page


def reach_unknown_key(demo: Demo) -> Page:
    """A screen whose key was revoked (or mistyped): the setup message it shows instead."""
    page = demo.context(player_context).new_page()
    page.goto(f"{demo.url}/player/{'x' * 40}")
    page.wait_for_load_state()
    return page


PLAYER_PAGES: dict[str, Callable[[Demo], Page]] = {
    "landscape-notice": landscape("notice"),
    "landscape-table": landscape("table"),
    "landscape-echo-wall": landscape("echo_wall"),
    "landscape-urgent": reach_urgent,
    "portrait": reach_portrait,
    "kiosk-loop": lambda d: kiosk(d),
    "kiosk-catalogue": lambda d: kiosk(d, "#kiosk-start"),
    "kiosk-category": lambda d: kiosk(d, "#kiosk-start", ".kiosk-home .tile"),
    "kiosk-item": reach_kiosk_item,
    "kiosk-item-large-text": reach_kiosk_item_large,
    "unknown-key": reach_unknown_key,
}


@pytest.mark.parametrize("name", list(PLAYER_PAGES))
def test_player_layout(demo: Demo, name: str) -> None:
    page = PLAYER_PAGES[name](demo)
    assert_accessible(page, f"the player layout {name}")


@pytest.mark.parametrize("palette", ["blue", "green", "contrast"])
def test_player_layouts_in_each_palette(demo: Demo, palette: str) -> None:
    """The township's theme (every screen below follows): a table board and the kiosk's
    catalogue in each of the other built-in palettes, with a header line and larger text.
    Last in the module: the theme is dropped again afterwards."""
    admin, township = demo.live.api("admin"), demo.live.area_id("清河镇")
    theme_url = f"{demo.url}/api/v1/areas/{township}/theme"
    set_theme = admin.put(theme_url, timeout=10, json={"palette": palette, "header": "清河镇党务村务公开", "scale": "large"})
    assert set_theme.status_code == 200, set_theme.text
    try:
        hall = landscape("table")(demo)
        expect(hall.locator("#brand-header")).to_be_visible()
        assert_accessible(hall, f"the landscape player in the {palette} palette")
        assert_accessible(kiosk(demo, "#kiosk-start"), f"the kiosk catalogue in the {palette} palette")
    finally:
        assert admin.delete(theme_url, timeout=10).status_code == 200
