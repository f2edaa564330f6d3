"""The screen agent's entry point (`sunwall kiosk`): enrol once, then sync, listen, serve.

Start-up order matters for a screen that boots without a network: the local player
starts from the cached manifest before anything talks to the server, and no failure to
reach the server ever stops it. Receipts the player reports for urgent notices go to a
queue on disk first and reach the server whenever it can be reached (`receipts`). Only a missing or refused enrolment ends the agent,
because without a credential there is nothing it could ever show. It meets the server
only through the HTTP and Socket.IO device protocol; it never imports `server`.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import urlsplit

from kiosk_client import protocol
from kiosk_client.listener import Listener
from kiosk_client.local_server import PlayerServer
from kiosk_client.receipts import Forwarder, Receipt, ReceiptQueue
from kiosk_client.storage import Credential, DataDir
from kiosk_client.sync import Syncer, SyncLoop, utc_now

log = logging.getLogger("kiosk")

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_NOT_ENROLLED = 2
EXIT_CODE_REFUSED = 3


class StartupError(Exception):
    def __init__(self, message: str, exit_code: int = EXIT_FAILURE) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def default_data_dir() -> Path:
    """$XDG_DATA_HOME/sunwall-kiosk, else ~/.local/share/sunwall-kiosk."""
    xdg = os.environ.get("XDG_DATA_HOME", "")
    # The XDG spec says a relative value is invalid and must be ignored.
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".local" / "share"
    return base / "sunwall-kiosk"


def normalise_server(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise StartupError(f"--server must be an http(s) URL, not {url!r}", EXIT_NOT_ENROLLED)
    return url.strip().rstrip("/")


def configure_logging() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    level = os.environ.get("SUNWALL_KIOSK_LOG_LEVEL", "INFO").upper()
    root.setLevel(level if level in logging.getLevelNamesMapping() else logging.INFO)
    # Each poll or websocket frame would otherwise be a line; keep the log about the screen.
    for noisy in ("urllib3", "socketio", "engineio", "websocket"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _can_create(directory: Path) -> bool:
    """Whether `directory` exists writable, or could be created by this user."""
    existing = directory
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    return existing.is_dir() and os.access(existing, os.W_OK | os.X_OK)


def obtain_credential(data: DataDir, server: str, code: str | None) -> Credential:
    """The stored credential, or a new one traded for `code`; writes only on success."""
    try:
        credential = data.load_credential()
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise StartupError(
            f"{data.credential_path} is unreadable ({exc}); delete it and enrol again with --code"
        ) from exc
    if credential is not None:
        if code:
            log.warning(
                "already enrolled as screen %d; --code is ignored (to enrol again, delete %s)",
                credential.device_id,
                data.credential_path,
            )
        if credential.server != server:
            log.warning("credential was issued by %s, now using %s", credential.server, server)
        return credential
    if not code:
        raise StartupError(
            f"未注册：{data.credential_path} 不存在。请在管理后台「屏幕 → 注册码」取得注册码，"
            f"然后用 --code 启动一次。 (not enrolled: no credential in {data.root}; "
            "start once with --code CODE)",
            EXIT_NOT_ENROLLED,
        )
    if not _can_create(data.root):
        # Checked first: a code spent on a screen that cannot store the credential is lost.
        raise StartupError(f"cannot write to {data.root}; fix its owner or choose --data-dir")
    try:
        answer = protocol.enrol(server, code)
    except protocol.EnrolmentRefused as exc:
        raise StartupError(f"注册码被拒绝 (enrolment refused): {exc}", EXIT_CODE_REFUSED) from exc
    except protocol.ProtocolError as exc:
        raise StartupError(f"无法注册 (enrolment failed): {exc}") from exc
    credential = Credential(server=server, **answer)
    try:
        data.prepare()
        data.save_credential(credential)
    except OSError as exc:
        raise StartupError(
            f"enrolled, but cannot write {data.credential_path}: {exc}; "
            "the code is now used, ask for a new one"
        ) from exc
    log.info(
        "enrolled as screen %d「%s」at %s", credential.device_id, credential.name, credential.site
    )
    return credential


class Agent:
    """The running agent: local player, sync worker, receipts forwarder and live link,
    until a signal. `clock` is its one source of the current time."""

    def __init__(
        self,
        server: str,
        credential: Credential,
        data: DataDir,
        port: int,
        clock: Callable[[], dt.datetime] = utc_now,
    ) -> None:
        self.server = server
        self.credential = credential
        self.data = data
        self.clock = clock
        self.client = protocol.DeviceClient(server, credential.token)
        self.syncer = Syncer(data, self.client)
        # Created in run(), once the data directory is known to be usable.
        self.receipts: ReceiptQueue | None = None
        self.forwarder: Forwarder | None = None
        self.sync_loop = SyncLoop(
            self.syncer, on_revoked=self._revoked, clock=clock, after_sync=self._after_sync
        )
        self.listener = Listener(
            server,
            credential.token,
            on_nudge=self.sync_loop.request,
            on_change=self.sync_loop.nudge,
        )
        self.port = port
        self._signalled: int | None = None

    def _after_sync(self) -> None:
        # The server answered: queued receipts need not wait out their delay.
        if self.forwarder is not None:
            self.forwarder.kick()

    def _take_receipts(self, receipts: list[Receipt]) -> None:
        assert self.receipts is not None and self.forwarder is not None
        added = self.receipts.append(receipts)
        log.info("player reported %d receipts (%d new)", len(receipts), added)
        if added:
            self.forwarder.kick()

    def _revoked(self, message: str) -> None:
        log.error(
            "屏幕凭据已被吊销 credential revoked by the server (%s). Still playing the cached "
            "loop, but no more updates: get a new code (屏幕 → 注册码), delete %s and start "
            "again with --code.",
            message,
            self.data.credential_path,
        )
        self.listener.stop()

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        # Only a plain assignment here: the main loop notices it within half a second.
        self._signalled = signum

    def run(self) -> int:
        try:
            self.data.prepare()
        except OSError as exc:
            raise StartupError(f"cannot use data directory {self.data.root}: {exc}") from exc
        cached = self.syncer.load_cached()
        if cached is not None:
            log.info(
                "cached manifest %s: %d boards", cached.version[:12], len(cached.manifest["boards"])
            )
        try:
            self.receipts = ReceiptQueue(self.data.receipts_path)
        except OSError as exc:
            raise StartupError(f"cannot read {self.data.receipts_path}: {exc}") from exc
        self.forwarder = Forwarder(self.receipts, self.client, self.clock)
        if len(self.receipts):
            log.info("%d receipts waiting to be sent", len(self.receipts))
        label = f"{self.credential.site} · {self.credential.name}"
        try:
            http = PlayerServer(
                self.port,
                lambda: self.syncer.current,
                self.data.cache,
                label,
                take_receipts=self._take_receipts,
            )
        except OSError as exc:
            raise StartupError(f"cannot listen on 127.0.0.1:{self.port}: {exc}") from exc
        in_main = threading.current_thread() is threading.main_thread()
        previous: dict[signal.Signals, Any] = {}
        if in_main:
            for signum in (signal.SIGTERM, signal.SIGINT):
                previous[signum] = signal.signal(signum, self._on_signal)
        http.start()
        log.info("player at http://127.0.0.1:%d/ (data: %s)", http.port, self.data.root)
        self.sync_loop.start()
        self.forwarder.start()
        self.listener.start()
        try:
            while self._signalled is None:
                time.sleep(0.5)
            log.info("stopping (%s)", signal.Signals(self._signalled).name)
        finally:
            self.listener.stop()
            self.sync_loop.stop()
            self.forwarder.stop()
            http.stop()
            self.client.close()
            for signum, handler in previous.items():
                if handler is not None:
                    signal.signal(signum, handler)
        return EXIT_OK

    def request_stop(self) -> None:
        """Stop from another thread, as a signal would."""
        self._signalled = signal.SIGTERM


def main(server_url: str, code: str | None, data_dir: str | None, port: int) -> int:
    """Run the agent until SIGTERM/SIGINT; return the process exit code."""
    configure_logging()
    try:
        server = normalise_server(server_url)
        data = DataDir(Path(data_dir).expanduser() if data_dir else default_data_dir())
        credential = obtain_credential(data, server, code.strip() if code else None)
        return Agent(server, credential, data, port).run()
    except StartupError as exc:
        log.error("%s", exc)
        return exc.exit_code
