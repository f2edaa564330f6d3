"""The disclosure archive (统一公开资料档案): an append-only, hash-chained record per area."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, UTCDateTime


class ArchiveEntry(Base):
    """One approved version, withdrawal or correction, chained to the area's previous entry.

    `payload` is canonical JSON (what was shown, where, when, who approved it);
    `entry_hash` = sha256 over (area, seq, prev_hash, payload_hash, recorded_at). The unique
    (area_id, seq) and (area_id, prev_hash) keep the chain a line even when two approvals
    race."""

    __tablename__ = "archive_entries"
    __table_args__ = (
        UniqueConstraint("area_id", "seq", name="uq_archive_entries_area_seq"),
        UniqueConstraint("area_id", "prev_hash", name="uq_archive_entries_area_prev"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id"), index=True)
    seq: Mapped[int] = mapped_column()
    kind: Mapped[str] = mapped_column(String(32))  # approved / withdrawn / corrected
    disclosure_id: Mapped[int] = mapped_column(ForeignKey("disclosures.id"), index=True)
    version_id: Mapped[int | None] = mapped_column(ForeignKey("disclosure_versions.id"))
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    payload: Mapped[str] = mapped_column(Text)
    payload_hash: Mapped[str] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64))
