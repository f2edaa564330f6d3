"""The audit log: one append-only row per change a user makes, and per sign-in."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, UTCDateTime


class AuditEvent(Base):
    """Who did what to which object, when and from where, with digests of the object
    before and after. Rows are never updated or deleted (database triggers refuse it)."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_area_path_at", "area_path", "occurred_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    # The actor; the username is kept as written then, so the row outlives renames.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    username: Mapped[str] = mapped_column(String(64), default="")
    address: Mapped[str] = mapped_column(String(64), default="")
    action: Mapped[str] = mapped_column(String(48), index=True)
    target_type: Mapped[str] = mapped_column(String(32), default="")
    target_id: Mapped[str] = mapped_column(String(64), default="")
    # The area the object belongs to, as its path then: supervisors see their subtree.
    area_path: Mapped[str] = mapped_column(String(400), default="")
    before_digest: Mapped[str | None] = mapped_column(String(64))
    after_digest: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
