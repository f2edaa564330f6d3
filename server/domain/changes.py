"""Facts that screens must hear about, recorded in the session and sent after commit.

Domain code calls `record`; the notifier (server.notify) listens for the session's
commit and pushes a small nudge to the affected rooms. A rollback drops the facts.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session


@dataclass(frozen=True)
class LoopChanged:
    """The loop of every screen under `area_id` may have changed."""

    area_id: int
    internal_only: bool = False


def record(session: Session, change: LoopChanged) -> None:
    session.info.setdefault("pending_changes", []).append(change)


def take(session: Session) -> list[LoopChanged]:
    return session.info.pop("pending_changes", [])
