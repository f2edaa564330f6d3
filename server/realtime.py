"""Socket.IO: the /device namespace. The server authenticates each screen in `connect`
and puts it into the rooms it chooses; screens listen for nudges and send urgent-notice
receipts. The /admin namespace serves signed-in staff: live announcements of urgent
notices to reviewers, and receipts to the delivery pages watching a notice."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import current_app, request
from flask import session as cookie_session
from flask_socketio import Namespace, disconnect, join_room, leave_room
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.clock import now
from server.domain import devices, reach, sessions, signin, urgent
from server.domain.errors import DomainError
from server.extensions import session_scope
from server.models import Device, User
from server.notify import ADMIN_NAMESPACE, DEVICE_NAMESPACE


def _sid() -> str:
    """The socket of the event being handled (Flask-SocketIO sets it on the request)."""
    return str(request.sid)  # type: ignore[attr-defined]


@dataclass
class _Ticket:
    device_id: int
    items: list[urgent.ReceiptItem]
    answer: dict[str, Any] | None = None


class ReceiptDesk:
    """Receipts from many screens, written together (group commit).

    An urgent notice brings two receipts from every screen within seconds; one
    transaction each would queue them all on SQLite's write lock. Each event joins the
    queue, yields once (`pause`: under gevent a database call never yields, so this is
    when the receipts that already arrived join), and the first to get the pen writes
    everything queued in one transaction. Every event is still answered with its own
    count, after the commit."""

    def __init__(self, pause: Callable[[], None]) -> None:
        self._pause = pause
        self._queue: list[_Ticket] = []
        self._queue_lock = threading.Lock()
        self._pen = threading.Lock()

    def record(self, device_id: int, items: list[urgent.ReceiptItem]) -> dict[str, Any]:
        ticket = _Ticket(device_id, items)
        with self._queue_lock:
            self._queue.append(ticket)
        self._pause()
        with self._pen:
            if ticket.answer is None:
                with self._queue_lock:
                    batch, self._queue = self._queue, []
                self._write(batch)
        assert ticket.answer is not None
        return ticket.answer

    def _write(self, batch: list[_Ticket]) -> None:
        try:
            with session_scope(write=True) as session:
                moment = now()
                wanted = {t.device_id for t in batch}
                found = {d.id: d for d in session.scalars(select(Device).where(Device.id.in_(wanted)))}
                for ticket in batch:
                    device = found.get(ticket.device_id)
                    if device is None:
                        ticket.answer = {"ok": False, "error": "unauthorized"}
                        continue
                    accepted = urgent.record_receipts(session, device, ticket.items, moment)
                    devices.mark_seen(session, device.id, device.last_seen_at, moment)
                    ticket.answer = {"ok": True, "accepted": accepted}
        except Exception:
            current_app.logger.exception("could not record %d receipt event(s)", len(batch))
            for ticket in batch:  # nothing of the batch was kept: every screen sends again
                ticket.answer = {"ok": False, "error": "not recorded, send again"}


class DeviceNamespace(Namespace):
    _desk: ReceiptDesk | None = None

    def on_connect(self, auth: Any = None) -> None:
        token = auth.get("token") if isinstance(auth, dict) else None
        if not isinstance(token, str):
            raise ConnectionRefusedError("unauthorized")
        moment = now()
        with session_scope() as session:
            screen = devices.screen_for(session, token)
            if screen is None:
                current_app.logger.info("refused screen connection from %s", request.remote_addr)
                raise ConnectionRefusedError("unauthorized")
            rooms = reach.screen_rooms(screen)
            seen = (screen.id, screen.last_seen_at)
        # Which screen this socket is: its later events (receipts) act for it alone.
        self.socketio.server.save_session(_sid(), {"device_id": seen[0]}, namespace=self.namespace)
        with session_scope(write=True) as session:  # the write in its own short transaction
            devices.mark_seen(session, *seen, moment)
        for room in rooms:
            join_room(room)

    def on_disconnect(self, *args: Any) -> None:
        return None

    def on_receipt(self, data: Any = None) -> dict[str, Any]:
        """Urgent-notice receipts: {"notice", "state", "at"} or {"receipts": [...]}; the
        ack says how many were accepted, or why the payload was refused."""
        from server.api.urgent import parse_receipts  # the one schema, shared with HTTP

        device_id = self.socketio.server.get_session(_sid(), namespace=self.namespace).get("device_id")
        if device_id is None:
            return {"ok": False, "error": "unauthorized"}
        try:
            items = parse_receipts(data)
        except DomainError as err:
            return {"ok": False, "error": err.message, "field": err.field}
        if self._desk is None:
            self._desk = ReceiptDesk(lambda: self.socketio.sleep(0))
        return self._desk.record(device_id, items)


def _signed_in_user(session: Session) -> User | None:
    """The user behind this socket's browser session (the cookie sent when the socket
    connected), checked again on every event: a session ended since counts as none."""
    from server.web.auth import TOKEN_KEY

    row = sessions.resolve(session, cookie_session.get(TOKEN_KEY), now())
    if row is None or signin.pending(row.user, row, current_app.config["REQUIRE_2FA"]) is not None:
        return None
    return row.user


class AdminNamespace(Namespace):
    """/admin: signed-in staff. Reviewers are put in `review:<area>` for each area they
    review, to hear of urgent notices submitted there or below; any user may `watch` a
    notice they can see, to follow its delivery (room `urgent:<id>`)."""

    def on_connect(self, auth: Any = None) -> None:
        with session_scope() as session:
            user = _signed_in_user(session)
            if user is None:
                raise ConnectionRefusedError("unauthorized")
            rooms = [f"review:{a}" for a in urgent.review_area_ids(user)]
        for room in rooms:
            join_room(room)

    def on_disconnect(self, *args: Any) -> None:
        return None

    def on_watch(self, data: Any = None) -> dict[str, Any]:
        notice_id = _notice_id(data)
        if notice_id is None:
            return {"ok": False, "error": "notice must be a notice id"}
        with session_scope() as session:
            user = _signed_in_user(session)
            if user is None:
                disconnect()
                return {"ok": False, "error": "unauthorized"}
            try:
                urgent.get(session, user, notice_id)  # out of the user's areas looks missing
            except DomainError:
                return {"ok": False, "error": "not_found"}
        join_room(f"urgent:{notice_id}")
        return {"ok": True}

    def on_unwatch(self, data: Any = None) -> dict[str, Any]:
        notice_id = _notice_id(data)
        if notice_id is not None:
            leave_room(f"urgent:{notice_id}")
        return {"ok": notice_id is not None}


def _notice_id(data: Any) -> int | None:
    value = data.get("notice") if isinstance(data, dict) else None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 2**63 - 1:
        return None
    return value


def register(socketio: Any) -> None:
    socketio.on_namespace(DeviceNamespace(DEVICE_NAMESPACE))
    socketio.on_namespace(AdminNamespace(ADMIN_NAMESPACE))
