"""Schemas of the scheduling API (server/api/schedules.py): playlists, entries, groups, weeks."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from server.api.schemas import DatabaseId, Strict

BoardKindName = Literal["disclosure", "echo_wall"]
TargetKindName = Literal["area", "site", "group", "device"]
AudienceName = Literal["all", "internal"]
IsoWeekday = Annotated[int, Field(ge=1, le=7)]


# --------------------------------------------------------------------------- playlists


class PlaylistItemIn(Strict):
    kind: BoardKindName = Field(default="disclosure", description="an approved disclosure, or the screen's own echo wall (回音壁)")
    disclosure_id: DatabaseId | None = Field(default=None, description="required for kind=disclosure")
    duration: int | None = Field(default=None, description="seconds on screen (5–600); the board kind's default when absent")


class PlaylistIn(Strict):
    area_id: DatabaseId = Field(description="the owning area: one the caller schedules")
    name: str = Field(max_length=60)
    items: list[PlaylistItemIn] = Field(max_length=100, description="boards in playing order")


class PlaylistEditIn(Strict):
    name: str = Field(max_length=60)
    items: list[PlaylistItemIn] = Field(max_length=100, description="the whole new order; replaces the old one")


class PlaylistItemOut(BaseModel):
    position: int
    kind: str
    disclosure_id: int | None
    title: str = Field(description="the disclosure's title, or 回音壁")
    duration: int | None = Field(description="seconds as set; null = the board kind's default")
    seconds: int = Field(description="seconds the board stays on screen")
    plays: bool = Field(description="false when the item was withdrawn or its posting period is over: screens skip it")


class PlaylistOut(BaseModel):
    id: int
    area_id: int
    area: str
    name: str
    internal: bool = Field(description="holds party-internal items: may only be scheduled for internal screens")
    items: list[PlaylistItemOut]
    loop_seconds: int = Field(description="one pass through the boards that play")
    updated_at: dt.datetime
    retired_at: dt.datetime | None


class PlaylistList(BaseModel):
    items: list[PlaylistOut]


# --------------------------------------------------------------------------- entries


class DaypartIn(Strict):
    start: str = Field(max_length=5, description="HH:MM, local time, 00:00–23:59")
    end: str = Field(max_length=5, description="HH:MM, local time, later than start; 24:00 allowed")


class DaypartOut(BaseModel):
    start: str
    end: str


class EntryIn(Strict):
    playlist_id: DatabaseId
    target_kind: TargetKindName = Field(description="an area's subtree, a site (hall), a device group or one screen")
    target_id: DatabaseId
    audience: AudienceName = Field(default="all", description="internal: only the target's party-internal screens")
    starts_on: dt.date = Field(description="first local day")
    ends_on: dt.date | None = Field(default=None, description="last local day (inclusive); open-ended when absent")
    weekdays: list[IsoWeekday] = Field(
        default=[1, 2, 3, 4, 5, 6, 7], max_length=7, description="ISO weekday numbers: 1 = Monday … 7 = Sunday"
    )
    dayparts: list[DaypartIn] = Field(default=[], max_length=3, description="up to 3 windows; none = the whole day")
    priority: int = Field(default=10, description="1–100: the highest in effect plays; equal ones take turns")
    note: str = Field(default="", max_length=200)
    read_aloud: bool = Field(default=False, description="signage plays each board's read-aloud audio while this entry is in effect")


class EntryOut(BaseModel):
    id: int
    playlist_id: int
    playlist: str
    target_kind: str
    target_id: int
    target: str = Field(description="the target as people name it")
    audience: str
    starts_on: dt.date
    ends_on: dt.date | None
    weekdays: list[int] = Field(description="ISO weekday numbers: 1 = Monday … 7 = Sunday")
    dayparts: list[DaypartOut]
    priority: int
    note: str
    read_aloud: bool
    created_at: dt.datetime
    cancelled_at: dt.datetime | None


class EntryList(BaseModel):
    items: list[EntryOut]


class EntryQuery(Strict):
    include_past: bool = Field(default=False, description="also entries whose last day has passed")


# --------------------------------------------------------------------------- groups


class GroupIn(Strict):
    area_id: DatabaseId
    name: str = Field(max_length=60)
    device_ids: list[DatabaseId] = Field(max_length=5000, description="screens in the area's subtree")


class GroupEditIn(Strict):
    name: str = Field(max_length=60)
    device_ids: list[DatabaseId] = Field(max_length=5000, description="the whole new membership")


class GroupMemberOut(BaseModel):
    id: int
    name: str
    site: str
    internal: bool


class GroupOut(BaseModel):
    id: int
    area_id: int
    area: str
    name: str
    devices: list[GroupMemberOut]
    retired_at: dt.datetime | None


class GroupList(BaseModel):
    items: list[GroupOut]


# --------------------------------------------------------------------------- week, default loop


class WeekQuery(Strict):
    start: dt.date | None = Field(
        default=None, ge=dt.date(2000, 1, 1), le=dt.date(2199, 12, 24), description="first local day (YYYY-MM-DD); today when absent"
    )


class WeekEntryOut(BaseModel):
    id: int
    playlist_id: int
    playlist: str
    priority: int


class StretchOut(BaseModel):
    model_config = ConfigDict(serialize_by_alias=True, validate_by_name=True)

    from_: dt.datetime = Field(alias="from")
    until: dt.datetime
    default_loop: bool = Field(description="nothing scheduled: the area's default loop plays")
    priority: int | None
    entries: list[WeekEntryOut] = Field(description="the winning entries; several take turns")


class WeekOut(BaseModel):
    model_config = ConfigDict(serialize_by_alias=True, validate_by_name=True)

    device_id: int
    device: str
    site: str
    internal: bool
    timezone: str
    from_: dt.datetime = Field(alias="from")
    until: dt.datetime
    stretches: list[StretchOut]


class DefaultLoopIn(Strict):
    in_default_loop: bool


class DefaultLoopOut(BaseModel):
    disclosure_id: int
    title: str
    in_default_loop: bool
