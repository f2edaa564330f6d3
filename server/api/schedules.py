"""API: playlists, schedule entries, device groups, a screen's week and the default-loop flag.

The same services as the admin pages (server.domain.schedules): authorised by area
subtree (an id outside the caller's subtrees is a 404), audited, committed once by
`endpoint`. Times of day are "HH:MM" in the township's zone; weekdays are ISO numbers.
"""

from __future__ import annotations

import datetime as dt

from flask import current_app

from server.api import current_actor, endpoint
from server.api.schedule_schemas import (
    DaypartOut,
    DefaultLoopIn,
    DefaultLoopOut,
    EntryIn,
    EntryList,
    EntryOut,
    EntryQuery,
    GroupEditIn,
    GroupIn,
    GroupList,
    GroupMemberOut,
    GroupOut,
    PlaylistEditIn,
    PlaylistIn,
    PlaylistItemIn,
    PlaylistItemOut,
    PlaylistList,
    PlaylistOut,
    StretchOut,
    WeekEntryOut,
    WeekOut,
    WeekQuery,
)
from server.clock import now
from server.domain import schedules
from server.extensions import db_session
from server.models import Audience, BoardKind, DeviceGroup, Playlist, ScheduleEntry, TargetKind
from signage_layouts import dates

TAG = "scheduling"
SCOPED = {404: "no such object in the caller's subtrees", 403: "visible, but the caller is not a scheduler there"}


def _zone() -> str:
    return str(current_app.config["TIMEZONE"])


def _playlist(playlist: Playlist) -> PlaylistOut:
    steps, total = schedules.loop_plan(playlist, now())
    return PlaylistOut(
        id=playlist.id, area_id=playlist.area_id, area=playlist.area.name, name=playlist.name,
        internal=schedules.holds_internal(playlist.items),
        items=[
            PlaylistItemOut(
                position=s.position, kind=s.item.kind.value, disclosure_id=s.item.disclosure_id,
                title=s.item.disclosure.title if s.item.disclosure else "回音壁",
                duration=s.item.duration, seconds=s.seconds, plays=s.plays,
            )
            for s in steps
        ],
        loop_seconds=total, updated_at=playlist.updated_at, retired_at=playlist.retired_at,
    )


def _items(items: list[PlaylistItemIn]) -> list[schedules.ItemInput]:
    return [schedules.ItemInput(BoardKind(i.kind), i.disclosure_id, i.duration) for i in items]


def _entry(entry: ScheduleEntry) -> EntryOut:
    return EntryOut(
        id=entry.id, playlist_id=entry.playlist_id, playlist=entry.playlist.name,
        target_kind=entry.target_kind.value, target_id=entry.target_id,
        target=schedules.target_label(db_session(), entry.target_kind, entry.target_id),
        audience=entry.audience.value, starts_on=entry.starts_on, ends_on=entry.ends_on,
        weekdays=[d + 1 for d in range(7) if entry.weekdays & (1 << d)],
        dayparts=[DaypartOut(start=dates.clock(a), end=dates.clock(b)) for a, b in entry.dayparts],
        priority=entry.priority, note=entry.note, read_aloud=entry.read_aloud, created_at=entry.created_at, cancelled_at=entry.cancelled_at,
    )


def _group(group: DeviceGroup) -> GroupOut:
    return GroupOut(
        id=group.id, area_id=group.area_id, area=group.area.name, name=group.name, retired_at=group.retired_at,
        devices=[GroupMemberOut(id=d.id, name=d.name, site=d.site.name, internal=d.internal) for d in group.devices],
    )


# --------------------------------------------------------------------------- playlists


@endpoint("get", "/playlists", summary="Playlists in the caller's subtrees (not retired)", tag=TAG, response=PlaylistList)
def api_list_playlists():
    return PlaylistList(items=[_playlist(p) for p in schedules.list_playlists(db_session(), current_actor())])


@endpoint("post", "/playlists", summary="Create a playlist in an area the caller schedules", tag=TAG, body=PlaylistIn, response=PlaylistOut, status=201, responses={**SCOPED, 422: "a field is invalid: details.field names it (items.N.disclosure_id, items.N.duration …)"})
def api_create_playlist(payload: PlaylistIn):
    made = schedules.create_playlist(db_session(), current_actor(), payload.area_id, payload.name, _items(payload.items), now())
    return _playlist(made)


@endpoint("get", "/playlists/{playlist_id}", summary="One playlist with its loop", tag=TAG, response=PlaylistOut, responses={404: SCOPED[404]})
def api_get_playlist(playlist_id: int):
    return _playlist(schedules.get_playlist(db_session(), current_actor(), playlist_id))


@endpoint("put", "/playlists/{playlist_id}", summary="Rename a playlist and replace its items", tag=TAG, body=PlaylistEditIn, response=PlaylistOut, responses={**SCOPED, 409: "retired", 422: "a field is invalid, or an internal item in a playlist scheduled for all screens"})
def api_update_playlist(playlist_id: int, payload: PlaylistEditIn):
    saved = schedules.update_playlist(db_session(), current_actor(), playlist_id, payload.name, _items(payload.items), now())
    return _playlist(saved)


@endpoint("post", "/playlists/{playlist_id}/retire", summary="Retire a playlist no live entry uses", tag=TAG, response=PlaylistOut, responses={**SCOPED, 409: "already retired, or live entries still use it"})
def api_retire_playlist(playlist_id: int):
    return _playlist(schedules.retire_playlist(db_session(), current_actor(), playlist_id, now()))


# --------------------------------------------------------------------------- entries


@endpoint("get", "/schedule-entries", summary="Current and upcoming schedule entries (cancelled ones hidden)", tag=TAG, query=EntryQuery, response=EntryList)
def api_list_entries(query: EntryQuery):
    rows = schedules.list_entries(db_session(), current_actor(), now(), include_past=query.include_past)
    return EntryList(items=[_entry(e) for e in rows])


@endpoint("post", "/schedule-entries", summary="Schedule a playlist onto a target", tag=TAG, body=EntryIn, response=EntryOut, status=201, responses={**SCOPED, 422: "a field is invalid: a duplicate, a daypart crossing midnight, a target out of reach, an internal playlist for all screens …"})
def api_create_entry(payload: EntryIn):
    dayparts = tuple(
        (
            schedules.parse_clock(part.start, f"dayparts.{n}.start"),
            schedules.parse_clock(part.end, f"dayparts.{n}.end", end=True),
        )
        for n, part in enumerate(payload.dayparts)
    )
    data = schedules.EntryInput(
        playlist_id=payload.playlist_id, target_kind=TargetKind(payload.target_kind), target_id=payload.target_id,
        starts_on=payload.starts_on, ends_on=payload.ends_on, weekdays=frozenset(d - 1 for d in payload.weekdays),
        dayparts=dayparts, priority=payload.priority, audience=Audience(payload.audience), note=payload.note,
        read_aloud=payload.read_aloud,
    )
    return _entry(schedules.create_entry(db_session(), current_actor(), data, now(), _zone()))


@endpoint("post", "/schedule-entries/{entry_id}/cancel", summary="Cancel a schedule entry (screens drop it at once)", tag=TAG, response=EntryOut, responses={**SCOPED, 409: "already cancelled"})
def api_cancel_entry(entry_id: int):
    return _entry(schedules.cancel_entry(db_session(), current_actor(), entry_id, now()))


# --------------------------------------------------------------------------- groups


@endpoint("get", "/device-groups", summary="Device groups in the caller's subtrees (not retired)", tag=TAG, response=GroupList)
def api_list_groups():
    return GroupList(items=[_group(g) for g in schedules.list_groups(db_session(), current_actor())])


@endpoint("post", "/device-groups", summary="Create a device group of screens in one area's subtree", tag=TAG, body=GroupIn, response=GroupOut, status=201, responses={**SCOPED, 422: "a screen outside the area, or the name is taken"})
def api_create_group(payload: GroupIn):
    made = schedules.create_group(db_session(), current_actor(), payload.area_id, payload.name, payload.device_ids, now())
    return _group(made)


@endpoint("put", "/device-groups/{group_id}", summary="Rename a device group and replace its screens", tag=TAG, body=GroupEditIn, response=GroupOut, responses={**SCOPED, 409: "retired", 422: "a screen outside the area, or the name is taken"})
def api_update_group(group_id: int, payload: GroupEditIn):
    saved = schedules.update_group(db_session(), current_actor(), group_id, payload.name, payload.device_ids, now())
    return _group(saved)


@endpoint("post", "/device-groups/{group_id}/retire", summary="Retire a device group no live entry uses", tag=TAG, response=GroupOut, responses={**SCOPED, 409: "already retired, or live entries still use it"})
def api_retire_group(group_id: int):
    return _group(schedules.retire_group(db_session(), current_actor(), group_id, now()))


# --------------------------------------------------------------------------- week, default loop


@endpoint("get", "/devices/{device_id}/week", summary="What one screen plays for 7 days, and which entries decide it", tag=TAG, query=WeekQuery, response=WeekOut, responses={404: SCOPED[404]})
def api_device_week(device_id: int, query: WeekQuery):
    zone = _zone()
    first = query.start or dates.local_day(now(), zone)
    view = schedules.weeks_for(db_session(), current_actor(), TargetKind.device, device_id, dates.day_start(first, zone), zone)[0]
    return WeekOut.model_validate({
        "device_id": view.device.id, "device": view.device.name, "site": view.device.site.name,
        "internal": view.device.internal, "timezone": zone, "from": _utc(view.start), "until": _utc(view.end),
        "stretches": [
            StretchOut.model_validate({
                "from": _utc(s.start), "until": _utc(s.end), "default_loop": not s.entries, "priority": s.priority,
                "entries": [
                    WeekEntryOut(id=e.id, playlist_id=e.playlist_id, playlist=e.playlist.name, priority=e.priority)
                    for e in s.entries
                ],
            })
            for s in view.stretches
        ],
    })


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC)


@endpoint("put", "/disclosures/{disclosure_id}/default-loop", summary="Whether an item plays in its area's default loop", tag=TAG, body=DefaultLoopIn, response=DefaultLoopOut, responses={403: "not an editor or reviewer of the item's area", 404: SCOPED[404]})
def api_set_default_loop(disclosure_id: int, payload: DefaultLoopIn):
    d = schedules.set_default_loop(db_session(), current_actor(), disclosure_id, payload.in_default_loop, now())
    return DefaultLoopOut(disclosure_id=d.id, title=d.title, in_default_loop=d.in_default_loop)
