"""Bring the local copy up to date: manifest (by ETag), then its assets, then the swap.

A new manifest replaces the old one only after every asset it lists is in the cache, so
the local player never points at a file it cannot serve; any failure on the way leaves
the previous manifest and cache playing. `SyncLoop` runs syncs one at a time on its own
thread: nudges, reconnects, the manifest's `next_change_at` and the periodic fallback
only ask for a sync, and requests that arrive while one runs are folded into the next.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

import signage_layouts
from kiosk_client.protocol import CredentialRevoked, DeviceClient, ProtocolError
from kiosk_client.storage import CorruptDownload, DataDir, is_sha256

log = logging.getLogger("kiosk.sync")
SYNC_INTERVAL = 60.0


@dataclass(frozen=True)
class Asset:
    path: str
    sha256: str
    size: int


@dataclass(frozen=True)
class Snapshot:
    """One checked manifest, as the local player serves it. Immutable, swapped whole."""

    manifest: dict[str, Any]
    body: bytes
    assets: dict[str, Asset]

    @property
    def version(self) -> str:
        return str(self.manifest["version"])

    @property
    def etag(self) -> str:
        return f'"{self.version}"'

    @property
    def layout(self) -> str:
        return str(self.manifest["layout"])

    @property
    def site_name(self) -> str:
        return str(self.manifest["site"]["name"])

    @property
    def next_change_at(self) -> dt.datetime | None:
        """When the loop changes by itself (an item starts or ends), if the server said."""
        value = self.manifest.get("next_change_at")
        try:
            when = dt.datetime.fromisoformat(value) if isinstance(value, str) else None
        except ValueError:
            return None
        return when if when is not None and when.tzinfo is not None else None

    @classmethod
    def of(cls, manifest: dict[str, Any]) -> Snapshot:
        """Check what the agent relies on; ValueError names the first problem found."""
        version = manifest.get("version")
        if not isinstance(version, str) or not version or '"' in version:
            raise ValueError("manifest has no usable version")
        if manifest.get("layout") not in signage_layouts.layouts():
            raise ValueError(f"manifest asks for an unknown layout {manifest.get('layout')!r}")
        site = manifest.get("site")
        if not isinstance(site, dict) or not isinstance(site.get("name"), str):
            raise ValueError("manifest has no site name")
        if not isinstance(manifest.get("boards"), list):
            raise ValueError("manifest has no board list")
        raw_assets = manifest.get("assets")
        if not isinstance(raw_assets, list):
            raise ValueError("manifest has no asset list")
        assets: dict[str, Asset] = {}
        for entry in raw_assets:
            asset = _asset(entry)
            assets[asset.path] = asset
        body = json.dumps(manifest, ensure_ascii=False).encode("utf-8")
        return cls(manifest=manifest, body=body, assets=assets)


def _asset(entry: Any) -> Asset:
    if not isinstance(entry, dict):
        raise ValueError("asset entry is not an object")
    path, sha256, size = entry.get("path"), entry.get("sha256"), entry.get("size")
    if not isinstance(path, str) or not path:
        raise ValueError("asset without a path")
    parts = PurePosixPath(path).parts
    # Paths become local URLs; refuse anything that could climb out of /static/.
    if path.startswith("/") or "\\" in path or any(p in ("..", ".") for p in parts):
        raise ValueError(f"asset path {path!r} is not allowed")
    if not is_sha256(sha256):
        raise ValueError(f"asset {path}: bad sha256")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise ValueError(f"asset {path}: bad size")
    return Asset(path=path, sha256=sha256, size=size)


class Syncer:
    """Holds the current snapshot and replaces it, one sync at a time."""

    def __init__(self, data: DataDir, client: DeviceClient) -> None:
        self.data = data
        self.client = client
        self.current: Snapshot | None = None
        self._lock = threading.Lock()

    def load_cached(self) -> Snapshot | None:
        """The manifest saved by the last good sync, so the screen plays before any network."""
        try:
            manifest = self.data.load_manifest()
            self.current = Snapshot.of(manifest) if manifest is not None else None
        except (OSError, ValueError) as exc:
            log.warning("ignoring the saved manifest (%s); waiting for the server", exc)
            self.current = None
        return self.current

    def _complete(self, snapshot: Snapshot) -> bool:
        return all(self.data.cache.has(a.sha256) for a in snapshot.assets.values())

    def sync(self) -> bool:
        """Fetch and install a newer manifest; True if it changed. Raises on failure."""
        with self._lock:
            current = self.current
            # Ask for a 304 only when our copy is whole; otherwise refetch to refill the cache.
            etag = current.etag if current is not None and self._complete(current) else None
            manifest = self.client.manifest(etag)
            if manifest is None:
                return False
            try:
                snapshot = Snapshot.of(manifest)
            except ValueError as exc:
                raise ProtocolError(f"manifest refused: {exc}") from exc
            for asset in snapshot.assets.values():
                if not self.data.cache.has(asset.sha256):
                    log.info("downloading %s (%d bytes)", asset.path, asset.size)
                    self.data.cache.put(asset.sha256, asset.size, self.client.asset(asset.path))
            self.data.save_manifest(manifest)
            self.current = snapshot
            self.data.cache.prune({a.sha256 for a in snapshot.assets.values()})
            return current is None or current.version != snapshot.version


class SyncLoop:
    """A worker thread that syncs on request and at least every `interval` seconds."""

    def __init__(
        self,
        syncer: Syncer,
        on_revoked: Callable[[str], None],
        interval: float = SYNC_INTERVAL,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.syncer = syncer
        self.on_revoked = on_revoked
        self.interval = interval
        # The agent's one source of the current time (a fixed clock in tests).
        self.clock = clock
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._reasons: list[str] = []
        self._reasons_lock = threading.Lock()
        self._failing = False
        # Daemon: a download stuck on a dead link must not hold up shutdown.
        self._thread = threading.Thread(target=self._run, name="sync", daemon=True)

    def start(self) -> None:
        self.request("start")
        self._thread.start()

    def request(self, reason: str) -> None:
        with self._reasons_lock:
            if reason not in self._reasons:
                self._reasons.append(reason)
        self._wake.set()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def _next_wait(self) -> float:
        """The periodic interval, or less when the loop is due to change by itself sooner."""
        snapshot = self.syncer.current
        due = snapshot.next_change_at if snapshot is not None else None
        if due is None:
            return self.interval
        seconds = (due - self.clock()).total_seconds()
        # A moment already past (offline, or a clock ahead) must not turn into a busy loop.
        return min(self.interval, seconds + 1.0) if seconds > 0 else self.interval

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self._next_wait())
            self._wake.clear()
            if self._stop.is_set():
                return
            with self._reasons_lock:
                reasons, self._reasons = self._reasons or ["timer"], []
            if not self._sync_once(", ".join(reasons)):
                return

    def _sync_once(self, reasons: str) -> bool:
        """One sync with its logging; False when syncing must stop for good."""
        try:
            changed = self.syncer.sync()
        except CredentialRevoked as exc:
            self.on_revoked(str(exc))
            return False
        except (ProtocolError, CorruptDownload, OSError) as exc:
            if not self._failing:
                log.warning("sync failed (%s): %s; still playing the cached loop", reasons, exc)
            else:
                log.debug("sync failed again (%s): %s", reasons, exc)
            self._failing = True
            return True
        except Exception:
            # A bug must not end syncing for good: log it and try again at the next turn.
            log.exception("sync failed unexpectedly (%s)", reasons)
            return True
        if self._failing:
            log.info("server reachable again")
            self._failing = False
        snapshot = self.syncer.current
        if changed and snapshot is not None:
            log.info(
                "now playing manifest %s: %d boards (%s)",
                snapshot.version[:12],
                len(snapshot.manifest["boards"]),
                reasons,
            )
        else:
            log.debug("manifest unchanged (%s)", reasons)
        return True
