"""Loop revisions: a counter per area, bumped whenever what its screens show changes.

Screens' manifests are cached per area in each server process, keyed by the revisions
of the area and its ancestors, so every process sees a change as soon as it commits.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, UTCDateTime


class LoopRevision(Base):
    __tablename__ = "loop_revisions"

    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id", ondelete="CASCADE"), primary_key=True)
    revision: Mapped[int] = mapped_column(default=0)
    changed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
