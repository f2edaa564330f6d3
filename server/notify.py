"""The one place that pushes to screens: after a commit, nudge the affected rooms.

The nudge is tiny ({"reason": ...}); screens then fetch their manifest over HTTP with
their ETag, so a nudge to a screen whose loop did not really change costs one 304.
Which rooms a change reaches is decided by `server.domain.reach`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from server.domain import changes
from server.domain.reach import change_rooms
from server.extensions import socketio

DEVICE_NAMESPACE = "/device"


def nudge_rooms(rooms: list[str], reason: str) -> None:
    for room in rooms:
        socketio.emit("manifest_changed", {"reason": reason}, to=room, namespace=DEVICE_NAMESPACE)


def disconnect_device(device_id: int) -> None:
    """Close a screen's open sockets in this process (its credentials changed)."""
    server = socketio.server
    if server is None:
        return
    room = f"device:{device_id}"
    for sid, _eio_sid in list(server.manager.get_participants(DEVICE_NAMESPACE, room)):
        server.disconnect(sid, namespace=DEVICE_NAMESPACE)


def _after_commit(session: Session) -> None:
    rooms: list[str] = []
    for change in changes.take(session):
        if isinstance(change, changes.ScreenRevoked):
            disconnect_device(change.device_id)
            continue
        for room in change_rooms(change.area_path, change.internal_only):
            if room not in rooms:
                rooms.append(room)
    if rooms:
        nudge_rooms(rooms, "loop_changed")


def _after_rollback(session: Session) -> None:
    changes.take(session)


def install(factory: sessionmaker[Any]) -> None:
    event.listen(factory, "after_commit", _after_commit)
    event.listen(factory, "after_soft_rollback", lambda s, _prev: _after_rollback(s))
