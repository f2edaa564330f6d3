"""Urgent notices (临时通知: flood, fire, water cuts) and their per-screen receipts.

An urgent notice interrupts the loop full-screen on every screen of its target from its
start until its end or until it is cancelled. It is approved under the same four eyes
as any disclosure: its author may not approve it.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.db import Base, UTCDateTime, ValueEnum, utcnow
from server.models.areas import Area
from server.models.catalogue import Scope
from server.models.schedules import TargetKind
from server.models.users import User


class UrgentStatus(enum.Enum):
    draft = "draft"
    submitted = "submitted"
    approved = "approved"  # on screens from starts_at until ends_at
    rejected = "rejected"
    cancelled = "cancelled"  # taken off screens before its end


class UrgentNotice(Base):
    __tablename__ = "urgent_notices"

    id: Mapped[int] = mapped_column(primary_key=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id"), index=True)
    title: Mapped[str] = mapped_column(String(40))
    body: Mapped[str] = mapped_column(Text, default="")  # plain text, line breaks kept
    scope: Mapped[Scope] = mapped_column(ValueEnum(Scope), default=Scope.public)
    target_kind: Mapped[TargetKind] = mapped_column(ValueEnum(TargetKind))
    target_id: Mapped[int] = mapped_column()
    starts_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())  # None: on approval
    ends_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    read_aloud: Mapped[bool] = mapped_column(default=False)  # screens play its audio when it starts
    status: Mapped[UrgentStatus] = mapped_column(ValueEnum(UrgentStatus), default=UrgentStatus.draft, index=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    review_comment: Mapped[str] = mapped_column(String(500), default="")
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    cancelled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    cancel_reason: Mapped[str] = mapped_column(String(200), default="")

    area: Mapped[Area] = relationship(lazy="joined")
    author: Mapped[User] = relationship(foreign_keys=[author_id], lazy="joined")
    reviewer: Mapped[User | None] = relationship(foreign_keys=[reviewer_id])
    receipts: Mapped[list[UrgentReceipt]] = relationship(back_populates="notice", cascade="all, delete-orphan")


class UrgentReceipt(Base):
    """What one screen reported about one urgent notice."""

    __tablename__ = "urgent_receipts"

    notice_id: Mapped[int] = mapped_column(ForeignKey("urgent_notices.id", ondelete="CASCADE"), primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True)
    received_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    shown_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    notice: Mapped[UrgentNotice] = relationship(back_populates="receipts")
