"""The Socket.IO link to the server's /device namespace: it only hears "sync now".

The server pushes a tiny `manifest_changed` nudge naming an area and its new loop
revision; the agent decides whether that calls for fetching the manifest over HTTP
(`sync.nudge_needs_fetch`). The link asks for a sync on every (re)connect too, since
nudges sent while it was down are lost. The client's own reconnection is off: one loop here owns
reconnecting, with capped, jittered backoff so that a township's screens do not all
knock at once when the server comes back, and it also covers server-side disconnects,
which python-socketio does not retry.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import socketio

log = logging.getLogger("kiosk.link")
NAMESPACE = "/device"
MIN_DELAY = 1.0
MAX_DELAY = 30.0
STABLE_SECONDS = 60.0


def socket_endpoint(server: str) -> tuple[str, str]:
    """(origin, socketio_path) for a server URL that may live under a path prefix."""
    parts = urlsplit(server)
    prefix = parts.path.strip("/")
    path = f"{prefix}/socket.io" if prefix else "socket.io"
    return f"{parts.scheme}://{parts.netloc}", path


class Listener:
    """Keeps one Socket.IO connection open.

    It calls `on_nudge(reason)` when the agent should sync (a (re)connect, a lost or
    refused link) and `on_change(payload)` with each `manifest_changed` payload, which
    says whether a sync is needed at all.
    """

    def __init__(
        self,
        server: str,
        token: str,
        on_nudge: Callable[[str], None],
        on_change: Callable[[Any], object] | None = None,
    ) -> None:
        self.origin, self.path = socket_endpoint(server)
        self.token = token
        self.on_nudge = on_nudge
        self.on_change = on_change
        self.sio = socketio.Client(reconnection=False, logger=False, engineio_logger=False)
        self.sio.on("connect", self._on_connect, namespace=NAMESPACE)
        self.sio.on("disconnect", self._on_disconnect, namespace=NAMESPACE)
        self.sio.on("connect_error", self._on_connect_error, namespace=NAMESPACE)
        self.sio.on("manifest_changed", self._on_manifest_changed, namespace=NAMESPACE)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="socketio", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Close the link and return at once (the link's threads are daemons).

        The close frame goes out straight away, but websocket-client then waits up to 3 s
        for the server's reply; a shutting-down screen need not wait for it.
        """
        self._stop.set()
        if self.sio.connected:
            threading.Thread(target=self.sio.disconnect, name="socketio-close", daemon=True).start()

    def _run(self) -> None:
        delay = MIN_DELAY
        while not self._stop.is_set():
            try:
                self.sio.connect(
                    self.origin,
                    auth={"token": self.token},
                    namespaces=[NAMESPACE],
                    socketio_path=self.path,
                    wait_timeout=10,
                )
            except socketio.exceptions.ConnectionError as exc:
                log.debug("connection attempt failed: %s", exc)
            else:
                if self._stop.is_set():
                    self.sio.disconnect()
                    return
                opened = time.monotonic()
                self.sio.wait()  # returns when the connection ends, for whatever reason
                # Only a link that held for a while earns a quick retry; a flapping one backs off.
                if time.monotonic() - opened > STABLE_SECONDS:
                    delay = MIN_DELAY
            # Jitter between half and all of the delay, doubling up to the cap.
            if self._stop.wait(delay * random.uniform(0.5, 1.0)):
                return
            delay = min(delay * 2, MAX_DELAY)

    def _on_connect(self) -> None:
        log.info("connected to %s for live updates", self.origin)
        self.on_nudge("connected")

    def _on_disconnect(self, reason: Any = None) -> None:
        if self._stop.is_set():
            return
        log.info("live link lost (%s); retrying, the cached loop keeps playing", reason)
        # The server drops a screen whose credential it revoked: a sync finds out at once.
        self.on_nudge("disconnected")

    def _on_connect_error(self, data: Any = None) -> None:
        message = data.get("message") if isinstance(data, dict) else data
        if message == "unauthorized":
            log.warning("server refused the live link for this screen's credential")
            self.on_nudge("link refused")
        else:
            log.debug("live link unavailable: %s", message)

    def _on_manifest_changed(self, data: Any = None) -> None:
        if self.on_change is not None:
            self.on_change(data)
            return
        reason = data.get("reason") if isinstance(data, dict) else None
        self.on_nudge(f"nudge: {reason or 'manifest_changed'}")
