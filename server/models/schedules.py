"""Scheduling: device groups, playlists and the entries that put playlists on screens.

A schedule entry puts one playlist on a target (an area's subtree, a site, a device
group or one screen) for a range of local days, on some weekdays, in some dayparts, at a
priority. Which entry plays when is decided by `server.domain.timeline`; which screens
an entry reaches by `server.domain.reach`.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import JSON, Column, ForeignKey, String, Table, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.db import Base, UTCDateTime, ValueEnum, utcnow
from server.models.areas import Area
from server.models.devices import Device
from server.models.disclosures import Disclosure
from server.models.users import User


class TargetKind(enum.Enum):
    area = "area"  # every screen in the area's subtree
    site = "site"  # every screen of one hall
    group = "group"  # every screen of a device group
    device = "device"  # one screen


class Audience(enum.Enum):
    all = "all"  # every screen of the target
    internal = "internal"  # only the target's party-internal (党内) screens


device_group_members = Table(
    "device_group_members",
    Base.metadata,
    Column("group_id", ForeignKey("device_groups.id", ondelete="CASCADE"), primary_key=True),
    Column("device_id", ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class DeviceGroup(Base):
    """A named set of screens in an area's subtree (e.g. 全镇查询机, 党员活动室)."""

    __tablename__ = "device_groups"
    __table_args__ = (UniqueConstraint("area_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id"), index=True)
    name: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    retired_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    area: Mapped[Area] = relationship(lazy="joined")
    devices: Mapped[list[Device]] = relationship(secondary=device_group_members, order_by="Device.id")


class BoardKind(enum.Enum):
    disclosure = "disclosure"  # one approved disclosure
    echo_wall = "echo_wall"  # the screen's own echo wall


class Playlist(Base):
    """An ordered list of boards, owned by an area and edited by its schedulers."""

    __tablename__ = "playlists"
    __table_args__ = (UniqueConstraint("area_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id"), index=True)
    name: Mapped[str] = mapped_column(String(60))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    retired_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    area: Mapped[Area] = relationship(lazy="joined")
    created_by: Mapped[User] = relationship()
    items: Mapped[list[PlaylistItem]] = relationship(
        back_populates="playlist", order_by="PlaylistItem.position", cascade="all, delete-orphan"
    )


class PlaylistItem(Base):
    __tablename__ = "playlist_items"
    __table_args__ = (UniqueConstraint("playlist_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    playlist_id: Mapped[int] = mapped_column(ForeignKey("playlists.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column()
    kind: Mapped[BoardKind] = mapped_column(ValueEnum(BoardKind))
    disclosure_id: Mapped[int | None] = mapped_column(ForeignKey("disclosures.id"), index=True)
    # Seconds on screen; None = the board kind's default.
    duration: Mapped[int | None] = mapped_column()

    playlist: Mapped[Playlist] = relationship(back_populates="items")
    disclosure: Mapped[Disclosure | None] = relationship(lazy="joined")


class ScheduleEntry(Base):
    """One playlist on one target, for local days, weekdays and dayparts, at a priority."""

    __tablename__ = "schedule_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    playlist_id: Mapped[int] = mapped_column(ForeignKey("playlists.id"), index=True)
    # The area the entry belongs to: its target's area (see reach.target_home).
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id"), index=True)
    target_kind: Mapped[TargetKind] = mapped_column(ValueEnum(TargetKind))
    target_id: Mapped[int] = mapped_column()
    audience: Mapped[Audience] = mapped_column(ValueEnum(Audience), default=Audience.all)
    starts_on: Mapped[dt.date] = mapped_column()
    ends_on: Mapped[dt.date | None] = mapped_column()
    # Monday = bit 0 … Sunday = bit 6.
    weekdays: Mapped[int] = mapped_column(default=0b1111111)
    # [[start_minute, end_minute], …] in local time; [] = all day.
    dayparts: Mapped[list[list[int]]] = mapped_column(JSON, default=list)
    priority: Mapped[int] = mapped_column(default=10)
    note: Mapped[str] = mapped_column(String(200), default="")
    # Signage plays each board's read-aloud audio while this entry is in effect.
    read_aloud: Mapped[bool] = mapped_column(default=False)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    playlist: Mapped[Playlist] = relationship(lazy="joined")
    area: Mapped[Area] = relationship(lazy="joined")
