"""Files attached to disclosures: photos, PDF documents and short videos, by content."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, UTCDateTime, ValueEnum, utcnow


class AttachmentKind(enum.Enum):
    image = "image"
    pdf = "pdf"
    video = "video"


class Attachment(Base):
    """A checked file, stored once under its sha256 (the file as served, after re-encoding).

    Derived files (a PDF's page images, a video's poster frame) are stored the same way and
    listed in `derived`; `text` is what the pre-publish scanner reads (a PDF's text)."""

    __tablename__ = "attachments"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[AttachmentKind] = mapped_column(ValueEnum(AttachmentKind))
    mime: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column()
    filename: Mapped[str] = mapped_column(String(200))  # as uploaded, for people
    width: Mapped[int | None] = mapped_column()
    height: Mapped[int | None] = mapped_column()
    pages: Mapped[int | None] = mapped_column()
    seconds: Mapped[float | None] = mapped_column()
    text: Mapped[str] = mapped_column(Text, default="")
    derived: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # {"pages": [sha, ...], "poster": sha}
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
