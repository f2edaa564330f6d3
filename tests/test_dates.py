"""Dates people read are the township's local dates: boards, phone pages, admin pages.

Defect 11: boards printed the first ten characters of a UTC timestamp, so an item that
starts at local midnight showed the day before. The item here is posted for the local
days 21 November to 20 December 2026 (Asia/Shanghai): stored as 2026-11-20T16:00Z up to
the exclusive end 2026-12-20T16:00Z.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from server.clock import FixedClock
from server.domain import disclosures, feedback, qrlinks
from server.extensions import session_scope
from server.models import Device, Disclosure
from signage_layouts import dates
from tests.conftest import csrf_from
from tests.test_manifests import build

START = dt.datetime(2026, 11, 20, 16, 0, tzinfo=dt.UTC)  # 2026-11-21 00:00 in Beijing
END = dt.datetime(2026, 12, 20, 16, 0, tzinfo=dt.UTC)  # 2026-12-21 00:00: last day is the 20th
SEEN_AT = dt.datetime(2026, 11, 21, 2, 0, tzinfo=dt.UTC)  # 10:00 on the 21st in Beijing
ANSWERED_AT = dt.datetime(2026, 11, 20, 17, 30, tzinfo=dt.UTC)  # 01:30 on the 21st in Beijing
PERIOD_BEIJING = "2026年11月21日 至 2026年12月20日"
PERIOD_UTC = "2026年11月20日 至 2026年12月20日"
SECRET = b"test-secret"


@pytest.fixture
def make_app(sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Any]]:
    """Factory: an app on the test database whose zone comes from SUNWALL_TIMEZONE."""
    from server.app import create_app

    made: list[Any] = []

    def build(zone: str | None = None) -> Any:
        if zone is None:
            monkeypatch.delenv("SUNWALL_TIMEZONE", raising=False)
        else:
            monkeypatch.setenv("SUNWALL_TIMEZONE", zone)
        app = create_app({
            "TESTING": True, "DATA_DIR": tmp_path, "DATABASE_URL": sqlite_url, "SECRET_KEY": SECRET.decode(),
            "PUBLIC_URL": "http://sunwall.test", "RATELIMIT_STORAGE_URI": "memory://",
            "ASYNC_MODE": "threading", "CLOCK": FixedClock(SEEN_AT),
        })
        made.append(app)
        return app

    yield build
    for app in made:
        app.extensions["sunwall.db"].engine.dispose()


@pytest.fixture
def posted(make_app, make_world) -> dict[str, Any]:
    """An approved notice for local 21 Nov – 20 Dec in village A, and an echo-wall answer
    given at 01:30 local on the 21st."""
    app = make_app()
    with app.app_context(), session_scope() as s:
        w = make_world(s)
        d = disclosures.create_draft(
            s, w.editor,
            disclosures.DraftInput(area_id=w.village_a.id, catalogue_item_id=w.item_public.id,
                                   title="东山村十一月财务公开", valid_from=START, valid_to=END, body="收支明细见下表。"),
            START,
        )
        disclosures.submit(s, w.editor, d.id, START)
        disclosures.approve(s, w.reviewer, d.id, START)
        ticket = feedback.submit(
            s, feedback.FeedbackInput(kind="question", body="路灯什么时候修？"),
            area=w.village_a, disclosure=None, device=w.screen_a, now=ANSWERED_AT,
        )
        feedback.answer(s, w.handler, ticket.id, "本周修好。", True, ANSWERED_AT)
        return {"disclosure": d.id, "village": w.village_a.id, "screen": w.screen_a.id, "ticket": ticket.ticket_code}


def screen_boards(app, screen_id: int, zone: str) -> dict[str, str]:
    with app.app_context(), session_scope() as s:
        manifest = build(s, s.get_one(Device, screen_id), SEEN_AT, "http://sunwall.test", SECRET, zone)
    return {b["kind"]: b["html"] for b in manifest["boards"]}


def qr_page(app, client, kind: str, target: int, screen: int) -> str:
    token = qrlinks.make_token(SECRET, qrlinks.QrTarget(kind, target, screen))
    page = client.get(f"/q/{token}")
    assert page.status_code == 200
    return page.get_data(as_text=True)


def sign_in(client, username: str) -> None:
    token = csrf_from(client.get("/login").get_data(as_text=True))
    assert client.post("/login", data={"username": username, "password": "correct-horse", "csrf_token": token}).status_code == 302


def test_an_item_from_local_midnight_shows_its_own_day_everywhere(make_app, posted):
    app = make_app()
    boards = screen_boards(app, posted["screen"], "Asia/Shanghai")
    assert PERIOD_BEIJING in boards["notice"]
    assert "2026-11-20" not in boards["notice"] and "11月20日" not in boards["notice"]
    assert "2026年11月21日" in boards["echo_wall"]  # answered at 01:30 local

    client = app.test_client()
    phone = qr_page(app, client, "d", posted["disclosure"], posted["screen"])
    assert PERIOD_BEIJING in phone and "2026-11-20" not in phone
    echo = qr_page(app, client, "e", posted["village"], posted["screen"])
    assert "2026年11月21日" in echo and "2026年11月20日" not in echo
    ticket = client.get(f"/t/{posted['ticket']}").get_data(as_text=True)
    assert "2026年11月21日 01:30" in ticket

    sign_in(client, "editor")
    detail = client.get(f"/admin/disclosures/{posted['disclosure']}").get_data(as_text=True)
    assert PERIOD_BEIJING in detail


def test_dates_typed_in_the_form_come_back_as_the_same_days(make_app, make_world):
    app = make_app()
    with app.app_context(), session_scope() as s:
        w = make_world(s)
        area, item = w.village_a.id, w.item_public.id
    client = app.test_client()
    sign_in(client, "editor")
    page = client.get("/admin/disclosures/new").get_data(as_text=True)
    saved = client.post("/admin/disclosures/new", data={
        "csrf_token": csrf_from(page), "area_id": area, "catalogue_item_id": item, "kind": "notice",
        "title": "关于冬季防火的通知", "body": "请注意用火安全。", "valid_from": "2026-11-21", "valid_to": "2026-12-20",
    })
    assert saved.status_code == 302, saved.get_data(as_text=True)
    with app.app_context(), session_scope() as s:
        d = s.scalars(select(Disclosure)).one()
        assert (d.valid_from, d.valid_to) == (START, END)
    assert PERIOD_BEIJING in client.get(saved.headers["Location"]).get_data(as_text=True)
    form = client.get(saved.headers["Location"] + "/edit").get_data(as_text=True)
    assert 'value="2026-11-21"' in form and 'value="2026-12-20"' in form


def test_another_township_zone_changes_every_date(make_app, posted):
    shanghai = screen_boards(make_app(), posted["screen"], "Asia/Shanghai")
    app = make_app("UTC")
    assert app.config["TIMEZONE"] == "UTC"
    utc = screen_boards(app, posted["screen"], app.config["TIMEZONE"])
    # Same content, same process: the board cache must not hand back the Beijing board.
    assert PERIOD_BEIJING in shanghai["notice"] and PERIOD_UTC in utc["notice"]
    assert "2026年11月20日" in utc["echo_wall"]

    client = app.test_client()
    assert PERIOD_UTC in qr_page(app, client, "d", posted["disclosure"], posted["screen"])
    assert "2026年11月20日 17:30" in client.get(f"/t/{posted['ticket']}").get_data(as_text=True)
    sign_in(client, "editor")
    detail = client.get(f"/admin/disclosures/{posted['disclosure']}").get_data(as_text=True)
    assert PERIOD_UTC in detail and PERIOD_BEIJING not in detail


def test_the_formats_people_read():
    zone = "Asia/Shanghai"
    assert dates.cn_date(START, zone) == "2026年11月21日"
    assert dates.cn_date("2026-11-20T16:00:00+00:00", zone) == "2026年11月21日"  # board data is JSON text
    assert dates.cn_datetime(ANSWERED_AT, zone) == "2026年11月21日 01:30"
    assert dates.admin_date(START, zone) == "2026-11-21"
    assert dates.admin_datetime(ANSWERED_AT, zone) == "2026-11-21 01:30"
    assert dates.cn_period(START, END, zone) == PERIOD_BEIJING
    # An end that is not local midnight is shown as its own day; no end means "from".
    assert dates.cn_period(START, END + dt.timedelta(hours=6), zone) == "2026年11月21日 至 2026年12月21日"
    assert dates.cn_period(START, None, zone) == "2026年11月21日起"
    assert dates.cn_date(None, zone) == "" and dates.admin_datetime(None, zone) == ""
    day = dt.date(2026, 11, 21)
    assert dates.day_start(day, zone) == START and dates.day_end(dt.date(2026, 12, 20), zone) == END
    assert dates.last_day(END, zone) == dt.date(2026, 12, 20)



def test_live_admin_pages_show_only_the_time_for_a_moment_of_the_local_today():
    now = dt.datetime(2026, 11, 20, 17, 0, tzinfo=dt.UTC)  # 01:00 on the 21st in Beijing
    zone = "Asia/Shanghai"
    assert dates.admin_moment(dt.datetime(2026, 11, 20, 16, 30, tzinfo=dt.UTC), now, zone) == "00:30"  # UTC says yesterday
    assert dates.admin_moment(dt.datetime(2026, 11, 20, 15, 30, tzinfo=dt.UTC), now, zone) == "2026-11-20 23:30"
    assert dates.admin_moment(None, now, zone) == ""
