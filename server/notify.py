"""The one place that pushes to screens: after a commit, nudge the affected rooms.

The nudge is tiny: {"reason": "loop_changed", "area": <id>, "revision": <n>}. A screen
whose manifest already lists that area at revision n or later fetches nothing; the others
fetch their manifest over HTTP with their ETag. Which rooms a change reaches is decided
by `server.domain.reach`.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from server.domain import changes
from server.domain.reach import change_rooms
from server.extensions import socketio

DEVICE_NAMESPACE = "/device"


def nudge_rooms(rooms: list[str], payload: dict[str, Any]) -> None:
    for room in rooms:
        socketio.emit("manifest_changed", payload, to=room, namespace=DEVICE_NAMESPACE)


def disconnect_device(device_id: int) -> None:
    """Close a screen's open sockets in this process (its credentials changed)."""
    server = socketio.server
    if server is None:
        return
    room = f"device:{device_id}"
    for sid, _eio_sid in list(server.manager.get_participants(DEVICE_NAMESPACE, room)):
        server.disconnect(sid, namespace=DEVICE_NAMESPACE)


ADMIN_NAMESPACE = "/admin"
# The fast approval page of an urgent notice (server.web.urgent.urgent_review).
URGENT_REVIEW_PATH = "/admin/urgent/{id}/review"


def review_rooms(area_path: str) -> list[str]:
    """The reviewers who hear of a notice submitted in the area with `area_path`: those of
    the area itself and of every area above it."""
    return [f"review:{part}" for part in area_path.strip("/").split("/") if part]


def announce_urgent(change: changes.UrgentSubmitted) -> None:
    """Tell reviewers at once that an urgent notice waits for them (one emit to all the
    rooms: a reviewer in several of them hears it once)."""
    payload = {
        "id": change.notice_id,
        "title": change.title,
        "area": change.area_name,
        "url": URGENT_REVIEW_PATH.format(id=change.notice_id),
    }
    socketio.emit("urgent_submitted", payload, to=review_rooms(change.area_path), namespace=ADMIN_NAMESPACE)


def push_receipt(change: changes.ReceiptRecorded) -> None:
    """A screen's receipt, to the delivery pages watching the notice."""
    payload = {
        "notice": change.notice_id,
        "device": change.device_id,
        "state": change.state,
        "at": change.at.isoformat(),
    }
    socketio.emit("receipt", payload, to=f"urgent:{change.notice_id}", namespace=ADMIN_NAMESPACE)


def _after_commit(session: Session) -> None:
    latest: dict[str, changes.LoopChanged] = {}
    for change in changes.take(session):
        if isinstance(change, changes.ScreenRevoked):
            disconnect_device(change.device_id)
            continue
        if isinstance(change, changes.UrgentSubmitted):
            announce_urgent(change)
            continue
        if isinstance(change, changes.ReceiptRecorded):
            push_receipt(change)
            continue
        seen = latest.get(change.area_path)
        if seen is not None:  # several bumps of one area: the last revision, the widest rooms
            change = changes.LoopChanged(
                change.area_path, change.internal_only and seen.internal_only, max(change.revision, seen.revision)
            )
        latest[change.area_path] = change
    desk = current_app.extensions.get("sunwall.speech") if has_app_context() else None
    for change in latest.values():
        area_id = int(change.area_path.strip("/").split("/")[-1])
        payload = {"reason": "loop_changed", "area": area_id, "revision": change.revision}
        nudge_rooms(change_rooms(change.area_path, change.internal_only), payload)
        if desk is not None:  # new boards are read aloud in the background (server.voice)
            desk.area_changed(change.area_path)


def _after_rollback(session: Session) -> None:
    changes.take(session)


def install(factory: sessionmaker[Any]) -> None:
    event.listen(factory, "after_commit", _after_commit)
    event.listen(factory, "after_soft_rollback", lambda s, _prev: _after_rollback(s))
