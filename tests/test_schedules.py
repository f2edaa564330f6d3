"""Scheduling rules (server.domain.schedules), on SQLite and PostgreSQL.

Every bad input is a ValidationFailed naming its field, and nothing of it is saved; a
scheduler acts only inside their subtree (another village's playlist looks missing);
and the week view says, for each stretch of a screen's week, which entry plays and why.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import func, select

from server.domain import disclosures, schedules, users
from server.domain.disclosures import DraftInput
from server.domain.errors import Conflict, Forbidden, NotFound, ValidationFailed
from server.models import (
    Audience,
    AuditEvent,
    BoardKind,
    DeviceGroup,
    LoopRevision,
    Playlist,
    PlaylistItem,
    Role,
    ScheduleEntry,
    TargetKind,
)
from signage_layouts import dates

ZONE = "Asia/Shanghai"
TODAY = dt.date(2026, 11, 20)  # conftest's NOW: Friday 20 November 2026, 10:00 in Beijing
EVENING = ((18 * 60, 22 * 60),)


def local(day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    """An instant in November 2026 (December from day 31 on), Beijing time."""
    moment = dt.datetime(2026, 11, 1, hour, minute, tzinfo=dates.zone_info(ZONE)) + dt.timedelta(days=day - 1)
    return moment.astimezone(dt.UTC)


@pytest.fixture
def w(session, make_world):
    """The conftest world plus a scheduler for the township and one for each village."""
    world = make_world(session)

    def scheduler(name: str, area: Any) -> Any:
        return users.create_user(session, username=name, password="correct-horse", display_name=name, grants=[(Role.scheduler, area)])

    world.sched_town = scheduler("sched_town", world.town)
    world.sched_a = scheduler("sched_a", world.village_a)
    world.sched_b = scheduler("sched_b", world.village_b)
    return world


def publish(session, w, area, title, now, internal=False, approve=True):
    d = disclosures.create_draft(
        session, w.editor,
        DraftInput(area_id=area.id, catalogue_item_id=w.item_for(area, w.item_internal if internal else w.item_public).id,
                   title=title, valid_from=now - dt.timedelta(days=1), body="正文"),
        now,
    )
    if approve:
        disclosures.submit(session, w.editor, d.id, now)
        disclosures.approve(session, w.reviewer, d.id, now)
    return d


def items(*boards) -> list[schedules.ItemInput]:
    return [schedules.ItemInput(BoardKind.echo_wall) if b == "echo" else schedules.ItemInput(BoardKind.disclosure, b.id) for b in boards]


def playlist(session, user, area, name, boards, now) -> Playlist:
    return schedules.create_playlist(session, user, area.id, name, items(*boards), now)


def entry(session, user, playlist_id, now, target=None, **fields) -> ScheduleEntry:
    kind, target_id = target
    data = schedules.EntryInput(playlist_id=playlist_id, target_kind=kind, target_id=target_id, starts_on=fields.pop("starts_on", TODAY), **fields)
    return schedules.create_entry(session, user, data, now, ZONE)


def counts(session) -> tuple[int, ...]:
    """Rows a refused call must not have added."""
    return tuple(
        session.scalar(select(func.count()).select_from(model))
        for model in (ScheduleEntry, Playlist, PlaylistItem, DeviceGroup, AuditEvent)
    )


def refused(session, call, field: str, error=ValidationFailed, says: str = "") -> Any:
    before = counts(session)
    with pytest.raises(error) as caught:
        call()
    assert caught.value.field == field, (caught.value.field, caught.value.message)
    assert says in caught.value.message
    session.flush()
    assert counts(session) == before, "a refused call saved something"
    return caught.value


# --------------------------------------------------------------------------- playlists


def test_a_playlist_holds_approved_items_of_its_area_and_above_and_below_in_order(session, w, now):
    town = publish(session, w, w.town, "全镇防火通知", now)
    mine = publish(session, w, w.village_a, "甲村财务", now)
    other = publish(session, w, w.village_b, "乙村财务", now)
    made = schedules.create_playlist(
        session, w.sched_a, w.village_a.id, "  晚间   节目 ",
        [schedules.ItemInput(BoardKind.disclosure, mine.id, 30), schedules.ItemInput(BoardKind.echo_wall),
         schedules.ItemInput(BoardKind.disclosure, town.id)],
        now,
    )
    assert made.name == "晚间 节目"
    assert [(i.position, i.kind, i.disclosure_id, i.duration) for i in made.items] == [
        (1, BoardKind.disclosure, mine.id, 30), (2, BoardKind.echo_wall, None, None), (3, BoardKind.disclosure, town.id, None),
    ]
    steps, total = schedules.loop_plan(made, now)
    assert [s.seconds for s in steps] == [30, 20, 15] and total == 65
    offered = {d.title for d in schedules.item_candidates(session, w.sched_a, now, w.village_a)}
    assert offered == {"全镇防火通知", "甲村财务"}
    # Another village's item cannot be added, by id or otherwise.
    err = refused(session, lambda: playlist(session, w.sched_a, w.village_a, "串门", [other], now), "items.0.disclosure_id")
    assert "乙村财务" not in err.message


def test_playlist_inputs_are_checked_field_by_field(session, w, now):
    item = publish(session, w, w.village_a, "甲村财务", now)
    draft = publish(session, w, w.village_a, "还在起草", now, approve=False)
    town_draft = publish(session, w, w.town, "镇里草稿", now, approve=False)
    make = schedules.create_playlist
    refused(session, lambda: make(session, w.sched_a, w.village_a.id, "  ", items(item), now), "name", says="名称")
    refused(session, lambda: make(session, w.sched_a, w.village_a.id, "空", [], now), "items", says="至少")
    refused(session, lambda: make(session, w.sched_a, w.village_a.id, "短", [schedules.ItemInput(BoardKind.disclosure, item.id, 2)], now),
            "items.0.duration", says="5–600")
    refused(session, lambda: make(session, w.sched_a, w.village_a.id, "草稿", items("echo", draft), now),
            "items.1.disclosure_id", says="尚未审核通过")
    # A draft above the village is not the village scheduler's to see: not even its title.
    err = refused(session, lambda: make(session, w.sched_a, w.village_a.id, "偷看", items(town_draft), now), "items.0.disclosure_id")
    assert "镇里草稿" not in err.message
    refused(session, lambda: make(session, w.sched_a, w.village_b.id, "越界", items(item), now), "area_id", error=NotFound)
    playlist(session, w.sched_a, w.village_a, "晚间节目", [item], now)
    refused(session, lambda: playlist(session, w.sched_a, w.village_a, "晚间节目", ["echo"], now), "name", says="同名")


def test_a_village_scheduler_cannot_see_or_touch_another_villages_playlists(session, w, now):
    item = publish(session, w, w.village_a, "甲村财务", now)
    mine = playlist(session, w.sched_a, w.village_a, "甲村晚间", [item], now)
    assert [p.name for p in schedules.list_playlists(session, w.sched_b)] == []
    assert [p.name for p in schedules.list_playlists(session, w.sched_town)] == ["甲村晚间"]
    with pytest.raises(NotFound):
        schedules.get_playlist(session, w.sched_b, mine.id)
    with pytest.raises(NotFound):
        schedules.update_playlist(session, w.sched_b, mine.id, "改名", items("echo"), now)
    with pytest.raises(NotFound):
        schedules.retire_playlist(session, w.sched_b, mine.id, now)
    refused(session, lambda: entry(session, w.sched_b, mine.id, now, (TargetKind.site, w.site_b.id)), "playlist_id", error=NotFound)
    with pytest.raises(NotFound):
        schedules.week_view(session, w.sched_b, w.screen_a, local(20), ZONE)
    assert mine.name == "甲村晚间" and mine.retired_at is None
    # An editor sees the village's playlists but may not change them.
    with pytest.raises(Forbidden):
        schedules.update_playlist(session, w.editor_a, mine.id, "改名", items("echo"), now)


# --------------------------------------------------------------------------- entries


def test_an_entry_bumps_its_homes_revision_and_is_audited(session, w, now):
    item = publish(session, w, w.village_a, "甲村财务", now)
    p = playlist(session, w.sched_a, w.village_a, "晚间", [item], now)
    before = session.scalar(select(LoopRevision.revision).where(LoopRevision.area_id == w.village_a.id)) or 0
    made = entry(session, w.sched_a, p.id, now, (TargetKind.site, w.site_a.id), dayparts=EVENING, priority=20, note=" 晚饭后 ")
    assert made.area_id == w.village_a.id and made.dayparts == [[1080, 1320]] and made.note == "晚饭后"
    assert session.scalar(select(LoopRevision.revision).where(LoopRevision.area_id == w.village_a.id)) == before + 1
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "schedule.create")).one()
    assert event.username == "sched_a" and event.detail == {"playlist": "晚间"}


def test_an_overlapping_duplicate_entry_is_refused(session, w, now):
    item = publish(session, w, w.village_a, "甲村财务", now)
    p = playlist(session, w.sched_a, w.village_a, "晚间", [item], now)
    first = entry(session, w.sched_a, p.id, now, (TargetKind.site, w.site_a.id), dayparts=EVENING)
    err = refused(session, lambda: entry(session, w.sched_a, p.id, now, (TargetKind.site, w.site_a.id),
                                         dayparts=((20 * 60, 23 * 60),), starts_on=TODAY + dt.timedelta(days=3)),
                  "starts_on", says="重复")
    assert f"第 {first.id} 号" in err.message
    # The same playlist at other times, on other days, or for another audience is no duplicate.
    entry(session, w.sched_a, p.id, now, (TargetKind.site, w.site_a.id), dayparts=((8 * 60, 12 * 60),))
    entry(session, w.sched_a, p.id, now, (TargetKind.site, w.site_a.id), dayparts=EVENING, audience=Audience.internal)
    entry(session, w.sched_a, p.id, now, (TargetKind.device, w.screen_a.id), dayparts=EVENING)


def test_a_daypart_crossing_midnight_is_refused_and_must_be_split(session, w, now):
    p = playlist(session, w.sched_a, w.village_a, "夜间", ["echo"], now)
    night = (schedules.parse_clock("22:00", "s"), schedules.parse_clock("02:00", "e", end=True))
    err = refused(session, lambda: entry(session, w.sched_a, p.id, now, (TargetKind.site, w.site_a.id), dayparts=(night,)), "dayparts")
    assert "拆成两段" in err.message
    split = ((schedules.parse_clock("22:00", "s"), schedules.parse_clock("24:00", "e", end=True)), (0, 120))
    assert entry(session, w.sched_a, p.id, now, (TargetKind.site, w.site_a.id), dayparts=split).dayparts == [[0, 120], [1320, 1440]]
    refused(session, lambda: entry(session, w.sched_a, p.id, now, (TargetKind.device, w.screen_a.id), dayparts=((480, 720), (600, 900))),
            "dayparts", says="重叠")
    refused(session, lambda: entry(session, w.sched_a, p.id, now, (TargetKind.device, w.screen_a.id), dayparts=((0, 60), (120, 180), (240, 300), (360, 420))),
            "dayparts", says="最多 3")


@pytest.mark.parametrize(("text", "end", "minutes"), [("08:00", False, 480), ("8:30", False, 510), ("18：30", False, 1110), ("24:00", True, 1440)])
def test_times_of_day_read_as_minutes(text, end, minutes):
    assert schedules.parse_clock(text, "x", end=end) == minutes


@pytest.mark.parametrize(("text", "end"), [("24:00", False), ("24:01", True), ("25:00", True), ("8:5", False), ("早上", False), ("", False), ("12:60", False)])
def test_impossible_times_of_day_name_their_field(text, end):
    with pytest.raises(ValidationFailed) as caught:
        schedules.parse_clock(text, "dayparts.0.end", end=end)
    assert caught.value.field == "dayparts.0.end"


def test_dates_weekdays_and_priority_are_checked(session, w, now):
    p = playlist(session, w.sched_a, w.village_a, "白天", ["echo"], now)
    site = (TargetKind.site, w.site_a.id)
    refused(session, lambda: entry(session, w.sched_a, p.id, now, site, starts_on=dt.date(2026, 12, 10), ends_on=dt.date(2026, 12, 5)),
            "ends_on", says="不能早于")
    refused(session, lambda: entry(session, w.sched_a, p.id, now, site, starts_on=dt.date(2026, 11, 1), ends_on=dt.date(2026, 11, 19)),
            "ends_on", says="已经过去")
    refused(session, lambda: entry(session, w.sched_a, p.id, now, site, weekdays=frozenset()), "weekdays")
    refused(session, lambda: entry(session, w.sched_a, p.id, now, site, priority=0), "priority")
    refused(session, lambda: entry(session, w.sched_a, p.id, now, site, priority=101), "priority")
    refused(session, lambda: entry(session, w.sched_a, p.id, now, site, note="长" * 201), "note")
    # An open-ended entry that started last week is fine, and so is one ending today.
    entry(session, w.sched_a, p.id, now, site, starts_on=dt.date(2026, 11, 13), weekdays=frozenset({5, 6}))
    entry(session, w.sched_a, p.id, now, site, starts_on=TODAY, ends_on=TODAY, weekdays=frozenset({4}))


def test_a_target_outside_the_schedulers_subtree_is_refused(session, w, now):
    p = playlist(session, w.sched_a, w.village_a, "白天", ["echo"], now)
    for target in [(TargetKind.site, w.site_b.id), (TargetKind.device, w.screen_b.id), (TargetKind.area, w.town.id),
                   (TargetKind.area, w.village_b.id), (TargetKind.site, 999_999)]:
        refused(session, lambda target=target: entry(session, w.sched_a, p.id, now, target), "target_id")
    # A township playlist may go on a village's hall; a village's playlist never on the township.
    town_list = playlist(session, w.sched_town, w.town, "全镇", ["echo"], now)
    entry(session, w.sched_town, town_list.id, now, (TargetKind.site, w.site_b.id))
    village_list = playlist(session, w.sched_town, w.village_a, "甲村", ["echo"], now)
    refused(session, lambda: entry(session, w.sched_town, village_list.id, now, (TargetKind.site, w.site_b.id)), "target_id", says="甲村")
    # An editor of the township sees everything but schedules nothing.
    refused(session, lambda: entry(session, w.editor, town_list.id, now, (TargetKind.site, w.site_a.id)), "target_id", says="排期管理员")


def test_an_internal_item_never_joins_an_entry_for_all_screens_in_either_order(session, w, now):
    public = publish(session, w, w.village_a, "甲村财务", now)
    secret = publish(session, w, w.village_a, "预备党员公示", now, internal=True)
    # Entry first, then the internal item added to its playlist.
    p = playlist(session, w.sched_a, w.village_a, "白天", [public], now)
    for_all = entry(session, w.sched_a, p.id, now, (TargetKind.site, w.site_a.id))
    err = refused(session, lambda: schedules.update_playlist(session, w.sched_a, p.id, "白天（含党内）", items(public, secret), now), "items")
    assert f"第 {for_all.id} 号" in err.message
    session.refresh(p)
    assert p.name == "白天" and [i.disclosure_id for i in p.items] == [public.id]
    # Internal playlist first, then an entry for all screens.
    party = playlist(session, w.sched_a, w.village_a, "党员活动室", [secret, public], now)
    refused(session, lambda: entry(session, w.sched_a, party.id, now, (TargetKind.site, w.site_a.id)), "audience", says="党内屏")
    made = entry(session, w.sched_a, party.id, now, (TargetKind.site, w.site_a.id), audience=Audience.internal)
    assert made.audience is Audience.internal
    # Once the public entry is cancelled, the playlist may take the internal item.
    schedules.cancel_entry(session, w.sched_a, for_all.id, now)
    assert [i.disclosure_id for i in schedules.update_playlist(session, w.sched_a, p.id, "白天", items(public, secret), now).items] == [public.id, secret.id]


def test_cancelled_entries_are_hidden_and_free_their_playlist_and_group(session, w, now):
    p = playlist(session, w.sched_town, w.town, "全镇", ["echo"], now)
    group = schedules.create_group(session, w.sched_town, w.town.id, "全镇大厅屏", [w.screen_a.id, w.screen_b.id], now)
    made = entry(session, w.sched_town, p.id, now, (TargetKind.group, group.id))
    with pytest.raises(Conflict):
        schedules.retire_playlist(session, w.sched_town, p.id, now)
    with pytest.raises(Conflict):
        schedules.retire_group(session, w.sched_town, group.id, now)
    assert [e.id for e in schedules.list_entries(session, w.sched_town, now)] == [made.id]
    schedules.cancel_entry(session, w.sched_town, made.id, now)
    with pytest.raises(Conflict):
        schedules.cancel_entry(session, w.sched_town, made.id, now)
    assert schedules.list_entries(session, w.sched_town, now) == []
    schedules.retire_group(session, w.sched_town, group.id, now)
    schedules.retire_playlist(session, w.sched_town, p.id, now)
    with pytest.raises(Conflict):
        schedules.retire_group(session, w.sched_town, group.id, now)
    assert schedules.list_playlists(session, w.sched_town) == [] and schedules.list_groups(session, w.sched_town) == []
    refused(session, lambda: entry(session, w.sched_town, p.id, now, (TargetKind.site, w.site_a.id)), "playlist_id", says="停用")


# --------------------------------------------------------------------------- groups


def test_group_members_must_lie_in_the_groups_area(session, w, now):
    err = refused(session, lambda: schedules.create_group(session, w.sched_a, w.village_a.id, "甲村屏", [w.screen_a.id, w.screen_b.id], now),
                  "device_ids")
    assert "乙村" in err.message or "范围" in err.message
    group = schedules.create_group(session, w.sched_a, w.village_a.id, "甲村屏", [w.screen_a.id, w.screen_a.id], now)
    assert [d.id for d in group.devices] == [w.screen_a.id]
    refused(session, lambda: schedules.update_group(session, w.sched_a, group.id, "甲村屏", [w.screen_b.id], now), "device_ids")
    session.refresh(group)
    assert [d.id for d in group.devices] == [w.screen_a.id]
    # A village scheduler cannot see the group of another village, nor put a screen in it.
    with pytest.raises(NotFound):
        schedules.update_group(session, w.sched_b, group.id, "改名", [w.screen_b.id], now)
    refused(session, lambda: schedules.create_group(session, w.sched_a, w.village_a.id, "甲村屏", [], now), "name", says="同名")


# --------------------------------------------------------------------------- the week view


def at(view, instant) -> list[str]:
    found = view.at(instant)
    return [e.playlist.name for e in found.entries] if found else ["?"]


def test_week_view_explains_priorities_screen_by_screen(session, w, now):
    all_day = playlist(session, w.sched_a, w.village_a, "全天", ["echo"], now)
    evening = playlist(session, w.sched_a, w.village_a, "晚间", ["echo"], now)
    day_entry = entry(session, w.sched_a, all_day.id, now, (TargetKind.area, w.village_a.id))
    evening_entry = entry(session, w.sched_a, evening.id, now, (TargetKind.device, w.screen_a.id), dayparts=EVENING, priority=20)
    view = schedules.week_view(session, w.sched_a, w.screen_a, dates.day_start(TODAY, ZONE), ZONE)
    assert view.start == local(20) and view.end == local(27)
    assert at(view, local(20, 17, 59)) == ["全天"]
    assert at(view, local(20, 18)) == ["晚间"] and view.at(local(20, 19)).priority == 20
    assert view.at(local(20, 19)).entries == (evening_entry,)
    assert at(view, local(20, 22)) == ["全天"]
    assert at(view, local(26, 21, 59)) == ["晚间"]
    evenings = [(s.start, s.end) for s in view.stretches if s.entries == (evening_entry,)]
    assert evenings == [(local(d, 18), local(d, 22)) for d in range(20, 27)]
    # The party-members' room in the same hall is not the target: all day, every day.
    other = schedules.week_view(session, w.sched_a, w.screen_a_internal, dates.day_start(TODAY, ZONE), ZONE)
    assert [s.entries for s in other.stretches] == [(day_entry,)]
    # The other village hears nothing of either.
    assert [s.entries for s in schedules.week_view(session, w.sched_town, w.screen_b, local(20), ZONE).stretches] == [()]


def test_equal_priorities_take_turns(session, w, now):
    first = playlist(session, w.sched_a, w.village_a, "甲", ["echo"], now)
    second = playlist(session, w.sched_a, w.village_a, "乙", ["echo"], now)
    a = entry(session, w.sched_a, first.id, now, (TargetKind.site, w.site_a.id))
    b = entry(session, w.sched_a, second.id, now, (TargetKind.site, w.site_a.id), dayparts=((8 * 60, 12 * 60),))
    view = schedules.week_view(session, w.sched_a, w.screen_a, local(20), ZONE)
    assert view.at(local(21, 9)).entries == (a, b) and view.at(local(21, 9)).priority == 10
    assert view.at(local(21, 13)).entries == (a,)


def test_a_device_group_entry_reaches_its_members_only(session, w, now):
    p = playlist(session, w.sched_town, w.town, "查询机节目", ["echo"], now)
    group = schedules.create_group(session, w.sched_town, w.town.id, "两村大厅屏", [w.screen_a.id, w.screen_b.id], now)
    made = entry(session, w.sched_town, p.id, now, (TargetKind.group, group.id), dayparts=EVENING)
    for screen, reached in [(w.screen_a, True), (w.screen_b, True), (w.screen_a_internal, False)]:
        view = schedules.week_view(session, w.sched_town, screen, local(20), ZONE)
        assert view.at(local(21, 19)).entries == ((made,) if reached else ()), screen.name
    # Leaving the group ends it for that screen.
    schedules.update_group(session, w.sched_town, group.id, "两村大厅屏", [w.screen_a.id], now)
    assert schedules.week_view(session, w.sched_town, w.screen_b, local(20), ZONE).at(local(21, 19)).entries == ()


def test_an_internal_audience_reaches_only_internal_screens(session, w, now):
    secret = publish(session, w, w.village_a, "预备党员公示", now, internal=True)
    party = playlist(session, w.sched_a, w.village_a, "党员活动室", [secret], now)
    made = entry(session, w.sched_a, party.id, now, (TargetKind.site, w.site_a.id), audience=Audience.internal)
    inside = schedules.week_view(session, w.sched_a, w.screen_a_internal, local(20), ZONE)
    hall = schedules.week_view(session, w.sched_a, w.screen_a, local(20), ZONE)
    assert [s.entries for s in inside.stretches] == [(made,)]
    assert [s.entries for s in hall.stretches] == [()]
    site_weeks = schedules.weeks_for(session, w.sched_a, TargetKind.site, w.site_a.id, local(20), ZONE)
    assert {v.device.name: [s.entries for s in v.stretches] for v in site_weeks} == {"甲村大厅屏": [()], "甲村党员活动室屏": [(made,)]}
    with pytest.raises(NotFound):
        schedules.weeks_for(session, w.sched_b, TargetKind.site, w.site_a.id, local(20), ZONE)


def test_a_one_day_entry_and_a_cancelled_one_in_the_week(session, w, now):
    fair = playlist(session, w.sched_a, w.village_a, "集市日", ["echo"], now)
    one_day = entry(session, w.sched_a, fair.id, now, (TargetKind.site, w.site_a.id), starts_on=dt.date(2026, 11, 24),
                    ends_on=dt.date(2026, 11, 24), dayparts=((14 * 60, 16 * 60),), priority=50)
    view = schedules.week_view(session, w.sched_a, w.screen_a, local(20), ZONE)
    assert [(s.start, s.end) for s in view.stretches if s.entries] == [(local(24, 14), local(24, 16))]
    schedules.cancel_entry(session, w.sched_a, one_day.id, now)
    assert [s.entries for s in schedules.week_view(session, w.sched_a, w.screen_a, local(20), ZONE).stretches] == [()]


# --------------------------------------------------------------------------- the default loop


def test_editors_and_reviewers_set_the_default_loop_flag_schedulers_do_not(session, w, now):
    d = publish(session, w, w.village_a, "甲村财务", now)
    assert d.in_default_loop
    schedules.set_default_loop(session, w.editor_a, d.id, False, now)
    assert not d.in_default_loop
    schedules.set_default_loop(session, w.reviewer, d.id, True, now)
    assert d.in_default_loop
    with pytest.raises(Forbidden):
        schedules.set_default_loop(session, w.sched_a, d.id, False, now)
    with pytest.raises(NotFound):
        schedules.set_default_loop(session, w.sched_b, d.id, False, now)
    logged = session.scalars(select(AuditEvent.detail).where(AuditEvent.action == "disclosure.default_loop").order_by(AuditEvent.id)).all()
    assert [e["in_default_loop"] for e in logged] == [False, True]
