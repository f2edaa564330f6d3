"""Loop revisions: a counter per area, bumped whenever what its screens show changes.

Screens' manifests are cached per area in each server process, keyed by the revisions
of the area and its ancestors, so every process sees a change as soon as it commits.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, UTCDateTime


class LoopRevision(Base):
    __tablename__ = "loop_revisions"

    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id", ondelete="CASCADE"), primary_key=True)
    revision: Mapped[int] = mapped_column(default=0)
    changed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class SpokenBoard(Base):
    """Read-aloud audio of a board's script (`server.domain.speech`), made once per script
    and voice. The audio itself is a file named by its sha256 (`server.voice.AudioStore`)."""

    __tablename__ = "spoken_boards"

    script_sha: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of voice id + script
    audio_sha: Mapped[str] = mapped_column(String(64))
    seconds: Mapped[float] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
