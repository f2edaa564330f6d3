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

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from server.models import Area, Disclosure, LoopRevision, Playlist, PlaylistItem, Scope


@dataclass(frozen=True)
class LoopChanged:
    """The loop of every screen reached from `area_path` (see `reach`) may have changed;
    the area's loop revision is now `revision` (a screen whose manifest lists it is current)."""

    area_path: str
    internal_only: bool = False
    revision: int = 0


@dataclass(frozen=True)
class ScreenRevoked:
    """A screen's credentials were revoked or replaced: close its sockets."""

    device_id: int


@dataclass(frozen=True)
class UrgentSubmitted:
    """An urgent notice awaits review: announce it live to the reviewers of its area and
    of every area above it (`/admin` namespace, rooms `review:<area id>`)."""

    notice_id: int
    area_path: str
    title: str = ""
    area_name: str = ""


@dataclass(frozen=True)
class ReceiptRecorded:
    """A screen reported an urgent notice "received" or "shown" (at `at`, the earliest
    time kept): tell whoever watches its delivery page (room `urgent:<notice id>`)."""

    notice_id: int
    device_id: int
    state: str
    at: dt.datetime


Change = LoopChanged | ScreenRevoked | UrgentSubmitted | ReceiptRecorded


def _note(session: Session, change: Change) -> None:
    session.info.setdefault("pending_changes", []).append(change)


def loop_changed(session: Session, area: Area, now: dt.datetime, *, internal_only: bool = False) -> None:
    """Note the change for the notifier and bump the area's loop revision (same transaction)."""
    revision = session.execute(
        update(LoopRevision)
        .where(LoopRevision.area_id == area.id)
        .values(revision=LoopRevision.revision + 1, changed_at=now)
        .returning(LoopRevision.revision)
    ).scalar_one()
    _note(session, LoopChanged(area.path, internal_only, revision))


def disclosure_changed(session: Session, disclosure: Disclosure, now: dt.datetime) -> None:
    """An approved disclosure started, changed or ended: its own area's screens and every
    screen playing a playlist that holds it may show something else."""
    internal_only = disclosure.scope is Scope.internal
    homes = {disclosure.area.id: disclosure.area}
    for playlist in session.scalars(
        select(Playlist).join(PlaylistItem).where(PlaylistItem.disclosure_id == disclosure.id).distinct()
    ):
        homes.setdefault(playlist.area.id, playlist.area)
    for area in homes.values():
        loop_changed(session, area, now, internal_only=internal_only)


def screen_revoked(session: Session, device_id: int) -> None:
    _note(session, ScreenRevoked(device_id))


def urgent_submitted(session: Session, notice_id: int, area_path: str, title: str, area_name: str) -> None:
    _note(session, UrgentSubmitted(notice_id, area_path, title, area_name))


def receipt_recorded(session: Session, notice_id: int, device_id: int, state: str, at: dt.datetime) -> None:
    _note(session, ReceiptRecorded(notice_id, device_id, state, at))


def take(session: Session) -> list[Change]:
    return session.info.pop("pending_changes", [])
