"""Device groups, playlists and schedule entries: what schedulers decide.

Every change bumps the loop revision of the area it belongs to (`changes.loop_changed`),
so the rooms that hear it and the manifests that read it follow from `reach`. Which
entry plays when is `timeline.plan_timeline`; `rules_for` turns a screen's entries into
its rules, for the manifest and for the "what plays where" week view alike.

The rule, in one sentence: at any moment a screen plays the entries in effect for it with
the highest priority (equal priorities play one after the other); when none is in effect
it plays its area's default loop.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from server.domain import audit, changes, disclosures, reach, timeline
from server.domain.access import READ_ROLES, area_clause, can_act, require
from server.domain.areas import offered_areas
from server.domain.errors import Conflict, Forbidden, NotFound, ValidationFailed
from server.models import (
    Area,
    Audience,
    BoardKind,
    Device,
    DeviceGroup,
    Disclosure,
    DisclosureStatus,
    Playlist,
    PlaylistItem,
    Role,
    ScheduleEntry,
    Scope,
    Site,
    TargetKind,
    User,
)
from server.models.schedules import device_group_members

MAX_ITEMS = 100
MIN_SECONDS, MAX_SECONDS = 5, 600
MIN_PRIORITY, MAX_PRIORITY = 1, 100
DEFAULT_PRIORITY = 10
MAX_ENTRY_DAYS = 366 * 3
MAX_DAYPARTS = 3
WEEKDAY_NAMES = ("一", "二", "三", "四", "五", "六", "日")
TARGET_LABELS = {
    TargetKind.area: "区域",
    TargetKind.site: "场所",
    TargetKind.group: "屏幕分组",
    TargetKind.device: "屏幕",
}


def _name(value: str, field_name: str, what: str) -> str:
    name = " ".join((value or "").split())
    if not name:
        raise ValidationFailed(f"请填写{what}名称。", field=field_name)
    if len(name) > 60:
        raise ValidationFailed(f"{what}名称最多 60 个字。", field=field_name)
    return name


def _schedulable_area(session: Session, user: User, area_id: int) -> Area:
    area = session.get(Area, area_id)
    if area is None or not can_act(user, area, READ_ROLES):
        raise NotFound("未找到该区域。", field="area_id")
    if not can_act(user, area, Role.scheduler):
        raise Forbidden(f"你在“{area.name}”没有排期管理员权限。", field="area_id")
    if area.retired_at is not None:
        raise ValidationFailed("该区域已停用。", field="area_id")
    return area


# --------------------------------------------------------------------------- groups


def groups_query(user: User) -> Select[Any]:
    return select(DeviceGroup).join(DeviceGroup.area).where(area_clause(user))


def list_groups(session: Session, user: User) -> list[DeviceGroup]:
    return list(session.scalars(groups_query(user).where(DeviceGroup.retired_at.is_(None)).order_by(Area.path, DeviceGroup.name)))


def get_group(session: Session, user: User, group_id: int) -> DeviceGroup:
    group = session.scalar(groups_query(user).where(DeviceGroup.id == group_id))
    if group is None:
        raise NotFound("未找到该屏幕分组。")
    return group


def _members(session: Session, user: User, area: Area, device_ids: Iterable[int], keep: Iterable[Device] = ()) -> list[Device]:
    """The screens of a group: each in `area`'s subtree and in service (members kept from
    before may have been taken out of service since; they stay until removed)."""
    ids = list(dict.fromkeys(device_ids))
    if len(ids) > 5000:
        raise ValidationFailed("一个分组最多 5000 块屏幕。", field="device_ids")
    kept = {d.id for d in keep}
    found = {
        d.id: d
        for d in session.scalars(
            select(Device)
            .join(Site, Site.id == Device.site_id)
            .join(Area, Area.id == Site.area_id)
            .where(Device.id.in_(ids), Area.path.startswith(area.path, autoescape=True))
        )
        if d.decommissioned_at is None or d.id in kept
    }
    missing = [i for i in ids if i not in found]
    if missing:
        other = session.get(Device, missing[0])
        if other is not None and can_act(user, other.site.area, READ_ROLES):
            raise ValidationFailed(f"屏幕“{other.name}”（{other.site.name}）不在“{area.name}”范围内或已停用，不能加入这个分组。", field="device_ids")
        raise ValidationFailed(f"未找到编号为 {missing[0]} 的屏幕，或它不在“{area.name}”范围内。", field="device_ids")
    return [found[i] for i in ids]


def _group_state(group: DeviceGroup) -> dict[str, Any]:
    return {"name": group.name, "area_id": group.area_id, "devices": sorted(d.id for d in group.devices)}


def create_group(
    session: Session, user: User, area_id: int, name: str, device_ids: Iterable[int], now: dt.datetime
) -> DeviceGroup:
    area = _schedulable_area(session, user, area_id)
    name = _name(name, "name", "分组")
    _unique(session, DeviceGroup, area, name, None)
    group = DeviceGroup(area=area, name=name, devices=_members(session, user, area, device_ids), created_at=now)
    session.add(group)
    session.flush()
    changes.loop_changed(session, area, now)
    audit.record(session, user, "group.create", now, target=("device_group", group.id), area=area, after=_group_state(group), detail={"name": name})
    return group


def update_group(
    session: Session, user: User, group_id: int, name: str, device_ids: Iterable[int], now: dt.datetime
) -> DeviceGroup:
    group = get_group(session, user, group_id)
    require(user, group.area, Role.scheduler)
    if group.retired_at is not None:
        raise Conflict("该分组已停用。")
    name = _name(name, "name", "分组")
    _unique(session, DeviceGroup, group.area, name, group.id)
    members = _members(session, user, group.area, device_ids, keep=group.devices)
    before = _group_state(group)
    group.name = name
    group.devices = members
    session.flush()
    changes.loop_changed(session, group.area, now)
    audit.record(session, user, "group.edit", now, target=("device_group", group.id), area=group.area, before=before, after=_group_state(group), detail={"name": name})
    return group


def retire_group(session: Session, user: User, group_id: int, now: dt.datetime) -> DeviceGroup:
    group = get_group(session, user, group_id)
    require(user, group.area, Role.scheduler)
    if group.retired_at is not None:
        raise Conflict("该分组已停用。")
    if _live_entries(session, TargetKind.group, group.id, now):
        raise Conflict("还有排期使用这个分组，请先取消这些排期。")
    group.retired_at = now
    session.flush()
    changes.loop_changed(session, group.area, now)
    audit.record(session, user, "group.retire", now, target=("device_group", group.id), area=group.area, detail={"name": group.name})
    return group


def _unique(session: Session, model: type[DeviceGroup] | type[Playlist], area: Area, name: str, own_id: int | None) -> None:
    clash = session.scalar(
        select(model.id).where(model.area_id == area.id, model.name == name, model.id != (own_id or 0))
    )
    if clash is not None:
        raise ValidationFailed(f"“{area.name}”已有同名的{'分组' if model is DeviceGroup else '节目单'}。", field="name")


# --------------------------------------------------------------------------- playlists


@dataclass(frozen=True)
class ItemInput:
    kind: BoardKind
    disclosure_id: int | None = None
    duration: int | None = None


def playlists_query(user: User) -> Select[Any]:
    return select(Playlist).join(Playlist.area).where(area_clause(user))


def list_playlists(session: Session, user: User) -> list[Playlist]:
    return list(session.scalars(playlists_query(user).where(Playlist.retired_at.is_(None)).order_by(Area.path, Playlist.name)))


def get_playlist(session: Session, user: User, playlist_id: int) -> Playlist:
    playlist = session.scalar(playlists_query(user).where(Playlist.id == playlist_id))
    if playlist is None:
        raise NotFound("未找到该节目单。")
    return playlist


def may_show_in(disclosure_area: Area, playlist_area: Area) -> bool:
    """A playlist holds items of its own area, the areas above it and the areas below it."""
    return playlist_area.path.startswith(disclosure_area.path) or disclosure_area.path.startswith(playlist_area.path)


def _items(session: Session, user: User, area: Area, inputs: Sequence[ItemInput]) -> list[PlaylistItem]:
    if not inputs:
        raise ValidationFailed("节目单至少要有一块内容。", field="items")
    if len(inputs) > MAX_ITEMS:
        raise ValidationFailed(f"一个节目单最多 {MAX_ITEMS} 块内容。", field="items")
    items: list[PlaylistItem] = []
    for n, given in enumerate(inputs, start=1):
        where = f"items.{n - 1}"
        if given.duration is not None and not MIN_SECONDS <= given.duration <= MAX_SECONDS:
            raise ValidationFailed(f"第 {n} 块的播放时长须在 {MIN_SECONDS}–{MAX_SECONDS} 秒之间。", field=f"{where}.duration")
        disclosure = None
        if given.kind is BoardKind.disclosure:
            disclosure = session.get(Disclosure, given.disclosure_id) if given.disclosure_id else None
            # Approved items above the area are on its screens anyway; anything else the
            # user cannot read looks missing (its title is not named).
            visible = disclosure is not None and (
                disclosure.status is DisclosureStatus.approved or can_act(user, disclosure.area, READ_ROLES)
            )
            if disclosure is None or not visible or not may_show_in(disclosure.area, area):
                raise ValidationFailed(f"第 {n} 块：未找到该公开事项，或它不属于“{area.name}”及其上下级。", field=f"{where}.disclosure_id")
            if disclosure.status is not DisclosureStatus.approved:
                raise ValidationFailed(f"第 {n} 块“{disclosure.title}”尚未审核通过，不能排进节目单。", field=f"{where}.disclosure_id")
        elif given.disclosure_id is not None:
            raise ValidationFailed(f"第 {n} 块：回音壁不需要选择公开事项。", field=f"{where}.disclosure_id")
        items.append(PlaylistItem(position=n, kind=given.kind, disclosure=disclosure, duration=given.duration))
    return items


def holds_internal(items: Iterable[PlaylistItem]) -> bool:
    return any(i.disclosure is not None and i.disclosure.scope is Scope.internal for i in items)


def _playlist_state(playlist: Playlist) -> dict[str, Any]:
    return {
        "name": playlist.name,
        "area_id": playlist.area_id,
        "items": [[i.kind.value, i.disclosure_id, i.duration] for i in playlist.items],
    }


def create_playlist(
    session: Session, user: User, area_id: int, name: str, items: Sequence[ItemInput], now: dt.datetime
) -> Playlist:
    area = _schedulable_area(session, user, area_id)
    name = _name(name, "name", "节目单")
    _unique(session, Playlist, area, name, None)
    playlist = Playlist(area=area, name=name, items=_items(session, user, area, items), created_by=user, created_at=now, updated_at=now)
    session.add(playlist)
    session.flush()
    audit.record(session, user, "playlist.create", now, target=("playlist", playlist.id), area=area, after=_playlist_state(playlist), detail={"name": name})
    return playlist


def update_playlist(
    session: Session, user: User, playlist_id: int, name: str, items: Sequence[ItemInput], now: dt.datetime
) -> Playlist:
    playlist = get_playlist(session, user, playlist_id)
    require(user, playlist.area, Role.scheduler)
    if playlist.retired_at is not None:
        raise Conflict("该节目单已停用。")
    name = _name(name, "name", "节目单")
    _unique(session, Playlist, playlist.area, name, playlist.id)
    new_items = _items(session, user, playlist.area, items)
    if holds_internal(new_items):
        public = [e for e in _live_entries(session, None, None, now, playlist_id=playlist.id) if e.audience is Audience.all]
        if public:
            raise ValidationFailed(
                f"党内事项不能进入对所有屏幕播放的节目单：第 {public[0].id} 号排期面向全部屏幕，请先把它改为只在党内屏播放。",
                field="items",
            )
    before = _playlist_state(playlist)
    playlist.items.clear()
    session.flush()  # positions are unique: the old rows go before the new ones arrive
    playlist.items.extend(new_items)
    playlist.name, playlist.updated_at = name, now
    session.flush()
    changes.loop_changed(session, playlist.area, now, internal_only=False)
    audit.record(session, user, "playlist.edit", now, target=("playlist", playlist.id), area=playlist.area, before=before, after=_playlist_state(playlist), detail={"name": name})
    return playlist


def retire_playlist(session: Session, user: User, playlist_id: int, now: dt.datetime) -> Playlist:
    playlist = get_playlist(session, user, playlist_id)
    require(user, playlist.area, Role.scheduler)
    if playlist.retired_at is not None:
        raise Conflict("该节目单已停用。")
    if _live_entries(session, None, None, now, playlist_id=playlist.id):
        raise Conflict("还有排期在使用这个节目单，请先取消这些排期。")
    playlist.retired_at = now
    session.flush()
    audit.record(session, user, "playlist.retire", now, target=("playlist", playlist.id), area=playlist.area, detail={"name": playlist.name})
    return playlist


# --------------------------------------------------------------------------- entries


@dataclass(frozen=True)
class EntryInput:
    playlist_id: int
    target_kind: TargetKind
    target_id: int
    starts_on: dt.date
    ends_on: dt.date | None = None
    weekdays: frozenset[int] = frozenset(range(7))
    dayparts: tuple[tuple[int, int], ...] = ()
    priority: int = DEFAULT_PRIORITY
    audience: Audience = Audience.all
    note: str = ""
    read_aloud: bool = False


_RULE_MESSAGES = {
    ("weekdays", "empty"): "请至少选择一天（星期几）。",
    ("ends_on", "before_start"): "结束日期不能早于开始日期。",
    ("dayparts", "crosses_midnight"): "时段的结束必须晚于开始；跨午夜的时段请拆成两段（如 22:00–24:00 和 00:00–06:00）。",
    ("dayparts", "out_of_range"): "时段须在 00:00 到 24:00 之间。",
    ("dayparts", "overlap"): "同一排期的几个时段不能重叠。",
}


def entries_query(user: User) -> Select[Any]:
    return select(ScheduleEntry).join(ScheduleEntry.area).where(area_clause(user))


def list_entries(session: Session, user: User, now: dt.datetime, include_past: bool = False) -> list[ScheduleEntry]:
    query = entries_query(user).where(ScheduleEntry.cancelled_at.is_(None))
    if not include_past:
        query = query.where((ScheduleEntry.ends_on.is_(None)) | (ScheduleEntry.ends_on >= now.date() - dt.timedelta(days=1)))
    return list(session.scalars(query.order_by(ScheduleEntry.starts_on, ScheduleEntry.id)))


def get_entry(session: Session, user: User, entry_id: int) -> ScheduleEntry:
    entry = session.scalar(entries_query(user).where(ScheduleEntry.id == entry_id))
    if entry is None:
        raise NotFound("未找到该排期。")
    return entry


def rule_of(entry: ScheduleEntry) -> timeline.Rule:
    return timeline.Rule(
        entry_id=entry.id,
        priority=entry.priority,
        starts_on=entry.starts_on,
        ends_on=entry.ends_on,
        weekdays=frozenset(d for d in range(7) if entry.weekdays & (1 << d)),
        dayparts=tuple(timeline.Daypart(a, b) for a, b in entry.dayparts),
    )


def _live_entries(
    session: Session, kind: TargetKind | None, target_id: int | None, now: dt.datetime, playlist_id: int | None = None
) -> list[ScheduleEntry]:
    query = select(ScheduleEntry).where(
        ScheduleEntry.cancelled_at.is_(None),
        (ScheduleEntry.ends_on.is_(None)) | (ScheduleEntry.ends_on >= now.date() - dt.timedelta(days=1)),
    )
    if kind is not None:
        query = query.where(ScheduleEntry.target_kind == kind, ScheduleEntry.target_id == target_id)
    if playlist_id is not None:
        query = query.where(ScheduleEntry.playlist_id == playlist_id)
    return list(session.scalars(query))


def _overlaps(a: ScheduleEntry, b: ScheduleEntry) -> bool:
    """Whether two entries are ever in effect at the same moment."""
    a_end, b_end = a.ends_on or dt.date.max, b.ends_on or dt.date.max
    if a.starts_on > b_end or b.starts_on > a_end or not a.weekdays & b.weekdays:
        return False
    a_parts, b_parts = a.dayparts or [[0, 1440]], b.dayparts or [[0, 1440]]
    return any(x0 < y1 and y0 < x1 for x0, x1 in a_parts for y0, y1 in b_parts)


def check_target(session: Session, user: User, kind: TargetKind, target_id: int, within: Area | None = None) -> Area:
    """The home area of a target the user may schedule onto (inside `within` if given)."""
    home = reach.target_home(session, kind, target_id)
    label = TARGET_LABELS[kind]
    if home is None or not can_act(user, home, READ_ROLES):
        raise ValidationFailed(f"未找到该{label}，或它不在你可以排期的范围内。", field="target_id")
    if not can_act(user, home, Role.scheduler):
        raise ValidationFailed(f"该{label}不在你可以排期的范围内（你在“{home.name}”没有排期管理员权限）。", field="target_id")
    if within is not None and not home.path.startswith(within.path):
        raise ValidationFailed(f"该{label}不在节目单所属的“{within.name}”范围内。", field="target_id")
    if home.retired_at is not None or _target_retired(session, kind, target_id):
        raise ValidationFailed(f"该{label}已停用。" if home.retired_at is None else f"该{label}所在区域已停用。", field="target_id")
    return home


def _target_retired(session: Session, kind: TargetKind, target_id: int) -> bool:
    if kind is TargetKind.site:
        site = session.get(Site, target_id)
        return site is not None and site.retired_at is not None
    if kind is TargetKind.group:
        group = session.get(DeviceGroup, target_id)
        return group is not None and group.retired_at is not None
    if kind is TargetKind.device:
        device = session.get(Device, target_id)
        return device is not None and device.decommissioned_at is not None
    return False


def create_entry(session: Session, user: User, data: EntryInput, now: dt.datetime, zone: str) -> ScheduleEntry:
    try:
        playlist = get_playlist(session, user, data.playlist_id)
    except NotFound as exc:
        raise NotFound(exc.message, field="playlist_id") from None
    if playlist.retired_at is not None:
        raise ValidationFailed("该节目单已停用。", field="playlist_id")
    home = check_target(session, user, data.target_kind, data.target_id, within=playlist.area)
    if not MIN_PRIORITY <= data.priority <= MAX_PRIORITY:
        raise ValidationFailed(f"优先级须在 {MIN_PRIORITY}–{MAX_PRIORITY} 之间。", field="priority")
    today = now.astimezone(ZoneInfo(zone)).date()
    # An open-ended entry may have started already; one whose last day has passed is a mistake.
    if data.ends_on is not None and data.ends_on < data.starts_on:
        raise ValidationFailed("结束日期不能早于开始日期。", field="ends_on")
    if data.ends_on is not None and data.ends_on < today:
        raise ValidationFailed("结束日期已经过去。", field="ends_on")
    if data.ends_on is not None and (data.ends_on - data.starts_on).days > MAX_ENTRY_DAYS:
        raise ValidationFailed("一条排期最长 3 年。", field="ends_on")
    if len(data.dayparts) > MAX_DAYPARTS:
        raise ValidationFailed(f"一条排期最多 {MAX_DAYPARTS} 个时段。", field="dayparts")
    if len(data.note) > 200:
        raise ValidationFailed("备注最多 200 个字。", field="note")
    if data.audience is Audience.all and holds_internal(playlist.items):
        raise ValidationFailed("这个节目单含党内事项，只能排到党内屏（请选择“只在党内屏播放”）。", field="audience")
    weekdays = sum(1 << d for d in data.weekdays if 0 <= d <= 6)
    entry = ScheduleEntry(
        playlist=playlist, area=home, target_kind=data.target_kind, target_id=data.target_id,
        audience=data.audience, starts_on=data.starts_on, ends_on=data.ends_on, weekdays=weekdays,
        dayparts=[list(p) for p in sorted(data.dayparts)], priority=data.priority, note=data.note.strip(),
        read_aloud=data.read_aloud, created_by_id=user.id, created_at=now,
    )
    try:
        timeline.validate_rule(rule_of(entry))
    except timeline.TimelineError as exc:
        raise ValidationFailed(_RULE_MESSAGES.get((exc.field, exc.code), "排期时间不正确。"), field=exc.field) from exc
    for other in _live_entries(session, data.target_kind, data.target_id, now, playlist_id=playlist.id):
        if other.audience is data.audience and _overlaps(entry, other):
            raise ValidationFailed(f"与第 {other.id} 号排期重复：同一节目单已在这些时间排到同一目标。", field="starts_on")
    session.add(entry)
    session.flush()
    changes.loop_changed(session, home, now, internal_only=data.audience is Audience.internal)
    audit.record(session, user, "schedule.create", now, target=("schedule_entry", entry.id), area=home, after=entry_state(entry), detail={"playlist": playlist.name})
    return entry


def cancel_entry(session: Session, user: User, entry_id: int, now: dt.datetime) -> ScheduleEntry:
    entry = get_entry(session, user, entry_id)
    require(user, entry.area, Role.scheduler)
    if entry.cancelled_at is not None:
        raise Conflict("该排期已取消。")
    entry.cancelled_at = now
    session.flush()
    changes.loop_changed(session, entry.area, now, internal_only=entry.audience is Audience.internal)
    audit.record(session, user, "schedule.cancel", now, target=("schedule_entry", entry.id), area=entry.area, detail={"playlist": entry.playlist.name})
    return entry


def entry_state(entry: ScheduleEntry) -> dict[str, Any]:
    return {
        "playlist_id": entry.playlist_id, "target": [entry.target_kind.value, entry.target_id],
        "audience": entry.audience.value, "starts_on": entry.starts_on.isoformat(),
        "ends_on": entry.ends_on.isoformat() if entry.ends_on else None, "weekdays": entry.weekdays,
        "dayparts": entry.dayparts, "priority": entry.priority, "read_aloud": entry.read_aloud,
    }


# --------------------------------------------------------------------------- per screen


def group_ids_of(session: Session, device: Device) -> list[int]:
    return list(
        session.scalars(
            select(device_group_members.c.group_id)
            .join(DeviceGroup, DeviceGroup.id == device_group_members.c.group_id)
            .where(device_group_members.c.device_id == device.id, DeviceGroup.retired_at.is_(None))
        )
    )


def applies_to(entry: ScheduleEntry, device: Device, reached: set[tuple[TargetKind, int]]) -> bool:
    return reach.reaches((entry.target_kind, entry.target_id), entry.audience, reached, device)


def entries_homed(session: Session, area: Area) -> list[ScheduleEntry]:
    """Entries that may reach a screen in `area`: live ones homed in it or above it."""
    return list(
        session.scalars(
            select(ScheduleEntry)
            .join(Playlist, Playlist.id == ScheduleEntry.playlist_id)
            .where(
                ScheduleEntry.area_id.in_(reach.disclosure_area_ids(area)),
                ScheduleEntry.cancelled_at.is_(None),
                Playlist.retired_at.is_(None),
            )
            .order_by(ScheduleEntry.id)
        )
    )


@dataclass(frozen=True)
class Explained:
    """One stretch of a screen's week: what plays and why."""

    start: dt.datetime
    end: dt.datetime
    entries: tuple[ScheduleEntry, ...]  # () = the default loop

    @property
    def priority(self) -> int | None:
        return self.entries[0].priority if self.entries else None


@dataclass
class WeekView:
    device: Device
    start: dt.datetime
    end: dt.datetime
    stretches: list[Explained] = field(default_factory=list)

    def at(self, instant: dt.datetime) -> Explained | None:
        return next((s for s in self.stretches if s.start <= instant < s.end), None)


def week_view(session: Session, user: User, device: Device, start: dt.datetime, zone: str, days: int = 7) -> WeekView:
    """What plays on `device` from `start` for `days` days, and which entry decides it."""
    if not can_act(user, device.site.area, list(Role)):
        raise NotFound("未找到该屏幕。")
    if not 2000 <= start.year <= 2199:
        raise ValidationFailed("只能查看 2000–2199 年之间的播放安排。", field="start")
    reached = reach.targets(device, group_ids_of(session, device))
    entries = {e.id: e for e in entries_homed(session, device.site.area) if applies_to(e, device, reached)}
    plan = timeline.plan_timeline([rule_of(e) for e in entries.values()], start, zone, dt.timedelta(days=days))
    view = WeekView(device, start, start + dt.timedelta(days=days))
    view.stretches = [Explained(s.start, s.end, tuple(entries[i] for i in s.entry_ids)) for s in plan.segments]
    return view


def weeks_for(
    session: Session, user: User, kind: TargetKind, target_id: int, start: dt.datetime, zone: str, days: int = 7
) -> list[WeekView]:
    """The week view of one screen, or of every screen in service of one site."""
    if kind is TargetKind.device:
        device = session.get(Device, target_id)
        if device is None or not can_act(user, device.site.area, READ_ROLES):
            raise NotFound("未找到该屏幕。", field="target")
        return [week_view(session, user, device, start, zone, days)]
    if kind is not TargetKind.site:
        raise ValidationFailed("请选择一个场所或一块屏幕。", field="target")
    site = session.scalar(select(Site).join(Site.area).where(Site.id == target_id, area_clause(user)))
    if site is None:
        raise NotFound("未找到该场所。", field="target")
    screens = session.scalars(
        select(Device).where(Device.site_id == site.id, Device.decommissioned_at.is_(None)).order_by(Device.name, Device.id)
    )
    return [week_view(session, user, d, start, zone, days) for d in screens]


# --------------------------------------------------------------------------- choices and previews


def schedulable_areas(session: Session, user: User) -> list[tuple[Area, int]]:
    """Areas the user may own playlists and groups in (active, tree order with depth)."""
    return offered_areas(session, user, Role.scheduler)


def item_candidates(session: Session, user: User, now: dt.datetime, area: Area | None = None, limit: int = 500) -> list[Disclosure]:
    """Approved items still posted that a playlist of `area` (or of any area the user
    schedules) may hold: the user's own subtree, and what the areas above publish."""
    homes = [area] if area is not None else [a for a, _ in schedulable_areas(session, user)]
    if not homes:
        return []
    above = sorted({i for home in homes for i in home.ancestor_ids()})
    query = (
        select(Disclosure)
        .join(Disclosure.area)
        .where(
            Disclosure.status == DisclosureStatus.approved,
            (Disclosure.valid_to.is_(None)) | (Disclosure.valid_to > now),
            or_(area_clause(user), Disclosure.area_id.in_(above)),
        )
        .order_by(Area.path, Disclosure.valid_from.desc(), Disclosure.id.desc())
        .limit(limit)
    )
    return [d for d in session.scalars(query) if any(may_show_in(d.area, home) for home in homes)]


@dataclass(frozen=True)
class Targets:
    """What a user may put an entry on (or gather in a group), each in service."""

    areas: list[tuple[Area, int]]
    sites: list[Site]
    groups: list[DeviceGroup]
    devices: list[Device]


def schedulable_devices(session: Session, user: User, roles: Iterable[Role] = (Role.scheduler,)) -> list[Device]:
    return list(
        session.scalars(
            select(Device)
            .join(Site, Site.id == Device.site_id)
            .join(Area, Area.id == Site.area_id)
            .where(area_clause(user, roles), Device.decommissioned_at.is_(None), Site.retired_at.is_(None))
            .order_by(Area.path, Site.name, Site.id, Device.name, Device.id)
        )
    )


def schedulable_sites(session: Session, user: User, roles: Iterable[Role] = (Role.scheduler,)) -> list[Site]:
    return list(
        session.scalars(
            select(Site)
            .join(Site.area)
            .where(area_clause(user, roles), Site.retired_at.is_(None), Area.retired_at.is_(None))
            .order_by(Area.path, Site.name, Site.id)
        )
    )


def schedulable_targets(session: Session, user: User) -> Targets:
    groups = session.scalars(
        select(DeviceGroup)
        .join(DeviceGroup.area)
        .where(area_clause(user, [Role.scheduler]), DeviceGroup.retired_at.is_(None), Area.retired_at.is_(None))
        .order_by(Area.path, DeviceGroup.name)
    )
    return Targets(
        areas=schedulable_areas(session, user),
        sites=schedulable_sites(session, user),
        groups=list(groups),
        devices=schedulable_devices(session, user),
    )


def target_label(session: Session, kind: TargetKind, target_id: int) -> str:
    """A target as people name it: 区域“甲村”, 场所“甲村党群服务中心”…"""
    name = ""
    if kind is TargetKind.area:
        area = session.get(Area, target_id)
        name = area.name if area else ""
    elif kind is TargetKind.site:
        site = session.get(Site, target_id)
        name = site.name if site else ""
    elif kind is TargetKind.group:
        group = session.get(DeviceGroup, target_id)
        name = group.name if group else ""
    else:
        device = session.get(Device, target_id)
        name = f"{device.site.name} · {device.name}" if device else ""
    return f"{TARGET_LABELS[kind]}“{name or target_id}”"


@dataclass(frozen=True)
class LoopStep:
    """One board of a playlist's loop as screens play it now."""

    position: int
    item: PlaylistItem
    seconds: int
    plays: bool  # False: withdrawn or its posting period is over, so screens skip it


def loop_plan(playlist: Playlist, now: dt.datetime) -> tuple[list[LoopStep], int]:
    """The playlist's boards in order with their seconds, and the length of one loop."""
    from server.domain.manifests import BOARD_SECONDS  # manifests imports this module

    steps = []
    for item in playlist.items:
        d = item.disclosure
        kind = "echo_wall" if item.kind is BoardKind.echo_wall else (d.kind.value if d else "notice")
        plays = d is None or (d.status is DisclosureStatus.approved and (d.valid_to is None or d.valid_to > now))
        if item.kind is BoardKind.disclosure and d is None:
            plays = False
        seconds = item.duration if item.duration is not None else BOARD_SECONDS[kind]
        steps.append(LoopStep(item.position, item, seconds, plays))
    return steps, sum(s.seconds for s in steps if s.plays)


def echo_wall_html(session: Session, area: Area, now: dt.datetime, settings: Any) -> str:
    """The echo wall board a public screen of `area` shows now (the one screens cache);
    `settings` are the server's `manifests.Settings`."""
    from server.domain.manifests import area_loop  # manifests imports this module

    return area_loop(session, area, False, now, settings).boards[f"e{area.id}"].html


def parse_clock(text: str, field_name: str, *, end: bool = False) -> int:
    """Minutes after local midnight of "HH:MM" (a full-width colon too); 24:00 only as an end."""
    value = (text or "").strip().replace("：", ":")
    parts = value.split(":")
    if len(parts) != 2 or not all(p.isdigit() and 1 <= len(p) <= 2 for p in parts) or len(parts[1]) != 2:
        raise ValidationFailed(f"时间“{value[:8]}”的格式应为 时:分，例如 08:00 或 18:30。", field=field_name)
    hours, minutes = int(parts[0]), int(parts[1])
    total = hours * 60 + minutes
    if minutes > 59 or total > 24 * 60 or (total == 24 * 60 and not end):
        raise ValidationFailed(
            f"时间“{value}”不存在：开始须在 00:00–23:59 之间，结束可到 24:00。", field=field_name
        )
    return total


def set_default_loop(session: Session, user: User, disclosure_id: int, joins: bool, now: dt.datetime) -> Disclosure:
    """Whether an item plays in its area's default loop (editors and reviewers decide)."""
    disclosure = disclosures.get(session, user, disclosure_id)
    if not (can_act(user, disclosure.area, Role.editor) or can_act(user, disclosure.area, Role.reviewer)):
        require(user, disclosure.area, Role.editor)
    if disclosure.in_default_loop == joins:
        return disclosure
    disclosure.in_default_loop = joins
    session.flush()
    if disclosure.status is DisclosureStatus.approved:
        changes.disclosure_changed(session, disclosure, now)
    audit.record(session, user, "disclosure.default_loop", now, target=("disclosure", disclosure.id), area=disclosure.area, detail={"title": disclosure.title, "in_default_loop": joins})
    return disclosure
