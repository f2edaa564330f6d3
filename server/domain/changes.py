"""Facts that screens must hear about, recorded in the session and sent after commit.

Domain code calls `record` for anything that changes what screens show; it bumps the
area's loop revision (which keys the manifest cache) and the notifier (server.notify)
pushes a small nudge to the affected rooms after the commit. A rollback drops both.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import update
from sqlalchemy.orm import Session

from server.db import utcnow
from server.models import LoopRevision


@dataclass(frozen=True)
class LoopChanged:
    """The loop of every screen under `area_id` may have changed."""

    area_id: int
    internal_only: bool = False


def record(session: Session, change: LoopChanged) -> None:
    """Note the change for the notifier and bump the area's loop revision (same transaction)."""
    session.info.setdefault("pending_changes", []).append(change)
    session.execute(
        update(LoopRevision)
        .where(LoopRevision.area_id == change.area_id)
        .values(revision=LoopRevision.revision + 1, changed_at=utcnow())
    )


def take(session: Session) -> list[LoopChanged]:
    return session.info.pop("pending_changes", [])
