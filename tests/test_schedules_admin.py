"""Scheduling pages: playlists, entries and groups made through the forms (with CSRF),
errors in Chinese beside their field with what was typed kept, rows moved without
JavaScript, and the week view answering "what plays here at 19:00"."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from sqlalchemy import func, select

from server.clock import FixedClock
from server.domain import disclosures, schedules, users
from server.domain.disclosures import DraftInput
from server.extensions import session_scope
from server.models import (
    BoardKind,
    DeviceGroup,
    Disclosure,
    Playlist,
    Role,
    ScheduleEntry,
    TargetKind,
)
from tests.conftest import NOW, csrf_from


@pytest.fixture
def clock(app) -> FixedClock:
    fixed = FixedClock(NOW)
    app.extensions["sunwall.clock"] = fixed
    return fixed


@pytest.fixture
def town(app, world, clock) -> dict[str, Any]:
    """Schedulers of the township and of 甲村, and three approved items."""
    with app.app_context(), session_scope() as s:
        for name, area in (("sched_town", world.town), ("sched_a", world.village_a)):
            users.create_user(s, username=name, password="correct-horse", display_name=name,
                              grants=[(Role.scheduler, s.merge(area))])
        editor, reviewer = users.get_user(s, "editor"), users.get_user(s, "reviewer")
        made = {}
        for key, area, title in (("fire", world.town, "全镇防火通知"), ("money", world.village_a, "甲村财务收支"),
                                 ("other", world.village_b, "乙村财务收支")):
            d = disclosures.create_draft(s, editor, DraftInput(area_id=area.id, catalogue_item_id=world.item_for(area, world.item_public).id, title=title,
                                                               valid_from=NOW - dt.timedelta(days=1), body="正文"), NOW)
            disclosures.submit(s, editor, d.id, NOW)
            disclosures.approve(s, reviewer, d.id, NOW)
            made[key] = d.id
    return made


def count(app, model) -> int:
    with app.app_context(), session_scope() as s:
        return s.scalar(select(func.count()).select_from(model))


def selected(html: str, name: str) -> str:
    """The value of the selected option of select `name` (or '' when none is)."""
    block = re.search(rf'<select[^>]*name="{re.escape(name)}"[^>]*>(.*?)</select>', html, re.S)
    assert block, name
    chosen = re.search(r'<option selected value="([^"]*)"|<option value="([^"]*)" selected', block.group(1))
    return (chosen.group(1) or chosen.group(2)) if chosen else ""


def value(html: str, name: str) -> str:
    match = re.search(rf'<input[^>]*name="{re.escape(name)}"[^>]*value="([^"]*)"', html) or re.search(
        rf'<input[^>]*value="([^"]*)"[^>]*name="{re.escape(name)}"', html)
    return match.group(1) if match else ""


# --------------------------------------------------------------------------- playlists


def test_nav_shows_scheduling_to_schedulers_only(client, town, login):
    login("editor_a")
    assert "/admin/schedules" not in client.get("/admin/").get_data(as_text=True)
    client.post("/logout", data={"csrf_token": csrf_from(client.get("/admin/").get_data(as_text=True))})
    login("sched_a")
    page = client.get("/admin/").get_data(as_text=True)
    assert 'href="/admin/schedules">排期</a>' in page
    assert page.index(">屏幕</a>") < page.index(">排期</a>")


def test_a_playlist_is_made_through_the_form_and_previewed_as_a_loop(app, client, town, login, world):
    login("sched_a")
    form = client.get("/admin/playlists/new").get_data(as_text=True)
    assert "全镇防火通知" in form and "甲村财务收支" in form and "乙村财务收支" not in form
    resp = client.post("/admin/playlists/new", data={
        "csrf_token": csrf_from(form), "area_id": str(world.village_a.id), "name": "晚间节目", "op": "save",
        "items-0-board": f"d{town['money']}", "items-0-seconds": "30",
        "items-1-board": "", "items-1-seconds": "",
        "items-2-board": "echo", "items-2-seconds": "",
        "items-3-board": f"d{town['fire']}", "items-3-seconds": "",
    })
    assert resp.status_code == 302, resp.get_data(as_text=True)
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "晚间节目" in page and "已新建节目单" in page
    assert "1 分 5 秒" in page  # 30 + 20 (echo wall) + 15 (notice)
    assert page.index("甲村财务收支") < page.index("回音壁") < page.index("全镇防火通知")
    with app.app_context(), session_scope() as s:
        p = s.scalars(select(Playlist)).one()
        assert [(i.kind, i.duration) for i in p.items] == [(BoardKind.disclosure, 30), (BoardKind.echo_wall, None), (BoardKind.disclosure, None)]
        pid = p.id
    # Each board is rendered by the same preview the disclosure pages use.
    board = client.get(f"/admin/playlists/{pid}/boards/1/landscape")
    assert board.status_code == 200 and "甲村财务收支" in board.get_data(as_text=True)
    echo = client.get(f"/admin/playlists/{pid}/boards/2/portrait").get_data(as_text=True)
    assert "回音壁" in echo and "<svg" in echo
    assert client.get(f"/admin/playlists/{pid}/boards/9/landscape").status_code == 404


def test_rows_move_and_go_without_javascript_and_nothing_is_saved_until_save(app, client, town, login, world):
    login("sched_a")
    token = csrf_from(client.get("/admin/playlists/new").get_data(as_text=True))
    typed = {"csrf_token": token, "area_id": str(world.village_a.id), "name": "白天",
             "items-0-board": f"d{town['money']}", "items-0-seconds": "25", "items-1-board": "echo", "items-1-seconds": ""}
    down = client.post("/admin/playlists/new", data={**typed, "op": "down-0"})
    page = down.get_data(as_text=True)
    assert down.status_code == 200 and "还没有保存" in page
    assert selected(page, "items-0-board") == "echo" and selected(page, "items-1-board") == f"d{town['money']}"
    assert value(page, "items-1-seconds") == "25" and value(page, "name") == "白天"
    added = client.post("/admin/playlists/new", data={**typed, "op": "add"}).get_data(as_text=True)
    assert 'name="items-2-board"' in added
    removed = client.post("/admin/playlists/new", data={**typed, "op": "remove-0"}).get_data(as_text=True)
    assert selected(removed, "items-0-board") == "echo" and 'name="items-1-board"' not in removed
    assert count(app, Playlist) == 0


def test_playlist_errors_are_in_chinese_beside_their_field_and_keep_what_was_typed(app, client, town, login, world):
    login("sched_a")
    token = csrf_from(client.get("/admin/playlists/new").get_data(as_text=True))
    base = {"csrf_token": token, "area_id": str(world.village_a.id), "op": "save"}
    empty = client.post("/admin/playlists/new", data={**base, "name": "", "items-0-board": "echo", "items-0-seconds": "半分钟"})
    page = empty.get_data(as_text=True)
    assert empty.status_code == 422
    assert "节目单名称：请填写节目单名称。" in page
    assert value(page, "items-0-seconds") == "半分钟" and selected(page, "items-0-board") == "echo"
    short = client.post("/admin/playlists/new", data={**base, "name": "太短", "items-0-board": "echo", "items-0-seconds": "",
                                                      "items-1-board": f"d{town['money']}", "items-1-seconds": "2"})
    page = short.get_data(as_text=True)
    assert short.status_code == 422
    assert "第 2 块的播放时长须在 5–600 秒之间" in page
    assert value(page, "items-1-seconds") == "2" and value(page, "name") == "太短"
    other = client.post("/admin/playlists/new", data={**base, "name": "串门", "items-0-board": f"d{town['other']}"})
    assert other.status_code == 422 and "未找到该公开事项" in other.get_data(as_text=True)
    nothing = client.post("/admin/playlists/new", data={**base, "name": "空的", "items-0-board": ""})
    assert nothing.status_code == 422 and "节目单至少要有一块内容" in nothing.get_data(as_text=True)
    assert client.post("/admin/playlists/new", data={**base, "name": "无令牌", "csrf_token": ""}).status_code in (400, 422)
    assert count(app, Playlist) == 0


def test_another_villages_playlist_is_404(app, client, town, login, world):
    with app.app_context(), session_scope() as s:
        boss = users.get_user(s, "sched_town")
        pid = schedules.create_playlist(s, boss, world.village_b.id, "乙村节目", [schedules.ItemInput(BoardKind.echo_wall)], NOW).id
    login("sched_a")
    for url in (f"/admin/playlists/{pid}", f"/admin/playlists/{pid}/edit", f"/admin/playlists/{pid}/boards/1/landscape"):
        assert client.get(url).status_code == 404, url
    assert "乙村节目" not in client.get("/admin/playlists").get_data(as_text=True)


# --------------------------------------------------------------------------- entries


def make_playlist(app, world, name, items, user="sched_a", area=None) -> int:
    with app.app_context(), session_scope() as s:
        made = schedules.create_playlist(s, users.get_user(s, user), (area or world.village_a).id, name, items, NOW)
        return made.id


def entry_form(client, pid=None) -> dict[str, str]:
    page = client.get("/admin/schedules/new" + (f"?playlist_id={pid}" if pid else "")).get_data(as_text=True)
    return {"csrf_token": csrf_from(page)}


def test_an_entry_is_made_through_the_form_and_listed(app, client, town, login, world):
    pid = make_playlist(app, world, "晚间节目", [schedules.ItemInput(BoardKind.echo_wall)])
    login("sched_a")
    page = client.get(f"/admin/schedules/new?playlist_id={pid}").get_data(as_text=True)
    assert selected(page, "playlist_id") == str(pid)
    assert value(page, "starts_on") == "2026-11-20" and value(page, "priority") == "10"
    assert "甲村党群服务中心" in page and "乙村" not in page
    assert page.count('name="weekdays"') == 7 and page.count("checked") >= 7
    resp = client.post("/admin/schedules/new", data={
        "csrf_token": csrf_from(page), "playlist_id": str(pid), "target_id": f"site:{world.site_a.id}", "audience": "all",
        "starts_on": "2026-11-20", "ends_on": "", "weekdays": [str(d) for d in range(7)],
        "dayparts-0-start": "18:00", "dayparts-0-end": "22:00", "dayparts-1-start": "", "dayparts-1-end": "",
        "dayparts-2-start": "", "dayparts-2-end": "", "priority": "20", "note": "晚饭后群众多",
    })
    assert resp.status_code == 302, resp.get_data(as_text=True)
    listed = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "已新建第" in listed and "晚间节目" in listed and "场所“甲村党群服务中心”" in listed
    assert "每天 · 18:00–22:00" in listed and "<b>20</b>" in listed and "生效中" in listed
    with app.app_context(), session_scope() as s:
        e = s.scalars(select(ScheduleEntry)).one()
        assert (e.target_kind, e.target_id, e.dayparts, e.priority, e.weekdays) == (TargetKind.site, world.site_a.id, [[1080, 1320]], 20, 127)


def test_entry_errors_are_in_chinese_beside_their_field_and_keep_what_was_typed(app, client, town, login, world):
    pid = make_playlist(app, world, "夜间节目", [schedules.ItemInput(BoardKind.echo_wall)])
    login("sched_a")
    typed = {
        **entry_form(client), "playlist_id": str(pid), "target_id": f"site:{world.site_a.id}", "audience": "all",
        "starts_on": "2026-11-21", "ends_on": "", "weekdays": ["0", "2", "4"],
        "dayparts-0-start": "22:00", "dayparts-0-end": "02:00", "dayparts-1-start": "", "dayparts-1-end": "",
        "dayparts-2-start": "", "dayparts-2-end": "", "priority": "30", "note": "夜里巡逻提醒",
    }
    night = client.post("/admin/schedules/new", data=typed)
    page = night.get_data(as_text=True)
    assert night.status_code == 422
    assert "时段：时段的结束必须晚于开始；跨午夜的时段请拆成两段" in page
    assert value(page, "dayparts-0-start") == "22:00" and value(page, "dayparts-0-end") == "02:00"
    assert value(page, "note") == "夜里巡逻提醒" and value(page, "priority") == "30" and value(page, "starts_on") == "2026-11-21"
    assert selected(page, "target_id") == f"site:{world.site_a.id}"
    assert re.search(r'<input[^>]*checked[^>]*value="2"|<input[^>]*value="2"[^>]*checked', page)
    assert not re.search(r'<input[^>]*checked[^>]*value="1"[^>]*name="weekdays"|value="1"[^>]*checked', page)
    bad = client.post("/admin/schedules/new", data={**typed, "dayparts-0-start": "8点", "dayparts-0-end": "", "priority": "高"})
    page = bad.get_data(as_text=True)
    assert bad.status_code == 422
    assert "优先级：请填写 1 到 100 之间的整数。" in page and "第 1 段：请同时填写开始和结束时间。" in page
    past = client.post("/admin/schedules/new", data={**typed, "dayparts-0-start": "", "dayparts-0-end": "",
                                                     "starts_on": "2026-11-01", "ends_on": "2026-11-10"})
    assert past.status_code == 422 and "结束日期：结束日期已经过去。" in past.get_data(as_text=True)
    elsewhere = client.post("/admin/schedules/new", data={**typed, "dayparts-0-start": "", "dayparts-0-end": "",
                                                          "target_id": f"site:{world.site_b.id}"})
    assert elsewhere.status_code == 422 and "播放到：未找到该场所" in elsewhere.get_data(as_text=True)
    assert count(app, ScheduleEntry) == 0


def test_an_entry_is_cancelled_only_after_confirming(app, client, town, login, world):
    pid = make_playlist(app, world, "白天", [schedules.ItemInput(BoardKind.echo_wall)])
    with app.app_context(), session_scope() as s:
        eid = schedules.create_entry(s, users.get_user(s, "sched_a"), schedules.EntryInput(
            playlist_id=pid, target_kind=TargetKind.site, target_id=world.site_a.id, starts_on=dt.date(2026, 11, 20)), NOW, "Asia/Shanghai").id
    login("sched_a")
    url = f"/admin/schedules/{eid}/cancel"
    ask = client.get(url).get_data(as_text=True)
    assert f"取消第 {eid} 号排期" in ask and "白天" in ask and "甲村党群服务中心" in ask
    unticked = client.post(url, data={"csrf_token": csrf_from(ask)})
    assert unticked.status_code == 422 and "请先勾选确认" in unticked.get_data(as_text=True)
    done = client.post(url, data={"csrf_token": csrf_from(ask), "confirm": "y"})
    assert done.status_code == 302
    assert "白天" not in client.get("/admin/schedules").get_data(as_text=True).split("<tbody>")[1]
    with app.app_context(), session_scope() as s:
        assert s.get(ScheduleEntry, eid).cancelled_at == NOW


# --------------------------------------------------------------------------- groups


def test_a_group_is_made_with_checkboxes_and_members_outside_its_area_are_refused(app, client, town, login, world):
    login("sched_town")
    page = client.get("/admin/device-groups/new").get_data(as_text=True)
    assert "甲村党群服务中心" in page and "乙村大厅屏" in page and 'type="checkbox"' in page
    token = csrf_from(page)
    outside = client.post("/admin/device-groups/new", data={
        "csrf_token": token, "area_id": str(world.village_a.id), "name": "甲村屏",
        "device_ids": [str(world.screen_a.id), str(world.screen_b.id)],
    })
    text = outside.get_data(as_text=True)
    assert outside.status_code == 422
    assert "分组里的屏幕：屏幕“乙村大厅屏”（乙村党群服务中心）不在“甲村”范围内" in text
    assert value(text, "name") == "甲村屏"
    assert re.search(rf'value="{world.screen_b.id}" checked', text)  # the ticks stay as they were
    assert count(app, DeviceGroup) == 0
    made = client.post("/admin/device-groups/new", data={
        "csrf_token": token, "area_id": str(world.town.id), "name": "两村大厅屏",
        "device_ids": [str(world.screen_a.id), str(world.screen_b.id)],
    })
    assert made.status_code == 302
    listed = client.get("/admin/device-groups").get_data(as_text=True)
    assert "两村大厅屏" in listed and "2 块" in listed


# --------------------------------------------------------------------------- week view


def test_the_week_view_says_what_plays_at_the_asked_time(app, client, town, login, world):
    all_day = make_playlist(app, world, "全天节目", [schedules.ItemInput(BoardKind.echo_wall)])
    evening = make_playlist(app, world, "晚间节目", [schedules.ItemInput(BoardKind.echo_wall)])
    with app.app_context(), session_scope() as s:
        boss = users.get_user(s, "sched_a")
        schedules.create_entry(s, boss, schedules.EntryInput(all_day, TargetKind.area, world.village_a.id, dt.date(2026, 11, 20)), NOW, "Asia/Shanghai")
        eid = schedules.create_entry(s, boss, schedules.EntryInput(
            evening, TargetKind.device, world.screen_a.id, dt.date(2026, 11, 20), dayparts=((18 * 60, 22 * 60),), priority=20,
        ), NOW, "Asia/Shanghai").id
    login("sched_a")
    page = client.get(f"/admin/schedules/week?target=device:{world.screen_a.id}&on=2026-12-08&at=19:00").get_data(as_text=True)
    assert f"甲村大厅屏 在 12月8日（星期二）19:00 播放“晚间节目”（第 {eid} 号排期，优先级 20）" in page
    assert "11月20日（星期五）" in page and "11月26日（星期四）" in page  # this week, from today
    assert page.count("晚间节目</b>") == 7
    site = client.get(f"/admin/schedules/week?target=site:{world.site_a.id}&start=2026-11-23&on=2026-11-24&at=10:00").get_data(as_text=True)
    assert "甲村大厅屏 在 11月24日（星期二）10:00 播放“全天节目”" in site
    assert "甲村党员活动室屏 在 11月24日（星期二）10:00 播放“全天节目”" in site
    # The evening entry is the hall screen's only: the party room plays the all-day one.
    party = client.get(f"/admin/schedules/week?target=device:{world.screen_a_internal.id}&at=19:30").get_data(as_text=True)
    assert "甲村党员活动室屏 在 11月20日（星期五）19:30 播放“全天节目”" in party
    nothing = client.get(f"/admin/schedules/week?target=device:{world.screen_b.id}&at=19:00")
    assert nothing.status_code == 404 or "未找到该屏幕" in nothing.get_data(as_text=True)


def test_the_week_view_refuses_bad_parameters_with_a_400_or_a_note(client, town, login, world):
    login("sched_a")
    assert client.get("/admin/schedules/week?target=screen:1").status_code == 400
    assert client.get("/admin/schedules/week?start=tomorrow").status_code == 400
    assert client.get("/admin/schedules/week?extra=1").status_code == 400
    late = client.get(f"/admin/schedules/week?target=site:{world.site_a.id}&at=25:00")
    assert late.status_code == 200 and "时间：时间“25:00”不存在" in late.get_data(as_text=True)
    assert client.get(f"/admin/schedules/week?target=site:{world.site_a.id}&start=9999-12-31").status_code == 400
    assert client.get(f"/admin/schedules/week?target=site:{world.site_a.id}&on=1900-01-01").status_code == 400


# --------------------------------------------------------------------------- default loop


def test_the_disclosure_page_sets_the_default_loop_flag(app, client, town, login):
    login("editor_a")
    url = f"/admin/disclosures/{town['money']}"
    page = client.get(url).get_data(as_text=True)
    assert "进入默认轮播" in page and "改为不进入默认轮播" in page
    resp = client.post(f"{url}/default-loop", data={"csrf_token": csrf_from(page), "in_default_loop": "0"})
    assert resp.status_code == 302
    after = client.get(url).get_data(as_text=True)
    assert "已设为不进入默认轮播" in after and "改为进入默认轮播" in after
    with app.app_context(), session_scope() as s:
        assert s.get(Disclosure, town["money"]).in_default_loop is False
    assert client.post(f"{url}/default-loop", data={"csrf_token": csrf_from(after), "in_default_loop": "maybe"}).status_code == 400
    # A scheduler sees the item but decides nothing about its default loop.
    client.post("/logout", data={"csrf_token": csrf_from(after)})
    login("sched_a")
    assert "改为进入默认轮播" not in client.get(url).get_data(as_text=True)
