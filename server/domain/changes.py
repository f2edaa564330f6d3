"""Facts that screens must hear about, recorded in the session and sent after commit.

Domain code calls `loop_changed` for anything that changes what screens show; it bumps
the area's loop revision (which keys the manifest cache, see `reach`) and the notifier
(server.notify) nudges the affected rooms after the commit. `screen_revoked` asks the
notifier to drop a screen's open sockets once its credentials are gone. A rollback drops
every fact.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import update
from sqlalchemy.orm import Session

from server.models import Area, LoopRevision


@dataclass(frozen=True)
class LoopChanged:
    """The loop of every screen reached from `area_path` (see `reach`) may have changed."""

    area_path: str
    internal_only: bool = False


@dataclass(frozen=True)
class ScreenRevoked:
    """A screen's credentials were revoked or replaced: close its sockets."""

    device_id: int


Change = LoopChanged | ScreenRevoked


def _note(session: Session, change: Change) -> None:
    session.info.setdefault("pending_changes", []).append(change)


def loop_changed(session: Session, area: Area, now: dt.datetime, *, internal_only: bool = False) -> None:
    """Note the change for the notifier and bump the area's loop revision (same transaction)."""
    _note(session, LoopChanged(area.path, internal_only))
    session.execute(
        update(LoopRevision)
        .where(LoopRevision.area_id == area.id)
        .values(revision=LoopRevision.revision + 1, changed_at=now)
    )


def screen_revoked(session: Session, device_id: int) -> None:
    _note(session, ScreenRevoked(device_id))


def take(session: Session) -> list[Change]:
    return session.info.pop("pending_changes", [])
