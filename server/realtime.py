"""Socket.IO: the /device namespace. The server authenticates each screen in `connect`
and puts it into the rooms it chooses; screens only listen for nudges."""

from __future__ import annotations

from typing import Any

from flask import current_app, request
from flask_socketio import Namespace, join_room

from server.clock import now
from server.domain import devices, reach
from server.extensions import session_scope
from server.notify import DEVICE_NAMESPACE


class DeviceNamespace(Namespace):
    def on_connect(self, auth: Any = None) -> None:
        token = auth.get("token") if isinstance(auth, dict) else None
        if not isinstance(token, str):
            raise ConnectionRefusedError("unauthorized")
        moment = now()
        with session_scope() as session:
            device = devices.authenticate(session, token, moment)
            if device is None:
                current_app.logger.info("refused screen connection from %s", request.remote_addr)
                raise ConnectionRefusedError("unauthorized")
            rooms = reach.screen_rooms(device)
            seen = (device.id, device.last_seen_at)
        with session_scope() as session:  # the write in its own short transaction
            devices.mark_seen(session, *seen, moment)
        for room in rooms:
            join_room(room)

    def on_disconnect(self, *args: Any) -> None:
        return None


def register(socketio: Any) -> None:
    socketio.on_namespace(DeviceNamespace(DEVICE_NAMESPACE))
