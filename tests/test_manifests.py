"""Per-screen manifests: the pure loop plan and scope rules (both backends)."""

from __future__ import annotations

import datetime as dt

from server.domain import disclosures, feedback, manifests
from server.domain.devices import Screen
from server.domain.disclosures import DraftInput

SECRET = b"test-secret"
SETTINGS = manifests.Settings("http://s.test", SECRET, "Asia/Shanghai")


def build(session, device, now, public_url="http://s.test", secret=SECRET, zone="Asia/Shanghai"):
    """A screen's manifest with each board's fetched HTML under "html" (as a player sees it)."""
    plan = manifests.plan_manifest(session, device, now, manifests.Settings(public_url, secret, zone))
    manifest = plan.render(now)
    for board in manifest["boards"]:
        board["html"] = plan.pages[board["content"]]
    return manifest


def publish(session, w, area, item, title, now):
    d = disclosures.create_draft(
        session, w.editor,
        DraftInput(area_id=area.id, catalogue_item_id=w.item_for(area, item).id, title=title, valid_from=now - dt.timedelta(days=1), body="正文"),
        now,
    )
    disclosures.submit(session, w.editor, d.id, now)
    disclosures.approve(session, w.reviewer, d.id, now)
    return d


def next_local_midnight(now, zone="Asia/Shanghai"):
    """When the lookahead window moves on by itself (a manifest's latest possible edge)."""
    from signage_layouts import dates

    return dates.day_start(dates.local_day(now, zone) + dt.timedelta(days=1), zone)


def first_edge(*moments):
    return min(m.astimezone(dt.UTC) for m in moments).isoformat()


def titles(manifest):
    return [b["title"] for b in manifest["boards"]]


def test_screens_get_their_villages_and_the_townships_public_items_only(session, make_world, now):
    w = make_world(session)
    publish(session, w, w.village_a, w.item_public, "甲村公开", now)
    publish(session, w, w.village_b, w.item_public, "乙村公开", now)
    publish(session, w, w.town, w.item_public, "全镇公开", now)
    publish(session, w, w.village_a, w.item_internal, "甲村党内", now)
    draft = disclosures.create_draft(
        session, w.editor,
        DraftInput(area_id=w.village_a.id, catalogue_item_id=w.item_public.id, title="未审核草稿", valid_from=now, body="x"),
        now,
    )
    assert draft.id

    public_a = build(session, w.screen_a, now)
    internal_a = build(session, w.screen_a_internal, now)
    public_b = build(session, w.screen_b, now)

    assert set(titles(public_a)) == {"甲村公开", "全镇公开", "甲村回音壁"}
    assert set(titles(internal_a)) == {"甲村公开", "全镇公开", "甲村党内", "甲村回音壁"}
    assert set(titles(public_b)) == {"乙村公开", "全镇公开", "乙村回音壁"}
    # The internal item's text is nowhere in a public screen's manifest.
    assert "甲村党内" not in str(public_a)
    for board in public_a["boards"]:
        assert board["qr_url"].startswith("http://s.test/q/")
        assert f".{w.screen_a.id}." in board["qr_url"]


def test_manifest_version_changes_only_with_content(session, make_world, now):
    w = make_world(session)
    first = build(session, w.screen_a, now)
    again = build(session, w.screen_a, now + dt.timedelta(minutes=5))
    assert first["version"] == again["version"]
    publish(session, w, w.village_a, w.item_public, "新公告", now)
    changed = build(session, w.screen_a, now)
    assert changed["version"] != first["version"]


def test_echo_wall_board_is_anonymised(session, make_world, now):
    w = make_world(session)
    ticket = feedback.submit(
        session, feedback.FeedbackInput(kind="suggestion", body="路灯坏了 13812345678", anonymous=False, name="李大爷", phone="13900001111"),
        area=w.village_a, disclosure=None, device=w.screen_a, now=now,
    )
    feedback.answer(session, w.handler, ticket.id, "已修好", True, now)
    manifest = build(session, w.screen_a, now)
    echo = next(b for b in manifest["boards"] if b["kind"] == "echo_wall")
    assert "路灯坏了" in echo["html"] and "已修好" in echo["html"]
    assert "李大爷" not in str(manifest) and "13900001111" not in str(manifest) and "13812345678" not in str(manifest)
    other = build(session, w.screen_b, now)
    assert "路灯坏了" not in str(other)


def test_board_html_escapes_user_text(session, make_world, now):
    w = make_world(session)
    publish(session, w, w.village_a, w.item_public, '<script>alert(1)</script>标题', now)
    manifest = build(session, w.screen_a, now)
    html = "".join(b["html"] for b in manifest["boards"])
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_boards_carry_the_end_of_their_posting_period(session, make_world, now):
    w = make_world(session)
    d = disclosures.create_draft(
        session, w.editor,
        DraftInput(area_id=w.village_a.id, catalogue_item_id=w.item_public.id, title="七天公示",
                   valid_from=now - dt.timedelta(days=1), valid_to=now + dt.timedelta(days=6), body="x"),
        now,
    )
    disclosures.submit(session, w.editor, d.id, now)
    disclosures.approve(session, w.reviewer, d.id, now)
    manifest = build(session, w.screen_a, now)
    board = next(b for b in manifest["boards"] if b["title"] == "七天公示")
    assert board["until"] == (now + dt.timedelta(days=6)).isoformat()
    assert "七天公示" in board["html"]
    assert manifest["next_change_at"] == first_edge(now + dt.timedelta(days=6), next_local_midnight(now))
    assert next(b for b in manifest["boards"] if b["kind"] == "echo_wall")["until"] is None


def test_a_township_screen_shows_its_villages_public_answers_at_once(session, make_world, now):
    """Defect: the echo-wall query, the cache key and the rooms each chose 'which areas'."""
    from server.domain import areas, devices
    from server.models import DeviceKind, Orientation

    w = make_world(session)
    town_hall = areas.create_site(session, w.town, "测试镇便民服务中心")
    town_screen = devices.create_device(
        session, None, town_hall, "镇大厅屏", DeviceKind.signage, Orientation.landscape, now
    )
    before = build(session, town_screen, now)  # now cached
    ticket = feedback.submit(
        session, feedback.FeedbackInput(kind="question", body="甲村路灯什么时候修？"),
        area=w.village_a, disclosure=None, device=w.screen_a, now=now,
    )
    feedback.answer(session, w.handler, ticket.id, "本周修好", True, now)
    after = build(session, town_screen, now)
    assert "本周修好" in str(after) and after["version"] != before["version"]
    assert "本周修好" not in str(build(session, w.screen_b, now))


def test_a_change_nudges_exactly_the_screens_that_read_from_its_area(session, make_world):
    """The rooms of a change and the rooms of a screen agree with what the screen reads."""
    from sqlalchemy import select

    from server.domain import areas, devices, reach
    from server.models import Area, DeviceKind, Orientation
    from tests.conftest import NOW

    w = make_world(session)
    town_screen = devices.create_device(
        session, None, areas.create_site(session, w.town, "镇大厅"), "镇大厅屏", DeviceKind.signage,
        Orientation.landscape, NOW,
    )
    screens = [w.screen_a, w.screen_a_internal, w.screen_b, town_screen]
    for changed in (w.town, w.village_a, w.village_b):
        for internal_only in (False, True):
            rooms = set(reach.change_rooms(changed.path, internal_only))
            for screen in screens:
                area = screen.site.area
                reads = session.scalars(select(Area.id).where(reach.sources_clause(area))).all()
                expected = changed.id in reads and (screen.internal or not internal_only)
                assert bool(rooms & set(reach.screen_rooms(Screen.of(screen)))) == expected, (changed.name, screen.name)


# --------------------------------------------------------------------------- schedules

BEIJING = "Asia/Shanghai"


def local(day: int, hour: int, minute: int = 0) -> dt.datetime:
    """2026-11-<day> at hour:minute in Beijing, as UTC."""
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=dt.timezone(dt.timedelta(hours=8))).astimezone(dt.UTC)


def loops_at(manifest, instant):
    for seg in manifest["timeline"]:
        if dt.datetime.fromisoformat(seg["from"]) <= instant < dt.datetime.fromisoformat(seg["until"]):
            return seg["loops"]
    raise AssertionError(f"no segment holds {instant}")


def board_titles(manifest, key):
    by_id = {b["id"]: b for b in manifest["boards"]}
    return [by_id[i["board"]]["title"] for i in manifest["loops"][key]]


def evening_playlist(session, w, now, items, target=None, **entry):
    from server.domain import schedules
    from server.models import BoardKind, TargetKind

    playlist = schedules.create_playlist(
        session, w.admin, w.village_a.id, "晚间节目",
        [schedules.ItemInput(BoardKind.disclosure, d.id) for d in items] + [schedules.ItemInput(BoardKind.echo_wall)],
        now,
    )
    kind, target_id = target or (TargetKind.site, w.site_a.id)
    fields = {"dayparts": ((18 * 60, 22 * 60),), "starts_on": dt.date(2026, 11, 20), **entry}
    schedules.create_entry(
        session, w.admin,
        schedules.EntryInput(playlist_id=playlist.id, target_kind=kind, target_id=target_id, **fields),
        now, BEIJING,
    )
    return playlist


def test_with_nothing_scheduled_the_default_loop_plays_all_week(session, make_world, now):
    w = make_world(session)
    publish(session, w, w.village_a, w.item_public, "甲村公开", now)
    manifest = build(session, w.screen_a, now)
    assert [s["loops"] for s in manifest["timeline"]] == [["default"]]
    first = manifest["timeline"][0]
    assert dt.datetime.fromisoformat(first["from"]) == local(20, 0)  # from local midnight today
    assert dt.datetime.fromisoformat(first["until"]) == local(28, 0)  # 7 days of lookahead after today
    assert board_titles(manifest, "default") == ["甲村公开", "甲村回音壁"]


def test_an_evening_playlist_plays_on_its_target_in_its_daypart_only(session, make_world, now):
    w = make_world(session)
    village = publish(session, w, w.village_a, w.item_public, "甲村公开", now)
    town = publish(session, w, w.town, w.item_public, "全镇防火通知", now)
    playlist = evening_playlist(session, w, now, [town])
    manifest = build(session, w.screen_a, now)
    key = f"p{playlist.id}"
    assert loops_at(manifest, local(20, 17, 59)) == ["default"]
    assert loops_at(manifest, local(20, 18, 0)) == [key]  # the edge belongs to the evening
    assert loops_at(manifest, local(20, 22, 0)) == ["default"]
    assert loops_at(manifest, local(26, 19, 30)) == [key]  # six days ahead, from the cache
    assert board_titles(manifest, key) == ["全镇防火通知", "甲村回音壁"]
    assert "甲村公开" in board_titles(manifest, "default")
    assert village.id
    # The other village's screen hears nothing of it.
    other = build(session, w.screen_b, now)
    assert list(other["loops"]) == ["default"] and [s["loops"] for s in other["timeline"]] == [["default"]]


def test_a_screen_learns_its_next_change_and_is_answered_from_its_stamp_until_then(session, make_world, now):
    w = make_world(session)
    town = publish(session, w, w.town, w.item_public, "全镇防火通知", now)
    evening_playlist(session, w, now, [town])

    def stamp(at):
        return manifests.screen_manifest(session, Screen.of(w.screen_a), at, SETTINGS, have=None)

    # 19:00, inside the evening daypart: the next change is its end, not the 18:00 start behind us.
    assert build(session, w.screen_a, local(20, 19))["next_change_at"] == local(20, 22).isoformat()
    at_ten = build(session, w.screen_a, now)
    assert at_ten["next_change_at"] == local(20, 18).isoformat()
    first, planned = stamp(now)
    assert planned is None and first.version == at_ten["version"]  # the poll plans nothing
    same, planned = stamp(local(20, 17, 59))
    assert planned is None and same is first
    evening, planned = stamp(local(20, 18))  # the edge: planned again, and it differs
    assert planned is not None and evening.version == planned.version != first.version
    assert town.id and set(evening.pages) == {b["content"] for b in planned.render(local(20, 18))["boards"]}
    # A screen that holds an older version gets the plan from the same stamp.
    _, behind = manifests.screen_manifest(session, Screen.of(w.screen_a), local(20, 18, 0), SETTINGS, have=first.version)
    assert behind is not None and behind.version == evening.version
    _, current = manifests.screen_manifest(session, Screen.of(w.screen_a), local(20, 18), SETTINGS, have=evening.version)
    assert current is None
    w.screen_a.name = "改名后的大厅屏"
    session.flush()
    renamed, planned = stamp(local(20, 18, 1))  # what the screen is is part of its stamp
    assert planned is not None and renamed.version != evening.version


def test_a_higher_priority_entry_wins_and_equal_ones_take_turns(session, make_world, now):
    from server.domain import schedules
    from server.models import BoardKind, TargetKind

    w = make_world(session)
    first = publish(session, w, w.village_a, w.item_public, "第一", now)
    second = publish(session, w, w.village_a, w.item_public, "第二", now)
    urgent = publish(session, w, w.village_a, w.item_public, "要紧", now)

    def entry(name, item, priority):
        p = schedules.create_playlist(session, w.admin, w.village_a.id, name, [schedules.ItemInput(BoardKind.disclosure, item.id)], now)
        schedules.create_entry(
            session, w.admin,
            schedules.EntryInput(playlist_id=p.id, target_kind=TargetKind.area, target_id=w.village_a.id,
                                 starts_on=dt.date(2026, 11, 20), priority=priority,
                                 dayparts=((8 * 60, 12 * 60),) if name == "上午要紧" else ()),
            now, BEIJING,
        )
        return f"p{p.id}"

    a, b, c = entry("甲", first, 10), entry("乙", second, 10), entry("上午要紧", urgent, 20)
    manifest = build(session, w.screen_a, now)
    assert loops_at(manifest, local(20, 9)) == [c]
    assert loops_at(manifest, local(20, 13)) == [a, b]


def test_an_item_left_out_of_the_default_loop_can_still_be_scheduled(session, make_world, now):
    from server.domain import schedules

    w = make_world(session)
    d = publish(session, w, w.village_a, w.item_public, "只在晚上", now)
    schedules.set_default_loop(session, w.editor, d.id, False, now)
    playlist = evening_playlist(session, w, now, [d])
    manifest = build(session, w.screen_a, now)
    assert "只在晚上" not in board_titles(manifest, "default")
    assert "只在晚上" in board_titles(manifest, f"p{playlist.id}")


def test_an_internal_item_never_reaches_a_public_screen_whatever_the_schedule_says(session, make_world, now):
    from sqlalchemy import update

    from server.domain import changes
    from server.models import Audience, ScheduleEntry

    w = make_world(session)
    secret = publish(session, w, w.village_a, w.item_internal, "预备党员公示", now)
    playlist = evening_playlist(session, w, now, [secret], audience=Audience.internal)
    # Data that slipped past the forms (an old row, a bug): the manifest still refuses.
    session.execute(update(ScheduleEntry).values(audience=Audience.all))
    changes.loop_changed(session, w.village_a, now)
    public = build(session, w.screen_a, now)
    assert "预备党员公示" not in str(public)
    party_room = build(session, w.screen_a_internal, now)
    assert "预备党员公示" in board_titles(party_room, f"p{playlist.id}")


def test_the_lookahead_carries_items_that_start_this_week_and_takes_items_down_on_time(session, make_world, now):
    w = make_world(session)

    def item(title, start_days, end_days=None):
        d = disclosures.create_draft(
            session, w.editor,
            DraftInput(area_id=w.village_a.id, catalogue_item_id=w.item_public.id, title=title,
                       valid_from=now + dt.timedelta(days=start_days),
                       valid_to=now + dt.timedelta(days=end_days) if end_days else None, body="x"),
            now,
        )
        disclosures.submit(session, w.editor, d.id, now)
        disclosures.approve(session, w.reviewer, d.id, now)

    item("三天后公示", 3, 10)
    item("十天后公示", 10)
    item("后天下架", -1, 2)
    manifest = build(session, w.screen_a, now)
    boards = {b["title"]: b for b in manifest["boards"]}
    assert boards["三天后公示"]["from"] == (now + dt.timedelta(days=3)).isoformat()
    assert boards["后天下架"]["until"] == (now + dt.timedelta(days=2)).isoformat()
    assert "十天后公示" not in boards
    assert manifest["next_change_at"] == first_edge(now + dt.timedelta(days=2), next_local_midnight(now))
    on_the_day = build(session, w.screen_a, now + dt.timedelta(days=2) - dt.timedelta(minutes=1))
    assert on_the_day["next_change_at"] == first_edge(now + dt.timedelta(days=2), next_local_midnight(now + dt.timedelta(days=2)))


def test_sources_name_the_revision_a_nudge_will_carry(session, make_world, now):
    from server.domain import changes

    w = make_world(session)
    publish(session, w, w.village_a, w.item_public, "甲村公开", now)
    noted = [c for c in session.info.get("pending_changes", []) if isinstance(c, changes.LoopChanged)]
    manifest = build(session, w.screen_a, now)
    assert manifest["sources"][str(w.village_a.id)] == noted[-1].revision
    assert str(w.village_b.id) not in manifest["sources"]  # not read by a village-a screen


def test_an_urgent_notice_reaches_its_target_only_and_ends_by_itself(session, make_world, now):
    from server.domain import changes, content
    from server.models import Scope, TargetKind, UrgentNotice, UrgentStatus

    w = make_world(session)
    notice = UrgentNotice(
        area=w.village_a, title="山洪预警", body="请沿河村民立即转移\n到村委会避险", scope=Scope.public,
        target_kind=TargetKind.site, target_id=w.site_a.id, starts_at=now, ends_at=now + dt.timedelta(hours=6),
        status=UrgentStatus.approved, content_hash=content.content_hash({"t": 1}), author=w.editor,
    )
    session.add(notice)
    session.flush()
    changes.loop_changed(session, w.village_a, now)
    manifest = build(session, w.screen_a, now)
    assert manifest["urgent"] == [f"u{notice.id}"]
    board = next(b for b in manifest["boards"] if b["id"] == f"u{notice.id}")
    assert "山洪预警" in board["html"] and "<p>到村委会避险</p>" in board["html"] and board["qr_url"] is None
    assert board["until"] == (now + dt.timedelta(hours=6)).isoformat()
    assert build(session, w.screen_b, now)["urgent"] == []
    later = build(session, w.screen_a, now + dt.timedelta(hours=7))
    assert later["urgent"] == []


def test_like_screens_share_one_plan_but_never_each_others_targets_or_links(session, make_world, now):
    """Screens of one site, kind and scope are planned once (a village fetching after a
    change), yet what names one screen alone stays on that screen, and every screen keeps
    its own QR links and version."""
    from server.domain import devices
    from server.models import DeviceKind, Orientation, TargetKind

    w = make_world(session)
    publish(session, w, w.village_a, w.item_public, "甲村公开", now)
    twin = devices.create_device(session, None, w.site_a, "甲村大厅二号屏", DeviceKind.signage, Orientation.landscape, now)
    loop = manifests.area_loop(session, w.village_a, False, now, SETTINGS)
    first, second = build(session, w.screen_a, now), build(session, twin, now)
    assert len(loop.views) == 1  # planned once for both
    assert [b["id"] for b in first["boards"]] == [b["id"] for b in second["boards"]]
    assert first["loops"] == second["loops"] and first["timeline"] == second["timeline"]
    assert first["device"]["name"] == "甲村大厅屏" and second["device"]["name"] == "甲村大厅二号屏"
    links = {b["id"]: b["qr_url"] for b in first["boards"]}
    assert all(links[b["id"]] != b["qr_url"] for b in second["boards"])
    assert first["version"] != second["version"]

    # An evening playlist for the twin alone: the twin's manifest carries it, the other
    # screen's (planned from the same loop) does not.
    playlist = evening_playlist(session, w, now, [], target=(TargetKind.device, twin.id))
    key = f"p{playlist.id}"
    again, twin_now = build(session, w.screen_a, now), build(session, twin, now)
    assert key in twin_now["loops"] and loops_at(twin_now, local(20, 19)) == [key]
    assert key not in again["loops"] and loops_at(again, local(20, 19)) == ["default"]


def test_a_kiosk_carries_every_live_item_of_its_scope_by_category(session, make_world, now):
    """A touch kiosk browses offline, so its manifest lists every item it may show, in the
    catalogue's order, those left out of the loop too; signage carries no catalogue."""
    from server.domain import devices, schedules
    from server.models import CatalogueCategory, CatalogueItem, DeviceKind, Orientation, Scope

    w = make_world(session)
    first = CatalogueCategory(name="党务公开", position=-1)
    dues = CatalogueItem(category=first, title="党费收缴", scope=Scope.public)
    session.add_all([first, dues])
    session.flush()
    accounts = publish(session, w, w.village_a, w.item_public, "十月财务收支", now)
    quiet = publish(session, w, w.town, w.item_public, "全镇低保名单", now)
    schedules.set_default_loop(session, w.editor, quiet.id, False, now)
    publish(session, w, w.village_a, dues, "三季度党费收缴情况", now)
    publish(session, w, w.village_a, w.item_internal, "预备党员公示", now)
    publish(session, w, w.village_b, w.item_public, "乙村财务", now)
    kiosk = devices.create_device(session, None, w.site_a, "甲村查询机", DeviceKind.kiosk, Orientation.landscape, now)

    manifest = build(session, kiosk, now)
    by_id = {b["id"]: b for b in manifest["boards"]}
    shelves = [(s["category"], [by_id[b]["title"] for b in s["boards"]]) for s in manifest["browse"]]
    # Newest first within a category (equal posting dates: the later approval first).
    assert shelves == [("党务公开", ["三季度党费收缴情况"]), ("财务与党费", ["全镇低保名单", "十月财务收支"])]
    assert "全镇低保名单" not in board_titles(manifest, "default")  # browsable, not in the loop
    assert all(by_id[b]["qr_url"] for s in manifest["browse"] for b in s["boards"])
    assert manifest["kiosk"] == {"idle_seconds": manifests.KIOSK_IDLE_SECONDS}
    assert "预备党员公示" not in str(manifest) and "乙村财务" not in str(manifest)
    assert "browse" not in build(session, w.screen_a, now) and accounts.id


def test_an_entry_or_notice_that_reads_aloud_marks_what_signage_speaks(session, make_world, now):
    """A playlist scheduled to be read aloud is a loop of its own whose items say `speak`;
    the same playlist scheduled silently elsewhere is not; an urgent notice asking for it
    is listed in `speak`."""
    from server.domain import changes, content
    from server.models import Scope, TargetKind, UrgentNotice, UrgentStatus

    w = make_world(session)
    town = publish(session, w, w.town, w.item_public, "全镇防火通知", now)
    loud = evening_playlist(session, w, now, [town], read_aloud=True)
    manifest = build(session, w.screen_a, now)
    key = f"p{loud.id}{manifests.ALOUD}"
    assert loops_at(manifest, local(20, 19, 0)) == [key]
    assert [i.get("speak") for i in manifest["loops"][key]] == [True, True]
    assert all("speak" not in i for i in manifest["loops"]["default"])
    assert manifest["speak"] == []

    notice = UrgentNotice(
        area=w.village_a, title="山洪预警", body="请沿河村民立即转移", scope=Scope.public,
        target_kind=TargetKind.site, target_id=w.site_a.id, starts_at=now, ends_at=now + dt.timedelta(hours=6),
        status=UrgentStatus.approved, content_hash=content.content_hash({"t": 1}), author=w.editor, read_aloud=True,
    )
    session.add(notice)
    session.flush()
    changes.loop_changed(session, w.village_a, now)
    manifest = build(session, w.screen_a, now)
    assert manifest["urgent"] == [f"u{notice.id}"] and manifest["speak"] == [f"u{notice.id}"]


def test_reading_aloud_is_part_of_what_a_reviewer_approves(session, make_world, now):
    from server.domain import urgent
    from server.models import TargetKind

    w = make_world(session)
    data = urgent.UrgentInput(
        area_id=w.village_a.id, title="停水通知", body="明天停水", target_kind=TargetKind.area,
        target_id=w.village_a.id, ends_at=now + dt.timedelta(hours=3),
    )
    silent = urgent.create(session, w.editor, data, now)
    loud = urgent.create(session, w.editor, urgent.UrgentInput(**{**data.__dict__, "read_aloud": True}), now)
    assert silent.content_hash != loud.content_hash
