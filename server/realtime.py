"""Socket.IO: the /device namespace. The server authenticates each screen in `connect`
and puts it into the rooms it chooses; screens only listen for nudges."""

from __future__ import annotations

from typing import Any

from flask import current_app, request
from flask_socketio import Namespace, join_room

from server.db import utcnow
from server.domain import devices
from server.extensions import session_scope
from server.notify import DEVICE_NAMESPACE


class DeviceNamespace(Namespace):
    def on_connect(self, auth: Any = None) -> None:
        token = auth.get("token") if isinstance(auth, dict) else None
        if not isinstance(token, str):
            raise ConnectionRefusedError("unauthorized")
        with session_scope() as session:
            device = devices.authenticate(session, token, utcnow())
            if device is None:
                current_app.logger.info("refused screen connection from %s", request.remote_addr)
                raise ConnectionRefusedError("unauthorized")
            devices.mark_seen(device, utcnow())
            rooms = devices.rooms_for(device)
        for room in rooms:
            join_room(room)

    def on_disconnect(self, *args: Any) -> None:
        return None


def register(socketio: Any) -> None:
    socketio.on_namespace(DeviceNamespace(DEVICE_NAMESPACE))


def kick_device(device_id: int) -> None:
    """Disconnect a screen's open sockets in this process (after its credentials change)."""
    from server.extensions import socketio

    server = socketio.server
    if server is None:
        return
    room = f"device:{device_id}"
    for sid, _eio_sid in list(server.manager.get_participants(DEVICE_NAMESPACE, room)):
        server.disconnect(sid, namespace=DEVICE_NAMESPACE)
