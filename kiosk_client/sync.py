"""Bring the local copy up to date: manifest (by ETag), then its assets and boards, then the swap.

A manifest carries a week of schedule (`loops`, `timeline`, `urgent`) and lists its boards
by the sha256 of their HTML, fetched once from the server and kept forever in the
content-addressed cache. A new manifest replaces the old one only after every asset and
every board it lists is in the cache, checked against its hash, so the local player never
points at something it cannot serve; any failure on the way leaves the previous manifest
and cache playing. `SyncLoop` runs syncs one at a time on its own thread: nudges,
reconnects, the manifest's `next_change_at` and the periodic fallback only ask for a
sync, and requests that arrive while one runs are folded into the next. A nudge naming an
area revision the current manifest already has asks for nothing (`nudge_needs_fetch`).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any, TypeGuard

import signage_layouts
from kiosk_client.protocol import (
    AUDIO_PATH,
    BOARDS_PATH,
    FILES_PATH,
    CredentialRevoked,
    DeviceClient,
    ProtocolError,
)
from kiosk_client.storage import CorruptDownload, DataDir, is_sha256

log = logging.getLogger("kiosk.sync")
SYNC_INTERVAL = 60.0
# The kinds of attachment file a board may list, and the largest one (a video).
FILE_TYPES = frozenset({"image/jpeg", "image/png", "video/mp4"})
MAX_FILE_BYTES = 50 * 1024 * 1024


@dataclass(frozen=True)
class Asset:
    path: str
    sha256: str
    size: int


@dataclass(frozen=True)
class Board:
    """A board the manifest lists: its id, the sha256 of its HTML and of its audio, if any."""

    id: str
    kind: str
    sha256: str
    audio: str | None = None
    files: tuple[BoardFile, ...] = ()


@dataclass(frozen=True)
class BoardFile:
    """An attachment file a board shows: a photo, a PDF page image or a video."""

    sha256: str
    size: int
    type: str


@dataclass(frozen=True)
class Snapshot:
    """One checked manifest, as the local player serves it. Immutable, swapped whole."""

    manifest: dict[str, Any]
    body: bytes
    assets: dict[str, Asset]
    boards: dict[str, Board]  # by board id

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
    def sources(self) -> dict[str, int]:
        """The loop revision of each area the manifest was built from, by area id."""
        return dict(self.manifest["sources"])

    @property
    def board_contents(self) -> frozenset[str]:
        """The sha256 of every board's HTML (what the local server may serve as a board)."""
        return frozenset(b.sha256 for b in self.boards.values())

    @property
    def audio_contents(self) -> frozenset[str]:
        """The sha256 of every board's read-aloud audio (what the local server may serve as audio)."""
        return frozenset(b.audio for b in self.boards.values() if b.audio is not None)

    @property
    def files(self) -> dict[str, BoardFile]:
        """The boards' attachment files by sha256 (what the local server may serve as files)."""
        return {f.sha256: f for b in self.boards.values() for f in b.files}

    @property
    def contents(self) -> frozenset[str]:
        """Every sha256 the snapshot needs in the cache: assets, boards, their audio and files."""
        return (
            self.board_contents | self.audio_contents | set(self.files) | {a.sha256 for a in self.assets.values()}
        )

    @property
    def next_change_at(self) -> dt.datetime | None:
        """When what plays changes by itself (a segment, an item's start or end), if said."""
        value = self.manifest.get("next_change_at")
        try:
            when = dt.datetime.fromisoformat(value) if isinstance(value, str) else None
        except ValueError:
            return None
        return when if when is not None and when.tzinfo is not None else None

    @classmethod
    def of(cls, manifest: dict[str, Any]) -> Snapshot:
        """Check what the agent and the player rely on; ValueError names the first problem."""
        version = manifest.get("version")
        if not isinstance(version, str) or not version or '"' in version:
            raise ValueError("manifest has no usable version")
        if manifest.get("layout") not in signage_layouts.layouts():
            raise ValueError(f"manifest asks for an unknown layout {manifest.get('layout')!r}")
        site = manifest.get("site")
        if not isinstance(site, dict) or not isinstance(site.get("name"), str):
            raise ValueError("manifest has no site name")
        _sources(manifest.get("sources"))
        raw_boards = manifest.get("boards")
        if not isinstance(raw_boards, list):
            raise ValueError("manifest has no board list")
        boards: dict[str, Board] = {}
        for entry in raw_boards:
            board = _board(entry)
            if board.id in boards:
                raise ValueError(f"board {board.id} is listed twice")
            boards[board.id] = board
        loops = _loops(manifest.get("loops"), boards)
        _timeline(manifest.get("timeline"), loops)
        _urgent(manifest.get("urgent"), boards)
        _browse(manifest.get("browse"), boards)
        raw_assets = manifest.get("assets")
        if not isinstance(raw_assets, list):
            raise ValueError("manifest has no asset list")
        assets: dict[str, Asset] = {}
        for entry in raw_assets:
            asset = _asset(entry)
            assets[asset.path] = asset
        body = json.dumps(manifest, ensure_ascii=False).encode("utf-8")
        return cls(manifest=manifest, body=body, assets=assets, boards=boards)


def _is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _moment(value: Any, what: str, nullable: bool) -> None:
    """An ISO 8601 date and time with its UTC offset (the player compares them as instants)."""
    if value is None and nullable:
        return
    if not isinstance(value, str):
        raise ValueError(f"{what} is not a date and time")
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{what} is not an ISO date and time: {value!r}") from None
    if moment.tzinfo is None:
        raise ValueError(f"{what} has no UTC offset: {value!r}")


def _sources(value: Any) -> None:
    if not isinstance(value, dict):
        raise ValueError("manifest has no sources (area revisions)")
    for area, revision in value.items():
        if not (isinstance(area, str) and area.isdigit()) or not _is_int(revision):
            raise ValueError(f"sources: bad entry {area!r}: {revision!r}")


def _board(entry: Any) -> Board:
    if not isinstance(entry, dict):
        raise ValueError("board entry is not an object")
    board_id = entry.get("id")
    if not isinstance(board_id, str) or not board_id:
        raise ValueError("board without an id")
    kind, title = entry.get("kind"), entry.get("title")
    if not isinstance(kind, str) or not kind or not isinstance(title, str):
        raise ValueError(f"board {board_id}: no kind or title")
    sha256 = entry.get("content")
    if not is_sha256(sha256):
        raise ValueError(f"board {board_id}: content is not a sha256")
    # The player fetches `href` from the local server, which serves boards only here;
    # anything else could point the agent or the player elsewhere.
    href = entry.get("href")
    if href != BOARDS_PATH + sha256:
        raise ValueError(f"board {board_id}: href {href!r} is not {BOARDS_PATH}<content>")
    seconds = entry.get("seconds")
    if not _is_int(seconds) or seconds <= 0:
        raise ValueError(f"board {board_id}: bad seconds {seconds!r}")
    _moment(entry.get("from"), f"board {board_id}: from", nullable=True)
    _moment(entry.get("until"), f"board {board_id}: until", nullable=True)
    qr_url = entry.get("qr_url")
    if qr_url is not None and not isinstance(qr_url, str):
        raise ValueError(f"board {board_id}: qr_url is not a string")
    return Board(
        id=board_id, kind=kind, sha256=sha256, audio=_audio(board_id, entry.get("audio")),
        files=_files(board_id, entry.get("files")),
    )


def _files(board_id: str, value: Any) -> tuple[BoardFile, ...]:
    """A board's attachment files, once each is {content, href, size, type} as the player needs."""
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ValueError(f"board {board_id}: files is not a list")
    out = []
    for entry in value:
        if not isinstance(entry, dict) or not is_sha256(entry.get("content")):
            raise ValueError(f"board {board_id}: a file's content is not a sha256")
        sha256 = str(entry["content"])
        if entry.get("href") != FILES_PATH + sha256:
            raise ValueError(f"board {board_id}: file href {entry.get('href')!r} is not {FILES_PATH}<content>")
        size, kind = entry.get("size"), entry.get("type")
        if not _is_int(size) or not 0 < size <= MAX_FILE_BYTES:
            raise ValueError(f"board {board_id}: file {sha256[:12]} has a bad size {size!r}")
        if kind not in FILE_TYPES:
            raise ValueError(f"board {board_id}: file {sha256[:12]} has a type {kind!r} a screen does not show")
        out.append(BoardFile(sha256=sha256, size=size, type=str(kind)))
    return tuple(out)


def _audio(board_id: str, value: Any) -> str | None:
    """The sha256 of a board's audio, once {href, content, seconds} is what the player needs."""
    if value is None:
        return None
    if not isinstance(value, dict) or not is_sha256(value.get("content")):
        raise ValueError(f"board {board_id}: audio content is not a sha256")
    sha256 = str(value["content"])
    if value.get("href") != AUDIO_PATH + sha256:
        raise ValueError(f"board {board_id}: audio href {value.get('href')!r} is not {AUDIO_PATH}<content>")
    seconds = value.get("seconds")
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not 0 < seconds < 24 * 3600:
        raise ValueError(f"board {board_id}: bad audio seconds {seconds!r}")
    return sha256


def _loops(value: Any, boards: Mapping[str, Board]) -> set[str]:
    """The loop keys, once every loop is a list of {board, seconds} naming listed boards."""
    if not isinstance(value, dict):
        raise ValueError("manifest has no loops")
    for key, items in value.items():
        if not isinstance(key, str) or not key or not isinstance(items, list):
            raise ValueError(f"loop {key!r} is not a list")
        for item in items:
            if not isinstance(item, dict):
                raise ValueError(f"loop {key}: an item is not an object")
            if item.get("board") not in boards:
                raise ValueError(f"loop {key}: unknown board {item.get('board')!r}")
            seconds = item.get("seconds")
            if seconds is not None and (not _is_int(seconds) or seconds <= 0):
                raise ValueError(f"loop {key}: bad seconds {seconds!r}")
    return set(value)


def _timeline(value: Any, loops: set[str]) -> None:
    if not isinstance(value, list):
        raise ValueError("manifest has no timeline")
    for segment in value:
        if not isinstance(segment, dict):
            raise ValueError("timeline segment is not an object")
        _moment(segment.get("from"), "timeline segment: from", nullable=False)
        _moment(segment.get("until"), "timeline segment: until", nullable=False)
        keys = segment.get("loops")
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            raise ValueError("timeline segment: loops is not a list of keys")
        unknown = [k for k in keys if k not in loops]
        if unknown:
            raise ValueError(f"timeline segment names unknown loops {unknown}")


def _urgent(value: Any, boards: Mapping[str, Board]) -> None:
    if not isinstance(value, list):
        raise ValueError("manifest has no urgent list")
    for board_id in value:
        if board_id not in boards:
            raise ValueError(f"urgent names unknown board {board_id!r}")


def _browse(value: Any, boards: Mapping[str, Board]) -> None:
    """A kiosk's catalogue (absent on signage): categories naming listed boards."""
    if value is None:
        return
    if not isinstance(value, list):
        raise ValueError("browse is not a list")
    for shelf in value:
        if not isinstance(shelf, dict) or not isinstance(shelf.get("category"), str):
            raise ValueError("browse: a category without a name")
        ids = shelf.get("boards")
        if not isinstance(ids, list) or not ids:
            raise ValueError(f"browse {shelf['category']}: no boards")
        unknown = [b for b in ids if b not in boards]
        if unknown:
            raise ValueError(f"browse {shelf['category']}: unknown boards {unknown}")


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


def nudge_needs_fetch(sources: Mapping[str, int] | None, payload: Any) -> bool:
    """Whether a `manifest_changed` nudge calls for fetching the manifest.

    The nudge says {"reason": "loop_changed", "area": 7, "revision": 42}: area 7's loop is
    at revision 42. A manifest whose `sources["7"]` is 42 or more was built from that
    revision or a later one, so it is current. Anything else (no manifest yet, an area the
    manifest does not list, a nudge without a usable area and revision) calls for a fetch.
    """
    if sources is None or not isinstance(payload, dict):
        return True
    area, revision = payload.get("area"), payload.get("revision")
    if not _is_int(area) or not _is_int(revision):
        return True
    have = sources.get(str(area))
    return have is None or have < revision


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
        return all(self.data.cache.has(sha) for sha in snapshot.contents)

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
            self._fetch_missing(snapshot)
            # Only now is everything it names at hand: save, swap, and drop what it does not.
            self.data.save_manifest(manifest)
            self.current = snapshot
            self.data.cache.prune(set(snapshot.contents))
            return current is None or current.version != snapshot.version

    def _fetch_missing(self, snapshot: Snapshot) -> None:
        """Download every asset and board not yet cached; CorruptDownload if one lies."""
        cache = self.data.cache
        for asset in snapshot.assets.values():
            if not cache.has(asset.sha256):
                log.info("downloading %s (%d bytes)", asset.path, asset.size)
                cache.put(asset.sha256, asset.size, self.client.asset(asset.path))
        missing = sorted(sha for sha in snapshot.board_contents if not cache.has(sha))
        if missing:
            log.info("downloading %d of %d boards", len(missing), len(snapshot.board_contents))
        for sha in missing:
            cache.put(sha, None, self.client.board(sha))
        for sha in sorted(sha for sha in snapshot.audio_contents if not cache.has(sha)):
            cache.put(sha, None, self.client.audio(sha))
        for file in sorted(snapshot.files.values(), key=lambda f: f.sha256):
            if not cache.has(file.sha256):
                log.info("downloading file %s (%d bytes)", file.sha256[:12], file.size)
                cache.put(file.sha256, file.size, self.client.file(file.sha256))


def utc_now() -> dt.datetime:
    """The wall clock, read only by whoever builds the agent and hands it on as `clock`."""
    return dt.datetime.now(dt.UTC)


class SyncLoop:
    """A worker thread that syncs on request and at least every `interval` seconds.

    `after_sync` is called after every sync that reached the server (the receipts
    forwarder uses it to try again at once).
    """

    def __init__(
        self,
        syncer: Syncer,
        on_revoked: Callable[[str], None],
        interval: float = SYNC_INTERVAL,
        clock: Callable[[], dt.datetime] = utc_now,
        after_sync: Callable[[], None] | None = None,
    ) -> None:
        self.syncer = syncer
        self.on_revoked = on_revoked
        self.interval = interval
        self.after_sync = after_sync
        self.nudges_skipped = 0
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

    def nudge(self, payload: Any) -> bool:
        """Handle a `manifest_changed` nudge; True if it asked for a sync.

        A nudge for an area revision the current manifest already has is counted in
        `nudges_skipped` and logged, and fetches nothing.
        """
        snapshot = self.syncer.current
        if not nudge_needs_fetch(snapshot.sources if snapshot is not None else None, payload):
            self.nudges_skipped += 1
            log.info(
                "nudge for area %s at revision %s: the manifest already has it, nothing to fetch",
                payload.get("area"),
                payload.get("revision"),
            )
            return False
        reason = payload.get("reason") if isinstance(payload, dict) else None
        self.request(f"nudge: {reason or 'manifest_changed'}")
        return True

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
        if self.after_sync is not None:
            try:
                self.after_sync()
            except Exception:
                log.exception("after-sync hook failed")
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
